/*
 * Internal interface between the step files (the .c files of steps/): attribute.c,
 * report.c and run.c implement the public verbs of attrib/pipeline.h; this
 * is what they share.
 */
#ifndef ATTRIB_LIB_STEPS_STEPS_H
#define ATTRIB_LIB_STEPS_STEPS_H

#include "attrib/pipeline.h"
#include "lib/core/ctx.h"
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

/*
 * The attribute step (attribute.c). With fuse_report (no range only), the
 * one scan of the sessions also feeds the report's cost sums and the same
 * transaction writes channel_reporting: the run without a range.
 */
int attrib__attribute_step(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                           bool fuse_report, attrib_summary *sum);

#endif
