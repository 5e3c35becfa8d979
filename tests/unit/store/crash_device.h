/* The device the crash child writes for index i: deterministic, so the parent
 * can check every committed device's content. Sizes vary from a few bytes to
 * past LMDB's overflow-page threshold. */
#ifndef PP_CRASH_DEVICE_H
#define PP_CRASH_DEVICE_H

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static inline void crash_mac(long i, char mac[18])
{
	snprintf(mac, 18, "02:%02lx:%02lx:%02lx:%02lx:%02lx", (i >> 32) & 255, (i >> 24) & 255,
		 (i >> 16) & 255, (i >> 8) & 255, i & 255);
}

static inline json_t *crash_device(long i)
{
	static char pad[6001];
	size_t n = (size_t)(i * 131) % 6000;
	char mac[18];

	crash_mac(i, mac);
	memset(pad, 'a' + (int)(i % 26), n);
	pad[n] = '\0';
	return json_pack("{s:s,s:I,s:s,s:{s:s,s:I}}", "mac", mac, "i", (json_int_t)i, "pad", pad,
			 "dhcp", "vendor_class", "yealink", "n", (json_int_t)(i * 7));
}

#endif
