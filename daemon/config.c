/*
 * config: the configuration file -> an immutable struct config.
 *
 * This file is the language: which keys exist where, what they mean and
 * how they combine (defaults, targets, action parameters, include_dir).
 * Reading a setting as a type and reporting at its file and line is
 * cfgread's; the actions and their parameters are action.c's.
 *
 * The loader keeps the main file's config_t alive for the whole load (the
 * `defaults` group is read by every job, in conf.d files too) and reads
 * each conf.d file into a config_t of its own that is destroyed as soon as
 * it is copied out.  Everything that survives lives in mappings of its own
 * (mapmem): the strings, struct config itself and the small pieces in one
 * arena, the jobs and the accounts in arrays grown with mremap.  None of
 * it is in the heap, where libconfig's tree (about 1 kB a job, ten times
 * what the job keeps) is built and freed meanwhile: a reload leaves no
 * configuration pinning the tree's pages, and a configuration freed goes
 * back to the kernel whole.  What only the load needs (accounts as a job
 * names them, the name tables) goes with the loader.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <arpa/inet.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfgread.h"
#include "config.h"
#include "keys.h"
#include "mapmem.h"
#include "tmpl.h"
#include "util.h"

#define DEFAULT_URL       "https://api.kinsta.com/v2"
#define DEFAULT_STATE_DIR CONFIG_DEFAULT_STATE_DIR

/* ---- error list ---------------------------------------------------- */

/* The reader's sink: keep MSG (one line already) in the list ARG. */
static int
errors_add(void *arg, const char *msg)
{
	struct config_errors *e = arg;
	char *copy;

	if (e == NULL)
		return 0;
	if (e->n >= CONFIG_MAX_ERRORS) {
		e->dropped++;
		return 0;
	}
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		char **m = realloc(e->msgs, cap * sizeof(*m));

		if (m == NULL)
			return -ENOMEM;
		e->msgs = m;
		e->cap = cap;
	}
	if ((copy = strdup(msg)) == NULL)
		return -ENOMEM;
	e->msgs[e->n++] = copy;
	return 0;
}

void
config_errors_free(struct config_errors *errs)
{
	if (errs == NULL)
		return;
	for (size_t i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	memset(errs, 0, sizeof(*errs));
}

/* ---- arena and zone cache -------------------------------------------- */

struct zone_entry {
	const char *name;
	struct tz *tz; /* NULL: loading failed, err says why */
	const char *err;
};

/* Lives in its own arena, with the struct config it belongs to. */
struct config_store {
	struct cfgread_arena arena;
	struct zone_entry *zones;
	size_t nzones, zcap;
	size_t jobs_cap, accounts_cap; /* of the mapmem arrays */
};

/* ---- the loader -------------------------------------------------------- */

/* A job's `account` names an account not (yet) defined when the job is
 * read: resolved once every file is read.  Most jobs name an account
 * defined above them and are resolved at once, keeping nothing. */
struct pending {
	size_t job;
	const char *name; /* in the loader's scratch */
	const char *file;
	int line;
};

/* config_job.account while loading: no `account` (the only account, if
 * there is one), or an account to resolve (struct pending). */
#define ACCOUNT_UNSET   SIZE_MAX
#define ACCOUNT_PENDING (SIZE_MAX - 1)

struct loader {
	struct cfgread rd; /* rd.shared: the main file's `defaults`, or NULL */
	struct config *cfg;
	unsigned flags;
	int accounts_line; /* where `accounts` is, for "no account" */
	struct cfgread_names jobs_by_name, accounts_by_name;
	struct pending *pending; /* in job order */
	size_t npending, pending_cap;
	struct cfgread_arena scratch; /* strings that die with the loader */
};

/* Shorthands for the reader calls this file makes most.  The API-key code
 * (check_keys and its helpers, near the end) calls them by these names. */

static void
nomem(struct loader *L)
{
	cfgread_nomem(&L->rd);
}

static void __attribute__((format(printf, 4, 5)))
lerr(struct loader *L, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfgread_verror_at(&L->rd, file, line, fmt, ap);
	va_end(ap);
}

static char *
arena_strdup(struct config_store *st, const char *s)
{
	return cfgread_arena_strdup(&st->arena, s);
}

static const char *
resolve_path(struct loader *L, const char *p)
{
	return cfgread_resolve_path(&L->rd, p);
}

/* ---- actions and their parameters --------------------------------------- */

/* The nearest parameter name to key, of action `only` or of all. */
static const char *
best_param(const char *key, const struct action *only, const char *best,
           size_t *bestd)
{
	for (int a = 0; a < ACTION_COUNT; a++) {
		const struct action *act = action_get((enum action_id)a);

		if (only != NULL && act != only)
			continue;
		for (size_t i = 0; i < act->nparams; i++)
			cfgread_suggest(key, act->params[i].name, &best, bestd);
	}
	return best;
}

/* ---- keys by context ------------------------------------------------------
 */

static const char *const main_keys[] = {
    "api",         "state_dir", "timezone", "include_dir", "log_level",
    "rate_limits", "defaults",  "accounts", "jobs",        "notify",
    "sendmail",    "metrics",   "listen",   "slack",       NULL};
static const char *const dropin_keys[] = {"accounts", "jobs", NULL};
static const char *const api_keys[] = {"url", "timeout", "ca_file", NULL};
static const char *const listen_keys[] = {
    "address",       "token_file", "max_connections", "timeout", "max_body",
    "allow_actions", NULL};
static const char *const slack_keys[] = {"allow_users", "allow_channels",
                                         "signing_secret_file", NULL};
static const char *const rate_keys[] = {"company", "ip", "create", "logs",
                                        NULL};
static const char *const metrics_keys[] = {"textfile", NULL};
static const char *const account_keys[] = {"name", "company", "key_file", NULL};
static const char *const job_keys[] = {
    "name",    "schedule", "timezone",  "account", "action",  "enabled",
    "jitter",  "overlap",  "catch_up",  "timeout", "retries", "window",
    "rollout", "notify",   "heartbeat", NULL};
static const char *const rollout_keys[] = {"canary", "batch", "halt_after",
                                           NULL};
/* The keys that choose a target; at most one kind per job. */
static const char *const target_kinds[] = {
    "environment_id", "environment_ids", "site",      "sites",
    "label",          "labels",          "all_sites", NULL};
static const char *const target_keys[] = {"environment_id", "environment_ids",
                                          "site",           "sites",
                                          "label",          "labels",
                                          "all_sites",      "environment",
                                          "exclude_sites",  NULL};
static const char *const log_levels[] = {"error", "warning", "notice",
                                         "info",  "debug",   NULL};
static const char *const overlaps[] = {"skip", "queue", NULL};
static const char *const catch_ups[] = {"none", "once", NULL};
/* a job's notify; the top-level one also takes notify_delivery_keys */
static const char *const notify_keys[] = {
    "webhook", "format", "email", "on", "from", "repeat_every", NULL};
static const char *const notify_delivery_keys[] = {
    "timeout", "retry_min", "retry_max", "give_up", "parallel", NULL};
static const char *const notify_formats[] = {"slack", "json", NULL};
/* in the order of the CONFIG_NOTIFY_* bits */
static const char *const notify_on[] = {"failure",     "recovery", "success",
                                        "rolled-back", "skipped",  NULL};

/* ---- global settings ------------------------------------------------------
 */

static void
parse_api_url(struct loader *L, const struct cfgread_scope *sc,
              config_setting_t *s)
{
	const char *v, *host;
	size_t hn, n;
	bool https;

	if (cfgread_str(&L->rd, sc, s, &v) < 0)
		return;
	https = strncasecmp(v, "https://", 8) == 0;
	if (!https && strncasecmp(v, "http://", 7) != 0) {
		cfgread_error(&L->rd, sc, s,
		              "url \"%.200s\" must start with https://", v);
		return;
	}
	host = v + (https ? 8 : 7);
	if (host[0] == '[') {
		const char *close = strchr(host, ']');

		hn = close ? (size_t)(close - host + 1) : strlen(host);
	} else {
		hn = strcspn(host, ":/?#");
	}
	if (hn == 0 || strchr(v, ' ') != NULL) {
		cfgread_error(&L->rd, sc, s, "url \"%.200s\" has no valid host",
		              v);
		return;
	}
	if (!https && !util_url_allowed(v)) {
		cfgread_error(
		    &L->rd, sc, s,
		    "url \"%.200s\" must use https (http is allowed only to "
		    "a loopback address: localhost, 127.0.0.1, [::1])",
		    v);
		return;
	}
	n = strlen(v);
	while (n > 0 && v[n - 1] == '/')
		n--;
	if ((L->cfg->api_url =
	         cfgread_arena_strndup(&L->cfg->store->arena, v, n)) == NULL)
		nomem(L);
}

static void
parse_api(struct loader *L, config_setting_t *g)
{
	struct cfgread_scope sc = {L->rd.file, cfgread_line(g), "api: "};
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(s), *v;
		size_t d = 99;

		if (strcmp(key, "url") == 0) {
			parse_api_url(L, &sc, s);
		} else if (strcmp(key, "timeout") == 0) {
			cfgread_int(&L->rd, &sc, s, 1, 600,
			            &L->cfg->api_timeout);
		} else if (strcmp(key, "ca_file") == 0) {
			struct stat st;

			if (cfgread_str(&L->rd, &sc, s, &v) < 0)
				continue;
			L->cfg->api_ca_file = resolve_path(L, v);
			if (L->cfg->api_ca_file == NULL)
				nomem(L);
			else if (stat(L->cfg->api_ca_file, &st) != 0)
				cfgread_error(
				    &L->rd, &sc, s, "ca_file \"%s\": %s",
				    L->cfg->api_ca_file, strerror(errno));
		} else {
			cfgread_unknown_key(
			    &L->rd, &sc, s,
			    cfgread_best_of(key, api_keys, NULL, &d));
		}
	}
}

static void
parse_rate_limits(struct loader *L, config_setting_t *g)
{
	struct cfgread_scope sc = {L->rd.file, cfgread_line(g),
	                           "rate_limits: "};
	struct config_rate_limits *r = &L->cfg->rate_limits;
	int64_t *fields[] = {&r->company, &r->ip, &r->create, &r->logs};
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(s);
		size_t d = 99;
		int k;

		for (k = 0; rate_keys[k] != NULL; k++)
			if (strcmp(key, rate_keys[k]) == 0)
				break;
		if (rate_keys[k] == NULL)
			cfgread_unknown_key(
			    &L->rd, &sc, s,
			    cfgread_best_of(key, rate_keys, NULL, &d));
		else
			cfgread_int(&L->rd, &sc, s, 1, 100000, fields[k]);
	}
}

/* metrics = { textfile = "DIR/NAME.prom"; }: node_exporter's textfile
 * collector reads only *.prom files, from a folder that must exist. */
static void
parse_metrics(struct loader *L, config_setting_t *g)
{
	struct cfgread_scope sc = {L->rd.file, cfgread_line(g), "metrics: "};
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(s), *v, *path, *slash;
		size_t d = 99, len;
		struct stat st;
		char dir[4096];
		int e;

		if (strcmp(key, "textfile") != 0) {
			cfgread_unknown_key(
			    &L->rd, &sc, s,
			    cfgread_best_of(key, metrics_keys, NULL, &d));
			continue;
		}
		if (cfgread_str(&L->rd, &sc, s, &v) < 0)
			continue;
		if ((path = resolve_path(L, v)) == NULL) {
			nomem(L);
			continue;
		}
		len = strlen(path);
		slash = strrchr(path, '/');
		if (len < 6 || strcmp(path + len - 5, ".prom") != 0 ||
		    slash == NULL || slash[1] == '.') {
			cfgread_error(&L->rd, &sc, s,
			              "textfile \"%s\": name it NAME.prom "
			              "(node_exporter's textfile collector "
			              "reads only *.prom files)",
			              path);
			continue;
		}
		snprintf(dir, sizeof(dir), "%.*s",
		         (int)(slash > path ? slash - path : 1), path);
		e = stat(dir, &st) != 0   ? errno
		    : S_ISDIR(st.st_mode) ? 0
		                          : ENOTDIR;
		if (e != 0) {
			cfgread_error(
			    &L->rd, &sc, s,
			    "textfile \"%s\": folder %s: %s (create "
			    "it, or install prometheus-node-exporter)",
			    path, dir, strerror(e));
			continue;
		}
		L->cfg->metrics_textfile = path;
	}
}

int
config_listen_parse(struct config_listen *l, const char *address, char *buf,
                    size_t len, char *err, size_t errlen)
{
	const char *colon, *host = address;
	size_t hlen;
	unsigned char bin[16];
	char *end;
	long port;

	if (address[0] == '/') {
		if (strlen(address) >= 108) { /* sun_path */
			snprintf(err, errlen,
			         "socket path \"%s\" is too long (at most 107 "
			         "bytes)",
			         address);
			return -EINVAL;
		}
		l->kind = CONFIG_LISTEN_UNIX;
		l->port = 0;
		snprintf(buf, len, "%s", address);
		l->host = buf;
		return 0;
	}
	if (address[0] == '[') {
		host = address + 1;
		if ((colon = strchr(host, ']')) == NULL || colon[1] != ':')
			goto bad;
		hlen = (size_t)(colon - host);
		colon++;
		l->kind = CONFIG_LISTEN_IPV6;
	} else {
		if ((colon = strrchr(address, ':')) == NULL)
			goto bad;
		hlen = (size_t)(colon - host);
		l->kind = CONFIG_LISTEN_IPV4;
	}
	if (hlen == 0 || hlen >= len)
		goto bad;
	memcpy(buf, host, hlen);
	buf[hlen] = '\0';
	if (inet_pton(l->kind == CONFIG_LISTEN_IPV6 ? AF_INET6 : AF_INET, buf,
	              bin) != 1)
		goto bad;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
	    port < 1 || port > 65535)
		goto bad;
	l->host = buf;
	l->port = (int)port;
	return 0;
bad:
	snprintf(err, errlen,
	         "address \"%s\": expected IPV4:PORT (127.0.0.1:8787), "
	         "[IPV6]:PORT ([::1]:8787) or the absolute path of a Unix "
	         "socket",
	         address);
	return -EINVAL;
}

/* listen.allow_actions: the actions an ad-hoc run (POST /api/v1/actions,
 * Slack's commands) may take, as bits of config_listen.allow_actions. */
static void
parse_allow_actions(struct loader *L, const struct cfgread_scope *sc,
                    config_setting_t *s)
{
	const char **names;
	size_t n;
	int a;

	if (cfgread_list(&L->rd, sc, s, true, &names, &n) < 0)
		return;
	L->cfg->listen.allow_actions = 0;
	for (size_t i = 0; i < n; i++) {
		const char *best = NULL;
		size_t d = 99;

		if ((a = action_find(names[i])) >= 0) {
			L->cfg->listen.allow_actions |= CONFIG_ACTION_BIT(a);
			continue;
		}
		for (a = 0; a < ACTION_COUNT; a++)
			cfgread_suggest(names[i],
			                action_name((enum action_id)a), &best,
			                &d);
		cfgread_error(&L->rd, sc, s,
		              "allow_actions: unknown action \"%.64s\"%s%s%s",
		              names[i], best ? " (did you mean \"" : "",
		              best ? best : "", best ? "\"?)" : "");
	}
}

static void
parse_listen(struct loader *L, config_setting_t *g)
{
	struct cfgread_scope sc = {L->rd.file, cfgread_line(g), "listen: "};
	struct config_listen *l = &L->cfg->listen;
	int n = config_setting_length(g);
	char host[128], err[256];
	bool address = false;

	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(s), *v;
		size_t d = 99;

		if (strcmp(key, "address") == 0) {
			address = true;
			if (cfgread_str(&L->rd, &sc, s, &v) < 0)
				continue;
			if (config_listen_parse(l, v, host, sizeof(host), err,
			                        sizeof(err)) < 0) {
				cfgread_error(&L->rd, &sc, s, "%s", err);
				continue;
			}
			if ((l->address = arena_strdup(L->cfg->store, v)) ==
			        NULL ||
			    (l->host = arena_strdup(L->cfg->store, host)) ==
			        NULL)
				nomem(L);
		} else if (strcmp(key, "token_file") == 0) {
			if (cfgread_str(&L->rd, &sc, s, &v) < 0)
				continue;
			if ((l->token_file = resolve_path(L, v)) == NULL)
				nomem(L);
		} else if (strcmp(key, "max_connections") == 0) {
			cfgread_int(&L->rd, &sc, s, 1, 10000,
			            &l->max_connections);
		} else if (strcmp(key, "timeout") == 0) {
			cfgread_int(&L->rd, &sc, s, 1, 3600, &l->timeout);
		} else if (strcmp(key, "max_body") == 0) {
			cfgread_int(&L->rd, &sc, s, 1024, 16 << 20,
			            &l->max_body);
		} else if (strcmp(key, "allow_actions") == 0) {
			parse_allow_actions(L, &sc, s);
		} else {
			cfgread_unknown_key(
			    &L->rd, &sc, s,
			    cfgread_best_of(key, listen_keys, NULL, &d));
		}
	}
	if (!address)
		cfgread_error(&L->rd, &sc, g,
		              "no address; write address = "
		              "\"127.0.0.1:8787\" (or remove listen to "
		              "leave the HTTP face off)");
}

static void
parse_slack(struct loader *L, config_setting_t *g)
{
	struct cfgread_scope sc = {L->rd.file, cfgread_line(g), "slack: "};
	struct config_slack *k = &L->cfg->slack;
	int n = config_setting_length(g);

	k->enabled = true;
	if (config_setting_get_member(config_setting_parent(g), "listen") ==
	    NULL)
		cfgread_error(&L->rd, &sc, g,
		              "Slack's commands come through the HTTP face: "
		              "add listen = { address = \"127.0.0.1:8787\"; }");
	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(s), *v;
		size_t d = 99;

		if (strcmp(key, "allow_users") == 0) {
			cfgread_list(&L->rd, &sc, s, true, &k->allow_users,
			             &k->nallow_users);
		} else if (strcmp(key, "allow_channels") == 0) {
			cfgread_list(&L->rd, &sc, s, true, &k->allow_channels,
			             &k->nallow_channels);
		} else if (strcmp(key, "signing_secret_file") == 0) {
			if (cfgread_str(&L->rd, &sc, s, &v) < 0)
				continue;
			if ((k->signing_secret_file = resolve_path(L, v)) ==
			    NULL)
				nomem(L);
		} else {
			cfgread_unknown_key(
			    &L->rd, &sc, s,
			    cfgread_best_of(key, slack_keys, NULL, &d));
		}
	}
}

/* Zones are loaded once per config and shared by its jobs. */
static const struct tz *
zone_get(struct loader *L, const char *name, const char **why)
{
	struct config_store *st = L->cfg->store;
	struct zone_entry *z;
	char err[256];

	if (strcmp(name, "UTC") == 0)
		return tz_utc();
	for (size_t i = 0; i < st->nzones; i++) {
		if (strcmp(st->zones[i].name, name) == 0) {
			*why = st->zones[i].err;
			return st->zones[i].tz;
		}
	}
	if (st->nzones == st->zcap) {
		size_t cap = st->zcap ? st->zcap * 2 : 8;

		z = realloc(st->zones, cap * sizeof(*z));
		if (z == NULL) {
			nomem(L);
			*why = "out of memory";
			return NULL;
		}
		st->zones = z;
		st->zcap = cap;
	}
	z = &st->zones[st->nzones];
	*z = (struct zone_entry){.name = arena_strdup(st, name)};
	if (z->name == NULL) {
		nomem(L);
		*why = "out of memory";
		return NULL;
	}
	err[0] = '\0';
	if (tz_load(&z->tz, name, err, sizeof(err)) < 0) {
		z->tz = NULL;
		z->err = arena_strdup(st, err[0] ? err : "unknown time zone");
		if (z->err == NULL)
			nomem(L);
	}
	st->nzones++;
	*why = z->err ? z->err : "unknown time zone";
	return z->tz;
}

static void
parse_timezone(struct loader *L, config_setting_t *s)
{
	struct cfgread_scope sc = {L->rd.file, cfgread_line(s), ""};
	const char *v, *why;

	if (cfgread_str(&L->rd, &sc, s, &v) < 0)
		return;
	if ((L->cfg->zone = zone_get(L, v, &why)) == NULL) {
		cfgread_error(&L->rd, &sc, s, "timezone: %s", why);
		L->cfg->zone = tz_utc();
		return;
	}
	if ((L->cfg->timezone = arena_strdup(L->cfg->store, v)) == NULL)
		nomem(L);
}

/* ---- defaults -------------------------------------------------------------
 */

static void
check_defaults(struct loader *L, config_setting_t *g)
{
	struct cfgread_scope sc = {L->rd.file, cfgread_line(g), "defaults: "};
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(s), *best;
		size_t d = 99;

		if (strcmp(key, "name") == 0) {
			cfgread_error(&L->rd, &sc, s,
			              "\"name\" cannot have a default");
			continue;
		}
		if (strcmp(key, "notify") == 0 ||
		    strcmp(key, "heartbeat") == 0) {
			cfgread_error(&L->rd, &sc, s,
			              "\"%s\" cannot have a default (%s)", key,
			              key[0] == 'n' ? "the top-level notify is "
			                              "every job's default"
			                            : "a heartbeat URL watches "
			                              "one job");
			continue;
		}
		if (cfgread_in_list(key, job_keys) ||
		    cfgread_in_list(key, target_keys) ||
		    action_param_known(key))
			continue;
		best = cfgread_best_of(key, job_keys, NULL, &d);
		best = cfgread_best_of(key, target_keys, best, &d);
		cfgread_unknown_key(&L->rd, &sc, s,
		                    best_param(key, NULL, best, &d));
	}
}

/* ---- notifications -------------------------------------------------------
 */

/* Why URL cannot be a webhook or heartbeat address, or NULL: https, or
 * plain http to a loopback address (tests), with a host. */
static const char *
url_problem(const char *v)
{
	bool https = strncasecmp(v, "https://", 8) == 0;
	const char *host;

	if (!https && strncasecmp(v, "http://", 7) != 0)
		return "must start with https://";
	host = v + (https ? 8 : 7);
	if (host[0] == '\0' || strchr(":/?#", host[0]) != NULL)
		return "has no host";
	for (const char *c = v; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return "has a space or a control character";
	if (!https && !util_url_allowed(v))
		return "must use https (http is allowed only to a loopback "
		       "address: localhost, 127.0.0.1, [::1])";
	return NULL;
}

static const char *
url_setting(struct loader *L, const struct cfgread_scope *sc,
            config_setting_t *s, const char *key)
{
	const char *v, *why, *out;

	if (cfgread_str(&L->rd, sc, s, &v) < 0)
		return NULL;
	if ((why = url_problem(v)) != NULL) {
		cfgread_error(&L->rd, sc, s, "%s \"%.200s\" %s", key, v, why);
		return NULL;
	}
	if ((out = arena_strdup(L->cfg->store, v)) == NULL)
		nomem(L);
	return out;
}

/* A plain address, local@domain: what goes on a To: line unquoted. */
static bool
email_ok(const char *v)
{
	const char *at = strchr(v, '@');
	size_t n = strlen(v);

	if (at == NULL || at == v || at[1] == '\0' || n > 254 ||
	    strchr(at + 1, '@') != NULL || strchr(at + 1, '.') == NULL)
		return false;
	for (const unsigned char *c = (const unsigned char *)v; *c; c++)
		if (*c <= ' ' || *c >= 0x7f || strchr("<>()[],;:\\\"", *c))
			return false;
	return true;
}

/* "90" (seconds), "30s", "15m", "24h", "7d": seconds in *out, or -1. */
static int
parse_duration(const char *v, int64_t *out)
{
	char *end;
	long long n;
	int64_t unit = 1;

	if (!isdigit((unsigned char)v[0]))
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || n > 366LL * 86400)
		return -1;
	if (*end == 's')
		end++;
	else if (*end == 'm')
		unit = 60, end++;
	else if (*end == 'h')
		unit = 3600, end++;
	else if (*end == 'd')
		unit = 86400, end++;
	if (*end != '\0')
		return -1;
	*out = (int64_t)n * unit;
	return 0;
}

/* A duration as a string ("24h") or an integer of seconds, in [min, max]
 * seconds. */
static int
duration_setting(struct loader *L, const struct cfgread_scope *sc,
                 config_setting_t *s, const char *key, int64_t min, int64_t max,
                 int64_t *out)
{
	const char *v;
	int64_t t;

	if (config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64)
		return cfgread_int(&L->rd, sc, s, min, max, out);
	if (cfgread_str(&L->rd, sc, s, &v) < 0)
		return -EINVAL;
	if (parse_duration(v, &t) < 0 || t < min || t > max) {
		cfgread_error(
		    &L->rd, sc, s,
		    "%s \"%.64s\" is not a duration from %llds to "
		    "%llds (write \"30s\", \"15m\", \"24h\" or \"7d\")",
		    key, v, (long long)min, (long long)max);
		return -EINVAL;
	}
	*out = t;
	return 0;
}

static void
notify_on_setting(struct loader *L, const struct cfgread_scope *sc,
                  config_setting_t *s, struct config_notify *n)
{
	const char **list;
	size_t cnt;
	unsigned on = 0;

	if (cfgread_list(&L->rd, sc, s, true, &list, &cnt) < 0)
		return;
	for (size_t i = 0; i < cnt; i++) {
		const char *best;
		size_t d = 99;
		int k;

		for (k = 0; notify_on[k] != NULL; k++)
			if (strcmp(list[i], notify_on[k]) == 0)
				break;
		if (notify_on[k] != NULL) {
			on |= 1u << k;
			continue;
		}
		best = cfgread_best_of(list[i], notify_on, NULL, &d);
		if (best != NULL)
			cfgread_error(&L->rd, sc, s,
			              "on: unknown event \"%.64s\" (did you "
			              "mean \"%s\"?)",
			              list[i], best);
		else
			cfgread_error(
			    &L->rd, sc, s,
			    "on: unknown event \"%.64s\" (one of: "
			    "failure, recovery, success, rolled-back, "
			    "skipped)",
			    list[i]);
	}
	n->on = on;
}

/* Read the notify group G into *n, which holds the defaults (or the
 * top-level settings a job's group overrides).  top: the top-level group,
 * which also takes the delivery settings. */
static void
parse_notify(struct loader *L, config_setting_t *g, const char *what,
             struct config_notify *n, bool top)
{
	struct cfgread_scope sc = {cfgread_file(&L->rd, g), cfgread_line(g),
	                           ""};
	struct config_delivery *dl = &L->cfg->delivery;
	int cnt;

	snprintf(sc.what, sizeof(sc.what), "%snotify: ", what);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		cfgread_error(
		    &L->rd, &sc, g,
		    "expected a group { webhook = ...; on = [...]; }, "
		    "got %s",
		    cfgread_type_name(g));
		return;
	}
	n->file = sc.file;
	n->line = sc.line;
	cnt = config_setting_length(g);
	for (int i = 0; i < cnt; i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(s), *v, *best;
		size_t d = 99;
		int64_t t;
		int e;

		if (strcmp(key, "webhook") == 0) {
			if (config_setting_type(s) == CONFIG_TYPE_STRING &&
			    config_setting_get_string(s)[0] == '\0')
				n->webhook =
				    NULL; /* "": none, over a default */
			else
				n->webhook = url_setting(L, &sc, s, "webhook");
		} else if (strcmp(key, "format") == 0) {
			if (cfgread_enum(&L->rd, &sc, s, notify_formats, &e) ==
			    0)
				n->format = (enum config_notify_format)e;
		} else if (strcmp(key, "email") == 0) {
			const char **list;
			size_t k;

			if (cfgread_list(&L->rd, &sc, s, true, &list, &k) < 0)
				continue;
			for (size_t j = 0; j < k; j++)
				if (!email_ok(list[j]))
					cfgread_error(
					    &L->rd, &sc, s,
					    "email: \"%.200s\" is not an "
					    "address like ops@example.com",
					    list[j]);
			n->email = list;
			n->nemail = k;
		} else if (strcmp(key, "on") == 0) {
			notify_on_setting(L, &sc, s, n);
		} else if (strcmp(key, "repeat_every") == 0) {
			duration_setting(L, &sc, s, "repeat_every", 0,
			                 366 * 86400, &n->repeat_every);
		} else if (strcmp(key, "from") == 0) {
			if (cfgread_str(&L->rd, &sc, s, &v) < 0)
				continue;
			if (!email_ok(v))
				cfgread_error(
				    &L->rd, &sc, s,
				    "from: \"%.200s\" is not an address "
				    "like kinsta-cron@example.com",
				    v);
			else if ((n->from = arena_strdup(L->cfg->store, v)) ==
			         NULL)
				nomem(L);
		} else if (top && cfgread_in_list(key, notify_delivery_keys)) {
			int64_t *f = key[0] == 't'   ? &dl->timeout_ms
			             : key[0] == 'g' ? &dl->give_up_ms
			             : key[0] == 'p' ? &dl->parallel
			             : key[7] == 'i' ? &dl->retry_min_ms
			                             : &dl->retry_max_ms;

			if (f == &dl->parallel) {
				cfgread_int(&L->rd, &sc, s, 1, 64, f);
				continue;
			}
			if (duration_setting(L, &sc, s, key, 1, 30 * 86400,
			                     &t) == 0)
				*f = t * 1000;
		} else if (cfgread_in_list(key, notify_delivery_keys)) {
			cfgread_error(&L->rd, &sc, s,
			              "\"%s\" is a setting of the top-level "
			              "notify only (it applies to every job)",
			              key);
		} else {
			best = cfgread_best_of(key, notify_keys, NULL, &d);
			if (top)
				best = cfgread_best_of(
				    key, notify_delivery_keys, best, &d);
			cfgread_unknown_key(&L->rd, &sc, s, best);
		}
	}
	if (top && dl->retry_min_ms > dl->retry_max_ms)
		cfgread_error(&L->rd, &sc, NULL,
		              "retry_min is longer than retry_max");
}

static void
notify_defaults(struct config_notify *n)
{
	memset(n, 0, sizeof(*n));
	n->format = CONFIG_NOTIFY_SLACK;
	n->on = CONFIG_NOTIFY_FAILURE | CONFIG_NOTIFY_RECOVERY;
	n->repeat_every = 86400;
}

static void
parse_notify_top(struct loader *L, config_setting_t *g)
{
	struct config_notify *n =
	    cfgread_arena_alloc(&L->cfg->store->arena, sizeof(*n));

	if (n == NULL) {
		nomem(L);
		return;
	}
	notify_defaults(n);
	parse_notify(L, g, "", n, true);
	L->cfg->notify = n;
}

/* Email needs the sendmail program: say so at load time, not at the first
 * failure in the night. */
static void
check_sendmail(struct loader *L)
{
	const struct config *cfg = L->cfg;
	const struct config_notify *n = NULL;

	if (cfg->notify != NULL && cfg->notify->nemail > 0)
		n = cfg->notify;
	for (size_t i = 0; n == NULL && i < cfg->njobs; i++)
		if (cfg->jobs[i].notify != NULL &&
		    cfg->jobs[i].notify->nemail > 0)
			n = cfg->jobs[i].notify;
	if (n == NULL || access(cfg->sendmail, X_OK) == 0)
		return;
	lerr(L, n->file, n->line,
	     "email needs %s, which cannot be run (%s): install a mail "
	     "transfer agent (exim4, postfix, msmtp-mta) or set sendmail",
	     cfg->sendmail, strerror(errno));
}

/* ---- accounts --------------------------------------------------------------
 */

static struct config_account *
new_account(struct loader *L)
{
	struct config *cfg = L->cfg;

	if (mapmem_grow((void **)&cfg->accounts, &cfg->store->accounts_cap,
	                cfg->naccounts + 1, sizeof(*cfg->accounts)) < 0)
		return NULL;
	memset(&cfg->accounts[cfg->naccounts], 0, sizeof(*cfg->accounts));
	return &cfg->accounts[cfg->naccounts++];
}

/* The account's name, checked and unique across files; 0, -EEXIST for a
 * duplicate (reported) or -ENOMEM when even the name could not be kept. */
static int
account_name(struct loader *L, config_setting_t *g, struct cfgread_scope *sc,
             struct config_account *a)
{
	config_setting_t *s = config_setting_get_member(g, "name");
	struct cfgread_name *first;
	const char *v, *why;

	if (s == NULL) {
		cfgread_error(&L->rd, sc, NULL, "missing \"name\"");
		return 0;
	}
	if (cfgread_str(&L->rd, sc, s, &v) < 0)
		return 0;
	if ((why = cfgread_name_problem(v)) != NULL) {
		cfgread_error(&L->rd, sc, s, "name \"%.*s\" %s",
		              CFGREAD_MAX_NAME, v, why);
		return 0;
	}
	snprintf(sc->what, sizeof(sc->what), "account \"%s\": ", v);
	a->name = arena_strdup(L->cfg->store, v);
	a->line = cfgread_line(s);
	if (a->name == NULL) {
		nomem(L);
		return -ENOMEM;
	}
	first = cfgread_names_find(&L->accounts_by_name, v);
	if (first != NULL) {
		lerr(L, sc->file, a->line,
		     "duplicate account name \"%s\" (first defined at %s:%d)",
		     v, first->file, first->line);
		return -EEXIST;
	}
	if (cfgread_names_add(&L->accounts_by_name, a->name, sc->file, a->line,
	                      L->cfg->naccounts - 1) < 0)
		nomem(L);
	return 0;
}

/* One setting S of account A, other than its name. */
static void
account_setting(struct loader *L, const struct cfgread_scope *sc,
                config_setting_t *s, struct config_account *a)
{
	const char *key = config_setting_name(s), *v;
	size_t d = 99;

	if (strcmp(key, "company") == 0) {
		if (cfgread_str(&L->rd, sc, s, &v) < 0)
			return;
		if (!cfgread_is_uuid(v))
			cfgread_error(&L->rd, sc, s,
			              "company \"%.64s\" is not a UUID "
			              "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
			              v);
		else if ((a->company = arena_strdup(L->cfg->store, v)) == NULL)
			nomem(L);
	} else if (strcmp(key, "key_file") == 0) {
		if (cfgread_str(&L->rd, sc, s, &v) < 0)
			return;
		if (v[0] == '\0')
			cfgread_error(&L->rd, sc, s, "key_file is empty");
		else if ((a->key_file = resolve_path(L, v)) == NULL)
			nomem(L);
		a->line = cfgread_line(s);
		a->file = cfgread_file(&L->rd, s);
	} else if (strcmp(key, "api_key") == 0 || strcmp(key, "key") == 0) {
		/* Say why without ever echoing the value. */
		cfgread_error(&L->rd, sc, s,
		              "\"%s\": the API key does not belong in the "
		              "configuration; put it in a file (chmod 600) and "
		              "set key_file",
		              key);
	} else {
		cfgread_unknown_key(
		    &L->rd, sc, s,
		    cfgread_best_of(key, account_keys, NULL, &d));
	}
}

static void
parse_account(struct loader *L, config_setting_t *g, int index)
{
	struct cfgread_scope sc = {cfgread_file(&L->rd, g), cfgread_line(g),
	                           ""};
	struct config_account *a;
	int n = config_setting_length(g), rc;

	snprintf(sc.what, sizeof(sc.what), "account #%d: ", index + 1);
	if ((a = new_account(L)) == NULL) {
		nomem(L);
		return;
	}
	a->file = sc.file;
	a->line = sc.line;
	if ((rc = account_name(L, g, &sc, a)) == -ENOMEM)
		return;
	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);

		if (strcmp(config_setting_name(s), "name") != 0)
			account_setting(L, &sc, s, a);
	}
	if (config_setting_get_member(g, "company") == NULL)
		cfgread_error(&L->rd, &sc, NULL,
		              "missing \"company\" (the company UUID)");
	/* Key problems are reported where the key is chosen. */
	if (a->name != NULL && config_setting_get_member(g, "key_file") == NULL)
		a->line = cfgread_line(config_setting_get_member(g, "name"));
	/* Reported above; keeping it would only add "several accounts"
	 * errors to jobs that are fine. */
	if (rc == -EEXIST)
		L->cfg->naccounts--;
}

/* ---- jobs
 * -------------------------------------------------------------------- */

struct job_ctx {
	struct loader *L;
	struct cfgread_scope sc;
	config_setting_t *g; /* the job's group */
	struct config_job *j;
	const struct action *action; /* NULL if unknown */
};

/* The job's own setting KEY, else the inherited default, else NULL. */
static config_setting_t *
jget(const struct job_ctx *c, const char *key)
{
	config_setting_t *s;

	/* a parameter of a group ("verify.urls"): a member of the group */
	if (strchr(key, '.') != NULL) {
		s = config_setting_lookup(c->g, key);
		if (s == NULL && c->L->rd.shared != NULL)
			s = config_setting_lookup(c->L->rd.shared, key);
		return s;
	}
	s = config_setting_get_member(c->g, key);
	if (s == NULL && c->L->rd.shared != NULL)
		s = config_setting_get_member(c->L->rd.shared, key);
	return s;
}

/* The jobs array grows by doubling with mremap: no copy, and never the
 * old and the new array both resident (2 MB with 10,000 jobs). */
static struct config_job *
new_job(struct loader *L)
{
	struct config *cfg = L->cfg;

	if (mapmem_grow((void **)&cfg->jobs, &cfg->store->jobs_cap,
	                cfg->njobs + 1, sizeof(*cfg->jobs)) < 0)
		return NULL;
	memset(&cfg->jobs[cfg->njobs], 0, sizeof(*cfg->jobs));
	cfg->jobs[cfg->njobs].account = ACCOUNT_UNSET;
	return &cfg->jobs[cfg->njobs++];
}

static void
job_name(struct job_ctx *c, int index)
{
	struct loader *L = c->L;
	config_setting_t *s = config_setting_get_member(c->g, "name");
	struct cfgread_name *first;
	const char *v, *why;

	snprintf(c->sc.what, sizeof(c->sc.what), "job #%d: ", index + 1);
	if (s == NULL) {
		cfgread_error(&L->rd, &c->sc, NULL, "missing \"name\"");
		return;
	}
	if (cfgread_str(&L->rd, &c->sc, s, &v) < 0)
		return;
	if ((why = cfgread_name_problem(v)) != NULL) {
		cfgread_error(&L->rd, &c->sc, s, "name \"%.*s\" %s",
		              CFGREAD_MAX_NAME, v, why);
		return;
	}
	snprintf(c->sc.what, sizeof(c->sc.what), "job \"%s\": ", v);
	c->j->line = cfgread_line(s);
	if ((c->j->name = arena_strdup(L->cfg->store, v)) == NULL) {
		nomem(L);
		return;
	}
	if ((first = cfgread_names_find(&L->jobs_by_name, v)) != NULL)
		lerr(L, c->j->file, c->j->line,
		     "duplicate job name \"%s\" (first defined at %s:%d)", v,
		     first->file, first->line);
	else if (cfgread_names_add(&L->jobs_by_name, c->j->name, c->j->file,
	                           c->j->line, L->cfg->njobs - 1) < 0)
		nomem(L);
}

static void
job_action(struct job_ctx *c)
{
	config_setting_t *s = jget(c, "action");
	const char *v, *best = NULL;
	size_t d = 99;
	int a;

	if (s == NULL) {
		cfgread_error(&c->L->rd, &c->sc, NULL, "missing \"action\"");
		return;
	}
	if (cfgread_str(&c->L->rd, &c->sc, s, &v) < 0)
		return;
	if ((a = action_find(v)) >= 0) {
		c->j->action = (enum action_id)a;
		c->action = action_get(c->j->action);
		return;
	}
	for (a = 0; a < ACTION_COUNT; a++)
		cfgread_suggest(v, action_name((enum action_id)a), &best, &d);
	if (best != NULL) {
		cfgread_error(&c->L->rd, &c->sc, s,
		              "unknown action \"%.64s\" (did you mean \"%s\"?)",
		              v, best);
	} else {
		char list[512];

		action_list(list, sizeof(list));
		cfgread_error(&c->L->rd, &c->sc, s,
		              "unknown action \"%.64s\" (one of: %s)", v, list);
	}
}

/* A group of parameters (verify = { ... }): a group, whose every key is
 * one of the action's "<group>.<key>" parameters. */
static void
group_keys_check(struct job_ctx *c, config_setting_t *g, const char *group)
{
	int n;

	if (!config_setting_is_group(g)) {
		cfgread_error(&c->L->rd, &c->sc, g,
		              "%s must be a group: %s = { ... };", group,
		              group);
		return;
	}
	n = config_setting_length(g);
	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(s), *best = NULL;
		char full[128];
		size_t d = 99;

		snprintf(full, sizeof(full), "%s.%s", group, key);
		if (action_param_find(c->action, full) != NULL)
			continue;
		for (size_t k = 0; k < c->action->nparams; k++) {
			const char *pn = c->action->params[k].name;
			size_t gl = strlen(group);

			if (strncmp(pn, group, gl) != 0 || pn[gl] != '.')
				continue;
			cfgread_suggest(key, pn + gl + 1, &best, &d);
		}
		cfgread_error(&c->L->rd, &c->sc, s,
		              "unknown key \"%s\" in %s%s%s%s", key, group,
		              best ? " (did you mean \"" : "", best ? best : "",
		              best ? "\"?)" : "");
	}
}

/* Every key of the job group must mean something for this job. */
static void
job_keys_check(struct job_ctx *c)
{
	int n = config_setting_length(c->g);

	for (int i = 0; i < n; i++) {
		config_setting_t *s =
		    config_setting_get_elem(c->g, (unsigned)i);
		const char *key = config_setting_name(s), *best;
		size_t d = 99;

		if (cfgread_in_list(key, job_keys))
			continue;
		if (cfgread_in_list(key, target_keys)) {
			if (c->action != NULL &&
			    c->action->target == ACTION_TARGET_NONE)
				cfgread_error(
				    &c->L->rd, &c->sc, s,
				    "action \"%s\" takes no target; remove "
				    "\"%s\"",
				    c->action->name, key);
			continue;
		}
		if (c->action == NULL) {
			if (action_param_known(key))
				continue;
		} else if (action_param_find(c->action, key) != NULL) {
			continue;
		} else if (action_param_group(c->action, key)) {
			group_keys_check(c, s, key);
			continue;
		} else if (action_param_known(key)) {
			cfgread_error(
			    &c->L->rd, &c->sc, s,
			    "\"%s\" is not a parameter of action \"%s\"", key,
			    c->action->name);
			continue;
		}
		best = cfgread_best_of(key, job_keys, NULL, &d);
		if (c->action == NULL ||
		    c->action->target != ACTION_TARGET_NONE)
			best = cfgread_best_of(key, target_keys, best, &d);
		best = best_param(key, c->action, best, &d);
		cfgread_unknown_key(&c->L->rd, &c->sc, s, best);
	}
}

static void
job_schedule(struct job_ctx *c)
{
	struct loader *L = c->L;
	config_setting_t *s = jget(c, "schedule"), *zs = jget(c, "timezone");
	char err[256];
	const char *v, *why;

	c->j->zone = L->cfg->zone;
	if (zs != NULL && cfgread_str(&L->rd, &c->sc, zs, &v) == 0) {
		const struct tz *z = zone_get(L, v, &why);

		if (z == NULL)
			cfgread_error(&L->rd, &c->sc, zs, "timezone: %s", why);
		else
			c->j->zone = z;
	}
	if (s == NULL) {
		cfgread_error(&L->rd, &c->sc, NULL, "missing \"schedule\"");
		return;
	}
	if (cfgread_str(&L->rd, &c->sc, s, &v) < 0)
		return;
	if ((c->j->schedule = arena_strdup(L->cfg->store, v)) == NULL) {
		nomem(L);
		return;
	}
	/* Without a valid name, H has nothing to hash: say only that. */
	if (cron_parse(&c->j->cron, v, c->j->name ? c->j->name : "", err,
	               sizeof(err)) < 0)
		cfgread_error(&L->rd, &c->sc, s, "schedule \"%.100s\": %s", v,
		              err);
}

/* The account called V that job J names at S: its index now when it is
 * defined above, else pending until every file is read. */
static void
job_account(struct loader *L, struct config_job *j, config_setting_t *s,
            const char *v)
{
	struct cfgread_name *a = cfgread_names_find(&L->accounts_by_name, v);
	struct pending *p;

	if (a != NULL) {
		j->account = a->index;
		return;
	}
	if (util_grow((void **)&L->pending, &L->pending_cap, L->npending + 1,
	              sizeof(*L->pending)) < 0) {
		nomem(L);
		return;
	}
	p = &L->pending[L->npending];
	*p = (struct pending){(size_t)(j - L->cfg->jobs),
	                      cfgread_arena_strdup(&L->scratch, v),
	                      cfgread_file(&L->rd, s), cfgread_line(s)};
	if (p->name == NULL) {
		nomem(L);
		return;
	}
	L->npending++;
	j->account = ACCOUNT_PENDING;
}

/* "HH:MM-HH:MM" into minutes of the day; 0 or -EINVAL. */
static int
parse_window(const char *v, int *from, int *to)
{
	int h1, m1, h2, m2, n = 0;

	if (sscanf(v, "%2d:%2d-%2d:%2d%n", &h1, &m1, &h2, &m2, &n) != 4 ||
	    v[n] != '\0' || strlen(v) != 11 || h1 > 23 || h2 > 24 || m1 > 59 ||
	    m2 > 59 || h1 < 0 || h2 < 0 || m1 < 0 || m2 < 0 ||
	    (h2 == 24 && m2 != 0))
		return -EINVAL;
	*from = h1 * 60 + m1;
	*to = h2 * 60 + m2; /* 24:00: the end of the day */
	return 0;
}

static void
job_window(struct job_ctx *c)
{
	config_setting_t *s = jget(c, "window");
	const char *v;

	c->j->window_from = c->j->window_to = -1;
	if (s == NULL || cfgread_str(&c->L->rd, &c->sc, s, &v) < 0)
		return;
	if (parse_window(v, &c->j->window_from, &c->j->window_to) < 0)
		cfgread_error(&c->L->rd, &c->sc, s,
		              "window: \"%.64s\" is not a time range like "
		              "\"01:00-05:00\" (HH:MM-HH:MM in the job's time "
		              "zone)",
		              v);
	else if (c->j->window_from == c->j->window_to)
		cfgread_error(&c->L->rd, &c->sc, s,
		              "window: \"%.64s\" starts where it ends; leave "
		              "window out to allow any time",
		              v);
}

bool
config_window_open(const struct config_job *job, int64_t t)
{
	int64_t wall, minute;

	if (job->window_from < 0)
		return true;
	wall = t + tz_offset_at(job->zone, t);
	minute = (wall - util_floor_div(wall, 86400) * 86400) / 60;
	if (job->window_from < job->window_to)
		return minute >= job->window_from && minute < job->window_to;
	return minute >= job->window_from || minute < job->window_to;
}

/* rollout = { canary = 2; batch = 10; halt_after = 1; }: how the
 * targets of one fire start (rollout.c). */
static void
job_rollout(struct job_ctx *c)
{
	struct config_rollout *ro = &c->j->rollout;
	config_setting_t *s = jget(c, "rollout");
	int64_t *fields[] = {&ro->canary, &ro->batch, &ro->halt_after};
	static const int64_t min[] = {0, 1, 0};
	struct cfgread_scope sc;
	int n;

	if (s == NULL)
		return;
	if (c->action != NULL && c->action->target == ACTION_TARGET_NONE) {
		/* A default that does not apply is not a mistake. */
		if (!cfgread_inside(s, c->L->rd.shared))
			cfgread_error(
			    &c->L->rd, &c->sc, s,
			    "action \"%s\" takes no target, so it has "
			    "nothing to roll out; remove \"rollout\"",
			    c->action->name);
		return;
	}
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		cfgread_error(&c->L->rd, &c->sc, s,
		              "rollout: expected a group like { canary = 2; "
		              "batch = 10; halt_after = 1; }, got %s",
		              cfgread_type_name(s));
		return;
	}
	*ro = (struct config_rollout){1, 10, 1, true};
	sc.file = cfgread_file(&c->L->rd, s);
	sc.line = cfgread_line(s);
	snprintf(sc.what, sizeof(sc.what),
	         "%.*srollout: ", (int)(sizeof(sc.what) - 10), c->sc.what);
	n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *key = config_setting_name(e);
		size_t d = 99;
		int k;

		for (k = 0; rollout_keys[k] != NULL; k++)
			if (strcmp(key, rollout_keys[k]) == 0)
				break;
		if (rollout_keys[k] == NULL)
			cfgread_unknown_key(
			    &c->L->rd, &sc, e,
			    cfgread_best_of(key, rollout_keys, NULL, &d));
		else
			cfgread_int(&c->L->rd, &sc, e, min[k], 10000,
			            fields[k]);
	}
}

static void
job_settings(struct job_ctx *c)
{
	struct loader *L = c->L;
	struct config_job *j = c->j;
	config_setting_t *s;
	int e;

	j->enabled = true;
	j->retries = 2;
	if ((s = jget(c, "account")) != NULL) {
		const char *v;

		if (cfgread_str(&L->rd, &c->sc, s, &v) == 0)
			job_account(L, j, s, v);
	}
	if ((s = jget(c, "enabled")) != NULL)
		cfgread_bool(&L->rd, &c->sc, s, &j->enabled);
	if ((s = jget(c, "jitter")) != NULL)
		cfgread_int(&L->rd, &c->sc, s, 0, 3600, &j->jitter);
	if ((s = jget(c, "timeout")) != NULL)
		cfgread_int(&L->rd, &c->sc, s, 0, 86400, &j->timeout);
	if ((s = jget(c, "retries")) != NULL)
		cfgread_int(&L->rd, &c->sc, s, 0, 10, &j->retries);
	if ((s = jget(c, "overlap")) != NULL &&
	    cfgread_enum(&L->rd, &c->sc, s, overlaps, &e) == 0)
		j->overlap = (enum config_overlap)e;
	if ((s = jget(c, "catch_up")) != NULL &&
	    cfgread_enum(&L->rd, &c->sc, s, catch_ups, &e) == 0)
		j->catch_up = (enum config_catch_up)e;
	job_window(c);
	job_rollout(c);
}

static int
target_values(struct job_ctx *c, config_setting_t *s, const char *key)
{
	struct config_target *t = &c->j->target;
	bool all;

	if (strcmp(key, "all_sites") == 0) {
		if (cfgread_bool(&c->L->rd, &c->sc, s, &all) < 0)
			return -1;
		if (!all)
			cfgread_error(
			    &c->L->rd, &c->sc, s,
			    "all_sites = false selects nothing; remove it or "
			    "set it to true");
		return all ? 0 : -1;
	}
	if ((strcmp(key, "environment_id") == 0 || strcmp(key, "site") == 0 ||
	     strcmp(key, "label") == 0) &&
	    config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfgread_error(&c->L->rd, &c->sc, s,
		              "%s: expected a string (use \"%ss\" for a list)",
		              key, key);
		return -1;
	}
	if (cfgread_list(&c->L->rd, &c->sc, s, false, &t->values, &t->nvalues) <
	    0)
		return -1;
	if (strncmp(key, "environment_id", 14) == 0) {
		for (size_t i = 0; i < t->nvalues; i++) {
			if (cfgread_is_uuid(t->values[i]))
				continue;
			cfgread_error(&c->L->rd, &c->sc, s,
			              "%s: \"%.64s\" is not a UUID "
			              "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
			              key, t->values[i]);
			return -1;
		}
	}
	return 0;
}

/* environment = ["staging", "live"]: every matched environment of the
 * first name, then of the next, each site's later one only where its
 * earlier ones did not fail (rollout.c). */
static void
job_environments(struct job_ctx *c, config_setting_t *s)
{
	struct config_target *t = &c->j->target;
	const char **v;
	size_t n;

	if (cfgread_list(&c->L->rd, &c->sc, s, false, &v, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == NULL || v[i][0] == '\0') {
			cfgread_error(&c->L->rd, &c->sc, s,
			              "environment: entry %zu is empty", i + 1);
			return;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(v[i], v[k]) == 0) {
				cfgread_error(
				    &c->L->rd, &c->sc, s,
				    "environment: \"%.64s\" is listed "
				    "twice; name each environment once",
				    v[i]);
				return;
			}
	}
	/* push-environment names its environments itself; a default list
	 * that does not apply is not a mistake */
	if (c->j->action == ACTION_PUSH_ENVIRONMENT && n > 1) {
		if (!cfgread_inside(s, c->L->rd.shared))
			cfgread_error(&c->L->rd, &c->sc, s,
			              "environment: push-environment acts on "
			              "its \"target\" environment; give one "
			              "name, not a list");
		return;
	}
	t->environments = v;
	t->nenvironments = n;
	t->environment = v[0];
}

static void
job_target(struct job_ctx *c)
{
	/* the jobs array moves as it grows: no pointer into a job */
	static const char *const live_only[] = {"live"};
	const char **one;
	struct loader *L = c->L;
	struct config_target *t = &c->j->target;
	config_setting_t *found = NULL, *s;
	const char *found_key = NULL;
	bool own = false;

	if (c->action == NULL || c->action->target == ACTION_TARGET_NONE)
		return;
	/* The job's own target replaces the defaults' as a whole. */
	for (int i = 0; target_kinds[i] != NULL; i++)
		if (config_setting_get_member(c->g, target_kinds[i]) != NULL)
			own = true;
	for (int i = 0; target_kinds[i] != NULL; i++) {
		config_setting_t *from = own ? c->g : L->rd.shared;

		s = from ? config_setting_get_member(from, target_kinds[i])
		         : NULL;
		if (s == NULL)
			continue;
		if (found != NULL) {
			cfgread_error(
			    &L->rd, &c->sc, s,
			    "two targets: \"%s\" and \"%s\"; keep one",
			    found_key, target_kinds[i]);
			return;
		}
		found = s;
		found_key = target_kinds[i];
	}
	if (found == NULL) {
		if (c->action->target == ACTION_TARGET_REQUIRED)
			cfgread_error(
			    &L->rd, &c->sc, NULL,
			    "action \"%s\" needs a target: environment_id, "
			    "environment_ids, site, sites, label, labels or "
			    "all_sites = true",
			    c->action->name);
		return;
	}
	if (target_values(c, found, found_key) < 0)
		return;
	if (found_key[0] == 'e')
		t->kind = CONFIG_TARGET_ENVIRONMENTS;
	else if (found_key[0] == 's')
		t->kind = CONFIG_TARGET_SITES;
	else if (found_key[0] == 'l')
		t->kind = CONFIG_TARGET_LABELS;
	else
		t->kind = CONFIG_TARGET_ALL_SITES;
	t->environment = "live";
	t->environments = live_only;
	t->nenvironments = 1;
	for (int i = 0; i < 2; i++) {
		const char *key = i == 0 ? "environment" : "exclude_sites";
		const char *v;

		s = jget(c, key);
		if (s == NULL)
			continue;
		if (t->kind == CONFIG_TARGET_ENVIRONMENTS) {
			/* A default that does not apply is not a mistake. */
			if (!cfgread_inside(s, L->rd.shared))
				cfgread_error(
				    &L->rd, &c->sc, s,
				    "\"%s\" applies only to site, label and "
				    "all_sites selectors",
				    key);
			continue;
		}
		if (i == 0 && config_setting_type(s) != CONFIG_TYPE_STRING) {
			job_environments(c, s);
		} else if (i == 0 && cfgread_str(&L->rd, &c->sc, s, &v) == 0) {
			if (v[0] == '\0')
				cfgread_error(&L->rd, &c->sc, s,
				              "environment is empty");
			else if ((t->environment =
			              arena_strdup(L->cfg->store, v)) == NULL ||
			         (one = cfgread_arena_alloc(
			              &L->cfg->store->arena, sizeof(*one))) ==
			             NULL)
				nomem(L);
			else {
				one[0] = t->environment;
				t->environments = one;
			}
		} else if (i == 1) {
			cfgread_list(&L->rd, &c->sc, s, true, &t->exclude_sites,
			             &t->nexclude);
		}
	}
}

static int
param_value(struct job_ctx *c, const struct action_param *ps,
            config_setting_t *s, struct config_param *p)
{
	struct loader *L = c->L;
	const char *v = NULL, *why;
	bool b;
	int e;

	switch (ps->type) {
	case ACTION_PARAM_BOOL:
		if (cfgread_bool(&L->rd, &c->sc, s, &b) < 0)
			return -1;
		p->num = b;
		return 0;
	case ACTION_PARAM_INT:
		return cfgread_int(&L->rd, &c->sc, s, ps->min, ps->max,
		                   &p->num);
	case ACTION_PARAM_LIST:
		return cfgread_list(&L->rd, &c->sc, s, true, &p->list,
		                    &p->nlist);
	case ACTION_PARAM_ENUM:
		if (cfgread_enum(&L->rd, &c->sc, s, ps->choices, &e) < 0)
			return -1;
		p->str = ps->choices[e];
		return 0;
	case ACTION_PARAM_UUID:
		if (cfgread_str(&L->rd, &c->sc, s, &v) < 0)
			return -1;
		if (!cfgread_is_uuid(v)) {
			cfgread_error(&L->rd, &c->sc, s,
			              "%s: \"%.64s\" is not a UUID "
			              "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
			              ps->name, v);
			return -1;
		}
		break;
	case ACTION_PARAM_STRING:
		if (cfgread_str(&L->rd, &c->sc, s, &v) < 0)
			return -1;
		if (ps->check != NULL && (why = ps->check(v)) != NULL) {
			cfgread_error(&L->rd, &c->sc, s, "%s %s", ps->name,
			              why);
			return -1;
		}
		break;
	}
	if ((p->str = arena_strdup(L->cfg->store, v)) == NULL) {
		nomem(L);
		return -1;
	}
	return 0;
}

/* Apply a parameter's textual default. */
static int
param_default(struct job_ctx *c, const struct action_param *ps,
              struct config_param *p)
{
	struct config_store *st = c->L->cfg->store;
	char tag[CFGREAD_MAX_NAME + 16];

	switch (ps->type) {
	case ACTION_PARAM_BOOL:
		if (ps->def == NULL)
			return 0; /* sent only when the job sets it */
		p->num = strcmp(ps->def, "true") == 0;
		return 1;
	case ACTION_PARAM_INT:
		p->num = strtoll(ps->def, NULL, 10);
		return 1;
	case ACTION_PARAM_LIST:
		if (ps->def == NULL)
			return 1;
		if ((p->list = cfgread_arena_alloc(&st->arena,
		                                   sizeof(*p->list))) == NULL)
			return -1;
		p->list[0] = ps->def; /* static storage */
		p->nlist = 1;
		return 1;
	default:
		if (ps->def == NULL && strcmp(ps->name, "tag") == 0 &&
		    c->j->name != NULL) {
			snprintf(tag, sizeof(tag), "kinsta-cron:%s",
			         c->j->name);
			if ((p->str = arena_strdup(st, tag)) == NULL)
				return -1;
			return 1;
		}
		p->str = ps->def;
		return ps->def != NULL;
	}
}

/* What one parameter needs of another: probes need pages to probe, a
 * rollback a backup to restore. */
static void
job_params_together(struct job_ctx *c)
{
	/* a group in defaults may set only what every verify shares */
	config_setting_t *v = config_setting_get_member(c->g, "verify");
	config_setting_t *f = jget(c, "on_failure");
	const char *of = config_param_str(c->j, "on_failure");

	if (v != NULL && config_setting_is_group(v) &&
	    action_param_group(c->action, "verify") &&
	    jget(c, "verify.urls") == NULL)
		cfgread_error(&c->L->rd, &c->sc, v,
		              "verify needs \"urls\": the pages to check, "
		              "e.g. urls = [ \"/\" ];");
	if (f != NULL && of != NULL && strcmp(of, "restore") == 0 &&
	    !config_param_bool(c->j, "backup_first"))
		cfgread_error(
		    &c->L->rd, &c->sc, f,
		    "on_failure = \"restore\" restores the pre-update "
		    "backup: set backup_first = true");
}

static void
job_params(struct job_ctx *c)
{
	const struct action *a = c->action;
	struct config_param *params;
	size_t n = 0;

	if (a == NULL || a->nparams == 0)
		return;
	params = cfgread_arena_alloc(&c->L->cfg->store->arena,
	                             a->nparams * sizeof(*params));
	if (params == NULL) {
		nomem(c->L);
		return;
	}
	for (size_t i = 0; i < a->nparams; i++) {
		const struct action_param *ps = &a->params[i];
		config_setting_t *s = jget(c, ps->name);
		struct config_param *p = &params[n];
		int rc;

		*p = (struct config_param){.name = ps->name, .type = ps->type};
		if (s != NULL) {
			if (param_value(c, ps, s, p) == 0)
				n++;
			continue;
		}
		if (ps->required) {
			cfgread_error(&c->L->rd, &c->sc, NULL,
			              "action \"%s\" needs \"%s\"", a->name,
			              ps->name);
			continue;
		}
		if ((rc = param_default(c, ps, p)) < 0)
			nomem(c->L);
		else
			n += (size_t)rc;
	}
	c->j->params = params;
	c->j->nparams = n;
	job_params_together(c);
}

/* The WordPress fields of create-site: needed unless install_mode is
 * "plain", which sends none of them (POST /sites/plain). */
static const char *const wp_site_fields[] = {"admin_email",
                                             "admin_password",
                                             "admin_user",
                                             "site_title",
                                             "wp_language",
                                             "is_multisite",
                                             "is_subdomain_multisite",
                                             "woocommerce",
                                             "wordpressseo",
                                             NULL};

/* What one parameter cannot say alone: parameters that go together, and
 * placeholders that need a target. */
static void
job_combinations(struct job_ctx *c)
{
	struct config_job *j = c->j;
	config_setting_t *s;

	if (c->action == NULL)
		return;
	switch (j->action) {
	case ACTION_CREATE_SITE: {
		const char *mode = config_param_str(j, "install_mode");
		bool plain = mode != NULL && strcmp(mode, "plain") == 0;

		for (int i = 0; i < 4; i++) {
			const char *f = wp_site_fields[i];

			if (!plain && config_param_str(j, f) == NULL)
				cfgread_error(&c->L->rd, &c->sc, NULL,
				              "action \"create-site\" needs "
				              "\"%s\" (unless install_mode = "
				              "\"plain\")",
				              f);
		}
		for (int i = 0; plain && wp_site_fields[i] != NULL; i++)
			if ((s = config_setting_get_member(
			         c->g, wp_site_fields[i])) != NULL)
				cfgread_error(
				    &c->L->rd, &c->sc, s,
				    "\"%s\" is not sent with "
				    "install_mode = \"plain\" (a site "
				    "without WordPress); remove it",
				    wp_site_fields[i]);
		break;
	}
	case ACTION_REFRESH_STAGING:
		if (!config_param_bool(j, "push_db") &&
		    !config_param_bool(j, "push_files"))
			cfgread_error(&c->L->rd, &c->sc, jget(c, "push_files"),
			              "refresh-staging with push_db = false "
			              "and push_files = false pushes nothing; "
			              "set one of them to true");
		if (!config_param_bool(j, "push_files") &&
		    jget(c, "file_list") != NULL)
			cfgread_error(&c->L->rd, &c->sc, jget(c, "file_list"),
			              "file_list needs push_files = true");
		break;
	case ACTION_REQUEST:
		if (j->target.kind != CONFIG_TARGET_NONE)
			break;
		for (int i = 0; i < 2; i++) {
			const char *key = i ? "body" : "path";
			unsigned used = tmpl_uses(config_param_str(j, key)) &
			                TMPL_TARGET_VARS;

			for (int v = 0; used != 0 && v < TMPL_NVARS; v++)
				if (used & TMPL_BIT(v)) {
					cfgread_error(
					    &c->L->rd, &c->sc, jget(c, key),
					    "%s uses {%s}, which needs a "
					    "target: environment_id, "
					    "environment_ids, site, sites, "
					    "label, labels or all_sites = "
					    "true",
					    key,
					    tmpl_var_name((enum tmpl_var)v));
					break;
				}
		}
		break;
	default:
		break;
	}
}

/* The job's own notify (over the top-level one) and heartbeat. */
static void
job_notify(struct job_ctx *c)
{
	struct loader *L = c->L;
	config_setting_t *s;
	struct config_notify *n;

	c->j->notify = L->cfg->notify;
	if ((s = config_setting_get_member(c->g, "heartbeat")) != NULL)
		c->j->heartbeat = url_setting(L, &c->sc, s, "heartbeat");
	if ((s = config_setting_get_member(c->g, "notify")) == NULL)
		return;
	if ((n = cfgread_arena_alloc(&L->cfg->store->arena, sizeof(*n))) ==
	    NULL) {
		nomem(L);
		return;
	}
	if (L->cfg->notify != NULL)
		*n = *L->cfg->notify;
	else
		notify_defaults(n);
	parse_notify(L, s, c->sc.what, n, false);
	c->j->notify = n;
}

static void
parse_job(struct loader *L, config_setting_t *g, int index)
{
	struct job_ctx c = {.L = L, .g = g};

	c.sc.file = cfgread_file(&L->rd, g);
	c.sc.line = cfgread_line(g);
	if ((c.j = new_job(L)) == NULL) {
		nomem(L);
		return;
	}
	c.j->file = c.sc.file;
	c.j->line = c.sc.line;
	job_name(&c, index);
	job_action(&c);
	job_keys_check(&c);
	job_schedule(&c);
	job_settings(&c);
	job_notify(&c);
	job_target(&c);
	job_params(&c);
	job_combinations(&c);
}

/* ---- files
 * ------------------------------------------------------------------- */

/* `accounts` and `jobs` are lists of groups. */
static void
parse_list(struct loader *L, config_setting_t *s,
           void (*fn)(struct loader *, config_setting_t *, int))
{
	struct cfgread_scope sc = {L->rd.file, cfgread_line(s), ""};
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		cfgread_error(
		    &L->rd, &sc, s,
		    "%s: expected a list ( { ... }, { ... } ), got %s",
		    config_setting_name(s), cfgread_type_name(s));
		return;
	}
	n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_GROUP)
			cfgread_error(&L->rd, &sc, e,
			              "%s: item %d: expected a group { ... }, "
			              "got %s",
			              config_setting_name(s), i + 1,
			              cfgread_type_name(e));
		else
			fn(L, e, i);
	}
}

static void
parse_dropin(struct loader *L, const char *path)
{
	config_t lc;
	config_setting_t *root;
	char *text;
	struct cfgread_scope sc = {path, 1, ""};

	if (cfgread_load_text(&L->rd, path, &text) < 0)
		return;
	config_init(&lc);
	config_set_include_dir(&lc, L->rd.base_dir);
	L->rd.file = path;
	if (cfgread_parse(&L->rd, &lc, text) < 0)
		goto out;
	cfgread_release_text(&L->rd, path);
	root = config_root_setting(&lc);
	for (int i = 0; i < config_setting_length(root); i++) {
		config_setting_t *s =
		    config_setting_get_elem(root, (unsigned)i);
		const char *key = config_setting_name(s);
		size_t d = 99;

		if (strcmp(key, "accounts") == 0)
			parse_list(L, s, parse_account);
		else if (strcmp(key, "jobs") == 0)
			parse_list(L, s, parse_job);
		else if (cfgread_in_list(key, main_keys))
			cfgread_error(
			    &L->rd, &sc, s,
			    "\"%s\" belongs in the main file %s; files in "
			    "include_dir hold only accounts and jobs",
			    key, L->cfg->path);
		else
			cfgread_unknown_key(
			    &L->rd, &sc, s,
			    cfgread_best_of(key, dropin_keys, NULL, &d));
	}
out:
	config_destroy(&lc);
}

static void
parse_include_dir(struct loader *L, config_setting_t *s)
{
	struct cfgread_scope sc = {L->rd.file, cfgread_line(s), ""};
	const char *v;
	struct stat st;
	char *pattern;
	glob_t gl;
	int rc;

	if (cfgread_str(&L->rd, &sc, s, &v) < 0)
		return;
	if ((L->cfg->include_dir = resolve_path(L, v)) == NULL) {
		nomem(L);
		return;
	}
	if (L->flags & CONFIG_LOAD_NO_INCLUDE_DIR)
		return;
	if (stat(L->cfg->include_dir, &st) != 0) {
		cfgread_error(&L->rd, &sc, s, "include_dir \"%s\": %s",
		              L->cfg->include_dir, strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		cfgread_error(&L->rd, &sc, s,
		              "include_dir \"%s\" is not a directory",
		              L->cfg->include_dir);
		return;
	}
	if (asprintf(&pattern, "%s/*.conf", L->cfg->include_dir) < 0) {
		nomem(L);
		return;
	}
	/* glob sorts by name; we never call setlocale, so that is byte
	 * order, the same on every machine. */
	rc = glob(pattern, 0, NULL, &gl);
	free(pattern);
	if (rc == GLOB_NOMATCH)
		return;
	if (rc != 0) {
		cfgread_error(&L->rd, &sc, s,
		              "include_dir \"%s\": cannot list it",
		              L->cfg->include_dir);
		return;
	}
	for (size_t i = 0; i < gl.gl_pathc; i++) {
		const char *path = arena_strdup(L->cfg->store, gl.gl_pathv[i]);

		if (path == NULL) {
			nomem(L);
			break;
		}
		parse_dropin(L, path);
	}
	globfree(&gl);
}

static void
parse_main(struct loader *L, config_setting_t *root)
{
	struct cfgread_scope sc = {L->rd.file, 1, ""};
	config_setting_t *s;
	int n = config_setting_length(root);

	/* Settings that jobs depend on come first, wherever they are. */
	if ((s = config_setting_get_member(root, "timezone")) != NULL)
		parse_timezone(L, s);
	if ((s = config_setting_get_member(root, "defaults")) != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_GROUP)
			cfgread_error(&L->rd, &sc, s,
			              "defaults: expected a group { ... }, "
			              "got %s",
			              cfgread_type_name(s));
		else
			L->rd.shared = s;
	}
	if (L->rd.shared != NULL)
		check_defaults(L, L->rd.shared);
	if ((s = config_setting_get_member(root, "notify")) != NULL)
		parse_notify_top(L, s);
	for (int i = 0; i < n; i++) {
		const char *key, *v;
		size_t d = 99;

		s = config_setting_get_elem(root, (unsigned)i);
		key = config_setting_name(s);
		if (strcmp(key, "timezone") == 0 ||
		    strcmp(key, "defaults") == 0 ||
		    strcmp(key, "include_dir") == 0 ||
		    strcmp(key, "notify") == 0)
			continue;
		if (strcmp(key, "jobs") == 0) {
			parse_list(L, s, parse_job);
			continue;
		}
		if (strcmp(key, "metrics") == 0) {
			if (config_setting_type(s) != CONFIG_TYPE_GROUP)
				cfgread_error(
				    &L->rd, &sc, s,
				    "%s: expected a group { ... }, got %s", key,
				    cfgread_type_name(s));
			else
				parse_metrics(L, s);
			continue;
		}
		if (strcmp(key, "api") == 0 ||
		    strcmp(key, "rate_limits") == 0 ||
		    strcmp(key, "listen") == 0 || strcmp(key, "slack") == 0) {
			if (config_setting_type(s) != CONFIG_TYPE_GROUP)
				cfgread_error(
				    &L->rd, &sc, s,
				    "%s: expected a group { ... }, got %s", key,
				    cfgread_type_name(s));
			else if (key[0] == 'a')
				parse_api(L, s);
			else if (key[0] == 'l')
				parse_listen(L, s);
			else if (key[0] == 's')
				parse_slack(L, s);
			else
				parse_rate_limits(L, s);
		} else if (strcmp(key, "state_dir") == 0) {
			if (cfgread_str(&L->rd, &sc, s, &v) < 0)
				continue;
			if (v[0] == '\0')
				cfgread_error(&L->rd, &sc, s,
				              "state_dir is empty");
			else if ((L->cfg->state_dir = resolve_path(L, v)) ==
			         NULL)
				nomem(L);
		} else if (strcmp(key, "sendmail") == 0) {
			if (cfgread_str(&L->rd, &sc, s, &v) < 0)
				continue;
			if (v[0] == '\0')
				cfgread_error(&L->rd, &sc, s,
				              "sendmail is empty");
			else if ((L->cfg->sendmail = resolve_path(L, v)) ==
			         NULL)
				nomem(L);
		} else if (strcmp(key, "log_level") == 0) {
			int e;

			if (cfgread_enum(&L->rd, &sc, s, log_levels, &e) == 0)
				L->cfg->log_level = log_levels[e];
		} else if (strcmp(key, "accounts") == 0) {
			L->accounts_line = cfgread_line(s);
			parse_list(L, s, parse_account);
		} else {
			cfgread_unknown_key(
			    &L->rd, &sc, s,
			    cfgread_best_of(key, main_keys, NULL, &d));
		}
	}
	if ((s = config_setting_get_member(root, "include_dir")) != NULL)
		parse_include_dir(L, s);
}

/* ---- cross-file checks and keys ------------------------------------------ */

static void
resolve_accounts(struct loader *L)
{
	struct config *cfg = L->cfg;

	if (cfg->naccounts == 0)
		lerr(L, cfg->path, L->accounts_line ? L->accounts_line : 1,
		     "no account defined; add one to \"accounts\"");
	for (size_t i = 0, next = 0; i < cfg->njobs; i++) {
		struct config_job *j = &cfg->jobs[i];
		const char *jn = j->name ? j->name : "?";
		struct cfgread_name *a;
		struct pending *p;

		if (j->account == ACCOUNT_UNSET) {
			j->account = 0;
			if (cfg->naccounts > 1)
				lerr(L, j->file, j->line,
				     "job \"%s\": there are %zu accounts; say "
				     "which with account = \"...\"",
				     jn, cfg->naccounts);
			continue;
		}
		if (j->account != ACCOUNT_PENDING)
			continue; /* resolved when the job was read */
		p = &L->pending[next++];
		j->account = 0;
		if ((a = cfgread_names_find(&L->accounts_by_name, p->name)) !=
		    NULL) {
			j->account = a->index;
			continue;
		}
		if (cfg->naccounts == 0)
			continue;
		{
			const char *best = NULL;
			size_t d = 99;

			for (size_t k = 0; k < cfg->naccounts; k++)
				if (cfg->accounts[k].name != NULL)
					cfgread_suggest(p->name,
					                cfg->accounts[k].name,
					                &best, &d);
			lerr(
			    L, p->file, p->line,
			    "job \"%s\": account \"%.*s\" is not defined%s%s%s",
			    jn, CFGREAD_MAX_NAME, p->name,
			    best ? " (did you mean \"" : "", best ? best : "",
			    best ? "\"?)" : "");
		}
	}
}

static void
check_keys(struct loader *L)
{
	struct config *cfg = L->cfg;
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	const char *env = getenv("KINSTA_API_KEY");
	char err[1024];

	/* Outside the service, the folder the unit's LoadCredential= lines
	 * read from stands in for $CREDENTIALS_DIRECTORY, so that a plain
	 * `kinsta-cron check` by root sees the keys the service will get. */
	if ((creds == NULL || creds[0] == '\0') &&
	    (creds = resolve_path(L, "credentials")) == NULL) {
		nomem(L);
		return;
	}

	for (size_t i = 0; i < cfg->naccounts; i++) {
		struct config_account *a = &cfg->accounts[i];
		struct stat st;
		char *path;

		if (a->name == NULL)
			continue;
		if (a->key_file != NULL) {
			a->key_source = KEYS_FILE;
			a->key_path = a->key_file;
			if (keys_read(KEYS_FILE, a->key_path, a->name, NULL, 0,
			              err, sizeof(err)) < 0)
				lerr(L, a->file, a->line, "%s", err);
			continue;
		}
		if (creds != NULL && creds[0] != '\0') {
			if (asprintf(&path, "%s/%s", creds, a->name) < 0) {
				nomem(L);
				return;
			}
			if (stat(path, &st) == 0) {
				a->key_source = KEYS_CREDENTIAL;
				a->key_path = arena_strdup(cfg->store, path);
				if (a->key_path == NULL)
					nomem(L);
				else if (keys_read(KEYS_CREDENTIAL, path,
				                   a->name, NULL, 0, err,
				                   sizeof(err)) < 0)
					lerr(L, a->file, a->line, "%s", err);
				free(path);
				continue;
			}
			free(path);
		}
		if (env != NULL && cfg->naccounts == 1) {
			a->key_source = KEYS_ENV;
			if (keys_read(KEYS_ENV, NULL, a->name, NULL, 0, err,
			              sizeof(err)) < 0)
				lerr(L, a->file, a->line, "%s", err);
			continue;
		}
		lerr(L, a->file, a->line,
		     "account \"%s\": no API key: set key_file, put the key "
		     "in %s/%s (the service gets it through systemd "
		     "LoadCredential=), or set KINSTA_API_KEY (only with a "
		     "single account)",
		     a->name, creds, a->name);
	}
}

/* ---- the public entry points ----------------------------------------------
 */

/* struct config and its store are the arena's first blocks: the arena
 * holds itself, and config_free releases it last. */
static struct config *
config_new(const char *path)
{
	struct cfgread_arena a = {0};
	struct config *cfg = cfgread_arena_alloc(&a, sizeof(*cfg));
	struct config_store *st =
	    cfg ? cfgread_arena_alloc(&a, sizeof(*st)) : NULL;

	if (st == NULL) {
		cfgread_arena_free(&a);
		return NULL;
	}
	memset(cfg, 0, sizeof(*cfg));
	memset(st, 0, sizeof(*st));
	st->arena = a;
	cfg->store = st;
	if ((cfg->path = arena_strdup(st, path)) == NULL) {
		config_free(cfg);
		return NULL;
	}
	cfg->api_url = DEFAULT_URL;
	cfg->api_timeout = 30;
	cfg->state_dir = DEFAULT_STATE_DIR;
	cfg->timezone = "UTC";
	cfg->zone = tz_utc();
	cfg->log_level = "info";
	cfg->rate_limits = (struct config_rate_limits){120, 1000, 5, 35};
	cfg->sendmail = "/usr/sbin/sendmail";
	cfg->delivery = (struct config_delivery){
	    .timeout_ms = 10000,
	    .retry_min_ms = 30000,
	    .retry_max_ms = 15 * 60000,
	    .give_up_ms = 24 * 3600000LL,
	    .parallel = 4,
	};
	cfg->listen.max_connections = 64;
	cfg->listen.timeout = 30;
	cfg->listen.max_body = 64 * 1024;
	cfg->listen.allow_actions = CONFIG_ALLOW_ACTIONS_DEFAULT;
	return cfg;
}

void
config_free(struct config *cfg)
{
	struct config_store *st;
	struct cfgread_arena a;

	if (cfg == NULL)
		return;
	st = cfg->store;
	for (size_t i = 0; i < st->nzones; i++)
		tz_free(st->zones[i].tz);
	free(st->zones);
	mapmem_free(cfg->jobs, st->jobs_cap * sizeof(*cfg->jobs));
	mapmem_free(cfg->accounts, st->accounts_cap * sizeof(*cfg->accounts));
	a = st->arena; /* cfg and st are in it */
	cfgread_arena_free(&a);
}

/* Give back the pages of an array beyond its N elements. */
static void
fit(void **p, size_t *cap, size_t n, size_t size)
{
	void *q;

	if (*p == NULL || n >= *cap)
		return;
	if ((q = mapmem_resize(*p, *cap * size, n * size)) != NULL) {
		*p = q;
		*cap = n;
	}
}

/* TEXT is taken over (a source of the reader: read from the file, it is
 * freed once parsed). */
static int
load(struct loader *L, char *text, bool from_file)
{
	config_t lc;
	int rc = -EINVAL;

	config_init(&lc);
	config_set_include_dir(&lc, L->rd.base_dir);
	if (cfgread_parse(&L->rd, &lc, text) == 0) {
		if (from_file)
			cfgread_release_text(&L->rd, L->cfg->path);
		parse_main(L, config_root_setting(&lc));
		resolve_accounts(L);
		if (!(L->flags & CONFIG_LOAD_NO_KEYS)) {
			check_keys(L);
			check_sendmail(L);
		}
	}
	L->rd.shared = NULL;
	config_destroy(&lc);
	if (L->rd.nomem)
		rc = -ENOMEM;
	else if (L->rd.nerr == 0)
		rc = 0;
	return rc;
}

static void
loader_done(struct loader *L)
{
	cfgread_done(&L->rd);
	free(L->pending);
	cfgread_arena_free(&L->scratch);
	cfgread_names_free(&L->jobs_by_name);
	cfgread_names_free(&L->accounts_by_name);
}

static int
load_common(const char *path, const char *text_in, unsigned flags,
            struct config **out, struct config_errors *errs)
{
	struct loader L = {.flags = flags};
	const char *slash;
	char *text = NULL;
	int rc = -ENOMEM;

	*out = NULL;
	if ((L.cfg = config_new(path)) == NULL)
		return -ENOMEM;
	L.rd.arena = &L.cfg->store->arena;
	L.rd.sink = errors_add;
	L.rd.sink_arg = errs;
	L.rd.shared_what = "defaults: ";
	L.rd.file = L.cfg->path;
	slash = strrchr(path, '/');
	if (text_in != NULL || slash == NULL)
		L.rd.base_dir = ".";
	else if (slash == path)
		L.rd.base_dir = "/";
	else
		L.rd.base_dir = cfgread_arena_strndup(
		    &L.cfg->store->arena, path, (size_t)(slash - path));
	if (L.rd.base_dir == NULL)
		goto fail;
	if (text_in != NULL) {
		if ((text = strdup(text_in)) == NULL ||
		    cfgread_add_source(&L.rd, L.cfg->path, text, strlen(text)) <
		        0)
			goto fail;
	} else if (cfgread_load_text(&L.rd, L.cfg->path, &text) < 0) {
		rc = L.rd.nomem ? -ENOMEM : -EINVAL;
		goto fail;
	}
	if ((rc = load(&L, text, text_in == NULL)) < 0)
		goto fail;
	loader_done(&L);
	/* the arrays grew by doubling: keep only what is used */
	fit((void **)&L.cfg->jobs, &L.cfg->store->jobs_cap, L.cfg->njobs,
	    sizeof(*L.cfg->jobs));
	fit((void **)&L.cfg->accounts, &L.cfg->store->accounts_cap,
	    L.cfg->naccounts, sizeof(*L.cfg->accounts));
	*out = L.cfg;
	return 0;
fail:
	loader_done(&L);
	config_free(L.cfg);
	return rc;
}

int
config_load(const char *path, unsigned flags, struct config **out,
            struct config_errors *errs)
{
	return load_common(path, NULL, flags, out, errs);
}

int
config_load_string(const char *text, const char *name, unsigned flags,
                   struct config **out, struct config_errors *errs)
{
	return load_common(name, text, flags, out, errs);
}

const struct config_job *
config_find_job(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->njobs; i++)
		if (cfg->jobs[i].name != NULL &&
		    strcmp(cfg->jobs[i].name, name) == 0)
			return &cfg->jobs[i];
	return NULL;
}

const struct config_param *
config_param(const struct config_job *job, const char *name)
{
	for (size_t i = 0; i < job->nparams; i++)
		if (strcmp(job->params[i].name, name) == 0)
			return &job->params[i];
	return NULL;
}

const char *
config_param_str(const struct config_job *job, const char *name)
{
	const struct config_param *p = config_param(job, name);

	return p != NULL ? p->str : NULL;
}

bool
config_param_bool(const struct config_job *job, const char *name)
{
	const struct config_param *p = config_param(job, name);

	return p != NULL && p->type == ACTION_PARAM_BOOL && p->num != 0;
}

int64_t
config_param_int(const struct config_job *job, const char *name)
{
	const struct config_param *p = config_param(job, name);

	return p != NULL && p->type == ACTION_PARAM_INT ? p->num : 0;
}

const char *const *
config_param_list(const struct config_job *job, const char *name, size_t *n)
{
	const struct config_param *p = config_param(job, name);

	if (p == NULL || p->type != ACTION_PARAM_LIST || p->list == NULL) {
		*n = 0;
		return NULL;
	}
	*n = p->nlist;
	return (const char *const *)p->list;
}

int
config_target_describe(const struct config_target *t, char *buf, size_t len)
{
	static const char *const kinds[] = {"no target", "environment", "site",
	                                    "label", "all sites"};
	char excl[256] = "", envs[264];
	size_t n = 0;
	int rc;

	if (t->kind == CONFIG_TARGET_NONE)
		return snprintf(buf, len, "no target");
	if (t->nexclude > 0)
		snprintf(excl, sizeof(excl), ", except %zu site%s", t->nexclude,
		         t->nexclude == 1 ? "" : "s");
	if (t->nenvironments > 1)
		snprintf(envs, sizeof(envs), "%s then %s", t->environments[0],
		         t->environments[1]);
	else
		snprintf(envs, sizeof(envs), "%s", t->environment);
	if (t->kind == CONFIG_TARGET_ALL_SITES)
		return snprintf(buf, len, "all sites (%s%s%s)", envs, excl,
		                t->nenvironments > 2 ? ", ..." : "");
	if (t->nvalues == 1)
		rc = snprintf(buf, len, "%s %s", kinds[t->kind], t->values[0]);
	else
		rc = snprintf(buf, len, "%zu %ss", t->nvalues, kinds[t->kind]);
	if (rc < 0)
		return rc;
	n = (size_t)rc;
	if (t->kind == CONFIG_TARGET_ENVIRONMENTS)
		return rc;
	rc = snprintf(n < len ? buf + n : NULL, n < len ? len - n : 0,
	              " (%s%s%s)", envs, excl,
	              t->nenvironments > 2 ? ", ..." : "");
	return rc < 0 ? rc : (int)n + rc;
}

static bool
same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
same_list(const char *const *a, size_t na, const char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!same_str(a[i], b[i]))
			return false;
	return true;
}

/* Is the end of a fire told alike (where, how, when)? */
static bool
same_notify(const struct config_notify *a, const struct config_notify *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return same_str(a->webhook, b->webhook) && a->format == b->format &&
	       same_list(a->email, a->nemail, b->email, b->nemail) &&
	       a->on == b->on && a->repeat_every == b->repeat_every &&
	       same_str(a->from, b->from);
}

bool
config_job_same(const struct config *ca, const struct config_job *a,
                const struct config *cb, const struct config_job *b)
{
	const struct config_target *ta = &a->target, *tb = &b->target;

	if (!same_notify(a->notify, b->notify) ||
	    !same_str(a->heartbeat, b->heartbeat))
		return false;
	if (!same_str(a->name, b->name) ||
	    !same_str(a->schedule, b->schedule) ||
	    !same_str(tz_name(a->zone), tz_name(b->zone)) ||
	    !same_str(ca->accounts[a->account].name,
	              cb->accounts[b->account].name) ||
	    a->action != b->action || a->enabled != b->enabled ||
	    a->jitter != b->jitter || a->overlap != b->overlap ||
	    a->catch_up != b->catch_up || a->timeout != b->timeout ||
	    a->retries != b->retries || a->nparams != b->nparams ||
	    a->window_from != b->window_from || a->window_to != b->window_to ||
	    a->rollout.set != b->rollout.set ||
	    a->rollout.canary != b->rollout.canary ||
	    a->rollout.batch != b->rollout.batch ||
	    a->rollout.halt_after != b->rollout.halt_after)
		return false;
	if (ta->kind != tb->kind ||
	    !same_list(ta->environments, ta->nenvironments, tb->environments,
	               tb->nenvironments) ||
	    !same_list(ta->values, ta->nvalues, tb->values, tb->nvalues) ||
	    !same_list(ta->exclude_sites, ta->nexclude, tb->exclude_sites,
	               tb->nexclude))
		return false;
	for (size_t i = 0; i < a->nparams; i++) {
		const struct config_param *p = &a->params[i],
		                          *q = &b->params[i];

		if (!same_str(p->name, q->name) || p->type != q->type ||
		    !same_str(p->str, q->str) || p->num != q->num ||
		    !same_list(p->list, p->nlist, q->list, q->nlist))
			return false;
	}
	return true;
}

const struct config_job *
config_same_job(const struct config *from, const struct config_job *job,
                const struct config *to)
{
	const struct config_job *j = config_find_job(to, job->name);
	const struct config_account *a, *b;

	if (j == NULL || !config_job_same(from, job, to, j))
		return NULL;
	a = &from->accounts[job->account];
	b = &to->accounts[j->account];
	if (!same_str(a->company, b->company) ||
	    a->key_source != b->key_source ||
	    !same_str(a->key_path, b->key_path))
		return NULL;
	return j;
}

const char *
config_guess_state_dir(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, found[4096] = "";
	const char *slash;
	size_t cap = 0;

	snprintf(buf, len, "%s", DEFAULT_STATE_DIR);
	if (f == NULL)
		return buf;
	/* only a line of its own at the top level, as the example files
	 * write it; anything cleverer is what the parser is for */
	while (getline(&line, &cap, f) > 0) {
		const char *p = line + strspn(line, " \t"), *q;
		size_t n;

		if (strncmp(p, "state_dir", 9) != 0)
			continue;
		p += 9 + strspn(p + 9, " \t");
		if (*p != '=' && *p != ':')
			continue;
		p++;
		p += strspn(p, " \t");
		if (*p != '"' || (q = strchr(p + 1, '"')) == NULL)
			continue;
		n = (size_t)(q - p - 1);
		if (n > 0 && n < sizeof(found))
			snprintf(found, sizeof(found), "%.*s", (int)n, p + 1);
	}
	free(line);
	fclose(f);
	if (found[0] == '/' || found[0] == '\0' ||
	    (slash = strrchr(path, '/')) == NULL) {
		if (found[0] != '\0')
			snprintf(buf, len, "%s", found);
		return buf;
	}
	snprintf(buf, len, "%.*s/%s", (int)(slash - path), path, found);
	return buf;
}

/* ---- ad-hoc jobs ---------------------------------------------------------
 * A job made on the spot from the fields of a request: the same checks as
 * a job of the file, on a libconfig tree built from the fields, with the
 * base config's accounts and notify and none of its defaults. */

struct config_adhoc {
	struct config *cfg; /* holds the one job, and its strings */
};

/* The job keys an ad-hoc run may set; the rest are a schedule's. */
static const char *const adhoc_job_keys[] = {"account", "timeout", "retries",
                                             NULL};

static int
adhoc_add(config_setting_t *parent, const struct config_value *v)
{
	static const int types[] = {
	    [CONFIG_VALUE_STRING] = CONFIG_TYPE_STRING,
	    [CONFIG_VALUE_INT] = CONFIG_TYPE_INT64,
	    [CONFIG_VALUE_BOOL] = CONFIG_TYPE_BOOL,
	    [CONFIG_VALUE_LIST] = CONFIG_TYPE_ARRAY,
	    [CONFIG_VALUE_GROUP] = CONFIG_TYPE_GROUP,
	};
	config_setting_t *s =
	    config_setting_add(parent, v->key, types[v->kind]);

	if (s == NULL)
		return -EINVAL; /* a bad or repeated name */
	switch (v->kind) {
	case CONFIG_VALUE_STRING:
		return config_setting_set_string(s, v->str) ? 0 : -ENOMEM;
	case CONFIG_VALUE_INT:
		return config_setting_set_int64(s, v->num) ? 0 : -ENOMEM;
	case CONFIG_VALUE_BOOL:
		return config_setting_set_bool(s, v->num != 0) ? 0 : -ENOMEM;
	case CONFIG_VALUE_LIST:
		for (size_t i = 0; i < v->nlist; i++)
			if (config_setting_set_string_elem(s, -1, v->list[i]) ==
			    NULL)
				return -ENOMEM;
		return 0;
	case CONFIG_VALUE_GROUP:
		for (size_t i = 0; i < v->nmembers; i++) {
			int rc = adhoc_add(s, &v->members[i]);

			if (rc < 0)
				return rc;
		}
		return 0;
	}
	return -EINVAL;
}

/* The first error only, without the "ad-hoc: " the reader puts first. */
struct adhoc_sink {
	char *err;
	size_t len;
	bool said;
};

static int
adhoc_error(void *arg, const char *msg)
{
	struct adhoc_sink *k = arg;
	static const char prefix[] = "ad-hoc: ";

	if (k->said)
		return 0;
	if (strncmp(msg, prefix, sizeof(prefix) - 1) == 0)
		msg += sizeof(prefix) - 1;
	snprintf(k->err, k->len, "%s", msg);
	k->said = true;
	return 0;
}

/* The job's name: '@', the action, ':', the account and '/' when there
 * are several, and its first target value, in the characters of a name;
 * never a name a file can give a job (they start with a letter or
 * digit), so that a reload never takes it for one of its jobs, and
 * enough to follow its operation again after a restart
 * (config_adhoc_parse_name). */
static void
adhoc_name(const struct config *base, const struct config_job *j, char *buf,
           size_t len)
{
	const char *first = j->target.nvalues > 0 ? j->target.values[0]
	                    : j->target.kind == CONFIG_TARGET_ALL_SITES ? "all"
	                                                                : "";
	size_t n;

	snprintf(buf, len, "@%s:", action_name(j->action));
	n = strlen(buf);
	if (base->naccounts > 1)
		snprintf(buf + n, len - n, "%s/",
		         base->accounts[j->account].name);
	snprintf(buf + strlen(buf), len - strlen(buf), "%.64s", first);
	for (char *p = buf + n; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' &&
		    *p != '-' && *p != '/')
			*p = '_';
}

int
config_adhoc_parse_name(const char *name, enum action_id *action, char *account,
                        size_t len)
{
	const char *colon = name[0] == '@' ? strchr(name, ':') : NULL;
	const char *slash = colon ? strchr(colon, '/') : NULL;
	char act[64];
	int a;

	if (colon == NULL || (size_t)(colon - name) >= sizeof(act))
		return -EINVAL;
	snprintf(act, sizeof(act), "%.*s", (int)(colon - name - 1), name + 1);
	if ((a = action_find(act)) < 0)
		return -EINVAL;
	*action = (enum action_id)a;
	snprintf(account, len, "%.*s", slash ? (int)(slash - colon - 1) : 0,
	         colon + 1);
	return 0;
}

int
config_adhoc_new(struct config_adhoc **out, const struct config *base,
                 enum action_id action, const char *as,
                 const struct config_value *v, size_t n, char *err,
                 size_t errlen)
{
	struct adhoc_sink sink = {err, errlen, false};
	struct loader L = {.flags = CONFIG_LOAD_NO_KEYS};
	struct config_adhoc *a = NULL;
	struct job_ctx c = {.L = &L};
	config_t lc;
	char name[160];
	int rc = -ENOMEM;

	*out = NULL;
	config_init(&lc);
	if ((L.cfg = config_new("ad-hoc")) == NULL)
		goto fail;
	L.rd.arena = &L.cfg->store->arena;
	L.rd.sink = adhoc_error;
	L.rd.sink_arg = &sink;
	L.rd.file = L.cfg->path;
	L.rd.base_dir = "/";
	L.cfg->zone = base->zone;
	L.cfg->timezone = base->timezone;
	L.cfg->notify = base->notify;
	for (size_t i = 0; i < base->naccounts; i++)
		if (cfgread_names_add(
		        &L.accounts_by_name, base->accounts[i].name,
		        base->accounts[i].file, base->accounts[i].line, i) < 0)
			goto fail;
	c.g = config_setting_add(config_root_setting(&lc), "job",
	                         CONFIG_TYPE_GROUP);
	if (c.g == NULL || (c.j = new_job(&L)) == NULL)
		goto fail;
	rc = -EINVAL;
	if ((c.action = action_get(action)) == NULL) {
		snprintf(err, errlen, "no such action");
		goto fail;
	}
	c.j->action = action;
	c.j->file = c.sc.file = L.cfg->path;
	c.j->zone = base->zone;
	for (size_t i = 0; i < n; i++) {
		if (cfgread_in_list(v[i].key, job_keys) &&
		    !cfgread_in_list(v[i].key, adhoc_job_keys)) {
			snprintf(err, errlen,
			         "\"%s\" belongs to a scheduled job, not to "
			         "one run; leave it out",
			         v[i].key);
			rc = -EINVAL;
			goto fail;
		}
		if ((rc = adhoc_add(c.g, &v[i])) < 0) {
			if (rc == -EINVAL)
				snprintf(err, errlen,
				         "\"%.64s\" is not a key (letters, "
				         "digits, \"_\"), or it is given "
				         "twice",
				         v[i].key);
			goto fail;
		}
	}
	rc = -EINVAL;
	job_keys_check(&c);
	job_settings(&c);
	job_notify(&c);
	job_target(&c);
	job_params(&c);
	job_combinations(&c);
	if (L.rd.nomem) {
		rc = -ENOMEM;
		goto fail;
	}
	if (L.rd.nerr > 0)
		goto fail;
	if (c.j->account == ACCOUNT_UNSET) {
		if (base->naccounts != 1) {
			snprintf(err, errlen,
			         "there are %zu accounts; say which with "
			         "\"account\"",
			         base->naccounts);
			goto fail;
		}
		c.j->account = 0;
	} else if (c.j->account == ACCOUNT_PENDING) {
		snprintf(err, errlen, "there is no account \"%.*s\"",
		         CFGREAD_MAX_NAME, L.pending[0].name);
		goto fail;
	}
	if (as != NULL)
		snprintf(name, sizeof(name), "%s", as);
	else
		adhoc_name(base, c.j, name, sizeof(name));
	if ((c.j->name = arena_strdup(L.cfg->store, name)) == NULL ||
	    (a = malloc(sizeof(*a))) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	a->cfg = L.cfg;
	L.cfg = NULL;
	*out = a;
	rc = 0;
fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	config_destroy(&lc);
	loader_done(&L);
	config_free(L.cfg);
	return rc;
}

const struct config_job *
config_adhoc_job(const struct config_adhoc *a)
{
	return &a->cfg->jobs[0];
}

void
config_adhoc_free(struct config_adhoc *a)
{
	if (a == NULL)
		return;
	config_free(a->cfg);
	free(a);
}
