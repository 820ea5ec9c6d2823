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
#include "tmpl.h"
#include "tz.h"
#include "util.h"
#include "probe.h"
#include "report.h"

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
	/* The answer is kept to show and save (request, fetch-logs). */
	bool keeps_answer;
	/* What it calls, for `check`: "METHOD /path/{param}", %s for the
	 * action's variant; and whether it may start an operation. */
	const char *route;
	bool op;
};

static const struct step_ops steps[STEP_COUNT];

static void step_done(struct kinsta_run *run);
static yajl_val find_env(yajl_val envs, const char *want);

/* The kind of the step the run is at. */
static enum action_step
cur(const struct kinsta_run *run)
{
	const struct action *a = action_get(run->job->action);

	return run->step <= ACTION_MAX_STEPS ? a->steps[run->step] : STEP_END;
}

static bool
is_update(const struct kinsta_run *run)
{
	return run->job->action == ACTION_UPDATE_PLUGINS ||
	       run->job->action == ACTION_UPDATE_THEMES;
}

/* ---- small helpers ------------------------------------------------------ */

const char *
kinsta_outcome_name(enum kinsta_outcome o)
{
	static const char *const names[KINSTA_OUTCOMES] = {
	    "running",   "succeeded", "failed",
	    "timed-out", "skipped",   "rolled-back"};

	return (unsigned)o < KINSTA_OUTCOMES ? names[o] : "?";
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

/* {k1: v1[, kb: b]} (kb NULL: left out) */
static int
env_body_keys(struct kinsta_request *req, const char *k1, const char *v1,
              const char *kb, bool b)
{
	struct json_writer w;

	json_w_init(&w);
	json_w_obj_open(&w);
	json_w_key_str(&w, k1, v1);
	if (kb != NULL)
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
	/* a restore under way: a check had failed (its reason and the
	 * backup's id are gone with the process) */
	if (cur(run) == STEP_RESTORE && is_update(run)) {
		run->restoring = true;
		snprintf(run->failure, sizeof(run->failure),
		         "a check failed before kinsta-cron restarted");
	}
}

void
kinsta_run_free(struct kinsta_run *run)
{
	free(run->answer);
	free(run->answer_line);
	run->answer = run->answer_line = NULL;
	run->answer_len = run->answer_line_len = 0;
	free(run->changes);
	run->changes = NULL;
	run->nchanges = 0;
	free(run->probes);
	run->probes = NULL;
	run->nprobes = 0;
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

/* Move past the current step (or to the step a failed check chose). */
static void
advance(struct kinsta_run *run)
{
	if (run->jump > 0) {
		run->step = run->jump;
		run->jump = 0;
	} else {
		run->step++;
	}
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
	size_t nfiles = 0;
	const char *const *files =
	    config_param_list(run->job, "file_list", &nfiles);
	struct json_writer w;
	int rc;

	/* never a push onto its own source (refresh-staging on a live
	 * environment id), nor one from nowhere */
	if (run->target.source_env_id[0] == '\0' ||
	    strcmp(run->target.source_env_id, run->target.env_id) == 0) {
		end_run(run, KINSTA_FAILED,
		        run->target.source_env_id[0] == '\0'
		            ? "the site has no environment to push from"
		            : "the environment to push onto is the source "
		              "itself");
		return NEXT;
	}
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
	if (nfiles > 0) {
		json_w_key_str(&w, "push_files_option", "SPECIFIC_FILES");
		json_w_key(&w, "file_list");
		json_w_arr_open(&w);
		for (size_t i = 0; i < nfiles; i++)
			json_w_str(&w, files[i]);
		json_w_arr_close(&w);
	}
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
	const char *mode = config_param_str(job, "install_mode");
	struct json_writer w;
	int rc;

	/* a site without WordPress: its own endpoint, three fields */
	if (mode != NULL && strcmp(mode, "plain") == 0) {
		if ((rc = set_path(req, METHOD_POST, "%s", "/sites/plain")) < 0)
			return rc;
		req->cls = RATELIMIT_CREATE;
		json_w_init(&w);
		json_w_obj_open(&w);
		json_w_key_str(&w, "company",
		               run->cfg->accounts[job->account].company);
		json_w_key_str(&w, "display_name",
		               config_param_str(job, "display_name"));
		json_w_key_str(&w, "region", config_param_str(job, "region"));
		json_w_obj_close(&w);
		return take_body(req, &w);
	}
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

/* The values of a request's placeholders for this run: the target's
 * only when the job has one (and they are known), the company always. */
static void
run_vars(const struct kinsta_run *run, struct tmpl_vars *v)
{
	const struct target *t = &run->target;
	bool on_target = run->job->target.kind != CONFIG_TARGET_NONE;

	memset(v, 0, sizeof(*v));
	v->v[TMPL_SITE_ID] = on_target && t->site_id[0] ? t->site_id : NULL;
	v->v[TMPL_SITE_NAME] =
	    on_target && t->site_name[0] ? t->site_name : NULL;
	v->v[TMPL_ENV_ID] = on_target && t->env_id[0] ? t->env_id : NULL;
	v->v[TMPL_ENV_NAME] = on_target && t->env_name[0] ? t->env_name : NULL;
	v->v[TMPL_COMPANY] = run->cfg->accounts[run->job->account].company;
}

/* Any method and path, the placeholders filled for this target: in the
 * path URL-encoded, in the body JSON-escaped. */
static int
build_request(struct kinsta_run *run, struct kinsta_request *req)
{
	const char *method = config_param_str(run->job, "method");
	const char *path = config_param_str(run->job, "path");
	const char *body = config_param_str(run->job, "body");
	int m = method != NULL ? method_parse(method) : METHOD_GET;
	struct tmpl_vars v;
	int n;

	if (m < 0 || path == NULL ||
	    set_path(req, (enum method)m, "%s", "") < 0)
		return -EINVAL;
	run_vars(run, &v);
	n = tmpl_expand(path, &v, TMPL_URL, req->path, sizeof(req->path));
	if (n < 0 || (size_t)n >= sizeof(req->path))
		return -EINVAL;
	/* the logs endpoint has a budget of its own */
	if (strncmp(req->path, "/sites/environments/", 20) == 0 &&
	    strstr(req->path, "/logs") != NULL)
		req->cls = RATELIMIT_LOGS;
	if (body != NULL && *body) {
		if ((n = tmpl_expand(body, &v, TMPL_JSON, NULL, 0)) < 0)
			return -EINVAL;
		if ((req->body = malloc((size_t)n + 1)) == NULL)
			return -ENOMEM;
		tmpl_expand(body, &v, TMPL_JSON, req->body, (size_t)n + 1);
		req->body_len = (size_t)n;
	}
	return 0;
}

/* POST /sites/clone: a new site from the source environment that
 * find-site resolved. */
static int
build_clone_site(struct kinsta_run *run, struct kinsta_request *req)
{
	struct json_writer w;
	int rc;

	if ((rc = set_path(req, METHOD_POST, "%s", "/sites/clone")) < 0)
		return rc;
	req->cls = RATELIMIT_CREATE;
	json_w_init(&w);
	json_w_obj_open(&w);
	json_w_key_str(&w, "company",
	               run->cfg->accounts[run->job->account].company);
	json_w_key_str(&w, "display_name",
	               config_param_str(run->job, "display_name"));
	json_w_key_str(&w, "source_env_id", run->target.source_env_id);
	json_w_obj_close(&w);
	return take_body(req, &w);
}

static int
build_list_domains(struct kinsta_run *run, struct kinsta_request *req)
{
	return set_path(req, METHOD_GET, "/sites/environments/%s/domains",
	                run->target.env_id);
}

static int
build_add_domain(struct kinsta_run *run, struct kinsta_request *req)
{
	static const char wildcard[] = "is_wildcardless";
	int rc = set_path(req, METHOD_POST, "/sites/environments/%s/domains",
	                  run->target.env_id);

	if (rc < 0)
		return rc;
	return env_body_keys(req, "domain_name",
	                     config_param_str(run->job, "domain"),
	                     config_param(run->job, wildcard) ? wildcard : NULL,
	                     config_param_bool(run->job, wildcard));
}

/* DELETE .../domains {"domain_ids": [...]}: the ids list-domains found. */
static int
build_drop_domains(struct kinsta_run *run, struct kinsta_request *req)
{
	struct json_writer w;
	int rc = set_path(req, METHOD_DELETE, "/sites/environments/%s/domains",
	                  run->target.env_id);

	if (rc < 0)
		return rc;
	json_w_init(&w);
	json_w_obj_open(&w);
	json_w_key(&w, "domain_ids");
	json_w_arr_open(&w);
	for (size_t i = 0; i < run->nitems; i++)
		json_w_str(&w, run->items[i]);
	json_w_arr_close(&w);
	json_w_obj_close(&w);
	return take_body(req, &w);
}

static int
build_fetch_logs(struct kinsta_run *run, struct kinsta_request *req)
{
	char path[256];

	snprintf(path, sizeof(path), "%s&lines=%lld",
	         config_param_str(run->job, "file"),
	         (long long)config_param_int(run->job, "lines"));
	if (set_path(req, METHOD_GET, "/sites/environments/%s/logs",
	             run->target.env_id) < 0 ||
	    append_path(req, "?file_name=") < 0 || append_path(req, path) < 0)
		return -EINVAL;
	req->cls = RATELIMIT_LOGS;
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

/* A report asks six things of each environment: plugins, themes,
 * backups, and for a live one its visits, bandwidth and CDN bandwidth
 * over the report's period.  run->items are the environments, run->drop
 * (unused by a report otherwise) the live ones. */
#define REPORT_ASKS 6

static const char *const report_asks[REPORT_ASKS] = {"plugins",
                                                     "themes",
                                                     "backups",
                                                     "analytics/visits",
                                                     "analytics/bandwidth",
                                                     "analytics/cdn-bandwidth"};

static bool
report_live(const struct kinsta_run *run, const char *env)
{
	for (size_t i = 0; i < run->ndrop; i++)
		if (strcmp(run->drop[i], env) == 0)
			return true;
	return false;
}

/* The end of one environment's part of the inventory, and of the
 * inventory after the last environment. */
static void
report_env_close(struct kinsta_run *run)
{
	json_w_obj_close(run->report);
	if ((size_t)run->item / REPORT_ASKS + 1 == run->nitems) {
		json_w_arr_close(run->report);
		json_w_obj_close(run->report);
	}
}

static int
build_report_env(struct kinsta_run *run, struct kinsta_request *req)
{
	struct report_period p;
	const char *env;
	char q[200];
	int rc, sub;

	for (;;) {
		if ((size_t)run->item >= REPORT_ASKS * run->nitems)
			return NEXT;
		env = run->items[run->item / REPORT_ASKS];
		sub = run->item % REPORT_ASKS;
		/* the site view asks no usage */
		if (sub < 3 || (report_live(run, env) &&
		                run->job->action == ACTION_REPORT))
			break;
		/* no usage for a staging environment: its next one */
		report_env_close(run);
		run->item += REPORT_ASKS - sub;
	}
	rc = set_path(req, METHOD_GET, "/sites/environments/%s/", env);
	if (rc == 0)
		rc = append_path(req, report_asks[sub]);
	if (rc < 0 || sub < 3)
		return rc;
	if (report_period_parse(&p, config_param_str(run->job, "period"),
	                        config_param_str(run->job, "since"),
	                        run->job->zone, run->now, NULL, 0) < 0)
		return -EINVAL;
	snprintf(q, sizeof(q), "?company_id=%s&from=%s&to=%s",
	         run->cfg->accounts[run->job->account].company, p.first_day,
	         p.last_day);
	return append_path(req, q);
}

/* ---- verified updates and restores ----------------------------------------
 *
 * An update run probes the site's pages before it changes anything (a
 * broken site is left alone), and after: the re-list must show every item
 * at its new version, and every page must still be healthy.  A failed
 * check ends the run (on_failure = "hold"), or sends it on to the restore
 * steps (find the user Kinsta notifies, restore the pre-update backup,
 * probe again), which end it as rolled-back.  The restore steps are
 * general: in an action of their own they restore the job's backup_id.
 */

/* The index of step kind k in the run's list, or -1. */
static int
step_index(const struct kinsta_run *run, enum action_step k)
{
	const struct action *a = action_get(run->job->action);

	for (int i = 0; i <= ACTION_MAX_STEPS && a->steps[i] != STEP_END; i++)
		if (a->steps[i] == k)
			return i;
	return -1;
}

/* Do the restore steps act?  In an update run only once a check failed;
 * in any other action always. */
static bool
restores(const struct kinsta_run *run)
{
	return !is_update(run) || run->restoring;
}

/* A check failed after the update: restore (on_failure = "restore") or
 * stop here. */
static enum kinsta_next
fail_update(struct kinsta_run *run, const char *why)
{
	const char *of = config_param_str(run->job, "on_failure");
	int idx = step_index(run, STEP_FIND_USER);
	char msg[KINSTA_MSG_MAX];

	if (of == NULL || strcmp(of, "restore") != 0 || idx < 0)
		return end_run(run, KINSTA_FAILED, why);
	if (run->backup_id <= 0) {
		snprintf(msg, sizeof(msg),
		         "%.180s; no pre-update backup known to restore", why);
		return end_run(run, KINSTA_FAILED, msg);
	}
	snprintf(run->failure, sizeof(run->failure), "%s", why);
	run->restoring = true;
	run->jump = idx;
	return KINSTA_SEND;
}

/* The restore could not be made: say what failed before, if anything. */
static void
restore_failed(struct kinsta_run *run, enum kinsta_outcome o, const char *why)
{
	char msg[KINSTA_MSG_MAX];

	if (run->restoring)
		snprintf(msg, sizeof(msg), "%.110s; restore failed: %.120s",
		         run->failure, why);
	else
		snprintf(msg, sizeof(msg), "restore failed: %.200s", why);
	end_run(run, o, msg);
}

/* Probe p at step s failed: skip the run (before), fail or restore
 * (after), or fail (after the restore).  The caller moves on. */
static void
probe_failed(struct kinsta_run *run, enum action_step s,
             const struct kinsta_probe *p)
{
	char why[KINSTA_MSG_MAX];

	switch (s) {
	case STEP_PROBE_BEFORE:
		snprintf(why, sizeof(why),
		         "unhealthy before update: %.100s: %.120s", p->url,
		         p->why);
		end_run(run, KINSTA_SKIPPED, why);
		return;
	case STEP_PROBE_AFTER:
		snprintf(why, sizeof(why),
		         "unhealthy after the update: %.100s: %.120s", p->url,
		         p->why);
		fail_update(run, why);
		return;
	default:
		if (run->restoring)
			snprintf(why, sizeof(why),
			         "%.80s; backup %lld restored but the site is "
			         "still unhealthy: %.60s: %.60s",
			         run->failure, (long long)run->backup_id,
			         p->url, p->why);
		else
			snprintf(why, sizeof(why),
			         "backup restored but the site is unhealthy: "
			         "%.80s: %.100s",
			         p->url, p->why);
		end_run(run, KINSTA_FAILED, why);
		return;
	}
}

static int
build_probe(struct kinsta_run *run, struct kinsta_request *req)
{
	enum action_step s = cur(run);
	size_t n = 0;
	const char *const *urls =
	    config_param_list(run->job, "verify.urls", &n);
	const char *base = config_param_str(run->job, "verify.base_url");
	struct kinsta_probe *p;
	char why[160], *q;
	int rc;

	if ((size_t)run->item >= n || (s == STEP_PROBE_BEFORE && run->dry) ||
	    (s == STEP_PROBE_AFTER && (run->dry || run->nitems == 0)) ||
	    (s == STEP_PROBE_RESTORED && !restores(run)))
		return NEXT;
	if ((p = realloc(run->probes, (run->nprobes + 1) * sizeof(*p))) == NULL)
		return -ENOMEM;
	run->probes = p;
	p = &run->probes[run->nprobes++];
	memset(p, 0, sizeof(*p));
	p->phase = s == STEP_PROBE_BEFORE  ? "before"
	           : s == STEP_PROBE_AFTER ? "after"
	                                   : "restored";
	p->status = -1;
	req->method = METHOD_GET;
	req->cls = RATELIMIT_NORMAL;
	req->probe = true;
	req->timeout_ms =
	    (long)config_param_int(run->job, "verify.timeout") * 1000;
	rc = probe_url(req->path, sizeof(req->path),
	               base ? base : "https://{domain}", urls[run->item],
	               &run->target, run->buster + run->nprobes, why,
	               sizeof(why));
	/* the page's URL as a person reads it, without the cache-buster */
	snprintf(p->url, sizeof(p->url), "%.250s",
	         rc == 0 ? req->path : urls[run->item]);
	if ((q = strstr(p->url, PROBE_BUSTER "=")) != NULL && q > p->url)
		q[-1] = '\0';
	if (rc == -ENAMETOOLONG)
		snprintf(why, sizeof(why), "the page's URL is too long");
	if (rc < 0) {
		/* no page to ask for is a failed probe, said as such */
		p->status = 0;
		snprintf(p->why, sizeof(p->why), "%s", why);
		probe_failed(run, s, p);
		return NEXT;
	}
	return 0;
}

static bool
is_probe(enum action_step s)
{
	return s == STEP_PROBE_BEFORE || s == STEP_PROBE_AFTER ||
	       s == STEP_PROBE_RESTORED;
}

enum kinsta_next
kinsta_probe_done(struct kinsta_run *run, long status, const char *body,
                  size_t len, const char *error, int64_t ms)
{
	enum action_step s = cur(run);
	struct kinsta_probe *p =
	    run->nprobes > 0 ? &run->probes[run->nprobes - 1] : NULL;
	long expect = (long)config_param_int(run->job, "verify.expect_status");
	bool ok;

	run->sent = false;
	if (p == NULL || !is_probe(s))
		return end_run(run, KINSTA_FAILED,
		               "a probe answer out of turn");
	if (status == 0)
		snprintf(p->why, sizeof(p->why), "%s",
		         error && *error ? error : "no answer");
	ok = status != 0 &&
	     probe_verdict(status, body, len, expect ? expect : 200,
	                   config_param_str(run->job, "verify.expect_text"),
	                   p->why, sizeof(p->why));
	p->status = status;
	p->ms = ms;
	p->ok = ok;
	if (ok) {
		run->item++;
		return KINSTA_SEND;
	}
	probe_failed(run, s, p);
	if (run->outcome != KINSTA_RUNNING)
		return KINSTA_DONE;
	advance(run);
	return KINSTA_SEND;
}

/* After the update: the list again, to see every item at its new
 * version. */
static int
build_check_ext(struct kinsta_run *run, struct kinsta_request *req)
{
	if (run->nchanges == 0 || run->dry)
		return NEXT;
	return build_list_ext(run, req);
}

static int
check_versions(struct kinsta_run *run, yajl_val doc)
{
	bool themes = strcmp(variant(run), "themes") == 0;
	yajl_val data =
	    json_arr(doc, "environment", "container_info",
	             themes ? "wp_themes" : "wp_plugins", "data", NULL);
	char bad[KINSTA_MSG_MAX] = "", why[KINSTA_MSG_MAX];
	size_t o = 0;

	if (data == NULL)
		return -EINVAL;
	for (size_t k = 0; k < run->nchanges; k++) {
		struct kinsta_change *c = &run->changes[k];
		const char *now = NULL;

		for (size_t i = 0; i < json_arr_len(data) && now == NULL; i++) {
			yajl_val e = json_arr_at(data, i);
			const char *name = json_str(e, "name", NULL);

			if (name != NULL && strcmp(name, c->name) == 0)
				now = json_str(e, "version", NULL);
		}
		snprintf(c->now, sizeof(c->now), "%s", now ? now : "");
		if (now != NULL && strcmp(now, c->to) == 0)
			continue;
		if (o < sizeof(bad))
			o += (size_t)snprintf(
			    bad + o, sizeof(bad) - o,
			    "%s%.60s at %.20s, expected %.20s", o ? ", " : "",
			    c->name, now ? now : "(missing)", c->to);
	}
	if (bad[0] == '\0') {
		advance(run);
		return 0;
	}
	snprintf(why, sizeof(why), "not updated: %.200s", bad);
	if (fail_update(run, why) == KINSTA_SEND)
		advance(run);
	return 0;
}

static int
build_find_user(struct kinsta_run *run, struct kinsta_request *req)
{
	if (!restores(run))
		return NEXT;
	return set_path(req, METHOD_GET, "/company/%s/users",
	                run->cfg->accounts[run->job->account].company);
}

/* notified_user_id: the user whose e-mail is notify_user, or the
 * company's first user when it is not set. */
static int
pick_user(struct kinsta_run *run, yajl_val doc)
{
	yajl_val users = json_arr(doc, "company", "users", NULL);
	const char *want = config_param_str(run->job, "notify_user");
	char why[KINSTA_MSG_MAX];

	if (users == NULL)
		return -EINVAL;
	for (size_t i = 0; i < json_arr_len(users); i++) {
		yajl_val u = json_arr_at(users, i);
		const char *email, *id;

		if (json_obj(u, "user", NULL) != NULL)
			u = json_obj(u, "user", NULL);
		email = json_str(u, "email", NULL);
		id = json_str(u, "id", NULL);
		if (id == NULL ||
		    (want != NULL &&
		     (email == NULL || strcasecmp(email, want) != 0)))
			continue;
		if (strlen(id) >= sizeof(run->user_id))
			return -EINVAL;
		snprintf(run->user_id, sizeof(run->user_id), "%s", id);
		return 0;
	}
	if (want != NULL)
		snprintf(why, sizeof(why),
		         "notify_user \"%.100s\" is not a user of the company",
		         want);
	else
		snprintf(why, sizeof(why), "the company has no user to notify");
	restore_failed(run, KINSTA_FAILED, why);
	return 0;
}

/* POST .../backups/restore: the backup this run made before its update,
 * or the job's backup_id. */
static int
build_restore(struct kinsta_run *run, struct kinsta_request *req)
{
	int64_t id = run->backup_id > 0
	                 ? run->backup_id
	                 : config_param_int(run->job, "backup_id");
	struct json_writer w;
	int rc;

	if (!restores(run))
		return NEXT;
	if (id <= 0 || run->user_id[0] == '\0') {
		restore_failed(run, KINSTA_FAILED,
		               id <= 0 ? "no backup to restore"
		                       : "no user to notify");
		return NEXT;
	}
	run->backup_id = id;
	if ((rc = set_path(req, METHOD_POST,
	                   "/sites/environments/%s/backups/restore",
	                   run->target.env_id)) < 0)
		return rc;
	json_w_init(&w);
	json_w_obj_open(&w);
	json_w_key_int(&w, "backup_id", id);
	json_w_key_str(&w, "notified_user_id", run->user_id);
	json_w_obj_close(&w);
	return take_body(req, &w);
}

int
kinsta_details(const struct kinsta_run *run, struct json_writer *w)
{
	if (run->nchanges == 0 && run->nprobes == 0 && run->backup_id <= 0 &&
	    !run->restoring)
		return -ENOENT;
	json_w_obj_open(w);
	if (run->nchanges > 0) {
		json_w_key(w, "items");
		json_w_arr_open(w);
		for (size_t i = 0; i < run->nchanges; i++) {
			const struct kinsta_change *c = &run->changes[i];

			json_w_obj_open(w);
			json_w_key_str(w, "name", c->name);
			json_w_key_str(w, "from", c->from);
			json_w_key_str(w, "to", c->to);
			if (c->now[0] != '\0')
				json_w_key_str(w, "after", c->now);
			else
				json_w_key_null(w, "after");
			json_w_obj_close(w);
		}
		json_w_arr_close(w);
	}
	if (run->backup_id > 0)
		json_w_key_int(w, "backup_id", run->backup_id);
	if (run->nprobes > 0) {
		json_w_key(w, "probes");
		json_w_arr_open(w);
		for (size_t i = 0; i < run->nprobes; i++) {
			const struct kinsta_probe *p = &run->probes[i];

			if (p->status < 0)
				continue; /* never answered */
			json_w_obj_open(w);
			json_w_key_str(w, "phase", p->phase);
			json_w_key_str(w, "url", p->url);
			json_w_key_int(w, "status", p->status);
			json_w_key_int(w, "ms", p->ms);
			json_w_key_bool(w, "ok", p->ok);
			if (!p->ok)
				json_w_key_str(w, "why", p->why);
			json_w_obj_close(w);
		}
		json_w_arr_close(w);
	}
	json_w_key_bool(w, "restored", run->restored);
	return json_w_obj_close(w);
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

		if (s == STEP_END && run->restoring) {
			char msg[KINSTA_MSG_MAX];

			snprintf(msg, sizeof(msg),
			         "rolled back to backup %lld: %.200s",
			         (long long)run->backup_id, run->failure);
			return end_run(run, KINSTA_ROLLED_BACK, msg);
		}
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

static int
add_change(struct kinsta_run *run, const char *name, const char *from,
           const char *to)
{
	struct kinsta_change *v =
	    realloc(run->changes, (run->nchanges + 1) * sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	run->changes = v;
	v = &v[run->nchanges++];
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	snprintf(v->from, sizeof(v->from), "%s", from ? from : "");
	snprintf(v->to, sizeof(v->to), "%s", to ? to : "");
	return 0;
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
		if (add_item(run, name) < 0 ||
		    add_change(run, name, from, to) < 0)
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
	for (size_t i = 0; i < n && rc == 0; i++) {
		/* the newest of an update's own: the one it just made,
		 * what a rollback restores */
		if (v[i].own && mine == 0 && is_update(run))
			run->backup_id = v[i].id;
		if (v[i].own && mine++ >= keep)
			rc = drop_add(run, v[i].id);
	}
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

/* Does the site carry the report's client label (or is there none)?  Is
 * it the site view's site? */
static bool
report_wants(const struct kinsta_run *run, yajl_val site, yajl_val labels)
{
	const char *client = config_param_str(run->job, "client");
	const char *only = config_param_str(run->job, "site_name");

	if (only != NULL) {
		const char *name = json_str(site, "name", NULL);

		return name != NULL && strcmp(name, only) == 0;
	}

	if (client == NULL)
		return true;
	for (size_t k = 0; k < json_arr_len(labels); k++) {
		const char *v = json_str(json_arr_at(labels, k), "name", NULL);

		if (v != NULL && strcmp(v, client) == 0)
			return true;
	}
	return false;
}

static void
report_domains(struct json_writer *w, yajl_val e)
{
	yajl_val doms = json_arr(e, "domains", NULL);
	const char *v;

	if ((v = json_str(e, "primaryDomain", "name", NULL)) != NULL)
		json_w_key_str(w, "primary_domain", v);
	json_w_key(w, "domains");
	json_w_arr_open(w);
	for (size_t k = 0; k < json_arr_len(doms); k++)
		if ((v = json_str(json_arr_at(doms, k), "name", NULL)) != NULL)
			json_w_str(w, v);
	json_w_arr_close(w);
}

/* The environments' part of the document, after the sites (and users). */
static void
report_envs_open(struct kinsta_run *run)
{
	struct json_writer *w = run->report;

	json_w_key(w, "environments");
	json_w_arr_open(w);
	/* no environment to fetch: report_env never closes the document */
	if (run->nitems == 0) {
		json_w_arr_close(w);
		json_w_obj_close(w);
	}
}

static int
report_begin(struct kinsta_run *run, yajl_val doc)
{
	yajl_val sites = json_arr(doc, "company", "sites", NULL);
	const char *client = config_param_str(run->job, "client");
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
	json_w_key_str(w, "account",
	               run->cfg->accounts[run->job->account].name);
	if (client != NULL)
		json_w_key_str(w, "client", client);
	json_w_key(w, "sites");
	json_w_arr_open(w);
	for (size_t i = 0; i < json_arr_len(sites); i++) {
		yajl_val s = json_arr_at(sites, i);
		yajl_val envs = json_arr(s, "environments", NULL);
		yajl_val labels = json_arr(s, "siteLabels", NULL);
		const char *v;

		if (labels == NULL)
			labels = json_arr(s, "site_labels", NULL);
		if (!report_wants(run, s, labels))
			continue;
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
			if ((v = json_str(e, "display_name", NULL)) != NULL)
				json_w_key_str(w, "display_name", v);
			report_domains(w, e);
			json_w_obj_close(w);
			if (add_item(run, id) < 0)
				return -ENOMEM;
			v = json_str(e, "name", NULL);
			if (v != NULL && strcmp(v, "live") == 0 &&
			    list_add(&run->drop, &run->ndrop, id) < 0)
				return -ENOMEM;
		}
		json_w_arr_close(w);
		json_w_obj_close(w);
	}
	json_w_arr_close(w);
	/* the site view lists no users: its environments come next */
	if (run->job->action == ACTION_SITE_STATUS)
		report_envs_open(run);
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
	report_envs_open(run);
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

/* One analytics series ({analytics:{analytics_response:{data:[{total,
 * dataset:[{key, value}]}]}}}): its total and its days; doc NULL (the
 * API refused) keeps the reason instead, since usage is not worth
 * failing a report for. */
static void
report_usage(struct json_writer *w, yajl_val doc, const char *key,
             const char *error)
{
	yajl_val data =
	    json_arr(doc, "analytics", "analytics_response", "data", NULL);
	yajl_val first = json_arr_at(data, 0);
	yajl_val set = json_arr(first, "dataset", NULL);
	int64_t total = 0;

	json_w_key(w, key);
	json_w_obj_open(w);
	if (doc == NULL || first == NULL) {
		json_w_key_str(w, "error",
		               error ? error : "no analytics in the answer");
		json_w_obj_close(w);
		return;
	}
	json_int_lenient(first, &total, "total", NULL);
	json_w_key_int(w, "total", total);
	json_w_key(w, "days");
	json_w_arr_open(w);
	for (size_t i = 0; i < json_arr_len(set); i++) {
		yajl_val d = json_arr_at(set, i);
		const char *day = json_str(d, "key", NULL);
		int64_t n = 0;

		if (day == NULL || strlen(day) < 10)
			continue;
		json_int_lenient(d, &n, "value", NULL);
		json_w_obj_open(w);
		json_w_key(w, "date");
		json_w_strn(w, day, 10);
		json_w_key_int(w, "value", n);
		json_w_obj_close(w);
	}
	json_w_arr_close(w);
	json_w_obj_close(w);
}

static void
report_backups(struct json_writer *w, yajl_val doc)
{
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
	json_w_key(w, "backup_list");
	json_w_arr_open(w);
	for (size_t i = 0; i < json_arr_len(list); i++) {
		yajl_val b = json_arr_at(list, i);
		int64_t n = 0;
		const char *v;

		json_w_obj_open(w);
		if (json_int_lenient(b, &n, "id", NULL) == 0)
			json_w_key_int(w, "id", n);
		if ((v = json_str(b, "name", NULL)) != NULL)
			json_w_key_str(w, "name", v);
		if ((v = json_str(b, "type", NULL)) != NULL)
			json_w_key_str(w, "type", v);
		if (json_int(b, &n, "created_at", NULL) == 0)
			json_w_key_int(w, "created_ms", n);
		json_w_obj_close(w);
	}
	json_w_arr_close(w);
}

static int
report_env_answer(struct kinsta_run *run, yajl_val doc, const char *error)
{
	static const char *const usage[] = {"visits", "bandwidth",
	                                    "cdn_bandwidth"};
	struct json_writer *w = run->report;
	int sub = run->item % REPORT_ASKS;

	switch (sub) {
	case 0:
		json_w_obj_open(w);
		json_w_key_str(w, "id", run->items[run->item / REPORT_ASKS]);
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
	case 2:
		report_backups(w, doc);
		break;
	default:
		if (sub == 3) {
			json_w_key(w, "usage");
			json_w_obj_open(w);
		}
		report_usage(w, doc, usage[sub - 3], error);
		if (sub == REPORT_ASKS - 1)
			json_w_obj_close(w);
		break;
	}
	/* a staging environment ends after its backups (build_report_env
	 * closes it), a live one after its usage */
	if (sub == REPORT_ASKS - 1)
		report_env_close(run);
	run->item++;
	return w->err;
}

static int
report_env(struct kinsta_run *run, yajl_val doc)
{
	return report_env_answer(run, doc, NULL);
}

/* The API's refusal of a usage question: kept in the report, which goes
 * on (the analytics are new in the API and a plan may lack them). */
static bool
report_usage_refused(struct kinsta_run *run, long status, const char *msg)
{
	if (cur(run) != STEP_REPORT_ENV || run->item % REPORT_ASKS < 3 ||
	    status == 401 || status == 429 || run->report == NULL)
		return false;
	report_env_answer(run, NULL, msg);
	return true;
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

/* clone-site: the environment source_environment names among the
 * company's sites (an environment id, "site" for its live environment, or
 * "site/environment"), into run->target.source_env_id; the run fails
 * saying what was asked when there is none. */
static void
find_clone_source(struct kinsta_run *run, yajl_val sites)
{
	const char *want = config_param_str(run->job, "source_environment");
	const char *slash = want ? strchr(want, '/') : NULL;
	char site[TARGET_NAME_MAX], why[KINSTA_MSG_MAX];

	if (want == NULL)
		return;
	snprintf(site, sizeof(site), "%.*s",
	         (int)(slash ? (size_t)(slash - want) : strlen(want)), want);
	for (size_t i = 0; i < json_arr_len(sites); i++) {
		yajl_val s = json_arr_at(sites, i);
		yajl_val envs = json_arr(s, "environments", NULL);
		const char *name = json_str(s, "name", NULL);
		const char *display = json_str(s, "display_name", NULL);
		yajl_val e = NULL;
		const char *id;

		if ((name && strcmp(name, site) == 0) ||
		    (display && strcmp(display, site) == 0))
			e = find_env(envs, slash ? slash + 1 : "live");
		else if (slash == NULL)
			for (size_t k = 0; k < json_arr_len(envs) && !e; k++)
				if ((id = json_str(json_arr_at(envs, k), "id",
				                   NULL)) != NULL &&
				    strcmp(id, want) == 0)
					e = json_arr_at(envs, k);
		if (e != NULL && (id = json_str(e, "id", NULL)) != NULL) {
			snprintf(run->target.source_env_id,
			         sizeof(run->target.source_env_id), "%s", id);
			return;
		}
	}
	snprintf(why, sizeof(why),
	         "source_environment \"%.100s\" is not among the company's "
	         "%zu sites",
	         want, json_arr_len(sites));
	end_run(run, KINSTA_FAILED, why);
}

/* A site called display_name exists already: nothing to create (and for
 * clone-site, where its source is). */
static int
answer_find_site(struct kinsta_run *run, yajl_val doc)
{
	yajl_val sites = json_arr(doc, "company", "sites", NULL);
	const char *want = config_param_str(run->job, "display_name");

	if (sites == NULL)
		return -EINVAL;
	if (run->job->action == ACTION_CLONE_SITE)
		find_clone_source(run, sites);
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

/* The environment's domains: add-domain stops when its domain is there
 * already; remove-domain keeps the ids of its domain (in run->items), and
 * stops when it is not there. */
static int
pick_domains(struct kinsta_run *run, yajl_val doc)
{
	yajl_val list = json_arr(doc, "environment", "site_domains", NULL);
	const char *want = config_param_str(run->job, "domain");
	bool adding = run->job->action == ACTION_ADD_DOMAIN;
	char why[KINSTA_MSG_MAX];

	if (list == NULL || want == NULL)
		return -EINVAL;
	for (size_t i = 0; i < json_arr_len(list); i++) {
		yajl_val d = json_arr_at(list, i);
		const char *name = json_str(d, "name", NULL);
		const char *id = json_str(d, "id", NULL);

		if (name == NULL || strcasecmp(name, want) != 0)
			continue;
		if (adding) {
			snprintf(why, sizeof(why),
			         "exists: %.200s is on this environment "
			         "already",
			         want);
			end_run(run, KINSTA_SKIPPED, why);
			return 0;
		}
		if (id != NULL && add_item(run, id) < 0)
			return -ENOMEM;
	}
	if (!adding && run->nitems == 0) {
		snprintf(why, sizeof(why),
		         "%.200s is not a domain of this environment", want);
		end_run(run, KINSTA_SKIPPED, why);
	}
	return 0;
}

/* The log lines: counted in the note; a line holding one of alert_on's
 * strings fails the run (and so notifies), naming the first. */
static int
read_logs(struct kinsta_run *run, yajl_val doc)
{
	const char *logs =
	    json_str(doc, "environment", "container_info", "logs", NULL);
	size_t nalert = 0, lines = 0, hits = 0;
	const char *const *alert =
	    config_param_list(run->job, "alert_on", &nalert);
	char first[160] = "", note[KINSTA_MSG_MAX];

	if (logs == NULL)
		return -EINVAL;
	for (const char *p = logs; *p;) {
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		bool hit = false;

		lines += n > 0;
		for (size_t k = 0; k < nalert && !hit && n > 0; k++) {
			size_t m = strlen(alert[k]);

			for (size_t o = 0; m > 0 && o + m <= n && !hit; o++)
				hit = memcmp(p + o, alert[k], m) == 0;
		}
		if (hit && hits++ == 0)
			copy_text(first, sizeof(first), p, n);
		p += n + (end != NULL);
	}
	snprintf(note, sizeof(note), "%zu log lines", lines);
	add_note(run, note);
	if (hits > 0) {
		snprintf(note, sizeof(note),
		         "%zu log line%s match%s alert_on: %s", hits,
		         hits == 1 ? "" : "s", hits == 1 ? "es" : "", first);
		end_run(run, KINSTA_FAILED, note);
	}
	return 0;
}

static int
build_pick_backup(struct kinsta_run *run, struct kinsta_request *req)
{
	return list_backups(run, req);
}

/* restore-backup: the backup its `backup` names, among the environment's
 * (of any kind), into run->backup_id; the run stops, having changed
 * nothing, when there is none. */
static int
pick_backup(struct kinsta_run *run, yajl_val doc)
{
	yajl_val list = json_arr(doc, "environment", "backups", NULL);
	const char *want = config_param_str(run->job, "backup");
	bool latest = want == NULL || strcmp(want, "latest") == 0;
	bool pre = want != NULL && strcmp(want, "pre-update") == 0;
	int64_t wanted = latest || pre ? 0 : strtoll(want, NULL, 10);
	int64_t best = -1, best_at = 0;
	const char *best_note = NULL, *best_type = NULL;
	char job[TARGET_NAME_MAX], msg[KINSTA_MSG_MAX];

	if (list == NULL)
		return -EINVAL;
	for (size_t i = 0; i < json_arr_len(list); i++) {
		yajl_val b = json_arr_at(list, i);
		const char *note = json_str(b, "note", NULL);
		int64_t id, at = 0;

		if (json_int_lenient(b, &id, "id", NULL) < 0)
			continue;
		json_int(b, &at, "created_at", NULL);
		if ((wanted > 0 && id != wanted) ||
		    (pre && !pre_update_job(note, job, sizeof(job))) ||
		    (best >= 0 && wanted == 0 && at <= best_at))
			continue;
		best = id;
		best_at = at;
		best_note = note;
		best_type = json_str(b, "type", NULL);
	}
	if (best < 0) {
		snprintf(msg, sizeof(msg), "%s",
		         wanted > 0 ? "no backup of that id on this environment"
		         : pre ? "no kinsta-cron pre-update backup on this "
		                 "environment"
		               : "the environment has no backup");
		end_run(run, KINSTA_FAILED, msg);
		return 0;
	}
	run->backup_id = best;
	util_time_iso(job, sizeof(job), NULL, best_at / 1000, -1);
	snprintf(msg, sizeof(msg), "backup %lld (%.20s%s%.100s%s, %.40s)",
	         (long long)best, best_type ? best_type : "backup",
	         best_note ? " \"" : "", best_note ? best_note : "",
	         best_note ? "\"" : "", job);
	add_note(run, msg);
	return 0;
}

static const struct step_ops steps[STEP_COUNT] = {
    [STEP_PAGE] = {.build = build_page,
                   .route = "POST /sites/tools/clear-cache",
                   .op = true},
    [STEP_EDGE] = {.build = build_edge,
                   .route = "POST /sites/edge-caching/clear",
                   .op = true},
    [STEP_CDN] = {.build = build_cdn,
                  .route = "POST /sites/cdn/clear-cache",
                  .op = true},
    [STEP_PHP_RESTART] = {.build = build_php_restart,
                          .route = "POST /sites/tools/restart-php",
                          .op = true},
    [STEP_PHP_VERSION] = {.build = build_php_version,
                          .route = "PUT /sites/tools/modify-php-version",
                          .op = true},
    [STEP_BACKUP] = {.build = build_backup,
                     .route = "POST /sites/environments/{env_id}/"
                              "manual-backups",
                     .op = true},
    [STEP_SLOTS_LIST] = {.build = build_slots_list,
                         .answer = pick_slot_backups,
                         .advances = true,
                         .route = "GET /sites/environments/{env_id}/backups"},
    [STEP_SLOTS_DROP] = {.build = build_drop_backups,
                         .per_item = true,
                         .route = "DELETE /sites/environments/backups/"
                                  "{backup_id}",
                         .op = true},
    [STEP_LIST_BACKUPS] = {.build = build_list_backups,
                           .answer = pick_surplus_backups,
                           .advances = true,
                           .route = "GET /sites/environments/{env_id}/"
                                    "backups"},
    [STEP_DROP_BACKUPS] = {.build = build_drop_backups,
                           .per_item = true,
                           .route = "DELETE /sites/environments/backups/"
                                    "{backup_id}",
                           .op = true},
    [STEP_LIST_EXT] = {.build = build_list_ext,
                       .answer = pick_updates,
                       .lists = true,
                       .advances = true,
                       .route = "GET /sites/environments/{env_id}/%s"},
    [STEP_PRE_BACKUP] = {.build = build_pre_backup,
                         .route = "POST /sites/environments/{env_id}/"
                                  "manual-backups",
                         .op = true},
    [STEP_UPDATE_EXT] = {.build = build_update_ext,
                         .route = "PUT /sites/environments/{env_id}/%s/"
                                  "bulk-update",
                         .op = true},
    [STEP_PUSH] = {.build = build_push,
                   .route = "PUT /sites/{site_id}/environments",
                   .op = true},
    [STEP_WP_CLI] = {.build = build_wp_cli,
                     .route = "POST /sites/environments/{env_id}/"
                              "run-wp-cli-command",
                     .op = true},
    [STEP_FIND_SITE] = {.build = build_find_site,
                        .answer = answer_find_site,
                        .advances = true,
                        .route = "GET /sites"},
    [STEP_CREATE_SITE] = {.build = build_create_site,
                          .route = "POST /sites",
                          .op = true},
    [STEP_DEPLOY] = {.build = build_deploy, .route = "POST /%s/deployments"},
    [STEP_REQUEST] = {.build = build_request, .keeps_answer = true, .op = true},
    [STEP_REPORT_SITES] = {.build = build_report_sites,
                           .answer = report_begin,
                           .lists = true,
                           .advances = true,
                           .route = "GET /sites"},
    [STEP_REPORT_USERS] = {.build = build_report_users,
                           .answer = report_users,
                           .advances = true,
                           .route = "GET /company/{company}/users"},
    [STEP_REPORT_ENV] = {.build = build_report_env,
                         .answer = report_env,
                         .route = "GET /sites/environments/{env_id}/plugins, "
                                  "GET /sites/environments/{env_id}/themes, "
                                  "GET /sites/environments/{env_id}/backups"},
    [STEP_CLONE_SITE] = {.build = build_clone_site,
                         .route = "POST /sites/clone",
                         .op = true},
    [STEP_LIST_DOMAINS] = {.build = build_list_domains,
                           .answer = pick_domains,
                           .lists = true,
                           .advances = true,
                           .route = "GET /sites/environments/{env_id}/"
                                    "domains"},
    [STEP_ADD_DOMAIN] = {.build = build_add_domain,
                         .route = "POST /sites/environments/{env_id}/domains",
                         .op = true},
    [STEP_DROP_DOMAINS] = {.build = build_drop_domains,
                           .route = "DELETE /sites/environments/{env_id}/"
                                    "domains",
                           .op = true},
    [STEP_PICK_BACKUP] = {.build = build_pick_backup,
                          .answer = pick_backup,
                          .advances = true,
                          .route = "GET /sites/environments/{env_id}/"
                                   "backups"},
    [STEP_FETCH_LOGS] = {.build = build_fetch_logs,
                         .answer = read_logs,
                         .advances = true,
                         .keeps_answer = true,
                         .route = "GET /sites/environments/{env_id}/logs"},
    [STEP_PROBE_BEFORE] = {.build = build_probe},
    [STEP_CHECK_EXT] = {.build = build_check_ext,
                        .answer = check_versions,
                        .route = "GET /sites/environments/{env_id}/%s"},
    [STEP_PROBE_AFTER] = {.build = build_probe},
    [STEP_FIND_USER] = {.build = build_find_user,
                        .answer = pick_user,
                        .advances = true,
                        .route = "GET /company/{company}/users"},
    [STEP_RESTORE] = {.build = build_restore,
                      .route = "POST /sites/environments/{env_id}/backups/"
                               "restore",
                      .op = true},
    [STEP_PROBE_RESTORED] = {.build = build_probe},
};

/* A dry run answers a change itself (exec's "{}"): not Kinsta's answer,
 * so not one to show or save. */
static bool
faked_answer(const struct kinsta_run *run)
{
	const char *m = config_param_str(run->job, "method");

	return run->dry && cur(run) == STEP_REQUEST && m != NULL &&
	       strcmp(m, "GET") != 0;
}

/* Keep (a bounded copy of) the answer of a step that shows it. */
static int
keep_answer(struct kinsta_run *run, long status, const char *body, size_t len)
{
	size_t n = len < KINSTA_ANSWER_MAX ? len : KINSTA_ANSWER_MAX;

	free(run->answer);
	if ((run->answer = malloc(n + 1)) == NULL) {
		run->answer_len = 0;
		run->answer_status = 0;
		return -ENOMEM;
	}
	if (n > 0)
		memcpy(run->answer, body, n);
	run->answer[n] = '\0';
	run->answer_len = n;
	run->answer_cut = n < len;
	run->answer_status = status;
	return 0;
}

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
	if (step->keeps_answer && status != 0 && !faked_answer(run) &&
	    keep_answer(run, status, body, len) < 0)
		return end_run(run, KINSTA_FAILED, "out of memory");
	if (status == 0)
		return end_run(run, KINSTA_FAILED,
		               error && *error ? error : "no answer");
	if (status < 200 || status > 299) {
		kinsta_error_message(status, body, len, msg);
		if (report_usage_refused(run, status, msg))
			return run->report->err ? end_run(run, KINSTA_FAILED,
			                                  "cannot encode the "
			                                  "report")
			                        : KINSTA_SEND;
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
	/* with its operation followed to its end, or none to follow */
	if (cur(run) == STEP_RESTORE)
		run->restored = true;
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
	enum action_step s = cur(run);
	const char *of = config_param_str(run->job, "on_failure");
	char why[KINSTA_MSG_MAX];

	run->sent = false;
	if (s == STEP_RESTORE && state != OPS_SUCCEEDED) {
		restore_failed(
		    run,
		    state == OPS_TIMED_OUT ? KINSTA_TIMED_OUT : KINSTA_FAILED,
		    message && *message ? message : "operation failed");
		return KINSTA_DONE;
	}
	/* a failed update may have changed some items: restore too */
	if (s == STEP_UPDATE_EXT && state == OPS_FAILED && of != NULL &&
	    strcmp(of, "restore") == 0) {
		snprintf(why, sizeof(why), "update failed: %.200s",
		         message && *message ? message : "operation failed");
		run->op_id[0] = '\0';
		if (fail_update(run, why) == KINSTA_DONE)
			return KINSTA_DONE;
		advance(run);
		return KINSTA_SEND;
	}
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

	if ((cur(run) != STEP_CREATE_SITE && cur(run) != STEP_CLONE_SITE) ||
	    len == 0 || json_parse(&doc, body, len, NULL, err, sizeof(err)) < 0)
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
	size_t nurls = 0;

	if (job->target.kind == CONFIG_TARGET_NONE)
		return false;
	/* clear_caches_after: the CDN id and whether edge caching is on;
	 * a request's placeholders other than {env_id}: the site's names;
	 * verify: the primary domain, the site's and environment's names */
	config_param_list(job, "verify.urls", &nurls);
	return job->target.kind != CONFIG_TARGET_ENVIRONMENTS ||
	       action_get(job->action)->listing ||
	       config_param_bool(job, "clear_caches_after") || nurls > 0 ||
	       ((tmpl_uses(config_param_str(job, "path")) |
	         tmpl_uses(config_param_str(job, "body"))) &
	        (TMPL_TARGET_VARS & ~TMPL_BIT(TMPL_ENV_ID)));
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
	/* {domain} of the probes: the primary domain, else the first */
	if ((v = json_str(env, "primaryDomain", "name", NULL)) == NULL)
		v = json_str(json_arr_at(json_arr(env, "domains", NULL), 0),
		             "name", NULL);
	snprintf(t->domain, sizeof(t->domain), "%s", v ? v : "");
#undef COPY
	t->resolved = true;
}

/* push-environment and refresh-staging: the source and the target
 * environment are named by the job, not by the selector. */
static bool
is_push(const struct config_job *job)
{
	return job->action == ACTION_PUSH_ENVIRONMENT ||
	       job->action == ACTION_REFRESH_STAGING;
}

/* push-environment: the source environment, in the target's own site;
 * refresh-staging: the site's live environment. */
static bool
set_source(struct target *t, const struct config_job *job, yajl_val envs)
{
	const char *src = job->action == ACTION_REFRESH_STAGING
	                      ? "live"
	                      : config_param_str(job, "source");
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
				if (is_push(job))
					set_source(&t[count], job, envs);
				count++;
			}
			continue;
		}
		{
			bool push = is_push(job);
			const char *envname =
			    job->action == ACTION_REFRESH_STAGING ? "staging"
			    : push ? config_param_str(job, "target")
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

/* ---- what a run shows and saves ------------------------------------------ */

int
kinsta_answer_finish(struct kinsta_run *run, int64_t now_ms)
{
	const struct target *t = &run->target;
	struct json_writer w;
	yajl_val doc = NULL;
	const char *line;
	char when[64], err[64];
	size_t len;
	int rc;

	if (run->answer == NULL || run->answer_status == 0)
		return -ENOENT;
	if (run->answer_cut || run->answer_len == 0 ||
	    json_parse(&doc, run->answer, run->answer_len, NULL, err,
	               sizeof(err)) < 0)
		doc = NULL;
	util_time_iso(when, sizeof(when), NULL, now_ms / 1000, -1);
	json_w_init(&w);
	json_w_obj_open(&w);
	json_w_key_str(&w, "time", when);
	json_w_key_str(&w, "job", run->job->name);
	json_w_key(&w, "target");
	if (run->job->target.kind == CONFIG_TARGET_NONE) {
		json_w_null(&w);
	} else {
		json_w_obj_open(&w);
		json_w_key_str(&w, "site_id", t->site_id);
		json_w_key_str(&w, "site_name", t->site_name);
		json_w_key_str(&w, "env_id", t->env_id);
		json_w_key_str(&w, "env_name", t->env_name);
		json_w_obj_close(&w);
	}
	json_w_key_int(&w, "status", run->answer_status);
	/* the answer as JSON when it is, written again (so one line, and
	 * nothing but what was parsed); else as text */
	if (doc != NULL) {
		json_w_key(&w, "answer");
		json_w_tree(&w, doc);
	} else {
		json_w_key(&w, "answer_text");
		json_w_strn(&w, run->answer, run->answer_len);
		json_w_key_bool(&w, "truncated", run->answer_cut);
	}
	json_free(doc);
	json_w_obj_close(&w);
	if ((rc = json_w_finish(&w, &line, &len)) < 0) {
		json_w_free(&w);
		return rc;
	}
	free(run->answer_line);
	if ((run->answer_line = malloc(len + 2)) == NULL) {
		json_w_free(&w);
		return -ENOMEM;
	}
	memcpy(run->answer_line, line, len);
	memcpy(run->answer_line + len, "\n", 2);
	run->answer_line_len = len + 1;
	json_w_free(&w);
	return 0;
}

void
kinsta_answer_short(const struct kinsta_run *run, char *buf, size_t len)
{
	size_t o;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (run->answer == NULL || run->answer_status == 0)
		return;
	o = (size_t)snprintf(buf, len, "HTTP %ld, %zu%s bytes%s",
	                     run->answer_status, run->answer_len,
	                     run->answer_cut ? "+" : "",
	                     run->answer_len ? ": " : "");
	if (o + 1 < len && run->answer_len > 0) {
		size_t room = len - o < 201 ? len - o : 201;

		copy_text(buf + o, room, run->answer,
		          run->answer_len < room ? run->answer_len : room);
		if (run->answer_len >= room && len - o > 4)
			snprintf(buf + strlen(buf), len - strlen(buf), "...");
	}
}

/* Add "METHOD path" (variant put in for %s) to buf at *o, once. */
static void
route_add(char *buf, size_t len, size_t *o, const char *route,
          const char *variant)
{
	char one[320];

	size_t n;

	snprintf(one, sizeof(one), route, variant ? variant : "");
	n = strlen(one);
	/* once: an item of the list is one, whole */
	for (const char *p = buf; *o > 0 && *o < len && p != NULL;
	     p = strstr(p, ", ") ? strstr(p, ", ") + 2 : NULL)
		if (strncmp(p, one, n) == 0 && (p[n] == '\0' || p[n] == ','))
			return;
	*o += (size_t)snprintf(*o < len ? buf + *o : NULL,
	                       *o < len ? len - *o : 0, "%s%s", *o ? ", " : "",
	                       one);
}

/* May step ever send a request for job?  An update job clears caches
 * only with clear_caches_after, backs up only with backup_first, and
 * restores only with on_failure = "restore". */
static bool
step_may_send(const struct config_job *job, enum action_step step)
{
	bool update = job->action == ACTION_UPDATE_PLUGINS ||
	              job->action == ACTION_UPDATE_THEMES;

	switch (step) {
	case STEP_PAGE:
	case STEP_EDGE:
	case STEP_CDN:
		return !update || config_param_bool(job, "clear_caches_after");
	case STEP_SLOTS_LIST:
	case STEP_SLOTS_DROP:
	case STEP_PRE_BACKUP:
	case STEP_LIST_BACKUPS:
	case STEP_DROP_BACKUPS:
		return !update || config_param_bool(job, "backup_first");
	case STEP_FIND_USER:
	case STEP_RESTORE: {
		const char *f = config_param_str(job, "on_failure");

		return !update || (f != NULL && strcmp(f, "restore") == 0);
	}
	default:
		return true;
	}
}

int
kinsta_job_routes(const struct config_job *job, char *buf, size_t len)
{
	const struct action *a = action_get(job->action);
	const char *variant = a->variant;
	size_t o = 0;
	bool op = false;

	if (len > 0)
		buf[0] = '\0';
	if (kinsta_needs_listing(job))
		route_add(buf, len, &o, "GET /sites", NULL);
	for (int i = 0; i <= ACTION_MAX_STEPS && a->steps[i] != STEP_END; i++) {
		const struct step_ops *st = &steps[a->steps[i]];
		char route[600];

		if (!step_may_send(job, a->steps[i]))
			continue;
		if (a->steps[i] == STEP_REQUEST) {
			snprintf(route, sizeof(route), "%s %s",
			         config_param_str(job, "method")
			             ? config_param_str(job, "method")
			             : "GET",
			         config_param_str(job, "path"));
			/* the path is the user's: no %s to fill */
			route_add(buf, len, &o, "%s", route);
		} else if (a->steps[i] == STEP_CREATE_SITE &&
		           config_param_str(job, "install_mode") != NULL &&
		           strcmp(config_param_str(job, "install_mode"),
		                  "plain") == 0) {
			route_add(buf, len, &o, "POST /sites/plain", NULL);
		} else if (st->route != NULL) {
			route_add(buf, len, &o, st->route, variant);
		}
		op = op || st->op;
	}
	if (a->steps[0] == STEP_DEPLOY)
		route_add(buf, len, &o, "GET /%s/deployments/{deployment_id}",
		          variant);
	else if (op)
		route_add(buf, len, &o, "GET /operations/{operation_id}", NULL);
	return (int)o;
}
