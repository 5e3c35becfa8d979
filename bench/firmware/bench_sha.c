/* SHA-256 and SHA-1 throughput of firmware/sha.h (what verifies every
 * firmware download and installed file): MiB/s over a buffer hashed in
 * 64 KiB updates, as pp_fw_hash_fd reads. Usage: bench-sha [MiB] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firmware/sha.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256, chunk = 64 << 10;
	unsigned char *buf = malloc(chunk), d[32];
	char hex[65];
	double best256 = 0, best1 = 0;

	if (!buf || !mib)
		return 1;
	for (size_t i = 0; i < chunk; i++)
		buf[i] = (unsigned char)(i * 131u + 7u);
	for (int round = 0; round < 3; round++) {
		struct pp_sha256 c;
		struct pp_sha1 c1;
		double t0 = now(), t;

		pp_sha256_init(&c);
		for (size_t i = 0; i < mib * 16; i++)
			pp_sha256_update(&c, buf, chunk);
		pp_sha256_final(&c, d);
		t = now() - t0;
		if ((double)mib / t > best256)
			best256 = (double)mib / t;
		t0 = now();
		pp_sha1_init(&c1);
		for (size_t i = 0; i < mib * 16; i++)
			pp_sha1_update(&c1, buf, chunk);
		pp_sha1_final(&c1, d);
		t = now() - t0;
		if ((double)mib / t > best1)
			best1 = (double)mib / t;
	}
	pp_hex(d, 20, hex);
	printf("sha256 %.0f MiB/s\nsha1 %.0f MiB/s\n(%zu MiB, best of 3; last sha1 %s)\n",
	       best256, best1, mib, hex);
	free(buf);
	return 0;
}
