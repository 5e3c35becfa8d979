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
#include "../common.h"

struct pp_store;
struct pp_txn;

int pp_store_open(const char *dir, struct pp_store **out, struct pp_err *err);
void pp_store_close(struct pp_store *st);

typedef int (*pp_txn_fn)(struct pp_txn *txn, void *arg);
/* Run fn in a write transaction: commit when it returns PP_OK, abort and
 * return its code otherwise. MDB_MAP_FULL: grow the map, run fn again. */
int pp_store_write(struct pp_store *st, pp_txn_fn fn, void *arg);
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

/* Rendered files by relative path ("Yealink/805ec0a1b2c3.cfg"). */
struct pp_file {
	const void *data; /* points into the map: valid until the txn ends */
	size_t size;
	int64_t mtime_ms;
	char etag[40];    /* quoted strong ETag, e.g. "\"9f1c...\"" */
};
int pp_file_get(struct pp_txn *t, const char *path, struct pp_file *out);
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

#endif
