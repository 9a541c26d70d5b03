/*
 * attrib — the pipeline steps (SPEC §2–§6): attribute, report, export, and
 * run (all of them in one pass). Each step reads the store, computes, and
 * writes its outputs in one transaction: a failure or a cancel leaves the
 * previous state. Re-running a step with the same options gives the same
 * tables and byte-identical files.
 */
#ifndef ATTRIB_PIPELINE_H
#define ATTRIB_PIPELINE_H

#include "attrib/api.h"
#include "attrib/error.h"
#include "attrib/journey.h"
#include "attrib/model.h"
#include "attrib/store.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the models that learn from paths (markov, shapley, counterfactual) see of a
 * converting user (docs/models.md "Fit data"). */
typedef enum {
    ATTRIB_FIT_PATHS_CUT = 0,      /* paths cut at conversions: each session once per user */
    ATTRIB_FIT_PATHS_JOURNEYS = 1, /* each conversion's journey as attributed (sessions before
                                      an earlier conversion count again without
                                      reset_after_conversion) */
} attrib_fit_paths;

/* Which paths those models learn from. */
typedef enum {
    ATTRIB_FIT_RANGE_ALL = 0,      /* every path of the data, whatever the date range */
    ATTRIB_FIT_RANGE_SELECTED = 1, /* conversions in the range, and non-converting paths
                                      whose last session is on a date in the range */
} attrib_fit_range;

/*
 * An exact sum of the report: a 128-bit two's-complement integer in units of
 * 2^-60 (value = hi * 2^64 + lo), the fixed point every report sum is kept in,
 * so sums add exactly and in any order (with the carry from lo into hi).
 */
typedef struct {
    int64_t hi;
    uint64_t lo;
} attrib_sum128;

/* One (channel, day) of a report part (attrib_report_part). */
typedef struct {
    uint32_t channel;                 /* index into the part's channels */
    int32_t day;                      /* days since 1970-01-01 */
    uint64_t sessions;                /* sessions counted (channel_reporting has a row when > 0) */
    uint64_t overflow;                /* nonzero: a term beyond 1e15 (the sums are meaningless) */
    attrib_sum128 cost, ihc, revenue; /* Σ cost, Σ ihc, Σ ihc × revenue */
} attrib_report_cell;

/* A report as the exact sums it is built from: one worker's part, or the whole
 * job's (every part added cell by cell, channels matched by name). */
typedef struct {
    const char *const *channels; /* names, n_channels of them */
    size_t n_channels;
    const attrib_report_cell *cells; /* each (channel, day) at most once, any order */
    size_t n_cells;
} attrib_report_part;

typedef struct {
    const char *start_date;          /* YYYY-MM-DD, inclusive, on conv_date; NULL = open */
    const char *end_date;            /* YYYY-MM-DD, inclusive; NULL = open */
    uint32_t lookback_days;          /* 0 = no limit; else sessions >= conv - days*24h */
    bool same_time;                  /* also sessions at exactly the conversion second */
    bool reset_after_conversion;     /* a user's earlier conversion ends the next journey */
    bool skip_bad_rows;              /* skip and count bad input rows instead of failing */
    const attrib_model_ops *model;   /* NULL = "ihc" when present, else the first model */
    attrib_model_options model_opts; /* passed to the model */
    attrib_fit_paths fit_paths;      /* models that learn from paths: CUT */
    attrib_fit_range fit_range;      /* models that learn from paths: ALL */
    unsigned threads;                /* attribution threads; 0 = number of cores (max 8) */
    const attrib_api_options *api;   /* non-NULL: the IHC API computes the credit (--engine
                                        ihc-api); results are cached per conversion, so a rerun
                                        sends only journeys without a stored result */
    bool api_force;                  /* ignore (and replace) cached API results */
    bool phases;  /* store the local IHC engine's phase values too (the API's always are):
                     off by default, since they double the rows a full run writes */
    bool csv_raw; /* CSV text cells as they are; by default a cell starting with
                     = + - @ TAB or CR gets a leading ' (formula neutralisation) */
    /* Scale-out (docs/scale-out.md). shard_count 0 = no sharding; else this run owns
     * the conversions whose user_id's shard (attrib_shard_of) is shard_index, reads
     * only their users' sessions (models that learn from all paths still fit on every
     * path, so their statistics are the single run's, unless a reducer below adds up
     * the shards' statistics), replaces only their attribution
     * rows, and writes no report: `attrib report --merge` after the last shard does. */
    uint32_t shard_index, shard_count;
    /* Optional: called with the write transaction open and every row written, just
     * before COMMIT; ATTRIB_OK commits, anything else rolls back (an MPI job's vote:
     * commit only when every rank got this far). Not called when the step failed
     * before; the caller then knows it voted no. */
    int (*commit_vote)(void *payload);
    void *commit_vote_payload;
    /* Optional, PostgreSQL (attrib_store_twophase > 0): two-phase commit as the job's
     * worker `prepare_gid` ("attrib-<job>-<worker>", attrib/store.h). The write
     * transaction ends with PREPARE TRANSACTION prepare_gid before commit_vote, which
     * then returns ATTRIB_OK only once the job's commit decision is durable
     * (attrib_store_job_decide): the step commits the prepared transaction; anything
     * else rolls it back. A prepared transaction whose COMMIT PREPARED fails after
     * the decision stays prepared for the coordinator (attrib_store_job_end) or
     * recovery to commit. */
    const char *prepare_gid;
    /* Optional, with shard_count > 0: the job's collectives. A model that learns from
     * every path (attrib_model_reducible) then observes only this shard's users' paths
     * and its statistics are reduced across the job's workers (attrib_model_reduce):
     * the single run's fit without every shard reading every path. */
    const attrib_reducer *reducer;
    /* Optional, for the shards of a job's attribute step (attrib_attribute;
     * docs/scale-out.md "Reductions"): the step keeps the job's report
     * without reading anything back. After the model, before its write
     * transaction, it hands this shard's part to report_reduce, which sets
     * *all to the whole job's sum of every shard's part (memory the caller
     * keeps until the step returns) and returns ATTRIB_OK. Without a date
     * range the part is the shard's report (the costs of its users' sessions,
     * converting or not, and its credits) and the shard with report_writer
     * set replaces channel_reporting and attrib_report_sums by the job's in
     * its write transaction. With a range it is the shard's change of
     * attrib_report_sums (shard 0 also takes the range's stored rows off),
     * which the writer applies to valid sums there; the report step after
     * the commit is the caller's (attrib_report). The other shards leave the
     * report's tables alone. Anything but ATTRIB_OK fails the step before it
     * writes (the caller knows why; the step says the reduction failed). */
    int (*report_reduce)(void *payload, const attrib_report_part *mine, attrib_report_part *all);
    void *report_reduce_payload;
    bool report_writer;
} attrib_run_options;

#define ATTRIB_RUN_OPTIONS_INIT                                                                    \
    {                                                                                              \
        .start_date = NULL, .end_date = NULL, .lookback_days = 0, .same_time = false,              \
        .reset_after_conversion = false, .skip_bad_rows = false, .model = NULL,                    \
        .model_opts = ATTRIB_MODEL_OPTIONS_INIT, .fit_paths = ATTRIB_FIT_PATHS_CUT,                \
        .fit_range = ATTRIB_FIT_RANGE_ALL, .threads = 0, .api = NULL, .api_force = false,          \
        .phases = false, .csv_raw = false                                                          \
    }

/* A selected conversion without any session before it (SPEC §3). */
typedef struct {
    char *conv_id;
    double revenue;
} attrib_unattributable;

/* What a step did; counters of steps that did not run stay 0. */
typedef struct {
    uint64_t conversions_selected;         /* conversions in the range */
    uint64_t conversions_attributed;       /* got attribution rows */
    uint64_t conversions_failed;           /* engine failures (API); listed in failures */
    attrib_unattributable *unattributable; /* owned; n_unattributable entries */
    uint64_t n_unattributable;
    double unattributable_revenue;
    uint64_t sessions_read;             /* session rows scanned */
    uint64_t journey_sessions;          /* sessions over all journeys (= attribution rows) */
    uint64_t bad_rows_skipped;          /* with skip_bad_rows */
    uint64_t attribution_rows;          /* rows written to attribution_customer_journey */
    uint64_t attribution_unchanged;     /* rows a full run found stored already, exactly,
                                           and did not rewrite */
    uint64_t report_dates;              /* dates recomputed in channel_reporting */
    uint64_t report_rows;               /* rows written to channel_reporting */
    uint64_t csv_rows;                  /* data rows in the exported CSV */
    uint64_t api_requests, api_retries; /* ihc-api engine */
    double seconds;                     /* wall time of the step(s) */
    double read_seconds;                /* of which: reading the input and cutting journeys */
    double model_seconds;               /*           running the model over the journeys */
    double write_seconds;               /*           writing attribution (and a fused report) */
} attrib_summary;

/* The shard (0..n-1) of a user_id under --shard K/N: FNV-1a 64 of the user_id's
 * bytes, modulo n (n >= 1). The same on every machine and store. */
uint32_t attrib_shard_of(const char *user_id, size_t len, uint32_t n);

/* Free what a summary owns (not the struct). NULL is a no-op. */
void attrib_summary_free(attrib_summary *s);

/*
 * Attribute the selected conversions with the model and replace their rows
 * in attribution_customer_journey (phase values in attrib_journey_phases for
 * models with phases). Errors: ATTRIB_EDATA (bad row, message names it),
 * ATTRIB_ENOTFOUND (missing tables), ATTRIB_EDB, ATTRIB_ECANCEL.
 */
int attrib_attribute(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                     attrib_summary *sum);

/*
 * Recompute the channel_reporting rows whose inputs changed: every date
 * without a range; else the dates in the range, the dates of the sessions of
 * the selected conversions' attribution rows, and the dates whose rows an
 * attribute step replaced since the last report.
 */
int attrib_report(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                  attrib_summary *sum);

/*
 * Write the CSV report of channel_reporting (the range's dates, or all) to
 * `path` atomically: a temp file in the same directory, renamed over `path`
 * on success; on failure `path` is untouched. ATTRIB_EIO names the path.
 */
int attrib_export_csv(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                      const char *path, attrib_summary *sum);

/* init + attribute + report + export (path NULL = no export), reading the
 * input once when no range is given. */
int attrib_run(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts, const char *path,
               attrib_summary *sum);

/* Output formats of attrib_journeys_write. */
typedef enum {
    ATTRIB_JOURNEYS_IHC_JSON = 0, /* {"customer_journeys": [...]} as the API takes it */
    ATTRIB_JOURNEYS_JSONL = 1,    /* one session object per line */
    ATTRIB_JOURNEYS_CSV = 2,      /* header + one session per line */
} attrib_journeys_format;

/* Sink for streamed output: return 0, or a negative code to stop. */
typedef int (*attrib_write_fn)(const char *data, size_t len, void *payload);

/* Build the selected journeys and stream them in `format` to write(). */
int attrib_journeys_write(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                          attrib_journeys_format format, attrib_write_fn write, void *payload,
                          attrib_summary *sum);

#ifdef __cplusplus
}
#endif
#endif
