/*
 * fire: one firing of a job (one run_id) over all its targets, as exec
 * keeps it and tells it at its end.  A header of its own, as target.h is,
 * so that a pure module that reads a fire (notify) needs nothing of
 * exec's loop (uv.h).
 */
#ifndef KCRON_FIRE_H
#define KCRON_FIRE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "kinsta.h"
#include "target.h"

/* One target's run within a fire. */
struct exec_fire_target {
	struct target target;
	enum kinsta_outcome outcome; /* KINSTA_RUNNING until it ends */
	char op_id[OPS_ID_MAX];      /* the last operation followed, or "" */
	char *message, *note;        /* "" until it ends; owned by the fire */
	int64_t started_ms, ended_ms;
};

/* One fire of a job (one run_id: scheduled, caught up or triggered) over
 * all its targets, so that what is told about it (a notification, a run's
 * page) is told once per fire, not once per environment. */
struct exec_fire {
	const struct config *cfg;
	const struct config_job *job;
	uint64_t run_id;
	int64_t started_ms, ended_ms; /* ended_ms 0 while running */
	struct exec_fire_target *targets;
	size_t ntargets, nended;
	size_t count[KINSTA_OUTCOMES]; /* ended targets by outcome */
	char why[256]; /* failed before it had targets: why; else "" */
};

#endif
