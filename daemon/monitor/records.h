/* Call records in the store: storing a batch (one write transaction, with
 * one `record` event per record), filtered queries shared by
 * GET /api/v1/records and `phoneprov records`, CSV rows, and the process
 * "bell" that wakes /events streams as soon as an event is stored.
 *
 * A stored record is the monitor's JSON object plus "seq" (the monotonic
 * sequence of the records database) and "ts" (milliseconds since the epoch
 * when it was stored); see docs/monitors.md for the fields. */
#ifndef PP_RECORDS_H
#define PP_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lib/common.h"

struct pp_store;
struct pp_txn;

/* Store recs[0..n) in one write transaction: each record, then a `record`
 * event whose data is the stored record (with its seq, and a ts when it has
 * none: the time of the batch). Records are not modified. On PP_OK
 * *last_seq (may be NULL) is the seq of the last one, and the bell rings.
 * On error nothing is stored. */
int pp_rec_store(struct pp_store *st, json_t *const *recs, size_t n, uint64_t *last_seq);

/* ---- filters ---------------------------------------------------------------- */

struct pp_rec_filter {
	uint64_t since;          /* records with seq > since */
	char *monitor;           /* "<plugin>/<name>" or "<plugin>" */
	char *number, *ext;      /* exact, or a glob with '*' and '?' */
	unsigned directions;     /* bit set of incoming(1) outgoing(2) internal(4) missed(8); 0 = any */
	int parsed;              /* -1 any, 0 only unparsed, 1 only parsed */
	bool has_from, has_to;
	int64_t from_ms, to_ms;  /* time range [from, to): the record's start, else its ts */
};

void pp_rec_filter_init(struct pp_rec_filter *f);
void pp_rec_filter_free(struct pp_rec_filter *f);
/* Set one filter from a query parameter / CLI option name (since, monitor,
 * number, ext, direction, from, to, parsed). PP_ENOENT for another name;
 * PP_EINVAL with a reason in why for a bad value. */
int pp_rec_filter_set(struct pp_rec_filter *f, const char *name, const char *value, char *why,
		      size_t n);
bool pp_rec_match(const struct pp_rec_filter *f, const json_t *rec);

/* Call cb for each stored record after f->since that matches f, in seq
 * order, at most limit of them (0 = no limit). *last (may be NULL) is the
 * seq of the last record looked at: the `since` to continue from. cb gets a
 * borrowed record; a non-zero return stops and is returned. */
typedef int (*pp_rec_query_cb)(uint64_t seq, json_t *rec, void *arg);
int pp_rec_query(struct pp_txn *t, const struct pp_rec_filter *f, size_t limit,
		 pp_rec_query_cb cb, void *arg, uint64_t *last);

/* "2024-06-28", "2024-06-28T09:28", "2024-06-28 09:28:41", with an optional
 * "Z" or "+hh:mm" (else local time), or seconds since the epoch. */
int pp_rec_time_parse(const char *s, int64_t *ms);

/* ---- CSV (RFC 4180) ----------------------------------------------------------- */

void pp_rec_csv_header(struct pp_buf *b);
void pp_rec_csv_row(struct pp_buf *b, uint64_t seq, const json_t *rec);

/* ---- the events bell -------------------------------------------------------- */

/* Ring after storing events (pp_rec_store rings itself). */
void pp_events_bell_ring(void);
/* The current bell count (start value for pp_events_bell_wait). */
uint64_t pp_events_bell_count(void);
/* Wait up to timeout_ms for a ring after *seen; true (and *seen updated)
 * when it rang. */
bool pp_events_bell_wait(uint64_t *seen, int timeout_ms);

#endif
