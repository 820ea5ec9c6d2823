/*
 * help: usage texts.
 */
#include <errno.h>
#include <string.h>

#include "help.h"

/* Two columns: options start at 2, their descriptions at 21. */
static const char program[] =
    "usage: kinsta-cron [-c FILE] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  daemon [--log-stderr] [-v]\n"
    "                     run the scheduler in the foreground\n"
    "  run JOB [--dry-run] [-v]\n"
    "                     run one job now, wait for its end\n"
    "  status             ask the running daemon about its jobs\n"
    "  trigger JOB [--wait]\n"
    "                     make the running daemon run JOB now\n"
    "  history [JOB] [--since PERIOD] [--outcome OUTCOME] [--json] [-n N]\n"
    "                     the runs recorded, newest first\n"
    "  check [--list-jobs]\n"
    "                     validate the configuration, print a summary\n"
    "  report [--client LABEL | --account NAME | --all] [--period MONTH |\n"
    "         --since Nd] [--format html|csv|json] [-o FILE]\n"
    "                     a client's report: sites, work done, usage\n"
    "  next [JOB] [--from TIME] [-n N]\n"
    "                     print the next fire times of a configured job\n"
    "                     (without JOB: one line per job)\n"
    "  next --schedule EXPR [--tz ZONE] [--from TIME] [-n N] [--name NAME]\n"
    "                     print the next fire times of a schedule\n"
    "\n"
    "options:\n"
    "  -c, --config FILE  configuration file\n"
    "                     (default /etc/kinsta-cron/kinsta-cron.conf)\n"
    "  -h, --help         show this help\n"
    "  -V, --version      show the version\n"
    "\n"
    "\"kinsta-cron COMMAND --help\" describes a command.\n"
    "See kinsta-cron(8) and kinsta-cron.conf(5).\n";

static const struct {
	const char *name;
	const char *text;
} commands[] = {
    {"daemon",
     "usage: kinsta-cron [-c FILE] daemon [--log-stderr] [-v]\n"
     "\n"
     "Run the scheduler in the foreground until SIGTERM or SIGINT, as\n"
     "kinsta-cron.service does; SIGHUP reloads the configuration.\n"
     "\n"
     "options:\n"
     "  --log-stderr       log to standard error instead of syslog\n"
     "  -v, --verbose      log more: once info, twice debug (each poll)\n"
     "  -h, --help         show this help\n"},
    {"check",
     "usage: kinsta-cron [-c FILE] check [--list-jobs]\n"
     "\n"
     "Load and check the whole configuration and its API keys, without\n"
     "the network: print a summary and exit 0, or every error as\n"
     "FILE:LINE: message and exit 1.  What loads but is likely a mistake\n"
     "gets a \"FILE:LINE: warning: ...\" line on standard error and does\n"
     "not fail the check.\n"
     "\n"
     "options:\n"
     "  --list-jobs        print only the job names, one a line, without\n"
     "                     reading the API keys (for shell completion)\n"
     "  -h, --help         show this help\n"},
    {"run",
     "usage: kinsta-cron [-c FILE] run JOB [--dry-run] [-v]\n"
     "\n"
     "Run JOB now on all its targets and wait until every operation has\n"
     "ended: one line per target, exit 0 when each succeeded or was\n"
     "skipped, else 1.  The running daemon is not asked (see trigger).\n"
     "\n"
     "options:\n"
     "  --dry-run          send only the requests that change nothing;\n"
     "                     print each other one instead, and the plan:\n"
     "                     the rollout's waves, each update's items\n"
     "                     (from, to, held by policy)\n"
     "  -v, --verbose      log the requests on standard error (twice:\n"
     "                     each poll)\n"
     "  -h, --help         show this help\n"},
    {"report",
     "usage: kinsta-cron [-c FILE] report [--client LABEL | --account NAME |\n"
     "                   --all] [--period MONTH | --since Nd]\n"
     "                   [--format html|csv|json] [-o FILE] [-v]\n"
     "\n"
     "Fetch the client's sites from the API (through the rate budgets, as\n"
     "a job would) and write a report for the period: sites and\n"
     "environments with domains, WordPress and PHP versions, pending\n"
     "updates, backups, visits and bandwidth, and the work done from the\n"
     "history (backups, updates, cache clears, failures and how they\n"
     "ended).  Exit 0 when written, 1 when a request failed, 2 on bad\n"
     "options.\n"
     "\n"
     "options:\n"
     "  --client LABEL     the sites with this site label (with --account:\n"
     "                     in that account only)\n"
     "  --account NAME     every site of one configured account\n"
     "  --all              every site of every account (the default with\n"
     "                     one account)\n"
     "  --period MONTH     2026-11, last-month (default) or this-month\n"
     "  --since Nd         the last N days (1-366) instead of a month\n"
     "  --format FORMAT    html, csv (one row per site) or json (default)\n"
     "  -o, --output FILE  write FILE ({client}, {date}, {period} filled\n"
     "                     in) instead of standard output\n"
     "  -v, --verbose      log the requests on standard error\n"
     "  -h, --help         show this help\n"},
    {"next",
     "usage: kinsta-cron [-c FILE] next [JOB] [--from TIME] [-n N]\n"
     "       kinsta-cron next --schedule EXPR [--tz ZONE] [--name NAME]\n"
     "                        [--from TIME] [-n N]\n"
     "\n"
     "Print next fire times: of JOB in its zone, one a line; without JOB,\n"
     "one line per job, \"NAME TIME\" (or \"NAME disabled\"), soonest\n"
     "first; with --schedule, of EXPR without any configuration.\n"
     "\n"
     "options:\n"
     "  --from TIME        start after TIME instead of now:\n"
     "                     2026-03-29T01:30:00Z, 2026-03-29T01:30:00+01:00\n"
     "                     or a wall time, 2026-03-29T01:30, in the zone\n"
     "  -n N               how many times (default 5; without JOB, 1 a\n"
     "                     job), at most 100000\n"
     "  --schedule EXPR    a schedule instead of a configured job\n"
     "  --tz ZONE          the IANA zone of --schedule (default UTC)\n"
     "  --name NAME        the job name that seeds H in --schedule\n"
     "  -h, --help         show this help\n"},
    {"status",
     "usage: kinsta-cron [-c FILE] status\n"
     "\n"
     "Ask the running daemon, over its control socket, about its jobs:\n"
     "runs in flight, each job's next fire, the outcome of its last fire\n"
     "and when it ended, its runs going on.  The daemon answers even when\n"
     "the file on disk no longer loads (it runs the configuration it last\n"
     "loaded).  Exit 1 when no daemon listens.\n"
     "\n"
     "options:\n"
     "  -h, --help         show this help\n"},
    {"trigger",
     "usage: kinsta-cron [-c FILE] trigger JOB [--wait]\n"
     "\n"
     "Make the running daemon run JOB now, through its rate budgets and\n"
     "into its log and history (marked trigger=manual); the schedule does\n"
     "not change.  Exit 2 when the job is unknown, 1 when it is still\n"
     "running or no daemon listens.\n"
     "\n"
     "options:\n"
     "  --wait             wait for the run: one line per target as it\n"
     "                     ends (as run prints them), exit 0 when each\n"
     "                     succeeded or was skipped, else 1\n"
     "  -h, --help         show this help\n"},
    {"history",
     "usage: kinsta-cron [-c FILE] history [JOB] [--since PERIOD]\n"
     "                                    [--outcome OUTCOME] [--json] [-n N]\n"
     "\n"
     "Print the runs recorded in STATE_DIR/history.jsonl, newest first,\n"
     "one per target: when it ended (UTC), job, target, outcome, duration,\n"
     "trigger (schedule or manual) and message.  The file is read from\n"
     "its end, so the latest runs of a large history come at once.\n"
     "\n"
     "options:\n"
     "  --since PERIOD     only runs that ended in the last PERIOD (90s,\n"
     "                     30m, 12h, 7d, 2w) or since a time like\n"
     "                     2026-03-29T01:30:00Z\n"
     "  --outcome OUTCOME  only succeeded, failed, timed-out or skipped\n"
     "  --json             the history's JSON lines instead of a table\n"
     "  -n N               at most N runs\n"
     "  -h, --help         show this help\n"},
};

int
help_print(FILE *f, const char *command)
{
	if (command == NULL) {
		fputs(program, f);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(command, commands[i].name) == 0) {
			fputs(commands[i].text, f);
			return 0;
		}
	return -ENOENT;
}
