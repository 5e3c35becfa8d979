/* C hooks ABI: hooks.so is loaded with the plugin, init gets the settings,
 * score overrides association, a job runs at start and on its interval and
 * is never called again once it answers PP_ENOTSUP; a module with a wrong
 * ABI is refused with a clear error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/config/config.h"
#include "daemon/daemon.h"
#include "daemon/plugin/plugin_int.h"

static const char *so_path, *badabi_path, *badsize_path;
static char dir[128], counter[256];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static void put(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void copy_so_from(const char *src)
{
	char path[512], buf[65536];
	FILE *in = fopen(src, "rb"), *out;
	size_t n;

	assert_non_null(in);
	snprintf(path, sizeof(path), "%s/hk/hooks.so", dir);
	out = fopen(path, "wb");
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	fclose(out);
}

static void copy_so(void)
{
	copy_so_from(so_path);
}

static int count_lines(void)
{
	FILE *f = fopen(counter, "r");
	int n = 0, c;

	if (!f)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static struct pp_config *make_cfg(bool with_settings)
{
	struct pp_config *c = pp_config_defaults(dir);

	free(c->plugins.dir);
	c->plugins.dir = strdup(dir);
	if (with_settings)
		json_object_set_new(c->plugins.settings, "hk",
				    json_pack("{s:s}", "counter_file", counter));
	return c;
}

static void test_hooks(void **st)
{
	struct pp_config *c;
	struct pp_registry *r = NULL;
	struct pp_err err = { 0 };
	struct pp_devinfo di;
	unsigned char sc[1];
	char path[512];
	(void)st;

	snprintf(dir, sizeof(dir), "/tmp/pp-hooks-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(counter, sizeof(counter), "%s/counter", dir);
	snprintf(path, sizeof(path), "%s/hk", dir);
	mkdir(path, 0700);
	put("hk/plugin.yml", "name: hk\nversion: \"1\"\ndescription: hooks\nvendor: HK\n"
			     "models:\n  M1: {}\n");
	copy_so();

	/* init refuses without its settings: the load fails with the reason */
	c = make_cfg(false);
	assert_int_equal(pp_registry_load(c, &r, &err), PP_EINVAL);
	assert_non_null(strstr(err.msg, "hooks.so: init failed"));
	pp_config_free(c);

	c = make_cfg(true);
	assert_int_equal(pp_registry_load(c, &r, &err), PP_OK);
	assert_non_null(pp_priv(pp_registry_at(r, 0))->hooks);
	pp_devinfo_init(&di);
	strcpy(di.f[PP_F_VENDOR], "HK");
	strcpy(di.f[PP_F_MODEL], "M1");
	assert_int_equal(pp_associate(r, &di, sc), 0);
	assert_int_equal(sc[0], PP_COMPLETE); /* hook keeps the default */
	strcpy(di.f[PP_F_MODEL], "HOOKED");
	assert_int_equal(pp_associate(r, &di, sc), 0);
	assert_int_equal(sc[0], PP_EXACT);    /* hook promotes */
	strcpy(di.f[PP_F_MODEL], "DEMOTE");
	assert_int_equal(pp_associate(r, &di, sc), -1);

	/* jobs: once at start, again after job_interval_s, then never (PP_ENOTSUP) */
	{
		struct pp_daemon d;
		struct pp_jobs *j = NULL;

		memset(&d, 0, sizeof(d));
		assert_int_equal(pp_snaps_init(&d.snaps, false), PP_OK);
		pp_snaps_swap(&d.snaps, pp_snapshot_new(c, r));
		assert_int_equal(pp_jobs_start(&d, &j, &err), PP_OK);
		assert_non_null(j);
		usleep(300 * 1000);
		assert_int_equal(count_lines(), 1);
		usleep(1200 * 1000);
		assert_int_equal(count_lines(), 2);
		usleep(1300 * 1000);
		assert_int_equal(count_lines(), 2);
		pp_jobs_stop(j);
		pp_snaps_fini(&d.snaps); /* frees registry (fini) and config */
	}

	/* not a shared object: clear error */
	put("hk/hooks.so", "not an ELF file");
	c = make_cfg(true);
	assert_int_equal(pp_registry_load(c, &r, &err), PP_EINVAL);
	assert_non_null(strstr(err.msg, "hooks.so: cannot load"));
	pp_config_free(c);

	/* a real module built for another ABI: refused, never called */
	copy_so_from(badabi_path);
	c = make_cfg(true);
	assert_int_equal(pp_registry_load(c, &r, &err), PP_EINVAL);
	assert_non_null(strstr(err.msg, "hooks.so: unsupported hooks ABI 42"));
	pp_config_free(c);

	/* a real module whose descriptor is smaller than abi + size */
	copy_so_from(badsize_path);
	c = make_cfg(true);
	assert_int_equal(pp_registry_load(c, &r, &err), PP_EINVAL);
	assert_non_null(strstr(err.msg, "hooks descriptor of 4 bytes is too small"));
	pp_config_free(c);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_hooks) };

	if (argc < 4) {
		fprintf(stderr, "usage: test-plugins-hooks HOOKS_SO BAD_ABI_SO BAD_SIZE_SO\n");
		return 2;
	}
	so_path = argv[1];
	badabi_path = argv[2];
	badsize_path = argv[3];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
