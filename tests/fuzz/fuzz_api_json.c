/* Fuzz the REST API's body handling: JSON parsing with the limits the API
 * uses, then the device and config validators (never crash, always a
 * status and an error message when refused), and the reader of
 * POST /identify bodies (a refusal names the key at fault; an accepted
 * input is as long as the bytes it came from, or half for *_hex). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "daemon/http/api_int.h"
#include "daemon/plugin/identify_req.h"
#include "lib/safepath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void expect_error(int rc, const struct api_err *e)
{
	if (rc != 0 && (e->status < 400 || e->status > 499 || e->msg[0] == '\0'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	struct api_err e;
	json_t *j;
	int rc;

	if (size > API_BODY_MAX)
		return 0;
	j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		if (je.line < -1 || je.position < 0 || (size_t)je.position > size)
			abort();
		return 0;
	}
	memset(&e, 0, sizeof(e));
	rc = api_check_device(j, false, &e);
	expect_error(rc, &e);
	memset(&e, 0, sizeof(e));
	rc = api_check_device(j, true, &e);
	expect_error(rc, &e);
	memset(&e, 0, sizeof(e));
	rc = api_check_config(j, &e);
	expect_error(rc, &e);
	if (json_is_object(j)) {
		struct pp_identify_req q = { 0 };
		const char *bad = NULL;

		if (pp_identify_req_json(&q, j, &bad) != 0 ? !bad || !json_object_get(j, bad) :
							    q.n < 0 || (size_t)q.n < json_object_size(j))
			abort();
		for (int s = 0; s < PP_SRC_N; s++)
			if (q.in.s[s] && (q.in.len[s] > PP_PATH_MAX + size || q.in.s[s][q.in.len[s]]))
				abort();
		pp_identify_req_free(&q);
	}
	if (json_is_object(j)) {
		const char *id = json_string_value(json_object_get(j, "id"));

		if (id && api_valid_id(id) && (strchr(id, '/') || id[0] == '.'))
			abort();
	}
	json_decref(j);
	return 0;
}
