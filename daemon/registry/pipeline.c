/* The provisioning pipeline. This first version serves rendered files stored
 * in LMDB by path, then the static tree; the plugin issue (6) adds
 * extraction, association, rendering and the unknown-MAC ban. */
#include "../pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../log.h"
#include "../store/store.h"

struct fetch_arg {
	const char *path;
	struct pp_blob *out;
};

static int fetch_stored(struct pp_txn *t, void *arg)
{
	struct fetch_arg *a = arg;
	struct pp_file f;
	int rc = pp_file_get(t, a->path, &f);

	if (rc != PP_OK)
		return rc;
	a->out->data = malloc(f.size ? f.size : 1);
	if (!a->out->data)
		return PP_ENOMEM;
	memcpy(a->out->data, f.data, f.size);
	a->out->size = f.size;
	a->out->mtime_ms = f.mtime_ms;
	snprintf(a->out->etag, sizeof(a->out->etag), "%s", f.etag);
	return PP_OK;
}

int pp_pipeline_fetch(struct pp_daemon *d, const struct pp_request *rq, struct pp_blob *out,
		      const char **reason)
{
	struct fetch_arg fa;
	struct stat st;
	int rc, fd;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (pp_path_normalize(rq->path, rq->path_len, out->path, sizeof(out->path), reason) != 0)
		return PP_EACCES;
	fa.path = out->path;
	fa.out = out;
	rc = pp_store_read(d->store, fetch_stored, &fa);
	if (rc == PP_OK)
		return PP_OK;
	if (rc != PP_ENOENT) {
		*reason = "store read failed";
		return PP_EIO;
	}
	rc = pp_open_beneath(rq->rootfd, out->path, &fd, &st, reason);
	if (rc == -ENOENT || rc == -EISDIR)
		return PP_ENOENT;
	if (rc != 0)
		return PP_EACCES;
	out->fd = fd;
	out->size = (uint64_t)st.st_size;
	out->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	snprintf(out->etag, sizeof(out->etag), "\"%llx-%llx-%llx\"", (unsigned long long)st.st_ino,
		 (unsigned long long)st.st_size, (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
		 (unsigned long long)st.st_mtim.tv_nsec);
	return PP_OK;
}

void pp_blob_release(struct pp_blob *b)
{
	if (b->fd >= 0)
		close(b->fd);
	free(b->data);
	b->fd = -1;
	b->data = NULL;
}

void pp_pipeline_done(struct pp_daemon *d, const struct pp_request *rq, const struct pp_blob *b,
		      uint64_t bytes)
{
	(void)d; (void)rq; (void)b; (void)bytes;
}

int pp_pipeline_dhcp(struct pp_daemon *d, const struct pp_dhcp_facts *f)
{
	(void)d; (void)f;
	return PP_OK;
}

int pp_pipeline_reconfigure(struct pp_daemon *d, const char *mac)
{
	(void)d; (void)mac;
	return PP_OK;
}

int pp_pipeline_config_changed(struct pp_daemon *d, const char *config_id)
{
	(void)d; (void)config_id;
	return PP_OK;
}

void pp_pipeline_fini(struct pp_daemon *d)
{
	(void)d;
}
