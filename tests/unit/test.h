/*
 * Minimal unit-test harness shared by tests/unit/test_*.c.
 *
 * Each test file is one executable run by ctest in its own process.  Checks
 * record a failure and carry on, so one run reports every broken case; the
 * exit status is 1 when any check failed, 77 (ctest's skip code) when the
 * test called TEST_SKIP.
 */
#ifndef KCRON_TEST_H
#define KCRON_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_checks;
static int test_failed;

#define CHECK(cond)                                                            \
	do {                                                                   \
		test_checks++;                                                 \
		if (!(cond)) {                                                 \
			test_failed++;                                         \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
			        __LINE__, #cond);                              \
		}                                                              \
	} while (0)

#define CHECK_INT(got, want)                                                   \
	do {                                                                   \
		long long g_ = (long long)(got), w_ = (long long)(want);       \
		test_checks++;                                                 \
		if (g_ != w_) {                                                \
			test_failed++;                                         \
			fprintf(stderr, "%s:%d: %s = %lld, want %lld\n",       \
			        __FILE__, __LINE__, #got, g_, w_);             \
		}                                                              \
	} while (0)

#define CHECK_STR(got, want)                                                   \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		test_checks++;                                                 \
		if (g_ == NULL || w_ == NULL ? g_ != w_ : strcmp(g_, w_)) {    \
			test_failed++;                                         \
			fprintf(stderr, "%s:%d: %s = \"%s\", want \"%s\"\n",   \
			        __FILE__, __LINE__, #got, g_ ? g_ : "(null)",  \
			        w_ ? w_ : "(null)");                           \
		}                                                              \
	} while (0)

#define TEST_SKIP(why)                                                         \
	do {                                                                   \
		fprintf(stderr, "skipped: %s\n", why);                         \
		exit(77);                                                      \
	} while (0)

/* Print the closing line and turn the tally into an exit status. */
static inline int
test_report(const char *name)
{
	printf("%s: %d checks, %d passed, %d failed\n", name, test_checks,
	       test_checks - test_failed, test_failed);
	return test_failed ? 1 : 0;
}

#endif
