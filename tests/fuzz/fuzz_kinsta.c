/*
 * Fuzz target for daemon/kinsta.c: how answers of the Kinsta API are read.
 *
 * A configuration with a job of every action is loaded once.  Each input
 * is one answer body (after the first byte, which picks the HTTP status
 * family of the first answer, whether polls see a deployment, and the
 * ending of operations); the body is given to kinsta_error_message,
 * kinsta_classify_poll and kinsta_select, and then to every step of a run
 * of every job: each request the run asks for gets the body as its answer,
 * with a status taken in turn from the input's bytes, each operation is
 * polled once with the body and ended by what the poll said.  Invariants
 * (abort when broken): messages are NUL-terminated inside their buffers,
 * one printable line, never empty when they must say why; verdicts and
 * outcomes are in range; requests have a method and an absolute path; a
 * run always ends; a finished report is valid JSON.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "kinsta.h"
#include "ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_kinsta: %s:%d: %s\n", __FILE__,  \
			        __LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

#define COMPANY "aaaaaaaa-0000-4000-8000-000000000001"
#define ENV     "a1111111-1111-4111-8111-111111111111"

static const char conf_text[] =
    "api = { url = \"http://127.0.0.1:9/v2\"; };\n"
    "accounts = ( { name = \"acme\"; company = \"" COMPANY "\"; } );\n"
    "jobs = (\n"
    " { name = \"cc\"; schedule = \"@daily\"; action = \"clear-cache\";"
    "   environment_id = \"" ENV "\"; },\n"
    " { name = \"edge\"; schedule = \"@daily\"; action = "
    "\"clear-edge-cache\"; label = \"shop\"; url = \"https://x.example/\"; "
    "   clear_subdirectories = true; },\n"
    " { name = \"cdn\"; schedule = \"@daily\"; action = \"clear-cdn-cache\";"
    "   site = \"charliesite\"; environment = \"staging\"; },\n"
    " { name = \"all\"; schedule = \"@daily\"; action = "
    "\"clear-all-caches\"; sites = [\"alphasite\", \"bravosite\"]; },\n"
    " { name = \"php\"; schedule = \"@daily\"; action = \"restart-php\";"
    "   environment_ids = [\"" ENV "\"]; },\n"
    " { name = \"phpv\"; schedule = \"@daily\"; action = "
    "\"set-php-version\"; environment_id = \"" ENV "\";"
    "   php_version = \"8.3\"; },\n"
    " { name = \"bk\"; schedule = \"@daily\"; action = \"backup\";"
    "   all_sites = true; exclude_sites = [\"deltasite\"]; keep = 2; },\n"
    " { name = \"up\"; schedule = \"@daily\"; action = \"update-plugins\";"
    "   environment_id = \"" ENV "\"; plugins = [\"akismet\", \"jetpack\"];"
    "   exclude = [\"jetpack\"]; backup_first = true; },\n"
    " { name = \"upall\"; schedule = \"@daily\"; action = "
    "\"update-plugins\"; labels = [\"woocommerce\"]; },\n"
    " { name = \"th\"; schedule = \"@daily\"; action = \"update-themes\";"
    "   environment_id = \"" ENV "\"; backup_first = true; },\n"
    " { name = \"push\"; schedule = \"@daily\"; action = "
    "\"push-environment\"; site = \"alphasite\"; source = \"staging\";"
    "   target = \"live\"; },\n"
    " { name = \"wp\"; schedule = \"@daily\"; action = \"run-wp-cli\";"
    "   environment_id = \"" ENV "\"; command = \"wp cache flush\"; },\n"
    " { name = \"new\"; schedule = \"@daily\"; action = \"create-site\";"
    "   display_name = \"Shop\"; region = \"us-central1\";"
    "   admin_email = \"a@example.com\"; admin_password = \"pw-123456\";"
    "   admin_user = \"admin\"; site_title = \"Shop\"; },\n"
    " { name = \"app\"; schedule = \"@daily\"; action = \"deploy-app\";"
    "   app_id = \"0a990001-0000-4000-8000-000000000001\";"
    "   branch = \"main\"; },\n"
    " { name = \"static\"; schedule = \"@daily\"; action = "
    "\"deploy-static-site\";"
    "   static_site_id = \"05a70001-0000-4000-8000-000000000001\"; },\n"
    " { name = \"rep\"; schedule = \"@daily\"; action = \"report\"; },\n"
    " { name = \"req\"; schedule = \"@daily\"; action = \"request\";"
    "   method = \"POST\"; path = \"/sites/tools/clear-cache\";"
    "   body = \"{\\\"environment_id\\\":\\\"" ENV "\\\"}\"; },\n"
    " { name = \"get\"; schedule = \"@daily\"; action = \"request\";"
    "   path = \"/sites\"; },\n"
    " { name = \"treq\"; schedule = \"@daily\"; action = \"request\";"
    "   site = \"alphasite\"; method = \"PUT\";"
    "   path = \"/sites/{site_id}/x/{site_name}?e={env_id}&c={company}\";"
    "   body = \"{\\\"n\\\":\\\"{site_name} {env_name}\\\"}\";"
    "   output = \"/dev/null\"; },\n"
    " { name = \"rs\"; schedule = \"@daily\"; action = "
    "\"refresh-staging\"; site = \"alphasite\";"
    "   file_list = [\"wp-content\"]; },\n"
    " { name = \"clone\"; schedule = \"@daily\"; action = \"clone-site\";"
    "   display_name = \"Copy\"; source_environment = \"alphasite/live\"; },\n"
    " { name = \"plain\"; schedule = \"@daily\"; action = \"create-site\";"
    "   display_name = \"P\"; region = \"r\"; install_mode = \"plain\"; },\n"
    " { name = \"adddom\"; schedule = \"@daily\"; action = \"add-domain\";"
    "   environment_id = \"" ENV "\"; domain = \"a.example.com\"; },\n"
    " { name = \"rmdom\"; schedule = \"@daily\"; action = "
    "\"remove-domain\"; environment_id = \"" ENV "\";"
    "   domain = \"a.example.com\"; },\n"
    " { name = \"logs\"; schedule = \"@daily\"; action = \"fetch-logs\";"
    "   environment_id = \"" ENV "\"; alert_on = [\"Fatal\", \"\"]; },\n"
    " { name = \"rb\"; schedule = \"@daily\"; action = "
    "\"restore-backup\"; environment_id = \"" ENV "\";"
    "   backup = \"pre-update\"; },\n"
    " { name = \"safe\"; schedule = \"@daily\"; action = \"update-plugins\";"
    "   environment_id = \"" ENV "\"; backup_first = true;"
    "   on_failure = \"restore\"; notify_user = \"ops@example.com\";"
    "   clear_caches_after = true;"
    "   verify = { urls = [\"/\", \"https://{site_name}.example/{env_name}\"];"
    "   base_url = \"http://127.0.0.1:9/_site/{domain}\";"
    "   expect_text = \"</html>\"; }; }\n"
    ");\n";

static struct config *cfg;

/* Status families; the first byte of the input picks the first. */
static const long statuses[] = {200, 202, 0,   404, 429, 500, 401,
                                400, 204, 503, 302, 201, 502, 422};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))

/* A message in a buffer of size cap: terminated inside it, one line. */
static void
check_text(const char *s, size_t cap, bool nonempty)
{
	const char *end = memchr(s, '\0', cap);

	FUZZ_ASSERT(end != NULL);
	FUZZ_ASSERT(!nonempty || s[0] != '\0');
	for (const char *p = s; p < end; p++)
		FUZZ_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f);
}

static void
check_request(const struct kinsta_request *req)
{
	FUZZ_ASSERT(req->method >= METHOD_GET && req->method <= METHOD_DELETE);
	FUZZ_ASSERT(memchr(req->path, '\0', sizeof(req->path)) != NULL);
	if (req->probe) {
		/* a page of the site itself: a whole URL, a GET, no body */
		FUZZ_ASSERT(strncmp(req->path, "http", 4) == 0);
		FUZZ_ASSERT(req->method == METHOD_GET && req->body == NULL);
		FUZZ_ASSERT(req->timeout_ms > 0);
		return;
	}
	FUZZ_ASSERT(req->path[0] == '/');
	FUZZ_ASSERT(req->mutating == (req->method != METHOD_GET));
	FUZZ_ASSERT((req->body == NULL) == (req->body_len == 0));
	if (req->body != NULL) {
		yajl_val v = NULL;
		char err[128];

		FUZZ_ASSERT(strlen(req->body) == req->body_len);
		FUZZ_ASSERT(json_parse(&v, req->body, req->body_len, NULL, err,
		                       sizeof(err)) == 0);
		json_free(v);
	}
}

/* A target that kinsta_select made. */
static void
check_target(const struct target *t)
{
	FUZZ_ASSERT(t->resolved);
	FUZZ_ASSERT(memchr(t->env_id, '\0', sizeof(t->env_id)) != NULL);
	FUZZ_ASSERT(memchr(t->env_name, '\0', sizeof(t->env_name)) != NULL);
	FUZZ_ASSERT(memchr(t->site_id, '\0', sizeof(t->site_id)) != NULL);
	FUZZ_ASSERT(memchr(t->site_name, '\0', sizeof(t->site_name)) != NULL);
	FUZZ_ASSERT(memchr(t->cdn_cache_id, '\0', sizeof(t->cdn_cache_id)));
	FUZZ_ASSERT(memchr(t->edge_cache_id, '\0', sizeof(t->edge_cache_id)));
	FUZZ_ASSERT(memchr(t->source_env_id, '\0', sizeof(t->source_env_id)));
}

struct input {
	const uint8_t *data;
	size_t size;
	const char *body; /* data[1..], NUL-terminated copy */
	size_t len;
	size_t pos; /* next byte to pick a status from */
};

static long
next_status(struct input *in)
{
	uint8_t b = in->size ? in->data[in->pos++ % in->size] : 0;

	return statuses[b % NSTATUS];
}

/* Follow the run's operation: one poll answered with the body. */
static enum kinsta_next
follow(struct kinsta_run *run, struct input *in, bool time_out)
{
	struct kinsta_request req;
	char msg[KINSTA_MSG_MAX];
	enum ops_poll v;
	long status = next_status(in);

	FUZZ_ASSERT(run->op_id[0] != '\0');
	FUZZ_ASSERT(memchr(run->op_id, '\0', sizeof(run->op_id)) != NULL);
	kinsta_poll_request(run, &req);
	check_request(&req);
	FUZZ_ASSERT(req.method == METHOD_GET && req.body == NULL);
	v = kinsta_classify_poll(run->deployment, status, in->body, in->len,
	                         msg);
	FUZZ_ASSERT(v >= OPS_POLL_RUNNING && v <= OPS_POLL_REJECTED);
	check_text(msg, sizeof(msg), v == OPS_POLL_REJECTED);
	if (time_out)
		return kinsta_op_done(run, OPS_TIMED_OUT, "still running");
	switch (v) {
	case OPS_POLL_FAILED:
	case OPS_POLL_REJECTED:
	case OPS_POLL_AUTH:
		return kinsta_op_done(run, OPS_FAILED,
		                      msg[0] ? msg : "operation failed");
	default:
		return kinsta_op_done(run, OPS_SUCCEEDED, msg);
	}
}

/* One run of job on target to its end. */
static void
drive(struct kinsta_run *run, struct input *in, bool time_out)
{
	enum kinsta_next next;
	struct kinsta_request req;
	int guard = 0;

	next = kinsta_run_next(run, &req);
	for (;;) {
		FUZZ_ASSERT(++guard < 100000); /* a run always ends */
		if (next == KINSTA_DONE)
			break;
		if (next == KINSTA_FOLLOW) {
			kinsta_request_clear(&req);
			next = follow(run, in, time_out);
			if (next == KINSTA_SEND)
				next = kinsta_run_next(run, &req);
			continue;
		}
		FUZZ_ASSERT(next == KINSTA_SEND && run->sent);
		check_request(&req);
		{
			bool probe = req.probe;
			long st = next_status(in);

			kinsta_request_clear(&req);
			if (probe)
				next = kinsta_probe_done(
				    run, st, in->body, in->len,
				    st == 0 ? "connection refused" : NULL, 7);
			else
				next = kinsta_feed(run, st, in->body, in->len,
				                   st == 0 ? "connection reset"
				                           : NULL);
		}
		if (next == KINSTA_SEND)
			next = kinsta_run_next(run, &req);
	}
	kinsta_request_clear(&req);
	FUZZ_ASSERT(run->outcome == KINSTA_SUCCEEDED ||
	            run->outcome == KINSTA_FAILED ||
	            run->outcome == KINSTA_TIMED_OUT ||
	            run->outcome == KINSTA_SKIPPED ||
	            run->outcome == KINSTA_ROLLED_BACK);
	/* only an update with on_failure = "restore" rolls back */
	FUZZ_ASSERT(run->outcome != KINSTA_ROLLED_BACK ||
	            (run->restored && run->backup_id > 0));
	check_text(run->message, sizeof(run->message),
	           run->outcome != KINSTA_SUCCEEDED);
	{
		/* what the history gets is one JSON object */
		struct json_writer w;
		const char *buf;
		size_t len;
		yajl_val v = NULL;
		char err[128];

		json_w_init(&w);
		if (kinsta_details(run, &w) == 0) {
			FUZZ_ASSERT(json_w_finish(&w, &buf, &len) == 0);
			FUZZ_ASSERT(json_parse(&v, buf, len, NULL, err,
			                       sizeof(err)) == 0);
			FUZZ_ASSERT(json_obj_len(v) > 0);
			json_free(v);
		}
		json_w_free(&w);
	}
	check_text(run->note, sizeof(run->note), false);
	FUZZ_ASSERT(strcmp(kinsta_outcome_name(run->outcome), "running") != 0);
	if (run->job->action == ACTION_REPORT &&
	    run->outcome == KINSTA_SUCCEEDED) {
		const char *buf;
		size_t len;
		yajl_val v = NULL;
		char err[128];

		FUZZ_ASSERT(kinsta_report(run, &buf, &len) == 0);
		FUZZ_ASSERT(json_parse(&v, buf, len, NULL, err, sizeof(err)) ==
		            0);
		json_free(v);
	}
	/* a kept answer makes one line of JSON */
	if (kinsta_answer_finish(run, 1796529600000) == 0) {
		/* one level and a few fields more than the answer */
		const struct json_limits lim = {(size_t)16 << 20, 128, false};
		yajl_val v = NULL;
		char err[128];

		FUZZ_ASSERT(run->answer_line_len > 1 &&
		            run->answer_line[run->answer_line_len - 1] == '\n');
		FUZZ_ASSERT(
		    memchr(run->answer_line, '\n', run->answer_line_len) ==
		    run->answer_line + run->answer_line_len - 1);
		FUZZ_ASSERT(json_parse(&v, run->answer_line,
		                       run->answer_line_len - 1, &lim, err,
		                       sizeof(err)) == 0);
		json_free(v);
	}
	/* once done, it stays done */
	FUZZ_ASSERT(kinsta_run_next(run, &req) == KINSTA_DONE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct target fixed = {
	    .env_id = ENV,
	    .env_name = "live",
	    .site_id = "11111111-1111-4111-8111-111111111111",
	    .site_name = "alphasite",
	    .cdn_cache_id = "c1111111-1111-4111-8111-111111111111",
	    .edge_cache_id = "e1111111-1111-4111-8111-111111111111",
	    .source_env_id = "a1111111-1111-4111-8111-111111111112",
	    .domain = "alpha.example",
	    .resolved = true,
	};
	struct input in = {.data = data, .size = size};
	char msg[KINSTA_MSG_MAX], err[256];
	uint8_t b0 = size ? data[0] : 0;
	char *body;

	if (cfg == NULL) {
		struct config_errors errs = {0};

		if (config_load_string(conf_text, "fuzz.conf",
		                       CONFIG_LOAD_NO_KEYS, &cfg, &errs) < 0) {
			for (size_t i = 0; i < errs.n; i++)
				fprintf(stderr, "%s\n", errs.msgs[i]);
			abort();
		}
	}
	in.len = size ? size - 1 : 0;
	if ((body = malloc(in.len + 1)) == NULL)
		return 0;
	if (in.len)
		memcpy(body, data + 1, in.len);
	body[in.len] = '\0'; /* http hands bodies over NUL-terminated */
	in.body = body;

	/* error bodies */
	for (size_t i = 0; i < NSTATUS; i++) {
		bool limited =
		    kinsta_error_message(statuses[i], body, in.len, msg);

		check_text(msg, sizeof(msg), true);
		FUZZ_ASSERT(statuses[i] != 429 || limited);
	}
	/* polls */
	for (size_t i = 0; i < NSTATUS; i++)
		for (int dep = 0; dep < 2; dep++) {
			enum ops_poll v = kinsta_classify_poll(
			    dep, statuses[i], body, in.len, msg);

			FUZZ_ASSERT(v >= OPS_POLL_RUNNING &&
			            v <= OPS_POLL_REJECTED);
			check_text(msg, sizeof(msg), v == OPS_POLL_REJECTED);
			if (statuses[i] == 0 || statuses[i] == 429 ||
			    statuses[i] == 503)
				FUZZ_ASSERT(v == OPS_POLL_RETRY);
			if (statuses[i] == 401)
				FUZZ_ASSERT(v == OPS_POLL_AUTH);
		}

	/* every job: targets from the body as a site list, then runs */
	for (size_t j = 0; j < cfg->njobs; j++) {
		const struct config_job *job = &cfg->jobs[j];
		struct target *t = NULL;
		struct kinsta_run run;
		size_t n = 0;
		bool time_out = (b0 & 0x80) && (j & 1);

		in.pos = 0;
		if (kinsta_needs_listing(job)) {
			int rc = kinsta_select(job, body, in.len, &t, &n, err,
			                       sizeof(err));

			if (rc == 0) {
				FUZZ_ASSERT(n > 0 && t != NULL);
				for (size_t k = 0; k < n; k++)
					check_target(&t[k]);
			} else {
				FUZZ_ASSERT(rc == -EINVAL || rc == -ENOMEM);
				FUZZ_ASSERT(t == NULL && n == 0);
				check_text(err, sizeof(err), true);
			}
		}
		/* the first selected target (or the fixed one) */
		kinsta_run_init(&run, cfg, job,
		                n > 0 ? &t[0]
		                : (action_get(job->action)->target ==
		                   ACTION_TARGET_REQUIRED)
		                    ? &fixed
		                    : NULL);
		free(t);
		/* the first answer's status comes from the first byte */
		in.pos = 0;
		drive(&run, &in, time_out);
		kinsta_run_free(&run);

		/* the same job resumed at a step after a restart (a report
		 * has no operation to resume) */
		if (job->action == ACTION_REPORT)
			continue;
		kinsta_run_resume(&run, cfg, job, &fixed, b0 & 7,
		                  (b0 & 8)
		                      ? action_step_name((enum action_step)(
		                            (b0 >> 4) % STEP_COUNT))
		                      : NULL,
		                  "op:fuzz-1", (b0 & 4) != 0);
		in.pos = 1;
		drive(&run, &in, false);
		kinsta_run_free(&run);
	}
	free(body);
	return 0;
}
