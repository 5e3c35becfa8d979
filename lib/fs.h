/* File-system helpers shared by every module: the one bounded file reader,
 * mkdir -p, and the write-to-temp-then-rename used for every file phoneprov
 * writes where a reader may be looking (rendered files, PJSIP includes, …).
 * Library code: returns PP_* codes with detail in a pp_err, never logs. */
#ifndef PP_FS_H
#define PP_FS_H

#include <stdbool.h>
#include <stddef.h>
#include "lib/common.h"

/* Read a whole regular file of at most `max` bytes into a new NUL-terminated
 * buffer (*out, owned by the caller: free()). Errors: PP_ENOENT (no such
 * file), PP_EINVAL (larger than max: "PATH: file too large (N bytes, limit
 * MAX)"), PP_EIO ("PATH: cannot open|read: why"), PP_ENOMEM. */
int pp_file_read(const char *path, size_t max, char **out, size_t *len, struct pp_err *err);

/* mkdir -p: create path and its missing parents with mode. PP_OK, or
 * PP_EINVAL/PP_EIO with "PATH: cannot create folder: why" in err. */
int pp_mkdirs(const char *path, unsigned mode, struct pp_err *err);

/* Create the missing parent folders of `rel` beneath dirfd (0750).
 * Returns 0 or -errno. */
int pp_mkdirs_at(int dirfd, const char *rel);

/* Write `len` bytes to `rel` beneath dirfd atomically: a hidden temporary
 * name in the same folder (".NAME.tmp.PID.N"), then rename over rel, so a
 * reader sees the old or the new file, never a torn one. With `durable` the
 * temporary file is fsync'ed before the rename (survives a power loss);
 * without it the data reaches the disk when the kernel writes it back.
 * Missing parent folders are created. Returns PP_OK or PP_EIO with errno
 * kept (ENOSPC: disk full). */
int pp_write_atomic(int dirfd, const char *rel, const void *data, size_t len, bool durable);

/* Is `name` (a file name, no folder) one of pp_write_atomic's temporary
 * names? Used by the start-up resync to remove leftovers of a crash. */
bool pp_is_atomic_tmp(const char *name);

#endif
