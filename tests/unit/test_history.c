/*
 * Tests for daemon/history.c: newest first across many 64 KiB blocks,
 * lines that do not parse and a monster line skipped, a last line without
 * its newline, an empty file, a missing one, and the periods of --since.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history.h"
#include "test.h"

static char path[] = "/tmp/test_history_XXXXXX";

static void
write_file(const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f == NULL)
		return;
	fwrite(text, 1, len, f);
	fclose(f);
}

static void
test_many(void)
{
	struct history_reader *r;
	struct history_entry e;
	char err[256], *text, *p;
	size_t cap = (size_t)8 << 20, n = 0;
	int want = 9999, rc, bad = 0;

	p = text = malloc(cap);
	for (int i = 0; i < 10000; i++) {
		p += sprintf(p,
		             "{\"job\":\"j%d\",\"action\":\"clear-cache\","
		             "\"env_id\":\"e\",\"target\":\"s/live\","
		             "\"run_id\":\"%d\",\"op_id\":\"\","
		             "\"outcome\":\"%s\",\"message\":\"m %d\","
		             "\"note\":\"\",%s\"start_ms\":%d,\"end_ms\":%d,"
		             "\"duration_ms\":5}\n",
		             i, i + 1, i % 3 ? "succeeded" : "failed", i,
		             i == 7 ? "\"trigger\":\"manual\"," : "", i * 10,
		             i * 10 + 5);
		if (i == 5000)
			p += sprintf(p, "not json at all\n\n{\"x\":1}\n");
		if (i == 6000) {
			/* a monster line of 2 MiB */
			memset(p, 'x', (size_t)2 << 20);
			p += (size_t)2 << 20;
			*p++ = '\n';
		}
	}
	/* the last line has lost its newline */
	p--;
	write_file(text, (size_t)(p - text));
	free(text);
	CHECK_INT(history_open(&r, path, err, sizeof(err)), 0);
	while ((rc = history_next(r, &e, err, sizeof(err))) == 1) {
		char job[16];

		snprintf(job, sizeof(job), "j%d", want);
		if (strcmp(e.job, job) != 0 || e.run_id != (uint64_t)want + 1 ||
		    e.end_ms != want * 10 + 5 || e.start_ms != want * 10)
			bad++;
		if (want == 7)
			CHECK_STR(e.trigger, "manual");
		if (want == 8)
			CHECK_STR(e.trigger, "");
		if (want == 3) {
			CHECK_STR(e.outcome, "failed");
			CHECK_STR(e.message, "m 3");
			CHECK_STR(e.target, "s/live");
			CHECK_INT(e.duration_ms, 5);
			CHECK(e.len > 0 && e.line[0] == '{' &&
			      e.line[e.len - 1] == '}');
		}
		want--;
		n++;
	}
	CHECK_INT(rc, 0);
	CHECK_INT(bad, 0);
	CHECK_INT(n, 10000);
	CHECK_INT(want, -1);
	history_close(r);
}

static void
test_small(void)
{
	struct history_reader *r;
	struct history_entry e;
	char err[256];
	const char one[] = "{\"job\":\"a\",\"outcome\":\"skipped\"}\n";

	write_file("", 0);
	CHECK_INT(history_open(&r, path, err, sizeof(err)), 0);
	CHECK_INT(history_next(r, &e, err, sizeof(err)), 0);
	history_close(r);

	write_file(one, strlen(one));
	CHECK_INT(history_open(&r, path, err, sizeof(err)), 0);
	CHECK_INT(history_next(r, &e, err, sizeof(err)), 1);
	CHECK_STR(e.job, "a");
	CHECK_STR(e.outcome, "skipped");
	CHECK_STR(e.message, "");
	CHECK_INT(e.run_id, 0);
	CHECK_INT(history_next(r, &e, err, sizeof(err)), 0);
	history_close(r);

	unlink(path);
	CHECK_INT(history_open(&r, path, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, path) != NULL);
}

static void
test_period(void)
{
	int64_t ms = 0;

	CHECK_INT(history_parse_period("7d", &ms), 0);
	CHECK_INT(ms, 7 * 86400000LL);
	CHECK_INT(history_parse_period("12h", &ms), 0);
	CHECK_INT(ms, 12 * 3600000LL);
	CHECK_INT(history_parse_period("30m", &ms), 0);
	CHECK_INT(ms, 1800000);
	CHECK_INT(history_parse_period("90s", &ms), 0);
	CHECK_INT(ms, 90000);
	CHECK_INT(history_parse_period("2w", &ms), 0);
	CHECK_INT(ms, 2 * 604800000LL);
	CHECK_INT(history_parse_period("0d", &ms), 0);
	CHECK_INT(ms, 0);
	CHECK_INT(history_parse_period("7", &ms), -EINVAL);
	CHECK_INT(history_parse_period("d", &ms), -EINVAL);
	CHECK_INT(history_parse_period("7dd", &ms), -EINVAL);
	CHECK_INT(history_parse_period("-7d", &ms), -EINVAL);
	CHECK_INT(history_parse_period("7y", &ms), -EINVAL);
	CHECK_INT(history_parse_period("", &ms), -EINVAL);
	CHECK_INT(history_parse_period("9999999d", &ms), -EINVAL);
}

int
main(void)
{
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	test_many();
	test_small();
	test_period();
	unlink(path);
	return test_report("test_history");
}
