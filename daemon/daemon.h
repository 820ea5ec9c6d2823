/*
 * daemon: the service that `kinsta-cron daemon` runs.
 *
 * Builds its parts in order (configuration and log, then state, http, exec
 * and the scheduler, signal handlers, the systemd watchdog and the control
 * socket) and tears down exactly what was built, in reverse order, both
 * when start-up fails half way and on SIGTERM or SIGINT: one order of
 * construction to read, and every failure path frees what it must (chrony
 * pairs each Initialise with a Finalise the same way).  It answers SIGHUP
 * by loading the configuration again, and keeps systemd told through
 * sd_notify: READY=1 with STATUS=, RELOADING=1 with MONOTONIC_USEC=,
 * STOPPING=1 and WATCHDOG=1.  Apart from main, which is only the command
 * line.
 */
#ifndef KCRON_DAEMON_H
#define KCRON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct daemon;

struct daemon_options {
	const char *config_path; /* not copied: must outlive the daemon */
	bool log_stderr;         /* log to stderr, not to syslog */
	int verbose;             /* 2 or more: debug lines too */
};

/* Load the configuration and open the log and the loop: 0, or -errno with
 * a line for people in err (the log is not open then) and, when the
 * configuration does not load, its errors in errs (not NULL; the caller
 * frees it either way). */
int daemon_init(struct daemon **out, const struct daemon_options *opt,
                struct config_errors *errs, char *err, size_t errlen);

/* Build the parts in order, then send READY=1: 0, or -errno with the
 * reason in err, already logged, and what was built torn down. */
int daemon_start(struct daemon *d, char *err, size_t errlen);

/* Run the loop until SIGTERM or SIGINT has stopped the daemon; 0. */
int daemon_run(struct daemon *d);

/* Tear down what daemon_start built, in reverse order; runs in flight stay
 * in state.json for the next start.  Only the first call does anything;
 * the loop must run once more (daemon_run or daemon_free). */
void daemon_stop(struct daemon *d);

/* Stop if not stopped, finish and close the loop, close the log, free d
 * (NULL is fine). */
void daemon_free(struct daemon *d);

#endif
