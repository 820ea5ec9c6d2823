/*
 * Tests for daemon/daemon.c: a configuration that does not load, a start
 * that fails half way (torn down, nothing written), and whole start/stop
 * cycles, by SIGTERM and by daemon_stop, after which the loop closes with
 * nothing left open, state.json is written and the control socket is gone.
 * The end-to-end tests drive the real binary and sd_notify.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "test.h"

#define CONF                                                                   \
	"accounts = ( { name = \"solo\"; company = "                           \
	"\"0b0e6f4c-1a2b-4c3d-8e9f-0123456789ab\"; } );\n"                     \
	"jobs = ( { name = \"j\"; schedule = \"0 3 1 1 *\"; action = "         \
	"\"clear-cache\"; environment_id = "                                   \
	"\"11111111-2222-3333-4444-555555555555\"; } );\n"                     \
	"api = { url = \"http://127.0.0.1:9/v2\"; };\n"

static char scratch[256];

/* scratch/name holding text; returns the path. */
static const char *
put(const char *name, const char *text)
{
	static char path[4][512];
	static int i;
	FILE *f;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", scratch, name);
	if ((f = fopen(path[i], "w")) == NULL || fputs(text, f) < 0 ||
	    fclose(f) != 0) {
		perror(path[i]);
		exit(1);
	}
	return path[i];
}

static bool
exists(const char *dir, const char *name)
{
	char path[600];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

/* A configuration of one job, its state in scratch/state_dir. */
static const char *
conf(const char *name, const char *state_dir)
{
	char text[1024];

	snprintf(text, sizeof(text), "%sstate_dir = \"%s/%s\";\n", CONF,
	         scratch, state_dir);
	return put(name, text);
}

static void
test_bad_config(void)
{
	struct daemon_options opt = {.log_stderr = true};
	struct config_errors errs = {0};
	static char junk;
	struct daemon *d = (struct daemon *)(void *)&junk;
	char err[1024], want[600];

	opt.config_path =
	    put("bad.conf", CONF "jbos = ();\nlog_level = \"loud\";\n");
	CHECK_INT(daemon_init(&d, &opt, &errs, err, sizeof(err)), -EINVAL);
	CHECK(d == NULL);
	snprintf(want, sizeof(want), "%s: 2 errors", opt.config_path);
	CHECK_STR(err, want);
	CHECK_INT(errs.n, 2);
	config_errors_free(&errs);

	opt.config_path = put("bad1.conf", "jbos = ();\n" CONF);
	CHECK_INT(daemon_init(&d, &opt, &errs, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: 1 error", opt.config_path);
	CHECK_STR(err, want);
	config_errors_free(&errs);
}

/* state_dir is a file: nothing is built past the check, and the daemon
 * still frees cleanly. */
static void
test_start_fails(void)
{
	struct daemon_options opt = {.log_stderr = true};
	struct config_errors errs = {0};
	struct daemon *d = NULL;
	char err[1024], want[600];

	put("file", "not a directory\n");
	opt.config_path = conf("file.conf", "file");
	CHECK_INT(daemon_init(&d, &opt, &errs, err, sizeof(err)), 0);
	CHECK_INT(errs.n, 0);
	config_errors_free(&errs);
	if (d == NULL)
		return;
	CHECK(daemon_start(d, err, sizeof(err)) < 0);
	snprintf(want, sizeof(want), "state_dir %s/file is not a directory",
	         scratch);
	CHECK_STR(err, want);
	daemon_stop(d); /* already stopped: nothing happens */
	daemon_free(d);
	daemon_free(NULL);
}

/* Start, stop by signal or by call, and find the traces of both. */
static void
test_start_stop(bool by_signal)
{
	struct daemon_options opt = {.log_stderr = true, .verbose = 2};
	struct config_errors errs = {0};
	struct daemon *d = NULL;
	const char *name = by_signal ? "sig" : "call";
	char err[1024], dir[512];

	snprintf(dir, sizeof(dir), "%s/%s", scratch, name);
	opt.config_path = conf(by_signal ? "sig.conf" : "call.conf", name);
	CHECK_INT(daemon_init(&d, &opt, &errs, err, sizeof(err)), 0);
	config_errors_free(&errs);
	if (d == NULL)
		return;
	CHECK_INT(daemon_start(d, err, sizeof(err)), 0);
	CHECK(exists(dir, "control"));
	if (by_signal)
		raise(SIGTERM); /* handled inside daemon_run */
	else
		daemon_stop(d);
	CHECK_INT(daemon_run(d), 0);
	CHECK(exists(dir, "state.json"));
	CHECK(!exists(dir, "control"));
	daemon_free(d);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(scratch, sizeof(scratch), "%s/kcron-daemon-XXXXXX",
	         tmp ? tmp : "/tmp");
	if (mkdtemp(scratch) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	/* no systemd here, and a key that only this test knows */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("RUNTIME_DIRECTORY");
	unsetenv("CREDENTIALS_DIRECTORY");
	setenv("KINSTA_API_KEY", "kc-test-daemon-key", 1);
	test_bad_config();
	test_start_fails();
	test_start_stop(true);
	test_start_stop(false);
	return test_report("test_daemon");
}
