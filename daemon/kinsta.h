/*
 * kinsta: what each action asks of the Kinsta API, and what the answers
 * mean.  Pure: no I/O, no clock; the caller sends the requests (through
 * ratelimit and http), follows operations (ops) and feeds the answers back.
 *
 * A run is one job on one target.  Every action is a short sequence of
 * steps: a step sends one request, and may start an operation that must
 * end before the next step (page, then edge, then CDN cache; list the
 * plugins, back up, then update; back up, list, delete this job's oldest
 * tagged backups).  A run can be rebuilt at any step from the job, the
 * target and the step number, which is what the daemon saves to resume
 * after a restart: intermediate lists are fetched again.
 */
#ifndef KCRON_KINSTA_H
#define KCRON_KINSTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "method.h"
#include "ops.h"
#include "ratelimit.h"
#include "target.h"

struct json_writer;

#define KINSTA_MSG_MAX 256

/* A request to send: path relative to api.url, body owned (free with
 * kinsta_request_clear). */
struct kinsta_request {
	enum method method;
	char path[512];
	char *body;
	size_t body_len;
	enum ratelimit_class cls;
	bool mutating; /* changes something: never resent blindly */
};

enum kinsta_outcome {
	KINSTA_RUNNING,
	KINSTA_SUCCEEDED,
	KINSTA_FAILED,
	KINSTA_TIMED_OUT,
	KINSTA_SKIPPED,
	KINSTA_OUTCOMES /* how many there are; not an outcome */
};

/* What the caller does next. */
enum kinsta_next {
	KINSTA_SEND,   /* send the request kinsta_run_next filled in */
	KINSTA_FOLLOW, /* follow run->op_id (kinsta_poll_request) */
	KINSTA_DONE    /* run->outcome and run->message are final */
};

struct kinsta_run {
	const struct config *cfg;
	const struct config_job *job;
	struct target target;
	int step;        /* the step being worked on; saved for a resume */
	int item;        /* position inside the step (plugin, backup) */
	bool sent;       /* the step's request is out, awaiting kinsta_feed */
	bool deployment; /* op_id is a deployment, not an operation */
	char op_id[OPS_ID_MAX];
	enum kinsta_outcome outcome;
	char message[KINSTA_MSG_MAX]; /* the API's message, or why */
	char note[KINSTA_MSG_MAX];    /* skipped parts ("no CDN") */
	/* fetched lists: plugin or theme names to update, environments to
	 * report on; and apart, the backup ids to delete (to free a slot, or
	 * beyond keep), which an update run needs beside its items */
	char **items;
	size_t nitems;
	char **drop;
	size_t ndrop;
	struct json_writer *report; /* report: the document being built */
};

/* Start run on target for job (cfg gives the company and the account).
 * The target must outlive nothing: it is copied. */
void kinsta_run_init(struct kinsta_run *run, const struct config *cfg,
                     const struct config_job *job, const struct target *target);

/* Rebuild a run that was following op_id at step (after a restart).
 * step_name (NULL for a state file written before steps were named) puts
 * the run at that kind of step even if the action's step list changed. */
void kinsta_run_resume(struct kinsta_run *run, const struct config *cfg,
                       const struct config_job *job,
                       const struct target *target, int step,
                       const char *step_name, const char *op_id,
                       bool deployment);

/* Release what the run holds. */
void kinsta_run_free(struct kinsta_run *run);

/* Decide the next move; for KINSTA_SEND fills req (0 on success,
 * -ENOMEM/-EINVAL end the run as failed and return KINSTA_DONE). */
enum kinsta_next kinsta_run_next(struct kinsta_run *run,
                                 struct kinsta_request *req);

/* Feed the answer to the request of the current step: HTTP status and
 * body (status 0 with error text: it never got an answer). */
enum kinsta_next kinsta_feed(struct kinsta_run *run, long status,
                             const char *body, size_t len, const char *error);

/* The operation (or deployment) of the current step ended in state with
 * message: carry on with the next step or end the run. */
enum kinsta_next kinsta_op_done(struct kinsta_run *run, enum ops_state state,
                                const char *message);

/* The kind of step the run is at (STEP_END once past the last). */
enum action_step kinsta_step(const struct kinsta_run *run);

/* What the current step acts on, for logs: the backup id a DELETE drops,
 * or NULL. */
const char *kinsta_step_item(const struct kinsta_run *run);

/* The answer of the poll that saw the current step's operation succeed:
 * what the step wants from it (a new site's id, in run->note). */
void kinsta_op_result(struct kinsta_run *run, const char *body, size_t len);

/* The GET that polls run->op_id. */
void kinsta_poll_request(const struct kinsta_run *run,
                         struct kinsta_request *req);

/* Classify a poll answer; message (size KINSTA_MSG_MAX) gets the API's
 * text when there is one. */
enum ops_poll kinsta_classify_poll(bool deployment, long status,
                                   const char *body, size_t len, char *message);

/* The GET that lists the company's sites with their environments. */
void kinsta_sites_request(const struct config *cfg, size_t account,
                          struct kinsta_request *req);

/* Pick job's targets from a GET /sites answer: *out (free()) gets *n
 * targets.  0, or -EINVAL with a message (bad JSON, no match: what was
 * asked and what exists). */
int kinsta_select(const struct config_job *job, const char *body, size_t len,
                  struct target **out, size_t *n, char *err, size_t errlen);

/* Targets of a job that names environment ids (no listing needed). */
int kinsta_targets_from_ids(const struct config_job *job, struct target **out,
                            size_t *n);

/* Does the action need the site listing even for environment ids (site
 * id, CDN id, environment names)? */
bool kinsta_needs_listing(const struct config_job *job);

/* The finished report document (report action, after KINSTA_DONE with
 * KINSTA_SUCCEEDED): 0, with *buf and *len valid until kinsta_run_free. */
int kinsta_report(const struct kinsta_run *run, const char **buf, size_t *len);

/* Free a request's body and reset it. */
void kinsta_request_clear(struct kinsta_request *req);

/* "succeeded", "failed", "timed-out", "skipped", "running" */
const char *kinsta_outcome_name(enum kinsta_outcome o);

/* Pull message / "too many requests" out of an error body: fills message
 * (KINSTA_MSG_MAX) with the API's text or a short description; returns
 * true when the body says the rate limit was hit. */
bool kinsta_error_message(long status, const char *body, size_t len,
                          char *message);

/* Did Kinsta refuse a request because the environment is busy with
 * another operation ("The environment is blocked by another process")?
 * Such a refusal changed nothing, so the request may be sent again. */
bool kinsta_env_blocked(long status, const char *body, size_t len);

#endif
