/* Internals of the monitor runtime shared by mon_io.c (serial lines and
 * sockets) and mon_run.c (threads, backoff, storage); tests use them too.
 * Not an interface: the definitions come from the plugin module (plugin.h). */
#ifndef PP_MON_INT_H
#define PP_MON_INT_H

#include <stddef.h>
#include <termios.h>

#include "daemon/plugin/plugin.h"

/* Open the endpoint c describes. Returns a non-blocking fd (a connected
 * socket, a listening socket for tcp-listen, or a configured serial line),
 * or -1 with the reason in why. Connecting polls wakefd so that a stop is
 * prompt (-2 is returned when woken). */
int pp_mon_io_open(const struct pp_mon_conn *c, int wakefd, char *why, size_t n);
/* The termios settings of a serial fd as text ("9600/7E1/rtscts") for logs. */
void pp_mon_io_describe(int fd, char *out, size_t n);
/* Apply c's line settings to t (raw mode, speed, data bits, parity, stop
 * bits, flow control): what serial monitors pass to tcsetattr. PP_EINVAL
 * for a speed termios does not have. */
int pp_mon_io_termios(const struct pp_mon_conn *c, struct termios *t);
/* c's line settings as text, same form as pp_mon_io_describe. */
void pp_mon_io_requested(const struct pp_mon_conn *c, char *out, size_t n);

#endif
