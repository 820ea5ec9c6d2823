/*
 * util: shared helpers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "tz.h"
#include "util.h"

void
util_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
util_grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	while (n < need) {
		if (n > SIZE_MAX / 2 / size)
			return -ENOMEM;
		n *= 2;
	}
	if (n == *cap)
		return 0;
	if ((q = realloc(*p, n * size)) == NULL)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

int64_t
util_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
util_random_u64(void)
{
	uint64_t r = 0;

	/* Early at boot the pool may not be ready: a daemon started then
	 * must not wait for it to spread its retries. */
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = ((uint64_t)random() << 32) ^ (uint64_t)random();
	return r;
}

bool
util_url_allowed(const char *url)
{
	unsigned char addr[16];
	char host[256];
	const char *p, *end;
	size_t n;
	bool v6;

	if (strncasecmp(url, "https://", 8) == 0)
		return url[8] != '\0' && url[8] != '/';
	if (strncasecmp(url, "http://", 7) != 0)
		return false;
	p = url + 7;
	if (memchr(p, '@', strcspn(p, "/?#")) != NULL)
		return false;
	/* an address, never a name resolved later: a prefix test would let
	 * 127.0.0.1.nip.io through */
	if ((v6 = *p == '[')) {
		/* after the ']': a port, a path or the end (strchr finds
		 * the NUL too) */
		if ((end = strchr(++p, ']')) == NULL ||
		    strchr(":/?#", end[1]) == NULL)
			return false;
	} else {
		end = p + strcspn(p, ":/?#");
	}
	n = (size_t)(end - p);
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, p, n);
	host[n] = '\0';
	if (v6)
		return inet_pton(AF_INET6, host, addr) == 1 &&
		       memcmp(addr, &in6addr_loopback, sizeof(addr)) == 0;
	if (strcasecmp(host, "localhost") == 0)
		return true;
	return inet_pton(AF_INET, host, addr) == 1 && addr[0] == 127;
}

int
util_time_iso(char *buf, size_t len, const struct tz *zone, int64_t t, int ms)
{
	struct tz_span span = {.start = INT64_MIN, .end = INT64_MAX};
	struct tz_civil c;
	char year[24], frac[8] = "", off[16] = "Z";
	int64_t wall = t;
	int32_t o, a;
	int n;

	if (zone != NULL)
		tz_span_at(zone, t, &span);
	/* UTC is a zone that never leaves offset 0, not any offset 0:
	 * "+00:00" in London's winter says which clock it is. */
	if (span.offset != 0 || span.start != INT64_MIN ||
	    span.end != INT64_MAX) {
		o = span.offset;
		if (__builtin_add_overflow(t, (int64_t)o, &wall)) {
			/* Only within a day of the end of time: in UTC.
			 */
			wall = t;
			o = 0;
		}
		a = o < 0 ? -o : o;
		if (a % 60)
			snprintf(off, sizeof(off), "%c%02d:%02d:%02d",
			         o < 0 ? '-' : '+', (int)(a / 3600),
			         (int)(a / 60 % 60), (int)(a % 60));
		else
			snprintf(off, sizeof(off), "%c%02d:%02d",
			         o < 0 ? '-' : '+', (int)(a / 3600),
			         (int)(a / 60 % 60));
	}
	tz_civil_from_seconds(wall, &c);
	if (c.year >= 0 && c.year <= 9999)
		snprintf(year, sizeof(year), "%04" PRId64, c.year);
	else
		snprintf(year, sizeof(year), "%+05" PRId64, c.year);
	if (ms >= 0 && ms <= 999)
		snprintf(frac, sizeof(frac), ".%03d", ms);
	n = snprintf(buf, len, "%s-%02d-%02dT%02d:%02d:%02d%s%s", year, c.month,
	             c.day, c.hour, c.minute, c.second, frac, off);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

size_t
util_text_prefix(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	for (;;) {
		/* Almost everything written is ASCII: one compare a
		 * byte. */
		while (i < n && p[i] - 1u < 0x7fu)
			i++;
		if (i == n || p[i] == 0 ||
		    (k = util_utf8_len(p + i, n - i)) == 0)
			return i;
		i += k;
	}
}

size_t
util_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;
	if (c < 0xe0)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c < 0xf0) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		/* overlong, or a UTF-16 surrogate */
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (c < 0xf5) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		/* overlong, or above U+10FFFF */
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}
