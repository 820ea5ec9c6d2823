/*
 * report: a client's report for a period, built from what the `report`
 * action fetched (the inventory: sites, environments, domains, versions,
 * pending updates, backups, usage) and the runs in history.jsonl, then
 * rendered as JSON, HTML or CSV.  Pure: no I/O, the time is an argument.
 *
 * The JSON document is the report itself (field names in docs/reports.md,
 * stable); HTML and CSV are drawn from it, so the three always agree.
 */
#ifndef KCRON_REPORT_H
#define KCRON_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

struct tz;

/* The period a report covers: [from, to) in seconds since the epoch, and
 * its first and last day in the report's zone. */
struct report_period {
	int64_t from, to;
	char first_day[16], last_day[16]; /* "2026-11-01", "2026-11-30" */
	char label[32];                   /* "2026-11", "30d" */
};

enum report_format { REPORT_JSON, REPORT_HTML, REPORT_CSV };

/* What the report is made of.  inventories: one document per account,
 * as kinsta_report gives it; history: history.jsonl's text (may be NULL). */
struct report_input {
	const char *const *inventories;
	const size_t *inventory_lens;
	const char *const *accounts; /* each inventory's account name */
	size_t ninventories;
	const char *history;
	size_t history_len;
	const char *job;          /* the job's name, or NULL (command line) */
	const char *client;       /* the report's client, as shown */
	const char *client_label; /* the site label it stands for, or NULL */
	const struct report_period *period;
	const struct tz *zone; /* days and times are shown in it */
	int64_t now;           /* when the report is made, seconds */
};

/* Checks for the action's parameters (config): NULL, or what is wrong. */
const char *report_period_check(const char *v);
const char *report_since_check(const char *v);

/* The period of `period` ("2026-11", "last-month", "this-month") or
 * `since` ("30d", 1 to 366 days back from now); since wins when both are
 * set, and neither means last month.  0, or -EINVAL with the reason. */
int report_period_parse(struct report_period *p, const char *period,
                        const char *since, const struct tz *zone, int64_t now,
                        char *err, size_t errlen);

/* "html", "csv", "json" -> the format, or -EINVAL. */
int report_format_parse(const char *name);

/* The file name's usual extension for format f ("html"). */
const char *report_format_ext(enum report_format f);

/* The details (updates, backups, usage) of environment id in an
 * inventory (a report run's document, or the site view's), or NULL. */
yajl_val report_env_details(yajl_val inv, const char *id);

/* Build the JSON document into *doc (malloc'd, *len bytes, NUL-terminated):
 * 0, -ENOMEM, or -EINVAL when an inventory is not JSON (message in err).
 * Lines of the history that are not JSON are skipped. */
int report_build(const struct report_input *in, char **doc, size_t *len,
                 char *err, size_t errlen);

/* Render document doc (report_build's) as format f into *out (malloc'd,
 * NUL-terminated): 0, -ENOMEM, or -EINVAL with the reason in err. */
int report_render(enum report_format f, const char *doc, size_t len, char **out,
                  size_t *outlen, char *err, size_t errlen);

/* Expand {client}, {date} and {period} in an output path template into
 * buf; a client name's "/" and leading dots become "_" so that it stays
 * one file name.  The length snprintf would need, or -EINVAL for an
 * unknown {word}. */
int report_output_path(char *buf, size_t len, const char *tmpl,
                       const char *client, const char *date,
                       const char *period);

#endif
