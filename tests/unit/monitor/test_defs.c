/* Monitor definitions and the parser, without I/O:
 *  - plugin.yml `monitors:` errors name FILE:LINE:COL and what is wrong;
 *  - phoneprov.yml overrides (plugin-wide, per monitor), checked, with the
 *    position of a bad value in the config file;
 *  - a monitor-only plugin (no models, files or rules) loads and is never
 *    associated to a phone;
 *  - framing: CR, LF, CRLF, pieces, fixed length, blocks, over-long lines,
 *    the incomplete last record on flush; ISO-8859-1 bytes become UTF-8;
 *  - fields: templates, maps, rules, durations, times, unparsed records;
 *  - serial line settings (termios) of the monitor runtime;
 *  - records stored in batches read back as single appends would write them.
 * cmocka: one test per group; every check of a group runs and each failed
 * one is printed with what it checks (ok() below), then the group fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/config/config.h"
#include "daemon/monitor/mon_int.h"
#include "daemon/monitor/records.h"
#include "daemon/plugin/monitor_int.h"
#include "daemon/plugin/plugin_int.h"
#include "daemon/store/store.h"
#include "lib/yamltree.h"

static int n_check, n_fail;
static char tmp[64];

/* A check of the current group: counted; printed when it fails. */
static void ok(bool cond, const char *fmt, ...) CMOCKA_PRINTF_ATTRIBUTE(2, 3);
static void ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	n_check++;
	if (cond)
		return;
	n_fail++;
	print_error("check failed: ");
	va_start(ap, fmt);
	vprint_error(fmt, ap);
	va_end(ap);
	print_error("\n");
}

static void put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

/* Load `monitors:` from YAML text; settings JSON (may be NULL). */
static int load(const char *yaml, const char *settings, const char *cfg_path,
		struct pp_mon_set **out, struct pp_err *err)
{
	struct pp_ydoc *doc = NULL;
	json_t *set = settings ? json_loads(settings, 0, NULL) : NULL;
	int rc;

	*out = NULL;
	rc = pp_yaml_load_buf("plugin.yml", yaml, strlen(yaml), &doc, err);
	if (rc == PP_OK)
		rc = pp_mon_set_load("tp", pp_ymap_get(doc->root, "monitors"), set, cfg_path, false,
				     out, err);
	pp_ydoc_free(doc);
	json_decref(set);
	return rc;
}

#define BASE "monitors:\n  - name: m\n    transport: tcp\n    parse:\n      - regex: '(?<a>\\d+)'\n" \
	     "    record:\n      number: \"{{a}}\"\n"

static void bad_yaml(void)
{
	static const struct {
		const char *yaml, *want;
	} t[] = {
		{ "monitors: {}\n", "plugin.yml:1:11: monitors must be a list" },
		{ "monitors:\n  - transport: tcp\n", "missing required key 'name'" },
		{ "monitors:\n  - name: Bad\n", "plugin.yml:2:11: monitor name 'Bad' must match" },
		{ "monitors:\n  - name: m\n    parse: []\n", "missing required key 'transport'" },
		{ "monitors:\n  - name: m\n    transport: udp\n",
		  "plugin.yml:3:16: transport must be one of serial, tcp, tcp-listen" },
		{ BASE "    colour: red\n", "plugin.yml:8:5: unknown key 'colour' in monitor" },
		{ BASE "    port: 70000\n", "plugin.yml:8:11: port must be between 1 and 65535" },
		{ BASE "    host: pbx.example\n", "host: 'pbx.example' is not a numeric" },
		{ BASE "    baud: 12345\n", "plugin.yml:8:11: baud: unsupported speed 12345" },
		{ BASE "    parity: sometimes\n", "parity must be one of none, even, odd, mark, space" },
		{ BASE "    timeout: fast\n", "plugin.yml:8:14: timeout must be a number" },
		{ BASE "    timeout: 20\n    max_timeout: 5\n", "max_timeout (5) is below timeout (20)" },
		{ BASE "    framing: fixed\n", "framing: fixed needs record_length" },
		{ BASE "    framing: words\n", "framing must be line, fixed or block" },
		{ BASE "    listen: nowhere\n", "listen: 'nowhere': must be ADDRESS:PORT" },
		{ "monitors:\n  - name: m\n    transport: tcp\n    parse:\n      - regex: '(?<a>\\d+'\n"
		  "    record: { number: \"{{a}}\" }\n", "plugin.yml:5:25: regex: missing closing parenthesis" },
		{ "monitors:\n  - name: m\n    transport: tcp\n    parse:\n      - regex: '\\d+'\n"
		  "    record: { number: x }\n", "regex: use named groups" },
		{ "monitors:\n  - name: m\n    transport: tcp\n    parse:\n      - regex: '(?<a>.)'\n"
		  "        csv: { fields: [b] }\n    record: { number: x }\n",
		  "exactly one of regex, columns, csv, keyvalue" },
		{ "monitors:\n  - name: m\n    transport: tcp\n    parse:\n      - columns: { a: 9-3 }\n"
		  "    record: { number: x }\n", "plugin.yml:5:23: columns: '9-3' must be FIRST-LAST" },
		{ "monitors:\n  - name: m\n    transport: tcp\n    parse:\n      - regex: '(?<a>.)'\n"
		  "    record: { number: \"{{b}}\" }\n", "no parse step gives a capture 'b'" },
		{ "monitors:\n  - name: m\n    transport: tcp\n    parse:\n      - regex: '(?<a>.)'\n"
		  "    record: { colour: x }\n", "plugin.yml:6:15: record: unknown field 'colour'" },
		{ "monitors:\n  - name: m\n    transport: tcp\n    parse:\n      - regex: '(?<a>.)'\n"
		  "    record: { start: { value: \"{{a}}\", format: \"%Q\" } }\n",
		  "format: unknown directive '%Q'" },
		{ "monitors:\n  - name: m\n    transport: tcp\n    parse:\n      - regex: '(?<a>.)'\n"
		  "    record: { number: \"{{a}}\" }\n    rules:\n      - when: { zz: x }\n"
		  "        set: { direction: missed }\n",
		  "plugin.yml:8:17: when: 'zz' is neither a record field nor a capture" },
		{ "monitors:\n  - name: m\n    transport: tcp\n    parse:\n      - regex: '(?<a>.)'\n"
		  "    record: { number: \"{{a}}\" }\n    login:\n      - send: \"{{user}}\"\n",
		  "'user' is not declared in vars:" },
		{ BASE "  - name: m\n    transport: tcp\n    parse:\n      - regex: '(?<a>\\d+)'\n"
		  "    record:\n      number: \"{{a}}\"\n", "monitors: duplicate name 'm'" },
		{ "monitors:\n  - name: m\n    transport: tcp\n    parse:\n      - on: nope\n"
		  "        regex: '(?<a>.)'\n    record: { number: x }\n",
		  "on: no earlier step gives a capture 'nope'" },
	};

	for (size_t i = 0; i < PP_ARRAY_LEN(t); i++) {
		struct pp_mon_set *s = NULL;
		struct pp_err err = { 0 };
		int rc = load(t[i].yaml, NULL, NULL, &s, &err);

		ok(rc == PP_EINVAL && strstr(err.msg, t[i].want) && !s, "bad plugin.yml %zu: %s",
		   i + 1, rc == PP_EINVAL ? err.msg : "accepted");
		if (!strstr(err.msg, t[i].want))
			print_error("# want: %s\n", t[i].want);
		pp_mon_set_free(s);
	}
}

static void settings(void)
{
	struct pp_mon_set *s = NULL;
	struct pp_err err = { 0 };
	char cfg[128];
	struct pp_mon_def *d;
	int rc;

	/* plugin-wide keys, then monitors.<name>; vars too */
	rc = load(BASE "    vars: { user: \"\" }\n",
		  "{\"host\": \"10.1.2.3\", \"port\": 99, \"user\": \"bob\", \"unrelated\": 1,"
		  " \"monitors\": {\"m\": {\"port\": 2001, \"timeout\": 0.25}}}", NULL, &s, &err);
	ok(rc == PP_OK, "settings: plugin-wide and per-monitor keys accepted (%s)", err.msg);
	d = pp_mon_set_at(s, 0);
	ok(d && !strcmp(pp_mon_def_id(d), "tp/m"), "settings: id is plugin/name");
	pp_mon_set_free(s);

	snprintf(cfg, sizeof(cfg), "%s/phoneprov.yml", tmp);
	put("phoneprov.yml", "plugins:\n  settings:\n    tp:\n      monitors:\n        m:\n"
			     "          port: \"x\"\n          colour: red\n");
	rc = load(BASE, "{\"monitors\": {\"m\": {\"port\": \"x\"}}}", cfg, &s, &err);
	ok(rc == PP_EINVAL && strstr(err.msg, "phoneprov.yml:6:17: plugins.settings.tp.monitors.m.port:"
				     " must be an integer"),
	   "settings: bad type names the config position (%s)", err.msg);
	rc = load(BASE, "{\"monitors\": {\"m\": {\"colour\": \"red\"}}}", cfg, &s, &err);
	ok(rc == PP_EINVAL && strstr(err.msg, "phoneprov.yml:7:19: plugins.settings.tp.monitors.m.colour:"
				     " unknown key"),
	   "settings: unknown per-monitor key refused at its position (%s)", err.msg);
	rc = load(BASE, "{\"monitors\": {\"other\": {}}}", cfg, &s, &err);
	ok(rc == PP_EINVAL && strstr(err.msg, "has no monitor named 'other'"),
	   "settings: a monitor that does not exist is refused (%s)", err.msg);
	rc = load(BASE, "{\"host\": \"pbx\"}", NULL, &s, &err);
	ok(rc == PP_EINVAL && strstr(err.msg, "plugins.settings.tp.host: 'pbx' is not a numeric"),
	   "settings: host must be numeric (%s)", err.msg);
	rc = load(BASE, "{\"transport\": \"serial\", \"baud\": 19200, \"parity\": \"even\","
		  " \"data_bits\": 7, \"device\": \"/dev/null\"}", NULL, &s, &err);
	ok(rc == PP_OK, "settings: transport switched to serial with line settings (%s)", err.msg);
	pp_mon_set_free(s);
	rc = load(BASE, "{\"parity\": \"maybe\"}", NULL, &s, &err);
	ok(rc == PP_EINVAL && strstr(err.msg, "parity: must be one of none"),
	   "settings: parity checked (%s)", err.msg);
}

static void monitor_only_plugin(void)
{
	struct pp_config *c = pp_config_defaults(tmp);
	struct pp_registry *r = NULL;
	struct pp_err err = { 0 };
	struct pp_devinfo di;
	char path[128];
	int rc;

	snprintf(path, sizeof(path), "%s/mo", tmp);
	mkdir(path, 0700);
	put("mo/plugin.yml", "name: mo\nversion: \"1.0\"\ndescription: monitors only\nvendor: ACME\n"
			     BASE);
	free(c->plugins.dir);
	c->plugins.dir = strdup(tmp);
	rc = pp_registry_load(c, &r, &err);
	ok(rc == PP_OK && pp_registry_count(r) == 1, "monitor-only plugin loads (%s)", err.msg);
	if (rc == PP_OK) {
		const struct pp_plugin *p = pp_registry_at(r, 0);

		ok(pp_plugin_monitor_count(p) == 1 && !pp_priv(p)->n_models &&
		   !pp_priv(p)->n_files, "monitor-only plugin: one monitor, no models, no files");
		pp_devinfo_init(&di);
		strcpy(di.f[PP_F_VENDOR], "ACME");
		strcpy(di.f[PP_F_MODEL], "X1");
		ok(pp_associate(r, &di, NULL) == -1,
		   "monitor-only plugin is never associated, even on its vendor");
	}
	pp_registry_free(r);
	pp_config_free(c);
}

/* ---- parser ---------------------------------------------------------------- */

static int collect(json_t *rec, void *arg)
{
	json_array_append_new(arg, rec);
	return 0;
}

static struct pp_mon_def *def_of(const char *yaml, struct pp_mon_set **s)
{
	struct pp_err err = { 0 };

	if (load(yaml, NULL, NULL, s, &err) != PP_OK) {
		print_error("# %s\n", err.msg);
		return NULL;
	}
	return pp_mon_set_at(*s, 0);
}

static const char *sval(json_t *arr, size_t i, const char *k)
{
	const char *v = json_string_value(json_object_get(json_array_get(arr, i), k));

	return v ? v : "(none)";
}

static void framing(void)
{
	struct pp_mon_set *s = NULL;
	struct pp_mon_def *d = def_of(BASE "    ignore: ['^#']\n", &s);
	struct pp_mon_parser *p = NULL;
	json_t *got = json_array();
	static const char pieces[][8] = { "1", "2\r", "\n3\n", "\r4", "\r\n", "#9\n", "  \n", "56" };

	ok(d && pp_mon_parser_new(d, &p) == PP_OK, "line parser");
	for (size_t i = 0; p && i < PP_ARRAY_LEN(pieces); i++)
		pp_mon_parser_feed(p, pieces[i], strlen(pieces[i]), collect, got);
	ok(json_array_size(got) == 3 && !strcmp(sval(got, 0, "number"), "12") &&
	   !strcmp(sval(got, 1, "number"), "3") && !strcmp(sval(got, 2, "number"), "4"),
	   "CRLF, LF, CR, split reads, ignored and blank lines (%zu records)", json_array_size(got));
	ok(p && pp_mon_parser_pending(p) == 2, "incomplete line kept");
	pp_mon_parser_flush(p, collect, got);
	ok(json_array_size(got) == 4 && !strcmp(sval(got, 3, "number"), "56"),
	   "flush parses the last record without its terminator");
	json_array_clear(got);
	{
		char big[5000];

		memset(big, '7', sizeof(big));
		pp_mon_parser_feed(p, big, sizeof(big), collect, got);
		pp_mon_parser_feed(p, "8\n9\n", 4, collect, got);
	}
	ok(json_array_size(got) == 2 && json_is_false(json_object_get(json_array_get(got, 0),
								    "parsed")) &&
	   strstr(sval(got, 0, "error"), "max_record") && strlen(sval(got, 0, "raw")) == 4096 &&
	   !strcmp(sval(got, 1, "number"), "9"),
	   "over-long line: kept raw (cut at max_record), the rest skipped, next line parsed");
	json_array_clear(got);
	pp_mon_parser_feed(p, "\xe9t\xe9 12\0003\n", 9, collect, got);
	ok(json_array_size(got) == 1 && !strcmp(sval(got, 0, "raw"), "\xc3\xa9t\xc3\xa9 123") &&
	   !strcmp(sval(got, 0, "number"), "123"), "ISO-8859-1 bytes become UTF-8, NUL dropped (%s)",
	   sval(got, 0, "raw"));
	pp_mon_parser_free(p);
	pp_mon_set_free(s);

	d = def_of("monitors:\n  - name: f\n    transport: serial\n    framing: fixed\n"
		   "    record_length: 6\n    parse:\n      - columns: { a: 1-3, b: 4-6 }\n"
		   "    record: { number: \"{{a}}\", ext: \"{{b}}\" }\n", &s);
	json_array_clear(got);
	if (d && pp_mon_parser_new(d, &p) == PP_OK) {
		pp_mon_parser_feed(p, "123456ab", 8, collect, got);
		pp_mon_parser_feed(p, "cdefXY", 6, collect, got);
		pp_mon_parser_free(p);
	}
	ok(json_array_size(got) == 2 && !strcmp(sval(got, 0, "number"), "123") &&
	   !strcmp(sval(got, 1, "ext"), "def") && !strcmp(sval(got, 1, "number"), "abc"),
	   "fixed-length framing across reads");
	pp_mon_set_free(s);

	d = def_of("monitors:\n  - name: b\n    transport: tcp\n    framing: block\n"
		   "    select: '(?m)^Event: X$'\n    parse:\n      - keyvalue: {}\n"
		   "    record: { number: \"{{Num}}\", ext: \"{{ext-no}}\" }\n", &s);
	json_array_clear(got);
	if (d && pp_mon_parser_new(d, &p) == PP_OK) {
		const char *in = "\r\n\r\nEvent: X\r\nNum: 42\r\next-no:  7 \r\n\r\nEvent: Y\r\nNum: 1"
				 "\r\n\r\nEvent: X\nNUM: 43\n\nEvent: X\r\nNum: 44";

		for (const char *c = in; *c; c++) /* one byte at a time */
			pp_mon_parser_feed(p, c, 1, collect, got);
		ok(json_array_size(got) == 2, "blocks end at an empty line, unselected dropped");
		pp_mon_parser_flush(p, collect, got);
		pp_mon_parser_free(p);
	}
	ok(json_array_size(got) == 3 && !strcmp(sval(got, 0, "number"), "42") &&
	   !strcmp(sval(got, 0, "ext"), "7") && !strcmp(sval(got, 1, "number"), "43") &&
	   !strcmp(sval(got, 2, "number"), "44"),
	   "keyvalue (case-insensitive keys), LF or CRLF, last block flushed");
	pp_mon_set_free(s);
	json_decref(got);
}

static void fields(void)
{
	static const char *yaml =
		"monitors:\n  - name: f\n    transport: tcp\n    parse:\n"
		"      - csv: { fields: [when, dur, ring, dir, num, code] }\n"
		"    record:\n"
		"      start: { value: \"{{when}}\", format: \"%d.%m.%Y %I:%M%p\", end_of_call: true }\n"
		"      duration_s: \"{{dur}}\"\n      ring_s: \"{{ring}}\"\n"
		"      direction: { value: \"{{dir}}\", map: { I: incoming, O: outgoing } }\n"
		"      number: \"+{{num}}\"\n"
		"      extra: { code: \"{{code}}\" }\n"
		"    rules:\n"
		"      - when: { direction: '^incoming$', duration_s: '^0$' }\n"
		"        set: { direction: missed }\n"
		"      - when: { code: '^X$' }\n        set: { account: \"acct-{{code}}\" }\n";
	static const struct {
		const char *line, *field, *want;
	} t[] = {
		{ "01.02.2024 01:30PM,00:01:05,5,I,491,X", "start", "2024-02-01T13:28:55+00:00" },
		{ "01.02.2024 01:30PM,00:01:05,5,I,491,X", "direction", "incoming" },
		{ "01.02.2024 01:30PM,00:01:05,5,I,491,X", "account", "acct-X" },
		{ "01.02.2024 01:30PM,00:01:05,5,I,491,X", "number", "+491" },
		{ "01.02.2024 12:05AM,0,5,I,491,", "direction", "missed" },
		{ "01.02.2024 12:05AM,0,5,I,491,", "start", "2024-02-01T00:05:00+00:00" },
		{ "01.02.2024 12:05PM,1'07,0'09,O,1,", "direction", "outgoing" },
		{ "\"01.02.2024 12:05PM\",\"2:00\",\"\",O,\"1\"\"2\",", "number", "+1\"2" },
		{ "30.02.2024 12:05PM,1,1,O,1,", "error", "start: '30.02.2024 12:05PM' does not match" },
		{ "01.02.2024 12:05PM,1:75,1,O,1,", "error", "duration_s: '1:75' is not a duration" },
		{ "01.02.2024 12:05PM,1,1,Q,1,", "error", "direction 'Q' is not incoming" },
	};
	struct pp_mon_set *s = NULL;
	struct pp_mon_def *d = def_of(yaml, &s);
	struct pp_mon_parser *p = NULL;

	ok(d && pp_mon_parser_new(d, &p) == PP_OK, "fields: definition");
	for (size_t i = 0; p && i < PP_ARRAY_LEN(t); i++) {
		json_t *r = pp_mon_parse_frame(p, t[i].line, strlen(t[i].line));
		const char *v = json_string_value(json_object_get(r, t[i].field));

		ok(v && !strncmp(v, t[i].want, strlen(t[i].want)), "field %s of '%s': %s", t[i].field,
		   t[i].line, v ? v : "(absent)");
		if (i == 0)
			ok(json_integer_value(json_object_get(r, "duration_s")) == 65 &&
			   json_integer_value(json_object_get(r, "ring_s")) == 5 &&
			   !strcmp(json_string_value(json_object_get(json_object_get(r, "extra"),
								     "code")), "X"),
			   "durations are integers, extra values kept");
		if (i == 6)
			ok(json_integer_value(json_object_get(r, "duration_s")) == 67 &&
			   json_integer_value(json_object_get(r, "ring_s")) == 9,
			   "m'ss durations (67 s, 9 s)");
		json_decref(r);
	}
	pp_mon_parser_free(p);
	pp_mon_set_free(s);
}

/* The termios flags a serial monitor passes to tcsetattr (a pty keeps only
 * some of them, so test_serial.py cannot see data bits and parity). */
static void line_settings(void)
{
	static const struct {
		const char *set;
		tcflag_t csize;
		bool parenb, parodd, cmspar, cstopb, rtscts, xon;
		speed_t speed;
	} t[] = {
		{ "{\"baud\": 19200, \"data_bits\": 7, \"parity\": \"even\", \"stop_bits\": 2,"
		  " \"flow_control\": \"rtscts\"}", CS7, 1, 0, 0, 1, 1, 0, B19200 },
		{ "{\"baud\": 2400, \"parity\": \"odd\", \"flow_control\": \"xonxoff\"}",
		  CS8, 1, 1, 0, 0, 0, 1, B2400 },
		{ "{\"baud\": 1200, \"data_bits\": 5, \"parity\": \"mark\"}", CS5, 1, 1, 1, 0,
		  0, 0, B1200 },
		{ "{\"data_bits\": 6, \"parity\": \"space\"}", CS6, 1, 0, 1, 0, 0, 0, B9600 },
		{ "{}", CS8, 0, 0, 0, 0, 0, 0, B9600 },
	};

	for (size_t i = 0; i < PP_ARRAY_LEN(t); i++) {
		struct pp_mon_set *s = NULL;
		struct pp_err err = { 0 };
		struct pp_mon_conn c;
		struct termios tio;
		bool good;

		memset(&tio, 0xff, sizeof(tio)); /* every flag set: the builder must clear */
		if (load("monitors:\n  - name: s\n    transport: serial\n    parse:\n"
			 "      - columns: { a: 1-2 }\n    record: { number: \"{{a}}\" }\n",
			 t[i].set, NULL, &s, &err) != PP_OK ||
		    (pp_mon_def_conn(pp_mon_set_at(s, 0), &c), pp_mon_io_termios(&c, &tio)) != PP_OK) {
			ok(false, "termios %zu: %s", i, err.msg);
			continue;
		}
		good = (tio.c_cflag & CSIZE) == t[i].csize && !!(tio.c_cflag & PARENB) == t[i].parenb &&
		       !!(tio.c_cflag & PARODD) == t[i].parodd &&
		       !!(tio.c_cflag & CMSPAR) == t[i].cmspar &&
		       !!(tio.c_cflag & CSTOPB) == t[i].cstopb &&
		       !!(tio.c_cflag & CRTSCTS) == t[i].rtscts &&
		       !!(tio.c_iflag & IXON) == t[i].xon && !!(tio.c_iflag & IXOFF) == t[i].xon &&
		       (tio.c_cflag & (CREAD | CLOCAL)) == (CREAD | CLOCAL) &&
		       !(tio.c_lflag & (ICANON | ECHO | ISIG)) && !(tio.c_oflag & OPOST) &&
		       tio.c_cc[VMIN] == 1 && tio.c_cc[VTIME] == 0 && cfgetispeed(&tio) == t[i].speed &&
		       cfgetospeed(&tio) == t[i].speed;
		ok(good, "termios for %s", t[i].set);
		pp_mon_set_free(s);
	}
}

/* pp_rec_store (fast encoder + pp_rec_append_batch): what is read back is
 * what was stored, plus seq and ts; each record has its `record` event. */
struct readback {
	json_t *recs, *events;
};

static int rb_rec(uint64_t seq, json_t *v, void *arg)
{
	(void)seq;
	json_array_append(((struct readback *)arg)->recs, v);
	return PP_OK;
}

static int rb_ev(uint64_t seq, json_t *v, void *arg)
{
	(void)seq;
	json_array_append(((struct readback *)arg)->events, v);
	return PP_OK;
}

static int rb_txn(struct pp_txn *t, void *arg)
{
	int rc = pp_rec_each(t, 0, 0, rb_rec, arg);

	return rc ? rc : pp_event_each(t, 0, 0, rb_ev, arg);
}

static void records_store(void)
{
	struct pp_store *st = NULL;
	struct pp_err err = { 0 };
	struct readback rb = { json_array(), json_array() };
	char dir[128];
	json_t *recs[3];
	uint64_t last = 0;
	bool same = true;

	snprintf(dir, sizeof(dir), "%s/db", tmp);
	mkdir(dir, 0700);
	recs[0] = json_pack("{s:s, s:b, s:s, s:i, s:{s:s, s:s}}", "monitor", "a/b", "parsed", 1,
			    "number", "0301 \"quoted\" \\ back\tslash \x01\x1f \xc3\xa9\xe2\x82\xac",
			    "duration_s", -5, "extra", "k", "v\nline", "empty", "");
	recs[1] = json_pack("{s:s, s:b, s:s, s:I, s:n, s:f, s:[i,s]}", "monitor", "a/b", "parsed", 0,
			    "raw", "", "seq", (json_int_t)999, "null", "real", 1.5, "list", 1, "x");
	recs[2] = json_object();
	ok(pp_store_open(dir, &st, &err) == PP_OK, "store for records (%s)", err.msg);
	ok(st && pp_rec_store(st, recs, 3, &last) == PP_OK && last == 3, "3 records stored, last seq 3");
	ok(st && pp_rec_store(st, recs, 1, &last) == PP_OK && last == 4, "seq continues: 4");
	if (st && pp_store_read(st, rb_txn, &rb) == PP_OK) {
		for (size_t i = 0; i < 4; i++) {
			json_t *want = json_deep_copy(recs[i % 3]), *got = json_array_get(rb.recs, i),
			       *ev = json_array_get(rb.events, i);

			json_object_set_new(want, "seq", json_integer((json_int_t)i + 1));
			same &= json_equal(want, got) &&
				json_is_integer(json_object_get(got, "ts")) &&
				!strcmp(json_string_value(json_object_get(ev, "type")), "record") &&
				json_equal(json_object_get(ev, "data"), got) &&
				json_integer_value(json_object_get(ev, "seq")) == (json_int_t)i + 1;
			json_decref(want);
		}
	}
	ok(same && json_array_size(rb.recs) == 4 && json_array_size(rb.events) == 4,
	   "read back equal (escapes, UTF-8, nested, null/real/array, own seq replaced), one "
	   "record event each with the stored record");
	for (int i = 0; i < 3; i++)
		json_decref(recs[i]);
	json_decref(rb.recs);
	json_decref(rb.events);
	if (st)
		pp_store_close(st);
}

static int rm_rf(const char *dir)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* One cmocka test per group: run every check, then fail if any did. */
#define GROUP(fn)                                                                     \
	static void test_##fn(void **state)                                           \
	{                                                                             \
		(void)state;                                                          \
		n_check = n_fail = 0;                                                 \
		fn();                                                                 \
		print_message("# %s: %d checks, %d failed\n", #fn, n_check, n_fail); \
		assert_true(n_check > 0);                                             \
		assert_int_equal(n_fail, 0);                                          \
	}
GROUP(bad_yaml)
GROUP(settings)
GROUP(monitor_only_plugin)
GROUP(framing)
GROUP(fields)
GROUP(line_settings)
GROUP(records_store)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_yaml),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_monitor_only_plugin),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_line_settings),
		cmocka_unit_test(test_records_store),
	};
	int rc;

	setenv("TZ", "UTC", 1);
	tzset();
	snprintf(tmp, sizeof(tmp), "/tmp/pp-mondefs-XXXXXX");
	if (!mkdtemp(tmp))
		return 2;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	(void)!rm_rf(tmp);
	return rc;
}
