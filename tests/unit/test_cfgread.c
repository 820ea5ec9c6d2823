/*
 * Unit tests for daemon/cfgread.c on its own, without config's language:
 * a typed read of each kind, the re-scanned integer literals that libconfig
 * 1.5 wraps, the unknown-key suggestion, the "FILE:LINE: ..." form of every
 * error (files, includes, syntax errors, unreadable files), the shared
 * group reported once, and the small pieces (name table, arena, checks).
 * Files are written under a scratch directory that is the cwd, so that
 * messages name them predictably.
 */
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfgread.h"
#include "test.h"

#define MAX_LINES 16

static char scratch[256];

/* The error lines one reader sent to its sink. */
struct lines {
	char msg[MAX_LINES][512];
	int n;
	bool fail; /* the sink answers -ENOMEM */
};

/* A reader with its arena, its sink and one parsed libconfig tree. */
struct fixture {
	struct cfgread_arena arena;
	struct cfgread r;
	struct lines out;
	config_t lc;
};

static int
sink(void *arg, const char *line)
{
	struct lines *l = arg;

	if (l->fail)
		return -ENOMEM;
	if (l->n < MAX_LINES)
		snprintf(l->msg[l->n++], sizeof(l->msg[0]), "%s", line);
	return 0;
}

/* Write the string literal TEXT, NUL bytes and all, to PATH. */
#define PUT(path, text) put(path, text, sizeof(text) - 1)

static void
put(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
start(struct fixture *f, const char *name, const char *base_dir)
{
	memset(f, 0, sizeof(*f));
	f->r.arena = &f->arena;
	f->r.sink = sink;
	f->r.sink_arg = &f->out;
	f->r.base_dir = base_dir;
	f->r.file = name;
	config_init(&f->lc);
	config_set_include_dir(&f->lc, base_dir);
}

/* A fixture over TEXT, named NAME in messages, as config_load_string
 * reads it. */
static void
open_text(struct fixture *f, const char *name, const char *text)
{
	char *copy = strdup(text);

	start(f, name, ".");
	CHECK(copy != NULL);
	CHECK_INT(cfgread_add_source(&f->r, name, copy, strlen(copy)), 0);
	CHECK_INT(cfgread_parse(&f->r, &f->lc, text), 0);
	CHECK_INT(f->out.n, 0);
}

static void
finish(struct fixture *f)
{
	config_destroy(&f->lc);
	cfgread_done(&f->r);
	cfgread_arena_free(&f->arena);
}

static config_setting_t *
at(struct fixture *f, const char *path)
{
	config_setting_t *s = config_lookup(&f->lc, path);

	if (s == NULL) {
		fprintf(stderr, "no setting %s\n", path);
		exit(1);
	}
	return s;
}

/* The only error line so far, then forget it. */
static const char *
only(struct fixture *f)
{
	static char buf[512];

	CHECK_INT(f->out.n, 1);
	snprintf(buf, sizeof(buf), "%s", f->out.n > 0 ? f->out.msg[0] : "");
	f->out.n = 0;
	return buf;
}

static void
test_typed(void)
{
	static const char *const overlaps[] = {"skip", "queue", NULL};
	static const char *const three[] = {"skip", "queue", "none", NULL};
	struct fixture f;
	struct cfgread_scope sc = {"t.conf", 1, ""};
	const char *s, **list;
	size_t n;
	bool b;
	int64_t i;
	int e;

	open_text(&f, "t.conf",
	          "s = \"hello\";\n"
	          "b = true;\n"
	          "i = 42;\n"
	          "e = \"queue\";\n"
	          "one = \"x\";\n"
	          "many = [\"a\", \"b\"];\n"
	          "none = [];\n"
	          "mixed = (\"a\", 5);\n"
	          "g = { k = 1; };\n");

	CHECK_INT(cfgread_str(&f.r, &sc, at(&f, "s"), &s), 0);
	CHECK_STR(s, "hello");
	CHECK_INT(cfgread_str(&f.r, &sc, at(&f, "i"), &s), -EINVAL);
	CHECK_STR(only(&f), "t.conf:3: i: expected a string, got an integer");

	CHECK_INT(cfgread_bool(&f.r, &sc, at(&f, "b"), &b), 0);
	CHECK(b);
	CHECK_INT(cfgread_bool(&f.r, &sc, at(&f, "s"), &b), -EINVAL);
	CHECK_STR(only(&f),
	          "t.conf:1: s: expected true or false, got a string");

	CHECK_INT(cfgread_int(&f.r, &sc, at(&f, "i"), 0, 100, &i), 0);
	CHECK_INT(i, 42);
	CHECK_INT(cfgread_int(&f.r, &sc, at(&f, "i"), 50, 100, &i), -EINVAL);
	CHECK_STR(only(&f), "t.conf:3: i: 42 is out of range 50-100");
	CHECK_INT(cfgread_int(&f.r, &sc, at(&f, "g"), 0, 9, &i), -EINVAL);
	CHECK_STR(only(&f),
	          "t.conf:9: g: expected an integer, got a group { ... }");

	CHECK_INT(cfgread_enum(&f.r, &sc, at(&f, "e"), overlaps, &e), 0);
	CHECK_INT(e, 1);
	CHECK_INT(cfgread_enum(&f.r, &sc, at(&f, "s"), three, &e), -EINVAL);
	CHECK_STR(only(&f), "t.conf:1: s: \"hello\" is not one of \"skip\", "
	                    "\"queue\" or \"none\"");

	CHECK_INT(cfgread_list(&f.r, &sc, at(&f, "one"), false, &list, &n), 0);
	CHECK_INT(n, 1);
	CHECK_STR(list[0], "x");
	CHECK_INT(cfgread_list(&f.r, &sc, at(&f, "many"), false, &list, &n), 0);
	CHECK_INT(n, 2);
	CHECK_STR(list[1], "b");
	CHECK_INT(cfgread_list(&f.r, &sc, at(&f, "none"), true, &list, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(cfgread_list(&f.r, &sc, at(&f, "none"), false, &list, &n),
	          -EINVAL);
	CHECK_STR(only(&f), "t.conf:7: none: the list is empty");
	CHECK_INT(cfgread_list(&f.r, &sc, at(&f, "mixed"), true, &list, &n),
	          -EINVAL);
	CHECK_STR(only(&f),
	          "t.conf:8: mixed[1]: expected a string, got an integer");
	CHECK_INT(cfgread_list(&f.r, &sc, at(&f, "i"), true, &list, &n),
	          -EINVAL);
	CHECK_STR(only(&f), "t.conf:3: i: expected a string or a list of "
	                    "strings [\"a\", \"b\"], got an integer");

	/* The scope names the enclosing item, and stands in for a missing
	 * setting's place. */
	snprintf(sc.what, sizeof(sc.what), "job \"x\": ");
	sc.line = 7;
	CHECK_INT(cfgread_int(&f.r, &sc, at(&f, "s"), 0, 1, &i), -EINVAL);
	CHECK_STR(only(&f),
	          "t.conf:1: job \"x\": s: expected an integer, got a string");
	cfgread_error(&f.r, &sc, NULL, "missing \"%s\"", "schedule");
	CHECK_STR(only(&f), "t.conf:7: job \"x\": missing \"schedule\"");
	CHECK_INT(f.r.nerr, 10);
	CHECK(!f.r.nomem);
	finish(&f);
}

static void
test_rescan(void)
{
	struct fixture f;
	struct cfgread_scope sc = {"t.conf", 1, ""};
	int64_t v = 0;

	open_text(&f, "t.conf",
	          "big = 3000000000;\n"
	          "neg = -3000000000;\n"
	          "huge = 99999999999999999999;\n"
	          "hex = 0x100000005;\n"
	          "g = { n = 7; }; h = { n = 3000000000; };\n"
	          "long = 3000000000L;\n"
	          "min = -9223372036854775808;\n");

	/* libconfig 1.5 wraps these to 32 bits; the line has the truth. */
	CHECK_INT(cfgread_int(&f.r, &sc, at(&f, "big"), 0, INT64_MAX, &v), 0);
	CHECK_INT(v, 3000000000);
	CHECK_INT(cfgread_int(&f.r, &sc, at(&f, "big"), 0, 100, &v), -EINVAL);
	CHECK_STR(only(&f), "t.conf:1: big: 3000000000 is out of range 0-100");
	CHECK_INT(
	    cfgread_int(&f.r, &sc, at(&f, "neg"), INT64_MIN, INT64_MAX, &v), 0);
	CHECK_INT(v, -3000000000);
	CHECK_INT(cfgread_int(&f.r, &sc, at(&f, "huge"), 0, INT64_MAX, &v),
	          -EINVAL);
	CHECK_STR(only(&f), "t.conf:3: huge: 99999999999999999999 is out of "
	                    "range 0-9223372036854775807");
	CHECK_INT(cfgread_int(&f.r, &sc, at(&f, "hex"), 0, INT64_MAX, &v), 0);
	CHECK_INT(v, 0x100000005);
	CHECK_INT(cfgread_int(&f.r, &sc, at(&f, "hex"), 0, 10, &v), -EINVAL);
	CHECK_STR(only(&f), "t.conf:4: hex: 0x100000005 is out of range 0-10");
	/* Two settings "n" on one line: each gets its own literal. */
	CHECK_INT(cfgread_int(&f.r, &sc, at(&f, "g.n"), 0, INT64_MAX, &v), 0);
	CHECK_INT(v, 7);
	CHECK_INT(cfgread_int(&f.r, &sc, at(&f, "h.n"), 0, INT64_MAX, &v), 0);
	CHECK_INT(v, 3000000000);
	CHECK_INT(cfgread_int(&f.r, &sc, at(&f, "long"), 0, INT64_MAX, &v), 0);
	CHECK_INT(v, 3000000000);
	CHECK_INT(
	    cfgread_int(&f.r, &sc, at(&f, "min"), INT64_MIN, INT64_MAX, &v), 0);
	CHECK(v == INT64_MIN);
	finish(&f);

	/* An included file is read on first use, and named from the main
	 * file's directory. */
	mkdir("inc", 0700);
	PUT("inc/main.conf", "a = 1;\n@include \"more.conf\"\n");
	PUT("inc/more.conf", "# more\nbig = 3000000000;\n");
	start(&f, "inc/main.conf", "inc");
	{
		char *text = NULL;

		CHECK_INT(cfgread_load_text(&f.r, "inc/main.conf", &text), 0);
		CHECK_INT(cfgread_parse(&f.r, &f.lc, text), 0);
	}
	CHECK_INT(cfgread_int(&f.r, &sc, at(&f, "big"), 0, INT64_MAX, &v), 0);
	CHECK_INT(v, 3000000000);
	CHECK_INT(cfgread_int(&f.r, &sc, at(&f, "big"), 0, 10, &v), -EINVAL);
	CHECK_STR(only(&f),
	          "inc/more.conf:2: big: 3000000000 is out of range 0-10");
	finish(&f);

	/* The main file's text freed once parsed: a literal that needs
	 * re-reading is read from the file again, and still found. */
	PUT("inc/big.conf", "a = 1;\nbig = 3000000000;\nneg = -3000000000;\n");
	start(&f, "inc/big.conf", "inc");
	{
		char *text = NULL;

		CHECK_INT(cfgread_load_text(&f.r, "inc/big.conf", &text), 0);
		CHECK_INT(cfgread_parse(&f.r, &f.lc, text), 0);
		cfgread_release_text(&f.r, "inc/big.conf");
		cfgread_release_text(&f.r, "inc/big.conf"); /* twice: no-op */
	}
	CHECK_INT(cfgread_int(&f.r, &sc, at(&f, "big"), 0, INT64_MAX, &v), 0);
	CHECK_INT(v, 3000000000);
	CHECK_INT(
	    cfgread_int(&f.r, &sc, at(&f, "neg"), INT64_MIN, INT64_MAX, &v), 0);
	CHECK_INT(v, -3000000000);
	CHECK_INT(f.out.n, 0);
	finish(&f);

	/* a line longer than what is read again on its own: the whole
	 * text comes back */
	{
		static char text[8192];
		char *t = NULL;
		int n = snprintf(text, sizeof(text), "pad = \"");

		memset(text + n, 'x', 6000);
		snprintf(text + n + 6000, sizeof(text) - (size_t)n - 6000,
		         "\"; big = 3000000000;\nsmall = 4000000000;\n");
		put("inc/long.conf", text, strlen(text));
		start(&f, "inc/long.conf", "inc");
		CHECK_INT(cfgread_load_text(&f.r, "inc/long.conf", &t), 0);
		CHECK_INT(cfgread_parse(&f.r, &f.lc, t), 0);
		cfgread_release_text(&f.r, "inc/long.conf");
		CHECK_INT(
		    cfgread_int(&f.r, &sc, at(&f, "small"), 0, INT64_MAX, &v),
		    0);
		CHECK_INT(v, 4000000000);
		CHECK_INT(
		    cfgread_int(&f.r, &sc, at(&f, "big"), 0, INT64_MAX, &v), 0);
		CHECK_INT(v, 3000000000);
		CHECK_INT(f.out.n, 0);
		finish(&f);
	}
}

static void
test_unknown_key(void)
{
	static const char *const api_keys[] = {"url", "timeout", "ca_file",
	                                       NULL};
	struct fixture f;
	struct cfgread_scope sc = {"t.conf", 1, "api: "};
	config_setting_t *g;
	const char *best = NULL;
	size_t d = 99;

	open_text(&f, "t.conf",
	          "api = {\n"
	          "  url = \"https://x\";\n"
	          "  tiemout = 5;\n"
	          "  colour = 1;\n"
	          "};\n");
	g = at(&f, "api");
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(s);

		d = 99;
		if (!cfgread_in_list(key, api_keys))
			cfgread_unknown_key(
			    &f.r, &sc, s,
			    cfgread_best_of(key, api_keys, NULL, &d));
	}
	CHECK_INT(f.out.n, 2);
	CHECK_STR(f.out.msg[0], "t.conf:3: api: unknown key \"tiemout\" (did "
	                        "you mean \"timeout\"?)");
	CHECK_STR(f.out.msg[1], "t.conf:4: api: unknown key \"colour\"");
	finish(&f);

	/* At most two edits, and fewer than the key has letters. */
	d = 99;
	cfgread_suggest("u", "url", &best, &d);
	CHECK(best == NULL);
	cfgread_suggest("ur", "url", &best, &d);
	CHECK_STR(best, "url");
	CHECK_INT(d, 1);
	/* An equally close candidate does not replace the first; a closer
	 * one does. */
	best = NULL;
	d = 99;
	cfgread_suggest("jbos", "jabs", &best, &d);
	cfgread_suggest("jbos", "jobs", &best, &d);
	CHECK_STR(best, "jabs");
	cfgread_suggest("jbos", "jbo", &best, &d);
	CHECK_STR(best, "jbo");
	d = 99;
	CHECK_STR(cfgread_best_of(
	              "shedule",
	              (const char *const[]){"name", "schedule", "jitter", NULL},
	              NULL, &d),
	          "schedule");
}

static void
test_error_format(void)
{
	struct fixture f;
	struct cfgread_scope sc = {"fmt/main.conf", 1, ""};
	const char *s;
	char *text = NULL;

	mkdir("fmt", 0700);
	PUT("fmt/main.conf", "# comment\na = 1;\nb = 2;\n");
	start(&f, "fmt/main.conf", "fmt");
	CHECK_INT(cfgread_load_text(&f.r, "fmt/main.conf", &text), 0);
	CHECK_INT(cfgread_parse(&f.r, &f.lc, text), 0);
	CHECK_INT(cfgread_str(&f.r, &sc, at(&f, "b"), &s), -EINVAL);
	CHECK_STR(only(&f),
	          "fmt/main.conf:3: b: expected a string, got an integer");
	/* Line 0: about the whole file. */
	cfgread_error_at(&f.r, "fmt/main.conf", 0, "is %s", "odd");
	CHECK_STR(only(&f), "fmt/main.conf: is odd");
	/* One error, one line, whatever the names hold. */
	cfgread_error_at(&f.r, "x.conf", 2, "name \"%s\"", "a\nb\tc\x7f");
	CHECK_STR(only(&f), "x.conf:2: name \"a?b?c?\"");
	finish(&f);

	/* libconfig's own messages, at their file and line. */
	PUT("fmt/bad.conf", "a = 1;\nb = ;\n");
	start(&f, "fmt/bad.conf", "fmt");
	CHECK_INT(cfgread_load_text(&f.r, "fmt/bad.conf", &text), 0);
	CHECK_INT(cfgread_parse(&f.r, &f.lc, text), -EINVAL);
	CHECK_STR(only(&f), "fmt/bad.conf:2: syntax error");
	finish(&f);
	PUT("fmt/outer.conf", "@include \"inner.conf\"\n");
	PUT("fmt/inner.conf", "x = 1;\ny = = 2;\n");
	start(&f, "fmt/outer.conf", "fmt");
	CHECK_INT(cfgread_load_text(&f.r, "fmt/outer.conf", &text), 0);
	CHECK_INT(cfgread_parse(&f.r, &f.lc, text), -EINVAL);
	CHECK_STR(only(&f), "fmt/inner.conf:2: syntax error");
	finish(&f);

	/* Files that cannot be read as text. */
	start(&f, "fmt/none.conf", "fmt");
	CHECK_INT(cfgread_load_text(&f.r, "fmt/none.conf", &text), -EINVAL);
	CHECK_STR(only(&f),
	          "fmt/none.conf: cannot read: No such file or directory");
	PUT("fmt/nul.conf", "a = 1;\0\n");
	CHECK_INT(cfgread_load_text(&f.r, "fmt/nul.conf", &text), -EINVAL);
	CHECK_STR(only(&f),
	          "fmt/nul.conf: contains a NUL byte; not a text file");
	CHECK_INT(f.r.nerr, 2);
	/* A sink that runs out of memory fails the read as such. */
	f.out.fail = true;
	CHECK_INT(cfgread_load_text(&f.r, "fmt/none.conf", &text), -ENOMEM);
	CHECK(f.r.nomem);
	finish(&f);

	/* Without a sink, errors are only counted. */
	start(&f, "t.conf", ".");
	f.r.sink = NULL;
	cfgread_error_at(&f.r, "t.conf", 1, "x");
	CHECK_INT(f.r.nerr, 1);
	CHECK_INT(f.out.n, 0);
	finish(&f);
}

/* A mistake in a group that many items inherit is reported once. */
static void
test_shared(void)
{
	struct fixture f;
	struct cfgread_scope sc = {"t.conf", 3, "job \"a\": "};
	config_setting_t *own;
	int64_t v;

	open_text(&f, "t.conf",
	          "defaults = { jitter = \"x\"; };\n"
	          "jobs = ( { jitter = \"y\"; } );\n");
	f.r.shared = at(&f, "defaults");
	f.r.shared_what = "defaults: ";
	CHECK(cfgread_inside(at(&f, "defaults.jitter"), f.r.shared));
	CHECK(!cfgread_inside(at(&f, "jobs"), f.r.shared));
	CHECK(!cfgread_inside(at(&f, "jobs"), NULL));
	for (int job = 0; job < 3; job++)
		CHECK_INT(
		    cfgread_int(&f.r, &sc, at(&f, "defaults.jitter"), 0, 9, &v),
		    -EINVAL);
	CHECK_STR(only(&f), "t.conf:1: defaults: jitter: expected an integer, "
	                    "got a string");
	CHECK_INT(f.r.nerr, 3);
	/* Outside the group, the item's own scope. */
	own = config_setting_get_member(
	    config_setting_get_elem(at(&f, "jobs"), 0), "jitter");
	CHECK_INT(cfgread_int(&f.r, &sc, own, 0, 9, &v), -EINVAL);
	CHECK_STR(only(&f), "t.conf:2: job \"a\": jitter: expected an integer, "
	                    "got a string");
	finish(&f);
}

static void
test_small_checks(void)
{
	struct fixture f;
	char long_name[CFGREAD_MAX_NAME + 2];

	CHECK(cfgread_is_uuid("0b0e6f4c-1a2b-4c3d-8e9f-0123456789ab"));
	CHECK(cfgread_is_uuid("0B0E6F4C-1A2B-4C3D-8E9F-0123456789AB"));
	CHECK(!cfgread_is_uuid("0b0e6f4c-1a2b-4c3d-8e9f-0123456789a"));
	CHECK(!cfgread_is_uuid("0b0e6f4c-1a2b-4c3d-8e9f-0123456789abc"));
	CHECK(!cfgread_is_uuid("0b0e6f4c1a2b-4c3d-8e9f-0123456789abc"));
	CHECK(!cfgread_is_uuid("0b0e6f4c-1a2b-4c3d-8e9f-0123456789ag"));
	CHECK(!cfgread_is_uuid(""));

	CHECK(cfgread_name_problem("acme.prod_2-b") == NULL);
	CHECK_STR(cfgread_name_problem(""), "is empty");
	CHECK_STR(cfgread_name_problem("-acme"),
	          "must start with a letter or a digit");
	CHECK_STR(cfgread_name_problem("a/b"),
	          "may contain only letters, digits, \".\", \"_\" and \"-\"");
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[CFGREAD_MAX_NAME] = '\0';
	CHECK(cfgread_name_problem(long_name) == NULL);
	long_name[CFGREAD_MAX_NAME] = 'a';
	long_name[CFGREAD_MAX_NAME + 1] = '\0';
	CHECK_STR(cfgread_name_problem(long_name),
	          "is longer than 128 characters");

	start(&f, "t.conf", ".");
	CHECK_STR(cfgread_resolve_path(&f.r, "k.key"), "k.key");
	CHECK_STR(cfgread_resolve_path(&f.r, "/etc/k.key"), "/etc/k.key");
	f.r.base_dir = "/etc/kinsta-cron";
	CHECK_STR(cfgread_resolve_path(&f.r, "k.key"),
	          "/etc/kinsta-cron/k.key");
	CHECK_STR(cfgread_resolve_path(&f.r, "/k.key"), "/k.key");
	finish(&f);
}

static void
test_names_and_arena(void)
{
	struct cfgread_names t = {0};
	struct cfgread_arena a = {0};
	char *names[300];
	struct cfgread_name *e;
	void *big;

	/* Enough names to make the table grow a few times. */
	for (int i = 0; i < 300; i++) {
		char buf[32];

		snprintf(buf, sizeof(buf), "job-%d", i);
		names[i] = cfgread_arena_strdup(&a, buf);
		CHECK(names[i] != NULL);
		CHECK_INT(
		    cfgread_names_add(&t, names[i], "f.conf", i + 1, (size_t)i),
		    0);
	}
	CHECK_INT(t.n, 300);
	CHECK_INT(cfgread_names_add(&t, "job-7", "g.conf", 1, 0), -EEXIST);
	e = cfgread_names_find(&t, "job-7");
	CHECK(e != NULL);
	if (e != NULL) {
		CHECK_STR(e->file, "f.conf");
		CHECK_INT(e->line, 8);
		CHECK_INT(e->index, 7);
	}
	CHECK(cfgread_names_find(&t, "job-300") == NULL);
	cfgread_names_free(&t);
	CHECK(cfgread_names_find(&t, "job-1") == NULL);

	/* A block bigger than a quarter chunk lives on its own, and the
	 * strings before it stay put. */
	big = cfgread_arena_alloc(&a, 100000);
	CHECK(big != NULL);
	CHECK((uintptr_t)big % _Alignof(max_align_t) == 0);
	memset(big, 0xff, 100000);
	CHECK_STR(names[299], "job-299");
	CHECK_STR(cfgread_arena_strndup(&a, "abcdef", 3), "abc");
	cfgread_arena_free(&a);
	CHECK(a.chunks == NULL);
}

/* The arena's chunks are mappings of their own: 10,000 job names and a
 * big block add nothing to malloc's heap, so a configuration never pins
 * heap pages and goes back to the kernel whole. */
static void
test_arena_outside_heap(void)
{
	struct cfgread_arena a = {0};
	size_t before = mallinfo2().uordblks;
	bool ok = true;

	for (int i = 0; i < 10000; i++) {
		char buf[32];
		char *p;

		snprintf(buf, sizeof(buf), "s-%d-%d", i / 100, i % 100);
		p = cfgread_arena_strdup(&a, buf);
		ok = ok && p != NULL && strcmp(p, buf) == 0;
	}
	CHECK(ok);
	CHECK(cfgread_arena_alloc(&a, 1 << 20) != NULL);
	CHECK_INT(mallinfo2().uordblks, before);
	cfgread_arena_free(&a);
	CHECK_INT(mallinfo2().uordblks, before);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(scratch, sizeof(scratch), "%s/kcron-cfgread-XXXXXX",
	         tmp ? tmp : "/tmp");
	if (mkdtemp(scratch) == NULL || chdir(scratch) != 0) {
		perror(scratch);
		return 1;
	}
	test_typed();
	test_rescan();
	test_unknown_key();
	test_error_format();
	test_shared();
	test_small_checks();
	test_names_and_arena();
	test_arena_outside_heap();
	return test_report("test_cfgread");
}
