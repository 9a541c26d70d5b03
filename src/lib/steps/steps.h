/*
 * Internal interface between the step files (the .c files of steps/): attribute.c,
 * report.c and run.c implement the public verbs of attrib/pipeline.h; this
 * is what they share.
 */
#ifndef ATTRIB_LIB_STEPS_STEPS_H
#define ATTRIB_LIB_STEPS_STEPS_H

#include "attrib/pipeline.h"
#include "lib/core/ctx.h"
#include "lib/journey/dataset.h"
#include "lib/report/store.h"
#include "lib/store/store.h"

#include <stdbool.h>
#include <stdint.h>

/* Monotonic seconds, for the summary's timings. */
double attrib__now_seconds(void);

/* Whether the options select a date range (else every conversion). */
bool attrib__is_ranged(const attrib_run_options *o);

/* Check the range options (dates parse, start ≤ end); the error set when not. */
int attrib__check_run_options(attrib_ctx *ctx, const attrib_run_options *o);

/* Distinct dates among report rows (for the summary). */
uint64_t attrib__count_dates(const attrib_report_row *rows, size_t n);

/* What the attribute step writes besides the attribution rows. */
typedef enum {
    ATTRIB__REPORT_NONE,  /* nothing: the attribute step alone */
    ATTRIB__REPORT_FUSED, /* no range: the one scan of the sessions also feeds the
                           * report's cost sums, and channel_reporting and its sums
                           * are written from them */
    ATTRIB__REPORT_AFTER, /* a range: the report step runs over the written rows */
    ATTRIB__REPORT_JOB,   /* a job's shard (opts->report_reduce): its part of the
                           * report (costs and credits; with a range the delta of
                           * the sums) summed over the job by the caller, written
                           * by the report_writer shard */
} attrib__report_mode;

/*
 * The attribute step (attribute.c). With a report mode other than NONE (the
 * run), the attribution rows, the phase rows, the report sums and
 * channel_reporting are written in one transaction: a run killed or failing
 * at any point leaves either everything of the previous state or everything
 * of the new one, never credit of one and a report of the other.
 */
int attrib__attribute_step(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                           attrib__report_mode report, attrib_summary *sum);

/*
 * The attribution rows of a range's conversions as the attribute step of a
 * ranged run has just stored them, in the columns scan_attribution_conv
 * reads them back with (store.h: ATTRIB_AR_*): every journey with its
 * credits, each session's channel and date, the conversion's revenue. The
 * report step in the same transaction takes them from here instead of
 * reading them again (a random session lookup a row).
 */
typedef struct {
    const attrib__dataset *ds;
    const size_t *offset; /* journey j's credits start at credits[offset[j]] */
    const attrib_credit *credits;
    const unsigned char *api_state; /* NULL, or a journey without a result has no rows */
} attrib__stored_credit;

/* Hand every row of sc to fn, as scan_attribution_conv(range) would. */
int attrib__stored_credit_scan(const attrib__stored_credit *sc, attrib_row_fn fn, void *payload);

/*
 * The report step (report.c). With own_tx it runs in a transaction of its
 * own (the report command); without, inside the caller's open transaction
 * (a ranged run, after the attribution rows were written), which it neither
 * commits nor rolls back: the caller does either. stored: the rows the
 * caller's attribute step stored for the range, or NULL (read them).
 */
int attrib__report_step(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                        bool own_tx, const attrib__stored_credit *stored, attrib_summary *sum);

/*
 * Whether the attribution rows stored equal, exactly, the rows an attribute
 * step would write (unchanged.c): the credits of the journeys whose api_state
 * (NULL: all) is ATTRIB__CREDIT_DONE, against the stored rows of the
 * conversions dated in range (NULL: every stored row; a range has start and
 * end dates only), and no phase rows at all. Reads the stored rows in the
 * caller's transaction. *same: equal; *rows: the number of those rows.
 */
int attrib__attribution_unchanged(attrib_ctx *ctx, attrib_store *st, const attrib__dataset *ds,
                                  const size_t *offset, const attrib_credit *credits,
                                  const unsigned char *api_state, const attrib_scan *range,
                                  bool *same, uint64_t *rows);

#endif
