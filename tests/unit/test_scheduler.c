/*
 * Tests for the pure planning of daemon/scheduler.c with an injected
 * clock: first fire, no double fire for one slot (also when the clock
 * steps back), catch-up after downtime or a step forward, skipped slots
 * without catch-up, DST zones.
 */
#include <errno.h>

#include "config.h"
#include "scheduler.h"
#include "test.h"

static struct config *cfg;

static const char conf_text[] =
    "api = { url = \"http://127.0.0.1:9/v2\"; };\n"
    "accounts = ( { name = \"acme\"; company = "
    "\"c0000000-0000-4000-8000-000000000001\"; } );\n"
    "jobs = (\n"
    " { name = \"hourly\"; schedule = \"0 * * * *\"; action = "
    "\"clear-cache\"; environment_id = "
    "\"a2222222-2222-4222-8222-222222222222\"; },\n"
    " { name = \"catchup\"; schedule = \"0 * * * *\"; catch_up = \"once\";"
    " action = \"clear-cache\"; environment_id = "
    "\"a2222222-2222-4222-8222-222222222222\"; },\n"
    " { name = \"ams\"; schedule = \"30 2 * * *\"; timezone = "
    "\"Europe/Amsterdam\"; catch_up = \"once\"; action = \"clear-cache\";"
    " environment_id = \"a2222222-2222-4222-8222-222222222222\"; }\n"
    ");\n";

/* 2026-01-01T00:00:00Z */
#define T0 INT64_C(1767225600)

static const struct config_job *
job(const char *name)
{
	return config_find_job(cfg, name);
}

static void
test_first_and_next(void)
{
	int64_t slot;
	bool catch_up;

	/* never fired: the next slot after now */
	CHECK_INT(scheduler_plan(job("hourly"), -1, T0 + 10, &slot, &catch_up),
	          0);
	CHECK_INT(slot, T0 + 3600);
	CHECK(!catch_up);
	/* just fired at T0: the next one, not T0 again */
	CHECK_INT(scheduler_plan(job("hourly"), T0, T0, &slot, &catch_up), 0);
	CHECK_INT(slot, T0 + 3600);
	/* fired at T0, asked a second early (timer precision) */
	CHECK_INT(scheduler_plan(job("hourly"), T0, T0 - 1, &slot, &catch_up),
	          0);
	CHECK_INT(slot, T0 + 3600);
}

static void
test_clock_steps(void)
{
	int64_t slot;
	bool catch_up;

	/* The clock steps back an hour and a half after T0 fired: T0 is not
	 * fired again, and neither is anything before it. */
	CHECK_INT(
	    scheduler_plan(job("hourly"), T0, T0 - 5400, &slot, &catch_up), 0);
	CHECK_INT(slot, T0 + 3600);
	CHECK(!catch_up);
	CHECK_INT(
	    scheduler_plan(job("catchup"), T0, T0 - 5400, &slot, &catch_up), 0);
	CHECK_INT(slot, T0 + 3600);
	CHECK(!catch_up);

	/* The clock steps forward 5 hours: without catch-up the missed
	 * slots are skipped; with catch_up = once, one run for them, labelled
	 * with the latest missed slot, due now. */
	CHECK_INT(scheduler_plan(job("hourly"), T0, T0 + 5 * 3600 + 60, &slot,
	                         &catch_up),
	          0);
	CHECK_INT(slot, T0 + 6 * 3600);
	CHECK(!catch_up);
	CHECK_INT(scheduler_plan(job("catchup"), T0, T0 + 5 * 3600 + 60, &slot,
	                         &catch_up),
	          0);
	CHECK_INT(slot, T0 + 5 * 3600);
	CHECK(catch_up);
	/* and once that catch-up slot is recorded, the plan is plain again */
	CHECK_INT(scheduler_plan(job("catchup"), T0 + 5 * 3600,
	                         T0 + 5 * 3600 + 61, &slot, &catch_up),
	          0);
	CHECK_INT(slot, T0 + 6 * 3600);
	CHECK(!catch_up);
}

static void
test_downtime_in_a_zone(void)
{
	int64_t slot;
	bool catch_up;
	/* last fired 2026-03-27T02:30+01:00 (01:30Z); down until
	 * 2026-03-30T00:00Z: missed the 28th and the 29th (the 29th's 02:30
	 * fell in the gap and fired at 03:00+02:00 = 01:00Z). */
	int64_t last = 1774575000; /* 2026-03-27T01:30:00Z */
	int64_t now = 1774828800;  /* 2026-03-30T00:00:00Z */

	CHECK_INT(scheduler_plan(job("ams"), last, now, &slot, &catch_up), 0);
	CHECK(catch_up);
	CHECK_INT(slot, 1774746000); /* 2026-03-29T01:00:00Z */
	CHECK_INT(scheduler_plan(job("ams"), slot, now, &slot, &catch_up), 0);
	CHECK(!catch_up);
	CHECK_INT(slot, 1774830600); /* 2026-03-30T00:30:00Z = 02:30+02 */
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
	test_first_and_next();
	test_clock_steps();
	test_downtime_in_a_zone();
	config_free(cfg);
	return test_report("test_scheduler");
}
