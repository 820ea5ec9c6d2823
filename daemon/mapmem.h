/*
 * mapmem: memory straight from the kernel (an anonymous mapping per
 * block), for the blocks that must not share pages with the heap: a
 * configuration's strings and arrays, the scheduler's entries, the state
 * snapshot that a worker thread encodes.
 *
 * glibc's malloc serves a request from free space in its heap whatever its
 * size: M_MMAP_THRESHOLD only decides how the heap grows when there is
 * none.  After a reload has freed libconfig's tree (about 1 kB a job), the
 * next big blocks land in that space, and a new configuration built beside
 * the old one scatters over pages that the old one's garbage keeps
 * resident.  A block of its own goes back to the kernel whole when freed,
 * and a growing array moves with mremap, without a copy and without the
 * old and the new array both resident.
 *
 * Sizes are rounded up to whole pages; pages never written cost no
 * memory, so a generous capacity is free until it is used.
 */
#ifndef KCRON_MAPMEM_H
#define KCRON_MAPMEM_H

#include <stddef.h>

/* N bytes rounded up to whole pages (N = 0 counts as one byte). */
size_t mapmem_size(size_t n);

/* A zeroed block of at least N bytes, page-aligned; NULL when out of
 * memory. */
void *mapmem_alloc(size_t n);

/* Block P of OLD bytes (as passed to mapmem_alloc or here) resized to N
 * bytes, its contents kept up to the smaller size, bytes beyond it zero;
 * it may move.  P NULL allocates.  NULL when out of memory, P untouched. */
void *mapmem_resize(void *p, size_t old, size_t n);

/* Release block P of N bytes (as allocated); NULL is fine. */
void mapmem_free(void *p, size_t n);

/* Make room for NEED elements of SIZE bytes in the block *P of *CAP
 * elements (a page's worth at first, then doubling); 0 or -ENOMEM with
 * *P and *CAP unchanged. */
int mapmem_grow(void **p, size_t *cap, size_t need, size_t size);

#endif
