/*
 * sdnotify: sd_notify's protocol, as libsystemd 252 (Debian 12) speaks it
 * for sd_notify(0, ...) and sd_watchdog_enabled(0, ...): no credentials
 * or file descriptors attached (the kernel adds the sender's credentials
 * for the manager, which asks for them), the environment left as it is.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"

int
sdnotify_send(const char *fmt, ...)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *msg;
	size_t plen;
	socklen_t salen;
	va_list ap;
	ssize_t n;
	int len, fd, rc = 1;

	if (path == NULL || path[0] == '\0')
		return 0;
	if (path[0] != '/' && path[0] != '@')
		return -EAFNOSUPPORT;
	if ((plen = strlen(path)) >= sizeof(sa.sun_path))
		return -E2BIG;
	memcpy(sa.sun_path, path, plen);
	/* "@name": the abstract namespace, a leading NUL and no final one */
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen +
	                    (path[0] == '/'));
	va_start(ap, fmt);
	len = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (len < 0)
		return -ENOMEM;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		rc = -errno;
	} else {
		n = sendto(fd, msg, (size_t)len, MSG_NOSIGNAL,
		           (struct sockaddr *)&sa, salen);
		if (n < 0)
			rc = -errno;
		close(fd);
	}
	free(msg);
	return rc;
}

/* A plain decimal number, as systemd writes these (no sign, no blank). */
static int
parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

uint64_t
sdnotify_watchdog_usec(void)
{
	const char *usec_s = getenv("WATCHDOG_USEC");
	const char *pid_s = getenv("WATCHDOG_PID");
	uint64_t usec, pid;

	/* UINT64_MAX is systemd's "infinity": no watchdog */
	if (usec_s == NULL || parse_u64(usec_s, &usec) < 0 || usec == 0 ||
	    usec == UINT64_MAX)
		return 0;
	if (pid_s != NULL &&
	    (parse_u64(pid_s, &pid) < 0 || pid != (uint64_t)getpid()))
		return 0;
	return usec;
}
