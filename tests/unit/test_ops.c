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

/* ---- learning ------------------------------------------------------------ */

static void
test_history_estimate(void)
{
	struct ops_history h = {0};
	int64_t med, up;

	CHECK(!ops_history_estimate(&h, &med, &up));
	ops_history_add(&h, 9000);
	ops_history_add(&h, 11000);
	CHECK(!ops_history_estimate(&h, &med, &up)); /* 2 < OPS_MIN_SAMPLES */
	ops_history_add(&h, 10000);
	CHECK(ops_history_estimate(&h, &med, &up));
	CHECK_INT(med, 10000);
	CHECK_INT(up, 11000);
	/* the ring keeps the last OPS_SAMPLES: 40 slow ones push every
	 * early sample out */
	for (int i = 0; i < 40; i++)
		ops_history_add(&h, 60000 + i);
	CHECK_INT(h.n, OPS_SAMPLES);
	CHECK(ops_history_estimate(&h, &med, &up));
	CHECK_INT(med, 60000 + 8 + OPS_SAMPLES / 2);
	CHECK_INT(up, 60000 + 8 + (OPS_SAMPLES * 9) / 10);
	/* robust: one outlier in ten moves the median by one sample */
	ops_history_add(&h, 3600000);
	CHECK(ops_history_estimate(&h, &med, &up));
	CHECK(med <= 60000 + 8 + OPS_SAMPLES / 2 + 1);
	/* clamped, never negative */
	ops_history_add(&h, -5);
	CHECK_INT(h.ms[(h.next + OPS_SAMPLES - 1) % OPS_SAMPLES], 0);
}

static void
test_book(void)
{
	struct ops_book b = {0};
	struct ops_history *x, *y;
	char longkey[OPS_KEY_MAX + 1];

	CHECK(ops_book_get(&b, "backup@c1", false) == NULL);
	x = ops_book_get(&b, "backup@c1", true);
	CHECK(x != NULL && x->n == 0);
	ops_history_add(x, 5);
	for (int i = 0; i < 20; i++) { /* grows past its first capacity */
		char k[32];

		snprintf(k, sizeof(k), "a%d@c", i);
		CHECK(ops_book_get(&b, k, true) != NULL);
	}
	y = ops_book_get(&b, "backup@c1", false);
	CHECK(y != NULL && y->n == 1 && y->ms[0] == 5);
	CHECK_INT(b.n, 21);
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	CHECK(ops_book_get(&b, longkey, true) == NULL);
	ops_book_free(&b);
	CHECK(b.n == 0 && b.v == NULL);
}

/* Follow one operation of length d with what h knows, polling when told,
 * and learn from it: the polls it took and how late its end was seen. */
static int
follow(struct ops_history *h, int64_t d, int64_t *late)
{
	struct ops_op op;
	int64_t now = 0, ms;
	int polls = 0;

	ops_start(&op, "backups:add-1", 0, 3600000);
	ops_expect(&op, h);
	while (op.state == OPS_RUNNING && polls < 100) {
		int64_t prev = now;

		now = op.next_ms;
		CHECK(now > prev); /* never two polls at one instant */
		polls++;
		ops_feed(&op, now >= d ? OPS_POLL_SUCCEEDED : OPS_POLL_RUNNING,
		         NULL, now, -1);
	}
	CHECK_INT(op.state, OPS_SUCCEEDED);
	*late = now - d;
	if (ops_sample(&op, now, &ms))
		ops_history_add(h, ms);
	return polls;
}

static void
test_learning_converges(void)
{
	static const int64_t lengths[] = {3000, 10000, 60000, 120000};
	uint32_t seed = 12345;

	for (size_t k = 0; k < sizeof(lengths) / sizeof(lengths[0]); k++) {
		struct ops_history h = {0};
		int64_t d = lengths[k], late, worst = 0, limit;
		int polls = 0, first;

		/* before any data: the fixed schedule (2, 4, 8, 15, 30 s) */
		first = follow(&h, d, &late);
		CHECK(first >= 2);
		for (int i = 0; i < 30; i++) /* warm-up */
			follow(&h, d, &late);
		for (int i = 0; i < 200; i++) {
			int64_t jitter;

			/* +-3%: a steady fleet, clocks and queues included */
			seed = seed * 1103515245u + 12345u;
			jitter = (int64_t)(seed >> 16) % 61 - 30;
			polls += follow(&h, d + d * jitter / 1000, &late);
			if (late > worst)
				worst = late;
		}
		limit = d / 5 > 2000 ? d / 5 : 2000;
		fprintf(
		    stderr,
		    "%lld ms: %.2f polls per operation, worst %lld ms late\n",
		    (long long)d, polls / 200.0, (long long)worst);
		CHECK(polls <= 300); /* at most 1.5 per operation */
		CHECK(worst <= limit);
	}
}

static void
test_sudden_slow_operation(void)
{
	struct ops_history h = {0};
	struct ops_op op;
	int64_t now = 0, prev = 0, late, gap_min = INT64_MAX;
	int polls = 0;

	for (int i = 0; i < 10; i++)
		follow(&h, 10000, &late);
	/* this one takes 20 times as long: widening polls, never a storm */
	ops_start(&op, "backups:add-2", 0, 3600000);
	ops_expect(&op, &h);
	while (op.state == OPS_RUNNING) {
		now = op.next_ms;
		if (polls > 0 && now - prev < gap_min)
			gap_min = now - prev;
		prev = now;
		polls++;
		ops_feed(&op,
		         now >= 200000 ? OPS_POLL_SUCCEEDED : OPS_POLL_RUNNING,
		         NULL, now, -1);
	}
	CHECK(gap_min >= 1000);
	CHECK(polls <= 12); /* 10.3 s, then 1, 2, 4, 8, 16, 30, 30 ... */
	CHECK(now - 200000 <= 30000);
}

static void
test_learned_time_limit(void)
{
	struct ops_history h = {0};
	struct ops_op op;
	int64_t ms;

	for (int i = 0; i < 5; i++)
		ops_history_add(&h, 900000);
	/* expected 15 minutes, but the limit is 10: one look at the limit */
	ops_start(&op, "x:y-1", 0, 600000);
	ops_expect(&op, &h);
	CHECK_INT(op.next_ms, 600000);
	CHECK_INT(ops_feed(&op, OPS_POLL_RUNNING, NULL, 600000, -1),
	          OPS_TIMED_OUT);
	/* a timed-out or failed operation teaches nothing */
	CHECK(!ops_sample(&op, 600000, &ms));
	ops_start(&op, "x:y-2", 0, 600000);
	ops_feed(&op, OPS_POLL_FAILED, "no", 2000, -1);
	CHECK(!ops_sample(&op, 2000, &ms));
	/* fewer than OPS_MIN_SAMPLES: the fixed schedule */
	h.n = 2;
	ops_start(&op, "x:y-3", 0, 600000);
	ops_expect(&op, &h);
	CHECK_INT(op.next_ms, 2000);
	ops_expect(&op, NULL);
	CHECK_INT(op.next_ms, 2000);
}

static void
test_sample_rules(void)
{
	struct ops_op op;
	int64_t ms;

	/* seen running at 9 s, done at 11 s: the end is put between */
	ops_start(&op, "x:y-1", 1000, 600000);
	ops_feed(&op, OPS_POLL_RUNNING, NULL, 10000, -1);
	ops_feed(&op, OPS_POLL_SUCCEEDED, NULL, 12000, -1);
	CHECK(ops_sample(&op, 12000, &ms));
	CHECK_INT(ms, 10000);
	/* done at the first poll: a little less than that poll's time, so
	 * that the estimate can come down */
	ops_start(&op, "x:y-2", 0, 600000);
	ops_feed(&op, OPS_POLL_SUCCEEDED, NULL, 20000, -1);
	CHECK(ops_sample(&op, 20000, &ms));
	CHECK_INT(ms, 20000 - 2 * 600);
}

/* A poll may yield to new work only when this kind of operation has never
 * ended that soon, and never before the durations count. */
static void
test_surely_running(void)
{
	struct ops_history h = {0};

	CHECK(!ops_surely_running(NULL, 0));
	ops_history_add(&h, 40000);
	ops_history_add(&h, 60000);
	CHECK(!ops_surely_running(&h, 1000)); /* two samples: unknown */
	ops_history_add(&h, 50000);
	CHECK(ops_surely_running(&h, 0));
	CHECK(ops_surely_running(&h, 29999));
	CHECK(!ops_surely_running(&h, 30000)); /* 3/4 of the shortest */
	CHECK(!ops_surely_running(&h, 55000));
	/* one quick operation is enough to make early polls urgent again */
	ops_history_add(&h, 2000);
	CHECK(!ops_surely_running(&h, 1500));
	CHECK(ops_surely_running(&h, 1400));
}

int
main(void)
{
	test_surely_running();
	test_history_estimate();
	test_book();
	test_learning_converges();
	test_sudden_slow_operation();
	test_learned_time_limit();
	test_sample_rules();
	test_schedule();
	test_failures();
	test_not_found_grace();
	test_retry_after_and_deadline();
	return test_report("test_ops");
}
