/*
 * The rule-based models, which need nothing but the journey itself: first,
 * last, last-non-direct, position (U-shaped) and time-decay. Each is a const
 * ops table; only last-non-direct and position keep state (the direct
 * channels, the weights).
 */
#include "lib/model/models.h"

#include "lib/core/ctx.h"
#include "lib/model/chan.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void zero(const attrib_journey *j, attrib_credit *out)
{
    for (size_t k = 0; k < j->n; k++)
        out[k] = (attrib_credit){0};
}

/* ---- first, last ---- */

static int first_attribute(const void *state, const attrib_journey *j, attrib_credit *out)
{
    (void)state;
    zero(j, out);
    out[0].ihc = 1;
    return ATTRIB_OK;
}

static int last_attribute(const void *state, const attrib_journey *j, attrib_credit *out)
{
    (void)state;
    zero(j, out);
    out[j->n - 1].ihc = 1;
    return ATTRIB_OK;
}

const attrib_model_ops attrib_model_first = {
    .name = "first",
    .summary = "all credit to the first session of the journey",
    .attribute = first_attribute,
};

const attrib_model_ops attrib_model_last = {
    .name = "last",
    .summary = "all credit to the last session of the journey",
    .attribute = last_attribute,
};

/* ---- last-non-direct ---- */

typedef struct {
    char **direct; /* copies of the direct channel names */
    size_t n_direct;
    bool *is_direct; /* per channel table index, after bind */
    size_t n_table;
} lnd_state;

static void lnd_free(void *state)
{
    lnd_state *s = state;
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_direct; i++)
        free(s->direct[i]);
    free(s->direct);
    free(s->is_direct);
    free(s);
}

static int lnd_create(attrib_ctx *ctx, const attrib_model_options *opts, void **out)
{
    static const char *const fallback[] = {"Direct Traffic"};
    const char *const *names = opts->direct_channels != NULL ? opts->direct_channels : fallback;
    size_t n = opts->direct_channels != NULL ? opts->n_direct_channels : 1;
    int rc = ATTRIB_OK;
    lnd_state *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->direct = calloc(n + 1, sizeof(*s->direct))) == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        s->direct[i] = strdup(names[i]);
        if (s->direct[i] == NULL) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
        s->n_direct = i + 1;
    }
    *out = s;
    s = NULL;
done:
    lnd_free(s);
    return rc;
}

static int lnd_bind(void *state, attrib_ctx *ctx, const attrib_channels *channels)
{
    lnd_state *s = state;
    bool *d = calloc(channels->count + 1, sizeof(*d));
    if (d == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    for (size_t c = 0; c < channels->count; c++)
        for (size_t i = 0; i < s->n_direct; i++)
            if (strcmp(channels->names[c], s->direct[i]) == 0)
                d[c] = true;
    free(s->is_direct);
    s->is_direct = d;
    s->n_table = channels->count;
    return ATTRIB_OK;
}

static int lnd_attribute(const void *state, const attrib_journey *j, attrib_credit *out)
{
    const lnd_state *s = state;
    size_t pick = j->n - 1; /* all direct: fall back to last */
    for (size_t k = j->n; k-- > 0;) {
        uint32_t ch = j->sessions[k].channel;
        if (ch >= s->n_table)
            return ATTRIB_EINVAL; /* bind was not called with this table */
        if (!s->is_direct[ch]) {
            pick = k;
            break;
        }
    }
    zero(j, out);
    out[pick].ihc = 1;
    return ATTRIB_OK;
}

const attrib_model_ops attrib_model_last_non_direct = {
    .name = "last-non-direct",
    .summary = "all credit to the last session not from a direct channel (else the last)",
    .create = lnd_create,
    .bind = lnd_bind,
    .attribute = lnd_attribute,
    .free = lnd_free,
};

/* ---- position (U-shaped) ---- */

typedef struct {
    double first, last; /* shares of the first and last session, n >= 3 */
} position_state;

static int position_create(attrib_ctx *ctx, const attrib_model_options *opts, void **out)
{
    double f = opts->position_first, l = opts->position_last;
    if (!(f >= 0 && l >= 0 && f + l <= 1 && f + l > 0))
        return attrib__error(ctx, ATTRIB_EINVAL,
                             "position weights first %g and last %g must be >= 0 with a sum in "
                             "(0, 1]",
                             f, l);
    position_state *s = malloc(sizeof(*s));
    if (s == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    s->first = f;
    s->last = l;
    *out = s;
    return ATTRIB_OK;
}

static int position_attribute(const void *state, const attrib_journey *j, attrib_credit *out)
{
    const position_state *s = state;
    size_t n = j->n;
    zero(j, out);
    if (n == 1) {
        out[0].ihc = 1;
    } else if (n == 2) {
        out[0].ihc = 0.5; /* whatever the weights (issue P6) */
        out[1].ihc = 0.5;
    } else {
        double mid = (1 - s->first - s->last) / (double)(n - 2);
        out[0].ihc = s->first;
        out[n - 1].ihc = s->last;
        for (size_t k = 1; k + 1 < n; k++)
            out[k].ihc = mid;
    }
    return ATTRIB_OK;
}

const attrib_model_ops attrib_model_position = {
    .name = "position",
    .summary = "40% first, 40% last, 20% shared by the sessions between (weights are options)",
    .create = position_create,
    .attribute = position_attribute,
    .free = free,
};

/* ---- time-decay ---- */

typedef struct {
    double half_life; /* seconds */
} decay_state;

static int decay_create(attrib_ctx *ctx, const attrib_model_options *opts, void **out)
{
    double h = opts->half_life_days;
    if (!(h > 0 && h <= 36500))
        return attrib__error(ctx, ATTRIB_EINVAL, "half-life %g days is not in (0, 36500]", h);
    decay_state *s = malloc(sizeof(*s));
    if (s == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    s->half_life = h * 86400.0;
    *out = s;
    return ATTRIB_OK;
}

static int decay_attribute(const void *state, const attrib_journey *j, attrib_credit *out)
{
    const decay_state *s = state;
    /* Weights relative to the last session (the largest one, 2^0 = 1 at the
     * latest): scaling every weight by the same factor does not change the
     * normalised credit, and it keeps long journeys from underflowing. */
    int64_t ref = j->sessions[j->n - 1].ts;
    double sum = 0;
    zero(j, out);
    for (size_t k = 0; k < j->n; k++) {
        double dt = (double)(ref - j->sessions[k].ts); /* >= 0: sessions are sorted */
        out[k].ihc = attrib__exp2(-dt / s->half_life);
        sum += out[k].ihc;
    }
    for (size_t k = 0; k < j->n; k++)
        out[k].ihc /= sum;
    return ATTRIB_OK;
}

const attrib_model_ops attrib_model_time_decay = {
    .name = "time-decay",
    .summary = "weight 2^(-dt / half-life) by time to conversion (half-life 7 days)",
    .create = decay_create,
    .attribute = decay_attribute,
    .free = free,
};
