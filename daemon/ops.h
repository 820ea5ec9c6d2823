/*
 * ops: following one asynchronous Kinsta operation (or deployment) to its
 * end.  Pure: the caller polls when told, feeds back what the poll said,
 * and the clock is an argument.
 *
 * Timing: first poll 2 s after the operation was accepted, then backoff 2,
 * 4, 8, 15, 30 s (capped); a 404 means "not started yet" for the first 60 s
 * (Kinsta creates some operation records late), then failure; polls that
 * fail in transit or meet 5xx or 429 are retried on the same schedule (a
 * poll changes nothing, so retrying is always safe), honouring any
 * Retry-After; past the action's time limit the run is timed out.
 */
#ifndef KCRON_OPS_H
#define KCRON_OPS_H

#include <stdint.h>

#define OPS_ID_MAX 192

enum ops_state { OPS_RUNNING, OPS_SUCCEEDED, OPS_FAILED, OPS_TIMED_OUT };

/* What one poll said, as classified by kinsta_classify_poll(). */
enum ops_poll {
	OPS_POLL_RUNNING,   /* 202, or the deployment is still building */
	OPS_POLL_SUCCEEDED, /* 200 */
	OPS_POLL_FAILED,    /* 500 or a failed deployment: message says why */
	OPS_POLL_NOT_FOUND, /* 404 */
	OPS_POLL_AUTH,      /* 401: the key was rejected or has expired */
	OPS_POLL_RETRY,     /* transport error, 5xx other than 500, 429 */
	OPS_POLL_REJECTED,  /* any other 4xx: the poll itself is wrong */
};

struct ops_op {
	char id[OPS_ID_MAX];
	int64_t started_ms;  /* when the operation was accepted */
	int64_t deadline_ms; /* started_ms + the action's time limit */
	int64_t next_ms;     /* when to poll next */
	int polls;           /* polls answered so far */
	int step;            /* index into the backoff schedule */
	enum ops_state state;
	char message[256]; /* the API's message once failed, or why */
};

/* Start following operation `id` accepted at now_ms, limit_ms at most;
 * 0, or -EINVAL for an empty or overlong id. */
int ops_start(struct ops_op *op, const char *id, int64_t now_ms,
              int64_t limit_ms);

/* Feed the outcome of a poll made at now_ms; retry_after_ms (>= 0 when the
 * server said when to come back) stretches the next wait.  Returns the new
 * state; while OPS_RUNNING, op->next_ms says when to poll again. */
enum ops_state ops_feed(struct ops_op *op, enum ops_poll what,
                        const char *message, int64_t now_ms,
                        int64_t retry_after_ms);

/* Check the time limit at now_ms (for a poll that is late or queued):
 * OPS_TIMED_OUT once past the deadline, else the current state. */
enum ops_state ops_check(struct ops_op *op, int64_t now_ms);

/* Name of a state: "running", "succeeded", "failed", "timed-out". */
const char *ops_state_name(enum ops_state s);

#endif
