/*
 * history: history.jsonl read backwards.  See history.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history.h"
#include "json.h"
#include "util.h"

#define BLOCK ((size_t)64 << 10)

struct history_reader {
	int fd;
	char *path;
	/* buf[0..len) is the file from offset pos on that is not yet
	 * handed out; its first line may be cut by the block boundary */
	char *buf;
	size_t len, cap;
	off_t pos;
	yajl_val doc; /* of the entry last handed out */
};

int
history_open(struct history_reader **out, const char *path, char *err,
             size_t errlen)
{
	struct history_reader *r = calloc(1, sizeof(*r));
	struct stat st;
	int rc;

	if (r == NULL || (r->path = strdup(path)) == NULL) {
		free(r);
		util_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((r->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(r->fd, &st) < 0) {
		rc = -errno;
		util_seterr(err, errlen, "cannot read %s: %s", path,
		            strerror(-rc));
		history_close(r);
		return rc;
	}
	r->pos = st.st_size;
	*out = r;
	return 0;
}

void
history_close(struct history_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	json_free(r->doc);
	free(r->buf);
	free(r->path);
	free(r);
}

/* Read the block before buf[0] in front of it: 0, or -errno. */
static int
read_back(struct history_reader *r)
{
	size_t n = r->pos > (off_t)BLOCK ? BLOCK : (size_t)r->pos;
	ssize_t got;

	if (r->len + n > r->cap) {
		size_t cap = r->cap ? r->cap : BLOCK;
		char *b;

		while (cap < r->len + n)
			cap *= 2;
		if ((b = realloc(r->buf, cap)) == NULL)
			return -ENOMEM;
		r->buf = b;
		r->cap = cap;
	}
	if (r->len > 0)
		memmove(r->buf + n, r->buf, r->len);
	for (size_t done = 0; done < n; done += (size_t)got) {
		got = pread(r->fd, r->buf + done, n - done,
		            r->pos - (off_t)n + (off_t)done);
		if (got < 0 && errno == EINTR) {
			got = 0;
			continue;
		}
		if (got <= 0)
			return got < 0 ? -errno : -EIO; /* truncated under us */
	}
	r->pos -= (off_t)n;
	r->len += n;
	return 0;
}

/* The last whole line of what is left, taken off it: 1 with *line and
 * *n, 0 when nothing is left, -errno. */
static int
last_line(struct history_reader *r, const char **line, size_t *n)
{
	const char *nl;
	int rc;

	for (;;) {
		/* the newline that ends the last line (and empty lines) */
		while (r->len > 0 && r->buf[r->len - 1] == '\n')
			r->len--;
		if (r->len == 0) {
			if (r->pos == 0)
				return 0;
			if ((rc = read_back(r)) < 0)
				return rc;
			continue;
		}
		if ((nl = memrchr(r->buf, '\n', r->len)) != NULL ||
		    r->pos == 0) {
			size_t from =
			    nl != NULL ? (size_t)(nl - r->buf) + 1 : 0;

			*line = r->buf + from;
			*n = r->len - from;
			r->len = from;
			return 1;
		}
		if (r->len <= HISTORY_LINE_MAX) {
			if ((rc = read_back(r)) < 0)
				return rc;
			continue;
		}
		/* a monster line: skip to the newline before it, without
		 * keeping it */
		r->len = 0;
		while (r->pos > 0) {
			if ((rc = read_back(r)) < 0)
				return rc;
			if ((nl = memrchr(r->buf, '\n', r->len)) != NULL) {
				r->len = (size_t)(nl - r->buf) + 1;
				break;
			}
			r->len = 0;
		}
	}
}

static const char *
str_or_empty(yajl_val v, const char *key)
{
	const char *s = json_str(v, key, NULL);

	return s != NULL ? s : "";
}

int
history_next(struct history_reader *r, struct history_entry *e, char *err,
             size_t errlen)
{
	const char *line, *id;
	char perr[128];
	size_t n;
	int rc;

	json_free(r->doc);
	r->doc = NULL;
	for (;;) {
		if ((rc = last_line(r, &line, &n)) <= 0) {
			if (rc < 0)
				util_seterr(err, errlen, "cannot read %s: %s",
				            r->path, strerror(-rc));
			return rc;
		}
		if (n == 0 ||
		    json_parse(&r->doc, line, n, NULL, perr, sizeof(perr)) <
		        0 ||
		    !YAJL_IS_OBJECT(r->doc) ||
		    json_str(r->doc, "job", NULL) == NULL) {
			json_free(r->doc);
			r->doc = NULL;
			continue;
		}
		break;
	}
	memset(e, 0, sizeof(*e));
	e->job = str_or_empty(r->doc, "job");
	e->action = str_or_empty(r->doc, "action");
	e->env_id = str_or_empty(r->doc, "env_id");
	e->target = str_or_empty(r->doc, "target");
	e->op_id = str_or_empty(r->doc, "op_id");
	e->outcome = str_or_empty(r->doc, "outcome");
	e->message = str_or_empty(r->doc, "message");
	e->note = str_or_empty(r->doc, "note");
	e->trigger = str_or_empty(r->doc, "trigger");
	if ((id = json_str(r->doc, "run_id", NULL)) != NULL)
		e->run_id = strtoull(id, NULL, 10);
	json_int(r->doc, &e->start_ms, "start_ms", NULL);
	json_int(r->doc, &e->end_ms, "end_ms", NULL);
	json_int(r->doc, &e->duration_ms, "duration_ms", NULL);
	e->line = line;
	e->len = n;
	return 1;
}

int
history_parse_period(const char *s, int64_t *ms)
{
	static const struct {
		char unit;
		int64_t ms;
	} units[] = {{'s', 1000},
	             {'m', 60000},
	             {'h', 3600000},
	             {'d', 86400000},
	             {'w', 604800000}};
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end == s || n < 0 || n > 100000 || end[0] == '\0' ||
	    end[1] != '\0' || s[0] == '-' || s[0] == '+' || s[0] == ' ')
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (units[i].unit == end[0]) {
			*ms = n * units[i].ms;
			return 0;
		}
	return -EINVAL;
}
