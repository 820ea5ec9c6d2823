/*
 * Tests for daemon/util.c.
 */
#include <errno.h>
#include <stdbool.h>

#include "tz.h"
#include "test.h"
#include "util.h"

static void
test_seterr(void)
{
	char buf[8] = "xxxxxxx";

	util_seterr(NULL, 10, "%s", "nothing");
	util_seterr(buf, 0, "%s", "nothing");
	CHECK_STR(buf, "xxxxxxx");
	util_seterr(buf, sizeof(buf), "%d-%s", 42, "truncated");
	CHECK_STR(buf, "42-trun");
}

static void
test_floor_div(void)
{
	CHECK_INT(util_floor_div(7, 2), 3);
	CHECK_INT(util_floor_div(-7, 2), -4);
	CHECK_INT(util_floor_div(-8, 2), -4);
	CHECK_INT(util_floor_div(0, 5), 0);
	CHECK_INT(util_floor_div(-1, 86400), -1);
}

static void
test_utf8(void)
{
	static const struct {
		const char *s;
		size_t len;
	} cases[] = {
	    {"a", 1},
	    {"\xc3\xa9", 2},         /* é */
	    {"\xe2\x82\xac", 3},     /* € */
	    {"\xf0\x9f\x98\x80", 4}, /* emoji */
	    {"\xc0\x80", 0},         /* overlong NUL */
	    {"\xe0\x80\xaf", 0},     /* overlong */
	    {"\xed\xa0\x80", 0},     /* surrogate */
	    {"\xf4\x90\x80\x80", 0}, /* above U+10FFFF */
	    {"\xc3", 0},             /* truncated */
	    {"\x80", 0},             /* lone continuation */
	    {"\xff", 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_INT(util_utf8_len((const unsigned char *)cases[i].s,
		                        strlen(cases[i].s)),
		          cases[i].len);
	CHECK_INT(util_utf8_len((const unsigned char *)"", 1), 1);
}

static void
test_text_prefix(void)
{
	static const char mixed[] = "caf\xc3\xa9 \xe2\x82\xac"
	                            "5 \xf0\x9f\x98\x80!";

	CHECK_INT(util_text_prefix("", 0), 0);
	CHECK_INT(util_text_prefix("plain ascii ~", 13), 13);
	CHECK_INT(util_text_prefix(mixed, strlen(mixed)), strlen(mixed));
	/* stops before NUL, DEL passes, a bad byte, a cut character */
	CHECK_INT(util_text_prefix("ab\0cd", 5), 2);
	CHECK_INT(util_text_prefix("a\x7f", 2), 2);
	CHECK_INT(util_text_prefix("\x01\x1f ok", 5), 5);
	CHECK_INT(util_text_prefix("ab\xff"
	                           "cd",
	                           5),
	          2);
	CHECK_INT(util_text_prefix("ab\xed\xa0\x80", 5), 2); /* surrogate */
	CHECK_INT(util_text_prefix("caf\xc3\xa9", 4), 3);    /* cut é */
}

static void
test_grow(void)
{
	int *v = NULL;
	size_t cap = 0;

	CHECK_INT(util_grow((void **)&v, &cap, 1, sizeof(*v)), 0);
	CHECK_INT(cap, 16);
	v[15] = 7;
	CHECK_INT(util_grow((void **)&v, &cap, 17, sizeof(*v)), 0);
	CHECK_INT(cap, 32);
	CHECK_INT(v[15], 7); /* kept across the move */
	CHECK_INT(util_grow((void **)&v, &cap, 20, sizeof(*v)), 0);
	CHECK_INT(cap, 32); /* enough already */
	CHECK_INT(util_grow((void **)&v, &cap, SIZE_MAX / 2, sizeof(*v)),
	          -ENOMEM);
	CHECK_INT(cap, 32); /* unchanged on failure */
	free(v);
}

static void
test_wall_ms(void)
{
	int64_t a = util_wall_ms(), b = util_wall_ms();

	CHECK(a > INT64_C(1700000000000)); /* after 2023 */
	CHECK(b >= a);
}

/* Not a test of randomness: that the bits vary, high ones included (a
 * modulo of jitter_s * 1000 needs more than 31 of them). */
static void
test_random(void)
{
	uint64_t seen_or = 0, seen_and = UINT64_MAX, first = util_random_u64();
	int same = 0;

	for (int i = 0; i < 64; i++) {
		uint64_t r = util_random_u64();

		seen_or |= r;
		seen_and &= r;
		same += r == first;
	}
	CHECK(same < 2);
	CHECK(seen_or >> 32 != 0);
	CHECK(seen_and != seen_or);
}

/* The loopback rule that config and http share; the cases of both rules
 * it replaced (a prefix test in config, inet_pton in http). */
static void
test_url_allowed(void)
{
	static const char *const yes[] = {
	    "https://api.kinsta.com/v2",
	    "HTTPS://api.kinsta.com",
	    "https://user@api.kinsta.com/", /* TLS checks the name anyway */
	    "http://127.0.0.1:8080/v2",
	    "http://127.0.0.1",
	    "http://127.1.2.3/",
	    "http://127.255.255.255:1/",
	    "HTTP://127.0.0.1/",
	    "http://[::1]:99/v2",
	    "http://[::1]",
	    "http://[0:0:0:0:0:0:0:1]/",
	    "http://localhost:1/",
	    "http://LocalHost/v2",
	    "http://localhost?x",
	    "http://127.0.0.1#frag",
	};
	static const char *const no[] = {
	    "http://api.kinsta.com/v2",
	    "http://10.0.0.1/",
	    "http://128.0.0.1/",
	    "http://[::2]/",
	    "http://[::ffff:127.0.0.1]/",
	    "http://[127.0.0.1]/",
	    "http://[::1]evil.example/",
	    "http://[::1/",
	    "http://::1/",
	    "http://127.0.0.1@evil.example/",
	    "http://user:pw@127.0.0.1/",
	    "http://user@localhost/",
	    "http://127.evil.com/",
	    "http://127.0.0.1.nip.io/",
	    "http://127.1/",
	    "http://127.0.0.1./",
	    "http://0177.0.0.1/",
	    "http://localhost.evil.example/",
	    "http://localhost./",
	    "http://evil.example/127.0.0.1",
	    "ftp://127.0.0.1/",
	    "file:///etc/passwd",
	    "127.0.0.1",
	    "https://",
	    "https:///x",
	    "http://",
	    "http://:8080/",
	    "",
	};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!util_url_allowed(yes[i])) {
			fprintf(stderr, "refused: %s\n", yes[i]);
			CHECK(false);
		}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (util_url_allowed(no[i])) {
			fprintf(stderr, "allowed: %s\n", no[i]);
			CHECK(false);
		}
}

static const struct tz *
zone(const char *name)
{
	static struct {
		const char *name;
		struct tz *tz;
	} cache[8];
	char err[128];
	int i;

	for (i = 0; i < 8 && cache[i].name; i++)
		if (strcmp(cache[i].name, name) == 0)
			return cache[i].tz;
	if (i == 8 || tz_load(&cache[i].tz, name, err, sizeof(err)) < 0)
		TEST_SKIP("system zoneinfo not available (install tzdata)");
	cache[i].name = name;
	return cache[i].tz;
}

static void
test_time_iso(void)
{
	const int64_t spring = 1774746000; /* 2026-03-29T01:00:00Z */
	const int64_t winter = 1768478400; /* 2026-01-15T12:00:00Z */
	char buf[64], ref[64];

	/* UTC, from either way of saying it: Z */
	CHECK_INT(util_time_iso(buf, sizeof(buf), NULL, spring, -1), 20);
	CHECK_STR(buf, "2026-03-29T01:00:00Z");
	util_time_iso(buf, sizeof(buf), tz_utc(), spring, 123);
	CHECK_STR(buf, "2026-03-29T01:00:00.123Z");
	util_time_iso(buf, sizeof(buf), zone("UTC"), spring, 7);
	CHECK_STR(buf, "2026-03-29T01:00:00.007Z");
	util_time_iso(buf, sizeof(buf), zone("Etc/UTC"), spring, -1);
	CHECK_STR(buf, "2026-03-29T01:00:00Z");
	/* a zone: its offset at that instant */
	util_time_iso(buf, sizeof(buf), zone("Europe/Amsterdam"), spring, -1);
	CHECK_STR(buf, "2026-03-29T03:00:00+02:00");
	util_time_iso(buf, sizeof(buf), zone("Europe/Amsterdam"), winter, 999);
	CHECK_STR(buf, "2026-01-15T13:00:00.999+01:00");
	util_time_iso(buf, sizeof(buf), zone("America/New_York"), winter, -1);
	CHECK_STR(buf, "2026-01-15T07:00:00-05:00");
	/* offset 0 in a zone that is not UTC: the offset, not Z */
	util_time_iso(buf, sizeof(buf), zone("Europe/London"), winter, -1);
	CHECK_STR(buf, "2026-01-15T12:00:00+00:00");
	/* the same text as tz_format_iso wherever that has an offset */
	for (int64_t t = spring - 86400 * 200; t < spring + 86400 * 200;
	     t += 86400 * 7 + 3601) {
		const struct tz *z = zone("Europe/Amsterdam");

		util_time_iso(buf, sizeof(buf), z, t, -1);
		tz_format_iso(z, t, ref, sizeof(ref));
		CHECK_STR(buf, ref);
	}
	/* before 1970, beyond 9999 */
	util_time_iso(buf, sizeof(buf), NULL, -1, 999);
	CHECK_STR(buf, "1969-12-31T23:59:59.999Z");
	util_time_iso(buf, sizeof(buf), NULL, INT64_C(253402300800), -1);
	CHECK_STR(buf, "+10000-01-01T00:00:00Z");
	/* ms outside 0-999: no fraction */
	util_time_iso(buf, sizeof(buf), NULL, spring, 1000);
	CHECK_STR(buf, "2026-03-29T01:00:00Z");
	/* too short: -ENOSPC, never a cut time */
	CHECK_INT(util_time_iso(buf, 20, NULL, spring, -1), -ENOSPC);
	CHECK_INT(util_time_iso(buf, 21, NULL, spring, -1), 20);
}

int
main(void)
{
	test_seterr();
	test_floor_div();
	test_utf8();
	test_text_prefix();
	test_grow();
	test_wall_ms();
	test_random();
	test_url_allowed();
	test_time_iso();
	return test_report("test_util");
}
