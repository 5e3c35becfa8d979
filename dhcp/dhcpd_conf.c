/* dhcpd configuration generated from the enabled plugins' `dhcp:` (see
 * docs/dhcp.md), in the shape provd sites run:
 *
 * - ISC dhcpd: per family a `group` setting what the phones get (option 66,
 *   option 160, a boot file, vendor options such as Aastra's option 43)
 *   around one class per option-60 prefix (per model where the plugin knows
 *   the model's prefix), each logging "[<mac>] BOOT <Vendor> <Model>"; MAC
 *   prefix (OUI) subclasses of one spawning class for phones that send no
 *   option 60; the pool's `allow members of` list.
 * - Kea DHCPv4: the same classes as client-classes with their option-data,
 *   and a class any phone is a member of, to restrict a pool to.
 *
 * A phone whose option 60 starts with two prefixes (digium / digium_D40)
 * belongs to the longer one only: each class excludes the longer prefixes
 * that extend its own. Output is deterministic: plugins in registry order,
 * classes in plugin.yml order. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <jansson.h>
#include "dhcp.h"
#include "daemon/config/config.h"
#include "daemon/plugin/plugin.h"

/* Option carrying the provisioning URL besides option 66 (Polycom reads 160
 * first; other phones ignore it). */
#define URL_OPT_CODE 160
#define URL_OPT_NAME "pp-provisioning-url"
#define ALL_CLASS "phoneprov-phones"
#define OUI_CLASS "phoneprov-oui"

struct cls {
	const struct pp_plugin *p;
	const struct pp_dhcp_class *c;
	char *boot_file;   /* variables expanded, NULL when none */
	char *boot_url;
	char **vvals;      /* vendor option values expanded (NULL = not sent) */
	size_t group;      /* index of its group (same plugin, same settings) */
	size_t *longer;    /* option-60 classes whose prefix extends this one */
	size_t n_longer;
};

struct ctx {
	char tftp_host[64];
	char http_host[80]; /* bracketed when IPv6 */
	unsigned tftp_port, http_port;
	const char *note;   /* where the addresses came from, for the header */
	struct cls *v;
	size_t n;
	size_t n_groups;
	const struct pp_plugin **vend; /* plugins with vendor options */
	size_t n_vend;
	size_t n_vci, n_oui; /* classes of each kind */
	size_t n_ouis;       /* MAC prefixes (subclasses) */
	bool any_url;
	const char *url_key; /* provisioning.url_key: first segment of HTTP boot URLs */
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
	x->url_key = cfg->provisioning.url_key;
	return PP_OK;
}

/* With a provisioning key, an http(s) boot URL gets it as the first path
 * segment ("http://H:P/" -> "http://H:P/KEY/"): the phone's first request
 * must carry it like every later one. */
static int add_url_key(const struct ctx *x, char **url)
{
	const char *p = *url ? strstr(*url, "://") : NULL, *slash;
	char *n;
	size_t at, k;

	if (!p || !x->url_key || !x->url_key[0] || strncmp(*url, "http", 4) != 0)
		return PP_OK;
	slash = strchr(p + 3, '/');
	at = slash ? (size_t)(slash - *url) + 1 : strlen(*url);
	k = strlen(x->url_key);
	n = malloc(strlen(*url) + k + 3);
	if (!n)
		return PP_ENOMEM;
	sprintf(n, "%.*s%s%s/%s", (int)at, *url, slash ? "" : "/", x->url_key, *url + at);
	free(*url);
	*url = n;
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

static void free_ctx(struct ctx *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->v[i].boot_file);
		free(x->v[i].boot_url);
		free(x->v[i].longer);
		for (size_t k = 0; x->v[i].vvals && k < x->v[i].p->dhcp_vendor->n_opts; k++)
			free(x->v[i].vvals[k]);
		free(x->v[i].vvals);
	}
	free(x->v);
	free(x->vend);
	memset(x, 0, sizeof(*x));
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Same settings: the same URL, boot file and vendor option values. */
static bool same_settings(const struct cls *a, const struct cls *b)
{
	if (!same(a->boot_url, b->boot_url) || !same(a->boot_file, b->boot_file))
		return false;
	for (size_t k = 0; a->vvals && k < a->p->dhcp_vendor->n_opts; k++)
		if (!same(a->vvals[k], b->vvals[k]))
			return false;
	return true;
}

/* Does the class send a vendor option? */
static bool any_vendor(const struct cls *e)
{
	for (size_t k = 0; e->vvals && k < e->p->dhcp_vendor->n_opts; k++)
		if (e->vvals[k])
			return true;
	return false;
}

/* Does class a's option-60 prefix start class b's (and is shorter)? */
static bool extends(const struct pp_dhcp_class *a, const struct pp_dhcp_class *b)
{
	return a->vci_prefix && b->vci_prefix && b->vci_len > a->vci_len &&
	       memcmp(a->vci_prefix, b->vci_prefix, a->vci_len) == 0;
}

static int collect(struct ctx *x, const struct pp_registry *reg, struct pp_err *err)
{
	size_t np = reg ? pp_registry_count(reg) : 0, total = 0;

	for (size_t i = 0; i < np; i++)
		total += pp_registry_at(reg, i)->n_dhcp;
	x->v = calloc(total ? total : 1, sizeof(*x->v));
	x->vend = calloc(np ? np : 1, sizeof(*x->vend));
	if (!x->v || !x->vend) {
		pp_err_set(err, "out of memory");
		return PP_ENOMEM;
	}
	for (size_t i = 0; i < np; i++) {
		const struct pp_plugin *p = pp_registry_at(reg, i);
		const struct pp_dhcp_vendor *vo = p->dhcp_vendor;
		size_t first = x->n;

		if (vo && p->n_dhcp)
			x->vend[x->n_vend++] = p;
		for (size_t j = 0; j < p->n_dhcp; j++) {
			const struct pp_dhcp_class *c = &p->dhcp[j];
			struct cls *e = &x->v[x->n];
			char where[256];
			int rc;

			if (!c->name || (!c->vci_prefix && !c->n_ouis))
				continue;
			if (check_text(c->name, c->name, p->name, err) ||
			    (!c->vci_hex && check_text(c->vci_prefix, c->name, p->name, err)) ||
			    check_text(c->boot_file, c->name, p->name, err) ||
			    check_text(c->boot_url, c->name, p->name, err))
				return PP_EINVAL;
			e->p = p;
			e->c = c;
			x->n++;
			snprintf(where, sizeof(where), "plugin %s: dhcp class %s: boot_file", p->name,
				 c->name);
			rc = expand(x, c->boot_file, &e->boot_file, err, where);
			if (rc == PP_OK) {
				snprintf(where, sizeof(where), "plugin %s: dhcp class %s: boot_url",
					 p->name, c->name);
				rc = expand(x, c->boot_url, &e->boot_url, err, where);
				if (rc == PP_OK && add_url_key(x, &e->boot_url) != PP_OK) {
					pp_err_set(err, "out of memory");
					rc = PP_ENOMEM;
				}
			}
			if (rc != PP_OK)
				return rc;
			if (vo && !(e->vvals = calloc(vo->n_opts, sizeof(char *)))) {
				pp_err_set(err, "out of memory");
				return PP_ENOMEM;
			}
			for (size_t k = 0; vo && k < vo->n_opts; k++) {
				snprintf(where, sizeof(where), "plugin %s: dhcp class %s: vendor "
					 "option %s", p->name, c->name, vo->opts[k].name);
				if (c->vendor_values && c->vendor_values[k] &&
				    (rc = expand(x, c->vendor_values[k], &e->vvals[k], err, where)))
					return rc;
			}
			x->any_url |= e->boot_url != NULL;
			*(c->vci_prefix ? &x->n_vci : &x->n_oui) += 1;
			x->n_ouis += c->n_ouis;
			/* its group: the first earlier class of the plugin with its settings */
			e->group = x->n_groups;
			for (size_t k = first; k + 1 < x->n; k++)
				if (same_settings(&x->v[k], e)) {
					e->group = x->v[k].group;
					break;
				}
			if (e->group == x->n_groups)
				x->n_groups++;
		}
	}
	/* names, option-60 prefixes and OUIs each belong to one class */
	for (size_t i = 0; i < x->n; i++)
		for (size_t j = i + 1; j < x->n; j++) {
			const struct pp_dhcp_class *a = x->v[i].c, *b = x->v[j].c;

			if (!strcmp(a->name, b->name)) {
				pp_err_set(err, "dhcp class %s is defined by plugins %s and %s", a->name,
					   x->v[i].p->name, x->v[j].p->name);
				return PP_EINVAL;
			}
			if (a->vci_prefix && b->vci_prefix && a->vci_len == b->vci_len &&
			    !memcmp(a->vci_prefix, b->vci_prefix, a->vci_len)) {
				pp_err_set(err, "dhcp classes %s (plugin %s) and %s (plugin %s) match "
					   "the same option-60 prefix", a->name, x->v[i].p->name,
					   b->name, x->v[j].p->name);
				return PP_EINVAL;
			}
			for (size_t k = 0; k < a->n_ouis; k++)
				for (size_t l = 0; l < b->n_ouis; l++)
					if (!strcmp(a->ouis[k], b->ouis[l])) {
						pp_err_set(err, "OUI %s is in dhcp classes %s (plugin "
							   "%s) and %s (plugin %s)", a->ouis[k],
							   a->name, x->v[i].p->name, b->name,
							   x->v[j].p->name);
						return PP_EINVAL;
					}
		}
	/* the longer prefixes each option-60 class leaves to others */
	for (size_t i = 0; i < x->n; i++) {
		struct cls *e = &x->v[i];

		for (size_t j = 0; j < x->n; j++) {
			if (!extends(e->c, x->v[j].c))
				continue;
			if (!e->longer && !(e->longer = calloc(x->n, sizeof(size_t)))) {
				pp_err_set(err, "out of memory");
				return PP_ENOMEM;
			}
			e->longer[e->n_longer++] = j;
		}
	}
	return PP_OK;
}

/* ---- ISC dhcpd ---------------------------------------------------------- */

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

/* An option-60 prefix as an ISC data constant: quoted text, or colon hex. */
static void isc_data(struct pp_buf *b, const struct pp_dhcp_class *c)
{
	if (!c->vci_hex) {
		isc_q(b, c->vci_prefix);
		return;
	}
	for (size_t i = 0; i < c->vci_len; i++)
		pp_buf_printf(b, "%s%02x", i ? ":" : "", (unsigned char)c->vci_prefix[i]);
}

static void isc_prefix_test(struct pp_buf *b, const struct pp_dhcp_class *c)
{
	pp_buf_printf(b, "substring(option vendor-class-identifier, 0, %zu) = ", c->vci_len);
	isc_data(b, c);
}

static void isc_match(struct pp_buf *b, const struct ctx *x, const struct cls *e,
		      const char *pfx)
{
	pp_buf_printf(b, "%smatch if ", pfx);
	isc_prefix_test(b, e->c);
	if (e->n_longer) {
		pp_buf_printf(b, "\n%s\tand not (", pfx);
		for (size_t k = 0; k < e->n_longer; k++) {
			if (k)
				pp_buf_printf(b, "\n%s\t     or ", pfx);
			isc_prefix_test(b, x->v[e->longer[k]].c);
		}
		pp_buf_putc(b, ')');
	}
	pp_buf_puts(b, ";\n");
}

/* log(info, "[<mac>] BOOT <what>"): the MAC as ISC prints it (hex bytes
 * without leading zeros, the hardware type byte left out). */
static void isc_log(struct pp_buf *b, const char *pfx, const char *what)
{
	struct pp_buf t = { 0 };

	pp_buf_printf(&t, "] BOOT %s", what);
	pp_buf_printf(b, "%slog(info, concat(\"[\", binary-to-ascii(16, 8, \":\", "
		      "substring(hardware, 1, 6)), ", pfx);
	isc_q(b, t.data ? t.data : "");
	pp_buf_puts(b, "));\n");
	pp_buf_free(&t);
}

static const char *isc_vtype(const char *t)
{
	return !strcmp(t, "boolean") ? "boolean" : !strcmp(t, "uint8") ? "unsigned integer 8" :
	       !strcmp(t, "uint16") ? "unsigned integer 16" :
	       !strcmp(t, "uint32") ? "unsigned integer 32" :
	       !strcmp(t, "ip-address") ? "ip-address" : "text";
}

/* What a class hands out: boot file, option 66 (+160), vendor options. */
static void isc_settings(struct pp_buf *b, const struct ctx *x, const struct cls *e,
			 const char *pfx)
{
	if (e->boot_file) {
		pp_buf_printf(b, "%snext-server %s;\n%sfilename ", pfx, x->tftp_host, pfx);
		isc_q(b, e->boot_file);
		pp_buf_puts(b, ";\n");
	}
	pp_buf_printf(b, "%soption tftp-server-name ", pfx);
	isc_q(b, e->boot_url ? e->boot_url : x->tftp_host);
	pp_buf_puts(b, ";\n");
	if (e->boot_url) {
		pp_buf_printf(b, "%soption " URL_OPT_NAME " ", pfx);
		isc_q(b, e->boot_url);
		pp_buf_puts(b, ";\n");
	}
	if (any_vendor(e)) {
		const struct pp_dhcp_vendor *vo = e->p->dhcp_vendor;

		pp_buf_printf(b, "%svendor-option-space %s;\n", pfx, vo->space);
		for (size_t k = 0; k < vo->n_opts; k++) {
			if (!e->vvals[k])
				continue;
			pp_buf_printf(b, "%soption %s.%s ", pfx, vo->space, vo->opts[k].name);
			if (!strcmp(vo->opts[k].type, "text"))
				isc_q(b, e->vvals[k]);
			else
				pp_buf_puts(b, e->vvals[k]);
			pp_buf_puts(b, ";\n");
		}
	}
}

static void isc_boot_what(const struct cls *e, char *out, size_t n)
{
	if (e->c->model)
		snprintf(out, n, "%s %s", e->p->vendor, e->c->model);
	else
		snprintf(out, n, "%s", e->p->vendor);
}

static void isc_classes(struct pp_buf *b, const struct ctx *x)
{
	for (size_t g = 0; g < x->n_groups; g++) {
		bool open = false;

		for (size_t i = 0; i < x->n; i++) {
			const struct cls *e = &x->v[i];
			char what[200];

			if (e->group != g || !e->c->vci_prefix)
				continue;
			if (!open) {
				pp_buf_printf(b, "# plugin %s (%s)\ngroup {\n", e->p->name,
					      e->p->vendor);
				isc_settings(b, x, e, "\t");
				open = true;
			}
			pp_buf_puts(b, "\n\tclass ");
			isc_q(b, e->c->name);
			pp_buf_puts(b, " {\n");
			isc_match(b, x, e, "\t\t");
			isc_boot_what(e, what, sizeof(what));
			isc_log(b, "\t\t", what);
			pp_buf_puts(b, "\t}\n");
		}
		if (open)
			pp_buf_puts(b, "}\n\n");
	}
	/* MAC prefixes: subclasses of one spawning class (a subclass cannot sit in
	 * a group, so each carries its settings); only for phones that send no
	 * option 60, so an option-60 class is never contradicted */
	for (size_t i = 0; i < x->n; i++) {
		const struct cls *e = &x->v[i];

		for (size_t k = 0; k < e->c->n_ouis; k++) {
			char what[200];

			pp_buf_printf(b, "subclass \"" OUI_CLASS "\" 1:%s {\n", e->c->ouis[k]);
			pp_buf_printf(b, "\t# plugin %s, class %s\n", e->p->name, e->c->name);
			pp_buf_puts(b, "\tif not exists vendor-class-identifier {\n");
			isc_settings(b, x, e, "\t\t");
			snprintf(what, sizeof(what), "%s OUI %s", e->p->vendor, e->c->ouis[k]);
			isc_log(b, "\t\t", what);
			pp_buf_puts(b, "\t}\n}\n\n");
		}
	}
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

static void isc_pool(struct pp_buf *b, const struct ctx *x, const struct subnet *sn,
		     const char *pfx)
{
	char a[INET_ADDRSTRLEN], c[INET_ADDRSTRLEN];

	pp_buf_printf(b, "%spool {\n", pfx);
	if (x->n_oui)
		pp_buf_printf(b, "%s\tallow members of \"" OUI_CLASS "\";\n", pfx);
	for (size_t i = 0; i < x->n; i++) {
		if (!x->v[i].c->vci_prefix)
			continue;
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

/* Groups holding an option-60 class (those the ISC output opens). */
static size_t vci_groups(const struct ctx *x)
{
	size_t n = 0;

	for (size_t g = 0; g < x->n_groups; g++)
		for (size_t i = 0; i < x->n; i++)
			if (x->v[i].group == g && x->v[i].c->vci_prefix) {
				n++;
				break;
			}
	return n;
}

static int gen_isc(const struct ctx *x, const struct pp_dhcpd_opts *o, struct pp_buf *b,
		   struct pp_err *err)
{
	struct subnet sn;
	char a[INET_ADDRSTRLEN], c[INET_ADDRSTRLEN];

	if (o && o->subnet && parse_subnet(o, &sn, err) != PP_OK)
		return PP_EINVAL;
	pp_buf_puts(b, "# ISC dhcpd configuration generated by phoneprov from the enabled plugins'\n"
		       "# dhcp classes: per family a group with what its phones get, one class per\n"
		       "# option-60 prefix (per model where known) logging \"[<mac>] BOOT <Vendor>\n"
		       "# <Model>\", and MAC-prefix (OUI) subclasses for phones without option 60.\n");
	pp_buf_printf(b, "# TFTP server %s, HTTP server %s:%u (%s).\n", x->tftp_host, x->http_host,
		      x->http_port, x->note);
	pp_buf_printf(b, "# %zu option-60 classes in %zu groups, %zu MAC prefixes (OUI) in %zu "
		      "classes.\n\n", x->n_vci, vci_groups(x), x->n_ouis, x->n_oui);
	if (x->any_url)
		pp_buf_printf(b, "# provisioning URL option read by some phones (e.g. Polycom) before 66\n"
			      "option " URL_OPT_NAME " code %d = text;\n\n", URL_OPT_CODE);
	for (size_t i = 0; i < x->n_vend; i++) {
		const struct pp_dhcp_vendor *vo = x->vend[i]->dhcp_vendor;

		pp_buf_printf(b, "# vendor options (option 43) of plugin %s\noption space %s;\n",
			      x->vend[i]->name, vo->space);
		for (size_t k = 0; k < vo->n_opts; k++)
			pp_buf_printf(b, "option %s.%s code %u = %s;\n", vo->space, vo->opts[k].name,
				      vo->opts[k].code, isc_vtype(vo->opts[k].type));
		pp_buf_putc(b, '\n');
	}
	if (x->n_oui)
		pp_buf_puts(b, "# phones by the first three bytes of their MAC (after the hardware type)\n"
			       "class \"" OUI_CLASS "\" {\n\tmatch substring(hardware, 0, 4);\n}\n\n");
	if (!x->n)
		pp_buf_puts(b, "# (no enabled plugin declares a dhcp class)\n\n");
	isc_classes(b, x);
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

/* ---- Kea ---------------------------------------------------------------- */

/* Kea literal of bytes in an expression: quoted when plain text, else hex. */
static void kea_lit_n(struct pp_buf *b, const char *s, size_t n)
{
	bool plain = true;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '\'' || s[i] == '\\' || (unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] >= 0x7f)
			plain = false;
	if (plain) {
		pp_buf_printf(b, "'%.*s'", (int)n, s);
		return;
	}
	pp_buf_puts(b, "0x");
	for (size_t i = 0; i < n; i++)
		pp_buf_printf(b, "%02x", (unsigned char)s[i]);
}

static void kea_lit(struct pp_buf *b, const char *s)
{
	kea_lit_n(b, s, strlen(s));
}

static void kea_prefix_test(struct pp_buf *b, const struct pp_dhcp_class *c)
{
	pp_buf_printf(b, "substring(option[60].hex,0,%zu) == ", c->vci_len);
	kea_lit_n(b, c->vci_prefix, c->vci_len);
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

static const char *kea_vtype(const char *t)
{
	return !strcmp(t, "text") ? "string" : !strcmp(t, "ip-address") ? "ipv4-address" : t;
}

static json_t *kea_opt(const char *name, json_t *data)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(name));
	if (data)
		json_object_set_new(o, "data", data);
	return o;
}

static json_t *kea_class(const struct ctx *x, const struct cls *e)
{
	json_t *c = json_object(), *od = json_array();
	struct pp_buf t = { 0 };
	char what[200];

	json_object_set_new(c, "name", json_string(e->c->name));
	if (e->c->vci_prefix) {
		kea_prefix_test(&t, e->c);
		if (e->n_longer) {
			pp_buf_puts(&t, " and not (");
			for (size_t k = 0; k < e->n_longer; k++) {
				if (k)
					pp_buf_puts(&t, " or ");
				kea_prefix_test(&t, x->v[e->longer[k]].c);
			}
			pp_buf_putc(&t, ')');
		}
		isc_boot_what(e, what, sizeof(what));
	} else {
		/* the MAC prefixes, for phones that send no option 60 */
		pp_buf_puts(&t, "not option[60].exists and pkt4.htype == 1 and (");
		for (size_t k = 0; k < e->c->n_ouis; k++) {
			const char *o = e->c->ouis[k];

			pp_buf_printf(&t, "%ssubstring(pkt4.mac,0,3) == 0x%.2s%.2s%.2s", k ? " or " : "",
				      o, o + 3, o + 6);
		}
		pp_buf_putc(&t, ')');
		snprintf(what, sizeof(what), "%s OUI", e->p->vendor);
	}
	json_object_set_new(c, "test", json_string(t.data ? t.data : "false"));
	pp_buf_free(&t);
	json_object_set_new(c, "comment", json_sprintf("plugin %s: BOOT %s", e->p->name, what));
	if (e->boot_file) {
		json_object_set_new(c, "next-server", json_string(x->tftp_host));
		json_object_set_new(c, "boot-file-name", json_string(e->boot_file));
	}
	json_array_append_new(od, kea_opt("tftp-server-name",
					  kea_data(e->boot_url ? e->boot_url : x->tftp_host)));
	if (e->boot_url)
		json_array_append_new(od, kea_opt(URL_OPT_NAME, kea_data(e->boot_url)));
	if (any_vendor(e)) {
		/* option 43 carries this family's space (a class-level definition) */
		const struct pp_dhcp_vendor *vo = e->p->dhcp_vendor;
		json_t *def = json_object();

		json_object_set_new(def, "name", json_string("vendor-encapsulated-options"));
		json_object_set_new(def, "code", json_integer(43));
		json_object_set_new(def, "type", json_string("empty"));
		json_object_set_new(def, "encapsulate", json_string(vo->space));
		json_object_set_new(c, "option-def", json_pack("[o]", def));
		json_array_append_new(od, kea_opt("vendor-encapsulated-options", NULL));
		for (size_t k = 0; k < vo->n_opts; k++) {
			json_t *o;

			if (!e->vvals[k])
				continue;
			o = kea_opt(vo->opts[k].name, kea_data(e->vvals[k]));
			json_object_set_new(o, "space", json_string(vo->space));
			json_array_append_new(od, o);
		}
	}
	json_object_set_new(c, "option-data", od);
	return c;
}

static int gen_kea(const struct ctx *x, const struct pp_dhcpd_opts *o, struct pp_buf *b,
		   struct pp_err *err)
{
	json_t *root = json_object(), *d4 = json_object(), *classes = json_array();
	json_t *defs = json_array();
	struct subnet sn;
	char *txt;

	if (o && o->subnet && parse_subnet(o, &sn, err) != PP_OK) {
		json_decref(root);
		json_decref(d4);
		json_decref(classes);
		json_decref(defs);
		return PP_EINVAL;
	}
	json_object_set_new(root, "Dhcp4", d4);
	if (x->any_url) {
		json_t *def = json_object();

		json_object_set_new(def, "name", json_string(URL_OPT_NAME));
		json_object_set_new(def, "code", json_integer(URL_OPT_CODE));
		json_object_set_new(def, "space", json_string("dhcp4"));
		json_object_set_new(def, "type", json_string("string"));
		json_array_append_new(defs, def);
	}
	for (size_t i = 0; i < x->n_vend; i++) {
		const struct pp_dhcp_vendor *vo = x->vend[i]->dhcp_vendor;

		for (size_t k = 0; k < vo->n_opts; k++) {
			json_t *def = json_object();

			json_object_set_new(def, "name", json_string(vo->opts[k].name));
			json_object_set_new(def, "code", json_integer(vo->opts[k].code));
			json_object_set_new(def, "space", json_string(vo->space));
			json_object_set_new(def, "type", json_string(kea_vtype(vo->opts[k].type)));
			json_array_append_new(defs, def);
		}
	}
	if (json_array_size(defs))
		json_object_set_new(d4, "option-def", defs);
	else
		json_decref(defs);
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
	free_ctx(&x);
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
