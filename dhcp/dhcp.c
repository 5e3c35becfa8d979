/* DHCP packet parser: link layer (Ethernet with 802.1Q/QinQ tags, Linux
 * cooked v1/v2, raw IPv4) → IPv4 → UDP 67/68 → BOOTP/DHCP (RFC 2131/2132).
 *
 * Pure: no allocation, no global state, every read bounds-checked against
 * the captured length. A packet whose lengths lie, that is truncated, or
 * whose options run past their area is PP_EINVAL; traffic that simply is not
 * DHCP is PP_ENOENT. */
#include <stdio.h>
#include "dhcp.h"

#define ETH_HLEN 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define MAX_VLAN_TAGS 4

#define BOOTP_FIXED 236
#define DHCP_MIN (BOOTP_FIXED + 4)
#define OFF_SNAME 44
#define OFF_FILE 108
#define SNAME_LEN 64
#define FILE_LEN 128
#define DHCP_COOKIE 0x63825363u

static inline unsigned rd16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

const char *pp_dhcp_msg_name(int type)
{
	static const char *const names[] = {
		"none", "discover", "offer", "request", "decline", "ack", "nak", "release",
		"inform", "forcerenew", "leasequery", "leaseunassigned", "leaseunknown",
		"leaseactive", "bulkleasequery", "leasequerydone", "activeleasequery",
		"leasequerystatus", "tls",
	};

	if (type < 0 || (size_t)type >= PP_ARRAY_LEN(names))
		return "unknown";
	return names[type];
}

/* Dotted quad into out (>= 16 bytes). */
static void fmt_ip4(const uint8_t *p, char *out)
{
	char *o = out;

	for (int i = 0; i < 4; i++) {
		unsigned v = p[i];

		if (v >= 100)
			*o++ = (char)('0' + v / 100);
		if (v >= 10)
			*o++ = (char)('0' + v / 10 % 10);
		*o++ = (char)('0' + v % 10);
		if (i < 3)
			*o++ = '.';
	}
	*o = '\0';
}

static inline int is_zero4(const uint8_t *p)
{
	return !(p[0] | p[1] | p[2] | p[3]);
}

/* Append option bytes as text (RFC 3396 concatenation of split options):
 * trailing NULs dropped, other control and non-ASCII bytes become '?', so
 * the value is safe for logs and JSON. Truncated to the field. (Option 60
 * is kept as sent instead: put_raw, vci_text.) */
static void put_text(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	size_t len = strlen(dst);

	while (n > 0 && p[n - 1] == 0)
		n--;
	for (size_t i = 0; i < n && len + 1 < cap; i++) {
		uint8_t c = p[i];

		dst[len++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	dst[len] = '\0';
}

/* Append option bytes as sent (RFC 3396 concatenation), cut at the field. */
static void put_raw(uint8_t *dst, size_t cap, size_t *len, const uint8_t *p, size_t n)
{
	if (n > cap - *len)
		n = cap - *len;
	memcpy(dst + *len, p, n);
	*len += n;
}

/* Option 60 as text: one trailing NUL (a C string's terminator) dropped,
 * printable ASCII kept, '\' doubled, other bytes as \xNN. */
static void vci_text(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	size_t o = 0;

	if (n && p[n - 1] == 0)
		n--;
	for (size_t i = 0; i < n && o + 5 < cap; i++) {
		uint8_t c = p[i];

		if (c == '\\') {
			dst[o++] = '\\';
			dst[o++] = '\\';
		} else if (c >= 0x20 && c < 0x7f) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hx[c >> 4];
			dst[o++] = hx[c & 15];
		}
	}
	dst[o] = '\0';
}

static void put_hex(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	size_t len = strlen(dst);

	for (size_t i = 0; i < n && len + 2 < cap; i++) {
		dst[len++] = hx[p[i] >> 4];
		dst[len++] = hx[p[i] & 15];
	}
	dst[len] = '\0';
}

static void put_codes(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	size_t len = strlen(dst);

	for (size_t i = 0; i < n; i++) {
		char tmp[5];
		int k = 0;
		unsigned v = p[i];

		if (len)
			tmp[k++] = ',';
		if (v >= 100)
			tmp[k++] = (char)('0' + v / 100);
		if (v >= 10)
			tmp[k++] = (char)('0' + v / 10 % 10);
		tmp[k++] = (char)('0' + v % 10);
		if (len + (size_t)k + 1 > cap)
			break;
		memcpy(dst + len, tmp, (size_t)k);
		len += (size_t)k;
	}
	dst[len] = '\0';
}

/* Option 77: RFC 3004 (length-prefixed instances) shown as "a,b"; anything
 * that does not parse as such is taken as the plain string many phones send. */
static void put_user_class(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t l = p[i];

		if (l == 0 || i + 1 + l > n)
			break;
		for (size_t k = 0; k < l; k++)
			if (p[i + 1 + k] < 0x20 || p[i + 1 + k] >= 0x7f)
				goto plain;
		i += 1 + l;
	}
	if (i != n)
		goto plain;
	for (i = 0; i < n; i += 1 + (size_t)p[i]) {
		if (dst[0])
			put_text(dst, cap, (const uint8_t *)",", 1);
		put_text(dst, cap, p + i + 1, p[i]);
	}
	return;
plain:
	put_text(dst, cap, p, n);
}

struct opt_state {
	int overload; /* option 52 value, 0 = none */
	int seen_end;
};

/* Walk one option area. main != 0 for the options field (END required,
 * option 52 honoured); the sname/file fields may also end at their size. */
static int parse_options(const uint8_t *p, size_t n, int main_area, struct opt_state *st,
			 struct pp_dhcp_facts *out)
{
	size_t i = 0;

	while (i < n) {
		uint8_t code = p[i];
		size_t l;
		const uint8_t *v;

		if (code == 0) {
			i++;
			continue;
		}
		if (code == 255) {
			if (main_area)
				st->seen_end = 1;
			return PP_OK;
		}
		if (i + 2 > n)
			return PP_EINVAL; /* code without its length byte */
		l = p[i + 1];
		if (i + 2 + l > n)
			return PP_EINVAL; /* value runs past the area */
		v = p + i + 2;
		switch (code) {
		case 53:
			if (l != 1 || v[0] == 0)
				return PP_EINVAL;
			out->msg_type = v[0];
			break;
		case 50:
			if (l != 4)
				return PP_EINVAL;
			fmt_ip4(v, out->requested_ip);
			break;
		case 54:
			if (l != 4)
				return PP_EINVAL;
			fmt_ip4(v, out->server_id);
			break;
		case 52:
			if (l != 1 || v[0] < 1 || v[0] > 3)
				return PP_EINVAL;
			if (main_area)
				st->overload = v[0];
			break;
		case 60:
			if (l == 0)
				return PP_EINVAL;
			put_raw(out->vendor_class_raw, sizeof(out->vendor_class_raw),
				&out->vendor_class_len, v, l);
			break;
		case 12:
			if (l == 0)
				return PP_EINVAL;
			put_text(out->hostname, sizeof(out->hostname), v, l);
			break;
		case 77:
			if (l == 0)
				return PP_EINVAL;
			put_user_class(out->user_class, sizeof(out->user_class), v, l);
			break;
		case 61:
			if (l < 2)
				return PP_EINVAL;
			put_hex(out->client_id, sizeof(out->client_id), v, l);
			break;
		case 55:
			if (l == 0)
				return PP_EINVAL;
			put_codes(out->param_list, sizeof(out->param_list), v, l);
			break;
		case 82:
			if (l < 2)
				return PP_EINVAL;
			put_hex(out->relay_info, sizeof(out->relay_info), v, l);
			break;
		default:
			break;
		}
		i += 2 + l;
	}
	return PP_OK;
}

static int parse_bootp(const uint8_t *p, size_t len, struct pp_dhcp_facts *out)
{
	struct opt_state st = { 0, 0 };
	uint8_t op, htype, hlen;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!p || len < DHCP_MIN)
		return PP_EINVAL;
	op = p[0];
	htype = p[1];
	hlen = p[2];
	if (op != 1 && op != 2)
		return PP_EINVAL;
	if (hlen > 16)
		return PP_EINVAL;
	if (rd32(p + BOOTP_FIXED) != DHCP_COOKIE)
		return PP_EINVAL;
	rc = parse_options(p + DHCP_MIN, len - DHCP_MIN, 1, &st, out);
	if (rc != PP_OK)
		return rc;
	if (!st.seen_end)
		return PP_EINVAL; /* truncated: the options field must end with END */
	/* RFC 2131 4.1: with overload, the file field is read before sname */
	if (st.overload & 1) {
		rc = parse_options(p + OFF_FILE, FILE_LEN, 0, &st, out);
		if (rc != PP_OK)
			return rc;
	}
	if (st.overload & 2) {
		rc = parse_options(p + OFF_SNAME, SNAME_LEN, 0, &st, out);
		if (rc != PP_OK)
			return rc;
	}
	vci_text(out->vendor_class, sizeof(out->vendor_class), out->vendor_class_raw,
		 out->vendor_class_len);
	if (htype == 1 && hlen == 6) {
		pp_dhcp_fmt_mac(p + 28, out->mac);
		if (!pp_mac_is_device(out->mac))
			out->mac[0] = '\0'; /* all-zero or broadcast chaddr: keys no device */
	}
	if (out->msg_type == 5 && !is_zero4(p + 16)) {
		fmt_ip4(p + 16, out->ip);
		out->bound = 1;
	} else if (!is_zero4(p + 12)) {
		fmt_ip4(p + 12, out->ip);
	}
	return PP_OK;
}

int pp_dhcp_parse(const uint8_t *p, size_t len, struct pp_dhcp_facts *out)
{
	int rc = parse_bootp(p, len, out);

	if (rc != PP_OK)
		memset(out, 0, sizeof(*out)); /* nothing half-parsed leaks out */
	return rc;
}

void pp_dhcp_fmt_mac(const uint8_t m[6], char out[18])
{
	static const char hx[] = "0123456789abcdef";

	for (int i = 0; i < 6; i++) {
		out[i * 3] = hx[m[i] >> 4];
		out[i * 3 + 1] = hx[m[i] & 15];
		out[i * 3 + 2] = i < 5 ? ':' : '\0';
	}
}

/* IPv4 → UDP → DHCP. */
static int parse_ipv4(const uint8_t *p, size_t len, struct pp_dhcp_facts *out)
{
	size_t ihl, tot, ulen;
	unsigned frag, sport, dport;

	if (len < 20)
		return PP_EINVAL;
	if (p[0] >> 4 != 4)
		return PP_EINVAL;
	ihl = (size_t)(p[0] & 15) * 4;
	tot = rd16(p + 2);
	if (ihl < 20 || ihl > len || tot < ihl || tot > len)
		return PP_EINVAL; /* header or total length lies about the capture */
	if (p[9] != 17)
		return PP_ENOENT;
	frag = rd16(p + 6);
	if (frag & 0x1fff)
		return PP_ENOENT; /* later fragment: no UDP header to look at */
	p += ihl;
	len = tot - ihl;   /* the link layer may pad past the IP datagram */
	if (len < 8)
		return PP_EINVAL;
	sport = rd16(p);
	dport = rd16(p + 2);
	if (!((sport == 67 || sport == 68) && (dport == 67 || dport == 68)))
		return PP_ENOENT;
	if (frag & 0x2000)
		return PP_EINVAL; /* a fragmented DHCP message cannot be read */
	ulen = rd16(p + 4);
	if (ulen < 8 || ulen > len)
		return PP_EINVAL;
	return pp_dhcp_parse(p + 8, ulen - 8, out);
}

/* Ethertype at p (len bytes left, which include it): skip VLAN tags, then IPv4. */
static int parse_ethertype(const uint8_t *p, size_t len, struct pp_dhcp_facts *out)
{
	unsigned type, vlan = 0;
	int tags = 0;
	int rc;

	if (len < 2)
		return PP_EINVAL;
	type = rd16(p);
	while (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD) {
		if (++tags > MAX_VLAN_TAGS)
			return PP_EINVAL;
		if (len < 6)
			return PP_EINVAL;
		vlan = rd16(p + 2) & 0x0fff; /* the innermost tag is the phone's VLAN */
		p += 4;
		len -= 4;
		type = rd16(p);
	}
	if (type != ETHERTYPE_IPV4)
		return PP_ENOENT;
	rc = parse_ipv4(p + 2, len - 2, out);
	if (rc == PP_OK)
		out->vlan = vlan;
	return rc;
}

int pp_dhcp_parse_frame(const uint8_t *frame, size_t len, int linktype, struct pp_dhcp_facts *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!frame)
		return PP_EINVAL;
	switch (linktype) {
	case PP_DLT_EN10MB:
		if (len < ETH_HLEN)
			return PP_EINVAL;
		rc = parse_ethertype(frame + 12, len - 12, out);
		break;
	case PP_DLT_LINUX_SLL: /* 16 bytes, protocol at 14 */
		if (len < 16)
			return PP_EINVAL;
		rc = parse_ethertype(frame + 14, len - 14, out);
		break;
	case PP_DLT_LINUX_SLL2: /* 20 bytes, protocol at 0 */
		if (len < 20)
			return PP_EINVAL;
		if (rd16(frame) == ETHERTYPE_IPV4)
			rc = parse_ipv4(frame + 20, len - 20, out);
		else
			rc = PP_ENOENT;
		break;
	case PP_DLT_RAW:
	case PP_DLT_RAW_BSD:
	case PP_LINKTYPE_RAW:
	case PP_DLT_IPV4:
		if (len < 1)
			return PP_EINVAL;
		if (frame[0] >> 4 != 4)
			return PP_ENOENT; /* IPv6 */
		rc = parse_ipv4(frame, len, out);
		break;
	default:
		return PP_ENOTSUP;
	}
	if (rc != PP_OK) {
		unsigned vlan = out->vlan;

		memset(out, 0, sizeof(*out));
		out->vlan = vlan;
	}
	return rc;
}

int pp_dhcp_linktype_supported(int linktype)
{
	switch (linktype) {
	case PP_DLT_EN10MB:
	case PP_DLT_LINUX_SLL:
	case PP_DLT_LINUX_SLL2:
	case PP_DLT_RAW:
	case PP_DLT_RAW_BSD:
	case PP_LINKTYPE_RAW:
	case PP_DLT_IPV4:
		return 1;
	default:
		return 0;
	}
}
