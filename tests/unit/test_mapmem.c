/*
 * Unit tests for daemon/mapmem.c: blocks of their own, outside the heap,
 * zeroed, resized in place or moved with their contents, gone when freed.
 */
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mapmem.h"
#include "test.h"

static size_t page;

/* Is [p, p + n) mapped?  mincore fails with ENOMEM on a hole. */
static bool
mapped(const void *p, size_t n)
{
	unsigned char vec[64];

	if (n / page > sizeof(vec))
		n = sizeof(vec) * page;
	return mincore((void *)p, n, vec) == 0;
}

static bool
all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static void
test_alloc_free(void)
{
	size_t before = mallinfo2().uordblks;
	unsigned char *p = mapmem_alloc(100000);

	CHECK(p != NULL);
	CHECK_INT((uintptr_t)p % page, 0);
	CHECK_INT(mapmem_size(100000) % page, 0);
	CHECK(mapmem_size(100000) >= 100000);
	CHECK_INT(mapmem_size(0), page);
	CHECK(all_zero(p, mapmem_size(100000)));
	memset(p, 0xab, 100000);
	/* nothing of it is in malloc's heap */
	CHECK_INT(mallinfo2().uordblks, before);
	CHECK(mapped(p, 100000));
	mapmem_free(p, 100000);
	CHECK(!mapped(p, page));
	mapmem_free(NULL, 10);
}

static void
test_resize(void)
{
	unsigned char *p = mapmem_alloc(3 * page), *q;

	memset(p, 7, 3 * page);
	/* shrink: the first bytes stay, the rest of the old pages go */
	q = mapmem_resize(p, 3 * page, 10);
	CHECK(q == p);
	CHECK(q[0] == 7 && q[9] == 7);
	CHECK(!mapped(q + page, page));
	/* grow again: contents kept, everything after them zero, even the
	 * end of the page that the shrink kept */
	p = mapmem_resize(q, 10, 64 * page);
	CHECK(p != NULL);
	CHECK(p[0] == 7 && p[9] == 7);
	CHECK(all_zero(p + 10, 64 * page - 10));
	memset(p, 9, 64 * page);
	mapmem_free(p, 64 * page);
	/* from nothing, as realloc(NULL, n) */
	p = mapmem_resize(NULL, 0, 5);
	CHECK(p != NULL && all_zero(p, page));
	mapmem_free(p, 5);
}

struct item {
	char name[40];
	int64_t v;
};

static void
test_grow(void)
{
	struct item *v = NULL;
	size_t cap = 0;

	CHECK_INT(mapmem_grow((void **)&v, &cap, 1, sizeof(*v)), 0);
	CHECK_INT(cap, page / sizeof(*v)); /* a page's worth first */
	for (size_t i = 0; i < 10000; i++) {
		CHECK_INT(mapmem_grow((void **)&v, &cap, i + 1, sizeof(*v)), 0);
		snprintf(v[i].name, sizeof(v[i].name), "job-%zu", i);
		v[i].v = (int64_t)i;
	}
	CHECK(cap >= 10000 && cap < 20000);
	for (size_t i = 0; i < 10000; i += 999) {
		char want[40];

		snprintf(want, sizeof(want), "job-%zu", i);
		CHECK_STR(v[i].name, want);
		CHECK_INT(v[i].v, (int64_t)i);
	}
	/* asking for what is there changes nothing */
	{
		struct item *same = v;
		size_t c = cap;

		CHECK_INT(mapmem_grow((void **)&v, &cap, 5, sizeof(*v)), 0);
		CHECK(v == same && cap == c);
	}
	CHECK_INT(mapmem_grow((void **)&v, &cap, SIZE_MAX / 2, sizeof(*v)),
	          -ENOMEM);
	CHECK(v != NULL && cap >= 10000);
	mapmem_free(v, cap * sizeof(*v));
}

int
main(void)
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	test_alloc_free();
	test_resize();
	test_grow();
	return test_report("mapmem");
}
