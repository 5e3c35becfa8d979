/* daemon/provision/ban.c: the network of an address, the per-network count
 * next to the per-address one, and the bounded tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/provision/ban.h"

static void net_is(const char *ip, bool ok, const char *want)
{
	char out[64];

	assert_int_equal(pp_ban_net_of(ip, out, sizeof(out)), ok);
	assert_string_equal(out, want);
}

static void test_net_of(void **state)
{
	(void)state;
	net_is("192.0.2.77", true, "192.0.2.0/24");
	net_is("127.0.1.60", true, "127.0.1.0/24");
	net_is("::ffff:192.0.2.77", true, "192.0.2.0/24");
	net_is("2001:db8:1:2:3:4:5:6", true, "2001:db8:1:2::/64");
	net_is("2001:db8::1", true, "2001:db8::/64");
	net_is("::1", true, "::/64");
	net_is("fe80::1%eth0", false, "");
	net_is("192.0.2", false, "");
	net_is("nonsense", false, "");
	net_is("", false, "");
}

static void test_ipv6_per_net(void **state)
{
	struct pp_ban *b = pp_ban_new();
	struct pp_ban_limits lim = { .limit = 100, .limit_net = 5, .window_s = 60, .ban_s = 600 };
	struct pp_ban_result r;
	char ip[64];

	(void)state;
	assert_non_null(b);
	for (unsigned i = 1; i <= 5; i++) {
		snprintf(ip, sizeof(ip), "2001:db8:0:1::%x", i);
		assert_false(pp_ban_count(b, &lim, ip, &r));
		assert_int_equal(r.count_ip, 1);
		assert_int_equal(r.count_net, i);
		assert_string_equal(r.net, "2001:db8:0:1::/64");
	}
	assert_true(pp_ban_count(b, &lim, "2001:db8:0:1::6", &r));
	assert_true(r.started_net);
	assert_false(r.started_ip);
	assert_int_equal(r.count_net, 6);
	assert_true(pp_ban_is_banned(b, "2001:db8:0:1:ffff:ffff:ffff:ffff"));
	assert_false(pp_ban_is_banned(b, "2001:db8:0:2::1"));
	/* counted again while banned: the ban is not started twice */
	assert_true(pp_ban_count(b, &lim, "2001:db8:0:1::7", &r));
	assert_false(r.started_net);
	pp_ban_free(b);
}

static void test_mapped_shares_the_v4_net(void **state)
{
	struct pp_ban *b = pp_ban_new();
	struct pp_ban_limits lim = { .limit = 100, .limit_net = 5, .window_s = 60, .ban_s = 600 };
	struct pp_ban_result r;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_false(pp_ban_count(b, &lim, "192.0.2.1", &r));
	for (int i = 0; i < 2; i++)
		assert_false(pp_ban_count(b, &lim, "::ffff:192.0.2.2", &r));
	assert_true(pp_ban_count(b, &lim, "::ffff:192.0.2.3", &r));
	assert_true(r.started_net);
	assert_true(pp_ban_is_banned(b, "192.0.2.200"));
	assert_false(pp_ban_is_banned(b, "192.0.3.1"));
	pp_ban_free(b);
}

static void test_per_ip_still_counts(void **state)
{
	struct pp_ban *b = pp_ban_new();
	struct pp_ban_limits lim = { .limit = 2, .limit_net = 100, .window_s = 60, .ban_s = 600 };
	struct pp_ban_result r;

	(void)state;
	assert_false(pp_ban_count(b, &lim, "198.51.100.7", &r));
	assert_false(pp_ban_count(b, &lim, "198.51.100.7", &r));
	assert_true(pp_ban_count(b, &lim, "198.51.100.7", &r));
	assert_true(r.started_ip);
	assert_false(r.started_net);
	assert_true(pp_ban_is_banned(b, "198.51.100.7"));
	assert_false(pp_ban_is_banned(b, "198.51.100.8"));
	pp_ban_free(b);
}

static void test_net_off(void **state)
{
	struct pp_ban *b = pp_ban_new();
	struct pp_ban_limits lim = { .limit = 2, .limit_net = 0, .window_s = 60, .ban_s = 600 };
	struct pp_ban_result r;
	char ip[32];

	(void)state;
	for (unsigned i = 1; i <= 200; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%u", i);
		assert_false(pp_ban_count(b, &lim, ip, &r));
		assert_int_equal(r.count_net, 0);
		assert_string_equal(r.net, "");
	}
	assert_false(pp_ban_is_banned(b, "203.0.113.1"));
	pp_ban_free(b);
}

/* 20,000 networks pass through the 1,024-slot table: nothing grows, and a
 * banned network is not evicted by the churn of unbanned ones. */
static void test_bounded_and_ban_kept(void **state)
{
	struct pp_ban *b = pp_ban_new();
	struct pp_ban_limits lim = { .limit = 0, .limit_net = 1, .window_s = 60, .ban_s = 600 };
	struct pp_ban_result r;
	char ip[32];

	(void)state;
	assert_false(pp_ban_count(b, &lim, "10.255.255.1", &r));
	assert_true(pp_ban_count(b, &lim, "10.255.255.2", &r));
	assert_true(r.started_net);
	for (unsigned i = 0; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "10.%u.%u.1", (i >> 8) & 0xff, i & 0xff);
		assert_false(pp_ban_count(b, &lim, ip, &r));
	}
	assert_true(pp_ban_is_banned(b, "10.255.255.77"));
	pp_ban_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_of),
		cmocka_unit_test(test_ipv6_per_net),
		cmocka_unit_test(test_mapped_shares_the_v4_net),
		cmocka_unit_test(test_per_ip_still_counts),
		cmocka_unit_test(test_net_off),
		cmocka_unit_test(test_bounded_and_ban_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
