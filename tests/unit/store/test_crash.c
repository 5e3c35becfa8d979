/* Crash test: a child process writes devices in a loop (one committed txn per
 * device, reporting each index after its commit returned); it is SIGKILLed at
 * 50 random moments (20 under a sanitizer; 1-50 ms after the spawn, or on 2 rounds of 3 after its
 * first reported commit). After each kill the store must open, and every
 * device the child reported must be present, decode and hold the right
 * content; every entry of the devices db must decode. On odd rounds this
 * process keeps the store open and reads while the child writes (and grows the
 * map from a small initial size), like the CLI next to the daemon.
 * Usage: test-store-crash CHILD_BINARY   (PP_CRASH_SEED=N to replay) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/common.h"
#include "daemon/store/store.h"
#include "crash_device.h"
#include "store_test_util.h"

/* 50 kills; 20 under a sanitizer (PP_SANITIZED), whose child starts several
 * times slower: LMDB's durability is what is tested, the normal build covers it */
#define ROUNDS_FULL 50
#define ROUNDS_SANITIZED 20

static const char *child_path;

struct seen {
	long *idx;
	size_t n, cap;
};

static void seen_add(struct seen *s, long i)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->idx = realloc(s->idx, s->cap * sizeof(*s->idx));
		assert_non_null(s->idx);
	}
	s->idx[s->n++] = i;
}

struct verify {
	long bad;
	long count;
};

static int verify_each(const char *mac, json_t *dev, void *arg)
{
	struct verify *v = arg;
	json_int_t i = json_integer_value(json_object_get(dev, "i"));
	json_t *want = crash_device((long)i);

	if (!json_equal(dev, want) || strcmp(mac, json_string_value(json_object_get(dev, "mac"))))
		v->bad++;
	json_decref(want);
	v->count++;
	return PP_OK;
}

static int verify_all(struct pp_txn *t, void *arg)
{
	return pp_dev_each(t, NULL, verify_each, arg);
}

static int count_only(const char *mac, json_t *dev, void *arg)
{
	(void)mac;
	(void)dev;
	(*(long *)arg)++;
	return PP_OK;
}

static int count_fn(struct pp_txn *t, void *arg)
{
	return pp_dev_each(t, NULL, count_only, arg);
}

struct check_arg {
	struct seen *s;
	long missing, wrong;
};

static int check_reported(struct pp_txn *t, void *arg)
{
	struct check_arg *c = arg;

	for (size_t k = 0; k < c->s->n; k++) {
		char mac[18];
		json_t *d, *want;

		crash_mac(c->s->idx[k], mac);
		if (pp_dev_get(t, mac, &d) != PP_OK) {
			c->missing++;
			continue;
		}
		want = crash_device(c->s->idx[k]);
		if (!json_equal(d, want))
			c->wrong++;
		json_decref(want);
		json_decref(d);
	}
	return PP_OK;
}

static void sleep_ns(long ns)
{
	struct timespec ts = { ns / 1000000000L, ns % 1000000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void test_crash(void **state)
{
	char *dir = tmp_store_dir();
	struct seen s = { 0 };
	unsigned int seed = getenv("PP_CRASH_SEED") ? (unsigned int)atoi(getenv("PP_CRASH_SEED")) :
		(unsigned int)(time(NULL) ^ getpid());
	long next = 0, rounds_with_commits = 0, concurrent_reads = 0;
	const int rounds = getenv("PP_SANITIZED") ? ROUNDS_SANITIZED : ROUNDS_FULL;

	(void)state;
	srand(seed);
	print_message("# crash seed %u (PP_CRASH_SEED to replay)\n", seed);
	setenv("PP_STORE_INITIAL_MAPSIZE", "512K", 1);
	for (int round = 0; round < rounds; round++) {
		long delay_ms = 1 + rand() % 50;
		struct pp_store *live = NULL, *st;
		struct pp_err err;
		struct check_arg ca = { &s, 0, 0 };
		struct verify v = { 0, 0 };
		char start[32], buf[4096], part[64] = "";
		size_t plen = 0;
		long before = (long)s.n;
		int fds[2], status;
		pid_t pid;
		ssize_t r;

		if (round % 2 == 1) {
			assert_int_equal(pp_store_open(dir, &live, &err), PP_OK);
		}
		assert_int_equal(pipe(fds), 0);
		snprintf(start, sizeof(start), "%ld", next);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			dup2(fds[1], 1);
			close(fds[0]);
			close(fds[1]);
			execl(child_path, child_path, dir, start, (char *)NULL);
			_exit(127);
		}
		close(fds[1]);
		/* every third round the clock starts at spawn (kills can land in
		 * exec or the open's own write txn); otherwise at the first commit,
		 * so that a slow start on a loaded machine cannot empty the test */
		if (round % 3 != 0) {
			struct pollfd pfd = { .fd = fds[0], .events = POLLIN };

			assert_int_equal(poll(&pfd, 1, 20000), 1);
		}
		if (live) {
			uint64_t end = pp_mono_ns() + (uint64_t)delay_ms * 1000000u;

			/* read while the child writes (and grows the map) */
			while (pp_mono_ns() < end) {
				long n = 0;

				assert_int_equal(pp_store_read(live, count_fn, &n), PP_OK);
				concurrent_reads++;
				sleep_ns(300000);
			}
		} else {
			sleep_ns(delay_ms * 1000000L);
		}
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			fail_msg("child ended on its own (status %d), round %d", status, round);
		/* every complete line is a device whose commit returned */
		while ((r = read(fds[0], buf, sizeof(buf))) > 0) {
			for (ssize_t k = 0; k < r; k++) {
				if (buf[k] == '\n') {
					part[plen] = '\0';
					seen_add(&s, strtol(part, NULL, 10));
					plen = 0;
				} else if (plen < sizeof(part) - 1) {
					part[plen++] = buf[k];
				}
			}
		}
		close(fds[0]);
		if ((long)s.n > before) {
			rounds_with_commits++;
			next = s.idx[s.n - 1] + 1;
		}
		if (live)
			pp_store_close(live);
		/* fresh open after the crash: everything committed is there */
		assert_int_equal(pp_store_open(dir, &st, &err), PP_OK);
		assert_int_equal(pp_store_read(st, check_reported, &ca), PP_OK);
		if (ca.missing || ca.wrong)
			fail_msg("round %d: %ld committed devices missing, %ld wrong", round,
				 ca.missing, ca.wrong);
		assert_int_equal(pp_store_read(st, verify_all, &v), PP_OK);
		{
			json_t *stat;

			assert_int_equal(pp_store_stat(st, &stat), PP_OK);
			/* every entry decoded (iteration skips undecodable ones) */
			assert_int_equal(json_integer_value(json_object_get(
				json_object_get(stat, "dbs"), "devices")), v.count);
			json_decref(stat);
		}
		assert_int_equal(v.bad, 0);
		assert_true(v.count >= (long)s.n);
		pp_store_close(st);
	}
	unsetenv("PP_STORE_INITIAL_MAPSIZE");
	print_message("# crash: %d kills, %zu committed devices reported, %ld rounds with commits, "
		      "%ld concurrent reads, all intact\n", rounds, s.n, rounds_with_commits,
		      concurrent_reads);
	/* the test must have exercised something */
	assert_true(s.n >= 50);
	assert_true(rounds_with_commits >= rounds * 2 / 3);
	free(s.idx);
	rm_store_dir(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: %s CHILD_BINARY\n", argv[0]);
		return 2;
	}
	child_path = argv[1];
	return cmocka_run_group_tests_name("store-crash", tests, NULL, NULL);
}
