/*
 * probe: page URLs and verdicts.  A page is judged by what a visitor
 * would see: the status, something on it, and none of the markers PHP and
 * WordPress print when a plugin breaks the site.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "probe.h"

/* What PHP prints for a fatal error (display_errors on), and what
 * WordPress shows instead since 5.2 (its fatal error handler). */
static const char *const fatal_markers[] = {
    "Fatal error</b>:",
    "PHP Fatal error:",
    "Fatal error: Uncaught",
    "Parse error</b>:",
    "There has been a critical error on this website",
    NULL,
};

/* Append n bytes of s to out at *o; false when out is full. */
static bool
put(char *out, size_t len, size_t *o, const char *s, size_t n)
{
	if (*o + n >= len)
		return false;
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = '\0';
	return true;
}

/* Copy tmpl with its placeholders replaced; 0 or -errno. */
static int
expand(char *out, size_t len, size_t *o, const char *tmpl,
       const struct target *t, char *why, size_t whylen)
{
	static const struct {
		const char *name;
		size_t off;
	} vars[] = {
	    {"{domain}", offsetof(struct target, domain)},
	    {"{site_name}", offsetof(struct target, site_name)},
	    {"{env_name}", offsetof(struct target, env_name)},
	};

	while (*tmpl) {
		size_t k, n = 0;

		for (k = 0; k < sizeof(vars) / sizeof(vars[0]); k++)
			if (strncmp(tmpl, vars[k].name,
			            (n = strlen(vars[k].name))) == 0)
				break;
		if (k == sizeof(vars) / sizeof(vars[0])) {
			if (!put(out, len, o, tmpl, 1))
				return -ENAMETOOLONG;
			tmpl++;
			continue;
		}
		{
			const char *v = (const char *)t + vars[k].off;

			if (*v == '\0') {
				snprintf(why, whylen,
				         "%s is not known for environment %s",
				         vars[k].name,
				         t->env_id[0] ? t->env_id : "-");
				return -ENOENT;
			}
			if (!put(out, len, o, v, strlen(v)))
				return -ENAMETOOLONG;
		}
		tmpl += n;
	}
	return 0;
}

static bool
absolute(const char *u)
{
	return strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0;
}

int
probe_url(char *out, size_t len, const char *base, const char *url,
          const struct target *t, uint64_t buster, char *why, size_t whylen)
{
	char q[64];
	size_t o = 0;
	int rc;

	if (len == 0)
		return -ENAMETOOLONG;
	out[0] = '\0';
	why[0] = '\0';
	if (!absolute(url)) {
		if ((rc = expand(out, len, &o, base, t, why, whylen)) < 0)
			return rc;
		while (o > 0 && out[o - 1] == '/')
			out[--o] = '\0';
		if (url[0] != '/' && !put(out, len, &o, "/", 1))
			return -ENAMETOOLONG;
	}
	if ((rc = expand(out, len, &o, url, t, why, whylen)) < 0)
		return rc;
	/* a fragment is never sent; the query goes before it */
	if (strchr(out, '#') != NULL)
		o = (size_t)(strchr(out, '#') - out);
	out[o] = '\0';
	snprintf(q, sizeof(q), "%c%s=%llx", strchr(out, '?') ? '&' : '?',
	         PROBE_BUSTER, (unsigned long long)buster);
	if (!put(out, len, &o, q, strlen(q)))
		return -ENAMETOOLONG;
	return 0;
}

bool
probe_verdict(long status, const char *body, size_t len, long expect_status,
              const char *expect_text, char *why, size_t whylen)
{
	size_t i;

	why[0] = '\0';
	if (status != expect_status) {
		snprintf(why, whylen, "HTTP %ld, expected %ld", status,
		         expect_status);
		return false;
	}
	for (i = 0; i < len && isspace((unsigned char)body[i]); i++)
		;
	if (i == len) {
		snprintf(why, whylen, "empty page (HTTP %ld)", status);
		return false;
	}
	for (int k = 0; fatal_markers[k] != NULL; k++)
		if (memmem(body, len, fatal_markers[k],
		           strlen(fatal_markers[k])) != NULL) {
			snprintf(why, whylen,
			         "PHP fatal error on the page (\"%s\")",
			         fatal_markers[k]);
			return false;
		}
	if (expect_text != NULL && *expect_text &&
	    memmem(body, len, expect_text, strlen(expect_text)) == NULL) {
		snprintf(why, whylen, "\"%.64s\" not found on the page",
		         expect_text);
		return false;
	}
	return true;
}
