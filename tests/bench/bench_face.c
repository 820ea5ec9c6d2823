/*
 * Benchmark for daemon/face.c: what one HTTP face request costs the event
 * loop (the router runs on it), for a small configuration (20 jobs) and a
 * large agency's (5 000 jobs), with the book full (1 024 runs, 64 fires):
 * GET /api/v1/jobs, the status page, a rejected token, an ad-hoc action
 * (POST /api/v1/actions: the body read and the job checked as a file's,
 * config_adhoc_new) and the site view's answer (face_site_answer over a
 * three-environment site with 30 updates and 60 backups).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "config.h"
#include "face.h"

static struct config *cfg;

static const struct config *
src_config(void *arg)
{
	(void)arg;
	return cfg;
}

static void
src_job_state(void *arg, const struct config_job *job,
              struct face_job_state *out)
{
	(void)arg;
	(void)job;
	out->next_slot = 1796011200;
	out->last_fired = 1795924800;
	out->running = 0;
}

/* The daemon's side of an ad-hoc run but the start: the job is made
 * (and checked) as httpd's src_action makes it. */
static int
src_action(void *arg, enum action_id action, const struct config_value *v,
           size_t n, const char *by, const char *url, uint64_t *run_id,
           char *err, size_t errlen, int64_t *retry)
{
	struct config_adhoc *job;
	int rc = config_adhoc_new(&job, cfg, action, NULL, v, n, err, errlen);

	(void)arg;
	(void)by;
	(void)url;
	(void)retry;
	if (rc == 0)
		config_adhoc_free(job);
	*run_id = 42;
	return rc;
}

static const struct face_source src = {
    .config = src_config, .job_state = src_job_state, .action = src_action};

static struct config *
make_config(int jobs)
{
	size_t cap = 256 + (size_t)jobs * 200;
	char *text = malloc(cap);
	struct config_errors errs = {0};
	struct config *c = NULL;
	size_t n;

	n = (size_t)snprintf(text, cap,
	                     "accounts = ( { name = \"acme\"; company = "
	                     "\"c0000000-0000-4000-8000-000000000001\"; } );\n"
	                     "jobs = (\n");
	for (int i = 0; i < jobs; i++)
		n += (size_t)snprintf(
		    text + n, cap - n,
		    "%s{ name = \"nightly-%d\"; schedule = \"%d 3 * * *\"; "
		    "action = \"clear-cache\"; site = \"shop-%d\"; }\n",
		    i ? "," : "", i, i % 60, i);
	snprintf(text + n, cap - n, ");\n");
	if (config_load_string(text, "bench.conf", CONFIG_LOAD_NO_KEYS, &c,
	                       &errs) < 0) {
		fprintf(stderr, "%s\n", errs.n ? errs.msgs[0] : "load failed");
		exit(1);
	}
	free(text);
	return c;
}

static void
fill_book(struct face_book *b, int jobs)
{
	char job[64];

	for (int i = 0; i < FACE_BOOK_RUNS; i++) {
		struct face_run r = {
		    .job = job,
		    .action = "clear-cache",
		    .env_id = "54fb80af-576c-4fdc-ba4f-b596c83f15a1",
		    .target = "shop/live",
		    .op_id = "cache:clear-54fb80af-576c-4fdc",
		    .outcome = i % 7 ? "succeeded" : "failed",
		    .message = i % 7 ? "" : "Environment is busy",
		    .note = "",
		    .run_id = (uint64_t)i,
		    .start_ms = 1795000000000 + i * 1000,
		    .end_ms = 1795000002000 + i * 1000};

		snprintf(job, sizeof(job), "nightly-%d", i % jobs);
		face_book_add_run(b, &r);
	}
}

static void
measure(const char *what, const struct face *f, const char *method,
        const char *path, const char *auth)
{
	enum { N = 200 };
	static double t[N];
	struct face_request req = {.method = method,
	                           .path = path,
	                           .authorization = auth,
	                           .now_ms = 1796000000000};
	struct face_reply rep;
	size_t bytes = 0;

	for (int i = 0; i < N; i++) {
		double t0 = bench_now_ns();

		face_handle(f, &req, &rep);
		t[i] = bench_now_ns() - t0;
		bytes = rep.len;
		face_reply_free(&rep);
	}
	bench_sort(t, N);
	printf("  %-28s median %8.1f us  p99 %8.1f us  %zu bytes\n", what,
	       t[N / 2] / 1e3, t[N * 99 / 100] / 1e3, bytes);
}

static void
measure_post(const struct face *f)
{
	enum { N = 200 };
	static const char body[] =
	    "{\"action\": \"backup\", \"site\": \"shop-1\", "
	    "\"environment\": [\"staging\", \"live\"], \"tag\": "
	    "\"before-launch\", \"keep\": 3}";
	static double t[N];
	struct face_request req = {.method = "POST",
	                           .path = "/api/v1/actions",
	                           .authorization = "Bearer t0ken",
	                           .body = body,
	                           .body_len = sizeof(body) - 1,
	                           .now_ms = 1796000000000};
	struct face_reply rep;

	for (int i = 0; i < N; i++) {
		double t0 = bench_now_ns();

		face_handle(f, &req, &rep);
		t[i] = bench_now_ns() - t0;
		if (rep.status != 202) {
			fprintf(stderr, "POST /api/v1/actions: %d %.*s\n",
			        rep.status, (int)rep.len, rep.body);
			exit(1);
		}
		face_reply_free(&rep);
	}
	bench_sort(t, N);
	printf("  %-28s median %8.1f us  p99 %8.1f us\n",
	       "POST /api/v1/actions", t[N / 2] / 1e3, t[N * 99 / 100] / 1e3);
}

/* A site-status document: three environments, each with ten plugin
 * updates and twenty backups. */
static char *
site_doc(size_t *len)
{
	size_t cap = 64 * 1024, n = 0;
	char *d = malloc(cap);

	n += (size_t)snprintf(d + n, cap - n,
	                      "{\"account\":\"acme\",\"sites\":[{\"id\":"
	                      "\"s1\",\"name\":\"shop-1\",\"labels\":"
	                      "[\"client-a\"],\"environments\":[");
	for (int e = 0; e < 3; e++)
		n += (size_t)snprintf(d + n, cap - n,
		                      "%s{\"id\":\"e%d\",\"name\":\"env%d\","
		                      "\"php\":\"8.2\",\"wordpress\":\"6.4\"}",
		                      e ? "," : "", e, e);
	n += (size_t)snprintf(d + n, cap - n, "]}],\"environments\":[");
	for (int e = 0; e < 3; e++) {
		n += (size_t)snprintf(d + n, cap - n,
		                      "%s{\"id\":\"e%d\",\"plugin_updates\":[",
		                      e ? "," : "", e);
		for (int i = 0; i < 10; i++)
			n += (size_t)snprintf(
			    d + n, cap - n,
			    "%s{\"name\":\"plugin-%d\",\"version\":\"1.%d\","
			    "\"update_version\":\"1.%d\"}",
			    i ? "," : "", i, i, i + 1);
		n += (size_t)snprintf(d + n, cap - n,
		                      "],\"theme_updates\":[],\"backups\":20,"
		                      "\"backup_list\":[");
		for (int i = 0; i < 20; i++)
			n += (size_t)snprintf(
			    d + n, cap - n,
			    "%s{\"name\":\"b%d\",\"type\":\"manual\","
			    "\"created_ms\":%lld}",
			    i ? "," : "", i, 1795000000000LL + i * 3600000LL);
		n += (size_t)snprintf(d + n, cap - n, "]}");
	}
	n += (size_t)snprintf(d + n, cap - n, "]}");
	*len = n;
	return d;
}

static void
measure_site(const struct face *f)
{
	enum { N = 200 };
	static double t[N];
	struct face_reply rep;
	size_t len, bytes = 0;
	char *doc = site_doc(&len);

	for (int i = 0; i < N; i++) {
		double t0 = bench_now_ns();

		face_site_answer(f, "shop-1", doc, len, NULL, false, &rep);
		t[i] = bench_now_ns() - t0;
		bytes = rep.len;
		face_reply_free(&rep);
	}
	bench_sort(t, N);
	printf("  %-28s median %8.1f us  p99 %8.1f us  %zu bytes\n",
	       "site view answer", t[N / 2] / 1e3, t[N * 99 / 100] / 1e3,
	       bytes);
	free(doc);
}

int
main(void)
{
	static const int sizes[] = {20, 5000};

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct face_book *book = calloc(1, sizeof(*book));
		struct face f = {.src = &src, .book = book, .token = "t0ken"};

		cfg = make_config(sizes[k]);
		face_book_init(book);
		fill_book(book, sizes[k]);
		printf("%d jobs, %d runs in the book:\n", sizes[k],
		       FACE_BOOK_RUNS);
		measure("GET /api/v1/jobs", &f, "GET", "/api/v1/jobs",
		        "Bearer t0ken");
		measure("GET / (status page)", &f, "GET", "/", "Bearer t0ken");
		measure("bad token (401)", &f, "GET", "/api/v1/jobs",
		        "Bearer wrong");
		measure_post(&f);
		measure_site(&f);
		face_book_free(book);
		free(book);
		config_free(cfg);
	}
	return 0;
}
