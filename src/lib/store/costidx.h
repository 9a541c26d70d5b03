/*
 * The cost index of the session scans: session_costs read once into a compact
 * hash table, so the session scan finds a session's cost whatever order either
 * table is stored in (the join is in docs/pipeline.md, "Joining costs").
 *
 * An entry is 24 bytes and keeps no id: a 128-bit fingerprint of the id (two
 * independent 64-bit hashes; 4 bits of the second hold the value's type and
 * two flags) and the cost. Two cost rows with the same fingerprint (a duplicate id,
 * or a collision) leave one entry marked ATTRIB__COST_MANY, and the caller
 * resolves those sessions exactly against the table. A session whose id is not
 * a cost row's matches an entry only when 124 bits of hashes agree by chance
 * (about n_sessions * n_costs / 2^124: below 1e-20 at 100M x 100M).
 *
 * The table is split into 64 partitions by the top bits of the first hash, each
 * an open-addressing table with a mutex: any number of writers add rows at once,
 * each through its own buffer (a batch per partition, one lock per batch).
 * Lookups need no lock once every writer is flushed.
 */
#ifndef ATTRIB_LIB_STORE_COSTIDX_H
#define ATTRIB_LIB_STORE_COSTIDX_H

#include "lib/store/store.h"

typedef struct attrib__costidx attrib__costidx;
typedef struct attrib__costidx_writer attrib__costidx_writer;

/* What a lookup found. */
#define ATTRIB__COST_NONE 0 /* no cost row has this id */
#define ATTRIB__COST_ONE 1  /* exactly one: its cost is in *cost */
#define ATTRIB__COST_MANY 2 /* several rows share the fingerprint: ask the table */

/* A new empty index sized for about `expect` rows (it grows past that). NULL when
 * out of memory. */
attrib__costidx *attrib__costidx_new(uint64_t expect);
void attrib__costidx_free(attrib__costidx *ix);

/* A buffer adding rows to ix; NULL when out of memory. */
attrib__costidx_writer *attrib__costidx_writer_new(attrib__costidx *ix);
/* Add a cost row: id, and its cost (INT, REAL or NULL). ATTRIB_OK or ATTRIB_ENOMEM. */
int attrib__costidx_add(attrib__costidx_writer *w, const char *id, size_t len,
                        const attrib_value *cost);
/* Move what the buffer holds into the index. ATTRIB_OK or ATTRIB_ENOMEM. */
int attrib__costidx_flush(attrib__costidx_writer *w);
void attrib__costidx_writer_free(attrib__costidx_writer *w);

/* The fingerprint of an id, to look it up. */
typedef struct {
    uint64_t h1, h2;
} attrib__costidx_key;
attrib__costidx_key attrib__costidx_key_of(const char *id, size_t len);
/* Start loading the memory a lookup of k reads (lookups of a batch of rows,
 * each prefetched first, overlap their cache misses). */
void attrib__costidx_prefetch(const attrib__costidx *ix, const attrib__costidx_key *k);
/* The cost of the row with this key (ATTRIB__COST_*); *cost set with ATTRIB__COST_ONE. */
int attrib__costidx_find(const attrib__costidx *ix, const attrib__costidx_key *k,
                         attrib_value *cost);

/* As attrib__costidx_find, and an entry found ATTRIB__COST_ONE is marked
 * claimed (a band of the windowed scan: its session took it). */
int attrib__costidx_claim(attrib__costidx *ix, const attrib__costidx_key *k, attrib_value *cost);
/* Add the entries of ix not claimed (MANY ones included) to the index of
 * `to` (through its buffer: flush it after), and empty ix for the next
 * band. ATTRIB_OK or ATTRIB_ENOMEM (ix is empty either way). */
int attrib__costidx_drain(attrib__costidx *ix, attrib__costidx_writer *to);

/* Entries marked ATTRIB__COST_MANY (fingerprints two or more rows share). */
uint64_t attrib__costidx_shared(const attrib__costidx *ix);
/* Entries held, and bytes of table allocated. */
uint64_t attrib__costidx_count(const attrib__costidx *ix);
uint64_t attrib__costidx_bytes(const attrib__costidx *ix);

#endif
