/*
 * main: the command line.  Each command is a function of its own argv; the
 * exit status contract is 0 success, 1 a job or check failed, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <systemd/sd-daemon.h>
#include <uv.h>

#include "advice.h"
#include "config.h"
#include "control.h"
#include "cron.h"
#include "exec.h"
#include "help.h"
#include "http.h"
#include "log.h"
#include "scheduler.h"
#include "state.h"
#include "tz.h"
#include "util.h"

#define EXIT_USAGE 2

static const char *config_path = "/etc/kinsta-cron/kinsta-cron.conf";

static void
usage(FILE *f)
{
	help_print(f, NULL);
}

/* COMMAND --help: its own usage on stdout. */
static int
command_help(const char *command)
{
	help_print(stdout, command);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
parse_count(const char *s, long *n)
{
	char *end;

	errno = 0;
	*n = strtol(s, &end, 10);
	return errno || end == s || *end != '\0' || *n < 1 || *n > 100000
	           ? -EINVAL
	           : 0;
}

/* Load the configuration or say why not: every error, one per line. */
static struct config *
load_config_flags(unsigned flags)
{
	struct config_errors errs = {0};
	struct config *cfg;
	int rc = config_load(config_path, flags, &cfg, &errs);

	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	if (errs.dropped > 0)
		fprintf(stderr, "%s: ... and %zu more errors\n", config_path,
		        errs.dropped);
	if (rc == -ENOMEM)
		fprintf(stderr, "kinsta-cron: %s: out of memory\n",
		        config_path);
	else if (rc < 0)
		fprintf(stderr, "kinsta-cron: %s: %zu error%s\n", config_path,
		        errs.n + errs.dropped,
		        errs.n + errs.dropped == 1 ? "" : "s");
	config_errors_free(&errs);
	return rc < 0 ? NULL : cfg;
}

static struct config *
load_config(void)
{
	return load_config_flags(0);
}

static void
print_warning(const char *line, void *arg)
{
	(void)arg;
	fprintf(stderr, "%s\n", line);
}

static int
cmd_check(int argc, char **argv)
{
	static const char *const sources[] = {"key_file", "credential",
	                                      "KINSTA_API_KEY"};
	struct advice_probe probe = {advice_service_can_read, NULL};
	static const struct option opts[] = {
	    {"list-jobs", no_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct config *cfg;
	int64_t now = (int64_t)time(NULL), t;
	char target[256], next[64];
	int opt;
	bool list = false;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			list = true;
			break;
		case 'h':
			return command_help("check");
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kinsta-cron: check takes no arguments\n");
		return EXIT_USAGE;
	}
	/* Job names for shell completion: cheap, and the keys (root's)
	 * are not read, so any user who can read the file gets them. */
	if (list) {
		if ((cfg = load_config_flags(CONFIG_LOAD_NO_KEYS)) == NULL)
			return 1;
		for (size_t i = 0; i < cfg->njobs; i++)
			puts(cfg->jobs[i].name);
		config_free(cfg);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if ((cfg = load_config()) == NULL)
		return 1;
	printf("configuration OK: %zu account%s, %zu job%s\n", cfg->naccounts,
	       cfg->naccounts == 1 ? "" : "s", cfg->njobs,
	       cfg->njobs == 1 ? "" : "s");
	for (size_t i = 0; i < cfg->naccounts; i++) {
		const struct config_account *a = &cfg->accounts[i];

		printf("account %s: company %s, key from %s%s%s\n", a->name,
		       a->company, sources[a->key_source],
		       a->key_path ? " " : "", a->key_path ? a->key_path : "");
	}
	for (size_t i = 0; i < cfg->njobs; i++) {
		const struct config_job *j = &cfg->jobs[i];

		config_target_describe(&j->target, target, sizeof(target));
		printf("job %s: %s on %s, account %s, ", j->name,
		       config_action_name(j->action), target,
		       cfg->accounts[j->account].name);
		if (!j->enabled)
			printf("disabled\n");
		else if (cron_next(&j->cron, j->zone, now, &t) < 0)
			printf("never fires again\n");
		else if (util_time_iso(next, sizeof(next), j->zone, t, -1) > 0)
			printf("next %s (%s)\n", next, tz_name(j->zone));
	}
	/* Warnings go after the summary, on stderr; they never fail it. */
	fflush(stdout);
	advice_check(cfg, advice_is_service_config(cfg->path) ? &probe : NULL,
	             print_warning, NULL);
	config_free(cfg);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* One line of `next` without JOB: the job's next fire and the order of
 * the lines (fire times soonest first, then "never", then "disabled"). */
struct next_line {
	int rank; /* 0 fires, 1 never fires again, 2 disabled */
	int64_t at;
	size_t job;
};

static int
next_line_cmp(const void *a, const void *b)
{
	const struct next_line *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->job < y->job ? -1 : x->job > y->job;
}

/* `next JOB`: the job's next COUNT (default 5) times in its zone, one a
 * line.  Without JOB: one line per job, "NAME TIME ..." with its next
 * COUNT (default 1) times, or "NAME never" / "NAME disabled", soonest
 * first, so that a job firing every minute cannot hide the others. */
static int
next_jobs(const char *name, const char *from, long count)
{
	const struct config_job *job = NULL;
	struct next_line *lines = NULL;
	struct config *cfg;
	int64_t t;
	char buf[64];
	int rc = 1;

	if ((cfg = load_config()) == NULL)
		return 1;
	if (name != NULL && (job = config_find_job(cfg, name)) == NULL) {
		fprintf(stderr, "kinsta-cron: next: no job \"%s\" in %s\n",
		        name, config_path);
		rc = EXIT_USAGE;
		goto out;
	}
	if (from == NULL) {
		t = (int64_t)time(NULL);
	} else if (tz_parse_iso(job ? job->zone : cfg->zone, from, &t) < 0) {
		fprintf(stderr,
		        "kinsta-cron: --from: \"%s\" is not a time like "
		        "2026-03-29T01:30:00Z, 2026-03-29T01:30:00+01:00 or "
		        "2026-03-29T01:30 (wall time in the job's zone)\n",
		        from);
		rc = EXIT_USAGE;
		goto out;
	}
	if (job != NULL) {
		for (long i = 0; i < (count ? count : 5); i++) {
			if (cron_next(&job->cron, job->zone, t, &t) < 0)
				break;
			util_time_iso(buf, sizeof(buf), job->zone, t, -1);
			puts(buf);
		}
		rc = fflush(stdout) == 0 ? 0 : 1;
		goto out;
	}
	if (cfg->njobs > 0 &&
	    (lines = calloc(cfg->njobs, sizeof(*lines))) == NULL)
		goto out;
	for (size_t i = 0; i < cfg->njobs; i++) {
		const struct config_job *j = &cfg->jobs[i];

		lines[i].job = i;
		if (!j->enabled)
			lines[i].rank = 2;
		else if (cron_next(&j->cron, j->zone, t, &lines[i].at) < 0)
			lines[i].rank = 1;
	}
	qsort(lines, cfg->njobs, sizeof(*lines), next_line_cmp);
	for (size_t i = 0; i < cfg->njobs; i++) {
		const struct config_job *j = &cfg->jobs[lines[i].job];
		int64_t at = lines[i].at;

		fputs(j->name, stdout);
		if (lines[i].rank != 0)
			fputs(lines[i].rank == 1 ? " never" : " disabled",
			      stdout);
		for (long n = 0; lines[i].rank == 0 && n < (count ? count : 1);
		     n++) {
			if (n > 0 && cron_next(&j->cron, j->zone, at, &at) < 0)
				break;
			util_time_iso(buf, sizeof(buf), j->zone, at, -1);
			printf(" %s", buf);
		}
		putchar('\n');
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	free(lines);
	config_free(cfg);
	return rc;
}

static int
cmd_next(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"schedule", required_argument, NULL, 's'},
	    {"tz", required_argument, NULL, 'z'},
	    {"from", required_argument, NULL, 'f'},
	    {"name", required_argument, NULL, 'N'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *expr = NULL, *zone_name = NULL, *from = NULL, *name = NULL;
	struct tz *loaded = NULL;
	const struct tz *zone = tz_utc();
	struct cron c;
	char err[256], buf[64];
	long count = 0; /* not given: each form has its default */
	int64_t t;
	int opt, rc = EXIT_USAGE;

	/* 0, not 1: glibc then forgets the "+" (stop at the first
	 * non-option) of main's own scan, so "next JOB -n 3" works. */
	optind = 0;
	while ((opt = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			expr = optarg;
			break;
		case 'z':
			zone_name = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 'N':
			name = optarg;
			break;
		case 'n':
			if (parse_count(optarg, &count) < 0) {
				fprintf(stderr,
				        "kinsta-cron: -n: \"%s\" is not a "
				        "count from 1 to 100000\n",
				        optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			return command_help("next");
		default:
			return EXIT_USAGE;
		}
	}
	if (expr == NULL) {
		if (zone_name != NULL || name != NULL || optind + 1 < argc) {
			fprintf(stderr,
			        "kinsta-cron: next: a configured job takes "
			        "only --from and -n (--tz and --name go with "
			        "--schedule)\n");
			return EXIT_USAGE;
		}
		return next_jobs(optind < argc ? argv[optind] : NULL, from,
		                 count);
	}
	if (optind < argc) {
		fprintf(stderr, "kinsta-cron: next: give either JOB or "
		                "--schedule EXPR, not both\n");
		return EXIT_USAGE;
	}
	if (zone_name != NULL) {
		if (tz_load(&loaded, zone_name, err, sizeof(err)) < 0) {
			fprintf(stderr, "kinsta-cron: --tz: %s\n", err);
			return EXIT_USAGE;
		}
		zone = loaded;
	}
	if (cron_parse(&c, expr, name, err, sizeof(err)) < 0) {
		fprintf(stderr, "kinsta-cron: schedule \"%s\": %s\n", expr,
		        err);
		goto out;
	}
	if (from == NULL) {
		t = (int64_t)time(NULL);
	} else if (tz_parse_iso(zone, from, &t) < 0) {
		fprintf(stderr,
		        "kinsta-cron: --from: \"%s\" is not a time like "
		        "2026-03-29T01:30:00Z, 2026-03-29T01:30:00+01:00 or "
		        "2026-03-29T01:30 (wall time in --tz)\n",
		        from);
		goto out;
	}
	for (long i = 0; i < (count ? count : 5); i++) {
		if (cron_next(&c, zone, t, &t) < 0)
			break;
		util_time_iso(buf, sizeof(buf), zone, t, -1);
		puts(buf);
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	tz_free(loaded);
	return rc;
}

struct run_summary {
	const char *output; /* report: where the document goes */
	int failed;
	int done;
};

static void
on_run_finished(const struct exec_result *r, void *arg)
{
	struct run_summary *s = arg;
	char target[320], msg[600], note[600];
	const struct kinsta_target *t = r->target;

	if (t->env_id[0] == '\0')
		snprintf(target, sizeof(target), "-");
	else if (t->site_name[0] != '\0')
		snprintf(target, sizeof(target), "%s/%s", t->site_name,
		         t->env_name);
	else
		snprintf(target, sizeof(target), "%s", t->env_id);
	printf("job=%s target=%s env=%s outcome=%s op=%s", r->job->name,
	       log_value(msg, sizeof(msg), target),
	       t->env_id[0] ? t->env_id : "-", kinsta_outcome_name(r->outcome),
	       r->op_id[0] ? r->op_id : "-");
	if (r->message[0] != '\0')
		printf(" message=%s", log_value(msg, sizeof(msg), r->message));
	if (r->note[0] != '\0')
		printf(" note=%s", log_value(note, sizeof(note), r->note));
	printf(" duration_ms=%lld\n", (long long)(r->ended_ms - r->started_ms));
	if (r->report != NULL && s->output == NULL) {
		printf("%.*s\n", (int)r->report_len, r->report);
	} else if (r->report != NULL &&
	           state_write_file(s->output, r->report, r->report_len, msg,
	                            sizeof(msg)) < 0) {
		fprintf(stderr, "kinsta-cron: report: %s\n", msg);
		s->failed++;
	}
	fflush(stdout);
	s->done++;
	if (r->outcome != KINSTA_SUCCEEDED && r->outcome != KINSTA_SKIPPED)
		s->failed++;
}

static int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dry-run", no_argument, NULL, 'd'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct run_summary summary = {0};
	struct exec_options eopt = {0};
	struct exec_hooks hooks = {.finished = on_run_finished,
	                           .arg = &summary};
	struct http_options hopt = {0};
	struct config *cfg = NULL;
	const struct config_job *job;
	struct http *http = NULL;
	struct exec *ex = NULL;
	uv_loop_t loop;
	char err[256];
	int opt, verbose = 0, rc = 1;

	optind = 0; /* also resets glibc's "+" mode from main */
	while ((opt = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			eopt.dry_run = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			return command_help("run");
		default:
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "kinsta-cron: run: name one job (kinsta-cron "
		                "run JOB)\n");
		return EXIT_USAGE;
	}
	if ((cfg = load_config()) == NULL)
		return 1;
	if ((job = config_find_job(cfg, argv[optind])) == NULL) {
		fprintf(stderr, "kinsta-cron: run: no job \"%s\" in %s\n",
		        argv[optind], cfg->path);
		config_free(cfg);
		return EXIT_USAGE;
	}
	summary.output = config_param_str(job, "output");
	log_open(true, verbose > 1 ? LOG_DEBUG
	               : verbose   ? LOG_INFO
	                           : LOG_NOTICE);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_ALL);
	uv_loop_init(&loop);
	hopt.ca_file = cfg->api_ca_file;
	hopt.total_timeout_ms = cfg->api_timeout * 1000;
	if (http_init(&http, &loop, &hopt, err, sizeof(err)) < 0 ||
	    exec_init(&ex, &loop, http, cfg, &eopt, &hooks) < 0) {
		fprintf(stderr, "kinsta-cron: run: %s\n", err);
		goto out;
	}
	if (exec_start(ex, job, 1) < 0)
		goto out;
	while (exec_active(ex) > 0)
		uv_run(&loop, UV_RUN_ONCE);
	rc = summary.failed > 0 || summary.done == 0;
out:
	if (ex != NULL)
		exec_close(ex);
	if (http != NULL)
		http_close(http);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	curl_global_cleanup();
	log_close();
	config_free(cfg);
	return rc;
}

struct daemon {
	uv_loop_t loop;
	uv_signal_t sighup, sigterm, sigint;
	uv_timer_t watchdog;
	bool watchdog_on;
	struct http *http;
	struct exec *ex;
	struct scheduler *sched;
	struct control *ctl;
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

	return scheduler_trigger(d->sched, job, out);
}

static void
notify_status(struct daemon *d, const char *prefix)
{
	char status[512];

	scheduler_status(d->sched, status, sizeof(status));
	sd_notifyf(0, "READY=1\nSTATUS=%s%s", prefix, status);
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
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
	           (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
	log_msg(LOG_INFO, "event=reload path=%s", config_path);
	if (config_load(config_path, 0, &cfg, &errs) < 0) {
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
	scheduler_reload(d->sched, cfg);
	/* loading peaks far above what a config keeps (libconfig's tree):
	 * give the pages back instead of carrying the peak for good */
	malloc_trim(0);
	log_msg(LOG_INFO, "event=reloaded jobs=%zu accounts=%zu", cfg->njobs,
	        cfg->naccounts);
	notify_status(d, "");
}

static void
on_watchdog(uv_timer_t *t)
{
	(void)t;
	sd_notify(0, "WATCHDOG=1");
}

static void
on_closed(uv_handle_t *h)
{
	(void)h;
}

static void
on_sigterm(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;

	if (d->stopping)
		return;
	d->stopping = true;
	sd_notify(0, "STOPPING=1");
	log_msg(LOG_INFO, "event=stop signal=%s in_flight=%zu",
	        signum == SIGINT ? "SIGINT" : "SIGTERM", exec_active(d->ex));
	/* runs in flight stay in state.json and resume at the next start */
	if (d->ctl != NULL)
		control_close(d->ctl);
	exec_close(d->ex);
	scheduler_stop(d->sched);
	http_close(d->http);
	uv_close((uv_handle_t *)&d->sighup, on_closed);
	uv_close((uv_handle_t *)&d->sigterm, on_closed);
	uv_close((uv_handle_t *)&d->sigint, on_closed);
	if (d->watchdog_on)
		uv_close((uv_handle_t *)&d->watchdog, on_closed);
}

static int
cmd_daemon(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"log-stderr", no_argument, NULL, 's'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct daemon d = {0};
	struct config *cfg;
	struct state *st = NULL;
	char err[512] = "", warn[1024] = "";
	bool to_stderr = false;
	int opt, verbose = 0, prio;
	uint64_t wd_usec = 0;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			to_stderr = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			return command_help("daemon");
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kinsta-cron: daemon takes no arguments\n");
		return EXIT_USAGE;
	}
	/* Big, short-lived buffers (the config's text, libconfig's tree,
	 * a state.json being written) come from mmap and go back whole:
	 * glibc's adaptive threshold would otherwise move them onto the heap
	 * after the first one, where they leave a high-water mark. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	if ((cfg = load_config()) == NULL) {
		sd_notifyf(0, "STATUS=configuration errors in %s", config_path);
		return 1;
	}
	prio =
	    verbose > 1 || (cfg->log_level && !strcmp(cfg->log_level, "debug"))
	        ? LOG_DEBUG
	        : LOG_INFO;
	log_open(to_stderr, prio);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_ALL);
	if (state_dir_check(cfg->state_dir, err, sizeof(err)) < 0 ||
	    (st = calloc(1, sizeof(*st))) == NULL) {
		if (st == NULL && err[0] == '\0')
			snprintf(err, sizeof(err), "out of memory");
		log_msg(LOG_ERR, "cannot start: %s", err);
		sd_notifyf(0, "STATUS=cannot start: %s", err);
		config_free(cfg);
		curl_global_cleanup();
		return 1;
	}
	switch (state_load(st, cfg->state_dir, warn, sizeof(warn))) {
	case 0:
		break;
	case 1:
		log_msg(LOG_WARNING, "%s", warn);
		break;
	default: /* a bad state file that could not be moved aside */
		log_msg(LOG_ERR, "%s", warn);
		sd_notifyf(0, "STATUS=%s", warn);
		free(st);
		config_free(cfg);
		curl_global_cleanup();
		return 1;
	}
	uv_loop_init(&d.loop);
	{
		struct http_options hopt = {.ca_file = cfg->api_ca_file,
		                            .total_timeout_ms =
		                                cfg->api_timeout * 1000};

		if (http_init(&d.http, &d.loop, &hopt, err, sizeof(err)) < 0 ||
		    exec_init(&d.ex, &d.loop, d.http, cfg, NULL, NULL) < 0 ||
		    scheduler_init(&d.sched, &d.loop, cfg, st, d.ex, err,
		                   sizeof(err)) < 0) {
			log_msg(LOG_ERR, "cannot start: %s", err);
			return 1;
		}
	}
	uv_signal_init(&d.loop, &d.sighup);
	uv_signal_init(&d.loop, &d.sigterm);
	uv_signal_init(&d.loop, &d.sigint);
	d.sighup.data = d.sigterm.data = d.sigint.data = &d;
	uv_signal_start(&d.sighup, on_sighup, SIGHUP);
	uv_signal_start(&d.sigterm, on_sigterm, SIGTERM);
	uv_signal_start(&d.sigint, on_sigterm, SIGINT);
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		uv_timer_init(&d.loop, &d.watchdog);
		uv_timer_start(&d.watchdog, on_watchdog, wd_usec / 2000,
		               wd_usec / 2000 ? wd_usec / 2000 : 1);
		d.watchdog_on = true;
	}
	scheduler_start(d.sched);
	malloc_trim(0); /* the load's peak, as after a reload */
	{
		struct control_hooks ch = {on_control_status,
		                           on_control_trigger, &d};
		char path[256];

		control_path(cfg->state_dir, path, sizeof(path));
		if (control_start(&d.ctl, &d.loop, path, &ch, err,
		                  sizeof(err)) < 0)
			log_msg(LOG_WARNING,
			        "event=control-unavailable reason=\"%s\"", err);
	}
	log_msg(LOG_INFO,
	        "event=start version=%s jobs=%zu accounts=%zu state_dir=%s",
	        KCRON_VERSION, cfg->njobs, cfg->naccounts, cfg->state_dir);
	notify_status(&d, "");
	uv_run(&d.loop, UV_RUN_DEFAULT);
	uv_run(&d.loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&d.loop) != 0)
		log_msg(LOG_WARNING, "event=exit reason=\"handles left open\"");
	log_msg(LOG_INFO, "event=exit");
	curl_global_cleanup();
	log_close();
	return 0;
}

static int
control_command(const char *line)
{
	struct config *cfg = load_config_flags(CONFIG_LOAD_NO_KEYS);
	char path[256], err[512];
	int rc;

	if (cfg == NULL)
		return 1;
	control_path(cfg->state_dir, path, sizeof(path));
	config_free(cfg);
	rc = control_request(path, line, stdout, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "kinsta-cron: %s\n", err);
	return rc == 0 ? 0 : 1;
}

static int
cmd_status(int argc, char **argv)
{
	if (argc == 2 &&
	    (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
		return command_help("status");
	if (argc != 1) {
		fprintf(stderr, "kinsta-cron: status takes no arguments\n");
		return EXIT_USAGE;
	}
	return control_command("status");
}

static int
cmd_trigger(int argc, char **argv)
{
	char line[300];

	if (argc == 2 &&
	    (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
		return command_help("trigger");
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "kinsta-cron: trigger: name one job "
		                "(kinsta-cron trigger JOB)\n");
		return EXIT_USAGE;
	}
	if (strlen(argv[1]) > 200 || strpbrk(argv[1], " \r\n") != NULL) {
		fprintf(stderr,
		        "kinsta-cron: trigger: \"%s\" is not a job "
		        "name\n",
		        argv[1]);
		return EXIT_USAGE;
	}
	snprintf(line, sizeof(line), "trigger %s", argv[1]);
	return control_command(line);
}

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
    {"check", cmd_check}, {"daemon", cmd_daemon}, {"next", cmd_next},
    {"run", cmd_run},     {"status", cmd_status}, {"trigger", cmd_trigger},
};

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("kinsta-cron %s\n", KCRON_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			return commands[i].fn(argc - optind, argv + optind);
	fprintf(stderr, "kinsta-cron: unknown command \"%s\"\n", argv[optind]);
	usage(stderr);
	return EXIT_USAGE;
}
