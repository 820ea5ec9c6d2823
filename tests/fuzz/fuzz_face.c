/*
 * Fuzz target for daemon/face.c: one HTTP request as the listener hands
 * it over.  The input is lines: the method, the path, the raw query, the
 * Authorization header, then the body (the rest, any bytes); the history
 * the fake daemon returns is the body too, so history lines are fuzzed
 * as well.  Every answer must be a known status with a body, JSON that
 * parses for the API, and must never hold the token unless the request
 * did.
 *
 * An Authorization line "slack" sends Slack's headers instead, signed
 * (with the fake hmac below) as Slack would, so that the slash commands
 * are reached; "slack-bad" signs wrongly.  The ad-hoc runs (POST
 * /api/v1/actions, Slack's clear-cache, restart-php, backup) go to a fake
 * action hook that makes the job with config_adhoc_new, as the daemon
 * does, and then starts it or refuses as the input's last byte says; a
 * site lookup (GET /api/v1/sites/NAME, Slack's status) is answered by
 * face_site_answer with the body as the site-status document, both as
 * JSON and as Slack's message.  The hooks check that they are reached
 * only through the doors meant for them, and only for the actions
 * listen.allow_actions permits.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "face.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_face: %s:%d: %s\n", __FILE__,    \
			        __LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

#define TOKEN  "fuzz-token-0123456789abcdef"
#define SECRET "fuzz-slack-secret"
#define NOW_MS INT64_C(1796000000000)

static const char conf_text[] =
    "api = { url = \"http://127.0.0.1:9/v2\"; };\n"
    "listen = { address = \"127.0.0.1:8787\"; allow_actions = "
    "[\"clear-cache\", \"restart-php\", \"backup\", \"update-plugins\"]; "
    "};\n"
    "slack = { allow_users = [\"U1\"]; };\n"
    "accounts = ( { name = \"acme\"; company = "
    "\"c0000000-0000-4000-8000-000000000001\"; },\n"
    " { name = \"b\"; company = \"c0000000-0000-4000-8000-000000000002\"; "
    "} );\n"
    "jobs = (\n"
    " { name = \"nightly\"; schedule = \"0 3 * * *\"; action = "
    "\"clear-cache\"; account = \"acme\"; environment_id = "
    "\"a2222222-2222-4222-8222-222222222222\"; }\n"
    ");\n";

static struct config *cfg;
static const char *hist;
static size_t hist_len;

/* This input's request, and what the hooks saw of it. */
static const struct face_request *cur;
static unsigned char choice; /* the input's last byte */
static int act_calls, act_started;
static int look_calls;
static bool look_api;
static char look_site[256];

static const struct config *
fake_config(void *arg)
{
	(void)arg;
	return cfg;
}

static int
fake_trigger(void *arg, const char *job, uint64_t *id)
{
	(void)arg;
	if (config_find_job(cfg, job) == NULL)
		return -ENOENT;
	*id = 1;
	return 0;
}

static int
fake_history(void *arg, char **text, size_t *len)
{
	(void)arg;
	if ((*text = malloc(hist_len + 1)) == NULL)
		return -ENOMEM;
	if (hist_len > 0)
		memcpy(*text, hist, hist_len);
	*len = hist_len;
	return 0;
}

/* Not HMAC; what face does with the hook's answer is the same. */
static int
fake_hmac(void *arg, const void *key, size_t klen, const void *msg, size_t mlen,
          unsigned char out[32])
{
	(void)arg;
	memset(out, 0, 32);
	for (size_t i = 0; i < klen; i++)
		out[i % 32] ^= ((const unsigned char *)key)[i];
	for (size_t i = 0; i < mlen; i++)
		out[i % 32] = (unsigned char)(out[i % 32] * 31 +
		                              ((const unsigned char *)msg)[i]);
	return 0;
}

static int
fake_slack_run(void *arg, const char *job, const char *url, uint64_t *id)
{
	FUZZ_ASSERT(face_slack_url_ok(url));
	return fake_trigger(arg, job, id);
}

/* One fire in flight, on a site the inputs name often. */
static size_t
fake_fires(void *arg, uint64_t *ids, size_t max)
{
	(void)arg;
	if (max > 0)
		ids[0] = 7;
	return max > 0;
}

static int
fake_fire(void *arg, uint64_t id, struct face_fire *out)
{
	(void)arg;
	if (id != 7)
		return -ENOENT;
	*out = (struct face_fire){.run_id = 7,
	                          .job = "@clear-cache:acme/shop",
	                          .action = "clear-cache",
	                          .started_ms = NOW_MS - 1000,
	                          .why = ""};
	if ((out->targets = calloc(1, sizeof(*out->targets))) == NULL)
		return -ENOMEM;
	out->targets[0] = (struct face_target){.env_id = "e1",
	                                       .name = "shop/live",
	                                       .outcome = KINSTA_RUNNING,
	                                       .op_id = "op-1",
	                                       .message = "",
	                                       .note = ""};
	out->ntargets = 1;
	return 0;
}

/* The daemon's action hook: the job made as the daemon makes it, then
 * started or refused as the input's last byte says. */
static int
fake_action(void *arg, enum action_id action, const struct config_value *v,
            size_t n, const char *by, const char *response_url,
            uint64_t *run_id, char *err, size_t errlen, int64_t *retry_after_s)
{
	struct config_adhoc *job = NULL;
	int rc;

	(void)arg;
	act_calls++;
	/* only an action listen.allow_actions permits */
	FUZZ_ASSERT((unsigned)action < ACTION_COUNT);
	FUZZ_ASSERT(cfg->listen.allow_actions & CONFIG_ACTION_BIT(action));
	/* through the API with the token, or from Slack with its url */
	if (strcmp(by, "api") == 0) {
		FUZZ_ASSERT(response_url == NULL);
		FUZZ_ASSERT(strcmp(cur->path, "/api/v1/actions") == 0);
		FUZZ_ASSERT(face_authorized(TOKEN, cur->authorization));
	} else {
		FUZZ_ASSERT(strcmp(by, "slack") == 0);
		FUZZ_ASSERT(strcmp(cur->path, "/slack/commands") == 0);
		FUZZ_ASSERT(face_slack_url_ok(response_url));
	}
	rc = config_adhoc_new(&job, cfg, action, NULL, v, n, err, errlen);
	if (rc < 0) {
		FUZZ_ASSERT(job == NULL);
		FUZZ_ASSERT(memchr(err, '\0', errlen) != NULL);
		return rc;
	}
	FUZZ_ASSERT(config_adhoc_job(job)->action == action);
	FUZZ_ASSERT(config_adhoc_job(job)->account < cfg->naccounts);
	FUZZ_ASSERT(config_adhoc_job(job)->name[0] == '@');
	config_adhoc_free(job);
	switch (choice % 5) {
	case 1:
		snprintf(err, errlen, "shop/live is busy");
		return -EBUSY;
	case 2:
		snprintf(err, errlen, "the budget is spent");
		*retry_after_s = choice;
		return -EAGAIN;
	case 3:
		return -ENOMEM; /* no sentence: face says one */
	default:
		act_started++;
		*run_id = UINT64_C(18446744073709551615) - choice;
		return 0;
	}
}

/* The daemon's site hook: remembered, refused as the last byte says. */
static int
fake_site(void *arg, size_t account, const char *site, const char *response_url,
          char *err, size_t errlen)
{
	(void)arg;
	look_calls++;
	FUZZ_ASSERT(account < cfg->naccounts);
	FUZZ_ASSERT(site != NULL);
	if (response_url == NULL) {
		FUZZ_ASSERT(strncmp(cur->path, "/api/v1/sites/", 14) == 0);
		FUZZ_ASSERT(face_authorized(TOKEN, cur->authorization));
	} else {
		FUZZ_ASSERT(strcmp(cur->path, "/slack/commands") == 0);
		FUZZ_ASSERT(face_slack_url_ok(response_url));
	}
	look_api = response_url == NULL;
	snprintf(look_site, sizeof(look_site), "%s", site);
	switch (choice % 7) {
	case 1:
		snprintf(err, errlen, "too many lookups");
		return -EAGAIN;
	case 2:
		snprintf(err, errlen, "no such site \"%.64s\"", site);
		return -EINVAL;
	case 3:
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	default:
		return 0;
	}
}

static const struct face_source src = {
    .config = fake_config,
    .trigger = fake_trigger,
    .history = fake_history,
    .hmac = fake_hmac,
    .slack_run = fake_slack_run,
    .fires = fake_fires,
    .fire = fake_fire,
    .action = fake_action,
    .site = fake_site,
};

/* The next line of [*p, end) as a NUL-terminated copy in buf. */
static char *
line(const char **p, const char *end, char *buf, size_t len)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);

	if (n >= len)
		n = len - 1;
	memcpy(buf, *p, n);
	buf[n] = '\0';
	*p = nl ? nl + 1 : end;
	return buf;
}

/* Slack's signature of body at ts, v0=HEX, into sig[68]. */
static void
slack_sign(const char *ts, const char *body, size_t len, bool good,
           char sig[68])
{
	static const char hex[] = "0123456789abcdef";
	size_t tl = strlen(ts), n = 3 + tl + 1 + len;
	unsigned char mac[32];
	char *base = malloc(n ? n : 1);

	if (base == NULL)
		abort();
	memcpy(base, "v0:", 3);
	memcpy(base + 3, ts, tl);
	base[3 + tl] = ':';
	if (len > 0)
		memcpy(base + 4 + tl, body, len);
	fake_hmac(NULL, SECRET, strlen(SECRET), base, n, mac);
	free(base);
	memcpy(sig, "v0=", 3);
	for (int i = 0; i < 32; i++) {
		sig[3 + 2 * i] = hex[mac[i] >> 4];
		sig[4 + 2 * i] = hex[mac[i] & 15];
	}
	sig[67] = '\0';
	if (!good)
		sig[3] = sig[3] == 'a' ? 'b' : 'a';
}

static bool token_sent;

/* A reply's invariants: a known status, a body, JSON when it says so, no
 * token unless some input sent it. */
static void
check_reply(const struct face_reply *rep)
{
	FUZZ_ASSERT(rep->status >= 200 && rep->status < 600);
	FUZZ_ASSERT(rep->type != NULL);
	FUZZ_ASSERT(rep->body != NULL || rep->status == 500);
	FUZZ_ASSERT(!rep->pending);
	FUZZ_ASSERT(rep->status == 429 || rep->retry_after_s == 0);
	if (rep->body == NULL)
		return;
	/* a path or a history line may be echoed in a page: the token only
	 * when some input so far sent it (the book keeps the history lines
	 * of earlier inputs) */
	FUZZ_ASSERT(token_sent ||
	            memmem(rep->body, rep->len, TOKEN, strlen(TOKEN)) == NULL);
	if (strcmp(rep->type, "application/json") == 0) {
		yajl_val v;
		char err[128];

		FUZZ_ASSERT(json_parse(&v, rep->body, rep->len, NULL, err,
		                       sizeof(err)) == 0);
		json_free(v);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct face_book book;
	static bool ready;
	const char *p = (const char *)data, *end = p + size;
	char method[32], path[2048], query[2048], auth[512], sig[68];
	char ts[32];
	struct face_request req = {0};
	struct face_reply rep;
	struct face f = {.src = &src,
	                 .book = &book,
	                 .token = TOKEN,
	                 .slack_secret = SECRET,
	                 .slack_secret_len = strlen(SECRET)};

	if (!ready) {
		struct config_errors errs = {0};

		if (config_load_string(conf_text, "fuzz.conf",
		                       CONFIG_LOAD_NO_KEYS, &cfg, &errs) < 0) {
			for (size_t i = 0; i < errs.n; i++)
				fprintf(stderr, "%s\n", errs.msgs[i]);
			abort();
		}
		face_book_init(&book);
		ready = true;
	}
	req.method = line(&p, end, method, sizeof(method));
	req.path = line(&p, end, path, sizeof(path));
	line(&p, end, query, sizeof(query));
	face_query_parse(&req, query, strlen(query) + 1);
	req.authorization = line(&p, end, auth, sizeof(auth));
	if (strcmp(auth, "-") == 0)
		snprintf(auth, sizeof(auth), "Bearer %s", TOKEN);
	req.body = p;
	req.body_len = (size_t)(end - p);
	req.now_ms = NOW_MS;
	if (strcmp(auth, "slack") == 0 || strcmp(auth, "slack-bad") == 0) {
		snprintf(ts, sizeof(ts), "%lld", (long long)(NOW_MS / 1000));
		slack_sign(ts, req.body, req.body_len,
		           strcmp(auth, "slack") == 0, sig);
		req.slack_timestamp = ts;
		req.slack_signature = sig;
		req.authorization = NULL;
	}
	hist = p;
	hist_len = req.body_len;
	/* history lines are kept by the book too (bounded) */
	face_book_load_history(&book, p, req.body_len);

	cur = &req;
	choice = size > 0 ? data[size - 1] : 0;
	act_calls = act_started = look_calls = 0;
	look_site[0] = '\0';
	token_sent =
	    token_sent || memmem(data, size, TOKEN, strlen(TOKEN)) != NULL;
	face_handle(&f, &req, &rep);
	FUZZ_ASSERT(act_calls <= 1 && look_calls <= 1);
	if (rep.pending) {
		/* a site lookup under way: no answer yet, and then the one
		 * face_site_answer gives, JSON and Slack's */
		FUZZ_ASSERT(look_calls == 1 && look_api);
		FUZZ_ASSERT(rep.status == 0 && rep.body == NULL);
		face_reply_free(&rep);
		face_site_answer(&f, look_site, req.body, req.body_len,
		                 choice & 1 ? "Kinsta answered 500" : NULL,
		                 false, &rep);
		check_reply(&rep);
		FUZZ_ASSERT(rep.status == 200 || rep.status == 404 ||
		            rep.status == 502 || rep.status == 500);
		face_reply_free(&rep);
		face_site_answer(&f, look_site, req.body, req.body_len, NULL,
		                 true, &rep);
		check_reply(&rep);
		FUZZ_ASSERT(rep.status == 200 || rep.status == 500);
		face_reply_free(&rep);
		return 0;
	}
	check_reply(&rep);
	/* 202 from the actions only when the hook started one */
	if (strcmp(req.path, "/api/v1/actions") == 0 && rep.status == 202)
		FUZZ_ASSERT(act_started == 1);
	face_reply_free(&rep);
	return 0;
}
