/*
 * Benchmark for daemon/ratelimit.c: the cost of one enqueue + next with 100
 * accounts and 10 000 requests queued, on a fake clock paced at the IP
 * budget so that admissions keep flowing; and the cost of a next that finds
 * every account out of budget (the full scan that computes the wake time).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "ratelimit.h"

#define ACCOUNTS 100
#define QUEUED   10000
#define ROUNDS   2000000

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

static void
fill(struct ratelimit_req *r)
{
	uint32_t x = rng();
	int account = (int)(x % ACCOUNTS);
	enum ratelimit_class cls = (x >> 8) % 20 == 0   ? RATELIMIT_LOGS
	                           : (x >> 8) % 97 == 0 ? RATELIMIT_CREATE
	                                                : RATELIMIT_NORMAL;
	enum ratelimit_prio prio =
	    (x >> 16) % 4 == 0 ? RATELIMIT_POLL : RATELIMIT_WORK;

	ratelimit_req_init(r, account, cls, prio, (x >> 20) % 500);
}

int
main(void)
{
	struct ratelimit rl;
	struct ratelimit_req *pool = calloc(QUEUED + 1, sizeof *pool);
	struct ratelimit_req *spare, *r;
	int64_t now = 0, wake = 0;
	long admitted = 0, idle = 0;
	double t0, t1;

	if (pool == NULL || ratelimit_init(&rl, NULL, ACCOUNTS) < 0)
		return 1;
	for (int i = 0; i < QUEUED; i++) {
		fill(&pool[i]);
		if (ratelimit_enqueue(&rl, &pool[i]) < 0)
			return 1;
	}
	spare = &pool[QUEUED];

	/* Steady state: one in, one out; 60 ms per admission is the IP
	 * budget's pace, so next blocks only on per-class budgets. */
	t0 = bench_now_ns();
	for (long k = 0; k < ROUNDS; k++) {
		fill(spare);
		ratelimit_enqueue(&rl, spare);
		r = ratelimit_next(&rl, now, &wake);
		while (r == NULL) {
			idle++;
			now = wake;
			r = ratelimit_next(&rl, now, &wake);
		}
		admitted++;
		spare = r;
		now += 60;
	}
	t1 = bench_now_ns();
	printf("ratelimit enqueue+next: %.1f ns/op (%d accounts, %zu queued, "
	       "%ld admitted, %ld blocked calls)\n",
	       (t1 - t0) / ROUNDS, ACCOUNTS, ratelimit_queued(&rl), admitted,
	       idle);

	/* Everyone out of budget: each next scans all accounts. */
	while (ratelimit_next(&rl, now, &wake) != NULL)
		;
	t0 = bench_now_ns();
	for (long k = 0; k < ROUNDS / 10; k++)
		if (ratelimit_next(&rl, now, &wake) != NULL)
			return 1;
	t1 = bench_now_ns();
	printf("ratelimit next, all blocked: %.1f ns/op (%d accounts)\n",
	       (t1 - t0) / (ROUNDS / 10), ACCOUNTS);

	ratelimit_free(&rl);
	free(pool);
	return 0;
}
