/*
 * Benchmark for tz: nanoseconds per tz_span_at (and tz_wall_to_utc) on
 * Europe/Amsterdam at instants spread over 2000-2100, which exercises the
 * explicit transitions (to 2037) and the footer rule (after) alike.
 * Prints the median of several runs; timing is not a test.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "tz.h"

#define N    (1 << 20)
#define RUNS 7

/* Median ns per call of one pass of `what` over the instants. */
static double
bench(const struct tz *z, const int64_t *t, int what, int64_t *sink)
{
	double runs[RUNS];

	for (int r = 0; r < RUNS; r++) {
		double t0 = bench_now_ns();

		for (size_t i = 0; i < N; i++) {
			struct tz_span s;
			int64_t u;

			if (what == 0) {
				tz_span_at(z, t[i], &s);
				*sink += s.start ^ s.end ^ s.offset;
			} else {
				tz_wall_to_utc(z, t[i], &u);
				*sink += u;
			}
		}
		runs[r] = (bench_now_ns() - t0) / N;
	}
	bench_sort(runs, RUNS);
	return runs[RUNS / 2];
}

int
main(void)
{
	const int64_t from = 946684800LL;         /* 2000-01-01 */
	const int64_t span = 4102444800LL - from; /* to 2100-01-01 */
	const int64_t split = 2139958800LL;       /* 2037-10-25: last entry */
	struct tz *z = NULL;
	char err[256];
	int64_t *t = malloc(N * sizeof(*t)), *early = malloc(N * sizeof(*t));
	int64_t *late = malloc(N * sizeof(*t)), sink = 0;
	uint64_t x = 88172645463325252ULL;

	if (t == NULL || early == NULL || late == NULL ||
	    tz_load(&z, "Europe/Amsterdam", err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_tz: %s\n", z ? "out of memory" : err);
		return 1;
	}
	for (size_t i = 0; i < N; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		t[i] = from + (int64_t)(x % (uint64_t)span);
		early[i] = from + (int64_t)(x % (uint64_t)(split - from));
		late[i] =
		    split + (int64_t)(x % (uint64_t)(from + span - split));
	}
	printf("tz_span_at Europe/Amsterdam 2000-2100: %.1f ns/call\n",
	       bench(z, t, 0, &sink));
	printf("tz_span_at Europe/Amsterdam 2000-2037 (table): %.1f ns/call\n",
	       bench(z, early, 0, &sink));
	printf("tz_span_at Europe/Amsterdam 2037-2100 (rule): %.1f ns/call\n",
	       bench(z, late, 0, &sink));
	printf("tz_wall_to_utc Europe/Amsterdam 2000-2100: %.1f ns/call\n",
	       bench(z, t, 1, &sink));
	fprintf(stderr, "(checksum %" PRId64 ")\n", sink);
	tz_free(z);
	free(t);
	free(early);
	free(late);
	return 0;
}
