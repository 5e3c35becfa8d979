/* Firmware operations of phoneprovd: every operation runs in a child process,
 * `phoneprov-firmware-worker -c CFG firmware --worker ...` (cli/fw_worker_main.c
 * running cli/cli_firmware.c), so the
 * daemon neither links libcurl/libarchive (and the OpenSSL, krb5, LDAP, libxml2,
 * ICU pages they pull in) nor parses downloaded archives in its own address
 * space. The worker loads the configuration file and the plugin registry itself,
 * prints one JSON object {"rc", "error", "result"} on stdout and logs on the
 * inherited stderr. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fw_client.h"
#include "pp_paths.h"
#include "lib/log.h"

extern char **environ;

#define WORKER_MAX_OUT (16u << 20) /* more than any answer; a runaway child is cut */

/* The program to run: $PHONEPROV_CLI (a `phoneprov` CLI or the worker),
 * else phoneprov-firmware-worker next to this executable (a build tree),
 * else the installed worker (PP_FW_WORKER, libexec, from the build's
 * paths). Both take `-c CFG firmware --worker ...`. */
static int cli_path(char *out, size_t n, struct pp_err *err)
{
	const char *env = getenv("PHONEPROV_CLI");
	char self[PATH_MAX];
	ssize_t len;
	char *slash;

	if (env && *env) {
		if ((size_t)snprintf(out, n, "%s", env) >= n) {
			pp_err_set(err, "firmware worker: PHONEPROV_CLI is too long");
			return PP_EIO;
		}
	} else {
		len = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (len <= 0) {
			pp_err_set(err, "firmware worker: cannot read /proc/self/exe: %s",
				   strerror(errno));
			return PP_EIO;
		}
		self[len] = '\0';
		slash = strrchr(self, '/');
		if (slash)
			slash[1] = '\0';
		else
			self[0] = '\0';
		if ((size_t)snprintf(out, n, "%sphoneprov-firmware-worker", self) >= n) {
			pp_err_set(err, "firmware worker: path of the worker is too long");
			return PP_EIO;
		}
		if (access(out, X_OK) != 0)
			snprintf(out, n, "%s", PP_FW_WORKER);
	}
	if (access(out, X_OK) != 0) {
		pp_err_set(err, "firmware worker: cannot run %s: %s (install "
			   "phoneprov-firmware-worker or set PHONEPROV_CLI)", out, strerror(errno));
		return PP_EIO;
	}
	return PP_OK;
}

static int spawn(const char *cli, char *const argv[], int outfd, pid_t *pid,
		 struct pp_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	int e;

	sigemptyset(&none);
	/* the daemon blocks these (signalfd) and ignores SIGPIPE: not the child */
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGHUP);
	if (posix_spawn_file_actions_init(&fa) != 0) {
		pp_err_set(err, "firmware worker: out of memory");
		return PP_ENOMEM;
	}
	if (posix_spawnattr_init(&attr) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		pp_err_set(err, "firmware worker: out of memory");
		return PP_ENOMEM;
	}
	e = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (!e)
		e = posix_spawn_file_actions_adddup2(&fa, outfd, STDOUT_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	/* sockets, the store, epoll fds: none of the child's business */
	if (!e)
		e = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
#endif
	if (!e)
		e = posix_spawnattr_setsigmask(&attr, &none);
	if (!e)
		e = posix_spawnattr_setsigdefault(&attr, &dfl);
	if (!e)
		e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (!e)
		e = posix_spawn(pid, cli, &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (e) {
		pp_err_set(err, "firmware worker: cannot start %s: %s", cli, strerror(e));
		return PP_EIO;
	}
	return PP_OK;
}

/* Read the child's stdout to EOF (at most WORKER_MAX_OUT bytes). */
static int read_all(int fd, struct pp_buf *b, pid_t pid, struct pp_err *err)
{
	char chunk[16384];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pp_err_set(err, "firmware worker: reading its answer: %s", strerror(errno));
			kill(pid, SIGKILL);
			return PP_EIO;
		}
		if (n == 0)
			return PP_OK;
		if (b->len + (size_t)n > WORKER_MAX_OUT) {
			pp_err_set(err, "firmware worker: answer larger than %u bytes",
				   WORKER_MAX_OUT);
			kill(pid, SIGKILL);
			return PP_EIO;
		}
		if (pp_buf_append(b, chunk, (size_t)n) != PP_OK) {
			pp_err_set(err, "firmware worker: out of memory");
			kill(pid, SIGKILL);
			return PP_ENOMEM;
		}
	}
}

static int reap(pid_t pid, const char *cli, int rc, struct pp_err *err)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno == EINTR)
			continue;
		if (rc == PP_OK)
			pp_err_set(err, "firmware worker: waitpid: %s", strerror(errno));
		return rc == PP_OK ? PP_EIO : rc;
	}
	if (rc != PP_OK)
		return rc;
	if (WIFSIGNALED(st)) {
		pp_err_set(err, "firmware worker %s died of signal %d (%s)", cli, WTERMSIG(st),
			   strsignal(WTERMSIG(st)));
		return PP_EIO;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		pp_err_set(err, "firmware worker %s failed (exit status %d, see its log lines)",
			   cli, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return PP_EIO;
	}
	return PP_OK;
}

/* {"rc": int, "error": string, "result": json|null} → rc, err, *out. */
static int parse_answer(const struct pp_buf *b, json_t **out, struct pp_err *err)
{
	json_error_t je;
	json_t *o, *jrc, *jerr, *res;
	json_int_t rc;

	o = b->data ? json_loadb(b->data, b->len, 0, &je) : NULL;
	if (!o) {
		pp_err_set(err, "firmware worker: unreadable answer (%s)",
			   b->data ? je.text : "nothing on stdout");
		return PP_EIO;
	}
	jrc = json_object_get(o, "rc");
	jerr = json_object_get(o, "error");
	res = json_object_get(o, "result");
	rc = json_integer_value(jrc);
	if (!json_is_integer(jrc) || rc > 0 || rc < PP_ENOTSUP || !json_is_string(jerr)) {
		pp_err_set(err, "firmware worker: malformed answer");
		json_decref(o);
		return PP_EIO;
	}
	if (rc != PP_OK) {
		pp_err_set(err, "%s", json_string_value(jerr));
	} else if (out) {
		if (!res || json_is_null(res)) {
			pp_err_set(err, "firmware worker: answer without a result");
			json_decref(o);
			return PP_EIO;
		}
		*out = json_incref(res);
	}
	json_decref(o);
	return (int)rc;
}

/* args: subcommand and its operands (at most 3), NULL-terminated. */
static int run_worker(const struct pp_config *cfg, const char *const *args, json_t **out,
		      struct pp_fwc_child *child, struct pp_err *err)
{
	char cli[PATH_MAX];
	char *argv[12];
	struct pp_buf b = { 0 };
	int p[2], rc, n = 0;
	pid_t pid;

	if (out)
		*out = NULL;
	rc = cli_path(cli, sizeof(cli), err);
	if (rc != PP_OK)
		return rc;
	argv[n++] = cli;
	argv[n++] = (char *)"-c";
	argv[n++] = cfg->path;
	argv[n++] = (char *)"firmware";
	argv[n++] = (char *)"--worker";
	for (int i = 0; args[i] && n < 11; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	if (pipe2(p, O_CLOEXEC) != 0) {
		pp_err_set(err, "firmware worker: pipe: %s", strerror(errno));
		return PP_EIO;
	}
	rc = spawn(cli, argv, p[1], &pid, err);
	close(p[1]);
	if (rc != PP_OK) {
		close(p[0]);
		return rc;
	}
	pp_log(PP_LOG_DEBUG, "firmware.worker", "pid=%d op=%s", (int)pid, args[0]);
	if (child) {
		pthread_mutex_lock(&child->lock);
		child->pid = pid;
		pthread_mutex_unlock(&child->lock);
	}
	rc = read_all(p[0], &b, pid, err);
	close(p[0]);
	if (child) {
		/* cleared before the reap: pp_fwc_child_kill never signals a
		 * pid that waitpid may have handed back to the system */
		pthread_mutex_lock(&child->lock);
		child->pid = 0;
		pthread_mutex_unlock(&child->lock);
	}
	rc = reap(pid, cli, rc, err);
	if (rc == PP_OK)
		rc = parse_answer(&b, out, err);
	free(b.data);
	return rc;
}

int pp_fwc_list(const struct pp_config *cfg, const char *plugin, json_t **out,
		struct pp_err *err)
{
	const char *args[] = { "list", plugin, NULL };

	return run_worker(cfg, args, out, NULL, err);
}

int pp_fwc_install(const struct pp_config *cfg, const char *plugin, const char *pkg,
		   struct pp_err *err)
{
	const char *args[] = { "install", plugin, pkg, NULL };

	return run_worker(cfg, args, NULL, NULL, err);
}

int pp_fwc_uninstall(const struct pp_config *cfg, const char *plugin, const char *pkg,
		     struct pp_err *err)
{
	const char *args[] = { "uninstall", plugin, pkg, NULL };

	return run_worker(cfg, args, NULL, NULL, err);
}

int pp_fwc_package_op(const struct pp_config *cfg, bool install, const char *plugin,
		      const char *pkg, struct pp_fwc_child *child, struct pp_err *err)
{
	const char *args[] = { install ? "install" : "uninstall", plugin, pkg, NULL };

	return run_worker(cfg, args, NULL, child, err);
}

void pp_fwc_child_kill(struct pp_fwc_child *child, int sig)
{
	pthread_mutex_lock(&child->lock);
	if (child->pid > 0)
		kill(child->pid, sig);
	pthread_mutex_unlock(&child->lock);
}

int pp_fwc_verify(const struct pp_config *cfg, json_t **out, struct pp_err *err)
{
	const char *args[] = { "verify", NULL };

	return run_worker(cfg, args, out, NULL, err);
}
