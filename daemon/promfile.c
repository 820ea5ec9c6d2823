/*
 * promfile: the textfile written off the loop.  See promfile.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "promfile.h"
#include "util.h"

/* At most one render and write a second, however many runs end. */
#define MIN_INTERVAL_MS 1000

struct promfile {
	uv_loop_t *loop;
	char *path;
	promfile_snapshot_fn snapshot;
	void *arg;
	uv_timer_t timer;
	uv_work_t work;
	bool writing; /* a write is in the thread pool */
	bool pending; /* a change came while it was */
	bool closing;
	struct metrics copy; /* what the thread renders and writes, where */
	char wpath[PATH_MAX];
	int rc;
	char err[512];
	char last_err[512]; /* the last error logged: said once */
	uint64_t last_ms;   /* uv_now() of the last snapshot */
};

int
promfile_write(const char *path, const char *buf, size_t len, char *err,
               size_t errlen)
{
	const char *slash = strrchr(path, '/'),
	           *name = slash ? slash + 1 : path;
	char dir[PATH_MAX], tmp[NAME_MAX + 1];
	const char *what = "open the folder";
	int dfd = -1, fd = -1, ret;
	bool made = false;

	snprintf(dir, sizeof(dir), "%.*s",
	         slash == NULL   ? 1
	         : slash == path ? 1
	                         : (int)(slash - path),
	         slash == NULL ? "." : path);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		ret = -errno;
		goto fail;
	}
	/* not *.prom: the collector never reads a half-written file */
	what = "name the temp file";
	ret = -ENAMETOOLONG;
	if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= sizeof(tmp))
		goto fail;
	what = "create the temp file";
	fd =
	    openat(dfd, tmp,
	           O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		ret = -errno;
		goto fail;
	}
	made = true;
	/* the service's umask is 0077; node_exporter is another user */
	what = "chmod the temp file";
	if (fchmod(fd, 0644) != 0) {
		ret = -errno;
		goto fail;
	}
	what = "write the temp file";
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto fail;
		}
		buf += n;
		len -= (size_t)n;
	}
	what = "close the temp file";
	ret = close(fd) != 0 ? -errno : 0;
	fd = -1;
	if (ret != 0)
		goto fail;
	what = "rename the temp file";
	if (renameat(dfd, tmp, dfd, name) != 0) {
		ret = -errno;
		goto fail;
	}
	close(dfd);
	return 0;
fail:
	util_seterr(err, errlen, "cannot write %s: %s: %s", path, what,
	            strerror(-ret));
	if (fd >= 0)
		close(fd);
	if (made)
		unlinkat(dfd, tmp, 0);
	if (dfd >= 0)
		close(dfd);
	return ret;
}

static void
work(uv_work_t *w)
{
	struct promfile *pf = w->data;
	char *text;
	size_t len;

	pf->rc = metrics_render(&pf->copy, &text, &len);
	metrics_free(&pf->copy);
	if (pf->rc < 0) {
		snprintf(pf->err, sizeof(pf->err), "cannot render: %s",
		         strerror(-pf->rc));
		return;
	}
	pf->rc = promfile_write(pf->wpath, text, len, pf->err, sizeof(pf->err));
	free(text);
}

/* Log a failed write once, not at every change: a missing folder would
 * otherwise fill the journal. */
static void
report(struct promfile *pf)
{
	if (pf->rc < 0 && strcmp(pf->err, pf->last_err) != 0) {
		log_msg(LOG_WARNING, "metrics: %s", pf->err);
		snprintf(pf->last_err, sizeof(pf->last_err), "%s", pf->err);
	} else if (pf->rc == 0 && pf->last_err[0] != '\0') {
		log_msg(LOG_NOTICE, "metrics: %s is written again", pf->wpath);
		pf->last_err[0] = '\0';
	}
}

static void
on_closed(uv_handle_t *h)
{
	struct promfile *pf = h->data;

	metrics_free(&pf->copy);
	free(pf->path);
	free(pf);
}

/* Copy the metrics now into pf->copy (never while a thread renders it);
 * false when there is nothing to write. */
static bool
snapshot(struct promfile *pf)
{
	pf->last_ms = uv_now(pf->loop);
	if (pf->snapshot(pf->arg, &pf->copy) < 0) {
		log_msg(LOG_WARNING, "metrics: cannot copy: out of memory");
		return false;
	}
	snprintf(pf->wpath, sizeof(pf->wpath), "%s", pf->path);
	return true;
}

static void
done(uv_work_t *w, int status)
{
	struct promfile *pf = w->data;

	(void)status;
	pf->writing = false;
	report(pf);
	if (pf->closing) {
		uv_close((uv_handle_t *)&pf->timer, on_closed);
		return;
	}
	if (pf->pending) {
		pf->pending = false;
		promfile_changed(pf);
	}
}

static void
on_timer(uv_timer_t *t)
{
	struct promfile *pf = t->data;

	if (pf->writing) {
		pf->pending = true; /* done() comes back */
		return;
	}
	if (!snapshot(pf))
		return;
	pf->work.data = pf;
	pf->writing = true;
	if (uv_queue_work(pf->loop, &pf->work, work, done) < 0) {
		pf->writing = false;
		metrics_free(&pf->copy);
		log_msg(LOG_WARNING, "metrics: no worker thread");
	}
}

int
promfile_init(struct promfile **out, uv_loop_t *loop, const char *path,
              promfile_snapshot_fn snapshot_fn, void *arg)
{
	struct promfile *pf = calloc(1, sizeof(*pf));

	if (pf == NULL || (pf->path = strdup(path)) == NULL) {
		free(pf);
		return -ENOMEM;
	}
	pf->loop = loop;
	pf->snapshot = snapshot_fn;
	pf->arg = arg;
	uv_timer_init(loop, &pf->timer);
	pf->timer.data = pf;
	*out = pf;
	return 0;
}

int
promfile_set_path(struct promfile *pf, const char *path)
{
	char *p = strdup(path);

	if (p == NULL)
		return -ENOMEM;
	free(pf->path);
	pf->path = p;
	return 0;
}

void
promfile_changed(struct promfile *pf)
{
	uint64_t now, due;

	if (pf->closing || uv_is_active((uv_handle_t *)&pf->timer))
		return;
	now = uv_now(pf->loop);
	due = pf->last_ms == 0 ? now : pf->last_ms + MIN_INTERVAL_MS;
	uv_timer_start(&pf->timer, on_timer, due > now ? due - now : 0, 0);
}

void
promfile_close(struct promfile *pf)
{
	bool changed = uv_is_active((uv_handle_t *)&pf->timer) || pf->pending;

	pf->closing = true;
	uv_timer_stop(&pf->timer);
	if (pf->writing)
		return; /* done() closes; the last change is not written */
	if (changed && snapshot(pf)) {
		work(&pf->work); /* the last one, on the loop: stopping */
		report(pf);
	}
	uv_close((uv_handle_t *)&pf->timer, on_closed);
}
