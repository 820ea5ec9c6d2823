/*
 * Tests for daemon/control.c: a real socket in a temporary folder, the
 * daemon side on a libuv loop, the client in a thread: replies, refusals,
 * unknown requests, no daemon, a stale socket, the socket's mode, and a
 * clean close (the socket is removed, uv_loop_close() == 0).
 */
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "test.h"

static uv_loop_t loop;
static uv_async_t done_async;
static char path[256];

struct client {
	const char *line;
	int rc;
	char out[1024];
	char err[512];
};

static int
hook_status(FILE *out, void *arg)
{
	fprintf(out, "2 jobs, %s\n", (const char *)arg);
	return 0;
}

static int
hook_trigger(const char *job, FILE *out, void *arg)
{
	(void)arg;
	if (strcmp(job, "nightly") == 0) {
		fprintf(out, "job %s started\n", job);
		return 0;
	}
	fprintf(out, "no job \"%s\"\n", job);
	return -ENOENT;
}

static uv_timer_t ends;

/* The fire's two targets end, then the fire (not ok). */
static void
on_ends(uv_timer_t *t)
{
	struct control *ctl = t->data;

	control_run_line(ctl, 7, "job=other outcome=succeeded");
	control_run_line(ctl, 42, "job=nightly target=a outcome=succeeded");
	control_run_line(ctl, 42, "job=nightly target=b outcome=failed");
	control_run_end(ctl, 42, false);
}

static struct control *the_ctl;

static int
hook_trigger_wait(const char *job, uint64_t *run_id, FILE *out, void *arg)
{
	(void)arg;
	if (strcmp(job, "instant") == 0) {
		/* the fire ends before the hook returns (no key) */
		*run_id = 9;
		fprintf(out, "job %s started\n", job);
		control_run_line(the_ctl, 9, "job=instant outcome=succeeded");
		control_run_end(the_ctl, 9, true);
		return 0;
	}
	if (strcmp(job, "nightly") != 0) {
		fprintf(out, "no job \"%s\"\n", job);
		return -ENOENT;
	}
	fprintf(out, "job %s started\n", job);
	*run_id = 42;
	uv_timer_start(&ends, on_ends, 50, 0);
	return 0;
}

static void *
client_thread(void *arg)
{
	struct client *c = arg;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	c->rc = control_request(path, c->line, out, c->err, sizeof(c->err));
	fclose(out);
	snprintf(c->out, sizeof(c->out), "%s", buf ? buf : "");
	free(buf);
	uv_async_send(&done_async);
	return NULL;
}

static void
on_done(uv_async_t *a)
{
	(void)a;
	uv_stop(&loop);
}

/* Run one request against the daemon side until the client has its
 * answer. */
static void
ask(struct client *c)
{
	pthread_t t;

	pthread_create(&t, NULL, client_thread, c);
	uv_run(&loop, UV_RUN_DEFAULT);
	pthread_join(t, NULL);
}

int
main(void)
{
	char dir[] = "/tmp/kcron-control-XXXXXX";
	struct control_hooks hooks = {.status = hook_status,
	                              .trigger = hook_trigger,
	                              .trigger_wait = hook_trigger_wait,
	                              .arg = "ok"};
	struct control *ctl;
	struct client c;
	struct stat st;
	char err[256];
	FILE *stale;

	if (mkdtemp(dir) == NULL)
		TEST_SKIP("no temporary folder");
	unsetenv("RUNTIME_DIRECTORY");
	control_path(dir, path, sizeof(path));
	CHECK(strstr(path, "/control") != NULL);
	setenv("RUNTIME_DIRECTORY", "/run/kinsta-cron:/run/other", 1);
	CHECK_STR(control_path(dir, err, sizeof(err)),
	          "/run/kinsta-cron/control");
	unsetenv("RUNTIME_DIRECTORY");

	/* no daemon yet */
	c = (struct client){.line = "status"};
	c.rc = control_request(path, "status", stdout, c.err, sizeof(c.err));
	CHECK(c.rc < 0);
	CHECK(strstr(c.err, "no daemon is listening on") != NULL);

	/* a stale file where the socket goes is replaced */
	stale = fopen(path, "w");
	fclose(stale);
	uv_loop_init(&loop);
	uv_async_init(&loop, &done_async, on_done);
	CHECK_INT(control_start(&ctl, &loop, path, &hooks, err, sizeof(err)),
	          0);
	CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK_INT(st.st_mode & 0777, 0600);

	c = (struct client){.line = "status"};
	ask(&c);
	CHECK_INT(c.rc, 0);
	CHECK_STR(c.out, "2 jobs, ok\n");

	c = (struct client){.line = "trigger nightly"};
	ask(&c);
	CHECK_INT(c.rc, 0);
	CHECK_STR(c.out, "job nightly started\n");

	/* an unknown job: 2, as for run and next */
	c = (struct client){.line = "trigger weekly"};
	ask(&c);
	CHECK_INT(c.rc, 2);
	CHECK_STR(c.out, "no job \"weekly\"\n");

	/* a wait: the fire's lines, not another fire's, then its verdict */
	the_ctl = ctl;
	c = (struct client){.line = "trigger instant wait"};
	ask(&c);
	CHECK_INT(c.rc, 0);
	CHECK_STR(c.out, "job instant started\n"
	                 "job=instant outcome=succeeded\n");
	uv_timer_init(&loop, &ends);
	ends.data = ctl;
	c = (struct client){.line = "trigger nightly wait"};
	ask(&c);
	CHECK_INT(c.rc, 1);
	CHECK_STR(c.out, "job nightly started\n"
	                 "job=nightly target=a outcome=succeeded\n"
	                 "job=nightly target=b outcome=failed\n");
	c = (struct client){.line = "trigger weekly wait"};
	ask(&c);
	CHECK_INT(c.rc, 2);

	c = (struct client){.line = "trigger nightly soon"};
	ask(&c);
	CHECK_INT(c.rc, 1);

	c = (struct client){.line = "reboot now"};
	ask(&c);
	CHECK_INT(c.rc, 1);
	CHECK_STR(c.out, "unknown request (status, trigger JOB, trigger JOB "
	                 "wait)\n");

	control_close(ctl);
	uv_close((uv_handle_t *)&ends, NULL);
	uv_close((uv_handle_t *)&done_async, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_INT(uv_loop_close(&loop), 0);
	CHECK(access(path, F_OK) != 0); /* removed */
	rmdir(dir);
	return test_report("test_control");
}
