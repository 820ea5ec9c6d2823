/*
 * Tests for daemon/help.c: every command has its help, with its synopsis
 * first and a "-h, --help" line; an unknown command writes nothing.
 */
#include <errno.h>

#include "help.h"
#include "test.h"

static char *
help_of(const char *command, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		abort();
	*rc = help_print(f, command);
	fclose(f);
	return buf;
}

int
main(void)
{
	static const char *const names[] = {"daemon", "check",  "run",
	                                    "next",   "status", "trigger"};
	char *text, want[64];
	int rc;

	text = help_of(NULL, &rc);
	CHECK_INT(rc, 0);
	CHECK(strncmp(text, "usage: kinsta-cron [-c FILE] COMMAND", 36) == 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char line[32];

		/* the program's help lists every command */
		snprintf(line, sizeof(line), "\n  %s", names[i]);
		CHECK(strstr(text, line) != NULL);
	}
	free(text);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		text = help_of(names[i], &rc);
		CHECK_INT(rc, 0);
		snprintf(want, sizeof(want), "usage: kinsta-cron [-c FILE] %s",
		         names[i]);
		CHECK(strncmp(text, want, strlen(want)) == 0);
		CHECK(strstr(text, "\noptions:\n") != NULL);
		CHECK(strstr(text, "\n  -h, --help         show this help\n") !=
		      NULL);
		free(text);
	}

	text = help_of("nope", &rc);
	CHECK_INT(rc, -ENOENT);
	CHECK_STR(text, "");
	free(text);
	return test_report("test_help");
}
