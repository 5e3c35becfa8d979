/* Install steps in a scratch folder, then an atomic move into the static tree.
 *
 * <cache>/scratch-XXXXXX/work  downloaded files (hard links) + what untar/unzip unpack
 * <cache>/scratch-XXXXXX/out   what cp/mkdir/rename build: exactly what gets installed
 *
 * Archives are unpacked with libarchive's reader and our own *at() writer:
 * every folder is opened with O_NOFOLLOW from the work folder down, entries
 * that are absolute, contain "..", are devices/fifos/sockets, symlinks that
 * are absolute or climb, hard links that do not resolve beneath the work
 * folder, or sizes over the limits refuse the whole package. */
#include "fw_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>

#include "lib/log.h"
#include "lib/safepath.h"
#include "sha.h"

/* Inodes whose SHA-256 is already known (the verified downloads): output
 * files hard-linked from them need no second hashing pass. */
struct known {
	dev_t dev;
	ino_t ino;
	char sum[PP_FW_SUM_MAX]; /* "sha256:hex" or "sha1:hex" */
};

struct job {
	char work[4200], out[4200];
	int workfd, outfd;
	uint64_t written;
	struct known *known;
	size_t n_known;
	struct pp_err *err;
};

/* ---- small file helpers ------------------------------------------------- */

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)ftw;
	if (flag == FTW_DP)
		rmdir(p);
	else
		unlink(p);
	return 0;
}

void pp_fw_rmtree(const char *path)
{
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int pp_fw_open_dirs(int base, const char *rel, bool create, json_t *created,
		    struct pp_err *err)
{
	char comp[256], sofar[PP_PATH_MAX];
	const char *p = rel;
	int fd = dup(base), nfd;
	size_t so = 0;

	if (fd < 0) {
		pp_err_set(err, "out of file descriptors");
		return -1;
	}
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || n >= sizeof(comp) || so + n + 2 > sizeof(sofar)) {
			pp_err_set(err, "'%s': bad path", rel);
			errno = EINVAL;
			goto fail;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (so)
			sofar[so++] = '/';
		memcpy(sofar + so, comp, n);
		so += n;
		sofar[so] = '\0';
		if (create) {
			if (mkdirat(fd, comp, 0755) == 0) {
				if (created)
					json_array_append_new(created, json_string(sofar));
			} else if (errno != EEXIST) {
				pp_err_set(err, "'%s': cannot create folder: %s", sofar,
					   strerror(errno));
				goto fail;
			}
		}
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			if (errno == ELOOP || errno == ENOTDIR)
				pp_err_set(err, "'%s' is a symlink or a file, not a folder", sofar);
			else
				pp_err_set(err, "'%s': %s", sofar, strerror(errno));
			errno = errno == ENOENT ? ENOENT : EINVAL;
			goto fail;
		}
		close(fd);
		fd = nfd;
		p += n;
		while (*p == '/')
			p++;
	}
	return fd;
fail:
	{
		int e = errno;

		close(fd);
		errno = e;
	}
	return -1;
}

/* Split "a/b/c" into dir "a/b" and leaf "c" (dir "" for a single name). */
static void split(const char *rel, char *dir, size_t dsz, const char **leaf)
{
	const char *s = strrchr(rel, '/');

	if (!s) {
		dir[0] = '\0';
		*leaf = rel;
		return;
	}
	snprintf(dir, dsz, "%.*s", (int)(s - rel), rel);
	*leaf = s + 1;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int budget(struct job *j, uint64_t add, const char *name)
{
	j->written += add;
	if (j->written > PP_FW_MAX_TOTAL) {
		pp_err_set(j->err, "'%s': the package unpacks to more than %llu bytes: refused",
			   name, (unsigned long long)PP_FW_MAX_TOTAL);
		return PP_EACCES;
	}
	return PP_OK;
}

/* Copy from an open fd into a new file leaf in dirfd. */
static int copy_fd(struct job *j, int src, int dirfd, const char *leaf, const char *name)
{
	char buf[1 << 16];
	uint64_t n = 0;
	ssize_t r;
	int dst;

	dst = openat(dirfd, leaf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (dst < 0) {
		pp_err_set(j->err, "'%s': cannot create: %s", name, strerror(errno));
		return PP_EIO;
	}
	while ((r = read(src, buf, sizeof(buf))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			pp_err_set(j->err, "'%s': read error: %s", name, strerror(errno));
			close(dst);
			return PP_EIO;
		}
		n += (uint64_t)r;
		if (n > PP_FW_MAX_ENTRY || budget(j, (uint64_t)r, name)) {
			if (n > PP_FW_MAX_ENTRY)
				pp_err_set(j->err, "'%s' is larger than %llu bytes: refused", name,
					   (unsigned long long)PP_FW_MAX_ENTRY);
			close(dst);
			return PP_EACCES;
		}
		if (write_all(dst, buf, (size_t)r)) {
			pp_err_set(j->err, "'%s': write error: %s", name, strerror(errno));
			close(dst);
			return PP_EIO;
		}
	}
	close(dst);
	return PP_OK;
}

/* Copy a whole file for staging: copy_file_range (in-kernel, may reflink),
 * read/write when the filesystems do not allow it. */
static int stage_copy(int src, int dirfd, const char *leaf, uint64_t size, struct pp_err *err)
{
	uint64_t done = 0;
	int dst = openat(dirfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

	if (dst < 0) {
		pp_err_set(err, "staging: %s", strerror(errno));
		return PP_EIO;
	}
	while (done < size) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, (size_t)(size - done), 0);

		if (n > 0) {
			done += (uint64_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		/* EXDEV, EINVAL, ENOSYS, EOPNOTSUPP: plain copy from where we are */
		char buf[1 << 16];
		ssize_t r;

		if (lseek(src, (off_t)done, SEEK_SET) < 0 || lseek(dst, (off_t)done, SEEK_SET) < 0)
			break;
		while ((r = read(src, buf, sizeof(buf))) > 0) {
			if (write_all(dst, buf, (size_t)r))
				break;
			done += (uint64_t)r;
		}
		break;
	}
	if (done != size || fsync(dst) != 0) {
		pp_err_set(err, "staging: short copy or sync failure: %s", strerror(errno));
		close(dst);
		return PP_EIO;
	}
	close(dst);
	return PP_OK;
}

/* ---- archives ------------------------------------------------------------ */

/* Entry or link-target names: relative, no "..", no "." in the middle;
 * leading "./" is dropped. Returns 0 with the normalised name, or -1. */
static int entry_name(const char *in, char *out, size_t outsz, const char **why)
{
	const char *reason;

	if (!in || !*in) {
		*why = "empty name";
		return -1;
	}
	if (in[0] == '/') {
		*why = "absolute path";
		return -1;
	}
	while (in[0] == '.' && in[1] == '/')
		in += 2;
	while (*in == '/')
		in++;
	if (!*in || !strcmp(in, ".")) {
		out[0] = '\0';
		return 0;
	}
	if (pp_path_normalize(in, strlen(in), out, outsz, &reason) != 0) {
		*why = reason;
		return -1;
	}
	return 0;
}

static int refuse(struct job *j, const char *arc, const char *name, const char *why)
{
	pp_err_set(j->err, "%s: entry '%.200s': %s: package refused", arc, name, why);
	return PP_EACCES;
}

static int extract_data(struct job *j, struct archive *a, int fd, const char *arc,
			const char *name)
{
	const void *blk;
	size_t len;
	la_int64_t off, pos = 0;
	uint64_t n = 0;
	int r;

	while ((r = archive_read_data_block(a, &blk, &len, &off)) == ARCHIVE_OK) {
		if (off > pos) { /* sparse hole */
			if (lseek(fd, off, SEEK_SET) < 0)
				return refuse(j, arc, name, "seek failed");
			n += (uint64_t)(off - pos);
			pos = off;
		}
		n += len;
		if (n > PP_FW_MAX_ENTRY)
			return refuse(j, arc, name, "larger than the per-file limit");
		if (budget(j, len, name))
			return PP_EACCES;
		if (write_all(fd, blk, len)) {
			pp_err_set(j->err, "%s: '%s': write error: %s", arc, name, strerror(errno));
			return PP_EIO;
		}
		pos += (la_int64_t)len;
	}
	if (r != ARCHIVE_EOF) {
		pp_err_set(j->err, "%s: entry '%.200s': %s", arc, name, archive_error_string(a));
		return PP_EINVAL;
	}
	if ((uint64_t)pos < n && ftruncate(fd, (off_t)n) != 0)
		return PP_EIO;
	return PP_OK;
}

static int extract_entry(struct job *j, struct archive *a, struct archive_entry *e, int dfd,
			 const char *arc)
{
	const char *raw = archive_entry_pathname(e), *why, *leaf;
	const char *hl = archive_entry_hardlink(e);
	char name[PP_PATH_MAX], dir[PP_PATH_MAX];
	mode_t type = archive_entry_filetype(e);
	int pfd, fd, rc;

	if (!raw)
		return refuse(j, arc, "?", "name is not valid text");
	if (entry_name(raw, name, sizeof(name), &why))
		return refuse(j, arc, raw, why);
	if (archive_entry_size_is_set(e) &&
	    (archive_entry_size(e) < 0 || (uint64_t)archive_entry_size(e) > PP_FW_MAX_ENTRY))
		return refuse(j, arc, raw, "declared size over the per-file limit");
	if (!hl && (type == AE_IFCHR || type == AE_IFBLK))
		return refuse(j, arc, raw, "device file");
	if (!hl && type == AE_IFIFO)
		return refuse(j, arc, raw, "fifo");
	if (!hl && type == AE_IFSOCK)
		return refuse(j, arc, raw, "socket");
	if (!hl && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
		return refuse(j, arc, raw, "unsupported entry type");
	if (!name[0]) {
		if (type == AE_IFDIR)
			return PP_OK;
		return refuse(j, arc, raw, "empty name");
	}
	if (type == AE_IFDIR && !hl) {
		fd = pp_fw_open_dirs(dfd, name, true, NULL, j->err);
		if (fd < 0)
			return refuse(j, arc, raw, j->err->msg);
		close(fd);
		return PP_OK;
	}
	split(name, dir, sizeof(dir), &leaf);
	pfd = pp_fw_open_dirs(dfd, dir, true, NULL, j->err);
	if (pfd < 0) {
		char m[sizeof(j->err->msg)];

		memcpy(m, j->err->msg, sizeof(m));
		return refuse(j, arc, raw, m);
	}
	/* a later entry replaces an earlier one (never writing through it) */
	{
		struct stat st;

		if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISDIR(st.st_mode)) {
				close(pfd);
				return refuse(j, arc, raw, "replaces a folder");
			}
			unlinkat(pfd, leaf, 0);
		}
	}
	if (hl) {
		char target[PP_PATH_MAX];
		struct stat st;
		int src;

		if (entry_name(hl, target, sizeof(target), &why) || !target[0]) {
			close(pfd);
			return refuse(j, arc, raw, "hard link points outside");
		}
		if (pp_open_beneath(dfd, target, &src, &st, &why) != 0) {
			close(pfd);
			return refuse(j, arc, raw, "hard link target is not a file beneath the "
				      "folder");
		}
		rc = copy_fd(j, src, pfd, leaf, name);
		close(src);
		close(pfd);
		return rc;
	}
	if (type == AE_IFLNK) {
		const char *t = archive_entry_symlink(e);
		char target[PP_PATH_MAX];

		if (!t || !*t || t[0] == '/' ||
		    entry_name(t, target, sizeof(target), &why) || !target[0]) {
			close(pfd);
			return refuse(j, arc, raw, "symlink points outside");
		}
		rc = symlinkat(t, pfd, leaf);
		close(pfd);
		if (rc != 0)
			return refuse(j, arc, raw, strerror(errno));
		return budget(j, 1, name);
	}
	fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	close(pfd);
	if (fd < 0)
		return refuse(j, arc, raw, strerror(errno));
	rc = extract_data(j, a, fd, arc, raw);
	close(fd);
	return rc;
}

static int unpack(struct job *j, const struct pp_fw_step *s, const char *path)
{
	const char *arc = s->file->name;
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t count = 0;
	int dfd, rc = PP_OK, r;

	if (!a) {
		pp_err_set(j->err, "out of memory");
		return PP_ENOMEM;
	}
	if (s->kind == PP_FW_UNZIP) {
		archive_read_support_format_zip(a);
	} else {
		archive_read_support_format_tar(a);
		archive_read_support_filter_gzip(a);
		archive_read_support_filter_bzip2(a);
		archive_read_support_filter_xz(a);
	}
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		pp_err_set(j->err, "%s: not a %s archive: %s", arc,
			   s->kind == PP_FW_UNZIP ? "zip" : "tar", archive_error_string(a));
		archive_read_free(a);
		return PP_EINVAL;
	}
	dfd = pp_fw_open_dirs(j->workfd, s->dest, true, NULL, j->err);
	if (dfd < 0) {
		archive_read_free(a);
		return PP_EACCES;
	}
	for (;;) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			pp_err_set(j->err, "%s: %s", arc, archive_error_string(a));
			rc = PP_EINVAL;
			break;
		}
		if (++count > PP_FW_MAX_ENTRIES) {
			pp_err_set(j->err, "%s: more than %d entries: package refused", arc,
				   PP_FW_MAX_ENTRIES);
			rc = PP_EACCES;
			break;
		}
		rc = extract_entry(j, a, e, dfd, arc);
		if (rc)
			break;
	}
	close(dfd);
	archive_read_free(a);
	return rc;
}

/* ---- cp / mkdir / rename ------------------------------------------------- */

static int copy_tree(struct job *j, int srcdir, const char *srcrel, int dstparent,
		     const char *leaf, int depth);

/* Copy work/<rel> (file, folder, or a symlink resolved beneath work) into
 * dstdir/leaf. */
static int copy_any(struct job *j, const char *rel, int dstdir, const char *leaf, int depth)
{
	struct stat st;
	const char *why;
	int fd, rc;

	if (depth > 64) {
		pp_err_set(j->err, "cp: '%s': folders nested too deep", rel);
		return PP_EINVAL;
	}
	if (fstatat(j->workfd, rel, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		pp_err_set(j->err, "cp: '%s': %s", rel, strerror(errno));
		return PP_EIO;
	}
	if (S_ISDIR(st.st_mode)) {
		int sfd = pp_fw_open_dirs(j->workfd, rel, false, NULL, j->err);

		if (sfd < 0)
			return PP_EACCES;
		rc = copy_tree(j, sfd, rel, dstdir, leaf, depth + 1);
		close(sfd);
		return rc;
	}
	if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
		pp_err_set(j->err, "cp: '%s' is not a file", rel);
		return PP_EACCES;
	}
	if (S_ISREG(st.st_mode)) {
		/* same scratch folder: a hard link is a copy that costs nothing (no
		 * file in the work folder is ever written again) */
		struct stat dst;

		if (fstatat(dstdir, leaf, &dst, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(dst.st_mode))
			unlinkat(dstdir, leaf, 0);
		if (linkat(j->workfd, rel, dstdir, leaf, 0) == 0)
			return PP_OK;
	}
	/* regular files and symlinks: opened beneath the work folder only */
	rc = pp_open_beneath(j->workfd, rel, &fd, &st, &why);
	if (rc != 0) {
		pp_err_set(j->err, "cp: '%s': %s", rel, why);
		return PP_EACCES;
	}
	rc = copy_fd(j, fd, dstdir, leaf, rel);
	close(fd);
	return rc;
}

static int copy_tree(struct job *j, int srcdir, const char *srcrel, int dstparent,
		     const char *leaf, int depth)
{
	int dfd, dup_fd, rc = PP_OK;
	struct dirent *de;
	DIR *d;

	if (mkdirat(dstparent, leaf, 0755) != 0 && errno != EEXIST) {
		pp_err_set(j->err, "cp: '%s': %s", leaf, strerror(errno));
		return PP_EIO;
	}
	dfd = openat(dstparent, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		pp_err_set(j->err, "cp: '%s' exists and is not a folder", leaf);
		return PP_EIO;
	}
	dup_fd = dup(srcdir);
	d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		close(dfd);
		pp_err_set(j->err, "cp: '%s': cannot list", srcrel);
		return PP_EIO;
	}
	while (rc == PP_OK && (de = readdir(d))) {
		char sub[PP_PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", srcrel, de->d_name) >= sizeof(sub)) {
			pp_err_set(j->err, "cp: path too long");
			rc = PP_EINVAL;
			break;
		}
		rc = copy_any(j, sub, dfd, de->d_name, depth);
	}
	closedir(d);
	close(dfd);
	return rc;
}

static int step_cp(struct job *j, const struct pp_fw_step *s)
{
	char pattern[8400];
	size_t wl = strlen(j->work);
	glob_t g;
	int dfd, rc = PP_OK, r;

	snprintf(pattern, sizeof(pattern), "%s/%s", j->work, s->src);
	r = glob(pattern, 0, NULL, &g);
	if (r == GLOB_NOMATCH) {
		pp_err_set(j->err, "cp: nothing matches '%s'", s->src);
		return PP_ENOENT;
	}
	if (r != 0) {
		pp_err_set(j->err, "cp: cannot expand '%s'", s->src);
		return PP_EIO;
	}
	dfd = pp_fw_open_dirs(j->outfd, s->dest, true, NULL, j->err);
	if (dfd < 0) {
		globfree(&g);
		return PP_EACCES;
	}
	for (size_t i = 0; rc == PP_OK && i < g.gl_pathc; i++) {
		const char *m = g.gl_pathv[i], *rel, *base;
		char norm[PP_PATH_MAX], why_buf[8];
		const char *why = why_buf;

		if (strncmp(m, j->work, wl) != 0 || m[wl] != '/') {
			pp_err_set(j->err, "cp: '%s' is outside the work folder", m);
			rc = PP_EACCES;
			break;
		}
		rel = m + wl + 1;
		if (pp_path_normalize(rel, strlen(rel), norm, sizeof(norm), &why) != 0) {
			pp_err_set(j->err, "cp: '%s': %s", rel, why);
			rc = PP_EACCES;
			break;
		}
		base = strrchr(norm, '/');
		base = base ? base + 1 : norm;
		rc = copy_any(j, norm, dfd, base, 0);
	}
	close(dfd);
	globfree(&g);
	return rc;
}

static int step_rename(struct job *j, const struct pp_fw_step *s)
{
	char fdir[PP_PATH_MAX], tdir[PP_PATH_MAX];
	const char *fleaf, *tleaf;
	struct stat st;
	int ffd, tfd, rc = PP_OK;

	split(s->from, fdir, sizeof(fdir), &fleaf);
	split(s->to, tdir, sizeof(tdir), &tleaf);
	ffd = pp_fw_open_dirs(j->outfd, fdir, false, NULL, j->err);
	if (ffd < 0 || fstatat(ffd, fleaf, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (ffd >= 0)
			close(ffd);
		pp_err_set(j->err, "rename: '%s' does not exist in the output", s->from);
		return PP_ENOENT;
	}
	tfd = pp_fw_open_dirs(j->outfd, tdir, true, NULL, j->err);
	if (tfd < 0) {
		close(ffd);
		return PP_EACCES;
	}
	if (fstatat(tfd, tleaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		pp_err_set(j->err, "rename: '%s' already exists", s->to);
		rc = PP_EEXIST;
	} else if (renameat(ffd, fleaf, tfd, tleaf) != 0) {
		pp_err_set(j->err, "rename: '%s' to '%s': %s", s->from, s->to, strerror(errno));
		rc = PP_EIO;
	}
	close(ffd);
	close(tfd);
	return rc;
}

static int run_step(struct job *j, const struct pp_fw_pkg *pkg, const struct pp_fw_step *s,
		    char *const *paths)
{
	int fd;

	switch (s->kind) {
	case PP_FW_UNTAR:
	case PP_FW_UNZIP:
		for (size_t i = 0; i < pkg->n_files; i++)
			if (pkg->files[i] == s->file)
				return unpack(j, s, paths[i]);
		pp_err_set(j->err, "internal: file not in package");
		return PP_ERR;
	case PP_FW_CP:
		return step_cp(j, s);
	case PP_FW_MKDIR:
		fd = pp_fw_open_dirs(j->outfd, s->dest, true, NULL, j->err);
		if (fd < 0)
			return PP_EACCES;
		close(fd);
		return PP_OK;
	case PP_FW_RENAME:
		return step_rename(j, s);
	}
	return PP_ERR;
}

/* ---- collect the output and move it into the root ------------------------- */

struct outfile {
	char rel[PP_PATH_MAX];
	uint64_t size;
	char sum[PP_FW_SUM_MAX]; /* "sha256:hex" or "sha1:hex" */
	bool owned;   /* ours to remove at uninstall */
	bool present; /* identical file already in the root: nothing to move */
};

struct outlist {
	struct outfile *v;
	size_t n, cap;
};

static int collect(struct job *j, int dirfd, const char *prefix, struct outlist *l, int depth)
{
	int dup_fd = dup(dirfd), rc = PP_OK;
	struct dirent *de;
	DIR *d;

	if (depth > 64) {
		pp_err_set(j->err, "output folders nested too deep");
		return PP_EINVAL;
	}
	d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		pp_err_set(j->err, "cannot list the output");
		return PP_EIO;
	}
	while (rc == PP_OK && (de = readdir(d))) {
		char rel[PP_PATH_MAX];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(rel, sizeof(rel), "%s%s%s", prefix, *prefix ? "/" : "",
				     de->d_name) >= sizeof(rel)) {
			pp_err_set(j->err, "output path too long");
			rc = PP_EINVAL;
			break;
		}
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			rc = PP_EIO;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int sfd = openat(dirfd, de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sfd < 0) {
				rc = PP_EIO;
				break;
			}
			rc = collect(j, sfd, rel, l, depth + 1);
			close(sfd);
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			pp_err_set(j->err, "output '%s' is not a regular file", rel);
			rc = PP_EACCES;
			break;
		}
		if (l->n == l->cap) {
			size_t nc = l->cap ? l->cap * 2 : 16;
			struct outfile *nv = realloc(l->v, nc * sizeof(*nv));

			if (!nv) {
				rc = PP_ENOMEM;
				break;
			}
			l->v = nv;
			l->cap = nc;
		}
		struct outfile *o = &l->v[l->n++];
		bool known = false;

		memset(o, 0, sizeof(*o));
		snprintf(o->rel, sizeof(o->rel), "%s", rel);
		for (size_t k = 0; k < j->n_known; k++)
			if (j->known[k].dev == st.st_dev && j->known[k].ino == st.st_ino) {
				memcpy(o->sum, j->known[k].sum, sizeof(o->sum));
				o->size = (uint64_t)st.st_size;
				known = true;
			}
		if (known)
			continue;
		int fd = openat(dirfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

		char h[65];

		if (fd < 0 || pp_fw_hash_fd(fd, h, NULL, &o->size, NULL, NULL, NULL)) {
			if (fd >= 0)
				close(fd);
			pp_err_set(j->err, "cannot read output '%s'", rel);
			rc = PP_EIO;
			break;
		}
		close(fd);
		snprintf(o->sum, sizeof(o->sum), "sha256:%s", h);
	}
	closedir(d);
	return rc;
}

/* Does one of these install records list this path? */
bool pp_fw_records_list(json_t *records, const char *rel)
{
	size_t i, k;
	json_t *rec, *f;

	json_array_foreach(records, i, rec) {
		json_array_foreach(json_object_get(rec, "files"), k, f) {
			const char *p = json_string_value(json_object_get(f, "path"));

			if (p && !strcmp(p, rel))
				return true;
		}
	}
	return false;
}

/* Compare with what is already in the root. PP_OK: absent or identical. */
static int check_target(struct job *j, int rootfd, struct outfile *o, json_t *owners)
{
	char dir[PP_PATH_MAX], h[65];
	const char *leaf;
	struct stat st;
	uint64_t size;
	int dfd, fd;

	split(o->rel, dir, sizeof(dir), &leaf);
	o->owned = true;
	dfd = pp_fw_open_dirs(rootfd, dir, false, NULL, j->err);
	if (dfd < 0) {
		if (errno == ENOENT)
			return PP_OK;
		pp_err_set(j->err, "cannot install '%s': a parent is a symlink or a file", o->rel);
		return PP_EEXIST;
	}
	if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		close(dfd);
		return PP_OK;
	}
	if (!S_ISREG(st.st_mode)) {
		close(dfd);
		pp_err_set(j->err, "cannot install '%s': something else of that name is in the "
			   "root", o->rel);
		return PP_EEXIST;
	}
	fd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	bool is1 = !strncmp(o->sum, "sha1:", 5);

	if (fd < 0 || pp_fw_hash_fd(fd, is1 ? NULL : h, is1 ? h : NULL, &size, NULL, NULL, NULL)) {
		if (fd >= 0)
			close(fd);
		pp_err_set(j->err, "cannot read '%s' in the root", o->rel);
		return PP_EIO;
	}
	close(fd);
	if (size != o->size || strcmp(h, strchr(o->sum, ':') + 1)) {
		pp_err_set(j->err, "'%s' already exists in the root with other content%s: not "
			   "replaced, nothing installed", o->rel,
			   pp_fw_records_list(owners, o->rel) ? " (installed by another package)" :
							     "");
		return PP_EEXIST;
	}
	o->present = true;
	/* identical: shared with another package, or the administrator's own */
	o->owned = pp_fw_records_list(owners, o->rel);
	return PP_OK;
}

static int commit(struct job *j, const char *root, struct outlist *l, json_t *owners,
		  json_t *record)
{
	char stage[4300];
	int rootfd, sfd = -1, rc = PP_OK;
	size_t moved = 0;
	json_t *dirs = json_array(), *files = json_array();

	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		pp_err_set(j->err, "%s: %s", root, strerror(errno));
		rc = PP_EIO;
		goto out;
	}
	for (size_t i = 0; i < l->n; i++)
		if ((rc = check_target(j, rootfd, &l->v[i], owners)))
			goto out;
	/* stage every new file on the root's filesystem first */
	snprintf(stage, sizeof(stage), "%s/.phoneprov-staging-XXXXXX", root);
	if (!mkdtemp(stage)) {
		pp_err_set(j->err, "%s: cannot create a staging folder: %s", root, strerror(errno));
		rc = PP_EIO;
		goto out;
	}
	sfd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; sfd >= 0 && i < l->n; i++) {
		char name[32];
		int src;

		if (l->v[i].present)
			continue;
		snprintf(name, sizeof(name), "f%zu", i);
		src = openat(j->outfd, l->v[i].rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (src < 0) {
			rc = PP_EIO;
			break;
		}
		rc = stage_copy(src, sfd, name, l->v[i].size, j->err);
		close(src);
		if (rc)
			break;
	}
	if (sfd < 0 && rc == PP_OK) {
		pp_err_set(j->err, "%s: %s", stage, strerror(errno));
		rc = PP_EIO;
	}
	/* one atomic rename per file; never replacing anything */
	for (moved = 0; rc == PP_OK && moved < l->n; moved++) {
		struct outfile *o = &l->v[moved];
		char dir[PP_PATH_MAX], name[32];
		const char *leaf;
		int dfd;

		if (o->present)
			continue;
		split(o->rel, dir, sizeof(dir), &leaf);
		dfd = pp_fw_open_dirs(rootfd, dir, true, dirs, j->err);
		if (dfd < 0) {
			rc = PP_EACCES;
			break;
		}
		snprintf(name, sizeof(name), "f%zu", moved);
		if (renameat2(sfd, name, dfd, leaf, RENAME_NOREPLACE) != 0) {
			pp_err_set(j->err, "cannot move '%s' into place: %s", o->rel,
				   strerror(errno));
			rc = errno == EEXIST ? PP_EEXIST : PP_EIO;
			close(dfd);
			break;
		}
		fsync(dfd);
		close(dfd);
	}
	if (rc) {
		/* roll back what was moved, then the folders made (deepest first) */
		for (size_t i = 0; i < moved; i++)
			if (!l->v[i].present)
				unlinkat(rootfd, l->v[i].rel, 0);
		for (size_t i = json_array_size(dirs); i-- > 0;)
			unlinkat(rootfd, json_string_value(json_array_get(dirs, i)), AT_REMOVEDIR);
	} else {
		for (size_t i = 0; i < l->n; i++) {
			char algo[8];
			const char *colon = strchr(l->v[i].sum, ':');

			snprintf(algo, sizeof(algo), "%.*s", (int)(colon - l->v[i].sum), l->v[i].sum);
			json_array_append_new(files, json_pack("{s:s, s:I, s:s, s:b}", "path",
							       l->v[i].rel, "size",
							       (json_int_t)l->v[i].size, algo,
							       colon + 1, "owned", l->v[i].owned));
		}
		json_object_set(record, "files", files);
		json_object_set(record, "dirs", dirs);
	}
	if (sfd >= 0)
		close(sfd);
	pp_fw_rmtree(stage);
out:
	if (rootfd >= 0)
		close(rootfd);
	json_decref(dirs);
	json_decref(files);
	return rc;
}

static const char *step_name(enum pp_fw_step_kind k)
{
	static const char *const names[] = { "untar", "unzip", "cp", "mkdir", "rename" };

	return names[k];
}

int pp_fw_run_install(const char *cache_dir, const char *root, const struct pp_fw_pkg *pkg,
		      char *const *paths, char *const *sums, json_t *owners, pp_fw_progress_fn progress, void *arg,
		      json_t **record, struct pp_err *err)
{
	char scratch[4200];
	struct outlist l = { 0 };
	struct job j;
	int rc = PP_OK;

	*record = NULL;
	memset(&j, 0, sizeof(j));
	j.err = err;
	j.workfd = j.outfd = -1;
	snprintf(scratch, sizeof(scratch), "%s/scratch-XXXXXX", cache_dir);
	if (!mkdtemp(scratch)) {
		pp_err_set(err, "%s: cannot create a scratch folder: %s", cache_dir,
			   strerror(errno));
		return PP_EIO;
	}
	if (snprintf(j.work, sizeof(j.work), "%s/work", scratch) >= (int)sizeof(j.work) ||
	    snprintf(j.out, sizeof(j.out), "%s/out", scratch) >= (int)sizeof(j.out) || mkdir(j.work, 0755) || mkdir(j.out, 0755) ||
	    (j.workfd = open(j.work, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (j.outfd = open(j.out, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		pp_err_set(err, "%s: %s", scratch, strerror(errno));
		rc = PP_EIO;
		goto out;
	}
	/* the downloads appear in the work folder under their names */
	j.known = calloc(pkg->n_files ? pkg->n_files : 1, sizeof(*j.known));
	if (!j.known) {
		rc = PP_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < pkg->n_files; i++) {
		const char *name = pkg->files[i]->name;
		struct stat st;

		if (linkat(AT_FDCWD, paths[i], j.workfd, name, 0) != 0) {
			int src = open(paths[i], O_RDONLY | O_CLOEXEC);

			if (src < 0) {
				pp_err_set(err, "%s: %s", paths[i], strerror(errno));
				rc = PP_EIO;
				goto out;
			}
			unlinkat(j.workfd, name, 0);
			rc = copy_fd(&j, src, j.workfd, name, name);
			close(src);
			if (rc)
				goto out;
		}
		if (fstatat(j.workfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && sums && sums[i]) {
			j.known[j.n_known].dev = st.st_dev;
			j.known[j.n_known].ino = st.st_ino;
			snprintf(j.known[j.n_known].sum, PP_FW_SUM_MAX, "%s", sums[i]);
			j.n_known++;
		}
	}
	for (size_t i = 0; i < pkg->n_steps; i++) {
		const struct pp_fw_step *s = &pkg->steps[i];
		char what[200];

		snprintf(what, sizeof(what), "step %zu/%zu %s", i + 1, pkg->n_steps,
			 step_name(s->kind));
		if (progress)
			progress(arg, what, i, pkg->n_steps);
		rc = run_step(&j, pkg, s, paths);
		if (rc) {
			char m[sizeof(err->msg)];

			memcpy(m, err->msg, sizeof(m));
			if (snprintf(err->msg, sizeof(err->msg), "install step %zu (%s, line %d): %s",
				     i + 1, step_name(s->kind), s->line, m) >= (int)sizeof(err->msg))
				err->msg[sizeof(err->msg) - 1] = '\0';
			goto out;
		}
	}
	rc = collect(&j, j.outfd, "", &l, 0);
	if (rc)
		goto out;
	if (l.n == 0) {
		pp_err_set(err, "the install steps produced no files: nothing installed");
		rc = PP_EINVAL;
		goto out;
	}
	if (progress)
		progress(arg, "move into place", 0, 0);
	*record = json_object();
	rc = commit(&j, root, &l, owners, *record);
	if (rc) {
		json_decref(*record);
		*record = NULL;
	}
out:
	if (j.workfd >= 0)
		close(j.workfd);
	if (j.outfd >= 0)
		close(j.outfd);
	free(l.v);
	free(j.known);
	pp_fw_rmtree(scratch);
	return rc;
}
