/* The monitor runtime: one thread per running monitor (DESIGN §1). A thread
 * opens its endpoint (serial line, TCP connection, or TCP listener), runs
 * the login steps, reads with poll() on the endpoint and a wake-up eventfd
 * (so a stop is prompt: no read ever blocks), frames and parses what comes,
 * and stores each batch of records in one LMDB write transaction.
 *
 * Backoff (issue 17): after a failed connection the thread waits `timeout`
 * seconds, multiplied by `timeout_decay` after each further failure, never
 * more than `max_timeout`; a good connection resets the wait to `timeout`
 * (the wait after it ends is `timeout` again). A plugin's C run() hook that
 * returns is restarted with the same backoff (good = it pushed a record).
 *
 * Definitions are read through plugin.h (pp_mon_def_*, the parser); a thread
 * holds a reference on its definition, a C run() hook its snapshot, so a
 * reload never frees what a running monitor uses. */
#include "mon_int.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "daemon/plugin/hooks.h"
#include "daemon/plugin/snapshot.h"
#include "lib/log.h"
#include "monitor.h"
#include "records.h"

#define READ_CHUNK 65536
#define READS_PER_BATCH 16      /* up to 1 MiB read before a commit */
#define BATCH_MAX 4096          /* records per write transaction */
#define PEERS_MAX 8             /* tcp-listen: PBX connections at once */
#define UNPARSED_LOG_PER_MIN 10
#define DRAIN_MAX (1u << 20)    /* bytes read after a stop was asked */

/* ---- per-monitor counters (survive restarts of the same monitor) ---------- */

struct mon_stat {
	char id[PP_MON_ID_MAX];
	atomic_ullong records, unparsed, connects, failures;
	atomic_int up;
};

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mon_stat **stats;
static size_t n_stats, cap_stats;

static struct mon_stat *stat_get(const char *id)
{
	struct mon_stat *s = NULL;

	pthread_mutex_lock(&stats_lock);
	for (size_t i = 0; i < n_stats; i++)
		if (!strcmp(stats[i]->id, id))
			s = stats[i];
	if (!s && n_stats == cap_stats) {
		size_t cap = cap_stats ? cap_stats * 2 : 16;
		struct mon_stat **ns = realloc(stats, cap * sizeof(*ns));

		if (ns) {
			stats = ns;
			cap_stats = cap;
		}
	}
	if (!s && n_stats < cap_stats && (s = calloc(1, sizeof(*s)))) {
		snprintf(s->id, sizeof(s->id), "%s", id);
		stats[n_stats++] = s;
	}
	pthread_mutex_unlock(&stats_lock);
	return s;
}

static struct mon_stat no_stat; /* when out of memory: counted nowhere */

void pp_monitors_metrics(struct pp_buf *b)
{
	static const struct {
		const char *name, *help, *type;
		size_t off;
	} m[] = {
		{ "monitor_records_total", "Call records stored per monitor.", "counter",
		  offsetof(struct mon_stat, records) },
		{ "monitor_unparsed_total", "Records that did not parse (kept raw).", "counter",
		  offsetof(struct mon_stat, unparsed) },
		{ "monitor_connects_total", "Good connections to the PBX.", "counter",
		  offsetof(struct mon_stat, connects) },
		{ "monitor_connect_failures_total", "Failed connections to the PBX.", "counter",
		  offsetof(struct mon_stat, failures) },
	};

	pthread_mutex_lock(&stats_lock);
	for (size_t k = 0; k < PP_ARRAY_LEN(m); k++) {
		pp_buf_printf(b, "# HELP phoneprov_%s %s\n# TYPE phoneprov_%s %s\n", m[k].name,
			      m[k].help, m[k].name, m[k].type);
		for (size_t i = 0; i < n_stats; i++)
			pp_buf_printf(b, "phoneprov_%s{monitor=\"%s\"} %llu\n", m[k].name,
				      stats[i]->id,
				      (unsigned long long)atomic_load(
					      (atomic_ullong *)((char *)stats[i] + m[k].off)));
	}
	pp_buf_printf(b, "# HELP phoneprov_monitor_up 1 while the monitor is connected "
		      "(listening for tcp-listen, running for C hooks).\n"
		      "# TYPE phoneprov_monitor_up gauge\n");
	for (size_t i = 0; i < n_stats; i++)
		pp_buf_printf(b, "phoneprov_monitor_up{monitor=\"%s\"} %d\n", stats[i]->id,
			      atomic_load(&stats[i]->up));
	pthread_mutex_unlock(&stats_lock);
}

/* ---- a running monitor ----------------------------------------------------- */

struct pp_monitors;

struct mon_rt {
	struct pp_monitor_ctx ctx;   /* C hooks: ctx.daemon points back here */
	struct pp_monitors *m;
	char id[PP_MON_ID_MAX];
	uint64_t hash;
	struct pp_mon_def *def;      /* declarative monitors (a reference) */
	struct pp_mon_conn conn;     /* its endpoint (strings borrowed from def) */
	struct pp_snapshot *snap;    /* C hooks: keeps their registry alive */
	const struct pp_plugin *p;   /* C hooks: the plugin (in snap) */
	double timeout, decay, max_timeout;
	pthread_t th;
	atomic_bool running;
	int wakefd;
	struct mon_stat *st;
	atomic_ullong pushed;        /* C hooks: records pushed */
	/* unparsed log limiter */
	uint64_t win_start_ns;
	unsigned win_logged, win_dropped;
	bool seen;
};

struct pp_monitors {
	struct pp_store *st;
	struct mon_rt **v;
	size_t n;
	struct note { char id[PP_MON_ID_MAX]; uint64_t hash; bool seen; } *notes;
	size_t n_notes;
};

static bool stopping(struct mon_rt *r)
{
	return !atomic_load(&r->running);
}

/* Wait up to `seconds`; true when a stop was asked. */
static bool rest(struct mon_rt *r, double seconds)
{
	uint64_t end = pp_mono_ns() + (uint64_t)(seconds * 1e9);

	while (!stopping(r)) {
		uint64_t now = pp_mono_ns();
		struct pollfd pf = { r->wakefd, POLLIN, 0 };
		int ms;

		if (now >= end)
			return false;
		ms = (int)((end - now + 999999) / 1000000);
		poll(&pf, 1, ms);
	}
	return true;
}

/* ---- records: batch, store, count ----------------------------------------- */

struct sink {
	struct mon_rt *r;
	json_t **v;
	size_t n, cap;
};

static const char *str_or(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : "";
}

static void log_unparsed(struct mon_rt *r, const json_t *rec)
{
	uint64_t now = pp_mono_ns();
	char q1[300], q2[200];

	if (now - r->win_start_ns > 60ull * 1000000000ull) {
		if (r->win_dropped)
			pp_log(PP_LOG_WARN, "monitor.unparsed_suppressed", "monitor=%s count=%u",
			       r->id, r->win_dropped);
		r->win_start_ns = now;
		r->win_logged = r->win_dropped = 0;
	}
	if (r->win_logged >= UNPARSED_LOG_PER_MIN) {
		r->win_dropped++;
		return;
	}
	r->win_logged++;
	pp_log(PP_LOG_WARN, "monitor.unparsed", "monitor=%s error=%s raw=%s", r->id,
	       pp_q(q2, sizeof(q2), str_or(json_object_get(rec, "error"))),
	       pp_q(q1, sizeof(q1), str_or(json_object_get(rec, "raw"))));
}

/* Store the batch; on a store failure keep it and retry (stop reading
 * meanwhile, so the PBX buffers), giving up only once stopping. */
static void sink_commit(struct sink *s)
{
	struct mon_rt *r = s->r;
	size_t unparsed = 0;

	if (!s->n)
		return;
	for (int attempt = 1;; attempt++) {
		int rc = pp_rec_store(r->m->st, s->v, s->n, NULL);

		if (rc == PP_OK)
			break;
		pp_log(PP_LOG_ERROR, "monitor.store_failed", "monitor=%s records=%zu attempt=%d "
		       "error=%s", r->id, s->n, attempt, pp_q((char[64]){ 0 }, 64, pp_strerror(rc)));
		if (stopping(r) && attempt >= 3) {
			pp_log(PP_LOG_ERROR, "monitor.records_lost", "monitor=%s count=%zu", r->id,
			       s->n);
			goto drop;
		}
		rest(r, 1.0);
	}
	for (size_t i = 0; i < s->n; i++)
		if (json_is_false(json_object_get(s->v[i], "parsed")))
			unparsed++;
	atomic_fetch_add(&r->st->records, s->n);
	atomic_fetch_add(&r->st->unparsed, unparsed);
drop:
	for (size_t i = 0; i < s->n; i++)
		json_decref(s->v[i]);
	s->n = 0;
}

static int sink_cb(json_t *rec, void *arg)
{
	struct sink *s = arg;

	if (s->n == s->cap) {
		json_t **nv = realloc(s->v, (s->cap ? s->cap * 2 : 64) * sizeof(*nv));

		if (!nv) {
			json_decref(rec);
			return 0;
		}
		s->v = nv;
		s->cap = s->cap ? s->cap * 2 : 64;
	}
	s->v[s->n++] = rec;
	if (json_is_false(json_object_get(rec, "parsed")))
		log_unparsed(s->r, rec);
	if (s->n >= BATCH_MAX)
		sink_commit(s);
	return 0;
}

static void sink_free(struct sink *s)
{
	for (size_t i = 0; i < s->n; i++)
		json_decref(s->v[i]);
	free(s->v);
}

/* ---- login -------------------------------------------------------------------- */

static int send_all(struct mon_rt *r, int fd, const char *p, size_t n, char *why, size_t wn)
{
	uint64_t end = pp_mono_ns() + (uint64_t)(r->conn.connect_timeout * 1e9);

	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			if (errno == ENOTSOCK && (w = write(fd, p, n)) > 0) {
				p += w;
				n -= (size_t)w;
				continue;
			}
			snprintf(why, wn, "login: send: %s", strerror(errno));
			return -1;
		}
		{
			struct pollfd pf[2] = { { fd, POLLOUT, 0 }, { r->wakefd, POLLIN, 0 } };
			uint64_t now = pp_mono_ns();

			if (now >= end) {
				snprintf(why, wn, "login: send timed out");
				return -1;
			}
			poll(pf, 2, (int)((end - now) / 1000000 + 1));
			if (stopping(r))
				return -1;
		}
	}
	return 0;
}

/* Run the login steps on fd. Bytes read after the last expected line are
 * left in `left` for the parser. */
static int login(struct mon_rt *r, int fd, struct pp_buf *left, char *why, size_t wn)
{
	const struct pp_mon_def *d = r->def;
	struct pp_buf in = { 0 };
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < pp_mon_login_count(d); i++) {
		uint64_t end = pp_mono_ns() + (uint64_t)(r->conn.connect_timeout * 1e9);

		if (pp_mon_login_sends(d, i)) {
			size_t len;
			char *text = pp_mon_login_send(d, i, &len);

			rc = text ? send_all(r, fd, text, len, why, wn) : -1;
			free(text);
			continue;
		}
		for (bool done = false; !done && rc == 0;) {
			char *nl = in.data ? memchr(in.data, '\n', in.len) : NULL;

			if (nl) {
				size_t len = (size_t)(nl - in.data), used = len + 1;
				int m;

				if (len && in.data[len - 1] == '\r')
					len--;
				m = pp_mon_login_line(d, i, in.data, len);
				if (m < 0) {
					char q[200];

					snprintf(why, wn, "login refused: %s",
						 pp_q(q, sizeof(q), (in.data[len] = '\0', in.data)));
					rc = -1;
				} else if (m > 0) {
					done = true;
				}
				memmove(in.data, in.data + used, in.len - used);
				in.len -= used;
				continue;
			}
			{
				struct pollfd pf[2] = { { fd, POLLIN, 0 }, { r->wakefd, POLLIN, 0 } };
				uint64_t now = pp_mono_ns();
				char buf[4096];
				ssize_t n;

				if (now >= end) {
					snprintf(why, wn, "login: no line matching '%.60s' within %gs",
						 pp_mon_login_expect(d, i), r->conn.connect_timeout);
					rc = -1;
					break;
				}
				poll(pf, 2, (int)((end - now) / 1000000 + 1));
				if (stopping(r)) {
					snprintf(why, wn, "stopped");
					rc = -1;
					break;
				}
				n = read(fd, buf, sizeof(buf));
				if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
					snprintf(why, wn, "login: %s", n == 0 ?
						 "connection closed by the PBX" : strerror(errno));
					rc = -1;
				} else if (n > 0) {
					pp_buf_append(&in, buf, (size_t)n);
					if (in.len > 65536) {
						snprintf(why, wn, "login: line too long");
						rc = -1;
					}
				}
			}
		}
	}
	if (rc == 0 && in.len)
		pp_buf_append(left, in.data, in.len);
	pp_buf_free(&in);
	return rc;
}

/* ---- reading ---------------------------------------------------------------- */

enum rd { RD_MORE, RD_EOF, RD_ERR };

/* Read what fd has (up to READS_PER_BATCH chunks) into the parser. */
static enum rd read_some(int fd, struct pp_mon_parser *p, struct sink *s, char *buf,
			 int *err, size_t *total)
{
	for (int i = 0; i < READS_PER_BATCH; i++) {
		ssize_t n = read(fd, buf, READ_CHUNK);

		if (n > 0) {
			pp_mon_parser_feed(p, buf, (size_t)n, sink_cb, s);
			if (total)
				*total += (size_t)n;
			if (n < READ_CHUNK)
				return RD_MORE;
			continue;
		}
		if (n == 0)
			return RD_EOF;
		if (errno == EAGAIN || errno == EINTR)
			return RD_MORE;
		*err = errno;
		return RD_ERR;
	}
	return RD_MORE;
}

/* After a stop was asked: take what the kernel already holds for us. */
static void drain(int fd, struct pp_mon_parser *p, struct sink *s, char *buf)
{
	size_t total = 0;
	int err;

	while (total < DRAIN_MAX) {
		size_t before = total;

		if (read_some(fd, p, s, buf, &err, &total) != RD_MORE || total == before)
			break;
	}
}

/* Serve one connected stream until it ends or a stop is asked. */
static void serve_stream(struct mon_rt *r, int fd, const char *peer, struct pp_mon_parser *p,
			 struct sink *s, char *buf)
{
	unsigned long long before = atomic_load(&r->st->records);
	const char *reason = "stopped";
	char q[200];
	int err = 0;

	for (;;) {
		struct pollfd pf[2] = { { fd, POLLIN, 0 }, { r->wakefd, POLLIN, 0 } };
		enum rd rd;

		if (poll(pf, 2, -1) < 0 && errno != EINTR) {
			reason = "poll failed";
			break;
		}
		if (stopping(r)) {
			drain(fd, p, s, buf);
			break;
		}
		if (!pf[0].revents)
			continue;
		rd = read_some(fd, p, s, buf, &err, NULL);
		sink_commit(s);
		if (rd == RD_EOF) {
			reason = "closed by the PBX";
			break;
		}
		if (rd == RD_ERR) {
			reason = strerror(err);
			break;
		}
	}
	/* a last record without its terminator is still a record */
	pp_mon_parser_flush(p, sink_cb, s);
	sink_commit(s);
	pp_log(PP_LOG_INFO, "monitor.disconnected", "monitor=%s peer=%s reason=%s records=%llu",
	       r->id, peer, pp_q(q, sizeof(q), reason),
	       (unsigned long long)(atomic_load(&r->st->records) - before));
}

static void endpoint_text(const struct pp_mon_conn *c, char *out, size_t n)
{
	if (c->transport == PP_MON_SERIAL)
		snprintf(out, n, "%s", c->device);
	else if (c->transport == PP_MON_TCP)
		snprintf(out, n, strchr(c->host, ':') ? "[%s]:%u" : "%s:%u", c->host, c->port);
	else
		snprintf(out, n, "%s", c->listen_text);
}

/* ---- tcp-listen ------------------------------------------------------------ */

struct peer {
	int fd;
	char name[64];
	struct pp_mon_parser *p;
	unsigned long long before;
};

static void peer_close(struct mon_rt *r, struct peer *pe, struct sink *s, const char *reason)
{
	char q[120];

	pp_mon_parser_flush(pe->p, sink_cb, s);
	sink_commit(s);
	pp_log(PP_LOG_INFO, "monitor.disconnected", "monitor=%s peer=%s reason=%s records=%llu",
	       r->id, pe->name, pp_q(q, sizeof(q), reason),
	       (unsigned long long)(atomic_load(&r->st->records) - pe->before));
	close(pe->fd);
	pp_mon_parser_free(pe->p);
	pe->fd = -1;
	pe->p = NULL;
}

static void peer_name(const struct sockaddr_storage *ss, char *out, size_t n)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(out, n, "%s:%u", a, ntohs(s4->sin_port));
	} else {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(out, n, "[%s]:%u", a, ntohs(s6->sin6_port));
	}
}

static void serve_listener(struct mon_rt *r, int lfd, struct sink *s, char *buf)
{
	struct peer peers[PEERS_MAX];
	size_t np = 0;

	for (size_t i = 0; i < PEERS_MAX; i++)
		peers[i].fd = -1;
	for (;;) {
		struct pollfd pf[2 + PEERS_MAX];
		size_t map[PEERS_MAX], nf = 2;

		pf[0] = (struct pollfd){ lfd, POLLIN, 0 };
		pf[1] = (struct pollfd){ r->wakefd, POLLIN, 0 };
		for (size_t i = 0; i < PEERS_MAX; i++)
			if (peers[i].fd >= 0) {
				map[nf - 2] = i;
				pf[nf++] = (struct pollfd){ peers[i].fd, POLLIN, 0 };
			}
		if (poll(pf, nf, -1) < 0 && errno != EINTR)
			break;
		if (stopping(r)) {
			for (size_t i = 0; i < PEERS_MAX; i++)
				if (peers[i].fd >= 0) {
					drain(peers[i].fd, peers[i].p, s, buf);
					peer_close(r, &peers[i], s, "stopped");
				}
			return;
		}
		for (size_t k = 2; k < nf; k++) {
			struct peer *pe = &peers[map[k - 2]];
			enum rd rd;
			int err = 0;

			if (!pf[k].revents)
				continue;
			rd = read_some(pe->fd, pe->p, s, buf, &err, NULL);
			sink_commit(s);
			if (rd != RD_MORE) {
				peer_close(r, pe, s, rd == RD_EOF ? "closed by the PBX" :
					   strerror(err));
				np--;
			}
		}
		if (pf[0].revents & POLLIN) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			int fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
					 SOCK_NONBLOCK | SOCK_CLOEXEC);
			struct peer *pe = NULL;
			char name[64];

			if (fd < 0)
				continue;
			peer_name(&ss, name, sizeof(name));
			for (size_t i = 0; i < PEERS_MAX && !pe; i++)
				if (peers[i].fd < 0)
					pe = &peers[i];
			if (!pe || pp_mon_parser_new(r->def, &pe->p) != PP_OK) {
				pp_log(PP_LOG_WARN, "monitor.peer_refused", "monitor=%s peer=%s "
				       "reason=%s", r->id, name, pe ? "out-of-memory" : "too-many-peers");
				close(fd);
				continue;
			}
			if (pp_mon_login_count(r->def)) {
				struct pp_buf left = { 0 };
				char why[256] = "";

				if (login(r, fd, &left, why, sizeof(why))) {
					char q[300];

					pp_log(PP_LOG_WARN, "monitor.login_failed", "monitor=%s peer=%s "
					       "error=%s", r->id, name, pp_q(q, sizeof(q), why));
					pp_mon_parser_free(pe->p);
					pe->p = NULL;
					pp_buf_free(&left);
					close(fd);
					continue;
				}
				if (left.len)
					pp_mon_parser_feed(pe->p, left.data, left.len, sink_cb, s);
				pp_buf_free(&left);
			}
			pe->fd = fd;
			pe->before = atomic_load(&r->st->records);
			snprintf(pe->name, sizeof(pe->name), "%s", name);
			np++;
			atomic_fetch_add(&r->st->connects, 1);
			pp_log(PP_LOG_INFO, "monitor.peer_connected", "monitor=%s peer=%s peers=%zu",
			       r->id, name, np);
		}
	}
	for (size_t i = 0; i < PEERS_MAX; i++)
		if (peers[i].fd >= 0)
			peer_close(r, &peers[i], s, "listener failed");
}

/* ---- one attempt ------------------------------------------------------------- */

/* Open, log in, serve. True when the connection was good (so the backoff
 * resets); why says what failed otherwise. */
static bool session(struct mon_rt *r, struct sink *s, char *buf, char *why, size_t wn)
{
	const struct pp_mon_conn *c = &r->conn;
	struct pp_mon_parser *p = NULL;
	struct pp_buf left = { 0 };
	char ep[160], q[200];
	int fd;

	endpoint_text(c, ep, sizeof(ep));
	fd = pp_mon_io_open(c, r->wakefd, why, wn);
	if (fd < 0) {
		if (fd == -2)
			snprintf(why, wn, "stopped");
		return false;
	}
	if (c->transport == PP_MON_TCP_LISTEN) {
		atomic_store(&r->st->up, 1);
		pp_log(PP_LOG_INFO, "monitor.listening", "monitor=%s listen=%s", r->id, ep);
		serve_listener(r, fd, s, buf);
		atomic_store(&r->st->up, 0);
		close(fd);
		snprintf(why, wn, "listener closed");
		return true;
	}
	if (pp_mon_login_count(r->def) && login(r, fd, &left, why, wn)) {
		close(fd);
		pp_buf_free(&left);
		return false;
	}
	if (pp_mon_parser_new(r->def, &p) != PP_OK) {
		snprintf(why, wn, "out of memory");
		close(fd);
		pp_buf_free(&left);
		return false;
	}
	atomic_fetch_add(&r->st->connects, 1);
	atomic_store(&r->st->up, 1);
	if (c->transport == PP_MON_SERIAL) {
		char line[64], want[64];

		pp_mon_io_describe(fd, line, sizeof(line));
		pp_mon_io_requested(c, want, sizeof(want));
		pp_log(strcmp(line, want) ? PP_LOG_WARN : PP_LOG_INFO, "monitor.connected",
		       "monitor=%s device=%s line=%s requested=%s", r->id, pp_q(q, sizeof(q), ep),
		       line, want);
	} else {
		pp_log(PP_LOG_INFO, "monitor.connected", "monitor=%s peer=%s", r->id, ep);
	}
	if (left.len) {
		pp_mon_parser_feed(p, left.data, left.len, sink_cb, s);
		sink_commit(s);
	}
	pp_buf_free(&left);
	serve_stream(r, fd, ep, p, s, buf);
	atomic_store(&r->st->up, 0);
	pp_mon_parser_free(p);
	close(fd);
	snprintf(why, wn, "connection ended");
	return true;
}

static void *rt_main(void *arg)
{
	struct mon_rt *r = arg;
	struct sink s = { .r = r };
	double delay = r->timeout;
	unsigned failures = 0;
	char *buf = malloc(READ_CHUNK), why[256], q[300], ep[160];

	if (!buf)
		return NULL;
	endpoint_text(&r->conn, ep, sizeof(ep));
	for (;;) {
		bool good;

		why[0] = '\0';
		good = session(r, &s, buf, why, sizeof(why));
		if (stopping(r))
			break;
		if (good) {
			delay = r->timeout;
			failures = 0;
		} else {
			failures++;
			atomic_fetch_add(&r->st->failures, 1);
			pp_log(PP_LOG_WARN, "monitor.connect_failed", "monitor=%s endpoint=%s "
			       "error=%s failures=%u retry_in_s=%.3f", r->id, pp_q(q, sizeof(q), ep),
			       pp_q(q + 160, sizeof(q) - 160, why), failures, delay);
		}
		if (rest(r, delay))
			break;
		delay = fmin(delay * r->decay, r->max_timeout);
	}
	sink_commit(&s);
	sink_free(&s);
	free(buf);
	return NULL;
}

/* ---- C run() hooks ---------------------------------------------------------- */

static int hook_push(struct pp_monitor_ctx *ctx, const json_t *record)
{
	struct mon_rt *r = ctx->daemon;
	json_t *rec;
	int rc;

	if (!json_is_object(record))
		return PP_EINVAL;
	if (!(rec = json_deep_copy(record)))
		return PP_ENOMEM;
	if (!json_is_string(json_object_get(rec, "monitor")))
		json_object_set_new(rec, "monitor", json_string(r->id));
	rc = pp_rec_store(r->m->st, &rec, 1, NULL);
	if (rc == PP_OK) {
		atomic_fetch_add(&r->pushed, 1);
		atomic_fetch_add(&r->st->records, 1);
	}
	json_decref(rec);
	return rc;
}

static void *hook_main(void *arg)
{
	struct mon_rt *r = arg;
	double delay = r->timeout;
	unsigned failures = 0;

	for (;;) {
		unsigned long long before = atomic_load(&r->pushed);
		int rc;

		atomic_store(&r->st->up, 1);
		rc = pp_plugin_run_hook(r->p, &r->ctx);
		atomic_store(&r->st->up, 0);
		if (stopping(r))
			break;
		if (rc == PP_ENOTSUP) {
			pp_log(PP_LOG_INFO, "monitor.hook_off", "monitor=%s rc=%d", r->id, rc);
			break;
		}
		if (atomic_load(&r->pushed) > before) {
			delay = r->timeout;
			failures = 0;
		} else {
			failures++;
			atomic_fetch_add(&r->st->failures, 1);
		}
		pp_log(PP_LOG_WARN, "monitor.run_returned", "monitor=%s rc=%d pushed=%llu "
		       "failures=%u retry_in_s=%.3f", r->id, rc,
		       (unsigned long long)(atomic_load(&r->pushed) - before), failures, delay);
		if (rest(r, delay))
			break;
		delay = fmin(delay * r->decay, r->max_timeout);
	}
	return NULL;
}

/* ---- start, stop, sync ---------------------------------------------------------- */

static void rt_free(struct mon_rt *r)
{
	if (!r)
		return;
	if (r->wakefd >= 0)
		close(r->wakefd);
	pp_mon_def_unref(r->def);
	pp_snapshot_release(r->snap);
	free(r);
}

static struct mon_rt *rt_new(struct pp_monitors *m, const char *id, uint64_t hash)
{
	struct mon_rt *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->m = m;
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->hash = hash;
	r->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r->st = stat_get(id);
	if (!r->st)
		r->st = &no_stat;
	atomic_store(&r->running, true);
	if (r->wakefd < 0) {
		rt_free(r);
		return NULL;
	}
	return r;
}

static bool rt_start(struct mon_rt *r, void *(*fn)(void *))
{
	char name[16];

	if (pthread_create(&r->th, NULL, fn, r) != 0)
		return false;
	snprintf(name, sizeof(name), "mon-%s", strchr(r->id, '/') + 1);
	pthread_setname_np(r->th, name);
	return true;
}

static void rt_stop(struct mon_rt *r, const char *why)
{
	uint64_t one = 1;

	atomic_store(&r->running, false);
	(void)!write(r->wakefd, &one, sizeof(one));
	pthread_join(r->th, NULL);
	pp_log(PP_LOG_INFO, "monitor.stopped", "monitor=%s reason=%s", r->id, why);
	rt_free(r);
}

static struct mon_rt **rt_find(struct pp_monitors *m, const char *id)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->v[i]->id, id))
			return &m->v[i];
	return NULL;
}

static bool rt_add(struct pp_monitors *m, struct mon_rt *r)
{
	struct mon_rt **nv = realloc(m->v, (m->n + 1) * sizeof(*nv));

	if (!nv)
		return false;
	m->v = nv;
	m->v[m->n++] = r;
	return true;
}

static void rt_remove(struct pp_monitors *m, struct mon_rt **slot, const char *why)
{
	struct mon_rt *r = *slot;

	*slot = m->v[--m->n];
	rt_stop(r, why);
}

/* Log "not started" once per definition. */
static void note(struct pp_monitors *m, const char *id, uint64_t hash, int level,
		 const char *event, const char *why)
{
	struct note *n = NULL;
	char q[120];

	for (size_t i = 0; i < m->n_notes; i++)
		if (!strcmp(m->notes[i].id, id))
			n = &m->notes[i];
	if (n && n->hash == hash) {
		n->seen = true;
		return;
	}
	if (!n) {
		struct note *nn = realloc(m->notes, (m->n_notes + 1) * sizeof(*nn));

		if (!nn)
			return;
		m->notes = nn;
		n = &m->notes[m->n_notes++];
		snprintf(n->id, sizeof(n->id), "%s", id);
	}
	n->hash = hash;
	n->seen = true;
	pp_log(level, event, "monitor=%s reason=%s", id, pp_q(q, sizeof(q), why));
}

/* A runtime for id with this hash: NULL when the one running has the same
 * hash (kept) or on no memory; a changed one is stopped first. */
static struct mon_rt *rt_renew(struct pp_monitors *m, struct mon_rt **slot, const char *id,
			       uint64_t hash)
{
	if (slot && (*slot)->hash == hash) {
		(*slot)->seen = true;
		return NULL;
	}
	if (slot)
		rt_remove(m, slot, "changed");
	return rt_new(m, id, hash);
}

/* Add r to the running set and start its thread on fn; logged either way. */
static void rt_launch(struct pp_monitors *m, struct mon_rt *r, void *(*fn)(void *),
		      const char *id, const char *transport)
{
	r->seen = true;
	if (!rt_add(m, r) || !rt_start(r, fn)) {
		if (m->n && m->v[m->n - 1] == r)
			m->n--;
		pp_log(PP_LOG_ERROR, "monitor.start_failed", "monitor=%s", id);
		rt_free(r);
		return;
	}
	pp_log(PP_LOG_INFO, "monitor.started", "monitor=%s transport=%s", id, transport);
}

static void sync_def(struct pp_monitors *m, struct pp_mon_def *d)
{
	const char *id = pp_mon_def_id(d), *why = NULL;
	struct mon_rt **slot = rt_find(m, id), *r;
	uint64_t hash = pp_mon_def_hash(d);
	bool enabled = pp_mon_def_enabled(d);

	if (!enabled || !pp_mon_def_endpoint(d, &why)) {
		if (slot)
			rt_remove(m, slot, enabled ? "no endpoint" : "disabled");
		note(m, id, hash, PP_LOG_INFO, enabled ? "monitor.idle" : "monitor.disabled",
		     enabled ? why : "enabled: false");
		return;
	}
	if (!(r = rt_renew(m, slot, id, hash)))
		return;
	r->def = pp_mon_def_ref(d);
	pp_mon_def_conn(d, &r->conn);
	r->timeout = r->conn.timeout;
	r->decay = r->conn.timeout_decay;
	r->max_timeout = r->conn.max_timeout;
	rt_launch(m, r, rt_main, id,
		  r->conn.transport == PP_MON_SERIAL ? "serial" :
		  r->conn.transport == PP_MON_TCP ? "tcp" : "tcp-listen");
}

static double num_setting(const json_t *s, const char *key, double def, double min)
{
	const json_t *v = json_object_get(s, key);
	double d = json_is_number(v) ? json_number_value(v) : def;

	return isfinite(d) && d >= min ? d : def;
}

static void sync_hook(struct pp_monitors *m, struct pp_snapshot *s, const struct pp_plugin *p)
{
	const json_t *settings = pp_plugin_settings(p);
	uint64_t hash = pp_plugin_hash(p);
	char id[PP_MON_ID_MAX];
	struct mon_rt **slot, *r;

	snprintf(id, sizeof(id), "%s/run", p->name);
	slot = rt_find(m, id);
	if (!(r = rt_renew(m, slot, id, hash)))
		return;
	r->snap = s;
	atomic_fetch_add(&s->refs, 1);
	r->p = p;
	r->timeout = num_setting(settings, "timeout", 10, 0.001);
	r->decay = num_setting(settings, "timeout_decay", 1.5, 1);
	r->max_timeout = num_setting(settings, "max_timeout", 300, r->timeout);
	r->ctx.running = &r->running;
	r->ctx.settings = settings;
	r->ctx.push = hook_push;
	r->ctx.daemon = r;
	rt_launch(m, r, hook_main, id, "hook");
}

int pp_monitors_new(struct pp_store *st, struct pp_monitors **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return PP_ENOMEM;
	(*out)->st = st;
	return PP_OK;
}

void pp_monitors_sync(struct pp_monitors *m, struct pp_snapshot *s)
{
	size_t n = s && s->reg ? pp_registry_count(s->reg) : 0;

	for (size_t i = 0; i < m->n; i++)
		m->v[i]->seen = false;
	for (size_t i = 0; i < m->n_notes; i++)
		m->notes[i].seen = false;
	for (size_t i = 0; i < n; i++) {
		const struct pp_plugin *p = pp_registry_at(s->reg, i);

		for (size_t k = 0; k < pp_plugin_monitor_count(p); k++)
			sync_def(m, pp_plugin_monitor_at(p, k));
		if (pp_plugin_has_run_hook(p))
			sync_hook(m, s, p);
	}
	for (size_t i = 0; i < m->n;) {
		if (!m->v[i]->seen)
			rt_remove(m, &m->v[i], "removed");
		else
			i++;
	}
	for (size_t i = 0; i < m->n_notes;) {
		if (!m->notes[i].seen)
			m->notes[i] = m->notes[--m->n_notes];
		else
			i++;
	}
}

size_t pp_monitors_running(const struct pp_monitors *m)
{
	return m ? m->n : 0;
}

void pp_monitors_free(struct pp_monitors *m)
{
	if (!m)
		return;
	/* ask every thread first, then join: they drain in parallel */
	for (size_t i = 0; i < m->n; i++) {
		uint64_t one = 1;

		atomic_store(&m->v[i]->running, false);
		(void)!write(m->v[i]->wakefd, &one, sizeof(one));
	}
	while (m->n)
		rt_remove(m, &m->v[m->n - 1], "shutdown");
	free(m->v);
	free(m->notes);
	free(m);
}
