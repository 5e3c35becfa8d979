/* Unit tests of the LMDB store on a real environment in a temp directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "daemon/store/store.h"
#include "store_test_util.h"

struct fx {
	char *dir;
	struct pp_store *st;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct pp_err err = { 0 };

	f->dir = tmp_store_dir();
	if (pp_store_open(f->dir, &f->st, &err) != PP_OK) {
		fprintf(stderr, "open: %s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	pp_store_close(f->st);
	rm_store_dir(f->dir);
	free(f);
	return 0;
}

/* Run a lambda-like body in a write/read txn: small callback structs. */
typedef int (*body_fn)(struct pp_txn *t, void *arg);

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (!j)
		fail_msg("bad JSON in test: %s: %s", text, e.text);
	return j;
}

static void assert_json_eq(const json_t *a, const char *text)
{
	json_t *b = J(text);

	if (!json_equal(a, b)) {
		char *s = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);

		fail_msg("JSON differs: got %s want %s", s, text);
	}
	json_decref(b);
}

/* ---------- devices ---------- */

static int dev_put3(struct pp_txn *t, void *arg)
{
	(void)arg;
	json_t *a = J("{\"mac\":\"00:0f:d3:05:48:48\",\"model\":\"T46S\",\"n\":1}");
	int rc = pp_dev_put(t, "00-0F-D3-05-48-48", a);

	json_decref(a);
	return rc;
}

static void test_dev_roundtrip(void **state)
{
	struct fx *f = *state;
	json_t *d, *bad;

	assert_int_equal(pp_store_dev_get(f->st, "00:0f:d3:05:48:48", &d), PP_ENOENT);
	assert_null(d);
	assert_int_equal(pp_store_write(f->st, dev_put3, NULL), PP_OK);
	/* any MAC form finds the normalised key */
	assert_int_equal(pp_store_dev_get(f->st, "000FD3054848", &d), PP_OK);
	assert_json_eq(d, "{\"mac\":\"00:0f:d3:05:48:48\",\"model\":\"T46S\",\"n\":1}");
	json_decref(d);
	/* overwrite */
	d = J("{\"mac\":\"00:0f:d3:05:48:48\",\"model\":\"T48S\",\"utf8\":\"h\u00e9\"}");
	assert_int_equal(pp_store_dev_put(f->st, "000f.d305.4848", d), PP_OK);
	json_decref(d);
	assert_int_equal(pp_store_dev_get(f->st, "00:0f:d3:05:48:48", &d), PP_OK);
	assert_string_equal(json_string_value(json_object_get(d, "model")), "T48S");
	assert_string_equal(json_string_value(json_object_get(d, "utf8")), "h\u00e9");
	json_decref(d);
	/* invalid input */
	bad = J("[1,2]");
	assert_int_equal(pp_store_dev_put(f->st, "00:0f:d3:05:48:48", bad), PP_EINVAL);
	json_decref(bad);
	bad = J("{}");
	assert_int_equal(pp_store_dev_put(f->st, "not-a-mac", bad), PP_EINVAL);
	assert_int_equal(pp_store_dev_put(f->st, "00:0f:d3:05:48", bad), PP_EINVAL);
	json_decref(bad);
	assert_int_equal(pp_store_dev_get(f->st, "zz", &d), PP_EINVAL);
	/* delete */
	assert_int_equal(pp_store_dev_del(f->st, "00:0F:D3:05:48:48"), PP_OK);
	assert_int_equal(pp_store_dev_del(f->st, "00:0F:D3:05:48:48"), PP_ENOENT);
	assert_int_equal(pp_store_dev_get(f->st, "00:0f:d3:05:48:48", &d), PP_ENOENT);
}

struct collect {
	char keys[64][520];
	int n;
	int stop_at;
};

static int collect_dev(const char *mac, json_t *dev, void *arg)
{
	struct collect *c = arg;

	assert_string_equal(json_string_value(json_object_get(dev, "mac")), mac);
	snprintf(c->keys[c->n++], sizeof(c->keys[0]), "%s", mac);
	return c->n == c->stop_at ? PP_EBUSY : PP_OK;
}

struct each_arg {
	const char *after;
	struct collect *c;
};

static int dev_each_fn(struct pp_txn *t, void *arg)
{
	struct each_arg *a = arg;

	return pp_dev_each(t, a->after, collect_dev, a->c);
}

static void test_dev_each(void **state)
{
	struct fx *f = *state;
	static const char *macs[] = { "00:00:00:00:00:05", "00:00:00:00:00:01", "aa:00:00:00:00:00",
				      "00:00:00:00:00:03", "00:00:00:00:00:02" };
	struct collect c = { .n = 0 };
	struct each_arg a = { NULL, &c };

	for (size_t i = 0; i < PP_ARRAY_LEN(macs); i++) {
		json_t *d = json_pack("{s:s}", "mac", macs[i]);

		assert_int_equal(pp_store_dev_put(f->st, macs[i], d), PP_OK);
		json_decref(d);
	}
	assert_int_equal(pp_store_read(f->st, dev_each_fn, &a), PP_OK);
	assert_int_equal(c.n, 5);
	assert_string_equal(c.keys[0], "00:00:00:00:00:01");
	assert_string_equal(c.keys[1], "00:00:00:00:00:02");
	assert_string_equal(c.keys[2], "00:00:00:00:00:03");
	assert_string_equal(c.keys[3], "00:00:00:00:00:05");
	assert_string_equal(c.keys[4], "aa:00:00:00:00:00");
	/* after an existing key: strictly after */
	c.n = 0;
	a.after = "00:00:00:00:00:03";
	assert_int_equal(pp_store_read(f->st, dev_each_fn, &a), PP_OK);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.keys[0], "00:00:00:00:00:05");
	/* after a key that is not there: from the next one */
	c.n = 0;
	a.after = "00:00:00:00:00:04";
	assert_int_equal(pp_store_read(f->st, dev_each_fn, &a), PP_OK);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.keys[0], "00:00:00:00:00:05");
	/* after the last: nothing */
	c.n = 0;
	a.after = "aa:00:00:00:00:00";
	assert_int_equal(pp_store_read(f->st, dev_each_fn, &a), PP_OK);
	assert_int_equal(c.n, 0);
	/* the callback stops the walk and its code is returned */
	c.n = 0;
	c.stop_at = 2;
	a.after = NULL;
	assert_int_equal(pp_store_read(f->st, dev_each_fn, &a), PP_EBUSY);
	assert_int_equal(c.n, 2);
}

/* ---------- ip2mac ---------- */

struct ipm {
	const char *ip, *mac;
	char out[18];
};

static int ipm_put(struct pp_txn *t, void *arg)
{
	struct ipm *m = arg;

	return pp_ip2mac_put(t, m->ip, m->mac);
}

static int ipm_get(struct pp_txn *t, void *arg)
{
	struct ipm *m = arg;

	return pp_ip2mac_get(t, m->ip, m->out);
}

static int ipm_del(struct pp_txn *t, void *arg)
{
	struct ipm *m = arg;

	return pp_ip2mac_del(t, m->ip);
}

static void test_ip2mac(void **state)
{
	struct fx *f = *state;
	struct ipm m = { "10.0.0.7", "00-0F-D3-05-48-48", "" };

	assert_int_equal(pp_store_read(f->st, ipm_get, &m), PP_ENOENT);
	assert_int_equal(pp_store_write(f->st, ipm_put, &m), PP_OK);
	assert_int_equal(pp_store_read(f->st, ipm_get, &m), PP_OK);
	assert_string_equal(m.out, "00:0f:d3:05:48:48");
	/* IPv6 keys are normalised */
	m.ip = "2001:DB8:0:0::1";
	m.mac = "001122334455";
	assert_int_equal(pp_store_write(f->st, ipm_put, &m), PP_OK);
	m.ip = "2001:db8::1";
	assert_int_equal(pp_store_read(f->st, ipm_get, &m), PP_OK);
	assert_string_equal(m.out, "00:11:22:33:44:55");
	/* overwrite, delete */
	m.mac = "66:77:88:99:aa:bb";
	assert_int_equal(pp_store_write(f->st, ipm_put, &m), PP_OK);
	assert_int_equal(pp_store_read(f->st, ipm_get, &m), PP_OK);
	assert_string_equal(m.out, "66:77:88:99:aa:bb");
	assert_int_equal(pp_store_write(f->st, ipm_del, &m), PP_OK);
	assert_int_equal(pp_store_write(f->st, ipm_del, &m), PP_ENOENT);
	assert_int_equal(pp_store_read(f->st, ipm_get, &m), PP_ENOENT);
	m.ip = "10.0.0.7";
	assert_int_equal(pp_store_read(f->st, ipm_get, &m), PP_OK);
	/* bad input */
	m.ip = "10.0.0.300";
	assert_int_equal(pp_store_write(f->st, ipm_put, &m), PP_EINVAL);
	m.ip = "10.0.0.8";
	m.mac = "nope";
	assert_int_equal(pp_store_write(f->st, ipm_put, &m), PP_EINVAL);
}

/* ---------- configs ---------- */

struct cfgs {
	const char *const *defs; /* id, JSON, id, JSON, ..., NULL */
	const char *id;
	json_t *out;
	int each_n;
};

static int cfg_put_all(struct pp_txn *t, void *arg)
{
	struct cfgs *c = arg;

	for (int i = 0; c->defs[i]; i += 2) {
		json_t *j = J(c->defs[i + 1]);
		int rc = pp_cfg_put(t, c->defs[i], j);

		json_decref(j);
		if (rc != PP_OK)
			return rc;
	}
	return PP_OK;
}

static int cfg_resolve_fn(struct pp_txn *t, void *arg)
{
	struct cfgs *c = arg;

	return pp_cfg_resolve(t, c->id, &c->out);
}

static int count_cfg(const char *id, json_t *cfg, void *arg)
{
	struct cfgs *c = arg;

	assert_non_null(json_object_get(cfg, "raw_config"));
	(void)id;
	c->each_n++;
	return PP_OK;
}

static int cfg_each_fn(struct pp_txn *t, void *arg)
{
	return pp_cfg_each(t, count_cfg, arg);
}

static int cfg_get_fn(struct pp_txn *t, void *arg)
{
	struct cfgs *c = arg;

	return pp_cfg_get(t, c->id, &c->out);
}

static int cfg_del_fn(struct pp_txn *t, void *arg)
{
	struct cfgs *c = arg;

	return pp_cfg_del(t, c->id);
}

static json_t *resolve(struct fx *f, const char *id, int want)
{
	struct cfgs c = { .id = id };

	assert_int_equal(pp_store_read(f->st, cfg_resolve_fn, &c), want);
	if (want != PP_OK)
		assert_null(c.out);
	return c.out;
}

static void test_cfg_roundtrip(void **state)
{
	struct fx *f = *state;
	static const char *const defs[] = {
		"base", "{\"id\":\"base\",\"parent_ids\":[],\"raw_config\":{\"a\":1},\"label\":\"B\"}",
		"site", "{\"parent_ids\":[\"base\"],\"raw_config\":{\"b\":2}}",
		NULL };
	static const char *const bad1[] = { "x", "{\"id\":\"y\"}", NULL };
	static const char *const bad2[] = { "x", "{\"parent_ids\":\"base\"}", NULL };
	static const char *const bad3[] = { "x", "{\"parent_ids\":[1]}", NULL };
	static const char *const bad4[] = { "x", "{\"raw_config\":[1]}", NULL };
	static const char *const bad5[] = { "x", "[]", NULL };
	struct cfgs c = { .defs = defs };

	assert_int_equal(pp_store_write(f->st, cfg_put_all, &c), PP_OK);
	c.id = "base";
	assert_int_equal(pp_store_read(f->st, cfg_get_fn, &c), PP_OK);
	assert_json_eq(c.out, defs[1]);
	json_decref(c.out);
	assert_int_equal(pp_store_read(f->st, cfg_each_fn, &c), PP_OK);
	assert_int_equal(c.each_n, 2);
	/* validation: nothing of a failed txn is kept */
	c.defs = bad1;
	assert_int_equal(pp_store_write(f->st, cfg_put_all, &c), PP_EINVAL);
	c.defs = bad2;
	assert_int_equal(pp_store_write(f->st, cfg_put_all, &c), PP_EINVAL);
	c.defs = bad3;
	assert_int_equal(pp_store_write(f->st, cfg_put_all, &c), PP_EINVAL);
	c.defs = bad4;
	assert_int_equal(pp_store_write(f->st, cfg_put_all, &c), PP_EINVAL);
	c.defs = bad5;
	assert_int_equal(pp_store_write(f->st, cfg_put_all, &c), PP_EINVAL);
	c.id = "x";
	assert_int_equal(pp_store_read(f->st, cfg_get_fn, &c), PP_ENOENT);
	/* delete */
	c.id = "site";
	assert_int_equal(pp_store_write(f->st, cfg_del_fn, &c), PP_OK);
	assert_int_equal(pp_store_write(f->st, cfg_del_fn, &c), PP_ENOENT);
	c.each_n = 0;
	assert_int_equal(pp_store_read(f->st, cfg_each_fn, &c), PP_OK);
	assert_int_equal(c.each_n, 1);
}

static void test_cfg_inherit_multilevel(void **state)
{
	struct fx *f = *state;
	static const char *const defs[] = {
		"base", "{\"raw_config\":{\"ntp\":\"pool\",\"sip\":{\"port\":5060,\"transport\":\"udp\","
			"\"timers\":{\"t1\":500,\"t2\":4000}},\"codecs\":[\"g711\",\"g722\"],\"tz\":\"UTC\"}}",
		"site", "{\"parent_ids\":[\"base\"],\"raw_config\":{\"sip\":{\"proxy\":\"pbx.site\","
			"\"timers\":{\"t1\":250}},\"codecs\":[\"opus\"],\"tz\":\"Europe/Paris\"}}",
		"dev", "{\"parent_ids\":[\"site\"],\"raw_config\":{\"sip\":{\"user\":\"100\","
			"\"transport\":\"tls\"},\"tz\":null}}",
		NULL };
	struct cfgs c = { .defs = defs };
	json_t *r;

	assert_int_equal(pp_store_write(f->st, cfg_put_all, &c), PP_OK);
	r = resolve(f, "dev", PP_OK);
	/* nearer wins, objects merge deeply, arrays and scalars (even null) replace */
	assert_json_eq(r, "{\"ntp\":\"pool\",\"sip\":{\"port\":5060,\"transport\":\"tls\","
		       "\"proxy\":\"pbx.site\",\"user\":\"100\",\"timers\":{\"t1\":250,\"t2\":4000}},"
		       "\"codecs\":[\"opus\"],\"tz\":null}");
	json_decref(r);
	r = resolve(f, "base", PP_OK);
	assert_json_eq(r, "{\"ntp\":\"pool\",\"sip\":{\"port\":5060,\"transport\":\"udp\","
		       "\"timers\":{\"t1\":500,\"t2\":4000}},\"codecs\":[\"g711\",\"g722\"],"
		       "\"tz\":\"UTC\"}");
	json_decref(r);
	/* the stored configs are untouched by resolving */
	r = resolve(f, "site", PP_OK);
	assert_json_eq(r, "{\"ntp\":\"pool\",\"sip\":{\"port\":5060,\"transport\":\"udp\","
		       "\"proxy\":\"pbx.site\",\"timers\":{\"t1\":250,\"t2\":4000}},"
		       "\"codecs\":[\"opus\"],\"tz\":\"Europe/Paris\"}");
	json_decref(r);
}

static void test_cfg_inherit_parents_order(void **state)
{
	struct fx *f = *state;
	/* dev -> [p1, p2]; p1 -> [g1]; p2 -> [g2]. Depth first: p1, g1, then p2, g2. */
	static const char *const defs[] = {
		"g1", "{\"raw_config\":{\"x\":\"g1\",\"y\":\"g1\",\"z\":\"g1\",\"w\":\"g1\","
			"\"o\":{\"g1\":1,\"k\":\"g1\"}}}",
		"g2", "{\"raw_config\":{\"x\":\"g2\",\"y\":\"g2\",\"z\":\"g2\",\"w\":\"g2\",\"v\":\"g2\","
			"\"o\":{\"g2\":1,\"k\":\"g2\"}}}",
		"p1", "{\"parent_ids\":[\"g1\"],\"raw_config\":{\"x\":\"p1\",\"o\":{\"p1\":1}}}",
		"p2", "{\"parent_ids\":[\"g2\"],\"raw_config\":{\"x\":\"p2\",\"y\":\"p2\",\"o\":{\"k\":\"p2\"}}}",
		"dev", "{\"parent_ids\":[\"p1\",\"p2\"],\"raw_config\":{\"w\":\"dev\"}}",
		"nop", "{\"parent_ids\":[\"p2\",\"p1\"]}",
		/* diamond: both parents share one grandparent; not a cycle */
		"dia", "{\"parent_ids\":[\"p1\",\"p1\",\"g1\"]}",
		NULL };
	struct cfgs c = { .defs = defs };
	json_t *r;

	assert_int_equal(pp_store_write(f->st, cfg_put_all, &c), PP_OK);
	r = resolve(f, "dev", PP_OK);
	assert_json_eq(r, "{\"w\":\"dev\",\"x\":\"p1\",\"y\":\"g1\",\"z\":\"g1\",\"v\":\"g2\","
		       "\"o\":{\"p1\":1,\"g1\":1,\"k\":\"g1\",\"g2\":1}}");
	json_decref(r);
	/* parents order reversed; no raw_config of its own */
	r = resolve(f, "nop", PP_OK);
	assert_json_eq(r, "{\"w\":\"g2\",\"x\":\"p2\",\"y\":\"p2\",\"z\":\"g2\",\"v\":\"g2\","
		       "\"o\":{\"p1\":1,\"g1\":1,\"k\":\"p2\",\"g2\":1}}");
	json_decref(r);
	r = resolve(f, "dia", PP_OK);
	assert_json_eq(r, "{\"x\":\"p1\",\"y\":\"g1\",\"z\":\"g1\",\"w\":\"g1\","
		       "\"o\":{\"p1\":1,\"g1\":1,\"k\":\"g1\"}}");
	json_decref(r);
}

static void test_cfg_inherit_errors(void **state)
{
	struct fx *f = *state;
	static const char *const defs[] = {
		"self", "{\"parent_ids\":[\"self\"],\"raw_config\":{}}",
		"a", "{\"parent_ids\":[\"b\"],\"raw_config\":{\"a\":1}}",
		"b", "{\"parent_ids\":[\"c\"]}",
		"c", "{\"parent_ids\":[\"a\"]}",
		"orphan", "{\"parent_ids\":[\"base\",\"nowhere\"]}",
		"base", "{\"raw_config\":{\"k\":1}}",
		"deep", "{\"parent_ids\":[\"mid\"]}",
		"mid", "{\"parent_ids\":[\"gone\"]}",
		NULL };
	struct cfgs c = { .defs = defs };
	json_t *r;

	assert_int_equal(pp_store_write(f->st, cfg_put_all, &c), PP_OK);
	resolve(f, "self", PP_EINVAL);
	resolve(f, "a", PP_EINVAL);
	resolve(f, "c", PP_EINVAL);
	resolve(f, "orphan", PP_EINVAL);
	resolve(f, "deep", PP_EINVAL);
	resolve(f, "absent", PP_ENOENT);
	r = resolve(f, "base", PP_OK);
	assert_json_eq(r, "{\"k\":1}");
	json_decref(r);
	/* one-shot helper */
	assert_int_equal(pp_store_cfg_resolve(f->st, "base", &r), PP_OK);
	assert_json_eq(r, "{\"k\":1}");
	json_decref(r);
	assert_int_equal(pp_store_cfg_resolve(f->st, "c", &r), PP_EINVAL);
	assert_null(r);
}

/* The diamond ladder of issue 19: top, 20 levels of two configs that each
 * inherit from both configs of the level above, bottom. 2^20 paths up from
 * bottom, 42 configs: resolved once each, with the depth-first precedence. */
struct ladder {
	const char *id;
	struct pp_cfg_chain info;
	int rc;
};

static int ladder_put(struct pp_txn *t, void *arg)
{
	char id[32], pa[32], pb[32], js[256];
	int rc = PP_OK;

	(void)arg;
	for (int l = -1; l <= 20 && rc == PP_OK; l++) {
		for (int k = 0; k < 2 && rc == PP_OK; k++) {
			json_t *j;

			if (l == -1 && k == 1)
				continue;
			if (l == 20 && k == 1)
				continue;
			if (l == -1)
				snprintf(id, sizeof(id), "top");
			else if (l == 20)
				snprintf(id, sizeof(id), "bottom");
			else
				snprintf(id, sizeof(id), "L%d%c", l, 'a' + k);
			if (l == 0) {
				snprintf(pa, sizeof(pa), "top");
				snprintf(js, sizeof(js), "{\"parent_ids\":[\"top\"],\"raw_config\":"
					 "{\"x\":\"%s\",\"o\":{\"%s\":1}%s}}", id, id,
					 k ? ",\"k\":\"L0b\"" : "");
			} else if (l > 0) {
				snprintf(pa, sizeof(pa), "L%da", l - 1);
				snprintf(pb, sizeof(pb), "L%db", l - 1);
				snprintf(js, sizeof(js), "{\"parent_ids\":[\"%s\",\"%s\"],\"raw_config\":"
					 "{\"x\":\"%s\",\"o\":{\"%s\":1}%s%s%s%s}}", pa, pb, id, id,
					 k ? ",\"k\":\"" : "", k ? id : "", k ? "\"" : "",
					 l == 19 && k == 0 ? ",\"y\":\"L19a\"" : "");
			} else {
				snprintf(js, sizeof(js), "{\"raw_config\":{\"x\":\"top\",\"y\":\"top\","
					 "\"z\":\"top\",\"o\":{\"top\":1}}}");
			}
			j = J(js);
			rc = pp_cfg_put(t, id, j);
			json_decref(j);
		}
	}
	return rc;
}

static int ladder_chain(struct pp_txn *t, void *arg)
{
	struct ladder *l = arg;

	l->rc = pp_cfg_chain(t, l->id, PP_CFG_MAX_DEPTH, PP_CFG_MAX_CHAIN, &l->info);
	return PP_OK;
}

static int ladder_tight(struct pp_txn *t, void *arg)
{
	struct ladder *l = arg;

	l->rc = pp_cfg_chain(t, l->id, 21, 100, &l->info);
	return PP_OK;
}

static int ladder_small(struct pp_txn *t, void *arg)
{
	struct ladder *l = arg;

	l->rc = pp_cfg_chain(t, l->id, 64, 41, &l->info);
	return PP_OK;
}

static int ladder_reach(struct pp_txn *t, void *arg)
{
	struct pp_cfg_reach *r = pp_cfg_reach_new("L3b");
	int n = 0;

	(void)arg;
	assert_non_null(r);
	assert_true(pp_cfg_reaches(t, r, "bottom"));
	assert_true(pp_cfg_reaches(t, r, "L3b"));
	assert_true(pp_cfg_reaches(t, r, "L4a"));
	assert_false(pp_cfg_reaches(t, r, "L3a"));
	assert_false(pp_cfg_reaches(t, r, "top"));
	assert_false(pp_cfg_reaches(t, r, "absent"));
	n = (int)pp_cfg_reaches(t, r, "L19b");
	pp_cfg_reach_free(r);
	return n == 1 ? PP_OK : PP_ERR;
}

static void test_cfg_inherit_ladder(void **state)
{
	struct fx *f = *state;
	struct ladder l = { .id = "bottom" };
	struct timespec t0, t1;
	json_t *r, *o;
	char key[16];

	assert_int_equal(pp_store_write(f->st, ladder_put, NULL), PP_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = resolve(f, "bottom", PP_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* informative: the tree expansion took seconds here (2^20 paths) */
	print_message("# diamond ladder (42 configs, 20 levels) resolved in %.3f ms\n",
		      (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	/* bottom's own x; y from its first parent; z from top; k: depth first
	 * reaches L0b (through L19a ... L1a) before any other b config */
	assert_string_equal(json_string_value(json_object_get(r, "x")), "bottom");
	assert_string_equal(json_string_value(json_object_get(r, "y")), "L19a");
	assert_string_equal(json_string_value(json_object_get(r, "z")), "top");
	assert_string_equal(json_string_value(json_object_get(r, "k")), "L0b");
	o = json_object_get(r, "o");
	assert_int_equal(json_object_size(o), 42);
	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "L%da", i);
		assert_non_null(json_object_get(o, key));
		snprintf(key, sizeof(key), "L%db", i);
		assert_non_null(json_object_get(o, key));
	}
	json_decref(r);
	/* resolving did not alter what another resolve sees (shared memo) */
	r = resolve(f, "L1a", PP_OK);
	assert_json_eq(r, "{\"x\":\"L1a\",\"o\":{\"L1a\":1,\"L0a\":1,\"top\":1,\"L0b\":1},"
		       "\"y\":\"top\",\"z\":\"top\",\"k\":\"L0b\"}");
	json_decref(r);
	/* the chain's shape */
	assert_int_equal(pp_store_read(f->st, ladder_chain, &l), PP_OK);
	assert_int_equal(l.rc, PP_OK);
	assert_int_equal(l.info.depth, 22);
	assert_int_equal((int)l.info.count, 42);
	assert_false(l.info.cycle || l.info.missing || l.info.too_deep || l.info.too_big);
	assert_int_equal(pp_store_read(f->st, ladder_tight, &l), PP_OK);
	assert_int_equal(l.rc, PP_EINVAL);
	assert_true(l.info.too_deep);
	assert_int_equal(pp_store_read(f->st, ladder_small, &l), PP_OK);
	assert_int_equal(l.rc, PP_EINVAL);
	assert_true(l.info.too_big);
	assert_false(l.info.too_deep);
	l.id = "L5a";
	assert_int_equal(pp_store_read(f->st, ladder_chain, &l), PP_OK);
	assert_int_equal(l.info.depth, 7);
	assert_int_equal((int)l.info.count, 12);
	assert_int_equal(pp_store_read(f->st, ladder_reach, NULL), PP_OK);
}

/* ---------- files ---------- */

struct fput {
	const char *path;
	const void *data;
	size_t size;
	int64_t mtime;
	/* results */
	void *copy;
	size_t got_size;
	int64_t got_mtime;
	char etag[40];
};

static int file_put_fn(struct pp_txn *t, void *arg)
{
	struct fput *p = arg;

	return pp_file_put(t, p->path, p->data, p->size, p->mtime);
}

static int file_get_fn(struct pp_txn *t, void *arg)
{
	struct fput *p = arg;
	struct pp_file fl;
	int rc = pp_file_get(t, p->path, &fl);

	if (rc != PP_OK)
		return rc;
	p->copy = malloc(fl.size + 1);
	if (fl.size)
		memcpy(p->copy, fl.data, fl.size);
	p->got_size = fl.size;
	p->got_mtime = fl.mtime_ms;
	snprintf(p->etag, sizeof(p->etag), "%s", fl.etag);
	return PP_OK;
}

static int file_del_fn(struct pp_txn *t, void *arg)
{
	struct fput *p = arg;

	return pp_file_del(t, p->path);
}

static void file_roundtrip(struct fx *f, const char *path, const void *data, size_t size,
			   int64_t mtime, char etag[40])
{
	struct fput p = { .path = path, .data = data, .size = size, .mtime = mtime };

	assert_int_equal(pp_store_write(f->st, file_put_fn, &p), PP_OK);
	assert_int_equal(pp_store_read(f->st, file_get_fn, &p), PP_OK);
	assert_int_equal(p.got_size, size);
	assert_true(size == 0 || memcmp(p.copy, data, size) == 0);
	assert_int_equal(p.got_mtime, mtime);
	assert_int_equal(strlen(p.etag), 34);
	assert_int_equal(p.etag[0], '"');
	assert_int_equal(p.etag[33], '"');
	for (int i = 1; i < 33; i++)
		assert_non_null(strchr("0123456789abcdef", p.etag[i]));
	memcpy(etag, p.etag, 40);
	free(p.copy);
}

struct fcollect {
	char paths[16][128];
	size_t sizes[16];
	int n;
};

static int fcollect_cb(const char *path, const struct pp_file *fl, void *arg)
{
	struct fcollect *c = arg;

	snprintf(c->paths[c->n], sizeof(c->paths[0]), "%s", path);
	c->sizes[c->n++] = fl->size;
	return PP_OK;
}

struct feach {
	const char *prefix;
	struct fcollect c;
};

static int file_each_fn(struct pp_txn *t, void *arg)
{
	struct feach *e = arg;

	e->c.n = 0;
	return pp_file_each(t, e->prefix, fcollect_cb, &e->c);
}

static void test_files(void **state)
{
	struct fx *f = *state;
	size_t big = 1 << 20;
	unsigned char *buf = malloc(big);
	char e0[40], e1[40], e2[40], e3[40], e4[40], e5[40];
	struct fput p = { .path = "Yealink/805ec0a1b2c3.cfg" };
	struct feach fe = { 0 };

	srand(42);
	for (size_t i = 0; i < big; i++)
		buf[i] = (unsigned char)rand();
	file_roundtrip(f, "empty.cfg", "", 0, 1, e0);
	file_roundtrip(f, "Yealink/805ec0a1b2c3.cfg", "#!version:1.0.0.1\n", 18,
		       1700000000123LL, e1);
	file_roundtrip(f, "Yealink/y000000000028.cfg", "#!version:1.0.0.1\n", 18, -5, e2);
	file_roundtrip(f, "big/firmware.rom", buf, big, 7, e3);
	buf[big - 1] ^= 1;
	file_roundtrip(f, "big/firmware2.rom", buf, big, 7, e4);
	file_roundtrip(f, "YealinkX/a", "x", 1, 0, e5);
	/* ETag: depends on the content only */
	assert_string_equal(e1, e2);
	assert_string_not_equal(e3, e4);
	assert_string_not_equal(e1, e3);
	/* prefix iteration, in path order */
	fe.prefix = "Yealink/";
	assert_int_equal(pp_store_read(f->st, file_each_fn, &fe), PP_OK);
	assert_int_equal(fe.c.n, 2);
	assert_string_equal(fe.c.paths[0], "Yealink/805ec0a1b2c3.cfg");
	assert_string_equal(fe.c.paths[1], "Yealink/y000000000028.cfg");
	fe.prefix = "big/";
	assert_int_equal(pp_store_read(f->st, file_each_fn, &fe), PP_OK);
	assert_int_equal(fe.c.n, 2);
	assert_int_equal(fe.c.sizes[0], big);
	fe.prefix = NULL;
	assert_int_equal(pp_store_read(f->st, file_each_fn, &fe), PP_OK);
	assert_int_equal(fe.c.n, 6);
	assert_string_equal(fe.c.paths[0], "Yealink/805ec0a1b2c3.cfg");
	assert_string_equal(fe.c.paths[5], "empty.cfg");
	fe.prefix = "zzz";
	assert_int_equal(pp_store_read(f->st, file_each_fn, &fe), PP_OK);
	assert_int_equal(fe.c.n, 0);
	/* delete */
	assert_int_equal(pp_store_write(f->st, file_del_fn, &p), PP_OK);
	assert_int_equal(pp_store_write(f->st, file_del_fn, &p), PP_ENOENT);
	assert_int_equal(pp_store_read(f->st, file_get_fn, &p), PP_ENOENT);
	/* bad keys */
	p.path = "";
	assert_int_equal(pp_store_write(f->st, file_put_fn, &p), PP_EINVAL);
	{
		char longp[600];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[sizeof(longp) - 1] = '\0';
		p.path = longp;
		p.data = "x";
		p.size = 1;
		assert_int_equal(pp_store_write(f->st, file_put_fn, &p), PP_EINVAL);
	}
	free(buf);
}

/* ETag hash: single-bit changes anywhere change it; lengths matter. */
static void test_etag_sensitivity(void **state)
{
	struct fx *f = *state;
	unsigned char buf[100];
	char seen[200][40];
	int n = 0;

	memset(buf, 0, sizeof(buf));
	for (size_t len = 0; len < 40; len++) {
		struct fput p = { .path = "h", .data = buf, .size = len };

		assert_int_equal(pp_store_write(f->st, file_put_fn, &p), PP_OK);
		assert_int_equal(pp_store_read(f->st, file_get_fn, &p), PP_OK);
		free(p.copy);
		memcpy(seen[n++], p.etag, 40);
	}
	for (size_t i = 0; i < 40; i += 3) {
		struct fput p = { .path = "h", .data = buf, .size = 40 };

		buf[i] = 0x80;
		assert_int_equal(pp_store_write(f->st, file_put_fn, &p), PP_OK);
		assert_int_equal(pp_store_read(f->st, file_get_fn, &p), PP_OK);
		free(p.copy);
		memcpy(seen[n++], p.etag, 40);
		buf[i] = 0;
	}
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			assert_string_not_equal(seen[i], seen[j]);
}

/* ---------- records and events ---------- */

struct logs {
	int kind; /* 0 records, 1 events */
	int count;
	uint64_t seqs[64];
	json_t *vals[64];
	int n;
	uint64_t since;
	size_t limit;
};

static int log_append_fn(struct pp_txn *t, void *arg)
{
	struct logs *l = arg;

	for (int i = 0; i < l->count; i++) {
		json_t *d = json_pack("{s:i,s:s}", "i", i, "who", "100");
		uint64_t seq;
		int rc = l->kind ? pp_event_append(t, "device.seen", d, &seq) :
			pp_rec_append(t, d, &seq);

		json_decref(d);
		if (rc != PP_OK)
			return rc;
		l->seqs[l->n++] = seq;
	}
	return PP_OK;
}

static int log_cb(uint64_t seq, json_t *val, void *arg)
{
	struct logs *l = arg;

	assert_int_equal(json_integer_value(json_object_get(val, "seq")), (json_int_t)seq);
	l->seqs[l->n] = seq;
	l->vals[l->n++] = json_incref(val);
	return PP_OK;
}

static int log_each_fn(struct pp_txn *t, void *arg)
{
	struct logs *l = arg;

	l->n = 0;
	return l->kind ? pp_event_each(t, l->since, l->limit, log_cb, l) :
		pp_rec_each(t, l->since, l->limit, log_cb, l);
}

static void logs_free(struct logs *l)
{
	for (int i = 0; i < l->n; i++)
		json_decref(l->vals[i]);
	l->n = 0;
}

static void check_log(struct fx *f, int kind)
{
	struct logs l = { .kind = kind, .count = 5 };
	int64_t now = pp_now_ms();

	assert_int_equal(pp_store_write(f->st, log_append_fn, &l), PP_OK);
	l.count = 3;
	assert_int_equal(pp_store_write(f->st, log_append_fn, &l), PP_OK);
	assert_int_equal(l.n, 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(l.seqs[i], (uint64_t)i + 1);
	/* all */
	assert_int_equal(pp_store_read(f->st, log_each_fn, &l), PP_OK);
	assert_int_equal(l.n, 8);
	for (int i = 0; i < 8; i++) {
		json_t *v = l.vals[i];
		json_int_t ts = json_integer_value(json_object_get(v, "ts"));

		assert_int_equal(l.seqs[i], (uint64_t)i + 1);
		assert_true(ts >= now - 1000 && ts <= pp_now_ms() + 1000);
		if (kind) {
			assert_string_equal(json_string_value(json_object_get(v, "type")),
					    "device.seen");
			assert_int_equal(json_integer_value(json_object_get(
				json_object_get(v, "data"), "i")), i < 5 ? i : i - 5);
			assert_int_equal(json_object_size(v), 4);
		} else {
			assert_int_equal(json_integer_value(json_object_get(v, "i")),
					 i < 5 ? i : i - 5);
		}
	}
	logs_free(&l);
	/* since / limit */
	l.since = 3;
	l.limit = 2;
	assert_int_equal(pp_store_read(f->st, log_each_fn, &l), PP_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.seqs[0], 4);
	assert_int_equal(l.seqs[1], 5);
	logs_free(&l);
	l.since = 7;
	l.limit = 0;
	assert_int_equal(pp_store_read(f->st, log_each_fn, &l), PP_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.seqs[0], 8);
	logs_free(&l);
	l.since = 8;
	assert_int_equal(pp_store_read(f->st, log_each_fn, &l), PP_OK);
	assert_int_equal(l.n, 0);
	l.since = UINT64_MAX;
	assert_int_equal(pp_store_read(f->st, log_each_fn, &l), PP_OK);
	assert_int_equal(l.n, 0);
}

static void test_records(void **state)
{
	check_log(*state, 0);
}

static void test_events(void **state)
{
	check_log(*state, 1);
}

static int rec_own_ts(struct pp_txn *t, void *arg)
{
	json_t *r = J("{\"ts\":12345,\"caller\":\"100\",\"seq\":999}");
	int rc = pp_rec_append(t, r, arg);

	json_decref(r);
	return rc;
}

static void test_records_keep_ts_and_bad_input(void **state)
{
	struct fx *f = *state;
	struct logs l = { .kind = 0 };
	uint64_t seq = 0;

	assert_int_equal(pp_store_write(f->st, rec_own_ts, &seq), PP_OK);
	assert_int_equal(seq, 1);
	assert_int_equal(pp_store_read(f->st, log_each_fn, &l), PP_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(json_integer_value(json_object_get(l.vals[0], "ts")), 12345);
	/* the store owns "seq" */
	assert_int_equal(json_integer_value(json_object_get(l.vals[0], "seq")), 1);
	logs_free(&l);
}

static int ev_cap_fn(struct pp_txn *t, void *arg)
{
	int *n = arg;

	for (int i = 0; i < *n; i++) {
		json_t *d = json_pack("{s:i}", "i", i);
		int rc = pp_event_append(t, "x", d, NULL);

		json_decref(d);
		if (rc)
			return rc;
	}
	return PP_OK;
}

static int ev_bad_fn(struct pp_txn *t, void *arg)
{
	(void)arg;
	return pp_event_append(t, "", NULL, NULL);
}

static void test_events_capped(void **state)
{
	(void)state;
	char *dir = tmp_store_dir();
	struct pp_store_opts o = { .events_max = 10 };
	struct pp_store *st;
	struct pp_err err;
	struct logs l = { .kind = 1 };
	int n = 7;

	assert_int_equal(pp_store_open_ex(dir, &o, &st, &err), PP_OK);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pp_store_write(st, ev_cap_fn, &n), PP_OK);
	assert_int_equal(pp_store_write(st, ev_bad_fn, NULL), PP_EINVAL);
	assert_int_equal(pp_store_read(st, log_each_fn, &l), PP_OK);
	/* 28 appended, the last 10 kept */
	assert_int_equal(l.n, 10);
	assert_int_equal(l.seqs[0], 19);
	assert_int_equal(l.seqs[9], 28);
	assert_true(json_is_null(json_object_get(l.vals[0], "data")) == 0);
	logs_free(&l);
	pp_store_close(st);
	/* sequence continues after reopening */
	assert_int_equal(pp_store_open_ex(dir, &o, &st, &err), PP_OK);
	n = 1;
	assert_int_equal(pp_store_write(st, ev_cap_fn, &n), PP_OK);
	l.since = 27;
	assert_int_equal(pp_store_read(st, log_each_fn, &l), PP_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.seqs[1], 29);
	logs_free(&l);
	pp_store_close(st);
	rm_store_dir(dir);
}

/* ---------- transactions ---------- */

static int write_in_read(struct pp_txn *t, void *arg)
{
	json_t *d = json_object();
	int rc = pp_dev_put(t, "00:00:00:00:00:01", d);

	(void)arg;
	json_decref(d);
	return rc;
}

static int put_then_fail(struct pp_txn *t, void *arg)
{
	json_t *d = json_object();

	(void)arg;
	assert_int_equal(pp_dev_put(t, "00:00:00:00:00:02", d), PP_OK);
	json_decref(d);
	return PP_EINVAL;
}

static int nested_write(struct pp_txn *t, void *arg)
{
	struct pp_store *st = arg;

	(void)t;
	return pp_store_write(st, write_in_read, NULL);
}

static int nested_read_dev(struct pp_txn *t, void *arg)
{
	json_t *d;

	(void)t;
	return pp_store_dev_get(arg, "00:00:00:00:00:01", &d) == PP_ENOENT ? PP_OK : PP_ERR;
}

static void test_txn_semantics(void **state)
{
	struct fx *f = *state;
	json_t *d;

	/* writes in a read txn are refused */
	assert_int_equal(pp_store_read(f->st, write_in_read, NULL), PP_EACCES);
	/* a failing callback aborts its txn */
	assert_int_equal(pp_store_write(f->st, put_then_fail, NULL), PP_EINVAL);
	assert_int_equal(pp_store_dev_get(f->st, "00:00:00:00:00:02", &d), PP_ENOENT);
	/* a write inside a write is refused, not a deadlock */
	assert_int_equal(pp_store_write(f->st, nested_write, f->st), PP_EBUSY);
	/* reads nest in reads and writes */
	assert_int_equal(pp_store_read(f->st, nested_read_dev, f->st), PP_OK);
	assert_int_equal(pp_store_write(f->st, nested_read_dev, f->st), PP_OK);
	/* a write inside a read works */
	assert_int_equal(pp_store_read(f->st, nested_write, f->st), PP_OK);
	assert_int_equal(pp_store_dev_get(f->st, "00:00:00:00:00:01", &d), PP_OK);
	json_decref(d);
}

static void test_open_twice_and_stat(void **state)
{
	struct fx *f = *state;
	struct pp_store *st2;
	struct pp_err err;
	json_t *s, *d = json_object();

	assert_int_equal(pp_store_open(f->dir, &st2, &err), PP_OK);
	assert_ptr_equal(st2, f->st);
	assert_int_equal(pp_store_dev_put(st2, "00:00:00:00:00:09", d), PP_OK);
	json_decref(d);
	pp_store_close(st2);
	/* the first handle still works */
	assert_int_equal(pp_store_stat(f->st, &s), PP_OK);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "dbs"), "devices")),
			 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "dbs"), "meta")),
			 1);
	assert_int_equal((size_t)json_integer_value(json_object_get(s, "mapsize")),
			 pp_store_mapsize(f->st));
	assert_true(pp_store_mapsize(f->st) >= (64u << 20));
	json_decref(s);
	/* opening a path that is a file fails cleanly */
	{
		char p[600];
		FILE *fp;

		snprintf(p, sizeof(p), "%s/data.mdb", f->dir);
		assert_int_equal(pp_store_open(p, &st2, &err), PP_EINVAL);
		assert_null(st2);
		assert_non_null(strstr(err.msg, "not a directory"));
		snprintf(p, sizeof(p), "%s/x/y/z", f->dir);
		assert_int_equal(pp_store_open(p, &st2, &err), PP_EIO);
		(void)fp;
	}
}

/* ---------- raw LMDB access (garbage, schema) ---------- */

static void raw_put(const char *dir, const char *db, const void *k, size_t kl, const void *v,
		    size_t vl)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val kv = { kl, (void *)k }, vv = { vl, (void *)v };

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_NOTLS, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, MDB_CREATE, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &kv, &vv, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void test_schema_newer_refused(void **state)
{
	(void)state;
	char *dir = tmp_store_dir();
	struct pp_store *st;
	struct pp_err err;

	assert_int_equal(pp_store_open(dir, &st, &err), PP_OK);
	pp_store_close(st);
	raw_put(dir, "meta", "schema", 6, "2", 1);
	assert_int_equal(pp_store_open(dir, &st, &err), PP_ENOTSUP);
	assert_null(st);
	assert_non_null(strstr(err.msg, "schema version 2 is newer"));
	raw_put(dir, "meta", "schema", 6, "x", 1);
	assert_int_equal(pp_store_open(dir, &st, &err), PP_EIO);
	assert_non_null(strstr(err.msg, "bad schema version"));
	raw_put(dir, "meta", "schema", 6, "1", 1);
	assert_int_equal(pp_store_open(dir, &st, &err), PP_OK);
	pp_store_close(st);
	rm_store_dir(dir);
}

static int count_dev(const char *mac, json_t *dev, void *arg)
{
	(void)mac;
	(void)dev;
	(*(int *)arg)++;
	return PP_OK;
}

static int count_devs_fn(struct pp_txn *t, void *arg)
{
	return pp_dev_each(t, NULL, count_dev, arg);
}

static int garbage_reads(struct pp_txn *t, void *arg)
{
	static const char *const macs[] = { "00:00:00:00:00:a1", "00:00:00:00:00:a2",
					    "00:00:00:00:00:a3", "00:00:00:00:00:a4",
					    "00:00:00:00:00:a5" };
	struct pp_file fl;
	char mac[18];
	json_t *j;

	(void)arg;
	for (size_t i = 0; i < PP_ARRAY_LEN(macs); i++) {
		assert_int_equal(pp_dev_get(t, macs[i], &j), PP_EIO);
		assert_null(j);
	}
	assert_int_equal(pp_cfg_get(t, "junk", &j), PP_EIO);
	assert_int_equal(pp_cfg_resolve(t, "junk", &j), PP_EIO);
	assert_int_equal(pp_cfg_resolve(t, "child-of-junk", &j), PP_EIO);
	assert_int_equal(pp_file_get(t, "short", &fl), PP_EIO);
	assert_int_equal(pp_file_get(t, "badver", &fl), PP_EIO);
	assert_int_equal(pp_file_get(t, "badhdr", &fl), PP_EIO);
	assert_int_equal(pp_ip2mac_get(t, "10.9.9.9", mac), PP_EIO);
	assert_int_equal(pp_ip2mac_get(t, "10.9.9.8", mac), PP_EIO);
	/* the good one is still fine */
	assert_int_equal(pp_dev_get(t, "00:00:00:00:00:01", &j), PP_OK);
	json_decref(j);
	return PP_OK;
}

static int ev_count_cb(uint64_t seq, json_t *v, void *arg)
{
	(void)seq;
	(void)v;
	(*(int *)arg)++;
	return PP_OK;
}

static int ev_count_fn(struct pp_txn *t, void *arg)
{
	return pp_event_each(t, 0, 0, ev_count_cb, arg);
}

static void test_garbage_values(void **state)
{
	(void)state;
	char *dir = tmp_store_dir();
	struct pp_store *st;
	struct pp_err err;
	json_t *d = json_object();
	unsigned char ev_key[8] = { 0, 0, 0, 0, 0, 0, 0, 5 };
	unsigned char hdr[40] = { 1, 1 };
	int n = 0;

	assert_int_equal(pp_store_open(dir, &st, &err), PP_OK);
	assert_int_equal(pp_store_dev_put(st, "00:00:00:00:00:01", d), PP_OK);
	json_decref(d);
	pp_store_close(st);
	raw_put(dir, "devices", "00:00:00:00:00:a1", 17, "", 0);
	raw_put(dir, "devices", "00:00:00:00:00:a2", 17, "\x02{}", 3);
	raw_put(dir, "devices", "00:00:00:00:00:a3", 17, "\x01{\"a\":", 6);
	raw_put(dir, "devices", "00:00:00:00:00:a4", 17, "\x01[1,2]", 6);
	raw_put(dir, "devices", "00:00:00:00:00:a5", 17, "\x01\xff\xfe\x00garbage", 11);
	raw_put(dir, "configs", "junk", 4, "{\"raw_config\":{}}", 17);
	raw_put(dir, "configs", "child-of-junk", 13, "\x01{\"parent_ids\":[\"junk\"]}", 25);
	raw_put(dir, "files", "short", 5, "\x01\x00\x00", 3);
	raw_put(dir, "files", "badver", 6, "\x07\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
		"\0\0\0\0\0\0\0\0", 32);
	raw_put(dir, "files", "badhdr", 6, hdr, sizeof(hdr));
	raw_put(dir, "ip2mac", "10.9.9.9", 8, "\x01zz:zz:zz:zz:zz:zz", 18);
	raw_put(dir, "ip2mac", "10.9.9.8", 8, "\x01", 1);
	raw_put(dir, "events", ev_key, 8, "\x01nope", 5);
	raw_put(dir, "records", "short", 5, "\x01{}", 3);

	assert_int_equal(pp_store_open(dir, &st, &err), PP_OK);
	assert_int_equal(pp_store_read(st, garbage_reads, NULL), PP_OK);
	/* iteration skips (and logs) undecodable entries */
	assert_int_equal(pp_store_read(st, count_devs_fn, &n), PP_OK);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(pp_store_read(st, ev_count_fn, &n), PP_OK);
	assert_int_equal(n, 0);
	{
		struct logs l = { .kind = 0 };

		assert_int_equal(pp_store_read(st, log_each_fn, &l), PP_OK);
		assert_int_equal(l.n, 0);
	}
	/* new appends get a sequence above the garbage entry */
	{
		struct logs l = { .kind = 1, .count = 1 };

		assert_int_equal(pp_store_write(st, log_append_fn, &l), PP_OK);
		assert_int_equal(l.seqs[0], 6);
	}
	/* garbage can be overwritten and deleted */
	d = json_pack("{s:s}", "ok", "yes");
	assert_int_equal(pp_store_dev_put(st, "00:00:00:00:00:a1", d), PP_OK);
	json_decref(d);
	assert_int_equal(pp_store_dev_get(st, "00:00:00:00:00:a1", &d), PP_OK);
	json_decref(d);
	assert_int_equal(pp_store_dev_del(st, "00:00:00:00:00:a2"), PP_OK);
	pp_store_close(st);
	rm_store_dir(dir);
}

/* ---------- map growth ---------- */

struct bulk {
	int from, count;
	size_t size;
};

static void fill(unsigned char *b, size_t n, int seed)
{
	uint32_t x = (uint32_t)seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x = x * 1664525u + 1013904223u;
		b[i] = (unsigned char)(x >> 24);
	}
}

static int bulk_put(struct pp_txn *t, void *arg)
{
	struct bulk *b = arg;
	unsigned char *buf = malloc(b->size);
	int rc = PP_OK;

	for (int i = b->from; i < b->from + b->count && rc == PP_OK; i++) {
		char path[64];

		snprintf(path, sizeof(path), "bulk/%06d", i);
		fill(buf, b->size, i);
		rc = pp_file_put(t, path, buf, b->size, i);
	}
	free(buf);
	return rc;
}

static int bulk_check(struct pp_txn *t, void *arg)
{
	struct bulk *b = arg;
	unsigned char *buf = malloc(b->size);

	for (int i = b->from; i < b->from + b->count; i++) {
		char path[64];
		struct pp_file fl;

		snprintf(path, sizeof(path), "bulk/%06d", i);
		fill(buf, b->size, i);
		assert_int_equal(pp_file_get(t, path, &fl), PP_OK);
		assert_int_equal(fl.size, b->size);
		assert_int_equal(fl.mtime_ms, i);
		assert_memory_equal(fl.data, buf, b->size);
	}
	free(buf);
	return PP_OK;
}

static void test_map_growth(void **state)
{
	(void)state;
	char *dir = tmp_store_dir();
	struct pp_store *st;
	struct pp_err err;
	struct bulk one = { 0, 40, 100000 }, many = { 40, 1, 30000 }, all = { 0, 0, 0 };
	size_t m0, m1;

	setenv("PP_STORE_INITIAL_MAPSIZE", "256K", 1);
	assert_int_equal(pp_store_open(dir, &st, &err), PP_OK);
	unsetenv("PP_STORE_INITIAL_MAPSIZE");
	m0 = pp_store_mapsize(st);
	assert_true(m0 >= (256u << 10) && m0 < (1u << 20));
	/* one txn far bigger than the map: grows and re-runs the callback */
	assert_int_equal(pp_store_write(st, bulk_put, &one), PP_OK);
	m1 = pp_store_mapsize(st);
	assert_true(m1 >= 4000000);
	/* many small txns */
	for (int i = 0; i < 200; i++) {
		many.from = 40 + i;
		assert_int_equal(pp_store_write(st, bulk_put, &many), PP_OK);
	}
	assert_true(pp_store_mapsize(st) > m1);
	assert_int_equal(pp_store_read(st, bulk_check, &one), PP_OK);
	many.from = 40;
	many.count = 200;
	assert_int_equal(pp_store_read(st, bulk_check, &many), PP_OK);
	pp_store_close(st);
	/* reopen with a tiny initial size: keeps the grown size, data intact */
	{
		struct pp_store_opts o = { .initial_mapsize = 1 << 16 };

		assert_int_equal(pp_store_open_ex(dir, &o, &st, &err), PP_OK);
	}
	assert_true(pp_store_mapsize(st) >= 10000000);
	assert_int_equal(pp_store_read(st, bulk_check, &one), PP_OK);
	assert_int_equal(pp_store_read(st, bulk_check, &many), PP_OK);
	pp_store_close(st);
	/* a hard maximum makes writes fail cleanly instead of growing forever */
	{
		char *d2 = tmp_store_dir();
		struct pp_store_opts o = { .initial_mapsize = 256 << 10,
					   .max_mapsize = 2 << 20 };
		struct bulk huge = { 0, 30, 100000 };

		assert_int_equal(pp_store_open_ex(d2, &o, &st, &err), PP_OK);
		assert_int_equal(pp_store_write(st, bulk_put, &huge), PP_EIO);
		assert_int_equal(pp_store_mapsize(st), 2 << 20);
		huge.count = 2;
		assert_int_equal(pp_store_write(st, bulk_put, &huge), PP_OK);
		assert_int_equal(pp_store_read(st, bulk_check, &huge), PP_OK);
		pp_store_close(st);
		rm_store_dir(d2);
	}
	(void)all;
	rm_store_dir(dir);
}

/* ---------- threads ---------- */

#define NWRITERS 4
#define NREADERS 4
#define PER_WRITER 150

struct thr {
	struct pp_store *st;
	int id;
	int errors;
	int reads;
};

static int check_dev(const char *mac, json_t *dev, void *arg)
{
	struct thr *t = arg;
	const char *m = json_string_value(json_object_get(dev, "mac"));
	const char *pad = json_string_value(json_object_get(dev, "pad"));

	if (!m || strcmp(m, mac) != 0 || !pad ||
	    strlen(pad) != (size_t)json_integer_value(json_object_get(dev, "padlen")))
		t->errors++;
	t->reads++;
	return PP_OK;
}

static int reader_fn(struct pp_txn *txn, void *arg)
{
	return pp_dev_each(txn, NULL, check_dev, arg);
}

static atomic_int writers_left;

static void *reader(void *arg)
{
	struct thr *t = arg;

	for (int i = 0; i < 20 || atomic_load(&writers_left) > 0; i++)
		if (pp_store_read(t->st, reader_fn, t) != PP_OK)
			t->errors++;
	return NULL;
}

static void *writer(void *arg)
{
	struct thr *t = arg;
	char pad[3001];

	memset(pad, 'p', sizeof(pad) - 1);
	for (int i = 0; i < PER_WRITER; i++) {
		char mac[18];
		size_t padlen = (size_t)(i * 37 + t->id * 11) % 3000;
		json_t *d;

		snprintf(mac, sizeof(mac), "02:00:00:%02x:%02x:%02x", t->id, i >> 8, i & 255);
		pad[padlen] = '\0';
		d = json_pack("{s:s,s:s,s:i,s:i}", "mac", mac, "pad", pad, "padlen", (int)padlen,
			      "writer", t->id);
		pad[padlen] = 'p';
		if (pp_store_dev_put(t->st, mac, d) != PP_OK)
			t->errors++;
		json_decref(d);
		if (i % 10 == 0) {
			json_t *e = json_pack("{s:s}", "mac", mac);
			struct logs l = { .kind = 1, .count = 1 };

			(void)e;
			json_decref(e);
			if (pp_store_write(t->st, log_append_fn, &l) != PP_OK)
				t->errors++;
		}
	}
	atomic_fetch_sub(&writers_left, 1);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	char *dir = tmp_store_dir();
	struct pp_store_opts o = { .initial_mapsize = 256 << 10 };
	struct pp_store *st;
	struct pp_err err;
	pthread_t th[NWRITERS + NREADERS];
	struct thr ts[NWRITERS + NREADERS];
	int n = 0, reads = 0;

	assert_int_equal(pp_store_open_ex(dir, &o, &st, &err), PP_OK);
	atomic_store(&writers_left, NWRITERS);
	for (int i = 0; i < NWRITERS + NREADERS; i++) {
		ts[i] = (struct thr){ .st = st, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, i < NWRITERS ? writer : reader,
						&ts[i]), 0);
	}
	for (int i = 0; i < NWRITERS + NREADERS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(ts[i].errors, 0);
		reads += ts[i].reads;
	}
	assert_int_equal(pp_store_read(st, count_devs_fn, &n), PP_OK);
	assert_int_equal(n, NWRITERS * PER_WRITER);
	{
		struct thr chk = { .st = st };

		assert_int_equal(pp_store_read(st, reader_fn, &chk), PP_OK);
		assert_int_equal(chk.errors, 0);
		assert_int_equal(chk.reads, NWRITERS * PER_WRITER);
	}
	/* the map had to grow while threads were reading */
	assert_true(pp_store_mapsize(st) > (256u << 10));
	print_message("# threads: %d device reads checked, mapsize %zu\n", reads,
		      pp_store_mapsize(st));
	pp_store_close(st);
	rm_store_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dev_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dev_each, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ip2mac, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cfg_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cfg_inherit_multilevel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cfg_inherit_parents_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cfg_inherit_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cfg_inherit_ladder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_etag_sensitivity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records_keep_ts_and_bad_input, setup, teardown),
		cmocka_unit_test(test_events_capped),
		cmocka_unit_test_setup_teardown(test_txn_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_twice_and_stat, setup, teardown),
		cmocka_unit_test(test_schema_newer_refused),
		cmocka_unit_test(test_garbage_values),
		cmocka_unit_test(test_map_growth),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
