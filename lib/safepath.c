/* Path checks and beneath-the-root opens. */

#include "safepath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int pp_path_normalize(const char *in, size_t len, char *out, size_t outsz, const char **reason)
{
	size_t i = 0, o = 0, comp_start;

	if (len >= PP_PATH_MAX) {
		*reason = "path too long";
		return -1;
	}
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)in[k];

		if (c == 0) {
			*reason = "NUL byte in path";
			return -1;
		}
		if (c < 0x20 || c == 0x7f) {
			*reason = "control byte in path";
			return -1;
		}
		if (c == '\\') {
			*reason = "backslash in path";
			return -1;
		}
	}
	while (i < len) {
		while (i < len && in[i] == '/')
			i++;
		if (i == len)
			break;
		comp_start = i;
		while (i < len && in[i] != '/')
			i++;
		size_t clen = i - comp_start;

		if (clen == 2 && in[comp_start] == '.' && in[comp_start + 1] == '.') {
			*reason = "parent directory (..) in path";
			return -1;
		}
		if (clen == 1 && in[comp_start] == '.') {
			*reason = "dot component in path";
			return -1;
		}
		if (clen > 255) {
			*reason = "path component too long";
			return -1;
		}
		if (o + (o ? 1 : 0) + clen + 1 > outsz) {
			*reason = "path too long";
			return -1;
		}
		if (o)
			out[o++] = '/';
		memcpy(out + o, in + comp_start, clen);
		o += clen;
	}
	if (o == 0) {
		*reason = "empty path";
		return -1;
	}
	out[o] = '\0';
	return 0;
}

int pp_open_beneath(int rootfd, const char *rel, int *fd, struct stat *st, const char **reason)
{
	struct open_how how;
	int f, e;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	f = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
	if (f < 0) {
		e = errno;
		switch (e) {
		case ENOENT:
		case ENOTDIR:
			*reason = "no such file";
			return -ENOENT;
		case EXDEV:
		case ELOOP:
			*reason = "path leaves the root";
			return -EXDEV;
		case EACCES:
		case EPERM:
			*reason = "permission denied";
			return -EACCES;
		default:
			*reason = "cannot open";
			return -e;
		}
	}
	if (fstat(f, st) != 0) {
		e = errno;
		close(f);
		*reason = "cannot stat";
		return -e;
	}
	if (S_ISDIR(st->st_mode)) {
		close(f);
		*reason = "is a directory";
		return -EISDIR;
	}
	if (!S_ISREG(st->st_mode)) {
		close(f);
		*reason = "not a regular file";
		return -EACCES;
	}
	/* back to blocking reads for the caller */
	fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK);
	*fd = f;
	return 0;
}
