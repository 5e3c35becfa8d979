/* phoneprov.yml: every key of DESIGN §3. Relative paths are resolved against
 * the directory that holds the config file and stored absolute. */
#ifndef PP_CONFIG_H
#define PP_CONFIG_H

#include <stdbool.h>
#include <jansson.h>
#include "lib/common.h"
#include "lib/netaddr.h"

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
	char *user;      /* started as root (without systemd): run as this user; "" = no switch */
	struct {
		struct pp_listen listen;
		char *root;
		unsigned max_blksize;    /* 8..65464 */
		unsigned max_windowsize; /* 1..65535 */
		unsigned timeout_ms;
		unsigned retries;
		unsigned max_transfers;  /* live transfers at most (slots) */
		unsigned max_per_client; /* live transfers per client address */
		unsigned max_timeout_s;  /* the client's timeout option is clamped to this */
	} tftp;
	struct {
		struct pp_listen listen;
		char *root;
		unsigned header_timeout_s;      /* whole request head within this */
		unsigned max_connections;       /* open connections at most */
		unsigned max_connections_per_ip;
		/* reverse proxies whose X-Forwarded-For / PROXY header names
		 * the client (docs/http.md, "Reverse proxies"); none by default */
		struct pp_cidr *trusted_proxies;
		size_t n_trusted_proxies;
	} http;
	/* The HTTPS listener (off while listen.port is 0): the same file server
	 * as http (http.root and http's limits) over TLS. */
	struct {
		struct pp_listen listen;
		char *cert;      /* PEM chain, server certificate first */
		char *key;       /* PEM private key, unencrypted */
		char *client_ca; /* "" = client certificates not checked */
	} https;
	struct {
		struct pp_listen listen;
		char *token_file;
		char *admin_token_file;
		unsigned header_timeout_s;
		unsigned max_connections;
		unsigned max_connections_per_ip;
	} api;
	struct {
		char *interface; /* "" = none */
		char *pcap_file; /* "" = none */
	} dhcp_sniffer;
	bool autoprov;
	bool nat;        /* phones share addresses: an address never finds a device */
	struct {
		unsigned unknown_mac_limit;
		unsigned unknown_mac_limit_per_net; /* the same per /24 (IPv6 /64); 0 = off */
		unsigned unknown_mac_window_s;
		unsigned ban_s;
	} security;
	struct {
		unsigned queue_max; /* phones' device changes waiting at most (back-pressure) */
		char *public_url;   /* "" = none: the URL phones reach this server at */
		char *url_key;      /* "" = none: the first path segment every HTTP(S)
				       request must carry (provd's url_key) */
	} provisioning;
	/* The general settings, the lowest layer of every device's effective
	 * config (computed at load from http.listen, tftp.listen and
	 * provisioning.public_url): ip, http_port, tftp_port, http_base_url,
	 * tftp_server. `general_src` names where each came from. Never NULL. */
	json_t *general;
	json_t *general_src;
	char general_warn[256]; /* "" or why phones are not told where to come back */
	struct {
		unsigned t1_ms; /* SIP T1 of the synchronize NOTIFY transaction (RFC 3261) */
	} synchronize;
	struct {
		char *dir;
		char *local_dir;   /* local overrides: <local_dir>/<plugin>/templates/
				      wins over <dir>/<plugin>/templates/; "" = none */
		bool all;          /* enabled: all */
		char **enabled;    /* else this list */
		size_t n_enabled;
		json_t *settings;  /* object: plugin name -> object (never NULL) */
		bool all_types_public; /* special phone types open to every token */
	} plugins;
};

/* The file to use when no -c is given: $PHONEPROV_CONFIG when set, else
 * ./phoneprov.yml when it exists (a checkout), else the installed default
 * (PP_CONFIG_FILE from the build, e.g. /etc/phoneprov/phoneprov.yml). The
 * string is the environment's or static: never freed. */
const char *pp_config_default_path(void);

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
