/* A plugin's `dhcp:` (docs/plugin-format.md, "dhcp"): the classes a DHCP
 * server puts the family's phones in, and what it hands them. Two forms:
 *
 *   dhcp: [ class, ... ]                 classes only (each with its own URL)
 *   dhcp: { boot_url, boot_file,         family settings, the defaults of
 *           vendor_options, classes }    every class
 *
 * A class matches one way: an option-60 prefix (vci_prefix, or
 * vci_prefix_hex for bytes that are not text), optionally naming a model,
 * or MAC-address prefixes (ouis) for phones that send no option 60. */
#include "plugin_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/yamltree.h"

#define VCI_MAX 255 /* an option's length byte */

static const char *const family_keys[] = { "boot_url", "boot_file", "vendor_options", "classes",
					   NULL };
static const char *const class_keys[] = { "name", "vci_prefix", "vci_prefix_hex", "model", "ouis",
					  "boot_file", "boot_url", "vendor_values", NULL };
static const char *const vendor_keys[] = { "space", "options", NULL };
static const char *const vopt_keys[] = { "name", "code", "type", "value", NULL };
static const char *const vopt_required[] = { "name", "code", "type", NULL };
static const char *const vopt_types[] = { "text", "boolean", "uint8", "uint16", "uint32",
					  "ip-address", NULL };

/* Column of byte `off` of a one-line scalar (quotes shift by one). */
static int col_at(const struct pp_ynode *n, size_t off)
{
	return n->col + (n->plain ? 0 : 1) + (int)off;
}

static int str_of(const struct pp_ynode *map, const char *key, const char **out,
		  struct pp_err *err)
{
	const struct pp_ynode *n = pp_ymap_get(map, key);

	*out = NULL;
	return n ? pp_y_str(n, key, out, err) : PP_OK;
}

/* Letters, digits and "-_." (a name safe between ISC quotes and in Kea). */
static bool ident(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (!n || n > max)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

/* Printable ASCII, and only the {{variables}} the generator knows. */
static int check_value(const struct pp_ynode *n, const char *key, struct pp_err *err)
{
	static const char *const vars[] = { "http_host", "http_port", "tftp_host", "tftp_port",
					    NULL };
	const char *s = n->str;

	for (size_t i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f) {
			pp_err_at(err, n->file, n->line, col_at(n, i),
				  "%s: only printable ASCII (byte 0x%02x)", key, (unsigned char)s[i]);
			return PP_EINVAL;
		}
	for (const char *o = strstr(s, "{{"); o; o = strstr(o + 2, "{{")) {
		const char *c = strstr(o + 2, "}}");
		const char *const *v;

		if (!c) {
			pp_err_at(err, n->file, n->line, col_at(n, (size_t)(o - s)),
				  "%s: unterminated '{{'", key);
			return PP_EINVAL;
		}
		for (v = vars; *v && (strlen(*v) != (size_t)(c - o - 2) ||
				      strncmp(*v, o + 2, strlen(*v)) != 0); v++)
			;
		if (!*v) {
			pp_err_at(err, n->file, n->line, col_at(n, (size_t)(o - s)),
				  "%s: unknown variable '%.*s' (http_host, http_port, tftp_host, "
				  "tftp_port)", key, (int)(c - o - 2 > 40 ? 40 : c - o - 2), o + 2);
			return PP_EINVAL;
		}
	}
	return PP_OK;
}

/* An optional URL/file setting: *out NULL when absent, "" when empty. */
static int setting(const struct pp_ynode *map, const char *key, const char **out,
		   struct pp_err *err)
{
	const struct pp_ynode *n = pp_ymap_get(map, key);

	*out = NULL;
	if (!n)
		return PP_OK;
	if (pp_y_str(n, key, out, err))
		return PP_EINVAL;
	return check_value(n, key, err);
}

static bool ip4_valid(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

static bool uint_valid(const char *s, const char *type)
{
	unsigned long long max = !strcmp(type, "uint8") ? 0xff : !strcmp(type, "uint16") ? 0xffff :
				 0xffffffffull;
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	v = strtoull(s, &end, 10);
	return !*end && v <= max;
}

/* A vendor option's value (node vn) for its type. */
static int check_vvalue(const struct pp_ynode *vn, const char *type, struct pp_err *err)
{
	const char *value;

	if (pp_y_str(vn, "value", &value, err) || check_value(vn, "value", err))
		return PP_EINVAL;
	if (strcmp(type, "text") && strstr(value, "{{")) {
		pp_y_err(err, vn, "value: variables only in a text option");
		return PP_EINVAL;
	}
	if (!strcmp(type, "boolean") ? strcmp(value, "true") && strcmp(value, "false") :
	    !strcmp(type, "ip-address") ? !ip4_valid(value) :
	    strncmp(type, "uint", 4) == 0 ? !uint_valid(value, type) : false) {
		pp_y_err(err, vn, "value: '%s' is not a valid %s", value, type);
		return PP_EINVAL;
	}
	return PP_OK;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int load_ouis(struct pp_dhcp_class *c, const struct pp_ynode *n, struct pp_err *err)
{
	if (pp_y_expect(n, PP_Y_SEQ, "ouis", err))
		return PP_EINVAL;
	if (!n->n) {
		pp_y_err(err, n, "ouis: give at least one MAC prefix (\"00:0f:d3\")");
		return PP_EINVAL;
	}
	c->ouis = calloc(n->n, sizeof(*c->ouis));
	if (!c->ouis)
		return PP_ENOMEM;
	for (size_t i = 0; i < n->n; i++) {
		const struct pp_ynode *v = n->vals[i];
		const char *s;
		char *o = c->ouis[c->n_ouis];

		if (pp_y_str(v, "ouis", &s, err))
			return PP_EINVAL;
		/* exactly three bytes, two hex digits each, ':' between */
		if (strlen(s) != 8 || s[2] != ':' || s[5] != ':' || hexval(s[0]) < 0 ||
		    hexval(s[1]) < 0 || hexval(s[3]) < 0 || hexval(s[4]) < 0 || hexval(s[6]) < 0 ||
		    hexval(s[7]) < 0) {
			pp_y_err(err, v, "ouis: '%s' is not a MAC prefix of three bytes such as "
				 "\"00:0f:d3\"", s);
			return PP_EINVAL;
		}
		for (int k = 0; k < 8; k++)
			o[k] = (char)tolower((unsigned char)s[k]);
		o[8] = '\0';
		for (size_t k = 0; k < c->n_ouis; k++)
			if (!strcmp(c->ouis[k], o)) {
				pp_y_err(err, v, "ouis: %s is listed twice", o);
				return PP_EINVAL;
			}
		c->n_ouis++;
	}
	return PP_OK;
}

static int load_vci(struct pp_dhcp_class *c, const struct pp_ynode *text,
		    const struct pp_ynode *hex, struct pp_err *err)
{
	if (text) {
		const char *s;

		if (pp_y_str(text, "vci_prefix", &s, err))
			return PP_EINVAL;
		c->vci_len = strlen(s);
		if (!c->vci_len || c->vci_len > VCI_MAX) {
			pp_y_err(err, text, "vci_prefix: 1 to %d bytes", VCI_MAX);
			return PP_EINVAL;
		}
		for (size_t i = 0; s[i]; i++)
			if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f) {
				pp_err_at(err, text->file, text->line, col_at(text, i),
					  "vci_prefix: only printable ASCII (use vci_prefix_hex "
					  "for other bytes)");
				return PP_EINVAL;
			}
		c->vci_prefix = strdup(s);
		return c->vci_prefix ? PP_OK : PP_ENOMEM;
	}
	{
		const char *s;
		size_t n;

		if (pp_y_str(hex, "vci_prefix_hex", &s, err))
			return PP_EINVAL;
		n = strlen(s);
		if (!n || n % 2 || n / 2 > VCI_MAX) {
			pp_y_err(err, hex, "vci_prefix_hex: an even number of hex digits, 1 to %d "
				 "bytes (\"0000363d\")", VCI_MAX);
			return PP_EINVAL;
		}
		c->vci_prefix = malloc(n / 2 + 1);
		if (!c->vci_prefix)
			return PP_ENOMEM;
		for (size_t i = 0; i < n; i += 2) {
			int hi = hexval(s[i]), lo = hexval(s[i + 1]);

			if (hi < 0 || lo < 0) {
				pp_err_at(err, hex->file, hex->line, col_at(hex, hi < 0 ? i : i + 1),
					  "vci_prefix_hex: '%c' is not a hex digit",
					  hi < 0 ? s[i] : s[i + 1]);
				return PP_EINVAL;
			}
			c->vci_prefix[i / 2] = (char)(hi << 4 | lo);
		}
		c->vci_prefix[n / 2] = '\0';
		c->vci_len = n / 2;
		c->vci_hex = true;
	}
	return PP_OK;
}

/* The class's vendor option values: its vendor_values, else the family's. */
static int vendor_values(const struct pp_plugin *p, struct pp_dhcp_class *c,
			 const struct pp_ynode *n, struct pp_err *err)
{
	const struct pp_dhcp_vendor *v = p->dhcp_vendor;

	if (n && !v) {
		pp_y_err(err, n, "vendor_values: the family declares no vendor_options");
		return PP_EINVAL;
	}
	if (!v)
		return PP_OK;
	if (n && pp_y_expect(n, PP_Y_MAP, "vendor_values", err))
		return PP_EINVAL;
	if (!(c->vendor_values = calloc(v->n_opts, sizeof(char *))))
		return PP_ENOMEM;
	for (size_t i = 0; n && i < n->n; i++) {
		const char *k = n->keys[i]->str, *val;
		size_t o;

		for (o = 0; o < v->n_opts && strcmp(v->opts[o].name, k); o++)
			;
		if (o == v->n_opts) {
			pp_y_err(err, n->keys[i], "vendor_values: '%s' is not an option of "
				 "vendor_options (space %s)", k, v->space);
			return PP_EINVAL;
		}
		if (check_vvalue(n->vals[i], v->opts[o].type, err) ||
		    pp_y_str(n->vals[i], k, &val, err))
			return PP_EINVAL;
		if (!(c->vendor_values[o] = strdup(val)))
			return PP_ENOMEM;
	}
	for (size_t o = 0; o < v->n_opts; o++)
		if (!c->vendor_values[o] && v->opts[o].value &&
		    !(c->vendor_values[o] = strdup(v->opts[o].value)))
			return PP_ENOMEM;
	return PP_OK;
}

static int load_class(struct pp_plugin *p, const struct pp_ynode *n, const char *fam_url,
		      const char *fam_file, struct pp_err *err)
{
	struct pp_dhcp_class *c = &p->dhcp[p->n_dhcp];
	const struct pp_ynode *vt, *vh, *ou, *mn;
	const char *name, *url, *file;
	int rc;

	if (pp_y_expect(n, PP_Y_MAP, "dhcp class", err) ||
	    pp_y_check_keys(n, class_keys, "dhcp class", err))
		return PP_EINVAL;
	if (!pp_ymap_get(n, "name")) {
		pp_y_err(err, n, "dhcp class: missing required key 'name'");
		return PP_EINVAL;
	}
	if (str_of(n, "name", &name, err))
		return PP_EINVAL;
	if (!ident(name, 64) || !strncmp(name, "phoneprov-", 10)) {
		pp_y_err(err, pp_ymap_get(n, "name"), "dhcp class: name '%s' must be 1-64 letters, "
			 "digits, '-', '_' or '.' (and not start with phoneprov-)", name);
		return PP_EINVAL;
	}
	for (size_t i = 0; i < p->n_dhcp; i++)
		if (!strcmp(p->dhcp[i].name, name)) {
			pp_y_err(err, pp_ymap_get(n, "name"), "dhcp class: '%s' is declared twice",
				 name);
			return PP_EINVAL;
		}
	p->n_dhcp++; /* from here on plugin_free frees what c holds */
	if (!(c->name = strdup(name)))
		return PP_ENOMEM;
	vt = pp_ymap_get(n, "vci_prefix");
	vh = pp_ymap_get(n, "vci_prefix_hex");
	ou = pp_ymap_get(n, "ouis");
	if (!!vt + !!vh + !!ou != 1) {
		pp_y_err(err, n, "dhcp class '%s': give exactly one of vci_prefix, vci_prefix_hex "
			 "(option 60) and ouis (MAC prefixes)", name);
		return PP_EINVAL;
	}
	if ((rc = ou ? load_ouis(c, ou, err) : load_vci(c, vt, vh, err)) != PP_OK)
		return rc;
	if ((mn = pp_ymap_get(n, "model"))) {
		const char *m;
		const struct pp_model *pm;

		if (pp_y_str(mn, "model", &m, err))
			return PP_EINVAL;
		if (ou) {
			pp_y_err(err, mn, "model: a class of MAC prefixes names no model (a prefix "
				 "is the whole family's)");
			return PP_EINVAL;
		}
		if (!(pm = pp_plugin_model(p, m))) {
			pp_y_err(err, mn, "model: unknown model '%s' (not in models:)", m);
			return PP_EINVAL;
		}
		if (!(c->model = strdup(pm->name))) /* the canonical name */
			return PP_ENOMEM;
	}
	if ((rc = vendor_values(p, c, pp_ymap_get(n, "vendor_values"), err)) != PP_OK)
		return rc;
	if (setting(n, "boot_url", &url, err) || setting(n, "boot_file", &file, err))
		return PP_EINVAL;
	url = url ? url : fam_url;
	file = file ? file : fam_file;
	if ((url && *url && !(c->boot_url = strdup(url))) ||
	    (file && *file && !(c->boot_file = strdup(file))))
		return PP_ENOMEM;
	return PP_OK;
}

static int load_vendor(struct pp_plugin *p, const struct pp_ynode *n, struct pp_err *err)
{
	struct pp_dhcp_vendor *v;
	const struct pp_ynode *os;
	const char *space;

	if (pp_y_expect(n, PP_Y_MAP, "vendor_options", err) ||
	    pp_y_check_keys(n, vendor_keys, "vendor_options", err))
		return PP_EINVAL;
	if (!pp_ymap_get(n, "space") || !(os = pp_ymap_get(n, "options"))) {
		pp_y_err(err, n, "vendor_options: give space and options");
		return PP_EINVAL;
	}
	if (str_of(n, "space", &space, err))
		return PP_EINVAL;
	if (!ident(space, 32) || strchr(space, '.')) {
		pp_y_err(err, pp_ymap_get(n, "space"), "vendor_options: space '%s' must be 1-32 "
			 "letters, digits, '-' or '_'", space);
		return PP_EINVAL;
	}
	if (pp_y_expect(os, PP_Y_SEQ, "options", err))
		return PP_EINVAL;
	if (!os->n) {
		pp_y_err(err, os, "vendor_options: options: give at least one option");
		return PP_EINVAL;
	}
	if (!(v = p->dhcp_vendor = calloc(1, sizeof(*v))) || !(v->space = strdup(space)) ||
	    !(v->opts = calloc(os->n, sizeof(*v->opts))))
		return PP_ENOMEM;
	for (size_t i = 0; i < os->n; i++) {
		const struct pp_ynode *o = os->vals[i], *vn;
		struct pp_dhcp_vopt *x = &v->opts[v->n_opts];
		const char *name, *type, *value;
		const char *const *t;
		long long code;

		if (pp_y_expect(o, PP_Y_MAP, "vendor option", err) ||
		    pp_y_check_keys(o, vopt_keys, "vendor option", err))
			return PP_EINVAL;
		for (const char *const *k = vopt_required; *k; k++)
			if (!pp_ymap_get(o, *k)) {
				pp_y_err(err, o, "vendor option: missing required key '%s'", *k);
				return PP_EINVAL;
			}
		if (str_of(o, "name", &name, err) || str_of(o, "type", &type, err) ||
		    str_of(o, "value", &value, err) ||
		    pp_y_int(pp_ymap_get(o, "code"), "code", 1, 254, &code, err))
			return PP_EINVAL;
		vn = pp_ymap_get(o, "value");
		if (!ident(name, 64) || strchr(name, '.') || strchr(name, '_')) {
			pp_y_err(err, pp_ymap_get(o, "name"), "vendor option: name '%s' must be "
				 "letters, digits and '-'", name);
			return PP_EINVAL;
		}
		for (t = vopt_types; *t && strcmp(*t, type); t++)
			;
		if (!*t) {
			pp_y_err(err, pp_ymap_get(o, "type"), "vendor option: type must be one of "
				 "text, boolean, uint8, uint16, uint32, ip-address; not '%s'", type);
			return PP_EINVAL;
		}
		if (vn && check_vvalue(vn, type, err))
			return PP_EINVAL;
		for (size_t k = 0; k < v->n_opts; k++)
			if (!strcmp(v->opts[k].name, name) || v->opts[k].code == (unsigned)code) {
				pp_y_err(err, o, "vendor option: name or code already used by '%s'",
					 v->opts[k].name);
				return PP_EINVAL;
			}
		v->n_opts++;
		x->code = (unsigned)code;
		if (!(x->name = strdup(name)) || !(x->type = strdup(type)) ||
		    (value && !(x->value = strdup(value))))
			return PP_ENOMEM;
	}
	return PP_OK;
}

int pp_dhcp_spec_load(struct pp_plugin *p, const struct pp_ynode *n, struct pp_err *err)
{
	const struct pp_ynode *classes = n;
	const char *url = NULL, *file = NULL;
	int rc;

	if (!n)
		return PP_OK;
	if (n->type == PP_Y_MAP) {
		if (pp_y_check_keys(n, family_keys, "dhcp", err))
			return PP_EINVAL;
		if (!(classes = pp_ymap_get(n, "classes"))) {
			pp_y_err(err, n, "dhcp: missing required key 'classes'");
			return PP_EINVAL;
		}
		if (setting(n, "boot_url", &url, err) || setting(n, "boot_file", &file, err))
			return PP_EINVAL;
		if (pp_ymap_get(n, "vendor_options") &&
		    (rc = load_vendor(p, pp_ymap_get(n, "vendor_options"), err)) != PP_OK)
			return rc;
	} else if (n->type != PP_Y_SEQ) {
		pp_y_err(err, n, "dhcp must be a list of classes or a map (boot_url, boot_file, "
			 "vendor_options, classes)");
		return PP_EINVAL;
	}
	if (pp_y_expect(classes, PP_Y_SEQ, "classes", err))
		return PP_EINVAL;
	p->dhcp = calloc(classes->n ? classes->n : 1, sizeof(*p->dhcp));
	if (!p->dhcp)
		return PP_ENOMEM;
	for (size_t i = 0; i < classes->n; i++)
		if ((rc = load_class(p, classes->vals[i], url, file, err)) != PP_OK)
			return rc;
	/* an OUI belongs to one class of the plugin */
	for (size_t i = 0; i < p->n_dhcp; i++)
		for (size_t j = i + 1; j < p->n_dhcp; j++)
			for (size_t a = 0; a < p->dhcp[i].n_ouis; a++)
				for (size_t b = 0; b < p->dhcp[j].n_ouis; b++)
					if (!strcmp(p->dhcp[i].ouis[a], p->dhcp[j].ouis[b])) {
						pp_y_err(err, classes->vals[j], "dhcp class '%s': "
							 "OUI %s is also in class '%s'",
							 p->dhcp[j].name, p->dhcp[j].ouis[b],
							 p->dhcp[i].name);
						return PP_EINVAL;
					}
	return PP_OK;
}

void pp_dhcp_spec_free(struct pp_plugin *p)
{
	for (size_t i = 0; i < p->n_dhcp; i++) {
		free(p->dhcp[i].name);
		free(p->dhcp[i].vci_prefix);
		free(p->dhcp[i].model);
		free(p->dhcp[i].ouis);
		free(p->dhcp[i].boot_file);
		free(p->dhcp[i].boot_url);
		for (size_t k = 0; p->dhcp[i].vendor_values && k < p->dhcp_vendor->n_opts; k++)
			free(p->dhcp[i].vendor_values[k]);
		free(p->dhcp[i].vendor_values);
	}
	free(p->dhcp);
	p->dhcp = NULL;
	p->n_dhcp = 0;
	if (p->dhcp_vendor) {
		for (size_t i = 0; i < p->dhcp_vendor->n_opts; i++) {
			free(p->dhcp_vendor->opts[i].name);
			free(p->dhcp_vendor->opts[i].type);
			free(p->dhcp_vendor->opts[i].value);
		}
		free(p->dhcp_vendor->opts);
		free(p->dhcp_vendor->space);
		free(p->dhcp_vendor);
		p->dhcp_vendor = NULL;
	}
}
