/*
 * Fuzz target for daemon/json.c: arbitrary bytes go through json_parse
 * (default limits, then a small strict profile), every accepted tree is
 * walked with the typed getters and rebuilt through the writer, and the
 * rebuilt document must parse again.  Any broken invariant aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_json: %s:%d: %s\n", __FILE__,    \
			        __LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

/* Messages go to syslog: one line of printable ASCII, never empty. */
static void
check_message(int ret, const char *err)
{
	if (ret == 0)
		return;
	FUZZ_ASSERT(err[0] != '\0');
	for (const char *p = err; *p; p++)
		FUZZ_ASSERT(*p >= 0x20 && *p < 0x7f);
}

/* Copy V into W using only the getters; non-integral numbers become
 * null since the writer has no raw-number call. */
static void
rebuild(struct json_writer *w, yajl_val v, unsigned depth)
{
	const char *s = json_str(v, NULL);
	int64_t i;
	bool b;

	FUZZ_ASSERT(depth <= JSON_DEFAULT_MAX_DEPTH);
	FUZZ_ASSERT(v != NULL);
	if (s != NULL) {
		FUZZ_ASSERT(json_w_str(w, s) == 0);
		/* A string of digits must agree with the lenient getter. */
		if (json_int_lenient(v, &i, NULL) == 0)
			FUZZ_ASSERT(s[0] == '-' ||
			            (s[0] >= '0' && s[0] <= '9'));
		FUZZ_ASSERT(json_int(v, &i, NULL) == -EINVAL);
		return;
	}
	if (json_bool(v, &b, NULL) == 0) {
		FUZZ_ASSERT(json_w_bool(w, b) == 0);
		return;
	}
	if (json_is_null(v, NULL)) {
		FUZZ_ASSERT(json_w_null(w) == 0);
		return;
	}
	if (json_obj(v, NULL) != NULL) {
		size_t n = json_obj_len(v);

		FUZZ_ASSERT(json_arr(v, NULL) == NULL && json_arr_len(v) == 0);
		FUZZ_ASSERT(json_w_obj_open(w) == 0);
		for (size_t k = 0; k < n; k++) {
			const char *key = json_obj_key(v, k);

			FUZZ_ASSERT(key != NULL);
			/* Lookup by key finds this member or an earlier
			 * duplicate, never nothing. */
			FUZZ_ASSERT(json_get(v, key, NULL) != NULL);
			FUZZ_ASSERT(json_w_key(w, key) == 0);
			rebuild(w, json_obj_at(v, k), depth + 1);
		}
		FUZZ_ASSERT(json_obj_key(v, n) == NULL);
		FUZZ_ASSERT(json_w_obj_close(w) == 0);
		return;
	}
	if (json_arr(v, NULL) != NULL) {
		size_t n = json_arr_len(v);

		FUZZ_ASSERT(json_obj_len(v) == 0);
		FUZZ_ASSERT(json_w_arr_open(w) == 0);
		for (size_t k = 0; k < n; k++)
			rebuild(w, json_arr_at(v, k), depth + 1);
		FUZZ_ASSERT(json_arr_at(v, n) == NULL);
		FUZZ_ASSERT(json_w_arr_close(w) == 0);
		return;
	}
	/* Only numbers are left. */
	FUZZ_ASSERT(v->type == yajl_t_number);
	if (json_int(v, &i, NULL) == 0)
		FUZZ_ASSERT(json_w_int(w, i) == 0);
	else
		FUZZ_ASSERT(json_w_null(w) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_limits strict = {
	    .max_depth = 8,
	    .reject_duplicate_keys = true,
	};
	const char *buf = (const char *)data;
	struct json_writer w;
	const char *out;
	size_t outlen;
	char err[160];
	yajl_val v = NULL, again = NULL;
	int ret, ret2;

	ret = json_parse(&v, buf, size, NULL, err, sizeof(err));
	check_message(ret, err);
	FUZZ_ASSERT(ret == 0 || v == NULL);

	ret2 = json_parse(&again, buf, size, &strict, err, sizeof(err));
	check_message(ret2, err);
	/* The strict profile never accepts what the default refuses. */
	FUZZ_ASSERT(ret2 != 0 || ret == 0);
	json_free(again);
	again = NULL;
	if (ret != 0)
		return 0;

	FUZZ_ASSERT(json_w_init(&w) == 0);
	rebuild(&w, v, 0);
	FUZZ_ASSERT(json_w_finish(&w, &out, &outlen) == 0);
	/* Our own output is valid for our own parser. */
	ret = json_parse(&again, out, outlen, NULL, err, sizeof(err));
	if (ret != 0)
		fprintf(stderr, "fuzz_json: reparse: %s\n", err);
	FUZZ_ASSERT(ret == 0);
	json_free(again);
	json_w_free(&w);
	json_free(v);
	return 0;
}
