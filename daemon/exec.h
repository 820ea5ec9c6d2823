/*
 * exec: carries out job runs.
 *
 * A fired job becomes one run per target (resolved through the company's
 * site list, cached per account for a few minutes).  Each run walks its
 * action's steps (kinsta): every request waits for the account's and the
 * process's budgets (ratelimit) in a fair queue, goes out on the shared
 * HTTP client (http), and every operation is followed to its end (ops).
 * Two runs never act on one environment at once: Kinsta blocks a busy
 * environment, so the second waits.
 *
 * Retries: reads and polls are retried on transport errors, 5xx and 429
 * with exponential backoff and full jitter; a request that changes
 * something is retried only when it surely did not reach the server (no
 * connection, or 429); after an ambiguous failure (timeout, 5xx, reset) the
 * run fails with the reason rather than sending it twice.
 */
#ifndef KCRON_EXEC_H
#define KCRON_EXEC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "call.h"
#include "config.h"
#include "fire.h"
#include "http.h"
#include "kinsta.h"

struct exec;
struct ratelimit_status;

/* The end of one run, as reported to exec_hooks.finished. */
struct exec_result {
	const struct config *cfg;
	const struct config_job *job;
	const struct target *target; /* env_id "" for no target */
	uint64_t run_id;
	enum kinsta_outcome outcome;
	const char *op_id;            /* the last operation followed, or "" */
	const char *message;          /* the API's message, or why */
	const char *note;             /* parts skipped, or "" */
	int64_t started_ms, ended_ms; /* wall clock, ms since the epoch */
	const char *report; /* report action: the document, else NULL */
	size_t report_len;
	/* request, fetch-logs: the answer as one JSON line for the job's
	 * `output` (ends in a newline), and in short for `run`; NULL when
	 * no answer came */
	const char *answer_line;
	size_t answer_line_len;
	const char *answer_short;
	/* What the run changed, a JSON object (items with versions before
	 * and after, the backup taken, the probes, whether a restore ran),
	 * or NULL when the action has nothing of the kind to say. */
	const char *details;
};

/* A run's progress worth saving: an operation started (op_id set) or
 * ended (op_id ""), so that a restart can follow it again. */
struct exec_progress {
	const struct config_job *job;
	const struct target *target;
	uint64_t run_id;
	int step;
	const char *step_name; /* the step's kind (action_step_name) */
	const char *op_id;
	bool deployment;
	int64_t started_ms; /* wall clock of the run's start */
};

struct exec_hooks {
	void (*finished)(const struct exec_result *r, void *arg);
	void (*progress)(const struct exec_progress *p, void *arg);
	/* after the finished hook of the fire's last target; f is freed
	 * when it returns */
	void (*fire_ended)(const struct exec_fire *f, void *arg);
	void *arg;
};

struct exec_options {
	bool dry_run;  /* print requests that change something, send none */
	FILE *dry_out; /* where (default stdout) */
	int64_t listing_ttl_ms; /* site list cache, default 5 minutes */
	int trace; /* log requests (1), and polls (2): calls_set_trace */
	/* Where the durations of operations are learned and read (the
	 * daemon's state, kept across restarts); NULL: exec's own. */
	struct ops_book *durations;
};

/* The one line that says how a run ended ("job=... action=... env=...
 * target=... op=... outcome=... duration_ms=... [message=...] [note=...]"),
 * for the log and for `kinsta-cron run`; the length snprintf would need. */
int exec_result_line(const struct exec_result *r, char *buf, size_t len);

/* Append r's answer line to the job's `output` file, {date} being the
 * day of r's end in the job's zone (created 0600): 0 when it was written
 * or there is nothing to write, or -errno with a message in err. */
int exec_save_answer(const struct exec_result *r, char *err, size_t errlen);

/* Create the executor on loop, sending through h, for cfg; 0 or -errno. */
int exec_init(struct exec **out, uv_loop_t *loop, struct http *h,
              const struct config *cfg, const struct exec_options *opt,
              const struct exec_hooks *hooks);

/* Use cfg for runs started from now on.  Runs under way (and target
 * lookups) whose job is unchanged in cfg (config_same_job) go on as runs
 * of cfg; the others keep their config, which the caller frees once
 * exec_config_in_use() says no: a reload then lets the old config go at
 * once unless a run of a changed or removed job is under way. */
void exec_set_config(struct exec *ex, const struct config *cfg);

/* Is any run (or pending target lookup) still using cfg? */
bool exec_config_in_use(const struct exec *ex, const struct config *cfg);

/* Fire job (of the current config) now as run run_id; 0 or -errno. */
int exec_start(struct exec *ex, const struct config_job *job, uint64_t run_id);

/* Follow again, after a restart, a run that was at step following op_id
 * on target; 0 or -errno. */
int exec_resume(struct exec *ex, const struct config_job *job,
                const struct target *target, uint64_t run_id, int step,
                const char *step_name, const char *op_id, bool deployment,
                int64_t started_ms);

/* The fire run_id while it is in flight, or NULL. */
const struct exec_fire *exec_fire_find(const struct exec *ex, uint64_t run_id);

/* The fires in flight, oldest first, into out (at most max); how many
 * there are. */
size_t exec_fires(const struct exec *ex, const struct exec_fire **out,
                  size_t max);

/* Runs (and target lookups) not yet finished, in all or of one job. */
size_t exec_active(const struct exec *ex);
size_t exec_job_active(const struct exec *ex, const char *job_name);

/* The rate budget of company now (calls_budget, paused_until in the
 * wall clock): 0 or -ENOENT. */
int exec_budget(const struct exec *ex, const char *company,
                struct ratelimit_status *st);

/* Requests waiting for a budget, for status lines. */
size_t exec_queued(const struct exec *ex);

/* What company's requests did (calls_stats), for the metrics. */
int exec_calls_stats(const struct exec *ex, const char *company,
                     struct calls_stats *st);

/* End skipped, with message, each target of a rollout in flight whose
 * turn has not come (the finished hook hears of each; the fire's end is
 * not told): for a stop, since a restart follows the operations in
 * flight, not the rollout.  How many. */
size_t exec_skip_unstarted(struct exec *ex, const char *message);

/* Abandon every run without reporting it (shutdown: state keeps the
 * operations for the next start) and close the handles; the loop must run
 * once more before the memory is gone. */
void exec_close(struct exec *ex);

#endif
