/* Firmware packages (DESIGN §9): list, install, uninstall, verify.
 * Install records live in <data_dir>/firmware/<plugin>/<pkg>.json; downloads
 * in <data_dir>/cache; one operation at a time (<data_dir>/firmware/.lock). */
#include "firmware.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "daemon/plugin/plugin.h"
#include "lib/safepath.h"
#include "fw_int.h"
#include "pkgs.h"

static bool safe_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 100 || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._+-", s[i]))
			return false;
	return true;
}

static int plugin_dir(const struct pp_config *cfg, const struct pp_registry *reg,
		      const char *plugin, char *out, size_t n, struct pp_err *err)
{
	const struct pp_plugin *p = reg ? pp_registry_find(reg, plugin) : NULL;
	struct stat st;

	if (p) {
		snprintf(out, n, "%s", p->dir);
		return PP_OK;
	}
	if (!reg && safe_name(plugin)) {
		snprintf(out, n, "%s/%s", cfg->plugins.dir, plugin);
		if (stat(out, &st) == 0 && S_ISDIR(st.st_mode))
			return PP_OK;
	}
	pp_err_set(err, "no such plugin: %s", plugin);
	return PP_ENOENT;
}

/* *out NULL (and PP_OK) when the plugin has no pkgs.yml. */
static int load_pkgs(const char *dir, struct pp_pkgs **out, struct pp_err *err)
{
	char path[4200];
	int rc;

	if (snprintf(path, sizeof(path), "%s/pkgs.yml", dir) >= (int)sizeof(path)) {
		pp_err_set(err, "%s: path too long", dir);
		return PP_EINVAL;
	}
	rc = pp_pkgs_load(path, out, err);
	if (rc == PP_ENOENT) {
		*out = NULL;
		return PP_OK;
	}
	return rc;
}

static void rec_path(const struct pp_config *cfg, const char *plugin, const char *pkg, char *out,
		     size_t n)
{
	if (pkg)
		snprintf(out, n, "%s/firmware/%s/%s.json", cfg->data_dir, plugin, pkg);
	else
		snprintf(out, n, "%s/firmware/%s", cfg->data_dir, plugin);
}

static bool installed(const struct pp_config *cfg, const char *plugin, const char *pkg)
{
	char path[4200];

	rec_path(cfg, plugin, pkg, path, sizeof(path));
	return access(path, F_OK) == 0;
}

/* All install records, except plugin/pkg when given. */
static json_t *all_records(const struct pp_config *cfg, const char *xplugin, const char *xpkg)
{
	json_t *arr = json_array();
	char base[4200];
	struct dirent *pe, *fe;
	DIR *d, *sd;

	snprintf(base, sizeof(base), "%s/firmware", cfg->data_dir);
	d = opendir(base);
	if (!d)
		return arr;
	while ((pe = readdir(d))) {
		char sub[4400];

		if (pe->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", base, pe->d_name) >= (int)sizeof(sub))
			continue;
		sd = opendir(sub);
		if (!sd)
			continue;
		while ((fe = readdir(sd))) {
			size_t l = strlen(fe->d_name);
			char path[4700], pkg[256];
			json_t *j;

			if (fe->d_name[0] == '.' || l < 6 || strcmp(fe->d_name + l - 5, ".json"))
				continue;
			snprintf(pkg, sizeof(pkg), "%.*s", (int)(l - 5), fe->d_name);
			if (xplugin && !strcmp(xplugin, pe->d_name) && !strcmp(xpkg, pkg))
				continue;
			if (snprintf(path, sizeof(path), "%s/%s", sub, fe->d_name) >=
			    (int)sizeof(path))
				continue;
			j = json_load_file(path, 0, NULL);
			if (j && json_is_object(j))
				json_array_append_new(arr, j);
			else
				json_decref(j);
		}
		closedir(sd);
	}
	closedir(d);
	return arr;
}

static int lock_fw(const struct pp_config *cfg, int *fd, struct pp_err *err)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/firmware", cfg->data_dir);
	if (pp_mkdirs(path, 0755, err))
		return PP_EIO;
	snprintf(path, sizeof(path), "%s/firmware/.lock", cfg->data_dir);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (*fd < 0) {
		pp_err_set(err, "%s: %s", path, strerror(errno));
		return PP_EIO;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
		close(*fd);
		*fd = -1;
		pp_err_set(err, "another firmware install or uninstall is running: try again");
		return PP_EBUSY;
	}
	return PP_OK;
}

static void unlock_fw(int fd)
{
	if (fd >= 0)
		close(fd); /* drops the flock */
}

static json_t *pkg_json(const char *plugin, const struct pp_fw_pkg *k, bool inst)
{
	json_t *files = json_array();

	for (size_t i = 0; i < k->n_files; i++) {
		const struct pp_fw_file *f = k->files[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "id", f->id, "name", f->name, "url",
				      f->url, "size", (json_int_t)f->size);

		if (f->sha256[0])
			json_object_set_new(o, "sha256", json_string(f->sha256));
		if (f->sha1[0])
			json_object_set_new(o, "sha1", json_string(f->sha1));
		json_array_append_new(files, o);
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "name", k->name, "plugin", plugin,
			 "description", k->description, "version", k->version, "installed", inst,
			 "files", files);
}

static int list_one(const struct pp_config *cfg, const char *plugin, const char *dir,
		    json_t *arr, struct pp_err *err)
{
	struct pp_pkgs *p = NULL;
	int rc = load_pkgs(dir, &p, err);

	if (rc)
		return rc;
	for (size_t i = 0; p && i < p->n_pkgs; i++)
		json_array_append_new(arr, pkg_json(plugin, &p->pkgs[i],
						    installed(cfg, plugin, p->pkgs[i].name)));
	pp_pkgs_free(p);
	return PP_OK;
}

int pp_fw_list(const struct pp_config *cfg, const struct pp_registry *reg, const char *plugin,
	       json_t **out, struct pp_err *err)
{
	json_t *arr = json_array();
	char dir[4200];
	int rc = PP_OK;

	*out = NULL;
	if (plugin) {
		rc = plugin_dir(cfg, reg, plugin, dir, sizeof(dir), err);
		if (rc == PP_OK)
			rc = list_one(cfg, plugin, dir, arr, err);
	} else {
		size_t n = reg ? pp_registry_count(reg) : 0;

		for (size_t i = 0; rc == PP_OK && i < n; i++) {
			const struct pp_plugin *p = pp_registry_at(reg, i);

			rc = list_one(cfg, p->name, p->dir, arr, err);
		}
	}
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return PP_OK;
}

/* Write JSON to path atomically (temp file, fsync, rename). */
static int write_record(const char *path, json_t *rec, struct pp_err *err)
{
	char tmp[4300];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || json_dumpfd(rec, fd, JSON_INDENT(2) | JSON_SORT_KEYS) != 0 ||
	    fsync(fd) != 0) {
		pp_err_set(err, "%s: cannot write the install record: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return PP_EIO;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		pp_err_set(err, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return PP_EIO;
	}
	return PP_OK;
}

/* Check one recorded file: "ok", "missing", "size", "hash", "not a file". */
static const char *check_file(int rootfd, const char *rel, json_t *f)
{
	char norm[PP_PATH_MAX], dir[PP_PATH_MAX], h[65], h1[41];
	const char *why, *leaf, *s;
	struct pp_err e;
	struct stat st;
	uint64_t size;
	int dfd, fd;

	if (pp_path_normalize(rel, strlen(rel), norm, sizeof(norm), &why) != 0)
		return "bad path";
	s = strrchr(norm, '/');
	snprintf(dir, sizeof(dir), "%.*s", s ? (int)(s - norm) : 0, norm);
	leaf = s ? s + 1 : norm;
	dfd = pp_fw_open_dirs(rootfd, dir, false, NULL, &e);
	if (dfd < 0)
		return "missing";
	fd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	close(dfd);
	if (fd < 0)
		return errno == ENOENT ? "missing" : "not a file";
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return "not a file";
	}
	if ((uint64_t)st.st_size != (uint64_t)json_integer_value(json_object_get(f, "size"))) {
		close(fd);
		return "size";
	}
	/* the record keeps the hash the download was checked with */
	s = json_string_value(json_object_get(f, "sha256"));
	bool use256 = s != NULL;

	if (!s)
		s = json_string_value(json_object_get(f, "sha1"));
	if (pp_fw_hash_fd(fd, use256 ? h : NULL, use256 ? NULL : h1, &size, NULL, NULL, NULL)) {
		close(fd);
		return "unreadable";
	}
	close(fd);
	return s && !strcmp(s, use256 ? h : h1) ? "ok" : "hash";
}

/* Remove what a record installed (owned files nobody else lists, unmodified),
 * then the folders it created when empty. Returns the number kept. */
/* A folder this record made is still used by another package: that package's
 * record takes it over, so that its own uninstall removes it when empty. */
static void hand_over_dir(const struct pp_config *cfg, json_t *others, const char *dir)
{
	size_t i, k, n = strlen(dir);
	json_t *rec, *f;

	json_array_foreach(others, i, rec) {
		json_array_foreach(json_object_get(rec, "files"), k, f) {
			const char *p = json_string_value(json_object_get(f, "path"));
			const char *plugin = json_string_value(json_object_get(rec, "plugin"));
			const char *pkg = json_string_value(json_object_get(rec, "package"));
			json_t *dirs = json_object_get(rec, "dirs");
			char path[4200];
			struct pp_err e;

			if (!p || strncmp(p, dir, n) != 0 || p[n] != '/' || !plugin || !pkg ||
			    !json_is_array(dirs))
				continue;
			/* parents before children, like the order they were created in */
			json_array_insert_new(dirs, 0, json_string(dir));
			rec_path(cfg, plugin, pkg, path, sizeof(path));
			write_record(path, rec, &e);
			return;
		}
	}
}

static size_t remove_installed(const struct pp_config *cfg, json_t *rec, json_t *others)
{
	const char *root = json_string_value(json_object_get(rec, "root"));
	json_t *files = json_object_get(rec, "files"), *dirs = json_object_get(rec, "dirs"), *f;
	size_t i, kept = 0;
	int rootfd;

	if (!root || (rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return 0;
	json_array_foreach(files, i, f) {
		const char *rel = json_string_value(json_object_get(f, "path"));
		const char *st;
		char norm[PP_PATH_MAX];
		const char *why;

		if (!rel || !json_is_true(json_object_get(f, "owned")) || pp_fw_records_list(others, rel))
			continue;
		if (pp_path_normalize(rel, strlen(rel), norm, sizeof(norm), &why) != 0)
			continue;
		st = check_file(rootfd, norm, f);
		if (!strcmp(st, "ok")) {
			char dir[PP_PATH_MAX];
			const char *s = strrchr(norm, '/');
			struct pp_err e;
			int dfd;

			snprintf(dir, sizeof(dir), "%.*s", s ? (int)(s - norm) : 0, norm);
			dfd = pp_fw_open_dirs(rootfd, dir, false, NULL, &e);
			if (dfd >= 0) {
				unlinkat(dfd, s ? s + 1 : norm, 0);
				close(dfd);
			}
		} else if (strcmp(st, "missing") != 0) {
			char q[600];

			kept++;
			pp_log(PP_LOG_WARN, "firmware.kept", "path=%s reason=%s",
			       pp_q(q, sizeof(q), norm), st);
		}
	}
	for (i = json_array_size(dirs); i-- > 0;) {
		const char *rel = json_string_value(json_array_get(dirs, i));
		char norm[PP_PATH_MAX];
		const char *why;

		if (!rel || pp_path_normalize(rel, strlen(rel), norm, sizeof(norm), &why) != 0)
			continue;
		if (unlinkat(rootfd, norm, AT_REMOVEDIR) != 0 && errno == ENOTEMPTY)
			hand_over_dir(cfg, others, norm);
	}
	close(rootfd);
	return kept;
}

int pp_fw_install(const struct pp_config *cfg, const struct pp_registry *reg, const char *plugin,
		  const char *pkgname, pp_fw_progress_fn progress, void *arg, struct pp_err *err)
{
	char dir[4200], cache[4200], rpath[4200], **paths = NULL, **sums = NULL;
	const struct pp_fw_pkg *pkg;
	struct pp_pkgs *p = NULL;
	json_t *owners = NULL, *rec = NULL;
	int lockfd = -1, rc;

	rc = plugin_dir(cfg, reg, plugin, dir, sizeof(dir), err);
	if (rc)
		return rc;
	rc = load_pkgs(dir, &p, err);
	if (rc)
		return rc;
	pkg = pp_pkgs_find(p, pkgname);
	if (!pkg) {
		pp_err_set(err, "plugin %s has no firmware package '%s'", plugin, pkgname);
		rc = PP_ENOENT;
		goto out;
	}
	rc = lock_fw(cfg, &lockfd, err);
	if (rc)
		goto out;
	rec_path(cfg, plugin, pkgname, rpath, sizeof(rpath));
	if (access(rpath, F_OK) == 0) {
		pp_err_set(err, "%s/%s is already installed (uninstall it first)", plugin,
			   pkgname);
		rc = PP_EEXIST;
		goto out;
	}
	snprintf(cache, sizeof(cache), "%s/cache", cfg->data_dir);
	paths = calloc(pkg->n_files ? pkg->n_files : 1, sizeof(*paths));
	sums = calloc(pkg->n_files ? pkg->n_files : 1, sizeof(*sums));
	if (!paths || !sums) {
		rc = PP_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < pkg->n_files; i++) {
		paths[i] = malloc(4300);
		sums[i] = malloc(PP_FW_SUM_MAX);
		if (!paths[i] || !sums[i]) {
			rc = PP_ENOMEM;
			goto out;
		}
		rc = pp_fw_fetch(cache, pkg->files[i], progress, arg, paths[i], 4300, sums[i],
				 err);
		if (rc) {
			pp_log(PP_LOG_WARN, "firmware.fetch_failed", "plugin=%s package=%s file=%s",
			       plugin, pkgname, pkg->files[i]->id);
			goto out;
		}
	}
	owners = all_records(cfg, NULL, NULL);
	rc = pp_fw_run_install(cache, cfg->tftp.root, pkg, paths, sums, owners, progress, arg, &rec,
			       err);
	if (rc) {
		pp_log(PP_LOG_WARN, "firmware.install_failed", "plugin=%s package=%s", plugin,
		       pkgname);
		/* a refused archive or a failing step is bad input, not a missing
		 * right or a missing package: keep 403/404 for those */
		if (rc == PP_EACCES || rc == PP_ENOENT || rc == PP_ERR)
			rc = PP_EINVAL;
		goto out;
	}
	json_object_set_new(rec, "plugin", json_string(plugin));
	json_object_set_new(rec, "package", json_string(pkgname));
	json_object_set_new(rec, "version", json_string(pkg->version));
	json_object_set_new(rec, "root", json_string(cfg->tftp.root));
	json_object_set_new(rec, "installed_ms", json_integer(pp_now_ms()));
	rec_path(cfg, plugin, NULL, dir, sizeof(dir));
	rc = pp_mkdirs(dir, 0755, err);
	if (rc == PP_OK)
		rc = write_record(rpath, rec, err);
	if (rc) {
		remove_installed(cfg, rec, owners);
		goto out;
	}
	pp_log(PP_LOG_INFO, "firmware.installed", "plugin=%s package=%s version=%s files=%zu",
	       plugin, pkgname, pkg->version, json_array_size(json_object_get(rec, "files")));
out:
	for (size_t i = 0; pkg && i < pkg->n_files; i++) {
		if (paths)
			free(paths[i]);
		if (sums)
			free(sums[i]);
	}
	free(paths);
	free(sums);
	json_decref(owners);
	json_decref(rec);
	unlock_fw(lockfd);
	pp_pkgs_free(p);
	return rc;
}

int pp_fw_uninstall(const struct pp_config *cfg, const struct pp_registry *reg,
		    const char *plugin, const char *pkg, struct pp_err *err)
{
	char rpath[4200];
	json_t *rec, *others;
	int lockfd = -1, rc;
	size_t kept;

	(void)reg;
	if (!safe_name(plugin) || !safe_name(pkg)) {
		pp_err_set(err, "%s/%s is not installed", plugin, pkg);
		return PP_ENOENT;
	}
	rc = lock_fw(cfg, &lockfd, err);
	if (rc)
		return rc;
	rec_path(cfg, plugin, pkg, rpath, sizeof(rpath));
	rec = json_load_file(rpath, 0, NULL);
	if (!rec) {
		unlock_fw(lockfd);
		pp_err_set(err, "%s/%s is not installed", plugin, pkg);
		return PP_ENOENT;
	}
	others = all_records(cfg, plugin, pkg);
	kept = remove_installed(cfg, rec, others);
	unlink(rpath);
	rec_path(cfg, plugin, NULL, rpath, sizeof(rpath));
	rmdir(rpath); /* the plugin's record folder, when it was the last one */
	pp_log(PP_LOG_INFO, "firmware.uninstalled", "plugin=%s package=%s kept=%zu", plugin, pkg,
	       kept);
	json_decref(others);
	json_decref(rec);
	unlock_fw(lockfd);
	return PP_OK;
}

int pp_fw_verify(const struct pp_config *cfg, const struct pp_registry *reg, json_t **out,
		 struct pp_err *err)
{
	json_t *recs = all_records(cfg, NULL, NULL), *pkgs = json_array(), *rec;
	bool all_ok = true;
	size_t i;

	(void)reg, (void)err;
	json_array_foreach(recs, i, rec) {
		const char *root = json_string_value(json_object_get(rec, "root"));
		json_t *files = json_array(), *f;
		int rootfd = root ? open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		bool ok = true;
		size_t k;

		json_array_foreach(json_object_get(rec, "files"), k, f) {
			const char *rel = json_string_value(json_object_get(f, "path"));
			const char *st = rootfd < 0 ? "missing" : rel ? check_file(rootfd, rel, f) :
								       "bad path";

			ok = ok && !strcmp(st, "ok");
			json_array_append_new(files, json_pack("{s:s?, s:s, s:O?}", "path", rel,
							       "status", st, "size",
							       json_object_get(f, "size")));
		}
		if (rootfd >= 0)
			close(rootfd);
		all_ok = all_ok && ok;
		json_array_append_new(pkgs, json_pack("{s:O?, s:O?, s:O?, s:b, s:o}", "plugin",
						      json_object_get(rec, "plugin"), "package",
						      json_object_get(rec, "package"), "version",
						      json_object_get(rec, "version"), "ok", ok,
						      "files", files));
	}
	json_decref(recs);
	*out = json_pack("{s:b, s:o}", "ok", all_ok, "packages", pkgs);
	return PP_OK;
}
