/* Typed accessors of the store: devices, ip2mac, configs (with inheritance),
 * rendered files, call records and events. See docs/store.md. */
#include "store_priv.h"
#include "lib/log.h" /* pp_q only: the store never logs */

#include <arpa/inet.h>
#include <endian.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define PRUNE_MAX_PER_APPEND 1024

/* ---- generic helpers ---- */

static int key_of(struct pp_txn *t, const char *k, MDB_val *kv)
{
	size_t n;

	if (!t || !k)
		return PP_EINVAL;
	n = strlen(k);
	if (n == 0 || n > t->st->maxkey)
		return PP_EINVAL;
	kv->mv_size = n;
	kv->mv_data = (void *)k;
	return PP_OK;
}

static int writable(struct pp_txn *t)
{
	if (!t)
		return PP_EINVAL;
	if (t->rdonly) {
		store_notice(PP_STORE_ERROR, "store.error", "error=write-in-read-only-transaction");
		return PP_EACCES;
	}
	return PP_OK;
}

/* Copy an LMDB key into a NUL-terminated string (keys are <= maxkey bytes). */
static void key_str(const MDB_val *k, char *buf, size_t n)
{
	size_t l = k->mv_size < n - 1 ? k->mv_size : n - 1;

	memcpy(buf, k->mv_data, l);
	buf[l] = '\0';
}

static int get_json(struct pp_txn *t, enum pp_db db, const char *key, json_t **out)
{
	MDB_val k, v;
	int rc;

	*out = NULL;
	if ((rc = key_of(t, key, &k)) != PP_OK)
		return rc;
	rc = mdb_get(t->txn, t->st->dbi[db], &k, &v);
	if (rc)
		return pp_store_mdb_fail(t, rc, "get", db);
	return pp_store_json_decode(v.mv_data, v.mv_size, db, key, out);
}

static int put_raw(struct pp_txn *t, enum pp_db db, MDB_val *k, void *data, size_t len,
		   unsigned int flags)
{
	MDB_val v = { len, data };

	return pp_store_mdb_fail(t, mdb_put(t->txn, t->st->dbi[db], k, &v, flags), "put", db);
}

static int put_json(struct pp_txn *t, enum pp_db db, MDB_val *k, const json_t *j)
{
	void *buf;
	size_t len;
	int rc;

	if ((rc = pp_store_json_encode(j, &buf, &len)) != PP_OK)
		return rc;
	rc = put_raw(t, db, k, buf, len, 0);
	free(buf);
	return rc;
}

static int del_key(struct pp_txn *t, enum pp_db db, const char *key)
{
	MDB_val k;
	int rc;

	if ((rc = writable(t)) != PP_OK || (rc = key_of(t, key, &k)) != PP_OK)
		return rc;
	return pp_store_mdb_fail(t, mdb_del(t->txn, t->st->dbi[db], &k, NULL), "del", db);
}

static int cursor_open(struct pp_txn *t, enum pp_db db, MDB_cursor **c)
{
	return pp_store_mdb_fail(t, mdb_cursor_open(t->txn, t->st->dbi[db], c), "cursor", db);
}

/* ---- devices ---- */

int pp_dev_get(struct pp_txn *t, const char *mac, json_t **out)
{
	char m[18];

	*out = NULL;
	if (!mac || pp_mac_normalize(mac, strlen(mac), m) != PP_OK)
		return PP_EINVAL;
	return get_json(t, PP_DB_DEVICES, m, out);
}

int pp_dev_put(struct pp_txn *t, const char *mac, const json_t *dev)
{
	char m[18];
	MDB_val k;
	int rc;

	if ((rc = writable(t)) != PP_OK)
		return rc;
	if (!mac || pp_mac_normalize(mac, strlen(mac), m) != PP_OK || !json_is_object(dev))
		return PP_EINVAL;
	key_of(t, m, &k);
	return put_json(t, PP_DB_DEVICES, &k, dev);
}

int pp_dev_del(struct pp_txn *t, const char *mac)
{
	char m[18];

	if (!mac || pp_mac_normalize(mac, strlen(mac), m) != PP_OK)
		return PP_EINVAL;
	return del_key(t, PP_DB_DEVICES, m);
}

/* Walk a string-keyed db from `start` (MDB_SET_RANGE), skipping a key equal
 * to `skip`, while keys begin with `prefix`. Entries that fail to decode are
 * logged and skipped so one bad value cannot hide the rest. */
typedef int (*walk_fn)(struct pp_txn *t, const char *key, const MDB_val *v, void *arg);

static int walk(struct pp_txn *t, enum pp_db db, const char *start, const char *skip,
		const char *prefix, walk_fn fn, void *arg)
{
	MDB_cursor *c;
	MDB_val k, v;
	size_t plen = prefix ? strlen(prefix) : 0;
	char key[512];
	int rc, op;

	if (!t)
		return PP_EINVAL;
	if ((rc = cursor_open(t, db, &c)) != PP_OK)
		return rc;
	if (start && *start) {
		k.mv_size = strlen(start);
		k.mv_data = (void *)start;
		if (k.mv_size > t->st->maxkey) {
			mdb_cursor_close(c);
			return PP_EINVAL;
		}
		op = MDB_SET_RANGE;
	} else {
		op = MDB_FIRST;
	}
	for (;; op = MDB_NEXT) {
		rc = mdb_cursor_get(c, &k, &v, op);
		if (rc == MDB_NOTFOUND) {
			rc = PP_OK;
			break;
		}
		if (rc) {
			rc = pp_store_mdb_fail(t, rc, "cursor_get", db);
			break;
		}
		if (plen && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)) {
			rc = PP_OK;
			break;
		}
		if (skip && k.mv_size == strlen(skip) && memcmp(k.mv_data, skip, k.mv_size) == 0)
			continue;
		key_str(&k, key, sizeof(key));
		rc = fn(t, key, &v, arg);
		if (rc != PP_OK)
			break;
	}
	mdb_cursor_close(c);
	return rc;
}

struct json_walk {
	enum pp_db db;
	int (*cb)(const char *key, json_t *val, void *arg);
	void *arg;
};

static int json_walk_fn(struct pp_txn *t, const char *key, const MDB_val *v, void *arg)
{
	struct json_walk *w = arg;
	json_t *j;
	int rc;

	(void)t;
	if (pp_store_json_decode(v->mv_data, v->mv_size, w->db, key, &j) != PP_OK)
		return PP_OK; /* logged; skip */
	rc = w->cb(key, j, w->arg);
	json_decref(j);
	return rc;
}

int pp_dev_each(struct pp_txn *t, const char *after, pp_dev_cb cb, void *arg)
{
	struct json_walk w = { PP_DB_DEVICES, cb, arg };

	return walk(t, PP_DB_DEVICES, after, after, NULL, json_walk_fn, &w);
}

/* ---- ip2mac ---- */

static int ip_norm(const char *ip, char out[INET6_ADDRSTRLEN])
{
	unsigned char a[16];

	if (!ip)
		return PP_EINVAL;
	if (inet_pton(AF_INET, ip, a) == 1)
		return inet_ntop(AF_INET, a, out, INET6_ADDRSTRLEN) ? PP_OK : PP_EINVAL;
	if (inet_pton(AF_INET6, ip, a) == 1)
		return inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN) ? PP_OK : PP_EINVAL;
	return PP_EINVAL;
}

int pp_ip2mac_get(struct pp_txn *t, const char *ip, char mac[18])
{
	char n[INET6_ADDRSTRLEN], q[64];
	const unsigned char *p;
	MDB_val k, v;
	int rc;

	mac[0] = '\0';
	if (ip_norm(ip, n) != PP_OK || key_of(t, n, &k) != PP_OK)
		return PP_EINVAL;
	rc = mdb_get(t->txn, t->st->dbi[PP_DB_IP2MAC], &k, &v);
	if (rc)
		return pp_store_mdb_fail(t, rc, "get", PP_DB_IP2MAC);
	p = v.mv_data;
	if (v.mv_size != 18 || p[0] != PP_VAL_IP2MAC_V1 ||
	    pp_mac_normalize((const char *)p + 1, 17, mac) != PP_OK) {
		mac[0] = '\0';
		store_notice(PP_STORE_ERROR, "store.decode", "db=ip2mac key=%s reason=%s",
		       pp_q(q, sizeof(q), n), "bad-value");
		return PP_EIO;
	}
	return PP_OK;
}

int pp_ip2mac_put(struct pp_txn *t, const char *ip, const char *mac)
{
	char n[INET6_ADDRSTRLEN], val[19];
	MDB_val k;
	int rc;

	if ((rc = writable(t)) != PP_OK)
		return rc;
	if (ip_norm(ip, n) != PP_OK || !mac ||
	    pp_mac_normalize(mac, strlen(mac), val + 1) != PP_OK)
		return PP_EINVAL;
	val[0] = (char)PP_VAL_IP2MAC_V1;
	key_of(t, n, &k);
	return put_raw(t, PP_DB_IP2MAC, &k, val, 18, 0);
}

int pp_ip2mac_del(struct pp_txn *t, const char *ip)
{
	char n[INET6_ADDRSTRLEN];

	if (ip_norm(ip, n) != PP_OK)
		return PP_EINVAL;
	return del_key(t, PP_DB_IP2MAC, n);
}

/* ---- configs ---- */

static int cfg_check(const char *id, const json_t *cfg)
{
	const json_t *v, *p;
	size_t i;

	if (!json_is_object(cfg))
		return PP_EINVAL;
	v = json_object_get(cfg, "id");
	if (v && (!json_is_string(v) || strcmp(json_string_value(v), id) != 0))
		return PP_EINVAL;
	v = json_object_get(cfg, "parent_ids");
	if (v) {
		if (!json_is_array(v))
			return PP_EINVAL;
		json_array_foreach(v, i, p) {
			if (!json_is_string(p) || json_string_length(p) == 0)
				return PP_EINVAL;
		}
	}
	v = json_object_get(cfg, "raw_config");
	if (v && !json_is_object(v))
		return PP_EINVAL;
	return PP_OK;
}

int pp_cfg_get(struct pp_txn *t, const char *id, json_t **out)
{
	return get_json(t, PP_DB_CONFIGS, id, out);
}

int pp_cfg_put(struct pp_txn *t, const char *id, const json_t *cfg)
{
	MDB_val k;
	int rc;

	if ((rc = writable(t)) != PP_OK || (rc = key_of(t, id, &k)) != PP_OK)
		return rc;
	if ((rc = cfg_check(id, cfg)) != PP_OK)
		return rc;
	return put_json(t, PP_DB_CONFIGS, &k, cfg);
}

int pp_cfg_del(struct pp_txn *t, const char *id)
{
	return del_key(t, PP_DB_CONFIGS, id);
}

int pp_cfg_each(struct pp_txn *t, pp_cfg_cb cb, void *arg)
{
	struct json_walk w = { PP_DB_CONFIGS, cb, arg };

	return walk(t, PP_DB_CONFIGS, NULL, NULL, NULL, json_walk_fn, &w);
}

/* Fill `dst` with what `src` has and dst lacks; objects on both sides merge
 * recursively; otherwise dst (the nearer config) wins. `dst` is owned by the
 * caller at its top level only: its values (and all of `src`) may be shared
 * with memoised results of other configs, so an object is copied (shallow)
 * before it is merged into, and nothing reachable from src is modified. */
static int merge_under(json_t *dst, json_t *src)
{
	const char *key;
	json_t *sv;

	json_object_foreach(src, key, sv) {
		json_t *dv = json_object_get(dst, key);

		if (!dv) {
			if (json_object_set(dst, key, sv) != 0)
				return PP_ENOMEM;
		} else if (json_is_object(dv) && json_is_object(sv)) {
			json_t *nv = json_copy(dv);
			int rc = nv ? merge_under(nv, sv) : PP_ENOMEM;

			if (rc == PP_OK && json_object_set_new(dst, key, nv) != 0)
				return PP_ENOMEM;
			if (rc != PP_OK) {
				json_decref(nv);
				return rc;
			}
		}
	}
	return PP_OK;
}

/* One walk of an inheritance graph: every config is read (and, when
 * merging, resolved) once, however many paths lead to it, so a walk is
 * linear in configs + edges. The result of a config is the same as the
 * tree expansion (its raw_config, then each parent's full result in order)
 * because merge_under is pure. */
struct cfg_walk {
	json_t *height;   /* id -> configs on its longest path up; 0 while on the path */
	json_t *memo;     /* id -> resolved raw_config (merging walks only) */
	bool merge;
	int depth;        /* configs on the current path */
	int max_depth;
	size_t max_count; /* distinct configs */
	struct pp_cfg_chain *info;
};

static int cfg_walk_rec(struct pp_txn *t, struct cfg_walk *w, const char *id, int *h_out,
			json_t **res_out)
{
	json_t *hv, *cfg, *raw, *parents, *p, *res = NULL;
	char q[160];
	size_t i;
	int rc, h = 0;

	*h_out = 0;
	*res_out = NULL;
	hv = json_object_get(w->height, id);
	if (hv) {
		if (json_integer_value(hv) == 0) {
			store_notice(PP_STORE_WARN, "store.config", "id=%s error=inheritance-cycle",
				     pp_q(q, sizeof(q), id));
			if (w->info) {
				w->info->cycle = true;
				snprintf(w->info->at, sizeof(w->info->at), "%s", id);
			}
			return PP_EINVAL;
		}
		*h_out = (int)json_integer_value(hv);
		*res_out = json_object_get(w->memo, id);
		if (w->depth + *h_out <= w->max_depth)
			return PP_OK;
		/* known already, but this path through it is too long */
		if (w->info) {
			w->info->too_deep = true;
			snprintf(w->info->at, sizeof(w->info->at), "%s", id);
		}
		return PP_EINVAL;
	}
	if (w->depth >= w->max_depth || json_object_size(w->height) >= w->max_count) {
		if (w->info) {
			w->info->too_deep = w->depth >= w->max_depth;
			w->info->too_big = !w->info->too_deep;
			snprintf(w->info->at, sizeof(w->info->at), "%s", id);
		}
		return PP_EINVAL;
	}
	rc = pp_cfg_get(t, id, &cfg);
	if (rc == PP_ENOENT && w->depth > 0) {
		store_notice(PP_STORE_WARN, "store.config", "id=%s error=missing-parent",
			     pp_q(q, sizeof(q), id));
		if (w->info) {
			w->info->missing = true;
			snprintf(w->info->at, sizeof(w->info->at), "%s", id);
		}
		return PP_EINVAL;
	}
	if (rc != PP_OK)
		return rc;
	raw = json_object_get(cfg, "raw_config");
	if (raw && !json_is_object(raw)) {
		json_decref(cfg);
		return PP_EINVAL;
	}
	if (w->merge && !(res = raw ? json_copy(raw) : json_object())) {
		json_decref(cfg);
		return PP_ENOMEM;
	}
	if (json_object_set_new(w->height, id, json_integer(0)) != 0) {
		json_decref(res);
		json_decref(cfg);
		return PP_ENOMEM;
	}
	w->depth++;
	parents = json_object_get(cfg, "parent_ids");
	if (parents && !json_is_array(parents))
		rc = PP_EINVAL;
	json_array_foreach(parents, i, p) {
		json_t *pres;
		int ph;

		if (!json_is_string(p)) {
			rc = PP_EINVAL;
			break;
		}
		rc = cfg_walk_rec(t, w, json_string_value(p), &ph, &pres);
		if (rc == PP_ENOENT)
			rc = PP_EINVAL;
		if (rc != PP_OK)
			break;
		if (ph > h)
			h = ph;
		if (w->merge && (rc = merge_under(res, pres)) != PP_OK)
			break;
	}
	w->depth--;
	if (rc == PP_OK && json_object_set_new(w->height, id, json_integer(h + 1)) != 0)
		rc = PP_ENOMEM;
	if (rc == PP_OK && w->merge && json_object_set(w->memo, id, res) != 0)
		rc = PP_ENOMEM;
	json_decref(cfg);
	json_decref(res); /* the memo holds it */
	if (rc != PP_OK)
		return rc;
	*h_out = h + 1;
	*res_out = w->merge ? json_object_get(w->memo, id) : NULL;
	return PP_OK;
}

static int cfg_walk(struct pp_txn *t, struct cfg_walk *w, const char *id, int *h,
		    json_t **res)
{
	json_t *r = NULL;
	int rc;

	w->height = json_object();
	w->memo = json_object();
	if (!w->height || !w->memo)
		rc = PP_ENOMEM;
	else
		rc = cfg_walk_rec(t, w, id, h, &r);
	if (res)
		*res = r;
	if (rc == PP_OK && res && *res && !(*res = json_deep_copy(*res)))
		rc = PP_ENOMEM;
	if (rc != PP_OK && res)
		*res = NULL;
	return rc;
}

int pp_cfg_resolve(struct pp_txn *t, const char *id, json_t **out)
{
	struct cfg_walk w = { .merge = true, .max_depth = PP_CFG_MAX_DEPTH,
			      .max_count = PP_CFG_MAX_CHAIN };
	int h, rc;

	*out = NULL;
	if (!t || !id)
		return PP_EINVAL;
	/* merge_under shares values between memoised results: cfg_walk hands
	 * out a deep copy that owns all of its values */
	rc = cfg_walk(t, &w, id, &h, out);
	json_decref(w.height);
	json_decref(w.memo);
	return rc;
}

int pp_cfg_chain(struct pp_txn *t, const char *id, int max_depth, size_t max_count,
		 struct pp_cfg_chain *info)
{
	struct cfg_walk w = { .max_depth = max_depth, .max_count = max_count, .info = info };
	int h = 0, rc;

	memset(info, 0, sizeof(*info));
	if (!t || !id)
		return PP_EINVAL;
	rc = cfg_walk(t, &w, id, &h, NULL);
	info->depth = h;
	info->count = json_object_size(w.height);
	json_decref(w.height);
	json_decref(w.memo);
	return rc;
}

/* ---- reachability (who inherits from a config), memoised ---- */

struct pp_cfg_reach {
	char *target;
	json_t *memo; /* id -> true / false; null while on the path */
};

struct pp_cfg_reach *pp_cfg_reach_new(const char *target)
{
	struct pp_cfg_reach *r = calloc(1, sizeof(*r));

	if (!r || !(r->target = strdup(target)) || !(r->memo = json_object())) {
		pp_cfg_reach_free(r);
		return NULL;
	}
	return r;
}

void pp_cfg_reach_free(struct pp_cfg_reach *r)
{
	if (!r)
		return;
	free(r->target);
	json_decref(r->memo);
	free(r);
}

static bool reach_rec(struct pp_txn *t, struct pp_cfg_reach *r, const char *id, int depth)
{
	json_t *v, *cfg, *p;
	bool found = false;
	size_t i;

	if (strcmp(id, r->target) == 0)
		return true;
	if ((v = json_object_get(r->memo, id)))
		return json_is_true(v); /* null: on the path (a cycle) */
	if (depth >= PP_CFG_MAX_DEPTH || pp_cfg_get(t, id, &cfg) != PP_OK)
		return false;
	json_object_set_new(r->memo, id, json_null());
	json_array_foreach(json_object_get(cfg, "parent_ids"), i, p) {
		if (json_is_string(p) && reach_rec(t, r, json_string_value(p), depth + 1)) {
			found = true;
			break;
		}
	}
	json_decref(cfg);
	json_object_set_new(r->memo, id, json_boolean(found));
	return found;
}

bool pp_cfg_reaches(struct pp_txn *t, struct pp_cfg_reach *r, const char *id)
{
	return r && id && reach_rec(t, r, id, 0);
}

/* ---- files ---- */

static void be64_put(unsigned char *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

static uint64_t be64_get(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

/* "\"<32 hex digits>\"" from the 16 hash bytes of a file header. */
static void etag_text(const unsigned char h[16], char out[40])
{
	static const char hex[] = "0123456789abcdef";

	out[0] = '"';
	for (int i = 0; i < 16; i++) {
		out[1 + 2 * i] = hex[h[i] >> 4];
		out[2 + 2 * i] = hex[h[i] & 15];
	}
	out[33] = '"';
	out[34] = '\0';
}

void pp_file_etag(const void *data, size_t size, char out[40])
{
	unsigned char b[16];
	uint64_t h[2];

	pp_store_hash128(data, size, h);
	be64_put(b, h[0]);
	be64_put(b + 8, h[1]);
	etag_text(b, out);
}

static int file_decode(const char *path, const MDB_val *v, struct pp_file *f)
{
	const unsigned char *p = v->mv_data;
	const char *why = NULL;
	char q[200];

	if (v->mv_size < PP_FILE_HDR)
		why = "short-value";
	else if (p[0] != PP_VAL_FILE_V1)
		why = "unknown-version";
	else
		for (int i = 1; i < 8; i++)
			if (p[i])
				why = "bad-header";
	if (why) {
		store_notice(PP_STORE_ERROR, "store.decode", "db=files key=%s reason=%s",
		       pp_q(q, sizeof(q), path), why);
		memset(f, 0, sizeof(*f));
		return PP_EIO;
	}
	f->mtime_ms = (int64_t)be64_get(p + 8);
	etag_text(p + 16, f->etag);
	f->data = p + PP_FILE_HDR;
	f->size = v->mv_size - PP_FILE_HDR;
	return PP_OK;
}

int pp_file_get(struct pp_txn *t, const char *path, struct pp_file *out)
{
	MDB_val k, v;
	int rc;

	memset(out, 0, sizeof(*out));
	/* a path longer than LMDB's key limit (511 bytes) cannot have been
	 * stored: no such rendered file (a static file may still answer) */
	if (t && path && strlen(path) > t->st->maxkey)
		return PP_ENOENT;
	if ((rc = key_of(t, path, &k)) != PP_OK)
		return rc;
	rc = mdb_get(t->txn, t->st->dbi[PP_DB_FILES], &k, &v);
	if (rc)
		return pp_store_mdb_fail(t, rc, "get", PP_DB_FILES);
	return file_decode(path, &v, out);
}

int pp_file_put(struct pp_txn *t, const char *path, const void *data, size_t size,
		int64_t mtime_ms)
{
	uint64_t h[2];
	unsigned char *p;
	MDB_val k, v;
	int rc;

	if ((rc = writable(t)) != PP_OK || (rc = key_of(t, path, &k)) != PP_OK)
		return rc;
	if (!data && size)
		return PP_EINVAL;
	if (size > SIZE_MAX - PP_FILE_HDR)
		return PP_EINVAL;
	v.mv_size = size + PP_FILE_HDR;
	v.mv_data = NULL;
	rc = mdb_put(t->txn, t->st->dbi[PP_DB_FILES], &k, &v, MDB_RESERVE);
	if (rc)
		return pp_store_mdb_fail(t, rc, "put", PP_DB_FILES);
	p = v.mv_data;
	pp_store_hash128(data, size, h);
	memset(p, 0, PP_FILE_HDR);
	p[0] = PP_VAL_FILE_V1;
	be64_put(p + 8, (uint64_t)mtime_ms);
	be64_put(p + 16, h[0]);
	be64_put(p + 24, h[1]);
	if (size)
		memcpy(p + PP_FILE_HDR, data, size);
	return PP_OK;
}

int pp_file_del(struct pp_txn *t, const char *path)
{
	return del_key(t, PP_DB_FILES, path);
}

struct file_walk {
	pp_file_cb cb;
	void *arg;
};

static int file_walk_fn(struct pp_txn *t, const char *key, const MDB_val *v, void *arg)
{
	struct file_walk *w = arg;
	struct pp_file f;

	(void)t;
	if (file_decode(key, v, &f) != PP_OK)
		return PP_OK; /* logged; skip */
	return w->cb(key, &f, w->arg);
}

int pp_file_each(struct pp_txn *t, const char *prefix, pp_file_cb cb, void *arg)
{
	struct file_walk w = { cb, arg };

	return walk(t, PP_DB_FILES, prefix, NULL, prefix, file_walk_fn, &w);
}

/* ---- records and events: append-only logs ---- */

static int log_next_seq(struct pp_txn *t, enum pp_db db, uint64_t *seq)
{
	char name[32];
	MDB_val k = { 0, name }, v;
	MDB_cursor *c;
	uint64_t last = 0;
	int rc;

	k.mv_size = (size_t)snprintf(name, sizeof(name), "seq.%s", pp_db_names[db]);
	rc = mdb_get(t->txn, t->st->dbi[PP_DB_META], &k, &v);
	if (rc == 0 && v.mv_size == 8)
		last = be64_get(v.mv_data);
	else if (rc && rc != MDB_NOTFOUND)
		return pp_store_mdb_fail(t, rc, "get", PP_DB_META);
	/* never below the newest entry, even if the counter was lost */
	if ((rc = cursor_open(t, db, &c)) != PP_OK)
		return rc;
	{
		MDB_val lk, lv;

		if (mdb_cursor_get(c, &lk, &lv, MDB_LAST) == 0 && lk.mv_size == 8 &&
		    be64_get(lk.mv_data) > last)
			last = be64_get(lk.mv_data);
	}
	mdb_cursor_close(c);
	if (last == UINT64_MAX)
		return PP_EIO;
	*seq = last + 1;
	{
		unsigned char b[8];

		be64_put(b, *seq);
		return put_raw(t, PP_DB_META, &k, b, 8, 0);
	}
}

/* Delete the oldest entries so at most `max` remain (seq > newest - max). */
static int log_prune(struct pp_txn *t, enum pp_db db, uint64_t newest, uint64_t max)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc, n = 0;

	if (!max || newest <= max)
		return PP_OK;
	if ((rc = cursor_open(t, db, &c)) != PP_OK)
		return rc;
	while (n++ < PRUNE_MAX_PER_APPEND) {
		rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			break;
		}
		if (rc)
			break;
		if (k.mv_size == 8 && be64_get(k.mv_data) > newest - max)
			break;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return pp_store_mdb_fail(t, rc, "prune", db);
}

static int log_append(struct pp_txn *t, enum pp_db db, json_t *val, uint64_t max,
		      uint64_t *seqp)
{
	unsigned char kb[8];
	MDB_val k = { 8, kb };
	uint64_t seq = 0;
	int rc;

	if ((rc = log_next_seq(t, db, &seq)) != PP_OK)
		return rc;
	if (json_object_set_new(val, "seq", json_integer((json_int_t)seq)) != 0)
		return PP_ENOMEM;
	be64_put(kb, seq);
	if ((rc = put_json(t, db, &k, val)) != PP_OK)
		return rc;
	if ((rc = log_prune(t, db, seq, max)) != PP_OK)
		return rc;
	if (seqp)
		*seqp = seq;
	return PP_OK;
}

int pp_rec_append(struct pp_txn *t, const json_t *rec, uint64_t *seq)
{
	json_t *val;
	int rc;

	if ((rc = writable(t)) != PP_OK)
		return rc;
	if (!json_is_object(rec))
		return PP_EINVAL;
	if (!(val = json_deep_copy(rec)))
		return PP_ENOMEM;
	if (!json_object_get(val, "ts"))
		json_object_set_new(val, "ts", json_integer(pp_now_ms()));
	rc = log_append(t, PP_DB_RECORDS, val, t->st->records_max, seq);
	json_decref(val);
	return rc;
}

int pp_event_append(struct pp_txn *t, const char *type, const json_t *data, uint64_t *seq)
{
	json_t *val;
	int rc;

	if ((rc = writable(t)) != PP_OK)
		return rc;
	if (!type || !*type)
		return PP_EINVAL;
	val = json_object();
	if (!val)
		return PP_ENOMEM;
	json_object_set_new(val, "seq", json_integer(0));
	json_object_set_new(val, "ts", json_integer(pp_now_ms()));
	json_object_set_new(val, "type", json_string(type));
	json_object_set_new(val, "data", data ? json_deep_copy(data) : json_null());
	if (json_object_size(val) != 4 || !json_object_get(val, "data") ||
	    !json_object_get(val, "type")) {
		json_decref(val);
		return PP_EINVAL; /* type not UTF-8 or out of memory */
	}
	rc = log_append(t, PP_DB_EVENTS, val, t->st->events_max, seq);
	json_decref(val);
	return rc;
}

/* ---- call-record batches (pp_rec_append_batch) ---- */

/* Reserve n sequence numbers of a log: the first is returned, the counter
 * in meta ends at the last. */
static int log_reserve(struct pp_txn *t, enum pp_db db, size_t n, uint64_t *first)
{
	char name[32];
	MDB_val k = { 0, name };
	unsigned char b[8];
	int rc;

	if ((rc = log_next_seq(t, db, first)) != PP_OK)
		return rc;
	if (n > 1) {
		if (*first > UINT64_MAX - n)
			return PP_EIO;
		k.mv_size = (size_t)snprintf(name, sizeof(name), "seq.%s", pp_db_names[db]);
		be64_put(b, *first + n - 1);
		rc = put_raw(t, PP_DB_META, &k, b, 8, 0);
	}
	return rc;
}

/* The value of a stored record: version byte, the record's JSON text with
 * "seq" added before its closing brace. */
static void rec_value(const char *text, size_t len, uint64_t seq, struct pp_buf *out)
{
	pp_buf_reset(out);
	pp_buf_putc(out, (char)PP_VAL_JSON_V1);
	pp_buf_append(out, text, len - 1);
	pp_buf_printf(out, "%s\"seq\":%llu}", len > 2 ? "," : "", (unsigned long long)seq);
}

int pp_rec_append_batch(struct pp_txn *t, const char *const *texts, const size_t *lens,
			size_t n, int64_t ts_ms, uint64_t *seqs)
{
	struct pp_buf rv = { 0 }, ev = { 0 };
	uint64_t rseq, eseq;
	int rc;

	if ((rc = writable(t)) != PP_OK)
		return rc;
	if (!n)
		return PP_OK;
	for (size_t i = 0; i < n; i++)
		if (!texts[i] || lens[i] < 2 || texts[i][0] != '{' || texts[i][lens[i] - 1] != '}')
			return PP_EINVAL;
	if ((rc = log_reserve(t, PP_DB_RECORDS, n, &rseq)) != PP_OK ||
	    (rc = log_reserve(t, PP_DB_EVENTS, n, &eseq)) != PP_OK)
		return rc;
	for (size_t i = 0; rc == PP_OK && i < n; i++) {
		unsigned char kb[8];
		MDB_val k = { 8, kb };

		rec_value(texts[i], lens[i], rseq + i, &rv);
		pp_buf_reset(&ev);
		pp_buf_putc(&ev, (char)PP_VAL_JSON_V1);
		pp_buf_printf(&ev, "{\"seq\":%llu,\"ts\":%lld,\"type\":\"record\",\"data\":",
			      (unsigned long long)(eseq + i), (long long)ts_ms);
		pp_buf_append(&ev, rv.data + 1, rv.len - 1);
		pp_buf_putc(&ev, '}');
		if (!rv.data || !ev.data) {
			rc = PP_ENOMEM;
			break;
		}
		be64_put(kb, rseq + i);
		/* sequence keys only grow: appending skips the B-tree search */
		if ((rc = put_raw(t, PP_DB_RECORDS, &k, rv.data, rv.len, MDB_APPEND)) != PP_OK)
			break;
		be64_put(kb, eseq + i);
		rc = put_raw(t, PP_DB_EVENTS, &k, ev.data, ev.len, MDB_APPEND);
		if (rc == PP_OK && seqs)
			seqs[i] = rseq + i;
	}
	pp_buf_free(&rv);
	pp_buf_free(&ev);
	/* prune as n single appends would (log_prune removes at most
	 * PRUNE_MAX_PER_APPEND per call) */
	for (size_t i = 0; rc == PP_OK && i <= n / PRUNE_MAX_PER_APPEND; i++) {
		rc = log_prune(t, PP_DB_RECORDS, rseq + n - 1, t->st->records_max);
		if (rc == PP_OK)
			rc = log_prune(t, PP_DB_EVENTS, eseq + n - 1, t->st->events_max);
	}
	return rc;
}

static int log_each(struct pp_txn *t, enum pp_db db, uint64_t since, size_t limit,
		    pp_log_cb cb, void *arg)
{
	unsigned char kb[8];
	MDB_cursor *c;
	MDB_val k = { 8, kb }, v;
	size_t n = 0;
	int rc, op = MDB_SET_RANGE;

	if (!t)
		return PP_EINVAL;
	if (since == UINT64_MAX)
		return PP_OK;
	if ((rc = cursor_open(t, db, &c)) != PP_OK)
		return rc;
	be64_put(kb, since + 1);
	for (; !limit || n < limit; op = MDB_NEXT) {
		char key[24];
		uint64_t seq;
		json_t *j;

		rc = mdb_cursor_get(c, &k, &v, op);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			break;
		}
		if (rc) {
			rc = pp_store_mdb_fail(t, rc, "cursor_get", db);
			break;
		}
		if (k.mv_size != 8)
			continue;
		seq = be64_get(k.mv_data);
		snprintf(key, sizeof(key), "%" PRIu64, seq);
		if (pp_store_json_decode(v.mv_data, v.mv_size, db, key, &j) != PP_OK)
			continue; /* logged; skip */
		n++;
		rc = cb(seq, j, arg);
		json_decref(j);
		if (rc != PP_OK)
			break;
	}
	mdb_cursor_close(c);
	return rc;
}

int pp_rec_each(struct pp_txn *t, uint64_t since, size_t limit, pp_log_cb cb, void *arg)
{
	return log_each(t, PP_DB_RECORDS, since, limit, cb, arg);
}

int pp_event_each(struct pp_txn *t, uint64_t since, size_t limit, pp_log_cb cb, void *arg)
{
	return log_each(t, PP_DB_EVENTS, since, limit, cb, arg);
}

/* ---- one-shot conveniences ---- */

struct one {
	const char *key;
	const json_t *in;
	json_t *out;
};

static int one_dev_get(struct pp_txn *t, void *arg)
{
	struct one *o = arg;

	return pp_dev_get(t, o->key, &o->out);
}

static int one_dev_put(struct pp_txn *t, void *arg)
{
	struct one *o = arg;

	return pp_dev_put(t, o->key, o->in);
}

static int one_dev_del(struct pp_txn *t, void *arg)
{
	struct one *o = arg;

	return pp_dev_del(t, o->key);
}

static int one_cfg_resolve(struct pp_txn *t, void *arg)
{
	struct one *o = arg;

	return pp_cfg_resolve(t, o->key, &o->out);
}

int pp_store_dev_get(struct pp_store *st, const char *mac, json_t **out)
{
	struct one o = { .key = mac };
	int rc = pp_store_read(st, one_dev_get, &o);

	*out = o.out;
	return rc;
}

int pp_store_dev_put(struct pp_store *st, const char *mac, const json_t *dev)
{
	struct one o = { .key = mac, .in = dev };

	return pp_store_write(st, one_dev_put, &o);
}

int pp_store_dev_del(struct pp_store *st, const char *mac)
{
	struct one o = { .key = mac };

	return pp_store_write(st, one_dev_del, &o);
}

int pp_store_cfg_resolve(struct pp_store *st, const char *id, json_t **out)
{
	struct one o = { .key = id };
	int rc = pp_store_read(st, one_cfg_resolve, &o);

	*out = o.out;
	return rc;
}
