/*
 * ops: the follow-up schedule of one operation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

#define FIRST_POLL_MS      2000
#define NOT_FOUND_GRACE_MS 60000
#define MAX_GAP_MS         30000

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

/* How far past the expected end the first poll goes: the end is not
 * missed by clock noise, and the operation is noticed soon after. */
static int64_t
margin_ms(int64_t expect_ms)
{
	return expect_ms * 3 / 100 > 300 ? expect_ms * 3 / 100 : 300;
}

/* The wait after a poll that saw a learned operation still running:
 * E/10 (at least 1 s), doubling, at most 30 s. */
static int64_t
learned_gap_ms(const struct ops_op *op)
{
	int64_t gap = op->expect_ms / 10 > 1000 ? op->expect_ms / 10 : 1000;

	for (int i = 0; i < op->step && gap < MAX_GAP_MS; i++)
		gap *= 2;
	return gap < MAX_GAP_MS ? gap : MAX_GAP_MS;
}

static void
clamp_to_deadline(struct ops_op *op, int64_t now_ms)
{
	/* One last look exactly at the deadline rather than giving up
	 * early or polling past it. */
	if (op->next_ms > op->deadline_ms && now_ms < op->deadline_ms)
		op->next_ms = op->deadline_ms;
}

void
ops_expect(struct ops_op *op, const struct ops_history *h)
{
	int64_t median, upper;

	if (h == NULL || !ops_history_estimate(h, &median, &upper))
		return;
	op->expect_ms = median > 1 ? median : 1;
	op->next_ms = op->started_ms + op->expect_ms + margin_ms(op->expect_ms);
	clamp_to_deadline(op, op->started_ms);
}

bool
ops_sample(const struct ops_op *op, int64_t end_ms, int64_t *ms)
{
	int64_t took = end_ms - op->started_ms;

	if (op->state != OPS_SUCCEEDED || took < 0)
		return false;
	if (op->last_running_ms > op->started_ms)
		*ms = took - (end_ms - op->last_running_ms) / 2;
	else
		*ms = took -
		      2 * margin_ms(op->expect_ms > 0 ? op->expect_ms : took);
	if (*ms < 0)
		*ms = 0;
	return true;
}

bool
ops_surely_running(const struct ops_history *h, int64_t elapsed_ms)
{
	int32_t shortest = INT32_MAX;

	if (h == NULL || h->n < OPS_MIN_SAMPLES)
		return false;
	for (int i = 0; i < h->n; i++)
		if (h->ms[i] < shortest)
			shortest = h->ms[i];
	return elapsed_ms < (int64_t)shortest * 3 / 4;
}

void
ops_history_add(struct ops_history *h, int64_t ms)
{
	h->ms[h->next] = (int32_t)(ms < 0           ? 0
	                           : ms > INT32_MAX ? INT32_MAX
	                                            : ms);
	h->next = (uint8_t)((h->next + 1) % OPS_SAMPLES);
	if (h->n < OPS_SAMPLES)
		h->n++;
}

static int
cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

bool
ops_history_estimate(const struct ops_history *h, int64_t *median,
                     int64_t *upper)
{
	int32_t v[OPS_SAMPLES];
	size_t n = h->n <= OPS_SAMPLES ? h->n : OPS_SAMPLES;

	if (n < OPS_MIN_SAMPLES)
		return false;
	memcpy(v, h->ms, n * sizeof(v[0]));
	qsort(v, n, sizeof(v[0]), cmp_i32);
	*median = v[n / 2];
	*upper = v[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1];
	return true;
}

struct ops_history *
ops_book_get(struct ops_book *b, const char *key, bool create)
{
	struct ops_learned *v;

	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->v[i].key, key) == 0)
			return &b->v[i].h;
	if (!create || strlen(key) >= OPS_KEY_MAX)
		return NULL;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;

		if ((v = realloc(b->v, cap * sizeof(*v))) == NULL)
			return NULL;
		b->v = v;
		b->cap = cap;
	}
	memset(&b->v[b->n], 0, sizeof(b->v[0]));
	snprintf(b->v[b->n].key, OPS_KEY_MAX, "%s", key);
	return &b->v[b->n++].h;
}

void
ops_book_free(struct ops_book *b)
{
	free(b->v);
	memset(b, 0, sizeof(*b));
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
		op->last_running_ms = now_ms;
		break;
	case OPS_POLL_RETRY:
		break;
	}
	if (op->expect_ms > 0) {
		wait = learned_gap_ms(op);
		op->step++;
	} else {
		wait = backoff_ms[op->step];
		if (op->step < NBACKOFF - 1)
			op->step++;
	}
	if (retry_after_ms > wait)
		wait = retry_after_ms;
	op->next_ms = now_ms + wait;
	clamp_to_deadline(op, now_ms);
	return ops_check(op, now_ms);
}

const char *
ops_state_name(enum ops_state s)
{
	static const char *const names[] = {"running", "succeeded", "failed",
	                                    "timed-out"};

	return names[s];
}
