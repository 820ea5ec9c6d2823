/*
 * Unit tests for daemon/notifier.c on a real loop: a failed fire becomes
 * notices in the state (email, webhook, heartbeat), the email is piped to
 * a sendmail script and its notice forgotten once delivered, a webhook to
 * a closed port is retried and dropped after give_up, the job's memory
 * follows the fires, and closing with a delivery under way keeps its
 * notice.  The end-to-end cases (receivers, restarts) are in
 * tests/e2e/test_notify.py.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "exec.h"
#include "http.h"
#include "log.h"
#include "notifier.h"
#include "state.h"
#include "test.h"
#include "util.h"

static char dir[256];
static int changes, delivered, dropped;

static void
on_changed(void *arg)
{
	(void)arg;
	changes++;
}

static void
on_delivered(bool ok, void *arg)
{
	(void)arg;
	if (ok)
		delivered++;
	else
		dropped++;
}

static struct config *
load(const char *sendmail_body)
{
	char path[512], text[2048];
	struct config_errors errs = {0};
	struct config *cfg = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/sendmail", dir);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fprintf(f, "#!/bin/sh\n%s\n", sendmail_body);
	fclose(f);
	chmod(path, 0755);
	snprintf(text, sizeof(text),
	         "accounts = ( { name = \"a\"; company = "
	         "\"0b0e6f4c-1a2b-4c3d-8e9f-0123456789ab\"; } );\n"
	         "sendmail = \"%s\";\n"
	         "notify = { email = \"ops@example.com\";"
	         " webhook = \"http://127.0.0.1:1/hook\";"
	         " retry_min = \"1s\"; retry_max = \"1s\"; give_up = \"1s\";"
	         " timeout = \"2s\"; };\n"
	         "jobs = ( { name = \"nightly\"; schedule = \"0 3 * * *\";"
	         " action = \"clear-cache\"; all_sites = true;"
	         " heartbeat = \"http://127.0.0.1:1/hc\"; } );\n",
	         path);
	if (config_load_string(text, "n.conf", CONFIG_LOAD_NO_KEYS, &cfg,
	                       &errs) < 0)
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
	config_errors_free(&errs);
	return cfg;
}

static size_t
count(const struct state *st, enum state_notice_kind k)
{
	size_t n = 0;

	for (size_t i = 0; i < st->nnotices; i++)
		n += st->notices[i].kind == k;
	return n;
}

/* Run the loop until cond holds or ms pass; whether it holds. */
#define RUN_UNTIL(cond, ms)                                                    \
	do {                                                                   \
		int64_t end_ = util_wall_ms() + (ms);                          \
		while (!(cond) && util_wall_ms() < end_)                       \
			uv_run(&loop, UV_RUN_ONCE);                            \
	} while (0)

static void
test_deliver(void)
{
	char box[300], cmd[1400];
	struct exec_fire_target t[2] = {0};
	struct exec_fire f = {0};
	struct notifier_hooks hooks = {.changed = on_changed,
	                               .delivered = on_delivered};
	struct notifier *nt;
	struct state st = {0};
	struct notify_memory m;
	struct config *cfg;
	struct http *h;
	uv_loop_t loop;
	char err[256];
	FILE *in;

	snprintf(box, sizeof(box), "%s/mail", dir);
	snprintf(cmd, sizeof(cmd), "printf '%%s ' \"$@\" > %s.args; cat > %s",
	         box, box);
	cfg = load(cmd);
	CHECK(cfg != NULL);
	if (cfg == NULL)
		return;
	uv_loop_init(&loop);
	CHECK_INT(http_init(&h, &loop, NULL, err, sizeof(err)), 0);
	CHECK_INT(notifier_init(&nt, &loop, h, &st, cfg, &hooks), 0);
	notifier_start(nt);

	f.cfg = cfg;
	f.job = &cfg->jobs[0];
	f.run_id = 42;
	f.started_ms = util_wall_ms() - 5000;
	f.ended_ms = util_wall_ms();
	f.targets = t;
	f.ntargets = f.nended = 2;
	snprintf(t[0].target.site_name, sizeof(t[0].target.site_name), "shop");
	snprintf(t[0].target.env_name, sizeof(t[0].target.env_name), "live");
	t[0].outcome = KINSTA_FAILED;
	t[0].message = (char *)"disk full";
	t[0].note = (char *)"";
	t[1].outcome = KINSTA_SUCCEEDED;
	t[1].message = t[1].note = (char *)"";
	f.count[KINSTA_FAILED] = f.count[KINSTA_SUCCEEDED] = 1;

	notifier_fire_started(nt, f.job);
	CHECK_INT(count(&st, STATE_NOTICE_PING), 1);
	CHECK(st.nnotices == 1 &&
	      strcmp(st.notices[0].url, "http://127.0.0.1:1/hc/start") == 0);
	notifier_fire_ended(nt, &f);
	CHECK(changes > 0);
	state_notify_memory(&st, "nightly", &m);
	CHECK_INT(m.failures, 1);
	/* email, webhook and the /fail ping (the /start one may be gone) */
	CHECK_INT(count(&st, STATE_NOTICE_EMAIL), 1);
	CHECK_INT(count(&st, STATE_NOTICE_WEBHOOK), 1);
	CHECK(count(&st, STATE_NOTICE_PING) >= 1);
	for (size_t i = 0; i < st.nnotices; i++)
		if (st.notices[i].kind == STATE_NOTICE_PING &&
		    strstr(st.notices[i].url, "/fail") != NULL)
			CHECK(st.notices[i].body != NULL &&
			      strncmp(st.notices[i].body,
			              "job nightly failed on 1 of 2", 28) == 0);
	CHECK_INT(notifier_pending(nt), st.nnotices);

	/* the email goes out; the closed port's deliveries are retried,
	 * then dropped after give_up (1 s) */
	RUN_UNTIL(st.nnotices == 0, 8000);
	CHECK_INT(st.nnotices, 0);
	/* each ended notice told once: the email sent, the rest dropped */
	CHECK_INT(delivered, 1);
	CHECK(dropped >= 2);
	if ((in = fopen(box, "r")) != NULL) {
		char buf[4096];
		size_t n = fread(buf, 1, sizeof(buf) - 1, in);

		buf[n] = '\0';
		CHECK(strstr(buf, "To: ops@example.com\n") != NULL);
		CHECK(strstr(buf, "- shop/live: failed: disk full\n") != NULL);
		fclose(in);
	} else {
		CHECK(!"the fake sendmail wrote nothing");
	}
	strcat(box, ".args");
	if ((in = fopen(box, "r")) != NULL) {
		char buf[64] = "";

		CHECK(fgets(buf, sizeof(buf), in) != NULL);
		CHECK_STR(buf, "-t -oi ");
		fclose(in);
	}

	/* a good fire: the memory is forgotten, a recovery is queued */
	t[0].outcome = KINSTA_SUCCEEDED;
	f.count[KINSTA_FAILED] = 0;
	f.count[KINSTA_SUCCEEDED] = 2;
	notifier_fire_ended(nt, &f);
	state_notify_memory(&st, "nightly", &m);
	CHECK_INT(m.failures, 0);
	CHECK_INT(st.nfailing, 0);
	CHECK(st.nnotices >= 2); /* email, webhook, success ping */

	/* closing keeps what is not delivered */
	notifier_close(nt);
	http_close(h);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(st.nnotices >= 1);
	CHECK_INT(uv_loop_close(&loop), 0);
	state_free(&st);
	config_free(cfg);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/test_notifier.XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	log_open(true, LOG_ERR);
	test_deliver();
	log_close();
	{
		char rm[300];

		snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
		if (system(rm) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
	return test_report("test_notifier");
}
