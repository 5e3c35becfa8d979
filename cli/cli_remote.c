/* Commands answered by the running daemon through its REST API (libcurl,
 * to api.listen on this machine): `status` (the daemon's view, or the
 * store's when it does not run) and `synchronize` (the daemon sends the
 * phone its SIP NOTIFY). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "lib/fs.h"
#include "daemon/plugin/plugin.h"
#include "daemon/store/store.h"

#define API_TIMEOUT_S 10L
#define API_ANSWER_MAX (4u << 20)

/* First line of a token file, or "" when it cannot be read. */
static void read_token(const char *path, char *out, size_t n)
{
	struct pp_err err = { 0 };
	char *buf = NULL;
	size_t len = 0;

	out[0] = '\0';
	if (pp_file_read(path, 4096, &buf, &len, &err) != PP_OK || !buf)
		return;
	len = strcspn(buf, "\r\n");
	if (len < n) {
		memcpy(out, buf, len);
		out[len] = '\0';
	}
	free(buf);
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct pp_buf *b = arg;

	if (b->len + size * n > API_ANSWER_MAX || pp_buf_append(b, p, size * n) != PP_OK)
		return 0;
	return size * n;
}

/* http://HOST:PORT for api.listen: a wildcard address is reached on the
 * loopback of its family. */
static void base_url(const struct pp_listen *l, char *out, size_t n)
{
	const char *h = l->host;
	bool v6 = strchr(h, ':') != NULL;

	if (!strcmp(h, "0.0.0.0"))
		h = "127.0.0.1";
	else if (!strcmp(h, "::"))
		h = "::1";
	snprintf(out, n, "http://%s%s%s:%u/api/v1", v6 ? "[" : "", h, v6 ? "]" : "", l->port);
}

int pp_cli_api(struct pp_cli *c, const char *method, const char *path, long *status,
	       json_t **out, struct pp_err *err)
{
	char url[512], token[256], auth[300];
	struct curl_slist *hdr = NULL;
	struct pp_buf b = { 0 };
	CURL *h;
	CURLcode cc;
	int rc = PP_OK;

	*status = 0;
	if (out)
		*out = NULL;
	if (pp_cli_open_config(c))
		return PP_EINVAL;
	base_url(&c->cfg->api.listen, url, sizeof(url));
	snprintf(url + strlen(url), sizeof(url) - strlen(url), "%s", path);
	read_token(c->cfg->api.admin_token_file, token, sizeof(token));
	if (!token[0])
		read_token(c->cfg->api.token_file, token, sizeof(token));
	h = curl_easy_init();
	if (!h) {
		pp_err_set(err, "cannot start libcurl");
		return PP_ENOMEM;
	}
	if (token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hdr = curl_slist_append(hdr, auth);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*"); /* the daemon is on this machine */
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 3L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, API_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		pp_err_set(err, "phoneprovd does not answer on %s (%s)", c->cfg->api.listen.text,
			   curl_easy_strerror(cc));
		rc = PP_EIO;
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
		if (out && b.len)
			*out = json_loadb(b.data, b.len, 0, NULL);
		if (out && !*out && b.len) /* text (metrics): as a JSON string */
			*out = json_stringn(b.data, b.len);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	pp_buf_free(&b);
	explicit_bzero(token, sizeof(token));
	explicit_bzero(auth, sizeof(auth));
	return rc;
}

/* ---- status ------------------------------------------------------------- */

/* The `name{label="VALUE"} N` lines of a Prometheus text into obj:
 * VALUE -> N. */
static void metric_by_label(const char *text, const char *name, json_t *obj)
{
	size_t nl = strlen(name);
	const char *p = text;

	while (p && *p) {
		const char *q, *e, *end = strchr(p, '\n');
		char val[64];

		if (strncmp(p, name, nl) == 0 && p[nl] == '{' && (q = strchr(p + nl, '"')) &&
		    (e = strchr(q + 1, '"')) && (!end || e < end) && e[1] == '}' &&
		    (size_t)(e - q - 1) < sizeof(val)) {
			memcpy(val, q + 1, (size_t)(e - q - 1));
			val[e - q - 1] = '\0';
			json_object_set_new(obj, val, json_integer(strtoll(e + 2, NULL, 10)));
		}
		p = end ? end + 1 : NULL;
	}
}

struct count_arg {
	json_t *by_state;
};

static int count_cb(const char *mac, json_t *dev, void *arg)
{
	struct count_arg *a = arg;
	const char *st = json_string_value(json_object_get(dev, "state"));
	json_t *n;

	(void)mac;
	st = st ? st : "unknown";
	n = json_object_get(a->by_state, st);
	json_object_set_new(a->by_state, st, json_integer(n ? json_integer_value(n) + 1 : 1));
	return PP_OK;
}

static int count_txn(struct pp_txn *t, void *arg)
{
	json_object_clear(((struct count_arg *)arg)->by_state);
	return pp_dev_each(t, NULL, count_cb, arg);
}

static void print_counts(const char *what, json_t *obj)
{
	const char *k;
	json_t *v;
	long long total = 0;
	bool first = true;

	json_object_foreach(obj, k, v)
		total += json_integer_value(v);
	printf("%-10s %lld", what, total);
	json_object_foreach(obj, k, v) {
		printf("%s%s %lld", first ? " (" : ", ", k, (long long)json_integer_value(v));
		first = false;
	}
	printf("%s\n", first ? "" : ")");
}

static const char status_help[] =
	"Usage: phoneprov [-c FILE] [--json] status\n"
	"The running daemon as its REST API (api.listen) tells: version, uptime,\n"
	"configuration generation, plugins, devices by state, requests per protocol.\n"
	"When it does not answer, what the store holds.\n"
	"Exit status: 0 running, 3 not running, 1 failure.\n";

int pp_cmd_status(struct pp_cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct pp_err err = { 0 };
	json_t *health = NULL, *metrics = NULL, *out;
	long st = 0;
	int o, rc;

	while ((o = pp_cli_getopt("status", argc, argv, "h", opts)) != -1) {
		if (o == 'h') {
			fputs(status_help, stdout);
			return 0;
		}
		return 2;
	}
	if (optind < argc)
		return pp_cli_usage_error("status", "unexpected argument '%s'", argv[optind]);
	if (pp_cli_open_config(c))
		return 1;
	rc = pp_cli_api(c, "GET", "/health", &st, &health, &err);
	if (rc == PP_OK && st == 200 && json_is_object(health)) {
		json_t *devices = json_object(), *requests = json_object();
		long mst = 0;
		const char *text;

		if (pp_cli_api(c, "GET", "/metrics", &mst, &metrics, &err) == PP_OK && mst == 200 &&
		    (text = json_string_value(metrics))) {
			json_t *build = json_object();

			metric_by_label(text, "phoneprov_devices", devices);
			metric_by_label(text, "phoneprov_requests_total", requests);
			metric_by_label(text, "phoneprov_build_info", build);
			if (json_object_size(build))
				json_object_set_new(health, "version",
						    json_string(json_object_iter_key(
							    json_object_iter(build))));
			json_decref(build);
		}
		out = json_pack("{s:b, s:s, s:O, s:O?, s:O, s:O, s:o, s:o}", "running", 1, "api",
				c->cfg->api.listen.text, "uptime_s",
				json_object_get(health, "uptime_s"), "version",
				json_object_get(health, "version"), "generation",
				json_object_get(health, "generation"), "plugins",
				json_object_get(health, "plugins"), "devices", devices, "requests",
				requests);
		if (c->json) {
			pp_cli_print_json(out);
		} else {
			long long up = json_integer_value(json_object_get(out, "uptime_s"));

			printf("phoneprovd running (api %s%s%s), up %lldd %02lld:%02lld:%02lld, "
			       "configuration generation %lld, %lld plugins\n",
			       c->cfg->api.listen.text,
			       json_object_get(out, "version") ? ", version " : "",
			       json_object_get(out, "version") ?
				       json_string_value(json_object_get(out, "version")) : "",
			       up / 86400, up / 3600 % 24, up / 60 % 60, up % 60,
			       (long long)json_integer_value(json_object_get(out, "generation")),
			       (long long)json_integer_value(json_object_get(out, "plugins")));
			if (json_object_size(devices))
				print_counts("devices", devices);
			if (json_object_size(requests))
				print_counts("requests", requests);
			if (!json_object_size(devices))
				printf("(devices and requests need a readable token: %s)\n",
				       c->cfg->api.admin_token_file);
		}
		json_decref(out);
		json_decref(health);
		json_decref(metrics);
		return 0;
	}
	json_decref(health);
	if (rc == PP_OK) /* something answers, but not a phoneprovd */
		snprintf(err.msg, sizeof(err.msg), "%s answers HTTP %ld to /api/v1/health, not as "
			 "phoneprovd does", c->cfg->api.listen.text, st);
	/* not running: what the store holds */
	{
		struct count_arg a = { json_object() };
		size_t plugins = 0;

		if (pp_cli_open_daemon(c)) {
			json_decref(a.by_state);
			return 1;
		}
		pp_store_read(c->d.store, count_txn, &a);
		{
			struct pp_snapshot *s = pp_daemon_acquire(&c->d);

			plugins = s->reg ? pp_registry_count(s->reg) : 0;
			pp_snapshot_release(s);
		}
		if (c->json) {
			out = json_pack("{s:b, s:s, s:s, s:i, s:o}", "running", 0, "api",
					c->cfg->api.listen.text, "reason", err.msg, "plugins",
					(json_int_t)plugins, "devices", a.by_state);
			pp_cli_print_json(out);
			json_decref(out);
		} else {
			printf("phoneprovd not running: %s\n", err.msg);
			printf("%-10s %zu\n", "plugins", plugins);
			print_counts("devices", a.by_state);
			json_decref(a.by_state);
		}
	}
	return 3;
}

/* ---- synchronize -------------------------------------------------------- */

int pp_cmd_synchronize(struct pp_cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "port", required_argument, NULL, 'p' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct pp_err err = { 0 };
	const char *port = NULL;
	char path[128], mac[18], **ops;
	json_t *ans = NULL;
	long st = 0;
	int o, rc;

	while ((o = pp_cli_getopt("synchronize", argc, argv, "h", opts)) != -1) {
		switch (o) {
		case 'h':
			printf("Usage: phoneprov [-c FILE] [--json] synchronize MAC [--port=N]\n"
			       "Ask the phone to fetch its configuration again: the running daemon\n"
			       "sends it a SIP NOTIFY (Event: check-sync) on UDP port N (default\n"
			       "5060) of its IP address (POST /api/v1/devices/MAC/synchronize),\n"
			       "retransmitted until the phone answers or Timer F (64*T1) expires;\n"
			       "waits for the operation's end and prints it. Exit 0 when the phone\n"
			       "answered 2xx, 1 when it refused (>= 300) or did not answer.\n");
			return 0;
		case 'p':
			if (strspn(optarg, "0123456789") != strlen(optarg) || !*optarg ||
			    strlen(optarg) > 5 || atoi(optarg) < 1 || atoi(optarg) > 65535)
				return pp_cli_usage_error("synchronize", "--port needs 1..65535");
			port = optarg;
			break;
		default:
			return 2;
		}
	}
	if (pp_cli_operands(argc, argv, &ops) != 1)
		return pp_cli_usage_error("synchronize", "%s", argc - optind ? "one MAC at a time" :
					  "which device? (synchronize MAC)");
	if (pp_mac_normalize(ops[0], strlen(ops[0]), mac) != PP_OK) {
		fprintf(stderr, "phoneprov synchronize: '%s' is not a MAC address\n", ops[0]);
		return 2;
	}
	snprintf(path, sizeof(path), "/devices/%s/synchronize%s%s", mac, port ? "?port=" : "",
		 port ? port : "");
	rc = pp_cli_api(c, "POST", path, &st, &ans, &err);
	if (rc != PP_OK) {
		fprintf(stderr, "phoneprov synchronize: %s (the daemon sends the NOTIFY)\n",
			err.msg);
		return 1;
	}
	if (st != 202) {
		fprintf(stderr, "phoneprov synchronize: %s: %s (HTTP %ld)\n", mac,
			json_string_value(json_object_get(ans, "error")) ?
				json_string_value(json_object_get(ans, "error")) : "refused", st);
		json_decref(ans);
		return 1;
	}
	/* 202: an operation; follow it to its end (Timer F bounds it: 64*T1) */
	const char *id = json_string_value(json_object_get(ans, "id"));
	char opath[160];

	if (!id || strlen(id) > 64) {
		fprintf(stderr, "phoneprov synchronize: %s: answer without an operation id\n", mac);
		json_decref(ans);
		return 1;
	}
	snprintf(opath, sizeof(opath), "/operations/%s", id);
	while (strcmp(json_string_value(json_object_get(ans, "state")) ?
			      json_string_value(json_object_get(ans, "state")) : "", "running") == 0) {
		struct timespec ts = { 0, 100 * 1000000L };

		nanosleep(&ts, NULL);
		json_decref(ans);
		ans = NULL;
		rc = pp_cli_api(c, "GET", opath, &st, &ans, &err);
		if (rc != PP_OK || st != 200) {
			fprintf(stderr, "phoneprov synchronize: following %s: %s\n", opath,
				rc != PP_OK ? err.msg : "the operation is gone (daemon restarted?)");
			json_decref(ans);
			return 1;
		}
	}
	const char *state = json_string_value(json_object_get(ans, "state"));
	json_t *res = json_object_get(ans, "result");
	bool ok = state && strcmp(state, "ok") == 0;

	if (c->json) {
		pp_cli_print_json(ans);
	} else if (ok) {
		printf("%s: NOTIFY (%s) to %s:%lld answered %lld %s (%lld retransmissions)\n", mac,
		       json_string_value(json_object_get(res, "event")),
		       json_string_value(json_object_get(res, "ip")),
		       (long long)json_integer_value(json_object_get(res, "port")),
		       (long long)json_integer_value(json_object_get(res, "code")),
		       json_string_value(json_object_get(res, "reason")) ?
			       json_string_value(json_object_get(res, "reason")) : "",
		       (long long)json_integer_value(json_object_get(res, "retransmissions")));
	} else {
		fprintf(stderr, "phoneprov synchronize: %s: %s: %s\n", mac, state ? state : "?",
			json_string_value(json_object_get(ans, "error")) ?
				json_string_value(json_object_get(ans, "error")) : "");
	}
	json_decref(ans);
	return ok ? 0 : 1;
}
