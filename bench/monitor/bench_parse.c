/* Micro benchmark of the two halves of a monitor, without sockets:
 *   parse  records/s through pp_mon_parser_feed (framing, regex, fields, JSON)
 *   store  records/s through pp_rec_store in batches (one LMDB write
 *          transaction per batch: records + `record` events)
 * Usage: bench-monitor-parse [N] (default 200000). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/monitor/records.h"
#include "daemon/plugin/monitor_int.h"
#include "daemon/store/store.h"
#include "lib/common.h"

static const char *yaml =
	"monitors:\n  - name: tcp\n    transport: tcp\n    parse:\n"
	"      - regex: '^(?<dir>[IO]),(?<num>[^,]*),(?<ext>[^,]*),(?<secs>\\d+),(?<id>\\w+)$'\n"
	"    record:\n"
	"      direction: { value: \"{{dir}}\", map: { I: incoming, O: outgoing } }\n"
	"      number: \"{{num}}\"\n      ext: \"{{ext}}\"\n      duration_s: \"{{secs}}\"\n"
	"      account: \"{{id}}\"\n";

struct vec {
	json_t **v;
	size_t n, cap;
};

static int keep(json_t *rec, void *arg)
{
	struct vec *v = arg;

	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 1024;
		v->v = realloc(v->v, v->cap * sizeof(*v->v));
	}
	v->v[v->n++] = rec;
	return 0;
}

static double now_s(void)
{
	return (double)pp_mono_ns() / 1e9;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000, batch = 4096;
	struct pp_err err = { 0 };
	struct pp_ydoc *doc = NULL;
	struct pp_mon_set *set = NULL;
	struct pp_mon_parser *p = NULL;
	struct pp_store *st = NULL;
	struct pp_buf in = { 0 };
	struct vec v = { 0 };
	char dir[64];
	double t0, t1;

	if (pp_yaml_load_buf("bench.yml", yaml, strlen(yaml), &doc, &err) ||
	    pp_mon_set_load("bench", pp_ymap_get(doc->root, "monitors"), NULL, NULL, true, &set,
			    &err) || pp_mon_parser_new(pp_mon_set_at(set, 0), &p)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		pp_buf_printf(&in, "O,0301%07zu,2%02zu,%zu,r%zu\r\n", i, i % 100, i % 3600, i);
	t0 = now_s();
	for (size_t off = 0; off < in.len; off += 65536)
		pp_mon_parser_feed(p, in.data + off, in.len - off < 65536 ? in.len - off : 65536,
				   keep, &v);
	t1 = now_s();
	printf("parse: %zu records in %.3f s = %.0f records/s\n", v.n, t1 - t0, v.n / (t1 - t0));

	snprintf(dir, sizeof(dir), "/tmp/pp-benchmon-XXXXXX");
	if (!mkdtemp(dir) || pp_store_open(dir, &st, &err)) {
		fprintf(stderr, "store: %s\n", err.msg);
		return 1;
	}
	t0 = now_s();
	for (size_t off = 0; off < v.n; off += batch)
		if (pp_rec_store(st, v.v + off, v.n - off < batch ? v.n - off : batch, NULL)) {
			fprintf(stderr, "store failed\n");
			return 1;
		}
	t1 = now_s();
	printf("store: %zu records in %.3f s = %.0f records/s (batches of %zu)\n", v.n, t1 - t0,
	       v.n / (t1 - t0), batch);
	t0 = now_s();
	for (size_t i = 0; i < 200 && i < v.n; i++)
		pp_rec_store(st, v.v + i, 1, NULL);
	t1 = now_s();
	printf("store: one record per transaction: %.2f ms per commit\n", (t1 - t0) / 200 * 1000);
	pp_store_close(st);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		(void)!system(cmd);
	}
	for (size_t i = 0; i < v.n; i++)
		json_decref(v.v[i]);
	free(v.v);
	pp_buf_free(&in);
	pp_mon_parser_free(p);
	pp_mon_set_free(set);
	pp_ydoc_free(doc);
	return 0;
}
