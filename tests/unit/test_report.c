/*
 * Tests for daemon/report.c: periods, output names, the document from an
 * inventory and history lines, and its HTML and CSV (escaping, quoting).
 */
#include <errno.h>
#include <stdbool.h>

#include "json.h"
#include "report.h"
#include "test.h"
#include "tz.h"

#define NOV_1 1793491200 /* 2026-11-01T00:00:00Z */
#define DEC_1 1796083200 /* 2026-12-01T00:00:00Z */
#define DEC_6 1796534187 /* 2026-12-06T05:16:27Z */

static void
test_periods(void)
{
	struct report_period p;
	struct tz *paris = NULL;
	char err[200];

	CHECK_INT(report_period_parse(&p, "2026-11", NULL, tz_utc(), DEC_6, err,
	                              sizeof(err)),
	          0);
	CHECK_INT(p.from, NOV_1);
	CHECK_INT(p.to, DEC_1);
	CHECK_STR(p.first_day, "2026-11-01");
	CHECK_STR(p.last_day, "2026-11-30");
	CHECK_STR(p.label, "2026-11");
	/* the default is last month; January's is December of the year
	 * before */
	CHECK_INT(report_period_parse(&p, NULL, NULL, tz_utc(), DEC_6, err,
	                              sizeof(err)),
	          0);
	CHECK_STR(p.label, "2026-11");
	CHECK_INT(report_period_parse(&p, "last-month", NULL, tz_utc(),
	                              1768478400 /* 2026-01-15 */, err,
	                              sizeof(err)),
	          0);
	CHECK_STR(p.label, "2025-12");
	CHECK_STR(p.last_day, "2025-12-31");
	CHECK_INT(report_period_parse(&p, "this-month", NULL, tz_utc(), DEC_6,
	                              err, sizeof(err)),
	          0);
	CHECK_STR(p.label, "2026-12");
	/* since wins over period */
	CHECK_INT(report_period_parse(&p, "2026-11", "30d", tz_utc(), DEC_6,
	                              err, sizeof(err)),
	          0);
	CHECK_INT(p.to, DEC_6);
	CHECK_INT(p.from, DEC_6 - 30 * 86400);
	CHECK_STR(p.label, "30d");
	CHECK_STR(p.first_day, "2026-11-06");
	CHECK_STR(p.last_day, "2026-12-06");
	/* bad values say what they should be */
	CHECK_INT(report_period_parse(&p, "2026-13", NULL, tz_utc(), DEC_6, err,
	                              sizeof(err)),
	          -EINVAL);
	CHECK(strstr(err, "like \"2026-11\"") != NULL);
	CHECK_INT(report_period_parse(&p, NULL, "0d", tz_utc(), DEC_6, err,
	                              sizeof(err)),
	          -EINVAL);
	CHECK(report_since_check("367d") != NULL);
	CHECK(report_since_check("30") != NULL);
	CHECK(report_since_check("d") != NULL);
	CHECK(report_since_check("366d") == NULL);
	CHECK(report_period_check("Nov") != NULL);
	CHECK(report_period_check("2026-1") != NULL);
	CHECK(report_period_check("1999-01") != NULL);
	/* a month in a zone: local midnights, across the spring change */
	if (tz_load(&paris, "Europe/Paris", err, sizeof(err)) == 0) {
		CHECK_INT(report_period_parse(&p, "2026-03", NULL, paris, DEC_6,
		                              err, sizeof(err)),
		          0);
		CHECK_INT(p.from, 1772319600); /* 2026-02-28T23:00:00Z */
		CHECK_INT(p.to, 1774994400);   /* 2026-03-31T22:00:00Z */
		CHECK_STR(p.first_day, "2026-03-01");
		CHECK_STR(p.last_day, "2026-03-31");
		tz_free(paris);
	}
}

static void
test_formats_and_paths(void)
{
	char buf[64];

	CHECK_INT(report_format_parse("html"), REPORT_HTML);
	CHECK_INT(report_format_parse("csv"), REPORT_CSV);
	CHECK_INT(report_format_parse(NULL), REPORT_JSON);
	CHECK_INT(report_format_parse("pdf"), -EINVAL);
	CHECK_STR(report_format_ext(REPORT_CSV), "csv");
	CHECK_INT(report_output_path(buf, sizeof(buf),
	                             "/r/{client}-{date}.html", "acme",
	                             "2026-12-01", "2026-11"),
	          23);
	CHECK_STR(buf, "/r/acme-2026-12-01.html");
	/* a client name stays one file name */
	report_output_path(buf, sizeof(buf), "/r/{client}/{period}", "../a/b",
	                   "d", "2026-11");
	CHECK_STR(buf, "/r/_._a_b/2026-11");
	CHECK_INT(report_output_path(buf, sizeof(buf), "/r/{customer}", "a",
	                             "d", "p"),
	          -EINVAL);
	/* truncated, terminated, the length it needs */
	CHECK_INT(report_output_path(buf, 5, "abcdefgh", "a", "d", "p"), 8);
	CHECK_STR(buf, "abcd");
}

static const char inventory[] =
    "{\"job\":\"r\",\"company\":\"c-1\",\"sites\":[{\"id\":\"s1\","
    "\"name\":\"shop\",\"display_name\":\"<b>Tom & \\\"Jerry's\\\", "
    "Inc</b>\",\"labels\":[\"client-a\"],\"environments\":[{\"id\":\"e1\","
    "\"name\":\"live\",\"php\":\"php8.3\",\"wordpress\":\"6.7\","
    "\"primary_domain\":\"shop.example\",\"domains\":[\"shop.example\","
    "\"shop.kinsta.cloud\"]},{\"id\":\"e2\",\"name\":\"staging\"}]}],"
    "\"users\":[],\"environments\":[{\"id\":\"e1\",\"plugin_updates\":[{"
    "\"name\":\"akismet\",\"version\":\"5.3\",\"update_version\":"
    "\"5.3.1\"}],\"theme_updates\":[],\"backups\":2,\"latest_backup_ms\":"
    "1793500000000,\"backup_list\":[{\"id\":7,\"name\":\"b7\",\"type\":"
    "\"manual\",\"created_ms\":1793500000000}],\"usage\":{\"visits\":{"
    "\"total\":30,\"days\":[{\"date\":\"2026-11-02\",\"value\":10},{"
    "\"date\":\"2026-11-03\",\"value\":20},{\"date\":\"2026-10-31\","
    "\"value\":99}]},\"bandwidth\":{\"total\":5000,\"days\":[]},"
    "\"cdn_bandwidth\":{\"error\":\"Not available\"}}},{\"id\":\"e2\","
    "\"plugin_updates\":[],\"theme_updates\":[],\"backups\":0,"
    "\"backup_list\":[]}]}";

/* What a site's owner may type, as a spreadsheet would read it. */
static const char formula_inventory[] =
    "{\"job\":\"r\",\"company\":\"c-1\",\"sites\":[{\"id\":\"s1\","
    "\"name\":\"shop\",\"display_name\":\"=HYPERLINK(\\\"http://"
    "x.example\\\")\",\"labels\":[\"client-a\"],\"environments\":[{"
    "\"id\":\"e1\",\"name\":\"@SUM(1+1)\",\"php\":\"+cmd\","
    "\"wordpress\":\"6.7\",\"primary_domain\":\"-2+3\",\"domains\":"
    "[]}]}],\"users\":[],\"environments\":[]}";

/* Nov 2 03:00 update (details with before/after), Nov 3 a failed backup,
 * Nov 4 the same backup succeeds, Oct 31 (out), another environment
 * (out), a torn line, a clear-cache that timed out. */
static const char history[] =
    "{\"job\":\"upd\",\"action\":\"update-plugins\",\"env_id\":\"e1\","
    "\"outcome\":\"succeeded\",\"start_ms\":1793588400000,\"details\":{"
    "\"updates\":[{\"name\":\"jetpack\",\"before\":\"13.0\",\"after\":"
    "\"13.1\"}]}}\n"
    "{\"job\":\"bk\",\"action\":\"backup\",\"env_id\":\"e1\",\"outcome\":"
    "\"failed\",\"message\":\"slots <full>\",\"start_ms\":1793674800000}\n"
    "{\"job\":\"bk\",\"action\":\"backup\",\"env_id\":\"e1\",\"outcome\":"
    "\"succeeded\",\"start_ms\":1793761200000}\n"
    "{\"job\":\"bk\",\"action\":\"backup\",\"env_id\":\"e1\",\"outcome\":"
    "\"succeeded\",\"start_ms\":1793400000000}\n"
    "{\"job\":\"bk\",\"action\":\"backup\",\"env_id\":\"zz\",\"outcome\":"
    "\"succeeded\",\"start_ms\":1793761200000}\n"
    "{\"job\":\"bk\",\"act\n"
    "{\"job\":\"cc\",\"action\":\"clear-cache\",\"env_id\":\"e2\","
    "\"outcome\":\"timed-out\",\"start_ms\":1793761300000}";

static int
build(char **doc, size_t *len, const char *inv, const char *hist)
{
	static struct report_period p;
	const char *invs[1] = {inv};
	size_t lens[1] = {strlen(inv)};
	const char *accounts[1] = {"acme"};
	struct report_input in = {.inventories = invs,
	                          .inventory_lens = lens,
	                          .accounts = accounts,
	                          .ninventories = 1,
	                          .history = hist,
	                          .history_len = hist ? strlen(hist) : 0,
	                          .job = "monthly",
	                          .client = "client-a",
	                          .client_label = "client-a",
	                          .period = &p,
	                          .zone = tz_utc(),
	                          .now = DEC_6};
	char err[200];

	report_period_parse(&p, "2026-11", NULL, tz_utc(), DEC_6, err,
	                    sizeof(err));
	return report_build(&in, doc, len, err, sizeof(err));
}

static void
test_document(void)
{
	yajl_val v = NULL, work, env, s;
	char *doc = NULL, err[200];
	size_t len;
	int64_t n = -1;

	CHECK_INT(build(&doc, &len, inventory, history), 0);
	CHECK(doc != NULL &&
	      json_parse(&v, doc, len, NULL, err, sizeof(err)) == 0);
	CHECK_STR(json_str(v, "schema", NULL), "kinsta-cron.report/1");
	CHECK_STR(json_str(v, "generated", NULL), "2026-12-06T05:16:27Z");
	CHECK_STR(json_str(v, "period", "zone", NULL), "UTC");
	s = json_obj(v, "summary", NULL);
	json_int(s, &n, "runs", NULL);
	CHECK_INT(n, 4); /* Oct 31, the other environment, the torn line: out */
	json_int(s, &n, "updates_applied", NULL);
	CHECK_INT(n, 1);
	json_int(s, &n, "backups_taken", NULL);
	CHECK_INT(n, 1);
	json_int(s, &n, "failures_unresolved", NULL);
	CHECK_INT(n, 1); /* the clear-cache; the backup succeeded later */
	json_int(s, &n, "visits", NULL);
	CHECK_INT(n, 30);
	json_int(s, &n, "cdn_bandwidth_bytes", NULL);
	CHECK_INT(n, 0);
	json_int(s, &n, "environments", NULL);
	CHECK_INT(n, 2);
	work = json_arr(v, "work", NULL);
	CHECK_INT(json_arr_len(work), 4);
	CHECK_STR(json_str(json_arr_at(work, 0), "kind", NULL), "update");
	CHECK_STR(
	    json_str(
	        json_arr_at(json_arr(json_arr_at(work, 0), "updates", NULL), 0),
	        "from", NULL),
	    "13.0");
	CHECK_STR(
	    json_str(
	        json_arr_at(json_arr(json_arr_at(work, 0), "updates", NULL), 0),
	        "to", NULL),
	    "13.1");
	CHECK_STR(json_str(json_arr_at(work, 1), "resolution", NULL),
	          "succeeded-later");
	CHECK_STR(json_str(json_arr_at(work, 1), "resolved_at", NULL),
	          "2026-11-04T03:00:00Z");
	CHECK_STR(json_str(json_arr_at(work, 3), "resolution", NULL),
	          "not-run-again");
	CHECK(json_is_null(json_arr_at(work, 2), "resolution", NULL));
	env = json_arr_at(json_arr(json_arr_at(json_arr(v, "sites", NULL), 0),
	                           "environments", NULL),
	                  0);
	CHECK_STR(json_str(env, "usage_error", NULL), "Not available");
	CHECK(json_is_null(env, "usage", "cdn_bandwidth_bytes", NULL));
	json_int(env, &n, "usage", "bandwidth_bytes", NULL);
	CHECK_INT(n, 5000);
	CHECK_STR(json_str(env, "latest_backup", NULL), "2026-11-01T02:26:40Z");
	/* days: 30 of them; the 2nd has the update and 10 visits; a day
	 * outside the period is not counted */
	CHECK_INT(json_arr_len(json_arr(v, "days", NULL)), 30);
	json_int(json_arr_at(json_arr(v, "days", NULL), 1), &n, "visits", NULL);
	CHECK_INT(n, 10);
	json_int(json_arr_at(json_arr(v, "days", NULL), 1), &n, "succeeded",
	         NULL);
	CHECK_INT(n, 1);
	json_int(json_arr_at(json_arr(v, "days", NULL), 3), &n, "timed_out",
	         NULL);
	CHECK_INT(n, 1);
	json_free(v);
	free(doc);
}

static void
test_renderings(void)
{
	char *doc = NULL, *out = NULL, err[200];
	size_t len, olen;

	CHECK_INT(build(&doc, &len, inventory, history), 0);
	CHECK_INT(
	    report_render(REPORT_HTML, doc, len, &out, &olen, err, sizeof(err)),
	    0);
	CHECK(out != NULL && strlen(out) == olen);
	if (out != NULL) {
		CHECK(strstr(out, "<!DOCTYPE html>") == out);
		CHECK(strstr(out, "&lt;b&gt;Tom &amp; &quot;Jerry&#39;s&quot;, "
		                  "Inc&lt;/b&gt;") != NULL);
		CHECK(strstr(out, "<b>Tom") == NULL);
		CHECK(strstr(out, "slots &lt;full&gt;") != NULL);
		CHECK(strstr(out, "jetpack 13.0 &rarr; 13.1") != NULL);
		CHECK(strstr(out, "<svg") != NULL);
		CHECK(strstr(out, "@media print") != NULL);
		CHECK(strstr(out, "<script") == NULL);
	}
	free(out);
	CHECK_INT(
	    report_render(REPORT_CSV, doc, len, &out, &olen, err, sizeof(err)),
	    0);
	if (out != NULL) {
		const char *row = strstr(out, "\r\n");

		CHECK(strncmp(out, "client,account,site,display_name,", 33) ==
		      0);
		CHECK(
		    row != NULL &&
		    strncmp(row + 2,
		            "client-a,acme,shop,\"<b>Tom & \"\"Jerry's\"\", "
		            "Inc</b>\",live staging,shop.example,"
		            "shop.example shop.kinsta.cloud,6.7,php8.3,1,0,4,",
		            117) == 0);
		CHECK(olen >= 2 && strcmp(out + olen - 2, "\r\n") == 0);
	}
	free(out);
	CHECK_INT(
	    report_render(REPORT_JSON, doc, len, &out, &olen, err, sizeof(err)),
	    0);
	CHECK_INT(olen, len + 1);
	free(out);
	free(doc);
	/* cells a spreadsheet would run as formulas are text */
	CHECK_INT(build(&doc, &len, formula_inventory, NULL), 0);
	out = NULL;
	CHECK_INT(
	    report_render(REPORT_CSV, doc, len, &out, &olen, err, sizeof(err)),
	    0);
	if (out != NULL) {
		CHECK(strstr(out, ",\"'=HYPERLINK(\"\"http://x.example\"\")\","
		                  "\"'@SUM(1+1)\",\"'-2+3\",,6.7,\"'+cmd\",") !=
		      NULL);
		CHECK(strstr(out, ",=") == NULL && strstr(out, ",@") == NULL);
	}
	free(out);
	free(doc);
	CHECK_INT(
	    report_render(REPORT_HTML, "{", 1, &out, &olen, err, sizeof(err)),
	    -EINVAL);
	CHECK(out == NULL);
}

static void
test_bad_and_empty_input(void)
{
	char *doc = NULL;
	size_t len;
	yajl_val v = NULL;
	char err[200];

	CHECK_INT(build(&doc, &len, "{\"sites\":", NULL), -EINVAL);
	CHECK(doc == NULL);
	/* no sites, no history: a report that says so */
	CHECK_INT(build(&doc, &len, "{\"company\":\"c\",\"sites\":[]}", NULL),
	          0);
	CHECK(doc != NULL &&
	      json_parse(&v, doc, len, NULL, err, sizeof(err)) == 0);
	CHECK_INT(json_arr_len(json_arr(v, "sites", NULL)), 0);
	CHECK(json_is_null(v, "summary", "visits", NULL));
	json_free(v);
	free(doc);
}

int
main(void)
{
	test_periods();
	test_formats_and_paths();
	test_document();
	test_renderings();
	test_bad_and_empty_input();
	return test_report("test_report");
}
