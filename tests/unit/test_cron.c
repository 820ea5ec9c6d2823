/*
 * Unit tests for daemon/cron.c: every grammar element, every class of
 * error, H, @every, and the three daylight saving rules in six zones.
 * Expected times were worked out by hand from the calendar and the zones'
 * published transitions, not by running the code under test.
 */
#include <errno.h>

#include "cron.h"
#include "test.h"
#include "tz.h"

static const struct tz *
zone(const char *name)
{
	static struct {
		const char *name;
		struct tz *tz;
	} cache[16];
	char err[128];
	int i;

	if (strcmp(name, "UTC") == 0)
		return tz_utc();
	for (i = 0; i < 16 && cache[i].name; i++)
		if (strcmp(cache[i].name, name) == 0)
			return cache[i].tz;
	if (i == 16 || tz_load(&cache[i].tz, name, err, sizeof(err)) < 0)
		TEST_SKIP("system zoneinfo not available (install tzdata)");
	cache[i].name = name;
	return cache[i].tz;
}

/*
 * Check that SCHEDULE (for job NAME) in ZONE, starting strictly after FROM,
 * fires at the space-separated times WANT.
 */
static void
expect_at(int line, const char *schedule, const char *name, const char *zn,
          const char *from, const char *want)
{
	const struct tz *z = zone(zn);
	struct cron c;
	char err[256], got[1024] = "", buf[64];
	int64_t t;
	int n = 1;

	test_checks++;
	for (const char *s = want; *s; s++)
		n += *s == ' ';
	if (cron_parse(&c, schedule, name, err, sizeof(err)) < 0) {
		test_failed++;
		fprintf(stderr, "line %d: \"%s\": parse error: %s\n", line,
		        schedule, err);
		return;
	}
	if (tz_parse_iso(z, from, &t) < 0) {
		test_failed++;
		fprintf(stderr, "line %d: bad --from %s\n", line, from);
		return;
	}
	for (int i = 0; i < n; i++) {
		if (cron_next(&c, z, t, &t) < 0) {
			strcat(got, " (none)");
			break;
		}
		tz_format_iso(z, t, buf, sizeof(buf));
		if (i)
			strcat(got, " ");
		strcat(got, buf);
	}
	if (strcmp(got, want) != 0) {
		test_failed++;
		fprintf(stderr,
		        "line %d: \"%s\" in %s after %s:\n  got  %s\n  want "
		        "%s\n",
		        line, schedule, zn, from, got, want);
	}
}

#define EXPECT(sched, zn, from, want)                                          \
	expect_at(__LINE__, sched, "job", zn, from, want)

static void
test_grammar(void)
{
	/* 2026-01-01 is a Thursday. */
	EXPECT("*/15 * * * *", "UTC", "2026-01-01T00:07:00Z",
	       "2026-01-01T00:15:00+00:00 2026-01-01T00:30:00+00:00 "
	       "2026-01-01T00:45:00+00:00 2026-01-01T01:00:00+00:00");
	EXPECT("10-50/20 * * * *", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-01T00:10:00+00:00 2026-01-01T00:30:00+00:00 "
	       "2026-01-01T00:50:00+00:00 2026-01-01T01:10:00+00:00");
	EXPECT("5/15 * * * *", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-01T00:05:00+00:00 2026-01-01T00:20:00+00:00 "
	       "2026-01-01T00:35:00+00:00 2026-01-01T00:50:00+00:00 "
	       "2026-01-01T01:05:00+00:00");
	EXPECT("0,20-22 8 * * *", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-01T08:00:00+00:00 2026-01-01T08:20:00+00:00 "
	       "2026-01-01T08:21:00+00:00 2026-01-01T08:22:00+00:00 "
	       "2026-01-02T08:00:00+00:00");
	/* next is strictly after the given instant */
	EXPECT("0 9 * * *", "UTC", "2026-01-01T09:00:00Z",
	       "2026-01-02T09:00:00+00:00");
	EXPECT("0 9 * * MON-FRI", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-01T09:00:00+00:00 2026-01-02T09:00:00+00:00 "
	       "2026-01-05T09:00:00+00:00");
	EXPECT("0 0 1 jan,Jul *", "UTC", "2026-01-01T00:00:00Z",
	       "2026-07-01T00:00:00+00:00 2027-01-01T00:00:00+00:00");
	EXPECT("0 0 1 1-12/6 *", "UTC", "2026-01-01T00:00:00Z",
	       "2026-07-01T00:00:00+00:00 2027-01-01T00:00:00+00:00");
	/* 0 and 7 are both Sunday; ? is * in the day fields */
	EXPECT("0 12 * * 7", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-04T12:00:00+00:00 2026-01-11T12:00:00+00:00");
	EXPECT("0 12 * * 0", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-04T12:00:00+00:00 2026-01-11T12:00:00+00:00");
	EXPECT("0 12 ? * sun", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-04T12:00:00+00:00 2026-01-11T12:00:00+00:00");
	EXPECT("0 12 * * FRI-SUN", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-02T12:00:00+00:00 2026-01-03T12:00:00+00:00 "
	       "2026-01-04T12:00:00+00:00 2026-01-09T12:00:00+00:00");
	EXPECT("0 12 * * 5-7", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-02T12:00:00+00:00 2026-01-03T12:00:00+00:00 "
	       "2026-01-04T12:00:00+00:00 2026-01-09T12:00:00+00:00");
	/* six fields: seconds first */
	EXPECT("*/10 * * * * *", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-01T00:00:10+00:00 2026-01-01T00:00:20+00:00 "
	       "2026-01-01T00:00:30+00:00");
	EXPECT("30 0 0 * * *", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-01T00:00:30+00:00 2026-01-02T00:00:30+00:00");
	/* leap day */
	EXPECT("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z",
	       "2028-02-29T00:00:00+00:00 2032-02-29T00:00:00+00:00");
	/* year end */
	EXPECT("59 23 31 12 *", "UTC", "2026-06-01T00:00:00Z",
	       "2026-12-31T23:59:00+00:00 2027-12-31T23:59:00+00:00");
}

static void
test_day_extensions(void)
{
	EXPECT("0 0 L * *", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-31T00:00:00+00:00 2026-02-28T00:00:00+00:00 "
	       "2026-03-31T00:00:00+00:00");
	EXPECT("0 0 L 2 *", "UTC", "2027-03-01T00:00:00Z",
	       "2028-02-29T00:00:00+00:00");
	EXPECT("0 0 L-3 * *", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-28T00:00:00+00:00 2026-02-25T00:00:00+00:00 "
	       "2026-03-28T00:00:00+00:00");
	/* 15W: Thu 15 Jan; Sun 15 Feb -> Mon 16; Sun 15 Mar -> Mon 16 */
	EXPECT("0 0 15W * *", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-15T00:00:00+00:00 2026-02-16T00:00:00+00:00 "
	       "2026-03-16T00:00:00+00:00");
	/* 1W on Saturday 1 Aug 2026 does not leave the month: Mon 3 */
	EXPECT("0 0 1W 8 *", "UTC", "2026-01-01T00:00:00Z",
	       "2026-08-03T00:00:00+00:00");
	/* 31W on Sunday 31 May 2026: Friday 29 */
	EXPECT("0 0 31W 5 *", "UTC", "2026-01-01T00:00:00Z",
	       "2026-05-29T00:00:00+00:00");
	/* LW: Sat 31 Jan -> Fri 30; Sat 28 Feb -> Fri 27; Tue 31 Mar */
	EXPECT("0 0 LW * *", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-30T00:00:00+00:00 2026-02-27T00:00:00+00:00 "
	       "2026-03-31T00:00:00+00:00");
	EXPECT("0 0 * * 5L", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-30T00:00:00+00:00 2026-02-27T00:00:00+00:00 "
	       "2026-03-27T00:00:00+00:00");
	EXPECT("0 0 * * FRIL", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-30T00:00:00+00:00 2026-02-27T00:00:00+00:00");
	EXPECT("0 0 * * MON#1", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-05T00:00:00+00:00 2026-02-02T00:00:00+00:00 "
	       "2026-03-02T00:00:00+00:00");
	EXPECT("0 0 * * 1#5", "UTC", "2026-01-01T00:00:00Z",
	       "2026-03-30T00:00:00+00:00 2026-06-29T00:00:00+00:00");
	EXPECT("0 0 1,L * *", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-31T00:00:00+00:00 2026-02-01T00:00:00+00:00 "
	       "2026-02-28T00:00:00+00:00");
}

static void
test_dom_dow_or(void)
{
	/* both restricted: either matches (13th OR Friday) */
	EXPECT("0 0 13 * FRI", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-02T00:00:00+00:00 2026-01-09T00:00:00+00:00 "
	       "2026-01-13T00:00:00+00:00 2026-01-16T00:00:00+00:00");
	/* a step counts as restricted */
	EXPECT("0 0 */10 * FRI", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-02T00:00:00+00:00 2026-01-09T00:00:00+00:00 "
	       "2026-01-11T00:00:00+00:00 2026-01-16T00:00:00+00:00");
	/* * in day-of-month: only the weekday counts */
	EXPECT("0 0 * * FRI", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-02T00:00:00+00:00 2026-01-09T00:00:00+00:00");
	EXPECT("0 0 ? * FRI", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-02T00:00:00+00:00 2026-01-09T00:00:00+00:00");
	/* * in day-of-week: only the day of month counts */
	EXPECT("0 0 13 * *", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-13T00:00:00+00:00 2026-02-13T00:00:00+00:00");
	EXPECT("0 0 13 * ?", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-13T00:00:00+00:00 2026-02-13T00:00:00+00:00");
}

static void
test_macros(void)
{
	EXPECT("@hourly", "UTC", "2026-01-01T00:30:00Z",
	       "2026-01-01T01:00:00+00:00 2026-01-01T02:00:00+00:00");
	EXPECT("@daily", "UTC", "2026-01-01T00:30:00Z",
	       "2026-01-02T00:00:00+00:00");
	EXPECT("@midnight", "UTC", "2026-01-01T00:30:00Z",
	       "2026-01-02T00:00:00+00:00");
	EXPECT("@weekly", "UTC", "2026-01-01T00:30:00Z",
	       "2026-01-04T00:00:00+00:00");
	EXPECT("@monthly", "UTC", "2026-01-01T00:30:00Z",
	       "2026-02-01T00:00:00+00:00");
	EXPECT("@yearly", "UTC", "2026-01-01T00:30:00Z",
	       "2027-01-01T00:00:00+00:00");
	EXPECT("@annually", "UTC", "2026-01-01T00:30:00Z",
	       "2027-01-01T00:00:00+00:00");
	EXPECT("  @DAILY  ", "UTC", "2026-01-01T00:30:00Z",
	       "2026-01-02T00:00:00+00:00");
	/* @every is anchored to the epoch: 2026-01-01T00:00Z is a multiple
	 * of 90 s, of 1h30m and of a week (1970-01-01 was a Thursday too). */
	EXPECT("@every 90s", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-01T00:01:30+00:00 2026-01-01T00:03:00+00:00");
	EXPECT("@every 90s", "UTC", "2026-01-01T00:00:45Z",
	       "2026-01-01T00:01:30+00:00");
	EXPECT("@every 15m", "UTC", "2026-01-01T00:07:00Z",
	       "2026-01-01T00:15:00+00:00 2026-01-01T00:30:00+00:00");
	EXPECT("@every 1h30m", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-01T01:30:00+00:00 2026-01-01T03:00:00+00:00");
	EXPECT("@every 2h", "Europe/Amsterdam", "2026-01-01T00:00:00Z",
	       "2026-01-01T03:00:00+01:00");
	EXPECT("@every 7d", "UTC", "2026-01-01T00:00:00Z",
	       "2026-01-08T00:00:00+00:00");
	EXPECT("@every 1d", "UTC", "2025-12-31T23:59:59Z",
	       "2026-01-01T00:00:00+00:00");
	/* before the epoch too (floor, not truncation) */
	EXPECT("@every 1d", "UTC", "1969-12-31T12:00:00Z",
	       "1970-01-01T00:00:00+00:00");
}

static void
test_h(void)
{
	struct cron a, b, c;
	char err[256];
	int distinct = 0;
	uint64_t seen = 0;

	/* Stable: the same name gives the same schedule, every time. */
	CHECK(cron_parse(&a, "H 3 * * *", "nightly-cache", err, 256) == 0);
	CHECK(cron_parse(&b, "H 3 * * *", "nightly-cache", err, 256) == 0);
	CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	CHECK(__builtin_popcountll(a.minute) == 1);
	CHECK(a.fixed);
	/* The value is part of the contract: a new version must not move
	 * every H job, so pin one. */
	CHECK_INT(__builtin_ctzll(a.minute), 58);

	/* 300 jobs written "H 3 * * *" spread over the hour. */
	for (int i = 0; i < 300; i++) {
		char name[32];

		snprintf(name, sizeof(name), "site-%03d-cache", i);
		CHECK(cron_parse(&c, "H 3 * * *", name, err, 256) == 0);
		seen |= c.minute;
	}
	distinct = __builtin_popcountll(seen);
	CHECK(distinct >= 50);

	/* Different fields draw different values for one name. */
	CHECK(cron_parse(&c, "H H * * *", "x", err, 256) == 0);
	CHECK(__builtin_popcountll(c.minute) == 1);
	CHECK(__builtin_popcount(c.hour) == 1);

	/* H/15: four times an hour, 15 apart, starting below 15. */
	CHECK(cron_parse(&c, "H/15 * * * *", "backup", err, 256) == 0);
	CHECK(__builtin_popcountll(c.minute) == 4);
	CHECK(__builtin_ctzll(c.minute) < 15);
	CHECK(c.minute == (c.minute & 0x0fffffffffffffffULL));
	{
		int first = __builtin_ctzll(c.minute);

		for (int k = 0; k < 4; k++)
			CHECK(c.minute >> (first + 15 * k) & 1);
		CHECK(!c.fixed);
	}

	/* H(0-29): within the range, for many names. */
	for (int i = 0; i < 100; i++) {
		char name[32];

		snprintf(name, sizeof(name), "j%d", i);
		CHECK(cron_parse(&c, "H(0-29) 3 * * *", name, err, 256) == 0);
		CHECK(__builtin_ctzll(c.minute) <= 29);
		CHECK(cron_parse(&c, "0 0 H * *", name, err, 256) == 0);
		CHECK(__builtin_ctz(c.dom) >= 1 && __builtin_ctz(c.dom) <= 28);
		CHECK(cron_parse(&c, "0 0 * * H", name, err, 256) == 0);
		CHECK(__builtin_ctz(c.dow) <= 6);
		CHECK(cron_parse(&c, "H(10-20)/5 * * * *", name, err, 256) ==
		      0);
		CHECK(__builtin_popcountll(c.minute) >= 2);
		CHECK(__builtin_ctzll(c.minute) >= 10 &&
		      63 - __builtin_clzll(c.minute) <= 20);
	}
	/* H in the day-of-month counts as restricted (OR rule applies). */
	CHECK(cron_parse(&c, "0 0 H * MON", "x", err, 256) == 0);
	CHECK(!c.dom_star && !c.dow_star);
}

struct bad {
	const char *expr;
	const char *msg;
};

static void
test_errors(void)
{
	static const struct bad bad[] = {
	    {"", "empty schedule"},
	    {"* * * *", "expected 5 fields (minute hour day-of-month month "
	                "day-of-week) or 6 (seconds first), got 4"},
	    {"* * * * * * *",
	     "expected 5 fields (minute hour day-of-month month "
	     "day-of-week) or 6 (seconds first), got 7"},
	    {"0 25 * * *", "hour: \"25\" is out of range 0-23"},
	    {"60 * * * *", "minute: \"60\" is out of range 0-59"},
	    {"0 0 0 * *", "day-of-month: \"0\" is out of range 1-31"},
	    {"0 0 32 * *", "day-of-month: \"32\" is out of range 1-31"},
	    {"0 0 * 13 *", "month: \"13\" is out of range 1-12"},
	    {"0 0 * * 8", "day-of-week: \"8\" is out of range 0-7"},
	    {"60 * * * * *", "second: \"60\" is out of range 0-59"},
	    {"0 0 * * FRY", "day-of-week: unknown name \"FRY\""},
	    {"0 0 * JANUARY *", "month: unknown name \"JANUARY\""},
	    {"0 noon * * *", "hour: \"noon\" is not a number"},
	    {"*/0 * * * *",
	     "minute: step 0 in \"*/0\" must be between 1 and 60"},
	    {"*/61 * * * *",
	     "minute: step 61 in \"*/61\" must be between 1 and 60"},
	    {"30-10 * * * *",
	     "minute: range 30-10 in \"30-10\" runs backwards"},
	    {"1,,2 * * * *", "minute: empty list item"},
	    {"1- * * * *", "minute: missing value in \"1-\""},
	    {"5x * * * *", "minute: unexpected \"x\" in \"5x\""},
	    {"? * * * *", "minute: \"?\" is allowed only in day-of-month and "
	                  "day-of-week"},
	    {"0 L * * *",
	     "hour: \"L\": L and W are allowed only in day-of-month (and "
	     "L, # in day-of-week)"},
	    {"0 0 L-31 * *",
	     "day-of-month: \"L-31\": the offset from L must be 0-30"},
	    {"0 0 LX * *", "day-of-month: unexpected \"X\" after L in \"LX\""},
	    {"0 0 * * MON#6", "day-of-week: \"MON#6\": n in day#n must be 1-5"},
	    {"0 0 * * MON#0", "day-of-week: \"MON#0\": n in day#n must be 1-5"},
	    {"0 0 32W * *", "day-of-month: \"32\" is out of range 1-31"},
	    {"0 0 31 2 *",
	     "schedule never fires (no date matches its day-of-month, "
	     "month and day-of-week)"},
	    {"0 0 30,31 2 *",
	     "schedule never fires (no date matches its day-of-month, "
	     "month and day-of-week)"},
	    {"0 0 L-29 2 *",
	     "schedule never fires (no date matches its day-of-month, "
	     "month and day-of-week)"},
	    {"@reboot", "unknown macro \"@reboot\" (known: @yearly @annually "
	                "@monthly @weekly @daily @midnight @hourly @every)"},
	    {"@daily 5", "@daily takes no fields after it"},
	    {"@every", "@every needs a duration, e.g. 90s, 15m, 2h, 1h30m, "
	               "1d"},
	    {"@every 0s", "@every 0s: the period must be at least 1s"},
	    {"@every 400d", "@every 400d: the period must be at most 366d"},
	    {"@every 1x",
	     "@every: bad duration \"1x\" (use units d, h, m, s in that "
	     "order, e.g. 90s, 15m, 2h, 1h30m, 1d)"},
	    {"@every 30m1h",
	     "@every: bad duration \"30m1h\" (use units d, h, m, s in "
	     "that order, e.g. 90s, 15m, 2h, 1h30m, 1d)"},
	    {"@every 15", "@every: bad duration \"15\" (use units d, h, m, "
	                  "s in that order, e.g. 90s, 15m, 2h, 1h30m, "
	                  "1d)"},
	    {"H(30-10) * * * *",
	     "minute: range 30-10 in \"H(30-10)\" runs backwards"},
	    {"H(0-70) * * * *", "minute: \"70\" is out of range 0-59"},
	};
	struct cron c;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = cron_parse(&c, bad[i].expr, "job", err, sizeof(err));

		CHECK_INT(rc, -EINVAL);
		CHECK_STR(err, bad[i].msg);
	}
	CHECK_INT(cron_parse(&c, "H * * * *", NULL, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "minute: \"H\" needs a job name to derive its value");
	/* A truncated error buffer is still a terminated string. */
	CHECK_INT(cron_parse(&c, "0 25 * * *", "j", err, 8), -EINVAL);
	CHECK_STR(err, "hour: \"");
}

static void
test_dst_europe(void)
{
	const char *z = "Europe/Amsterdam";

	/* Spring forward 2026-03-29 02:00 -> 03:00 (01:00Z). Rule 1: a
	 * fixed time in the gap fires once, at the first instant after. */
	EXPECT("30 2 * * *", z, "2026-03-28T00:00",
	       "2026-03-28T02:30:00+01:00 2026-03-29T03:00:00+02:00 "
	       "2026-03-30T02:30:00+02:00");
	EXPECT("0 2 * * *", z, "2026-03-29T00:00",
	       "2026-03-29T03:00:00+02:00 2026-03-30T02:00:00+02:00");
	/* two times in the gap still fire once */
	EXPECT("0,30 2 * * *", z, "2026-03-29T00:00",
	       "2026-03-29T03:00:00+02:00 2026-03-30T02:00:00+02:00");
	/* a gap time and the real 03:00 coincide: once */
	EXPECT("0 2,3 * * *", z, "2026-03-29T00:00",
	       "2026-03-29T03:00:00+02:00 2026-03-30T02:00:00+02:00");
	/* seconds-precision fixed job */
	EXPECT("15 30 2 * * *", z, "2026-03-29T00:00",
	       "2026-03-29T03:00:00+02:00 2026-03-30T02:30:15+02:00");
	/* Rule 3: interval jobs follow real time; the gap does not exist. */
	EXPECT("*/30 * * * *", z, "2026-03-29T01:45",
	       "2026-03-29T03:00:00+02:00 2026-03-29T03:30:00+02:00");
	EXPECT("30 * * * *", z, "2026-03-29T00:45",
	       "2026-03-29T01:30:00+01:00 2026-03-29T03:30:00+02:00");
	/* Fall back 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z). Rule 2: a
	 * fixed time that happens twice fires at the first occurrence. */
	EXPECT("30 2 * * *", z, "2026-10-24T12:00",
	       "2026-10-25T02:30:00+02:00 2026-10-26T02:30:00+01:00");
	/* asked from inside the second pass: it already fired */
	EXPECT("30 2 * * *", z, "2026-10-25T01:10:00Z",
	       "2026-10-26T02:30:00+01:00");
	/* Rule 3: interval jobs fire in both passes. */
	EXPECT("*/30 * * * *", z, "2026-10-25T01:45",
	       "2026-10-25T02:00:00+02:00 2026-10-25T02:30:00+02:00 "
	       "2026-10-25T02:00:00+01:00 2026-10-25T02:30:00+01:00 "
	       "2026-10-25T03:00:00+01:00");
	EXPECT("0 2-3 * * *", z, "2026-10-25T00:00",
	       "2026-10-25T02:00:00+02:00 2026-10-25T02:00:00+01:00 "
	       "2026-10-25T03:00:00+01:00 2026-10-26T02:00:00+01:00");
	/* Far in the future the footer rule takes over: last Sunday of
	 * March 2100 is the 28th. */
	EXPECT("30 2 * * *", z, "2100-03-27T12:00",
	       "2100-03-28T03:00:00+02:00 2100-03-29T02:30:00+02:00");
	EXPECT("30 2 * * *", z, "2400-10-28T12:00",
	       "2400-10-29T02:30:00+02:00 2400-10-30T02:30:00+01:00");
}

static void
test_dst_america(void)
{
	const char *z = "America/New_York";

	/* 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00
	 * EST. */
	EXPECT("30 2 * * *", z, "2026-03-07T12:00",
	       "2026-03-08T03:00:00-04:00 2026-03-09T02:30:00-04:00");
	EXPECT("30 1 * * *", z, "2026-10-31T12:00",
	       "2026-11-01T01:30:00-04:00 2026-11-02T01:30:00-05:00");
	EXPECT("15 * * * *", z, "2026-11-01T00:30",
	       "2026-11-01T01:15:00-04:00 2026-11-01T01:15:00-05:00 "
	       "2026-11-01T02:15:00-05:00");
	EXPECT("0 9 * * MON-FRI", z, "2026-03-06T12:00",
	       "2026-03-09T09:00:00-04:00");

	/* Sao Paulo 2018: the gap is at midnight (00:00 -> 01:00 on 4 Nov),
	 * so the day itself starts at 01:00. */
	z = "America/Sao_Paulo";
	EXPECT("0 0 * * *", z, "2018-11-03T12:00",
	       "2018-11-04T01:00:00-02:00 2018-11-05T00:00:00-02:00");
	EXPECT("30 0 * * *", z, "2018-11-03T12:00",
	       "2018-11-04T01:00:00-02:00 2018-11-05T00:30:00-02:00");
	EXPECT("*/30 * * * *", z, "2018-11-03T23:45",
	       "2018-11-04T01:00:00-02:00 2018-11-04T01:30:00-02:00");
	/* a job only for the 4th: it still fires that day */
	EXPECT("0 0 4 11 *", z, "2018-01-01T00:00",
	       "2018-11-04T01:00:00-02:00 2019-11-04T00:00:00-03:00");
	/* 2019-02-17 00:00 -02 -> 2019-02-16 23:00 -03: 23:xx twice */
	EXPECT("30 23 * * *", z, "2019-02-16T12:00",
	       "2019-02-16T23:30:00-02:00 2019-02-17T23:30:00-03:00");
	EXPECT("*/20 23 * * *", z, "2019-02-16T22:50",
	       "2019-02-16T23:00:00-02:00 2019-02-16T23:20:00-02:00 "
	       "2019-02-16T23:40:00-02:00 2019-02-16T23:00:00-03:00 "
	       "2019-02-16T23:20:00-03:00 2019-02-16T23:40:00-03:00 "
	       "2019-02-17T23:00:00-03:00");
}

static void
test_dst_southern(void)
{
	const char *z = "Australia/Sydney";

	/* DST starts first Sunday of October (2026-10-04) 02:00 -> 03:00;
	 * ends first Sunday of April (2026-04-05) 03:00 -> 02:00. */
	EXPECT("30 2 * * *", z, "2026-10-03T12:00",
	       "2026-10-04T03:00:00+11:00 2026-10-05T02:30:00+11:00");
	EXPECT("30 2 * * *", z, "2026-04-04T12:00",
	       "2026-04-05T02:30:00+11:00 2026-04-06T02:30:00+10:00");
	EXPECT("0 * * * *", z, "2026-04-05T01:30",
	       "2026-04-05T02:00:00+11:00 2026-04-05T02:00:00+10:00 "
	       "2026-04-05T03:00:00+10:00");

	/* Lord Howe shifts by 30 minutes: +10:30 <-> +11:00 at 02:00. */
	z = "Australia/Lord_Howe";
	EXPECT("15 2 * * *", z, "2026-10-03T12:00",
	       "2026-10-04T02:30:00+11:00 2026-10-05T02:15:00+11:00");
	EXPECT("45 2 * * *", z, "2026-10-03T12:00",
	       "2026-10-04T02:45:00+11:00 2026-10-05T02:45:00+11:00");
	EXPECT("45 1 * * *", z, "2026-04-04T12:00",
	       "2026-04-05T01:45:00+11:00 2026-04-06T01:45:00+10:30");
	EXPECT("*/20 * * * *", z, "2026-04-05T01:30:00+11:00",
	       "2026-04-05T01:40:00+11:00 2026-04-05T01:40:00+10:30 "
	       "2026-04-05T02:00:00+10:30");
	EXPECT("*/10 2 * * *", z, "2026-10-04T01:55",
	       "2026-10-04T02:30:00+11:00 2026-10-04T02:40:00+11:00");
}

static void
test_no_dst(void)
{
	EXPECT("30 2 * * *", "Asia/Kolkata", "2026-03-29T00:00",
	       "2026-03-29T02:30:00+05:30 2026-03-30T02:30:00+05:30");
	EXPECT("0 0 1 * *", "Asia/Kathmandu", "2026-01-15T00:00",
	       "2026-02-01T00:00:00+05:45");
}

static void
test_match_wall(void)
{
	struct cron c;
	char err[256];
	struct tz_civil t = {.year = 2026, .month = 3, .day = 27, .hour = 4};

	CHECK(cron_parse(&c, "0 4 * * 5L", "j", err, sizeof(err)) == 0);
	CHECK(cron_match_wall(&c, tz_seconds_from_civil(&t)));
	t.day = 20;
	CHECK(!cron_match_wall(&c, tz_seconds_from_civil(&t)));
	CHECK(cron_parse(&c, "@every 1h", "j", err, sizeof(err)) == 0);
	CHECK(cron_match_wall(&c, 7200));
	CHECK(!cron_match_wall(&c, 7201));
}

static void
test_every_instant_of_a_year(void)
{
	/* Sweep: consecutive next() calls are strictly increasing and every
	 * result matches on the zone's wall clock. */
	const char *zones[] = {"UTC", "Europe/Amsterdam", "Australia/Lord_Howe",
	                       "America/Sao_Paulo"};
	const char *exprs[] = {"*/7 * * * *", "0 2 * * *", "30 1-3 * * *",
	                       "0 0 L * *"};
	struct cron c;
	char err[256];

	for (size_t zi = 0; zi < 4; zi++) {
		const struct tz *z = zone(zones[zi]);

		for (size_t ei = 0; ei < 4; ei++) {
			int64_t t = 1514764800, prev = t; /* 2018-01-01 */
			int bad = 0, fired = 0;

			CHECK(cron_parse(&c, exprs[ei], "j", err, 256) == 0);
			while (t < 1546300800) { /* 2019-01-01 */
				if (cron_next(&c, z, t, &t) < 0) {
					bad++;
					break;
				}
				bad += t <= prev;
				/* gap firings are the one sanctioned
				 * exception to matching the wall clock */
				if (!cron_match_wall(&c,
				                     t + tz_offset_at(z, t)) &&
				    tz_offset_at(z, t) ==
				        tz_offset_at(z, t - 1))
					bad++;
				prev = t;
				fired++;
			}
			CHECK_INT(bad, 0);
			CHECK(fired > 0);
		}
	}
}

int
main(void)
{
	test_grammar();
	test_day_extensions();
	test_dom_dow_or();
	test_macros();
	test_h();
	test_errors();
	test_dst_europe();
	test_dst_america();
	test_dst_southern();
	test_no_dst();
	test_match_wall();
	test_every_instant_of_a_year();
	return test_report("test_cron");
}
