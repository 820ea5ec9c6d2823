/*
 * call: one request to the Kinsta API, through the budgets, with the retry
 * policy.
 *
 * Every request exec sends (a step of a run, a poll, a site listing) is a
 * struct call embedded in its owner.  It waits in the rate-limit queue
 * (ratelimit) for its account's and the process's budgets, goes out on the
 * shared HTTP client (http) when a connection is free, and is retried by
 * one policy:
 *
 *   - no connection: resent after a backoff with full jitter, up to
 *     max_retries (it surely never arrived);
 *   - timeout, reset, 5xx: a read is resent likewise; a write is not (it
 *     may have reached Kinsta), and a poll's 500 is the operation's verdict;
 *   - 429: the account pauses for what the server said, then the call is
 *     resent (it was refused, so resending is always safe);
 *   - "environment is blocked by another process": resent after 10-40 s.
 *
 * The owner hears back through two named callbacks: `answered` once, with
 * the final answer or the reason there is none, and `retry_at` when the call
 * must be sent again after a wait that the owner times (it may have other
 * reasons to wake, such as an operation's deadline), ending with
 * call_resend().
 */
#ifndef KCRON_CALL_H
#define KCRON_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "http.h"
#include "kinsta.h"
#include "metrics.h"
#include "ratelimit.h"

/* A 429 is resent this many times before the call fails. */
#define CALL_MAX_ATTEMPTS_429 8
/* An environment busy with another operation: about 5 minutes of tries. */
#define CALL_MAX_ATTEMPTS_BLOCKED 8

struct call;
struct calls;

struct call_ops {
	/* The final answer (or res->error with the reason there is none). */
	void (*answered)(struct call *c, const struct http_response *res);
	/* Call call_resend(c) after wait_ms. */
	void (*retry_at)(struct call *c, int64_t wait_ms);
};

struct call {
	struct calls *cs;
	const struct call_ops *ops;
	struct ratelimit_req rl;
	struct kinsta_request req; /* what to send; cleared by the owner */
	const char *key; /* the account's API key, owned by the owner */
	int attempts;    /* sends so far */
	int max_retries; /* transport errors and 5xx */
	bool poll; /* an operation poll: its 500 is the verdict, not a fault */
	bool queued;
	struct http_xfer *xfer;
};

/* Create the engine on loop sending through h to base_url (copied); the
 * budgets per minute come from lim.  0 or -errno. */
int calls_init(struct calls **out, uv_loop_t *loop, struct http *h,
               const char *base_url, const struct ratelimit_limits *lim);

/* Log each request and its answer (trace 1), polls too (trace 2), at
 * notice level: what `kinsta-cron run -v` shows. */
void calls_set_trace(struct calls *cs, int trace);

/* Send to base_url (copied) from now on (a reload). */
int calls_set_url(struct calls *cs, const char *base_url);

/* The rate-limit account of company (one budget per company); >= 0, or
 * -ENOMEM. */
int calls_account(struct calls *cs, const char *company);

/* The budget of company's account now into st, paused_until in the
 * wall clock's ms (0: not paused): 0, or -ENOENT when no request of that
 * company was made yet. */
int calls_budget(const struct calls *cs, const char *company,
                 struct ratelimit_status *st);

/* Requests waiting for a budget. */
size_t calls_queued(const struct calls *cs);

/* What one company's requests did since the engine started, for the
 * metrics. */
struct calls_stats {
	uint64_t answers[METRICS_HTTP_CLASSES]; /* by status class */
	uint64_t rate_limited;                  /* 429s */
	int budget_used, budget_limit; /* the company's current window */
};

/* Fill st for company at this moment; 0, or -ENOENT if no request of
 * company was ever queued (st then zero but for the limit). */
int calls_stats(const struct calls *cs, const char *company,
                struct calls_stats *st);

/* Cancel nothing (owners cancel their calls first), close the timer; the
 * engine is freed once closed(arg) runs from the loop. */
void calls_close(struct calls *cs, void (*closed)(void *arg), void *arg);

/* Set up c for owner callbacks ops, sending with key. */
void call_init(struct call *c, struct calls *cs, const struct call_ops *ops,
               const char *key);

/* Queue c->req on account's budgets with priority prio in fairness flow
 * (a run id); the first attempt. */
void call_start(struct call *c, int account, enum ratelimit_prio prio,
                uint64_t flow);

/* Queue c again after a retry_at wait. */
void call_resend(struct call *c);

/* Take c out of the queue or off the wire (no callback) and clear its
 * request. */
void call_cancel(struct call *c);

enum call_verdict {
	CALL_FINAL,   /* the owner gets the answer */
	CALL_RESEND,  /* queue it again: the account's pause holds it back */
	CALL_BACKOFF, /* resend after *wait_ms: a fault in transit or 5xx */
	CALL_BLOCKED  /* resend after *wait_ms: the environment is busy */
};

/* What the retry policy makes of res, the answer to c.  Pure but for the
 * jitter of *wait_ms. */
enum call_verdict call_policy(const struct call *c,
                              const struct http_response *res,
                              int64_t *wait_ms);

#endif
