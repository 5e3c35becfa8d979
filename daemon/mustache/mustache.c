/* STUB: the mustache engine (issue 5) replaces this file. */
#include "mustache.h"
#include <stdio.h>
int mst_compile(const char *name, const char *src, size_t len, struct mst_tpl **out,
		struct mst_error *err)
{
	(void)src; (void)len;
	*out = NULL;
	snprintf(err->msg, sizeof(err->msg), "%s: mustache not implemented", name);
	return PP_ENOTSUP;
}
void mst_free(struct mst_tpl *t) { (void)t; }
