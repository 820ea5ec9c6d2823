/*
 * call: the rate-limited request and its retries.  See call.h.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "log.h"
#include "util.h"

#define container_of(p, type, member)                                          \
	((type *)(void *)((char *)(p)-offsetof(type, member)))

/* requests on the wire at once, as many as http's connections to a host */
#define MAX_IN_FLIGHT HTTP_HOST_CONNECTIONS

struct company {
	char id[64];
	int rl; /* ratelimit account index */
	struct calls_stats stats;
};

struct calls {
	uv_loop_t *loop;
	struct http *http;
	char *base_url;
	struct ratelimit rl;
	uv_timer_t pump;
	int in_flight; /* requests handed to http */
	int trace;     /* calls_set_trace */
	struct company *companies;
	size_t ncompanies;
	bool closing;
	void (*closed)(void *arg);
	void *closed_arg;
};

static void pump(struct calls *cs);

static int64_t
now_ms(const struct calls *cs)
{
	return (int64_t)uv_now(cs->loop);
}

/* Full jitter: uniform in [0, min(30 s, 1 s * 2^attempt)]. */
static int64_t
backoff_ms(int attempt)
{
	int64_t ceiling = 1000;

	for (int i = 0; i < attempt && ceiling < 30000; i++)
		ceiling *= 2;
	if (ceiling > 30000)
		ceiling = 30000;
	return (int64_t)(util_random_u64() % (uint64_t)(ceiling + 1));
}

enum call_verdict
call_policy(const struct call *c, const struct http_response *res,
            int64_t *wait_ms)
{
	*wait_ms = 0;
	if (res->status == 429)
		return c->attempts < CALL_MAX_ATTEMPTS_429 ? CALL_RESEND
		                                           : CALL_FINAL;
	/* An answer cut off mid-body (timeout, reset) keeps the status
	 * curl saw first: it is a lost answer all the same, but one over the
	 * size limit would be as large again. */
	if (c->attempts <= c->max_retries &&
	    (res->status == 0 || (res->error != 0 && res->error != -EFBIG) ||
	     (res->status >= 500 && !(c->poll && res->status == 500)))) {
		/* a read, or a write that surely never arrived */
		*wait_ms = backoff_ms(c->attempts);
		return !c->req.mutating || (res->status == 0 && !res->sent)
		           ? CALL_BACKOFF
		           : CALL_FINAL;
	}
	if (c->attempts < CALL_MAX_ATTEMPTS_BLOCKED &&
	    kinsta_env_blocked(res->status, res->body, res->len)) {
		/* Kinsta refused it: the environment is busy with another
		 * operation (someone else's, or one of ours that outlived
		 * its time limit); resending later is safe */
		*wait_ms = 10000 + backoff_ms(c->attempts + 4);
		return CALL_BLOCKED;
	}
	return CALL_FINAL;
}

/* Does c show in the trace?  Level 1 shows requests, 2 polls as well. */
static bool
traced(const struct call *c)
{
	return c->cs->trace >= (c->poll ? 2 : 1);
}

/* A 429: the account is quiet for as long as the server asked. */
static void
pause_account(struct call *c, const struct http_response *res)
{
	struct calls *cs = c->cs;
	int64_t wait =
	    ratelimit_retry_after_ms((const char *const *)res->header_names,
	                             (const char *const *)res->header_values,
	                             res->nheaders, util_wall_ms());

	if (wait < 0)
		wait = backoff_ms(c->attempts) + 1000;
	ratelimit_pause(&cs->rl, c->rl.account, now_ms(cs) + wait);
	log_msg(LOG_WARNING, "rate limited: HTTP 429 path=%s retry_in_ms=%lld",
	        c->req.path, (long long)wait);
}

/* For the metrics: every answer (or its absence), by status class. */
static void
count_answer(struct calls *cs, int account, long status)
{
	for (size_t i = 0; i < cs->ncompanies; i++) {
		struct calls_stats *st = &cs->companies[i].stats;

		if (cs->companies[i].rl != account)
			continue;
		st->answers[metrics_http_class(status)]++;
		if (status == 429)
			st->rate_limited++;
		return;
	}
}

static void
on_http_done(const struct http_response *res, void *arg)
{
	struct call *c = arg;
	struct calls *cs = c->cs;
	enum call_verdict verdict;
	int64_t wait;

	c->xfer = NULL;
	cs->in_flight--;
	if (res->error == -ECANCELED)
		return; /* the owner is going away */
	if (traced(c))
		log_msg(LOG_NOTICE,
		        "answer %s %s status=%ld elapsed_ms=%lld%s%s",
		        method_name(c->req.method), c->req.path, res->status,
		        (long long)res->elapsed_ms, res->error ? " error=" : "",
		        res->error ? res->message : "");
	ratelimit_restamp(&cs->rl, &c->rl, now_ms(cs));
	count_answer(cs, c->rl.account, res->status);
	/* a connection is free: the next request in line may go */
	pump(cs);
	if (res->status == 429)
		pause_account(c, res);
	verdict = call_policy(c, res, &wait);
	if (verdict == CALL_FINAL) {
		c->ops->answered(c, res);
		return;
	}
	if (verdict == CALL_BLOCKED)
		log_msg(LOG_NOTICE,
		        "environment busy: path=%s retry_in_ms=%lld attempt=%d",
		        c->req.path, (long long)wait, c->attempts);
	log_msg(LOG_DEBUG, "retry path=%s attempt=%d status=%ld %s",
	        c->req.path, c->attempts + 1, res->status, res->message);
	if (verdict != CALL_RESEND)
		c->ops->retry_at(c, wait);
	else
		call_resend(c); /* the pause holds it back */
}

static void
send_now(struct call *c)
{
	struct calls *cs = c->cs;
	struct http_request hr = {0};
	char url[1024];
	int rc;

	c->queued = false;
	c->attempts++;
	snprintf(url, sizeof(url), "%s%s", cs->base_url, c->req.path);
	hr.method = c->req.method;
	hr.url = url;
	hr.bearer = c->key;
	hr.body = c->req.body;
	hr.body_len = c->req.body_len;
	if (traced(c))
		log_msg(LOG_NOTICE, "request %s %s%s%s attempt=%d",
		        method_name(c->req.method), c->req.path,
		        c->req.body ? " " : "", c->req.body ? c->req.body : "",
		        c->attempts);
	cs->in_flight++;
	rc = http_submit(cs->http, &hr, on_http_done, c, &c->xfer);
	if (rc < 0) {
		struct http_response res = {.error = rc, .body = ""};

		cs->in_flight--;
		snprintf(res.message, sizeof(res.message),
		         "cannot send the request: %s", strerror(-rc));
		c->ops->answered(c, &res);
	}
}

static void
on_pump(uv_timer_t *t)
{
	pump(t->data);
}

static void
pump(struct calls *cs)
{
	struct ratelimit_req *req;
	int64_t wake = -1;

	if (cs->closing)
		return;
	/* Admit no more than can be on the wire: a request that waits in
	 * curl's queue has already spent its budget, and its timeout runs. */
	while (cs->in_flight < MAX_IN_FLIGHT &&
	       (req = ratelimit_next(&cs->rl, now_ms(cs), &wake)) != NULL)
		send_now(container_of(req, struct call, rl));
	if (cs->in_flight >= MAX_IN_FLIGHT)
		wake = -1; /* the next answer pumps again */
	if (wake >= 0)
		uv_timer_start(
		    &cs->pump, on_pump,
		    (uint64_t)(wake > now_ms(cs) ? wake - now_ms(cs) : 1), 0);
	else
		uv_timer_stop(&cs->pump);
}

int
calls_init(struct calls **out, uv_loop_t *loop, struct http *h,
           const char *base_url, const struct ratelimit_limits *lim)
{
	struct calls *cs = calloc(1, sizeof(*cs));
	int rc = -ENOMEM;

	if (cs == NULL || (cs->base_url = strdup(base_url)) == NULL)
		goto fail;
	if ((rc = ratelimit_init(&cs->rl, lim, 0)) < 0)
		goto fail;
	cs->loop = loop;
	cs->http = h;
	uv_timer_init(loop, &cs->pump);
	cs->pump.data = cs;
	*out = cs;
	return 0;
fail:
	if (cs != NULL)
		free(cs->base_url);
	free(cs);
	return rc;
}

void
calls_set_trace(struct calls *cs, int trace)
{
	cs->trace = trace;
}

int
calls_set_url(struct calls *cs, const char *base_url)
{
	char *u = strdup(base_url);

	if (u == NULL)
		return -ENOMEM;
	free(cs->base_url);
	cs->base_url = u;
	return 0;
}

int
calls_account(struct calls *cs, const char *company)
{
	struct company *n;
	int idx;

	for (size_t i = 0; i < cs->ncompanies; i++)
		if (strcmp(cs->companies[i].id, company) == 0)
			return cs->companies[i].rl;
	n = realloc(cs->companies, (cs->ncompanies + 1) * sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	cs->companies = n;
	if ((idx = ratelimit_add_account(&cs->rl)) < 0)
		return idx;
	snprintf(n[cs->ncompanies].id, sizeof(n->id), "%s", company);
	n[cs->ncompanies].rl = idx;
	memset(&n[cs->ncompanies].stats, 0, sizeof(n->stats));
	cs->ncompanies++;
	return idx;
}

int
calls_budget(const struct calls *cs, const char *company,
             struct ratelimit_status *st)
{
	int64_t now = now_ms(cs);
	int rc = -ENOENT;

	/* the budgets keep the loop's clock; a pause is told in the wall
	 * clock's, as people and pages read it */
	for (size_t i = 0; i < cs->ncompanies && rc < 0; i++)
		if (strcmp(cs->companies[i].id, company) == 0)
			rc = ratelimit_status(&cs->rl, cs->companies[i].rl, now,
			                      st);
	if (rc == 0 && st->paused_until > now)
		st->paused_until = util_wall_ms() + (st->paused_until - now);
	else if (rc == 0)
		st->paused_until = 0;
	return rc;
}

size_t
calls_queued(const struct calls *cs)
{
	return ratelimit_queued(&cs->rl);
}

int
calls_stats(const struct calls *cs, const char *company, struct calls_stats *st)
{
	struct ratelimit_status rs;

	memset(st, 0, sizeof(*st));
	st->budget_limit = cs->rl.lim.per_account;
	for (size_t i = 0; i < cs->ncompanies; i++)
		if (strcmp(cs->companies[i].id, company) == 0) {
			*st = cs->companies[i].stats;
			st->budget_limit = cs->rl.lim.per_account;
			if (ratelimit_status(&cs->rl, cs->companies[i].rl,
			                     now_ms(cs), &rs) == 0)
				st->budget_used = rs.used;
			return 0;
		}
	return -ENOENT;
}

static void
on_pump_closed(uv_handle_t *h)
{
	struct calls *cs = h->data;

	if (cs->closed != NULL)
		cs->closed(cs->closed_arg);
	free(cs->companies);
	free(cs->base_url);
	ratelimit_free(&cs->rl);
	free(cs);
}

void
calls_close(struct calls *cs, void (*closed)(void *arg), void *arg)
{
	cs->closing = true;
	cs->closed = closed;
	cs->closed_arg = arg;
	uv_close((uv_handle_t *)&cs->pump, on_pump_closed);
}

void
call_init(struct call *c, struct calls *cs, const struct call_ops *ops,
          const char *key)
{
	c->cs = cs;
	c->ops = ops;
	c->key = key;
}

void
call_start(struct call *c, int account, enum ratelimit_prio prio, uint64_t flow)
{
	c->attempts = 0;
	ratelimit_req_init(&c->rl, account, c->req.cls, prio, flow);
	call_resend(c);
}

void
call_resend(struct call *c)
{
	c->queued = true;
	ratelimit_enqueue(&c->cs->rl, &c->rl);
	pump(c->cs);
}

void
call_cancel(struct call *c)
{
	if (c->queued)
		ratelimit_cancel(&c->cs->rl, &c->rl);
	c->queued = false;
	if (c->xfer != NULL)
		http_cancel(c->xfer);
	c->xfer = NULL;
	kinsta_request_clear(&c->req);
}
