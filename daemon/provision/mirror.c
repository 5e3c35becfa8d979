/* The disk mirror of rendered files, <data_dir>/tftpboot (provision.h).
 *
 * LMDB is the truth; the mirror is for operators and other tools. A change
 * made by phone traffic only queues the PATHS it touched; a mirror thread
 * makes each of them equal to what LMDB holds now (written through a
 * temporary name and rename, no fsync each; removed when LMDB has no such
 * file). Order does not matter and a path queued twice is written once, so
 * the queue holds no file bytes and costs the provisioning worker nothing
 * but a string. Creating thousands of files is the slowest thing a boot
 * storm does to a file system: it happens here, not while phones wait.
 * Changes by administrators (API, CLI) write their files before they
 * answer. A crash loses at most the queue: the start-up resync repairs. */
#include "prov_int.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "lib/metrics.h"

#define MIRROR_HASH 8192
#define MIRROR_BATCH 512

struct mpath {
	struct mpath *next, *hnext;
	char path[];
};

struct mirror {
	struct pp_prov *p;
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct mpath *head, *tail;
	struct mpath *byhash[MIRROR_HASH];
	size_t n;
	bool stop, started;
};

static size_t path_hash(const char *s)
{
	return pp_fnv(PP_FNV_INIT, s, strlen(s)) % MIRROR_HASH;
}

/* A copy of what LMDB holds for one path (read txn: short, no disk I/O
 * inside, so the writer is never kept waiting by this low-priority thread). */
struct copy_arg {
	const char *path;
	unsigned char *data;
	size_t len;
	bool found;
};

static int copy_txn(struct pp_txn *t, void *arg)
{
	struct copy_arg *c = arg;
	struct pp_file f;
	int rc = pp_file_get(t, c->path, &f);

	free(c->data);
	c->data = NULL;
	c->found = false;
	if (rc == PP_ENOENT)
		return PP_OK;
	if (rc != PP_OK)
		return rc;
	if (!(c->data = malloc(f.size ? f.size : 1)))
		return PP_ENOMEM;
	memcpy(c->data, f.data, f.size);
	c->len = f.size;
	c->found = true;
	return PP_OK;
}

int prov_mirror_path_now(struct pp_prov *p, const char *path)
{
	struct copy_arg c = { path, NULL, 0, false };
	char q[PP_PATH_MAX + 8];
	int rc, e = 0;

	if (p->render_dirfd < 0)
		return 0;
	/* Without the lock, the mirror thread could read a file an
	 * administrator is deleting, the delete remove it from disk, and the
	 * thread write it back: whoever syncs a path last reads LMDB last. */
	pthread_mutex_lock(&p->mirror_lock);
	rc = pp_store_read(p->store, copy_txn, &c);
	if (rc != PP_OK)
		e = EIO;
	else if (c.found && (rc = pp_write_atomic(p->render_dirfd, path, c.data, c.len, false)) != PP_OK)
		e = errno ? errno : EIO;
	else if (!c.found && unlinkat(p->render_dirfd, path, 0) != 0 && errno != ENOENT) {
		e = errno;
		rc = PP_EIO;
	}
	pthread_mutex_unlock(&p->mirror_lock);
	free(c.data);
	if (rc == PP_OK)
		return 0;
	PP_COUNT(mirror_errors, 1);
	pp_log(PP_LOG_ERROR, "render.disk_failed", "file=%s error=%s", pp_q(q, sizeof(q), path),
	       strerror(e));
	return e;
}

static void *mirror_main(void *arg)
{
	struct mirror *m = arg;
	struct mpath *batch[MIRROR_BATCH];
	/* the mirror runs at the lowest priority (nice 19, not SCHED_IDLE: an
	 * administrator's change waits for mirror_lock, which this thread must
	 * not hold for long while starved): during a boot storm creating
	 * thousands of files would compete with serving the phones; the queue
	 * (paths only) waits and the mirror catches up afterwards */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);

	pthread_mutex_lock(&m->lock);
	for (;;) {
		size_t n = 0;

		while (!m->head && !m->stop)
			pthread_cond_wait(&m->cond, &m->lock);
		if (!m->head)
			break;
		while (m->head && n < MIRROR_BATCH) {
			struct mpath *e = m->head, **pp;

			m->head = e->next;
			for (pp = &m->byhash[path_hash(e->path)]; *pp; pp = &(*pp)->hnext)
				if (*pp == e) {
					*pp = e->hnext;
					break;
				}
			batch[n++] = e;
			m->n--;
		}
		if (!m->head)
			m->tail = NULL;
		pthread_mutex_unlock(&m->lock);
		for (size_t i = 0; i < n; i++) {
			prov_mirror_path_now(m->p, batch[i]->path);
			free(batch[i]);
			PP_GAUGE_ADD(mirror_pending, -1);
		}
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

int prov_mirror_start(struct pp_prov *p)
{
	struct mirror *m = calloc(1, sizeof(*m));

	if (!m)
		return PP_ENOMEM;
	m->p = p;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	if (pthread_create(&m->th, NULL, mirror_main, m) != 0) {
		pthread_cond_destroy(&m->cond);
		pthread_mutex_destroy(&m->lock);
		free(m);
		return PP_ERR;
	}
	m->started = true;
	pthread_setname_np(m->th, "pp-mirror");
	p->mirror = m;
	return PP_OK;
}

void prov_mirror_stop(struct pp_prov *p)
{
	struct mirror *m = p->mirror;

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->th, NULL); /* writes what is queued first */
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
	p->mirror = NULL;
}

void prov_mirror_path(struct pp_prov *p, const char *path)
{
	struct mirror *m = p->mirror;
	struct mpath *e;
	size_t h, len;

	if (p->render_dirfd < 0)
		return;
	if (!m) {
		prov_mirror_path_now(p, path);
		return;
	}
	h = path_hash(path);
	len = strlen(path);
	pthread_mutex_lock(&m->lock);
	for (e = m->byhash[h]; e; e = e->hnext)
		if (strcmp(e->path, path) == 0)
			break;
	if (!e && (e = malloc(sizeof(*e) + len + 1))) {
		memcpy(e->path, path, len + 1);
		e->next = NULL;
		e->hnext = m->byhash[h];
		m->byhash[h] = e;
		if (m->tail)
			m->tail->next = e;
		else
			m->head = e;
		m->tail = e;
		m->n++;
		PP_GAUGE_ADD(mirror_pending, 1);
		pthread_cond_signal(&m->cond);
	}
	pthread_mutex_unlock(&m->lock);
}
