/*
 * face: the HTTP face's router and pages; see face.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "face.h"
#include "json.h"
#include "report.h"
#include "util.h"

/* history lines read per /history request at most, and the page's sizes */
#define HISTORY_MAX_LIMIT     1000
#define HISTORY_DEFAULT_LIMIT 100
#define SPARK_RUNS            24
#define PAGE_FAILURES         10
#define PAGE_REFRESH_S        30

/* ---- a growing text buffer ---------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void
buf_put(struct buf *b, const char *s, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (util_grow((void **)&b->p, &b->cap, b->len + n + 1, 1) < 0) {
		b->oom = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void
buf_printf(struct buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		buf_put(b, small, (size_t)n);
		return;
	}
	if (b->oom ||
	    util_grow((void **)&b->p, &b->cap, b->len + (size_t)n + 1, 1) < 0) {
		b->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Text for HTML, escaped; bytes that are not UTF-8 become U+FFFD. */
static void
buf_html(struct buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	for (size_t i = 0; i < n;) {
		size_t k = util_utf8_len((const unsigned char *)s + i, n - i);

		if (k == 0) {
			buf_str(b, "\xef\xbf\xbd");
			i++;
			continue;
		}
		switch (s[i]) {
		case '<':
			buf_str(b, "&lt;");
			break;
		case '>':
			buf_str(b, "&gt;");
			break;
		case '&':
			buf_str(b, "&amp;");
			break;
		case '"':
			buf_str(b, "&quot;");
			break;
		case '\'':
			buf_str(b, "&#39;");
			break;
		default:
			buf_put(b, s + i, k);
		}
		i += k;
	}
}

/* ---- replies ------------------------------------------------------------ */

static void
reply_take(struct face_reply *rep, int status, const char *type, struct buf *b)
{
	if (b->oom) {
		free(b->p);
		rep->status = 500;
		rep->type = "application/json";
		rep->body = NULL;
		rep->len = 0;
		return;
	}
	rep->status = status;
	rep->type = type;
	rep->body = b->p;
	rep->len = b->len;
}

/* A JSON string for s, whatever its bytes: bad UTF-8 becomes U+FFFD. */
static void
json_text(struct json_writer *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (util_text_prefix(s ? s : "", n) == n) {
		json_w_str(w, s ? s : "");
		return;
	}
	struct buf b = {0};
	for (size_t i = 0; i < n;) {
		size_t k = util_utf8_len((const unsigned char *)s + i, n - i);

		if (k == 0 || s[i] == '\0') {
			buf_str(&b, "\xef\xbf\xbd");
			i++;
		} else {
			buf_put(&b, s + i, k);
			i += k;
		}
	}
	json_w_str(w, b.p ? b.p : "");
	free(b.p);
}

static void
json_key_text(struct json_writer *w, const char *key, const char *s)
{
	json_w_key(w, key);
	json_text(w, s);
}

static void
reply_json(struct face_reply *rep, int status, struct json_writer *w)
{
	const char *doc;
	size_t len;
	struct buf b = {0};

	if (json_w_finish(w, &doc, &len) < 0) {
		rep->status = 500;
		rep->type = "application/json";
		json_w_free(w);
		return;
	}
	buf_put(&b, doc, len);
	buf_put(&b, "\n", 1);
	json_w_free(w);
	reply_take(rep, status, "application/json", &b);
}

/* {"error": message} with status. */
__attribute__((format(printf, 3, 4))) static void
reply_error(struct face_reply *rep, int status, const char *fmt, ...)
{
	struct json_writer w;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_w_init(&w);
	json_w_obj_open(&w);
	json_key_text(&w, "error", msg);
	json_w_key_int(&w, "status", status);
	json_w_obj_close(&w);
	reply_json(rep, status, &w);
}

void
face_reply_free(struct face_reply *rep)
{
	free(rep->body);
	rep->body = NULL;
	rep->len = 0;
}

/* ---- the token ---------------------------------------------------------- */

/* Compare a[0..na) with b[0..nb) in time depending only on the lengths. */
static bool
same_secret(const char *a, size_t na, const char *b, size_t nb)
{
	unsigned char d = na != nb;
	size_t n = na > nb ? na : nb;

	for (size_t i = 0; i < n; i++) {
		unsigned char x = i < na ? (unsigned char)a[i] : 0;
		unsigned char y = i < nb ? (unsigned char)b[i] : 0;

		d |= x ^ y;
	}
	return d == 0;
}

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode base64 s into out (at most cap bytes); the length or -1. */
static long
b64_decode(const char *s, char *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	for (; *s != '\0' && *s != '='; s++) {
		int v = b64_value((unsigned char)*s);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -1;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	while (*s == '=')
		s++;
	return *s == '\0' ? (long)n : -1;
}

static bool
prefix_ci(const char *s, const char *p)
{
	return strncasecmp(s, p, strlen(p)) == 0;
}

bool
face_authorized(const char *token, const char *authorization)
{
	char dec[1024];
	const char *v, *colon;
	long n;

	if (token == NULL || token[0] == '\0' || authorization == NULL)
		return false;
	if (prefix_ci(authorization, "Bearer ")) {
		v = authorization + 7;
		while (*v == ' ')
			v++;
		return same_secret(v, strlen(v), token, strlen(token));
	}
	if (prefix_ci(authorization, "Basic ")) {
		v = authorization + 6;
		while (*v == ' ')
			v++;
		if ((n = b64_decode(v, dec, sizeof(dec) - 1)) < 0)
			return false;
		dec[n] = '\0';
		if ((colon = memchr(dec, ':', (size_t)n)) == NULL)
			return false;
		colon++;
		return same_secret(colon, (size_t)(dec + n - colon), token,
		                   strlen(token));
	}
	return false;
}

/* ---- bad tokens per address ------------------------------------------- */

#define PENALTY_FREE_FAILS 3
#define PENALTY_BASE_MS    1000
#define PENALTY_MAX_MS     60000
/* an address quiet this long starts again from nothing */
#define PENALTY_FORGET_MS (10 * 60 * 1000)

static int
penalty_find(const struct face_penalty *p, const char *addr)
{
	for (int i = 0; i < FACE_PENALTY_SLOTS; i++)
		if (p->slot[i].fails > 0 &&
		    strncmp(p->slot[i].addr, addr,
		            sizeof(p->slot[i].addr) - 1) == 0)
			return i;
	return -1;
}

int64_t
face_penalty_wait(const struct face_penalty *p, const char *addr,
                  int64_t now_ms)
{
	int i = penalty_find(p, addr);

	if (i < 0 || p->slot[i].until_ms <= now_ms)
		return 0;
	return (p->slot[i].until_ms - now_ms + 999) / 1000;
}

void
face_penalty_note(struct face_penalty *p, const char *addr, bool good,
                  int64_t now_ms)
{
	int i = penalty_find(p, addr), oldest = 0;
	int64_t wait;
	unsigned extra;

	if (good) {
		if (i >= 0)
			p->slot[i].fails = 0;
		return;
	}
	if (i >= 0 && now_ms - p->slot[i].seen_ms > PENALTY_FORGET_MS)
		p->slot[i].fails = 0;
	if (i < 0 || p->slot[i].fails == 0) {
		/* a free slot, or the one seen least lately */
		for (i = 0; i < FACE_PENALTY_SLOTS; i++) {
			if (p->slot[i].fails == 0)
				break;
			if (p->slot[i].seen_ms < p->slot[oldest].seen_ms)
				oldest = i;
		}
		if (i == FACE_PENALTY_SLOTS)
			i = oldest;
		snprintf(p->slot[i].addr, sizeof(p->slot[i].addr), "%s", addr);
		p->slot[i].fails = 0;
		p->slot[i].until_ms = 0;
	}
	p->slot[i].fails++;
	p->slot[i].seen_ms = now_ms;
	if (p->slot[i].fails < PENALTY_FREE_FAILS)
		return;
	extra = p->slot[i].fails - PENALTY_FREE_FAILS;
	wait = extra >= 6 ? PENALTY_MAX_MS : (int64_t)PENALTY_BASE_MS << extra;
	if (wait > PENALTY_MAX_MS)
		wait = PENALTY_MAX_MS;
	p->slot[i].until_ms = now_ms + wait;
}

/* ---- query ------------------------------------------------------------- */

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode %XX and + in place. */
static void
url_decode(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		if (*s == '+') {
			*o++ = ' ';
		} else if (*s == '%' && hex_value(s[1]) >= 0 &&
		           hex_value(s[2]) >= 0) {
			*o++ = (char)(hex_value(s[1]) * 16 + hex_value(s[2]));
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

size_t
face_query_parse(struct face_request *req, char *buf, size_t len)
{
	char *p = buf, *amp, *eq;

	req->nparams = 0;
	if (len == 0)
		return 0;
	buf[len - 1] = '\0';
	while (p != NULL && *p != '\0' && req->nparams < FACE_MAX_PARAMS) {
		if ((amp = strchr(p, '&')) != NULL)
			*amp++ = '\0';
		if ((eq = strchr(p, '=')) != NULL)
			*eq++ = '\0';
		url_decode(p);
		if (eq != NULL)
			url_decode(eq);
		if (*p != '\0') {
			req->params[req->nparams].key = p;
			req->params[req->nparams].value = eq ? eq : "";
			req->nparams++;
		}
		p = amp;
	}
	return req->nparams;
}

static const char *
param(const struct face_request *req, const char *key)
{
	for (size_t i = 0; i < req->nparams; i++)
		if (strcmp(req->params[i].key, key) == 0)
			return req->params[i].value;
	return NULL;
}

/* ---- the book ------------------------------------------------------------ */

static char *
dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static void
run_free(struct face_run *r)
{
	free((char *)r->job);
	free((char *)r->action);
	free((char *)r->env_id);
	free((char *)r->target);
	free((char *)r->op_id);
	free((char *)r->outcome);
	free((char *)r->message);
	free((char *)r->note);
	memset(r, 0, sizeof(*r));
}

static void
fire_free(struct face_fire *f)
{
	for (size_t i = 0; i < f->ntargets; i++) {
		struct face_target *t = &f->targets[i];

		free((char *)t->env_id);
		free((char *)t->name);
		free((char *)t->op_id);
		free((char *)t->message);
		free((char *)t->note);
	}
	free(f->targets);
	free((char *)f->job);
	free((char *)f->action);
	free((char *)f->why);
	memset(f, 0, sizeof(*f));
}

void
face_book_init(struct face_book *b)
{
	memset(b, 0, sizeof(*b));
}

void
face_book_free(struct face_book *b)
{
	for (size_t i = 0; i < FACE_BOOK_FIRES; i++)
		fire_free(&b->fires[i]);
	for (size_t i = 0; i < FACE_BOOK_RUNS; i++)
		run_free(&b->runs[i]);
	face_book_init(b);
}

int
face_book_add_run(struct face_book *b, const struct face_run *r)
{
	struct face_run c = {
	    .job = dup_or_empty(r->job),
	    .action = dup_or_empty(r->action),
	    .env_id = dup_or_empty(r->env_id),
	    .target = dup_or_empty(r->target),
	    .op_id = dup_or_empty(r->op_id),
	    .outcome = dup_or_empty(r->outcome),
	    .message = dup_or_empty(r->message),
	    .note = dup_or_empty(r->note),
	    .run_id = r->run_id,
	    .start_ms = r->start_ms,
	    .end_ms = r->end_ms,
	};
	size_t i;

	if (!c.job || !c.action || !c.env_id || !c.target || !c.op_id ||
	    !c.outcome || !c.message || !c.note) {
		run_free(&c);
		return -ENOMEM;
	}
	if (b->nruns < FACE_BOOK_RUNS) {
		i = (b->run_head + b->nruns++) % FACE_BOOK_RUNS;
	} else {
		i = b->run_head;
		b->run_head = (b->run_head + 1) % FACE_BOOK_RUNS;
		run_free(&b->runs[i]);
	}
	b->runs[i] = c;
	return 0;
}

int
face_book_add_fire(struct face_book *b, const struct face_fire *f)
{
	struct face_fire c = {
	    .run_id = f->run_id,
	    .job = dup_or_empty(f->job),
	    .action = dup_or_empty(f->action),
	    .started_ms = f->started_ms,
	    .ended_ms = f->ended_ms,
	    .why = dup_or_empty(f->why),
	};
	size_t i;
	int rc = 0;

	if (!c.job || !c.action || !c.why)
		goto nomem;
	if (f->ntargets > 0 &&
	    (c.targets = calloc(f->ntargets, sizeof(*c.targets))) == NULL)
		goto nomem;
	for (i = 0; i < f->ntargets; i++) {
		const struct face_target *t = &f->targets[i];
		struct face_target *d = &c.targets[i];
		struct face_run r = {
		    f->job,        f->action,  t->env_id,
		    t->name,       t->op_id,   kinsta_outcome_name(t->outcome),
		    t->message,    t->note,    f->run_id,
		    t->started_ms, t->ended_ms};

		c.ntargets++;
		*d = *t;
		d->env_id = dup_or_empty(t->env_id);
		d->name = dup_or_empty(t->name);
		d->op_id = dup_or_empty(t->op_id);
		d->message = dup_or_empty(t->message);
		d->note = dup_or_empty(t->note);
		if (!d->env_id || !d->name || !d->op_id || !d->message ||
		    !d->note)
			goto nomem;
		if (face_book_add_run(b, &r) < 0)
			rc = -ENOMEM;
	}
	if (f->ntargets == 0) {
		struct face_run r = {.job = f->job,
		                     .action = f->action,
		                     .outcome = "failed",
		                     .message = f->why,
		                     .run_id = f->run_id,
		                     .start_ms = f->started_ms,
		                     .end_ms = f->ended_ms};

		if (face_book_add_run(b, &r) < 0)
			rc = -ENOMEM;
	}
	if (b->nfires < FACE_BOOK_FIRES) {
		i = (b->fire_head + b->nfires++) % FACE_BOOK_FIRES;
	} else {
		i = b->fire_head;
		b->fire_head = (b->fire_head + 1) % FACE_BOOK_FIRES;
		fire_free(&b->fires[i]);
	}
	b->fires[i] = c;
	return rc;
nomem:
	fire_free(&c);
	return -ENOMEM;
}

static uint64_t
parse_u64(const char *s, bool *ok)
{
	uint64_t v = 0;

	*ok = s != NULL && *s != '\0';
	for (; *ok && *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10) {
			*ok = false;
			break;
		}
		v = v * 10 + (uint64_t)(*s - '0');
	}
	return *ok ? v : 0;
}

/* One history line's fields into r (pointing into tree). */
static bool
history_run(yajl_val tree, struct face_run *r)
{
	bool ok;

	memset(r, 0, sizeof(*r));
	if ((r->job = json_str(tree, "job", NULL)) == NULL ||
	    (r->outcome = json_str(tree, "outcome", NULL)) == NULL)
		return false;
	r->action = json_str(tree, "action", NULL);
	r->env_id = json_str(tree, "env_id", NULL);
	r->target = json_str(tree, "target", NULL);
	r->op_id = json_str(tree, "op_id", NULL);
	r->message = json_str(tree, "message", NULL);
	r->note = json_str(tree, "note", NULL);
	r->run_id = parse_u64(json_str(tree, "run_id", NULL), &ok);
	json_int(tree, &r->start_ms, "start_ms", NULL);
	json_int(tree, &r->end_ms, "end_ms", NULL);
	return true;
}

size_t
face_book_load_history(struct face_book *b, const char *text, size_t len)
{
	size_t kept = 0, i = 0;

	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - text) - i : len - i;
		struct json_limits lim = {.max_bytes = 65536};
		struct face_run r;
		yajl_val tree;
		char err[128];

		if (n > 0 && json_parse(&tree, text + i, n, &lim, err,
		                        sizeof(err)) == 0) {
			if (YAJL_IS_OBJECT(tree) && history_run(tree, &r) &&
			    face_book_add_run(b, &r) == 0)
				kept++;
			json_free(tree);
		}
		i += n + 1;
	}
	return kept;
}

/* The i-th newest run of the book (0: the newest). */
static const struct face_run *
book_run(const struct face_book *b, size_t i)
{
	if (i >= b->nruns)
		return NULL;
	return &b->runs[(b->run_head + b->nruns - 1 - i) % FACE_BOOK_RUNS];
}

static const struct face_fire *
book_fire(const struct face_book *b, uint64_t run_id)
{
	for (size_t i = 0; i < b->nfires; i++) {
		const struct face_fire *f =
		    &b->fires[(b->fire_head + i) % FACE_BOOK_FIRES];

		if (f->run_id == run_id)
			return f;
	}
	return NULL;
}

/* The book's runs by job, built once per request: for a large
 * configuration, walking the book once per job was 5 000 x 1 024 name
 * comparisons on the loop (bench_face). */
#define INDEX_SLOTS (2 * FACE_BOOK_RUNS) /* a power of two */

struct run_index {
	const struct face_book *b;
	int first[INDEX_SLOTS];   /* per job: its newest run (book_run's i) */
	int next[FACE_BOOK_RUNS]; /* the same job's next older run, or -1 */
};

static size_t
name_hash(const char *s)
{
	size_t h = 5381;

	while (*s != '\0')
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static const struct face_run *book_run(const struct face_book *b, size_t i);

/* The slot of job: its own, or the empty one where it would go. */
static size_t
index_slot(const struct run_index *x, const char *job)
{
	size_t i = name_hash(job) & (INDEX_SLOTS - 1);

	while (x->first[i] >= 0 &&
	       strcmp(book_run(x->b, (size_t)x->first[i])->job, job) != 0)
		i = (i + 1) & (INDEX_SLOTS - 1);
	return i;
}

static struct run_index *
index_book(const struct face_book *b)
{
	struct run_index *x = malloc(sizeof(*x));

	if (x == NULL)
		return NULL;
	x->b = b;
	memset(x->first, 0xff, sizeof(x->first));
	/* oldest first, so that each job's newest run ends up first */
	for (size_t i = b->nruns; i-- > 0;) {
		size_t k = index_slot(x, book_run(b, i)->job);

		x->next[i] = x->first[k];
		x->first[k] = (int)i;
	}
	return x;
}

/* The newest run of job (n = 0), the one before (n = 1), ...; or NULL. */
static const struct face_run *
index_run(const struct run_index *x, const char *job, size_t n)
{
	int i;

	if (x == NULL)
		return NULL;
	i = x->first[index_slot(x, job)];
	while (i >= 0 && n-- > 0)
		i = x->next[i];
	return i < 0 ? NULL : book_run(x->b, (size_t)i);
}

/* ---- the API --------------------------------------------------------------
 */

static const struct config *
source_config(const struct face *f)
{
	return f->src->config ? f->src->config(f->src->arg) : NULL;
}

static void
job_state(const struct face *f, const struct config_job *job,
          struct face_job_state *st)
{
	*st = (struct face_job_state){-1, -1, 0};
	if (f->src->job_state)
		f->src->job_state(f->src->arg, job, st);
}

static void
w_time(struct json_writer *w, const char *key, const struct tz *zone, int64_t s)
{
	char t[64];

	json_w_key(w, key);
	if (s < 0 || util_time_iso(t, sizeof(t), zone, s, -1) < 0)
		json_w_null(w);
	else
		json_w_str(w, t);
}

static void
w_time_ms(struct json_writer *w, const char *key, int64_t ms)
{
	char t[64];

	json_w_key(w, key);
	if (ms <= 0 ||
	    util_time_iso(t, sizeof(t), NULL, ms / 1000, (int)(ms % 1000)) < 0)
		json_w_null(w);
	else
		json_w_str(w, t);
}

static void
w_run_id(struct json_writer *w, uint64_t id)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, id);
	json_w_key_str(w, "run_id", num);
}

static void
api_jobs(const struct face *f, struct face_reply *rep)
{
	const struct config *cfg = source_config(f);
	struct json_writer w;
	struct run_index *ix = index_book(f->book);

	json_w_init(&w);
	json_w_obj_open(&w);
	json_w_key(&w, "jobs");
	json_w_arr_open(&w);
	for (size_t i = 0; cfg != NULL && i < cfg->njobs; i++) {
		const struct config_job *job = &cfg->jobs[i];
		const struct face_run *last = index_run(ix, job->name, 0);
		struct face_job_state st;

		job_state(f, job, &st);
		json_w_obj_open(&w);
		json_key_text(&w, "name", job->name);
		json_w_key_str(&w, "action", action_name(job->action));
		json_key_text(&w, "schedule", job->schedule);
		json_key_text(&w, "timezone", tz_name(job->zone));
		json_key_text(&w, "account", cfg->accounts[job->account].name);
		json_w_key_bool(&w, "enabled", job->enabled);
		w_time(&w, "next", job->zone, st.next_slot);
		w_time(&w, "last_fired", NULL, st.last_fired);
		json_w_key_int(&w, "running", (int64_t)st.running);
		json_w_key(&w, "last");
		if (last == NULL) {
			json_w_null(&w);
		} else {
			json_w_obj_open(&w);
			w_run_id(&w, last->run_id);
			json_key_text(&w, "outcome", last->outcome);
			json_key_text(&w, "target", last->target);
			json_key_text(&w, "message", last->message);
			w_time_ms(&w, "end", last->end_ms);
			json_w_obj_close(&w);
		}
		json_w_obj_close(&w);
	}
	json_w_arr_close(&w);
	json_w_obj_close(&w);
	free(ix);
	reply_json(rep, 200, &w);
}

static void
api_trigger(const struct face *f, const char *name, struct face_reply *rep)
{
	struct json_writer w;
	uint64_t id = 0;
	int rc;

	if (f->src->trigger == NULL) {
		reply_error(rep, 503, "triggering is not available");
		return;
	}
	rc = f->src->trigger(f->src->arg, name, &id);
	if (rc == -ENOENT) {
		reply_error(rep, 404,
		            "no job \"%s\"; GET /api/v1/jobs lists them", name);
		return;
	}
	if (rc == -EBUSY) {
		reply_error(rep, 409,
		            "job \"%s\" is still running; try again when it "
		            "ends",
		            name);
		return;
	}
	if (rc < 0) {
		reply_error(rep, 500, "job \"%s\" could not start: %s", name,
		            strerror(-rc));
		return;
	}
	json_w_init(&w);
	json_w_obj_open(&w);
	json_key_text(&w, "job", name);
	w_run_id(&w, id);
	json_w_key_str(&w, "status", "started");
	json_w_obj_close(&w);
	reply_json(rep, 202, &w);
}

static void
w_fire(struct json_writer *w, const struct face_fire *fi)
{
	size_t count[KINSTA_SKIPPED + 1] = {0};

	json_w_obj_open(w);
	w_run_id(w, fi->run_id);
	json_key_text(w, "job", fi->job);
	json_key_text(w, "action", fi->action);
	json_w_key_bool(w, "running", fi->ended_ms == 0);
	w_time_ms(w, "started", fi->started_ms);
	w_time_ms(w, "ended", fi->ended_ms);
	if (fi->why != NULL && fi->why[0] != '\0')
		json_key_text(w, "error", fi->why);
	json_w_key(w, "targets");
	json_w_arr_open(w);
	for (size_t i = 0; i < fi->ntargets; i++) {
		const struct face_target *t = &fi->targets[i];

		if ((unsigned)t->outcome <= KINSTA_SKIPPED)
			count[t->outcome]++;
		json_w_obj_open(w);
		json_key_text(w, "env_id", t->env_id);
		json_key_text(w, "target", t->name);
		json_w_key_str(w, "outcome", kinsta_outcome_name(t->outcome));
		json_key_text(w, "op_id", t->op_id);
		json_key_text(w, "message", t->message);
		json_key_text(w, "note", t->note);
		w_time_ms(w, "started", t->started_ms);
		w_time_ms(w, "ended", t->ended_ms);
		json_w_obj_close(w);
	}
	json_w_arr_close(w);
	json_w_key(w, "count");
	json_w_obj_open(w);
	for (int o = KINSTA_RUNNING; o <= KINSTA_SKIPPED; o++)
		json_w_key_int(w, kinsta_outcome_name((enum kinsta_outcome)o),
		               (int64_t)count[o]);
	json_w_obj_close(w);
	json_w_obj_close(w);
}

static void
api_run(const struct face *f, const char *idtext, struct face_reply *rep)
{
	const struct face_fire *done;
	struct face_fire live = {0};
	struct json_writer w;
	bool ok;
	uint64_t id = parse_u64(idtext, &ok);

	if (!ok) {
		reply_error(rep, 400,
		            "run id \"%s\" is not a number; use the run_id a "
		            "trigger returned",
		            idtext);
		return;
	}
	json_w_init(&w);
	if (f->src->fire != NULL && f->src->fire(f->src->arg, id, &live) == 0) {
		w_fire(&w, &live);
		free(live.targets);
	} else if ((done = book_fire(f->book, id)) != NULL) {
		w_fire(&w, done);
	} else {
		json_w_free(&w);
		reply_error(
		    rep, 404,
		    "no run %s in flight or among the last %d that "
		    "ended; GET /api/v1/history?job=NAME has older ones",
		    idtext, FACE_BOOK_FIRES);
		return;
	}
	reply_json(rep, 200, &w);
}

/* "since": seconds since the epoch, or an ISO 8601 UTC time
 * (2026-12-06T05:00:00Z); -1 when it is neither. */
static int64_t
parse_since(const char *s)
{
	int y, mo, d, h = 0, mi = 0, se = 0, n = 0;
	bool ok;
	uint64_t v = parse_u64(s, &ok);

	if (ok)
		return v > (uint64_t)INT64_MAX / 1000 ? -1 : (int64_t)v;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &se,
	           &n) == 6 &&
	    s[n] == '\0') {
	} else if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 &&
	           s[n] == '\0') {
	} else {
		return -1;
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || se > 60 || h < 0 || mi < 0 || se < 0)
		return -1;
	/* days from civil (Howard Hinnant) */
	{
		int64_t yy = y - (mo <= 2);
		int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
		int64_t yoe = yy - era * 400;
		int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
		int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
		int64_t days = era * 146097 + doe - 719468;

		return days * 86400 + h * 3600 + mi * 60 + se;
	}
}

static bool
known_outcome(const char *o)
{
	for (int i = KINSTA_SUCCEEDED; i <= KINSTA_SKIPPED; i++)
		if (strcmp(o, kinsta_outcome_name((enum kinsta_outcome)i)) == 0)
			return true;
	return false;
}

static void
api_history(const struct face *f, const struct face_request *req,
            struct face_reply *rep)
{
	const char *job = param(req, "job"), *outcome = param(req, "outcome");
	const char *since_s = param(req, "since"),
	           *limit_s = param(req, "limit");
	int64_t since = -1, limit = HISTORY_DEFAULT_LIMIT, count = 0;
	struct buf b = {0};
	char *text = NULL;
	size_t len = 0, end;
	bool ok;
	int rc;

	if (since_s != NULL && (since = parse_since(since_s)) < 0) {
		reply_error(rep, 400,
		            "since=\"%s\": write seconds since the epoch or a "
		            "UTC time like 2026-12-06T05:00:00Z",
		            since_s);
		return;
	}
	if (outcome != NULL && !known_outcome(outcome)) {
		reply_error(
		    rep, 400,
		    "outcome=\"%s\": write succeeded, failed, timed-out "
		    "or skipped",
		    outcome);
		return;
	}
	if (limit_s != NULL) {
		uint64_t v = parse_u64(limit_s, &ok);

		if (!ok || v < 1 || v > HISTORY_MAX_LIMIT) {
			reply_error(rep, 400, "limit=\"%s\": write 1 to %d",
			            limit_s, HISTORY_MAX_LIMIT);
			return;
		}
		limit = (int64_t)v;
	}
	if (f->src->history == NULL) {
		reply_error(rep, 503, "the history is not available");
		return;
	}
	if ((rc = f->src->history(f->src->arg, &text, &len)) < 0) {
		reply_error(rep, 500, "cannot read the history: %s",
		            strerror(-rc));
		return;
	}
	buf_str(&b, "{\"runs\":[");
	/* newest first: the lines from the end */
	end = len;
	while (end > 0 && count < limit) {
		size_t start = end;
		struct json_limits lim = {.max_bytes = 65536};
		struct face_run r;
		yajl_val tree;
		char err[128];

		while (start > 0 && text[start - 1] != '\n')
			start--;
		if (end > start && json_parse(&tree, text + start, end - start,
		                              &lim, err, sizeof(err)) == 0) {
			if (YAJL_IS_OBJECT(tree) && history_run(tree, &r) &&
			    (job == NULL || strcmp(job, r.job) == 0) &&
			    (outcome == NULL ||
			     strcmp(outcome, r.outcome) == 0) &&
			    (since < 0 || r.end_ms / 1000 >= since)) {
				if (count++ > 0)
					buf_put(&b, ",", 1);
				buf_put(&b, text + start, end - start);
			}
			json_free(tree);
		}
		end = start > 0 ? start - 1 : 0;
	}
	buf_str(&b, "]}\n");
	free(text);
	reply_take(rep, 200, "application/json", &b);
}

/* ---- the status page ---------------------------------------------------- */

static const char *
outcome_color(const char *o)
{
	if (strcmp(o, "succeeded") == 0)
		return "#2e7d32";
	if (strcmp(o, "failed") == 0)
		return "#c62828";
	if (strcmp(o, "timed-out") == 0)
		return "#ef6c00";
	if (strcmp(o, "running") == 0)
		return "#1565c0";
	return "#9e9e9e";
}

static void
page_time_ms(struct buf *b, int64_t ms)
{
	char t[64];

	if (ms <= 0 || util_time_iso(t, sizeof(t), NULL, ms / 1000, -1) < 0)
		buf_str(b, "-");
	else
		buf_str(b, t);
}

/* The job's last outcomes, oldest left, as bars in an inline SVG. */
static void
page_sparkline(struct buf *b, const struct run_index *ix, const char *job)
{
	const struct face_run *picked[SPARK_RUNS], *r;
	size_t n = 0;

	while (n < SPARK_RUNS && (r = index_run(ix, job, n)) != NULL)
		picked[n++] = r;
	if (n == 0) {
		buf_str(b, "<span class=\"dim\">no runs yet</span>");
		return;
	}
	buf_printf(b,
	           "<svg class=\"spark\" width=\"%zu\" height=\"16\" "
	           "role=\"img\" aria-label=\"last %zu outcomes\">",
	           n * 7, n);
	for (size_t k = 0; k < n; k++) {
		r = picked[n - 1 - k];
		buf_printf(b,
		           "<rect x=\"%zu\" y=\"%d\" width=\"5\" height=\"%d\" "
		           "fill=\"%s\"><title>",
		           k * 7, strcmp(r->outcome, "succeeded") ? 0 : 4,
		           strcmp(r->outcome, "succeeded") ? 16 : 12,
		           outcome_color(r->outcome));
		buf_html(b, r->outcome);
		buf_str(b, " ");
		page_time_ms(b, r->end_ms);
		buf_str(b, "</title></rect>");
	}
	buf_str(b, "</svg>");
}

static void
page_outcome(struct buf *b, const char *o)
{
	buf_printf(b, "<span class=\"o\" style=\"color:%s\">",
	           outcome_color(o));
	buf_html(b, o);
	buf_str(b, "</span>");
}

static void
page(const struct face *f, const struct face_request *req,
     struct face_reply *rep)
{
	const struct config *cfg = source_config(f);
	const struct face_run *r;
	struct buf b = {0};
	uint64_t ids[64];
	size_t nids = 0, nfail = 0;
	struct run_index *ix = index_book(f->book);
	char t[64];

	buf_printf(&b,
	           "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	           "<meta charset=\"utf-8\">"
	           "<meta http-equiv=\"refresh\" content=\"%d\">"
	           "<meta name=\"viewport\" content=\"width=device-width\">"
	           "<title>kinsta-cron</title><style>"
	           "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;"
	           "color:#222}"
	           "table{border-collapse:collapse;margin-bottom:1.5em}"
	           "th,td{text-align:left;padding:.25em .8em;"
	           "border-bottom:1px solid #ddd;vertical-align:top}"
	           "th{background:#f4f4f4}.dim{color:#888}.o{font-weight:600}"
	           "code{font-size:13px}"
	           "</style></head><body>\n<h1>kinsta-cron</h1>\n",
	           PAGE_REFRESH_S);
	util_time_iso(t, sizeof(t), NULL, req->now_ms / 1000, -1);
	buf_str(&b, "<p class=\"dim\">as of ");
	buf_str(&b, t);
	if (cfg != NULL) {
		buf_str(&b, "; configuration <code>");
		buf_html(&b, cfg->path);
		buf_str(&b, "</code>");
	}
	buf_str(&b, "</p>\n");

	/* jobs */
	buf_str(&b, "<h2>Jobs</h2>\n<table id=\"jobs\"><tr><th>job</th>"
	            "<th>action</th><th>schedule</th><th>next fire</th>"
	            "<th>last outcome</th><th>recent</th><th>running</th>"
	            "</tr>\n");
	for (size_t i = 0; cfg != NULL && i < cfg->njobs; i++) {
		const struct config_job *job = &cfg->jobs[i];
		const struct face_run *last = index_run(ix, job->name, 0);
		struct face_job_state st;

		job_state(f, job, &st);
		buf_str(&b, "<tr class=\"job\"><td class=\"name\">");
		buf_html(&b, job->name);
		buf_str(&b, "</td><td>");
		buf_html(&b, action_name(job->action));
		buf_str(&b, "</td><td><code>");
		buf_html(&b, job->schedule);
		buf_str(&b, "</code> ");
		buf_html(&b, tz_name(job->zone));
		buf_str(&b, "</td><td>");
		if (!job->enabled)
			buf_str(&b, "<span class=\"dim\">disabled</span>");
		else if (st.next_slot < 0 ||
		         util_time_iso(t, sizeof(t), job->zone, st.next_slot,
		                       -1) < 0)
			buf_str(&b, "-");
		else
			buf_str(&b, t);
		buf_str(&b, "</td><td>");
		if (last == NULL)
			buf_str(&b, "<span class=\"dim\">never ran</span>");
		else
			page_outcome(&b, last->outcome);
		buf_str(&b, "</td><td>");
		page_sparkline(&b, ix, job->name);
		buf_printf(&b, "</td><td>%zu</td></tr>\n", st.running);
	}
	buf_str(&b, "</table>\n");

	/* fires in flight */
	buf_str(&b, "<h2>Runs in flight</h2>\n");
	if (f->src->fires != NULL)
		nids = f->src->fires(f->src->arg, ids,
		                     sizeof(ids) / sizeof(ids[0]));
	if (nids > sizeof(ids) / sizeof(ids[0]))
		nids = sizeof(ids) / sizeof(ids[0]);
	if (nids == 0)
		buf_str(&b, "<p class=\"dim\" id=\"inflight\">none</p>\n");
	else
		buf_str(&b, "<table id=\"inflight\"><tr><th>run</th><th>job"
		            "</th><th>started</th><th>targets</th></tr>\n");
	for (size_t i = 0; i < nids; i++) {
		struct face_fire fi = {0};
		size_t ended = 0;

		if (f->src->fire == NULL ||
		    f->src->fire(f->src->arg, ids[i], &fi) < 0)
			continue;
		for (size_t k = 0; k < fi.ntargets; k++)
			ended += fi.targets[k].outcome != KINSTA_RUNNING;
		buf_printf(&b, "<tr><td><code>%" PRIu64 "</code></td><td>",
		           fi.run_id);
		buf_html(&b, fi.job);
		buf_str(&b, "</td><td>");
		page_time_ms(&b, fi.started_ms);
		buf_printf(&b, "</td><td>%zu of %zu ended</td></tr>\n", ended,
		           fi.ntargets);
		free(fi.targets);
	}
	if (nids > 0)
		buf_str(&b, "</table>\n");

	/* failures */
	buf_str(&b, "<h2>Last failures</h2>\n");
	for (size_t i = 0; nfail < PAGE_FAILURES && (r = book_run(f->book, i));
	     i++) {
		if (strcmp(r->outcome, "failed") != 0 &&
		    strcmp(r->outcome, "timed-out") != 0)
			continue;
		if (nfail++ == 0)
			buf_str(&b,
			        "<table id=\"failures\"><tr><th>ended</th>"
			        "<th>job</th><th>target</th><th>outcome</th>"
			        "<th>message</th></tr>\n");
		buf_str(&b, "<tr class=\"failure\"><td>");
		page_time_ms(&b, r->end_ms);
		buf_str(&b, "</td><td>");
		buf_html(&b, r->job);
		buf_str(&b, "</td><td>");
		buf_html(&b, r->target);
		buf_str(&b, "</td><td>");
		page_outcome(&b, r->outcome);
		buf_str(&b, "</td><td class=\"message\">");
		buf_html(&b, r->message);
		buf_str(&b, "</td></tr>\n");
	}
	buf_str(&b, nfail
	                ? "</table>\n"
	                : "<p class=\"dim\" id=\"failures\">none lately</p>\n");

	/* budgets */
	buf_str(&b, "<h2>Rate budget</h2>\n<table id=\"budget\"><tr><th>"
	            "account</th><th>requests this minute</th><th>queued</th>"
	            "<th>paused</th></tr>\n");
	for (size_t i = 0; cfg != NULL && i < cfg->naccounts; i++) {
		struct face_budget bu;

		buf_str(&b, "<tr><td>");
		buf_html(&b, cfg->accounts[i].name);
		if (f->src->budget == NULL ||
		    f->src->budget(f->src->arg, i, &bu) < 0) {
			buf_str(&b, "</td><td colspan=\"3\" class=\"dim\">not "
			            "in use yet</td></tr>\n");
			continue;
		}
		buf_printf(&b,
		           "</td><td>%d of %d <meter min=\"0\" max=\"%d\" "
		           "value=\"%d\"></meter></td><td>%d</td><td>",
		           bu.limit - bu.remaining, bu.limit, bu.limit,
		           bu.limit - bu.remaining, bu.queued);
		if (bu.paused_until_ms > req->now_ms)
			page_time_ms(&b, bu.paused_until_ms);
		else
			buf_str(&b, "no");
		buf_str(&b, "</td></tr>\n");
	}
	buf_str(&b, "</table>\n<p class=\"dim\">The JSON API is under "
	            "<code>/api/v1/</code>; this page refreshes itself.</p>\n"
	            "</body></html>\n");
	free(ix);
	reply_take(rep, 200, "text/html; charset=utf-8", &b);
}

/* ---- routing ----------------------------------------------------------------
 */

static bool
is_method(const struct face_request *req, const char *m)
{
	return req->method != NULL && strcmp(req->method, m) == 0;
}

static bool
wrong_method(const struct face_request *req, struct face_reply *rep,
             const char *allowed)
{
	if (is_method(req, allowed) ||
	    (strcmp(allowed, "GET") == 0 && is_method(req, "HEAD")))
		return false;
	reply_error(rep, 405, "%s here; this path takes %s",
	            req->method ? req->method : "this method", allowed);
	rep->allow = strcmp(allowed, "GET") == 0 ? "GET, HEAD" : allowed;
	return true;
}

/* ---- Slack slash commands ------------------------------------------------ */

static bool
in_list(const char *const *list, size_t n, const char *a, const char *b)
{
	for (size_t i = 0; i < n; i++)
		if ((a != NULL && strcmp(list[i], a) == 0) ||
		    (b != NULL && strcmp(list[i], b) == 0))
			return true;
	return false;
}

/* A Slack message into a new w: shown to whoever typed the command
 * (ephemeral) or to the channel (in_channel); a posted one adds to what
 * is there rather than replacing the acknowledgement. */
static void
slack_json(struct json_writer *w, const char *type, const char *text)
{
	json_w_init(w);
	json_w_obj_open(w);
	json_w_key_str(w, "response_type", type);
	json_w_key_bool(w, "replace_original", false);
	json_key_text(w, "text", text);
	json_w_obj_close(w);
}

/* A message for the person who typed the command (200: Slack shows
 * only a 200's body). */
__attribute__((format(printf, 2, 3))) static void
slack_say(struct face_reply *rep, const char *fmt, ...)
{
	struct json_writer w;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	slack_json(&w, "ephemeral", msg);
	reply_json(rep, 200, &w);
}

/* ---- ad-hoc actions and the site view ----------------------------------- */

/* Fields of an ad-hoc run at most, and members of one group. */
#define ACTION_FIELDS_MAX 32

/* The allowed actions, ", "-separated. */
static void
allowed_list(const struct config *cfg, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int a = 0; a < ACTION_COUNT && n < len; a++)
		if (cfg->listen.allow_actions & CONFIG_ACTION_BIT(a))
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
			                      n ? ", " : "",
			                      action_name((enum action_id)a));
	if (buf[0] == '\0')
		snprintf(buf, len, "none (listen.allow_actions is empty)");
}

/* Is name an action allow_actions permits?  *id is its id; else why not
 * in err. */
static bool
action_allowed(const struct config *cfg, const char *name, enum action_id *id,
               char *err, size_t errlen)
{
	char list[512];
	int a = action_find(name);

	allowed_list(cfg, list, sizeof(list));
	if (a < 0) {
		snprintf(err, errlen, "no action \"%.64s\"; allowed here: %s",
		         name, list);
		return false;
	}
	if (!(cfg->listen.allow_actions & CONFIG_ACTION_BIT(a))) {
		snprintf(err, errlen,
		         "action \"%s\" is not allowed here (allowed: %s); "
		         "listen.allow_actions in kinsta-cron.conf(5) says "
		         "which are",
		         name, list);
		return false;
	}
	*id = (enum action_id)a;
	return true;
}

/* The fields' storage: lists and groups, freed together. */
struct fields {
	struct config_value v[ACTION_FIELDS_MAX];
	size_t n;
	void *owned[ACTION_FIELDS_MAX];
	size_t nowned;
};

static void
fields_free(struct fields *fs)
{
	for (size_t i = 0; i < fs->nowned; i++)
		free(fs->owned[i]);
	fs->nowned = 0;
}

/* One JSON value as a field (a group only at the top, depth 0). */
static int
field_of(struct fields *fs, const char *key, yajl_val x, int depth,
         struct config_value *out, char *err, size_t errlen)
{
	*out = (struct config_value){.key = key};
	if (YAJL_IS_STRING(x)) {
		out->kind = CONFIG_VALUE_STRING;
		out->str = YAJL_GET_STRING(x);
	} else if (YAJL_IS_INTEGER(x)) {
		out->kind = CONFIG_VALUE_INT;
		out->num = YAJL_GET_INTEGER(x);
	} else if (YAJL_IS_TRUE(x) || YAJL_IS_FALSE(x)) {
		out->kind = CONFIG_VALUE_BOOL;
		out->num = YAJL_IS_TRUE(x);
	} else if (YAJL_IS_ARRAY(x)) {
		size_t n = json_arr_len(x);
		const char **list = malloc((n ? n : 1) * sizeof(*list));

		if (list == NULL || fs->nowned == ACTION_FIELDS_MAX) {
			free(list);
			snprintf(err, errlen, "too many lists");
			return -EINVAL;
		}
		fs->owned[fs->nowned++] = list;
		for (size_t i = 0; i < n; i++) {
			yajl_val e = json_arr_at(x, i);

			if (!YAJL_IS_STRING(e)) {
				snprintf(err, errlen,
				         "\"%.64s\": a list holds strings only",
				         key);
				return -EINVAL;
			}
			list[i] = YAJL_GET_STRING(e);
		}
		out->kind = CONFIG_VALUE_LIST;
		out->list = list;
		out->nlist = n;
	} else if (YAJL_IS_OBJECT(x) && depth == 0) {
		size_t n = json_obj_len(x);
		struct config_value *m;

		if (n > ACTION_FIELDS_MAX || fs->nowned == ACTION_FIELDS_MAX ||
		    (m = calloc(n ? n : 1, sizeof(*m))) == NULL) {
			snprintf(err, errlen, "\"%.64s\": too many keys", key);
			return -EINVAL;
		}
		fs->owned[fs->nowned++] = m;
		for (size_t i = 0; i < n; i++)
			if (field_of(fs, json_obj_key(x, i), json_obj_at(x, i),
			             1, &m[i], err, errlen) < 0)
				return -EINVAL;
		out->kind = CONFIG_VALUE_GROUP;
		out->members = m;
		out->nmembers = n;
	} else {
		snprintf(err, errlen,
		         "\"%.64s\": expected a string, an integer, true or "
		         "false, a list of strings%s",
		         key, depth == 0 ? " or an object of those" : "");
		return -EINVAL;
	}
	return 0;
}

/* Start an ad-hoc run: 0 with *run_id, or a status (400, 409, 429 with
 * *retry, 500, 503) with why in err. */
static int
start_action(const struct face *f, enum action_id id,
             const struct config_value *v, size_t n, const char *by,
             const char *url, uint64_t *run_id, char *err, size_t errlen,
             int64_t *retry)
{
	int rc;

	err[0] = '\0';
	*retry = 0;
	if (f->src->action == NULL) {
		snprintf(err, errlen, "ad-hoc runs are not available");
		return 503;
	}
	rc = f->src->action(f->src->arg, id, v, n, by, url, run_id, err, errlen,
	                    retry);
	if (rc == 0)
		return 0;
	if (err[0] == '\0')
		snprintf(err, errlen, "the run could not start: %s",
		         strerror(-rc));
	if (*retry <= 0)
		*retry = 60;
	return rc == -EINVAL   ? 400
	       : rc == -EBUSY  ? 409
	       : rc == -EAGAIN ? 429
	                       : 500;
}

/* POST /api/v1/actions {"action": NAME, target..., parameters...} */
static void
api_action(const struct face *f, const struct face_request *req,
           struct face_reply *rep)
{
	const struct config *cfg = source_config(f);
	struct fields fs = {0};
	struct json_writer w;
	yajl_val doc = NULL, name;
	enum action_id id;
	char err[512];
	uint64_t run_id = 0;
	int64_t retry;
	int status;

	if (cfg == NULL) {
		reply_error(rep, 503, "no configuration loaded");
		return;
	}
	if (json_parse(&doc, req->body ? req->body : "", req->body_len, NULL,
	               err, sizeof(err)) < 0) {
		reply_error(rep, 400,
		            "the body is not JSON (%s); send {\"action\": "
		            "\"clear-cache\", \"site\": \"NAME\"}",
		            err);
		return;
	}
	name = json_get(doc, "action", NULL);
	if (!YAJL_IS_OBJECT(doc) || !YAJL_IS_STRING(name)) {
		reply_error(
		    rep, 400,
		    "send a JSON object with \"action\" (a string): "
		    "{\"action\": \"clear-cache\", \"site\": \"NAME\"}");
		goto out;
	}
	if (!action_allowed(cfg, YAJL_GET_STRING(name), &id, err,
	                    sizeof(err))) {
		reply_error(rep,
		            action_find(YAJL_GET_STRING(name)) < 0 ? 400 : 403,
		            "%s", err);
		goto out;
	}
	for (size_t i = 0; i < json_obj_len(doc); i++) {
		const char *key = json_obj_key(doc, i);

		if (strcmp(key, "action") == 0)
			continue;
		if (fs.n == ACTION_FIELDS_MAX) {
			reply_error(rep, 400, "more than %d fields",
			            ACTION_FIELDS_MAX);
			goto out;
		}
		if (field_of(&fs, key, json_obj_at(doc, i), 0, &fs.v[fs.n++],
		             err, sizeof(err)) < 0) {
			reply_error(rep, 400, "%s", err);
			goto out;
		}
	}
	if ((status = start_action(f, id, fs.v, fs.n, "api", NULL, &run_id, err,
	                           sizeof(err), &retry)) != 0) {
		reply_error(rep, status, "%s", err);
		if (status == 429)
			rep->retry_after_s = retry;
		goto out;
	}
	json_w_init(&w);
	json_w_obj_open(&w);
	json_w_key_str(&w, "action", action_name(id));
	w_run_id(&w, run_id);
	json_w_key_str(&w, "status", "started");
	json_w_obj_close(&w);
	reply_json(rep, 202, &w);
out:
	fields_free(&fs);
	json_free(doc);
}

/* The account called name (NULL: the only one) into *index; else why
 * not in err. */
static bool
pick_account(const struct config *cfg, const char *name, size_t *index,
             char *err, size_t errlen)
{
	if (name == NULL || name[0] == '\0') {
		if (cfg->naccounts == 1) {
			*index = 0;
			return true;
		}
		snprintf(err, errlen,
		         "there are %zu accounts; say which (account=NAME, "
		         "or ACCOUNT/SITE in Slack)",
		         cfg->naccounts);
		return false;
	}
	for (size_t i = 0; i < cfg->naccounts; i++)
		if (strcmp(cfg->accounts[i].name, name) == 0) {
			*index = i;
			return true;
		}
	snprintf(err, errlen, "there is no account \"%.64s\"", name);
	return false;
}

/* GET /api/v1/sites/NAME[?account=A]: pending until the lookup ends. */
static void
api_site(const struct face *f, const struct face_request *req, const char *site,
         struct face_reply *rep)
{
	const struct config *cfg = source_config(f);
	size_t account;
	char err[512];
	int rc;

	if (cfg == NULL || f->src->site == NULL) {
		reply_error(rep, 503, "site lookups are not available");
		return;
	}
	if (!pick_account(cfg, param(req, "account"), &account, err,
	                  sizeof(err))) {
		reply_error(rep, 400, "%s", err);
		return;
	}
	rc = f->src->site(f->src->arg, account, site, NULL, err, sizeof(err));
	if (rc == -EAGAIN) {
		reply_error(rep, 429, "%s", err);
		rep->retry_after_s = 10;
	} else if (rc < 0) {
		reply_error(rep, rc == -EINVAL ? 400 : 500, "%s", err);
	} else {
		rep->pending = true;
	}
}

/* Does a target name ("site/env") belong to site? */
static bool
of_site(const char *name, const char *site)
{
	size_t n = strlen(site);

	return name != NULL && strncmp(name, site, n) == 0 && name[n] == '/';
}

#define SITE_RUNS     20
#define SITE_BACKUPS  5
#define SITE_INFLIGHT 16

static void
w_updates(struct json_writer *w, const char *key, yajl_val list)
{
	json_w_key(w, key);
	json_w_arr_open(w);
	for (size_t i = 0; i < json_arr_len(list); i++) {
		yajl_val u = json_arr_at(list, i);

		json_w_obj_open(w);
		json_key_text(w, "name", json_str(u, "name", NULL));
		json_key_text(w, "version", json_str(u, "version", NULL));
		json_key_text(w, "update_version",
		              json_str(u, "update_version", NULL));
		json_w_obj_close(w);
	}
	json_w_arr_close(w);
}

/* The backups newest first, at most SITE_BACKUPS. */
static void
w_backups(struct json_writer *w, yajl_val list)
{
	size_t n = json_arr_len(list), used[SITE_BACKUPS], k = 0;

	json_w_key(w, "latest_backups");
	json_w_arr_open(w);
	for (; k < SITE_BACKUPS && k < n; k++) {
		size_t best = n;
		int64_t bt = -1;

		for (size_t i = 0; i < n; i++) {
			int64_t t = 0;
			bool taken = false;

			for (size_t j = 0; j < k; j++)
				taken |= used[j] == i;
			json_int(json_arr_at(list, i), &t, "created_ms", NULL);
			if (!taken && t > bt) {
				bt = t;
				best = i;
			}
		}
		if (best == n)
			break;
		used[k] = best;
		json_w_obj_open(w);
		json_key_text(w, "name",
		              json_str(json_arr_at(list, best), "name", NULL));
		json_key_text(w, "type",
		              json_str(json_arr_at(list, best), "type", NULL));
		w_time_ms(w, "created", bt);
		json_w_obj_close(w);
	}
	json_w_arr_close(w);
}

/* The site's JSON: its environments, updates, backups, runs. */
static void
site_json(const struct face *f, const char *site, yajl_val s, yajl_val doc,
          struct face_reply *rep)
{
	yajl_val envs = json_arr(s, "environments", NULL);
	uint64_t ids[64];
	size_t nids, shown = 0;
	struct json_writer w;

	json_w_init(&w);
	json_w_obj_open(&w);
	json_key_text(&w, "site", site);
	json_key_text(&w, "id", json_str(s, "id", NULL));
	json_key_text(&w, "display_name", json_str(s, "display_name", NULL));
	json_key_text(&w, "account", json_str(doc, "account", NULL));
	json_w_key(&w, "labels");
	if (json_arr(s, "labels", NULL) != NULL)
		json_w_tree(&w, json_arr(s, "labels", NULL));
	else {
		json_w_arr_open(&w);
		json_w_arr_close(&w);
	}
	json_w_key(&w, "environments");
	json_w_arr_open(&w);
	for (size_t i = 0; i < json_arr_len(envs); i++) {
		yajl_val e = json_arr_at(envs, i);
		const char *id = json_str(e, "id", NULL);
		yajl_val d = report_env_details(doc, id);
		int64_t n = 0;

		json_w_obj_open(&w);
		json_key_text(&w, "id", id);
		json_key_text(&w, "name", json_str(e, "name", NULL));
		json_key_text(&w, "php", json_str(e, "php", NULL));
		json_key_text(&w, "wordpress", json_str(e, "wordpress", NULL));
		json_key_text(&w, "primary_domain",
		              json_str(e, "primary_domain", NULL));
		w_updates(&w, "plugin_updates",
		          json_arr(d, "plugin_updates", NULL));
		w_updates(&w, "theme_updates",
		          json_arr(d, "theme_updates", NULL));
		json_int(d, &n, "backups", NULL);
		json_w_key_int(&w, "backups", n);
		w_backups(&w, json_arr(d, "backup_list", NULL));
		json_w_obj_close(&w);
	}
	json_w_arr_close(&w);
	/* the runs that touched it, newest first, from the book */
	json_w_key(&w, "last_runs");
	json_w_arr_open(&w);
	for (size_t i = 0; i < f->book->nruns && shown < SITE_RUNS; i++) {
		const struct face_run *r = book_run(f->book, i);

		if (!of_site(r->target, site))
			continue;
		shown++;
		json_w_obj_open(&w);
		json_key_text(&w, "job", r->job);
		json_key_text(&w, "action", r->action);
		json_key_text(&w, "target", r->target);
		json_key_text(&w, "outcome", r->outcome);
		json_key_text(&w, "operation_id", r->op_id);
		w_run_id(&w, r->run_id);
		w_time_ms(&w, "started", r->start_ms);
		w_time_ms(&w, "ended", r->end_ms);
		if (r->message && r->message[0])
			json_key_text(&w, "message", r->message);
		json_w_obj_close(&w);
	}
	json_w_arr_close(&w);
	json_w_key(&w, "in_flight");
	json_w_arr_open(&w);
	nids = f->src->fires ? f->src->fires(f->src->arg, ids, 64) : 0;
	if (nids > 64)
		nids = 64;
	for (size_t i = 0, n = 0; i < nids && n < SITE_INFLIGHT; i++) {
		struct face_fire fi;

		if (f->src->fire == NULL ||
		    f->src->fire(f->src->arg, ids[i], &fi) < 0)
			continue;
		for (size_t k = 0; k < fi.ntargets; k++) {
			const struct face_target *t = &fi.targets[k];

			if (!of_site(t->name, site) ||
			    t->outcome != KINSTA_RUNNING)
				continue;
			n++;
			json_w_obj_open(&w);
			json_key_text(&w, "job", fi.job);
			json_key_text(&w, "action", fi.action);
			json_key_text(&w, "target", t->name);
			json_key_text(&w, "operation_id", t->op_id);
			w_run_id(&w, fi.run_id);
			w_time_ms(&w, "started", t->started_ms);
			json_w_obj_close(&w);
		}
		free(fi.targets);
	}
	json_w_arr_close(&w);
	json_w_obj_close(&w);
	reply_json(rep, 200, &w);
}

/* v's string member key, or "?". */
static const char *
str_or(yajl_val v, const char *key)
{
	const char *s = json_str(v, key, NULL);

	return s != NULL ? s : "?";
}

/* The same for Slack: one message. */
static void
site_slack(const struct face *f, const char *site, yajl_val s, yajl_val doc,
           struct face_reply *rep)
{
	yajl_val envs = json_arr(s, "environments", NULL);
	struct buf b = {0};
	struct json_writer w;
	size_t shown = 0;

	buf_printf(&b, "*%s*", site);
	for (size_t i = 0; i < json_arr_len(envs); i++) {
		yajl_val e = json_arr_at(envs, i);
		const char *id = json_str(e, "id", NULL);
		yajl_val d = report_env_details(doc, id);
		yajl_val pu = json_arr(d, "plugin_updates", NULL);
		yajl_val tu = json_arr(d, "theme_updates", NULL);
		int64_t latest = 0, n = 0;
		const char *v;

		buf_printf(&b, "\n• %s:", str_or(e, "name"));
		if ((v = json_str(e, "php", NULL)) != NULL)
			buf_printf(&b, " PHP %.32s,", v);
		if ((v = json_str(e, "wordpress", NULL)) != NULL)
			buf_printf(&b, " WordPress %.32s,", v);
		buf_printf(&b, " %zu plugin and %zu theme updates pending",
		           json_arr_len(pu), json_arr_len(tu));
		for (size_t k = 0; k < json_arr_len(pu) && k < 5; k++) {
			yajl_val u = json_arr_at(pu, k);

			buf_printf(&b, "%s%.64s %.32s→%.32s", k ? ", " : " (",
			           str_or(u, "name"), str_or(u, "version"),
			           str_or(u, "update_version"));
		}
		if (json_arr_len(pu) > 0)
			buf_printf(&b, "%s)",
			           json_arr_len(pu) > 5 ? ", …" : "");
		json_int(d, &n, "backups", NULL);
		json_int(d, &latest, "latest_backup_ms", NULL);
		buf_printf(&b, "; %lld backups", (long long)n);
		if (latest > 0) {
			buf_printf(&b, ", the latest ");
			page_time_ms(&b, latest);
		}
	}
	for (size_t i = 0; i < f->book->nruns && shown < 5; i++) {
		const struct face_run *r = book_run(f->book, i);

		if (!of_site(r->target, site))
			continue;
		buf_printf(&b, "%s%s %s on %s: %s",
		           shown++ ? "\n  " : "\nLast runs:\n  ", r->job,
		           r->action, r->target, r->outcome);
	}
	if (b.oom) {
		free(b.p);
		reply_error(rep, 500, "out of memory");
		return;
	}
	slack_json(&w, "ephemeral", b.p);
	free(b.p);
	reply_json(rep, 200, &w);
}

void
face_site_answer(const struct face *f, const char *site, const char *doc,
                 size_t len, const char *why, bool slack,
                 struct face_reply *rep)
{
	yajl_val tree = NULL, sites, s = NULL;
	char err[256];

	memset(rep, 0, sizeof(*rep));
	if (doc == NULL ||
	    json_parse(&tree, doc, len, NULL, err, sizeof(err)) < 0) {
		if (slack)
			slack_say(rep, "Could not look %s up: %s", site,
			          why ? why : "no answer");
		else
			reply_error(rep, 502,
			            "could not look the site up: %s; try again",
			            why ? why : "no answer from Kinsta");
		goto out;
	}
	sites = json_arr(tree, "sites", NULL);
	for (size_t i = 0; i < json_arr_len(sites) && s == NULL; i++) {
		const char *n = json_str(json_arr_at(sites, i), "name", NULL);

		if (n != NULL && strcmp(n, site) == 0)
			s = json_arr_at(sites, i);
	}
	if (s == NULL) {
		if (slack)
			slack_say(rep, "There is no site \"%s\" in account %s.",
			          site,
			          json_str(tree, "account", NULL)
			              ? json_str(tree, "account", NULL)
			              : "?");
		else
			reply_error(rep, 404,
			            "no site \"%s\" in account %s; the site's "
			            "name is the one in MyKinsta's URL",
			            site,
			            json_str(tree, "account", NULL)
			                ? json_str(tree, "account", NULL)
			                : "?");
		goto out;
	}
	if (slack)
		site_slack(f, site, s, tree, rep);
	else
		site_json(f, site, s, tree, rep);
out:
	json_free(tree);
}

bool
face_slack_url_ok(const char *url)
{
	static const char slack[] = "https://hooks.slack.com/";

	if (url == NULL || !util_url_allowed(url))
		return false;
	return strncmp(url, slack, sizeof(slack) - 1) == 0 ||
	       strncmp(url, "http://", 7) == 0; /* loopback: the check above */
}

/* Does the signature v0=HEX match HMAC(secret, "v0:" ts ":" body)? */
static bool
slack_signed(const struct face *f, const struct face_request *req,
             const char *ts)
{
	static const char hex[] = "0123456789abcdef";
	const char *sig = req->slack_signature;
	unsigned char mac[32];
	char want[64];
	struct buf base = {0};
	int rc;

	if (sig == NULL || strncmp(sig, "v0=", 3) != 0 || f->src->hmac == NULL)
		return false;
	buf_str(&base, "v0:");
	buf_str(&base, ts);
	buf_str(&base, ":");
	buf_put(&base, req->body ? req->body : "", req->body_len);
	if (base.oom) {
		free(base.p);
		return false;
	}
	rc = f->src->hmac(f->src->arg, f->slack_secret, f->slack_secret_len,
	                  base.p, base.len, mac);
	free(base.p);
	if (rc < 0)
		return false;
	for (size_t i = 0; i < 32; i++) {
		want[2 * i] = hex[mac[i] >> 4];
		want[2 * i + 1] = hex[mac[i] & 15];
	}
	return same_secret(sig + 3, strlen(sig + 3), want, sizeof(want));
}

static const char slack_help[] =
    "kinsta-cron commands (SITE: the site's name, or ACCOUNT/SITE when "
    "there are several accounts; ENV: live unless given):\n"
    "`status SITE`: its environments, PHP and WordPress, pending updates, "
    "backups, last runs\n"
    "`clear-cache SITE [ENV]`, `restart-php SITE [ENV]`, "
    "`backup SITE [ENV]`: the outcome is posted here when it ends\n"
    "`run JOB`: fire a configured job now, likewise\n"
    "`help`: this text";

/* SITE or ACCOUNT/SITE of a command into *account and site; false with
 * the reason said to the user. */
static bool
slack_site(const struct config *cfg, char *arg, size_t *account,
           const char **site, struct face_reply *rep)
{
	char *slash = strchr(arg, '/'), err[256];

	*site = arg;
	if (slash != NULL) {
		*slash = '\0';
		*site = slash + 1;
	}
	if (!pick_account(cfg, slash ? arg : NULL, account, err, sizeof(err))) {
		slack_say(rep, "%s.", err);
		return false;
	}
	return true;
}

/* `clear-cache SITE [ENV]` and the like: an ad-hoc run whose outcome goes
 * to url. */
static void
slack_action(const struct face *f, const struct config *cfg, const char *word,
             char *arg, const char *env, const char *url,
             struct face_reply *rep)
{
	struct config_value v[3];
	enum action_id id;
	const char *site;
	size_t account, n = 0;
	uint64_t run_id = 0;
	int64_t retry;
	char err[512];

	if (!action_allowed(cfg, word, &id, err, sizeof(err))) {
		slack_say(rep, "%s", err);
		return;
	}
	if (arg[0] == '\0') {
		slack_say(rep, "Which site? `%s SITE [ENV]`", word);
		return;
	}
	if (!slack_site(cfg, arg, &account, &site, rep))
		return;
	v[n++] = (struct config_value){
	    .key = "site", .kind = CONFIG_VALUE_STRING, .str = site};
	v[n++] = (struct config_value){.key = "environment",
	                               .kind = CONFIG_VALUE_STRING,
	                               .str = env[0] ? env : "live"};
	v[n++] = (struct config_value){.key = "account",
	                               .kind = CONFIG_VALUE_STRING,
	                               .str = cfg->accounts[account].name};
	if (start_action(f, id, v, n, "slack", url, &run_id, err, sizeof(err),
	                 &retry) != 0) {
		slack_say(rep, "%s %s/%s was not started: %s", word, site,
		          env[0] ? env : "live", err);
		return;
	}
	slack_say(rep,
	          "Started %s on %s/%s, run %" PRIu64
	          "; its outcome will be posted here when it ends.",
	          word, site, env[0] ? env : "live", run_id);
}

/* `status SITE`: looked up, then posted to url. */
static void
slack_status(const struct face *f, const struct config *cfg, char *arg,
             const char *url, struct face_reply *rep)
{
	const char *site;
	size_t account;
	char err[512];
	int rc;

	if (arg[0] == '\0') {
		slack_say(rep, "Which site? `status SITE`");
		return;
	}
	if (!slack_site(cfg, arg, &account, &site, rep))
		return;
	rc = f->src->site ? f->src->site(f->src->arg, account, site, url, err,
	                                 sizeof(err))
	                  : -ENOSYS;
	if (rc < 0)
		slack_say(rep, "Could not look %s up: %s", site,
		          rc == -ENOSYS ? "not available" : err);
	else
		slack_say(rep, "Looking %s up; the answer follows here.", site);
}

static void
slack_command(const struct face *f, const struct face_request *req,
              struct face_reply *rep)
{
	const struct config *cfg = source_config(f);
	const struct config_slack *sc = cfg ? &cfg->slack : NULL;
	struct face_request form = {0};
	const char *ts = req->slack_timestamp, *user, *user_name, *chan;
	const char *chan_name, *text, *url;
	char *copy, word[64], arg[256], env[64];
	uint64_t id;
	bool ok;
	int64_t t, now = req->now_ms / 1000;
	int rc, n;

	if (sc == NULL || !sc->enabled || f->slack_secret == NULL) {
		reply_error(rep, 404,
		            "Slack commands are off: see slack in "
		            "kinsta-cron.conf(5)");
		return;
	}
	if (wrong_method(req, rep, "POST"))
		return;
	t = (int64_t)parse_u64(ts, &ok);
	if (!ok || t > now + FACE_SLACK_MAX_AGE_S ||
	    t < now - FACE_SLACK_MAX_AGE_S) {
		reply_error(rep, 401,
		            "X-Slack-Request-Timestamp is missing or more than "
		            "five minutes from now");
		return;
	}
	if (!slack_signed(f, req, ts)) {
		reply_error(rep, 401,
		            "X-Slack-Signature does not match: check the "
		            "signing secret");
		return;
	}
	if ((copy = malloc(req->body_len + 1)) == NULL) {
		reply_error(rep, 500, "out of memory");
		return;
	}
	if (req->body_len > 0)
		memcpy(copy, req->body, req->body_len);
	copy[req->body_len] = '\0';
	face_query_parse(&form, copy, req->body_len + 1);
	user = param(&form, "user_id");
	user_name = param(&form, "user_name");
	chan = param(&form, "channel_id");
	chan_name = param(&form, "channel_name");
	text = param(&form, "text");
	url = param(&form, "response_url");
	if (!in_list(sc->allow_users, sc->nallow_users, user, user_name)) {
		slack_say(rep, "You are not allowed to use kinsta-cron: ask "
		               "its administrator to add your user id to "
		               "slack.allow_users.");
		goto out;
	}
	if (sc->nallow_channels > 0 &&
	    !in_list(sc->allow_channels, sc->nallow_channels, chan,
	             chan_name)) {
		slack_say(rep, "kinsta-cron does not take commands in this "
		               "channel (slack.allow_channels).");
		goto out;
	}
	word[0] = arg[0] = env[0] = '\0';
	n = text ? sscanf(text, " %63s %255s %63s", word, arg, env) : 0;
	if (n <= 0 || strcmp(word, "help") == 0) {
		slack_say(rep, "%s", slack_help);
		goto out;
	}
	if (strcmp(word, "run") != 0 && strcmp(word, "status") != 0 &&
	    strcmp(word, "clear-cache") != 0 &&
	    strcmp(word, "restart-php") != 0 && strcmp(word, "backup") != 0) {
		slack_say(rep, "Unknown command \"%s\".\n%s", word, slack_help);
		goto out;
	}
	if (!face_slack_url_ok(url)) {
		slack_say(rep, "The command came without a usable "
		               "response_url; nothing was started.");
		goto out;
	}
	if (strcmp(word, "status") == 0) {
		slack_status(f, cfg, arg, url, rep);
		goto out;
	}
	if (strcmp(word, "run") != 0) {
		slack_action(f, cfg, word, arg, env, url, rep);
		goto out;
	}
	if (n < 2) {
		slack_say(rep, "Which job? `run JOB`");
		goto out;
	}
	rc = f->src->slack_run ? f->src->slack_run(f->src->arg, arg, url, &id)
	                       : -ENOSYS;
	if (rc == -ENOENT)
		slack_say(rep, "There is no job \"%s\".", arg);
	else if (rc == -EBUSY)
		slack_say(rep,
		          "Job %s is still running; try again when it ends.",
		          arg);
	else if (rc < 0)
		slack_say(rep, "Job %s could not start: %s.", arg,
		          strerror(-rc));
	else
		slack_say(rep,
		          "Started job %s, run %" PRIu64
		          "; its outcome will be posted here when it ends.",
		          arg, id);
out:
	free(copy);
}

char *
face_slack_outcome(const struct face_fire *fi, size_t *len)
{
	struct json_writer w;
	struct buf b = {0}, text = {0};
	size_t count[KINSTA_SKIPPED + 1] = {0};
	const char *doc;
	size_t dlen;

	for (size_t i = 0; i < fi->ntargets; i++)
		if ((unsigned)fi->targets[i].outcome <= KINSTA_SKIPPED)
			count[fi->targets[i].outcome]++;
	buf_printf(&text, "Job %s, run %" PRIu64 ", ended in %.1f s: ", fi->job,
	           fi->run_id,
	           (double)(fi->ended_ms - fi->started_ms) / 1000.0);
	if (fi->ntargets == 0)
		buf_printf(&text, "failed: %s", fi->why ? fi->why : "");
	else
		buf_printf(&text,
		           "%zu succeeded, %zu failed, %zu timed out, "
		           "%zu skipped",
		           count[KINSTA_SUCCEEDED], count[KINSTA_FAILED],
		           count[KINSTA_TIMED_OUT], count[KINSTA_SKIPPED]);
	for (size_t i = 0; i < fi->ntargets && i < 20; i++) {
		const struct face_target *t = &fi->targets[i];

		buf_printf(&text, "\n• %s: %s",
		           t->name && t->name[0] ? t->name : t->env_id,
		           kinsta_outcome_name(t->outcome));
		if (t->op_id && t->op_id[0])
			buf_printf(&text, ", operation %s", t->op_id);
		buf_printf(&text, ", %.1f s",
		           (double)(t->ended_ms - t->started_ms) / 1000.0);
		if (t->message && t->message[0] &&
		    t->outcome != KINSTA_SUCCEEDED)
			buf_printf(&text, ": %.300s", t->message);
	}
	if (text.oom) {
		free(text.p);
		return NULL;
	}
	slack_json(&w, "in_channel", text.p);
	free(text.p);
	if (json_w_finish(&w, &doc, &dlen) == 0)
		buf_put(&b, doc, dlen);
	json_w_free(&w);
	if (b.oom || b.p == NULL) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* GET /metrics: the same text as the metrics textfile, for Prometheus to
 * scrape (with the token as its bearer_token). */
static void
metrics(const struct face *f, struct face_reply *rep)
{
	char *text = NULL;
	size_t len = 0;

	if (f->src->metrics == NULL ||
	    f->src->metrics(f->src->arg, &text, &len) < 0) {
		reply_error(rep, 503,
		            "the metrics cannot be rendered now; try "
		            "again");
		return;
	}
	rep->status = 200;
	rep->type = "text/plain; version=0.0.4; charset=utf-8";
	rep->body = text;
	rep->len = len;
}

void
face_handle(const struct face *f, const struct face_request *req,
            struct face_reply *rep)
{
	static const char api[] = "/api/v1/";
	const char *path = req->path ? req->path : "";
	char name[256];

	memset(rep, 0, sizeof(*rep));
	/* Slack signs its requests instead of sending the token */
	if (strcmp(path, "/slack/commands") == 0) {
		slack_command(f, req, rep);
		return;
	}
	if (!face_authorized(f->token, req->authorization)) {
		reply_error(rep, 401,
		            "send the API token: Authorization: Bearer TOKEN "
		            "(or HTTP Basic with the token as the password)");
		rep->challenge = true;
		return;
	}
	if (strcmp(path, "/") == 0) {
		if (!wrong_method(req, rep, "GET"))
			page(f, req, rep);
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		if (!wrong_method(req, rep, "GET"))
			metrics(f, rep);
		return;
	}
	if (strncmp(path, api, sizeof(api) - 1) != 0) {
		reply_error(rep, 404,
		            "no page %.200s; the status page is / and the API "
		            "is under /api/v1/",
		            req->path ? req->path : "");
		return;
	}
	path += sizeof(api) - 1;
	if (strcmp(path, "jobs") == 0) {
		if (!wrong_method(req, rep, "GET"))
			api_jobs(f, rep);
		return;
	}
	if (strcmp(path, "history") == 0) {
		if (!wrong_method(req, rep, "GET"))
			api_history(f, req, rep);
		return;
	}
	if (strncmp(path, "jobs/", 5) == 0) {
		const char *n = path + 5, *slash = strchr(n, '/');
		size_t len = slash ? (size_t)(slash - n) : 0;

		if (slash == NULL || strcmp(slash, "/trigger") != 0 ||
		    len == 0) {
			reply_error(rep, 404,
			            "no such path; trigger a job with POST "
			            "/api/v1/jobs/NAME/trigger");
			return;
		}
		if (len >= sizeof(name)) {
			reply_error(rep, 404, "no job by so long a name");
			return;
		}
		memcpy(name, n, len);
		name[len] = '\0';
		if (!wrong_method(req, rep, "POST"))
			api_trigger(f, name, rep);
		return;
	}
	if (strcmp(path, "actions") == 0) {
		if (!wrong_method(req, rep, "POST"))
			api_action(f, req, rep);
		return;
	}
	if (strncmp(path, "sites/", 6) == 0) {
		const char *n = path + 6;

		if (n[0] == '\0' || strchr(n, '/') != NULL ||
		    strlen(n) >= sizeof(name)) {
			reply_error(rep, 404,
			            "no such path; look a site up with GET "
			            "/api/v1/sites/NAME");
			return;
		}
		if (!wrong_method(req, rep, "GET"))
			api_site(f, req, n, rep);
		return;
	}
	if (strncmp(path, "runs/", 5) == 0) {
		if (!wrong_method(req, rep, "GET")) {
			snprintf(name, sizeof(name), "%s", path + 5);
			api_run(f, name, rep);
		}
		return;
	}
	reply_error(rep, 404,
	            "no such API path; there are jobs, jobs/NAME/trigger, "
	            "runs/ID, history, actions and sites/NAME under "
	            "/api/v1/");
}
