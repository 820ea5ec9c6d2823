/*
 * method: the HTTP methods, named once.
 */
#include <errno.h>
#include <string.h>

#include "method.h"

const char *const method_names[METHOD_COUNT + 1] = {"GET",   "POST",   "PUT",
                                                    "PATCH", "DELETE", NULL};

const char *
method_name(enum method m)
{
	return (unsigned)m < METHOD_COUNT ? method_names[m] : "?";
}

int
method_parse(const char *s)
{
	for (int m = 0; s != NULL && m < METHOD_COUNT; m++)
		if (strcmp(s, method_names[m]) == 0)
			return m;
	return -EINVAL;
}
