/*
 * notifier: notices in the state, a timer for the next one due, and at
 * most `parallel` deliveries in flight (an HTTP request, or a sendmail
 * child with its stdin pipe and a kill timer).
 *
 * The state owns the notices; a delivery in flight knows only the id of
 * its notice, since the array moves as notices come and go.  At close,
 * deliveries still under way are orphaned: they free themselves when their
 * handles close and touch neither the state nor the config, which may be
 * gone by then.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "notifier.h"
#include "notify.h"
#include "util.h"

struct delivery {
	struct notifier *nt;
	struct delivery *next;
	uint64_t id; /* the notice */
	enum state_notice_kind kind;
	bool orphan;            /* the notifier closed meanwhile */
	struct http_xfer *xfer; /* webhook, ping */
	/* email */
	uv_process_t proc;
	uv_pipe_t in;
	uv_write_t wr;
	uv_timer_t kill;
	char *text;
	int open; /* handles not closed yet */
	bool write_failed, killed, exited;
	int64_t status;
	int signal;
};

struct notifier {
	uv_loop_t *loop;
	struct http *http;
	struct state *st;
	const struct config *cfg;
	struct notifier_hooks hooks;
	uv_timer_t timer;
	struct delivery *active;
	size_t nactive;
	bool closing;
	bool timer_open;
	char host[256];
};

static void pump(struct notifier *nt);

/* ---- small helpers ------------------------------------------------------ */

static const char *
kind_name(enum state_notice_kind k)
{
	return k == STATE_NOTICE_WEBHOOK ? "webhook"
	       : k == STATE_NOTICE_PING  ? "heartbeat"
	                                 : "email";
}

/* The host of URL, for log lines: the rest of a webhook URL is its
 * secret. */
static const char *
url_host(const char *url, char *buf, size_t len)
{
	const char *h = url ? strstr(url, "://") : NULL;
	size_t n;

	if (h == NULL) {
		snprintf(buf, len, "-");
		return buf;
	}
	h += 3;
	n = strcspn(h, "/?#@");
	if (h[n] == '@') { /* user:password@host: skip the credentials */
		h += n + 1;
		n = strcspn(h, "/?#");
	}
	snprintf(buf, len, "%.*s", (int)(n < 200 ? n : 200), h);
	return buf;
}

static void
changed(struct notifier *nt)
{
	if (nt->hooks.changed != NULL)
		nt->hooks.changed(nt->hooks.arg);
}

static bool
in_flight(const struct notifier *nt, uint64_t id)
{
	for (const struct delivery *d = nt->active; d != NULL; d = d->next)
		if (d->id == id)
			return true;
	return false;
}

static void
unlink_delivery(struct notifier *nt, struct delivery *d)
{
	for (struct delivery **p = &nt->active; *p != NULL; p = &(*p)->next)
		if (*p == d) {
			*p = d->next;
			nt->nactive--;
			return;
		}
}

/* A start ping is tried once: sent late it would say a fire is running
 * when it has ended. */
static bool
once_only(const struct state_notice *n)
{
	size_t len = n->url ? strlen(n->url) : 0;

	return n->kind == STATE_NOTICE_PING && len >= 6 &&
	       strcmp(n->url + len - 6, "/start") == 0;
}

/* retry_min doubling per attempt up to retry_max, the second half
 * jittered, so that receivers back from an outage are not hit by every
 * daemon at once. */
static int64_t
backoff_ms(const struct config_delivery *dl, uint32_t attempts)
{
	int64_t d = dl->retry_min_ms;

	for (uint32_t i = 1; i < attempts && d < dl->retry_max_ms; i++)
		d *= 2;
	if (d > dl->retry_max_ms)
		d = dl->retry_max_ms;
	if (d >= 2)
		d = d / 2 + (int64_t)(util_random_u64() % (uint64_t)(d / 2));
	return d;
}

/* ---- the end of a delivery ---------------------------------------------- */

static void
finish(struct notifier *nt, uint64_t id, bool ok, const char *why)
{
	struct state_notice *n = state_notice_find(nt->st, id);
	int64_t now = util_wall_ms();
	char host[256], reason[300];

	if (n == NULL)
		return;
	url_host(n->url, host, sizeof(host));
	n->attempts++;
	if (ok) {
		log_msg(
		    LOG_INFO,
		    "job=%s notify=%s host=%s outcome=sent attempt=%" PRIu32,
		    n->job, kind_name(n->kind),
		    n->kind == STATE_NOTICE_EMAIL ? "sendmail" : host,
		    n->attempts);
		state_notice_remove(nt->st, id);
		if (nt->hooks.delivered != NULL)
			nt->hooks.delivered(true, nt->hooks.arg);
	} else if (once_only(n) ||
	           now - n->created_ms >= nt->cfg->delivery.give_up_ms) {
		log_msg(LOG_ERR,
		        "job=%s notify=%s host=%s outcome=dropped "
		        "attempt=%" PRIu32 " reason=%s",
		        n->job, kind_name(n->kind),
		        n->kind == STATE_NOTICE_EMAIL ? "sendmail" : host,
		        n->attempts, log_value(reason, sizeof(reason), why));
		state_notice_remove(nt->st, id);
		if (nt->hooks.delivered != NULL)
			nt->hooks.delivered(false, nt->hooks.arg);
	} else {
		int64_t wait = backoff_ms(&nt->cfg->delivery, n->attempts);

		n->next_ms = now + wait;
		log_msg(LOG_WARNING,
		        "job=%s notify=%s host=%s outcome=failed "
		        "attempt=%" PRIu32 " retry_in_ms=%" PRId64 " reason=%s",
		        n->job, kind_name(n->kind),
		        n->kind == STATE_NOTICE_EMAIL ? "sendmail" : host,
		        n->attempts, wait,
		        log_value(reason, sizeof(reason), why));
	}
	changed(nt);
}

/* ---- webhooks and pings -------------------------------------------------- */

static void
on_http_done(const struct http_response *res, void *arg)
{
	struct delivery *d = arg;
	struct notifier *nt = d->nt;
	char why[300];
	bool ok = res->error == 0 && res->status >= 200 && res->status < 300;

	unlink_delivery(nt, d);
	if (!d->orphan && res->error != -ECANCELED) {
		if (res->error != 0)
			snprintf(why, sizeof(why), "%s", res->message);
		else
			snprintf(why, sizeof(why), "HTTP %ld", res->status);
		finish(nt, d->id, ok, why);
		pump(nt);
	}
	free(d);
}

static int
start_http(struct notifier *nt, struct delivery *d,
           const struct state_notice *n)
{
	struct http_request req = {
	    .method = n->body != NULL ? METHOD_POST : METHOD_GET,
	    .url = n->url,
	    .body = n->body,
	    .body_len = n->body ? strlen(n->body) : 0,
	    .timeout_ms = (long)nt->cfg->delivery.timeout_ms,
	};

	return http_submit(nt->http, &req, on_http_done, d, &d->xfer);
}

/* ---- email -------------------------------------------------------------- */

static void
email_closed(uv_handle_t *h)
{
	struct delivery *d = h->data;
	struct notifier *nt = d->nt;
	char why[128];
	bool ok;

	if (--d->open > 0)
		return;
	if (d->orphan) { /* the notifier, config and state may be gone */
		free(d->text);
		free(d);
		return;
	}
	ok = d->exited && d->status == 0 && d->signal == 0 &&
	     !d->write_failed && !d->killed;
	if (d->killed)
		snprintf(why, sizeof(why),
		         "sendmail took longer than %" PRId64 " ms: killed",
		         nt->cfg->delivery.timeout_ms);
	else if (d->signal != 0)
		snprintf(why, sizeof(why), "sendmail killed by signal %d",
		         d->signal);
	else if (d->write_failed)
		snprintf(why, sizeof(why), "sendmail did not read the message");
	else
		snprintf(why, sizeof(why),
		         "sendmail exited with status %" PRId64, d->status);
	unlink_delivery(nt, d);
	finish(nt, d->id, ok, why);
	pump(nt);
	free(d->text);
	free(d);
}

static void
on_written(uv_write_t *wr, int status)
{
	struct delivery *d = wr->data;

	if (status < 0)
		d->write_failed = true;
	/* EOF: sendmail -oi reads the message up to it */
	uv_close((uv_handle_t *)&d->in, email_closed);
}

static void
on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	struct delivery *d = p->data;

	d->exited = true;
	d->status = status;
	d->signal = d->killed ? 0 : sig;
	uv_timer_stop(&d->kill);
	uv_close((uv_handle_t *)&d->kill, email_closed);
	uv_close((uv_handle_t *)p, email_closed);
}

static void
on_kill(uv_timer_t *t)
{
	struct delivery *d = t->data;

	d->killed = true;
	uv_process_kill(&d->proc, SIGKILL);
}

static int
start_email(struct notifier *nt, struct delivery *d,
            const struct state_notice *n)
{
	char *args[] = {(char *)nt->cfg->sendmail, "-t", "-oi", NULL};
	uv_stdio_container_t stdio[3];
	uv_process_options_t opt = {0};
	uv_buf_t buf;
	int rc;

	if ((d->text = strdup(n->body)) == NULL)
		return -ENOMEM;
	uv_pipe_init(nt->loop, &d->in, 0);
	d->in.data = d;
	stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
	stdio[0].data.stream = (uv_stream_t *)&d->in;
	stdio[1].flags = UV_IGNORE;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = 2;
	opt.file = nt->cfg->sendmail;
	opt.args = args;
	opt.stdio = stdio;
	opt.stdio_count = 3;
	opt.exit_cb = on_exit_cb;
	d->proc.data = d;
	if ((rc = uv_spawn(nt->loop, &d->proc, &opt)) < 0) {
		/* the pipe is ours to close; the process handle needs it too */
		d->open = 2;
		d->write_failed = true;
		d->status = 127;
		d->exited = true;
		uv_close((uv_handle_t *)&d->in, email_closed);
		uv_close((uv_handle_t *)&d->proc, email_closed);
		log_msg(LOG_ERR, "job=%s notify=email cannot run %s: %s",
		        n->job, nt->cfg->sendmail, uv_strerror(rc));
		return 0; /* reported through email_closed */
	}
	d->open = 3;
	uv_timer_init(nt->loop, &d->kill);
	d->kill.data = d;
	uv_timer_start(&d->kill, on_kill,
	               (uint64_t)nt->cfg->delivery.timeout_ms, 0);
	d->wr.data = d;
	buf = uv_buf_init(d->text, (unsigned)strlen(d->text));
	if (uv_write(&d->wr, (uv_stream_t *)&d->in, &buf, 1, on_written) < 0) {
		d->write_failed = true;
		uv_close((uv_handle_t *)&d->in, email_closed);
	}
	return 0;
}

/* ---- the queue ---------------------------------------------------------- */

static int
start(struct notifier *nt, uint64_t id)
{
	struct state_notice *n = state_notice_find(nt->st, id);
	struct delivery *d;
	int rc;

	if (n == NULL || (d = calloc(1, sizeof(*d))) == NULL)
		return -ENOMEM;
	d->nt = nt;
	d->id = id;
	d->kind = n->kind;
	d->next = nt->active;
	nt->active = d;
	nt->nactive++;
	rc = n->kind == STATE_NOTICE_EMAIL ? start_email(nt, d, n)
	                                   : start_http(nt, d, n);
	if (rc < 0) {
		unlink_delivery(nt, d);
		free(d->text);
		free(d);
	}
	return rc;
}

static void
on_timer(uv_timer_t *t)
{
	pump(t->data);
}

/* Start what is due while there is room; arm the timer for the rest. */
static void
pump(struct notifier *nt)
{
	uint64_t due[64];
	size_t ndue = 0, room;
	int64_t now = util_wall_ms(), next = INT64_MAX;

	if (nt->closing)
		return;
	room = (size_t)nt->cfg->delivery.parallel > nt->nactive
	           ? (size_t)nt->cfg->delivery.parallel - nt->nactive
	           : 0;
	if (room > sizeof(due) / sizeof(due[0]))
		room = sizeof(due) / sizeof(due[0]);
	/* oldest first; start them after the walk, since a delivery that
	 * fails at once changes the array */
	for (size_t i = 0; i < nt->st->nnotices; i++) {
		const struct state_notice *n = &nt->st->notices[i];

		if (in_flight(nt, n->id))
			continue;
		if (n->next_ms <= now && ndue < room)
			due[ndue++] = n->id;
		else if (n->next_ms > now && n->next_ms < next)
			next = n->next_ms;
	}
	for (size_t i = 0; i < ndue; i++) {
		int rc = start(nt, due[i]);

		if (rc < 0) {
			char why[128];

			snprintf(why, sizeof(why), "%s",
			         rc == -EPERM ? "URL not allowed"
			                      : strerror(-rc));
			finish(nt, due[i], false, why);
			next = now; /* look again soon, not in this walk */
		}
	}
	if (next == INT64_MAX) {
		uv_timer_stop(&nt->timer);
		return;
	}
	uv_timer_start(&nt->timer, on_timer,
	               next > now ? (uint64_t)(next - now) : 1, 0);
}

/* Keep one notice; 0 or -errno (logged). */
static int
queue(struct notifier *nt, const char *job, enum state_notice_kind kind,
      char *url, char *body)
{
	struct state_notice n = {0};
	int rc;

	/* an API message that echoed a key must not carry it any further */
	if (body != NULL)
		log_scrub(body, strlen(body) + 1);
	snprintf(n.job, sizeof(n.job), "%s", job);
	n.kind = kind;
	n.url = url;
	n.body = body;
	n.created_ms = n.next_ms = util_wall_ms();
	if ((rc = state_notice_add(nt->st, &n, NULL)) < 0)
		log_msg(LOG_ERR, "job=%s notify=%s cannot be queued: %s", job,
		        kind_name(kind), strerror(-rc));
	else
		changed(nt);
	return rc;
}

/* url + suffix ("/start", "/fail", ""), without a doubled slash. */
static char *
ping_url(const char *url, const char *suffix)
{
	size_t n = strlen(url);
	char *s;

	while (n > 0 && url[n - 1] == '/')
		n--;
	if ((s = malloc(n + strlen(suffix) + 1)) != NULL) {
		memcpy(s, url, n);
		strcpy(s + n, suffix);
	}
	return s;
}

/* ---- the interface ------------------------------------------------------- */

int
notifier_init(struct notifier **out, uv_loop_t *loop, struct http *h,
              struct state *st, const struct config *cfg,
              const struct notifier_hooks *hooks)
{
	struct notifier *nt = calloc(1, sizeof(*nt));

	*out = NULL;
	if (nt == NULL)
		return -ENOMEM;
	nt->loop = loop;
	nt->http = h;
	nt->st = st;
	nt->cfg = cfg;
	if (hooks != NULL)
		nt->hooks = *hooks;
	if (gethostname(nt->host, sizeof(nt->host) - 1) != 0)
		snprintf(nt->host, sizeof(nt->host), "localhost");
	uv_timer_init(loop, &nt->timer);
	nt->timer.data = nt;
	nt->timer_open = true;
	*out = nt;
	return 0;
}

void
notifier_set_config(struct notifier *nt, const struct config *cfg)
{
	nt->cfg = cfg;
	for (size_t i = 0; i < nt->st->nfailing;) {
		if (config_find_job(cfg, nt->st->failing[i].job) == NULL) {
			struct notify_memory zero = {0};

			state_set_notify_memory(nt->st, nt->st->failing[i].job,
			                        &zero);
			changed(nt);
			continue; /* the last entry moved here */
		}
		i++;
	}
	pump(nt);
}

void
notifier_start(struct notifier *nt)
{
	if (nt->st->nnotices > 0)
		log_msg(LOG_INFO, "event=notify-resume notices=%zu",
		        nt->st->nnotices);
	pump(nt);
}

void
notifier_fire_started(struct notifier *nt, const struct config_job *job)
{
	char *url;

	if (nt->closing || job->heartbeat == NULL)
		return;
	if ((url = ping_url(job->heartbeat, "/start")) == NULL)
		return;
	queue(nt, job->name, STATE_NOTICE_PING, url, NULL);
	free(url);
	pump(nt);
}

/* The webhook's body in the job's format. */
static int
render_webhook(const struct config_notify *cn, const struct notify_msg *msg,
               const struct exec_fire *f, char **out, size_t *len)
{
	return cn->format == CONFIG_NOTIFY_JSON
	           ? notify_json(msg, f, out, len)
	           : notify_slack(msg, f, out, len);
}

static void
heartbeat(struct notifier *nt, const struct exec_fire *f,
          const struct notify_memory *before)
{
	/* every event on, no repeat limit: a title for whatever happened */
	static const struct config_notify all = {
	    .on = CONFIG_NOTIFY_FAILURE | CONFIG_NOTIFY_RECOVERY |
	          CONFIG_NOTIFY_SUCCESS | CONFIG_NOTIFY_ROLLED_BACK |
	          CONFIG_NOTIFY_SKIPPED};
	struct notify_memory m = *before;
	struct notify_msg msg;
	bool failed = notify_fire_failed(f);
	char *url, *body = NULL;
	size_t len;

	if ((url = ping_url(f->job->heartbeat, failed ? "/fail" : "")) == NULL)
		return;
	if (failed) {
		notify_decide(&all, f, &m, util_wall_ms(), &msg);
		if (notify_text(&msg, f, &body, &len) < 0)
			body = NULL;
	}
	queue(nt, f->job->name, STATE_NOTICE_PING, url, body);
	free(url);
	free(body);
}

void
notifier_fire_ended(struct notifier *nt, const struct exec_fire *f)
{
	const struct config_job *job = f->job;
	const struct config_notify *cn = job->notify;
	struct notify_memory m, before;
	struct notify_msg msg;
	enum notify_event ev;
	int64_t now = util_wall_ms();
	char *body;
	size_t len;

	if (nt->closing)
		return;
	state_notify_memory(nt->st, job->name, &m);
	before = m;
	ev = notify_decide(cn, f, &m, now, &msg);
	if (memcmp(&before, &m, sizeof(m)) != 0) {
		if (state_set_notify_memory(nt->st, job->name, &m) < 0)
			log_msg(LOG_ERR, "job=%s notify: out of memory",
			        job->name);
		changed(nt);
	}
	if (ev == NOTIFY_NONE && m.failures > 1 && cn != NULL &&
	    (cn->on & CONFIG_NOTIFY_FAILURE) &&
	    (cn->webhook != NULL || cn->nemail > 0))
		log_msg(LOG_INFO,
		        "job=%s notify=held reason=\"still failing, told less "
		        "than repeat_every ago\" failures=%" PRIu32,
		        job->name, m.failures);
	if (ev != NOTIFY_NONE && cn->webhook != NULL) {
		if (render_webhook(cn, &msg, f, &body, &len) == 0) {
			queue(nt, job->name, STATE_NOTICE_WEBHOOK,
			      (char *)cn->webhook, body);
			free(body);
		} else {
			log_msg(LOG_ERR,
			        "job=%s notify=webhook cannot be "
			        "rendered",
			        job->name);
		}
	}
	if (ev != NOTIFY_NONE && cn->nemail > 0) {
		if (notify_email(&msg, f, cn->from, cn->email, cn->nemail,
		                 nt->host, now, &body, &len) == 0) {
			queue(nt, job->name, STATE_NOTICE_EMAIL, NULL, body);
			free(body);
		} else {
			log_msg(LOG_ERR,
			        "job=%s notify=email cannot be rendered",
			        job->name);
		}
	}
	if (ev != NOTIFY_NONE)
		log_msg(LOG_INFO, "job=%s notify=%s webhook=%s email=%zu",
		        job->name, notify_event_name(ev),
		        cn->webhook ? "yes" : "no", cn->nemail);
	if (job->heartbeat != NULL)
		heartbeat(nt, f, &before);
	pump(nt);
}

size_t
notifier_pending(const struct notifier *nt)
{
	return nt->st->nnotices;
}

static void
on_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

void
notifier_close(struct notifier *nt)
{
	struct delivery *d, *next;

	if (nt == NULL)
		return;
	nt->closing = true;
	for (d = nt->active; d != NULL; d = next) {
		next = d->next;
		d->orphan = true;
		if (d->kind != STATE_NOTICE_EMAIL) {
			http_cancel(d->xfer); /* on_http_done frees d */
			continue;
		}
		/* a message cut short must not go out: the notice stays in
		 * the state and is sent whole at the next start */
		if (!d->exited) {
			d->killed = true;
			uv_process_kill(&d->proc, SIGKILL);
		}
	}
	nt->active = NULL;
	nt->nactive = 0;
	uv_timer_stop(&nt->timer);
	uv_close((uv_handle_t *)&nt->timer, on_timer_closed);
}
