/*
 * Hash partitions of the input tables by user_id (PostgreSQL, `attrib
 * partition`; docs/scale-out.md): turning session_sources and conversions
 * into PARTITION BY HASH (user_id) tables in place, and a shard's view of
 * the partitions it owns.
 */
#ifndef ATTRIB_LIB_STORE_PARTITION_H
#define ATTRIB_LIB_STORE_PARTITION_H

#include "lib/store/store.h"

/* The tables partitioned, in the order they are done. */
#define ATTRIB__PART_TABLES 2
extern const char *const attrib__part_tables[ATTRIB__PART_TABLES];

/* How a table stands: not there, a plain table, partitioned by HASH (user_id) in
 * `parts` partitions of one modulus, or something else (another key, a view). */
typedef enum {
    ATTRIB__PART_MISSING,
    ATTRIB__PART_PLAIN,
    ATTRIB__PART_HASHED,
    ATTRIB__PART_OTHER,
} attrib__part_state;

typedef struct {
    attrib__part_state state;
    uint32_t parts;   /* HASHED: partitions (all of modulus `parts`) */
    char detail[160]; /* OTHER: what it is (relkind, key), for messages */
} attrib__part_info;

/* How `table` stands (PostgreSQL only). */
int attrib__part_info_of(attrib_store *st, const char *table, attrib__part_info *out);

/*
 * Inside the caller's transaction: turn the plain table `table` into a table
 * PARTITION BY HASH (user_id) of the same name and columns, with `parts`
 * partitions <table>_p0 .. _p<parts-1>, every row moved; each partition gets
 * the old primary key, the parent the old table's other indexes (non-unique:
 * a unique index on a partitioned table must hold the key and forbids foreign
 * partitions). *rows receives the rows moved.
 */
int attrib__part_table(attrib_store *st, const char *table, uint32_t parts, uint64_t *rows);

/*
 * A shard's reads limited to its partitions: when session_sources and
 * conversions are both hash-partitioned by user_id with one modulus M (every
 * remainder present), temp views of the same names (pg_temp comes first on
 * the search_path) union the partitions whose remainder is index mod count,
 * and a temp session_costs view holds the costs of those sessions only (a
 * join, which the planner hashes; session ids are unique, checked before).
 * *scoped tells whether that was done; otherwise (SQLite, plain tables,
 * mixed moduli) nothing changes and the caller filters by attrib_shard_of.
 * Outside a transaction; attrib__shard_unscope drops the views.
 */
int attrib__shard_scope(attrib_store *st, uint32_t index, uint32_t count, bool *scoped);
int attrib__shard_unscope(attrib_store *st);

#endif
