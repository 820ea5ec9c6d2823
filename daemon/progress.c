/*
 * progress: the status line of `kinsta-cron run`.  See progress.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "progress.h"

#define REDRAW_MS 250

struct progress {
	uv_timer_t timer;
	FILE *f;
	bool tty, shown;
	char job[130];
	char what[400]; /* the operation being followed, on what */
	size_t done, active;
	uint64_t started_ms;
};

static void
target_label(const struct target *t, char *buf, size_t len)
{
	if (t->site_name[0] != '\0')
		snprintf(buf, len, "%s/%s", t->site_name, t->env_name);
	else
		snprintf(buf, len, "%s", t->env_id[0] ? t->env_id : "-");
}

static void
redraw(struct progress *p)
{
	uint64_t s = (uv_now(p->timer.loop) - p->started_ms) / 1000;

	fprintf(p->f, "\r\033[K%s: %zu/%zu done, %llu s%s%s", p->job, p->done,
	        p->done + p->active, (unsigned long long)s,
	        p->what[0] ? ": " : "", p->what);
	fflush(p->f);
	p->shown = true;
}

static void
on_tick(uv_timer_t *t)
{
	redraw(t->data);
}

int
progress_start(struct progress **out, uv_loop_t *loop, FILE *f, bool tty,
               const char *job)
{
	struct progress *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -ENOMEM;
	p->f = f;
	p->tty = tty;
	snprintf(p->job, sizeof(p->job), "%s", job);
	uv_timer_init(loop, &p->timer);
	p->timer.data = p;
	p->started_ms = uv_now(loop);
	if (tty)
		uv_timer_start(&p->timer, on_tick, REDRAW_MS, REDRAW_MS);
	*out = p;
	return 0;
}

void
progress_op(struct progress *p, const struct exec_progress *ep, size_t done,
            size_t active)
{
	const struct action *a = action_get(ep->job->action);
	int step = ep->step >= 0 && ep->step <= ACTION_MAX_STEPS ? ep->step : 0;
	char target[300];

	p->done = done;
	p->active = active;
	if (ep->op_id[0] == '\0') {
		p->what[0] = '\0';
		return;
	}
	target_label(ep->target, target, sizeof(target));
	snprintf(p->what, sizeof(p->what), "%s %s: following %s", target,
	         action_step_name(a->steps[step]), ep->op_id);
	if (!p->tty)
		fprintf(p->f, "kinsta-cron: run %s: %s\n", p->job, p->what);
}

void
progress_clear(struct progress *p)
{
	if (p->tty && p->shown) {
		fputs("\r\033[K", p->f);
		fflush(p->f);
		p->shown = false;
	}
}

static void
on_closed(uv_handle_t *h)
{
	free(h->data);
}

void
progress_stop(struct progress *p)
{
	progress_clear(p);
	uv_close((uv_handle_t *)&p->timer, on_closed);
}
