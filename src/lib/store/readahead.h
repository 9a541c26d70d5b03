/*
 * A SQLite VFS for long forward scans of a database bigger than memory. It
 * forwards everything to the default VFS and, for reads that move forward
 * through the file, asks the kernel to read the next few megabytes ahead
 * (posix_fadvise WILLNEED on a descriptor of its own; the page cache is
 * shared). Table pages of a database filled over time are interleaved with
 * its index pages, so the kernel's own readahead sees gaps, calls the reads
 * random and reads 4 KiB at a time: 46 MB/s on the 100M-session dataset.
 * And for full scans of a B-tree whose pages lie anywhere in the file (written
 * over pages of the free list), it requests the children of the interior
 * pages the scan goes through, sorted by place in the file (readahead.c).
 */
#ifndef ATTRIB_LIB_SQLITE_READAHEAD_H
#define ATTRIB_LIB_SQLITE_READAHEAD_H

#include <stdint.h>

/* Register the VFS (once, thread-safe) and return its name for
 * sqlite3_open_v2, or NULL when it could not be registered (then open with the
 * default VFS: the VFS only changes speed). */
const char *attrib__sqlite_readahead_vfs(void);

/* What the scan readahead asked of the kernel on one connection's database
 * file: sqlite3_file_control(db, "main", ATTRIB__FCNTL_RA_STATS, &stats).
 * For tests and benchmarks; the forward streams are not counted. */
typedef struct {
    uint64_t calls; /* posix_fadvise calls */
    uint64_t pages; /* pages they covered */
} attrib__ra_stats;
#define ATTRIB__FCNTL_RA_STATS 0x41545201 /* above SQLite's own opcodes */

#endif
