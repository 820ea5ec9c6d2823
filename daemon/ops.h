/*
 * ops: following one asynchronous Kinsta operation (or deployment) to its
 * end.  Pure: the caller polls when told, feeds back what the poll said,
 * and the clock is an argument.
 *
 * Timing, before anything is known of this kind of operation: first poll
 * 2 s after it was accepted, then backoff 2, 4, 8, 15, 30 s (capped).
 * Once a few operations of the kind (action and company) have ended, their
 * durations (struct ops_history, the last OPS_SAMPLES) give an expected
 * length E: the first poll goes just after E, and then at widening steps
 * from E/10 (at least 1 s), doubling up to 30 s, so that a 60 s operation
 * costs about one poll instead of six and an operation suddenly ten times
 * slower meets a few widening polls, never a storm.  A 404 means "not
 * started yet" for the first 60 s
 * (Kinsta creates some operation records late), then failure; polls that
 * fail in transit or meet 5xx or 429 are retried on the same schedule (a
 * poll changes nothing, so retrying is always safe), honouring any
 * Retry-After; past the action's time limit the run is timed out.
 */
#ifndef KCRON_OPS_H
#define KCRON_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OPS_ID_MAX 192
/* Durations kept per kind of operation, and needed before they count. */
#define OPS_SAMPLES     32
#define OPS_MIN_SAMPLES 3
/* "action@company" */
#define OPS_KEY_MAX 200

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

/* The last OPS_SAMPLES durations of one kind of operation, in ms. */
struct ops_history {
	int32_t ms[OPS_SAMPLES];
	uint8_t n, next; /* samples held; where the next one goes */
};

/* Every kind of operation seen: key ("action@company") -> history. */
struct ops_book {
	struct ops_learned {
		char key[OPS_KEY_MAX];
		struct ops_history h;
	} * v;
	size_t n, cap;
};

struct ops_op {
	char id[OPS_ID_MAX];
	int64_t started_ms;      /* when the operation was accepted */
	int64_t deadline_ms;     /* started_ms + the action's time limit */
	int64_t next_ms;         /* when to poll next */
	int polls;               /* polls answered so far */
	int step;                /* index into the backoff schedule */
	int64_t expect_ms;       /* learned length (0: the fixed schedule) */
	int64_t last_running_ms; /* when a poll last said "running" */
	enum ops_state state;
	char message[256]; /* the API's message once failed, or why */
};

/* Start following operation `id` accepted at now_ms, limit_ms at most;
 * 0, or -EINVAL for an empty or overlong id. */
int ops_start(struct ops_op *op, const char *id, int64_t now_ms,
              int64_t limit_ms);

/* Follow op with what h says of its kind: the first poll just after the
 * expected end (when h holds OPS_MIN_SAMPLES durations; else nothing
 * changes).  Call right after ops_start. */
void ops_expect(struct ops_op *op, const struct ops_history *h);

/* The duration op (ended) adds to its kind's history: the time of the
 * poll that saw it succeed, less half the gap since the last poll that saw
 * it running (the end fell in between); when the first poll already saw
 * it done, a little less than that poll's time, so that the estimate
 * keeps probing downwards instead of only ever growing.  False when op
 * did not succeed (a failure says nothing of the usual length). */
bool ops_sample(const struct ops_op *op, int64_t end_ms, int64_t *ms);

/* Has an operation of h's kind, elapsed_ms after it was accepted, surely
 * not ended yet?  True only when h holds OPS_MIN_SAMPLES durations and
 * elapsed_ms is under three quarters of the shortest: its poll can then
 * wait behind new work when the budget is contended. */
bool ops_surely_running(const struct ops_history *h, int64_t elapsed_ms);

/* Add one duration to h. */
void ops_history_add(struct ops_history *h, int64_t ms);

/* The median and 90th percentile of h: false with fewer than
 * OPS_MIN_SAMPLES durations. */
bool ops_history_estimate(const struct ops_history *h, int64_t *median,
                          int64_t *upper);

/* The history of key in b, created empty when create; NULL when absent
 * (or out of memory). */
struct ops_history *ops_book_get(struct ops_book *b, const char *key,
                                 bool create);

/* Release what b holds. */
void ops_book_free(struct ops_book *b);

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
