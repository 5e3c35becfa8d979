/* Helpers shared by the store tests: temp store directories. */
#ifndef PP_STORE_TEST_UTIL_H
#define PP_STORE_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline char *tmp_store_dir(void)
{
	char *d = strdup("/tmp/pp-store-test-XXXXXX");

	if (!d || !mkdtemp(d)) {
		perror("mkdtemp");
		abort();
	}
	return d;
}

static inline void rm_store_dir(char *d)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/data.mdb", d);
	unlink(p);
	snprintf(p, sizeof(p), "%s/lock.mdb", d);
	unlink(p);
	rmdir(d);
	free(d);
}

#endif
