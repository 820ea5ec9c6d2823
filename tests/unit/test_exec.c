/*
 * Tests for daemon/exec.c: runs driven end to end on a real libuv loop
 * against a fake of http's API (this file defines http_submit and friends,
 * so the linker takes them instead of http.o from the library).  The fake
 * answers from a script per test, later, from the loop, as http does, and
 * logs every request with the loop time it was sent at.
 *
 * Covered: a poll is not a retry (a poll's 500 is the operation's verdict;
 * a lost poll answer is resent after a backoff), a run resumed at a step
 * after a restart, an environment held across every step of a multi-step
 * action, and a 429 that pauses the whole account.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "exec.h"
#include "http.h"
#include "test.h"

#define ENV     "a2222222-2222-4222-8222-222222222222"
#define ENV2    "a3333333-3333-4333-8333-333333333333"
#define COMPANY "c0000000-0000-4000-8000-000000000001"
#define MAX_LOG 64

/* ---- the fake http ------------------------------------------------------ */

struct answer {
	long status; /* 0: no connection */
	const char *body;
	const char *retry_after; /* a Retry-After header, or NULL */
};

/* The test's script: what to answer to method + path. */
static struct answer (*script)(const char *method, const char *path, int nth);

struct http_xfer {
	uv_timer_t timer;
	http_done_cb cb;
	void *arg;
	struct http_response res;
	char name[32], value[32];
	char *body;
};

struct http {
	uv_loop_t *loop;
	size_t active;
};

static struct http fake = {0};
static struct {
	char line[600]; /* "METHOD path" */
	uint64_t at;    /* loop time sent */
} sent[MAX_LOG];
static int nsent;

static void
on_xfer_closed(uv_handle_t *h)
{
	struct http_xfer *x = h->data;

	free(x->body);
	free(x);
}

static void
deliver(uv_timer_t *t)
{
	struct http_xfer *x = t->data;

	fake.active--;
	x->cb(&x->res, x->arg);
	uv_close((uv_handle_t *)&x->timer, on_xfer_closed);
}

int
http_init(struct http **out, uv_loop_t *loop, const struct http_options *opt,
          char *err, size_t errlen)
{
	(void)opt, (void)err, (void)errlen;
	fake.loop = loop;
	*out = &fake;
	return 0;
}

int
http_submit(struct http *h, const struct http_request *req, http_done_cb cb,
            void *arg, struct http_xfer **xfer)
{
	struct http_xfer *x = calloc(1, sizeof(*x));
	const char *path = strstr(req->url, "/v2") + 3;
	struct answer a;
	int nth = 0;

	CHECK_STR(req->bearer, "test-key");
	for (int i = 0; i < nsent; i++)
		nth += strncmp(sent[i].line, method_name(req->method),
		               strlen(method_name(req->method))) == 0 &&
		       strcmp(strchr(sent[i].line, ' ') + 1, path) == 0;
	if (nsent < MAX_LOG) {
		snprintf(sent[nsent].line, sizeof(sent[nsent].line), "%s %s",
		         method_name(req->method), path);
		sent[nsent++].at = uv_now(h->loop);
	}
	a = script(method_name(req->method), path, nth);
	x->cb = cb;
	x->arg = arg;
	x->res.status = a.status;
	x->res.sent = a.status != 0;
	if (a.status == 0) {
		x->res.error = -ECONNREFUSED;
		snprintf(x->res.message, sizeof(x->res.message),
		         "connection refused");
	}
	x->body = strdup(a.body ? a.body : "");
	x->res.body = x->body;
	x->res.len = strlen(x->body);
	if (a.retry_after != NULL) {
		snprintf(x->name, sizeof(x->name), "retry-after");
		snprintf(x->value, sizeof(x->value), "%s", a.retry_after);
		x->res.header_names[0] = x->name;
		x->res.header_values[0] = x->value;
		x->res.nheaders = 1;
	}
	uv_timer_init(h->loop, &x->timer);
	x->timer.data = x;
	uv_timer_start(&x->timer, deliver, 5, 0);
	h->active++;
	if (xfer != NULL)
		*xfer = x;
	return 0;
}

void
http_cancel(struct http_xfer *x)
{
	uv_timer_stop(&x->timer);
	fake.active--;
	x->res.error = -ECANCELED;
	x->cb(&x->res, x->arg);
	uv_close((uv_handle_t *)&x->timer, on_xfer_closed);
}

size_t
http_active(const struct http *h)
{
	return h->active;
}

void
http_close(struct http *h)
{
	(void)h;
}

/* ---- the harness -------------------------------------------------------- */

static const char conf_text[] =
    "api = { url = \"http://127.0.0.1:9/v2\"; };\n"
    "accounts = ( { name = \"acme\"; company = \"" COMPANY "\"; } );\n"
    "jobs = (\n"
    " { name = \"cc\"; schedule = \"@daily\"; action = \"clear-cache\";"
    "   environment_id = \"" ENV "\"; },\n"
    " { name = \"php\"; schedule = \"@daily\"; action = \"restart-php\";"
    "   environment_id = \"" ENV "\"; },\n"
    " { name = \"bk\"; schedule = \"@daily\"; action = \"backup\";"
    "   environment_id = \"" ENV "\"; keep = 1; }\n"
    ");\n";

struct finished {
	char job[32];
	enum kinsta_outcome outcome;
	char message[256];
	uint64_t at;
	int after_sent; /* requests sent when it finished */
};

static struct finished done[8];
static int ndone;
static uv_loop_t loop;
static struct config *cfg;

static void
on_finished(const struct exec_result *r, void *arg)
{
	(void)arg;
	if (ndone >= 8)
		return;
	snprintf(done[ndone].job, sizeof(done[ndone].job), "%s", r->job->name);
	done[ndone].outcome = r->outcome;
	snprintf(done[ndone].message, sizeof(done[ndone].message), "%s",
	         r->message);
	done[ndone].at = uv_now(&loop);
	done[ndone].after_sent = nsent;
	ndone++;
}

static struct exec *start(struct answer (*s)(const char *, const char *, int))
{
	struct exec_hooks hooks = {.finished = on_finished};
	struct http *h;
	struct exec *ex = NULL;

	script = s;
	nsent = ndone = 0;
	http_init(&h, &loop, NULL, NULL, 0);
	CHECK_INT(exec_init(&ex, &loop, h, cfg, NULL, &hooks), 0);
	return ex;
}

/* Run the loop until every run has ended (bounded: 60 s of loop time). */
static void
finish(struct exec *ex)
{
	uint64_t t0 = uv_now(&loop);

	while (exec_active(ex) > 0 && uv_now(&loop) - t0 < 60000)
		uv_run(&loop, UV_RUN_ONCE);
	CHECK_INT(exec_active(ex), 0);
	exec_close(ex);
	uv_run(&loop, UV_RUN_DEFAULT);
}

static void
check_sent(int i, const char *want)
{
	CHECK(i < nsent);
	if (i < nsent)
		CHECK_STR(sent[i].line, want);
}

#define OP_ACCEPTED(id)                                                        \
	((struct answer){202, "{\"operation_id\":\"" id "\"}", NULL})
#define OK      ((struct answer){200, "{\"status\":200,\"message\":\"done\"}", NULL})
#define RUNNING ((struct answer){202, "{\"status\":202}", NULL})

/* ---- poll vs retry ------------------------------------------------------ */

static struct answer
poll_lost_then_done(const char *m, const char *path, int nth)
{
	(void)m;
	if (strcmp(path, "/sites/tools/clear-cache") == 0)
		return OP_ACCEPTED("op-1");
	/* the first poll never gets an answer: resent after a backoff */
	if (nth == 0)
		return (struct answer){0, NULL, NULL};
	return nth == 1 ? RUNNING : OK;
}

static void
test_poll_retried_after_lost_answer(void)
{
	struct exec *ex = start(poll_lost_then_done);

	CHECK_INT(exec_start(ex, config_find_job(cfg, "cc"), 1), 0);
	finish(ex);
	CHECK_INT(ndone, 1);
	CHECK_INT(done[0].outcome, KINSTA_SUCCEEDED);
	CHECK_INT(nsent, 4);
	check_sent(0, "POST /sites/tools/clear-cache");
	check_sent(1, "GET /operations/op-1");
	check_sent(2, "GET /operations/op-1");
	check_sent(3, "GET /operations/op-1");
	/* the first poll waits for the operation (2 s), not for a backoff */
	CHECK(sent[1].at - sent[0].at >= 1900);
}

static struct answer
poll_500(const char *m, const char *path, int nth)
{
	(void)m, (void)nth;
	if (strcmp(path, "/sites/tools/restart-php") == 0)
		return OP_ACCEPTED("op-2");
	return (struct answer){500,
	                       "{\"status\":500,\"message\":\"PHP did "
	                       "not come back\"}",
	                       NULL};
}

static void
test_poll_500_is_the_verdict(void)
{
	struct exec *ex = start(poll_500);

	CHECK_INT(exec_start(ex, config_find_job(cfg, "php"), 2), 0);
	finish(ex);
	CHECK_INT(ndone, 1);
	CHECK_INT(done[0].outcome, KINSTA_FAILED);
	CHECK_STR(done[0].message, "PHP did not come back");
	CHECK_INT(nsent, 2); /* one poll: a poll's 500 is not retried */
}

/* ---- resume at a step --------------------------------------------------- */

static struct answer
backup_rotation(const char *m, const char *path, int nth)
{
	(void)nth;
	if (strcmp(m, "GET") == 0 &&
	    strcmp(path, "/sites/environments/" ENV "/backups") == 0)
		return (struct answer){
		    200,
		    "{\"environment\":{\"backups\":["
		    "{\"id\":11,\"note\":\"kinsta-cron:bk\",\"type\":"
		    "\"manual\","
		    "\"created_at\":1000},"
		    "{\"id\":12,\"note\":\"kinsta-cron:bk\",\"type\":"
		    "\"manual\","
		    "\"created_at\":2000},"
		    "{\"id\":13,\"note\":\"someone else\",\"type\":\"manual\","
		    "\"created_at\":500}]}}",
		    NULL};
	if (strcmp(m, "DELETE") == 0)
		return OP_ACCEPTED("op-del");
	if (strcmp(m, "POST") == 0)
		return OP_ACCEPTED("op-new");
	if (strcmp(m, "GET") == 0 && strncmp(path, "/operations/", 12) == 0)
		return OK;
	return (struct answer){404, "{\"message\":\"no such path\"}", NULL};
}

static void
test_resume_at_backup_step(void)
{
	struct exec *ex = start(backup_rotation);
	struct target t = {.env_id = ENV};

	/* the daemon stopped while following the backup (step 0): it polls
	 * that operation again, then lists and drops the surplus */
	CHECK_INT(exec_resume(ex, config_find_job(cfg, "bk"), &t, 7, 0, NULL,
	                      "op-old", false, 0),
	          0);
	finish(ex);
	CHECK_INT(ndone, 1);
	CHECK_INT(done[0].outcome, KINSTA_SUCCEEDED);
	CHECK_INT(nsent, 4);
	check_sent(0, "GET /operations/op-old");
	check_sent(1, "GET /sites/environments/" ENV "/backups");
	check_sent(2, "DELETE /sites/environments/backups/11");
	check_sent(3, "GET /operations/op-del");
}

static void
test_resume_in_drop_step_lists_again(void)
{
	struct exec *ex = start(backup_rotation);
	struct target t = {.env_id = ENV};

	/* stopped while a DELETE's operation ran (step 2): the list of what
	 * to drop is gone with the process, so it is fetched again */
	CHECK_INT(exec_resume(ex, config_find_job(cfg, "bk"), &t, 8, 4,
	                      "delete-backup", "op-del", false, 0),
	          0);
	finish(ex);
	CHECK_INT(done[0].outcome, KINSTA_SUCCEEDED);
	check_sent(0, "GET /operations/op-del");
	check_sent(1, "GET /sites/environments/" ENV "/backups");
	check_sent(2, "DELETE /sites/environments/backups/11");
}

/* ---- one run per environment -------------------------------------------- */

static struct answer
two_jobs(const char *m, const char *path, int nth)
{
	if (strcmp(path, "/sites/tools/clear-cache") == 0)
		return OP_ACCEPTED("op-cc");
	return backup_rotation(m, path, nth);
}

static void
test_env_held_across_steps(void)
{
	struct exec *ex = start(two_jobs);

	CHECK_INT(exec_start(ex, config_find_job(cfg, "bk"), 10), 0);
	CHECK_INT(exec_start(ex, config_find_job(cfg, "cc"), 11), 0);
	CHECK_INT(exec_job_active(ex, "cc"), 1);
	finish(ex);
	CHECK_INT(ndone, 2);
	CHECK_STR(done[0].job, "bk");
	CHECK_STR(done[1].job, "cc");
	/* every request of the backup (room for it, the backup, the
	 * rotation), then the cache clear */
	check_sent(0, "GET /sites/environments/" ENV "/backups");
	check_sent(1, "POST /sites/environments/" ENV "/manual-backups");
	check_sent(2, "GET /operations/op-new");
	check_sent(3, "GET /sites/environments/" ENV "/backups");
	check_sent(4, "DELETE /sites/environments/backups/11");
	check_sent(5, "GET /operations/op-del");
	check_sent(6, "POST /sites/tools/clear-cache");
	CHECK_INT(done[0].after_sent, 6);
}

/* ---- 429 ---------------------------------------------------------------- */

static struct answer
limited_once(const char *m, const char *path, int nth)
{
	(void)m;
	if (strcmp(path, "/sites/tools/clear-cache") == 0)
		return nth == 0 ? (struct answer){429,
		                                  "{\"message\":\"Too many "
		                                  "requests\"}",
		                                  "1"}
		                : OP_ACCEPTED("op-c");
	if (strcmp(path, "/sites/tools/restart-php") == 0)
		return OP_ACCEPTED("op-p");
	return OK;
}

static void
test_429_pauses_the_account(void)
{
	static const char other[] = "b3333333-3333-4333-8333-333333333333";
	struct exec *ex = start(limited_once);
	struct config_job php = *config_find_job(cfg, "php");
	const char *ids[] = {other};
	uint64_t first = 0, second = 0, php_at = 0;

	/* another environment, so that only the budget holds it back */
	php.target.values = ids;
	CHECK_INT(exec_start(ex, config_find_job(cfg, "cc"), 20), 0);
	/* once the 429 is in, the account is paused: a new request waits */
	while (nsent < 1 || uv_now(&loop) - sent[0].at < 50)
		uv_run(&loop, UV_RUN_ONCE);
	CHECK_INT(exec_start(ex, &php, 21), 0);
	finish(ex);
	CHECK_INT(ndone, 2);
	for (int i = 0; i < nsent; i++) {
		if (strcmp(sent[i].line, "POST /sites/tools/clear-cache") == 0)
			*(first == 0 && i == 0 ? &first : &second) =
			    sent[i].at + 1;
		if (strcmp(sent[i].line, "POST /sites/tools/restart-php") == 0)
			php_at = sent[i].at + 1;
	}
	CHECK(first > 0 && second > 0 && php_at > 0);
	/* Retry-After: 1, for the refused request and the newcomer alike */
	CHECK(second - first >= 990);
	CHECK(php_at - first >= 990);
	CHECK_INT(done[0].outcome, KINSTA_SUCCEEDED);
	CHECK_INT(done[1].outcome, KINSTA_SUCCEEDED);
}

/* ---- a reload with a run under way -------------------------------------- */

static struct config *
load(const char *text)
{
	struct config_errors errs = {0};
	struct config *c = NULL;

	CHECK_INT(config_load_string(text, "exec.conf", 0, &c, &errs), 0);
	config_errors_free(&errs);
	return c;
}

/* A run goes on as a run of the new config when its job is unchanged
 * there, so that the old config can be freed at once; a run of a changed
 * job keeps the old one until it ends. */
static void
test_reload_moves_unchanged_runs(void)
{
	char changed[sizeof(conf_text) + 16];
	struct config *same = load(conf_text), *other;
	struct exec *ex = start(poll_lost_then_done);

	snprintf(changed, sizeof(changed), "%s", conf_text);
	memcpy(strstr(changed, "\"@daily\""), "\"@weekly\"", 9);
	other = load(changed);
	if (same == NULL || other == NULL)
		return;
	CHECK_INT(exec_start(ex, config_find_job(cfg, "cc"), 30), 0);
	while (nsent < 1)
		uv_run(&loop, UV_RUN_ONCE);
	/* cc changed: the run keeps its config */
	exec_set_config(ex, other);
	CHECK(exec_config_in_use(ex, cfg));
	CHECK(!exec_config_in_use(ex, other));
	/* cc as it was: the run moves, the old config is free to go */
	exec_set_config(ex, same);
	CHECK(!exec_config_in_use(ex, cfg));
	CHECK(exec_config_in_use(ex, same));
	CHECK_INT(exec_job_active(ex, "cc"), 1);
	config_free(other);
	finish(ex);
	CHECK_INT(ndone, 1);
	CHECK_STR(done[0].job, "cc");
	CHECK_INT(done[0].outcome, KINSTA_SUCCEEDED);
	CHECK_INT(nsent, 4);
	config_free(same);
}

/* ---- fires -------------------------------------------------------------- */

static struct {
	uint64_t run_id;
	size_t ntargets, nended, ok, failed;
	int finished_before; /* target lines told before the fire's end */
	char second_message[128];
} fires[4];
static int nfires;

static void
on_fire_ended(const struct exec_fire *f, void *arg)
{
	(void)arg;
	if (nfires >= 4)
		return;
	fires[nfires].run_id = f->run_id;
	fires[nfires].ntargets = f->ntargets;
	fires[nfires].nended = f->nended;
	fires[nfires].ok = f->count[KINSTA_SUCCEEDED];
	fires[nfires].failed = f->count[KINSTA_FAILED];
	fires[nfires].finished_before = ndone;
	if (f->ntargets == 2)
		snprintf(fires[nfires].second_message,
		         sizeof(fires[nfires].second_message), "%s",
		         f->targets[1].message);
	nfires++;
}

static struct answer
first_ok_second_refused(const char *m, const char *path, int nth)
{
	(void)m;
	if (strcmp(path, "/sites/tools/clear-cache") == 0)
		return nth == 0 ? OP_ACCEPTED("op-1")
		                : (struct answer){404,
		                                  "{\"message\":\"no such "
		                                  "environment\"}",
		                                  NULL};
	return OK;
}

/* A fire over two environments ends once, after both targets' lines,
 * with one success and one failure; it is findable only while in flight,
 * and the fires in flight are listed oldest first. */
static void
test_fire_ends_once_after_its_targets(void)
{
	struct config *two = load(
	    "api = { url = \"http://127.0.0.1:9/v2\"; };\n"
	    "accounts = ( { name = \"acme\"; company = \"" COMPANY "\"; } );\n"
	    "jobs = (\n"
	    " { name = \"two\"; schedule = \"@daily\"; action = "
	    "\"clear-cache\"; environment_ids = [ \"" ENV "\", "
	    "\"" ENV2 "\" ]; },\n"
	    " { name = \"php\"; schedule = \"@daily\"; action = "
	    "\"restart-php\"; environment_id = \"" ENV2 "\"; }\n"
	    ");\n");
	struct exec_hooks hooks = {.finished = on_finished,
	                           .fire_ended = on_fire_ended};
	const struct exec_fire *inflight[4];
	struct http *h;
	struct exec *ex = NULL;

	if (two == NULL)
		return;
	script = first_ok_second_refused;
	nsent = ndone = nfires = 0;
	http_init(&h, &loop, NULL, NULL, 0);
	CHECK_INT(exec_init(&ex, &loop, h, two, NULL, &hooks), 0);
	CHECK_INT(exec_start(ex, config_find_job(two, "two"), 41), 0);
	CHECK_INT(exec_start(ex, config_find_job(two, "php"), 42), 0);
	CHECK(exec_fire_find(ex, 41) != NULL);
	CHECK(exec_fire_find(ex, 43) == NULL);
	CHECK_INT(exec_fires(ex, inflight, 4), 2);
	CHECK(inflight[0]->run_id == 41 && inflight[1]->run_id == 42);
	CHECK_INT(inflight[0]->ntargets, 2);
	CHECK_INT(inflight[0]->targets[0].outcome, KINSTA_RUNNING);
	finish(ex);
	CHECK_INT(nfires, 2);
	for (int i = 0; i < nfires; i++) {
		if (fires[i].run_id != 41)
			continue;
		CHECK_INT(fires[i].ntargets, 2);
		CHECK_INT(fires[i].nended, 2);
		CHECK_INT(fires[i].ok, 1);
		CHECK_INT(fires[i].failed, 1);
		CHECK(strstr(fires[i].second_message, "no such environment") !=
		      NULL);
	}
	/* the fire of "two" ended after its two target lines */
	CHECK(fires[0].run_id == 41 ? fires[0].finished_before >= 2
	                            : fires[1].finished_before >= 2);
	config_free(two);
}

int
main(void)
{
	struct config_errors errs = {0};

	setenv("KINSTA_API_KEY", "test-key", 1);
	uv_loop_init(&loop);
	if (config_load_string(conf_text, "exec.conf", 0, &cfg, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		return 1;
	}
	test_poll_retried_after_lost_answer();
	test_poll_500_is_the_verdict();
	test_resume_at_backup_step();
	test_resume_in_drop_step_lists_again();
	test_env_held_across_steps();
	test_429_pauses_the_account();
	test_reload_moves_unchanged_runs();
	test_fire_ends_once_after_its_targets();
	config_free(cfg);
	uv_loop_close(&loop);
	return test_report("test_exec");
}
