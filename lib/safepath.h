/* Path safety for everything served from a tree (TFTP, HTTP, firmware). */
#ifndef PP_SAFEPATH_H
#define PP_SAFEPATH_H

#include <stddef.h>
#include <sys/stat.h>

#define PP_PATH_MAX 1024

/* Check and normalise a requested path (already protocol-decoded, e.g. HTTP
 * percent-decoding done) into a relative path: leading '/' removed, "//"
 * collapsed. Refused, with *reason set to a short static text: empty name,
 * NUL or control bytes, backslash, ".." components, "." components,
 * names longer than PP_PATH_MAX-1 or components longer than 255.
 * Returns 0 or -1. */
int pp_path_normalize(const char *in, size_t len, char *out, size_t outsz, const char **reason);

/* Open a regular file at rel (a normalised path) beneath rootfd without ever
 * leaving the root: openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so
 * symlinks that stay inside are followed and those leading outside refused.
 * Returns 0 with *fd and *st set, or -errno (-ENOENT, -EACCES, -EXDEV when an
 * escape was refused, -EISDIR, ...) with *reason set. */
int pp_open_beneath(int rootfd, const char *rel, int *fd, struct stat *st, const char **reason);

#endif
