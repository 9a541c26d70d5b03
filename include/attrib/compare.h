/*
 * attrib — comparing attribution models side by side (`attrib compare`).
 *
 * One load of the data, then every model in turn (each fitted on all paths
 * when it needs them) over the same selected journeys. The result is a
 * per-channel table: attributed conversions (Σ credit), revenue
 * (Σ credit × revenue), share of all attributed conversions, and ROAS
 * (revenue / cost of the channel's sessions on the selected dates). Sums are
 * order-independent (util/xsum.h): same data, same bits. Writers for CSV,
 * markdown and a plain-text terminal view are a const table of operations.
 */
#ifndef ATTRIB_COMPARE_H
#define ATTRIB_COMPARE_H

#include "attrib/model.h"
#include "attrib/pipeline.h"
#include "attrib/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    double conversions; /* Σ credit of the channel's sessions */
    double revenue;     /* Σ credit × conversion revenue */
    double share;       /* conversions / Σ conversions of the model (0 when none) */
    double roas;        /* revenue / cost; NaN when the channel has no cost */
} attrib_compare_cell;

typedef struct {
    size_t n_models;
    const char **models; /* model names in the order asked */
    size_t n_channels;
    const char **channels;      /* sorted by name (strcmp) */
    double *cost;               /* per channel: Σ cost of its sessions on the selected dates */
    attrib_compare_cell *cells; /* [channel * n_models + model] */
    double *total_conversions;  /* per model */
    double *total_revenue;      /* per model */
} attrib_compare_table;

/*
 * Run every model of models[0..n) (opts->model is ignored; opts->model_opts
 * is passed to each) over the journeys selected by opts and tabulate.
 * *out is owned by the caller: attrib_compare_free. Errors as
 * attrib_attribute (ATTRIB_EDATA, ATTRIB_ENOTFOUND, ATTRIB_EDB, ...) and
 * ATTRIB_EINVAL for no models.
 */
int attrib_compare_run(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                       const attrib_model_ops *const *models, size_t n, attrib_compare_table **out);

void attrib_compare_free(attrib_compare_table *t);

/* A table writer: the table in one format, streamed to write(). */
typedef struct {
    const char *name; /* "csv", "markdown", "text" */
    /* Rows channel × model: channel, model, conversions, revenue, share, cost,
     * ROAS. Returns 0 or the first non-zero code of write() (or ATTRIB_ENOMEM). */
    int (*write)(const attrib_compare_table *t, attrib_write_fn write, void *payload);
} attrib_compare_writer;

/* Writer by name ("csv", "markdown", "text"); NULL when unknown. */
const attrib_compare_writer *attrib_compare_writer_find(const char *name);

/*
 * Fit one model on the data selected by opts (opts->model, default ihc):
 * load, observe every path (models with ATTRIB_MODEL_NEEDS_PATHS), finish,
 * bind. For inspection, e.g. attrib_markov_info_of(). *out owned by the
 * caller (attrib_model_free).
 */
int attrib_model_fit(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                     attrib_model **out);

#ifdef __cplusplus
}
#endif
#endif
