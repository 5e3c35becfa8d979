/* The LMDB store: environment, transactions, map growth, value codecs.
 * The typed accessors (devices, configs, files, logs) live in store_kinds.c.
 * Encoding and behaviour are documented in docs/store.md. */
#include "store_priv.h"
#include "lib/log.h" /* pp_q only: the store never logs */

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


const char *const pp_db_names[PP_DB_COUNT] = {
	[PP_DB_DEVICES] = "devices",
	[PP_DB_IP2MAC] = "ip2mac",
	[PP_DB_CONFIGS] = "configs",
	[PP_DB_FILES] = "files",
	[PP_DB_RECORDS] = "records",
	[PP_DB_EVENTS] = "events",
	[PP_DB_META] = "meta",
};

#define MIB ((size_t)1 << 20)
#define DEFAULT_MAPSIZE (64 * MIB)
#define MAX_READERS 1024u

/* Per-thread transaction state, so that a callback that opens another
 * transaction on the same store does not re-take the rwlock (which could
 * deadlock against a waiting grower) and so nested writes are refused. */
/* the system error of this thread's last failed commit (ENOSPC...), 0 = none */
static _Thread_local int tl_commit_errno;

int pp_store_last_errno(void)
{
	return tl_commit_errno;
}

static _Thread_local struct {
	struct pp_store *st;
	int depth;
	bool in_write;
} tl;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pp_store *reg_head;

static _Atomic(pp_store_notice_fn) notice_fn;

void pp_store_set_notice(pp_store_notice_fn fn)
{
	atomic_store(&notice_fn, fn);
}

void store_notice(int level, const char *event, const char *fmt, ...)
{
	pp_store_notice_fn fn = atomic_load(&notice_fn);
	char detail[512];
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	fn(level, event, detail);
}

int pp_store_mdb_fail(struct pp_txn *t, int rc, const char *op, enum pp_db db)
{
	switch (rc) {
	case MDB_SUCCESS:
		return PP_OK;
	case MDB_NOTFOUND:
		return PP_ENOENT;
	case MDB_MAP_FULL:
		if (t && !t->mdb_err)
			t->mdb_err = rc;
		return PP_EIO;
	case EACCES:
		store_notice(PP_STORE_ERROR, "store.error", "op=%s db=%s error=%s", op,
		       pp_db_names[db], "read-only-transaction");
		return PP_EACCES;
	case MDB_BAD_VALSIZE:
		return PP_EINVAL;
	default:
		if (t && !t->mdb_err)
			t->mdb_err = rc;
		{
			char q[160];
			store_notice(PP_STORE_ERROR, "store.error", "op=%s db=%s error=%s", op,
			       pp_db_names[db], pp_q(q, sizeof(q), mdb_strerror(rc)));
		}
		return PP_EIO;
	}
}

/* ---- value codecs ---- */

static int dump_cb(const char *buf, size_t size, void *data)
{
	return pp_buf_append(data, buf, size) == PP_OK ? 0 : -1;
}

/* One serialisation pass straight into a buffer that starts with the
 * version byte (json_dumpb would need a sizing pass first). */
int pp_store_json_encode(const json_t *j, void **buf, size_t *len)
{
	struct pp_buf b = { 0 };

	if (!json_is_object(j))
		return PP_EINVAL;
	if (pp_buf_grow(&b, 256) != 0)
		return PP_ENOMEM;
	pp_buf_putc(&b, (char)PP_VAL_JSON_V1);
	if (json_dump_callback(j, dump_cb, &b, JSON_COMPACT) != 0) {
		pp_buf_free(&b);
		return PP_EINVAL;
	}
	*buf = pp_buf_steal(&b, len);
	return *buf ? PP_OK : PP_ENOMEM;
}

int pp_store_json_decode(const void *buf, size_t len, enum pp_db db, const char *key,
			 json_t **out)
{
	const unsigned char *p = buf;
	json_error_t je;
	json_t *j;
	char q[200], r[200];

	*out = NULL;
	if (len < 1 || p[0] != PP_VAL_JSON_V1) {
		store_notice(PP_STORE_ERROR, "store.decode", "db=%s key=%s reason=%s",
		       pp_db_names[db], pp_q(q, sizeof(q), key),
		       len < 1 ? "empty-value" : "unknown-version");
		return PP_EIO;
	}
	j = json_loadb((const char *)p + 1, len - 1, JSON_ALLOW_NUL, &je);
	if (!j || !json_is_object(j)) {
		store_notice(PP_STORE_ERROR, "store.decode", "db=%s key=%s reason=%s",
		       pp_db_names[db], pp_q(q, sizeof(q), key),
		       pp_q(r, sizeof(r), j ? "not-an-object" : je.text));
		json_decref(j);
		return PP_EIO;
	}
	*out = j;
	return PP_OK;
}

/* Content hash for ETags: two 64-bit lanes over 16-byte blocks, each step a
 * bijection of the lane (xor, multiply by an odd constant, rotate, add), then
 * a multiply-xorshift finaliser on both lanes. Not cryptographic (ETags only
 * need change detection of content the admin renders); 128 bits make an
 * accidental collision negligible, and it runs at several GB/s with no extra
 * dependency. */
static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t rd64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v); /* same ETag for the same bytes on every host */
}

static inline uint64_t fmix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

void pp_store_hash128(const void *data, size_t n, uint64_t out[2])
{
	const unsigned char *p = data;
	uint64_t h1 = 0x243f6a8885a308d3ULL ^ n, h2 = 0x13198a2e03707344ULL + n;
	unsigned char tail[16];
	size_t left = n;

	while (left >= 16) {
		uint64_t a = rd64(p), b = rd64(p + 8);

		h1 = rotl64(h1 ^ (a * 0x9e3779b97f4a7c15ULL), 23) * 0xff51afd7ed558ccdULL + b;
		h2 = rotl64(h2 ^ (b * 0xc2b2ae3d27d4eb4fULL), 37) * 0xc4ceb9fe1a85ec53ULL + a;
		p += 16;
		left -= 16;
	}
	memset(tail, 0, sizeof(tail));
	if (left)
		memcpy(tail, p, left);
	tail[15] ^= (unsigned char)left;
	h1 = rotl64(h1 ^ (rd64(tail) * 0x9e3779b97f4a7c15ULL), 23) * 0xff51afd7ed558ccdULL;
	h2 = rotl64(h2 ^ (rd64(tail + 8) * 0xc2b2ae3d27d4eb4fULL), 37) * 0xc4ceb9fe1a85ec53ULL;
	h1 += h2;
	h2 += h1;
	h1 = fmix64(h1);
	h2 = fmix64(h2);
	h1 += h2;
	h2 += h1;
	out[0] = h1;
	out[1] = h2;
}

/* ---- locking and map size ---- */

static void lock_shared(struct pp_store *st)
{
	pthread_rwlock_rdlock(&st->lock);
}

static void unlock(struct pp_store *st)
{
	pthread_rwlock_unlock(&st->lock);
}

static size_t env_mapsize(struct pp_store *st)
{
	MDB_envinfo info;

	mdb_env_info(st->env, &info);
	return info.me_mapsize;
}

/* Another process grew the map: adopt its size (never shrinking ours). */
static int adopt_mapsize(struct pp_store *st)
{
	size_t before;
	int rc;

	pthread_rwlock_wrlock(&st->lock);
	before = env_mapsize(st);
	rc = mdb_env_set_mapsize(st->env, 0);
	if (rc == 0 && env_mapsize(st) < before)
		rc = mdb_env_set_mapsize(st->env, before);
	atomic_store(&st->mapsize, env_mapsize(st));
	unlock(st);
	if (rc) {
		store_notice(PP_STORE_ERROR, "store.resize", "error=%d", rc);
		return PP_EIO;
	}
	store_notice(PP_STORE_DEBUG, "store.resized", "mapsize=%zu", atomic_load(&st->mapsize));
	return PP_OK;
}

/* A write ran out of map with size `seen`: double it (unless someone else
 * already grew it past `seen`). No transaction of this process is active
 * while the exclusive lock is held. */
static int grow_map(struct pp_store *st, size_t seen)
{
	size_t cur, want;
	int rc = 0;

	pthread_rwlock_wrlock(&st->lock);
	cur = env_mapsize(st);
	if (cur <= seen) {
		/* another process may have grown it: take the bigger one */
		rc = mdb_env_set_mapsize(st->env, 0);
		if (rc == 0 && env_mapsize(st) <= seen) {
			want = seen > st->max_mapsize / 2 ? st->max_mapsize : seen * 2;
			if (want <= seen) {
				unlock(st);
				store_notice(PP_STORE_ERROR, "store.full", "mapsize=%zu max=%zu", seen,
				       st->max_mapsize);
				return PP_EIO;
			}
			rc = mdb_env_set_mapsize(st->env, want);
		}
	}
	atomic_store(&st->mapsize, env_mapsize(st));
	unlock(st);
	if (rc) {
		store_notice(PP_STORE_ERROR, "store.grow", "error=%d", rc);
		return PP_EIO;
	}
	if (cur <= seen)
		store_notice(PP_STORE_INFO, "store.grow", "from=%zu to=%zu", seen,
		       atomic_load(&st->mapsize));
	return PP_OK;
}

size_t pp_store_mapsize(struct pp_store *st)
{
	return atomic_load(&st->mapsize);
}

/* ---- transactions ---- */

static int txn_begin(struct pp_store *st, unsigned int flags, bool nested, MDB_txn **txn)
{
	for (;;) {
		int rc;

		if (!nested)
			lock_shared(st);
		rc = mdb_txn_begin(st->env, NULL, flags, txn);
		if (rc == 0)
			return PP_OK;
		if (!nested)
			unlock(st);
		if (rc == MDB_MAP_RESIZED && !nested) {
			if (adopt_mapsize(st) != PP_OK)
				return PP_EIO;
			continue;
		}
		{
			char q[160];
			store_notice(PP_STORE_ERROR, "store.txn", "op=begin error=%s",
			       pp_q(q, sizeof(q), mdb_strerror(rc)));
		}
		return rc == MDB_READERS_FULL ? PP_EBUSY : PP_EIO;
	}
}

static bool enter(struct pp_store *st, bool write, bool *nested)
{
	if (tl.st == st && tl.depth > 0) {
		if (write && tl.in_write)
			return false;
		*nested = true;
		tl.depth++;
		return true;
	}
	*nested = false;
	if (!tl.st || tl.depth == 0) {
		tl.st = st;
		tl.depth = 1;
	}
	return true;
}

static void leave(struct pp_store *st, bool nested)
{
	if (tl.st == st) {
		if (--tl.depth == 0)
			tl.st = NULL;
	}
	(void)nested;
}

int pp_store_read(struct pp_store *st, pp_txn_fn fn, void *arg)
{
	struct pp_txn t = { .st = st, .rdonly = true };
	bool nested;
	int rc;

	if (!st)
		return PP_EINVAL;
	enter(st, false, &nested);
	rc = txn_begin(st, MDB_RDONLY, nested, &t.txn);
	if (rc == PP_OK) {
		rc = fn(&t, arg);
		mdb_txn_abort(t.txn);
		if (!nested)
			unlock(st);
	}
	leave(st, nested);
	return rc;
}

int pp_store_write(struct pp_store *st, pp_txn_fn fn, void *arg)
{
	bool nested;
	int rc;

	if (!st)
		return PP_EINVAL;
	if (!enter(st, true, &nested)) {
		store_notice(PP_STORE_ERROR, "store.txn", "op=write error=nested-write-transaction");
		return PP_EBUSY;
	}
	if (!nested)
		tl_commit_errno = 0;
	for (;;) {
		struct pp_txn t = { .st = st };
		bool prev_in_write;
		size_t seen;

		rc = txn_begin(st, 0, nested, &t.txn);
		if (rc != PP_OK)
			break;
		seen = atomic_load(&st->mapsize);
		prev_in_write = tl.in_write;
		if (tl.st == st)
			tl.in_write = true;
		rc = fn(&t, arg);
		tl.in_write = prev_in_write;
		if (t.mdb_err == 0 && rc == PP_OK) {
			int c = mdb_txn_commit(t.txn);

			if (c == MDB_MAP_FULL) {
				t.mdb_err = c;
			} else if (c) {
				char q[160];

				store_notice(PP_STORE_ERROR, "store.txn", "op=commit error=%s",
				       pp_q(q, sizeof(q), mdb_strerror(c)));
				tl_commit_errno = c > 0 ? c : 0; /* LMDB's own codes are < 0 */
				rc = PP_EIO;
			}
		} else {
			mdb_txn_abort(t.txn);
			if (t.mdb_err && t.mdb_err != MDB_MAP_FULL && rc == PP_OK)
				rc = PP_EIO;
		}
		if (!nested)
			unlock(st);
		if (t.mdb_err != MDB_MAP_FULL)
			break;
		if (nested) {
			store_notice(PP_STORE_ERROR, "store.full",
			       "reason=cannot-grow-map-inside-another-transaction");
			rc = PP_EIO;
			break;
		}
		if ((rc = grow_map(st, seen)) != PP_OK)
			break;
	}
	leave(st, nested);
	return rc;
}

bool pp_txn_doomed(const struct pp_txn *t)
{
	return t->mdb_err != 0;
}

int pp_txn_nested(struct pp_txn *t, pp_txn_fn fn, void *arg)
{
	struct pp_txn c = { .st = t->st, .rdonly = false };
	int rc, mrc;

	if (t->rdonly)
		return PP_EINVAL;
	if (t->mdb_err)
		return PP_EIO; /* the parent is doomed already */
	mrc = mdb_txn_begin(t->st->env, t->txn, 0, &c.txn);
	if (mrc)
		return pp_store_mdb_fail(t, mrc, "nested-begin", PP_DB_META);
	rc = fn(&c, arg);
	if (c.mdb_err) {
		/* MAP_FULL and friends doom the whole batch: the writer grows the
		 * map and runs the parent again */
		mdb_txn_abort(c.txn);
		t->mdb_err = c.mdb_err;
		return rc != PP_OK ? rc : PP_EIO;
	}
	if (rc != PP_OK) {
		mdb_txn_abort(c.txn);
		return rc;
	}
	mrc = mdb_txn_commit(c.txn);
	if (mrc)
		return pp_store_mdb_fail(t, mrc, "nested-commit", PP_DB_META);
	return PP_OK;
}

/* ---- open / close ---- */

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return 0;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	return *end ? 0 : (size_t)v;
}

struct init_arg {
	struct pp_store *st;
	struct pp_err *err;
	unsigned int schema;
};

static int init_dbs(struct pp_txn *t, void *arg)
{
	struct init_arg *a = arg;
	MDB_val k = { 6, "schema" }, v;
	char buf[16];
	int rc;

	for (int i = 0; i < PP_DB_COUNT; i++) {
		rc = mdb_dbi_open(t->txn, pp_db_names[i], MDB_CREATE, &a->st->dbi[i]);
		if (rc) {
			pp_store_mdb_fail(t, rc, "dbi_open", (enum pp_db)i);
			pp_err_set(a->err, "cannot open database %s: %s", pp_db_names[i],
				   mdb_strerror(rc));
			return PP_EIO;
		}
	}
	rc = mdb_get(t->txn, a->st->dbi[PP_DB_META], &k, &v);
	if (rc == MDB_NOTFOUND) {
		int n = snprintf(buf, sizeof(buf), "%u", PP_STORE_SCHEMA);

		v.mv_size = (size_t)n;
		v.mv_data = buf;
		rc = mdb_put(t->txn, a->st->dbi[PP_DB_META], &k, &v, 0);
		if (rc) {
			pp_err_set(a->err, "cannot write schema version: %s", mdb_strerror(rc));
			return pp_store_mdb_fail(t, rc, "put", PP_DB_META);
		}
		a->schema = PP_STORE_SCHEMA;
		return PP_OK;
	}
	if (rc) {
		pp_err_set(a->err, "cannot read schema version: %s", mdb_strerror(rc));
		return pp_store_mdb_fail(t, rc, "get", PP_DB_META);
	}
	if (v.mv_size == 0 || v.mv_size >= sizeof(buf)) {
		pp_err_set(a->err, "bad schema version record in meta");
		return PP_EIO;
	}
	memcpy(buf, v.mv_data, v.mv_size);
	buf[v.mv_size] = '\0';
	{
		char *end;
		unsigned long s = strtoul(buf, &end, 10);

		if (*end || end == buf) {
			pp_err_set(a->err, "bad schema version record in meta");
			return PP_EIO;
		}
		a->schema = (unsigned int)s;
		if (s > PP_STORE_SCHEMA) {
			pp_err_set(a->err,
				   "store schema version %lu is newer than this phoneprov "
				   "supports (%u): upgrade phoneprov", s, PP_STORE_SCHEMA);
			return PP_ENOTSUP;
		}
	}
	return PP_OK;
}

static void store_free(struct pp_store *st)
{
	if (st->env)
		mdb_env_close(st->env);
	pthread_rwlock_destroy(&st->lock);
	free(st->dir);
	free(st);
}

static int store_create(const char *dir, const struct pp_store_opts *o, const struct stat *sb,
			struct pp_store **out, struct pp_err *err)
{
	struct pp_store *st = calloc(1, sizeof(*st));
	pthread_rwlockattr_t ra;
	struct init_arg ia = { .err = err };
	size_t initial = o ? o->initial_mapsize : 0;
	char path[4096];
	struct stat fsb;
	bool fresh;
	int rc, dead = 0;

	if (!st || !(st->dir = strdup(dir))) {
		free(st);
		pp_err_set(err, "out of memory");
		return PP_ENOMEM;
	}
	pthread_rwlockattr_init(&ra);
	/* writer preference: a grower is not starved by a stream of readers */
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&st->lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	st->dev = sb->st_dev;
	st->ino = sb->st_ino;
	st->refs = 1;
	st->max_mapsize = o && o->max_mapsize ? o->max_mapsize :
		(sizeof(size_t) > 4 ? (size_t)64 << 30 : (size_t)1 << 30);
	st->events_max = o && o->events_max ? o->events_max : 100000;
	st->records_max = o && o->records_max ? o->records_max : 1000000;
	if (!initial)
		initial = parse_size(getenv("PP_STORE_INITIAL_MAPSIZE"));
	if (!initial)
		initial = DEFAULT_MAPSIZE;
	if (initial > st->max_mapsize)
		initial = st->max_mapsize;

	/* a new environment starts at `initial`; an existing one opens with
	 * its persisted size (raised to `initial` below) */
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	fresh = stat(path, &fsb) != 0 || fsb.st_size == 0;
	if ((rc = mdb_env_create(&st->env)) ||
	    (rc = mdb_env_set_maxdbs(st->env, 16)) ||
	    (rc = mdb_env_set_maxreaders(st->env, MAX_READERS)) ||
	    (fresh && (rc = mdb_env_set_mapsize(st->env, initial))) ||
	    (rc = mdb_env_open(st->env, dir, MDB_NOTLS, 0660))) {
		pp_err_set(err, "%s: cannot open store: %s", dir, mdb_strerror(rc));
		store_free(st);
		return PP_EIO;
	}
	/* existing environments keep their (bigger) persisted size */
	if (env_mapsize(st) < initial && (rc = mdb_env_set_mapsize(st->env, initial))) {
		pp_err_set(err, "%s: cannot set map size: %s", dir, mdb_strerror(rc));
		store_free(st);
		return PP_EIO;
	}
	atomic_store(&st->mapsize, env_mapsize(st));
	st->maxkey = (unsigned int)mdb_env_get_maxkeysize(st->env);
	/* slots of readers killed while in a txn would pin old pages forever */
	mdb_reader_check(st->env, &dead);
	if (dead)
		store_notice(PP_STORE_INFO, "store.stale_readers", "cleared=%d", dead);

	ia.st = st;
	rc = pp_store_write(st, init_dbs, &ia);
	if (rc != PP_OK) {
		char m[sizeof(err->msg)];

		snprintf(m, sizeof(m), "%s", err->msg[0] ? err->msg : pp_strerror(rc));
		pp_err_set(err, "%s: %s", dir, m);
		store_free(st);
		return rc;
	}
	store_notice(PP_STORE_DEBUG, "store.open", "dir=%s mapsize=%zu schema=%u", dir,
	       atomic_load(&st->mapsize), ia.schema);
	*out = st;
	return PP_OK;
}

int pp_store_open_ex(const char *dir, const struct pp_store_opts *opts,
		     struct pp_store **out, struct pp_err *err)
{
	struct stat sb;
	struct pp_store *st;
	int rc;

	*out = NULL;
	if (err)
		err->msg[0] = '\0';
	if (!dir || !*dir) {
		pp_err_set(err, "store: empty directory name");
		return PP_EINVAL;
	}
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		pp_err_set(err, "%s: cannot create store directory: %s", dir, strerror(errno));
		return PP_EIO;
	}
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		pp_err_set(err, "%s: store path is not a directory", dir);
		return PP_EINVAL;
	}
	pthread_mutex_lock(&reg_lock);
	for (st = reg_head; st; st = st->next) {
		if (st->dev == sb.st_dev && st->ino == sb.st_ino) {
			st->refs++;
			*out = st;
			pthread_mutex_unlock(&reg_lock);
			return PP_OK;
		}
	}
	rc = store_create(dir, opts, &sb, &st, err);
	if (rc == PP_OK) {
		st->next = reg_head;
		reg_head = st;
		*out = st;
	}
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

int pp_store_open(const char *dir, struct pp_store **out, struct pp_err *err)
{
	return pp_store_open_ex(dir, NULL, out, err);
}

void pp_store_close(struct pp_store *st)
{
	struct pp_store **pp;

	if (!st)
		return;
	pthread_mutex_lock(&reg_lock);
	if (--st->refs > 0) {
		pthread_mutex_unlock(&reg_lock);
		return;
	}
	for (pp = &reg_head; *pp; pp = &(*pp)->next) {
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	store_free(st);
}

/* ---- statistics ---- */

static int stat_fn(struct pp_txn *t, void *arg)
{
	json_t *o = arg, *dbs = json_object();
	MDB_envinfo info;
	MDB_stat ms;

	if (!dbs)
		return PP_ENOMEM;
	json_object_set_new(o, "dbs", dbs);
	for (int i = 0; i < PP_DB_COUNT; i++) {
		if (mdb_stat(t->txn, t->st->dbi[i], &ms) != 0)
			return PP_EIO;
		json_object_set_new(dbs, pp_db_names[i], json_integer((json_int_t)ms.ms_entries));
	}
	mdb_env_stat(t->st->env, &ms);
	mdb_env_info(t->st->env, &info);
	json_object_set_new(o, "mapsize", json_integer((json_int_t)info.me_mapsize));
	json_object_set_new(o, "used", json_integer((json_int_t)((info.me_last_pgno + 1) *
								  (size_t)ms.ms_psize)));
	json_object_set_new(o, "page_size", json_integer(ms.ms_psize));
	json_object_set_new(o, "readers", json_integer(info.me_numreaders));
	json_object_set_new(o, "max_readers", json_integer(info.me_maxreaders));
	json_object_set_new(o, "schema", json_integer(PP_STORE_SCHEMA));
	return PP_OK;
}

int pp_store_stat(struct pp_store *st, json_t **out)
{
	json_t *o = json_object();
	int rc;

	*out = NULL;
	if (!o)
		return PP_ENOMEM;
	rc = pp_store_read(st, stat_fn, o);
	if (rc != PP_OK) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return PP_OK;
}
