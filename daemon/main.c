/*
 * main: the command line.  Each command is a function of its own argv; the
 * exit status contract is 0 success, 1 a job or check failed, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "advice.h"
#include "config.h"
#include "control.h"
#include "cron.h"
#include "daemon.h"
#include "exec.h"
#include "help.h"
#include "history.h"
#include "http.h"
#include "keys.h"
#include "log.h"
#include "progress.h"
#include "report.h"
#include "reportfile.h"
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

/* The errors of a configuration that did not load, one per line. */
static void
print_config_errors(const struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->msgs[i]);
	if (errs->dropped > 0)
		fprintf(stderr, "%s: ... and %zu more errors\n", config_path,
		        errs->dropped);
}

/* Load the configuration or say why not: every error, one per line. */
static struct config *
load_config_flags(unsigned flags)
{
	struct config_errors errs = {0};
	struct config *cfg;
	int rc = config_load(config_path, flags, &cfg, &errs);

	print_config_errors(&errs);
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
	struct advice_probe probe = {advice_service_can_read, NULL};
	static const struct option opts[] = {
	    {"list-jobs", no_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct config *cfg;
	int64_t now = (int64_t)time(NULL), t;
	char target[256], next[64], routes[1024];
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
		       a->company, keys_source_name(a->key_source),
		       a->key_path ? " " : "", a->key_path ? a->key_path : "");
	}
	for (size_t i = 0; i < cfg->njobs; i++) {
		const struct config_job *j = &cfg->jobs[i];

		config_target_describe(&j->target, target, sizeof(target));
		printf("job %s: %s on %s, account %s, ", j->name,
		       action_name(j->action), target,
		       cfg->accounts[j->account].name);
		if (!j->enabled)
			printf("disabled\n");
		else if (cron_next(&j->cron, j->zone, now, &t) < 0)
			printf("never fires again\n");
		else if (util_time_iso(next, sizeof(next), j->zone, t, -1) > 0)
			printf("next %s (%s)\n", next, tz_name(j->zone));
		kinsta_job_routes(j, routes, sizeof(routes));
		printf("  calls %s\n", routes);
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
	int failed;
	int done;
	struct exec *ex;
	struct progress *progress;
};

static void
on_run_progress(const struct exec_progress *p, void *arg)
{
	struct run_summary *s = arg;

	progress_op(s->progress, p, (size_t)s->done, exec_active(s->ex));
}

static void
on_run_finished(const struct exec_result *r, void *arg)
{
	struct run_summary *s = arg;
	char line[2048], msg[600];

	progress_clear(s->progress);
	exec_result_line(r, line, sizeof(line));
	puts(line);
	if (r->report != NULL) {
		const char *account = r->cfg->accounts[r->job->account].name;
		struct reportfile_options o;

		fflush(stdout);
		reportfile_job_options(r->cfg, r->job, &o);
		if (reportfile_write(r->cfg, &o, &r->report, &r->report_len,
		                     &account, 1, r->ended_ms / 1000, stdout,
		                     NULL, 0, msg, sizeof(msg)) < 0) {
			fprintf(stderr, "kinsta-cron: report: %s\n", msg);
			s->failed++;
		}
	}
	/* request, fetch-logs: the answer in short, and in whole to the
	 * job's output */
	if (r->answer_short != NULL)
		printf("  answer %s\n", r->answer_short);
	if (exec_save_answer(r, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "kinsta-cron: output: %s\n", msg);
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
	                           .progress = on_run_progress,
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
	eopt.trace = verbose;
	log_open(true, verbose > 1 ? LOG_DEBUG
	               : verbose   ? LOG_INFO
	                           : LOG_NOTICE);
	signal(SIGPIPE, SIG_IGN);
	uv_loop_init(&loop);
	hopt.ca_file = cfg->api_ca_file;
	hopt.total_timeout_ms = cfg->api_timeout * 1000;
	if (http_init(&http, &loop, &hopt, err, sizeof(err)) < 0 ||
	    exec_init(&ex, &loop, http, cfg, &eopt, &hooks) < 0) {
		fprintf(stderr, "kinsta-cron: run: %s\n", err);
		goto out;
	}
	summary.ex = ex;
	if (progress_start(&summary.progress, &loop, stderr,
	                   isatty(STDERR_FILENO), job->name) < 0 ||
	    exec_start(ex, job, 1) < 0)
		goto out;
	while (exec_active(ex) > 0)
		uv_run(&loop, UV_RUN_ONCE);
	rc = summary.failed > 0 || summary.done == 0;
out:
	if (summary.progress != NULL)
		progress_stop(summary.progress);
	if (ex != NULL)
		exec_close(ex);
	if (http != NULL)
		http_close(http);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	log_close();
	config_free(cfg);
	return rc;
}

/* `kinsta-cron report`: one report run per account, through exec as a
 * job's would go (budgets, retries), then one document over them all. */
struct report_cli {
	struct config_job *jobs;
	char **docs;
	size_t *lens;
	size_t n;
	int failed, done;
	int verbose;
};

static void
on_report_finished(const struct exec_result *r, void *arg)
{
	struct report_cli *c = arg;
	char line[2048];

	c->done++;
	exec_result_line(r, line, sizeof(line));
	if (r->outcome != KINSTA_SUCCEEDED || r->report == NULL) {
		fprintf(stderr, "kinsta-cron: report: %s\n", line);
		c->failed++;
		return;
	}
	if (c->verbose)
		fprintf(stderr, "%s\n", line);
	for (size_t i = 0; i < c->n; i++) {
		if (r->job != &c->jobs[i])
			continue;
		if ((c->docs[i] = malloc(r->report_len + 1)) == NULL) {
			c->failed++;
			return;
		}
		memcpy(c->docs[i], r->report, r->report_len);
		c->docs[i][r->report_len] = '\0';
		c->lens[i] = r->report_len;
	}
}

static int
report_usage_error(const char *fmt, const char *v)
{
	fprintf(stderr, "kinsta-cron: report: ");
	fprintf(stderr, fmt, v);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

static int
cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"client", required_argument, NULL, 'C'},
	    {"account", required_argument, NULL, 'A'},
	    {"all", no_argument, NULL, 'a'},
	    {"period", required_argument, NULL, 'p'},
	    {"since", required_argument, NULL, 's'},
	    {"format", required_argument, NULL, 'f'},
	    {"output", required_argument, NULL, 'o'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct reportfile_options ro = {0};
	struct report_cli cli = {0};
	struct exec_options eopt = {0};
	struct exec_hooks hooks = {.finished = on_report_finished, .arg = &cli};
	struct http_options hopt = {0};
	struct config_param *params = NULL;
	const char **names = NULL;
	const char *account = NULL, *msg;
	struct config *cfg = NULL;
	struct http *http = NULL;
	struct exec *ex = NULL;
	struct report_period period;
	uv_loop_t loop;
	bool all = false, loop_up = false;
	char err[512], written[4096];
	int opt, rc = 1;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "o:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'C':
			ro.client_label = optarg;
			break;
		case 'A':
			account = optarg;
			break;
		case 'a':
			all = true;
			break;
		case 'p':
			if ((msg = report_period_check(optarg)) != NULL)
				return report_usage_error("--period %s", msg);
			ro.period = optarg;
			break;
		case 's':
			if ((msg = report_since_check(optarg)) != NULL)
				return report_usage_error("--since %s", msg);
			ro.since = optarg;
			break;
		case 'f':
			if (report_format_parse(optarg) < 0)
				return report_usage_error(
				    "--format \"%s\": use html, csv or json",
				    optarg);
			ro.format = optarg;
			break;
		case 'o':
			ro.output = optarg;
			break;
		case 'v':
			cli.verbose++;
			break;
		case 'h':
			return command_help("report");
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return report_usage_error("unexpected argument \"%s\"",
		                          argv[optind]);
	if ((ro.client_label != NULL) + (account != NULL) + all > 1 &&
	    !(ro.client_label != NULL && account != NULL))
		return report_usage_error("%s", "--all goes alone: give "
		                                "--client, --account or --all");
	if (ro.period != NULL && ro.since != NULL)
		return report_usage_error("%s", "give --period or --since, "
		                                "not both");
	if ((cfg = load_config()) == NULL)
		return 1;
	ro.zone = cfg->zone;
	if (report_period_parse(&period, ro.period, ro.since, cfg->zone,
	                        (int64_t)time(NULL), err, sizeof(err)) < 0) {
		rc = report_usage_error("%s", err);
		goto out;
	}
	if (account != NULL) {
		for (size_t i = 0; i < cfg->naccounts; i++)
			if (strcmp(cfg->accounts[i].name, account) == 0)
				cli.n = i + 1;
		if (cli.n == 0) {
			rc = report_usage_error("no account \"%s\" in the "
			                        "configuration",
			                        account);
			goto out;
		}
	} else if (!all && ro.client_label == NULL && cfg->naccounts > 1) {
		rc = report_usage_error(
		    "%s", "the configuration has several accounts: name the "
		          "client (--client LABEL, --account NAME) or --all");
		goto out;
	}
	/* the accounts asked: one (--account), or every one */
	{
		size_t first = account != NULL ? cli.n - 1 : 0;

		cli.n = account != NULL ? 1 : cfg->naccounts;
		cli.jobs = calloc(cli.n ? cli.n : 1, sizeof(*cli.jobs));
		cli.docs = calloc(cli.n ? cli.n : 1, sizeof(*cli.docs));
		cli.lens = calloc(cli.n ? cli.n : 1, sizeof(*cli.lens));
		names = calloc(cli.n ? cli.n : 1, sizeof(*names));
		params = calloc(3, sizeof(*params));
		if (!cli.jobs || !cli.docs || !cli.lens || !names || !params)
			goto out;
		params[0] = (struct config_param){.name = "client",
		                                  .type = ACTION_PARAM_STRING,
		                                  .str = ro.client_label};
		params[1] = (struct config_param){.name = "period",
		                                  .type = ACTION_PARAM_STRING,
		                                  .str = ro.period};
		params[2] = (struct config_param){.name = "since",
		                                  .type = ACTION_PARAM_STRING,
		                                  .str = ro.since};
		for (size_t i = 0; i < cli.n; i++) {
			struct config_job *j = &cli.jobs[i];

			j->name = "report";
			j->file = cfg->path;
			j->zone = cfg->zone;
			j->account = first + i;
			j->action = ACTION_REPORT;
			j->params = params;
			j->nparams = 3;
			j->enabled = true;
			j->retries = 2;
			j->window_from = j->window_to = -1;
			names[i] = cfg->accounts[first + i].name;
		}
	}
	ro.client = ro.client_label       ? ro.client_label
	            : account             ? account
	            : cfg->naccounts == 1 ? cfg->accounts[0].name
	                                  : "all";
	log_open(true, cli.verbose > 1 ? LOG_DEBUG
	               : cli.verbose   ? LOG_INFO
	                               : LOG_WARNING);
	eopt.trace = cli.verbose;
	signal(SIGPIPE, SIG_IGN);
	uv_loop_init(&loop);
	loop_up = true;
	hopt.ca_file = cfg->api_ca_file;
	hopt.total_timeout_ms = cfg->api_timeout * 1000;
	if (http_init(&http, &loop, &hopt, err, sizeof(err)) < 0 ||
	    exec_init(&ex, &loop, http, cfg, &eopt, &hooks) < 0) {
		fprintf(stderr, "kinsta-cron: report: %s\n", err);
		goto out;
	}
	for (size_t i = 0; i < cli.n; i++)
		if (exec_start(ex, &cli.jobs[i], i + 1) < 0)
			goto out;
	while (exec_active(ex) > 0)
		uv_run(&loop, UV_RUN_ONCE);
	if (cli.failed > 0 || (size_t)cli.done != cli.n)
		goto out;
	/* a label no site carries is a typo more often than a client
	 * without sites: say so rather than write an empty report */
	if (ro.client_label != NULL) {
		size_t empty = 0;

		for (size_t i = 0; i < cli.n; i++)
			empty += strstr(cli.docs[i], "\"sites\":[]") != NULL;
		if (empty == cli.n) {
			fprintf(
			    stderr,
			    "kinsta-cron: report: no site carries the label "
			    "\"%s\" (labels are case-sensitive)\n",
			    ro.client_label);
			goto out;
		}
	}
	if (reportfile_write(cfg, &ro, (const char *const *)cli.docs, cli.lens,
	                     names, cli.n, (int64_t)time(NULL), stdout, written,
	                     sizeof(written), err, sizeof(err)) < 0) {
		fprintf(stderr, "kinsta-cron: report: %s\n", err);
		goto out;
	}
	if (ro.output != NULL)
		fprintf(stderr, "kinsta-cron: report written to %s\n", written);
	rc = 0;
out:
	if (ex != NULL)
		exec_close(ex);
	if (http != NULL)
		http_close(http);
	if (loop_up) {
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		log_close();
	}
	for (size_t i = 0; cli.docs != NULL && i < cli.n; i++)
		free(cli.docs[i]);
	free(cli.docs);
	free(cli.lens);
	free(cli.jobs);
	free(names);
	free(params);
	config_free(cfg);
	return rc;
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
	struct daemon_options dopt = {.config_path = config_path};
	struct config_errors errs = {0};
	struct daemon *d;
	char err[1024];
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			dopt.log_stderr = true;
			break;
		case 'v':
			dopt.verbose++;
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
	rc = daemon_init(&d, &dopt, &errs, err, sizeof(err));
	print_config_errors(&errs);
	config_errors_free(&errs);
	if (rc < 0) {
		fprintf(stderr, "kinsta-cron: %s\n", err);
		return 1;
	}
	/* a failed start is in the log already */
	rc = daemon_start(d, err, sizeof(err)) < 0 || daemon_run(d) < 0;
	daemon_free(d);
	return rc;
}

/* The state_dir of the configuration, for the commands that need only
 * it (status, trigger, history): from the file when it loads, else read
 * from its text, so that a broken file on disk does not keep them from
 * the daemon, which still runs the configuration it loaded. */
static const char *
find_state_dir(char *buf, size_t len, bool quiet)
{
	struct config_errors errs = {0};
	struct config *cfg;
	int rc = config_load(config_path, CONFIG_LOAD_NO_KEYS, &cfg, &errs);

	if (rc == 0) {
		snprintf(buf, len, "%s", cfg->state_dir);
		config_free(cfg);
		config_errors_free(&errs);
		return buf;
	}
	if (!quiet)
		fprintf(stderr,
		        "kinsta-cron: warning: %s does not load (%zu "
		        "error%s; \"kinsta-cron check\" lists them); the "
		        "daemon runs the configuration it last loaded\n",
		        config_path, errs.n + errs.dropped,
		        errs.n + errs.dropped == 1 ? "" : "s");
	config_errors_free(&errs);
	return config_guess_state_dir(config_path, buf, len);
}

/* Send line to the daemon: at its socket for this configuration, or at
 * the service's (/run/kinsta-cron/control) when that is not there, since
 * $RUNTIME_DIRECTORY is set only inside the service. */
static int
control_command(const char *line)
{
	static const char service_socket[] = "/run/kinsta-cron/control";
	char dir[4096], path[4200], err[512];
	int rc;

	control_path(find_state_dir(dir, sizeof(dir), false), path,
	             sizeof(path));
	rc = control_request(path, line, stdout, err, sizeof(err));
	if ((rc == -ENOENT || rc == -ECONNREFUSED) &&
	    strcmp(path, service_socket) != 0 &&
	    access(service_socket, F_OK) == 0) {
		char err2[512];
		int rc2 = control_request(service_socket, line, stdout, err2,
		                          sizeof(err2));

		if (rc2 != -ENOENT && rc2 != -ECONNREFUSED) {
			rc = rc2;
			memcpy(err, err2, sizeof(err));
		}
	}
	if (rc < 0)
		fprintf(stderr, "kinsta-cron: %s\n", err);
	fflush(stdout);
	return rc < 0 ? 1 : rc;
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
	static const struct option opts[] = {
	    {"wait", no_argument, NULL, 'w'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *job;
	char line[300];
	bool wait = false;
	int opt;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "wh", opts, NULL)) != -1) {
		switch (opt) {
		case 'w':
			wait = true;
			break;
		case 'h':
			return command_help("trigger");
		default:
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "kinsta-cron: trigger: name one job "
		                "(kinsta-cron trigger JOB [--wait])\n");
		return EXIT_USAGE;
	}
	job = argv[optind];
	if (strlen(job) > 200 || strpbrk(job, " \r\n") != NULL) {
		fprintf(stderr,
		        "kinsta-cron: trigger: \"%s\" is not a job "
		        "name\n",
		        job);
		return EXIT_USAGE;
	}
	snprintf(line, sizeof(line), "trigger %s%s", job, wait ? " wait" : "");
	return control_command(line);
}

/* ---- history ------------------------------------------------------------ */

static const char *const outcomes[] = {"succeeded", "failed", "timed-out",
                                       "skipped", NULL};

/* 4.2s, 3m12s, 1h02m */
static void
format_duration(char *buf, size_t len, int64_t ms)
{
	if (ms < 60000)
		snprintf(buf, len, "%lld.%llds", (long long)(ms / 1000),
		         (long long)(ms % 1000 / 100));
	else if (ms < 3600000)
		snprintf(buf, len, "%lldm%02llds", (long long)(ms / 60000),
		         (long long)(ms % 60000 / 1000));
	else
		snprintf(buf, len, "%lldh%02lldm", (long long)(ms / 3600000),
		         (long long)(ms % 3600000 / 60000));
}

/* `history [JOB] [--since PERIOD|TIME] [--outcome O] [--json] [-n N]`:
 * history.jsonl newest first, read from its end. */
static int
cmd_history(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"since", required_argument, NULL, 's'},
	    {"outcome", required_argument, NULL, 'o'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *job = NULL, *outcome = NULL, *since_arg = NULL;
	struct history_reader *r = NULL;
	struct history_entry e;
	char dir[4096], path[4200], err[512];
	int64_t since = INT64_MIN, period;
	long limit = 0, shown = 0;
	bool json = false;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			since_arg = optarg;
			break;
		case 'o':
			outcome = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'n':
			if (parse_count(optarg, &limit) < 0) {
				fprintf(stderr,
				        "kinsta-cron: -n: \"%s\" is not a "
				        "count from 1 to 100000\n",
				        optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			return command_help("history");
		default:
			return EXIT_USAGE;
		}
	}
	if (optind + 1 < argc) {
		fprintf(stderr, "kinsta-cron: history: at most one job\n");
		return EXIT_USAGE;
	}
	if (optind < argc)
		job = argv[optind];
	if (outcome != NULL) {
		size_t i = 0;

		while (outcomes[i] != NULL && strcmp(outcomes[i], outcome) != 0)
			i++;
		if (outcomes[i] == NULL) {
			fprintf(stderr,
			        "kinsta-cron: --outcome: \"%s\" is not one of "
			        "succeeded, failed, timed-out, skipped\n",
			        outcome);
			return EXIT_USAGE;
		}
	}
	if (since_arg != NULL) {
		if (history_parse_period(since_arg, &period) == 0) {
			since = util_wall_ms() - period;
		} else if (tz_parse_iso(tz_utc(), since_arg, &since) == 0) {
			since *= 1000;
		} else {
			fprintf(
			    stderr,
			    "kinsta-cron: --since: \"%s\" is neither a "
			    "period (90s, 30m, 12h, 7d, 2w) nor a time like "
			    "2026-03-29T01:30:00Z\n",
			    since_arg);
			return EXIT_USAGE;
		}
	}
	snprintf(path, sizeof(path), "%s/history.jsonl",
	         find_state_dir(dir, sizeof(dir), true));
	if ((rc = history_open(&r, path, err, sizeof(err))) == -ENOENT) {
		fprintf(stderr, "kinsta-cron: no run recorded yet (%s)\n",
		        path);
		return 0;
	}
	if (rc < 0) {
		fprintf(stderr, "kinsta-cron: %s\n", err);
		return 1;
	}
	if (!json)
		printf("%-24s %-24s %-36s %-10s %8s %-8s %s\n", "END (UTC)",
		       "JOB", "TARGET", "OUTCOME", "DURATION", "TRIGGER",
		       "MESSAGE");
	/* lines are appended as runs end: the first older than --since
	 * ends the walk */
	while ((rc = history_next(r, &e, err, sizeof(err))) == 1) {
		char end[64], dur[32];

		if (e.end_ms < since)
			break;
		if ((job != NULL && strcmp(e.job, job) != 0) ||
		    (outcome != NULL && strcmp(e.outcome, outcome) != 0))
			continue;
		if (json) {
			printf("%.*s\n", (int)e.len, e.line);
		} else {
			if (util_time_iso(end, sizeof(end), NULL,
			                  e.end_ms / 1000, -1) <= 0)
				snprintf(end, sizeof(end), "-");
			format_duration(dur, sizeof(dur), e.duration_ms);
			/* no trailing blanks when there is no message */
			printf("%-24s %-24s %-36s %-10s %8s %-*s%s%s%s%s\n",
			       end, e.job, e.target[0] ? e.target : "-",
			       e.outcome, dur,
			       e.message[0] || e.note[0] ? 8 : 0,
			       e.trigger[0] ? e.trigger : "schedule",
			       e.message[0] || e.note[0] ? " " : "", e.message,
			       e.message[0] && e.note[0] ? "; " : "", e.note);
		}
		if (limit > 0 && ++shown >= limit)
			break;
	}
	history_close(r);
	if (rc < 0) {
		fprintf(stderr, "kinsta-cron: %s\n", err);
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
    {"check", cmd_check},   {"daemon", cmd_daemon},   {"history", cmd_history},
    {"next", cmd_next},     {"report", cmd_report},   {"run", cmd_run},
    {"status", cmd_status}, {"trigger", cmd_trigger},
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
