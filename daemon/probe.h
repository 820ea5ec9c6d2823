/*
 * probe: is the customer's site healthy?  The pure half of the checks an
 * update makes before and after it changes anything (verify = { ... }):
 * the URL of each page probed, and the verdict on its answer.  No I/O:
 * exec sends the GET (through http, outside the Kinsta API's budgets).
 */
#ifndef KCRON_PROBE_H
#define KCRON_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "target.h"

/* The query parameter that makes every probe miss the page caches. */
#define PROBE_BUSTER "kinsta-cron-probe"

/* The URL of page url (absolute, or relative to base) on target t, with
 * {domain}, {site_name} and {env_name} replaced and a cache-buster query
 * (buster) added, into out: 0, -ENOENT (a placeholder the target does not
 * know, named in why), or -ENAMETOOLONG. */
int probe_url(char *out, size_t len, const char *base, const char *url,
              const struct target *t, uint64_t buster, char *why,
              size_t whylen);

/* The verdict on one answer: true when healthy, else false with the
 * reason in why: a status other than expect_status, an empty page, a PHP
 * fatal error marker, expect_text (NULL: none) missing. */
bool probe_verdict(long status, const char *body, size_t len,
                   long expect_status, const char *expect_text, char *why,
                   size_t whylen);

#endif
