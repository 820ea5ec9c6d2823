/*
 * Tests for daemon/call.c's retry policy, call_policy(): calls and answers
 * built by hand, no loop and no network.  The table of call.h: lost
 * connections, 5xx on reads, writes and polls, 429, "environment blocked",
 * the rest; and the spread of the backoff's jitter.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "call.h"
#include "test.h"

static const char blocked_body[] =
    "{\"message\":\"The environment is blocked by another process\"}";

struct answer {
	long status;
	bool sent;
	int error;
	const char *body;
};

/* The verdict on answer a to a call of method m after attempts sends,
 * allowed max_retries; *wait gets the policy's wait. */
static enum call_verdict
policy(enum method m, bool poll, int attempts, int max_retries, struct answer a,
       int64_t *wait)
{
	struct call c;
	struct http_response res;

	memset(&c, 0, sizeof(c));
	memset(&res, 0, sizeof(res));
	c.req.method = m;
	c.req.mutating = m != METHOD_GET; /* as kinsta's builders set it */
	snprintf(c.req.path, sizeof(c.req.path), "/sites/x");
	c.poll = poll;
	c.attempts = attempts;
	c.max_retries = max_retries;
	res.status = a.status;
	res.sent = a.sent;
	res.error = a.error;
	res.body = (char *)(a.body != NULL ? a.body : "");
	res.len = strlen(res.body);
	*wait = -12345;
	return call_policy(&c, &res, wait);
}

/* The documented ceiling of the backoff: min(30 s, 1 s * 2^attempt). */
static int64_t
ceiling_ms(int attempt)
{
	int64_t c = 1000;

	for (int i = 0; i < attempt && c < 30000; i++)
		c *= 2;
	return c < 30000 ? c : 30000;
}

static const struct answer refused = {0, false, -ECONNREFUSED, NULL};
static const struct answer timed_out = {0, true, -ETIMEDOUT, NULL};

static void
test_no_connection(void)
{
	int64_t w;

	/* a read: resent while attempts <= max_retries, wait within the
	 * ceiling of its attempt */
	for (int att = 1; att <= 6; att++) {
		CHECK_INT(policy(METHOD_GET, false, att, 6, refused, &w),
		          CALL_BACKOFF);
		CHECK(w >= 0 && w <= ceiling_ms(att));
		CHECK_INT(policy(METHOD_GET, false, att, 6, timed_out, &w),
		          CALL_BACKOFF);
		CHECK(w >= 0 && w <= ceiling_ms(att));
	}
	CHECK_INT(ceiling_ms(3), 8000);
	CHECK_INT(ceiling_ms(5), 30000);
	CHECK_INT(policy(METHOD_GET, false, 7, 6, refused, &w), CALL_FINAL);
	CHECK_INT(policy(METHOD_GET, false, 8, 6, timed_out, &w), CALL_FINAL);
	/* max_retries 0: the first failure is final */
	CHECK_INT(policy(METHOD_GET, false, 1, 0, refused, &w), CALL_FINAL);
	CHECK_INT(w, 0);

	/* a write that surely never left is resent; one that may have
	 * arrived is not */
	CHECK_INT(policy(METHOD_POST, false, 1, 3, refused, &w), CALL_BACKOFF);
	CHECK(w >= 0 && w <= ceiling_ms(1));
	CHECK_INT(policy(METHOD_POST, false, 3, 3, refused, &w), CALL_BACKOFF);
	CHECK_INT(policy(METHOD_POST, false, 4, 3, refused, &w), CALL_FINAL);
	CHECK_INT(policy(METHOD_POST, false, 1, 3, timed_out, &w), CALL_FINAL);
	CHECK_INT(policy(METHOD_PUT, false, 1, 3, refused, &w), CALL_BACKOFF);
	CHECK_INT(policy(METHOD_PUT, false, 1, 3, timed_out, &w), CALL_FINAL);
	CHECK_INT(policy(METHOD_DELETE, false, 1, 3, refused, &w),
	          CALL_BACKOFF);
	CHECK_INT(policy(METHOD_DELETE, false, 1, 3,
	                 (struct answer){0, true, -EIO, NULL}, &w),
	          CALL_FINAL);
}

static void
test_server_errors(void)
{
	static const long fives[] = {500, 502, 503, 504};
	int64_t w;

	for (size_t i = 0; i < sizeof(fives) / sizeof(fives[0]); i++) {
		struct answer a = {fives[i], true, 0, "{\"message\":\"x\"}"};

		/* a read is resent, within the ceiling, up to max_retries */
		CHECK_INT(policy(METHOD_GET, false, 2, 3, a, &w), CALL_BACKOFF);
		CHECK(w >= 0 && w <= ceiling_ms(2));
		CHECK_INT(policy(METHOD_GET, false, 3, 3, a, &w), CALL_BACKOFF);
		CHECK_INT(policy(METHOD_GET, false, 4, 3, a, &w), CALL_FINAL);
		/* a write is not */
		CHECK_INT(policy(METHOD_POST, false, 1, 3, a, &w), CALL_FINAL);
		CHECK_INT(policy(METHOD_PUT, false, 1, 3, a, &w), CALL_FINAL);
		/* a poll's 500 is the operation's verdict; other 5xx are
		 * faults in transit */
		CHECK_INT(policy(METHOD_GET, true, 1, 3, a, &w),
		          fives[i] == 500 ? CALL_FINAL : CALL_BACKOFF);
	}
	/* any 5xx is a server error */
	CHECK_INT(policy(METHOD_GET, false, 1, 3,
	                 (struct answer){599, true, 0, NULL}, &w),
	          CALL_BACKOFF);
}

static void
test_429(void)
{
	struct answer a = {429, true, 0, "{\"message\":\"Too Many Requests\"}"};
	int64_t w;

	for (int att = 1; att < CALL_MAX_ATTEMPTS_429; att++) {
		CHECK_INT(policy(METHOD_GET, false, att, 3, a, &w),
		          CALL_RESEND);
		CHECK_INT(w, 0); /* the account's pause does the waiting */
		/* refused, so a write is resent too, and past max_retries */
		CHECK_INT(policy(METHOD_POST, false, att, 0, a, &w),
		          CALL_RESEND);
		CHECK_INT(policy(METHOD_GET, true, att, 3, a, &w), CALL_RESEND);
	}
	CHECK_INT(policy(METHOD_GET, false, CALL_MAX_ATTEMPTS_429, 3, a, &w),
	          CALL_FINAL);
	CHECK_INT(policy(METHOD_POST, false, CALL_MAX_ATTEMPTS_429, 3, a, &w),
	          CALL_FINAL);
	CHECK_INT(
	    policy(METHOD_GET, false, CALL_MAX_ATTEMPTS_429 + 5, 100, a, &w),
	    CALL_FINAL);
}

static void
test_blocked(void)
{
	struct answer a = {400, true, 0, blocked_body};
	int64_t w;

	for (int att = 1; att < CALL_MAX_ATTEMPTS_BLOCKED; att++) {
		CHECK_INT(policy(METHOD_GET, false, att, 3, a, &w),
		          CALL_BLOCKED);
		CHECK(w >= 10000 && w <= 40000);
		/* Kinsta refused it: safe to resend a write */
		CHECK_INT(policy(METHOD_POST, false, att, 3, a, &w),
		          CALL_BLOCKED);
		CHECK(w >= 10000 && w <= 40000);
		CHECK_INT(policy(METHOD_PUT, false, att, 0, a, &w),
		          CALL_BLOCKED);
	}
	CHECK_INT(
	    policy(METHOD_POST, false, CALL_MAX_ATTEMPTS_BLOCKED, 3, a, &w),
	    CALL_FINAL);
	CHECK_INT(
	    policy(METHOD_GET, false, CALL_MAX_ATTEMPTS_BLOCKED, 3, a, &w),
	    CALL_FINAL);

	/* another 400 is final */
	CHECK_INT(
	    policy(METHOD_POST, false, 1, 3,
	           (struct answer){400, true, 0,
	                           "{\"message\":\"Invalid PHP version\"}"},
	           &w),
	    CALL_FINAL);
	CHECK_INT(policy(METHOD_GET, false, 1, 3,
	                 (struct answer){400, true, 0, "not json"}, &w),
	          CALL_FINAL);
	CHECK_INT(policy(METHOD_GET, false, 1, 3,
	                 (struct answer){400, true, 0, NULL}, &w),
	          CALL_FINAL);
	/* the blocked message on a success is no refusal */
	CHECK_INT(policy(METHOD_POST, false, 1, 3,
	                 (struct answer){200, true, 0, blocked_body}, &w),
	          CALL_FINAL);
}

static void
test_final(void)
{
	static const long codes[] = {200, 201, 202, 204, 401, 403, 404, 422};
	int64_t w;

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		struct answer a = {codes[i], true, 0, "{\"message\":\"ok\"}"};

		CHECK_INT(policy(METHOD_GET, false, 1, 3, a, &w), CALL_FINAL);
		CHECK_INT(w, 0);
		CHECK_INT(policy(METHOD_POST, false, 1, 3, a, &w), CALL_FINAL);
		CHECK_INT(policy(METHOD_GET, true, 1, 3, a, &w), CALL_FINAL);
	}
}

static void
test_jitter(void)
{
	int64_t w, first = -1, lo = INT64_MAX, hi = -1;
	bool differ = false;
	int low_half = 0;

	for (int i = 0; i < 200; i++) {
		CHECK_INT(policy(METHOD_GET, false, 3, 10, refused, &w),
		          CALL_BACKOFF);
		CHECK(w >= 0 && w <= 8000);
		if (first < 0)
			first = w;
		differ |= w != first;
		lo = w < lo ? w : lo;
		hi = w > hi ? w : hi;
		low_half += w <= 4000;
	}
	CHECK(differ);
	/* full jitter: the draws cover the range, not one end of it */
	CHECK(low_half > 20 && low_half < 180);
	CHECK(lo < 2000 && hi > 6000);

	/* the blocked wait spreads over 10-40 s */
	differ = false;
	first = -1;
	for (int i = 0; i < 200; i++) {
		policy(METHOD_POST, false, 1, 3,
		       (struct answer){400, true, 0, blocked_body}, &w);
		CHECK(w >= 10000 && w <= 40000);
		if (first < 0)
			first = w;
		differ |= w != first;
	}
	CHECK(differ);
}

/*
 * A read cut off after its status line: curl reports the status it got
 * (CURLINFO_RESPONSE_CODE, http.c xfer_finish) along with the error.
 * call.h: "timeout, reset, 5xx: a read is resent".  call_policy looks at
 * the status alone, so a GET that timed out or was reset mid-body with
 * status 200 is final, and the owner (exec.c, listing.c) treats the error
 * as no answer and fails the run.  A body over the size limit is final:
 * sending again would fetch the same body.
 */
static void
test_read_cut_off(void)
{
	int64_t w;

	CHECK_INT(policy(METHOD_GET, false, 1, 3,
	                 (struct answer){200, true, -ETIMEDOUT, "{\"sit"}, &w),
	          CALL_BACKOFF);
	CHECK_INT(policy(METHOD_GET, false, 1, 3,
	                 (struct answer){200, true, -EIO, "{\"sit"}, &w),
	          CALL_BACKOFF);
	/* these hold today and must hold after a fix */
	CHECK_INT(policy(METHOD_GET, false, 1, 3,
	                 (struct answer){200, true, -EFBIG, "{"}, &w),
	          CALL_FINAL);
	CHECK_INT(policy(METHOD_POST, false, 1, 3,
	                 (struct answer){200, true, -ETIMEDOUT, "{"}, &w),
	          CALL_FINAL);
	CHECK_INT(policy(METHOD_GET, false, 4, 3,
	                 (struct answer){200, true, -ETIMEDOUT, "{"}, &w),
	          CALL_FINAL);
}

int
main(void)
{
	test_no_connection();
	test_server_errors();
	test_429();
	test_blocked();
	test_final();
	test_jitter();
	test_read_cut_off();
	return test_report("test_call");
}
