/*
 * advice: the warnings of `kinsta-cron check` about a configuration that
 * loads without an error but will not do what its author meant: the
 * installed file's placeholder company, no jobs at all, a key file that
 * kinsta-cron.service cannot read, a six-field schedule written as if it
 * had five ("30 2 * * * *" fires every hour, at xx:02:30).
 *
 * Each warning is one line, "FILE:LINE: warning: " and then what is wrong
 * (the account or job, the field, its value) and what to do.
 *
 * advice_check is pure: it reads a loaded config and hands each line to a
 * callback; it opens nothing and prints nothing.  The one question a
 * config cannot answer, whether the service's user can read a key file,
 * goes through struct advice_probe.  main.c passes the real answer
 * (advice_service_can_read, the module's only I/O, kept apart from the
 * rest) and the unit tests a fake.  Passing the answers in instead would
 * make main.c walk the accounts and know which key sources matter; the
 * probe keeps that here and main.c's part to a few lines.
 */
#ifndef KCRON_ADVICE_H
#define KCRON_ADVICE_H

#include <stdbool.h>

#include "config.h"

/* Who answers "can kinsta-cron.service's user read the file at path?":
 * 1 yes, 0 no, -errno when it cannot be told (then nothing is said). */
struct advice_probe {
	int (*service_can_read)(const char *path, void *arg);
	void *arg;
};

/* Call warn(line, arg) once per warning about cfg: the accounts, then the
 * jobs, in file order, then the file as a whole.  probe NULL leaves key
 * files alone (for a configuration the service does not load).  Returns
 * the number of warnings. */
int advice_check(const struct config *cfg, const struct advice_probe *probe,
                 void (*warn)(const char *line, void *arg), void *arg);

/* The probe for kinsta-cron.service as shipped (DynamicUser=yes,
 * ProtectHome=yes, PrivateTmp=yes, /etc/kinsta-cron/credentials hidden):
 * 1 when its user owns the file at path, else 0; -errno when path cannot
 * be resolved.  Uses realpath(3), stat(2) and getpwnam(3); arg unused. */
int advice_service_can_read(const char *path, void *arg);

/* Is path the configuration kinsta-cron.service loads
 * (/etc/kinsta-cron/kinsta-cron.conf, however it is spelled)? */
bool advice_is_service_config(const char *path);

#endif
