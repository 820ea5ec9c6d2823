/*
 * state: state.json (atomic rewrite, corrupt files moved aside),
 * history.jsonl (one write(2) per line) and the state_dir check.  See
 * state.h for the file formats and the durability choices.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "mapmem.h"
#include "state.h"
#include "util.h"

#define STATE_FILE   "state.json"
#define HISTORY_FILE "history.jsonl"

/* ------------------------------------------------------------------ */
/* Text: the JSON writer refuses invalid UTF-8 and would then lose the
 * whole document, while names cut to a fixed size by other modules may
 * end inside a character.  Such bytes become U+FFFD instead. */

/* Key and string value S[0..LEN), repaired if it is not valid UTF-8. */
static int
w_text(struct json_writer *w, const char *key, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *fixed;
	size_t i, o = 0;
	int ret;

	if (util_text_prefix(s, len) == len)
		return json_w_key(w, key) ? w->err : json_w_strn(w, s, len);
	if (len > SIZE_MAX / 3 || (fixed = malloc(len * 3)) == NULL)
		return -ENOMEM;
	for (i = 0; i < len;) {
		size_t k = p[i] == 0 ? 0 : util_utf8_len(p + i, len - i);

		if (k == 0) {
			memcpy(fixed + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(fixed + o, s + i, k);
		o += k;
		i += k;
	}
	ret = json_w_key(w, key);
	if (ret == 0)
		ret = json_w_strn(w, fixed, o);
	free(fixed);
	return ret;
}

/* A fixed-size field of SIZE bytes. */
static int
w_field(struct json_writer *w, const char *key, const char *s, size_t size)
{
	return w_text(w, key, s, strnlen(s, size));
}

/* A string that may be NULL (written as null). */
static int
w_opt(struct json_writer *w, const char *key, const char *s)
{
	if (s == NULL)
		return json_w_key_null(w, key);
	return w_text(w, key, s, strlen(s));
}

static int
w_u64(struct json_writer *w, const char *key, uint64_t n)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, n);
	return json_w_key_str(w, key, num);
}

/* ------------------------------------------------------------------ */
/* The index over last[]: open addressing with linear probing, at most
 * half full, so that 10,000 jobs looked up at startup cost O(n). */

static size_t
hash(const char *s)
{
	uint64_t h = 14695981039346656037u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return (size_t)(h ^ (h >> 32));
}

static void
index_insert(struct state *st, size_t pos)
{
	size_t mask = st->nindex - 1, i = hash(state_last_job(st, pos)) & mask;

	while (st->index[i] != 0)
		i = (i + 1) & mask;
	st->index[i] = pos + 1;
}

/* Position of job in last[], or SIZE_MAX. */
static size_t
index_find(const struct state *st, const char *job)
{
	size_t mask, i;

	if (st->nindex == 0)
		return SIZE_MAX;
	mask = st->nindex - 1;
	for (i = hash(job) & mask; st->index[i] != 0; i = (i + 1) & mask) {
		size_t pos = st->index[i] - 1;

		if (strcmp(state_last_job(st, pos), job) == 0)
			return pos;
	}
	return SIZE_MAX;
}

/* A table for WANT entries: 0 or -ENOMEM (the old one is kept). */
static int
index_resize(struct state *st, size_t want)
{
	size_t n = 16, *tab;

	while (n / 2 < want) {
		if (n > SIZE_MAX / 4 / sizeof(*tab))
			return -ENOMEM;
		n *= 2;
	}
	if ((tab = mapmem_alloc(n * sizeof(*tab))) == NULL)
		return -ENOMEM;
	mapmem_free(st->index, st->nindex * sizeof(*st->index));
	st->index = tab;
	st->nindex = n;
	for (size_t i = 0; i < st->nlast; i++)
		index_insert(st, i);
	return 0;
}

/* ------------------------------------------------------------------ */

/* Bytes of N elements of SIZE, rounded up to keep what follows aligned. */
static size_t
span(size_t n, size_t size)
{
	return (n * size + 15) / 16 * 16;
}

/* ---- notify's memory and notices ---------------------------------------- */

static void
notify_parts_free(struct state *st)
{
	for (size_t i = 0; i < st->nnotices; i++) {
		free(st->notices[i].url);
		free(st->notices[i].body);
	}
	free(st->notices);
	free(st->failing);
	st->notices = NULL;
	st->failing = NULL;
	st->nnotices = st->capnotices = st->nfailing = st->capfailing = 0;
}

/* Copy the notify parts of st into copy (heap, few entries); 0 or
 * -ENOMEM (copy's parts then empty). */
static int
notify_parts_copy(const struct state *st, struct state *copy)
{
	if (st->nfailing > 0) {
		copy->failing = malloc(st->nfailing * sizeof(*st->failing));
		if (copy->failing == NULL)
			goto fail;
		memcpy(copy->failing, st->failing,
		       st->nfailing * sizeof(*st->failing));
		copy->nfailing = copy->capfailing = st->nfailing;
	}
	if (st->nnotices == 0)
		return 0;
	if ((copy->notices = calloc(st->nnotices, sizeof(*st->notices))) ==
	    NULL)
		goto fail;
	copy->capnotices = st->nnotices;
	for (size_t i = 0; i < st->nnotices; i++) {
		const struct state_notice *n = &st->notices[i];
		struct state_notice *c = &copy->notices[copy->nnotices];

		*c = *n;
		c->url = n->url ? strdup(n->url) : NULL;
		c->body = n->body ? strdup(n->body) : NULL;
		copy->nnotices++;
		if ((n->url && !c->url) || (n->body && !c->body))
			goto fail;
	}
	return 0;
fail:
	notify_parts_free(copy);
	return -ENOMEM;
}

void
state_notify_memory(const struct state *st, const char *job,
                    struct notify_memory *m)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < st->nfailing; i++)
		if (strcmp(st->failing[i].job, job) == 0) {
			*m = st->failing[i].m;
			return;
		}
}

int
state_set_notify_memory(struct state *st, const char *job,
                        const struct notify_memory *m)
{
	size_t i;

	if (strlen(job) >= STATE_JOB_MAX || job[0] == '\0')
		return -EINVAL;
	for (i = 0; i < st->nfailing; i++)
		if (strcmp(st->failing[i].job, job) == 0)
			break;
	if (m->failures == 0) {
		if (i < st->nfailing)
			st->failing[i] = st->failing[--st->nfailing];
		return 0;
	}
	if (i == st->nfailing) {
		if (util_grow((void **)&st->failing, &st->capfailing,
		              st->nfailing + 1, sizeof(*st->failing)) < 0)
			return -ENOMEM;
		memset(&st->failing[i], 0, sizeof(st->failing[i]));
		memcpy(st->failing[i].job, job, strlen(job) + 1);
		st->nfailing++;
	}
	st->failing[i].m = *m;
	return 0;
}

int
state_notice_add(struct state *st, const struct state_notice *n, uint64_t *id)
{
	struct state_notice *c;
	uint64_t next = 1;

	if (strlen(n->job) >= STATE_JOB_MAX)
		return -EINVAL;
	for (size_t i = 0; i < st->nnotices; i++) {
		if (n->id != 0 && st->notices[i].id == n->id)
			return -EINVAL;
		if (st->notices[i].id >= next)
			next = st->notices[i].id + 1;
	}
	if (util_grow((void **)&st->notices, &st->capnotices, st->nnotices + 1,
	              sizeof(*st->notices)) < 0)
		return -ENOMEM;
	c = &st->notices[st->nnotices];
	*c = *n;
	c->url = n->url ? strdup(n->url) : NULL;
	c->body = n->body ? strdup(n->body) : NULL;
	if ((n->url && !c->url) || (n->body && !c->body)) {
		free(c->url);
		free(c->body);
		return -ENOMEM;
	}
	if (c->id == 0)
		c->id = next;
	if (id != NULL)
		*id = c->id;
	st->nnotices++;
	return 0;
}

struct state_notice *
state_notice_find(struct state *st, uint64_t id)
{
	for (size_t i = 0; i < st->nnotices; i++)
		if (st->notices[i].id == id)
			return &st->notices[i];
	return NULL;
}

int
state_notice_remove(struct state *st, uint64_t id)
{
	struct state_notice *n = state_notice_find(st, id);

	if (n == NULL)
		return -ENOENT;
	free(n->url);
	free(n->body);
	/* keep the order: notices go out oldest first */
	memmove(n, n + 1,
	        (size_t)(st->notices + st->nnotices - (n + 1)) * sizeof(*n));
	st->nnotices--;
	return 0;
}

/* A snapshot is taken on the loop before every write and encoded by a
 * worker: all of it (entries, operations, durations, names) goes to one
 * mapping, kept from one snapshot to the next.  In the heap, a copy of
 * 10,000 jobs' entries would land in whatever free space there is and
 * stay resident there once freed; a fresh mapping each time would cost
 * the loop a page fault per 4 kB. */
int
state_snapshot(const struct state *st, struct state *copy)
{
	size_t nl = span(st->nlast, sizeof(*st->last)),
	       no = span(st->nops, sizeof(*st->ops)),
	       nd = span(st->durations.n, sizeof(*st->durations.v)),
	       need = nl + no + nd + st->npool, block = copy->block;
	char *b = (char *)copy->last;

	if (block == 0) { /* not a snapshot yet */
		state_free(copy);
		b = NULL;
	}
	notify_parts_free(copy);
	memset(copy, 0, sizeof(*copy));
	if (block < need || b == NULL) {
		char *nb = mapmem_resize(b, block, need);

		if (nb == NULL) {
			mapmem_free(b, block);
			return -ENOMEM;
		}
		b = nb;
		block = mapmem_size(need);
	}
	copy->block = block;
	copy->last = (struct state_last *)(void *)b;
	copy->ops = (struct state_op *)(void *)(b + nl);
	copy->durations.v = (struct ops_learned *)(void *)(b + nl + no);
	copy->pool = b + nl + no + nd;
	/* an empty array may have no memory at all: memcpy from NULL is
	 * undefined even for 0 bytes */
	if (st->nlast > 0)
		memcpy(copy->last, st->last, st->nlast * sizeof(*st->last));
	if (st->nops > 0)
		memcpy(copy->ops, st->ops, st->nops * sizeof(*st->ops));
	if (st->durations.n > 0)
		memcpy(copy->durations.v, st->durations.v,
		       st->durations.n * sizeof(*st->durations.v));
	if (st->npool > 0)
		memcpy(copy->pool, st->pool, st->npool);
	copy->nlast = copy->caplast = st->nlast;
	copy->nops = copy->capops = st->nops;
	copy->durations.n = copy->durations.cap = st->durations.n;
	copy->npool = copy->cappool = st->npool;
	return notify_parts_copy(st, copy);
}

void
state_free(struct state *st)
{
	notify_parts_free(st);
	if (st->block > 0) { /* a snapshot: one mapping */
		mapmem_free(st->last, st->block);
		memset(st, 0, sizeof(*st));
		return;
	}
	mapmem_free(st->last, st->caplast * sizeof(*st->last));
	mapmem_free(st->pool, st->cappool);
	free(st->ops);
	mapmem_free(st->index, st->nindex * sizeof(*st->index));
	ops_book_free(&st->durations);
	memset(st, 0, sizeof(*st));
}

int64_t
state_last_fired(const struct state *st, const char *job)
{
	size_t pos = index_find(st, job);

	return pos == SIZE_MAX ? -1 : st->last[pos].fired;
}

int
state_set_last_fired(struct state *st, const char *job, int64_t t)
{
	size_t pos = index_find(st, job), len = strlen(job);

	if (pos != SIZE_MAX) {
		st->last[pos].fired = t;
		return 0;
	}
	if (len == 0 || len >= STATE_JOB_MAX)
		return -EINVAL;
	if (st->npool + len + 1 > UINT32_MAX ||
	    mapmem_grow((void **)&st->last, &st->caplast, st->nlast + 1,
	                sizeof(*st->last)) != 0 ||
	    mapmem_grow((void **)&st->pool, &st->cappool, st->npool + len + 1,
	                1) != 0)
		return -ENOMEM;
	if (st->nindex / 2 < st->nlast + 1 &&
	    index_resize(st, st->nlast + 1) != 0)
		return -ENOMEM;
	memcpy(st->pool + st->npool, job, len + 1);
	st->last[st->nlast].job = (uint32_t)st->npool;
	st->last[st->nlast].fired = t;
	st->npool += len + 1;
	index_insert(st, st->nlast);
	st->nlast++;
	return 0;
}

/* Close the gaps that forgotten names left in the pool, in place (a
 * void caller must not need memory): names are appended in the order of
 * last[], which forgetting keeps, so each moves only towards the start. */
static void
pool_compact(struct state *st)
{
	size_t o = 0;

	for (size_t i = 0; i < st->nlast; i++) {
		size_t n = strlen(state_last_job(st, i)) + 1;

		memmove(st->pool + o, state_last_job(st, i), n);
		st->last[i].job = (uint32_t)o;
		o += n;
	}
	st->npool = o;
	st->dead = 0;
}

void
state_forget_jobs(struct state *st, bool (*keep)(const char *job, void *arg),
                  void *arg)
{
	size_t o = 0;

	for (size_t i = 0; i < st->nlast; i++)
		if (keep(state_last_job(st, i), arg))
			st->last[o++] = st->last[i];
		else
			st->dead += strlen(state_last_job(st, i)) + 1;
	if (o == st->nlast)
		return;
	st->nlast = o;
	if (st->dead > st->npool / 2)
		pool_compact(st);
	/* Rebuilt in place: the table only gets emptier, and a void
	 * function must not need memory. */
	if (st->nindex > 0) {
		memset(st->index, 0, st->nindex * sizeof(*st->index));
		for (size_t i = 0; i < st->nlast; i++)
			index_insert(st, i);
	}
}

static bool
fits(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static bool
op_valid(const struct state_op *op)
{
	const struct target *t = &op->target;

	return fits(op->job, sizeof(op->job)) && op->job[0] != '\0' &&
	       fits(op->op_id, sizeof(op->op_id)) &&
	       fits(t->env_id, sizeof(t->env_id)) &&
	       fits(t->env_name, sizeof(t->env_name)) &&
	       fits(t->site_id, sizeof(t->site_id)) &&
	       fits(t->site_name, sizeof(t->site_name)) &&
	       fits(t->cdn_cache_id, sizeof(t->cdn_cache_id)) &&
	       fits(t->edge_cache_id, sizeof(t->edge_cache_id)) &&
	       fits(t->source_env_id, sizeof(t->source_env_id)) &&
	       fits(t->domain, sizeof(t->domain));
}

/* Index of the op with that key in ops[], or SIZE_MAX.  Linear: only runs
 * in flight are here, a handful at a time. */
static size_t
op_find(const struct state *st, const char *job, uint64_t run_id,
        const char *env_id)
{
	for (size_t i = 0; i < st->nops; i++) {
		const struct state_op *o = &st->ops[i];

		if (o->run_id == run_id && strcmp(o->job, job) == 0 &&
		    strcmp(o->target.env_id, env_id) == 0)
			return i;
	}
	return SIZE_MAX;
}

int
state_op_put(struct state *st, const struct state_op *op)
{
	size_t i;

	if (!op_valid(op))
		return -EINVAL;
	i = op_find(st, op->job, op->run_id, op->target.env_id);
	if (i == SIZE_MAX) {
		if (util_grow((void **)&st->ops, &st->capops, st->nops + 1,
		              sizeof(*st->ops)) != 0)
			return -ENOMEM;
		i = st->nops++;
	}
	st->ops[i] = *op;
	return 0;
}

int
state_op_remove(struct state *st, const char *job, uint64_t run_id,
                const char *env_id)
{
	size_t i = op_find(st, job, run_id, env_id);

	if (i == SIZE_MAX)
		return -ENOENT;
	memmove(&st->ops[i], &st->ops[i + 1],
	        (st->nops - i - 1) * sizeof(*st->ops));
	st->nops--;
	return 0;
}

/* ------------------------------------------------------------------ */

static int
encode_op(struct json_writer *w, const struct state_op *op)
{
	const struct target *t = &op->target;

	json_w_obj_open(w);
	w_field(w, "job", op->job, sizeof(op->job));
	w_u64(w, "run_id", op->run_id);
	json_w_key_int(w, "step", op->step);
	if (op->step_name[0] != '\0')
		w_field(w, "step_name", op->step_name, sizeof(op->step_name));
	w_field(w, "op_id", op->op_id, sizeof(op->op_id));
	json_w_key_bool(w, "deployment", op->deployment);
	json_w_key_int(w, "started_ms", op->started_ms);
	json_w_key(w, "target");
	json_w_obj_open(w);
	w_field(w, "env_id", t->env_id, sizeof(t->env_id));
	w_field(w, "env_name", t->env_name, sizeof(t->env_name));
	w_field(w, "site_id", t->site_id, sizeof(t->site_id));
	w_field(w, "site_name", t->site_name, sizeof(t->site_name));
	w_field(w, "cdn_cache_id", t->cdn_cache_id, sizeof(t->cdn_cache_id));
	w_field(w, "edge_cache_id", t->edge_cache_id, sizeof(t->edge_cache_id));
	w_field(w, "source_env_id", t->source_env_id, sizeof(t->source_env_id));
	if (t->domain[0] != '\0') /* the probes' {domain} */
		w_field(w, "domain", t->domain, sizeof(t->domain));
	json_w_key_bool(w, "resolved", t->resolved);
	json_w_obj_close(w);
	/* The writer latches the first error: checking the last call is
	 * checking them all. */
	return json_w_obj_close(w);
}

static void
encode_durations(struct json_writer *w, const struct ops_learned *l)
{
	const struct ops_history *h = &l->h;

	json_w_obj_open(w);
	w_field(w, "key", l->key, sizeof(l->key));
	json_w_key(w, "ms");
	json_w_arr_open(w);
	/* oldest first, so that a reader keeps their order */
	for (size_t i = 0; i < h->n; i++)
		json_w_int(
		    w, h->ms[(h->next + OPS_SAMPLES - h->n + i) % OPS_SAMPLES]);
	json_w_arr_close(w);
	json_w_obj_close(w);
}

static const char *const notice_kinds[] = {"webhook", "ping", "email", NULL};

static void
encode_notify(struct json_writer *w, const struct state *st)
{
	json_w_key(w, "failing");
	json_w_arr_open(w);
	for (size_t i = 0; i < st->nfailing && w->err == 0; i++) {
		const struct state_failing *f = &st->failing[i];

		json_w_obj_open(w);
		w_field(w, "job", f->job, sizeof(f->job));
		json_w_key_int(w, "failures", f->m.failures);
		json_w_key_int(w, "since_ms", f->m.since_ms);
		json_w_key_int(w, "sent_ms", f->m.sent_ms);
		json_w_obj_close(w);
	}
	json_w_arr_close(w);
	json_w_key(w, "notices");
	json_w_arr_open(w);
	for (size_t i = 0; i < st->nnotices && w->err == 0; i++) {
		const struct state_notice *n = &st->notices[i];

		json_w_obj_open(w);
		w_u64(w, "id", n->id);
		w_field(w, "job", n->job, sizeof(n->job));
		json_w_key_str(w, "kind", notice_kinds[n->kind]);
		w_opt(w, "url", n->url);
		w_opt(w, "body", n->body);
		json_w_key_int(w, "attempts", n->attempts);
		json_w_key_int(w, "created_ms", n->created_ms);
		json_w_key_int(w, "next_ms", n->next_ms);
		json_w_obj_close(w);
	}
	json_w_arr_close(w);
}

int
state_encode(const struct state *st, char **out, size_t *len, char *err,
             size_t errlen)
{
	struct json_writer w;
	const char *buf;
	size_t n;
	int ret;

	*out = NULL;
	*len = 0;
	ret = json_w_init(&w);
	json_w_obj_open(&w);
	json_w_key_int(&w, "version", STATE_VERSION);
	json_w_key(&w, "last");
	json_w_arr_open(&w);
	for (size_t i = 0; i < st->nlast && w.err == 0; i++) {
		const char *job = state_last_job(st, i);

		json_w_obj_open(&w);
		w_text(&w, "job", job, strlen(job));
		json_w_key_int(&w, "fired", st->last[i].fired);
		json_w_obj_close(&w);
	}
	json_w_arr_close(&w);
	json_w_key(&w, "ops");
	json_w_arr_open(&w);
	for (size_t i = 0; i < st->nops && w.err == 0; i++)
		encode_op(&w, &st->ops[i]);
	json_w_arr_close(&w);
	json_w_key(&w, "durations");
	json_w_arr_open(&w);
	for (size_t i = 0; i < st->durations.n && w.err == 0; i++)
		encode_durations(&w, &st->durations.v[i]);
	json_w_arr_close(&w);
	encode_notify(&w, st);
	json_w_obj_close(&w);
	if (ret == 0)
		ret = json_w_finish(&w, &buf, &n);
	if (ret == 0 && (*out = malloc(n + 1)) == NULL)
		ret = -ENOMEM;
	if (ret == 0) {
		memcpy(*out, buf, n);
		(*out)[n] = '\n';
		*len = n + 1;
	} else {
		util_seterr(err, errlen, "cannot encode the state: %s",
		            ret == -ENOMEM        ? "out of memory"
		            : json_w_strerror(&w) ? json_w_strerror(&w)
		                                  : "writer error");
	}
	json_w_free(&w);
	return ret;
}

/* ------------------------------------------------------------------ */

/* Copy the string member KEY of OBJ into DST[SIZE]: true when it is a
 * string that fits (and is non-empty when REQUIRED); a missing optional
 * member leaves "". */
static bool
get_str(yajl_val obj, const char *key, char *dst, size_t size, bool required)
{
	yajl_val v = json_get(obj, key, NULL);
	const char *s = json_str(v, NULL);
	size_t n;

	dst[0] = '\0';
	if (v == NULL)
		return !required;
	if (s == NULL || (n = strlen(s)) >= size || (required && n == 0))
		return false;
	memcpy(dst, s, n + 1);
	return true;
}

/* run_id: a decimal string (what we write) or a non-negative integer. */
static bool
get_u64(yajl_val obj, const char *key, uint64_t *out)
{
	yajl_val v = json_get(obj, key, NULL);
	const char *s = json_str(v, NULL);
	uint64_t n = 0;
	int64_t i;

	if (s == NULL) {
		if (json_int(v, &i, NULL) != 0 || i < 0)
			return false;
		*out = (uint64_t)i;
		return true;
	}
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (*s < '0' || *s > '9' || n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*out = n;
	return true;
}

/* Fill *op from E; NULL, or what is wrong with E. */
static const char *
decode_op(yajl_val e, struct state_op *op)
{
	struct target *t = &op->target;
	yajl_val tv;
	int64_t i;

	memset(op, 0, sizeof(*op));
	if (json_obj(e, NULL) == NULL)
		return "not an object";
	if (!get_str(e, "job", op->job, sizeof(op->job), true))
		return "\"job\" missing, empty, too long or not a string";
	if (!get_u64(e, "run_id", &op->run_id))
		return "\"run_id\" missing or not an unsigned integer";
	if (json_int(e, &i, "step", NULL) != 0 || i < 0 || i > INT_MAX)
		return "\"step\" missing or not a small non-negative integer";
	op->step = (int)i;
	if (!get_str(e, "step_name", op->step_name, sizeof(op->step_name),
	             false))
		return "\"step_name\" too long or not a string";
	if (!get_str(e, "op_id", op->op_id, sizeof(op->op_id), true))
		return "\"op_id\" missing, empty, too long or not a string";
	if (json_bool(e, &op->deployment, "deployment", NULL) != 0)
		return "\"deployment\" missing or not a boolean";
	if (json_int(e, &op->started_ms, "started_ms", NULL) != 0)
		return "\"started_ms\" missing or not an integer";
	if ((tv = json_obj(e, "target", NULL)) == NULL)
		return "\"target\" missing or not an object";
	if (!get_str(tv, "env_id", t->env_id, sizeof(t->env_id), true))
		return "\"target.env_id\" missing, empty, too long or not a "
		       "string";
	/* The descriptive fields are fetched again when missing (resolved
	 * false), so only a wrong type makes the entry unusable. */
	if (!get_str(tv, "env_name", t->env_name, sizeof(t->env_name), false) ||
	    !get_str(tv, "site_id", t->site_id, sizeof(t->site_id), false) ||
	    !get_str(tv, "site_name", t->site_name, sizeof(t->site_name),
	             false) ||
	    !get_str(tv, "cdn_cache_id", t->cdn_cache_id,
	             sizeof(t->cdn_cache_id), false) ||
	    !get_str(tv, "edge_cache_id", t->edge_cache_id,
	             sizeof(t->edge_cache_id), false) ||
	    !get_str(tv, "source_env_id", t->source_env_id,
	             sizeof(t->source_env_id), false) ||
	    !get_str(tv, "domain", t->domain, sizeof(t->domain), false))
		return "a \"target\" field is too long or not a string";
	if (json_get(tv, "resolved", NULL) != NULL &&
	    json_bool(tv, &t->resolved, "resolved", NULL) != 0)
		return "\"target.resolved\" is not a boolean";
	return NULL;
}

/* The learned operation durations (optional): 0 or -ENOMEM; entries that
 * are not {"key": string, "ms": [integers >= 0]} are skipped and
 * counted. */
static int
decode_durations(struct state *st, yajl_val list, size_t *skipped, char *why,
                 size_t whylen)
{
	for (size_t i = 0; i < json_arr_len(list); i++) {
		yajl_val e = json_arr_at(list, i), ms = json_arr(e, "ms", NULL);
		const char *key = json_str(e, "key", NULL);
		struct ops_history h = {0};
		struct ops_history *to;
		bool ok = key != NULL && key[0] && strlen(key) < OPS_KEY_MAX &&
		          ms != NULL;

		for (size_t k = 0; ok && k < json_arr_len(ms); k++) {
			int64_t v;

			ok = json_int(json_arr_at(ms, k), &v, NULL) == 0 &&
			     v >= 0;
			if (ok)
				ops_history_add(&h, v);
		}
		if (!ok) {
			if ((*skipped)++ == 0)
				snprintf(why, whylen,
				         "durations[%zu]: needs a \"key\" and "
				         "\"ms\", a list of durations",
				         i);
			continue;
		}
		if ((to = ops_book_get(&st->durations, key, true)) == NULL)
			return -ENOMEM;
		*to = h;
	}
	return 0;
}

/* notify's memory and notices (optional): 0 or -ENOMEM; invalid entries
 * are skipped and counted. */
static int
decode_notify(struct state *st, yajl_val doc, size_t *skipped, char *why,
              size_t whylen)
{
	yajl_val failing = json_arr(doc, "failing", NULL),
	         notices = json_arr(doc, "notices", NULL);

	for (size_t i = 0; i < json_arr_len(failing); i++) {
		yajl_val e = json_arr_at(failing, i);
		struct notify_memory m = {0};
		char job[STATE_JOB_MAX];
		int64_t f;

		if (!get_str(e, "job", job, sizeof(job), true) ||
		    json_int(e, &f, "failures", NULL) != 0 || f < 1 ||
		    f > UINT32_MAX ||
		    json_int(e, &m.since_ms, "since_ms", NULL) != 0 ||
		    json_int(e, &m.sent_ms, "sent_ms", NULL) != 0) {
			if ((*skipped)++ == 0)
				snprintf(
				    why, whylen,
				    "failing[%zu]: needs \"job\", "
				    "\"failures\", \"since_ms\", \"sent_ms\"",
				    i);
			continue;
		}
		m.failures = (uint32_t)f;
		if (state_set_notify_memory(st, job, &m) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < json_arr_len(notices); i++) {
		yajl_val e = json_arr_at(notices, i);
		struct state_notice n = {0};
		const char *kind = json_str(e, "kind", NULL);
		const char *url = json_str(e, "url", NULL);
		const char *body = json_str(e, "body", NULL);
		int64_t attempts;
		int k = -1;

		for (int j = 0; kind != NULL && notice_kinds[j] != NULL; j++)
			if (strcmp(kind, notice_kinds[j]) == 0)
				k = j;
		if (!get_u64(e, "id", &n.id) || n.id == 0 ||
		    !get_str(e, "job", n.job, sizeof(n.job), true) || k < 0 ||
		    (k != STATE_NOTICE_EMAIL && url == NULL) ||
		    (k == STATE_NOTICE_EMAIL && body == NULL) ||
		    json_int(e, &attempts, "attempts", NULL) != 0 ||
		    attempts < 0 || attempts > UINT32_MAX ||
		    json_int(e, &n.created_ms, "created_ms", NULL) != 0 ||
		    json_int(e, &n.next_ms, "next_ms", NULL) != 0 ||
		    state_notice_find(st, n.id) != NULL) {
			if ((*skipped)++ == 0)
				snprintf(why, whylen,
				         "notices[%zu]: needs \"id\", \"job\", "
				         "\"kind\", \"url\" or \"body\", "
				         "\"attempts\", \"created_ms\", "
				         "\"next_ms\"",
				         i);
			continue;
		}
		n.kind = (enum state_notice_kind)k;
		n.attempts = (uint32_t)attempts;
		n.url = (char *)url;
		n.body = (char *)body;
		if (state_notice_add(st, &n, NULL) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The version, and "last" and "ops" arrays if present: 0 or -EINVAL. */
static int
check_header(yajl_val doc, char *err, size_t errlen)
{
	yajl_val last = json_get(doc, "last", NULL);
	yajl_val ops = json_get(doc, "ops", NULL);
	int64_t version;

	switch (json_int(doc, &version, "version", NULL)) {
	case 0:
		break;
	case -ENOENT:
		util_seterr(err, errlen, "has no \"version\"");
		return -EINVAL;
	default:
		util_seterr(err, errlen,
		            "has a \"version\" that is not an integer");
		return -EINVAL;
	}
	if (version != STATE_VERSION) {
		util_seterr(err, errlen,
		            "has format version %lld, and this daemon reads "
		            "version %d",
		            (long long)version, STATE_VERSION);
		return -EINVAL;
	}
	if ((last != NULL && json_arr(last, NULL) == NULL) ||
	    (ops != NULL && json_arr(ops, NULL) == NULL)) {
		util_seterr(err, errlen, "has a \"%s\" that is not an array",
		            last != NULL && json_arr(last, NULL) == NULL
		                ? "last"
		                : "ops");
		return -EINVAL;
	}
	return 0;
}

int
state_decode(struct state *st, const char *buf, size_t len, char *err,
             size_t errlen)
{
	struct json_limits lim = {
	    .max_bytes = STATE_MAX_BYTES,
	    .max_depth = 8,
	    .reject_duplicate_keys = true,
	};
	char why[192] = "", jerr[160];
	yajl_val doc = NULL, last, ops;
	size_t skipped = 0;
	int ret;

	memset(st, 0, sizeof(*st));
	util_seterr(err, errlen, "%s", "");
	if (len > STATE_MAX_BYTES) {
		util_seterr(err, errlen,
		            "is %zu bytes, over the %zu-byte limit", len,
		            STATE_MAX_BYTES);
		return -EMSGSIZE;
	}
	ret = json_parse(&doc, buf, len, &lim, jerr, sizeof(jerr));
	if (ret == -ENOMEM) {
		util_seterr(err, errlen, "cannot be parsed: out of memory");
		goto fail;
	}
	if (ret != 0) {
		util_seterr(err, errlen, "is not valid JSON (%s)", jerr);
		goto fail;
	}
	ret = -EINVAL;
	if (json_obj(doc, NULL) == NULL) {
		util_seterr(err, errlen, "is not a JSON object");
		goto fail;
	}
	if (check_header(doc, err, errlen) < 0)
		goto fail;
	last = json_get(doc, "last", NULL);
	ops = json_get(doc, "ops", NULL);

	ret = -ENOMEM;
	for (size_t i = 0; i < json_arr_len(last); i++) {
		yajl_val e = json_arr_at(last, i);
		const char *job = json_str(e, "job", NULL);
		int64_t fired;

		if (job == NULL || job[0] == '\0' ||
		    strlen(job) >= STATE_JOB_MAX ||
		    json_int(e, &fired, "fired", NULL) != 0) {
			if (skipped++ == 0)
				snprintf(
				    why, sizeof(why),
				    "last[%zu]: needs a \"job\" name of at "
				    "most %d bytes and an integer "
				    "\"fired\"",
				    i, STATE_JOB_MAX - 1);
			continue;
		}
		if (state_set_last_fired(st, job, fired) != 0)
			goto fail;
	}
	for (size_t i = 0; i < json_arr_len(ops); i++) {
		struct state_op op;
		const char *bad = decode_op(json_arr_at(ops, i), &op);

		if (bad != NULL) {
			if (skipped++ == 0)
				snprintf(why, sizeof(why), "ops[%zu]: %s", i,
				         bad);
			continue;
		}
		if (state_op_put(st, &op) != 0)
			goto fail;
	}
	if (decode_durations(st, json_get(doc, "durations", NULL), &skipped,
	                     why, sizeof(why)) < 0 ||
	    decode_notify(st, doc, &skipped, why, sizeof(why)) < 0)
		goto fail;
	json_free(doc);
	if (skipped > 0)
		util_seterr(err, errlen,
		            "skipped %zu invalid entr%s (the first: %s)",
		            skipped, skipped == 1 ? "y" : "ies", why);
	return skipped > INT_MAX ? INT_MAX : (int)skipped;

fail:
	if (ret == -ENOMEM)
		util_seterr(err, errlen, "cannot be loaded: out of memory");
	json_free(doc);
	state_free(st);
	return ret;
}

/* ------------------------------------------------------------------ */

/* Read all of FD, at most STATE_MAX_BYTES + 1 bytes (one more than the
 * limit, so that state_decode sees a file that grew past it). */
static int
read_all(int fd, char **out, size_t *len)
{
	size_t n = 0, cap = 0;
	char *buf = NULL;

	for (;;) {
		ssize_t r;

		if (n == cap) {
			if (cap > STATE_MAX_BYTES)
				break;
			if (util_grow((void **)&buf, &cap,
			              cap ? cap * 2 : 65536, 1) != 0) {
				free(buf);
				return -ENOMEM;
			}
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;

			free(buf);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* UTC "20260329T010000Z" of now, for file names. */
static void
stamp(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(buf, len, "%Y%m%dT%H%M%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)now);
}

/* Rename DFD/state.json to a state.json.corrupt-<stamp> that does not
 * exist yet; its name into NAME.  0 or -errno. */
static int
move_aside(int dfd, char *name, size_t namelen)
{
	char ts[64];

	stamp(ts, sizeof(ts));
	for (int k = 0; k < 100; k++) {
		struct stat sb;

		if (k == 0)
			snprintf(name, namelen, STATE_FILE ".corrupt-%s", ts);
		else
			snprintf(name, namelen, STATE_FILE ".corrupt-%s-%d", ts,
			         k);
		if (renameat2(dfd, STATE_FILE, dfd, name, RENAME_NOREPLACE) ==
		    0)
			break;
		if (errno == EEXIST)
			continue;
		if (errno != EINVAL && errno != ENOSYS)
			return -errno;
		/* No RENAME_NOREPLACE on this file system: check, then
		 * rename (we are the only writer of the directory). */
		if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (renameat(dfd, STATE_FILE, dfd, name) != 0)
			return -errno;
		break;
	}
	/* Best effort: the rename is durable at the next save anyway. */
	(void)fsync(dfd);
	return 0;
}

int
state_load(struct state *st, const char *dir, char *warn, size_t warnlen)
{
	char why[STATE_MSG_MAX / 2], aside[96];
	char *buf = NULL;
	size_t len = 0;
	int dfd, fd = -1, ret;
	struct stat sb;

	memset(st, 0, sizeof(*st));
	util_seterr(warn, warnlen, "%s", "");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 && errno == ENOENT)
		return 0;
	if (dfd < 0) {
		ret = -errno;
		util_seterr(warn, warnlen, "cannot open state_dir %s: %s", dir,
		            strerror(-ret));
		return ret;
	}
	fd = openat(dfd, STATE_FILE, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT) {
		close(dfd);
		return 0;
	}
	if (fd < 0) {
		snprintf(why, sizeof(why), "cannot be read (%s)",
		         strerror(errno));
	} else if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(why, sizeof(why), "is not a regular file");
	} else if ((uintmax_t)sb.st_size > STATE_MAX_BYTES) {
		snprintf(why, sizeof(why),
		         "is %jd bytes, over the %zu-byte limit",
		         (intmax_t)sb.st_size, STATE_MAX_BYTES);
	} else if ((ret = read_all(fd, &buf, &len)) != 0) {
		snprintf(why, sizeof(why), "cannot be read (%s)",
		         strerror(-ret));
	} else {
		ret = state_decode(st, buf, len, why, sizeof(why));
		free(buf);
		if (ret >= 0) {
			if (ret > 0)
				util_seterr(warn, warnlen, "%s/%s: %s", dir,
				            STATE_FILE, why);
			ret = ret > 0;
			goto out;
		}
		if (ret == -ENOMEM) {
			util_seterr(warn, warnlen, "%s/%s %s", dir, STATE_FILE,
			            why);
			goto out;
		}
	}
	ret = move_aside(dfd, aside, sizeof(aside));
	if (ret != 0) {
		util_seterr(
		    warn, warnlen,
		    "%s/%s %s, and it cannot be moved aside: %s; remove "
		    "or repair it",
		    dir, STATE_FILE, why, strerror(-ret));
		goto out;
	}
	util_seterr(
	    warn, warnlen,
	    "%s/%s %s; moved aside to %s/%s; starting with no saved state", dir,
	    STATE_FILE, why, dir, aside);
	ret = 1;
out:
	if (fd >= 0)
		close(fd);
	close(dfd);
	return ret;
}

static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t r = write(fd, buf, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		buf += r;
		len -= (size_t)r;
	}
	return 0;
}

/* Replace DIR/NAME with BUF[0..LEN), mode 0600: temp file NAME.tmp in
 * DIR, fsync, rename over NAME, fsync DIR.  0 or -errno with a message. */
static int
write_atomic(const char *dir, const char *name, const char *buf, size_t len,
             char *err, size_t errlen)
{
	const char *what = "open the directory";
	char tmpname[NAME_MAX + 1];
	int dfd, fd = -1, ret;
	bool tmp = false;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		ret = -errno;
		goto fail;
	}
	/* A fixed temp name: a crash leaves at most one stale file, which
	 * the next write truncates. */
	what = "name the temp file";
	ret = -ENAMETOOLONG;
	if ((size_t)snprintf(tmpname, sizeof(tmpname), "%s.tmp", name) >=
	    sizeof(tmpname))
		goto fail;
	what = "create the temp file";
	fd =
	    openat(dfd, tmpname,
	           O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		goto fail;
	}
	tmp = true;
	/* A stale temp file keeps its old mode through O_CREAT. */
	what = "chmod the temp file";
	if (fchmod(fd, 0600) != 0) {
		ret = -errno;
		goto fail;
	}
	what = "write the temp file";
	if ((ret = write_all(fd, buf, len)) != 0)
		goto fail;
	what = "fsync the temp file";
	if (fsync(fd) != 0) {
		ret = -errno;
		goto fail;
	}
	what = "close the temp file";
	ret = close(fd) != 0 ? -errno : 0;
	fd = -1;
	if (ret != 0)
		goto fail;
	what = "rename the temp file";
	if (renameat(dfd, tmpname, dfd, name) != 0) {
		ret = -errno;
		goto fail;
	}
	tmp = false;
	/* Without this the rename may be lost at a power cut, and the old
	 * state (with a slot already fired) would come back. */
	what = "fsync the directory";
	if (fsync(dfd) != 0) {
		ret = -errno;
		goto fail;
	}
	close(dfd);
	return 0;

fail:
	util_seterr(err, errlen, "cannot write %s/%s: %s: %s", dir, name, what,
	            strerror(-ret));
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlinkat(dfd, tmpname, 0);
	if (dfd >= 0)
		close(dfd);
	return ret;
}

int
state_save(const struct state *st, const char *dir, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	int ret;

	if ((ret = state_encode(st, &buf, &len, err, errlen)) != 0)
		return ret;
	ret = write_atomic(dir, STATE_FILE, buf, len, err, errlen);
	free(buf);
	return ret;
}

int
state_write_file(const char *path, const char *buf, size_t len, char *err,
                 size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (slash != NULL && slash[1] == '\0') {
		util_seterr(err, errlen,
		            "cannot write %s: it names a directory", path);
		return -EISDIR;
	}
	if (n >= sizeof(dir)) {
		util_seterr(err, errlen, "cannot write %.64s...: path too long",
		            path);
		return -ENAMETOOLONG;
	}
	if (slash == NULL) {
		strcpy(dir, ".");
	} else if (n == 0) {
		strcpy(dir, "/");
	} else {
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	return write_atomic(dir, slash ? slash + 1 : path, buf, len, err,
	                    errlen);
}

/* ------------------------------------------------------------------ */

/* "2026-03-29T01:00:00.123Z" (util_time_iso, the form of every time
 * shown), or false for a time outside years 0000-9999: JSON readers of the
 * history expect plain four-digit years. */
static bool
iso_ms(char *buf, size_t len, int64_t ms)
{
	/* 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z */
	if (ms < INT64_C(-62167219200000) || ms > INT64_C(253402300799999))
		return false;
	return util_time_iso(buf, len, NULL, util_floor_div(ms, 1000),
	                     (int)(ms - util_floor_div(ms, 1000) * 1000)) > 0;
}

static void
w_time(struct json_writer *w, const char *key, const char *key_ms, int64_t ms)
{
	char iso[64];

	if (iso_ms(iso, sizeof(iso), ms))
		json_w_key_str(w, key, iso);
	else
		json_w_key_null(w, key);
	json_w_key_int(w, key_ms, ms);
}

int
state_history_append(const char *dir, const struct state_history *h, char *err,
                     size_t errlen)
{
	struct json_writer w;
	const char *doc;
	char *line = NULL;
	size_t len = 0, dlen;
	int64_t dur;
	ssize_t r;
	int dfd = -1, fd = -1, ret;

	/* A clock stepped back makes end < start: say 0 rather than a
	 * negative duration. */
	if (__builtin_sub_overflow(h->end_ms, h->start_ms, &dur) || dur < 0)
		dur = 0;
	ret = json_w_init(&w);
	json_w_obj_open(&w);
	w_opt(&w, "job", h->job);
	w_opt(&w, "action", h->action);
	w_opt(&w, "env_id", h->env_id);
	w_opt(&w, "target", h->target_name);
	w_u64(&w, "run_id", h->run_id);
	w_opt(&w, "op_id", h->op_id);
	w_opt(&w, "outcome", h->outcome);
	w_opt(&w, "message", h->message);
	w_opt(&w, "note", h->note);
	if (h->trigger != NULL)
		w_opt(&w, "trigger", h->trigger);
	w_time(&w, "start", "start_ms", h->start_ms);
	w_time(&w, "end", "end_ms", h->end_ms);
	json_w_key_int(&w, "duration_ms", dur);
	json_w_obj_close(&w);
	if (ret == 0)
		ret = json_w_finish(&w, &doc, &len);
	if (ret != 0) {
		util_seterr(err, errlen, "cannot encode a history line: %s",
		            json_w_strerror(&w) ? json_w_strerror(&w)
		                                : "out of memory");
		goto fail;
	}
	/* The writer escapes control characters and adds no newline, so
	 * this is the line's only one; the details object (the writer's
	 * too) goes in before the closing brace, as it is. */
	ret = -ENOMEM;
	dlen = h->details != NULL ? strlen(h->details) : 0;
	if (dlen > 0 && (h->details[0] != '{' || h->details[dlen - 1] != '}' ||
	                 memchr(h->details, '\n', dlen) != NULL))
		dlen = 0;
	if ((line = malloc(len + dlen + sizeof(",\"details\":") + 1)) == NULL) {
		util_seterr(err, errlen,
		            "cannot write a history line: out of "
		            "memory");
		goto fail;
	}
	memcpy(line, doc, len);
	if (dlen > 0) {
		len--; /* the closing brace */
		memcpy(line + len,
		       ",\"details\":", sizeof(",\"details\":") - 1);
		len += sizeof(",\"details\":") - 1;
		memcpy(line + len, h->details, dlen);
		len += dlen;
		line[len++] = '}';
	}
	line[len++] = '\n';

	/* No O_NOFOLLOW: state_dir is ours (0700), and an admin may point
	 * history.jsonl elsewhere with a symlink on purpose. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (fd = openat(dfd, HISTORY_FILE,
	                 O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) <
	        0) {
		ret = -errno;
		util_seterr(err, errlen, "cannot open %s/%s: %s", dir,
		            HISTORY_FILE, strerror(-ret));
		goto fail;
	}
	/* One write(2) with O_APPEND: the kernel places it at the end under
	 * the inode lock, so lines of concurrent writers never mix.  A retry
	 * of the rest would not have that property. */
	do
		r = write(fd, line, len);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		ret = -errno;
		util_seterr(err, errlen, "cannot write %s/%s: %s", dir,
		            HISTORY_FILE, strerror(-ret));
		goto fail;
	}
	ret = 0;
	if ((size_t)r < len) {
		/* Disk full mid-line: end the fragment so that the next
		 * line starts clean. */
		(void)!write(fd, "\n", 1);
		ret = -EIO;
		util_seterr(err, errlen,
		            "short write to %s/%s (%zd of %zu bytes)", dir,
		            HISTORY_FILE, r, len);
	}
fail:
	if (fd >= 0 && close(fd) != 0 && ret == 0) {
		ret = -errno;
		util_seterr(err, errlen, "cannot write %s/%s: %s", dir,
		            HISTORY_FILE, strerror(-ret));
	}
	if (dfd >= 0)
		close(dfd);
	free(line);
	json_w_free(&w);
	return ret;
}

/* ------------------------------------------------------------------ */

/* Can we create a file in DIR?  access(2) says yes to root and knows
 * nothing of read-only mounts: creating one is the only real test. */
static int
probe_writable(const char *dir)
{
	char probe[64];
	int dfd, fd, ret = 0;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	snprintf(probe, sizeof(probe), ".write-test.%ld", (long)getpid());
	fd = openat(dfd, probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
	} else {
		close(fd);
		unlinkat(dfd, probe, 0);
	}
	close(dfd);
	return ret;
}

int
state_dir_check(const char *dir, char *err, size_t errlen)
{
	char parent[PATH_MAX], *slash;
	size_t n = strlen(dir);
	struct stat sb;
	int ret;

	if (n == 0 || n >= sizeof(parent)) {
		util_seterr(err, errlen, "state_dir \"%.64s\" is %s", dir,
		            n == 0 ? "empty" : "too long");
		return -EINVAL;
	}
	if (stat(dir, &sb) == 0)
		goto exists;
	if (errno != ENOENT) {
		ret = -errno;
		util_seterr(err, errlen, "state_dir %s is not accessible: %s",
		            dir, strerror(-ret));
		return ret;
	}
	memcpy(parent, dir, n + 1);
	while (n > 1 && parent[n - 1] == '/')
		parent[--n] = '\0';
	slash = strrchr(parent, '/');
	if (slash == NULL)
		strcpy(parent, ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	if (stat(parent, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		util_seterr(err, errlen,
		            "state_dir %s does not exist, and neither does its "
		            "parent directory %s",
		            dir, parent);
		return -ENOENT;
	}
	/* EEXIST: another process made it meanwhile; stat says what. */
	if ((mkdir(dir, 0700) != 0 && errno != EEXIST) || stat(dir, &sb) != 0) {
		ret = -errno;
		util_seterr(err, errlen, "cannot create state_dir %s: %s", dir,
		            strerror(-ret));
		return ret;
	}
exists:
	if (!S_ISDIR(sb.st_mode)) {
		util_seterr(err, errlen, "state_dir %s is not a directory",
		            dir);
		return -ENOTDIR;
	}
	if ((ret = probe_writable(dir)) != 0) {
		util_seterr(err, errlen, "state_dir %s is not writable: %s",
		            dir, strerror(-ret));
		return ret;
	}
	return 0;
}

int
state_append_line(const char *path, const char *line, size_t len, char *err,
                  size_t errlen)
{
	ssize_t r;
	int fd, ret = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) <
	    0) {
		ret = -errno;
		util_seterr(err, errlen, "cannot open %s: %s", path,
		            strerror(-ret));
		return ret;
	}
	/* one write(2) with O_APPEND, as for the history: lines of two
	 * runs never mix */
	do
		r = write(fd, line, len);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		ret = -errno;
		util_seterr(err, errlen, "cannot write %s: %s", path,
		            strerror(-ret));
	} else if ((size_t)r < len) {
		(void)!write(fd, "\n", 1);
		ret = -EIO;
		util_seterr(err, errlen, "short write to %s (%zd of %zu bytes)",
		            path, r, len);
	}
	if (close(fd) != 0 && ret == 0) {
		ret = -errno;
		util_seterr(err, errlen, "cannot write %s: %s", path,
		            strerror(-ret));
	}
	return ret;
}
