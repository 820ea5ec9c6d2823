/*
 * promfile: the metrics as a node_exporter textfile (metrics.textfile).
 *
 * After a change (a fire, a run's end, a reload) the owner calls
 * promfile_changed(); at most once a second the loop takes a copy of the
 * metrics (the snapshot hook: 1 ms for 10,000 jobs) and libuv's thread
 * pool renders it (about 100 ms and 20 MB for 10,000 jobs: bench_metrics)
 * and writes it, one write at a time, the newest copy winning, so that the
 * loop waits neither for the rendering nor for a disk.  A write is atomic: a
 * temporary file in the same folder (its name does not end in .prom, so the
 * collector never reads it half-written), mode 0644 whatever the umask (the
 * exporter runs as another user), then rename(2).  No fsync: the file is a
 * view, remade after a restart.
 */
#ifndef KCRON_PROMFILE_H
#define KCRON_PROMFILE_H

#include <stddef.h>

#include <uv.h>

#include "metrics.h"

struct promfile;

/* The metrics as of now into *copy (metrics_copy): 0, or -errno. */
typedef int (*promfile_snapshot_fn)(void *arg, struct metrics *copy);

/* Write to path (copied) the rendering of what snapshot gives; 0 or
 * -ENOMEM. */
int promfile_init(struct promfile **out, uv_loop_t *loop, const char *path,
                  promfile_snapshot_fn snapshot, void *arg);

/* Write to path (copied) from now on (a reload); 0 or -ENOMEM. */
int promfile_set_path(struct promfile *pf, const char *path);

/* Something changed: render and write soon (coalesced). */
void promfile_changed(struct promfile *pf);

/* Write PATH/NAME atomically with mode 0644 (blocking; the thread pool's
 * job, and the tests'): 0 or -errno with a message in err. */
int promfile_write(const char *path, const char *buf, size_t len, char *err,
                   size_t errlen);

/* Write the latest text once more (blocking), then stop; freed once the
 * loop has run (a write under way finishes first). */
void promfile_close(struct promfile *pf);

#endif
