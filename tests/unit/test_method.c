/*
 * Tests for daemon/method.c: the names, their order, parsing and what it
 * refuses.
 */
#include <errno.h>

#include "method.h"
#include "test.h"

static void
test_names(void)
{
	static const char *const want[METHOD_COUNT] = {"GET", "POST", "PUT",
	                                               "PATCH", "DELETE"};

	CHECK_STR(method_name(METHOD_GET), "GET");
	CHECK_STR(method_name(METHOD_POST), "POST");
	CHECK_STR(method_name(METHOD_PUT), "PUT");
	CHECK_STR(method_name(METHOD_PATCH), "PATCH");
	CHECK_STR(method_name(METHOD_DELETE), "DELETE");
	CHECK_INT(METHOD_DELETE + 1, METHOD_COUNT);
	CHECK_STR(method_name((enum method)METHOD_COUNT), "?");
	CHECK_STR(method_name((enum method) - 1), "?");

	/* the list: the names in enum order, then NULL */
	for (int m = 0; m < METHOD_COUNT; m++) {
		CHECK_STR(method_names[m], want[m]);
		CHECK(method_names[m] == method_name((enum method)m));
		for (int k = 0; k < m; k++)
			CHECK(method_names[k] != NULL &&
			      method_names[m] != NULL &&
			      strcmp(method_names[k], method_names[m]) != 0);
	}
	CHECK(method_names[METHOD_COUNT] == NULL);
}

static void
test_parse(void)
{
	CHECK_INT(method_parse("GET"), METHOD_GET);
	CHECK_INT(method_parse("POST"), METHOD_POST);
	CHECK_INT(method_parse("PUT"), METHOD_PUT);
	CHECK_INT(method_parse("PATCH"), METHOD_PATCH);
	CHECK_INT(method_parse("DELETE"), METHOD_DELETE);
	for (int m = 0; m < METHOD_COUNT; m++)
		CHECK_INT(method_parse(method_name((enum method)m)), m);

	/* exact, upper-case spelling only */
	CHECK_INT(method_parse("get"), -EINVAL);
	CHECK_INT(method_parse("Get"), -EINVAL);
	CHECK_INT(method_parse(""), -EINVAL);
	CHECK_INT(method_parse(NULL), -EINVAL);
	CHECK_INT(method_parse("PATCHX"), -EINVAL);
	CHECK_INT(method_parse("PATC"), -EINVAL);
	CHECK_INT(method_parse(" GET"), -EINVAL);
	CHECK_INT(method_parse("GET "), -EINVAL);
	CHECK_INT(method_parse("HEAD"), -EINVAL);
	CHECK_INT(method_parse("OPTIONS"), -EINVAL);
	CHECK_INT(method_parse("?"), -EINVAL);
}

int
main(void)
{
	test_names();
	test_parse();
	return test_report("test_method");
}
