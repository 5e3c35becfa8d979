/* phoneprov.yml loader: every key of DESIGN §3, strict validation with
 * "FILE:LINE:COL: what" messages, relative paths made absolute against the
 * folder holding the file. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/fs.h"
#include "lib/yamltree.h"
#include "pp_paths.h"

#define DEF_TFTP_LISTEN "127.0.0.1:6969"
#define DEF_HTTP_LISTEN "127.0.0.1:8667"
#define DEF_API_LISTEN "127.0.0.1:8666"

/* Validation context: the file name for messages without a node, the base
 * folder for relative paths, whether to look at the file system. */
struct ctx {
	const char *file;
	const char *base_dir;
	bool check_fs;
	struct pp_err *err;
};

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* base_dir + "/" + p unless p is absolute; trailing slashes dropped. */
static char *abs_path(const char *base_dir, const char *p)
{
	size_t n;
	char *out;

	while (p[0] == '.' && p[1] == '/') {
		p += 2;
		while (*p == '/')
			p++;
	}
	if (!*p || !strcmp(p, "."))
		p = ".";
	if (p[0] == '/') {
		out = strdup(p);
	} else {
		n = strlen(base_dir) + strlen(p) + 2;
		out = malloc(n);
		if (out)
			snprintf(out, n, "%s%s%s", base_dir,
				 base_dir[0] && base_dir[strlen(base_dir) - 1] == '/' ? "" : "/", p);
	}
	if (!out)
		return NULL;
	n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	/* "/x/." → "/x" */
	while (n > 2 && out[n - 1] == '.' && out[n - 2] == '/') {
		n -= 2;
		out[n] = '\0';
		if (n == 0)
			out[n++] = '/', out[n] = '\0';
	}
	return out;
}

void pp_config_free(struct pp_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->base_dir);
	free(cfg->data_dir);
	free(cfg->user);
	free(cfg->tftp.root);
	free(cfg->http.root);
	free(cfg->http.trusted_proxies);
	free(cfg->https.cert);
	free(cfg->https.key);
	free(cfg->https.client_ca);
	free(cfg->api.token_file);
	free(cfg->api.admin_token_file);
	free(cfg->dhcp_sniffer.interface);
	free(cfg->dhcp_sniffer.pcap_file);
	free(cfg->plugins.dir);
	free(cfg->plugins.local_dir);
	for (size_t i = 0; i < cfg->plugins.n_enabled; i++)
		free(cfg->plugins.enabled[i]);
	free(cfg->plugins.enabled);
	json_decref(cfg->plugins.settings);
	free(cfg->provisioning.public_url);
	free(cfg->provisioning.url_key);
	json_decref(cfg->general);
	json_decref(cfg->general_src);
	free(cfg);
}

/* Parse "host:port" / "[v6]:port" with a numeric host. Returns NULL or a
 * static description of what is wrong. */
static const char *listen_parse(const char *s, struct pp_listen *out)
{
	const char *colon, *host, *port;
	size_t hlen;
	char hbuf[64];
	unsigned char addr[16];
	char *end;
	long p;

	if (strlen(s) >= sizeof(out->text))
		return "is too long";
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return "must be \"[IPv6]:PORT\"";
		host = s + 1;
		hlen = (size_t)(rb - host);
		port = rb + 2;
		if (hlen == 0 || hlen >= sizeof(hbuf))
			return "has no valid IPv6 address";
		memcpy(hbuf, host, hlen);
		hbuf[hlen] = '\0';
		if (inet_pton(AF_INET6, hbuf, addr) != 1)
			return "has no valid IPv6 address (numeric addresses only)";
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return "must be \"HOST:PORT\" (e.g. \"127.0.0.1:6969\")";
		if (strchr(s, ':') != colon)
			return "must put an IPv6 address in brackets: \"[::1]:PORT\"";
		hlen = (size_t)(colon - s);
		port = colon + 1;
		if (hlen == 0 || hlen >= sizeof(hbuf))
			return "has no host (use 0.0.0.0 for every address)";
		memcpy(hbuf, s, hlen);
		hbuf[hlen] = '\0';
		if (inet_pton(AF_INET, hbuf, addr) != 1)
			return "has no valid IPv4 address (numeric addresses only)";
	}
	if (port[0] < '0' || port[0] > '9')
		return "has no valid port";
	errno = 0;
	p = strtol(port, &end, 10);
	if (errno || *end || p < 1 || p > 65535)
		return "has a port outside 1..65535";
	snprintf(out->host, sizeof(out->host), "%s", hbuf);
	out->port = (unsigned)p;
	snprintf(out->text, sizeof(out->text), "%s", s);
	return NULL;
}

static struct pp_config *defaults(const char *base_dir)
{
	struct pp_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->base_dir = xstrdup(base_dir);
	c->path = abs_path(base_dir, "phoneprov.yml");
	c->data_dir = abs_path(base_dir, "var");
	c->log_level = PP_LOG_INFO;
	c->user = strdup("");
	listen_parse(DEF_TFTP_LISTEN, &c->tftp.listen);
	c->tftp.root = abs_path(base_dir, "tftpboot");
	c->tftp.max_blksize = 65464;
	c->tftp.max_windowsize = 64;
	c->tftp.timeout_ms = 1000;
	c->tftp.retries = 5;
	c->tftp.max_transfers = 8192;
	c->tftp.max_per_client = 4;
	c->tftp.max_timeout_s = 10;
	listen_parse(DEF_HTTP_LISTEN, &c->http.listen);
	c->http.root = abs_path(base_dir, "tftpboot");
	c->http.header_timeout_s = 10;
	c->http.max_connections = 8192;
	c->http.max_connections_per_ip = 128;
	c->https.cert = strdup("");
	c->https.key = strdup("");
	c->https.client_ca = strdup("");
	listen_parse(DEF_API_LISTEN, &c->api.listen);
	c->api.token_file = abs_path(base_dir, "var/api-token");
	c->api.admin_token_file = abs_path(base_dir, "var/admin-token");
	c->api.header_timeout_s = 10;
	c->api.max_connections = 512;
	c->api.max_connections_per_ip = 32;
	c->dhcp_sniffer.interface = strdup("");
	c->dhcp_sniffer.pcap_file = strdup("");
	c->autoprov = true;
	c->security.unknown_mac_limit = 20;
	c->security.unknown_mac_limit_per_net = 1000;
	c->security.unknown_mac_window_s = 60;
	c->security.ban_s = 600;
	c->provisioning.queue_max = 8192;
	c->provisioning.public_url = strdup("");
	c->provisioning.url_key = strdup("");
	c->synchronize.t1_ms = 500;
	c->plugins.dir = abs_path(base_dir, "plugins");
	c->plugins.local_dir = strdup("");
	c->plugins.all = true;
	c->plugins.settings = json_object();
	if (!c->base_dir || !c->path || !c->data_dir || !c->user || !c->tftp.root || !c->http.root ||
	    !c->api.token_file || !c->api.admin_token_file || !c->dhcp_sniffer.interface ||
	    !c->dhcp_sniffer.pcap_file || !c->plugins.dir || !c->plugins.local_dir || !c->plugins.settings ||
	    !c->provisioning.public_url || !c->provisioning.url_key || !c->https.cert || !c->https.key || !c->https.client_ca) {
		pp_config_free(c);
		return NULL;
	}
	return c;
}

/* provisioning.public_url: "http[s]://HOST[:PORT][/PATH]". Returns NULL or
 * what is wrong; host (brackets kept off an IPv6 literal) and port (the
 * scheme's default when none is written) out. */
static const char *public_url_parse(const char *s, char *host, size_t hsize, unsigned *port)
{
	const char *h, *e, *p;
	size_t hlen;
	bool tls;

	if (!strncmp(s, "http://", 7)) {
		tls = false;
		h = s + 7;
	} else if (!strncmp(s, "https://", 8)) {
		tls = true;
		h = s + 8;
	} else {
		return "must start with http:// or https://";
	}
	for (p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '<' ||
		    *p == '>' || *p == '\\' || *p == '{' || *p == '}')
			return "must not contain spaces, quotes, braces or control characters";
	if (strchr(s, '?') || strchr(s, '#'))
		return "must not have a query (?) or a fragment (#)";
	e = h + strcspn(h, "/");
	if (memchr(h, '@', (size_t)(e - h)))
		return "must not carry a user name or password";
	*port = tls ? 443 : 80;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(e - h));
		unsigned char addr[16];
		char buf[64];

		if (!rb || rb == h + 1 || (size_t)(rb - h - 1) >= sizeof(buf))
			return "has no valid [IPv6] host";
		hlen = (size_t)(rb - h - 1);
		memcpy(buf, h + 1, hlen);
		buf[hlen] = '\0';
		if (inet_pton(AF_INET6, buf, addr) != 1)
			return "has no valid [IPv6] host";
		if (hlen >= hsize)
			return "has a host that is too long";
		memcpy(host, buf, hlen + 1);
		p = rb + 1;
	} else {
		p = h + strcspn(h, ":/");
		if (p > e)
			p = e;
		hlen = (size_t)(p - h);
		if (hlen == 0)
			return "has no host";
		if (hlen >= hsize)
			return "has a host that is too long";
		for (const char *q = h; q < p; q++)
			if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
			      (*q >= '0' && *q <= '9') || *q == '-' || *q == '.'))
				return "has a host that is not a name or an address";
		memcpy(host, h, hlen);
		host[hlen] = '\0';
	}
	if (p < e) {
		long v = 0;

		if (*p != ':' || p + 1 == e)
			return "has no valid port";
		for (const char *q = p + 1; q < e; q++) {
			if (*q < '0' || *q > '9' || v > 65535)
				return "has no valid port";
			v = v * 10 + (*q - '0');
		}
		if (v < 1 || v > 65535)
			return "has a port outside 1..65535";
		*port = (unsigned)v;
	}
	return NULL;
}

static bool wildcard(const char *host)
{
	unsigned char a[16], z[16] = { 0 };

	if (strchr(host, ':'))
		return inet_pton(AF_INET6, host, a) == 1 && !memcmp(a, z, 16);
	return inet_pton(AF_INET, host, a) == 1 && !memcmp(a, z, 4);
}

static void general_set(struct pp_config *c, const char *k, json_t *v, const char *src)
{
	json_object_set_new(c->general, k, v);
	json_object_set_new(c->general_src, k, json_string(src));
}

/* The general settings every effective config starts from (config.h). */
/* With a provisioning key, phones must put it first in every path: the
 * base URL they are given carries it. */
static void general_add_key(const struct pp_config *c, char *buf, size_t n)
{
	size_t len = strlen(buf);

	if (c->provisioning.url_key[0])
		snprintf(buf + len, n - len, "/%s", c->provisioning.url_key);
}

static int general_build(struct pp_config *c)
{
	const struct pp_listen *h = &c->http.listen, *t = &c->tftp.listen;
	bool v6;
	char buf[600];

	json_decref(c->general);
	json_decref(c->general_src);
	c->general = json_object();
	c->general_src = json_object();
	c->general_warn[0] = '\0';
	if (!c->general || !c->general_src)
		return PP_ENOMEM;
	if (c->provisioning.public_url[0]) {
		char host[256];
		unsigned port;
		size_t n;

		if (public_url_parse(c->provisioning.public_url, host, sizeof(host), &port))
			return PP_EINVAL; /* validated at load */
		snprintf(buf, sizeof(buf), "%s", c->provisioning.public_url);
		n = strlen(buf);
		while (n > 0 && buf[n - 1] == '/') /* templates append "/" */
			buf[--n] = '\0';
		general_add_key(c, buf, sizeof(buf));
		general_set(c, "http_base_url", json_string(buf), c->provisioning.url_key[0] ?
			    "provisioning.public_url + provisioning.url_key" :
			    "provisioning.public_url");
		general_set(c, "ip", json_string(host), "provisioning.public_url");
		general_set(c, "http_port", json_integer(port), "provisioning.public_url");
	} else if (!wildcard(h->host)) {
		v6 = strchr(h->host, ':') != NULL;
		snprintf(buf, sizeof(buf), "http://%s%s%s:%u", v6 ? "[" : "", h->host, v6 ? "]" : "",
			 h->port);
		general_add_key(c, buf, sizeof(buf));
		general_set(c, "http_base_url", json_string(buf), c->provisioning.url_key[0] ?
			    "general settings (http.listen + provisioning.url_key)" :
			    "general settings (http.listen)");
		general_set(c, "ip", json_string(h->host), "general settings (http.listen)");
		general_set(c, "http_port", json_integer(h->port), "general settings (http.listen)");
	} else {
		general_set(c, "http_port", json_integer(h->port), "general settings (http.listen)");
		snprintf(c->general_warn, sizeof(c->general_warn),
			 "http.listen %s is a wildcard address and provisioning.public_url is not "
			 "set: phones will not be told where to come back (no ip, no http_base_url); "
			 "set provisioning.public_url", h->text);
	}
	general_set(c, "tftp_port", json_integer(t->port), "general settings (tftp.listen)");
	if (!wildcard(t->host)) {
		/* "HOST" on the standard port, else "HOST:PORT" (Yealink's
		 * tftp://{{tftp_server}}/ and Grandstream's P237 take both); an
		 * IPv6 address in brackets */
		v6 = strchr(t->host, ':') != NULL;
		if (t->port == 69)
			snprintf(buf, sizeof(buf), "%s%s%s", v6 ? "[" : "", t->host, v6 ? "]" : "");
		else
			snprintf(buf, sizeof(buf), "%s%s%s:%u", v6 ? "[" : "", t->host,
				 v6 ? "]" : "", t->port);
		general_set(c, "tftp_server", json_string(buf), "general settings (tftp.listen)");
	}
	return PP_OK;
}

struct pp_config *pp_config_defaults(const char *base_dir)
{
	struct pp_config *c = defaults(base_dir ? base_dir : ".");

	if (c && general_build(c) != PP_OK) {
		pp_config_free(c);
		return NULL;
	}
	return c;
}

/* A plain empty / "~" / "null" scalar: a section written with nothing under it. */
static bool is_null(const struct pp_ynode *n)
{
	return n && n->type == PP_Y_SCALAR && n->plain &&
	       (!n->str[0] || !strcmp(n->str, "~") || !strcmp(n->str, "null"));
}

/* A section: absent or null → NULL (defaults), else a map with known keys. */
static int section(struct ctx *x, const struct pp_ynode *root, const char *key,
		   const char *const *allowed, const struct pp_ynode **out)
{
	const struct pp_ynode *n = pp_ymap_get(root, key);

	*out = NULL;
	if (!n || is_null(n))
		return PP_OK;
	if (n->type != PP_Y_MAP) {
		pp_y_err(x->err, n, "%s must be a mapping, not %s", key,
			 n->type == PP_Y_SEQ ? "a list" : "a scalar");
		return PP_EINVAL;
	}
	if (pp_y_check_keys(n, allowed, key, x->err))
		return PP_EINVAL;
	*out = n;
	return PP_OK;
}

static int get_str(struct ctx *x, const struct pp_ynode *map, const char *key, const char *what,
		   bool nonempty, const char **out, const struct pp_ynode **node)
{
	const struct pp_ynode *n = pp_ymap_get(map, key);

	*node = n;
	if (!n)
		return PP_OK;
	if (pp_y_str(n, what, out, x->err))
		return PP_EINVAL;
	if (nonempty && !**out) {
		pp_y_err(x->err, n, "%s must not be empty", what);
		return PP_EINVAL;
	}
	if (strlen(*out) >= PATH_MAX) {
		pp_y_err(x->err, n, "%s is too long", what);
		return PP_EINVAL;
	}
	return PP_OK;
}

static int set_path(struct ctx *x, const struct pp_ynode *map, const char *key, const char *what,
		    char **dst)
{
	const struct pp_ynode *n;
	const char *s;
	char *p;

	if (get_str(x, map, key, what, true, &s, &n))
		return PP_EINVAL;
	if (!n)
		return PP_OK;
	p = abs_path(x->base_dir, s);
	if (!p) {
		pp_err_set(x->err, "%s: out of memory", x->file);
		return PP_ENOMEM;
	}
	free(*dst);
	*dst = p;
	return PP_OK;
}

static int set_uint(struct ctx *x, const struct pp_ynode *map, const char *key, const char *what,
		    long long min, long long max, unsigned *dst)
{
	const struct pp_ynode *n = pp_ymap_get(map, key);
	long long v;

	if (!n)
		return PP_OK;
	if (pp_y_int(n, what, min, max, &v, x->err))
		return PP_EINVAL;
	*dst = (unsigned)v;
	return PP_OK;
}

static int set_listen(struct ctx *x, const struct pp_ynode *map, const char *what,
		      struct pp_listen *dst)
{
	const struct pp_ynode *n;
	const char *s, *why;

	if (get_str(x, map, "listen", what, true, &s, &n))
		return PP_EINVAL;
	if (!n)
		return PP_OK;
	why = listen_parse(s, dst);
	if (why) {
		pp_y_err(x->err, n, "%s '%s' %s", what, s, why);
		return PP_EINVAL;
	}
	return PP_OK;
}

/* Is path data_dir itself or inside it? */
static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* A folder that must exist (n = where it was written, NULL for a default).
 * data_dir: a folder inside it may be missing, the daemon creates it at
 * start with data_dir (an installed default names folders in a state
 * directory that systemd creates on the first start). */
static int check_dir(struct ctx *x, const struct pp_ynode *n, const char *what, const char *path,
		     const char *data_dir)
{
	struct stat st;

	const char *why;

	if (!x->check_fs)
		return PP_OK;
	if (stat(path, &st) == 0)
		why = S_ISDIR(st.st_mode) ? NULL : "not a folder";
	else if (errno == ENOENT && data_dir && under(path, data_dir))
		why = NULL;
	else
		why = errno == ENOENT ? "no such folder" : strerror(errno);
	if (!why)
		return PP_OK;
	if (n)
		pp_y_err(x->err, n, "%s: %s: %s", what, path, why);
	else
		pp_err_set(x->err, "%s: %s: %s: %s (the default; set %s)", x->file, what, path,
			   why, what);
	return PP_EINVAL;
}

static int load_tftp(struct ctx *x, const struct pp_ynode *root, struct pp_config *c)
{
	static const char *const keys[] = { "listen", "root", "max_blksize", "max_windowsize",
					    "timeout_ms", "retries", "max_transfers", "max_per_client",
					    "max_timeout_s", NULL };
	const struct pp_ynode *s;

	if (section(x, root, "tftp", keys, &s))
		return PP_EINVAL;
	if (!s)
		return PP_OK;
	if (set_listen(x, s, "tftp.listen", &c->tftp.listen) ||
	    set_path(x, s, "root", "tftp.root", &c->tftp.root) ||
	    set_uint(x, s, "max_blksize", "tftp.max_blksize", 8, 65464, &c->tftp.max_blksize) ||
	    set_uint(x, s, "max_windowsize", "tftp.max_windowsize", 1, 65535,
		     &c->tftp.max_windowsize) ||
	    set_uint(x, s, "timeout_ms", "tftp.timeout_ms", 10, 600000, &c->tftp.timeout_ms) ||
	    set_uint(x, s, "retries", "tftp.retries", 0, 100, &c->tftp.retries) ||
	    set_uint(x, s, "max_transfers", "tftp.max_transfers", 1, 65536,
		     &c->tftp.max_transfers) ||
	    set_uint(x, s, "max_per_client", "tftp.max_per_client", 1, 65536,
		     &c->tftp.max_per_client) ||
	    set_uint(x, s, "max_timeout_s", "tftp.max_timeout_s", 1, 255, &c->tftp.max_timeout_s))
		return PP_EINVAL;
	return PP_OK;
}

/* http.trusted_proxies: a list of "ADDR" / "ADDR/BITS". */
static int load_proxies(struct ctx *x, const struct pp_ynode *n, struct pp_config *c)
{
	if (n->type != PP_Y_SEQ) {
		pp_y_err(x->err, n, "http.trusted_proxies must be a list of addresses or networks "
			 "(e.g. [\"192.0.2.10\", \"10.1.0.0/16\"])");
		return PP_EINVAL;
	}
	if (n->n > 1024) {
		pp_y_err(x->err, n, "http.trusted_proxies: 1024 entries at most");
		return PP_EINVAL;
	}
	c->http.trusted_proxies = calloc(n->n ? n->n : 1, sizeof(*c->http.trusted_proxies));
	if (!c->http.trusted_proxies)
		return PP_ENOMEM;
	for (size_t i = 0; i < n->n; i++) {
		const struct pp_ynode *v = n->vals[i];
		const char *s, *why;

		if (pp_y_str(v, "http.trusted_proxies entry", &s, x->err))
			return PP_EINVAL;
		if ((why = pp_cidr_parse(s, &c->http.trusted_proxies[i]))) {
			pp_y_err(x->err, v, "http.trusted_proxies: '%s' %s", s, why);
			return PP_EINVAL;
		}
		c->http.n_trusted_proxies++;
	}
	return PP_OK;
}

static int load_http(struct ctx *x, const struct pp_ynode *root, struct pp_config *c)
{
	static const char *const keys[] = { "listen", "root", "header_timeout_s",
					    "max_connections", "max_connections_per_ip",
					    "trusted_proxies", NULL };
	const struct pp_ynode *s, *n;

	if (section(x, root, "http", keys, &s))
		return PP_EINVAL;
	if (!s)
		return PP_OK;
	if (set_listen(x, s, "http.listen", &c->http.listen) ||
	    set_path(x, s, "root", "http.root", &c->http.root) ||
	    set_uint(x, s, "header_timeout_s", "http.header_timeout_s", 1, 3600,
		     &c->http.header_timeout_s) ||
	    set_uint(x, s, "max_connections", "http.max_connections", 1, 65536,
		     &c->http.max_connections) ||
	    set_uint(x, s, "max_connections_per_ip", "http.max_connections_per_ip", 1, 65536,
		     &c->http.max_connections_per_ip))
		return PP_EINVAL;
	if ((n = pp_ymap_get(s, "trusted_proxies")) && !is_null(n))
		return load_proxies(x, n, c);
	return PP_OK;
}

/* A file that must be readable when the daemon starts (n where it was set). */
static int check_file(struct ctx *x, const struct pp_ynode *n, const char *what, const char *path)
{
	if (!x->check_fs || !path[0] || access(path, R_OK) == 0)
		return PP_OK;
	pp_y_err(x->err, n, "%s: %s: %s", what, path, strerror(errno));
	return PP_EINVAL;
}

static int load_https(struct ctx *x, const struct pp_ynode *root, struct pp_config *c)
{
	static const char *const keys[] = { "listen", "cert", "key", "client_ca", NULL };
	const struct pp_ynode *s, *n;
	const char *v;

	if (section(x, root, "https", keys, &s))
		return PP_EINVAL;
	if (!s)
		return PP_OK;
	if (get_str(x, s, "listen", "https.listen", false, &v, &n))
		return PP_EINVAL;
	if (n && v[0] && set_listen(x, s, "https.listen", &c->https.listen))
		return PP_EINVAL;
	/* "" = not set (the README's template writes every key) */
	if (get_str(x, s, "cert", "https.cert", false, &v, &n) ||
	    (n && v[0] && set_path(x, s, "cert", "https.cert", &c->https.cert)) ||
	    get_str(x, s, "key", "https.key", false, &v, &n) ||
	    (n && v[0] && set_path(x, s, "key", "https.key", &c->https.key)) ||
	    get_str(x, s, "client_ca", "https.client_ca", false, &v, &n) ||
	    (n && v[0] && set_path(x, s, "client_ca", "https.client_ca", &c->https.client_ca)))
		return PP_EINVAL;
	if (!c->https.listen.port)
		return PP_OK;
	if (!c->https.cert[0] || !c->https.key[0]) {
		pp_y_err(x->err, s, "https.listen is set: https.cert and https.key are needed too");
		return PP_EINVAL;
	}
	if (check_file(x, pp_ymap_get(s, "cert"), "https.cert", c->https.cert) ||
	    check_file(x, pp_ymap_get(s, "key"), "https.key", c->https.key) ||
	    check_file(x, pp_ymap_get(s, "client_ca"), "https.client_ca", c->https.client_ca))
		return PP_EINVAL;
	return PP_OK;
}

static int load_api(struct ctx *x, const struct pp_ynode *root, struct pp_config *c)
{
	static const char *const keys[] = { "listen", "token_file", "admin_token_file",
					    "header_timeout_s", "max_connections",
					    "max_connections_per_ip", NULL };
	const struct pp_ynode *s;

	if (section(x, root, "api", keys, &s))
		return PP_EINVAL;
	if (!s)
		return PP_OK;
	if (set_listen(x, s, "api.listen", &c->api.listen) ||
	    set_path(x, s, "token_file", "api.token_file", &c->api.token_file) ||
	    set_path(x, s, "admin_token_file", "api.admin_token_file", &c->api.admin_token_file) ||
	    set_uint(x, s, "header_timeout_s", "api.header_timeout_s", 1, 3600,
		     &c->api.header_timeout_s) ||
	    set_uint(x, s, "max_connections", "api.max_connections", 1, 65536,
		     &c->api.max_connections) ||
	    set_uint(x, s, "max_connections_per_ip", "api.max_connections_per_ip", 1, 65536,
		     &c->api.max_connections_per_ip))
		return PP_EINVAL;
	return PP_OK;
}

static int load_sniffer(struct ctx *x, const struct pp_ynode *root, struct pp_config *c)
{
	static const char *const keys[] = { "interface", "pcap_file", NULL };
	const struct pp_ynode *s, *ni, *np;
	const char *ifname = "", *pcap = "";

	if (section(x, root, "dhcp_sniffer", keys, &s))
		return PP_EINVAL;
	if (!s)
		return PP_OK;
	if (get_str(x, s, "interface", "dhcp_sniffer.interface", false, &ifname, &ni) ||
	    get_str(x, s, "pcap_file", "dhcp_sniffer.pcap_file", false, &pcap, &np))
		return PP_EINVAL;
	if (ni && ifname[0]) {
		if (strlen(ifname) >= 16 || strpbrk(ifname, "/ \t:")) {
			pp_y_err(x->err, ni, "dhcp_sniffer.interface '%s' is not a valid interface name",
				 ifname);
			return PP_EINVAL;
		}
		free(c->dhcp_sniffer.interface);
		if (!(c->dhcp_sniffer.interface = strdup(ifname)))
			return PP_ENOMEM;
	}
	if (np && pcap[0]) {
		if (ifname[0]) {
			pp_y_err(x->err, np,
				 "dhcp_sniffer: set either interface or pcap_file, not both");
			return PP_EINVAL;
		}
		if (set_path(x, s, "pcap_file", "dhcp_sniffer.pcap_file", &c->dhcp_sniffer.pcap_file))
			return PP_EINVAL;
		if (x->check_fs && access(c->dhcp_sniffer.pcap_file, R_OK) != 0) {
			pp_y_err(x->err, np, "dhcp_sniffer.pcap_file: %s: %s",
				 c->dhcp_sniffer.pcap_file, strerror(errno));
			return PP_EINVAL;
		}
	}
	return PP_OK;
}

static int load_security(struct ctx *x, const struct pp_ynode *root, struct pp_config *c)
{
	static const char *const keys[] = { "unknown_mac_limit", "unknown_mac_limit_per_net",
					    "unknown_mac_window_s", "ban_s", NULL };
	const struct pp_ynode *s;

	if (section(x, root, "security", keys, &s))
		return PP_EINVAL;
	if (!s)
		return PP_OK;
	if (set_uint(x, s, "unknown_mac_limit", "security.unknown_mac_limit", 0, 1000000,
		     &c->security.unknown_mac_limit) ||
	    set_uint(x, s, "unknown_mac_limit_per_net", "security.unknown_mac_limit_per_net", 0,
		     1000000, &c->security.unknown_mac_limit_per_net) ||
	    set_uint(x, s, "unknown_mac_window_s", "security.unknown_mac_window_s", 1, 86400,
		     &c->security.unknown_mac_window_s) ||
	    set_uint(x, s, "ban_s", "security.ban_s", 0, 2592000, &c->security.ban_s))
		return PP_EINVAL;
	return PP_OK;
}

static int load_provisioning(struct ctx *x, const struct pp_ynode *root, struct pp_config *c)
{
	static const char *const keys[] = { "queue_max", "public_url", "url_key", NULL };
	const struct pp_ynode *s, *n;
	const char *u, *why;
	char host[256];
	unsigned port;

	if (section(x, root, "provisioning", keys, &s))
		return PP_EINVAL;
	if (!s)
		return PP_OK;
	if (set_uint(x, s, "queue_max", "provisioning.queue_max", 1, 1000000,
		     &c->provisioning.queue_max))
		return PP_EINVAL;
	if (get_str(x, s, "public_url", "provisioning.public_url", false, &u, &n))
		return PP_EINVAL;
	if (n && u[0]) {
		if (strlen(u) > 512) {
			pp_y_err(x->err, n, "provisioning.public_url is too long (512 at most)");
			return PP_EINVAL;
		}
		if ((why = public_url_parse(u, host, sizeof(host), &port))) {
			pp_y_err(x->err, n,
				 "provisioning.public_url '%s' %s (e.g. \"http://192.0.2.10:8667\" or "
				 "\"https://prov.example.com/base\")", u, why);
			return PP_EINVAL;
		}
		free(c->provisioning.public_url);
		if (!(c->provisioning.public_url = strdup(u)))
			return PP_ENOMEM;
	}
	if (get_str(x, s, "url_key", "provisioning.url_key", false, &u, &n))
		return PP_EINVAL;
	if (n && u[0]) {
		size_t len = strlen(u);

		/* URL-safe without escaping (RFC 3986 unreserved), long enough
		 * not to be guessed by the ban's allowance of tries */
		if (len < 16 || len > 128 ||
		    strspn(u, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") !=
			    len || !strcmp(u, ".") || !strcmp(u, "..")) {
			pp_y_err(x->err, n, "provisioning.url_key must be 16 to 128 characters of "
				 "A-Z a-z 0-9 - . _ ~ (e.g. the output of `openssl rand -hex 16`)");
			return PP_EINVAL;
		}
		free(c->provisioning.url_key);
		if (!(c->provisioning.url_key = strdup(u)))
			return PP_ENOMEM;
	}
	return PP_OK;
}

static int load_synchronize(struct ctx *x, const struct pp_ynode *root, struct pp_config *c)
{
	static const char *const keys[] = { "t1_ms", NULL };
	const struct pp_ynode *s;

	if (section(x, root, "synchronize", keys, &s))
		return PP_EINVAL;
	if (!s)
		return PP_OK;
	if (set_uint(x, s, "t1_ms", "synchronize.t1_ms", 1, 60000, &c->synchronize.t1_ms))
		return PP_EINVAL;
	return PP_OK;
}

static bool valid_plugin_name(const char *s)
{
	if (!*s || strlen(s) > 64 || *s == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

static int load_enabled(struct ctx *x, const struct pp_ynode *n, struct pp_config *c)
{
	if (n->type == PP_Y_SCALAR && n->plain && !strcmp(n->str, "all")) {
		c->plugins.all = true;
		return PP_OK;
	}
	if (n->type != PP_Y_SEQ) {
		if (n->type == PP_Y_SCALAR)
			pp_y_err(x->err, n, "plugins.enabled must be 'all' or a list of plugin names, not '%s'",
				 n->str);
		else
			pp_y_err(x->err, n, "plugins.enabled must be 'all' or a list of plugin names");
		return PP_EINVAL;
	}
	c->plugins.all = false;
	c->plugins.enabled = calloc(n->n ? n->n : 1, sizeof(char *));
	if (!c->plugins.enabled)
		return PP_ENOMEM;
	for (size_t i = 0; i < n->n; i++) {
		const struct pp_ynode *v = n->vals[i];
		const char *name;

		if (pp_y_str(v, "plugins.enabled entry", &name, x->err))
			return PP_EINVAL;
		if (!valid_plugin_name(name)) {
			pp_y_err(x->err, v, "plugins.enabled: '%s' is not a valid plugin name", name);
			return PP_EINVAL;
		}
		for (size_t j = 0; j < c->plugins.n_enabled; j++) {
			if (!strcmp(c->plugins.enabled[j], name)) {
				pp_y_err(x->err, v, "plugins.enabled: '%s' is listed twice", name);
				return PP_EINVAL;
			}
		}
		if (!(c->plugins.enabled[c->plugins.n_enabled] = strdup(name)))
			return PP_ENOMEM;
		c->plugins.n_enabled++;
	}
	return PP_OK;
}

static int load_settings(struct ctx *x, const struct pp_ynode *n, struct pp_config *c)
{
	if (is_null(n))
		return PP_OK;
	if (n->type != PP_Y_MAP) {
		pp_y_err(x->err, n, "plugins.settings must be a mapping of plugin name to settings");
		return PP_EINVAL;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct pp_ynode *k = n->keys[i], *v = n->vals[i];
		json_t *j;

		if (!valid_plugin_name(k->str) || strlen(k->str) != k->len) {
			pp_y_err(x->err, k, "plugins.settings: '%s' is not a valid plugin name", k->str);
			return PP_EINVAL;
		}
		if (v->type != PP_Y_MAP) {
			pp_y_err(x->err, v, "plugins.settings.%s must be a mapping, not %s", k->str,
				 v->type == PP_Y_SEQ ? "a list" : "a scalar");
			return PP_EINVAL;
		}
		j = pp_ynode_to_json(v);
		if (!j || json_object_set_new(c->plugins.settings, k->str, j) != 0)
			return PP_ENOMEM;
	}
	return PP_OK;
}

static int load_plugins(struct ctx *x, const struct pp_ynode *root, struct pp_config *c)
{
	static const char *const keys[] = { "dir", "local_dir", "enabled", "settings",
					    "all_types_public", NULL };
	const struct pp_ynode *s, *n;
	const char *ld;
	int rc;

	if (section(x, root, "plugins", keys, &s))
		return PP_EINVAL;
	if (!s)
		return PP_OK;
	if (set_path(x, s, "dir", "plugins.dir", &c->plugins.dir))
		return PP_EINVAL;
	/* optional: "" (the default) = no local overrides; a folder that does
	 * not exist (yet) holds none */
	if (get_str(x, s, "local_dir", "plugins.local_dir", false, &ld, &n))
		return PP_EINVAL;
	if (n && ld[0] && set_path(x, s, "local_dir", "plugins.local_dir", &c->plugins.local_dir))
		return PP_EINVAL;
	if ((n = pp_ymap_get(s, "enabled")) && (rc = load_enabled(x, n, c)))
		return rc;
	if ((n = pp_ymap_get(s, "settings")) && (rc = load_settings(x, n, c)))
		return rc;
	if ((n = pp_ymap_get(s, "all_types_public")) &&
	    pp_y_bool(n, "plugins.all_types_public", &c->plugins.all_types_public, x->err))
		return PP_EINVAL;
	return PP_OK;
}

static int load_top(struct ctx *x, const struct pp_ynode *root, struct pp_config *c)
{
	static const char *const keys[] = { "data_dir", "log_level", "tftp", "http", "api",
					    "dhcp_sniffer", "autoprov", "security", "provisioning", "plugins",
					    "user", "synchronize", "https", "nat", NULL };
	const struct pp_ynode *n;
	const char *s;
	int rc;

	if (!root || is_null(root))
		return PP_OK;
	if (root->type != PP_Y_MAP) {
		pp_y_err(x->err, root, "the configuration must be a mapping of keys, not %s",
			 root->type == PP_Y_SEQ ? "a list" : "a scalar");
		return PP_EINVAL;
	}
	if (pp_y_check_keys(root, keys, "", x->err))
		return PP_EINVAL;
	if (set_path(x, root, "data_dir", "data_dir", &c->data_dir))
		return PP_EINVAL;
	if ((n = pp_ymap_get(root, "log_level"))) {
		if (pp_y_str(n, "log_level", &s, x->err))
			return PP_EINVAL;
		c->log_level = pp_log_level_parse(s);
		if (c->log_level < 0) {
			pp_y_err(x->err, n, "log_level must be error, warn, info or debug, not '%s'", s);
			return PP_EINVAL;
		}
	}
	if ((n = pp_ymap_get(root, "autoprov")) && pp_y_bool(n, "autoprov", &c->autoprov, x->err))
		return PP_EINVAL;
	if ((n = pp_ymap_get(root, "nat")) && pp_y_bool(n, "nat", &c->nat, x->err))
		return PP_EINVAL;
	if ((n = pp_ymap_get(root, "user"))) {
		if (pp_y_str(n, "user", &s, x->err))
			return PP_EINVAL;
		if (strlen(s) > 32 || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(s) ||
		    s[0] == '-') {
			pp_y_err(x->err, n, "user must be a system user name ([a-z0-9_-], at most 32), "
				 "not '%s'", s);
			return PP_EINVAL;
		}
		free(c->user);
		if (!(c->user = strdup(s)))
			return PP_ENOMEM;
	}
	if ((rc = load_tftp(x, root, c)) || (rc = load_http(x, root, c)) ||
	    (rc = load_https(x, root, c)) ||
	    (rc = load_api(x, root, c)) || (rc = load_sniffer(x, root, c)) ||
	    (rc = load_security(x, root, c)) || (rc = load_provisioning(x, root, c)) || (rc = load_synchronize(x, root, c)) ||
	    (rc = load_plugins(x, root, c)))
		return rc;
	return PP_OK;
}

/* Folders that must exist, reported at the key that set them. */
static int check_dirs(struct ctx *x, const struct pp_ynode *root, const struct pp_config *c)
{
	const struct pp_ynode *t = pp_ymap_get(root, "tftp"), *h = pp_ymap_get(root, "http");
	const struct pp_ynode *p = pp_ymap_get(root, "plugins");

	if (check_dir(x, pp_ymap_get(t, "root"), "tftp.root", c->tftp.root, c->data_dir) ||
	    check_dir(x, pp_ymap_get(h, "root"), "http.root", c->http.root, c->data_dir) ||
	    check_dir(x, pp_ymap_get(p, "dir"), "plugins.dir", c->plugins.dir, NULL))
		return PP_EINVAL;
	return PP_OK;
}

/* Messages quote what the user wrote: keep them on one line. */
static void one_line(struct pp_err *err)
{
	if (!err)
		return;
	for (char *p = err->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

int pp_config_load_buf(const char *name, const char *buf, size_t len, const char *base_dir,
		       bool check_fs, struct pp_config **out, struct pp_err *err)
{
	struct pp_ydoc *doc = NULL;
	struct pp_config *c;
	struct ctx x = { .file = name, .base_dir = base_dir, .check_fs = check_fs, .err = err };
	int rc;

	*out = NULL;
	rc = pp_yaml_load_buf(name, buf, len, &doc, err);
	if (rc) {
		one_line(err);
		return rc;
	}
	c = defaults(base_dir);
	if (!c) {
		pp_ydoc_free(doc);
		pp_err_set(err, "%s: out of memory", name);
		return PP_ENOMEM;
	}
	rc = load_top(&x, doc->root, c);
	if (rc == PP_OK)
		rc = check_dirs(&x, doc->root, c);
	if (rc == PP_OK)
		rc = general_build(c);
	pp_ydoc_free(doc);
	if (rc) {
		one_line(err);
		if (rc == PP_ENOMEM)
			pp_err_set(err, "%s: out of memory", name);
		pp_config_free(c);
		return rc == PP_ENOMEM ? rc : PP_EINVAL;
	}
	*out = c;
	return PP_OK;
}

const char *pp_config_default_path(void)
{
	const char *env = getenv("PHONEPROV_CONFIG");
	struct stat st;

	if (env && *env)
		return env;
	if (stat("phoneprov.yml", &st) == 0)
		return "phoneprov.yml";
	return PP_CONFIG_FILE;
}

int pp_config_load(const char *path, struct pp_config **out, struct pp_err *err)
{
	char dir[PATH_MAX], real[PATH_MAX], *buf = NULL;
	const char *slash = strrchr(path, '/');
	struct pp_config *c;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		snprintf(dir, sizeof(dir), ".");
	if ((rc = pp_file_read(path, 1u << 20, &buf, &len, err)) != PP_OK)
		return rc;
	if (!realpath(dir, real)) {
		pp_err_set(err, "%s: cannot resolve folder %s: %s", path, dir, strerror(errno));
		free(buf);
		return PP_EIO;
	}
	rc = pp_config_load_buf(path, buf ? buf : "", len, real, true, &c, err);
	free(buf);
	if (rc)
		return rc;
	free(c->path);
	c->path = abs_path(real, slash ? slash + 1 : path);
	if (!c->path) {
		pp_config_free(c);
		pp_err_set(err, "%s: out of memory", path);
		return PP_ENOMEM;
	}
	*out = c;
	return PP_OK;
}
