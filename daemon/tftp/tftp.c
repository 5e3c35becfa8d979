/* The TFTP server thread: one epoll loop serves every transfer.
 *
 * - The listen socket receives requests. A RRQ is looked up through the
 *   pipeline (never by path here) and gets its own ephemeral UDP socket bound
 *   to the listen address (to the request's destination address when
 *   listening on a wildcard), so the client sees a new TID.
 * - Timers: every transfer has one deadline; a binary heap keyed by deadline
 *   gives epoll_wait its timeout. Deadlines only move later, so an entry is
 *   re-sifted lazily when it reaches the top.
 * - Sending: a window (RFC 7440; windowsize 1 = RFC 1350 lock-step) is
 *   produced into one shared arena (pread of the window's span of a static
 *   file, a pointer into a rendered file held in memory, or on-the-fly
 *   netascii encoding) and sent with sendmmsg. No per-transfer data buffer.
 *   EAGAIN parks the transfer on EPOLLOUT until the socket drains.
 * - Only a timeout resends; duplicate or old ACKs are ignored, so the
 *   Sorcerer's Apprentice bug cannot happen.
 * See docs/tftp.md. */
#include "daemon/daemon.h"
#include "daemon/sockact.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "daemon/provision/provision.h"
#include "tftp_proto.h"

#define CLIENT_BUCKETS 4096        /* per-address counts (chained) */
#define RECENT_SLOTS 1024          /* remembered completed transfers ... */
#define RECENT_NS 2000000000ull    /* ... for 2 s (see recent_key) */
#define LOG_BURST 200              /* refused/failed lines logged in a burst ... */
#define LOG_RATE 20                /* ... then this many per second */
#define BATCH 64                   /* packets per sendmmsg */
#define ARENA_SIZE (256 * 1024)    /* shared window data */
#define MAX_EVENTS 256
#define LISTEN_RCVBUF (4 * 1024 * 1024)

enum xstate { XS_OACK, XS_DATA };

struct xfer {
	int fd;
	unsigned heap_idx;
	uint8_t state;
	uint8_t netascii;
	uint8_t want_out;  /* waiting for EPOLLOUT */
	uint8_t dead;
	uint32_t blksize;
	uint32_t window;
	uint32_t timeout_ms;
	uint32_t retries_left, max_retries;
	uint64_t deadline;  /* monotonic ns */
	uint64_t heap_key;  /* deadline when (re)inserted, <= deadline */
	uint64_t start_ns;
	uint64_t base;      /* first unacknowledged block (absolute, from 1) */
	uint64_t cursor;    /* next block to send */
	uint64_t last;      /* number of the last block, 0 while unknown */
	uint64_t resent;    /* blocks sent again after a timeout */
	struct tftp_na na_ack, na_send; /* netascii state at base / at cursor */
	struct tftp_oack oack;
	struct xfer *next_dead;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	uint16_t peer_port;
	char peer_ip[INET6_ADDRSTRLEN];
	uint8_t *ahead;     /* lock-step read-ahead of block ahead_blk (large files only) */
	uint64_t ahead_blk;
	char *reqname;      /* the name as requested (for pp_prov_done) */
	size_t reqname_len;
	struct pp_blob blob;
	/* parked: waiting for the provisioning worker (no socket, no timer) */
	struct pp_tftp *owner;
	struct sockaddr_storage local;
	socklen_t local_len;
	int any;            /* options to acknowledge */
	int park_rc;
	struct xfer *next_park;   /* s->parked (TFTP thread only) */
	struct xfer *next_ready;  /* s->ready (under ready_lock) */
	/* admission control */
	struct client *cl;        /* the client address this transfer counts against */
	struct xfer *cl_next;     /* cl->xfers */
	char *normname;           /* reqname normalised (retransmitted RRQs) */
	size_t normlen;
	uint64_t active_ns;       /* last time the client was heard (or start) */
	uint8_t heard;            /* an ACK came: on s->lru[1], else s->lru[0] */
	uint8_t linked;
	struct xfer *lru_prev, *lru_next; /* least recently heard first */
};

/* A client address (no port) with live or parked transfers. */
struct client {
	uint8_t family;
	uint8_t addr[16];
	unsigned n;
	struct xfer *xfers;
	struct client *next;
};

/* Log lines that a flood could multiply: a token bucket, then one line per
 * second saying how many were left out. */
struct ratelim {
	const char *event;
	double tokens;
	uint64_t last_ns;
	uint64_t window_ns;       /* start of the current suppression second */
	unsigned long long dropped;
};

struct pp_tftp {
	struct pp_daemon *d;
	pthread_t thr;
	bool started;           /* pp_tftp_run started the thread */
	int epfd, lfd, evfd;
	int family;
	int wildcard;          /* listening on 0.0.0.0 / :: : bind TIDs per request */
	struct sockaddr_storage laddr;
	socklen_t laddr_len;
	struct xfer **heap;    /* every live transfer is in the heap */
	unsigned heap_n, heap_cap;
	struct xfer *dead;     /* finished during this loop turn, freed after it */
	uint8_t *arena;
	uint8_t *stage;        /* netascii input of one block */
	uint8_t rx[TFTP_PKT_MAX];
	uint8_t tx[1024];
	/* requests parked until their device change is durable: the worker
	 * moves them to `ready` and wakes the loop through readyfd */
	struct xfer *parked;
	unsigned n_parked;
	pthread_mutex_t ready_lock;
	struct xfer *ready;
	int readyfd;
	struct client *clients[CLIENT_BUCKETS];
	/* live transfers by the last time their client was heard: [0] never
	 * (a flood's unanswered OACKs), [1] at least once */
	struct { struct xfer *head, *tail; } lru[2];
	struct ratelim rl_refused, rl_failed;
	unsigned max_xfers;        /* the file descriptor limit's share (at start) */
	/* transfers completed in the last RECENT_NS, by recent_key() */
	struct { uint64_t key, t_ns; } recent[RECENT_SLOTS];
};

/* Epoll tags for the non-transfer fds. */
static char tag_listen, tag_event, tag_ready;

/* ---- timer heap ------------------------------------------------------ */

static void heap_swap(struct pp_tftp *s, unsigned a, unsigned b)
{
	struct xfer *t = s->heap[a];

	s->heap[a] = s->heap[b];
	s->heap[b] = t;
	s->heap[a]->heap_idx = a;
	s->heap[b]->heap_idx = b;
}

static void heap_up(struct pp_tftp *s, unsigned i)
{
	while (i > 0) {
		unsigned p = (i - 1) / 2;

		if (s->heap[p]->heap_key <= s->heap[i]->heap_key)
			break;
		heap_swap(s, p, i);
		i = p;
	}
}

static void heap_down(struct pp_tftp *s, unsigned i)
{
	for (;;) {
		unsigned l = 2 * i + 1, r = l + 1, m = i;

		if (l < s->heap_n && s->heap[l]->heap_key < s->heap[m]->heap_key)
			m = l;
		if (r < s->heap_n && s->heap[r]->heap_key < s->heap[m]->heap_key)
			m = r;
		if (m == i)
			return;
		heap_swap(s, i, m);
		i = m;
	}
}

static int heap_push(struct pp_tftp *s, struct xfer *x)
{
	if (s->heap_n == s->heap_cap) {
		unsigned cap = s->heap_cap ? s->heap_cap * 2 : 64;
		struct xfer **h = realloc(s->heap, cap * sizeof(*h));

		if (!h)
			return -1;
		s->heap = h;
		s->heap_cap = cap;
	}
	x->heap_key = x->deadline;
	x->heap_idx = s->heap_n;
	s->heap[s->heap_n++] = x;
	heap_up(s, x->heap_idx);
	return 0;
}

static void heap_remove(struct pp_tftp *s, struct xfer *x)
{
	unsigned i = x->heap_idx;

	s->heap_n--;
	if (i != s->heap_n) {
		heap_swap(s, i, s->heap_n);
		heap_down(s, i);
		heap_up(s, i);
	}
}

/* ---- helpers ----------------------------------------------------------- */

static void arm(struct xfer *x)
{
	x->deadline = pp_mono_ns() + (uint64_t)x->timeout_ms * 1000000ull;
}

static void send_error_to(int fd, const struct sockaddr *to, socklen_t tolen, uint16_t code,
			  const char *msg)
{
	uint8_t buf[600];
	size_t n = tftp_build_error(buf, sizeof(buf), code, msg);

	(void)!sendto(fd, buf, n, MSG_DONTWAIT, to, tolen);
}

static void addr_text(const struct sockaddr_storage *ss, char *ip, size_t n, uint16_t *port)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, (socklen_t)n);
		*port = ntohs(a->sin6_port);
	} else {
		const struct sockaddr_in *a = (const void *)ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, (socklen_t)n);
		*port = ntohs(a->sin_port);
	}
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

	return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

/* ---- admission: per-client counts, LRU, log rate limit ------------------- */

/* A completed transfer is remembered for RECENT_NS by (client address and
 * port, normalised name): an RRQ that was retransmitted (busybox resends
 * after 100 ms) and is read after the transfer it asked for already ended
 * would otherwise start a ghost transfer to a client that has gone, which
 * holds a slot of its client's tftp.max_per_client until it times out.
 * Clients take a new port (TID) for each transfer (RFC 1350), so a real new
 * request is never taken for one: at worst a client that reuses its port
 * for the same file within 2 s is answered on its retransmission. */
static uint64_t recent_key(const struct sockaddr_storage *peer, const char *norm, size_t normlen)
{
	uint64_t h = 14695981039346656037ull;
	const uint8_t *b;
	size_t n;

	if (peer->ss_family == AF_INET6) {
		b = (const uint8_t *)&((const struct sockaddr_in6 *)peer)->sin6_addr;
		n = 16;
		h = (h ^ ((const struct sockaddr_in6 *)peer)->sin6_port) * 1099511628211ull;
	} else {
		b = (const uint8_t *)&((const struct sockaddr_in *)peer)->sin_addr;
		n = 4;
		h = (h ^ ((const struct sockaddr_in *)peer)->sin_port) * 1099511628211ull;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	for (size_t i = 0; i < normlen; i++)
		h = (h ^ (uint8_t)norm[i]) * 1099511628211ull;
	return h | 1; /* 0 marks an empty slot */
}

static bool recently_done(const struct pp_tftp *s, uint64_t key)
{
	const __typeof__(s->recent[0]) *r = &s->recent[key % RECENT_SLOTS];

	return r->key == key && pp_mono_ns() - r->t_ns < RECENT_NS;
}

static void client_key(const struct sockaddr_storage *ss, uint8_t *fam, uint8_t addr[16])
{
	memset(addr, 0, 16);
	*fam = (uint8_t)ss->ss_family;
	if (ss->ss_family == AF_INET6)
		memcpy(addr, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	else
		memcpy(addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
}

static unsigned client_hash(uint8_t fam, const uint8_t addr[16])
{
	uint32_t h = 2166136261u ^ fam;

	for (int i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	return h % CLIENT_BUCKETS;
}

static struct client *client_find(struct pp_tftp *s, const struct sockaddr_storage *ss, bool create)
{
	uint8_t fam, addr[16];
	unsigned h;
	struct client *c;

	client_key(ss, &fam, addr);
	h = client_hash(fam, addr);
	for (c = s->clients[h]; c; c = c->next)
		if (c->family == fam && memcmp(c->addr, addr, 16) == 0)
			return c;
	if (!create || !(c = calloc(1, sizeof(*c))))
		return NULL;
	c->family = fam;
	memcpy(c->addr, addr, 16);
	c->next = s->clients[h];
	s->clients[h] = c;
	return c;
}

static void client_attach(struct pp_tftp *s, struct xfer *x, struct client *c)
{
	(void)s;
	x->cl = c;
	x->cl_next = c->xfers;
	c->xfers = x;
	c->n++;
}

/* The transfer stops counting against its client (idempotent). */
static void client_detach(struct pp_tftp *s, struct xfer *x)
{
	struct client *c = x->cl;

	if (!c)
		return;
	for (struct xfer **pp = &c->xfers; *pp; pp = &(*pp)->cl_next)
		if (*pp == x) {
			*pp = x->cl_next;
			break;
		}
	x->cl = NULL;
	if (--c->n)
		return;
	unsigned h = client_hash(c->family, c->addr);

	for (struct client **pp = &s->clients[h]; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	free(c);
}

static void lru_unlink(struct pp_tftp *s, struct xfer *x)
{
	if (!x->linked)
		return;
	if (x->lru_prev)
		x->lru_prev->lru_next = x->lru_next;
	else
		s->lru[x->heard].head = x->lru_next;
	if (x->lru_next)
		x->lru_next->lru_prev = x->lru_prev;
	else
		s->lru[x->heard].tail = x->lru_prev;
	x->lru_prev = x->lru_next = NULL;
	x->linked = 0;
}

/* Started (heard 0) or the client was heard (heard 1): to the end of its list. */
static void lru_touch(struct pp_tftp *s, struct xfer *x, int heard)
{
	x->active_ns = pp_mono_ns();
	if (x->linked && x->heard == heard && s->lru[heard].tail == x)
		return;
	lru_unlink(s, x);
	x->heard = (uint8_t)heard;
	x->linked = 1;
	x->lru_prev = s->lru[heard].tail;
	if (s->lru[heard].tail)
		s->lru[heard].tail->lru_next = x;
	else
		s->lru[heard].head = x;
	s->lru[heard].tail = x;
}

/* The file name as compared for retransmitted requests: leading and repeated
 * '/' and "." segments do not make another name ("/a", "//a", "./a" are "a"). */
static size_t norm_name(const char *in, size_t n, char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		size_t st;

		while (i < n && in[i] == '/')
			i++;
		st = i;
		while (i < n && in[i] != '/')
			i++;
		if (i == st || (i - st == 1 && in[st] == '.'))
			continue;
		if (o)
			out[o++] = '/';
		memcpy(out + o, in + st, i - st);
		o += i - st;
	}
	out[o] = 0;
	return o;
}

static void rl_flush(struct ratelim *l, uint64_t now)
{
	if (l->dropped && now - l->window_ns >= 1000000000ull) {
		pp_log(PP_LOG_WARN, "tftp.log_suppressed", "of=%s suppressed=%llu", l->event,
		       l->dropped);
		l->dropped = 0;
	}
}

/* May one more line of this kind be logged now? */
static bool rl_allow(struct ratelim *l)
{
	uint64_t now = pp_mono_ns();

	if (!l->last_ns)
		l->tokens = LOG_BURST;
	else
		l->tokens += (double)(now - l->last_ns) * LOG_RATE / 1e9;
	if (l->tokens > LOG_BURST)
		l->tokens = LOG_BURST;
	l->last_ns = now;
	rl_flush(l, now);
	if (l->tokens >= 1) {
		l->tokens -= 1;
		return true;
	}
	if (!l->dropped)
		l->window_ns = now;
	l->dropped++;
	return false;
}

static uint64_t xfer_bytes(const struct xfer *x)
{
	uint64_t done = x->state == XS_DATA ? x->base - 1 : 0;

	if (x->netascii)
		return x->na_ack.out_off;
	if (done * x->blksize > x->blob.size)
		return x->blob.size;
	return done * x->blksize;
}

/* Finish a transfer: log, count, close; the memory is freed after the
 * current loop turn (events for it may still be pending in this batch). */
static void xfer_finish(struct pp_tftp *s, struct xfer *x, const char *result)
{
	char qf[PP_PATH_MAX + 8];
	uint64_t bytes = xfer_bytes(x);
	uint64_t ms = (pp_mono_ns() - x->start_ns) / 1000000ull;
	int ok = strcmp(result, "ok") == 0;

	if (ok) {
		bytes = x->netascii ? x->na_ack.out_off : x->blob.size;
		struct pp_request rq = {
			.proto = PP_PROTO_TFTP, .path = x->reqname, .path_len = x->reqname_len,
			.peer_ip = x->peer_ip, .rootfd = s->d->tftp_rootfd,
		};
		pp_prov_done(s->d->prov, &rq, &x->blob, bytes);
		PP_COUNT(tftp.transfers, 1);
		if (x->normname) {
			uint64_t key = recent_key(&x->peer, x->normname, x->normlen);

			s->recent[key % RECENT_SLOTS].key = key;
			s->recent[key % RECENT_SLOTS].t_ns = pp_mono_ns();
		}
	} else {
		PP_COUNT(tftp.errors, 1);
	}
	PP_COUNT(tftp.bytes, bytes);
	pp_hist_observe(&pp_metrics.tftp.duration, pp_mono_ns() - x->start_ns);
	/* a flood's failed transfers would each make a warning: rate-limited */
	if (ok || rl_allow(&s->rl_failed)) {
		pp_log(ok ? PP_LOG_INFO : PP_LOG_WARN, "tftp.done",
		       "client=%s:%u file=%s mode=%s bytes=%llu blksize=%u windowsize=%u "
		       "duration_ms=%llu resent=%llu result=%s",
		       x->peer_ip, x->peer_port, pp_q(qf, sizeof(qf), x->blob.path),
		       x->netascii ? "netascii" : "octet", (unsigned long long)bytes, x->blksize,
		       x->window, (unsigned long long)ms, (unsigned long long)x->resent, result);
	}
	heap_remove(s, x);
	lru_unlink(s, x);
	client_detach(s, x);
	close(x->fd);
	x->fd = -1;
	x->dead = 1;
	x->next_dead = s->dead;
	s->dead = x;
}

static void xfer_free(struct pp_tftp *s, struct xfer *x)
{
	client_detach(s, x);
	free(x->normname);
	free(x->ahead);
	pp_blob_release(&x->blob);
	free(x->reqname);
	free(x);
}

static void xfer_abort(struct pp_tftp *s, struct xfer *x, uint16_t code, const char *msg,
		       const char *result)
{
	send_error_to(x->fd, (struct sockaddr *)&x->peer, x->peer_len, code, msg);
	xfer_finish(s, x, result);
}

static void set_out(struct pp_tftp *s, struct xfer *x, int want)
{
	struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = x };

	if (x->want_out == want)
		return;
	x->want_out = (uint8_t)want;
	epoll_ctl(s->epfd, EPOLL_CTL_MOD, x->fd, &ev);
}

/* ---- producing data ---------------------------------------------------- */

/* Bytes of the source file at off: a pointer into a rendered file, or read
 * into buf. Returns NULL on a short read (file shrank) or an I/O error. */
static const uint8_t *src_get(struct xfer *x, uint64_t off, size_t len, uint8_t *buf)
{
	size_t got = 0;

	if (x->blob.data)
		return x->blob.data + off;
	while (got < len) {
		ssize_t r = pread(x->blob.fd, buf + got, len - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return NULL;
		got += (size_t)r;
	}
	return buf;
}

/* One netascii block of up to blksize bytes into out. Returns its length
 * or -1 on a read error. */
static long na_block(struct pp_tftp *s, struct xfer *x, struct tftp_na *st, uint8_t *out)
{
	size_t o = 0;

	while (o < x->blksize) {
		uint64_t avail = x->blob.size - st->in_off;
		size_t want = avail < x->blksize - o ? (size_t)avail : x->blksize - o;
		const uint8_t *in = NULL;

		if (avail == 0 && st->pending < 0)
			break;
		if (want) {
			in = src_get(x, st->in_off, want, s->stage);
			if (!in)
				return -1;
		}
		o += tftp_na_encode(st, in, want, out + o, x->blksize - o);
	}
	return (long)o;
}

/* Lock-step transfers of large static files read the next block while the
 * client handles the one just sent, so that its ACK is answered without a
 * read on the critical path (the one per-transfer buffer, blksize bytes,
 * allocated only for files of more than READ_AHEAD_MIN bytes). */
#define READ_AHEAD_MIN (256 * 1024)

static void read_ahead(struct xfer *x)
{
	uint64_t off, len;

	if (x->window != 1 || x->netascii || x->blob.fd < 0 || x->blob.size < READ_AHEAD_MIN ||
	    x->state != XS_DATA || x->cursor > x->last || x->ahead_blk == x->cursor)
		return;
	if (!x->ahead && !(x->ahead = malloc(x->blksize)))
		return;
	off = (x->cursor - 1) * x->blksize;
	len = x->blob.size - off < x->blksize ? x->blob.size - off : x->blksize;
	x->ahead_blk = 0;
	if (len && !src_get(x, off, (size_t)len, x->ahead))
		return;
	x->ahead_blk = x->cursor;
}

/* Send what the window allows from the cursor. Returns 0, or -1 when the
 * transfer had to be aborted (it is finished then). */
static int xfer_pump(struct pp_tftp *s, struct xfer *x)
{
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH][2];
	uint8_t hdr[BATCH][4];
	struct tftp_na nas[BATCH + 1];
	size_t per_arena = ARENA_SIZE / x->blksize;

	if (per_arena > BATCH)
		per_arena = BATCH;
	for (;;) {
		uint64_t end = x->base + x->window - 1;
		size_t n = 0, count;
		const uint8_t *data;

		if (x->last && end > x->last)
			end = x->last;
		if (x->cursor > end)
			break;
		count = end - x->cursor + 1 < per_arena ? (size_t)(end - x->cursor + 1) : per_arena;
		if (x->netascii) {
			struct tftp_na st = x->na_send;

			for (n = 0; n < count; n++) {
				long len;

				nas[n] = st;
				len = na_block(s, x, &st, s->arena + n * x->blksize);
				if (len < 0)
					goto ioerr;
				iov[n][1].iov_base = s->arena + n * x->blksize;
				iov[n][1].iov_len = (size_t)len;
				if ((size_t)len < x->blksize) {
					x->last = x->cursor + n;
					n++;
					break;
				}
			}
			nas[n] = st;
		} else {
			uint64_t off = (x->cursor - 1) * x->blksize;
			uint64_t span = (uint64_t)count * x->blksize;

			if (span > x->blob.size - off)
				span = x->blob.size - off;
			if (x->ahead && x->ahead_blk == x->cursor && count == 1)
				data = x->ahead;
			else
				data = span ? src_get(x, off, (size_t)span, s->arena) : s->arena;
			if (!data)
				goto ioerr;
			for (n = 0; n < count; n++) {
				uint64_t o = (uint64_t)n * x->blksize;
				uint64_t len = o >= span ? 0 : span - o;

				iov[n][1].iov_base = (void *)(data + o);
				iov[n][1].iov_len = len > x->blksize ? x->blksize : (size_t)len;
			}
		}
		for (size_t i = 0; i < n; i++) {
			tftp_put16(hdr[i], TFTP_DATA);
			tftp_put16(hdr[i] + 2, (uint16_t)(x->cursor + i));
			iov[i][0].iov_base = hdr[i];
			iov[i][0].iov_len = 4;
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_name = &x->peer;
			msgs[i].msg_hdr.msg_namelen = x->peer_len;
			msgs[i].msg_hdr.msg_iov = iov[i];
			msgs[i].msg_hdr.msg_iovlen = 2;
		}
		int r = sendmmsg(x->fd, msgs, (unsigned)n, MSG_DONTWAIT);

		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ||
			    errno == EINTR) {
				set_out(s, x, 1);
				return 0;
			}
			xfer_finish(s, x, "send_error");
			return -1;
		}
		x->cursor += (unsigned)r;
		if (x->netascii)
			x->na_send = nas[r];
		if ((size_t)r < n) {
			set_out(s, x, 1);
			return 0;
		}
	}
	set_out(s, x, 0);
	read_ahead(x);
	return 0;
ioerr:
	xfer_abort(s, x, TFTP_EUNDEF, "read error", "read_error");
	return -1;
}

static int send_oack(struct xfer *x)
{
	uint8_t buf[128];
	size_t n = tftp_build_oack(buf, sizeof(buf), &x->oack);

	return sendto(x->fd, buf, n, MSG_DONTWAIT, (struct sockaddr *)&x->peer, x->peer_len) < 0
		       ? -1 : 0;
}

/* ---- transfer events --------------------------------------------------- */

static void on_ack(struct pp_tftp *s, struct xfer *x, uint16_t blk)
{
	if (x->state == XS_OACK) {
		if (blk != 0)
			return;
		x->state = XS_DATA;
		x->base = x->cursor = 1;
		x->retries_left = x->max_retries;
		arm(x);
		xfer_pump(s, x);
		return;
	}
	if (x->cursor <= x->base)
		return;
	uint16_t diff = (uint16_t)(blk - (uint16_t)x->base);

	if (diff > x->cursor - 1 - x->base)
		return; /* duplicate, old or never sent: ignored (no Sorcerer's Apprentice) */
	uint64_t j = x->base + diff;

	if (x->netascii) {
		if (j + 1 == x->cursor) {
			x->na_ack = x->na_send;
		} else {
			struct tftp_na st = x->na_ack;

			for (uint64_t k = x->base; k <= j; k++) {
				if (na_block(s, x, &st, s->arena) < 0) {
					xfer_abort(s, x, TFTP_EUNDEF, "read error", "read_error");
					return;
				}
			}
			x->na_ack = x->na_send = st;
		}
	}
	x->base = j + 1;
	if (x->last && j >= x->last) {
		xfer_finish(s, x, "ok");
		return;
	}
	x->cursor = x->base;
	x->retries_left = x->max_retries;
	arm(x);
	xfer_pump(s, x);
}

static void on_packet(struct pp_tftp *s, struct xfer *x, const uint8_t *p, size_t n,
		      const struct sockaddr_storage *from, socklen_t fromlen)
{
	uint16_t blk, code;
	const char *msg;
	size_t mlen;

	if (!same_addr(from, &x->peer)) {
		/* RFC 1350: another TID gets error 5, the transfer goes on. */
		send_error_to(x->fd, (const struct sockaddr *)from, fromlen, TFTP_EBADID,
			      "unknown transfer ID");
		return;
	}
	switch (tftp_opcode(p, n)) {
	case TFTP_ACK:
		if (tftp_parse_ack(p, n, &blk) == 0) {
			lru_touch(s, x, 1);
			on_ack(s, x, blk);
		}
		return;
	case TFTP_ERROR:
		if (tftp_parse_error(p, n, &code, &msg, &mlen) == 0) {
			char m[128], q[300];

			snprintf(m, sizeof(m), "%.*s", (int)(mlen < 100 ? mlen : 100), msg);
			pp_log(PP_LOG_DEBUG, "tftp.client_error", "client=%s:%u code=%u msg=%s",
			       x->peer_ip, x->peer_port, code, pp_q(q, sizeof(q), m));
			xfer_finish(s, x, code == TFTP_EOPTNEG ? "options_refused" : "client_error");
		}
		return;
	default:
		xfer_abort(s, x, TFTP_EBADOP, "illegal operation", "illegal_op");
		return;
	}
}

static void on_readable(struct pp_tftp *s, struct xfer *x)
{
	/* recvmmsg: one call returns what is queued (usually one ACK), so the
	 * lock-step case costs one receive call per block, not two */
	enum { RX_BATCH = 8, RX_SLOT = 1024 };
	struct mmsghdr m[RX_BATCH];
	struct iovec iov[RX_BATCH];
	struct sockaddr_storage from[RX_BATCH];

	for (int round = 0; round < 8 && !x->dead; round++) {
		for (int i = 0; i < RX_BATCH; i++) {
			iov[i].iov_base = s->rx + i * RX_SLOT;
			iov[i].iov_len = RX_SLOT;
			memset(&m[i].msg_hdr, 0, sizeof(m[i].msg_hdr));
			m[i].msg_hdr.msg_name = &from[i];
			m[i].msg_hdr.msg_namelen = sizeof(from[i]);
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(x->fd, m, RX_BATCH, MSG_DONTWAIT, NULL);

		for (int i = 0; i < n && !x->dead; i++)
			on_packet(s, x, s->rx + i * RX_SLOT, m[i].msg_len, &from[i],
				  m[i].msg_hdr.msg_namelen);
		if (n < RX_BATCH)
			return;
	}
}

static void on_timeout(struct pp_tftp *s, struct xfer *x)
{
	if (x->retries_left == 0) {
		xfer_abort(s, x, TFTP_EUNDEF, "timeout", "timeout");
		return;
	}
	x->retries_left--;
	arm(x);
	if (x->state == XS_OACK) {
		send_oack(x);
		return;
	}
	x->resent += x->cursor - x->base;
	x->cursor = x->base;
	x->na_send = x->na_ack;
	xfer_pump(s, x);
}

/* ---- requests ---------------------------------------------------------- */

static void refuse(struct pp_tftp *s, const struct sockaddr_storage *from, socklen_t fl,
		   const struct tftp_req *r, uint16_t code, const char *msg, const char *reason)
{
	char ip[INET6_ADDRSTRLEN], name[256], qn[1100], qr[300];
	uint16_t port;
	size_t len = r && r->file_len < sizeof(name) - 1 ? r->file_len : sizeof(name) - 1;

	addr_text(from, ip, sizeof(ip), &port);
	if (r)
		memcpy(name, r->file, len);
	name[r ? len : 0] = 0;
	/* phones ask for many optional files (per-model, per-MAC, language
	 * files): one not found is information, not a warning */
	if (rl_allow(&s->rl_refused)) {
		pp_log(code == TFTP_ENOTFOUND ? PP_LOG_INFO : PP_LOG_WARN, "tftp.refused",
		       "client=%s:%u file=%s code=%u reason=%s", ip, port,
		       pp_q(qn, sizeof(qn), name), code, pp_q(qr, sizeof(qr), reason));
	}
	send_error_to(s->lfd, (const struct sockaddr *)from, fl, code, msg);
}

/* The ephemeral socket of a transfer: bound to the address the request came
 * to, port chosen by the kernel. */
static int tid_socket(struct pp_tftp *s, const struct sockaddr_storage *local, socklen_t ll)
{
	int fd = socket(s->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_storage a;

	if (fd < 0)
		return -1;
	memcpy(&a, local, ll);
	if (a.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a)->sin6_port = 0;
	else
		((struct sockaddr_in *)&a)->sin_port = 0;
	if (bind(fd, (struct sockaddr *)&a, ll) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void negotiate(struct xfer *x, const struct tftp_req *r, const struct pp_config *cfg,
		      int *any)
{
	unsigned max_blk = cfg->tftp.max_blksize, max_win = cfg->tftp.max_windowsize;

	x->oack.blksize = x->oack.timeout = x->oack.tsize = x->oack.windowsize = -1;
	*any = 0;
	if (max_blk < TFTP_BLKSIZE_MIN || max_blk > TFTP_BLKSIZE_MAX)
		max_blk = TFTP_BLKSIZE_MAX;
	if (max_win < 1)
		max_win = 1;
	if (max_win > TFTP_WINDOW_MAX)
		max_win = TFTP_WINDOW_MAX;
	if (r->blksize >= 0) {
		x->blksize = r->blksize > max_blk ? max_blk : (uint32_t)r->blksize;
		x->oack.blksize = x->blksize;
		*any = 1;
	}
	if (r->windowsize >= 0) {
		x->window = r->windowsize > max_win ? max_win : (uint32_t)r->windowsize;
		x->oack.windowsize = x->window;
		*any = 1;
	}
	if (r->timeout >= 0) {
		/* the client's own choice (up to 255 s) would let it hold a slot
		 * for (retries + 1) x 255 s: clamped, and the OACK says so */
		long long t = r->timeout;

		if (cfg->tftp.max_timeout_s && t > (long long)cfg->tftp.max_timeout_s)
			t = (long long)cfg->tftp.max_timeout_s;
		x->timeout_ms = (uint32_t)t * 1000;
		x->oack.timeout = t;
		*any = 1;
	}
	if (r->tsize >= 0) {
		x->oack.tsize = -2; /* filled once the size is known */
		*any = 1;
	}
}

/* tsize of a netascii transfer: the size on the wire (RFC 2349 asks for the
 * transfer size), computed by one pass over the file. */
static int na_tsize(struct pp_tftp *s, struct xfer *x, uint64_t *out)
{
	uint64_t extra = 0;

	for (uint64_t off = 0; off < x->blob.size;) {
		size_t n = x->blob.size - off > ARENA_SIZE ? ARENA_SIZE : (size_t)(x->blob.size - off);
		const uint8_t *p = src_get(x, off, n, s->arena);

		if (!p)
			return -1;
		extra += tftp_na_count_extra(p, n);
		off += n;
	}
	*out = x->blob.size + extra;
	return 0;
}

/* A client that did not hear from us in time sends its RRQ again, from the
 * same port. A transfer to that address and port for the same normalised
 * name is already there (parked or live): the copy is dropped (our own
 * timer resends) instead of starting a second transfer that the client
 * would answer with error 5, or that a flood from one port would multiply
 * with "/f", "//f", "./f". Only the client's own few transfers are scanned;
 * one that already ended is found by recently_done(). */
static int is_retransmitted_rrq(const struct client *c, const struct sockaddr_storage *from,
				const char *norm, size_t normlen)
{
	if (!c)
		return 0;
	/* a live (or parked) transfer of that name to that port: whether or not
	 * it made progress, a second one would send the client DATA from a new
	 * TID in the middle of its transfer (curl then aborts) */
	for (const struct xfer *x = c->xfers; x; x = x->cl_next)
		if (same_addr(from, &x->peer) && x->normlen == normlen &&
		    memcmp(x->normname, norm, normlen) == 0)
			return 1;
	return 0;
}

/* The worker's completion of a parked request (worker thread): hand it back
 * to the TFTP loop. */
static void parked_done(void *ctx, int rc)
{
	struct xfer *x = ctx;
	struct pp_tftp *s = x->owner;
	uint64_t one = 1;

	pthread_mutex_lock(&s->ready_lock);
	x->park_rc = rc;
	x->next_ready = s->ready;
	s->ready = x;
	pthread_mutex_unlock(&s->ready_lock);
	(void)!write(s->readyfd, &one, sizeof(one));
}

static void unpark(struct pp_tftp *s, struct xfer *x)
{
	for (struct xfer **pp = &s->parked; *pp; pp = &(*pp)->next_park)
		if (*pp == x) {
			*pp = x->next_park;
			s->n_parked--;
			break;
		}
	x->next_park = NULL;
}

static void xfer_begin(struct pp_tftp *s, struct xfer *x, bool again);

static void on_request(struct pp_tftp *s, const uint8_t *p, size_t n,
		       const struct sockaddr_storage *from, socklen_t fl,
		       const struct sockaddr_storage *local, socklen_t ll)
{
	struct tftp_req r;
	const char *why = NULL;
	struct xfer *x;
	struct pp_snapshot *snap;
	int any;

	if (tftp_parse_request(p, n, &r, &why) != 0) {
		PP_COUNT(tftp.errors, 1);
		refuse(s, from, fl, NULL, TFTP_EBADOP, "malformed request", why);
		return;
	}
	PP_COUNT(tftp.requests, 1);
	if (r.opcode == TFTP_WRQ) {
		PP_COUNT(tftp.refused, 1);
		refuse(s, from, fl, &r, TFTP_EACCESS, "uploads are not accepted", "write request");
		return;
	}
	if (r.mode != TFTP_MODE_OCTET && r.mode != TFTP_MODE_NETASCII) {
		PP_COUNT(tftp.errors, 1);
		refuse(s, from, fl, &r, TFTP_EBADOP, "unsupported transfer mode", "unsupported mode");
		return;
	}
	if (r.bad_option) {
		char m[64];

		snprintf(m, sizeof(m), "invalid value for option %s", r.bad_option);
		PP_COUNT(tftp.errors, 1);
		refuse(s, from, fl, &r, TFTP_EOPTNEG, m, m);
		return;
	}
	char *norm = malloc(r.file_len + 1);

	if (!norm) {
		PP_COUNT(tftp.errors, 1);
		refuse(s, from, fl, &r, TFTP_EUNDEF, "out of memory", "out of memory");
		return;
	}
	size_t normlen = norm_name(r.file, r.file_len, norm);
	struct client *cl = client_find(s, from, false);

	if (is_retransmitted_rrq(cl, from, norm, normlen) ||
	    recently_done(s, recent_key(from, norm, normlen))) {
		char ip[INET6_ADDRSTRLEN];
		uint16_t port;

		free(norm);
		addr_text(from, ip, sizeof(ip), &port);
		pp_log(PP_LOG_DEBUG, "tftp.duplicate_request", "client=%s:%u", ip, port);
		return;
	}
	snap = pp_daemon_acquire(s->d);
	unsigned per_client = snap->cfg->tftp.max_per_client;
	unsigned max_xfers = snap->cfg->tftp.max_transfers;

	pp_snapshot_release(snap);
	if (max_xfers > s->max_xfers)
		max_xfers = s->max_xfers;
	if (cl && cl->n >= per_client) {
		free(norm);
		PP_COUNT(tftp.refused, 1);
		refuse(s, from, fl, &r, TFTP_EUNDEF, "server busy (too many transfers from you)",
		       "per-client limit");
		return;
	}
	/* all slots taken: the oldest transfer whose client never answered (a
	 * flood's unanswered OACKs), else the one whose client was heard least
	 * recently (a working transfer is heard every round trip) makes room.
	 * A parked request (a new phone waiting for the provisioning worker)
	 * holds its slot: it becomes a transfer when it resumes, without a
	 * check of its own, so counting it keeps transfers within max_xfers */
	if (s->heap_n + s->n_parked >= max_xfers) {
		struct xfer *old = s->lru[0].head ? s->lru[0].head : s->lru[1].head;

		if (old) {
			PP_COUNT(tftp.errors, 1);
			xfer_abort(s, old, TFTP_EUNDEF, "server busy", "evicted");
		}
	}
	if (s->heap_n + s->n_parked >= max_xfers) {
		free(norm);
		PP_COUNT(tftp.errors, 1);
		refuse(s, from, fl, &r, TFTP_EUNDEF, "server busy", "too many transfers");
		return;
	}
	if (!cl)
		cl = client_find(s, from, true);
	x = calloc(1, sizeof(*x));
	if (!cl || !x || !(x->reqname = malloc(r.file_len + 1))) {
		free(x);
		free(norm);
		PP_COUNT(tftp.errors, 1);
		refuse(s, from, fl, &r, TFTP_EUNDEF, "out of memory", "out of memory");
		return;
	}
	x->normname = norm;
	x->normlen = normlen;
	client_attach(s, x, cl);
	memcpy(x->reqname, r.file, r.file_len);
	x->reqname[r.file_len] = 0;
	x->reqname_len = r.file_len;
	x->fd = -1;
	x->blob.fd = -1;
	memcpy(&x->peer, from, fl);
	x->peer_len = fl;
	addr_text(from, x->peer_ip, sizeof(x->peer_ip), &x->peer_port);
	x->netascii = r.mode == TFTP_MODE_NETASCII;
	tftp_na_init(&x->na_ack);
	tftp_na_init(&x->na_send);
	x->blksize = TFTP_BLKSIZE_DEFAULT;
	x->window = 1;

	snap = pp_daemon_acquire(s->d);
	x->timeout_ms = snap->cfg->tftp.timeout_ms ? snap->cfg->tftp.timeout_ms : 1000;
	x->max_retries = x->retries_left = snap->cfg->tftp.retries;
	negotiate(x, &r, snap->cfg, &any);
	pp_snapshot_release(snap);

	memcpy(&x->local, local, ll);
	x->local_len = ll;
	x->any = any;
	x->owner = s;
	xfer_begin(s, x, false);
}

/* Look the request up and start the transfer (again = its second look,
 * after the provisioning worker made the device durable). */
static void xfer_begin(struct pp_tftp *s, struct xfer *x, bool again)
{
	struct tftp_req r = { .file = x->reqname, .file_len = x->reqname_len };
	const struct sockaddr_storage *from = &x->peer, *local = &x->local;
	socklen_t fl = x->peer_len, ll = x->local_len;
	const char *why = NULL;
	int rc, any = x->any;

	struct pp_request rq = {
		.proto = PP_PROTO_TFTP, .path = x->reqname, .path_len = x->reqname_len,
		.peer_ip = x->peer_ip, .rootfd = s->d->tftp_rootfd, .no_park = again,
	};
	rc = again && x->blob.data ? PP_OK : /* the worker handed the file over */
	     pp_prov_fetch(s->d->prov, &rq, &x->blob, &why, parked_done, x);
	if (rc == PP_EAGAIN) {
		/* the device is being written: answer once it is durable */
		x->next_park = s->parked;
		s->parked = x;
		s->n_parked++;
		return;
	}
	if (rc == PP_EBUSY) {
		/* the provisioning queue is full: no answer, the phone retransmits */
		pp_log(PP_LOG_DEBUG, "tftp.busy", "client=%s:%u file=%s", x->peer_ip,
		       x->peer_port, x->reqname);
		xfer_free(s, x);
		return;
	}
	if (rc != PP_OK) {
		if (rc == PP_ENOENT) {
			PP_COUNT(tftp.errors, 1);
			refuse(s, from, fl, &r, TFTP_ENOTFOUND, "file not found",
			       why ? why : "not found");
		} else if (rc == PP_EACCES) {
			PP_COUNT(tftp.refused, 1);
			refuse(s, from, fl, &r, TFTP_EACCESS, "access violation",
			       why ? why : "refused");
		} else {
			PP_COUNT(tftp.errors, 1);
			refuse(s, from, fl, &r, TFTP_EUNDEF, "internal error",
			       why ? why : pp_strerror(rc));
		}
		xfer_free(s, x);
		return;
	}
	if (x->oack.tsize == -2) {
		uint64_t ts = x->blob.size;

		if (x->netascii && na_tsize(s, x, &ts) != 0) {
			PP_COUNT(tftp.errors, 1);
			refuse(s, from, fl, &r, TFTP_EUNDEF, "read error", "read error");
			xfer_free(s, x);
			return;
		}
		/* curl (7.88) rejects an OACK with "tsize 0" as invalid: for an
		 * empty file tsize is simply not acknowledged (RFC 2347 allows it). */
		x->oack.tsize = ts ? (long long)ts : -1;
		if (!ts && x->oack.blksize < 0 && x->oack.timeout < 0 && x->oack.windowsize < 0)
			any = 0;
	}
	if (!x->netascii)
		x->last = x->blob.size / x->blksize + 1;
	x->fd = tid_socket(s, local, ll);
	if (x->fd < 0) {
		PP_COUNT(tftp.errors, 1);
		refuse(s, from, fl, &r, TFTP_EUNDEF, "server busy", strerror(errno));
		xfer_free(s, x);
		return;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = x };

	x->start_ns = pp_mono_ns();
	arm(x);
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, x->fd, &ev) != 0 || heap_push(s, x) != 0) {
		close(x->fd);
		PP_COUNT(tftp.errors, 1);
		refuse(s, from, fl, &r, TFTP_EUNDEF, "server busy", "cannot register transfer");
		xfer_free(s, x);
		return;
	}
	lru_touch(s, x, 0);
	pp_log(PP_LOG_DEBUG, "tftp.start", "client=%s:%u mode=%s blksize=%u windowsize=%u oack=%d",
	       x->peer_ip, x->peer_port, x->netascii ? "netascii" : "octet", x->blksize, x->window,
	       any);
	if (any) {
		x->state = XS_OACK;
		send_oack(x);
		return;
	}
	x->state = XS_DATA;
	x->base = x->cursor = 1;
	xfer_pump(s, x);
}

static void on_listen(struct pp_tftp *s)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage from, local;
		union {
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
				 CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { .iov_base = s->rx, .iov_len = sizeof(s->rx) };
		struct msghdr mh = {
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		ssize_t n = recvmsg(s->lfd, &mh, MSG_DONTWAIT);
		socklen_t ll = s->laddr_len;

		if (n < 0)
			return;
		memcpy(&local, &s->laddr, sizeof(local));
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); s->wildcard && c;
		     c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;

				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				((struct sockaddr_in *)&local)->sin_addr = pi.ipi_addr;
			} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;

				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				((struct sockaddr_in6 *)&local)->sin6_addr = pi.ipi6_addr;
			}
		}
		uint16_t port;
		char ip[INET6_ADDRSTRLEN];

		addr_text(&from, ip, sizeof(ip), &port);
		if (port == 0)
			continue; /* no valid TID to answer */
		on_request(s, s->rx, (size_t)n, &from, mh.msg_namelen, &local, ll);
	}
}

/* ---- the loop ------------------------------------------------------------ */

static void reap(struct pp_tftp *s)
{
	while (s->dead) {
		struct xfer *x = s->dead;

		s->dead = x->next_dead;
		xfer_free(s, x);
	}
}

static void run_timers(struct pp_tftp *s)
{
	uint64_t now = pp_mono_ns();

	rl_flush(&s->rl_refused, now);
	rl_flush(&s->rl_failed, now);
	while (s->heap_n && s->heap[0]->heap_key <= now) {
		struct xfer *x = s->heap[0];

		if (x->deadline > now) {
			x->heap_key = x->deadline; /* moved later: re-sift lazily */
			heap_down(s, 0);
			continue;
		}
		on_timeout(s, x);
		if (!x->dead) {
			x->heap_key = x->deadline;
			heap_down(s, x->heap_idx);
		}
	}
}

static int next_timeout_ms(struct pp_tftp *s)
{
	uint64_t now, k = UINT64_MAX;

	if (s->rl_refused.dropped)
		k = s->rl_refused.window_ns + 1000000000ull;
	if (s->rl_failed.dropped && s->rl_failed.window_ns + 1000000000ull < k)
		k = s->rl_failed.window_ns + 1000000000ull;
	if (s->heap_n && s->heap[0]->heap_key < k)
		k = s->heap[0]->heap_key;
	if (k == UINT64_MAX)
		return -1;
	now = pp_mono_ns();
	if (k <= now)
		return 0;
	return (int)((k - now + 999999) / 1000000);
}

/* Requests the worker has finished with: their second look. */
static void on_ready(struct pp_tftp *s)
{
	struct xfer *list, *x;
	uint64_t v;

	while (read(s->readyfd, &v, sizeof(v)) > 0)
		;
	pthread_mutex_lock(&s->ready_lock);
	list = s->ready;
	s->ready = NULL;
	pthread_mutex_unlock(&s->ready_lock);
	while ((x = list)) {
		list = x->next_ready;
		unpark(s, x);
		if (x->park_rc != PP_OK && x->park_rc != PP_ENOENT) {
			struct tftp_req r = { .file = x->reqname, .file_len = x->reqname_len };

			PP_COUNT(tftp.errors, 1);
			refuse(s, &x->peer, x->peer_len, &r, TFTP_EUNDEF, "internal error",
			       pp_strerror(x->park_rc));
			xfer_free(s, x);
			continue;
		}
		xfer_begin(s, x, true);
	}
}

static void *tftp_thread(void *arg)
{
	struct pp_tftp *s = arg;
	struct epoll_event evs[MAX_EVENTS];
	int stop = 0;

	while (!stop) {
		int n = epoll_wait(s->epfd, evs, MAX_EVENTS, next_timeout_ms(s));

		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;

			if (tag == &tag_event) {
				stop = 1;
			} else if (tag == &tag_ready) {
				on_ready(s);
			} else if (tag == &tag_listen) {
				on_listen(s);
			} else {
				struct xfer *x = tag;

				if (!x->dead && (evs[i].events & (EPOLLIN | EPOLLERR)))
					on_readable(s, x);
				if (!x->dead && (evs[i].events & EPOLLOUT))
					xfer_pump(s, x);
			}
		}
		run_timers(s);
		reap(s);
	}
	while (s->heap_n)
		xfer_abort(s, s->heap[0], TFTP_EUNDEF, "server shutting down", "shutdown");
	reap(s);
	return NULL;
}

/* ---- start / stop -------------------------------------------------------- */

static int parse_listen(struct pp_tftp *s, const struct pp_listen *l, struct pp_err *err)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&s->laddr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&s->laddr;

	memset(&s->laddr, 0, sizeof(s->laddr));
	if (inet_pton(AF_INET, l->host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)l->port);
		s->laddr_len = sizeof(*a4);
		s->wildcard = a4->sin_addr.s_addr == htonl(INADDR_ANY);
	} else if (inet_pton(AF_INET6, l->host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)l->port);
		s->laddr_len = sizeof(*a6);
		s->wildcard = IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr);
	} else {
		pp_err_set(err, "tftp.listen: %s: not a numeric address", l->text);
		return PP_EINVAL;
	}
	s->family = s->laddr.ss_family;
	return PP_OK;
}

/* Raise the soft file descriptor limit for max transfers and return how many
 * transfers may use descriptors: each takes two (its socket, its file), and
 * together they take at most half of the limit obtained, so that a TFTP
 * flood cannot take the descriptors HTTP, the API and the store need. */
static unsigned raise_nofile(unsigned want)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)want * 4;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return UINT_MAX;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur / 4 >= UINT_MAX)
		return UINT_MAX;
	/* info, not warn: a small hard limit is the environment's choice, and
	 * the line says what it leaves */
	pp_log(PP_LOG_INFO, "tftp.fd_limit",
	       "nofile=%llu max_transfers=%u usable=%llu", (unsigned long long)rl.rlim_cur, want,
	       (unsigned long long)(rl.rlim_cur / 4));
	return rl.rlim_cur / 4 ? (unsigned)(rl.rlim_cur / 4) : 1;
}

static void tftp_free(struct pp_tftp *s)
{
	/* parked requests (the worker stopped before us: none is in its queue
	 * any more; those it finished are on the ready list too) */
	while (s->parked) {
		struct xfer *x = s->parked;

		s->parked = x->next_park;
		xfer_free(s, x);
	}
	pthread_mutex_destroy(&s->ready_lock);
	if (s->readyfd >= 0)
		close(s->readyfd);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->evfd >= 0)
		close(s->evfd);
	if (s->epfd >= 0)
		close(s->epfd);
	for (unsigned i = 0; i < CLIENT_BUCKETS; i++)
		while (s->clients[i]) {
			struct client *c = s->clients[i];

			s->clients[i] = c->next;
			free(c);
		}
	free(s->heap);
	free(s->arena);
	free(s->stage);
	free(s);
}

int pp_tftp_start(struct pp_daemon *d, struct pp_tftp **out, struct pp_err *err)
{
	struct pp_tftp *s = calloc(1, sizeof(*s));
	struct pp_snapshot *snap;
	int one = 1, rcvbuf = LISTEN_RCVBUF, rc, inherited = -1;

	*out = NULL;
	if (!s) {
		pp_err_set(err, "out of memory");
		return PP_ENOMEM;
	}
	s->d = d;
	s->lfd = s->evfd = s->epfd = s->readyfd = -1;
	pthread_mutex_init(&s->ready_lock, NULL);
	snap = pp_daemon_acquire(d);
	rc = parse_listen(s, &snap->cfg->tftp.listen, err);
	if (rc == PP_OK && !snap->cfg->tftp.listen.port)
		rc = PP_EINVAL, pp_err_set(err, "tftp.listen: port 0");
	/* bound by systemd (phoneprovd.socket) when it is there */
	if (rc == PP_OK)
		inherited = pp_sockact_take(d->sockact, SOCK_DGRAM, &snap->cfg->tftp.listen);
	pp_snapshot_release(snap);
	if (rc != PP_OK) {
		tftp_free(s);
		return rc;
	}
	snap = pp_daemon_acquire(d);
	s->max_xfers = raise_nofile(snap->cfg->tftp.max_transfers);
	pp_snapshot_release(snap);
	s->rl_refused.event = "tftp.refused";
	s->rl_failed.event = "tftp.done";
	s->arena = malloc(ARENA_SIZE);
	s->stage = malloc(TFTP_BLKSIZE_MAX);
	s->lfd = inherited >= 0 ? inherited :
				  socket(s->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	s->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->readyfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!s->arena || !s->stage || s->lfd < 0 || s->evfd < 0 || s->epfd < 0 ||
	    s->readyfd < 0) {
		pp_err_set(err, "tftp: cannot set up: %s", strerror(errno));
		tftp_free(s);
		return PP_ERR;
	}
	setsockopt(s->lfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (s->wildcard) {
		if (s->family == AF_INET)
			setsockopt(s->lfd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		else
			setsockopt(s->lfd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	}
	if (inherited < 0 && bind(s->lfd, (struct sockaddr *)&s->laddr, s->laddr_len) != 0) {
		char t[80];

		snap = pp_daemon_acquire(d);
		snprintf(t, sizeof(t), "%s", snap->cfg->tftp.listen.text);
		pp_snapshot_release(snap);
		pp_err_set(err, "tftp.listen: cannot bind %s: %s", t, strerror(errno));
		tftp_free(s);
		return PP_EIO;
	}
	struct epoll_event el = { .events = EPOLLIN, .data.ptr = &tag_listen };
	struct epoll_event ee = { .events = EPOLLIN, .data.ptr = &tag_event };
	struct epoll_event er = { .events = EPOLLIN, .data.ptr = &tag_ready };

	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &el) != 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->evfd, &ee) != 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->readyfd, &er) != 0) {
		pp_err_set(err, "tftp: epoll: %s", strerror(errno));
		tftp_free(s);
		return PP_ERR;
	}
	*out = s;
	return PP_OK;
}

int pp_tftp_run(struct pp_tftp *s, struct pp_err *err)
{
	int rc = pthread_create(&s->thr, NULL, tftp_thread, s);

	if (rc != 0) {
		pp_err_set(err, "tftp: cannot start thread: %s", strerror(rc));
		return PP_ERR;
	}
	s->started = true;
	pthread_setname_np(s->thr, "pp-tftp");
	pp_log(PP_LOG_INFO, "tftp.listening", "addr=%s port=%u", s->family == AF_INET6 ? "v6" : "v4",
	       ntohs(s->family == AF_INET6 ? ((struct sockaddr_in6 *)&s->laddr)->sin6_port
					   : ((struct sockaddr_in *)&s->laddr)->sin_port));
	return PP_OK;
}

void pp_tftp_stop(struct pp_tftp *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	(void)!write(s->evfd, &one, sizeof(one));
	if (s->started)
		pthread_join(s->thr, NULL);
	tftp_free(s);
}
