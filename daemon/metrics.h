/*
 * metrics: the daemon's numbers in the Prometheus text format (0.0.4), for
 * the node_exporter textfile (metrics.textfile) and the HTTP face's
 * /metrics.
 *
 * struct metrics is a store the daemon keeps up to date: per job what its
 * runs did (counters, a duration histogram, the last fire's outcome and
 * times), which survives a reload for jobs keeping their name; and the
 * gauges its owner fills in just before rendering (next fire, runs in
 * flight, per account the requests and the rate budget, operations in
 * flight).  Every name starts with kinsta_cron_, times are seconds since
 * the epoch, durations seconds, counters end in _total; label values are
 * escaped as the format says (\\, \" and \n).
 *
 * Pure: no I/O and no clock.  Counters start at 0 with the process, as
 * Prometheus expects of a counter.
 */
#ifndef KCRON_METRICS_H
#define KCRON_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kinsta.h"

/* Outcomes counted: every enum kinsta_outcome but KINSTA_RUNNING. */
#define METRICS_OUTCOMES KINSTA_OUTCOMES
/* Upper bounds (seconds) of the run duration histogram, +Inf aside. */
#define METRICS_BUCKETS 12

/* HTTP status classes of the answers counted per account. */
enum metrics_http_class {
	METRICS_HTTP_ERROR, /* no answer: connection, timeout, reset */
	METRICS_HTTP_1XX,
	METRICS_HTTP_2XX,
	METRICS_HTTP_3XX,
	METRICS_HTTP_4XX,
	METRICS_HTTP_5XX,
	METRICS_HTTP_CLASSES
};

/* One job's numbers. */
struct metrics_job {
	char *name;
	/* kept by metrics_run_ended / metrics_fire_* */
	uint64_t runs[METRICS_OUTCOMES];   /* by outcome; [KINSTA_RUNNING] 0 */
	uint64_t buckets[METRICS_BUCKETS]; /* runs <= each bound (not
	                                    * cumulative here) */
	uint64_t count;                    /* runs observed */
	int64_t sum_ms;                    /* their durations */
	int64_t last_run_ms;               /* the last fire's start, 0 never */
	int64_t last_end_ms;     /* the last fire's end, 0 none ended */
	int64_t last_success_ms; /* the end of the last fire that
	                          * succeeded, 0 never */
	enum kinsta_outcome last_outcome; /* KINSTA_RUNNING: none ended */
	/* filled in by the owner before rendering */
	int64_t next_s;  /* the next fire, -1 none (disabled, never) */
	size_t running;  /* runs in flight */
	bool configured; /* metrics_jobs_keep */
};

/* One account's numbers, filled in by the owner before rendering. */
struct metrics_account {
	char *name;
	uint64_t requests[METRICS_HTTP_CLASSES];
	uint64_t rate_limited; /* 429s received */
	int budget_used;       /* requests in the current window */
	int budget_limit;      /* the window's limit */
};

struct metrics {
	struct metrics_job *jobs; /* sorted by name */
	size_t njobs, capjobs;
	struct metrics_account *accounts; /* in the owner's order */
	size_t naccounts, capaccounts;
	size_t ops_in_flight; /* operations followed (owner) */
	size_t runs_in_flight;
	uint64_t notifications_sent, notifications_failed;
	const char *version; /* build_info; NULL: not shown */
};

/* The upper bounds of the duration histogram's buckets, in seconds. */
extern const double metrics_bucket_bounds[METRICS_BUCKETS];

/* An empty store (zero-initialised is also empty). */
void metrics_init(struct metrics *m);

/* Release what m holds and leave it empty. */
void metrics_free(struct metrics *m);

/* A deep copy of m into *copy (then metrics_free it), to render on
 * another thread while m goes on changing: 0 or -ENOMEM (*copy empty). */
int metrics_copy(const struct metrics *m, struct metrics *copy);

/* The job called name, added when missing; NULL when out of memory. */
struct metrics_job *metrics_job(struct metrics *m, const char *name);

/* The job called name, or NULL. */
struct metrics_job *metrics_job_find(const struct metrics *m, const char *name);

/* Drop the jobs for which keep() says false (no longer configured). */
void metrics_jobs_keep(struct metrics *m,
                       bool (*keep)(const char *name, void *arg), void *arg);

/* A fire of job started at start_ms. */
void metrics_fire_started(struct metrics_job *j, int64_t start_ms);

/* A fire of job ended: its outcome over all targets (failed when any
 * failed, else timed-out, else succeeded, skipped only when every target
 * was skipped), its start and end. */
void metrics_fire_ended(struct metrics_job *j, enum kinsta_outcome outcome,
                        int64_t start_ms, int64_t end_ms);

/* One run (one target) of job ended: counted by outcome, observed in the
 * duration histogram. */
void metrics_run_ended(struct metrics_job *j, enum kinsta_outcome outcome,
                       int64_t start_ms, int64_t end_ms);

/* The worse of two outcomes: failed over timed-out over succeeded over
 * skipped (over running: none). */
enum kinsta_outcome metrics_worse(enum kinsta_outcome a, enum kinsta_outcome b);

/* The outcome of a fire from its targets' outcomes counted by outcome
 * (exec_fire.count): the worst of those that occur. */
enum kinsta_outcome metrics_fire_outcome(const size_t count[KINSTA_OUTCOMES]);

/* A notification was delivered (ok) or given up on. */
void metrics_count_notification(struct metrics *m, bool ok);

/* Forget the accounts (before the owner fills them in again). */
void metrics_accounts_clear(struct metrics *m);

/* Add an account named name; NULL when out of memory. */
struct metrics_account *metrics_account_add(struct metrics *m,
                                            const char *name);

/* The class of an HTTP status (0: no answer). */
enum metrics_http_class metrics_http_class(long status);

/* The whole exposition of m in *out (malloc'd, NUL-terminated; free()) and
 * *len: 0 or -ENOMEM. */
int metrics_render(const struct metrics *m, char **out, size_t *len);

#endif
