/* CLI commands of the dhcp module:
 *   phoneprov dhcpd-config [--format isc|kea] [--tftp-server IP] [--http-url URL]
 *                          [--subnet NET/PREFIX [--range LO-HI] [--router IP]]
 *   phoneprov import-pcap FILE [--json] */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <jansson.h>
#include "dhcp/dhcp.h"
#include "cli.h"
#include "lib/log.h"
#include "lib/metrics.h"

static void dhcpd_usage(FILE *f)
{
	fputs("Usage: phoneprov dhcpd-config [--format isc|kea] [OPTIONS]\n"
	      "Print dhcpd configuration for the enabled plugins' dhcp classes: one class per\n"
	      "phone family matched on the option-60 (vendor class) prefix, with its boot server.\n"
	      "  --format isc|kea      ISC dhcpd classes (default) or Kea DHCPv4 client-classes\n"
	      "  --tftp-server IP      next-server / option 66 address (default: tftp.listen host)\n"
	      "  --http-url URL        http://HOST[:PORT] phones use (default: http.listen)\n"
	      "  --subnet NET/PREFIX   also emit a subnet whose pool admits only these classes\n"
	      "  --range LO-HI         the pool range (default: upper half of the subnet)\n"
	      "  --router IP           option routers for the subnet\n", f);
}

/* http://HOST[:PORT][/] → host, port. */
static int parse_http_url(const char *url, char *host, size_t n, unsigned *port)
{
	const char *h, *end, *colon;
	size_t hl;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	h = url + 7;
	if (*h == '[') {
		end = strchr(h, ']');
		if (!end)
			return -1;
		end++;
	} else {
		end = h + strcspn(h, ":/");
	}
	hl = (size_t)(end - h);
	if (hl == 0 || hl >= n)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	colon = end;
	*port = 80;
	if (*colon == ':') {
		char *e;
		long v = strtol(colon + 1, &e, 10);

		if (v < 1 || v > 65535 || (*e && *e != '/'))
			return -1;
		*port = (unsigned)v;
		colon = e;
	}
	return (*colon == '\0' || !strcmp(colon, "/")) ? 0 : -1;
}

int pp_cmd_dhcpd_config(struct pp_cli *c, int argc, char **argv)
{
	struct pp_dhcpd_opts o = { 0 };
	enum pp_dhcpd_format fmt = PP_DHCPD_ISC;
	char http_host[80], range[64];
	struct pp_buf out = { 0 };
	struct pp_err err = { 0 };
	struct pp_snapshot *s;
	int rc;

	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "tftp-server", required_argument, NULL, 't' },
		{ "http-url", required_argument, NULL, 'u' },
		{ "subnet", required_argument, NULL, 's' },
		{ "range", required_argument, NULL, 'r' },
		{ "router", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = pp_cli_getopt("dhcpd-config", argc, argv, "h", opts)) != -1) {
		const char *v = optarg;
		char *dash;

		switch (opt) {
		case 'h':
			dhcpd_usage(stdout);
			return 0;
		case 'f':
			if (!strcmp(v, "isc"))
				fmt = PP_DHCPD_ISC;
			else if (!strcmp(v, "kea"))
				fmt = PP_DHCPD_KEA;
			else
				return pp_cli_usage_error("dhcpd-config", "--format %s: use isc or kea",
							  v);
			break;
		case 't':
			o.tftp_server = v;
			break;
		case 'u':
			if (parse_http_url(v, http_host, sizeof(http_host), &o.http_port))
				return pp_cli_usage_error("dhcpd-config", "--http-url %s: expected "
							  "http://HOST[:PORT]", v);
			o.http_host = http_host;
			break;
		case 's':
			o.subnet = v;
			break;
		case 'r':
			snprintf(range, sizeof(range), "%s", v);
			dash = strchr(range, '-');
			if (!dash)
				return pp_cli_usage_error("dhcpd-config", "--range %s: expected LO-HI", v);
			*dash = '\0';
			o.range_lo = range;
			o.range_hi = dash + 1;
			break;
		case 'g':
			o.router = v;
			break;
		default:
			return 2;
		}
	}
	if (optind < argc)
		return pp_cli_usage_error("dhcpd-config", "unexpected argument '%s'", argv[optind]);
	if ((o.range_lo || o.router) && !o.subnet) {
		fprintf(stderr, "phoneprov dhcpd-config: --range and --router need --subnet\n");
		return 2;
	}
	if (pp_cli_open_daemon(c))
		return 1;
	s = pp_daemon_acquire(&c->d);
	rc = pp_dhcpd_conf_ex(s->reg, s->cfg, fmt, &o, &out, &err);
	pp_snapshot_release(s);
	if (rc != PP_OK) {
		fprintf(stderr, "phoneprov dhcpd-config: %s\n", err.msg);
		pp_buf_free(&out);
		return 1;
	}
	fwrite(out.data, 1, out.len, stdout);
	pp_buf_free(&out);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int mac_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

struct import {
	unsigned long long packets, dhcp, malformed, other, errors;
	char (*macs)[18];
	size_t n_macs, cap_macs;
};

/* Sort the MACs seen and drop repeats. */
static void dedupe_macs(struct import *im)
{
	size_t k = 0;

	if (!im->n_macs)
		return; /* macs may be NULL: qsort must not see it */
	qsort(im->macs, im->n_macs, 18, mac_cmp);
	for (size_t i = 0; i < im->n_macs; i++)
		if (!k || strcmp(im->macs[i], im->macs[k - 1]))
			memmove(im->macs[k++], im->macs[i], 18);
	im->n_macs = k;
}

static int touch(struct import *im, const char *mac)
{
	if (!mac[0])
		return 0;
	if (im->n_macs == im->cap_macs) {
		size_t cap = im->cap_macs ? im->cap_macs * 2 : 64;
		char (*v)[18] = realloc(im->macs, cap * sizeof(*v));

		if (!v)
			return -1;
		im->macs = v;
		im->cap_macs = cap;
	}
	memcpy(im->macs[im->n_macs++], mac, 18);
	/* keep memory bounded on huge captures: dedupe every so often */
	if (im->n_macs == im->cap_macs && im->n_macs >= 4096)
		dedupe_macs(im);
	return 0;
}

static void import_report(struct pp_cli *c, const char *file, struct import *im)
{
	dedupe_macs(im);
	if (c->json) {
		json_t *macs = json_array();
		json_t *o;
		char *txt;

		for (size_t i = 0; i < im->n_macs; i++)
			json_array_append_new(macs, json_string(im->macs[i]));
		o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "file", file,
			      "packets", (json_int_t)im->packets, "dhcp", (json_int_t)im->dhcp,
			      "malformed", (json_int_t)im->malformed, "not_dhcp",
			      (json_int_t)im->other, "devices", (json_int_t)im->n_macs, "errors",
			      (json_int_t)im->errors, "macs", macs);
		txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (txt)
			puts(txt);
		free(txt);
		json_decref(o);
		return;
	}
	printf("%s: %llu packets, %llu DHCP, %llu malformed, %llu not DHCP, %zu devices touched, "
	       "%llu pipeline errors\n", file, im->packets, im->dhcp, im->malformed, im->other,
	       im->n_macs, im->errors);
}

int pp_cmd_import_pcap(struct pp_cli *c, int argc, char **argv)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct import im = { 0 };
	struct pcap_pkthdr *h;
	const u_char *data;
	const char *file = NULL;
	pcap_t *p;
	int lt, rc;

	static const struct option opts[] = { { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	int o;

	while ((o = pp_cli_getopt("import-pcap", argc, argv, "h", opts)) != -1) {
		if (o == 'h') {
			puts("Usage: phoneprov import-pcap FILE [--json]\n"
			     "Feed every DHCP packet of a capture (pcap or pcapng; Ethernet, 802.1Q,\n"
			     "Linux cooked or raw IP) through the provisioning pipeline, as the sniffer\n"
			     "does, and print the counts. \"-\" reads standard input.");
			return 0;
		}
		return 2;
	}
	if (argc - optind > 1)
		return pp_cli_usage_error("import-pcap", "unexpected argument '%s'",
					  argv[optind + 1]);
	if (optind < argc)
		file = argv[optind];
	if (!file) {
		fprintf(stderr, "phoneprov import-pcap: a capture FILE is required\n");
		return 2;
	}
	p = pcap_open_offline(file, ebuf);
	if (!p) {
		fprintf(stderr, "phoneprov import-pcap: %s\n", ebuf);
		return 1;
	}
	lt = pcap_datalink(p);
	if (!pp_dhcp_linktype_supported(lt)) {
		fprintf(stderr, "phoneprov import-pcap: %s: link type %s not supported\n", file,
			pcap_datalink_val_to_name(lt) ?: "?");
		pcap_close(p);
		return 1;
	}
	if (pp_cli_open_daemon(c)) {
		pcap_close(p);
		return 1;
	}
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		struct pp_dhcp_facts f;

		im.packets++;
		PP_COUNT(dhcp_packets, 1);
		rc = pp_dhcp_parse_frame(data, h->caplen, lt, &f);
		if (rc == PP_EINVAL) {
			im.malformed++;
			PP_COUNT(dhcp_malformed, 1);
			continue;
		}
		if (rc != PP_OK) {
			im.other++;
			continue;
		}
		im.dhcp++;
		pp_dhcp_log_facts(&f, "dhcp.packet");
		if (!f.mac[0])
			continue; /* no Ethernet chaddr: nothing to key a device on */
		rc = pp_prov_dhcp(c->d.prov, &f);
		if (rc != PP_OK) {
			im.errors++;
			pp_log(PP_LOG_WARN, "dhcp.pipeline_error", "mac=%s error=%s",
			       f.mac[0] ? f.mac : "-", pp_strerror(rc));
		} else if (touch(&im, f.mac) != 0) {
			fprintf(stderr, "phoneprov import-pcap: out of memory\n");
			break;
		}
	}
	if (rc == PCAP_ERROR)
		fprintf(stderr, "phoneprov import-pcap: %s: %s (after %llu packets)\n", file,
			pcap_geterr(p), im.packets);
	pcap_close(p);
	import_report(c, file, &im);
	free(im.macs);
	return (rc == PCAP_ERROR || im.errors) ? 1 : 0;
}
