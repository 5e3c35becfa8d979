/* Verified downloads with libcurl: <cache>/<hash>.part grows (resumed with a
 * byte range after an interruption), then size and hash are checked and the
 * file is renamed to <cache>/<hash>. Proxies come from the environment, as
 * libcurl does by default (http_proxy, https_proxy, no_proxy, ...). */
#include "fw_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "sha.h"

#define FETCH_ATTEMPTS 5

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int pp_fw_hash_fd(int fd, char sha256[65], char sha1[41], uint64_t *size,
		  pp_fw_progress_fn progress, void *arg, const char *what)
{
	struct pp_sha256 c256;
	struct pp_sha1 c1;
	uint8_t d[32];
	uint64_t total = 0, done = 0;
	struct stat st;
	char *buf;
	ssize_t n;

	if (fstat(fd, &st) == 0)
		total = (uint64_t)st.st_size;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return PP_EIO;
	buf = malloc(1 << 16);
	if (!buf)
		return PP_ENOMEM;
	pp_sha256_init(&c256);
	pp_sha1_init(&c1);
	uint64_t next = 0;

	while ((n = read(fd, buf, 1 << 16)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return PP_EIO;
		}
		if (sha256)
			pp_sha256_update(&c256, buf, (size_t)n);
		if (sha1)
			pp_sha1_update(&c1, buf, (size_t)n);
		done += (uint64_t)n;
		if (progress && done >= next) {
			progress(arg, what, done, total);
			next = done + (8u << 20);
		}
	}
	free(buf);
	if (progress)
		progress(arg, what, done, total);
	if (sha256) {
		pp_sha256_final(&c256, d);
		pp_hex(d, 32, sha256);
	}
	if (sha1) {
		pp_sha1_final(&c1, d);
		pp_hex(d, 20, sha1);
	}
	if (size)
		*size = done;
	return PP_OK;
}

/* Check a complete file against the declared size and hashes. */
static int verify(int fd, const struct pp_fw_file *f, pp_fw_progress_fn progress, void *arg,
		  char sum[PP_FW_SUM_MAX], struct pp_err *err)
{
	char h256[65], h1[41], what[300];
	uint64_t size;
	int rc;

	snprintf(what, sizeof(what), "verify %s", f->name);
	rc = pp_fw_hash_fd(fd, f->sha256[0] ? h256 : NULL, f->sha1[0] ? h1 : NULL, &size,
			   progress, arg, what);
	if (rc) {
		pp_err_set(err, "%s: cannot read the download", f->name);
		return rc;
	}
	if (size != f->size) {
		pp_err_set(err, "%s: size mismatch: expected %llu bytes, got %llu", f->name,
			   (unsigned long long)f->size, (unsigned long long)size);
		return PP_EINVAL;
	}
	if (f->sha256[0] && strcmp(h256, f->sha256)) {
		pp_err_set(err, "%s: sha256 mismatch: expected %s, got %s", f->name, f->sha256,
			   h256);
		return PP_EINVAL;
	}
	if (f->sha1[0] && strcmp(h1, f->sha1)) {
		pp_err_set(err, "%s: sha1 mismatch: expected %s, got %s", f->name, f->sha1, h1);
		return PP_EINVAL;
	}
	if (f->sha256[0])
		snprintf(sum, PP_FW_SUM_MAX, "sha256:%s", h256);
	else
		snprintf(sum, PP_FW_SUM_MAX, "sha1:%s", h1);
	return PP_OK;
}

struct xfer {
	int fd;
	uint64_t have;      /* bytes in the .part before this transfer */
	uint64_t got;       /* bytes written by this transfer */
	uint64_t expect;
	bool too_big;
	bool io_error;
	pp_fw_progress_fn progress;
	void *arg;
	const char *what;
};

static size_t on_data(char *p, size_t sz, size_t nm, void *u)
{
	struct xfer *x = u;
	size_t len = sz * nm, off = 0;

	if (x->have + x->got + len > x->expect) {
		x->too_big = true;
		return 0;
	}
	while (off < len) {
		ssize_t w = write(x->fd, p + off, len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			x->io_error = true;
			return 0;
		}
		off += (size_t)w;
	}
	x->got += len;
	return len;
}

static int on_progress(void *u, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = u;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (x->progress)
		x->progress(x->arg, x->what, x->have + x->got, x->expect);
	return 0;
}

static bool transient(CURLcode c)
{
	return c == CURLE_PARTIAL_FILE || c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR ||
	       c == CURLE_OPERATION_TIMEDOUT || c == CURLE_GOT_NOTHING ||
	       c == CURLE_COULDNT_CONNECT || c == CURLE_SSL_CONNECT_ERROR ||
	       c == CURLE_HTTP2_STREAM || c == CURLE_HTTP2;
}

/* One transfer into the .part (appending from its current size). */
static CURLcode transfer(const struct pp_fw_file *f, int fd, uint64_t have, struct xfer *x,
			 long *status, char *errbuf)
{
	CURL *h = curl_easy_init();
	CURLcode c;

	if (!h)
		return CURLE_OUT_OF_MEMORY;
	memset(x, 0, offsetof(struct xfer, progress));
	x->fd = fd;
	x->have = have;
	x->expect = f->size;
	errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, f->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 8L);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 20L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "phoneprov-firmware/1");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	if (have)
		curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)have);
	c = curl_easy_perform(h);
	*status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(h);
	return c;
}

static void backoff(int attempt)
{
	struct timespec ts = { 0, 200000000L * attempt };

	nanosleep(&ts, NULL);
}

int pp_fw_fetch(const char *cache_dir, const struct pp_fw_file *f, pp_fw_progress_fn progress,
		void *arg, char *path, size_t pathsz, char sum[PP_FW_SUM_MAX], struct pp_err *err)
{
	char part[4200], errbuf[CURL_ERROR_SIZE], what[300];
	const char *key = pp_fw_file_key(f);
	struct xfer x;
	int fd, rc;

	pthread_once(&curl_once, curl_init_once);
	if (pp_mkdirs(cache_dir, 0755, err))
		return PP_EIO;
	snprintf(path, pathsz, "%s/%s", cache_dir, key);
	snprintf(part, sizeof(part), "%s/%s.part", cache_dir, key);
	/* a complete download from an earlier run */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		rc = verify(fd, f, progress, arg, sum, err);
		close(fd);
		if (rc == PP_OK)
			return PP_OK;
		unlink(path);
	}
	fd = open(part, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		pp_err_set(err, "%s: cannot create: %s", part, strerror(errno));
		return PP_EIO;
	}
	snprintf(what, sizeof(what), "download %s", f->name);
	x.progress = progress;
	x.arg = arg;
	x.what = what;
	for (int attempt = 0;; attempt++) {
		struct stat st;
		uint64_t have;
		long status;
		CURLcode c;

		if (fstat(fd, &st) != 0) {
			rc = PP_EIO;
			pp_err_set(err, "%s: %s", part, strerror(errno));
			goto fail_keep;
		}
		have = (uint64_t)st.st_size;
		if (have > f->size) {
			if (ftruncate(fd, 0) != 0) {
				rc = PP_EIO;
				goto fail_keep;
			}
			have = 0;
		}
		if (have == f->size)
			break;
		if (have)
			pp_log(PP_LOG_INFO, "firmware.resume", "file=%s from=%llu", f->id,
			       (unsigned long long)have);
		c = transfer(f, fd, have, &x, &status, errbuf);
		if (c == CURLE_OK)
			break;
		if (x.too_big) {
			pp_err_set(err, "%s: size mismatch: the server sends more than the %llu "
				   "bytes declared (download deleted)", f->name,
				   (unsigned long long)f->size);
			rc = PP_EINVAL;
			goto fail_delete;
		}
		if (x.io_error) {
			pp_err_set(err, "%s: cannot write the download: %s", part, strerror(errno));
			rc = PP_EIO;
			goto fail_keep;
		}
		if (have && (c == CURLE_RANGE_ERROR || status == 416 ||
			     c == CURLE_BAD_DOWNLOAD_RESUME) && attempt < FETCH_ATTEMPTS) {
			/* the server cannot resume: start over */
			pp_log(PP_LOG_INFO, "firmware.restart", "file=%s reason=no_range", f->id);
			if (ftruncate(fd, 0) != 0) {
				rc = PP_EIO;
				goto fail_keep;
			}
			continue;
		}
		if (transient(c) && attempt + 1 < FETCH_ATTEMPTS) {
			pp_log(PP_LOG_INFO, "firmware.retry", "file=%s got=%llu attempt=%d",
			       f->id, (unsigned long long)(have + x.got), attempt + 1);
			backoff(attempt + 1);
			continue;
		}
		pp_err_set(err, "%s: download failed: %s%s", f->url,
			   errbuf[0] ? errbuf : curl_easy_strerror(c),
			   transient(c) ? " (partial download kept: install again to resume)" : "");
		rc = PP_EIO;
		goto fail_keep;
	}
	rc = verify(fd, f, progress, arg, sum, err);
	if (rc) {
		char msg[sizeof(err->msg)];

		memcpy(msg, err->msg, sizeof(msg));
		if (snprintf(err->msg, sizeof(err->msg), "%s (download deleted, nothing installed)",
			     msg) >= (int)sizeof(err->msg))
			err->msg[sizeof(err->msg) - 1] = '\0';
		goto fail_delete;
	}
	close(fd);
	if (rename(part, path) != 0) {
		pp_err_set(err, "%s: cannot rename: %s", part, strerror(errno));
		unlink(part);
		return PP_EIO;
	}
	return PP_OK;
fail_delete:
	close(fd);
	unlink(part);
	return rc;
fail_keep:
	close(fd);
	{
		struct stat st;

		if (stat(part, &st) == 0 && st.st_size == 0)
			unlink(part);
	}
	return rc;
}
