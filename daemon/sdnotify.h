/*
 * sdnotify: the service manager's notification protocol (sd_notify(3)).
 *
 * One datagram of "KEY=VALUE" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace), and the
 * watchdog period in $WATCHDOG_USEC.  systemd documents this protocol as
 * the stable interface and suggests implementing it rather than linking
 * libsystemd for it; linked, libsystemd and the six libraries under it
 * (gcrypt, lz4, lzma, zstd, libcap, gpg-error) were mapped at every start
 * of every command for the daemon's few sd_notify calls.
 */
#ifndef KCRON_SDNOTIFY_H
#define KCRON_SDNOTIFY_H

#include <stdint.h>

/* Send the message (printf format) to $NOTIFY_SOCKET: 1 when sent, 0 when
 * there is no such socket (not run by a service manager), or -errno (the
 * daemon ignores it: a lost status line stops nothing). */
int sdnotify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The watchdog period the manager asks for ($WATCHDOG_USEC, in µs), or 0
 * when it asks none: unset, not a positive number, or $WATCHDOG_PID names
 * another process (a child that inherited the environment). */
uint64_t sdnotify_watchdog_usec(void);

#endif
