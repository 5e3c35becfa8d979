/* libFuzzer harness for the mustache engine: the input is a template
 * (after one flag byte) that is compiled and, when valid, rendered against
 * a fixed data object in both escaping modes. The partial "self" is the
 * template itself (recursion), "base" is a fixed parent with blocks. The data
 * names them too ("ps", "pb"; "pm" names nothing, "o.p" is nested) so that
 * dynamic names ({{>*ps}}, {{<*pb}}...) reach real templates. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mustache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *fixed_data;
static struct mst_tpl *base_tpl;

struct lookup_ctx {
	const struct mst_tpl *self;
};

static const struct mst_tpl *lookup(void *ud, const char *name, size_t len)
{
	struct lookup_ctx *lc = ud;

	if (len == 4 && memcmp(name, "self", 4) == 0)
		return lc->self;
	if (len == 4 && memcmp(name, "base", 4) == 0)
		return base_tpl;
	return NULL;
}

static void init(void)
{
	static const char base[] = "<{{$title}}T{{/title}}>\n  {{$body}}\n  b {{x}}\n  {{/body}}\n";
	json_error_t jerr;
	struct mst_error err;

	fixed_data = json_loads(
		"{\"x\": \"<&>\", \"n\": 42, \"r\": 1.5, \"t\": true, \"f\": false, \"z\": null,"
		" \"e\": \"\", \"l\": [1, \"two\", {\"x\": 3}], \"el\": [],"
		" \"o\": {\"x\": \"inner\", \"o\": {\"x\": \"deep\"}, \"p\": \"self\"},"
		" \"ps\": \"self\", \"pb\": \"base\", \"pm\": \"missing\", \"pl\": [\"self\", \"base\"],"
		" \"sip_lines\": [{\"index\": 1, \"user\": \"a\"}, {\"index\": 2, \"user\": \"b\"}]}",
		0, &jerr);
	if (!fixed_data || mst_compile("base", base, sizeof(base) - 1, &base_tpl, &err) != PP_OK)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mst_tpl *t = NULL;
	struct mst_error err;
	struct pp_buf out = { 0 };
	struct lookup_ctx lc;
	int rc;

	if (!fixed_data)
		init();
	if (size < 1 || size > 1 << 16)
		return 0;
	rc = mst_compile("fuzz", (const char *)data + 1, size - 1, &t, &err);
	if (rc != PP_OK) {
		/* every refusal says where and why */
		if (t || strncmp(err.msg, "fuzz:", 5) != 0)
			abort();
		return 0;
	}
	lc.self = t;
	rc = mst_render(t, fixed_data, (data[0] & 1) ? MST_ESCAPE_NONE : MST_ESCAPE_HTML, lookup,
			&lc, (data[0] >> 1) & 1, &out, &err);
	if (rc != PP_OK && strncmp(err.msg, "fuzz", 4) != 0 && strncmp(err.msg, "base", 4) != 0)
		abort();
	if (out.data && strlen(out.data) > out.len)
		abort();
	pp_buf_free(&out);
	mst_free(t);
	return 0;
}
