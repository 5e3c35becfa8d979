/* Firmware module internals shared by fetch.c, install.c and firmware.c. */
#ifndef PP_FW_INT_H
#define PP_FW_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "firmware.h"
#include "pkgs.h"

/* Limits on what one package may unpack (docs/firmware.md). */
#define PP_FW_MAX_ENTRY (2ULL << 30)   /* bytes per archive entry / file */
#define PP_FW_MAX_TOTAL (6ULL << 30)   /* bytes written in the scratch folder */
#define PP_FW_MAX_ENTRIES 100000       /* entries per archive */
#define PP_FW_SUM_MAX 72               /* "sha256:" + 64 hex + NUL */

/* Download f into cache_dir (resuming a .part left by an interruption),
 * verify size and hash; on success path holds the verified file and sum its
 * checked hash as "sha256:HEX" (or "sha1:HEX" when only a SHA-1 is given). A size or
 * hash mismatch deletes the download. */
int pp_fw_fetch(const char *cache_dir, const struct pp_fw_file *f, pp_fw_progress_fn progress,
		void *arg, char *path, size_t pathsz, char sum[PP_FW_SUM_MAX], struct pp_err *err);

/* Hash a file: sha256 and/or sha1 hex (NULL to skip); *size its length. */
int pp_fw_hash_fd(int fd, char sha256[65], char sha1[41], uint64_t *size,
		  pp_fw_progress_fn progress, void *arg, const char *what);

/* Does one of these install records (JSON array) list the relative path? */
bool pp_fw_records_list(json_t *records, const char *rel);
/* rm -rf without following symlinks. */
void pp_fw_rmtree(const char *path);

/* Run pkg's install steps over the downloaded files (paths[i], with their
 * verified sums[i] "algo:hex", for pkg->files[i]) in a scratch folder under cache_dir, then move the result
 * into root. *record receives {files:[{path,size,sha256|sha1,owned}], dirs:[...]}.
 * owners: the other install records (objects with "files"), to tell shared
 * files from foreign ones. */
int pp_fw_run_install(const char *cache_dir, const char *root, const struct pp_fw_pkg *pkg,
		      char *const *paths, char *const *sums, json_t *owners, pp_fw_progress_fn progress, void *arg,
		      json_t **record, struct pp_err *err);

/* Walk dir components of rel beneath base with O_NOFOLLOW (a symlink or a
 * file in the way is an error), creating them when create is set; created
 * (may be NULL) gets the relative paths of folders made. Returns an fd or -1. */
int pp_fw_open_dirs(int base, const char *rel, bool create, json_t *created,
		    struct pp_err *err);

#endif
