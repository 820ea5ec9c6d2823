/*
 * Benchmark for daemon/notify.c: what the end of a fire costs the event
 * loop when it is told (notify_decide, then the Slack, JSON and email
 * renderings, as notifier does them one after the other), for a fire over
 * 5 environments, over 200 (an agency's all_sites job) and over 10 000
 * with half failed (the list is capped at NOTIFY_LIST_MAX, so the body is
 * bounded whatever the fire).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "config.h"
#include "exec.h"
#include "notify.h"

static const char conf[] =
    "accounts = ( { name = \"a\"; company = "
    "\"0b0e6f4c-1a2b-4c3d-8e9f-0123456789ab\"; } );\n"
    "notify = { webhook = \"https://hooks.example.com/x\"; repeat_every = 0; "
    "};\n"
    "jobs = ( { name = \"nightly-plugins\"; schedule = \"0 3 * * *\";"
    " action = \"update-plugins\"; all_sites = true; } );\n";

static void
run(const struct config *cfg, size_t n, int rounds)
{
	static const char *const to[] = {"ops@example.com"};
	struct exec_fire f = {0};
	struct exec_fire_target *t = calloc(n, sizeof(*t));
	double *d = malloc(sizeof(*d) * (size_t)rounds);
	size_t bytes = 0;

	if (t == NULL || d == NULL)
		abort();
	f.cfg = cfg;
	f.job = &cfg->jobs[0];
	f.run_id = 7330011232108544ull;
	f.started_ms = 1796526000000;
	f.ended_ms = f.started_ms + 252000;
	f.targets = t;
	f.ntargets = f.nended = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(t[i].target.site_name, sizeof(t[i].target.site_name),
		         "client-site-%zu", i);
		snprintf(t[i].target.env_name, sizeof(t[i].target.env_name),
		         "live");
		snprintf(t[i].target.env_id, sizeof(t[i].target.env_id),
		         "54fb80af-576c-4fdc-ba4f-b596c83f%04zu", i % 10000);
		t[i].outcome = i % 2 ? KINSTA_FAILED : KINSTA_SUCCEEDED;
		t[i].message = (char *)(i % 2 ? "Plugin update failed: the "
		                                "site returned HTTP 500 after "
		                                "the update of woocommerce"
		                              : "");
		t[i].note = (char *)"";
		f.count[t[i].outcome]++;
	}
	for (int r = 0; r < rounds; r++) {
		struct notify_memory m = {0};
		struct notify_msg msg;
		char *a, *b, *c;
		size_t la, lb, lc;
		double t0 = bench_now_ns();

		notify_decide(cfg->notify, &f, &m, f.ended_ms, &msg);
		if (notify_slack(&msg, &f, &a, &la) < 0 ||
		    notify_json(&msg, &f, &b, &lb) < 0 ||
		    notify_email(&msg, &f, NULL, to, 1, "web1.example.com",
		                 f.ended_ms, &c, &lc) < 0)
			abort();
		d[r] = bench_now_ns() - t0;
		bytes = la + lb + lc;
		free(a);
		free(b);
		free(c);
	}
	bench_sort(d, (size_t)rounds);
	printf("%6zu environments, half failed: decide + slack + json + email "
	       "median %7.1f us p99 %7.1f us (loop), %zu bytes in all\n",
	       n, d[rounds / 2] / 1e3, d[rounds * 99 / 100] / 1e3, bytes);
	free(t);
	free(d);
}

int
main(void)
{
	struct config_errors errs = {0};
	struct config *cfg = NULL;

	if (config_load_string(conf, "bench.conf", CONFIG_LOAD_NO_KEYS, &cfg,
	                       &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		return 1;
	}
	run(cfg, 5, 2000);
	run(cfg, 200, 1000);
	run(cfg, 10000, 200);
	config_free(cfg);
	config_errors_free(&errs);
	return 0;
}
