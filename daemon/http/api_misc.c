/* /api/v1: health, metrics (Prometheus text), plugins and firmware packages,
 * dhcpd.conf, call records, and the Server-Sent Events stream. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dhcp/dhcp.h"
#include "daemon/fw_client.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "daemon/monitor/monitor.h"
#include "daemon/monitor/records.h"
#include "daemon/plugin/plugin.h"
#include "daemon/plugin/identify_req.h"
#include "daemon/store/store.h"
#include "api_int.h"
#include "api_ops.h"

enum MHD_Result api_health(struct api_req *r)
{
	struct pp_snapshot *s = pp_daemon_acquire(r->api->d);
	json_t *j;

	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		pp_snapshot_release(s);
		return api_method_not_allowed(r, "GET, HEAD");
	}
	j = json_pack("{s:s, s:I, s:I, s:I}", "status", "ok", "uptime_s",
		      (json_int_t)((pp_now_ms() - r->api->started_ms) / 1000), "generation",
		      (json_int_t)s->generation, "plugins",
		      (json_int_t)(s->reg ? pp_registry_count(s->reg) : 0));
	pp_snapshot_release(s);
	return api_json(r, 200, j);
}

/* ---- metrics ------------------------------------------------------------- */

struct state_count {
	json_t *by_state; /* state -> integer */
};

static int count_cb(const char *mac, json_t *dev, void *arg)
{
	struct state_count *sc = arg;
	const char *st = json_string_value(json_object_get(dev, "state"));
	json_t *n;

	(void)mac;
	if (!st)
		st = "unknown";
	n = json_object_get(sc->by_state, st);
	json_object_set_new(sc->by_state, st, json_integer(n ? json_integer_value(n) + 1 : 1));
	return PP_OK;
}

static int count_txn(struct pp_txn *t, void *arg)
{
	struct state_count *sc = arg;

	json_object_clear(sc->by_state);
	return pp_dev_each(t, NULL, count_cb, sc);
}

static void counter(struct pp_buf *b, const char *name, const char *help)
{
	pp_buf_printf(b, "# HELP phoneprov_%s %s\n# TYPE phoneprov_%s counter\n", name, help, name);
}

static void proto_lines(struct pp_buf *b, const char *name, size_t off)
{
	static const char *const protos[] = { "tftp", "http", "api" };
	struct pp_proto_metrics *pm[] = { &pp_metrics.tftp, &pp_metrics.http, &pp_metrics.api };

	for (size_t i = 0; i < 3; i++) {
		atomic_ullong *v = (atomic_ullong *)((char *)pm[i] + off);

		pp_buf_printf(b, "phoneprov_%s{proto=\"%s\"} %llu\n", name, protos[i],
			      (unsigned long long)atomic_load(v));
	}
}

/* phoneprov_request_duration_seconds{proto} (cumulative buckets). */
static void histograms(struct pp_buf *b)
{
	static const char *const protos[] = { "tftp", "http", "api" };
	struct pp_hist *h[] = { &pp_metrics.tftp.duration, &pp_metrics.http.duration,
				&pp_metrics.api.duration };

	pp_buf_puts(b, "# HELP phoneprov_request_duration_seconds Request duration per protocol: "
		       "a TFTP transfer, an HTTP or API request to its last byte.\n"
		       "# TYPE phoneprov_request_duration_seconds histogram\n");
	for (size_t p = 0; p < PP_ARRAY_LEN(protos); p++) {
		unsigned long long cum = 0;

		for (size_t i = 0; i <= PP_HIST_BUCKETS; i++) {
			cum += atomic_load(&h[p]->bucket[i]);
			if (i < PP_HIST_BUCKETS)
				pp_buf_printf(b, "phoneprov_request_duration_seconds_bucket{proto=\"%s\","
					      "le=\"%g\"} %llu\n", protos[p], pp_hist_bounds_s[i], cum);
			else
				pp_buf_printf(b, "phoneprov_request_duration_seconds_bucket{proto=\"%s\","
					      "le=\"+Inf\"} %llu\n", protos[p], cum);
		}
		pp_buf_printf(b, "phoneprov_request_duration_seconds_sum{proto=\"%s\"} %.6f\n"
			      "phoneprov_request_duration_seconds_count{proto=\"%s\"} %llu\n",
			      protos[p], (double)atomic_load(&h[p]->sum_us) / 1e6, protos[p],
			      (unsigned long long)atomic_load(&h[p]->count));
	}
}

/* Process-wide counters that are not per protocol. */
static const struct {
	const char *name, *help;
	atomic_ullong *v;
} scalars[] = {
	{ "dhcp_packets_total", "DHCP packets seen by the sniffer.", &pp_metrics.dhcp_packets },
	{ "dhcp_malformed_total", "DHCP packets dropped as malformed.", &pp_metrics.dhcp_malformed },
	{ "renders_total", "Per-device files rendered.", &pp_metrics.renders },
	{ "render_errors_total", "Renders that failed.", &pp_metrics.render_errors },
	{ "bans_total", "Clients banned by the unknown-MAC limit.", &pp_metrics.bans },
	{ "provision_batches_total", "Write transactions of the provisioning worker.",
	  &pp_metrics.prov_batches },
	{ "provision_changes_total", "Device changes applied in those batches.",
	  &pp_metrics.prov_jobs },
	{ "provision_coalesced_total", "Phone requests that joined a change already queued.",
	  &pp_metrics.prov_coalesced },
	{ "provision_queue_full_total", "Phone requests told to come back: the queue was full.",
	  &pp_metrics.prov_queue_full },
	{ "provision_parked_total", "Requests parked until their device change was durable.",
	  &pp_metrics.prov_parked },
	{ "provision_done_dropped_total", "Finished transfers not recorded: the queue was full.",
	  &pp_metrics.prov_done_dropped },
	{ "mirror_errors_total", "Writes to the rendered-files mirror on disk that failed.",
	  &pp_metrics.mirror_errors },
};

enum MHD_Result api_metrics(struct api_req *r)
{
	struct state_count sc = { json_object() };
	struct pp_buf b = { 0 };
	static const char *const known[] = { "new", "configured", "provisioned" };
	const char *k;
	json_t *v;
	size_t len;
	int rc;

	if (strcmp(r->method, "GET") != 0)
		return api_method_not_allowed(r, "GET");
	counter(&b, "requests_total", "Requests received per protocol.");
	proto_lines(&b, "requests_total", offsetof(struct pp_proto_metrics, requests));
	counter(&b, "bytes_total", "Payload bytes sent per protocol.");
	proto_lines(&b, "bytes_total", offsetof(struct pp_proto_metrics, bytes));
	counter(&b, "transfers_total", "Transfers completed per protocol.");
	proto_lines(&b, "transfers_total", offsetof(struct pp_proto_metrics, transfers));
	counter(&b, "errors_total", "Requests answered with an error or aborted.");
	proto_lines(&b, "errors_total", offsetof(struct pp_proto_metrics, errors));
	counter(&b, "refused_total", "Requests refused: unsafe paths, bans, auth failures.");
	proto_lines(&b, "refused_total", offsetof(struct pp_proto_metrics, refused));
	for (size_t i = 0; i < PP_ARRAY_LEN(scalars); i++) {
		counter(&b, scalars[i].name, scalars[i].help);
		pp_buf_printf(&b, "phoneprov_%s %llu\n", scalars[i].name,
			      (unsigned long long)atomic_load(scalars[i].v));
	}

	rc = sc.by_state ? pp_store_read(r->api->d->store, count_txn, &sc) : PP_ENOMEM;
	pp_buf_printf(&b, "# HELP phoneprov_devices Devices in the store by state.\n"
			  "# TYPE phoneprov_devices gauge\n");
	for (size_t i = 0; i < PP_ARRAY_LEN(known); i++) {
		json_t *n = rc == PP_OK ? json_object_get(sc.by_state, known[i]) : NULL;

		pp_buf_printf(&b, "phoneprov_devices{state=\"%s\"} %lld\n", known[i],
			      n ? (long long)json_integer_value(n) : 0LL);
	}
	if (rc == PP_OK) {
		json_object_foreach(sc.by_state, k, v) {
			bool seen = false;

			for (size_t i = 0; i < PP_ARRAY_LEN(known); i++)
				seen |= strcmp(k, known[i]) == 0;
			if (seen)
				continue;
			/* label values: escape what Prometheus requires */
			pp_buf_puts(&b, "phoneprov_devices{state=\"");
			for (const char *p = k; *p; p++) {
				if (*p == '"' || *p == '\\')
					pp_buf_putc(&b, '\\');
				if (*p == '\n')
					pp_buf_puts(&b, "\\n");
				else
					pp_buf_putc(&b, *p);
			}
			pp_buf_printf(&b, "\"} %lld\n", (long long)json_integer_value(v));
		}
	}
	json_decref(sc.by_state);
	pp_buf_printf(&b, "# HELP phoneprov_provision_pending Device changes queued for the provisioning "
			  "worker or in its running batch.\n# TYPE phoneprov_provision_pending gauge\n"
			  "phoneprov_provision_pending %lld\n"
			  "# HELP phoneprov_mirror_pending Rendered files waiting to be written to (or removed "
			  "from) the disk mirror.\n# TYPE phoneprov_mirror_pending gauge\n"
			  "phoneprov_mirror_pending %lld\n",
		      (long long)atomic_load(&pp_metrics.prov_pending),
		      (long long)atomic_load(&pp_metrics.mirror_pending));
	pp_buf_printf(&b, "# HELP phoneprov_store_map_bytes LMDB map size.\n"
			  "# TYPE phoneprov_store_map_bytes gauge\nphoneprov_store_map_bytes %zu\n",
		      pp_store_mapsize(r->api->d->store));
	histograms(&b);
	pp_monitors_metrics(&b);
	pp_buf_printf(&b, "# HELP phoneprov_build_info The running phoneprovd's version.\n"
			  "# TYPE phoneprov_build_info gauge\n"
			  "phoneprov_build_info{version=\"%s\"} 1\n", PP_VERSION);
	if (!b.data)
		return api_error(r, 500, "", "out of memory");
	char *data = pp_buf_steal(&b, &len);

	return api_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", data, len);
}

/* ---- plugins and packages ------------------------------------------------ */

static json_t *plugin_summary(const struct pp_plugin *p)
{
	return json_pack("{s:s?, s:s?, s:s?, s:s?}", "name", p->name, "version", p->version,
			 "description", p->description, "vendor", p->vendor);
}

static enum MHD_Result packages(struct api_req *r, struct pp_snapshot *s,
				const struct pp_plugin *p)
{
	struct pp_err err = { 0 };
	json_t *out = NULL;
	int rc;

	if (r->nseg == 3) {
		if (strcmp(r->method, "GET") != 0)
			return api_method_not_allowed(r, "GET");
		rc = pp_fwc_list(s->cfg, p->name, &out, &err);
		if (rc != PP_OK)
			return api_code_error(r, rc, "packages", &err);
		return api_json(r, 200, json_pack("{s:s, s:o}", "plugin", p->name, "packages", out));
	}
	const char *pkg = r->seg[3];
	bool install = strcmp(r->method, "POST") == 0;

	if (!install && strcmp(r->method, "DELETE") != 0)
		return api_method_not_allowed(r, "POST, DELETE");
	if (r->auth != AUTH_ADMIN) {
		PP_COUNT(api.refused, 1);
		return api_error(r, 403, "Authorization",
				 "firmware administration needs the admin token");
	}
	return api_op_firmware(r, install, p->name, pkg);
}

enum MHD_Result api_plugins(struct api_req *r)
{
	struct pp_snapshot *s = pp_daemon_acquire(r->api->d);
	const struct pp_plugin *p;
	enum MHD_Result ret;

	if (r->nseg == 1) {
		json_t *arr = json_array();
		size_t n = s->reg ? pp_registry_count(s->reg) : 0;

		if (strcmp(r->method, "GET") != 0) {
			ret = api_method_not_allowed(r, "GET");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, plugin_summary(pp_registry_at(s->reg, i)));
		ret = api_json(r, 200, json_pack("{s:o, s:i}", "plugins", arr, "count",
						 (json_int_t)n));
		goto out;
	}
	p = s->reg ? pp_registry_find(s->reg, r->seg[1]) : NULL;
	if (!p) {
		ret = api_error(r, 404, "name", "no such plugin: %s", r->seg[1]);
		goto out;
	}
	if (r->nseg == 2) {
		json_t *j;

		if (strcmp(r->method, "GET") != 0) {
			ret = api_method_not_allowed(r, "GET");
			goto out;
		}
		j = plugin_summary(p);
		json_object_set(j, "meta", p->meta ? p->meta : json_null());
		ret = api_json(r, 200, j);
		goto out;
	}
	if ((r->nseg == 3 || r->nseg == 4) && strcmp(r->seg[2], "packages") == 0) {
		ret = packages(r, s, p);
		goto out;
	}
	ret = api_error(r, 404, "", "no such endpoint");
out:
	pp_snapshot_release(s);
	return ret;
}

/* ---- dhcpd.conf ------------------------------------------------------------ */

enum MHD_Result api_dhcpd_conf(struct api_req *r)
{
	struct pp_snapshot *s;
	struct pp_err err = { 0 };
	struct pp_buf b = { 0 };
	const char *f = api_query(r, "format");
	enum pp_dhcpd_format fmt = PP_DHCPD_ISC;
	size_t len;
	int rc;

	if (strcmp(r->method, "GET") != 0)
		return api_method_not_allowed(r, "GET");
	if (f && strcmp(f, "kea") == 0)
		fmt = PP_DHCPD_KEA;
	else if (f && strcmp(f, "isc") != 0)
		return api_error(r, 400, "format", "format must be isc or kea");
	s = pp_daemon_acquire(r->api->d);
	rc = pp_dhcpd_conf(s->reg, s->cfg, fmt, &b, &err);
	pp_snapshot_release(s);
	if (rc != PP_OK) {
		pp_buf_free(&b);
		return api_code_error(r, rc, "dhcpd.conf", &err);
	}
	char *data = pp_buf_steal(&b, &len);

	return api_text(r, 200, fmt == PP_DHCPD_KEA ? "application/json" : "text/plain", data,
			len);
}

/* ---- whoami ---------------------------------------------------------------- */

/* GET /whoami: what the presented token allows ({"role": "user"|"admin"}),
 * so that a client (the web console) shows only the actions it may take. */
enum MHD_Result api_whoami(struct api_req *r)
{
	return api_json(r, 200, json_pack("{s:s}", "role",
					  r->auth == AUTH_ADMIN ? "admin" : "user"));
}

/* ---- identify -------------------------------------------------------------- */

/* POST /identify: what `phoneprov identify` prints for the inputs of the
 * body (the keys of its --batch lines), from the running registry. */
enum MHD_Result api_identify(struct api_req *r)
{
	struct pp_identify_req q = { 0 };
	struct pp_snapshot *s;
	enum MHD_Result ret;
	json_t *body = api_body_object(r, &ret), *out;
	const char *bad;

	if (!body)
		return ret;
	if (pp_identify_req_json(&q, body, &bad) != 0) {
		char qb[80];

		snprintf(qb, sizeof(qb), "%s", bad); /* the body goes before the key does */
		json_decref(body);
		pp_identify_req_free(&q);
		return api_error(r, 422, qb, "%s: not an input of identify (dhcp_vci, "
				 "dhcp_vci_hex, user_agent, user_agent_hex, http_path, tftp_file, "
				 "dhcp_hostname, dhcp_client_id, dhcp_user_class: strings; "
				 "*_hex: hexadecimal bytes)", qb);
	}
	json_decref(body);
	if (q.n == 0) {
		pp_identify_req_free(&q);
		return api_error(r, 422, "", "give at least one input (user_agent, dhcp_vci, "
				 "http_path, tftp_file, ...)");
	}
	s = pp_daemon_acquire(r->api->d);
	out = pp_identify_json(s->reg, &q.in);
	pp_snapshot_release(s);
	pp_identify_req_free(&q);
	return api_json(r, 200, out);
}

/* ---- records --------------------------------------------------------------- */

/* Filters, CSV and storage of call records: daemon/monitor/records.c. */
struct log_arg {
	json_t *arr;
	struct pp_buf csv;
	bool csv_on;
	struct pp_rec_filter *f;
	size_t limit;
	uint64_t last;
};

static int rec_cb(uint64_t seq, json_t *val, void *arg)
{
	struct log_arg *a = arg;
	json_t *o;

	if (a->csv_on) {
		pp_rec_csv_row(&a->csv, seq, val);
		return PP_OK;
	}
	o = json_deep_copy(val);
	if (!o)
		return PP_ENOMEM;
	json_object_set_new(o, "seq", json_integer((json_int_t)seq));
	json_array_append_new(a->arr, o);
	return PP_OK;
}

static int rec_txn(struct pp_txn *t, void *arg)
{
	struct log_arg *a = arg;

	json_array_clear(a->arr);
	pp_buf_reset(&a->csv);
	if (a->csv_on)
		pp_rec_csv_header(&a->csv);
	return pp_rec_query(t, a->f, a->limit, rec_cb, a, &a->last);
}

enum MHD_Result api_records(struct api_req *r)
{
	static const char *const filters[] = { "since", "monitor", "number", "ext", "direction",
					       "from", "to", "parsed" };
	const char *fmt = api_query(r, "format");
	const char *accept = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "Accept");
	struct pp_rec_filter f;
	struct log_arg a = { 0 };
	uint64_t limit;
	char why[200];
	int rc;

	if (strcmp(r->method, "GET") != 0)
		return api_method_not_allowed(r, "GET");
	if (api_query_u64(r, "limit", 100, 10000, &limit) != 0)
		return MHD_YES;
	if (fmt && strcmp(fmt, "csv") && strcmp(fmt, "json"))
		return api_error(r, 400, "format", "format must be json or csv");
	a.csv_on = fmt ? !strcmp(fmt, "csv") : (accept && strstr(accept, "text/csv") != NULL);
	pp_rec_filter_init(&f);
	for (size_t i = 0; i < PP_ARRAY_LEN(filters); i++) {
		const char *v = api_query(r, filters[i]);

		if (v && pp_rec_filter_set(&f, filters[i], v, why, sizeof(why)) != PP_OK) {
			pp_rec_filter_free(&f);
			return api_error(r, 400, filters[i], "%s", why);
		}
	}
	a.f = &f;
	a.limit = limit ? (size_t)limit : 1;
	a.arr = json_array();
	rc = pp_store_read(r->api->d->store, rec_txn, &a);
	pp_rec_filter_free(&f);
	if (rc != PP_OK) {
		json_decref(a.arr);
		pp_buf_free(&a.csv);
		return api_code_error(r, rc, "records", NULL);
	}
	if (a.csv_on) {
		size_t len;
		char *data = pp_buf_steal(&a.csv, &len);

		json_decref(a.arr);
		return api_text(r, 200, "text/csv; charset=utf-8", data, len);
	}
	pp_buf_free(&a.csv);
	return api_json(r, 200, json_pack("{s:o, s:I}", "records", a.arr, "next",
					  (json_int_t)a.last));
}

/* ---- Server-Sent Events ------------------------------------------------------ */

#define SSE_POLL_MS 200
#define SSE_KEEPALIVE_MS 15000

struct sse {
	struct pp_api *api;
	uint64_t since;
	uint64_t bell;      /* events bell count last seen (records.h) */
	struct pp_buf out;
	size_t off;
	int64_t last_ms;
};

static int sse_cb_event(uint64_t seq, json_t *val, void *arg)
{
	struct sse *x = arg;
	const char *type = json_string_value(json_object_get(val, "type"));
	char *data = json_dumps(val, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);

	if (!data)
		return PP_ENOMEM;
	/* compact JSON holds no raw newline: one data line */
	pp_buf_printf(&x->out, "id: %llu\nevent: %s\ndata: %s\n\n", (unsigned long long)seq,
		      type ? type : "event", data);
	free(data);
	x->since = seq;
	return PP_OK;
}

static int sse_txn(struct pp_txn *t, void *arg)
{
	struct sse *x = arg;

	return pp_event_each(t, x->since, 100, sse_cb_event, x);
}

static int tail_cb(uint64_t seq, json_t *val, void *arg)
{
	(void)val;
	*(uint64_t *)arg = seq;
	return PP_OK;
}

static int tail_txn(struct pp_txn *t, void *arg)
{
	uint64_t *seq = arg, before;
	int rc;

	do {
		before = *seq;
		rc = pp_event_each(t, *seq, 10000, tail_cb, seq);
	} while (rc == PP_OK && *seq != before);
	return rc;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse *x = cls;

	(void)pos;
	for (;;) {
		if (x->off < x->out.len) {
			size_t n = x->out.len - x->off;

			if (n > max)
				n = max;
			memcpy(buf, x->out.data + x->off, n);
			x->off += n;
			PP_COUNT(api.bytes, n);
			return (ssize_t)n;
		}
		pp_buf_reset(&x->out);
		x->off = 0;
		if (atomic_load(&x->api->stopping) || !atomic_load(&x->api->d->running))
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (pp_store_read(x->api->d->store, sse_txn, x) != PP_OK)
			pp_buf_reset(&x->out);
		if (x->out.len) {
			x->last_ms = pp_now_ms();
			continue;
		}
		if (pp_now_ms() - x->last_ms >= SSE_KEEPALIVE_MS) {
			pp_buf_puts(&x->out, ": keepalive\n\n");
			x->last_ms = pp_now_ms();
			continue;
		}
		/* thread-per-connection: blocking here only holds this stream;
		 * the bell wakes us as soon as this process stores an event
		 * (monitors' records), slices of 50 ms notice a stop, and the
		 * store is polled every 200 ms for other writers (the CLI) */
		for (int i = 0; i < SSE_POLL_MS / 50 && !atomic_load(&x->api->stopping); i++)
			if (pp_events_bell_wait(&x->bell, 50))
				break;
	}
}

static void sse_free(void *cls)
{
	struct sse *x = cls;

	pp_buf_free(&x->out);
	free(x);
}

enum MHD_Result api_events(struct api_req *r)
{
	const char *lei = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, "Last-Event-ID");
	struct MHD_Response *resp;
	struct sse *x;
	uint64_t since = 0;
	int rc;

	if (strcmp(r->method, "GET") != 0)
		return api_method_not_allowed(r, "GET");
	if (lei) {
		char *end;

		since = strtoull(lei, &end, 10);
		if (!*lei || *end)
			return api_error(r, 400, "Last-Event-ID", "Last-Event-ID must be a number");
	} else if (api_query(r, "since")) {
		if (api_query_u64(r, "since", 0, INT64_MAX, &since) != 0)
			return MHD_YES;
	} else {
		rc = pp_store_read(r->api->d->store, tail_txn, &since);
		if (rc != PP_OK)
			return api_code_error(r, rc, "events", NULL);
	}
	x = calloc(1, sizeof(*x));
	if (!x)
		return api_error(r, 500, "", "out of memory");
	x->api = r->api;
	x->bell = pp_events_bell_count();
	x->since = since;
	x->last_ms = pp_now_ms();
	pp_buf_printf(&x->out, "retry: 2000\n: phoneprov events since %llu\n\n",
		      (unsigned long long)since);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, sse_read, x, sse_free);
	if (!resp) {
		sse_free(x);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	MHD_set_connection_option(r->c, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
	PP_COUNT(api.transfers, 1);
	r->responded = true;
	enum MHD_Result ret = MHD_queue_response(r->c, 200, resp);

	MHD_destroy_response(resp);
	return ret;
}
