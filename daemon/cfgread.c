/*
 * cfgread: typed reading of libconfig settings, every mistake as one
 * "FILE:LINE: ..." line.
 *
 * The reader keeps the text of each file it has read (the main file's,
 * and included files' on first use) so that integer literals can be read
 * again from their line; everything it hands out that must outlive the
 * libconfig objects is copied into the caller's arena.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfgread.h"
#include "mapmem.h"

#define MAX_FILE_BYTES ((size_t)64 << 20)
/* An arena chunk's mapping: what is never written costs nothing, so a
 * chunk can be big and a small configuration still small. */
#define ARENA_CHUNK ((size_t)256 << 10)

/* A line this long or shorter is read again on its own from a released
 * text; a longer one brings the whole text back. */
#define LINE_REREAD_MAX 4096

/* A source file's text, kept to re-read integer literals (see rescan_int).
 * Once released, only the line index and the open file stay. */
struct cfgread_source {
	const char *path;
	char *text; /* NULL: released, or could not be read */
	size_t len;
	size_t *lines; /* offsets of line starts, lines[0] = line 1 */
	size_t nlines;
	int fd; /* the file read, for lines of a released text; or -1 */
};

/* ---- arena ------------------------------------------------------------- */

/* Chunks are mappings of their own (mapmem), not heap blocks: a
 * configuration lives as long as its daemon runs it, and a reload builds
 * the next one while libconfig's tree (far bigger) fills the heap; in the
 * heap the two would interleave, and freeing the tree would leave the
 * configuration's chunks pinning its pages.  Freed, an arena goes back to
 * the kernel whole. */
struct cfgread_chunk {
	struct cfgread_chunk *next;
	size_t used, size; /* size: of data[] */
	max_align_t data[];
};

void *
cfgread_arena_alloc(struct cfgread_arena *a, size_t n)
{
	struct cfgread_chunk *c = a->chunks;
	size_t align = sizeof(max_align_t);

	n = (n + align - 1) / align * align;
	if (c == NULL || c->size - c->used < n) {
		size_t size = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;

		if (size > SIZE_MAX / 2 ||
		    (c = mapmem_alloc(sizeof(*c) + size)) == NULL)
			return NULL;
		c->size = mapmem_size(sizeof(*c) + size) - sizeof(*c);
		c->used = 0;
		/* A big block gets a chunk of its own behind the current
		 * one, so the current chunk's free space is not lost. */
		if (size != ARENA_CHUNK && a->chunks != NULL) {
			c->next = a->chunks->next;
			a->chunks->next = c;
		} else {
			c->next = a->chunks;
			a->chunks = c;
		}
	}
	c->used += n;
	return (char *)c->data + c->used - n;
}

char *
cfgread_arena_strndup(struct cfgread_arena *a, const char *s, size_t n)
{
	char *p = cfgread_arena_alloc(a, n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *
cfgread_arena_strdup(struct cfgread_arena *a, const char *s)
{
	return cfgread_arena_strndup(a, s, strlen(s));
}

void
cfgread_arena_free(struct cfgread_arena *a)
{
	struct cfgread_chunk *c = a->chunks, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		mapmem_free(c, sizeof(*c) + c->size);
	}
	a->chunks = NULL;
}

/* ---- name tables ------------------------------------------------------- */

static uint64_t
hash_name(const char *s)
{
	uint64_t h = 1469598103934665603u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211u;
	return h;
}

struct cfgread_name *
cfgread_names_find(const struct cfgread_names *t, const char *name)
{
	if (t->cap == 0)
		return NULL;
	for (size_t i = hash_name(name) & (t->cap - 1);;
	     i = (i + 1) & (t->cap - 1)) {
		if (t->slots[i].name == NULL)
			return NULL;
		if (strcmp(t->slots[i].name, name) == 0)
			return &t->slots[i];
	}
}

/* Insert; 0, -EEXIST (nothing changed) or -ENOMEM. */
int
cfgread_names_add(struct cfgread_names *t, const char *name, const char *file,
                  int line, size_t index)
{
	size_t i;

	if (cfgread_names_find(t, name) != NULL)
		return -EEXIST;
	if ((t->n + 1) * 2 > t->cap) {
		struct cfgread_names bigger = {.cap = t->cap ? t->cap * 2 : 64};

		bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
		if (bigger.slots == NULL)
			return -ENOMEM;
		for (size_t k = 0; k < t->cap; k++) {
			if (t->slots[k].name == NULL)
				continue;
			i = hash_name(t->slots[k].name) & (bigger.cap - 1);
			while (bigger.slots[i].name != NULL)
				i = (i + 1) & (bigger.cap - 1);
			bigger.slots[i] = t->slots[k];
		}
		bigger.n = t->n;
		free(t->slots);
		*t = bigger;
	}
	i = hash_name(name) & (t->cap - 1);
	while (t->slots[i].name != NULL)
		i = (i + 1) & (t->cap - 1);
	t->slots[i] = (struct cfgread_name){name, file, line, index};
	t->n++;
	return 0;
}

void
cfgread_names_free(struct cfgread_names *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* ---- reporting --------------------------------------------------------- */

void
cfgread_nomem(struct cfgread *r)
{
	r->nomem = true;
}

void
cfgread_verror_at(struct cfgread *r, const char *file, int line,
                  const char *fmt, va_list ap)
{
	char msg[1024], full[1400];

	r->nerr++;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line > 0)
		snprintf(full, sizeof(full), "%s:%d: %s", file, line, msg);
	else
		snprintf(full, sizeof(full), "%s: %s", file, msg);
	/* One error, one line: a name with "\n" in it must not split it. */
	for (char *p = full; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (r->sink != NULL && r->sink(r->sink_arg, full) < 0)
		cfgread_nomem(r);
}

void
cfgread_error_at(struct cfgread *r, const char *file, int line, const char *fmt,
                 ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfgread_verror_at(r, file, line, fmt, ap);
	va_end(ap);
}

/* The file a setting came from, as the user can open it: includes are
 * named relative to the main file's directory (config_set_include_dir). */
const char *
cfgread_file(struct cfgread *r, const config_setting_t *s)
{
	const char *f = config_setting_source_file(s);
	char buf[4096];
	char *copy;

	if (f == NULL)
		return r->file;
	if (f[0] != '/' && strcmp(r->base_dir, ".") != 0) {
		snprintf(buf, sizeof(buf), "%s/%s", r->base_dir, f);
		f = buf;
	}
	for (size_t i = r->nnames; i-- > 0;)
		if (strcmp(r->names[i], f) == 0)
			return r->names[i];
	if (r->nnames % 16 == 0) {
		const char **n =
		    realloc(r->names, (r->nnames + 16) * sizeof(*n));

		if (n == NULL) {
			cfgread_nomem(r);
			return r->file;
		}
		r->names = n;
	}
	if ((copy = cfgread_arena_strdup(r->arena, f)) == NULL) {
		cfgread_nomem(r);
		return r->file;
	}
	r->names[r->nnames++] = copy;
	return copy;
}

int
cfgread_line(const config_setting_t *s)
{
	return (int)config_setting_source_line(s);
}

bool
cfgread_inside(const config_setting_t *s, const config_setting_t *group)
{
	for (; s != NULL; s = config_setting_parent(s))
		if (s == group)
			return true;
	return false;
}

/* A mistake inside the shared group (config's `defaults`) is reported
 * once, as the group's own, not once per item that inherits it: the
 * setting's hook marks it as reported. */
void
cfgread_error(struct cfgread *r, const struct cfgread_scope *sc,
              config_setting_t *s, const char *fmt, ...)
{
	const char *file = sc->file, *what = sc->what;
	int line = sc->line;
	char msg[1024];
	va_list ap;

	if (s != NULL) {
		file = cfgread_file(r, s);
		line = cfgread_line(s);
		if (r->shared != NULL && cfgread_inside(s, r->shared)) {
			if (config_setting_get_hook(s) != NULL) {
				r->nerr++;
				return;
			}
			config_setting_set_hook(s, r);
			if (r->shared_what != NULL)
				what = r->shared_what;
		}
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cfgread_error_at(r, file, line, "%s%s", what, msg);
}

/* ---- files, and their text for re-reading integer literals ------------- */

static void
source_index(struct cfgread_source *src)
{
	size_t n = 1;

	for (size_t i = 0; i < src->len; i++)
		n += src->text[i] == '\n';
	if ((src->lines = malloc(n * sizeof(*src->lines))) == NULL)
		return;
	src->lines[0] = 0;
	src->nlines = 1;
	for (size_t i = 0; i < src->len; i++)
		if (src->text[i] == '\n')
			src->lines[src->nlines++] = i + 1;
}

/* Read a whole file; 0 or -errno (-EFBIG, -EINVAL for a NUL byte).  With
 * FD, the file stays open there (-1 when it cannot). */
static int
read_text(const char *path, char **text, size_t *len, int *fd)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;
	struct stat st;
	int rc = 0;

	if (f == NULL)
		return -errno;
	/* A regular file's size is known: one buffer of that size (and a
	 * read's worth more, to see the end), where doubling would end up
	 * to twice the file, and copy it at each step. */
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
	    (size_t)st.st_size <= MAX_FILE_BYTES) {
		cap = (size_t)st.st_size + 4096;
		if ((buf = malloc(cap + 1)) == NULL) {
			fclose(f);
			return -ENOMEM;
		}
	}
	for (;;) {
		size_t got;

		if (cap - n < 4096) {
			char *b;

			cap = cap ? cap * 2 : 8192;
			if (cap > MAX_FILE_BYTES + 8192) {
				rc = -EFBIG;
				goto fail;
			}
			if ((b = realloc(buf, cap + 1)) == NULL) {
				rc = -ENOMEM;
				goto fail;
			}
			buf = b;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		rc = -EIO;
		goto fail;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n) != NULL) {
		rc = -EINVAL;
		goto fail;
	}
	if (fd != NULL)
		*fd = fcntl(fileno(f), F_DUPFD_CLOEXEC, 0);
	fclose(f);
	*text = buf;
	*len = n;
	return 0;
fail:
	free(buf);
	fclose(f);
	return rc;
}

/* Remember TEXT (taken over) as the source of PATH. */
static struct cfgread_source *
source_add(struct cfgread *r, const char *path, char *text, size_t len)
{
	struct cfgread_source *s =
	    realloc(r->sources, (r->nsources + 1) * sizeof(*s));

	if (s == NULL) {
		free(text);
		cfgread_nomem(r);
		return NULL;
	}
	r->sources = s;
	s = &r->sources[r->nsources++];
	*s = (struct cfgread_source){
	    .path = path, .text = text, .len = len, .fd = -1};
	source_index(s);
	return s;
}

static struct cfgread_source *
source_get(struct cfgread *r, const char *path)
{
	char *text;
	size_t len;

	for (size_t i = r->nsources; i-- > 0;)
		if (strcmp(r->sources[i].path, path) == 0)
			return &r->sources[i];
	/* An included file, read for the first time. */
	if (read_text(path, &text, &len, NULL) < 0)
		text = NULL, len = 0;
	return source_add(r, path, text, len);
}

int
cfgread_add_source(struct cfgread *r, const char *path, char *text, size_t len)
{
	return source_add(r, path, text, len) != NULL ? 0 : -ENOMEM;
}

int
cfgread_load_text(struct cfgread *r, const char *path, char **text)
{
	struct cfgread_source *s;
	size_t len;
	int rc, fd = -1;

	if ((rc = read_text(path, text, &len, &fd)) == 0) {
		if ((s = source_add(r, path, *text, len)) == NULL) {
			if (fd >= 0)
				close(fd);
			return -ENOMEM;
		}
		s->fd = fd;
		return 0;
	}
	if (rc == -EINVAL)
		cfgread_error_at(r, path, 0,
		                 "contains a NUL byte; not a text file");
	else if (rc == -EFBIG)
		cfgread_error_at(r, path, 0, "is larger than 64 MiB");
	else
		cfgread_error_at(r, path, 0, "cannot read: %s", strerror(-rc));
	return r->nomem ? -ENOMEM : -EINVAL;
}

/* libconfig's config_read_string hands the text to a flex buffer, which
 * copies it whole; read as a stream, flex keeps 16 kB of it at a time. */
static int
parse_text(config_t *lc, const char *text)
{
	size_t len = strlen(text);
	FILE *f = len > 0 ? fmemopen((void *)text, len, "r") : NULL;
	int ok;

	if (f == NULL)
		return config_read_string(lc, text);
	ok = config_read(lc, f);
	fclose(f);
	return ok;
}

int
cfgread_parse(struct cfgread *r, config_t *lc, const char *text)
{
	const char *f;

	if (parse_text(lc, text) == CONFIG_TRUE)
		return 0;
	f = config_error_file(lc);
	if (f != NULL) {
		char buf[4096];

		/* Named as cfgread_file names the settings of includes. */
		if (f[0] != '/' && strcmp(r->base_dir, ".") != 0) {
			snprintf(buf, sizeof(buf), "%s/%s", r->base_dir, f);
			f = buf;
		}
		cfgread_error_at(r, f, config_error_line(lc), "%s",
		                 config_error_text(lc));
	} else {
		cfgread_error_at(r, r->file, config_error_line(lc), "%s",
		                 config_error_text(lc));
	}
	return -EINVAL;
}

void
cfgread_release_text(struct cfgread *r, const char *path)
{
	for (size_t i = r->nsources; i-- > 0;) {
		struct cfgread_source *s = &r->sources[i];

		/* without the file or the index, a line cannot be read
		 * again: keep the text */
		if (strcmp(s->path, path) != 0 || s->text == NULL ||
		    s->fd < 0 || s->lines == NULL)
			continue;
		free(s->text);
		s->text = NULL;
		return;
	}
}

void
cfgread_done(struct cfgread *r)
{
	for (size_t i = 0; i < r->nsources; i++) {
		free(r->sources[i].text);
		free(r->sources[i].lines);
		if (r->sources[i].fd >= 0)
			close(r->sources[i].fd);
	}
	free(r->sources);
	free(r->names);
	r->sources = NULL;
	r->names = NULL;
	r->nsources = r->nnames = 0;
}

/* Line LINE of PATH in [*start, *end): in the kept text, or read again
 * into BUF (LINE_REREAD_MAX + 1 bytes) from the file of a released one;
 * false when there is no such line to read. */
static bool
source_line(struct cfgread *r, const char *path, int line, char *buf,
            const char **start, const char **end)
{
	struct cfgread_source *src = source_get(r, path);
	size_t from, to;
	ssize_t got;

	if (src == NULL || line <= 0 || (size_t)line > src->nlines)
		return false;
	from = src->lines[line - 1];
	to = (size_t)line < src->nlines ? src->lines[line] - 1 : src->len;
	if (src->text == NULL && src->fd >= 0 && to - from > LINE_REREAD_MAX &&
	    read_text(path, &src->text, &src->len, NULL) < 0)
		src->text = NULL;
	if (src->text != NULL) {
		*start = src->text + from;
		*end = src->text + (to < src->len ? to : src->len);
		return *start <= *end;
	}
	if (src->fd < 0 ||
	    (got = pread(src->fd, buf, to - from, (off_t)from)) < 0)
		return false;
	*start = buf;
	*end = buf + got;
	return true;
}

static bool
is_key_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '*';
}

/*
 * libconfig 1.5 (Debian's build) stores an integer literal without an L
 * suffix as a 32-bit int, wrapping it silently: "3000000000" reads back as
 * -1294967296.  So the literal is read again from the source line, and the
 * value that the user wrote wins.  The occurrence of the key whose value
 * agrees with libconfig's modulo 2^32 is taken, so two settings of the
 * same name on one line do not mix.  A value on another line than its name
 * is not found; then libconfig's value stands (documented limitation).
 * Returns true with *v (and *over on overflow of int64) and the literal.
 */
static bool
rescan_int(struct cfgread *r, config_setting_t *s, int64_t stored, int64_t *v,
           bool *over, char *lit, size_t litlen)
{
	const char *key = config_setting_name(s), *p, *end, *start;
	char buf[LINE_REREAD_MAX + 1];
	size_t keylen;

	if (key == NULL || !source_line(r, cfgread_file(r, s), cfgread_line(s),
	                                buf, &start, &end))
		return false;
	keylen = strlen(key);
	for (p = start; (p = memmem(p, (size_t)(end - p), key, keylen)) != NULL;
	     p += keylen) {
		const char *q = p + keylen, *digits;
		unsigned long long mag;
		bool neg = false, hex = false;
		char *e;

		if ((p > start && is_key_char(p[-1])) || is_key_char(*q))
			continue;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (q >= end || (*q != '=' && *q != ':'))
			continue;
		q++;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		digits = q;
		if (q < end && (*q == '+' || *q == '-'))
			neg = *q++ == '-';
		if (end - q > 2 && q[0] == '0' && (q[1] == 'x' || q[1] == 'X'))
			hex = true;
		if (q >= end || !isdigit((unsigned char)*q))
			continue;
		errno = 0;
		mag = strtoull(hex ? q + 2 : q, &e, hex ? 16 : 10);
		*over = errno == ERANGE ||
		        mag > (unsigned long long)INT64_MAX + neg;
		if (*over)
			*v = neg ? INT64_MIN : INT64_MAX;
		else if (neg)
			*v = mag == (unsigned long long)INT64_MAX + 1
			         ? INT64_MIN
			         : -(int64_t)mag;
		else
			*v = (int64_t)mag;
		if (!*over && (uint32_t)*v != (uint32_t)stored)
			continue;
		snprintf(lit, litlen, "%.*s", (int)(e - digits), digits);
		return true;
	}
	return false;
}

/* ---- typed readers ----------------------------------------------------- */

const char *
cfgread_type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group { ... }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ... ]";
	case CONFIG_TYPE_LIST:
		return "a list ( ... )";
	default:
		return "nothing";
	}
}

/* "key", or "key[2]" for an element of a list. */
static const char *
label(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *parent = config_setting_parent(s);

	if (config_setting_name(s) != NULL)
		return config_setting_name(s);
	if (parent != NULL && config_setting_name(parent) != NULL) {
		snprintf(buf, len, "%s[%d]", config_setting_name(parent),
		         config_setting_index(s));
		return buf;
	}
	snprintf(buf, len, "item %d", config_setting_index(s) + 1);
	return buf;
}

int
cfgread_str(struct cfgread *r, const struct cfgread_scope *sc,
            config_setting_t *s, const char **out)
{
	char b[160];

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfgread_error(r, sc, s, "%s: expected a string, got %s",
		              label(s, b, sizeof(b)), cfgread_type_name(s));
		return -EINVAL;
	}
	*out = config_setting_get_string(s);
	return 0;
}

int
cfgread_bool(struct cfgread *r, const struct cfgread_scope *sc,
             config_setting_t *s, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		cfgread_error(r, sc, s, "%s: expected true or false, got %s",
		              config_setting_name(s), cfgread_type_name(s));
		return -EINVAL;
	}
	*out = config_setting_get_bool(s) != 0;
	return 0;
}

int
cfgread_int(struct cfgread *r, const struct cfgread_scope *sc,
            config_setting_t *s, int64_t min, int64_t max, int64_t *out)
{
	char lit[64] = "";
	bool over = false;
	int64_t v;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		v = config_setting_get_int64(s);
		rescan_int(r, s, v, &v, &over, lit, sizeof(lit));
		break;
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(s);
		break;
	default:
		cfgread_error(r, sc, s, "%s: expected an integer, got %s",
		              config_setting_name(s), cfgread_type_name(s));
		return -EINVAL;
	}
	if (lit[0] == '\0')
		snprintf(lit, sizeof(lit), "%lld", (long long)v);
	if (over || v < min || v > max) {
		cfgread_error(r, sc, s, "%s: %s is out of range %lld-%lld",
		              config_setting_name(s), lit, (long long)min,
		              (long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int
cfgread_enum(struct cfgread *r, const struct cfgread_scope *sc,
             config_setting_t *s, const char *const *choices, int *out)
{
	/* NULL for gcc -O2, which cannot see that cfgread_str sets it. */
	const char *v = NULL;
	char list[256] = "";
	size_t n = 0;

	if (cfgread_str(r, sc, s, &v) < 0)
		return -EINVAL;
	for (int i = 0; choices[i] != NULL; i++) {
		if (strcmp(v, choices[i]) == 0) {
			*out = i;
			return 0;
		}
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s\"%s\"",
		                      i == 0                   ? ""
		                      : choices[i + 1] == NULL ? " or "
		                                               : ", ",
		                      choices[i]);
		if (n >= sizeof(list))
			n = sizeof(list) - 1;
	}
	cfgread_error(r, sc, s, "%s: \"%.64s\" is not one of %s",
	              config_setting_name(s), v, list);
	return -EINVAL;
}

int
cfgread_list(struct cfgread *r, const struct cfgread_scope *sc,
             config_setting_t *s, bool allow_empty, const char ***out,
             size_t *n)
{
	int type = config_setting_type(s), len;
	const char **v;
	int bad = 0;

	if (type == CONFIG_TYPE_STRING) {
		if ((v = cfgread_arena_alloc(r->arena, sizeof(*v))) == NULL ||
		    (v[0] = cfgread_arena_strdup(
		         r->arena, config_setting_get_string(s))) == NULL) {
			cfgread_nomem(r);
			return -ENOMEM;
		}
		*out = v;
		*n = 1;
		return 0;
	}
	if (type != CONFIG_TYPE_LIST && type != CONFIG_TYPE_ARRAY) {
		cfgread_error(
		    r, sc, s,
		    "%s: expected a string or a list of strings [\"a\", "
		    "\"b\"], got %s",
		    config_setting_name(s), cfgread_type_name(s));
		return -EINVAL;
	}
	len = config_setting_length(s);
	if (len == 0 && !allow_empty) {
		cfgread_error(r, sc, s, "%s: the list is empty",
		              config_setting_name(s));
		return -EINVAL;
	}
	v = cfgread_arena_alloc(r->arena, (size_t)(len ? len : 1) * sizeof(*v));
	if (v == NULL) {
		cfgread_nomem(r);
		return -ENOMEM;
	}
	for (int i = 0; i < len; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *str = NULL; /* as v in cfgread_enum */

		if (cfgread_str(r, sc, e, &str) < 0) {
			bad = 1;
			continue;
		}
		if ((v[i] = cfgread_arena_strdup(r->arena, str)) == NULL) {
			cfgread_nomem(r);
			return -ENOMEM;
		}
	}
	if (bad)
		return -EINVAL;
	*out = v;
	*n = (size_t)len;
	return 0;
}

/* ---- checks and suggestions -------------------------------------------- */

bool
cfgread_is_uuid(const char *s)
{
	static const int groups[] = {8, 4, 4, 4, 12};

	for (int g = 0; g < 5; g++) {
		for (int i = 0; i < groups[g]; i++, s++)
			if (!isxdigit((unsigned char)*s))
				return false;
		if (g < 4 && *s++ != '-')
			return false;
	}
	return *s == '\0';
}

const char *
cfgread_name_problem(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return "is empty";
	if (n > CFGREAD_MAX_NAME)
		return "is longer than 128 characters";
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' &&
		    *p != '-')
			return "may contain only letters, digits, \".\", \"_\" "
			       "and \"-\"";
	/* An account name is a file name under $CREDENTIALS_DIRECTORY. */
	if (!isalnum((unsigned char)s[0]))
		return "must start with a letter or a digit";
	return NULL;
}

static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65];

	if (la > 64 || lb > 64)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j],
			       best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

void
cfgread_suggest(const char *key, const char *candidate, const char **best,
                size_t *bestd)
{
	size_t d = edit_distance(key, candidate);

	if (d <= 2 && d < strlen(key) && d < *bestd) {
		*best = candidate;
		*bestd = d;
	}
}

void
cfgread_unknown_key(struct cfgread *r, const struct cfgread_scope *sc,
                    config_setting_t *s, const char *best)
{
	if (best != NULL)
		cfgread_error(r, sc, s,
		              "unknown key \"%s\" (did you mean \"%s\"?)",
		              config_setting_name(s), best);
	else
		cfgread_error(r, sc, s, "unknown key \"%s\"",
		              config_setting_name(s));
}

bool
cfgread_in_list(const char *key, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(key, *list) == 0)
			return true;
	return false;
}

const char *
cfgread_best_of(const char *key, const char *const *list, const char *best,
                size_t *bestd)
{
	for (; *list != NULL; list++)
		cfgread_suggest(key, *list, &best, bestd);
	return best;
}

const char *
cfgread_resolve_path(struct cfgread *r, const char *path)
{
	char *full;
	size_t n;

	if (path[0] == '/' || strcmp(r->base_dir, ".") == 0)
		return cfgread_arena_strdup(r->arena, path);
	n = strlen(r->base_dir) + strlen(path) + 2;
	if ((full = cfgread_arena_alloc(r->arena, n)) != NULL)
		snprintf(full, n, "%s/%s", r->base_dir, path);
	return full;
}
