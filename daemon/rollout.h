/*
 * rollout: which targets of one fire start when, and which never start.
 *
 * A job over many environments (an update across a fleet) should not
 * change them all at once: its `rollout` group starts the first `canary`
 * environments alone, then the rest in batches of `batch`, each batch only
 * once every earlier target has ended and fewer than `halt_after` of them
 * failed.  Once the rollout halts, every target not yet started ends
 * skipped ("rollout halted after <site>: <reason>").  With
 * `environment = ["staging", "live"]`, every staging environment goes
 * first (canary and batches of its own), then the live ones, each site's
 * live only where that site's staging did not fail ("staging failed:
 * <reason>").  A closed window skips the rest ("window closed").
 *
 * The order is stable: environment names in the job's order, then the
 * selector's order (`sites`, `environment_ids` as listed), or the site
 * name (`label`, `labels`, `all_sites`).
 *
 * Pure: no I/O, no clock (the caller says whether the window is open).
 * Failure is any outcome but succeeded and skipped.
 */
#ifndef KCRON_ROLLOUT_H
#define KCRON_ROLLOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "kinsta.h"
#include "target.h"

#define ROLLOUT_MSG_MAX KINSTA_MSG_MAX

enum rollout_state { ROLLOUT_WAITING, ROLLOUT_STARTED, ROLLOUT_ENDED };

/* One target in rollout order. */
struct rollout_item {
	size_t target; /* index into the fire's targets */
	size_t phase;  /* index of its environment name in the job's list */
	size_t wave;   /* 0 first (the canaries, when there are any) */
	bool canary;
	enum rollout_state state;
	bool failed;
	const struct target *t;        /* the caller's; outlives the rollout */
	char message[ROLLOUT_MSG_MAX]; /* how it ended, when it failed */
};

struct rollout {
	struct rollout_item *items; /* in rollout order */
	size_t *pos;                /* target index -> position in items */
	size_t n, nwaves;
	size_t released; /* waves released so far */
	size_t failures;
	int64_t halt_after; /* 0: never */
	bool halted;
	char halt_msg[ROLLOUT_MSG_MAX];
};

/* What to do with one target now. */
struct rollout_move {
	size_t target; /* index into the fire's targets */
	bool start;    /* false: end it skipped, with message */
	char message[ROLLOUT_MSG_MAX];
};

/* Plan the rollout of job over its n targets *t[0..n) (each kept by
 * pointer, the array not); 0 or -ENOMEM. */
int rollout_init(struct rollout *ro, const struct config_job *job,
                 const struct target *const *t, size_t n);

/* Release what rollout_init took. */
void rollout_free(struct rollout *ro);

/* Target (index) ended with outcome and message; a failure may halt. */
void rollout_ended(struct rollout *ro, size_t target, enum kinsta_outcome o,
                   const char *message);

/* The next move into *mv, or false when nothing is to be done until a
 * started target ends (or everything has ended).  window_open: may a
 * target start now? */
bool rollout_next(struct rollout *ro, bool window_open,
                  struct rollout_move *mv);

/* Has every target ended? */
bool rollout_done(const struct rollout *ro);

/* The item at position k of the rollout order (k < ro->n). */
const struct rollout_item *rollout_at(const struct rollout *ro, size_t k);

#endif
