/*
 * Running a bound model over many journeys: the one loop behind the attribute
 * step, attrib compare, attrib eval, attrib serve and the model benchmark.
 *
 * Every journey's credit is checked against the output invariants of SPEC §4
 * right after the model wrote it (one pass over credit still in cache): every
 * value finite and in [0, 1], and Σ ihc = 1 within ATTRIB__MODEL_SUM_TOL. A
 * model that breaks them is a bug in the model, so the run fails naming the
 * conversion and the sum instead of storing or tabulating wrong numbers.
 */
#ifndef ATTRIB_LIB_MODEL_RUN_H
#define ATTRIB_LIB_MODEL_RUN_H

#include "attrib/model.h"

#include <stdbool.h>
#include <stddef.h>

/* |Σ ihc − 1| allowed per journey (SPEC §4, the local engine). */
#define ATTRIB__MODEL_SUM_TOL 1e-9
/* How far outside [0, 1] a value may stray (rounding noise of a normalization). */
#define ATTRIB__MODEL_RANGE_TOL 1e-12
/* Extra |Σ ihc − 1| per session when values are rounded to 4 decimals
 * (attrib_model_options.api_rounding): half a unit of the 4th decimal. */
#define ATTRIB__MODEL_ROUND4_TOL 0.5e-4
/* Most threads one run uses; more are clamped to this. */
#define ATTRIB__MODEL_RUN_MAX_THREADS 16
/* Fewer journeys than this run on the calling thread only. */
#define ATTRIB__MODEL_RUN_MIN_PARALLEL 1024

typedef struct {
    unsigned threads;          /* 0 or 1 = the calling thread only */
    const char *progress;      /* label of progress reports; NULL = none */
    const unsigned char *want; /* NULL = every journey; else only those with want[j] != 0 */
    bool rounded;              /* values rounded to 4 decimals (api_rounding): wider Σ check */
} attrib__model_run_opts;

#define ATTRIB__MODEL_RUN_OPTS_INIT                                                                \
    {                                                                                              \
        0, NULL, NULL, false                                                                       \
    }

/*
 * Attribute journeys[0..n) with the bound model m: journey j's credit goes
 * to out[offset[j] .. offset[j] + journeys[j].n). Journeys are split into
 * contiguous ranges over o->threads threads (the calling thread takes the
 * last); the credit does not depend on the thread count. The calling thread
 * checks for cancellation and reports progress (o->progress) every 16384 of
 * its journeys; a cancel stops every thread.
 *
 * @param ctx     receives the error message; used from the calling thread only
 * @param m       bound (attrib_model_bind) model; only read
 * @param offset  n entries (a journey's first credit in out); borrowed
 * @param out     room for every selected journey's credit; credit of journeys
 *                not selected by o->want is left untouched
 * @param o       NULL = ATTRIB__MODEL_RUN_OPTS_INIT
 * @return ATTRIB_OK;
 *         ATTRIB_ERROR when a journey's credit breaks an invariant: "model M
 *         gave conversion 'ID' (N sessions) credit summing to S ..." or naming
 *         the session whose value is not finite or outside [0, 1] (a bug in
 *         the model, so not ATTRIB_EDATA: the input was accepted);
 *         the model's own code when attribute() fails ("model M failed on
 *         conversion 'ID'");
 *         ATTRIB_ECANCEL when ctx was cancelled.
 *         On failure, out holds partial credit. When several journeys fail,
 *         the first one (lowest j) is named, whatever the thread count.
 */
int attrib__model_run(attrib_ctx *ctx, const attrib_model *m, const attrib_journey *journeys,
                      size_t n, const size_t *offset, attrib_credit *out,
                      const attrib__model_run_opts *o);

/*
 * Check one journey's credit c[0..j->n) against the invariants above
 * (rounded: the 4-decimal tolerance). Returns true when they hold; else
 * false with *sum the Σ ihc and *bad the first invalid session, or j->n when
 * only the sum is wrong. No side effects; thread-safe.
 */
bool attrib__model_credit_ok(const attrib_journey *j, const attrib_credit *c, bool rounded,
                             double *sum, size_t *bad);

#endif
