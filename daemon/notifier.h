/*
 * notifier: delivers what notify decides, and heartbeats.
 *
 * At the end of each fire (exec's fire_ended hook, passed on by the
 * scheduler) it asks notify whether to tell anyone, renders the message
 * once per channel and keeps each delivery as a notice in the state
 * (state.json), so that a restart loses none; then delivers:
 *
 *   - webhooks and heartbeat pings through the daemon's HTTP client, at
 *     most `parallel` at once, each with its own timeout, never through
 *     the Kinsta budgets or their queue: a slow receiver never delays a
 *     job, and a job never delays a message;
 *   - email by piping the message to `sendmail -t -oi`, spawned from the
 *     loop (uv_spawn), never waited for.
 *
 * A delivery that fails is logged and tried again after a backoff with
 * jitter (retry_min doubling up to retry_max), until give_up after its
 * creation.  Heartbeats follow the healthchecks.io protocol: <url>/start
 * when a fire starts (tried once: late, it would only mislead), <url> when
 * it succeeded, <url>/fail with the digest as the body when it failed.
 * Log lines name a receiver by its host only: a webhook's path is its
 * secret.
 */
#ifndef KCRON_NOTIFIER_H
#define KCRON_NOTIFIER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "exec.h"
#include "http.h"
#include "state.h"

struct notifier;

/* Told when the state (memory, notices) changed and should be saved, and
 * when a notice ends. */
struct notifier_hooks {
	void (*changed)(void *arg);
	/* a notice was delivered (ok) or given up on (!ok): for the
	 * metrics; may be NULL */
	void (*delivered)(bool ok, void *arg);
	void *arg;
};

/* Create the notifier on loop, sending through h, keeping its notices in
 * st, under cfg's delivery settings; 0 or -ENOMEM. */
int notifier_init(struct notifier **out, uv_loop_t *loop, struct http *h,
                  struct state *st, const struct config *cfg,
                  const struct notifier_hooks *hooks);

/* Use cfg (delivery settings, sendmail) from now on; forget the memory
 * of jobs it no longer has. */
void notifier_set_config(struct notifier *nt, const struct config *cfg);

/* Deliver the notices the state kept from before a restart. */
void notifier_start(struct notifier *nt);

/* A fire of job started: its heartbeat's /start. */
void notifier_fire_started(struct notifier *nt, const struct config_job *job);

/* A fire ended: decide, render, queue and deliver its notices. */
void notifier_fire_ended(struct notifier *nt, const struct exec_fire *f);

/* Notices waiting or being delivered. */
size_t notifier_pending(const struct notifier *nt);

/* Stop: cancel deliveries in flight (their notices stay in the state for
 * the next start) and close the handles; the loop must run once more. */
void notifier_close(struct notifier *nt);

#endif
