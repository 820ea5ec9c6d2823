/*
 * metrics: the store and the Prometheus text renderer.  See metrics.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* From a second (a cache clear) to a day (a backup that waits for its
 * environment behind others). */
const double metrics_bucket_bounds[METRICS_BUCKETS] = {
    1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 86400};

static const char *const class_names[METRICS_HTTP_CLASSES] = {
    "error", "1xx", "2xx", "3xx", "4xx", "5xx"};

void
metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
}

void
metrics_accounts_clear(struct metrics *m)
{
	for (size_t i = 0; i < m->naccounts; i++)
		free(m->accounts[i].name);
	m->naccounts = 0;
}

void
metrics_free(struct metrics *m)
{
	for (size_t i = 0; i < m->njobs; i++)
		free(m->jobs[i].name);
	free(m->jobs);
	metrics_accounts_clear(m);
	free(m->accounts);
	metrics_init(m);
}

int
metrics_copy(const struct metrics *m, struct metrics *copy)
{
	*copy = *m;
	copy->jobs = NULL;
	copy->accounts = NULL;
	copy->njobs = copy->naccounts = 0;
	copy->capjobs = m->njobs;
	copy->capaccounts = m->naccounts;
	if ((m->njobs > 0 &&
	     (copy->jobs = malloc(m->njobs * sizeof(*m->jobs))) == NULL) ||
	    (m->naccounts > 0 &&
	     (copy->accounts = malloc(m->naccounts * sizeof(*m->accounts))) ==
	         NULL))
		goto fail;
	for (; copy->njobs < m->njobs; copy->njobs++) {
		struct metrics_job *j = &copy->jobs[copy->njobs];

		*j = m->jobs[copy->njobs];
		if ((j->name = strdup(j->name)) == NULL)
			goto fail;
	}
	for (; copy->naccounts < m->naccounts; copy->naccounts++) {
		struct metrics_account *a = &copy->accounts[copy->naccounts];

		*a = m->accounts[copy->naccounts];
		if ((a->name = strdup(a->name)) == NULL)
			goto fail;
	}
	return 0;
fail:
	metrics_free(copy);
	return -ENOMEM;
}

/* The position of name in jobs, or where it would go (*found false). */
static size_t
job_pos(const struct metrics *m, const char *name, bool *found)
{
	size_t lo = 0, hi = m->njobs;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->jobs[mid].name, name);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct metrics_job *
metrics_job_find(const struct metrics *m, const char *name)
{
	bool found;
	size_t i = job_pos(m, name, &found);

	return found ? &m->jobs[i] : NULL;
}

struct metrics_job *
metrics_job(struct metrics *m, const char *name)
{
	struct metrics_job *j;
	bool found;
	size_t i = job_pos(m, name, &found);
	char *copy;

	if (found)
		return &m->jobs[i];
	if (m->njobs == m->capjobs) {
		size_t cap = m->capjobs ? m->capjobs * 2 : 16;

		if ((j = realloc(m->jobs, cap * sizeof(*j))) == NULL)
			return NULL;
		m->jobs = j;
		m->capjobs = cap;
	}
	if ((copy = strdup(name)) == NULL)
		return NULL;
	memmove(&m->jobs[i + 1], &m->jobs[i],
	        (m->njobs - i) * sizeof(*m->jobs));
	m->njobs++;
	j = &m->jobs[i];
	memset(j, 0, sizeof(*j));
	j->name = copy;
	j->next_s = -1;
	j->last_outcome = KINSTA_RUNNING;
	return j;
}

void
metrics_jobs_keep(struct metrics *m, bool (*keep)(const char *name, void *arg),
                  void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < m->njobs; i++) {
		if (!keep(m->jobs[i].name, arg)) {
			free(m->jobs[i].name);
			continue;
		}
		m->jobs[n++] = m->jobs[i];
	}
	m->njobs = n;
}

void
metrics_fire_started(struct metrics_job *j, int64_t start_ms)
{
	if (start_ms > j->last_run_ms)
		j->last_run_ms = start_ms;
}

void
metrics_fire_ended(struct metrics_job *j, enum kinsta_outcome outcome,
                   int64_t start_ms, int64_t end_ms)
{
	/* a resumed fire from before a restart may end after a newer one
	 * started: the newest start stays the last run */
	if (start_ms > j->last_run_ms)
		j->last_run_ms = start_ms;
	j->last_end_ms = end_ms;
	j->last_outcome = outcome;
	if (outcome == KINSTA_SUCCEEDED && end_ms > j->last_success_ms)
		j->last_success_ms = end_ms;
}

void
metrics_run_ended(struct metrics_job *j, enum kinsta_outcome outcome,
                  int64_t start_ms, int64_t end_ms)
{
	int64_t ms = end_ms > start_ms ? end_ms - start_ms : 0;
	size_t b = 0;

	if ((int)outcome > KINSTA_RUNNING && (int)outcome < METRICS_OUTCOMES)
		j->runs[outcome]++;
	while (b < METRICS_BUCKETS &&
	       (double)ms > metrics_bucket_bounds[b] * 1000)
		b++;
	if (b < METRICS_BUCKETS)
		j->buckets[b]++;
	j->count++;
	j->sum_ms += ms;
}

static int
rank(enum kinsta_outcome o)
{
	switch (o) {
	case KINSTA_FAILED:
		return 4;
	case KINSTA_TIMED_OUT:
		return 3;
	case KINSTA_SUCCEEDED:
		return 2;
	case KINSTA_SKIPPED:
		return 1;
	default:
		return 0;
	}
}

enum kinsta_outcome
metrics_worse(enum kinsta_outcome a, enum kinsta_outcome b)
{
	return rank(b) > rank(a) ? b : a;
}

enum kinsta_outcome
metrics_fire_outcome(const size_t count[KINSTA_OUTCOMES])
{
	enum kinsta_outcome o = KINSTA_RUNNING;

	for (int k = KINSTA_RUNNING + 1; k < KINSTA_OUTCOMES; k++)
		if (count[k] > 0)
			o = metrics_worse(o, (enum kinsta_outcome)k);
	return o;
}

void
metrics_count_notification(struct metrics *m, bool ok)
{
	if (ok)
		m->notifications_sent++;
	else
		m->notifications_failed++;
}

struct metrics_account *
metrics_account_add(struct metrics *m, const char *name)
{
	struct metrics_account *a;

	if (m->naccounts == m->capaccounts) {
		size_t cap = m->capaccounts ? m->capaccounts * 2 : 4;

		if ((a = realloc(m->accounts, cap * sizeof(*a))) == NULL)
			return NULL;
		m->accounts = a;
		m->capaccounts = cap;
	}
	a = &m->accounts[m->naccounts];
	memset(a, 0, sizeof(*a));
	if ((a->name = strdup(name)) == NULL)
		return NULL;
	m->naccounts++;
	return a;
}

enum metrics_http_class
metrics_http_class(long status)
{
	if (status >= 100 && status < 600)
		return (enum metrics_http_class)(METRICS_HTTP_1XX +
		                                 (status / 100 - 1));
	return METRICS_HTTP_ERROR;
}

/* ---- rendering ---------------------------------------------------------- */

struct out {
	char *buf;
	size_t len, cap;
	bool failed;
};

static bool
reserve(struct out *o, size_t more)
{
	char *b;
	size_t cap;

	if (o->failed)
		return false;
	if (o->len + more + 1 <= o->cap)
		return true;
	cap = o->cap ? o->cap : 4096;
	while (cap < o->len + more + 1)
		cap *= 2;
	if ((b = realloc(o->buf, cap)) == NULL) {
		o->failed = true;
		return false;
	}
	o->buf = b;
	o->cap = cap;
	return true;
}

static void __attribute__((format(printf, 2, 3)))
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!reserve(o, 128))
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->failed = true;
		return;
	}
	if ((size_t)n >= o->cap - o->len) {
		if (!reserve(o, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
	}
	o->len += (size_t)n;
}

/* A label value as the format wants it: \\, \" and \n escaped. */
static void
put_value(struct out *o, const char *s)
{
	if (!reserve(o, 2 * strlen(s)))
		return;
	for (; *s; s++) {
		if (*s == '\\' || *s == '"') {
			o->buf[o->len++] = '\\';
			o->buf[o->len++] = *s;
		} else if (*s == '\n') {
			o->buf[o->len++] = '\\';
			o->buf[o->len++] = 'n';
		} else {
			o->buf[o->len++] = *s;
		}
	}
	o->buf[o->len] = '\0';
}

static void
head(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* NAME{LABEL="VALUE" (then the caller's other labels and value) */
static void
open_sample(struct out *o, const char *name, const char *label,
            const char *value)
{
	put(o, "%s{%s=\"", name, label);
	put_value(o, value);
	put(o, "\"");
}

/* Milliseconds as seconds, exactly. */
static void
put_seconds(struct out *o, int64_t ms)
{
	int64_t s = ms / 1000, frac = ms % 1000;

	if (ms < 0)
		put(o, "-%lld.%03lld", (long long)(-s), (long long)(-frac));
	else
		put(o, "%lld.%03lld", (long long)s, (long long)frac);
}

enum job_time { LAST_RUN, LAST_END, LAST_SUCCESS };

/* A gauge per job in seconds from ms, for jobs where it is set. */
static void
job_times(struct out *o, const struct metrics *m, const char *name,
          const char *help, enum job_time which)
{
	head(o, name, "gauge", help);
	for (size_t i = 0; i < m->njobs; i++) {
		const struct metrics_job *j = &m->jobs[i];
		int64_t ms = which == LAST_RUN   ? j->last_run_ms
		             : which == LAST_END ? j->last_end_ms
		                                 : j->last_success_ms;

		if (ms <= 0)
			continue;
		open_sample(o, name, "job_name", j->name);
		put(o, "} ");
		put_seconds(o, ms);
		put(o, "\n");
	}
}

static void
render_jobs(struct out *o, const struct metrics *m)
{
	const char *h;

	job_times(o, m, "kinsta_cron_job_last_run_timestamp_seconds",
	          "When the job's last fire started (Unix time).", LAST_RUN);
	job_times(o, m, "kinsta_cron_job_last_end_timestamp_seconds",
	          "When the job's last fire ended (Unix time).", LAST_END);
	job_times(o, m, "kinsta_cron_job_last_success_timestamp_seconds",
	          "When the job's last fire that succeeded on every target "
	          "ended (Unix time).",
	          LAST_SUCCESS);
	h = "kinsta_cron_job_next_run_timestamp_seconds";
	head(o, h, "gauge",
	     "When the job fires next (Unix time); absent when it never "
	     "does.");
	for (size_t i = 0; i < m->njobs; i++) {
		if (m->jobs[i].next_s < 0)
			continue;
		open_sample(o, h, "job_name", m->jobs[i].name);
		put(o, "} %lld\n", (long long)m->jobs[i].next_s);
	}
	h = "kinsta_cron_job_last_outcome";
	head(o, h, "gauge",
	     "The outcome of the job's last fire over all its targets: 1 "
	     "for it, 0 for the others.");
	for (size_t i = 0; i < m->njobs; i++) {
		const struct metrics_job *j = &m->jobs[i];

		if (j->last_outcome == KINSTA_RUNNING)
			continue;
		for (int k = KINSTA_RUNNING + 1; k < METRICS_OUTCOMES; k++) {
			open_sample(o, h, "job_name", j->name);
			put(o, ",outcome=\"%s\"} %d\n",
			    kinsta_outcome_name((enum kinsta_outcome)k),
			    j->last_outcome == (enum kinsta_outcome)k);
		}
	}
	h = "kinsta_cron_job_runs_in_flight";
	head(o, h, "gauge", "Runs of the job (one per target) under way.");
	for (size_t i = 0; i < m->njobs; i++) {
		open_sample(o, h, "job_name", m->jobs[i].name);
		put(o, "} %zu\n", m->jobs[i].running);
	}
	h = "kinsta_cron_job_runs_total";
	head(o, h, "counter",
	     "Runs of the job (one per target) that ended, by outcome.");
	for (size_t i = 0; i < m->njobs; i++) {
		const struct metrics_job *j = &m->jobs[i];

		if (j->count == 0)
			continue;
		for (int k = KINSTA_RUNNING + 1; k < METRICS_OUTCOMES; k++) {
			open_sample(o, h, "job_name", j->name);
			put(o, ",outcome=\"%s\"} %llu\n",
			    kinsta_outcome_name((enum kinsta_outcome)k),
			    (unsigned long long)j->runs[k]);
		}
	}
	h = "kinsta_cron_job_run_duration_seconds";
	head(o, h, "histogram",
	     "How long each run (one target) took, from its start to its "
	     "outcome.");
	for (size_t i = 0; i < m->njobs; i++) {
		const struct metrics_job *j = &m->jobs[i];
		uint64_t cum = 0;

		if (j->count == 0)
			continue;
		for (size_t b = 0; b < METRICS_BUCKETS; b++) {
			cum += j->buckets[b];
			open_sample(
			    o, "kinsta_cron_job_run_duration_seconds_bucket",
			    "job_name", j->name);
			put(o, ",le=\"%g\"} %llu\n", metrics_bucket_bounds[b],
			    (unsigned long long)cum);
		}
		open_sample(o, "kinsta_cron_job_run_duration_seconds_bucket",
		            "job_name", j->name);
		put(o, ",le=\"+Inf\"} %llu\n", (unsigned long long)j->count);
		open_sample(o, "kinsta_cron_job_run_duration_seconds_sum",
		            "job_name", j->name);
		put(o, "} ");
		put_seconds(o, j->sum_ms);
		put(o, "\n");
		open_sample(o, "kinsta_cron_job_run_duration_seconds_count",
		            "job_name", j->name);
		put(o, "} %llu\n", (unsigned long long)j->count);
	}
}

static void
render_accounts(struct out *o, const struct metrics *m)
{
	const char *h = "kinsta_cron_api_requests_total";

	head(o, h, "counter",
	     "Requests to the Kinsta API by the class of their HTTP status "
	     "(\"error\": no answer).");
	for (size_t i = 0; i < m->naccounts; i++)
		for (int c = 0; c < METRICS_HTTP_CLASSES; c++) {
			open_sample(o, h, "account", m->accounts[i].name);
			put(o, ",class=\"%s\"} %llu\n", class_names[c],
			    (unsigned long long)m->accounts[i].requests[c]);
		}
	h = "kinsta_cron_api_rate_limited_total";
	head(o, h, "counter",
	     "Answers HTTP 429 (rate limited) from the Kinsta API.");
	for (size_t i = 0; i < m->naccounts; i++) {
		open_sample(o, h, "account", m->accounts[i].name);
		put(o, "} %llu\n",
		    (unsigned long long)m->accounts[i].rate_limited);
	}
	h = "kinsta_cron_api_rate_budget_used";
	head(o, h, "gauge",
	     "Requests counted against the account's budget in the current "
	     "window.");
	for (size_t i = 0; i < m->naccounts; i++) {
		open_sample(o, h, "account", m->accounts[i].name);
		put(o, "} %d\n", m->accounts[i].budget_used);
	}
	h = "kinsta_cron_api_rate_budget_limit";
	head(o, h, "gauge", "The account's budget of requests per window.");
	for (size_t i = 0; i < m->naccounts; i++) {
		open_sample(o, h, "account", m->accounts[i].name);
		put(o, "} %d\n", m->accounts[i].budget_limit);
	}
}

int
metrics_render(const struct metrics *m, char **out, size_t *len)
{
	struct out o = {0};

	if (m->version != NULL) {
		head(&o, "kinsta_cron_build_info", "gauge",
		     "The version of kinsta-cron running.");
		open_sample(&o, "kinsta_cron_build_info", "version",
		            m->version);
		put(&o, "} 1\n");
	}
	render_jobs(&o, m);
	render_accounts(&o, m);
	head(&o, "kinsta_cron_runs_in_flight", "gauge",
	     "Runs (one per target) under way, of every job.");
	put(&o, "kinsta_cron_runs_in_flight %zu\n", m->runs_in_flight);
	head(&o, "kinsta_cron_operations_in_flight", "gauge",
	     "Kinsta operations being followed to their end.");
	put(&o, "kinsta_cron_operations_in_flight %zu\n", m->ops_in_flight);
	head(&o, "kinsta_cron_notifications_sent_total", "counter",
	     "Notifications delivered.");
	put(&o, "kinsta_cron_notifications_sent_total %llu\n",
	    (unsigned long long)m->notifications_sent);
	head(&o, "kinsta_cron_notifications_failed_total", "counter",
	     "Notifications that could not be delivered.");
	put(&o, "kinsta_cron_notifications_failed_total %llu\n",
	    (unsigned long long)m->notifications_failed);
	if (o.failed || !reserve(&o, 0)) {
		free(o.buf);
		*out = NULL;
		*len = 0;
		return -ENOMEM;
	}
	o.buf[o.len] = '\0';
	*out = o.buf;
	*len = o.len;
	return 0;
}
