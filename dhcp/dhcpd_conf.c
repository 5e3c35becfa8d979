/* dhcpd configuration generated from the enabled plugins' `dhcp:` classes:
 * ISC dhcpd (classes matching an option-60 prefix + pool lines) or Kea
 * DHCPv4 (client-classes JSON). Output is deterministic: classes sorted by
 * name, then plugin. See docs/dhcp.md. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <jansson.h>
#include "dhcp.h"
#include "../daemon/config.h"
#include "../daemon/registry/registry.h"

/* Option carrying the provisioning URL besides option 66 (Polycom reads 160
 * first; other phones ignore it). */
#define URL_OPT_CODE 160
#define URL_OPT_NAME "pp-provisioning-url"
#define ALL_CLASS "phoneprov-phones"

struct cls {
	const char *plugin;
	const struct pp_dhcp_class *c;
	char *boot_file; /* variables expanded, NULL when none */
	char *boot_url;
};

struct ctx {
	char tftp_host[64];
	char http_host[80]; /* bracketed when IPv6 */
	unsigned tftp_port, http_port;
	const char *note;   /* where the addresses came from, for the header */
	struct cls *v;
	size_t n;
};

static int is_ipv4(const char *s)
{
	struct in_addr a;

	return s && inet_pton(AF_INET, s, &a) == 1;
}

static int is_unspecified(const char *s)
{
	return !s || !*s || !strcmp(s, "0.0.0.0") || !strcmp(s, "::") || !strcmp(s, "*");
}

/* First IPv4 address of an interface that is up and not loopback. */
static int host_ipv4(char *out, size_t n)
{
	struct ifaddrs *ifa, *i;
	int found = 0;

	if (getifaddrs(&ifa) != 0)
		return 0;
	for (i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		found = inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out,
				  (socklen_t)n) != NULL;
	}
	freeifaddrs(ifa);
	return found;
}

static int resolve_hosts(struct ctx *x, const struct pp_config *cfg, const struct pp_dhcpd_opts *o,
			 struct pp_err *err)
{
	const char *t = o && o->tftp_server ? o->tftp_server : cfg->tftp.listen.host;
	const char *h = o && o->http_host ? o->http_host : cfg->http.listen.host;

	x->note = "from tftp.listen and http.listen";
	if (o && o->tftp_server && !is_ipv4(o->tftp_server)) {
		pp_err_set(err, "--tftp-server %s: not an IPv4 address", o->tftp_server);
		return PP_EINVAL;
	}
	if (is_unspecified(t) || !is_ipv4(t)) {
		/* wildcard or IPv6 listener: DHCPv4 needs an IPv4 address phones reach */
		if (!host_ipv4(x->tftp_host, sizeof(x->tftp_host)))
			snprintf(x->tftp_host, sizeof(x->tftp_host), "127.0.0.1");
		x->note = "wildcard listener: first address of this host; override with --tftp-server";
	} else {
		snprintf(x->tftp_host, sizeof(x->tftp_host), "%s", t);
	}
	if (is_unspecified(h)) {
		snprintf(x->http_host, sizeof(x->http_host), "%s", x->tftp_host);
	} else if (strchr(h, ':') && h[0] != '[') {
		snprintf(x->http_host, sizeof(x->http_host), "[%s]", h);
	} else {
		for (const char *p = h; *p; p++)
			if (*p <= ' ' || *p == '"' || *p == '\\' || *p == '/' || *p == '\'') {
				pp_err_set(err, "http host '%s': invalid character", h);
				return PP_EINVAL;
			}
		snprintf(x->http_host, sizeof(x->http_host), "%s", h);
	}
	x->http_port = o && o->http_port ? o->http_port : cfg->http.listen.port;
	x->tftp_port = cfg->tftp.listen.port;
	return PP_OK;
}

/* Expand {{http_host}} {{http_port}} {{tftp_host}} {{tftp_port}} in s. */
static int expand(const struct ctx *x, const char *s, char **out, struct pp_err *err,
		  const char *where)
{
	struct pp_buf b = { 0 };

	*out = NULL;
	if (!s || !*s)
		return PP_OK;
	while (*s) {
		const char *open = strstr(s, "{{"), *close;
		char name[32];
		size_t n;

		if (!open) {
			pp_buf_puts(&b, s);
			break;
		}
		pp_buf_append(&b, s, (size_t)(open - s));
		close = strstr(open, "}}");
		n = close ? (size_t)(close - open - 2) : 0;
		if (!close || n >= sizeof(name)) {
			pp_err_set(err, "%s: unterminated {{ in '%s'", where, s);
			pp_buf_free(&b);
			return PP_EINVAL;
		}
		memcpy(name, open + 2, n);
		name[n] = '\0';
		if (!strcmp(name, "http_host") || !strcmp(name, "tftp_host"))
			pp_buf_puts(&b, name[0] == 'h' ? x->http_host : x->tftp_host);
		else if (!strcmp(name, "http_port") || !strcmp(name, "tftp_port"))
			pp_buf_printf(&b, "%u", name[0] == 'h' ? x->http_port : x->tftp_port);
		else {
			pp_err_set(err, "%s: unknown variable {{%s}} (known: http_host http_port "
				   "tftp_host tftp_port)", where, name);
			pp_buf_free(&b);
			return PP_EINVAL;
		}
		s = close + 2;
	}
	if (!b.data) {
		pp_err_set(err, "%s: out of memory", where);
		return PP_ENOMEM;
	}
	*out = b.data;
	return PP_OK;
}

/* Text that goes between double quotes (ISC) or into JSON: printable ASCII. */
static int check_text(const char *s, const char *what, const char *plugin, struct pp_err *err)
{
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
		if (*p < 0x20 || *p >= 0x7f) {
			pp_err_set(err, "plugin %s: dhcp class %s: non-printable byte", plugin, what);
			return PP_EINVAL;
		}
	return PP_OK;
}

static int cls_cmp(const void *a, const void *b)
{
	const struct cls *x = a, *y = b;
	int r = strcmp(x->c->name, y->c->name);

	return r ? r : strcmp(x->plugin, y->plugin);
}

static void free_classes(struct ctx *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->v[i].boot_file);
		free(x->v[i].boot_url);
	}
	free(x->v);
	x->v = NULL;
	x->n = 0;
}

static int collect(struct ctx *x, const struct pp_registry *reg, struct pp_err *err)
{
	size_t np = reg ? pp_registry_count(reg) : 0, total = 0, k = 0;

	for (size_t i = 0; i < np; i++)
		total += pp_registry_at(reg, i)->n_dhcp;
	x->v = calloc(total ? total : 1, sizeof(*x->v));
	if (!x->v) {
		pp_err_set(err, "out of memory");
		return PP_ENOMEM;
	}
	for (size_t i = 0; i < np; i++) {
		const struct pp_plugin *p = pp_registry_at(reg, i);

		for (size_t j = 0; j < p->n_dhcp; j++) {
			const struct pp_dhcp_class *c = &p->dhcp[j];
			struct cls *e = &x->v[k];
			char where[256];
			int rc;

			if (!c->name || !*c->name || !c->vci_prefix || !*c->vci_prefix)
				continue;
			if (strlen(c->vci_prefix) > 255) {
				pp_err_set(err, "plugin %s: dhcp class %s: vci_prefix longer than 255",
					   p->name, c->name);
				return PP_EINVAL;
			}
			if (check_text(c->name, c->name, p->name, err) ||
			    check_text(c->vci_prefix, c->name, p->name, err) ||
			    check_text(c->boot_file, c->name, p->name, err) ||
			    check_text(c->boot_url, c->name, p->name, err))
				return PP_EINVAL;
			e->plugin = p->name;
			e->c = c;
			x->n = ++k;
			snprintf(where, sizeof(where), "plugin %s: dhcp class %s: boot_file", p->name,
				 c->name);
			rc = expand(x, c->boot_file, &e->boot_file, err, where);
			if (rc == PP_OK) {
				snprintf(where, sizeof(where), "plugin %s: dhcp class %s: boot_url",
					 p->name, c->name);
				rc = expand(x, c->boot_url, &e->boot_url, err, where);
			}
			if (rc != PP_OK)
				return rc;
		}
	}
	qsort(x->v, x->n, sizeof(*x->v), cls_cmp);
	for (size_t i = 1; i < x->n; i++)
		if (!strcmp(x->v[i].c->name, x->v[i - 1].c->name)) {
			pp_err_set(err, "dhcp class %s is defined by plugins %s and %s",
				   x->v[i].c->name, x->v[i - 1].plugin, x->v[i].plugin);
			return PP_EINVAL;
		}
	return PP_OK;
}

/* ISC quoted string. */
static void isc_q(struct pp_buf *b, const char *s)
{
	pp_buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			pp_buf_putc(b, '\\');
		pp_buf_putc(b, *s);
	}
	pp_buf_putc(b, '"');
}

struct subnet {
	uint32_t net, mask, lo, hi, router;
	int prefix;
	bool have_router;
};

static int parse_ip4(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

static const char *ip4_str(uint32_t v, char *buf)
{
	struct in_addr a = { .s_addr = htonl(v) };

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static int parse_subnet(const struct pp_dhcpd_opts *o, struct subnet *sn, struct pp_err *err)
{
	char net[64], *slash, *end;
	long prefix;
	uint32_t bcast;

	memset(sn, 0, sizeof(*sn));
	snprintf(net, sizeof(net), "%s", o->subnet);
	slash = strchr(net, '/');
	if (!slash) {
		pp_err_set(err, "--subnet %s: expected ADDRESS/PREFIX, e.g. 192.0.2.0/24", o->subnet);
		return PP_EINVAL;
	}
	*slash = '\0';
	prefix = strtol(slash + 1, &end, 10);
	if (*end || end == slash + 1 || prefix < 8 || prefix > 30 || parse_ip4(net, &sn->net)) {
		pp_err_set(err, "--subnet %s: expected ADDRESS/PREFIX with PREFIX 8..30", o->subnet);
		return PP_EINVAL;
	}
	sn->prefix = (int)prefix;
	sn->mask = 0xffffffffu << (32 - prefix);
	if (sn->net & ~sn->mask) {
		pp_err_set(err, "--subnet %s: host bits set", o->subnet);
		return PP_EINVAL;
	}
	bcast = sn->net | ~sn->mask;
	if (o->router) {
		if (parse_ip4(o->router, &sn->router) || (sn->router & sn->mask) != sn->net) {
			pp_err_set(err, "--router %s: not an address inside %s", o->router, o->subnet);
			return PP_EINVAL;
		}
		sn->have_router = true;
	}
	if (o->range_lo || o->range_hi) {
		if (parse_ip4(o->range_lo, &sn->lo) || parse_ip4(o->range_hi, &sn->hi) ||
		    (sn->lo & sn->mask) != sn->net || (sn->hi & sn->mask) != sn->net ||
		    sn->lo > sn->hi || sn->lo == sn->net || sn->hi == bcast) {
			pp_err_set(err, "--range %s-%s: not a range of host addresses inside %s",
				   o->range_lo ? o->range_lo : "?", o->range_hi ? o->range_hi : "?",
				   o->subnet);
			return PP_EINVAL;
		}
	} else {
		/* default: the upper half of the subnet */
		sn->lo = sn->net + ((~sn->mask + 1) / 2);
		sn->hi = bcast - 1;
	}
	return PP_OK;
}

static void isc_class(struct pp_buf *b, const struct ctx *x, const struct cls *e)
{
	pp_buf_puts(b, "class ");
	isc_q(b, e->c->name);
	pp_buf_printf(b, " {\n\t# plugin %s\n", e->plugin);
	pp_buf_printf(b, "\tmatch if substring(option vendor-class-identifier, 0, %zu) = ",
		      strlen(e->c->vci_prefix));
	isc_q(b, e->c->vci_prefix);
	pp_buf_puts(b, ";\n");
	if (e->boot_file) {
		pp_buf_printf(b, "\tnext-server %s;\n\tfilename ", x->tftp_host);
		isc_q(b, e->boot_file);
		pp_buf_puts(b, ";\n");
	}
	pp_buf_puts(b, "\toption tftp-server-name ");
	isc_q(b, e->boot_url ? e->boot_url : x->tftp_host);
	pp_buf_puts(b, ";\n");
	if (e->boot_url) {
		pp_buf_puts(b, "\toption " URL_OPT_NAME " ");
		isc_q(b, e->boot_url);
		pp_buf_puts(b, ";\n");
	}
	pp_buf_puts(b, "}\n\n");
}

static void isc_pool(struct pp_buf *b, const struct ctx *x, const struct subnet *sn,
		     const char *pfx)
{
	char a[INET_ADDRSTRLEN], c[INET_ADDRSTRLEN];

	pp_buf_printf(b, "%spool {\n", pfx);
	for (size_t i = 0; i < x->n; i++) {
		pp_buf_printf(b, "%s\tallow members of ", pfx);
		isc_q(b, x->v[i].c->name);
		pp_buf_puts(b, ";\n");
	}
	if (sn)
		pp_buf_printf(b, "%s\trange %s %s;\n", pfx, ip4_str(sn->lo, a), ip4_str(sn->hi, c));
	else
		pp_buf_printf(b, "%s\trange 192.0.2.100 192.0.2.199;\n", pfx);
	pp_buf_printf(b, "%s}\n", pfx);
}

static int gen_isc(const struct ctx *x, const struct pp_dhcpd_opts *o, struct pp_buf *b,
		   struct pp_err *err)
{
	struct subnet sn;
	char a[INET_ADDRSTRLEN], c[INET_ADDRSTRLEN];
	bool any_url = false;

	if (o && o->subnet && parse_subnet(o, &sn, err) != PP_OK)
		return PP_EINVAL;
	pp_buf_puts(b, "# ISC dhcpd configuration generated by phoneprov from the enabled plugins'\n"
		       "# dhcp classes: one class per phone family, matched on the option-60 prefix.\n");
	pp_buf_printf(b, "# TFTP server %s, HTTP server %s:%u (%s).\n\n", x->tftp_host, x->http_host,
		      x->http_port, x->note);
	for (size_t i = 0; i < x->n; i++)
		any_url |= x->v[i].boot_url != NULL;
	if (any_url)
		pp_buf_printf(b, "# provisioning URL option read by some phones (e.g. Polycom) before 66\n"
			      "option " URL_OPT_NAME " code %d = text;\n\n", URL_OPT_CODE);
	if (!x->n)
		pp_buf_puts(b, "# (no enabled plugin declares a dhcp class)\n\n");
	for (size_t i = 0; i < x->n; i++)
		isc_class(b, x, &x->v[i]);
	if (!x->n)
		return PP_OK;
	if (!(o && o->subnet)) {
		pp_buf_puts(b, "# Paste inside the subnet that serves the phones (adjust the range):\n");
		pp_buf_puts(b, "#\n");
		{
			struct pp_buf tmp = { 0 };
			char *line, *save = NULL;

			isc_pool(&tmp, x, NULL, "");
			for (line = strtok_r(tmp.data, "\n", &save); line;
			     line = strtok_r(NULL, "\n", &save))
				pp_buf_printf(b, "#   %s\n", line);
			pp_buf_free(&tmp);
		}
		return PP_OK;
	}
	pp_buf_printf(b, "subnet %s netmask %s {\n", ip4_str(sn.net, a), ip4_str(sn.mask, c));
	if (sn.have_router)
		pp_buf_printf(b, "\toption routers %s;\n", ip4_str(sn.router, a));
	isc_pool(b, x, &sn, "\t");
	pp_buf_puts(b, "}\n");
	return PP_OK;
}

/* Kea string literal in an expression: quoted when plain, else hex. */
static void kea_lit(struct pp_buf *b, const char *s)
{
	bool plain = true;

	for (const char *p = s; *p; p++)
		if (*p == '\'' || *p == '\\')
			plain = false;
	if (plain) {
		pp_buf_printf(b, "'%s'", s);
		return;
	}
	pp_buf_puts(b, "0x");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		pp_buf_printf(b, "%02x", *p);
}

/* Kea csv-format string data: a comma separates fields, so escape it. */
static json_t *kea_data(const char *s)
{
	struct pp_buf b = { 0 };
	json_t *j;

	for (; *s; s++) {
		if (*s == ',')
			pp_buf_putc(&b, '\\');
		pp_buf_putc(&b, *s);
	}
	j = json_string(b.data ? b.data : "");
	pp_buf_free(&b);
	return j;
}

static json_t *kea_class(const struct ctx *x, const struct cls *e)
{
	json_t *c = json_object(), *od = json_array(), *opt;
	struct pp_buf t = { 0 };

	json_object_set_new(c, "name", json_string(e->c->name));
	pp_buf_printf(&t, "substring(option[60].hex,0,%zu) == ", strlen(e->c->vci_prefix));
	kea_lit(&t, e->c->vci_prefix);
	json_object_set_new(c, "test", json_string(t.data));
	pp_buf_free(&t);
	json_object_set_new(c, "comment", json_sprintf("plugin %s", e->plugin));
	if (e->boot_file) {
		json_object_set_new(c, "next-server", json_string(x->tftp_host));
		json_object_set_new(c, "boot-file-name", json_string(e->boot_file));
	}
	opt = json_object();
	json_object_set_new(opt, "name", json_string("tftp-server-name"));
	json_object_set_new(opt, "data", kea_data(e->boot_url ? e->boot_url : x->tftp_host));
	json_array_append_new(od, opt);
	if (e->boot_url) {
		opt = json_object();
		json_object_set_new(opt, "name", json_string(URL_OPT_NAME));
		json_object_set_new(opt, "data", kea_data(e->boot_url));
		json_array_append_new(od, opt);
	}
	json_object_set_new(c, "option-data", od);
	return c;
}

static int gen_kea(const struct ctx *x, const struct pp_dhcpd_opts *o, struct pp_buf *b,
		   struct pp_err *err)
{
	json_t *root = json_object(), *d4 = json_object(), *classes = json_array();
	struct subnet sn;
	bool any_url = false;
	char *txt;

	if (o && o->subnet && parse_subnet(o, &sn, err) != PP_OK) {
		json_decref(root);
		json_decref(d4);
		json_decref(classes);
		return PP_EINVAL;
	}
	json_object_set_new(root, "Dhcp4", d4);
	for (size_t i = 0; i < x->n; i++)
		any_url |= x->v[i].boot_url != NULL;
	if (any_url) {
		json_t *defs = json_array(), *def = json_object();

		json_object_set_new(def, "name", json_string(URL_OPT_NAME));
		json_object_set_new(def, "code", json_integer(URL_OPT_CODE));
		json_object_set_new(def, "space", json_string("dhcp4"));
		json_object_set_new(def, "type", json_string("string"));
		json_array_append_new(defs, def);
		json_object_set_new(d4, "option-def", defs);
	}
	for (size_t i = 0; i < x->n; i++)
		json_array_append_new(classes, kea_class(x, &x->v[i]));
	if (x->n) {
		/* one class that is any phone: what a pool can be restricted to */
		json_t *all = json_object();
		struct pp_buf t = { 0 };

		for (size_t i = 0; i < x->n; i++) {
			pp_buf_puts(&t, i ? " or member(" : "member(");
			kea_lit(&t, x->v[i].c->name);
			pp_buf_putc(&t, ')');
		}
		json_object_set_new(all, "name", json_string(ALL_CLASS));
		json_object_set_new(all, "test", json_string(t.data));
		json_object_set_new(all, "comment",
				    json_string("any phone of the classes above: restrict a pool "
						"to it with \"client-class\""));
		pp_buf_free(&t);
		json_array_append_new(classes, all);
	}
	json_object_set_new(d4, "client-classes", classes);
	if (o && o->subnet) {
		json_t *sub = json_object(), *pools = json_array(), *pool = json_object();
		char a[INET_ADDRSTRLEN], c[INET_ADDRSTRLEN], range[64], cidr[40];

		snprintf(range, sizeof(range), "%s - %s", ip4_str(sn.lo, a), ip4_str(sn.hi, c));
		snprintf(cidr, sizeof(cidr), "%s/%d", ip4_str(sn.net, a), sn.prefix);
		json_object_set_new(pool, "pool", json_string(range));
		if (x->n)
			json_object_set_new(pool, "client-class", json_string(ALL_CLASS));
		json_array_append_new(pools, pool);
		json_object_set_new(sub, "id", json_integer(1));
		json_object_set_new(sub, "subnet", json_string(cidr));
		json_object_set_new(sub, "pools", pools);
		if (sn.have_router) {
			json_t *od = json_array(), *r = json_object();

			json_object_set_new(r, "name", json_string("routers"));
			json_object_set_new(r, "data", json_string(ip4_str(sn.router, a)));
			json_array_append_new(od, r);
			json_object_set_new(sub, "option-data", od);
		}
		json_object_set_new(d4, "subnet4", json_pack("[o]", sub));
	}
	txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!txt) {
		pp_err_set(err, "out of memory");
		return PP_ENOMEM;
	}
	pp_buf_puts(b, txt);
	pp_buf_putc(b, '\n');
	free(txt);
	return PP_OK;
}

int pp_dhcpd_conf_ex(const struct pp_registry *reg, const struct pp_config *cfg,
		     enum pp_dhcpd_format fmt, const struct pp_dhcpd_opts *o, struct pp_buf *out,
		     struct pp_err *err)
{
	struct ctx x;
	int rc;

	memset(&x, 0, sizeof(x));
	rc = resolve_hosts(&x, cfg, o, err);
	if (rc == PP_OK)
		rc = collect(&x, reg, err);
	if (rc == PP_OK)
		rc = fmt == PP_DHCPD_KEA ? gen_kea(&x, o, out, err) : gen_isc(&x, o, out, err);
	free_classes(&x);
	if (rc == PP_OK && !out->data) {
		pp_err_set(err, "out of memory");
		rc = PP_ENOMEM;
	}
	return rc;
}

int pp_dhcpd_conf(const struct pp_registry *reg, const struct pp_config *cfg,
		  enum pp_dhcpd_format fmt, struct pp_buf *out, struct pp_err *err)
{
	return pp_dhcpd_conf_ex(reg, cfg, fmt, NULL, out, err);
}
