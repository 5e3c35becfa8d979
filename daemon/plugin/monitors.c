/* Monitor definitions: the `monitors:` list of a plugin.yml, validated with
 * FILE:LINE:COL errors, merged with plugins.settings.<plugin> of
 * phoneprov.yml (plugin-wide keys, then monitors.<name>), compiled (PCRE2,
 * templates, columns) into an immutable, reference-counted pp_mon_def; the
 * plugin.h accessors the monitor runtime reads it through. Built by the
 * registry (registry.c) with the rest of the plugin; never logs.
 * The schema is documented in docs/monitors.md. */
#include "monitor_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


const char *const pp_mon_field_names[MON_F_N] = {
	[MON_F_DIRECTION] = "direction", [MON_F_NUMBER] = "number", [MON_F_LINE] = "line",
	[MON_F_EXT] = "ext", [MON_F_START] = "start", [MON_F_DURATION] = "duration_s",
	[MON_F_RING] = "ring_s", [MON_F_TRUNK] = "trunk", [MON_F_ACCOUNT] = "account",
};

/* Keys that phoneprov.yml may override (plugin-wide or per monitor). */
static const char *const setting_keys[] = {
	"enabled", "transport", "listen", "host", "port", "device", "baud", "data_bits", "parity", "stop_bits",
	"flow_control", "timeout", "timeout_decay", "max_timeout", "connect_timeout", NULL,
};

static const char *const entry_keys[] = {
	"name", "description", "transport", "enabled", "listen", "host", "port", "device", "baud",
	"data_bits", "parity", "stop_bits", "flow_control", "timeout", "timeout_decay",
	"max_timeout", "connect_timeout", "vars", "login", "framing", "record_length",
	"max_record", "ignore", "select", "parse", "record", "rules", NULL,
};

/* termios speeds we accept (the common PBX/serial rates). */
static const unsigned bauds[] = { 300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600,
				  115200, 230400, 460800, 921600 };

/* Everything the loader needs while building one monitor. */
struct ld {
	struct pp_mon_def *d;
	const char *cfg_path;
	const json_t *psettings;  /* plugins.settings.<plugin> (object or NULL) */
	const json_t *msettings;  /* ...monitors.<name> (object or NULL) */
	json_t *eff;              /* effective overrides (hashed) */
	struct pp_err *err;
};

/* ---- small helpers ---------------------------------------------------- */

static int scalar_col(const struct pp_ynode *n, size_t off)
{
	return n->col + (n->plain ? 0 : 1) + (int)off;
}

static bool valid_name(const char *s)
{
	if (!*s || strlen(s) > MON_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_' ||
		      *s == '-'))
			return false;
	return true;
}

static pcre2_code *re_compile(const struct pp_ynode *n, const char *what, struct pp_err *err)
{
	PCRE2_SIZE off = 0;
	int ec = 0;
	pcre2_code *re;

	if (n->type != PP_Y_SCALAR) {
		pp_y_err(err, n, "%s must be a regular expression (a string)", what);
		return NULL;
	}
	/* byte mode: PBX output is ASCII or ISO-8859-1, columns count bytes */
	re = pcre2_compile((PCRE2_SPTR)n->str, n->len, PCRE2_NEVER_UTF, &ec, &off, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(ec, msg, sizeof(msg));
		pp_err_at(err, n->file, n->line, scalar_col(n, off), "%s: %s", what, (char *)msg);
	}
	return re;
}

static int y_number(const struct pp_ynode *n, const char *what, double min, double max,
		    double *out, struct pp_err *err)
{
	char *end;
	double v;

	if (n->type != PP_Y_SCALAR || !n->plain || !*n->str) {
		pp_y_err(err, n, "%s must be a number", what);
		return PP_EINVAL;
	}
	errno = 0;
	v = strtod(n->str, &end);
	if (errno || *end || !isfinite(v)) {
		pp_y_err(err, n, "%s must be a number, not '%s'", what, n->str);
		return PP_EINVAL;
	}
	if (v < min || v > max) {
		pp_y_err(err, n, "%s must be between %g and %g, not %g", what, min, max, v);
		return PP_EINVAL;
	}
	*out = v;
	return PP_OK;
}

/* Position of plugins.settings.<plugin>[.monitors.<mon>].<key> in the config
 * file, for error messages (the settings reach us as JSON without one). */
static void cfg_err(struct ld *x, bool per_monitor, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void cfg_err(struct ld *x, bool per_monitor, const char *key, const char *fmt, ...)
{
	struct pp_ydoc *doc = NULL;
	struct pp_err ignore;
	const struct pp_ynode *n = NULL;
	char what[300], path[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (per_monitor)
		snprintf(path, sizeof(path), "plugins.settings.%s.monitors.%s.%s", x->d->plugin,
			 x->d->name, key);
	else
		snprintf(path, sizeof(path), "plugins.settings.%s.%s", x->d->plugin, key);
	if (x->cfg_path && pp_yaml_load_file(x->cfg_path, &doc, &ignore) == PP_OK && doc->root) {
		n = pp_ymap_get(pp_ymap_get(pp_ymap_get(doc->root, "plugins"), "settings"),
				x->d->plugin);
		if (per_monitor)
			n = pp_ymap_get(pp_ymap_get(n, "monitors"), x->d->name);
		if (n && n->type == PP_Y_MAP)
			for (size_t i = 0; i < n->n; i++)
				if (strcmp(n->keys[i]->str, key) == 0) {
					pp_err_at(x->err, doc->file, n->vals[i]->line, n->vals[i]->col,
						  "%s: %s", path, what);
					pp_ydoc_free(doc);
					return;
				}
	}
	pp_ydoc_free(doc);
	pp_err_set(x->err, "%s: %s: %s", x->cfg_path ? x->cfg_path : "config", path, what);
}

/* ---- captures and templates --------------------------------------------- */

static int cap_find(const struct pp_mon_def *d, const char *name, size_t len)
{
	for (size_t i = 0; i < d->n_caps; i++)
		if (strlen(d->caps[i]) == len && strncasecmp(d->caps[i], name, len) == 0)
			return (int)i;
	return -1;
}

static int cap_add(struct pp_mon_def *d, const char *name, size_t len)
{
	int i = cap_find(d, name, len);

	if (i >= 0)
		return i;
	if (d->n_caps == MON_CAPS_MAX)
		return -1;
	d->caps[d->n_caps] = strndup(name, len);
	return d->caps[d->n_caps] ? (int)d->n_caps++ : -1;
}

static bool cap_name_ok(const char *s, size_t n)
{
	if (!n || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

/* Lookup used while compiling a template: returns an index or -1 with err. */
typedef int (*name_fn)(struct ld *x, const char *name, size_t len);

static int tpl_cap(struct ld *x, const char *name, size_t len)
{
	struct pp_mon_def *d = x->d;

	return d->any_cap ? cap_add(d, name, len) : cap_find(d, name, len);
}

static int tpl_var(struct ld *x, const char *name, size_t len)
{
	for (size_t i = 0; i < x->d->n_vars; i++)
		if (strlen(x->d->var_names[i]) == len && !memcmp(x->d->var_names[i], name, len))
			return (int)i;
	return -1;
}

/* Appends one part: a capture (cap >= 0, lit NULL) or a literal (cap -1). */
static int tpl_push(struct mon_tpl *t, int cap, char *lit, size_t len)
{
	struct mon_tpart *np = realloc(t->parts, (t->n + 1) * sizeof(*np));

	if (!np) {
		free(lit);
		return PP_ENOMEM;
	}
	t->parts = np;
	np[t->n].cap = cap;
	np[t->n].lit = lit;
	np[t->n].len = len;
	t->n++;
	return PP_OK;
}

static int tpl_push_lit(struct mon_tpl *t, const char *lit, size_t len)
{
	char *d = strndup(lit, len);

	return d ? tpl_push(t, -1, d, len) : PP_ENOMEM;
}

static int tpl_compile(struct ld *x, const struct pp_ynode *n, const char *what, name_fn fn,
		       struct mon_tpl *t)
{
	const char *s, *p, *q, *e;

	if (n->type != PP_Y_SCALAR) {
		pp_y_err(x->err, n, "%s must be a string (a template like \"{{name}}\")", what);
		return PP_EINVAL;
	}
	s = n->str;
	e = s + n->len;
	for (p = s; p < e;) {
		q = strstr(p, "{{");
		if (!q || q >= e) {
			if (tpl_push_lit(t, p, (size_t)(e - p)))
				return PP_ENOMEM;
			break;
		}
		if (q > p && tpl_push_lit(t, p, (size_t)(q - p)))
			return PP_ENOMEM;
		{
			const char *a = q + 2, *b = strstr(a, "}}"), *z;
			int idx;

			if (!b) {
				pp_err_at(x->err, n->file, n->line, scalar_col(n, (size_t)(q - s)),
					  "%s: '{{' without '}}'", what);
				return PP_EINVAL;
			}
			while (a < b && *a == ' ')
				a++;
			for (z = b; z > a && z[-1] == ' '; z--)
				;
			if (!cap_name_ok(a, (size_t)(z - a))) {
				pp_err_at(x->err, n->file, n->line, scalar_col(n, (size_t)(q - s)),
					  "%s: bad name '%.*s' in {{...}}", what, (int)(b - q - 2),
					  q + 2);
				return PP_EINVAL;
			}
			idx = fn(x, a, (size_t)(z - a));
			if (idx < 0) {
				pp_err_at(x->err, n->file, n->line, scalar_col(n, (size_t)(a - s)),
					  fn == tpl_var ? "%s: '%.*s' is not declared in vars:" :
					  "%s: no parse step gives a capture '%.*s'", what,
					  (int)(z - a), a);
				return PP_EINVAL;
			}
			if (tpl_push(t, idx, NULL, 0))
				return PP_ENOMEM;
			p = b + 2;
		}
	}
	return PP_OK;
}

static void tpl_free(struct mon_tpl *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->parts[i].lit);
	free(t->parts);
	t->parts = NULL;
	t->n = 0;
}

/* ---- settings (plugin.yml value, then phoneprov.yml overrides) ------------ */

/* The override of a setting: monitors.<name>.<key>, else the plugin-wide key. */
static const json_t *override(struct ld *x, const char *key, bool *per_monitor)
{
	const json_t *v = x->msettings ? json_object_get(x->msettings, key) : NULL;

	*per_monitor = v != NULL;
	if (!v && x->psettings)
		v = json_object_get(x->psettings, key);
	if (v)
		json_object_set(x->eff, key, (json_t *)v);
	return v;
}

static int set_str(struct ld *x, const struct pp_ynode *entry, const char *key, char **out)
{
	const struct pp_ynode *n = pp_ymap_get(entry, key);
	const json_t *v;
	const char *s = NULL;
	bool pm;

	if (n && pp_y_str(n, key, &s, x->err))
		return PP_EINVAL;
	if ((v = override(x, key, &pm))) {
		if (!json_is_string(v)) {
			cfg_err(x, pm, key, "must be a string");
			return PP_EINVAL;
		}
		s = json_string_value(v);
	}
	free(*out);
	*out = s && *s ? strdup(s) : NULL;
	return PP_OK;
}

static int set_num(struct ld *x, const struct pp_ynode *entry, const char *key, double min,
		   double max, double *out)
{
	const struct pp_ynode *n = pp_ymap_get(entry, key);
	const json_t *v;
	bool pm;

	if (n && y_number(n, key, min, max, out, x->err))
		return PP_EINVAL;
	if ((v = override(x, key, &pm))) {
		double d;

		if (!json_is_number(v)) {
			cfg_err(x, pm, key, "must be a number");
			return PP_EINVAL;
		}
		d = json_number_value(v);
		if (!isfinite(d) || d < min || d > max) {
			cfg_err(x, pm, key, "must be between %g and %g, not %g", min, max, d);
			return PP_EINVAL;
		}
		*out = d;
	}
	return PP_OK;
}

static int set_uint(struct ld *x, const struct pp_ynode *entry, const char *key, unsigned min,
		    unsigned max, unsigned *out)
{
	const struct pp_ynode *n = pp_ymap_get(entry, key);
	const json_t *v;
	long long ll;
	bool pm;

	if (n) {
		if (pp_y_int(n, key, min, max, &ll, x->err))
			return PP_EINVAL;
		*out = (unsigned)ll;
	}
	if ((v = override(x, key, &pm))) {
		if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)min ||
		    json_integer_value(v) > (json_int_t)max) {
			cfg_err(x, pm, key, "must be an integer between %u and %u", min, max);
			return PP_EINVAL;
		}
		*out = (unsigned)json_integer_value(v);
	}
	return PP_OK;
}

static int set_bool(struct ld *x, const struct pp_ynode *entry, const char *key, bool *out)
{
	const struct pp_ynode *n = pp_ymap_get(entry, key);
	const json_t *v;
	bool pm;

	if (n && pp_y_bool(n, key, out, x->err))
		return PP_EINVAL;
	if ((v = override(x, key, &pm))) {
		if (!json_is_boolean(v)) {
			cfg_err(x, pm, key, "must be true or false");
			return PP_EINVAL;
		}
		*out = json_is_true(v);
	}
	return PP_OK;
}

/* One of a list of words; *out = its index. */
static int set_enum(struct ld *x, const struct pp_ynode *entry, const char *key,
		    const char *const *words, int *out)
{
	const struct pp_ynode *n = pp_ymap_get(entry, key);
	const json_t *v;
	const char *s = NULL;
	char list[200] = "";
	bool pm = false, from_cfg = false;

	for (int i = 0; words[i]; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 words[i]);
	if (n && pp_y_str(n, key, &s, x->err))
		return PP_EINVAL;
	if ((v = override(x, key, &pm))) {
		from_cfg = true;
		s = json_string_value(v);
		if (!s) {
			cfg_err(x, pm, key, "must be one of %s", list);
			return PP_EINVAL;
		}
	}
	if (!s)
		return PP_OK;
	for (int i = 0; words[i]; i++)
		if (strcmp(words[i], s) == 0) {
			*out = i;
			return PP_OK;
		}
	if (from_cfg)
		cfg_err(x, pm, key, "must be one of %s, not '%s'", list, s);
	else
		pp_y_err(x->err, n, "%s must be one of %s, not '%s'", key, list, s);
	return PP_EINVAL;
}

/* "host:port", "[v6]:port": numeric address only (a stop must never wait on
 * a resolver); "*" or "" as host means every address. */
static int split_listen(const char *s, char **host, unsigned *port, const char **why)
{
	const char *c;
	char h[64];
	unsigned char a[16];
	char *end;
	unsigned long p;

	if (*s == '[') {
		const char *e = strchr(s, ']');

		if (!e || e[1] != ':' || (size_t)(e - s - 1) >= sizeof(h)) {
			*why = "must be ADDRESS:PORT";
			return PP_EINVAL;
		}
		memcpy(h, s + 1, (size_t)(e - s - 1));
		h[e - s - 1] = '\0';
		c = e + 1;
	} else {
		c = strrchr(s, ':');
		if (!c || (size_t)(c - s) >= sizeof(h)) {
			*why = "must be ADDRESS:PORT";
			return PP_EINVAL;
		}
		memcpy(h, s, (size_t)(c - s));
		h[c - s] = '\0';
	}
	errno = 0;
	p = strtoul(c + 1, &end, 10);
	if (!c[1] || *end || errno || p < 1 || p > 65535) {
		*why = "port must be 1..65535";
		return PP_EINVAL;
	}
	if (!*h || !strcmp(h, "*"))
		snprintf(h, sizeof(h), "0.0.0.0");
	if (inet_pton(AF_INET, h, a) != 1 && inet_pton(AF_INET6, h, a) != 1) {
		*why = "address must be a numeric IPv4 or IPv6 address";
		return PP_EINVAL;
	}
	*host = strdup(h);
	*port = (unsigned)p;
	return *host ? PP_OK : PP_ENOMEM;
}

static int load_settings(struct ld *x, const struct pp_ynode *e)
{
	static const char *const transports[] = { "serial", "tcp", "tcp-listen", NULL };
	static const char *const parities[] = { "none", "even", "odd", "mark", "space", NULL };
	static const char *const flows[] = { "none", "rtscts", "xonxoff", NULL };
	struct pp_mon_def *d = x->d;
	char *listen = NULL;
	unsigned char addr[16];
	int t = -1, v;
	bool ok;

	if (set_enum(x, e, "transport", transports, &t))
		return PP_EINVAL;
	if (t < 0) {
		pp_y_err(x->err, e, "monitor '%s': missing required key 'transport' (serial, tcp, "
			 "tcp-listen)", d->name);
		return PP_EINVAL;
	}
	d->transport = (enum pp_mon_transport)t;
	d->enabled = true;
	d->baud = 9600;
	d->data_bits = 8;
	d->stop_bits = 1;
	d->timeout = 10;
	d->timeout_decay = 1.5;
	d->max_timeout = 300;
	d->connect_timeout = 10;
	if (set_bool(x, e, "enabled", &d->enabled) || set_str(x, e, "host", &d->host) ||
	    set_uint(x, e, "port", 1, 65535, &d->port) || set_str(x, e, "device", &d->device) ||
	    set_uint(x, e, "baud", 50, 4000000, &d->baud) ||
	    set_uint(x, e, "data_bits", 5, 8, &d->data_bits) ||
	    set_uint(x, e, "stop_bits", 1, 2, &d->stop_bits) ||
	    set_num(x, e, "timeout", 0.001, 86400, &d->timeout) ||
	    set_num(x, e, "timeout_decay", 1, 100, &d->timeout_decay) ||
	    set_num(x, e, "max_timeout", 0.001, 86400, &d->max_timeout) ||
	    set_num(x, e, "connect_timeout", 0.01, 3600, &d->connect_timeout) ||
	    set_str(x, e, "listen", &listen))
		goto fail;
	v = PP_MON_PAR_NONE;
	if (set_enum(x, e, "parity", parities, &v))
		goto fail;
	d->parity = (enum pp_mon_parity)v;
	v = PP_MON_FLOW_NONE;
	if (set_enum(x, e, "flow_control", flows, &v))
		goto fail;
	d->flow = (enum pp_mon_flow)v;
	ok = false;
	for (size_t i = 0; i < PP_ARRAY_LEN(bauds); i++)
		ok |= bauds[i] == d->baud;
	if (!ok) {
		const struct pp_ynode *n = pp_ymap_get(e, "baud");
		bool pm;

		if (override(x, "baud", &pm))
			cfg_err(x, pm, "baud", "unsupported speed %u (300 ... 921600)", d->baud);
		else
			pp_y_err(x->err, n ? n : e, "baud: unsupported speed %u (300 ... 921600)",
				 d->baud);
		goto fail;
	}
	if (d->max_timeout < d->timeout) {
		pp_y_err(x->err, e, "monitor '%s': max_timeout (%g) is below timeout (%g)", d->name,
			 d->max_timeout, d->timeout);
		goto fail;
	}
	if (d->host) {
		if (!strcmp(d->host, "localhost")) {
			free(d->host);
			d->host = strdup("127.0.0.1");
		} else if (inet_pton(AF_INET, d->host, addr) != 1 &&
			   inet_pton(AF_INET6, d->host, addr) != 1) {
			const struct pp_ynode *n = pp_ymap_get(e, "host");
			bool pm;

			if (override(x, "host", &pm))
				cfg_err(x, pm, "host", "'%s' is not a numeric IPv4/IPv6 address",
					d->host);
			else
				pp_y_err(x->err, n ? n : e, "host: '%s' is not a numeric IPv4/IPv6 "
					 "address", d->host);
			goto fail;
		}
	}
	if (listen) {
		const char *why = NULL;

		if (split_listen(listen, &d->listen_host, &d->listen_port, &why)) {
			const struct pp_ynode *n = pp_ymap_get(e, "listen");
			bool pm;

			if (override(x, "listen", &pm))
				cfg_err(x, pm, "listen", "'%s': %s", listen, why ? why : "invalid");
			else
				pp_y_err(x->err, n ? n : e, "listen: '%s': %s", listen,
					 why ? why : "invalid");
			goto fail;
		}
		d->listen_text = listen;
		listen = NULL;
	}
	free(listen);
	return PP_OK;
fail:
	free(listen);
	return PP_EINVAL;
}

/* vars: declared in plugin.yml with defaults; settings may override each. */
static int load_vars(struct ld *x, const struct pp_ynode *e)
{
	const struct pp_ynode *n = pp_ymap_get(e, "vars");
	struct pp_mon_def *d = x->d;

	if (!n)
		return PP_OK;
	if (pp_y_expect(n, PP_Y_MAP, "vars", x->err))
		return PP_EINVAL;
	d->var_names = calloc(n->n + 1, sizeof(char *));
	d->var_values = calloc(n->n + 1, sizeof(char *));
	if (!d->var_names || !d->var_values)
		return PP_ENOMEM;
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i]->str, *s;
		bool pm;
		const json_t *v;

		if (!cap_name_ok(k, strlen(k))) {
			pp_y_err(x->err, n->keys[i], "vars: bad name '%s'", k);
			return PP_EINVAL;
		}
		for (const char *const *sk = setting_keys; *sk; sk++)
			if (!strcmp(*sk, k)) {
				pp_y_err(x->err, n->keys[i], "vars: '%s' is a monitor setting", k);
				return PP_EINVAL;
			}
		if (pp_y_str(n->vals[i], k, &s, x->err))
			return PP_EINVAL;
		if ((v = override(x, k, &pm))) {
			if (!json_is_string(v) && !json_is_number(v)) {
				cfg_err(x, pm, k, "must be a string");
				return PP_EINVAL;
			}
			if (json_is_string(v)) {
				s = json_string_value(v);
			} else {
				static _Thread_local char num[40];

				if (json_is_integer(v))
					snprintf(num, sizeof(num), "%lld",
						 (long long)json_integer_value(v));
				else
					snprintf(num, sizeof(num), "%g", json_number_value(v));
				s = num;
			}
		}
		d->var_names[i] = strdup(k);
		d->var_values[i] = strdup(s);
		d->n_vars++;
		if (!d->var_names[i] || !d->var_values[i])
			return PP_ENOMEM;
	}
	return PP_OK;
}

/* monitors.<name> must only hold known keys (settings and declared vars). */
static int check_monitor_settings(struct ld *x)
{
	const char *k;
	json_t *v;

	if (!x->msettings)
		return PP_OK;
	json_object_foreach((json_t *)x->msettings, k, v) {
		bool ok = false;

		for (const char *const *sk = setting_keys; *sk && !ok; sk++)
			ok = !strcmp(*sk, k);
		for (size_t i = 0; i < x->d->n_vars && !ok; i++)
			ok = !strcmp(x->d->var_names[i], k);
		if (!ok) {
			cfg_err(x, true, k, "unknown key (monitor settings: enabled, transport, "
				"listen, host, "
				"port, device, baud, data_bits, parity, stop_bits, flow_control, "
				"timeout, timeout_decay, max_timeout, connect_timeout%s)",
				x->d->n_vars ? ", and the monitor's vars" : "");
			return PP_EINVAL;
		}
	}
	return PP_OK;
}

/* ---- login, framing --------------------------------------------------------- */

static int load_login(struct ld *x, const struct pp_ynode *e)
{
	static const char *const keys[] = { "send", "expect", "fail", NULL };
	const struct pp_ynode *n = pp_ymap_get(e, "login");
	struct pp_mon_def *d = x->d;

	if (!n)
		return PP_OK;
	if (pp_y_expect(n, PP_Y_SEQ, "login", x->err))
		return PP_EINVAL;
	if (n->n > MON_LOGIN_MAX) {
		pp_y_err(x->err, n, "login: at most %d steps", MON_LOGIN_MAX);
		return PP_EINVAL;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct pp_ynode *s = n->vals[i], *v;
		struct mon_login *l = &d->login[d->n_login++];

		if (pp_y_check_keys(s, keys, "login step", x->err))
			return PP_EINVAL;
		if ((v = pp_ymap_get(s, "send"))) {
			if (pp_ymap_get(s, "expect") || pp_ymap_get(s, "fail")) {
				pp_y_err(x->err, s, "login step: either send or expect");
				return PP_EINVAL;
			}
			l->send = true;
			if (tpl_compile(x, v, "send", tpl_var, &l->text))
				return PP_EINVAL;
		} else if ((v = pp_ymap_get(s, "expect"))) {
			if (!(l->expect = re_compile(v, "expect", x->err)))
				return PP_EINVAL;
			l->expect_src = strndup(v->str, v->len);
			if ((v = pp_ymap_get(s, "fail")) && !(l->fail = re_compile(v, "fail", x->err)))
				return PP_EINVAL;
		} else {
			pp_y_err(x->err, s, "login step: needs send or expect");
			return PP_EINVAL;
		}
	}
	return PP_OK;
}

static int load_framing(struct ld *x, const struct pp_ynode *e)
{
	static const char *const framings[] = { "line", "fixed", "block", NULL };
	struct pp_mon_def *d = x->d;
	const struct pp_ynode *n;
	long long ll;
	int f = MON_FR_LINE;

	if ((n = pp_ymap_get(e, "framing"))) {
		const char *s;

		if (pp_y_str(n, "framing", &s, x->err))
			return PP_EINVAL;
		for (f = 0; framings[f] && strcmp(framings[f], s); f++)
			;
		if (!framings[f]) {
			pp_y_err(x->err, n, "framing must be line, fixed or block, not '%s'", s);
			return PP_EINVAL;
		}
	}
	d->framing = (enum mon_framing)f;
	d->max_record = MON_RECORD_MAX_DEFAULT;
	if ((n = pp_ymap_get(e, "max_record"))) {
		if (pp_y_int(n, "max_record", 16, MON_RECORD_MAX_LIMIT, &ll, x->err))
			return PP_EINVAL;
		d->max_record = (size_t)ll;
	}
	n = pp_ymap_get(e, "record_length");
	if (d->framing == MON_FR_FIXED) {
		if (!n) {
			pp_y_err(x->err, e, "monitor '%s': framing: fixed needs record_length",
				 d->name);
			return PP_EINVAL;
		}
		if (pp_y_int(n, "record_length", 1, MON_RECORD_MAX_LIMIT, &ll, x->err))
			return PP_EINVAL;
		d->record_length = (size_t)ll;
		if (d->max_record < d->record_length)
			d->max_record = d->record_length;
	} else if (n) {
		pp_y_err(x->err, n, "record_length is only for framing: fixed");
		return PP_EINVAL;
	}
	if ((n = pp_ymap_get(e, "ignore"))) {
		size_t cnt = n->type == PP_Y_SEQ ? n->n : 1;

		d->ignore = calloc(cnt, sizeof(*d->ignore));
		if (!d->ignore)
			return PP_ENOMEM;
		for (size_t i = 0; i < cnt; i++) {
			const struct pp_ynode *r = n->type == PP_Y_SEQ ? n->vals[i] : n;

			if (!(d->ignore[i] = re_compile(r, "ignore", x->err)))
				return PP_EINVAL;
			d->n_ignore++;
		}
	}
	if ((n = pp_ymap_get(e, "select")) && !(d->select = re_compile(n, "select", x->err)))
		return PP_EINVAL;
	return PP_OK;
}

/* ---- parse steps -------------------------------------------------------------- */

static int input_of(struct ld *x, const struct pp_ynode *s, struct mon_step *st)
{
	const struct pp_ynode *n;
	const char *on;
	bool b = false;

	st->on = -1;
	if ((n = pp_ymap_get(s, "on"))) {
		if (pp_y_str(n, "on", &on, x->err))
			return PP_EINVAL;
		st->on = x->d->any_cap ? cap_add(x->d, on, strlen(on)) :
			 cap_find(x->d, on, strlen(on));
		if (st->on < 0) {
			pp_y_err(x->err, n, "on: no earlier step gives a capture '%s'", on);
			return PP_EINVAL;
		}
	}
	if ((n = pp_ymap_get(s, "if")) && !(st->guard = re_compile(n, "if", x->err)))
		return PP_EINVAL;
	if ((n = pp_ymap_get(s, "optional"))) {
		if (pp_y_bool(n, "optional", &b, x->err))
			return PP_EINVAL;
		if (!pp_ymap_get(s, "regex")) {
			pp_y_err(x->err, n, "optional is only for regex steps");
			return PP_EINVAL;
		}
	}
	st->optional = b;
	return PP_OK;
}

static int step_regex(struct ld *x, const struct pp_ynode *n, struct mon_step *st)
{
	struct pp_mon_def *d = x->d;
	uint32_t count = 0, size = 0;
	PCRE2_SPTR table;
	bool any = false;

	if (!(st->re = re_compile(n, "regex", x->err)))
		return PP_EINVAL;
	pcre2_pattern_info(st->re, PCRE2_INFO_CAPTURECOUNT, &st->n_groups);
	pcre2_pattern_info(st->re, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(st->re, PCRE2_INFO_NAMEENTRYSIZE, &size);
	pcre2_pattern_info(st->re, PCRE2_INFO_NAMETABLE, &table);
	st->group_cap = malloc((st->n_groups + 1) * sizeof(int));
	if (!st->group_cap)
		return PP_ENOMEM;
	for (uint32_t i = 0; i <= st->n_groups; i++)
		st->group_cap[i] = -1;
	for (uint32_t i = 0; i < count; i++) {
		const unsigned char *ent = table + i * size;
		unsigned g = (unsigned)(ent[0] << 8 | ent[1]);
		const char *name = (const char *)ent + 2;
		int c = cap_add(d, name, strlen(name));

		if (c < 0) {
			pp_y_err(x->err, n, "regex: more than %d captures", MON_CAPS_MAX);
			return PP_EINVAL;
		}
		if (g <= st->n_groups)
			st->group_cap[g] = c;
		any = true;
	}
	if (!any) {
		pp_y_err(x->err, n, "regex: use named groups (?<name>...) to capture fields");
		return PP_EINVAL;
	}
	if (st->n_groups + 1 > d->max_groups)
		d->max_groups = st->n_groups + 1;
	return PP_OK;
}

/* "10-16", "10" or 10: 1-based, inclusive. */
static int col_range(struct ld *x, const struct pp_ynode *n, struct mon_col *c)
{
	unsigned long a, b;
	char *end;
	const char *s = n->str;

	if (n->type != PP_Y_SCALAR)
		goto bad;
	errno = 0;
	a = strtoul(s, &end, 10);
	if (end == s || errno)
		goto bad;
	b = a;
	if (*end == '-') {
		const char *t = end + 1;

		b = strtoul(t, &end, 10);
		if (end == t || errno)
			goto bad;
	}
	if (*end || a < 1 || b < a || b > MON_RECORD_MAX_LIMIT)
		goto bad;
	c->from = a - 1;
	c->to = b;
	return PP_OK;
bad:
	pp_y_err(x->err, n, "columns: '%s' must be FIRST-LAST (1-based, inclusive) or one column",
		 n->type == PP_Y_SCALAR ? n->str : "?");
	return PP_EINVAL;
}

static int step_columns(struct ld *x, const struct pp_ynode *n, struct mon_step *st)
{
	if (pp_y_expect(n, PP_Y_MAP, "columns", x->err))
		return PP_EINVAL;
	if (!n->n) {
		pp_y_err(x->err, n, "columns: empty");
		return PP_EINVAL;
	}
	st->cols = calloc(n->n, sizeof(*st->cols));
	if (!st->cols)
		return PP_ENOMEM;
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i]->str;
		struct mon_col *c = &st->cols[st->n_cols];

		if (!cap_name_ok(k, strlen(k))) {
			pp_y_err(x->err, n->keys[i], "columns: bad name '%s'", k);
			return PP_EINVAL;
		}
		if (col_range(x, n->vals[i], c))
			return PP_EINVAL;
		if ((c->cap = cap_add(x->d, k, strlen(k))) < 0) {
			pp_y_err(x->err, n->keys[i], "columns: more than %d captures", MON_CAPS_MAX);
			return PP_EINVAL;
		}
		st->n_cols++;
	}
	return PP_OK;
}

static int sep_of(struct ld *x, const struct pp_ynode *map, char def, char *out)
{
	const struct pp_ynode *n = pp_ymap_get(map, "separator");
	const char *s;

	*out = def;
	if (!n)
		return PP_OK;
	if (pp_y_str(n, "separator", &s, x->err))
		return PP_EINVAL;
	if (strlen(s) != 1 || s[0] == '"' || s[0] == '\n' || s[0] == '\r') {
		pp_y_err(x->err, n, "separator must be one character (not a quote or newline)");
		return PP_EINVAL;
	}
	*out = s[0];
	return PP_OK;
}

static int step_csv(struct ld *x, const struct pp_ynode *n, struct mon_step *st)
{
	static const char *const keys[] = { "separator", "fields", NULL };
	const struct pp_ynode *f;

	if (pp_y_check_keys(n, keys, "csv", x->err) || sep_of(x, n, ',', &st->sep))
		return PP_EINVAL;
	f = pp_ymap_get(n, "fields");
	if (!f || f->type != PP_Y_SEQ || !f->n) {
		pp_y_err(x->err, f ? f : n, "csv: fields must be a list of capture names");
		return PP_EINVAL;
	}
	st->csv_cap = calloc(f->n, sizeof(int));
	if (!st->csv_cap)
		return PP_ENOMEM;
	for (size_t i = 0; i < f->n; i++) {
		const char *k;

		if (pp_y_str(f->vals[i], "csv field", &k, x->err))
			return PP_EINVAL;
		if (!*k || !strcmp(k, "-")) {
			st->csv_cap[st->n_csv++] = -1; /* column not kept */
			continue;
		}
		if (!cap_name_ok(k, strlen(k))) {
			pp_y_err(x->err, f->vals[i], "csv: bad name '%s'", k);
			return PP_EINVAL;
		}
		if ((st->csv_cap[st->n_csv++] = cap_add(x->d, k, strlen(k))) < 0) {
			pp_y_err(x->err, f->vals[i], "csv: more than %d captures", MON_CAPS_MAX);
			return PP_EINVAL;
		}
	}
	return PP_OK;
}

static int load_steps(struct ld *x, const struct pp_ynode *e)
{
	static const char *const keys[] = { "regex", "columns", "csv", "keyvalue", "on", "if",
					    "optional", NULL };
	static const char *const kv_keys[] = { "separator", NULL };
	const struct pp_ynode *n = pp_ymap_get(e, "parse");
	struct pp_mon_def *d = x->d;

	if (!n) {
		pp_y_err(x->err, e, "monitor '%s': missing required key 'parse'", d->name);
		return PP_EINVAL;
	}
	if (pp_y_expect(n, PP_Y_SEQ, "parse", x->err))
		return PP_EINVAL;
	if (!n->n || n->n > MON_STEPS_MAX) {
		pp_y_err(x->err, n, "parse: 1 to %d steps", MON_STEPS_MAX);
		return PP_EINVAL;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct pp_ynode *s = n->vals[i], *v;
		struct mon_step *st = &d->steps[d->n_steps];
		int kinds = 0;

		if (pp_y_check_keys(s, keys, "parse step", x->err))
			return PP_EINVAL;
		kinds = !!pp_ymap_get(s, "regex") + !!pp_ymap_get(s, "columns") +
			!!pp_ymap_get(s, "csv") + !!pp_ymap_get(s, "keyvalue");
		if (kinds != 1) {
			pp_y_err(x->err, s, "parse step: exactly one of regex, columns, csv, keyvalue");
			return PP_EINVAL;
		}
		if (input_of(x, s, st))
			return PP_EINVAL;
		d->n_steps++;
		if ((v = pp_ymap_get(s, "regex"))) {
			st->kind = MON_ST_REGEX;
			if (step_regex(x, v, st))
				return PP_EINVAL;
		} else if ((v = pp_ymap_get(s, "columns"))) {
			st->kind = MON_ST_COLUMNS;
			if (step_columns(x, v, st))
				return PP_EINVAL;
		} else if ((v = pp_ymap_get(s, "csv"))) {
			st->kind = MON_ST_CSV;
			if (step_csv(x, v, st))
				return PP_EINVAL;
		} else {
			v = pp_ymap_get(s, "keyvalue");
			st->kind = MON_ST_KV;
			if (v->type == PP_Y_SCALAR && v->plain && !*v->str) {
				st->sep = ':';
			} else if (pp_y_check_keys(v, kv_keys, "keyvalue", x->err) ||
				   sep_of(x, v, ':', &st->sep)) {
				return PP_EINVAL;
			}
			d->any_cap = true;
		}
	}
	return PP_OK;
}

/* ---- record fields, rules, extra ------------------------------------------------ */

static int field_of(const char *s)
{
	for (int f = 0; f < MON_F_N; f++)
		if (!strcmp(pp_mon_field_names[f], s))
			return f;
	return -1;
}

/* Check a time format: %Y %y %m %d %H %I %M %S %p %b %% and literal text. */
static bool time_format_ok(const char *f, char *bad)
{
	for (; *f; f++) {
		if (*f != '%')
			continue;
		f++;
		if (!*f || !strchr("YymdHIMSpb%", *f)) {
			*bad = *f ? *f : '?';
			return false;
		}
	}
	return true;
}

static int load_field(struct ld *x, int f, const struct pp_ynode *v)
{
	static const char *const keys[] = { "value", "map", "format", "end_of_call", NULL };
	struct mon_fieldspec *fs = &x->d->fields[f];
	const struct pp_ynode *n;

	fs->set = true;
	if (v->type == PP_Y_SCALAR)
		return tpl_compile(x, v, pp_mon_field_names[f], tpl_cap, &fs->tpl);
	if (pp_y_check_keys(v, keys, pp_mon_field_names[f], x->err))
		return PP_EINVAL;
	if (!(n = pp_ymap_get(v, "value"))) {
		pp_y_err(x->err, v, "%s: missing required key 'value'", pp_mon_field_names[f]);
		return PP_EINVAL;
	}
	if (tpl_compile(x, n, pp_mon_field_names[f], tpl_cap, &fs->tpl))
		return PP_EINVAL;
	if ((n = pp_ymap_get(v, "map"))) {
		if (pp_y_expect(n, PP_Y_MAP, "map", x->err))
			return PP_EINVAL;
		fs->map.from = calloc(n->n + 1, sizeof(char *));
		fs->map.to = calloc(n->n + 1, sizeof(char *));
		if (!fs->map.from || !fs->map.to)
			return PP_ENOMEM;
		for (size_t i = 0; i < n->n; i++) {
			const char *to;

			if (pp_y_str(n->vals[i], "map value", &to, x->err))
				return PP_EINVAL;
			fs->map.from[i] = strdup(n->keys[i]->str);
			fs->map.to[i] = strdup(to);
			fs->map.n++;
		}
	}
	if ((n = pp_ymap_get(v, "format"))) {
		const char *s;
		char bad = 0;

		if (f != MON_F_START) {
			pp_y_err(x->err, n, "format is only for start");
			return PP_EINVAL;
		}
		if (pp_y_str(n, "format", &s, x->err))
			return PP_EINVAL;
		if (!time_format_ok(s, &bad)) {
			pp_y_err(x->err, n, "format: unknown directive '%%%c' (%%Y %%y %%m %%d %%H "
				 "%%I %%M %%S %%p %%b %%%%)", bad);
			return PP_EINVAL;
		}
		fs->format = strdup(s);
	}
	if ((n = pp_ymap_get(v, "end_of_call"))) {
		if (f != MON_F_START) {
			pp_y_err(x->err, n, "end_of_call is only for start");
			return PP_EINVAL;
		}
		if (pp_y_bool(n, "end_of_call", &fs->end_of_call, x->err))
			return PP_EINVAL;
	}
	return PP_OK;
}

static int load_record(struct ld *x, const struct pp_ynode *e)
{
	const struct pp_ynode *n = pp_ymap_get(e, "record");
	struct pp_mon_def *d = x->d;
	bool any = false;

	if (!n) {
		pp_y_err(x->err, e, "monitor '%s': missing required key 'record'", d->name);
		return PP_EINVAL;
	}
	if (pp_y_expect(n, PP_Y_MAP, "record", x->err))
		return PP_EINVAL;
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i]->str;
		int f = field_of(k);

		if (!strcmp(k, "extra")) {
			const struct pp_ynode *m = n->vals[i];

			if (pp_y_expect(m, PP_Y_MAP, "extra", x->err))
				return PP_EINVAL;
			if (m->n > MON_EXTRA_MAX) {
				pp_y_err(x->err, m, "extra: at most %d values", MON_EXTRA_MAX);
				return PP_EINVAL;
			}
			for (size_t j = 0; j < m->n; j++) {
				if (!cap_name_ok(m->keys[j]->str, strlen(m->keys[j]->str))) {
					pp_y_err(x->err, m->keys[j], "extra: bad name '%s'",
						 m->keys[j]->str);
					return PP_EINVAL;
				}
				d->extra_names[d->n_extra] = strdup(m->keys[j]->str);
				if (tpl_compile(x, m->vals[j], m->keys[j]->str, tpl_cap,
						&d->extra[d->n_extra++]))
					return PP_EINVAL;
			}
			continue;
		}
		if (f < 0) {
			pp_y_err(x->err, n->keys[i], "record: unknown field '%s' (direction, number, "
				 "line, ext, start, duration_s, ring_s, trunk, account, extra)", k);
			return PP_EINVAL;
		}
		if (load_field(x, f, n->vals[i]))
			return PP_EINVAL;
		any = true;
	}
	if (!any) {
		pp_y_err(x->err, n, "record: map at least one field");
		return PP_EINVAL;
	}
	return PP_OK;
}

static int load_rules(struct ld *x, const struct pp_ynode *e)
{
	static const char *const keys[] = { "when", "set", NULL };
	const struct pp_ynode *n = pp_ymap_get(e, "rules");
	struct pp_mon_def *d = x->d;

	if (!n)
		return PP_OK;
	if (pp_y_expect(n, PP_Y_SEQ, "rules", x->err))
		return PP_EINVAL;
	if (n->n > MON_RULES_MAX) {
		pp_y_err(x->err, n, "rules: at most %d", MON_RULES_MAX);
		return PP_EINVAL;
	}
	d->rules = calloc(n->n ? n->n : 1, sizeof(*d->rules));
	if (!d->rules)
		return PP_ENOMEM;
	for (size_t i = 0; i < n->n; i++) {
		const struct pp_ynode *r = n->vals[i], *w, *s;
		struct mon_rule *ru = &d->rules[d->n_rules++];

		if (pp_y_check_keys(r, keys, "rule", x->err))
			return PP_EINVAL;
		w = pp_ymap_get(r, "when");
		s = pp_ymap_get(r, "set");
		if (!s) {
			pp_y_err(x->err, r, "rule: missing required key 'set'");
			return PP_EINVAL;
		}
		if (w) {
			if (pp_y_expect(w, PP_Y_MAP, "when", x->err))
				return PP_EINVAL;
			ru->when = calloc(w->n ? w->n : 1, sizeof(*ru->when));
			if (!ru->when)
				return PP_ENOMEM;
			for (size_t j = 0; j < w->n; j++) {
				const char *k = w->keys[j]->str;
				struct mon_cond *c = &ru->when[ru->n_when];

				c->field = field_of(k);
				c->cap = c->field < 0 ? tpl_cap(x, k, strlen(k)) : -1;
				if (c->field < 0 && c->cap < 0) {
					pp_y_err(x->err, w->keys[j], "when: '%s' is neither a record "
						 "field nor a capture of a parse step", k);
					return PP_EINVAL;
				}
				if (!(c->re = re_compile(w->vals[j], k, x->err)))
					return PP_EINVAL;
				ru->n_when++;
			}
		}
		if (pp_y_expect(s, PP_Y_MAP, "set", x->err))
			return PP_EINVAL;
		for (size_t j = 0; j < s->n; j++) {
			int f = field_of(s->keys[j]->str);

			if (f < 0) {
				pp_y_err(x->err, s->keys[j], "set: unknown field '%s'",
					 s->keys[j]->str);
				return PP_EINVAL;
			}
			ru->has[f] = true;
			if (tpl_compile(x, s->vals[j], s->keys[j]->str, tpl_cap, &ru->set[f]))
				return PP_EINVAL;
		}
	}
	return PP_OK;
}

/* ---- one monitor ------------------------------------------------------------ */

static void def_free(struct pp_mon_def *d)
{
	if (!d)
		return;
	free(d->host);
	free(d->listen_host);
	free(d->listen_text);
	free(d->device);
	for (size_t i = 0; i < d->n_login; i++) {
		tpl_free(&d->login[i].text);
		pcre2_code_free(d->login[i].expect);
		pcre2_code_free(d->login[i].fail);
		free(d->login[i].expect_src);
	}
	for (size_t i = 0; i < d->n_vars; i++) {
		free(d->var_names[i]);
		free(d->var_values[i]);
	}
	free(d->var_names);
	free(d->var_values);
	for (size_t i = 0; i < d->n_ignore; i++)
		pcre2_code_free(d->ignore[i]);
	free(d->ignore);
	pcre2_code_free(d->select);
	for (size_t i = 0; i < d->n_caps; i++)
		free(d->caps[i]);
	for (size_t i = 0; i < d->n_steps; i++) {
		struct mon_step *st = &d->steps[i];

		pcre2_code_free(st->guard);
		pcre2_code_free(st->re);
		free(st->group_cap);
		free(st->cols);
		free(st->csv_cap);
	}
	for (int f = 0; f < MON_F_N; f++) {
		struct mon_fieldspec *fs = &d->fields[f];

		tpl_free(&fs->tpl);
		for (size_t i = 0; i < fs->map.n; i++) {
			free(fs->map.from[i]);
			free(fs->map.to[i]);
		}
		free(fs->map.from);
		free(fs->map.to);
		free(fs->format);
	}
	for (size_t i = 0; i < d->n_rules; i++) {
		for (size_t j = 0; j < d->rules[i].n_when; j++)
			pcre2_code_free(d->rules[i].when[j].re);
		free(d->rules[i].when);
		for (int f = 0; f < MON_F_N; f++)
			tpl_free(&d->rules[i].set[f]);
	}
	free(d->rules);
	for (size_t i = 0; i < d->n_extra; i++) {
		free(d->extra_names[i]);
		tpl_free(&d->extra[i]);
	}
	free(d);
}

struct pp_mon_def *pp_mon_def_ref(struct pp_mon_def *d)
{
	if (d)
		atomic_fetch_add(&d->refs, 1);
	return d;
}

void pp_mon_def_unref(struct pp_mon_def *d)
{
	if (d && atomic_fetch_sub(&d->refs, 1) == 1)
		def_free(d);
}

const char *pp_mon_def_id(const struct pp_mon_def *d)
{
	return d->id;
}

bool pp_mon_def_endpoint(const struct pp_mon_def *d, const char **why)
{
	switch (d->transport) {
	case PP_MON_SERIAL:
		*why = "no device configured";
		return d->device != NULL;
	case PP_MON_TCP:
		*why = !d->host ? "no host configured" : "no port configured";
		return d->host && d->port;
	case PP_MON_TCP_LISTEN:
		*why = "no listen address configured";
		return d->listen_host != NULL;
	}
	return false;
}

static void jit_all(struct pp_mon_def *d)
{
	for (size_t i = 0; i < d->n_steps; i++) {
		if (d->steps[i].re)
			pcre2_jit_compile(d->steps[i].re, PCRE2_JIT_COMPLETE);
		if (d->steps[i].guard)
			pcre2_jit_compile(d->steps[i].guard, PCRE2_JIT_COMPLETE);
	}
	for (size_t i = 0; i < d->n_ignore; i++)
		pcre2_jit_compile(d->ignore[i], PCRE2_JIT_COMPLETE);
	if (d->select)
		pcre2_jit_compile(d->select, PCRE2_JIT_COMPLETE);
	for (size_t i = 0; i < d->n_rules; i++)
		for (size_t j = 0; j < d->rules[i].n_when; j++)
			pcre2_jit_compile(d->rules[i].when[j].re, PCRE2_JIT_COMPLETE);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Hash of a YAML subtree (types, keys, values; not positions or comments). */
static uint64_t hash_node(uint64_t h, const struct pp_ynode *n)
{
	unsigned char t = (unsigned char)n->type;

	h = fnv(h, &t, 1);
	if (n->type == PP_Y_SCALAR)
		return fnv(fnv(h, n->str, n->len), &n->plain, sizeof(n->plain));
	h = fnv(h, &n->n, sizeof(n->n));
	for (size_t i = 0; i < n->n; i++) {
		if (n->type == PP_Y_MAP)
			h = hash_node(h, n->keys[i]);
		h = hash_node(h, n->vals[i]);
	}
	return h;
}

static int load_one(const char *plugin, const struct pp_ynode *e, const json_t *psettings,
		    const char *cfg_path, bool jit, struct pp_mon_def **out, struct pp_err *err)
{
	struct pp_mon_def *d = calloc(1, sizeof(*d));
	struct ld x = { .d = d, .cfg_path = cfg_path, .psettings = psettings, .err = err };
	const struct pp_ynode *n;
	const char *name, *s;
	int rc = PP_EINVAL;

	*out = NULL;
	if (!d || !(x.eff = json_object())) {
		free(d);
		return PP_ENOMEM;
	}
	atomic_init(&d->refs, 1);
	snprintf(d->plugin, sizeof(d->plugin), "%s", plugin);
	if (pp_y_check_keys(e, entry_keys, "monitor", err))
		goto out;
	if (!(n = pp_ymap_get(e, "name"))) {
		pp_y_err(err, e, "monitor: missing required key 'name'");
		goto out;
	}
	if (pp_y_str(n, "name", &name, err))
		goto out;
	if (!valid_name(name)) {
		pp_y_err(err, n, "monitor name '%s' must match [a-z0-9_-]+ (64 characters at most)",
			 name);
		goto out;
	}
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->id, sizeof(d->id), "%s/%s", plugin, name);
	if ((n = pp_ymap_get(e, "description")) && pp_y_str(n, "description", &s, err))
		goto out;
	if (psettings) {
		const json_t *ms = json_object_get(json_object_get(psettings, "monitors"), name);

		if (ms && !json_is_object(ms)) {
			cfg_err(&x, false, "monitors", "%s must be a map", name);
			goto out;
		}
		x.msettings = ms;
	}
	if ((rc = load_settings(&x, e)) || (rc = load_vars(&x, e)) ||
	    (rc = check_monitor_settings(&x)) || (rc = load_login(&x, e)) ||
	    (rc = load_framing(&x, e)) || (rc = load_steps(&x, e)) ||
	    (rc = load_record(&x, e)) || (rc = load_rules(&x, e)))
		goto out;
	{
		char *b = json_dumps(x.eff, JSON_COMPACT | JSON_SORT_KEYS);
		uint64_t h = 14695981039346656037ull;

		h = fnv(h, d->id, strlen(d->id) + 1);
		h = hash_node(h, e);
		if (b)
			h = fnv(h, b, strlen(b));
		d->hash = h;
		free(b);
	}
	{
		const char *why;

		if (jit && d->enabled && pp_mon_def_endpoint(d, &why))
			jit_all(d);
	}
	rc = PP_OK;
out:
	json_decref(x.eff);
	if (rc != PP_OK) {
		if (rc == PP_ENOMEM && !err->msg[0])
			pp_err_set(err, "out of memory");
		def_free(d);
		return rc == PP_ENOMEM ? PP_ENOMEM : PP_EINVAL;
	}
	*out = d;
	return PP_OK;
}

/* ---- the monitors of a plugin ---------------------------------------------- */

int pp_mon_set_load(const char *plugin, const struct pp_ynode *node, const json_t *settings,
		    const char *cfg_path, bool jit, struct pp_mon_set **out, struct pp_err *err)
{
	struct pp_mon_set *s = calloc(1, sizeof(*s));
	const json_t *ms;
	int rc = PP_OK;

	*out = NULL;
	if (!s)
		return PP_ENOMEM;
	if (!json_is_object(settings))
		settings = NULL;
	if (node) {
		if (pp_y_expect(node, PP_Y_SEQ, "monitors", err)) {
			free(s);
			return PP_EINVAL;
		}
		s->v = calloc(node->n ? node->n : 1, sizeof(*s->v));
		if (!s->v) {
			free(s);
			return PP_ENOMEM;
		}
		for (size_t i = 0; rc == PP_OK && i < node->n; i++) {
			rc = load_one(plugin, node->vals[i], settings, cfg_path, jit, &s->v[s->n],
				      err);
			if (rc != PP_OK)
				break;
			for (size_t j = 0; j < s->n; j++)
				if (!strcmp(s->v[j]->name, s->v[s->n]->name)) {
					pp_y_err(err, pp_ymap_get(node->vals[i], "name"),
						 "monitors: duplicate name '%s'", s->v[j]->name);
					rc = PP_EINVAL;
				}
			s->n++;
		}
	}
	/* settings for a monitor that does not exist */
	ms = settings ? json_object_get(settings, "monitors") : NULL;
	if (rc == PP_OK && ms) {
		const char *k;
		json_t *v;

		if (!json_is_object(ms)) {
			pp_err_set(err, "%s: plugins.settings.%s.monitors must be a map",
				   cfg_path ? cfg_path : "config", plugin);
			rc = PP_EINVAL;
		} else {
			json_object_foreach((json_t *)ms, k, v) {
				bool found = false;

				for (size_t j = 0; j < s->n; j++)
					found |= !strcmp(s->v[j]->name, k);
				if (!found) {
					struct pp_mon_def tmp = { 0 };
					struct ld x = { .d = &tmp, .cfg_path = cfg_path, .err = err };

					snprintf(tmp.plugin, sizeof(tmp.plugin), "%s", plugin);
					cfg_err(&x, false, "monitors", "plugin '%s' has no monitor "
						"named '%s'", plugin, k);
					rc = PP_EINVAL;
					break;
				}
			}
		}
	}
	if (rc != PP_OK) {
		pp_mon_set_free(s);
		return rc;
	}
	*out = s;
	return PP_OK;
}

void pp_mon_set_free(struct pp_mon_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		pp_mon_def_unref(s->v[i]);
	free(s->v);
	free(s);
}

size_t pp_mon_set_count(const struct pp_mon_set *s)
{
	return s ? s->n : 0;
}

struct pp_mon_def *pp_mon_set_at(const struct pp_mon_set *s, size_t i)
{
	return s && i < s->n ? s->v[i] : NULL;
}

/* ---- what the runtime reads (plugin.h) ---------------------------------- */

uint64_t pp_mon_def_hash(const struct pp_mon_def *d)
{
	return d->hash;
}

bool pp_mon_def_enabled(const struct pp_mon_def *d)
{
	return d->enabled;
}

void pp_mon_def_conn(const struct pp_mon_def *d, struct pp_mon_conn *out)
{
	*out = (struct pp_mon_conn){
		.transport = d->transport,
		.host = d->host,
		.port = d->port,
		.listen_host = d->listen_host,
		.listen_port = d->listen_port,
		.listen_text = d->listen_text,
		.device = d->device,
		.baud = d->baud,
		.data_bits = d->data_bits,
		.stop_bits = d->stop_bits,
		.parity = d->parity,
		.flow = d->flow,
		.timeout = d->timeout,
		.timeout_decay = d->timeout_decay,
		.max_timeout = d->max_timeout,
		.connect_timeout = d->connect_timeout,
	};
}

size_t pp_mon_login_count(const struct pp_mon_def *d)
{
	return d->n_login;
}

bool pp_mon_login_sends(const struct pp_mon_def *d, size_t i)
{
	return i < d->n_login && d->login[i].send;
}

char *pp_mon_login_send(const struct pp_mon_def *d, size_t i, size_t *len)
{
	const struct mon_login *l;
	struct pp_buf b = { 0 };

	if (i >= d->n_login || !d->login[i].send)
		return NULL;
	l = &d->login[i];
	pp_buf_append(&b, "", 0);
	for (size_t k = 0; k < l->text.n; k++) {
		const struct mon_tpart *p = &l->text.parts[k];

		if (p->cap < 0)
			pp_buf_append(&b, p->lit, p->len);
		else if ((size_t)p->cap < d->n_vars)
			pp_buf_puts(&b, d->var_values[p->cap]);
	}
	return pp_buf_steal(&b, len);
}

static bool login_match(const pcre2_code *re, const char *line, size_t len)
{
	pcre2_match_data *md;
	int rc;

	if (!re || !(md = pcre2_match_data_create(1, NULL)))
		return false;
	rc = pcre2_match(re, (PCRE2_SPTR)line, len, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}

int pp_mon_login_line(const struct pp_mon_def *d, size_t i, const char *line, size_t len)
{
	const struct mon_login *l;

	if (i >= d->n_login || d->login[i].send)
		return 0;
	l = &d->login[i];
	if (login_match(l->fail, line, len))
		return -1;
	return login_match(l->expect, line, len) ? 1 : 0;
}

const char *pp_mon_login_expect(const struct pp_mon_def *d, size_t i)
{
	return i < d->n_login && !d->login[i].send ? d->login[i].expect_src : "";
}
