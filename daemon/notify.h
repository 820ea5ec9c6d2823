/*
 * notify: whether the end of a fire is told, and the messages that tell
 * it.  Pure: the fire, the job's settings, what is remembered of the job's
 * earlier fires and the time come in; a decision and rendered texts come
 * out.  Delivering them (webhooks, sendmail, heartbeats) is notifier's.
 *
 * One message per fire, never one per site: a job over 200 environments
 * sends one digest (counts by outcome, then each environment that did not
 * succeed with the API's message and note), so that nobody mutes it.  The
 * first failed fire is told at once; a failure that goes on is told again
 * at most once per repeat_every ("still failing (N times since ...)"); the
 * first fire that succeeds after failures says "recovered after N failed
 * runs since ...".  A fire counts as failed when a target failed or timed
 * out (or it failed before it had targets); one that only skipped or
 * rolled back neither starts nor ends a failure.
 *
 * No message holds an API key: nothing here is given one.
 */
#ifndef KCRON_NOTIFY_H
#define KCRON_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config_notify;
struct exec_fire;

/* What a job's earlier fires left, kept in state.json across restarts.
 * All zero: the last fire that counted did not fail. */
struct notify_memory {
	uint32_t failures; /* failed fires in a row (0: not failing) */
	int64_t since_ms;  /* start of the first of them */
	int64_t sent_ms;   /* when the last message about them was decided */
};

enum notify_event {
	NOTIFY_NONE,          /* nothing to send */
	NOTIFY_FAILURE,       /* the first failed fire after a good one */
	NOTIFY_STILL_FAILING, /* another failed fire, repeat_every later */
	NOTIFY_RECOVERY,      /* the first good fire after failures */
	NOTIFY_SUCCESS,
	NOTIFY_ROLLED_BACK,
	NOTIFY_SKIPPED
};

/* Targets listed one by one in a message; the rest are counted. */
#define NOTIFY_LIST_MAX 50

/* A decided message: what rendering needs besides the fire. */
struct notify_msg {
	enum notify_event event;
	uint32_t failures; /* failed fires in a row, this one included */
	int64_t since_ms;  /* the first of them */
	char title[320];   /* one line: "job nightly failed on 2 of 5 ..." */
};

/* The name of an event in messages and the JSON format ("failure",
 * "still-failing", "recovery", "success", "rolled-back", "skipped"). */
const char *notify_event_name(enum notify_event ev);

/* Did fire f fail (a target failed or timed out, or it had none because
 * it failed first)?  What heartbeats report as /fail too. */
bool notify_fire_failed(const struct exec_fire *f);

/* Decide what the end of fire f tells under settings n (NULL: nothing),
 * given the job's memory *m (updated here) at now_ms; fills *msg and
 * returns its event, NOTIFY_NONE when nothing is to be sent. */
enum notify_event notify_decide(const struct config_notify *n,
                                const struct exec_fire *f,
                                struct notify_memory *m, int64_t now_ms,
                                struct notify_msg *msg);

/* The digest as plain text (title line, blank line, details): the email's
 * body and a failed heartbeat's.  *out is malloc'ed and NUL-terminated,
 * *len its length; 0 or -ENOMEM. */
int notify_text(const struct notify_msg *msg, const struct exec_fire *f,
                char **out, size_t *len);

/* A Slack incoming-webhook body ({"text", "attachments"}), which
 * Mattermost and Discord's /slack endpoint take too; 0 or -errno. */
int notify_slack(const struct notify_msg *msg, const struct exec_fire *f,
                 char **out, size_t *len);

/* The documented JSON body (kinsta-cron.conf(5), "JSON format"); 0 or
 * -errno. */
int notify_json(const struct notify_msg *msg, const struct exec_fire *f,
                char **out, size_t *len);

/* An RFC 5322 message for `sendmail -t -oi`: From (from), To (the
 * addresses), Subject, Date (now_ms), Message-ID (run id, event, host),
 * a text/plain UTF-8 body; 0 or -errno. */
int notify_email(const struct notify_msg *msg, const struct exec_fire *f,
                 const char *from, const char *const *to, size_t nto,
                 const char *host, int64_t now_ms, char **out, size_t *len);

#endif
