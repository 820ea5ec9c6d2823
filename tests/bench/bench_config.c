/*
 * Benchmark of the configuration loader at agency scale: a generated tree
 * of 10,000 jobs over 100 accounts, one conf.d file per account, is loaded
 * (a) in a forked child, reporting the median wall time of 5 loads and the
 * child's peak RSS, and (b) by `kinsta-cron check` itself when the binary
 * is found ($KCRON_BIN, or next to this benchmark's build directory).
 * Targets: under 200 ms and under 30 MB.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "config.h"

#define ACCOUNTS 100
#define JOBS     100 /* per account */
#define RUNS     5

static const char *const zones[] = {"Europe/Amsterdam", "America/New_York",
                                    "Asia/Tokyo", "Australia/Sydney", "UTC"};
static const char *const kinds[] = {
    "action = \"clear-cache\"; label = \"shop\";",
    "action = \"backup\"; all_sites = true; keep = 3;",
    "action = \"update-plugins\"; sites = [\"blog\", \"shop\"]; "
    "exclude = \"woocommerce\"; backup_first = true;",
    "action = \"restart-php\"; environment_id = "
    "\"11111111-2222-3333-4444-555555555555\";",
    "action = \"run-wp-cli\"; command = \"wp cron event run --due-now\"; "
    "labels = [\"a\", \"b\"]; exclude_sites = [\"legacy\"];",
};

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 ||
	    chmod(path, mode) != 0) {
		perror(path);
		exit(1);
	}
}

static void
generate(const char *dir)
{
	char path[PATH_MAX], *buf;
	size_t cap = 1 << 20;

	if ((buf = malloc(cap)) == NULL)
		exit(1);
	snprintf(path, sizeof(path), "%s/kinsta-cron.conf", dir);
	write_file(
	    path,
	    "api = { url = \"https://api.kinsta.com/v2\"; timeout = 30; "
	    "};\nstate_dir = \"state\";\ntimezone = \"Europe/Amsterdam\";\n"
	    "include_dir = \"conf.d\";\n"
	    "defaults = { jitter = 60; retries = 3; overlap = \"skip\"; };\n",
	    0600);
	snprintf(path, sizeof(path), "%s/conf.d", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/keys", dir);
	mkdir(path, 0700);
	for (int a = 0; a < ACCOUNTS; a++) {
		size_t n = 0;

		snprintf(path, sizeof(path), "%s/keys/client%03d.key", dir, a);
		write_file(path, "bench-key-not-secret\n", 0600);
		n += (size_t)snprintf(
		    buf + n, cap - n,
		    "accounts = ( { name = \"client%03d\"; company = "
		    "\"aaaaaaaa-0000-4000-8000-%012d\"; key_file = "
		    "\"keys/client%03d.key\"; } );\njobs = (\n",
		    a, a, a);
		for (int j = 0; j < JOBS; j++)
			n += (size_t)snprintf(
			    buf + n, cap - n,
			    "  { name = \"client%03d-job%03d\"; schedule = "
			    "\"H H(0-5) * * *\"; timezone = \"%s\"; account "
			    "= \"client%03d\"; %s }%s\n",
			    a, j, zones[(a + j) % 5], a, kinds[j % 5],
			    j + 1 < JOBS ? "," : "");
		snprintf(buf + n, cap - n, ");\n");
		snprintf(path, sizeof(path), "%s/conf.d/client%03d.conf", dir,
		         a);
		write_file(path, buf, 0600);
	}
	free(buf);
}

/* Run fn in a child; its median wall time over RUNS and its peak RSS. */
static int
in_child(const char *conf, double *ms, long *rss_kb)
{
	double t[RUNS];
	struct rusage ru;
	int status;
	int fd[2];
	pid_t pid;

	fflush(stdout);
	if (pipe(fd) != 0 || (pid = fork()) < 0)
		return -errno;
	if (pid == 0) {
		close(fd[0]);
		for (int r = 0; r < RUNS; r++) {
			struct config *cfg;
			double t0 = bench_now_ns() / 1e6;

			if (config_load(conf, 0, &cfg, NULL) != 0 ||
			    cfg->njobs != ACCOUNTS * JOBS)
				_exit(1);
			t[r] = bench_now_ns() / 1e6 - t0;
			config_free(cfg);
		}
		if (write(fd[1], t, sizeof(t)) != sizeof(t))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	if (read(fd[0], t, sizeof(t)) != sizeof(t))
		t[0] = -1;
	close(fd[0]);
	if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || t[0] < 0)
		return -1;
	for (int i = 1; i < RUNS; i++)
		for (int k = i; k > 0 && t[k] < t[k - 1]; k--) {
			double x = t[k];

			t[k] = t[k - 1];
			t[k - 1] = x;
		}
	*ms = t[RUNS / 2];
	*rss_kb = ru.ru_maxrss;
	return 0;
}

static int
run_check(const char *bin, const char *conf, double *ms, long *rss_kb)
{
	struct rusage ru;
	double t0;
	int status;
	pid_t pid;

	fflush(stdout);
	t0 = bench_now_ns() / 1e6;
	pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(1);
		execl(bin, bin, "-c", conf, "check", (char *)NULL);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		return -errno;
	*ms = bench_now_ns() / 1e6 - t0;
	*rss_kb = ru.ru_maxrss;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int
main(void)
{
	char dir[] = "/tmp/kcron-bench-config-XXXXXX", conf[PATH_MAX];
	char bin[PATH_MAX], self[PATH_MAX];
	const char *env = getenv("KCRON_BIN");
	double ms = 0;
	long rss = 0;
	ssize_t n;
	int rc = 0;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	generate(dir);
	snprintf(conf, sizeof(conf), "%s/kinsta-cron.conf", dir);
	printf("config: %d jobs, %d accounts, %d conf.d files\n",
	       ACCOUNTS * JOBS, ACCOUNTS, ACCOUNTS);
	if (in_child(conf, &ms, &rss) != 0) {
		fprintf(stderr, "bench_config: the generated config did not "
		                "load\n");
		rc = 1;
	} else {
		printf("config_load: %.1f ms (median of %d), peak RSS %.1f "
		       "MB\n",
		       ms, RUNS, rss / 1024.0);
	}
	/* build/tests/bench_config -> build/kinsta-cron */
	bin[0] = '\0';
	if (env != NULL) {
		snprintf(bin, sizeof(bin), "%s", env);
	} else if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) >
	           0) {
		char *slash;

		self[n] = '\0';
		for (int i = 0; i < 2 && (slash = strrchr(self, '/')); i++)
			*slash = '\0';
		snprintf(bin, sizeof(bin), "%.4000s/kinsta-cron", self);
	}
	if (bin[0] != '\0' && access(bin, X_OK) == 0) {
		if (run_check(bin, conf, &ms, &rss) != 0) {
			fprintf(stderr, "bench_config: %s check failed\n", bin);
			rc = 1;
		} else {
			printf("kinsta-cron check: %.1f ms, peak RSS %.1f MB "
			       "(targets: 200 ms, 30 MB)\n",
			       ms, rss / 1024.0);
		}
	} else {
		printf("kinsta-cron check: binary not found (set KCRON_BIN)\n");
	}
	fflush(stdout);
	if (fork() == 0)
		_exit(execlp("rm", "rm", "-rf", dir, (char *)NULL) ? 1 : 0);
	wait(NULL);
	return rc;
}
