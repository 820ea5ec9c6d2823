/*
 * Tests for daemon/action.c: the registry's invariants (names, steps,
 * parameters, defaults, targets, limits), its lookups and listing, and the
 * parameter checks reached through the registry's own entries.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "action.h"
#include "method.h"
#include "test.h"

static void
test_names(void)
{
	for (int i = 0; i < ACTION_COUNT; i++) {
		const struct action *a = action_get((enum action_id)i);

		CHECK(a != NULL);
		if (a == NULL)
			continue;
		CHECK(a->name != NULL && a->name[0] != '\0');
		if (a->name == NULL)
			continue;
		for (int j = 0; j < i; j++)
			if (strcmp(action_name((enum action_id)j), a->name) ==
			    0) {
				fprintf(stderr, "duplicate action name %s\n",
				        a->name);
				CHECK(!"action names are unique");
			}
		/* round trip both ways */
		CHECK_INT(action_find(a->name), i);
		CHECK_STR(action_name((enum action_id)i), a->name);
		CHECK(action_name((enum action_id)i) == a->name);
	}
	/* the daemon's own action is in the registry, not in the language */
	CHECK(action_get(ACTION_SITE_STATUS) != NULL);
	CHECK_STR(action_name(ACTION_SITE_STATUS), "site-status");
	CHECK(action_find("site-status") == -ENOENT);
	CHECK(!action_param_known("site_name"));
	CHECK(action_get(ACTION_ALL) == NULL);
	CHECK(action_get((enum action_id) - 1) == NULL);
	CHECK_STR(action_name(ACTION_ALL), "?");
	CHECK_STR(action_name((enum action_id) - 1), "?");

	CHECK_INT(action_find("clear-cache"), ACTION_CLEAR_CACHE);
	CHECK_INT(action_find("request"), ACTION_REQUEST);
	CHECK_INT(action_find("no-such-action"), -ENOENT);
	CHECK_INT(action_find(""), -ENOENT);
	CHECK_INT(action_find("Clear-Cache"), -ENOENT);
	CHECK_INT(action_find("clear-cache "), -ENOENT);
	CHECK_INT(action_find("clear"), -ENOENT);
	CHECK_INT(action_find("?"), -ENOENT);
}

static void
test_steps(void)
{
	for (int i = 0; i < ACTION_COUNT; i++) {
		const struct action *a = action_get((enum action_id)i);
		int end = -1;

		CHECK(a->steps[0] != STEP_END);
		for (int s = 0; s < ACTION_MAX_STEPS + 1; s++)
			if (a->steps[s] == STEP_END) {
				end = s;
				break;
			}
		if (end < 0) {
			fprintf(stderr, "%s: no STEP_END\n", a->name);
			CHECK(!"step list ends with STEP_END");
			continue;
		}
		CHECK(end >= 1 && end <= ACTION_MAX_STEPS);
		for (int s = 0; s < end; s++)
			CHECK(a->steps[s] > STEP_END &&
			      a->steps[s] < STEP_COUNT);
		/* a step shared by two actions tells them apart by variant */
		for (int s = 0; s < end; s++)
			if (a->steps[s] == STEP_LIST_EXT ||
			    a->steps[s] == STEP_UPDATE_EXT ||
			    a->steps[s] == STEP_DEPLOY)
				CHECK(a->variant != NULL &&
				      a->variant[0] != '\0');
	}
	CHECK_STR(action_get(ACTION_UPDATE_PLUGINS)->variant, "plugins");
	CHECK_STR(action_get(ACTION_UPDATE_THEMES)->variant, "themes");
	CHECK_STR(action_get(ACTION_DEPLOY_APP)->variant, "applications");
	CHECK_STR(action_get(ACTION_DEPLOY_STATIC_SITE)->variant,
	          "static-sites");
}

static bool
in_choices(const char *const *choices, const char *v)
{
	for (; *choices != NULL; choices++)
		if (strcmp(*choices, v) == 0)
			return true;
	return false;
}

static bool
parse_int(const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno == 0 && end != s && *end == '\0';
}

/* One parameter's own consistency. */
static void
check_param(const struct action *a, const struct action_param *p)
{
	CHECK(p->name != NULL && p->name[0] != '\0');
	CHECK(p->type >= ACTION_PARAM_STRING && p->type <= ACTION_PARAM_ENUM);
	if (p->required && p->def != NULL) {
		fprintf(stderr, "%s.%s: required with default \"%s\"\n",
		        a->name, p->name, p->def);
		CHECK(!"a required parameter has no default");
	}
	if (p->type == ACTION_PARAM_ENUM)
		CHECK(p->choices != NULL && p->choices[0] != NULL);
	if (p->type == ACTION_PARAM_INT)
		CHECK(p->min <= p->max);
	if (p->type == ACTION_PARAM_UUID)
		CHECK(p->def == NULL);
	if (p->def == NULL)
		return;
	switch (p->type) {
	case ACTION_PARAM_STRING:
		if (p->check != NULL && p->check(p->def) != NULL) {
			fprintf(stderr, "%s.%s: default \"%s\" %s\n", a->name,
			        p->name, p->def, p->check(p->def));
			CHECK(!"a STRING default passes its check");
		}
		break;
	case ACTION_PARAM_BOOL:
		CHECK(strcmp(p->def, "true") == 0 ||
		      strcmp(p->def, "false") == 0);
		break;
	case ACTION_PARAM_INT: {
		long long v;

		CHECK(parse_int(p->def, &v));
		CHECK(v >= p->min && v <= p->max);
		break;
	}
	case ACTION_PARAM_ENUM:
		CHECK(p->choices != NULL && in_choices(p->choices, p->def));
		break;
	case ACTION_PARAM_LIST:
		CHECK(p->def[0] != '\0');
		break;
	case ACTION_PARAM_UUID:
		break;
	}
}

static void
test_params(void)
{
	int with_default = 0;

	for (int i = 0; i < ACTION_COUNT; i++) {
		const struct action *a = action_get((enum action_id)i);

		CHECK((a->params == NULL) == (a->nparams == 0));
		for (size_t k = 0; k < a->nparams; k++) {
			const struct action_param *p = &a->params[k];

			check_param(a, p);
			with_default += p->def != NULL;
			for (size_t j = 0; j < k; j++)
				CHECK(strcmp(a->params[j].name, p->name) != 0);
			/* each entry is found under its own name */
			CHECK(action_param_find(a, p->name) == p);
			CHECK(action_param_known(p->name));
		}
		CHECK(action_param_find(a, "no_such_param") == NULL);
		CHECK(action_param_find(a, "") == NULL);
	}
	/* the loop above did look at defaults */
	CHECK(with_default >= 10);

	/* a few entries by hand */
	{
		const struct action *php = action_get(ACTION_SET_PHP_VERSION);
		const struct action *req = action_get(ACTION_REQUEST);
		const struct action *site = action_get(ACTION_CREATE_SITE);
		const struct action_param *p;

		p = action_param_find(php, "php_version");
		CHECK(p != NULL && p->required && p->def == NULL);
		p = action_param_find(req, "method");
		CHECK(p != NULL && p->type == ACTION_PARAM_ENUM);
		if (p != NULL) {
			CHECK(p->choices == method_names);
			CHECK_STR(p->def, "GET");
		}
		p = action_param_find(site, "install_mode");
		CHECK(p != NULL && p->choices != NULL);
		if (p != NULL && p->choices != NULL) {
			CHECK(in_choices(p->choices, "new"));
			CHECK(in_choices(p->choices, "plain"));
			CHECK(in_choices(p->choices, "clone"));
			CHECK(!in_choices(p->choices, "New"));
		}
		p = action_param_find(action_get(ACTION_BACKUP), "keep");
		CHECK(p != NULL && p->type == ACTION_PARAM_INT);
		if (p != NULL) {
			CHECK_INT(p->min, 0);
			CHECK_INT(p->max, 100);
		}
		p = action_param_find(action_get(ACTION_DEPLOY_APP), "app_id");
		CHECK(p != NULL && p->type == ACTION_PARAM_UUID && p->required);
		/* a parameter of one action is not another's */
		CHECK(action_param_find(php, "path") == NULL);
		CHECK(action_param_find(action_get(ACTION_CLEAR_CACHE),
		                        "php_version") == NULL);
	}

	CHECK(action_param_known("php_version"));
	CHECK(action_param_known("keep"));
	CHECK(action_param_known("command"));
	CHECK(action_param_known("path"));
	CHECK(action_param_known("body"));
	CHECK(action_param_known("admin_email"));
	CHECK(action_param_known("static_site_id"));
	CHECK(!action_param_known("no_such_param"));
	CHECK(!action_param_known(""));
	CHECK(!action_param_known("PHP_VERSION"));
	CHECK(!action_param_known("php-version"));
	CHECK(!action_param_known("schedule"));
	CHECK(!action_param_known("action"));
}

static void
test_targets_and_limits(void)
{
	for (int i = 0; i < ACTION_COUNT; i++) {
		const struct action *a = action_get((enum action_id)i);

		CHECK(a->target == ACTION_TARGET_NONE ||
		      a->target == ACTION_TARGET_REQUIRED ||
		      a->target == ACTION_TARGET_OPTIONAL);
		if (a->target == ACTION_TARGET_NONE && a->listing) {
			fprintf(stderr, "%s: listing without targets\n",
			        a->name);
			CHECK(!"a company-wide action needs no listing");
		}
		CHECK(a->limit_s > 0);
	}
	CHECK_INT(action_get(ACTION_CREATE_SITE)->target, ACTION_TARGET_NONE);
	CHECK_INT(action_get(ACTION_REQUEST)->target, ACTION_TARGET_OPTIONAL);
	CHECK_INT(action_get(ACTION_CLEAR_CACHE)->target,
	          ACTION_TARGET_REQUIRED);
	CHECK(action_get(ACTION_CLEAR_CDN_CACHE)->listing);
	CHECK(action_get(ACTION_PUSH_ENVIRONMENT)->listing);
}

static void
test_list(void)
{
	char want[1024], buf[1100];
	size_t wlen = 0;
	int n;

	want[0] = '\0';
	for (int i = 0; i < ACTION_COUNT; i++) {
		int w = snprintf(want + wlen, sizeof(want) - wlen, "%s%s",
		                 i ? ", " : "", action_name((enum action_id)i));

		CHECK(w > 0 && (size_t)w < sizeof(want) - wlen);
		wlen += (size_t)w;
	}
	CHECK(strncmp(want, "clear-cache, clear-edge-cache, ", 31) == 0);
	CHECK(strstr(want, ", report, request") != NULL);

	n = action_list(buf, sizeof(buf));
	CHECK_INT(n, wlen);
	CHECK_STR(buf, want);
	CHECK_INT(action_list(NULL, 0), wlen);

	/* every size from 0 to one past the whole: snprintf's semantics,
	 * and never a byte past len */
	for (size_t len = 0; len <= wlen + 2; len++) {
		memset(buf, 'X', sizeof(buf));
		n = action_list(buf, len);
		CHECK_INT(n, wlen);
		if (len > 0) {
			size_t keep = len - 1 < wlen ? len - 1 : wlen;

			CHECK(memcmp(buf, want, keep) == 0);
			CHECK_INT(buf[keep], '\0');
		}
		for (size_t k = len; k < len + 8; k++)
			if (buf[k] != 'X') {
				fprintf(stderr, "len %zu: byte %zu written\n",
				        len, k);
				CHECK(!"action_list writes within len");
				break;
			}
	}
}

/* The check of action id's parameter name applied to v. */
static const char *
check_of(enum action_id id, const char *name, const char *v)
{
	const struct action_param *p = action_param_find(action_get(id), name);

	CHECK(p != NULL && p->check != NULL);
	if (p == NULL || p->check == NULL)
		return "(no such check)";
	return p->check(v);
}

#define OK(id, name, v)  CHECK(check_of(id, name, v) == NULL)
#define BAD(id, name, v) CHECK(check_of(id, name, v) != NULL)

static void
test_param_checks(void)
{
	char cmd[5100];

	/* php_version: digits '.' digits, nothing else */
	OK(ACTION_SET_PHP_VERSION, "php_version", "8.3");
	OK(ACTION_SET_PHP_VERSION, "php_version", "7.4");
	OK(ACTION_SET_PHP_VERSION, "php_version", "10.12");
	BAD(ACTION_SET_PHP_VERSION, "php_version", "8");
	BAD(ACTION_SET_PHP_VERSION, "php_version", "8.");
	BAD(ACTION_SET_PHP_VERSION, "php_version", ".3");
	BAD(ACTION_SET_PHP_VERSION, "php_version", "8.3.1");
	BAD(ACTION_SET_PHP_VERSION, "php_version", "");
	BAD(ACTION_SET_PHP_VERSION, "php_version", "8,3");
	BAD(ACTION_SET_PHP_VERSION, "php_version", "v8.3");
	BAD(ACTION_SET_PHP_VERSION, "php_version", "8.3 ");
	BAD(ACTION_SET_PHP_VERSION, "php_version", " 8.3");
	BAD(ACTION_SET_PHP_VERSION, "php_version", "8.x");

	/* wp-cli: "wp", white space, a command of the API's characters */
	OK(ACTION_RUN_WP_CLI, "command", "wp cache flush");
	OK(ACTION_RUN_WP_CLI, "command", "wp  plugin list --status=active");
	OK(ACTION_RUN_WP_CLI, "command", "wp\tcli version");
	OK(ACTION_RUN_WP_CLI, "command",
	   "wp search-replace 'http://a.test' 'https://a.test' --dry-run");
	OK(ACTION_RUN_WP_CLI, "command", "wp user get admin@example.com");
	OK(ACTION_RUN_WP_CLI, "command", "wp option get home_url");
	BAD(ACTION_RUN_WP_CLI, "command", "");
	BAD(ACTION_RUN_WP_CLI, "command", "w");
	BAD(ACTION_RUN_WP_CLI, "command", "wp");
	BAD(ACTION_RUN_WP_CLI, "command", "wp ");
	BAD(ACTION_RUN_WP_CLI, "command", "wp   \t ");
	BAD(ACTION_RUN_WP_CLI, "command", "wpcli version");
	BAD(ACTION_RUN_WP_CLI, "command", "WP cache flush");
	BAD(ACTION_RUN_WP_CLI, "command", " wp cache flush");
	BAD(ACTION_RUN_WP_CLI, "command", "cache flush");
	BAD(ACTION_RUN_WP_CLI, "command", "wp cache flush; rm -rf /");
	BAD(ACTION_RUN_WP_CLI, "command", "wp eval \"echo 1\"");
	BAD(ACTION_RUN_WP_CLI, "command", "wp plugin list | head");
	BAD(ACTION_RUN_WP_CLI, "command", "wp $(id)");
	BAD(ACTION_RUN_WP_CLI, "command", "wp cache flush && reboot");
	BAD(ACTION_RUN_WP_CLI, "command", "wp option get caf\xc3\xa9");
	/* 5000 characters is the API's limit */
	memcpy(cmd, "wp ", 3);
	memset(cmd + 3, 'a', 4997);
	cmd[5000] = '\0';
	OK(ACTION_RUN_WP_CLI, "command", cmd);
	cmd[5000] = 'a';
	cmd[5001] = '\0';
	BAD(ACTION_RUN_WP_CLI, "command", cmd);

	/* request path: under api.url, no white space */
	OK(ACTION_REQUEST, "path", "/sites");
	OK(ACTION_REQUEST, "path", "/sites?company=abc&include_environments=1");
	OK(ACTION_REQUEST, "path", "/");
	BAD(ACTION_REQUEST, "path", "");
	BAD(ACTION_REQUEST, "path", "sites");
	BAD(ACTION_REQUEST, "path", "/a b");
	BAD(ACTION_REQUEST, "path", "/a\tb");
	BAD(ACTION_REQUEST, "path", "/sites\n");
	BAD(ACTION_REQUEST, "path", "https://api.kinsta.com/v2/sites");

	/* request body: JSON */
	OK(ACTION_REQUEST, "body", "{}");
	OK(ACTION_REQUEST, "body", "{\"a\":1,\"b\":[true,null,\"x\"]}");
	OK(ACTION_REQUEST, "body", "[1, 2]");
	BAD(ACTION_REQUEST, "body", "");
	BAD(ACTION_REQUEST, "body", "{");
	BAD(ACTION_REQUEST, "body", "{'a':1}");
	BAD(ACTION_REQUEST, "body", "{\"a\":}");
	BAD(ACTION_REQUEST, "body", "{\"a\":1} trailing");
	BAD(ACTION_REQUEST, "body", "nul");

	/* edge-cache url: http or https */
	OK(ACTION_CLEAR_EDGE_CACHE, "url", "https://example.com/");
	OK(ACTION_CLEAR_EDGE_CACHE, "url", "http://example.com/a?b=c");
	BAD(ACTION_CLEAR_EDGE_CACHE, "url", "");
	BAD(ACTION_CLEAR_EDGE_CACHE, "url", "example.com");
	BAD(ACTION_CLEAR_EDGE_CACHE, "url", "ftp://example.com/");
	BAD(ACTION_CLEAR_EDGE_CACHE, "url", "https:/example.com");
	BAD(ACTION_CLEAR_EDGE_CACHE, "url", "//example.com/");

	/* create-site */
	OK(ACTION_CREATE_SITE, "admin_email", "admin@example.com");
	BAD(ACTION_CREATE_SITE, "admin_email", "admin.example.com");
	BAD(ACTION_CREATE_SITE, "admin_email", "");
	OK(ACTION_CREATE_SITE, "display_name", "x");
	BAD(ACTION_CREATE_SITE, "display_name", "");
	BAD(ACTION_CREATE_SITE, "wp_language", "");
	BAD(ACTION_PUSH_ENVIRONMENT, "source", "");
	OK(ACTION_PUSH_ENVIRONMENT, "target", "live");
}

int
main(void)
{
	test_names();
	test_steps();
	test_params();
	test_targets_and_limits();
	test_list();
	test_param_checks();
	return test_report("test_action");
}
