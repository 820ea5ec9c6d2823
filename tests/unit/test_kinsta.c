/*
 * Tests for daemon/kinsta.c: the request(s) of every action, step by step
 * with canned answers; the classification of every recorded fixture; the
 * target selectors (site names, labels in both spellings, all sites,
 * exclusions, push source and target); malformed answers.
 */
#include <errno.h>

#include "config.h"
#include "json.h"
#include "kinsta.h"
#include "probe.h"
#include "test.h"

#define ENV     "a2222222-2222-4222-8222-222222222222"
#define COMPANY "c0000000-0000-4000-8000-000000000001"

static const char conf_text[] =
    "api = { url = \"http://127.0.0.1:9/v2\"; };\n"
    "accounts = ( { name = \"acme\"; company = \"" COMPANY "\"; } );\n"
    "jobs = (\n"
    " { name = \"cc\"; schedule = \"@daily\"; action = \"clear-cache\";"
    "   environment_id = \"" ENV "\"; },\n"
    " { name = \"edge\"; schedule = \"@daily\"; action = "
    "\"clear-edge-cache\"; environment_id = \"" ENV "\";"
    "   clear_subdirectories = true; url = \"https://x.example/a\"; },\n"
    " { name = \"cdn\"; schedule = \"@daily\"; action = \"clear-cdn-cache\";"
    "   site = \"charliesite\"; environment = \"staging\"; },\n"
    " { name = \"all\"; schedule = \"@daily\"; action = "
    "\"clear-all-caches\"; sites = [\"bravosite\"]; },\n"
    " { name = \"php\"; schedule = \"@daily\"; action = \"restart-php\";"
    "   environment_id = \"" ENV "\"; },\n"
    " { name = \"phpv\"; schedule = \"@daily\"; action = "
    "\"set-php-version\"; environment_id = \"" ENV "\";"
    "   php_version = \"8.3\"; },\n"
    " { name = \"bk\"; schedule = \"@daily\"; action = \"backup\";"
    "   environment_id = \"" ENV "\"; keep = 2; },\n"
    " { name = \"up\"; schedule = \"@daily\"; action = \"update-plugins\";"
    "   environment_id = \"" ENV "\"; exclude = [\"akismet\"];"
    "   backup_first = true; },\n"
    " { name = \"th\"; schedule = \"@daily\"; action = \"update-themes\";"
    "   environment_id = \"" ENV "\"; themes = [\"astra\"]; },\n"
    " { name = \"push\"; schedule = \"@daily\"; action = "
    "\"push-environment\"; site = \"charliesite\"; source = \"staging\";"
    "   target = \"live\"; push_db = false; },\n"
    " { name = \"wp\"; schedule = \"@daily\"; action = \"run-wp-cli\";"
    "   environment_id = \"" ENV "\"; command = \"wp cache flush\"; },\n"
    " { name = \"new\"; schedule = \"@daily\"; action = \"create-site\";"
    "   display_name = \"Shop\"; region = \"us-central1\";"
    "   admin_email = \"a@example.com\"; admin_password = \"pw-123456\";"
    "   admin_user = \"admin\"; site_title = \"Shop\"; },\n"
    " { name = \"app\"; schedule = \"@daily\"; action = \"deploy-app\";"
    "   app_id = \"b0000000-0000-4000-8000-000000000001\";"
    "   branch = \"main\"; },\n"
    " { name = \"stgl\"; schedule = \"@daily\"; action = "
    "\"update-plugins\"; sites = [\"charliesite\", \"alphasite\", "
    "\"bravosite\"]; environment = [\"staging\", \"live\"]; },\n"
    " { name = \"rep\"; schedule = \"@daily\"; action = \"report\"; },\n"
    " { name = \"repc\"; schedule = \"@daily\"; action = \"report\";"
    "   client = \"shop\"; period = \"2026-11\"; format = \"html\"; },\n"
    " { name = \"req\"; schedule = \"@daily\"; action = \"request\";"
    "   method = \"POST\"; path = \"/sites/tools/clear-cache\";"
    "   body = \"{\\\"environment_id\\\":\\\"" ENV "\\\"}\"; },\n"
    " { name = \"lab\"; schedule = \"@daily\"; action = \"clear-cache\";"
    "   labels = [\"shop\", \"vip\"]; exclude_sites = [\"delta\"]; },\n"
    " { name = \"fresh\"; schedule = \"@daily\"; action = \"update-plugins\";"
    "   environment_id = \"" ENV "\"; clear_caches_after = true; },\n"
    " { name = \"minor\"; schedule = \"@daily\"; action = \"update-plugins\";"
    "   environment_id = \"" ENV "\"; policy = \"minor\"; },\n"
    " { name = \"patch\"; schedule = \"@daily\"; action = \"update-plugins\";"
    "   environment_id = \"" ENV "\"; policy = \"patch\"; },\n"
    " { name = \"nightly\"; schedule = \"@daily\"; action = \"backup\";"
    "   environment_id = \"" ENV "\"; keep = 2; },\n"
    " { name = \"safe\"; schedule = \"@daily\"; action = "
    "\"update-plugins\"; environment_id = \"" ENV
    "\"; backup_first = true; },\n"
    " { name = \"every\"; schedule = \"@daily\"; action = \"clear-cache\";"
    "   all_sites = true; environment = \"staging\"; },\n"
    " { name = \"verified\"; schedule = \"@daily\"; action = "
    "\"update-plugins\"; environment_id = \"" ENV "\"; backup_first = true;"
    "   verify = { urls = [\"/\", \"shop/\"]; base_url = "
    "\"http://127.0.0.1:8/_site/{domain}\"; expect_text = \"</html>\"; };"
    "   on_failure = \"restore\"; notify_user = \"Ops@Example.com\"; },\n"
    " { name = \"held\"; schedule = \"@daily\"; action = "
    "\"update-plugins\"; environment_id = \"" ENV "\"; backup_first = true;"
    "   verify = { urls = [\"/\"]; }; },\n"
    " { name = \"treq\"; schedule = \"@daily\"; action = \"request\";"
    "   site = \"charliesite\"; method = \"POST\";"
    "   path = \"/sites/{site_id}/x/{site_name}?e={env_id}\";"
    "   body = \"{\\\"n\\\":\\\"{env_name}\\\",\\\"c\\\":"
    "\\\"{company}\\\"}\";"
    "   output = \"/tmp/answers-{date}.jsonl\"; },\n"
    " { name = \"tlogs\"; schedule = \"@daily\"; action = \"request\";"
    "   environment_id = \"" ENV "\";"
    "   path = \"/sites/environments/{env_id}/logs?file_name=error&lines=9\"; "
    "},\n"
    " { name = \"rs\"; schedule = \"@daily\"; action = \"refresh-staging\";"
    "   site = \"charliesite\"; push_db = false;"
    "   file_list = [\"wp-content/uploads\"]; },\n"
    " { name = \"clone\"; schedule = \"@daily\"; action = \"clone-site\";"
    "   display_name = \"Copy\"; source_environment = \"charliesite/staging\"; "
    "},\n"
    " { name = \"plain\"; schedule = \"@daily\"; action = \"create-site\";"
    "   display_name = \"Bare\"; region = \"us-central1\";"
    "   install_mode = \"plain\"; },\n"
    " { name = \"adddom\"; schedule = \"@daily\"; action = \"add-domain\";"
    "   environment_id = \"" ENV "\"; domain = \"shop.example.com\";"
    "   is_wildcardless = true; },\n"
    " { name = \"rmdom\"; schedule = \"@daily\"; action = \"remove-domain\";"
    "   environment_id = \"" ENV "\"; domain = \"Shop.Example.com\"; },\n"
    " { name = \"logs\"; schedule = \"@daily\"; action = \"fetch-logs\";"
    "   environment_id = \"" ENV "\"; file = \"access\"; lines = 50;"
    "   alert_on = [\"PHP Fatal error\", \"out of memory\"]; },\n"
    " { name = \"rbpre\"; schedule = \"@daily\"; action = \"restore-backup\";"
    "   environment_id = \"" ENV "\"; backup = \"pre-update\";"
    "   notify_user = \"dev@example.com\"; },\n"
    " { name = \"rblatest\"; schedule = \"@daily\"; action = "
    "\"restore-backup\"; environment_id = \"" ENV "\"; }\n"
    ");\n";

static struct config *cfg;

static const struct config_job *
job(const char *name)
{
	const struct config_job *j = config_find_job(cfg, name);

	if (j == NULL) {
		fprintf(stderr, "no job %s in the test config\n", name);
		exit(1);
	}
	return j;
}

static struct target
env_target(void)
{
	struct target t = {0};

	snprintf(t.env_id, sizeof(t.env_id), "%s", ENV);
	return t;
}

/* Expect the next request to be METHOD PATH BODY, then feed it ANSWER. */
static enum kinsta_next
step(int line, struct kinsta_run *run, const char *method, const char *path,
     const char *body, long status, const char *answer)
{
	struct kinsta_request req;
	enum kinsta_next n = kinsta_run_next(run, &req);

	test_checks++;
	if (n != KINSTA_SEND || strcmp(method_name(req.method), method) ||
	    strcmp(req.path, path) ||
	    strcmp(req.body ? req.body : "", body ? body : "")) {
		test_failed++;
		fprintf(stderr,
		        "line %d: got %d %s %s %s\n  want %s %s %s (%s)\n",
		        line, n, method_name(req.method), req.path,
		        req.body ? req.body : "", method, path,
		        body ? body : "", run->message);
	}
	CHECK_INT(req.mutating, strcmp(method, "GET") != 0);
	kinsta_request_clear(&req);
	return kinsta_feed(run, status, answer, strlen(answer), NULL);
}

#define STEP(run, m, p, b, st, a) step(__LINE__, run, m, p, b, st, a)

#define OP(id)                                                                 \
	"{\"operation_id\":\"" id                                              \
	"\",\"message\":\"in progress\",\"status\":202}"

static void
test_simple_actions(void)
{
	struct target t = env_target();
	struct kinsta_run run;

	kinsta_run_init(&run, cfg, job("cc"), &t);
	CHECK_INT(STEP(&run, "POST", "/sites/tools/clear-cache",
	               "{\"environment_id\":\"" ENV "\"}", 202,
	               OP("cache:clear-1")),
	          KINSTA_FOLLOW);
	CHECK_STR(run.op_id, "cache:clear-1");
	{
		struct kinsta_request req;

		kinsta_poll_request(&run, &req);
		CHECK_STR(req.path, "/operations/cache:clear-1");
		CHECK(!req.mutating);
		kinsta_request_clear(&req);
	}
	CHECK_INT(kinsta_op_done(&run, OPS_SUCCEEDED, "done"), KINSTA_SEND);
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SUCCEEDED);
	kinsta_run_free(&run);

	kinsta_run_init(&run, cfg, job("edge"), &t);
	STEP(&run, "POST", "/sites/edge-caching/clear",
	     "{\"environment_id\":\"" ENV "\",\"clear_subdirectories\":true,"
	     "\"url\":\"https://x.example/a\"}",
	     202, OP("edgeCache:clear-1"));
	kinsta_run_free(&run);

	kinsta_run_init(&run, cfg, job("php"), &t);
	STEP(&run, "POST", "/sites/tools/restart-php",
	     "{\"environment_id\":\"" ENV "\"}", 202, OP("php:restart-1"));
	CHECK_INT(kinsta_op_done(&run, OPS_FAILED, "PHP would not restart"),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_FAILED);
	CHECK_STR(run.message, "PHP would not restart");
	kinsta_run_free(&run);

	kinsta_run_init(&run, cfg, job("phpv"), &t);
	STEP(&run, "PUT", "/sites/tools/modify-php-version",
	     "{\"environment_id\":\"" ENV "\",\"php_version\":\"8.3\"}", 202,
	     OP("php:modify-version-1"));
	CHECK_INT(kinsta_op_done(&run, OPS_TIMED_OUT, "still running"),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_TIMED_OUT);
	kinsta_run_free(&run);

	kinsta_run_init(&run, cfg, job("wp"), &t);
	STEP(&run, "POST", "/sites/environments/" ENV "/run-wp-cli-command",
	     "{\"wp_command\":\"wp cache flush\"}", 202,
	     OP("cli:run-wp-cli-1"));
	kinsta_run_free(&run);

	kinsta_run_init(&run, cfg, job("new"), NULL);
	/* no site of that name yet */
	STEP(&run, "GET",
	     "/sites?company=" COMPANY "&include_environments=true", NULL, 200,
	     "{\"company\":{\"sites\":[{\"id\":\"s1\",\"display_name\":"
	     "\"Blog\"}]}}");
	{
		struct kinsta_request req;

		CHECK_INT(kinsta_run_next(&run, &req), KINSTA_SEND);
		CHECK_STR(req.path, "/sites");
		CHECK_INT(req.cls, RATELIMIT_CREATE);
		CHECK(strstr(req.body, "\"company\":\"" COMPANY "\"") != NULL);
		CHECK(strstr(req.body, "\"display_name\":\"Shop\"") != NULL);
		CHECK(strstr(req.body, "\"woocommerce\":false") != NULL);
		CHECK(strstr(req.body, "\"install_mode\":\"new\"") != NULL);
		kinsta_request_clear(&req);
	}
	CHECK_INT(kinsta_feed(&run, 202, OP("sites:add-1"),
	                      strlen(OP("sites:add-1")), NULL),
	          KINSTA_FOLLOW);
	/* the operation's answer names the new site: recorded in the note */
	{
		static const char done[] =
		    "{\"status\":200,\"data\":{\"idSite\":\"s9\"}}";

		kinsta_op_result(&run, done, strlen(done));
	}
	kinsta_op_done(&run, OPS_SUCCEEDED, "");
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SUCCEEDED);
	CHECK_STR(run.note, "new site s9");
	kinsta_run_free(&run);

	/* scheduled again: the site exists, nothing is created */
	kinsta_run_init(&run, cfg, job("new"), NULL);
	CHECK_INT(STEP(&run, "GET",
	               "/sites?company=" COMPANY "&include_environments=true",
	               NULL, 200,
	               "{\"company\":{\"sites\":[{\"id\":\"s9\","
	               "\"display_name\":\"Shop\"}]}}"),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SKIPPED);
	CHECK_STR(run.message, "exists: site \"Shop\" is s9");
	kinsta_run_free(&run);

	kinsta_run_init(&run, cfg, job("app"), NULL);
	CHECK_INT(STEP(&run, "POST", "/applications/deployments",
	               "{\"app_id\":\"b0000000-0000-4000-8000-000000000001\","
	               "\"branch\":\"main\"}",
	               200, "{\"deployment\":{\"id\":\"dep-1\"}}"),
	          KINSTA_FOLLOW);
	CHECK(run.deployment);
	{
		struct kinsta_request req;

		kinsta_poll_request(&run, &req);
		CHECK_STR(req.path, "/applications/deployments/dep-1");
		kinsta_request_clear(&req);
	}
	kinsta_run_free(&run);

	kinsta_run_init(&run, cfg, job("req"), NULL);
	STEP(&run, "POST", "/sites/tools/clear-cache",
	     "{\"environment_id\":\"" ENV "\"}", 202, OP("cache:clear-9"));
	kinsta_run_free(&run);
}

static void
test_failures(void)
{
	struct target t = env_target();
	struct kinsta_run run;

	kinsta_run_init(&run, cfg, job("cc"), &t);
	CHECK_INT(STEP(&run, "POST", "/sites/tools/clear-cache",
	               "{\"environment_id\":\"" ENV "\"}", 401,
	               "{\"status\":401,\"message\":\"Unauthenticated.\"}"),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_FAILED);
	CHECK_STR(run.message, "API key rejected or expired (HTTP 401)");
	kinsta_run_free(&run);

	kinsta_run_init(&run, cfg, job("cc"), &t);
	STEP(&run, "POST", "/sites/tools/clear-cache",
	     "{\"environment_id\":\"" ENV "\"}", 500,
	     "{\"status\":500,\"message\":\"Error occurred while trying to "
	     "clear cache\"}");
	CHECK_STR(run.message, "Error occurred while trying to clear cache");
	kinsta_run_free(&run);

	/* not JSON: the text, cut short and on one line */
	kinsta_run_init(&run, cfg, job("cc"), &t);
	STEP(&run, "POST", "/sites/tools/clear-cache",
	     "{\"environment_id\":\"" ENV "\"}", 502,
	     "<html>\nBad gateway</html>");
	CHECK_STR(run.message, "<html> Bad gateway</html>");
	kinsta_run_free(&run);

	/* a 2xx that is not JSON fails the run, with the parser's reason */
	kinsta_run_init(&run, cfg, job("cc"), &t);
	STEP(&run, "POST", "/sites/tools/clear-cache",
	     "{\"environment_id\":\"" ENV "\"}", 202, "{\"operation_id\":");
	CHECK_INT(run.outcome, KINSTA_FAILED);
	CHECK(strstr(run.message, "JSON") != NULL);
	kinsta_run_free(&run);

	/* 202 without an operation id: done at once */
	kinsta_run_init(&run, cfg, job("cc"), &t);
	CHECK_INT(STEP(&run, "POST", "/sites/tools/clear-cache",
	               "{\"environment_id\":\"" ENV "\"}", 202,
	               "{\"message\":\"ok\",\"status\":202}"),
	          KINSTA_SEND);
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SUCCEEDED);
	kinsta_run_free(&run);

	/* no answer at all */
	kinsta_run_init(&run, cfg, job("cc"), &t);
	{
		struct kinsta_request req;

		kinsta_run_next(&run, &req);
		kinsta_request_clear(&req);
	}
	CHECK_INT(kinsta_feed(&run, 0, "", 0, "Connection refused"),
	          KINSTA_DONE);
	CHECK_STR(run.message, "Connection refused");
	kinsta_run_free(&run);
}

static void
test_backup_rotation(void)
{
	struct target t = env_target();
	struct kinsta_run run;
	static const char list[] =
	    "{\"environment\":{\"display_name\":\"live\",\"backups\":["
	    "{\"id\":1,\"name\":\"a\",\"note\":\"kinsta-cron:bk\","
	    "\"type\":\"manual\",\"created_at\":1000},"
	    "{\"id\":2,\"name\":\"b\",\"note\":\"kinsta-cron:bk\","
	    "\"type\":\"manual\",\"created_at\":3000},"
	    "{\"id\":3,\"name\":\"c\",\"note\":\"someone else\","
	    "\"type\":\"manual\",\"created_at\":500},"
	    "{\"id\":4,\"name\":\"d\",\"note\":\"kinsta-cron:bk\","
	    "\"type\":\"manual\",\"created_at\":2000},"
	    "{\"id\":5,\"name\":\"e\",\"note\":null,"
	    "\"type\":\"daily\",\"created_at\":100},"
	    "{\"id\":6,\"name\":\"f\",\"note\":\"kinsta-cron:bk\","
	    "\"type\":\"manual\",\"created_at\":4000}]}}";

	kinsta_run_init(&run, cfg, job("bk"), &t);
	/* first the slots: four manual backups, the new one fits */
	STEP(&run, "GET", "/sites/environments/" ENV "/backups", NULL, 200,
	     "{\"environment\":{\"backups\":[{\"id\":1,\"type\":\"manual\","
	     "\"note\":\"kinsta-cron:bk\",\"created_at\":1000}]}}");
	STEP(&run, "POST", "/sites/environments/" ENV "/manual-backups",
	     "{\"tag\":\"kinsta-cron:bk\"}", 202, OP("backups:add-manual-1"));
	CHECK_INT(kinsta_op_done(&run, OPS_SUCCEEDED, ""), KINSTA_SEND);
	CHECK_INT(STEP(&run, "GET", "/sites/environments/" ENV "/backups", NULL,
	               200, list),
	          KINSTA_SEND);
	/* keep 2 newest of our own (6, 2): drop 4 then 1; never 3 or 5 */
	STEP(&run, "DELETE", "/sites/environments/backups/4", NULL, 202,
	     OP("backups:remove-4"));
	kinsta_op_done(&run, OPS_SUCCEEDED, "");
	STEP(&run, "DELETE", "/sites/environments/backups/1", NULL, 202,
	     OP("backups:remove-1"));
	kinsta_op_done(&run, OPS_SUCCEEDED, "");
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SUCCEEDED);
	kinsta_run_free(&run);

	/* resumed while deleting (a state file of 0.1.0: step 2, no name):
	 * lists again instead of guessing */
	kinsta_run_resume(&run, cfg, job("bk"), &t, 2, NULL, "backups:remove-4",
	                  false);
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_FOLLOW);
	CHECK_INT(kinsta_op_done(&run, OPS_SUCCEEDED, ""), KINSTA_SEND);
	STEP(&run, "GET", "/sites/environments/" ENV "/backups", NULL, 200,
	     list);
	kinsta_run_free(&run);
}

/* A list answer of manual backups: "id:created:note" entries, ';'-separated
 * (note "-" for none). */
static const char *
backups(const char *spec)
{
	static char buf[4096];
	size_t o = (size_t)snprintf(buf, sizeof(buf),
	                            "{\"environment\":{\"backups\":[");
	char copy[1024], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", spec);
	for (char *e = strtok_r(copy, ";", &save); e != NULL;
	     e = strtok_r(NULL, ";", &save)) {
		long id, created;
		char note[200];

		if (sscanf(e, "%ld:%ld:%199[^;]", &id, &created, note) != 3)
			abort();
		o += (size_t)snprintf(
		    buf + o, sizeof(buf) - o,
		    "%s{\"id\":%ld,\"type\":\"manual\",\"created_at\":%ld,"
		    "\"note\":%s%s%s}",
		    buf[o - 1] == '[' ? "" : ",", id, created,
		    strcmp(note, "-") ? "\"" : "",
		    strcmp(note, "-") ? note : "null",
		    strcmp(note, "-") ? "\"" : "");
	}
	snprintf(buf + o, sizeof(buf) - o, "]}}");
	return buf;
}

/* Kinsta's 5 manual backups per environment: a backup run frees a slot
 * from kinsta-cron's own backups first, never anyone else's, and fails
 * before changing anything when it cannot. */
/* clear_caches_after: once the update's operation has ended, the page
 * cache, then edge and CDN where the environment has them. */
static void
test_update_clears_caches_after(void)
{
	static const char list[] =
	    "{\"environment\":{\"container_info\":{\"wp_plugins\":{\"data\":["
	    "{\"name\":\"akismet\",\"version\":\"5.3\",\"update\":"
	    "\"available\",\"update_version\":\"5.3.1\"}]}}}}";
	struct target t = env_target();
	struct kinsta_run run;

	t.resolved = true;
	snprintf(t.cdn_cache_id, sizeof(t.cdn_cache_id), "cdn-7");
	CHECK(kinsta_needs_listing(job("fresh")));
	kinsta_run_init(&run, cfg, job("fresh"), &t);
	STEP(&run, "GET", "/sites/environments/" ENV "/plugins", NULL, 200,
	     list);
	STEP(&run, "PUT", "/sites/environments/" ENV "/plugins/bulk-update",
	     "{\"plugins\":[{\"name\":\"akismet\"}]}", 202,
	     OP("wp-plugins:bulk-update-3"));
	kinsta_op_done(&run, OPS_SUCCEEDED, "");
	/* the list again: akismet is at its new version */
	STEP(&run, "GET", "/sites/environments/" ENV "/plugins", NULL, 200,
	     "{\"environment\":{\"container_info\":{\"wp_plugins\":{"
	     "\"data\":[{\"name\":\"akismet\",\"version\":\"5.3.1\","
	     "\"update\":\"none\"}]}}}}");
	STEP(&run, "POST", "/sites/tools/clear-cache",
	     "{\"environment_id\":\"" ENV "\"}", 202, OP("cache:clear-3"));
	kinsta_op_done(&run, OPS_SUCCEEDED, "");
	/* no edge caching on this environment: noted, not an error */
	STEP(&run, "POST", "/sites/cdn/clear-cache",
	     "{\"environment_id\":\"" ENV "\",\"cdn_cache_id\":\"cdn-7\"}", 202,
	     OP("cdn:clear-3"));
	kinsta_op_done(&run, OPS_SUCCEEDED, "");
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SUCCEEDED);
	CHECK_STR(run.note, "akismet 5.3 -> 5.3.1; edge cache not enabled, "
	                    "skipped");
	kinsta_run_free(&run);
	/* without it, an update job on environment ids needs no site list */
	CHECK(!kinsta_needs_listing(job("minor")));
}

/* policy: semver steps, anything else counts as major; the note says what
 * changes and what is held. */
static void
plan_line(const struct kinsta_plan_item *it, void *arg)
{
	char *plan = arg;
	size_t n = strlen(plan);

	snprintf(plan + n, 512 - n, "%s %s %s %s\n", it->name, it->from, it->to,
	         it->held ? "held" : "update");
}

static void
test_update_policy(void)
{
	static const char list[] =
	    "{\"environment\":{\"container_info\":{\"wp_plugins\":{\"data\":["
	    "{\"name\":\"akismet\",\"version\":\"5.3.0\",\"update\":"
	    "\"available\",\"update_version\":\"5.3.1\"},"
	    "{\"name\":\"woocommerce\",\"version\":\"8.6.0\",\"update\":"
	    "\"available\",\"update_version\":\"9.0.0\"},"
	    "{\"name\":\"jetpack\",\"version\":\"13.0\",\"update\":"
	    "\"available\",\"update_version\":\"13.1\"},"
	    "{\"name\":\"odd\",\"version\":\"1.2-beta\",\"update\":"
	    "\"available\",\"update_version\":\"1.2\"}]}}}}";
	static const char minor_only[] =
	    "{\"environment\":{\"container_info\":{\"wp_plugins\":{\"data\":["
	    "{\"name\":\"jetpack\",\"version\":\"13.0\",\"update\":"
	    "\"available\",\"update_version\":\"13.1\"}]}}}}";
	struct target t = env_target();
	struct kinsta_run run;

	kinsta_run_init(&run, cfg, job("minor"), &t);
	STEP(&run, "GET", "/sites/environments/" ENV "/plugins", NULL, 200,
	     list);
	STEP(&run, "PUT", "/sites/environments/" ENV "/plugins/bulk-update",
	     "{\"plugins\":[{\"name\":\"akismet\"},{\"name\":\"jetpack\"}]}",
	     202, OP("wp-plugins:bulk-update-2"));
	CHECK_STR(run.note,
	          "akismet 5.3.0 -> 5.3.1, jetpack 13.0 -> 13.1; held "
	          "by policy \"minor\": woocommerce 8.6.0 -> 9.0.0, "
	          "odd 1.2-beta -> 1.2");
	kinsta_run_free(&run);

	/* nothing within the policy: skipped, saying what was held */
	kinsta_run_init(&run, cfg, job("patch"), &t);
	CHECK_INT(STEP(&run, "GET", "/sites/environments/" ENV "/plugins", NULL,
	               200, minor_only),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SKIPPED);
	CHECK_STR(run.message,
	          "held by policy \"patch\": jetpack 13.0 -> 13.1");
	kinsta_run_free(&run);

	/* the dry run's plan: the same choice, item by item */
	{
		char plan[512] = "";

		CHECK_INT(kinsta_update_plan(job("minor"), list, strlen(list),
		                             plan_line, plan),
		          0);
		CHECK_STR(plan, "akismet 5.3.0 5.3.1 update\n"
		                "woocommerce 8.6.0 9.0.0 held\n"
		                "jetpack 13.0 13.1 update\n"
		                "odd 1.2-beta 1.2 held\n");
		CHECK_INT(
		    kinsta_update_plan(job("minor"), "{}", 2, plan_line, plan),
		    -EINVAL);
		CHECK_INT(kinsta_update_plan(job("cc"), list, strlen(list),
		                             plan_line, plan),
		          -EINVAL);
	}
}

static void
test_backup_slots(void)
{
	struct target t = env_target();
	struct kinsta_run run;

	/* full: two of ours, two foreign, up's newest pre-update backup
	 * (its rollback point, keep 1): our oldest goes */
	kinsta_run_init(&run, cfg, job("bk"), &t);
	STEP(&run, "GET", "/sites/environments/" ENV "/backups", NULL, 200,
	     backups("10:1000:kinsta-cron:bk;11:2000:kinsta-cron:bk;"
	             "20:100:before migration;21:200:-;"
	             "30:500:kinsta-cron:pre-update:up"));
	STEP(&run, "DELETE", "/sites/environments/backups/10", NULL, 202,
	     OP("backups:remove-10"));
	CHECK_STR(kinsta_step_item(&run), "10");
	kinsta_op_done(&run, OPS_SUCCEEDED, "");
	STEP(&run, "POST", "/sites/environments/" ENV "/manual-backups",
	     "{\"tag\":\"kinsta-cron:bk\"}", 202, OP("backups:add-manual-3"));
	kinsta_run_free(&run);

	/* full of backups that are not ours: fails before anything, and
	 * says who holds the slots */
	kinsta_run_init(&run, cfg, job("bk"), &t);
	CHECK_INT(STEP(&run, "GET", "/sites/environments/" ENV "/backups", NULL,
	               200,
	               backups("20:100:before migration;21:200:-;22:300:x;"
	                       "23:400:y;30:500:kinsta-cron:pre-update:up")),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_FAILED);
	CHECK_STR(
	    run.message,
	    "no free backup slot: 5 of 5 manual backups in use, not "
	    "kinsta-cron's to delete; held by 30 \"kinsta-cron:pre-update:"
	    "up\" 23 \"y\" 22 \"x\" 21 \"\" 20 \"before migration\"");
	kinsta_run_free(&run);

	/* another update job's pre-update backups past its keep (1), in both
	 * spellings, and those of a job no longer configured, may go: the
	 * oldest first */
	kinsta_run_init(&run, cfg, job("bk"), &t);
	STEP(&run, "GET", "/sites/environments/" ENV "/backups", NULL, 200,
	     backups("20:100:foreign;41:900:kinsta-cron:pre-update:up;"
	             "40:800:kinsta-cron:up:pre-update;"
	             "50:700:kinsta-cron:pre-update:gone;52:50:-;53:60:-"));
	STEP(&run, "DELETE", "/sites/environments/backups/50", NULL, 202,
	     OP("backups:remove-50"));
	kinsta_op_done(&run, OPS_SUCCEEDED, "");
	STEP(&run, "DELETE", "/sites/environments/backups/40", NULL, 202,
	     OP("backups:remove-40"));
	kinsta_op_done(&run, OPS_SUCCEEDED, "");
	STEP(&run, "POST", "/sites/environments/" ENV "/manual-backups",
	     "{\"tag\":\"kinsta-cron:bk\"}", 202, OP("backups:add-manual-4"));
	kinsta_run_free(&run);

	/* resumed while freeing a slot (named step): lists again */
	kinsta_run_resume(&run, cfg, job("bk"), &t, 1, "free-backup-slot",
	                  "backups:remove-50", false);
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_FOLLOW);
	CHECK_INT(kinsta_op_done(&run, OPS_SUCCEEDED, ""), KINSTA_SEND);
	STEP(&run, "GET", "/sites/environments/" ENV "/backups", NULL, 200,
	     backups("20:100:foreign"));
	STEP(&run, "POST", "/sites/environments/" ENV "/manual-backups",
	     "{\"tag\":\"kinsta-cron:bk\"}", 202, OP("backups:add-manual-5"));
	kinsta_run_free(&run);

	/* resumed in the middle of an update (0.1.0 file: step 1, the
	 * pre-update backup): goes on with the update itself */
	kinsta_run_resume(&run, cfg, job("up"), &t, 1, NULL, "backups:add-9",
	                  false);
	CHECK_INT(kinsta_step(&run), STEP_PRE_BACKUP);
	kinsta_run_free(&run);
}

static void
test_updates(void)
{
	struct target t = env_target();
	struct kinsta_run run;
	static const char plugins[] =
	    "{\"environment\":{\"id\":\"" ENV "\",\"container_info\":{"
	    "\"id\":\"c\",\"wp_plugins\":{\"data\":["
	    "{\"name\":\"akismet\",\"title\":\"A\",\"status\":\"active\","
	    "\"version\":\"1\",\"update\":\"available\","
	    "\"update_version\":\"2\",\"update_status\":null},"
	    "{\"name\":\"woocommerce\",\"title\":\"W\",\"status\":"
	    "\"active\",\"version\":\"8\",\"update\":\"available\","
	    "\"update_version\":\"9\",\"update_status\":null},"
	    "{\"name\":\"jetpack\",\"title\":\"J\",\"status\":\"active\","
	    "\"version\":\"3\",\"update\":\"none\","
	    "\"update_version\":null,\"update_status\":null}]}}}}";
	static const char themes[] =
	    "{\"environment\":{\"id\":\"" ENV "\",\"container_info\":{"
	    "\"id\":\"c\",\"wp_themes\":{\"data\":["
	    "{\"name\":\"twentytwenty\",\"title\":\"T\",\"status\":"
	    "\"inactive\",\"version\":\"1\",\"update\":\"available\","
	    "\"update_version\":\"2\",\"update_status\":null}]}}}}";

	kinsta_run_init(&run, cfg, job("up"), &t);
	STEP(&run, "GET", "/sites/environments/" ENV "/plugins", NULL, 200,
	     plugins);
	/* backup_first: room for a pre-update backup, the backup, the older
	 * pre-update backups beyond keep (1) go (the list names the new one,
	 * what a rollback restores), then the bulk update without the
	 * excluded plugin and without the one with no update, and the list
	 * again to see it at its new version */
	STEP(&run, "GET", "/sites/environments/" ENV "/backups", NULL, 200,
	     "{\"environment\":{\"backups\":[]}}");
	STEP(&run, "POST", "/sites/environments/" ENV "/manual-backups",
	     "{\"tag\":\"kinsta-cron:pre-update:up\"}", 202,
	     OP("backups:add-manual-2"));
	kinsta_op_done(&run, OPS_SUCCEEDED, "");
	STEP(&run, "GET", "/sites/environments/" ENV "/backups", NULL, 200,
	     "{\"environment\":{\"backups\":["
	     "{\"id\":7,\"type\":\"manual\",\"created_at\":7000,"
	     "\"note\":\"kinsta-cron:pre-update:up\"},"
	     "{\"id\":5,\"type\":\"manual\",\"created_at\":5000,"
	     "\"note\":\"kinsta-cron:up:pre-update\"}]}}");
	CHECK_INT(run.backup_id, 7);
	STEP(&run, "DELETE", "/sites/environments/backups/5", NULL, 202,
	     OP("backups:remove-5"));
	kinsta_op_done(&run, OPS_SUCCEEDED, "");
	CHECK_INT(STEP(&run, "PUT",
	               "/sites/environments/" ENV "/plugins/bulk-update",
	               "{\"plugins\":[{\"name\":\"woocommerce\"}]}", 200,
	               OP("wp-plugins:bulk-update-1")),
	          KINSTA_FOLLOW);
	kinsta_op_done(&run, OPS_SUCCEEDED, "");
	STEP(&run, "GET", "/sites/environments/" ENV "/plugins", NULL, 200,
	     "{\"environment\":{\"container_info\":{\"wp_plugins\":{"
	     "\"data\":[{\"name\":\"woocommerce\",\"version\":\"9\"}]}}}}");
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SUCCEEDED);
	kinsta_run_free(&run);

	/* themes = ["astra"]: nothing of that name to update -> skipped */
	kinsta_run_init(&run, cfg, job("th"), &t);
	CHECK_INT(STEP(&run, "GET", "/sites/environments/" ENV "/themes", NULL,
	               200, themes),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SKIPPED);
	CHECK_STR(run.message, "no theme updates available");
	kinsta_run_free(&run);

	/* a plugin list of the wrong shape fails clearly */
	kinsta_run_init(&run, cfg, job("up"), &t);
	STEP(&run, "GET", "/sites/environments/" ENV "/plugins", NULL, 200,
	     "{\"environment\":{}}");
	CHECK_INT(run.outcome, KINSTA_FAILED);
	CHECK_STR(run.message,
	          "unexpected answer from the API (missing fields)");
	kinsta_run_free(&run);
}

static char *
slurp(const char *name, size_t *len)
{
	const char *src = getenv("KCRON_SOURCE_DIR");
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	/* the project's response bodies: without them the test fails */
	snprintf(path, sizeof(path), "%s/tests/fixtures/%s", src ? src : ".",
	         name);
	if ((f = fopen(path, "rb")) == NULL) {
		test_checks++;
		test_failed++;
		fprintf(stderr, "%s: %s (see KCRON_SOURCE_DIR)\n", path,
		        strerror(errno));
		exit(test_report("test_kinsta"));
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		abort();
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static enum ops_poll
classify(bool deployment, long status, const char *body, char *msg)
{
	return kinsta_classify_poll(deployment, status, body, strlen(body),
	                            msg);
}

static void
test_fixtures(void)
{
	static const struct {
		const char *file;
		long status;
		const char *op;
	} accepted[] = {
	    {"clear-cache.json", 202,
	     "cache:clear-a2222222-2222-4222-8222-222222222222"},
	    {"restart-php.json", 202,
	     "container:restart-php-a2222222-2222-4222-8222-222222222222"},
	    {"edge-clear.json", 202, NULL},
	    {"cdn-clear.json", 202, NULL},
	    {"run-wp-cli.json", 202, NULL},
	};
	struct target t = env_target();
	char msg[KINSTA_MSG_MAX];
	size_t len;
	char *body;

	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		struct kinsta_run run;
		struct kinsta_request req;

		body = slurp(accepted[i].file, &len);
		kinsta_run_init(&run, cfg, job("cc"), &t);
		kinsta_run_next(&run, &req);
		kinsta_request_clear(&req);
		CHECK_INT(
		    kinsta_feed(&run, accepted[i].status, body, len, NULL),
		    KINSTA_FOLLOW);
		CHECK(run.op_id[0] != '\0');
		if (accepted[i].op)
			CHECK_STR(run.op_id, accepted[i].op);
		kinsta_run_free(&run);
		free(body);
	}

	body = slurp("operation-success.json", &len);
	CHECK_INT(kinsta_classify_poll(false, 200, body, len, msg),
	          OPS_POLL_SUCCEEDED);
	CHECK_STR(msg, "Successfully finished request.");
	free(body);
	body = slurp("error-401.json", &len);
	CHECK_INT(kinsta_classify_poll(false, 401, body, len, msg),
	          OPS_POLL_AUTH);
	CHECK(!kinsta_error_message(401, body, len, msg));
	CHECK_STR(msg, "Unauthenticated.");
	free(body);
	body = slurp("error-404.json", &len);
	CHECK_INT(kinsta_classify_poll(false, 404, body, len, msg),
	          OPS_POLL_NOT_FOUND);
	free(body);
	body = slurp("error-429.json", &len);
	CHECK_INT(kinsta_classify_poll(false, 429, body, len, msg),
	          OPS_POLL_RETRY);
	CHECK(kinsta_error_message(429, body, len, msg));
	CHECK_STR(msg, "Too many requests, please try again later.");
	/* the text alone says rate limit, whatever the code */
	CHECK(kinsta_error_message(
	    400, "{\"message\":\"Too Many Requests today\"}", 37, msg));
	free(body);

	/* a busy environment: refused, so safe to send again later */
	{
		static const char busy[] =
		    "{\"status\":400,\"message\":\"The environment is "
		    "blocked by another process. Please try again a bit "
		    "later.\"}";
		static const char bad[] =
		    "{\"status\":400,\"message\":\"Bad request format\"}";

		CHECK(kinsta_env_blocked(400, busy, strlen(busy)));
		CHECK(!kinsta_env_blocked(400, bad, strlen(bad)));
		CHECK(!kinsta_env_blocked(500, busy, strlen(busy)));
		CHECK(!kinsta_env_blocked(200, busy, strlen(busy)));
	}

	/* the body wins when it disagrees with the HTTP code */
	CHECK_INT(classify(false, 200,
	                   "{\"status\":500,\"message\":\"Disk full\"}", msg),
	          OPS_POLL_FAILED);
	CHECK_STR(msg, "Disk full");
	CHECK_INT(
	    classify(false, 500, "{\"status\":500,\"message\":\"x\"}", msg),
	    OPS_POLL_FAILED);
	CHECK_INT(classify(false, 202,
	                   "{\"status\":202,\"message\":\"Operation in "
	                   "progress\"}",
	                   msg),
	          OPS_POLL_RUNNING);
	CHECK_INT(classify(false, 202, "{\"status\":\"200\"}", msg),
	          OPS_POLL_SUCCEEDED);
	CHECK_INT(classify(false, 503, "", msg), OPS_POLL_RETRY);
	CHECK_INT(classify(false, 0, "", msg), OPS_POLL_RETRY);
	CHECK_INT(classify(false, 400, "{}", msg), OPS_POLL_REJECTED);
	CHECK_STR(msg, "HTTP 400");
	/* malformed JSON with 202: still running, nothing believed */
	CHECK_INT(classify(false, 202, "{\"status\":", msg), OPS_POLL_RUNNING);
	/* deployments */
	CHECK_INT(classify(true, 200,
	                   "{\"deployment\":{\"status\":\"success\"}}", msg),
	          OPS_POLL_SUCCEEDED);
	CHECK_INT(classify(true, 200,
	                   "{\"deployment\":{\"status\":\"failed\"}}", msg),
	          OPS_POLL_FAILED);
	CHECK_STR(msg, "deployment failed");
	CHECK_INT(classify(true, 200,
	                   "{\"deployment\":{\"status\":\"building\"}}", msg),
	          OPS_POLL_RUNNING);
}

static void
test_select(void)
{
	struct target *t = NULL;
	size_t n = 0, len;
	char err[256], *sites = slurp("sites.json", &len);
	static const char labelled[] =
	    "{\"company\":{\"sites\":["
	    "{\"id\":\"s1\",\"name\":\"alpha\",\"siteLabels\":[{\"id\":\"1\","
	    "\"name\":\"shop\"}],\"environments\":[{\"id\":\"e1\",\"name\":"
	    "\"live\",\"cdn_cache_id\":null}]},"
	    "{\"id\":\"s2\",\"name\":\"bravo\",\"site_labels\":[{\"id\":2,"
	    "\"name\":\"vip\"}],\"environments\":[{\"id\":\"e2\",\"name\":"
	    "\"live\"}]},"
	    "{\"id\":\"s3\",\"name\":\"delta\",\"siteLabels\":[{\"id\":\"1\","
	    "\"name\":\"shop\"}],\"environments\":[{\"id\":\"e3\",\"name\":"
	    "\"live\"}]},"
	    "{\"id\":\"s4\",\"name\":\"echo\",\"siteLabels\":[],"
	    "\"environments\":[{\"id\":\"e4\",\"name\":\"live\"}]}]}}";

	/* site + environment, with the CDN id read from the environment */
	CHECK_INT(
	    kinsta_select(job("cdn"), sites, len, &t, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 1);
	CHECK_STR(t[0].env_id, "a3333333-3333-4333-8333-333333333331");
	CHECK_STR(t[0].cdn_cache_id, "c3333333-3333-4333-8333-333333333331");
	CHECK_STR(t[0].edge_cache_id, "");
	CHECK_STR(t[0].site_name, "charliesite");
	free(t);

	/* environment = ["staging", "live"]: every staging, then every
	 * live, each in the site list's order; a site without staging has
	 * only its live */
	CHECK_INT(
	    kinsta_select(job("stgl"), sites, len, &t, &n, err, sizeof(err)),
	    0);
	CHECK_INT(n, 4);
	if (n == 4) {
		static const char *const want[][2] = {
		    {"charliesite", "staging"},
		    {"alphasite", "live"},
		    {"bravosite", "live"},
		    {"charliesite", "live"}};

		for (size_t i = 0; i < 4; i++) {
			CHECK_STR(t[i].site_name, want[i][0]);
			CHECK_STR(t[i].env_name, want[i][1]);
		}
	}
	free(t);

	/* push: live is the target, staging the source, in one site */
	CHECK_INT(
	    kinsta_select(job("push"), sites, len, &t, &n, err, sizeof(err)),
	    0);
	CHECK_INT(n, 1);
	CHECK_STR(t[0].env_id, "a3333333-3333-4333-8333-333333333333");
	CHECK_STR(t[0].source_env_id, "a3333333-3333-4333-8333-333333333331");
	{
		struct kinsta_run run;

		kinsta_run_init(&run, cfg, job("push"), &t[0]);
		STEP(
		    &run, "PUT",
		    "/sites/33333333-3333-4333-8333-333333333333/environments",
		    "{\"source_env_id\":\"a3333333-3333-4333-8333-"
		    "333333333331\",\"target_env_id\":\"a3333333-3333-4333-"
		    "8333-333333333333\",\"push_db\":false,\"push_files\":true,"
		    "\"run_search_and_replace\":true}",
		    202, OP("environments:push-1"));
		kinsta_run_free(&run);
	}
	free(t);

	/* all caches on bravosite: page, edge, CDN in that order */
	CHECK_INT(
	    kinsta_select(job("all"), sites, len, &t, &n, err, sizeof(err)), 0);
	{
		struct kinsta_run run;

		kinsta_run_init(&run, cfg, job("all"), &t[0]);
		STEP(&run, "POST", "/sites/tools/clear-cache",
		     "{\"environment_id\":\"" ENV "\"}", 202, OP("a"));
		kinsta_op_done(&run, OPS_SUCCEEDED, "");
		STEP(&run, "POST", "/sites/edge-caching/clear",
		     "{\"environment_id\":\"" ENV "\"}", 202, OP("b"));
		kinsta_op_done(&run, OPS_SUCCEEDED, "");
		STEP(&run, "POST", "/sites/cdn/clear-cache",
		     "{\"environment_id\":\"" ENV "\",\"cdn_cache_id\":"
		     "\"c2222222-2222-4222-8222-222222222222\"}",
		     202, OP("c"));
		kinsta_op_done(&run, OPS_SUCCEEDED, "");
		CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
		          KINSTA_DONE);
		CHECK_INT(run.outcome, KINSTA_SUCCEEDED);
		kinsta_run_free(&run);
	}
	free(t);

	/* labels in both spellings, minus an excluded site */
	CHECK_INT(kinsta_select(job("lab"), labelled, strlen(labelled), &t, &n,
	                        err, sizeof(err)),
	          0);
	CHECK_INT(n, 2);
	CHECK_STR(t[0].env_id, "e1");
	CHECK_STR(t[1].env_id, "e2");
	{
		/* no edge cache, no CDN: page cache only, with a note */
		struct kinsta_run run;

		kinsta_run_init(&run, cfg, job("all"), &t[0]);
		STEP(&run, "POST", "/sites/tools/clear-cache",
		     "{\"environment_id\":\"e1\"}", 202, OP("a"));
		kinsta_op_done(&run, OPS_SUCCEEDED, "");
		CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
		          KINSTA_DONE);
		CHECK_INT(run.outcome, KINSTA_SUCCEEDED);
		CHECK_STR(run.note, "edge cache not enabled, skipped; CDN not "
		                    "enabled, skipped");
		kinsta_run_free(&run);

		kinsta_run_init(&run, cfg, job("cdn"), &t[0]);
		CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
		          KINSTA_DONE);
		CHECK_INT(run.outcome, KINSTA_SKIPPED);
		kinsta_run_free(&run);
	}
	free(t);

	/* nothing matches: say what was asked */
	CHECK_INT(kinsta_select(job("every"), labelled, strlen(labelled), &t,
	                        &n, err, sizeof(err)),
	          -EINVAL);
	CHECK(strstr(err, "among the company's 4 sites") != NULL);
	CHECK_INT(
	    kinsta_select(job("lab"), "[1,2]", 5, &t, &n, err, sizeof(err)),
	    -EINVAL);
	CHECK_STR(err, "the site list has no company.sites");
	free(sites);
}

/* Does the document (not NUL-terminated) hold s? */
static bool
has(const char *doc, size_t len, const char *s)
{
	return memmem(doc, len, s, strlen(s)) != NULL;
}

#define ANALYTICS(total)                                                       \
	"{\"analytics\":{\"analytics_response\":{\"key\":\"k\",\"data\":[{"    \
	"\"name\":\"k\",\"total\":" total ",\"dataset\":[{\"key\":"            \
	"\"2026-11-01T00:00:00.000Z\",\"value\":\"" total "\"}]}]}}}"

static void
test_report_action(void)
{
	struct kinsta_run run;
	const char *doc;
	size_t len;

	kinsta_run_init(&run, cfg, job("rep"), NULL);
	STEP(&run, "GET",
	     "/sites?company=" COMPANY "&include_environments=true", NULL, 200,
	     "{\"company\":{\"sites\":[{\"id\":\"s1\",\"name\":\"alpha\","
	     "\"siteLabels\":[{\"id\":\"1\",\"name\":\"shop\"}],"
	     "\"environments\":[{\"id\":\"e1\",\"name\":\"staging\"}]}]}}");
	STEP(&run, "GET", "/company/" COMPANY "/users", NULL, 200,
	     "{\"company\":{\"users\":[{\"user\":{\"id\":\"u\",\"email\":"
	     "\"a@example.com\",\"full_name\":\"A\"}}]}}");
	STEP(&run, "GET", "/sites/environments/e1/plugins", NULL, 200,
	     "{\"environment\":{\"container_info\":{\"wp_plugins\":{\"data\":"
	     "[{\"name\":\"akismet\",\"version\":\"1\",\"update\":"
	     "\"available\",\"update_version\":\"2\"}]}}}}");
	STEP(&run, "GET", "/sites/environments/e1/themes", NULL, 200,
	     "{\"environment\":{\"container_info\":{\"wp_themes\":{\"data\":"
	     "[]}}}}");
	/* a staging environment: no usage questions */
	STEP(&run, "GET", "/sites/environments/e1/backups", NULL, 200,
	     "{\"environment\":{\"backups\":[{\"id\":1,\"created_at\":5},"
	     "{\"id\":2,\"created_at\":9}]}}");
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SUCCEEDED);
	CHECK_INT(kinsta_report(&run, &doc, &len), 0);
	/* what it wrote before 0.2 is all still there, in its order */
	CHECK(len > 0 &&
	      strncmp(doc,
	              "{\"job\":\"rep\",\"company\":\"" COMPANY
	              "\",\"account\":\"acme\",\"sites\":[{\"id\":\"s1\","
	              "\"name\":\"alpha\",\"labels\":[\"shop\"],"
	              "\"environments\":[{\"id\":\"e1\",\"name\":\"staging\","
	              "\"domains\":[]}]}],\"users\":[{\"email\":\"a@"
	              "example.com\",\"full_name\":\"A\"}],\"environments\":[{"
	              "\"id\":\"e1\",\"plugin_updates\":[{\"name\":\"akismet\","
	              "\"version\":\"1\",\"update_version\":\"2\"}],"
	              "\"theme_updates\":[],\"backups\":2,"
	              "\"latest_backup_ms\":9,\"backup_list\":[{\"id\":1,"
	              "\"created_ms\":5},{\"id\":2,\"created_ms\":9}]}]}",
	              len) == 0);
	kinsta_run_free(&run);

	/* a client's report: its labelled sites only; a live environment's
	 * usage over the period; a usage question the API refuses is noted
	 * and the report goes on */
	kinsta_run_init(&run, cfg, job("repc"), NULL);
	run.now = 1796534187; /* 2026-12-06 */
	STEP(&run, "GET",
	     "/sites?company=" COMPANY "&include_environments=true", NULL, 200,
	     "{\"company\":{\"sites\":[{\"id\":\"s0\",\"name\":\"other\","
	     "\"environments\":[{\"id\":\"e0\",\"name\":\"live\"}]},"
	     "{\"id\":\"s1\",\"name\":\"alpha\","
	     "\"siteLabels\":[{\"id\":\"1\",\"name\":\"shop\"}],"
	     "\"environments\":[{\"id\":\"e1\",\"name\":\"live\","
	     "\"domains\":[{\"id\":\"d\",\"name\":\"a.example\"}],"
	     "\"primaryDomain\":{\"id\":\"d\",\"name\":\"a.example\"}}]}]}}");
	STEP(&run, "GET", "/company/" COMPANY "/users", NULL, 200,
	     "{\"company\":{\"users\":[]}}");
	STEP(&run, "GET", "/sites/environments/e1/plugins", NULL, 200, "{}");
	STEP(&run, "GET", "/sites/environments/e1/themes", NULL, 200, "{}");
	STEP(&run, "GET", "/sites/environments/e1/backups", NULL, 200, "{}");
	STEP(&run, "GET",
	     "/sites/environments/e1/analytics/visits?company_id=" COMPANY
	     "&from=2026-11-01&to=2026-11-30",
	     NULL, 202, ANALYTICS("7"));
	CHECK_INT(
	    STEP(
	        &run, "GET",
	        "/sites/environments/e1/analytics/bandwidth?company_id=" COMPANY
	        "&from=2026-11-01&to=2026-11-30",
	        NULL, 404, "{\"message\":\"Not available\"}"),
	    KINSTA_SEND);
	STEP(
	    &run, "GET",
	    "/sites/environments/e1/analytics/cdn-bandwidth?company_id=" COMPANY
	    "&from=2026-11-01&to=2026-11-30",
	    NULL, 202, ANALYTICS("9"));
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SUCCEEDED);
	CHECK_INT(kinsta_report(&run, &doc, &len), 0);
	CHECK(len > 0 && !has(doc, len, "\"other\""));
	CHECK(has(doc, len, "\"client\":\"shop\""));
	CHECK(has(doc, len,
	          "\"primary_domain\":\"a.example\",\"domains\":"
	          "[\"a.example\"]"));
	CHECK(has(doc, len,
	          "\"usage\":{\"visits\":{\"total\":7,\"days\":[{\"date\":"
	          "\"2026-11-01\",\"value\":7}]},\"bandwidth\":{\"error\":"));
	CHECK(has(doc, len, "\"cdn_bandwidth\":{\"total\":9,"));
	kinsta_run_free(&run);

	/* a 401 on a usage question still ends the run: the key is bad */
	kinsta_run_init(&run, cfg, job("repc"), NULL);
	run.now = 1796534187;
	STEP(&run, "GET",
	     "/sites?company=" COMPANY "&include_environments=true", NULL, 200,
	     "{\"company\":{\"sites\":[{\"id\":\"s1\",\"name\":\"alpha\","
	     "\"siteLabels\":[{\"id\":\"1\",\"name\":\"shop\"}],"
	     "\"environments\":[{\"id\":\"e1\",\"name\":\"live\"}]}]}}");
	STEP(&run, "GET", "/company/" COMPANY "/users", NULL, 200, "{}");
	STEP(&run, "GET", "/sites/environments/e1/plugins", NULL, 200, "{}");
	STEP(&run, "GET", "/sites/environments/e1/themes", NULL, 200, "{}");
	STEP(&run, "GET", "/sites/environments/e1/backups", NULL, 200, "{}");
	CHECK_INT(
	    STEP(&run, "GET",
	         "/sites/environments/e1/analytics/visits?company_id=" COMPANY
	         "&from=2026-11-01&to=2026-11-30",
	         NULL, 401, "{}"),
	    KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_FAILED);
	kinsta_run_free(&run);
}

/* The site view (ACTION_SITE_STATUS, the HTTP face's and Slack's
 * `status`): the report's inventory of the one site named, no users, no
 * usage even for a live environment. */
static void
test_site_status(void)
{
	struct config_value v[] = {
	    {.key = "site_name", .kind = CONFIG_VALUE_STRING, .str = "alpha"},
	    {.key = "account", .kind = CONFIG_VALUE_STRING, .str = "acme"},
	};
	struct config_adhoc *a = NULL;
	struct kinsta_run run;
	yajl_val tree = NULL, sites;
	const char *doc;
	size_t len;
	char err[256];

	CHECK_INT(config_adhoc_new(&a, cfg, ACTION_SITE_STATUS, NULL, v, 2, err,
	                           sizeof(err)),
	          0);
	if (a == NULL) {
		fprintf(stderr, "site-status: %s\n", err);
		return;
	}
	kinsta_run_init(&run, cfg, config_adhoc_job(a), NULL);
	run.now = 1796534187;
	STEP(&run, "GET",
	     "/sites?company=" COMPANY "&include_environments=true", NULL, 200,
	     "{\"company\":{\"sites\":[{\"id\":\"s0\",\"name\":\"other\","
	     "\"environments\":[{\"id\":\"e0\",\"name\":\"live\"}]},"
	     "{\"id\":\"s1\",\"name\":\"alpha\",\"display_name\":\"Alpha\","
	     "\"siteLabels\":[{\"id\":\"1\",\"name\":\"shop\"}],"
	     "\"environments\":[{\"id\":\"e1\",\"name\":\"live\","
	     "\"wordpress_version\":\"6.4\",\"container_info\":"
	     "{\"php_engine_version\":\"8.2\"},"
	     "\"primaryDomain\":{\"id\":\"d\",\"name\":\"a.example\"}},"
	     "{\"id\":\"e2\",\"name\":\"staging\"}]},"
	     "{\"id\":\"s2\",\"name\":\"alphabet\","
	     "\"environments\":[{\"id\":\"e3\",\"name\":\"live\"}]}]}}");
	/* no users; the live environment: plugins, themes, backups only */
	STEP(&run, "GET", "/sites/environments/e1/plugins", NULL, 200,
	     "{\"environment\":{\"container_info\":{\"wp_plugins\":{\"data\":"
	     "[{\"name\":\"akismet\",\"version\":\"1\",\"update\":"
	     "\"available\",\"update_version\":\"2\"}]}}}}");
	STEP(&run, "GET", "/sites/environments/e1/themes", NULL, 200, "{}");
	STEP(&run, "GET", "/sites/environments/e1/backups", NULL, 200,
	     "{\"environment\":{\"backups\":[{\"id\":1,\"name\":\"n\","
	     "\"type\":\"manual\",\"created_at\":5}]}}");
	STEP(&run, "GET", "/sites/environments/e2/plugins", NULL, 200, "{}");
	STEP(&run, "GET", "/sites/environments/e2/themes", NULL, 200, "{}");
	STEP(&run, "GET", "/sites/environments/e2/backups", NULL, 200, "{}");
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SUCCEEDED);
	CHECK_INT(kinsta_report(&run, &doc, &len), 0);
	CHECK(len > 0 &&
	      json_parse(&tree, doc, len, NULL, err, sizeof(err)) == 0);
	sites = json_arr(tree, "sites", NULL);
	CHECK_INT(json_arr_len(sites), 1);
	CHECK_STR(json_str(json_arr_at(sites, 0), "name", NULL), "alpha");
	CHECK_STR(json_str(json_arr_at(sites, 0), "display_name", NULL),
	          "Alpha");
	CHECK_STR(json_str(json_arr_at(json_arr(json_arr_at(sites, 0),
	                                        "environments", NULL),
	                               0),
	                   "php", NULL),
	          "8.2");
	CHECK_STR(json_str(json_arr_at(json_arr(json_arr_at(sites, 0),
	                                        "environments", NULL),
	                               0),
	                   "wordpress", NULL),
	          "6.4");
	CHECK_STR(json_str(json_arr_at(json_arr(json_arr_at(sites, 0),
	                                        "environments", NULL),
	                               0),
	                   "primary_domain", NULL),
	          "a.example");
	CHECK(json_get(tree, "users", NULL) == NULL);
	CHECK_STR(json_str(tree, "account", NULL), "acme");
	CHECK_INT(json_arr_len(json_arr(tree, "environments", NULL)), 2);
	CHECK_STR(json_str(json_arr_at(json_arr(tree, "environments", NULL), 0),
	                   "id", NULL),
	          "e1");
	CHECK(json_get(json_arr_at(json_arr(tree, "environments", NULL), 0),
	               "usage", NULL) == NULL);
	CHECK(has(doc, len,
	          "{\"id\":\"e1\",\"plugin_updates\":[{\"name\":\"akismet\","
	          "\"version\":\"1\",\"update_version\":\"2\"}],"
	          "\"theme_updates\":[],\"backups\":1,\"latest_backup_ms\":5,"
	          "\"backup_list\":[{\"id\":1,\"name\":\"n\",\"type\":"
	          "\"manual\",\"created_ms\":5}]}"));
	CHECK(!has(doc, len, "\"other\"") && !has(doc, len, "alphabet"));
	json_free(tree);
	kinsta_run_free(&run);

	/* no such site: an empty document, still whole */
	kinsta_run_init(&run, cfg, config_adhoc_job(a), NULL);
	STEP(&run, "GET",
	     "/sites?company=" COMPANY "&include_environments=true", NULL, 200,
	     "{\"company\":{\"sites\":[{\"id\":\"s0\",\"name\":\"other\","
	     "\"environments\":[{\"id\":\"e0\",\"name\":\"live\"}]}]}}");
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SUCCEEDED);
	CHECK_INT(kinsta_report(&run, &doc, &len), 0);
	tree = NULL;
	CHECK(len > 0 &&
	      json_parse(&tree, doc, len, NULL, err, sizeof(err)) == 0);
	CHECK_INT(json_arr_len(json_arr(tree, "sites", NULL)), 0);
	CHECK(json_arr(tree, "environments", NULL) != NULL);
	CHECK_INT(json_arr_len(json_arr(tree, "environments", NULL)), 0);
	json_free(tree);
	kinsta_run_free(&run);
	config_adhoc_free(a);
}

/* ---- thirty nights -------------------------------------------------------
 *
 * One environment as Kinsta keeps it: manual backups, at most 5, and one
 * plugin that always has an update.  run_night drives a run against it to
 * its end, answering every request as Kinsta would and ending every
 * operation at once.
 */

struct fake_env {
	struct {
		long id, created;
		char note[64];
	} b[16];
	int n;
	long seq, clock;
	int deleted_foreign;
	long plugin; /* akismet's version: each update makes it one more */
};

static void
fake_backups_json(const struct fake_env *e, char *buf, size_t len)
{
	size_t o =
	    (size_t)snprintf(buf, len, "{\"environment\":{\"backups\":[");

	for (int i = 0; i < e->n; i++)
		o += (size_t)snprintf(buf + o, len - o,
		                      "%s{\"id\":%ld,\"type\":\"manual\","
		                      "\"created_at\":%ld,\"note\":\"%s\"}",
		                      i ? "," : "", e->b[i].id, e->b[i].created,
		                      e->b[i].note);
	snprintf(buf + o, len - o, "]}}");
}

/* Answer req as Kinsta would; the status, body in buf. */
static long
fake_answer(struct fake_env *e, const struct kinsta_request *req, char *buf,
            size_t len)
{
	long id;

	if (req->method == METHOD_GET && strstr(req->path, "/backups")) {
		fake_backups_json(e, buf, len);
		return 200;
	}
	if (req->method == METHOD_GET && strstr(req->path, "/plugins")) {
		snprintf(
		    buf, len,
		    "{\"environment\":{\"container_info\":{\"wp_plugins\":"
		    "{\"data\":[{\"name\":\"akismet\",\"version\":\"%ld\","
		    "\"update\":\"available\",\"update_version\":\"%ld\"}]}}}}",
		    e->plugin + 1, e->plugin + 2);
		return 200;
	}
	if (req->method == METHOD_PUT && strstr(req->path, "bulk-update"))
		e->plugin++;
	if (req->method == METHOD_POST && strstr(req->path, "manual-backups")) {
		const char *tag = strstr(req->body, "\"tag\":\"") + 7;

		if (e->n >= 5) {
			snprintf(buf, len,
			         "{\"message\":\"You have reached the "
			         "maximum number of manual backups (5)\"}");
			return 400;
		}
		e->b[e->n].id = ++e->seq;
		e->b[e->n].created = ++e->clock;
		snprintf(e->b[e->n].note, sizeof(e->b[0].note), "%.*s",
		         (int)(strchr(tag, '"') - tag), tag);
		e->n++;
	} else if (req->method == METHOD_DELETE &&
	           sscanf(strrchr(req->path, '/') + 1, "%ld", &id) == 1) {
		for (int i = 0; i < e->n; i++)
			if (e->b[i].id == id) {
				e->deleted_foreign +=
				    strncmp(e->b[i].note, "kinsta-cron:", 12) !=
				    0;
				e->b[i] = e->b[--e->n];
				break;
			}
	}
	snprintf(buf, len, "{\"operation_id\":\"op-%ld\"}", e->clock);
	return 202;
}

static enum kinsta_outcome
run_night(struct fake_env *e, const char *name)
{
	struct target t = env_target();
	struct kinsta_run run;
	struct kinsta_request req;
	enum kinsta_next next;
	enum kinsta_outcome o;
	char buf[8192];
	int guard = 0;

	kinsta_run_init(&run, cfg, job(name), &t);
	while ((next = kinsta_run_next(&run, &req)) != KINSTA_DONE &&
	       guard++ < 100) {
		if (next == KINSTA_FOLLOW) {
			kinsta_op_done(&run, OPS_SUCCEEDED, "");
			continue;
		}
		long st = fake_answer(e, &req, buf, sizeof(buf));

		kinsta_request_clear(&req);
		if (kinsta_feed(&run, st, buf, strlen(buf), NULL) ==
		    KINSTA_FOLLOW)
			kinsta_op_done(&run, OPS_SUCCEEDED, "");
	}
	o = run.outcome;
	if (o != KINSTA_SUCCEEDED)
		fprintf(stderr, "%s: %s\n", name, run.message);
	kinsta_run_free(&run);
	return o;
}

static int
count_notes(const struct fake_env *e, const char *note)
{
	int n = 0;

	for (int i = 0; i < e->n; i++)
		n += strcmp(e->b[i].note, note) == 0;
	return n;
}

/* ---- verified updates -----------------------------------------------------
 */

static const char one_update[] =
    "{\"environment\":{\"container_info\":{\"wp_plugins\":{\"data\":["
    "{\"name\":\"akismet\",\"version\":\"5.3\",\"update\":"
    "\"available\",\"update_version\":\"5.3.1\"}]}}}}";
static const char updated[] =
    "{\"environment\":{\"container_info\":{\"wp_plugins\":{\"data\":["
    "{\"name\":\"akismet\",\"version\":\"5.3.1\",\"update\":"
    "\"none\"}]}}}}";
static const char healthy[] = "<html><body>shop</body></html>";

static struct target
web_target(void)
{
	struct target t = env_target();

	t.resolved = true;
	snprintf(t.domain, sizeof(t.domain), "shop.example.com");
	snprintf(t.site_name, sizeof(t.site_name), "shop");
	snprintf(t.env_name, sizeof(t.env_name), "live");
	return t;
}

/* Expect a probe of url (before the cache-buster), answer it. */
static enum kinsta_next
probe(int line, struct kinsta_run *run, const char *url, long status,
      const char *body)
{
	struct kinsta_request req;
	enum kinsta_next n = kinsta_run_next(run, &req);

	test_checks++;
	if (n != KINSTA_SEND || !req.probe ||
	    strncmp(req.path, url, strlen(url)) != 0 ||
	    strstr(req.path, PROBE_BUSTER "=") == NULL || req.mutating ||
	    req.timeout_ms != 20000) {
		test_failed++;
		fprintf(stderr, "line %d: got %d probe=%d %s, want probe %s\n",
		        line, n, req.probe, req.path, url);
	}
	kinsta_request_clear(&req);
	return kinsta_probe_done(run, status, body, body ? strlen(body) : 0,
	                         status ? NULL : "connection refused", 12);
}

#define PROBE(run, u, st, b) probe(__LINE__, run, u, st, b)
#define SITE                 "http://127.0.0.1:8/_site/shop.example.com"

/* Up to the update: list, probe both pages, room, backup, keep. */
static void
verified_until_update(struct kinsta_run *run)
{
	STEP(run, "GET", "/sites/environments/" ENV "/plugins", NULL, 200,
	     one_update);
	PROBE(run, SITE "/?", 200, healthy);
	PROBE(run, SITE "/shop/?", 200, healthy);
	STEP(run, "GET", "/sites/environments/" ENV "/backups", NULL, 200,
	     "{\"environment\":{\"backups\":[]}}");
	STEP(run, "POST", "/sites/environments/" ENV "/manual-backups",
	     "{\"tag\":\"kinsta-cron:pre-update:verified\"}", 202,
	     OP("backups:add-manual-1"));
	kinsta_op_done(run, OPS_SUCCEEDED, "");
	STEP(run, "GET", "/sites/environments/" ENV "/backups", NULL, 200,
	     "{\"environment\":{\"backups\":[{\"id\":4242,\"type\":"
	     "\"manual\",\"created_at\":9,\"note\":"
	     "\"kinsta-cron:pre-update:verified\"}]}}");
	CHECK_INT(run->backup_id, 4242);
	STEP(run, "PUT", "/sites/environments/" ENV "/plugins/bulk-update",
	     "{\"plugins\":[{\"name\":\"akismet\"}]}", 200,
	     OP("wp-plugins:bulk-update-1"));
	kinsta_op_done(run, OPS_SUCCEEDED, "");
}

/* The users, the restore of the pre-update backup, the probes again. */
static void
restores_4242(struct kinsta_run *run)
{
	STEP(run, "GET", "/company/" COMPANY "/users", NULL, 200,
	     "{\"company\":{\"users\":[{\"user\":{\"id\":\"u-1\","
	     "\"email\":\"boss@example.com\"}},{\"user\":{\"id\":\"u-2\","
	     "\"email\":\"ops@example.com\"}}]}}");
	CHECK_INT(STEP(run, "POST",
	               "/sites/environments/" ENV "/backups/restore",
	               "{\"backup_id\":4242,\"notified_user_id\":\"u-2\"}", 202,
	               OP("backups:restore-1")),
	          KINSTA_FOLLOW);
	kinsta_op_done(run, OPS_SUCCEEDED, "");
	PROBE(run, SITE "/?", 200, healthy);
	PROBE(run, SITE "/shop/?", 200, healthy);
}

static void
test_verified_update(void)
{
	struct target t = web_target();
	struct kinsta_run run;
	struct json_writer w;
	const char *doc;
	size_t len;

	CHECK(kinsta_needs_listing(job("verified")));
	/* healthy before and after, at the new version: succeeded */
	kinsta_run_init(&run, cfg, job("verified"), &t);
	run.buster = 0x100;
	verified_until_update(&run);
	STEP(&run, "GET", "/sites/environments/" ENV "/plugins", NULL, 200,
	     updated);
	PROBE(&run, SITE "/?", 200, healthy);
	PROBE(&run, SITE "/shop/?", 200, healthy);
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SUCCEEDED);
	json_w_init(&w);
	CHECK_INT(kinsta_details(&run, &w), 0);
	CHECK_INT(json_w_finish(&w, &doc, &len), 0);
	CHECK(strstr(doc,
	             "\"items\":[{\"name\":\"akismet\",\"from\":"
	             "\"5.3\",\"to\":\"5.3.1\",\"after\":\"5.3.1\"}]") != NULL);
	CHECK(strstr(doc, "\"backup_id\":4242") != NULL);
	CHECK(strstr(doc,
	             "{\"phase\":\"after\",\"url\":\"" SITE
	             "/shop/\",\"status\":200,\"ms\":12,\"ok\":true}") != NULL);
	CHECK(strstr(doc, "\"restored\":false}") != NULL);
	json_w_free(&w);
	kinsta_run_free(&run);

	/* the page breaks after the update: restored, rolled back */
	kinsta_run_init(&run, cfg, job("verified"), &t);
	verified_until_update(&run);
	STEP(&run, "GET", "/sites/environments/" ENV "/plugins", NULL, 200,
	     updated);
	PROBE(&run, SITE "/?", 200,
	      "<b>Fatal error</b>: Uncaught Error in x.php</html>");
	restores_4242(&run);
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_ROLLED_BACK);
	CHECK_STR(kinsta_outcome_name(run.outcome), "rolled-back");
	CHECK(strstr(run.message,
	             "rolled back to backup 4242: unhealthy "
	             "after the update: " SITE "/: PHP fatal") == run.message);
	CHECK(run.restored);
	kinsta_run_free(&run);

	/* the re-list shows the old version: restored too */
	kinsta_run_init(&run, cfg, job("verified"), &t);
	verified_until_update(&run);
	STEP(&run, "GET", "/sites/environments/" ENV "/plugins", NULL, 200,
	     one_update);
	restores_4242(&run);
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_ROLLED_BACK);
	CHECK(strstr(run.message, "not updated: akismet at 5.3, expected "
	                          "5.3.1") != NULL);
	kinsta_run_free(&run);

	/* the restore leaves the site broken: failed, saying both */
	kinsta_run_init(&run, cfg, job("verified"), &t);
	verified_until_update(&run);
	STEP(&run, "GET", "/sites/environments/" ENV "/plugins", NULL, 200,
	     updated);
	PROBE(&run, SITE "/?", 500, "oops");
	STEP(&run, "GET", "/company/" COMPANY "/users", NULL, 200,
	     "{\"company\":{\"users\":[{\"user\":{\"id\":\"u-2\","
	     "\"email\":\"ops@example.com\"}}]}}");
	STEP(&run, "POST", "/sites/environments/" ENV "/backups/restore",
	     "{\"backup_id\":4242,\"notified_user_id\":\"u-2\"}", 202,
	     OP("backups:restore-2"));
	kinsta_op_done(&run, OPS_SUCCEEDED, "");
	CHECK_INT(PROBE(&run, SITE "/?", 200, "   \n"), KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_FAILED);
	CHECK(strstr(run.failure, "HTTP 500, expected 200") != NULL);
	CHECK(strstr(run.message, "still unhealthy") != NULL);
	CHECK(strstr(run.message, "empty page") != NULL);
	kinsta_run_free(&run);

	/* notify_user is nobody: nothing restored, failed, saying why */
	kinsta_run_init(&run, cfg, job("verified"), &t);
	verified_until_update(&run);
	STEP(&run, "GET", "/sites/environments/" ENV "/plugins", NULL, 200,
	     updated);
	PROBE(&run, SITE "/?", 0, NULL);
	CHECK_INT(STEP(&run, "GET", "/company/" COMPANY "/users", NULL, 200,
	               "{\"company\":{\"users\":[]}}"),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_FAILED);
	CHECK(strstr(run.message,
	             "connection refused; restore failed: "
	             "notify_user \"Ops@Example.com\" is not") != NULL);
	kinsta_run_free(&run);

	/* the update's operation fails: restored as well */
	kinsta_run_init(&run, cfg, job("verified"), &t);
	STEP(&run, "GET", "/sites/environments/" ENV "/plugins", NULL, 200,
	     one_update);
	PROBE(&run, SITE "/?", 200, healthy);
	PROBE(&run, SITE "/shop/?", 200, healthy);
	STEP(&run, "GET", "/sites/environments/" ENV "/backups", NULL, 200,
	     "{\"environment\":{\"backups\":[]}}");
	STEP(&run, "POST", "/sites/environments/" ENV "/manual-backups",
	     "{\"tag\":\"kinsta-cron:pre-update:verified\"}", 202,
	     OP("backups:add-manual-1"));
	kinsta_op_done(&run, OPS_SUCCEEDED, "");
	STEP(&run, "GET", "/sites/environments/" ENV "/backups", NULL, 200,
	     "{\"environment\":{\"backups\":[{\"id\":4242,\"type\":"
	     "\"manual\",\"created_at\":9,\"note\":"
	     "\"kinsta-cron:pre-update:verified\"}]}}");
	STEP(&run, "PUT", "/sites/environments/" ENV "/plugins/bulk-update",
	     "{\"plugins\":[{\"name\":\"akismet\"}]}", 200,
	     OP("wp-plugins:bulk-update-1"));
	CHECK_INT(kinsta_op_done(&run, OPS_FAILED, "disk full"), KINSTA_SEND);
	restores_4242(&run);
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_ROLLED_BACK);
	CHECK(strstr(run.message, "update failed: disk full") != NULL);
	kinsta_run_free(&run);
}

static void
test_held_and_unhealthy_before(void)
{
	struct target t = web_target();
	struct kinsta_run run;
	struct kinsta_request req;

	/* a site broken before: skipped, nothing sent after the probe */
	kinsta_run_init(&run, cfg, job("verified"), &t);
	STEP(&run, "GET", "/sites/environments/" ENV "/plugins", NULL, 200,
	     one_update);
	CHECK_INT(PROBE(&run, SITE "/?", 500, "down"), KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SKIPPED);
	CHECK_STR(run.message,
	          "unhealthy before update: " SITE "/: HTTP 500, expected 200");
	CHECK_INT(kinsta_run_next(&run, &req), KINSTA_DONE);
	kinsta_run_free(&run);

	/* hold (the default): a failed probe after the update ends it */
	kinsta_run_init(&run, cfg, job("held"), &t);
	STEP(&run, "GET", "/sites/environments/" ENV "/plugins", NULL, 200,
	     one_update);
	PROBE(&run, "https://shop.example.com/?", 200, "<p>ok</p>");
	STEP(&run, "GET", "/sites/environments/" ENV "/backups", NULL, 200,
	     "{\"environment\":{\"backups\":[]}}");
	STEP(&run, "POST", "/sites/environments/" ENV "/manual-backups",
	     "{\"tag\":\"kinsta-cron:pre-update:held\"}", 202,
	     OP("backups:add-manual-1"));
	kinsta_op_done(&run, OPS_SUCCEEDED, "");
	STEP(&run, "GET", "/sites/environments/" ENV "/backups", NULL, 200,
	     "{\"environment\":{\"backups\":[{\"id\":77,\"type\":"
	     "\"manual\",\"created_at\":9,\"note\":"
	     "\"kinsta-cron:pre-update:held\"}]}}");
	STEP(&run, "PUT", "/sites/environments/" ENV "/plugins/bulk-update",
	     "{\"plugins\":[{\"name\":\"akismet\"}]}", 200,
	     OP("wp-plugins:bulk-update-1"));
	kinsta_op_done(&run, OPS_SUCCEEDED, "");
	STEP(&run, "GET", "/sites/environments/" ENV "/plugins", NULL, 200,
	     updated);
	CHECK_INT(PROBE(&run, "https://shop.example.com/?", 200, ""),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_FAILED);
	CHECK_STR(run.message, "unhealthy after the update: "
	                       "https://shop.example.com/: empty page (HTTP "
	                       "200)");
	CHECK(!run.restored);
	kinsta_run_free(&run);

	/* no primary domain known: the probe fails before it is sent */
	t.domain[0] = '\0';
	kinsta_run_init(&run, cfg, job("held"), &t);
	STEP(&run, "GET", "/sites/environments/" ENV "/plugins", NULL, 200,
	     one_update);
	CHECK_INT(kinsta_run_next(&run, &req), KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SKIPPED);
	CHECK(strstr(run.message, "{domain} is not known") != NULL);
	kinsta_run_free(&run);
}

static void
test_thirty_nights(void)
{
	struct fake_env e = {.seq = 100};

	/* two backups someone made by hand stay, whatever happens */
	snprintf(e.b[0].note, sizeof(e.b[0].note), "before the redesign");
	snprintf(e.b[1].note, sizeof(e.b[1].note), "client copy");
	e.b[0].id = 1, e.b[1].id = 2, e.n = 2, e.clock = 10;
	for (int night = 1; night <= 30; night++) {
		/* the backup job (keep 2), then the update with its own
		 * pre-update backup (keep 1): 2 + 2 + 1 = all 5 slots */
		CHECK_INT(run_night(&e, "nightly"), KINSTA_SUCCEEDED);
		CHECK_INT(count_notes(&e, "kinsta-cron:nightly"),
		          night < 2 ? night : 2);
		CHECK_INT(run_night(&e, "safe"), KINSTA_SUCCEEDED);
		CHECK_INT(count_notes(&e, "kinsta-cron:pre-update:safe"), 1);
		CHECK(e.n <= 5);
		CHECK_INT(count_notes(&e, "before the redesign"), 1);
		CHECK_INT(count_notes(&e, "client copy"), 1);
	}
	CHECK_INT(e.deleted_foreign, 0);
}

/* ---- the rest of the API (issue 16) ------------------------------------ */

static struct target
charlie_target(const char *job_name, size_t *n)
{
	struct target *t = NULL, one;
	size_t len;
	char err[256], *sites = slurp("sites.json", &len);

	CHECK_INT(
	    kinsta_select(job(job_name), sites, len, &t, n, err, sizeof(err)),
	    0);
	one = t[0];
	free(t);
	free(sites);
	return one;
}

static void
test_request_templated(void)
{
	size_t n;
	struct target t = charlie_target("treq", &n);
	struct kinsta_run run;
	char shown[300];

	CHECK(kinsta_needs_listing(job("treq")));
	/* {env_id} alone needs no listing */
	CHECK(!kinsta_needs_listing(job("tlogs")));
	kinsta_run_init(&run, cfg, job("treq"), &t);
	CHECK_INT(STEP(&run, "POST",
	               "/sites/33333333-3333-4333-8333-333333333333/x/"
	               "charliesite?e=a3333333-3333-4333-8333-333333333333",
	               "{\"n\":\"live\",\"c\":\"" COMPANY "\"}", 202,
	               OP("x:y-1")),
	          KINSTA_FOLLOW);
	/* the answer is kept whole, and made a line with the target */
	CHECK_INT(run.answer_status, 202);
	CHECK_STR(run.answer, OP("x:y-1"));
	CHECK_INT(kinsta_op_done(&run, OPS_SUCCEEDED, "done"), KINSTA_SEND);
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SUCCEEDED);
	CHECK_INT(kinsta_answer_finish(&run, 1796529600123), 0);
	CHECK_STR(run.answer_line,
	          "{\"time\":\"2026-12-06T04:00:00Z\",\"job\":\"treq\","
	          "\"target\":{\"site_id\":\"33333333-3333-4333-8333-"
	          "333333333333\",\"site_name\":\"charliesite\",\"env_id\":"
	          "\"a3333333-3333-4333-8333-333333333333\",\"env_name\":"
	          "\"live\"},\"status\":202,\"answer\":" OP("x:y-1") "}\n");
	CHECK_INT(run.answer_line_len, strlen(run.answer_line));
	kinsta_answer_short(&run, shown, sizeof(shown));
	CHECK_STR(shown, "HTTP 202, 61 bytes: " OP("x:y-1"));
	kinsta_run_free(&run);

	/* an answer that is not JSON, with new lines: text, one line */
	{
		struct target e = env_target();
		struct kinsta_request req;

		kinsta_run_init(&run, cfg, job("tlogs"), &e);
		CHECK_INT(kinsta_run_next(&run, &req), KINSTA_SEND);
		CHECK_INT(req.cls, RATELIMIT_LOGS);
		kinsta_request_clear(&req);
		CHECK_INT(kinsta_feed(&run, 502, "bad\ngateway", 11, NULL),
		          KINSTA_DONE);
		CHECK_INT(run.outcome, KINSTA_FAILED);
		CHECK_INT(kinsta_answer_finish(&run, 0), 0);
		CHECK(strstr(run.answer_line,
		             "\"status\":502,\"answer_text\":\"bad\\ngateway\","
		             "\"truncated\":false}\n") != NULL);
		CHECK(strchr(run.answer_line, '\n') ==
		      run.answer_line + run.answer_line_len - 1);
		kinsta_run_free(&run);
	}
	/* a dry run's change is answered by exec, not Kinsta: not kept */
	{
		size_t m;
		struct target c = charlie_target("treq", &m);

		struct kinsta_request req;

		kinsta_run_init(&run, cfg, job("treq"), &c);
		run.dry = true;
		CHECK_INT(kinsta_run_next(&run, &req), KINSTA_SEND);
		kinsta_request_clear(&req);
		CHECK_INT(kinsta_feed(&run, 202, "{}", 2, NULL), KINSTA_SEND);
		CHECK_INT(kinsta_answer_finish(&run, 0), -ENOENT);
		kinsta_run_free(&run);
	}
	/* no answer at all: nothing to save */
	{
		struct target e = env_target();

		kinsta_run_init(&run, cfg, job("tlogs"), &e);
		kinsta_run_next(&run, &(struct kinsta_request){0});
		kinsta_feed(&run, 0, NULL, 0, "connection refused");
		CHECK_INT(kinsta_answer_finish(&run, 0), -ENOENT);
		kinsta_answer_short(&run, shown, sizeof(shown));
		CHECK_STR(shown, "");
		kinsta_run_free(&run);
	}
}

static void
test_refresh_staging(void)
{
	size_t n;
	struct target t = charlie_target("rs", &n);
	struct kinsta_run run;

	/* the staging environment is the target, live the source */
	CHECK_INT(n, 1);
	CHECK_STR(t.env_id, "a3333333-3333-4333-8333-333333333331");
	CHECK_STR(t.source_env_id, "a3333333-3333-4333-8333-333333333333");
	kinsta_run_init(&run, cfg, job("rs"), &t);
	CHECK_INT(STEP(&run, "PUT",
	               "/sites/33333333-3333-4333-8333-333333333333/"
	               "environments",
	               "{\"source_env_id\":\"a3333333-3333-4333-8333-"
	               "333333333333\",\"target_env_id\":\"a3333333-3333-4333-"
	               "8333-333333333331\",\"push_db\":false,\"push_files\":"
	               "true,\"run_search_and_replace\":true,"
	               "\"push_files_option\":\"SPECIFIC_FILES\","
	               "\"file_list\":[\"wp-content/uploads\"]}",
	               202, OP("environments:push-1")),
	          KINSTA_FOLLOW);
	kinsta_run_free(&run);
	/* onto its own source: refused before anything is sent */
	strcpy(t.env_id, t.source_env_id);
	kinsta_run_init(&run, cfg, job("rs"), &t);
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_FAILED);
	kinsta_run_free(&run);
}

static void
test_clone_and_plain_site(void)
{
	size_t len;
	char *sites = slurp("sites.json", &len);
	struct kinsta_run run;

	kinsta_run_init(&run, cfg, job("clone"), NULL);
	CHECK_INT(step(__LINE__, &run, "GET",
	               "/sites?company=" COMPANY "&include_environments=true",
	               NULL, 200, sites),
	          KINSTA_SEND);
	CHECK_INT(STEP(&run, "POST", "/sites/clone",
	               "{\"company\":\"" COMPANY "\",\"display_name\":"
	               "\"Copy\",\"source_env_id\":\"a3333333-3333-4333-8333-"
	               "333333333331\"}",
	               202, OP("site:clone-1")),
	          KINSTA_FOLLOW);
	{
		static const char done[] =
		    "{\"status\":200,\"data\":{\"idSite\":\"s9\"}}";

		kinsta_op_result(&run, done, strlen(done));
	}
	CHECK_STR(run.note, "new site s9");
	kinsta_run_free(&run);
	free(sites);

	/* a source that is not there fails the run after the listing */
	kinsta_run_init(&run, cfg, job("clone"), NULL);
	CHECK_INT(STEP(&run, "GET",
	               "/sites?company=" COMPANY "&include_environments=true",
	               NULL, 200, "{\"company\":{\"sites\":[]}}"),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_FAILED);
	CHECK_STR(run.message, "source_environment \"charliesite/staging\" is "
	                       "not among the company's 0 sites");
	kinsta_run_free(&run);

	/* plain: /sites/plain, and nothing of WordPress */
	kinsta_run_init(&run, cfg, job("plain"), NULL);
	CHECK_INT(STEP(&run, "GET",
	               "/sites?company=" COMPANY "&include_environments=true",
	               NULL, 200, "{\"company\":{\"sites\":[]}}"),
	          KINSTA_SEND);
	CHECK_INT(STEP(&run, "POST", "/sites/plain",
	               "{\"company\":\"" COMPANY "\",\"display_name\":"
	               "\"Bare\",\"region\":\"us-central1\"}",
	               202, OP("sites:add-plain-1")),
	          KINSTA_FOLLOW);
	kinsta_run_free(&run);
}

#define DOMAINS(extra)                                                         \
	"{\"environment\":{\"site_domains\":[{\"id\":\"d1\",\"name\":"         \
	"\"example.com\",\"uses_cloudflare_dns\":true}" extra "]}}"

static void
test_domains(void)
{
	struct target t = env_target();
	struct kinsta_run run;

	kinsta_run_init(&run, cfg, job("adddom"), &t);
	CHECK_INT(STEP(&run, "GET", "/sites/environments/" ENV "/domains", NULL,
	               200, DOMAINS("")),
	          KINSTA_SEND);
	CHECK_INT(STEP(&run, "POST", "/sites/environments/" ENV "/domains",
	               "{\"domain_name\":\"shop.example.com\","
	               "\"is_wildcardless\":true}",
	               202, OP("sites:add-domain-1")),
	          KINSTA_FOLLOW);
	kinsta_run_free(&run);
	/* there already: skipped, nothing sent */
	kinsta_run_init(&run, cfg, job("adddom"), &t);
	CHECK_INT(STEP(&run, "GET", "/sites/environments/" ENV "/domains", NULL,
	               200,
	               DOMAINS(",{\"id\":\"d2\",\"name\":\"shop.example.com\","
	                       "\"uses_cloudflare_dns\":false}")),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SKIPPED);
	CHECK_STR(run.message,
	          "exists: shop.example.com is on this environment already");
	kinsta_run_free(&run);

	/* remove: the id of the name, whatever its case */
	kinsta_run_init(&run, cfg, job("rmdom"), &t);
	CHECK_INT(STEP(&run, "GET", "/sites/environments/" ENV "/domains", NULL,
	               200,
	               DOMAINS(",{\"id\":\"d2\",\"name\":\"shop.example.com\","
	                       "\"uses_cloudflare_dns\":false}")),
	          KINSTA_SEND);
	CHECK_INT(STEP(&run, "DELETE", "/sites/environments/" ENV "/domains",
	               "{\"domain_ids\":[\"d2\"]}", 202,
	               OP("sites:delete-domain-1")),
	          KINSTA_FOLLOW);
	kinsta_run_free(&run);
	kinsta_run_init(&run, cfg, job("rmdom"), &t);
	CHECK_INT(STEP(&run, "GET", "/sites/environments/" ENV "/domains", NULL,
	               200, DOMAINS("")),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SKIPPED);
	/* a list without site_domains is not understood */
	kinsta_run_free(&run);
	kinsta_run_init(&run, cfg, job("rmdom"), &t);
	CHECK_INT(STEP(&run, "GET", "/sites/environments/" ENV "/domains", NULL,
	               200, "{\"environment\":{}}"),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_FAILED);
	kinsta_run_free(&run);
}

#define LOGS(text)                                                             \
	"{\"environment\":{\"container_info\":{\"logs\":\"" text "\"}}}"

static void
test_fetch_logs(void)
{
	struct target t = env_target();
	struct kinsta_run run;
	struct kinsta_request req;

	kinsta_run_init(&run, cfg, job("logs"), &t);
	CHECK_INT(kinsta_run_next(&run, &req), KINSTA_SEND);
	CHECK_STR(req.path,
	          "/sites/environments/" ENV "/logs?file_name=access&lines=50");
	CHECK_INT(req.cls, RATELIMIT_LOGS);
	kinsta_request_clear(&req);
	CHECK_INT(kinsta_feed(&run, 200, LOGS("a\\nb\\n"),
	                      strlen(LOGS("a\\nb\\n")), NULL),
	          KINSTA_SEND);
	CHECK_INT(kinsta_run_next(&run, &req), KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SUCCEEDED);
	CHECK_STR(run.note, "2 log lines");
	CHECK_INT(run.answer_status, 200);
	kinsta_run_free(&run);

	/* a line with an alert string fails the run, naming the first */
	kinsta_run_init(&run, cfg, job("logs"), &t);
	kinsta_run_next(&run, &req);
	kinsta_request_clear(&req);
	{
		static const char body[] =
		    LOGS("ok\\n[06-Dec] PHP Fatal error: x in y\\nok\\n"
		         "PHP Fatal error: z\\nout of memory");

		CHECK_INT(kinsta_feed(&run, 200, body, strlen(body), NULL),
		          KINSTA_DONE);
	}
	CHECK_INT(run.outcome, KINSTA_FAILED);
	CHECK_STR(run.message, "3 log lines match alert_on: [06-Dec] PHP "
	                       "Fatal error: x in y");
	CHECK_STR(run.note, "5 log lines");
	/* the answer is still saved */
	CHECK_INT(kinsta_answer_finish(&run, 0), 0);
	kinsta_run_free(&run);
}

#define BACKUPS                                                                \
	"{\"environment\":{\"backups\":["                                      \
	"{\"id\":11,\"type\":\"scheduled\",\"note\":\"Daily\",\"created_at\":" \
	"1796529600000},"                                                      \
	"{\"id\":12,\"type\":\"manual\",\"note\":\"kinsta-cron:pre-update:"    \
	"up\","                                                                \
	"\"created_at\":1796400000000},"                                       \
	"{\"id\":13,\"type\":\"manual\",\"note\":\"kinsta-cron:pre-update:"    \
	"up\","                                                                \
	"\"created_at\":1796300000000}]}}"
#define USERS                                                                  \
	"{\"company\":{\"users\":[{\"user\":{\"id\":\"u1\",\"email\":"         \
	"\"a@example.com\"}},{\"user\":{\"id\":\"u2\",\"email\":"              \
	"\"Dev@Example.com\"}}]}}"

static void
test_restore_backup(void)
{
	struct target t = env_target();
	struct kinsta_run run;

	/* pre-update: the newest of kinsta-cron's, the user by e-mail */
	kinsta_run_init(&run, cfg, job("rbpre"), &t);
	CHECK_INT(STEP(&run, "GET", "/sites/environments/" ENV "/backups", NULL,
	               200, BACKUPS),
	          KINSTA_SEND);
	CHECK_INT(
	    STEP(&run, "GET", "/company/" COMPANY "/users", NULL, 200, USERS),
	    KINSTA_SEND);
	CHECK_INT(STEP(&run, "POST",
	               "/sites/environments/" ENV "/backups/restore",
	               "{\"backup_id\":12,\"notified_user_id\":\"u2\"}", 202,
	               OP("backups:restore-1")),
	          KINSTA_FOLLOW);
	CHECK_STR(run.note, "backup 12 (manual \"kinsta-cron:pre-update:up\", "
	                    "2026-12-04T16:00:00Z)");
	CHECK_INT(kinsta_op_done(&run, OPS_SUCCEEDED, "done"), KINSTA_SEND);
	CHECK_INT(kinsta_run_next(&run, &(struct kinsta_request){0}),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_SUCCEEDED);
	kinsta_run_free(&run);

	/* latest: of any kind; no notify_user: the first user */
	kinsta_run_init(&run, cfg, job("rblatest"), &t);
	STEP(&run, "GET", "/sites/environments/" ENV "/backups", NULL, 200,
	     BACKUPS);
	STEP(&run, "GET", "/company/" COMPANY "/users", NULL, 200, USERS);
	CHECK_INT(STEP(&run, "POST",
	               "/sites/environments/" ENV "/backups/restore",
	               "{\"backup_id\":11,\"notified_user_id\":\"u1\"}", 202,
	               OP("backups:restore-2")),
	          KINSTA_FOLLOW);
	kinsta_run_free(&run);

	/* nothing to restore: the run stops before anything changes */
	kinsta_run_init(&run, cfg, job("rbpre"), &t);
	CHECK_INT(STEP(&run, "GET", "/sites/environments/" ENV "/backups", NULL,
	               200, "{\"environment\":{\"backups\":[]}}"),
	          KINSTA_DONE);
	CHECK_INT(run.outcome, KINSTA_FAILED);
	CHECK_STR(run.message,
	          "no kinsta-cron pre-update backup on this environment");
	kinsta_run_free(&run);
}

static void
test_routes(void)
{
	char buf[1024];

	kinsta_job_routes(job("cc"), buf, sizeof(buf));
	CHECK_STR(buf, "POST /sites/tools/clear-cache, GET "
	               "/operations/{operation_id}");
	kinsta_job_routes(job("th"), buf, sizeof(buf));
	CHECK_STR(buf, "GET /sites/environments/{env_id}/themes, PUT "
	               "/sites/environments/{env_id}/themes/bulk-update, GET "
	               "/operations/{operation_id}");
	kinsta_job_routes(job("app"), buf, sizeof(buf));
	CHECK_STR(buf, "POST /applications/deployments, GET "
	               "/applications/deployments/{deployment_id}");
	kinsta_job_routes(job("rep"), buf, sizeof(buf));
	CHECK_STR(buf, "GET /sites, GET /company/{company}/users, GET "
	               "/sites/environments/{env_id}/plugins, GET "
	               "/sites/environments/{env_id}/themes, GET "
	               "/sites/environments/{env_id}/backups");
	kinsta_job_routes(job("treq"), buf, sizeof(buf));
	CHECK_STR(buf, "GET /sites, POST "
	               "/sites/{site_id}/x/{site_name}?e={env_id}, GET "
	               "/operations/{operation_id}");
	kinsta_job_routes(job("rmdom"), buf, sizeof(buf));
	CHECK_STR(buf, "GET /sites/environments/{env_id}/domains, DELETE "
	               "/sites/environments/{env_id}/domains, GET "
	               "/operations/{operation_id}");
	kinsta_job_routes(job("clone"), buf, sizeof(buf));
	CHECK_STR(buf, "GET /sites, POST /sites/clone, GET "
	               "/operations/{operation_id}");
	/* too small: cut, terminated, and the length needed said */
	CHECK_INT(kinsta_job_routes(job("cc"), buf, 10), 61);
	CHECK_STR(buf, "POST /sit");
}

int
main(void)
{
	struct config_errors errs = {0};

	if (config_load_string(conf_text, "test.conf", CONFIG_LOAD_NO_KEYS,
	                       &cfg, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		return 1;
	}
	test_simple_actions();
	test_failures();
	test_backup_rotation();
	test_backup_slots();
	test_thirty_nights();
	test_update_policy();
	test_update_clears_caches_after();
	test_verified_update();
	test_held_and_unhealthy_before();
	test_updates();
	test_fixtures();
	test_select();
	test_report_action();
	test_site_status();
	test_request_templated();
	test_refresh_staging();
	test_clone_and_plain_site();
	test_domains();
	test_fetch_logs();
	test_restore_backup();
	test_routes();
	config_free(cfg);
	return test_report("test_kinsta");
}
