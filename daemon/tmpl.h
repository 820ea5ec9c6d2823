/*
 * tmpl: the placeholders of a `request` job's path and body, and of an
 * output file's name.
 *
 * A placeholder is a name of lower-case letters and underscores in braces
 * ("{site_id}"); anything else in braces ("{}", "{\"a\":1}") is text, so
 * a JSON body keeps its own braces.  A value is escaped for where it goes:
 * percent-encoded in a path, JSON-escaped in a body (where the
 * placeholder stands inside a string: "{\"name\":\"{site_name}\"}"), as
 * it is in a file name.  Pure: no I/O, no clock (the date is a value).
 */
#ifndef KCRON_TMPL_H
#define KCRON_TMPL_H

#include <stddef.h>

/* The placeholders, as bits of a set. */
enum tmpl_var {
	TMPL_SITE_ID,
	TMPL_SITE_NAME,
	TMPL_ENV_ID,
	TMPL_ENV_NAME,
	TMPL_COMPANY,
	TMPL_DATE,
	TMPL_NVARS
};

#define TMPL_BIT(v) (1u << (v))
/* What a target gives (known only when the run has one). */
#define TMPL_TARGET_VARS                                                       \
	(TMPL_BIT(TMPL_SITE_ID) | TMPL_BIT(TMPL_SITE_NAME) |                   \
	 TMPL_BIT(TMPL_ENV_ID) | TMPL_BIT(TMPL_ENV_NAME))
/* A request's path and body: the target's and the company. */
#define TMPL_REQUEST_VARS (TMPL_TARGET_VARS | TMPL_BIT(TMPL_COMPANY))
/* An output file's name. */
#define TMPL_OUTPUT_VARS (TMPL_BIT(TMPL_DATE))

enum tmpl_escape {
	TMPL_RAW,  /* as it is (a file name) */
	TMPL_URL,  /* percent-encoded but for A-Z a-z 0-9 - . _ ~ (a path) */
	TMPL_JSON, /* the inside of a JSON string (a body) */
};

/* The values, indexed by enum tmpl_var; NULL: not known for this run. */
struct tmpl_vars {
	const char *v[TMPL_NVARS];
};

/* The placeholder's name ("site_id"), or "?". */
const char *tmpl_var_name(enum tmpl_var v);

/* Is every placeholder of s one of the set allowed?  0, or -EINVAL with
 * err naming the first that is not and the ones allowed. */
int tmpl_check(const char *s, unsigned allowed, char *err, size_t errlen);

/* The set of known placeholders s uses. */
unsigned tmpl_uses(const char *s);

/* s with each placeholder replaced by its value, escaped by esc, into
 * out (len bytes, always terminated when len > 0).  Returns the length
 * the whole result needs (as snprintf), -ENOENT when a placeholder's value
 * is NULL, or -EINVAL for an unknown placeholder. */
int tmpl_expand(const char *s, const struct tmpl_vars *vars,
                enum tmpl_escape esc, char *out, size_t len);

#endif
