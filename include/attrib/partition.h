/*
 * attrib — hash partitions by user_id (PostgreSQL; docs/scale-out.md): the
 * input tables session_sources and conversions turned into tables
 * PARTITION BY HASH (user_id), so that a shard (--shard K/N, a rank of
 * attrib-mpi) reads only the partitions it owns, and partitions can live on
 * other servers (postgres_fdw foreign tables as partitions).
 */
#ifndef ATTRIB_PARTITION_H
#define ATTRIB_PARTITION_H

#include "attrib/error.h"
#include "attrib/store.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Partition counts attrib_partition accepts. */
#define ATTRIB_PARTITION_MIN 2
#define ATTRIB_PARTITION_MAX 1024

typedef struct {
    uint64_t sessions;    /* session_sources rows moved into partitions */
    uint64_t conversions; /* conversions rows moved */
    unsigned done;        /* tables partitioned by this call (0..2) */
    unsigned already;     /* tables that were already in `parts` hash partitions */
} attrib_partition_stats;

/*
 * Turn session_sources and conversions into tables PARTITION BY HASH
 * (user_id) with `parts` partitions (<table>_p0 .. <table>_p<parts-1>), in
 * place and in one transaction: nothing changes when it fails or is killed.
 * Columns, defaults and checks stay; each partition gets the old primary key
 * (session_id, conv_id), the parent the other indexes (non-unique, so
 * foreign partitions can be attached; attrib itself checks that ids are
 * unique over the whole table). session_costs (no user_id) stays as it is.
 *
 * A table already hash-partitioned by user_id in `parts` partitions is left
 * alone (counted in stats->already): running it again changes nothing.
 *
 * Errors: ATTRIB_EINVAL (not PostgreSQL, parts out of range, a table
 * partitioned otherwise or in another count), ATTRIB_ENOTFOUND (a table is
 * missing), ATTRIB_EDB (e.g. a view depends on a table), ATTRIB_ECANCEL.
 * stats may be NULL.
 */
int attrib_partition(attrib_ctx *ctx, attrib_store *st, unsigned parts,
                     attrib_partition_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
