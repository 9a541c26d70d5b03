/*
 * attrib — moving a dataset between stores: the three input tables
 * (session_sources, conversions, session_costs) streamed from one store into
 * another, e.g. a SQLite file into PostgreSQL and back.
 */
#ifndef ATTRIB_COPY_H
#define ATTRIB_COPY_H

#include "attrib/error.h"
#include "attrib/store.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Flags of attrib_copy. */
#define ATTRIB_COPY_FORCE 0x1u /* replace the target's rows instead of refusing */

typedef struct {
    uint64_t sessions;    /* session_sources rows copied */
    uint64_t conversions; /* conversions rows copied */
    uint64_t costs;       /* session_costs rows copied */
} attrib_copy_stats;

/*
 * Copy the input tables of `from` into `to`, in one transaction on `to`:
 * the tables, attrib's tables and indexes are created as `attrib init` does
 * (idempotent), then the rows go in with the backend's bulk insert. Values
 * travel as stored (types, NULLs, bytes), so every command gives the same
 * results on both stores. Reading streams: memory does not grow with the
 * tables.
 *
 * A target whose input tables already hold rows is refused (ATTRIB_EINVAL)
 * unless ATTRIB_COPY_FORCE, which empties its input tables and the tables
 * derived from them (attribution, report, attrib's) first. On any failure
 * the target is left as it was.
 *
 * stats may be NULL. Errors: ATTRIB_ENOTFOUND (source tables missing),
 * ATTRIB_EINVAL (same store, non-empty target), ATTRIB_EDATA (a value the
 * target cannot hold unchanged), ATTRIB_EDB, ATTRIB_EAUTH, ATTRIB_ECANCEL.
 */
int attrib_copy(attrib_ctx *ctx, attrib_store *from, attrib_store *to, unsigned flags,
                attrib_copy_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
