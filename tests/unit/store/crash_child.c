/* Crash-test child: writes devices in a loop, one committed transaction each,
 * and reports the index of each device on stdout only after the commit
 * returned. The parent SIGKILLs it at a random moment.
 * Usage: store-crash-child DIR START */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/common.h"
#include "daemon/store/store.h"
#include "crash_device.h"

int main(int argc, char **argv)
{
	struct pp_store *st;
	struct pp_err err;

	if (argc != 3)
		return 2;
	if (pp_store_open(argv[1], &st, &err) != PP_OK) {
		fprintf(stderr, "crash child: %s\n", err.msg);
		return 3;
	}
	for (long i = strtol(argv[2], NULL, 10);; i++) {
		json_t *d = crash_device(i);
		char mac[18], line[32];
		int n;

		crash_mac(i, mac);
		if (pp_store_dev_put(st, mac, d) != PP_OK) {
			fprintf(stderr, "crash child: put %ld failed\n", i);
			return 4;
		}
		json_decref(d);
		n = snprintf(line, sizeof(line), "%ld\n", i);
		if (write(1, line, (size_t)n) != n)
			return 5;
	}
}
