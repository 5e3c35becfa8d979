/* Transports of the monitors: a serial line set up with termios (speed, data
 * bits, parity, stop bits, flow control, raw mode), a TCP connection to the
 * PBX (non-blocking connect, so that a stop never waits on an unreachable
 * host), or a listening TCP socket the PBX connects to. Every fd returned is
 * non-blocking; the runtime polls it together with its wake-up eventfd. */
#include "mon_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

static const struct {
	unsigned baud;
	speed_t speed;
} speeds[] = {
	{ 300, B300 }, { 600, B600 }, { 1200, B1200 }, { 2400, B2400 }, { 4800, B4800 },
	{ 9600, B9600 }, { 19200, B19200 }, { 38400, B38400 }, { 57600, B57600 },
	{ 115200, B115200 }, { 230400, B230400 }, { 460800, B460800 }, { 921600, B921600 },
};

int pp_mon_io_termios(const struct pp_mon_conn *c, struct termios *t)
{
	speed_t sp = 0;

	for (size_t i = 0; i < PP_ARRAY_LEN(speeds); i++)
		if (speeds[i].baud == c->baud)
			sp = speeds[i].speed;
	if (!sp)
		return PP_EINVAL;
	cfmakeraw(t);
	t->c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CMSPAR | CSTOPB | CRTSCTS);
	t->c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY | INPCK);
	t->c_cflag |= CLOCAL | CREAD;
	t->c_cflag |= c->data_bits == 5 ? CS5 : c->data_bits == 6 ? CS6 :
		      c->data_bits == 7 ? CS7 : CS8;
	switch (c->parity) {
	case PP_MON_PAR_NONE:
		break;
	case PP_MON_PAR_EVEN:
		t->c_cflag |= PARENB;
		break;
	case PP_MON_PAR_ODD:
		t->c_cflag |= PARENB | PARODD;
		break;
	case PP_MON_PAR_MARK:
		t->c_cflag |= PARENB | CMSPAR | PARODD;
		break;
	case PP_MON_PAR_SPACE:
		t->c_cflag |= PARENB | CMSPAR;
		break;
	}
	if (c->stop_bits == 2)
		t->c_cflag |= CSTOPB;
	if (c->flow == PP_MON_FLOW_RTSCTS)
		t->c_cflag |= CRTSCTS;
	else if (c->flow == PP_MON_FLOW_XONXOFF)
		t->c_iflag |= IXON | IXOFF;
	t->c_cc[VMIN] = 1;
	t->c_cc[VTIME] = 0;
	cfsetispeed(t, sp);
	cfsetospeed(t, sp);
	return PP_OK;
}

static int serial_open(const struct pp_mon_conn *c, char *why, size_t n)
{
	struct termios t, chk;
	int fd;

	/* O_NONBLOCK: open must not wait for carrier detect; O_NOCTTY: the PBX
	 * line must never become our controlling terminal */
	fd = open(c->device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, n, "%s: %s", c->device, strerror(errno));
		return -1;
	}
	if (!isatty(fd) || tcgetattr(fd, &t) != 0) {
		snprintf(why, n, "%s: not a serial line (%s)", c->device, strerror(errno));
		close(fd);
		return -1;
	}
	if (pp_mon_io_termios(c, &t) != PP_OK) {
		snprintf(why, n, "unsupported speed %u", c->baud);
		close(fd);
		return -1;
	}
	/* TCSANOW and no flush: records the PBX already sent stay readable.
	 * The speed must stick; a pseudo-terminal keeps 8N1 whatever is asked
	 * (Linux drivers/tty/pty.c), so the runtime logs what the line kept. */
	if (tcsetattr(fd, TCSANOW, &t) != 0 || tcgetattr(fd, &chk) != 0) {
		snprintf(why, n, "%s: cannot set the line: %s", c->device, strerror(errno));
		close(fd);
		return -1;
	}
	if (cfgetispeed(&chk) != cfgetispeed(&t)) {
		snprintf(why, n, "%s: the line refused %u baud", c->device, c->baud);
		close(fd);
		return -1;
	}
	return fd;
}

static int sockaddr_of(const char *host, unsigned port, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return 0;
	}
	return -1;
}

/* Keepalive: a PBX that vanishes (power cut, cable) is noticed within a few
 * minutes instead of never (SMDR streams can be silent for hours). */
static void keepalive(int fd)
{
	int on = 1, idle = 60, intvl = 10, cnt = 6;

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

static int tcp_connect(const struct pp_mon_conn *c, int wakefd, char *why, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, err = 0;
	socklen_t el = sizeof(err);

	if (sockaddr_of(c->host, c->port, &ss, &len)) {
		snprintf(why, n, "bad address %s", c->host);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, n, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
		struct pollfd pf[2] = { { fd, POLLOUT, 0 }, { wakefd, POLLIN, 0 } };
		int rc;

		if (errno != EINPROGRESS) {
			snprintf(why, n, "connect: %s", strerror(errno));
			close(fd);
			return -1;
		}
		do
			rc = poll(pf, 2, (int)(c->connect_timeout * 1000));
		while (rc < 0 && errno == EINTR);
		if (pf[1].revents) {
			close(fd);
			return -2;
		}
		if (rc == 0) {
			snprintf(why, n, "connect: timed out after %gs", c->connect_timeout);
			close(fd);
			return -1;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err) {
			snprintf(why, n, "connect: %s", strerror(err ? err : errno));
			close(fd);
			return -1;
		}
	}
	keepalive(fd);
	return fd;
}

static int tcp_listen(const struct pp_mon_conn *c, char *why, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, on = 1;

	if (sockaddr_of(c->listen_host, c->listen_port, &ss, &len)) {
		snprintf(why, n, "bad address %s", c->listen_host);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, n, "socket: %s", strerror(errno));
		return -1;
	}
	/* a restarted monitor (SIGHUP) binds again while old peers linger */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 8) != 0) {
		snprintf(why, n, "%s: %s", c->listen_text, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int pp_mon_io_open(const struct pp_mon_conn *c, int wakefd, char *why, size_t n)
{
	switch (c->transport) {
	case PP_MON_SERIAL:
		return serial_open(c, why, n);
	case PP_MON_TCP:
		return tcp_connect(c, wakefd, why, n);
	case PP_MON_TCP_LISTEN:
		return tcp_listen(c, why, n);
	}
	snprintf(why, n, "unknown transport");
	return -1;
}

void pp_mon_io_describe(int fd, char *out, size_t n)
{
	struct termios t;
	unsigned baud = 0, bits;
	char par = 'N';

	if (tcgetattr(fd, &t) != 0) {
		snprintf(out, n, "?");
		return;
	}
	for (size_t i = 0; i < PP_ARRAY_LEN(speeds); i++)
		if (speeds[i].speed == cfgetispeed(&t))
			baud = speeds[i].baud;
	bits = (t.c_cflag & CSIZE) == CS5 ? 5 : (t.c_cflag & CSIZE) == CS6 ? 6 :
	       (t.c_cflag & CSIZE) == CS7 ? 7 : 8;
	if (t.c_cflag & PARENB)
		par = (t.c_cflag & CMSPAR) ? ((t.c_cflag & PARODD) ? 'M' : 'S') :
		      ((t.c_cflag & PARODD) ? 'O' : 'E');
	snprintf(out, n, "%u/%u%c%u/%s", baud, bits, par, (t.c_cflag & CSTOPB) ? 2 : 1,
		 (t.c_cflag & CRTSCTS) ? "rtscts" : (t.c_iflag & IXON) ? "xonxoff" : "none");
}

void pp_mon_io_requested(const struct pp_mon_conn *c, char *out, size_t n)
{
	static const char par[] = { 'N', 'E', 'O', 'M', 'S' };

	snprintf(out, n, "%u/%u%c%u/%s", c->baud, c->data_bits, par[c->parity], c->stop_bits,
		 c->flow == PP_MON_FLOW_RTSCTS ? "rtscts" : c->flow == PP_MON_FLOW_XONXOFF ? "xonxoff" :
		 "none");
}
