/*
 * scheduler: when jobs fire, and what happens around a run.
 *
 * One timer for the earliest due job and no periodic tick: a timerfd on
 * CLOCK_REALTIME armed with TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, so
 * that a wall-clock step (NTP, date -s, resume from suspend) wakes the loop
 * at once and every next fire time is recomputed.  The last scheduled time
 * fired of every job is saved before its run starts, so that neither a
 * restart nor a clock stepping back fires one scheduled time twice; after
 * downtime or a step forward, catch_up = once gives one run for the missed
 * times.  Per job: jitter, overlap (skip or queue), and through exec, never
 * two actions at once on one environment.
 *
 * The planning functions are pure (time is an argument) and unit-tested;
 * the rest glues them to the loop, exec and state.
 */
#ifndef KCRON_SCHEDULER_H
#define KCRON_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "config.h"
#include "exec.h"
#include "metrics.h"
#include "state.h"

struct scheduler;

/* The first slot of job to wait for, given the last slot fired (-1:
 * never) and now (seconds).  With catch_up = once and a slot missed since
 * last, *slot is the latest missed one (due now) and *catch_up is set.
 * 0, or -ERANGE when the schedule has no next time. */
int scheduler_plan(const struct config_job *job, int64_t last, int64_t now,
                   int64_t *slot, bool *catch_up);

/* Create the scheduler for cfg (taken over: freed by the scheduler),
 * with durable state in st (taken over), sending through http with an
 * exec of its own; 0 or -errno with a message in err. */
int scheduler_init(struct scheduler **out, uv_loop_t *loop, struct config *cfg,
                   struct state *st, struct http *http, char *err,
                   size_t errlen);

/* Arm the timers and resume the saved operations; 0 or -errno. */
int scheduler_start(struct scheduler *s);

/* Swap in a new, valid config (taken over): jobs keeping their name keep
 * their state, removed jobs' runs finish under the old one, changed
 * schedules take effect at once. */
void scheduler_reload(struct scheduler *s, struct config *cfg);

/* One line for sd_notify STATUS=: jobs, runs in flight, next fire. */
void scheduler_status(const struct scheduler *s, char *buf, size_t len);

/* A status report for `kinsta-cron status`: the summary line, then one
 * line per job (next fire in its zone, last slot fired, runs going). */
int scheduler_report(const struct scheduler *s, FILE *out);

/* Run job now, outside its schedule (budgets and environment locks
 * apply), as run *run_id (run_id may be NULL); its log lines and history
 * entries say trigger=manual.  0, -ENOENT (no such job) or -EBUSY (it is
 * running), with a sentence for people in out. */
int scheduler_trigger(struct scheduler *s, const char *job, FILE *out,
                      uint64_t *run_id);

/* Who follows each target's run as it ends (the control socket's
 * trigger --wait; a fire's end is scheduler_watch_fires'). */
struct scheduler_watch {
	/* one target's run of fire run_id ended: line is exec_result_line's */
	void (*result)(uint64_t run_id, const char *line, void *arg);
	void *arg;
};

/* Tell w (copied) about every run from now on. */
void scheduler_set_watch(struct scheduler *s, const struct scheduler_watch *w);

/* As scheduler_trigger, for a program; by says who asked ("manual",
 * "api") in the fire's log line.  0 with *run_id (run_id may be NULL),
 * -ENOENT, -EBUSY, or -ENOMEM. */
int scheduler_fire_now(struct scheduler *s, const char *job, const char *by,
                       uint64_t *run_id);

/* How an ad-hoc run is told and recorded. */
struct scheduler_adhoc {
	const char *by; /* who asked: "api", "slack" (the history's trigger) */
	/* a lookup (the site view): no log line above debug, no history,
	 * notification, metrics or watcher; only finished hears of it */
	bool quiet;
	/* each target's end (r->report: the document), or NULL */
	void (*finished)(const struct exec_result *r, void *arg);
	void *arg;
};

/* Run job (taken over: freed when its fire ends) now, under the config
 * in use, through the budgets and environment locks as a scheduled run;
 * recorded with trigger=how->by unless quiet.  0 with *run_id; -EBUSY
 * when a run in flight acts on an environment it names (by id, or site
 * and environment name); -EAGAIN when its account's budget is spent
 * (paused after a 429, or a minute's requests waiting), with the
 * seconds to wait in *retry_after_s; -ENOMEM.  A sentence for people in
 * err. */
int scheduler_run_adhoc(struct scheduler *s, struct config_adhoc *job,
                        const struct scheduler_adhoc *how, uint64_t *run_id,
                        char *err, size_t errlen, int64_t *retry_after_s);

/* Is fire run_id a quiet ad-hoc run (a lookup, shown to nobody)? */
bool scheduler_quiet(struct scheduler *s, uint64_t run_id);

/* Tell nobody of ad-hoc run run_id's ends any more (its asker left). */
void scheduler_adhoc_forget(struct scheduler *s, uint64_t run_id);

/* Of job (of the config in use): its next slot (seconds; -1 disabled or
 * none), the last slot fired (-1: never) and its runs in flight. */
void scheduler_job_state(const struct scheduler *s,
                         const struct config_job *job, int64_t *next,
                         int64_t *last, size_t *running);

/* Runs (and target lookups) in flight. */
size_t scheduler_active(const struct scheduler *s);

/* Stop firing, abandon the runs in flight (they stay in state.json for the
 * next start), save the state.  Closes the handles (run the loop once
 * more). */
void scheduler_stop(struct scheduler *s);

/* The whole Prometheus exposition (metrics_render) as of now, in *out
 * (malloc'd, NUL-terminated; free()) and *len: for the textfile and the
 * HTTP face's /metrics.  0 or -ENOMEM. */
int scheduler_metrics(struct scheduler *s, char **out, size_t *len);

/* The metrics as of now as a copy (metrics_copy: free it with
 * metrics_free), to render with metrics_render on another thread: for
 * 10,000 jobs the copy takes 0.2 ms, the rendering 100-400 ms and 20 MB
 * (bench_metrics).  0 or -ENOMEM. */
int scheduler_metrics_copy(struct scheduler *s, struct metrics *copy);

/* A notification was delivered (ok) or could not be: counted in the
 * metrics (kinsta_cron_notifications_sent_total / _failed_total). */
void scheduler_count_notification(struct scheduler *s, bool ok);

#define SCHEDULER_WATCHERS_MAX 8

/* Add a watcher told of each fire's end (every target ended, each one's
 * history line written): notifications, metrics, the HTTP face.  0, or
 * -ENOSPC past SCHEDULER_WATCHERS_MAX. */
int scheduler_watch_fires(struct scheduler *s,
                          void (*fn)(const struct exec_fire *f, void *arg),
                          void *arg);

/* Stop telling fn (with arg) of fires' ends. */
void scheduler_unwatch_fires(struct scheduler *s,
                             void (*fn)(const struct exec_fire *f, void *arg),
                             void *arg);

/* The executor, to read the fires in flight (exec_fires). */
const struct exec *scheduler_exec(const struct scheduler *s);

/* The config in use. */
const struct config *scheduler_config(const struct scheduler *s);

#endif
