/* The plugin registry: every enabled plugin loaded from plugins.dir, one
 * instance each, immutable once built (SIGHUP builds a new one).
 *
 * This is the module's public face: outside daemon/plugin/ a plugin's
 * private data (struct pp_plugin_priv, plugin_int.h) is reached only through
 * the functions below (tests and fuzz harnesses excepted). Every pointer
 * returned lives as long as the registry (the snapshot holding it). */
#ifndef PP_REGISTRY_H
#define PP_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "lib/common.h"
#include "daemon/config/config.h"
#include "extractors/extract.h"

/* A class of a plugin's `dhcp:` (docs/plugin-format.md, "dhcp"). It matches
 * one way: an option-60 prefix (vci_prefix, vci_len bytes) or MAC-address
 * prefixes (ouis). boot_file and boot_url are the class's own, else the
 * family's (NULL = none: option 66 then names the TFTP server). */
struct pp_dhcp_class {
	char *name;        /* class name, e.g. "digium-d40" */
	char *vci_prefix;  /* option-60 prefix bytes (NUL-terminated too; with vci_hex
			    * it may hold NULs: use vci_len), NULL for an OUI class */
	size_t vci_len;
	bool vci_hex;      /* given as vci_prefix_hex (bytes, not text) */
	char *model;       /* canonical model the prefix names, NULL for a family class */
	char (*ouis)[9];   /* MAC prefixes "00:0f:d3" (lower case) of an OUI class */
	size_t n_ouis;
	char *boot_file;   /* TFTP boot file name / path (may be NULL) */
	char *boot_url;    /* HTTP provisioning URL (option 66/160/…) (may be NULL) */
	char **vendor_values; /* per option of the plugin's dhcp_vendor: the class's
			       * value, else the family's, NULL = not sent (NULL
			       * array without vendor options) */
};

/* A family's vendor-encapsulated options (option 43), e.g. Aastra's
 * cfg-server-name: code `code` of option space `space`. */
struct pp_dhcp_vopt {
	char *name;        /* option name in the space, e.g. "cfg-server-name" */
	unsigned code;     /* 1..254 */
	char *type;        /* text, boolean, uint8, uint16, uint32, ip-address */
	char *value;       /* the family's value, NULL when only classes give one;
			    * text values may use {{http_host}} {{http_port}} ... */
};
struct pp_dhcp_vendor {
	char *space;       /* e.g. "Aastra6700" */
	struct pp_dhcp_vopt *opts;
	size_t n_opts;
};

struct pp_plugin {
	char *name, *version, *description, *vendor;
	char *dir;         /* absolute plugin folder */
	json_t *meta;      /* the whole plugin.yml as JSON (for the API / CLI) */
	struct pp_dhcp_class *dhcp;
	size_t n_dhcp;
	struct pp_dhcp_vendor *dhcp_vendor; /* NULL when the family has none */
	void *priv;        /* registry-private: rules, templates, hooks */
};

struct pp_registry;

/* Load the enabled plugins. Plugins that fail validation make the load fail
 * with "FILE:LINE:COL: what" in err. */
int pp_registry_load(const struct pp_config *cfg, struct pp_registry **out, struct pp_err *err);
void pp_registry_free(struct pp_registry *r);
/* Load for identification only (phoneprov identify): no JIT, templates are
 * neither compiled nor checked, no common files, no hooks, no monitors. */
#define PP_REG_IDENTIFY 1u
/* Load without the plugins' C hooks (see pp_registry_load_hooks). */
#define PP_REG_NO_HOOKS 2u
int pp_registry_load_ex(const struct pp_config *cfg, unsigned flags, struct pp_registry **out,
			struct pp_err *err);
/* Load the hooks of a registry loaded with PP_REG_NO_HOOKS. Only before the
 * registry is shared with other threads. */
int pp_registry_load_hooks(struct pp_registry *r, struct pp_err *err);
size_t pp_registry_count(const struct pp_registry *r);
const struct pp_plugin *pp_registry_at(const struct pp_registry *r, size_t i);
const struct pp_plugin *pp_registry_find(const struct pp_registry *r, const char *name);
/* Hash of the whole registry (changes when any plugin or setting changes). */
uint64_t pp_registry_hash(const struct pp_registry *r);

/* ---- a plugin ------------------------------------------------------------ */

/* One entry of a plugin's `files:`. */
struct pp_plugin_file {
	const char *path;                 /* the pattern as written */
	const char *template_name;
	bool common, sensitive, trigger;
	const unsigned char *common_data; /* scope common: rendered at load */
	size_t common_len;
};
size_t pp_plugin_file_count(const struct pp_plugin *p);
void pp_plugin_file_at(const struct pp_plugin *p, size_t i, struct pp_plugin_file *out);
size_t pp_plugin_model_count(const struct pp_plugin *p);
const char *pp_plugin_model_name(const struct pp_plugin *p, size_t i);
size_t pp_plugin_rule_count(const struct pp_plugin *p);
/* The plugin's `autoprov:` config and its plugins.settings.<name> (objects). */
const json_t *pp_plugin_autoprov(const struct pp_plugin *p);
const json_t *pp_plugin_settings(const struct pp_plugin *p);
/* What the rendered files depend on (plugin.yml, templates, settings). */
uint64_t pp_plugin_hash(const struct pp_plugin *p);
/* Position in the registry (the index of its score in pp_associate). */
size_t pp_plugin_index(const struct pp_plugin *p);

/* ---- identification and association ------------------------------------- */

enum pp_score { PP_IMPROBABLE = 0, PP_PROBABLE = 1, PP_COMPLETE = 2, PP_EXACT = 3 };
const char *pp_score_name(int score);

/* The canonical name of a model (or alias, case-insensitively) in p's
 * models table; NULL when p does not know it. */
const char *pp_plugin_canonical_model(const struct pp_plugin *p, const char *model);
/* Identification: every enabled plugin's rules in precedence order, then the
 * file-name patterns of per-device files (extractors/identify.h). The model
 * comes out under its canonical name (aliases cover the spellings phones
 * send: SPA-942 -> SPA942, VVX_410 -> VVX410): the one of the plugin whose
 * rule gave it, else of the first plugin of the request's vendor knowing it. */
void pp_identify(const struct pp_registry *r, const struct pp_ex_input *in,
		 struct pp_devinfo *di);
/* Score every plugin into scores[pp_registry_count(r)]; returns the index of
 * the winner, or -1 when no plugin scores above IMPROBABLE. On a tie,
 * `prefer` (the plugin whose file the phone asked for, may be NULL) wins
 * before plugin version and name. */
int pp_associate(const struct pp_registry *r, const struct pp_devinfo *di, unsigned char *scores);
int pp_associate_pref(const struct pp_registry *r, const struct pp_devinfo *di,
		      unsigned char *scores, const struct pp_plugin *prefer);
/* What identification and association make of a request, as the JSON of
 * `phoneprov identify` (fields, the source and plugin of each, every plugin's
 * score, the chosen plugin and canonical model). New reference. */
json_t *pp_identify_json(const struct pp_registry *r, const struct pp_ex_input *in);
/* Does a normalised request path name a per-device file of some plugin?
 * true with *file, *plugin and mac (18 bytes, "" when the name carries none). */
bool pp_registry_match_file(const struct pp_registry *r, const char *path,
			    struct pp_plugin_file *file, const struct pp_plugin **plugin,
			    char mac[18]);
/* A common file by exact path. */
bool pp_registry_common_file(const struct pp_registry *r, const char *path,
			     struct pp_plugin_file *file, const struct pp_plugin **plugin);

/* ---- C hooks (hooks.h), called by the daemon ----------------------------- */

enum pp_dev_event { PP_HOOK_CREATE, PP_HOOK_UPDATE, PP_HOOK_DELETE };
/* p's lifecycle hook for a device event (nothing without hooks): on_device
 * when the module has it (with config, the device's effective config), else
 * on_device_create/update/delete. */
void pp_hooks_device(const struct pp_plugin *p, enum pp_dev_event ev, const json_t *dev,
		     const json_t *config);
bool pp_plugin_has_hooks(const struct pp_plugin *p);
/* The plugin's routes hook (/api/v1/plugins/<name>/<path>): present? call
 * it (any thread); does `path` need the admin token (its admin_routes)? */
struct pp_hook_request;
struct pp_hook_response;
bool pp_plugin_has_routes(const struct pp_plugin *p);
int pp_plugin_route(const struct pp_plugin *p, const struct pp_hook_request *rq,
		    struct pp_hook_response *rs);
bool pp_plugin_route_admin(const struct pp_plugin *p, const char *path);
/* The plugin's job: present? run it; its interval: the setting
 * plugins.settings.<name>.job_interval_s (seconds, may have a fraction),
 * else the module's job_interval_s, else 60 s. */
bool pp_plugin_has_job(const struct pp_plugin *p);
int pp_plugin_job(const struct pp_plugin *p);
unsigned pp_plugin_job_interval(const struct pp_plugin *p);
int64_t pp_plugin_job_interval_ms(const struct pp_plugin *p);
/* The job's schedule, kept with the plugin's instance (a reload that keeps
 * the instance keeps it; a new instance starts due). Jobs thread only.
 * false when the plugin has no live instance. */
struct pp_job_sched {
	int64_t next_ms;   /* 0 = due now (the first call), -1 = never again */
	int64_t last_ms;   /* when the last call started, 0 = never */
	int64_t interval_ms; /* the interval next_ms was computed with */
};
bool pp_plugin_job_sched(const struct pp_plugin *p, struct pp_job_sched *out);
void pp_plugin_job_sched_set(const struct pp_plugin *p, const struct pp_job_sched *in);
/* SIGHUP: give the plugins of a registry loaded with PP_REG_NO_HOOKS their
 * instances from the running registry `old`: adopted when hooks.so and the
 * settings (less job_interval_s) are unchanged, else the old one is retired
 * (fini) before the new one's init (hooks_int.h). Main thread. */
int pp_registry_adopt_hooks(struct pp_registry *nr, const struct pp_registry *old,
			    struct pp_err *err);
/* The plugin's C call-record monitor (the run hook): present? run it (on
 * the calling thread, until it returns). */
struct pp_monitor_ctx;
bool pp_plugin_has_run_hook(const struct pp_plugin *p);
int pp_plugin_run_hook(const struct pp_plugin *p, struct pp_monitor_ctx *ctx);

/* ---- call-record monitors (plugin.yml `monitors:`, docs/monitors.md) ----
 *
 * The registry builds each declared monitor, merged with
 * plugins.settings.<plugin>, into an immutable, reference-counted definition
 * (errors are load errors of the plugin). The runtime (daemon/monitor) runs
 * them; the parser below turns what a PBX sends into records. Neither the
 * definitions nor the parser do I/O or log. */

#define PP_MON_ID_MAX 140          /* "<plugin>/<name>" with its NUL */

struct pp_mon_def;                  /* one monitor (opaque) */

size_t pp_plugin_monitor_count(const struct pp_plugin *p);
/* Borrowed: lives as long as the registry; take a reference to keep it. */
struct pp_mon_def *pp_plugin_monitor_at(const struct pp_plugin *p, size_t i);

struct pp_mon_def *pp_mon_def_ref(struct pp_mon_def *d);
void pp_mon_def_unref(struct pp_mon_def *d);
const char *pp_mon_def_id(const struct pp_mon_def *d);   /* "<plugin>/<name>" */
/* Of the definition and its effective settings: a change means a restart. */
uint64_t pp_mon_def_hash(const struct pp_mon_def *d);
bool pp_mon_def_enabled(const struct pp_mon_def *d);
/* Whether the monitor has what it needs to run (host and port, device or
 * listen address); *why names what is missing. */
bool pp_mon_def_endpoint(const struct pp_mon_def *d, const char **why);

enum pp_mon_transport { PP_MON_SERIAL, PP_MON_TCP, PP_MON_TCP_LISTEN };
enum pp_mon_parity { PP_MON_PAR_NONE, PP_MON_PAR_EVEN, PP_MON_PAR_ODD, PP_MON_PAR_MARK,
		     PP_MON_PAR_SPACE };
enum pp_mon_flow { PP_MON_FLOW_NONE, PP_MON_FLOW_RTSCTS, PP_MON_FLOW_XONXOFF };

/* Where and how a monitor connects, and its backoff (seconds). Strings are
 * borrowed from the definition (NULL when not set). */
struct pp_mon_conn {
	enum pp_mon_transport transport;
	const char *host;                /* tcp: numeric address */
	unsigned port;
	const char *listen_host;         /* tcp-listen: numeric address */
	unsigned listen_port;
	const char *listen_text;         /* tcp-listen: as written, for messages */
	const char *device;              /* serial */
	unsigned baud, data_bits, stop_bits;
	enum pp_mon_parity parity;
	enum pp_mon_flow flow;
	double timeout, timeout_decay, max_timeout, connect_timeout;
};
void pp_mon_def_conn(const struct pp_mon_def *d, struct pp_mon_conn *out);

/* Login steps (run in order after connecting): step i either sends a text
 * (pp_mon_login_send: a new string of *len bytes, the `vars:` expanded) or
 * waits for a line: pp_mon_login_line says 1 when the line is the one
 * expected, -1 when it matches the step's `fail:` (a refusal), 0 for any
 * other line. pp_mon_login_expect: the expected pattern as written. */
size_t pp_mon_login_count(const struct pp_mon_def *d);
bool pp_mon_login_sends(const struct pp_mon_def *d, size_t i);
char *pp_mon_login_send(const struct pp_mon_def *d, size_t i, size_t *len);
int pp_mon_login_line(const struct pp_mon_def *d, size_t i, const char *line, size_t len);
const char *pp_mon_login_expect(const struct pp_mon_def *d, size_t i);

/* The parser: bytes in, records out. One parser per stream (framing state,
 * scratch buffers), one thread at a time; it holds a reference on d. */
struct pp_mon_parser;
int pp_mon_parser_new(struct pp_mon_def *d, struct pp_mon_parser **out);
void pp_mon_parser_free(struct pp_mon_parser *p);

/* Called with each record; the callback takes over the reference on rec.
 * A non-zero return stops the feed and is returned by it. */
typedef int (*pp_mon_rec_cb)(json_t *rec, void *arg);

/* Add bytes read from the PBX: every complete frame is parsed and handed to
 * cb; an incomplete one stays buffered. Frames that are ignored (blank lines,
 * headers, `ignore:`/`select:`) give nothing; frames that do not parse give a
 * record with "parsed": false, the raw text and an "error". */
int pp_mon_parser_feed(struct pp_mon_parser *p, const void *data, size_t len, pp_mon_rec_cb cb,
		       void *arg);
/* End of the stream: the buffered incomplete frame, if any, is parsed as if
 * it were complete (so nothing already read is lost). */
int pp_mon_parser_flush(struct pp_mon_parser *p, pp_mon_rec_cb cb, void *arg);
/* Bytes buffered in an incomplete frame. */
size_t pp_mon_parser_pending(const struct pp_mon_parser *p);
/* Parse one frame (no terminator). Returns a new record, or NULL when the
 * frame is ignored. Never fails otherwise: what does not parse comes back
 * with "parsed": false. */
json_t *pp_mon_parse_frame(struct pp_mon_parser *p, const char *frame, size_t len);

#endif
