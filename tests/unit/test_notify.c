/*
 * Unit tests for daemon/notify.c: the decision over a run of fires with a
 * fake clock (first failure, repeats inside and after repeat_every,
 * recovery once, skipped fires), and the three renderers (Slack, JSON,
 * email) checked by parsing what they write.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "exec.h"
#include "json.h"
#include "notify.h"
#include "test.h"
#include "util.h"

#define CO "0b0e6f4c-1a2b-4c3d-8e9f-0123456789ab"
#define H  3600000LL /* an hour in ms */
/* 2026-12-06T03:00:00Z */
#define T0 1796526000000LL

static const char conf[] =
    "accounts = ( { name = \"a\"; company = \"" CO "\"; } );\n"
    "notify = { webhook = \"https://hooks.example.com/x\";"
    " repeat_every = \"24h\"; };\n"
    "jobs = ( { name = \"nightly\"; schedule = \"0 3 * * *\";"
    " action = \"update-plugins\"; all_sites = true; },\n"
    " { name = \"loud\"; schedule = \"0 3 * * *\"; action = \"clear-cache\";"
    " all_sites = true; notify = { on = [\"success\", \"skipped\","
    " \"failure\"]; repeat_every = 0; }; } );\n";

struct fake {
	struct exec_fire f;
	struct exec_fire_target t[64];
	char msg[64][128];
};

/* A fire of job at start ms with n targets; fails[i] gives target i's
 * outcome (NULL: all succeeded). */
static void
make_fire(struct fake *fk, const struct config *cfg, const char *job,
          int64_t start, size_t n, const enum kinsta_outcome *outcomes)
{
	memset(fk, 0, sizeof(*fk));
	fk->f.cfg = cfg;
	fk->f.job = config_find_job(cfg, job);
	fk->f.run_id = (uint64_t)start << 12;
	fk->f.started_ms = start;
	fk->f.ended_ms = start + 42000;
	fk->f.targets = fk->t;
	fk->f.ntargets = fk->f.nended = n;
	for (size_t i = 0; i < n; i++) {
		struct exec_fire_target *t = &fk->t[i];
		enum kinsta_outcome o =
		    outcomes ? outcomes[i] : KINSTA_SUCCEEDED;

		snprintf(t->target.site_name, sizeof(t->target.site_name),
		         "site%zu", i);
		snprintf(t->target.env_name, sizeof(t->target.env_name),
		         "live");
		snprintf(t->target.env_id, sizeof(t->target.env_id), "e%03zu",
		         i);
		t->outcome = o;
		snprintf(fk->msg[i], sizeof(fk->msg[i]), "%s",
		         o == KINSTA_FAILED ? "Plugin update failed: disk full"
		                            : "");
		t->message = fk->msg[i];
		t->note = (char *)(i == 1 ? "backup kept" : "");
		fk->f.count[o]++;
	}
}

static const enum kinsta_outcome two_failed[] = {
    KINSTA_SUCCEEDED, KINSTA_FAILED, KINSTA_SUCCEEDED, KINSTA_TIMED_OUT,
    KINSTA_SUCCEEDED};

static void
test_decide(const struct config *cfg)
{
	const struct config_job *job = config_find_job(cfg, "nightly");
	struct notify_memory m = {0};
	struct notify_msg msg;
	struct fake fk;

	/* a good fire with nothing remembered: nothing to say */
	make_fire(&fk, cfg, "nightly", T0, 5, NULL);
	CHECK_INT(notify_decide(job->notify, &fk.f, &m, T0 + 50000, &msg),
	          NOTIFY_NONE);
	CHECK_INT(m.failures, 0);

	/* two of five fail: one message for the fire */
	make_fire(&fk, cfg, "nightly", T0 + 24 * H, 5, two_failed);
	CHECK(notify_fire_failed(&fk.f));
	CHECK_INT(
	    notify_decide(job->notify, &fk.f, &m, T0 + 24 * H + 50000, &msg),
	    NOTIFY_FAILURE);
	CHECK_STR(msg.title, "job nightly failed on 2 of 5 environments");
	CHECK_INT(m.failures, 1);
	CHECK_INT(m.since_ms, T0 + 24 * H);

	/* again an hour later: inside repeat_every, not sent */
	make_fire(&fk, cfg, "nightly", T0 + 25 * H, 5, two_failed);
	CHECK_INT(notify_decide(job->notify, &fk.f, &m, T0 + 25 * H, &msg),
	          NOTIFY_NONE);
	CHECK_INT(m.failures, 2);

	/* a day after the first message: still failing */
	make_fire(&fk, cfg, "nightly", T0 + 48 * H, 5, two_failed);
	CHECK_INT(
	    notify_decide(job->notify, &fk.f, &m, T0 + 48 * H + 60000, &msg),
	    NOTIFY_STILL_FAILING);
	CHECK_STR(msg.title, "job nightly still failing (3 times since "
	                     "2026-12-07T03:00:00Z): 2 of 5 failed");

	/* a skipped fire neither ends nor counts the failure */
	{
		enum kinsta_outcome sk[] = {KINSTA_SKIPPED};

		make_fire(&fk, cfg, "nightly", T0 + 49 * H, 1, sk);
		CHECK_INT(
		    notify_decide(job->notify, &fk.f, &m, T0 + 49 * H, &msg),
		    NOTIFY_NONE);
		CHECK_INT(m.failures, 3);
	}

	/* the first good fire says it recovered, once */
	make_fire(&fk, cfg, "nightly", T0 + 72 * H, 5, NULL);
	CHECK_INT(notify_decide(job->notify, &fk.f, &m, T0 + 72 * H, &msg),
	          NOTIFY_RECOVERY);
	CHECK_STR(msg.title, "job nightly recovered after 3 failed runs since "
	                     "2026-12-07T03:00:00Z");
	CHECK_INT(m.failures, 0);
	CHECK_INT(notify_decide(job->notify, &fk.f, &m, T0 + 96 * H, &msg),
	          NOTIFY_NONE);

	/* a failure right after a recovery is a new one: told at once */
	make_fire(&fk, cfg, "nightly", T0 + 97 * H, 5, two_failed);
	CHECK_INT(notify_decide(job->notify, &fk.f, &m, T0 + 97 * H, &msg),
	          NOTIFY_FAILURE);

	/* a fire that failed before it had targets */
	memset(&m, 0, sizeof(m));
	make_fire(&fk, cfg, "nightly", T0, 0, NULL);
	fk.f.count[KINSTA_FAILED] = 1;
	snprintf(fk.f.why, sizeof(fk.f.why), "cannot read the API key");
	CHECK_INT(notify_decide(job->notify, &fk.f, &m, T0, &msg),
	          NOTIFY_FAILURE);
	CHECK_STR(msg.title, "job nightly failed: cannot read the API key");

	/* no settings: nothing, but the memory still follows */
	memset(&m, 0, sizeof(m));
	make_fire(&fk, cfg, "nightly", T0, 5, two_failed);
	CHECK_INT(notify_decide(NULL, &fk.f, &m, T0, &msg), NOTIFY_NONE);
	CHECK_INT(m.failures, 1);
}

static void
test_decide_on(const struct config *cfg)
{
	const struct config_job *loud = config_find_job(cfg, "loud");
	enum kinsta_outcome sk[] = {KINSTA_SKIPPED, KINSTA_SKIPPED};
	struct notify_memory m = {0};
	struct notify_msg msg;
	struct fake fk;

	make_fire(&fk, cfg, "loud", T0, 3, NULL);
	CHECK_INT(notify_decide(loud->notify, &fk.f, &m, T0, &msg),
	          NOTIFY_SUCCESS);
	CHECK_STR(msg.title, "job loud succeeded on 3 of 3 environments");
	make_fire(&fk, cfg, "loud", T0, 2, sk);
	CHECK_INT(notify_decide(loud->notify, &fk.f, &m, T0, &msg),
	          NOTIFY_SKIPPED);
	/* repeat_every = 0: every failed fire is told */
	make_fire(&fk, cfg, "loud", T0, 5, two_failed);
	CHECK_INT(notify_decide(loud->notify, &fk.f, &m, T0, &msg),
	          NOTIFY_FAILURE);
	CHECK_INT(notify_decide(loud->notify, &fk.f, &m, T0 + 1000, &msg),
	          NOTIFY_STILL_FAILING);
	/* recovery is not in `on`, success is: the good fire says success */
	make_fire(&fk, cfg, "loud", T0, 3, NULL);
	CHECK_INT(notify_decide(loud->notify, &fk.f, &m, T0 + 2000, &msg),
	          NOTIFY_SUCCESS);
	CHECK_INT(m.failures, 0);
}

static void
test_text(const struct config *cfg)
{
	const struct config_job *job = config_find_job(cfg, "nightly");
	struct notify_memory m = {0};
	struct notify_msg msg;
	struct fake fk;
	char *out;
	size_t len;

	make_fire(&fk, cfg, "nightly", T0, 5, two_failed);
	notify_decide(job->notify, &fk.f, &m, T0, &msg);
	CHECK_INT(notify_text(&msg, &fk.f, &out, &len), 0);
	CHECK_INT(len, strlen(out));
	CHECK(strncmp(out, "job nightly failed on 2 of 5 environments\n\n",
	              43) == 0);
	CHECK(strstr(out, "Outcomes: 3 succeeded, 1 failed, 1 timed-out\n"));
	CHECK(strstr(out, "- site1/live: failed: Plugin update failed: disk "
	                  "full (note: backup kept)\n"));
	CHECK(strstr(out, "- site3/live: timed-out\n"));
	CHECK(strstr(out, "site0") == NULL); /* only what did not succeed */
	CHECK(strstr(out, "(42 s)"));
	free(out);

	/* 60 failures: 50 listed, the rest counted */
	{
		enum kinsta_outcome all[60];

		for (int i = 0; i < 60; i++)
			all[i] = KINSTA_FAILED;
		make_fire(&fk, cfg, "nightly", T0, 60, all);
		notify_decide(job->notify, &fk.f, &m, T0, &msg);
		CHECK_INT(notify_text(&msg, &fk.f, &out, &len), 0);
		CHECK(strstr(out, "- site49/live") != NULL);
		CHECK(strstr(out, "- site50/live") == NULL);
		CHECK(strstr(out, "... and 10 more") != NULL);
		free(out);
	}
}

static void
test_slack_json(const struct config *cfg)
{
	const struct config_job *job = config_find_job(cfg, "nightly");
	struct json_limits lim = {.max_bytes = 1 << 20, .max_depth = 16};
	struct notify_memory m = {0};
	struct notify_msg msg;
	struct fake fk;
	yajl_val doc = NULL, att, targets;
	char *out, err[128];
	const char *text;
	size_t len;
	int64_t v;

	make_fire(&fk, cfg, "nightly", T0, 5, two_failed);
	snprintf(fk.msg[1], sizeof(fk.msg[1]), "a <b> & c\nBcc: x@y");
	notify_decide(job->notify, &fk.f, &m, T0, &msg);

	CHECK_INT(notify_slack(&msg, &fk.f, &out, &len), 0);
	CHECK_INT(json_parse(&doc, out, len, &lim, err, sizeof(err)), 0);
	CHECK_STR(json_str(doc, "text", NULL),
	          "job nightly failed on 2 of 5 environments");
	att = json_arr_at(json_arr(doc, "attachments", NULL), 0);
	CHECK_STR(json_str(att, "color", NULL), "danger");
	text = json_str(att, "text", NULL);
	CHECK(text != NULL && strstr(text, "site1/live: failed: a &lt;b&gt; "
	                                   "&amp; c Bcc: x@y") != NULL);
	CHECK(text != NULL && strstr(text, "site3/live: timed-out") != NULL);
	json_free(doc);
	free(out);

	CHECK_INT(notify_json(&msg, &fk.f, &out, &len), 0);
	CHECK_INT(json_parse(&doc, out, len, &lim, err, sizeof(err)), 0);
	CHECK_STR(json_str(doc, "event", NULL), "failure");
	CHECK_STR(json_str(doc, "job", NULL), "nightly");
	CHECK_STR(json_str(doc, "action", NULL), "update-plugins");
	CHECK_STR(json_str(doc, "started", NULL), "2026-12-06T03:00:00Z");
	CHECK_STR(json_str(doc, "failing_since", NULL), "2026-12-06T03:00:00Z");
	CHECK(json_int(doc, &v, "counts", "failed", NULL) == 0 && v == 1);
	CHECK(json_int(doc, &v, "counts", "timed-out", NULL) == 0 && v == 1);
	CHECK(json_int(doc, &v, "counts", "succeeded", NULL) == 0 && v == 3);
	CHECK(json_int(doc, &v, "failures", NULL) == 0 && v == 1);
	CHECK(json_int(doc, &v, "more", NULL) == 0 && v == 0);
	targets = json_arr(doc, "targets", NULL);
	CHECK_INT(json_arr_len(targets), 2);
	CHECK_STR(json_str(json_arr_at(targets, 0), "site", NULL), "site1");
	CHECK_STR(json_str(json_arr_at(targets, 0), "message", NULL),
	          "a <b> & c Bcc: x@y");
	CHECK_STR(json_str(json_arr_at(targets, 0), "note", NULL),
	          "backup kept");
	CHECK_STR(json_str(json_arr_at(targets, 1), "outcome", NULL),
	          "timed-out");
	{
		char run[32];

		snprintf(run, sizeof(run), "%" PRIu64, fk.f.run_id);
		CHECK_STR(json_str(doc, "run_id", NULL), run);
	}
	json_free(doc);
	free(out);
}

static void
test_email(const struct config *cfg)
{
	const struct config_job *job = config_find_job(cfg, "nightly");
	const char *to[] = {"ops@example.com", "oncall@example.org"};
	struct notify_memory m = {0};
	struct notify_msg msg;
	struct fake fk;
	char *out, *body, *line;
	size_t len;
	bool ok = true;

	make_fire(&fk, cfg, "nightly", T0, 5, two_failed);
	snprintf(fk.msg[1], sizeof(fk.msg[1]), "boom\r\nBcc: evil@example.net");
	notify_decide(job->notify, &fk.f, &m, T0, &msg);
	CHECK_INT(notify_email(&msg, &fk.f, NULL, to, 2, "web1.example.com",
	                       T0 + 60000, &out, &len),
	          0);
	CHECK(strncmp(out, "From: kinsta-cron <kinsta-cron@web1.example.com>\n",
	              49) == 0);
	CHECK(strstr(out, "\nTo: ops@example.com, oncall@example.org\n"));
	CHECK(strstr(out, "\nSubject: [kinsta-cron] job nightly failed on 2 "
	                  "of 5 environments\n"));
	CHECK(strstr(out, "\nDate: Sun, 06 Dec 2026 03:01:00 +0000\n"));
	CHECK(strstr(out, "\nMessage-ID: <kinsta-cron.") != NULL);
	CHECK(strstr(out, ".failure.1796526060000@web1.example.com>\n"));
	CHECK(strstr(out, "\nContent-Type: text/plain; charset=utf-8\n"));
	CHECK(strstr(out, "\nAuto-Submitted: auto-generated\n"));
	CHECK(strchr(out, '\r') == NULL);
	body = strstr(out, "\n\n");
	CHECK(body != NULL);
	/* nothing from the API makes a header: no line starts with Bcc */
	CHECK(strstr(out, "\nBcc:") == NULL);
	CHECK(body && strstr(body, "site1/live: failed: boom  Bcc: evil"));
	for (line = out; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strcspn(line, "\n") > 998)
			ok = false;
	}
	CHECK(ok);
	free(out);

	CHECK_INT(notify_email(&msg, &fk.f, "cron@example.com", to, 1, "", T0,
	                       &out, &len),
	          0);
	CHECK(strncmp(out,
	              "From: kinsta-cron <cron@example.com>\nTo: "
	              "ops@example.com\n",
	              57) == 0);
	CHECK(strstr(out, "@localhost>\n") != NULL);
	free(out);
	CHECK_INT(notify_email(&msg, &fk.f, NULL, to, 0, "h", T0, &out, &len),
	          -EINVAL);
}

/* Cuts never split a character: a long why in the title, a long message
 * in a text line; the renderers then still write valid JSON. */
static void
test_cuts(const struct config *cfg)
{
	const struct config_job *job = config_find_job(cfg, "nightly");
	struct notify_memory m = {0};
	struct notify_msg msg;
	struct fake fk;
	static char longmsg[2001];
	char *out;
	size_t len;

	make_fire(&fk, cfg, "nightly", T0, 0, NULL);
	fk.f.count[KINSTA_FAILED] = 1;
	for (size_t i = 0; i + 2 < sizeof(fk.f.why); i += 2)
		memcpy(fk.f.why + i, "\xc3\xa9", 2); /* é */
	m.failures = 7; /* still failing: the longest title */
	m.since_ms = T0 - 48 * H;
	m.sent_ms = T0 - 25 * H;
	CHECK_INT(notify_decide(job->notify, &fk.f, &m, T0, &msg),
	          NOTIFY_STILL_FAILING);
	CHECK_INT(util_text_prefix(msg.title, strlen(msg.title)),
	          strlen(msg.title));
	CHECK_INT(notify_slack(&msg, &fk.f, &out, &len), 0);
	free(out);
	CHECK_INT(notify_json(&msg, &fk.f, &out, &len), 0);
	free(out);

	memset(&m, 0, sizeof(m));
	make_fire(&fk, cfg, "nightly", T0, 5, two_failed);
	for (size_t i = 0; i + 3 < sizeof(longmsg); i += 2)
		memcpy(longmsg + i, "\xc3\xa9", 2);
	fk.t[1].message = longmsg;
	notify_decide(job->notify, &fk.f, &m, T0, &msg);
	CHECK_INT(notify_text(&msg, &fk.f, &out, &len), 0);
	CHECK_INT(util_text_prefix(out, len), len);
	free(out);
}

int
main(void)
{
	struct config_errors errs = {0};
	struct config *cfg = NULL;

	CHECK_INT(config_load_string(conf, "n.conf", CONFIG_LOAD_NO_KEYS, &cfg,
	                             &errs),
	          0);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	config_errors_free(&errs);
	if (cfg == NULL)
		return test_report("test_notify");
	test_decide(cfg);
	test_decide_on(cfg);
	test_text(cfg);
	test_slack_json(cfg);
	test_email(cfg);
	test_cuts(cfg);
	config_free(cfg);
	return test_report("test_notify");
}
