/* STUB: the LMDB store (issue 2) replaces this file. */
#include "store.h"
int pp_store_open(const char *dir, struct pp_store **out, struct pp_err *err)
{
	*out = NULL;
	pp_err_set(err, "%s: store not implemented", dir);
	return PP_ENOTSUP;
}
void pp_store_close(struct pp_store *st) { (void)st; }
int pp_store_read(struct pp_store *st, pp_txn_fn fn, void *arg) { (void)st; (void)fn; (void)arg; return PP_ENOTSUP; }
int pp_file_get(struct pp_txn *t, const char *path, struct pp_file *out) { (void)t; (void)path; (void)out; return PP_ENOENT; }
