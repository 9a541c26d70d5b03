/*
 * The parameters of the local IHC engine (docs/model.md) and their JSON model
 * file: phase weights, the initializer and closer membership functions as
 * piecewise-linear tables of hours, the holder function as a grid over
 * (initializer, closer) and per-channel weights per phase.
 */
#ifndef ATTRIB_LIB_IHC_PARAMS_H
#define ATTRIB_LIB_IHC_PARAMS_H

#include "attrib/error.h"

#include <stddef.h>

#define ATTRIB_IHC_MAX_KNOTS 128 /* per membership table */
#define ATTRIB_IHC_MAX_GRID 41   /* holder grid knots per axis */

enum { ATTRIB_IHC_I = 0, ATTRIB_IHC_H = 1, ATTRIB_IHC_C = 2 };

/* y(x) piecewise linear through (x[i], y[i]), x strictly increasing, constant
 * beyond the ends. */
typedef struct {
    size_t n;
    double x[ATTRIB_IHC_MAX_KNOTS];
    double y[ATTRIB_IHC_MAX_KNOTS];
} attrib_ihc_table;

typedef struct {
    char *name;  /* channel_label */
    double w[3]; /* initializer, holder, closer weight */
} attrib_ihc_channel;

typedef struct {
    char *name;           /* free text from the file ("default", "base", ...) */
    double phase_w[3];    /* initializer, holder, closer */
    attrib_ihc_table m_i; /* initializer membership of hours to the prior session */
    attrib_ihc_table m_c; /* closer membership of hours to the conversion session */
    /* Holder function G(I, C) on a uniform grid of g_n knots over [0,1]²,
     * bilinear; g[i * g_n + j] = G(i/(g_n-1), j/(g_n-1)). */
    size_t g_n;
    double g[ATTRIB_IHC_MAX_GRID * ATTRIB_IHC_MAX_GRID];
    attrib_ihc_channel *channels; /* sorted by name */
    size_t n_channels;
} attrib_ihc_params;

/* Parse a model file's text; `what` names it in messages. *out owned by the
 * caller (attrib__ihc_params_free). ATTRIB_EPARSE names the key and value. */
int attrib__ihc_params_parse(attrib_ctx *ctx, const char *text, size_t len, const char *what,
                             attrib_ihc_params **out);

/* Load a model file from disk (ATTRIB_ENOTFOUND / ATTRIB_EIO / ATTRIB_EPARSE). */
int attrib__ihc_params_load(attrib_ctx *ctx, const char *path, attrib_ihc_params **out);

/* A builtin parameter set: "default" or "base" (ATTRIB_EINVAL otherwise). */
int attrib__ihc_params_builtin(attrib_ctx *ctx, const char *name, attrib_ihc_params **out);

/* Deep copy. */
int attrib__ihc_params_copy(attrib_ctx *ctx, const attrib_ihc_params *p, attrib_ihc_params **out);

/* Serialize as a model file (malloc'ed NUL-terminated text in *out). */
int attrib__ihc_params_to_json(attrib_ctx *ctx, const attrib_ihc_params *p, char **out);

/* Write a model file atomically. */
int attrib__ihc_params_save(attrib_ctx *ctx, const attrib_ihc_params *p, const char *path);

/* Weights of a channel label; NULL when the file has none for it (weight 1). */
const attrib_ihc_channel *attrib__ihc_params_channel(const attrib_ihc_params *p, const char *name);

/* Set (adding when missing) a channel's weights. */
int attrib__ihc_params_set_channel(attrib_ctx *ctx, attrib_ihc_params *p, const char *name,
                                   const double w[3]);

void attrib__ihc_params_free(attrib_ihc_params *p);

/* Evaluate a table / the holder grid. */
double attrib__ihc_table_eval(const attrib_ihc_table *t, double x);
double attrib__ihc_holder_eval(const attrib_ihc_params *p, double i, double c);

#endif
