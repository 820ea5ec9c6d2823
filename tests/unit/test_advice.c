/*
 * Tests for daemon/advice.c: each warning of `kinsta-cron check`, word for
 * word, from configurations loaded with config_load_string and a fake
 * answer to "can the service read this key file?".
 */
#include <errno.h>
#include <unistd.h>

#include "advice.h"
#include "test.h"

#define CO     "54fb80af-576c-4fdc-ba4f-b596c83f15a1"
#define ENV    "8b2f5e21-7c55-4b0e-9d34-6a1d2c3e4f50"
#define ZEROCO "00000000-0000-4000-8000-000000000000"

struct got {
	char lines[8][2048];
	int n;
};

static void
collect(const char *line, void *arg)
{
	struct got *g = arg;

	if (g->n < 8)
		snprintf(g->lines[g->n], sizeof(g->lines[0]), "%s", line);
	g->n++;
}

/* The fake probe: answers *arg for every path, remembers the last one. */
static char probed[512];

static int
fake_probe(const char *path, void *arg)
{
	snprintf(probed, sizeof(probed), "%s", path);
	return *(int *)arg;
}

/* Load text as NAME (no key checks, no include_dir: advice reads the
 * loaded configuration only) and collect the warnings; the returned count must
 * match them. */
static struct got
advise(const char *text, const char *name, const struct advice_probe *probe)
{
	struct config_errors errs = {0};
	struct config *cfg = NULL;
	struct got g = {0};
	int n;

	probed[0] = '\0';
	if (config_load_string(text, name,
	                       CONFIG_LOAD_NO_KEYS | CONFIG_LOAD_NO_INCLUDE_DIR,
	                       &cfg, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		config_errors_free(&errs);
		CHECK(!"the configuration loads");
		return g;
	}
	config_errors_free(&errs);
	n = advice_check(cfg, probe, collect, &g);
	CHECK_INT(n, g.n);
	config_free(cfg);
	return g;
}

static const char job[] =
    "jobs = ( { name = \"nightly\"; schedule = \"30 2 * * *\";\n"
    "  action = \"clear-cache\"; environment_id = \"" ENV "\"; } );\n";

static void
test_clean(void)
{
	int no = 0;
	struct advice_probe probe = {fake_probe, &no};
	struct got g = advise("accounts = ( { name = \"acme\"; company = "
	                      "\"" CO "\"; } );\n" /* a credential */
	                      "jobs = ( { name = \"nightly\";\n"
	                      "  schedule = \"0 30 2 * * *\";\n"
	                      "  action = \"clear-cache\";\n"
	                      "  environment_id = \"" ENV "\"; } );\n",
	                      "/etc/kinsta-cron/kinsta-cron.conf", &probe);

	CHECK_INT(g.n, 0);
	/* no key_file: the probe is not even asked */
	CHECK_STR(probed, "");
}

static void
test_placeholder_company(void)
{
	char text[1024];
	struct got g;

	snprintf(text, sizeof(text),
	         "accounts = (\n"
	         "  { name = \"main\";\n"
	         "    company = \"" ZEROCO "\"; }\n"
	         ");\n%s",
	         job);
	g = advise(text, "/etc/kinsta-cron/kinsta-cron.conf", NULL);
	CHECK_INT(g.n, 1);
	CHECK_STR(g.lines[0],
	          "/etc/kinsta-cron/kinsta-cron.conf:2: warning: account "
	          "\"main\": company \"00000000-0000-4000-8000-000000000000\" "
	          "is a placeholder, not your company; set company to your "
	          "Kinsta company's ID (MyKinsta, Company settings, Billing "
	          "details)");
	/* the nil UUID too; a real one that happens to hold zeros is fine */
	snprintf(text, sizeof(text),
	         "accounts = ( { name = \"a\"; company = "
	         "\"00000000-0000-0000-0000-000000000000\"; },\n"
	         "  { name = \"b\"; company = "
	         "\"00000000-0000-4000-8000-000000000001\"; } );\n"
	         "jobs = ( { name = \"j\"; schedule = \"0 3 * * *\";\n"
	         "  account = \"b\"; action = \"clear-cache\";\n"
	         "  environment_id = \"" ENV "\"; } );\n");
	g = advise(text, "k.conf", NULL);
	CHECK_INT(g.n, 1);
	CHECK(strncmp(g.lines[0], "k.conf:1: warning: account \"a\": company",
	              strlen("k.conf:1: warning: account \"a\": company")) ==
	      0);
}

static void
test_no_jobs(void)
{
	struct got g;

	g = advise("accounts = ( { name = \"acme\"; company = \"" CO
	           "\"; } );\n"
	           "jobs = ( );\n",
	           "site.conf", NULL);
	CHECK_INT(g.n, 1);
	CHECK_STR(g.lines[0],
	          "site.conf: warning: jobs: none, so the daemon would start "
	          "and never call the API; add a job (see JOBS in "
	          "kinsta-cron.conf(5))");
	/* with include_dir, the folder is named as configured */
	g = advise("include_dir = \"conf.d\";\n"
	           "accounts = ( { name = \"acme\"; company = \"" CO
	           "\"; } );\n",
	           "/etc/kinsta-cron/kinsta-cron.conf", NULL);
	CHECK_INT(g.n, 1);
	CHECK_STR(g.lines[0],
	          "/etc/kinsta-cron/kinsta-cron.conf: warning: jobs: none in "
	          "this file or in conf.d/*.conf, so the daemon would start "
	          "and never call the API; add a job to either (see JOBS in "
	          "kinsta-cron.conf(5))");
}

static void
test_key_file(void)
{
	int no = 0, yes = 1, unknown = -EACCES;
	struct advice_probe probe = {fake_probe, &no};
	char text[1024];
	struct got g;

	snprintf(text, sizeof(text),
	         "accounts = ( { name = \"acme\"; company = \"" CO "\";\n"
	         "  key_file = \"/etc/kinsta-cron/acme.key\"; } );\n%s",
	         job);
	g = advise(text, "/etc/kinsta-cron/kinsta-cron.conf", &probe);
	CHECK_STR(probed, "/etc/kinsta-cron/acme.key");
	CHECK_INT(g.n, 1);
	CHECK_STR(g.lines[0],
	          "/etc/kinsta-cron/kinsta-cron.conf:2: warning: account "
	          "\"acme\": key_file \"/etc/kinsta-cron/acme.key\": "
	          "kinsta-cron.service cannot read it (the service runs as its "
	          "own user, DynamicUser=yes, not as the file's owner, and "
	          "cannot see /home, /root, /tmp or "
	          "/etc/kinsta-cron/credentials), so it would not start; give "
	          "it the key as a credential, which systemd reads as root: "
	          "move the file to /etc/kinsta-cron/credentials/acme, delete "
	          "the key_file line and add "
	          "\"LoadCredential=acme:/etc/kinsta-cron/credentials/acme\" "
	          "with \"systemctl edit kinsta-cron\"");
	/* readable by the service, or cannot tell: nothing said */
	probe.arg = &yes;
	CHECK_INT(advise(text, "/etc/kinsta-cron/kinsta-cron.conf", &probe).n,
	          0);
	probe.arg = &unknown;
	CHECK_INT(advise(text, "/etc/kinsta-cron/kinsta-cron.conf", &probe).n,
	          0);
	/* no probe: a configuration the service does not load */
	CHECK_INT(advise(text, "/home/me/try.conf", NULL).n, 0);
}

static void
test_six_fields(void)
{
	static const struct {
		const char *schedule;
		const char *warning; /* NULL: none */
	} cases[] = {
	    {"30 2 * * * *",
	     "k.conf:3: warning: job \"nightly\": schedule \"30 2 * * * *\" "
	     "has six fields, so the first is seconds: it fires every hour at "
	     "xx:02:30, not at 02:30; for 02:30 write \"30 2 * * *\" (five "
	     "fields) or \"0 30 2 * * *\""},
	    /* the day fields stay what they were */
	    {"15 23  * * * MON",
	     "k.conf:3: warning: job \"nightly\": schedule \"15 23  * * * "
	     "MON\" has six fields, so the first is seconds: it fires every "
	     "hour at xx:23:15, not at 23:15; for 23:15 write \"15 23 * * "
	     "MON\" (five fields) or \"0 15 23 * * MON\""},
	    /* seconds 0: the usual six-field form, "every hour at :02" */
	    {"0 2 * * * *", NULL},
	    /* a daily time in six fields */
	    {"0 30 2 * * *", NULL},
	    {"30 2 3 * * *", NULL},
	    /* the second field cannot be an hour: not a shifted daily time */
	    {"30 45 * * * *", NULL},
	    {"*/10 * * * * *", NULL},
	    {"H 2 * * * *", NULL},
	    {"0,30 2 * * * *", NULL},
	    {"30 2 * * *", NULL},
	    {"@every 90s", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[1024];
		struct got g;

		snprintf(text, sizeof(text),
		         "accounts = ( { name = \"acme\"; company = \"" CO
		         "\"; } );\n"
		         "jobs = (\n"
		         "  { name = \"nightly\"; schedule = \"%s\";\n"
		         "    action = \"clear-cache\";\n"
		         "    environment_id = \"" ENV "\"; } );\n",
		         cases[i].schedule);
		g = advise(text, "k.conf", NULL);
		if (cases[i].warning == NULL) {
			CHECK_INT(g.n, 0);
		} else {
			CHECK_INT(g.n, 1);
			CHECK_STR(g.lines[0], cases[i].warning);
		}
	}
}

static void
test_order(void)
{
	char text[2048];
	struct got g;

	/* accounts, then jobs, then the file */
	snprintf(text, sizeof(text),
	         "accounts = ( { name = \"a\"; company = \"" ZEROCO "\"; },\n"
	         "  { name = \"b\"; company = \"" ZEROCO "\"; } );\n"
	         "jobs = ( { name = \"j\"; schedule = \"30 2 * * * *\";\n"
	         "  account = \"a\"; action = \"clear-cache\";\n"
	         "  environment_id = \"" ENV "\"; } );\n");
	g = advise(text, "k.conf", NULL);
	CHECK_INT(g.n, 3);
	CHECK(strstr(g.lines[0], "account \"a\"") != NULL);
	CHECK(strstr(g.lines[1], "account \"b\"") != NULL);
	CHECK(strstr(g.lines[2], "job \"j\"") != NULL);
}

static void
test_service_probe(void)
{
	char dir[] = "/var/tmp/kcron-advice-XXXXXX", path[64];
	FILE *f;

	/* the real probe: nothing under a hidden folder is readable */
	if (mkdtemp(dir) == NULL)
		TEST_SKIP("no temporary folder");
	snprintf(path, sizeof(path), "%s/key", dir);
	if ((f = fopen(path, "w")) == NULL)
		TEST_SKIP("cannot write a temporary file");
	fclose(f);
	CHECK_INT(advice_service_can_read(path, NULL), 0);
	unlink(path);
	rmdir(dir);
	CHECK_INT(advice_service_can_read("/nonexistent/key", NULL), -ENOENT);
	CHECK(advice_is_service_config("/etc/kinsta-cron/kinsta-cron.conf") ==
	      (access("/etc/kinsta-cron/kinsta-cron.conf", F_OK) == 0));
	CHECK(!advice_is_service_config("/nonexistent/kinsta-cron.conf"));
}

int
main(void)
{
	test_clean();
	test_placeholder_company();
	test_no_jobs();
	test_key_file();
	test_six_fields();
	test_order();
	test_service_probe();
	return test_report("test_advice");
}
