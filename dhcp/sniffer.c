/* DHCP sniffer thread: libpcap on dhcp_sniffer.interface (live, not
 * promiscuous, immediate mode, BPF for DHCP with or without VLAN tags) or
 * dhcp_sniffer.pcap_file (offline replay, read once). Every DHCP packet goes
 * through pp_prov_dhcp; malformed ones are counted and dropped.
 *
 * The capture handle is non-blocking and the thread polls it together with an
 * eventfd, so pp_sniffer_stop() returns promptly whatever the traffic. */
#include <errno.h>
#include <poll.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "dhcp.h"
#include "lib/log.h"
#include "lib/metrics.h"

#define SNAPLEN 1600
#define POLL_MS 250
#define BATCH 256

static const char bpf_live[] =
	"(udp and (port 67 or port 68)) or (vlan and udp and (port 67 or port 68))"
	" or (vlan and vlan and udp and (port 67 or port 68))";

struct pp_sniffer {
	struct pp_prov *prov;
	pcap_t *pc;
	int linktype;
	bool offline;
	int wakefd;
	int selfd;
	atomic_bool stop;
	pthread_t th;
	bool started;
	char source[512];
	unsigned long long packets, dhcp, malformed, errors;
};

void pp_dhcp_log_facts(const struct pp_dhcp_facts *f, const char *event)
{
	char q1[1100], q2[300];

	if (!pp_log_enabled(PP_LOG_DEBUG))
		return;
	pp_log(PP_LOG_DEBUG, event, "type=%s mac=%s ip=%s bound=%d vci=%s host=%s vlan=%u",
	       pp_dhcp_msg_name(f->msg_type), f->mac[0] ? f->mac : "-", f->ip[0] ? f->ip : "-",
	       f->bound, pp_qn(q1, sizeof(q1), f->vendor_class_raw, f->vendor_class_len), pp_q(q2, sizeof(q2), f->hostname),
	       f->vlan);
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct pp_sniffer *x = (struct pp_sniffer *)user;
	struct pp_dhcp_facts f;
	int rc;

	x->packets++;
	PP_COUNT(dhcp_packets, 1);
	rc = pp_dhcp_parse_frame(bytes, h->caplen, x->linktype, &f);
	if (rc == PP_EINVAL) {
		x->malformed++;
		PP_COUNT(dhcp_malformed, 1);
		if (pp_log_enabled(PP_LOG_DEBUG))
			pp_log(PP_LOG_DEBUG, "dhcp.malformed", "len=%u", h->caplen);
		return;
	}
	if (rc != PP_OK)
		return;
	x->dhcp++;
	pp_dhcp_log_facts(&f, "dhcp.packet");
	if (!f.mac[0])
		return; /* not Ethernet hardware (or chaddr zero): nothing to key a device on */
	rc = pp_prov_dhcp(x->prov, &f);
	if (rc != PP_OK) {
		x->errors++;
		pp_log(PP_LOG_WARN, "dhcp.pipeline_error", "mac=%s error=%s", f.mac[0] ? f.mac : "-",
		       pp_strerror(rc));
	}
}

/* Sleep up to ms unless a stop is asked. */
static void nap(struct pp_sniffer *x, int ms)
{
	struct pollfd p = { .fd = x->wakefd, .events = POLLIN };

	if (!atomic_load(&x->stop))
		(void)poll(&p, 1, ms);
}

static void run_offline(struct pp_sniffer *x)
{
	while (!atomic_load(&x->stop)) {
		int n = pcap_dispatch(x->pc, BATCH, on_packet, (u_char *)x);

		if (n == 0)
			break; /* end of file */
		if (n == PCAP_ERROR_BREAK)
			return;
		if (n < 0) {
			char q[600];

			pp_log(PP_LOG_ERROR, "dhcp.error", "source=%s error=%s",
			       pp_q(q, sizeof(q), x->source), pcap_geterr(x->pc));
			break;
		}
	}
	pp_log(PP_LOG_INFO, "dhcp.replay_done", "packets=%llu dhcp=%llu malformed=%llu errors=%llu",
	       x->packets, x->dhcp, x->malformed, x->errors);
}

static void run_live(struct pp_sniffer *x)
{
	int fails = 0;

	while (!atomic_load(&x->stop)) {
		struct pollfd p[2] = {
			{ .fd = x->wakefd, .events = POLLIN },
			{ .fd = x->selfd, .events = POLLIN },
		};
		int n;

		if (poll(p, 2, POLL_MS) < 0 && errno != EINTR)
			break;
		if (atomic_load(&x->stop))
			break;
		/* read even on timeout: some capture back ends buffer without waking */
		do {
			n = pcap_dispatch(x->pc, BATCH, on_packet, (u_char *)x);
		} while (n == BATCH && !atomic_load(&x->stop));
		if (n == PCAP_ERROR_BREAK)
			break;
		if (n < 0) {
			char q[600];

			/* e.g. the interface went down: say so (rarely) and keep trying */
			if (fails++ % 60 == 0)
				pp_log(PP_LOG_WARN, "dhcp.error", "source=%s error=%s",
				       pp_q(q, sizeof(q), x->source), pcap_geterr(x->pc));
			nap(x, 1000);
			continue;
		}
		fails = 0;
	}
}

static void *sniffer_main(void *arg)
{
	struct pp_sniffer *x = arg;

	if (x->offline)
		run_offline(x);
	else
		run_live(x);
	return NULL;
}

static int open_live(struct pp_sniffer *x, const char *ifname, struct pp_err *err)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program prog;
	int rc;

	x->pc = pcap_create(ifname, ebuf);
	if (!x->pc) {
		pp_err_set(err, "dhcp_sniffer.interface %s: %s", ifname, ebuf);
		return PP_EIO;
	}
	pcap_set_snaplen(x->pc, SNAPLEN);
	pcap_set_promisc(x->pc, 0);
	pcap_set_immediate_mode(x->pc, 1);
	pcap_set_timeout(x->pc, POLL_MS);
	rc = pcap_activate(x->pc);
	if (rc < 0) {
		pp_err_set(err, "dhcp_sniffer.interface %s: %s", ifname,
			   rc == PCAP_ERROR ? pcap_geterr(x->pc) : pcap_statustostr(rc));
		return PP_EIO;
	}
	if (rc > 0)
		pp_log(PP_LOG_WARN, "dhcp.warning", "interface=%s warning=%s", ifname,
		       pcap_statustostr(rc));
	x->linktype = pcap_datalink(x->pc);
	if (!pp_dhcp_linktype_supported(x->linktype)) {
		pp_err_set(err, "dhcp_sniffer.interface %s: link type %s not supported", ifname,
			   pcap_datalink_val_to_name(x->linktype) ?: "?");
		return PP_ENOTSUP;
	}
	if (pcap_compile(x->pc, &prog, bpf_live, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		pp_err_set(err, "dhcp_sniffer.interface %s: filter: %s", ifname, pcap_geterr(x->pc));
		return PP_EIO;
	}
	rc = pcap_setfilter(x->pc, &prog);
	pcap_freecode(&prog);
	if (rc != 0) {
		pp_err_set(err, "dhcp_sniffer.interface %s: filter: %s", ifname, pcap_geterr(x->pc));
		return PP_EIO;
	}
	if (pcap_setnonblock(x->pc, 1, ebuf) != 0) {
		pp_err_set(err, "dhcp_sniffer.interface %s: %s", ifname, ebuf);
		return PP_EIO;
	}
	x->selfd = pcap_get_selectable_fd(x->pc);
	if (x->selfd < 0) {
		pp_err_set(err, "dhcp_sniffer.interface %s: no selectable fd", ifname);
		return PP_ENOTSUP;
	}
	return PP_OK;
}

static int open_offline(struct pp_sniffer *x, const char *file, struct pp_err *err)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";

	x->offline = true;
	x->pc = pcap_open_offline(file, ebuf);
	if (!x->pc) {
		pp_err_set(err, "dhcp_sniffer.pcap_file %s: %s", file, ebuf);
		return PP_EIO;
	}
	x->linktype = pcap_datalink(x->pc);
	if (!pp_dhcp_linktype_supported(x->linktype)) {
		pp_err_set(err, "dhcp_sniffer.pcap_file %s: link type %s not supported", file,
			   pcap_datalink_val_to_name(x->linktype) ?: "?");
		return PP_ENOTSUP;
	}
	return PP_OK;
}

static void sniffer_free(struct pp_sniffer *x)
{
	if (x->pc)
		pcap_close(x->pc);
	if (x->wakefd >= 0)
		close(x->wakefd);
	free(x);
}

int pp_sniffer_start(struct pp_snaps *snaps, struct pp_prov *prov, struct pp_sniffer **out,
		     struct pp_err *err)
{
	struct pp_snapshot *s = pp_snaps_acquire(snaps);
	const char *ifname = s->cfg->dhcp_sniffer.interface;
	const char *file = s->cfg->dhcp_sniffer.pcap_file;
	struct pp_sniffer *x;
	int rc;

	*out = NULL;
	if ((!ifname || !*ifname) && (!file || !*file)) {
		pp_snapshot_release(s);
		return PP_OK;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		pp_snapshot_release(s);
		pp_err_set(err, "dhcp sniffer: out of memory");
		return PP_ENOMEM;
	}
	x->prov = prov;
	x->selfd = -1;
	x->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	atomic_init(&x->stop, false);
	if (ifname && *ifname) {
		snprintf(x->source, sizeof(x->source), "%s", ifname);
		rc = open_live(x, ifname, err);
	} else {
		snprintf(x->source, sizeof(x->source), "%s", file);
		rc = open_offline(x, file, err);
	}
	pp_snapshot_release(s);
	if (rc == PP_OK && x->wakefd < 0) {
		pp_err_set(err, "dhcp sniffer: eventfd: %s", strerror(errno));
		rc = PP_EIO;
	}
	if (rc != PP_OK) {
		sniffer_free(x);
		return rc;
	}
	*out = x;
	return PP_OK;
}

int pp_sniffer_run(struct pp_sniffer *x, struct pp_err *err)
{
	char q[600];

	if ((errno = pthread_create(&x->th, NULL, sniffer_main, x)) != 0) {
		pp_err_set(err, "dhcp sniffer: thread: %s", strerror(errno));
		return PP_ERR;
	}
	x->started = true;
	pp_log(PP_LOG_INFO, "dhcp.start", "%s=%s linktype=%s",
	       x->offline ? "pcap_file" : "interface", pp_q(q, sizeof(q), x->source),
	       pcap_datalink_val_to_name(x->linktype) ?: "?");
	return PP_OK;
}

void pp_sniffer_stop(struct pp_sniffer *x)
{
	uint64_t one = 1;

	if (!x)
		return;
	atomic_store(&x->stop, true);
	if (x->pc)
		pcap_breakloop(x->pc);
	if (write(x->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pp_log(PP_LOG_WARN, "dhcp.error", "error=%s", strerror(errno));
	if (x->started)
		pthread_join(x->th, NULL);
	pp_log(PP_LOG_INFO, "dhcp.stop", "packets=%llu dhcp=%llu malformed=%llu errors=%llu",
	       x->packets, x->dhcp, x->malformed, x->errors);
	sniffer_free(x);
}
