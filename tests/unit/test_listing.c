/*
 * Tests for daemon/listing.c on a real libuv loop, against a fake of
 * http's API (defined here, so the linker takes it instead of http.o):
 * jobs of one company share one request, the list serves later jobs while
 * fresh, and is freed once its time is up, not kept until the next job.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "config.h"
#include "http.h"
#include "listing.h"
#include "test.h"

#define COMPANY "c0000000-0000-4000-8000-000000000001"
#define SITES                                                                  \
	"{\"company\":{\"sites\":[{\"id\":\"s1\",\"name\":\"shop\","           \
	"\"environments\":[]}]}}"

/* ---- the fake http: every GET answers SITES, 5 ms later ---------------- */

struct http_xfer {
	uv_timer_t timer;
	http_done_cb cb;
	void *arg;
	struct http_response res;
};

struct http {
	uv_loop_t *loop;
	size_t active;
};

static struct http fake;
static int nsent;

static void
on_xfer_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
deliver(uv_timer_t *t)
{
	struct http_xfer *x = t->data;

	fake.active--;
	x->cb(&x->res, x->arg);
	uv_close((uv_handle_t *)&x->timer, on_xfer_closed);
}

int
http_init(struct http **out, uv_loop_t *loop, const struct http_options *opt,
          char *err, size_t errlen)
{
	(void)opt, (void)err, (void)errlen;
	fake.loop = loop;
	*out = &fake;
	return 0;
}

int
http_submit(struct http *h, const struct http_request *req, http_done_cb cb,
            void *arg, struct http_xfer **xfer)
{
	struct http_xfer *x = calloc(1, sizeof(*x));

	CHECK(strstr(req->url, "/sites?company=" COMPANY) != NULL);
	nsent++;
	x->cb = cb;
	x->arg = arg;
	x->res.status = 200;
	x->res.sent = true;
	x->res.body = (char *)SITES;
	x->res.len = strlen(SITES);
	uv_timer_init(h->loop, &x->timer);
	x->timer.data = x;
	uv_timer_start(&x->timer, deliver, 5, 0);
	h->active++;
	if (xfer != NULL)
		*xfer = x;
	return 0;
}

void
http_cancel(struct http_xfer *x)
{
	uv_timer_stop(&x->timer);
	fake.active--;
	x->res.error = -ECANCELED;
	x->cb(&x->res, x->arg);
	uv_close((uv_handle_t *)&x->timer, on_xfer_closed);
}

size_t
http_active(const struct http *h)
{
	return h->active;
}

void
http_close(struct http *h)
{
	(void)h;
}

/* ---- the tests ---------------------------------------------------------- */

static const char conf_text[] =
    "api = { url = \"http://127.0.0.1:9/v2\"; };\n"
    "accounts = ( { name = \"acme\"; company = \"" COMPANY "\"; } );\n"
    "jobs = (\n"
    " { name = \"a\"; schedule = \"@daily\"; action = \"clear-cache\";"
    "   site = \"shop\"; },\n"
    " { name = \"b\"; schedule = \"@daily\"; action = \"clear-cache\";"
    "   site = \"shop\"; }\n"
    ");\n";

static uv_loop_t loop;
static int nready;

static void
on_ready(const struct config *cfg, const struct config_job *job,
         uint64_t run_id, const char *body, size_t len, const char *why,
         void *arg)
{
	(void)cfg, (void)job, (void)run_id, (void)arg;
	CHECK(why == NULL);
	CHECK(body != NULL && len == strlen(SITES) && !strcmp(body, SITES));
	nready++;
}

static void
run_for(uint64_t ms)
{
	uint64_t t0 = uv_now(&loop);

	while (uv_now(&loop) - t0 < ms) {
		uv_update_time(&loop);
		uv_run(&loop, UV_RUN_NOWAIT);
	}
}

static void
on_closed(void *arg)
{
	*(int *)arg = 1;
}

static void
test_shared_then_freed(const struct config *cfg)
{
	struct listing_hooks hooks = {on_ready, NULL};
	struct listings *ls = NULL;
	struct calls *cs = NULL;
	struct http *h;
	int closed = 0;

	http_init(&h, &loop, NULL, NULL, 0);
	CHECK_INT(calls_init(&cs, &loop, h, cfg->api_url, NULL), 0);
	CHECK_INT(listings_init(&ls, &loop, cs, 200, &hooks), 0);
	if (cs == NULL || ls == NULL)
		return;
	/* two jobs of one company at once: one request */
	CHECK_INT(listings_want(ls, cfg, &cfg->jobs[0], 1, "k"), 0);
	CHECK_INT(listings_want(ls, cfg, &cfg->jobs[1], 2, "k"), 0);
	CHECK_INT(listings_waiting(ls, NULL), 2);
	run_for(50);
	CHECK_INT(nsent, 1);
	CHECK_INT(nready, 2);
	CHECK_INT(listings_cached(ls), strlen(SITES) + 1);
	/* fresh: served from memory, at once */
	CHECK_INT(listings_want(ls, cfg, &cfg->jobs[0], 3, "k"), 0);
	CHECK_INT(nready, 3);
	CHECK_INT(nsent, 1);
	/* its time up, the list is gone, and the next job fetches it */
	run_for(250);
	CHECK_INT(listings_cached(ls), 0);
	CHECK_INT(listings_want(ls, cfg, &cfg->jobs[1], 4, "k"), 0);
	run_for(50);
	CHECK_INT(nsent, 2);
	CHECK_INT(nready, 4);
	CHECK_INT(listings_cached(ls), strlen(SITES) + 1);
	listings_close(ls, on_closed, &closed);
	calls_close(cs, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_INT(closed, 1);
}

int
main(void)
{
	struct config_errors errs = {0};
	struct config *cfg = NULL;

	uv_loop_init(&loop);
	if (config_load_string(conf_text, "listing.conf", CONFIG_LOAD_NO_KEYS,
	                       &cfg, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		return 1;
	}
	test_shared_then_freed(cfg);
	config_free(cfg);
	CHECK_INT(uv_loop_close(&loop), 0);
	return test_report("test_listing");
}
