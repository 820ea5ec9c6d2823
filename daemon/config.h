/*
 * config: the configuration file -> an immutable struct config.
 *
 * The file is the daemon's whole user interface, so the loader checks
 * everything it can without the network: syntax (libconfig's message),
 * unknown keys (with a suggestion), types and ranges (read as 64-bit,
 * with the source line re-scanned because libconfig 1.5 wraps large
 * literals), names, duplicates across the main file and include_dir,
 * schedules, zones, actions and their parameters, targets, the API URL and
 * every account's key source.  It reports every error it finds as one
 * "FILE:LINE: ..." line and then fails; it never prints a key.
 *
 * A loaded config owns all its memory (one arena for strings, one zone
 * cache) and holds no libconfig object, so a reload loads a new one and
 * swaps.  Nothing here is global.  The language is documented in
 * kinsta-cron.conf(5).
 */
#ifndef KCRON_CONFIG_H
#define KCRON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "action.h"
#include "cron.h"
#include "keys.h"
#include "tz.h"

/* Errors beyond this many are counted, not kept. */
#define CONFIG_MAX_ERRORS 1000

/* Every error of one load, each a single printable line "FILE:LINE: ...". */
struct config_errors {
	char **msgs;
	size_t n, cap;
	size_t dropped; /* errors past CONFIG_MAX_ERRORS */
};

/* One validated action parameter; defaults are filled in, so every
 * parameter of the action is present except unset optional strings. */
struct config_param {
	const char *name;
	enum action_param_type type;
	const char *str;   /* STRING, UUID, ENUM */
	int64_t num;       /* INT; BOOL as 0 or 1 */
	const char **list; /* LIST */
	size_t nlist;
};

enum config_target_kind {
	CONFIG_TARGET_NONE,
	CONFIG_TARGET_ENVIRONMENTS, /* environment_id / environment_ids */
	CONFIG_TARGET_SITES,        /* site / sites: site names */
	CONFIG_TARGET_LABELS,       /* label / labels: site labels */
	CONFIG_TARGET_ALL_SITES     /* all_sites = true */
};

struct config_target {
	enum config_target_kind kind;
	const char **values; /* environment ids, site names or labels */
	size_t nvalues;
	/* selectors: the environment names, in the order they run
	 * ("staging" then "live": a site's later environment only where its
	 * earlier ones did not fail); environment is the first, and the
	 * only one when a single string is given (default "live") */
	const char *environment;
	const char *const *environments;
	size_t nenvironments;
	const char **exclude_sites;
	size_t nexclude;
};

struct config_account {
	const char *name;
	const char *company;  /* UUID */
	const char *key_file; /* as configured, resolved; NULL if unset */
	enum keys_source key_source;
	const char *key_path; /* the file the key is read from; NULL for env */
	const char *file;
	int line;
};

/* How a fire's targets start (rollout.c): the first `canary` alone, then
 * batches of `batch`, each once the earlier ones ended with fewer than
 * `halt_after` failures.  Without a rollout group: no canary, one batch
 * of every target (batch 0), never halted (halt_after 0). */
struct config_rollout {
	int64_t canary;     /* 0-10000; 1 when the group leaves it out */
	int64_t batch;      /* 1-10000 (10); 0: all at once */
	int64_t halt_after; /* 0-10000 (1); 0: never halt */
	bool set;           /* the job (or defaults) has a rollout group */
};

/* Which fires are notified (config_notify.on): bits. */
#define CONFIG_NOTIFY_FAILURE     0x01u
#define CONFIG_NOTIFY_RECOVERY    0x02u
#define CONFIG_NOTIFY_SUCCESS     0x04u
#define CONFIG_NOTIFY_ROLLED_BACK 0x08u
#define CONFIG_NOTIFY_SKIPPED     0x10u

enum config_notify_format { CONFIG_NOTIFY_SLACK, CONFIG_NOTIFY_JSON };

/* Where and when the end of a fire is told (`notify`): the top-level
 * group is every job's default; a job's own group overrides it key by
 * key.  Shared between jobs: a job points at its config's copy. */
struct config_notify {
	const char *webhook; /* NULL: none */
	enum config_notify_format format;
	const char **email; /* addresses, through sendmail */
	size_t nemail;
	unsigned on;          /* CONFIG_NOTIFY_* */
	int64_t repeat_every; /* seconds between two messages of one failure */
	const char *from;     /* the email's From:, NULL: kinsta-cron@host */
	const char *file;     /* where it is set */
	int line;
};

/* How notifications and heartbeats are delivered (top-level notify only). */
struct config_delivery {
	int64_t timeout_ms; /* per attempt: HTTP request, or sendmail */
	int64_t retry_min_ms, retry_max_ms; /* backoff between attempts */
	int64_t give_up_ms;                 /* dropped (and logged) after */
	int64_t parallel;                   /* deliveries at once */
};

enum config_overlap { CONFIG_OVERLAP_SKIP, CONFIG_OVERLAP_QUEUE };
enum config_catch_up { CONFIG_CATCH_UP_NONE, CONFIG_CATCH_UP_ONCE };

struct config_job {
	const char *name;
	const char *file; /* where the job's name is set */
	int line;
	const char *schedule;
	struct cron cron;
	const struct tz *zone; /* owned by the config's zone cache */
	size_t account;        /* index into config.accounts */
	enum action_id action;
	struct config_param *params;
	size_t nparams;
	struct config_target target;
	bool enabled;
	int64_t jitter; /* seconds of random delay, 0-3600 */
	enum config_overlap overlap;
	enum config_catch_up catch_up;
	int64_t timeout; /* seconds for the operation; 0: the action's own */
	int64_t retries; /* 0-10 */
	/* window: runs start only from window_from to window_to, minutes of
	 * the day in the job's zone (window_to < window_from: past midnight);
	 * both -1 without a window */
	int window_from, window_to;
	struct config_rollout rollout;
	const struct config_notify *notify; /* own, the default, or NULL */
	const char *heartbeat; /* healthchecks.io ping URL, or NULL */
};

struct config_rate_limits {
	int64_t company, ip, create, logs; /* requests per minute */
};

struct config_store;

/* The HTTP face's listener (listen = { ... }); address NULL: off. */
enum config_listen_kind {
	CONFIG_LISTEN_IPV4,
	CONFIG_LISTEN_IPV6,
	CONFIG_LISTEN_UNIX
};
struct config_listen {
	const char *address; /* as written, or NULL */
	enum config_listen_kind kind;
	const char *host;        /* the numeric address, or the socket path */
	int port;                /* 1-65535; 0 for a Unix socket */
	const char *token_file;  /* NULL: $CREDENTIALS_DIRECTORY/api-token */
	int64_t max_connections; /* at once, 1-10000 */
	int64_t timeout;         /* seconds a connection may idle, 1-3600 */
	int64_t max_body;        /* bytes of a request body, 1 KiB - 16 MiB */
	/* the actions an ad-hoc run may take: CONFIG_ACTION_BIT(id)s */
	uint64_t allow_actions;
};

#define CONFIG_ACTION_BIT(id) (UINT64_C(1) << (unsigned)(id))
/* allow_actions when the file does not say: the cache clears,
 * restart-php and backup */
#define CONFIG_ALLOW_ACTIONS_DEFAULT                                           \
	(CONFIG_ACTION_BIT(ACTION_CLEAR_CACHE) |                               \
	 CONFIG_ACTION_BIT(ACTION_CLEAR_EDGE_CACHE) |                          \
	 CONFIG_ACTION_BIT(ACTION_CLEAR_CDN_CACHE) |                           \
	 CONFIG_ACTION_BIT(ACTION_CLEAR_ALL_CACHES) |                          \
	 CONFIG_ACTION_BIT(ACTION_RESTART_PHP) |                               \
	 CONFIG_ACTION_BIT(ACTION_BACKUP))

/* Slack slash commands (slack = { ... }); enabled false: absent. */
struct config_slack {
	bool enabled;
	const char **allow_users; /* user ids or names */
	size_t nallow_users;
	const char **allow_channels; /* channel ids or names */
	size_t nallow_channels;
	const char *signing_secret_file; /* NULL: the credential */
};

struct config {
	const char *path;
	const char *api_url;     /* no trailing slash */
	const char *api_ca_file; /* NULL: the system's CA store */
	int64_t api_timeout;     /* seconds per HTTP request */
	const char *state_dir;
	const char *timezone; /* the global default zone's name */
	const struct tz *zone;
	const char *log_level;
	const char *include_dir; /* NULL if unset */
	struct config_rate_limits rate_limits;
	const struct config_notify *notify; /* the default, or NULL */
	struct config_delivery delivery;
	const char *sendmail; /* the sendmail program: /usr/sbin/sendmail */
	/* metrics.textfile: where the Prometheus text goes; NULL unset */
	const char *metrics_textfile;
	struct config_listen listen;
	struct config_slack slack;
	struct config_account *accounts;
	size_t naccounts;
	struct config_job *jobs;
	size_t njobs;
	struct config_store *store; /* private: arena and zone cache */
};

/* state_dir when the file does not set it. */
#define CONFIG_DEFAULT_STATE_DIR "/var/lib/kinsta-cron"

/* config_load flags. */
/* Do not look at key sources (fuzzing). */
#define CONFIG_LOAD_NO_KEYS 0x1u
/* Check include_dir's value, do not read the folder (fuzzing). */
#define CONFIG_LOAD_NO_INCLUDE_DIR 0x2u

/* Load PATH (and include_dir) into a new *out; 0, or -EINVAL (errors in
 * errs, which may be NULL) or -ENOMEM; *out is NULL on failure. */
int config_load(const char *path, unsigned flags, struct config **out,
                struct config_errors *errs);

/* As config_load, for TEXT named NAME in messages; relative paths resolve
 * against the current directory. */
int config_load_string(const char *text, const char *name, unsigned flags,
                       struct config **out, struct config_errors *errs);

/* The state_dir of PATH read from its text alone, for a file that does
 * not load (status and trigger then still find the daemon's socket): the
 * last top-level `state_dir = "...";` line, resolved against the file's
 * folder, or CONFIG_DEFAULT_STATE_DIR when there is none or the file
 * cannot be read.  Returns buf. */
const char *config_guess_state_dir(const char *path, char *buf, size_t len);

/* Release a config from config_load (NULL is fine). */
void config_free(struct config *cfg);

/* Release the messages of errs and empty it. */
void config_errors_free(struct config_errors *errs);

/* Does job a of ca do exactly what job b of cb does (schedule, zone,
 * account, action, parameters, target, settings, notify, heartbeat)?
 * For a reload's log. */
bool config_job_same(const struct config *ca, const struct config_job *a,
                     const struct config *cb, const struct config_job *b);

/* The job of TO that does exactly what JOB of FROM does (config_job_same),
 * under an account of the same company and key source: a run of JOB under
 * way at a reload can go on as a run of it, and FROM be freed at once.
 * NULL when there is none. */
const struct config_job *config_same_job(const struct config *from,
                                         const struct config_job *job,
                                         const struct config *to);

/* One field of an ad-hoc job, as a request gives it (JSON's shapes). */
enum config_value_kind {
	CONFIG_VALUE_STRING,
	CONFIG_VALUE_INT,
	CONFIG_VALUE_BOOL, /* num 0 or 1 */
	CONFIG_VALUE_LIST, /* of strings */
	CONFIG_VALUE_GROUP /* of fields: verify = { urls = [...]; } */
};

struct config_value {
	const char *key;
	enum config_value_kind kind;
	const char *str;
	int64_t num;
	const char *const *list;
	size_t nlist;
	const struct config_value *members;
	size_t nmembers;
};

/* A job of one run, made on the spot (the HTTP face's actions, Slack's
 * commands): it owns the job and its strings. */
struct config_adhoc;

/* Make the job of one run of ACTION with the fields V[0..N) (a target,
 * the action's parameters, account, timeout, retries), checked as a job
 * of the file is, under BASE's accounts, zone and notify (none of its
 * defaults).  Its name is AS, or else "@ACTION:TARGET" (with
 * "ACCOUNT/" before TARGET when BASE has several accounts), which no job
 * of a file can have; its account is an index of BASE's, so that it runs
 * under BASE.  0, or -EINVAL with the one thing to fix in err (no
 * file:line), or -ENOMEM. */
int config_adhoc_new(struct config_adhoc **out, const struct config *base,
                     enum action_id action, const char *as,
                     const struct config_value *v, size_t n, char *err,
                     size_t errlen);

/* The action and the account ("" when the name has none) of an ad-hoc
 * job's NAME, for a run to follow again after a restart; 0, or -EINVAL
 * when NAME is no such name. */
int config_adhoc_parse_name(const char *name, enum action_id *action,
                            char *account, size_t len);

/* The job. */
const struct config_job *config_adhoc_job(const struct config_adhoc *a);

/* Release it (NULL is fine). */
void config_adhoc_free(struct config_adhoc *a);

/* Split a listen address ("127.0.0.1:8787", "[::1]:8787" or an absolute
 * socket path) into l's kind, host and port, the host written to buf;
 * 0, or -EINVAL with what is wrong in err. */
int config_listen_parse(struct config_listen *l, const char *address, char *buf,
                        size_t len, char *err, size_t errlen);

/* May a run of job start at t (seconds since the epoch): inside its
 * window, in its zone, or always when it has none? */
bool config_window_open(const struct config_job *job, int64_t t);

/* The job called NAME, or NULL. */
const struct config_job *config_find_job(const struct config *cfg,
                                         const char *name);

/* The job's parameter NAME, or NULL when it is not set. */
const struct config_param *config_param(const struct config_job *job,
                                        const char *name);

/* Parameter NAME as a string (STRING, UUID, ENUM), or NULL. */
const char *config_param_str(const struct config_job *job, const char *name);

/* Parameter NAME as a boolean; false when unset. */
bool config_param_bool(const struct config_job *job, const char *name);

/* Parameter NAME as an integer; 0 when unset. */
int64_t config_param_int(const struct config_job *job, const char *name);

/* Parameter NAME as a list (*n entries), or NULL with *n = 0. */
const char *const *config_param_list(const struct config_job *job,
                                     const char *name, size_t *n);

/* Describe a target in one short line ("label shop (live)"); returns
 * the length snprintf would need. */
int config_target_describe(const struct config_target *t, char *buf,
                           size_t len);

#endif
