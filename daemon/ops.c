/*
 * ops: the follow-up schedule of one operation.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ops.h"

#define FIRST_POLL_MS      2000
#define NOT_FOUND_GRACE_MS 60000

static const int64_t backoff_ms[] = {2000, 4000, 8000, 15000, 30000};
#define NBACKOFF ((int)(sizeof(backoff_ms) / sizeof(backoff_ms[0])))

int
ops_start(struct ops_op *op, const char *id, int64_t now_ms, int64_t limit_ms)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n >= sizeof(op->id))
		return -EINVAL;
	memset(op, 0, sizeof(*op));
	memcpy(op->id, id, n + 1);
	op->started_ms = now_ms;
	op->deadline_ms = now_ms + limit_ms;
	op->next_ms = now_ms + FIRST_POLL_MS;
	op->state = OPS_RUNNING;
	return 0;
}

static enum ops_state
finish(struct ops_op *op, enum ops_state s, const char *message)
{
	op->state = s;
	snprintf(op->message, sizeof(op->message), "%s",
	         message ? message : "");
	return s;
}

enum ops_state
ops_check(struct ops_op *op, int64_t now_ms)
{
	if (op->state == OPS_RUNNING && now_ms >= op->deadline_ms) {
		char why[128];

		snprintf(
		    why, sizeof(why), "operation still running after %lld s",
		    (long long)((op->deadline_ms - op->started_ms) / 1000));
		return finish(op, OPS_TIMED_OUT, why);
	}
	return op->state;
}

enum ops_state
ops_feed(struct ops_op *op, enum ops_poll what, const char *message,
         int64_t now_ms, int64_t retry_after_ms)
{
	int64_t wait;

	if (op->state != OPS_RUNNING)
		return op->state;
	op->polls++;
	switch (what) {
	case OPS_POLL_SUCCEEDED:
		return finish(op, OPS_SUCCEEDED, message);
	case OPS_POLL_FAILED:
		return finish(op, OPS_FAILED,
		              message && *message ? message
		                                  : "operation failed");
	case OPS_POLL_AUTH:
		return finish(op, OPS_FAILED, "API key rejected or expired");
	case OPS_POLL_REJECTED:
		return finish(op, OPS_FAILED, message);
	case OPS_POLL_NOT_FOUND:
		if (now_ms - op->started_ms >= NOT_FOUND_GRACE_MS)
			return finish(op, OPS_FAILED,
			              "operation not found 60 s after it was "
			              "accepted");
		break;
	case OPS_POLL_RUNNING:
	case OPS_POLL_RETRY:
		break;
	}
	wait = backoff_ms[op->step];
	if (op->step < NBACKOFF - 1)
		op->step++;
	if (retry_after_ms > wait)
		wait = retry_after_ms;
	op->next_ms = now_ms + wait;
	/* One last look exactly at the deadline rather than giving up
	 * early or polling past it. */
	if (op->next_ms > op->deadline_ms && now_ms < op->deadline_ms)
		op->next_ms = op->deadline_ms;
	return ops_check(op, now_ms);
}

const char *
ops_state_name(enum ops_state s)
{
	static const char *const names[] = {"running", "succeeded", "failed",
	                                    "timed-out"};

	return names[s];
}
