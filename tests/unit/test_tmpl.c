/*
 * Tests for daemon/tmpl.c: which braces are placeholders, the check of
 * the names allowed, and each escape (path, body, file name), with
 * values that need it and results that do not fit.
 */
#include <errno.h>

#include "test.h"
#include "tmpl.h"

static struct tmpl_vars
vars(void)
{
	struct tmpl_vars v = {{NULL}};

	v.v[TMPL_SITE_ID] = "5170e1d0-0000-4000-8000-000000000001";
	v.v[TMPL_SITE_NAME] = "my site/\"quoted\"";
	v.v[TMPL_ENV_ID] = "e0000000-0000-4000-8000-000000000002";
	v.v[TMPL_ENV_NAME] = "live";
	v.v[TMPL_COMPANY] = "c0000000-0000-4000-8000-000000000003";
	return v;
}

static void
test_check(void)
{
	char err[200];

	CHECK_INT(tmpl_check("/sites/{site_id}/environments", TMPL_REQUEST_VARS,
	                     err, sizeof(err)),
	          0);
	/* JSON's own braces are not placeholders */
	CHECK_INT(tmpl_check("{\"a\":{\"b\":1},\"c\":{}}", TMPL_REQUEST_VARS,
	                     err, sizeof(err)),
	          0);
	CHECK_INT(
	    tmpl_check("/sites/{site}/x", TMPL_REQUEST_VARS, err, sizeof(err)),
	    -EINVAL);
	CHECK_STR(err, "{site} is not a placeholder here (one of {site_id} "
	               "{site_name} {env_id} {env_name} {company})");
	/* a known name, but not allowed here */
	CHECK_INT(tmpl_check("/x/{date}", TMPL_REQUEST_VARS, err, sizeof(err)),
	          -EINVAL);
	CHECK(strncmp(err, "{date} is not", 13) == 0);
	CHECK_INT(
	    tmpl_check("logs-{date}.jsonl", TMPL_OUTPUT_VARS, err, sizeof(err)),
	    0);
	CHECK_INT(tmpl_check("logs-{env_id}.jsonl", TMPL_OUTPUT_VARS, err,
	                     sizeof(err)),
	          -EINVAL);
	CHECK_STR(err, "{env_id} is not a placeholder here (one of {date})");
	/* a tiny buffer is still terminated */
	CHECK_INT(tmpl_check("{nope}", TMPL_REQUEST_VARS, err, 8), -EINVAL);
	CHECK_INT((int)strlen(err), 7);
}

static void
test_uses(void)
{
	CHECK_INT(tmpl_uses("/sites/{site_id}/x?c={company}"),
	          TMPL_BIT(TMPL_SITE_ID) | TMPL_BIT(TMPL_COMPANY));
	CHECK_INT(tmpl_uses("{\"environment_id\":\"{env_id}\"}"),
	          TMPL_BIT(TMPL_ENV_ID));
	CHECK_INT(tmpl_uses("/validate"), 0);
	CHECK_INT(tmpl_uses(NULL), 0);
	CHECK_INT(tmpl_uses("{unknown}{}{A}"), 0);
}

static void
test_expand(void)
{
	struct tmpl_vars v = vars();
	char out[256];

	CHECK_INT(tmpl_expand("/sites/{site_id}/environments", &v, TMPL_URL,
	                      out, sizeof(out)),
	          (int)strlen("/sites/5170e1d0-0000-4000-8000-000000000001/"
	                      "environments"));
	CHECK_STR(out, "/sites/5170e1d0-0000-4000-8000-000000000001/"
	               "environments");
	/* a path: the value is one segment, whatever it holds */
	tmpl_expand("/x/{site_name}?company={company}", &v, TMPL_URL, out,
	            sizeof(out));
	CHECK_STR(out, "/x/my%20site%2F%22quoted%22?company="
	               "c0000000-0000-4000-8000-000000000003");
	/* a body: the inside of a JSON string */
	tmpl_expand("{\"n\":\"{site_name}\",\"e\":\"{env_name}\"}", &v,
	            TMPL_JSON, out, sizeof(out));
	CHECK_STR(out, "{\"n\":\"my site/\\\"quoted\\\"\",\"e\":\"live\"}");
	v.v[TMPL_ENV_NAME] = "a\nb\\";
	tmpl_expand("\"{env_name}\"", &v, TMPL_JSON, out, sizeof(out));
	CHECK_STR(out, "\"a\\u000Ab\\\\\"");
	/* a file name: as it is */
	v.v[TMPL_DATE] = "2026-12-06";
	tmpl_expand("/var/log/answers-{date}.jsonl", &v, TMPL_RAW, out,
	            sizeof(out));
	CHECK_STR(out, "/var/log/answers-2026-12-06.jsonl");
	/* text in braces stays */
	tmpl_expand("{}{\"a\":{\"b\":1}}{A}", &v, TMPL_JSON, out, sizeof(out));
	CHECK_STR(out, "{}{\"a\":{\"b\":1}}{A}");
}

static void
test_expand_errors(void)
{
	struct tmpl_vars v = vars();
	char out[16];

	/* too long: cut, terminated, and the length needed said */
	CHECK_INT(
	    tmpl_expand("/sites/{site_id}", &v, TMPL_URL, out, sizeof(out)),
	    7 + 36);
	CHECK_STR(out, "/sites/5170e1d0");
	CHECK_INT(tmpl_expand("/sites/{site_id}", &v, TMPL_URL, NULL, 0),
	          7 + 36);
	CHECK_INT(tmpl_expand("/x/{nope}", &v, TMPL_URL, out, sizeof(out)),
	          -EINVAL);
	/* no target: the target's values are unknown */
	v.v[TMPL_SITE_ID] = NULL;
	CHECK_INT(
	    tmpl_expand("/sites/{site_id}", &v, TMPL_URL, out, sizeof(out)),
	    -ENOENT);
}

int
main(void)
{
	test_check();
	test_uses();
	test_expand();
	test_expand_errors();
	return test_report("test_tmpl");
}
