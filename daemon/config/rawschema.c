/* raw_config schema: every key a config may carry, as tables (one row per
 * key: its kind, bounds, allowed values, and the key an *_enabled flag
 * needs), checked by one walker. Wazo provd's keys (reference §3) and
 * phoneprov's own; X_ (and provd's XX_) keys are kept unchecked. Null means
 * "not set" for every key, as in provd. */
#include "rawschema.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum rk {
	RK_STR,      /* string, at most 1024 bytes */
	RK_TEXT,     /* string, at most 65536 bytes (certificates, keys) */
	RK_HOST,     /* IP address or host name */
	RK_PORT,     /* integer 1-65535 */
	RK_INT,      /* integer min..max */
	RK_BOOL,
	RK_ENUM,     /* one of vals */
	RK_URL,      /* http:// or https:// URL */
	RK_TZ,       /* IANA time zone name */
	RK_LOCALE,   /* xx_YY */
	RK_EXTEN,    /* dialable extension: 0-9 * # + and letters */
	RK_TEXTLIST, /* list of RK_TEXT */
	RK_NAMELIST, /* list of short strings (codecs) */
	RK_TABLE,    /* numbered objects, dict or list shaped: sub table */
	RK_LIST,     /* list of objects: sub table */
};

struct rkey;
struct rtable {
	const char *what;           /* "line", "function key"... for messages */
	const struct rkey *keys;
	/* checks across the keys of one object (e.g. a blf key needs a value) */
	int (*check)(const json_t *obj, const char *path, struct pp_err *err);
};

struct rkey {
	const char *name;
	enum rk kind;
	long long min, max;
	const char *const *vals;   /* RK_ENUM */
	const char *needs;         /* RK_BOOL *_enabled: key required when true */
	const struct rtable *sub;  /* RK_TABLE, RK_LIST */
};

static const char *const v_dtmf[] = { "RTP-in-band", "RTP-out-of-band", "SIP-INFO", NULL };
static const char *const v_srtp[] = { "disabled", "preferred", "required", NULL };
static const char *const v_transport[] = { "udp", "tcp", "tls", NULL };
static const char *const v_syslog[] = { "critical", "error", "warning", "info", "debug", NULL };
static const char *const v_protocol[] = { "SIP", "SCCP", NULL };
static const char *const v_fktype[] = { "speeddial", "blf", "park", NULL };

#define S(n) { n, RK_STR, 0, 0, NULL, NULL, NULL }
#define HOST(n) { n, RK_HOST, 0, 0, NULL, NULL, NULL }
#define PORT(n) { n, RK_PORT, 1, 65535, NULL, NULL, NULL }
#define INT(n, a, b) { n, RK_INT, a, b, NULL, NULL, NULL }
#define BOOL(n) { n, RK_BOOL, 0, 0, NULL, NULL, NULL }
#define FLAG(n, need) { n, RK_BOOL, 0, 0, NULL, need, NULL }
#define ENUM(n, v) { n, RK_ENUM, 0, 0, v, NULL, NULL }
#define K(n, kind) { n, kind, 0, 0, NULL, NULL, NULL }
#define SUB(n, kind, t) { n, kind, 0, 0, NULL, NULL, t }
#define END { NULL, RK_STR, 0, 0, NULL, NULL, NULL }

static const struct rkey line_keys[] = {
	INT("line", 1, 999),
	HOST("proxy_ip"), PORT("proxy_port"),
	HOST("backup_proxy_ip"), PORT("backup_proxy_port"),
	HOST("registrar_ip"), PORT("registrar_port"),
	HOST("backup_registrar_ip"), PORT("backup_registrar_port"),
	HOST("outbound_proxy_ip"), PORT("outbound_proxy_port"),
	S("username"), S("password"), S("auth_username"), S("display_name"),
	K("number", RK_EXTEN), K("voicemail", RK_EXTEN),
	ENUM("dtmf_mode", v_dtmf), ENUM("srtp_mode", v_srtp), ENUM("transport", v_transport),
	END
};

static int funckey_check(const json_t *o, const char *path, struct pp_err *err);

static const struct rkey funckey_keys[] = {
	ENUM("type", v_fktype), S("value"), S("label"), INT("line", 1, 999),
	INT("index", 1, 9999),
	END
};

static const struct rkey cm_keys[] = {
	HOST("ip"), PORT("port"), INT("index", 1, 99),
	END
};

static const struct rkey contact_keys[] = {
	S("name"), K("number", RK_EXTEN),
	END
};

static int cm_check(const json_t *o, const char *path, struct pp_err *err);

static const struct rtable t_line = { "line", line_keys, NULL };
static const struct rtable t_funckey = { "function key", funckey_keys, funckey_check };
static const struct rtable t_cm = { "call manager", cm_keys, cm_check };
static const struct rtable t_contact = { "contact", contact_keys, NULL };

static const struct rkey top_keys[] = {
	/* general settings (the daemon injects them; a config may override) */
	HOST("ip"), PORT("http_port"), K("http_base_url", RK_URL), PORT("tftp_port"),
	S("tftp_server"),
	BOOL("nat"), /* phoneprov: NAT mode for this subtree (docs/security.md) */
	/* network services */
	FLAG("dns_enabled", "dns_ip"), HOST("dns_ip"),
	FLAG("ntp_enabled", "ntp_ip"), HOST("ntp_ip"),
	FLAG("vlan_enabled", "vlan_id"), INT("vlan_id", 0, 4094), INT("vlan_priority", 0, 7),
	INT("vlan_pc_port_id", 0, 4094),
	FLAG("syslog_enabled", "syslog_ip"), HOST("syslog_ip"), PORT("syslog_port"),
	ENUM("syslog_level", v_syslog),
	/* credentials, locale */
	S("admin_username"), S("admin_password"), S("user_username"), S("user_password"),
	K("timezone", RK_TZ), K("locale", RK_LOCALE),
	ENUM("protocol", v_protocol),
	/* SIP servers */
	HOST("sip_proxy_ip"), PORT("sip_proxy_port"),
	HOST("sip_backup_proxy_ip"), PORT("sip_backup_proxy_port"),
	HOST("sip_registrar_ip"), PORT("sip_registrar_port"),
	HOST("sip_backup_registrar_ip"), PORT("sip_backup_registrar_port"),
	HOST("sip_outbound_proxy_ip"), PORT("sip_outbound_proxy_port"),
	ENUM("sip_dtmf_mode", v_dtmf), ENUM("sip_srtp_mode", v_srtp),
	ENUM("sip_transport", v_transport),
	K("sip_servers_root_and_intermediate_certificates", RK_TEXTLIST),
	K("sip_local_root_and_intermediate_certificates", RK_TEXTLIST),
	K("sip_local_certificate", RK_TEXT), K("sip_local_key", RK_TEXT),
	BOOL("sip_subscribe_mwi"),
	SUB("sip_lines", RK_TABLE, &t_line),
	SUB("sccp_call_managers", RK_TABLE, &t_cm),
	/* feature extensions */
	K("exten_dnd", RK_EXTEN), K("exten_fwd_unconditional", RK_EXTEN),
	K("exten_fwd_no_answer", RK_EXTEN), K("exten_fwd_busy", RK_EXTEN),
	K("exten_fwd_disable_all", RK_EXTEN), K("exten_park", RK_EXTEN),
	K("exten_pickup_group", RK_EXTEN), K("exten_pickup_call", RK_EXTEN),
	K("exten_voicemail", RK_EXTEN),
	SUB("funckeys", RK_TABLE, &t_funckey),
	INT("config_version", 0, 1000000),
	/* phoneprov's own */
	K("codecs", RK_NAMELIST),
	SUB("contacts", RK_LIST, &t_contact),
	END
};

static const struct rtable t_top = { "raw_config", top_keys, NULL };

/* ---- helpers -------------------------------------------------------------- */

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "a list";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static int bad(struct pp_err *err, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(struct pp_err *err, const char *path, const char *fmt, ...)
{
	char m[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	pp_err_field(err, path, "%s %s", path, m);
	return PP_EINVAL;
}

/* A field path, cut when too long (pp_err keeps 96 bytes of it anyway). */
static void pathf(char *p, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void pathf(char *p, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, n, fmt, ap);
	va_end(ap);
}

static bool is_x_key(const char *k)
{
	return strncmp(k, "X_", 2) == 0 || strncmp(k, "XX_", 3) == 0;
}

static bool host_ok(const char *s, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(isalnum(c) || c == '.' || c == '-' || c == ':' || c == '_' || c == '[' ||
		      c == ']'))
			return false;
	}
	return true;
}

static bool tz_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64 || s[0] == '/' || s[n - 1] == '/' || strstr(s, "..") ||
	    strstr(s, "//"))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(isalnum(c) || c == '/' || c == '_' || c == '-' || c == '+'))
			return false;
	}
	return isalpha((unsigned char)s[0]);
}

static bool locale_ok(const char *s, size_t n)
{
	return n == 5 && islower((unsigned char)s[0]) && islower((unsigned char)s[1]) &&
	       s[2] == '_' && isupper((unsigned char)s[3]) && isupper((unsigned char)s[4]);
}

static bool exten_ok(const char *s, size_t n)
{
	if (n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(isalnum(c) || c == '*' || c == '#' || c == '+' || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	return true;
}

static const char *list_vals(const char *const *v, char *buf, size_t n)
{
	size_t j = 0;

	buf[0] = '\0';
	for (size_t i = 0; v[i] && j + 1 < n; i++)
		j += (size_t)snprintf(buf + j, n - j, "%s%s", i ? ", " : "", v[i]);
	return buf;
}

/* Numbered dict keys: "1".."9999", no leading zero. */
static bool number_key(const char *k, long *out)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)k[0]) || k[0] == '0' || strlen(k) > 4)
		return false;
	v = strtol(k, &end, 10);
	if (*end)
		return false;
	*out = v;
	return true;
}

static int check_object(const json_t *o, const struct rtable *t, const char *path,
			struct pp_err *err);

static int check_value(const json_t *v, const struct rkey *k, const char *path,
		       struct pp_err *err)
{
	char vals[200];
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);

	if (json_is_null(v))
		return PP_OK;
	if (s && strlen(s) != n)
		return bad(err, path, "must not contain NUL bytes");
	switch (k->kind) {
	case RK_STR:
	case RK_TEXT:
		if (!s)
			return bad(err, path, "must be a string, not %s", type_name(v));
		if (n > (k->kind == RK_STR ? 1024u : 65536u))
			return bad(err, path, "is too long (%zu bytes, at most %u)", n,
				   k->kind == RK_STR ? 1024u : 65536u);
		return PP_OK;
	case RK_HOST:
		if (!s)
			return bad(err, path, "must be a string (an IP address or host name), not %s",
				   type_name(v));
		if (!host_ok(s, n))
			return bad(err, path, "must be an IP address or host name, got \"%.64s\"", s);
		return PP_OK;
	case RK_PORT:
	case RK_INT:
		if (!json_is_integer(v))
			return bad(err, path, "must be an integer %lld-%lld, not %s", k->min, k->max,
				   type_name(v));
		if (json_integer_value(v) < k->min || json_integer_value(v) > k->max)
			return bad(err, path, "must be %lld-%lld, got %lld", k->min, k->max,
				   (long long)json_integer_value(v));
		return PP_OK;
	case RK_BOOL:
		if (!json_is_boolean(v))
			return bad(err, path, "must be true or false, not %s", type_name(v));
		return PP_OK;
	case RK_ENUM:
		if (!s)
			return bad(err, path, "must be one of %s, not %s",
				   list_vals(k->vals, vals, sizeof(vals)), type_name(v));
		for (size_t i = 0; k->vals[i]; i++)
			if (strcmp(s, k->vals[i]) == 0)
				return PP_OK;
		return bad(err, path, "must be one of %s, got \"%.64s\"",
			   list_vals(k->vals, vals, sizeof(vals)), s);
	case RK_URL:
		if (!s)
			return bad(err, path, "must be a string (an http:// or https:// URL), not %s",
				   type_name(v));
		if ((strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) ||
		    n > 512 || strpbrk(s, " \t\r\n\"<>"))
			return bad(err, path, "must be an http:// or https:// URL without spaces, "
				   "got \"%.64s\"", s);
		return PP_OK;
	case RK_TZ:
		if (!s)
			return bad(err, path, "must be a string (an IANA time zone name), not %s",
				   type_name(v));
		if (!tz_ok(s, n))
			return bad(err, path, "must be an IANA time zone name such as "
				   "Europe/Paris, got \"%.64s\"", s);
		return PP_OK;
	case RK_LOCALE:
		if (!s)
			return bad(err, path, "must be a string (a locale such as fr_FR), not %s",
				   type_name(v));
		if (!locale_ok(s, n))
			return bad(err, path, "must be a locale such as fr_FR (xx_YY), got \"%.64s\"",
				   s);
		return PP_OK;
	case RK_EXTEN:
		if (!s)
			return bad(err, path, "must be a string (an extension), not %s",
				   type_name(v));
		if (!exten_ok(s, n))
			return bad(err, path, "must be an extension (digits, letters, * # + _ . -; "
				   "at most 64), got \"%.64s\"", s);
		return PP_OK;
	case RK_TEXTLIST:
	case RK_NAMELIST: {
		size_t i;
		json_t *e;

		if (!json_is_array(v))
			return bad(err, path, "must be a list of strings, not %s", type_name(v));
		json_array_foreach(v, i, e) {
			char p[160];

			pathf(p, sizeof(p), "%s[%zu]", path, i);
			if (!json_is_string(e))
				return bad(err, p, "must be a string, not %s", type_name(e));
			if (json_string_length(e) > (k->kind == RK_NAMELIST ? 32u : 65536u) ||
			    json_string_length(e) == 0)
				return bad(err, p, "must be 1-%u bytes",
					   k->kind == RK_NAMELIST ? 32u : 65536u);
		}
		return PP_OK;
	}
	case RK_TABLE:
	case RK_LIST: {
		const char *key;
		size_t i;
		json_t *e;
		int rc;

		if (json_is_object(v) && k->kind == RK_TABLE) {
			json_object_foreach((json_t *)v, key, e) {
				char p[160];
				long num;

				pathf(p, sizeof(p), "%s.%s", path, key);
				if (!number_key(key, &num))
					return bad(err, p, "is not a %s number: the keys of %s must be "
						   "numbers 1-9999 (\"1\", \"2\"...)", k->sub->what,
						   k->name);
				if (!json_is_object(e))
					return bad(err, p, "must be an object (a %s), not %s",
						   k->sub->what, type_name(e));
				if ((rc = check_object(e, k->sub, p, err)) != PP_OK)
					return rc;
			}
			return PP_OK;
		}
		if (!json_is_array(v))
			return bad(err, path, k->kind == RK_TABLE ?
				   "must be a list of objects or an object of numbered objects "
				   "({\"1\": {...}}), not %s" : "must be a list of objects, not %s",
				   type_name(v));
		json_array_foreach(v, i, e) {
			char p[160];

			pathf(p, sizeof(p), "%s[%zu]", path, i);
			if (!json_is_object(e))
				return bad(err, p, "must be an object (a %s), not %s", k->sub->what,
					   type_name(e));
			if ((rc = check_object(e, k->sub, p, err)) != PP_OK)
				return rc;
		}
		return PP_OK;
	}
	}
	return PP_OK;
}

static const struct rkey *find_key(const struct rkey *keys, const char *name)
{
	for (const struct rkey *k = keys; k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

static int check_object(const json_t *o, const struct rtable *t, const char *path,
			struct pp_err *err)
{
	const char *name;
	json_t *v;
	int rc;

	json_object_foreach((json_t *)o, name, v) {
		const struct rkey *k = find_key(t->keys, name);
		char p[160];

		pathf(p, sizeof(p), "%s.%s", path, name);
		if (!k) {
			if (is_x_key(name))
				continue;
			return bad(err, p, "is not a known %s key (keys of your own must start "
				   "with X_)", t->what);
		}
		if ((rc = check_value(v, k, p, err)) != PP_OK)
			return rc;
		if (k->needs && json_is_true(v)) {
			json_t *need = json_object_get(o, k->needs);

			if (!need || json_is_null(need))
				return bad(err, p, "is true but %s is not set", k->needs);
		}
	}
	return t->check ? t->check(o, path, err) : PP_OK;
}

static int funckey_check(const json_t *o, const char *path, struct pp_err *err)
{
	const char *type = json_string_value(json_object_get(o, "type"));
	const json_t *val = json_object_get(o, "value");
	char p[160];

	if (!type) {
		pathf(p, sizeof(p), "%s.type", path);
		return bad(err, p, "is required (speeddial, blf or park)");
	}
	if ((strcmp(type, "speeddial") == 0 || strcmp(type, "blf") == 0) &&
	    (!json_is_string(val) || json_string_length(val) == 0)) {
		pathf(p, sizeof(p), "%s.value", path);
		return bad(err, p, "is required for a %s key", type);
	}
	return PP_OK;
}

static int cm_check(const json_t *o, const char *path, struct pp_err *err)
{
	char p[160];

	if (!json_is_string(json_object_get(o, "ip"))) {
		pathf(p, sizeof(p), "%s.ip", path);
		return bad(err, p, "is required (the call manager's address)");
	}
	return PP_OK;
}

int pp_rawcfg_check(const json_t *raw, const char *root, struct pp_err *err)
{
	if (!json_is_object(raw))
		return bad(err, root, "must be an object, not %s", type_name(raw));
	return check_object(raw, &t_top, root, err);
}

/* ---- one shape for templates ------------------------------------------------ */

struct numbered {
	long n;
	json_t *v;
};

static int cmp_numbered(const void *a, const void *b)
{
	const struct numbered *x = a, *y = b;

	return (x->n > y->n) - (x->n < y->n);
}

/* {"2": {...}, "1": {...}} -> [{..., num_key: 1}, {..., num_key: 2}] */
static json_t *dict_to_list(json_t *d, const char *num_key)
{
	size_t n = json_object_size(d), j = 0;
	struct numbered *a = calloc(n ? n : 1, sizeof(*a));
	json_t *out = json_array(), *v;
	const char *k;

	if (!a || !out) {
		free(a);
		json_decref(out);
		return NULL;
	}
	json_object_foreach(d, k, v) {
		long num;

		if (!json_is_object(v) || !number_key(k, &num))
			continue; /* not written through the API: skipped */
		a[j].n = num;
		a[j].v = v;
		j++;
	}
	qsort(a, j, sizeof(*a), cmp_numbered);
	for (size_t i = 0; i < j; i++) {
		json_t *e = json_deep_copy(a[i].v);

		if (!e)
			continue;
		if (!json_object_get(e, num_key))
			json_object_set_new(e, num_key, json_integer(a[i].n));
		json_array_append_new(out, e);
	}
	free(a);
	return out;
}

static void listify(json_t *cfg, const char *key, const char *num_key)
{
	json_t *v = json_object_get(cfg, key), *l;

	if (json_is_object(v) && (l = dict_to_list(v, num_key)))
		json_object_set_new(cfg, key, l);
}

void pp_rawcfg_normalise(json_t *cfg)
{
	static const char *const fill[][2] = {
		{ "proxy_ip", "sip_proxy_ip" }, { "proxy_port", "sip_proxy_port" },
		{ "transport", "sip_transport" }, { "dtmf_mode", "sip_dtmf_mode" },
		{ "srtp_mode", "sip_srtp_mode" },
	};
	json_t *lines, *e;
	size_t i;

	if (!json_is_object(cfg))
		return;
	listify(cfg, "sip_lines", "line");
	listify(cfg, "funckeys", "index");
	listify(cfg, "sccp_call_managers", "index");
	lines = json_object_get(cfg, "sip_lines");
	json_array_foreach(lines, i, e) {
		if (!json_is_object(e))
			continue;
		/* a list item without its number is line (position + 1) */
		if (!json_is_integer(json_object_get(e, "line")))
			json_object_set_new(e, "line", json_integer((json_int_t)i + 1));
		for (size_t f = 0; f < sizeof(fill) / sizeof(fill[0]); f++) {
			json_t *g = json_object_get(cfg, fill[f][1]);
			json_t *have = json_object_get(e, fill[f][0]);

			if (g && !json_is_null(g) && (!have || json_is_null(have)))
				json_object_set(e, fill[f][0], g);
		}
	}
}

const json_t *pp_rawcfg_line1(const json_t *cfg)
{
	const json_t *l = json_object_get(cfg, "sip_lines"), *e;
	size_t i;

	if (json_is_object(l))
		return json_is_object(json_object_get(l, "1")) ? json_object_get(l, "1") : NULL;
	json_array_foreach(l, i, e) {
		json_t *n = json_object_get(e, "line");

		if (json_is_integer(n) && json_integer_value(n) == 1)
			return e;
	}
	e = json_array_get(l, 0);
	return json_is_object(e) && !json_object_get(e, "line") ? e : NULL;
}
