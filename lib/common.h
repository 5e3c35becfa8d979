/* Shared definitions: return codes, error messages, growable buffers. */
#ifndef PP_COMMON_H
#define PP_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* Return codes used across modules. 0 is success; everything else negative. */
enum {
	PP_OK = 0,
	PP_ERR = -1,     /* generic failure, see the pp_err message */
	PP_ENOENT = -2,  /* no such record / file */
	PP_EACCES = -3,  /* refused: unsafe path, banned client, missing right */
	PP_EEXIST = -4,  /* already exists */
	PP_EINVAL = -5,  /* malformed input */
	PP_EIO = -6,     /* I/O or storage failure */
	PP_ENOMEM = -7,  /* out of memory */
	PP_EBUSY = -8,   /* try again */
	PP_ENOTSUP = -9, /* not implemented / not supported */
	PP_EBADREQ = -10,/* malformed request: a value of the wrong type */
	PP_EAGAIN = -11, /* queued: the answer follows (see the function) */
};

const char *pp_strerror(int code);

/* One error message. Where a position in a file is known the message reads
 * "FILE:LINE:COL: what is wrong" (the contract format for config errors). */
struct pp_err {
	char msg[512];
	char field[96];  /* the input field at fault ("sip_lines.1.proxy_port"), "" = none */
};

void pp_err_set(struct pp_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Set both the message and the field at fault. */
void pp_err_field(struct pp_err *err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void pp_err_at(struct pp_err *err, const char *file, int line, int col,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Growable byte buffer, always NUL-terminated when data != NULL. */
struct pp_buf {
	char *data;
	size_t len;
	size_t cap;
};

int pp_buf_grow(struct pp_buf *b, size_t extra); /* slow path */

static inline int pp_buf_append(struct pp_buf *b, const void *p, size_t n)
{
	if (b->cap - b->len <= n && pp_buf_grow(b, n) != 0)
		return PP_ENOMEM;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return PP_OK;
}

static inline int pp_buf_putc(struct pp_buf *b, char c)
{
	if (b->cap - b->len <= 1 && pp_buf_grow(b, 1) != 0)
		return PP_ENOMEM;
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
	return PP_OK;
}

static inline int pp_buf_puts(struct pp_buf *b, const char *s)
{
	return pp_buf_append(b, s, strlen(s));
}

int pp_buf_printf(struct pp_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pp_buf_reset(struct pp_buf *b); /* len = 0, keeps memory */
void pp_buf_free(struct pp_buf *b);
/* Hand the bytes to the caller (who free()s them); the buffer becomes empty. */
char *pp_buf_steal(struct pp_buf *b, size_t *len);

#define PP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* FNV-1a 64 */
static inline uint64_t pp_fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ull;
	}
	return h;
}
#define PP_FNV_INIT 14695981039346656037ull

/* Normalise a MAC from any common form (000FD3054848, 00:0f:d3:05:48:48,
 * 00-0F-D3-05-48-48, 000f.d305.4848) to "00:0f:d3:05:48:48".
 * Returns PP_OK or PP_EINVAL. out must hold 18 bytes. */
int pp_mac_normalize(const char *in, size_t len, char out[18]);
/* Can a normalised MAC key a device? Not the all-zero MAC (placeholder names
 * such as Polycom's master file 000000000000.cfg, an empty chaddr) nor the
 * broadcast MAC: neither is ever a phone. mac: as pp_mac_normalize writes it. */
bool pp_mac_is_device(const char *mac);

/* Wall clock in milliseconds / monotonic clock in nanoseconds. */
int64_t pp_now_ms(void);
uint64_t pp_mono_ns(void);
/* The absolute time ms milliseconds from now on clock clk (CLOCK_REALTIME,
 * CLOCK_MONOTONIC): a deadline for pthread_cond_timedwait. */
struct timespec pp_deadline_ms(int clk, int64_t ms);

#endif
