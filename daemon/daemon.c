/* Daemon state shared by all threads: snapshot handling, data folders, store. */

#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "pipeline.h"
#include "registry/registry.h"
#include "store/store.h"

struct pp_snapshot *pp_daemon_acquire(struct pp_daemon *d)
{
	struct pp_snapshot *s;

	pthread_mutex_lock(&d->snap_lock);
	s = d->snap;
	if (s)
		atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&d->snap_lock);
	return s;
}

void pp_snapshot_release(struct pp_snapshot *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	pp_registry_free(s->reg);
	pp_config_free(s->cfg);
	free(s);
}

void pp_daemon_swap(struct pp_daemon *d, struct pp_snapshot *s)
{
	struct pp_snapshot *old;

	pthread_mutex_lock(&d->snap_lock);
	old = d->snap;
	s->generation = old ? old->generation + 1 : 1;
	atomic_store(&s->refs, 1); /* the daemon's own reference */
	d->snap = s;
	pthread_mutex_unlock(&d->snap_lock);
	pp_snapshot_release(old);
}

static int open_dir(const char *path, const char *what, int *fd, struct pp_err *err)
{
	*fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0) {
		pp_err_set(err, "%s: cannot open %s folder: %s", path, what, strerror(errno));
		return PP_EIO;
	}
	return PP_OK;
}

int pp_daemon_init(struct pp_daemon *d, struct pp_config *cfg, struct pp_err *err)
{
	struct pp_snapshot *s;
	char path[4096];
	int rc;

	memset(d, 0, sizeof(*d));
	d->tftp_rootfd = d->http_rootfd = d->render_dirfd = -1;
	pthread_mutex_init(&d->snap_lock, NULL);
	atomic_store(&d->running, true);
	s = calloc(1, sizeof(*s));
	if (!s) {
		pp_config_free(cfg);
		pp_err_set(err, "out of memory");
		return PP_ENOMEM;
	}
	s->cfg = cfg;
	pp_daemon_swap(d, s);

	static const char *const sub[] = { "db", "tftpboot", "cache" };
	for (size_t i = 0; i < PP_ARRAY_LEN(sub); i++) {
		snprintf(path, sizeof(path), "%s/%s", cfg->data_dir, sub[i]);
		if ((rc = pp_mkdirs(path, 0750, err)) != PP_OK)
			return rc;
	}
	snprintf(path, sizeof(path), "%s/db", cfg->data_dir);
	if ((rc = pp_store_open(path, &d->store, err)) != PP_OK)
		return rc;
	if ((rc = open_dir(cfg->tftp.root, "tftp.root", &d->tftp_rootfd, err)) != PP_OK)
		return rc;
	if ((rc = open_dir(cfg->http.root, "http.root", &d->http_rootfd, err)) != PP_OK)
		return rc;
	snprintf(path, sizeof(path), "%s/tftpboot", cfg->data_dir);
	if ((rc = open_dir(path, "rendered files", &d->render_dirfd, err)) != PP_OK)
		return rc;
	if ((rc = pp_registry_load(cfg, &s->reg, err)) != PP_OK)
		return rc;
	return PP_OK;
}

void pp_daemon_fini(struct pp_daemon *d)
{
	struct pp_snapshot *s;

	pthread_mutex_lock(&d->snap_lock);
	s = d->snap;
	d->snap = NULL;
	pthread_mutex_unlock(&d->snap_lock);
	pp_snapshot_release(s);
	pp_pipeline_fini(d);
	if (d->store)
		pp_store_close(d->store);
	d->store = NULL;
	if (d->tftp_rootfd >= 0)
		close(d->tftp_rootfd);
	if (d->http_rootfd >= 0)
		close(d->http_rootfd);
	if (d->render_dirfd >= 0)
		close(d->render_dirfd);
	d->tftp_rootfd = d->http_rootfd = d->render_dirfd = -1;
	pthread_mutex_destroy(&d->snap_lock);
}
