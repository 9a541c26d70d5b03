/*
 * The in-memory dataset of one run: the selected conversions, the sessions of
 * their users grouped per user and sorted by (timestamp, session_id), the
 * channel table, and the journeys cut from them (SPEC §3). Loading streams
 * the store once and keeps only what journeys need.
 */
#ifndef ATTRIB_LIB_DATASET_H
#define ATTRIB_LIB_DATASET_H

#include "attrib/pipeline.h"
#include "lib/core/agg.h"
#include "lib/store/rows.h"
#include "lib/store/store.h"
#include "util/arena.h"
#include "util/strmap.h"

typedef struct {
    const char *conv_id;
    uint32_t user;
    bool selected; /* in the date range (else only a reset boundary) */
    int64_t ts;
    double revenue;
} attrib__conv;

/* A session of a user who never converts (all_paths). Two users whose ids
 * hash alike (p ~ n^2 / 2^65) would share one path: a statistics-only effect
 * (with local_paths, only when both are of the same shard). */
typedef struct {
    uint64_t user; /* attrib_hash of user_id */
    int64_t ts;
    uint32_t channel;
    uint8_t holder, closer, impression, pad_;
} attrib__other;

typedef struct {
    attrib_arena arena;     /* ids of kept sessions and conversions */
    attrib_strmap channels; /* channel name → index */
    attrib_strmap users;    /* user_id of a selected conversion → index */
    /* Bits set by the hashes of the users in `users`, 8 to 16 bits a user (small
     * enough to stay in cache): a clear bit means "not a user of ours" without a
     * random read of the map, which was 12% of a 10M run (97% of lookups miss).
     * Three bits a user in one 64-bit word, where one bit let 6-12% of the
     * other users' sessions through: 10M time, 1.04M -> 0.48M of 10.2M
     * sessions reach the map (perf at 100M before: on_session and the map's
     * lookups 11% of the scan). */
    uint64_t *user_filter;
    uint64_t user_filter_mask; /* words - 1 */

    attrib__conv *convs; /* all loaded conversions, then sorted by (user, ts, conv_id) */
    size_t n_convs, cap_convs;

    attrib_session *sessions; /* grouped by user, sorted by (ts, id) within a user */
    uint32_t *session_user;   /* staging: user of sessions[i] before grouping */
    size_t n_sessions, cap_sessions, cap_users;
    size_t *user_start; /* user u: sessions[user_start[u] .. user_start[u+1]) */

    attrib_journey *journeys; /* selected conversions with n > 0, sorted by conv_id */
    size_t n_journeys;

    attrib_unattributable *unattributable; /* selected conversions with no session */
    size_t n_unattributable;

    /* With all_paths (models that learn from every path): the sessions of users
     * without any conversion, as compact rows keyed by a 64-bit hash of the user
     * id (no id strings kept: ~24 bytes a session), grouped by a radix sort. */
    bool all_paths;
    /* A shard reading only its partitions (store/partition.h): the conversions it
     * reads are its own, whatever attrib_shard_of says. */
    bool scoped;
    /* With all_paths and --shard (set before loading): only this shard's users'
     * paths are kept, for a model whose statistics the job's workers reduce
     * (opts->reducer; attrib_model_reduce in attrib__dataset_fit). */
    bool local_paths;
    attrib__other *other; /* grouped by user hash, sorted by (ts, channel) within */
    size_t n_other, cap_other;

    /* With want_costs (set before loading): Σ cost per (channel, day) of every valid
     * session the scan saw, of a shard's own users only (the report's cost pass
     * rides on the load). */
    bool want_costs;
    attrib__agg costs; /* channels = &channels */
    /* Set by the load: the session scan checks that session ids are unique (ids.h). */
    bool check_ids;

    uint64_t sessions_read; /* rows seen in the session scan */
    uint64_t bad_sessions, bad_conversions;
} attrib__dataset;

/*
 * Load conversions and sessions for `opts` and cut the journeys;
 * `all_sessions` forces a full scan of session_sources. A full scan is split
 * over attrib__threads(opts) threads when the store can (output identical for
 * any thread count).
 */
int attrib__dataset_load(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                         bool all_sessions, attrib__dataset *ds);

/* Threads a run uses: opts->threads, 0 = one per online CPU; at most 8. */
unsigned attrib__threads(const attrib_run_options *opts);

/*
 * Every path of the data, for models that learn from all of them (set
 * ds->all_paths before loading): first the path of every conversion (in the
 * range or not; only those in the range with opts->fit_range SELECTED) in
 * conv_id order, converted: its journey cut at the user's previous
 * conversion (fit_paths CUT, so that every session is in one path of its
 * user) or its journey as attributed (fit_paths JOURNEYS); then, per user,
 * the sessions after the user's last conversion (all sessions for users who
 * never convert), not converted — within the lookback of the path's last
 * session when one is set, and with fit_range SELECTED only when that
 * session is on a selected date. The order of the users follows the store's scan: models
 * must not depend on the order of observe() calls. Sessions of users who never
 * convert have no id (NULL).
 */
typedef int (*attrib__path_fn)(const attrib_path *path, void *payload);
int attrib__dataset_paths(const attrib__dataset *ds, const attrib_run_options *opts,
                          attrib__path_fn fn, void *payload);

/* The journey of every conversion the fit covers (all, or those in the range
 * with fit_range SELECTED), exactly as attribution cuts it, in conv_id order. */
int attrib__dataset_journeys(const attrib__dataset *ds, const attrib_run_options *opts,
                             attrib__path_fn fn, void *payload);

void attrib__dataset_free(attrib__dataset *ds);

/*
 * Prepare a model for this dataset: for models flagged NEEDS_PATHS, observe
 * every path (attrib__dataset_paths), hand models with observe_journey the
 * fitted journeys (attrib__dataset_journeys), and finish; then bind the
 * channels.
 * The dataset must have been loaded with all_paths for such models. With
 * ds->local_paths the statistics of this shard's paths are reduced across the
 * job's workers (opts->reducer) before finish.
 */
int attrib__dataset_fit(attrib_ctx *ctx, const attrib__dataset *ds, const attrib_run_options *opts,
                        attrib_model *model);

/* Add the dataset's counts and its unattributable list (copied) to sum:
 * conversions selected and with a journey, sessions read, journey sessions,
 * bad rows skipped. */
int attrib__dataset_summarize(attrib_ctx *ctx, const attrib__dataset *ds, attrib_summary *sum);

/* Channel names as the models see them. */
attrib_channels attrib__dataset_channels(const attrib__dataset *ds);

/*
 * The journey window of a conversion at `conv_ts` over one user's sessions
 * s[0..n) sorted by (ts, id): sets [*lo, *hi). prev_ts is the timestamp of
 * the user's previous conversion (INT64_MIN when none), used only with
 * reset_after_conversion.
 */
void attrib__journey_window(const attrib_session *s, size_t n, int64_t conv_ts, int64_t prev_ts,
                            const attrib_run_options *opts, size_t *lo, size_t *hi);

/* Per-journey outcome of an attribution that may not credit every journey
 * (the ihc-api engine): the `state` arrays of api/run.h and report/sums.h. */
enum {
    ATTRIB__CREDIT_TODO = 0,
    ATTRIB__CREDIT_DONE = 1,    /* credits filled (from this run or a stored result) */
    ATTRIB__CREDIT_FAILED = 2,  /* no result: recorded as a failure */
    ATTRIB__CREDIT_SKIPPED = 3, /* skipped by the oversize policy */
};

#endif
