/*
 * Benchmark for daemon/state.c: what a state.json write costs the event
 * loop (state_snapshot, a copy) and what it costs the thread pool
 * (state_encode; the write and fsync come on top).  Two shapes: the lateness
 * benchmark's (150 jobs, 100 operations in flight) and a large agency's (10 000
 * jobs, 1 000 operations).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "state.h"

static void
fill(struct state *st, int jobs, int ops)
{
	for (int i = 0; i < jobs; i++) {
		char name[64];

		snprintf(name, sizeof(name), "nightly-cache-clear-%d", i);
		if (state_set_last_fired(st, name, 1795000000 + i) < 0)
			abort();
	}
	for (int i = 0; i < ops; i++) {
		struct state_op op = {.run_id = 7000000000000ull + (uint64_t)i,
		                      .step = 1,
		                      .started_ms = 1795000000000 + i};

		snprintf(op.job, sizeof(op.job), "nightly-cache-clear-%d", i);
		snprintf(op.op_id, sizeof(op.op_id),
		         "cache:clear-environment-54fb80af-576c-4fdc-ba4f-"
		         "b596c83f%04d",
		         i);
		snprintf(op.target.env_id, sizeof(op.target.env_id),
		         "54fb80af-576c-4fdc-ba4f-b596c83f%04d", i);
		snprintf(op.target.env_name, sizeof(op.target.env_name),
		         "live");
		snprintf(op.target.site_id, sizeof(op.target.site_id),
		         "e3b4e59c-6e6e-4d6f-8b0b-1f0c2d3a%04d", i);
		snprintf(op.target.site_name, sizeof(op.target.site_name),
		         "client-site-%d", i);
		op.target.resolved = true;
		if (state_op_put(st, &op) < 0)
			abort();
	}
}

static void
run(int jobs, int ops, int rounds)
{
	struct state st = {0}, snap = {0}; /* snap: reused, as the daemon's */
	double *t = malloc(sizeof(*t) * (size_t)rounds);
	double *c = malloc(sizeof(*c) * (size_t)rounds);
	size_t len = 0;
	char err[STATE_MSG_MAX];

	if (t == NULL || c == NULL)
		abort();
	fill(&st, jobs, ops);
	for (int i = 0; i < rounds; i++) {
		char *out;
		double t0 = bench_now_ns();

		if (state_snapshot(&st, &snap) < 0)
			abort();
		c[i] = bench_now_ns() - t0;
		t0 = bench_now_ns();
		if (state_encode(&st, &out, &len, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			exit(1);
		}
		t[i] = bench_now_ns() - t0;
		free(out);
	}
	bench_sort(t, (size_t)rounds);
	bench_sort(c, (size_t)rounds);
	printf("%5d jobs %4d ops (%7zu bytes): state_snapshot median %7.1f us "
	       "p99 %7.1f us (loop); state_encode median %7.1f us p99 %7.1f us "
	       "(thread pool)\n",
	       jobs, ops, len, c[rounds / 2] / 1e3, c[rounds * 99 / 100] / 1e3,
	       t[rounds / 2] / 1e3, t[rounds * 99 / 100] / 1e3);
	state_free(&snap);
	state_free(&st);
	free(t);
	free(c);
}

int
main(void)
{
	/* malloc as the daemon sets it (daemon.c): where big blocks go, and
	 * so what they cost in page faults, depends on it */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	run(150, 100, 2000);
	run(10000, 1000, 200);
	return 0;
}
