/*
 * Unit tests for daemon/json.c: the bounded parser, the typed getters and
 * the request-body writer, plus the recorded Kinsta fixtures.
 */
#include <dirent.h>
#include <errno.h>
#include <time.h>

#include "json.h"
#include "test.h"

static char err[256];

/* Every message must be one line of printable ASCII: bodies are hostile
 * and the message goes to syslog. */
static int
printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

static int
parse_n(yajl_val *v, const char *buf, size_t len, const struct json_limits *lim)
{
	int ret;

	memset(err, 'X', sizeof(err));
	err[sizeof(err) - 1] = '\0';
	ret = json_parse(v, buf, len, lim, err, sizeof(err));
	CHECK(printable(err));
	if (ret != 0)
		CHECK(*v == NULL && err[0] != '\0');
	return ret;
}

static int
parse(yajl_val *v, const char *s)
{
	return parse_n(v, s, strlen(s), NULL);
}

/* Parse S (LEN 0: up to its NUL), expect -EINVAL with a message starting with
 * PREFIX. */
static void
reject(const char *s, size_t len, const struct json_limits *lim,
       const char *prefix)
{
	yajl_val v = NULL;
	int ret;

	len = len ? len : strlen(s);
	ret = parse_n(&v, s, len, lim);
	CHECK_INT(ret, -EINVAL);
	if (strncmp(err, prefix, strlen(prefix)) != 0) {
		CHECK_STR(err, prefix);
		fprintf(stderr, "  input: %.60s\n", s);
	}
	json_free(v);
}

static void
accept_ok(const char *s, size_t len, const struct json_limits *lim)
{
	yajl_val v = NULL;
	int ret;

	len = len ? len : strlen(s);
	ret = parse_n(&v, s, len, lim);
	CHECK_INT(ret, 0);
	if (ret != 0)
		fprintf(stderr, "  input: %.60s: %s\n", s, err);
	CHECK(v != NULL);
	json_free(v);
}

static void
test_malformed(void)
{
	static const char *const bad[] = {
	    "",
	    "   ",
	    "[1",
	    "{\"a\":",
	    "{\"a\":1",
	    "\"abc",
	    "[1]x",
	    "[1] [2]",
	    "{} {}",
	    "1 2",
	    "/* c */ [1]",
	    "[1] // c",
	    "[1 /* c */]",
	    "# c\n[1]",
	    "nul",
	    "tru",
	    "hello",
	    "{a:1}",
	    "[1,]",
	    "{\"a\":1,}",
	    "['x']",
	    "[01]",
	    "[1.]",
	    "[.5]",
	    "[NaN]",
	    "[\"\\q\"]",
	    "[\"\\u12\"]",
	    "[\"tab\there\"]",
	};
	yajl_val v = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		reject(bad[i], 0, NULL, "invalid JSON");

	/* A comment that yajl_tree_parse alone would have accepted. */
	reject("{\"a\": /* x */ 1}", 0, NULL, "invalid JSON at offset");
	CHECK(strstr(err, "comment") != NULL);

	/* Any top-level value is JSON (RFC 8259), surrounding space too. */
	accept_ok("true", 0, NULL);
	accept_ok("42", 0, NULL);
	accept_ok("\"s\"", 0, NULL);
	accept_ok("null", 0, NULL);
	accept_ok(" \r\n\t{} \n", 0, NULL);

	/* No buffer to fill, no room for a message: still a clean refusal. */
	CHECK_INT(json_parse(&v, "[", 1, NULL, NULL, 0), -EINVAL);
	CHECK(v == NULL);
	CHECK_INT(json_parse(&v, NULL, 0, NULL, err, sizeof(err)), -EINVAL);
	CHECK_INT(json_parse(&v, "[1", 2, NULL, err, 8), -EINVAL);
	CHECK_STR(err, "invalid");
}

/* "[[[...]]]" or {"a":{"a":...1}} nested N deep, closed or not. */
static char *
nested(size_t n, bool obj, bool closed)
{
	size_t w = obj ? 5 : 1;
	char *s = malloc(n * w + 2 + n), *p = s;

	for (size_t i = 0; i < n; i++) {
		memcpy(p, obj ? "{\"a\":" : "[", w);
		p += w;
	}
	if (obj && closed)
		*p++ = '1';
	for (size_t i = 0; closed && i < n; i++)
		*p++ = obj ? '}' : ']';
	*p = '\0';
	return s;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_depth(void)
{
	struct json_limits three = {.max_depth = 3};
	struct json_limits lots = {.max_depth = 100000};
	yajl_val v = NULL;
	double t;
	char *s;

	s = nested(64, false, true);
	accept_ok(s, strlen(s), NULL);
	free(s);
	s = nested(65, false, true);
	reject(s, strlen(s), NULL, "nesting deeper than 64 levels");
	CHECK_STR(err, "nesting deeper than 64 levels");
	free(s);
	s = nested(64, true, true);
	accept_ok(s, strlen(s), NULL);
	CHECK_INT(parse(&v, s), 0);
	CHECK(json_obj(v, "a", "a", "a", NULL) != NULL);
	json_free(v);
	free(s);
	s = nested(65, true, true);
	reject(s, strlen(s), NULL, "nesting deeper than 64 levels");
	free(s);

	accept_ok("[{\"a\":[1]}]", 0, &three);
	reject("[{\"a\":[[1]]}]", 0, &three, "nesting deeper than 3 levels");

	/* The caller cannot lift the ceiling that protects yajl_tree_free. */
	s = nested(JSON_MAX_DEPTH_CAP + 1, false, true);
	reject(s, strlen(s), &lots, "nesting deeper than 1024 levels");
	free(s);
	s = nested(JSON_MAX_DEPTH_CAP, false, true);
	accept_ok(s, strlen(s), &lots);
	free(s);

	/* Well past where yajl_tree_free would overflow the stack: must be
	 * refused quickly, open-only and balanced alike. */
	s = nested(1000000, false, false);
	t = now();
	reject(s, strlen(s), NULL, "nesting deeper than 64 levels");
	CHECK(now() - t < 2.0);
	free(s);
	s = nested(1000000, false, true);
	t = now();
	reject(s, strlen(s), NULL, "nesting deeper than 64 levels");
	CHECK(now() - t < 2.0);
	free(s);
}

static void
test_size(void)
{
	struct json_limits ten = {.max_bytes = 10};
	size_t big = 5u << 20;
	char *s = malloc(big);
	yajl_val v = NULL;

	memset(s, ' ', big);
	s[0] = '[';
	s[big - 1] = ']';
	CHECK_INT(parse_n(&v, s, big, NULL), -EMSGSIZE);
	CHECK_STR(err, "response body is 5242880 bytes, over the "
	               "4194304-byte limit");
	/* Exactly at the default cap is fine. */
	s[JSON_DEFAULT_MAX_BYTES - 1] = ']';
	accept_ok(s, JSON_DEFAULT_MAX_BYTES, NULL);
	CHECK_INT(parse_n(&v, s, JSON_DEFAULT_MAX_BYTES + 1, NULL), -EMSGSIZE);
	free(s);

	accept_ok("[1,2,3,45]", 0, &ten);
	CHECK_INT(parse_n(&v, "[1,2,3,456]", 11, &ten), -EMSGSIZE);
	CHECK_STR(err, "response body is 11 bytes, over the 10-byte limit");
}

static void
test_bytes(void)
{
	yajl_val v = NULL;

	/* A NUL would silently truncate the document for yajl_tree_parse. */
	reject("{\"a\":1}\0", 8, NULL, "NUL byte in JSON at offset 7");
	reject("[\"ab\0cd\"]", 9, NULL, "NUL byte in JSON at offset 4");
	reject("\0[1]", 4, NULL, "NUL byte in JSON at offset 0");
	/* ... and \u0000 would truncate the string stored in the tree. */
	reject("[\"admin\\u0000tail\"]", 0, NULL,
	       "escaped NUL in JSON string at offset 7");
	reject("{\"a\\u0000b\":1}", 0, NULL, "escaped NUL");

	/* Strict UTF-8, stricter than yajl's own check. */
	reject("[\"\xc0\x80\"]", 0, NULL, "invalid UTF-8 in JSON at offset 2");
	reject("[\"\xc1\xbf\"]", 0, NULL, "invalid UTF-8");
	reject("[\"\xe0\x80\xaf\"]", 0, NULL, "invalid UTF-8");
	reject("[\"\xed\xa0\x80\"]", 0, NULL, "invalid UTF-8");
	reject("[\"\xf0\x8f\xbf\xbf\"]", 0, NULL, "invalid UTF-8");
	reject("[\"\xf4\x90\x80\x80\"]", 0, NULL, "invalid UTF-8");
	reject("[\"\xf5\x80\x80\x80\"]", 0, NULL, "invalid UTF-8");
	reject("[\"\xe2\x82\"]", 0, NULL, "invalid UTF-8");
	reject("[\"\x80\"]", 0, NULL, "invalid UTF-8");
	reject("[\"\xff\"]", 0, NULL, "invalid UTF-8");
	reject("[\"ok\"]\xe2", 0, NULL, "invalid UTF-8 in JSON at offset 6");
	reject("{\"k\xfe\":1}", 0, NULL, "invalid UTF-8");

	CHECK_INT(parse(&v, "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4"
	                    "\x8f\xbf\xbf\"]"),
	          0);
	CHECK_STR(json_str(json_arr_at(v, 0), NULL),
	          "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
	json_free(v);

	/* Unpaired surrogate escapes (the CVE-2017-16516 family). */
	reject("[\"\\uD800\\\\\"]", 0, NULL,
	       "unpaired surrogate escape in JSON string at offset 2");
	reject("[\"\\uD800\"]", 0, NULL, "unpaired surrogate");
	reject("[\"\\uDC00\"]", 0, NULL, "unpaired surrogate");
	reject("[\"\\udbff\\u0041\"]", 0, NULL, "unpaired surrogate");
	reject("[\"\\uD800\\uD800\"]", 0, NULL, "unpaired surrogate");
	reject("[\"\\uD800\\\\u0000\"]", 0, NULL, "unpaired surrogate");
	reject("{\"\\uDFFF\":1}", 0, NULL, "unpaired surrogate");

	CHECK_INT(parse(&v, "[\"\\uD83D\\uDE00\\u00e9\\\"\\\\\\/\\n\"]"), 0);
	CHECK_STR(json_str(json_arr_at(v, 0), NULL),
	          "\xf0\x9f\x98\x80\xc3\xa9\"\\/\n");
	json_free(v);
	/* An escaped backslash before 'u' is not an escape. */
	CHECK_INT(parse(&v, "[\"\\\\uD800\"]"), 0);
	CHECK_STR(json_str(json_arr_at(v, 0), NULL), "\\uD800");
	json_free(v);
}

static void
test_duplicates(void)
{
	struct json_limits strict = {.reject_duplicate_keys = true};
	char doc[512], *p;
	yajl_val v = NULL;
	int n;

	/* Allowed by default, and then the first one wins. */
	CHECK_INT(parse(&v, "{\"a\":\"1\",\"a\":\"2\"}"), 0);
	CHECK_STR(json_str(v, "a", NULL), "1");
	json_free(v);

	reject("{\"a\":1,\"a\":2}", 0, &strict,
	       "duplicate key \"a\" in JSON object");
	CHECK_STR(err, "duplicate key \"a\" in JSON object");
	reject("{\"b\":1,\"a\":{\"x\":1,\"y\":2,\"x\":3},\"c\":1}", 0, &strict,
	       "duplicate key \"x\"");
	reject("[{},{\"k\":[{\"z\":1}],\"j\":0,\"k\":1}]", 0, &strict,
	       "duplicate key \"k\"");
	/* Keys that differ only after a common prefix, or only in length. */
	accept_ok("{\"ab\":1,\"a\":2,\"abc\":3,\"\":4}", 0, &strict);
	reject("{\"\":1,\"\":2}", 0, &strict, "duplicate key \"\"");
	/* The same key in sibling and nested objects is fine. */
	accept_ok("{\"a\":{\"a\":{\"a\":1}},\"b\":{\"a\":2},\"c\":[{\"a\":1},{"
	          "\"a\":2}]}",
	          0, &strict);
	/* Escapes are compared decoded. */
	reject("{\"\\u0041\":1,\"A\":2}", 0, &strict, "duplicate key \"A\"");

	/* A hostile key is sanitized and cut short in the message. */
	reject("{\"\\u001b[31m\\n\":1,\"\\u001b[31m\\n\":2}", 0, &strict,
	       "duplicate key \"\\x1b[31m\\x0a\"");
	p = doc;
	p += sprintf(p, "{\"");
	memset(p, 'A', 100);
	p += 100;
	p += sprintf(p, "\":1,\"");
	memset(p, 'A', 100);
	p += 100;
	p += sprintf(p, "\":2}");
	reject(doc, (size_t)(p - doc), &strict, "duplicate key \"AAAA");
	n = 0;
	for (p = err; *p; p++)
		n += *p == 'A';
	CHECK(n <= 40);
	CHECK(strstr(err, "...") != NULL);

	/* A wide object, its duplicate last: found by the per-object sort. */
	p = malloc(20 * 20000 + 16);
	n = sprintf(p, "{");
	for (int i = 0; i < 20000; i++)
		n += sprintf(p + n, "%s\"k%d\":%d", i ? "," : "", i, i);
	n += sprintf(p + n, "}");
	accept_ok(p, (size_t)n, &strict);
	n--;
	n += sprintf(p + n, ",\"k19999\":0}");
	reject(p, (size_t)n, &strict, "duplicate key \"k19999\"");
	free(p);
}

static void
test_getters(void)
{
	static const char doc[] =
	    "{\"s\":\"x\",\"i\":42,\"neg\":-7,\"zero\":-0,\"f\":1.5,"
	    "\"whole\":1.0,\"e\":1e3,\"t\":true,\"no\":false,\"n\":null,"
	    "\"o\":{\"k\":\"v\",\"deep\":{\"x\":1}},\"a\":[1,\"two\",[3]],"
	    "\"max\":9223372036854775807,\"min\":-9223372036854775808,"
	    "\"over\":9223372036854775808,\"under\":-9223372036854775809,"
	    "\"huge\":123456789012345678901234567890,\"inf\":1e400,"
	    "\"ss\":\"202\",\"sneg\":\"-12\",\"sbad\":\"20x\",\"sempty\":\"\","
	    "\"sfrac\":\"1.0\",\"splus\":\"+1\",\"sspace\":\" 1\","
	    "\"sover\":\"99999999999999999999\"}";
	static const char *const keys[] = {"s", "i", "f", "t",
	                                   "n", "o", "a", "no"};
	yajl_val v = NULL, o, a;
	int64_t i;
	bool b;

	CHECK_INT(parse(&v, doc), 0);
	if (v == NULL)
		return;

	/* Every getter refuses every other type. */
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *key = keys[k];
		yajl_val x = json_get(v, key, NULL);

		CHECK(x != NULL);
		CHECK((json_str(v, key, NULL) != NULL) ==
		      (x->type == yajl_t_string));
		CHECK((json_obj(v, key, NULL) != NULL) ==
		      (x->type == yajl_t_object));
		CHECK((json_arr(v, key, NULL) != NULL) ==
		      (x->type == yajl_t_array));
		CHECK(json_is_null(v, key, NULL) == (x->type == yajl_t_null));
		i = 99;
		CHECK((json_int(v, &i, key, NULL) == 0) ==
		      (x->type == yajl_t_number && strcmp(key, "f") != 0));
		b = true;
		CHECK((json_bool(v, &b, key, NULL) == 0) ==
		      (x->type == yajl_t_true || x->type == yajl_t_false));
	}

	CHECK_STR(json_str(v, "s", NULL), "x");
	CHECK(json_str(v, "i", NULL) == NULL);
	CHECK(json_str(v, "missing", NULL) == NULL);
	CHECK_STR(json_str(v, "o", "k", NULL), "v");
	CHECK(json_str(v, "o", "k", "x", NULL) == NULL);
	CHECK(json_str(v, "s", "x", NULL) == NULL);
	/* Paths name object keys only: no array indexing through strings. */
	CHECK(json_get(v, "a", "0", NULL) == NULL);
	CHECK(json_get(v, NULL) == v);
	CHECK(json_get(NULL, "s", NULL) == NULL);
	CHECK(json_str(NULL, NULL) == NULL);

	i = 1;
	CHECK_INT(json_int(v, &i, "i", NULL), 0);
	CHECK_INT(i, 42);
	CHECK_INT(json_int(v, &i, "neg", NULL), 0);
	CHECK_INT(i, -7);
	CHECK_INT(json_int(v, &i, "zero", NULL), 0);
	CHECK_INT(i, 0);
	CHECK_INT(json_int(v, &i, "o", "deep", "x", NULL), 0);
	CHECK_INT(i, 1);
	CHECK_INT(json_int(v, &i, "max", NULL), 0);
	CHECK(i == INT64_MAX);
	CHECK_INT(json_int(v, &i, "min", NULL), 0);
	CHECK(i == INT64_MIN);
	i = 5;
	CHECK_INT(json_int(v, &i, "over", NULL), -ERANGE);
	CHECK_INT(json_int(v, &i, "under", NULL), -ERANGE);
	CHECK_INT(json_int(v, &i, "huge", NULL), -ERANGE);
	CHECK_INT(json_int(v, &i, "f", NULL), -EINVAL);
	CHECK_INT(json_int(v, &i, "whole", NULL), -EINVAL);
	CHECK_INT(json_int(v, &i, "e", NULL), -EINVAL);
	CHECK_INT(json_int(v, &i, "inf", NULL), -EINVAL);
	CHECK_INT(json_int(v, &i, "ss", NULL), -EINVAL);
	CHECK_INT(json_int(v, &i, "t", NULL), -EINVAL);
	CHECK_INT(json_int(v, &i, "n", NULL), -EINVAL);
	CHECK_INT(json_int(v, &i, "missing", NULL), -ENOENT);
	CHECK_INT(json_int(v, &i, "i", "x", NULL), -ENOENT);
	CHECK_INT(i, 5); /* untouched by every failure */

	CHECK_INT(json_int_lenient(v, &i, "ss", NULL), 0);
	CHECK_INT(i, 202);
	CHECK_INT(json_int_lenient(v, &i, "sneg", NULL), 0);
	CHECK_INT(i, -12);
	CHECK_INT(json_int_lenient(v, &i, "i", NULL), 0);
	CHECK_INT(i, 42);
	i = 5;
	CHECK_INT(json_int_lenient(v, &i, "sbad", NULL), -EINVAL);
	CHECK_INT(json_int_lenient(v, &i, "sempty", NULL), -EINVAL);
	CHECK_INT(json_int_lenient(v, &i, "sfrac", NULL), -EINVAL);
	CHECK_INT(json_int_lenient(v, &i, "splus", NULL), -EINVAL);
	CHECK_INT(json_int_lenient(v, &i, "sspace", NULL), -EINVAL);
	CHECK_INT(json_int_lenient(v, &i, "sover", NULL), -ERANGE);
	CHECK_INT(json_int_lenient(v, &i, "t", NULL), -EINVAL);
	CHECK_INT(json_int_lenient(v, &i, "missing", NULL), -ENOENT);
	CHECK_INT(i, 5);

	b = false;
	CHECK_INT(json_bool(v, &b, "t", NULL), 0);
	CHECK(b);
	CHECK_INT(json_bool(v, &b, "no", NULL), 0);
	CHECK(!b);
	b = true;
	CHECK_INT(json_bool(v, &b, "s", NULL), -EINVAL);
	CHECK_INT(json_bool(v, &b, "i", NULL), -EINVAL);
	CHECK_INT(json_bool(v, &b, "n", NULL), -EINVAL);
	CHECK_INT(json_bool(v, &b, "missing", NULL), -ENOENT);
	CHECK(b);

	CHECK(json_is_null(v, "n", NULL));
	CHECK(!json_is_null(v, "missing", NULL));
	CHECK(!json_is_null(v, "no", NULL));

	o = json_obj(v, "o", NULL);
	CHECK(o != NULL);
	CHECK_INT(json_obj_len(o), 2);
	CHECK_STR(json_obj_key(o, 0), "k");
	CHECK_STR(json_obj_key(o, 1), "deep");
	CHECK(json_obj_key(o, 2) == NULL);
	CHECK_STR(json_str(json_obj_at(o, 0), NULL), "v");
	CHECK(json_obj_at(o, 2) == NULL);
	CHECK_INT(json_obj_len(json_get(v, "a", NULL)), 0);
	CHECK(json_obj_key(json_get(v, "a", NULL), 0) == NULL);
	CHECK_INT(json_obj_len(NULL), 0);
	CHECK(json_obj(v, "a", NULL) == NULL);

	a = json_arr(v, "a", NULL);
	CHECK(a != NULL);
	CHECK_INT(json_arr_len(a), 3);
	CHECK_INT(json_int(json_arr_at(a, 0), &i, NULL), 0);
	CHECK_INT(i, 1);
	CHECK_STR(json_str(json_arr_at(a, 1), NULL), "two");
	CHECK_INT(json_arr_len(json_arr_at(a, 2)), 1);
	CHECK(json_arr_at(a, 3) == NULL);
	CHECK(json_arr_at(a, (size_t)-1) == NULL);
	CHECK_INT(json_arr_len(o), 0);
	CHECK(json_arr_at(o, 0) == NULL);
	CHECK_INT(json_arr_len(NULL), 0);
	CHECK(json_arr_at(NULL, 0) == NULL);
	CHECK(json_arr(v, "o", NULL) == NULL);
	CHECK(json_arr(v, "s", NULL) == NULL);
	json_free(v);
	json_free(NULL);
}

/* The writer's output for a finished document, or NULL. */
static const char *
finish(struct json_writer *w, size_t *len)
{
	const char *buf = NULL;
	int ret = json_w_finish(w, &buf, len);

	CHECK_INT(ret, 0);
	if (ret != 0)
		fprintf(stderr, "  writer: %s\n", json_w_strerror(w));
	return buf;
}

static void
test_writer(void)
{
	static const char want[] =
	    "{\"environment_id\":\"e1\",\"min\":-9223372036854775808,"
	    "\"max\":9223372036854775807,\"t\":true,\"f\":false,\"z\":null,"
	    "\"s\":\"\xc3\xa9 \\\"q\\\" \\\\ / \\n\\t\\u0001\","
	    "\"arr\":[1,\"x\",{},[]],\"nested\":{\"a\":[{\"b\":\"c\"}]}}";
	struct json_limits strict = {.reject_duplicate_keys = true};
	struct json_writer w;
	const char *buf;
	size_t len = 0;
	yajl_val v = NULL;
	int64_t i;
	bool b;

	CHECK_INT(json_w_init(&w), 0);
	CHECK_INT(json_w_obj_open(&w), 0);
	CHECK_INT(json_w_key_str(&w, "environment_id", "e1"), 0);
	CHECK_INT(json_w_key_int(&w, "min", INT64_MIN), 0);
	CHECK_INT(json_w_key_int(&w, "max", INT64_MAX), 0);
	CHECK_INT(json_w_key_bool(&w, "t", true), 0);
	CHECK_INT(json_w_key_bool(&w, "f", false), 0);
	CHECK_INT(json_w_key_null(&w, "z"), 0);
	CHECK_INT(json_w_key_str(&w, "s", "\xc3\xa9 \"q\" \\ / \n\t\x01"), 0);
	CHECK_INT(json_w_key(&w, "arr"), 0);
	CHECK_INT(json_w_arr_open(&w), 0);
	CHECK_INT(json_w_int(&w, 1), 0);
	CHECK_INT(json_w_strn(&w, "xyz", 1), 0);
	CHECK_INT(json_w_obj_open(&w), 0);
	CHECK_INT(json_w_obj_close(&w), 0);
	CHECK_INT(json_w_arr_open(&w), 0);
	CHECK_INT(json_w_arr_close(&w), 0);
	CHECK_INT(json_w_arr_close(&w), 0);
	CHECK_INT(json_w_key(&w, "nested"), 0);
	CHECK_INT(json_w_obj_open(&w), 0);
	CHECK_INT(json_w_key(&w, "a"), 0);
	CHECK_INT(json_w_arr_open(&w), 0);
	CHECK_INT(json_w_obj_open(&w), 0);
	CHECK_INT(json_w_key_str(&w, "b", "c"), 0);
	CHECK_INT(json_w_obj_close(&w), 0);
	CHECK_INT(json_w_arr_close(&w), 0);
	CHECK_INT(json_w_obj_close(&w), 0);
	CHECK_INT(json_w_obj_close(&w), 0);
	buf = finish(&w, &len);
	CHECK(json_w_strerror(&w) == NULL);
	CHECK_INT(len, strlen(want));
	if (buf != NULL && len == strlen(want))
		CHECK(memcmp(buf, want, len) == 0);
	else if (buf != NULL)
		fprintf(stderr, "  got %.*s\n", (int)len, buf);

	/* Round trip through the strict parser. */
	CHECK_INT(parse_n(&v, buf, len, &strict), 0);
	CHECK_STR(json_str(v, "environment_id", NULL), "e1");
	CHECK_INT(json_int(v, &i, "min", NULL), 0);
	CHECK(i == INT64_MIN);
	CHECK_INT(json_int(v, &i, "max", NULL), 0);
	CHECK(i == INT64_MAX);
	CHECK_INT(json_bool(v, &b, "t", NULL), 0);
	CHECK(b);
	CHECK(json_is_null(v, "z", NULL));
	CHECK_STR(json_str(v, "s", NULL), "\xc3\xa9 \"q\" \\ / \n\t\x01");
	CHECK_INT(json_arr_len(json_arr(v, "arr", NULL)), 4);
	CHECK_STR(json_str(json_arr_at(json_arr(v, "nested", "a", NULL), 0),
	                   "b", NULL),
	          "c");
	json_free(v);
	json_w_free(&w);

	/* A bare scalar is a whole document too. */
	CHECK_INT(json_w_init(&w), 0);
	CHECK_INT(json_w_str(&w, ""), 0);
	buf = finish(&w, &len);
	CHECK_INT(len, 2);
	CHECK(buf != NULL && memcmp(buf, "\"\"", 2) == 0);
	json_w_free(&w);
}

/* Build {"a": <bad>, "b": 1} where STEP fails; everything after must be
 * a no-op and finish must refuse. */
static void
latch(int (*step)(struct json_writer *), const char *what)
{
	struct json_writer w;
	const char *buf = "unset";
	size_t len = 7;

	CHECK_INT(json_w_init(&w), 0);
	CHECK_INT(json_w_obj_open(&w), 0);
	if (step(&w) != -EINVAL)
		fprintf(stderr, "  latch case: %s\n", what);
	CHECK_INT(w.err, -EINVAL);
	CHECK(json_w_strerror(&w) != NULL);
	CHECK_INT(json_w_key_int(&w, "b", 1), -EINVAL);
	CHECK_INT(json_w_obj_close(&w), -EINVAL);
	CHECK_INT(json_w_str(&w, "ok"), -EINVAL);
	CHECK_INT(json_w_finish(&w, &buf, &len), -EINVAL);
	CHECK(buf == NULL);
	CHECK_INT(len, 0);
	json_w_free(&w);
}

static int
bad_utf8(struct json_writer *w)
{
	return json_w_key_str(w, "a", "ok\xff");
}

static int
overlong(struct json_writer *w)
{
	/* yajl's own validation lets this one through. */
	return json_w_key_str(w, "a", "\xc0\x80");
}

static int
surrogate(struct json_writer *w)
{
	return json_w_key_str(w, "a", "\xed\xa0\x80");
}

static int
bad_key(struct json_writer *w)
{
	return json_w_key_int(w, "\xe2\x82", 1);
}

static int
nul_in_strn(struct json_writer *w)
{
	json_w_key(w, "a");
	return json_w_strn(w, "a\0b", 3);
}

static int
null_str(struct json_writer *w)
{
	return json_w_key_str(w, "a", NULL);
}

static int
value_for_key(struct json_writer *w)
{
	return json_w_int(w, 1);
}

static int
key_twice(struct json_writer *w)
{
	json_w_key(w, "a");
	return json_w_key(w, "b");
}

static int
close_dangling(struct json_writer *w)
{
	json_w_key(w, "a");
	return json_w_obj_close(w);
}

static int
key_in_array(struct json_writer *w)
{
	json_w_key(w, "a");
	json_w_arr_open(w);
	return json_w_key(w, "x");
}

static int
wrong_close(struct json_writer *w)
{
	return json_w_arr_close(w);
}

static void
test_writer_errors(void)
{
	struct json_writer w;
	const char *buf;
	size_t len;
	unsigned n;

	latch(bad_utf8, "bad_utf8");
	latch(overlong, "overlong");
	latch(surrogate, "surrogate");
	latch(bad_key, "bad_key");
	latch(nul_in_strn, "nul_in_strn");
	latch(null_str, "null_str");
	latch(value_for_key, "value_for_key");
	latch(key_twice, "key_twice");
	latch(close_dangling, "close_dangling");
	latch(key_in_array, "key_in_array");
	latch(wrong_close, "wrong_close");

	/* Incomplete, empty and over-complete documents. */
	CHECK_INT(json_w_init(&w), 0);
	CHECK_INT(json_w_finish(&w, &buf, &len), -EINVAL);
	json_w_free(&w);
	CHECK_INT(json_w_init(&w), 0);
	CHECK_INT(json_w_obj_open(&w), 0);
	CHECK_INT(json_w_finish(&w, &buf, &len), -EINVAL);
	json_w_free(&w);
	CHECK_INT(json_w_init(&w), 0);
	CHECK_INT(json_w_int(&w, 1), 0);
	CHECK_INT(json_w_int(&w, 2), -EINVAL);
	CHECK_INT(json_w_finish(&w, &buf, &len), -EINVAL);
	json_w_free(&w);
	CHECK_INT(json_w_init(&w), 0);
	CHECK_INT(json_w_obj_close(&w), -EINVAL);
	json_w_free(&w);

	/* yajl_gen's nesting limit, reached without crossing it. */
	CHECK_INT(json_w_init(&w), 0);
	for (n = 0; n < JSON_W_MAX_DEPTH; n++)
		CHECK_INT(json_w_arr_open(&w), 0);
	CHECK_INT(json_w_arr_open(&w), -EINVAL);
	json_w_free(&w);
	CHECK_INT(json_w_init(&w), 0);
	for (n = 0; n < JSON_W_MAX_DEPTH; n++)
		json_w_arr_open(&w);
	for (n = 0; n < JSON_W_MAX_DEPTH; n++)
		json_w_arr_close(&w);
	CHECK_INT(json_w_finish(&w, &buf, &len), 0);
	CHECK_INT(len, 2 * JSON_W_MAX_DEPTH);
	json_w_free(&w);

	/* A freed writer refuses instead of crashing. */
	CHECK_INT(json_w_int(&w, 1), -EINVAL);
	CHECK_INT(json_w_key(&w, "a"), -EINVAL);
	CHECK_INT(json_w_finish(&w, &buf, &len), -EINVAL);
	json_w_free(&w);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static yajl_val
fixture(const char *dir, const char *name)
{
	struct json_limits strict = {.reject_duplicate_keys = true};
	char path[4096];
	yajl_val v = NULL;
	size_t len = 0;
	char *buf;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf = slurp(path, &len);
	CHECK(buf != NULL);
	if (buf == NULL)
		return NULL;
	CHECK_INT(parse_n(&v, buf, len, &strict), 0);
	if (v == NULL)
		fprintf(stderr, "  %s: %s\n", name, err);
	free(buf);
	return v;
}

/* An async action answer: {operation_id, message, status: 202}. */
static void
check_op(const char *dir, const char *name, const char *op)
{
	yajl_val v = fixture(dir, name);
	int64_t status = 0;

	CHECK_STR(json_str(v, "operation_id", NULL), op);
	CHECK(json_str(v, "message", NULL) != NULL &&
	      strstr(json_str(v, "message", NULL), "in progress") != NULL);
	CHECK_INT(json_int(v, &status, "status", NULL), 0);
	CHECK_INT(status, 202);
	json_free(v);
}

static void
check_status(const char *dir, const char *name, int64_t want,
             const char *message)
{
	yajl_val v = fixture(dir, name);
	int64_t status = 0;

	CHECK_INT(json_int_lenient(v, &status, "status", NULL), 0);
	CHECK_INT(status, want);
	CHECK_STR(json_str(v, "message", NULL), message);
	CHECK(json_str(v, "operation_id", NULL) == NULL);
	json_free(v);
}

/* The project's response bodies, tests/fixtures: a failure when absent. */
static void
test_fixtures(void)
{
	const char *src = getenv("KCRON_SOURCE_DIR");
	char dir[4096];
	struct dirent *de;
	yajl_val v, site, env;
	int64_t n;
	bool b;
	DIR *d;
	int files = 0;

	snprintf(dir, sizeof(dir), "%s/tests/fixtures", src ? src : ".");
	d = opendir(dir);
	CHECK(d != NULL);
	if (d == NULL) {
		fprintf(stderr, "  %s: %s (see KCRON_SOURCE_DIR)\n", dir,
		        strerror(errno));
		return;
	}
	/* Every recorded body passes the strict parser. */
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 5, ".json") != 0)
			continue;
		json_free(fixture(dir, de->d_name));
		files++;
	}
	closedir(d);
	CHECK(files >= 16);

	check_op(dir, "clear-cache.json",
	         "cache:clear-a2222222-2222-4222-8222-222222222222");
	check_op(dir, "cdn-clear.json",
	         "cdn-cache:clear-a2222222-2222-4222-8222-222222222222");
	check_op(dir, "edge-clear.json",
	         "edgeCache:clear-a2222222-2222-4222-8222-222222222222");
	check_op(dir, "restart-php.json",
	         "container:restart-php-a2222222-2222-4222-8222-222222222222");
	check_op(dir, "run-wp-cli.json",
	         "cli:run-wp-cli-a2222222-2222-4222-8222-222222222222");
	check_status(dir, "operation-success.json", 200,
	             "Successfully finished request.");
	check_status(dir, "error-401.json", 401, "Unauthenticated.");
	check_status(dir, "error-404.json", 404, "Site not found");
	check_status(dir, "error-429.json", 429,
	             "Too many requests, please try again later.");

	v = fixture(dir, "error-401.json");
	CHECK(json_is_null(v, "data", NULL));
	json_free(v);

	v = fixture(dir, "sites.json");
	CHECK(json_arr_len(json_arr(v, "company", "sites", NULL)) >= 1);
	site = json_arr_at(json_arr(v, "company", "sites", NULL), 0);
	CHECK_STR(json_str(site, "name", NULL), "alphasite");
	CHECK_STR(json_str(site, "status", NULL), "live");
	n = 0;
	CHECK_INT(json_int_lenient(site, &n, "status", NULL), -EINVAL);
	env = json_arr_at(json_arr(site, "environments", NULL), 0);
	CHECK_STR(json_str(env, "name", NULL), "live");
	CHECK_STR(json_str(env, "cdn_cache_id", NULL),
	          "c1111111-1111-4111-8111-111111111111");
	b = false;
	CHECK_INT(json_bool(env, &b, "is_premium", NULL), 0);
	CHECK(b);
	CHECK_INT(json_bool(env, &b, "is_blocked", NULL), 0);
	CHECK(!b);
	json_free(v);

	v = fixture(dir, "ssh-config.json");
	CHECK_INT(json_int(v, &n, "port", NULL), -EINVAL);
	CHECK_INT(json_int_lenient(v, &n, "port", NULL), 0);
	CHECK_INT(n, 12002);
	json_free(v);

	v = fixture(dir, "usage-bandwidth.json");
	CHECK_INT(
	    json_int(v, &n, "site", "this_month_usage", "bandwidth", NULL), 0);
	CHECK_INT(n, 32212254720LL);
	json_free(v);

	v = fixture(dir, "analytics-visits.json");
	CHECK_INT(
	    json_int(json_arr_at(json_arr(v, "analytics", "analytics_response",
	                                  "data", NULL),
	                         0),
	             &n, "total", NULL),
	    0);
	CHECK_INT(n, 1234);
	json_free(v);
}

/* A parsed tree written again: the same document, compact, numbers as
 * they were written (no digit lost to a double). */
static void
test_writer_tree(void)
{
	static const char in[] =
	    "{ \"a\": [1, -2.50, 12345678901234567890, true, false, null],\n"
	    "  \"b\": {\"c\": \"x\\ny\\u00e9\"}, \"d\": [] }";
	struct json_writer w;
	yajl_val v = NULL;
	const char *out;
	size_t len;
	char why[128];

	CHECK_INT(json_parse(&v, in, strlen(in), NULL, why, sizeof(why)), 0);
	json_w_init(&w);
	CHECK_INT(json_w_tree(&w, v), 0);
	CHECK_INT(json_w_finish(&w, &out, &len), 0);
	CHECK_STR(out, "{\"a\":[1,-2.50,12345678901234567890,true,false,"
	               "null],\"b\":{\"c\":\"x\\ny\xc3\xa9\"},\"d\":[]}");
	json_w_free(&w);
	json_free(v);
	/* NULL is null */
	json_w_init(&w);
	CHECK_INT(json_w_tree(&w, NULL), 0);
	CHECK_INT(json_w_finish(&w, &out, &len), 0);
	CHECK_STR(out, "null");
	json_w_free(&w);
}

int
main(void)
{
	test_writer_tree();
	test_malformed();
	test_depth();
	test_size();
	test_bytes();
	test_duplicates();
	test_getters();
	test_writer();
	test_writer_errors();
	test_fixtures();
	return test_report("test_json");
}
