/* Capabilities through the raw capget/capset calls (no libcap needed). */
#include "caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int caps_get(struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3])
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };

	return syscall(SYS_capget, &h, d) == 0 ? 0 : -errno;
}

uint64_t pp_caps_effective(void)
{
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { { 0 } };

	if (caps_get(d) != 0)
		return 0;
	return (uint64_t)d[0].effective | (uint64_t)d[1].effective << 32;
}

int pp_caps_clear(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { { 0 } };
	int rc;

	/* ambient capabilities survive exec: drop them first (EINVAL on kernels
	 * without ambient capabilities, nothing to drop there) */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if ((rc = caps_get(d)) != 0)
		return rc;
	if (!(d[0].effective | d[0].permitted | d[0].inheritable | d[1].effective |
	      d[1].permitted | d[1].inheritable))
		return 0;
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		d[i].effective = d[i].permitted = d[i].inheritable = 0;
	return syscall(SYS_capset, &h, d) == 0 ? 0 : -errno;
}
