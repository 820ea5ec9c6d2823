/*
 * method: the HTTP methods the daemon sends, named once.
 *
 * kinsta builds requests with them, http sends them, config checks the
 * `method` of a `request` job against the same list: one enum and one
 * spelling, so that no two modules can disagree on what "PATCH" is.
 */
#ifndef KCRON_METHOD_H
#define KCRON_METHOD_H

enum method {
	METHOD_GET,
	METHOD_POST,
	METHOD_PUT,
	METHOD_PATCH,
	METHOD_DELETE
};

#define METHOD_COUNT 5

/* The names in enum order, then NULL (a list of choices for config). */
extern const char *const method_names[METHOD_COUNT + 1];

/* "GET", "POST", ...; "?" when m is out of range. */
const char *method_name(enum method m);

/* The method spelled exactly s (upper case), or -EINVAL. */
int method_parse(const char *s);

#endif
