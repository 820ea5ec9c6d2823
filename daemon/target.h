/*
 * target: one environment a run acts on, as resolved from the company's
 * site list.  A header of its own so that state, which saves targets to
 * resume runs, needs nothing of kinsta (JSON, the action registry, the
 * rate limiter).
 */
#ifndef KCRON_TARGET_H
#define KCRON_TARGET_H

#include <stdbool.h>

#define TARGET_ID_MAX   96
#define TARGET_NAME_MAX 128

struct target {
	char env_id[TARGET_ID_MAX];
	char env_name[TARGET_NAME_MAX];
	char site_id[TARGET_ID_MAX];
	char site_name[TARGET_NAME_MAX];
	char cdn_cache_id[TARGET_ID_MAX];  /* "" when the CDN is off */
	char edge_cache_id[TARGET_ID_MAX]; /* "" when edge caching is off */
	char source_env_id[TARGET_ID_MAX]; /* push-environment: the source */
	char domain[TARGET_NAME_MAX]; /* primary domain ({domain}), or "" */
	bool resolved; /* site and caches known (not just the env id) */
};

#endif
