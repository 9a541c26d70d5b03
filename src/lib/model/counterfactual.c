/*
 * counterfactual: Google's Fractribution.
 *
 * A path is the journey's channel sequence with consecutive repeats
 * collapsed (A, A, B → A > B). Its conversion probability is
 * pi(p) = conversions / (conversions + non-conversions) over all paths with
 * that sequence (converting and non-converting, as for markov; 0 for a
 * sequence never seen). Position i's credit is max(pi(p) - pi(p without
 * position i), 0), where removing a position collapses again (A > B > A
 * without B is A); the credits are normalised, and all zero gives all credit
 * to the last position. A position's credit is shared equally by the
 * sessions of its run. attribute() only reads the counts (thread-safe).
 */
#include "lib/core/ctx.h"
#include "lib/model/chan.h"
#include "lib/model/models.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    attrib__chanmap cm;
    attrib__keycount local; /* sequences under local ids */
    attrib__keycount seqs;  /* after finish: under canonical ids */
    uint32_t *buf;
    size_t buf_cap;
    uint32_t *map; /* after bind: table index → canonical id */
    size_t n_table;
} cf_state;

static void cf_free(void *p)
{
    cf_state *s = p;
    if (s == NULL)
        return;
    attrib__chan_free(&s->cm);
    attrib__keycount_free(&s->local);
    attrib__keycount_free(&s->seqs);
    free(s->buf);
    free(s->map);
    free(s);
}

static int cf_create(attrib_ctx *ctx, const attrib_model_options *opts, void **out)
{
    (void)opts;
    cf_state *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    *out = s;
    return ATTRIB_OK;
}

static int cf_observe(void *state, const attrib_path *p, const attrib_channels *channels)
{
    cf_state *s = state;
    if (p->n == 0)
        return ATTRIB_OK;
    if (p->n > s->buf_cap) {
        uint32_t *b = realloc(s->buf, p->n * sizeof(*b));
        if (b == NULL)
            return ATTRIB_ENOMEM;
        s->buf = b;
        s->buf_cap = p->n;
    }
    size_t n = 0;
    for (size_t k = 0; k < p->n; k++) {
        uint32_t c = attrib__chan_local(&s->cm, channels, p->sessions[k].channel);
        if (c == ATTRIB_CHAN_NONE)
            return ATTRIB_ENOMEM;
        if (n == 0 || s->buf[n - 1] != c)
            s->buf[n++] = c;
    }
    return attrib__keycount_add(&s->local, s->buf, n, p->converted);
}

static int cf_finish(void *state, attrib_ctx *ctx)
{
    cf_state *s = state;
    if (attrib__chan_finish(&s->cm) != ATTRIB_OK ||
        attrib__keycount_canon(&s->local, s->cm.canon, false, &s->seqs) != ATTRIB_OK)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    attrib__keycount_free(&s->local);
    return ATTRIB_OK;
}

static int cf_bind(void *state, attrib_ctx *ctx, const attrib_channels *channels)
{
    cf_state *s = state;
    uint32_t *map = NULL;
    if (attrib__chan_bind(&s->cm, channels, &map) != ATTRIB_OK)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    free(s->map);
    s->map = map;
    s->n_table = channels->count;
    return ATTRIB_OK;
}

static int cf_attribute(const void *state, const attrib_journey *j, attrib_credit *out)
{
    const cf_state *s = state;
    uint32_t stack[3 * 64] = {0};
    double stack_cc[64];
    uint32_t *seq = stack, *run = NULL, *without = NULL;
    double *cc = stack_cc;
    int rc = ATTRIB_OK;
    if (j->n > 64) {
        seq = malloc(3 * j->n * sizeof(*seq));
        cc = malloc(j->n * sizeof(*cc));
        if (seq == NULL || cc == NULL) {
            rc = ATTRIB_ENOMEM;
            goto done;
        }
    }
    run = seq + j->n;         /* run[i]: sessions in position i */
    without = seq + 2 * j->n; /* the counterfactual path */
    size_t n = 0;
    for (size_t k = 0; k < j->n; k++) {
        uint32_t ch = j->sessions[k].channel;
        if (ch >= s->n_table) {
            rc = ATTRIB_EINVAL;
            goto done;
        }
        uint32_t c = s->map[ch];
        if (n > 0 && seq[n - 1] == c) {
            run[n - 1]++;
            continue;
        }
        seq[n] = c;
        run[n++] = 1;
    }
    double pi = attrib__keycount_rate(&s->seqs, seq, n), sum = 0;
    for (size_t i = 0; i < n; i++) {
        size_t m = 0;
        for (size_t k = 0; k < n; k++)
            if (k != i && (m == 0 || without[m - 1] != seq[k]))
                without[m++] = seq[k];
        double d = pi - (m > 0 ? attrib__keycount_rate(&s->seqs, without, m) : 0);
        cc[i] = d > 0 ? d : 0;
        sum += cc[i];
    }
    if (!(sum > 0)) {
        for (size_t i = 0; i < n; i++)
            cc[i] = 0;
        cc[n - 1] = sum = 1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t r = 0; r < run[i]; r++)
            out[k++] = (attrib_credit){.ihc = cc[i] / sum / (double)run[i]};
done:
    if (seq != stack)
        free(seq);
    if (cc != stack_cc)
        free(cc);
    return rc;
}

const attrib_model_ops attrib_model_counterfactual = {
    .name = "counterfactual",
    .summary = "Fractribution: credit by the drop in conversion probability without a step",
    .flags = ATTRIB_MODEL_NEEDS_PATHS,
    .create = cf_create,
    .observe = cf_observe,
    .finish = cf_finish,
    .bind = cf_bind,
    .attribute = cf_attribute,
    .free = cf_free,
};
