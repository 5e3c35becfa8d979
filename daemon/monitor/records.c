/* Call records in the store: batches (one transaction, records + `record`
 * events), filtered queries and CSV for the API and the CLI, and the bell
 * that wakes /events streams when events are stored. */
#include "records.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/store/store.h"

/* ---- the bell ---------------------------------------------------------------- */

static pthread_mutex_t bell_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bell_cond = PTHREAD_COND_INITIALIZER;
static uint64_t bell_n;

void pp_events_bell_ring(void)
{
	pthread_mutex_lock(&bell_lock);
	bell_n++;
	pthread_cond_broadcast(&bell_cond);
	pthread_mutex_unlock(&bell_lock);
}

uint64_t pp_events_bell_count(void)
{
	uint64_t n;

	pthread_mutex_lock(&bell_lock);
	n = bell_n;
	pthread_mutex_unlock(&bell_lock);
	return n;
}

bool pp_events_bell_wait(uint64_t *seen, int timeout_ms)
{
	struct timespec ts = pp_deadline_ms(CLOCK_REALTIME, timeout_ms);
	bool rang;

	pthread_mutex_lock(&bell_lock);
	while (bell_n == *seen)
		if (pthread_cond_timedwait(&bell_cond, &bell_lock, &ts) != 0)
			break;
	rang = bell_n != *seen;
	*seen = bell_n;
	pthread_mutex_unlock(&bell_lock);
	return rang;
}

/* ---- storing ------------------------------------------------------------------- */

/* A fast compact JSON encoder for records (strings, integers, booleans and
 * the "extra" object; anything else through jansson). The store's generic
 * encoder (json_dump_callback) costs more than the whole LMDB write at
 * tens of thousands of records per second. Strings are valid UTF-8 (jansson
 * guarantees it): only '"', '\\' and control characters are escaped. */
static void enc_str(struct pp_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	pp_buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		pp_buf_append(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': pp_buf_puts(b, "\\\""); break;
		case '\\': pp_buf_puts(b, "\\\\"); break;
		case '\n': pp_buf_puts(b, "\\n"); break;
		case '\r': pp_buf_puts(b, "\\r"); break;
		case '\t': pp_buf_puts(b, "\\t"); break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			pp_buf_append(b, u, 6);
		}
		}
	}
	pp_buf_append(b, s + run, n - run);
	pp_buf_putc(b, '"');
}

static int enc_value(struct pp_buf *b, const json_t *v, bool top)
{
	char num[24];
	const char *k;
	json_t *x;
	bool first = true;

	switch (json_typeof(v)) {
	case JSON_STRING:
		enc_str(b, json_string_value(v), json_string_length(v));
		return PP_OK;
	case JSON_INTEGER:
		pp_buf_append(b, num, (size_t)snprintf(num, sizeof(num), "%lld",
							(long long)json_integer_value(v)));
		return PP_OK;
	case JSON_TRUE:
		pp_buf_puts(b, "true");
		return PP_OK;
	case JSON_FALSE:
		pp_buf_puts(b, "false");
		return PP_OK;
	case JSON_OBJECT:
		pp_buf_putc(b, '{');
		json_object_foreach((json_t *)v, k, x) {
			if (top && !strcmp(k, "seq"))
				continue; /* the store gives the seq */
			if (!first)
				pp_buf_putc(b, ',');
			first = false;
			enc_str(b, k, strlen(k));
			pp_buf_putc(b, ':');
			if (enc_value(b, x, false))
				return PP_EINVAL;
		}
		pp_buf_putc(b, '}');
		return PP_OK;
	default: {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		if (!s)
			return PP_EINVAL;
		pp_buf_puts(b, s);
		free(s);
		return PP_OK;
	}
	}
}

struct batch {
	const char **texts;
	size_t *lens;
	size_t n;
	int64_t ts;
	uint64_t *seqs;
};

static int store_txn(struct pp_txn *t, void *arg)
{
	struct batch *b = arg;

	return pp_rec_append_batch(t, b->texts, b->lens, b->n, b->ts, b->seqs);
}

int pp_rec_store(struct pp_store *st, json_t *const *recs, size_t n, uint64_t *last_seq)
{
	struct batch b = { .n = n, .ts = pp_now_ms() };
	struct pp_buf enc = { 0 };
	size_t *offs = NULL;
	int rc = PP_ENOMEM;

	if (!n)
		return PP_OK;
	b.texts = malloc(n * sizeof(*b.texts));
	b.lens = malloc(n * sizeof(*b.lens));
	b.seqs = malloc(n * sizeof(*b.seqs));
	offs = malloc(n * sizeof(*offs));
	if (!b.texts || !b.lens || !b.seqs || !offs)
		goto out;
	/* encode outside the write transaction; one timestamp per batch */
	for (size_t i = 0; i < n; i++) {
		if (!json_is_object(recs[i])) {
			rc = PP_EINVAL;
			goto out;
		}
		if (!json_object_get(recs[i], "ts"))
			json_object_set_new(recs[i], "ts", json_integer((json_int_t)b.ts));
		offs[i] = enc.len;
		if (enc_value(&enc, recs[i], true)) {
			rc = PP_EINVAL;
			goto out;
		}
		b.lens[i] = enc.len - offs[i];
	}
	if (!enc.data)
		goto out;
	for (size_t i = 0; i < n; i++)
		b.texts[i] = enc.data + offs[i];
	rc = pp_store_write(st, store_txn, &b);
	if (rc == PP_OK) {
		if (last_seq)
			*last_seq = b.seqs[n - 1];
		pp_events_bell_ring();
	}
out:
	pp_buf_free(&enc);
	free(b.texts);
	free(b.lens);
	free(b.seqs);
	free(offs);
	return rc;
}

/* ---- time ------------------------------------------------------------------------ */

static int digits(const char **s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*s)++) {
		if (!isdigit((unsigned char)**s))
			return -1;
		v = v * 10 + (**s - '0');
	}
	*out = v;
	return 0;
}

int pp_rec_time_parse(const char *s, int64_t *ms)
{
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, se = 0, oh = 0, om = 0, sign = 0;
	time_t t;

	if (!s || !*s)
		return PP_EINVAL;
	if (strspn(s, "0123456789") == strlen(s)) {
		long long v;

		if (strlen(s) > 12)
			return PP_EINVAL;
		v = strtoll(s, NULL, 10);
		*ms = (int64_t)v * 1000;
		return PP_OK;
	}
	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' ||
	    digits(&s, 2, &d))
		return PP_EINVAL;
	if (*s == 'T' || *s == ' ') {
		s++;
		if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi))
			return PP_EINVAL;
		if (*s == ':') {
			s++;
			if (digits(&s, 2, &se))
				return PP_EINVAL;
			if (*s == '.' || *s == ',')
				for (s++; isdigit((unsigned char)*s); s++)
					;
		}
	}
	if (*s == 'Z') {
		sign = 1;
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s == '+' ? 1 : -1;
		s++;
		if (digits(&s, 2, &oh))
			return PP_EINVAL;
		if (*s == ':')
			s++;
		if (*s && digits(&s, 2, &om))
			return PP_EINVAL;
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 ||
	    oh > 23 || om > 59)
		return PP_EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	if (sign) {
		t = timegm(&tm) - sign * (oh * 3600 + om * 60);
	} else {
		tm.tm_isdst = -1;
		t = mktime(&tm);
	}
	if (t == (time_t)-1 && (y != 1969))
		return PP_EINVAL;
	*ms = (int64_t)t * 1000;
	return PP_OK;
}

/* ---- filters ------------------------------------------------------------------------ */

static const char *const dir_names[] = { "incoming", "outgoing", "internal", "missed" };

void pp_rec_filter_init(struct pp_rec_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->parsed = -1;
}

void pp_rec_filter_free(struct pp_rec_filter *f)
{
	free(f->monitor);
	free(f->number);
	free(f->ext);
	pp_rec_filter_init(f);
}

static int set_str(char **dst, const char *v, char *why, size_t n, const char *what)
{
	if (!*v || strlen(v) > 200) {
		snprintf(why, n, "%s must be 1 to 200 characters", what);
		return PP_EINVAL;
	}
	free(*dst);
	*dst = strdup(v);
	return *dst ? PP_OK : PP_ENOMEM;
}

int pp_rec_filter_set(struct pp_rec_filter *f, const char *name, const char *v, char *why,
		      size_t n)
{
	if (!strcmp(name, "since")) {
		char *end;

		errno = 0;
		f->since = strtoull(v, &end, 10);
		if (!*v || *end || errno || !isdigit((unsigned char)*v)) {
			snprintf(why, n, "since must be a sequence number");
			return PP_EINVAL;
		}
		return PP_OK;
	}
	if (!strcmp(name, "monitor"))
		return set_str(&f->monitor, v, why, n, "monitor");
	if (!strcmp(name, "number"))
		return set_str(&f->number, v, why, n, "number");
	if (!strcmp(name, "ext"))
		return set_str(&f->ext, v, why, n, "ext");
	if (!strcmp(name, "direction")) {
		unsigned set = 0;
		const char *p = v;

		while (*p) {
			size_t l = strcspn(p, ",");
			int i;

			for (i = 0; i < 4; i++)
				if (strlen(dir_names[i]) == l && !strncmp(dir_names[i], p, l))
					break;
			if (i == 4) {
				snprintf(why, n, "direction must be incoming, outgoing, internal or "
					 "missed (comma-separated)");
				return PP_EINVAL;
			}
			set |= 1u << i;
			p += l + (p[l] == ',');
		}
		if (!set) {
			snprintf(why, n, "direction is empty");
			return PP_EINVAL;
		}
		f->directions = set;
		return PP_OK;
	}
	if (!strcmp(name, "from") || !strcmp(name, "to")) {
		int64_t ms;

		if (pp_rec_time_parse(v, &ms)) {
			snprintf(why, n, "%s must be a date (2024-06-28), a date and time "
				 "(2024-06-28T09:30[:00][Z|+01:00]) or seconds since the epoch", name);
			return PP_EINVAL;
		}
		if (name[0] == 'f') {
			f->has_from = true;
			f->from_ms = ms;
		} else {
			f->has_to = true;
			f->to_ms = ms;
		}
		return PP_OK;
	}
	if (!strcmp(name, "parsed")) {
		if (!strcmp(v, "true") || !strcmp(v, "1"))
			f->parsed = 1;
		else if (!strcmp(v, "false") || !strcmp(v, "0"))
			f->parsed = 0;
		else {
			snprintf(why, n, "parsed must be true or false");
			return PP_EINVAL;
		}
		return PP_OK;
	}
	return PP_ENOENT;
}

static bool str_match(const char *pat, const json_t *v)
{
	const char *s = json_string_value(v);

	if (!s)
		return false;
	if (strpbrk(pat, "*?["))
		return fnmatch(pat, s, 0) == 0;
	return strcmp(pat, s) == 0;
}

static int64_t rec_time_ms(const json_t *rec)
{
	const char *start = json_string_value(json_object_get(rec, "start"));
	int64_t ms;

	if (start && pp_rec_time_parse(start, &ms) == PP_OK)
		return ms;
	return (int64_t)json_integer_value(json_object_get(rec, "ts"));
}

bool pp_rec_match(const struct pp_rec_filter *f, const json_t *rec)
{
	if (f->monitor) {
		const char *m = json_string_value(json_object_get(rec, "monitor"));
		size_t l = strlen(f->monitor);

		if (!m || (strcmp(m, f->monitor) && !(strncmp(m, f->monitor, l) == 0 && m[l] == '/')))
			return false;
	}
	if (f->number && !str_match(f->number, json_object_get(rec, "number")))
		return false;
	if (f->ext && !str_match(f->ext, json_object_get(rec, "ext")))
		return false;
	if (f->directions) {
		const char *d = json_string_value(json_object_get(rec, "direction"));
		bool ok = false;

		for (int i = 0; d && i < 4; i++)
			ok |= (f->directions & (1u << i)) && !strcmp(d, dir_names[i]);
		if (!ok)
			return false;
	}
	if (f->parsed >= 0) {
		const json_t *p = json_object_get(rec, "parsed");
		bool parsed = !p || json_is_true(p); /* C hooks may push without it */

		if (parsed != (f->parsed == 1))
			return false;
	}
	if (f->has_from || f->has_to) {
		int64_t t = rec_time_ms(rec);

		if ((f->has_from && t < f->from_ms) || (f->has_to && t >= f->to_ms))
			return false;
	}
	return true;
}

struct query {
	const struct pp_rec_filter *f;
	size_t limit, got;
	pp_rec_query_cb cb;
	void *arg;
	uint64_t last;
	int stop;
};

#define QUERY_FULL 1

static int query_cb(uint64_t seq, json_t *val, void *arg)
{
	struct query *q = arg;
	int rc;

	q->last = seq;
	if (!pp_rec_match(q->f, val))
		return PP_OK;
	rc = q->cb(seq, val, q->arg);
	if (rc) {
		q->stop = rc;
		return rc;
	}
	if (q->limit && ++q->got >= q->limit)
		return QUERY_FULL;
	return PP_OK;
}

int pp_rec_query(struct pp_txn *t, const struct pp_rec_filter *f, size_t limit,
		 pp_rec_query_cb cb, void *arg, uint64_t *last)
{
	struct query q = { f, limit, 0, cb, arg, f->since, 0 };
	int rc = pp_rec_each(t, f->since, 0, query_cb, &q);

	if (last)
		*last = q.last;
	if (q.stop)
		return q.stop;
	return rc == QUERY_FULL ? PP_OK : rc;
}

/* ---- CSV ------------------------------------------------------------------------------ */

static const char *const csv_cols[] = { "seq", "ts", "monitor", "parsed", "direction",
					"number", "ext", "line", "trunk", "account", "start",
					"duration_s", "ring_s", "raw", "error" };

void pp_rec_csv_header(struct pp_buf *b)
{
	for (size_t i = 0; i < PP_ARRAY_LEN(csv_cols); i++)
		pp_buf_printf(b, "%s%s", i ? "," : "", csv_cols[i]);
	pp_buf_puts(b, "\r\n");
}

static void csv_str(struct pp_buf *b, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		pp_buf_puts(b, s);
		return;
	}
	pp_buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			pp_buf_putc(b, '"');
		pp_buf_putc(b, *s);
	}
	pp_buf_putc(b, '"');
}

void pp_rec_csv_row(struct pp_buf *b, uint64_t seq, const json_t *rec)
{
	for (size_t i = 0; i < PP_ARRAY_LEN(csv_cols); i++) {
		const json_t *v = json_object_get(rec, csv_cols[i]);

		if (i)
			pp_buf_putc(b, ',');
		if (i == 0) {
			pp_buf_printf(b, "%llu", (unsigned long long)seq);
		} else if (i == 1 && json_is_integer(v)) {
			time_t t = (time_t)(json_integer_value(v) / 1000);
			struct tm tm;

			gmtime_r(&t, &tm);
			pp_buf_printf(b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
				      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
				      (int)(json_integer_value(v) % 1000));
		} else if (json_is_string(v)) {
			csv_str(b, json_string_value(v));
		} else if (json_is_integer(v)) {
			pp_buf_printf(b, "%lld", (long long)json_integer_value(v));
		} else if (json_is_boolean(v)) {
			pp_buf_puts(b, json_is_true(v) ? "true" : "false");
		} else if (i == 3 && !v) {
			pp_buf_puts(b, "true");
		}
	}
	pp_buf_puts(b, "\r\n");
}
