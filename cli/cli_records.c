/* `phoneprov records`: call records from the store, with the filters of
 * GET /api/v1/records, as lines, JSON or CSV, and --follow to stream new
 * ones as the daemon stores them (the CLI reads the same LMDB). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "daemon/monitor/records.h"
#include "daemon/store/store.h"

#define FOLLOW_POLL_MS 100

static volatile sig_atomic_t follow_stop;

static void on_signal(int sig)
{
	(void)sig;
	follow_stop = 1;
}

enum out_fmt { OUT_LINES, OUT_JSON, OUT_CSV };

struct rec_out {
	enum out_fmt fmt;
	bool follow;
	json_t *arr;       /* OUT_JSON, not following */
	struct pp_buf csv;
	size_t count;
};

static int print_cb(uint64_t seq, json_t *rec, void *arg)
{
	struct rec_out *o = arg;
	char *s;

	o->count++;
	switch (o->fmt) {
	case OUT_CSV:
		pp_buf_reset(&o->csv);
		pp_rec_csv_row(&o->csv, seq, rec);
		fwrite(o->csv.data, 1, o->csv.len, stdout);
		return PP_OK;
	case OUT_JSON:
		if (!o->follow) {
			json_t *c = json_deep_copy(rec);

			if (!c)
				return PP_ENOMEM;
			json_object_set_new(c, "seq", json_integer((json_int_t)seq));
			return json_array_append_new(o->arr, c) ? PP_ENOMEM : PP_OK;
		}
		/* --follow --json: one JSON object per line */
		s = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
		printf("%s\n", s ? s : "{}");
		free(s);
		return PP_OK;
	case OUT_LINES:
		s = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		printf("%llu %s\n", (unsigned long long)seq, s ? s : "?");
		free(s);
		return PP_OK;
	}
	return PP_OK;
}

struct q {
	struct pp_rec_filter *f;
	size_t limit;
	struct rec_out *o;
	uint64_t last;
};

static int query_txn(struct pp_txn *t, void *arg)
{
	struct q *q = arg;

	return pp_rec_query(t, q->f, q->limit, print_cb, q->o, &q->last);
}

static int exists_cb(uint64_t seq, json_t *v, void *arg)
{
	(void)seq;
	(void)v;
	*(bool *)arg = true;
	return PP_OK;
}

/* The newest seq: a binary search with one cursor seek per probe. */
static int last_txn(struct pp_txn *t, void *arg)
{
	uint64_t lo = 0, hi = (uint64_t)1 << 62;
	int rc;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		bool any = false;

		if ((rc = pp_rec_each(t, mid, 1, exists_cb, &any)) != PP_OK)
			return rc;
		if (any)
			lo = mid + 1;
		else
			hi = mid;
	}
	*(uint64_t *)arg = lo;
	return PP_OK;
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "phoneprov records: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'phoneprov records --help'.\n");
	return 2;
}

static void help(void)
{
	printf("Usage: phoneprov [-c FILE] [--json] records [OPTIONS]\n"
	       "List the call records of the monitors (oldest first), or stream new ones.\n"
	       "  --since SEQ        records with a sequence number above SEQ (default 0)\n"
	       "  --limit N          at most N records (default 100, 0 = no limit)\n"
	       "  --monitor M        of monitor M (\"plugin/name\") or of plugin M\n"
	       "  --number N         whose number is N ('*' and '?' match any text / character)\n"
	       "  --ext E            whose extension is E (same patterns)\n"
	       "  --direction D      incoming, outgoing, internal, missed (comma-separated)\n"
	       "  --from T, --to T   whose call started in [from, to): 2024-06-28,\n"
	       "                     2024-06-28T09:30[:00][Z|+01:00] or epoch seconds\n"
	       "  --parsed BOOL      only records that parsed (true) or did not (false)\n"
	       "  --csv              CSV with a header line (RFC 4180)\n"
	       "  --follow, -f       keep running and print new records as they are stored\n"
	       "                     (from the newest unless --since; --limit is ignored)\n"
	       "Output: one line per record 'SEQ JSON'; --json: a JSON array (with --follow,\n"
	       "one JSON object per line).\n");
}

int pp_cmd_records(struct pp_cli *c, int argc, char **argv)
{
	struct rec_out o = { .fmt = c->json ? OUT_JSON : OUT_LINES };
	struct pp_rec_filter f;
	struct q q = { .f = &f, .limit = 100, .o = &o };
	bool since_given = false;
	char why[200];
	int rc = 0;

	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ "monitor", required_argument, NULL, 'm' },
		{ "number", required_argument, NULL, 'n' },
		{ "ext", required_argument, NULL, 'e' },
		{ "direction", required_argument, NULL, 'd' },
		{ "from", required_argument, NULL, 'F' },
		{ "to", required_argument, NULL, 'T' },
		{ "parsed", required_argument, NULL, 'p' },
		{ "csv", no_argument, NULL, 'c' },
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	pp_rec_filter_init(&f);
	/* --opt=value and --opt value alike (getopt_long) */
	while ((opt = pp_cli_getopt("records", argc, argv, "hf", opts)) != -1) {
		const char *name = NULL;

		switch (opt) {
		case 'h':
			help();
			pp_rec_filter_free(&f);
			return 0;
		case 'f':
			o.follow = true;
			continue;
		case 'c':
			o.fmt = OUT_CSV;
			continue;
		case 'l': {
			char *end;
			unsigned long long v;

			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (!*optarg || *end || errno || v > 100000000 || *optarg == '-') {
				pp_rec_filter_free(&f);
				return usage_error("--limit needs a number, not '%s'", optarg);
			}
			q.limit = (size_t)v;
			continue;
		}
		case PP_CLI_BADOPT:
			pp_rec_filter_free(&f);
			return 2;
		default:
			for (size_t k = 0; opts[k].name; k++)
				if (opts[k].val == opt)
					name = opts[k].name;
		}
		if (!name) {
			pp_rec_filter_free(&f);
			return 2;
		}
		rc = pp_rec_filter_set(&f, name, optarg, why, sizeof(why));
		if (rc != PP_OK) {
			pp_rec_filter_free(&f);
			fprintf(stderr, "phoneprov records: %s\n", why);
			return 2;
		}
		since_given |= opt == 's';
	}
	if (optind < argc) {
		pp_rec_filter_free(&f);
		return usage_error("unexpected argument '%s'", argv[optind]);
	}
	if (pp_cli_open_daemon(c)) {
		pp_rec_filter_free(&f);
		return 1;
	}
	if (o.fmt == OUT_JSON && !o.follow && !(o.arr = json_array())) {
		pp_rec_filter_free(&f);
		return 1;
	}
	if (o.fmt == OUT_CSV) {
		pp_rec_csv_header(&o.csv);
		fwrite(o.csv.data, 1, o.csv.len, stdout);
	}
	if (!o.follow) {
		rc = pp_store_read(c->d.store, query_txn, &q);
	} else {
		struct sigaction sa = { 0 };

		sa.sa_handler = on_signal; /* no SA_RESTART: the sleep below ends */
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		q.limit = 0;
		if (!since_given)
			rc = pp_store_read(c->d.store, last_txn, &f.since);
		fflush(stdout);
		while (rc == PP_OK && !follow_stop) {
			struct timespec ts = { 0, FOLLOW_POLL_MS * 1000000L };

			q.last = f.since;
			rc = pp_store_read(c->d.store, query_txn, &q);
			f.since = q.last;
			if (fflush(stdout) != 0 || ferror(stdout))
				break;
			if (!follow_stop)
				nanosleep(&ts, NULL);
		}
	}
	if (rc != PP_OK) {
		fprintf(stderr, "phoneprov records: %s\n", pp_strerror(rc));
		json_decref(o.arr);
		pp_buf_free(&o.csv);
		pp_rec_filter_free(&f);
		return 1;
	}
	if (o.arr) {
		json_dumpf(o.arr, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(o.arr);
	}
	pp_buf_free(&o.csv);
	pp_rec_filter_free(&f);
	return 0;
}
