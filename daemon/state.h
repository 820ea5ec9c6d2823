/*
 * state: what the daemon must remember across a restart, in state_dir, so
 * that a restart neither fires a cron slot twice nor forgets an operation
 * that Kinsta is still working on; and the history of finished runs.
 *
 * state.json holds, per job, the last scheduled time fired (the cron slot,
 * not the actual start) and every operation in flight.  It is rewritten
 * whole and atomically (temp file, fsync, rename, fsync of the directory),
 * mode 0600.  A file that cannot be used is never deleted: it is renamed
 * aside to state.json.corrupt-<UTC time> and the daemon starts empty.
 *
 *   {"version":1,
 *    "last":[{"job":"nightly","fired":1774753200}, ...],
 *    "ops":[{"job":"nightly","run_id":"42","step":2,
 *            "step_name":"backup","op_id":"...",
 *            "deployment":false,"started_ms":1774753200123,
 *            "target":{"env_id":"...","env_name":"live",...,
 *                      "resolved":true}}, ...],
 *    "durations":[{"key":"backup@<company>","ms":[61200,59800,...]}, ...],
 *    "failing":[{"job":"nightly","failures":3,"since_ms":...,
 *                "sent_ms":...}, ...],
 *    "notices":[{"id":"7","job":"nightly","kind":"webhook",
 *                "url":"https://...","body":"...","attempts":2,
 *                "created_ms":...,"next_ms":...}, ...]}
 *
 * failing holds the jobs whose last fire that counted failed (what notify
 * decides with); notices the notifications and heartbeats not delivered
 * yet, so that a restart does not lose them.  A webhook URL is a secret
 * of its own (whoever has it can post): the file is 0600.
 *
 * run_id is a decimal string: a JSON number loses precision above 2^53 in
 * most readers (jq, JavaScript).
 *
 * history.jsonl gets one JSON object per finished run, appended with one
 * write(2) on an O_APPEND descriptor, so that concurrent writers interleave
 * whole lines only.  It is not fsynced: it is a record for people, a lost
 * last line after a power cut costs nothing, and a flush per run would
 * stall the loop when thousands of runs end together.  It is reopened for
 * every line, so that logrotate may move it away at any time.
 *
 * No API key ever reaches either file: nothing here holds one.  All I/O is
 * blocking and meant for the loop thread; the files are small.
 */
#ifndef KCRON_STATE_H
#define KCRON_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "notify.h"
#include "target.h"
#include "ops.h"

#define STATE_VERSION 1
/* Job names are at most 128 characters (config), plus the NUL. */
#define STATE_JOB_MAX 129
/* state.json larger than this is not read (it is moved aside). */
#define STATE_MAX_BYTES ((size_t)64 << 20)
/* A step's name ("delete-backup") with its NUL. */
#define STATE_STEP_NAME_MAX 32
/* A buffer this size holds any message of this module. */
#define STATE_MSG_MAX 1024

/* The last cron slot fired of one job; its name is state_last_job's. */
struct state_last {
	uint32_t job;  /* offset of the name in the state's pool */
	int64_t fired; /* seconds since the epoch */
};

/* One run following an operation (or deployment), to resume it. */
struct state_op {
	char job[STATE_JOB_MAX];
	uint64_t run_id;
	struct target target;
	int step;
	/* the step's kind: a newer version's list may put it at another
	 * index; "" in a file written before steps had names */
	char step_name[STATE_STEP_NAME_MAX];
	char op_id[OPS_ID_MAX];
	bool deployment;
	int64_t started_ms; /* wall clock of the run's start */
};

/* A job whose fires are failing: what notify remembers of it. */
struct state_failing {
	char job[STATE_JOB_MAX];
	struct notify_memory m;
};

enum state_notice_kind {
	STATE_NOTICE_WEBHOOK, /* POST body to url */
	STATE_NOTICE_PING,    /* a heartbeat: GET url, or POST body */
	STATE_NOTICE_EMAIL    /* body is the whole message, for sendmail */
};

/* A notification or heartbeat not delivered yet. */
struct state_notice {
	uint64_t id; /* unique in the state */
	char job[STATE_JOB_MAX];
	enum state_notice_kind kind;
	char *url;  /* webhook and ping: where; email: NULL */
	char *body; /* NULL: none (a ping without body) */
	uint32_t attempts;
	int64_t created_ms, next_ms; /* wall clock */
};

/* The durable state.  Read last[] (with state_last_job) and ops[]
 * freely; change them only through the functions below (a hash index over
 * last[] must follow).  Zero-initialised means empty.
 *
 * last[] holds every configured job that has fired, 10,000 of them as
 * easily as ten: 16 bytes each, the names packed in a pool (a name costs
 * its length, not STATE_JOB_MAX), both arrays and the index mappings of
 * their own (mapmem) rather than heap blocks, and a snapshot one mapping
 * of both, freed whole once written. */
struct state {
	struct state_last *last;
	size_t nlast, caplast;
	char *pool;            /* the names of last[], NUL-terminated */
	size_t npool, cappool; /* bytes used (forgotten names too), held */
	size_t dead;           /* bytes of forgotten names in the pool */
	size_t block;          /* a snapshot: last[] and pool in one mapping
	                        * of this many bytes */
	struct state_op *ops;
	size_t nops, capops;
	size_t *index; /* open addressing: 1 + position in last[], 0 empty */
	size_t nindex; /* a power of two, or 0 */
	/* How long each kind of operation took lately, so that polling
	 * keeps what it learned across a restart (ops.h). */
	struct ops_book durations;
	/* notify's memory and undelivered notices (heap, few: only failing
	 * jobs and what is waiting for a retry) */
	struct state_failing *failing;
	size_t nfailing, capfailing;
	struct state_notice *notices;
	size_t nnotices, capnotices;
};

/* One finished run, for state_history_append.  NULL strings are written
 * as JSON null. */
struct state_history {
	const char *job, *action;
	const char *env_id, *target_name; /* target_name: "site/env" */
	const char *op_id, *outcome, *message, *note;
	const char *trigger; /* "manual" for trigger; NULL (no field) for a
	                      * scheduled run */
	uint64_t run_id;
	int64_t start_ms, end_ms; /* wall clock, ms since the epoch */
	/* What the run changed: a JSON object written as "details" as it
	 * is (it must be one, from json's writer), or NULL for none. */
	const char *details;
};

/* The name of last[i]. */
static inline const char *
state_last_job(const struct state *st, size_t i)
{
	return st->pool + st->last[i].job;
}

/* Read DIR/state.json into *st (which it initialises): 0, or 1 with a
 * warning in warn (file moved aside, or invalid entries skipped), or a
 * negative errno with the message in warn when an unusable file cannot be
 * moved aside (starting empty would then lose it at the next save). */
int state_load(struct state *st, const char *dir, char *warn, size_t warnlen);

/* Decode the text of a state.json into *st (initialised here): the number
 * of invalid entries skipped (the first reason in err), or -EINVAL /
 * -EMSGSIZE / -ENOMEM with the reason in err, *st then empty. */
int state_decode(struct state *st, const char *buf, size_t len, char *err,
                 size_t errlen);

/* The state.json text of *st into *out (free()) and *len: 0 or -errno. */
int state_encode(const struct state *st, char **out, size_t *len, char *err,
                 size_t errlen);

/* Write *st atomically to DIR/state.json, mode 0600: 0 or -errno. */
int state_save(const struct state *st, const char *dir, char *err,
               size_t errlen);

/* Replace the file at PATH with BUF[0..LEN) the way state.json is
 * written (atomic, durable, mode 0600): 0 or -errno with a message. */
int state_write_file(const char *path, const char *buf, size_t len, char *err,
                     size_t errlen);

/* A copy of *st's entries into *copy, for state_encode on another thread
 * while *st goes on changing; it has no lookup index, so only encode it,
 * snapshot into it again or free it.  *copy is zero-initialised, or an
 * earlier snapshot whose memory is reused.  0 or -ENOMEM (*copy then
 * empty). */
int state_snapshot(const struct state *st, struct state *copy);

/* Release what *st holds and leave it empty. */
void state_free(struct state *st);

/* The last slot fired of job, or -1 if none is known. */
int64_t state_last_fired(const struct state *st, const char *job);

/* Remember t as job's last slot fired: 0, -EINVAL (empty or too long) or
 * -ENOMEM. */
int state_set_last_fired(struct state *st, const char *job, int64_t t);

/* Drop the last-fired entries of jobs for which keep() is false (jobs no
 * longer configured).  Operations are kept whatever their job: they are
 * still followed to their end. */
void state_forget_jobs(struct state *st,
                       bool (*keep)(const char *job, void *arg), void *arg);

/* Insert op, or replace the one with the same job, run_id and
 * target.env_id: 0, -EINVAL (a string does not fit) or -ENOMEM. */
int state_op_put(struct state *st, const struct state_op *op);

/* Remove the op with that job, run_id and env_id: 0, or -ENOENT. */
int state_op_remove(struct state *st, const char *job, uint64_t run_id,
                    const char *env_id);

/* What notify remembers of job into *m (all zero when it is not failing). */
void state_notify_memory(const struct state *st, const char *job,
                         struct notify_memory *m);

/* Remember *m for job (forgotten when m->failures is 0): 0, -EINVAL (job
 * name too long) or -ENOMEM. */
int state_set_notify_memory(struct state *st, const char *job,
                            const struct notify_memory *m);

/* Keep a copy of *n (its strings copied; n->id 0: a new id is given and
 * returned in *id): 0, -EINVAL or -ENOMEM. */
int state_notice_add(struct state *st, const struct state_notice *n,
                     uint64_t *id);

/* The notice with that id, or NULL. */
struct state_notice *state_notice_find(struct state *st, uint64_t id);

/* Forget the notice with that id: 0 or -ENOENT. */
int state_notice_remove(struct state *st, uint64_t id);

/* Append one line for a finished run to DIR/history.jsonl (created 0600):
 * 0 or -errno with a message. */
int state_history_append(const char *dir, const struct state_history *h,
                         char *err, size_t errlen);

/* Append LINE[0..LEN) (one whole line, newline included) to PATH,
 * created 0600, in one write: 0 or -errno with a message. */
int state_append_line(const char *path, const char *line, size_t len, char *err,
                      size_t errlen);

/* Make sure DIR is a writable directory, creating it (0700) when only the
 * last component is missing: 0, or -errno with a message naming DIR. */
int state_dir_check(const char *dir, char *err, size_t errlen);

#endif
