/*
 * tmpl: placeholders replaced, each value escaped for where it goes.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "tmpl.h"

static const char *const names[TMPL_NVARS] = {
    [TMPL_SITE_ID] = "site_id", [TMPL_SITE_NAME] = "site_name",
    [TMPL_ENV_ID] = "env_id",   [TMPL_ENV_NAME] = "env_name",
    [TMPL_COMPANY] = "company", [TMPL_DATE] = "date",
};

const char *
tmpl_var_name(enum tmpl_var v)
{
	return (unsigned)v < TMPL_NVARS ? names[v] : "?";
}

/* If s starts a placeholder ("{name}"), its name's length; else 0. */
static size_t
placeholder(const char *s)
{
	size_t n = 0;

	if (s[0] != '{')
		return 0;
	while ((s[1 + n] >= 'a' && s[1 + n] <= 'z') || s[1 + n] == '_')
		n++;
	return n > 0 && s[1 + n] == '}' ? n : 0;
}

/* The variable called name (n bytes), or -1. */
static int
lookup(const char *name, size_t n)
{
	for (int v = 0; v < TMPL_NVARS; v++)
		if (strlen(names[v]) == n && strncmp(names[v], name, n) == 0)
			return v;
	return -1;
}

int
tmpl_check(const char *s, unsigned allowed, char *err, size_t errlen)
{
	for (const char *p = s; *p; p++) {
		size_t n = placeholder(p), o;
		int v;

		if (n == 0)
			continue;
		v = lookup(p + 1, n);
		if (v >= 0 && (allowed & TMPL_BIT(v)))
			continue;
		o = (size_t)snprintf(err, errlen,
		                     "{%.*s} is not a placeholder here (one of",
		                     (int)(n > 40 ? 40 : n), p + 1);
		for (int k = 0; k < TMPL_NVARS; k++)
			if ((allowed & TMPL_BIT(k)) && o < errlen)
				o += (size_t)snprintf(err + o, errlen - o,
				                      " {%s}", names[k]);
		if (o < errlen)
			snprintf(err + o, errlen - o, ")");
		return -EINVAL;
	}
	return 0;
}

unsigned
tmpl_uses(const char *s)
{
	unsigned set = 0;

	for (const char *p = s; p != NULL && *p; p++) {
		size_t n = placeholder(p);
		int v = n ? lookup(p + 1, n) : -1;

		if (v >= 0)
			set |= TMPL_BIT(v);
	}
	return set;
}

/* Append c to out at *o (counting past the end). */
static void
put(char *out, size_t len, size_t *o, char c)
{
	if (*o + 1 < len)
		out[*o] = c;
	(*o)++;
}

static void
put_escaped(char *out, size_t len, size_t *o, const char *val,
            enum tmpl_escape esc)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)val; *p; p++) {
		unsigned char c = *p;

		if (esc == TMPL_URL &&
		    !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || strchr("-._~", c) != NULL)) {
			put(out, len, o, '%');
			put(out, len, o, hex[c >> 4]);
			put(out, len, o, hex[c & 15]);
		} else if (esc == TMPL_JSON && (c == '"' || c == '\\')) {
			put(out, len, o, '\\');
			put(out, len, o, (char)c);
		} else if (esc == TMPL_JSON && c < 0x20) {
			put(out, len, o, '\\');
			put(out, len, o, 'u');
			put(out, len, o, '0');
			put(out, len, o, '0');
			put(out, len, o, hex[c >> 4]);
			put(out, len, o, hex[c & 15]);
		} else {
			put(out, len, o, (char)c);
		}
	}
}

int
tmpl_expand(const char *s, const struct tmpl_vars *vars, enum tmpl_escape esc,
            char *out, size_t len)
{
	size_t o = 0;

	for (const char *p = s; *p; p++) {
		size_t n = placeholder(p);
		int v;

		if (n == 0) {
			put(out, len, &o, *p);
			continue;
		}
		if ((v = lookup(p + 1, n)) < 0)
			return -EINVAL;
		if (vars->v[v] == NULL)
			return -ENOENT;
		put_escaped(out, len, &o, vars->v[v], esc);
		p += n + 1;
	}
	if (len > 0)
		out[o < len ? o : len - 1] = '\0';
	return o > INT_MAX ? -E2BIG : (int)o;
}
