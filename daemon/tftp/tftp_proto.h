/* TFTP wire format (RFC 1350, options RFC 2347/2348/2349/7440): a pure
 * parser and packet builders, no I/O, so that it can be unit tested and
 * fuzzed on its own. */
#ifndef PP_TFTP_PROTO_H
#define PP_TFTP_PROTO_H

#include <stddef.h>
#include <stdint.h>

enum tftp_op {
	TFTP_RRQ = 1,
	TFTP_WRQ = 2,
	TFTP_DATA = 3,
	TFTP_ACK = 4,
	TFTP_ERROR = 5,
	TFTP_OACK = 6,
};

enum tftp_errcode {
	TFTP_EUNDEF = 0,    /* not defined, see message */
	TFTP_ENOTFOUND = 1, /* file not found */
	TFTP_EACCESS = 2,   /* access violation */
	TFTP_ENOSPACE = 3,  /* disk full */
	TFTP_EBADOP = 4,    /* illegal TFTP operation */
	TFTP_EBADID = 5,    /* unknown transfer ID */
	TFTP_EEXISTS = 6,   /* file already exists */
	TFTP_ENOUSER = 7,   /* no such user */
	TFTP_EOPTNEG = 8,   /* option negotiation refused (RFC 2347) */
};

enum tftp_mode { TFTP_MODE_UNKNOWN = 0, TFTP_MODE_OCTET, TFTP_MODE_NETASCII, TFTP_MODE_MAIL };

#define TFTP_BLKSIZE_MIN 8
#define TFTP_BLKSIZE_MAX 65464
#define TFTP_BLKSIZE_DEFAULT 512
#define TFTP_WINDOW_MAX 65535
#define TFTP_TIMEOUT_MAX 255
#define TFTP_PKT_MAX (4 + TFTP_BLKSIZE_MAX)

/* A parsed RRQ/WRQ. Pointers reference the packet. Option values are -1
 * when the option was absent or invalid (then bad_option names it). */
struct tftp_req {
	int opcode;              /* TFTP_RRQ or TFTP_WRQ */
	const char *file;        /* not NUL-terminated in general: use file_len */
	size_t file_len;
	enum tftp_mode mode;
	long long blksize;
	long long timeout;       /* seconds */
	long long tsize;
	long long windowsize;
	const char *bad_option;  /* first known option with a malformed value, else NULL */
	unsigned n_options;      /* option pairs seen (known and unknown) */
	unsigned n_unknown;      /* unknown options (ignored) */
};

/* Parse a request. Returns 0, or -1 with *why a short static text. */
int tftp_parse_request(const uint8_t *p, size_t n, struct tftp_req *r, const char **why);

/* Opcode of a packet, or 0 when shorter than 2 bytes. */
int tftp_opcode(const uint8_t *p, size_t n);

/* ACK: returns 0 and the block number, -1 when malformed. */
int tftp_parse_ack(const uint8_t *p, size_t n, uint16_t *block);

/* ERROR: returns 0 with the code and the message (up to its NUL or the end
 * of the packet), -1 when malformed. */
int tftp_parse_error(const uint8_t *p, size_t n, uint16_t *code, const char **msg,
		     size_t *msg_len);

/* Builders: return the packet length, 0 when it does not fit. */
size_t tftp_build_error(uint8_t *buf, size_t cap, uint16_t code, const char *msg);

struct tftp_oack {
	long long blksize, timeout, tsize, windowsize; /* -1: not acknowledged */
};
size_t tftp_build_oack(uint8_t *buf, size_t cap, const struct tftp_oack *o);

static inline void tftp_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t tftp_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* netascii encoding done on the fly: LF -> CR LF, CR -> CR NUL. The state
 * is the input offset plus the second byte of a pair still to emit when the
 * output filled up between the two. */
struct tftp_na {
	uint64_t in_off;
	uint64_t out_off; /* bytes produced so far */
	int pending;      /* -1 none, else the byte to emit first */
};

static inline void tftp_na_init(struct tftp_na *s)
{
	s->in_off = 0;
	s->out_off = 0;
	s->pending = -1;
}

/* Encode from in[0..in_len) (the bytes at s->in_off) into out (up to
 * out_cap bytes). Advances s. Returns the bytes written. */
size_t tftp_na_encode(struct tftp_na *s, const uint8_t *in, size_t in_len, uint8_t *out,
		      size_t out_cap);

/* Encoded size of in[0..n): n + the number of LF and CR bytes. */
uint64_t tftp_na_count_extra(const uint8_t *in, size_t n);

#endif
