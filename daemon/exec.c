/*
 * exec: the runs in flight, their requests and their timers.
 *
 * Every request, whether a step of a run, a poll or a site listing, is a
 * `struct call`: it waits in the rate-limit queue, goes out on http, and is
 * retried by one policy.  Runs and listings embed a call; timers are
 * embedded too and freed in their close callbacks.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec.h"
#include "log.h"
#include "util.h"
#include "ops.h"
#include "ratelimit.h"

#define container_of(p, type, member)                                          \
	((type *)(void *)((char *)(p)-offsetof(type, member)))

#define KEY_MAX          512
#define MAX_ATTEMPTS_429 8
/* requests on the wire at once, as many as http's connections to a host */
#define MAX_IN_FLIGHT HTTP_HOST_CONNECTIONS
/* an environment busy with another operation: about 5 minutes of tries */
#define MAX_ATTEMPTS_BLOCKED 8

struct exec;

/* One request and its retries. */
struct call {
	struct exec *ex;
	struct ratelimit_req rl;
	struct kinsta_request req;
	const char *key;  /* the account's API key (owned by the owner) */
	int attempts;     /* sends so far */
	int max_retries;  /* for transport errors and 5xx */
	int64_t retry_ms; /* with done(c, NULL): resend after this long */
	bool poll; /* an operation poll: its 500 is the verdict, not a fault */
	bool queued; /* in the rate-limit queue */
	struct http_xfer *xfer;
	void (*done)(struct call *c, const struct http_response *res);
};

enum run_state { RUN_WAIT_LIST, RUN_WAIT_ENV, RUN_ACTIVE, RUN_CLOSING };

struct run {
	struct exec *ex;
	const struct config *cfg;
	const struct config_job *job;
	struct kinsta_run k;
	uint64_t run_id;
	int64_t started_ms;
	char key[KEY_MAX];
	struct call call;
	struct ops_op op;
	uv_timer_t timer; /* backoff and poll waits */
	enum run_state state;
	bool holds_env;
	bool dry_faked; /* dry run: a change was shown, not sent */
	struct run *prev, *next;
};

/* A pending GET /sites for one account, and the jobs waiting for it. */
struct waiter {
	const struct config *cfg;
	const struct config_job *job;
	uint64_t run_id;
	struct waiter *next;
};

struct listing {
	struct exec *ex;
	char company[64];
	char *body; /* cached answer */
	size_t len;
	uint64_t fetched_ms; /* loop time */
	bool fetching;
	char key[KEY_MAX];
	struct call call;
	uv_timer_t timer;
	struct waiter *waiters;
	struct listing *next;
};

struct company {
	char id[64];
	int rl; /* ratelimit account index */
};

struct exec {
	uv_loop_t *loop;
	struct http *http;
	const struct config *cfg;
	struct exec_options opt;
	struct exec_hooks hooks;
	struct ratelimit rl;
	uv_timer_t pump;
	struct run *runs;
	struct listing *listings;
	struct company *companies;
	size_t ncompanies;
	size_t pending_closes;
	int in_flight; /* requests handed to http */
	char **keys;   /* per account of cfg: the key once read, or "" */
	size_t nkeys;
	bool closing;
};

static void pump(struct exec *ex);
static void run_step(struct run *r);
static void run_finish(struct run *r);

/* ---- time and chance ---------------------------------------------------- */

static int64_t
now_ms(const struct exec *ex)
{
	return (int64_t)uv_now(ex->loop);
}

/* Full jitter: uniform in [0, min(cap, base * 2^attempt)]. */
static int64_t
backoff_ms(int attempt)
{
	int64_t ceiling = 1000;
	uint32_t r = 0;

	for (int i = 0; i < attempt && ceiling < 30000; i++)
		ceiling *= 2;
	if (ceiling > 30000)
		ceiling = 30000;
	r = (uint32_t)util_random_u64();
	return (int64_t)(r % (uint32_t)(ceiling + 1));
}

/* ---- accounts ----------------------------------------------------------- */

static int
company_rl(struct exec *ex, const char *company)
{
	struct company *n;
	int idx;

	for (size_t i = 0; i < ex->ncompanies; i++)
		if (strcmp(ex->companies[i].id, company) == 0)
			return ex->companies[i].rl;
	if ((idx = ratelimit_add_account(&ex->rl)) < 0)
		return idx;
	n = realloc(ex->companies, (ex->ncompanies + 1) * sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	ex->companies = n;
	snprintf(n[ex->ncompanies].id, sizeof(n->id), "%s", company);
	n[ex->ncompanies].rl = idx;
	ex->ncompanies++;
	return idx;
}

/* The job's account key into key: read once per account of the current
 * config (a run must not cost a file read), and from the file for a run of
 * an older config; 0 or -errno. */
static int
load_key(struct exec *ex, const struct config *cfg,
         const struct config_job *job, char *key)
{
	char err[256];
	char *cached = cfg == ex->cfg && job->account < ex->nkeys
	                   ? ex->keys[job->account]
	                   : NULL;
	int rc;

	if (cached != NULL && cached[0] != '\0') {
		memcpy(key, cached, KEY_MAX);
		return 0;
	}
	rc = config_read_key(&cfg->accounts[job->account], key, KEY_MAX, err,
	                     sizeof(err));
	if (rc < 0)
		return rc;
	log_secret_add(key);
	if (cached != NULL)
		memcpy(cached, key, KEY_MAX);
	return 0;
}

static void
forget_keys(struct exec *ex)
{
	for (size_t i = 0; i < ex->nkeys; i++) {
		explicit_bzero(ex->keys[i], KEY_MAX);
		free(ex->keys[i]);
	}
	free(ex->keys);
	ex->keys = NULL;
	ex->nkeys = 0;
}

/* Empty key slots for cfg's accounts (filled by load_key). */
static void
make_keys(struct exec *ex, const struct config *cfg)
{
	forget_keys(ex);
	if ((ex->keys = calloc(cfg->naccounts + 1, sizeof(*ex->keys))) == NULL)
		return;
	for (size_t i = 0; i < cfg->naccounts; i++)
		if ((ex->keys[i] = calloc(1, KEY_MAX)) != NULL)
			ex->nkeys = i + 1;
		else
			break;
}

/* ---- calls -------------------------------------------------------------- */

static void
on_http_done(const struct http_response *res, void *arg)
{
	struct call *c = arg;
	struct exec *ex = c->ex;
	bool retry = false;
	int64_t wait = -1;

	c->xfer = NULL;
	ex->in_flight--;
	if (res->error == -ECANCELED)
		return; /* exec_close: the owner is going away */
	ratelimit_restamp(&ex->rl, &c->rl, now_ms(ex));
	/* a connection is free: the next request in line may go */
	pump(ex);
	if (res->status == 429) {
		int64_t hint = ratelimit_retry_after_ms(
		    (const char *const *)res->header_names,
		    (const char *const *)res->header_values, res->nheaders,
		    util_wall_ms());

		/* the server refused it: resending is always safe */
		wait = hint >= 0 ? hint : backoff_ms(c->attempts) + 1000;
		ratelimit_pause(&ex->rl, c->rl.account, now_ms(ex) + wait);
		log_msg(LOG_WARNING,
		        "rate limited: HTTP 429 path=%s retry_in_ms=%lld",
		        c->req.path, (long long)wait);
		retry = c->attempts < MAX_ATTEMPTS_429;
		wait = 0; /* the pause holds it back */
	} else if (c->attempts <= c->max_retries &&
	           (res->status == 0 ||
	            (res->status >= 500 && !(c->poll && res->status == 500)))) {
		/* a read, or a write that surely never arrived */
		retry = !c->req.mutating || (res->status == 0 && !res->sent);
		wait = backoff_ms(c->attempts);
	} else if (c->attempts < MAX_ATTEMPTS_BLOCKED &&
	           kinsta_env_blocked(res->status, res->body, res->len)) {
		/* Kinsta refused it: the environment is busy with another
		 * operation (someone else's, or one of ours that outlived
		 * its time limit); resending later is safe */
		wait = 10000 + backoff_ms(c->attempts + 4);
		log_msg(LOG_NOTICE,
		        "environment busy: path=%s retry_in_ms=%lld attempt=%d",
		        c->req.path, (long long)wait, c->attempts);
		retry = true;
	}
	if (retry) {
		log_msg(LOG_DEBUG, "retry path=%s attempt=%d status=%ld %s",
		        c->req.path, c->attempts + 1, res->status,
		        res->message);
		if (wait > 0) {
			/* re-enqueue after the wait: the owner's timer */
			c->retry_ms = wait;
			c->done(c, NULL);
			return;
		}
		c->queued = true;
		ratelimit_enqueue(&ex->rl, &c->rl);
		pump(ex);
		return;
	}
	c->done(c, res);
}

static void
call_send(struct call *c)
{
	static const enum http_method methods[] = {
	    [KINSTA_GET] = HTTP_GET,       [KINSTA_POST] = HTTP_POST,
	    [KINSTA_PUT] = HTTP_PUT,       [KINSTA_PATCH] = HTTP_PATCH,
	    [KINSTA_DELETE] = HTTP_DELETE,
	};
	struct exec *ex = c->ex;
	struct http_request hr = {0};
	char url[1024];
	int rc;

	c->queued = false;
	c->attempts++;
	snprintf(url, sizeof(url), "%s%s", ex->cfg->api_url, c->req.path);
	hr.method = methods[c->req.method];
	hr.url = url;
	hr.bearer = c->key;
	hr.body = c->req.body;
	hr.body_len = c->req.body_len;
	ex->in_flight++;
	rc = http_submit(ex->http, &hr, on_http_done, c, &c->xfer);
	if (rc < 0) {
		struct http_response res = {.error = rc};

		ex->in_flight--;

		snprintf(res.message, sizeof(res.message),
		         "cannot send the request: %s", strerror(-rc));
		res.body = "";
		c->done(c, &res);
	}
}

static void
call_enqueue(struct call *c, int account, enum ratelimit_prio prio,
             uint64_t flow)
{
	ratelimit_req_init(&c->rl, account, c->req.cls, prio, flow);
	c->queued = true;
	ratelimit_enqueue(&c->ex->rl, &c->rl);
	pump(c->ex);
}

static void
on_pump(uv_timer_t *t)
{
	pump(t->data);
}

static void
pump(struct exec *ex)
{
	struct ratelimit_req *req;
	int64_t wake = -1;

	if (ex->closing)
		return;
	/* Admit no more than can be on the wire: a request that waits in
	 * curl's queue has already spent its budget, and its timeout runs. */
	while (ex->in_flight < MAX_IN_FLIGHT &&
	       (req = ratelimit_next(&ex->rl, now_ms(ex), &wake)) != NULL)
		call_send(container_of(req, struct call, rl));
	if (ex->in_flight >= MAX_IN_FLIGHT)
		wake = -1; /* the next answer pumps again */
	if (wake >= 0)
		uv_timer_start(
		    &ex->pump, on_pump,
		    (uint64_t)(wake > now_ms(ex) ? wake - now_ms(ex) : 1), 0);
	else
		uv_timer_stop(&ex->pump);
}

static void
call_cancel(struct call *c)
{
	if (c->queued)
		ratelimit_cancel(&c->ex->rl, &c->rl);
	c->queued = false;
	if (c->xfer != NULL)
		http_cancel(c->xfer);
	c->xfer = NULL;
	kinsta_request_clear(&c->req);
}

/* ---- environments ------------------------------------------------------- */

static bool
env_busy(const struct exec *ex, const char *env)
{
	for (const struct run *r = ex->runs; r != NULL; r = r->next)
		if (r->holds_env && strcmp(r->k.target.env_id, env) == 0)
			return true;
	return false;
}

static void
run_try_start(struct run *r)
{
	const char *env = r->k.target.env_id;

	if (env[0] != '\0' && env_busy(r->ex, env)) {
		r->state = RUN_WAIT_ENV;
		return;
	}
	r->holds_env = env[0] != '\0';
	r->state = RUN_ACTIVE;
	run_step(r);
}

/* A run let go of its environment: start the oldest one waiting for it. */
static void
env_released(struct exec *ex, const char *env)
{
	struct run *first = NULL;

	for (struct run *r = ex->runs; r != NULL; r = r->next)
		if (r->state == RUN_WAIT_ENV &&
		    strcmp(r->k.target.env_id, env) == 0)
			first = r; /* the list is newest first */
	if (first != NULL)
		run_try_start(first);
}

/* ---- runs --------------------------------------------------------------- */

static void
progress(struct run *r)
{
	struct exec_progress p = {
	    .job = r->job,
	    .target = &r->k.target,
	    .run_id = r->run_id,
	    .step = r->k.step,
	    .op_id = r->k.op_id,
	    .deployment = r->k.deployment,
	    .started_ms = r->started_ms,
	};

	if (r->ex->hooks.progress != NULL)
		r->ex->hooks.progress(&p, r->ex->hooks.arg);
}

/* One handle closed; the last one after exec_close takes the exec. */
static void
close_done(struct exec *ex)
{
	if (--ex->pending_closes == 0 && ex->closing) {
		forget_keys(ex);
		free(ex->companies);
		ratelimit_free(&ex->rl);
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

static void
run_free(struct run *r)
{
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
	struct exec *ex = r->ex;
	struct exec_result res = {
	    .cfg = r->cfg,
	    .job = r->job,
	    .target = &r->k.target,
	    .run_id = r->run_id,
	    .outcome = r->k.outcome,
	    .op_id = r->op.id,
	    .message = r->k.message,
	    .note = r->k.note,
	    .started_ms = r->started_ms,
	    .ended_ms = util_wall_ms(),
	};
	char env[KINSTA_ID_MAX];
	bool had_env = r->holds_env;

	if (r->dry_faked && r->k.outcome == KINSTA_SUCCEEDED) {
		r->k.outcome = KINSTA_SKIPPED;
		snprintf(r->k.message, sizeof(r->k.message),
		         "dry run: nothing that changes anything was sent");
	}
	res.outcome = r->k.outcome; /* the initializer read it before */
	if (r->k.outcome == KINSTA_SUCCEEDED &&
	    kinsta_report(&r->k, &res.report, &res.report_len) < 0)
		res.report = NULL;
	snprintf(env, sizeof(env), "%s", r->k.target.env_id);
	r->holds_env = false;
	run_unlink(r);
	if (ex->hooks.finished != NULL)
		ex->hooks.finished(&res, ex->hooks.arg);
	run_free(r);
	if (had_env)
		env_released(ex, env);
}

static void
on_run_timer(uv_timer_t *t)
{
	struct run *r = t->data;

	if (r->call.poll && r->call.req.path[0] == '\0')
		kinsta_poll_request(&r->k, &r->call.req);
	if (ops_check(&r->op, now_ms(r->ex)) != OPS_RUNNING && r->call.poll) {
		kinsta_request_clear(&r->call.req);
		r->call.poll = false;
		kinsta_op_done(&r->k, r->op.state, r->op.message);
		progress(r);
		run_step(r);
		return;
	}
	call_enqueue(&r->call, r->call.rl.account,
	             r->call.poll ? RATELIMIT_POLL : RATELIMIT_WORK, r->run_id);
}

static void
run_wait(struct run *r, int64_t ms)
{
	uv_timer_start(&r->timer, on_run_timer, (uint64_t)(ms > 0 ? ms : 1), 0);
}

/* Follow the operation the last step started. */
static void
run_follow(struct run *r, bool fresh)
{
	int64_t limit = r->job->timeout > 0 ? r->job->timeout * 1000 : 0;

	if (limit == 0) {
		switch (r->job->action) {
		case CONFIG_ACTION_BACKUP:
		case CONFIG_ACTION_PUSH_ENVIRONMENT:
		case CONFIG_ACTION_CREATE_SITE:
			limit = 3600000;
			break;
		case CONFIG_ACTION_UPDATE_PLUGINS:
		case CONFIG_ACTION_UPDATE_THEMES:
		case CONFIG_ACTION_DEPLOY_APP:
		case CONFIG_ACTION_DEPLOY_STATIC_SITE:
			limit = 1800000;
			break;
		default:
			limit = 600000;
			break;
		}
	}
	if (fresh || r->op.id[0] == '\0' || strcmp(r->op.id, r->k.op_id) != 0)
		ops_start(&r->op, r->k.op_id, now_ms(r->ex), limit);
	r->call.poll = true;
	kinsta_request_clear(&r->call.req);
	log_msg(LOG_DEBUG, "job=%s env=%s op=%s following", r->job->name,
	        r->k.target.env_id[0] ? r->k.target.env_id : "-", r->op.id);
	run_wait(r, r->op.next_ms - now_ms(r->ex));
}

static void
on_run_answer(struct call *c, const struct http_response *res)
{
	struct run *r = container_of(c, struct run, call);
	enum kinsta_next next;

	if (res == NULL) { /* retry after a backoff */
		run_wait(r, c->retry_ms);
		return;
	}
	if (r->call.poll) {
		char msg[KINSTA_MSG_MAX];
		enum ops_poll verdict;
		int64_t hint = -1;

		verdict = kinsta_classify_poll(r->k.deployment,
		                               res->error ? 0 : res->status,
		                               res->body, res->len, msg);
		if (verdict == OPS_POLL_RETRY && res->status == 429)
			hint = ratelimit_retry_after_ms(
			    (const char *const *)res->header_names,
			    (const char *const *)res->header_values,
			    res->nheaders, util_wall_ms());
		log_msg(LOG_DEBUG, "job=%s op=%s poll status=%ld", r->job->name,
		        r->op.id, res->status);
		kinsta_request_clear(&c->req);
		c->attempts = 0;
		if (ops_feed(&r->op, verdict, msg, now_ms(r->ex), hint) ==
		    OPS_RUNNING) {
			run_wait(r, r->op.next_ms - now_ms(r->ex));
			return;
		}
		r->call.poll = false;
		next = kinsta_op_done(&r->k, r->op.state, r->op.message);
		progress(r);
	} else {
		char why[KINSTA_MSG_MAX + 64];

		/* say why an ambiguous write was not sent again */
		snprintf(why, sizeof(why), "%s%s", res->message,
		         res->error && c->req.mutating && res->sent
		             ? " (not retried: the request may have "
		               "reached Kinsta)"
		             : "");
		next = kinsta_feed(&r->k, res->error ? 0 : res->status,
		                   res->body, res->len, why);
		if (!res->error && res->status >= 500 && c->req.mutating &&
		    r->k.outcome == KINSTA_FAILED) {
			/* a 5xx write is as ambiguous as a lost answer */
			size_t n = strlen(r->k.message);

			snprintf(r->k.message + n, sizeof(r->k.message) - n,
			         " (not retried: the request may have reached "
			         "Kinsta)");
		}
		kinsta_request_clear(&c->req);
		c->attempts = 0;
		if (next == KINSTA_FOLLOW) {
			run_follow(r, true);
			progress(r);
			return;
		}
	}
	(void)next;
	run_step(r);
}

/* Send the run's next request, follow its operation, or end it. */
static void
run_step(struct run *r)
{
	struct exec *ex = r->ex;

	switch (kinsta_run_next(&r->k, &r->call.req)) {
	case KINSTA_FOLLOW:
		run_follow(r, false);
		return;
	case KINSTA_DONE:
		run_finish(r);
		return;
	case KINSTA_SEND:
		break;
	}
	if (ex->opt.dry_run && r->call.req.mutating) {
		/* Show it, then go on as if it had been done at once, so
		 * that the whole sequence is shown; reads are sent for real
		 * (what to update, which backups to drop). */
		fprintf(ex->opt.dry_out ? ex->opt.dry_out : stdout,
		        "%s %s%s%s%s\n", kinsta_method_name(r->call.req.method),
		        ex->cfg->api_url, r->call.req.path,
		        r->call.req.body ? " " : "",
		        r->call.req.body ? r->call.req.body : "");
		kinsta_request_clear(&r->call.req);
		r->dry_faked = true;
		if (kinsta_feed(&r->k, 202, "{}", 2, NULL) == KINSTA_SEND)
			run_step(r);
		else
			run_finish(r);
		return;
	}
	r->call.attempts = 0;
	r->call.max_retries = (int)r->job->retries;
	call_enqueue(&r->call, r->call.rl.account, RATELIMIT_WORK, r->run_id);
}

static struct run *
run_new(struct exec *ex, const struct config *cfg, const struct config_job *job,
        const struct kinsta_target *t, uint64_t run_id, const char *key,
        int rl_account)
{
	struct run *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->ex = ex;
	r->cfg = cfg;
	r->job = job;
	r->run_id = run_id;
	r->started_ms = util_wall_ms();
	snprintf(r->key, sizeof(r->key), "%s", key);
	r->call.ex = ex;
	r->call.key = r->key;
	r->call.done = on_run_answer;
	r->call.rl.account = rl_account;
	kinsta_run_init(&r->k, cfg, job, t);
	uv_timer_init(ex->loop, &r->timer);
	r->timer.data = r;
	r->next = ex->runs;
	if (ex->runs)
		ex->runs->prev = r;
	ex->runs = r;
	return r;
}

/* A run that ends before it starts (no key, no targets). */
static void
report_failure(struct exec *ex, const struct config *cfg,
               const struct config_job *job, uint64_t run_id, const char *why)
{
	struct kinsta_target none = {0};
	struct exec_result res = {
	    .cfg = cfg,
	    .job = job,
	    .target = &none,
	    .run_id = run_id,
	    .outcome = KINSTA_FAILED,
	    .op_id = "",
	    .message = why,
	    .note = "",
	    .started_ms = util_wall_ms(),
	    .ended_ms = util_wall_ms(),
	};

	if (ex->hooks.finished != NULL)
		ex->hooks.finished(&res, ex->hooks.arg);
}

static void
start_runs(struct exec *ex, const struct config *cfg,
           const struct config_job *job, uint64_t run_id,
           const struct kinsta_target *t, size_t n, const char *key)
{
	int rl = company_rl(ex, cfg->accounts[job->account].company);
	struct run **made = calloc(n ? n : 1, sizeof(*made));

	if (rl < 0 || made == NULL) {
		free(made);
		report_failure(ex, cfg, job, run_id, "out of memory");
		return;
	}
	/* make them all first: a run that ends at once must not free the
	 * targets of its siblings */
	for (size_t i = 0; i < n; i++)
		if ((made[i] = run_new(ex, cfg, job, &t[i], run_id, key, rl)) ==
		    NULL)
			report_failure(ex, cfg, job, run_id, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (made[i] != NULL)
			run_try_start(made[i]);
	free(made);
}

/* ---- site listings ------------------------------------------------------ */

static void listing_done(struct call *c, const struct http_response *res);

static void
on_listing_timer(uv_timer_t *t)
{
	struct listing *l = t->data;
	struct exec *ex = l->ex;

	call_enqueue(&l->call, company_rl(ex, l->company), RATELIMIT_WORK,
	             UINT64_MAX);
}

static void
serve_waiters(struct listing *l, const char *why)
{
	struct exec *ex = l->ex;
	struct waiter *w = l->waiters;

	l->waiters = NULL;
	while (w != NULL) {
		struct waiter *next = w->next;
		struct kinsta_target *t = NULL;
		size_t n = 0;
		char err[256], key[KEY_MAX];

		if (why != NULL) {
			report_failure(ex, w->cfg, w->job, w->run_id, why);
		} else if (kinsta_select(w->job, l->body, l->len, &t, &n, err,
		                         sizeof(err)) < 0) {
			report_failure(ex, w->cfg, w->job, w->run_id, err);
		} else if (load_key(ex, w->cfg, w->job, key) < 0) {
			report_failure(ex, w->cfg, w->job, w->run_id,
			               "cannot read the API key");
		} else {
			start_runs(ex, w->cfg, w->job, w->run_id, t, n, key);
		}
		explicit_bzero(key, sizeof(key));
		free(t);
		free(w);
		w = next;
	}
}

static void
listing_done(struct call *c, const struct http_response *res)
{
	struct listing *l = container_of(c, struct listing, call);
	char msg[KINSTA_MSG_MAX];

	if (res == NULL) {
		uv_timer_start(&l->timer, on_listing_timer,
		               (uint64_t)c->retry_ms, 0);
		return;
	}
	l->fetching = false;
	kinsta_request_clear(&c->req);
	if (res->error != 0 || res->status != 200) {
		if (res->error != 0)
			snprintf(msg, sizeof(msg),
			         "cannot list the company's sites: %.200s",
			         res->message);
		else {
			char api[KINSTA_MSG_MAX];

			kinsta_error_message(res->status, res->body, res->len,
			                     api);
			snprintf(msg, sizeof(msg),
			         "cannot list the company's sites: %.200s",
			         api);
		}
		serve_waiters(l, msg);
		return;
	}
	free(l->body);
	if ((l->body = malloc(res->len + 1)) == NULL) {
		l->len = 0;
		serve_waiters(l, "out of memory");
		return;
	}
	memcpy(l->body, res->body, res->len + 1);
	l->len = res->len;
	l->fetched_ms = uv_now(l->ex->loop);
	serve_waiters(l, NULL);
}

static struct listing *
listing_get(struct exec *ex, const char *company)
{
	struct listing *l;

	for (l = ex->listings; l != NULL; l = l->next)
		if (strcmp(l->company, company) == 0)
			return l;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->ex = ex;
	snprintf(l->company, sizeof(l->company), "%s", company);
	l->call.ex = ex;
	l->call.key = l->key;
	l->call.done = listing_done;
	l->call.max_retries = 3;
	uv_timer_init(ex->loop, &l->timer);
	l->timer.data = l;
	l->next = ex->listings;
	ex->listings = l;
	return l;
}

static int
start_with_listing(struct exec *ex, const struct config_job *job,
                   uint64_t run_id)
{
	const struct config *cfg = ex->cfg;
	struct listing *l =
	    listing_get(ex, cfg->accounts[job->account].company);
	struct waiter *w;

	if (l == NULL || (w = calloc(1, sizeof(*w))) == NULL)
		return -ENOMEM;
	w->cfg = cfg;
	w->job = job;
	w->run_id = run_id;
	w->next = l->waiters;
	l->waiters = w;
	if (l->body != NULL && uv_now(ex->loop) - l->fetched_ms <
	                           (uint64_t)ex->opt.listing_ttl_ms) {
		serve_waiters(l, NULL);
		return 0;
	}
	if (l->fetching)
		return 0;
	if (load_key(ex, cfg, job, l->key) < 0) {
		serve_waiters(l, "cannot read the API key");
		return 0;
	}
	l->fetching = true;
	kinsta_sites_request(cfg, job->account, &l->call.req);
	l->call.attempts = 0;
	call_enqueue(&l->call, company_rl(ex, l->company), RATELIMIT_WORK,
	             UINT64_MAX);
	return 0;
}

/* ---- public ------------------------------------------------------------- */

int
exec_init(struct exec **out, uv_loop_t *loop, struct http *h,
          const struct config *cfg, const struct exec_options *opt,
          const struct exec_hooks *hooks)
{
	struct exec *ex = calloc(1, sizeof(*ex));
	struct ratelimit_limits lim = ratelimit_limits_default();
	int rc;

	if (ex == NULL)
		return -ENOMEM;
	ex->loop = loop;
	ex->http = h;
	ex->cfg = cfg;
	make_keys(ex, cfg);
	if (opt != NULL)
		ex->opt = *opt;
	if (ex->opt.listing_ttl_ms <= 0)
		ex->opt.listing_ttl_ms = 300000;
	if (hooks != NULL)
		ex->hooks = *hooks;
	lim.per_account = (int)cfg->rate_limits.company;
	lim.per_ip = (int)cfg->rate_limits.ip;
	lim.create = (int)cfg->rate_limits.create;
	lim.logs = (int)cfg->rate_limits.logs;
	if ((rc = ratelimit_init(&ex->rl, &lim, 0)) < 0) {
		free(ex);
		return rc;
	}
	uv_timer_init(loop, &ex->pump);
	ex->pump.data = ex;
	*out = ex;
	return 0;
}

void
exec_set_hooks(struct exec *ex, const struct exec_hooks *hooks)
{
	ex->hooks = *hooks;
}

void
exec_set_config(struct exec *ex, const struct config *cfg)
{
	ex->cfg = cfg;
	make_keys(ex, cfg); /* keys are read again under a new config */
}

bool
exec_config_in_use(const struct exec *ex, const struct config *cfg)
{
	for (const struct run *r = ex->runs; r != NULL; r = r->next)
		if (r->cfg == cfg)
			return true;
	for (const struct listing *l = ex->listings; l != NULL; l = l->next)
		for (const struct waiter *w = l->waiters; w; w = w->next)
			if (w->cfg == cfg)
				return true;
	return false;
}

int
exec_start(struct exec *ex, const struct config_job *job, uint64_t run_id)
{
	struct kinsta_target *t = NULL;
	size_t n = 0;
	char key[KEY_MAX];
	int rc;

	if (ex->closing)
		return -ECANCELED;
	if (kinsta_needs_listing(job))
		return start_with_listing(ex, job, run_id);
	if ((rc = load_key(ex, ex->cfg, job, key)) < 0) {
		report_failure(ex, ex->cfg, job, run_id,
		               "cannot read the API key");
		return 0;
	}
	if ((rc = kinsta_targets_from_ids(job, &t, &n)) == 0)
		start_runs(ex, ex->cfg, job, run_id, t, n, key);
	explicit_bzero(key, sizeof(key));
	free(t);
	return rc;
}

int
exec_resume(struct exec *ex, const struct config_job *job,
            const struct kinsta_target *target, uint64_t run_id, int step,
            const char *op_id, bool deployment, int64_t started_ms)
{
	char key[KEY_MAX];
	struct run *r;
	int rl;

	if (load_key(ex, ex->cfg, job, key) < 0)
		return -ENOKEY;
	rl = company_rl(ex, ex->cfg->accounts[job->account].company);
	r = rl < 0 ? NULL : run_new(ex, ex->cfg, job, target, run_id, key, rl);
	explicit_bzero(key, sizeof(key));
	if (r == NULL)
		return -ENOMEM;
	kinsta_run_resume(&r->k, ex->cfg, job, target, step, op_id, deployment);
	if (started_ms > 0)
		r->started_ms = started_ms;
	r->holds_env = target->env_id[0] != '\0';
	r->state = RUN_ACTIVE;
	run_follow(r, true);
	return 0;
}

size_t
exec_active(const struct exec *ex)
{
	size_t n = 0;

	for (const struct run *r = ex->runs; r != NULL; r = r->next)
		n++;
	for (const struct listing *l = ex->listings; l != NULL; l = l->next)
		for (const struct waiter *w = l->waiters; w; w = w->next)
			n++;
	return n;
}

size_t
exec_job_active(const struct exec *ex, const char *job_name)
{
	size_t n = 0;

	for (const struct run *r = ex->runs; r != NULL; r = r->next)
		n += strcmp(r->job->name, job_name) == 0;
	for (const struct listing *l = ex->listings; l != NULL; l = l->next)
		for (const struct waiter *w = l->waiters; w; w = w->next)
			n += strcmp(w->job->name, job_name) == 0;
	return n;
}

size_t
exec_queued(const struct exec *ex)
{
	return ratelimit_queued(&ex->rl);
}

static void
on_pump_closed(uv_handle_t *h)
{
	close_done(h->data);
}

static void
on_listing_closed(uv_handle_t *h)
{
	struct listing *l = h->data;
	struct exec *ex = l->ex;

	explicit_bzero(l->key, sizeof(l->key));
	free(l->body);
	free(l);
	close_done(ex);
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
	while (ex->listings != NULL) {
		struct listing *l = ex->listings;
		struct waiter *w = l->waiters;

		ex->listings = l->next;
		while (w != NULL) {
			struct waiter *next = w->next;

			free(w);
			w = next;
		}
		call_cancel(&l->call);
		ex->pending_closes++;
		uv_close((uv_handle_t *)&l->timer, on_listing_closed);
	}
	/* the exec itself goes with the last close callback */
	ex->pending_closes++;
	uv_close((uv_handle_t *)&ex->pump, on_pump_closed);
}
