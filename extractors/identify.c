/* Identification over a set of rules and file-name patterns. */
#include "identify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/safepath.h"

struct rule_ref {
	const struct pp_ex_rule *rule;
	const char *owner;
	const char *owner_vendor; /* the vendor of the owner plugin ("" when none) */
	size_t oi, ri;
};

struct path_ref {
	const struct pp_pathpat *pp;
	const char *owner;
};

struct pp_ex_set {
	struct rule_ref *rules;
	size_t n_rules, cap_rules;
	struct path_ref *paths;
	size_t n_paths, cap_paths;
};

struct pp_ex_set *pp_ex_set_new(void)
{
	return calloc(1, sizeof(struct pp_ex_set));
}

void pp_ex_set_free(struct pp_ex_set *s)
{
	if (!s)
		return;
	free(s->rules);
	free(s->paths);
	free(s);
}

static int grow(void **v, size_t *cap, size_t n, size_t sz)
{
	void *nv;

	if (n < *cap)
		return PP_OK;
	nv = realloc(*v, (*cap ? *cap * 2 : 32) * sz);
	if (!nv)
		return PP_ENOMEM;
	*v = nv;
	*cap = *cap ? *cap * 2 : 32;
	return PP_OK;
}

int pp_ex_set_add_rule(struct pp_ex_set *s, const struct pp_ex_rule *r, const char *owner,
		       const char *owner_vendor, size_t owner_idx, size_t rule_idx)
{
	if (grow((void **)&s->rules, &s->cap_rules, s->n_rules, sizeof(*s->rules)))
		return PP_ENOMEM;
	s->rules[s->n_rules++] = (struct rule_ref){ r, owner, owner_vendor ? owner_vendor : "",
						    owner_idx, rule_idx };
	return PP_OK;
}

int pp_ex_set_add_path(struct pp_ex_set *s, const struct pp_pathpat *pp, const char *owner)
{
	if (grow((void **)&s->paths, &s->cap_paths, s->n_paths, sizeof(*s->paths)))
		return PP_ENOMEM;
	s->paths[s->n_paths++] = (struct path_ref){ pp, owner };
	return PP_OK;
}

static int cmp_rule_ref(const void *a, const void *b)
{
	const struct rule_ref *x = a, *y = b;
	int sx = pp_ex_rule_src(x->rule), sy = pp_ex_rule_src(y->rule);

	if (sx != sy)
		return sx < sy ? -1 : 1;
	if (x->oi != y->oi)
		return x->oi < y->oi ? -1 : 1;
	return x->ri < y->ri ? -1 : x->ri > y->ri;
}

void pp_ex_set_finish(struct pp_ex_set *s)
{
	if (s->n_rules)
		qsort(s->rules, s->n_rules, sizeof(*s->rules), cmp_rule_ref);
}

/* Matched rules of one request, in precedence order. Past MAX_HITS (far
 * more than any real request matches) later rules are not looked at. */
#define MAX_HITS 64

struct hit {
	const struct rule_ref *ref;
	struct pp_ex_hit h;
};

/* The vendor a hit stands for: the one it gives, else its plugin's. */
static void hit_vendor(const struct hit *x, const char **v, size_t *len)
{
	if (x->h.len[PP_F_VENDOR]) {
		*v = x->h.val[PP_F_VENDOR];
		*len = x->h.len[PP_F_VENDOR];
	} else {
		*v = x->ref->owner_vendor;
		*len = strlen(*v);
	}
}

void pp_ex_identify(const struct pp_ex_set *s, const struct pp_ex_input *in,
		    struct pp_devinfo *di)
{
	struct pp_ex_input inp = *in;
	struct hit hits[MAX_HITS];
	size_t n = 0;
	char vendor[PP_FIELD_LEN] = "";

	pp_devinfo_init(di);
	if (!s)
		return;
	/* a NUL-terminated option 60 (Cisco) is matched without its terminator */
	if (inp.s[PP_SRC_DHCP_VCI] && inp.len[PP_SRC_DHCP_VCI] &&
	    inp.s[PP_SRC_DHCP_VCI][inp.len[PP_SRC_DHCP_VCI] - 1] == '\0')
		inp.len[PP_SRC_DHCP_VCI]--;
	for (size_t i = 0; i < s->n_rules && n < MAX_HITS; i++)
		if (pp_ex_rule_match(s->rules[i].rule, &inp, &hits[n].h) == 1)
			hits[n++].ref = &s->rules[i];
	/* The request's vendor: the first one a rule gives, in precedence order;
	 * when no rule gives one, the plugin of the first rule that matched. */
	for (size_t i = 0; i < n && !vendor[0]; i++)
		if (hits[i].h.len[PP_F_VENDOR]) {
			struct pp_devinfo tmp;

			pp_devinfo_init(&tmp);
			pp_devinfo_offer(&tmp, PP_F_VENDOR, hits[i].h.val[PP_F_VENDOR],
					 hits[i].h.len[PP_F_VENDOR], 0, NULL);
			memcpy(vendor, tmp.f[PP_F_VENDOR], sizeof(vendor));
		}
	if (!vendor[0] && n)
		snprintf(vendor, sizeof(vendor), "%s", hits[0].ref->owner_vendor);
	/* Merge: a rule standing for another vendor gives nothing (not even a
	 * MAC: its pattern was written for another vendor's strings). */
	for (size_t i = 0; i < n; i++) {
		const struct hit *x = &hits[i];
		const char *v;
		size_t vl;

		hit_vendor(x, &v, &vl);
		if (pp_ex_vendor_conflict(v, vl, vendor))
			continue;
		for (int f = 0; f < PP_F_N; f++)
			if (x->h.len[f])
				pp_devinfo_offer(di, f, x->h.val[f], x->h.len[f],
						 pp_ex_rule_src(x->ref->rule), x->ref->owner);
	}
	if (di->f[PP_F_MAC][0])
		return;
	/* Last resort for the MAC: the names of the per-device files. */
	for (int src = PP_SRC_HTTP_PATH; src <= PP_SRC_TFTP_FILE; src++) {
		char path[PP_PATH_MAX], mac[18];
		const char *reason;
		size_t len;

		if (!inp.s[src] || !inp.len[src] ||
		    pp_path_normalize(inp.s[src], inp.len[src], path, sizeof(path), &reason) != 0)
			continue;
		len = strlen(path);
		for (size_t i = 0; i < s->n_paths; i++)
			if (pp_pathpat_match(s->paths[i].pp, path, len, mac)) {
				if (!mac[0])
					break; /* the first matching pattern decides */
				pp_devinfo_offer(di, PP_F_MAC, mac, strlen(mac), src,
						 s->paths[i].owner);
				return;
			}
	}
}

static size_t cstrnlen(const char *s, size_t max)
{
	const char *e = memchr(s, '\0', max);

	return e ? (size_t)(e - s) : max;
}

void pp_ex_input_dhcp(const struct pp_dhcp_facts *f, struct pp_ex_input *in)
{
	memset(in, 0, sizeof(*in));
	in->s[PP_SRC_DHCP_VCI] = (const char *)f->vendor_class_raw;
	in->len[PP_SRC_DHCP_VCI] = f->vendor_class_len < sizeof(f->vendor_class_raw) ?
				   f->vendor_class_len : sizeof(f->vendor_class_raw);
	in->s[PP_SRC_DHCP_HOSTNAME] = f->hostname;
	in->len[PP_SRC_DHCP_HOSTNAME] = cstrnlen(f->hostname, sizeof(f->hostname));
	in->s[PP_SRC_DHCP_CLIENT_ID] = f->client_id;
	in->len[PP_SRC_DHCP_CLIENT_ID] = cstrnlen(f->client_id, sizeof(f->client_id));
	in->s[PP_SRC_DHCP_USER_CLASS] = f->user_class;
	in->len[PP_SRC_DHCP_USER_CLASS] = cstrnlen(f->user_class, sizeof(f->user_class));
}
