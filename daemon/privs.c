/* Dropping privileges after binding (see privs.h). */
#include "privs.h"

#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "lib/caps.h"
#include "lib/log.h"

static uid_t chown_uid;
static gid_t chown_gid;

static int chown_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return lchown(path, chown_uid, chown_gid) == 0 ? 0 : -1;
}

static int switch_user(const struct pp_config *cfg, struct pp_err *err)
{
	struct passwd *pw = getpwnam(cfg->user);

	if (!pw) {
		pp_err_set(err, "%s: user: no such user '%s'", cfg->path, cfg->user);
		return PP_ENOENT;
	}
	if (pw->pw_uid == 0) {
		pp_err_set(err, "%s: user: '%s' is root; name an unprivileged user", cfg->path,
			   cfg->user);
		return PP_EINVAL;
	}
	/* the data folder was created as root: the user writes rendered files,
	 * the store and the cache there from now on */
	chown_uid = pw->pw_uid;
	chown_gid = pw->pw_gid;
	if (nftw(cfg->data_dir, chown_one, 16, FTW_PHYS) != 0) {
		pp_err_set(err, "%s: cannot hand it to user %s: %s", cfg->data_dir, cfg->user,
			   strerror(errno));
		return PP_EIO;
	}
	if (setgroups(1, &pw->pw_gid) != 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
		pp_err_set(err, "cannot switch to user %s: %s", cfg->user, strerror(errno));
		return PP_EIO;
	}
	if (setresuid(0, 0, 0) == 0) { /* must be impossible now */
		pp_err_set(err, "switching to user %s did not drop root", cfg->user);
		return PP_EIO;
	}
	pp_log(PP_LOG_INFO, "privs.user", "user=%s uid=%u gid=%u", cfg->user,
	       (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
	return PP_OK;
}

int pp_privs_drop(const struct pp_config *cfg, struct pp_err *err)
{
	uint64_t before = pp_caps_effective();
	int rc;

	if (geteuid() == 0) {
		if (cfg->user && cfg->user[0]) {
			if ((rc = switch_user(cfg, err)) != PP_OK)
				return rc;
		} else {
			pp_log(PP_LOG_WARN, "privs.root",
			       "reason=\"running as root: set user: in the configuration (or run "
			       "under the shipped systemd unit)\"");
			return PP_OK;
		}
	}
	rc = pp_caps_clear();
	if (rc != 0) {
		pp_err_set(err, "cannot drop capabilities: %s", strerror(-rc));
		return PP_EIO;
	}
	if (before)
		pp_log(PP_LOG_INFO, "privs.dropped", "capabilities=0x%llx now=0x%llx",
		       (unsigned long long)before, (unsigned long long)pp_caps_effective());
	return PP_OK;
}
