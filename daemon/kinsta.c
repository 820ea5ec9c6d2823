/*
 * kinsta: actions as step sequences, answers as verdicts.
 *
 * Paths and bodies follow Kinsta's OpenAPI document (1.87.0); every body is
 * built with the checked JSON writer and every answer read with the bounded
 * parser, so a hostile or broken server can make a run fail but never
 * confuse it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "kinsta.h"

enum step {
	S_PAGE,         /* POST /sites/tools/clear-cache */
	S_EDGE,         /* POST /sites/edge-caching/clear */
	S_CDN,          /* POST /sites/cdn/clear-cache */
	S_PHP_RESTART,  /* POST /sites/tools/restart-php */
	S_PHP_VERSION,  /* PUT /sites/tools/modify-php-version */
	S_BACKUP,       /* POST .../manual-backups with the job's tag */
	S_LIST_BACKUPS, /* GET .../backups: pick this job's surplus */
	S_DROP_BACKUPS, /* DELETE /sites/environments/backups/{id}, each */
	S_LIST_EXT,     /* GET .../plugins or .../themes */
	S_PRE_BACKUP,   /* backup_first: POST .../manual-backups */
	S_UPDATE_EXT,   /* PUT .../plugins/bulk-update (or themes) */
	S_PUSH,         /* PUT /sites/{site}/environments */
	S_WP_CLI,       /* POST .../run-wp-cli-command */
	S_CREATE_SITE,  /* POST /sites */
	S_DEPLOY,       /* POST /applications|static-sites/deployments */
	S_REQUEST,      /* any method and path */
	S_REPORT_SITES, /* GET /sites?company=..&include_environments=true */
	S_REPORT_USERS, /* GET /company/{id}/users */
	S_REPORT_ENV,   /* GET plugins, themes, backups of each environment */
	S_END
};

static const enum step plans[CONFIG_ACTION_COUNT][4] = {
    [CONFIG_ACTION_CLEAR_CACHE] = {S_PAGE, S_END},
    [CONFIG_ACTION_CLEAR_EDGE_CACHE] = {S_EDGE, S_END},
    [CONFIG_ACTION_CLEAR_CDN_CACHE] = {S_CDN, S_END},
    [CONFIG_ACTION_CLEAR_ALL_CACHES] = {S_PAGE, S_EDGE, S_CDN, S_END},
    [CONFIG_ACTION_RESTART_PHP] = {S_PHP_RESTART, S_END},
    [CONFIG_ACTION_SET_PHP_VERSION] = {S_PHP_VERSION, S_END},
    [CONFIG_ACTION_BACKUP] = {S_BACKUP, S_LIST_BACKUPS, S_DROP_BACKUPS, S_END},
    [CONFIG_ACTION_UPDATE_PLUGINS] = {S_LIST_EXT, S_PRE_BACKUP, S_UPDATE_EXT,
                                      S_END},
    [CONFIG_ACTION_UPDATE_THEMES] = {S_LIST_EXT, S_PRE_BACKUP, S_UPDATE_EXT,
                                     S_END},
    [CONFIG_ACTION_PUSH_ENVIRONMENT] = {S_PUSH, S_END},
    [CONFIG_ACTION_RUN_WP_CLI] = {S_WP_CLI, S_END},
    [CONFIG_ACTION_CREATE_SITE] = {S_CREATE_SITE, S_END},
    [CONFIG_ACTION_DEPLOY_APP] = {S_DEPLOY, S_END},
    [CONFIG_ACTION_DEPLOY_STATIC_SITE] = {S_DEPLOY, S_END},
    [CONFIG_ACTION_REPORT] = {S_REPORT_SITES, S_REPORT_USERS, S_REPORT_ENV,
                              S_END},
    [CONFIG_ACTION_REQUEST] = {S_REQUEST, S_END},
};

static enum step
cur(const struct kinsta_run *run)
{
	return run->step < 4 ? plans[run->job->action][run->step] : S_END;
}

/* ---- small helpers ------------------------------------------------------ */

const char *
kinsta_method_name(enum kinsta_method m)
{
	static const char *const names[] = {"GET", "POST", "PUT", "PATCH",
	                                    "DELETE"};

	return names[m];
}

const char *
kinsta_outcome_name(enum kinsta_outcome o)
{
	static const char *const names[] = {"running", "succeeded", "failed",
	                                    "timed-out", "skipped"};

	return names[o];
}

void
kinsta_request_clear(struct kinsta_request *req)
{
	free(req->body);
	memset(req, 0, sizeof(*req));
}

static void
free_items(struct kinsta_run *run)
{
	for (size_t i = 0; i < run->nitems; i++)
		free(run->items[i]);
	free(run->items);
	run->items = NULL;
	run->nitems = 0;
}

static int
add_item(struct kinsta_run *run, const char *s)
{
	char **n = realloc(run->items, (run->nitems + 1) * sizeof(*n));

	if (n == NULL)
		return -ENOMEM;
	run->items = n;
	if ((n[run->nitems] = strdup(s)) == NULL)
		return -ENOMEM;
	run->nitems++;
	return 0;
}

/* Copy printable text, one line, bounded. */
static void
copy_text(char *dst, size_t len, const char *src, size_t srclen)
{
	size_t o = 0;

	for (size_t i = 0; i < srclen && o + 1 < len; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[o++] = c < ' ' || c == 0x7f ? ' ' : (char)c;
	}
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	dst[o] = '\0';
}

static bool
contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

bool
kinsta_error_message(long status, const char *body, size_t len, char *message)
{
	yajl_val v = NULL;
	const char *m = NULL;
	char err[64];

	message[0] = '\0';
	if (len > 0 && json_parse(&v, body, len, NULL, err, sizeof(err)) == 0) {
		m = json_str(v, "message", NULL);
		if (m == NULL)
			m = json_str(v, "error", NULL);
		if (m != NULL && *m)
			copy_text(message, KINSTA_MSG_MAX, m, strlen(m));
	} else if (len > 0) {
		copy_text(message, 120, body, len < 120 ? len : 120);
	}
	json_free(v);
	if (message[0] == '\0')
		snprintf(message, KINSTA_MSG_MAX, "HTTP %ld", status);
	return status == 429 || contains_ci(message, "too many requests");
}

bool
kinsta_env_blocked(long status, const char *body, size_t len)
{
	char message[KINSTA_MSG_MAX];

	if (status != 400 && status != 409 && status != 423)
		return false;
	kinsta_error_message(status, body, len, message);
	return contains_ci(message, "blocked by another process") ||
	       contains_ci(message, "environment is blocked") ||
	       contains_ci(message, "environment is busy");
}

static int
set_path(struct kinsta_request *req, enum kinsta_method m, const char *fmt,
         const char *a)
{
	req->method = m;
	req->mutating = m != KINSTA_GET;
	req->cls = RATELIMIT_NORMAL;
	if ((size_t)snprintf(req->path, sizeof(req->path), fmt, a) >=
	    sizeof(req->path))
		return -EINVAL;
	return 0;
}

/* Take the writer's document as the request body. */
static int
take_body(struct kinsta_request *req, struct json_writer *w)
{
	const char *buf;
	size_t len;
	int rc = json_w_finish(w, &buf, &len);

	if (rc == 0) {
		if ((req->body = malloc(len + 1)) == NULL) {
			rc = -ENOMEM;
		} else {
			memcpy(req->body, buf, len);
			req->body[len] = '\0';
			req->body_len = len;
		}
	}
	json_w_free(w);
	return rc;
}

/* {key: value} */
static int
str_body(struct kinsta_request *req, const char *key, const char *value)
{
	struct json_writer w;

	json_w_init(&w);
	json_w_obj_open(&w);
	json_w_key_str(&w, key, value);
	json_w_obj_close(&w);
	return take_body(req, &w);
}

/* {"environment_id": env, ...extra string/bool pairs} */
static int
env_body(struct kinsta_request *req, const struct kinsta_run *run,
         const char *k1, const char *v1, const char *kb, int b)
{
	struct json_writer w;

	json_w_init(&w);
	json_w_obj_open(&w);
	json_w_key_str(&w, "environment_id", run->target.env_id);
	if (k1 != NULL)
		json_w_key_str(&w, k1, v1);
	if (kb != NULL && b >= 0)
		json_w_key_bool(&w, kb, b);
	json_w_obj_close(&w);
	return take_body(req, &w);
}

static const char *
backup_tag(const struct kinsta_run *run, char *buf, size_t len, bool pre)
{
	const char *tag = config_param_str(run->job, "tag");

	if (pre)
		snprintf(buf, len, "kinsta-cron:%s:pre-update", run->job->name);
	else if (tag != NULL && *tag)
		snprintf(buf, len, "%s", tag);
	else
		snprintf(buf, len, "kinsta-cron:%s", run->job->name);
	return buf;
}

static bool
is_themes(const struct kinsta_run *run)
{
	return run->job->action == CONFIG_ACTION_UPDATE_THEMES;
}

/* ---- the run ------------------------------------------------------------ */

void
kinsta_run_init(struct kinsta_run *run, const struct config *cfg,
                const struct config_job *job,
                const struct kinsta_target *target)
{
	memset(run, 0, sizeof(*run));
	run->cfg = cfg;
	run->job = job;
	if (target != NULL)
		run->target = *target;
	run->outcome = KINSTA_RUNNING;
}

void
kinsta_run_resume(struct kinsta_run *run, const struct config *cfg,
                  const struct config_job *job,
                  const struct kinsta_target *target, int step,
                  const char *op_id, bool deployment)
{
	kinsta_run_init(run, cfg, job, target);
	run->step = step < 0 || step > 3 ? 3 : step;
	run->sent = true;
	run->deployment = deployment;
	snprintf(run->op_id, sizeof(run->op_id), "%s", op_id);
}

void
kinsta_run_free(struct kinsta_run *run)
{
	free_items(run);
	if (run->report != NULL) {
		json_w_free(run->report);
		free(run->report);
		run->report = NULL;
	}
}

static enum kinsta_next
end_run(struct kinsta_run *run, enum kinsta_outcome o, const char *msg)
{
	run->outcome = o;
	run->sent = false;
	if (msg != NULL)
		snprintf(run->message, sizeof(run->message), "%s", msg);
	return KINSTA_DONE;
}

static void
add_note(struct kinsta_run *run, const char *note)
{
	size_t n = strlen(run->note);

	snprintf(run->note + n, sizeof(run->note) - n, "%s%s", n ? "; " : "",
	         note);
}

/* Move past the current step. */
static void
advance(struct kinsta_run *run)
{
	run->step++;
	run->item = 0;
	run->sent = false;
	run->op_id[0] = '\0';
	run->deployment = false;
}

static int
build_update(struct kinsta_request *req, const struct kinsta_run *run)
{
	const char *kind = is_themes(run) ? "themes" : "plugins";
	struct json_writer w;
	int rc;

	if ((rc = set_path(req, KINSTA_PUT, "/sites/environments/%s/",
	                   run->target.env_id)) < 0)
		return rc;
	snprintf(req->path + strlen(req->path),
	         sizeof(req->path) - strlen(req->path), "%s/bulk-update", kind);
	json_w_init(&w);
	json_w_obj_open(&w);
	json_w_key(&w, kind);
	json_w_arr_open(&w);
	for (size_t i = 0; i < run->nitems; i++) {
		json_w_obj_open(&w);
		json_w_key_str(&w, "name", run->items[i]);
		json_w_obj_close(&w);
	}
	json_w_arr_close(&w);
	json_w_obj_close(&w);
	return take_body(req, &w);
}

static int
build_params_body(struct kinsta_request *req, const struct kinsta_run *run,
                  const char *company)
{
	const struct config_job *job = run->job;
	struct json_writer w;

	json_w_init(&w);
	json_w_obj_open(&w);
	if (company != NULL)
		json_w_key_str(&w, "company", company);
	for (size_t i = 0; i < job->nparams; i++) {
		const struct config_param *p = &job->params[i];

		switch (p->type) {
		case CONFIG_PARAM_BOOL:
			json_w_key_bool(&w, p->name, p->num != 0);
			break;
		case CONFIG_PARAM_INT:
			json_w_key_int(&w, p->name, p->num);
			break;
		case CONFIG_PARAM_LIST:
			json_w_key(&w, p->name);
			json_w_arr_open(&w);
			for (size_t k = 0; k < p->nlist; k++)
				json_w_str(&w, p->list[k]);
			json_w_arr_close(&w);
			break;
		default:
			if (p->str != NULL)
				json_w_key_str(&w, p->name, p->str);
			break;
		}
	}
	json_w_obj_close(&w);
	return take_body(req, &w);
}

static int
build_deploy(struct kinsta_request *req, const struct kinsta_run *run)
{
	bool app = run->job->action == CONFIG_ACTION_DEPLOY_APP;
	const char *branch = config_param_str(run->job, "branch");
	struct json_writer w;
	int rc;

	if ((rc = set_path(req, KINSTA_POST, "%s/deployments",
	                   app ? "/applications" : "/static-sites")) < 0)
		return rc;
	json_w_init(&w);
	json_w_obj_open(&w);
	json_w_key_str(
	    &w, app ? "app_id" : "static_site_id",
	    config_param_str(run->job, app ? "app_id" : "static_site_id"));
	if (branch != NULL)
		json_w_key_str(&w, "branch", branch);
	json_w_obj_close(&w);
	return take_body(req, &w);
}

static int
build_request_action(struct kinsta_request *req, const struct kinsta_run *run)
{
	const char *method = config_param_str(run->job, "method");
	const char *path = config_param_str(run->job, "path");
	const char *body = config_param_str(run->job, "body");
	enum kinsta_method m = KINSTA_GET;

	if (method == NULL || strcasecmp(method, "GET") == 0)
		m = KINSTA_GET;
	else if (strcasecmp(method, "POST") == 0)
		m = KINSTA_POST;
	else if (strcasecmp(method, "PUT") == 0)
		m = KINSTA_PUT;
	else if (strcasecmp(method, "PATCH") == 0)
		m = KINSTA_PATCH;
	else if (strcasecmp(method, "DELETE") == 0)
		m = KINSTA_DELETE;
	else
		return -EINVAL;
	if (path == NULL || set_path(req, m, "%s", path) < 0)
		return -EINVAL;
	if (body != NULL && *body) {
		if ((req->body = strdup(body)) == NULL)
			return -ENOMEM;
		req->body_len = strlen(body);
	}
	return 0;
}

static int
build_report_env(struct kinsta_request *req, const struct kinsta_run *run)
{
	static const char *const what[] = {"plugins", "themes", "backups"};
	const char *env = run->items[run->item / 3];
	int rc;

	if ((rc = set_path(req, KINSTA_GET, "/sites/environments/%s/", env)) <
	    0)
		return rc;
	snprintf(req->path + strlen(req->path),
	         sizeof(req->path) - strlen(req->path), "%s",
	         what[run->item % 3]);
	return 0;
}

enum kinsta_next
kinsta_run_next(struct kinsta_run *run, struct kinsta_request *req)
{
	const struct kinsta_target *t = &run->target;
	const struct config *cfg = run->cfg;
	char tag[160];
	int rc = 0;

	memset(req, 0, sizeof(*req));
	if (run->outcome != KINSTA_RUNNING)
		return KINSTA_DONE;
	if (run->op_id[0] != '\0')
		return KINSTA_FOLLOW;
	for (;;) {
		switch (cur(run)) {
		case S_END:
			return end_run(run, KINSTA_SUCCEEDED, NULL);
		case S_PAGE:
			rc = set_path(req, KINSTA_POST, "%s",
			              "/sites/tools/clear-cache");
			if (rc == 0)
				rc = env_body(req, run, NULL, NULL, NULL, -1);
			break;
		case S_EDGE:
			if (t->resolved && t->edge_cache_id[0] == '\0') {
				if (run->job->action ==
				    CONFIG_ACTION_CLEAR_EDGE_CACHE)
					return end_run(run, KINSTA_SKIPPED,
					               "edge caching is not "
					               "enabled on this "
					               "environment");
				add_note(run,
				         "edge cache not enabled, skipped");
				advance(run);
				continue;
			}
			if ((rc = set_path(req, KINSTA_POST, "%s",
			                   "/sites/edge-caching/clear")) < 0)
				break;
			{
				struct json_writer w;
				const char *url =
				    config_param_str(run->job, "url");

				json_w_init(&w);
				json_w_obj_open(&w);
				json_w_key_str(&w, "environment_id", t->env_id);
				if (config_param(run->job,
				                 "clear_subdirectories"))
					json_w_key_bool(
					    &w, "clear_subdirectories",
					    config_param_bool(
					        run->job,
					        "clear_subdirectories"));
				if (url != NULL && *url)
					json_w_key_str(&w, "url", url);
				json_w_obj_close(&w);
				rc = take_body(req, &w);
			}
			break;
		case S_CDN:
			if (t->cdn_cache_id[0] == '\0') {
				const char *why =
				    t->resolved ? "the CDN is not enabled on "
				                  "this environment"
				                : "the environment's CDN id is "
				                  "unknown";

				if (run->job->action ==
				    CONFIG_ACTION_CLEAR_CDN_CACHE)
					return end_run(run, KINSTA_SKIPPED,
					               why);
				add_note(run, "CDN not enabled, skipped");
				advance(run);
				continue;
			}
			rc = set_path(req, KINSTA_POST, "%s",
			              "/sites/cdn/clear-cache");
			if (rc == 0)
				rc = env_body(req, run, "cdn_cache_id",
				              t->cdn_cache_id, NULL, -1);
			break;
		case S_PHP_RESTART:
			rc = set_path(req, KINSTA_POST, "%s",
			              "/sites/tools/restart-php");
			if (rc == 0)
				rc = env_body(req, run, NULL, NULL, NULL, -1);
			break;
		case S_PHP_VERSION:
			rc = set_path(req, KINSTA_PUT, "%s",
			              "/sites/tools/modify-php-version");
			if (rc == 0)
				rc = env_body(
				    req, run, "php_version",
				    config_param_str(run->job, "php_version"),
				    config_param(run->job,
				                 "is_opt_out_from_automatic_"
				                 "php_update")
				        ? "is_opt_out_from_automatic_"
				          "php_update"
				        : NULL,
				    config_param_bool(
				        run->job, "is_opt_out_from_automatic_"
				                  "php_update"));
			break;
		case S_BACKUP:
		case S_PRE_BACKUP:
			if (cur(run) == S_PRE_BACKUP &&
			    (!config_param_bool(run->job, "backup_first") ||
			     run->nitems == 0)) {
				advance(run);
				continue;
			}
			if ((rc = set_path(req, KINSTA_POST,
			                   "/sites/environments/%s/"
			                   "manual-backups",
			                   t->env_id)) < 0)
				break;
			rc = str_body(req, "tag",
			              backup_tag(run, tag, sizeof(tag),
			                         cur(run) == S_PRE_BACKUP));
			break;
		case S_LIST_BACKUPS:
			if (config_param_int(run->job, "keep") <= 0) {
				advance(run);
				continue;
			}
			rc = set_path(req, KINSTA_GET,
			              "/sites/environments/%s/backups",
			              t->env_id);
			break;
		case S_DROP_BACKUPS:
			if ((size_t)run->item >= run->nitems) {
				advance(run);
				continue;
			}
			rc = set_path(req, KINSTA_DELETE,
			              "/sites/environments/backups/%s",
			              run->items[run->item]);
			break;
		case S_LIST_EXT:
			rc = set_path(req, KINSTA_GET,
			              is_themes(run)
			                  ? "/sites/environments/%s/themes"
			                  : "/sites/environments/%s/plugins",
			              t->env_id);
			break;
		case S_UPDATE_EXT:
			rc = build_update(req, run);
			break;
		case S_PUSH:
			if ((rc = set_path(req, KINSTA_PUT,
			                   "/sites/%s/environments",
			                   t->site_id)) < 0)
				break;
			{
				static const char *const flags[] = {
				    "push_db", "push_files",
				    "run_search_and_replace"};
				struct json_writer w;

				json_w_init(&w);
				json_w_obj_open(&w);
				json_w_key_str(&w, "source_env_id",
				               t->source_env_id);
				json_w_key_str(&w, "target_env_id", t->env_id);
				for (int i = 0; i < 3; i++)
					if (config_param(run->job, flags[i]))
						json_w_key_bool(
						    &w, flags[i],
						    config_param_bool(
						        run->job, flags[i]));
				json_w_obj_close(&w);
				rc = take_body(req, &w);
			}
			break;
		case S_WP_CLI:
			if ((rc = set_path(req, KINSTA_POST,
			                   "/sites/environments/%s/"
			                   "run-wp-cli-command",
			                   t->env_id)) < 0)
				break;
			rc = str_body(req, "wp_command",
			              config_param_str(run->job, "command"));
			break;
		case S_CREATE_SITE:
			rc = set_path(req, KINSTA_POST, "%s", "/sites");
			req->cls = RATELIMIT_CREATE;
			if (rc == 0)
				rc = build_params_body(
				    req, run,
				    cfg->accounts[run->job->account].company);
			break;
		case S_DEPLOY:
			rc = build_deploy(req, run);
			break;
		case S_REQUEST:
			rc = build_request_action(req, run);
			break;
		case S_REPORT_SITES:
			kinsta_sites_request(cfg, run->job->account, req);
			break;
		case S_REPORT_USERS:
			rc = set_path(req, KINSTA_GET, "/company/%s/users",
			              cfg->accounts[run->job->account].company);
			break;
		case S_REPORT_ENV:
			if ((size_t)run->item >= 3 * run->nitems) {
				advance(run);
				continue;
			}
			rc = build_report_env(req, run);
			break;
		}
		break;
	}
	if (rc < 0) {
		kinsta_request_clear(req);
		return end_run(run, KINSTA_FAILED,
		               rc == -ENOMEM
		                   ? "out of memory"
		                   : "cannot build the request (a value "
		                     "is too long or invalid)");
	}
	run->sent = true;
	return KINSTA_SEND;
}

/* ---- answers ------------------------------------------------------------ */

/* Plugins or themes with an update, filtered by the job's lists. */
static int
pick_updates(struct kinsta_run *run, yajl_val doc)
{
	const char *kind = is_themes(run) ? "themes" : "plugins";
	yajl_val data =
	    json_arr(doc, "environment", "container_info",
	             is_themes(run) ? "wp_themes" : "wp_plugins", "data", NULL);
	size_t nwant = 0, nexcl = 0;
	const char *const *want = config_param_list(run->job, kind, &nwant);
	const char *const *excl =
	    config_param_list(run->job, "exclude", &nexcl);
	bool all = nwant == 0 || (nwant == 1 && strcmp(want[0], "all") == 0);

	if (data == NULL)
		return -EINVAL;
	for (size_t i = 0; i < json_arr_len(data); i++) {
		yajl_val e = json_arr_at(data, i);
		const char *name = json_str(e, "name", NULL);
		const char *update = json_str(e, "update", NULL);
		bool ok = all, skip = false;

		if (name == NULL || update == NULL ||
		    strcmp(update, "available") != 0)
			continue;
		for (size_t k = 0; !ok && k < nwant; k++)
			ok = strcmp(want[k], name) == 0;
		for (size_t k = 0; k < nexcl; k++)
			skip = skip || strcmp(excl[k], name) == 0;
		if (ok && !skip && add_item(run, name) < 0)
			return -ENOMEM;
	}
	return 0;
}

struct backup_ref {
	int64_t id, created;
};

static int
cmp_backup_newest_first(const void *a, const void *b)
{
	const struct backup_ref *x = a, *y = b;

	return (x->created < y->created) - (x->created > y->created);
}

/* This job's own tagged backups beyond `keep`, oldest last. */
static int
pick_surplus_backups(struct kinsta_run *run, yajl_val doc)
{
	yajl_val list = json_arr(doc, "environment", "backups", NULL);
	int64_t keep = config_param_int(run->job, "keep");
	struct backup_ref *mine;
	size_t n = 0;
	char tag[160];
	int rc = 0;

	if (list == NULL)
		return -EINVAL;
	backup_tag(run, tag, sizeof(tag), false);
	mine = calloc(json_arr_len(list) + 1, sizeof(*mine));
	if (mine == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < json_arr_len(list); i++) {
		yajl_val b = json_arr_at(list, i);
		const char *note = json_str(b, "note", NULL);
		const char *type = json_str(b, "type", NULL);
		struct backup_ref r = {0, 0};

		/* never anyone else's: the tag must match exactly */
		if (note == NULL || strcmp(note, tag) != 0 ||
		    (type != NULL && strcmp(type, "manual") != 0))
			continue;
		if (json_int_lenient(b, &r.id, "id", NULL) < 0)
			continue;
		json_int(b, &r.created, "created_at", NULL);
		mine[n++] = r;
	}
	qsort(mine, n, sizeof(*mine), cmp_backup_newest_first);
	for (size_t i = (size_t)keep; i < n && rc == 0; i++) {
		char id[32];

		snprintf(id, sizeof(id), "%lld", (long long)mine[i].id);
		rc = add_item(run, id);
	}
	free(mine);
	return rc;
}

static int
report_begin(struct kinsta_run *run, yajl_val doc)
{
	yajl_val sites = json_arr(doc, "company", "sites", NULL);
	struct json_writer *w;

	if (sites == NULL)
		return -EINVAL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -ENOMEM;
	run->report = w;
	json_w_init(w);
	json_w_obj_open(w);
	json_w_key_str(w, "job", run->job->name);
	json_w_key_str(w, "company",
	               run->cfg->accounts[run->job->account].company);
	json_w_key(w, "sites");
	json_w_arr_open(w);
	for (size_t i = 0; i < json_arr_len(sites); i++) {
		yajl_val s = json_arr_at(sites, i);
		yajl_val envs = json_arr(s, "environments", NULL);
		yajl_val labels = json_arr(s, "siteLabels", NULL);
		const char *v;

		if (labels == NULL)
			labels = json_arr(s, "site_labels", NULL);
		json_w_obj_open(w);
		if ((v = json_str(s, "id", NULL)) != NULL)
			json_w_key_str(w, "id", v);
		if ((v = json_str(s, "name", NULL)) != NULL)
			json_w_key_str(w, "name", v);
		if ((v = json_str(s, "display_name", NULL)) != NULL)
			json_w_key_str(w, "display_name", v);
		json_w_key(w, "labels");
		json_w_arr_open(w);
		for (size_t k = 0; k < json_arr_len(labels); k++)
			if ((v = json_str(json_arr_at(labels, k), "name",
			                  NULL)) != NULL)
				json_w_str(w, v);
		json_w_arr_close(w);
		json_w_key(w, "environments");
		json_w_arr_open(w);
		for (size_t k = 0; k < json_arr_len(envs); k++) {
			yajl_val e = json_arr_at(envs, k);
			const char *id = json_str(e, "id", NULL);

			if (id == NULL)
				continue;
			json_w_obj_open(w);
			json_w_key_str(w, "id", id);
			if ((v = json_str(e, "name", NULL)) != NULL)
				json_w_key_str(w, "name", v);
			if ((v = json_str(e, "container_info",
			                  "php_engine_version", NULL)) != NULL)
				json_w_key_str(w, "php", v);
			if ((v = json_str(e, "wordpress_version", NULL)) !=
			    NULL)
				json_w_key_str(w, "wordpress", v);
			json_w_obj_close(w);
			if (add_item(run, id) < 0)
				return -ENOMEM;
		}
		json_w_arr_close(w);
		json_w_obj_close(w);
	}
	json_w_arr_close(w);
	return w->err;
}

static int
report_users(struct kinsta_run *run, yajl_val doc)
{
	struct json_writer *w = run->report;
	yajl_val users = json_arr(doc, "company", "users", NULL);

	json_w_key(w, "users");
	json_w_arr_open(w);
	for (size_t i = 0; i < json_arr_len(users); i++) {
		yajl_val u = json_arr_at(users, i);
		const char *v;

		if (json_obj(u, "user", NULL) != NULL)
			u = json_obj(u, "user", NULL);
		json_w_obj_open(w);
		if ((v = json_str(u, "email", NULL)) != NULL)
			json_w_key_str(w, "email", v);
		if ((v = json_str(u, "full_name", NULL)) != NULL)
			json_w_key_str(w, "full_name", v);
		json_w_obj_close(w);
	}
	json_w_arr_close(w);
	json_w_key(w, "environments");
	json_w_arr_open(w);
	/* no environment to fetch: report_env never closes the document */
	if (run->nitems == 0) {
		json_w_arr_close(w);
		json_w_obj_close(w);
	}
	return w->err;
}

static void
report_updates(struct json_writer *w, yajl_val data, const char *key)
{
	json_w_key(w, key);
	json_w_arr_open(w);
	for (size_t i = 0; i < json_arr_len(data); i++) {
		yajl_val e = json_arr_at(data, i);
		const char *update = json_str(e, "update", NULL);
		const char *v;

		if (update == NULL || strcmp(update, "available") != 0)
			continue;
		json_w_obj_open(w);
		if ((v = json_str(e, "name", NULL)) != NULL)
			json_w_key_str(w, "name", v);
		if ((v = json_str(e, "version", NULL)) != NULL)
			json_w_key_str(w, "version", v);
		if ((v = json_str(e, "update_version", NULL)) != NULL)
			json_w_key_str(w, "update_version", v);
		json_w_obj_close(w);
	}
	json_w_arr_close(w);
}

static int
report_env(struct kinsta_run *run, yajl_val doc)
{
	struct json_writer *w = run->report;

	switch (run->item % 3) {
	case 0:
		json_w_obj_open(w);
		json_w_key_str(w, "id", run->items[run->item / 3]);
		report_updates(w,
		               json_arr(doc, "environment", "container_info",
		                        "wp_plugins", "data", NULL),
		               "plugin_updates");
		break;
	case 1:
		report_updates(w,
		               json_arr(doc, "environment", "container_info",
		                        "wp_themes", "data", NULL),
		               "theme_updates");
		break;
	default: {
		yajl_val list = json_arr(doc, "environment", "backups", NULL);
		int64_t latest = 0;

		for (size_t i = 0; i < json_arr_len(list); i++) {
			int64_t t = 0;

			json_int(json_arr_at(list, i), &t, "created_at", NULL);
			if (t > latest)
				latest = t;
		}
		json_w_key_int(w, "backups", (int64_t)json_arr_len(list));
		if (latest > 0)
			json_w_key_int(w, "latest_backup_ms", latest);
		json_w_obj_close(w);
		break;
	}
	}
	run->item++;
	if ((size_t)run->item == 3 * run->nitems) {
		json_w_arr_close(w);
		json_w_obj_close(w);
	}
	return w->err;
}

int
kinsta_report(const struct kinsta_run *run, const char **buf, size_t *len)
{
	if (run->report == NULL)
		return -ENOENT;
	return json_w_finish(run->report, buf, len);
}

/* An accepted action: follow its operation, or carry on if it has none. */
static enum kinsta_next
accepted(struct kinsta_run *run, yajl_val doc)
{
	const char *op = json_str(doc, "operation_id", NULL);

	if (cur(run) == S_DEPLOY) {
		op = json_str(doc, "deployment", "id", NULL);
		run->deployment = true;
		if (op == NULL)
			return end_run(run, KINSTA_FAILED,
			               "the deployment answer has no "
			               "deployment id");
	}
	if (op != NULL && *op) {
		if (strlen(op) >= sizeof(run->op_id))
			return end_run(run, KINSTA_FAILED,
			               "the operation id is too long");
		memcpy(run->op_id, op, strlen(op) + 1);
		return KINSTA_FOLLOW;
	}
	/* done at once: no operation to follow (202 without an id) */
	advance(run);
	return KINSTA_SEND;
}

enum kinsta_next
kinsta_feed(struct kinsta_run *run, long status, const char *body, size_t len,
            const char *error)
{
	char msg[KINSTA_MSG_MAX], err[KINSTA_MSG_MAX];
	yajl_val doc = NULL;
	enum kinsta_next next = KINSTA_SEND;
	int rc = 0;

	run->sent = false;
	if (status == 0)
		return end_run(run, KINSTA_FAILED,
		               error && *error ? error : "no answer");
	if (status < 200 || status > 299) {
		kinsta_error_message(status, body, len, msg);
		if (status == 401)
			snprintf(msg, sizeof(msg),
			         "API key rejected or expired (HTTP 401)");
		return end_run(run, KINSTA_FAILED, msg);
	}
	if (len > 0 && json_parse(&doc, body, len, NULL, err, sizeof(err)) < 0)
		return end_run(run, KINSTA_FAILED, err);
	switch (cur(run)) {
	case S_LIST_BACKUPS:
		free_items(run);
		rc = pick_surplus_backups(run, doc);
		advance(run);
		break;
	case S_LIST_EXT:
		free_items(run);
		rc = pick_updates(run, doc);
		advance(run);
		if (rc == 0 && run->nitems == 0)
			next = end_run(run, KINSTA_SKIPPED,
			               is_themes(run)
			                   ? "no theme updates available"
			                   : "no plugin updates available");
		break;
	case S_REPORT_SITES:
		free_items(run);
		rc = report_begin(run, doc);
		advance(run);
		break;
	case S_REPORT_USERS:
		rc = report_users(run, doc);
		advance(run);
		break;
	case S_REPORT_ENV:
		rc = report_env(run, doc);
		break;
	default:
		next = accepted(run, doc);
		break;
	}
	json_free(doc);
	if (rc == -ENOMEM)
		return end_run(run, KINSTA_FAILED, "out of memory");
	if (rc < 0)
		return end_run(run, KINSTA_FAILED,
		               "unexpected answer from the API (missing "
		               "fields)");
	return next;
}

enum kinsta_next
kinsta_op_done(struct kinsta_run *run, enum ops_state state,
               const char *message)
{
	run->sent = false;
	switch (state) {
	case OPS_SUCCEEDED:
		break;
	case OPS_TIMED_OUT:
		return end_run(run, KINSTA_TIMED_OUT, message);
	default:
		return end_run(run, KINSTA_FAILED, message);
	}
	run->op_id[0] = '\0';
	run->deployment = false;
	if (cur(run) == S_DROP_BACKUPS) {
		if (run->items == NULL) {
			/* resumed after a restart: list again */
			run->step--;
			run->item = 0;
			return KINSTA_SEND;
		}
		run->item++;
		return KINSTA_SEND;
	}
	advance(run);
	return KINSTA_SEND;
}

void
kinsta_poll_request(const struct kinsta_run *run, struct kinsta_request *req)
{
	const char *fmt = "/operations/%s";

	memset(req, 0, sizeof(*req));
	if (run->deployment)
		fmt = run->job->action == CONFIG_ACTION_DEPLOY_APP
		          ? "/applications/deployments/%s"
		          : "/static-sites/deployments/%s";
	set_path(req, KINSTA_GET, fmt, run->op_id);
}

enum ops_poll
kinsta_classify_poll(bool deployment, long status, const char *body, size_t len,
                     char *message)
{
	yajl_val doc = NULL;
	int64_t body_status = 0;
	char err[64];
	enum ops_poll verdict;

	message[0] = '\0';
	if (status == 0 || status == 429 || (status >= 502 && status <= 599))
		return OPS_POLL_RETRY;
	if (status == 401)
		return OPS_POLL_AUTH;
	if (status == 404)
		return OPS_POLL_NOT_FOUND;
	if (len > 0 &&
	    json_parse(&doc, body, len, NULL, err, sizeof(err)) == 0) {
		const char *m = json_str(doc, "message", NULL);

		if (m != NULL)
			copy_text(message, KINSTA_MSG_MAX, m, strlen(m));
		json_int_lenient(doc, &body_status, "status", NULL);
	}
	if (deployment && status == 200) {
		const char *s = json_str(doc, "deployment", "status", NULL);

		if (s == NULL)
			verdict = OPS_POLL_RETRY; /* malformed: look again */
		else if (strcasecmp(s, "success") == 0 ||
		         strcasecmp(s, "successful") == 0 ||
		         strcasecmp(s, "succeeded") == 0 ||
		         strcasecmp(s, "completed") == 0 ||
		         strcasecmp(s, "done") == 0)
			verdict = OPS_POLL_SUCCEEDED;
		else if (strcasecmp(s, "failed") == 0 ||
		         strcasecmp(s, "error") == 0 ||
		         strcasecmp(s, "cancelled") == 0 ||
		         strcasecmp(s, "canceled") == 0) {
			snprintf(message, KINSTA_MSG_MAX, "deployment %s", s);
			verdict = OPS_POLL_FAILED;
		} else
			verdict = OPS_POLL_RUNNING;
	} else if (status == 500 || body_status == 500) {
		/* the body wins when it disagrees with the HTTP code */
		verdict = OPS_POLL_FAILED;
	} else if (status == 200 || status == 202) {
		if (body_status == 200)
			verdict = OPS_POLL_SUCCEEDED;
		else if (body_status == 202)
			verdict = OPS_POLL_RUNNING;
		else
			verdict = status == 200 ? OPS_POLL_SUCCEEDED
			                        : OPS_POLL_RUNNING;
	} else if (status >= 200 && status < 300) {
		verdict = OPS_POLL_RUNNING;
	} else {
		if (message[0] == '\0')
			snprintf(message, KINSTA_MSG_MAX, "HTTP %ld", status);
		verdict = OPS_POLL_REJECTED;
	}
	json_free(doc);
	return verdict;
}

/* ---- targets ------------------------------------------------------------ */

void
kinsta_sites_request(const struct config *cfg, size_t account,
                     struct kinsta_request *req)
{
	memset(req, 0, sizeof(*req));
	set_path(req, KINSTA_GET, "/sites?company=%s&include_environments=true",
	         cfg->accounts[account].company);
}

bool
kinsta_needs_listing(const struct config_job *job)
{
	if (job->target.kind == CONFIG_TARGET_NONE)
		return false;
	if (job->target.kind != CONFIG_TARGET_ENVIRONMENTS)
		return true;
	switch (job->action) {
	case CONFIG_ACTION_CLEAR_CDN_CACHE:
	case CONFIG_ACTION_CLEAR_ALL_CACHES:
	case CONFIG_ACTION_PUSH_ENVIRONMENT:
		return true;
	default:
		return false;
	}
}

int
kinsta_targets_from_ids(const struct config_job *job,
                        struct kinsta_target **out, size_t *n)
{
	size_t count = job->target.kind == CONFIG_TARGET_ENVIRONMENTS
	                   ? job->target.nvalues
	                   : 1;
	struct kinsta_target *t = calloc(count, sizeof(*t));

	if (t == NULL)
		return -ENOMEM;
	for (size_t i = 0;
	     job->target.kind == CONFIG_TARGET_ENVIRONMENTS && i < count; i++)
		snprintf(t[i].env_id, sizeof(t[i].env_id), "%s",
		         job->target.values[i]);
	*out = t;
	*n = count;
	return 0;
}

static bool
in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static bool
site_selected(const struct config_target *t, yajl_val site)
{
	const char *name = json_str(site, "name", NULL);
	const char *display = json_str(site, "display_name", NULL);
	yajl_val labels;

	if (in_list(t->exclude_sites, t->nexclude, name) ||
	    in_list(t->exclude_sites, t->nexclude, display))
		return false;
	switch (t->kind) {
	case CONFIG_TARGET_ALL_SITES:
	case CONFIG_TARGET_ENVIRONMENTS:
		return true;
	case CONFIG_TARGET_SITES:
		return in_list(t->values, t->nvalues, name) ||
		       in_list(t->values, t->nvalues, display);
	case CONFIG_TARGET_LABELS:
		/* Kinsta's schema says siteLabels; its blog shows site_labels
		 */
		if ((labels = json_arr(site, "siteLabels", NULL)) == NULL)
			labels = json_arr(site, "site_labels", NULL);
		for (size_t i = 0; i < json_arr_len(labels); i++)
			if (in_list(
			        t->values, t->nvalues,
			        json_str(json_arr_at(labels, i), "name", NULL)))
				return true;
		return false;
	default:
		return false;
	}
}

/* The environment of site called `want` (name, display name or id). */
static yajl_val
find_env(yajl_val envs, const char *want)
{
	for (size_t i = 0; i < json_arr_len(envs); i++) {
		yajl_val e = json_arr_at(envs, i);
		const char *id = json_str(e, "id", NULL);
		const char *name = json_str(e, "name", NULL);
		const char *display = json_str(e, "display_name", NULL);

		if ((id && strcmp(id, want) == 0) ||
		    (name && strcasecmp(name, want) == 0) ||
		    (display && strcasecmp(display, want) == 0))
			return e;
	}
	return NULL;
}

static void
fill_target(struct kinsta_target *t, yajl_val site, yajl_val env)
{
	const char *v;

	memset(t, 0, sizeof(*t));
#define COPY(field, val)                                                       \
	snprintf(t->field, sizeof(t->field), "%s", (v = (val)) ? v : "")
	COPY(env_id, json_str(env, "id", NULL));
	COPY(env_name, json_str(env, "name", NULL));
	COPY(site_id, json_str(site, "id", NULL));
	COPY(site_name, json_str(site, "name", NULL));
	COPY(cdn_cache_id, json_str(env, "cdn_cache_id", NULL));
	COPY(edge_cache_id, json_str(env, "id_edge_cache", NULL));
#undef COPY
	t->resolved = true;
}

/* push-environment: the source environment, in the target's own site. */
static bool
set_source(struct kinsta_target *t, const struct config_job *job, yajl_val envs)
{
	const char *src = config_param_str(job, "source");
	yajl_val se = find_env(envs, src ? src : "staging");
	const char *id = se ? json_str(se, "id", NULL) : NULL;

	if (id == NULL)
		return false;
	snprintf(t->source_env_id, sizeof(t->source_env_id), "%s", id);
	return true;
}

int
kinsta_select(const struct config_job *job, const char *body, size_t len,
              struct kinsta_target **out, size_t *n, char *err, size_t errlen)
{
	const struct config_target *tg = &job->target;
	const char *want_env = tg->environment ? tg->environment : "live";
	struct kinsta_target *t = NULL;
	size_t count = 0, nsites;
	yajl_val doc = NULL, sites;
	int rc = -EINVAL;

	*out = NULL;
	*n = 0;
	if (json_parse(&doc, body, len, NULL, err, errlen) < 0)
		return -EINVAL;
	if ((sites = json_arr(doc, "company", "sites", NULL)) == NULL) {
		snprintf(err, errlen, "the site list has no company.sites");
		goto fail;
	}
	nsites = json_arr_len(sites);
	/* at most one target per site, or one per listed environment id */
	t = calloc(nsites + tg->nvalues + 1, sizeof(*t));
	if (t == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < nsites; i++) {
		yajl_val site = json_arr_at(sites, i);
		yajl_val envs = json_arr(site, "environments", NULL);

		if (!site_selected(tg, site))
			continue;
		if (tg->kind == CONFIG_TARGET_ENVIRONMENTS) {
			for (size_t k = 0; k < tg->nvalues; k++) {
				yajl_val e = find_env(envs, tg->values[k]);

				if (e == NULL || count >= nsites + tg->nvalues)
					continue;
				fill_target(&t[count], site, e);
				if (job->action ==
				    CONFIG_ACTION_PUSH_ENVIRONMENT)
					set_source(&t[count], job, envs);
				count++;
			}
			continue;
		}
		{
			bool push =
			    job->action == CONFIG_ACTION_PUSH_ENVIRONMENT;
			const char *envname =
			    push ? config_param_str(job, "target") : want_env;
			yajl_val e = find_env(envs, envname ? envname : "live");

			if (e == NULL)
				continue; /* the site has no such environment */
			fill_target(&t[count], site, e);
			if (push && !set_source(&t[count], job, envs))
				continue;
			count++;
		}
	}
	if (tg->kind == CONFIG_TARGET_ENVIRONMENTS && count < tg->nvalues) {
		/* name the first id that the company does not have */
		for (size_t k = 0; k < tg->nvalues; k++) {
			bool found = false;

			for (size_t j = 0; j < count && !found; j++)
				found = strcmp(t[j].env_id, tg->values[k]) == 0;
			if (!found) {
				snprintf(err, errlen,
				         "environment %s is not among the "
				         "company's sites",
				         tg->values[k]);
				goto fail;
			}
		}
	}
	if (count == 0) {
		char what[200];

		config_target_describe(tg, what, sizeof(what));
		snprintf(err, errlen,
		         "no environment matches %s among the company's %zu "
		         "sites",
		         what, nsites);
		goto fail;
	}
	json_free(doc);
	*out = t;
	*n = count;
	return 0;
fail:
	json_free(doc);
	free(t);
	return rc;
}
