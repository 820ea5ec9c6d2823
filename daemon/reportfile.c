/*
 * reportfile: history in, report out.  The history is read whole: a year
 * of runs every few minutes is a few tens of megabytes, and a report is
 * made once a month.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "reportfile.h"
#include "state.h"
#include "util.h"

/* Past this, the history is read from its end (the newest runs). */
#define HISTORY_MAX ((off_t)256 << 20)

void
reportfile_job_options(const struct config *cfg, const struct config_job *job,
                       struct reportfile_options *o)
{
	memset(o, 0, sizeof(*o));
	o->job = job->name;
	o->client_label = config_param_str(job, "client");
	o->client = o->client_label ? o->client_label
	                            : cfg->accounts[job->account].name;
	o->period = config_param_str(job, "period");
	o->since = config_param_str(job, "since");
	o->format = config_param_str(job, "format");
	o->output = config_param_str(job, "output");
	o->zone = job->zone;
}

/* DIR/history.jsonl into *buf (malloc'd; NULL and 0 when there is none). */
static int
read_history(const char *dir, char **buf, size_t *len, char *err, size_t errlen)
{
	char path[4096];
	struct stat st;
	off_t skip = 0;
	size_t got = 0;
	int fd, rc = 0;

	*buf = NULL;
	*len = 0;
	snprintf(path, sizeof(path), "%s/history.jsonl", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		rc = -errno;
		util_seterr(err, errlen, "cannot open %s: %s", path,
		            strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	if (st.st_size > HISTORY_MAX)
		skip = st.st_size - HISTORY_MAX;
	if ((*buf = malloc((size_t)(st.st_size - skip) + 1)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	while (got < (size_t)(st.st_size - skip)) {
		ssize_t r =
		    pread(fd, *buf + got, (size_t)(st.st_size - skip) - got,
		          skip + (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	(*buf)[got] = '\0';
	*len = got;
	close(fd);
	return 0;
fail:
	util_seterr(err, errlen, "cannot read %s: %s", path, strerror(-rc));
	free(*buf);
	*buf = NULL;
	close(fd);
	return rc;
}

int
reportfile_write(const struct config *cfg, const struct reportfile_options *o,
                 const char *const *inventories, const size_t *lens,
                 const char *const *accounts, size_t n, int64_t now, FILE *out,
                 char *path, size_t pathlen, char *err, size_t errlen)
{
	struct report_period period;
	struct report_input in = {0};
	char *hist = NULL, *doc = NULL, *text = NULL, file[4096], date[64];
	size_t hlen = 0, dlen = 0, tlen = 0;
	int fmt = report_format_parse(o->format), rc;

	if (path != NULL && pathlen > 0)
		path[0] = '\0';
	if (fmt < 0) {
		util_seterr(err, errlen, "format \"%s\": use html, csv or json",
		            o->format);
		return -EINVAL;
	}
	if ((rc = report_period_parse(&period, o->period, o->since, o->zone,
	                              now, err, errlen)) < 0)
		return rc;
	if ((rc = read_history(cfg->state_dir, &hist, &hlen, err, errlen)) < 0)
		return rc;
	in.inventories = inventories;
	in.inventory_lens = lens;
	in.accounts = accounts;
	in.ninventories = n;
	in.history = hist;
	in.history_len = hlen;
	in.job = o->job;
	in.client = o->client;
	in.client_label = o->client_label;
	in.period = &period;
	in.zone = o->zone;
	in.now = now;
	if ((rc = report_build(&in, &doc, &dlen, err, errlen)) < 0 ||
	    (rc = report_render((enum report_format)fmt, doc, dlen, &text,
	                        &tlen, err, errlen)) < 0)
		goto out;
	if (o->output == NULL) {
		if (fwrite(text, 1, tlen, out) != tlen || fflush(out) != 0) {
			rc = -EIO;
			util_seterr(err, errlen, "cannot write the report: %s",
			            strerror(errno));
		}
		goto out;
	}
	util_time_iso(date, sizeof(date), o->zone, now, -1);
	date[10] = '\0';
	rc = report_output_path(file, sizeof(file), o->output, o->client, date,
	                        period.label);
	if (rc < 0 || rc >= (int)sizeof(file)) {
		util_seterr(err, errlen, "output \"%s\": %s", o->output,
		            rc < 0 ? "unknown {name} (use {client}, {date}, "
		                     "{period})"
		                   : "the path is too long");
		rc = rc < 0 ? rc : -ENAMETOOLONG;
		goto out;
	}
	if ((rc = state_write_file(file, text, tlen, err, errlen)) == 0 &&
	    path != NULL)
		snprintf(path, pathlen, "%s", file);
out:
	free(hist);
	free(doc);
	free(text);
	return rc;
}
