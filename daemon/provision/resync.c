/* The start-up resync (provision.h, docs/provisioning.md): LMDB is the
 * truth, the disk tree under <data_dir>/tftpboot its mirror. After a crash
 * the mirror may miss the last files written (they are written without an
 * fsync each), hold files of devices deleted since, or hold temporary files
 * of a rename that never happened; and devices whose config changed may not
 * have been re-rendered yet. This repairs all four, before phoneprovd
 * serves. */
#include "prov_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fs.h"
#include "lib/log.h"

struct resync {
	struct pp_prov *p;
	size_t written, removed, temp, stale, files, errors;
	char (*stale_macs)[18];
	size_t n_stale, cap_stale;
};

/* Does the mirror hold exactly these bytes at rel? */
static bool disk_same(int dirfd, const char *rel, const void *data, size_t len)
{
	struct stat st;
	char buf[65536];
	size_t off = 0;
	bool same = true;
	int fd = openat(dirfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != len) {
		close(fd);
		return false;
	}
	while (same && off < len) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0 || memcmp(buf, (const char *)data + off, (size_t)n) != 0)
			same = false;
		else
			off += (size_t)n;
	}
	close(fd);
	return same;
}

static int file_cb(const char *path, const struct pp_file *f, void *arg)
{
	struct resync *r = arg;

	r->files++;
	if (disk_same(r->p->render_dirfd, path, f->data, f->size))
		return PP_OK;
	if (pp_write_atomic(r->p->render_dirfd, path, f->data, f->size, false) == PP_OK)
		r->written++;
	else
		r->errors++;
	return PP_OK;
}

static int files_txn(struct pp_txn *t, void *arg)
{
	return pp_file_each(t, NULL, file_cb, arg);
}

/* Files on disk LMDB does not have, and temporary files: removed. */
struct known_arg {
	const char *path;
	bool found;
};

static int known_txn(struct pp_txn *t, void *arg)
{
	struct known_arg *k = arg;
	struct pp_file f;

	k->found = pp_file_get(t, k->path, &f) == PP_OK;
	return PP_OK;
}

static void walk(struct resync *r, int dirfd, const char *prefix, int depth)
{
	/* rel below is PP_PATH_MAX: a longer path cannot be a rendered file */
	DIR *d;
	struct dirent *e;
	int fd;

	/* dirfd may be an O_PATH descriptor: readdir needs a readable one */
	if (depth > 32 || (fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	while ((e = readdir(d))) {
		char rel[PP_PATH_MAX];
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if ((size_t)snprintf(rel, sizeof(rel), "%s%s", prefix, e->d_name) >= sizeof(rel) ||
		    fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
								O_CLOEXEC);
			char pre[PP_PATH_MAX + 2];

			if (sub < 0)
				continue;
			snprintf(pre, sizeof(pre), "%s/", rel);
			walk(r, sub, pre, depth + 1);
			close(sub);
			continue;
		}
		if (pp_is_atomic_tmp(e->d_name)) {
			if (unlinkat(dirfd, e->d_name, 0) == 0)
				r->temp++;
			continue;
		}
		{
			struct known_arg k = { rel, false };

			if (pp_store_read(r->p->store, known_txn, &k) == PP_OK && !k.found &&
			    unlinkat(dirfd, e->d_name, 0) == 0)
				r->removed++;
		}
	}
	closedir(d);
}

/* Devices whose render no longer matches their inputs. */
struct stale_arg {
	struct resync *r;
	const struct pp_registry *reg;
	struct pp_txn *t;
	const struct pp_config *cfg;
};

static int stale_cb(const char *mac, json_t *dev, void *arg)
{
	struct stale_arg *s = arg;
	json_t *config = NULL;
	bool fresh;

	if (prov_resolve_config(s->t, s->cfg, s->reg, dev, &config) != PP_OK)
		config = NULL;
	fresh = prov_dev_fresh(s->reg, dev, config);
	json_decref(config);
	if (fresh)
		return PP_OK;
	if (s->r->n_stale == s->r->cap_stale) {
		size_t cap = s->r->cap_stale ? 2 * s->r->cap_stale : 64;
		void *n = realloc(s->r->stale_macs, cap * 18);

		if (!n)
			return PP_ENOMEM;
		s->r->stale_macs = n;
		s->r->cap_stale = cap;
	}
	snprintf(s->r->stale_macs[s->r->n_stale++], 18, "%s", mac);
	return PP_OK;
}

static int stale_txn(struct pp_txn *t, void *arg)
{
	struct stale_arg *s = arg;

	s->t = t;
	s->r->n_stale = 0;
	return pp_dev_each(t, NULL, stale_cb, s);
}

static void noop_done(void *ctx, int rc)
{
	(void)ctx;
	(void)rc;
}

int pp_prov_resync(struct pp_prov *p, json_t **out)
{
	struct pp_snapshot *snap = pp_snaps_acquire(p->snaps);
	struct resync r = { .p = p };
	struct stale_arg sa = { &r, snap ? snap->reg : NULL, NULL, snap ? snap->cfg : NULL };
	int rc = PP_OK;

	if (out)
		*out = NULL;
	if (p->render_dirfd >= 0) {
		rc = pp_store_read(p->store, files_txn, &r);
		walk(&r, p->render_dirfd, "", 0);
		syncfs(p->render_dirfd);
	}
	if (rc == PP_OK && snap && snap->reg)
		rc = pp_store_read(p->store, stale_txn, &sa);
	for (size_t i = 0; rc == PP_OK && i < r.n_stale; i++) {
		struct job *j = job_new(JOB_APPLY, r.stale_macs[i]);

		if (!j) {
			rc = PP_ENOMEM;
			break;
		}
		j->a.force = true;
		j->bulk = true;
		if (prov_submit(p, j, noop_done, NULL) == PP_OK)
			r.stale++;
	}
	free(r.stale_macs);
	pp_snapshot_release(snap);
	pp_log(r.written || r.removed || r.temp || r.stale || r.errors ? PP_LOG_INFO : PP_LOG_DEBUG,
	       "render.resync", "files=%zu written=%zu removed=%zu temp=%zu stale=%zu errors=%zu",
	       r.files, r.written, r.removed, r.temp, r.stale, r.errors);
	if (out)
		*out = json_pack("{s:I, s:I, s:I, s:I, s:I}", "written", (json_int_t)r.written,
				 "removed", (json_int_t)r.removed, "temp", (json_int_t)r.temp,
				 "stale", (json_int_t)r.stale, "errors", (json_int_t)r.errors);
	return rc;
}
