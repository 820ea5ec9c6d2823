/*
 * reportfile: the report's I/O.  Reads history.jsonl, has report build
 * and render the document from the inventories the runs fetched, and
 * writes it where the job (or `kinsta-cron report -o`) says, with
 * {client}, {date} and {period} filled in, or to a stream.
 */
#ifndef KCRON_REPORTFILE_H
#define KCRON_REPORTFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

/* What one report is: who for, which period, which format, where to. */
struct reportfile_options {
	const char *job;          /* the job's name, NULL on the command line */
	const char *client;       /* as shown and in {client} */
	const char *client_label; /* the site label it selects, or NULL */
	const char *period, *since;
	const char *format; /* "json" (NULL), "html", "csv" */
	const char *output; /* path template; NULL: to the stream */
	const struct tz *zone;
};

/* A report job's options (client: its label, else its account's name). */
void reportfile_job_options(const struct config *cfg,
                            const struct config_job *job,
                            struct reportfile_options *o);

/* Build, render and write the report over n inventories (one per account,
 * accounts[i] its name) and cfg's history, made at now (seconds); with no
 * output, to out.  The path written goes to path (may be NULL).  0, or
 * -errno with the reason in err. */
int reportfile_write(const struct config *cfg,
                     const struct reportfile_options *o,
                     const char *const *inventories, const size_t *lens,
                     const char *const *accounts, size_t n, int64_t now,
                     FILE *out, char *path, size_t pathlen, char *err,
                     size_t errlen);

#endif
