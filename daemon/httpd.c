/*
 * httpd: libmicrohttpd on the libuv loop; see httpd.h.
 *
 * Shape after libmicrohttpd's "external select" examples, with epoll:
 * MHD_USE_EPOLL without a polling thread gives one descriptor that is
 * readable whenever any connection or the listening socket has work;
 * MHD_run does that work without blocking, and MHD_get_timeout says when
 * it must run again even without I/O (idle connections to time out, data
 * already buffered).  Every call to MHD_run is followed by re-arming the
 * timer.  The functions are called through one table typed by
 * microhttpd.h's own declarations, filled by dlopen at the first start.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>

#include "face.h"
#include "hmac.h"
#include "http.h"
#include "httpd.h"
#include "log.h"
#include "ratelimit.h"
#include "util.h"

#ifndef KCRON_MHD_SONAME
#define KCRON_MHD_SONAME "libmicrohttpd.so.12"
#endif

/* more header fields than this in one request: 431 */
#define MAX_HEADERS 64
/* header bytes of one request (and MHD's per-connection pool) */
#define CONNECTION_MEMORY (32 * 1024)
/* history.jsonl's tail that /api/v1/history and the page read */
#define HISTORY_TAIL (1u << 20)
#define TOKEN_MAX    4096
/* Slack takes answers on a response_url for 30 minutes */
#define SLACK_WAIT_MS   (30 * 60 * 1000)
#define SLACK_WAITS_MAX 256
/* A delayed answer is tried this many times, 1 s after the first failure
 * and twice as long each time: a minute of Slack (or a proxy) down is
 * ridden out, well inside the 30 minutes its response_url lasts. */
#define SLACK_POST_ATTEMPTS 7
/* site lookups at once, and how long a browser or client waits for one */
#define LOOKUPS_MAX       64
#define LOOKUP_TIMEOUT_MS (30 * 1000)

#define MHD_FUNCTIONS(X)                                                       \
	X(start_daemon)                                                        \
	X(stop_daemon)                                                         \
	X(run)                                                                 \
	X(get_timeout)                                                         \
	X(get_daemon_info)                                                     \
	X(get_connection_values)                                               \
	X(lookup_connection_value)                                             \
	X(get_connection_info)                                                 \
	X(create_response_from_buffer)                                         \
	X(add_response_header)                                                 \
	X(queue_response)                                                      \
	X(suspend_connection)                                                  \
	X(resume_connection)                                                   \
	X(destroy_response)

static struct {
#define MHD_FIELD(name) __typeof__(MHD_##name) *name;
	MHD_FUNCTIONS(MHD_FIELD)
#undef MHD_FIELD
} mhd;

static bool mhd_loaded;

/* A fire started by a Slack command, whose outcome goes to url. */
struct slack_wait {
	uint64_t run_id;
	int64_t since_ms;
	char *url;
	struct slack_wait *next;
};

/* A site lookup (GET /api/v1/sites/NAME, Slack's `status`): a quiet
 * site-status run, answered to a suspended connection or posted to a
 * Slack response_url. */
struct lookup {
	struct httpd *h;
	uint64_t run_id;
	char site[256];
	struct req *rq; /* the request waiting, or NULL */
	struct MHD_Connection *conn;
	char *url;           /* Slack's response_url, or NULL */
	int64_t deadline_ms; /* the loop's clock (uv_now) */
	struct lookup *next;
};

/* One delayed answer being posted, or waiting to be posted again. */
struct slack_post {
	struct httpd *h;
	char *url, *body;
	size_t len;
	int attempts;
	int64_t next_ms; /* when to try again (xfer NULL), uv_now */
	struct slack_post *prev, *next;
	struct http_xfer *xfer;
};

struct httpd {
	uv_loop_t *loop;
	struct scheduler *sched;
	struct http *http;
	bool watching;
	char slack_secret[TOKEN_MAX];
	size_t slack_secret_len;
	struct slack_wait *waits;
	size_t nwaits;
	/* the wait of a Slack command being started: its fire may end
	 * before the start returns its id */
	struct slack_wait *starting;
	bool started_ended;
	struct lookup *lookups;
	size_t nlookups;
	uv_timer_t lookup_timer;
	/* the request face is answering, for a lookup to wait on */
	struct req *cur_rq;
	struct MHD_Connection *cur_conn;
	struct slack_post *posts;
	uv_timer_t post_timer;          /* the next try of a failed post */
	const struct config *cfg_start; /* listen settings of the start */
	char state_dir[4096];
	struct MHD_Daemon *daemon;
	uv_poll_t poll;
	uv_timer_t timer;
	int open_handles;
	bool polling, timing, lookup_timing, post_timing, closing;
	char *unix_path; /* to unlink at the end */
	char token[TOKEN_MAX];
	size_t max_body;
	struct face_source src;
	struct face_book book;
	struct face_penalty penalty;
	struct face face;
	char *scratch; /* the last in-flight fire's target names */
	size_t scratch_cap;
};

/* One request being read. */
struct req {
	char *body;
	size_t len, cap;
	bool refused; /* an answer was queued before the body was read */
	char addr[48];
	struct lookup *lookup;    /* suspended for it */
	struct face_reply answer; /* its answer, once there */
	bool answered, suspended;
};

static int
load_mhd(char *err, size_t errlen)
{
	void *lib;

	if (mhd_loaded)
		return 0;
	if ((lib = dlopen(KCRON_MHD_SONAME, RTLD_LAZY | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen,
		         "listen: cannot load %s (install libmicrohttpd12): %s",
		         KCRON_MHD_SONAME, dlerror());
		return -ENOENT;
	}
#define MHD_LOAD(name)                                                         \
	mhd.name = (__typeof__(mhd.name))dlsym(lib, "MHD_" #name);             \
	if (mhd.name == NULL) {                                                \
		snprintf(err, errlen, "listen: %s has no %s",                  \
		         KCRON_MHD_SONAME, "MHD_" #name);                      \
		dlclose(lib);                                                  \
		return -ENOENT;                                                \
	}
	MHD_FUNCTIONS(MHD_LOAD)
#undef MHD_LOAD
	mhd_loaded = true;
	return 0;
}

/* ---- the token ---------------------------------------------------------- */

/* A secret of at least 16 characters on one line from file, or from
 * the credential cred when file is NULL, into buf (NUL-terminated). */
static int
read_secret(const char *what, const char *key, const char *file,
            const char *cred, char *buf, size_t cap, char *err, size_t errlen)
{
	char path[4096];
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	ssize_t n;
	size_t len;
	int fd;

	if (file == NULL) {
		if (creds == NULL || creds[0] == '\0') {
			snprintf(err, errlen,
			         "no %s: set %s, or give the service the "
			         "credential %s (LoadCredential=%s:/etc/"
			         "kinsta-cron/credentials/%s)",
			         what, key, cred, cred, cred);
			return -ENOENT;
		}
		snprintf(path, sizeof(path), "%s/%s", creds, cred);
		file = path;
	}
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		int e = errno;

		snprintf(err, errlen, "%s %s: %s", what, file, strerror(e));
		return -e;
	}
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s %s: %s", what, file, strerror(errno));
		return -EIO;
	}
	len = (size_t)n;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	                   buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	buf[len] = '\0';
	if (len < 16 || strlen(buf) != len || memchr(buf, '\n', len)) {
		snprintf(err, errlen,
		         "%s %s: write at least 16 characters on one line",
		         what, file);
		explicit_bzero(buf, cap);
		return -EINVAL;
	}
	return 0;
}

/* ---- what the face asks of the daemon --------------------------------- */

static const struct config *
src_config(void *arg)
{
	struct httpd *h = arg;

	return scheduler_config(h->sched);
}

static void
src_job_state(void *arg, const struct config_job *job,
              struct face_job_state *out)
{
	struct httpd *h = arg;

	scheduler_job_state(h->sched, job, &out->next_slot, &out->last_fired,
	                    &out->running);
}

static int
src_trigger(void *arg, const char *job, uint64_t *run_id)
{
	struct httpd *h = arg;

	return scheduler_fire_now(h->sched, job, "api", run_id);
}

static int
src_metrics(void *arg, char **text, size_t *len)
{
	struct httpd *h = arg;

	return scheduler_metrics(h->sched, text, len);
}

static int
src_history(void *arg, char **text, size_t *len)
{
	struct httpd *h = arg;
	char path[4200];
	struct stat st;
	off_t from = 0;
	ssize_t n;
	char *buf;
	int fd;

	*text = NULL;
	*len = 0;
	snprintf(path, sizeof(path), "%s/history.jsonl", h->state_dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -EIO;
	}
	if (st.st_size > (off_t)HISTORY_TAIL)
		from = st.st_size - (off_t)HISTORY_TAIL;
	if ((buf = malloc((size_t)(st.st_size - from) + 1)) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	n = pread(fd, buf, (size_t)(st.st_size - from), from);
	close(fd);
	if (n < 0) {
		free(buf);
		return -EIO;
	}
	/* a tail starts inside a line: drop it */
	if (from > 0) {
		char *nl = memchr(buf, '\n', (size_t)n);
		size_t skip = nl ? (size_t)(nl - buf) + 1 : (size_t)n;

		memmove(buf, buf + skip, (size_t)n - skip);
		n -= (ssize_t)skip;
	}
	*text = buf;
	*len = (size_t)n;
	return 0;
}

/* A fire as face shows it: one block holding the targets and their
 * names, freed by face with free(targets). */
static int
face_fire_of(const struct exec_fire *ef, struct face_fire *out)
{
	const size_t name_len = 2 * TARGET_NAME_MAX + 2;
	struct face_target *t;
	char *names;

	*out = (struct face_fire){.run_id = ef->run_id,
	                          .job = ef->job->name,
	                          .action = action_name(ef->job->action),
	                          .started_ms = ef->started_ms,
	                          .ended_ms = ef->ended_ms,
	                          .why = ef->why};
	if (ef->ntargets == 0)
		return 0;
	t = malloc(ef->ntargets * (sizeof(*t) + name_len));
	if (t == NULL)
		return -ENOMEM;
	names = (char *)(t + ef->ntargets);
	for (size_t i = 0; i < ef->ntargets; i++) {
		const struct exec_fire_target *x = &ef->targets[i];
		char *name = names + i * name_len;

		if (x->target.site_name[0] != '\0')
			snprintf(name, name_len, "%s/%s", x->target.site_name,
			         x->target.env_name);
		else
			name[0] = '\0';
		t[i] = (struct face_target){.env_id = x->target.env_id,
		                            .name = name,
		                            .outcome = x->outcome,
		                            .op_id = x->op_id,
		                            .message = x->message,
		                            .note = x->note,
		                            .started_ms = x->started_ms,
		                            .ended_ms = x->ended_ms};
	}
	out->targets = t;
	out->ntargets = ef->ntargets;
	return 0;
}

static int
src_fire(void *arg, uint64_t run_id, struct face_fire *out)
{
	struct httpd *h = arg;
	const struct exec_fire *ef =
	    exec_fire_find(scheduler_exec(h->sched), run_id);

	if (ef == NULL)
		return -ENOENT;
	return face_fire_of(ef, out);
}

static size_t
src_fires(void *arg, uint64_t *ids, size_t max)
{
	struct httpd *h = arg;
	const struct exec_fire *f[64];
	size_t n, k = 0;

	if (max > 64)
		max = 64;
	n = exec_fires(scheduler_exec(h->sched), f, max);
	/* a site lookup is nobody's run */
	for (size_t i = 0; i < n && i < max; i++)
		if (!scheduler_quiet(h->sched, f[i]->run_id))
			ids[k++] = f[i]->run_id;
	return k;
}

static int
src_budget(void *arg, size_t account, struct face_budget *out)
{
	struct httpd *h = arg;
	const struct config *cfg = scheduler_config(h->sched);
	struct ratelimit_status st;
	int rc;

	if (account >= cfg->naccounts)
		return -ENOENT;
	rc = exec_budget(scheduler_exec(h->sched),
	                 cfg->accounts[account].company, &st);
	if (rc < 0)
		return rc;
	out->limit = (int)cfg->rate_limits.company;
	out->remaining = st.remaining;
	if (out->remaining > out->limit)
		out->remaining = out->limit;
	out->queued = st.queued_poll + st.queued_work;
	out->paused_until_ms = st.paused_until;
	return 0;
}

static int
src_hmac(void *arg, const void *key, size_t klen, const void *msg, size_t mlen,
         unsigned char out[32])
{
	char err[256];
	int rc;

	(void)arg;
	if ((rc = hmac_sha256(key, klen, msg, mlen, out, err, sizeof(err))) < 0)
		log_msg(LOG_ERR, "event=slack-refused reason=\"%s\"", err);
	return rc;
}

/* Forget waits older than Slack keeps a response_url. */
static void
slack_prune(struct httpd *h, int64_t now)
{
	struct slack_wait **p = &h->waits;

	while (*p != NULL) {
		struct slack_wait *w = *p;

		if (now - w->since_ms <= SLACK_WAIT_MS) {
			p = &w->next;
			continue;
		}
		*p = w->next;
		free(w->url);
		free(w);
		h->nwaits--;
	}
}

/* A wait for fire's end, to post to url: 0, or -EAGAIN (too many) or
 * -ENOMEM.  Made before the fire starts, since a fire may end inside its
 * start (no key): slack_wait_started links it once the id is known. */
static int
slack_wait_new(struct httpd *h, const char *url, struct slack_wait **out)
{
	struct slack_wait *w;

	slack_prune(h, util_wall_ms());
	if (h->nwaits >= SLACK_WAITS_MAX)
		return -EAGAIN;
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->url = strdup(url)) == NULL) {
		free(w);
		return -ENOMEM;
	}
	h->starting = w;
	h->started_ended = false;
	*out = w;
	return 0;
}

/* The start returned rc (run_id when 0): wait for the end, unless it
 * came already (or nothing started). */
static void
slack_wait_started(struct httpd *h, struct slack_wait *w, int rc,
                   uint64_t run_id)
{
	h->starting = NULL;
	if (rc < 0 || h->started_ended) {
		free(w->url);
		free(w);
		return;
	}
	w->run_id = run_id;
	w->since_ms = util_wall_ms();
	w->next = h->waits;
	h->waits = w;
	h->nwaits++;
}

static int
src_slack_run(void *arg, const char *job, const char *url, uint64_t *run_id)
{
	struct httpd *h = arg;
	struct slack_wait *w;
	int rc;

	if ((rc = slack_wait_new(h, url, &w)) < 0)
		return rc;
	rc = scheduler_fire_now(h->sched, job, "slack", run_id);
	slack_wait_started(h, w, rc, rc == 0 ? *run_id : 0);
	return rc;
}

static int
src_action(void *arg, enum action_id action, const struct config_value *v,
           size_t n, const char *by, const char *url, uint64_t *run_id,
           char *err, size_t errlen, int64_t *retry_after_s)
{
	struct httpd *h = arg;
	struct scheduler_adhoc how = {.by = by};
	struct config_adhoc *job;
	struct slack_wait *w = NULL;
	int rc;

	rc = config_adhoc_new(&job, scheduler_config(h->sched), action, NULL, v,
	                      n, err, errlen);
	if (rc < 0)
		return rc;
	if (url != NULL && (rc = slack_wait_new(h, url, &w)) < 0) {
		config_adhoc_free(job);
		snprintf(err, errlen, "too many Slack commands waiting");
		return rc;
	}
	rc = scheduler_run_adhoc(h->sched, job, &how, run_id, err, errlen,
	                         retry_after_s);
	if (w != NULL)
		slack_wait_started(h, w, rc, rc == 0 ? *run_id : 0);
	return rc;
}

static void
post_free(struct httpd *h, struct slack_post *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		h->posts = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	free(p->url);
	free(p->body);
	free(p);
}

static void post_send(struct slack_post *p);

/* The posts due again now go; the timer for the next one. */
static void
on_post_timer(uv_timer_t *t)
{
	struct httpd *h = t->data;
	int64_t now = (int64_t)uv_now(h->loop), first = INT64_MAX;
	struct slack_post *p = h->posts, *next;

	for (; p != NULL; p = next) {
		next = p->next;
		if (p->xfer != NULL)
			continue;
		if (p->next_ms <= now)
			post_send(p); /* may free p */
		else if (p->next_ms < first)
			first = p->next_ms;
	}
	if (first != INT64_MAX && !h->closing)
		uv_timer_start(&h->post_timer, on_post_timer,
		               (uint64_t)(first - now), 0);
}

static void
on_slack_posted(const struct http_response *res, void *arg)
{
	struct slack_post *p = arg;
	struct httpd *h = p->h;
	bool ok = res->error == 0 && res->status >= 200 && res->status < 300;
	/* Slack's 4xx (an expired or used-up response_url) will not change */
	bool again =
	    res->error != -ECANCELED &&
	    (res->error != 0 || res->status >= 500 || res->status == 429);

	p->xfer = NULL;
	if (ok) {
		post_free(h, p);
		return;
	}
	if (again && p->attempts < SLACK_POST_ATTEMPTS && !h->closing) {
		int64_t wait = 1000LL << (p->attempts - 1);

		log_msg(LOG_WARNING,
		        "event=slack-post-failed status=%ld attempt=%d "
		        "retry_in_ms=%lld reason=\"%s\"",
		        res->status, p->attempts, (long long)wait,
		        res->error ? res->message : "not 2xx");
		p->next_ms = (int64_t)uv_now(h->loop) + wait;
		on_post_timer(&h->post_timer);
		return;
	}
	log_msg(LOG_ERR,
	        "event=slack-post-dropped status=%ld attempt=%d reason=\"%s\"",
	        res->status, p->attempts,
	        res->error ? res->message : "not 2xx");
	post_free(h, p);
}

static void
post_send(struct slack_post *p)
{
	struct http_request req = {.method = METHOD_POST,
	                           .url = p->url,
	                           .body = p->body,
	                           .body_len = p->len};

	p->attempts++;
	if (http_submit(p->h->http, &req, on_slack_posted, p, &p->xfer) < 0) {
		log_msg(LOG_ERR, "event=slack-post-dropped reason=\"cannot "
		                 "send\"");
		post_free(p->h, p);
	}
}

/* Post body (taken over; NULL: out of memory) to a response_url. */
static void
slack_post(struct httpd *h, const char *url, char *body, size_t len)
{
	struct slack_post *p = body ? calloc(1, sizeof(*p)) : NULL;

	if (p == NULL || (p->url = strdup(url)) == NULL) {
		free(p);
		free(body);
		log_msg(LOG_ERR, "event=slack-post-dropped reason=\"out of "
		                 "memory\"");
		return;
	}
	p->h = h;
	p->body = body;
	p->len = len;
	p->next = h->posts;
	if (h->posts != NULL)
		h->posts->prev = p;
	h->posts = p;
	post_send(p);
}

static void
on_fire_ended(const struct exec_fire *ef, void *arg)
{
	struct httpd *h = arg;
	struct face_fire f;
	struct slack_wait **p = &h->waits;
	size_t len = 0;
	char *body;

	if (face_fire_of(ef, &f) < 0) {
		log_msg(LOG_ERR, "event=http-book reason=\"out of memory\"");
		return;
	}
	if (face_book_add_fire(&h->book, &f) < 0)
		log_msg(LOG_ERR, "event=http-book reason=\"out of memory\"");
	/* the fire of a command being started ended inside its start */
	if (h->starting != NULL && !h->started_ended) {
		h->started_ended = true;
		body = face_slack_outcome(&f, &len);
		slack_post(h, h->starting->url, body, len);
	}
	while (*p != NULL) {
		struct slack_wait *w = *p;

		if (w->run_id != ef->run_id) {
			p = &w->next;
			continue;
		}
		*p = w->next;
		h->nwaits--;
		body = face_slack_outcome(&f, &len);
		slack_post(h, w->url, body, len);
		free(w->url);
		free(w);
	}
	free(f.targets);
}

/* ---- site lookups ------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

/* 503 for a lookup the daemon stops under. */
static void
reply_unavailable(struct face_reply *rep)
{
	static const char msg[] = "{\"error\":\"the daemon is stopping or "
	                          "reloading its listener; try again\","
	                          "\"status\":503}\n";

	memset(rep, 0, sizeof(*rep));
	rep->status = 503;
	rep->type = "application/json";
	if ((rep->body = strdup(msg)) != NULL)
		rep->len = sizeof(msg) - 1;
}

static void lookup_arm(struct httpd *h);

static void
lookup_free(struct httpd *h, struct lookup *l)
{
	for (struct lookup **p = &h->lookups; *p != NULL; p = &(*p)->next)
		if (*p == l) {
			*p = l->next;
			h->nlookups--;
			break;
		}
	if (l->rq != NULL)
		l->rq->lookup = NULL;
	free(l->url);
	free(l);
}

/* Answer l (doc: the site-status document, or why there is none) and
 * forget it. */
static void
lookup_answer(struct lookup *l, const char *doc, size_t len, const char *why)
{
	struct httpd *h = l->h;
	struct face_reply rep;

	if (l->url != NULL) {
		face_site_answer(&h->face, l->site, doc, len, why, true, &rep);
		slack_post(h, l->url, rep.body, rep.len);
	} else if (l->rq != NULL) {
		face_site_answer(&h->face, l->site, doc, len, why, false,
		                 &l->rq->answer);
		l->rq->answered = true;
		/* libmicrohttpd calls on_request again, which sends it;
		 * answered inside its start, it was never suspended */
		if (l->rq->suspended) {
			mhd.resume_connection(l->conn);
			/* with no thread of its own, libmicrohttpd goes on
			 * with it only in its next MHD_run: soon */
			if (!h->closing)
				uv_timer_start(&h->timer, on_timer, 0, 0);
		}
	}
	lookup_free(h, l);
	lookup_arm(h);
}

static void
on_lookup_result(const struct exec_result *r, void *arg)
{
	struct lookup *l = arg;

	if (r->outcome == KINSTA_SUCCEEDED && r->report != NULL)
		lookup_answer(l, r->report, r->report_len, NULL);
	else
		lookup_answer(l, NULL, 0,
		              r->message && r->message[0] ? r->message
		                                          : "no answer");
}

static void
on_lookup_timer(uv_timer_t *t)
{
	struct httpd *h = t->data;
	int64_t now = (int64_t)uv_now(h->loop);
	struct lookup *l = h->lookups, *next;

	for (; l != NULL; l = next) {
		next = l->next;
		if (l->deadline_ms > now)
			continue;
		scheduler_adhoc_forget(h->sched, l->run_id);
		lookup_answer(l, NULL, 0,
		              "Kinsta has not answered within 30 s (the "
		              "account's budget may be busy)");
	}
}

static void
lookup_arm(struct httpd *h)
{
	int64_t first = INT64_MAX, now = (int64_t)uv_now(h->loop);

	if (h->closing)
		return;
	for (struct lookup *l = h->lookups; l != NULL; l = l->next)
		if (l->deadline_ms < first)
			first = l->deadline_ms;
	if (first == INT64_MAX)
		uv_timer_stop(&h->lookup_timer);
	else
		uv_timer_start(&h->lookup_timer, on_lookup_timer,
		               first > now ? (uint64_t)(first - now) : 1, 0);
}

static int
src_site(void *arg, size_t account, const char *site, const char *url,
         char *err, size_t errlen)
{
	struct httpd *h = arg;
	const struct config *cfg = scheduler_config(h->sched);
	struct scheduler_adhoc how = {.by = url ? "slack" : "api",
	                              .quiet = true,
	                              .finished = on_lookup_result};
	struct config_value v[2] = {
	    {.key = "site_name", .kind = CONFIG_VALUE_STRING, .str = site},
	    {.key = "account",
	     .kind = CONFIG_VALUE_STRING,
	     .str = cfg->accounts[account].name},
	};
	struct config_adhoc *job;
	struct lookup *l;
	int64_t retry;
	int rc;

	if (h->nlookups >= LOOKUPS_MAX) {
		snprintf(err, errlen,
		         "%d site lookups are under way; try "
		         "again in a few seconds",
		         LOOKUPS_MAX);
		return -EAGAIN;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (url != NULL && (l->url = strdup(url)) == NULL)) {
		free(l);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	l->h = h;
	snprintf(l->site, sizeof(l->site), "%s", site);
	l->deadline_ms = (int64_t)uv_now(h->loop) + LOOKUP_TIMEOUT_MS;
	how.arg = l;
	if ((rc = config_adhoc_new(&job, cfg, ACTION_SITE_STATUS, NULL, v, 2,
	                           err, errlen)) < 0) {
		free(l->url);
		free(l);
		return rc;
	}
	/* linked first: a lookup may be answered inside its start */
	l->next = h->lookups;
	h->lookups = l;
	h->nlookups++;
	if (url == NULL) {
		l->rq = h->cur_rq;
		l->conn = h->cur_conn;
		l->rq->lookup = l;
	}
	rc = scheduler_run_adhoc(h->sched, job, &how, &l->run_id, err, errlen,
	                         &retry);
	if (rc < 0) {
		lookup_free(h, l);
		return rc;
	}
	lookup_arm(h);
	return 0;
}

/* ---- libmicrohttpd on the loop ------------------------------------------ */

static void arm(struct httpd *h);

static void
on_timer(uv_timer_t *t)
{
	struct httpd *h = t->data;

	mhd.run(h->daemon);
	arm(h);
}

static void
on_poll(uv_poll_t *p, int status, int events)
{
	struct httpd *h = p->data;

	(void)status;
	(void)events;
	mhd.run(h->daemon);
	arm(h);
}

/* The timer for MHD's next deadline, if it has one. */
static void
arm(struct httpd *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (h->closing)
		return;
	if (mhd.get_timeout(h->daemon, &ms) == MHD_YES)
		uv_timer_start(&h->timer, on_timer, ms > 0 ? ms : 1, 0);
	else
		uv_timer_stop(&h->timer);
}

static void
client_addr(struct MHD_Connection *c, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci =
	    mhd.get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(buf, len, "unix");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		          buf, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		          &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
		          (socklen_t)len);
}

static enum MHD_Result
send_reply(struct MHD_Connection *c, struct face_reply *rep)
{
	struct MHD_Response *r;
	enum MHD_Result ok;
	char num[32];

	r = mhd.create_response_from_buffer(rep->len, rep->body,
	                                    MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		face_reply_free(rep);
		return MHD_NO;
	}
	rep->body = NULL; /* the response frees it */
	mhd.add_response_header(r, "Content-Type", rep->type);
	mhd.add_response_header(r, "Cache-Control", "no-store");
	mhd.add_response_header(r, "X-Content-Type-Options", "nosniff");
	mhd.add_response_header(r, "X-Frame-Options", "DENY");
	/* the page has inline CSS and SVG and nothing else */
	mhd.add_response_header(r, "Content-Security-Policy",
	                        "default-src 'none'; style-src "
	                        "'unsafe-inline'; img-src data:");
	if (rep->challenge)
		mhd.add_response_header(r, "WWW-Authenticate",
		                        "Basic realm=\"kinsta-cron\", "
		                        "charset=\"UTF-8\"");
	if (rep->allow != NULL)
		mhd.add_response_header(r, "Allow", rep->allow);
	if (rep->retry_after_s > 0) {
		snprintf(num, sizeof(num), "%lld",
		         (long long)rep->retry_after_s);
		mhd.add_response_header(r, "Retry-After", num);
	}
	ok = mhd.queue_response(c, (unsigned)rep->status, r);
	mhd.destroy_response(r);
	return ok;
}

/* An error answered before the request is read whole. */
static enum MHD_Result
refuse(struct MHD_Connection *c, struct req *rq, int status,
       const char *message, int64_t retry_after)
{
	struct face_reply rep = {.status = status,
	                         .type = "application/json",
	                         .retry_after_s = retry_after};
	char body[512];
	int n = snprintf(body, sizeof(body),
	                 "{\"error\":\"%s\",\"status\":%d}\n", message, status);

	rq->refused = true;
	if ((rep.body = malloc((size_t)n)) == NULL)
		return MHD_NO;
	memcpy(rep.body, body, (size_t)n);
	rep.len = (size_t)n;
	return send_reply(c, &rep);
}

static enum MHD_Result
count_param(void *cls, enum MHD_ValueKind kind, const char *key,
            const char *value)
{
	struct face_request *req = cls;

	(void)kind;
	if (req->nparams < FACE_MAX_PARAMS && key != NULL) {
		req->params[req->nparams].key = key;
		req->params[req->nparams].value = value ? value : "";
		req->nparams++;
	}
	return MHD_YES;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_size, void **con_cls)
{
	struct httpd *h = cls;
	struct req *rq = *con_cls;
	struct face_request req = {0};
	struct face_reply rep;
	const char *cl;
	int64_t now = util_wall_ms(), wait;
	enum MHD_Result ok;

	(void)version;
	if (rq != NULL && rq->answered && *upload_size == 0) {
		rq->answered = rq->suspended = false;
		return send_reply(c, &rq->answer);
	}
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		*con_cls = rq;
		client_addr(c, rq->addr, sizeof(rq->addr));
		if ((wait = face_penalty_wait(&h->penalty, rq->addr, now)) > 0)
			return refuse(c, rq, 429,
			              "too many bad tokens from this address; "
			              "wait for Retry-After",
			              wait);
		if (mhd.get_connection_values(c, MHD_HEADER_KIND, NULL, NULL) >
		    MAX_HEADERS)
			return refuse(c, rq, 431, "too many header fields", 0);
		cl = mhd.lookup_connection_value(c, MHD_HEADER_KIND,
		                                 "Content-Length");
		if (cl != NULL && strtoull(cl, NULL, 10) > h->max_body)
			return refuse(c, rq, 413,
			              "the body is too large; see max_body in "
			              "kinsta-cron.conf(5)",
			              0);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		size_t n = *upload_size;

		*upload_size = 0;
		if (rq->refused)
			return MHD_YES;
		if (rq->len + n > h->max_body)
			return refuse(c, rq, 413,
			              "the body is too large; see max_body in "
			              "kinsta-cron.conf(5)",
			              0);
		if (util_grow((void **)&rq->body, &rq->cap, rq->len + n + 1,
		              1) < 0)
			return MHD_NO;
		memcpy(rq->body + rq->len, upload, n);
		rq->len += n;
		return MHD_YES;
	}
	if (rq->refused)
		return MHD_YES;
	req.method = method;
	req.path = url;
	mhd.get_connection_values(c, MHD_GET_ARGUMENT_KIND, count_param, &req);
	req.body = rq->body;
	req.body_len = rq->len;
	req.authorization =
	    mhd.lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	req.slack_timestamp = mhd.lookup_connection_value(
	    c, MHD_HEADER_KIND, "X-Slack-Request-Timestamp");
	req.slack_signature = mhd.lookup_connection_value(c, MHD_HEADER_KIND,
	                                                  "X-Slack-Signature");
	req.now_ms = now;
	h->cur_rq = rq;
	h->cur_conn = c;
	face_handle(&h->face, &req, &rep);
	h->cur_rq = NULL;
	h->cur_conn = NULL;
	if (rep.pending) {
		if (rq->answered) { /* at once */
			rq->answered = false;
			return send_reply(c, &rq->answer);
		}
		rq->suspended = true;
		mhd.suspend_connection(c);
		return MHD_YES;
	}
	face_penalty_note(&h->penalty, rq->addr, rep.status != 401, now);
	log_msg(LOG_DEBUG, "event=http method=%.16s status=%d bytes=%zu",
	        method, rep.status, rep.len);
	ok = send_reply(c, &rep);
	return ok;
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode why)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)why;
	if (rq != NULL) {
		if (rq->lookup != NULL) /* answered to nobody */
			rq->lookup->rq = NULL;
		face_reply_free(&rq->answer);
		free(rq->body);
		free(rq);
	}
	*con_cls = NULL;
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_msg(LOG_DEBUG, "event=http-note reason=\"%s\"", msg);
}

/* The listening socket for l; the descriptor or -errno with err. */
static int
make_socket(struct httpd *h, const struct config_listen *l, char *err,
            size_t errlen)
{
	struct sockaddr_storage ss = {0};
	socklen_t slen;
	int fd, one = 1, rc;

	if (l->kind == CONFIG_LISTEN_UNIX) {
		struct sockaddr_un *su = (struct sockaddr_un *)&ss;

		su->sun_family = AF_UNIX;
		snprintf(su->sun_path, sizeof(su->sun_path), "%s", l->host);
		slen = sizeof(*su);
		/* a socket left by a daemon that died is replaced */
		unlink(l->host);
	} else if (l->kind == CONFIG_LISTEN_IPV6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)l->port);
		inet_pton(AF_INET6, l->host, &s6->sin6_addr);
		slen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)l->port);
		inet_pton(AF_INET, l->host, &s4->sin_addr);
		slen = sizeof(*s4);
	}
	fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "listen: socket: %s", strerror(-rc));
		return rc;
	}
	if (l->kind != CONFIG_LISTEN_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->kind == CONFIG_LISTEN_IPV6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, slen) < 0 ||
	    (l->kind == CONFIG_LISTEN_UNIX && chmod(l->host, 0660) < 0) ||
	    listen(fd, 128) < 0) {
		rc = -errno;
		snprintf(err, errlen, "listen: %s: %s", l->address,
		         strerror(-rc));
		close(fd);
		return rc;
	}
	if (l->kind == CONFIG_LISTEN_UNIX &&
	    (h->unix_path = strdup(l->host)) == NULL) {
		close(fd);
		unlink(l->host);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return fd;
}

int
httpd_start(struct httpd **out, uv_loop_t *loop, const struct config *cfg,
            struct scheduler *sched, struct http *http, char *err,
            size_t errlen)
{
	const struct config_listen *l = &cfg->listen;
	const union MHD_DaemonInfo *info;
	struct httpd *h;
	int fd = -1, rc;

	*out = NULL;
	if ((rc = load_mhd(err, errlen)) < 0)
		return rc;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	h->loop = loop;
	h->sched = sched;
	h->http = http;
	h->max_body = (size_t)l->max_body;
	snprintf(h->state_dir, sizeof(h->state_dir), "%s", cfg->state_dir);
	face_book_init(&h->book);
	if ((rc = read_secret("listen: token", "token_file", l->token_file,
	                      "api-token", h->token, sizeof(h->token), err,
	                      errlen)) < 0)
		goto fail;
	if (cfg->slack.enabled) {
		if ((rc = read_secret(
		         "slack: signing secret", "signing_secret_file",
		         cfg->slack.signing_secret_file, "slack-signing-secret",
		         h->slack_secret, sizeof(h->slack_secret), err,
		         errlen)) < 0)
			goto fail;
		h->slack_secret_len = strlen(h->slack_secret);
	}
	h->src = (struct face_source){.config = src_config,
	                              .job_state = src_job_state,
	                              .trigger = src_trigger,
	                              .fire = src_fire,
	                              .fires = src_fires,
	                              .history = src_history,
	                              .metrics = src_metrics,
	                              .budget = src_budget,
	                              .hmac = src_hmac,
	                              .slack_run = src_slack_run,
	                              .action = src_action,
	                              .site = src_site,
	                              .arg = h};
	h->face = (struct face){.src = &h->src,
	                        .book = &h->book,
	                        .token = h->token,
	                        .slack_secret =
	                            cfg->slack.enabled ? h->slack_secret : NULL,
	                        .slack_secret_len = h->slack_secret_len};
	/* the page's last outcomes and failures survive a restart */
	{
		char *text;
		size_t len;

		if (src_history(h, &text, &len) == 0) {
			face_book_load_history(&h->book, text, len);
			free(text);
		}
	}
	if ((fd = make_socket(h, l, err, errlen)) < 0) {
		rc = fd;
		goto fail;
	}
	h->daemon = mhd.start_daemon(
	    MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, 0,
	    NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
	    h, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)l->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)l->timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, h, MHD_OPTION_END);
	if (h->daemon == NULL) {
		snprintf(err, errlen,
		         "listen: %s: libmicrohttpd would not "
		         "start",
		         l->address);
		rc = -EIO;
		goto fail;
	}
	fd = -1; /* the daemon's now */
	info = mhd.get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL) {
		snprintf(err, errlen, "listen: no epoll descriptor");
		rc = -EIO;
		goto fail;
	}
	if ((rc = uv_poll_init(loop, &h->poll, info->epoll_fd)) < 0 ||
	    ((h->polling = true, h->open_handles++),
	     (rc = uv_timer_init(loop, &h->timer)) < 0)) {
		snprintf(err, errlen, "listen: %s", uv_strerror(rc));
		goto fail;
	}
	h->timing = true;
	h->open_handles++;
	if ((rc = uv_timer_init(loop, &h->lookup_timer)) < 0) {
		snprintf(err, errlen, "listen: %s", uv_strerror(rc));
		goto fail;
	}
	h->lookup_timing = true;
	h->open_handles++;
	if ((rc = uv_timer_init(loop, &h->post_timer)) < 0) {
		snprintf(err, errlen, "listen: %s", uv_strerror(rc));
		goto fail;
	}
	h->post_timing = true;
	h->open_handles++;
	h->post_timer.data = h;
	h->poll.data = h;
	h->timer.data = h;
	h->lookup_timer.data = h;
	if ((rc = uv_poll_start(&h->poll, UV_READABLE, on_poll)) < 0) {
		snprintf(err, errlen, "listen: %s", uv_strerror(rc));
		goto fail;
	}
	if ((rc = scheduler_watch_fires(sched, on_fire_ended, h)) < 0) {
		snprintf(err, errlen, "listen: too many fire watchers");
		goto fail;
	}
	h->watching = true;
	arm(h);
	log_msg(LOG_INFO, "event=listen address=%s slack=%s", l->address,
	        cfg->slack.enabled ? "on" : "off");
	*out = h;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	httpd_close(h);
	return rc;
}

static void
on_closed(uv_handle_t *hd)
{
	struct httpd *h = hd->data;

	if (--h->open_handles > 0)
		return;
	face_book_free(&h->book);
	free(h->scratch);
	free(h);
}

void
httpd_close(struct httpd *h)
{
	if (h == NULL)
		return;
	h->closing = true;
	if (h->watching)
		scheduler_unwatch_fires(h->sched, on_fire_ended, h);
	h->watching = false;
	/* the answers being posted: their callbacks run now (-ECANCELED);
	 * those waiting to be tried again go with them */
	while (h->posts != NULL) {
		if (h->posts->xfer != NULL)
			http_cancel(h->posts->xfer);
		else
			post_free(h, h->posts);
	}
	while (h->waits != NULL) {
		struct slack_wait *w = h->waits;

		h->waits = w->next;
		free(w->url);
		free(w);
	}
	/* lookups under way: nobody hears of them now; a client waiting is
	 * told, as libmicrohttpd stops only with no connection suspended */
	while (h->lookups != NULL) {
		struct lookup *l = h->lookups;

		scheduler_adhoc_forget(h->sched, l->run_id);
		if (l->rq != NULL && l->rq->suspended) {
			face_reply_free(&l->rq->answer);
			reply_unavailable(&l->rq->answer);
			l->rq->answered = true;
			mhd.resume_connection(l->conn);
		}
		lookup_free(h, l);
	}
	explicit_bzero(h->slack_secret, sizeof(h->slack_secret));
	/* MHD closes its epoll descriptor: stop watching it first */
	if (h->polling)
		uv_poll_stop(&h->poll);
	if (h->daemon != NULL)
		mhd.stop_daemon(h->daemon);
	h->daemon = NULL;
	if (h->unix_path != NULL)
		unlink(h->unix_path);
	free(h->unix_path);
	h->unix_path = NULL;
	explicit_bzero(h->token, sizeof(h->token));
	if (h->open_handles == 0) {
		face_book_free(&h->book);
		free(h->scratch);
		free(h);
		return;
	}
	if (h->polling)
		uv_close((uv_handle_t *)&h->poll, on_closed);
	if (h->timing)
		uv_close((uv_handle_t *)&h->timer, on_closed);
	if (h->lookup_timing)
		uv_close((uv_handle_t *)&h->lookup_timer, on_closed);
	if (h->post_timing)
		uv_close((uv_handle_t *)&h->post_timer, on_closed);
}
