/*
 * test_face: the HTTP face's router against a fake daemon: the token
 * (Bearer, Basic, constant-time compare), bad-token penalties, every API
 * path and its errors, the history filters, the book, and the status
 * page's contents; ad-hoc actions (POST /api/v1/actions), site lookups
 * (GET /api/v1/sites/NAME, face_site_answer) and Slack's commands.
 */
#include <errno.h>
#include <string.h>

#include "config.h"
#include "face.h"
#include "json.h"
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

static struct config *cfg, *cfg_one;
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

/* What the action and site hooks were given, and what they answer. */
static struct {
	int calls;
	enum action_id action;
	char fields[1024]; /* "key=kind:value;...", see put_fields */
	char by[16], url[256];
	bool url_null;
	int rc;
	char err[256];
	int64_t retry;
} act;

static struct {
	int calls;
	size_t account;
	char site[256], url[256];
	bool url_null;
	int rc;
	char err[256];
} look;

/* v[0..n) as text, kinds spelled out: site=s:shop;keep=i:3;... */
static void
put_fields(char *buf, size_t len, const struct config_value *v, size_t n)
{
	size_t o = strlen(buf);

	for (size_t i = 0; i < n && o < len; i++) {
		const struct config_value *x = &v[i];

		switch (x->kind) {
		case CONFIG_VALUE_STRING:
			o += (size_t)snprintf(buf + o, len - o, "%s=s:%s;",
			                      x->key, x->str);
			break;
		case CONFIG_VALUE_INT:
			o += (size_t)snprintf(buf + o, len - o, "%s=i:%lld;",
			                      x->key, (long long)x->num);
			break;
		case CONFIG_VALUE_BOOL:
			o += (size_t)snprintf(buf + o, len - o, "%s=b:%lld;",
			                      x->key, (long long)x->num);
			break;
		case CONFIG_VALUE_LIST:
			o += (size_t)snprintf(buf + o, len - o, "%s=l:[",
			                      x->key);
			for (size_t k = 0; k < x->nlist && o < len; k++)
				o += (size_t)snprintf(buf + o, len - o, "%s%s",
				                      k ? "," : "", x->list[k]);
			if (o < len)
				o += (size_t)snprintf(buf + o, len - o, "];");
			break;
		case CONFIG_VALUE_GROUP:
			o += (size_t)snprintf(buf + o, len - o, "%s=g:{",
			                      x->key);
			if (o < len)
				put_fields(buf, len, x->members, x->nmembers);
			o = strlen(buf);
			if (o < len)
				o += (size_t)snprintf(buf + o, len - o, "};");
			break;
		}
	}
}

static int
fake_action(void *arg, enum action_id action, const struct config_value *v,
            size_t n, const char *by, const char *url, uint64_t *run_id,
            char *err, size_t errlen, int64_t *retry_after_s)
{
	(void)arg;
	act.calls++;
	act.action = action;
	act.fields[0] = '\0';
	put_fields(act.fields, sizeof(act.fields), v, n);
	snprintf(act.by, sizeof(act.by), "%s", by);
	act.url_null = url == NULL;
	snprintf(act.url, sizeof(act.url), "%s", url ? url : "");
	if (act.rc < 0) {
		snprintf(err, errlen, "%s", act.err);
		*retry_after_s = act.retry;
		return act.rc;
	}
	*run_id = 31337;
	return 0;
}

static int
fake_site(void *arg, size_t account, const char *site, const char *url,
          char *err, size_t errlen)
{
	(void)arg;
	look.calls++;
	look.account = account;
	snprintf(look.site, sizeof(look.site), "%s", site);
	look.url_null = url == NULL;
	snprintf(look.url, sizeof(look.url), "%s", url ? url : "");
	if (look.rc < 0)
		snprintf(err, errlen, "%s", look.err);
	return look.rc;
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
    .action = fake_action,
    .site = fake_site,
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

/* ---- ad-hoc actions, the site view, Slack's commands (issue 15) ---------- */

/* Two accounts, and fewer actions allowed than the default. */
static const char conf_two_text[] =
    "api = { url = \"http://127.0.0.1:9/v2\"; };\n"
    "listen = { address = \"127.0.0.1:8787\"; allow_actions = "
    "[\"clear-cache\", \"restart-php\"]; };\n"
    "slack = { allow_users = [\"U1\"]; allow_channels = [\"C1\"]; };\n"
    "accounts = ( { name = \"a\"; company = "
    "\"c0000000-0000-4000-8000-000000000001\"; },\n"
    " { name = \"b\"; company = \"c0000000-0000-4000-8000-000000000002\"; "
    "} );\n";
static struct config *cfg_two;

static void
hooks_reset(void)
{
	memset(&act, 0, sizeof(act));
	memset(&look, 0, sizeof(look));
}

/* A request with a body, with the token. */
static int
ask_body(const char *method, const char *path, const char *body,
         struct face_reply *rep)
{
	struct face_request req = {.method = method,
	                           .path = path,
	                           .body = body,
	                           .body_len = body ? strlen(body) : 0,
	                           .authorization = "Bearer " TOKEN,
	                           .now_ms = NOW};

	face_handle(&face, &req, rep);
	return rep->status;
}

/* POST /api/v1/actions with body: the status; the hook's calls counted
 * in act. */
static int
post_action(const char *body, struct face_reply *rep)
{
	return ask_body("POST", "/api/v1/actions", body, rep);
}

/* The reply's body as a JSON tree (NULL when it is none). */
static yajl_val
tree(const struct face_reply *rep)
{
	yajl_val v = NULL;
	char err[128];

	if (rep->body == NULL ||
	    json_parse(&v, rep->body, rep->len, NULL, err, sizeof(err)) < 0)
		return NULL;
	return v;
}

static void
test_actions(void)
{
	struct face_reply rep;
	yajl_val v;

	hooks_reset();
	/* every kind of field, as the hook gets it */
	CHECK_INT(post_action("{\"action\":\"clear-cache\",\"site\":\"shop\","
	                      "\"retries\":3,\"on\":true,\"off\":false,"
	                      "\"sites\":[\"a\",\"b\"],\"none\":[],"
	                      "\"verify\":{\"urls\":[\"/\"],\"timeout\":5}}",
	                      &rep),
	          202);
	CHECK_STR(rep.type, "application/json");
	v = tree(&rep);
	CHECK(v != NULL);
	CHECK_STR(json_str(v, "run_id", NULL), "31337");
	CHECK_STR(json_str(v, "action", NULL), "clear-cache");
	CHECK_STR(json_str(v, "status", NULL), "started");
	json_free(v);
	face_reply_free(&rep);
	CHECK_INT(act.calls, 1);
	CHECK_INT(act.action, ACTION_CLEAR_CACHE);
	CHECK_STR(act.fields, "site=s:shop;retries=i:3;on=b:1;off=b:0;"
	                      "sites=l:[a,b];none=l:[];"
	                      "verify=g:{urls=l:[/];timeout=i:5;};");
	CHECK_STR(act.by, "api");
	CHECK(act.url_null);
	/* "action" alone: no fields */
	CHECK_INT(post_action("{\"action\":\"backup\"}", &rep), 202);
	CHECK_INT(act.calls, 2);
	CHECK_INT(act.action, ACTION_BACKUP);
	CHECK_STR(act.fields, "");
	face_reply_free(&rep);

	/* 400s, the hook not called */
	hooks_reset();
	static const char *const bad[] = {
	    "not json",
	    "",
	    "[\"clear-cache\"]",
	    "\"clear-cache\"",
	    "{\"site\":\"shop\"}",
	    "{\"action\":7,\"site\":\"shop\"}",
	    "{\"action\":null}",
	    "{\"action\":\"clear-cache\",\"site\":null}",
	    "{\"action\":\"clear-cache\",\"site\":\"shop\",\"retries\":1.5}",
	    "{\"action\":\"clear-cache\",\"sites\":[[\"shop\"]]}",
	    "{\"action\":\"clear-cache\",\"sites\":[\"a\",1]}",
	    "{\"action\":\"clear-cache\",\"verify\":{\"a\":{\"b\":1}}}",
	    "{\"action\":\"clear-cache\",\"verify\":{\"a\":null}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		test_checks++;
		if (post_action(bad[i], &rep) != 400 || rep.body == NULL ||
		    !has(&rep, "\"status\":400")) {
			test_failed++;
			fprintf(stderr, "POST /actions %s: %d %s, want 400\n",
			        bad[i], rep.status, rep.body ? rep.body : "");
		}
		face_reply_free(&rep);
	}
	CHECK_INT(act.calls, 0);
	CHECK_INT(post_action(NULL, &rep), 400);
	CHECK(has(&rep, "not JSON"));
	face_reply_free(&rep);
	CHECK_INT(post_action("{\"site\":\"shop\"}", &rep), 400);
	CHECK(has(&rep, "\\\"action\\\""));
	face_reply_free(&rep);
	CHECK_INT(
	    post_action("{\"action\":\"clear-cache\",\"site\":null}", &rep),
	    400);
	CHECK(has(&rep, "\\\"site\\\": expected a string"));
	face_reply_free(&rep);
	CHECK_INT(
	    post_action("{\"action\":\"clear-cache\",\"sites\":[1]}", &rep),
	    400);
	CHECK(has(&rep, "\\\"sites\\\": a list holds strings only"));
	face_reply_free(&rep);
	/* an unknown action: the allowed ones listed */
	CHECK_INT(post_action("{\"action\":\"clear-cahce\"}", &rep), 400);
	CHECK(has(&rep, "no action \\\"clear-cahce\\\""));
	CHECK(has(&rep, "allowed here: clear-cache, clear-edge-cache, "
	                "clear-cdn-cache, clear-all-caches, restart-php, "
	                "backup"));
	face_reply_free(&rep);
	/* the daemon's own site view is no action a request can name */
	CHECK_INT(post_action(
	              "{\"action\":\"site-status\",\"site_name\":\"x\"}", &rep),
	          400);
	face_reply_free(&rep);
	/* 32 fields at most */
	{
		char big[2048] = "{\"action\":\"clear-cache\"";

		for (int i = 0; i < 33; i++)
			snprintf(big + strlen(big), sizeof(big) - strlen(big),
			         ",\"k%d\":1", i);
		strcat(big, "}");
		CHECK_INT(post_action(big, &rep), 400);
		CHECK(has(&rep, "more than 32 fields"));
		face_reply_free(&rep);
	}
	CHECK_INT(act.calls, 0);

	/* known, not allowed: 403 */
	CHECK_INT(
	    post_action("{\"action\":\"update-plugins\",\"site\":\"x\"}", &rep),
	    403);
	CHECK(has(&rep, "\\\"update-plugins\\\" is not allowed here"));
	CHECK(has(&rep, "listen.allow_actions"));
	face_reply_free(&rep);
	CHECK_INT(act.calls, 0);

	/* the hook's refusals */
	act.rc = -EINVAL;
	snprintf(act.err, sizeof(act.err), "unknown key \"tagg\"");
	CHECK_INT(post_action("{\"action\":\"backup\",\"tagg\":\"x\"}", &rep),
	          400);
	CHECK(has(&rep, "unknown key \\\"tagg\\\""));
	CHECK_INT(rep.retry_after_s, 0);
	face_reply_free(&rep);
	act.rc = -EBUSY;
	snprintf(act.err, sizeof(act.err), "shop/live is busy with job x");
	CHECK_INT(
	    post_action("{\"action\":\"backup\",\"site\":\"shop\"}", &rep),
	    409);
	CHECK(has(&rep, "shop/live is busy with job x"));
	face_reply_free(&rep);
	act.rc = -EAGAIN;
	act.retry = 42;
	snprintf(act.err, sizeof(act.err), "the budget is spent");
	CHECK_INT(
	    post_action("{\"action\":\"backup\",\"site\":\"shop\"}", &rep),
	    429);
	CHECK_INT(rep.retry_after_s, 42);
	CHECK(has(&rep, "the budget is spent"));
	face_reply_free(&rep);
	/* no seconds from the hook: a minute */
	act.retry = 0;
	CHECK_INT(
	    post_action("{\"action\":\"backup\",\"site\":\"shop\"}", &rep),
	    429);
	CHECK_INT(rep.retry_after_s, 60);
	face_reply_free(&rep);
	/* no sentence from the hook: one of face's */
	act.rc = -ENOMEM;
	act.err[0] = '\0';
	CHECK_INT(
	    post_action("{\"action\":\"backup\",\"site\":\"shop\"}", &rep),
	    500);
	CHECK(has(&rep, "the run could not start"));
	face_reply_free(&rep);
	CHECK_INT(act.calls, 5);
	hooks_reset();

	/* GET, the token */
	CHECK_INT(ask("GET", "/api/v1/actions", NULL, "Bearer " TOKEN, &rep),
	          405);
	CHECK_STR(rep.allow, "POST");
	face_reply_free(&rep);
	CHECK_INT(ask("POST", "/api/v1/actions", NULL, NULL, &rep), 401);
	CHECK(rep.challenge);
	face_reply_free(&rep);
	CHECK_INT(ask("POST", "/api/v1/actions", NULL, "Bearer nope", &rep),
	          401);
	face_reply_free(&rep);
	CHECK_INT(act.calls, 0);

	/* allow_actions = [] (and a config with two accounts): nothing */
	cfg_two->listen.allow_actions = 0;
	cfg = cfg_two;
	CHECK_INT(
	    post_action("{\"action\":\"clear-cache\",\"site\":\"x\"}", &rep),
	    403);
	CHECK(has(&rep, "none (listen.allow_actions is empty)"));
	face_reply_free(&rep);
	cfg = cfg_one;
	cfg_two->listen.allow_actions = CONFIG_ACTION_BIT(ACTION_CLEAR_CACHE) |
	                                CONFIG_ACTION_BIT(ACTION_RESTART_PHP);
	CHECK_INT(act.calls, 0);
}

static void
test_sites(void)
{
	struct face_reply rep;

	hooks_reset();
	CHECK_INT(ask("GET", "/api/v1/sites/shop", NULL, "Bearer " TOKEN, &rep),
	          0);
	CHECK(rep.pending);
	CHECK(rep.body == NULL);
	CHECK_INT(look.calls, 1);
	CHECK_INT(look.account, 0);
	CHECK_STR(look.site, "shop");
	CHECK(look.url_null);
	face_reply_free(&rep);
	/* the one account named is fine too; another is not */
	CHECK_INT(ask("GET", "/api/v1/sites/shop", "account=acme",
	              "Bearer " TOKEN, &rep),
	          0);
	CHECK(rep.pending);
	face_reply_free(&rep);
	CHECK_INT(ask("GET", "/api/v1/sites/shop", "account=b", "Bearer " TOKEN,
	              &rep),
	          400);
	CHECK(has(&rep, "there is no account \\\"b\\\""));
	CHECK(!rep.pending);
	face_reply_free(&rep);
	CHECK_INT(look.calls, 2);

	/* two accounts: say which */
	cfg = cfg_two;
	CHECK_INT(ask("GET", "/api/v1/sites/shop", NULL, "Bearer " TOKEN, &rep),
	          400);
	CHECK(has(&rep, "there are 2 accounts"));
	CHECK(!rep.pending);
	face_reply_free(&rep);
	CHECK_INT(look.calls, 2);
	CHECK_INT(ask("GET", "/api/v1/sites/shop", "account=b", "Bearer " TOKEN,
	              &rep),
	          0);
	CHECK(rep.pending);
	CHECK_INT(look.calls, 3);
	CHECK_INT(look.account, 1);
	CHECK(look.url_null);
	face_reply_free(&rep);
	cfg = cfg_one;

	/* the hook's refusals */
	look.rc = -EAGAIN;
	snprintf(look.err, sizeof(look.err), "8 site lookups are under way");
	CHECK_INT(ask("GET", "/api/v1/sites/shop", NULL, "Bearer " TOKEN, &rep),
	          429);
	CHECK_INT(rep.retry_after_s, 10);
	CHECK(has(&rep, "8 site lookups are under way"));
	CHECK(!rep.pending);
	face_reply_free(&rep);
	look.rc = -EINVAL;
	snprintf(look.err, sizeof(look.err), "site_name: empty");
	CHECK_INT(ask("GET", "/api/v1/sites/shop", NULL, "Bearer " TOKEN, &rep),
	          400);
	CHECK(has(&rep, "site_name: empty"));
	face_reply_free(&rep);
	look.rc = -ENOMEM;
	snprintf(look.err, sizeof(look.err), "out of memory");
	CHECK_INT(ask("GET", "/api/v1/sites/shop", NULL, "Bearer " TOKEN, &rep),
	          500);
	face_reply_free(&rep);
	hooks_reset();

	/* no name, a name with a slash, another method, no token */
	CHECK_INT(ask("GET", "/api/v1/sites/", NULL, "Bearer " TOKEN, &rep),
	          404);
	CHECK(has(&rep, "GET /api/v1/sites/NAME"));
	face_reply_free(&rep);
	CHECK_INT(ask("GET", "/api/v1/sites/a/b", NULL, "Bearer " TOKEN, &rep),
	          404);
	face_reply_free(&rep);
	CHECK_INT(ask("GET", "/api/v1/sites", NULL, "Bearer " TOKEN, &rep),
	          404);
	face_reply_free(&rep);
	CHECK_INT(
	    ask("POST", "/api/v1/sites/shop", NULL, "Bearer " TOKEN, &rep),
	    405);
	CHECK_STR(rep.allow, "GET, HEAD");
	face_reply_free(&rep);
	CHECK_INT(ask("GET", "/api/v1/sites/shop", NULL, NULL, &rep), 401);
	face_reply_free(&rep);
	CHECK_INT(look.calls, 0);
}

/* A site-status document as kinsta.c's report steps write it. */
static const char site_doc[] =
    "{\"job\":\"@site-status:\",\"company\":\"c\",\"account\":\"acme\","
    "\"sites\":["
    "{\"id\":\"s0\",\"name\":\"shopping\",\"labels\":[],"
    "\"environments\":[{\"id\":\"e9\",\"name\":\"live\"}]},"
    "{\"id\":\"s1\",\"name\":\"shop\",\"display_name\":\"The Shop\","
    "\"labels\":[\"vip\",\"eu\"],"
    "\"environments\":[{\"id\":\"e1\",\"name\":\"live\",\"php\":\"8.2\","
    "\"wordpress\":\"6.4\",\"primary_domain\":\"shop.example\","
    "\"domains\":[\"shop.example\"]},"
    "{\"id\":\"e2\",\"name\":\"staging\",\"php\":\"8.3\"}]}],"
    "\"environments\":["
    "{\"id\":\"e1\",\"plugin_updates\":[{\"name\":\"akismet\","
    "\"version\":\"5.0\",\"update_version\":\"5.1\"}],"
    "\"theme_updates\":[],\"backups\":7,\"latest_backup_ms\":1795000007000,"
    "\"backup_list\":["
    "{\"id\":1,\"name\":\"b1\",\"type\":\"manual\",\"created_ms\":"
    "1795000001000},"
    "{\"id\":5,\"name\":\"b5\",\"type\":\"daily\",\"created_ms\":1795000005000}"
    ","
    "{\"id\":3,\"name\":\"b3\",\"type\":\"manual\",\"created_ms\":"
    "1795000003000},"
    "{\"id\":7,\"name\":\"b7\",\"type\":\"daily\",\"created_ms\":1795000007000}"
    ","
    "{\"id\":2,\"name\":\"b2\",\"type\":\"manual\",\"created_ms\":"
    "1795000002000},"
    "{\"id\":6,\"name\":\"b6\",\"type\":\"daily\",\"created_ms\":1795000006000}"
    ","
    "{\"id\":4,\"name\":\"b4\",\"type\":\"manual\",\"created_ms\":"
    "1795000004000}"
    "]},"
    "{\"id\":\"e2\",\"plugin_updates\":[],\"theme_updates\":["
    "{\"name\":\"astra\",\"version\":\"1\",\"update_version\":\"2\"}],"
    "\"backups\":0,\"backup_list\":[]}"
    "]}";

static void
test_site_answer(void)
{
	struct face_book *b = calloc(1, sizeof(*b));
	struct face f = face;
	struct face_reply rep;
	struct face_run r = {.action = "clear-cache",
	                     .env_id = "e1",
	                     .outcome = "succeeded",
	                     .start_ms = NOW - 9000,
	                     .end_ms = NOW - 8000};
	yajl_val v, envs, bk, runs, fl;

	face_book_init(b);
	f.book = b;
	r.job = "mine", r.target = "shop/live", r.run_id = 1;
	CHECK_INT(face_book_add_run(b, &r), 0);
	r.job = "theirs", r.target = "other/live", r.run_id = 2;
	CHECK_INT(face_book_add_run(b, &r), 0);
	r.job = "near", r.target = "shopping/live", r.run_id = 3;
	CHECK_INT(face_book_add_run(b, &r), 0);
	r.job = "later", r.target = "shop/staging", r.run_id = 4;
	r.outcome = "failed";
	r.message = "it broke";
	CHECK_INT(face_book_add_run(b, &r), 0);

	face_site_answer(&f, "shop", site_doc, strlen(site_doc), NULL, false,
	                 &rep);
	CHECK_INT(rep.status, 200);
	CHECK_STR(rep.type, "application/json");
	CHECK(!rep.pending);
	v = tree(&rep);
	CHECK(v != NULL);
	CHECK_STR(json_str(v, "site", NULL), "shop");
	CHECK_STR(json_str(v, "id", NULL), "s1");
	CHECK_STR(json_str(v, "display_name", NULL), "The Shop");
	CHECK_STR(json_str(v, "account", NULL), "acme");
	CHECK_INT(json_arr_len(json_arr(v, "labels", NULL)), 2);
	envs = json_arr(v, "environments", NULL);
	CHECK_INT(json_arr_len(envs), 2);
	/* each environment of the site with its details merged in */
	CHECK_STR(json_str(json_arr_at(envs, 0), "id", NULL), "e1");
	CHECK_STR(json_str(json_arr_at(envs, 0), "name", NULL), "live");
	CHECK_STR(json_str(json_arr_at(envs, 0), "php", NULL), "8.2");
	CHECK_STR(json_str(json_arr_at(envs, 0), "wordpress", NULL), "6.4");
	CHECK_STR(json_str(json_arr_at(envs, 0), "primary_domain", NULL),
	          "shop.example");
	CHECK_STR(json_str(json_arr_at(json_arr(json_arr_at(envs, 0),
	                                        "plugin_updates", NULL),
	                               0),
	                   "update_version", NULL),
	          "5.1");
	CHECK_INT(
	    json_arr_len(json_arr(json_arr_at(envs, 0), "theme_updates", NULL)),
	    0);
	{
		int64_t n = -1;

		CHECK_INT(json_int(json_arr_at(envs, 0), &n, "backups", NULL),
		          0);
		CHECK_INT(n, 7);
	}
	/* the newest five backups, newest first */
	bk = json_arr(json_arr_at(envs, 0), "latest_backups", NULL);
	CHECK_INT(json_arr_len(bk), 5);
	CHECK_STR(json_str(json_arr_at(bk, 0), "name", NULL), "b7");
	CHECK_STR(json_str(json_arr_at(bk, 0), "type", NULL), "daily");
	CHECK_STR(json_str(json_arr_at(bk, 1), "name", NULL), "b6");
	CHECK_STR(json_str(json_arr_at(bk, 2), "name", NULL), "b5");
	CHECK_STR(json_str(json_arr_at(bk, 3), "name", NULL), "b4");
	CHECK_STR(json_str(json_arr_at(bk, 4), "name", NULL), "b3");
	CHECK(json_str(json_arr_at(bk, 0), "created", NULL) != NULL &&
	      strncmp(json_str(json_arr_at(bk, 0), "created", NULL),
	              "2026-11-18T", 11) == 0);
	/* staging: its own details */
	CHECK_STR(json_str(json_arr_at(envs, 1), "php", NULL), "8.3");
	CHECK_STR(json_str(json_arr_at(json_arr(json_arr_at(envs, 1),
	                                        "theme_updates", NULL),
	                               0),
	                   "name", NULL),
	          "astra");
	CHECK_INT(json_arr_len(
	              json_arr(json_arr_at(envs, 1), "latest_backups", NULL)),
	          0);
	/* this site's runs only, newest first: not other/, not shopping/ */
	runs = json_arr(v, "last_runs", NULL);
	CHECK_INT(json_arr_len(runs), 2);
	CHECK_STR(json_str(json_arr_at(runs, 0), "job", NULL), "later");
	CHECK_STR(json_str(json_arr_at(runs, 0), "message", NULL), "it broke");
	CHECK_STR(json_str(json_arr_at(runs, 0), "run_id", NULL), "4");
	CHECK_STR(json_str(json_arr_at(runs, 1), "job", NULL), "mine");
	CHECK_STR(json_str(json_arr_at(runs, 1), "target", NULL), "shop/live");
	CHECK(!has(&rep, "theirs") && !has(&rep, "\"near\""));
	/* in flight: the fake's fire 4242 on shop/live */
	fl = json_arr(v, "in_flight", NULL);
	CHECK_INT(json_arr_len(fl), 1);
	CHECK_STR(json_str(json_arr_at(fl, 0), "run_id", NULL), "4242");
	CHECK_STR(json_str(json_arr_at(fl, 0), "target", NULL), "shop/live");
	CHECK_STR(json_str(json_arr_at(fl, 0), "operation_id", NULL), "op-1");
	json_free(v);
	face_reply_free(&rep);

	/* the site "shopping": its own run, not shop's fire */
	face_site_answer(&f, "shopping", site_doc, strlen(site_doc), NULL,
	                 false, &rep);
	CHECK_INT(rep.status, 200);
	v = tree(&rep);
	CHECK_INT(json_arr_len(json_arr(v, "last_runs", NULL)), 1);
	CHECK_STR(json_str(json_arr_at(json_arr(v, "last_runs", NULL), 0),
	                   "job", NULL),
	          "near");
	CHECK_INT(json_arr_len(json_arr(v, "in_flight", NULL)), 0);
	CHECK_INT(json_arr_len(json_arr(v, "labels", NULL)), 0);
	json_free(v);
	face_reply_free(&rep);

	/* no such site; no document */
	face_site_answer(&f, "nope", site_doc, strlen(site_doc), NULL, false,
	                 &rep);
	CHECK_INT(rep.status, 404);
	CHECK(has(&rep, "no site \\\"nope\\\" in account acme"));
	face_reply_free(&rep);
	face_site_answer(&f, "shop", NULL, 0, "Kinsta answered 503", false,
	                 &rep);
	CHECK_INT(rep.status, 502);
	CHECK_STR(rep.type, "application/json");
	CHECK(has(&rep, "Kinsta answered 503"));
	face_reply_free(&rep);
	face_site_answer(&f, "shop", "{\"sites\":", 9, "cut short", false,
	                 &rep);
	CHECK_INT(rep.status, 502);
	CHECK(has(&rep, "cut short"));
	face_reply_free(&rep);

	/* Slack's message */
	face_site_answer(&f, "shop", site_doc, strlen(site_doc), NULL, true,
	                 &rep);
	CHECK_INT(rep.status, 200);
	v = tree(&rep);
	CHECK_STR(json_str(v, "response_type", NULL), "ephemeral");
	{
		const char *text = json_str(v, "text", NULL);

		CHECK(text != NULL);
		if (getenv("KCRON_TEST_PRINT"))
			printf("%s\n", text ? text : "");
		CHECK(text && strstr(text, "*shop*"));
		CHECK(text && strstr(text, "live: PHP 8.2, WordPress 6.4, 1 "
		                           "plugin and 0 theme updates pending "
		                           "(akismet 5.0→5.1); 7 backups, the "
		                           "latest 2026-11-18T"));
		CHECK(text && strstr(text, "staging: PHP 8.3, 0 plugin and 1 "
		                           "theme updates pending; 0 backups"));
		/* newest first */
		CHECK(text && strstr(text, "\nLast runs:\n  later clear-cache "
		                           "on shop/staging: failed\n  mine "
		                           "clear-cache on shop/live: "
		                           "succeeded"));
		CHECK(text && !strstr(text, "theirs") && !strstr(text, "near"));
	}
	json_free(v);
	face_reply_free(&rep);
	face_site_answer(&f, "nope", site_doc, strlen(site_doc), NULL, true,
	                 &rep);
	CHECK_INT(rep.status, 200);
	CHECK(has(&rep, "There is no site \\\"nope\\\" in account acme."));
	face_reply_free(&rep);
	face_site_answer(&f, "shop", NULL, 0, "timed out", true, &rep);
	CHECK_INT(rep.status, 200);
	CHECK(has(&rep, "Could not look shop up: timed out"));
	face_reply_free(&rep);

	/* at most 20 runs, the newest: of 25, 25 down to 6 */
	face_book_free(b);
	face_book_init(b);
	r.target = "shop/live";
	r.message = NULL;
	for (int i = 1; i <= 25; i++) {
		char job[16];

		snprintf(job, sizeof(job), "r%d", i);
		r.job = job;
		r.run_id = (uint64_t)i;
		CHECK_INT(face_book_add_run(b, &r), 0);
	}
	face_site_answer(&f, "shop", site_doc, strlen(site_doc), NULL, false,
	                 &rep);
	v = tree(&rep);
	runs = json_arr(v, "last_runs", NULL);
	CHECK_INT(json_arr_len(runs), 20);
	CHECK_STR(json_str(json_arr_at(runs, 0), "job", NULL), "r25");
	CHECK_STR(json_str(json_arr_at(runs, 19), "job", NULL), "r6");
	json_free(v);
	face_reply_free(&rep);
	/* Slack's: five */
	face_site_answer(&f, "shop", site_doc, strlen(site_doc), NULL, true,
	                 &rep);
	CHECK(has(&rep, "Last runs:\\n  r25 clear-cache on shop/live"));
	CHECK(has(&rep, "r21 clear-cache") && !has(&rep, "r20 clear-cache"));
	face_reply_free(&rep);

	face_book_free(b);
	free(b);
}

#define SLACK_URL     "https://hooks.slack.com/x"
#define SLACK_URL_ENC "https%3A%2F%2Fhooks.slack.com%2Fx"

/* A signed Slack command from U1 in C1 with text (form-encoded). */
static int
slack_cmd(const char *text, struct face_reply *rep)
{
	char body[1024];

	snprintf(body, sizeof(body),
	         "user_id=U1&channel_id=C1&text=%s&response_url=%s", text,
	         SLACK_URL_ENC);
	return slack(body, NOW / 1000, true, rep);
}

static void
test_slack_commands(void)
{
	struct face_reply rep;

	hooks_reset();
	CHECK_INT(slack_cmd("clear-cache+shop", &rep), 200);
	CHECK(has(&rep, "Started clear-cache on shop/live, run 31337"));
	face_reply_free(&rep);
	CHECK_INT(act.calls, 1);
	CHECK_INT(act.action, ACTION_CLEAR_CACHE);
	CHECK_STR(act.fields, "site=s:shop;environment=s:live;account=s:acme;");
	CHECK_STR(act.by, "slack");
	CHECK(!act.url_null);
	CHECK_STR(act.url, SLACK_URL);

	CHECK_INT(slack_cmd("backup+shop+staging", &rep), 200);
	CHECK(has(&rep, "Started backup on shop/staging"));
	face_reply_free(&rep);
	CHECK_INT(act.calls, 2);
	CHECK_INT(act.action, ACTION_BACKUP);
	CHECK_STR(act.fields,
	          "site=s:shop;environment=s:staging;account=s:acme;");
	CHECK_INT(slack_cmd("restart-php+shop", &rep), 200);
	CHECK_INT(act.action, ACTION_RESTART_PHP);
	face_reply_free(&rep);
	CHECK_INT(act.calls, 3);

	/* the hook's refusal, in its words */
	act.rc = -EBUSY;
	snprintf(act.err, sizeof(act.err),
	         "shop/live is busy with job nightly");
	CHECK_INT(slack_cmd("clear-cache+shop", &rep), 200);
	CHECK(has(&rep, "clear-cache shop/live was not started: shop/live is "
	                "busy with job nightly"));
	face_reply_free(&rep);
	CHECK_INT(act.calls, 4);
	hooks_reset();

	/* no site; an unknown command */
	CHECK_INT(slack_cmd("clear-cache", &rep), 200);
	CHECK(has(&rep, "Which site? `clear-cache SITE [ENV]`"));
	face_reply_free(&rep);
	CHECK_INT(slack_cmd("dance+shop", &rep), 200);
	CHECK(has(&rep, "Unknown command \\\"dance\\\""));
	CHECK(has(&rep, "clear-cache SITE [ENV]"));
	face_reply_free(&rep);
	CHECK_INT(slack_cmd("", &rep), 200);
	CHECK(has(&rep, "status SITE"));
	face_reply_free(&rep);
	CHECK_INT(act.calls, 0);

	/* status: looked up, the answer posted to response_url */
	CHECK_INT(slack_cmd("status+shop", &rep), 200);
	CHECK(has(&rep, "Looking shop up"));
	face_reply_free(&rep);
	CHECK_INT(look.calls, 1);
	CHECK_INT(look.account, 0);
	CHECK_STR(look.site, "shop");
	CHECK(!look.url_null);
	CHECK_STR(look.url, SLACK_URL);
	CHECK_INT(slack_cmd("status", &rep), 200);
	CHECK(has(&rep, "Which site? `status SITE`"));
	face_reply_free(&rep);
	look.rc = -EAGAIN;
	snprintf(look.err, sizeof(look.err), "too many lookups");
	CHECK_INT(slack_cmd("status+shop", &rep), 200);
	CHECK(has(&rep, "Could not look shop up: too many lookups"));
	face_reply_free(&rep);
	CHECK_INT(look.calls, 2);
	look.rc = 0;
	/* no usable response_url: nothing looked up */
	CHECK_INT(slack("user_id=U1&channel_id=C1&text=status+shop&"
	                "response_url=http%3A%2F%2Fevil.example%2Fx",
	                NOW / 1000, true, &rep),
	          200);
	CHECK(has(&rep, "nothing was started"));
	face_reply_free(&rep);
	CHECK_INT(look.calls, 2);
	CHECK_INT(act.calls, 0);

	/* two accounts, backup not allowed */
	cfg = cfg_two;
	CHECK_INT(slack_cmd("clear-cache+a%2Fshop", &rep), 200);
	CHECK(has(&rep, "Started clear-cache on shop/live"));
	face_reply_free(&rep);
	CHECK_INT(act.calls, 1);
	CHECK_STR(act.fields, "site=s:shop;environment=s:live;account=s:a;");
	CHECK_INT(slack_cmd("status+b%2Fshop", &rep), 200);
	face_reply_free(&rep);
	CHECK_INT(look.calls, 3);
	CHECK_INT(look.account, 1);
	CHECK_STR(look.site, "shop");
	CHECK_INT(slack_cmd("clear-cache+shop", &rep), 200);
	CHECK(has(&rep, "there are 2 accounts"));
	face_reply_free(&rep);
	CHECK_INT(slack_cmd("clear-cache+zz%2Fshop", &rep), 200);
	CHECK(has(&rep, "there is no account \\\"zz\\\""));
	face_reply_free(&rep);
	CHECK_INT(slack_cmd("status+shop", &rep), 200);
	CHECK(has(&rep, "there are 2 accounts"));
	face_reply_free(&rep);
	CHECK_INT(slack_cmd("backup+a%2Fshop", &rep), 200);
	CHECK(has(&rep, "action \\\"backup\\\" is not allowed here (allowed: "
	                "clear-cache, restart-php)"));
	face_reply_free(&rep);
	CHECK_INT(act.calls, 1);
	CHECK_INT(look.calls, 3);
	cfg = cfg_one;
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
	if (config_load_string(conf_two_text, "two.conf", CONFIG_LOAD_NO_KEYS,
	                       &cfg_two, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		return 1;
	}
	cfg_one = cfg;
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
	test_actions();
	test_sites();
	test_site_answer();
	test_slack_commands();
	face_book_free(&book);
	config_free(cfg);
	config_free(cfg_two);
	return test_report("test_face");
}
