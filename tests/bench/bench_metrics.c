/*
 * bench_metrics: what the metrics cost the loop, and what `history` costs.
 *
 * - metrics_render of 10 and 10,000 jobs that have all run (every family
 *   present, histograms too), and metrics_copy: the textfile copies on
 *   the loop and renders in the thread pool, at most once a second;
 *   /metrics renders on the loop;
 * - metrics_run_ended at 10,000 jobs (a binary search and a few adds);
 * - the newest 20 entries of a history.jsonl of 1,000,000 lines (about
 *   300 MB is too much for a benchmark's disk: 200,000 lines, 60 MB),
 *   against reading the whole file forwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "history.h"
#include "metrics.h"

static void
fill(struct metrics *m, int njobs)
{
	char name[32];

	metrics_init(m);
	m->version = "bench";
	for (int i = 0; i < njobs; i++) {
		struct metrics_job *j;

		snprintf(name, sizeof(name), "job-%05d", i);
		j = metrics_job(m, name);
		metrics_fire_started(j, 1774753200000);
		metrics_run_ended(j, KINSTA_SUCCEEDED, 1774753200000,
		                  1774753260000);
		metrics_fire_ended(j, KINSTA_SUCCEEDED, 1774753200000,
		                   1774753260000);
		j->next_s = 1774839600;
	}
	for (int a = 0; a < 5; a++) {
		snprintf(name, sizeof(name), "account-%d", a);
		metrics_account_add(m, name)->budget_limit = 120;
	}
}

static void
bench_render(int njobs, int reps)
{
	struct metrics m;
	double *t = calloc((size_t)reps, sizeof(*t));
	size_t len = 0;

	fill(&m, njobs);
	for (int r = 0; r < reps; r++) {
		double t0 = bench_now_ns();
		char *out;

		metrics_render(&m, &out, &len);
		t[r] = bench_now_ns() - t0;
		free(out);
	}
	bench_sort(t, (size_t)reps);
	printf("metrics_render %6d jobs: median %8.3f ms, %7.1f kB\n", njobs,
	       t[reps / 2] / 1e6, (double)len / 1024);
	for (int r = 0; r < reps; r++) {
		struct metrics copy;
		double t0 = bench_now_ns();

		metrics_copy(&m, &copy);
		t[r] = bench_now_ns() - t0;
		metrics_free(&copy);
	}
	bench_sort(t, (size_t)reps);
	printf("metrics_copy   %6d jobs: median %8.3f ms (on the loop; the "
	       "textfile renders the copy in the thread pool)\n",
	       njobs, t[reps / 2] / 1e6);
	free(t);
	metrics_free(&m);
}

static void
bench_run_ended(void)
{
	struct metrics m;
	char name[32];
	const int n = 1000000;
	double t0;

	fill(&m, 10000);
	t0 = bench_now_ns();
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "job-%05d",
		         (int)(((long)i * 7919) % 10000));
		metrics_run_ended(metrics_job_find(&m, name), KINSTA_FAILED, 0,
		                  i % 100000);
	}
	printf("metrics_run_ended (10000 jobs, with the lookup): %.0f ns "
	       "each\n",
	       (bench_now_ns() - t0) / n);
	metrics_free(&m);
}

static void
bench_history(void)
{
	char path[] = "/tmp/bench_history_XXXXXX", err[256];
	const int lines = 200000;
	struct history_reader *r;
	struct history_entry e;
	FILE *f;
	int fd = mkstemp(path), got = 0;
	double t0, newest, whole;
	char *line = NULL;
	size_t cap = 0;
	long bytes;

	if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
		return;
	for (int i = 0; i < lines; i++)
		fprintf(f,
		        "{\"job\":\"job-%05d\",\"action\":\"clear-cache\","
		        "\"env_id\":\"a1111111-1111-4111-8111-111111111111\","
		        "\"target\":\"alphasite/live\",\"run_id\":\"%d\","
		        "\"op_id\":\"cache:clear-a1111111\",\"outcome\":"
		        "\"succeeded\",\"message\":\"The cache was cleared\","
		        "\"note\":\"\",\"start\":\"2026-03-29T01:00:00.000Z\","
		        "\"start_ms\":%d,\"end\":\"2026-03-29T01:00:04.000Z\","
		        "\"end_ms\":%d,\"duration_ms\":4000}\n",
		        i % 10000, i, i, i + 4000);
	bytes = ftell(f);
	fclose(f);
	t0 = bench_now_ns();
	if (history_open(&r, path, err, sizeof(err)) == 0) {
		while (got < 20 && history_next(r, &e, err, sizeof(err)) == 1)
			got++;
		history_close(r);
	}
	newest = bench_now_ns() - t0;
	t0 = bench_now_ns();
	if ((f = fopen(path, "r")) != NULL) {
		while (getline(&line, &cap, f) > 0)
			;
		fclose(f);
	}
	whole = bench_now_ns() - t0;
	free(line);
	printf("history: newest 20 of %d lines (%.1f MB): %.3f ms; reading "
	       "the whole file forwards (no parsing): %.1f ms\n",
	       lines, (double)bytes / 1e6, newest / 1e6, whole / 1e6);
	unlink(path);
}

int
main(void)
{
	bench_render(10, 101);
	bench_render(10000, 11);
	bench_run_ended();
	bench_history();
	return 0;
}
