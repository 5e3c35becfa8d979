/* plugins/<name>/pkgs.yml: firmware packages and the files they need
 * (docs/firmware.md). Parsed and validated into plain structs; every error
 * reads "FILE:LINE:COL: what is wrong". */
#ifndef PP_FW_PKGS_H
#define PP_FW_PKGS_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/common.h"

enum pp_fw_step_kind { PP_FW_UNTAR, PP_FW_UNZIP, PP_FW_CP, PP_FW_MKDIR, PP_FW_RENAME };

struct pp_fw_file {
	char *id;
	char *url;
	char *name;       /* file name in the work folder (default: last URL component) */
	uint64_t size;
	char sha256[65];  /* lowercase hex or "" */
	char sha1[41];    /* lowercase hex or "" */
};

struct pp_fw_step {
	enum pp_fw_step_kind kind;
	int line, col;
	const struct pp_fw_file *file; /* untar / unzip */
	char *src;        /* cp: glob in the work folder */
	char *dest;       /* untar/unzip: work folder; cp/mkdir: output ("" = top) */
	char *from, *to;  /* rename: output paths */
};

struct pp_fw_pkg {
	char *name, *description, *version;
	const struct pp_fw_file **files;
	size_t n_files;
	struct pp_fw_step *steps;
	size_t n_steps;
};

struct pp_pkgs {
	struct pp_fw_pkg *pkgs;
	size_t n_pkgs;
	struct pp_fw_file *files;
	size_t n_files;
};

/* Parse bytes (name is used in messages). An empty document is an error. */
int pp_pkgs_parse_buf(const char *name, const char *buf, size_t len, struct pp_pkgs **out,
		      struct pp_err *err);
/* Parse a file. PP_ENOENT (err set) when it does not exist. */
int pp_pkgs_load(const char *path, struct pp_pkgs **out, struct pp_err *err);
void pp_pkgs_free(struct pp_pkgs *p);
const struct pp_fw_pkg *pp_pkgs_find(const struct pp_pkgs *p, const char *name);

/* The key a file is cached under: its sha256, else its sha1. */
const char *pp_fw_file_key(const struct pp_fw_file *f);

#endif
