/*
 * listing: each company's site list, fetched once for many jobs.
 *
 * A job on site names, labels or all sites (and a few actions on
 * environment ids: the CDN id, the site id, the sibling environments) needs
 * GET /sites?company=..&include_environments=true before it can start.
 * Jobs due together share one request per company, and the answer is kept
 * for a few minutes (ttl), so a burst of a hundred jobs over one company
 * costs one listing, not a hundred, of the company's 120 requests a minute;
 * then it is freed (a timer), not kept until the company's next job.
 * Jobs wait as `struct listing_wait`, embedded in nothing: listing owns
 * them and hands each to the `ready` hook once the answer is in.
 */
#ifndef KCRON_LISTING_H
#define KCRON_LISTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "call.h"
#include "config.h"

struct listings;

struct listing_hooks {
	/* The list for job's company: body (len bytes), or why there is none
	 * (body NULL). */
	void (*ready)(const struct config *cfg, const struct config_job *job,
	              uint64_t run_id, const char *body, size_t len,
	              const char *why, void *arg);
	void *arg;
};

/* Create the cache on loop, fetching through cs, keeping answers ttl_ms;
 * 0 or -ENOMEM. */
int listings_init(struct listings **out, uv_loop_t *loop, struct calls *cs,
                  int64_t ttl_ms, const struct listing_hooks *hooks);

/* job (of cfg) wants its company's list for run run_id, fetched with key
 * (copied) if it is not cached: hooks.ready runs later, or now when the
 * list is fresh.  0 or -ENOMEM. */
int listings_want(struct listings *ls, const struct config *cfg,
                  const struct config_job *job, uint64_t run_id,
                  const char *key);

/* Jobs waiting for a list: all (job NULL) or of job_name. */
size_t listings_waiting(const struct listings *ls, const char *job_name);

/* Jobs of other configs waiting whose job is unchanged in cfg
 * (config_same_job) wait as jobs of cfg from now on. */
void listings_move(struct listings *ls, const struct config *cfg);

/* Bytes of site lists held now. */
size_t listings_cached(const struct listings *ls);

/* Is a job of cfg waiting? */
bool listings_config_in_use(const struct listings *ls,
                            const struct config *cfg);

/* Drop every waiter without a callback, cancel the requests and close;
 * done(arg) runs from the loop once the memory is gone. */
void listings_close(struct listings *ls, void (*done)(void *arg), void *arg);

#endif
