/*
 * envlock: one action at a time on an environment.
 *
 * Kinsta refuses a second operation on an environment that is busy ("The
 * environment is blocked by another process"), so two runs never act on
 * one environment at once: the second waits for the first, in arrival
 * order, and holds the environment for all its steps (a backup, then its
 * rotation; a list, a backup, then the update).  Pure: the nodes are
 * embedded in their owners, nothing is allocated, nothing is timed.
 */
#ifndef KCRON_ENVLOCK_H
#define KCRON_ENVLOCK_H

#include <stdbool.h>

struct envlock_node {
	const char *env;    /* the environment id (owned by the owner) */
	const char *holder; /* who wants it, for messages (a job name) */
	bool held;
	struct envlock_node *prev, *next;
};

struct envlock {
	struct envlock_node *head, *tail; /* every node, in arrival order */
};

/* Ask for env on behalf of holder with node n: true when n holds it now,
 * false when n waits behind another node. */
bool envlock_acquire(struct envlock *l, struct envlock_node *n, const char *env,
                     const char *holder);

/* n lets go (held) or gives up waiting: the node that holds env now in its
 * place, or NULL. */
struct envlock_node *envlock_release(struct envlock *l, struct envlock_node *n);

/* The node holding env, or NULL. */
const struct envlock_node *envlock_holder(const struct envlock *l,
                                          const char *env);

#endif
