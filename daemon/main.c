/* phoneprovd: load the configuration, open the store, start the listener
 * threads, tell systemd we are ready, then wait for signals in the main
 * thread (SIGTERM/SIGINT stop, SIGHUP reloads configuration and plugins). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "lib/log.h"
#include "daemon/plugin/plugin.h"
#include "daemon/http/tls.h"
#include "dhcp/dhcp.h"
#include "privs.h"
#include "sockact.h"
#include "pp_paths.h"

#ifndef PP_VERSION
#error "PP_VERSION comes from meson.build (project version)"
#endif

struct modules {
	struct pp_tftp *tftp;
	struct pp_http *http;
	struct pp_http *https;
	struct pp_api *api;
	struct pp_sniffer *sniffer;
	struct pp_jobs *jobs;
};

static void usage(FILE *f)
{
	fputs("Usage: phoneprovd [-c FILE] [--check]\n"
	      "Provisioning server for VoIP phones: TFTP and HTTP file servers, DHCP sniffer,\n"
	      "plugins with templates, REST API.\n"
	      "\n"
	      "  -c, --config FILE  configuration file (default: $PHONEPROV_CONFIG, else\n"
	      "                     ./phoneprov.yml when present, else " PP_CONFIG_FILE ")\n"
	      "      --check        validate the configuration and the plugins, then exit\n"
	      "                     (0 valid, 1 invalid: FILE:LINE:COL: what is wrong)\n"
	      "  -h, --help         show this help\n"
	      "  -V, --version      show the version\n"
	      "\n"
	      "Signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads configuration and plugins.\n"
	      "With $NOTIFY_SOCKET set, READY=1 is sent once every listener is bound.\n"
	      "Sockets passed by systemd ($LISTEN_FDS) serve the listen address they are\n"
	      "bound to. See phoneprovd(8).\n",
	      f);
}

/* sd_notify protocol: one datagram to $NOTIFY_SOCKET ('@' = abstract name). */
static void notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n;
	socklen_t salen;
	int fd;

	if (!path || !*path)
		return;
	n = strlen(path);
	if (n >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@')) {
		pp_log(PP_LOG_WARN, "notify.failed", "error=\"unsupported NOTIFY_SOCKET\"");
		return;
	}
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
		pp_log(PP_LOG_WARN, "notify.failed", "errno=%d", errno);
	close(fd);
}

static void stop_modules(struct pp_daemon *d, struct modules *m)
{
	if (m->jobs)
		pp_jobs_stop(m->jobs);
	if (m->sniffer)
		pp_sniffer_stop(m->sniffer);
	/* finish the queued device changes while the services that parked
	 * requests for them are still there to answer */
	pp_prov_stop(d->prov);
	if (m->api)
		pp_api_stop(m->api);
	if (m->https)
		pp_http_stop(m->https);
	if (m->http)
		pp_http_stop(m->http);
	if (m->tftp)
		pp_tftp_stop(m->tftp);
	memset(m, 0, sizeof(*m));
}

/* Start-up order is the security model (STYLE §7): bind every socket and
 * open the capture (the only steps that need a capability), drop every
 * privilege, load the plugins' C hooks, then serve. */
static int start_modules(struct pp_daemon *d, struct modules *m, struct pp_err *err)
{
	struct pp_snapshot *s;
	int rc;

	memset(m, 0, sizeof(*m));
	if (pp_tftp_start(d, &m->tftp, err) != PP_OK ||
	    pp_http_start(d, &m->http, err) != PP_OK ||
	    pp_https_start(d, &m->https, err) != PP_OK ||
	    pp_api_start(d, &m->api, err) != PP_OK ||
	    pp_sniffer_start(&d->snaps, d->prov, &m->sniffer, err) != PP_OK)
		goto fail;
	s = pp_daemon_acquire(d);
	rc = pp_privs_drop(s->cfg, err);
	pp_snapshot_release(s);
	if (rc != PP_OK || pp_daemon_load_hooks(d, err) != PP_OK)
		goto fail;
	/* the mirror of rendered files repaired, stale renders queued */
	pp_prov_resync(d->prov, NULL);
	if ((m->tftp && pp_tftp_run(m->tftp, err) != PP_OK) ||
	    (m->http && pp_http_run(m->http, err) != PP_OK) ||
	    (m->https && pp_http_run(m->https, err) != PP_OK) ||
	    (m->api && pp_api_run(m->api, err) != PP_OK) ||
	    (m->sniffer && pp_sniffer_run(m->sniffer, err) != PP_OK) ||
	    pp_jobs_start(d, &m->jobs, err) != PP_OK)
		goto fail;
	return PP_OK;
fail:
	stop_modules(d, m);
	return PP_ERR;
}

static int check_only(const char *path)
{
	struct pp_config *cfg;
	struct pp_registry *reg = NULL;
	struct pp_err err = { 0 };

	if (pp_config_load(path, &cfg, &err) != PP_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (pp_registry_load(cfg, &reg, &err) != PP_OK) {
		fprintf(stderr, "%s\n", err.msg);
		pp_config_free(cfg);
		return 1;
	}
	if (cfg->https.listen.port) {
		struct pp_tls_creds *creds = NULL;

		if (pp_tls_load(cfg->https.cert, cfg->https.key, cfg->https.client_ca, &creds,
				&err) != PP_OK) {
			fprintf(stderr, "%s: %s\n", cfg->path, err.msg);
			pp_registry_free(reg);
			pp_config_free(cfg);
			return 1;
		}
		pp_tls_creds_free(creds);
	}
	printf("%s: ok (%zu plugins)\n", path, reg ? pp_registry_count(reg) : (size_t)0);
	pp_registry_free(reg);
	pp_config_free(cfg);
	return 0;
}

/* Debug-level summary of a loaded configuration (visible with log_level: debug). */
static void log_config(const struct pp_config *c)
{
	char q[600];

	pp_log(PP_LOG_DEBUG, "config.loaded",
	       "path=%s data_dir=%s log_level=%s tftp.max_blksize=%u tftp.max_windowsize=%u "
	       "tftp.timeout_ms=%u tftp.retries=%u autoprov=%d plugins.enabled=%s",
	       pp_q(q, sizeof(q), c->path), c->data_dir, pp_log_level_name(c->log_level),
	       c->tftp.max_blksize, c->tftp.max_windowsize, c->tftp.timeout_ms, c->tftp.retries,
	       c->autoprov, c->plugins.all ? "all" : "list");
	if (c->general_warn[0])
		pp_log(PP_LOG_WARN, "config.no_public_url", "message=%s",
		       pp_q(q, sizeof(q), c->general_warn));
}

static void warn_restart(const char *what, const char *old, const char *now)
{
	char a[160], b[160];

	if (strcmp(old, now) == 0)
		return;
	pp_log(PP_LOG_WARN, "reload.needs_restart", "key=%s running=%s configured=%s", what,
	       pp_q(a, sizeof(a), old), pp_q(b, sizeof(b), now));
}

static void reload(struct pp_daemon *d, struct modules *m)
{
	struct pp_snapshot *cur = pp_daemon_acquire(d), *s;
	struct pp_config *cfg = NULL;
	struct pp_registry *reg = NULL;
	struct pp_err err = { 0 };
	char q[600], msg[96];
	bool general_changed;

	/* sd_notify(3): RELOADING=1 with the CLOCK_MONOTONIC time the reload
	 * started, in microseconds (systemd 253 and later want it) */
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)(pp_mono_ns() / 1000));
	notify(msg);
	/* hooks: the running instances are kept or handed over, never doubled
	 * (pp_registry_adopt_hooks, docs/flavors.md) */
	if (pp_config_load(cur->cfg->path, &cfg, &err) != PP_OK ||
	    pp_registry_load_ex(cfg, PP_REG_NO_HOOKS, &reg, &err) != PP_OK ||
	    pp_registry_adopt_hooks(reg, cur->reg, &err) != PP_OK) {
		pp_registry_free(reg);
		pp_log(PP_LOG_ERROR, "reload.failed", "error=%s keeping=%llu",
		       pp_q(q, sizeof(q), err.msg), (unsigned long long)cur->generation);
		pp_config_free(cfg);
		pp_snapshot_release(cur);
		notify("READY=1");
		return;
	}
	warn_restart("tftp.listen", cur->cfg->tftp.listen.text, cfg->tftp.listen.text);
	warn_restart("http.listen", cur->cfg->http.listen.text, cfg->http.listen.text);
	warn_restart("https.listen", cur->cfg->https.listen.text, cfg->https.listen.text);
	/* the PROXY-protocol front is set up at start (X-Forwarded-For follows at once) */
	if (!cur->cfg->http.n_trusted_proxies && cfg->http.n_trusted_proxies)
		warn_restart("http.trusted_proxies.proxy_protocol", "off", "on");
	warn_restart("api.listen", cur->cfg->api.listen.text, cfg->api.listen.text);
	warn_restart("data_dir", cur->cfg->data_dir, cfg->data_dir);
	warn_restart("tftp.root", cur->cfg->tftp.root, cfg->tftp.root);
	warn_restart("http.root", cur->cfg->http.root, cfg->http.root);
	warn_restart("dhcp_sniffer.interface", cur->cfg->dhcp_sniffer.interface,
		     cfg->dhcp_sniffer.interface);
	warn_restart("dhcp_sniffer.pcap_file", cur->cfg->dhcp_sniffer.pcap_file,
		     cfg->dhcp_sniffer.pcap_file);
	/* new general settings (provisioning.public_url...): every device's
	 * effective config changed, re-render them now */
	general_changed = !json_equal(cur->cfg->general, cfg->general);
	pp_snapshot_release(cur);
	s = pp_snapshot_new(cfg, reg);
	if (!s) {
		pp_registry_free(reg);
		pp_config_free(cfg);
		pp_log(PP_LOG_ERROR, "reload.failed", "error=\"out of memory\"");
		notify("READY=1");
		return;
	}
	pp_log_set_level(cfg->log_level);
	log_config(cfg);
	pp_snaps_swap(&d->snaps, s);
	pp_jobs_kick(m->jobs);
	pp_https_reload(m->https, cfg);
	/* the previous registry is freed (plugins' fini) here, on this thread,
	 * once the last request using it is done: see snapshot.h */
	pp_snaps_reap(&d->snaps);
	if (general_changed)
		pp_prov_resync(d->prov, NULL);
	pp_log(PP_LOG_INFO, "reload.done", "generation=%llu log_level=%s plugins=%zu",
	       (unsigned long long)s->generation, pp_log_level_name(cfg->log_level),
	       reg ? pp_registry_count(reg) : (size_t)0);
	notify("READY=1");
}

static const char *sig_name(int sig)
{
	switch (sig) {
	case SIGTERM: return "TERM";
	case SIGINT: return "INT";
	case SIGHUP: return "HUP";
	default: return "?";
	}
}

static int run(const char *path)
{
	struct pp_config *cfg;
	struct pp_daemon d;
	struct pp_sockact sa;
	struct modules m;
	struct pp_err err = { 0 };
	sigset_t set;
	int sfd;
	uint64_t t0 = pp_mono_ns();
	char q1[600];

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* blocked before any thread exists, so every thread inherits the mask */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
		fprintf(stderr, "phoneprovd: cannot set up signals: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	pp_sockact_init(&sa);
	if (pp_config_load(path, &cfg, &err) != PP_OK) {
		fprintf(stderr, "%s\n", err.msg);
		close(sfd);
		return 1;
	}
	pp_log_set_level(cfg->log_level);
	pp_log(PP_LOG_INFO, "start", "version=%s config=%s pid=%d", PP_VERSION,
	       pp_q(q1, sizeof(q1), cfg->path), (int)getpid());
	log_config(cfg);
	if (pp_daemon_init(&d, cfg, PP_DAEMON_THREADED | PP_DAEMON_DEFER_HOOKS, &err) != PP_OK) {
		fprintf(stderr, "phoneprovd: %s\n", err.msg);
		pp_daemon_fini(&d);
		close(sfd);
		return 1;
	}
	d.sockact = &sa;
	if (start_modules(&d, &m, &err) != PP_OK) {
		fprintf(stderr, "phoneprovd: %s\n", err.msg);
		pp_daemon_fini(&d);
		close(sfd);
		return 1;
	}
	pp_sockact_close_unused(&sa);
	d.sockact = NULL;
	{
		struct pp_snapshot *s = pp_daemon_acquire(&d);
		char st[512];

		pp_log(PP_LOG_INFO, "ready",
		       "tftp=%s http=%s api=%s tftp_on=%d http_on=%d api_on=%d sniffer_on=%d "
		       "jobs_on=%d startup_ms=%.1f",
		       s->cfg->tftp.listen.text, s->cfg->http.listen.text, s->cfg->api.listen.text,
		       m.tftp != NULL, m.http != NULL, m.api != NULL, m.sniffer != NULL,
		       m.jobs != NULL, (double)(pp_mono_ns() - t0) / 1e6);
		snprintf(st, sizeof(st), "READY=1\nSTATUS=tftp %s, http %s, api %s\nMAINPID=%d",
			 s->cfg->tftp.listen.text, s->cfg->http.listen.text,
			 s->cfg->api.listen.text, (int)getpid());
		pp_snapshot_release(s);
		notify(st);
	}
	for (;;) {
		struct pollfd pf[2] = { { .fd = sfd, .events = POLLIN },
					{ .fd = pp_snaps_fd(&d.snaps), .events = POLLIN } };
		struct signalfd_siginfo si;
		ssize_t n;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			pp_log(PP_LOG_ERROR, "signal.failed", "errno=%d", errno);
			break;
		}
		if (pf[1].revents & POLLIN)
			pp_snaps_reap(&d.snaps);
		if (!(pf[0].revents & POLLIN))
			continue;
		n = read(sfd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si)) {
			pp_log(PP_LOG_ERROR, "signal.failed", "errno=%d", errno);
			break;
		}
		if (si.ssi_signo == SIGHUP) {
			pp_log(PP_LOG_INFO, "reload", "signal=HUP");
			reload(&d, &m);
			continue;
		}
		pp_log(PP_LOG_INFO, "stopping", "signal=%s", sig_name((int)si.ssi_signo));
		break;
	}
	notify("STOPPING=1");
	atomic_store(&d.running, false);
	stop_modules(&d, &m);
	pp_daemon_fini(&d);
	close(sfd);
	pp_log(PP_LOG_INFO, "stopped", "uptime_ms=%.0f", (double)(pp_mono_ns() - t0) / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	bool check = false;
	int o;

	while ((o = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			path = optarg;
			break;
		case 'k':
			check = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("phoneprovd %s\n", PP_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "phoneprovd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!path)
		path = pp_config_default_path();
	return check ? check_only(path) : run(path);
}
