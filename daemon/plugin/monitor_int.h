/* Call-record monitor definitions, private to the plugin module: the
 * compiled form of a plugin.yml `monitors:` entry shared by monitors.c
 * (plugin.yml and settings, the plugin.h accessors) and monitor_parse.c
 * (framing and parsing). Outside daemon/plugin/ a definition is opaque
 * (plugin.h); tests and fuzz harnesses may look inside. */
#ifndef PP_MONITOR_INT_H
#define PP_MONITOR_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin.h"
#include "lib/yamltree.h"

#define MON_NAME_MAX 64          /* monitor names, like plugin names */
#define MON_ID_MAX PP_MON_ID_MAX  /* "<plugin>/<name>" */
#define MON_CAPS_MAX 64          /* named captures of one monitor */
#define MON_STEPS_MAX 16
#define MON_RULES_MAX 64
#define MON_EXTRA_MAX 16
#define MON_LOGIN_MAX 8
#define MON_RECORD_MAX_DEFAULT 4096
#define MON_RECORD_MAX_LIMIT 65536

enum mon_framing { MON_FR_LINE, MON_FR_FIXED, MON_FR_BLOCK };
enum mon_step_kind { MON_ST_REGEX, MON_ST_COLUMNS, MON_ST_CSV, MON_ST_KV };

/* The record fields a monitor fills (docs/monitors.md). */
enum mon_field {
	MON_F_DIRECTION, MON_F_NUMBER, MON_F_LINE, MON_F_EXT, MON_F_START, MON_F_DURATION,
	MON_F_RING, MON_F_TRUNK, MON_F_ACCOUNT, MON_F_N
};
extern const char *const pp_mon_field_names[MON_F_N];

/* A template "{{date}} {{time}}": literal text and capture references. */
struct mon_tpart {
	int cap;        /* capture index, or -1 for literal text */
	char *lit;
	size_t len;
};
struct mon_tpl {
	struct mon_tpart *parts;
	size_t n;
};

struct mon_col {
	int cap;
	size_t from, to;  /* 0-based byte offsets, to exclusive */
};

struct mon_step {
	enum mon_step_kind kind;
	int on;                  /* capture index of the input; -1 = the whole frame */
	pcre2_code *guard;       /* `if:` (NULL = always) */
	bool optional;           /* regex: no match is not an error */
	pcre2_code *re;          /* regex */
	int *group_cap;          /* regex: group number -> capture index (-1 = unused) */
	uint32_t n_groups;
	struct mon_col *cols;    /* columns */
	size_t n_cols;
	char sep;                /* csv / keyvalue separator */
	int *csv_cap;            /* csv: column -> capture index */
	size_t n_csv;
};

struct mon_map {
	char **from, **to;
	size_t n;
};

struct mon_fieldspec {
	bool set;
	struct mon_tpl tpl;
	struct mon_map map;
	char *format;            /* start: time format (NULL = ISO 8601 forms) */
	bool end_of_call;        /* start: the time given is the end of the call */
};

/* `when:` names either a record field (MON_F_*) or a capture. */
struct mon_cond {
	int field;               /* enum mon_field or -1 */
	int cap;                 /* capture index or -1 */
	pcre2_code *re;
};
struct mon_rule {
	struct mon_cond *when;
	size_t n_when;
	struct mon_tpl set[MON_F_N];
	bool has[MON_F_N];
};

struct mon_login {
	bool send;               /* send text, else expect a line */
	struct mon_tpl text;     /* send: template over vars (captures unused) */
	pcre2_code *expect, *fail;
	char *expect_src;        /* for messages */
};

/* One monitor, built from plugin.yml and the settings; immutable once
 * built, shared by reference between registries and the monitor thread. */
struct pp_mon_def {
	atomic_int refs;
	char id[MON_ID_MAX];     /* "<plugin>/<name>" */
	char plugin[MON_NAME_MAX + 1];
	char name[MON_NAME_MAX + 1];
	uint64_t hash;           /* definition + effective settings */
	bool enabled;
	enum pp_mon_transport transport;
	/* endpoint */
	char *host;              /* tcp: numeric address */
	unsigned port;
	char *listen_host;       /* tcp-listen */
	unsigned listen_port;
	char *listen_text;
	char *device;            /* serial */
	unsigned baud;
	unsigned data_bits;
	enum pp_mon_parity parity;
	unsigned stop_bits;
	enum pp_mon_flow flow;
	/* backoff (seconds) */
	double timeout, timeout_decay, max_timeout, connect_timeout;
	/* login */
	struct mon_login login[MON_LOGIN_MAX];
	size_t n_login;
	char **var_names, **var_values; /* `vars:` after settings */
	size_t n_vars;
	/* framing */
	enum mon_framing framing;
	size_t record_length;    /* fixed */
	size_t max_record;
	pcre2_code **ignore;
	size_t n_ignore;
	pcre2_code *select;
	/* parsing */
	char *caps[MON_CAPS_MAX];
	size_t n_caps;
	bool any_cap;            /* a keyvalue step gives captures by name */
	struct mon_step steps[MON_STEPS_MAX];
	size_t n_steps;
	struct mon_fieldspec fields[MON_F_N];
	struct mon_rule *rules;
	size_t n_rules;
	char *extra_names[MON_EXTRA_MAX];
	struct mon_tpl extra[MON_EXTRA_MAX];
	size_t n_extra;
	uint32_t max_groups;     /* largest regex ovector */
};

struct pp_mon_set {
	struct pp_mon_def **v;
	size_t n;
};

/* Build the monitors of plugin `plugin` from its plugin.yml `monitors:` node
 * (NULL: none) and its settings object (plugins.settings.<plugin>, may be
 * NULL). Errors are "FILE:LINE:COL: what" for plugin.yml, and for settings
 * the position in cfg_path when it can be found, else "CFG: key: what".
 * `jit`: compile the regexes of monitors that will run (the daemon); the CLI
 * and tests pass false. *out is never NULL on PP_OK (maybe empty). */
int pp_mon_set_load(const char *plugin, const struct pp_ynode *node, const json_t *settings,
		    const char *cfg_path, bool jit, struct pp_mon_set **out, struct pp_err *err);
void pp_mon_set_free(struct pp_mon_set *s);
size_t pp_mon_set_count(const struct pp_mon_set *s);
/* Borrowed: valid while the set lives (or while a reference is held). */
struct pp_mon_def *pp_mon_set_at(const struct pp_mon_set *s, size_t i);

/* Text to valid UTF-8: valid sequences are kept, other bytes are read as
 * ISO-8859-1 (what PBX serial ports send), NUL bytes are dropped. */
void pp_mon_utf8(struct pp_buf *out, const char *s, size_t n);

#endif
