/*
 * cfgread: typed reading of libconfig settings, with every mistake reported
 * as one "FILE:LINE: ..." line.
 *
 * This is the layer under config's language: it knows libconfig and how to
 * report, and nothing of accounts, jobs or actions.  It reads a setting as
 * a string, boolean, 64-bit integer, one of a set of words or a list of
 * strings; says which file and line a setting came from (includes named as
 * the user can open them); re-reads integer literals from the source line,
 * because libconfig 1.5 wraps large ones; suggests the nearest known key
 * for an unknown one; and keeps the strings that outlive the libconfig
 * objects in an arena.  It is separate so that the language (config.c)
 * reads as a language, and so that these rules are tested on their own.
 *
 * Errors are counted and handed, one formatted line at a time, to a sink
 * (config's struct config_errors): this layer keeps no list of its own.
 */
#ifndef KCRON_CFGREAD_H
#define KCRON_CFGREAD_H

#include <libconfig.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest name cfgread_name_problem accepts. */
#define CFGREAD_MAX_NAME 128

/* ---- the arena: strings and arrays that live as long as the result ----- */

struct cfgread_chunk;

struct cfgread_arena {
	struct cfgread_chunk *chunks;
};

/* N bytes, aligned for any type, or NULL; freed with the whole arena. */
void *cfgread_arena_alloc(struct cfgread_arena *a, size_t n);

/* A NUL-terminated copy of the first N bytes of S, or NULL. */
char *cfgread_arena_strndup(struct cfgread_arena *a, const char *s, size_t n);

/* A copy of S, or NULL. */
char *cfgread_arena_strdup(struct cfgread_arena *a, const char *s);

/* Release every block of the arena and empty it. */
void cfgread_arena_free(struct cfgread_arena *a);

/* ---- a name table: finding duplicates, looking names up ---------------- */

struct cfgread_name {
	const char *name; /* not copied: it must outlive the table */
	const char *file; /* where it is defined, for "first defined at" */
	int line;
	size_t index; /* the caller's: what the name stands for */
};

struct cfgread_names {
	struct cfgread_name *slots; /* open addressing, cap a power of 2 */
	size_t cap, n;
};

/* The entry called NAME, or NULL. */
struct cfgread_name *cfgread_names_find(const struct cfgread_names *t,
                                        const char *name);

/* Add NAME; 0, -EEXIST (nothing changed) or -ENOMEM. */
int cfgread_names_add(struct cfgread_names *t, const char *name,
                      const char *file, int line, size_t index);

/* Release the table and empty it. */
void cfgread_names_free(struct cfgread_names *t);

/* ---- the reader -------------------------------------------------------- */

struct cfgread_source; /* a file's text, kept to re-read integers */

/* One read, possibly of several files.  The caller sets the first group of
 * fields (zero the rest) and calls cfgread_done at the end. */
struct cfgread {
	struct cfgread_arena *arena; /* strings that outlive the read */
	/* Receives each error line: 0, or -ENOMEM (the read then ends as
	 * out of memory).  NULL: errors are only counted. */
	int (*sink)(void *arg, const char *line);
	void *sink_arg;
	const char *base_dir; /* of the main file: includes, relative paths */
	const char *file;     /* the file being read, for settings without
	                       * a source file of their own */
	/* A group that many items inherit (config's `defaults`): an error
	 * inside it is reported once, prefixed with shared_what, however
	 * many items read the setting. */
	config_setting_t *shared;
	const char *shared_what;

	int nerr;   /* errors so far, reported or not */
	bool nomem; /* something was lost to a failed allocation */
	struct cfgread_source *sources;
	size_t nsources;
	const char **names; /* interned display file names, in the arena */
	size_t nnames;
};

/* Where a message is about: the enclosing item and its fallback place. */
struct cfgread_scope {
	const char *file;
	int line;
	char what[CFGREAD_MAX_NAME + 32]; /* "job \"x\": ", "api: ", "" */
};

/* Release what the reader holds (not the arena). */
void cfgread_done(struct cfgread *r);

/* Record that an allocation failed: the read ends as -ENOMEM. */
void cfgread_nomem(struct cfgread *r);

/* Report "FILE:LINE: message" ("FILE: message" when LINE <= 0); control
 * characters become "?", so that one error is always one line. */
void cfgread_error_at(struct cfgread *r, const char *file, int line,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* cfgread_error_at with a va_list. */
void cfgread_verror_at(struct cfgread *r, const char *file, int line,
                       const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* Report at setting S, or at the scope's place when S is NULL, prefixed
 * with the scope's what (or shared_what inside the shared group). */
void cfgread_error(struct cfgread *r, const struct cfgread_scope *sc,
                   config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The file S came from, as the user can open it (interned), or r->file. */
const char *cfgread_file(struct cfgread *r, const config_setting_t *s);

/* The line S is on (0 if unknown). */
int cfgread_line(const config_setting_t *s);

/* Whether S is GROUP or inside it (false for a NULL GROUP). */
bool cfgread_inside(const config_setting_t *s, const config_setting_t *group);

/* What S is, for messages: "a string", "a group { ... }", ... */
const char *cfgread_type_name(const config_setting_t *s);

/* ---- files ------------------------------------------------------------- */

/* Keep TEXT (taken over, freed by cfgread_done) as the source of PATH (not
 * copied: it must outlive the reader), for re-reading integers; 0 or
 * -ENOMEM. */
int cfgread_add_source(struct cfgread *r, const char *path, char *text,
                       size_t len);

/* Read PATH into *text and keep it as a source (as cfgread_add_source);
 * 0, or -EINVAL (reported at PATH) or -ENOMEM. */
int cfgread_load_text(struct cfgread *r, const char *path, char **text);

/* Parse TEXT into LC (its include dir set by the caller); 0, or -EINVAL
 * with libconfig's message reported at its file and line. */
int cfgread_parse(struct cfgread *r, config_t *lc, const char *text);

/* Free the text that cfgread_load_text read from PATH, once parsed: the
 * tree holds what the text said, and the text beside it only raises the
 * peak of a load.  Should an integer literal of PATH need re-reading, the
 * file is read again then (as an included file is on first use). */
void cfgread_release_text(struct cfgread *r, const char *path);

/* PATH as given when absolute, else relative to base_dir, in the arena;
 * NULL when out of memory. */
const char *cfgread_resolve_path(struct cfgread *r, const char *path);

/* ---- typed readers: 0, or -EINVAL reported at the setting -------------- */

/* A string (owned by libconfig: copy it to keep it). */
int cfgread_str(struct cfgread *r, const struct cfgread_scope *sc,
                config_setting_t *s, const char **out);

/* true or false. */
int cfgread_bool(struct cfgread *r, const struct cfgread_scope *sc,
                 config_setting_t *s, bool *out);

/* An integer in [min, max], as the user wrote it even where libconfig 1.5
 * wrapped it to 32 bits (the source line is re-scanned). */
int cfgread_int(struct cfgread *r, const struct cfgread_scope *sc,
                config_setting_t *s, int64_t min, int64_t max, int64_t *out);

/* One of CHOICES (NULL-terminated): its index in *out. */
int cfgread_enum(struct cfgread *r, const struct cfgread_scope *sc,
                 config_setting_t *s, const char *const *choices, int *out);

/* A string or a list/array of strings, copied into the arena; -ENOMEM
 * when out of memory. */
int cfgread_list(struct cfgread *r, const struct cfgread_scope *sc,
                 config_setting_t *s, bool allow_empty, const char ***out,
                 size_t *n);

/* ---- checks and suggestions -------------------------------------------- */

/* Whether S is a UUID (8-4-4-4-12 hex digits). */
bool cfgread_is_uuid(const char *s);

/* NULL if S is a good name (letters, digits, ".", "_", "-", starting with
 * a letter or digit, at most CFGREAD_MAX_NAME bytes), else what is wrong
 * with it ("is empty", ...). */
const char *cfgread_name_problem(const char *s);

/* Keep CANDIDATE in *best when it is closer to KEY than *bestd (edit
 * distance at most 2 and less than KEY's length); start with *bestd 99. */
void cfgread_suggest(const char *key, const char *candidate, const char **best,
                     size_t *bestd);

/* cfgread_suggest over LIST (NULL-terminated), starting from BEST. */
const char *cfgread_best_of(const char *key, const char *const *list,
                            const char *best, size_t *bestd);

/* Whether KEY is in LIST (NULL-terminated). */
bool cfgread_in_list(const char *key, const char *const *list);

/* Report S as an unknown key, with "did you mean" BEST when not NULL. */
void cfgread_unknown_key(struct cfgread *r, const struct cfgread_scope *sc,
                         config_setting_t *s, const char *best);

#endif
