/*
 * util: the few helpers that several modules need and none owns.
 */
#ifndef KCRON_UTIL_H
#define KCRON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tz;

/* printf into err (errlen bytes); nothing when err is NULL or errlen 0. */
void util_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Make room for need elements of size bytes in *p (capacity *cap,
 * doubling from 16); 0 or -ENOMEM, *p and *cap unchanged on failure. */
int util_grow(void **p, size_t *cap, size_t need, size_t size);

/* a / b rounded towards negative infinity (b > 0).  Inline: it sits on
 * the calendar arithmetic of every cron_next. */
static inline int64_t
util_floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The wall clock (CLOCK_REALTIME) in milliseconds since the epoch. */
int64_t util_wall_ms(void);

/* 64 random bits for jitter and backoff (not for secrets): getrandom(2)
 * without blocking, random() when the kernel has none to give yet. */
uint64_t util_random_u64(void);

/* Is url https (with a host), or plain http to a loopback host: an IPv4
 * address in 127.0.0.0/8, [::1] or localhost (any case)?  Userinfo is
 * refused, since "http://127.0.0.1@evil.example/" goes to evil.example.
 * The one rule for config's check and http's refusal, so that a URL the
 * configuration accepts is never refused at run time. */
bool util_url_allowed(const char *url);

/*
 * The one form every time shown to a user takes (check, next, the log,
 * the history): ISO 8601 with the offset of the zone in question,
 * "2026-03-29T03:00:00+02:00", or "Z" when the zone is UTC:
 * "2026-03-29T01:00:00Z".  UTC is zone NULL or a zone with offset 0 at
 * every instant (UTC, Etc/UTC); Europe/London in winter is "+00:00", since
 * that zone is not UTC.  ms 0-999 adds ".123" before the zone, ms < 0 adds
 * nothing.  Years outside 0000-9999 are written "+12345" (ISO 8601's
 * expanded form).  Returns the length, or -ENOSPC when buf is too short.
 */
int util_time_iso(char *buf, size_t len, const struct tz *zone, int64_t t,
                  int ms);

/* Length of the well-formed UTF-8 sequence at s (n bytes left), or 0 when
 * it is not one (overlong forms, surrogates, above U+10FFFF, truncated);
 * NUL counts as well-formed (length 1). */
size_t util_utf8_len(const unsigned char *s, size_t n);

/* Length of the longest prefix of s[0..n) that is well-formed UTF-8
 * without NUL: n when all of it is text fit for JSON. */
size_t util_text_prefix(const char *s, size_t n);

#endif
