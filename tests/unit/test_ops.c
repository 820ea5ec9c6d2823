/*
 * Tests for daemon/ops.c against a fake clock: the poll schedule, every
 * kind of poll answer, the 404 grace, Retry-After, the time limit.
 */
#include <errno.h>

#include "ops.h"
#include "test.h"

static void
test_schedule(void)
{
	struct ops_op op;
	/* first poll after 2 s, then 2, 4, 8, 15, 30, 30 s */
	static const int64_t want[] = {2000,  4000,  8000,  16000,
	                               31000, 61000, 91000, 121000};
	int64_t now = 0;

	CHECK_INT(ops_start(&op, "cache:clear-1", 0, 600000), 0);
	CHECK_INT(op.next_ms, want[0]);
	for (int i = 1; i < 8; i++) {
		now = op.next_ms;
		CHECK_INT(ops_feed(&op, OPS_POLL_RUNNING, NULL, now, -1),
		          OPS_RUNNING);
		CHECK_INT(op.next_ms, want[i]);
	}
	CHECK_INT(op.polls, 7);
	now = op.next_ms;
	CHECK_INT(ops_feed(&op, OPS_POLL_SUCCEEDED,
	                   "Successfully finished request.", now, -1),
	          OPS_SUCCEEDED);
	CHECK_STR(op.message, "Successfully finished request.");
	/* a finished operation stays finished */
	CHECK_INT(ops_feed(&op, OPS_POLL_FAILED, "late", now + 1, -1),
	          OPS_SUCCEEDED);
	CHECK_STR(ops_state_name(OPS_TIMED_OUT), "timed-out");
}

static void
test_failures(void)
{
	struct ops_op op;

	ops_start(&op, "x:y-1", 0, 600000);
	CHECK_INT(
	    ops_feed(&op, OPS_POLL_FAILED, "Disk quota exceeded", 2000, -1),
	    OPS_FAILED);
	CHECK_STR(op.message, "Disk quota exceeded");

	ops_start(&op, "x:y-1", 0, 600000);
	CHECK_INT(ops_feed(&op, OPS_POLL_FAILED, "", 2000, -1), OPS_FAILED);
	CHECK_STR(op.message, "operation failed");

	ops_start(&op, "x:y-1", 0, 600000);
	CHECK_INT(ops_feed(&op, OPS_POLL_AUTH, "Unauthenticated.", 2000, -1),
	          OPS_FAILED);
	CHECK_STR(op.message, "API key rejected or expired");

	ops_start(&op, "x:y-1", 0, 600000);
	CHECK_INT(
	    ops_feed(&op, OPS_POLL_REJECTED, "Bad request format", 2000, -1),
	    OPS_FAILED);
	CHECK_STR(op.message, "Bad request format");

	/* transport errors and 5xx are retried on the backoff schedule */
	ops_start(&op, "x:y-1", 0, 600000);
	CHECK_INT(ops_feed(&op, OPS_POLL_RETRY, "502", 2000, -1), OPS_RUNNING);
	CHECK_INT(op.next_ms, 4000);

	CHECK_INT(ops_start(&op, "", 0, 1), -EINVAL);
	{
		char longid[300];

		memset(longid, 'a', sizeof(longid) - 1);
		longid[sizeof(longid) - 1] = '\0';
		CHECK_INT(ops_start(&op, longid, 0, 1), -EINVAL);
	}
}

static void
test_not_found_grace(void)
{
	struct ops_op op;
	int64_t now = 0;

	ops_start(&op, "sites:add-1", 0, 600000);
	/* 404s inside the first 60 s: keep waiting */
	while (op.next_ms < 60000) {
		now = op.next_ms;
		CHECK_INT(ops_feed(&op, OPS_POLL_NOT_FOUND, NULL, now, -1),
		          OPS_RUNNING);
	}
	now = op.next_ms;
	CHECK(now >= 60000);
	CHECK_INT(ops_feed(&op, OPS_POLL_NOT_FOUND, NULL, now, -1), OPS_FAILED);
	CHECK_STR(op.message, "operation not found 60 s after it was accepted");

	/* a 404 that turns into 202 then 200 is fine */
	ops_start(&op, "sites:add-2", 0, 600000);
	ops_feed(&op, OPS_POLL_NOT_FOUND, NULL, 2000, -1);
	ops_feed(&op, OPS_POLL_RUNNING, NULL, 4000, -1);
	CHECK_INT(ops_feed(&op, OPS_POLL_SUCCEEDED, NULL, 8000, -1),
	          OPS_SUCCEEDED);
}

static void
test_retry_after_and_deadline(void)
{
	struct ops_op op;

	ops_start(&op, "x:y-1", 0, 600000);
	CHECK_INT(ops_feed(&op, OPS_POLL_RETRY, NULL, 2000, 45000),
	          OPS_RUNNING);
	CHECK_INT(op.next_ms, 47000); /* the server's wait, not 2 s */
	CHECK_INT(ops_feed(&op, OPS_POLL_RUNNING, NULL, 47000, 1000),
	          OPS_RUNNING);
	CHECK_INT(op.next_ms, 51000); /* backoff wins over a shorter hint */

	/* a 10 s limit: polls at 2, 4, 8, then exactly at 10, then out */
	ops_start(&op, "x:y-1", 0, 10000);
	CHECK_INT(ops_feed(&op, OPS_POLL_RUNNING, NULL, 2000, -1), OPS_RUNNING);
	CHECK_INT(ops_feed(&op, OPS_POLL_RUNNING, NULL, 4000, -1), OPS_RUNNING);
	CHECK_INT(op.next_ms, 8000);
	CHECK_INT(ops_feed(&op, OPS_POLL_RUNNING, NULL, 8000, -1), OPS_RUNNING);
	CHECK_INT(op.next_ms, 10000);
	CHECK_INT(ops_feed(&op, OPS_POLL_RUNNING, NULL, 10000, -1),
	          OPS_TIMED_OUT);
	CHECK_STR(op.message, "operation still running after 10 s");

	/* ops_check alone enforces the limit (a poll stuck in a queue) */
	ops_start(&op, "x:y-1", 0, 10000);
	CHECK_INT(ops_check(&op, 9999), OPS_RUNNING);
	CHECK_INT(ops_check(&op, 10000), OPS_TIMED_OUT);
	/* the answer arriving after the limit does not revive it */
	CHECK_INT(ops_feed(&op, OPS_POLL_SUCCEEDED, NULL, 10001, -1),
	          OPS_TIMED_OUT);
}

int
main(void)
{
	test_schedule();
	test_failures();
	test_not_found_grace();
	test_retry_after_and_deadline();
	return test_report("test_ops");
}
