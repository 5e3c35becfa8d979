/* dect-base: a phone flavor for DECT multicell systems. Its job polls the
 * base station's status page (settings: status_url) and keeps the handsets
 * it reports; its routes show them; its lifecycle hook keeps which device
 * (phone type dect-handset, extra.ipui) each IPUI is. See docs/flavors.md.
 *
 * Threads: the job runs on the jobs thread, routes on the API threads,
 * on_device wherever a device changes: one mutex guards the state; the
 * HTTP fetch itself runs without it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>

#include "daemon/plugin/hooks.h"
#include "lib/common.h"
#include "status.h"

struct dect {
	pthread_mutex_t lock;
	char url[1024];
	long timeout_ms;
	json_t *status;       /* the last page parsed ({base, handsets}), NULL before */
	json_t *ipui2mac;     /* IPUI -> device MAC (on_device) */
	unsigned polls, failures;
	long long last_ok_ms;
	char last_error[300];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct page {
	char *data;
	size_t len;
	bool too_big;
};

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
	struct page *pg = arg;
	size_t add = sz * n;
	char *nd;

	if (pg->len + add > DECT_STATUS_MAX) {
		pg->too_big = true;
		return 0; /* aborts the transfer */
	}
	if (!(nd = realloc(pg->data, pg->len + add + 1)))
		return 0;
	memcpy(nd + pg->len, p, add);
	pg->data = nd;
	pg->len += add;
	return add;
}

static int d_init(const json_t *settings, void **state)
{
	const char *url = json_string_value(json_object_get(settings, "status_url"));
	const json_t *to = json_object_get(settings, "timeout_ms");
	struct dect *s;

	/* without status_url the flavor is idle: its job answers "not
	 * implemented" at start and is never scheduled */
	if (url && ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
		    strlen(url) >= 1024)) {
		fprintf(stderr, "level=error event=dect-base.settings error=\"status_url must be an http:// or "
			"https:// URL of at most 1023 bytes (plugins.settings.dect-base.status_url)"
			"\"\n");
		return PP_EINVAL;
	}
	if (to && (!json_is_integer(to) || json_integer_value(to) < 100 ||
		   json_integer_value(to) > 60000)) {
		fprintf(stderr, "level=error event=dect-base.settings error=\"timeout_ms must be an integer "
			"of 100..60000\"\n");
		return PP_EINVAL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(s = calloc(1, sizeof(*s))))
		return PP_ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->url, sizeof(s->url), "%s", url ? url : "");
	s->timeout_ms = to ? (long)json_integer_value(to) : 5000;
	s->ipui2mac = json_object();
	*state = s;
	return PP_OK;
}

static void d_fini(void *state)
{
	struct dect *s = state;

	json_decref(s->status);
	json_decref(s->ipui2mac);
	pthread_mutex_destroy(&s->lock);
	free(s);
	curl_global_cleanup();
}

/* One poll: fetch, parse, keep. A failure keeps the last good list and
 * returns PP_EIO (the daemon logs it and polls again one interval later). */
static int d_job(void *state)
{
	struct dect *s = state;
	struct page pg = { 0 };
	char err[300] = "", perr[200];
	json_t *st = NULL;
	CURL *c = curl_easy_init();
	CURLcode cc;
	long code = 0;

	if (!s->url[0]) {
		curl_easy_cleanup(c);
		return PP_ENOTSUP;
	}
	if (!c)
		return PP_ENOMEM;
	curl_easy_setopt(c, CURLOPT_URL, s->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &pg);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "phoneprov-dect-base/1.0");
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	if (pg.too_big)
		snprintf(err, sizeof(err), "%.200s: status page larger than 1 MiB", s->url);
	else if (cc != CURLE_OK)
		snprintf(err, sizeof(err), "%.200s: %s", s->url, curl_easy_strerror(cc));
	else if (code != 200)
		snprintf(err, sizeof(err), "%.200s: HTTP status %ld", s->url, code);
	else if (dect_status_parse(pg.data ? pg.data : "", pg.len, &st, perr, sizeof(perr)) != 0)
		snprintf(err, sizeof(err), "%.200s: %.90s", s->url, perr);
	free(pg.data);
	pthread_mutex_lock(&s->lock);
	s->polls++;
	if (err[0]) {
		s->failures++;
		snprintf(s->last_error, sizeof(s->last_error), "%s", err);
	} else {
		json_decref(s->status);
		s->status = st;
		s->last_ok_ms = now_ms();
		s->last_error[0] = '\0';
	}
	pthread_mutex_unlock(&s->lock);
	if (err[0]) {
		fprintf(stderr, "level=warn event=dect-base.poll_failed error=\"%s\"\n", err);
		return PP_EIO;
	}
	return PP_OK;
}

static void d_device(void *state, int event, const json_t *dev, const json_t *config)
{
	struct dect *s = state;
	const char *mac = json_string_value(json_object_get(dev, "mac"));
	const char *ipui = json_string_value(json_object_get(json_object_get(config, "extra"),
							     "ipui"));
	const char *k;
	json_t *v;
	void *tmp;

	if (!mac)
		return;
	pthread_mutex_lock(&s->lock);
	json_object_foreach_safe(s->ipui2mac, tmp, k, v)
		if (strcmp(json_string_value(v), mac) == 0)
			json_object_del(s->ipui2mac, k);
	if (event != PP_DEVICE_DELETED && ipui)
		json_object_set_new(s->ipui2mac, ipui, json_string(mac));
	pthread_mutex_unlock(&s->lock);
}

/* A handset with the device it belongs to (null when none). */
static json_t *with_device(const struct dect *s, const json_t *h)
{
	json_t *o = json_deep_copy(h);
	json_t *mac = json_object_get(s->ipui2mac, json_string_value(json_object_get(h, "ipui")));

	json_object_set(o, "device", mac ? mac : json_null());
	return o;
}

static int d_routes(void *state, const struct pp_hook_request *rq, struct pp_hook_response *rs)
{
	struct dect *s = state;
	const json_t *hs;
	int rc = PP_OK;

	if (strcmp(rq->method, "GET") != 0) {
		snprintf(rs->error, sizeof(rs->error), "%s %s: the routes of dect-base are GET only",
			 rq->method, rq->path);
		return PP_EBADREQ;
	}
	pthread_mutex_lock(&s->lock);
	hs = json_object_get(s->status, "handsets");
	if (strcmp(rq->path, "handsets") == 0) {
		const char *state_f = json_string_value(json_object_get(rq->query_args, "state"));
		json_t *list = json_array(), *h;
		size_t i;

		json_array_foreach(hs, i, h)
			if (!state_f || strcmp(state_f, json_string_value(json_object_get(h, "state")) ?
					       json_string_value(json_object_get(h, "state")) : "") == 0)
				json_array_append_new(list, with_device(s, h));
		rs->body = json_pack("{s:o, s:O?, s:s, s:i, s:i, s:I, s:s?}", "handsets", list,
				     "base", json_object_get(s->status, "base"), "status_url",
				     s->url, "polls", (int)s->polls, "failures", (int)s->failures,
				     "last_ok_ms", (json_int_t)s->last_ok_ms, "last_error",
				     s->last_error[0] ? s->last_error : NULL);
	} else if (strncmp(rq->path, "handsets/", 9) == 0) {
		json_t *h;
		size_t i;

		rc = PP_ENOENT;
		snprintf(rs->error, sizeof(rs->error), "no handset with IPUI %s", rq->path + 9);
		json_array_foreach(hs, i, h)
			if (strcasecmp(json_string_value(json_object_get(h, "ipui")), rq->path + 9) ==
			    0) {
				rs->body = with_device(s, h);
				rs->error[0] = '\0';
				rc = PP_OK;
				break;
			}
	} else {
		snprintf(rs->error, sizeof(rs->error), "no route '%s' (routes: GET handsets, GET "
			 "handsets/<ipui>)", rq->path);
		rc = PP_ENOENT;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

const struct pp_plugin_hooks pp_plugin_hooks = {
	.abi = PP_HOOKS_ABI,
	.size = sizeof(struct pp_plugin_hooks),
	.init = d_init,
	.fini = d_fini,
	.on_device = d_device,
	.routes = d_routes,
	.job = d_job,
	.job_interval_s = 30,
};
