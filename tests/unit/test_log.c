/*
 * Tests for daemon/log.c: stderr lines, levels, one line per event,
 * secrets scrubbed wherever they appear, key=value quoting.
 */
#include <unistd.h>

#include "log.h"
#include "test.h"

/* Capture what log writes to stderr into buf. */
static void
capture(char *buf, size_t len, void (*fn)(void))
{
	FILE *f = tmpfile();
	int saved = dup(2);
	size_t n;

	fflush(stderr);
	dup2(fileno(f), 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void
emit_levels(void)
{
	log_msg(LOG_ERR, "job=%s outcome=failed", "a");
	log_msg(LOG_INFO, "job=%s outcome=succeeded", "b");
	log_msg(LOG_DEBUG, "job=%s poll", "c");
}

static void
emit_secret(void)
{
	log_msg(LOG_ERR, "header Authorization: Bearer %s and again %s%s",
	        "kinsta-secret-key-0123", "kinsta-secret-key-0123", "x");
	log_msg(LOG_INFO, "multi\nline\rmessage");
}

static void
test_lines(void)
{
	char out[4096];

	log_open(true, LOG_INFO);
	capture(out, sizeof(out), emit_levels);
	CHECK(strstr(out, " err job=a outcome=failed\n") != NULL);
	CHECK(strstr(out, " info job=b outcome=succeeded\n") != NULL);
	CHECK(strstr(out, "job=c") == NULL); /* debug is off */
	CHECK(!log_enabled(LOG_DEBUG));
	CHECK(log_enabled(LOG_ERR));
	/* an ISO 8601 UTC stamp opens each line */
	CHECK(out[4] == '-' && out[10] == 'T' && out[23] == 'Z');
	log_close();

	log_open(true, LOG_DEBUG);
	capture(out, sizeof(out), emit_levels);
	CHECK(strstr(out, " debug job=c poll\n") != NULL);
	log_close();
}

static void
test_secrets(void)
{
	char out[4096];

	log_open(true, LOG_INFO);
	CHECK_INT(log_secret_add("kinsta-secret-key-0123"), 0);
	CHECK_INT(log_secret_add("abc"), 0); /* too short: not registered */
	for (int i = 0; i < 1000; i++)       /* once per run: kept once */
		CHECK_INT(log_secret_add("kinsta-secret-key-0123"), 0);
	CHECK_INT(log_secret_count(), 1);
	capture(out, sizeof(out), emit_secret);
	CHECK(strstr(out, "kinsta-secret") == NULL);
	CHECK(strstr(out, "Bearer [redacted] and again [redacted]x\n"));
	CHECK(strstr(out, "multi line message\n") != NULL);
	{ /* a notification's body, scrubbed in place */
		char body[] = "{\"message\":\"bad key kinsta-secret-key-0123 "
		              "sent\",\n\"n\":1}";

		log_scrub(body, sizeof(body));
		CHECK_STR(body, "{\"message\":\"bad key [redacted] sent\",\n"
		                "\"n\":1}");
	}
	log_secret_clear();
	capture(out, sizeof(out), emit_secret);
	CHECK(strstr(out, "kinsta-secret-key-0123") != NULL);
	log_close();
}

static void
test_value(void)
{
	char buf[32];

	CHECK_STR(log_value(buf, sizeof(buf), "plain-value_1"),
	          "plain-value_1");
	CHECK_STR(log_value(buf, sizeof(buf), ""), "\"\"");
	CHECK_STR(log_value(buf, sizeof(buf), "two words"), "\"two words\"");
	CHECK_STR(log_value(buf, sizeof(buf), "say \"hi\"\n"),
	          "\"say \\\"hi\\\"\\n\"");
	CHECK_STR(log_value(buf, sizeof(buf), "a=b"), "\"a=b\"");
	CHECK_STR(log_value(buf, 8, "a long value here"), "\"a lo\"");
	CHECK_INT(strlen(log_value(buf, 8, "a long value here")), 6);
}

int
main(void)
{
	test_lines();
	test_secrets();
	test_value();
	return test_report("test_log");
}
