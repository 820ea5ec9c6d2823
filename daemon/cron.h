/*
 * cron: the schedule language and the next-fire-time engine.
 *
 * An expression is parsed once into bit sets plus a few special-day rules
 * (L, W, nth and last weekday); cron_next then answers "first fire time
 * strictly after T in zone Z" without I/O or allocation.  The daylight
 * saving rules (gap, repeated hour, interval jobs) are documented in
 * docs/schedules.md and kinsta-cron.conf(5).
 */
#ifndef KCRON_CRON_H
#define KCRON_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tz.h"

struct cron {
	uint64_t second;  /* bits 0-59 */
	uint64_t minute;  /* bits 0-59 */
	uint32_t hour;    /* bits 0-23 */
	uint32_t dom;     /* bits 1-31: plain days of month */
	uint32_t dom_w;   /* bits 1-31: "nW", nearest weekday to n */
	uint32_t dom_l;   /* bit k: "L-k", last day minus k (bit 0: "L") */
	uint16_t month;   /* bits 1-12 */
	uint8_t dow;      /* bits 0-6, Sunday = 0 */
	uint8_t dow_last; /* bits 0-6: "5L", last such weekday of the month */
	uint64_t dow_nth; /* bit (n-1)*7 + d: "d#n", nth weekday d */
	bool dom_lw;      /* "LW": last weekday (Mon-Fri) of the month */
	bool dom_star;    /* day-of-month is "*" or "?" (see the OR rule) */
	bool dow_star;    /* day-of-week is "*" or "?" */
	bool fixed;       /* seconds, minutes, hours are single values only */
	int64_t every;    /* > 0: "@every", period in seconds from the epoch */
};

/* Parse EXPR (5 or 6 fields, @macro, @every); NAME seeds "H" (may be NULL
 * when the expression has no H).  0, or -EINVAL with a message in err. */
int cron_parse(struct cron *c, const char *expr, const char *name, char *err,
               size_t errlen);

/* First fire time strictly after instant `after`, in zone; 0, or -ERANGE
 * when there is none before the end of representable time. */
int cron_next(const struct cron *c, const struct tz *zone, int64_t after,
              int64_t *next);

/* Does the naive (zone-less) wall time match every field? */
bool cron_match_wall(const struct cron *c, int64_t wall);

#endif
