/*
 * attrib — measuring and fitting the local IHC engine against recorded API
 * calls (docs/model.md): `attrib eval` and `attrib calibrate`.
 *
 * A dataset is a set of request/response pairs, read either from two aligned
 * JSON lists (requests.json = request bodies, responses.json = response
 * bodies, as in tests/data/ihc-real) or from an API client audit directory
 * (NNNNNN.request.json / NNNNNN.response.json). Each journey of a request
 * is one journey of the dataset (a journey split over two requests is two
 * journeys, as the API saw it). Conversions are split into a training and a
 * held-out part by a hash of conversion_id, so figures on the held-out part
 * are honest.
 */
#ifndef ATTRIB_IHC_FIT_H
#define ATTRIB_IHC_FIT_H

#include "attrib/error.h"
#include "attrib/model.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct attrib_ihc_dataset attrib_ihc_dataset;

/* Read aligned request and response lists. ATTRIB_EPARSE names the file and
 * item. *out owned by the caller (attrib_ihc_dataset_free). */
int attrib_ihc_dataset_load_pairs(attrib_ctx *ctx, const char *requests_path,
                                  const char *responses_path, attrib_ihc_dataset **out);

/* Read every NAME.request.json with its NAME.response.json from dir (the API
 * client's --audit-dir). Calls without a response file, or whose response is
 * not a 200/206 IHC body (failed attempts), are skipped and counted. */
int attrib_ihc_dataset_load_audit(attrib_ctx *ctx, const char *dir, attrib_ihc_dataset **out);

/* Journeys (and sessions) read; journeys skipped because the response had
 * no row for some session. */
size_t attrib_ihc_dataset_journeys(const attrib_ihc_dataset *ds);
size_t attrib_ihc_dataset_sessions(const attrib_ihc_dataset *ds);
size_t attrib_ihc_dataset_skipped(const attrib_ihc_dataset *ds);

/* Audit-directory calls skipped (no response, or an error response). */
size_t attrib_ihc_dataset_skipped_calls(const attrib_ihc_dataset *ds);

void attrib_ihc_dataset_free(attrib_ihc_dataset *ds);

/* Which conversions to use. */
typedef enum {
    ATTRIB_IHC_SPLIT_ALL = 0,
    ATTRIB_IHC_SPLIT_TRAIN = 1,   /* hash(conversion_id) not held out */
    ATTRIB_IHC_SPLIT_HOLDOUT = 2, /* hash(conversion_id) held out */
} attrib_ihc_split;

/* Default share of conversions held out, in percent. */
#define ATTRIB_IHC_HOLDOUT_PERCENT 30u

/* Default number of calibration sweeps (coordinate-descent passes). */
#define ATTRIB_IHC_SWEEPS 40u

/* True when conversion_id falls in the held-out part (FNV-1a 64 mod 100 < percent). */
bool attrib_ihc_held_out(const char *conversion_id, unsigned percent);

/* Headline figures of one evaluation (journeys of 2+ sessions). */
typedef struct {
    size_t journeys, sessions; /* evaluated, 2+ sessions */
    double mae[4];             /* ihc, initializer, holder, closer */
    double max[4];
    double within_001[4]; /* share of sessions with |error| <= 0.001 */
    double within_01[4];  /* share with |error| <= 0.01 */
} attrib_ihc_eval_summary;

typedef struct {
    attrib_ihc_split split;
    unsigned holdout_percent; /* 0 → ATTRIB_IHC_HOLDOUT_PERCENT */
    size_t worst;             /* worst journeys listed (10) */
} attrib_ihc_eval_options;

#define ATTRIB_IHC_EVAL_OPTIONS_INIT                                                               \
    {                                                                                              \
        .split = ATTRIB_IHC_SPLIT_ALL, .holdout_percent = ATTRIB_IHC_HOLDOUT_PERCENT, .worst = 10  \
    }

/*
 * Run the "ihc" model with `model_opts` on the dataset's requests and compare
 * with the responses (the model's API-compatible rounding is switched on).
 * *report (may be NULL) receives a malloc'ed text report: per phase MAE, max
 * error and shares within 0.01/0.001 by journey length, the worst journeys,
 * per-channel totals. *summary (may be NULL) the headline figures.
 */
int attrib_ihc_eval(attrib_ctx *ctx, const attrib_ihc_dataset *ds,
                    const attrib_model_options *model_opts, const attrib_ihc_eval_options *opts,
                    attrib_ihc_eval_summary *summary, char **report);

typedef struct {
    attrib_ihc_split split;   /* conversions fitted on (TRAIN by default) */
    unsigned holdout_percent; /* 0 → ATTRIB_IHC_HOLDOUT_PERCENT */
    unsigned sweeps;          /* coordinate-descent passes (0 → ATTRIB_IHC_SWEEPS) */
    const char *start_model;  /* model file to start from; NULL = builtin "base" tables */
    const char *name;         /* "name" written into the model file */
} attrib_ihc_calibrate_options;

#define ATTRIB_IHC_CALIBRATE_OPTIONS_INIT                                                          \
    {                                                                                              \
        .split = ATTRIB_IHC_SPLIT_ALL, .holdout_percent = ATTRIB_IHC_HOLDOUT_PERCENT,              \
        .sweeps = ATTRIB_IHC_SWEEPS, .start_model = NULL, .name = "calibrated"                     \
    }

/*
 * Fit phase weights, membership tables, the holder grid and channel weights
 * to the dataset and write the model file to out_path. Deterministic.
 * *fit (may be NULL) receives the in-sample figures of the fitted model;
 * *log (may be NULL) a malloc'ed text of the fit's progress.
 */
int attrib_ihc_calibrate(attrib_ctx *ctx, const attrib_ihc_dataset *ds,
                         const attrib_ihc_calibrate_options *opts, const char *out_path,
                         attrib_ihc_eval_summary *fit, char **log);

#ifdef __cplusplus
}
#endif
#endif
