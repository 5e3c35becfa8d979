/* The DECT base station's status page: a strict parser (numbers bounded,
 * identifiers checked, control bytes refused) that is lenient only with
 * what is harmless: blank lines, `#` comments, CRLF line ends and keys it
 * does not know (newer firmware adds some). A page that is not key=value
 * text (an HTML login page behind a wrong URL) is an error, not an empty
 * list of handsets. */
#include "status.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VAL_MAX 128

static int fail(char *err, size_t errn, size_t line, const char *what)
{
	snprintf(err, errn, "line %zu: %s", line, what);
	return -1;
}

/* Bounded decimal integer (optional '-'). */
static int parse_int(const char *s, size_t n, long lo, long hi, long *out)
{
	long v = 0;
	size_t i = 0;
	bool neg = false;

	if (n && s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == n || n - i > 6)
		return -1;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (neg)
		v = -v;
	if (v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static bool hex10(const char *s, size_t n)
{
	if (n != 10)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static json_t *upper(const char *s, size_t n)
{
	char b[16];

	for (size_t i = 0; i < n && i < sizeof(b) - 1; i++)
		b[i] = (char)(s[i] >= 'a' && s[i] <= 'f' ? s[i] - 32 : s[i]);
	b[n < sizeof(b) - 1 ? n : sizeof(b) - 1] = '\0';
	return json_string(b);
}

/* Text values: printable (UTF-8 allowed), at most VAL_MAX bytes. */
static json_t *text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return NULL;
	return n <= VAL_MAX ? json_stringn(s, n) : NULL; /* NULL too when not UTF-8 */
}

static int cmp_index(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "index"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "index"));

	return x < y ? -1 : x > y;
}

static int field(json_t *base, json_t *byidx, const char *k, size_t kn, const char *v,
		 size_t vn, size_t line, char *err, size_t errn)
{
	json_t *val;
	long num;

	if (kn > 5 && memcmp(k, "base.", 5) == 0) {
		k += 5;
		kn -= 5;
		if (kn == 4 && memcmp(k, "rfpi", 4) == 0) {
			if (!hex10(v, vn))
				return fail(err, errn, line, "base.rfpi: not 10 hex digits");
			json_object_set_new(base, "rfpi", upper(v, vn));
		} else if ((kn == 4 && memcmp(k, "name", 4) == 0) ||
			   (kn == 8 && memcmp(k, "firmware", 8) == 0)) {
			if (!(val = text(v, vn)))
				return fail(err, errn, line, "base value: control bytes, bad UTF-8 "
					    "or longer than 128 bytes");
			json_object_setn_new(base, k, kn, val);
		}
		return 0; /* other base.* keys: newer firmware */
	}
	if (kn > 8 && memcmp(k, "handset.", 8) == 0) {
		const char *dot = memchr(k + 8, '.', kn - 8);
		char key[8];
		json_t *h;
		long idx;

		if (!dot || parse_int(k + 8, (size_t)(dot - k - 8), 1, 9999, &idx) != 0)
			return fail(err, errn, line, "handset.<index>.<field>: index must be "
				    "1-9999");
		snprintf(key, sizeof(key), "%ld", idx);
		if (!(h = json_object_get(byidx, key))) {
			if (json_object_size(byidx) >= DECT_HANDSETS_MAX)
				return fail(err, errn, line, "more than 512 handsets");
			h = json_pack("{s:I}", "index", (json_int_t)idx);
			if (!h || json_object_set_new(byidx, key, h) != 0)
				return fail(err, errn, line, "out of memory");
		}
		kn -= (size_t)(dot + 1 - k);
		k = dot + 1;
		if (kn == 4 && memcmp(k, "ipui", 4) == 0) {
			if (!hex10(v, vn))
				return fail(err, errn, line, "ipui: not 10 hex digits");
			json_object_set_new(h, "ipui", upper(v, vn));
		} else if (kn == 4 && memcmp(k, "rssi", 4) == 0) {
			if (parse_int(v, vn, -150, 0, &num) != 0)
				return fail(err, errn, line, "rssi: not an integer in -150..0 (dBm)");
			json_object_set_new(h, "rssi", json_integer(num));
		} else if (kn == 7 && memcmp(k, "battery", 7) == 0) {
			if (parse_int(v, vn, 0, 100, &num) != 0)
				return fail(err, errn, line, "battery: not an integer in 0..100 (%)");
			json_object_set_new(h, "battery", json_integer(num));
		} else if (kn == 5 && memcmp(k, "state", 5) == 0) {
			bool word = vn > 0 && vn <= 24;

			/* v is not NUL-terminated: bytes, not strspn */
			for (size_t i = 0; word && i < vn; i++)
				word = (v[i] >= 'a' && v[i] <= 'z') || v[i] == '_';
			if (!word)
				return fail(err, errn, line, "state: not a word of a-z and _");
			json_object_set_new(h, "state", json_stringn(v, vn));
		} else if ((kn == 4 && memcmp(k, "name", 4) == 0) ||
			   (kn == 8 && memcmp(k, "firmware", 8) == 0)) {
			if (!(val = text(v, vn)))
				return fail(err, errn, line, "handset value: control bytes, bad "
					    "UTF-8 or longer than 128 bytes");
			json_object_setn_new(h, k, kn, val);
		}
		return 0;
	}
	return 0; /* other keys: not ours */
}

int dect_status_parse(const char *buf, size_t len, json_t **out, char *err, size_t errn)
{
	json_t *base = json_object(), *byidx = json_object(), *list = NULL, **arr = NULL;
	size_t line = 0, pos = 0, n;
	const char *key;
	json_t *h;
	int rc = -1;

	*out = NULL;
	if (!base || !byidx) {
		fail(err, errn, 0, "out of memory");
		goto done;
	}
	if (len > DECT_STATUS_MAX) {
		fail(err, errn, 0, "status page larger than 1 MiB");
		goto done;
	}
	while (pos < len) {
		const char *s = buf + pos, *nl = memchr(s, '\n', len - pos), *eq;
		size_t l = nl ? (size_t)(nl - s) : len - pos;

		pos += l + (nl ? 1 : 0);
		line++;
		if (l && s[l - 1] == '\r')
			l--;
		while (l && (s[0] == ' ' || s[0] == '\t')) {
			s++;
			l--;
		}
		while (l && (s[l - 1] == ' ' || s[l - 1] == '\t'))
			l--;
		if (l == 0 || s[0] == '#')
			continue;
		if (!(eq = memchr(s, '=', l)) || eq == s) {
			fail(err, errn, line, "not key=value (is status_url the base station's "
			     "status page?)");
			goto done;
		}
		for (const char *c = s; c < eq; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '.' ||
			      *c == '_')) {
				fail(err, errn, line, "key: only a-z 0-9 . _");
				goto done;
			}
		if (field(base, byidx, s, (size_t)(eq - s), eq + 1, l - (size_t)(eq + 1 - s), line,
			  err, errn) != 0)
			goto done;
	}
	n = json_object_size(byidx);
	if (!(arr = calloc(n ? n : 1, sizeof(*arr))) || !(list = json_array())) {
		fail(err, errn, line, "out of memory");
		goto done;
	}
	n = 0;
	json_object_foreach(byidx, key, h) {
		if (!json_object_get(h, "ipui")) {
			snprintf(err, errn, "handset %s has no ipui", key);
			goto done;
		}
		arr[n++] = h;
	}
	qsort(arr, n, sizeof(*arr), cmp_index);
	for (size_t i = 0; i < n; i++)
		json_array_append(list, arr[i]);
	*out = json_pack("{s:O, s:O}", "base", base, "handsets", list);
	rc = *out ? 0 : -1;
	if (rc)
		fail(err, errn, line, "out of memory");
done:
	free(arr);
	json_decref(list);
	json_decref(base);
	json_decref(byidx);
	return rc;
}
