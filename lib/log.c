/* key=value logging on stderr, one line per event, written with one write(2)
 * so that lines from different threads never interleave.
 *
 * Under systemd, stderr is a stream to the journal: $JOURNAL_STREAM names
 * its device and inode (systemd.exec(5)). Then each line starts with the
 * syslog priority, "<3>" to "<7>" (sd-daemon(3)), which journald takes as
 * the entry's priority (`journalctl -p warning` works), and carries no ts=
 * (the journal stamps every entry). */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

atomic_int pp_log_level = PP_LOG_INFO;

/* -1 not looked at yet, 0 a plain stderr, 1 the journal */
static atomic_int to_journal = -1;

/* syslog priorities of error, warn, info, debug (LOG_ERR .. LOG_DEBUG) */
static const char prio[] = { '3', '4', '6', '7' };

static int journal_stream(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	/* the variable may have been inherited by a process whose stderr goes
	 * elsewhere: it counts only when it names our stderr */
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void pp_log_reset_sink(void)
{
	atomic_store(&to_journal, -1);
}

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int pp_log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

const char *pp_log_level_name(int level)
{
	return level >= 0 && level < 4 ? level_names[level] : "?";
}

void pp_log(int level, const char *event, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n, m, j;

	if (!pp_log_enabled(level))
		return;
	if ((j = atomic_load_explicit(&to_journal, memory_order_relaxed)) < 0) {
		j = journal_stream();
		atomic_store(&to_journal, j);
	}
	if (j) {
		n = snprintf(line, sizeof(line), "<%c>level=%s event=%s",
			     prio[level >= 0 && level < 4 ? level : 3], pp_log_level_name(level),
			     event);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, sizeof(line),
			     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=%s",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec, ts.tv_nsec / 1000000, pp_log_level_name(level), event);
	}
	if (n < 0)
		return;
	if (fmt && *fmt && (size_t)n < sizeof(line) - 2) {
		line[n++] = ' ';
		va_start(ap, fmt);
		m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
		va_end(ap);
		if (m > 0)
			n += m;
	}
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

/* "..." of b[0..len) into buf (n >= 3): quotes and backslashes escaped,
 * control bytes (and, with esc_high, bytes >= 0x7f) as \xNN; cut to fit. */
static const char *quote_into(char *buf, size_t n, const unsigned char *b, size_t len,
			      bool esc_high)
{
	size_t o = 0;

	buf[o++] = '"';
	for (size_t i = 0; i < len && o + 6 < n; i++) {
		unsigned char c = b[i];

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < ' ' || c == 0x7f || (esc_high && c > 0x7f)) {
			o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

const char *pp_qn(char *buf, size_t n, const void *s, size_t len)
{
	const unsigned char *b = s;
	int need = len == 0;

	for (size_t i = 0; i < len && !need; i++)
		need = b[i] <= ' ' || b[i] == '"' || b[i] == '=' || b[i] == '\\' || b[i] >= 0x7f;
	if (n < 3)
		return "\"\"";
	if (!need && len < n) {
		memcpy(buf, b, len);
		buf[len] = '\0';
		return buf;
	}
	return quote_into(buf, n, b, len, true);
}

const char *pp_q(char *buf, size_t n, const char *s)
{
	int need = (s[0] == '\0');

	for (size_t i = 0; s[i] && !need; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
			need = 1;
	}
	if (!need)
		return s;
	if (n < 3)
		return "\"\"";
	return quote_into(buf, n, (const unsigned char *)s, strlen(s), false);
}
