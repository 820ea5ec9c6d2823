/*
 * json: safe yajl wrappers for untrusted HTTP response bodies and for the
 * request bodies we send.
 *
 * json_parse checks a body before yajl_tree_parse ever sees it: size cap,
 * no NUL bytes (the tree API would silently truncate at one), strict UTF-8,
 * no escaped NUL or lone surrogate (the tree stores C strings, and yajl
 * decodes lone surrogates into invalid UTF-8), then a streaming pre-pass
 * with comments off that bounds the nesting depth (yajl_tree_free recurses
 * once per level and overflows the stack on deep input) and optionally
 * rejects duplicate keys (yajl_tree_get returns the first of them, other
 * parsers the last).  Every string in an accepted tree is therefore valid
 * UTF-8 without NUL.
 *
 * The getters look a value up by a NULL-terminated list of object keys and
 * check its type before touching the union.  The writer wraps yajl_gen,
 * checks every call and latches the first error, because yajl_gen itself
 * carries on after a bad string and emits well-formed but wrong JSON.
 */
#ifndef KCRON_JSON_H
#define KCRON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#define JSON_DEFAULT_MAX_BYTES ((size_t)4 << 20)
#define JSON_DEFAULT_MAX_DEPTH 64u
/* Hard ceilings whatever the caller asks for: yajl_tree_free recurses per
 * level, and yajl's buffer arithmetic is only safe well below 2 GiB. */
#define JSON_MAX_DEPTH_CAP 1024u
#define JSON_MAX_BYTES_CAP ((size_t)1 << 30)
/* Nesting limit of yajl_gen (YAJL_MAX_DEPTH 128, 127 usable). */
#define JSON_W_MAX_DEPTH 127u

#if defined(__GNUC__)
#define JSON_SENTINEL __attribute__((sentinel))
#else
#define JSON_SENTINEL
#endif

struct json_limits {
	size_t max_bytes;           /* 0: JSON_DEFAULT_MAX_BYTES */
	unsigned max_depth;         /* 0: JSON_DEFAULT_MAX_DEPTH */
	bool reject_duplicate_keys; /* in any one object */
};

/* Parse BUF[0..LEN) (need not be NUL-terminated) into a tree that the
 * caller frees with json_free; LIM NULL means the defaults.  0, or
 * -EMSGSIZE (over max_bytes), -ENOMEM, -EINVAL (anything else) with a
 * one-line printable message in err; *out is NULL on failure. */
int json_parse(yajl_val *out, const char *buf, size_t len,
               const struct json_limits *lim, char *err, size_t errlen);

/* Free a tree from json_parse; NULL is fine. */
void json_free(yajl_val v);

/* The value at V's key path ("a", "b", NULL: v.a.b; just NULL: V itself),
 * or NULL when a key is missing or a step is not an object.  With
 * duplicate keys allowed, the first one wins. */
yajl_val json_get(yajl_val v, ...) JSON_SENTINEL;

/* The string at the path, or NULL if missing or not a string. */
const char *json_str(yajl_val v, ...) JSON_SENTINEL;

/* The integer at the path into *out: 0, -ENOENT (missing), -EINVAL (not
 * an integral JSON number: string, fraction, exponent, ...), -ERANGE (an
 * integer outside int64_t).  *out is untouched on failure. */
int json_int(yajl_val v, int64_t *out, ...) JSON_SENTINEL;

/* As json_int, but a string holding a decimal integer ("202", "-7") counts
 * too: for fields like "status" that servers send either way. */
int json_int_lenient(yajl_val v, int64_t *out, ...) JSON_SENTINEL;

/* The boolean at the path into *out: 0, -ENOENT, or -EINVAL (not a bool). */
int json_bool(yajl_val v, bool *out, ...) JSON_SENTINEL;

/* Is the value at the path present and JSON null? */
bool json_is_null(yajl_val v, ...) JSON_SENTINEL;

/* The object at the path, or NULL if missing or not an object. */
yajl_val json_obj(yajl_val v, ...) JSON_SENTINEL;

/* The array at the path, or NULL if missing or not an array. */
yajl_val json_arr(yajl_val v, ...) JSON_SENTINEL;

/* Number of elements of array ARR; 0 when ARR is not an array. */
size_t json_arr_len(yajl_val arr);

/* Element I of array ARR, or NULL when out of range or not an array. */
yajl_val json_arr_at(yajl_val arr, size_t i);

/* Number of members of object OBJ; 0 when OBJ is not an object. */
size_t json_obj_len(yajl_val obj);

/* Key of member I of object OBJ, or NULL when out of range. */
const char *json_obj_key(yajl_val obj, size_t i);

/* Value of member I of object OBJ, or NULL when out of range. */
yajl_val json_obj_at(yajl_val obj, size_t i);

/* A compact JSON document being built.  The first failing call latches
 * its error: later calls do nothing and return it, json_w_finish too. */
struct json_writer {
	yajl_gen gen;
	int err;         /* 0, or the first failure (negative errno) */
	const char *why; /* static text of the first failure, or NULL */
	unsigned depth;  /* open containers */
	bool done;       /* the top-level value is complete */
	/* per open container: 'k' object awaiting a key, 'v' object
	 * awaiting the key's value, 'a' array */
	char frame[JSON_W_MAX_DEPTH];
};

/* Start an empty document: 0 or -ENOMEM (then json_w_free is still safe). */
int json_w_init(struct json_writer *w);

/* Open / close an object or array; each returns 0 or the latched error. */
int json_w_obj_open(struct json_writer *w);
int json_w_obj_close(struct json_writer *w);
int json_w_arr_open(struct json_writer *w);
int json_w_arr_close(struct json_writer *w);

/* An object key (valid UTF-8, no NUL); 0 or the latched error. */
int json_w_key(struct json_writer *w, const char *key);

/* A value: string (valid UTF-8, no NUL; NULL is an error), LEN-byte
 * string, integer, boolean, null.  0 or the latched error. */
int json_w_str(struct json_writer *w, const char *s);
int json_w_strn(struct json_writer *w, const char *s, size_t len);
int json_w_int(struct json_writer *w, int64_t n);
int json_w_bool(struct json_writer *w, bool b);
int json_w_null(struct json_writer *w);

/* Key plus value in one call, inside an object.  0 or the latched error. */
/* Write a parsed tree (from json_parse) as a value, numbers as they were
 * written; the writer's own checks (depth, UTF-8) apply. */
int json_w_tree(struct json_writer *w, yajl_val v);

int json_w_key_str(struct json_writer *w, const char *key, const char *s);
int json_w_key_int(struct json_writer *w, const char *key, int64_t n);
int json_w_key_bool(struct json_writer *w, const char *key, bool b);
int json_w_key_null(struct json_writer *w, const char *key);

/* The finished document (not NUL-terminated; valid until json_w_free):
 * 0, or -EINVAL when any call failed or a value is missing or unclosed
 * (-ENOMEM if json_w_init failed). */
int json_w_finish(struct json_writer *w, const char **buf, size_t *len);

/* Why the document failed, or NULL if it has not. */
const char *json_w_strerror(const struct json_writer *w);

/* Release the generator; the struct may then be initialised again. */
void json_w_free(struct json_writer *w);

#endif
