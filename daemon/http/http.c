/* HTTP file server (libmicrohttpd) on http.listen: GET and HEAD of rendered
 * per-device files and of the static tree, through pp_prov_fetch.
 * Conditional GET (ETag / Last-Modified), single byte ranges, keep-alive,
 * zero-copy sends of static files (MHD → sendfile). See docs/http.md. */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <limits.h>
#include <unistd.h>
#include <microhttpd.h>

#include "daemon/daemon.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "daemon/provision/provision.h"
#include "http_int.h"
#include "http_util.h"
#include "tls.h"
#include "paccept.h"

#define HTTP_RAW_URL_MAX (3 * PP_PATH_MAX) /* every byte escaped */
#define HTTP_UA_MAX 512
#define HTTP_SMALL_FILE (32 * 1024) /* served from memory below this size */
/* MHD zeroes the per-connection pool on every request: keep it small (8 KiB
 * still holds a phone request line + headers, and the 414 limit below) */
#define HTTP_CONN_MEMORY (8 * 1024)
/* GnuTLS priorities of the HTTPS listener: GnuTLS's NORMAL set (its
 * vetted ciphers and groups) with TLS 1.2 and 1.3 only */
#define PP_HTTPS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct pp_http {
	struct pp_daemon *d;
	struct MHD_Daemon *mhd;
	struct MHD_Response *err[6]; /* 400 403 404 405 414 500, shared */
	struct MHD_Response *busy;   /* 503 + Retry-After: the provisioning queue is full */
	int lfd;                     /* bound, until pp_http_run hands it to MHD */
	char listen_text[80];
	struct pp_headdl *hd;        /* the header deadline */
	bool tls;                    /* the HTTPS listener (https.listen) */
	const char *name;            /* "http" or "https": log events and key names */
	char client_ca[PATH_MAX];    /* https.client_ca at start ("" = not checked) */
	char *client_ca_pem;         /* its content for MHD_OPTION_HTTPS_MEM_TRUST */
	struct pp_paccept *pa;       /* the PROXY-protocol accept thread, or NULL */
};

enum { E400, E403, E404, E405, E414, E500 };
static const struct {
	unsigned status;
	const char *body;
} err_bodies[] = {
	[E400] = { 400, "400 Bad Request\n" },
	[E403] = { 403, "403 Forbidden\n" },
	[E404] = { 404, "404 Not Found\n" },
	[E405] = { 405, "405 Method Not Allowed\n" },
	[E414] = { 414, "414 URI Too Long\n" },
	[E500] = { 500, "500 Internal Server Error\n" },
};

/* One request in flight (kept until MHD reports it completed). */
struct http_req {
	struct pp_request rq;
	struct pp_blob blob;
	bool have_blob;
	bool head;
	bool parked;        /* waiting for the provisioning worker */
	bool suspended;     /* MHD_suspend_connection was called (under lock) */
	bool worker_done;   /* the worker's callback ran (under lock) */
	int park_rc;
	pthread_mutex_t lock; /* the handler's suspend vs the worker's resume */
	struct MHD_Connection *conn;
	struct pp_http *h;
	unsigned status;
	uint64_t body;
	uint64_t t0;        /* pp_mono_ns() when the request was complete */
	char path[PP_PATH_MAX];
	char ua[HTTP_UA_MAX];
	char ip[64];
};

static char headers_seen; /* *req_cls marker between the first and second call */
static char uri_refused;  /* *req_cls marker: uri_check answered 414 itself */

/* MHD must hand us the path exactly as sent: we decode it once ourselves. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static void peer_ip(struct MHD_Connection *c, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	pp_sockaddr_ip(ci ? ci->client_addr : NULL, out, n);
}

/* One X-Forwarded-For value (several headers are one list, in order). */
struct xff_acc {
	char buf[1024];
	size_t len;
	bool overflow;
};

static enum MHD_Result xff_collect(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct xff_acc *a = cls;
	size_t n;

	(void)kind;
	if (strcasecmp(key, "X-Forwarded-For") != 0 || !value)
		return MHD_YES;
	n = strlen(value);
	if (a->len + n + 2 > sizeof(a->buf)) {
		a->overflow = true;
		return MHD_NO;
	}
	if (a->len)
		a->buf[a->len++] = ',';
	memcpy(a->buf + a->len, value, n + 1);
	a->len += n;
	return MHD_YES;
}

/* The client's address: the connection's peer (the PROXY header's client
 * when a trusted proxy sent one), or, when that peer is a trusted proxy,
 * the right-most untrusted X-Forwarded-For entry. */
static void client_ip(struct pp_http *h, struct MHD_Connection *c, char *out, size_t n)
{
	struct pp_snapshot *s;
	struct xff_acc a;

	peer_ip(c, out, n);
	if (!h)
		return;
	s = pp_daemon_acquire(h->d);
	if (pp_cidr_match_text(s->cfg->http.trusted_proxies, s->cfg->http.n_trusted_proxies, out)) {
		a.len = 0;
		a.overflow = false;
		a.buf[0] = '\0';
		MHD_get_connection_values(c, MHD_HEADER_KIND, xff_collect, &a);
		if (a.len && !a.overflow)
			pp_xff_client(a.buf, s->cfg->http.trusted_proxies,
				      s->cfg->http.n_trusted_proxies, out, n);
	}
	pp_snapshot_release(s);
}

static void log_refused(struct pp_http *h, struct MHD_Connection *c, const char *method,
			const char *url,
			unsigned status, const char *reason)
{
	char ip[64], q1[300], q2[200];
	char shown[256];

	if (!pp_log_enabled(PP_LOG_INFO))
		return;
	client_ip(h, c, ip, sizeof(ip));
	snprintf(shown, sizeof(shown), "%s", url);
	pp_log(PP_LOG_INFO, "http.refused", "client=%s method=%s path=%s status=%u reason=%s", ip,
	       method, pp_q(q1, sizeof(q1), shown), status, pp_q(q2, sizeof(q2), reason));
}

/* The request line was just parsed (the headers are still to come). A URL
 * over the limit is answered 414 here, on the socket, and the connection is
 * half-closed: libmicrohttpd would answer 431 instead when the long line
 * and the headers together overflow the connection's memory (a line of
 * ~7.7-8.1 KB), or close without a word. The handler then drops the request
 * (MHD_NO) whatever happens to the headers. */
static void *uri_check(void *cls, const char *uri, struct MHD_Connection *c)
{
	static const char resp[] = "HTTP/1.1 414 URI Too Long\r\n"
				   "Connection: close\r\n"
				   "Content-Type: text/plain\r\n"
				   "Content-Length: 17\r\n\r\n"
				   "414 URI Too Long\n";
	const union MHD_ConnectionInfo *ci;
	char shown[128];

	if (strcspn(uri, "?") <= HTTP_RAW_URL_MAX)
		return NULL;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return NULL; /* the handler answers (or MHD) */
	snprintf(shown, sizeof(shown), "%.100s...", uri);
	log_refused(NULL, c, "-", shown, 414, "path too long"); /* headers not read yet */
	(void)cls;
	PP_COUNT(http.requests, 1);
	PP_COUNT(http.refused, 1);
	(void)!send(ci->connect_fd, resp, sizeof(resp) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	shutdown(ci->connect_fd, SHUT_WR);
	return &uri_refused;
}

/* provisioning.url_key: the path must be "/KEY/rest"; it becomes "/rest"
 * (the key never reaches the pipeline nor the access log). The comparison
 * takes the same time wherever the first difference is. */
static bool strip_key(const char *key, char *path, size_t *plen)
{
	size_t k = strlen(key), off = path[0] == '/', seglen, i;
	const char *seg = path + off;
	unsigned diff;

	seglen = strcspn(seg, "/");
	diff = seglen != k;
	for (i = 0; i < k; i++)
		diff |= (unsigned char)(i < seglen ? seg[i] : 0) ^ (unsigned char)key[i];
	if (diff)
		return false;
	if (seg[k] == '\0') {
		path[0] = '/';
		path[1] = '\0';
		*plen = 1;
		return true;
	}
	*plen -= off + k;
	memmove(path, seg + k, *plen + 1);
	return true;
}

static enum MHD_Result send_err(struct pp_http *h, struct MHD_Connection *c, int which)
{
	if (which == E404 || which == E405 || which == E500)
		PP_COUNT(http.errors, 1);
	else
		PP_COUNT(http.refused, 1);
	return MHD_queue_response(c, err_bodies[which].status, h->err[which]);
}

static bool not_modified(struct MHD_Connection *c, const struct pp_blob *b)
{
	const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_IF_NONE_MATCH);
	const char *ims;
	int64_t t;

	if (inm)
		return pp_http_etag_match(inm, b->etag);
	ims = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
	if (ims && pp_http_parse_date(ims, &t) == 0)
		return b->mtime_ms / 1000 <= t;
	return false;
}

/* If-Range: the range applies only while the validator still matches. */
static bool if_range_ok(struct MHD_Connection *c, const struct pp_blob *b)
{
	const char *ir = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_RANGE);
	int64_t t;

	if (!ir)
		return true;
	if (ir[0] == '"')
		return strcmp(ir, b->etag) == 0;
	return pp_http_parse_date(ir, &t) == 0 && t == b->mtime_ms / 1000;
}

static void add_validators(struct MHD_Response *r, const struct pp_blob *b)
{
	char date[32];

	pp_http_format_date(b->mtime_ms / 1000, date);
	MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, b->etag);
	MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, date);
}

/* Build the 200/206 response, handing the fd or bytes over to MHD. */
static struct MHD_Response *body_response(struct http_req *x, uint64_t start, uint64_t len)
{
	struct pp_blob *b = &x->blob;
	struct MHD_Response *r;

	if (b->fd >= 0 && len <= HTTP_SMALL_FILE) {
		/* small files: one pread and one writev of headers + body beat
		 * a separate sendfile (measured in bench/http) */
		unsigned char *buf = malloc(len ? len : 1);
		ssize_t got = buf ? pread(b->fd, buf, len, (off_t)start) : -1;

		if (got == (ssize_t)len) {
			r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
			if (r)
				return r;
		}
		free(buf); /* short read (file shrank) or no memory: fall back */
	}
	if (b->fd >= 0) {
		r = MHD_create_response_from_fd_at_offset64(len, b->fd, start);
		if (r)
			b->fd = -1; /* MHD closes it */
		return r;
	}
	if (start)
		memmove(b->data, b->data + start, len);
	r = MHD_create_response_from_buffer(len, b->data ? b->data : (void *)"",
					    b->data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (r)
		b->data = NULL; /* MHD frees it */
	return r;
}

static enum MHD_Result serve(struct pp_http *h, struct MHD_Connection *c, struct http_req *x)
{
	struct pp_blob *b = &x->blob;
	struct MHD_Response *r;
	uint64_t start = 0, len = b->size;
	unsigned status = MHD_HTTP_OK;
	char cr[96];
	enum MHD_Result ret;
	const char *range;

	if (not_modified(c, b)) {
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (!r)
			return send_err(h, c, E500);
		add_validators(r, b);
		x->status = MHD_HTTP_NOT_MODIFIED;
		ret = MHD_queue_response(c, MHD_HTTP_NOT_MODIFIED, r);
		MHD_destroy_response(r);
		return ret;
	}
	range = x->head ? NULL : MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							      MHD_HTTP_HEADER_RANGE);
	if (range && if_range_ok(c, b)) {
		int rc = pp_http_parse_range(range, b->size, &start, &len);

		if (rc == PP_RANGE_UNSATISFIABLE) {
			r = MHD_create_response_from_buffer(strlen("416 Range Not Satisfiable\n"),
							    (void *)"416 Range Not Satisfiable\n",
							    MHD_RESPMEM_PERSISTENT);
			if (!r)
				return send_err(h, c, E500);
			snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)b->size);
			MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
			MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
			x->status = MHD_HTTP_RANGE_NOT_SATISFIABLE;
			PP_COUNT(http.errors, 1);
			ret = MHD_queue_response(c, x->status, r);
			MHD_destroy_response(r);
			return ret;
		}
		if (rc == PP_RANGE_OK) {
			status = MHD_HTTP_PARTIAL_CONTENT;
			snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)start,
				 (unsigned long long)(start + len - 1),
				 (unsigned long long)b->size);
		} else {
			start = 0;
			len = b->size;
		}
	}
	r = body_response(x, start, len);
	if (!r)
		return send_err(h, c, E500);
	add_validators(r, b);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, pp_http_content_type(b->path));
	MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	if (status == MHD_HTTP_PARTIAL_CONTENT)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
	x->status = status;
	x->body = x->head ? 0 : len;
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* The worker's completion of a parked request (worker thread). It may come
 * before the handler suspended the connection: whoever is second acts.
 * The resume comes after the unlock: once resumed, the MHD thread may answer,
 * complete and free x (and its lock) before this thread runs again. */
static void parked_done(void *ctx, int rc)
{
	struct http_req *x = ctx;
	struct MHD_Connection *c = x->conn;
	bool resume;

	pthread_mutex_lock(&x->lock);
	x->park_rc = rc;
	x->worker_done = true;
	resume = x->suspended;
	pthread_mutex_unlock(&x->lock);
	if (resume)
		MHD_resume_connection(c); /* x is not touched after this */
}

static enum MHD_Result send_busy(struct pp_http *h, struct MHD_Connection *c)
{
	(void)h;
	return MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, h->busy);
}

/* The second look of a parked request: the device is durable now. */
static enum MHD_Result resumed(struct pp_http *h, struct MHD_Connection *c, struct http_req *x)
{
	const char *reason = "";
	int rc;

	x->parked = false;
	if (x->park_rc != PP_OK && x->park_rc != PP_ENOENT) {
		x->status = 500;
		return send_err(h, c, E500);
	}
	x->rq.no_park = true;
	rc = x->blob.data ? PP_OK : /* the worker handed the file over */
	     pp_prov_fetch(h->d->prov, &x->rq, &x->blob, &reason, NULL, NULL);
	if (rc != PP_OK) {
		int which = rc == PP_EACCES ? E403 : rc == PP_ENOENT ? E404 : E500;

		x->status = err_bodies[which].status;
		return send_err(h, c, which);
	}
	x->have_blob = true;
	return serve(h, c, x);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **req_cls)
{
	struct pp_http *h = cls;
	struct http_req *x;
	const char *reason = "", *ua;
	size_t plen, url_len;
	bool head, bad_key = false;
	int rc;

	(void)version;
	(void)upload_data;
	if (*req_cls == &uri_refused)
		return MHD_NO; /* answered 414 by uri_check: close */
	if (!*req_cls) {
		/* answering on the first call (headers only) makes MHD close the
		 * connection: answer on the next one, after the (empty) body */
		pp_headdl_head_done(h->hd, c);
		*req_cls = &headers_seen;
		return MHD_YES;
	}
	if (*req_cls != &headers_seen && *req_cls && ((struct http_req *)*req_cls)->parked)
		return resumed(h, c, *req_cls);
	if (*req_cls != &headers_seen || *upload_size) {
		*upload_size = 0; /* a body on GET/HEAD is ignored */
		return MHD_YES;
	}
	*req_cls = NULL;
	PP_COUNT(http.requests, 1);
	head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	if (!head && strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
		struct MHD_Response *r = h->err[E405];

		log_refused(h, c, method, url, 405, "method not allowed");
		PP_COUNT(http.errors, 1);
		return MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
	}
	url_len = strlen(url);
	if (url_len > HTTP_RAW_URL_MAX) {
		log_refused(h, c, method, url, 414, "path too long");
		return send_err(h, c, E414);
	}
	x = malloc(sizeof(*x));
	if (!x)
		return send_err(h, c, E500);
	x->t0 = pp_mono_ns();
	rc = pp_http_decode_path(url, url_len, x->path, sizeof(x->path), &plen, &reason);
	if (rc != PP_DEC_OK) {
		free(x);
		log_refused(h, c, method, url, rc == PP_DEC_TOO_LONG ? 414 : 400, reason);
		return send_err(h, c, rc == PP_DEC_TOO_LONG ? E414 : E400);
	}
	{
		/* the key goes first: nothing after this line sees or logs it */
		struct pp_snapshot *s = pp_daemon_acquire(h->d);

		if (s->cfg->provisioning.url_key[0])
			bad_key = !strip_key(s->cfg->provisioning.url_key, x->path, &plen);
		pp_snapshot_release(s);
	}
	if (h->tls && h->client_ca[0] && pp_tls_check_client(c, &reason) != PP_OK) {
		log_refused(h, c, method, x->path, 403, reason);
		free(x);
		return send_err(h, c, E403);
	}
	ua = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT);
	snprintf(x->ua, sizeof(x->ua), "%s", ua ? ua : "");
	client_ip(h, c, x->ip, sizeof(x->ip));
	x->rq = (struct pp_request){
		.proto = PP_PROTO_HTTP,
		.path = x->path,
		.path_len = plen,
		.user_agent = x->ua,
		.peer_ip = x->ip,
		.rootfd = h->d->http_rootfd,
	};
	x->rq.bad_key = bad_key;
	x->head = head;
	x->status = 0;
	x->body = 0;
	x->have_blob = false;
	x->conn = c;
	x->h = h;
	x->parked = x->suspended = x->worker_done = false;
	pthread_mutex_init(&x->lock, NULL);
	rc = pp_prov_fetch(h->d->prov, &x->rq, &x->blob, &reason, parked_done, x);
	if (rc == PP_EAGAIN) {
		/* the device is being written: the answer follows once it is
		 * durable (the thread serves other connections meanwhile) */
		bool done;

		x->parked = true;
		*req_cls = x;
		pthread_mutex_lock(&x->lock);
		done = x->worker_done;
		if (!done) {
			MHD_suspend_connection(c);
			x->suspended = true;
		}
		pthread_mutex_unlock(&x->lock);
		if (done)
			return resumed(h, c, x);
		return MHD_YES;
	}
	if (rc == PP_EBUSY) {
		/* the provisioning queue is full: come back in a second */
		pthread_mutex_destroy(&x->lock);
		free(x);
		return send_busy(h, c);
	}
	if (rc != PP_OK) {
		int which = rc == PP_EACCES ? E403 : rc == PP_ENOENT ? E404 : E500;

		if (rc == PP_EACCES)
			log_refused(h, c, method, x->path, 403, reason);
		else
			pp_http_log_request(x->ip, method, x->path, err_bodies[which].status, 0,
					    pp_mono_ns() - x->t0, x->ua);
		pp_hist_observe(&pp_metrics.http.duration, pp_mono_ns() - x->t0);
		if (rc != PP_ENOENT && rc != PP_EACCES)
			pp_blob_release(&x->blob);
		pthread_mutex_destroy(&x->lock);
		free(x);
		return send_err(h, c, which);
	}
	x->have_blob = true;
	*req_cls = x;
	return serve(h, c, x);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct pp_http *h = cls;
	struct http_req *x = *req_cls;

	pp_headdl_request_done(h->hd, c);
	if (!x || *req_cls == (void *)&headers_seen || *req_cls == (void *)&uri_refused)
		return;
	*req_cls = NULL;
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && x->status) {
		if (x->status == MHD_HTTP_OK || x->status == MHD_HTTP_PARTIAL_CONTENT) {
			PP_COUNT(http.transfers, 1);
			PP_COUNT(http.bytes, x->body);
		}
		if (!x->head && x->status != MHD_HTTP_RANGE_NOT_SATISFIABLE)
			pp_prov_done(h->d->prov, &x->rq, &x->blob, x->body);
	} else if (x->status) {
		PP_COUNT(http.errors, 1); /* aborted mid-transfer */
	}
	uint64_t ns = pp_mono_ns() - x->t0;

	pp_hist_observe(&pp_metrics.http.duration, ns);
	pp_http_log_request(x->ip, x->head ? "HEAD" : "GET", x->path, x->status,
			    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? x->body : 0, ns, x->ua);
	if (x->have_blob)
		pp_blob_release(&x->blob);
	pthread_mutex_destroy(&x->lock);
	free(x);
}

static void free_errs(struct pp_http *h)
{
	for (size_t i = 0; i < PP_ARRAY_LEN(h->err); i++) {
		if (h->err[i])
			MHD_destroy_response(h->err[i]);
		h->err[i] = NULL;
	}
	if (h->busy)
		MHD_destroy_response(h->busy);
	h->busy = NULL;
}

static int make_errs(struct pp_http *h)
{
	for (size_t i = 0; i < PP_ARRAY_LEN(h->err); i++) {
		const char *body = err_bodies[i].body;

		h->err[i] = MHD_create_response_from_buffer(strlen(body), (void *)body,
							    MHD_RESPMEM_PERSISTENT);
		if (!h->err[i])
			return PP_ENOMEM;
		MHD_add_response_header(h->err[i], MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
	}
	MHD_add_response_header(h->err[E405], MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	h->busy = MHD_create_response_from_buffer(strlen("503 Service Unavailable\n"),
						  (void *)"503 Service Unavailable\n",
						  MHD_RESPMEM_PERSISTENT);
	if (!h->busy)
		return PP_ENOMEM;
	MHD_add_response_header(h->busy, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
	MHD_add_response_header(h->busy, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	return PP_OK;
}

static int start(struct pp_daemon *d, bool tls, struct pp_http **out, struct pp_err *err)
{
	struct pp_snapshot *s = pp_daemon_acquire(d);
	const struct pp_listen *l = tls ? &s->cfg->https.listen : &s->cfg->http.listen;
	struct pp_tls_creds *creds = NULL;
	struct pp_http *h;
	char listen_text[80];
	int fd, rc;

	*out = NULL;
	if (!l->port && !l->host[0]) {
		pp_snapshot_release(s);
		return PP_OK; /* switched off */
	}
	if (tls && (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES ||
		    MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK) != MHD_YES)) {
		pp_snapshot_release(s);
		pp_err_set(err, "https.listen: this libmicrohttpd (%s) is built without TLS "
			   "(GnuTLS) or its certificate callback: HTTPS is not available",
			   MHD_get_version());
		return PP_ERR;
	}
	if (tls) {
		/* read before the privileges are dropped: the key may be
		 * readable by root only (a reload then needs it readable by
		 * the service user, docs/http.md) */
		if ((rc = pp_tls_load(s->cfg->https.cert, s->cfg->https.key,
				      s->cfg->https.client_ca, &creds, err)) != PP_OK) {
			pp_snapshot_release(s);
			return rc;
		}
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		pp_snapshot_release(s);
		pp_tls_creds_free(creds);
		pp_err_set(err, "out of memory");
		return PP_ENOMEM;
	}
	h->d = d;
	h->tls = tls;
	h->name = tls ? "https" : "http";
	if (tls)
		snprintf(h->client_ca, sizeof(h->client_ca), "%s", s->cfg->https.client_ca);
	if (make_errs(h) != PP_OK) {
		pp_snapshot_release(s);
		pp_err_set(err, "out of memory");
		pp_tls_creds_free(creds);
		free_errs(h);
		free(h);
		return PP_ENOMEM;
	}
	rc = pp_http_listen_socket(l, tls ? "https.listen" : "http.listen", d->sockact, &fd, err);
	snprintf(listen_text, sizeof(listen_text), "%s", l->text);
	pp_snapshot_release(s);
	if (rc != PP_OK) {
		pp_tls_creds_free(creds);
		free_errs(h);
		free(h);
		return rc;
	}
	if (creds) {
		pp_log(PP_LOG_INFO, "https.cert", "serial=%s not_after=%s client_ca=%d",
		       pp_tls_serial(creds), pp_tls_not_after(creds), pp_tls_has_client_ca(creds));
		pp_tls_install(creds);
	}
	h->lfd = fd;
	snprintf(h->listen_text, sizeof(h->listen_text), "%s", listen_text);
	*out = h;
	return PP_OK;
}

int pp_http_start(struct pp_daemon *d, struct pp_http **out, struct pp_err *err)
{
	return start(d, false, out, err);
}

int pp_https_start(struct pp_daemon *d, struct pp_http **out, struct pp_err *err)
{
	return start(d, true, out, err);
}

void pp_https_reload(struct pp_http *h, const struct pp_config *cfg)
{
	struct pp_tls_creds *creds = NULL;
	struct pp_err err = { 0 };
	char q[600];

	if (!h || !h->tls)
		return;
	if (strcmp(h->client_ca[0] ? "on" : "off", cfg->https.client_ca[0] ? "on" : "off") != 0)
		pp_log(PP_LOG_WARN, "reload.needs_restart",
		       "key=https.client_ca running=%s configured=%s",
		       h->client_ca[0] ? "on" : "off", cfg->https.client_ca[0] ? "on" : "off");
	/* with client_ca switched on or off, the running choice stays: the CA
	 * file read is the running one's (its content may have changed) */
	if (pp_tls_load(cfg->https.cert, cfg->https.key, h->client_ca[0] ? (cfg->https.client_ca[0] ?
			cfg->https.client_ca : h->client_ca) : "", &creds, &err) != PP_OK) {
		struct pp_tls_creds *cur = pp_tls_current();

		pp_log(PP_LOG_ERROR, "https.reload_failed", "error=%s keeping_serial=%s",
		       pp_q(q, sizeof(q), err.msg), cur ? pp_tls_serial(cur) : "-");
		return;
	}
	pp_log(PP_LOG_INFO, "https.cert", "serial=%s not_after=%s client_ca=%d",
	       pp_tls_serial(creds), pp_tls_not_after(creds), pp_tls_has_client_ca(creds));
	pp_tls_install(creds);
}

int pp_http_run(struct pp_http *h, struct pp_err *err)
{
	unsigned pool = pp_http_pool_size();
	int fd = h->lfd;
	struct pp_snapshot *s = pp_daemon_acquire(h->d);
	unsigned hto = s->cfg->http.header_timeout_s, maxc = s->cfg->http.max_connections,
		 perip = s->cfg->http.max_connections_per_ip;
	/* trusted proxies at start: our own accept thread reads PROXY headers */
	bool proxy = s->cfg->http.n_trusted_proxies > 0;

	pp_snapshot_release(s);
	if (h->tls && h->client_ca[0]) {
		/* MHD copies nothing: the PEM stays with h until stop */
		size_t len;

		if (pp_file_read(h->client_ca, 1u << 20, &h->client_ca_pem, &len, err) != PP_OK)
			return PP_ERR;
	}
	h->hd = pp_headdl_new(h->name, hto);
	if (!h->hd) {
		pp_err_set(err, "http: cannot start the header deadline thread");
		return PP_ERR;
	}
	maxc = pp_http_conn_limit(maxc);
	{
		/* TLS: the certificate comes from the callback (reloadable, see
		 * tls.h); TLS 1.2 and 1.3 only; a client CA makes GnuTLS ask
		 * for a client certificate, checked per request */
		struct MHD_OptionItem opts[8];
		size_t no = 0;

		if (h->tls) {
			opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_CERT_CALLBACK, 0,
							      pp_tls_cert_callback() };
			opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
							      (void *)PP_HTTPS_PRIORITIES };
			if (h->client_ca_pem)
				opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0,
								      h->client_ca_pem };
		}
		if (!proxy)
			opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, fd, NULL };
		opts[no] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
		h->mhd = MHD_start_daemon(
			MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO |
				MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
				(h->tls ? MHD_USE_TLS : 0) | (proxy ? MHD_USE_NO_LISTEN_SOCKET : 0),
			0, NULL, NULL, on_request, h,
			MHD_OPTION_EXTERNAL_LOGGER, pp_http_mhd_logger,
			(void *)(h->tls ? "https.mhd" : "http.mhd"),
			MHD_OPTION_THREAD_POOL_SIZE, pool,
			MHD_OPTION_CONNECTION_LIMIT, maxc,
			MHD_OPTION_PER_IP_CONNECTION_LIMIT, perip,
			MHD_OPTION_NOTIFY_CONNECTION, pp_headdl_notify, h->hd,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
			MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
			MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
			MHD_OPTION_URI_LOG_CALLBACK, uri_check, h,
			MHD_OPTION_ARRAY, opts,
			MHD_OPTION_END);
	}
	if (!h->mhd) {
		pp_err_set(err, "%s.listen: cannot start the %s server", h->name,
			   h->tls ? "HTTPS" : "HTTP");
		return PP_ERR;
	}
	if (proxy && pp_paccept_start(h->d, h->mhd, fd, hto, h->name, &h->pa, err) != PP_OK) {
		close(fd);
		h->lfd = -1;
		return PP_ERR;
	}
	h->lfd = -1; /* MHD's (or the accept thread's) now */
	pp_log(PP_LOG_INFO, h->tls ? "https.start" : "http.start",
	       "listen=%s threads=%u max_connections=%u max_connections_per_ip=%u "
	       "header_timeout_s=%u proxy_protocol=%d", h->listen_text, pool, maxc, perip, hto,
	       proxy);
	return PP_OK;
}

void pp_http_stop(struct pp_http *h)
{
	if (!h)
		return;
	pp_paccept_stop(h->pa); /* closes the listening socket (proxy mode) */
	if (h->mhd)
		MHD_stop_daemon(h->mhd); /* closes the listening socket too */
	else if (h->lfd >= 0)
		close(h->lfd);
	pp_headdl_free(h->hd);
	free_errs(h);
	if (h->tls)
		pp_tls_shutdown(); /* no connection is left to use them */
	pp_log(PP_LOG_INFO, h->tls ? "https.stop" : "http.stop", "status=%s", "stopped");
	free(h->client_ca_pem);
	free(h);
}
