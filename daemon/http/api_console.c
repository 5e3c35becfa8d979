/* The web console (docs/console.md): static pages embedded in phoneprovd at
 * build time and served by the API listener outside /api/v1: "/" is
 * index.html, "/console/NAME" the other files. They hold no data and need
 * no token; the pages read everything through /api/v1 with the token the
 * administrator signs in with. A strict Content-Security-Policy keeps them
 * to their own scripts and to this listener. */

#include <string.h>

#include "api_console.h"
#include "api_int.h"

#define CONSOLE_PREFIX "/console/"

static const char csp[] =
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
	"connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

static const struct pp_console_file *find(const char *path)
{
	const char *name;

	if (strcmp(path, "/") == 0 || strcmp(path, "/console") == 0 ||
	    strcmp(path, "/console/") == 0)
		name = "index.html";
	else if (strncmp(path, CONSOLE_PREFIX, strlen(CONSOLE_PREFIX)) == 0)
		name = path + strlen(CONSOLE_PREFIX);
	else
		return NULL;
	for (size_t i = 0; i < pp_console_n_files; i++)
		if (strcmp(pp_console_files[i].name, name) == 0)
			return &pp_console_files[i];
	return NULL;
}

bool api_console_serve(struct api_req *r, const char *path, enum MHD_Result *ret)
{
	const struct pp_console_file *f;
	struct MHD_Response *resp;
	const char *inm;
	bool same;

	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
		return false;
	if (!(f = find(path)))
		return false;
	inm = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	same = inm && strcmp(inm, f->etag) == 0;
	resp = MHD_create_response_from_buffer(same ? 0 : f->len, (void *)f->data,
					       MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		*ret = MHD_NO;
		return true;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f->type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, f->etag);
	MHD_add_response_header(resp, "Content-Security-Policy", csp);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	*ret = api_queue(r, same ? 304 : 200, resp, "no-cache");
	return true;
}
