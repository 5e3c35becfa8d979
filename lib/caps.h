/* Linux capabilities: give up every capability of the process (effective,
 * permitted, inheritable and ambient), so that neither this process nor
 * anything it spawns can bind privileged ports or open raw sockets again.
 * Library code: returns a code, never logs. */
#ifndef PP_CAPS_H
#define PP_CAPS_H

#include <stdint.h>

/* Clear the ambient set, then, only when any capability is held, the
 * effective/permitted/inheritable sets (capset is not called otherwise, so a
 * process without capabilities needs no capset under a seccomp filter).
 * Returns 0, or -errno from capset. */
int pp_caps_clear(void);
/* The effective set as a bit mask (bit n = capability n); 0 when none. */
uint64_t pp_caps_effective(void);

#endif
