/* Typed accessors of the store: devices, ip2mac, configs (with inheritance),
 * rendered files, call records and events. See docs/store.md. */
#include "store_priv.h"

#include <arpa/inet.h>
#include <endian.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../log.h"

#define CFG_MAX_DEPTH 64
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
		pp_log(PP_LOG_ERROR, "store.error", "error=write-in-read-only-transaction");
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
		pp_log(PP_LOG_ERROR, "store.decode", "db=ip2mac key=%s reason=%s",
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
 * recursively; otherwise dst (the nearer config) wins. */
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
			int rc = merge_under(dv, sv);

			if (rc != PP_OK)
				return rc;
		}
	}
	return PP_OK;
}

struct cfg_stack {
	const char *ids[CFG_MAX_DEPTH];
	int n;
};

static int cfg_resolve_rec(struct pp_txn *t, const char *id, struct cfg_stack *s,
			   json_t **out)
{
	json_t *cfg, *raw, *parents, *p, *res;
	char q[160];
	size_t i;
	int rc;

	*out = NULL;
	for (int j = 0; j < s->n; j++) {
		if (strcmp(s->ids[j], id) == 0) {
			pp_log(PP_LOG_WARN, "store.config", "id=%s error=inheritance-cycle",
			       pp_q(q, sizeof(q), id));
			return PP_EINVAL;
		}
	}
	if (s->n == CFG_MAX_DEPTH)
		return PP_EINVAL;
	rc = pp_cfg_get(t, id, &cfg);
	if (rc == PP_ENOENT && s->n > 0) {
		pp_log(PP_LOG_WARN, "store.config", "id=%s error=missing-parent",
		       pp_q(q, sizeof(q), id));
		return PP_EINVAL;
	}
	if (rc != PP_OK)
		return rc;
	raw = json_object_get(cfg, "raw_config");
	if (raw && !json_is_object(raw)) {
		json_decref(cfg);
		return PP_EINVAL;
	}
	res = raw ? json_deep_copy(raw) : json_object();
	if (!res) {
		json_decref(cfg);
		return PP_ENOMEM;
	}
	s->ids[s->n++] = id;
	parents = json_object_get(cfg, "parent_ids");
	if (parents && !json_is_array(parents))
		rc = PP_EINVAL;
	json_array_foreach(parents, i, p) {
		json_t *pres;

		if (!json_is_string(p)) {
			rc = PP_EINVAL;
			break;
		}
		rc = cfg_resolve_rec(t, json_string_value(p), s, &pres);
		if (rc == PP_ENOENT)
			rc = PP_EINVAL;
		if (rc != PP_OK)
			break;
		rc = merge_under(res, pres);
		json_decref(pres);
		if (rc != PP_OK)
			break;
	}
	s->n--;
	json_decref(cfg);
	if (rc != PP_OK) {
		json_decref(res);
		return rc;
	}
	*out = res;
	return PP_OK;
}

int pp_cfg_resolve(struct pp_txn *t, const char *id, json_t **out)
{
	struct cfg_stack s = { .n = 0 };
	json_t *res;
	int rc;

	*out = NULL;
	if (!t || !id)
		return PP_EINVAL;
	rc = cfg_resolve_rec(t, id, &s, &res);
	if (rc != PP_OK)
		return rc;
	/* merge_under shares parents' subtrees by reference: hand out a copy
	 * that owns all of its values */
	*out = json_deep_copy(res);
	json_decref(res);
	return *out ? PP_OK : PP_ENOMEM;
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

static int file_decode(const char *path, const MDB_val *v, struct pp_file *f)
{
	const unsigned char *p = v->mv_data;
	static const char hex[] = "0123456789abcdef";
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
		pp_log(PP_LOG_ERROR, "store.decode", "db=files key=%s reason=%s",
		       pp_q(q, sizeof(q), path), why);
		memset(f, 0, sizeof(*f));
		return PP_EIO;
	}
	f->mtime_ms = (int64_t)be64_get(p + 8);
	f->etag[0] = '"';
	for (int i = 0; i < 16; i++) {
		f->etag[1 + 2 * i] = hex[p[16 + i] >> 4];
		f->etag[2 + 2 * i] = hex[p[16 + i] & 15];
	}
	f->etag[33] = '"';
	f->etag[34] = '\0';
	f->data = p + PP_FILE_HDR;
	f->size = v->mv_size - PP_FILE_HDR;
	return PP_OK;
}

int pp_file_get(struct pp_txn *t, const char *path, struct pp_file *out)
{
	MDB_val k, v;
	int rc;

	memset(out, 0, sizeof(*out));
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
