/*
 * report: the document (from the inventory, the history and the period)
 * and its three renderings.  The renderers read the finished JSON
 * document back, so that HTML and CSV can never say something the JSON
 * does not.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "report.h"
#include "tz.h"
#include "util.h"

#define SCHEMA "kinsta-cron.report/1"
#define DAY    86400
/* A report spans at most a year and a day of daily buckets. */
#define MAX_DAYS 400
#define MS       1000

/* Our own documents, not an answer from the network: a company with a
 * few thousand sites makes an inventory of tens of megabytes. */
static const struct json_limits big = {(size_t)256 << 20, 0, false};

/* ---- periods ------------------------------------------------------------ */

static int
parse_month(const char *v, int64_t *y, int *m)
{
	if (strlen(v) != 7 || !isdigit((unsigned char)v[0]) ||
	    !isdigit((unsigned char)v[1]) || !isdigit((unsigned char)v[2]) ||
	    !isdigit((unsigned char)v[3]) || v[4] != '-' ||
	    !isdigit((unsigned char)v[5]) || !isdigit((unsigned char)v[6]))
		return -EINVAL;
	*y = (v[0] - '0') * 1000 + (v[1] - '0') * 100 + (v[2] - '0') * 10 +
	     (v[3] - '0');
	*m = (v[5] - '0') * 10 + (v[6] - '0');
	return *m >= 1 && *m <= 12 && *y >= 2000 ? 0 : -EINVAL;
}

const char *
report_period_check(const char *v)
{
	int64_t y;
	int m;

	if (strcmp(v, "last-month") == 0 || strcmp(v, "this-month") == 0 ||
	    parse_month(v, &y, &m) == 0)
		return NULL;
	return "must be a month like \"2026-11\", \"last-month\" or "
	       "\"this-month\"";
}

static int
parse_since(const char *v, long *days)
{
	char *end;

	if (!isdigit((unsigned char)v[0]))
		return -EINVAL;
	errno = 0;
	*days = strtol(v, &end, 10);
	if (errno || strcmp(end, "d") != 0 || *days < 1 || *days > 366)
		return -EINVAL;
	return 0;
}

const char *
report_since_check(const char *v)
{
	long d;

	return parse_since(v, &d) == 0
	           ? NULL
	           : "must be a number of days from 1 to 366, like \"30d\"";
}

/* The day (days since 1970-01-01) that instant t falls on in zone. */
static int64_t
wall_day(const struct tz *zone, int64_t t)
{
	return util_floor_div(t + tz_offset_at(zone, t), DAY);
}

static void
day_name(int64_t day, char *buf, size_t len)
{
	struct tz_civil c;

	tz_civil_from_seconds(day * DAY, &c);
	snprintf(buf, len, "%04" PRId64 "-%02d-%02d", c.year, c.month, c.day);
}

static int64_t
month_start(const struct tz *zone, int64_t y, int m)
{
	int64_t t;

	if (m > 12) {
		y++;
		m = 1;
	}
	tz_wall_to_utc(zone, tz_days_from_civil(y, m, 1) * DAY, &t);
	return t;
}

int
report_period_parse(struct report_period *p, const char *period,
                    const char *since, const struct tz *zone, int64_t now,
                    char *err, size_t errlen)
{
	long days;
	int64_t y;
	int m;

	memset(p, 0, sizeof(*p));
	if (since != NULL) {
		if (parse_since(since, &days) < 0) {
			util_seterr(err, errlen, "since \"%s\" %s", since,
			            report_since_check(since));
			return -EINVAL;
		}
		p->to = now;
		p->from = now - (int64_t)days * DAY;
		snprintf(p->label, sizeof(p->label), "%ldd", days);
	} else {
		struct tz_civil c;

		tz_civil_from_seconds(now + tz_offset_at(zone, now), &c);
		y = c.year;
		m = c.month;
		if (period == NULL || strcmp(period, "last-month") == 0) {
			if (--m == 0) {
				m = 12;
				y--;
			}
		} else if (strcmp(period, "this-month") != 0 &&
		           parse_month(period, &y, &m) < 0) {
			util_seterr(err, errlen, "period \"%s\" %s", period,
			            report_period_check(period));
			return -EINVAL;
		}
		p->from = month_start(zone, y, m);
		p->to = month_start(zone, y, m + 1);
		snprintf(p->label, sizeof(p->label), "%04" PRId64 "-%02d", y,
		         m);
	}
	day_name(wall_day(zone, p->from), p->first_day, sizeof(p->first_day));
	day_name(wall_day(zone, p->to - 1), p->last_day, sizeof(p->last_day));
	return 0;
}

int
report_format_parse(const char *name)
{
	if (name == NULL || strcmp(name, "json") == 0)
		return REPORT_JSON;
	if (strcmp(name, "html") == 0)
		return REPORT_HTML;
	if (strcmp(name, "csv") == 0)
		return REPORT_CSV;
	return -EINVAL;
}

const char *
report_format_ext(enum report_format f)
{
	return f == REPORT_HTML ? "html" : f == REPORT_CSV ? "csv" : "json";
}

int
report_output_path(char *buf, size_t len, const char *tmpl, const char *client,
                   const char *date, const char *period)
{
	size_t n = 0;

#define PUT(ch)                                                                \
	do {                                                                   \
		if (n + 1 < len)                                               \
			buf[n] = (ch);                                         \
		n++;                                                           \
	} while (0)
	for (const char *p = tmpl; *p; p++) {
		const char *v = NULL;
		bool name = false;

		if (*p != '{') {
			PUT(*p);
			continue;
		}
		if (strncmp(p, "{client}", 8) == 0) {
			v = client;
			name = true;
			p += 7;
		} else if (strncmp(p, "{date}", 6) == 0) {
			v = date;
			p += 5;
		} else if (strncmp(p, "{period}", 8) == 0) {
			v = period;
			p += 7;
		} else {
			return -EINVAL;
		}
		for (size_t i = 0; v != NULL && v[i]; i++)
			PUT(name && (v[i] == '/' || (i == 0 && v[i] == '.'))
			        ? '_'
			        : v[i]);
	}
#undef PUT
	if (len > 0)
		buf[n < len ? n : len - 1] = '\0';
	return (int)n;
}

/* ---- the document ------------------------------------------------------- */

/* One environment of the inventory, with what was fetched about it. */
struct env {
	yajl_val site, env, details;
	const char *account;
	size_t site_index;
};

struct env_id {
	const char *id;
	size_t i;
};

#define NONE ((size_t)-1)

/* One run of the history inside the period, on one of the environments. */
struct run {
	yajl_val v;
	int64_t start_ms;
	size_t line, env;
	const char *kind;
};

struct build {
	const struct report_input *in;
	yajl_val *inv;
	struct env *envs;
	size_t nenvs, cap_envs;
	yajl_val *lines; /* every parsed history line, for json_free */
	size_t nlines, cap_lines;
	struct run *runs;
	size_t nruns, cap_runs;
	struct env_id *byid; /* the environments by id, for the history */
	size_t *next;        /* per run: the job's next run there, or NONE */
	int64_t first_day;
	size_t ndays;
	struct json_writer w;
};

static const char *
str_or(yajl_val v, const char *key, const char *def)
{
	const char *s = json_str(v, key, NULL);

	return s != NULL ? s : def;
}

static int64_t
int_or0(yajl_val v, const char *key)
{
	int64_t n = 0;

	return json_int_lenient(v, &n, key, NULL) == 0 ? n : 0;
}

static const char *
run_kind(const char *action)
{
	if (action == NULL)
		return "other";
	if (strcmp(action, "backup") == 0)
		return "backup";
	if (strncmp(action, "update-", 7) == 0)
		return "update";
	if (strncmp(action, "clear-", 6) == 0)
		return "cache-clear";
	if (strcmp(action, "restart-php") == 0)
		return "php-restart";
	return "other";
}

static int
add_env(struct build *b, yajl_val site, yajl_val env, yajl_val details,
        const char *account, size_t site_index)
{
	if (util_grow((void **)&b->envs, &b->cap_envs, b->nenvs + 1,
	              sizeof(*b->envs)) < 0)
		return -ENOMEM;
	b->envs[b->nenvs++] =
	    (struct env){site, env, details, account, site_index};
	return 0;
}

yajl_val
report_env_details(yajl_val inv, const char *id)
{
	yajl_val list = json_arr(inv, "environments", NULL);

	for (size_t i = 0; id != NULL && i < json_arr_len(list); i++) {
		const char *e = json_str(json_arr_at(list, i), "id", NULL);

		if (e != NULL && strcmp(e, id) == 0)
			return json_arr_at(list, i);
	}
	return NULL;
}

static int
env_id_cmp(const void *x, const void *y)
{
	const struct env_id *a = x, *b = y;
	int c = strcmp(a->id, b->id);

	return c ? c : (a->i > b->i) - (a->i < b->i);
}

/* Sort the environments by id: a year of history is a few hundred
 * thousand lines, each looked up. */
static int
index_envs(struct build *b)
{
	if ((b->byid = calloc(b->nenvs + 1, sizeof(*b->byid))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < b->nenvs; i++)
		b->byid[i] =
		    (struct env_id){str_or(b->envs[i].env, "id", ""), i};
	if (b->nenvs > 0)
		qsort(b->byid, b->nenvs, sizeof(*b->byid), env_id_cmp);
	return 0;
}

static ssize_t
env_index(const struct build *b, const char *id)
{
	size_t lo = 0, hi = b->nenvs;

	/* the first of equal ids: the inventory's order decides */
	while (id != NULL && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(b->byid[mid].id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return id != NULL && lo < b->nenvs && strcmp(b->byid[lo].id, id) == 0
	           ? (ssize_t)b->byid[lo].i
	           : -1;
}

static int
run_cmp(const void *x, const void *y)
{
	const struct run *a = x, *b = y;

	if (a->start_ms != b->start_ms)
		return a->start_ms < b->start_ms ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

/* The history's runs inside the period on the report's environments. */
static int
read_history(struct build *b)
{
	const char *p = b->in->history, *end = p + b->in->history_len;
	int64_t from = b->in->period->from * MS, to = b->in->period->to * MS;

	while (p != NULL && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		yajl_val v = NULL;
		int64_t start = 0;
		ssize_t e;
		char err[64];

		if (n > 0 &&
		    json_parse(&v, p, n, NULL, err, sizeof(err)) == 0) {
			if (util_grow((void **)&b->lines, &b->cap_lines,
			              b->nlines + 1, sizeof(*b->lines)) < 0) {
				json_free(v);
				return -ENOMEM;
			}
			b->lines[b->nlines++] = v;
			json_int(v, &start, "start_ms", NULL);
			e = env_index(b, json_str(v, "env_id", NULL));
			if (e >= 0 && start >= from && start < to) {
				if (util_grow((void **)&b->runs, &b->cap_runs,
				              b->nruns + 1,
				              sizeof(*b->runs)) < 0)
					return -ENOMEM;
				b->runs[b->nruns++] = (struct run){
				    v, start, b->nlines, (size_t)e,
				    run_kind(json_str(v, "action", NULL))};
			}
		}
		p = nl ? nl + 1 : end;
	}
	if (b->nruns > 0)
		qsort(b->runs, b->nruns, sizeof(*b->runs), run_cmp);
	return 0;
}

/* The items an update run changed, from its history details (written by
 * versions that record them; NULL before). */
static yajl_val
run_updates(yajl_val v)
{
	yajl_val u = json_arr(v, "details", "updates", NULL);

	return u != NULL ? u : json_arr(v, "details", "items", NULL);
}

static const char *
first_str(yajl_val v, const char *const *keys)
{
	for (; *keys; keys++) {
		const char *s = json_str(v, *keys, NULL);

		if (s != NULL)
			return s;
	}
	return NULL;
}

static const char *const from_keys[] = {
    "from", "before", "version_before", "old_version", "version", NULL};
static const char *const to_keys[] = {
    "to", "after", "version_after", "new_version", "update_version", NULL};

struct tally {
	int64_t runs, succeeded, failed, timed_out, skipped, other;
	int64_t backups_taken, update_runs, updates_applied, cache_clears;
	int64_t php_restarts, unresolved;
	int64_t plugin_updates, theme_updates, backups_available;
	int64_t visits, bandwidth, cdn_bandwidth;
	bool usage;
};

static bool
failed_outcome(const char *o)
{
	return o != NULL &&
	       (strcmp(o, "failed") == 0 || strcmp(o, "timed-out") == 0 ||
	        strcmp(o, "rolled-back") == 0);
}

static void
tally_run(struct tally *t, const struct run *r)
{
	const char *o = str_or(r->v, "outcome", "");
	bool ok = strcmp(o, "succeeded") == 0;

	t->runs++;
	if (ok)
		t->succeeded++;
	else if (strcmp(o, "failed") == 0)
		t->failed++;
	else if (strcmp(o, "timed-out") == 0)
		t->timed_out++;
	else if (strcmp(o, "skipped") == 0)
		t->skipped++;
	else
		t->other++;
	if (!ok)
		return;
	if (strcmp(r->kind, "backup") == 0)
		t->backups_taken++;
	else if (strcmp(r->kind, "cache-clear") == 0)
		t->cache_clears++;
	else if (strcmp(r->kind, "php-restart") == 0)
		t->php_restarts++;
	else if (strcmp(r->kind, "update") == 0) {
		t->update_runs++;
		t->updates_applied += (int64_t)json_arr_len(run_updates(r->v));
	}
}

/* Add the runs' part of b (not the environments') to t. */
static void
tally_add(struct tally *t, const struct tally *b)
{
	t->runs += b->runs;
	t->succeeded += b->succeeded;
	t->failed += b->failed;
	t->timed_out += b->timed_out;
	t->skipped += b->skipped;
	t->other += b->other;
	t->backups_taken += b->backups_taken;
	t->update_runs += b->update_runs;
	t->updates_applied += b->updates_applied;
	t->cache_clears += b->cache_clears;
	t->php_restarts += b->php_restarts;
	t->unresolved += b->unresolved;
}

static void
tally_env(struct tally *t, yajl_val d)
{
	yajl_val u = json_obj(d, "usage", NULL);

	t->plugin_updates +=
	    (int64_t)json_arr_len(json_arr(d, "plugin_updates", NULL));
	t->theme_updates +=
	    (int64_t)json_arr_len(json_arr(d, "theme_updates", NULL));
	t->backups_available += int_or0(d, "backups");
	if (u != NULL) {
		t->usage = true;
		t->visits += int_or0(json_obj(u, "visits", NULL), "total");
		t->bandwidth +=
		    int_or0(json_obj(u, "bandwidth", NULL), "total");
		t->cdn_bandwidth +=
		    int_or0(json_obj(u, "cdn_bandwidth", NULL), "total");
	}
}

/* A summary; sites and environments are counted in the report's own
 * summary only (n < 0: left out). */
static void
w_tally(struct json_writer *w, const struct tally *t, int64_t nsites,
        int64_t nenvs)
{
	json_w_obj_open(w);
	if (nsites >= 0) {
		json_w_key_int(w, "sites", nsites);
		json_w_key_int(w, "environments", nenvs);
	}
	json_w_key_int(w, "runs", t->runs);
	json_w_key_int(w, "succeeded", t->succeeded);
	json_w_key_int(w, "failed", t->failed);
	json_w_key_int(w, "timed_out", t->timed_out);
	json_w_key_int(w, "skipped", t->skipped);
	json_w_key_int(w, "other_outcomes", t->other);
	json_w_key_int(w, "failures_unresolved", t->unresolved);
	json_w_key_int(w, "backups_taken", t->backups_taken);
	json_w_key_int(w, "update_runs", t->update_runs);
	json_w_key_int(w, "updates_applied", t->updates_applied);
	json_w_key_int(w, "cache_clears", t->cache_clears);
	json_w_key_int(w, "php_restarts", t->php_restarts);
	json_w_key_int(w, "pending_plugin_updates", t->plugin_updates);
	json_w_key_int(w, "pending_theme_updates", t->theme_updates);
	json_w_key_int(w, "backups_available", t->backups_available);
	if (t->usage) {
		json_w_key_int(w, "visits", t->visits);
		json_w_key_int(w, "bandwidth_bytes", t->bandwidth);
		json_w_key_int(w, "cdn_bandwidth_bytes", t->cdn_bandwidth);
	} else {
		json_w_key_null(w, "visits");
		json_w_key_null(w, "bandwidth_bytes");
		json_w_key_null(w, "cdn_bandwidth_bytes");
	}
	json_w_obj_close(w);
}

/* Runs in the order (environment, job, start): each one's next run of
 * the same job on the same environment is the one after it. */
static int
run_link_cmp(const void *x, const void *y, void *arg)
{
	const struct build *bd = arg;
	const struct run *a = &bd->runs[*(const size_t *)x];
	const struct run *b = &bd->runs[*(const size_t *)y];
	int c;

	if (a->env != b->env)
		return a->env < b->env ? -1 : 1;
	if ((c = strcmp(str_or(a->v, "job", ""), str_or(b->v, "job", ""))))
		return c;
	/* runs[] is in start order already */
	return *(const size_t *)x < *(const size_t *)y ? -1 : 1;
}

static int
link_runs(struct build *b)
{
	size_t *order = calloc(b->nruns + 1, sizeof(*order));

	if (order == NULL ||
	    (b->next = calloc(b->nruns + 1, sizeof(*b->next))) == NULL) {
		free(order);
		return -ENOMEM;
	}
	for (size_t i = 0; i < b->nruns; i++) {
		order[i] = i;
		b->next[i] = NONE;
	}
	if (b->nruns > 1)
		qsort_r(order, b->nruns, sizeof(*order), run_link_cmp, b);
	for (size_t k = 0; k + 1 < b->nruns; k++) {
		const struct run *x = &b->runs[order[k]];
		const struct run *y = &b->runs[order[k + 1]];

		if (x->env == y->env && strcmp(str_or(x->v, "job", ""),
		                               str_or(y->v, "job", "")) == 0)
			b->next[order[k]] = order[k + 1];
	}
	free(order);
	return 0;
}

/* How a failed run ended: the next run of the same job on the same
 * environment, if any. */
static const struct run *
next_run(const struct build *b, size_t i)
{
	return b->next[i] == NONE ? NULL : &b->runs[b->next[i]];
}

static void
w_time(struct build *b, const char *key, int64_t ms)
{
	char buf[64];

	util_time_iso(buf, sizeof(buf), b->in->zone, util_floor_div(ms, MS),
	              -1);
	json_w_key_str(&b->w, key, buf);
}

static void
w_str_or_null(struct json_writer *w, const char *key, const char *s)
{
	if (s != NULL)
		json_w_key_str(w, key, s);
	else
		json_w_key_null(w, key);
}

static void
w_run(struct build *b, size_t i)
{
	struct json_writer *w = &b->w;
	const struct run *r = &b->runs[i];
	const struct env *e = &b->envs[r->env];
	const char *o = str_or(r->v, "outcome", "");
	yajl_val ups = run_updates(r->v);
	int64_t end = 0;

	json_w_obj_open(w);
	w_time(b, "start", r->start_ms);
	json_w_key_int(w, "start_ms", r->start_ms);
	if (json_int(r->v, &end, "end_ms", NULL) == 0)
		json_w_key_int(w, "end_ms", end);
	json_w_key_str(w, "job", str_or(r->v, "job", ""));
	json_w_key_str(w, "action", str_or(r->v, "action", ""));
	json_w_key_str(w, "kind", r->kind);
	json_w_key_str(w, "site", str_or(e->site, "name", ""));
	json_w_key_str(w, "environment", str_or(e->env, "name", ""));
	json_w_key_str(w, "env_id", str_or(e->env, "id", ""));
	json_w_key_str(w, "outcome", o);
	json_w_key_str(w, "message", str_or(r->v, "message", ""));
	json_w_key_str(w, "note", str_or(r->v, "note", ""));
	if (ups != NULL) {
		json_w_key(w, "updates");
		json_w_arr_open(w);
		for (size_t k = 0; k < json_arr_len(ups); k++) {
			yajl_val it = json_arr_at(ups, k);

			json_w_obj_open(w);
			json_w_key_str(w, "name", str_or(it, "name", "?"));
			w_str_or_null(w, "type",
			              json_str(it, "type", NULL)
			                  ? json_str(it, "type", NULL)
			                  : json_str(it, "kind", NULL));
			w_str_or_null(w, "from", first_str(it, from_keys));
			w_str_or_null(w, "to", first_str(it, to_keys));
			json_w_obj_close(w);
		}
		json_w_arr_close(w);
	} else {
		json_w_key_null(w, "updates");
	}
	if (failed_outcome(o)) {
		const struct run *n = next_run(b, i);
		const char *no = n ? str_or(n->v, "outcome", "") : NULL;

		json_w_key_str(w, "resolution",
		               n == NULL ? "not-run-again"
		               : strcmp(no, "succeeded") == 0
		                   ? "succeeded-later"
		                   : "still-failing");
		if (n != NULL && strcmp(no, "succeeded") == 0)
			w_time(b, "resolved_at", n->start_ms);
		else
			json_w_key_null(w, "resolved_at");
	} else {
		json_w_key_null(w, "resolution");
		json_w_key_null(w, "resolved_at");
	}
	json_w_obj_close(w);
}

static bool
unresolved(const struct build *b, size_t i)
{
	const struct run *n;

	if (!failed_outcome(json_str(b->runs[i].v, "outcome", NULL)))
		return false;
	n = next_run(b, i);
	return n == NULL || strcmp(str_or(n->v, "outcome", ""), "succeeded");
}

static void
w_updates(struct json_writer *w, yajl_val list, const char *key)
{
	json_w_key(w, key);
	json_w_arr_open(w);
	for (size_t i = 0; i < json_arr_len(list); i++) {
		yajl_val it = json_arr_at(list, i);

		json_w_obj_open(w);
		json_w_key_str(w, "name", str_or(it, "name", "?"));
		w_str_or_null(w, "version", json_str(it, "version", NULL));
		w_str_or_null(w, "update_version",
		              json_str(it, "update_version", NULL));
		json_w_obj_close(w);
	}
	json_w_arr_close(w);
}

static const char *const usage_keys[] = {"visits", "bandwidth",
                                         "cdn_bandwidth"};

static void
w_env(struct build *b, const struct env *e)
{
	struct json_writer *w = &b->w;
	yajl_val d = e->details, doms = json_arr(e->env, "domains", NULL);
	yajl_val bl = json_arr(d, "backup_list", NULL);
	yajl_val u = json_obj(d, "usage", NULL);
	int64_t latest = 0;

	json_w_obj_open(w);
	json_w_key_str(w, "id", str_or(e->env, "id", ""));
	json_w_key_str(w, "name", str_or(e->env, "name", ""));
	w_str_or_null(w, "display_name",
	              json_str(e->env, "display_name", NULL));
	w_str_or_null(w, "php", json_str(e->env, "php", NULL));
	w_str_or_null(w, "wordpress", json_str(e->env, "wordpress", NULL));
	w_str_or_null(w, "primary_domain",
	              json_str(e->env, "primary_domain", NULL));
	json_w_key(w, "domains");
	json_w_arr_open(w);
	for (size_t i = 0; i < json_arr_len(doms); i++)
		if (YAJL_IS_STRING(json_arr_at(doms, i)))
			json_w_str(w, json_arr_at(doms, i)->u.string);
	json_w_arr_close(w);
	w_updates(w, json_arr(d, "plugin_updates", NULL), "plugin_updates");
	w_updates(w, json_arr(d, "theme_updates", NULL), "theme_updates");
	json_w_key_int(w, "backups", int_or0(d, "backups"));
	if (json_int(d, &latest, "latest_backup_ms", NULL) == 0 && latest > 0) {
		json_w_key_int(w, "latest_backup_ms", latest);
		w_time(b, "latest_backup", latest);
	} else {
		json_w_key_null(w, "latest_backup_ms");
		json_w_key_null(w, "latest_backup");
	}
	json_w_key(w, "backup_list");
	json_w_arr_open(w);
	for (size_t i = 0; i < json_arr_len(bl); i++) {
		yajl_val k = json_arr_at(bl, i);
		int64_t at = int_or0(k, "created_ms");

		json_w_obj_open(w);
		json_w_key_int(w, "id", int_or0(k, "id"));
		w_str_or_null(w, "name", json_str(k, "name", NULL));
		w_str_or_null(w, "type", json_str(k, "type", NULL));
		json_w_key_int(w, "created_ms", at);
		w_time(b, "created", at);
		json_w_obj_close(w);
	}
	json_w_arr_close(w);
	json_w_key(w, "usage");
	if (u == NULL) {
		json_w_null(w);
	} else {
		static const char *const names[] = {"visits", "bandwidth_bytes",
		                                    "cdn_bandwidth_bytes"};

		json_w_obj_open(w);
		for (int k = 0; k < 3; k++) {
			int64_t n;

			/* a series the API refused is unknown, not 0 */
			if (json_int(u, &n, usage_keys[k], "total", NULL) == 0)
				json_w_key_int(w, names[k], n);
			else
				json_w_key_null(w, names[k]);
		}
		json_w_obj_close(w);
	}
	/* the first usage question the API refused, if any */
	{
		const char *why = NULL;

		for (int k = 0; k < 3 && why == NULL; k++)
			why = json_str(u, usage_keys[k], "error", NULL);
		w_str_or_null(w, "usage_error", why);
	}
	json_w_obj_close(w);
}

/* Day index of an analytics key ("2026-11-03T00:00:00.000Z"), or -1. */
static ssize_t
dataset_day(const struct build *b, const char *key)
{
	int64_t y;
	int m, d;
	char mon[8];

	if (key == NULL || strlen(key) < 10 || key[7] != '-')
		return -1;
	memcpy(mon, key, 7);
	mon[7] = '\0';
	if (parse_month(mon, &y, &m) < 0 || !isdigit((unsigned char)key[8]) ||
	    !isdigit((unsigned char)key[9]))
		return -1;
	d = (key[8] - '0') * 10 + (key[9] - '0');
	y = tz_days_from_civil(y, m, d) - b->first_day;
	return y >= 0 && (size_t)y < b->ndays ? (ssize_t)y : -1;
}

static void
add_dataset(const struct build *b, yajl_val series, int64_t *acc)
{
	yajl_val days = json_arr(series, "days", NULL);

	for (size_t i = 0; i < json_arr_len(days); i++) {
		yajl_val d = json_arr_at(days, i);
		ssize_t k = dataset_day(b, json_str(d, "date", NULL));

		if (k >= 0)
			acc[k] += int_or0(d, "value");
	}
}

static int
w_days(struct build *b)
{
	struct json_writer *w = &b->w;
	int64_t(*c)[8] = calloc(b->ndays ? b->ndays : 1, sizeof(*c));
	static const char *const outcomes[] = {"succeeded", "failed",
	                                       "timed-out", "skipped"};
	static const char *const keys[] = {
	    "succeeded", "failed", "timed_out",       "skipped",
	    "other",     "visits", "bandwidth_bytes", "cdn_bandwidth_bytes"};
	int64_t visits[MAX_DAYS] = {0}, bw[MAX_DAYS] = {0}, cdn[MAX_DAYS] = {0};
	bool usage = false;

	if (c == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < b->nruns; i++) {
		int64_t day =
		    wall_day(b->in->zone,
		             util_floor_div(b->runs[i].start_ms, MS)) -
		    b->first_day;
		const char *o = str_or(b->runs[i].v, "outcome", "");
		size_t k = 4;

		if (day < 0 || (size_t)day >= b->ndays)
			continue;
		for (size_t j = 0; j < 4; j++)
			if (strcmp(o, outcomes[j]) == 0)
				k = j;
		c[day][k]++;
	}
	/* usage counts the live environments: a staging site's visits are
	 * the agency's own */
	for (size_t i = 0; i < b->nenvs; i++) {
		yajl_val u = json_obj(b->envs[i].details, "usage", NULL);

		if (u == NULL)
			continue;
		usage = true;
		add_dataset(b, json_obj(u, "visits", NULL), visits);
		add_dataset(b, json_obj(u, "bandwidth", NULL), bw);
		add_dataset(b, json_obj(u, "cdn_bandwidth", NULL), cdn);
	}
	json_w_key(w, "days");
	json_w_arr_open(w);
	for (size_t d = 0; d < b->ndays; d++) {
		char name[16];

		c[d][5] = visits[d];
		c[d][6] = bw[d];
		c[d][7] = cdn[d];
		day_name(b->first_day + (int64_t)d, name, sizeof(name));
		json_w_obj_open(w);
		json_w_key_str(w, "date", name);
		for (size_t k = 0; k < 8; k++)
			if (k < 5 || usage)
				json_w_key_int(w, keys[k], c[d][k]);
			else
				json_w_key_null(w, keys[k]);
		json_w_obj_close(w);
	}
	json_w_arr_close(w);
	free(c);
	return 0;
}

static size_t
count_sites(const struct build *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->nenvs; i++)
		n += i == 0 || b->envs[i].site != b->envs[i - 1].site;
	return n;
}

static void
build_free(struct build *b)
{
	for (size_t i = 0; i < b->in->ninventories && b->inv; i++)
		json_free(b->inv[i]);
	free(b->inv);
	for (size_t i = 0; i < b->nlines; i++)
		json_free(b->lines[i]);
	free(b->lines);
	free(b->envs);
	free(b->runs);
	free(b->byid);
	free(b->next);
	json_w_free(&b->w);
}

/* Copy a parsed value to the writer as it is (the compatibility parts). */
static void
w_copy(struct json_writer *w, yajl_val v)
{
	if (v == NULL || YAJL_IS_NULL(v)) {
		json_w_null(w);
	} else if (YAJL_IS_STRING(v)) {
		json_w_str(w, v->u.string);
	} else if (YAJL_IS_INTEGER(v)) {
		json_w_int(w, YAJL_GET_INTEGER(v));
	} else if (YAJL_IS_NUMBER(v)) {
		json_w_int(w, (int64_t)YAJL_GET_DOUBLE(v));
	} else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
		json_w_bool(w, YAJL_IS_TRUE(v));
	} else if (YAJL_IS_ARRAY(v)) {
		json_w_arr_open(w);
		for (size_t i = 0; i < json_arr_len(v); i++)
			w_copy(w, json_arr_at(v, i));
		json_w_arr_close(w);
	} else {
		json_w_obj_open(w);
		for (size_t i = 0; i < json_obj_len(v); i++) {
			json_w_key(w, json_obj_key(v, i));
			w_copy(w, json_obj_at(v, i));
		}
		json_w_obj_close(w);
	}
}

int
report_build(const struct report_input *in, char **doc, size_t *len, char *err,
             size_t errlen)
{
	struct build b = {.in = in};
	struct json_writer *w = &b.w;
	struct tally all = {0}, *env_runs = NULL;
	const char *out;
	char when[64];
	int rc = -ENOMEM;

	*doc = NULL;
	*len = 0;
	json_w_init(w);
	if ((b.inv = calloc(in->ninventories + 1, sizeof(*b.inv))) == NULL)
		goto fail;
	for (size_t i = 0; i < in->ninventories; i++) {
		yajl_val sites;
		char perr[128];

		if (json_parse(&b.inv[i], in->inventories[i],
		               in->inventory_lens[i], &big, perr,
		               sizeof(perr)) < 0) {
			util_seterr(err, errlen, "inventory of %s: %s",
			            in->accounts[i], perr);
			rc = -EINVAL;
			goto fail;
		}
		sites = json_arr(b.inv[i], "sites", NULL);
		for (size_t s = 0; s < json_arr_len(sites); s++) {
			yajl_val site = json_arr_at(sites, s);
			yajl_val envs = json_arr(site, "environments", NULL);

			for (size_t k = 0; k < json_arr_len(envs); k++) {
				yajl_val e = json_arr_at(envs, k);

				if (add_env(
				        &b, site, e,
				        report_env_details(
				            b.inv[i], json_str(e, "id", NULL)),
				        in->accounts[i], s) < 0)
					goto fail;
			}
		}
	}
	if (index_envs(&b) < 0 || read_history(&b) < 0 || link_runs(&b) < 0)
		goto fail;
	b.first_day = wall_day(in->zone, in->period->from);
	b.ndays =
	    (size_t)(wall_day(in->zone, in->period->to - 1) - b.first_day + 1);
	if (b.ndays > MAX_DAYS)
		b.ndays = MAX_DAYS;
	if ((env_runs = calloc(b.nenvs + 1, sizeof(*env_runs))) == NULL)
		goto fail;
	for (size_t i = 0; i < b.nenvs; i++)
		tally_env(&all, b.envs[i].details);
	for (size_t i = 0; i < b.nruns; i++) {
		bool u = unresolved(&b, i);

		tally_run(&all, &b.runs[i]);
		tally_run(&env_runs[b.runs[i].env], &b.runs[i]);
		all.unresolved += u;
		env_runs[b.runs[i].env].unresolved += u;
	}

	json_w_obj_open(w);
	json_w_key_str(w, "schema", SCHEMA);
	w_str_or_null(w, "job", in->job);
	w_str_or_null(w, "company",
	              in->ninventories ? json_str(b.inv[0], "company", NULL)
	                               : NULL);
	json_w_key_str(w, "client", in->client ? in->client : "");
	w_str_or_null(w, "client_label", in->client_label);
	json_w_key(w, "accounts");
	json_w_arr_open(w);
	for (size_t i = 0; i < in->ninventories; i++) {
		json_w_obj_open(w);
		json_w_key_str(w, "name", in->accounts[i]);
		w_str_or_null(w, "company",
		              json_str(b.inv[i], "company", NULL));
		json_w_obj_close(w);
	}
	json_w_arr_close(w);
	util_time_iso(when, sizeof(when), in->zone, in->now, -1);
	json_w_key_str(w, "generated", when);
	json_w_key_int(w, "generated_ms", in->now * MS);
	json_w_key(w, "period");
	json_w_obj_open(w);
	json_w_key_str(w, "label", in->period->label);
	json_w_key_str(w, "first_day", in->period->first_day);
	json_w_key_str(w, "last_day", in->period->last_day);
	json_w_key_int(w, "from_ms", in->period->from * MS);
	json_w_key_int(w, "to_ms", in->period->to * MS);
	json_w_key_str(w, "zone", tz_name(in->zone));
	json_w_obj_close(w);
	json_w_key(w, "summary");
	w_tally(w, &all, (int64_t)count_sites(&b), (int64_t)b.nenvs);
	if (w_days(&b) < 0)
		goto fail;
	json_w_key(w, "sites");
	json_w_arr_open(w);
	for (size_t i = 0; i < b.nenvs; i++) {
		struct tally t = {0};

		/* a site's environments are consecutive */
		if (i > 0 && b.envs[i].site == b.envs[i - 1].site)
			continue;
		json_w_obj_open(w);
		json_w_key_str(w, "id", str_or(b.envs[i].site, "id", ""));
		json_w_key_str(w, "name", str_or(b.envs[i].site, "name", ""));
		w_str_or_null(w, "display_name",
		              json_str(b.envs[i].site, "display_name", NULL));
		json_w_key_str(w, "account", b.envs[i].account);
		json_w_key(w, "labels");
		w_copy(w, json_arr(b.envs[i].site, "labels", NULL));
		json_w_key(w, "environments");
		json_w_arr_open(w);
		for (size_t k = i;
		     k < b.nenvs && b.envs[k].site == b.envs[i].site; k++) {
			w_env(&b, &b.envs[k]);
			tally_env(&t, b.envs[k].details);
			tally_add(&t, &env_runs[k]);
		}
		json_w_arr_close(w);
		json_w_key(w, "summary");
		w_tally(w, &t, -1, -1);
		json_w_obj_close(w);
	}
	json_w_arr_close(w);
	json_w_key(w, "work");
	json_w_arr_open(w);
	for (size_t i = 0; i < b.nruns; i++)
		w_run(&b, i);
	json_w_arr_close(w);
	/* what the report action wrote before 0.2, for readers of it */
	json_w_key(w, "users");
	w_copy(w, in->ninventories ? json_arr(b.inv[0], "users", NULL) : NULL);
	json_w_key(w, "environments");
	json_w_arr_open(w);
	for (size_t i = 0; i < in->ninventories; i++) {
		yajl_val list = json_arr(b.inv[i], "environments", NULL);

		for (size_t k = 0; k < json_arr_len(list); k++)
			w_copy(w, json_arr_at(list, k));
	}
	json_w_arr_close(w);
	json_w_obj_close(w);
	if ((rc = json_w_finish(w, &out, len)) < 0) {
		util_seterr(err, errlen, "cannot encode the report: %s",
		            json_w_strerror(w) ? json_w_strerror(w)
		                               : "out of memory");
		goto fail;
	}
	rc = -ENOMEM;
	if ((*doc = malloc(*len + 1)) == NULL)
		goto fail;
	memcpy(*doc, out, *len);
	(*doc)[*len] = '\0';
	rc = 0;
fail:
	if (rc == -ENOMEM)
		util_seterr(err, errlen, "out of memory");
	free(env_runs);
	build_free(&b);
	return rc;
}

/* ---- renderings --------------------------------------------------------- */

struct out {
	char *p;
	size_t len, cap;
	int err;
};

static void
out_put(struct out *o, const char *s, size_t n)
{
	if (o->err)
		return;
	if (util_grow((void **)&o->p, &o->cap, o->len + n + 1, 1) < 0) {
		o->err = -ENOMEM;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void
out_s(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
out_f(struct out *o, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		o->err = o->err ? o->err : -EINVAL;
		return;
	}
	out_put(o, buf, (size_t)n);
}

/* Text for an HTML element or a quoted attribute. */
static void
out_html(struct out *o, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '&':
			out_s(o, "&amp;");
			break;
		case '<':
			out_s(o, "&lt;");
			break;
		case '>':
			out_s(o, "&gt;");
			break;
		case '"':
			out_s(o, "&quot;");
			break;
		case '\'':
			out_s(o, "&#39;");
			break;
		default:
			out_put(o, s, 1);
		}
	}
}

/* One CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or
 * LF, quotes doubled.  A field a spreadsheet would take for a formula
 * (=, +, -, @, tab or CR first: a site's name is whatever its owner
 * typed, and the client opens the file) starts with an apostrophe, which
 * spreadsheets show as text and do not run. */
static void
out_csv(struct out *o, const char *s)
{
	bool formula;

	if (s == NULL)
		return;
	formula = s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
	if (!formula && strpbrk(s, ",\"\r\n") == NULL) {
		out_s(o, s);
		return;
	}
	out_s(o, formula ? "\"'" : "\"");
	for (; *s; s++) {
		if (*s == '"')
			out_s(o, "\"\"");
		else
			out_put(o, s, 1);
	}
	out_s(o, "\"");
}

static const char *
jstr(yajl_val v, const char *key)
{
	const char *s = json_str(v, key, NULL);

	return s != NULL ? s : "";
}

static bool
jint(yajl_val v, const char *key, int64_t *n)
{
	return json_int(v, n, key, NULL) == 0;
}

/* "1.2 GB": bytes for people (decimal units, as Kinsta's dashboard). */
static void
human_bytes(int64_t n, char *buf, size_t len)
{
	static const char *const unit[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	double v = (double)n;
	size_t u = 0;

	while (v >= 1000 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRId64 " B", n);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
}

static void
out_num(struct out *o, yajl_val v, const char *key, bool bytes)
{
	int64_t n;
	char buf[32];

	if (!jint(v, key, &n)) {
		out_s(o, "&ndash;");
		return;
	}
	if (bytes)
		human_bytes(n, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "%" PRId64, n);
	out_s(o, buf);
}

static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,"
    "sans-serif;color:#1d2327;margin:2em auto;max-width:1100px;"
    "padding:0 1.5em}"
    "h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.2em;margin:1.6em 0 "
    ".5em;border-bottom:2px solid #5333ed;padding-bottom:.2em}"
    "h3{font-size:1.05em;margin:1.2em 0 .3em}"
    ".meta{color:#50575e;margin:0}"
    ".cards{display:flex;flex-wrap:wrap;gap:.6em;margin:1em 0}"
    ".card{border:1px solid #dcdcde;border-radius:6px;padding:.5em .8em;"
    "min-width:8.5em}.card b{display:block;font-size:1.4em}"
    ".card span{color:#50575e;font-size:.85em}"
    "table{border-collapse:collapse;width:100%;margin:.4em 0 1em}"
    "th,td{text-align:left;vertical-align:top;padding:.3em .5em;"
    "border-bottom:1px solid #e5e5e5}th{background:#f6f7f7;"
    "font-weight:600}td.n{text-align:right;font-variant-numeric:"
    "tabular-nums}"
    "tr{break-inside:avoid}td:first-child{white-space:nowrap}"
    ".ok{color:#1e7e34}.bad{color:#b32d2e}.warn{color:#b26200}"
    ".muted{color:#787c82}ul.items{margin:0;padding-left:1.1em}"
    "svg{max-width:100%;height:auto}.legend span{margin-right:1em}"
    ".sw{display:inline-block;width:.8em;height:.8em;margin-right:.3em;"
    "vertical-align:-1px}"
    ".site{break-inside:avoid}"
    "@page{size:A4;margin:14mm}"
    "@media print{body{margin:0;max-width:none;font-size:11px}"
    ".page{break-before:page}h2{break-after:avoid}"
    "a{color:inherit;text-decoration:none}}";

static const struct {
	const char *key, *label, *color;
} series[] = {
    {"succeeded", "succeeded", "#2e7d32"}, {"failed", "failed", "#c62828"},
    {"timed_out", "timed out", "#ef6c00"}, {"skipped", "skipped", "#9e9e9e"},
    {"other", "other", "#6a1b9a"},
};

#define NSERIES (sizeof(series) / sizeof(series[0]))

/* Bars per day: stacked runs by outcome, or one series (visits). */
static void
out_chart(struct out *o, yajl_val days, bool runs, const char *title)
{
	size_t n = json_arr_len(days);
	const int W = 760, H = 200, L = 44, B = 24, T = 10;
	int64_t max = 0;
	double bw;

	for (size_t i = 0; i < n; i++) {
		int64_t sum = 0, v;

		for (size_t k = 0; runs && k < NSERIES; k++)
			if (jint(json_arr_at(days, i), series[k].key, &v))
				sum += v;
		if (!runs && jint(json_arr_at(days, i), "visits", &v))
			sum = v;
		if (sum > max)
			max = sum;
	}
	if (max == 0)
		max = 1;
	bw = n ? (double)(W - L - 4) / (double)n : 1;
	out_f(o,
	      "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 %d %d\" "
	      "width=\"%d\" height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\">"
	      "<title>",
	      W, H, W, H);
	out_html(o, title);
	out_s(o, "</title>");
	out_f(o,
	      "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
	      "stroke=\"#8c8f94\"/>",
	      L, H - B, W - 2, H - B);
	out_f(o,
	      "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\" "
	      "fill=\"#50575e\">%" PRId64 "</text>",
	      L - 4, T + 4, max);
	out_f(o,
	      "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\" "
	      "fill=\"#50575e\">0</text>",
	      L - 4, H - B);
	for (size_t i = 0; i < n; i++) {
		yajl_val d = json_arr_at(days, i);
		double x = L + 2 + bw * (double)i, y = H - B;
		const char *date = jstr(d, "date");

		for (size_t k = 0; k < (runs ? NSERIES : 1); k++) {
			int64_t v = 0;
			double h;

			if (!jint(d, runs ? series[k].key : "visits", &v) ||
			    v <= 0)
				continue;
			h = (double)v * (H - B - T) / (double)max;
			y -= h;
			out_f(o,
			      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			      "height=\"%.1f\" fill=\"%s\"><title>",
			      x, y, bw > 2 ? bw - 1 : bw, h,
			      runs ? series[k].color : "#5333ed");
			out_html(o, date);
			out_f(o, ": %" PRId64 " %s</title></rect>", v,
			      runs ? series[k].label : "visits");
		}
		/* a date under the first bar and every seventh */
		if (i % 7 == 0 && strlen(date) == 10)
			out_f(o,
			      "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" "
			      "fill=\"#50575e\">%.5s</text>",
			      x, H - 8, date + 5);
	}
	out_s(o, "</svg>\n");
	if (runs) {
		out_s(o, "<p class=\"legend\">");
		for (size_t k = 0; k < NSERIES; k++)
			out_f(o,
			      "<span><i class=\"sw\" style=\"background:%s\">"
			      "</i>%s</span>",
			      series[k].color, series[k].label);
		out_s(o, "</p>\n");
	}
}

static void
out_card(struct out *o, yajl_val sum, const char *key, const char *label,
         bool bytes)
{
	out_s(o, "<div class=\"card\"><b>");
	out_num(o, sum, key, bytes);
	out_f(o, "</b><span>%s</span></div>", label);
}

static void
out_pending(struct out *o, yajl_val list, const char *what)
{
	for (size_t i = 0; i < json_arr_len(list); i++) {
		yajl_val u = json_arr_at(list, i);

		out_s(o, "<li>");
		out_html(o, jstr(u, "name"));
		out_f(o, " <span class=\"muted\">(%s)</span> ", what);
		out_html(o, jstr(u, "version"));
		out_s(o, " &rarr; ");
		out_html(o, jstr(u, "update_version"));
		out_s(o, "</li>");
	}
}

static const char *
outcome_class(const char *o)
{
	if (strcmp(o, "succeeded") == 0)
		return "ok";
	if (strcmp(o, "skipped") == 0)
		return "muted";
	return failed_outcome(o) ? "bad" : "warn";
}

/* "2026-11-03T02:00:00+01:00" -> "2026-11-03 02:00" */
static void
out_when(struct out *o, const char *iso)
{
	if (strlen(iso) >= 16) {
		out_put(o, iso, 10);
		out_s(o, " ");
		out_put(o, iso + 11, 5);
	} else {
		out_html(o, iso);
	}
}

static void
out_env_rows(struct out *o, yajl_val site)
{
	yajl_val envs = json_arr(site, "environments", NULL);

	for (size_t k = 0; k < json_arr_len(envs); k++) {
		yajl_val e = json_arr_at(envs, k);
		yajl_val doms = json_arr(e, "domains", NULL);
		yajl_val pu = json_arr(e, "plugin_updates", NULL);
		yajl_val tu = json_arr(e, "theme_updates", NULL);
		yajl_val u = json_obj(e, "usage", NULL);
		const char *latest = json_str(e, "latest_backup", NULL);

		out_s(o, "<tr><td>");
		out_html(o, jstr(e, "name"));
		out_s(o, "</td><td>");
		if (json_str(e, "primary_domain", NULL) != NULL) {
			out_s(o, "<b>");
			out_html(o, jstr(e, "primary_domain"));
			out_s(o, "</b>");
		}
		for (size_t d = 0; d < json_arr_len(doms); d++) {
			yajl_val dv = json_arr_at(doms, d);

			if (!YAJL_IS_STRING(dv) ||
			    strcmp(dv->u.string, jstr(e, "primary_domain")) ==
			        0)
				continue;
			out_s(o, "<br><span class=\"muted\">");
			out_html(o, dv->u.string);
			out_s(o, "</span>");
		}
		out_s(o, "</td><td>");
		out_html(o, jstr(e, "wordpress"));
		out_s(o, "</td><td>");
		out_html(o, jstr(e, "php"));
		out_s(o, "</td><td>");
		if (json_arr_len(pu) + json_arr_len(tu) == 0) {
			out_s(o, "<span class=\"ok\">none</span>");
		} else {
			out_s(o, "<ul class=\"items\">");
			out_pending(o, pu, "plugin");
			out_pending(o, tu, "theme");
			out_s(o, "</ul>");
		}
		out_s(o, "</td><td class=\"n\">");
		out_num(o, e, "backups", false);
		if (latest != NULL) {
			out_s(o, "<br><span class=\"muted\">latest ");
			out_when(o, latest);
			out_s(o, "</span>");
		}
		out_s(o, "</td><td class=\"n\">");
		if (u != NULL)
			out_num(o, u, "visits", false);
		else
			out_s(o, "&ndash;");
		out_s(o, "</td></tr>\n");
	}
}

static void
out_updates_done(struct out *o, yajl_val ups)
{
	if (json_arr_len(ups) == 0)
		return;
	out_s(o, "<ul class=\"items\">");
	for (size_t i = 0; i < json_arr_len(ups); i++) {
		yajl_val u = json_arr_at(ups, i);

		out_s(o, "<li class=\"update\">");
		out_html(o, jstr(u, "name"));
		out_s(o, " ");
		out_html(o, json_str(u, "from", NULL) ? jstr(u, "from") : "?");
		out_s(o, " &rarr; ");
		out_html(o, json_str(u, "to", NULL) ? jstr(u, "to") : "?");
		out_s(o, "</li>");
	}
	out_s(o, "</ul>");
}

static void
render_html(struct out *o, yajl_val doc)
{
	yajl_val sum = json_obj(doc, "summary", NULL);
	yajl_val sites = json_arr(doc, "sites", NULL);
	yajl_val work = json_arr(doc, "work", NULL);
	yajl_val period = json_obj(doc, "period", NULL);
	yajl_val days = json_arr(doc, "days", NULL);
	const char *client = jstr(doc, "client");
	int64_t fails = 0;

	out_s(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
	         "charset=\"utf-8\">\n<meta name=\"viewport\" "
	         "content=\"width=device-width,initial-scale=1\">\n<title>");
	out_html(o, client);
	out_s(o, " &mdash; site report ");
	out_html(o, jstr(period, "label"));
	out_s(o, "</title>\n<style>");
	out_s(o, css);
	out_s(o, "</style></head>\n<body>\n<header><h1>");
	out_html(o, client);
	out_s(o, ": site report</h1>\n<p class=\"meta\">");
	out_html(o, jstr(period, "first_day"));
	out_s(o, " to ");
	out_html(o, jstr(period, "last_day"));
	out_s(o, " (");
	out_html(o, jstr(period, "zone"));
	out_s(o, ") &middot; generated ");
	out_when(o, jstr(doc, "generated"));
	out_s(o, " by kinsta-cron</p></header>\n");

	out_s(o, "<section id=\"summary\"><h2>Summary</h2><div "
	         "class=\"cards\">");
	out_card(o, sum, "sites", "sites", false);
	out_card(o, sum, "environments", "environments", false);
	out_card(o, sum, "runs", "maintenance runs", false);
	out_card(o, sum, "backups_taken", "backups taken", false);
	out_card(o, sum, "updates_applied", "updates applied", false);
	out_card(o, sum, "cache_clears", "cache clears", false);
	out_card(o, sum, "php_restarts", "PHP restarts", false);
	out_card(o, sum, "failures_unresolved", "unresolved failures", false);
	out_card(o, sum, "backups_available", "backups available", false);
	out_card(o, sum, "visits", "visits", false);
	out_card(o, sum, "bandwidth_bytes", "bandwidth", true);
	out_card(o, sum, "cdn_bandwidth_bytes", "CDN bandwidth", true);
	out_s(o, "</div></section>\n");

	out_s(o, "<section id=\"charts\"><h2>Activity</h2><h3>Maintenance "
	         "runs per day</h3>\n");
	out_chart(o, days, true, "Maintenance runs per day by outcome");
	out_s(o, "<h3>Visits per day</h3>\n");
	out_chart(o, days, false, "Visits per day");
	out_s(o, "</section>\n");

	out_s(o, "<section id=\"sites\" class=\"page\"><h2>Sites</h2>\n");
	for (size_t i = 0; i < json_arr_len(sites); i++) {
		yajl_val s = json_arr_at(sites, i);

		out_s(o, "<div class=\"site\"><h3>");
		out_html(o, json_str(s, "display_name", NULL)
		                ? jstr(s, "display_name")
		                : jstr(s, "name"));
		out_s(o, " <span class=\"muted\">");
		out_html(o, jstr(s, "name"));
		out_s(o, "</span></h3>\n<table><thead><tr><th>Environment</th>"
		         "<th>Domains</th><th>WordPress</th><th>PHP</th>"
		         "<th>Pending updates</th><th>Backups</th>"
		         "<th>Visits</th></tr></thead><tbody>\n");
		out_env_rows(o, s);
		out_s(o, "</tbody></table></div>\n");
	}
	out_s(o, "</section>\n");

	out_s(o, "<section id=\"work\" class=\"page\"><h2>Work done</h2>\n");
	if (json_arr_len(work) == 0)
		out_s(o, "<p class=\"muted\">No maintenance runs in this "
		         "period.</p>\n");
	else
		out_s(o, "<table><thead><tr><th>When</th><th>Site</th>"
		         "<th>Work</th><th>Outcome</th><th>Details</th></tr>"
		         "</thead><tbody>\n");
	for (size_t i = 0; i < json_arr_len(work); i++) {
		yajl_val r = json_arr_at(work, i);
		const char *oc = jstr(r, "outcome");

		fails += failed_outcome(oc);
		out_s(o, "<tr><td>");
		out_when(o, jstr(r, "start"));
		out_s(o, "</td><td>");
		out_html(o, jstr(r, "site"));
		out_s(o, " / ");
		out_html(o, jstr(r, "environment"));
		out_s(o, "</td><td>");
		out_html(o, jstr(r, "action"));
		out_f(o, "</td><td class=\"%s\">", outcome_class(oc));
		out_html(o, oc);
		out_s(o, "</td><td>");
		out_updates_done(o, json_arr(r, "updates", NULL));
		out_html(o, jstr(r, "message"));
		if (*jstr(r, "note")) {
			out_s(o, " <span class=\"muted\">");
			out_html(o, jstr(r, "note"));
			out_s(o, "</span>");
		}
		out_s(o, "</td></tr>\n");
	}
	if (json_arr_len(work) > 0)
		out_s(o, "</tbody></table>\n");
	out_s(o, "</section>\n");

	out_s(o, "<section id=\"failures\"><h2>Failures and how they "
	         "ended</h2>\n");
	if (fails == 0)
		out_s(o, "<p class=\"ok\">No failures in this period.</p>\n");
	else
		out_s(o, "<table><thead><tr><th>When</th><th>Site</th>"
		         "<th>Work</th><th>Why</th><th>Then</th></tr></thead>"
		         "<tbody>\n");
	for (size_t i = 0; i < json_arr_len(work) && fails > 0; i++) {
		yajl_val r = json_arr_at(work, i);
		const char *res = jstr(r, "resolution");

		if (!failed_outcome(jstr(r, "outcome")))
			continue;
		out_s(o, "<tr><td>");
		out_when(o, jstr(r, "start"));
		out_s(o, "</td><td>");
		out_html(o, jstr(r, "site"));
		out_s(o, " / ");
		out_html(o, jstr(r, "environment"));
		out_s(o, "</td><td>");
		out_html(o, jstr(r, "action"));
		out_s(o, " <span class=\"bad\">");
		out_html(o, jstr(r, "outcome"));
		out_s(o, "</span></td><td>");
		out_html(o, jstr(r, "message"));
		if (strcmp(res, "succeeded-later") == 0) {
			out_s(o, "</td><td class=\"ok\">succeeded on ");
			out_when(o, jstr(r, "resolved_at"));
		} else if (strcmp(res, "still-failing") == 0) {
			out_s(o, "</td><td class=\"bad\">still failing");
		} else {
			out_s(o, "</td><td class=\"warn\">not run again");
		}
		out_s(o, "</td></tr>\n");
	}
	if (fails > 0)
		out_s(o, "</tbody></table>\n");
	out_s(o, "</section>\n");

	out_s(o, "<section id=\"backups\"><h2>Backups available</h2>\n"
	         "<table><thead><tr><th>Site</th><th>Environment</th>"
	         "<th>Taken</th><th>Type</th><th>Name</th></tr></thead>"
	         "<tbody>\n");
	for (size_t i = 0; i < json_arr_len(sites); i++) {
		yajl_val s = json_arr_at(sites, i);
		yajl_val envs = json_arr(s, "environments", NULL);

		for (size_t k = 0; k < json_arr_len(envs); k++) {
			yajl_val e = json_arr_at(envs, k);
			yajl_val bl = json_arr(e, "backup_list", NULL);

			for (size_t j = 0; j < json_arr_len(bl); j++) {
				yajl_val bk = json_arr_at(bl, j);

				out_s(o, "<tr><td>");
				out_html(o, jstr(s, "name"));
				out_s(o, "</td><td>");
				out_html(o, jstr(e, "name"));
				out_s(o, "</td><td>");
				out_when(o, jstr(bk, "created"));
				out_s(o, "</td><td>");
				out_html(o, jstr(bk, "type"));
				out_s(o, "</td><td>");
				out_html(o, jstr(bk, "name"));
				out_s(o, "</td></tr>\n");
			}
		}
	}
	out_s(o, "</tbody></table></section>\n</body></html>\n");
}

static const char *const csv_cols[] = {"client",
                                       "account",
                                       "site",
                                       "display_name",
                                       "environments",
                                       "primary_domain",
                                       "domains",
                                       "wordpress",
                                       "php",
                                       "pending_plugin_updates",
                                       "pending_theme_updates",
                                       "runs",
                                       "succeeded",
                                       "failed",
                                       "timed_out",
                                       "failures_unresolved",
                                       "backups_taken",
                                       "updates_applied",
                                       "cache_clears",
                                       "php_restarts",
                                       "backups_available",
                                       "latest_backup",
                                       "visits",
                                       "bandwidth_bytes",
                                       "cdn_bandwidth_bytes",
                                       NULL};

/* The live environment (or the first) of a site: its versions and
 * domains stand for the site in a one-row-per-site table. */
static yajl_val
main_env(yajl_val site)
{
	yajl_val envs = json_arr(site, "environments", NULL);

	for (size_t k = 0; k < json_arr_len(envs); k++)
		if (strcmp(jstr(json_arr_at(envs, k), "name"), "live") == 0)
			return json_arr_at(envs, k);
	return json_arr_at(envs, 0);
}

static void
csv_int(struct out *o, yajl_val v, const char *key)
{
	int64_t n;

	if (jint(v, key, &n))
		out_f(o, "%" PRId64, n);
}

static void
render_csv(struct out *o, yajl_val doc)
{
	yajl_val sites = json_arr(doc, "sites", NULL);

	for (size_t c = 0; csv_cols[c]; c++) {
		out_s(o, c ? "," : "");
		out_s(o, csv_cols[c]);
	}
	out_s(o, "\r\n");
	for (size_t i = 0; i < json_arr_len(sites); i++) {
		yajl_val s = json_arr_at(sites, i);
		yajl_val sum = json_obj(s, "summary", NULL);
		yajl_val envs = json_arr(s, "environments", NULL);
		yajl_val e = main_env(s);
		yajl_val doms = json_arr(e, "domains", NULL);
		struct out names = {0}, dl = {0};
		const char *latest = NULL;

		for (size_t k = 0; k < json_arr_len(envs); k++) {
			const char *l = json_str(json_arr_at(envs, k),
			                         "latest_backup", NULL);

			out_s(&names, k ? " " : "");
			out_s(&names, jstr(json_arr_at(envs, k), "name"));
			if (l != NULL &&
			    (latest == NULL || strcmp(l, latest) > 0))
				latest = l;
		}
		for (size_t k = 0; k < json_arr_len(doms); k++)
			if (YAJL_IS_STRING(json_arr_at(doms, k))) {
				out_s(&dl, dl.len ? " " : "");
				out_s(&dl, json_arr_at(doms, k)->u.string);
			}
		out_csv(o, jstr(doc, "client"));
		out_s(o, ",");
		out_csv(o, jstr(s, "account"));
		out_s(o, ",");
		out_csv(o, jstr(s, "name"));
		out_s(o, ",");
		out_csv(o, jstr(s, "display_name"));
		out_s(o, ",");
		out_csv(o, names.p ? names.p : "");
		out_s(o, ",");
		out_csv(o, jstr(e, "primary_domain"));
		out_s(o, ",");
		out_csv(o, dl.p ? dl.p : "");
		out_s(o, ",");
		out_csv(o, jstr(e, "wordpress"));
		out_s(o, ",");
		out_csv(o, jstr(e, "php"));
		for (size_t c = 9; csv_cols[c]; c++) {
			out_s(o, ",");
			if (strcmp(csv_cols[c], "latest_backup") == 0)
				out_csv(o, latest);
			else
				csv_int(o, sum, csv_cols[c]);
		}
		out_s(o, "\r\n");
		if (names.err || dl.err)
			o->err = -ENOMEM;
		free(names.p);
		free(dl.p);
	}
}

int
report_render(enum report_format f, const char *doc, size_t len, char **out,
              size_t *outlen, char *err, size_t errlen)
{
	struct out o = {0};
	yajl_val v;
	char perr[128];

	*out = NULL;
	*outlen = 0;
	if (f == REPORT_JSON) {
		out_put(&o, doc, len);
		out_s(&o, "\n");
	} else {
		if (json_parse(&v, doc, len, &big, perr, sizeof(perr)) < 0) {
			util_seterr(err, errlen, "report document: %s", perr);
			return -EINVAL;
		}
		if (f == REPORT_HTML)
			render_html(&o, v);
		else
			render_csv(&o, v);
		json_free(v);
	}
	if (o.err) {
		free(o.p);
		util_seterr(err, errlen, "cannot render the report: %s",
		            o.err == -ENOMEM ? "out of memory"
		                             : "a value is too long");
		return o.err;
	}
	*out = o.p;
	*outlen = o.len;
	return 0;
}
