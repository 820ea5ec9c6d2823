/*
 * control: the running daemon's local control socket, for
 * `kinsta-cron status` and `kinsta-cron trigger JOB`.
 *
 * A Unix stream socket, mode 0600, in $RUNTIME_DIRECTORY (systemd's
 * RuntimeDirectory=, /run/kinsta-cron) or else in state_dir.  One request
 * line per connection ("status", "trigger JOB" or "trigger JOB wait"),
 * answered with text lines, then the daemon closes the connection.  Only
 * the socket's owner (and root) can connect: there is no other
 * authentication.
 *
 * The reply's first line is the verdict: "OK", "ERR" (refused) or
 * "ERR 2" (no such job), then the text for people.  "trigger JOB wait"
 * answers "WAIT", then one result line per target as each run ends, then
 * "END 0" (every target succeeded or was skipped) or "END 1".
 */
#ifndef KCRON_CONTROL_H
#define KCRON_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

struct control;

/* What the daemon answers; each writes its reply to out and returns 0,
 * or -errno for a refused request (the reply says why; -ENOENT: no such
 * job).  trigger_wait (NULL: refused) also sets *run_id, the fire whose
 * results the daemon then hands to control_run_line and control_run_end. */
struct control_hooks {
	int (*status)(FILE *out, void *arg);
	int (*trigger)(const char *job, FILE *out, void *arg);
	void *arg;
	int (*trigger_wait)(const char *job, uint64_t *run_id, FILE *out,
	                    void *arg);
};

/* The socket path for a daemon whose state_dir is state_dir. */
const char *control_path(const char *state_dir, char *buf, size_t len);

/* Listen on path (a stale socket there is replaced); 0 or -errno with a
 * message in err. */
int control_start(struct control **out, uv_loop_t *loop, const char *path,
                  const struct control_hooks *hooks, char *err, size_t errlen);

/* One target of fire run_id ended: line goes to whoever waits for it. */
void control_run_line(struct control *c, uint64_t run_id, const char *line);

/* Fire run_id ended (ok: every target succeeded or was skipped): its
 * waiters get "END 0" or "END 1" and are closed. */
void control_run_end(struct control *c, uint64_t run_id, bool ok);

/* Stop listening, remove the socket; the loop must run once more. */
void control_close(struct control *c);

/* Client: send one request line to the daemon at path, copy the reply to
 * out (line by line as it comes).  0 (request done; a wait: every target
 * succeeded or was skipped), 1 (refused, or a target failed), 2 (no such
 * job), or -errno with a message in err (no daemon listening, timeout, the
 * daemon went away before the end).  A wait has no timeout. */
int control_request(const char *path, const char *line, FILE *out, char *err,
                    size_t errlen);

#endif
