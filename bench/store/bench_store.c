/* Store benchmark: the typed store vs raw LMDB doing the same work (same keys,
 * same value bytes, no JSON), plus the ETag hash vs memcpy.
 * Usage: bench-store [N]   (N devices, default 20000) */
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/common.h"
#include "daemon/store/store.h"
#include "daemon/store/store_priv.h" /* pp_store_hash128 */

static int n_dev = 20000;

static double secs(uint64_t t0)
{
	return (double)(pp_mono_ns() - t0) / 1e9;
}

static void mac_of(int i, char mac[18])
{
	snprintf(mac, 18, "02:00:00:%02x:%02x:%02x", (i >> 16) & 255, (i >> 8) & 255, i & 255);
}

static json_t *dev_of(int i)
{
	char mac[18];

	mac_of(i, mac);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "mac", mac, "vendor", "Yealink", "model",
			 "T46S", "version", "66.86.0.15", "state", "provisioned", "last_seen",
			 (json_int_t)1700000000000LL + i);
}

static int put_batch(struct pp_txn *t, void *arg)
{
	int *from = arg;

	for (int i = *from; i < *from + 1000 && i < n_dev; i++) {
		char mac[18];
		json_t *d = dev_of(i);
		int rc;

		mac_of(i, mac);
		rc = pp_dev_put(t, mac, d);
		json_decref(d);
		if (rc)
			return rc;
	}
	return PP_OK;
}

static int get_all(struct pp_txn *t, void *arg)
{
	long *ok = arg;

	for (int i = 0; i < n_dev; i++) {
		char mac[18];
		json_t *d;

		mac_of(i, mac);
		if (pp_dev_get(t, mac, &d) == PP_OK) {
			(*ok)++;
			json_decref(d);
		}
	}
	return PP_OK;
}

static void rm_dir(const char *d)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/data.mdb", d);
	unlink(p);
	snprintf(p, sizeof(p), "%s/lock.mdb", d);
	unlink(p);
	rmdir(d);
}

int main(int argc, char **argv)
{
	char sdir[] = "/tmp/pp-bench-store-XXXXXX", rdir[] = "/tmp/pp-bench-raw-XXXXXX";
	struct pp_store *st;
	struct pp_err err;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint64_t t0;
	double s_put, r_put, s_get, r_get, s_one, r_one;
	long ok = 0;
	int sync_n = 200;

	if (argc > 1)
		n_dev = atoi(argv[1]);
	if (!mkdtemp(sdir) || !mkdtemp(rdir))
		return 1;
	if (pp_store_open(sdir, &st, &err) != PP_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	mdb_env_create(&env);
	mdb_env_set_maxdbs(env, 4);
	mdb_env_set_mapsize(env, (size_t)64 << 20);
	if (mdb_env_open(env, rdir, MDB_NOTLS, 0600))
		return 1;

	/* batched puts: 1000 devices per txn */
	t0 = pp_mono_ns();
	for (int i = 0; i < n_dev; i += 1000)
		if (pp_store_write(st, put_batch, &i) != PP_OK)
			return 1;
	s_put = secs(t0);
	t0 = pp_mono_ns();
	for (int i = 0; i < n_dev; i += 1000) {
		mdb_txn_begin(env, NULL, 0, &txn);
		mdb_dbi_open(txn, "devices", MDB_CREATE, &dbi);
		for (int j = i; j < i + 1000 && j < n_dev; j++) {
			char mac[18];
			json_t *d = dev_of(j);
			char *txt = json_dumps(d, JSON_COMPACT);
			MDB_val k = { 17, mac }, v = { strlen(txt), txt };

			mac_of(j, mac);
			mdb_put(txn, dbi, &k, &v, 0);
			free(txt);
			json_decref(d);
		}
		mdb_txn_commit(txn);
	}
	r_put = secs(t0);

	/* gets in one read txn */
	t0 = pp_mono_ns();
	pp_store_read(st, get_all, &ok);
	s_get = secs(t0);
	t0 = pp_mono_ns();
	mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	for (int i = 0; i < n_dev; i++) {
		char mac[18];
		MDB_val k = { 17, mac }, v;

		mac_of(i, mac);
		if (mdb_get(txn, dbi, &k, &v) == 0) {
			json_t *d = json_loadb(v.mv_data, v.mv_size, 0, NULL);

			ok += d != NULL;
			json_decref(d);
		}
	}
	mdb_txn_abort(txn);
	r_get = secs(t0);

	/* durable single-device writes (one txn + fsync each) */
	t0 = pp_mono_ns();
	for (int i = 0; i < sync_n; i++) {
		char mac[18];
		json_t *d = dev_of(i);

		mac_of(i, mac);
		pp_store_dev_put(st, mac, d);
		json_decref(d);
	}
	s_one = secs(t0);
	t0 = pp_mono_ns();
	for (int i = 0; i < sync_n; i++) {
		char mac[18];
		json_t *d = dev_of(i);
		char *txt = json_dumps(d, JSON_COMPACT);
		MDB_val k = { 17, mac }, v = { strlen(txt), txt };

		mac_of(i, mac);
		mdb_txn_begin(env, NULL, 0, &txn);
		mdb_put(txn, dbi, &k, &v, 0);
		mdb_txn_commit(txn);
		free(txt);
		json_decref(d);
	}
	r_one = secs(t0);

	printf("store bench: %d devices (ok=%ld)\n", n_dev, ok);
	printf("  batched put : store %9.0f/s  raw lmdb %9.0f/s  ratio %.2f\n", n_dev / s_put,
	       n_dev / r_put, r_put / s_put);
	printf("  get (1 txn) : store %9.0f/s  raw lmdb %9.0f/s  ratio %.2f\n", n_dev / s_get,
	       n_dev / r_get, r_get / s_get);
	printf("  durable put : store %9.0f/s  raw lmdb %9.0f/s  ratio %.2f\n", sync_n / s_one,
	       sync_n / r_one, r_one / s_one);

	/* ETag hash vs memcpy over 1 MiB */
	{
		size_t sz = 1 << 20;
		unsigned char *a = malloc(sz), *b = malloc(sz);
		volatile unsigned char sink = 0;
		double th, tm;
		int reps = 200;

		memset(a, 7, sz);
		t0 = pp_mono_ns();
		for (int r = 0; r < reps; r++) {
			a[r] ^= 1;
			memcpy(b, a, sz);
			sink ^= b[r];
		}
		tm = secs(t0);
		{
			uint64_t h[2];

			t0 = pp_mono_ns();
			for (int r = 0; r < reps; r++) {
				a[r] ^= 1;
				pp_store_hash128(a, sz, h);
				sink ^= (unsigned char)h[0];
			}
			th = secs(t0);
		}
		printf("  etag hash   : %.2f GB/s   memcpy %.2f GB/s   ratio %.2f\n",
		       reps * (double)sz / th / 1e9, reps * (double)sz / tm / 1e9, tm / th);
		free(a);
		free(b);
		(void)sink;
	}
	pp_store_close(st);
	mdb_env_close(env);
	rm_dir(sdir);
	rm_dir(rdir);
	return 0;
}
