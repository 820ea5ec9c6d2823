/*
 * Tests for daemon/sdnotify.c: a datagram to a socket named by path and to
 * one in the abstract namespace, nothing without $NOTIFY_SOCKET, refusals
 * of what is not a socket name, a message longer than any fixed buffer,
 * and the watchdog period with and without $WATCHDOG_PID.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"
#include "test.h"

/* A datagram socket bound to name ("@..." abstract), or -1. */
static int
listen_at(const char *name)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	if (bind(fd, (struct sockaddr *)&sa,
	         (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) <
	    0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The next datagram on fd as a string (buf of len bytes), without
 * waiting: it must be there already. */
static const char *
received(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static void
test_path_socket(void)
{
	char dir[] = "/tmp/kcron-sdnotify-XXXXXX", path[128], buf[256];
	int fd;

	if (mkdtemp(dir) == NULL)
		TEST_SKIP("mkdtemp");
	snprintf(path, sizeof(path), "%s/notify", dir);
	if ((fd = listen_at(path)) < 0)
		TEST_SKIP("cannot bind a unix datagram socket");
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK_INT(sdnotify_send("READY=1\nSTATUS=%s%d", "jobs ", 3), 1);
	CHECK_STR(received(fd, buf, sizeof(buf)), "READY=1\nSTATUS=jobs 3");
	CHECK_INT(sdnotify_send("WATCHDOG=1"), 1);
	CHECK_STR(received(fd, buf, sizeof(buf)), "WATCHDOG=1");
	/* one send, one datagram: nothing else queued */
	CHECK(received(fd, buf, sizeof(buf)) == NULL);
	close(fd);

	/* the listener is gone: the error is returned, nothing raised */
	unlink(path);
	CHECK_INT(sdnotify_send("STOPPING=1"), -ENOENT);
	rmdir(dir);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_abstract_socket(void)
{
	char name[64], buf[64];
	int fd;

	snprintf(name, sizeof(name), "@kcron-sdnotify-test-%ld",
	         (long)getpid());
	if ((fd = listen_at(name)) < 0)
		TEST_SKIP("cannot bind an abstract unix socket");
	setenv("NOTIFY_SOCKET", name, 1);
	CHECK_INT(sdnotify_send("STOPPING=1"), 1);
	CHECK_STR(received(fd, buf, sizeof(buf)), "STOPPING=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

/* STATUS= lines carry error messages of any length: no fixed buffer cuts
 * them. */
static void
test_long_message(void)
{
	char dir[] = "/tmp/kcron-sdnotify-XXXXXX", path[128];
	char *long_err = malloc(5000), *buf = malloc(6000);
	int fd;

	if (long_err == NULL || buf == NULL || mkdtemp(dir) == NULL)
		TEST_SKIP("memory or mkdtemp");
	memset(long_err, 'x', 4999);
	long_err[4999] = '\0';
	snprintf(path, sizeof(path), "%s/notify", dir);
	if ((fd = listen_at(path)) < 0)
		TEST_SKIP("cannot bind a unix datagram socket");
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK_INT(sdnotify_send("STATUS=cannot start: %s", long_err), 1);
	CHECK_INT(strlen(received(fd, buf, 6000)),
	          strlen("STATUS=cannot start: ") + 4999);
	close(fd);
	unlink(path);
	rmdir(dir);
	unsetenv("NOTIFY_SOCKET");
	free(long_err);
	free(buf);
}

static void
test_no_socket(void)
{
	char too_long[200];

	unsetenv("NOTIFY_SOCKET");
	CHECK_INT(sdnotify_send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	CHECK_INT(sdnotify_send("READY=1"), 0);
	/* neither a path nor "@name" (vsock: and the like are newer than
	 * the libsystemd this replaces) */
	setenv("NOTIFY_SOCKET", "relative/notify", 1);
	CHECK_INT(sdnotify_send("READY=1"), -EAFNOSUPPORT);
	memset(too_long, 'a', sizeof(too_long) - 1);
	too_long[0] = '/';
	too_long[sizeof(too_long) - 1] = '\0';
	setenv("NOTIFY_SOCKET", too_long, 1);
	CHECK_INT(sdnotify_send("READY=1"), -E2BIG);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_watchdog(void)
{
	char pid[32];

	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	CHECK_INT(sdnotify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "400000", 1);
	CHECK_INT(sdnotify_watchdog_usec(), 400000);
	/* not a positive decimal number, or systemd's infinity: none */
	setenv("WATCHDOG_USEC", "0", 1);
	CHECK_INT(sdnotify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "-5", 1);
	CHECK_INT(sdnotify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "12s", 1);
	CHECK_INT(sdnotify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "", 1);
	CHECK_INT(sdnotify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "18446744073709551615", 1);
	CHECK_INT(sdnotify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "99999999999999999999", 1);
	CHECK_INT(sdnotify_watchdog_usec(), 0);

	/* WATCHDOG_PID: ours, or the period was meant for another process */
	setenv("WATCHDOG_USEC", "200000", 1);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	CHECK_INT(sdnotify_watchdog_usec(), 200000);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	CHECK_INT(sdnotify_watchdog_usec(), 0);
	setenv("WATCHDOG_PID", "not-a-pid", 1);
	CHECK_INT(sdnotify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

int
main(void)
{
	test_no_socket();
	test_path_socket();
	test_abstract_socket();
	test_long_message();
	test_watchdog();
	return test_report("test_sdnotify");
}
