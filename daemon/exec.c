/*
 * exec: the runs in flight, from a fired job to each run's end.
 *
 * The rooms it uses: call (a request through the budgets, with its
 * retries), listing (the company's site list, shared by the jobs that need
 * it), envlock (one run at a time per environment), keys (each account's
 * key, read once per configuration).  What is left here is the run's life:
 * targets, then steps (kinsta), then operations followed (ops), then the
 * finished hook.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "envlock.h"
#include "json.h"
#include "keys.h"
#include "exec.h"
#include "listing.h"
#include "log.h"
#include "ops.h"
#include "state.h"
#include "tmpl.h"
#include "rollout.h"
#include "util.h"

#define container_of(p, type, member)                                          \
	((type *)(void *)((char *)(p)-offsetof(type, member)))

#define KEY_MAX 512

enum run_state { RUN_WAIT_ENV, RUN_ACTIVE, RUN_CLOSING };

/* A fire and its place in exec's list, oldest first. */
struct fire {
	struct exec_fire f;
	bool listed; /* its targets are known: it ends with the last */
	/* a job with a rollout group or an environment list: its targets
	 * start as the rollout allows (rollout.c), each end releasing the
	 * next; NULL for the others, which all start at once */
	struct rollout *ro;
	size_t ro_first; /* the rollout's target i is f.targets[ro_first + i] */
	size_t unstarted; /* the rollout's targets neither started nor ended */
	bool pumping;     /* inside roll_pump: an end only records */
	struct fire *prev, *next;
};

struct run {
	struct exec *ex;
	const struct config *cfg;
	const struct config_job *job;
	struct kinsta_run k;
	struct fire *fire;
	size_t slot; /* the run's target in fire->f.targets */
	uint64_t run_id;
	int64_t started_ms;
	int account; /* the company's rate-limit account */
	char key[KEY_MAX];
	struct call call;
	struct ops_op op; /* the operation being followed, if any */
	bool op_resumed;  /* followed again after a restart: its start is
	                   * not known, so its length teaches nothing */
	uv_timer_t timer; /* poll and backoff waits */
	enum run_state state;
	struct envlock_node lock;
	bool locking;            /* lock is in the envlock */
	bool dry_faked;          /* dry run: a change was shown, not sent */
	struct http_xfer *probe; /* a probe of the site's page in flight */
	struct run *prev, *next;
};

struct exec {
	uv_loop_t *loop;
	struct http *http; /* for probes, which are not API calls */
	const struct config *cfg;
	struct exec_options opt;
	struct exec_hooks hooks;
	struct calls *calls;
	struct listings *listings;
	struct envlock envs;
	struct ops_book own_durations; /* when the options give none */
	struct ops_book *durations;
	struct run *runs;
	struct fire *fires, *fires_last;
	size_t pending_closes;
	struct keys keys; /* of cfg's accounts, read once */
	bool closing;
};

static void run_step(struct run *r);
static void run_begin(struct run *r);
static void roll_ended(struct exec *ex, struct fire *fi, size_t slot,
                       enum kinsta_outcome outcome, const char *message);

static int64_t
now_ms(const struct exec *ex)
{
	return (int64_t)uv_now(ex->loop);
}

/* ---- keys --------------------------------------------------------------- */

/* The job's account key into key: from the cache for the current config
 * (a run must not cost a file read), from its source for a run of an older
 * config; 0 or -errno. */
static int
load_key(struct exec *ex, const struct config *cfg,
         const struct config_job *job, char *key)
{
	const struct config_account *a = &cfg->accounts[job->account];
	char err[256];
	int rc;

	if (cfg == ex->cfg)
		return keys_get(&ex->keys, job->account, a->key_source,
		                a->key_path, a->name, key, KEY_MAX, err,
		                sizeof(err));
	rc = keys_read(a->key_source, a->key_path, a->name, key, KEY_MAX, err,
	               sizeof(err));
	return rc < 0 ? rc : log_secret_add(key);
}

/* ---- fires -------------------------------------------------------------- */

/* Until a target ends, its message and note point here, not to the heap. */
static char no_text[] = "";

static struct fire *
fire_new(struct exec *ex, const struct config *cfg,
         const struct config_job *job, uint64_t run_id)
{
	struct fire *fi = calloc(1, sizeof(*fi));

	if (fi == NULL)
		return NULL;
	fi->f.cfg = cfg;
	fi->f.job = job;
	fi->f.run_id = run_id;
	fi->f.started_ms = util_wall_ms();
	fi->prev = ex->fires_last;
	if (ex->fires_last != NULL)
		ex->fires_last->next = fi;
	else
		ex->fires = fi;
	ex->fires_last = fi;
	return fi;
}

static struct fire *
fire_find(const struct exec *ex, uint64_t run_id)
{
	for (struct fire *fi = ex->fires; fi != NULL; fi = fi->next)
		if (fi->f.run_id == run_id)
			return fi;
	return NULL;
}

static void
fire_free(struct exec *ex, struct fire *fi)
{
	if (fi->prev != NULL)
		fi->prev->next = fi->next;
	else
		ex->fires = fi->next;
	if (fi->next != NULL)
		fi->next->prev = fi->prev;
	else
		ex->fires_last = fi->prev;
	for (size_t i = 0; i < fi->f.ntargets; i++) {
		if (fi->f.targets[i].message != no_text)
			free(fi->f.targets[i].message);
		if (fi->f.targets[i].note != no_text)
			free(fi->f.targets[i].note);
	}
	free(fi->f.targets);
	if (fi->ro != NULL)
		rollout_free(fi->ro);
	free(fi->ro);
	free(fi);
}

/* Room for n more targets, running; the index of the first, or -ENOMEM. */
static ssize_t
fire_add(struct fire *fi, const struct target *t, size_t n)
{
	struct exec_fire_target *grown;
	size_t first = fi->f.ntargets;

	grown = realloc(fi->f.targets,
	                (first + n ? first + n : 1) * sizeof(*grown));
	if (grown == NULL)
		return -ENOMEM;
	fi->f.targets = grown;
	for (size_t i = 0; i < n; i++) {
		struct exec_fire_target *ft = &grown[first + i];

		memset(ft, 0, sizeof(*ft));
		ft->target = t[i];
		ft->outcome = KINSTA_RUNNING;
		ft->message = ft->note = no_text;
		ft->started_ms = util_wall_ms();
	}
	fi->f.ntargets += n;
	return (ssize_t)first;
}

/* A target of the fire has ended as res says. */
static void
fire_record(struct fire *fi, size_t slot, const struct exec_result *res)
{
	struct exec_fire_target *ft = &fi->f.targets[slot];
	char *m = strdup(res->message), *n = strdup(res->note);

	ft->outcome = res->outcome;
	snprintf(ft->op_id, sizeof(ft->op_id), "%s", res->op_id);
	ft->message = m != NULL ? m : no_text;
	ft->note = n != NULL ? n : no_text;
	ft->started_ms = res->started_ms;
	ft->ended_ms = res->ended_ms;
	fi->f.count[res->outcome]++;
	fi->f.nended++;
}

/* Tell the fire's end, once every target it has has ended (and not
 * from inside its rollout's loop, which looks again when it is done). */
static void
fire_check_end(struct exec *ex, struct fire *fi)
{
	if (!fi->listed || fi->pumping || fi->f.nended < fi->f.ntargets)
		return;
	fi->f.ended_ms = util_wall_ms();
	if (ex->hooks.fire_ended != NULL)
		ex->hooks.fire_ended(&fi->f, ex->hooks.arg);
	fire_free(ex, fi);
}

/* ---- the end of a run --------------------------------------------------- */

static void
progress(struct run *r)
{
	struct exec_progress p = {
	    .job = r->job,
	    .target = &r->k.target,
	    .run_id = r->run_id,
	    .step = r->k.step,
	    .step_name = action_step_name(kinsta_step(&r->k)),
	    .op_id = r->k.op_id,
	    .deployment = r->k.deployment,
	    .started_ms = r->started_ms,
	};

	if (r->ex->hooks.progress != NULL)
		r->ex->hooks.progress(&p, r->ex->hooks.arg);
}

/* One handle closed; the last one after exec_close takes the exec. */
static void
close_done(void *arg)
{
	struct exec *ex = arg;

	if (--ex->pending_closes == 0 && ex->closing) {
		keys_free(&ex->keys);
		ops_book_free(&ex->own_durations);
		free(ex);
	}
}

static void
on_run_closed(uv_handle_t *h)
{
	struct run *r = h->data;
	struct exec *ex = r->ex;

	explicit_bzero(r->key, sizeof(r->key));
	free(r);
	close_done(ex);
}

static void
run_unlink(struct run *r)
{
	struct exec *ex = r->ex;

	if (r->prev)
		r->prev->next = r->next;
	else
		ex->runs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

/* Let go of the environment: the run waiting longest for it starts. */
static void
run_unlock(struct run *r)
{
	struct envlock_node *next;

	if (!r->locking)
		return;
	r->locking = false;
	next = envlock_release(&r->ex->envs, &r->lock);
	if (next != NULL) {
		struct run *w = container_of(next, struct run, lock);

		if (w->state == RUN_WAIT_ENV) {
			w->state = RUN_ACTIVE;
			run_begin(w);
		}
	}
}

static void
run_free(struct run *r)
{
	r->state = RUN_CLOSING; /* a probe cancelled now is not fed */
	if (r->probe != NULL)
		http_cancel(r->probe);
	call_cancel(&r->call);
	kinsta_run_free(&r->k);
	uv_timer_stop(&r->timer);
	r->state = RUN_CLOSING;
	r->ex->pending_closes++;
	uv_close((uv_handle_t *)&r->timer, on_run_closed);
}

static void
run_finish(struct run *r)
{
	char answer_short[300];
	struct exec *ex = r->ex;
	struct fire *fi = r->fire;
	struct exec_result res = {
	    .cfg = r->cfg,
	    .job = r->job,
	    .target = &r->k.target,
	    .run_id = r->run_id,
	    .op_id = r->op.id,
	    .message = r->k.message,
	    .note = r->k.note,
	    .started_ms = r->started_ms,
	    .ended_ms = util_wall_ms(),
	};
	struct json_writer details;
	size_t dlen;

	if (r->dry_faked && r->k.outcome == KINSTA_SUCCEEDED) {
		r->k.outcome = KINSTA_SKIPPED;
		snprintf(r->k.message, sizeof(r->k.message),
		         "dry run: nothing that changes anything was sent");
	}
	res.outcome = r->k.outcome;
	if (r->k.outcome == KINSTA_SUCCEEDED &&
	    kinsta_report(&r->k, &res.report, &res.report_len) < 0)
		res.report = NULL;
	if (kinsta_answer_finish(&r->k, res.ended_ms) == 0) {
		res.answer_line = r->k.answer_line;
		res.answer_line_len = r->k.answer_line_len;
		kinsta_answer_short(&r->k, answer_short, sizeof(answer_short));
		res.answer_short = answer_short;
	}
	json_w_init(&details);
	if (kinsta_details(&r->k, &details) == 0 &&
	    json_w_finish(&details, &res.details, &dlen) < 0)
		res.details = NULL;
	run_unlink(r);
	fire_record(fi, r->slot, &res);
	if (ex->hooks.finished != NULL)
		ex->hooks.finished(&res, ex->hooks.arg);
	json_w_free(&details);
	/* after the hook, which reads the target, and before the next run
	 * on the environment starts from inside run_unlock */
	run_unlock(r);
	/* the rollout's next wave, or the rest skipped */
	if (fi->ro != NULL)
		roll_ended(ex, fi, r->slot, r->k.outcome, r->k.message);
	run_free(r);
	fire_check_end(ex, fi);
}

int
exec_save_answer(const struct exec_result *r, char *err, size_t errlen)
{
	const char *out = config_param_str(r->job, "output");
	struct tmpl_vars v = {{NULL}};
	char path[4096], date[64];
	int n;

	if (r->answer_line == NULL || out == NULL)
		return 0;
	util_time_iso(date, sizeof(date), r->job->zone, r->ended_ms / 1000, -1);
	date[10] = '\0'; /* YYYY-MM-DD */
	v.v[TMPL_DATE] = date;
	n = tmpl_expand(out, &v, TMPL_RAW, path, sizeof(path));
	if (n < 0 || (size_t)n >= sizeof(path)) {
		util_seterr(err, errlen, "output \"%.200s\": cannot expand",
		            out);
		return -EINVAL;
	}
	return state_append_line(path, r->answer_line, r->answer_line_len, err,
	                         errlen);
}

/* ---- operations --------------------------------------------------------- */

/* One line per operation that ended, so that a multi-step run shows each
 * (the backup, each backup dropped, the pre-update backup, the update). */
static void
log_op_end(const struct run *r)
{
	const char *item = kinsta_step_item(&r->k);
	char msg[600];

	log_msg(r->op.state == OPS_SUCCEEDED ? LOG_INFO : LOG_NOTICE,
	        "job=%s env=%s event=step step=%s%s%s op=%s state=%s "
	        "duration_ms=%lld%s%s",
	        r->job->name, r->k.target.env_id[0] ? r->k.target.env_id : "-",
	        action_step_name(kinsta_step(&r->k)), item ? " backup=" : "",
	        item ? item : "", r->op.id, ops_state_name(r->op.state),
	        (long long)(now_ms(r->ex) - r->op.started_ms),
	        r->op.message[0] ? " message=" : "",
	        r->op.message[0] ? log_value(msg, sizeof(msg), r->op.message)
	                         : "");
}

/* The learned durations of the run's kind of operation ("action@company"),
 * created when create. */
static struct ops_history *
durations_of(struct run *r, bool create)
{
	char key[OPS_KEY_MAX];

	snprintf(key, sizeof(key), "%s@%s", action_name(r->job->action),
	         r->cfg->accounts[r->job->account].company);
	return ops_book_get(r->ex->durations, key, create);
}

/* The operation ended (or ran out of time): on to the next step. */
static void
op_ended(struct run *r)
{
	struct ops_history *h;
	int64_t ms;

	log_op_end(r);
	if (!r->op_resumed && ops_sample(&r->op, now_ms(r->ex), &ms) &&
	    (h = durations_of(r, true)) != NULL)
		ops_history_add(h, ms);
	r->op_resumed = false;
	kinsta_op_done(&r->k, r->op.state, r->op.message);
	progress(r);
	run_step(r);
}

static void
on_poll_due(uv_timer_t *t)
{
	struct run *r = t->data;

	if (ops_check(&r->op, now_ms(r->ex)) != OPS_RUNNING) {
		op_ended(r); /* past its time limit before the poll could go */
		return;
	}
	kinsta_poll_request(&r->k, &r->call.req);
	r->call.poll = true;
	/* Polls go ahead of new work, so that an operation's end is seen in
	 * time, unless this kind has never ended this soon: then, on a
	 * contended budget, the poll takes its turn among new work (in its
	 * own flow, so it never starves) instead of delaying it. */
	call_start(&r->call, r->account,
	           ops_surely_running(durations_of(r, false),
	                              now_ms(r->ex) - r->op.started_ms)
	               ? RATELIMIT_WORK
	               : RATELIMIT_POLL,
	           r->run_id);
}

static void
poll_at(struct run *r)
{
	int64_t ms = r->op.next_ms - now_ms(r->ex);

	uv_timer_start(&r->timer, on_poll_due, (uint64_t)(ms > 0 ? ms : 1), 0);
}

/* Follow the operation the current step started (kinsta's op_id). */
static void
run_follow(struct run *r)
{
	int64_t limit = r->job->timeout > 0
	                    ? r->job->timeout * 1000
	                    : action_get(r->job->action)->limit_s * 1000;

	ops_start(&r->op, r->k.op_id, now_ms(r->ex), limit);
	if (!r->op_resumed)
		ops_expect(&r->op, durations_of(r, false));
	log_msg(LOG_DEBUG, "job=%s env=%s op=%s following", r->job->name,
	        r->k.target.env_id[0] ? r->k.target.env_id : "-", r->op.id);
	poll_at(r);
}

static void
on_poll_answer(struct run *r, const struct http_response *res)
{
	char msg[KINSTA_MSG_MAX];
	enum ops_poll verdict;
	int64_t hint = -1;

	verdict =
	    kinsta_classify_poll(r->k.deployment, res->error ? 0 : res->status,
	                         res->body, res->len, msg);
	if (verdict == OPS_POLL_RETRY && res->status == 429)
		hint = ratelimit_retry_after_ms(
		    (const char *const *)res->header_names,
		    (const char *const *)res->header_values, res->nheaders,
		    util_wall_ms());
	log_msg(LOG_DEBUG, "job=%s op=%s poll status=%ld", r->job->name,
	        r->op.id, res->status);
	if (ops_feed(&r->op, verdict, msg, now_ms(r->ex), hint) ==
	    OPS_RUNNING) {
		poll_at(r);
		return;
	}
	if (r->op.state == OPS_SUCCEEDED)
		kinsta_op_result(&r->k, res->body, res->len);
	op_ended(r);
}

/* ---- steps -------------------------------------------------------------- */

/* "site/env", or the environment id of a target not resolved. */
static const char *
target_label(const struct target *t, char *buf, size_t len)
{
	if (t->site_name[0] != '\0')
		snprintf(buf, len, "%s/%s", t->site_name, t->env_name);
	else
		snprintf(buf, len, "%s", t->env_id[0] ? t->env_id : "-");
	return buf;
}

/* Dry run: one line of the plan per plugin or theme the update would
 * change, or that its policy holds. */
static void
dry_plan_item(const struct kinsta_plan_item *it, void *arg)
{
	struct run *r = arg;
	char label[300], v[4][320];

	fprintf(r->ex->opt.dry_out ? r->ex->opt.dry_out : stdout,
	        "plan job=%s target=%s env=%s item=%s from=%s to=%s "
	        "verdict=%s%s%s\n",
	        r->job->name,
	        log_value(v[0], sizeof(v[0]),
	                  target_label(&r->k.target, label, sizeof(label))),
	        r->k.target.env_id[0] ? r->k.target.env_id : "-",
	        log_value(v[1], sizeof(v[1]), it->name),
	        log_value(v[2], sizeof(v[2]), it->from ? it->from : "?"),
	        log_value(v[3], sizeof(v[3]), it->to ? it->to : "?"),
	        it->held ? "held" : "update", it->held ? " policy=" : "",
	        it->held ? config_param_str(r->job, "policy") : "");
}

static void
on_step_answer(struct run *r, const struct http_response *res)
{
	const struct kinsta_request *req = &r->call.req;
	char why[KINSTA_MSG_MAX + 64];
	enum kinsta_next next;

	if (r->ex->opt.dry_run && !res->error && res->status == 200 &&
	    kinsta_step(&r->k) == STEP_LIST_EXT)
		kinsta_update_plan(r->job, res->body, res->len, dry_plan_item,
		                   r);
	/* say why an ambiguous write was not sent again */
	snprintf(why, sizeof(why), "%s%s", res->message,
	         res->error && req->mutating && res->sent
	             ? " (not retried: the request may have reached Kinsta)"
	             : "");
	next = kinsta_feed(&r->k, res->error ? 0 : res->status, res->body,
	                   res->len, why);
	if (!res->error && res->status >= 500 && req->mutating &&
	    r->k.outcome == KINSTA_FAILED) {
		/* a 5xx write is as ambiguous as a lost answer */
		size_t n = strlen(r->k.message);

		snprintf(r->k.message + n, sizeof(r->k.message) - n,
		         " (not retried: the request may have reached Kinsta)");
	}
	kinsta_request_clear(&r->call.req);
	if (next == KINSTA_FOLLOW) {
		run_follow(r);
		progress(r);
		return;
	}
	run_step(r);
}

static void
on_run_answer(struct call *c, const struct http_response *res)
{
	struct run *r = container_of(c, struct run, call);

	if (c->poll) {
		c->poll = false;
		kinsta_request_clear(&c->req);
		on_poll_answer(r, res);
	} else {
		on_step_answer(r, res);
	}
}

static void
on_backoff_done(uv_timer_t *t)
{
	struct run *r = t->data;

	call_resend(&r->call);
}

static void
on_run_retry(struct call *c, int64_t wait_ms)
{
	struct run *r = container_of(c, struct run, call);

	uv_timer_start(&r->timer, on_backoff_done,
	               (uint64_t)(wait_ms > 0 ? wait_ms : 1), 0);
}

static const struct call_ops run_call = {on_run_answer, on_run_retry};

/* Dry run: show a change, then go on as if it had been done at once, so
 * that the whole sequence is shown; reads are sent for real (what to
 * update, which backups to drop). */
static void
dry_step(struct run *r)
{
	struct exec *ex = r->ex;
	const struct kinsta_request *req = &r->call.req;

	fprintf(ex->opt.dry_out ? ex->opt.dry_out : stdout, "%s %s%s%s%s\n",
	        method_name(req->method), r->cfg->api_url, req->path,
	        req->body ? " " : "", req->body ? req->body : "");
	kinsta_request_clear(&r->call.req);
	r->dry_faked = true;
	if (kinsta_feed(&r->k, 202, "{}", 2, NULL) == KINSTA_SEND)
		run_step(r);
	else
		run_finish(r);
}

/* The run holds its environment: it starts, unless the job's window has
 * closed meanwhile (a run never starts outside it, however long it
 * waited for the environment or for its company's site list). */
static void
run_begin(struct run *r)
{
	if (!config_window_open(r->job, util_wall_ms() / 1000)) {
		r->k.outcome = KINSTA_SKIPPED;
		snprintf(r->k.message, sizeof(r->k.message), "window closed");
		run_finish(r);
		return;
	}
	run_step(r);
}

/* ---- probes --------------------------------------------------------------
 *
 * A probe is a GET of the customer's own page, not a Kinsta API request:
 * it goes straight to http (TLS verified, plain http only to loopback,
 * the body capped by the client), outside the API's budgets and with no
 * key, and is never retried: a page that does not answer is unhealthy.
 */

static void
on_probe_done(const struct http_response *res, void *arg)
{
	struct run *r = arg;
	char msg[600];

	r->probe = NULL;
	if (r->state == RUN_CLOSING)
		return;
	log_msg(LOG_INFO,
	        "job=%s env=%s event=probe step=%s status=%ld ms=%lld%s%s",
	        r->job->name, r->k.target.env_id,
	        action_step_name(kinsta_step(&r->k)),
	        res->error ? 0 : res->status, (long long)res->elapsed_ms,
	        res->error ? " error=" : "",
	        res->error ? log_value(msg, sizeof(msg), res->message) : "");
	if (kinsta_probe_done(&r->k, res->error ? 0 : res->status, res->body,
	                      res->len, res->message,
	                      res->elapsed_ms) == KINSTA_DONE)
		run_finish(r);
	else
		run_step(r);
}

static void
probe_send(struct run *r)
{
	char url[sizeof(r->call.req.path)];
	struct http_request hr = {
	    .method = METHOD_GET,
	    .url = url,
	    .timeout_ms = r->call.req.timeout_ms,
	};
	int rc;

	memcpy(url, r->call.req.path, sizeof(url));
	kinsta_request_clear(&r->call.req);
	rc = http_submit(r->ex->http, &hr, on_probe_done, r, &r->probe);
	if (rc < 0) {
		r->probe = NULL;
		if (kinsta_probe_done(&r->k, 0, NULL, 0,
		                      rc == -EPERM
		                          ? "not an https URL (plain http only "
		                            "to loopback)"
		                          : "cannot send the probe",
		                      0) == KINSTA_DONE)
			run_finish(r);
		else
			run_step(r);
	}
}

/* Send the run's next request, follow its operation, or end it. */
static void
run_step(struct run *r)
{
	switch (kinsta_run_next(&r->k, &r->call.req)) {
	case KINSTA_FOLLOW:
		run_follow(r);
		return;
	case KINSTA_DONE:
		run_finish(r);
		return;
	case KINSTA_SEND:
		break;
	}
	if (r->call.req.probe) {
		probe_send(r);
		return;
	}
	if (r->ex->opt.dry_run && r->call.req.mutating) {
		dry_step(r);
		return;
	}
	r->call.max_retries = (int)r->job->retries;
	call_start(&r->call, r->account, RATELIMIT_WORK, r->run_id);
}

/* ---- starting runs ------------------------------------------------------ */

/* What the run's probes need of exec: a cache-buster of its own, and
 * whether its changes are only shown. */
static void
run_probes(struct run *r)
{
	r->k.buster = (r->run_id << 20) ^ (uint64_t)util_wall_ms();
	r->k.dry = r->ex->opt.dry_run;
}

static struct run *
run_new(struct exec *ex, struct fire *fi, size_t slot, const char *key)
{
	const struct config *cfg = fi->f.cfg;
	const struct config_job *job = fi->f.job;
	const struct target *t = &fi->f.targets[slot].target;
	struct run *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->account =
	    calls_account(ex->calls, cfg->accounts[job->account].company);
	if (r->account < 0) {
		free(r);
		return NULL;
	}
	r->ex = ex;
	r->cfg = cfg;
	r->job = job;
	r->fire = fi;
	r->slot = slot;
	r->run_id = fi->f.run_id;
	r->started_ms = util_wall_ms();
	snprintf(r->key, sizeof(r->key), "%s", key);
	call_init(&r->call, ex->calls, &run_call, r->key);
	kinsta_run_init(&r->k, cfg, job, t);
	r->k.now = r->started_ms / 1000;
	run_probes(r);
	uv_timer_init(ex->loop, &r->timer);
	r->timer.data = r;
	r->next = ex->runs;
	if (ex->runs)
		ex->runs->prev = r;
	ex->runs = r;
	return r;
}

/* Take the run's environment, or wait for it. */
static bool
run_lock(struct run *r)
{
	const char *env = r->k.target.env_id;

	r->state = RUN_ACTIVE;
	if (env[0] == '\0')
		return true;
	r->locking = true;
	if (envlock_acquire(&r->ex->envs, &r->lock, env, r->job->name))
		return true;
	r->state = RUN_WAIT_ENV;
	log_msg(LOG_NOTICE,
	        "job=%s env=%s event=waiting holder=%s reason=\"job %s is "
	        "acting on this environment; Kinsta runs one operation at a "
	        "time per environment\"",
	        r->job->name, env, envlock_holder(&r->ex->envs, env)->holder,
	        envlock_holder(&r->ex->envs, env)->holder);
	return false;
}

/* A target of the fire (slot), or the whole fire before it had targets
 * (slot < 0), ends before it starts: no key, no site list, no memory. */
static void
report_failure(struct exec *ex, struct fire *fi, ssize_t slot, const char *why)
{
	struct target none = {0};
	struct exec_result res = {
	    .cfg = fi->f.cfg,
	    .job = fi->f.job,
	    .target = slot >= 0 ? &fi->f.targets[slot].target : &none,
	    .run_id = fi->f.run_id,
	    .outcome = KINSTA_FAILED,
	    .op_id = "",
	    .message = why,
	    .note = "",
	    .started_ms = util_wall_ms(),
	    .ended_ms = util_wall_ms(),
	};

	if (slot >= 0) {
		fire_record(fi, (size_t)slot, &res);
	} else {
		snprintf(fi->f.why, sizeof(fi->f.why), "%s", why);
		fi->f.count[KINSTA_FAILED]++;
		fi->listed = true;
	}
	if (ex->hooks.finished != NULL)
		ex->hooks.finished(&res, ex->hooks.arg);
}

/* A target of the fire (slot) ends without a run of its own: the
 * rollout skipped it, or it could not start. */
static void
report_end(struct exec *ex, struct fire *fi, size_t slot,
           enum kinsta_outcome outcome, const char *message)
{
	struct exec_result res = {
	    .cfg = fi->f.cfg,
	    .job = fi->f.job,
	    .target = &fi->f.targets[slot].target,
	    .run_id = fi->f.run_id,
	    .outcome = outcome,
	    .op_id = "",
	    .message = message,
	    .note = "",
	    .started_ms = util_wall_ms(),
	    .ended_ms = util_wall_ms(),
	};

	fire_record(fi, slot, &res);
	if (ex->hooks.finished != NULL)
		ex->hooks.finished(&res, ex->hooks.arg);
}

/* ---- rollouts ----------------------------------------------------------- */

/* Start the rollout's target i (its end may come at once). */
static void
roll_start(struct exec *ex, struct fire *fi, size_t i)
{
	size_t slot = fi->ro_first + i;
	char key[KEY_MAX];
	struct run *r = NULL;

	if (load_key(ex, fi->f.cfg, fi->f.job, key) == 0)
		r = run_new(ex, fi, slot, key);
	explicit_bzero(key, sizeof(key));
	if (r == NULL) {
		const char *why = "cannot read the API key or out of memory";

		report_end(ex, fi, slot, KINSTA_FAILED, why);
		rollout_ended(fi->ro, i, KINSTA_FAILED, why);
		return;
	}
	if (run_lock(r))
		run_begin(r); /* may end it at once (window closed) */
}

/* Take every move the rollout allows now: start the targets released,
 * end the ones it skips.  An end reported from inside (a run that ends
 * at once) only records: this loop takes its consequences, and the
 * caller ends the fire (fire_check_end) once it is back. */
static void
roll_pump(struct exec *ex, struct fire *fi)
{
	struct rollout_move mv;

	if (fi->pumping)
		return;
	fi->pumping = true;
	while (!ex->closing &&
	       rollout_next(
	           fi->ro, config_window_open(fi->f.job, util_wall_ms() / 1000),
	           &mv)) {
		size_t slot = fi->ro_first + mv.target;

		fi->unstarted--;
		if (mv.start) {
			roll_start(ex, fi, mv.target);
			continue;
		}
		log_msg(LOG_INFO, "job=%s env=%s event=rollout-skip reason=%s",
		        fi->f.job->name, fi->f.targets[slot].target.env_id,
		        mv.message);
		report_end(ex, fi, slot, KINSTA_SKIPPED, mv.message);
	}
	fi->pumping = false;
}

/* A run of the rollout ended: its next wave, or the rest skipped. */
static void
roll_ended(struct exec *ex, struct fire *fi, size_t slot,
           enum kinsta_outcome outcome, const char *message)
{
	if (slot < fi->ro_first)
		return;
	rollout_ended(fi->ro, slot - fi->ro_first, outcome, message);
	roll_pump(ex, fi);
}

/* Dry run: the order the rollout would start the targets in, by wave. */
static void
roll_plan(const struct exec *ex, const struct fire *fi)
{
	FILE *out = ex->opt.dry_out ? ex->opt.dry_out : stdout;
	char label[300], v[320];

	for (size_t k = 0; k < fi->ro->n; k++) {
		const struct rollout_item *it = rollout_at(fi->ro, k);

		fprintf(out, "plan job=%s wave=%zu%s target=%s env=%s\n",
		        fi->f.job->name, it->wave + 1,
		        it->canary ? " canary=yes" : "",
		        log_value(v, sizeof(v),
		                  target_label(it->t, label, sizeof(label))),
		        it->t->env_id[0] ? it->t->env_id : "-");
	}
}

/* The fire's targets of a job with a rollout group or an environment
 * list: they start as the rollout allows. */
static void
roll_new(struct exec *ex, struct fire *fi, const struct target *t, size_t n)
{
	ssize_t first = fire_add(fi, t, n);
	const struct target **tp = NULL;

	fi->listed = true;
	if (first < 0) {
		report_failure(ex, fi, -1, "out of memory");
		return;
	}
	/* the fire's targets array does not grow again (only a resumed
	 * fire's does): the rollout points into it */
	if ((tp = calloc(n, sizeof(*tp))) == NULL ||
	    (fi->ro = calloc(1, sizeof(*fi->ro))) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++)
		tp[i] = &fi->f.targets[(size_t)first + i].target;
	if (rollout_init(fi->ro, fi->f.job, tp, n) < 0)
		goto fail;
	free(tp);
	fi->ro_first = (size_t)first;
	fi->unstarted = n;
	if (ex->opt.dry_run)
		roll_plan(ex, fi);
	roll_pump(ex, fi);
	return;
fail:
	free(tp);
	free(fi->ro);
	fi->ro = NULL;
	for (size_t i = 0; i < n; i++)
		report_end(ex, fi, (size_t)first + i, KINSTA_FAILED,
		           "out of memory");
}

static bool
rolls_out(const struct config_job *job)
{
	return job->rollout.set || job->target.nenvironments > 1;
}

/* The fire's targets are known: a run on each, or as its rollout allows.
 * The caller ends the fire if they all ended at once (fire_check_end). */
static void
start_runs(struct exec *ex, struct fire *fi, const struct target *t, size_t n,
           const char *key)
{
	struct run **made;
	ssize_t first;

	if (rolls_out(fi->f.job) && n > 0) {
		roll_new(ex, fi, t, n);
		return;
	}
	made = calloc(n ? n : 1, sizeof(*made));
	first = made != NULL ? fire_add(fi, t, n) : -ENOMEM;
	if (first < 0) {
		report_failure(ex, fi, -1, "out of memory");
		goto out;
	}
	/* make them all first: every run of the fire exists before any
	 * can end */
	for (size_t i = 0; i < n; i++)
		if ((made[i] = run_new(ex, fi, (size_t)first + i, key)) == NULL)
			report_failure(ex, fi, first + (ssize_t)i,
			               "out of memory");
	for (size_t i = 0; i < n; i++)
		if (made[i] != NULL && run_lock(made[i]))
			run_begin(made[i]);
	/* only now: the runs that ended at once must not end the fire */
	fi->listed = true;
out:
	free(made);
}

/* The company's site list is in (or why not): pick the targets. */
static void
on_listing(const struct config *cfg, const struct config_job *job,
           uint64_t run_id, const char *body, size_t len, const char *why,
           void *arg)
{
	struct exec *ex = arg;
	struct fire *fi = fire_find(ex, run_id);
	struct target *t = NULL;
	size_t n = 0;
	char err[256], key[KEY_MAX];

	if (fi == NULL) /* cannot be: a fire waits for its listing */
		return;
	if (why != NULL)
		report_failure(ex, fi, -1, why);
	else if (kinsta_select(job, body, len, &t, &n, err, sizeof(err)) < 0)
		report_failure(ex, fi, -1, err);
	else if (load_key(ex, cfg, job, key) < 0)
		report_failure(ex, fi, -1, "cannot read the API key");
	else
		start_runs(ex, fi, t, n, key);
	explicit_bzero(key, sizeof(key));
	free(t);
	fire_check_end(ex, fi);
}

/* ---- public ------------------------------------------------------------- */

int
exec_result_line(const struct exec_result *r, char *buf, size_t len)
{
	const struct target *t = r->target;
	char target[300], target_v[320], msg[600], note[600];

	if (t->site_name[0] != '\0')
		snprintf(target, sizeof(target), "%s/%s", t->site_name,
		         t->env_name);
	else
		snprintf(target, sizeof(target), "%s",
		         t->env_id[0] ? t->env_id : "-");
	return snprintf(
	    buf, len,
	    "job=%s action=%s env=%s target=%s op=%s outcome=%s "
	    "duration_ms=%lld%s%s%s%s",
	    r->job->name, action_name(r->job->action),
	    t->env_id[0] ? t->env_id : "-",
	    log_value(target_v, sizeof(target_v), target),
	    r->op_id[0] ? r->op_id : "-", kinsta_outcome_name(r->outcome),
	    (long long)(r->ended_ms - r->started_ms),
	    r->message[0] ? " message=" : "",
	    r->message[0] ? log_value(msg, sizeof(msg), r->message) : "",
	    r->note[0] ? " note=" : "",
	    r->note[0] ? log_value(note, sizeof(note), r->note) : "");
}

int
exec_init(struct exec **out, uv_loop_t *loop, struct http *h,
          const struct config *cfg, const struct exec_options *opt,
          const struct exec_hooks *hooks)
{
	struct exec *ex = calloc(1, sizeof(*ex));
	struct ratelimit_limits lim = ratelimit_limits_default();
	struct listing_hooks lh = {on_listing, ex};
	int rc;

	if (ex == NULL)
		return -ENOMEM;
	ex->loop = loop;
	ex->http = h;
	ex->cfg = cfg;
	if (opt != NULL)
		ex->opt = *opt;
	if (ex->opt.listing_ttl_ms <= 0)
		ex->opt.listing_ttl_ms = 300000;
	ex->durations =
	    ex->opt.durations ? ex->opt.durations : &ex->own_durations;
	if (hooks != NULL)
		ex->hooks = *hooks;
	lim.per_account = (int)cfg->rate_limits.company;
	lim.per_ip = (int)cfg->rate_limits.ip;
	lim.create = (int)cfg->rate_limits.create;
	lim.logs = (int)cfg->rate_limits.logs;
	if ((rc = calls_init(&ex->calls, loop, h, cfg->api_url, &lim)) < 0) {
		free(ex);
		return rc;
	}
	calls_set_trace(ex->calls, ex->opt.trace);
	if ((rc = listings_init(&ex->listings, loop, ex->calls,
	                        ex->opt.listing_ttl_ms, &lh)) < 0) {
		calls_close(ex->calls, NULL, NULL);
		free(ex);
		return rc;
	}
	keys_init(&ex->keys, cfg->naccounts);
	*out = ex;
	return 0;
}

void
exec_set_config(struct exec *ex, const struct config *cfg)
{
	ex->cfg = cfg;
	calls_set_url(ex->calls, cfg->api_url);
	keys_init(&ex->keys,
	          cfg->naccounts); /* read again under a new config */
	/* the pointers a run holds into its config: its job, and the name
	 * its environment lock shows */
	for (struct run *r = ex->runs; r != NULL; r = r->next) {
		const struct config_job *j;

		if (r->cfg == cfg ||
		    (j = config_same_job(r->cfg, r->job, cfg)) == NULL)
			continue;
		r->cfg = r->k.cfg = cfg;
		r->job = r->k.job = j;
		if (r->locking)
			r->lock.holder = j->name;
	}
	for (struct fire *fi = ex->fires; fi != NULL; fi = fi->next) {
		const struct config_job *j;

		if (fi->f.cfg != cfg &&
		    (j = config_same_job(fi->f.cfg, fi->f.job, cfg)) != NULL) {
			fi->f.cfg = cfg;
			fi->f.job = j;
		}
	}
	listings_move(ex->listings, cfg);
}

bool
exec_config_in_use(const struct exec *ex, const struct config *cfg)
{
	for (const struct run *r = ex->runs; r != NULL; r = r->next)
		if (r->cfg == cfg)
			return true;
	for (const struct fire *fi = ex->fires; fi != NULL; fi = fi->next)
		if (fi->f.cfg == cfg)
			return true;
	return listings_config_in_use(ex->listings, cfg);
}

int
exec_start(struct exec *ex, const struct config_job *job, uint64_t run_id)
{
	struct fire *fi;
	struct target *t = NULL;
	size_t n = 0;
	char key[KEY_MAX];
	int rc;

	if (ex->closing)
		return -ECANCELED;
	if ((fi = fire_new(ex, ex->cfg, job, run_id)) == NULL)
		return -ENOMEM;
	if (load_key(ex, ex->cfg, job, key) < 0) {
		report_failure(ex, fi, -1, "cannot read the API key");
		fire_check_end(ex, fi);
		return 0;
	}
	/* the site list may be served at once, and the fire end inside */
	if (kinsta_needs_listing(job))
		rc = listings_want(ex->listings, ex->cfg, job, run_id, key);
	else if ((rc = kinsta_targets_from_ids(job, &t, &n)) == 0) {
		start_runs(ex, fi, t, n, key);
		fire_check_end(ex, fi);
	}
	if (rc < 0) /* nothing was started: the caller says why */
		fire_free(ex, fi);
	explicit_bzero(key, sizeof(key));
	free(t);
	return rc;
}

int
exec_resume(struct exec *ex, const struct config_job *job,
            const struct target *target, uint64_t run_id, int step,
            const char *step_name, const char *op_id, bool deployment,
            int64_t started_ms)
{
	char key[KEY_MAX];
	struct fire *fi = fire_find(ex, run_id);
	bool made = fi == NULL;
	ssize_t slot;
	struct run *r = NULL;

	if (load_key(ex, ex->cfg, job, key) < 0)
		return -ENOKEY;
	/* the runs of one fire resumed join one fire again */
	if (made && (fi = fire_new(ex, ex->cfg, job, run_id)) != NULL)
		fi->listed = true;
	if (fi != NULL && (slot = fire_add(fi, target, 1)) >= 0) {
		fi->f.targets[slot].started_ms = started_ms;
		if ((r = run_new(ex, fi, (size_t)slot, key)) == NULL)
			fi->f.ntargets--;
	}
	explicit_bzero(key, sizeof(key));
	if (r == NULL) {
		if (made && fi != NULL)
			fire_free(ex, fi);
		return -ENOMEM;
	}
	kinsta_run_resume(&r->k, ex->cfg, job, target, step, step_name, op_id,
	                  deployment);
	run_probes(r);
	r->op_resumed = true;
	if (started_ms > 0)
		r->started_ms = started_ms;
	r->k.now = r->started_ms / 1000;
	/* it held the environment when the daemon stopped: hold it again
	 * before any new run can take it, and go on following in any case
	 * (its operation runs at Kinsta whatever we hold) */
	run_lock(r);
	r->state = RUN_ACTIVE;
	run_follow(r);
	return 0;
}

const struct exec_fire *
exec_fire_find(const struct exec *ex, uint64_t run_id)
{
	const struct fire *fi = fire_find(ex, run_id);

	return fi != NULL ? &fi->f : NULL;
}

size_t
exec_fires(const struct exec *ex, const struct exec_fire **out, size_t max)
{
	size_t n = 0;

	for (const struct fire *fi = ex->fires; fi != NULL; fi = fi->next, n++)
		if (n < max)
			out[n] = &fi->f;
	return n;
}

size_t
exec_active(const struct exec *ex)
{
	size_t n = 0;

	for (const struct run *r = ex->runs; r != NULL; r = r->next)
		n++;
	for (const struct fire *fi = ex->fires; fi != NULL; fi = fi->next)
		n += fi->unstarted;
	return n + listings_waiting(ex->listings, NULL);
}

size_t
exec_job_active(const struct exec *ex, const char *job_name)
{
	size_t n = 0;

	for (const struct run *r = ex->runs; r != NULL; r = r->next)
		n += strcmp(r->job->name, job_name) == 0;
	for (const struct fire *fi = ex->fires; fi != NULL; fi = fi->next)
		if (strcmp(fi->f.job->name, job_name) == 0)
			n += fi->unstarted;
	return n + listings_waiting(ex->listings, job_name);
}

int
exec_budget(const struct exec *ex, const char *company,
            struct ratelimit_status *st)
{
	return calls_budget(ex->calls, company, st);
}

size_t
exec_queued(const struct exec *ex)
{
	return calls_queued(ex->calls);
}

int
exec_calls_stats(const struct exec *ex, const char *company,
                 struct calls_stats *st)
{
	return calls_stats(ex->calls, company, st);
}

size_t
exec_skip_unstarted(struct exec *ex, const char *message)
{
	size_t n = 0;

	for (struct fire *fi = ex->fires; fi != NULL; fi = fi->next)
		for (size_t k = 0; fi->ro != NULL && k < fi->ro->n; k++) {
			const struct rollout_item *it = rollout_at(fi->ro, k);
			size_t slot = fi->ro_first + it->target;

			if (it->state != ROLLOUT_WAITING)
				continue;
			log_msg(LOG_WARNING,
			        "job=%s env=%s event=rollout-cut reason=\"%s\"",
			        fi->f.job->name,
			        fi->f.targets[slot].target.env_id, message);
			/* ended as the rollout's own skips are, without
			 * telling the rollout: the daemon is stopping */
			report_end(ex, fi, slot, KINSTA_SKIPPED, message);
			fi->unstarted--;
			n++;
		}
	return n;
}

void
exec_close(struct exec *ex)
{
	ex->closing = true;
	while (ex->runs != NULL) {
		struct run *r = ex->runs;

		run_unlink(r);
		run_free(r);
	}
	while (ex->fires != NULL)
		fire_free(ex, ex->fires);
	/* the exec itself goes with the last close callback */
	ex->pending_closes += 2;
	listings_close(ex->listings, close_done, ex);
	calls_close(ex->calls, close_done, ex);
}
