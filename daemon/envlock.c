/*
 * envlock: environments held by runs, waiters in arrival order.  A list
 * walk per call: the list holds the runs in flight, and a fleet's runs of
 * one burst are spread over its environments.
 */
#include <stddef.h>
#include <string.h>

#include "envlock.h"

static struct envlock_node *
first_for(const struct envlock *l, const char *env)
{
	for (struct envlock_node *n = l->head; n != NULL; n = n->next)
		if (strcmp(n->env, env) == 0)
			return n;
	return NULL;
}

bool
envlock_acquire(struct envlock *l, struct envlock_node *n, const char *env,
                const char *holder)
{
	n->env = env;
	n->holder = holder;
	n->held = first_for(l, env) == NULL;
	n->next = NULL;
	n->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = n;
	else
		l->head = n;
	l->tail = n;
	return n->held;
}

struct envlock_node *
envlock_release(struct envlock *l, struct envlock_node *n)
{
	struct envlock_node *next;

	if (n->prev == NULL && l->head != n)
		return NULL; /* never acquired, or released already */
	if (n->prev != NULL)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next != NULL)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
	n->prev = n->next = NULL;
	if (!n->held)
		return NULL;
	n->held = false;
	if ((next = first_for(l, n->env)) == NULL)
		return NULL;
	next->held = true;
	return next;
}

const struct envlock_node *
envlock_holder(const struct envlock *l, const char *env)
{
	const struct envlock_node *n = first_for(l, env);

	return n != NULL && n->held ? n : NULL;
}
