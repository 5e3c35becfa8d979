/* Phone types of the enabled plugins (plugin.yml `phone_types:`, docs/
 * plugin-format.md "phone_types", docs/flavors.md): their listing for
 * GET /api/v1/phone_types and `phoneprov phone-types`, and the validator of
 * a device's `extra` values.
 *
 * Every pointer returned lives as long as the registry (its snapshot). The
 * functions only read immutable data: any thread may call them. */
#ifndef PP_PHONETYPES_H
#define PP_PHONETYPES_H

#include <stdbool.h>
#include <jansson.h>
#include "lib/common.h"
#include "plugin.h"

struct pp_ptype;   /* one phone type (opaque) */
struct pp_ptypes;  /* a plugin's phone types (registry-private) */

/* The type `name` of the plugin `plugin`, else of any enabled plugin (in
 * registry order); NULL when no plugin has it. plugin may be NULL. */
const struct pp_ptype *pp_phone_type_find(const struct pp_registry *r, const char *plugin,
					  const char *name);
const char *pp_phone_type_name(const struct pp_ptype *t);
const struct pp_plugin *pp_phone_type_plugin(const struct pp_ptype *t);
/* Admin-only (`special: true`); see also pp_registry_types_public. */
bool pp_phone_type_special(const struct pp_ptype *t);
/* A PBX integration must not create a SIP account for these devices. */
bool pp_phone_type_prevent_sip(const struct pp_ptype *t);
/* The codec preference (first preferred) of `model` under the type: the
 * type's `codec:` list, else the model's `codec:`. New reference (an array,
 * maybe empty). */
json_t *pp_phone_type_codecs(const struct pp_ptype *t, const char *model);
/* Check a device's `extra` (an object, NULL or null = none) against the
 * type's `extra_fields:` schema: unknown names, type, required, enum,
 * min/max, pattern. On success *out is the object to store (defaults filled
 * in, MACs normalised; new reference). PP_EINVAL (PP_EBADREQ when extra is
 * not an object) with err naming the field ("extra.room") otherwise. */
int pp_phone_type_check_extra(const struct pp_ptype *t, const json_t *extra, json_t **out,
			      struct pp_err *err);
/* Every enabled plugin's phone types, highest display_index first, then by
 * name, then by plugin (new reference; NULL when out of memory). */
json_t *pp_phone_types_json(const struct pp_registry *r);
/* Configuration `plugins.all_types_public`: special types open to every token. */
bool pp_registry_types_public(const struct pp_registry *r);

/* Registry-internal: load a plugin's `phone_types:` node (NULL = none;
 * models must be loaded first) into pp_priv(p)->ptypes; FILE:LINE:COL errors. */
struct pp_ynode;
int pp_ptypes_load(struct pp_plugin *p, const struct pp_ynode *n, struct pp_err *err);
void pp_ptypes_free(struct pp_ptypes *ts);

#endif
