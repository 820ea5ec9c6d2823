/*
 * test_face: the HTTP face's router against a fake daemon: the token
 * (Bearer, Basic, constant-time compare), bad-token penalties, every API
 * path and its errors, the history filters, the book, and the status
 * page's contents.
 */
#include <errno.h>
#include <string.h>

#include "config.h"
#include "face.h"
#include "test.h"

#define TOKEN "0123456789abcdef0123456789abcdef"
/* base64("any:" TOKEN) */
#define BASIC "YW55OjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVm"
#define NOW   INT64_C(1796000000000)

static const char conf_text[] =
    "api = { url = \"http://127.0.0.1:9/v2\"; };\n"
    "listen = { address = \"127.0.0.1:8787\"; };\n"
    "slack = { allow_users = [\"U1\"]; allow_channels = [\"C1\"]; };\n"
    "accounts = ( { name = \"acme\"; company = "
    "\"c0000000-0000-4000-8000-000000000001\"; } );\n"
    "jobs = (\n"
    " { name = \"nightly\"; schedule = \"0 3 * * *\"; action = "
    "\"clear-cache\"; environment_id = "
    "\"a2222222-2222-4222-8222-222222222222\"; },\n"
    " { name = \"odd\"; schedule = \"0 4 * * *\"; enabled = false; "
    "action = \"restart-php\"; environment_id = "
    "\"a2222222-2222-4222-8222-222222222222\"; }\n"
    ");\n";

static struct config *cfg;
static int triggers;
static bool busy;

static const char history_text[] =
    "{\"job\":\"nightly\",\"action\":\"clear-cache\",\"env_id\":\"e1\","
    "\"target\":\"shop/live\",\"run_id\":\"11\",\"outcome\":\"succeeded\","
    "\"start_ms\":1795000000000,\"end_ms\":1795000001000}\n"
    "not json\n"
    "{\"job\":\"nightly\",\"action\":\"clear-cache\",\"env_id\":\"e1\","
    "\"target\":\"shop/live\",\"run_id\":\"12\",\"outcome\":\"failed\","
    "\"message\":\"Environment <is> blocked\","
    "\"start_ms\":1795900000000,\"end_ms\":1795900001000}\n";

static const struct config *
fake_config(void *arg)
{
	(void)arg;
	return cfg;
}

static void
fake_job_state(void *arg, const struct config_job *job,
               struct face_job_state *out)
{
	(void)arg;
	out->next_slot = job->enabled ? 1796011200 : -1;
	out->last_fired = -1;
	out->running = 0;
}

static int
fake_trigger(void *arg, const char *job, uint64_t *id)
{
	(void)arg;
	if (config_find_job(cfg, job) == NULL)
		return -ENOENT;
	if (busy)
		return -EBUSY;
	triggers++;
	*id = 4242;
	return 0;
}

static int
fake_fire(void *arg, uint64_t id, struct face_fire *out)
{
	(void)arg;
	if (id != 4242)
		return -ENOENT;
	*out = (struct face_fire){.run_id = 4242,
	                          .job = "nightly",
	                          .action = "clear-cache",
	                          .started_ms = NOW - 1000,
	                          .why = ""};
	out->targets = calloc(1, sizeof(*out->targets));
	out->targets[0] = (struct face_target){.env_id = "e1",
	                                       .name = "shop/live",
	                                       .outcome = KINSTA_RUNNING,
	                                       .op_id = "op-1",
	                                       .message = "",
	                                       .note = ""};
	out->ntargets = 1;
	return 0;
}

static size_t
fake_fires(void *arg, uint64_t *ids, size_t max)
{
	(void)arg;
	if (max > 0)
		ids[0] = 4242;
	return 1;
}

static int
fake_history(void *arg, char **text, size_t *len)
{
	(void)arg;
	*text = strdup(history_text);
	*len = strlen(history_text);
	return *text ? 0 : -ENOMEM;
}

/* Not HMAC, but what face does with the hook's answer is the same. */
static int
fake_hmac(void *arg, const void *key, size_t klen, const void *msg, size_t mlen,
          unsigned char out[32])
{
	(void)arg;
	memset(out, 0, 32);
	for (size_t i = 0; i < klen; i++)
		out[i % 32] ^= ((const unsigned char *)key)[i];
	for (size_t i = 0; i < mlen; i++)
		out[i % 32] += ((const unsigned char *)msg)[i];
	return 0;
}

static char slack_url[256];
static int slack_runs;

static int
fake_slack_run(void *arg, const char *job, const char *url, uint64_t *id)
{
	int rc = fake_trigger(arg, job, id);

	if (rc == 0) {
		slack_runs++;
		snprintf(slack_url, sizeof(slack_url), "%s", url);
	}
	return rc;
}

static const struct face_source src = {
    .hmac = fake_hmac,
    .slack_run = fake_slack_run,
    .config = fake_config,
    .job_state = fake_job_state,
    .trigger = fake_trigger,
    .fire = fake_fire,
    .fires = fake_fires,
    .history = fake_history,
};

static struct face_book book;
static const struct face face = {.src = &src,
                                 .book = &book,
                                 .token = TOKEN,
                                 .slack_secret = "slack-secret-0123456789",
                                 .slack_secret_len = 23};

/* One request; the reply's body as a string (static, overwritten). */
static int
ask(const char *method, const char *path, const char *query, const char *auth,
    struct face_reply *rep)
{
	static char qbuf[512];
	struct face_request req = {.method = method,
	                           .path = path,
	                           .authorization = auth,
	                           .now_ms = NOW};

	if (query != NULL) {
		snprintf(qbuf, sizeof(qbuf), "%s", query);
		face_query_parse(&req, qbuf, strlen(qbuf) + 1);
	}
	face_handle(&face, &req, rep);
	return rep->status;
}

static bool
has(const struct face_reply *rep, const char *s)
{
	return rep->body != NULL && strstr(rep->body, s) != NULL;
}

static void
test_auth(void)
{
	CHECK(face_authorized(TOKEN, "Bearer " TOKEN));
	CHECK(face_authorized(TOKEN, "bearer  " TOKEN));
	CHECK(face_authorized(TOKEN, "Basic " BASIC));
	CHECK(!face_authorized(TOKEN, "Bearer " TOKEN "x"));
	CHECK(!face_authorized(TOKEN, "Bearer 0123456789abcdef"));
	CHECK(!face_authorized(TOKEN, "Bearer "));
	CHECK(!face_authorized(TOKEN, "Basic !!!"));
	CHECK(!face_authorized(TOKEN, "Basic YW55")); /* no colon */
	CHECK(!face_authorized(TOKEN, TOKEN));        /* no scheme */
	CHECK(!face_authorized(TOKEN, NULL));
	CHECK(!face_authorized("", "Bearer ")); /* no token: nobody */
	CHECK(!face_authorized(NULL, "Bearer x"));
}

static void
test_penalty(void)
{
	static struct face_penalty p;

	for (int i = 0; i < 2; i++)
		face_penalty_note(&p, "10.0.0.1", false, NOW);
	CHECK_INT(face_penalty_wait(&p, "10.0.0.1", NOW), 0);
	face_penalty_note(&p, "10.0.0.1", false, NOW);
	CHECK_INT(face_penalty_wait(&p, "10.0.0.1", NOW), 1);
	CHECK_INT(face_penalty_wait(&p, "10.0.0.2", NOW), 0);
	face_penalty_note(&p, "10.0.0.1", false, NOW);
	CHECK_INT(face_penalty_wait(&p, "10.0.0.1", NOW), 2);
	for (int i = 0; i < 20; i++)
		face_penalty_note(&p, "10.0.0.1", false, NOW);
	CHECK_INT(face_penalty_wait(&p, "10.0.0.1", NOW), 60);
	CHECK_INT(face_penalty_wait(&p, "10.0.0.1", NOW + 60000), 0);
	face_penalty_note(&p, "10.0.0.1", true, NOW);
	CHECK_INT(face_penalty_wait(&p, "10.0.0.1", NOW), 0);
	/* many addresses: the table holds, the newest is tracked */
	for (int i = 0; i < 3 * FACE_PENALTY_SLOTS; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.1.%d.%d", i / 256, i % 256);
		for (int k = 0; k < 3; k++)
			face_penalty_note(&p, a, false, NOW + i);
	}
	CHECK(face_penalty_wait(&p, "10.1.2.255", NOW + 767) > 0);
}

static void
test_routes(void)
{
	struct face_reply rep;

	CHECK_INT(ask("GET", "/api/v1/jobs", NULL, NULL, &rep), 401);
	CHECK(rep.challenge);
	CHECK(has(&rep, "Bearer"));
	CHECK(!has(&rep, TOKEN));
	face_reply_free(&rep);
	CHECK_INT(ask("GET", "/api/v1/jobs", NULL, "Bearer nope", &rep), 401);
	face_reply_free(&rep);

	CHECK_INT(ask("GET", "/api/v1/jobs", NULL, "Bearer " TOKEN, &rep), 200);
	CHECK_STR(rep.type, "application/json");
	CHECK(has(&rep, "\"name\":\"nightly\""));
	CHECK(has(&rep, "\"next\":\"2026-11-30T04:00:00Z\""));
	CHECK(has(&rep, "\"outcome\":\"failed\""));
	CHECK(has(&rep, "\"enabled\":false"));
	face_reply_free(&rep);

	CHECK_INT(ask("POST", "/api/v1/jobs", NULL, "Bearer " TOKEN, &rep),
	          405);
	CHECK_STR(rep.allow, "GET, HEAD");
	face_reply_free(&rep);

	CHECK_INT(ask("POST", "/api/v1/jobs/nightly/trigger", NULL,
	              "Bearer " TOKEN, &rep),
	          202);
	CHECK(has(&rep, "\"run_id\":\"4242\""));
	CHECK_INT(triggers, 1);
	face_reply_free(&rep);
	CHECK_INT(ask("GET", "/api/v1/jobs/nightly/trigger", NULL,
	              "Bearer " TOKEN, &rep),
	          405);
	CHECK_INT(triggers, 1);
	face_reply_free(&rep);
	CHECK_INT(ask("POST", "/api/v1/jobs/nope/trigger", NULL,
	              "Bearer " TOKEN, &rep),
	          404);
	CHECK(has(&rep, "no job \\\"nope\\\""));
	face_reply_free(&rep);
	busy = true;
	CHECK_INT(ask("POST", "/api/v1/jobs/nightly/trigger", NULL,
	              "Bearer " TOKEN, &rep),
	          409);
	busy = false;
	face_reply_free(&rep);
	CHECK_INT(
	    ask("POST", "/api/v1/jobs//trigger", NULL, "Bearer " TOKEN, &rep),
	    404);
	face_reply_free(&rep);

	CHECK_INT(ask("GET", "/api/v1/runs/4242", NULL, "Bearer " TOKEN, &rep),
	          200);
	CHECK(has(&rep, "\"running\":true"));
	CHECK(has(&rep, "\"op_id\":\"op-1\""));
	face_reply_free(&rep);
	CHECK_INT(ask("GET", "/api/v1/runs/12x", NULL, "Bearer " TOKEN, &rep),
	          400);
	face_reply_free(&rep);
	CHECK_INT(ask("GET", "/api/v1/runs/99999999999999999999999", NULL,
	              "Bearer " TOKEN, &rep),
	          400);
	face_reply_free(&rep);
	CHECK_INT(ask("GET", "/api/v1/runs/7", NULL, "Bearer " TOKEN, &rep),
	          404);
	face_reply_free(&rep);

	CHECK_INT(ask("GET", "/api/v1/nope", NULL, "Bearer " TOKEN, &rep), 404);
	face_reply_free(&rep);
	CHECK_INT(ask("GET", "/etc/passwd", NULL, "Bearer " TOKEN, &rep), 404);
	face_reply_free(&rep);
	/* bytes that are not UTF-8 in a path still give valid JSON */
	CHECK_INT(ask("GET", "/\xff\xfe", NULL, "Bearer " TOKEN, &rep), 404);
	CHECK(rep.body != NULL);
	face_reply_free(&rep);
}

static void
test_history(void)
{
	struct face_reply rep;

	CHECK_INT(ask("GET", "/api/v1/history", NULL, "Bearer " TOKEN, &rep),
	          200);
	/* newest first, the bad line skipped */
	CHECK(rep.body && strstr(rep.body, "\"12\"") &&
	      strstr(rep.body, "\"11\"") &&
	      strstr(rep.body, "\"12\"") < strstr(rep.body, "\"11\""));
	face_reply_free(&rep);
	CHECK_INT(ask("GET", "/api/v1/history", "outcome=succeeded",
	              "Bearer " TOKEN, &rep),
	          200);
	CHECK(has(&rep, "\"11\"") && !has(&rep, "\"12\""));
	face_reply_free(&rep);
	CHECK_INT(
	    ask("GET", "/api/v1/history", "job=other", "Bearer " TOKEN, &rep),
	    200);
	CHECK_STR(rep.body, "{\"runs\":[]}\n");
	face_reply_free(&rep);
	/* 1795500000 = 2026-11-24T05:20:00Z */
	CHECK_INT(ask("GET", "/api/v1/history", "since=1795500000",
	              "Bearer " TOKEN, &rep),
	          200);
	CHECK(has(&rep, "\"12\"") && !has(&rep, "\"11\""));
	face_reply_free(&rep);
	CHECK_INT(ask("GET", "/api/v1/history",
	              "since=2026-11-24T05%3A20%3A00Z", "Bearer " TOKEN, &rep),
	          200);
	CHECK(has(&rep, "\"12\"") && !has(&rep, "\"11\""));
	face_reply_free(&rep);
	CHECK_INT(
	    ask("GET", "/api/v1/history", "limit=1", "Bearer " TOKEN, &rep),
	    200);
	CHECK(has(&rep, "\"12\"") && !has(&rep, "\"11\""));
	face_reply_free(&rep);
	CHECK_INT(ask("GET", "/api/v1/history", "since=yesterday",
	              "Bearer " TOKEN, &rep),
	          400);
	CHECK(has(&rep, "since"));
	face_reply_free(&rep);
	CHECK_INT(ask("GET", "/api/v1/history", "outcome=great",
	              "Bearer " TOKEN, &rep),
	          400);
	face_reply_free(&rep);
	CHECK_INT(
	    ask("GET", "/api/v1/history", "limit=0", "Bearer " TOKEN, &rep),
	    400);
	face_reply_free(&rep);
}

static void
test_page(void)
{
	struct face_reply rep;
	struct face_target t = {.env_id = "e2",
	                        .name = "shop/staging",
	                        .outcome = KINSTA_TIMED_OUT,
	                        .op_id = "",
	                        .message = "the operation took too long",
	                        .note = ""};
	struct face_fire f = {.run_id = 77,
	                      .job = "nightly",
	                      .action = "clear-cache",
	                      .started_ms = NOW - 5000,
	                      .ended_ms = NOW - 1000,
	                      .why = "",
	                      .targets = &t,
	                      .ntargets = 1};

	CHECK_INT(face_book_add_fire(&book, &f), 0);
	CHECK_INT(ask("GET", "/", NULL, "Basic " BASIC, &rep), 200);
	CHECK_STR(rep.type, "text/html; charset=utf-8");
	CHECK(has(&rep, "<meta http-equiv=\"refresh\""));
	CHECK(has(&rep, "<td class=\"name\">nightly</td>"));
	CHECK(has(&rep, "<td class=\"name\">odd</td>"));
	/* messages are escaped */
	CHECK(!has(&rep, "<is>"));
	CHECK(has(&rep, "Environment &lt;is&gt; blocked"));
	CHECK(has(&rep, "the operation took too long"));
	CHECK(has(&rep, "<svg class=\"spark\""));
	CHECK(has(&rep, "4242")); /* in flight */
	CHECK(!has(&rep, "<script"));
	CHECK(!has(&rep, "http://") && !has(&rep, "https://"));
	face_reply_free(&rep);
	CHECK_INT(ask("HEAD", "/", NULL, "Basic " BASIC, &rep), 200);
	face_reply_free(&rep);
	CHECK_INT(ask("DELETE", "/", NULL, "Basic " BASIC, &rep), 405);
	face_reply_free(&rep);
	/* an ended fire is found in the book */
	CHECK_INT(ask("GET", "/api/v1/runs/77", NULL, "Bearer " TOKEN, &rep),
	          200);
	CHECK(has(&rep, "\"running\":false"));
	CHECK(has(&rep, "\"timed-out\":1"));
	face_reply_free(&rep);
}

static void
test_book_bounds(void)
{
	struct face_book *b = calloc(1, sizeof(*b));
	struct face_run r = {.job = "j", .outcome = "succeeded"};

	face_book_init(b);
	for (int i = 0; i < FACE_BOOK_RUNS + 10; i++) {
		r.run_id = (uint64_t)i;
		CHECK_INT(face_book_add_run(b, &r), 0);
	}
	CHECK_INT(b->nruns, FACE_BOOK_RUNS);
	for (int i = 0; i < FACE_BOOK_FIRES + 3; i++) {
		struct face_fire f = {
		    .run_id = (uint64_t)i, .job = "j", .why = "no key"};

		CHECK_INT(face_book_add_fire(b, &f), 0);
	}
	CHECK_INT(b->nfires, FACE_BOOK_FIRES);
	face_book_free(b);
	free(b);
}

/* A signed Slack command at now (seconds) with body; the reply. */
static int
slack(const char *body, int64_t ts, bool good_sig, struct face_reply *rep)
{
	static const char hex[] = "0123456789abcdef";
	char tsbuf[32], base[2048], sig[80] = "v0=";
	unsigned char mac[32];
	struct face_request req = {.method = "POST",
	                           .path = "/slack/commands",
	                           .body = body,
	                           .body_len = strlen(body),
	                           .now_ms = NOW};

	snprintf(tsbuf, sizeof(tsbuf), "%lld", (long long)ts);
	snprintf(base, sizeof(base), "v0:%s:%s", tsbuf, body);
	fake_hmac(NULL, face.slack_secret, face.slack_secret_len, base,
	          strlen(base), mac);
	for (int i = 0; i < 32; i++) {
		sig[3 + 2 * i] = hex[mac[i] >> 4];
		sig[4 + 2 * i] = hex[mac[i] & 15];
	}
	sig[67] = '\0';
	if (!good_sig)
		sig[10] = sig[10] == 'a' ? 'b' : 'a';
	req.slack_timestamp = tsbuf;
	req.slack_signature = sig;
	face_handle(&face, &req, rep);
	return rep->status;
}

static void
test_slack(void)
{
	struct face_reply rep;
	const int64_t now = NOW / 1000;
	const char *run = "user_id=U1&channel_id=C1&text=run+nightly&"
	                  "response_url=https%3A%2F%2Fhooks.slack.com%2Fx";

	CHECK_INT(slack(run, now, true, &rep), 200);
	CHECK(has(&rep, "Started job nightly, run 4242"));
	CHECK_STR(slack_url, "https://hooks.slack.com/x");
	CHECK_INT(slack_runs, 1);
	face_reply_free(&rep);
	/* refused, nothing run */
	CHECK_INT(slack(run, now, false, &rep), 401);
	face_reply_free(&rep);
	CHECK_INT(slack(run, now - FACE_SLACK_MAX_AGE_S - 1, true, &rep), 401);
	face_reply_free(&rep);
	CHECK_INT(slack(run, now + FACE_SLACK_MAX_AGE_S + 1, true, &rep), 401);
	face_reply_free(&rep);
	CHECK_INT(slack("user_id=U2&channel_id=C1&text=run+nightly&"
	                "response_url=https%3A%2F%2Fhooks.slack.com%2Fx",
	                now, true, &rep),
	          200);
	CHECK(has(&rep, "not allowed"));
	face_reply_free(&rep);
	CHECK_INT(slack("user_id=U1&channel_id=C9&text=run+nightly&"
	                "response_url=https%3A%2F%2Fhooks.slack.com%2Fx",
	                now, true, &rep),
	          200);
	CHECK(has(&rep, "allow_channels"));
	face_reply_free(&rep);
	CHECK_INT(slack("user_id=U1&channel_id=C1&text=run+nightly&"
	                "response_url=http%3A%2F%2Fevil.example%2Fx",
	                now, true, &rep),
	          200);
	CHECK(has(&rep, "nothing was started"));
	face_reply_free(&rep);
	CHECK_INT(slack("user_id=U1&channel_id=C1&text=", now, true, &rep),
	          200);
	CHECK(has(&rep, "run JOB"));
	face_reply_free(&rep);
	CHECK_INT(slack_runs, 1);
	/* the token does not open Slack's door, nor Slack's the API */
	CHECK_INT(ask("POST", "/slack/commands", NULL, "Bearer " TOKEN, &rep),
	          401);
	face_reply_free(&rep);

	CHECK(face_slack_url_ok("https://hooks.slack.com/commands/T/1/x"));
	CHECK(face_slack_url_ok("http://127.0.0.1:9/x"));
	CHECK(!face_slack_url_ok("https://hooks.slack.com.evil.example/x"));
	CHECK(!face_slack_url_ok("https://example.com/x"));
	CHECK(!face_slack_url_ok("http://hooks.slack.com/x"));
	CHECK(!face_slack_url_ok(NULL));
}

static void
test_slack_outcome(void)
{
	struct face_target t = {.env_id = "e1",
	                        .name = "shop/live",
	                        .outcome = KINSTA_FAILED,
	                        .op_id = "cache:clear-1",
	                        .message = "no \"luck\"",
	                        .note = "",
	                        .started_ms = 1000,
	                        .ended_ms = 3500};
	struct face_fire f = {.run_id = 9,
	                      .job = "nightly",
	                      .started_ms = 1000,
	                      .ended_ms = 3500,
	                      .targets = &t,
	                      .ntargets = 1};
	size_t len = 0;
	char *doc = face_slack_outcome(&f, &len);

	CHECK(doc != NULL && len == strlen(doc));
	CHECK(doc && strstr(doc, "Job nightly, run 9, ended in 2.5 s: 0 "
	                         "succeeded, 1 failed"));
	CHECK(doc && strstr(doc, "shop/live: failed, operation cache:clear-1"));
	CHECK(doc && strstr(doc, "no \\\"luck\\\""));
	free(doc);
}

static void
test_query(void)
{
	struct face_request req = {0};
	char q[] = "a=1&b=x%20y+z&&=skip&c&d=%zz";

	CHECK_INT(face_query_parse(&req, q, sizeof(q)), 4);
	CHECK_STR(req.params[0].key, "a");
	CHECK_STR(req.params[1].value, "x y z");
	CHECK_STR(req.params[2].key, "c");
	CHECK_STR(req.params[2].value, "");
	CHECK_STR(req.params[3].value, "%zz");
}

int
main(void)
{
	struct config_errors errs = {0};

	if (config_load_string(conf_text, "test.conf", CONFIG_LOAD_NO_KEYS,
	                       &cfg, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		return 1;
	}
	face_book_init(&book);
	CHECK_INT(
	    face_book_load_history(&book, history_text, strlen(history_text)),
	    2);
	test_auth();
	test_penalty();
	test_query();
	test_routes();
	test_history();
	test_page();
	test_book_bounds();
	test_slack();
	test_slack_outcome();
	face_book_free(&book);
	config_free(cfg);
	return test_report("test_face");
}
