/*
 * rollout: the order of a fire's targets, their waves (canary, then
 * batches, per environment name), and the moves that follow each end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout.h"

/* What sorts one target: its environment name's place, then its place
 * in the selector, then its site name, then where the site list had it. */
struct sort_key {
	size_t phase, rank, index;
	const char *name;
};

static int
by_key(const void *a, const void *b)
{
	const struct sort_key *x = a, *y = b;
	int c;

	if (x->phase != y->phase)
		return x->phase < y->phase ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The index of s in list (n entries), or n. */
static size_t
index_in(const char *const *list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			break;
	return i;
}

static void
sort_key_of(const struct config_job *job, const struct target *t, size_t i,
            struct sort_key *k)
{
	const struct config_target *tg = &job->target;

	*k = (struct sort_key){.index = i, .name = ""};
	switch (tg->kind) {
	case CONFIG_TARGET_ENVIRONMENTS:
		k->rank = index_in(tg->values, tg->nvalues, t->env_id);
		return;
	case CONFIG_TARGET_SITES:
		k->rank = index_in(tg->values, tg->nvalues, t->site_name);
		break;
	default:
		k->name = t->site_name;
		break;
	}
	if (tg->nenvironments > 1) {
		k->phase =
		    index_in(tg->environments, tg->nenvironments, t->env_name);
		if (k->phase == tg->nenvironments)
			k->phase = 0; /* not one of the names: first */
	}
}

int
rollout_init(struct rollout *ro, const struct config_job *job,
             const struct target *const *t, size_t n)
{
	const struct config_rollout *cf = &job->rollout;
	struct sort_key *keys = calloc(n ? n : 1, sizeof(*keys));
	size_t wave = 0, in_phase = 0;

	*ro = (struct rollout){.n = n, .halt_after = cf->halt_after};
	ro->items = calloc(n ? n : 1, sizeof(*ro->items));
	ro->pos = calloc(n ? n : 1, sizeof(*ro->pos));
	if (keys == NULL || ro->items == NULL || ro->pos == NULL) {
		free(keys);
		rollout_free(ro);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		sort_key_of(job, t[i], i, &keys[i]);
	qsort(keys, n, sizeof(*keys), by_key);
	/* waves: per environment name, the canaries, then batches */
	for (size_t k = 0; k < n; k++) {
		struct rollout_item *it = &ro->items[k];

		if (k > 0 && keys[k].phase != keys[k - 1].phase) {
			wave++;
			in_phase = 0;
		} else if (k > 0 &&
		           ((cf->canary > 0 &&
		             in_phase == (size_t)cf->canary) ||
		            (cf->batch > 0 && in_phase > (size_t)cf->canary &&
		             (in_phase - (size_t)cf->canary) %
		                     (size_t)cf->batch ==
		                 0))) {
			wave++;
		}
		*it = (struct rollout_item){
		    .target = keys[k].index,
		    .phase = keys[k].phase,
		    .wave = wave,
		    .canary = in_phase < (size_t)cf->canary,
		    .t = t[keys[k].index],
		};
		ro->pos[keys[k].index] = k;
		in_phase++;
	}
	ro->nwaves = n ? wave + 1 : 0;
	free(keys);
	return 0;
}

void
rollout_free(struct rollout *ro)
{
	free(ro->items);
	free(ro->pos);
	ro->items = NULL;
	ro->pos = NULL;
	ro->n = 0;
}

/* How a target is named in messages: its site, or its environment id. */
static const char *
site_of(const struct target *t)
{
	return t->site_name[0] ? t->site_name : t->env_id;
}

void
rollout_ended(struct rollout *ro, size_t target, enum kinsta_outcome o,
              const char *message)
{
	struct rollout_item *it;

	if (target >= ro->n)
		return;
	it = &ro->items[ro->pos[target]];
	if (it->state == ROLLOUT_ENDED)
		return;
	it->state = ROLLOUT_ENDED;
	it->failed = o != KINSTA_SUCCEEDED && o != KINSTA_SKIPPED;
	if (!it->failed)
		return;
	snprintf(it->message, sizeof(it->message), "%s",
	         message && message[0] ? message : kinsta_outcome_name(o));
	ro->failures++;
	if (!ro->halted && ro->halt_after > 0 &&
	    ro->failures >= (size_t)ro->halt_after) {
		ro->halted = true;
		snprintf(ro->halt_msg, sizeof(ro->halt_msg),
		         "rollout halted after %.100s: %.130s", site_of(it->t),
		         it->message);
	}
}

/* An earlier environment of the same site that failed, or NULL. */
static const struct rollout_item *
failed_before(const struct rollout *ro, const struct rollout_item *it)
{
	if (it->phase == 0 || it->t->site_id[0] == '\0')
		return NULL;
	for (const struct rollout_item *p = ro->items; p < it; p++)
		if (p->phase < it->phase && p->failed &&
		    strcmp(p->t->site_id, it->t->site_id) == 0)
			return p;
	return NULL;
}

static bool
skip(struct rollout_item *it, struct rollout_move *mv, const char *why)
{
	it->state = ROLLOUT_ENDED;
	mv->target = it->target;
	mv->start = false;
	snprintf(mv->message, sizeof(mv->message), "%.*s",
	         (int)sizeof(mv->message) - 1, why);
	return true;
}

bool
rollout_next(struct rollout *ro, bool window_open, struct rollout_move *mv)
{
	for (;;) {
		bool all_ended = true;

		for (size_t k = 0; k < ro->n; k++) {
			struct rollout_item *it = &ro->items[k];
			const struct rollout_item *f;
			char why[ROLLOUT_MSG_MAX + TARGET_NAME_MAX + 16];

			if (it->state != ROLLOUT_WAITING) {
				all_ended &= it->state == ROLLOUT_ENDED;
				continue;
			}
			/* the rest never start: say why each of them */
			if (ro->halted)
				return skip(it, mv, ro->halt_msg);
			if (!window_open)
				return skip(it, mv, "window closed");
			if (it->wave >= ro->released)
				break;
			if ((f = failed_before(ro, it)) != NULL) {
				snprintf(why, sizeof(why), "%s failed: %s",
				         f->t->env_name, f->message);
				return skip(it, mv, why);
			}
			it->state = ROLLOUT_STARTED;
			mv->target = it->target;
			mv->start = true;
			mv->message[0] = '\0';
			return true;
		}
		/* every released target has been started; the next wave
		 * waits until all of them have ended */
		if (!all_ended || ro->released >= ro->nwaves)
			return false;
		ro->released++;
	}
}

bool
rollout_done(const struct rollout *ro)
{
	for (size_t k = 0; k < ro->n; k++)
		if (ro->items[k].state != ROLLOUT_ENDED)
			return false;
	return true;
}

const struct rollout_item *
rollout_at(const struct rollout *ro, size_t k)
{
	return k < ro->n ? &ro->items[k] : NULL;
}
