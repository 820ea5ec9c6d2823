/*
 * ratelimit: request budgets, so that a 429 is never how we learn the limit.
 *
 * Kinsta counts requests per company (API key), per client IP (shared by
 * every account of this process), and per class of request (resource
 * creation, logs) over a rolling minute.  This module queues the requests
 * that are ready to go and admits them exactly as fast as every budget
 * allows: each budget is a ring of the send times still inside the window,
 * so the full budget is used and never exceeded, with no safety margin.
 *
 * Order of admission: accounts take turns; within an account, polls of
 * running operations go before new work, the classes take turns, and the
 * flows (jobs) of a class take turns, each flow keeping FIFO order.  A
 * blocked account, class or pause never holds back anything else.
 *
 * Pure core: no I/O and no clock.  Times are int64 milliseconds passed by
 * the caller from one monotonic clock, except ratelimit_retry_after_ms,
 * whose now_ms must be wall-clock Unix epoch milliseconds (HTTP dates).
 * Memory is allocated at init, when accounts are added, when the flow
 * table grows, and when a budget's ring fills: a ring holds the sends of
 * one window, so it grows with the traffic up to the limit and shrinks back
 * when the traffic falls, rather than holding `limit` slots from the start
 * (100,000 a minute would be 800 kB per budget, all of it touched as the
 * ring goes round).  A ring that cannot grow only makes its budget wait for
 * its oldest send to expire.
 */
#ifndef KCRON_RATELIMIT_H
#define KCRON_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

enum ratelimit_class {
	RATELIMIT_NORMAL, /* counts against the account and IP budgets */
	RATELIMIT_CREATE, /* resource creation (POST /sites): also create */
	RATELIMIT_LOGS,   /* the logs endpoint: also logs */
	RATELIMIT_NCLASS
};

enum ratelimit_prio {
	RATELIMIT_POLL, /* follow-up of a running operation */
	RATELIMIT_WORK, /* new work */
	RATELIMIT_NPRIO
};

/* Requests allowed per window_ms; every count must be >= 1. */
struct ratelimit_limits {
	int per_account; /* per company / API key, all classes */
	int per_ip;      /* all accounts of the process together */
	int create;      /* per account, RATELIMIT_CREATE */
	int logs;        /* per account, RATELIMIT_LOGS */
	int64_t window_ms;
};

/* Queue node embedded by the caller in its own request object. */
struct ratelimit_req {
	/* Set by the caller (ratelimit_req_init) before ratelimit_enqueue. */
	int account;
	enum ratelimit_class cls;
	enum ratelimit_prio prio;
	uint64_t flow; /* fairness unit, e.g. a job or run id */

	/* Private to ratelimit.c. */
	int state;
	int64_t sent_ms;
	struct ratelimit_req *next, *prev;   /* flow FIFO, circular */
	struct ratelimit_req *rnext, *rprev; /* flow heads: class rotation */
	struct ratelimit_req *hnext, *hprev; /* flow heads: flow table chain */
};

/* Private: the send times still inside the window, oldest first, in a
 * ring of cap slots (cap <= limit). */
struct ratelimit_window {
	int64_t *t;
	int limit, cap, head, count;
};

/* Private to ratelimit.c. */
struct ratelimit_account {
	struct ratelimit_window sent, create, logs;
	struct ratelimit_req *ring[RATELIMIT_NPRIO][RATELIMIT_NCLASS];
	int cursor[RATELIMIT_NPRIO];
	int queued[RATELIMIT_NPRIO];
	int64_t paused_until;
	int anext, aprev; /* ring of accounts with queued requests */
};

struct ratelimit {
	struct ratelimit_limits lim;
	struct ratelimit_window ip;
	struct ratelimit_account *acct;
	int n_accounts;
	int active; /* account whose turn is next, -1 when nothing queued */
	size_t queued;
	/* Flow heads by (account, prio, cls, flow), chained. */
	struct ratelimit_req **flows;
	size_t n_buckets, n_flows;
	int64_t last_ms; /* latest send recorded: keeps every ring sorted */
};

/* What `status` shows for one account at a given time. */
struct ratelimit_status {
	int queued_poll, queued_work;
	int remaining;        /* sends left now: min(account, IP); 0 paused */
	int remaining_create; /* min(remaining, create budget) */
	int remaining_logs;   /* min(remaining, logs budget) */
	int remaining_ip;     /* the process-wide IP budget */
	int used;             /* the account's sends inside the window */
	int64_t paused_until; /* > now while paused after a 429, else 0 */
};

/* Kinsta's documented limits: 120/1000/5/35 per 60 000 ms. */
struct ratelimit_limits ratelimit_limits_default(void);

/* Set up rl with n_accounts accounts (0..n-1); lim NULL means the defaults.
 * 0, -EINVAL on a bad limit or count, -ENOMEM. */
int ratelimit_init(struct ratelimit *rl, const struct ratelimit_limits *lim,
                   int n_accounts);

/* Free everything; queued requests are simply forgotten. */
void ratelimit_free(struct ratelimit *rl);

/* Register one more account; its index (>= 0), or -ENOMEM. */
int ratelimit_add_account(struct ratelimit *rl);

/* Zero req and set what ratelimit_enqueue needs. */
void ratelimit_req_init(struct ratelimit_req *req, int account,
                        enum ratelimit_class cls, enum ratelimit_prio prio,
                        uint64_t flow);

/* Queue req (not copied: it must stay put until admitted or cancelled).
 * 0, -EINVAL on a bad field, -EBUSY if already queued. */
int ratelimit_enqueue(struct ratelimit *rl, struct ratelimit_req *req);

/* Remove a queued req; 0, or -ENOENT if it is not queued. */
int ratelimit_cancel(struct ratelimit *rl, struct ratelimit_req *req);

/* The request to send now, its send counted in every budget it uses; or
 * NULL with *wake_ms = earliest time one may be admitted (-1: none queued;
 * otherwise > now_ms).  Sending it is then the caller's duty. */
struct ratelimit_req *ratelimit_next(struct ratelimit *rl, int64_t now_ms,
                                     int64_t *wake_ms);

/* The answer to an admitted request came back at now_ms: count it from
 * then on.  The server counts a request when it arrives, which can be long
 * after admission when the HTTP client queues it behind busy connections;
 * counting from the answer errs on the safe side.  0 or -EINVAL. */
int ratelimit_restamp(struct ratelimit *rl, struct ratelimit_req *req,
                      int64_t now_ms);

/* Hand back the budget of an admitted req that certainly never reached the
 * server (DNS or connect failure); never for one that may have.  0, or
 * -EINVAL if req is not an admitted, unreleased request. */
int ratelimit_release(struct ratelimit *rl, struct ratelimit_req *req);

/* After a 429: account admits nothing before until_ms (the later of the
 * current pause and this one wins).  0, or -EINVAL on a bad account. */
int ratelimit_pause(struct ratelimit *rl, int account, int64_t until_ms);

/* Fill st for account at now_ms; 0, or -EINVAL on a bad account. */
int ratelimit_status(const struct ratelimit *rl, int account, int64_t now_ms,
                     struct ratelimit_status *st);

/* Queued requests across all accounts. */
size_t ratelimit_queued(const struct ratelimit *rl);

/* How long to stay quiet after a limited response (429), from its headers
 * (names case-insensitive): Retry-After (seconds or HTTP-date),
 * RateLimit-Reset and X-RateLimit-Reset (seconds; values >= 1e9 are Unix
 * epoch seconds, >= 1e12 epoch ms), RateLimit (draft "reset=" or "t=").
 * The latest wait wins, capped at one hour; garbage is ignored.  now_ms is
 * wall-clock epoch ms.  Milliseconds >= 0, or -1 if nothing parsed. */
int64_t ratelimit_retry_after_ms(const char *const *names,
                                 const char *const *values, size_t n,
                                 int64_t now_ms);

#endif
