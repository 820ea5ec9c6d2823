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

/* How one kind of step is carried out. */
struct step_ops {
	/* Fill the request: 0 to send it, NEXT (nothing to send) or -errno. */
	int (*build)(struct kinsta_run *run, struct kinsta_request *req);
	/* Read a 2xx answer (list steps): 0 or -errno; NULL: the answer
	 * starts an operation to follow, or ends the step at once. */
	int (*answer)(struct kinsta_run *run, yajl_val doc);
	bool lists;    /* the answer replaces run->items */
	bool advances; /* one answer ends the step */
	/* One request per entry of run->drop (one backup per DELETE). */
	bool per_item;
};

static const struct step_ops steps[STEP_COUNT];

static void step_done(struct kinsta_run *run);

/* The kind of the step the run is at. */
static enum action_step
cur(const struct kinsta_run *run)
{
	const struct action *a = action_get(run->job->action);

	return run->step <= ACTION_MAX_STEPS ? a->steps[run->step] : STEP_END;
}

/* ---- small helpers ------------------------------------------------------ */

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
list_free(char ***v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

static int
list_add(char ***v, size_t *n, const char *s)
{
	char **grown = realloc(*v, (*n + 1) * sizeof(*grown));

	if (grown == NULL)
		return -ENOMEM;
	*v = grown;
	if ((grown[*n] = strdup(s)) == NULL)
		return -ENOMEM;
	(*n)++;
	return 0;
}

static void
free_items(struct kinsta_run *run)
{
	list_free(&run->items, &run->nitems);
}

static int
add_item(struct kinsta_run *run, const char *s)
{
	return list_add(&run->items, &run->nitems, s);
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
set_path(struct kinsta_request *req, enum method m, const char *fmt,
         const char *a)
{
	req->method = m;
	req->mutating = m != METHOD_GET;
	req->cls = RATELIMIT_NORMAL;
	if ((size_t)snprintf(req->path, sizeof(req->path), fmt, a) >=
	    sizeof(req->path))
		return -EINVAL;
	return 0;
}

/* Add s to the end of req's path. */
static int
append_path(struct kinsta_request *req, const char *s)
{
	size_t n = strlen(req->path);

	if ((size_t)snprintf(req->path + n, sizeof(req->path) - n, "%s", s) >=
	    sizeof(req->path) - n)
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
		snprintf(buf, len, "kinsta-cron:pre-update:%s", run->job->name);
	else if (tag != NULL && *tag)
		snprintf(buf, len, "%s", tag);
	else
		snprintf(buf, len, "kinsta-cron:%s", run->job->name);
	return buf;
}

/* ---- the run ------------------------------------------------------------ */

void
kinsta_run_init(struct kinsta_run *run, const struct config *cfg,
                const struct config_job *job, const struct target *target)
{
	memset(run, 0, sizeof(*run));
	run->cfg = cfg;
	run->job = job;
	if (target != NULL)
		run->target = *target;
	run->outcome = KINSTA_RUNNING;
}

/* The kind of step that index step was in a state file of 0.1.0, which
 * saved no step names, when backups and updates had three steps and
 * create-site one. */
static enum action_step
legacy_step(const struct config_job *job, int step)
{
	static const enum action_step backup[] = {
	    STEP_BACKUP, STEP_LIST_BACKUPS, STEP_DROP_BACKUPS};
	static const enum action_step update[] = {
	    STEP_LIST_EXT, STEP_PRE_BACKUP, STEP_UPDATE_EXT};
	static const enum action_step create[] = {STEP_CREATE_SITE, STEP_END,
	                                          STEP_END};

	if (step < 0 || step > 2)
		return STEP_END;
	switch (job->action) {
	case ACTION_BACKUP:
		return backup[step];
	case ACTION_UPDATE_PLUGINS:
	case ACTION_UPDATE_THEMES:
		return update[step];
	case ACTION_CREATE_SITE:
		return create[step];
	default:
		return action_get(job->action)->steps[step];
	}
}

/* Where a saved step is in the action's list as it is now: by the step's
 * kind, so that a new version of the list (an upgrade) resumes at the
 * step that was running, not at what now has its index. */
static int
resume_index(const struct config_job *job, int step, const char *name)
{
	const struct action *a = action_get(job->action);
	int kind =
	    name != NULL ? action_step_find(name) : (int)legacy_step(job, step);

	for (int i = 0; kind > 0 && i <= ACTION_MAX_STEPS; i++)
		if ((int)a->steps[i] == kind)
			return i;
	return step < 0 || step > ACTION_MAX_STEPS ? ACTION_MAX_STEPS : step;
}

void
kinsta_run_resume(struct kinsta_run *run, const struct config *cfg,
                  const struct config_job *job, const struct target *target,
                  int step, const char *step_name, const char *op_id,
                  bool deployment)
{
	kinsta_run_init(run, cfg, job, target);
	run->step = resume_index(job, step, step_name);
	run->sent = true;
	run->deployment = deployment;
	snprintf(run->op_id, sizeof(run->op_id), "%s", op_id);
}

void
kinsta_run_free(struct kinsta_run *run)
{
	free_items(run);
	list_free(&run->drop, &run->ndrop);
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

/* ---- step builders ------------------------------------------------------
 *
 * One per step kind: fill req and return 0 to send it, or return NEXT when
 * the step has nothing to send (the run moves on, unless the builder ended
 * it), or -errno when the request cannot be built.
 */

#define NEXT 1

static const char *
variant(const struct kinsta_run *run)
{
	return action_get(run->job->action)->variant;
}

/* POST path {"environment_id": env} */
static int
env_post(struct kinsta_request *req, const struct kinsta_run *run,
         const char *path)
{
	int rc = set_path(req, METHOD_POST, "%s", path);

	return rc < 0 ? rc : env_body(req, run, NULL, NULL, NULL, -1);
}

/* The cache clears in an update run come after the update, and only with
 * clear_caches_after. */
static bool
caches_stay(const struct kinsta_run *run)
{
	return (run->job->action == ACTION_UPDATE_PLUGINS ||
	        run->job->action == ACTION_UPDATE_THEMES) &&
	       !config_param_bool(run->job, "clear_caches_after");
}

static int
build_page(struct kinsta_run *run, struct kinsta_request *req)
{
	if (caches_stay(run))
		return NEXT;
	return env_post(req, run, "/sites/tools/clear-cache");
}

static int
build_edge(struct kinsta_run *run, struct kinsta_request *req)
{
	const char *url = config_param_str(run->job, "url");
	struct json_writer w;
	int rc;

	if (caches_stay(run))
		return NEXT;
	if (run->target.resolved && run->target.edge_cache_id[0] == '\0') {
		if (run->job->action == ACTION_CLEAR_EDGE_CACHE)
			end_run(run, KINSTA_SKIPPED,
			        "edge caching is not enabled on this "
			        "environment");
		else
			add_note(run, "edge cache not enabled, skipped");
		return NEXT;
	}
	if ((rc = set_path(req, METHOD_POST, "%s",
	                   "/sites/edge-caching/clear")) < 0)
		return rc;
	json_w_init(&w);
	json_w_obj_open(&w);
	json_w_key_str(&w, "environment_id", run->target.env_id);
	if (config_param(run->job, "clear_subdirectories"))
		json_w_key_bool(
		    &w, "clear_subdirectories",
		    config_param_bool(run->job, "clear_subdirectories"));
	if (url != NULL && *url)
		json_w_key_str(&w, "url", url);
	json_w_obj_close(&w);
	return take_body(req, &w);
}

static int
build_cdn(struct kinsta_run *run, struct kinsta_request *req)
{
	const struct target *t = &run->target;
	int rc;

	if (caches_stay(run))
		return NEXT;
	if (t->cdn_cache_id[0] == '\0') {
		if (run->job->action == ACTION_CLEAR_CDN_CACHE)
			end_run(run, KINSTA_SKIPPED,
			        t->resolved ? "the CDN is not enabled on this "
			                      "environment"
			                    : "the environment's CDN id is "
			                      "unknown");
		else
			add_note(run, "CDN not enabled, skipped");
		return NEXT;
	}
	if ((rc = set_path(req, METHOD_POST, "%s", "/sites/cdn/clear-cache")) <
	    0)
		return rc;
	return env_body(req, run, "cdn_cache_id", t->cdn_cache_id, NULL, -1);
}

static int
build_php_restart(struct kinsta_run *run, struct kinsta_request *req)
{
	return env_post(req, run, "/sites/tools/restart-php");
}

static int
build_php_version(struct kinsta_run *run, struct kinsta_request *req)
{
	static const char opt_out[] = "is_opt_out_from_automatic_php_update";
	int rc =
	    set_path(req, METHOD_PUT, "%s", "/sites/tools/modify-php-version");

	if (rc < 0)
		return rc;
	return env_body(req, run, "php_version",
	                config_param_str(run->job, "php_version"),
	                config_param(run->job, opt_out) ? opt_out : NULL,
	                config_param_bool(run->job, opt_out));
}

/* POST .../manual-backups with the job's tag (or the pre-update tag). */
static int
post_backup(struct kinsta_run *run, struct kinsta_request *req, bool pre)
{
	char tag[160];
	int rc =
	    set_path(req, METHOD_POST, "/sites/environments/%s/manual-backups",
	             run->target.env_id);

	if (rc < 0)
		return rc;
	return str_body(req, "tag", backup_tag(run, tag, sizeof(tag), pre));
}

static int
build_backup(struct kinsta_run *run, struct kinsta_request *req)
{
	return post_backup(run, req, false);
}

/* Does this run make a backup at all?  A backup job always; an update
 * only with backup_first and something to update. */
static bool
makes_backup(const struct kinsta_run *run)
{
	return run->job->action == ACTION_BACKUP ||
	       (config_param_bool(run->job, "backup_first") && run->nitems > 0);
}

static int
build_pre_backup(struct kinsta_run *run, struct kinsta_request *req)
{
	if (!makes_backup(run))
		return NEXT;
	return post_backup(run, req, true);
}

static int
list_backups(struct kinsta_run *run, struct kinsta_request *req)
{
	return set_path(req, METHOD_GET, "/sites/environments/%s/backups",
	                run->target.env_id);
}

/* Before a new manual backup: the list, to see whether it fits. */
static int
build_slots_list(struct kinsta_run *run, struct kinsta_request *req)
{
	return makes_backup(run) ? list_backups(run, req) : NEXT;
}

/* After it: the list, to keep at most `keep` of this job's own. */
static int
build_list_backups(struct kinsta_run *run, struct kinsta_request *req)
{
	if (!makes_backup(run) || config_param_int(run->job, "keep") <= 0)
		return NEXT;
	return list_backups(run, req);
}

/* DELETE each backup picked by the list before (slots or keep). */
static int
build_drop_backups(struct kinsta_run *run, struct kinsta_request *req)
{
	if ((size_t)run->item >= run->ndrop)
		return NEXT;
	return set_path(req, METHOD_DELETE, "/sites/environments/backups/%s",
	                run->drop[run->item]);
}

static int
build_list_ext(struct kinsta_run *run, struct kinsta_request *req)
{
	int rc = set_path(req, METHOD_GET, "/sites/environments/%s/",
	                  run->target.env_id);

	if (rc == 0)
		rc = append_path(req, variant(run));
	return rc;
}

static int
build_update_ext(struct kinsta_run *run, struct kinsta_request *req)
{
	const char *kind = variant(run);
	struct json_writer w;
	int rc;

	if ((rc = set_path(req, METHOD_PUT, "/sites/environments/%s/",
	                   run->target.env_id)) < 0 ||
	    (rc = append_path(req, kind)) < 0 ||
	    (rc = append_path(req, "/bulk-update")) < 0)
		return rc;
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
build_push(struct kinsta_run *run, struct kinsta_request *req)
{
	static const char *const flags[] = {"push_db", "push_files",
	                                    "run_search_and_replace"};
	struct json_writer w;
	int rc;

	if ((rc = set_path(req, METHOD_PUT, "/sites/%s/environments",
	                   run->target.site_id)) < 0)
		return rc;
	json_w_init(&w);
	json_w_obj_open(&w);
	json_w_key_str(&w, "source_env_id", run->target.source_env_id);
	json_w_key_str(&w, "target_env_id", run->target.env_id);
	for (int i = 0; i < 3; i++)
		if (config_param(run->job, flags[i]))
			json_w_key_bool(&w, flags[i],
			                config_param_bool(run->job, flags[i]));
	json_w_obj_close(&w);
	return take_body(req, &w);
}

static int
build_wp_cli(struct kinsta_run *run, struct kinsta_request *req)
{
	int rc = set_path(req, METHOD_POST,
	                  "/sites/environments/%s/run-wp-cli-command",
	                  run->target.env_id);

	if (rc < 0)
		return rc;
	return str_body(req, "wp_command",
	                config_param_str(run->job, "command"));
}

/* create-site: the company's sites first, so that a scheduled job does not
 * make a second site of the same name every time it fires. */
static int
build_find_site(struct kinsta_run *run, struct kinsta_request *req)
{
	kinsta_sites_request(run->cfg, run->job->account, req);
	return 0;
}

/* POST /sites: the company, then every parameter as the API names it. */
static int
build_create_site(struct kinsta_run *run, struct kinsta_request *req)
{
	const struct config_job *job = run->job;
	struct json_writer w;
	int rc;

	if ((rc = set_path(req, METHOD_POST, "%s", "/sites")) < 0)
		return rc;
	req->cls = RATELIMIT_CREATE;
	json_w_init(&w);
	json_w_obj_open(&w);
	json_w_key_str(&w, "company", run->cfg->accounts[job->account].company);
	for (size_t i = 0; i < job->nparams; i++) {
		const struct config_param *p = &job->params[i];

		switch (p->type) {
		case ACTION_PARAM_BOOL:
			json_w_key_bool(&w, p->name, p->num != 0);
			break;
		case ACTION_PARAM_INT:
			json_w_key_int(&w, p->name, p->num);
			break;
		case ACTION_PARAM_LIST:
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
build_deploy(struct kinsta_run *run, struct kinsta_request *req)
{
	bool app = run->job->action == ACTION_DEPLOY_APP;
	const char *id_key = app ? "app_id" : "static_site_id";
	const char *branch = config_param_str(run->job, "branch");
	struct json_writer w;
	int rc;

	if ((rc = set_path(req, METHOD_POST, "/%s/deployments", variant(run))) <
	    0)
		return rc;
	json_w_init(&w);
	json_w_obj_open(&w);
	json_w_key_str(&w, id_key, config_param_str(run->job, id_key));
	if (branch != NULL)
		json_w_key_str(&w, "branch", branch);
	json_w_obj_close(&w);
	return take_body(req, &w);
}

static int
build_request(struct kinsta_run *run, struct kinsta_request *req)
{
	const char *method = config_param_str(run->job, "method");
	const char *path = config_param_str(run->job, "path");
	const char *body = config_param_str(run->job, "body");
	int m = method != NULL ? method_parse(method) : METHOD_GET;

	if (m < 0 || path == NULL ||
	    set_path(req, (enum method)m, "%s", path) < 0)
		return -EINVAL;
	if (body != NULL && *body) {
		if ((req->body = strdup(body)) == NULL)
			return -ENOMEM;
		req->body_len = strlen(body);
	}
	return 0;
}

static int
build_report_sites(struct kinsta_run *run, struct kinsta_request *req)
{
	kinsta_sites_request(run->cfg, run->job->account, req);
	return 0;
}

static int
build_report_users(struct kinsta_run *run, struct kinsta_request *req)
{
	return set_path(req, METHOD_GET, "/company/%s/users",
	                run->cfg->accounts[run->job->account].company);
}

static int
build_report_env(struct kinsta_run *run, struct kinsta_request *req)
{
	static const char *const what[] = {"plugins", "themes", "backups"};
	int rc;

	if ((size_t)run->item >= 3 * run->nitems)
		return NEXT;
	rc = set_path(req, METHOD_GET, "/sites/environments/%s/",
	              run->items[run->item / 3]);
	return rc < 0 ? rc : append_path(req, what[run->item % 3]);
}

enum kinsta_next
kinsta_run_next(struct kinsta_run *run, struct kinsta_request *req)
{
	int rc;

	memset(req, 0, sizeof(*req));
	if (run->outcome != KINSTA_RUNNING)
		return KINSTA_DONE;
	if (run->op_id[0] != '\0')
		return KINSTA_FOLLOW;
	for (;;) {
		enum action_step s = cur(run);

		if (s == STEP_END)
			return end_run(run, KINSTA_SUCCEEDED, NULL);
		if ((rc = steps[s].build(run, req)) != NEXT)
			break;
		kinsta_request_clear(req);
		if (run->outcome != KINSTA_RUNNING)
			return KINSTA_DONE;
		advance(run);
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

/* A version as semver: 0, or -EINVAL when it is not digits "X[.Y[.Z]]". */
static int
parse_version(const char *v, long part[3])
{
	char *end;

	part[0] = part[1] = part[2] = 0;
	for (int i = 0; i < 3; i++) {
		if (v == NULL || !isdigit((unsigned char)*v))
			return -EINVAL;
		part[i] = strtol(v, &end, 10);
		if (*end == '\0')
			return 0;
		if (*end != '.')
			return -EINVAL;
		v = end + 1;
	}
	return -EINVAL;
}

enum update_level { UPDATE_PATCH, UPDATE_MINOR, UPDATE_MAJOR };

/* How big the step from one version to another is; anything that is not
 * plain semver counts as major, the most careful reading. */
static enum update_level
update_level(const char *from, const char *to)
{
	long a[3], b[3];

	if (parse_version(from, a) < 0 || parse_version(to, b) < 0 ||
	    a[0] != b[0])
		return UPDATE_MAJOR;
	return a[1] != b[1] ? UPDATE_MINOR : UPDATE_PATCH;
}

/* The job's policy as the largest step it allows. */
static enum update_level
policy_level(const struct kinsta_run *run)
{
	const char *p = config_param_str(run->job, "policy");

	if (p != NULL && strcmp(p, "patch") == 0)
		return UPDATE_PATCH;
	if (p != NULL && strcmp(p, "minor") == 0)
		return UPDATE_MINOR;
	return UPDATE_MAJOR;
}

/* Is the extension named in the job's lists (plugins/themes, exclude)? */
static bool
wanted(const struct kinsta_run *run, const char *name)
{
	size_t nwant = 0, nexcl = 0;
	const char *const *want =
	    config_param_list(run->job, variant(run), &nwant);
	const char *const *excl =
	    config_param_list(run->job, "exclude", &nexcl);
	bool ok = nwant == 0 || (nwant == 1 && strcmp(want[0], "all") == 0);

	for (size_t k = 0; !ok && k < nwant; k++)
		ok = strcmp(want[k], name) == 0;
	for (size_t k = 0; ok && k < nexcl; k++)
		ok = strcmp(excl[k], name) != 0;
	return ok;
}

/* "name from -> to" onto a note list, ", "-separated. */
static void
note_change(char *buf, size_t len, const char *name, const char *from,
            const char *to)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s %s -> %s", n ? ", " : "", name,
	         from ? from : "?", to ? to : "?");
}

/* Plugins or themes with an update, filtered by the job's lists and its
 * policy; the note says what changes (from which version to which) and
 * what the policy holds back. */
static int
pick_updates(struct kinsta_run *run, yajl_val doc)
{
	const char *kind = variant(run);
	bool themes = strcmp(kind, "themes") == 0;
	yajl_val data =
	    json_arr(doc, "environment", "container_info",
	             themes ? "wp_themes" : "wp_plugins", "data", NULL);
	enum update_level allowed = policy_level(run);
	char changes[KINSTA_MSG_MAX] = "", held[KINSTA_MSG_MAX] = "";
	char why[KINSTA_MSG_MAX];

	if (data == NULL)
		return -EINVAL;
	for (size_t i = 0; i < json_arr_len(data); i++) {
		yajl_val e = json_arr_at(data, i);
		const char *name = json_str(e, "name", NULL);
		const char *update = json_str(e, "update", NULL);
		const char *from = json_str(e, "version", NULL);
		const char *to = json_str(e, "update_version", NULL);

		if (name == NULL || update == NULL ||
		    strcmp(update, "available") != 0 || !wanted(run, name))
			continue;
		if (update_level(from, to) > allowed) {
			note_change(held, sizeof(held), name, from, to);
			continue;
		}
		if (add_item(run, name) < 0)
			return -ENOMEM;
		note_change(changes, sizeof(changes), name, from, to);
	}
	if (changes[0] != '\0')
		add_note(run, changes);
	if (held[0] != '\0') {
		snprintf(why, sizeof(why), "held by policy \"%.5s\": %.200s",
		         config_param_str(run->job, "policy"), held);
		add_note(run, why);
	}
	if (run->nitems == 0)
		end_run(run, KINSTA_SKIPPED,
		        held[0]  ? why
		        : themes ? "no theme updates available"
		                 : "no plugin updates available");
	return 0;
}

int
kinsta_update_plan(const struct config_job *job, const char *body, size_t len,
                   void (*fn)(const struct kinsta_plan_item *it, void *arg),
                   void *arg)
{
	struct kinsta_run run = {.job = job};
	const char *kind = action_get(job->action)->variant;
	bool themes = kind != NULL && strcmp(kind, "themes") == 0;
	enum update_level allowed;
	yajl_val doc = NULL, data;
	char err[128];

	if (kind == NULL)
		return -EINVAL;
	if (json_parse(&doc, body, len, NULL, err, sizeof(err)) < 0)
		return -EINVAL;
	data = json_arr(doc, "environment", "container_info",
	                themes ? "wp_themes" : "wp_plugins", "data", NULL);
	if (data == NULL) {
		json_free(doc);
		return -EINVAL;
	}
	allowed = policy_level(&run);
	for (size_t i = 0; i < json_arr_len(data); i++) {
		yajl_val e = json_arr_at(data, i);
		const char *update = json_str(e, "update", NULL);
		struct kinsta_plan_item it = {
		    .name = json_str(e, "name", NULL),
		    .from = json_str(e, "version", NULL),
		    .to = json_str(e, "update_version", NULL),
		};

		/* the same choice as pick_updates */
		if (it.name == NULL || update == NULL ||
		    strcmp(update, "available") != 0 || !wanted(&run, it.name))
			continue;
		it.held = update_level(it.from, it.to) > allowed;
		fn(&it, arg);
	}
	json_free(doc);
	return 0;
}

/* ---- backups: slots and keep ----------------------------------------------
 *
 * Kinsta keeps at most `backup_slots` (5) manual backups per environment
 * and refuses a sixth.  kinsta-cron only ever deletes backups it tagged:
 * a backup job's `tag` (kinsta-cron:<job>), and the pre-update backups of
 * update jobs (kinsta-cron:pre-update:<job>; before 0.2,
 * kinsta-cron:<job>:pre-update).
 */

struct backup_ref {
	int64_t id, created;
	const char *note; /* into the parsed answer; NULL when none */
	bool own;         /* this run's own tag */
	bool spare;       /* another job's pre-update backup past its keep */
};

/* The update job whose pre-update tag note is, into job (len bytes). */
static bool
pre_update_job(const char *note, char *job, size_t len)
{
	static const char pre[] = "kinsta-cron:pre-update:";
	static const char old_pre[] = "kinsta-cron:",
	                  old_post[] = ":pre-update";
	size_t n;

	if (note == NULL)
		return false;
	if (strncmp(note, pre, sizeof(pre) - 1) == 0 && note[sizeof(pre) - 1]) {
		snprintf(job, len, "%s", note + sizeof(pre) - 1);
		return true;
	}
	n = strlen(note);
	if (n > sizeof(old_pre) + sizeof(old_post) - 2 &&
	    strncmp(note, old_pre, sizeof(old_pre) - 1) == 0 &&
	    strcmp(note + n - (sizeof(old_post) - 1), old_post) == 0) {
		snprintf(
		    job, len, "%.*s",
		    (int)(n - (sizeof(old_pre) - 1) - (sizeof(old_post) - 1)),
		    note + sizeof(old_pre) - 1);
		return true;
	}
	return false;
}

/* Is note this run's own tag? */
static bool
own_backup(const struct kinsta_run *run, const char *note)
{
	char tag[160], job[TARGET_NAME_MAX];

	if (note == NULL)
		return false;
	if (run->job->action == ACTION_BACKUP)
		return strcmp(note, backup_tag(run, tag, sizeof(tag), false)) ==
		       0;
	return pre_update_job(note, job, sizeof(job)) &&
	       strcmp(job, run->job->name) == 0;
}

/* How many pre-update backups job keeps: its keep while it is an update
 * job of the configuration, 0 once it is gone (they are nobody's). */
static int64_t
pre_update_keep(const struct kinsta_run *run, const char *job)
{
	const struct config_job *j = config_find_job(run->cfg, job);

	if (j == NULL || (j->action != ACTION_UPDATE_PLUGINS &&
	                  j->action != ACTION_UPDATE_THEMES))
		return 0;
	return config_param_int(j, "keep");
}

static int
cmp_backup_newest_first(const void *a, const void *b)
{
	const struct backup_ref *x = a, *y = b;

	return (x->created < y->created) - (x->created > y->created);
}

/* The environment's manual backups, newest first, each marked own or
 * spare; *out (free()) gets *n of them. */
static int
read_backups(const struct kinsta_run *run, yajl_val doc,
             struct backup_ref **out, size_t *n)
{
	yajl_val list = json_arr(doc, "environment", "backups", NULL);
	struct backup_ref *v;
	char job[TARGET_NAME_MAX];

	*n = 0;
	if (list == NULL)
		return -EINVAL;
	if ((v = calloc(json_arr_len(list) + 1, sizeof(*v))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < json_arr_len(list); i++) {
		yajl_val b = json_arr_at(list, i);
		const char *type = json_str(b, "type", NULL);
		struct backup_ref r = {.note = json_str(b, "note", NULL)};

		if ((type != NULL && strcmp(type, "manual") != 0) ||
		    json_int_lenient(b, &r.id, "id", NULL) < 0)
			continue;
		json_int(b, &r.created, "created_at", NULL);
		r.own = own_backup(run, r.note);
		v[(*n)++] = r;
	}
	qsort(v, *n, sizeof(*v), cmp_backup_newest_first);
	/* other jobs' pre-update backups past their keep, per job (in
	 * either spelling of the tag) */
	for (size_t i = 0; i < *n; i++) {
		char other[TARGET_NAME_MAX];
		int64_t newer = 0;

		if (v[i].own || !pre_update_job(v[i].note, job, sizeof(job)))
			continue;
		for (size_t k = 0; k < i; k++)
			newer +=
			    !v[k].own &&
			    pre_update_job(v[k].note, other, sizeof(other)) &&
			    strcmp(other, job) == 0;
		v[i].spare = newer >= pre_update_keep(run, job);
	}
	*out = v;
	return 0;
}

static int
drop_add(struct kinsta_run *run, int64_t id)
{
	char s[32];

	snprintf(s, sizeof(s), "%lld", (long long)id);
	return list_add(&run->drop, &run->ndrop, s);
}

/* After the new backup: this run's own backups beyond `keep`. */
static int
pick_surplus_backups(struct kinsta_run *run, yajl_val doc)
{
	int64_t keep = config_param_int(run->job, "keep"), mine = 0;
	struct backup_ref *v;
	size_t n;
	int rc;

	list_free(&run->drop, &run->ndrop);
	if ((rc = read_backups(run, doc, &v, &n)) < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (v[i].own && mine++ >= keep)
			rc = drop_add(run, v[i].id);
	free(v);
	return rc;
}

/* Say which backups hold the slots, as far as the message has room. */
static void
slots_full(struct kinsta_run *run, const struct backup_ref *v, size_t n,
           int64_t slots)
{
	char msg[KINSTA_MSG_MAX];
	size_t o;

	o = (size_t)snprintf(
	    msg, sizeof(msg),
	    "no free backup slot: %zu of %lld manual backups in "
	    "use, not kinsta-cron's to delete; held by",
	    n, (long long)slots);
	for (size_t i = 0; i < n && o < sizeof(msg); i++)
		if (!v[i].own && !v[i].spare)
			o += (size_t)snprintf(
			    msg + o, sizeof(msg) - o, " %lld \"%.32s\"",
			    (long long)v[i].id, v[i].note ? v[i].note : "");
	end_run(run, KINSTA_FAILED, msg);
}

/* Before the new backup: if it would not fit in the environment's slots,
 * which of kinsta-cron's backups to delete first: this run's own, oldest
 * first, then other jobs' pre-update backups past their keep.  If that is
 * not enough, the run fails here, before anything was changed. */
static int
pick_slot_backups(struct kinsta_run *run, yajl_val doc)
{
	int64_t slots = config_param_int(run->job, "backup_slots");
	struct backup_ref *v;
	size_t n, want, avail = 0;
	int rc;

	list_free(&run->drop, &run->ndrop);
	if ((rc = read_backups(run, doc, &v, &n)) < 0)
		return rc;
	want = (int64_t)n + 1 > slots ? (size_t)((int64_t)n + 1 - slots) : 0;
	for (size_t i = 0; i < n; i++)
		avail += v[i].own || v[i].spare;
	if (want > avail) {
		slots_full(run, v, n, slots);
		free(v);
		return 0;
	}
	for (int pass = 0; pass < 2 && run->ndrop < want && rc == 0; pass++)
		for (size_t i = n; i-- > 0 && run->ndrop < want && rc == 0;)
			if (pass == 0 ? v[i].own : v[i].spare)
				rc = drop_add(run, v[i].id);
	free(v);
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

	if (cur(run) == STEP_DEPLOY) {
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
	step_done(run);
	return KINSTA_SEND;
}

/* A site called display_name exists already: nothing to create. */
static int
answer_find_site(struct kinsta_run *run, yajl_val doc)
{
	yajl_val sites = json_arr(doc, "company", "sites", NULL);
	const char *want = config_param_str(run->job, "display_name");

	if (sites == NULL)
		return -EINVAL;
	for (size_t i = 0; want != NULL && i < json_arr_len(sites); i++) {
		yajl_val site = json_arr_at(sites, i);
		const char *name = json_str(site, "display_name", NULL);
		const char *id = json_str(site, "id", NULL);
		char why[KINSTA_MSG_MAX];

		if (name == NULL || strcmp(name, want) != 0)
			continue;
		snprintf(why, sizeof(why), "exists: site \"%.100s\" is %.64s",
		         want, id ? id : "(no id)");
		end_run(run, KINSTA_SKIPPED, why);
		break;
	}
	return 0;
}

static const struct step_ops steps[STEP_COUNT] = {
    [STEP_PAGE] = {.build = build_page},
    [STEP_EDGE] = {.build = build_edge},
    [STEP_CDN] = {.build = build_cdn},
    [STEP_PHP_RESTART] = {.build = build_php_restart},
    [STEP_PHP_VERSION] = {.build = build_php_version},
    [STEP_BACKUP] = {.build = build_backup},
    [STEP_SLOTS_LIST] = {.build = build_slots_list,
                         .answer = pick_slot_backups,
                         .advances = true},
    [STEP_SLOTS_DROP] = {.build = build_drop_backups, .per_item = true},
    [STEP_LIST_BACKUPS] = {.build = build_list_backups,
                           .answer = pick_surplus_backups,
                           .advances = true},
    [STEP_DROP_BACKUPS] = {.build = build_drop_backups, .per_item = true},
    [STEP_LIST_EXT] = {.build = build_list_ext,
                       .answer = pick_updates,
                       .lists = true,
                       .advances = true},
    [STEP_PRE_BACKUP] = {.build = build_pre_backup},
    [STEP_UPDATE_EXT] = {.build = build_update_ext},
    [STEP_PUSH] = {.build = build_push},
    [STEP_WP_CLI] = {.build = build_wp_cli},
    [STEP_FIND_SITE] = {.build = build_find_site,
                        .answer = answer_find_site,
                        .advances = true},
    [STEP_CREATE_SITE] = {.build = build_create_site},
    [STEP_DEPLOY] = {.build = build_deploy},
    [STEP_REQUEST] = {.build = build_request},
    [STEP_REPORT_SITES] = {.build = build_report_sites,
                           .answer = report_begin,
                           .lists = true,
                           .advances = true},
    [STEP_REPORT_USERS] = {.build = build_report_users,
                           .answer = report_users,
                           .advances = true},
    [STEP_REPORT_ENV] = {.build = build_report_env, .answer = report_env},
};

enum kinsta_next
kinsta_feed(struct kinsta_run *run, long status, const char *body, size_t len,
            const char *error)
{
	char msg[KINSTA_MSG_MAX], err[KINSTA_MSG_MAX];
	const struct step_ops *step = &steps[cur(run)];
	yajl_val doc = NULL;
	enum kinsta_next next;
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
	if (step->answer != NULL) {
		if (step->lists)
			free_items(run);
		rc = step->answer(run, doc);
		if (step->advances)
			advance(run);
		next =
		    run->outcome != KINSTA_RUNNING ? KINSTA_DONE : KINSTA_SEND;
	} else {
		next = accepted(run, doc);
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

/* The current step's request (or its operation) is done. */
static void
step_done(struct kinsta_run *run)
{
	run->op_id[0] = '\0';
	run->deployment = false;
	if (!steps[cur(run)].per_item) {
		advance(run);
	} else if (run->drop == NULL) {
		/* resumed after a restart: the list is gone, fetch it again */
		run->step--;
		run->item = 0;
	} else {
		run->item++;
	}
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
	step_done(run);
	return KINSTA_SEND;
}

void
kinsta_op_result(struct kinsta_run *run, const char *body, size_t len)
{
	yajl_val doc = NULL;
	const char *id;
	char err[64], note[KINSTA_MSG_MAX];

	if (cur(run) != STEP_CREATE_SITE || len == 0 ||
	    json_parse(&doc, body, len, NULL, err, sizeof(err)) < 0)
		return;
	/* Kinsta names it idSite; be lenient about the spelling */
	if ((id = json_str(doc, "data", "idSite", NULL)) == NULL &&
	    (id = json_str(doc, "data", "site_id", NULL)) == NULL)
		id = json_str(doc, "data", "id", NULL);
	if (id != NULL) {
		snprintf(note, sizeof(note), "new site %.100s", id);
		add_note(run, note);
	}
	json_free(doc);
}

enum action_step
kinsta_step(const struct kinsta_run *run)
{
	return cur(run);
}

const char *
kinsta_step_item(const struct kinsta_run *run)
{
	if (!steps[cur(run)].per_item || run->item < 0 ||
	    (size_t)run->item >= run->ndrop)
		return NULL;
	return run->drop[run->item];
}

void
kinsta_poll_request(const struct kinsta_run *run, struct kinsta_request *req)
{
	memset(req, 0, sizeof(*req));
	if (run->deployment &&
	    set_path(req, METHOD_GET, "/%s/deployments/", variant(run)) == 0)
		append_path(req, run->op_id);
	else
		set_path(req, METHOD_GET, "/operations/%s", run->op_id);
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
	set_path(req, METHOD_GET, "/sites?company=%s&include_environments=true",
	         cfg->accounts[account].company);
}

bool
kinsta_needs_listing(const struct config_job *job)
{
	if (job->target.kind == CONFIG_TARGET_NONE)
		return false;
	/* clear_caches_after: the CDN id and whether edge caching is on */
	return job->target.kind != CONFIG_TARGET_ENVIRONMENTS ||
	       action_get(job->action)->listing ||
	       config_param_bool(job, "clear_caches_after");
}

int
kinsta_targets_from_ids(const struct config_job *job, struct target **out,
                        size_t *n)
{
	size_t count = job->target.kind == CONFIG_TARGET_ENVIRONMENTS
	                   ? job->target.nvalues
	                   : 1;
	struct target *t = calloc(count, sizeof(*t));

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
fill_target(struct target *t, yajl_val site, yajl_val env)
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
set_source(struct target *t, const struct config_job *job, yajl_val envs)
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
              struct target **out, size_t *n, char *err, size_t errlen)
{
	const struct config_target *tg = &job->target;
	size_t nenvs = tg->kind == CONFIG_TARGET_ENVIRONMENTS ||
	                       job->action == ACTION_PUSH_ENVIRONMENT ||
	                       tg->nenvironments == 0
	                   ? 1
	                   : tg->nenvironments;
	struct target *t = NULL;
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
	/* at most one target per site and environment name, or one per
	 * listed environment id */
	t = calloc(nsites * nenvs + tg->nvalues + 1, sizeof(*t));
	if (t == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	/* environment = ["staging", "live"]: every site's staging, then
	 * every site's live (the order a rollout keeps) */
	for (size_t at = 0; at < nsites * nenvs; at++) {
		size_t phase = at / nsites;
		yajl_val site = json_arr_at(sites, at % nsites);
		yajl_val envs = json_arr(site, "environments", NULL);

		if (!site_selected(tg, site))
			continue;
		if (tg->kind == CONFIG_TARGET_ENVIRONMENTS) {
			for (size_t k = 0; k < tg->nvalues; k++) {
				yajl_val e = find_env(envs, tg->values[k]);

				if (e == NULL || count >= nsites + tg->nvalues)
					continue;
				fill_target(&t[count], site, e);
				if (job->action == ACTION_PUSH_ENVIRONMENT)
					set_source(&t[count], job, envs);
				count++;
			}
			continue;
		}
		{
			bool push = job->action == ACTION_PUSH_ENVIRONMENT;
			const char *envname =
			    push ? config_param_str(job, "target")
			         : tg->environments[phase];
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
