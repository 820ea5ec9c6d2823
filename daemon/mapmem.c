/*
 * mapmem: one anonymous private mapping per block.  See mapmem.h for why.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mapmem.h"

static size_t
page_size(void)
{
	static size_t page;

	if (page == 0) {
		long p = sysconf(_SC_PAGESIZE);

		page = p > 0 ? (size_t)p : 4096;
	}
	return page;
}

size_t
mapmem_size(size_t n)
{
	size_t page = page_size();

	if (n == 0)
		n = 1;
	if (n > SIZE_MAX - page)
		return 0;
	return (n + page - 1) / page * page;
}

void *
mapmem_alloc(size_t n)
{
	size_t len = mapmem_size(n);
	void *p;

	if (len == 0)
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	         -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void *
mapmem_resize(void *p, size_t old, size_t n)
{
	size_t from = mapmem_size(old), to = mapmem_size(n);
	void *q;

	if (p == NULL)
		return mapmem_alloc(n);
	if (to == 0)
		return NULL;
	q = to == from ? p : mremap(p, from, to, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		return NULL;
	/* pages added by a growth are fresh; the end of the last old page
	 * may hold what a shrink left there */
	if (n > old && from > old)
		memset((char *)q + old, 0, (n < from ? n : from) - old);
	return q;
}

void
mapmem_free(void *p, size_t n)
{
	if (p != NULL)
		munmap(p, mapmem_size(n));
}

int
mapmem_grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap, bytes;
	void *q;

	if (need <= n)
		return 0;
	if (n == 0)
		n = page_size() / size ? page_size() / size : 1;
	while (n < need) {
		if (n > SIZE_MAX / 2 / size)
			return -ENOMEM;
		n *= 2;
	}
	bytes = n * size;
	if ((q = mapmem_resize(*p, *cap * size, bytes)) == NULL)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}
