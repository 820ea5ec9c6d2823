/*
 * Fuzz target for tz_parse: arbitrary bytes as TZif data.  A zone that
 * parses is then queried at instants taken from the input and from the
 * ends of time, and every answer is checked for the invariants the rest
 * of the daemon relies on (abort() on a violation, so that libFuzzer and
 * the replay driver both report it).  The same bytes, as a string, also
 * go through tz_parse_iso.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_instant(const struct tz *z, int64_t t)
{
	struct tz_span s, n;
	int64_t back, wall;
	char buf[64];
	int rc;

	tz_span_at(z, t, &s);
	if (s.start > t || (t >= s.end && s.end != INT64_MAX))
		abort();
	if (s.start != INT64_MIN && s.prev_offset == s.offset)
		abort(); /* boundaries always change the offset */
	if (tz_offset_at(z, t) != s.offset || s.offset < -90000 ||
	    s.offset > 93600)
		abort();
	/* Neighbouring spans agree on the seam. */
	if (s.end != INT64_MAX) {
		tz_span_at(z, s.end, &n);
		if (n.start != s.end || n.prev_offset != s.offset ||
		    n.offset != s.next_offset)
			abort();
	}
	if (s.start != INT64_MIN) {
		tz_span_at(z, s.start - 1, &n);
		if (n.end != s.start || n.offset != s.prev_offset ||
		    n.next_offset != s.offset)
			abort();
	}
	/* Wall time and back: the same instant, an earlier one with the same
	 * wall time, or (gap) a boundary. */
	if (t > INT64_MIN / 2 && t < INT64_MAX / 2) {
		wall = t + s.offset;
		rc = tz_wall_to_utc(z, wall, &back);
		if (rc == 0 && back + tz_offset_at(z, back) != wall)
			abort();
		if (rc == 0 && back > t)
			abort();
		if (rc == 1)
			abort(); /* a wall time that was read off a clock exists
			          */
		if (rc == 0 && tz_wall_to_utc(z, wall + 1800, &back) < 0)
			abort();
	}
	if (tz_format_iso(z, t, buf, sizeof(buf)) <= 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t fixed[] = {
	    INT64_MIN,
	    INT64_MIN + 1,
	    -4260212372LL,
	    -1,
	    0,
	    1,
	    INT32_MAX,
	    1774746000LL,
	    2147483648LL,
	    4102444800LL,
	    16725225600LL,
	    253402300799LL,
	    31556889832780799LL,
	    INT64_MAX - 1,
	    INT64_MAX,
	};
	struct tz *z = NULL;
	char err[128], *str;
	int64_t t;

	/* As an ISO time, in UTC (bounded: a time is short). */
	if ((str = malloc(size < 64 ? size + 1 : 65)) != NULL) {
		memcpy(str, data, size < 64 ? size : 64);
		str[size < 64 ? size : 64] = '\0';
		tz_parse_iso(tz_utc(), str, &t);
		free(str);
	}

	if (tz_parse(&z, "fuzz", data, size, err, sizeof(err)) != 0) {
		if (z != NULL || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		return 0;
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		check_instant(z, fixed[i]);
	/* Instants from the tail of the input (around its transitions). */
	for (size_t i = 0; i + 8 <= size && i < 8 * 8; i += 8) {
		uint64_t u = 0;

		for (int k = 0; k < 8; k++)
			u = u << 8 | data[size - 8 - i + k];
		check_instant(z, (int64_t)u);
		check_instant(z, (int64_t)(u >> 30) - (INT64_C(1) << 33));
	}
	tz_free(z);
	return 0;
}
