/*
 * cron: the schedule language and the next-fire-time engine.
 *
 * Fire times are searched on the naive wall clock first (next_wall: month,
 * then day, then hour, minute, second, each a bit-set lookup), then mapped to
 * instants one span of constant UTC offset at a time, which is where the
 * daylight saving rules live (cron_next).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "util.h"

#define NONE INT64_MAX

/* The Gregorian calendar repeats every 400 years, so a search that finds
 * nothing in 401 years will never find anything. */
#define SEARCH_YEARS 401

/* Far enough for any schedule, near enough that year arithmetic on int64
 * seconds can never overflow. */
#define TIME_MAX ((int64_t)3000000000000)
#define TIME_MIN ((int64_t)-3000000000000)

enum field_id { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW };

struct field_spec {
	const char *name;
	int min, max;
	int hmin, hmax; /* range of a bare "H" */
	const char *const *names;
};

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR",
                                          "MAY", "JUN", "JUL", "AUG",
                                          "SEP", "OCT", "NOV", "DEC"};
static const char *const dow_names[] = {"SUN", "MON", "TUE", "WED",
                                        "THU", "FRI", "SAT"};

/* H in day-of-month stays within 1-28 so that it fires every month. */
static const struct field_spec fields[] = {
    [F_SEC] = {"second", 0, 59, 0, 59, NULL},
    [F_MIN] = {"minute", 0, 59, 0, 59, NULL},
    [F_HOUR] = {"hour", 0, 23, 0, 23, NULL},
    [F_DOM] = {"day-of-month", 1, 31, 1, 28, NULL},
    [F_MON] = {"month", 1, 12, 1, 12, month_names},
    [F_DOW] = {"day-of-week", 0, 7, 0, 6, dow_names},
};

struct parser {
	struct cron *c;
	const char *name; /* job name, seeds H */
	char *err;
	size_t errlen;
	enum field_id f;
	uint64_t bits;   /* plain values of the field being parsed */
	bool single;     /* every item so far is one value */
	const char *tok; /* the item being parsed, for messages */
	size_t toklen;
};

static int
fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	size_t n = 0;

	if (p->errlen == 0)
		return -EINVAL;
	if (p->f <= F_DOW && p->tok != NULL)
		n = (size_t)snprintf(p->err, p->errlen,
		                     "%s: ", fields[p->f].name);
	if (n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* ---- H: stable per-name values ---------------------------------------- */

static uint64_t
hash_name(const char *name, int field)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then splitmix64 */

	for (const unsigned char *s = (const unsigned char *)name; *s; s++)
		h = (h ^ *s) * 0x100000001b3ULL;
	h ^= (uint64_t)(field + 1) * 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

/* ---- field items -------------------------------------------------------- */

/* Read a number or a name at *s; names only where the field has them. */
static int
read_value(struct parser *p, const char **s, const char *end, int *out)
{
	const struct field_spec *fs = &fields[p->f];
	const char *q = *s;
	long v = 0;

	if (q < end && isdigit((unsigned char)*q)) {
		while (q < end && isdigit((unsigned char)*q)) {
			v = v * 10 + (*q - '0');
			if (v > 100000)
				v = 100000;
			q++;
		}
		if (v < fs->min || v > fs->max)
			return fail(p, "\"%.*s\" is out of range %d-%d",
			            (int)(q - *s), *s, fs->min, fs->max);
		*out = (int)v;
		*s = q;
		return 0;
	}
	while (q < end && isalpha((unsigned char)*q))
		q++;
	if (q == *s) {
		if (*s < end)
			return fail(p, "unexpected \"%c\" in \"%.*s\"", **s,
			            (int)p->toklen, p->tok);
		return fail(p, "missing value in \"%.*s\"", (int)p->toklen,
		            p->tok);
	}
	if (fs->names != NULL && q - *s == 3) {
		int n = p->f == F_MON ? 12 : 7;

		for (int i = 0; i < n; i++) {
			if (strncasecmp(*s, fs->names[i], 3) == 0) {
				*out = p->f == F_MON ? i + 1 : i;
				*s = q;
				return 0;
			}
		}
	}
	if (fs->names != NULL)
		return fail(p, "unknown name \"%.*s\"", (int)(q - *s), *s);
	if (strchr("LWlw", **s) != NULL && q - *s <= 2)
		return fail(p,
		            "\"%.*s\": L and W are allowed only in "
		            "day-of-month (and L, # in day-of-week)",
		            (int)p->toklen, p->tok);
	return fail(p, "\"%.*s\" is not a number", (int)(q - *s), *s);
}

static int
read_number(struct parser *p, const char **s, const char *end, long max,
            long *out)
{
	const char *q = *s;
	long v = 0;

	/* Set on every path: fail() is variadic and not inlined, so at -O3
	 * gcc cannot see that callers never read *out after an error. */
	*out = 0;
	if (q >= end || !isdigit((unsigned char)*q))
		return fail(p, "expected a number in \"%.*s\"", (int)p->toklen,
		            p->tok);
	while (q < end && isdigit((unsigned char)*q)) {
		v = v * 10 + (*q - '0');
		if (v > max + 1)
			v = max + 1;
		q++;
	}
	*s = q;
	*out = v;
	return 0;
}

static int
read_step(struct parser *p, const char **s, const char *end, int span,
          int *step)
{
	long v;
	int rc;

	(*s)++; /* '/' */
	if ((rc = read_number(p, s, end, 1000, &v)) < 0)
		return rc;
	if (v < 1 || v > span)
		return fail(p, "step %ld in \"%.*s\" must be between 1 and %d",
		            v, (int)p->toklen, p->tok, span);
	*step = (int)v;
	return 0;
}

static void
set_range(struct parser *p, int lo, int hi, int step)
{
	for (int v = lo; v <= hi; v += step)
		p->bits |= (uint64_t)1 << (p->f == F_DOW && v == 7 ? 0 : v);
	if (lo != hi)
		p->single = false;
}

/* "H", "H(a-b)", either with "/step". */
static int
parse_h(struct parser *p, const char *s, const char *end)
{
	const struct field_spec *fs = &fields[p->f];
	int lo = fs->hmin, hi = fs->hmax, step = 0, rc;
	uint64_t h;

	if (p->name == NULL || *p->name == '\0')
		return fail(p, "\"H\" needs a job name to derive its value");
	s++;
	if (s < end && *s == '(') {
		s++;
		if ((rc = read_value(p, &s, end, &lo)) < 0)
			return rc;
		if (s >= end || *s != '-')
			return fail(p, "expected \"H(a-b)\" in \"%.*s\"",
			            (int)p->toklen, p->tok);
		s++;
		if ((rc = read_value(p, &s, end, &hi)) < 0)
			return rc;
		if (s >= end || *s != ')')
			return fail(p, "expected \")\" in \"%.*s\"",
			            (int)p->toklen, p->tok);
		s++;
		if (p->f == F_DOW && hi == 0 && lo > 0)
			hi = 7;
		if (lo > hi)
			return fail(p, "range %d-%d in \"%.*s\" runs backwards",
			            lo, hi, (int)p->toklen, p->tok);
	}
	if (s < end && *s == '/' &&
	    (rc = read_step(p, &s, end, hi - lo + 1, &step)) < 0)
		return rc;
	if (s != end)
		return fail(p, "unexpected \"%.*s\" in \"%.*s\"",
		            (int)(end - s), s, (int)p->toklen, p->tok);
	h = hash_name(p->name, (int)p->f);
	if (step == 0) {
		int v = lo + (int)(h % (uint64_t)(hi - lo + 1));

		set_range(p, v, v, 1);
	} else {
		set_range(p, lo + (int)(h % (uint64_t)step), hi, step);
		p->single = false;
	}
	return 0;
}

/* Day-of-month specials: "L", "L-n", "LW", "nW". */
static int
parse_dom_special(struct parser *p, const char *s, const char *end, bool *done)
{
	struct cron *c = p->c;
	long v;
	int rc;

	*done = true;
	if (*s == 'L' || *s == 'l') {
		s++;
		if (s == end) {
			c->dom_l |= 1;
			return 0;
		}
		if (end - s == 1 && (*s == 'W' || *s == 'w')) {
			c->dom_lw = true;
			return 0;
		}
		if (*s == '-') {
			s++;
			if ((rc = read_number(p, &s, end, 30, &v)) < 0)
				return rc;
			if (s != end || v > 30)
				return fail(p,
				            "\"%.*s\": the offset from L must "
				            "be 0-30",
				            (int)p->toklen, p->tok);
			c->dom_l |= (uint32_t)1 << v;
			return 0;
		}
		return fail(p, "unexpected \"%.*s\" after L in \"%.*s\"",
		            (int)(end - s), s, (int)p->toklen, p->tok);
	}
	if (end[-1] == 'W' || end[-1] == 'w') {
		const char *q = s;
		int d;

		if ((rc = read_value(p, &q, end - 1, &d)) < 0)
			return rc;
		if (q != end - 1)
			return fail(p, "expected \"nW\" in \"%.*s\"",
			            (int)p->toklen, p->tok);
		c->dom_w |= (uint32_t)1 << d;
		return 0;
	}
	*done = false;
	return 0;
}

/* Day-of-week specials: "5L" / "FRIL", "MON#1". */
static int
parse_dow_special(struct parser *p, const char *s, const char *end, bool *done)
{
	struct cron *c = p->c;
	const char *hash = memchr(s, '#', (size_t)(end - s));
	const char *q = s;
	int d, rc;
	long n;

	*done = true;
	if (hash != NULL) {
		if ((rc = read_value(p, &q, hash, &d)) < 0)
			return rc;
		if (q != hash)
			return fail(p, "expected \"day#n\" in \"%.*s\"",
			            (int)p->toklen, p->tok);
		q = hash + 1;
		if ((rc = read_number(p, &q, end, 5, &n)) < 0)
			return rc;
		if (q != end || n < 1 || n > 5)
			return fail(p, "\"%.*s\": n in day#n must be 1-5",
			            (int)p->toklen, p->tok);
		c->dow_nth |= (uint64_t)1 << ((n - 1) * 7 + d % 7);
		return 0;
	}
	if (end - s >= 2 && (end[-1] == 'L' || end[-1] == 'l')) {
		if ((rc = read_value(p, &q, end - 1, &d)) < 0)
			return rc;
		if (q != end - 1)
			return fail(p, "expected \"dayL\" in \"%.*s\"",
			            (int)p->toklen, p->tok);
		c->dow_last |= (uint8_t)(1u << (d % 7));
		return 0;
	}
	*done = false;
	return 0;
}

static int
parse_item(struct parser *p, const char *s, const char *end)
{
	const struct field_spec *fs = &fields[p->f];
	int lo, hi, step = 1, rc;
	bool done = false;

	p->tok = s;
	p->toklen = (size_t)(end - s);
	if (s == end)
		return fail(p, "empty list item");
	if (*s == 'H' && (end - s == 1 || s[1] == '(' || s[1] == '/'))
		return parse_h(p, s, end);
	if (p->f == F_DOM && (rc = parse_dom_special(p, s, end, &done)) < 0)
		return rc;
	if (p->f == F_DOW && (rc = parse_dow_special(p, s, end, &done)) < 0)
		return rc;
	if (done)
		return 0;
	if (*s == '?') {
		if (p->f != F_DOM && p->f != F_DOW)
			return fail(p, "\"?\" is allowed only in day-of-month "
			               "and day-of-week");
		if (end - s != 1)
			return fail(p, "\"?\" stands alone");
		set_range(p, fs->min, p->f == F_DOW ? 6 : fs->max, 1);
		return 0;
	}
	if (*s == '*') {
		lo = fs->min;
		hi = p->f == F_DOW ? 6 : fs->max;
		s++;
		p->single = false;
	} else {
		if ((rc = read_value(p, &s, end, &lo)) < 0)
			return rc;
		hi = lo;
		if (s < end && *s == '-') {
			s++;
			if ((rc = read_value(p, &s, end, &hi)) < 0)
				return rc;
			/* "FRI-SUN": Sunday closes a week-day range as 7. */
			if (p->f == F_DOW && hi == 0 && lo > 0)
				hi = 7;
			if (lo > hi)
				return fail(p,
				            "range %d-%d in \"%.*s\" runs "
				            "backwards",
				            lo, hi, (int)p->toklen, p->tok);
		} else if (s < end && *s == '/') {
			/* "5/15" means "5-59/15" */
			hi = p->f == F_DOW ? 6 : fs->max;
		}
	}
	if (s < end && *s == '/') {
		if ((rc = read_step(p, &s, end, fs->max - fs->min + 1, &step)) <
		    0)
			return rc;
		p->single = false;
	}
	if (s != end)
		return fail(p, "unexpected \"%.*s\" in \"%.*s\"",
		            (int)(end - s), s, (int)p->toklen, p->tok);
	set_range(p, lo, hi, step);
	return 0;
}

static int
parse_field(struct parser *p, enum field_id f, const char *s, size_t len)
{
	const char *end = s + len;
	int rc;

	p->f = f;
	p->bits = 0;
	p->single = true;
	p->tok = s;
	p->toklen = len;
	while (s <= end) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *e = comma ? comma : end;

		if ((rc = parse_item(p, s, e)) < 0)
			return rc;
		s = e + 1;
	}
	switch (f) {
	case F_SEC:
		p->c->second = p->bits;
		break;
	case F_MIN:
		p->c->minute = p->bits;
		break;
	case F_HOUR:
		p->c->hour = (uint32_t)p->bits;
		break;
	case F_DOM:
		p->c->dom = (uint32_t)p->bits;
		p->c->dom_star =
		    len == 1 && (*(end - 1) == '*' || *(end - 1) == '?');
		break;
	case F_MON:
		p->c->month = (uint16_t)p->bits;
		break;
	case F_DOW:
		p->c->dow = (uint8_t)p->bits;
		p->c->dow_star =
		    len == 1 && (*(end - 1) == '*' || *(end - 1) == '?');
		break;
	}
	return 0;
}

/* ---- @macros ------------------------------------------------------------ */

static int
parse_every(struct parser *p, const char *s)
{
	static const struct {
		char unit;
		int64_t seconds;
	} units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
	const char *start = s;
	int64_t total = 0;
	size_t next_unit = 0;

	while (isspace((unsigned char)*s))
		s++;
	start = s;
	if (*s == '\0')
		return fail(p, "@every needs a duration, e.g. 90s, 15m, 2h, "
		               "1h30m, 1d");
	while (*s != '\0' && !isspace((unsigned char)*s)) {
		int64_t v = 0;
		size_t u;

		if (!isdigit((unsigned char)*s))
			goto bad;
		while (isdigit((unsigned char)*s)) {
			v = v * 10 + (*s - '0');
			if (v > 100000000)
				goto bad;
			s++;
		}
		for (u = next_unit; u < 4; u++)
			if (tolower((unsigned char)*s) == units[u].unit)
				break;
		if (u == 4)
			goto bad;
		total += v * units[u].seconds;
		next_unit = u + 1;
		s++;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (*s != '\0')
		goto bad;
	if (total < 1)
		return fail(p, "@every %s: the period must be at least 1s",
		            start);
	if (total > 366 * 86400)
		return fail(p, "@every %s: the period must be at most 366d",
		            start);
	p->c->every = total;
	return 0;
bad:
	return fail(p,
	            "@every: bad duration \"%s\" (use units d, h, m, s in "
	            "that order, e.g. 90s, 15m, 2h, 1h30m, 1d)",
	            start);
}

static int
parse_macro(struct parser *p, const char *s, const char **expansion)
{
	static const struct {
		const char *name, *expr;
	} macros[] = {
	    {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
	    {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
	    {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
	    {"@hourly", "0 * * * *"},
	};
	size_t n = 0;

	while (s[n] != '\0' && !isspace((unsigned char)s[n]))
		n++;
	if (n == 6 && strncasecmp(s, "@every", 6) == 0)
		return parse_every(p, s + 6);
	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
		if (strlen(macros[i].name) == n &&
		    strncasecmp(s, macros[i].name, n) == 0) {
			for (const char *r = s + n; *r; r++)
				if (!isspace((unsigned char)*r))
					return fail(p,
					            "%s takes no fields after "
					            "it",
					            macros[i].name);
			*expansion = macros[i].expr;
			return 0;
		}
	}
	return fail(p,
	            "unknown macro \"%.*s\" (known: @yearly @annually @monthly "
	            "@weekly @daily @midnight @hourly @every)",
	            (int)n, s);
}

/* ---- the naive wall-clock search --------------------------------------- */

static int
first_bit_from(uint64_t set, int from)
{
	if (from > 63)
		return -1;
	set &= ~(uint64_t)0 << from;
	return set ? __builtin_ctzll(set) : -1;
}

/* Days 1..dim of month m of year y on which the expression may fire. */
static uint32_t
day_mask(const struct cron *c, int64_t y, int m)
{
	int dim = tz_days_in_month(y, m);
	uint32_t all = ((uint32_t)2 << dim) - 2, dom, dow = 0;
	int64_t days = tz_days_from_civil(y, m, 1);
	int w1 = (int)(((days + 4) % 7 + 7) % 7); /* 1970-01-01: Thursday */

	if (c->dom_star && c->dow_star)
		return all;
	dom = c->dom & all;
	for (int k = 0; k < dim; k++)
		if (c->dom_l & ((uint32_t)1 << k))
			dom |= (uint32_t)1 << (dim - k);
	for (int n = 1; n <= dim; n++) {
		int w, d = n;

		if (!(c->dom_w & ((uint32_t)1 << n)))
			continue;
		/* Nearest weekday, never leaving the month (Quartz). */
		w = (w1 + n - 1) % 7;
		if (w == 6)
			d = n == 1 ? n + 2 : n - 1;
		else if (w == 0)
			d = n == dim ? n - 2 : n + 1;
		dom |= (uint32_t)1 << d;
	}
	if (c->dom_lw) {
		int w = (w1 + dim - 1) % 7;
		int d = w == 6 ? dim - 1 : w == 0 ? dim - 2 : dim;

		dom |= (uint32_t)1 << d;
	}
	for (int w = 0; w < 7; w++) {
		int first = 1 + (w - w1 + 7) % 7, last = first;

		while (last + 7 <= dim)
			last += 7;
		if (c->dow & (1u << w))
			for (int d = first; d <= dim; d += 7)
				dow |= (uint32_t)1 << d;
		if (c->dow_last & (1u << w))
			dow |= (uint32_t)1 << last;
		for (int n = 0; n < 5; n++)
			if ((c->dow_nth >> (n * 7 + w) & 1) &&
			    first + 7 * n <= dim)
				dow |= (uint32_t)1 << (first + 7 * n);
	}
	if (c->dom_star)
		return dow;
	if (c->dow_star)
		return dom;
	return dom | dow; /* both restricted: either matches (Vixie) */
}

/* First matching wall time strictly after `wall`, or NONE. */
static int64_t
next_wall(const struct cron *c, int64_t wall)
{
	struct tz_civil t;
	int64_t ylimit;
	int64_t mask_y = INT64_MIN;
	int mask_m = 0, v;
	uint32_t days = 0;

	if (wall >= TIME_MAX)
		return NONE;
	tz_civil_from_seconds(wall + 1, &t);
	ylimit = t.year + SEARCH_YEARS;
	for (;;) {
		/* Carry overflowed fields upward. */
		if (t.second > 59) {
			t.second = 0;
			t.minute++;
		}
		if (t.minute > 59) {
			t.minute = 0;
			t.hour++;
		}
		if (t.hour > 23) {
			t.hour = 0;
			t.day++;
		}
		if (t.month > 12 || t.day > 31) {
			t.month++;
			t.day = 1;
			if (t.month > 12) {
				t.month = 1;
				t.year++;
			}
		}
		if (t.year > ylimit)
			return NONE;
		if (!(c->month & (1u << t.month))) {
			v = first_bit_from(c->month, t.month + 1);
			if (v < 0) {
				t.year++;
				v = first_bit_from(c->month, 1);
			}
			t.month = v;
			t.day = 1;
			t.hour = t.minute = t.second = 0;
			continue;
		}
		if (t.year != mask_y || t.month != mask_m) {
			days = day_mask(c, t.year, t.month);
			mask_y = t.year;
			mask_m = t.month;
		}
		v = first_bit_from(days, t.day);
		if (v != t.day) {
			t.hour = t.minute = t.second = 0;
			if (v < 0) {
				t.day = 32; /* next month */
				continue;
			}
			t.day = v;
		}
		v = first_bit_from(c->hour, t.hour);
		if (v != t.hour) {
			t.minute = t.second = 0;
			if (v < 0) {
				t.hour = 24;
				continue;
			}
			t.hour = v;
		}
		v = first_bit_from(c->minute, t.minute);
		if (v != t.minute) {
			t.second = 0;
			if (v < 0) {
				t.minute = 60;
				continue;
			}
			t.minute = v;
		}
		v = first_bit_from(c->second, t.second);
		if (v < 0) {
			t.second = 60;
			continue;
		}
		t.second = v;
		return tz_seconds_from_civil(&t);
	}
}

bool
cron_match_wall(const struct cron *c, int64_t wall)
{
	struct tz_civil t;

	if (c->every > 0)
		return wall % c->every == 0;
	tz_civil_from_seconds(wall, &t);
	return (c->second >> t.second & 1) && (c->minute >> t.minute & 1) &&
	       (c->hour >> t.hour & 1) && (c->month >> t.month & 1) &&
	       (day_mask(c, t.year, t.month) >> t.day & 1);
}

/* ---- public ------------------------------------------------------------- */

int
cron_parse(struct cron *c, const char *expr, const char *name, char *err,
           size_t errlen)
{
	struct parser p = {
	    .c = c, .name = name, .err = err, .errlen = errlen, .f = F_DOW + 1};
	const char *start[7], *s = expr;
	size_t len[7];
	int n = 0, rc;

	memset(c, 0, sizeof(*c));
	c->fixed = true;
	if (errlen > 0)
		err[0] = '\0';
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return fail(&p, "empty schedule");
	if (*s == '@') {
		const char *expansion = NULL;

		if ((rc = parse_macro(&p, s, &expansion)) < 0)
			return rc;
		if (expansion == NULL) /* @every */
			return 0;
		s = expansion;
	}
	while (*s != '\0') {
		const char *b = s;

		while (*s != '\0' && !isspace((unsigned char)*s))
			s++;
		if (n < 7) {
			start[n] = b;
			len[n] = (size_t)(s - b);
		}
		n++;
		while (isspace((unsigned char)*s))
			s++;
	}
	if (n != 5 && n != 6)
		return fail(&p,
		            "expected 5 fields (minute hour day-of-month month "
		            "day-of-week) or 6 (seconds first), got %d",
		            n);
	for (int i = 0; i < n; i++) {
		enum field_id f = (enum field_id)(i + (n == 5));

		if ((rc = parse_field(&p, f, start[i], len[i])) < 0)
			return rc;
		if (f <= F_HOUR && !p.single)
			c->fixed = false;
	}
	if (n == 5)
		c->second = 1;
	/* A never-firing schedule (0 0 31 2 *) is a mistake, not a plan. */
	if (next_wall(c, 0) == NONE) {
		p.tok = NULL;
		return fail(&p, "schedule never fires (no date matches its "
		                "day-of-month, month and day-of-week)");
	}
	return 0;
}

/* next_wall() answers for a whole interval of starting points: from any
 * wall time in [lo, w] the first match is w.  Walking span by span asks
 * about neighbouring points over and over, so remember the last answer. */
struct wall_memo {
	int64_t lo, w;
};

static int64_t
next_wall_memo(const struct cron *c, struct wall_memo *m, int64_t wall)
{
	if (wall + 1 >= m->lo && wall + 1 <= m->w)
		return m->w;
	m->lo = wall + 1;
	m->w = next_wall(c, wall);
	return m->w;
}

/*
 * Walk the spans of constant offset from `after` on.  Inside a span, local
 * wall time and UTC differ by a constant, so the naive search applies.  The
 * daylight saving rules act at span edges: a fixed-time job skips wall times
 * it already met in the previous span (fall back) and fires at the start of
 * a span if one of its times fell in the gap before it (spring forward).
 */
int
cron_next(const struct cron *c, const struct tz *zone, int64_t after,
          int64_t *next)
{
	struct wall_memo memo = {1, 0}; /* empty */
	int64_t t0;

	if (after < TIME_MIN || after >= TIME_MAX)
		return -ERANGE;
	if (c->every > 0) {
		*next = (util_floor_div(after, c->every) + 1) * c->every;
		return 0;
	}
	if (zone == NULL)
		zone = tz_utc();
	t0 = after + 1; /* first candidate instant */
	for (int spans = 0; spans < 4 * SEARCH_YEARS + 64; spans++) {
		struct tz_span sp;
		int64_t w, end_wall;

		tz_span_at(zone, t0, &sp);
		end_wall = sp.end == INT64_MAX ? INT64_MAX : sp.end + sp.offset;
		w = next_wall_memo(c, &memo, t0 + sp.offset - 1);
		if (w == NONE)
			return -ERANGE;
		while (w < end_wall) {
			if (c->fixed && sp.prev_offset > sp.offset &&
			    w < sp.start + sp.prev_offset) {
				w = next_wall_memo(c, &memo, w); /* 2nd pass */
				if (w == NONE)
					return -ERANGE;
				continue;
			}
			*next = w - sp.offset;
			return 0;
		}
		if (sp.end == INT64_MAX || sp.end >= TIME_MAX)
			return -ERANGE;
		if (c->fixed && sp.next_offset > sp.offset &&
		    next_wall_memo(c, &memo, end_wall - 1) <
		        sp.end + sp.next_offset) {
			*next = sp.end; /* a time in the gap: fire after it */
			return 0;
		}
		t0 = sp.end;
	}
	return -ERANGE;
}
