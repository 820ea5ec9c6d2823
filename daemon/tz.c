/*
 * tz: TZif reader, POSIX TZ rules and calendar arithmetic (see tz.h).
 *
 * A zone is a sorted list of explicit transitions (from the TZif body) plus,
 * when the footer has daylight saving time, a rule that is evaluated on the
 * fly from the last explicit transition on.  Transitions that leave the UTC
 * offset unchanged (only the abbreviation or isdst flag changes) are merged
 * away, so every span boundary changes the offset.
 */
#include "tz.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZ_FILE_MAX   (256 * 1024)
#define TZ_NAME_MAX   255
#define TZ_FOOTER_MAX 255
#define SECS_PER_DAY  86400
#define TZIF_HDR_LEN  44
/* RFC 8536 section 3.2: offsets SHOULD lie in -24:59:59 .. +25:59:59.  The
 * bound also keeps every wall-time computation far from int64 overflow. */
#define OFF_MIN        (-89999)
#define OFF_MAX        93599
#define RULE_HOURS_MAX 167
/* The footer rule is honoured for these years only; beyond them the offset
 * freezes.  A billion years is far past any use and keeps the rule's
 * arithmetic well inside int64. */
#define RULE_YEAR_MIN (-1000000000LL)
#define RULE_YEAR_MAX 1000000000LL
/* The Gregorian calendar repeats every 400 years (146097 days, exactly
 * 20871 weeks); 2000-01-01 starts a cycle. */
#define CYCLE_SECS (146097LL * SECS_PER_DAY)
#define CYCLE_BASE 946684800LL

enum tz_date_kind { DATE_JULIAN, DATE_ZERO, DATE_MONTH };

/* One end of a POSIX DST rule: "Jn", "n" or "Mm.w.d", then "/time". */
struct tz_date {
	enum tz_date_kind kind;
	int n;        /* Jn: 1-365, n: 0-365 */
	int m, w, d;  /* Mm.w.d: month 1-12, week 1-5 (5 = last), wday 0-6 */
	int32_t time; /* local seconds after midnight, -167h .. +167h */
};

struct tz_rule {
	int32_t std_off, dst_off;
	struct tz_date start, end;
	/* Every year has exactly two transitions, both inside the UTC year and
	 * always in the same order: lets tz_span_at look at no more than two
	 * years.  Decided at parse time over a full 400-year cycle. */
	bool fast;
	bool reversed;  /* (fast) DST ends earlier in the year than it starts */
	int64_t lo, hi; /* changes are honoured in (lo, hi) only */
	/* The changes over one 400-year cycle starting at 2000-01-01, which
	 * repeat every CYCLE_SECS: for rules off the fast path, and for every
	 * rule near lo and hi. */
	int64_t *cyc_at; /* seconds since 2000-01-01, ascending */
	int32_t *cyc_off;
	size_t cyc_n;      /* even: the two offsets alternate */
	int32_t cyc_const; /* the offset when cyc_n == 0 */
};

struct tz {
	char *name;
	int64_t *trans; /* ascending instants where the offset changes */
	int32_t *off;   /* off[i]: the offset from trans[i] on */
	size_t n;
	int32_t off0; /* the offset before trans[0] */
	bool has_rule;
	int64_t rule_from; /* (has_rule) the rule governs instants >= this */
	struct tz_rule rule;
};

struct rule_ev {
	int64_t at;
	int32_t off; /* the offset from `at` on */
};

static char utc_name[] = "UTC";
static const struct tz utc_zone = {.name = utc_name};

static const int cum_days[13] = {0,   31,  59,  90,  120, 151, 181,
                                 212, 243, 273, 304, 334, 365};

static int64_t
sat_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static bool
is_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/* ---- calendar ---------------------------------------------------------- */

int64_t
tz_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
tz_civil_from_seconds(int64_t wall, struct tz_civil *c)
{
	int64_t days = wall / SECS_PER_DAY, secs = wall % SECS_PER_DAY;
	int64_t z, era, doe, yoe, doy, mp;

	/* Adjust the remainder rather than multiply back: days * 86400 would
	 * overflow for wall near INT64_MIN. */
	if (secs < 0) {
		secs += SECS_PER_DAY;
		days--;
	}
	c->hour = (int)(secs / 3600);
	c->minute = (int)(secs / 60 % 60);
	c->second = (int)(secs % 60);
	c->wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */

	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	c->month = (int)(mp < 10 ? mp + 3 : mp - 9);
	c->year = yoe + era * 400 + (c->month <= 2);
}

int64_t
tz_seconds_from_civil(const struct tz_civil *c)
{
	int64_t days = tz_days_from_civil(c->year, c->month, c->day);
	int64_t secs = (int64_t)c->hour * 3600 + c->minute * 60 + c->second;
	int64_t r;

	/* Multiply (days + 1) for negative days so that the first instants of
	 * int64 (year -292277022657) do not overflow on the way. */
	if (days < 0) {
		days++;
		secs -= SECS_PER_DAY;
	}
	if (__builtin_mul_overflow(days, (int64_t)SECS_PER_DAY, &r))
		return days < 0 ? INT64_MIN : INT64_MAX;
	return sat_add(r, secs);
}

int
tz_days_in_month(int64_t y, int m)
{
	if (m < 1 || m > 12)
		return 0;
	return cum_days[m] - cum_days[m - 1] + (m == 2 && is_leap(y));
}

/* ---- the POSIX TZ rule ------------------------------------------------- */

/* Day number (days since the epoch) of rule date dt in year y, whose
 * January 1st is day jan1. */
static int64_t
date_day(const struct tz_date *dt, int64_t y, int64_t jan1)
{
	int64_t first;
	int wd, day;

	switch (dt->kind) {
	case DATE_JULIAN: /* Feb 29 is never counted */
		return jan1 + dt->n - 1 + (dt->n >= 60 && is_leap(y));
	case DATE_ZERO:
		return jan1 + dt->n;
	case DATE_MONTH:
	default:
		first = jan1 + cum_days[dt->m - 1] + (dt->m > 2 && is_leap(y));
		wd = (int)(((first + 4) % 7 + 7) % 7);
		day = (dt->d - wd + 7) % 7 + 7 * (dt->w - 1);
		if (day >= tz_days_in_month(y, dt->m))
			day -= 7; /* week 5 = the last such weekday */
		return first + day;
	}
}

/* The instant of rule date dt in year y, read on a clock at offset off. */
static int64_t
date_at(const struct tz_date *dt, int64_t y, int64_t jan1, int32_t off)
{
	return date_day(dt, y, jan1) * SECS_PER_DAY + dt->time - off;
}

/* UTC year containing day number days; its January 1st in *jan1. */
static int64_t
year_of_day(int64_t days, int64_t *jan1)
{
	int64_t y = 1970 + util_floor_div(days * 400, 146097);
	int64_t j = tz_days_from_civil(y, 1, 1);

	/* The estimate is at most a year off. */
	while (days < j)
		j = tz_days_from_civil(--y, 1, 1);
	while (days >= j + 365 + is_leap(y))
		j += 365 + is_leap(y++);
	*jan1 = j;
	return y;
}

/* The transitions of rule year y, in time order: 2, or 0 when the end of
 * DST reaches the next year's start (all-year DST; tzcode drops those
 * transitions too, so the latest earlier one holds). */
static int
year_events(const struct tz_rule *r, int64_t y, struct rule_ev ev[2])
{
	int64_t jan1 = tz_days_from_civil(y, 1, 1);
	int64_t s = date_at(&r->start, y, jan1, r->std_off);
	int64_t e = date_at(&r->end, y, jan1, r->dst_off);
	int64_t year_secs = (365 + is_leap(y)) * (int64_t)SECS_PER_DAY;

	if (e < s) {
		ev[0] = (struct rule_ev){e, r->std_off};
		ev[1] = (struct rule_ev){s, r->dst_off};
		return 2;
	}
	if (s < e && e - s < year_secs) {
		ev[0] = (struct rule_ev){s, r->dst_off};
		ev[1] = (struct rule_ev){e, r->std_off};
		return 2;
	}
	return 0;
}

/* Decide whether the rule qualifies for the fast path: the calendar
 * repeats every 400 years, so checking one cycle checks them all. */
static void
rule_classify(struct tz_rule *r)
{
	int order = 0;

	r->fast = false;
	for (int64_t y = 2000; y < 2400; y++) {
		int64_t jan1 = tz_days_from_civil(y, 1, 1);
		int64_t base = jan1 * SECS_PER_DAY;
		int64_t len = (365 + is_leap(y)) * (int64_t)SECS_PER_DAY;
		int64_t s = date_at(&r->start, y, jan1, r->std_off) - base;
		int64_t e = date_at(&r->end, y, jan1, r->dst_off) - base;
		int o = s < e ? 1 : 2;

		if (s < 0 || s >= len || e < 0 || e >= len || s == e)
			return;
		if (order != 0 && o != order)
			return;
		order = o;
	}
	r->fast = true;
	r->reversed = order == 2;
}

/* Tabulate the changes of one 400-year cycle: how rules off the fast path
 * (transitions near New Year, all-year DST, leap-year dependent dates...)
 * and every rule near the ends of its reign are evaluated.  The offset at t is
 * that of the latest transition at or before t (of two at one instant, the
 * later year's), as in tzcode. */
static int
rule_tabulate(struct tz_rule *r)
{
	/* Transitions stay within 8 days of their year: years 1999 and 2400
	 * may reach into the cycle, 1998 and 2401 cannot. */
	enum { FIRST = 1999, LAST = 2400, MAXEV = 2 * (LAST - FIRST + 1) };
	const int64_t base = CYCLE_BASE, top = CYCLE_BASE + CYCLE_SECS;
	struct rule_ev *ev = malloc(MAXEV * sizeof(*ev));
	size_t n = 0, m = 0;
	int rc = -ENOMEM;

	if (ev == NULL)
		goto fail;
	for (int64_t y = FIRST; y <= LAST; y++) {
		struct rule_ev e2[2];
		int k = year_events(r, y, e2);

		for (int j = 0; j < k; j++)
			if (e2[j].at >= base && e2[j].at < top)
				ev[n++] = e2[j];
	}
	/* Stable (later year wins at one instant), and the input is almost
	 * sorted already. */
	for (size_t i = 1; i < n; i++) {
		struct rule_ev x = ev[i];
		size_t j = i;

		for (; j > 0 && ev[j - 1].at > x.at; j--)
			ev[j] = ev[j - 1];
		ev[j] = x;
	}
	/* Collapse instants, then keep the groups that change the state; the
	 * state before the first is that after the last (it is a cycle). */
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && ev[j + 1].at == ev[i].at)
			j++;
		ev[m++] = (struct rule_ev){ev[i].at, ev[j].off};
		i = j + 1;
	}
	n = m;
	r->cyc_const = n ? ev[n - 1].off : r->dst_off; /* none: DST all year */
	r->cyc_n = 0;
	if ((r->cyc_at = malloc((n ? n : 1) * sizeof(int64_t))) == NULL ||
	    (r->cyc_off = malloc((n ? n : 1) * sizeof(int32_t))) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (ev[i].off == ev[i ? i - 1 : n - 1].off)
			continue;
		r->cyc_at[r->cyc_n] = ev[i].at - base;
		r->cyc_off[r->cyc_n] = ev[i].off;
		r->cyc_n++;
	}
	rc = 0;
fail:
	free(ev);
	return rc;
}

/* Number of elements of sorted a[0..n) that are <= t. */
static size_t
count_le(const int64_t *a, size_t n, int64_t t)
{
	const int64_t *base = a;

	if (n == 0)
		return 0;
	/* Branch-free halving: on random instants a branch per step would be
	 * mispredicted half the time. */
	while (n > 1) {
		size_t half = n / 2;

		base += (size_t)(base[half - 1] <= t) * half;
		n -= half;
	}
	return (size_t)(base - a) + (*base <= t);
}

/* The span of an off-fast-path rule containing t, from its cycle table. */
static void
rule_span_cycle(const struct tz_rule *r, int64_t t, struct tz_span *s)
{
	size_t m = r->cyc_n, j;
	int64_t k, cycle, rel;

	if (m == 0) {
		s->start = INT64_MIN;
		s->end = INT64_MAX;
		s->offset = s->prev_offset = s->next_offset = r->cyc_const;
		return;
	}
	k = util_floor_div(t - CYCLE_BASE, CYCLE_SECS);
	cycle = CYCLE_BASE + k * CYCLE_SECS;
	rel = t - cycle;
	j = count_le(r->cyc_at, m, rel);
	if (j == 0) {
		s->start = r->cyc_at[m - 1] + cycle - CYCLE_SECS;
		s->offset = r->cyc_off[m - 1];
	} else {
		s->start = r->cyc_at[j - 1] + cycle;
		s->offset = r->cyc_off[j - 1];
	}
	s->prev_offset = r->cyc_off[(j + 2 * m - 2) % m];
	if (j < m) {
		s->end = r->cyc_at[j] + cycle;
		s->next_offset = r->cyc_off[j];
	} else {
		s->end = r->cyc_at[0] + cycle + CYCLE_SECS;
		s->next_offset = r->cyc_off[0];
	}
}

/* The span of the pure rule (no explicit transitions) containing t.  The
 * rule's reign is (lo, hi): beyond it the offset freezes, so that no
 * arithmetic comes near the ends of int64. */
static void
rule_span(const struct tz_rule *r, int64_t t, struct tz_span *s)
{
	const struct tz_date *first, *second;
	int32_t first_off, second_off, first_in, second_in;
	int64_t jan1, y, a, b;

	if (t < r->lo || t >= r->hi) {
		rule_span(r, t < r->lo ? r->lo : r->hi - 1, s);
		return;
	}
	y = year_of_day(util_floor_div(t, SECS_PER_DAY), &jan1);
	if (!r->fast || y - 1 < RULE_YEAR_MIN || y + 1 >= RULE_YEAR_MAX) {
		rule_span_cycle(r, t, s);
		if (s->start <= r->lo) {
			s->start = INT64_MIN;
			s->prev_offset = s->offset;
		}
		if (s->end >= r->hi) {
			s->end = INT64_MAX;
			s->next_offset = s->offset;
		}
		return;
	}
	if (r->reversed) {
		first = &r->end;
		first_in = r->dst_off;
		first_off = r->std_off;
		second = &r->start;
		second_in = r->std_off;
		second_off = r->dst_off;
	} else {
		first = &r->start;
		first_in = r->std_off;
		first_off = r->dst_off;
		second = &r->end;
		second_in = r->dst_off;
		second_off = r->std_off;
	}
	a = date_at(first, y, jan1, first_in);
	b = date_at(second, y, jan1, second_in);
	if (t < a) {
		int64_t py = y - 1, pjan1 = jan1 - 365 - is_leap(py);

		s->start = date_at(second, py, pjan1, second_in);
		s->end = a;
		s->offset = second_off;
	} else if (t < b) {
		s->start = a;
		s->end = b;
		s->offset = first_off;
	} else {
		int64_t njan1 = jan1 + 365 + is_leap(y);

		s->start = b;
		s->end = date_at(first, y + 1, njan1, first_in);
		s->offset = second_off;
	}
	/* Two states that alternate: both neighbours are the other one. */
	s->prev_offset = s->next_offset =
	    s->offset == r->std_off ? r->dst_off : r->std_off;
}

static bool
is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* A zone abbreviation: 3+ letters, or <3+ alphanumerics, '+' or '-'>. */
static const char *
posix_name(const char *p)
{
	const char *q;

	if (*p == '<') {
		for (q = ++p;
		     is_alpha(*q) || is_digit(*q) || *q == '+' || *q == '-';
		     q++)
			;
		return *q == '>' && q - p >= 3 ? q + 1 : NULL;
	}
	for (q = p; is_alpha(*q); q++)
		;
	return q - p >= 3 ? q : NULL;
}

static const char *
posix_num(const char *p, int max, int *v)
{
	int x = 0;

	if (!is_digit(*p))
		return NULL;
	for (; is_digit(*p); p++) {
		x = x * 10 + (*p - '0');
		if (x > max)
			return NULL;
	}
	*v = x;
	return p;
}

/* [+-]hh[:mm[:ss]] with hh <= max_hours; the value in seconds. */
static const char *
posix_hms(const char *p, int max_hours, int32_t *secs)
{
	int sign = 1, h, m = 0, s = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if ((p = posix_num(p, max_hours, &h)) == NULL)
		return NULL;
	if (*p == ':') {
		if ((p = posix_num(p + 1, 59, &m)) == NULL)
			return NULL;
		if (*p == ':' && (p = posix_num(p + 1, 59, &s)) == NULL)
			return NULL;
	}
	*secs = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *
posix_date(const char *p, struct tz_date *dt)
{
	dt->time = 2 * 3600;
	if (*p == 'J') {
		dt->kind = DATE_JULIAN;
		if ((p = posix_num(p + 1, 365, &dt->n)) == NULL || dt->n < 1)
			return NULL;
	} else if (*p == 'M') {
		dt->kind = DATE_MONTH;
		if ((p = posix_num(p + 1, 12, &dt->m)) == NULL || dt->m < 1 ||
		    *p != '.' || (p = posix_num(p + 1, 5, &dt->w)) == NULL ||
		    dt->w < 1 || *p != '.' ||
		    (p = posix_num(p + 1, 6, &dt->d)) == NULL)
			return NULL;
	} else {
		dt->kind = DATE_ZERO;
		if ((p = posix_num(p, 365, &dt->n)) == NULL)
			return NULL;
	}
	if (*p == '/')
		p = posix_hms(p + 1, RULE_HOURS_MAX, &dt->time);
	return p;
}

/* Parse a TZif footer.  *has_dst tells whether r's dates are meaningful; a
 * DST name with no rule gets the US rule, as in tzcode. */
static int
posix_parse(const char *s, struct tz_rule *r, bool *has_dst, char *err,
            size_t errlen)
{
	const char *p = s;
	int32_t off;

	memset(r, 0, sizeof(*r));
	*has_dst = false;
	if ((p = posix_name(p)) == NULL)
		goto bad;
	if ((p = posix_hms(p, 24, &off)) == NULL)
		goto bad;
	r->std_off = r->dst_off = -off; /* POSIX counts west of Greenwich */
	if (*p == '\0')
		return 0;
	if ((p = posix_name(p)) == NULL)
		goto bad;
	r->dst_off = r->std_off + 3600;
	if (*p == '+' || *p == '-' || is_digit(*p)) {
		if ((p = posix_hms(p, 24, &off)) == NULL)
			goto bad;
		r->dst_off = -off;
	}
	if (*p == '\0') {
		r->start = (struct tz_date){
		    .kind = DATE_MONTH, .m = 3, .w = 2, .time = 7200};
		r->end = (struct tz_date){
		    .kind = DATE_MONTH, .m = 11, .w = 1, .time = 7200};
	} else if (*p != ',' || (p = posix_date(p + 1, &r->start)) == NULL ||
	           *p != ',' || (p = posix_date(p + 1, &r->end)) == NULL ||
	           *p != '\0') {
		goto bad;
	}
	/* DST at the same offset as standard time never changes anything. */
	*has_dst = r->dst_off != r->std_off;
	return 0;
bad:
	util_seterr(err, errlen, "bad TZ string \"%s\" in the TZif footer", s);
	return -EINVAL;
}

/* ---- TZif -------------------------------------------------------------- */

struct tzif_counts {
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
	uint8_t version;
};

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int
tzif_header(const uint8_t *p, size_t len, struct tzif_counts *h, char *err,
            size_t errlen)
{
	if (len < TZIF_HDR_LEN) {
		util_seterr(err, errlen, "truncated TZif data");
		return -EINVAL;
	}
	if (memcmp(p, "TZif", 4) != 0) {
		util_seterr(err, errlen, "not TZif data (bad magic)");
		return -EINVAL;
	}
	h->version = p[4];
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	return 0;
}

/* Bytes of the data block after a header; 64-bit arithmetic cannot
 * overflow on 32-bit counts. */
static uint64_t
tzif_block_len(const struct tzif_counts *h, unsigned timesize)
{
	return (uint64_t)h->timecnt * (timesize + 1) +
	       (uint64_t)h->typecnt * 6 + h->charcnt +
	       (uint64_t)h->leapcnt * (timesize + 4) + h->isstdcnt + h->isutcnt;
}

/* Append a transition to offset off at instant at, unless it changes
 * nothing. */
static void
zone_push(struct tz *z, int64_t at, int32_t off)
{
	int32_t cur = z->n ? z->off[z->n - 1] : z->off0;

	if (off == cur)
		return;
	z->trans[z->n] = at;
	z->off[z->n] = off;
	z->n++;
}

/* From rule_from on the footer rule is authoritative: make the explicit
 * list agree with it at that instant, so spans stitch without a seam. */
static void
zone_join_rule(struct tz *z, int64_t from, bool have_from, int32_t at_from)
{
	if (!have_from) {
		z->off0 = at_from;
		return;
	}
	if (z->n && z->trans[z->n - 1] == from)
		z->n--;
	zone_push(z, from, at_from);
}

/* One function for the whole TZif file, longer than the house limit: it
 * walks one binary layout from front to back (header, the v1 block to
 * skip, the v2+ header and tables, the footer), and every read checks
 * the bytes left against offsets the earlier reads computed; cut into
 * pieces, each piece would re-derive or pass along that cursor state. */
int
tz_parse(struct tz **out, const char *name, const void *data, size_t len,
         char *err, size_t errlen)
{
	const uint8_t *p = data, *times, *idx, *types;
	struct tzif_counts h;
	struct tz *z = NULL;
	size_t pos = TZIF_HDR_LEN;
	unsigned timesize = 4;
	uint64_t blk;
	int64_t last = 0;
	bool have_last = false, has_dst = false, has_footer = false;
	struct tz_rule rule = {0};
	int rc;

	*out = NULL;
	if ((rc = tzif_header(p, len, &h, err, errlen)) != 0)
		return rc;
	if (h.version != 0) {
		/* Version 2+: skip the 32-bit block, use the 64-bit one. */
		blk = tzif_block_len(&h, 4);
		if (blk > len - pos) {
			util_seterr(err, errlen, "truncated TZif data");
			return -EINVAL;
		}
		pos += (size_t)blk;
		if ((rc = tzif_header(p + pos, len - pos, &h, err, errlen)) !=
		    0)
			return rc;
		pos += TZIF_HDR_LEN;
		timesize = 8;
	}
	blk = tzif_block_len(&h, timesize);
	if (blk > len - pos) {
		util_seterr(err, errlen, "truncated TZif data");
		return -EINVAL;
	}
	if (h.typecnt == 0) {
		util_seterr(err, errlen, "TZif data without time types");
		return -EINVAL;
	}
	if (h.leapcnt != 0) {
		util_seterr(
		    err, errlen,
		    "TZif data with leap seconds (\"right/\" zones) is not "
		    "supported");
		return -EINVAL;
	}

	rc = -ENOMEM;
	if ((z = calloc(1, sizeof(*z))) == NULL ||
	    (z->name = strdup(name ? name : "")) == NULL ||
	    (z->trans = malloc(((size_t)h.timecnt + 1) * sizeof(int64_t))) ==
	        NULL ||
	    (z->off = malloc(((size_t)h.timecnt + 1) * sizeof(int32_t))) ==
	        NULL) {
		util_seterr(err, errlen, "out of memory");
		goto fail;
	}

	rc = -EINVAL;
	times = p + pos;
	idx = times + (size_t)h.timecnt * timesize;
	types = idx + h.timecnt;
	for (uint32_t i = 0; i < h.typecnt; i++) {
		int32_t utoff = (int32_t)be32(types + 6 * (size_t)i);

		if (utoff < OFF_MIN || utoff > OFF_MAX) {
			util_seterr(err, errlen,
			            "TZif UTC offset %" PRId32 " out of range",
			            utoff);
			goto fail;
		}
	}
	/* RFC 8536: before the first transition, local time is type 0. */
	z->off0 = (int32_t)be32(types);
	for (uint32_t i = 0; i < h.timecnt; i++) {
		int64_t at = timesize == 8
		                 ? be64(times + 8 * (size_t)i)
		                 : (int32_t)be32(times + 4 * (size_t)i);

		if (idx[i] >= h.typecnt) {
			util_seterr(err, errlen,
			            "TZif transition %" PRIu32
			            " has time type %u of %" PRIu32,
			            i, idx[i], h.typecnt);
			goto fail;
		}
		if (have_last && at <= last) {
			util_seterr(
			    err, errlen,
			    "TZif transitions are not in ascending order");
			goto fail;
		}
		zone_push(z, at, (int32_t)be32(types + 6 * (size_t)idx[i]));
		last = at;
		have_last = true;
	}

	pos += (size_t)blk;
	if (timesize == 8) {
		const char *f = (const char *)p + pos, *nl;
		char footer[TZ_FOOTER_MAX + 1];
		size_t flen;

		if (pos >= len || *f != '\n' ||
		    (nl = memchr(f + 1, '\n', len - pos - 1)) == NULL) {
			util_seterr(err, errlen,
			            "TZif footer missing or truncated");
			goto fail;
		}
		flen = (size_t)(nl - f - 1);
		if (flen > TZ_FOOTER_MAX) {
			util_seterr(err, errlen, "TZif footer too long");
			goto fail;
		}
		for (size_t i = 0; i < flen; i++) {
			if (f[1 + i] < 0x20 || f[1 + i] > 0x7e) {
				util_seterr(
				    err, errlen,
				    "TZif footer has a control character");
				goto fail;
			}
		}
		memcpy(footer, f + 1, flen);
		footer[flen] = '\0';
		if (flen > 0) {
			if ((rc = posix_parse(footer, &rule, &has_dst, err,
			                      errlen)) != 0)
				goto fail;
			has_footer = true;
		}
	}

	if (has_footer && has_dst) {
		struct tz_span sp;

		rule.lo =
		    tz_days_from_civil(RULE_YEAR_MIN, 1, 1) * SECS_PER_DAY;
		rule.hi =
		    tz_days_from_civil(RULE_YEAR_MAX, 1, 1) * SECS_PER_DAY;
		rule_classify(&rule);
		z->rule = rule;
		if ((rc = rule_tabulate(&z->rule)) != 0) {
			util_seterr(err, errlen, "out of memory");
			goto fail;
		}
		z->has_rule = true;
		z->rule_from = have_last ? last : INT64_MIN;
		rule_span(&z->rule, z->rule_from, &sp);
		zone_join_rule(z, last, have_last, sp.offset);
	} else if (has_footer) {
		zone_join_rule(z, last, have_last, rule.std_off);
	}
	*out = z;
	return 0;
fail:
	tz_free(z);
	return rc;
}

/* ---- loading ----------------------------------------------------------- */

static bool
printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* Zone names index a directory: no way out of it. */
static int
check_name(const char *name, char *err, size_t errlen)
{
	const char *why = NULL;

	if (name == NULL || *name == '\0') {
		util_seterr(err, errlen, "empty time zone name");
		return -EINVAL;
	}
	if (strlen(name) > TZ_NAME_MAX)
		why = "too long";
	else if (name[0] == '/')
		why = "absolute paths are not allowed";
	else if (strstr(name, "..") != NULL)
		why = "\"..\" is not allowed";
	else
		for (const char *p = name; *p && why == NULL; p++)
			if (!is_alpha(*p) && !is_digit(*p) &&
			    strchr("/_+-.", *p) == NULL)
				why = "only letters, digits and / _ + - . are "
				      "allowed";
	if (why == NULL)
		return 0;
	if (printable(name) && strlen(name) <= TZ_NAME_MAX)
		util_seterr(err, errlen, "invalid time zone name \"%s\": %s",
		            name, why);
	else
		util_seterr(err, errlen, "invalid time zone name: %s", why);
	return -EINVAL;
}

int
tz_load(struct tz **out, const char *name, char *err, size_t errlen)
{
	const char *dir = getenv("TZDIR");
	char path[PATH_MAX], why[256];
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd = -1, rc, n;

	*out = NULL;
	if ((rc = check_name(name, err, errlen)) != 0)
		return rc;
	if (dir == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		util_seterr(err, errlen, "time zone path too long");
		return -ENAMETOOLONG;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = -errno;
		if (rc == -ENOENT || rc == -ENOTDIR) {
			rc = -ENOENT;
			util_seterr(err, errlen, "unknown time zone \"%s\"",
			            name);
		} else {
			util_seterr(err, errlen, "%s: %s", path, strerror(-rc));
		}
		goto fail;
	}
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		util_seterr(err, errlen, "%s: %s", path, strerror(-rc));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) { /* "Europe" is a directory, not a zone */
		rc = -ENOENT;
		util_seterr(err, errlen, "unknown time zone \"%s\"", name);
		goto fail;
	}
	if (st.st_size > TZ_FILE_MAX) {
		rc = -EFBIG;
		util_seterr(err, errlen, "%s: larger than %d bytes", path,
		            TZ_FILE_MAX);
		goto fail;
	}
	/* One spare byte to notice a file that grew since fstat. */
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = -ENOMEM;
		util_seterr(err, errlen, "out of memory");
		goto fail;
	}
	while (got <= (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size + 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			util_seterr(err, errlen, "%s: %s", path, strerror(-rc));
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got > (size_t)st.st_size) {
		rc = -EAGAIN;
		util_seterr(err, errlen, "%s: changed while being read", path);
		goto fail;
	}
	if ((rc = tz_parse(out, name, buf, got, why, sizeof(why))) != 0)
		util_seterr(err, errlen, "%s: %s", path, why);
fail:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

const struct tz *
tz_utc(void)
{
	return &utc_zone;
}

void
tz_free(struct tz *zone)
{
	if (zone == NULL || zone == &utc_zone)
		return;
	free(zone->name);
	free(zone->rule.cyc_at);
	free(zone->rule.cyc_off);
	free(zone->trans);
	free(zone->off);
	free(zone);
}

const char *
tz_name(const struct tz *zone)
{
	return zone->name;
}

/* ---- queries ----------------------------------------------------------- */

void
tz_span_at(const struct tz *z, int64_t t, struct tz_span *s)
{
	size_t i, n = z->n;

	if (z->has_rule && t >= z->rule_from) {
		rule_span(&z->rule, t, s);
		if (s->start <= z->rule_from) {
			/* The rule's own boundary lies before its reign: the
			 * span began at the last explicit transition. */
			if (n) {
				s->start = z->trans[n - 1];
				s->prev_offset =
				    n > 1 ? z->off[n - 2] : z->off0;
			} else {
				s->start = INT64_MIN;
				s->prev_offset = s->offset;
			}
		}
		return;
	}
	i = count_le(z->trans, n, t);
	s->start = i ? z->trans[i - 1] : INT64_MIN;
	s->offset = i ? z->off[i - 1] : z->off0;
	s->prev_offset = i > 1 ? z->off[i - 2] : i ? z->off0 : s->offset;
	if (i < n) {
		s->end = z->trans[i];
		s->next_offset = z->off[i];
	} else if (z->has_rule) {
		struct tz_span r;

		rule_span(&z->rule, z->rule_from, &r);
		s->end = r.end;
		s->next_offset = r.next_offset;
	} else {
		s->end = INT64_MAX;
		s->next_offset = s->offset;
	}
}

int32_t
tz_offset_at(const struct tz *zone, int64_t t)
{
	struct tz_span s;

	tz_span_at(zone, t, &s);
	return s.offset;
}

int
tz_wall_to_utc(const struct tz *zone, int64_t wall, int64_t *t)
{
	/* Every instant that can read as `wall` lies in [lo, hi]. */
	int64_t lo = sat_add(wall, -(int64_t)OFF_MAX);
	int64_t hi = sat_add(wall, -(int64_t)OFF_MIN);
	int64_t gap = 0, c, prev_end;
	bool in_gap = false, first = true;
	struct tz_span s;

	tz_span_at(zone, lo, &s);
	for (;;) {
		int64_t before, after;

		/* A boundary whose clock jumps over `wall`. */
		if (!first && !in_gap &&
		    !__builtin_add_overflow(s.start, s.prev_offset, &before) &&
		    !__builtin_add_overflow(s.start, s.offset, &after) &&
		    before <= wall && wall < after) {
			gap = s.start;
			in_gap = true;
		}
		first = false;
		/* Spans come in time order: the first fit is the earliest. */
		if (!__builtin_add_overflow(wall, -(int64_t)s.offset, &c) &&
		    c >= s.start && (c < s.end || s.end == INT64_MAX)) {
			*t = c;
			return 0;
		}
		if (s.end == INT64_MAX || s.end > hi)
			break;
		prev_end = s.end;
		tz_span_at(zone, s.end, &s);
		if (s.end <= prev_end)
			break; /* cannot happen; never loop forever */
	}
	if (in_gap) {
		*t = gap;
		return 1;
	}
	/* Only at the very ends of int64: clamp. */
	*t = sat_add(wall, -(int64_t)s.offset);
	return 0;
}

/* ---- ISO 8601 ---------------------------------------------------------- */

int
tz_format_iso(const struct tz *zone, int64_t t, char *buf, size_t len)
{
	int32_t off = tz_offset_at(zone, t);
	int32_t a = off < 0 ? -off : off;
	struct tz_civil c;
	int64_t wall;
	char date[48], zone_off[16];
	int n;

	if (__builtin_add_overflow(t, (int64_t)off, &wall)) {
		/* Only within a day of year 292277026596: show UTC. */
		wall = t;
		off = a = 0;
	}
	tz_civil_from_seconds(wall, &c);
	if (c.year >= 0 && c.year <= 9999)
		snprintf(date, sizeof(date), "%04" PRId64, c.year);
	else
		snprintf(date, sizeof(date), "%+05" PRId64, c.year);
	if (a % 60)
		snprintf(zone_off, sizeof(zone_off), "%c%02d:%02d:%02d",
		         off < 0 ? '-' : '+', (int)(a / 3600),
		         (int)(a / 60 % 60), (int)(a % 60));
	else
		snprintf(zone_off, sizeof(zone_off), "%c%02d:%02d",
		         off < 0 ? '-' : '+', (int)(a / 3600),
		         (int)(a / 60 % 60));
	n = snprintf(buf, len, "%s-%02d-%02dT%02d:%02d:%02d%s", date, c.month,
	             c.day, c.hour, c.minute, c.second, zone_off);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

/* Exactly n digits into *v. */
static const char *
iso_digits(const char *p, int n, int *v)
{
	int x = 0;

	for (int i = 0; i < n; i++, p++) {
		if (!is_digit(*p))
			return NULL;
		x = x * 10 + (*p - '0');
	}
	*v = x;
	return p;
}

int
tz_parse_iso(const struct tz *zone, const char *s, int64_t *t)
{
	struct tz_civil c = {0};
	const char *p = s;
	int y, oh, om, sign;
	int64_t wall;

	if (p == NULL || (p = iso_digits(p, 4, &y)) == NULL || *p != '-' ||
	    (p = iso_digits(p + 1, 2, &c.month)) == NULL || *p != '-' ||
	    (p = iso_digits(p + 1, 2, &c.day)) == NULL ||
	    (*p != 'T' && *p != 't' && *p != ' ') ||
	    (p = iso_digits(p + 1, 2, &c.hour)) == NULL || *p != ':' ||
	    (p = iso_digits(p + 1, 2, &c.minute)) == NULL)
		return -EINVAL;
	if (*p == ':' && (p = iso_digits(p + 1, 2, &c.second)) == NULL)
		return -EINVAL;
	c.year = y;
	if (c.month < 1 || c.month > 12 || c.day < 1 ||
	    c.day > tz_days_in_month(c.year, c.month) || c.hour > 23 ||
	    c.minute > 59 || c.second > 59)
		return -EINVAL;
	wall = tz_seconds_from_civil(&c);

	if (*p == '\0') {
		tz_wall_to_utc(zone, wall, t); /* a gap reads as its end */
		return 0;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		*t = wall;
		return 0;
	}
	if (*p != '+' && *p != '-')
		return -EINVAL;
	sign = *p == '-' ? -1 : 1;
	if ((p = iso_digits(p + 1, 2, &oh)) == NULL)
		return -EINVAL;
	if (*p == ':')
		p++;
	if ((p = iso_digits(p, 2, &om)) == NULL || *p != '\0' || oh > 23 ||
	    om > 59)
		return -EINVAL;
	*t = wall - sign * (oh * 3600 + om * 60);
	return 0;
}
