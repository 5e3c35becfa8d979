/* File-name patterns: the `path` of a plugin's files ("Yealink/{{mac}}.cfg")
 * split into literal text and device variables, expanded for a device, and
 * matched against requested names (which gives the MAC a name carries).
 * Immutable after parse/compile; any number of threads may expand and match
 * at the same time. */
#ifndef PP_PATHPAT_H
#define PP_PATHPAT_H

#include <stdbool.h>
#include <stddef.h>
#include "extractors/extract.h"

enum pp_pvar { PP_PV_LIT = 0, PP_PV_MAC, PP_PV_MAC_UP, PP_PV_MAC_COLON, PP_PV_MODEL,
	       PP_PV_VENDOR, PP_PV_VERSION };

struct pp_ppart {
	int var;        /* enum pp_pvar */
	char *lit;      /* PP_PV_LIT: the text (owned) */
};

struct pp_pathpat {
	struct pp_ppart *parts;
	size_t n_parts;
	bool per_mac;   /* has {{mac}}, {{MAC}} or {{mac_colon}} */
	void *match;    /* pcre2_code * after pp_pathpat_compile, else NULL */
};

/* Parse a pattern. Variables: mac, MAC, mac_colon, model, vendor, version
 * ({{ mac }} with blanks too). PP_OK, PP_ENOMEM, or PP_EINVAL with *erroff
 * the offset of the problem and msg the reason. */
int pp_pathpat_parse(const char *pattern, struct pp_pathpat *out, size_t *erroff, char *msg,
		     size_t msgsz);
/* Build the anchored, case-insensitive regex recognising expanded names
 * (the MAC captured). jit: also JIT-compile it. PP_OK or PP_EINVAL. */
int pp_pathpat_compile(struct pp_pathpat *pp, bool jit);
void pp_pathpat_free(struct pp_pathpat *pp);
/* Is the pattern one literal text (no variable)? */
bool pp_pathpat_literal(const struct pp_pathpat *pp);

/* Expand for a device into a normalised relative path (lib/safepath.h).
 * PP_OK, PP_ENOMEM, or PP_EINVAL when the result is not a safe path. */
int pp_pathpat_expand(const struct pp_pathpat *pp, const struct pp_devinfo *di, char *out,
		      size_t outsz);
/* Does a normalised path match the compiled pattern? When it does and the
 * name carries a MAC, mac (18 bytes) gets it normalised, else "". A name
 * whose MAC is all-zero or broadcast (000000000000.cfg) does not match: it
 * names no device. */
bool pp_pathpat_match(const struct pp_pathpat *pp, const char *path, size_t len, char mac[18]);

#endif
