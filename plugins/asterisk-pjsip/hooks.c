/* asterisk-pjsip: a phone flavor keeping an Asterisk PJSIP include file
 * (pjsip_wizard.conf style) with one endpoint per SIP line of every device
 * of its phone types, prevent_sip types excepted. See docs/flavors.md.
 *
 * State: the devices (MAC -> {phone_type, prevent_sip, extra, codecs,
 * lines}) live in memory and in state_file (JSON); both files are written
 * whole to a temporary name, fsync'd and renamed over the old one, and the
 * folder fsync'd, so that a crash at any instant leaves each file old or
 * new, never torn. At init the state file is read back and the include file
 * written from it (what a crash between the two renames missed comes back).
 *
 * Threads and processes: on_device runs on the API threads and the
 * provisioning worker of phoneprovd, and in `phoneprov devices ...` CLI
 * processes (each with its own instance): every change takes the mutex and
 * an flock(2) on <state_file>.lock, reads the state file again, applies
 * itself and writes both files, so that no process loses another's change. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <sys/file.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "daemon/plugin/hooks.h"
#include "lib/common.h"

struct pjsip {
	pthread_mutex_t lock;
	char include[PATH_MAX];
	char state_path[PATH_MAX];
	json_t *devices;      /* MAC -> entry */
	unsigned writes;      /* include file rewrites */
	char last_error[256];
};

/* ---- atomic file writes -------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* path <- data: <path>.tmp written and fsync'd, renamed, the folder fsync'd. */
static int atomic_write(const char *path, const char *data, size_t len, char *err, size_t errn)
{
	char tmp[PATH_MAX + 8], dir[PATH_MAX];
	char *slash;
	int fd, dfd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		snprintf(err, errn, "%.180s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errn, "%.180s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* ---- the include file ---------------------------------------------------- */

static void put(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void put(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (*buf && *len + (size_t)n < *cap) {
			*len += (size_t)n;
			return;
		}
		{
			size_t ncap = (*cap ? *cap * 2 : 4096) + (size_t)n;
			char *nb = realloc(*buf, ncap);

			if (!nb)
				return;
			*buf = nb;
			*cap = ncap;
		}
	}
}

/* Asterisk's name of a codec (the config's names are the phones'). */
static const char *ast_codec(const char *c, char *out, size_t n)
{
	static const char *const map[][2] = {
		{ "PCMU", "ulaw" }, { "PCMA", "alaw" }, { "G722", "g722" }, { "G729", "g729" },
		{ "G726", "g726" }, { "OPUS", "opus" }, { "ILBC", "ilbc" }, { "GSM", "gsm" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(map[i][0], c) == 0)
			return map[i][1];
	for (i = 0; c[i] && i + 1 < n; i++)
		out[i] = (char)((c[i] >= 'A' && c[i] <= 'Z') ? c[i] + 32 : c[i]);
	out[i] = '\0';
	return out;
}

/* A value safe on one line of an Asterisk config file. */
static bool clean(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == ';' || *s == '[' || *s == ']')
			return false;
	return s != NULL;
}

static const char *str(const json_t *o, const char *k, const char *def)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s && *s ? s : def;
}

/* The whole include file from the devices (MAC order). */
static char *render(const json_t *devices, size_t *len_out, unsigned *n_out)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	unsigned n = 0;
	json_t *seen = json_object(), *keys = json_array();
	const char *mac;
	json_t *dev;

	json_object_foreach((json_t *)devices, mac, dev)
		json_array_append_new(keys, json_string(mac));
	/* jansson keeps insertion order: sort the MACs for a stable file */
	for (size_t i = 1; i < json_array_size(keys); i++)
		for (size_t k = i; k > 0 && strcmp(json_string_value(json_array_get(keys, k - 1)),
						   json_string_value(json_array_get(keys, k))) > 0;
		     k--) {
			json_t *a = json_incref(json_array_get(keys, k - 1));

			json_array_set(keys, k - 1, json_array_get(keys, k));
			json_array_set_new(keys, k, a);
		}
	put(&buf, &len, &cap, "; PJSIP endpoints of phoneprov's asterisk-pjsip flavor "
	    "(pjsip_wizard.conf). Generated: do not edit.\n");
	for (size_t i = 0; i < json_array_size(keys); i++) {
		const json_t *extra, *codecs, *lines, *line;
		char allow[256] = "!all", cbuf[32];
		size_t k;

		mac = json_string_value(json_array_get(keys, i));
		dev = json_object_get(devices, mac);
		if (json_is_true(json_object_get(dev, "prevent_sip")))
			continue;
		extra = json_object_get(dev, "extra");
		codecs = json_object_get(dev, "codecs");
		json_array_foreach(codecs, k, line) {
			const char *c = json_is_string(line) ? json_string_value(line) :
					str(line, "name", NULL);

			if (c && clean(c) && strlen(allow) + strlen(c) + 2 < sizeof(allow))
				snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), ",%s",
					 ast_codec(c, cbuf, sizeof(cbuf)));
		}
		put(&buf, &len, &cap, "\n; device %s phone_type %s\n", mac,
		    str(dev, "phone_type", "-"));
		lines = json_object_get(dev, "lines");
		json_array_foreach(lines, k, line) {
			const char *user = str(line, "username", NULL);
			const char *auth = str(line, "auth_username", user);
			const char *pw = str(line, "password", "");
			const char *dn = str(line, "display_name", NULL);
			const char *num = str(line, "number", user);
			const char *tr = str(line, "transport", str(extra, "transport", "udp"));
			const char *other;
			json_int_t mc = json_integer_value(json_object_get(extra, "max_contacts"));

			if (!user || !clean(user) || !clean(auth) || !clean(pw) || !clean(num) ||
			    (dn && !clean(dn)) || !clean(tr)) {
				put(&buf, &len, &cap, "; line %zu: skipped (no username, or a value "
				    "with a control character, ';' or brackets)\n", k + 1);
				continue;
			}
			if ((other = json_string_value(json_object_get(seen, user)))) {
				put(&buf, &len, &cap, "; line %zu: skipped: endpoint %s is already "
				    "device %s's\n", k + 1, user, other);
				continue;
			}
			json_object_set_new(seen, user, json_string(mac));
			put(&buf, &len, &cap,
			    "[%s]\n"
			    "type = wizard\n"
			    "; device = %s\n"
			    "; line = %zu\n"
			    "accepts_auth = yes\n"
			    "accepts_registrations = yes\n"
			    "transport = transport-%s\n"
			    "inbound_auth/username = %s\n"
			    "inbound_auth/password = %s\n"
			    "endpoint/context = %s\n"
			    "endpoint/allow = %s\n"
			    "endpoint/dtmf_mode = %s\n"
			    "endpoint/direct_media = %s\n"
			    "aor/max_contacts = %lld\n",
			    user, mac, k + 1, tr, auth, pw, str(extra, "context", "internal"),
			    allow, str(extra, "dtmf_mode", "rfc4733"),
			    json_is_true(json_object_get(extra, "direct_media")) ? "yes" : "no",
			    (long long)(mc > 0 ? mc : 1));
			if (dn)
				put(&buf, &len, &cap, "endpoint/callerid = \"%s\" <%s>\n", dn, num);
			if (str(extra, "mailbox", NULL) && clean(str(extra, "mailbox", NULL)))
				put(&buf, &len, &cap, "endpoint/mailboxes = %s\n",
				    str(extra, "mailbox", NULL));
			n++;
		}
	}
	put(&buf, &len, &cap, "\n; end: %u endpoints\n", n);
	json_decref(seen);
	json_decref(keys);
	*len_out = len;
	*n_out = n;
	return buf;
}

/* Both files from the state (the lock held). */
static int save(struct pjsip *s)
{
	char *js = json_dumps(s->devices, JSON_INDENT(1) | JSON_SORT_KEYS);
	char *inc;
	size_t len;
	unsigned n;
	int rc = PP_OK;

	if (!js || atomic_write(s->state_path, js, strlen(js), s->last_error,
				sizeof(s->last_error)) != 0)
		rc = PP_EIO;
	free(js);
	if (rc != PP_OK)
		return rc;
	inc = render(s->devices, &len, &n);
	if (!inc || atomic_write(s->include, inc, len, s->last_error, sizeof(s->last_error)) != 0)
		rc = PP_EIO;
	else
		s->writes++;
	free(inc);
	if (rc != PP_OK)
		fprintf(stderr, "level=warn event=asterisk-pjsip.write_failed error=\"%s\"\n", s->last_error);
	return rc;
}

/* The state file's lock (held until unlock_state); -1 when it cannot be had. */
static int lock_state(const struct pjsip *s)
{
	char path[PATH_MAX + 8];
	int fd;

	snprintf(path, sizeof(path), "%s.lock", s->state_path);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void unlock_state(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* The state as another process may have left it (kept as is when the file
 * is missing or unreadable). */
static void reload_state(struct pjsip *s)
{
	json_error_t je;
	json_t *j = json_load_file(s->state_path, JSON_REJECT_DUPLICATES, &je);

	if (json_is_object(j)) {
		json_decref(s->devices);
		s->devices = j;
	} else {
		json_decref(j);
	}
}

/* ---- hooks ---------------------------------------------------------------- */

static int pj_init(const json_t *settings, void **state)
{
	const char *inc = json_string_value(json_object_get(settings, "include_file"));
	const char *st = json_string_value(json_object_get(settings, "state_file"));
	struct pjsip *s;
	json_error_t je;
	int lfd, rc;

	if (!inc) {
		/* not configured (e.g. every bundled plugin enabled): idle, and
		 * the routes say what is missing */
		if (!(s = calloc(1, sizeof(*s))))
			return PP_ENOMEM;
		pthread_mutex_init(&s->lock, NULL);
		s->devices = json_object();
		*state = s;
		return PP_OK;
	}
	if (inc[0] != '/' || strlen(inc) > PATH_MAX - 16) {
		fprintf(stderr, "level=error event=asterisk-pjsip.settings error=\"include_file must be an "
			"absolute path (plugins.settings.asterisk-pjsip.include_file)\"\n");
		return PP_EINVAL;
	}
	if (!(s = calloc(1, sizeof(*s))))
		return PP_ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->include, sizeof(s->include), "%s", inc);
	if (st && *st)
		snprintf(s->state_path, sizeof(s->state_path), "%s", st);
	else
		snprintf(s->state_path, sizeof(s->state_path), "%s.json", inc);
	lfd = lock_state(s);
	s->devices = json_load_file(s->state_path, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(s->devices)) {
		if (access(s->state_path, F_OK) == 0)
			fprintf(stderr, "level=warn event=asterisk-pjsip.state_unreadable path=%s error=\"%s\" "
				"(starting empty)\n", s->state_path, je.text);
		json_decref(s->devices);
		s->devices = json_object();
	}
	rc = save(s);
	unlock_state(lfd);
	if (rc != PP_OK) {
		json_decref(s->devices);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return PP_EIO;
	}
	*state = s;
	return PP_OK;
}

static void pj_fini(void *state)
{
	struct pjsip *s = state;

	json_decref(s->devices);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void pj_device(void *state, int event, const json_t *dev, const json_t *config)
{
	struct pjsip *s = state;
	const char *mac = json_string_value(json_object_get(dev, "mac"));
	json_t *e;
	int lfd;

	if (!mac || !s->include[0])
		return;
	pthread_mutex_lock(&s->lock);
	lfd = lock_state(s);
	reload_state(s);
	if (event == PP_DEVICE_DELETED) {
		json_object_del(s->devices, mac);
	} else {
		const json_t *lines = json_object_get(config, "sip_lines");
		const json_t *codecs = json_object_get(config, "codecs");
		const json_t *extra = json_object_get(config, "extra");

		e = json_pack("{s:O?, s:b, s:O, s:O, s:O}", "phone_type",
			      json_object_get(dev, "phone_type"), "prevent_sip",
			      json_is_true(json_object_get(dev, "prevent_sip")), "extra",
			      json_is_object(extra) ? extra : json_object(), "codecs",
			      json_is_array(codecs) ? codecs : json_array(), "lines",
			      json_is_array(lines) ? lines : json_array());
		if (e)
			json_object_set_new(s->devices, mac, e);
	}
	(void)save(s);
	unlock_state(lfd);
	pthread_mutex_unlock(&s->lock);
}

static int pj_routes(void *state, const struct pp_hook_request *rq, struct pp_hook_response *rs)
{
	struct pjsip *s = state;
	int rc = PP_OK, lfd;

	if (!s->include[0]) {
		snprintf(rs->error, sizeof(rs->error), "not configured: set plugins.settings."
			 "asterisk-pjsip.include_file in phoneprov.yml");
		return PP_ENOTSUP;
	}
	pthread_mutex_lock(&s->lock);
	lfd = lock_state(s);
	reload_state(s);
	if (strcmp(rq->path, "include") == 0 && strcmp(rq->method, "GET") == 0) {
		size_t len;
		unsigned n;
		char *inc = render(s->devices, &len, &n);

		rs->body = json_pack("{s:s, s:s%, s:i, s:i, s:i}", "path", s->include, "content",
				     inc ? inc : "", inc ? len : 0, "endpoints", (int)n, "devices",
				     (int)json_object_size(s->devices), "writes", (int)s->writes);
		free(inc);
	} else if (strcmp(rq->path, "rewrite") == 0 && strcmp(rq->method, "POST") == 0) {
		rc = save(s);
		if (rc == PP_OK)
			rs->body = json_pack("{s:b, s:i}", "rewritten", 1, "writes", (int)s->writes);
		else
			snprintf(rs->error, sizeof(rs->error), "rewrite failed: %.230s", s->last_error);
	} else if (strcmp(rq->path, "include") == 0 || strcmp(rq->path, "rewrite") == 0) {
		snprintf(rs->error, sizeof(rs->error), "%s %s: use %s", rq->method, rq->path,
			 strcmp(rq->path, "include") == 0 ? "GET" : "POST");
		rc = PP_EBADREQ;
	} else {
		snprintf(rs->error, sizeof(rs->error), "no route '%s' (routes: GET include, "
			 "POST rewrite)", rq->path);
		rc = PP_ENOENT;
	}
	unlock_state(lfd);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static const char *const pj_admin_routes[] = { "rewrite", NULL };

const struct pp_plugin_hooks pp_plugin_hooks = {
	.abi = PP_HOOKS_ABI,
	.size = sizeof(struct pp_plugin_hooks),
	.init = pj_init,
	.fini = pj_fini,
	.routes = pj_routes,
	.on_device = pj_device,
	.admin_routes = pj_admin_routes,
};
