/* bench helper: store a file in the LMDB `files` database, as the renderer
 * does, so that phoneprovd serves it from the store.
 *   pp-bench-file-put DBDIR RELPATH LOCALFILE */
#include <stdio.h>
#include <stdlib.h>

#include "daemon/store/store.h"

struct put {
	const char *path;
	const char *data;
	size_t size;
};

static int put_fn(struct pp_txn *t, void *arg)
{
	struct put *p = arg;

	return pp_file_put(t, p->path, p->data, p->size, pp_now_ms());
}

int main(int argc, char **argv)
{
	struct pp_store *st;
	struct pp_err err = { 0 };
	struct put p;
	char *buf;
	long n;
	FILE *f;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: %s DBDIR RELPATH LOCALFILE\n", argv[0]);
		return 2;
	}
	f = fopen(argv[3], "rb");
	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		perror(argv[3]);
		return 1;
	}
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		perror(argv[3]);
		return 1;
	}
	fclose(f);
	if (pp_store_open(argv[1], &st, &err) != PP_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	p = (struct put){ argv[2], buf, (size_t)n };
	rc = pp_store_write(st, put_fn, &p);
	pp_store_close(st);
	free(buf);
	if (rc != PP_OK) {
		fprintf(stderr, "store write: %s\n", pp_strerror(rc));
		return 1;
	}
	return 0;
}
