/*
 * Unit tests for daemon/state.c: state.json round trips, atomic saves,
 * corrupt files moved aside with their content intact, entries skipped one
 * by one, history lines (escaped, whole under concurrent appends), the
 * state_dir check, and the time of a 10,000-job save and load (printed,
 * not asserted).  Everything happens in a fresh mkdtemp directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "state.h"
#include "test.h"

static char scratch[256];

/* A fresh directory scratch/NAME; its path into buf. */
static const char *
fresh(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", scratch, name);
	if (mkdir(buf, 0700) != 0) {
		perror(buf);
		exit(1);
	}
	return buf;
}

static void
put_file(const char *dir, const char *name, const char *text, size_t len)
{
	char path[512];
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		fprintf(stderr, "%s/%s: path too long\n", dir, name);
		exit(1);
	}
	if ((f = fopen(path, "wb")) == NULL || fwrite(text, 1, len, f) != len ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* The content of DIR/NAME (free()), or NULL; its length into *len. */
static char *
slurp(const char *dir, const char *name, size_t *len)
{
	char path[512], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL)
		abort();
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		abort();
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Number of entries of DIR (without . and ..); the name of the one
 * starting with PREFIX into found (when there is one). */
static int
count_entries(const char *dir, const char *prefix, char *found, size_t foundlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	if (found)
		found[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		if (found && prefix &&
		    strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			snprintf(found, foundlen, "%s", de->d_name);
	}
	closedir(d);
	return n;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
sample_op(struct state_op *op, const char *job, uint64_t run_id,
          const char *env)
{
	memset(op, 0, sizeof(*op));
	snprintf(op->job, sizeof(op->job), "%s", job);
	op->run_id = run_id;
	snprintf(op->target.env_id, sizeof(op->target.env_id), "%s", env);
	snprintf(op->op_id, sizeof(op->op_id), "op-%s-%llu", env,
	         (unsigned long long)run_id);
	op->step = 1;
	op->started_ms = 1774753200123;
}

static bool
same_op(const struct state_op *a, const struct state_op *b)
{
	const struct target *x = &a->target, *y = &b->target;

	return strcmp(a->job, b->job) == 0 && a->run_id == b->run_id &&
	       a->step == b->step && strcmp(a->op_id, b->op_id) == 0 &&
	       a->deployment == b->deployment &&
	       a->started_ms == b->started_ms &&
	       strcmp(x->env_id, y->env_id) == 0 &&
	       strcmp(x->env_name, y->env_name) == 0 &&
	       strcmp(x->site_id, y->site_id) == 0 &&
	       strcmp(x->site_name, y->site_name) == 0 &&
	       strcmp(x->cdn_cache_id, y->cdn_cache_id) == 0 &&
	       strcmp(x->edge_cache_id, y->edge_cache_id) == 0 &&
	       strcmp(x->source_env_id, y->source_env_id) == 0 &&
	       x->resolved == y->resolved;
}

static void
test_round_trip(void)
{
	static const char odd[] = "quote \" back \\ nl \n tab \t "
	                          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
	struct state st = {0}, back;
	struct state_op a, b;
	char dir[512], warn[STATE_MSG_MAX], err[STATE_MSG_MAX];
	struct stat sb;

	fresh(dir, sizeof(dir), "roundtrip");
	CHECK_INT(state_set_last_fired(&st, "nightly", 1774753200), 0);
	CHECK_INT(state_set_last_fired(&st, odd, -5), 0);
	CHECK_INT(state_set_last_fired(&st, "nightly", 1774839600), 0);
	CHECK_INT(st.nlast, 2);

	sample_op(&a, odd, UINT64_MAX, "env-1");
	a.deployment = true;
	a.step = 7;
	a.started_ms = INT64_MIN;
	a.target.resolved = true;
	snprintf(a.target.env_name, sizeof(a.target.env_name), "%s", odd);
	snprintf(a.target.site_id, sizeof(a.target.site_id), "site-\"1\"");
	snprintf(a.target.site_name, sizeof(a.target.site_name), "%s", odd);
	snprintf(a.target.cdn_cache_id, sizeof(a.target.cdn_cache_id), "cdn");
	snprintf(a.target.edge_cache_id, sizeof(a.target.edge_cache_id),
	         "edge");
	snprintf(a.target.source_env_id, sizeof(a.target.source_env_id), "src");
	snprintf(a.op_id, sizeof(a.op_id), "%s", odd);
	sample_op(&b, "nightly", 0, "env-2");
	CHECK_INT(state_op_put(&st, &a), 0);
	CHECK_INT(state_op_put(&st, &b), 0);

	CHECK_INT(state_save(&st, dir, err, sizeof(err)), 0);
	CHECK_INT(state_load(&back, dir, warn, sizeof(warn)), 0);
	CHECK_STR(warn, "");
	CHECK_INT(back.nlast, 2);
	CHECK_INT(state_last_fired(&back, "nightly"), 1774839600);
	CHECK_INT(state_last_fired(&back, odd), -5);
	CHECK_INT(state_last_fired(&back, "other"), -1);
	CHECK_INT(back.nops, 2);
	if (back.nops == 2) {
		CHECK(same_op(&back.ops[0], &a));
		CHECK(same_op(&back.ops[1], &b));
	}

	/* Saved with no temp file left, mode 0600 whatever the umask. */
	CHECK_INT(count_entries(dir, NULL, NULL, 0), 1);
	CHECK(stat(strcat(dir, "/state.json"), &sb) == 0 &&
	      (sb.st_mode & 07777) == 0600);
	state_free(&st);
	state_free(&back);
	CHECK(back.nlast == 0 && back.last == NULL && back.nops == 0);
}

/* The snapshot the thread pool encodes: the same text as the state it
 * was taken from, and untouched by what changes afterwards. */
static void
test_snapshot(void)
{
	struct state st = {0}, snap = {0};
	struct state_op op;
	char err[STATE_MSG_MAX], *a = NULL, *b = NULL, *c = NULL;
	size_t na = 0, nb = 0, nc = 0;

	CHECK_INT(state_snapshot(&st, &snap), 0); /* empty */
	CHECK_INT(state_encode(&snap, &a, &na, err, sizeof(err)), 0);
	CHECK_INT(state_encode(&st, &b, &nb, err, sizeof(err)), 0);
	CHECK(na == nb && a && b && memcmp(a, b, na) == 0);
	state_free(&snap);
	free(a);
	free(b);

	CHECK_INT(state_set_last_fired(&st, "nightly", 1774753200), 0);
	sample_op(&op, "nightly", 42, "env-1");
	CHECK_INT(state_op_put(&st, &op), 0);
	CHECK_INT(state_encode(&st, &a, &na, err, sizeof(err)), 0);
	CHECK_INT(state_snapshot(&st, &snap), 0);
	CHECK_INT(state_set_last_fired(&st, "nightly", 1774839600), 0);
	CHECK_INT(state_set_last_fired(&st, "weekly", 1774839600), 0);
	CHECK_INT(state_op_remove(&st, "nightly", 42, "env-1"), 0);
	CHECK_INT(state_encode(&snap, &b, &nb, err, sizeof(err)), 0);
	CHECK_INT(state_encode(&st, &c, &nc, err, sizeof(err)), 0);
	CHECK(na == nb && a && b && memcmp(a, b, na) == 0);
	CHECK(c != NULL && (nc != na || memcmp(a, c, na) != 0));
	free(b);
	/* a snapshot taken again into the same copy keeps its mapping while
	 * it is big enough, grows it when not, and reads as the state */
	{
		void *block = NULL;
		char name[32];

		CHECK_INT(state_snapshot(&st, &snap), 0);
		block = snap.last;
		CHECK_INT(state_encode(&snap, &b, &nb, err, sizeof(err)), 0);
		CHECK(nb == nc && b && memcmp(b, c, nc) == 0);
		free(b);
		CHECK_INT(state_snapshot(&st, &snap), 0);
		CHECK(snap.last == block);
		for (int i = 0; i < 3000; i++) {
			snprintf(name, sizeof(name), "job-%d", i);
			CHECK_INT(state_set_last_fired(&st, name, i), 0);
		}
		free(c);
		CHECK_INT(state_encode(&st, &c, &nc, err, sizeof(err)), 0);
		CHECK_INT(state_snapshot(&st, &snap), 0);
		CHECK_INT(snap.nlast, 3002);
		CHECK_INT(state_encode(&snap, &b, &nb, err, sizeof(err)), 0);
		CHECK(nb == nc && b && memcmp(b, c, nc) == 0);
	}
	state_free(&snap);
	state_free(&st);
	free(a);
	free(b);
	free(c);
}

/* A name cut inside a UTF-8 character (a fixed-size copy) must not make
 * the save fail: the broken byte becomes U+FFFD. */
static void
test_invalid_utf8(void)
{
	struct state st = {0}, back;
	struct state_op op;
	char dir[512], err[STATE_MSG_MAX] = "", warn[STATE_MSG_MAX];

	fresh(dir, sizeof(dir), "utf8");
	sample_op(&op, "j", 1, "env");
	snprintf(op.target.site_name, sizeof(op.target.site_name), "caf\xc3");
	CHECK_INT(state_op_put(&st, &op), 0);
	CHECK_INT(state_save(&st, dir, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_INT(state_load(&back, dir, warn, sizeof(warn)), 0);
	CHECK_INT(back.nops, 1);
	if (back.nops == 1)
		CHECK_STR(back.ops[0].target.site_name, "caf\xef\xbf\xbd");
	state_free(&st);
	state_free(&back);
}

static void
test_missing(void)
{
	struct state st;
	char dir[512], warn[STATE_MSG_MAX];

	fresh(dir, sizeof(dir), "missing");
	CHECK_INT(state_load(&st, dir, warn, sizeof(warn)), 0);
	CHECK_STR(warn, "");
	CHECK(st.nlast == 0 && st.nops == 0);
	CHECK_INT(state_last_fired(&st, "x"), -1);
	state_free(&st);
	strcat(dir, "/nope");
	CHECK_INT(state_load(&st, dir, warn, sizeof(warn)), 0);
	CHECK(st.nlast == 0 && st.nops == 0);
	state_free(&st);
}

struct corrupt_case {
	const char *name;
	const char *text;
	size_t len;
	const char *why;
};

#define TXT(s) s, sizeof(s) - 1

static const struct corrupt_case corrupt_cases[] = {
    {"syntax", TXT("{\"version\":1,"),
     "state.json is not valid JSON (invalid JSON"},
    {"truncated",
     TXT("{\"version\":1,\"last\":[{\"job\":\"a\",\"fired\":17747"),
     "state.json is not valid JSON ("},
    {"empty", TXT(""), "state.json is not valid JSON ("},
    {"version2", TXT("{\"version\":2,\"last\":[]}"),
     "state.json has format version 2, and this daemon reads version 1"},
    {"noversion", TXT("{\"last\":[]}"), "state.json has no \"version\""},
    {"strversion", TXT("{\"version\":\"1\"}"),
     "has a \"version\" that is not an integer"},
    {"array", TXT("[{\"version\":1}]"), "state.json is not a JSON object"},
    {"nul", TXT("{\"version\":1,\0\"last\":[]}"),
     "state.json is not valid JSON (NUL byte in JSON at offset 13)"},
    {"lastobj", TXT("{\"version\":1,\"last\":{\"a\":1}}"),
     "has a \"last\" that is not an array"},
    {"opsstr", TXT("{\"version\":1,\"ops\":\"x\"}"),
     "has a \"ops\" that is not an array"},
    {"dupkey", TXT("{\"version\":1,\"version\":1}"), "duplicate key"},
    {"latin1", TXT("{\"version\":1,\"last\":[{\"job\":\"caf\xe9\"}]}"),
     "invalid UTF-8"},
};

static void
test_corrupt(void)
{
	for (size_t i = 0; i < sizeof(corrupt_cases) / sizeof(*corrupt_cases);
	     i++) {
		const struct corrupt_case *c = &corrupt_cases[i];
		char dir[512], name[64], aside[256], warn[STATE_MSG_MAX];
		struct state st;
		size_t len = 0;
		char *got;
		int ret;

		snprintf(name, sizeof(name), "corrupt-%s", c->name);
		fresh(dir, sizeof(dir), name);
		put_file(dir, "state.json", c->text, c->len);
		ret = state_load(&st, dir, warn, sizeof(warn));
		CHECK_INT(ret, 1);
		CHECK(strstr(warn, c->why) != NULL);
		CHECK(strstr(warn, "; moved aside to ") != NULL);
		CHECK(strstr(warn, "; starting with no saved state") != NULL);
		if (strstr(warn, c->why) == NULL)
			fprintf(stderr, "case %s: %s\n", c->name, warn);
		CHECK(st.nlast == 0 && st.nops == 0);
		/* Only the renamed file is left, byte for byte. */
		CHECK_INT(count_entries(dir, "state.json.corrupt-", aside,
		                        sizeof(aside)),
		          1);
		CHECK(aside[0] != '\0' && strstr(warn, aside) != NULL);
		got = aside[0] ? slurp(dir, aside, &len) : NULL;
		CHECK(got != NULL && len == c->len &&
		      memcmp(got, c->text, len) == 0);
		free(got);
		state_free(&st);
	}
}

/* A second corrupt file in the same second gets a name of its own. */
static void
test_corrupt_twice(void)
{
	char dir[512], warn1[STATE_MSG_MAX], warn2[STATE_MSG_MAX];
	struct state st;
	int n;

	fresh(dir, sizeof(dir), "twice");
	put_file(dir, "state.json", TXT("first"));
	CHECK_INT(state_load(&st, dir, warn1, sizeof(warn1)), 1);
	state_free(&st);
	put_file(dir, "state.json", TXT("second"));
	CHECK_INT(state_load(&st, dir, warn2, sizeof(warn2)), 1);
	state_free(&st);
	n = count_entries(dir, NULL, NULL, 0);
	CHECK_INT(n, 2);
	CHECK(strcmp(warn1, warn2) != 0);
}

/* Not a file, or too big to read: moved aside unread. */
static void
test_unreadable(void)
{
	char dir[512], path[1024], aside[256], warn[STATE_MSG_MAX];
	struct state st;
	struct stat sb;
	int fd;

	fresh(dir, sizeof(dir), "isdir");
	snprintf(path, sizeof(path), "%s/state.json", dir);
	CHECK(mkdir(path, 0700) == 0);
	CHECK_INT(state_load(&st, dir, warn, sizeof(warn)), 1);
	CHECK(strstr(warn, "state.json is not a regular file; moved aside") !=
	      NULL);
	state_free(&st);

	fresh(dir, sizeof(dir), "huge");
	snprintf(path, sizeof(path), "%s/state.json", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)STATE_MAX_BYTES + 1) == 0);
	if (fd >= 0)
		close(fd);
	CHECK_INT(state_load(&st, dir, warn, sizeof(warn)), 1);
	CHECK(strstr(warn, "state.json is 67108865 bytes, over the 67108864-"
	                   "byte limit; moved aside") != NULL);
	CHECK_INT(
	    count_entries(dir, "state.json.corrupt-", aside, sizeof(aside)), 1);
	snprintf(path, sizeof(path), "%s/%s", dir, aside);
	CHECK(stat(path, &sb) == 0 && sb.st_size == (off_t)STATE_MAX_BYTES + 1);
	state_free(&st);

	/* The pure decoder checks the size before touching the bytes. */
	CHECK_INT(
	    state_decode(&st, "", STATE_MAX_BYTES + 1, warn, sizeof(warn)),
	    -EMSGSIZE);
	CHECK(st.nlast == 0 && st.last == NULL);
}

static void
test_partial(void)
{
	static const char doc[] =
	    "{\"version\":1,\"last\":["
	    "{\"job\":\"a\",\"fired\":100},"
	    "{\"job\":\"b\",\"fired\":\"200\"},"
	    "{\"job\":\"\",\"fired\":1},"
	    "{\"fired\":1},"
	    "7,"
	    "{\"job\":\"c\",\"fired\":300}],"
	    "\"ops\":["
	    "{\"job\":\"a\",\"run_id\":\"5\",\"step\":2,\"op_id\":\"o1\","
	    "\"deployment\":false,\"started_ms\":1000,"
	    "\"target\":{\"env_id\":\"e1\",\"site_name\":\"s\"}},"
	    "{\"job\":\"a\",\"run_id\":6,\"step\":0,\"op_id\":\"o2\","
	    "\"deployment\":true,\"started_ms\":1000,"
	    "\"target\":{\"env_id\":\"e1\",\"resolved\":true}},"
	    "{\"job\":\"a\",\"run_id\":\"7\",\"step\":0,"
	    "\"deployment\":false,\"started_ms\":1,"
	    "\"target\":{\"env_id\":\"e\"}},"
	    "{\"job\":\"a\",\"run_id\":\"18446744073709551616\",\"step\":0,"
	    "\"op_id\":\"o\",\"deployment\":false,\"started_ms\":1,"
	    "\"target\":{\"env_id\":\"e\"}},"
	    "{\"job\":\"a\",\"run_id\":\"8\",\"step\":0,\"op_id\":\"o\","
	    "\"deployment\":false,\"started_ms\":1,\"target\":\"e\"},"
	    "{\"job\":\"a\",\"run_id\":\"9\",\"step\":-1,\"op_id\":\"o\","
	    "\"deployment\":false,\"started_ms\":1,"
	    "\"target\":{\"env_id\":\"e\"}},"
	    "{\"job\":\"a\",\"run_id\":\"10\",\"step\":0,\"op_id\":\"o\","
	    "\"deployment\":false,\"started_ms\":1,"
	    "\"target\":{\"env_id\":\"e\",\"site_name\":5}}"
	    "]}";
	char dir[512], warn[STATE_MSG_MAX];
	struct state st;

	fresh(dir, sizeof(dir), "partial");
	put_file(dir, "state.json", doc, sizeof(doc) - 1);
	CHECK_INT(state_load(&st, dir, warn, sizeof(warn)), 1);
	CHECK(strstr(warn, "state.json: skipped 9 invalid entries (the first: "
	                   "last[1]: ") != NULL);
	CHECK(strstr(warn, "moved aside") == NULL);
	CHECK_INT(count_entries(dir, NULL, NULL, 0), 1);
	CHECK_INT(st.nlast, 2);
	CHECK_INT(state_last_fired(&st, "a"), 100);
	CHECK_INT(state_last_fired(&st, "b"), -1);
	CHECK_INT(state_last_fired(&st, "c"), 300);
	CHECK_INT(st.nops, 2);
	if (st.nops == 2) {
		CHECK_INT(st.ops[0].run_id, 5);
		CHECK_INT(st.ops[0].step, 2);
		CHECK_STR(st.ops[0].target.site_name, "s");
		CHECK(!st.ops[0].target.resolved);
		CHECK_INT(st.ops[1].run_id, 6);
		CHECK(st.ops[1].deployment && st.ops[1].target.resolved);
	}
	state_free(&st);

	/* One bad op alone: the first reason is named. */
	CHECK_INT(state_decode(&st,
	                       TXT("{\"version\":1,\"ops\":[{\"job\":\"a\"}]}"),
	                       warn, sizeof(warn)),
	          1);
	CHECK_STR(warn, "skipped 1 invalid entry (the first: ops[0]: "
	                "\"run_id\" missing or not an unsigned integer)");
	state_free(&st);
}

static void
test_ops(void)
{
	struct state st = {0};
	struct state_op op;

	sample_op(&op, "j", 1, "e1");
	CHECK_INT(state_op_put(&st, &op), 0);
	op.step = 2;
	CHECK_INT(state_op_put(&st, &op), 0); /* replaces */
	CHECK_INT(st.nops, 1);
	CHECK_INT(st.ops[0].step, 2);
	sample_op(&op, "j", 1, "e2"); /* another target of the same run */
	CHECK_INT(state_op_put(&st, &op), 0);
	sample_op(&op, "j", 2, "e1"); /* the next run */
	CHECK_INT(state_op_put(&st, &op), 0);
	CHECK_INT(st.nops, 3);
	CHECK_INT(state_op_remove(&st, "j", 1, "e2"), 0);
	CHECK_INT(state_op_remove(&st, "j", 1, "e2"), -ENOENT);
	CHECK_INT(state_op_remove(&st, "k", 1, "e1"), -ENOENT);
	CHECK_INT(st.nops, 2);
	CHECK(st.ops[0].run_id == 1 && st.ops[1].run_id == 2);
	/* An unterminated field is refused. */
	memset(op.op_id, 'x', sizeof(op.op_id));
	CHECK_INT(state_op_put(&st, &op), -EINVAL);
	CHECK_INT(st.nops, 2);
	state_free(&st);

	/* A job name longer than config allows is refused. */
	{
		char longname[STATE_JOB_MAX + 1];

		memset(longname, 'n', STATE_JOB_MAX);
		longname[STATE_JOB_MAX] = '\0';
		CHECK_INT(state_set_last_fired(&st, longname, 1), -EINVAL);
		longname[STATE_JOB_MAX - 1] = '\0';
		CHECK_INT(state_set_last_fired(&st, longname, 1), 0);
		CHECK_INT(state_last_fired(&st, longname), 1);
		CHECK_INT(state_set_last_fired(&st, "", 1), -EINVAL);
	}
	state_free(&st);
}

static bool
keep_even(const char *job, void *arg)
{
	(*(int *)arg)++;
	return (atoi(job + 1) % 2) == 0;
}

static void
test_forget(void)
{
	struct state st = {0};
	struct state_op op;
	char name[32];
	int calls = 0;

	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "j%d", i);
		CHECK_INT(state_set_last_fired(&st, name, i), 0);
	}
	sample_op(&op, "j1", 9, "env");
	CHECK_INT(state_op_put(&st, &op), 0);
	state_forget_jobs(&st, keep_even, &calls);
	CHECK_INT(calls, 100);
	CHECK_INT(st.nlast, 50);
	CHECK_INT(state_last_fired(&st, "j1"), -1);
	CHECK_INT(state_last_fired(&st, "j98"), 98);
	CHECK_INT(state_last_fired(&st, "j0"), 0);
	/* The removed job's operation is still followed. */
	CHECK_INT(st.nops, 1);
	CHECK_STR(st.nops ? st.ops[0].job : NULL, "j1");
	/* The index still works for changes after the purge. */
	CHECK_INT(state_set_last_fired(&st, "j1", 7), 0);
	CHECK_INT(state_set_last_fired(&st, "j2", 8), 0);
	CHECK_INT(st.nlast, 51);
	CHECK_INT(state_last_fired(&st, "j1"), 7);
	CHECK_INT(state_last_fired(&st, "j2"), 8);
	state_free(&st);
}

static bool
keep_none_but(const char *job, void *arg)
{
	return strcmp(job, arg) == 0;
}

static bool
keep_not(const char *job, void *arg)
{
	return strcmp(job, arg) != 0;
}

/* Names are packed in a pool: an entry costs its name, not the longest
 * name.  Forgetting leaves gaps that are closed in place once they are
 * half the pool, with every name and the index still right. */
static void
test_names_pool(void)
{
	struct state st = {0};
	char name[STATE_JOB_MAX], want[STATE_JOB_MAX];
	size_t bytes = 0;
	int64_t wrong = 0;

	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "s-%d-%d", i / 100, i % 100);
		bytes += strlen(name) + 1;
		CHECK_INT(state_set_last_fired(&st, name, i), 0);
	}
	CHECK_INT(sizeof(struct state_last), 16);
	CHECK_INT(st.npool, bytes);
	/* one name as long as allowed, one too long */
	memset(name, 'x', STATE_JOB_MAX - 1);
	name[STATE_JOB_MAX - 1] = '\0';
	CHECK_INT(state_set_last_fired(&st, name, 5), 0);
	CHECK_STR(state_last_job(&st, st.nlast - 1), name);
	CHECK_INT(state_set_last_fired(&st, "", 5), -EINVAL);
	{
		char too_long[STATE_JOB_MAX + 1];

		memset(too_long, 'y', STATE_JOB_MAX);
		too_long[STATE_JOB_MAX] = '\0';
		CHECK_INT(state_set_last_fired(&st, too_long, 5), -EINVAL);
	}
	/* forget every fifth, one at a time: a fifth of the pool dead, and
	 * left there */
	for (int i = 0; i < 1000; i += 5) {
		snprintf(want, sizeof(want), "s-%d-%d", i / 100, i % 100);
		state_forget_jobs(&st, keep_not, want);
	}
	CHECK_INT(st.nlast, 801);
	CHECK(st.dead > 0);
	/* then all but one: the pool is compacted to it */
	snprintf(want, sizeof(want), "s-9-99");
	state_forget_jobs(&st, keep_none_but, want);
	CHECK_INT(st.nlast, 1);
	CHECK_INT(st.dead, 0);
	CHECK_INT(st.npool, strlen(want) + 1);
	CHECK_STR(state_last_job(&st, 0), want);
	CHECK_INT(state_last_fired(&st, want), 999);
	/* and it grows again from there */
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "t-%d", i);
		CHECK_INT(state_set_last_fired(&st, name, 10000 + i), 0);
	}
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "t-%d", i);
		wrong += state_last_fired(&st, name) != 10000 + i;
	}
	CHECK_INT(wrong, 0);
	CHECK_INT(state_last_fired(&st, want), 999);
	state_free(&st);
}

/* Split BUF at newlines into at most MAX lines; the count. */
static size_t
split_lines(char *buf, char **lines, size_t max)
{
	size_t n = 0;

	for (char *p = buf; *p && n < max;) {
		char *nl = strchr(p, '\n');

		if (nl == NULL)
			return SIZE_MAX; /* a line without its end */
		*nl = '\0';
		lines[n++] = p;
		p = nl + 1;
	}
	return n;
}

static void
test_history(void)
{
	struct state_history h = {
	    .job = "nightly",
	    .action = "clear-cache",
	    .env_id = "env-1",
	    .target_name = "site/live",
	    .op_id = "op-1",
	    .outcome = "failed",
	    .message = "line one\nline \"two\"\r\x01 caf\xc3\xa9",
	    .note = NULL,
	    .run_id = UINT64_MAX,
	    .start_ms = 1774753200123,
	    .end_ms = 1774753205623,
	};
	char dir[512], err[STATE_MSG_MAX], jerr[160], path[1024], *buf,
	    *lines[4];
	size_t len = 0, n;
	struct stat sb;
	yajl_val v;
	int64_t i;

	fresh(dir, sizeof(dir), "history");
	CHECK_INT(state_history_append(dir, &h, err, sizeof(err)), 0);
	h.job = "second";
	h.start_ms = -1;
	h.end_ms = -2; /* a clock stepped back */
	h.message = NULL;
	h.note = "no CDN";
	CHECK_INT(state_history_append(dir, &h, err, sizeof(err)), 0);

	snprintf(path, sizeof(path), "%s/history.jsonl", dir);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0600);
	buf = slurp(dir, "history.jsonl", &len);
	CHECK(buf != NULL);
	if (buf == NULL)
		return;
	CHECK(strstr(buf, "line one\\nline \\\"two\\\"\\r\\u0001") != NULL);
	n = split_lines(buf, lines, 4);
	CHECK_INT(n, 2);
	if (n != 2) {
		free(buf);
		return;
	}
	CHECK_INT(json_parse(&v, lines[0], strlen(lines[0]), NULL, jerr,
	                     sizeof(jerr)),
	          0);
	CHECK_STR(json_str(v, "job", NULL), "nightly");
	CHECK_STR(json_str(v, "action", NULL), "clear-cache");
	CHECK_STR(json_str(v, "env_id", NULL), "env-1");
	CHECK_STR(json_str(v, "target", NULL), "site/live");
	CHECK_STR(json_str(v, "run_id", NULL), "18446744073709551615");
	CHECK_STR(json_str(v, "op_id", NULL), "op-1");
	CHECK_STR(json_str(v, "outcome", NULL), "failed");
	CHECK_STR(json_str(v, "message", NULL),
	          "line one\nline \"two\"\r\x01 caf\xc3\xa9");
	CHECK(json_is_null(v, "note", NULL));
	CHECK_STR(json_str(v, "start", NULL), "2026-03-29T03:00:00.123Z");
	CHECK_STR(json_str(v, "end", NULL), "2026-03-29T03:00:05.623Z");
	CHECK(json_int(v, &i, "start_ms", NULL) == 0 && i == 1774753200123);
	CHECK(json_int(v, &i, "end_ms", NULL) == 0 && i == 1774753205623);
	CHECK(json_int(v, &i, "duration_ms", NULL) == 0 && i == 5500);
	json_free(v);

	CHECK_INT(json_parse(&v, lines[1], strlen(lines[1]), NULL, jerr,
	                     sizeof(jerr)),
	          0);
	CHECK_STR(json_str(v, "job", NULL), "second");
	CHECK(json_is_null(v, "message", NULL));
	CHECK_STR(json_str(v, "note", NULL), "no CDN");
	CHECK_STR(json_str(v, "start", NULL), "1969-12-31T23:59:59.999Z");
	CHECK_STR(json_str(v, "end", NULL), "1969-12-31T23:59:59.998Z");
	CHECK(json_int(v, &i, "duration_ms", NULL) == 0 && i == 0);
	json_free(v);
	free(buf);

	/* Years ISO-8601 cannot write plainly: null, the raw ms kept. */
	h.start_ms = INT64_MAX;
	h.end_ms = INT64_MIN;
	CHECK_INT(state_history_append(dir, &h, err, sizeof(err)), 0);
	buf = slurp(dir, "history.jsonl", &len);
	CHECK(buf != NULL && strstr(buf, "\"start\":null,\"start_ms\":"
	                                 "9223372036854775807") != NULL);
	free(buf);

	CHECK_INT(
	    state_history_append("/nonexistent/kcron", &h, err, sizeof(err)),
	    -ENOENT);
	CHECK_STR(err, "cannot open /nonexistent/kcron/history.jsonl: No such "
	               "file or directory");
}

#define WRITERS 4
#define LINES   300

/* Several processes append long lines at once: every line read back is
 * whole and parses, and none is lost. */
static void
test_history_concurrent(void)
{
	char dir[512], msg[6000], jerr[160], *buf, **lines;
	size_t len = 0, n, good = 0;
	pid_t pids[WRITERS];

	fresh(dir, sizeof(dir), "concurrent");
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		if (pids[w] < 0) {
			perror("fork");
			exit(1);
		}
		if (pids[w] > 0)
			continue;
		memset(msg, 'a' + w, sizeof(msg) - 1);
		msg[sizeof(msg) - 1] = '\0';
		for (int i = 0; i < LINES; i++) {
			struct state_history h = {.job = "j",
			                          .outcome = "succeeded",
			                          .message = msg,
			                          .run_id = (uint64_t)i};
			char err[STATE_MSG_MAX];

			if (state_history_append(dir, &h, err, sizeof(err)) !=
			    0)
				_exit(1);
		}
		_exit(0);
	}
	for (int w = 0; w < WRITERS; w++) {
		int status = 0;

		CHECK(waitpid(pids[w], &status, 0) == pids[w] &&
		      WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	buf = slurp(dir, "history.jsonl", &len);
	lines = calloc(WRITERS * LINES + 1, sizeof(*lines));
	CHECK(buf != NULL && lines != NULL);
	if (buf == NULL || lines == NULL)
		return;
	n = split_lines(buf, lines, WRITERS * LINES + 1);
	CHECK_INT(n, WRITERS * LINES);
	for (size_t i = 0; i < n && n != SIZE_MAX; i++) {
		yajl_val v;
		const char *m;

		if (json_parse(&v, lines[i], strlen(lines[i]), NULL, jerr,
		               sizeof(jerr)) != 0)
			continue;
		m = json_str(v, "message", NULL);
		/* One writer's bytes only. */
		if (m != NULL && strlen(m) == sizeof(msg) - 1 &&
		    strspn(m, (char[]){m[0], 0}) == sizeof(msg) - 1)
			good++;
		json_free(v);
	}
	CHECK_INT(good, WRITERS * LINES);
	free(lines);
	free(buf);
}

static void
test_dir_check(void)
{
	char dir[512], path[1024], err[STATE_MSG_MAX];
	struct stat sb;

	fresh(dir, sizeof(dir), "dircheck");
	CHECK_INT(state_dir_check(dir, err, sizeof(err)), 0);
	/* The write probe leaves nothing behind. */
	CHECK_INT(count_entries(dir, NULL, NULL, 0), 0);

	/* Missing, parent present: created 0700 (a trailing slash too). */
	snprintf(path, sizeof(path), "%s/new/", dir);
	CHECK_INT(state_dir_check(path, err, sizeof(err)), 0);
	CHECK(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) &&
	      (sb.st_mode & 0777) == 0700);

	snprintf(path, sizeof(path), "%s/a/b", dir);
	CHECK_INT(state_dir_check(path, err, sizeof(err)), -ENOENT);
	{
		char want[2 * STATE_MSG_MAX];

		snprintf(want, sizeof(want),
		         "state_dir %s/a/b does not exist, and neither does "
		         "its parent directory %s/a",
		         dir, dir);
		CHECK_STR(err, want);
	}

	put_file(dir, "file", TXT("x"));
	snprintf(path, sizeof(path), "%s/file", dir);
	CHECK_INT(state_dir_check(path, err, sizeof(err)), -ENOTDIR);
	CHECK(strstr(err, "/file is not a directory") != NULL);
	snprintf(path, sizeof(path), "%s/file/sub", dir);
	CHECK(state_dir_check(path, err, sizeof(err)) < 0);
	CHECK(strstr(err, "/file/sub") != NULL);

	/* Root writes anywhere; the permission case needs another user. */
	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "%s/ro", dir);
		CHECK(mkdir(path, 0500) == 0);
		CHECK_INT(state_dir_check(path, err, sizeof(err)), -EACCES);
		CHECK(strstr(err, "/ro is not writable: Permission denied") !=
		      NULL);
	} else {
		printf("test_state: running as root, the permission case of "
		       "state_dir_check is not exercised\n");
	}

	/* Saving into something that is not a directory says so. */
	snprintf(path, sizeof(path), "%s/file", dir);
	{
		struct state st = {0};

		CHECK_INT(state_save(&st, path, err, sizeof(err)), -ENOTDIR);
		CHECK(strstr(err, "cannot write ") == err &&
		      strstr(err, "/file/state.json: open the directory: Not "
		                  "a directory") != NULL);
	}
}

/* Other files written like state.json (the report action's output). */
static void
test_write_file(void)
{
	char dir[512], path[1024], err[STATE_MSG_MAX], *got;
	struct stat sb;
	size_t len = 0;

	fresh(dir, sizeof(dir), "writefile");
	snprintf(path, sizeof(path), "%s/report.json", dir);
	put_file(dir, "report.json.tmp", TXT("stale"));
	CHECK(chmod(path, 0644) != 0); /* not there yet */
	CHECK_INT(state_write_file(path, TXT("{\"a\":1}\n"), err, sizeof(err)),
	          0);
	CHECK_INT(state_write_file(path, TXT("{\"b\":2}\n"), err, sizeof(err)),
	          0);
	got = slurp(dir, "report.json", &len);
	CHECK(got != NULL && strcmp(got, "{\"b\":2}\n") == 0);
	free(got);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0600);
	/* The stale temp file was reused and renamed away. */
	CHECK_INT(count_entries(dir, NULL, NULL, 0), 1);

	snprintf(path, sizeof(path), "%s/", dir);
	CHECK_INT(state_write_file(path, TXT("x"), err, sizeof(err)), -EISDIR);
	snprintf(path, sizeof(path), "%s/none/report.json", dir);
	CHECK_INT(state_write_file(path, TXT("x"), err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "/none/report.json: open the directory: No such "
	                  "file or directory") != NULL);
}

static void
test_scale(void)
{
	struct state st = {0}, back;
	char dir[512], name[32], err[STATE_MSG_MAX], warn[STATE_MSG_MAX];
	int64_t t0, t1, t2, t3;
	int miss = 0;

	fresh(dir, sizeof(dir), "scale");
	t0 = now_ns();
	for (int i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "job-%05d", i);
		CHECK_INT(state_set_last_fired(&st, name, 1774753200 + i), 0);
	}
	for (int i = 0; i < 20; i++) {
		struct state_op op;

		snprintf(name, sizeof(name), "job-%05d", i);
		sample_op(&op, name, (uint64_t)i, "env");
		CHECK_INT(state_op_put(&st, &op), 0);
	}
	t1 = now_ns();
	CHECK_INT(state_save(&st, dir, err, sizeof(err)), 0);
	t2 = now_ns();
	CHECK_INT(state_load(&back, dir, warn, sizeof(warn)), 0);
	t3 = now_ns();
	CHECK_INT(back.nlast, 10000);
	CHECK_INT(back.nops, 20);
	for (int i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "job-%05d", i);
		miss += state_last_fired(&back, name) != 1774753200 + i;
	}
	CHECK_INT(miss, 0);
	printf("test_state: 10000 jobs: set %.2f ms, save %.2f ms (with "
	       "fsync), load %.2f ms, 10000 lookups %.2f ms\n",
	       (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6,
	       (now_ns() - t3) / 1e6);
	state_free(&st);
	state_free(&back);
}

/* Remove the scratch tree (depth 2 is all the tests make). */
static void
cleanup(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[1024];
		struct stat sb;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && depth > 0)
			cleanup(path, depth - 1);
		else
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Learned operation durations survive encode/decode (oldest first, the
 * ring's order kept), a snapshot, and bad entries are skipped. */
static void
test_durations(void)
{
	static const char bad[] = "{\"version\":1,\"durations\":["
	                          "{\"key\":\"a@c\",\"ms\":[1,2,-3]},"
	                          "{\"ms\":[1]},"
	                          "{\"key\":\"ok@c\",\"ms\":[4,5,6]}]}";
	struct state st = {0}, back, copy = {0};
	struct ops_history *h = ops_book_get(&st.durations, "backup@c1", true);
	const struct ops_history *b;
	char *text, warn[STATE_MSG_MAX];
	size_t len;
	int64_t med, up;

	for (int i = 0; i < OPS_SAMPLES + 5; i++)
		ops_history_add(h, 1000 * (i + 1));
	CHECK_INT(state_encode(&st, &text, &len, warn, sizeof(warn)), 0);
	CHECK(strstr(text, "\"durations\":[{\"key\":\"backup@c1\",\"ms\":[6000,"
	                   "7000,") != NULL);
	CHECK_INT(state_decode(&back, text, len, warn, sizeof(warn)), 0);
	b = ops_book_get(&back.durations, "backup@c1", false);
	CHECK(b != NULL && b->n == OPS_SAMPLES);
	CHECK(b != NULL && ops_history_estimate(b, &med, &up) &&
	      med == 1000 * (5 + 1 + OPS_SAMPLES / 2));
	CHECK_INT(state_snapshot(&st, &copy), 0);
	CHECK_INT(copy.durations.n, 1);
	CHECK(memcmp(&copy.durations.v[0], &st.durations.v[0],
	             sizeof(st.durations.v[0])) == 0);
	state_free(&copy);
	state_free(&back);
	free(text);
	CHECK_INT(state_decode(&back, bad, strlen(bad), warn, sizeof(warn)), 2);
	CHECK_STR(warn, "skipped 2 invalid entries (the first: durations[0]: "
	                "needs a \"key\" and \"ms\", a list of durations)");
	CHECK_INT(back.durations.n, 1);
	state_free(&back);
	state_free(&st);
}

/* notify's memory and undelivered notices survive encode, decode and a
 * snapshot; a memory back to zero is forgotten. */
static void
test_notify_parts(void)
{
	struct state st = {0}, back, snap = {0};
	struct state_notice n = {0}, *f;
	struct notify_memory m = {3, 1000, 2000}, got;
	char *text, err[256];
	size_t len;
	uint64_t id1 = 0, id2 = 0;

	CHECK_INT(state_set_notify_memory(&st, "nightly", &m), 0);
	snprintf(n.job, sizeof(n.job), "nightly");
	n.kind = STATE_NOTICE_WEBHOOK;
	n.url = "https://hooks.example.com/T/B/x";
	n.body = "{\"text\":\"job nightly failed\"}";
	n.attempts = 2;
	n.created_ms = 1000;
	n.next_ms = 5000;
	CHECK_INT(state_notice_add(&st, &n, &id1), 0);
	n.kind = STATE_NOTICE_EMAIL;
	n.url = NULL;
	n.body = "From: a@b.c\nTo: d@e.f\n\nbody\n";
	CHECK_INT(state_notice_add(&st, &n, &id2), 0);
	CHECK(id1 != 0 && id2 != 0 && id1 != id2);
	n.kind = STATE_NOTICE_PING;
	n.url = "https://hc-ping.com/u/start";
	n.body = NULL;
	CHECK_INT(state_notice_add(&st, &n, NULL), 0);
	CHECK_INT(state_snapshot(&st, &snap), 0);
	CHECK_INT(state_encode(&snap, &text, &len, err, sizeof(err)), 0);
	CHECK_INT(state_decode(&back, text, len, err, sizeof(err)), 0);
	state_notify_memory(&back, "nightly", &got);
	CHECK_INT(got.failures, 3);
	CHECK_INT(got.since_ms, 1000);
	CHECK_INT(got.sent_ms, 2000);
	state_notify_memory(&back, "other", &got);
	CHECK_INT(got.failures, 0);
	CHECK_INT(back.nnotices, 3);
	f = state_notice_find(&back, id1);
	CHECK(f != NULL && f->kind == STATE_NOTICE_WEBHOOK);
	CHECK(f != NULL &&
	      strcmp(f->url, "https://hooks.example.com/T/B/x") == 0);
	CHECK(f != NULL && f->attempts == 2 && f->next_ms == 5000);
	f = state_notice_find(&back, id2);
	CHECK(f != NULL && f->url == NULL && strstr(f->body, "\n\nbody\n"));
	CHECK(back.notices[2].body == NULL);
	CHECK_INT(state_notice_remove(&back, id1), 0);
	CHECK_INT(state_notice_remove(&back, id1), -ENOENT);
	CHECK_INT(back.nnotices, 2);
	CHECK(back.notices[0].id == id2); /* the order is kept */
	m.failures = 0;
	CHECK_INT(state_set_notify_memory(&back, "nightly", &m), 0);
	CHECK_INT(back.nfailing, 0);
	/* a second snapshot into the same copy reuses it without a leak */
	CHECK_INT(state_snapshot(&back, &snap), 0);
	CHECK_INT(snap.nnotices, 2);
	free(text);
	state_free(&snap);
	state_free(&back);
	state_free(&st);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(scratch, sizeof(scratch), "%s/test_state.XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(scratch) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	umask(022);
	test_round_trip();
	test_snapshot();
	test_invalid_utf8();
	test_missing();
	test_corrupt();
	test_corrupt_twice();
	test_unreadable();
	test_partial();
	test_ops();
	test_forget();
	test_names_pool();
	test_history();
	test_history_concurrent();
	test_dir_check();
	test_write_file();
	test_scale();
	test_durations();
	test_notify_parts();
	cleanup(scratch, 3);
	return test_report("test_state");
}
