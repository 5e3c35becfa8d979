/* phoneprovd: load the configuration, open the store, start the listener
 * threads, tell systemd we are ready, then wait for signals in the main
 * thread (SIGTERM/SIGINT stop, SIGHUP reloads configuration and plugins). */
#include <errno.h>
#include <getopt.h>
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
#include "log.h"
#include "registry/registry.h"

#ifndef PP_VERSION
#define PP_VERSION "0.1.0"
#endif

struct modules {
	struct pp_tftp *tftp;
	struct pp_http *http;
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
	      "  -c, --config FILE  configuration file (default: ./phoneprov.yml)\n"
	      "      --check        validate the configuration and the plugins, then exit\n"
	      "                     (0 valid, 1 invalid: FILE:LINE:COL: what is wrong)\n"
	      "  -h, --help         show this help\n"
	      "  -V, --version      show the version\n"
	      "\n"
	      "Signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads configuration and plugins.\n"
	      "With $NOTIFY_SOCKET set, READY=1 is sent once every listener is bound.\n",
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

static void stop_modules(struct modules *m)
{
	if (m->jobs)
		pp_jobs_stop(m->jobs);
	if (m->sniffer)
		pp_sniffer_stop(m->sniffer);
	if (m->api)
		pp_api_stop(m->api);
	if (m->http)
		pp_http_stop(m->http);
	if (m->tftp)
		pp_tftp_stop(m->tftp);
	memset(m, 0, sizeof(*m));
}

static int start_modules(struct pp_daemon *d, struct modules *m, struct pp_err *err)
{
	memset(m, 0, sizeof(*m));
	if (pp_tftp_start(d, &m->tftp, err) != PP_OK ||
	    pp_http_start(d, &m->http, err) != PP_OK ||
	    pp_api_start(d, &m->api, err) != PP_OK ||
	    pp_sniffer_start(d, &m->sniffer, err) != PP_OK ||
	    pp_jobs_start(d, &m->jobs, err) != PP_OK) {
		stop_modules(m);
		return PP_ERR;
	}
	return PP_OK;
}

static int check_only(const char *path)
{
	struct pp_config *cfg;
	struct pp_registry *reg = NULL;
	struct pp_err err = { "" };

	if (pp_config_load(path, &cfg, &err) != PP_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (pp_registry_load(cfg, &reg, &err) != PP_OK) {
		fprintf(stderr, "%s\n", err.msg);
		pp_config_free(cfg);
		return 1;
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
}

static void warn_restart(const char *what, const char *old, const char *now)
{
	char a[160], b[160];

	if (strcmp(old, now) == 0)
		return;
	pp_log(PP_LOG_WARN, "reload.needs_restart", "key=%s running=%s configured=%s", what,
	       pp_q(a, sizeof(a), old), pp_q(b, sizeof(b), now));
}

static void reload(struct pp_daemon *d)
{
	struct pp_snapshot *cur = pp_daemon_acquire(d), *s;
	struct pp_config *cfg = NULL;
	struct pp_registry *reg = NULL;
	struct pp_err err = { "" };
	char q[600];

	notify("RELOADING=1");
	if (pp_config_load(cur->cfg->path, &cfg, &err) != PP_OK ||
	    pp_registry_load(cfg, &reg, &err) != PP_OK) {
		pp_log(PP_LOG_ERROR, "reload.failed", "error=%s keeping=%llu",
		       pp_q(q, sizeof(q), err.msg), (unsigned long long)cur->generation);
		pp_config_free(cfg);
		pp_snapshot_release(cur);
		notify("READY=1");
		return;
	}
	warn_restart("tftp.listen", cur->cfg->tftp.listen.text, cfg->tftp.listen.text);
	warn_restart("http.listen", cur->cfg->http.listen.text, cfg->http.listen.text);
	warn_restart("api.listen", cur->cfg->api.listen.text, cfg->api.listen.text);
	warn_restart("data_dir", cur->cfg->data_dir, cfg->data_dir);
	warn_restart("tftp.root", cur->cfg->tftp.root, cfg->tftp.root);
	warn_restart("http.root", cur->cfg->http.root, cfg->http.root);
	warn_restart("dhcp_sniffer.interface", cur->cfg->dhcp_sniffer.interface,
		     cfg->dhcp_sniffer.interface);
	warn_restart("dhcp_sniffer.pcap_file", cur->cfg->dhcp_sniffer.pcap_file,
		     cfg->dhcp_sniffer.pcap_file);
	pp_snapshot_release(cur);
	s = calloc(1, sizeof(*s));
	if (!s) {
		pp_registry_free(reg);
		pp_config_free(cfg);
		pp_log(PP_LOG_ERROR, "reload.failed", "error=\"out of memory\"");
		notify("READY=1");
		return;
	}
	s->cfg = cfg;
	s->reg = reg;
	pp_log_set_level(cfg->log_level);
	log_config(cfg);
	pp_daemon_swap(d, s);
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
	struct modules m;
	struct pp_err err = { "" };
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
	if (pp_config_load(path, &cfg, &err) != PP_OK) {
		fprintf(stderr, "%s\n", err.msg);
		close(sfd);
		return 1;
	}
	pp_log_set_level(cfg->log_level);
	pp_log(PP_LOG_INFO, "start", "version=%s config=%s pid=%d", PP_VERSION,
	       pp_q(q1, sizeof(q1), cfg->path), (int)getpid());
	log_config(cfg);
	if (pp_daemon_init(&d, cfg, &err) != PP_OK) {
		fprintf(stderr, "phoneprovd: %s\n", err.msg);
		pp_daemon_fini(&d);
		close(sfd);
		return 1;
	}
	if (start_modules(&d, &m, &err) != PP_OK) {
		fprintf(stderr, "phoneprovd: %s\n", err.msg);
		pp_daemon_fini(&d);
		close(sfd);
		return 1;
	}
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
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si)) {
			pp_log(PP_LOG_ERROR, "signal.failed", "errno=%d", errno);
			break;
		}
		if (si.ssi_signo == SIGHUP) {
			pp_log(PP_LOG_INFO, "reload", "signal=HUP");
			reload(&d);
			continue;
		}
		pp_log(PP_LOG_INFO, "stopping", "signal=%s", sig_name((int)si.ssi_signo));
		break;
	}
	notify("STOPPING=1");
	atomic_store(&d.running, false);
	stop_modules(&m);
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
	const char *path = "phoneprov.yml";
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
	return check ? check_only(path) : run(path);
}
