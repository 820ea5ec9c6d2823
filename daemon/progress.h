/*
 * progress: what `kinsta-cron run` shows while it waits.
 *
 * A run of a few targets takes seconds (each operation is polled until it
 * ends), and a command that prints nothing for that long looks hung.  On a
 * terminal, one status line on stderr is redrawn every quarter second:
 * targets done of those known, the operation being followed and on what,
 * the time elapsed.  Elsewhere (a pipe, a log file), one plain line per
 * operation started, so that a log shows what the run was waiting for.
 * The outcome lines themselves stay on stdout, unchanged.
 */
#ifndef KCRON_PROGRESS_H
#define KCRON_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <uv.h>

#include "exec.h"

struct progress;

/* Show the progress of job's run on out (stderr), redrawn when tty;
 * 0 or -ENOMEM. */
int progress_start(struct progress **out, uv_loop_t *loop, FILE *f, bool tty,
                   const char *job);

/* An operation started or ended (exec's progress hook); done and active
 * are the runs finished and in flight. */
void progress_op(struct progress *p, const struct exec_progress *ep,
                 size_t done, size_t active);

/* Before an outcome line goes to stdout: clear the status line. */
void progress_clear(struct progress *p);

/* Stop and release (the loop must run once more). */
void progress_stop(struct progress *p);

#endif
