/* Unit tests of the config loader: defaults, path resolution, parsed values,
 * and error messages of pp_config_load_buf (no file system access). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/config/config.h"
#include "lib/log.h"

static struct pp_config *load(const char *text, struct pp_err *err)
{
	struct pp_config *c = NULL;
	int rc = pp_config_load_buf("t.yml", text, strlen(text), "/srv/pp", false, &c, err);

	if (rc != PP_OK)
		return NULL;
	return c;
}

static void expect_error(const char *text, const char *msg)
{
	struct pp_err err = { 0 };
	struct pp_config *c = NULL;
	int rc = pp_config_load_buf("t.yml", text, strlen(text), "/srv/pp", false, &c, &err);

	assert_int_equal(rc, PP_EINVAL);
	assert_null(c);
	assert_string_equal(err.msg, msg);
}

static void test_defaults(void **state)
{
	struct pp_config *c = pp_config_defaults("/srv/pp");

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->base_dir, "/srv/pp");
	assert_string_equal(c->data_dir, "/srv/pp/var");
	assert_int_equal(c->log_level, PP_LOG_INFO);
	assert_string_equal(c->tftp.listen.host, "127.0.0.1");
	assert_int_equal(c->tftp.listen.port, 6969);
	assert_string_equal(c->tftp.listen.text, "127.0.0.1:6969");
	assert_string_equal(c->tftp.root, "/srv/pp/tftpboot");
	assert_int_equal(c->tftp.max_blksize, 65464);
	assert_int_equal(c->tftp.max_windowsize, 64);
	assert_int_equal(c->tftp.timeout_ms, 1000);
	assert_int_equal(c->tftp.retries, 5);
	assert_int_equal(c->tftp.max_transfers, 8192);
	assert_int_equal(c->tftp.max_per_client, 4);
	assert_int_equal(c->tftp.max_timeout_s, 10);
	assert_int_equal(c->http.header_timeout_s, 10);
	assert_int_equal(c->http.max_connections, 8192);
	assert_int_equal(c->http.max_connections_per_ip, 128);
	assert_int_equal(c->api.header_timeout_s, 10);
	assert_int_equal(c->api.max_connections, 512);
	assert_int_equal(c->api.max_connections_per_ip, 32);
	assert_int_equal(c->http.listen.port, 8667);
	assert_string_equal(c->http.root, "/srv/pp/tftpboot");
	assert_int_equal(c->api.listen.port, 8666);
	assert_string_equal(c->api.token_file, "/srv/pp/var/api-token");
	assert_string_equal(c->api.admin_token_file, "/srv/pp/var/admin-token");
	assert_string_equal(c->dhcp_sniffer.interface, "");
	assert_string_equal(c->dhcp_sniffer.pcap_file, "");
	assert_true(c->autoprov);
	assert_int_equal(c->security.unknown_mac_limit, 20);
	assert_int_equal(c->security.unknown_mac_limit_per_net, 1000);
	assert_int_equal(c->security.unknown_mac_window_s, 60);
	assert_int_equal(c->security.ban_s, 600);
	assert_int_equal(c->synchronize.t1_ms, 500);
	assert_string_equal(c->plugins.dir, "/srv/pp/plugins");
	assert_true(c->plugins.all);
	assert_int_equal(c->plugins.n_enabled, 0);
	assert_true(json_is_object(c->plugins.settings));
	assert_int_equal(json_object_size(c->plugins.settings), 0);
	pp_config_free(c);
}

static void test_empty_is_defaults(void **state)
{
	struct pp_err err = { 0 };
	struct pp_config *c = load("", &err), *d = pp_config_defaults("/srv/pp");

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->data_dir, d->data_dir);
	assert_string_equal(c->tftp.root, d->tftp.root);
	assert_int_equal(c->tftp.max_blksize, d->tftp.max_blksize);
	assert_int_equal(c->security.ban_s, d->security.ban_s);
	assert_int_equal(c->security.unknown_mac_limit_per_net,
			 d->security.unknown_mac_limit_per_net);
	assert_true(c->plugins.all);
	pp_config_free(c);
	pp_config_free(d);
}

static void test_paths(void **state)
{
	struct pp_err err = { 0 };
	struct pp_config *c = load("data_dir: state/\n"
				   "tftp: { root: ./boot }\n"
				   "http: { root: /var/www/phones/ }\n"
				   "api: { token_file: ../secrets/t, admin_token_file: a }\n"
				   "dhcp_sniffer: { pcap_file: caps/x.pcap }\n"
				   "plugins: { dir: p }\n",
				   &err);

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->data_dir, "/srv/pp/state");
	assert_string_equal(c->tftp.root, "/srv/pp/boot");
	assert_string_equal(c->http.root, "/var/www/phones");
	assert_string_equal(c->api.token_file, "/srv/pp/../secrets/t");
	assert_string_equal(c->api.admin_token_file, "/srv/pp/a");
	assert_string_equal(c->dhcp_sniffer.pcap_file, "/srv/pp/caps/x.pcap");
	assert_string_equal(c->plugins.dir, "/srv/pp/p");
	pp_config_free(c);
}

static void test_values(void **state)
{
	struct pp_err err = { 0 };
	struct pp_config *c = load("log_level: warn\n"
				   "autoprov: false\n"
				   "tftp: { listen: \"[::1]:69\", max_blksize: 1428, max_windowsize: 1,"
				   " timeout_ms: 250, retries: 0 }\n"
				   "api: { listen: \"0.0.0.0:80\" }\n"
				   "dhcp_sniffer: { interface: eth1 }\n"
				   "security: { unknown_mac_limit: 5, unknown_mac_limit_per_net: 0,"
				   " unknown_mac_window_s: 10, ban_s: 0 }\n"
				   "synchronize: { t1_ms: 40 }\n"
				   "plugins:\n"
				   "  enabled: [yealink, snom]\n"
				   "  settings: { yealink: { server: 10.1.1.1, port: 5060 } }\n",
				   &err);

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->log_level, PP_LOG_WARN);
	assert_false(c->autoprov);
	assert_string_equal(c->tftp.listen.host, "::1");
	assert_int_equal(c->tftp.listen.port, 69);
	assert_string_equal(c->tftp.listen.text, "[::1]:69");
	assert_int_equal(c->tftp.max_blksize, 1428);
	assert_int_equal(c->tftp.max_windowsize, 1);
	assert_int_equal(c->tftp.timeout_ms, 250);
	assert_int_equal(c->tftp.retries, 0);
	assert_string_equal(c->api.listen.host, "0.0.0.0");
	assert_int_equal(c->api.listen.port, 80);
	assert_string_equal(c->dhcp_sniffer.interface, "eth1");
	assert_int_equal(c->security.unknown_mac_limit, 5);
	assert_int_equal(c->security.unknown_mac_limit_per_net, 0);
	assert_int_equal(c->security.ban_s, 0);
	assert_int_equal(c->synchronize.t1_ms, 40);
	assert_false(c->plugins.all);
	assert_int_equal(c->plugins.n_enabled, 2);
	assert_string_equal(c->plugins.enabled[0], "yealink");
	assert_string_equal(c->plugins.enabled[1], "snom");
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(c->plugins.settings, "yealink"), "port")), 5060);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(c->plugins.settings, "yealink"), "server")),
			    "10.1.1.1");
	pp_config_free(c);
}

static void test_empty_enabled_list(void **state)
{
	struct pp_err err = { 0 };
	struct pp_config *c = load("plugins: { enabled: [] }\n", &err);

	(void)state;
	assert_non_null(c);
	assert_false(c->plugins.all);
	assert_int_equal(c->plugins.n_enabled, 0);
	pp_config_free(c);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("tftp:\n  max_windowsize: 65536\n",
		     "t.yml:2:19: tftp.max_windowsize must be between 1 and 65535, not 65536");
	expect_error("tftp:\n  timeout_ms: 5\n",
		     "t.yml:2:15: tftp.timeout_ms must be between 10 and 600000, not 5");
	expect_error("synchronize:\n  t1_ms: 0\n",
		     "t.yml:2:10: synchronize.t1_ms must be between 1 and 60000, not 0");
	expect_error("synchronize:\n  t2_ms: 4000\n",
		     "t.yml:2:3: unknown key 't2_ms' in synchronize");
	expect_error("tftp:\n  retries: 101\n",
		     "t.yml:2:12: tftp.retries must be between 0 and 100, not 101");
	expect_error("tftp:\n  max_per_client: 0\n",
		     "t.yml:2:19: tftp.max_per_client must be between 1 and 65536, not 0");
	expect_error("tftp:\n  max_timeout_s: 256\n",
		     "t.yml:2:18: tftp.max_timeout_s must be between 1 and 255, not 256");
	expect_error("tftp:\n  max_transfers: 0\n",
		     "t.yml:2:18: tftp.max_transfers must be between 1 and 65536, not 0");
	expect_error("http:\n  header_timeout_s: 0\n",
		     "t.yml:2:21: http.header_timeout_s must be between 1 and 3600, not 0");
	expect_error("api:\n  max_connections_per_ip: 0\n",
		     "t.yml:2:27: api.max_connections_per_ip must be between 1 and 65536, not 0");
	expect_error("security:\n  unknown_mac_limit_per_net: -1\n",
		     "t.yml:2:30: security.unknown_mac_limit_per_net must be between 0 and 1000000, not -1");
	expect_error("security:\n  unknown_mac_limit_per_net: 1000001\n",
		     "t.yml:2:30: security.unknown_mac_limit_per_net must be between 0 and 1000000, not 1000001");
	expect_error("security:\n  unknown_mac_limit_per_net: lots\n",
		     "t.yml:2:30: security.unknown_mac_limit_per_net must be an integer, not 'lots'");
	expect_error("security:\n  unknown_mac_limit_per_nets: 5\n",
		     "t.yml:2:3: unknown key 'unknown_mac_limit_per_nets' in security");
	expect_error("http: []\n", "t.yml:1:7: http must be a mapping, not a list");
	expect_error("api:\n  listen: \":8666\"\n",
		     "t.yml:2:11: api.listen ':8666' has no host (use 0.0.0.0 for every address)");
	expect_error("api:\n  listen: \"1.2.3.4:http\"\n",
		     "t.yml:2:11: api.listen '1.2.3.4:http' has no valid port");
	expect_error("plugins:\n  enabled: [[a]]\n",
		     "t.yml:2:13: plugins.enabled entry must be a string, not a list");
	expect_error("plugins:\n  settings: { \"a b\": {} }\n",
		     "t.yml:2:15: plugins.settings: 'a b' is not a valid plugin name");
	expect_error("plugins:\n  other: 1\n", "t.yml:2:3: unknown key 'other' in plugins");
	expect_error("plugins:\n  enabled: [..]\n",
		     "t.yml:2:13: plugins.enabled: '..' is not a valid plugin name");
	expect_error("log_level: [info]\n", "t.yml:1:12: log_level must be a string, not a list");
	expect_error("--- a\n--- b\n", "t.yml:2:1: only one YAML document per file is allowed");
}

/* issue 15: https, trusted_proxies, nat, url_key */
static void test_production_keys(void **state)
{
	struct pp_err err = { 0 };
	struct pp_config *c;
	char ip[64];
	json_t *url;

	(void)state;
	c = load("https: { listen: \"127.0.0.1:8443\", cert: tls/c.pem, key: /k.pem }\n"
		 "http: { trusted_proxies: [\"192.0.2.10\", \"10.1.0.0/16\", \"2001:db8::/32\"] }\n"
		 "nat: true\n"
		 "provisioning: { url_key: 0123456789abcdef-x }\n", &err);
	assert_non_null(c);
	assert_int_equal(c->https.listen.port, 8443);
	assert_string_equal(c->https.cert, "/srv/pp/tls/c.pem");
	assert_string_equal(c->https.key, "/k.pem");
	assert_string_equal(c->https.client_ca, "");
	assert_true(c->nat);
	assert_int_equal(c->http.n_trusted_proxies, 3);
	assert_true(pp_cidr_match_text(c->http.trusted_proxies, 3, "192.0.2.10"));
	assert_false(pp_cidr_match_text(c->http.trusted_proxies, 3, "192.0.2.11"));
	assert_true(pp_cidr_match_text(c->http.trusted_proxies, 3, "10.1.255.1"));
	assert_true(pp_cidr_match_text(c->http.trusted_proxies, 3, "::ffff:10.1.0.9"));
	assert_true(pp_cidr_match_text(c->http.trusted_proxies, 3, "2001:db8:ffff::1"));
	assert_false(pp_cidr_match_text(c->http.trusted_proxies, 3, "2001:db9::1"));
	url = json_object_get(c->general, "http_base_url");
	assert_string_equal(json_string_value(url), "http://127.0.0.1:8667/0123456789abcdef-x");
	/* XFF: right-most untrusted, trusted hops skipped */
	assert_true(pp_xff_client("203.0.113.9, 198.51.100.1, 10.1.2.3", c->http.trusted_proxies, 3,
				  ip, sizeof(ip)));
	assert_string_equal(ip, "198.51.100.1");
	assert_true(pp_xff_client(" 10.1.0.1 ,192.0.2.10", c->http.trusted_proxies, 3, ip,
				  sizeof(ip)));
	assert_string_equal(ip, "10.1.0.1");
	assert_false(pp_xff_client("unknown, 10.1.0.1", c->http.trusted_proxies, 3, ip, sizeof(ip)));
	assert_false(pp_xff_client(" , ", c->http.trusted_proxies, 3, ip, sizeof(ip)));
	pp_config_free(c);
	/* the README writes every https key empty: off */
	c = load("https: { listen: \"\", cert: \"\", key: \"\", client_ca: \"\" }\n", &err);
	assert_non_null(c);
	assert_int_equal(c->https.listen.port, 0);
	pp_config_free(c);
	c = load("provisioning: { public_url: \"https://prov.example.com/base/\", "
		 "url_key: 0123456789abcdef }\n", &err);
	assert_non_null(c);
	assert_string_equal(json_string_value(json_object_get(c->general, "http_base_url")),
			    "https://prov.example.com/base/0123456789abcdef");
	pp_config_free(c);
	expect_error("https:\n  listen: \"127.0.0.1:8443\"\n",
		     "t.yml:2:3: https.listen is set: https.cert and https.key are needed too");
	expect_error("https:\n  port: 1\n", "t.yml:2:3: unknown key 'port' in https");
	expect_error("http:\n  trusted_proxies: 10.0.0.1\n",
		     "t.yml:2:20: http.trusted_proxies must be a list of addresses or networks "
		     "(e.g. [\"192.0.2.10\", \"10.1.0.0/16\"])");
	expect_error("http:\n  trusted_proxies: [10.0.0.1/8]\n",
		     "t.yml:2:21: http.trusted_proxies: '10.0.0.1/8' has bits set after the prefix "
		     "(write the network address)");
	expect_error("http:\n  trusted_proxies: [\"::1/129\"]\n",
		     "t.yml:2:21: http.trusted_proxies: '::1/129' has a prefix length that is not "
		     "0..128");
	expect_error("nat: yes\n", "t.yml:1:6: nat must be true or false, not 'yes'");
	expect_error("provisioning:\n  url_key: short\n",
		     "t.yml:2:12: provisioning.url_key must be 16 to 128 characters of A-Z a-z 0-9 - "
		     ". _ ~ (e.g. the output of `openssl rand -hex 16`)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_is_defaults),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_empty_enabled_list),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_production_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
