/*
 * Tests for daemon/rollout.c: the order of targets (selector order, site
 * name, environment names), the waves (canary, batches, per environment
 * name), halting after halt_after failures with the rest skipped and the
 * message, staging gating live per site, a closed window, rolled-back or
 * timed-out counting as failures, and a long random sequence checked
 * against a simple model of the rules.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "rollout.h"
#include "test.h"

static struct config *cfg;

/* rollout_init over an array of targets (it takes pointers). */
static int
init(struct rollout *ro, const struct config_job *j, const struct target *t,
     size_t n)
{
	const struct target *p[64];

	for (size_t i = 0; i < n && i < 64; i++)
		p[i] = &t[i];
	return rollout_init(ro, j, p, n);
}

static const char conf_text[] =
    "api = { url = \"http://127.0.0.1:9/v2\"; };\n"
    "accounts = ( { name = \"acme\"; company = "
    "\"aaaaaaaa-0000-4000-8000-000000000001\"; } );\n"
    "jobs = (\n"
    " { name = \"plain\"; schedule = \"@daily\"; action = \"clear-cache\";"
    "   all_sites = true; },\n"
    " { name = \"roll\"; schedule = \"@daily\"; action = \"update-plugins\";"
    "   all_sites = true; rollout = { canary = 2; batch = 3; "
    "halt_after = 1; }; },\n"
    " { name = \"roll2\"; schedule = \"@daily\"; action = "
    "\"update-plugins\"; label = \"shop\"; rollout = { canary = 1; "
    "batch = 2; halt_after = 2; }; },\n"
    " { name = \"nohalt\"; schedule = \"@daily\"; action = "
    "\"update-plugins\"; all_sites = true; rollout = { canary = 0; "
    "batch = 2; halt_after = 0; }; },\n"
    " { name = \"defaults\"; schedule = \"@daily\"; action = "
    "\"update-themes\"; all_sites = true; rollout = { }; },\n"
    " { name = \"listed\"; schedule = \"@daily\"; action = \"clear-cache\";"
    "   sites = [\"zulu\", \"alpha\", \"mike\"]; rollout = { canary = 1; "
    "batch = 1; }; },\n"
    " { name = \"stg\"; schedule = \"@daily\"; action = \"update-plugins\";"
    "   all_sites = true; environment = [\"staging\", \"live\"];"
    "   rollout = { canary = 1; batch = 10; halt_after = 5; }; },\n"
    " { name = \"stgplain\"; schedule = \"@daily\"; action = "
    "\"update-plugins\"; all_sites = true; "
    "environment = [\"staging\", \"live\"]; }\n"
    ");\n";

static const struct config_job *
job(const char *name)
{
	const struct config_job *j = config_find_job(cfg, name);

	if (j == NULL) {
		fprintf(stderr, "no job %s\n", name);
		exit(1);
	}
	return j;
}

/* n targets: site names from names (site ids "s-<name>"), env env. */
static struct target *
targets(const char *const *names, const char *const *envs, size_t n)
{
	struct target *t = calloc(n, sizeof(*t));

	for (size_t i = 0; i < n; i++) {
		snprintf(t[i].site_name, sizeof(t[i].site_name), "%s",
		         names[i]);
		snprintf(t[i].site_id, sizeof(t[i].site_id), "s-%s", names[i]);
		snprintf(t[i].env_name, sizeof(t[i].env_name), "%s",
		         envs ? envs[i] : "live");
		snprintf(t[i].env_id, sizeof(t[i].env_id), "e-%.40s-%.40s",
		         names[i], t[i].env_name);
		t[i].resolved = true;
	}
	return t;
}

/* Take every move now: the started ones into started[] (target
 * indexes), the skipped into skipped[] with their message in msgs. */
static size_t
drain(struct rollout *ro, bool window_open, size_t *started, size_t *nstarted,
      size_t *skipped, char msgs[][ROLLOUT_MSG_MAX], size_t *nskipped)
{
	struct rollout_move mv;
	size_t moves = 0;

	*nstarted = 0;
	if (nskipped)
		*nskipped = 0;
	while (rollout_next(ro, window_open, &mv)) {
		moves++;
		if (mv.start) {
			started[(*nstarted)++] = mv.target;
		} else if (skipped) {
			snprintf(msgs[*nskipped], ROLLOUT_MSG_MAX, "%s",
			         mv.message);
			skipped[(*nskipped)++] = mv.target;
		}
	}
	return moves;
}

static void
test_no_rollout_starts_all(void)
{
	static const char *const names[] = {"c", "a", "b", "d"};
	struct target *t = targets(names, NULL, 4);
	struct rollout ro;
	size_t started[8], n;

	CHECK(!job("plain")->rollout.set);
	CHECK_INT(init(&ro, job("plain"), t, 4), 0);
	CHECK_INT(ro.nwaves, 1);
	drain(&ro, true, started, &n, NULL, NULL, NULL);
	CHECK_INT(n, 4);
	/* by site name: a b c d */
	CHECK_INT(started[0], 1);
	CHECK_INT(started[1], 2);
	CHECK_INT(started[2], 0);
	CHECK_INT(started[3], 3);
	/* a failure halts nothing without a rollout */
	rollout_ended(&ro, 1, KINSTA_FAILED, "boom");
	CHECK(!ro.halted);
	for (size_t i = 0; i < 4; i++)
		rollout_ended(&ro, i, KINSTA_SUCCEEDED, "");
	CHECK(rollout_done(&ro));
	rollout_free(&ro);
	free(t);
}

static void
test_canary_and_batches(void)
{
	static const char *const names[] = {"h", "g", "f", "e",
	                                    "d", "c", "b", "a"};
	struct target *t = targets(names, NULL, 8);
	struct rollout ro;
	size_t started[8], n;
	/* a b | c d e | f g h: targets 7 6 | 5 4 3 | 2 1 0 */

	CHECK_INT(init(&ro, job("roll"), t, 8), 0);
	CHECK_INT(ro.nwaves, 3);
	CHECK(rollout_at(&ro, 0)->canary && rollout_at(&ro, 1)->canary);
	CHECK(!rollout_at(&ro, 2)->canary);
	CHECK_INT(rollout_at(&ro, 4)->wave, 1);
	CHECK_INT(rollout_at(&ro, 5)->wave, 2);
	CHECK(rollout_at(&ro, 8) == NULL);

	drain(&ro, true, started, &n, NULL, NULL, NULL);
	CHECK_INT(n, 2);
	CHECK_INT(started[0], 7);
	CHECK_INT(started[1], 6);
	/* one canary ends: the batch still waits for the other */
	rollout_ended(&ro, 7, KINSTA_SUCCEEDED, "");
	CHECK_INT(drain(&ro, true, started, &n, NULL, NULL, NULL), 0);
	/* skipped is no failure */
	rollout_ended(&ro, 6, KINSTA_SKIPPED, "no plugin updates available");
	drain(&ro, true, started, &n, NULL, NULL, NULL);
	CHECK_INT(n, 3);
	CHECK_INT(started[0], 5);
	CHECK_INT(started[2], 3);
	rollout_ended(&ro, 5, KINSTA_SUCCEEDED, "");
	rollout_ended(&ro, 4, KINSTA_SUCCEEDED, "");
	CHECK_INT(drain(&ro, true, started, &n, NULL, NULL, NULL), 0);
	rollout_ended(&ro, 3, KINSTA_SUCCEEDED, "");
	drain(&ro, true, started, &n, NULL, NULL, NULL);
	CHECK_INT(n, 3);
	CHECK_INT(started[0], 2);
	CHECK(!rollout_done(&ro));
	for (size_t i = 0; i < 3; i++)
		rollout_ended(&ro, i, KINSTA_SUCCEEDED, "");
	CHECK(rollout_done(&ro));
	CHECK_INT(drain(&ro, true, started, &n, NULL, NULL, NULL), 0);
	/* an end reported twice, or of no target, changes nothing */
	rollout_ended(&ro, 0, KINSTA_FAILED, "late");
	rollout_ended(&ro, 99, KINSTA_FAILED, "none");
	CHECK_INT(ro.failures, 0);
	rollout_free(&ro);
	free(t);
}

static void
test_halt(void)
{
	static const char *const names[] = {"a", "b", "c", "d", "e", "f"};
	struct target *t = targets(names, NULL, 6);
	struct rollout ro;
	size_t started[8], skipped[8], n, ns;
	char msgs[8][ROLLOUT_MSG_MAX];

	CHECK_INT(init(&ro, job("roll"), t, 6), 0);
	drain(&ro, true, started, &n, skipped, msgs, &ns);
	CHECK_INT(n, 2);
	/* the first canary fails: halted at once, the untouched end
	 * skipped while the other canary runs on */
	rollout_ended(&ro, 0, KINSTA_FAILED, "Plugin update failed");
	CHECK(ro.halted);
	drain(&ro, true, started, &n, skipped, msgs, &ns);
	CHECK_INT(n, 0);
	CHECK_INT(ns, 4);
	CHECK_INT(skipped[0], 2);
	CHECK_INT(skipped[3], 5);
	CHECK_STR(msgs[0], "rollout halted after a: Plugin update failed");
	CHECK_STR(msgs[3], "rollout halted after a: Plugin update failed");
	CHECK(!rollout_done(&ro));
	rollout_ended(&ro, 1, KINSTA_SUCCEEDED, "");
	CHECK(rollout_done(&ro));
	rollout_free(&ro);
	free(t);

	/* halt_after = 2: one failed canary is not enough; a rolled-back
	 * one in the next batch is (any outcome but succeeded/skipped) */
	t = targets(names, NULL, 6);
	CHECK_INT(init(&ro, job("roll2"), t, 6), 0);
	drain(&ro, true, started, &n, skipped, msgs, &ns);
	CHECK_INT(n, 1);
	rollout_ended(&ro, 0, KINSTA_TIMED_OUT, "");
	CHECK(!ro.halted);
	drain(&ro, true, started, &n, skipped, msgs, &ns);
	CHECK_INT(n, 2);
	CHECK_INT(started[0], 1);
	rollout_ended(&ro, 1, (enum kinsta_outcome)(KINSTA_SKIPPED + 1),
	              "rolled back: probe / answered 500");
	CHECK(ro.halted);
	drain(&ro, true, started, &n, skipped, msgs, &ns);
	CHECK_INT(n, 0);
	CHECK_INT(ns, 3);
	CHECK_STR(msgs[0], "rollout halted after b: rolled back: probe / "
	                   "answered 500");
	rollout_ended(&ro, 2, KINSTA_SUCCEEDED, "");
	CHECK(rollout_done(&ro));
	rollout_free(&ro);
	free(t);

	/* halt_after = 0 never halts; canary = 0 starts with a batch */
	t = targets(names, NULL, 6);
	CHECK_INT(init(&ro, job("nohalt"), t, 6), 0);
	CHECK_INT(ro.nwaves, 3);
	for (int w = 0; w < 3; w++) {
		drain(&ro, true, started, &n, skipped, msgs, &ns);
		CHECK_INT(n, 2);
		CHECK_INT(started[0], (size_t)w * 2);
		rollout_ended(&ro, started[0], KINSTA_FAILED, "x");
		rollout_ended(&ro, started[1], KINSTA_FAILED, "y");
	}
	CHECK(!ro.halted);
	CHECK(rollout_done(&ro));
	rollout_free(&ro);
	free(t);
}

static void
test_order_and_defaults(void)
{
	static const char *const names[] = {"alpha", "mike", "zulu"};
	struct target *t = targets(names, NULL, 3);
	struct rollout ro;
	size_t started[8], n;
	const struct config_rollout *d = &job("defaults")->rollout;

	CHECK(d->set);
	CHECK_INT(d->canary, 1);
	CHECK_INT(d->batch, 10);
	CHECK_INT(d->halt_after, 1);
	/* sites = ["zulu", "alpha", "mike"]: that order, one at a time */
	CHECK_INT(init(&ro, job("listed"), t, 3), 0);
	CHECK_INT(ro.nwaves, 3);
	for (size_t want_i = 0; want_i < 3; want_i++) {
		static const size_t want[] = {2, 0, 1};

		drain(&ro, true, started, &n, NULL, NULL, NULL);
		CHECK_INT(n, 1);
		CHECK_INT(started[0], want[want_i]);
		rollout_ended(&ro, started[0], KINSTA_SUCCEEDED, "");
	}
	CHECK(rollout_done(&ro));
	rollout_free(&ro);
	free(t);

	/* nothing to roll out */
	CHECK_INT(init(&ro, job("roll"), NULL, 0), 0);
	CHECK(rollout_done(&ro));
	CHECK_INT(drain(&ro, true, started, &n, NULL, NULL, NULL), 0);
	rollout_free(&ro);
}

static void
test_staging_then_live(void)
{
	/* the site list gives live before staging, mixed */
	static const char *const names[] = {"b", "a", "a", "c", "b", "d"};
	static const char *const envs[] = {"live",    "live",    "staging",
	                                   "staging", "staging", "live"};
	struct target *t = targets(names, envs, 6);
	struct rollout ro;
	size_t started[8], skipped[8], n, ns;
	char msgs[8][ROLLOUT_MSG_MAX];

	CHECK_INT(init(&ro, job("stg"), t, 6), 0);
	/* staging: a (canary) | b c; live: a (canary) | b d */
	CHECK_INT(ro.nwaves, 4);
	CHECK_INT(rollout_at(&ro, 0)->target, 2);
	CHECK_INT(rollout_at(&ro, 3)->target, 1);
	CHECK(rollout_at(&ro, 3)->canary);
	drain(&ro, true, started, &n, skipped, msgs, &ns);
	CHECK_INT(n, 1);
	CHECK_INT(started[0], 2); /* a/staging */
	rollout_ended(&ro, 2, KINSTA_SUCCEEDED, "");
	drain(&ro, true, started, &n, skipped, msgs, &ns);
	CHECK_INT(n, 2);
	CHECK_INT(started[0], 4); /* b/staging */
	CHECK_INT(started[1], 3); /* c/staging */
	rollout_ended(&ro, 4, KINSTA_FAILED, "Plugin update failed");
	/* no live starts before every staging ended */
	CHECK_INT(drain(&ro, true, started, &n, skipped, msgs, &ns), 0);
	rollout_ended(&ro, 3, KINSTA_SUCCEEDED, "");
	drain(&ro, true, started, &n, skipped, msgs, &ns);
	CHECK_INT(n, 1);
	CHECK_INT(started[0], 1); /* a/live, the live canary */
	rollout_ended(&ro, 1, KINSTA_SUCCEEDED, "");
	drain(&ro, true, started, &n, skipped, msgs, &ns);
	/* b/live skipped (its staging failed), d/live (no staging) runs */
	CHECK_INT(ns, 1);
	CHECK_INT(skipped[0], 0);
	CHECK_STR(msgs[0], "staging failed: Plugin update failed");
	CHECK_INT(n, 1);
	CHECK_INT(started[0], 5);
	rollout_ended(&ro, 5, KINSTA_SUCCEEDED, "");
	CHECK(rollout_done(&ro));
	CHECK(!ro.halted);
	rollout_free(&ro);

	/* no rollout group: all staging at once, then the live ones */
	CHECK_INT(init(&ro, job("stgplain"), t, 6), 0);
	CHECK_INT(ro.nwaves, 2);
	drain(&ro, true, started, &n, skipped, msgs, &ns);
	CHECK_INT(n, 3);
	rollout_ended(&ro, 2, KINSTA_SUCCEEDED, "");
	rollout_ended(&ro, 3, KINSTA_SUCCEEDED, "");
	rollout_ended(&ro, 4, KINSTA_TIMED_OUT, "");
	drain(&ro, true, started, &n, skipped, msgs, &ns);
	CHECK_INT(n, 2);
	CHECK_INT(ns, 1);
	CHECK_STR(msgs[0], "staging failed: timed-out");
	rollout_free(&ro);
	free(t);
}

static void
test_window(void)
{
	static const char *const names[] = {"a", "b", "c", "d", "e"};
	struct target *t = targets(names, NULL, 5);
	struct rollout ro;
	size_t started[8], skipped[8], n, ns;
	char msgs[8][ROLLOUT_MSG_MAX];

	CHECK_INT(init(&ro, job("roll"), t, 5), 0);
	drain(&ro, true, started, &n, skipped, msgs, &ns);
	CHECK_INT(n, 2);
	rollout_ended(&ro, 0, KINSTA_SUCCEEDED, "");
	rollout_ended(&ro, 1, KINSTA_SUCCEEDED, "");
	/* the window closed while the canaries ran */
	drain(&ro, false, started, &n, skipped, msgs, &ns);
	CHECK_INT(n, 0);
	CHECK_INT(ns, 3);
	CHECK_STR(msgs[2], "window closed");
	CHECK(rollout_done(&ro));
	rollout_free(&ro);
	free(t);
}

/* A model: random ends against the rules, checked at every step. */
static void
test_random(void)
{
	enum { N = 37 };
	const char *names[N];
	char buf[N][8];
	unsigned seed = 12345;

	for (int i = 0; i < N; i++) {
		snprintf(buf[i], sizeof(buf[i]), "s%02d", i);
		names[i] = buf[i];
	}
	for (int round = 0; round < 200; round++) {
		struct target *t = targets(names, NULL, N);
		const struct config_job *j = job(round % 3 == 0   ? "roll"
		                                 : round % 3 == 1 ? "roll2"
		                                                  : "nohalt");
		struct rollout ro;
		size_t running[N], nrun = 0, failures = 0, ended = 0;
		bool seen[N] = {false};
		struct rollout_move mv;

		CHECK_INT(init(&ro, j, t, N), 0);
		for (;;) {
			size_t k;

			while (rollout_next(&ro, true, &mv)) {
				CHECK(!seen[mv.target]);
				seen[mv.target] = true;
				if (mv.start) {
					/* never more than a wave at once */
					CHECK(
					    nrun <
					    (size_t)(j->rollout.batch >
					                     j->rollout.canary
					                 ? j->rollout.batch
					                 : j->rollout.canary));
					/* nothing starts after the halt */
					CHECK(
					    j->rollout.halt_after == 0 ||
					    failures <
					        (size_t)j->rollout.halt_after);
					running[nrun++] = mv.target;
				} else {
					CHECK(strncmp(mv.message,
					              "rollout halted after ",
					              21) == 0);
					ended++;
				}
			}
			if (nrun == 0)
				break;
			seed = seed * 1103515245u + 12345u;
			k = (seed >> 8) % nrun;
			seed = seed * 1103515245u + 12345u;
			if ((seed >> 8) % 10 == 0) {
				failures++;
				rollout_ended(&ro, running[k], KINSTA_FAILED,
				              "f");
			} else {
				rollout_ended(&ro, running[k], KINSTA_SUCCEEDED,
				              "");
			}
			ended++;
			running[k] = running[--nrun];
		}
		CHECK_INT(ended, N);
		CHECK(rollout_done(&ro));
		rollout_free(&ro);
		free(t);
	}
}

int
main(void)
{
	struct config_errors errs = {0};

	if (config_load_string(conf_text, "test.conf", CONFIG_LOAD_NO_KEYS,
	                       &cfg, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		config_errors_free(&errs);
		return 1;
	}
	test_no_rollout_starts_all();
	test_canary_and_batches();
	test_halt();
	test_order_and_defaults();
	test_staging_then_live();
	test_window();
	test_random();
	config_free(cfg);
	return test_report("test_rollout");
}
