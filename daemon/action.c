/*
 * action: the registry.  The parameter checks are here because a check is
 * part of what a parameter is: config applies them, and a fuzzer or a
 * test can apply them without loading a file.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "action.h"
#include "json.h"
#include "method.h"
#include "tmpl.h"
#include "report.h"

/* The API's limit on a wp-cli command line. */
#define MAX_WP_CLI_COMMAND 5000

static const char *
check_php_version(const char *v)
{
	const char *p = v;

	while (isdigit((unsigned char)*p))
		p++;
	if (p == v || *p++ != '.' || !isdigit((unsigned char)*p))
		return "must be a version like \"8.3\"";
	while (isdigit((unsigned char)*p))
		p++;
	return *p ? "must be a version like \"8.3\"" : NULL;
}

/* The API's own pattern: ^wp\s+[a-zA-Z0-9_\-./:=@'\s]+$ */
static const char *
check_wp_command(const char *v)
{
	const char *p;

	if (strncmp(v, "wp", 2) != 0 || !isspace((unsigned char)v[2]))
		return "must start with \"wp \"";
	p = v + 2;
	if (strlen(v) > MAX_WP_CLI_COMMAND)
		return "is longer than 5000 characters";
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return "names no wp-cli command";
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) &&
		    !isspace((unsigned char)*p) &&
		    strchr("_-./:=@'", *p) == NULL)
			return "may contain only letters, digits, spaces and "
			       "_-./:=@' (the API refuses anything else)";
	return NULL;
}

static const char *
check_http_url(const char *v)
{
	if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0)
		return "must be an http:// or https:// URL";
	return NULL;
}

/* What is wrong with a placeholder, for the check that found it: config
 * is loaded on one thread, and reads the message before the next check. */
static char placeholder_msg[200];

static const char *
check_placeholders(const char *v, unsigned allowed)
{
	char err[sizeof(placeholder_msg) - 8];

	if (tmpl_check(v, allowed, err, sizeof(err)) == 0)
		return NULL;
	snprintf(placeholder_msg, sizeof(placeholder_msg), "uses %s", err);
	return placeholder_msg;
}

static const char *
check_api_path(const char *v)
{
	const char *p;

	if (v[0] != '/')
		return "must start with \"/\" (a path under api.url)";
	for (p = v; *p; p++)
		if (isspace((unsigned char)*p))
			return "must not contain spaces";
	return check_placeholders(v, TMPL_REQUEST_VARS);
}

static const char *
check_json(const char *v)
{
	yajl_val tree;
	char err[160];

	if (json_parse(&tree, v, strlen(v), NULL, err, sizeof(err)) < 0)
		return "is not valid JSON";
	json_free(tree);
	return check_placeholders(v, TMPL_REQUEST_VARS);
}

/* A file the answers are appended to; {date} is the day of the run. */
static const char *
check_output(const char *v)
{
	if (v[0] == '\0')
		return "is empty";
	return check_placeholders(v, TMPL_OUTPUT_VARS);
}

/* restore-backup's backup: "latest", "pre-update" or a backup id. */
static const char *
check_backup_choice(const char *v)
{
	const char *p = v;

	if (strcmp(v, "latest") == 0 || strcmp(v, "pre-update") == 0)
		return NULL;
	while (isdigit((unsigned char)*p))
		p++;
	if (p == v || *p != '\0' || p - v > 18 || v[0] == '0')
		return "must be \"latest\", \"pre-update\" or a backup id "
		       "(a number)";
	return NULL;
}

/* A host name as Kinsta takes it: letters, digits, dots and dashes, an
 * optional leading "*." (wildcard); no scheme, port or path. */
static const char *
check_domain(const char *v)
{
	const char *p = strncmp(v, "*.", 2) == 0 ? v + 2 : v;

	if (*p == '\0' || *p == '.' || strlen(v) > 253)
		return "must be a domain name like \"shop.example.com\"";
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			return "must be a domain name like "
			       "\"shop.example.com\" (no scheme, port or "
			       "path)";
	return strchr(v, '.') == NULL ? "must be a domain name like "
	                                "\"shop.example.com\""
	                              : NULL;
}

static const char *
check_nonempty(const char *v)
{
	return v[0] == '\0' ? "is empty" : NULL;
}

static const char *
check_email(const char *v)
{
	return strchr(v, '@') == NULL ? "is not an e-mail address" : NULL;
}

/* verify.base_url: a URL, where {domain}, {site_name} and {env_name}
 * stand for the environment's own */
static const char *
check_base_url(const char *v)
{
	return check_http_url(v);
}

static const char *const install_modes[] = {"new", "plain", "clone", NULL};
static const char *const on_failures[] = {"hold", "restore", NULL};
static const char *const policies[] = {"patch", "minor", "major", NULL};
static const char *const log_files[] = {"error", "access", "kinsta-cache-perf",
                                        NULL};

#define P_STR(n, req, def, chk)                                                \
	{                                                                      \
		n, ACTION_PARAM_STRING, req, def, NULL, 0, 0, chk              \
	}
#define P_BOOL(n, def)                                                         \
	{                                                                      \
		n, ACTION_PARAM_BOOL, false, def, NULL, 0, 0, NULL             \
	}
#define P_LIST(n, def)                                                         \
	{                                                                      \
		n, ACTION_PARAM_LIST, false, def, NULL, 0, 0, NULL             \
	}
#define P_UUID(n)                                                              \
	{                                                                      \
		n, ACTION_PARAM_UUID, true, NULL, NULL, 0, 0, NULL             \
	}
#define P_ENUM(n, def, ch)                                                     \
	{                                                                      \
		n, ACTION_PARAM_ENUM, false, def, ch, 0, 0, NULL               \
	}
#define P_INT(n, def, lo, hi)                                                  \
	{                                                                      \
		n, ACTION_PARAM_INT, false, def, NULL, lo, hi, NULL            \
	}
#define PARAMS(a) a, sizeof(a) / sizeof(a[0])

static const struct action_param p_edge[] = {
    P_BOOL("clear_subdirectories", "false"),
    P_STR("url", false, NULL, check_http_url),
};
static const struct action_param p_php[] = {
    P_STR("php_version", true, NULL, check_php_version),
    /* ModifyPhpVersionRequestBody: sent only when the job sets it */
    P_BOOL("is_opt_out_from_automatic_php_update", NULL),
};
/* Kinsta keeps at most this many manual backups per environment. */
#define BACKUP_SLOTS "5"

static const struct action_param p_backup[] = {
    P_STR("tag", false, NULL, check_nonempty), /* kinsta-cron:<job> */
    P_INT("keep", "0", 0, 100),
    P_INT("backup_slots", BACKUP_SLOTS, 1, 100),
};
/* verify = { urls, base_url, expect_status, expect_text, timeout }: the
 * pages probed before and after a change; a group of parameters, one
 * "verify.<key>" each.  Probing is on when urls is set. */
#define P_VERIFY                                                               \
	P_LIST("verify.urls", NULL),                                           \
	    P_STR("verify.base_url", false, "https://{domain}",                \
	          check_base_url),                                             \
	    P_INT("verify.expect_status", "200", 100, 599),                    \
	    P_STR("verify.expect_text", false, NULL, check_nonempty),          \
	    P_INT("verify.timeout", "20", 1, 300)

/* update-plugins and update-themes differ only in the list's name.
 * policy: the largest step allowed (semver; anything else counts as
 * major); clear_caches_after: page cache, then edge and CDN where present,
 * once updated; keep: pre-update backups (kinsta-cron:pre-update:<job>)
 * kept per environment, the newest being what a rollback restores;
 * verify: the site's pages probed before and after; on_failure: what a
 * failed check does ("restore": the pre-update backup, notifying
 * notify_user, a user of the company; "hold": stop there). */
#define P_UPDATE(list)                                                         \
	P_LIST(list, "all"), P_LIST("exclude", NULL),                          \
	    P_ENUM("policy", "major", policies),                               \
	    P_BOOL("backup_first", "false"),                                   \
	    P_BOOL("clear_caches_after", "false"), P_INT("keep", "1", 1, 100), \
	    P_INT("backup_slots", BACKUP_SLOTS, 1, 100), P_VERIFY,             \
	    P_ENUM("on_failure", "hold", on_failures),                         \
	    P_STR("notify_user", false, NULL, check_email)

static const struct action_param p_plugins[] = {P_UPDATE("plugins")};
static const struct action_param p_themes[] = {P_UPDATE("themes")};
static const struct action_param p_push[] = {
    P_STR("source", true, NULL, check_nonempty),
    P_STR("target", true, NULL, check_nonempty),
    P_BOOL("push_db", "true"),
    P_BOOL("push_files", "true"),
    P_BOOL("run_search_and_replace", "true"),
};
static const struct action_param p_wp[] = {
    P_STR("command", true, NULL, check_wp_command),
};
static const struct action_param p_create[] = {
    P_STR("display_name", true, NULL, check_nonempty),
    P_STR("region", true, NULL, check_nonempty),
    P_ENUM("install_mode", "new", install_modes),
    /* needed unless install_mode = "plain" (config checks) */
    P_STR("admin_email", false, NULL, check_email),
    P_STR("admin_password", false, NULL, check_nonempty),
    P_STR("admin_user", false, NULL, check_nonempty),
    P_STR("site_title", false, NULL, check_nonempty),
    P_STR("wp_language", false, "en_US", check_nonempty),
    P_BOOL("is_multisite", "false"),
    P_BOOL("is_subdomain_multisite", "false"),
    P_BOOL("woocommerce", "false"),
    P_BOOL("wordpressseo", "false"),
};
static const struct action_param p_app[] = {
    P_UUID("app_id"),
    P_STR("branch", false, NULL, check_nonempty),
};
static const struct action_param p_static[] = {
    P_UUID("static_site_id"),
    P_STR("branch", false, NULL, check_nonempty),
};
static const char *
check_report_output(const char *v)
{
	char buf[8];

	if (*v == '\0')
		return "is empty";
	return report_output_path(buf, sizeof(buf), v, "c", "d", "p") < 0
	           ? "holds an unknown {name}: use {client}, {date} or "
	             "{period}"
	           : NULL;
}

static const char *const report_formats[] = {"json", "html", "csv", NULL};

/* client: a site label (none: every site of the account); period or
 * since (since wins; neither: last month); output may hold {client},
 * {date} and {period}. */
static const struct action_param p_report[] = {
    P_STR("output", false, NULL, check_report_output),
    P_STR("client", false, NULL, check_nonempty),
    P_STR("period", false, NULL, report_period_check),
    P_STR("since", false, NULL, report_since_check),
    P_ENUM("format", "json", report_formats),
};
static const struct action_param p_request[] = {
    P_ENUM("method", "GET", method_names),
    P_STR("path", true, NULL, check_api_path),
    P_STR("body", false, NULL, check_json),
    P_STR("output", false, NULL, check_output),
};
/* push live onto staging: files, database or both (config checks) */
static const struct action_param p_refresh[] = {
    P_BOOL("push_db", "true"), P_BOOL("push_files", "true"),
    P_BOOL("run_search_and_replace", "true"),
    P_LIST("file_list", NULL), /* only these files (SPECIFIC_FILES) */
};
static const struct action_param p_clone[] = {
    P_STR("display_name", true, NULL, check_nonempty),
    /* an environment id, a site ("shop": its live environment) or
     * "site/environment" */
    P_STR("source_environment", true, NULL, check_nonempty),
};
static const struct action_param p_add_domain[] = {
    P_STR("domain", true, NULL, check_domain),
    P_BOOL("is_wildcardless", NULL),
};
static const struct action_param p_remove_domain[] = {
    P_STR("domain", true, NULL, check_domain),
};
/* backup: "latest" (the newest of any kind), "pre-update" (the newest
 * of kinsta-cron's pre-update backups) or an id; notify_user: the e-mail
 * of the company's user Kinsta tells (default: its first user). */
static const struct action_param p_restore[] = {
    P_STR("backup", false, "latest", check_backup_choice),
    P_STR("notify_user", false, NULL, check_email),
};
static const struct action_param p_logs[] = {
    P_ENUM("file", "error", log_files),
    P_INT("lines", "1000", 1, 20000),
    P_STR("output", false, NULL, check_output),
    P_LIST("alert_on", NULL),
};

/* Time limits: a backup, a push or a new site can take most of an hour on
 * a large site; an update or a deployment half of one; the rest minutes. */
#define MIN_10 600
#define MIN_30 1800
#define HOUR   3600

/* An update: list, probe, make room, back up, keep `keep` pre-update
 * backups (which names the one just made: what a rollback restores),
 * update, check the versions, probe again; on a failed check with
 * on_failure = "restore": find the user to notify, restore, probe; then
 * the caches.  Steps with nothing to do send nothing. */
#define UPDATE_STEPS                                                           \
	{                                                                      \
		STEP_LIST_EXT, STEP_PROBE_BEFORE, STEP_SLOTS_LIST,             \
		    STEP_SLOTS_DROP, STEP_PRE_BACKUP, STEP_LIST_BACKUPS,       \
		    STEP_DROP_BACKUPS, STEP_UPDATE_EXT, STEP_CHECK_EXT,        \
		    STEP_PROBE_AFTER, STEP_FIND_USER, STEP_RESTORE,            \
		    STEP_PROBE_RESTORED, STEP_PAGE, STEP_EDGE, STEP_CDN        \
	}

/* The site view: the report's inventory of one site (site_name), without
 * usage or users. */
static const struct action_param p_site_status[] = {
    P_STR("site_name", true, NULL, check_nonempty),
};

static const struct action actions[ACTION_ALL] = {
    [ACTION_CLEAR_CACHE] = {.name = "clear-cache",
                            .target = ACTION_TARGET_REQUIRED,
                            .steps = {STEP_PAGE},
                            .limit_s = MIN_10},
    [ACTION_CLEAR_EDGE_CACHE] = {.name = "clear-edge-cache",
                                 .target = ACTION_TARGET_REQUIRED,
                                 .params = PARAMS(p_edge),
                                 .steps = {STEP_EDGE},
                                 .limit_s = MIN_10},
    [ACTION_CLEAR_CDN_CACHE] = {.name = "clear-cdn-cache",
                                .target = ACTION_TARGET_REQUIRED,
                                .listing = true,
                                .steps = {STEP_CDN},
                                .limit_s = MIN_10},
    [ACTION_CLEAR_ALL_CACHES] = {.name = "clear-all-caches",
                                 .target = ACTION_TARGET_REQUIRED,
                                 .listing = true,
                                 .steps = {STEP_PAGE, STEP_EDGE, STEP_CDN},
                                 .limit_s = MIN_10},
    [ACTION_RESTART_PHP] = {.name = "restart-php",
                            .target = ACTION_TARGET_REQUIRED,
                            .steps = {STEP_PHP_RESTART},
                            .limit_s = MIN_10},
    [ACTION_SET_PHP_VERSION] = {.name = "set-php-version",
                                .target = ACTION_TARGET_REQUIRED,
                                .params = PARAMS(p_php),
                                .steps = {STEP_PHP_VERSION},
                                .limit_s = MIN_10},
    [ACTION_BACKUP] = {.name = "backup",
                       .target = ACTION_TARGET_REQUIRED,
                       .params = PARAMS(p_backup),
                       .steps = {STEP_SLOTS_LIST, STEP_SLOTS_DROP, STEP_BACKUP,
                                 STEP_LIST_BACKUPS, STEP_DROP_BACKUPS},
                       .limit_s = HOUR},
    [ACTION_UPDATE_PLUGINS] = {.name = "update-plugins",
                               .target = ACTION_TARGET_REQUIRED,
                               .variant = "plugins",
                               .params = PARAMS(p_plugins),
                               .steps = UPDATE_STEPS,
                               .limit_s = MIN_30},
    [ACTION_UPDATE_THEMES] = {.name = "update-themes",
                              .target = ACTION_TARGET_REQUIRED,
                              .variant = "themes",
                              .params = PARAMS(p_themes),
                              .steps = UPDATE_STEPS,
                              .limit_s = MIN_30},
    [ACTION_PUSH_ENVIRONMENT] = {.name = "push-environment",
                                 .target = ACTION_TARGET_REQUIRED,
                                 .listing = true,
                                 .params = PARAMS(p_push),
                                 .steps = {STEP_PUSH},
                                 .limit_s = HOUR},
    [ACTION_RUN_WP_CLI] = {.name = "run-wp-cli",
                           .target = ACTION_TARGET_REQUIRED,
                           .params = PARAMS(p_wp),
                           .steps = {STEP_WP_CLI},
                           .limit_s = MIN_10},
    [ACTION_CREATE_SITE] = {.name = "create-site",
                            .target = ACTION_TARGET_NONE,
                            .params = PARAMS(p_create),
                            .steps = {STEP_FIND_SITE, STEP_CREATE_SITE},
                            .limit_s = HOUR},
    [ACTION_DEPLOY_APP] = {.name = "deploy-app",
                           .target = ACTION_TARGET_NONE,
                           .variant = "applications",
                           .params = PARAMS(p_app),
                           .steps = {STEP_DEPLOY},
                           .limit_s = MIN_30},
    [ACTION_DEPLOY_STATIC_SITE] = {.name = "deploy-static-site",
                                   .target = ACTION_TARGET_NONE,
                                   .variant = "static-sites",
                                   .params = PARAMS(p_static),
                                   .steps = {STEP_DEPLOY},
                                   .limit_s = MIN_30},
    [ACTION_REPORT] = {.name = "report",
                       .target = ACTION_TARGET_NONE,
                       .params = PARAMS(p_report),
                       .steps = {STEP_REPORT_SITES, STEP_REPORT_USERS,
                                 STEP_REPORT_ENV},
                       .limit_s = MIN_10},
    [ACTION_REQUEST] = {.name = "request",
                        .target = ACTION_TARGET_OPTIONAL,
                        .params = PARAMS(p_request),
                        .steps = {STEP_REQUEST},
                        .limit_s = MIN_10},
    [ACTION_REFRESH_STAGING] = {.name = "refresh-staging",
                                .target = ACTION_TARGET_REQUIRED,
                                .listing = true,
                                .params = PARAMS(p_refresh),
                                .steps = {STEP_PUSH},
                                .limit_s = HOUR},
    [ACTION_CLONE_SITE] = {.name = "clone-site",
                           .target = ACTION_TARGET_NONE,
                           .params = PARAMS(p_clone),
                           .steps = {STEP_FIND_SITE, STEP_CLONE_SITE},
                           .limit_s = HOUR},
    [ACTION_ADD_DOMAIN] = {.name = "add-domain",
                           .target = ACTION_TARGET_REQUIRED,
                           .params = PARAMS(p_add_domain),
                           .steps = {STEP_LIST_DOMAINS, STEP_ADD_DOMAIN},
                           .limit_s = MIN_10},
    [ACTION_REMOVE_DOMAIN] = {.name = "remove-domain",
                              .target = ACTION_TARGET_REQUIRED,
                              .params = PARAMS(p_remove_domain),
                              .steps = {STEP_LIST_DOMAINS, STEP_DROP_DOMAINS},
                              .limit_s = MIN_10},
    [ACTION_FETCH_LOGS] = {.name = "fetch-logs",
                           .target = ACTION_TARGET_REQUIRED,
                           .params = PARAMS(p_logs),
                           .steps = {STEP_FETCH_LOGS},
                           .limit_s = MIN_10},
    [ACTION_RESTORE_BACKUP] = {.name = "restore-backup",
                               .target = ACTION_TARGET_REQUIRED,
                               .params = PARAMS(p_restore),
                               .steps = {STEP_PICK_BACKUP, STEP_FIND_USER,
                                         STEP_RESTORE},
                               .limit_s = HOUR},
    [ACTION_SITE_STATUS] = {.name = "site-status",
                            .target = ACTION_TARGET_NONE,
                            .params = PARAMS(p_site_status),
                            .steps = {STEP_REPORT_SITES, STEP_REPORT_ENV},
                            .limit_s = MIN_10},
};

const struct action *
action_get(enum action_id id)
{
	return (unsigned)id < ACTION_ALL ? &actions[id] : NULL;
}

int
action_find(const char *name)
{
	for (int a = 0; a < ACTION_COUNT; a++)
		if (strcmp(actions[a].name, name) == 0)
			return a;
	return -ENOENT;
}

const char *
action_name(enum action_id id)
{
	return (unsigned)id < ACTION_ALL ? actions[id].name : "?";
}

const struct action_param *
action_param_find(const struct action *a, const char *name)
{
	for (size_t i = 0; i < a->nparams; i++)
		if (strcmp(a->params[i].name, name) == 0)
			return &a->params[i];
	return NULL;
}

static bool
param_group(const struct action *a, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < a->nparams; i++)
		if (strncmp(a->params[i].name, name, n) == 0 &&
		    a->params[i].name[n] == '.')
			return true;
	return false;
}

bool
action_param_group(const struct action *a, const char *name)
{
	for (int k = 0; a == NULL && k < ACTION_COUNT; k++)
		if (param_group(&actions[k], name))
			return true;
	return a != NULL && param_group(a, name);
}

bool
action_param_known(const char *name)
{
	for (int a = 0; a < ACTION_COUNT; a++)
		if (action_param_find(&actions[a], name) != NULL ||
		    param_group(&actions[a], name))
			return true;
	return false;
}

const char *
action_step_name(enum action_step step)
{
	static const char *const names[STEP_COUNT] = {
	    [STEP_END] = "end",
	    [STEP_PAGE] = "clear-cache",
	    [STEP_EDGE] = "clear-edge-cache",
	    [STEP_CDN] = "clear-cdn-cache",
	    [STEP_PHP_RESTART] = "restart-php",
	    [STEP_PHP_VERSION] = "set-php-version",
	    [STEP_SLOTS_LIST] = "list-backup-slots",
	    [STEP_SLOTS_DROP] = "free-backup-slot",
	    [STEP_BACKUP] = "backup",
	    [STEP_LIST_BACKUPS] = "list-backups",
	    [STEP_DROP_BACKUPS] = "delete-backup",
	    [STEP_LIST_EXT] = "list-updates",
	    [STEP_PRE_BACKUP] = "pre-update-backup",
	    [STEP_UPDATE_EXT] = "update",
	    [STEP_PUSH] = "push-environment",
	    [STEP_WP_CLI] = "run-wp-cli",
	    [STEP_FIND_SITE] = "find-site",
	    [STEP_CREATE_SITE] = "create-site",
	    [STEP_DEPLOY] = "deploy",
	    [STEP_REQUEST] = "request",
	    [STEP_REPORT_SITES] = "list-sites",
	    [STEP_REPORT_USERS] = "list-users",
	    [STEP_REPORT_ENV] = "environment-details",
	    [STEP_PROBE_BEFORE] = "probe-before",
	    [STEP_CHECK_EXT] = "check-versions",
	    [STEP_PROBE_AFTER] = "probe-after",
	    [STEP_FIND_USER] = "find-user",
	    [STEP_RESTORE] = "restore-backup",
	    [STEP_PROBE_RESTORED] = "probe-restored",
	    [STEP_CLONE_SITE] = "clone-site",
	    [STEP_LIST_DOMAINS] = "list-domains",
	    [STEP_ADD_DOMAIN] = "add-domain",
	    [STEP_DROP_DOMAINS] = "remove-domain",
	    [STEP_FETCH_LOGS] = "fetch-logs",
	    [STEP_PICK_BACKUP] = "pick-backup",
	};

	return (unsigned)step < STEP_COUNT ? names[step] : "?";
}

int
action_step_find(const char *name)
{
	for (int k = 0; name != NULL && k < STEP_COUNT; k++)
		if (strcmp(action_step_name((enum action_step)k), name) == 0)
			return k;
	return -ENOENT;
}

int
action_list(char *buf, size_t len)
{
	size_t n = 0;

	if (len > 0)
		buf[0] = '\0';
	for (int a = 0; a < ACTION_COUNT; a++) {
		int w =
		    snprintf(n < len ? buf + n : NULL, n < len ? len - n : 0,
		             "%s%s", a ? ", " : "", actions[a].name);

		n += (size_t)w;
	}
	return (int)n;
}
