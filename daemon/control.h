/*
 * control: the running daemon's local control socket, for
 * `kinsta-cron status` and `kinsta-cron trigger JOB`.
 *
 * A Unix stream socket, mode 0600, in $RUNTIME_DIRECTORY (systemd's
 * RuntimeDirectory=, /run/kinsta-cron) or else in state_dir.  One request
 * line per connection ("status" or "trigger JOB"), answered with text
 * lines, then the daemon closes the connection.  Only the socket's owner
 * (and root) can connect: there is no other authentication.
 */
#ifndef KCRON_CONTROL_H
#define KCRON_CONTROL_H

#include <stddef.h>
#include <stdio.h>

#include <uv.h>

struct control;

/* What the daemon answers; each writes its reply to out and returns 0,
 * or -errno for a refused request (the reply says why). */
struct control_hooks {
	int (*status)(FILE *out, void *arg);
	int (*trigger)(const char *job, FILE *out, void *arg);
	void *arg;
};

/* The socket path for a daemon whose state_dir is state_dir. */
const char *control_path(const char *state_dir, char *buf, size_t len);

/* Listen on path (a stale socket there is replaced); 0 or -errno with a
 * message in err. */
int control_start(struct control **out, uv_loop_t *loop, const char *path,
                  const struct control_hooks *hooks, char *err, size_t errlen);

/* Stop listening, remove the socket; the loop must run once more. */
void control_close(struct control *c);

/* Client: send one request line to the daemon at path, copy the reply to
 * out.  0 (request done), 1 (the daemon refused it: reply says why), or
 * -errno with a message in err (no daemon listening, timeout). */
int control_request(const char *path, const char *line, FILE *out, char *err,
                    size_t errlen);

#endif
