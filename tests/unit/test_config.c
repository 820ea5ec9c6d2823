/*
 * Unit tests for daemon/config.c: a table of bad configurations, each with
 * the exact messages it must produce, and good configurations (including
 * the tree under tests/unit/data/config) that must load into the expected
 * structure.  Every case runs in a scratch directory of its own, with the
 * main file loaded by a relative name so that messages are predictable.
 * Ad-hoc jobs (config_adhoc_new: one run's job from a request's fields)
 * and listen.allow_actions at the end.
 */
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "cron.h"
#include "test.h"
#include "tz.h"

#define CO  "0b0e6f4c-1a2b-4c3d-8e9f-0123456789ab"
#define ENV "11111111-2222-3333-4444-555555555555"
#define KEY "kc-SECRET-0123456789abcdef"
/* Line 1 of most cases: one good account. */
#define ACC                                                                    \
	"accounts = ( { name = \"acme\"; company = \"" CO "\";"                \
	" key_file = \"acme.key\"; } );\n"
/* A good job, for wrapping one bad setting: JOB("jitter = 5;") */
#define JOB(extra)                                                             \
	"jobs = ( { name = \"j\"; schedule = \"0 3 * * *\";"                   \
	" action = \"clear-cache\"; environment_id = \"" ENV "\"; " extra      \
	" } );\n"

static char scratch[256];

static void
put(const char *path, const char *text, mode_t mode)
{
	FILE *f;
	char dir[512], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		mkdir(dir, 0700);
	}
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) < 0 ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	if (chmod(path, mode) != 0) {
		perror(path);
		exit(1);
	}
}

/* A fresh directory under the scratch one; the cwd moves there. */
static void
enter(const char *name)
{
	char dir[512];

	if (chdir(scratch) != 0)
		exit(1);
	snprintf(dir, sizeof(dir), "%s/%s", scratch, name);
	if (mkdir(dir, 0700) != 0 || chdir(dir) != 0) {
		perror(dir);
		exit(1);
	}
}

static char *
join(const struct config_errors *e)
{
	size_t n = 1;
	char *s;

	for (size_t i = 0; i < e->n; i++)
		n += strlen(e->msgs[i]) + 1;
	if ((s = calloc(1, n)) == NULL)
		abort();
	for (size_t i = 0; i < e->n; i++) {
		if (i > 0)
			strcat(s, "\n");
		strcat(s, e->msgs[i]);
	}
	return s;
}

struct bad {
	const char *what;
	const char *conf;          /* k.conf */
	const char *path2, *text2; /* one more file, or NULL */
	const char *key;           /* acme.key content (NULL: KEY) */
	mode_t mode;               /* acme.key mode (0: 0600) */
	const char *want;          /* every message, "\n" between */
};

static const struct bad bad[] = {
    {"notify: remote plain http webhook",
     ACC JOB("") "notify = { webhook = \"http://hooks.example.com/x\"; };\n",
     NULL, NULL, NULL, 0,
     "k.conf:3: notify: webhook \"http://hooks.example.com/x\" must use "
     "https (http is allowed only to a loopback address: localhost, "
     "127.0.0.1, [::1])"},
    {"notify: unknown event with suggestion",
     ACC JOB("") "notify = { on = [\"failure\", \"recovry\"]; };\n", NULL, NULL,
     NULL, 0,
     "k.conf:3: notify: on: unknown event \"recovry\" (did you mean "
     "\"recovery\"?)"},
    {"notify: bad duration",
     ACC JOB("") "notify = { repeat_every = \"1y\"; };\n", NULL, NULL, NULL, 0,
     "k.conf:3: notify: repeat_every \"1y\" is not a duration from 0s to "
     "31622400s (write \"30s\", \"15m\", \"24h\" or \"7d\")"},
    {"notify: bad email",
     ACC JOB(
         "") "notify = { email = [\"ops@example.com\", \"Ops <o@x.io>\"]; };\n"
             "sendmail = \"/bin/true\";\n",
     NULL, NULL, NULL, 0,
     "k.conf:3: notify: email: \"Ops <o@x.io>\" is not an address like "
     "ops@example.com"},
    {"notify: delivery setting in a job",
     ACC JOB("notify = { timeout = \"5s\"; };"), NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": notify: \"timeout\" is a setting of the "
     "top-level notify only (it applies to every job)"},
    {"notify: unknown key in a job", ACC JOB("notify = { webhok = \"x\"; };"),
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": notify: unknown key \"webhok\" (did you mean "
     "\"webhook\"?)"},
    {"notify in defaults",
     ACC JOB("") "defaults = { notify = { on = [\"success\"]; }; };\n", NULL,
     NULL, NULL, 0,
     "k.conf:3: defaults: \"notify\" cannot have a default (the top-level "
     "notify is every job's default)"},
    {"heartbeat not a URL", ACC JOB("heartbeat = \"hc-ping.com/abc\";"), NULL,
     NULL, NULL, 0,
     "k.conf:2: job \"j\": heartbeat \"hc-ping.com/abc\" must start with "
     "https://"},
    {"email without sendmail",
     ACC JOB("") "sendmail = \"/nonexistent/sendmail\";\nnotify = { email = "
                 "\"ops@example.com\"; };\n",
     NULL, NULL, NULL, 0,
     "k.conf:4: email needs /nonexistent/sendmail, which cannot be run (No "
     "such file or directory): install a mail transfer agent (exim4, "
     "postfix, msmtp-mta) or set sendmail"},
    {"syntax error", ACC "jobs = ( { name = = \"j\"; } );\n", NULL, NULL, NULL,
     0, "k.conf:2: syntax error"},
    {"syntax error in an included file", ACC "@include \"inc/jobs.conf\"\n",
     "inc/jobs.conf", "jobs = (\n { name = ; }\n);\n", NULL, 0,
     "inc/jobs.conf:2: syntax error"},
    {"duplicate setting", ACC "timezone = \"UTC\";\ntimezone = \"UTC\";\n",
     NULL, NULL, NULL, 0, "k.conf:3: duplicate setting name"},
    {"unknown root key with suggestion", ACC "jbos = ();\n", NULL, NULL, NULL,
     0, "k.conf:2: unknown key \"jbos\" (did you mean \"jobs\"?)"},
    {"unknown job key with suggestion", ACC JOB("shedule = \"x\";"), NULL, NULL,
     NULL, 0,
     "k.conf:2: job \"j\": unknown key \"shedule\" (did you mean "
     "\"schedule\"?)"},
    {"unknown account key",
     "accounts = ( { name = \"acme\"; company = \"" CO
     "\";\n compnay = 1; key_file = \"acme.key\"; } );\n" JOB(""),
     NULL, NULL, NULL, 0,
     "k.conf:2: account \"acme\": unknown key \"compnay\" (did you mean "
     "\"company\"?)"},
    {"unknown key, nothing close", ACC JOB("frobnicate = true;"), NULL, NULL,
     NULL, 0, "k.conf:2: job \"j\": unknown key \"frobnicate\""},
    {"http to a remote host",
     ACC JOB("") "api = { url = \"http://api.kinsta.com/v2\"; };\n", NULL, NULL,
     NULL, 0,
     "k.conf:3: api: url \"http://api.kinsta.com/v2\" must use https "
     "(http is allowed only to a loopback address: localhost, 127.0.0.1, "
     "[::1])"},
    {"http to a name that only starts like a loopback address",
     ACC JOB("") "api = { url = \"http://127.0.0.1.nip.io/v2\"; };\n", NULL,
     NULL, NULL, 0,
     "k.conf:3: api: url \"http://127.0.0.1.nip.io/v2\" must use https "
     "(http is allowed only to a loopback address: localhost, 127.0.0.1, "
     "[::1])"},
    {"not a URL", ACC JOB("") "api = { url = \"ftp://x\"; };\n", NULL, NULL,
     NULL, 0, "k.conf:3: api: url \"ftp://x\" must start with https://"},
    {"api timeout 0", ACC JOB("") "api = { timeout = 0; };\n", NULL, NULL, NULL,
     0, "k.conf:3: api: timeout: 0 is out of range 1-600"},
    {"wrapped 32-bit literal", ACC JOB("") "api = { timeout = 3000000000; };\n",
     NULL, NULL, NULL, 0,
     "k.conf:3: api: timeout: 3000000000 is out of range 1-600"},
    {"wrapped literal that looks in range", ACC JOB("jitter = 4294967297;"),
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": jitter: 4294967297 is out of range 0-3600"},
    {"64-bit literal", ACC JOB("jitter = 3000000000L;"), NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": jitter: 3000000000 is out of range 0-3600"},
    {"integer as a string", ACC JOB("retries = \"3\";"), NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": retries: expected an integer, got a string"},
    {"retries too high", ACC JOB("retries = 11;"), NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": retries: 11 is out of range 0-10"},
    {"float for an integer", ACC JOB("timeout = 1.5;"), NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": timeout: expected an integer, got a float"},
    {"bool as an integer", ACC JOB("enabled = 1;"), NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": enabled: expected true or false, got an "
     "integer"},
    {"bad overlap", ACC JOB("overlap = \"wait\";"), NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": overlap: \"wait\" is not one of \"skip\" or "
     "\"queue\""},
    {"bad catch_up", ACC JOB("catch_up = \"all\";"), NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": catch_up: \"all\" is not one of \"none\" or "
     "\"once\""},
    {"bad job name",
     ACC "jobs = ( { name = \"nightly cache\"; schedule = \"0 3 * * *\"; "
         "action = \"clear-cache\"; environment_id = \"" ENV "\"; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job #1: name \"nightly cache\" may contain only letters, "
     "digits, \".\", \"_\" and \"-\""},
    {"missing job name",
     ACC "jobs = ( { schedule = \"0 3 * * *\"; action = \"clear-cache\"; "
         "environment_id = \"" ENV "\"; } );\n",
     NULL, NULL, NULL, 0, "k.conf:2: job #1: missing \"name\""},
    {"duplicate job name",
     ACC "jobs = (\n { name = \"j\"; schedule = \"@daily\"; action = "
         "\"clear-cache\"; environment_id = \"" ENV "\"; },\n"
         " { name = \"j\"; schedule = \"@daily\"; action = \"restart-php\"; "
         "label = \"shop\"; }\n);\n",
     NULL, NULL, NULL, 0,
     "k.conf:4: duplicate job name \"j\" (first defined at k.conf:3)"},
    {"duplicate job name across include_dir",
     ACC JOB("") "include_dir = \"conf.d\";\n", "conf.d/client.conf",
     "\njobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
     "\"restart-php\"; all_sites = true; } );\n",
     NULL, 0,
     "conf.d/client.conf:2: duplicate job name \"j\" (first defined at "
     "k.conf:2)"},
    {"duplicate account name across include_dir",
     ACC JOB("") "include_dir = \"conf.d\";\n", "conf.d/a.conf",
     "accounts = ( { name = \"acme\"; company = \"" CO
     "\"; key_file = \"acme.key\"; } );\n",
     NULL, 0,
     "conf.d/a.conf:1: duplicate account name \"acme\" (first defined at "
     "k.conf:1)"},
    {"bad account name",
     "accounts = ( { name = \"acme corp\"; company = \"" CO "\"; } );\n", NULL,
     NULL, NULL, 0,
     "k.conf:1: account #1: name \"acme corp\" may contain only letters, "
     "digits, \".\", \"_\" and \"-\""},
    {"company not a UUID",
     "accounts = ( { name = \"acme\"; company = \"acme-inc\"; key_file = "
     "\"acme.key\"; } );\n" JOB(""),
     NULL, NULL, NULL, 0,
     "k.conf:1: account \"acme\": company \"acme-inc\" is not a UUID "
     "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"},
    {"missing company",
     "accounts = (\n { name = \"acme\"; key_file = \"acme.key\"; }\n);\n", NULL,
     NULL, NULL, 0,
     "k.conf:2: account \"acme\": missing \"company\" (the company UUID)"},
    {"account not defined", ACC JOB("account = \"acm\";"), NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": account \"acm\" is not defined (did you mean "
     "\"acme\"?)"},
    {"no account at all", JOB(""), NULL, NULL, NULL, 0,
     "k.conf:1: no account defined; add one to \"accounts\""},
    {"several accounts, no account in the job",
     "accounts = (\n { name = \"a\"; company = \"" CO
     "\"; key_file = \"acme.key\"; },\n"
     " { name = \"b\"; company = \"" CO
     "\"; key_file = \"acme.key\"; }\n);\n" JOB(""),
     NULL, NULL, NULL, 0,
     "k.conf:5: job \"j\": there are 2 accounts; say which with account = "
     "\"...\""},
    {"accounts named before they are defined, in the same file or in "
     "include_dir: only the undefined one is reported, in job order",
     "include_dir = \"conf.d\";\njobs = (\n"
     " { name = \"j1\"; schedule = \"@daily\"; action = \"clear-cache\";"
     " environment_id = \"" ENV "\"; account = \"late\"; },\n"
     " { name = \"j2\"; schedule = \"@daily\"; action = \"clear-cache\";"
     " environment_id = \"" ENV "\"; account = \"nope\"; },\n"
     " { name = \"j3\"; schedule = \"@daily\"; action = \"clear-cache\";"
     " environment_id = \"" ENV "\"; },\n"
     " { name = \"j4\"; schedule = \"@daily\"; action = \"clear-cache\";"
     " environment_id = \"" ENV "\"; account = \"acme\"; }\n"
     ");\n" ACC,
     "conf.d/10-late.conf",
     "accounts = ( { name = \"late\"; company = \"" CO
     "\"; key_file = \"acme.key\"; } );\n",
     NULL, 0,
     "k.conf:4: job \"j2\": account \"nope\" is not defined\n"
     "k.conf:5: job \"j3\": there are 2 accounts; say which with account = "
     "\"...\""},
    {"hour out of range",
     ACC "jobs = ( { name = \"j\"; schedule = \"0 25 * * *\"; action = "
         "\"clear-cache\"; environment_id = \"" ENV "\"; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": schedule \"0 25 * * *\": hour: \"25\" is out "
     "of range 0-23"},
    {"schedule that never fires",
     ACC "jobs = ( { name = \"j\"; schedule = \"0 0 31 2 *\"; action = "
         "\"clear-cache\"; environment_id = \"" ENV "\"; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": schedule \"0 0 31 2 *\": schedule never fires "
     "(no date matches its day-of-month, month and day-of-week)"},
    {"missing schedule",
     ACC "jobs = ( { name = \"j\"; action = \"clear-cache\"; "
         "environment_id = \"" ENV "\"; } );\n",
     NULL, NULL, NULL, 0, "k.conf:2: job \"j\": missing \"schedule\""},
    {"unknown job zone", ACC JOB("timezone = \"Europe/Amsterdan\";"), NULL,
     NULL, NULL, 0,
     "k.conf:2: job \"j\": timezone: unknown time zone "
     "\"Europe/Amsterdan\""},
    {"unknown global zone", ACC JOB("") "timezone = \"Mars/Olympus\";\n", NULL,
     NULL, NULL, 0, "k.conf:3: timezone: unknown time zone \"Mars/Olympus\""},
    {"window not a range", ACC JOB("window = \"1:00-5:00\";"), NULL, NULL, NULL,
     0,
     "k.conf:2: job \"j\": window: \"1:00-5:00\" is not a time range like "
     "\"01:00-05:00\" (HH:MM-HH:MM in the job's time zone)"},
    {"window hour", ACC JOB("window = \"22:00-25:00\";"), NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": window: \"22:00-25:00\" is not a time range like "
     "\"01:00-05:00\" (HH:MM-HH:MM in the job's time zone)"},
    {"window empty", ACC JOB("window = \"03:00-03:00\";"), NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": window: \"03:00-03:00\" starts where it ends; "
     "leave window out to allow any time"},
    {"rollout not a group", ACC JOB("rollout = 2;"), NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": rollout: expected a group like { canary = 2; "
     "batch = 10; halt_after = 1; }, got an integer"},
    {"rollout unknown key", ACC JOB("rollout = { canry = 2; };"), NULL, NULL,
     NULL, 0,
     "k.conf:2: job \"j\": rollout: unknown key \"canry\" (did you mean "
     "\"canary\"?)"},
    {"rollout batch 0", ACC JOB("rollout = { batch = 0; };"), NULL, NULL, NULL,
     0, "k.conf:2: job \"j\": rollout: batch: 0 is out of range 1-10000"},
    {"rollout without a target",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"report\"; rollout = { canary = 1; }; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": action \"report\" takes no target, so it has "
     "nothing to roll out; remove \"rollout\""},
    {"environment twice",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"clear-cache\"; all_sites = true; environment = [\"live\", "
         "\"live\"]; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": environment: \"live\" is listed twice; name "
     "each environment once"},
    {"environment list on a push",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"push-environment\"; site = \"s\"; source = \"live\"; "
         "target = \"staging\"; environment = [\"staging\", \"live\"]; "
         "} );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": environment: push-environment acts on its "
     "\"target\" environment; give one name, not a list"},
    {"environment empty list",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"clear-cache\"; all_sites = true; environment = []; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": environment: the list is empty"},
    {"unknown action",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"clear-cach\"; environment_id = \"" ENV "\"; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": unknown action \"clear-cach\" (did you mean "
     "\"clear-cache\"?)"},
    {"missing action",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; environment_id = "
         "\"" ENV "\"; } );\n",
     NULL, NULL, NULL, 0, "k.conf:2: job \"j\": missing \"action\""},
    {"missing parameter",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"set-php-version\"; environment_id = \"" ENV "\"; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": action \"set-php-version\" needs "
     "\"php_version\""},
    {"bad php version",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"set-php-version\"; php_version = \"eight\"; environment_id = "
         "\"" ENV "\"; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": php_version must be a version like \"8.3\""},
    {"wp-cli command without wp",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"run-wp-cli\"; command = \"cache flush\"; label = \"x\"; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": command must start with \"wp \""},
    {"wp-cli command with a shell character",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"run-wp-cli\"; command = \"wp cache flush; rm -rf\"; "
         "label = \"x\"; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": command may contain only letters, digits, "
     "spaces and _-./:=@' (the API refuses anything else)"},
    {"environment id not a UUID",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"clear-cache\"; environment_id = \"live\"; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": environment_id: \"live\" is not a UUID "
     "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"},
    {"no target",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"clear-cache\"; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": action \"clear-cache\" needs a target: "
     "environment_id, environment_ids, site, sites, label, labels or "
     "all_sites = true"},
    {"two targets", ACC JOB("\n label = \"shop\";"), NULL, NULL, NULL, 0,
     "k.conf:3: job \"j\": two targets: \"environment_id\" and \"label\"; "
     "keep one"},
    {"a target for an action without one",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"report\"; site = \"blog\"; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": action \"report\" takes no target; remove "
     "\"site\""},
    {"parameter of another action", ACC JOB("php_version = \"8.3\";"), NULL,
     NULL, NULL, 0,
     "k.conf:2: job \"j\": \"php_version\" is not a parameter of action "
     "\"clear-cache\""},
    {"app id not a UUID",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"deploy-app\"; app_id = \"my-app\"; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": app_id: \"my-app\" is not a UUID "
     "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"},
    {"request body not JSON",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"request\"; method = \"POST\"; path = \"/sites\"; body = "
         "\"{oops\"; } );\n",
     NULL, NULL, NULL, 0, "k.conf:2: job \"j\": body is not valid JSON"},
    {"request method",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\";"
         " action = \"request\"; method = \"get\"; path = \"/sites\"; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": method: \"get\" is not one of \"GET\", "
     "\"POST\", \"PUT\", \"PATCH\" or \"DELETE\""},
    {"request unknown placeholder in path",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"request\"; site = \"a\";\n path = \"/sites/{site}/x\"; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:3: job \"j\": path uses {site} is not a placeholder here (one "
     "of {site_id} {site_name} {env_id} {env_name} {company})"},
    {"request placeholder in body",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"request\"; site = \"a\"; method = \"POST\"; path = \"/x\";\n"
         " body = \"{\\\"a\\\":\\\"{date}\\\"}\"; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:3: job \"j\": body uses {date} is not a placeholder here (one "
     "of {site_id} {site_name} {env_id} {env_name} {company})"},
    {"request target placeholder without a target",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"request\";\n path = \"/sites/{site_id}\"; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:3: job \"j\": path uses {site_id}, which needs a target: "
     "environment_id, environment_ids, site, sites, label, labels or "
     "all_sites = true"},
    {"request output placeholder",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"request\"; path = \"/validate\";\n output = \"a-{env_id}\"; } "
         ");\n",
     NULL, NULL, NULL, 0,
     "k.conf:3: job \"j\": output uses {env_id} is not a placeholder here "
     "(one of {date})"},
    {"create-site without WordPress fields",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"create-site\"; display_name = \"a\"; region = \"r\"; "
         "admin_email = \"a@b.c\"; admin_password = \"p\"; admin_user = "
         "\"u\"; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": action \"create-site\" needs \"site_title\" "
     "(unless install_mode = \"plain\")"},
    {"create-site plain with WordPress fields",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"create-site\"; display_name = \"a\"; region = \"r\";\n"
         " install_mode = \"plain\"; woocommerce = true; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:3: job \"j\": \"woocommerce\" is not sent with install_mode "
     "= \"plain\" (a site without WordPress); remove it"},
    {"refresh-staging pushing nothing",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"refresh-staging\"; all_sites = true; push_db = false;\n"
         " push_files = false; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:3: job \"j\": refresh-staging with push_db = false and "
     "push_files = false pushes nothing; set one of them to true"},
    {"refresh-staging file_list without files",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"refresh-staging\"; all_sites = true; push_files = false;\n"
         " file_list = [\"wp-content\"]; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:3: job \"j\": file_list needs push_files = true"},
    {"add-domain with a URL",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"add-domain\"; all_sites = true;\n domain = \"https://a.b/\"; } "
         ");\n",
     NULL, NULL, NULL, 0,
     "k.conf:3: job \"j\": domain must be a domain name like "
     "\"shop.example.com\" (no scheme, port or path)"},
    {"fetch-logs file and lines",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"fetch-logs\"; all_sites = true;\n lines = 20001; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:3: job \"j\": lines: 20001 is out of range 1-20000"},
    {"clone-site takes no target",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"clone-site\"; display_name = \"a\";\n source_environment = "
         "\"x\"; site = \"y\"; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:3: job \"j\": action \"clone-site\" takes no target; remove "
     "\"site\""},
    {"backup keep negative",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
         "\"backup\"; keep = -1; all_sites = true; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": keep: -1 is out of range 0-100"},
    {"all_sites false",
     ACC "jobs = ( { name = \"j\"; schedule = \"@daily\";"
         " action = \"restart-php\"; all_sites = false; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": all_sites = false selects nothing; remove it or "
     "set it to true"},
    {"environment with an environment id",
     ACC JOB("environment = \"staging\";"), NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": \"environment\" applies only to site, label and "
     "all_sites selectors"},
    {"empty environment_ids",
     ACC "jobs = ( { name = \"j\"; schedule = "
         "\"@daily\"; action = \"restart-php\"; environment_ids = []; } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": environment_ids: the list is empty"},
    {"list item of the wrong type",
     ACC "jobs = ( { name = \"j\"; schedule "
         "= \"@daily\"; action = \"restart-php\"; sites = (\"a\", 2); } );\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: job \"j\": sites[1]: expected a string, got an integer"},
    {"key file missing",
     "accounts = ( { name = \"acme\"; company = \"" CO
     "\"; key_file = \"nope.key\"; } );\n" JOB(""),
     NULL, NULL, NULL, 0,
     "k.conf:1: account \"acme\": key_file \"nope.key\" cannot be read: No "
     "such file or directory"},
    {"key file readable by others", ACC JOB(""), NULL, NULL, NULL, 0644,
     "k.conf:1: account \"acme\": key_file \"acme.key\" is readable by "
     "group or others (mode 0644); run chmod 600 acme.key"},
    {"key file readable by group", ACC JOB(""), NULL, NULL, NULL, 0640,
     "k.conf:1: account \"acme\": key_file \"acme.key\" is readable by "
     "group or others (mode 0640); run chmod 600 acme.key"},
    {"key file empty", ACC JOB(""), NULL, NULL, "\n", 0,
     "k.conf:1: account \"acme\": key_file \"acme.key\" is empty"},
    {"key file of two lines", ACC JOB(""), NULL, NULL, KEY "\n" KEY "\n", 0,
     "k.conf:1: account \"acme\": key_file \"acme.key\" has more than one "
     "line; it must hold only the API key"},
    {"no key source",
     "accounts = ( { name = \"acme\"; company = \"" CO "\"; } );\n" JOB(""),
     NULL, NULL, NULL, 0,
     "k.conf:1: account \"acme\": no API key: set key_file, put the key in "
     "credentials/acme (the service gets it through systemd "
     "LoadCredential=), or set KINSTA_API_KEY (only with a single "
     "account)"},
    {"the key itself in the config",
     "accounts = ( { name = \"acme\"; company = \"" CO
     "\"; key_file = \"acme.key\";\n api_key = \"" KEY "\"; } );\n" JOB(""),
     NULL, NULL, NULL, 0,
     "k.conf:2: account \"acme\": \"api_key\": the API key does not belong "
     "in the configuration; put it in a file (chmod 600) and set "
     "key_file"},
    {"main-file setting in include_dir",
     ACC JOB("") "include_dir = \"conf.d\";\n", "conf.d/c.conf",
     "timezone = \"UTC\";\n", NULL, 0,
     "conf.d/c.conf:1: \"timezone\" belongs in the main file k.conf; files "
     "in include_dir hold only accounts and jobs"},
    {"include_dir missing", ACC JOB("") "include_dir = \"conf.d\";\n", NULL,
     NULL, NULL, 0,
     "k.conf:3: include_dir \"conf.d\": No such file or directory"},
    {"syntax error in include_dir", ACC JOB("") "include_dir = \"conf.d\";\n",
     "conf.d/c.conf", "jobs = (\n", NULL, 0, "conf.d/c.conf:2: syntax error"},
    {"jobs is a group", ACC "jobs = { name = \"j\"; };\n", NULL, NULL, NULL, 0,
     "k.conf:2: jobs: expected a list ( { ... }, { ... } ), got a group "
     "{ ... }"},
    {"defaults mistakes are reported once",
     ACC "defaults = { retries = 20; shedule = \"x\"; };\n"
         "jobs = (\n { name = \"a\"; schedule = \"@daily\"; action = "
         "\"restart-php\"; all_sites = true; },\n"
         " { name = \"b\"; schedule = \"@daily\"; action = \"restart-php\"; "
         "all_sites = true; }\n);\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: defaults: unknown key \"shedule\" (did you mean "
     "\"schedule\"?)\n"
     "k.conf:2: defaults: retries: 20 is out of range 0-10"},
    {"every error of a file in one run",
     ACC "jobs = (\n"
         " { name = \"a\"; schedule = \"61 * * * *\"; action = "
         "\"restart-php\"; all_sites = true; },\n"
         " { name = \"b\"; schedule = \"@daily\"; action = \"restart-php\"; "
         "all_sites = true; jitter = -1; },\n"
         " { name = \"c\"; schedule = \"@daily\"; action = \"nap\"; }\n"
         ");\nlog_level = \"loud\";\n",
     NULL, NULL, NULL, 0,
     "k.conf:3: job \"a\": schedule \"61 * * * *\": minute: \"61\" is out "
     "of range 0-59\n"
     "k.conf:4: job \"b\": jitter: -1 is out of range 0-3600\n"
     "k.conf:5: job \"c\": unknown action \"nap\" (one of: "
     "clear-cache, clear-edge-cache, clear-cdn-cache, clear-all-caches, "
     "restart-php, set-php-version, backup, update-plugins, update-themes, "
     "push-environment, run-wp-cli, create-site, deploy-app, "
     "deploy-static-site, report, request, refresh-staging, clone-site, "
     "add-domain, remove-domain, fetch-logs, restore-backup)\n"
     "k.conf:7: log_level: \"loud\" is not one of \"error\", \"warning\", "
     "\"notice\", \"info\" or \"debug\""},
    {"listen without an address", ACC "listen = { token_file = \"t\"; };\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: listen: no address; write address = \"127.0.0.1:8787\" (or "
     "remove listen to leave the HTTP face off)"},
    {"listen on a host name", ACC "listen = { address = \"localhost:80\"; };\n",
     NULL, NULL, NULL, 0,
     "k.conf:2: listen: address \"localhost:80\": expected IPV4:PORT "
     "(127.0.0.1:8787), [IPV6]:PORT ([::1]:8787) or the absolute path of a "
     "Unix socket"},
    {"listen: unknown key",
     ACC "listen = { address = \"127.0.0.1:1\"; tokenfile = \"t\"; };\n", NULL,
     NULL, NULL, 0,
     "k.conf:2: listen: unknown key \"tokenfile\" (did you mean "
     "\"token_file\"?)"},
};

static void
test_bad(void)
{
	char name[32];

	unsetenv("KINSTA_API_KEY");
	unsetenv("CREDENTIALS_DIRECTORY");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct bad *b = &bad[i];
		struct config_errors errs = {0};
		struct config *cfg = NULL;
		char *got;
		int rc;

		snprintf(name, sizeof(name), "bad%02zu", i);
		enter(name);
		put("k.conf", b->conf, 0600);
		put("acme.key", b->key ? b->key : KEY "\n",
		    b->mode ? b->mode : 0600);
		if (b->path2 != NULL)
			put(b->path2, b->text2, 0600);
		rc = config_load("k.conf", 0, &cfg, &errs);
		got = join(&errs);
		if (getenv("KCRON_TEST_PRINT"))
			printf("--- %s\n%s\n", b->what, got);
		test_checks++;
		if (rc != -EINVAL || cfg != NULL) {
			test_failed++;
			fprintf(stderr, "bad config \"%s\": rc %d, want %d\n",
			        b->what, rc, -EINVAL);
		}
		if (b->want != NULL) {
			test_checks++;
			if (strcmp(got, b->want) != 0) {
				test_failed++;
				fprintf(stderr,
				        "bad config \"%s\":\n got: %s\nwant: "
				        "%s\n",
				        b->what, got, b->want);
			}
		}
		CHECK(strstr(got, KEY) == NULL);
		free(got);
		config_errors_free(&errs);
	}
}

static const char *
param_list_at(const struct config_job *j, const char *name, size_t i)
{
	size_t n;
	const char *const *l = config_param_list(j, name, &n);

	return l != NULL && i < n ? l[i] : NULL;
}

static const struct config_job *
job(const struct config *cfg, const char *name)
{
	const struct config_job *j = config_find_job(cfg, name);

	if (j == NULL) {
		fprintf(stderr, "job %s not loaded\n", name);
		exit(1);
	}
	return j;
}

static void
check_cron(const struct config_job *j, const char *expr)
{
	struct cron want;
	char err[256];

	CHECK(cron_parse(&want, expr, j->name, err, sizeof(err)) == 0);
	CHECK(memcmp(&want, &j->cron, sizeof(want)) == 0);
}

/* The tree under data/config/agency, loaded from "/" so that @include and
 * include_dir must resolve against the main file's folder. */
static void
test_agency(void)
{
	const char *data = getenv("KCRON_TEST_DATA");
	struct config_errors errs = {0};
	struct config *cfg = NULL;
	const struct config_job *j;
	char path[1024], dir[512], want[1200], buf[512], err[256];
	int64_t t;

	if (data == NULL)
		TEST_SKIP("KCRON_TEST_DATA is not set");
	snprintf(dir, sizeof(dir), "%s/config/agency", data);
	snprintf(path, sizeof(path), "%s/kinsta-cron.conf", dir);
	enter("creds");
	put("agency", KEY "-agency\n", 0600);
	put("alpha", "  " KEY "-alpha \r\n", 0400);
	put("beta", KEY "-beta", 0600);
	snprintf(buf, sizeof(buf), "%s/creds", scratch);
	setenv("CREDENTIALS_DIRECTORY", buf, 1);
	setenv("KINSTA_API_KEY", "ignored-with-several-accounts", 1);
	if (chdir("/") != 0)
		exit(1);
	CHECK_INT(config_load(path, 0, &cfg, &errs), 0);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "unexpected: %s\n", errs.msgs[i]);
	CHECK_INT(errs.n, 0);
	config_errors_free(&errs);
	if (cfg == NULL)
		return;

	CHECK_STR(cfg->path, path);
	CHECK_STR(cfg->api_url, "http://127.0.0.1:8089/v2");
	CHECK_INT(cfg->api_timeout, 45);
	CHECK(cfg->api_ca_file == NULL);
	snprintf(want, sizeof(want), "%s/state", dir);
	CHECK_STR(cfg->state_dir, want);
	snprintf(want, sizeof(want), "%s/conf.d", dir);
	CHECK_STR(cfg->include_dir, want);
	CHECK_STR(cfg->timezone, "Europe/Amsterdam");
	CHECK_STR(tz_name(cfg->zone), "Europe/Amsterdam");
	CHECK_STR(cfg->log_level, "debug");
	CHECK_INT(cfg->rate_limits.company, 60);
	CHECK_INT(cfg->rate_limits.ip, 1000);
	CHECK_INT(cfg->rate_limits.create, 2);
	CHECK_INT(cfg->rate_limits.logs, 35);

	CHECK_INT(cfg->naccounts, 3);
	CHECK_STR(cfg->accounts[0].name, "agency");
	CHECK_STR(cfg->accounts[1].name, "alpha");
	CHECK_STR(cfg->accounts[2].name, "beta");
	CHECK_STR(cfg->accounts[1].company,
	          "aaaaaaaa-0000-4000-8000-00000000000a");
	CHECK(cfg->accounts[1].key_file == NULL);
	CHECK_INT(cfg->accounts[1].key_source, KEYS_CREDENTIAL);
	snprintf(want, sizeof(want), "%s/creds/alpha", scratch);
	CHECK_STR(cfg->accounts[1].key_path, want);
	snprintf(want, sizeof(want), "%s/conf.d/10-alpha.conf", dir);
	CHECK_STR(cfg->accounts[1].file, want);
	CHECK_INT(cfg->accounts[1].line, 3);
	CHECK_INT(keys_read(cfg->accounts[1].key_source,
	                    cfg->accounts[1].key_path, cfg->accounts[1].name,
	                    buf, sizeof(buf), err, sizeof(err)),
	          0);
	CHECK_STR(buf, KEY "-alpha");

	CHECK_INT(cfg->njobs, 7);
	CHECK_STR(cfg->jobs[0].name, "weekly-report");
	CHECK_STR(cfg->jobs[1].name, "alpha-cache");
	CHECK_STR(cfg->jobs[6].name, "beta-request");
	CHECK(config_find_job(cfg, "nope") == NULL);

	j = job(cfg, "weekly-report");
	snprintf(want, sizeof(want), "%s/shared.inc", dir);
	CHECK_STR(j->file, want);
	CHECK_INT(j->line, 2);
	CHECK_INT(j->action, ACTION_REPORT);
	CHECK(!j->enabled);
	CHECK_INT(j->account, 0);
	CHECK_INT(j->target.kind, CONFIG_TARGET_NONE);
	CHECK_STR(config_param_str(j, "output"), "reports/weekly.json");
	CHECK_INT(j->jitter, 30);
	CHECK_INT(j->retries, 3);
	CHECK_INT(j->overlap, CONFIG_OVERLAP_QUEUE);
	CHECK_INT(j->catch_up, CONFIG_CATCH_UP_NONE);
	CHECK_INT(j->timeout, 0);
	CHECK(j->zone == cfg->zone);
	CHECK_STR(j->schedule, "0 6 * * MON");
	check_cron(j, "0 6 * * MON");

	j = job(cfg, "alpha-cache");
	snprintf(want, sizeof(want), "%s/conf.d/10-alpha.conf", dir);
	CHECK_STR(j->file, want);
	CHECK_INT(j->line, 6);
	CHECK_INT(j->account, 1);
	CHECK_INT(j->action, ACTION_CLEAR_CACHE);
	CHECK_INT(j->nparams, 0);
	CHECK_INT(j->target.kind, CONFIG_TARGET_LABELS);
	CHECK_INT(j->target.nvalues, 1);
	CHECK_STR(j->target.values[0], "shop");
	CHECK_STR(j->target.environment, "live");
	CHECK_INT(j->target.nexclude, 1);
	CHECK_STR(j->target.exclude_sites[0], "legacy");
	check_cron(j, "H 3 * * *");
	config_target_describe(&j->target, buf, sizeof(buf));
	CHECK_STR(buf, "label shop (live, except 1 site)");

	j = job(cfg, "alpha-plugins");
	CHECK_STR(tz_name(j->zone), "America/New_York");
	CHECK_INT(j->target.kind, CONFIG_TARGET_SITES);
	CHECK_INT(j->target.nvalues, 2);
	CHECK_STR(j->target.values[1], "shop");
	CHECK_STR(param_list_at(j, "plugins", 0), "all");
	CHECK_STR(param_list_at(j, "exclude", 0), "woocommerce");
	CHECK(param_list_at(j, "exclude", 1) == NULL);
	CHECK(config_param_bool(j, "backup_first")); /* from defaults */
	config_target_describe(&j->target, buf, sizeof(buf));
	CHECK_STR(buf, "2 sites (live)");
	check_cron(j, "H H * * SAT");

	j = job(cfg, "alpha-php");
	CHECK_STR(config_param_str(j, "php_version"), "8.3");
	CHECK_INT(j->target.kind, CONFIG_TARGET_ENVIRONMENTS);
	CHECK_INT(j->target.nvalues, 2);
	CHECK_STR(j->target.values[1], "AAAAAAAA-0000-4000-8000-0000000000E2");
	CHECK_INT(j->catch_up, CONFIG_CATCH_UP_ONCE);
	CHECK_INT(j->timeout, 600);
	config_target_describe(&j->target, buf, sizeof(buf));
	CHECK_STR(buf, "2 environments");

	j = job(cfg, "beta-backup");
	CHECK_INT(j->account, 2);
	CHECK_STR(config_param_str(j, "tag"), "kinsta-cron:beta-backup");
	CHECK_INT(config_param_int(j, "keep"), 3);
	CHECK_INT(j->target.kind, CONFIG_TARGET_ALL_SITES);
	CHECK_STR(j->target.environment, "staging");
	config_target_describe(&j->target, buf, sizeof(buf));
	CHECK_STR(buf, "all sites (staging)");
	/* 02:30 does not exist on 2026-03-29 in Amsterdam: 03:00 CEST. */
	CHECK_INT(tz_parse_iso(tz_utc(), "2026-03-28T12:00:00Z", &t), 0);
	CHECK_INT(cron_next(&j->cron, j->zone, t, &t), 0);
	tz_format_iso(j->zone, t, buf, sizeof(buf));
	CHECK_STR(buf, "2026-03-29T03:00:00+02:00");

	j = job(cfg, "beta-push");
	CHECK_STR(config_param_str(j, "source"), "staging");
	CHECK_STR(config_param_str(j, "target"), "live");
	CHECK(!config_param_bool(j, "push_db"));
	CHECK(config_param_bool(j, "push_files"));
	CHECK(config_param_bool(j, "run_search_and_replace"));
	CHECK(!config_param_bool(j, "backup_first")); /* not its parameter */
	CHECK_INT(j->target.kind, CONFIG_TARGET_SITES);

	j = job(cfg, "beta-request");
	CHECK_STR(config_param_str(j, "method"), "GET");
	CHECK_STR(config_param_str(j, "path"),
	          "/sites?company=bbbbbbbb-0000-4000-8000-00000000000b");
	CHECK(config_param(j, "body") == NULL);
	CHECK_INT(j->target.kind, CONFIG_TARGET_NONE);
	CHECK_INT(j->retries, 0);
	CHECK(j->cron.every == 3600);

	config_free(cfg);
	unsetenv("CREDENTIALS_DIRECTORY");
	unsetenv("KINSTA_API_KEY");
}

/* Defaults of every setting, KINSTA_API_KEY for a single account, and the
 * values that sit exactly on the edge of their ranges. */
static void
test_defaults_and_edges(void)
{
	struct config_errors errs = {0};
	struct config *cfg = NULL;
	const struct config_job *j;
	char buf[128];

	enter("defaults");
	put("k.conf",
	    "accounts = ( { name = \"solo\"; company = \"" CO "\"; } );\n"
	    "jobs = (\n"
	    " { name = \"a\"; schedule = \"@hourly\"; action = "
	    "\"clear-edge-cache\"; environment_id = \"" ENV "\"; },\n"
	    " { name = \"b\"; schedule = \"0 0 * * *\"; action = \"backup\"; "
	    "site = \"x\"; jitter = 3600; retries = 10; timeout = 86400; "
	    "tag = \"mine\"; keep = 100; },\n"
	    " { name = \"c\"; schedule = \"* * * * *\"; action = "
	    "\"create-site\"; display_name = \"D\"; region = \"us-central1\"; "
	    "admin_email = \"a@b.c\"; admin_password = \"pw\"; admin_user = "
	    "\"admin\"; site_title = \"T\"; },\n"
	    " { name = \"d\"; schedule = \"@daily\"; action = \"run-wp-cli\"; "
	    "command = \"wp cache flush --network\"; all_sites = true; "
	    "exclude_sites = []; }\n"
	    ");\n",
	    0600);
	unsetenv("CREDENTIALS_DIRECTORY");
	setenv("KINSTA_API_KEY", "  " KEY "\n", 1);
	CHECK_INT(config_load("k.conf", 0, &cfg, &errs), 0);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "unexpected: %s\n", errs.msgs[i]);
	config_errors_free(&errs);
	if (cfg == NULL)
		return;
	CHECK_STR(cfg->api_url, "https://api.kinsta.com/v2");
	CHECK_INT(cfg->api_timeout, 30);
	CHECK_STR(cfg->state_dir, "/var/lib/kinsta-cron");
	CHECK_STR(cfg->timezone, "UTC");
	CHECK(cfg->zone == tz_utc());
	CHECK_STR(cfg->log_level, "info");
	CHECK_INT(cfg->rate_limits.company, 120);
	CHECK_INT(cfg->rate_limits.create, 5);
	CHECK_INT(cfg->accounts[0].key_source, KEYS_ENV);
	CHECK(cfg->accounts[0].key_path == NULL);

	j = job(cfg, "a");
	CHECK(j->enabled);
	CHECK_INT(j->jitter, 0);
	CHECK_INT(j->retries, 2);
	CHECK_INT(j->timeout, 0);
	CHECK_INT(j->overlap, CONFIG_OVERLAP_SKIP);
	CHECK_INT(j->catch_up, CONFIG_CATCH_UP_NONE);
	CHECK_INT(j->account, 0);
	CHECK(!config_param_bool(j, "clear_subdirectories"));
	CHECK(config_param_str(j, "url") == NULL);
	CHECK_INT(config_param(j, "clear_subdirectories")->type,
	          ACTION_PARAM_BOOL);
	config_target_describe(&j->target, buf, sizeof(buf));
	CHECK_STR(buf, "environment " ENV);

	j = job(cfg, "b");
	CHECK_INT(j->jitter, 3600);
	CHECK_INT(j->retries, 10);
	CHECK_INT(j->timeout, 86400);
	CHECK_STR(config_param_str(j, "tag"), "mine");
	CHECK_INT(config_param_int(j, "keep"), 100);
	config_target_describe(&j->target, buf, sizeof(buf));
	CHECK_STR(buf, "site x (live)");

	j = job(cfg, "c");
	CHECK_INT(j->action, ACTION_CREATE_SITE);
	CHECK(!(action_get(j->action)->target == ACTION_TARGET_REQUIRED));
	CHECK_STR(config_param_str(j, "install_mode"), "new");
	CHECK_STR(config_param_str(j, "wp_language"), "en_US");
	CHECK(!config_param_bool(j, "woocommerce"));
	CHECK_STR(config_param_str(j, "region"), "us-central1");

	j = job(cfg, "d");
	CHECK((action_get(j->action)->target == ACTION_TARGET_REQUIRED));
	CHECK_STR(config_param_str(j, "command"), "wp cache flush --network");
	CHECK_INT(j->target.nexclude, 0);
	CHECK_STR(action_name(j->action), "run-wp-cli");
	config_free(cfg);
	unsetenv("KINSTA_API_KEY");
}

/* window: minutes of the day in the job's zone, across midnight too, and
 * across a DST change (Amsterdam, 29 March 2026: 02:00 -> 03:00). */
static void
test_window(void)
{
	static const char text[] =
	    "accounts = ( { name = \"a\"; company = \"" CO "\"; } );\n"
	    "timezone = \"Europe/Amsterdam\";\n"
	    "defaults = { window = \"01:00-05:00\"; };\n"
	    "jobs = ( { name = \"night\"; schedule = \"0 2 * * *\";"
	    " action = \"clear-cache\"; environment_id = \"" ENV "\"; },\n"
	    " { name = \"late\"; schedule = \"0 23 * * *\"; window = "
	    "\"22:30-00:15\"; action = \"clear-cache\"; environment_id = "
	    "\"" ENV "\"; },\n"
	    " { name = \"any\"; schedule = \"0 * * * *\"; window = "
	    "\"00:00-24:00\"; action = \"clear-cache\"; environment_id = "
	    "\"" ENV "\"; } );\n";
	struct config_errors errs = {0};
	struct config *cfg = NULL;
	const struct config_job *night, *late;
	/* 2026-03-28 00:00 UTC = 01:00 in Amsterdam (winter time) */
	int64_t day = 1774656000;

	CHECK_INT(config_load_string(text, "w.conf", CONFIG_LOAD_NO_KEYS, &cfg,
	                             &errs),
	          0);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	if (cfg == NULL)
		return;
	night = config_find_job(cfg, "night");
	late = config_find_job(cfg, "late");
	CHECK_INT(night->window_from, 60);
	CHECK_INT(night->window_to, 300);
	CHECK(!config_window_open(night, day - 1)); /* 00:59:59 local */
	CHECK(config_window_open(night, day));      /* 01:00 */
	CHECK(config_window_open(night, day + 4 * 3600 - 1)); /* 04:59:59 */
	CHECK(!config_window_open(night, day + 4 * 3600));    /* 05:00 */
	/* the next night is summer time: 05:00 local is 03:00 UTC */
	CHECK(config_window_open(night, day + 86400 + 3 * 3600 - 1));
	CHECK(!config_window_open(night, day + 86400 + 3 * 3600));
	/* past midnight: 22:30 to 00:15 local (21:30 to 23:15 UTC) */
	CHECK(!config_window_open(late, day + 21 * 3600 + 29 * 60));
	CHECK(config_window_open(late, day + 21 * 3600 + 30 * 60));
	CHECK(config_window_open(late, day + 23 * 3600 + 14 * 60));
	CHECK(!config_window_open(late, day + 23 * 3600 + 15 * 60));
	/* a whole day, and no window at all */
	CHECK(config_window_open(config_find_job(cfg, "any"), day + 12345));
	config_free(cfg);
}

/* verify = { ... }: a group of parameters; what each needs of another. */
static void
test_verify(void)
{
	static const char good[] =
	    "accounts = ( { name = \"a\"; company = \"" CO "\"; } );\n"
	    "defaults = { verify = { timeout = 7; }; };\n"
	    "jobs = ( { name = \"up\"; schedule = \"@daily\";"
	    " action = \"update-plugins\"; site = \"shop\";"
	    " backup_first = true; on_failure = \"restore\";"
	    " notify_user = \"ops@example.com\";\n"
	    " verify = { urls = [\"/\", \"/shop/\"]; expect_text = \"</html>\";"
	    " base_url = \"http://127.0.0.1:9/_site/{domain}\"; }; },\n"
	    " { name = \"plain\"; schedule = \"@daily\";"
	    " action = \"update-themes\"; site = \"shop\"; } );\n";
	static const char bad_text[] =
	    "accounts = ( { name = \"a\"; company = \"" CO "\"; } );\n"
	    "jobs = ( { name = \"up\"; schedule = \"@daily\";"
	    " action = \"update-plugins\"; site = \"shop\";\n"
	    " on_failure = \"restore\";\n"
	    " verify = { url = [\"/\"]; expect_status = 99; }; },\n"
	    " { name = \"cc\"; schedule = \"@daily\"; action = "
	    "\"clear-cache\"; site = \"shop\";\n verify = { urls = [\"/\"]; "
	    "}; },\n"
	    " { name = \"g\"; schedule = \"@daily\"; action = "
	    "\"update-plugins\"; site = \"shop\";\n verify = \"/\"; } );\n";
	struct config_errors errs = {0};
	struct config *cfg = NULL;
	const struct config_job *up, *plain;
	size_t n = 0;
	char *got;

	CHECK_INT(config_load_string(good, "v.conf", CONFIG_LOAD_NO_KEYS, &cfg,
	                             &errs),
	          0);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	if (cfg == NULL)
		return;
	up = config_find_job(cfg, "up");
	plain = config_find_job(cfg, "plain");
	CHECK_STR(param_list_at(up, "verify.urls", 1), "/shop/");
	CHECK_STR(config_param_str(up, "verify.base_url"),
	          "http://127.0.0.1:9/_site/{domain}");
	CHECK_STR(config_param_str(up, "verify.expect_text"), "</html>");
	CHECK_INT(config_param_int(up, "verify.expect_status"), 200);
	/* a default's member fills in what the job's group leaves out */
	CHECK_INT(config_param_int(up, "verify.timeout"), 7);
	CHECK_STR(config_param_str(up, "on_failure"), "restore");
	CHECK_STR(config_param_str(up, "notify_user"), "ops@example.com");
	/* without verify: no pages, hold, base_url's default */
	CHECK(config_param_list(plain, "verify.urls", &n) == NULL && n == 0);
	CHECK_STR(config_param_str(plain, "on_failure"), "hold");
	CHECK_STR(config_param_str(plain, "verify.base_url"),
	          "https://{domain}");
	config_free(cfg);

	cfg = NULL;
	CHECK(config_load_string(bad_text, "v.conf", CONFIG_LOAD_NO_KEYS, &cfg,
	                         &errs) < 0);
	got = join(&errs);
	if (getenv("KCRON_TEST_PRINT"))
		printf("%s\n", got);
	CHECK(strstr(got, "v.conf:4: job \"up\": unknown key \"url\" in "
	                  "verify (did you mean \"urls\"?)") != NULL);
	CHECK(strstr(got, "v.conf:4: job \"up\": expect_status: 99 is out of "
	                  "range 100-599") != NULL);
	CHECK(strstr(got, "v.conf:4: job \"up\": verify needs \"urls\"") !=
	      NULL);
	CHECK(strstr(got, "v.conf:3: job \"up\": on_failure = \"restore\" "
	                  "restores the pre-update backup: set backup_first = "
	                  "true") != NULL);
	CHECK(strstr(got, "v.conf:6: job \"cc\": \"verify\" is not a "
	                  "parameter of action \"clear-cache\"") != NULL);
	CHECK(strstr(got, "v.conf:8: job \"g\": verify must be a group") !=
	      NULL);
	free(got);
	config_errors_free(&errs);
}

/* A string load (the fuzz target's path) and the cap on kept errors. */
static void
test_string_and_cap(void)
{
	struct config_errors errs = {0};
	struct config *cfg = NULL;
	size_t n = 0, len = 64 + 1200 * 80;
	char *text = malloc(len);

	if (text == NULL)
		abort();
	n += (size_t)snprintf(text, len, "jobs = (\n");
	for (int i = 0; i < 1200; i++)
		n += (size_t)snprintf(
		    text + n, len - n,
		    " { name = \"j%d\"; schedule = \"@daily\"; "
		    "action = \"nap\"; },\n",
		    i);
	snprintf(text + n - 2, len - n + 2, "\n);\n");
	CHECK_INT(config_load_string(text, "<fuzz>", CONFIG_LOAD_NO_KEYS, &cfg,
	                             &errs),
	          -EINVAL);
	CHECK(cfg == NULL);
	CHECK_INT(errs.n, CONFIG_MAX_ERRORS);
	CHECK_INT(errs.dropped, 1201 - CONFIG_MAX_ERRORS);
	CHECK(strncmp(errs.msgs[0],
	              "<fuzz>:2: job \"j0\": unknown action \"nap\" (one of: "
	              "clear-cache, ",
	              57) == 0);
	config_errors_free(&errs);
	CHECK_INT(errs.n, 0);
	free(text);

	CHECK_INT(
	    config_load_string("accounts = ( { name = \"a\"; company = \"" CO
	                       "\"; } );\njobs = ( { name = \"x\"; schedule = "
	                       "\"H/15 * * * *\"; action = \"restart-php\"; "
	                       "label = \"l\"; } );\n",
	                       "<s>", CONFIG_LOAD_NO_KEYS, &cfg, &errs),
	    0);
	CHECK_INT(errs.n, 0);
	if (cfg != NULL) {
		CHECK_INT(cfg->njobs, 1);
		check_cron(&cfg->jobs[0], "H/15 * * * *");
	}
	config_free(cfg);
}

/* A run under way at a reload goes on under the new config only when its
 * job and its account's company and key are unchanged there. */
static void
test_same_job(void)
{
	static const char *const texts[] = {
	    /* 0: as it was */
	    "accounts = ( { name = \"a\"; company = \"" CO "\"; } );\n"
	    "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
	    "\"clear-cache\"; environment_id = \"" ENV "\"; },\n"
	    " { name = \"k\"; schedule = \"@daily\"; action = "
	    "\"clear-cache\"; environment_id = \"" ENV "\"; } );\n",
	    /* 1: j's schedule changed, k as it was, in another place */
	    "accounts = ( { name = \"a\"; company = \"" CO "\"; } );\n"
	    "jobs = ( { name = \"k\"; schedule = \"@daily\"; action = "
	    "\"clear-cache\"; environment_id = \"" ENV "\"; },\n"
	    " { name = \"j\"; schedule = \"@weekly\"; action = "
	    "\"clear-cache\"; environment_id = \"" ENV "\"; } );\n",
	    /* 2: the same jobs, the account of another company */
	    "accounts = ( { name = \"a\"; company = "
	    "\"0b0e6f4c-1a2b-4c3d-8e9f-0123456789ac\"; } );\n"
	    "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
	    "\"clear-cache\"; environment_id = \"" ENV "\"; },\n"
	    " { name = \"k\"; schedule = \"@daily\"; action = "
	    "\"clear-cache\"; environment_id = \"" ENV "\"; } );\n",
	    /* 3: j told elsewhere (its own notify), k pinging a heartbeat */
	    "accounts = ( { name = \"a\"; company = \"" CO "\"; } );\n"
	    "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
	    "\"clear-cache\"; environment_id = \"" ENV "\"; notify = { "
	    "webhook = \"https://hooks.example.com/x\"; }; },\n"
	    " { name = \"k\"; schedule = \"@daily\"; action = "
	    "\"clear-cache\"; environment_id = \"" ENV "\"; heartbeat = "
	    "\"https://hc-ping.com/abc\"; } );\n",
	};
	struct config *c[4] = {NULL};
	struct config_errors errs = {0};
	const struct config_job *j, *k;

	for (int i = 0; i < 4; i++) {
		CHECK_INT(config_load_string(texts[i], "<s>",
		                             CONFIG_LOAD_NO_KEYS, &c[i], &errs),
		          0);
		config_errors_free(&errs);
	}
	if (c[0] == NULL || c[1] == NULL || c[2] == NULL || c[3] == NULL)
		goto out;
	j = config_find_job(c[0], "j");
	k = config_find_job(c[0], "k");
	CHECK(config_same_job(c[0], j, c[0]) == j);
	CHECK(config_same_job(c[0], j, c[1]) == NULL);
	CHECK(config_same_job(c[0], k, c[1]) == config_find_job(c[1], "k"));
	CHECK(config_same_job(c[0], k, c[2]) == NULL);
	/* a reload that changes only how a job is told changes the job */
	CHECK(config_same_job(c[0], j, c[3]) == NULL);
	CHECK(config_same_job(c[0], k, c[3]) == NULL);
	CHECK(config_same_job(c[3], config_find_job(c[3], "j"), c[3]) ==
	      config_find_job(c[3], "j"));
out:
	for (int i = 0; i < 4; i++)
		config_free(c[i]);
}

/* A job may name an account defined below it, or in a later file of
 * include_dir: resolved once every file is read, like one defined above
 * (which is resolved at once). */
static void
test_account_order(void)
{
	struct config_errors errs = {0};
	struct config *cfg = NULL;

	enter("order");
	put("acme.key", KEY "\n", 0600);
	put("k.conf",
	    "include_dir = \"conf.d\";\njobs = (\n"
	    " { name = \"j1\"; schedule = \"@daily\"; action = "
	    "\"clear-cache\"; environment_id = \"" ENV "\"; account = "
	    "\"late\"; },\n"
	    " { name = \"j2\"; schedule = \"@daily\"; action = "
	    "\"clear-cache\"; environment_id = \"" ENV "\"; account = "
	    "\"acme\"; }\n);\n" ACC,
	    0600);
	put("conf.d/10-late.conf",
	    "accounts = ( { name = \"late\"; company = \"" CO
	    "\"; key_file = \"acme.key\"; } );\n"
	    "jobs = ( { name = \"j3\"; schedule = \"@daily\"; action = "
	    "\"clear-cache\"; environment_id = \"" ENV "\"; account = "
	    "\"late\"; } );\n",
	    0600);
	CHECK_INT(config_load("k.conf", 0, &cfg, &errs), 0);
	CHECK_INT(errs.n, 0);
	if (cfg != NULL && cfg->njobs == 3 && cfg->naccounts == 2) {
		CHECK_STR(cfg->accounts[cfg->jobs[0].account].name, "late");
		CHECK_STR(cfg->accounts[cfg->jobs[1].account].name, "acme");
		CHECK_STR(cfg->accounts[cfg->jobs[2].account].name, "late");
	} else {
		CHECK(false);
	}
	config_free(cfg);
	config_errors_free(&errs);
}

/* Heap bytes in use, give or take what glibc's per-thread cache holds
 * (freed chunks it counts as in use: a few kB). */
static long long
heap_in_use(void)
{
	return (long long)mallinfo2().uordblks;
}

#define HEAP_SLACK (32 * 1024)

/* A configuration lives outside malloc's heap (mappings of its own), so
 * that a reload building one while libconfig's tree fills the heap leaves
 * nothing pinning the tree's pages: loading 3,000 jobs (about 1 MB), from
 * a string and from a file, failed or not, leaves the heap as it found
 * it, and so does freeing. */
static void
test_outside_heap(void)
{
	size_t len = 256 + 3000 * 200, n = 0;
	char *text = malloc(len);
	struct config *cfg = NULL;
	struct config_errors errs = {0};
	long long before;

	if (text == NULL)
		abort();
	n += (size_t)snprintf(text, len, "accounts = (\n");
	for (int a = 0; a < 3; a++)
		n += (size_t)snprintf(text + n, len - n,
		                      "%s{ name = \"a%d\"; company = \"" CO
		                      "\"; }\n",
		                      a ? "," : "", a);
	n += (size_t)snprintf(text + n, len - n, ");\njobs = (\n");
	for (int i = 0; i < 3000; i++)
		n += (size_t)snprintf(
		    text + n, len - n,
		    "%s{ name = \"s-%d\"; schedule = \"H H * * *\"; "
		    "account = \"a%d\"; action = \"clear-cache\"; "
		    "environment_id = \"" ENV "\"; jitter = 3000000000; }\n",
		    i ? "," : "", i, i % 3);
	snprintf(text + n, len - n, ");\n");
	/* jitter is out of range, and so the load fails */
	before = heap_in_use();
	CHECK_INT(
	    config_load_string(text, "<s>", CONFIG_LOAD_NO_KEYS, &cfg, &errs),
	    -EINVAL);
	CHECK_INT(errs.n, CONFIG_MAX_ERRORS);
	config_errors_free(&errs);
	CHECK(heap_in_use() - before < HEAP_SLACK);
	/* now a good one, through a file */
	for (char *p = text; (p = strstr(p, " jitter = 3000000000;")) != NULL;)
		memcpy(p, " jitter = 300;       ", 21);
	enter("heap");
	put("big.conf", text, 0600);
	before = heap_in_use();
	CHECK_INT(config_load("big.conf", CONFIG_LOAD_NO_KEYS, &cfg, &errs), 0);
	CHECK_INT(errs.n, 0);
	CHECK(heap_in_use() - before < HEAP_SLACK);
	if (cfg != NULL) {
		CHECK_INT(cfg->njobs, 3000);
		CHECK_INT(cfg->naccounts, 3);
		CHECK_STR(cfg->jobs[2999].name, "s-2999");
		CHECK_INT(cfg->jobs[2999].account, 2);
		CHECK_INT(cfg->jobs[2999].jitter, 300);
		CHECK_STR(cfg->jobs[2999].target.values[0], ENV);
		CHECK_STR(cfg->accounts[cfg->jobs[1].account].name, "a1");
	}
	config_free(cfg);
	CHECK(heap_in_use() - before < HEAP_SLACK);
	free(text);
}

/* The parameters of the actions of issue 16: their defaults, and the
 * combinations that load. */
static void
test_api_actions(void)
{
	struct config_errors errs = {0};
	struct config *cfg = NULL;
	const struct config_job *j;
	size_t n;

	enter("api");
	put("k.conf",
	    ACC "jobs = (\n"
	        " { name = \"rs\"; schedule = \"@daily\"; action = "
	        "\"refresh-staging\"; label = \"x\"; },\n"
	        " { name = \"logs\"; schedule = \"@daily\"; action = "
	        "\"fetch-logs\"; site = \"x\"; alert_on = \"PHP Fatal "
	        "error\"; output = \"/var/log/x-{date}.jsonl\"; },\n"
	        " { name = \"plain\"; schedule = \"@daily\"; action = "
	        "\"create-site\"; display_name = \"D\"; region = \"r\"; "
	        "install_mode = \"plain\"; },\n"
	        " { name = \"dom\"; schedule = \"@daily\"; action = "
	        "\"add-domain\"; site = \"x\"; domain = \"*.shop.example\"; "
	        "},\n"
	        " { name = \"req\"; schedule = \"@daily\"; action = "
	        "\"request\"; path = \"/company/{company}/users\"; "
	        "output = \"u.jsonl\"; }\n"
	        ");\n",
	    0600);
	CHECK_INT(config_load("k.conf", CONFIG_LOAD_NO_KEYS, &cfg, &errs), 0);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "unexpected: %s\n", errs.msgs[i]);
	config_errors_free(&errs);
	if (cfg == NULL)
		return;
	j = job(cfg, "rs");
	CHECK(config_param_bool(j, "push_db"));
	CHECK(config_param_bool(j, "push_files"));
	CHECK(config_param_bool(j, "run_search_and_replace"));
	CHECK(config_param_list(j, "file_list", &n) == NULL && n == 0);
	j = job(cfg, "logs");
	CHECK_STR(config_param_str(j, "file"), "error");
	CHECK_INT(config_param_int(j, "lines"), 1000);
	CHECK_STR(config_param_list(j, "alert_on", &n)[0], "PHP Fatal error");
	CHECK_INT(n, 1);
	CHECK_STR(config_param_str(j, "output"), "/var/log/x-{date}.jsonl");
	j = job(cfg, "plain");
	CHECK_STR(config_param_str(j, "install_mode"), "plain");
	CHECK(config_param_str(j, "admin_email") == NULL);
	j = job(cfg, "dom");
	CHECK_STR(config_param_str(j, "domain"), "*.shop.example");
	CHECK(config_param(j, "is_wildcardless") == NULL);
	j = job(cfg, "req");
	CHECK_INT(j->target.kind, CONFIG_TARGET_NONE);
	config_free(cfg);
}

/* rollout groups (defaults filled in) and environment lists, beside the
 * single string that stays what it was. */
static void
test_rollout_and_environments(void)
{
	static const char text[] =
	    "accounts = ( { name = \"a\"; company = \"" CO "\"; } );\n"
	    "jobs = ( { name = \"r\"; schedule = \"@daily\"; action = "
	    "\"update-plugins\"; all_sites = true; rollout = { batch = 4; };"
	    " environment = [\"staging\", \"live\"]; },\n"
	    " { name = \"one\"; schedule = \"@daily\"; action = "
	    "\"clear-cache\"; label = \"x\"; environment = \"staging\"; },\n"
	    " { name = \"dflt\"; schedule = \"@daily\"; action = "
	    "\"clear-cache\"; site = \"x\"; } );\n";
	struct config_errors errs = {0};
	struct config *cfg = NULL;
	const struct config_job *r, *one, *dflt;
	char buf[200];

	CHECK_INT(config_load_string(text, "r.conf", CONFIG_LOAD_NO_KEYS, &cfg,
	                             &errs),
	          0);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	if (cfg == NULL)
		return;
	r = config_find_job(cfg, "r");
	one = config_find_job(cfg, "one");
	dflt = config_find_job(cfg, "dflt");
	CHECK(r->rollout.set);
	CHECK_INT(r->rollout.canary, 1);
	CHECK_INT(r->rollout.batch, 4);
	CHECK_INT(r->rollout.halt_after, 1);
	CHECK(!one->rollout.set);
	CHECK_INT(one->rollout.batch, 0);
	CHECK_INT(r->target.nenvironments, 2);
	CHECK_STR(r->target.environment, "staging");
	CHECK_STR(r->target.environments[1], "live");
	CHECK_INT(one->target.nenvironments, 1);
	CHECK_STR(one->target.environment, "staging");
	CHECK_STR(one->target.environments[0], "staging");
	CHECK_STR(dflt->target.environments[0], "live");
	config_target_describe(&r->target, buf, sizeof(buf));
	CHECK_STR(buf, "all sites (staging then live)");
	config_target_describe(&one->target, buf, sizeof(buf));
	CHECK_STR(buf, "label x (staging)");
	CHECK(!config_job_same(cfg, r, cfg, one));
	CHECK(config_job_same(cfg, r, cfg, r));
	config_free(cfg);
}

static void
test_notify(void)
{
	static const char text[] =
	    "accounts = ( { name = \"a\"; company = \"" CO "\"; } );\n"
	    "sendmail = \"/bin/true\";\n"
	    "notify = { webhook = \"https://hooks.slack.com/services/T/B/x\";\n"
	    "  email = [\"ops@example.com\"]; repeat_every = \"12h\";\n"
	    "  retry_min = \"1s\"; retry_max = 2; timeout = \"3s\"; };\n"
	    "jobs = ( { name = \"plain\"; schedule = \"0 2 * * *\";"
	    " action = \"clear-cache\"; environment_id = \"" ENV "\"; },\n"
	    " { name = \"own\"; schedule = \"0 2 * * *\"; action = "
	    "\"clear-cache\"; environment_id = \"" ENV "\";\n"
	    "   heartbeat = \"https://hc-ping.com/abc\";\n"
	    "   notify = { format = \"json\"; webhook = "
	    "\"http://127.0.0.1:9/h\";"
	    " on = [\"failure\", \"rolled-back\", \"skipped\"]; }; },\n"
	    " { name = \"quiet\"; schedule = \"0 2 * * *\"; action = "
	    "\"clear-cache\"; environment_id = \"" ENV "\";"
	    " notify = { webhook = \"\"; email = []; }; } );\n";
	struct config_errors errs = {0};
	struct config *cfg = NULL;
	const struct config_job *plain, *own, *quiet;

	CHECK_INT(config_load_string(text, "n.conf", CONFIG_LOAD_NO_KEYS, &cfg,
	                             &errs),
	          0);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	config_errors_free(&errs);
	if (cfg == NULL)
		return;
	plain = config_find_job(cfg, "plain");
	own = config_find_job(cfg, "own");
	quiet = config_find_job(cfg, "quiet");
	CHECK(plain->notify == cfg->notify);
	CHECK(plain->heartbeat == NULL);
	CHECK_STR(cfg->sendmail, "/bin/true");
	CHECK_INT(cfg->notify->format, CONFIG_NOTIFY_SLACK);
	CHECK_INT(cfg->notify->on,
	          CONFIG_NOTIFY_FAILURE | CONFIG_NOTIFY_RECOVERY);
	CHECK_INT(cfg->notify->repeat_every, 12 * 3600);
	CHECK_INT(cfg->notify->nemail, 1);
	CHECK_INT(cfg->delivery.retry_min_ms, 1000);
	CHECK_INT(cfg->delivery.retry_max_ms, 2000);
	CHECK_INT(cfg->delivery.timeout_ms, 3000);
	CHECK_INT(cfg->delivery.parallel, 4);
	/* a job's group overrides key by key */
	CHECK_INT(own->notify->format, CONFIG_NOTIFY_JSON);
	CHECK_STR(own->notify->webhook, "http://127.0.0.1:9/h");
	CHECK_INT(own->notify->nemail, 1);
	CHECK_INT(own->notify->repeat_every, 12 * 3600);
	CHECK_INT(own->notify->on, CONFIG_NOTIFY_FAILURE |
	                               CONFIG_NOTIFY_ROLLED_BACK |
	                               CONFIG_NOTIFY_SKIPPED);
	CHECK_STR(own->heartbeat, "https://hc-ping.com/abc");
	CHECK(quiet->notify->webhook == NULL);
	CHECK_INT(quiet->notify->nemail, 0);
	config_free(cfg);
}

static void
test_listen_parse(void)
{
	struct config_listen l = {0};
	char host[128], err[256];

	CHECK_INT(config_listen_parse(&l, "127.0.0.1:8787", host, sizeof(host),
	                              err, sizeof(err)),
	          0);
	CHECK_INT(l.kind, CONFIG_LISTEN_IPV4);
	CHECK_STR(l.host, "127.0.0.1");
	CHECK_INT(l.port, 8787);
	CHECK_INT(config_listen_parse(&l, "[::1]:80", host, sizeof(host), err,
	                              sizeof(err)),
	          0);
	CHECK_INT(l.kind, CONFIG_LISTEN_IPV6);
	CHECK_STR(l.host, "::1");
	CHECK_INT(l.port, 80);
	CHECK_INT(config_listen_parse(&l, "/run/kinsta-cron/http.sock", host,
	                              sizeof(host), err, sizeof(err)),
	          0);
	CHECK_INT(l.kind, CONFIG_LISTEN_UNIX);
	CHECK_STR(l.host, "/run/kinsta-cron/http.sock");
	static const char *const bad_addrs[] = {
	    "127.0.0.1",      "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
	    "127.0.0.1:80x",  ":80",        "[::1]80",     "[::1]:",
	    "[127.0.0.1]:80", "::1:80",     "rel/path",    "1.2.3:4",
	    "127.0.0.1:-1",   "[]:80",
	};
	for (size_t i = 0; i < sizeof(bad_addrs) / sizeof(bad_addrs[0]); i++)
		CHECK_INT(config_listen_parse(&l, bad_addrs[i], host,
		                              sizeof(host), err, sizeof(err)),
		          -EINVAL);
}

/* ---- ad-hoc jobs (issue 15) --------------------------------------------- */

static const char adhoc_one[] =
    "accounts = ( { name = \"acme\"; company = \"" CO "\"; } );\n"
    "timezone = \"Europe/Amsterdam\";\n"
    "defaults = { retries = 5; jitter = 60; };\n"
    "notify = { webhook = \"https://hooks.slack.com/services/T/B/x\"; };\n"
    "jobs = ( { name = \"j\"; schedule = \"@daily\"; action = "
    "\"clear-cache\"; environment_id = \"" ENV "\"; } );\n";
static const char adhoc_two[] =
    "accounts = ( { name = \"a\"; company = \"" CO "\"; },\n"
    " { name = \"b\"; company = \"0b0e6f4c-1a2b-4c3d-8e9f-0123456789ac\"; "
    "} );\n";

#define NV(v) (sizeof(v) / sizeof(v[0]))

/* Fields of a request, as face.c makes them from JSON. */
static struct config_value
vs(const char *key, const char *s)
{
	return (struct config_value){
	    .key = key, .kind = CONFIG_VALUE_STRING, .str = s};
}

static struct config_value
vi(const char *key, int64_t n)
{
	return (struct config_value){
	    .key = key, .kind = CONFIG_VALUE_INT, .num = n};
}

static struct config_value
vb(const char *key, bool b)
{
	return (struct config_value){
	    .key = key, .kind = CONFIG_VALUE_BOOL, .num = b};
}

static struct config_value
vlist(const char *key, const char *const *l, size_t n)
{
	return (struct config_value){
	    .key = key, .kind = CONFIG_VALUE_LIST, .list = l, .nlist = n};
}

static struct config_value
vgroup(const char *key, const struct config_value *m, size_t n)
{
	return (struct config_value){.key = key,
	                             .kind = CONFIG_VALUE_GROUP,
	                             .members = m,
	                             .nmembers = n};
}

static struct config *
load_text(const char *text)
{
	struct config_errors errs = {0};
	struct config *cfg = NULL;

	if (config_load_string(text, "a.conf", CONFIG_LOAD_NO_KEYS, &cfg,
	                       &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		config_errors_free(&errs);
		fprintf(stderr, "test config does not load\n");
		exit(1);
	}
	return cfg;
}

/* config_adhoc_new that must fail: its rc, the message in err; nothing is
 * made. */
static int
adhoc_fails(const struct config *base, enum action_id action,
            const struct config_value *v, size_t n, char *err, size_t len)
{
	struct config_adhoc *a = (struct config_adhoc *)&a;
	int rc;

	err[0] = '\0';
	rc = config_adhoc_new(&a, base, action, NULL, v, n, err, len);
	if (getenv("KCRON_TEST_PRINT"))
		printf("adhoc %s: %d %s\n", action_name(action), rc, err);
	CHECK(a == NULL);
	config_adhoc_free(a);
	/* one sentence of its own: not "FILE:LINE:", not the reader's
	 * "ad-hoc: " */
	CHECK(strncmp(err, "ad-hoc", 6) != 0);
	CHECK(strstr(err, "a.conf") == NULL);
	return rc;
}

/* A good ad-hoc run under one account: the target, the base's zone and
 * notify, the action's own defaults (not the file's), and the name. */
static void
test_adhoc_good(void)
{
	struct config *base = load_text(adhoc_one);
	static const char *const urls[] = {"/", "/shop/"};
	static const char *const two_sites[] = {"shop", "blog"};
	struct config_value cc[] = {vs("site", "shop")};
	struct config_value bk[] = {
	    vs("site", "shop"), vs("environment", "staging"),
	    vs("tag", "mine"),  vi("keep", 3),
	    vi("retries", 0),   vi("timeout", 600)};
	struct config_value vmem[] = {vlist("urls", urls, NV(urls)),
	                              vs("expect_text", "</html>")};
	struct config_value up[] = {vlist("sites", two_sites, NV(two_sites)),
	                            vb("backup_first", 1),
	                            vgroup("verify", vmem, NV(vmem))};
	struct config_value as[] = {vs("environment_id", ENV)};
	struct config_adhoc *a = NULL;
	const struct config_job *j;
	char err[256] = "";

	CHECK_INT(config_adhoc_new(&a, base, ACTION_CLEAR_CACHE, NULL, cc,
	                           NV(cc), err, sizeof(err)),
	          0);
	CHECK_STR(err, "");
	if (a != NULL) {
		j = config_adhoc_job(a);
		CHECK_STR(j->name, "@clear-cache:shop");
		CHECK_INT(j->action, ACTION_CLEAR_CACHE);
		CHECK_INT(j->target.kind, CONFIG_TARGET_SITES);
		CHECK_INT(j->target.nvalues, 1);
		CHECK_STR(j->target.values[0], "shop");
		CHECK_STR(j->target.environment, "live");
		CHECK_INT(j->target.nenvironments, 1);
		CHECK_INT(j->account, 0);
		CHECK(base->notify != NULL);
		CHECK(j->notify == base->notify);
		CHECK(j->zone == base->zone);
		CHECK_STR(tz_name(j->zone), "Europe/Amsterdam");
		/* none of the file's defaults: the language's */
		CHECK_INT(j->retries, 2);
		CHECK_INT(j->jitter, 0);
		/* the site name is not a job of the file */
		CHECK(config_find_job(base, j->name) == NULL);
	}
	config_adhoc_free(a);

	/* parameters, retries, timeout, another environment */
	a = NULL;
	CHECK_INT(config_adhoc_new(&a, base, ACTION_BACKUP, NULL, bk, NV(bk),
	                           err, sizeof(err)),
	          0);
	if (a != NULL) {
		j = config_adhoc_job(a);
		CHECK_STR(j->name, "@backup:shop");
		CHECK_STR(j->target.environment, "staging");
		CHECK_STR(config_param_str(j, "tag"), "mine");
		CHECK_INT(config_param_int(j, "keep"), 3);
		CHECK_INT(j->retries, 0);
		CHECK_INT(j->timeout, 600);
	}
	config_adhoc_free(a);

	/* lists, booleans and a group (verify = { ... }) */
	a = NULL;
	CHECK_INT(config_adhoc_new(&a, base, ACTION_UPDATE_PLUGINS, NULL, up,
	                           NV(up), err, sizeof(err)),
	          0);
	if (a != NULL) {
		j = config_adhoc_job(a);
		CHECK_STR(j->name, "@update-plugins:shop");
		CHECK_INT(j->target.nvalues, 2);
		CHECK_STR(j->target.values[1], "blog");
		CHECK(config_param_bool(j, "backup_first"));
		CHECK_STR(param_list_at(j, "verify.urls", 1), "/shop/");
		CHECK_STR(config_param_str(j, "verify.expect_text"), "</html>");
		CHECK_INT(config_param_int(j, "verify.expect_status"), 200);
	}
	config_adhoc_free(a);

	/* as: the name given, verbatim (a run followed again after a
	 * restart keeps its name) */
	a = NULL;
	CHECK_INT(config_adhoc_new(&a, base, ACTION_RESTART_PHP,
	                           "@restart-php:agency/Shop Two", as, NV(as),
	                           err, sizeof(err)),
	          0);
	if (a != NULL) {
		j = config_adhoc_job(a);
		CHECK_STR(j->name, "@restart-php:agency/Shop Two");
		CHECK_INT(j->target.kind, CONFIG_TARGET_ENVIRONMENTS);
		CHECK_STR(j->target.values[0], ENV);
	}
	config_adhoc_free(a);

	/* the internal site view: no target, its site_name */
	{
		struct config_value ss[] = {vs("site_name", "shop"),
		                            vs("account", "acme")};

		a = NULL;
		CHECK_INT(config_adhoc_new(&a, base, ACTION_SITE_STATUS, NULL,
		                           ss, NV(ss), err, sizeof(err)),
		          0);
		if (a != NULL) {
			j = config_adhoc_job(a);
			CHECK_INT(j->action, ACTION_SITE_STATUS);
			CHECK_INT(j->target.kind, CONFIG_TARGET_NONE);
			CHECK_STR(config_param_str(j, "site_name"), "shop");
			CHECK(j->name != NULL && j->name[0] == '@');
		}
		config_adhoc_free(a);
	}
	config_free(base);
}

/* Several accounts: which one must be said; the name carries it. */
static void
test_adhoc_accounts(void)
{
	struct config *base = load_text(adhoc_two);
	struct config_value none[] = {vs("site", "shop")};
	struct config_value b[] = {vs("site", "shop"), vs("account", "b")};
	struct config_value zz[] = {vs("site", "shop"), vs("account", "zz")};
	struct config_adhoc *a = NULL;
	enum action_id id = ACTION_COUNT;
	char err[256], account[64];

	CHECK_INT(adhoc_fails(base, ACTION_CLEAR_CACHE, none, NV(none), err,
	                      sizeof(err)),
	          -EINVAL);
	CHECK_STR(err, "there are 2 accounts; say which with \"account\"");
	CHECK_INT(config_adhoc_new(&a, base, ACTION_CLEAR_CACHE, NULL, b, NV(b),
	                           err, sizeof(err)),
	          0);
	if (a != NULL) {
		const struct config_job *j = config_adhoc_job(a);

		CHECK_INT(j->account, 1);
		CHECK_STR(base->accounts[j->account].name, "b");
		CHECK_STR(j->name, "@clear-cache:b/shop");
		/* the name round-trips */
		CHECK_INT(config_adhoc_parse_name(j->name, &id, account,
		                                  sizeof(account)),
		          0);
		CHECK_INT(id, ACTION_CLEAR_CACHE);
		CHECK_STR(account, "b");
	}
	config_adhoc_free(a);
	CHECK_INT(
	    adhoc_fails(base, ACTION_CLEAR_CACHE, zz, NV(zz), err, sizeof(err)),
	    -EINVAL);
	CHECK_STR(err, "there is no account \"zz\"");
	config_free(base);
}

/* What a request may get wrong: one sentence each, without file:line. */
static void
test_adhoc_errors(void)
{
	struct config *base = load_text(adhoc_one);
	static const char *const one_tag[] = {"t"};
	static const char *const one_url[] = {"/"};
	struct config_value tagg[] = {vs("site", "shop"), vs("tagg", "x")};
	struct config_value other[] = {vs("site", "shop"), vi("keep", 3)};
	struct config_value sched[] = {vs("site", "shop"),
	                               vs("schedule", "@daily")};
	struct config_value notarget[] = {vs("tag", "x")};
	struct config_value str_int[] = {vs("site", "shop"),
	                                 vs("keep", "three")};
	struct config_value range[] = {vs("site", "shop"), vi("keep", 1000)};
	struct config_value list_str[] = {vs("site", "shop"),
	                                  vlist("tag", one_tag, NV(one_tag))};
	struct config_value grp_m[] = {vi("x", 1)};
	struct config_value grp_str[] = {vs("site", "shop"),
	                                 vgroup("tag", grp_m, NV(grp_m))};
	struct config_value vbad[] = {vlist("url", one_url, NV(one_url))};
	struct config_value bad_member[] = {vs("site", "shop"),
	                                    vgroup("verify", vbad, NV(vbad))};
	struct config_value twice[] = {vs("site", "shop"), vs("site", "blog")};
	struct config_value badkey[] = {vs("site", "shop"), vs("no such", "x")};
	struct config_value two_kinds[] = {vs("site", "shop"),
	                                   vs("environment_id", ENV)};
	char err[512];

	CHECK_INT(
	    adhoc_fails(base, ACTION_BACKUP, tagg, NV(tagg), err, sizeof(err)),
	    -EINVAL);
	CHECK_STR(err, "unknown key \"tagg\" (did you mean \"tag\"?)");

	CHECK_INT(adhoc_fails(base, ACTION_CLEAR_CACHE, other, NV(other), err,
	                      sizeof(err)),
	          -EINVAL);
	CHECK_STR(err, "\"keep\" is not a parameter of action \"clear-cache\"");

	CHECK_INT(adhoc_fails(base, ACTION_CLEAR_CACHE, sched, NV(sched), err,
	                      sizeof(err)),
	          -EINVAL);
	CHECK_STR(err, "\"schedule\" belongs to a scheduled job, not to one "
	               "run; leave it out");

	CHECK_INT(adhoc_fails(base, ACTION_BACKUP, notarget, NV(notarget), err,
	                      sizeof(err)),
	          -EINVAL);
	CHECK(strstr(err, "action \"backup\" needs a target") != NULL);

	CHECK_INT(adhoc_fails(base, ACTION_BACKUP, str_int, NV(str_int), err,
	                      sizeof(err)),
	          -EINVAL);
	CHECK_STR(err, "keep: expected an integer, got a string");

	CHECK_INT(adhoc_fails(base, ACTION_BACKUP, range, NV(range), err,
	                      sizeof(err)),
	          -EINVAL);
	CHECK_STR(err, "keep: 1000 is out of range 0-100");

	CHECK_INT(adhoc_fails(base, ACTION_BACKUP, list_str, NV(list_str), err,
	                      sizeof(err)),
	          -EINVAL);
	CHECK(strncmp(err, "tag: expected a string, got an array", 36) == 0);

	CHECK_INT(adhoc_fails(base, ACTION_BACKUP, grp_str, NV(grp_str), err,
	                      sizeof(err)),
	          -EINVAL);
	CHECK(strncmp(err, "tag: expected a string, got a group", 35) == 0);

	CHECK_INT(adhoc_fails(base, ACTION_UPDATE_PLUGINS, bad_member,
	                      NV(bad_member), err, sizeof(err)),
	          -EINVAL);
	CHECK_STR(err,
	          "unknown key \"url\" in verify (did you mean \"urls\"?)");

	/* a group where the action takes none */
	CHECK_INT(adhoc_fails(base, ACTION_CLEAR_CACHE, bad_member,
	                      NV(bad_member), err, sizeof(err)),
	          -EINVAL);
	CHECK_STR(err,
	          "\"verify\" is not a parameter of action \"clear-cache\"");

	CHECK_INT(adhoc_fails(base, ACTION_CLEAR_CACHE, twice, NV(twice), err,
	                      sizeof(err)),
	          -EINVAL);
	CHECK(strstr(err, "\"site\"") != NULL && strstr(err, "twice") != NULL);
	CHECK_INT(adhoc_fails(base, ACTION_CLEAR_CACHE, badkey, NV(badkey), err,
	                      sizeof(err)),
	          -EINVAL);
	CHECK(strstr(err, "\"no such\" is not a key") != NULL);
	CHECK_INT(adhoc_fails(base, ACTION_CLEAR_CACHE, two_kinds,
	                      NV(two_kinds), err, sizeof(err)),
	          -EINVAL);
	CHECK_STR(err,
	          "two targets: \"environment_id\" and \"site\"; keep one");
	/* no such action id */
	CHECK_INT(adhoc_fails(base, ACTION_ALL, twice, 1, err, sizeof(err)),
	          -EINVAL);
	config_free(base);
}

static void
test_adhoc_parse_name(void)
{
	enum action_id id = ACTION_COUNT;
	char account[64] = "unchanged", small[4];

	CHECK_INT(config_adhoc_parse_name("@backup:shop", &id, account,
	                                  sizeof(account)),
	          0);
	CHECK_INT(id, ACTION_BACKUP);
	CHECK_STR(account, "");
	CHECK_INT(config_adhoc_parse_name("@backup:agency/shop", &id, account,
	                                  sizeof(account)),
	          0);
	CHECK_INT(id, ACTION_BACKUP);
	CHECK_STR(account, "agency");
	CHECK_INT(config_adhoc_parse_name("@clear-all-caches:all", &id, account,
	                                  sizeof(account)),
	          0);
	CHECK_INT(id, ACTION_CLEAR_ALL_CACHES);
	/* the account is cut to the buffer, not past it */
	CHECK_INT(config_adhoc_parse_name("@restart-php:agency/shop", &id,
	                                  small, sizeof(small)),
	          0);
	CHECK_STR(small, "age");
	CHECK_INT(id, ACTION_RESTART_PHP);
	id = ACTION_COUNT;
	CHECK_INT(
	    config_adhoc_parse_name("nightly", &id, account, sizeof(account)),
	    -EINVAL);
	CHECK_INT(
	    config_adhoc_parse_name("@nope:x", &id, account, sizeof(account)),
	    -EINVAL);
	CHECK_INT(config_adhoc_parse_name("@", &id, account, sizeof(account)),
	          -EINVAL);
	CHECK_INT(
	    config_adhoc_parse_name("@backup", &id, account, sizeof(account)),
	    -EINVAL);
	CHECK_INT(
	    config_adhoc_parse_name("@:shop", &id, account, sizeof(account)),
	    -EINVAL);
	CHECK_INT(config_adhoc_parse_name("backup:shop", &id, account,
	                                  sizeof(account)),
	          -EINVAL);
	CHECK_INT(config_adhoc_parse_name("", &id, account, sizeof(account)),
	          -EINVAL);
	CHECK_INT(id, ACTION_COUNT); /* untouched by the failures */
}

/* listen.allow_actions: the default, a list, none; names of the language
 * only. */
static void
test_allow_actions(void)
{
	static const char listen_default[] =
	    "accounts = ( { name = \"a\"; company = \"" CO "\"; } );\n"
	    "listen = { address = \"127.0.0.1:8787\"; };\n";
	static const char listen_list[] =
	    "accounts = ( { name = \"a\"; company = \"" CO "\"; } );\n"
	    "listen = { address = \"127.0.0.1:8787\"; allow_actions = "
	    "[\"update-plugins\", \"clear-cache\"]; };\n";
	static const char listen_none[] =
	    "accounts = ( { name = \"a\"; company = \"" CO "\"; } );\n"
	    "listen = { address = \"127.0.0.1:8787\"; allow_actions = []; };\n";
	static const char listen_bad[] =
	    "accounts = ( { name = \"a\"; company = \"" CO "\"; } );\n"
	    "listen = { address = \"127.0.0.1:8787\";\n"
	    "  allow_actions = [\"clear-cahce\", \"backup\", \"site-status\"];"
	    " };\n";
	struct config_errors errs = {0};
	struct config *cfg;
	char *got;

	cfg = load_text(listen_default);
	CHECK(cfg->listen.allow_actions == CONFIG_ALLOW_ACTIONS_DEFAULT);
	CHECK(cfg->listen.allow_actions &
	      CONFIG_ACTION_BIT(ACTION_CLEAR_CACHE));
	CHECK(cfg->listen.allow_actions & CONFIG_ACTION_BIT(ACTION_BACKUP));
	CHECK(cfg->listen.allow_actions &
	      CONFIG_ACTION_BIT(ACTION_RESTART_PHP));
	CHECK(!(cfg->listen.allow_actions &
	        CONFIG_ACTION_BIT(ACTION_UPDATE_PLUGINS)));
	CHECK(!(cfg->listen.allow_actions &
	        CONFIG_ACTION_BIT(ACTION_RESTORE_BACKUP)));
	config_free(cfg);
	/* no listen at all: the same default */
	cfg = load_text(adhoc_two);
	CHECK(cfg->listen.allow_actions == CONFIG_ALLOW_ACTIONS_DEFAULT);
	config_free(cfg);

	cfg = load_text(listen_list);
	CHECK(cfg->listen.allow_actions ==
	      (CONFIG_ACTION_BIT(ACTION_UPDATE_PLUGINS) |
	       CONFIG_ACTION_BIT(ACTION_CLEAR_CACHE)));
	config_free(cfg);

	cfg = load_text(listen_none);
	CHECK(cfg->listen.allow_actions == 0);
	config_free(cfg);

	cfg = NULL;
	CHECK_INT(config_load_string(listen_bad, "l.conf", CONFIG_LOAD_NO_KEYS,
	                             &cfg, &errs),
	          -EINVAL);
	CHECK(cfg == NULL);
	got = join(&errs);
	if (getenv("KCRON_TEST_PRINT"))
		printf("%s\n", got);
	/* the daemon's own site view is no name a file can give */
	CHECK_STR(got, "l.conf:3: listen: allow_actions: unknown action "
	               "\"clear-cahce\" (did you mean \"clear-cache\"?)\n"
	               "l.conf:3: listen: allow_actions: unknown action "
	               "\"site-status\"");
	free(got);
	config_errors_free(&errs);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(scratch, sizeof(scratch), "%s/kcron-config-XXXXXX",
	         tmp ? tmp : "/tmp");
	if (mkdtemp(scratch) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_bad();
	test_listen_parse();
	test_agency();
	test_defaults_and_edges();
	test_api_actions();
	test_string_and_cap();
	test_window();
	test_verify();
	test_rollout_and_environments();
	test_same_job();
	test_account_order();
	test_outside_heap();
	test_notify();
	test_adhoc_good();
	test_adhoc_accounts();
	test_adhoc_errors();
	test_adhoc_parse_name();
	test_allow_actions();
	return test_report("test_config");
}
