/*
 * scheduler: the timer, the plan of every job, and the bookkeeping around
 * each run (state, history, log lines).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cron.h"
#include "history.h"
#include "log.h"
#include "mapmem.h"
#include "reportfile.h"
#include "notifier.h"
#include "metrics.h"
#include "promfile.h"
#include "sdnotify.h"
#include "util.h"
#include "scheduler.h"

/* How many missed slots catch-up walks before it stops counting. */
#define CATCH_UP_WALK 10000000

struct entry {
	const struct config_job *job;
	int64_t slot;   /* the scheduled time (s) this entry waits for */
	int64_t due_ms; /* slot plus jitter, or now for a catch-up */
	bool catch_up;
	bool queued; /* overlap = queue: fire when the running one ends */
	int64_t queued_slot; /* the slot that waits (the one logged queued) */
	bool committed;      /* slot recorded as fired, run not started yet */
	uint64_t commit_gen; /* the state generation holding that record */
	int64_t prev_last;   /* the last slot fired before that */
};

/* A slot is recorded in state.json this long before it is due, so that
 * the write (and its fsync) is done when the slot comes and the run
 * starts on time. */
#define COMMIT_LEAD_MS 25
/* a state write slower than this delays the fires recorded ahead: say so */
#define SLOW_SAVE_MS 100

/* Configs replaced by a reload, kept while runs still use them. */
struct old_config {
	struct config *cfg;
	struct old_config *next;
};

/* An ad-hoc run: its job lives until its fire ends. */
struct adhoc_run {
	uint64_t run_id;
	struct config_adhoc *job;
	struct scheduler_adhoc how;
	char by[16];
	struct adhoc_run *next;
};

struct scheduler {
	uv_loop_t *loop;
	struct config *cfg;
	struct old_config *old;
	struct state *st;
	struct exec *ex;
	struct notifier *nt; /* notifications and heartbeats */
	/* entries, heap and due share one mapping (mapmem) of this many
	 * bytes: a reload makes new ones before the old go, and in the heap
	 * they would land between, and pin, whatever the load freed */
	size_t entries_bytes;
	struct entry *entries;
	size_t nentries;
	size_t *heap; /* indices into entries, earliest due first */
	size_t nheap;
	size_t *due;      /* scratch for tick: entries due now */
	uv_check_t check; /* a coalesced state save, when dirty */
	bool dirty;
	bool status_dirty; /* STATUS= is sent once per loop iteration */
	/* state.json is written in libuv's thread pool, never blocking the
	 * loop on an fsync; one write at a time, the newest state wins */
	uv_work_t save;
	bool saving;          /* a write is under way */
	uint64_t gen;         /* bumped by every change to write */
	uint64_t durable;     /* the newest generation on disk */
	uint64_t save_gen;    /* the generation being written */
	struct state save_st; /* the snapshot being encoded and written,
	                       * kept for the next one */
	char save_path[4096];
	char save_err[256];
	int save_rc;
	uint64_t save_start_ns; /* uv_hrtime() when the write was queued */
	bool close_after_save;  /* stopping: close once the write is done */
	int open_handles;       /* while closing */
	int tfd;
	uv_poll_t poll;
	uint64_t run_seq;
	bool stopped;
	/* what the runs did, for metrics_render; the textfile, if set */
	struct metrics metrics;
	struct promfile *promfile;
	/* fires started by trigger, until they end (trigger=manual) */
	uint64_t *manual;
	size_t nmanual, capmanual;
	/* ad-hoc runs (scheduler_run_adhoc) in flight, with their jobs */
	struct adhoc_run *adhoc;
	struct scheduler_watch watch;
	struct {
		void (*fn)(const struct exec_fire *f, void *arg);
		void *arg;
	} watchers[SCHEDULER_WATCHERS_MAX];
	size_t nwatchers;
};

/* ---- planning (pure) ---------------------------------------------------- */

int
scheduler_plan(const struct config_job *job, int64_t last, int64_t now,
               int64_t *slot, bool *catch_up)
{
	int64_t first, t, next;

	*catch_up = false;
	if (last < 0)
		return cron_next(&job->cron, job->zone, now, slot);
	if (cron_next(&job->cron, job->zone, last, &first) < 0)
		return -ERANGE;
	if (first > now)
		goto plain; /* nothing missed: wait for the next slot */
	if (job->catch_up != CONFIG_CATCH_UP_ONCE)
		goto plain; /* missed slots are skipped */
	/* one run for everything missed, labelled with the latest slot */
	t = first;
	for (long i = 0; i < CATCH_UP_WALK; i++) {
		if (cron_next(&job->cron, job->zone, t, &next) < 0 ||
		    next > now)
			break;
		t = next;
	}
	*slot = t;
	*catch_up = true;
	return 0;
plain:
	/* never before `last`: a clock that stepped back must not fire a
	 * slot that already fired */
	return cron_next(&job->cron, job->zone, now > last ? now : last, slot);
}

/* ---- the heap ----------------------------------------------------------- */

static bool
earlier(const struct scheduler *s, size_t a, size_t b)
{
	return s->entries[s->heap[a]].due_ms < s->entries[s->heap[b]].due_ms;
}

static void
heap_swap(struct scheduler *s, size_t a, size_t b)
{
	size_t t = s->heap[a];

	s->heap[a] = s->heap[b];
	s->heap[b] = t;
}

static void
heap_up(struct scheduler *s, size_t i)
{
	while (i > 0 && earlier(s, i, (i - 1) / 2)) {
		heap_swap(s, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(struct scheduler *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < s->nheap && earlier(s, l, m))
			m = l;
		if (r < s->nheap && earlier(s, r, m))
			m = r;
		if (m == i)
			return;
		heap_swap(s, i, m);
		i = m;
	}
}

static void
heap_push(struct scheduler *s, size_t entry)
{
	s->heap[s->nheap++] = entry;
	heap_up(s, s->nheap - 1);
}

static size_t
heap_pop(struct scheduler *s)
{
	size_t top = s->heap[0];

	s->heap[0] = s->heap[--s->nheap];
	heap_down(s, 0);
	return top;
}

/* ---- clock and timer ---------------------------------------------------- */

static int64_t
jitter_ms(int64_t jitter_s)
{
	if (jitter_s <= 0)
		return 0;
	return (int64_t)(util_random_u64() % (uint64_t)(jitter_s * 1000 + 1));
}

static void
arm(struct scheduler *s)
{
	struct itimerspec its = {0};

	if (s->stopped)
		return;
	if (s->nheap > 0 && s->entries[s->heap[0]].committed &&
	    s->entries[s->heap[0]].commit_gen > s->durable) {
		/* save_done fires it and arms again */
	} else if (s->nheap > 0) {
		const struct entry *e = &s->entries[s->heap[0]];
		int64_t due =
		    e->committed ? e->due_ms : e->due_ms - COMMIT_LEAD_MS;

		if (due < 1)
			due = 1; /* 0 would disarm */
		its.it_value.tv_sec = due / 1000;
		its.it_value.tv_nsec = (due % 1000) * 1000000;
	}
	if (timerfd_settime(s->tfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
	                    &its, NULL) < 0)
		log_msg(LOG_ERR, "cannot arm the timer: %s", strerror(errno));
}

/* (Re)compute an entry from the job's last fired slot. */
static void
plan_entry(struct scheduler *s, struct entry *e, int64_t now_ms)
{
	int64_t last = state_last_fired(s->st, e->job->name);
	int64_t now = now_ms / 1000;

	if (scheduler_plan(e->job, last, now, &e->slot, &e->catch_up) < 0) {
		e->due_ms = INT64_MAX;
		return;
	}
	e->due_ms =
	    e->catch_up ? now_ms : e->slot * 1000 + jitter_ms(e->job->jitter);
}

static void
rebuild(struct scheduler *s, int64_t now_ms)
{
	s->nheap = 0;
	for (size_t i = 0; i < s->nentries; i++) {
		/* a recorded slot is a promise: it fires, whatever the clock */
		if (!s->entries[i].committed)
			plan_entry(s, &s->entries[i], now_ms);
		if (s->entries[i].due_ms != INT64_MAX)
			heap_push(s, i);
	}
}

/* ---- bookkeeping -------------------------------------------------------- */

static void start_save(struct scheduler *s);
static void fire_due(struct scheduler *s, int64_t now_ms, size_t *fired);
static void close_handles(struct scheduler *s);
static void notify_status(struct scheduler *s);
static void status_soon(struct scheduler *s);

/* Blocking write, for the last one at stop only. */
static void
save_state(struct scheduler *s)
{
	char err[256];

	if (state_save(s->st, s->cfg->state_dir, err, sizeof(err)) < 0)
		log_msg(LOG_ERR, "cannot save state: %s", err);
}

static void
save_work(uv_work_t *w)
{
	struct scheduler *s = w->data;
	char *buf;
	size_t len;

	/* Encoding is here too: with thousands of jobs it takes
	 * milliseconds, which the loop must not spend. */
	s->save_rc = state_encode(&s->save_st, &buf, &len, s->save_err,
	                          sizeof(s->save_err));
	if (s->save_rc == 0) {
		s->save_rc = state_write_file(s->save_path, buf, len,
		                              s->save_err, sizeof(s->save_err));
		free(buf);
	}
}

static void
save_done(uv_work_t *w, int status)
{
	struct scheduler *s = w->data;
	size_t fired = 0;

	(void)status;
	s->saving = false;
	/* A failed write is logged and the runs go on: a disk that cannot
	 * take state.json must not stop the maintenance it records. */
	if (s->save_rc < 0)
		log_msg(LOG_ERR, "cannot save state: %s", s->save_err);
	else if (uv_hrtime() - s->save_start_ns > SLOW_SAVE_MS * 1000000ull)
		log_msg(LOG_WARNING,
		        "writing state.json took %llu ms: jobs due meanwhile "
		        "wait for it (slow storage under state_dir?)",
		        (unsigned long long)((uv_hrtime() - s->save_start_ns) /
		                             1000000));
	s->durable = s->save_gen;
	if (s->stopped) {
		if (s->close_after_save) {
			save_state(s);
			close_handles(s);
		}
		return;
	}
	if (s->gen > s->durable)
		start_save(s);
	/* slots recorded ahead wait for their record to be on disk */
	fire_due(s, util_wall_ms(), &fired);
	arm(s);
	if (fired > 0)
		status_soon(s);
}

/* Write the current state in the thread pool, unless a write is under
 * way (save_done then writes the newer state). */
static void
start_save(struct scheduler *s)
{
	if (s->saving || s->stopped)
		return;
	if (state_snapshot(s->st, &s->save_st) < 0) {
		log_msg(LOG_ERR, "cannot save state: out of memory");
		s->durable = s->gen; /* as for a failed write: carry on */
		return;
	}
	snprintf(s->save_path, sizeof(s->save_path), "%s/state.json",
	         s->cfg->state_dir);
	s->save_gen = s->gen;
	s->saving = true;
	s->save_start_ns = uv_hrtime();
	s->save.data = s;
	if (uv_queue_work(s->loop, &s->save, save_work, save_done) < 0) {
		s->saving = false;
		log_msg(LOG_ERR, "cannot save state: no worker thread");
	}
}

static void
on_check(uv_check_t *c)
{
	struct scheduler *s = c->data;

	uv_check_stop(c);
	if (s->dirty) {
		s->dirty = false;
		start_save(s);
	}
	if (s->status_dirty) {
		s->status_dirty = false;
		notify_status(s);
	}
}

/* The state changed: write it at the end of this loop iteration, so that
 * operations that start or end together cost one write. */
static void
save_soon(struct scheduler *s)
{
	s->gen++;
	if (!s->dirty) {
		s->dirty = true;
		uv_check_start(&s->check, on_check);
	}
}

/* Keep STATUS= current, once per loop iteration however many runs end. */
static void
status_soon(struct scheduler *s)
{
	s->status_dirty = true;
	uv_check_start(&s->check, on_check);
}

/* The numbers changed: the textfile is written again soon (coalesced,
 * at most once a second). */
static void
metrics_soon(struct scheduler *s)
{
	if (s->promfile != NULL && !s->stopped)
		promfile_changed(s->promfile);
}

static bool job_configured_in(const char *name, void *arg);

/* The jobs of cfg in the metrics, and only those. */
static void
metrics_sync_jobs(struct scheduler *s, const struct config *cfg)
{
	metrics_jobs_keep(&s->metrics, job_configured_in, (void *)cfg);
	for (size_t i = 0; i < cfg->njobs; i++)
		metrics_job(&s->metrics, cfg->jobs[i].name);
}

/* How far back the start looks in history.jsonl for each job's last
 * outcome and last success. */
#define SEED_ENTRIES 20000

static enum kinsta_outcome
outcome_by_name(const char *name)
{
	for (int o = KINSTA_SUCCEEDED; o < METRICS_OUTCOMES; o++)
		if (strcmp(name, kinsta_outcome_name(o)) == 0)
			return (enum kinsta_outcome)o;
	return KINSTA_RUNNING;
}

/* One job's fires as the history is read back, for seed_from_history. */
struct seed {
	int state; /* 0 none seen, 1 in its newest fire, 2 looking for a
	            * success, 3 done */
	uint64_t run_id;
	enum kinsta_outcome worst;
	int64_t start_ms, end_ms;
};

static void
seed_close(struct metrics_job *j, struct seed *sd)
{
	if (sd->state == 1) {
		j->last_run_ms = sd->start_ms;
		j->last_end_ms = sd->end_ms;
		j->last_outcome = sd->worst;
		sd->state = 2;
	}
	if (sd->state == 2 && sd->worst == KINSTA_SUCCEEDED) {
		j->last_success_ms = sd->end_ms;
		sd->state = 3;
	}
}

/* Each job's last outcome, last run and last success from the history,
 * so that a restart does not make status and the metrics say "never". */
static void
seed_from_history(struct scheduler *s)
{
	struct metrics *m = &s->metrics;
	struct history_reader *r;
	struct history_entry e;
	struct seed *seeds;
	size_t left = m->njobs, n = 0;
	char path[4200], err[512];

	snprintf(path, sizeof(path), "%s/history.jsonl", s->cfg->state_dir);
	if (m->njobs == 0 || (seeds = calloc(m->njobs, sizeof(*seeds))) == NULL)
		return;
	if (history_open(&r, path, err, sizeof(err)) < 0) {
		free(seeds);
		return;
	}
	while (left > 0 && n++ < SEED_ENTRIES &&
	       history_next(r, &e, err, sizeof(err)) == 1) {
		struct metrics_job *j = metrics_job_find(m, e.job);
		enum kinsta_outcome o = outcome_by_name(e.outcome);
		struct seed *sd;

		if (j == NULL || o == KINSTA_RUNNING)
			continue;
		sd = &seeds[j - m->jobs];
		if (sd->state == 3)
			continue;
		if (sd->state != 0 && sd->run_id == e.run_id) {
			sd->worst = metrics_worse(sd->worst, o);
			if (e.start_ms < sd->start_ms)
				sd->start_ms = e.start_ms;
			continue;
		}
		seed_close(j, sd);
		if (sd->state == 3) {
			left--;
			continue;
		}
		sd->state = sd->state == 0 ? 1 : 2;
		sd->run_id = e.run_id;
		sd->worst = o;
		sd->start_ms = e.start_ms;
		sd->end_ms = e.end_ms;
	}
	for (size_t i = 0; i < m->njobs; i++)
		seed_close(&m->jobs[i], &seeds[i]);
	history_close(r);
	free(seeds);
}

static int
snapshot_metrics(void *arg, struct metrics *copy)
{
	return scheduler_metrics_copy(arg, copy);
}

/* The textfile as cfg says: started, moved or stopped. */
static void
metrics_textfile(struct scheduler *s, const struct config *cfg)
{
	if (cfg->metrics_textfile == NULL) {
		if (s->promfile != NULL)
			promfile_close(s->promfile);
		s->promfile = NULL;
		return;
	}
	if (s->promfile != NULL) {
		if (promfile_set_path(s->promfile, cfg->metrics_textfile) < 0)
			log_msg(LOG_ERR, "metrics: out of memory");
	} else if (promfile_init(&s->promfile, s->loop, cfg->metrics_textfile,
	                         snapshot_metrics, s) < 0) {
		log_msg(LOG_ERR, "metrics: out of memory");
		s->promfile = NULL;
	}
	metrics_soon(s);
}

static const char *
target_name(const struct target *t, char *buf, size_t len)
{
	if (t->site_name[0] != '\0')
		snprintf(buf, len, "%s/%s", t->site_name, t->env_name);
	else
		snprintf(buf, len, "%s", t->env_id[0] ? t->env_id : "-");
	return buf;
}

static void
iso_utc(int64_t t, char *buf, size_t len)
{
	util_time_iso(buf, len, NULL, t, -1);
}

/* Keep systemctl status current: jobs, runs in flight, next fire.  A
 * no-op without $NOTIFY_SOCKET. */
static void
notify_status(struct scheduler *s)
{
	char status[512];

	scheduler_status(s, status, sizeof(status));
	sdnotify_send("STATUS=%s", status);
}

static void
on_progress(const struct exec_progress *p, void *arg)
{
	struct scheduler *s = arg;

	if (p->op_id[0] != '\0') {
		struct state_op op = {0};

		snprintf(op.job, sizeof(op.job), "%s", p->job->name);
		op.run_id = p->run_id;
		op.target = *p->target;
		op.step = p->step;
		snprintf(op.step_name, sizeof(op.step_name), "%s",
		         p->step_name ? p->step_name : "");
		snprintf(op.op_id, sizeof(op.op_id), "%s", p->op_id);
		op.deployment = p->deployment;
		op.started_ms = p->started_ms;
		state_op_put(s->st, &op);
	} else {
		state_op_remove(s->st, p->job->name, p->run_id,
		                p->target->env_id);
	}
	save_soon(s);
}

static struct entry *
find_entry(struct scheduler *s, const char *job)
{
	for (size_t i = 0; i < s->nentries; i++)
		if (strcmp(s->entries[i].job->name, job) == 0)
			return &s->entries[i];
	return NULL;
}

static void fire(struct scheduler *s, struct entry *e, int64_t slot);

static uint64_t
new_run_id(struct scheduler *s)
{
	return ((uint64_t)util_wall_ms() << 12) | (s->run_seq++ & 0xfff);
}

static int
start_run(struct scheduler *s, const struct config_job *job, const char *when,
          const char *why, uint64_t run_id)
{
	struct metrics_job *m;
	int rc;

	if ((m = metrics_job(&s->metrics, job->name)) != NULL)
		metrics_fire_started(m, util_wall_ms());
	metrics_soon(s);
	log_msg(LOG_INFO, "job=%s action=%s slot=%s event=fire%s", job->name,
	        action_name(job->action), when, why);
	if ((rc = exec_start(s->ex, job, run_id)) < 0)
		log_msg(LOG_ERR, "job=%s cannot start: out of memory",
		        job->name);
	else
		notifier_fire_started(s->nt, job);
	return rc;
}

/* Was fire run_id started by trigger?  With forget, no longer remember
 * it (the fire ended). */
static bool
manual_run(struct scheduler *s, uint64_t run_id, bool forget)
{
	for (size_t i = 0; i < s->nmanual; i++)
		if (s->manual[i] == run_id) {
			if (forget)
				s->manual[i] = s->manual[--s->nmanual];
			return true;
		}
	return false;
}

static void
free_unused_configs(struct scheduler *s)
{
	struct old_config **p = &s->old;

	while (*p != NULL) {
		struct old_config *o = *p;

		if (exec_config_in_use(s->ex, o->cfg)) {
			p = &o->next;
			continue;
		}
		*p = o->next;
		config_free(o->cfg); /* its mappings go back whole */
		free(o);
	}
}

/* A report job's document, with the history, into its output file (a
 * job without output keeps nothing, as before).  Synchronous: once a
 * month, and the history is read whole in well under a second. */
static void
write_report(const struct exec_result *r)
{
	const char *account = r->cfg->accounts[r->job->account].name;
	struct reportfile_options o;
	char path[4096], err[512];

	reportfile_job_options(r->cfg, r->job, &o);
	if (o.output == NULL)
		return;
	if (reportfile_write(r->cfg, &o, &r->report, &r->report_len, &account,
	                     1, r->ended_ms / 1000, NULL, path, sizeof(path),
	                     err, sizeof(err)) < 0)
		log_msg(LOG_ERR, "job=%s report: %s", r->job->name, err);
	else
		log_msg(LOG_INFO, "job=%s event=report-written file=\"%s\"",
		        r->job->name, path);
}

static struct adhoc_run *
adhoc_find(struct scheduler *s, uint64_t run_id)
{
	for (struct adhoc_run *a = s->adhoc; a != NULL; a = a->next)
		if (a->run_id == run_id)
			return a;
	return NULL;
}

/* Forget ad-hoc run run_id and free its job. */
static void
adhoc_drop(struct scheduler *s, uint64_t run_id)
{
	for (struct adhoc_run **p = &s->adhoc; *p != NULL; p = &(*p)->next)
		if ((*p)->run_id == run_id) {
			struct adhoc_run *a = *p;

			*p = a->next;
			config_adhoc_free(a->job);
			free(a);
			return;
		}
}

static void
on_fire_ended(const struct exec_fire *f, void *arg)
{
	struct scheduler *s = arg;
	struct metrics_job *m = metrics_job_find(&s->metrics, f->job->name);
	struct adhoc_run *a = adhoc_find(s, f->run_id);

	if (a != NULL) {
		/* a lookup is nobody's business but its asker's; the job
		 * goes once every watcher has read the fire */
		for (size_t i = 0; !a->how.quiet && i < s->nwatchers; i++)
			s->watchers[i].fn(f, s->watchers[i].arg);
		adhoc_drop(s, f->run_id);
		return;
	}

	/* the job's last outcome over all its targets, last success */
	if (m != NULL)
		metrics_fire_ended(m, metrics_fire_outcome(f->count),
		                   f->started_ms, f->ended_ms);
	manual_run(s, f->run_id, true);
	metrics_soon(s);
	for (size_t i = 0; i < s->nwatchers; i++)
		s->watchers[i].fn(f, s->watchers[i].arg);
}

static void
on_finished(const struct exec_result *r, void *arg)
{
	struct scheduler *s = arg;
	char target[300], line[2048], err[256];
	struct state_history h = {0};
	struct metrics_job *m;
	struct entry *e;
	struct adhoc_run *a = adhoc_find(s, r->run_id);
	bool manual = manual_run(s, r->run_id, false);
	const char *trigger = a ? a->by : manual ? "manual" : NULL;
	int prio = r->outcome == KINSTA_FAILED || r->outcome == KINSTA_TIMED_OUT
	               ? LOG_ERR
	           : r->outcome == KINSTA_ROLLED_BACK ? LOG_WARNING
	                                              : LOG_INFO;

	if (a != NULL && a->how.finished != NULL)
		a->how.finished(r, a->how.arg);
	exec_result_line(r, line, sizeof(line));
	if (a != NULL && a->how.quiet) {
		/* a lookup: told to its asker alone */
		log_msg(LOG_DEBUG, "%s trigger=%s", line, trigger);
		goto done;
	}
	log_msg(prio, "%s%s%s", line, trigger ? " trigger=" : "",
	        trigger ? trigger : "");
	if (s->watch.result != NULL)
		s->watch.result(r->run_id, line, s->watch.arg);
	target_name(r->target, target, sizeof(target));
	/* find, not add: a job removed by a reload is no longer shown */
	if ((m = metrics_job_find(&s->metrics, r->job->name)) != NULL)
		metrics_run_ended(m, r->outcome, r->started_ms, r->ended_ms);
	metrics_soon(s);

	h.job = r->job->name;
	h.action = action_name(r->job->action);
	h.env_id = r->target->env_id;
	h.target_name = target;
	h.op_id = r->op_id;
	h.outcome = kinsta_outcome_name(r->outcome);
	h.message = r->message;
	h.note = r->note;
	h.trigger = trigger;
	h.run_id = r->run_id;
	h.start_ms = r->started_ms;
	h.end_ms = r->ended_ms;
	h.details = r->details;
	if (state_history_append(r->cfg->state_dir, &h, err, sizeof(err)) < 0)
		log_msg(LOG_ERR, "cannot append to the history: %s", err);
	if (r->report != NULL)
		write_report(r);
	if (exec_save_answer(r, err, sizeof(err)) < 0)
		log_msg(LOG_ERR, "job=%s output: %s", r->job->name, err);
done:
	if (state_op_remove(s->st, r->job->name, r->run_id,
	                    r->target->env_id) == 0)
		save_soon(s);
	/* overlap = queue: the waiting run goes now that this job is idle */
	if (r->cfg == s->cfg && !s->stopped &&
	    (e = find_entry(s, r->job->name)) != NULL && e->queued &&
	    exec_job_active(s->ex, r->job->name) == 0) {
		e->queued = false;
		fire(s, e, e->queued_slot);
	}
	free_unused_configs(s);
	if (!s->stopped)
		status_soon(s);
}

/* A fire's last target ended: notifications and heartbeats (the first
 * watcher of the fires). */
static void
on_fire_notify(const struct exec_fire *f, void *arg)
{
	notifier_fire_ended(arg, f);
}

static void
on_notifier_changed(void *arg)
{
	save_soon(arg);
}

static void
on_notifier_delivered(bool ok, void *arg)
{
	scheduler_count_notification(arg, ok);
}

static void
fire(struct scheduler *s, struct entry *e, int64_t slot)
{
	const struct config_job *job = e->job;
	char when[64];

	iso_utc(slot, when, sizeof(when));
	if (exec_job_active(s->ex, job->name) > 0) {
		if (job->overlap == CONFIG_OVERLAP_QUEUE && !e->queued) {
			log_msg(LOG_INFO,
			        "job=%s slot=%s event=queued "
			        "reason=\"previous run still active\"",
			        job->name, when);
			e->queued_slot = slot;
			e->queued = true;
			return;
		}
		if (job->overlap == CONFIG_OVERLAP_QUEUE) {
			/* one queued run stands for every slot missed */
			log_msg(LOG_NOTICE,
			        "job=%s action=%s slot=%s outcome=skipped "
			        "reason=\"a run is already queued\"",
			        job->name, action_name(job->action), when);
			return;
		}
		log_msg(LOG_NOTICE,
		        "job=%s action=%s slot=%s outcome=skipped "
		        "reason=\"previous run still active\"",
		        job->name, action_name(job->action), when);
		return;
	}
	start_run(s, job, when, e->catch_up ? " catch_up=once" : "",
	          new_run_id(s));
}

/* Fire what is due, after recording it (the entry is committed); then
 * plan each fired job's next slot. */
static void
fire_due(struct scheduler *s, int64_t now_ms, size_t *fired)
{
	size_t n = 0;

	while (s->nheap > 0 && s->entries[s->heap[0]].committed &&
	       s->entries[s->heap[0]].commit_gen <= s->durable &&
	       s->entries[s->heap[0]].due_ms <= now_ms)
		s->due[n++] = heap_pop(s);
	for (size_t k = 0; k < n; k++) {
		struct entry *e = &s->entries[s->due[k]];

		e->committed = false;
		fire(s, e, e->slot);
		plan_entry(s, e, now_ms);
		if (e->due_ms != INT64_MAX)
			heap_push(s, s->due[k]);
	}
	*fired += n;
}

static void
tick(struct scheduler *s, int64_t now_ms)
{
	size_t n = 0, fired = 0;

	/* Slots recorded ahead of time go first, without waiting for a
	 * save. */
	fire_due(s, now_ms, &fired);
	/* Record every slot due soon and save once before any of them
	 * starts: a crash after this never fires one twice, and a burst of
	 * jobs due together costs one write, not one each. */
	while (s->nheap > 0 &&
	       s->entries[s->heap[0]].due_ms <= now_ms + COMMIT_LEAD_MS &&
	       !s->entries[s->heap[0]].committed) {
		size_t i = heap_pop(s);
		struct entry *e = &s->entries[i];

		e->prev_last = state_last_fired(s->st, e->job->name);
		state_set_last_fired(s->st, e->job->name, e->slot);
		e->committed = true;
		e->commit_gen = s->gen + 1;
		s->due[n++] = i;
	}
	for (size_t k = 0; k < n; k++)
		heap_push(s, s->due[k]);
	if (n > 0) {
		/* no run starts before its record is on disk (save_done) */
		s->gen++;
		start_save(s);
	}
	arm(s);
	if (fired > 0)
		status_soon(s);
}

static void
on_timer(uv_poll_t *p, int status, int events)
{
	struct scheduler *s = p->data;
	uint64_t expirations;

	(void)status;
	(void)events;
	if (read(s->tfd, &expirations, sizeof(expirations)) < 0) {
		if (errno == ECANCELED) {
			/* the wall clock was set: plan everything again */
			log_msg(LOG_NOTICE, "event=clock-change "
			                    "reason=\"wall clock stepped; "
			                    "recomputing fire times\"");
			rebuild(s, util_wall_ms());
		} else if (errno != EAGAIN) {
			log_msg(LOG_ERR, "timer: %s", strerror(errno));
		}
	}
	tick(s, util_wall_ms());
}

/* ---- public ------------------------------------------------------------- */

/* Entries for cfg's enabled jobs, replacing the current ones only once
 * everything is allocated; a queued run of a job that keeps its name stays
 * queued. */
static int
make_entries(struct scheduler *s, const struct config *cfg)
{
	size_t cap = cfg->njobs + 1,
	       bytes = cap * (sizeof(struct entry) + 2 * sizeof(size_t));
	struct entry *entries = mapmem_alloc(bytes);
	size_t *heap, *due, n = 0;

	if (entries == NULL)
		return -ENOMEM;
	heap = (size_t *)(void *)(entries + cap);
	due = heap + cap;
	for (size_t i = 0; i < cfg->njobs; i++)
		if (cfg->jobs[i].enabled)
			entries[n++].job = &cfg->jobs[i];
	for (size_t i = 0; i < s->nentries; i++) {
		const struct entry *old = &s->entries[i];
		const struct config_job *job;

		if ((!old->queued && !old->committed) ||
		    (job = config_find_job(cfg, old->job->name)) == NULL)
			continue;
		for (size_t k = 0; k < n; k++)
			if (entries[k].job == job) {
				struct entry *e = &entries[k];

				e->queued = old->queued;
				e->queued_slot = old->queued_slot;
				/* a recorded slot still fires */
				e->committed = old->committed;
				e->slot = old->slot;
				e->due_ms = old->due_ms;
				e->prev_last = old->prev_last;
			}
	}
	mapmem_free(s->entries, s->entries_bytes);
	s->entries_bytes = bytes;
	s->entries = entries;
	s->heap = heap;
	s->due = due;
	s->nentries = n;
	s->nheap = 0;
	return 0;
}

int
scheduler_init(struct scheduler **out, uv_loop_t *loop, struct config *cfg,
               struct state *st, struct http *http, char *err, size_t errlen)
{
	struct scheduler *s = calloc(1, sizeof(*s));
	struct exec_hooks hooks = {.finished = on_finished,
	                           .progress = on_progress,
	                           .fire_ended = on_fire_ended,
	                           .arg = s};
	struct notifier_hooks nhooks = {.changed = on_notifier_changed,
	                                .delivered = on_notifier_delivered,
	                                .arg = s};
	struct exec_options opt = {.durations = &st->durations};

	if (s == NULL || make_entries(s, cfg) < 0 ||
	    exec_init(&s->ex, loop, http, cfg, &opt, &hooks) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (notifier_init(&s->nt, loop, http, st, cfg, &nhooks) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail_exec;
	}
	scheduler_watch_fires(s, on_fire_notify, s->nt);
	s->loop = loop;
	s->cfg = cfg;
	s->st = st;
	metrics_init(&s->metrics);
	s->metrics.version = KCRON_VERSION;
	metrics_sync_jobs(s, cfg);
	seed_from_history(s);
	s->tfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->tfd < 0) {
		snprintf(err, errlen, "timerfd_create: %s", strerror(errno));
		goto fail_exec;
	}
	if (uv_poll_init(loop, &s->poll, s->tfd) != 0) {
		snprintf(err, errlen, "cannot watch the timer");
		close(s->tfd);
		goto fail_exec;
	}
	s->poll.data = s;
	uv_check_init(loop, &s->check);
	s->check.data = s;
	*out = s;
	return 0;
fail_exec:
	notifier_close(s->nt); /* NULL is fine */
	exec_close(s->ex);     /* freed once the loop runs */
fail:
	if (s != NULL) {
		mapmem_free(s->entries, s->entries_bytes);
		metrics_free(&s->metrics);
		free(s);
	}
	return -ENOMEM;
}

/* The job of an ad-hoc run's operation saved at the last stop, made
 * again from its name (the action, the account) and its environment; its
 * other parameters are the action's defaults.  NULL when it cannot be. */
static const struct config_job *
adhoc_resume(struct scheduler *s, const struct state_op *op)
{
	struct config_value v[2];
	struct config_adhoc *job;
	struct adhoc_run *a = adhoc_find(s, op->run_id);
	enum action_id action;
	char account[160], err[256];
	size_t n = 0;

	if (a != NULL) /* another environment of the same run */
		return config_adhoc_job(a->job);
	if (config_adhoc_parse_name(op->job, &action, account,
	                            sizeof(account)) < 0)
		return NULL;
	v[n++] = (struct config_value){.key = "environment_id",
	                               .kind = CONFIG_VALUE_STRING,
	                               .str = op->target.env_id};
	if (account[0] != '\0')
		v[n++] = (struct config_value){.key = "account",
		                               .kind = CONFIG_VALUE_STRING,
		                               .str = account};
	if (config_adhoc_new(&job, s->cfg, action, op->job, v, n, err,
	                     sizeof(err)) < 0) {
		log_msg(LOG_WARNING, "job=%s event=resume-failed reason=\"%s\"",
		        op->job, err);
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		config_adhoc_free(job);
		return NULL;
	}
	a->run_id = op->run_id;
	a->job = job;
	snprintf(a->by, sizeof(a->by), "ad-hoc");
	a->how.by = a->by;
	a->next = s->adhoc;
	s->adhoc = a;
	return config_adhoc_job(job);
}

int
scheduler_start(struct scheduler *s)
{
	size_t resumed = 0, dropped = 0;

	/* operations that were in flight when the daemon last stopped */
	for (size_t i = 0; i < s->st->nops; i++) {
		const struct state_op *op = &s->st->ops[i];
		const struct config_job *job = config_find_job(s->cfg, op->job);

		if (job == NULL && op->job[0] == '@')
			job = adhoc_resume(s, op);

		if (job == NULL ||
		    exec_resume(s->ex, job, &op->target, op->run_id, op->step,
		                op->step_name[0] ? op->step_name : NULL,
		                op->op_id, op->deployment,
		                op->started_ms) < 0) {
			log_msg(LOG_WARNING,
			        "job=%s op=%s event=resume-failed "
			        "reason=\"%s\"",
			        op->job, op->op_id,
			        job ? "cannot read the API key"
			            : "the job is no longer configured");
			if (exec_fire_find(s->ex, op->run_id) == NULL)
				adhoc_drop(s, op->run_id); /* if it was one */
			dropped++;
			continue;
		}
		log_msg(LOG_INFO, "job=%s env=%s op=%s event=resume", op->job,
		        op->target.env_id, op->op_id);
		resumed++;
	}
	(void)resumed;
	(void)dropped;
	rebuild(s, util_wall_ms());
	notifier_start(s->nt);
	metrics_textfile(s, s->cfg);
	uv_poll_start(&s->poll, UV_READABLE, on_timer);
	tick(s, util_wall_ms());
	return 0;
}

/* ---- reload ---------------------------------------------------------------
 */

#define CHANGES_NAMED 20 /* jobs named per kind of change in the log */

static int
cmp_job_name(const void *a, const void *b)
{
	const struct config_job *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* Jobs of cfg by name, for a merge walk; NULL when out of memory. */
static const struct config_job **
jobs_by_name(const struct config *cfg)
{
	const struct config_job **v = calloc(cfg->njobs + 1, sizeof(*v));

	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->njobs; i++)
		v[i] = &cfg->jobs[i];
	qsort(v, cfg->njobs, sizeof(*v), cmp_job_name);
	return v;
}

static void
log_change(const char *what, const char *job, size_t *count)
{
	if ((*count)++ < CHANGES_NAMED)
		log_msg(LOG_INFO, "event=reload-change job=%s change=%s", job,
		        what);
}

/* The jobs of a config sorted by name (b), for state_forget_jobs. */
struct sorted_jobs {
	const struct config *cfg;
	const struct config_job **b; /* NULL when out of memory */
};

static int
cmp_name_job(const void *key, const void *elem)
{
	const struct config_job *const *j = elem;

	return strcmp(key, (*j)->name);
}

/* Is job NAME in the new config?  A binary search: a reload of 10,000
 * jobs asks it for each of the 10,000 in state.json. */
static bool
job_configured(const char *name, void *arg)
{
	const struct sorted_jobs *t = arg;

	if (t->b == NULL)
		return config_find_job(t->cfg, name) != NULL;
	return bsearch(name, t->b, t->cfg->njobs, sizeof(*t->b),
	               cmp_name_job) != NULL;
}

/* Say what a reload changes: jobs added, removed and changed, by name (a
 * sorted merge, so 10,000 jobs cost milliseconds); b is `to` sorted. */
static void
log_reload_changes(const struct config *from, const struct config *to,
                   const struct config_job **b)
{
	const struct config_job **a = jobs_by_name(from);
	size_t i = 0, k = 0, added = 0, removed = 0, changed = 0, same = 0;

	while (a != NULL && b != NULL && (i < from->njobs || k < to->njobs)) {
		int c = i == from->njobs ? 1
		        : k == to->njobs ? -1
		                         : strcmp(a[i]->name, b[k]->name);

		if (c < 0) {
			log_change("removed", a[i++]->name, &removed);
		} else if (c > 0) {
			log_change("added", b[k++]->name, &added);
		} else {
			if (config_job_same(from, a[i], to, b[k]))
				same++;
			else
				log_change("changed", b[k]->name, &changed);
			i++, k++;
		}
	}
	if (a != NULL && b != NULL)
		log_msg(
		    LOG_INFO,
		    "event=reload-changes added=%zu removed=%zu changed=%zu "
		    "unchanged=%zu%s",
		    added, removed, changed, same,
		    added > CHANGES_NAMED || removed > CHANGES_NAMED ||
		            changed > CHANGES_NAMED
		        ? " note=\"the first 20 of each kind are named\""
		        : "");
	free(a);
}

/* The wall clock when this loop iteration began, before the reload read
 * its file: a slot that came due while it did is late, not missed, and
 * still fires (a 10,000-job file takes a few hundred milliseconds). */
static int64_t
iteration_wall_ms(const struct scheduler *s)
{
	int64_t spent =
	    (int64_t)(uv_hrtime() / 1000000) - (int64_t)uv_now(s->loop);

	return util_wall_ms() - (spent > 0 ? spent : 0);
}

void
scheduler_reload(struct scheduler *s, struct config *cfg)
{
	struct old_config *o = calloc(1, sizeof(*o));
	struct sorted_jobs sorted = {cfg, NULL};
	int64_t began;

	if (o == NULL || make_entries(s, cfg) < 0) {
		/* the old entries are untouched: keep running on them */
		log_msg(LOG_ERR,
		        "event=reload-failed reason=\"out of memory\"");
		free(o);
		config_free(cfg);
		return;
	}
	sorted.b = jobs_by_name(cfg);
	log_reload_changes(s->cfg, cfg, sorted.b);
	began = iteration_wall_ms(s);
	o->cfg = s->cfg;
	o->next = s->old;
	s->old = o;
	s->cfg = cfg;
	exec_set_config(s->ex, cfg);
	notifier_set_config(s->nt, cfg);
	state_forget_jobs(s->st, job_configured, &sorted);
	free(sorted.b);
	metrics_sync_jobs(s, cfg);
	rebuild(s, began);
	metrics_textfile(s, cfg);
	free_unused_configs(s);
	save_soon(s);
	tick(s, util_wall_ms());
}

void
scheduler_status(const struct scheduler *s, char *buf, size_t len)
{
	char when[64] = "-";
	const char *next = "-";
	size_t runs = exec_active(s->ex);

	if (s->nheap > 0) {
		const struct entry *e = &s->entries[s->heap[0]];

		next = e->job->name;
		iso_utc(e->due_ms / 1000, when, sizeof(when));
	}
	snprintf(buf, len,
	         "%zu job%s scheduled, %zu run%s in flight, next: %s at %s",
	         s->nentries, s->nentries == 1 ? "" : "s", runs,
	         runs == 1 ? "" : "s", next, when);
}

int
scheduler_watch_fires(struct scheduler *s,
                      void (*fn)(const struct exec_fire *f, void *arg),
                      void *arg)
{
	if (s->nwatchers == SCHEDULER_WATCHERS_MAX)
		return -ENOSPC;
	s->watchers[s->nwatchers].fn = fn;
	s->watchers[s->nwatchers].arg = arg;
	s->nwatchers++;
	return 0;
}

void
scheduler_unwatch_fires(struct scheduler *s,
                        void (*fn)(const struct exec_fire *f, void *arg),
                        void *arg)
{
	for (size_t i = 0; i < s->nwatchers; i++) {
		if (s->watchers[i].fn != fn || s->watchers[i].arg != arg)
			continue;
		memmove(&s->watchers[i], &s->watchers[i + 1],
		        (s->nwatchers - i - 1) * sizeof(s->watchers[0]));
		s->nwatchers--;
		return;
	}
}

const struct exec *
scheduler_exec(const struct scheduler *s)
{
	return s->ex;
}

const struct config *
scheduler_config(const struct scheduler *s)
{
	return s->cfg;
}

/* Both handles are embedded: free only after the second close. */
static void
on_handle_closed(uv_handle_t *h)
{
	struct scheduler *s = h->data;

	if (--s->open_handles > 0)
		return;
	close(s->tfd);
	while (s->old != NULL) {
		struct old_config *o = s->old;

		s->old = o->next;
		config_free(o->cfg);
		free(o);
	}
	config_free(s->cfg);
	state_free(s->st);
	free(s->st);
	state_free(&s->save_st);
	mapmem_free(s->entries, s->entries_bytes);
	metrics_free(&s->metrics);
	free(s->manual);
	while (s->adhoc != NULL)
		adhoc_drop(s, s->adhoc->run_id);
	free(s);
}

void
scheduler_stop(struct scheduler *s)
{
	/* the last numbers, while exec still knows its runs */
	if (s->promfile != NULL)
		promfile_close(s->promfile);
	s->promfile = NULL;
	/* told, not lost without a word: stopped first, so that their ends
	 * start no queued run */
	s->stopped = true;
	exec_skip_unstarted(s->ex,
	                    "the daemon stopped before this environment's turn "
	                    "in the rollout; trigger the job to finish it");
	/* runs in flight are abandoned unreported: state.json keeps their
	 * operations for the next start, and the notices not yet delivered */
	exec_close(s->ex);
	notifier_close(s->nt);
	s->dirty = false;
	/* slots recorded ahead of time that never started: not fired */
	for (size_t i = 0; i < s->nentries; i++)
		if (s->entries[i].committed)
			state_set_last_fired(s->st, s->entries[i].job->name,
			                     s->entries[i].prev_last);
	uv_poll_stop(&s->poll);
	uv_check_stop(&s->check);
	if (s->saving) {
		/* one writer at a time: the last write follows this one */
		s->close_after_save = true;
		return;
	}
	save_state(s);
	close_handles(s);
}

static void
close_handles(struct scheduler *s)
{
	s->open_handles = 2;
	uv_close((uv_handle_t *)&s->check, on_handle_closed);
	uv_close((uv_handle_t *)&s->poll, on_handle_closed);
}

size_t
scheduler_active(const struct scheduler *s)
{
	return exec_active(s->ex);
}

int
scheduler_fire_now(struct scheduler *s, const char *name, const char *by,
                   uint64_t *run_id)
{
	const struct config_job *job = config_find_job(s->cfg, name);
	uint64_t id;
	char when[64], why[64];

	if (job == NULL)
		return -ENOENT;
	if (exec_job_active(s->ex, name) > 0)
		return -EBUSY;
	if (s->nmanual == s->capmanual) {
		size_t cap = s->capmanual ? s->capmanual * 2 : 8;
		uint64_t *v = realloc(s->manual, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		s->manual = v;
		s->capmanual = cap;
	}
	/* a manual run is no cron slot: the schedule is left as it is; the
	 * id is remembered (its history says trigger=manual) and told before
	 * the start, as a fire may end inside exec_start (no key) */
	iso_utc(util_wall_ms() / 1000, when, sizeof(when));
	snprintf(why, sizeof(why), " trigger=%s", by);
	id = new_run_id(s);
	s->manual[s->nmanual++] = id;
	if (run_id != NULL)
		*run_id = id;
	return start_run(s, job, when, why, id);
}

static bool
common_value(const char *const *a, size_t na, const char *const *b, size_t nb)
{
	for (size_t i = 0; i < na; i++)
		for (size_t k = 0; k < nb; k++)
			if (strcmp(a[i], b[k]) == 0)
				return true;
	return false;
}

/* Do the targets of a and b, as written, name a common environment (by
 * id, or by site and environment name)? */
static bool
same_environment(const struct config_job *a, const struct config_job *b)
{
	const struct config_target *x = &a->target, *y = &b->target;

	if (x->kind != y->kind ||
	    !common_value(x->values, x->nvalues, y->values, y->nvalues))
		return false;
	return x->kind == CONFIG_TARGET_ENVIRONMENTS ||
	       (x->kind == CONFIG_TARGET_SITES &&
	        common_value(x->environments, x->nenvironments, y->environments,
	                     y->nenvironments));
}

/* Does t, as written, name the environment x (by id, or by site and
 * environment name)? */
static bool
names_env(const struct config_target *t, const struct target *x)
{
	for (size_t v = 0; v < t->nvalues; v++) {
		if (t->kind == CONFIG_TARGET_ENVIRONMENTS &&
		    strcmp(t->values[v], x->env_id) == 0)
			return true;
		if (t->kind != CONFIG_TARGET_SITES ||
		    strcmp(t->values[v], x->site_name) != 0)
			continue;
		for (size_t e = 0; e < t->nenvironments; e++)
			if (strcmp(t->environments[e], x->env_name) == 0)
				return true;
	}
	return false;
}

/* Is an environment job names being acted on by a fire in flight?  Only
 * what names one environment can be told before the site list is read:
 * ids, and site names with their environments.  Who holds it into
 * holder. */
static bool
adhoc_busy(const struct scheduler *s, const struct config_job *job,
           char *holder, size_t len)
{
	size_t n = exec_fires(s->ex, NULL, 0);
	const struct exec_fire **f = malloc((n ? n : 1) * sizeof(*f));
	bool busy = false;

	if (f == NULL)
		return false; /* the environment lock still holds it back */
	exec_fires(s->ex, f, n);
	for (size_t i = 0; i < n && !busy; i++) {
		/* still reading the site list: its job's own words */
		if (f[i]->ntargets == 0 && f[i]->ended_ms == 0 &&
		    same_environment(job, f[i]->job)) {
			snprintf(holder, len,
			         "job %s (run %" PRIu64 ") is starting on the "
			         "same environment",
			         f[i]->job->name, f[i]->run_id);
			busy = true;
		}
		for (size_t k = 0; k < f[i]->ntargets && !busy; k++) {
			const struct target *x = &f[i]->targets[k].target;

			if (f[i]->targets[k].outcome != KINSTA_RUNNING ||
			    !names_env(&job->target, x))
				continue;
			snprintf(holder, len,
			         "%s/%s is busy with job %s (run %" PRIu64 ")",
			         x->site_name[0] ? x->site_name : x->env_id,
			         x->env_name, f[i]->job->name, f[i]->run_id);
			busy = true;
		}
	}
	free(f);
	return busy;
}

int
scheduler_run_adhoc(struct scheduler *s, struct config_adhoc *job,
                    const struct scheduler_adhoc *how, uint64_t *run_id,
                    char *err, size_t errlen, int64_t *retry_after_s)
{
	const struct config_job *j = config_adhoc_job(job);
	const char *company = s->cfg->accounts[j->account].company;
	struct ratelimit_status st;
	int64_t now = util_wall_ms();
	struct adhoc_run *a;
	char when[64], why[64];
	uint64_t id;
	int rc;

	*retry_after_s = 0;
	if (adhoc_busy(s, j, err, errlen)) {
		snprintf(err + strlen(err), errlen - strlen(err),
		         "; try again when it ends");
		config_adhoc_free(job);
		return -EBUSY;
	}
	/* paused by a 429, or a minute's worth of requests already waiting:
	 * one more run would only wait behind them */
	if (exec_budget(s->ex, company, &st) == 0 &&
	    (st.paused_until > now ||
	     st.queued_poll + st.queued_work >= s->cfg->rate_limits.company)) {
		*retry_after_s = st.paused_until > now
		                     ? (st.paused_until - now + 999) / 1000
		                     : 60;
		snprintf(err, errlen,
		         "the account's API budget (%lld requests a minute) "
		         "is spent: %d requests are waiting; try again in "
		         "%lld s",
		         (long long)s->cfg->rate_limits.company,
		         st.queued_poll + st.queued_work,
		         (long long)*retry_after_s);
		config_adhoc_free(job);
		return -EAGAIN;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		config_adhoc_free(job);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	id = new_run_id(s);
	a->run_id = id;
	a->job = job;
	a->how = *how;
	snprintf(a->by, sizeof(a->by), "%s", how->by);
	a->how.by = a->by; /* the caller's string may not last */
	a->next = s->adhoc;
	s->adhoc = a;
	if (run_id != NULL)
		*run_id = id;
	iso_utc(now / 1000, when, sizeof(when));
	snprintf(why, sizeof(why), " trigger=%s", a->by);
	log_msg(how->quiet ? LOG_DEBUG : LOG_INFO,
	        "job=%s action=%s slot=%s event=fire%s", j->name,
	        action_name(j->action), when, why);
	/* the fire may end inside exec_start (no key): a is gone then */
	if ((rc = exec_start(s->ex, j, id)) < 0) {
		adhoc_drop(s, id);
		snprintf(err, errlen, "could not start: %s", strerror(-rc));
	}
	return rc;
}

bool
scheduler_quiet(struct scheduler *s, uint64_t run_id)
{
	struct adhoc_run *a = adhoc_find(s, run_id);

	return a != NULL && a->how.quiet;
}

void
scheduler_adhoc_forget(struct scheduler *s, uint64_t run_id)
{
	struct adhoc_run *a = adhoc_find(s, run_id);

	if (a != NULL)
		a->how.finished = NULL;
}

void
scheduler_job_state(const struct scheduler *s, const struct config_job *job,
                    int64_t *next, int64_t *last, size_t *running)
{
	size_t lo = 0, hi = s->nentries;

	*next = -1;
	/* entries are the enabled jobs in the config's order: their job
	 * pointers ascend */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->entries[mid].job < job)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->nentries && s->entries[lo].job == job &&
	    s->entries[lo].due_ms != INT64_MAX)
		*next = s->entries[lo].slot;
	*last = state_last_fired(s->st, job->name);
	*running = exec_job_active(s->ex, job->name);
}

int
scheduler_trigger(struct scheduler *s, const char *name, FILE *out,
                  uint64_t *run_id)
{
	int rc = scheduler_fire_now(s, name, "manual", run_id);

	if (rc == -ENOENT) {
		fprintf(out, "no job \"%s\" in %s\n", name, s->cfg->path);
		return -ENOENT;
	}
	if (rc == -EBUSY) {
		fprintf(out,
		        "job %s is still running; try again when it ends\n",
		        name);
		return -EBUSY;
	}
	if (rc == -ENOMEM) {
		fprintf(out, "out of memory\n");
		return rc;
	}
	fprintf(out,
	        "job %s started; its outcome goes to the log and the "
	        "history\n",
	        name);
	return 0;
}

int
scheduler_report(const struct scheduler *s, FILE *out)
{
	const struct config *cfg = s->cfg;
	size_t e = 0;
	char line[512];

	scheduler_status(s, line, sizeof(line));
	fprintf(out, "%s\nconfiguration %s: %zu account%s, %zu job%s\n", line,
	        cfg->path, cfg->naccounts, cfg->naccounts == 1 ? "" : "s",
	        cfg->njobs, cfg->njobs == 1 ? "" : "s");
	fprintf(out, "%-32s %-26s %-10s %-21s %s\n", "JOB", "NEXT", "LAST",
	        "ENDED (UTC)", "RUNNING");
	/* entries are the enabled jobs, in the config's order */
	for (size_t i = 0; i < cfg->njobs; i++) {
		const struct config_job *job = &cfg->jobs[i];
		const struct metrics_job *m =
		    metrics_job_find(&s->metrics, job->name);
		size_t running = exec_job_active(s->ex, job->name);
		char next[64] = "disabled", ended[64] = "-", going[32] = "-";
		const char *last = "never";

		if (e < s->nentries && s->entries[e].job == job) {
			const struct entry *en = &s->entries[e++];

			if (en->due_ms == INT64_MAX)
				snprintf(next, sizeof(next), "never");
			else
				util_time_iso(next, sizeof(next), job->zone,
				              en->slot, -1);
		}
		if (m != NULL && m->last_outcome != KINSTA_RUNNING) {
			last = kinsta_outcome_name(m->last_outcome);
			iso_utc(m->last_end_ms / 1000, ended, sizeof(ended));
		}
		if (running > 0)
			snprintf(going, sizeof(going), "%zu run%s", running,
			         running == 1 ? "" : "s");
		fprintf(out, "%-32s %-26s %-10s %-21s %s\n", job->name, next,
		        last, ended, going);
	}
	return 0;
}

static bool
job_configured_in(const char *name, void *arg)
{
	return config_find_job(arg, name) != NULL;
}

/* The gauges of s->metrics, as of now; the counters are kept as runs
 * end.  0 or -ENOMEM. */
static int
refresh_gauges(struct scheduler *s)
{
	const struct config *cfg = s->cfg;
	struct metrics *m = &s->metrics;
	size_t e = 0;

	/* the gauges, as of now; the counters are kept as runs end */
	for (size_t i = 0; i < m->njobs; i++) {
		m->jobs[i].next_s = -1;
		m->jobs[i].running = exec_job_active(s->ex, m->jobs[i].name);
	}
	for (size_t i = 0; i < cfg->njobs; i++) {
		const struct config_job *job = &cfg->jobs[i];
		struct metrics_job *j;

		if (e >= s->nentries || s->entries[e].job != job)
			continue; /* disabled */
		if (s->entries[e].due_ms != INT64_MAX &&
		    (j = metrics_job_find(m, job->name)) != NULL)
			j->next_s = s->entries[e].slot;
		e++;
	}
	metrics_accounts_clear(m);
	for (size_t i = 0; i < cfg->naccounts; i++) {
		struct metrics_account *a =
		    metrics_account_add(m, cfg->accounts[i].name);
		struct calls_stats cs;

		if (a == NULL)
			return -ENOMEM;
		exec_calls_stats(s->ex, cfg->accounts[i].company, &cs);
		memcpy(a->requests, cs.answers, sizeof(a->requests));
		a->rate_limited = cs.rate_limited;
		a->budget_used = cs.budget_used;
		a->budget_limit = cs.budget_limit;
	}
	m->ops_in_flight = s->st->nops;
	m->runs_in_flight = exec_active(s->ex);
	return 0;
}

int
scheduler_metrics_copy(struct scheduler *s, struct metrics *copy)
{
	int rc = refresh_gauges(s);

	return rc < 0 ? rc : metrics_copy(&s->metrics, copy);
}

int
scheduler_metrics(struct scheduler *s, char **out, size_t *len)
{
	int rc = refresh_gauges(s);

	return rc < 0 ? rc : metrics_render(&s->metrics, out, len);
}

void
scheduler_count_notification(struct scheduler *s, bool ok)
{
	metrics_count_notification(&s->metrics, ok);
	metrics_soon(s);
}

void
scheduler_set_watch(struct scheduler *s, const struct scheduler_watch *w)
{
	s->watch = *w;
}
