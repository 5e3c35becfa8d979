/* Daemon state shared by all threads: snapshot handling, data folders, store. */

#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "daemon/plugin/plugin.h"
#include "daemon/store/store.h"

static int open_dir(const char *path, const char *what, int *fd, struct pp_err *err)
{
	*fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0) {
		pp_err_set(err, "%s: cannot open %s folder: %s", path, what, strerror(errno));
		return PP_EIO;
	}
	return PP_OK;
}

/* A root inside data_dir is created with it (config.c accepts it missing). */
static int make_root(const char *root, const char *data_dir, struct pp_err *err)
{
	size_t n = strlen(data_dir);

	if (strncmp(root, data_dir, n) != 0 || (root[n] != '/' && root[n] != '\0'))
		return PP_OK;
	return pp_mkdirs(root, 0750, err);
}

/* The store's notices become log lines (levels are the same scale). */
static void store_notice_log(int level, const char *event, const char *detail)
{
	pp_log(level, event, "%s", detail);
}

int pp_daemon_init(struct pp_daemon *d, struct pp_config *cfg, unsigned flags,
		   struct pp_err *err)
{
	static const char *const sub[] = { "db", "tftpboot", "cache" };
	struct pp_registry *reg = NULL;
	struct pp_snapshot *s;
	struct pp_prov_opts po;
	char path[4096];
	int rc;

	memset(d, 0, sizeof(*d));
	pp_store_set_notice(store_notice_log);
	d->tftp_rootfd = d->http_rootfd = d->render_dirfd = -1;
	atomic_store(&d->running, true);
	if (pp_snaps_init(&d->snaps, flags & PP_DAEMON_THREADED) != PP_OK) {
		pp_err_set(err, "cannot set up snapshots: %s", strerror(errno));
		rc = PP_EIO;
		goto fail;
	}
	d->snaps_ready = true;
	for (size_t i = 0; i < PP_ARRAY_LEN(sub); i++) {
		snprintf(path, sizeof(path), "%s/%s", cfg->data_dir, sub[i]);
		if ((rc = pp_mkdirs(path, 0750, err)) != PP_OK)
			goto fail;
	}
	if ((rc = make_root(cfg->tftp.root, cfg->data_dir, err)) != PP_OK ||
	    (rc = make_root(cfg->http.root, cfg->data_dir, err)) != PP_OK)
		goto fail;
	snprintf(path, sizeof(path), "%s/db", cfg->data_dir);
	if ((rc = pp_store_open(path, &d->store, err)) != PP_OK ||
	    (rc = open_dir(cfg->tftp.root, "tftp.root", &d->tftp_rootfd, err)) != PP_OK ||
	    (rc = open_dir(cfg->http.root, "http.root", &d->http_rootfd, err)) != PP_OK)
		goto fail;
	snprintf(path, sizeof(path), "%s/tftpboot", cfg->data_dir);
	if ((rc = open_dir(path, "rendered files", &d->render_dirfd, err)) != PP_OK ||
	    (rc = pp_registry_load_ex(cfg, flags & PP_DAEMON_DEFER_HOOKS ? PP_REG_NO_HOOKS : 0,
				      &reg, err)) != PP_OK)
		goto fail;
	if (!(s = pp_snapshot_new(cfg, reg))) {
		pp_registry_free(reg);
		pp_err_set(err, "out of memory");
		rc = PP_ENOMEM;
		goto fail;
	}
	pp_snaps_swap(&d->snaps, s);
	po.store = d->store;
	po.snaps = &d->snaps;
	po.render_dirfd = d->render_dirfd;
	po.threaded = flags & PP_DAEMON_THREADED;
	po.queue_max = cfg->provisioning.queue_max;
	return pp_prov_new(&po, &d->prov, err);
fail:
	pp_config_free(cfg);
	return rc;
}

int pp_daemon_load_hooks(struct pp_daemon *d, struct pp_err *err)
{
	struct pp_snapshot *s = pp_snaps_acquire(&d->snaps);
	int rc = s && s->reg ? pp_registry_load_hooks(s->reg, err) : PP_OK;

	pp_snapshot_release(s);
	return rc;
}

void pp_daemon_fini(struct pp_daemon *d)
{
	pp_prov_free(d->prov);
	d->prov = NULL;
	if (d->snaps_ready)
		pp_snaps_fini(&d->snaps);
	d->snaps_ready = false;
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
}
