/*
 * json: bounded parsing of untrusted bodies, typed getters, and a checked
 * request-body writer over yajl.  See json.h for the contracts and
 * ENGINEERING-NOTES.md section 2 for the yajl quirks this works around.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "json.h"
#include "util.h"

/* How many input bytes a message may quote. */
#define EXCERPT_MAX 32

/* Quote at most EXCERPT_MAX bytes of S, escaping everything that is not
 * printable ASCII, so that a hostile body cannot inject control sequences
 * or newlines into our logs. */
static void
excerpt(char *dst, size_t dstlen, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < n && i < EXCERPT_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o + 5 >= dstlen)
			break;
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		}
	}
	if (n > EXCERPT_MAX && o + 4 < dstlen) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

/* The value of four hex digits at S, or -1. */
static long
hex4(const unsigned char *s)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * Byte-level checks the tree parser cannot make: raw NUL (yajl_tree_parse
 * stops at it), strict UTF-8, and the escapes \u0000 (truncates the C
 * string the tree stores) and unpaired surrogates (yajl turns them into
 * "?" or invalid UTF-8, the area of CVE-2017-16516).  String state is
 * tracked loosely: on malformed JSON it may be wrong, but then yajl
 * rejects the body anyway.
 */
static int
scan(const char *buf, size_t len, char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *)buf;
	bool in_str = false;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		long u, lo;

		if (c == 0) {
			util_seterr(err, errlen,
			            "NUL byte in JSON at offset %zu", i);
			return -EINVAL;
		}
		if (c >= 0x80) {
			size_t k = util_utf8_len(p + i, len - i);

			if (k == 0) {
				util_seterr(
				    err, errlen,
				    "invalid UTF-8 in JSON at offset %zu", i);
				return -EINVAL;
			}
			i += k;
			continue;
		}
		if (c == '"') {
			in_str = !in_str;
			i++;
			continue;
		}
		if (c != '\\' || !in_str || i + 1 >= len) {
			i++;
			continue;
		}
		if (p[i + 1] != 'u') {
			/* Skip the escaped quote or backslash; any other
			 * byte gets the normal checks on the next turn. */
			i += p[i + 1] == '"' || p[i + 1] == '\\' ? 2 : 1;
			continue;
		}
		u = len - i >= 6 ? hex4(p + i + 2) : -1;
		if (u < 0) {
			i++; /* a bad escape: yajl reports it */
			continue;
		}
		if (u == 0) {
			util_seterr(err, errlen,
			            "escaped NUL in JSON string at offset %zu",
			            i);
			return -EINVAL;
		}
		if (u < 0xd800 || u > 0xdfff) {
			i += 6;
			continue;
		}
		lo = -1;
		if (u < 0xdc00 && len - i >= 12 && p[i + 6] == '\\' &&
		    p[i + 7] == 'u')
			lo = hex4(p + i + 8);
		if (lo < 0xdc00 || lo > 0xdfff) {
			util_seterr(
			    err, errlen,
			    "unpaired surrogate escape in JSON string at "
			    "offset %zu",
			    i);
			return -EINVAL;
		}
		i += 12;
	}
	return 0;
}

/* ------------------------------------------------------------------ */

/* A key seen in a still-open object: bytes [off, off+len) of the arena;
 * p is filled in only for sorting, since the arena may move. */
struct key_ref {
	size_t off;
	size_t len;
	const char *p;
};

/* Where an open object's keys start in the key stack and the arena. */
struct map_mark {
	size_t keys;
	size_t bytes;
};

struct prepass {
	unsigned depth;
	unsigned max_depth;
	bool dups;
	struct map_mark *marks; /* max_depth entries when dups */
	unsigned nmarks;
	struct key_ref *keys;
	size_t nkeys, capkeys;
	char *arena;
	size_t narena, caparena;
	int err; /* set when a callback cancels the parse */
	char msg[192];
};

static int
pp_open(struct prepass *pp, bool map)
{
	if (pp->depth >= pp->max_depth) {
		pp->err = -EINVAL;
		snprintf(pp->msg, sizeof(pp->msg),
		         "nesting deeper than %u levels", pp->max_depth);
		return 0;
	}
	pp->depth++;
	if (map && pp->dups) {
		pp->marks[pp->nmarks].keys = pp->nkeys;
		pp->marks[pp->nmarks].bytes = pp->narena;
		pp->nmarks++;
	}
	return 1;
}

static int
pp_start_map(void *ctx)
{
	return pp_open(ctx, true);
}

static int
pp_start_array(void *ctx)
{
	return pp_open(ctx, false);
}

static int
pp_end_array(void *ctx)
{
	struct prepass *pp = ctx;

	pp->depth--;
	return 1;
}

static int
pp_map_key(void *ctx, const unsigned char *key, size_t len)
{
	struct prepass *pp = ctx;

	if (!pp->dups)
		return 1;
	if (util_grow((void **)&pp->keys, &pp->capkeys, pp->nkeys + 1,
	              sizeof(*pp->keys)) != 0 ||
	    util_grow((void **)&pp->arena, &pp->caparena, pp->narena + len + 1,
	              1) != 0) {
		pp->err = -ENOMEM;
		snprintf(pp->msg, sizeof(pp->msg), "out of memory");
		return 0;
	}
	memcpy(pp->arena + pp->narena, key, len);
	pp->keys[pp->nkeys].off = pp->narena;
	pp->keys[pp->nkeys].len = len;
	pp->nkeys++;
	pp->narena += len;
	return 1;
}

static int
key_cmp(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);

	if (c != 0)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

/* Sorting at the close keeps the check O(n log n) per object, where a
 * linear search per key would let one wide object cost O(n^2). */
static int
pp_end_map(void *ctx)
{
	struct prepass *pp = ctx;
	struct map_mark m;
	struct key_ref *k;
	size_t n;

	pp->depth--;
	if (!pp->dups)
		return 1;
	m = pp->marks[--pp->nmarks];
	n = pp->nkeys - m.keys;
	/* Pop this object's keys; their bytes stay readable below. */
	pp->nkeys = m.keys;
	pp->narena = m.bytes;
	if (n < 2)
		return 1;
	k = pp->keys + m.keys;
	for (size_t i = 0; i < n; i++)
		k[i].p = pp->arena + k[i].off;
	qsort(k, n, sizeof(*k), key_cmp);
	for (size_t i = 1; i < n; i++) {
		char q[EXCERPT_MAX * 4 + 8];

		if (key_cmp(&k[i - 1], &k[i]) != 0)
			continue;
		excerpt(q, sizeof(q), k[i].p, k[i].len);
		pp->err = -EINVAL;
		snprintf(pp->msg, sizeof(pp->msg),
		         "duplicate key \"%s\" in JSON object", q);
		return 0;
	}
	return 1;
}

static const yajl_callbacks pp_callbacks = {
    .yajl_start_map = pp_start_map,
    .yajl_map_key = pp_map_key,
    .yajl_end_map = pp_end_map,
    .yajl_start_array = pp_start_array,
    .yajl_end_array = pp_end_array,
};

/* "invalid JSON: <first line of MSG>", with non-printables replaced;
 * OFFSET is where yajl stopped, or -1 when it only knew at the end. */
static void
yajl_err(char *err, size_t errlen, const char *msg, long long offset)
{
	char line[128];
	size_t o = 0;

	for (; msg && msg[o] && msg[o] != '\n' && o + 1 < sizeof(line); o++)
		line[o] = msg[o] >= 0x20 && msg[o] < 0x7f ? msg[o] : '?';
	while (o > 0 && line[o - 1] == ' ')
		o--;
	line[o] = '\0';
	if (offset < 0)
		util_seterr(err, errlen, "invalid JSON: %s",
		            o ? line : "syntax error");
	else
		util_seterr(err, errlen, "invalid JSON at offset %lld: %s",
		            offset, o ? line : "syntax error");
}

int
json_parse(yajl_val *out, const char *buf, size_t len,
           const struct json_limits *lim, char *err, size_t errlen)
{
	struct prepass pp = {0};
	size_t max_bytes = JSON_DEFAULT_MAX_BYTES;
	yajl_handle h = NULL;
	const unsigned char *text;
	yajl_status st;
	bool at_end;
	char *copy = NULL;
	char ebuf[128];
	int ret;

	*out = NULL;
	util_seterr(err, errlen, "%s", "");
	pp.max_depth = JSON_DEFAULT_MAX_DEPTH;
	if (lim != NULL) {
		if (lim->max_bytes > 0)
			max_bytes = lim->max_bytes;
		if (lim->max_depth > 0)
			pp.max_depth = lim->max_depth;
		pp.dups = lim->reject_duplicate_keys;
	}
	if (max_bytes > JSON_MAX_BYTES_CAP)
		max_bytes = JSON_MAX_BYTES_CAP;
	if (pp.max_depth > JSON_MAX_DEPTH_CAP)
		pp.max_depth = JSON_MAX_DEPTH_CAP;

	if (len > max_bytes) {
		util_seterr(
		    err, errlen,
		    "response body is %zu bytes, over the %zu-byte limit", len,
		    max_bytes);
		return -EMSGSIZE;
	}
	if (buf == NULL && len > 0) {
		util_seterr(err, errlen, "no buffer");
		return -EINVAL;
	}
	ret = scan(buf, len, err, errlen);
	if (ret != 0)
		return ret;

	ret = -ENOMEM;
	if (pp.dups) {
		pp.marks = calloc(pp.max_depth, sizeof(*pp.marks));
		if (pp.marks == NULL)
			goto fail;
	}
	h = yajl_alloc(&pp_callbacks, NULL, &pp);
	if (h == NULL)
		goto fail;
	/* yajl's defaults already forbid comments, trailing garbage and
	 * several top-level values. */
	text = (const unsigned char *)(buf ? buf : "");
	st = yajl_parse(h, text, len);
	at_end = st == yajl_status_ok;
	if (at_end)
		st = yajl_complete_parse(h);
	if (st != yajl_status_ok && pp.err != 0) {
		ret = pp.err;
		util_seterr(err, errlen, "%s", pp.msg);
		goto fail;
	}
	if (st != yajl_status_ok) {
		unsigned char *m;

		ret = -EINVAL;
		m = yajl_get_error(h, 0, text, len);
		yajl_err(err, errlen, (const char *)m,
		         at_end ? -1 : (long long)yajl_get_bytes_consumed(h));
		yajl_free_error(h, m);
		goto fail;
	}

	/* yajl_tree_parse calls strlen, hence the NUL-terminated copy. */
	copy = malloc(len + 1);
	if (copy == NULL)
		goto fail;
	if (len > 0)
		memcpy(copy, buf, len);
	copy[len] = '\0';
	ebuf[0] = '\0';
	*out = yajl_tree_parse(copy, ebuf, sizeof(ebuf));
	ret = 0;
	if (*out == NULL) {
		ret = -EINVAL;
		yajl_err(err, errlen, ebuf, -1);
	}

fail:
	if (ret == -ENOMEM)
		util_seterr(err, errlen, "out of memory parsing JSON");
	free(copy);
	if (h != NULL)
		yajl_free(h);
	free(pp.marks);
	free(pp.keys);
	free(pp.arena);
	return ret;
}

void
json_free(yajl_val v)
{
	if (v != NULL)
		yajl_tree_free(v);
}

/* ------------------------------------------------------------------ */

static yajl_val
member(yajl_val obj, const char *key)
{
	if (obj == NULL || obj->type != yajl_t_object ||
	    obj->u.object.keys == NULL || obj->u.object.values == NULL)
		return NULL;
	for (size_t i = 0; i < obj->u.object.len; i++) {
		const char *k = obj->u.object.keys[i];

		if (k != NULL && strcmp(k, key) == 0)
			return obj->u.object.values[i];
	}
	return NULL;
}

static yajl_val
walk(yajl_val v, va_list ap)
{
	for (;;) {
		const char *key = va_arg(ap, const char *);

		if (key == NULL || v == NULL)
			return v;
		v = member(v, key);
	}
}

/* Accept "-?[0-9]+" only: a fraction or exponent is not an integer even
 * when its value is whole, and yajl's own integer parse cannot represent
 * INT64_MIN and overflows on some inputs (lloyd/yajl #260). */
static int
parse_i64(const char *s, int64_t *out)
{
	bool neg = *s == '-', big = false;
	uint64_t mag = 0, limit;

	if (neg)
		s++;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (mag > (UINT64_MAX - d) / 10)
			big = true;
		else
			mag = mag * 10 + d;
	}
	if (*s != '\0')
		return -EINVAL;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (big || mag > limit)
		return -ERANGE;
	if (!neg)
		*out = (int64_t)mag;
	else if (mag == limit)
		*out = INT64_MIN;
	else
		*out = -(int64_t)mag;
	return 0;
}

static int
to_int(yajl_val v, int64_t *out, bool lenient)
{
	if (v == NULL)
		return -ENOENT;
	if (v->type == yajl_t_number && v->u.number.r != NULL)
		return parse_i64(v->u.number.r, out);
	if (lenient && v->type == yajl_t_string && v->u.string != NULL)
		return parse_i64(v->u.string, out);
	return -EINVAL;
}

yajl_val
json_get(yajl_val v, ...)
{
	va_list ap;

	va_start(ap, v);
	v = walk(v, ap);
	va_end(ap);
	return v;
}

const char *
json_str(yajl_val v, ...)
{
	va_list ap;

	va_start(ap, v);
	v = walk(v, ap);
	va_end(ap);
	return v != NULL && v->type == yajl_t_string ? v->u.string : NULL;
}

int
json_int(yajl_val v, int64_t *out, ...)
{
	va_list ap;

	va_start(ap, out);
	v = walk(v, ap);
	va_end(ap);
	return to_int(v, out, false);
}

int
json_int_lenient(yajl_val v, int64_t *out, ...)
{
	va_list ap;

	va_start(ap, out);
	v = walk(v, ap);
	va_end(ap);
	return to_int(v, out, true);
}

int
json_bool(yajl_val v, bool *out, ...)
{
	va_list ap;

	va_start(ap, out);
	v = walk(v, ap);
	va_end(ap);
	if (v == NULL)
		return -ENOENT;
	if (v->type != yajl_t_true && v->type != yajl_t_false)
		return -EINVAL;
	*out = v->type == yajl_t_true;
	return 0;
}

bool
json_is_null(yajl_val v, ...)
{
	va_list ap;

	va_start(ap, v);
	v = walk(v, ap);
	va_end(ap);
	return v != NULL && v->type == yajl_t_null;
}

yajl_val
json_obj(yajl_val v, ...)
{
	va_list ap;

	va_start(ap, v);
	v = walk(v, ap);
	va_end(ap);
	return v != NULL && v->type == yajl_t_object ? v : NULL;
}

yajl_val
json_arr(yajl_val v, ...)
{
	va_list ap;

	va_start(ap, v);
	v = walk(v, ap);
	va_end(ap);
	return v != NULL && v->type == yajl_t_array ? v : NULL;
}

size_t
json_arr_len(yajl_val arr)
{
	if (arr == NULL || arr->type != yajl_t_array ||
	    arr->u.array.values == NULL)
		return 0;
	return arr->u.array.len;
}

yajl_val
json_arr_at(yajl_val arr, size_t i)
{
	return i < json_arr_len(arr) ? arr->u.array.values[i] : NULL;
}

size_t
json_obj_len(yajl_val obj)
{
	if (obj == NULL || obj->type != yajl_t_object ||
	    obj->u.object.keys == NULL || obj->u.object.values == NULL)
		return 0;
	return obj->u.object.len;
}

const char *
json_obj_key(yajl_val obj, size_t i)
{
	return i < json_obj_len(obj) ? obj->u.object.keys[i] : NULL;
}

yajl_val
json_obj_at(yajl_val obj, size_t i)
{
	return i < json_obj_len(obj) ? obj->u.object.values[i] : NULL;
}

/* ------------------------------------------------------------------ */

static int
w_fail(struct json_writer *w, const char *why)
{
	if (w->err == 0) {
		w->err = -EINVAL;
		w->why = why;
	}
	return w->err;
}

static int
w_gen(struct json_writer *w, yajl_gen_status st)
{
	switch (st) {
	case yajl_gen_status_ok:
		return 0;
	case yajl_gen_keys_must_be_strings:
		return w_fail(w, "yajl: object key must be a string");
	case yajl_max_depth_exceeded:
		return w_fail(w, "yajl: nesting too deep");
	case yajl_gen_in_error_state:
		return w_fail(w, "yajl: generator in error state");
	case yajl_gen_generation_complete:
		return w_fail(w, "yajl: document already complete");
	case yajl_gen_invalid_number:
		return w_fail(w, "yajl: invalid number");
	case yajl_gen_no_buf:
		return w_fail(w, "yajl: no buffer");
	case yajl_gen_invalid_string:
		return w_fail(w, "yajl: invalid UTF-8 string");
	}
	return w_fail(w, "yajl: unknown generator error");
}

/* May a value (scalar or container) come next? */
static int
w_value_begin(struct json_writer *w)
{
	if (w->err != 0)
		return w->err;
	if (w->gen == NULL)
		return w_fail(w, "writer not initialised");
	if (w->done)
		return w_fail(w, "value after the end of the document");
	if (w->depth > 0 && w->frame[w->depth - 1] == 'k')
		return w_fail(w, "value where an object key is expected");
	return 0;
}

static void
w_value_end(struct json_writer *w)
{
	if (w->depth == 0)
		w->done = true;
	else if (w->frame[w->depth - 1] == 'v')
		w->frame[w->depth - 1] = 'k';
}

static int
w_text_ok(struct json_writer *w, const char *s, size_t len)
{
	if (s == NULL)
		return w_fail(w, "NULL string");
	/* Stricter than yajl_gen_validate_utf8, which would pass overlong
	 * forms and surrogates that json_parse refuses; so that one is off. */
	if (util_text_prefix(s, len) != len)
		return w_fail(w, "string is not valid UTF-8 or contains NUL");
	return 0;
}

int
json_w_init(struct json_writer *w)
{
	memset(w, 0, sizeof(*w));
	w->gen = yajl_gen_alloc(NULL);
	if (w->gen == NULL) {
		w->err = -ENOMEM;
		w->why = "out of memory";
		return w->err;
	}
	return 0;
}

static int
w_open(struct json_writer *w, bool map)
{
	int ret = w_value_begin(w);

	if (ret != 0)
		return ret;
	if (w->depth >= JSON_W_MAX_DEPTH)
		return w_fail(w, "nesting deeper than 127 levels");
	ret = w_gen(w, map ? yajl_gen_map_open(w->gen)
	                   : yajl_gen_array_open(w->gen));
	if (ret != 0)
		return ret;
	w->frame[w->depth++] = map ? 'k' : 'a';
	return 0;
}

static int
w_close(struct json_writer *w, bool map)
{
	bool in_array;
	int ret;

	if (w->err != 0)
		return w->err;
	if (w->depth == 0)
		return w_fail(w, "close without an open container");
	if (w->frame[w->depth - 1] == 'v')
		return w_fail(w, "object closed after a key without value");
	in_array = w->frame[w->depth - 1] == 'a';
	if (map == in_array)
		return w_fail(w, map ? "object close inside an array"
		                     : "array close inside an object");
	ret = w_gen(w, map ? yajl_gen_map_close(w->gen)
	                   : yajl_gen_array_close(w->gen));
	if (ret != 0)
		return ret;
	w->depth--;
	w_value_end(w);
	return 0;
}

int
json_w_obj_open(struct json_writer *w)
{
	return w_open(w, true);
}

int
json_w_obj_close(struct json_writer *w)
{
	return w_close(w, true);
}

int
json_w_arr_open(struct json_writer *w)
{
	return w_open(w, false);
}

int
json_w_arr_close(struct json_writer *w)
{
	return w_close(w, false);
}

int
json_w_key(struct json_writer *w, const char *key)
{
	int ret;

	if (w->err != 0)
		return w->err;
	if (w->gen == NULL)
		return w_fail(w, "writer not initialised");
	if (w->depth == 0 || w->frame[w->depth - 1] == 'a')
		return w_fail(w, "key outside an object");
	if (w->frame[w->depth - 1] == 'v')
		return w_fail(w, "key where a value is expected");
	ret = w_text_ok(w, key, key ? strlen(key) : 0);
	if (ret != 0)
		return ret;
	ret = w_gen(w, yajl_gen_string(w->gen, (const unsigned char *)key,
	                               strlen(key)));
	if (ret != 0)
		return ret;
	w->frame[w->depth - 1] = 'v';
	return 0;
}

int
json_w_strn(struct json_writer *w, const char *s, size_t len)
{
	int ret = w_value_begin(w);

	if (ret == 0)
		ret = w_text_ok(w, s, len);
	if (ret == 0)
		ret = w_gen(
		    w, yajl_gen_string(w->gen, (const unsigned char *)s, len));
	if (ret == 0)
		w_value_end(w);
	return ret;
}

int
json_w_str(struct json_writer *w, const char *s)
{
	return json_w_strn(w, s, s ? strlen(s) : 0);
}

int
json_w_int(struct json_writer *w, int64_t n)
{
	int ret = w_value_begin(w);

	if (ret == 0)
		ret = w_gen(w, yajl_gen_integer(w->gen, (long long)n));
	if (ret == 0)
		w_value_end(w);
	return ret;
}

int
json_w_bool(struct json_writer *w, bool b)
{
	int ret = w_value_begin(w);

	if (ret == 0)
		ret = w_gen(w, yajl_gen_bool(w->gen, b));
	if (ret == 0)
		w_value_end(w);
	return ret;
}

int
json_w_null(struct json_writer *w)
{
	int ret = w_value_begin(w);

	if (ret == 0)
		ret = w_gen(w, yajl_gen_null(w->gen));
	if (ret == 0)
		w_value_end(w);
	return ret;
}

/* A number as it was written (its text from the parser), so that no
 * digit is lost to a double. */
static int
w_number(struct json_writer *w, const char *raw)
{
	int ret = w_value_begin(w);

	if (ret == 0)
		ret = w_gen(w, yajl_gen_number(w->gen, raw, strlen(raw)));
	if (ret == 0)
		w_value_end(w);
	return ret;
}

int
json_w_tree(struct json_writer *w, yajl_val v)
{
	if (v == NULL)
		return json_w_null(w);
	switch (v->type) {
	case yajl_t_string:
		return json_w_str(w, v->u.string);
	case yajl_t_number:
		return v->u.number.r != NULL ? w_number(w, v->u.number.r)
		                             : json_w_null(w);
	case yajl_t_true:
		return json_w_bool(w, true);
	case yajl_t_false:
		return json_w_bool(w, false);
	case yajl_t_object:
		json_w_obj_open(w);
		for (size_t i = 0; i < v->u.object.len; i++) {
			json_w_key(w, v->u.object.keys[i]);
			json_w_tree(w, v->u.object.values[i]);
		}
		return json_w_obj_close(w);
	case yajl_t_array:
		json_w_arr_open(w);
		for (size_t i = 0; i < v->u.array.len; i++)
			json_w_tree(w, v->u.array.values[i]);
		return json_w_arr_close(w);
	default:
		return json_w_null(w);
	}
}

int
json_w_key_str(struct json_writer *w, const char *key, const char *s)
{
	int ret = json_w_key(w, key);

	return ret != 0 ? ret : json_w_str(w, s);
}

int
json_w_key_int(struct json_writer *w, const char *key, int64_t n)
{
	int ret = json_w_key(w, key);

	return ret != 0 ? ret : json_w_int(w, n);
}

int
json_w_key_bool(struct json_writer *w, const char *key, bool b)
{
	int ret = json_w_key(w, key);

	return ret != 0 ? ret : json_w_bool(w, b);
}

int
json_w_key_null(struct json_writer *w, const char *key)
{
	int ret = json_w_key(w, key);

	return ret != 0 ? ret : json_w_null(w);
}

int
json_w_finish(struct json_writer *w, const char **buf, size_t *len)
{
	const unsigned char *b = NULL;
	size_t n = 0;
	int ret;

	*buf = NULL;
	*len = 0;
	if (w->err != 0)
		return w->err;
	if (w->gen == NULL)
		return w_fail(w, "writer not initialised");
	if (!w->done)
		return w_fail(w, "document incomplete");
	ret = w_gen(w, yajl_gen_get_buf(w->gen, &b, &n));
	if (ret != 0)
		return ret;
	*buf = (const char *)b;
	*len = n;
	return 0;
}

const char *
json_w_strerror(const struct json_writer *w)
{
	return w->err != 0 ? w->why : NULL;
}

void
json_w_free(struct json_writer *w)
{
	if (w->gen != NULL)
		yajl_gen_free(w->gen);
	w->gen = NULL;
}
