/*
 * Fuzz target for daemon/face.c: one HTTP request as the listener hands
 * it over.  The input is lines: the method, the path, the raw query, the
 * Authorization header, then the body (the rest, any bytes); the history
 * the fake daemon returns is the body too, so history lines are fuzzed
 * as well.  Every answer must be a known status with a body, JSON that
 * parses for the API, and must never hold the token unless the request
 * did.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "face.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_face: %s:%d: %s\n", __FILE__,    \
			        __LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

#define TOKEN "fuzz-token-0123456789abcdef"

static const char conf_text[] =
    "api = { url = \"http://127.0.0.1:9/v2\"; };\n"
    "accounts = ( { name = \"acme\"; company = "
    "\"c0000000-0000-4000-8000-000000000001\"; } );\n"
    "jobs = (\n"
    " { name = \"nightly\"; schedule = \"0 3 * * *\"; action = "
    "\"clear-cache\"; environment_id = "
    "\"a2222222-2222-4222-8222-222222222222\"; }\n"
    ");\n";

static struct config *cfg;
static const char *hist;
static size_t hist_len;

static const struct config *
fake_config(void *arg)
{
	(void)arg;
	return cfg;
}

static int
fake_trigger(void *arg, const char *job, uint64_t *id)
{
	(void)arg;
	if (config_find_job(cfg, job) == NULL)
		return -ENOENT;
	*id = 1;
	return 0;
}

static int
fake_history(void *arg, char **text, size_t *len)
{
	(void)arg;
	if ((*text = malloc(hist_len + 1)) == NULL)
		return -ENOMEM;
	if (hist_len > 0)
		memcpy(*text, hist, hist_len);
	*len = hist_len;
	return 0;
}

static const struct face_source src = {
    .config = fake_config,
    .trigger = fake_trigger,
    .history = fake_history,
};

/* The next line of [*p, end) as a NUL-terminated copy in buf. */
static char *
line(const char **p, const char *end, char *buf, size_t len)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);

	if (n >= len)
		n = len - 1;
	memcpy(buf, *p, n);
	buf[n] = '\0';
	*p = nl ? nl + 1 : end;
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct face_book book;
	static bool ready, token_sent;
	const char *p = (const char *)data, *end = p + size;
	char method[32], path[2048], query[2048], auth[512];
	struct face_request req = {0};
	struct face_reply rep;
	struct face f = {.src = &src, .book = &book, .token = TOKEN};

	if (!ready) {
		struct config_errors errs = {0};

		if (config_load_string(conf_text, "fuzz.conf",
		                       CONFIG_LOAD_NO_KEYS, &cfg, &errs) < 0)
			abort();
		face_book_init(&book);
		ready = true;
	}
	req.method = line(&p, end, method, sizeof(method));
	req.path = line(&p, end, path, sizeof(path));
	line(&p, end, query, sizeof(query));
	face_query_parse(&req, query, strlen(query) + 1);
	req.authorization = line(&p, end, auth, sizeof(auth));
	if (strcmp(auth, "-") == 0)
		snprintf(auth, sizeof(auth), "Bearer %s", TOKEN);
	req.body = p;
	req.body_len = (size_t)(end - p);
	req.now_ms = INT64_C(1796000000000);
	hist = p;
	hist_len = req.body_len;
	/* history lines are kept by the book too (bounded) */
	face_book_load_history(&book, p, req.body_len);

	token_sent =
	    token_sent || memmem(data, size, TOKEN, strlen(TOKEN)) != NULL;
	face_handle(&f, &req, &rep);
	FUZZ_ASSERT(rep.status >= 200 && rep.status < 600);
	FUZZ_ASSERT(rep.type != NULL);
	FUZZ_ASSERT(rep.body != NULL || rep.status == 500);
	if (rep.body != NULL) {
		/* a path or a history line may be echoed in a page: the token
		 * only when some input so far sent it (the book keeps the
		 * history lines of earlier inputs) */
		FUZZ_ASSERT(token_sent || memmem(rep.body, rep.len, TOKEN,
		                                 strlen(TOKEN)) == NULL);
		if (strcmp(rep.type, "application/json") == 0) {
			yajl_val v;
			char err[128];

			FUZZ_ASSERT(json_parse(&v, rep.body, rep.len, NULL, err,
			                       sizeof(err)) == 0);
			json_free(v);
		}
	}
	face_reply_free(&rep);
	return 0;
}
