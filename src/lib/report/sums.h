/*
 * Exact report sums kept in the database: the attribution rows' terms per
 * (channel, date) as 128-bit fixed-point sums (util/xsum.h), maintained by
 * exact deltas when a ranged attribute step replaces rows (docs/pipeline.md,
 * "report").
 */
#ifndef ATTRIB_LIB_REPORT_SUMS_H
#define ATTRIB_LIB_REPORT_SUMS_H

#include "lib/journey/dataset.h"
#include "lib/report/rows.h"

/*
 * The terms an attribution row (ATTRIB_AR_ columns) adds to the report: 1
 * when it counts (*ihc, *revenue, *day and *channel set), a negative code
 * with the error set when its ihc or revenue is not a number, else 0 when its
 * session row is bad (the cost pass rejects or skips that session; the row
 * is not counted).
 */
int attrib__credit_terms(attrib_ctx *ctx, const attrib_value *cols, double *ihc, double *revenue,
                         int32_t *day, const attrib_value **channel);

/* Exact changes of the report sums by a ranged attribute step. */
typedef struct {
    attrib_ctx *ctx;
    attrib_strmap channels;
    attrib__agg delta;   /* per (channel, day): Σ new terms − Σ old terms */
    int64_t *ds_channel; /* dataset channel index → index in `channels`, -1 unknown */
} attrib__sums_delta;

/*
 * The delta of the report sums when the selection's rows are replaced by the
 * new credits: old rows (still in the store) subtracted, new ones added. A
 * term beyond the exact range invalidates the sums instead (*keep = false;
 * the report then recomputes whole dates and reports the bad value).
 * sd->ctx and sd->delta.channels = &sd->channels must be set.
 */
int attrib__sums_delta_compute(attrib_ctx *ctx, attrib_store *st, const attrib__dataset *ds,
                               const size_t *offset, const attrib_credit *credits,
                               const unsigned char *api_state, const attrib_scan *sel,
                               attrib__sums_delta *sd, bool *keep);

/* Its terms alone, in sd->delta: the stored rows of the conversions `old`
 * selects subtracted (none when NULL: a job's other shards), the new credits
 * added. Nothing is written. */
int attrib__sums_delta_terms(attrib_ctx *ctx, attrib_store *st, const attrib__dataset *ds,
                             const size_t *offset, const attrib_credit *credits,
                             const unsigned char *api_state, const attrib_scan *old,
                             attrib__sums_delta *sd);

/* Whether a term of the delta was beyond the exact range (the sums must then be
 * invalidated instead of applied). */
bool attrib__sums_delta_overflow(const attrib__sums_delta *sd);

/* After the rows were replaced: stored sums + delta → attrib_report_sums, keys dirty. */
int attrib__sums_delta_apply(attrib_ctx *ctx, attrib_store *st, attrib__sums_delta *sd);

void attrib__sums_delta_free(attrib__sums_delta *sd);

/*
 * An aggregate's cells as a report part (attrib_report_part, for a job's
 * reduction): its channels are a->channels' keys; *cells (n = a->count) is the
 * caller's to free.
 */
int attrib__agg_to_part(attrib_ctx *ctx, const attrib__agg *a, attrib_report_part *out,
                        attrib_report_cell **cells);

/* A report part added into the aggregate a (channels interned into a->channels
 * by name). A cell naming no channel of the part is an ATTRIB_EINVAL error. */
int attrib__agg_add_part(attrib_ctx *ctx, attrib__agg *a, const attrib_report_part *p);

#endif
