/* File-system helpers: bounded reader, mkdir -p, atomic replace. */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pp_file_read(const char *path, size_t max, char **out, size_t *len, struct pp_err *err)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd, e;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		pp_err_set(err, "%s: cannot open: %s", path, strerror(e));
		return e == ENOENT ? PP_ENOENT : PP_EIO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		e = errno;
		pp_err_set(err, "%s: cannot read: %s", path,
			   S_ISDIR(st.st_mode) ? "is a folder" : "not a regular file");
		close(fd);
		(void)e;
		return PP_EIO;
	}
	if ((unsigned long long)st.st_size > max) {
		pp_err_set(err, "%s: file too large (%lld bytes, limit %zu)", path,
			   (long long)st.st_size, max);
		close(fd);
		return PP_EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		pp_err_set(err, "%s: out of memory", path);
		return PP_ENOMEM;
	}
	/* the file may change under us: never read more than we sized for */
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			pp_err_set(err, "%s: cannot read: %s", path, strerror(e));
			free(buf);
			close(fd);
			return PP_EIO;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return PP_OK;
}

int pp_mkdirs(const char *path, unsigned mode, struct pp_err *err)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len >= sizeof(buf)) {
		pp_err_set(err, "%s: path too long", path);
		return PP_EINVAL;
	}
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char c = buf[i];

		buf[i] = '\0';
		if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST) {
			pp_err_set(err, "%s: cannot create folder: %s", buf, strerror(errno));
			return PP_EIO;
		}
		buf[i] = c;
	}
	return PP_OK;
}

int pp_mkdirs_at(int dirfd, const char *rel)
{
	char buf[4096];

	if (strlen(rel) >= sizeof(buf))
		return -ENAMETOOLONG;
	snprintf(buf, sizeof(buf), "%s", rel);
	for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdirat(dirfd, buf, 0750) != 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

#define TMP_MARK ".tmp."

int pp_write_atomic(int dirfd, const char *rel, const void *data, size_t len, bool durable)
{
	static atomic_uint seq;
	char tmp[4200];
	const char *slash = strrchr(rel, '/');
	const unsigned char *p = data;
	int fd, rc = PP_OK, e = 0;

	if (pp_mkdirs_at(dirfd, rel) < 0)
		return PP_EIO;
	/* hidden temp name in the same folder: ".name.tmp.PID.N" */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%.*s.%s" TMP_MARK "%d.%u",
			     slash ? (int)(slash - rel + 1) : 0, rel, slash ? slash + 1 : rel,
			     (int)getpid(), atomic_fetch_add(&seq, 1)) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return PP_EIO;
	}
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return PP_EIO;
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? errno : ENOSPC;
			rc = PP_EIO;
			break;
		}
		p += w;
		len -= (size_t)w;
	}
	if (rc == PP_OK && durable && fsync(fd) != 0) {
		e = errno;
		rc = PP_EIO;
	}
	if (close(fd) != 0 && rc == PP_OK) {
		e = errno;
		rc = PP_EIO;
	}
	if (rc == PP_OK && renameat(dirfd, tmp, dirfd, rel) != 0) {
		e = errno;
		rc = PP_EIO;
	}
	if (rc != PP_OK) {
		unlinkat(dirfd, tmp, 0);
		errno = e;
	}
	return rc;
}

bool pp_is_atomic_tmp(const char *name)
{
	const char *m = strstr(name, TMP_MARK);

	return name[0] == '.' && m && m != name;
}
