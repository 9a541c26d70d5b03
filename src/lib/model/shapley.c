/*
 * shapley and shapley-simplified.
 *
 * shapley: the players of a journey are its distinct channels; the worth of a
 * coalition S is the conversion rate of the paths (converting or not, as for
 * markov) whose set of channels is exactly S (0 if no path has that set).
 * The exact Shapley value is computed by enumerating all 2^m subsets of the
 * journey's m channels (m <= ATTRIB_SHAPLEY_MAX = 16); finish() computes it
 * once per distinct channel set of the converting paths (the memo), and
 * attribute() only looks it up. Values can be negative (adding a channel can
 * lower the rate); credit is the positive part, normalised; when nothing is
 * positive, or the journey has more than 16 distinct channels, the journey
 * falls back to the shapley-simplified split.
 * A channel's credit is shared equally by its sessions in the journey.
 *
 * shapley-simplified (Zhao et al. 2018): each journey's credit split equally
 * among its distinct channels, then equally among that channel's sessions.
 */
#include "lib/model/shapley.h"

#include "lib/core/ctx.h"
#include "lib/model/chan.h"
#include "lib/model/models.h"
#include "lib/model/stats.h"

#include <stdlib.h>
#include <string.h>

void attrib__shapley_exact(const double *v, size_t m, double *phi)
{
    /* w[s] = s!(m-s-1)!/m! = 1 / (m * C(m-1, s)) */
    double w[ATTRIB_SHAPLEY_MAX];
    double c = 1;
    for (size_t s = 0; s < m; s++) {
        w[s] = 1.0 / ((double)m * c);
        c = c * (double)(m - 1 - s) / (double)(s + 1);
    }
    for (size_t i = 0; i < m; i++) {
        double sum = 0;
        unsigned bit = 1u << i;
        for (unsigned mask = 0; mask < (1u << m); mask++) {
            if (mask & bit)
                continue;
            sum += w[__builtin_popcount(mask)] * (v[mask | bit] - v[mask]);
        }
        phi[i] = sum;
    }
}

/* Distinct channels of a journey, sorted, and how many sessions each has. */
static size_t distinct(const attrib_journey *j, const uint32_t *map, uint32_t *ids, uint32_t *count)
{
    size_t m = 0;
    for (size_t k = 0; k < j->n; k++) {
        uint32_t c = map != NULL ? map[j->sessions[k].channel] : j->sessions[k].channel;
        size_t at = 0;
        while (at < m && ids[at] < c)
            at++;
        if (at < m && ids[at] == c) {
            count[at]++;
            continue;
        }
        memmove(ids + at + 1, ids + at, (m - at) * sizeof(*ids));
        memmove(count + at + 1, count + at, (m - at) * sizeof(*count));
        ids[at] = c;
        count[at] = 1;
        m++;
    }
    return m;
}

/* Spread per-channel credit cc[0..m) over the sessions. */
static void spread(const attrib_journey *j, const uint32_t *map, const uint32_t *ids,
                   const uint32_t *count, const double *cc, size_t m, attrib_credit *out)
{
    for (size_t k = 0; k < j->n; k++) {
        uint32_t c = map != NULL ? map[j->sessions[k].channel] : j->sessions[k].channel;
        size_t at = 0;
        while (ids[at] != c)
            at++;
        (void)m;
        out[k] = (attrib_credit){.ihc = cc[at] / (double)count[at]};
    }
}

typedef struct {
    uint32_t *ids, *count;
    double *cc;
    uint32_t stack_ids[64], stack_count[64];
    double stack_cc[64];
} scratch;

static int scratch_get(scratch *s, size_t n)
{
    if (n <= 64) {
        s->ids = s->stack_ids;
        s->count = s->stack_count;
        s->cc = s->stack_cc;
        return ATTRIB_OK;
    }
    s->ids = malloc(n * sizeof(*s->ids));
    s->count = malloc(n * sizeof(*s->count));
    s->cc = malloc(n * sizeof(*s->cc));
    if (s->ids == NULL || s->count == NULL || s->cc == NULL)
        return ATTRIB_ENOMEM;
    return ATTRIB_OK;
}

static void scratch_free(scratch *s)
{
    if (s->ids != s->stack_ids) {
        free(s->ids);
        free(s->count);
        free(s->cc);
    }
}

static int simplified_attribute(const void *state, const attrib_journey *j, attrib_credit *out)
{
    (void)state;
    scratch s = {0};
    int rc = scratch_get(&s, j->n);
    if (rc == ATTRIB_OK) {
        size_t m = distinct(j, NULL, s.ids, s.count);
        for (size_t i = 0; i < m; i++)
            s.cc[i] = 1.0 / (double)m;
        spread(j, NULL, s.ids, s.count, s.cc, m, out);
    }
    scratch_free(&s);
    return rc;
}

const attrib_model_ops attrib_model_shapley_simplified = {
    .name = "shapley-simplified",
    .summary = "equal credit per distinct channel, then per session (Zhao et al. 2018)",
    .attribute = simplified_attribute,
};

/* ---- exact ---- */

typedef struct {
    attrib__chanmap cm;
    attrib__keycount local; /* sets under local ids */
    attrib__keycount sets;  /* after finish: sets under canonical ids */
    double *memo;           /* credit per channel of each converting set: memo_at[i].. */
    size_t *memo_at;        /* per set index; SIZE_MAX = not computed */
    uint32_t *buf;          /* observe scratch */
    size_t buf_cap;
    uint32_t *map; /* after bind: table index → canonical id */
    size_t n_table;
} shapley_state;

static void shapley_free(void *p)
{
    shapley_state *s = p;
    if (s == NULL)
        return;
    attrib__chan_free(&s->cm);
    attrib__keycount_free(&s->local);
    attrib__keycount_free(&s->sets);
    free(s->memo);
    free(s->memo_at);
    free(s->buf);
    free(s->map);
    free(s);
}

static int shapley_create(attrib_ctx *ctx, const attrib_model_options *opts, void **out)
{
    (void)opts;
    shapley_state *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    *out = s;
    return ATTRIB_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

static int shapley_observe(void *state, const attrib_path *p, const attrib_channels *channels)
{
    shapley_state *s = state;
    if (p->n == 0)
        return ATTRIB_OK;
    if (p->n > s->buf_cap) {
        uint32_t *b = realloc(s->buf, p->n * sizeof(*b));
        if (b == NULL)
            return ATTRIB_ENOMEM;
        s->buf = b;
        s->buf_cap = p->n;
    }
    size_t m = 0;
    for (size_t k = 0; k < p->n; k++) {
        uint32_t c = attrib__chan_local(&s->cm, channels, p->sessions[k].channel);
        if (c == ATTRIB_CHAN_NONE)
            return ATTRIB_ENOMEM;
        bool seen = false;
        for (size_t i = 0; i < m && !seen; i++)
            seen = s->buf[i] == c;
        if (!seen)
            s->buf[m++] = c;
    }
    qsort(s->buf, m, sizeof(*s->buf), cmp_u32);
    return attrib__keycount_add(&s->local, s->buf, m, p->converted);
}

/* Credit per channel of the sorted canonical set ids[0..m), m <= MAX:
 * positive part of the Shapley values, normalised; false when all <= 0. */
static bool exact_credit(const attrib__keycount *sets, const uint32_t *ids, size_t m, double *cc,
                         double *v)
{
    uint32_t sub[ATTRIB_SHAPLEY_MAX];
    for (unsigned mask = 0; mask < (1u << m); mask++) {
        size_t n = 0;
        for (size_t i = 0; i < m; i++)
            if (mask & (1u << i))
                sub[n++] = ids[i];
        v[mask] = attrib__keycount_rate(sets, sub, n);
    }
    attrib__shapley_exact(v, m, cc);
    double sum = 0;
    for (size_t i = 0; i < m; i++) {
        cc[i] = cc[i] > 0 ? cc[i] : 0;
        sum += cc[i];
    }
    if (!(sum > 0))
        return false;
    for (size_t i = 0; i < m; i++)
        cc[i] /= sum;
    return true;
}

static int shapley_finish(void *state, attrib_ctx *ctx)
{
    shapley_state *s = state;
    int rc = ATTRIB_OK;
    double *v = malloc(((size_t)1 << ATTRIB_SHAPLEY_MAX) * sizeof(*v));
    if (v == NULL || attrib__chan_finish(&s->cm) != ATTRIB_OK ||
        attrib__keycount_canon(&s->local, s->cm.canon, true, &s->sets) != ATTRIB_OK) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    attrib__keycount_free(&s->local);
    size_t n = s->sets.keys.count, total = 0;
    s->memo_at = malloc((n + 1) * sizeof(*s->memo_at));
    if (s->memo_at == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        bool want = s->sets.conv[i] > 0 && s->sets.len[i] <= ATTRIB_SHAPLEY_MAX;
        s->memo_at[i] = want ? total : SIZE_MAX;
        total += want ? s->sets.len[i] : 0;
    }
    s->memo = malloc((total + 1) * sizeof(*s->memo));
    if (s->memo == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (s->memo_at[i] == SIZE_MAX)
            continue;
        uint32_t ids[ATTRIB_SHAPLEY_MAX];
        size_t m = s->sets.len[i];
        memcpy(ids, s->sets.keys.keys[i], m * sizeof(*ids));
        if (!exact_credit(&s->sets, ids, m, s->memo + s->memo_at[i], v))
            s->memo_at[i] = SIZE_MAX; /* nothing positive: simplified at attribute time */
        if ((i & 0x3ff) == 0 && attrib__cancelled(ctx)) {
            rc = ATTRIB_ECANCEL;
            goto done;
        }
    }
done:
    free(v);
    return rc;
}

static int shapley_bind(void *state, attrib_ctx *ctx, const attrib_channels *channels)
{
    shapley_state *s = state;
    uint32_t *map = NULL;
    if (attrib__chan_bind(&s->cm, channels, &map) != ATTRIB_OK)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    free(s->map);
    s->map = map;
    s->n_table = channels->count;
    return ATTRIB_OK;
}

static int shapley_attribute(const void *state, const attrib_journey *j, attrib_credit *out)
{
    const shapley_state *s = state;
    for (size_t k = 0; k < j->n; k++)
        if (j->sessions[k].channel >= s->n_table)
            return ATTRIB_EINVAL;
    scratch sc = {0};
    double *v = NULL;
    int rc = scratch_get(&sc, j->n);
    if (rc != ATTRIB_OK)
        goto done;
    size_t m = distinct(j, s->map, sc.ids, sc.count);
    bool exact = false, unknown = false;
    for (size_t i = 0; i < m; i++)
        unknown = unknown || sc.ids[i] == ATTRIB_CHAN_NONE;
    if (!unknown && m <= ATTRIB_SHAPLEY_MAX) {
        int64_t at = attrib_strmap_find(&s->sets.keys, (const char *)sc.ids, m * sizeof(*sc.ids));
        if (at >= 0 && s->memo_at[at] != SIZE_MAX) {
            memcpy(sc.cc, s->memo + s->memo_at[at], m * sizeof(*sc.cc));
            exact = true;
        } else if (at < 0 || s->sets.conv[at] == 0) {
            /* a set no converting path had (journeys outside the statistics) */
            v = malloc(((size_t)1 << m) * sizeof(*v));
            if (v == NULL) {
                rc = ATTRIB_ENOMEM;
                goto done;
            }
            exact = exact_credit(&s->sets, sc.ids, m, sc.cc, v);
        }
    }
    if (!exact)
        for (size_t i = 0; i < m; i++)
            sc.cc[i] = 1.0 / (double)m;
    spread(j, s->map, sc.ids, sc.count, sc.cc, m, out);
done:
    free(v);
    scratch_free(&sc);
    return rc;
}

/* ---- statistics across workers (lib/model/stats.h): the counts of each
 * set of channel ids ---- */

static int shapley_stats_channels(const void *state, const char *const **names, size_t *n)
{
    const shapley_state *s = state;
    *names = s->cm.names.keys;
    *n = s->cm.names.count;
    return ATTRIB_OK;
}

static int shapley_stats_export(const void *state, const uint32_t *global, attrib_model_stats *out)
{
    const shapley_state *s = state;
    return attrib__keycount_export(&s->local, global, true, out);
}

static int shapley_stats_import(void *state, const attrib_model_stats *in)
{
    shapley_state *s = state;
    return attrib__keycount_import(&s->cm, &s->local, in);
}

const attrib_model_ops attrib_model_shapley = {
    .name = "shapley",
    .summary = "exact Shapley value of channels, coalition worth = conversion rate of its paths",
    .flags = ATTRIB_MODEL_NEEDS_PATHS,
    .create = shapley_create,
    .observe = shapley_observe,
    .finish = shapley_finish,
    .bind = shapley_bind,
    .attribute = shapley_attribute,
    .free = shapley_free,
    .stats_channels = shapley_stats_channels,
    .stats_export = shapley_stats_export,
    .stats_import = shapley_stats_import,
};
