/* Operations (api_ops.c): long work run off the request thread. */
#ifndef PP_API_OPS_H
#define PP_API_OPS_H

#include <stdbool.h>
#include "api_int.h"

/* Start a firmware install/uninstall operation and answer 202 + Location. */
enum MHD_Result api_op_firmware(struct api_req *r, bool install, const char *plugin,
				const char *pkg);
/* A generic operation: run(arg, end) on the operation's thread fills end
 * (state, result taken over, error); it should return soon once
 * api_ops_stopping() is true. */
enum { API_OP_OK = 1, API_OP_FAILED = 2, API_OP_REFUSED = 3, API_OP_TIMEOUT = 4 };
struct api_op_end {
	int state;
	json_t *result;
	char error[256];
};
typedef void (*api_op_fn)(void *arg, struct api_op_end *end);
/* Start one (target and arg taken over, also on failure): 202 + Location. */
enum MHD_Result api_op_start(struct api_req *r, const char *kind, json_t *target,
			     api_op_fn run, void *arg, void (*arg_free)(void *arg));
bool api_ops_stopping(void);
/* GET /operations and /operations/{id}. */
enum MHD_Result api_operations(struct api_req *r);
/* Refuse new operations, signal the running workers, wait for their threads. */
void api_ops_stop(void);

#endif
