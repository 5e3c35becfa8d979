/* Rendering a device's files (render.c). */
#ifndef PP_RENDER_H
#define PP_RENDER_H

#include "plugin.h"
#include "lib/safepath.h"

struct pp_rfile {
	char path[PP_PATH_MAX];
	const char *tpl;        /* template file used */
	unsigned char *data;
	size_t len;
	bool trigger, sensitive;
};

struct pp_rendered {
	struct pp_rfile *f;
	size_t n;
};

/* Deep-merge src into dst (objects recursively; src wins elsewhere). */
void pp_json_merge(json_t *dst, const json_t *src);
/* {"mac","MAC","mac_colon","ip","vendor","model","version","serial"} */
json_t *pp_device_vars(const struct pp_devinfo *di, const char *ip);
/* What templates see: plugin autoprov <- config, helper keys, device, plugin, model. */
json_t *pp_template_data(const struct pp_plugin *p, const struct pp_devinfo *di, const char *ip,
			 const json_t *config);
int pp_render_device(const struct pp_plugin *p, const struct pp_devinfo *di, const char *ip,
		     const json_t *config, struct pp_rendered *out, struct pp_err *err);
void pp_rendered_free(struct pp_rendered *r);

#endif
