/* DHCP parser unit tests over the committed captures (tests/e2e/dhcp/captures,
 * made by gen_captures.py): every packet's expected result and facts come
 * from manifest.json. Plus truncation at every length (run under ASan to
 * prove nothing is read past the buffer) and a few hand-built payloads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <pcap/pcap.h>
#include "dhcp/dhcp.h"

static const char *capdir = "tests/e2e/dhcp/captures";

struct frame {
	unsigned char *data;
	size_t len;
};

/* Read every frame of a capture (exact-size heap copies). */
static size_t load_pcap(const char *file, int *linktype, struct frame **out)
{
	char path[1024], ebuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct frame *v = NULL;
	size_t n = 0;
	pcap_t *p;

	snprintf(path, sizeof(path), "%s/%s", capdir, file);
	p = pcap_open_offline(path, ebuf);
	if (!p)
		fail_msg("%s: %s", path, ebuf);
	*linktype = pcap_datalink(p);
	while (pcap_next_ex(p, &h, &data) == 1) {
		v = realloc(v, (n + 1) * sizeof(*v));
		assert_non_null(v);
		v[n].len = h->caplen;
		v[n].data = malloc(h->caplen ? h->caplen : 1);
		assert_non_null(v[n].data);
		memcpy(v[n].data, data, h->caplen);
		n++;
	}
	pcap_close(p);
	*out = v;
	return n;
}

static void free_frames(struct frame *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].data);
	free(v);
}

static json_t *manifest(void)
{
	char path[1024];
	json_error_t jerr;
	json_t *m;

	snprintf(path, sizeof(path), "%s/manifest.json", capdir);
	m = json_load_file(path, 0, &jerr);
	if (!m)
		fail_msg("%s: %s", path, jerr.text);
	return m;
}

static const char *fact_str(const struct pp_dhcp_facts *f, const char *key)
{
	static const struct { const char *k; size_t off; } map[] = {
		{ "mac", offsetof(struct pp_dhcp_facts, mac) },
		{ "ip", offsetof(struct pp_dhcp_facts, ip) },
		{ "vendor_class", offsetof(struct pp_dhcp_facts, vendor_class) },
		{ "hostname", offsetof(struct pp_dhcp_facts, hostname) },
		{ "client_id", offsetof(struct pp_dhcp_facts, client_id) },
		{ "user_class", offsetof(struct pp_dhcp_facts, user_class) },
		{ "requested_ip", offsetof(struct pp_dhcp_facts, requested_ip) },
		{ "server_id", offsetof(struct pp_dhcp_facts, server_id) },
		{ "param_list", offsetof(struct pp_dhcp_facts, param_list) },
		{ "relay_info", offsetof(struct pp_dhcp_facts, relay_info) },
	};

	for (size_t i = 0; i < PP_ARRAY_LEN(map); i++)
		if (!strcmp(map[i].k, key))
			return (const char *)f + map[i].off;
	return NULL;
}

static long fact_int(const struct pp_dhcp_facts *f, const char *key)
{
	if (!strcmp(key, "msg_type"))
		return f->msg_type;
	if (!strcmp(key, "bound"))
		return f->bound;
	if (!strcmp(key, "vlan"))
		return (long)f->vlan;
	fail_msg("unknown fact %s", key);
	return -1;
}

static void check_capture(json_t *cap, unsigned *n_ok, unsigned *n_bad, unsigned *n_other)
{
	const char *file = json_string_value(json_object_get(cap, "file"));
	json_t *pkts = json_object_get(cap, "packets"), *e;
	struct frame *fr;
	int lt;
	size_t n = load_pcap(file, &lt, &fr), i;

	assert_int_equal(lt, json_integer_value(json_object_get(cap, "linktype")) == 101 ?
			 PP_DLT_RAW : json_integer_value(json_object_get(cap, "linktype")));
	assert_int_equal(n, json_array_size(pkts));
	json_array_foreach(pkts, i, e) {
		struct pp_dhcp_facts f;
		const char *rc = json_string_value(json_object_get(e, "rc"));
		const char *what = json_string_value(json_object_get(e, "what"));
		int want = !strcmp(rc, "ok") ? PP_OK : !strcmp(rc, "malformed") ? PP_EINVAL : PP_ENOENT;
		int got = pp_dhcp_parse_frame(fr[i].data, fr[i].len, lt, &f);
		const char *k;
		json_t *v;

		if (got != want)
			fail_msg("%s #%zu (%s): got %d, want %d", file, i, what, got, want);
		*(want == PP_OK ? n_ok : want == PP_EINVAL ? n_bad : n_other) += 1;
		json_object_foreach(json_object_get(e, "facts"), k, v) {
			if (!strcmp(k, "vendor_class_hex")) {
				/* option 60 kept as sent, byte for byte */
				char hex[2 * sizeof(f.vendor_class_raw) + 1];

				for (size_t b = 0; b < f.vendor_class_len; b++)
					snprintf(hex + 2 * b, 3, "%02x", f.vendor_class_raw[b]);
				hex[2 * f.vendor_class_len] = '\0';
				if (strcmp(hex, json_string_value(v)))
					fail_msg("%s #%zu (%s): option 60 bytes %s, want %s", file, i,
						 what, hex, json_string_value(v));
			} else if (json_is_string(v)) {
				const char *s = fact_str(&f, k);

				assert_non_null(s);
				if (strcmp(s, json_string_value(v)))
					fail_msg("%s #%zu (%s): %s = '%s', want '%s'", file, i, what, k, s,
						 json_string_value(v));
			} else if (fact_int(&f, k) != json_integer_value(v)) {
				fail_msg("%s #%zu (%s): %s = %ld, want %lld", file, i, what, k,
					 fact_int(&f, k), json_integer_value(v));
			}
		}
	}
	free_frames(fr, n);
}

static void test_manifest(void **state)
{
	json_t *m = manifest(), *cap;
	unsigned ok = 0, bad = 0, other = 0;
	size_t i;

	(void)state;
	json_array_foreach(json_object_get(m, "captures"), i, cap)
		check_capture(cap, &ok, &bad, &other);
	print_message("packets: %u ok, %u malformed, %u not DHCP\n", ok, bad, other);
	assert_true(ok >= 50);
	assert_true(bad >= 20);
	json_decref(m);
}

/* Every prefix of every valid frame: never PP_OK (lengths then lie), never
 * a read past the heap copy (ASan), facts zeroed on failure. */
static void test_truncation(void **state)
{
	static const char *files[] = { "vendors.pcap", "vlan.pcap", "sll.pcap", "raw.pcap" };

	(void)state;
	for (size_t k = 0; k < PP_ARRAY_LEN(files); k++) {
		struct frame *fr;
		int lt;
		size_t n = load_pcap(files[k], &lt, &fr);

		for (size_t i = 0; i < n; i++) {
			struct pp_dhcp_facts f;

			if (pp_dhcp_parse_frame(fr[i].data, fr[i].len, lt, &f) != PP_OK)
				continue;
			for (size_t cut = 0; cut < fr[i].len; cut++) {
				unsigned char *b = malloc(cut ? cut : 1);
				int rc;

				memcpy(b, fr[i].data, cut);
				rc = pp_dhcp_parse_frame(b, cut, lt, &f);
				if (rc == PP_OK)
					fail_msg("%s #%zu cut at %zu parsed OK", files[k], i, cut);
				assert_string_equal(f.mac, "");
				assert_string_equal(f.vendor_class, "");
				assert_int_equal(f.vendor_class_len, 0);
				free(b);
			}
		}
		free_frames(fr, n);
	}
}

/* A minimal valid DHCP payload with the given options (END appended). */
static size_t payload(unsigned char *buf, const void *opts, size_t n)
{
	static const unsigned char mac[6] = { 0x80, 0x5e, 0xc0, 1, 2, 3 };

	memset(buf, 0, 240);
	buf[0] = 1;
	buf[1] = 1;
	buf[2] = 6;
	memcpy(buf + 28, mac, 6);
	buf[236] = 0x63;
	buf[237] = 0x82;
	buf[238] = 0x53;
	buf[239] = 0x63;
	memcpy(buf + 240, opts, n);
	buf[240 + n] = 255;
	return 241 + n;
}

static void test_payloads(void **state)
{
	unsigned char buf[2048];
	struct pp_dhcp_facts f;
	size_t n;

	(void)state;
	/* long vendor class (255 bytes) is kept up to the field size */
	{
		unsigned char o[2 + 255];

		o[0] = 60;
		o[1] = 255;
		memset(o + 2, 'a', 255);
		n = payload(buf, o, sizeof(o));
		assert_int_equal(pp_dhcp_parse(buf, n, &f), PP_OK);
		assert_int_equal(strlen(f.vendor_class), 255);
		assert_int_equal(f.vendor_class_len, 255);
		assert_string_equal(f.mac, "80:5e:c0:01:02:03");
	}
	/* 255 binary bytes: kept as sent, shown as \xNN (4 characters each) */
	{
		unsigned char o[2 + 255];

		o[0] = 60;
		o[1] = 255;
		memset(o + 2, 0x80, 255);
		n = payload(buf, o, sizeof(o));
		assert_int_equal(pp_dhcp_parse(buf, n, &f), PP_OK);
		assert_int_equal(f.vendor_class_len, 255);
		assert_int_equal(f.vendor_class_raw[254], 0x80);
		assert_int_equal(strlen(f.vendor_class), 4 * 255);
		assert_memory_equal(f.vendor_class, "\\x80\\x80", 8);
	}
	/* one trailing NUL: kept in the bytes, dropped from the text; a second
	 * one is data */
	{
		unsigned char o[] = { 60, 6, 'C', 'P', '-', '1', 0, 0 };

		n = payload(buf, o, sizeof(o));
		assert_int_equal(pp_dhcp_parse(buf, n, &f), PP_OK);
		assert_int_equal(f.vendor_class_len, 6);
		assert_memory_equal(f.vendor_class_raw, "CP-1\0\0", 6);
		assert_string_equal(f.vendor_class, "CP-1\\x00");
	}
	/* a broadcast chaddr keys no device */
	{
		unsigned char o[] = { 53, 1, 1 };

		n = payload(buf, o, sizeof(o));
		memset(buf + 28, 0xff, 6);
		assert_int_equal(pp_dhcp_parse(buf, n, &f), PP_OK);
		assert_string_equal(f.mac, "");
	}
	/* three 255-byte pieces of option 60 (RFC 3396): cut at 255 bytes */
	{
		unsigned char o[3 * 257];

		for (int i = 0; i < 3; i++) {
			o[i * 257] = 60;
			o[i * 257 + 1] = 255;
			memset(o + i * 257 + 2, 'b', 255);
		}
		n = payload(buf, o, sizeof(o));
		assert_int_equal(pp_dhcp_parse(buf, n, &f), PP_OK);
		assert_int_equal(f.vendor_class_len, sizeof(f.vendor_class_raw));
		assert_int_equal(strlen(f.vendor_class), sizeof(f.vendor_class_raw));
	}
	/* a parameter list of all 255 codes is cut at a comma, never mid-number */
	{
		unsigned char o[2 + 255];

		o[0] = 55;
		o[1] = 255;
		for (int i = 0; i < 255; i++)
			o[2 + i] = (unsigned char)(i + 1);
		n = payload(buf, o, sizeof(o));
		assert_int_equal(pp_dhcp_parse(buf, n, &f), PP_OK);
		assert_true(strlen(f.param_list) < sizeof(f.param_list));
		assert_true(strncmp(f.param_list, "1,2,3,", 6) == 0);
		assert_true(f.param_list[strlen(f.param_list) - 1] != ',');
	}
	/* ACK without yiaddr but with ciaddr (answer to INFORM): ip, not bound */
	{
		unsigned char o[] = { 53, 1, 5 };

		n = payload(buf, o, sizeof(o));
		buf[0] = 2;
		buf[12] = 192;
		buf[14] = 2;
		buf[15] = 7;
		assert_int_equal(pp_dhcp_parse(buf, n, &f), PP_OK);
		assert_string_equal(f.ip, "192.0.2.7");
		assert_int_equal(f.bound, 0);
		assert_string_equal(pp_dhcp_msg_name(f.msg_type), "ack");
	}
	/* overload bit in the file field is ignored (no recursion) */
	{
		unsigned char o[] = { 52, 1, 1 };

		n = payload(buf, o, sizeof(o));
		buf[108] = 52;
		buf[109] = 1;
		buf[110] = 2;
		buf[111] = 60;
		buf[112] = 3;
		memcpy(buf + 113, "abc", 3);
		assert_int_equal(pp_dhcp_parse(buf, n, &f), PP_OK);
		assert_string_equal(f.vendor_class, "abc");
	}
	assert_int_equal(pp_dhcp_parse(NULL, 0, &f), PP_EINVAL);
	assert_int_equal(pp_dhcp_parse_frame(buf, 0, 9999, &f), PP_ENOTSUP);
	assert_true(pp_dhcp_linktype_supported(PP_DLT_EN10MB));
	assert_false(pp_dhcp_linktype_supported(9999));
	assert_string_equal(pp_dhcp_msg_name(99), "unknown");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_payloads),
	};

	if (argc > 1)
		capdir = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
