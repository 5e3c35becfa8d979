/* The LMDB store (DESIGN §5). One environment in <data_dir>/db with named
 * databases: devices, ip2mac, configs, files, records, events, meta.
 *
 * All access goes through a transaction callback so that one logical change
 * is one write transaction, and so that the store can transparently grow the
 * map and re-run the callback when LMDB reports MDB_MAP_FULL. Callbacks must
 * therefore be re-runnable (no side effects outside the txn before it returns).
 *
 * Value encoding (versioned, documented in docs/store.md): devices, configs,
 * records and events are one version byte (1) followed by compact JSON text.
 * Files hold a fixed header (version, mtime, etag) followed by the bytes. */
#ifndef PP_STORE_H
#define PP_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>
#include "lib/common.h"

struct pp_store;
struct pp_txn;

int pp_store_open(const char *dir, struct pp_store **out, struct pp_err *err);
void pp_store_close(struct pp_store *st);

typedef int (*pp_txn_fn)(struct pp_txn *txn, void *arg);
/* The system error (errno value, e.g. ENOSPC) of the calling thread's last
 * pp_store_write whose commit failed with PP_EIO; 0 when it did not fail
 * that way. */
int pp_store_last_errno(void);
/* Run fn in a write transaction: commit when it returns PP_OK, abort and
 * return its code otherwise. MDB_MAP_FULL: grow the map, run fn again. */
int pp_store_write(struct pp_store *st, pp_txn_fn fn, void *arg);
/* Inside a write transaction: run fn in a nested transaction. Its changes
 * join t when fn returns PP_OK and are dropped otherwise, t going on either
 * way (one phone's failed render does not undo its batch). A map-full error
 * dooms t as a whole (pp_store_write grows the map and runs t's callback
 * again). Returns fn's code. */
int pp_txn_nested(struct pp_txn *t, pp_txn_fn fn, void *arg);
/* Is t doomed (a map-full error: the writer grows the map and runs again)? */
bool pp_txn_doomed(const struct pp_txn *t);
/* Run fn in a read-only transaction (fn's return value is returned). */
int pp_store_read(struct pp_store *st, pp_txn_fn fn, void *arg);

/* Devices, keyed by normalised MAC "aa:bb:cc:dd:ee:ff"; value: JSON object
 * (fields documented in docs/store.md: mac, ip, vendor, model, version,
 * serial, plugin, config, state, scores, dhcp, created, updated, last_seen). */
int pp_dev_get(struct pp_txn *t, const char *mac, json_t **out); /* PP_ENOENT */
int pp_dev_put(struct pp_txn *t, const char *mac, const json_t *dev);
int pp_dev_del(struct pp_txn *t, const char *mac);                /* PP_ENOENT */
/* Iterate in MAC order, starting after `after` (NULL = from the start). The
 * callback returns PP_OK to continue, anything else stops and is returned.
 * The json_t passed is borrowed (decref'd after the callback). */
typedef int (*pp_dev_cb)(const char *mac, json_t *dev, void *arg);
int pp_dev_each(struct pp_txn *t, const char *after, pp_dev_cb cb, void *arg);

/* ip2mac: IP text -> MAC text. */
int pp_ip2mac_get(struct pp_txn *t, const char *ip, char mac[18]);
int pp_ip2mac_put(struct pp_txn *t, const char *ip, const char *mac);
int pp_ip2mac_del(struct pp_txn *t, const char *ip);

/* Configs, keyed by id: {"id":..., "parent_ids":[...], "raw_config":{...}, ...}. */
int pp_cfg_get(struct pp_txn *t, const char *id, json_t **out);
int pp_cfg_put(struct pp_txn *t, const char *id, const json_t *cfg);
int pp_cfg_del(struct pp_txn *t, const char *id);
typedef int (*pp_cfg_cb)(const char *id, json_t *cfg, void *arg);
int pp_cfg_each(struct pp_txn *t, pp_cfg_cb cb, void *arg);
/* Merge raw_config through inheritance: the config itself, then its
 * parent_ids in order (depth first), deep-merging objects so that the nearer
 * value wins. Cycles and missing parents are PP_EINVAL. *out is a new object. */
int pp_cfg_resolve(struct pp_txn *t, const char *id, json_t **out);
/* Bounds of any inheritance walk: configs on the longest path (the config
 * itself counts) and distinct configs in one chain. Past them a resolve is
 * PP_EINVAL; the API refuses tighter limits when a config is written. */
#define PP_CFG_MAX_DEPTH 64
#define PP_CFG_MAX_CHAIN 1024
/* The shape of id's inheritance chain, each config read once. PP_EINVAL with
 * the reason set (and `at` naming the config) for a cycle, a missing parent,
 * a path longer than max_depth configs or more than max_count configs. */
struct pp_cfg_chain {
	int depth;     /* configs on the longest path up (1: no parents) */
	size_t count;  /* distinct configs, the config itself included */
	bool cycle, missing, too_deep, too_big;
	char at[136];
};
int pp_cfg_chain(struct pp_txn *t, const char *id, int max_depth, size_t max_count,
		 struct pp_cfg_chain *info);
/* Does config id inherit (transitively) from the target, or is it the
 * target? Memoised across calls with the same pp_cfg_reach within one
 * transaction: checking every device of a store is linear. Missing configs
 * and cycles answer false. */
struct pp_cfg_reach;
struct pp_cfg_reach *pp_cfg_reach_new(const char *target);
bool pp_cfg_reaches(struct pp_txn *t, struct pp_cfg_reach *r, const char *id);
void pp_cfg_reach_free(struct pp_cfg_reach *r);

/* Rendered files by relative path ("Yealink/805ec0a1b2c3.cfg"). */
struct pp_file {
	const void *data; /* points into the map: valid until the txn ends */
	size_t size;
	int64_t mtime_ms;
	char etag[40];    /* quoted strong ETag, e.g. "\"9f1c...\"" */
};
int pp_file_get(struct pp_txn *t, const char *path, struct pp_file *out);
/* The ETag pp_file_get reports for these bytes (the one ETag scheme of
 * rendered files: a hash of their content), without storing them. */
void pp_file_etag(const void *data, size_t size, char out[40]);
int pp_file_put(struct pp_txn *t, const char *path, const void *data, size_t size,
		int64_t mtime_ms);
int pp_file_del(struct pp_txn *t, const char *path);
typedef int (*pp_file_cb)(const char *path, const struct pp_file *f, void *arg);
int pp_file_each(struct pp_txn *t, const char *prefix, pp_file_cb cb, void *arg);

/* Call records and events: append-only logs keyed by a growing sequence. */
int pp_rec_append(struct pp_txn *t, const json_t *rec, uint64_t *seq);
int pp_event_append(struct pp_txn *t, const char *type, const json_t *data, uint64_t *seq);
typedef int (*pp_log_cb)(uint64_t seq, json_t *val, void *arg);
int pp_rec_each(struct pp_txn *t, uint64_t since, size_t limit, pp_log_cb cb, void *arg);
int pp_event_each(struct pp_txn *t, uint64_t since, size_t limit, pp_log_cb cb, void *arg);

/* One-shot conveniences (each its own transaction). */
int pp_store_dev_get(struct pp_store *st, const char *mac, json_t **out);
int pp_store_dev_put(struct pp_store *st, const char *mac, const json_t *dev);
int pp_store_dev_del(struct pp_store *st, const char *mac);

/* The store never logs. What an operator should hear about (a decode error,
 * the map growing, stale readers cleared, a refused write) goes to one
 * notice sink for the process, which the application installs (phoneprovd
 * and the CLI log it; without a sink notices are dropped). detail is
 * "key=value ..." text. */
enum pp_store_level { PP_STORE_ERROR = 0, PP_STORE_WARN, PP_STORE_INFO, PP_STORE_DEBUG };
typedef void (*pp_store_notice_fn)(int level, const char *event, const char *detail);
void pp_store_set_notice(pp_store_notice_fn fn);

/* Current map size in bytes (for tests and metrics). */
size_t pp_store_mapsize(struct pp_store *st);

/* --- Additions (store owner) --- */

/* Options of pp_store_open_ex; a zero field means the default. The initial
 * map size default is $PP_STORE_INITIAL_MAPSIZE (bytes, suffix K/M/G allowed;
 * meant for tests) or 64 MiB. Opening an environment that this process has
 * open already returns the same handle (reference counted; LMDB must not be
 * opened twice per process), whose options are those of the first open. */
struct pp_store_opts {
	size_t initial_mapsize; /* default 64 MiB; the map doubles when full */
	size_t max_mapsize;     /* default 64 GiB: past it writes fail PP_EIO */
	uint64_t events_max;    /* events kept (older pruned); default 100000 */
	uint64_t records_max;   /* call records kept; default 1000000 */
};
int pp_store_open_ex(const char *dir, const struct pp_store_opts *opts,
		     struct pp_store **out, struct pp_err *err);

/* {"mapsize":N, "used":N, "page_size":N, "readers":N, "max_readers":N,
 *  "schema":N, "dbs":{"devices":N, "ip2mac":N, ...}} (entries per db). */
int pp_store_stat(struct pp_store *st, json_t **out);

/* One-shot: a JSON copy of the resolved config (pp_cfg_resolve in a read txn). */
int pp_store_cfg_resolve(struct pp_store *st, const char *id, json_t **out);

/* --- Call-record batches (call-record monitors, issue 17) --- */

/* Append n call records and, after each, a `record` event whose data is the
 * record as stored, in the caller's write transaction. texts[i] (lens[i]
 * bytes) is the compact JSON text of a record object without a "seq"
 * member (the caller encodes: records are encoded once, outside the
 * transaction); the stored record is that object plus "seq", the event is
 * {"seq", "ts": ts_ms, "type": "record", "data": <stored record>} as
 * pp_event_append makes it. seqs (may be NULL) gets each record's seq.
 * Same result as n pp_rec_append + pp_event_append, for a fraction of the
 * cost: sequence numbers taken once per batch, keys appended in order.
 * PP_EINVAL when a text is not an object. */
int pp_rec_append_batch(struct pp_txn *t, const char *const *texts, const size_t *lens,
			size_t n, int64_t ts_ms, uint64_t *seqs);

#endif
