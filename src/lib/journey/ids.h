/*
 * Whether the session ids a full scan saw may repeat, without sorting the
 * table: each slice of the scan keeps a 64-bit hash of every id it reads
 * (8 bytes a row), and after the scan the hashes of all slices are radix
 * sorted and compared. No repeated hash: no two ids are equal. A repeated
 * hash (a duplicate id, a session delivered once per cost row of a
 * session_costs without a unique key, or a collision: about n^2 / 2^65) or an
 * id that is not text sends the caller to the exact check on the table.
 */
#ifndef ATTRIB_LIB_JOURNEY_IDS_H
#define ATTRIB_LIB_JOURNEY_IDS_H

#include "attrib/error.h"
#include "lib/store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t *hash;
    size_t n, cap;
    bool odd; /* an id that is not text was seen */
} attrib__ids;

/* Keep the id (a session row's first column). ATTRIB_OK or ATTRIB_ENOMEM. */
int attrib__ids_add(attrib__ids *ids, const attrib_value *id);
void attrib__ids_free(attrib__ids *ids);

/* Sets *maybe when two ids of the n sets may be equal; frees the sets.
 * ATTRIB_OK, or ATTRIB_ENOMEM (message in ctx). */
int attrib__ids_maybe_repeated(attrib_ctx *ctx, attrib__ids *sets, unsigned n, bool *maybe);

#endif
