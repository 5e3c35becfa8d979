/* phoneprov.yml: every key of DESIGN §3. Relative paths are resolved against
 * the directory that holds the config file and stored absolute. */
#ifndef PP_CONFIG_H
#define PP_CONFIG_H

#include <stdbool.h>
#include <jansson.h>
#include "common.h"

struct pp_listen {
	char host[64];  /* numeric address, e.g. "127.0.0.1" or "::1" */
	unsigned port;
	char text[80];  /* as written, for logs */
};

struct pp_config {
	char *path;      /* the file loaded (absolute) */
	char *base_dir;  /* its directory */
	char *data_dir;  /* absolute; LMDB in data_dir/db, rendered files in data_dir/tftpboot */
	int log_level;   /* enum pp_log_level */
	struct {
		struct pp_listen listen;
		char *root;
		unsigned max_blksize;    /* 8..65464 */
		unsigned max_windowsize; /* 1..65535 */
		unsigned timeout_ms;
		unsigned retries;
	} tftp;
	struct {
		struct pp_listen listen;
		char *root;
	} http;
	struct {
		struct pp_listen listen;
		char *token_file;
		char *admin_token_file;
	} api;
	struct {
		char *interface; /* "" = none */
		char *pcap_file; /* "" = none */
	} dhcp_sniffer;
	bool autoprov;
	struct {
		unsigned unknown_mac_limit;
		unsigned unknown_mac_window_s;
		unsigned ban_s;
	} security;
	struct {
		char *dir;
		bool all;          /* enabled: all */
		char **enabled;    /* else this list */
		size_t n_enabled;
		json_t *settings;  /* object: plugin name -> object (never NULL) */
	} plugins;
};

/* Load and validate. On error returns PP_EINVAL (or PP_EIO) and err holds a
 * single line "FILE:LINE:COL: what is wrong" (or "FILE: what" without position). */
int pp_config_load(const char *path, struct pp_config **out, struct pp_err *err);
/* The embedded defaults with paths resolved against base_dir. */
struct pp_config *pp_config_defaults(const char *base_dir);
void pp_config_free(struct pp_config *cfg);
/* Internal (tests, fuzzing): validate bytes; relative paths against base_dir;
 * check_fs false skips the folder/file existence checks. name is for messages. */
int pp_config_load_buf(const char *name, const char *buf, size_t len, const char *base_dir,
		       bool check_fs, struct pp_config **out, struct pp_err *err);

#endif
