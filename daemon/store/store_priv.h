/* Internals shared by the store's source files (not part of the interface). */
#ifndef PP_STORE_PRIV_H
#define PP_STORE_PRIV_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>

#include "store.h"

enum pp_db {
	PP_DB_DEVICES,
	PP_DB_IP2MAC,
	PP_DB_CONFIGS,
	PP_DB_FILES,
	PP_DB_RECORDS,
	PP_DB_EVENTS,
	PP_DB_META,
	PP_DB_COUNT
};

extern const char *const pp_db_names[PP_DB_COUNT];

#define PP_STORE_SCHEMA 1u        /* meta "schema" */
#define PP_VAL_JSON_V1 1u         /* first byte of JSON values */
#define PP_VAL_FILE_V1 1u         /* first byte of file values */
#define PP_VAL_IP2MAC_V1 1u       /* first byte of ip2mac values */
#define PP_FILE_HDR 32u           /* bytes of the file value header */

struct pp_store {
	MDB_env *env;
	MDB_dbi dbi[PP_DB_COUNT];
	pthread_rwlock_t lock;     /* txns hold it shared, map growth exclusive */
	atomic_size_t mapsize;     /* current map size of this process */
	size_t max_mapsize;
	uint64_t events_max;
	uint64_t records_max;
	unsigned int maxkey;
	/* registry of open environments (one per file per process) */
	struct pp_store *next;
	int refs;
	dev_t dev;
	ino_t ino;
	char *dir;
};

struct pp_txn {
	struct pp_store *st;
	MDB_txn *txn;
	bool rdonly;
	int mdb_err;               /* LMDB error that dooms this txn (MAP_FULL...) */
};

/* Report a notice to the installed sink (store.h), printf-style detail. */
void store_notice(int level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Map an LMDB return code to a PP_ code; logs unexpected errors and remembers
 * errors that doom the transaction (MDB_MAP_FULL makes the writer grow). */
int pp_store_mdb_fail(struct pp_txn *t, int rc, const char *op, enum pp_db db);

/* 128-bit content hash used for file ETags. */
void pp_store_hash128(const void *data, size_t n, uint64_t out[2]);

/* Versioned JSON value codec. */
int pp_store_json_encode(const json_t *j, void **buf, size_t *len);
int pp_store_json_decode(const void *buf, size_t len, enum pp_db db, const char *key,
			 json_t **out);

#endif
