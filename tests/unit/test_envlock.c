/*
 * Tests for daemon/envlock.c: who holds an environment, who waits, the
 * hand-over in arrival order, giving up, harmless double releases, and a
 * long random sequence checked step by step against a simple model.
 */
#include <stdbool.h>
#include <stdint.h>

#include "envlock.h"
#include "test.h"

/* The job named by env's holder, or NULL when nobody holds env. */
static const char *
holder_of(const struct envlock *l, const char *env)
{
	const struct envlock_node *n = envlock_holder(l, env);

	return n != NULL ? n->holder : NULL;
}

static void
test_basic(void)
{
	struct envlock l = {0};
	struct envlock_node a = {0}, b = {0}, c = {0};
	char e1_copy[] = "env-1";

	CHECK(envlock_holder(&l, "env-1") == NULL);
	CHECK(envlock_acquire(&l, &a, "env-1", "job-a"));
	CHECK(a.held);
	CHECK(envlock_holder(&l, "env-1") == &a);
	CHECK_STR(holder_of(&l, "env-1"), "job-a");

	/* the same environment, spelled by another pointer: waits */
	CHECK(!envlock_acquire(&l, &b, e1_copy, "job-b"));
	CHECK(!b.held);
	CHECK(envlock_holder(&l, "env-1") == &a);

	/* another environment: held at once */
	CHECK(envlock_acquire(&l, &c, "env-2", "job-c"));
	CHECK(c.held);
	CHECK(envlock_holder(&l, "env-2") == &c);
	CHECK_STR(holder_of(&l, "env-2"), "job-c");
	CHECK(envlock_holder(&l, "env-1") == &a);
	CHECK(envlock_holder(&l, "env-3") == NULL);

	/* a lets go: b holds env-1; env-2 is untouched */
	CHECK(envlock_release(&l, &a) == &b);
	CHECK(b.held);
	CHECK(!a.held);
	CHECK(envlock_holder(&l, "env-1") == &b);
	CHECK_STR(holder_of(&l, "env-1"), "job-b");
	CHECK(envlock_holder(&l, "env-2") == &c);

	/* c lets go with nobody waiting */
	CHECK(envlock_release(&l, &c) == NULL);
	CHECK(!c.held);
	CHECK(envlock_holder(&l, "env-2") == NULL);
	CHECK(envlock_release(&l, &b) == NULL);
	CHECK(envlock_holder(&l, "env-1") == NULL);
	CHECK(l.head == NULL && l.tail == NULL);

	/* a node can be used again once released */
	CHECK(envlock_acquire(&l, &a, "env-2", "job-a2"));
	CHECK(envlock_holder(&l, "env-2") == &a);
	CHECK_STR(holder_of(&l, "env-2"), "job-a2");
	CHECK(envlock_release(&l, &a) == NULL);
	CHECK(l.head == NULL && l.tail == NULL);
}

static void
test_fifo(void)
{
	struct envlock l = {0};
	struct envlock_node h = {0}, w[3] = {{0}}, o = {0};

	CHECK(envlock_acquire(&l, &h, "e", "holder"));
	CHECK(!envlock_acquire(&l, &w[0], "e", "w0"));
	/* another environment in between does not disturb the order */
	CHECK(envlock_acquire(&l, &o, "other", "o"));
	CHECK(!envlock_acquire(&l, &w[1], "e", "w1"));
	CHECK(!envlock_acquire(&l, &w[2], "e", "w2"));

	CHECK(envlock_release(&l, &h) == &w[0]);
	CHECK(w[0].held && !w[1].held && !w[2].held);
	CHECK(envlock_release(&l, &w[0]) == &w[1]);
	CHECK(w[1].held && !w[2].held);
	CHECK(envlock_release(&l, &w[1]) == &w[2]);
	CHECK(w[2].held);
	CHECK_STR(holder_of(&l, "e"), "w2");
	CHECK(envlock_release(&l, &w[2]) == NULL);
	CHECK(envlock_holder(&l, "e") == NULL);
	CHECK(envlock_holder(&l, "other") == &o);
	CHECK(envlock_release(&l, &o) == NULL);
	CHECK(l.head == NULL && l.tail == NULL);
}

static void
test_give_up(void)
{
	struct envlock l = {0};
	struct envlock_node h = {0}, w[3] = {{0}};

	envlock_acquire(&l, &h, "e", "holder");
	envlock_acquire(&l, &w[0], "e", "w0");
	envlock_acquire(&l, &w[1], "e", "w1");
	envlock_acquire(&l, &w[2], "e", "w2");

	/* the middle waiter gives up: nothing changes hands */
	CHECK(envlock_release(&l, &w[1]) == NULL);
	CHECK(envlock_holder(&l, "e") == &h);
	CHECK(h.held && !w[0].held && !w[1].held && !w[2].held);
	/* the last waiter gives up */
	CHECK(envlock_release(&l, &w[2]) == NULL);
	CHECK(envlock_holder(&l, "e") == &h);
	CHECK(l.tail == &w[0]);
	/* one comes back: at the end of the line */
	CHECK(!envlock_acquire(&l, &w[2], "e", "w2 again"));
	CHECK(envlock_release(&l, &h) == &w[0]);
	CHECK(envlock_release(&l, &w[0]) == &w[2]);
	CHECK(envlock_holder(&l, "e") == &w[2]);
	CHECK(envlock_release(&l, &w[2]) == NULL);
	CHECK(l.head == NULL && l.tail == NULL);
}

static void
test_harmless_releases(void)
{
	struct envlock l = {0};
	struct envlock_node a = {0}, b = {0}, c = {0}, never = {0};

	/* nothing acquired at all */
	CHECK(envlock_release(&l, &never) == NULL);
	CHECK(l.head == NULL && l.tail == NULL);

	envlock_acquire(&l, &a, "e", "a");
	envlock_acquire(&l, &b, "e", "b");
	envlock_acquire(&l, &c, "e", "c");
	CHECK(envlock_release(&l, &never) == NULL);
	CHECK(envlock_holder(&l, "e") == &a);
	CHECK(l.head == &a && l.tail == &c);

	CHECK(envlock_release(&l, &a) == &b);
	/* a second release of a (now neither holding nor waiting) */
	CHECK(envlock_release(&l, &a) == NULL);
	CHECK(envlock_holder(&l, "e") == &b);
	CHECK(b.held && !c.held);
	CHECK(l.head == &b && l.tail == &c);

	/* a waiter released twice */
	CHECK(envlock_release(&l, &c) == NULL);
	CHECK(envlock_release(&l, &c) == NULL);
	CHECK(l.head == &b && l.tail == &b);
	CHECK(envlock_holder(&l, "e") == &b);

	CHECK(envlock_release(&l, &b) == NULL);
	CHECK(envlock_release(&l, &b) == NULL);
	CHECK(l.head == NULL && l.tail == NULL);
	CHECK(envlock_holder(&l, "e") == NULL);
}

/* ---- a long random sequence against a model ---------------------------- */

#define NNODES 200
#define NENVS  7

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

static const char *const envs[NENVS] = {"env-0", "env-1", "env-2", "env-3",
                                        "env-4", "env-5", "env-6"};

struct model {
	int queue[NENVS][NNODES]; /* node indices in arrival order */
	int len[NENVS];
	int env_of[NNODES]; /* -1: not in the lock */
};

static int
model_pos(const struct model *m, int node)
{
	int e = m->env_of[node];

	for (int i = 0; e >= 0 && i < m->len[e]; i++)
		if (m->queue[e][i] == node)
			return i;
	return -1;
}

/* The whole state against the model; false when anything disagrees. */
static bool
consistent(const struct envlock *l, const struct envlock_node *nodes,
           const struct model *m)
{
	bool ok = true;
	int count = 0, held[NENVS] = {0};
	const struct envlock_node *prev = NULL;

	/* the list is well linked, and has exactly the model's nodes */
	for (const struct envlock_node *n = l->head; n != NULL; n = n->next) {
		int i = (int)(n - nodes);

		if (n->prev != prev || i < 0 || i >= NNODES ||
		    m->env_of[i] < 0 || n->env != envs[m->env_of[i]])
			ok = false;
		if (n->held && i >= 0 && i < NNODES && m->env_of[i] >= 0)
			held[m->env_of[i]]++;
		prev = n;
		if (++count > NNODES)
			return false; /* a cycle */
	}
	if (l->tail != prev)
		ok = false;
	for (int e = 0; e < NENVS; e++) {
		const struct envlock_node *h = envlock_holder(l, envs[e]);

		count -= m->len[e];
		/* never two holders; never a free env with someone waiting */
		if (held[e] != (m->len[e] > 0 ? 1 : 0))
			ok = false;
		if (m->len[e] == 0 ? h != NULL : h != &nodes[m->queue[e][0]])
			ok = false;
		for (int i = 0; i < m->len[e]; i++)
			if (nodes[m->queue[e][i]].held != (i == 0))
				ok = false;
	}
	if (count != 0)
		ok = false;
	for (int i = 0; i < NNODES; i++)
		if (m->env_of[i] < 0 && nodes[i].held)
			ok = false;
	return ok;
}

static void
model_release(struct model *m, int node, int *want_next)
{
	int e = m->env_of[node], pos = model_pos(m, node);

	*want_next = -1;
	if (pos < 0)
		return;
	memmove(&m->queue[e][pos], &m->queue[e][pos + 1],
	        (size_t)(m->len[e] - pos - 1) * sizeof(int));
	m->len[e]--;
	m->env_of[node] = -1;
	if (pos == 0 && m->len[e] > 0)
		*want_next = m->queue[e][0];
}

static void
test_random_model(void)
{
	static struct envlock_node nodes[NNODES];
	static struct model m;
	static char names[NNODES][16];
	struct envlock l = {0};
	int order[NNODES], bad_steps = 0, handovers = 0, waits = 0;

	memset(nodes, 0, sizeof(nodes));
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < NNODES; i++) {
		m.env_of[i] = -1;
		snprintf(names[i], sizeof(names[i]), "job-%d", i);
	}

	/* mixed: acquire free nodes, release held, waiting or free ones */
	for (int step = 0; step < 20000; step++) {
		int i = (int)(rng() % NNODES), want_next;
		struct envlock_node *got;

		if (m.env_of[i] < 0 && rng() % 3 != 0) {
			int e = (int)(rng() % NENVS);
			bool want = m.len[e] == 0;

			m.queue[e][m.len[e]++] = i;
			m.env_of[i] = e;
			waits += !want;
			if (envlock_acquire(&l, &nodes[i], envs[e], names[i]) !=
			    want)
				bad_steps++;
		} else {
			model_release(&m, i, &want_next);
			got = envlock_release(&l, &nodes[i]);
			handovers += want_next >= 0;
			if (got != (want_next < 0 ? NULL : &nodes[want_next]))
				bad_steps++;
		}
		if (!consistent(&l, nodes, &m))
			bad_steps++;
	}

	/* then everything, in a shuffled order (fixed seed), twice over */
	for (int i = 0; i < NNODES; i++)
		order[i] = i;
	for (int i = NNODES - 1; i > 0; i--) {
		int j = (int)(rng() % (uint32_t)(i + 1)), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < NNODES; i++) {
		int want_next;

		model_release(&m, order[i], &want_next);
		if (envlock_release(&l, &nodes[order[i]]) !=
		    (want_next < 0 ? NULL : &nodes[want_next]))
			bad_steps++;
		if (!consistent(&l, nodes, &m))
			bad_steps++;
	}
	for (int i = 0; i < NNODES; i++)
		if (envlock_release(&l, &nodes[i]) != NULL)
			bad_steps++;
	CHECK_INT(bad_steps, 0);
	CHECK(l.head == NULL && l.tail == NULL);
	/* the sequence did exercise the interesting cases */
	CHECK(waits > 1000);
	CHECK(handovers > 500);
}

int
main(void)
{
	test_basic();
	test_fifo();
	test_give_up();
	test_harmless_releases();
	test_random_model();
	return test_report("test_envlock");
}
