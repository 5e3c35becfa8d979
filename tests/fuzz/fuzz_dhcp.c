/* libFuzzer harness for the DHCP parser. The first input byte picks the link
 * type (Ethernet, Linux cooked v1/v2, raw IPv4, or a bare BOOTP payload); the
 * rest is the frame. Checks the output invariants: every string terminated
 * inside its field, the MAC empty or a normalised device MAC, option 60's
 * bytes within their field and its text printable, facts cleared on failure. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dhcp/dhcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(f, field) (strnlen((f).field, sizeof((f).field)) < sizeof((f).field))

static void check(int rc, const struct pp_dhcp_facts *f)
{
	if (rc != PP_OK && rc != PP_EINVAL && rc != PP_ENOENT && rc != PP_ENOTSUP)
		abort();
	if (!TERMINATED(*f, mac) || !TERMINATED(*f, ip) || !TERMINATED(*f, vendor_class) ||
	    !TERMINATED(*f, hostname) || !TERMINATED(*f, client_id) ||
	    !TERMINATED(*f, user_class) || !TERMINATED(*f, requested_ip) ||
	    !TERMINATED(*f, server_id) || !TERMINATED(*f, param_list) ||
	    !TERMINATED(*f, relay_info))
		abort();
	if (f->mac[0] && strlen(f->mac) != 17)
		abort();
	if (rc != PP_OK && (f->mac[0] || f->vendor_class[0] || f->vendor_class_len || f->ip[0] ||
			    f->msg_type))
		abort();
	if (f->vendor_class_len > sizeof(f->vendor_class_raw))
		abort();
	/* the text form is empty exactly when the bytes are (or are one NUL) */
	if (!f->vendor_class[0] != (f->vendor_class_len == 0 ||
				    (f->vendor_class_len == 1 && !f->vendor_class_raw[0])))
		abort();
	if (f->mac[0] && (!strcmp(f->mac, "00:00:00:00:00:00") ||
			  !strcmp(f->mac, "ff:ff:ff:ff:ff:ff")))
		abort();
	if (f->bound && (f->msg_type != 5 || !f->ip[0]))
		abort();
	for (const char *p = f->vendor_class; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = { PP_DLT_EN10MB, PP_DLT_LINUX_SLL, PP_DLT_LINUX_SLL2,
				     PP_DLT_RAW, -1 };
	struct pp_dhcp_facts f;
	uint8_t *copy;
	int rc, lt;

	if (size < 1)
		return 0;
	lt = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	/* an exact-size heap copy so that ASan sees any read past the end */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (lt < 0)
		rc = pp_dhcp_parse(copy, size - 1, &f);
	else
		rc = pp_dhcp_parse_frame(copy, size - 1, lt, &f);
	check(rc, &f);
	free(copy);
	return 0;
}
