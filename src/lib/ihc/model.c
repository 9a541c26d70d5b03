/*
 * ihc: the local IHC engine as a model (docs/model.md). Parameters come from
 * a model file or a builtin ("default" = calibrated on real API output,
 * "base" = untrained); bind() resolves channel names to weights and
 * redistribution donor flags once, so attribute() only reads arrays.
 */
#include "lib/core/ctx.h"
#include "lib/ihc/engine.h"
#include "lib/model/models.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    attrib_ihc_params *params;
    bool api_rounding;
    bool has_rd;
    attrib_redistribution rd; /* labels point into label_store */
    char **label_store;       /* every label, owned */
    size_t n_label_store;
    attrib_ihc_chan *chans; /* per bound channel index */
    size_t n_chans;
} ihc_state;

static void ihc_free(void *state)
{
    ihc_state *st = state;
    if (st == NULL)
        return;
    attrib__ihc_params_free(st->params);
    for (size_t k = 0; k < st->n_label_store; k++)
        free(st->label_store[k]);
    free(st->label_store);
    free((void *)st->rd.initializer.labels);
    free((void *)st->rd.holder.labels);
    free((void *)st->rd.closer.labels);
    free(st->chans);
    free(st);
}

/* Deep-copy one phase's labels into st. */
static int copy_phase(attrib_ctx *ctx, ihc_state *st, const attrib_redist_phase *in,
                      attrib_redist_phase *out)
{
    *out = *in;
    out->labels = NULL;
    out->n_labels = 0;
    if (in->n_labels == 0)
        return ATTRIB_OK;
    const char **labels = calloc(in->n_labels, sizeof(*labels));
    char **grown = realloc(st->label_store, (st->n_label_store + in->n_labels) * sizeof(*grown));
    if (labels == NULL || grown == NULL) {
        free(labels);
        if (grown != NULL)
            st->label_store = grown;
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    }
    st->label_store = grown;
    out->labels = labels;
    for (size_t k = 0; k < in->n_labels; k++) {
        char *dup = strdup(in->labels[k]);
        if (dup == NULL)
            return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        st->label_store[st->n_label_store++] = dup;
        labels[k] = dup;
        out->n_labels = k + 1;
    }
    return ATTRIB_OK;
}

static int ihc_create(attrib_ctx *ctx, const attrib_model_options *opts, void **out)
{
    int rc = ATTRIB_OK;
    ihc_state *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    st->api_rounding = opts->api_rounding;
    if (opts->model_file != NULL)
        rc = attrib__ihc_params_load(ctx, opts->model_file, &st->params);
    else
        rc = attrib__ihc_params_builtin(ctx, opts->builtin, &st->params);
    if (rc != ATTRIB_OK)
        goto done;
    if (opts->redistribution != NULL) {
        const attrib_redistribution *r = opts->redistribution;
        st->has_rd = true;
        rc = copy_phase(ctx, st, &r->initializer, &st->rd.initializer);
        if (rc == ATTRIB_OK)
            rc = copy_phase(ctx, st, &r->holder, &st->rd.holder);
        if (rc == ATTRIB_OK)
            rc = copy_phase(ctx, st, &r->closer, &st->rd.closer);
        if (rc != ATTRIB_OK)
            goto done;
    }
    *out = st;
    st = NULL;
done:
    ihc_free(st);
    return rc;
}

static bool listed(const attrib_redist_phase *p, const char *name)
{
    for (size_t k = 0; k < p->n_labels; k++)
        if (strcmp(p->labels[k], name) == 0)
            return true;
    return false;
}

static int ihc_bind(void *state, attrib_ctx *ctx, const attrib_channels *channels)
{
    ihc_state *st = state;
    if (channels->count > st->n_chans) {
        attrib_ihc_chan *grown = realloc(st->chans, channels->count * sizeof(*grown));
        if (grown == NULL)
            return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory binding %zu channels",
                                 channels->count);
        st->chans = grown;
    }
    for (size_t k = 0; k < channels->count; k++) {
        attrib_ihc_chan *c = &st->chans[k];
        const attrib_ihc_channel *w = attrib__ihc_params_channel(st->params, channels->names[k]);
        for (int p = 0; p < 3; p++)
            c->w[p] = w != NULL ? w->w[p] : 1.0;
        c->donor = 0;
        if (st->has_rd) {
            if (listed(&st->rd.initializer, channels->names[k]))
                c->donor |= 1u << ATTRIB_IHC_I;
            if (listed(&st->rd.holder, channels->names[k]))
                c->donor |= 1u << ATTRIB_IHC_H;
            if (listed(&st->rd.closer, channels->names[k]))
                c->donor |= 1u << ATTRIB_IHC_C;
        }
    }
    st->n_chans = channels->count;
    return ATTRIB_OK;
}

static int ihc_attribute(const void *state, const attrib_journey *j, attrib_credit *out)
{
    const ihc_state *st = state;
    attrib__ihc_compute(st->params, st->chans, st->n_chans, st->has_rd ? &st->rd : NULL,
                        st->api_rounding, j->sessions, j->n, out);
    return ATTRIB_OK;
}

const attrib_model_ops attrib_model_ihc = {
    .name = "ihc",
    .summary = "local IHC engine: initializer, holder and closer phases (docs/model.md)",
    .create = ihc_create,
    .bind = ihc_bind,
    .attribute = ihc_attribute,
    .free = ihc_free,
};
