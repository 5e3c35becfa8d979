/* The provisioning pipeline shared by the TFTP, HTTP and DHCP threads:
 * extract device info → find/create device → associate → render → serve. */
#ifndef PP_PIPELINE_H
#define PP_PIPELINE_H

#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <jansson.h>
#include "daemon.h"
#include "safepath.h"

enum pp_proto { PP_PROTO_TFTP = 0, PP_PROTO_HTTP = 1, PP_PROTO_DHCP = 2 };

struct pp_request {
	enum pp_proto proto;
	const char *path;       /* as requested, protocol-decoded (HTTP: percent-decoded) */
	size_t path_len;        /* may contain NUL bytes: they are refused */
	const char *user_agent; /* HTTP only, else NULL */
	const char *peer_ip;    /* client address, text */
	int rootfd;             /* static tree to fall back to */
};

/* What to send. Exactly one of fd >= 0 (a static file) or data (rendered
 * bytes, malloc'd copy) is set. */
struct pp_blob {
	int fd;
	unsigned char *data;
	uint64_t size;
	int64_t mtime_ms;
	char etag[48];             /* quoted */
	char path[PP_PATH_MAX];    /* normalised relative path */
	char mac[18];              /* device it was rendered for, "" for static files */
	int trigger;               /* fetching it marks the device provisioned */
};

/* Look the request up. Returns PP_OK (out filled), PP_ENOENT, or PP_EACCES
 * (unsafe path, banned client) with *reason a short static text for logs. */
int pp_pipeline_fetch(struct pp_daemon *d, const struct pp_request *rq, struct pp_blob *out,
		      const char **reason);
void pp_blob_release(struct pp_blob *b);

/* Call once a transfer of b completed (sent `bytes`): records the fetch and
 * marks the device provisioned when b->trigger. */
void pp_pipeline_done(struct pp_daemon *d, const struct pp_request *rq, const struct pp_blob *b,
		      uint64_t bytes);

/* Facts a DHCP packet gives about a client (strings NUL-terminated, "" when absent). */
struct pp_dhcp_facts {
	char mac[18];          /* chaddr, normalised */
	char ip[46];           /* yiaddr of an ACK, else ciaddr, else "" */
	int msg_type;          /* option 53 */
	int bound;             /* 1 for an ACK that binds ip to mac */
	char vendor_class[256];/* option 60 */
	char hostname[256];    /* option 12 */
	char client_id[520];   /* option 61, hex */
	char user_class[256];  /* option 77 */
	char requested_ip[46]; /* option 50 */
	char server_id[46];    /* option 54 */
	char param_list[768];  /* option 55, comma-separated codes */
	char relay_info[520];  /* option 82, hex */
	unsigned vlan;         /* 802.1Q VLAN id, 0 = untagged */
};

/* Run a DHCP observation through the pipeline (device created/updated,
 * associated, files rendered). Returns PP_OK or an error code. */
int pp_pipeline_dhcp(struct pp_daemon *d, const struct pp_dhcp_facts *f);

/* A device's configuration changed (API or CLI): re-associate if needed and
 * re-render only that device's files, atomically (LMDB + disk). */
int pp_pipeline_reconfigure(struct pp_daemon *d, const char *mac);
/* A config changed: re-render every device whose config inherits from it. */
int pp_pipeline_config_changed(struct pp_daemon *d, const char *config_id);

/* A device is being deleted. In the deleting write txn: drop the files
 * rendered for it (dev is its record) from LMDB. After the commit: remove the
 * same files from the rendered tree on disk. A deleted phone's per-MAC
 * secrets must not stay servable. */
struct pp_txn;
int pp_pipeline_forget_txn(struct pp_txn *t, const json_t *dev);
void pp_pipeline_forget_disk(struct pp_daemon *d, const json_t *dev);

/* Free pipeline state kept in the daemon (ban table, caches). */
void pp_pipeline_fini(struct pp_daemon *d);

#endif
