/*
 * daemon: the parts of the service, their order, and the signals and
 * systemd notifications around them.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "control.h"
#include "daemon.h"
#include "http.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "sdnotify.h"
#include "scheduler.h"
#include "state.h"

/* Each part is NULL (or false) until built, and again once torn down. */
struct daemon {
	const char *config_path;
	struct config *cfg; /* until the scheduler takes it over */
	bool log_open;
	uv_loop_t loop;
	bool loop_open;
	struct state *st; /* until the scheduler takes it over */
	struct http *http;
	struct scheduler *sched;
	uv_signal_t sig[3]; /* SIGHUP, SIGTERM, SIGINT */
	size_t nsig;        /* initialised */
	uv_timer_t watchdog;
	bool watchdog_on;
	struct control *ctl; /* NULL also when it could not listen */
	struct httpd *httpd; /* listen = { }: the HTTP face */
	bool started;        /* READY=1 was sent */
	bool stopping;
};

static int
on_control_status(FILE *out, void *arg)
{
	struct daemon *d = arg;

	return scheduler_report(d->sched, out);
}

static int
on_control_trigger(const char *job, FILE *out, void *arg)
{
	struct daemon *d = arg;

	return scheduler_trigger(d->sched, job, out, NULL);
}

static int
on_control_trigger_wait(const char *job, uint64_t *run_id, FILE *out, void *arg)
{
	struct daemon *d = arg;

	return scheduler_trigger(d->sched, job, out, run_id);
}

/* trigger --wait: each target's result line, then the fire's end */
static void
on_run_result(uint64_t run_id, const char *line, void *arg)
{
	struct daemon *d = arg;

	if (d->ctl != NULL)
		control_run_line(d->ctl, run_id, line);
}

static void
on_fire_ended(const struct exec_fire *f, void *arg)
{
	struct daemon *d = arg;
	enum kinsta_outcome o = metrics_fire_outcome(f->count);

	if (d->ctl != NULL)
		control_run_end(d->ctl, f->run_id,
		                o == KINSTA_SUCCEEDED || o == KINSTA_SKIPPED);
}

static void
notify_status(struct daemon *d, const char *prefix)
{
	char status[512];

	scheduler_status(d->sched, status, sizeof(status));
	sdnotify_send("READY=1\nSTATUS=%s%s", prefix, status);
}

static bool
same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The listener is made at start: a reload that changes it says so. */
static void
warn_listen_change(const struct config *from, const struct config *to)
{
	const struct config_listen *a = &from->listen, *b = &to->listen;

	if (!same_str(a->address, b->address) ||
	    !same_str(a->token_file, b->token_file) ||
	    a->max_connections != b->max_connections ||
	    a->timeout != b->timeout || a->max_body != b->max_body ||
	    from->slack.enabled != to->slack.enabled ||
	    !same_str(from->slack.signing_secret_file,
	              to->slack.signing_secret_file))
		log_msg(LOG_WARNING,
		        "event=reload listen=unchanged reason=\"listen and "
		        "slack's secret are set up at start: restart the "
		        "daemon to apply the change\"");
}

static void
on_sighup(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;
	struct config_errors errs = {0};
	struct config *cfg = NULL;
	struct timespec ts;

	(void)signum;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sdnotify_send("RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
	              (uint64_t)ts.tv_sec * 1000000 +
	                  (uint64_t)ts.tv_nsec / 1000);
	log_msg(LOG_INFO, "event=reload path=%s", d->config_path);
	if (config_load(d->config_path, 0, &cfg, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_msg(LOG_ERR, "%s", errs.msgs[i]);
		log_msg(LOG_ERR,
		        "event=reload-failed errors=%zu reason=\"keeping the "
		        "running configuration; nothing changed\"",
		        errs.n + errs.dropped);
		config_errors_free(&errs);
		notify_status(d, "reload failed, running the old "
		                 "configuration; ");
		return;
	}
	config_errors_free(&errs);
	warn_listen_change(scheduler_config(d->sched), cfg);
	scheduler_reload(d->sched, cfg);
	/* loading peaks far above what a config keeps (libconfig's tree):
	 * give the pages back instead of carrying the peak for good */
	malloc_trim(0);
	log_msg(LOG_INFO, "event=reloaded jobs=%zu accounts=%zu", cfg->njobs,
	        cfg->naccounts);
	notify_status(d, "");
}

static void
on_sigterm(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;

	if (d->stopping)
		return;
	sdnotify_send("STOPPING=1");
	log_msg(LOG_INFO, "event=stop signal=%s in_flight=%zu",
	        signum == SIGINT ? "SIGINT" : "SIGTERM",
	        scheduler_active(d->sched));
	daemon_stop(d);
}

static void
on_watchdog(uv_timer_t *t)
{
	(void)t;
	sdnotify_send("WATCHDOG=1");
}

/* One more signal handle, counted as soon as it needs closing. */
static int
watch_signal(struct daemon *d, int signum, uv_signal_cb cb)
{
	uv_signal_t *h = &d->sig[d->nsig];
	int rc;

	if ((rc = uv_signal_init(&d->loop, h)) < 0)
		return rc;
	d->nsig++;
	h->data = d;
	return uv_signal_start(h, cb, signum);
}

int
daemon_init(struct daemon **out, const struct daemon_options *opt,
            struct config_errors *errs, char *err, size_t errlen)
{
	struct daemon *d;
	size_t n;
	int rc;

	*out = NULL;
	/* glibc serves a request from free heap space whatever its size:
	 * M_MMAP_THRESHOLD only decides how the heap grows when there is
	 * none.  So what must not share pages with the heap is put in
	 * mappings of its own (mapmem: configurations, the scheduler's
	 * entries, the state snapshot).  The threshold is fixed so that glibc
	 * does not raise it after the first big free (its adaptive
	 * threshold), which would grow the heap, not map, for the big blocks
	 * left to malloc (yajl's buffers, the text of a file being read). */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	d->config_path = opt->config_path;
	if ((rc = config_load(d->config_path, 0, &d->cfg, errs)) < 0) {
		n = errs->n + errs->dropped;
		if (rc == -ENOMEM)
			snprintf(err, errlen, "%s: out of memory",
			         d->config_path);
		else
			snprintf(err, errlen, "%s: %zu error%s", d->config_path,
			         n, n == 1 ? "" : "s");
		sdnotify_send("STATUS=configuration errors in %s",
		              d->config_path);
		goto fail;
	}
	log_open(opt->log_stderr,
	         opt->verbose > 1 || (d->cfg->log_level &&
	                              !strcmp(d->cfg->log_level, "debug"))
	             ? LOG_DEBUG
	             : LOG_INFO);
	d->log_open = true;
	signal(SIGPIPE, SIG_IGN);
	if ((rc = uv_loop_init(&d->loop)) < 0) {
		snprintf(err, errlen, "cannot start: %s", uv_strerror(rc));
		goto fail;
	}
	d->loop_open = true;
	*out = d;
	return 0;
fail:
	daemon_free(d);
	return rc;
}

int
daemon_start(struct daemon *d, char *err, size_t errlen)
{
	const struct config *cfg = d->cfg;
	struct http_options hopt = {.ca_file = cfg->api_ca_file,
	                            .total_timeout_ms =
	                                cfg->api_timeout * 1000};
	struct control_hooks ch = {.status = on_control_status,
	                           .trigger = on_control_trigger,
	                           .trigger_wait = on_control_trigger_wait,
	                           .arg = d};
	struct scheduler_watch watch = {.result = on_run_result, .arg = d};
	char warn[1024] = "", path[256];
	uint64_t wd_usec = 0;
	bool status = false; /* say why in STATUS= too */
	int rc;

	if ((rc = state_dir_check(cfg->state_dir, err, errlen)) < 0) {
		status = true;
		goto fail;
	}
	if ((d->st = calloc(1, sizeof(*d->st))) == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		status = true;
		goto fail;
	}
	switch ((rc = state_load(d->st, cfg->state_dir, warn, sizeof(warn)))) {
	case 0:
		break;
	case 1:
		log_msg(LOG_WARNING, "%s", warn);
		break;
	default: /* a bad state file that could not be moved aside */
		snprintf(err, errlen, "%s", warn);
		log_msg(LOG_ERR, "%s", warn);
		sdnotify_send("STATUS=%s", warn);
		goto stop;
	}
	if ((rc = http_init(&d->http, &d->loop, &hopt, err, errlen)) < 0)
		goto fail;
	/* the scheduler, with the exec it drives; it takes the config and
	 * the state over */
	if ((rc = scheduler_init(&d->sched, &d->loop, d->cfg, d->st, d->http,
	                         err, errlen)) < 0)
		goto fail;
	d->cfg = NULL;
	d->st = NULL;
	scheduler_set_watch(d->sched, &watch);
	if ((rc = scheduler_watch_fires(d->sched, on_fire_ended, d)) < 0) {
		snprintf(err, errlen, "out of watchers");
		goto fail;
	}
	if ((rc = watch_signal(d, SIGHUP, on_sighup)) < 0 ||
	    (rc = watch_signal(d, SIGTERM, on_sigterm)) < 0 ||
	    (rc = watch_signal(d, SIGINT, on_sigterm)) < 0) {
		snprintf(err, errlen, "signals: %s", uv_strerror(rc));
		goto fail;
	}
	if ((wd_usec = sdnotify_watchdog_usec()) > 0) {
		if ((rc = uv_timer_init(&d->loop, &d->watchdog)) < 0) {
			snprintf(err, errlen, "watchdog: %s", uv_strerror(rc));
			goto fail;
		}
		d->watchdog_on = true;
		uv_timer_start(&d->watchdog, on_watchdog, wd_usec / 2000,
		               wd_usec / 2000 ? wd_usec / 2000 : 1);
	}
	if ((rc = scheduler_start(d->sched)) < 0) {
		snprintf(err, errlen, "scheduler: %s", strerror(-rc));
		goto fail;
	}
	malloc_trim(0); /* the load's peak, as after a reload */
	/* the HTTP face, when configured, is part of the service: a listener
	 * that cannot start (address in use, no token) fails the start */
	if (cfg->listen.address != NULL &&
	    (rc = httpd_start(&d->httpd, &d->loop, cfg, d->sched, d->http, err,
	                      errlen)) < 0) {
		status = true;
		goto fail;
	}
	/* status and trigger are conveniences: run without them */
	control_path(cfg->state_dir, path, sizeof(path));
	if (control_start(&d->ctl, &d->loop, path, &ch, warn, sizeof(warn)) < 0)
		log_msg(LOG_WARNING, "event=control-unavailable reason=\"%s\"",
		        warn);
	log_msg(LOG_INFO,
	        "event=start version=%s jobs=%zu accounts=%zu state_dir=%s",
	        KCRON_VERSION, cfg->njobs, cfg->naccounts, cfg->state_dir);
	notify_status(d, "");
	d->started = true;
	return 0;
fail:
	log_msg(LOG_ERR, "cannot start: %s", err);
	if (status)
		sdnotify_send("STATUS=cannot start: %s", err);
stop:
	daemon_stop(d);
	return rc;
}

int
daemon_run(struct daemon *d)
{
	uv_run(&d->loop, UV_RUN_DEFAULT);
	return 0;
}

void
daemon_stop(struct daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	if (d->ctl != NULL)
		control_close(d->ctl);
	d->ctl = NULL;
	httpd_close(d->httpd);
	d->httpd = NULL;
	if (d->watchdog_on)
		uv_close((uv_handle_t *)&d->watchdog, NULL);
	d->watchdog_on = false;
	while (d->nsig > 0)
		uv_close((uv_handle_t *)&d->sig[--d->nsig], NULL);
	/* abandons the runs in flight and saves state.json: they resume at
	 * the next start */
	if (d->sched != NULL)
		scheduler_stop(d->sched);
	d->sched = NULL;
	if (d->http != NULL)
		http_close(d->http);
	d->http = NULL;
	if (d->st != NULL) {
		state_free(d->st);
		free(d->st);
	}
	d->st = NULL;
}

void
daemon_free(struct daemon *d)
{
	if (d == NULL)
		return;
	daemon_stop(d);
	if (d->loop_open) {
		/* the close callbacks, and the scheduler's last write */
		uv_run(&d->loop, UV_RUN_DEFAULT);
		if (uv_loop_close(&d->loop) != 0)
			log_msg(LOG_WARNING,
			        "event=exit reason=\"handles left open\"");
	}
	if (d->started)
		log_msg(LOG_INFO, "event=exit");
	if (d->log_open)
		log_close();
	config_free(d->cfg);
	free(d);
}
