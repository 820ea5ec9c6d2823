/*
 * tz: IANA time zones and calendar arithmetic.
 *
 * A zone is read once from the system's zoneinfo (TZif, version 2 or later,
 * including the POSIX TZ footer that extends the rules beyond the last
 * recorded transition) and is then immutable: every query is a pure
 * function of the zone and an instant.  No setenv("TZ")/tzset(), no libc
 * time-zone state.  Instants are seconds since the Unix epoch (UTC); "wall"
 * times are the same count read on a zone's local clock.
 */
#ifndef KCRON_TZ_H
#define KCRON_TZ_H

#include <stddef.h>
#include <stdint.h>

struct tz;

/* A stretch of time with one UTC offset: [start, end).  start is INT64_MIN
 * before the first transition, end INT64_MAX after the last one.
 * Transitions that keep the offset (only the abbreviation or the isdst flag
 * change) are merged away: every boundary changes the offset. */
struct tz_span {
	int64_t start, end;
	int32_t offset;      /* seconds east of UTC inside the span */
	int32_t prev_offset; /* offset just before start (== offset if none) */
	int32_t next_offset; /* offset from end on (== offset if none) */
};

/* Broken-down civil time (proleptic Gregorian), no zone attached. */
struct tz_civil {
	int64_t year;
	int month, day;           /* 1-12, 1-31 */
	int hour, minute, second; /* 0-23, 0-59, 0-59 */
	int wday;                 /* 0 = Sunday */
};

/* Return the shared UTC zone (never freed, never NULL). */
const struct tz *tz_utc(void);

/* Load zone NAME ("Europe/Amsterdam", "UTC") from $TZDIR or
 * /usr/share/zoneinfo; 0 or -errno with a message in err. */
int tz_load(struct tz **out, const char *name, char *err, size_t errlen);

/* Build a zone from TZif bytes (pure; what tz_load calls after reading).
 * Untrusted input is fine: every count and index is checked. */
int tz_parse(struct tz **out, const char *name, const void *data, size_t len,
             char *err, size_t errlen);

/* Release a zone from tz_load/tz_parse (tz_utc's zone is ignored). */
void tz_free(struct tz *zone);

/* The zone's name as given to tz_load. */
const char *tz_name(const struct tz *zone);

/* The span of constant offset that contains instant t. */
void tz_span_at(const struct tz *zone, int64_t t, struct tz_span *span);

/* UTC offset in seconds at instant t. */
int32_t tz_offset_at(const struct tz *zone, int64_t t);

/* Wall time -> instant.  An ambiguous wall time (fall back) maps to its
 * first occurrence; one inside a gap (spring forward) to the end of the
 * gap.  Returns 0, or 1 when the wall time fell in a gap. */
int tz_wall_to_utc(const struct tz *zone, int64_t wall, int64_t *t);

/* Days since 1970-01-01 <-> civil date (Hinnant's algorithms; proleptic
 * Gregorian, any year an int64 instant can reach). */
int64_t tz_days_from_civil(int64_t y, int m, int d);
void tz_civil_from_seconds(int64_t wall, struct tz_civil *c);
int64_t tz_seconds_from_civil(const struct tz_civil *c);

/* Days in month m (1-12) of year y. */
int tz_days_in_month(int64_t y, int m);

/* Format instant t in zone as "2026-03-29T03:00:00+02:00" ("Z" never used:
 * the offset is always explicit); returns the length or -ENOSPC. */
int tz_format_iso(const struct tz *zone, int64_t t, char *buf, size_t len);

/* Parse "YYYY-MM-DDTHH:MM[:SS]" ('T' or a space) followed by "Z",
 * "+HH:MM"/"-HH:MM"/"+HHMM", or nothing (then read as wall time in zone,
 * see tz_wall_to_utc); 0 or -EINVAL. */
int tz_parse_iso(const struct tz *zone, const char *s, int64_t *t);

#endif
