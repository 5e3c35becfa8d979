/* DHCP sniffer throughput: replay a capture (bench/dhcp/gen_bench_pcap.py)
 * through the parser and the extractors (every enabled plugin's rules, the
 * same call the pipeline makes: pp_identify) and the associator, on one core.
 *
 *   bench-dhcp FILE.pcap SRC_DIR
 *
 * Passes: libpcap read + parse (what import-pcap / the offline sniffer do);
 * in-memory parse only; parse + extractors; parse + extractors + associate. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "daemon/config/config.h"
#include "daemon/plugin/plugin_int.h"
#include "daemon/plugin/plugin.h"
#include "dhcp/dhcp.h"
#include "extractors/identify.h"

struct frames {
	unsigned char *buf;
	size_t *off, *len, n, used;
};

static double now_s(void)
{
	return (double)pp_mono_ns() / 1e9;
}

static void report(const char *what, size_t n, double s, size_t ok)
{
	printf("%-40s %9zu packets %7.3f s %10.0f packets/s (%zu parsed)\n", what, n, s,
	       (double)n / s, ok);
}

static int load(const char *file, struct frames *f, int *lt)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	size_t cap = 0, bcap = 0;
	pcap_t *p = pcap_open_offline(file, ebuf);
	double t0 = now_s();
	size_t ok = 0;

	if (!p) {
		fprintf(stderr, "bench-dhcp: %s\n", ebuf);
		return -1;
	}
	*lt = pcap_datalink(p);
	memset(f, 0, sizeof(*f));
	while (pcap_next_ex(p, &h, &d) == 1) {
		struct pp_dhcp_facts x;

		/* pass 1 is measured here: read + parse, streaming */
		ok += pp_dhcp_parse_frame(d, h->caplen, *lt, &x) == PP_OK;
		if (f->n == cap) {
			cap = cap ? cap * 2 : 1 << 16;
			f->off = realloc(f->off, cap * sizeof(size_t));
			f->len = realloc(f->len, cap * sizeof(size_t));
		}
		if (f->used + h->caplen > bcap) {
			bcap = bcap ? bcap * 2 : 1 << 24;
			f->buf = realloc(f->buf, bcap);
		}
		if (!f->off || !f->len || !f->buf)
			return -1;
		memcpy(f->buf + f->used, d, h->caplen);
		f->off[f->n] = f->used;
		f->len[f->n++] = h->caplen;
		f->used += h->caplen;
	}
	report("libpcap read + parse (+copy)", f->n, now_s() - t0, ok);
	pcap_close(p);
	return 0;
}


int main(int argc, char **argv)
{
	struct frames f;
	struct pp_config *cfg;
	struct pp_registry *reg = NULL;
	struct pp_err err = { 0 };
	unsigned char scores[256];
	size_t ok, ident, assoc;
	double t0;
	int lt;

	if (argc < 3) {
		fprintf(stderr, "usage: bench-dhcp FILE.pcap SRC_DIR\n");
		return 2;
	}
	if (load(argv[1], &f, &lt))
		return 1;
	cfg = pp_config_defaults(argv[2]);
	if (!cfg || pp_registry_load(cfg, &reg, &err) != PP_OK) {
		fprintf(stderr, "bench-dhcp: plugins: %s\n", err.msg);
		return 1;
	}
	if (pp_registry_count(reg) > sizeof(scores)) {
		fprintf(stderr, "bench-dhcp: too many plugins\n");
		return 1;
	}
	printf("plugins: %zu\n", pp_registry_count(reg));

	ok = 0;
	t0 = now_s();
	for (size_t i = 0; i < f.n; i++) {
		struct pp_dhcp_facts x;

		ok += pp_dhcp_parse_frame(f.buf + f.off[i], f.len[i], lt, &x) == PP_OK;
	}
	report("parse (in memory)", f.n, now_s() - t0, ok);

	ok = ident = 0;
	t0 = now_s();
	for (size_t i = 0; i < f.n; i++) {
		struct pp_dhcp_facts x;
		struct pp_ex_input in;
		struct pp_devinfo di;

		if (pp_dhcp_parse_frame(f.buf + f.off[i], f.len[i], lt, &x) != PP_OK)
			continue;
		ok++;
		pp_ex_input_dhcp(&x, &in);
		pp_devinfo_init(&di);
		pp_identify(reg, &in, &di);
		ident += di.f[PP_F_VENDOR][0] != 0;
	}
	report("parse + extractors", f.n, now_s() - t0, ok);
	printf("  vendor identified in %zu of %zu DHCP packets\n", ident, ok);

	ok = assoc = 0;
	t0 = now_s();
	for (size_t i = 0; i < f.n; i++) {
		struct pp_dhcp_facts x;
		struct pp_ex_input in;
		struct pp_devinfo di;

		if (pp_dhcp_parse_frame(f.buf + f.off[i], f.len[i], lt, &x) != PP_OK)
			continue;
		ok++;
		pp_ex_input_dhcp(&x, &in);
		pp_devinfo_init(&di);
		pp_identify(reg, &in, &di);
		assoc += pp_associate(reg, &di, scores) >= 0;
	}
	report("parse + extractors + associate", f.n, now_s() - t0, ok);
	printf("  plugin chosen for %zu of %zu DHCP packets\n", assoc, ok);

	pp_registry_free(reg);
	pp_config_free(cfg);
	free(f.buf);
	free(f.off);
	free(f.len);
	return 0;
}
