/*
 * log: one line per event to syslog (facility daemon, ident kinsta-cron,
 * with the pid) or to stderr for foreground runs and tests.
 *
 * Lines are "key=value" fields (job=nightly-cache action=clear-cache ...);
 * log_value() quotes a value when it needs it.  Every registered secret (the
 * API keys) is replaced by "[redacted]" in every line before it leaves the
 * process, whatever the caller passed in.
 */
#ifndef KCRON_LOG_H
#define KCRON_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

/* Start logging: to stderr when `to_stderr`, else to syslog; lines above
 * `max_prio` (LOG_INFO by default, LOG_DEBUG for polling detail) are
 * dropped. */
void log_open(bool to_stderr, int max_prio);

/* Stop logging and forget the secrets. */
void log_close(void);

/* Log one line at priority prio (LOG_ERR ... LOG_DEBUG). */
void log_msg(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* va_list form of log_msg. */
void log_vmsg(int prio, const char *fmt, va_list ap);

/* Never print this string (an API key); 0 or -ENOMEM.  Strings shorter
 * than 4 bytes are not registered (they would redact ordinary words). */
int log_secret_add(const char *secret);

/* How many distinct secrets are registered. */
size_t log_secret_count(void);

/* Replace every registered secret in the string buf (size bytes of room)
 * with "[redacted]", in place: for text that leaves the process other
 * than through a log line (a notification). */
void log_scrub(char *buf, size_t size);

/* Forget every registered secret (before registering a new set). */
void log_secret_clear(void);

/* Would a line at prio be written? (to skip building debug detail) */
bool log_enabled(int prio);

/* Copy src into buf as a value for a key=value field: unchanged when it is
 * non-empty and has no space, quote, '=' or control character, else
 * double-quoted with \" \\ and \n escapes; truncated to fit.  Returns buf. */
const char *log_value(char *buf, size_t len, const char *src);

#endif
