/*
 * action: the registry of what a job can do.
 *
 * One entry per action: its name as written in the configuration, what it
 * acts on, its parameters (type, default, check), the steps it takes, and
 * the default time limit of its operations.  config reads it to check a
 * job, kinsta to walk a run's steps, exec for the time limit, and `check`
 * to list the actions.  Pure data and pure functions, no I/O.
 *
 * A step is a kind of request (clear the page cache, list the backups,
 * delete one backup...); kinsta holds one builder per step kind, so an
 * action made of existing steps is one entry here plus its tests, and a
 * new kind of request is one builder in kinsta.
 */
#ifndef KCRON_ACTION_H
#define KCRON_ACTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum action_id {
	ACTION_CLEAR_CACHE,
	ACTION_CLEAR_EDGE_CACHE,
	ACTION_CLEAR_CDN_CACHE,
	ACTION_CLEAR_ALL_CACHES,
	ACTION_RESTART_PHP,
	ACTION_SET_PHP_VERSION,
	ACTION_BACKUP,
	ACTION_UPDATE_PLUGINS,
	ACTION_UPDATE_THEMES,
	ACTION_PUSH_ENVIRONMENT,
	ACTION_RUN_WP_CLI,
	ACTION_CREATE_SITE,
	ACTION_DEPLOY_APP,
	ACTION_DEPLOY_STATIC_SITE,
	ACTION_REPORT,
	ACTION_REQUEST,
	ACTION_REFRESH_STAGING,
	ACTION_CLONE_SITE,
	ACTION_ADD_DOMAIN,
	ACTION_REMOVE_DOMAIN,
	ACTION_FETCH_LOGS,
	ACTION_RESTORE_BACKUP,
	ACTION_COUNT, /* the actions of the configuration language */
	/* The daemon's own, which no file or request can name: */
	ACTION_SITE_STATUS = ACTION_COUNT, /* the HTTP face's site view */
	ACTION_ALL
};

/* What an action acts on. */
enum action_target {
	ACTION_TARGET_NONE,     /* the company (create-site, report) */
	ACTION_TARGET_REQUIRED, /* environments: exactly one target selector */
	ACTION_TARGET_OPTIONAL  /* request: environments if a selector is set */
};

enum action_param_type {
	ACTION_PARAM_STRING,
	ACTION_PARAM_BOOL,
	ACTION_PARAM_INT,
	ACTION_PARAM_LIST, /* a string or a list of strings */
	ACTION_PARAM_UUID,
	ACTION_PARAM_ENUM
};

struct action_param {
	const char *name;
	enum action_param_type type;
	bool required;
	const char *def; /* default as text; NULL: unset unless given */
	const char *const *choices;          /* ENUM: NULL-terminated */
	int64_t min, max;                    /* INT */
	const char *(*check)(const char *v); /* STRING: NULL or what is wrong */
};

/* The kinds of request a run can send, one builder each in kinsta. */
enum action_step {
	STEP_END,          /* 0: ends every step list */
	STEP_PAGE,         /* POST /sites/tools/clear-cache */
	STEP_EDGE,         /* POST /sites/edge-caching/clear */
	STEP_CDN,          /* POST /sites/cdn/clear-cache */
	STEP_PHP_RESTART,  /* POST /sites/tools/restart-php */
	STEP_PHP_VERSION,  /* PUT /sites/tools/modify-php-version */
	STEP_SLOTS_LIST,   /* GET .../backups: what to drop for a free slot */
	STEP_SLOTS_DROP,   /* DELETE kinsta-cron's backups to free a slot */
	STEP_BACKUP,       /* POST .../manual-backups with the job's tag */
	STEP_LIST_BACKUPS, /* GET .../backups: pick this job's surplus */
	STEP_DROP_BACKUPS, /* DELETE /sites/environments/backups/{id}, each */
	STEP_LIST_EXT,     /* GET .../plugins or .../themes */
	STEP_PRE_BACKUP,   /* backup_first: POST .../manual-backups */
	STEP_UPDATE_EXT,   /* PUT .../plugins/bulk-update (or themes) */
	STEP_PUSH,         /* PUT /sites/{site}/environments */
	STEP_WP_CLI,       /* POST .../run-wp-cli-command */
	STEP_FIND_SITE,    /* GET /sites: is there one of that name already? */
	STEP_CREATE_SITE,  /* POST /sites */
	STEP_DEPLOY,       /* POST /applications|static-sites/deployments */
	STEP_REQUEST,      /* any method and path */
	STEP_REPORT_SITES, /* GET /sites?company=..&include_environments=true */
	STEP_REPORT_USERS, /* GET /company/{id}/users */
	STEP_REPORT_ENV, /* GET plugins, themes, backups of each environment */
	/* Verified updates and restores (issue 13).  A probe is a plain GET
	 * of the site's own page (verify.urls), not an API request. */
	STEP_PROBE_BEFORE,   /* the site is healthy before anything changes */
	STEP_CHECK_EXT,      /* GET .../plugins again: each item at its new
	                      * version? */
	STEP_PROBE_AFTER,    /* the site is still healthy after the update */
	STEP_FIND_USER,      /* GET /company/{id}/users: notified_user_id */
	STEP_RESTORE,        /* POST .../backups/restore {backup_id} */
	STEP_PROBE_RESTORED, /* the site is healthy again after the restore */
	STEP_CLONE_SITE,     /* POST /sites/clone */
	STEP_LIST_DOMAINS,   /* GET .../domains: there already, or their ids */
	STEP_ADD_DOMAIN,     /* POST .../domains */
	STEP_DROP_DOMAINS,   /* DELETE .../domains {domain_ids} */
	STEP_FETCH_LOGS,     /* GET .../logs?file_name=..&lines=.. */
	STEP_PICK_BACKUP,    /* GET .../backups: the one restore-backup names */
	STEP_COUNT
};

/* Steps of the longest action; a run saves its index into the list, and
 * the step's name with it. */
#define ACTION_MAX_STEPS 20

struct action {
	const char *name; /* as written in the configuration */
	enum action_target target;
	/* Environment ids alone are not enough: the run needs what the
	 * company's site list says (site id, CDN id, sibling environments). */
	bool listing;
	/* The action's variant, for steps shared by two actions: the
	 * extension kind ("plugins", "themes") or the deployment collection
	 * ("applications", "static-sites"). */
	const char *variant;
	const struct action_param *params;
	size_t nparams;
	enum action_step steps[ACTION_MAX_STEPS + 1]; /* ends with STEP_END */
	int64_t limit_s; /* default time limit of one operation */
};

/* The entry of id, or NULL when id is out of range. */
const struct action *action_get(enum action_id id);

/* The id of the action called name (of the language), or -ENOENT. */
int action_find(const char *name);

/* The action's name ("clear-cache"), or "?" when id is out of range. */
const char *action_name(enum action_id id);

/* Parameter name of action a, or NULL. */
const struct action_param *action_param_find(const struct action *a,
                                             const char *name);

/* Is name a group of a's parameters ("verify" for "verify.urls")?  With a
 * NULL, of any action's. */
bool action_param_group(const struct action *a, const char *name);

/* Does any action have a parameter called name? */
bool action_param_known(const char *name);

/* A step kind's name for logs ("backup", "delete-backup"), or "?". */
const char *action_step_name(enum action_step step);

/* The step kind called name, or -ENOENT. */
int action_step_find(const char *name);

/* Every action's name, ", "-separated, into buf; returns the length
 * snprintf would need. */
int action_list(char *buf, size_t len);

#endif
