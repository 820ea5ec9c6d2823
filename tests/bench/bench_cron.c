/*
 * Benchmark of the schedule engine: nanoseconds per cron_parse and per
 * cron_next, in UTC and in DST zones.  Each figure is the median of 9 runs;
 * each run walks a schedule forward from 2026-01-01 for many fire times, so
 * DST transitions and month ends are crossed on the way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "cron.h"
#include "tz.h"

#define RUNS 9

static const char *const exprs[] = {
    "*/15 * * * *", "0 3 * * *",  "30 2 * * *",   "0 9 * * MON-FRI",
    "0 0 L * *",    "0 0 * * 5L", "H 3 * * *",    "*/10 * * * * *",
    "0 0 13 * FRI", "0 0 29 2 *", "@every 1h30m",
};

static double
bench_next(const struct cron *c, const struct tz *z, int n)
{
	double r[RUNS];

	for (int k = 0; k < RUNS; k++) {
		int64_t t = 1767225600; /* 2026-01-01T00:00:00Z */
		double t0 = bench_now_ns();

		for (int i = 0; i < n; i++)
			if (cron_next(c, z, t, &t) < 0)
				abort();
		r[k] = (bench_now_ns() - t0) / n;
	}
	bench_sort(r, RUNS);
	return r[RUNS / 2];
}

int
main(void)
{
	const char *zones[] = {"UTC", "Europe/Amsterdam", "America/New_York",
	                       "Australia/Lord_Howe"};
	size_t nexprs = sizeof(exprs) / sizeof(exprs[0]);
	double worst[4] = {0}, sum[4] = {0}, parse[RUNS], all[4][32];
	char err[256];
	struct cron c;

	printf("%-20s", "ns per next");
	for (int z = 0; z < 4; z++)
		printf(" %20s", zones[z]);
	printf("\n");
	for (size_t e = 0; e < nexprs; e++) {
		printf("%-20s", exprs[e]);
		if (cron_parse(&c, exprs[e], "bench", err, sizeof(err)) < 0)
			abort();
		for (int z = 0; z < 4; z++) {
			struct tz *zone = NULL;
			double ns;

			if (z > 0 &&
			    tz_load(&zone, zones[z], err, sizeof(err)) < 0) {
				fprintf(stderr, "%s\n", err);
				return 1;
			}
			ns = bench_next(&c, z ? zone : tz_utc(), 20000);
			printf(" %20.0f", ns);
			all[z][e] = ns;
			sum[z] += ns;
			if (ns > worst[z])
				worst[z] = ns;
			tz_free(zone);
		}
		printf("\n");
	}
	printf("%-20s", "median");
	for (int z = 0; z < 4; z++) {
		bench_sort(all[z], nexprs);
		printf(" %20.0f", all[z][nexprs / 2]);
	}
	printf("\n%-20s", "mean");
	for (int z = 0; z < 4; z++)
		printf(" %20.0f", sum[z] / nexprs);
	printf("\n%-20s", "worst expression");
	for (int z = 0; z < 4; z++)
		printf(" %20.0f", worst[z]);
	printf("\n");

	for (int k = 0; k < RUNS; k++) {
		double t0 = bench_now_ns();
		int n = 0;

		for (int i = 0; i < 2000; i++)
			for (size_t e = 0; e < nexprs; e++, n++)
				if (cron_parse(&c, exprs[e], "bench", err,
				               sizeof(err)) < 0)
					abort();
		parse[k] = (bench_now_ns() - t0) / n;
	}
	bench_sort(parse, RUNS);
	printf("ns per parse (median over the set): %.0f\n", parse[RUNS / 2]);
	return 0;
}
