/* Fuzz the pkgs.yml parser and validator (firmware/pkgs.c) over raw bytes:
 * any input must give a parsed package list or a "FILE:LINE:COL: ..." error,
 * never a crash, leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "firmware/pkgs.h"

/* A validated path is relative and has no ".." component. */
static int safe_rel(const char *p)
{
	if (!p)
		return 1;
	if (p[0] == '/')
		return 0;
	for (const char *c = p; *c;) {
		size_t n = strcspn(c, "/");

		if (n == 2 && c[0] == '.' && c[1] == '.')
			return 0;
		c += n;
		while (*c == '/')
			c++;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_err err = { 0 };
	struct pp_pkgs *p = NULL;
	int rc;

	if (size > 1 << 16)
		return 0;
	rc = pp_pkgs_parse_buf("fuzz.yml", (const char *)data, size, &p, &err);
	if (rc == PP_OK) {
		/* walk everything the installer would read */
		for (size_t i = 0; i < p->n_pkgs; i++) {
			const struct pp_fw_pkg *k = &p->pkgs[i];

			if (pp_pkgs_find(p, k->name) != k)
				__builtin_trap();
			for (size_t j = 0; j < k->n_files; j++)
				if (!*pp_fw_file_key(k->files[j]) || !k->files[j]->name[0])
					__builtin_trap();
			for (size_t j = 0; j < k->n_steps; j++) {
				const struct pp_fw_step *s = &k->steps[j];

				if (!safe_rel(s->dest) || !safe_rel(s->src) ||
				    !safe_rel(s->from) || !safe_rel(s->to))
					__builtin_trap(); /* validation let a climbing path through */
			}
		}
		pp_pkgs_free(p);
	} else if (p || strncmp(err.msg, "fuzz.yml", 8) != 0) {
		__builtin_trap(); /* errors always name the file */
	}
	return 0;
}
