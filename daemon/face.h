/*
 * face: the HTTP face's requests and answers, without the network.
 *
 * A request (method, decoded path, decoded query parameters, body, the
 * Authorization header, the time) becomes a reply (status, content type,
 * body): the token check, the JSON API under /api/v1/ and the status page
 * at /.  What the daemon knows (its configuration, each job's next slot,
 * the fires in flight, history.jsonl, the budgets) comes through a
 * face_source of hooks, so that the router is tested with a fake one and
 * fuzzed; the fires and runs that ended lately are kept here, in a
 * face_book fed by the daemon.  httpd is the shell around it (the
 * listener, libmicrohttpd, the loop).  No I/O, no clock: the time is an
 * argument.
 */
#ifndef KCRON_FACE_H
#define KCRON_FACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "kinsta.h"

/* Query parameters kept per request; the rest are ignored. */
#define FACE_MAX_PARAMS 16
/* Fires that ended, and target runs that ended, kept in the book. */
#define FACE_BOOK_FIRES 64
#define FACE_BOOK_RUNS  1024
/* Addresses whose bad tokens are remembered at once. */
#define FACE_PENALTY_SLOTS 256

struct face_param {
	const char *key, *value; /* decoded */
};

struct face_request {
	const char *method; /* "GET", "POST", ... */
	const char *path;   /* decoded, without the query */
	struct face_param params[FACE_MAX_PARAMS];
	size_t nparams;
	const char *body; /* need not be NUL-terminated */
	size_t body_len;
	const char *authorization; /* the header's value, or NULL */
	/* Slack's headers: X-Slack-Request-Timestamp, X-Slack-Signature */
	const char *slack_timestamp, *slack_signature;
	int64_t now_ms; /* wall clock */
};

struct face_reply {
	int status;
	const char *type; /* Content-Type (static) */
	char *body;       /* malloc'd; face_reply_free */
	size_t len;
	bool challenge;        /* 401: ask for HTTP Basic (WWW-Authenticate) */
	const char *allow;     /* 405: the methods allowed (static), or NULL */
	int64_t retry_after_s; /* 429: Retry-After, or 0 */
	/* no answer yet: the source looks something up (GET /sites/NAME)
	 * and the answer comes from face_site_answer */
	bool pending;
};

/* One target run that ended (a history.jsonl line); strings owned by
 * whoever made it (the book's are its own). */
struct face_run {
	const char *job, *action, *env_id, *target, *op_id, *outcome;
	const char *message, *note;
	uint64_t run_id;
	int64_t start_ms, end_ms;
};

/* One target of a fire, as exec knows it. */
struct face_target {
	const char *env_id, *name; /* name: "site/env" or "" */
	enum kinsta_outcome outcome;
	const char *op_id, *message, *note;
	int64_t started_ms, ended_ms;
};

/* One fire (one run id) of a job, in flight or ended. */
struct face_fire {
	uint64_t run_id;
	const char *job, *action;
	int64_t started_ms, ended_ms; /* ended_ms 0 while running */
	const char *why;              /* failed before it had targets, or "" */
	struct face_target *targets;
	size_t ntargets;
};

/* What the scheduler says of one job. */
struct face_job_state {
	int64_t next_slot;  /* seconds, or -1: disabled or no next time */
	int64_t last_fired; /* seconds, or -1: never */
	size_t running;     /* runs in flight */
};

/* One account's budget, for the status page. */
struct face_budget {
	int limit, remaining, queued;
	int64_t paused_until_ms; /* 0 when not paused */
};

/* The daemon behind the face.  Hooks left NULL answer "not known". */
struct face_source {
	const struct config *(*config)(void *arg);
	void (*job_state)(void *arg, const struct config_job *job,
	                  struct face_job_state *out);
	/* fire job now: 0 with *run_id, -ENOENT, -EBUSY (running) */
	int (*trigger)(void *arg, const char *job, uint64_t *run_id);
	/* the fire run_id in flight into *out, targets malloc'd (face frees
	 * them) and the strings valid until the hook is called again; 0 or
	 * -ENOENT */
	int (*fire)(void *arg, uint64_t run_id, struct face_fire *out);
	/* the run ids of the fires in flight, oldest first; how many */
	size_t (*fires)(void *arg, uint64_t *ids, size_t max);
	/* the Prometheus exposition (malloc'd, face frees); 0 or -errno */
	int (*metrics)(void *arg, char **text, size_t *len);
	/* history.jsonl's last lines (malloc'd, face frees); 0 or -errno */
	int (*history)(void *arg, char **text, size_t *len);
	/* account (an index in the config) now (paused_until_ms in the
	 * wall clock); 0 or -ENOENT */
	int (*budget)(void *arg, size_t account, struct face_budget *out);
	/* out = HMAC-SHA256(key, msg): 0 or -errno */
	int (*hmac)(void *arg, const void *key, size_t klen, const void *msg,
	            size_t mlen, unsigned char out[32]);
	/* fire job for a Slack command, the outcome to be posted to
	 * response_url when the fire ends: as trigger */
	int (*slack_run)(void *arg, const char *job, const char *response_url,
	                 uint64_t *run_id);
	/* an ad-hoc run of action with the fields v[0..n), asked by "api"
	 * or "slack", its outcome posted to response_url (or NULL) when it
	 * ends: 0 with *run_id, or -EINVAL (bad fields), -EBUSY (an
	 * environment is busy), -EAGAIN (the budget is spent: wait
	 * *retry_after_s), -ENOMEM, with a sentence in err */
	int (*action)(void *arg, enum action_id action,
	              const struct config_value *v, size_t n, const char *by,
	              const char *response_url, uint64_t *run_id, char *err,
	              size_t errlen, int64_t *retry_after_s);
	/* look site up in account (an index in the config): the answer is
	 * this request's (response_url NULL: its reply is pending) or is
	 * posted to response_url; 0, or -errno with a sentence in err */
	int (*site)(void *arg, size_t account, const char *site,
	            const char *response_url, char *err, size_t errlen);
	void *arg;
};

/* The fires and runs that ended lately, newest last, bounded. */
struct face_book {
	struct face_fire fires[FACE_BOOK_FIRES];
	size_t nfires, fire_head; /* fire_head: the oldest */
	struct face_run runs[FACE_BOOK_RUNS];
	size_t nruns, run_head;
};

/* Bad tokens per client address: after three, the address is refused
 * (429) for a while that doubles with each further one, up to a minute;
 * a good token forgets it. */
struct face_penalty {
	struct {
		char addr[48];
		unsigned fails;
		int64_t until_ms, seen_ms;
	} slot[FACE_PENALTY_SLOTS];
};

struct face {
	const struct face_source *src;
	struct face_book *book;
	const char *token; /* the API token (not logged, not shown) */
	/* Slack's signing secret, or NULL: /slack/commands is off */
	const char *slack_secret;
	size_t slack_secret_len;
};

/* Slack requests older (or newer) than this are refused. */
#define FACE_SLACK_MAX_AGE_S 300

/* Answer req into rep (always filled; the body is malloc'd or NULL when
 * out of memory, then status 500).  Checks the token first. */
void face_handle(const struct face *f, const struct face_request *req,
                 struct face_reply *rep);

/* The text Slack shows for a fire that ended (the delayed response to a
 * slash command), as its JSON message; malloc'd, or NULL. */
char *face_slack_outcome(const struct face_fire *f, size_t *len);

/* The answer to a site lookup of site (the site-status document doc, or
 * why there is none): GET /api/v1/sites/NAME's JSON, or with slack the
 * Slack message for a `status` command; with what the book and the fires
 * in flight say of the site.  rep always filled. */
void face_site_answer(const struct face *f, const char *site, const char *doc,
                      size_t len, const char *why, bool slack,
                      struct face_reply *rep);

/* Is url one Slack's response_url may be: https://hooks.slack.com/...,
 * or plain http to loopback (tests)? */
bool face_slack_url_ok(const char *url);

/* Release rep's body. */
void face_reply_free(struct face_reply *rep);

/* Does the Authorization header carry token ("Bearer T", or "Basic"
 * with any user name and T as the password)?  Constant time in the
 * header's and the token's contents. */
bool face_authorized(const char *token, const char *authorization);

/* Split a raw query ("a=1&b=x%20y") into req's params, decoded in place
 * in buf (a copy of at most len bytes); how many were kept. */
size_t face_query_parse(struct face_request *req, char *buf, size_t len);

/* 0 when addr may try a token at now_ms, else the seconds to wait. */
int64_t face_penalty_wait(const struct face_penalty *p, const char *addr,
                          int64_t now_ms);

/* Count a good (forgets addr) or bad token from addr at now_ms. */
void face_penalty_note(struct face_penalty *p, const char *addr, bool good,
                       int64_t now_ms);

/* Empty the book; face_book_free releases what it holds. */
void face_book_init(struct face_book *b);
void face_book_free(struct face_book *b);

/* Keep a copy of f, and of a run line for each of its targets (or one
 * for its failure when it had none); the oldest go.  0 or -ENOMEM. */
int face_book_add_fire(struct face_book *b, const struct face_fire *f);

/* Keep a copy of one run; 0 or -ENOMEM. */
int face_book_add_run(struct face_book *b, const struct face_run *r);

/* Read history.jsonl lines (text[0..len)) into the book's runs, skipping
 * lines that do not parse; how many were kept. */
size_t face_book_load_history(struct face_book *b, const char *text,
                              size_t len);

#endif
