/*
 * Tests for daemon/metrics.c: the store (jobs sorted, kept across a
 * reload, dropped when gone), what a fire and a run count, the histogram,
 * the HTTP classes, and the exposition itself: HELP and TYPE before each
 * family, label values escaped, cumulative buckets, seconds from
 * milliseconds.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "test.h"

static char *
render(const struct metrics *m)
{
	char *out = NULL;
	size_t len = 0;

	CHECK_INT(metrics_render(m, &out, &len), 0);
	CHECK(out != NULL);
	if (out == NULL)
		return strdup("");
	CHECK_INT(strlen(out), len);
	return out;
}

/* Does text hold line (a whole line)? */
static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return true;
	return false;
}

static void
test_store(void)
{
	struct metrics m;
	struct metrics_job *a, *b, *c;

	metrics_init(&m);
	c = metrics_job(&m, "c");
	a = metrics_job(&m, "a");
	CHECK(c != NULL && a != NULL);
	b = metrics_job(&m, "b");
	CHECK_INT(m.njobs, 3);
	CHECK_STR(m.jobs[0].name, "a");
	CHECK_STR(m.jobs[1].name, "b");
	CHECK_STR(m.jobs[2].name, "c");
	CHECK(b == &m.jobs[1]);
	CHECK(metrics_job(&m, "b") == &m.jobs[1]);
	CHECK_INT(m.njobs, 3);
	CHECK(metrics_job_find(&m, "zz") == NULL);
	CHECK_INT(m.jobs[0].next_s, -1);
	CHECK_INT(m.jobs[0].last_outcome, KINSTA_RUNNING);
	metrics_free(&m);
	CHECK_INT(m.njobs, 0);
}

static bool
keep_not_b(const char *name, void *arg)
{
	(void)arg;
	return strcmp(name, "b") != 0;
}

static void
test_keep(void)
{
	struct metrics m;

	metrics_init(&m);
	metrics_run_ended(metrics_job(&m, "a"), KINSTA_SUCCEEDED, 0, 1000);
	metrics_job(&m, "b");
	metrics_run_ended(metrics_job(&m, "c"), KINSTA_FAILED, 0, 1000);
	metrics_jobs_keep(&m, keep_not_b, NULL);
	CHECK_INT(m.njobs, 2);
	CHECK(metrics_job_find(&m, "b") == NULL);
	/* the counters of the jobs kept are kept */
	CHECK_INT(metrics_job_find(&m, "a")->runs[KINSTA_SUCCEEDED], 1);
	CHECK_INT(metrics_job_find(&m, "c")->runs[KINSTA_FAILED], 1);
	metrics_free(&m);
}

static void
test_fires(void)
{
	struct metrics m;
	struct metrics_job *j;

	metrics_init(&m);
	j = metrics_job(&m, "nightly");
	metrics_fire_started(j, 1000000);
	CHECK_INT(j->last_run_ms, 1000000);
	CHECK_INT(j->last_outcome, KINSTA_RUNNING);
	metrics_fire_ended(j, KINSTA_SUCCEEDED, 1000000, 1005000);
	CHECK_INT(j->last_success_ms, 1005000);
	CHECK_INT(j->last_end_ms, 1005000);
	metrics_fire_started(j, 2000000);
	metrics_fire_ended(j, KINSTA_FAILED, 2000000, 2001000);
	CHECK_INT(j->last_outcome, KINSTA_FAILED);
	CHECK_INT(j->last_success_ms, 1005000);
	CHECK_INT(j->last_end_ms, 2001000);
	/* a resumed fire that started earlier does not move last_run back */
	metrics_fire_ended(j, KINSTA_SUCCEEDED, 1500000, 2002000);
	CHECK_INT(j->last_run_ms, 2000000);
	CHECK_INT(j->last_success_ms, 2002000);
	metrics_free(&m);
}

static void
test_fire_outcome(void)
{
	size_t count[KINSTA_OUTCOMES] = {0};

	CHECK_INT(metrics_fire_outcome(count), KINSTA_RUNNING);
	count[KINSTA_SKIPPED] = 3;
	CHECK_INT(metrics_fire_outcome(count), KINSTA_SKIPPED);
	count[KINSTA_SUCCEEDED] = 1;
	CHECK_INT(metrics_fire_outcome(count), KINSTA_SUCCEEDED);
	count[KINSTA_TIMED_OUT] = 1;
	CHECK_INT(metrics_fire_outcome(count), KINSTA_TIMED_OUT);
	count[KINSTA_FAILED] = 1;
	CHECK_INT(metrics_fire_outcome(count), KINSTA_FAILED);
	count[KINSTA_TIMED_OUT] = 0;
	count[KINSTA_SKIPPED] = 0;
	CHECK_INT(metrics_fire_outcome(count), KINSTA_FAILED);
	CHECK_INT(metrics_worse(KINSTA_TIMED_OUT, KINSTA_FAILED),
	          KINSTA_FAILED);
	CHECK_INT(metrics_worse(KINSTA_SUCCEEDED, KINSTA_SKIPPED),
	          KINSTA_SUCCEEDED);
	CHECK_INT(metrics_worse(KINSTA_RUNNING, KINSTA_SKIPPED),
	          KINSTA_SKIPPED);
}

static void
test_histogram(void)
{
	struct metrics m;
	struct metrics_job *j;
	char *text;

	metrics_init(&m);
	j = metrics_job(&m, "h");
	metrics_run_ended(j, KINSTA_SUCCEEDED, 0, 500);      /* <= 1 */
	metrics_run_ended(j, KINSTA_SUCCEEDED, 0, 1000);     /* <= 1 */
	metrics_run_ended(j, KINSTA_FAILED, 0, 1001);        /* <= 5 */
	metrics_run_ended(j, KINSTA_TIMED_OUT, 0, 100000);   /* <= 120 */
	metrics_run_ended(j, KINSTA_SKIPPED, 10, 0);         /* clock back: 0 */
	metrics_run_ended(j, KINSTA_SUCCEEDED, 0, 90000000); /* +Inf */
	CHECK_INT(j->count, 6);
	CHECK_INT(j->sum_ms, 500 + 1000 + 1001 + 100000 + 90000000);
	CHECK_INT(j->runs[KINSTA_SUCCEEDED], 3);
	CHECK_INT(j->runs[KINSTA_FAILED], 1);
	CHECK_INT(j->runs[KINSTA_TIMED_OUT], 1);
	CHECK_INT(j->runs[KINSTA_SKIPPED], 1);
	text = render(&m);
	CHECK(has_line(text, "kinsta_cron_job_run_duration_seconds_bucket"
	                     "{job_name=\"h\",le=\"1\"} 3"));
	CHECK(has_line(text, "kinsta_cron_job_run_duration_seconds_bucket"
	                     "{job_name=\"h\",le=\"5\"} 4"));
	CHECK(has_line(text, "kinsta_cron_job_run_duration_seconds_bucket"
	                     "{job_name=\"h\",le=\"60\"} 4"));
	CHECK(has_line(text, "kinsta_cron_job_run_duration_seconds_bucket"
	                     "{job_name=\"h\",le=\"120\"} 5"));
	CHECK(has_line(text, "kinsta_cron_job_run_duration_seconds_bucket"
	                     "{job_name=\"h\",le=\"86400\"} 5"));
	CHECK(has_line(text, "kinsta_cron_job_run_duration_seconds_bucket"
	                     "{job_name=\"h\",le=\"+Inf\"} 6"));
	CHECK(has_line(text, "kinsta_cron_job_run_duration_seconds_sum"
	                     "{job_name=\"h\"} 90102.501"));
	CHECK(has_line(text, "kinsta_cron_job_run_duration_seconds_count"
	                     "{job_name=\"h\"} 6"));
	CHECK(has_line(text, "kinsta_cron_job_runs_total"
	                     "{job_name=\"h\",outcome=\"succeeded\"} 3"));
	CHECK(has_line(text, "kinsta_cron_job_runs_total"
	                     "{job_name=\"h\",outcome=\"timed-out\"} 1"));
	CHECK(strstr(text, "outcome=\"running\"") == NULL);
	free(text);
	metrics_free(&m);
}

static void
test_classes(void)
{
	CHECK_INT(metrics_http_class(0), METRICS_HTTP_ERROR);
	CHECK_INT(metrics_http_class(99), METRICS_HTTP_ERROR);
	CHECK_INT(metrics_http_class(100), METRICS_HTTP_1XX);
	CHECK_INT(metrics_http_class(200), METRICS_HTTP_2XX);
	CHECK_INT(metrics_http_class(202), METRICS_HTTP_2XX);
	CHECK_INT(metrics_http_class(304), METRICS_HTTP_3XX);
	CHECK_INT(metrics_http_class(429), METRICS_HTTP_4XX);
	CHECK_INT(metrics_http_class(599), METRICS_HTTP_5XX);
	CHECK_INT(metrics_http_class(600), METRICS_HTTP_ERROR);
}

static void
test_render(void)
{
	struct metrics m;
	struct metrics_job *j;
	struct metrics_account *a;
	char *text;
	const char *families[] = {
	    "kinsta_cron_build_info gauge",
	    "kinsta_cron_job_last_run_timestamp_seconds gauge",
	    "kinsta_cron_job_last_end_timestamp_seconds gauge",
	    "kinsta_cron_job_last_success_timestamp_seconds gauge",
	    "kinsta_cron_job_next_run_timestamp_seconds gauge",
	    "kinsta_cron_job_last_outcome gauge",
	    "kinsta_cron_job_runs_in_flight gauge",
	    "kinsta_cron_job_runs_total counter",
	    "kinsta_cron_job_run_duration_seconds histogram",
	    "kinsta_cron_api_requests_total counter",
	    "kinsta_cron_api_rate_limited_total counter",
	    "kinsta_cron_api_rate_budget_used gauge",
	    "kinsta_cron_api_rate_budget_limit gauge",
	    "kinsta_cron_runs_in_flight gauge",
	    "kinsta_cron_operations_in_flight gauge",
	    "kinsta_cron_notifications_sent_total counter",
	    "kinsta_cron_notifications_failed_total counter",
	};

	metrics_init(&m);
	m.version = "1.2.3";
	j = metrics_job(&m, "we\"ird\\job\nname");
	metrics_fire_started(j, 1774753200123);
	metrics_fire_ended(j, KINSTA_FAILED, 1774753200123, 1774753201000);
	j->next_s = 1774839600;
	j->running = 2;
	metrics_job(&m, "idle");
	a = metrics_account_add(&m, "main");
	CHECK(a != NULL);
	a->requests[METRICS_HTTP_2XX] = 41;
	a->requests[METRICS_HTTP_4XX] = 2;
	a->rate_limited = 1;
	a->budget_used = 17;
	a->budget_limit = 120;
	m.ops_in_flight = 3;
	m.runs_in_flight = 2;
	metrics_count_notification(&m, true);
	metrics_count_notification(&m, true);
	metrics_count_notification(&m, false);
	text = render(&m);
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		char want[200], help[200];
		const char *t, *h;

		snprintf(want, sizeof(want), "# TYPE %s", families[i]);
		snprintf(help, sizeof(help), "# HELP %.*s ",
		         (int)strcspn(families[i], " "), families[i]);
		t = strstr(text, want);
		h = strstr(text, help);
		CHECK(t != NULL && h != NULL && h < t);
		if (t == NULL)
			fprintf(stderr, "missing: %s\n", want);
	}
	CHECK(has_line(text, "kinsta_cron_build_info{version=\"1.2.3\"} 1"));
	/* escaped: \" \\ \n */
	CHECK(has_line(text, "kinsta_cron_job_last_run_timestamp_seconds"
	                     "{job_name=\"we\\\"ird\\\\job\\nname\"} "
	                     "1774753200.123"));
	CHECK(has_line(text, "kinsta_cron_job_last_end_timestamp_seconds"
	                     "{job_name=\"we\\\"ird\\\\job\\nname\"} "
	                     "1774753201.000"));
	/* never succeeded: no sample */
	CHECK(strstr(text, "kinsta_cron_job_last_success_timestamp_seconds{") ==
	      NULL);
	CHECK(has_line(text,
	               "kinsta_cron_job_next_run_timestamp_seconds"
	               "{job_name=\"we\\\"ird\\\\job\\nname\"} 1774839600"));
	CHECK(has_line(text, "kinsta_cron_job_last_outcome"
	                     "{job_name=\"we\\\"ird\\\\job\\nname\","
	                     "outcome=\"failed\"} 1"));
	CHECK(has_line(text, "kinsta_cron_job_last_outcome"
	                     "{job_name=\"we\\\"ird\\\\job\\nname\","
	                     "outcome=\"succeeded\"} 0"));
	/* idle: no outcome yet, no next fire, no runs, but its in-flight 0 */
	CHECK(strstr(text, "kinsta_cron_job_last_outcome{job_name=\"idle\"") ==
	      NULL);
	CHECK(strstr(text, "next_run_timestamp_seconds{job_name=\"idle\"") ==
	      NULL);
	CHECK(strstr(text, "runs_total{job_name=\"idle\"") == NULL);
	CHECK(has_line(text,
	               "kinsta_cron_job_runs_in_flight{job_name=\"idle\"} 0"));
	CHECK(has_line(text, "kinsta_cron_api_requests_total"
	                     "{account=\"main\",class=\"2xx\"} 41"));
	CHECK(has_line(text, "kinsta_cron_api_requests_total"
	                     "{account=\"main\",class=\"error\"} 0"));
	CHECK(has_line(
	    text, "kinsta_cron_api_rate_limited_total{account=\"main\"} 1"));
	CHECK(has_line(
	    text, "kinsta_cron_api_rate_budget_used{account=\"main\"} 17"));
	CHECK(has_line(text, "kinsta_cron_api_rate_budget_limit"
	                     "{account=\"main\"} 120"));
	CHECK(has_line(text, "kinsta_cron_operations_in_flight 3"));
	CHECK(has_line(text, "kinsta_cron_runs_in_flight 2"));
	CHECK(has_line(text, "kinsta_cron_notifications_sent_total 2"));
	CHECK(has_line(text, "kinsta_cron_notifications_failed_total 1"));
	/* every line is a comment or a sample; the text ends in a newline */
	CHECK(text[strlen(text) - 1] == '\n');
	for (const char *p = text; *p; p = strchr(p, '\n') + 1)
		CHECK(strncmp(p, "kinsta_cron_", 12) == 0 ||
		      strncmp(p, "# HELP kinsta_cron_", 19) == 0 ||
		      strncmp(p, "# TYPE kinsta_cron_", 19) == 0);
	free(text);
	metrics_accounts_clear(&m);
	CHECK_INT(m.naccounts, 0);
	metrics_free(&m);
}

static void
test_empty(void)
{
	struct metrics m;
	char *text;

	metrics_init(&m);
	text = render(&m);
	CHECK(strstr(text, "build_info") == NULL);
	CHECK(has_line(text, "kinsta_cron_operations_in_flight 0"));
	free(text);
	metrics_free(&m);
}

static void
test_many(void)
{
	struct metrics m;
	char name[32], *text;

	metrics_init(&m);
	for (int i = 999; i >= 0; i--) {
		snprintf(name, sizeof(name), "job-%04d", i);
		metrics_run_ended(metrics_job(&m, name), KINSTA_SUCCEEDED, 0,
		                  i);
	}
	CHECK_INT(m.njobs, 1000);
	for (size_t i = 1; i < m.njobs; i++)
		CHECK(strcmp(m.jobs[i - 1].name, m.jobs[i].name) < 0);
	text = render(&m);
	CHECK(has_line(text,
	               "kinsta_cron_job_runs_total"
	               "{job_name=\"job-0999\",outcome=\"succeeded\"} 1"));
	/* a copy renders the same, and lives on when the original goes */
	metrics_account_add(&m, "acct")->rate_limited = 3;
	{
		struct metrics copy;
		char *a, *b;

		CHECK_INT(metrics_copy(&m, &copy), 0);
		a = render(&m);
		metrics_free(&m);
		b = render(&copy);
		CHECK_STR(a, b);
		CHECK(strstr(b, "rate_limited_total{account=\"acct\"} 3") !=
		      NULL);
		free(a);
		free(b);
		metrics_free(&copy);
	}
	free(text);
	metrics_free(&m);
}

int
main(void)
{
	test_store();
	test_keep();
	test_fires();
	test_fire_outcome();
	test_histogram();
	test_classes();
	test_render();
	test_empty();
	test_many();
	return test_report("test_metrics");
}
