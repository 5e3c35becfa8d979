/* API bearer tokens: created at first start (32 random bytes, hex, mode
 * 0600, published atomically with link() so a concurrent start never sees a
 * partial file nor overwrites one), read when present, compared in constant
 * time. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "api_int.h"

static int read_token(const char *path, char *out, size_t n, struct pp_err *err)
{
	struct stat st;
	ssize_t got;
	char buf[4097];
	size_t len, rest;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		if (errno == ENOENT)
			return PP_ENOENT;
		pp_err_set(err, "%s: cannot open token file: %s", path, strerror(errno));
		return PP_EIO;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		pp_log(PP_LOG_WARN, "api.token_mode", "file=%s mode=%o hint=%s", path,
		       (unsigned)(st.st_mode & 0777), "chmod 600");
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got < 0) {
		pp_err_set(err, "%s: cannot read token: %s", path, strerror(errno));
		return PP_EIO;
	}
	buf[got] = '\0';
	/* the token is the file's first word; anything but blanks after it,
	 * or a token longer than we hold, is refused, never cut */
	len = strcspn(buf, "\r\n \t");
	if (got == (ssize_t)sizeof(buf) - 1 || len >= n) {
		pp_err_set(err, "%s: token too long (at most %zu characters)", path, n - 1);
		explicit_bzero(buf, sizeof(buf));
		return PP_EINVAL;
	}
	rest = len;
	while (rest < (size_t)got && strchr("\r\n \t", buf[rest]) && buf[rest])
		rest++;
	if (rest < (size_t)got) {
		if (buf[rest])
			pp_err_set(err, "%s: more than one token in the file (one word expected)",
				   path);
		else
			pp_err_set(err, "%s: token holds a NUL byte", path);
		explicit_bzero(buf, sizeof(buf));
		return PP_EINVAL;
	}
	memcpy(out, buf, len);
	out[len] = '\0';
	explicit_bzero(buf, sizeof(buf));
	if (len < 16) {
		pp_err_set(err, "%s: token too short (at least 16 characters)", path);
		return PP_EINVAL;
	}
	for (const char *p = out; *p; p++) {
		if (*p < 0x21 || *p > 0x7e) {
			pp_err_set(err, "%s: token holds a non-printable byte", path);
			return PP_EINVAL;
		}
	}
	return PP_OK;
}

static int create_token(const char *path, struct pp_err *err)
{
	unsigned char raw[32];
	char hex[sizeof(raw) * 2 + 2], tmp[4096];
	int fd, rc = PP_OK;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		pp_err_set(err, "%s: getrandom: %s", path, strerror(errno));
		return PP_EIO;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof(raw));
	strcat(hex, "\n");
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= sizeof(tmp)) {
		pp_err_set(err, "%s: path too long", path);
		return PP_EINVAL;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		pp_err_set(err, "%s: cannot create token file: %s", path, strerror(errno));
		return PP_EIO;
	}
	if (fchmod(fd, 0600) != 0 || write(fd, hex, strlen(hex)) != (ssize_t)strlen(hex) ||
	    fsync(fd) != 0) {
		pp_err_set(err, "%s: cannot write token file: %s", tmp, strerror(errno));
		rc = PP_EIO;
	}
	close(fd);
	explicit_bzero(hex, sizeof(hex));
	if (rc == PP_OK && link(tmp, path) != 0 && errno != EEXIST) {
		pp_err_set(err, "%s: cannot create token file: %s", path, strerror(errno));
		rc = PP_EIO;
	}
	unlink(tmp);
	if (rc == PP_OK)
		pp_log(PP_LOG_INFO, "api.token_created", "file=%s", path);
	return rc;
}

int api_tokens_load(const char *path, char *out, size_t n, struct pp_err *err)
{
	int rc = read_token(path, out, n, err);

	if (rc != PP_ENOENT)
		return rc;
	if ((rc = create_token(path, err)) != PP_OK)
		return rc;
	rc = read_token(path, out, n, err);
	if (rc == PP_ENOENT) {
		pp_err_set(err, "%s: token file vanished", path);
		return PP_EIO;
	}
	return rc;
}

bool api_token_equal(const char *given, size_t given_len, const char *want)
{
	size_t wlen = strlen(want);
	unsigned char diff = given_len != wlen;

	/* always walk the whole wanted token; never index past given */
	for (size_t i = 0; i < wlen; i++) {
		unsigned char g = i < given_len ? (unsigned char)given[i] : 0;

		diff |= g ^ (unsigned char)want[i];
	}
	return diff == 0 && wlen > 0;
}
