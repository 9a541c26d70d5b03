/*
 * Internals of the SQLite backend's concurrent full session scan, shared by
 * sqlite_scan.c (the parts, the hash join on one cost index) and
 * sqlite_band.c (the band join of tables stored in event order).
 */
#ifndef ATTRIB_LIB_STORE_SQLITE_SCAN_H
#define ATTRIB_LIB_STORE_SQLITE_SCAN_H

#include "lib/store/costidx.h"
#include "lib/store/sqlite.h"
#include "util/arena.h"

#include <stdatomic.h>

#define PART_MIN_ROWS 65536 /* fewer rowids per part: fewer parts */
#define PART_MAX 8
#define PART_STOPPED 1 /* a part gave up: an earlier part failed */

typedef struct sq_parts sq_parts;

/* A session the band join did not find in its band: resolved at the end
 * against the cost rows no band's session claimed (sqlite_band.c). */
typedef struct {
    attrib__costidx_key key;
    int64_t rowid;
} sq_miss;

/* Remembered sessions in chunks from an arena (at 100M sessions ~16M of
 * them, 400 MB: no copies as an array would grow, and huge pages). */
#define SQ_MISS_CHUNK 4096
typedef struct sq_miss_chunk {
    struct sq_miss_chunk *next;
    unsigned n;
    sq_miss m[SQ_MISS_CHUNK];
} sq_miss_chunk;

typedef struct {
    sq_parts *all;
    unsigned index;
    sqlite3 *db;     /* this part's connection (the store's own when alone) */
    attrib_ctx *ctx; /* this part's errors */
    void *payload;
    int64_t lo, hi;                  /* session_sources rowids, inclusive */
    int64_t clo, chi;                /* session_costs rowids this part indexes, inclusive */
    bool read_costs;                 /* this part reads (a slice of) session_costs */
    attrib_arena miss_arena;         /* band join: this part's sessions not found in their */
    sq_miss_chunk *miss, *miss_tail; /* band, in the order of the scan */
    int rc;
} sq_part;

struct sq_parts {
    sq_store *s;
    unsigned n;
    attrib__costidx *costs; /* NULL: join through the cost index of the table */
    atomic_bool odd_costs;  /* session_costs holds what the index does not keep */
    bool late_ok;           /* the receiver takes late cost rows (store.h) */
    attrib_row_fn fn;
    atomic_uint failed; /* lowest failing part; UINT_MAX when none */
    sq_part part[PART_MAX];
};

#define LOOK_BATCH 32 /* sessions whose cost lookups overlap */

/* Session rows copied out of their statement, so that their lookups in the
 * cost index (a cache miss each) can be started together. */
typedef struct {
    attrib_value v[LOOK_BATCH][ATTRIB_SS_NCOLS];
    size_t off[LOOK_BATCH][8]; /* where text values start in text */
    attrib__costidx_key key[LOOK_BATCH];
    char *text;
    size_t len, cap;
    unsigned n;
} sess_batch;

/* Fail part p with SQLite's error while doing `what`; returns the code. */
int attrib__sq_part_fail(sq_part *p, const char *what);
/* Step a part's session statement: *row tells whether a row came; returns
 * ATTRIB_OK, PART_STOPPED when another part stopped the scan (checked every
 * 1024 rows), or the error of a failed step. */
int attrib__sq_part_next(sq_part *p, sqlite3_stmt *st, uint64_t *k, bool *row);
/* Record that part p failed (the lowest failing part is the scan's error). */
void attrib__sq_part_failed(sq_part *p);
/* Run fn on every part, parts 1.. on threads (inline when a thread cannot start). */
void attrib__sq_run_parts(sq_parts *all, void *(*fn)(void *));
/* Whether another part stopped the scan. */
bool attrib__sq_part_stopped(sq_part *p);
/* The session columns and rowid of a rowid slice of session_sources (?1, ?2). */
#define SQ_SESSION_SLICE                                                                           \
    "SELECT " SQ_SESSION_COLS ", s.rowid FROM session_sources s WHERE s.rowid BETWEEN ?1 AND ?2"

/* Read the rows (session_id, cost) of st, bound, into w: ATTRIB_OK at the
 * end, PART_STOPPED when another part stopped the scan or a row holds what
 * the index does not keep (odd_costs set), or an error. */
int attrib__sq_index_costs(sq_part *p, sqlite3_stmt *st, attrib__costidx_writer *w);
/* Deliver session row v with the cost rows of its id looked up in
 * session_costs (look, its id bound): one row per cost row, or one without a
 * cost; each cost row's ATTRIB_SS_HAS_COST is has_cost. */
int attrib__sq_deliver_looked_up(sq_part *p, sqlite3_stmt *look, attrib_value *v, int64_t has_cost);
/* Deliver v (its cost set) as a late cost row (store.h); PART_STOPPED, the
 * scan marked to start again, when the cost is not an amount. */
int attrib__sq_deliver_late(sq_part *p, attrib_value *v);
/* Copy the current row of ss (a text session id) into the batch and start
 * loading the slot of its id in costs. ATTRIB_OK or ATTRIB_ENOMEM. */
int attrib__sq_batch_add(sess_batch *b, const attrib__costidx *costs, sqlite3_stmt *ss);
/* Point the batch's text values at its copies (before delivering them). */
void attrib__sq_batch_texts(sess_batch *b);
/* The session columns of the current row of ss (8, then the rowid at
 * ATTRIB_SS_ROWID), without a cost. */
void attrib__sq_session_value(sqlite3_stmt *ss, attrib_value *v);

/*
 * The band join (sqlite_band.c). attrib__sq_band_plan decides whether the
 * scan of `all` (parts open, their session slices set) can take it: both
 * tables with rowids, session_costs.session_id unique and compared as bytes,
 * and a sample of sessions whose cost rows rise with their rowids. Then it
 * sets each part's slice of session_costs and *band. attrib__sq_band_scan
 * runs it: ATTRIB_OK, an error, or ATTRIB__RESTART when session_costs
 * holds what the index does not keep (the caller then takes another join).
 */
int attrib__sq_band_plan(sq_parts *all, int64_t clo, int64_t chi, bool *band);
int attrib__sq_band_scan(sq_parts *all);

#endif
