/*
 * The model registry and the thin instance wrapper around a model's ops.
 * Adding a model: define its const attrib_model_ops in model_<name>.c,
 * declare it in models.h and list it below.
 */
#include "attrib/model.h"

#include "lib/core/ctx.h"
#include "lib/model/models.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static const attrib_model_ops *const registry[] = {
    &attrib_model_ihc,
    &attrib_model_linear,
    &attrib_model_first,
    &attrib_model_last,
    &attrib_model_last_non_direct,
    &attrib_model_position,
    &attrib_model_time_decay,
    &attrib_model_markov,
    &attrib_model_shapley,
    &attrib_model_shapley_simplified,
    &attrib_model_counterfactual,
    NULL,
};

struct attrib_model {
    const attrib_model_ops *ops;
    void *state;
};

const attrib_model_ops *const *attrib_model_list(void)
{
    return registry;
}

const attrib_model_ops *attrib_model_find(const char *name)
{
    for (size_t i = 0; registry[i] != NULL; i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

int attrib_model_new(attrib_ctx *ctx, const attrib_model_ops *ops, const attrib_model_options *opts,
                     attrib_model **out)
{
    attrib__enter(ctx);
    /* an ops table must at least name the model and attribute; a model that
     * needs the statistics pass must observe */
    assert(ops != NULL && ops->name != NULL && ops->attribute != NULL && out != NULL);
    assert(!(ops->flags & ATTRIB_MODEL_NEEDS_PATHS) || ops->observe != NULL);
    attrib_model_options defaults = ATTRIB_MODEL_OPTIONS_INIT;
    attrib_model *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory creating model %s", ops->name);
    m->ops = ops;
    int rc = ops->create != NULL ? ops->create(ctx, opts != NULL ? opts : &defaults, &m->state)
                                 : ATTRIB_OK;
    if (rc != ATTRIB_OK) {
        free(m);
        return attrib__leave(ctx, rc);
    }
    *out = m;
    return attrib__leave(ctx, ATTRIB_OK);
}

int attrib_model_observe(attrib_model *m, const attrib_path *path, const attrib_channels *channels)
{
    return m->ops->observe != NULL ? m->ops->observe(m->state, path, channels) : ATTRIB_OK;
}

int attrib_model_observe_journey(attrib_model *m, const attrib_path *journey,
                                 const attrib_channels *channels)
{
    return m->ops->observe_journey != NULL ? m->ops->observe_journey(m->state, journey, channels)
                                           : ATTRIB_OK;
}

int attrib_model_finish(attrib_model *m, attrib_ctx *ctx)
{
    attrib__enter(ctx);
    return attrib__leave(ctx, m->ops->finish != NULL ? m->ops->finish(m->state, ctx) : ATTRIB_OK);
}

int attrib_model_bind(attrib_model *m, attrib_ctx *ctx, const attrib_channels *channels)
{
    attrib__enter(ctx);
    return attrib__leave(ctx,
                         m->ops->bind != NULL ? m->ops->bind(m->state, ctx, channels) : ATTRIB_OK);
}

int attrib_model_attribute(const attrib_model *m, const attrib_journey *j, attrib_credit *out)
{
    assert(m != NULL && j != NULL && (out != NULL || j->n == 0)); /* credit array for j->n */
    return m->ops->attribute(m->state, j, out);
}

void *attrib__model_state(const attrib_model *m)
{
    return m->state;
}

const attrib_model_ops *attrib_model_ops_of(const attrib_model *m)
{
    return m->ops;
}

void attrib_model_free(attrib_model *m)
{
    if (m == NULL)
        return;
    if (m->ops->free != NULL)
        m->ops->free(m->state);
    free(m);
}
