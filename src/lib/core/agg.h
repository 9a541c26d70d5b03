/*
 * Exact sums per (channel, day): a hash table of cells holding the cost of
 * sessions, Σ ihc and Σ ihc × revenue (SPEC §5). Sums are order-independent
 * (util/xsum.h), so the fused run, the separate report step and any thread
 * count give the same bits. A plain data structure: the dataset fills its
 * cost part while loading, the report turns cells into rows (report/rows.h).
 */
#ifndef ATTRIB_LIB_CORE_AGG_H
#define ATTRIB_LIB_CORE_AGG_H

#include "lib/core/ctx.h"
#include "util/strmap.h"
#include "util/xsum.h"

typedef struct {
    uint64_t key; /* channel << 32 | (uint32_t)day; 0 slot marked by used */
    bool used;
    uint64_t sessions;
    attrib_xsum cost, ihc, revenue;
    /* Incremental report and attribute (steps/attribute.c, steps/report.c): */
    bool mark;       /* the cell's sums changed / a key to recompute */
    bool has_report; /* a channel_reporting row exists; its cost: */
    double report_cost;
    bool report_real; /* and its cost, ihc and ihc_revenue were REAL: */
    double report_ihc, report_revenue;
} attrib__agg_cell;

typedef struct {
    attrib_strmap *channels; /* borrowed channel table (indices used in keys) */
    attrib__agg_cell *cells;
    size_t cap, count;
} attrib__agg;

/* Add a session's cost to its (channel, day). */
int attrib__agg_cost(attrib__agg *a, uint32_t channel, int32_t day, double cost);
/* Add an attribution row's ihc and ihc × revenue to its (channel, day). */
int attrib__agg_credit(attrib__agg *a, uint32_t channel, int32_t day, double ihc, double revenue);

/* The cell of (channel, day), created empty when missing; NULL when out of memory. */
attrib__agg_cell *attrib__agg_cell_of(attrib__agg *a, uint32_t channel, int32_t day);
/* The cell of (channel, day), or NULL when there is none. */
attrib__agg_cell *attrib__agg_find(const attrib__agg *a, uint32_t channel, int32_t day);
/* The channel and day of a cell. */
static inline uint32_t attrib__agg_channel(const attrib__agg_cell *c)
{
    return (uint32_t)(c->key >> 32);
}
static inline int32_t attrib__agg_day(const attrib__agg_cell *c)
{
    return (int32_t)(uint32_t)(c->key & 0xffffffffu);
}

/* The 128-bit accumulator of an xsum as two int64 halves for storage, and back. */
_Static_assert(sizeof(__int128) == 2 * sizeof(int64_t),
               "an xsum accumulator is stored as exactly two int64 halves");
static inline void attrib__acc_split(__int128 v, int64_t *hi, int64_t *lo)
{
    unsigned __int128 u = (unsigned __int128)v;
    *hi = (int64_t)(uint64_t)(u >> 64);
    *lo = (int64_t)(uint64_t)u;
}
static inline __int128 attrib__acc_join(int64_t hi, int64_t lo)
{
    return (__int128)(((unsigned __int128)(uint64_t)hi << 64) | (uint64_t)lo);
}

/* Add every cell of `from` to a, its channel c becoming channel_map[c] (NULL:
 * the same channel table, c stays c; sums merge exactly: the result does not
 * depend on how rows were split). */
int attrib__agg_merge(attrib__agg *a, const attrib__agg *from, const uint32_t *channel_map);

void attrib__agg_free(attrib__agg *a);

/*
 * The sessions and cost of (channel, day) keys alone, as a scan adds them
 * row by row: 48 bytes a key where a report cell takes 144, so that a scan
 * thread's table (a few thousand keys) stays in its core's cache instead of
 * costing a cache miss per session. Merged into an attrib__agg afterwards.
 */
typedef struct {
    uint64_t key;      /* channel << 32 | (uint32_t)day */
    uint64_t sessions; /* 0: an empty slot */
    attrib_xsum cost;
} attrib__cost_cell;

typedef struct {
    attrib__cost_cell *cells;
    size_t cap, count;
} attrib__cost_agg;

/* Add a session's cost to its (channel, day). */
int attrib__cost_agg_add(attrib__cost_agg *a, uint32_t channel, int32_t day, double cost);
/* Add cost to the cell of (channel, day), which a session already counts (a
 * late cost row, store.h): the cost only. ATTRIB_OK or ATTRIB_ENOMEM. */
int attrib__cost_agg_add_cost(attrib__cost_agg *a, uint32_t channel, int32_t day, double cost);

/* Add every key of `from` to a (sessions and cost), its channel c becoming
 * channel_map[c]. */
int attrib__agg_merge_costs(attrib__agg *a, const attrib__cost_agg *from,
                            const uint32_t *channel_map);

void attrib__cost_agg_free(attrib__cost_agg *a);

#endif
