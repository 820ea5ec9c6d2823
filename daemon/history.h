/*
 * history: reading history.jsonl (written by state_history_append),
 * newest entry first, for `kinsta-cron history` and for the daemon's
 * start (each job's last outcome).
 *
 * The file is read backwards in 64 KiB blocks with pread(2): the newest
 * entries of a file of gigabytes cost what those of a small one do, and
 * the reader stops where its caller does.  A line that does not parse
 * (a fragment after a full disk, a hand edit) is skipped.
 */
#ifndef KCRON_HISTORY_H
#define KCRON_HISTORY_H

#include <stddef.h>
#include <stdint.h>

/* Lines longer than this are skipped: a history line is a few hundred
 * bytes, its message bounded. */
#define HISTORY_LINE_MAX ((size_t)1 << 20)

/* One entry; the strings ("" when absent or null) and line are valid
 * until the next history_next or history_close. */
struct history_entry {
	const char *job, *action, *env_id, *target, *op_id, *outcome;
	const char *message, *note;
	const char *trigger; /* "manual", or "" for a scheduled run */
	uint64_t run_id;
	int64_t start_ms, end_ms, duration_ms;
	const char *line; /* the JSON text, without its newline */
	size_t len;
};

struct history_reader;

/* Open path for reading from its end: 0, or -errno with a message in err
 * (-ENOENT: no history yet). */
int history_open(struct history_reader **out, const char *path, char *err,
                 size_t errlen);

/* The next entry, going back in time: 1 with *e filled in, 0 at the
 * start of the file, or -errno with a message in err. */
int history_next(struct history_reader *r, struct history_entry *e, char *err,
                 size_t errlen);

/* Close the file and free the reader (NULL is fine). */
void history_close(struct history_reader *r);

/* A period like "7d", "12h", "30m", "90s" or "2w" in ms: 0, or -EINVAL. */
int history_parse_period(const char *s, int64_t *ms);

#endif
