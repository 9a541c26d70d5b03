/*
 * attrib — synthetic datasets (SPEC §8): realistic, deterministic by seed,
 * bounded memory at any size. The generator only produces rows; where they
 * go (SQLite, PostgreSQL, a test's arrays) is the sink's business.
 */
#ifndef ATTRIB_GEN_H
#define ATTRIB_GEN_H

#include "attrib/error.h"
#include "attrib/store.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * What the data looks like (all of it valid rows):
 * - about `sessions` sessions (within ~1-2% from 100k up; a few hundred rows
 *   vary more), in time order as a tracking table fills: users arrive day by
 *   day (weekly rhythm, hourly profile of the real data) and return over
 *   days, users interleaved; 1..400 sessions per user (P(n >= k) = k^-1.7:
 *   ~69% one session, a few with hundreds); users who arrived before
 *   start_date return on the first days, so every day is alike;
 * - 16 channels (the 13 of the real IHC data plus Display & Programmatic,
 *   YouTube Ads, Pinterest Ads), the first session favouring acquisition
 *   channels and later ones Direct, brand search and newsletter;
 * - holder and closer engagement more frequent late in a journey and on
 *   converting sessions; impression_interaction on display/video/social ads;
 * - ~3% of users convert (longer journeys more often), ~5% of those twice;
 *   journeys of 1/2/3-4/5-8 sessions ~63/17/11/6% (real data: 58/21/14/5%);
 *   revenue log-normal (median ~47 EUR);
 * - a cost row for most sessions: paid channels cost per session around
 *   their own median, free channels (direct, organic, referral...) 0 and
 *   often no row; ~1-2% of cost rows have a NULL cost;
 * - ids are 64 lowercase hex digits; every date lies in
 *   [start_date, start_date + days).
 * Guarantees: a conversion comes 1 s to 30 min after its converting session
 * and strictly before the user's next session, so every conversion has at
 * least one session of its user strictly before it, and its journey (without
 * lookback) ends at the converting session. A user's sessions are at least
 * 2 s apart. Conversions that would fall after the span are not emitted.
 */
/* First day of generated data unless start_date says otherwise. */
#define ATTRIB_GEN_START_DATE "2023-01-01"

/* The order in which attrib_gen_store writes the rows of each input table
 * (the rows themselves do not depend on it). */
typedef enum {
    ATTRIB_GEN_LAYOUT_TIME = 0, /* event order, as a tracking table fills (ids random) */
    ATTRIB_GEN_LAYOUT_SORTED,   /* ascending id: a table rebuilt in key order */
    ATTRIB_GEN_LAYOUT_SHUFFLED, /* a pseudo-random order fixed by the seed */
} attrib_gen_layout;

typedef struct {
    uint64_t sessions;        /* about how many sessions to generate (>= 1) */
    uint64_t seed;            /* same seed and options, same rows, on any machine */
    const char *start_date;   /* first day, YYYY-MM-DD (NULL = ATTRIB_GEN_START_DATE) */
    uint32_t days;            /* span in days (0 = ~30 days per million sessions, 7..730) */
    attrib_gen_layout layout; /* row order written by attrib_gen_store (attrib_gen_run: time) */
} attrib_gen_options;

#define ATTRIB_GEN_OPTIONS_INIT                                                                    \
    {                                                                                              \
        .sessions = 100000, .seed = 1, .start_date = ATTRIB_GEN_START_DATE, .days = 0,             \
        .layout = ATTRIB_GEN_LAYOUT_TIME                                                           \
    }

/* Rows as the input tables hold them; strings borrowed for the call only. */
typedef struct {
    const char *session_id, *user_id, *event_date, *event_time, *channel_name;
    int holder_engagement, closer_engagement, impression_interaction;
} attrib_gen_session;

typedef struct {
    const char *conv_id, *user_id, *conv_date, *conv_time;
    double revenue;
} attrib_gen_conversion;

typedef struct {
    const char *session_id;
    double cost;
    bool cost_is_null; /* a cost row whose cost is NULL */
} attrib_gen_cost;

/* Where rows go. Each callback returns 0 or a negative code to stop.
 * Rows arrive in time order; their ids are random (in no order). */
typedef struct {
    int (*session)(const attrib_gen_session *row, void *payload);
    int (*conversion)(const attrib_gen_conversion *row, void *payload);
    int (*cost)(const attrib_gen_cost *row, void *payload);
} attrib_gen_sink;

/* Totals of a generation run. */
typedef struct {
    uint64_t sessions, conversions, costs, users;
    uint32_t days; /* span of the dates (options.days, or the one chosen) */
} attrib_gen_stats;

/*
 * Generate into sink; opts NULL = defaults, stats may be NULL (else filled
 * with what was emitted, also on failure). Memory is bounded by the users
 * active at once (~1e5, a few MB at 100M sessions), not by the size.
 * Progress ("generating sessions") is reported through ctx at most 4 times a
 * second; a cancel on ctx stops with ATTRIB_ECANCEL. Errors: ATTRIB_EINVAL
 * (bad options), or the code a sink callback returned.
 */
int attrib_gen_run(attrib_ctx *ctx, const attrib_gen_options *opts, const attrib_gen_sink *sink,
                   void *payload, attrib_gen_stats *stats);

/* attrib_gen_store flag: replace existing input data (and empty the output
 * tables derived from it) instead of refusing. */
#define ATTRIB_GEN_FORCE 0x1u

/*
 * Generate into the input tables of a store, in one transaction: creates the
 * input tables when missing, loads the rows, then creates the output tables
 * and indexes as `attrib init` does. Refuses (ATTRIB_EINVAL, nothing
 * written) when an input table already holds rows, unless ATTRIB_GEN_FORCE.
 * Errors: ATTRIB_EINVAL, ATTRIB_EDB, ATTRIB_ECANCEL (rolled back).
 */
int attrib_gen_store(attrib_ctx *ctx, attrib_store *st, const attrib_gen_options *opts,
                     unsigned flags, attrib_gen_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
