/* Logging: one line per event on stderr, key=value pairs.
 *   ts=2026-11-23T09:12:08.123Z level=info event=tftp.done client=127.0.0.1:4711 file=a.cfg
 * When stderr is the journal ($JOURNAL_STREAM names it), the same line
 * without ts= and with the syslog priority first:
 *   <6>level=info event=tftp.done client=127.0.0.1:4711 file=a.cfg
 * Values containing spaces, quotes or '=' must be passed through pp_q(). */
#ifndef PP_LOG_H
#define PP_LOG_H

#include <stdatomic.h>
#include <stddef.h>

enum pp_log_level { PP_LOG_ERROR = 0, PP_LOG_WARN, PP_LOG_INFO, PP_LOG_DEBUG };

/* Messages above this level are dropped. Atomic: SIGHUP changes it while
 * every thread logs (relaxed loads are a plain load on the hot path). */
extern atomic_int pp_log_level;

static inline void pp_log_set_level(int level)
{
	atomic_store_explicit(&pp_log_level, level, memory_order_relaxed);
}

int pp_log_level_parse(const char *s); /* -1 when unknown */
/* Look at $JOURNAL_STREAM and stderr again at the next line (after
 * stderr was redirected). */
void pp_log_reset_sink(void);
const char *pp_log_level_name(int level);

void pp_log(int level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define pp_log_enabled(level) \
	((level) <= atomic_load_explicit(&pp_log_level, memory_order_relaxed))

/* Quote a value for a key=value log line when it needs quoting: returns s
 * itself when safe, else a quoted, escaped copy in buf (truncated to n). */
const char *pp_q(char *buf, size_t n, const char *s);
/* pp_q for bytes (len of them, NULs included), always copied to buf: quoted
 * when a byte needs it; '"' and '\\' are backslash-escaped, control bytes, DEL and bytes
 * >= 0x80 become \xNN, so a log line stays one line of printable ASCII. */
const char *pp_qn(char *buf, size_t n, const void *s, size_t len);

#endif
