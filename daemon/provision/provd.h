/* Wazo provd documents (provd.c): one device or config document of provd's
 * JSON database (jsondb/devices/<id>, jsondb/configs/<id>), or of
 * `phoneprov export`, turned into the body phoneprov's API takes. Pure: no
 * store, no registry; the checks of the write path (schema, references)
 * still apply when the body is written. */
#ifndef PP_PROVD_H
#define PP_PROVD_H

#include <stddef.h>
#include <jansson.h>
#include "lib/common.h"

/* Parse text (len bytes, at most PP_PROVD_DOC_MAX) as one JSON object. */
#define PP_PROVD_DOC_MAX (4u << 20)
int pp_provd_parse(const char *text, size_t len, json_t **out, struct pp_err *err);

/* A config document -> {id, parent_ids, raw_config, role, transient,
 * deletable, description, X_...}. Fields phoneprov has no name for are kept
 * as X_provd_<field>; null members of raw_config are dropped (provd's "not
 * set"). PP_OK or PP_EINVAL (err: field and reason). *out owned. */
int pp_provd_config(const json_t *doc, json_t **out, struct pp_err *err);

/* A device document -> {mac, ip, vendor, model, version, serial, config,
 * description, id, added, configured, is_new, options, tenant_uuid, uuid,
 * remote_state_sip_username, X_...}. provd's plugin id is given back in
 * *plugin (e.g. "wazo-yealink-v86", "" when none) for the caller to map;
 * `sn` becomes serial. A device without a MAC is refused (phoneprov keys
 * devices by MAC). mac gets the normalised MAC. */
int pp_provd_device(const json_t *doc, json_t **out, char mac[18], char plugin[128],
		    struct pp_err *err);

#endif
