/* Shared helpers: error messages, buffers, MAC normalisation, clocks. */
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

const char *pp_strerror(int code)
{
	switch (code) {
	case PP_OK: return "ok";
	case PP_ENOENT: return "not found";
	case PP_EACCES: return "refused";
	case PP_EEXIST: return "already exists";
	case PP_EINVAL: return "invalid";
	case PP_EIO: return "i/o error";
	case PP_ENOMEM: return "out of memory";
	case PP_EBUSY: return "busy";
	case PP_ENOTSUP: return "not supported";
	case PP_EBADREQ: return "malformed request";
	case PP_EAGAIN: return "queued";
	default: return "error";
	}
}

void pp_err_set(struct pp_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void pp_err_field(struct pp_err *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void pp_err_at(struct pp_err *err, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err)
		return;
	n = snprintf(err->msg, sizeof(err->msg), "%s:%d:%d: ", file ? file : "?", line, col);
	if (n < 0 || (size_t)n >= sizeof(err->msg))
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

int pp_buf_grow(struct pp_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1, cap = b->cap ? b->cap : 256;
	char *p;

	if (need < b->len)
		return PP_ENOMEM;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return PP_ENOMEM;
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p)
		return PP_ENOMEM;
	b->data = p;
	b->cap = cap;
	return PP_OK;
}

int pp_buf_printf(struct pp_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return PP_EINVAL;
	if (b->cap - b->len <= (size_t)n && pp_buf_grow(b, (size_t)n) != 0)
		return PP_ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return PP_OK;
}

void pp_buf_reset(struct pp_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void pp_buf_free(struct pp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *pp_buf_steal(struct pp_buf *b, size_t *len)
{
	char *p = b->data;

	if (len)
		*len = b->len;
	if (!p)
		p = calloc(1, 1);
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int pp_mac_normalize(const char *in, size_t len, char out[18])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char nib[12];
	size_t i, n = 0;
	char sep = 0;

	for (i = 0; i < len; i++) {
		int v = hexval((unsigned char)in[i]);

		if (v >= 0) {
			if (n == 12)
				return PP_EINVAL;
			nib[n++] = (unsigned char)v;
			continue;
		}
		/* one kind of separator, only between digit groups */
		if (in[i] != ':' && in[i] != '-' && in[i] != '.')
			return PP_EINVAL;
		if (sep && in[i] != sep)
			return PP_EINVAL;
		if (n == 0 || i + 1 == len || hexval((unsigned char)in[i + 1]) < 0)
			return PP_EINVAL;
		sep = in[i];
	}
	if (n != 12)
		return PP_EINVAL;
	for (i = 0; i < 6; i++) {
		out[i * 3] = hex[nib[i * 2]];
		out[i * 3 + 1] = hex[nib[i * 2 + 1]];
		out[i * 3 + 2] = i == 5 ? '\0' : ':';
	}
	return PP_OK;
}

bool pp_mac_is_device(const char *mac)
{
	return mac && *mac && strcmp(mac, "00:00:00:00:00:00") != 0 &&
	       strcmp(mac, "ff:ff:ff:ff:ff:ff") != 0;
}

int64_t pp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec pp_deadline_ms(int clk, int64_t ms)
{
	struct timespec ts;

	clock_gettime((clockid_t)clk, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

uint64_t pp_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

