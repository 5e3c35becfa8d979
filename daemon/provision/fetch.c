/* Phones: a file request (TFTP/HTTP) or a DHCP packet goes extract → find
 * the device (by MAC, else by IP through ip2mac) → create it on first sight
 * (autoprov) → associate → render its files when missing or stale → serve
 * (rendered file, else a plugin's common file, else the static tree). */
#include "prov_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extractors/identify.h"
#include "lib/log.h"
#include "lib/metrics.h"

struct look {
	const char *path;
	const char *peer;
	char mac[18];           /* in: extracted MAC ("" = none); out: the device's */
	char bound[18];         /* ip2mac(peer) */
	bool nat;               /* in: nat mode, the address never names a device */
	bool mac_from_ip;       /* out: the device was found through ip2mac */
	json_t *dev;
	json_t *config;
	int config_rc;
	struct pp_blob *out;
	bool have_file;
	const struct pp_config *cfg;
	const struct pp_registry *reg;
};

static int look_txn(struct pp_txn *t, void *arg)
{
	struct look *l = arg;
	struct pp_file f;
	int rc;

	json_decref(l->dev);
	json_decref(l->config);
	l->dev = l->config = NULL;
	l->have_file = false;
	free(l->out->data);
	l->out->data = NULL;
	l->bound[0] = '\0';
	l->mac_from_ip = false;
	if (l->peer && *l->peer && (pp_ip2mac_get(t, l->peer, l->bound) != PP_OK ||
				    !pp_mac_is_device(l->bound)))
		l->bound[0] = '\0'; /* (a binding to a non-device MAC is stale data) */
	if (!l->mac[0] && l->bound[0] && !l->nat) {
		memcpy(l->mac, l->bound, sizeof(l->mac));
		l->mac_from_ip = true;
	}
	if (l->mac[0] && pp_dev_get(t, l->mac, &l->dev) != PP_OK)
		l->dev = NULL;
	if (l->dev)
		l->config_rc = prov_resolve_config(t, l->cfg, l->reg, l->dev, &l->config);
	rc = pp_file_get(t, l->path, &f);
	if (rc == PP_ENOENT)
		return PP_OK;
	if (rc)
		return rc;
	l->out->data = malloc(f.size ? f.size : 1);
	if (!l->out->data)
		return PP_ENOMEM;
	memcpy(l->out->data, f.data, f.size);
	l->out->size = f.size;
	l->out->mtime_ms = f.mtime_ms;
	snprintf(l->out->etag, sizeof(l->out->etag), "%s", f.etag);
	l->have_file = true;
	return PP_OK;
}

static bool info_differs(const json_t *dev, const struct pp_devinfo *di)
{
	static const char *const keys[PP_F_N] = { "vendor", "model", "version", "mac", "serial" };

	for (int f = 0; f < PP_F_N; f++)
		if (f != PP_F_MAC && di->f[f][0] && strcmp(prov_jstr(dev, keys[f]), di->f[f]) != 0)
			return true;
	return false;
}

/* A request without a MAC that found its device by address only: does
 * what it says about the phone (vendor, model) contradict that device? Then
 * it is another phone at the same address (a NAT, a reused lease), never
 * an update of this one (a T46S's address asking for a T48S's
 * y000000000065.cfg stays a T46S). */
static bool info_conflicts(const json_t *dev, const struct pp_devinfo *di)
{
	static const int fields[] = { PP_F_VENDOR, PP_F_MODEL };

	for (size_t i = 0; i < PP_ARRAY_LEN(fields); i++) {
		const char *have = prov_jstr(dev, i ? "model" : "vendor");
		const char *want = di->f[fields[i]];

		if (have[0] && want[0] && strcasecmp(have, want) != 0)
			return true;
	}
	return false;
}

static bool dev_has_path(const json_t *dev, const char *path)
{
	json_t *files = json_object_get(json_object_get(dev, "render"), "files"), *v;
	size_t i;

	json_array_foreach(files, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), path) == 0)
			return true;
	return false;
}

static void blob_mark_device(struct pp_blob *out, const json_t *dev)
{
	const json_t *render = json_object_get(dev, "render");

	snprintf(out->mac, sizeof(out->mac), "%s", prov_jstr(dev, "mac"));
	out->trigger = *prov_jstr(render, "trigger") &&
		       strcmp(prov_jstr(render, "trigger"), out->path) == 0;
}

/* Serve bytes held in memory (just rendered, or a common file not stored
 * yet) with the same ETag the store gives the same bytes. */
static int blob_from_memory(struct pp_blob *out, const void *data, size_t len)
{
	free(out->data);
	out->data = malloc(len ? len : 1);
	if (!out->data)
		return PP_ENOMEM;
	memcpy(out->data, data, len);
	out->size = len;
	out->mtime_ms = pp_now_ms();
	pp_file_etag(data, len, out->etag);
	return PP_OK;
}

static int serve_static(const struct pp_request *rq, struct pp_blob *out, const char **reason)
{
	struct stat st;
	int rc, fd;

	rc = pp_open_beneath(rq->rootfd, out->path, &fd, &st, reason);
	if (rc == -ENOENT || rc == -EISDIR || rc == -ENOTDIR)
		return PP_ENOENT;
	if (rc != 0)
		return PP_EACCES;
	out->fd = fd;
	out->size = (uint64_t)st.st_size;
	out->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	/* static files: identity of the file, not of its bytes (never read whole) */
	snprintf(out->etag, sizeof(out->etag), "\"%llx-%llx-%llx\"", (unsigned long long)st.st_ino,
		 (unsigned long long)st.st_size, (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
		 (unsigned long long)st.st_mtim.tv_nsec);
	return PP_OK;
}

static void ban_count(struct pp_prov *p, const struct pp_config *cfg, const char *ip,
		      const char *path, bool *banned)
{
	struct pp_ban_limits lim = { cfg->security.unknown_mac_limit,
				     cfg->security.unknown_mac_limit_per_net,
				     cfg->security.unknown_mac_window_s, cfg->security.ban_s };
	struct pp_ban_result r;
	char q[PP_PATH_MAX + 8];

	*banned = pp_ban_count(p->ban, &lim, ip, &r);
	if (r.started_ip) {
		PP_COUNT(bans, 1);
		pp_log(PP_LOG_WARN, "security.ban",
		       "client=%s scope=ip unknown_mac_requests=%u limit=%u window_s=%u ban_s=%u last=%s",
		       ip, r.count_ip, lim.limit, lim.window_s, lim.ban_s, pp_q(q, sizeof(q), path));
	}
	if (r.started_net) {
		PP_COUNT(bans, 1);
		pp_log(PP_LOG_WARN, "security.ban",
		       "client=%s scope=net net=%s unknown_mac_requests=%u limit=%u window_s=%u ban_s=%u last=%s",
		       ip, r.net, r.count_net, lim.limit_net, lim.window_s, lim.ban_s,
		       pp_q(q, sizeof(q), path));
	}
}

static int fetch(struct pp_prov *p, struct pp_snapshot *snap, const struct pp_request *rq,
		 struct pp_blob *out, const char **reason, pp_prov_done_fn done, void *ctx)
{
	const struct pp_registry *reg = snap->reg;
	const struct pp_config *cfg = snap->cfg;
	struct pp_ex_input in;
	struct look l = { 0 };
	struct pp_devinfo di;
	struct pp_plugin_file pf;
	const struct pp_plugin *fp = NULL;
	char pmac[18];
	bool known, exempt, fresh, banned, per_device;
	int rc;

	if (rq->bad_key) {
		/* a wrong provisioning key is a probe like an unknown MAC */
		char q[PP_PATH_MAX + 8];

		pp_log(PP_LOG_INFO, "security.bad_key", "client=%s path=%s", rq->peer_ip,
		       pp_q(q, sizeof(q), out->path));
		if (!pp_ban_is_banned(p->ban, rq->peer_ip)) {
			ban_count(p, cfg, rq->peer_ip, out->path, &banned);
			*reason = banned ? "banned" : "wrong provisioning key";
		} else {
			*reason = "banned";
		}
		return PP_EACCES;
	}
	memset(&in, 0, sizeof(in));
	if (rq->proto == PP_PROTO_TFTP) {
		in.s[PP_SRC_TFTP_FILE] = out->path;
		in.len[PP_SRC_TFTP_FILE] = strlen(out->path);
	} else {
		in.s[PP_SRC_HTTP_PATH] = out->path;
		in.len[PP_SRC_HTTP_PATH] = strlen(out->path);
		if (rq->user_agent) {
			in.s[PP_SRC_HTTP_UA] = rq->user_agent;
			in.len[PP_SRC_HTTP_UA] = strlen(rq->user_agent);
		}
	}
	pp_identify(reg, &in, &di);
	per_device = pp_registry_match_file(reg, out->path, &pf, &fp, pmac);
	l.path = out->path;
	l.peer = rq->peer_ip;
	l.out = out;
	l.cfg = cfg;
	l.reg = reg;
	l.nat = cfg->nat;
	memcpy(l.mac, pmac[0] ? pmac : di.f[PP_F_MAC], sizeof(l.mac));
	rc = pp_store_read(p->store, look_txn, &l);
	if (rc != PP_OK) {
		*reason = "store read failed";
		rc = PP_EIO;
		goto out;
	}
	/* found by its address only: not when its config says it is behind
	 * NAT (`nat: true` in its config chain: the address is shared), nor
	 * when the request describes another phone */
	if (l.dev && l.mac_from_ip && json_is_true(json_object_get(l.config, "nat"))) {
		json_decref(l.dev);
		json_decref(l.config);
		l.dev = l.config = NULL;
		l.mac[0] = '\0';
		l.bound[0] = '\0';
	} else if (l.dev && l.mac_from_ip && info_conflicts(l.dev, &di)) {
		pp_log(PP_LOG_INFO, "device.ip_conflict",
		       "client=%s bound_mac=%s bound_model=%s requested_model=%s path=%s "
		       "action=not_the_same_phone", rq->peer_ip, l.mac, prov_jstr(l.dev, "model"),
		       di.f[PP_F_MODEL], out->path);
		json_decref(l.dev);
		json_decref(l.config);
		l.dev = l.config = NULL;
		l.mac[0] = '\0';
		l.bound[0] = '\0';
	}
	known = l.dev != NULL;
	/* a banned address is served only what proves to be its own device:
	 * the request names a MAC (file name, User-Agent) that is bound to
	 * that address; a request without a MAC proves nothing */
	exempt = known && !l.mac_from_ip && l.bound[0] && strcmp(l.bound, l.mac) == 0;
	if (!exempt && pp_ban_is_banned(p->ban, rq->peer_ip)) {
		*reason = "banned";
		rc = PP_EACCES;
		goto out;
	}
	if (per_device && pf.sensitive) {
		/* one line per sensitive request, for fail2ban (docs/fail2ban/) */
		char q[PP_PATH_MAX + 8];

		pp_log(PP_LOG_INFO, "security.sensitive_file",
		       "client=%s known=%d mac=%s proto=%s path=%s", rq->peer_ip, known,
		       known ? l.mac : pmac[0] ? pmac : "-",
		       rq->proto == PP_PROTO_TFTP ? "tftp" : "http", pp_q(q, sizeof(q), out->path));
	}
	if (per_device && pf.sensitive && !known) {
		ban_count(p, cfg, rq->peer_ip, out->path, &banned);
		if (banned) {
			*reason = "banned";
			rc = PP_EACCES;
			goto out;
		}
	}
	/* the MAC named by the file wins over one given elsewhere */
	if (pmac[0] && strcmp(pmac, di.f[PP_F_MAC]) != 0)
		memcpy(di.f[PP_F_MAC], pmac, sizeof(pmac));
	if (!di.f[PP_F_MAC][0] && l.mac[0])
		memcpy(di.f[PP_F_MAC], l.mac, sizeof(l.mac));
	if (l.dev && l.config_rc != PP_OK && l.config_rc != PP_ENOENT)
		pp_log(PP_LOG_WARN, "device.config_invalid", "mac=%s rc=%d", l.mac, l.config_rc);
	fresh = known && !info_differs(l.dev, &di) &&
		strcmp(prov_jstr(l.dev, "ip"), rq->peer_ip ? rq->peer_ip : "") == 0 &&
		prov_dev_fresh(reg, l.dev, l.config);
	if (!fresh && !rq->no_park && pp_mac_is_device(di.f[PP_F_MAC]) &&
	    (known || cfg->autoprov)) {
		/* the device must be created, updated or re-rendered first: a job
		 * for the worker (the serving thread never writes) */
		struct job *j = job_new(JOB_APPLY, di.f[PP_F_MAC]);

		if (!j) {
			rc = PP_ENOMEM;
			goto out;
		}
		j->coalesce = true;
		snprintf(j->ip, sizeof(j->ip), "%s", rq->peer_ip ? rq->peer_ip : "");
		j->di = di;
		j->has_di = true;
		if (per_device && fp)
			snprintf(j->prefer, sizeof(j->prefer), "%s", fp->name);
		j->a.create = cfg->autoprov;
		/* bind the IP when the MAC came from the request itself */
		j->a.bind_ip = rq->peer_ip && *rq->peer_ip && !cfg->nat;
		if (done) {
			/* from here the worker owns `out` until it calls done():
			 * nothing below may touch it */
			free(out->data);
			out->data = NULL;
			j->fill = out;
			rc = prov_submit(p, j, done, ctx);
			json_decref(l.dev);
			json_decref(l.config);
			if (rc == PP_OK) {
				PP_COUNT(prov_parked, 1);
				*reason = "queued";
				return PP_EAGAIN;
			}
			*reason = rc == PP_EBUSY ? "provisioning queue full" : "shutting down";
			return rc;
		}
		rc = prov_submit(p, j, NULL, NULL);
		if (rc == PP_OK) {
			for (size_t i = 0; i < j->a.r.n; i++) {
				struct pp_rfile *rf = &j->a.r.f[i];

				if (strcmp(rf->path, out->path) != 0)
					continue;
				if (blob_from_memory(out, rf->data, rf->len) != PP_OK) {
					rc = PP_ENOMEM;
					job_free(j);
					goto out;
				}
				l.have_file = true;
			}
			json_decref(l.dev);
			l.dev = json_incref(j->a.dev);
		}
		job_free(j);
	}
	if (l.have_file) {
		if (l.dev && dev_has_path(l.dev, out->path))
			blob_mark_device(out, l.dev);
		rc = PP_OK;
		goto out;
	}
	/* a plugin's common file not stored yet: serve it from memory */
	if (pp_registry_common_file(reg, out->path, &pf, &fp)) {
		rc = blob_from_memory(out, pf.common_data, pf.common_len);
		goto out;
	}
	rc = serve_static(rq, out, reason);
out:
	if (rc != PP_OK) {
		free(out->data);
		out->data = NULL;
	}
	json_decref(l.dev);
	json_decref(l.config);
	return rc;
}

int pp_prov_fetch(struct pp_prov *p, const struct pp_request *rq, struct pp_blob *out,
		  const char **reason, pp_prov_done_fn done, void *ctx)
{
	struct pp_snapshot *snap;
	int rc;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	*reason = "";
	if (pp_path_normalize(rq->path, rq->path_len, out->path, sizeof(out->path), reason) != 0)
		return PP_EACCES;
	snap = pp_snaps_acquire(p->snaps);
	if (!snap) {
		*reason = "shutting down";
		return PP_EIO;
	}
	rc = fetch(p, snap, rq, out, reason, done, ctx);
	pp_snapshot_release(snap);
	return rc;
}

void pp_blob_release(struct pp_blob *b)
{
	if (b->fd >= 0)
		close(b->fd);
	free(b->data);
	b->fd = -1;
	b->data = NULL;
}

/* ---- after a transfer ---------------------------------------------------- */

int done_txn(struct pp_txn *t, struct done_rec *d, bool *provisioned)
{
	json_t *dev, *ev;
	int rc = pp_dev_get(t, d->mac, &dev);

	*provisioned = false;
	if (rc)
		return rc;
	json_object_set_new(dev, "last_seen", json_integer((json_int_t)d->at));
	if (d->trigger && strcmp(prov_jstr(dev, "state"), "provisioned") != 0) {
		json_object_set_new(dev, "state", json_string("provisioned"));
		json_object_set_new(dev, "provisioned", json_integer((json_int_t)d->at));
		rc = prov_event(t, "device.provisioned", d->mac, prov_jstr(dev, "plugin"), NULL);
		*provisioned = true;
	}
	if (d->trigger) {
		/* which line config the phone fetched (provd's remote state) */
		char user[256];

		prov_line1_username(t, dev, user, sizeof(user));
		if (user[0])
			json_object_set_new(dev, "remote_state_sip_username", json_string(user));
	}
	ev = json_pack("{s:s, s:s, s:s, s:I, s:s}", "mac", d->mac, "path", d->path, "proto",
		       d->proto == PP_PROTO_TFTP ? "tftp" : "http", "bytes", (json_int_t)d->bytes,
		       "ip", d->ip);
	if (rc == PP_OK)
		rc = ev ? pp_event_append(t, "file.fetched", ev, NULL) : PP_ENOMEM;
	json_decref(ev);
	if (rc == PP_OK)
		rc = pp_dev_put(t, d->mac, dev);
	json_decref(dev);
	if (rc == PP_OK && *provisioned)
		pp_log(PP_LOG_INFO, "device.provisioned", "mac=%s file=%s", d->mac, d->path);
	return rc;
}

void pp_prov_done(struct pp_prov *p, const struct pp_request *rq, const struct pp_blob *b,
		  uint64_t bytes)
{
	struct done_rec *d;

	if (!b->mac[0])
		return;
	if (!(d = calloc(1, sizeof(*d))) || !(d->path = strdup(b->path))) {
		free(d);
		return;
	}
	snprintf(d->mac, sizeof(d->mac), "%s", b->mac);
	snprintf(d->ip, sizeof(d->ip), "%s", rq->peer_ip ? rq->peer_ip : "");
	d->bytes = bytes;
	d->proto = rq->proto;
	d->trigger = b->trigger;
	d->at = pp_now_ms();
	prov_submit_done(p, d);
}

/* ---- DHCP --------------------------------------------------------------- */

static json_t *dhcp_json(const struct pp_dhcp_facts *f)
{
	json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "ip", f->ip,
			      "msg_type", f->msg_type, "vendor_class", f->vendor_class, "hostname",
			      f->hostname, "client_id", f->client_id, "user_class", f->user_class,
			      "requested_ip", f->requested_ip, "server_id", f->server_id,
			      "param_list", f->param_list, "relay_info", f->relay_info, "seen",
			      (json_int_t)pp_now_ms());

	if (o && f->vlan)
		json_object_set_new(o, "vlan", json_integer(f->vlan));
	return o;
}


static void dhcp_done(void *ctx, int rc)
{
	(void)ctx;
	(void)rc;
}

int pp_prov_dhcp(struct pp_prov *p, const struct pp_dhcp_facts *f)
{
	struct pp_snapshot *snap = pp_snaps_acquire(p->snaps);
	struct pp_ex_input in;
	struct pp_devinfo di;
	struct job *j;
	char mac[18];
	int rc;

	if (!snap)
		return PP_EIO;
	if (pp_mac_normalize(f->mac, strnlen(f->mac, sizeof(f->mac)), mac) != PP_OK) {
		pp_snapshot_release(snap);
		return PP_EINVAL;
	}
	if (!pp_mac_is_device(mac)) { /* all-zero or broadcast chaddr: no device */
		pp_snapshot_release(snap);
		return PP_OK;
	}
	pp_ex_input_dhcp(f, &in);
	pp_identify(snap->reg, &in, &di);
	memcpy(di.f[PP_F_MAC], mac, sizeof(mac)); /* chaddr is authoritative */
	/* a DHCP client is only taken in when it looks like a phone of ours */
	if (!(j = job_new(JOB_APPLY, mac))) {
		pp_snapshot_release(snap);
		return PP_ENOMEM;
	}
	j->di = di;
	j->has_di = true;
	if (f->bound && f->ip[0])
		snprintf(j->ip, sizeof(j->ip), "%s", f->ip);
	j->a.bind_ip = f->bound && f->ip[0];
	j->a.dhcp = dhcp_json(f);
	j->a.create = snap->cfg->autoprov && di.f[PP_F_VENDOR][0];
	pp_snapshot_release(snap);
	/* the sniffer never waits; the CLI (no worker) applies it at once */
	rc = prov_submit(p, j, dhcp_done, NULL);
	return rc == PP_ENOENT ? PP_OK : rc;
}
