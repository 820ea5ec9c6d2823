/*
 * Tests for daemon/tz.c against the system's zoneinfo, hand-built TZif
 * data, and glibc's localtime_r as an independent oracle (setenv("TZ") is
 * fine here; the daemon itself never touches libc's time-zone state).
 */
#include "test.h"
#include "tz.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define H 3600

/* An independent UTC calendar: glibc's timegm. */
static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
	                .tm_mon = mo - 1,
	                .tm_mday = d,
	                .tm_hour = h,
	                .tm_min = mi,
	                .tm_sec = s};

	return (int64_t)timegm(&tm);
}

/* The same numbers read as a wall clock. */
#define wallclock utc

static struct tz *
load(const char *name)
{
	struct tz *z = NULL;
	char err[256] = "";
	int rc = tz_load(&z, name, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "tz_load(%s): %d %s\n", name, rc, err);
	CHECK_INT(rc, 0);
	return z;
}

#define CHECK_SPAN(z, t, st, en, of, pr, nx)                                   \
	do {                                                                   \
		struct tz_span sp_;                                            \
		tz_span_at((z), (t), &sp_);                                    \
		CHECK_INT(sp_.start, (st));                                    \
		CHECK_INT(sp_.end, (en));                                      \
		CHECK_INT(sp_.offset, (of));                                   \
		CHECK_INT(sp_.prev_offset, (pr));                              \
		CHECK_INT(sp_.next_offset, (nx));                              \
	} while (0)

#define CHECK_W2U(z, w, want, want_rc)                                         \
	do {                                                                   \
		int64_t t_ = 0;                                                \
		CHECK_INT(tz_wall_to_utc((z), (w), &t_), (want_rc));           \
		CHECK_INT(t_, (want));                                         \
	} while (0)

/* ---- synthetic TZif ---------------------------------------------------- */

struct tzif_spec {
	char version; /* 0 or '2', '3' */
	size_t n;
	const int64_t *times;
	const uint8_t *idx;
	size_t ntypes;
	const int32_t *utoff;
	const char *footer; /* NULL: none at all (only valid for version 0) */
	uint32_t leapcnt;
};

static uint8_t tzbuf[8192];
static size_t tzlen;

static void
put(const void *p, size_t n)
{
	if (n == 0)
		return;
	if (tzlen + n > sizeof(tzbuf))
		abort();
	memcpy(tzbuf + tzlen, p, n);
	tzlen += n;
}

static void
put32(uint32_t v)
{
	uint8_t b[4] = {v >> 24, v >> 16, v >> 8, v};

	put(b, 4);
}

static void
put64(int64_t v)
{
	put32((uint32_t)((uint64_t)v >> 32));
	put32((uint32_t)v);
}

static void
put_header(char version, uint32_t leap, uint32_t timecnt, uint32_t typecnt)
{
	uint8_t zero[15] = {0};

	put("TZif", 4);
	put(&version, 1);
	put(zero, 15);
	put32(0);       /* isutcnt */
	put32(0);       /* isstdcnt */
	put32(leap);    /* leapcnt */
	put32(timecnt); /* timecnt */
	put32(typecnt); /* typecnt */
	put32(4);       /* charcnt */
}

static void
put_block(const struct tzif_spec *sp, int timesize)
{
	for (size_t i = 0; i < sp->n; i++) {
		if (timesize == 8)
			put64(sp->times[i]);
		else
			put32((uint32_t)sp->times[i]);
	}
	put(sp->idx, sp->n);
	for (size_t i = 0; i < sp->ntypes; i++) {
		uint8_t rest[2] = {0, 0};

		put32((uint32_t)sp->utoff[i]);
		put(rest, 2);
	}
	put("XXX", 4);
	for (uint32_t i = 0; i < sp->leapcnt; i++) {
		if (timesize == 8)
			put64(78796800 + i);
		else
			put32(78796800 + i);
		put32(i + 1);
	}
}

static size_t
build(const struct tzif_spec *sp)
{
	tzlen = 0;
	if (sp->version == 0) {
		put_header(0, sp->leapcnt, (uint32_t)sp->n,
		           (uint32_t)sp->ntypes);
		put_block(sp, 4);
		return tzlen;
	}
	/* A slim-style 32-bit block, as zic -b slim writes it. */
	{
		const int32_t zero = 0;
		struct tzif_spec v1 = {.ntypes = 1, .utoff = &zero};

		put_header(sp->version, 0, 0, 1);
		put_block(&v1, 4);
	}
	put_header(sp->version, sp->leapcnt, (uint32_t)sp->n,
	           (uint32_t)sp->ntypes);
	put_block(sp, 8);
	if (sp->footer) {
		put("\n", 1);
		put(sp->footer, strlen(sp->footer));
		put("\n", 1);
	}
	return tzlen;
}

/* A zone with no transitions, all from the footer. */
static struct tz *
posix_zone(const char *footer, int32_t type0)
{
	struct tzif_spec sp = {
	    .version = '2', .ntypes = 1, .utoff = &type0, .footer = footer};
	struct tz *z = NULL;
	char err[256] = "";
	size_t len = build(&sp);
	int rc = tz_parse(&z, footer, tzbuf, len, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "footer \"%s\": %s\n", footer, err);
	CHECK_INT(rc, 0);
	return z;
}

static int
parse_rc(const struct tzif_spec *sp, char *err, size_t errlen)
{
	struct tz *z = (struct tz *)1;
	size_t len = build(sp);
	int rc = tz_parse(&z, "bad", tzbuf, len, err, errlen);

	if (rc == 0)
		tz_free(z);
	else
		CHECK(z == NULL);
	return rc;
}

/* ---- invariants -------------------------------------------------------- */

/* Walk the spans from `from` to `to` and check that they stitch: each one
 * starts where the last ended, offsets agree on both sides, every boundary
 * changes the offset (equal offsets are merged).  Returns the number of
 * boundaries, or -1 after the first broken one. */
static int
walk(const struct tz *z, int64_t from, int64_t to)
{
	struct tz_span s, n;
	int count = 0;

	tz_span_at(z, from, &s);
	if (!(s.start <= from && (from < s.end || s.end == INT64_MAX)))
		return -1;
	while (s.end != INT64_MAX && s.end <= to) {
		tz_span_at(z, s.end, &n);
		if (n.start != s.end || n.prev_offset != s.offset ||
		    n.offset != s.next_offset || n.offset == n.prev_offset ||
		    n.end <= n.start ||
		    tz_offset_at(z, s.end - 1) != s.offset) {
			fprintf(stderr,
			        "%s: seam at %" PRId64 ": [%" PRId64 ",%" PRId64
			        ") %d->%d->%d then [%" PRId64 ",%" PRId64
			        ") %d->%d->%d\n",
			        tz_name(z), s.end, s.start, s.end,
			        s.prev_offset, s.offset, s.next_offset, n.start,
			        n.end, n.prev_offset, n.offset, n.next_offset);
			return -1;
		}
		s = n;
		count++;
	}
	return count;
}

/* ---- tests ------------------------------------------------------------- */

static void
test_calendar(void)
{
	struct tz_civil c;
	uint64_t x = 88172645463325252ULL;

	CHECK_INT(tz_days_from_civil(1970, 1, 1), 0);
	CHECK_INT(tz_days_from_civil(1969, 12, 31), -1);
	CHECK_INT(tz_days_from_civil(2000, 3, 1), 11017);
	CHECK_INT(tz_days_from_civil(0, 3, 1), -719468);
	CHECK_INT(tz_days_from_civil(-1, 12, 31), -719529);
	CHECK_INT(tz_days_from_civil(2026, 3, 29),
	          utc(2026, 3, 29, 0, 0, 0) / 86400);

	tz_civil_from_seconds(0, &c);
	CHECK_INT(c.year, 1970);
	CHECK_INT(c.wday, 4); /* Thursday */
	tz_civil_from_seconds(-1, &c);
	CHECK_INT(c.year, 1969);
	CHECK_INT(c.month, 12);
	CHECK_INT(c.day, 31);
	CHECK_INT(c.hour, 23);
	CHECK_INT(c.minute, 59);
	CHECK_INT(c.second, 59);
	CHECK_INT(c.wday, 3);
	tz_civil_from_seconds(utc(2026, 3, 29, 1, 2, 3), &c);
	CHECK_INT(c.year, 2026);
	CHECK_INT(c.month, 3);
	CHECK_INT(c.day, 29);
	CHECK_INT(c.hour, 1);
	CHECK_INT(c.minute, 2);
	CHECK_INT(c.second, 3);
	CHECK_INT(c.wday, 0);
	tz_civil_from_seconds(253402300799, &c);
	CHECK_INT(c.year, 9999);
	CHECK_INT(c.month, 12);
	CHECK_INT(c.day, 31);
	CHECK_INT(c.wday, 5);

	/* The ends of int64 (sanitizers watch for overflow on the way). */
	tz_civil_from_seconds(INT64_MAX, &c);
	CHECK_INT(c.year, 292277026596LL);
	CHECK_INT(c.month, 12);
	CHECK_INT(c.day, 4);
	CHECK_INT(c.hour, 15);
	CHECK_INT(c.minute, 30);
	CHECK_INT(c.second, 7);
	CHECK_INT(tz_seconds_from_civil(&c), INT64_MAX);
	tz_civil_from_seconds(INT64_MIN, &c);
	CHECK_INT(c.year, -292277022657LL);
	CHECK_INT(c.month, 1);
	CHECK_INT(c.day, 27);
	CHECK_INT(c.hour, 8);
	CHECK_INT(c.minute, 29);
	CHECK_INT(c.second, 52);
	CHECK_INT(tz_seconds_from_civil(&c), INT64_MIN);

	/* Round trips over +-27000 years against glibc's gmtime_r. */
	for (int i = 0; i < 20000; i++) {
		int64_t t;
		time_t tt;
		struct tm tm;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		t = (int64_t)(x % 1700000000000ULL) - 850000000000LL;
		tt = (time_t)t;
		tz_civil_from_seconds(t, &c);
		if (gmtime_r(&tt, &tm) == NULL ||
		    c.year != (int64_t)tm.tm_year + 1900 ||
		    c.month != tm.tm_mon + 1 || c.day != tm.tm_mday ||
		    c.hour != tm.tm_hour || c.minute != tm.tm_min ||
		    c.second != tm.tm_sec || c.wday != tm.tm_wday ||
		    tz_seconds_from_civil(&c) != t) {
			fprintf(stderr, "calendar mismatch at %" PRId64 "\n",
			        t);
			CHECK(0);
			break;
		}
	}

	CHECK_INT(tz_days_in_month(2024, 2), 29);
	CHECK_INT(tz_days_in_month(2026, 2), 28);
	CHECK_INT(tz_days_in_month(1900, 2), 28);
	CHECK_INT(tz_days_in_month(2000, 2), 29);
	CHECK_INT(tz_days_in_month(2026, 4), 30);
	CHECK_INT(tz_days_in_month(2026, 12), 31);
	CHECK_INT(tz_days_in_month(2026, 13), 0);
}

static void
test_utc(void)
{
	const struct tz *u = tz_utc();
	struct tz *f;
	char buf[64];

	CHECK(u != NULL);
	CHECK_STR(tz_name(u), "UTC");
	CHECK_SPAN(u, 0, INT64_MIN, INT64_MAX, 0, 0, 0);
	CHECK_SPAN(u, INT64_MAX, INT64_MIN, INT64_MAX, 0, 0, 0);
	CHECK_INT(tz_format_iso(u, 0, buf, sizeof(buf)), 25);
	CHECK_STR(buf, "1970-01-01T00:00:00+00:00");
	CHECK_W2U(u, 12345, 12345, 0);
	tz_free((struct tz *)u); /* ignored */
	CHECK_STR(tz_name(tz_utc()), "UTC");

	/* The files load like any zone. */
	if ((f = load("UTC")) != NULL) {
		CHECK_STR(tz_name(f), "UTC");
		CHECK_SPAN(f, utc(2026, 1, 1, 0, 0, 0), INT64_MIN, INT64_MAX, 0,
		           0, 0);
		tz_free(f);
	}
	if ((f = load("Etc/UTC")) != NULL) {
		CHECK_INT(tz_offset_at(f, INT64_MIN), 0);
		tz_free(f);
	}
	if ((f = load("Etc/GMT-14")) != NULL) {
		CHECK_INT(tz_offset_at(f, 0), 14 * H);
		tz_free(f);
	}
}

static void
test_amsterdam(void)
{
	struct tz *z = load("Europe/Amsterdam");
	int64_t spring = utc(2026, 3, 29, 1, 0, 0);
	int64_t fall = utc(2026, 10, 25, 1, 0, 0);
	struct tz_span s;
	char buf[64];

	if (z == NULL)
		return;
	CHECK_STR(tz_name(z), "Europe/Amsterdam");
	CHECK_SPAN(z, spring - 1, utc(2025, 10, 26, 1, 0, 0), spring, H, 2 * H,
	           2 * H);
	CHECK_SPAN(z, spring, spring, fall, 2 * H, H, H);
	CHECK_SPAN(z, fall, fall, utc(2027, 3, 28, 1, 0, 0), H, 2 * H, 2 * H);
	CHECK_INT(tz_offset_at(z, spring - 1), H);
	CHECK_INT(tz_offset_at(z, spring), 2 * H);

	/* The seam between the last recorded transition (2037-10-25 in
	 * Debian's fat files) and the footer rule. */
	CHECK_SPAN(z, utc(2037, 12, 1, 0, 0, 0), utc(2037, 10, 25, 1, 0, 0),
	           utc(2038, 3, 28, 1, 0, 0), H, 2 * H, 2 * H);
	CHECK_SPAN(z, utc(2038, 6, 1, 0, 0, 0), utc(2038, 3, 28, 1, 0, 0),
	           utc(2038, 10, 31, 1, 0, 0), 2 * H, H, H);

	/* Far future: last Sunday of March / October at 01:00Z. */
	CHECK_SPAN(z, utc(2100, 6, 1, 0, 0, 0), utc(2100, 3, 28, 1, 0, 0),
	           utc(2100, 10, 31, 1, 0, 0), 2 * H, H, H);
	CHECK_SPAN(z, utc(2400, 6, 1, 0, 0, 0), utc(2400, 3, 26, 1, 0, 0),
	           utc(2400, 10, 29, 1, 0, 0), 2 * H, H, H);
	CHECK_SPAN(z, utc(2500, 1, 1, 0, 0, 0), utc(2499, 10, 25, 1, 0, 0),
	           utc(2500, 3, 28, 1, 0, 0), H, 2 * H, 2 * H);
	CHECK_SPAN(z, utc(9999, 12, 31, 23, 59, 59), utc(9999, 10, 31, 1, 0, 0),
	           utc(10000, 3, 26, 1, 0, 0), H, 2 * H, 2 * H);

	/* Local mean time before 1835, then Amsterdam Mean Time. */
	CHECK_INT(tz_format_iso(z, utc(1900, 1, 1, 0, 0, 0), buf, sizeof(buf)),
	          28);
	CHECK_STR(buf, "1900-01-01T00:19:32+00:19:32");
	CHECK_INT(tz_format_iso(z, spring, buf, sizeof(buf)), 25);
	CHECK_STR(buf, "2026-03-29T03:00:00+02:00");
	CHECK_INT(tz_format_iso(z, spring - 1, buf, sizeof(buf)), 25);
	CHECK_STR(buf, "2026-03-29T01:59:59+01:00");
	CHECK_INT(tz_format_iso(z, utc(10000, 1, 1, 0, 0, 0), buf, sizeof(buf)),
	          27);
	CHECK_STR(buf, "+10000-01-01T01:00:00+01:00");
	CHECK_INT(tz_format_iso(z, spring, buf, 25), -ENOSPC);
	CHECK_INT(tz_format_iso(z, spring, buf, 26), 25);

	/* Gap and overlap. */
	CHECK_W2U(z, wallclock(2026, 3, 29, 2, 30, 0), spring, 1);
	CHECK_W2U(z, wallclock(2026, 3, 29, 2, 0, 0), spring, 1);
	CHECK_W2U(z, wallclock(2026, 3, 29, 1, 59, 59), spring - 1, 0);
	CHECK_W2U(z, wallclock(2026, 3, 29, 3, 0, 0), spring, 0);
	CHECK_W2U(z, wallclock(2026, 10, 25, 2, 30, 0),
	          utc(2026, 10, 25, 0, 30, 0), 0);
	CHECK_W2U(z, wallclock(2026, 10, 25, 2, 0, 0), fall - H, 0);
	CHECK_W2U(z, wallclock(2026, 10, 25, 3, 0, 0), fall + H, 0);
	CHECK_W2U(z, wallclock(2026, 10, 25, 1, 59, 59), fall - H - 1, 0);
	CHECK_W2U(z, wallclock(2400, 3, 26, 2, 30, 0),
	          utc(2400, 3, 26, 1, 0, 0), 1);
	CHECK_W2U(z, wallclock(2400, 10, 29, 2, 30, 0),
	          utc(2400, 10, 29, 0, 30, 0), 0);

	/* The ends of time do not break anything. */
	tz_span_at(z, INT64_MAX, &s);
	CHECK(s.start <= INT64_MAX && s.end == INT64_MAX);
	CHECK(s.offset == H || s.offset == 2 * H);
	/* LMT and AMT are both +00:19:32: the 1835 switch is merged away and
	 * the first boundary is the summer time of 1916. */
	CHECK_SPAN(z, INT64_MIN, INT64_MIN, utc(1916, 4, 30, 23, 40, 28), 1172,
	           1172, 4772);
	{
		int64_t t;

		CHECK(tz_wall_to_utc(z, INT64_MAX, &t) >= 0);
		CHECK(tz_wall_to_utc(z, INT64_MIN, &t) >= 0);
		CHECK(tz_format_iso(z, INT64_MAX, buf, sizeof(buf)) > 0);
		CHECK(tz_format_iso(z, INT64_MIN, buf, sizeof(buf)) > 0);
	}
	/* Seams from the Big Bang to the end of the rule's reign. */
	CHECK(walk(z, INT64_MIN, utc(2200, 1, 1, 0, 0, 0)) > 300);
	/* The rule freezes at year 10^9 (hi): it still stitches. */
	CHECK(walk(z, 31556889832780800LL - 86400 * 800LL, INT64_MAX) >= 4);
	tz_span_at(z, 31556889832780800LL, &s);
	CHECK(s.end == INT64_MAX && s.start < 31556889832780800LL);
	tz_free(z);
}

static void
test_new_york(void)
{
	struct tz *z = load("America/New_York");
	int64_t spring = utc(2026, 3, 8, 7, 0, 0),
	        fall = utc(2026, 11, 1, 6, 0, 0);

	if (z == NULL)
		return;
	CHECK_SPAN(z, spring - 1, utc(2025, 11, 2, 6, 0, 0), spring, -5 * H,
	           -4 * H, -4 * H);
	CHECK_SPAN(z, spring, spring, fall, -4 * H, -5 * H, -5 * H);
	CHECK_SPAN(z, utc(2150, 7, 4, 0, 0, 0), utc(2150, 3, 8, 7, 0, 0),
	           utc(2150, 11, 1, 6, 0, 0), -4 * H, -5 * H, -5 * H);
	CHECK_W2U(z, wallclock(2026, 3, 8, 2, 30, 0), spring, 1);
	CHECK_W2U(z, wallclock(2026, 11, 1, 1, 30, 0), fall - H / 2, 0);
	tz_free(z);
}

static void
test_southern(void)
{
	struct tz *z = load("Australia/Sydney");
	int64_t end = utc(2026, 4, 4, 16, 0, 0),
	        start = utc(2026, 10, 3, 16, 0, 0);

	if (z != NULL) {
		CHECK_SPAN(z, utc(2026, 1, 1, 0, 0, 0),
		           utc(2025, 10, 4, 16, 0, 0), end, 11 * H, 10 * H,
		           10 * H);
		CHECK_SPAN(z, utc(2026, 7, 1, 0, 0, 0), end, start, 10 * H,
		           11 * H, 11 * H);
		/* Rule-driven, over the turn of a year. */
		CHECK_SPAN(z, utc(2300, 1, 1, 0, 0, 0),
		           utc(2299, 9, 30, 16, 0, 0),
		           utc(2300, 3, 31, 16, 0, 0), 11 * H, 10 * H, 10 * H);
		CHECK_W2U(z, wallclock(2026, 10, 4, 2, 30, 0), start, 1);
		CHECK_W2U(z, wallclock(2026, 4, 5, 2, 30, 0),
		          utc(2026, 4, 4, 15, 30, 0), 0);
		tz_free(z);
	}

	/* Lord Howe Island moves its clock by 30 minutes: +10:30 / +11. */
	z = load("Australia/Lord_Howe");
	end = utc(2026, 4, 4, 15, 0, 0);
	start = utc(2026, 10, 3, 15, 30, 0);
	if (z != NULL) {
		int64_t seam = INT32_MAX; /* fat files' no-op transition */

		CHECK_SPAN(z, utc(2026, 7, 1, 0, 0, 0), end, start, 37800,
		           39600, 39600);
		CHECK_SPAN(z, start, start, utc(2027, 4, 3, 15, 0, 0), 39600,
		           37800, 37800);
		CHECK_SPAN(z, seam - 1, utc(2037, 10, 3, 15, 30, 0),
		           utc(2038, 4, 3, 15, 0, 0), 39600, 37800, 37800);
		CHECK_SPAN(z, seam, utc(2037, 10, 3, 15, 30, 0),
		           utc(2038, 4, 3, 15, 0, 0), 39600, 37800, 37800);
		CHECK_SPAN(z, seam + 1, utc(2037, 10, 3, 15, 30, 0),
		           utc(2038, 4, 3, 15, 0, 0), 39600, 37800, 37800);
		CHECK_W2U(z, wallclock(2026, 10, 4, 2, 15, 0), start, 1);
		CHECK_W2U(z, wallclock(2026, 10, 4, 2, 30, 0), start, 0);
		CHECK_W2U(z, wallclock(2026, 4, 5, 1, 45, 0),
		          utc(2026, 4, 4, 14, 45, 0), 0);
		tz_free(z);
	}
}

static void
test_fixed(void)
{
	struct tz *z = load("America/Sao_Paulo");
	int64_t gap = utc(2018, 11, 4, 3, 0, 0);
	int64_t last = utc(2019, 2, 17, 2, 0, 0);

	if (z != NULL) {
		CHECK_SPAN(z, gap - 1, utc(2018, 2, 18, 2, 0, 0), gap, -3 * H,
		           -2 * H, -2 * H);
		CHECK_SPAN(z, gap, gap, last, -2 * H, -3 * H, -3 * H);
		/* Brazil dropped DST in 2019: one span to the end of time,
		 * across the fat file's no-op transition in 2038. */
		CHECK_SPAN(z, utc(2026, 11, 4, 0, 0, 0), last, INT64_MAX,
		           -3 * H, -2 * H, -3 * H);
		CHECK_SPAN(z, utc(2500, 1, 1, 0, 0, 0), last, INT64_MAX, -3 * H,
		           -2 * H, -3 * H);
		CHECK_W2U(z, wallclock(2018, 11, 4, 0, 0, 0), gap, 1);
		CHECK_W2U(z, wallclock(2018, 11, 4, 0, 59, 59), gap, 1);
		CHECK_W2U(z, wallclock(2018, 11, 4, 1, 0, 0), gap, 0);
		CHECK_W2U(z, wallclock(2018, 11, 3, 23, 59, 59), gap - 1, 0);
		tz_free(z);
	}

	z = load("Asia/Kolkata");
	if (z != NULL) {
		CHECK_SPAN(z, utc(2026, 6, 1, 0, 0, 0),
		           utc(1945, 10, 14, 17, 30, 0), INT64_MAX, 19800,
		           23400, 19800);
		CHECK_INT(tz_offset_at(z, utc(2400, 1, 1, 0, 0, 0)), 19800);
		CHECK_W2U(z, wallclock(2026, 1, 1, 5, 30, 0),
		          utc(2026, 1, 1, 0, 0, 0), 0);
		tz_free(z);
	}
}

static void
test_names(void)
{
	static const char *const bad[] = {
	    "",
	    "/etc/localtime",
	    "../../etc/passwd",
	    "Europe/../UTC",
	    "..",
	    "Europe/Am sterdam",
	    "Europe\\Amsterdam",
	    "UTC\n",
	    "Europe/Amsterdam;rm",
	    "%s%s%s",
	};
	struct tz *z = (struct tz *)1;
	char err[256], longname[400];
	int rc;

	rc = tz_load(&z, "Europe/Amsterdan", err, sizeof(err));
	CHECK_INT(rc, -ENOENT);
	CHECK(z == NULL);
	CHECK_STR(err, "unknown time zone \"Europe/Amsterdan\"");
	rc = tz_load(&z, "Europe", err, sizeof(err)); /* a directory */
	CHECK_INT(rc, -ENOENT);
	CHECK_STR(err, "unknown time zone \"Europe\"");
	rc = tz_load(&z, "UTC/x", err, sizeof(err));
	CHECK_INT(rc, -ENOENT);
	rc = tz_load(&z, NULL, err, sizeof(err));
	CHECK_INT(rc, -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		z = (struct tz *)1;
		rc = tz_load(&z, bad[i], err, sizeof(err));
		CHECK_INT(rc, -EINVAL);
		CHECK(z == NULL);
		CHECK(strstr(err, "time zone name") != NULL);
	}
	memset(longname, 'A', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_INT(tz_load(&z, longname, err, sizeof(err)), -EINVAL);
	/* err may be NULL or tiny. */
	CHECK_INT(tz_load(&z, "../x", NULL, 0), -EINVAL);
	CHECK_INT(tz_load(&z, "Nowhere/Zone", err, 1), -ENOENT);
	CHECK_STR(err, "");
	/* Names tzdata really uses. */
	if ((z = load("America/Argentina/Buenos_Aires")) != NULL)
		tz_free(z);
	if ((z = load("Etc/GMT+5")) != NULL) {
		CHECK_INT(tz_offset_at(z, 0), -5 * H);
		tz_free(z);
	}
	/* Not a TZif file, although it is in the zoneinfo directory. */
	if (access("/usr/share/zoneinfo/zone.tab", R_OK) == 0) {
		CHECK_INT(tz_load(&z, "zone.tab", err, sizeof(err)), -EINVAL);
		CHECK(strstr(err, "zone.tab: not TZif data") != NULL);
	}
}

static void
test_tzdir(void)
{
	char dir[] = "/tmp/test_tz.XXXXXX", path[512], err[256];
	int32_t offs[1] = {5 * H + 45 * 60};
	struct tzif_spec sp = {.version = '2',
	                       .ntypes = 1,
	                       .utoff = offs,
	                       .footer = "<+0545>-5:45"};
	struct tz *z = NULL;
	size_t len = build(&sp);
	FILE *f;

	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		return;
	}
	snprintf(path, sizeof(path), "%s/Test", dir);
	CHECK_INT(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/Test/Zone", dir);
	f = fopen(path, "wb");
	CHECK(f != NULL && fwrite(tzbuf, 1, len, f) == len);
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s/Test/Big", dir);
	f = fopen(path, "wb");
	CHECK(f != NULL && fwrite(tzbuf, 1, len, f) == len);
	if (f) {
		static char junk[300 * 1024];

		fwrite(junk, 1, sizeof(junk), f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/Test/Junk", dir);
	f = fopen(path, "wb");
	CHECK(f != NULL && fwrite("TZif2", 1, 5, f) == 5);
	if (f)
		fclose(f);

	setenv("TZDIR", dir, 1);
	CHECK_INT(tz_load(&z, "Test/Zone", err, sizeof(err)), 0);
	if (z) {
		CHECK_STR(tz_name(z), "Test/Zone");
		CHECK_INT(tz_offset_at(z, 0), offs[0]);
		tz_free(z);
	}
	CHECK_INT(tz_load(&z, "Europe/Amsterdam", err, sizeof(err)), -ENOENT);
	CHECK_INT(tz_load(&z, "Test/Big", err, sizeof(err)), -EFBIG);
	CHECK_INT(tz_load(&z, "Test/Junk", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "/Test/Junk: truncated TZif data") != NULL);
	unsetenv("TZDIR");

	snprintf(path, sizeof(path), "%s/Test/Zone", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/Test/Big", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/Test/Junk", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/Test", dir);
	rmdir(path);
	rmdir(dir);
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(1 << 20);

	*len = 0;
	if (f == NULL || buf == NULL) {
		if (f)
			fclose(f);
		free(buf);
		return NULL;
	}
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static void
test_malformed(void)
{
	const int64_t times[3] = {0, 1000, 1000};
	const uint8_t idx[3] = {1, 0, 1}, bad_idx[2] = {1, 2};
	const int32_t offs[2] = {0, H}, huge[2] = {0, 26 * H};
	struct tzif_spec sp = {.version = '2',
	                       .n = 2,
	                       .times = times,
	                       .idx = idx,
	                       .ntypes = 2,
	                       .utoff = offs,
	                       .footer = ""};
	struct tz *z = (struct tz *)1;
	char err[256];
	size_t len;
	uint8_t *amsterdam;
	int rejected = 0, prefixes = 0;

	CHECK_INT(parse_rc(&sp, err, sizeof(err)), 0);
	CHECK_INT(tz_parse(&z, "x", tzbuf, 0, err, sizeof(err)), -EINVAL);
	CHECK(z == NULL);
	CHECK_INT(tz_parse(&z, "x", "TZif2", 5, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "truncated TZif data");
	len = build(&sp);
	tzbuf[2] = 'x';
	CHECK_INT(tz_parse(&z, "x", tzbuf, len, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "not TZif data (bad magic)");

	/* Counts that run past the end, in either header. */
	len = build(&sp);
	memset(tzbuf + 32, 0xff, 4); /* v1 timecnt */
	CHECK_INT(tz_parse(&z, "x", tzbuf, len, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "truncated TZif data");
	len = build(&sp);
	memset(tzbuf + 44 + 10 + 36, 0x7f, 4); /* v2 typecnt */
	CHECK_INT(tz_parse(&z, "x", tzbuf, len, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "truncated TZif data");
	len = build(&sp);
	tzbuf[44 + 10 + 3] = 'X'; /* second magic */
	CHECK_INT(tz_parse(&z, "x", tzbuf, len, err, sizeof(err)), -EINVAL);

	sp.idx = bad_idx;
	CHECK_INT(parse_rc(&sp, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "TZif transition 1 has time type 2 of 2");
	sp.idx = idx;
	sp.n = 3; /* 1000 twice */
	CHECK_INT(parse_rc(&sp, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "TZif transitions are not in ascending order");
	sp.n = 2;
	sp.utoff = huge;
	CHECK_INT(parse_rc(&sp, err, sizeof(err)), -EINVAL);
	sp.utoff = offs;
	sp.ntypes = 0;
	sp.n = 0;
	CHECK_INT(parse_rc(&sp, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "TZif data without time types");
	sp.ntypes = 2;
	sp.n = 2;
	sp.leapcnt = 1;
	CHECK_INT(parse_rc(&sp, err, sizeof(err)), -EINVAL);
	sp.leapcnt = 0;
	sp.footer = NULL; /* v2 without a footer */
	CHECK_INT(parse_rc(&sp, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "TZif footer missing or truncated");
	sp.footer = "CET-1\tCEST";
	CHECK_INT(parse_rc(&sp, err, sizeof(err)), -EINVAL);
	sp.footer = "CET-1";
	len = build(&sp);
	CHECK_INT(tz_parse(&z, "x", tzbuf, len - 1, err, sizeof(err)), -EINVAL);
	CHECK_INT(tz_parse(&z, "x", tzbuf, len, err, sizeof(err)), 0);
	tz_free(z);

	/* Every proper prefix of a real file is refused. */
	amsterdam = slurp("/usr/share/zoneinfo/Europe/Amsterdam", &len);
	CHECK(amsterdam != NULL && len > 1000);
	if (amsterdam) {
		for (size_t n = 0; n < len; n++) {
			z = NULL;
			prefixes++;
			if (tz_parse(&z, "cut", amsterdam, n, err,
			             sizeof(err)) != 0)
				rejected++;
			tz_free(z);
		}
		CHECK_INT(rejected, prefixes);
		CHECK_INT(
		    tz_parse(&z, "whole", amsterdam, len, err, sizeof(err)), 0);
		tz_free(z);
		/* Trailing bytes after the footer are tolerated. */
		amsterdam[len] = 'x';
		CHECK_INT(
		    tz_parse(&z, "whole", amsterdam, len + 1, err, sizeof(err)),
		    0);
		tz_free(z);
		free(amsterdam);
	}
}

static void
test_posix(void)
{
	static const char *const bad[] = {
	    "EST",
	    "ES5",
	    "<AB>5",
	    "<ABC5",
	    "EST25",
	    "EST5:60",
	    "EST5EDT,M3.2.0",
	    "EST5EDT,M3.2.0,M11.1.0x",
	    "EST5EDT,M13.1.0,M11.1.0",
	    "EST5EDT,M3.6.0,M11.1.0",
	    "EST5EDT,M3.2.7,M11.1.0",
	    "EST5EDT,M3.0.0,M11.1.0",
	    "EST5EDT,M3.2.0/168,M11.1.0",
	    "EST5EDT,M3.2.0/-168,M11.1.0",
	    "EST5EDT,J0,J365",
	    "EST5EDT,366,1",
	    "EST5EDT25,M3.2.0,M11.1.0",
	    "EST5EDT;M3.2.0,M11.1.0",
	    "5EST",
	    "EST+",
	};
	struct tz *z;
	char err[256];
	int64_t wall;

	/* America/Nuuk since 2023: transitions at -1:00 and 0:00 local. */
	if ((z = posix_zone("<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 0)) != NULL) {
		CHECK_SPAN(z, utc(2026, 7, 1, 0, 0, 0),
		           utc(2026, 3, 29, 1, 0, 0),
		           utc(2026, 10, 25, 1, 0, 0), -H, -2 * H, -2 * H);
		CHECK_W2U(z, wallclock(2026, 3, 28, 23, 30, 0),
		          utc(2026, 3, 29, 1, 0, 0), 1);
		CHECK_INT(
		    walk(z, utc(1800, 1, 1, 0, 0, 0), utc(2200, 1, 1, 0, 0, 0)),
		    800);
		tz_free(z);
	}
	if ((z = posix_zone("EST5EDT,M3.2.0,M11.1.0", 0)) != NULL) {
		CHECK_SPAN(z, utc(2026, 7, 1, 0, 0, 0),
		           utc(2026, 3, 8, 7, 0, 0), utc(2026, 11, 1, 6, 0, 0),
		           -4 * H, -5 * H, -5 * H);
		/* No transitions at all: the footer rules every instant. */
		CHECK_INT(tz_offset_at(z, utc(1900, 7, 1, 0, 0, 0)), -4 * H);
		tz_free(z);
	}
	/* A DST name without a rule gets the US rule, as in tzcode. */
	if ((z = posix_zone("EST5EDT", 0)) != NULL) {
		CHECK_SPAN(z, utc(2026, 7, 1, 0, 0, 0),
		           utc(2026, 3, 8, 7, 0, 0), utc(2026, 11, 1, 6, 0, 0),
		           -4 * H, -5 * H, -5 * H);
		tz_free(z);
	}
	if ((z = posix_zone("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 0)) !=
	    NULL) {
		CHECK_SPAN(z, utc(2026, 7, 1, 0, 0, 0),
		           utc(2026, 4, 4, 15, 0, 0),
		           utc(2026, 10, 3, 15, 30, 0), 37800, 39600, 39600);
		tz_free(z);
	}
	/* Europe/Dublin: "standard" IST in summer, negative DST in winter. */
	if ((z = posix_zone("IST-1GMT0,M10.5.0,M3.5.0/1", 0)) != NULL) {
		CHECK_SPAN(z, utc(2026, 7, 1, 0, 0, 0),
		           utc(2026, 3, 29, 1, 0, 0),
		           utc(2026, 10, 25, 1, 0, 0), H, 0, 0);
		CHECK_SPAN(z, utc(2027, 1, 1, 0, 0, 0),
		           utc(2026, 10, 25, 1, 0, 0),
		           utc(2027, 3, 28, 1, 0, 0), 0, H, H);
		tz_free(z);
	}
	/* Jn skips Feb 29, n counts it. */
	if ((z = posix_zone("XXX3YYY,J60/2,300/2", 0)) != NULL) {
		CHECK_SPAN(z, utc(2026, 7, 1, 0, 0, 0),
		           utc(2026, 3, 1, 5, 0, 0), utc(2026, 10, 28, 4, 0, 0),
		           -2 * H, -3 * H, -3 * H);
		CHECK_SPAN(z, utc(2028, 7, 1, 0, 0, 0),
		           utc(2028, 3, 1, 5, 0, 0), utc(2028, 10, 27, 4, 0, 0),
		           -2 * H, -3 * H, -3 * H);
		tz_free(z);
	}
	/* The full range of rule times, +-167 hours. */
	if ((z = posix_zone("AAA3BBB,M3.2.0/167,M11.1.0/-167", 0)) != NULL) {
		CHECK_SPAN(z, utc(2026, 7, 1, 0, 0, 0),
		           utc(2026, 3, 8, 0, 0, 0) + 167 * H + 3 * H,
		           utc(2026, 11, 1, 0, 0, 0) - 167 * H + 2 * H, -2 * H,
		           -3 * H, -3 * H);
		tz_free(z);
	}
	if ((z = posix_zone("AAA3:30:15BBB-2:00:01,M3.2.0/2:30:45,M11.1.0",
	                    0)) != NULL) {
		CHECK_INT(tz_offset_at(z, utc(2026, 1, 1, 0, 0, 0)),
		          -(3 * H + 30 * 60 + 15));
		CHECK_SPAN(z, utc(2026, 7, 1, 0, 0, 0),
		           utc(2026, 3, 8, 2, 30, 45) + 3 * H + 30 * 60 + 15,
		           utc(2026, 11, 1, 2, 0, 0) - 2 * H - 1, 2 * H + 1,
		           -(3 * H + 30 * 60 + 15), -(3 * H + 30 * 60 + 15));
		tz_free(z);
	}
	/* All-year DST: DST's end reaches the next year's start.  No bogus
	 * transitions at New Year. */
	if ((z = posix_zone("EST5EDT,0/0,J365/25", 0)) != NULL) {
		CHECK_SPAN(z, utc(2026, 1, 1, 5, 0, 0), INT64_MIN, INT64_MAX,
		           -4 * H, -4 * H, -4 * H);
		CHECK_INT(walk(z, INT64_MIN, INT64_MAX), 0);
		tz_free(z);
	}
	if ((z = posix_zone("XXX3EDT4,0/0,J365/23", 0)) != NULL) {
		CHECK_SPAN(z, utc(2028, 12, 31, 23, 0, 0), INT64_MIN, INT64_MAX,
		           -4 * H, -4 * H, -4 * H);
		tz_free(z);
	}
	/* Rules around New Year that are not all-year DST still work. */
	if ((z = posix_zone("AAA3BBB,J365/23,J1/1", 0)) != NULL) {
		/* DST from Dec 31 23:00 -03 (Jan 1 02:00Z) to Jan 1 01:00 -02
		 * (03:00Z): one hour a year. */
		CHECK_SPAN(z, utc(2027, 1, 1, 2, 30, 0),
		           utc(2027, 1, 1, 2, 0, 0), utc(2027, 1, 1, 3, 0, 0),
		           -2 * H, -3 * H, -3 * H);
		CHECK_SPAN(z, utc(2027, 6, 1, 0, 0, 0),
		           utc(2027, 1, 1, 3, 0, 0), utc(2028, 1, 1, 2, 0, 0),
		           -3 * H, -2 * H, -2 * H);
		CHECK_INT(
		    walk(z, utc(2000, 1, 1, 0, 0, 0), utc(2100, 1, 1, 0, 0, 0)),
		    200);
		tz_free(z);
	}
	/* DST only in leap years (day 365 is Dec 31 only then); in other
	 * years the latest transition holds, as in tzcode, so standard time
	 * runs from Dec 31 2096 to Jan 1 2104 over the non-leap 2100. */
	if ((z = posix_zone("AAA3BBB,0/0,365/1", 0)) != NULL) {
		CHECK_SPAN(z, utc(2100, 6, 1, 0, 0, 0),
		           utc(2096, 12, 31, 3, 0, 0), utc(2104, 1, 1, 3, 0, 0),
		           -3 * H, -2 * H, -2 * H);
		CHECK_SPAN(z, utc(2024, 6, 1, 0, 0, 0),
		           utc(2024, 1, 1, 3, 0, 0), utc(2024, 12, 31, 3, 0, 0),
		           -2 * H, -3 * H, -3 * H);
		CHECK_INT(
		    walk(z, utc(1900, 1, 1, 0, 0, 0), utc(2300, 1, 1, 0, 0, 0)),
		    2 * 97);
		tz_free(z);
	}
	/* Fixed offsets, and DST equal to standard time. */
	if ((z = posix_zone("<+0530>-5:30", 0)) != NULL) {
		CHECK_SPAN(z, 0, INT64_MIN, INT64_MAX, 19800, 19800, 19800);
		tz_free(z);
	}
	if ((z = posix_zone("AAA5BBB5,M3.2.0,M11.1.0", 0)) != NULL) {
		CHECK_SPAN(z, utc(2026, 7, 1, 0, 0, 0), INT64_MIN, INT64_MAX,
		           -5 * H, -5 * H, -5 * H);
		tz_free(z);
	}
	if ((z = posix_zone("<-00>0", 0)) != NULL) {
		CHECK_INT(tz_offset_at(z, 0), 0);
		tz_free(z);
	}

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int32_t zero = 0;
		struct tzif_spec sp = {.version = '2',
		                       .ntypes = 1,
		                       .utoff = &zero,
		                       .footer = bad[i]};

		err[0] = '\0';
		if (parse_rc(&sp, err, sizeof(err)) != -EINVAL) {
			fprintf(stderr, "accepted bad footer \"%s\"\n", bad[i]);
			CHECK(0);
		}
		CHECK(strstr(err, "bad TZ string") != NULL);
	}

	/* Far beyond any real use the rule still answers. */
	if ((z = posix_zone("CET-1CEST,M3.5.0,M10.5.0/3", 0)) != NULL) {
		CHECK_INT(tz_offset_at(z, utc(2026, 7, 1, 0, 0, 0)), 2 * H);
		wall = 31556889832780799LL; /* year 1e9, give or take */
		CHECK(walk(z, wall - 86400LL * 365 * 4,
		           wall + 86400LL * 365 * 4) >= 0);
		CHECK(walk(z, -wall - 86400LL * 365 * 4,
		           -wall + 86400LL * 365 * 4) >= 0);
		CHECK(walk(z, INT64_MIN, INT64_MIN + 86400LL * 365 * 4) >= 0);
		tz_free(z);
	}
}

static void
test_seams(void)
{
	/* Explicit transitions up to 2010, then the footer rule. */
	const int64_t t[3] = {utc(2010, 3, 14, 7, 0, 0),
	                      utc(2010, 7, 1, 0, 0, 0),
	                      utc(2010, 11, 7, 6, 0, 0)};
	const uint8_t idx[3] = {1, 2, 0};
	const int32_t offs[3] = {-5 * H, -4 * H, -4 * H};
	struct tzif_spec sp = {.version = '2',
	                       .n = 3,
	                       .times = t,
	                       .idx = idx,
	                       .ntypes = 3,
	                       .utoff = offs,
	                       .footer = "EST5EDT,M3.2.0,M11.1.0"};
	struct tz *z = NULL;
	char err[256];
	size_t len = build(&sp);

	CHECK_INT(tz_parse(&z, "seam", tzbuf, len, err, sizeof(err)), 0);
	if (z) {
		/* The 2010-07-01 transition only changes isdst: merged. */
		CHECK_SPAN(z, utc(2010, 8, 1, 0, 0, 0), t[0], t[2], -4 * H,
		           -5 * H, -5 * H);
		/* After the last transition, the rule. */
		CHECK_SPAN(z, utc(2010, 12, 1, 0, 0, 0), t[2],
		           utc(2011, 3, 13, 7, 0, 0), -5 * H, -4 * H, -4 * H);
		CHECK_INT(walk(z, INT64_MIN, utc(2100, 1, 1, 0, 0, 0)), 180);
		tz_free(z);
	}
	/* Stop in the middle of summer with a no-op transition (as fat
	 * files do in 2038): the summer span reaches into the rule. */
	sp.n = 2;
	len = build(&sp);
	CHECK_INT(tz_parse(&z, "seam", tzbuf, len, err, sizeof(err)), 0);
	if (z) {
		CHECK_SPAN(z, utc(2010, 6, 1, 0, 0, 0), t[0], t[2], -4 * H,
		           -5 * H, -5 * H);
		CHECK_SPAN(z, t[1], t[0], t[2], -4 * H, -5 * H, -5 * H);
		CHECK_SPAN(z, utc(2010, 8, 1, 0, 0, 0), t[0], t[2], -4 * H,
		           -5 * H, -5 * H);
		CHECK_SPAN(z, utc(2010, 12, 1, 0, 0, 0), t[2],
		           utc(2011, 3, 13, 7, 0, 0), -5 * H, -4 * H, -4 * H);
		CHECK_INT(walk(z, INT64_MIN, utc(2100, 1, 1, 0, 0, 0)), 180);
		tz_free(z);
	}
	/* A v1-only file: 32-bit data, no footer; the last offset stays. */
	sp.version = 0;
	sp.n = 3;
	len = build(&sp);
	CHECK_INT(tz_parse(&z, "v1", tzbuf, len, err, sizeof(err)), 0);
	if (z) {
		CHECK_SPAN(z, utc(2010, 8, 1, 0, 0, 0), t[0], t[2], -4 * H,
		           -5 * H, -5 * H);
		CHECK_SPAN(z, utc(2026, 8, 1, 0, 0, 0), t[2], INT64_MAX, -5 * H,
		           -4 * H, -5 * H);
		tz_free(z);
	}
	/* Data that claims DST since New Year, then a no-op transition right
	 * where the rule starts DST: the spans must still stitch. */
	{
		const int64_t t2[2] = {utc(2010, 1, 1, 0, 0, 0),
		                       utc(2010, 3, 14, 7, 0, 0)};
		const uint8_t idx2[2] = {1, 2};
		struct tzif_spec odd = sp;

		odd.version = '2';
		odd.times = t2;
		odd.idx = idx2;
		odd.n = 2;
		len = build(&odd);
		CHECK_INT(tz_parse(&z, "odd", tzbuf, len, err, sizeof(err)), 0);
		if (z) {
			CHECK_SPAN(z, utc(2010, 5, 1, 0, 0, 0), t2[0], t[2],
			           -4 * H, -5 * H, -5 * H);
			CHECK_SPAN(z, t2[1] - 1, t2[0], t[2], -4 * H, -5 * H,
			           -5 * H);
			CHECK_INT(walk(z, INT64_MIN, utc(2100, 1, 1, 0, 0, 0)),
			          180);
			tz_free(z);
		}
	}
	/* A footer that disagrees with the last transition wins from it on
	 * (RFC 8536 3.3: the footer rules after the last transition). */
	sp.version = '2';
	sp.footer = "AAA-2";
	len = build(&sp);
	CHECK_INT(tz_parse(&z, "disagree", tzbuf, len, err, sizeof(err)), 0);
	if (z) {
		CHECK_SPAN(z, utc(2026, 8, 1, 0, 0, 0), t[2], INT64_MAX, 2 * H,
		           -4 * H, 2 * H);
		CHECK_INT(walk(z, INT64_MIN, INT64_MAX), 2);
		tz_free(z);
	}
}

static void
test_iso(void)
{
	static const char *const bad[] = {
	    "",
	    "2026",
	    "2026-03-29",
	    "2026-03-29T",
	    "2026-03-29T03",
	    "2026-03-29T03:00:",
	    "2026-03-29T03:00:00.5Z",
	    "2026-3-29T03:00Z",
	    "2026-03-29T3:00Z",
	    "2026-03-29X03:00Z",
	    "2026-03-29T03:00Zjunk",
	    "2026-03-29T03:00 ",
	    " 2026-03-29T03:00",
	    "2026-03-29T03:00+2",
	    "2026-03-29T03:00+02:",
	    "2026-03-29T03:00+02:0",
	    "2026-03-29T03:00+0200x",
	    "2026-03-29T03:00+24:00",
	    "2026-03-29T03:00+02:60",
	    "2026-00-10T00:00Z",
	    "2026-13-10T00:00Z",
	    "2026-02-29T00:00Z",
	    "2026-04-31T00:00Z",
	    "2026-01-00T00:00Z",
	    "2026-01-01T24:00Z",
	    "2026-01-01T23:60Z",
	    "2026-01-01T23:59:60Z",
	    "+2026-01-01T00:00Z",
	    "2026-01-01T00:00:00:00Z",
	};
	struct tz *z = load("Europe/Amsterdam");
	const struct tz *u = tz_utc();
	int64_t t = 0;

	CHECK_INT(tz_parse_iso(u, "2026-03-29T01:00:00Z", &t), 0);
	CHECK_INT(t, utc(2026, 3, 29, 1, 0, 0));
	CHECK_INT(tz_parse_iso(u, "2026-03-29t01:00z", &t), 0);
	CHECK_INT(t, utc(2026, 3, 29, 1, 0, 0));
	CHECK_INT(tz_parse_iso(u, "2026-03-29T03:00:00+02:00", &t), 0);
	CHECK_INT(t, utc(2026, 3, 29, 1, 0, 0));
	CHECK_INT(tz_parse_iso(u, "2026-03-29 03:00+0200", &t), 0);
	CHECK_INT(t, utc(2026, 3, 29, 1, 0, 0));
	CHECK_INT(tz_parse_iso(u, "2026-03-28T20:00:00-05:00", &t), 0);
	CHECK_INT(t, utc(2026, 3, 29, 1, 0, 0));
	CHECK_INT(tz_parse_iso(u, "2024-02-29T12:34:56+05:30", &t), 0);
	CHECK_INT(t, utc(2024, 2, 29, 7, 4, 56));
	CHECK_INT(tz_parse_iso(u, "0000-01-01T00:00Z", &t), 0);
	CHECK_INT(t, -62167219200LL);
	CHECK_INT(tz_parse_iso(u, "9999-12-31T23:59:59Z", &t), 0);
	CHECK_INT(t, 253402300799LL);
	CHECK_INT(tz_parse_iso(u, "2026-06-01T12:00", &t), 0);
	CHECK_INT(t, utc(2026, 6, 1, 12, 0, 0));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = 42;
		if (tz_parse_iso(u, bad[i], &t) != -EINVAL) {
			fprintf(stderr, "accepted bad time \"%s\"\n", bad[i]);
			CHECK(0);
		}
		CHECK_INT(t, 42);
	}
	CHECK_INT(tz_parse_iso(u, NULL, &t), -EINVAL);
	if (z == NULL)
		return;
	/* Without an offset: wall time in the zone. */
	CHECK_INT(tz_parse_iso(z, "2026-03-29T03:00", &t), 0);
	CHECK_INT(t, utc(2026, 3, 29, 1, 0, 0));
	CHECK_INT(tz_parse_iso(z, "2026-03-29 02:30:00", &t), 0); /* gap */
	CHECK_INT(t, utc(2026, 3, 29, 1, 0, 0));
	CHECK_INT(tz_parse_iso(z, "2026-10-25T02:30", &t), 0); /* twice */
	CHECK_INT(t, utc(2026, 10, 25, 0, 30, 0));
	CHECK_INT(tz_parse_iso(z, "2026-07-01T12:00Z", &t), 0);
	CHECK_INT(t, utc(2026, 7, 1, 12, 0, 0));

	/* format -> parse round trip, both ways around a transition. */
	for (int64_t x = utc(2026, 10, 25, 0, 0, 0) - 5;
	     x < utc(2026, 10, 25, 2, 0, 0); x += 599) {
		char buf[64];
		int64_t back = 0;

		CHECK(tz_format_iso(z, x, buf, sizeof(buf)) == 25);
		CHECK_INT(tz_parse_iso(u, buf, &back), 0);
		CHECK_INT(back, x);
	}
	tz_free(z);
}

/* glibc's idea of the offset, with TZ set for the zone. */
static long
glibc_offset(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return -999999;
	return tm.tm_gmtoff;
}

static void
glibc_zone(const char *name)
{
	char tzvar[300];

	snprintf(tzvar, sizeof(tzvar), ":%s", name);
	setenv("TZ", tzvar, 1);
	tzset();
}

/* Compare one zone with glibc over [from, to): at every boundary we
 * report (both sides), and at sample instants in between. */
static int
cross_check(const char *name, int64_t from, int64_t to, int64_t step)
{
	struct tz *z = NULL;
	char err[256];
	struct tz_span s;
	int bad = 0;
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	if (tz_load(&z, name, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", name, err);
		return 1;
	}
	glibc_zone(name);
	for (int64_t t = from; t < to; t += step) {
		int64_t u;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		u = t + (int64_t)(x % (uint64_t)step);
		if (tz_offset_at(z, u) != glibc_offset(u) && bad++ < 3)
			fprintf(stderr, "%s: at %" PRId64 " tz %d, glibc %ld\n",
			        name, u, tz_offset_at(z, u), glibc_offset(u));
	}
	tz_span_at(z, from, &s);
	while (s.end < to) {
		if ((glibc_offset(s.end - 1) != s.offset ||
		     glibc_offset(s.end) != s.next_offset) &&
		    bad++ < 3)
			fprintf(stderr,
			        "%s: boundary %" PRId64 ": tz %d->%d, glibc "
			        "%ld->%ld\n",
			        name, s.end, s.offset, s.next_offset,
			        glibc_offset(s.end - 1), glibc_offset(s.end));
		tz_span_at(z, s.end, &s);
	}
	if (walk(z, from, to) < 0)
		bad++;
	tz_free(z);
	return bad;
}

static void
test_glibc(void)
{
	static const char *const zones[] = {
	    "Europe/Amsterdam",    "America/New_York",  "Australia/Sydney",
	    "Australia/Lord_Howe", "America/Sao_Paulo", "Asia/Kolkata",
	    "America/Nuuk",        "Europe/Dublin",     "America/Santiago",
	    "Pacific/Chatham",     "Asia/Tehran",       "Africa/Casablanca",
	    "America/Asuncion",    "Pacific/Auckland",  "Antarctica/Troll",
	    "America/St_Johns",    "Europe/London",     "Asia/Gaza",
	    "America/Havana",      "Africa/Cairo",      "America/Scoresbysund",
	    "Asia/Jerusalem",
	};
	const int64_t y1970 = 0, y2038 = utc(2038, 1, 1, 0, 0, 0);
	const int64_t y2101 = utc(2101, 1, 1, 0, 0, 0);
	FILE *f;
	char line[512];
	int nzones = 0, bad_zones = 0;

	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		/* 1970-2037 densely, then the rule out to 2100 and 2400. */
		int bad = cross_check(zones[i], y1970, y2038, 86400 * 3 + 7) +
		          cross_check(zones[i], y2038, y2101, 86400 * 5 + 11) +
		          cross_check(zones[i], utc(2399, 1, 1, 0, 0, 0),
		                      utc(2401, 1, 1, 0, 0, 0), 86400 + 13);

		if (bad)
			fprintf(stderr, "%s disagrees with glibc\n", zones[i]);
		CHECK_INT(bad, 0);
	}

	/* Then every zone tzdata knows, more sparsely. */
	f = fopen("/usr/share/zoneinfo/tzdata.zi", "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		char name[256];

		if (sscanf(line, "Z %255s", name) != 1)
			continue;
		nzones++;
		if (cross_check(name, y1970, y2101, 86400 * 9 + 17) != 0)
			bad_zones++;
	}
	fclose(f);
	CHECK(nzones > 300);
	CHECK_INT(bad_zones, 0);
	unsetenv("TZ");
	tzset();
}

/* wall_to_utc against the forward map: every instant's wall time maps
 * back to it, or to an earlier instant with the same wall time. */
static void
test_round_trip(void)
{
	static const char *const zones[] = {
	    "Europe/Amsterdam", "Australia/Lord_Howe", "America/Sao_Paulo",
	    "America/Nuuk",     "Europe/Dublin",       "Pacific/Chatham",
	};
	int bad = 0;

	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		struct tz *z = load(zones[i]);

		if (z == NULL)
			continue;
		for (int64_t t = utc(1970, 1, 1, 0, 0, 0);
		     t < utc(2060, 1, 1, 0, 0, 0); t += 86400 / 4 + 97) {
			struct tz_span s;
			int64_t back = 0;

			tz_span_at(z, t, &s);
			/* also land right on and next to boundaries */
			for (int64_t u = s.start == INT64_MIN ? t : s.start - 1;
			     u <= t; u = u == t ? t + 1 : t) {
				int64_t wall = u + tz_offset_at(z, u);
				int rc = tz_wall_to_utc(z, wall, &back);

				if (rc != 0 ||
				    (back != u &&
				     !(back < u &&
				       back + tz_offset_at(z, back) == wall))) {
					if (bad++ < 5)
						fprintf(stderr,
						        "%s: wall %" PRId64
						        " of %" PRId64
						        " -> %" PRId64
						        " rc %d\n",
						        zones[i], wall, u, back,
						        rc);
				}
			}
		}
		tz_free(z);
	}
	CHECK_INT(bad, 0);
}

int
main(void)
{
	unsetenv("TZDIR");
	test_calendar();
	test_utc();
	test_amsterdam();
	test_new_york();
	test_southern();
	test_fixed();
	test_names();
	test_tzdir();
	test_malformed();
	test_posix();
	test_seams();
	test_iso();
	test_round_trip();
	test_glibc();
	return test_report("test_tz");
}
