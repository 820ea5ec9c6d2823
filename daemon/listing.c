/*
 * listing: the site list cache.  See listing.h.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listing.h"

#define container_of(p, type, member)                                          \
	((type *)(void *)((char *)(p)-offsetof(type, member)))

#define KEY_MAX 512

struct listing_wait {
	const struct config *cfg;
	const struct config_job *job;
	uint64_t run_id;
	struct listing_wait *next;
};

/* One company's list, and the jobs waiting for it. */
struct listing {
	struct listings *ls;
	char company[64];
	char *body; /* the cached answer, until ttl_ms after fetched_ms */
	size_t len;
	uint64_t fetched_ms; /* loop time */
	bool fetching;
	char key[KEY_MAX];
	struct call call;
	uv_timer_t timer; /* retry waits while fetching, then the expiry */
	struct listing_wait *waiters;
	struct listing *next;
};

struct listings {
	uv_loop_t *loop;
	struct calls *cs;
	int64_t ttl_ms;
	struct listing_hooks hooks;
	struct listing *all;
	size_t pending_closes;
	void (*done)(void *arg);
	void *done_arg;
};

static void
serve(struct listing *l, const char *why)
{
	struct listing_wait *w = l->waiters;

	l->waiters = NULL;
	while (w != NULL) {
		struct listing_wait *next = w->next;

		l->ls->hooks.ready(w->cfg, w->job, w->run_id,
		                   why ? NULL : l->body, why ? 0 : l->len, why,
		                   l->ls->hooks.arg);
		free(w);
		w = next;
	}
}

/* A list is kept for ttl_ms, for the jobs due together: then it goes,
 * not when the next job of the company wants a fresh one, which may be
 * tomorrow (a company's list can be megabytes). */
static void
on_expire(uv_timer_t *t)
{
	struct listing *l = t->data;

	if (l->fetching)
		return;
	free(l->body);
	l->body = NULL;
	l->len = 0;
}

static void
on_answer(struct call *c, const struct http_response *res)
{
	struct listing *l = container_of(c, struct listing, call);
	char msg[KINSTA_MSG_MAX], api[KINSTA_MSG_MAX];

	l->fetching = false;
	kinsta_request_clear(&c->req);
	if (res->error != 0 || res->status != 200) {
		if (res->error == 0)
			kinsta_error_message(res->status, res->body, res->len,
			                     api);
		snprintf(msg, sizeof(msg),
		         "cannot list the company's sites: %.200s",
		         res->error != 0 ? res->message : api);
		on_expire(&l->timer); /* a stale list is of no use */
		serve(l, msg);
		return;
	}
	free(l->body);
	if ((l->body = malloc(res->len + 1)) == NULL) {
		l->len = 0;
		serve(l, "out of memory");
		return;
	}
	memcpy(l->body, res->body, res->len + 1);
	l->len = res->len;
	l->fetched_ms = uv_now(l->ls->loop);
	uv_timer_start(&l->timer, on_expire, (uint64_t)l->ls->ttl_ms, 0);
	serve(l, NULL);
}

static void
on_timer(uv_timer_t *t)
{
	struct listing *l = t->data;

	call_resend(&l->call);
}

static void
on_retry(struct call *c, int64_t wait_ms)
{
	struct listing *l = container_of(c, struct listing, call);

	uv_timer_start(&l->timer, on_timer, (uint64_t)wait_ms, 0);
}

static const struct call_ops listing_call = {on_answer, on_retry};

static struct listing *
get(struct listings *ls, const char *company)
{
	struct listing *l;

	for (l = ls->all; l != NULL; l = l->next)
		if (strcmp(l->company, company) == 0)
			return l;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->ls = ls;
	snprintf(l->company, sizeof(l->company), "%s", company);
	call_init(&l->call, ls->cs, &listing_call, l->key);
	l->call.max_retries = 3;
	uv_timer_init(ls->loop, &l->timer);
	l->timer.data = l;
	l->next = ls->all;
	ls->all = l;
	return l;
}

int
listings_init(struct listings **out, uv_loop_t *loop, struct calls *cs,
              int64_t ttl_ms, const struct listing_hooks *hooks)
{
	struct listings *ls = calloc(1, sizeof(*ls));

	if (ls == NULL)
		return -ENOMEM;
	ls->loop = loop;
	ls->cs = cs;
	ls->ttl_ms = ttl_ms;
	ls->hooks = *hooks;
	*out = ls;
	return 0;
}

int
listings_want(struct listings *ls, const struct config *cfg,
              const struct config_job *job, uint64_t run_id, const char *key)
{
	const char *company = cfg->accounts[job->account].company;
	struct listing *l = get(ls, company);
	struct listing_wait *w;
	int account;

	if (l == NULL || (w = calloc(1, sizeof(*w))) == NULL)
		return -ENOMEM;
	w->cfg = cfg;
	w->job = job;
	w->run_id = run_id;
	w->next = l->waiters;
	l->waiters = w;
	if (l->body != NULL &&
	    uv_now(ls->loop) - l->fetched_ms < (uint64_t)ls->ttl_ms) {
		serve(l, NULL);
		return 0;
	}
	if (l->fetching)
		return 0;
	if ((account = calls_account(ls->cs, company)) < 0) {
		serve(l, "out of memory");
		return 0;
	}
	snprintf(l->key, sizeof(l->key), "%s", key);
	l->fetching = true;
	kinsta_sites_request(cfg, job->account, &l->call.req);
	call_start(&l->call, account, RATELIMIT_WORK, UINT64_MAX);
	return 0;
}

size_t
listings_waiting(const struct listings *ls, const char *job_name)
{
	size_t n = 0;

	for (const struct listing *l = ls->all; l != NULL; l = l->next)
		for (const struct listing_wait *w = l->waiters; w; w = w->next)
			n += job_name == NULL ||
			     strcmp(w->job->name, job_name) == 0;
	return n;
}

void
listings_move(struct listings *ls, const struct config *cfg)
{
	for (struct listing *l = ls->all; l != NULL; l = l->next)
		for (struct listing_wait *w = l->waiters; w; w = w->next) {
			const struct config_job *j;

			if (w->cfg != cfg &&
			    (j = config_same_job(w->cfg, w->job, cfg)) !=
			        NULL) {
				w->cfg = cfg;
				w->job = j;
			}
		}
}

size_t
listings_cached(const struct listings *ls)
{
	size_t n = 0;

	for (const struct listing *l = ls->all; l != NULL; l = l->next)
		n += l->body != NULL ? l->len + 1 : 0;
	return n;
}

bool
listings_config_in_use(const struct listings *ls, const struct config *cfg)
{
	for (const struct listing *l = ls->all; l != NULL; l = l->next)
		for (const struct listing_wait *w = l->waiters; w; w = w->next)
			if (w->cfg == cfg)
				return true;
	return false;
}

static void
close_one(struct listings *ls)
{
	if (--ls->pending_closes > 0)
		return;
	if (ls->done != NULL)
		ls->done(ls->done_arg);
	free(ls);
}

static void
on_closed(uv_handle_t *h)
{
	struct listing *l = h->data;
	struct listings *ls = l->ls;

	explicit_bzero(l->key, sizeof(l->key));
	free(l->body);
	free(l);
	close_one(ls);
}

void
listings_close(struct listings *ls, void (*done)(void *arg), void *arg)
{
	ls->done = done;
	ls->done_arg = arg;
	ls->pending_closes = 1; /* this call's own, so that none ends early */
	while (ls->all != NULL) {
		struct listing *l = ls->all;
		struct listing_wait *w = l->waiters;

		ls->all = l->next;
		while (w != NULL) {
			struct listing_wait *next = w->next;

			free(w);
			w = next;
		}
		call_cancel(&l->call);
		ls->pending_closes++;
		uv_close((uv_handle_t *)&l->timer, on_closed);
	}
	close_one(ls);
}
