/*
 * Exact reduction of the path statistics of a model across the workers of a
 * job (attrib_model_reduce; docs/scale-out.md "Models that learn from every
 * path"). Workers name channels in their own order, so first they agree on
 * ids: every worker's channel names are gathered, sorted and made unique (the
 * global id of a name is its rank in strcmp order). Each worker then exports
 * its statistics under global ids; the keys are gathered, sorted and made
 * unique the same way on every worker, which gives one key space; each worker
 * writes its values into a vector over that space (two counts, the 128-bit
 * sum as four 32-bit limbs, its overflow flag: 7 lanes of 64 bits a key), one
 * sum over the workers reduces it, and the model imports the sums. Limbs of
 * at most 2^32 - 1 summed over fewer than 2^32 workers do not overflow a
 * lane, and the 128-bit sum is rebuilt modulo 2^128, which is exact whenever
 * the true sum fits (xsum's own premise). Keys travel as native 32-bit words:
 * the workers share one byte order.
 *
 * Collectives: ready check (max), names (gather), failure check (max), keys
 * (gather), failure check (max), values (sum). A worker that fails between
 * two checks still makes the collectives up to the next check, with empty
 * data, so every worker makes the same calls and then every worker stops.
 */
#include "lib/model/stats.h"

#include "lib/core/ctx.h"
#include "lib/model/models.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define LANES 7

int attrib__stats_add(attrib_model_stats *s, const uint32_t *key, size_t n, const attrib__stat *v)
{
    int added = 0;
    int64_t i = attrib_strmap_intern(&s->keys, (const char *)key, n * sizeof(*key), &added);
    if (i < 0)
        return ATTRIB_ENOMEM;
    if ((size_t)i >= s->cap) {
        size_t cap = s->cap == 0 ? 256 : s->cap * 2;
        uint32_t *l = realloc(s->len, cap * sizeof(*l));
        if (l == NULL)
            return ATTRIB_ENOMEM;
        s->len = l;
        attrib__stat *x = realloc(s->val, cap * sizeof(*x));
        if (x == NULL)
            return ATTRIB_ENOMEM;
        s->val = x;
        s->cap = cap;
    }
    if (added) {
        s->len[i] = (uint32_t)n;
        s->val[i] = (attrib__stat)ATTRIB__STAT_INIT;
    }
    s->val[i].count[0] += v->count[0];
    s->val[i].count[1] += v->count[1];
    attrib_xsum_merge(&s->val[i].sum, &v->sum);
    return ATTRIB_OK;
}

size_t attrib__stats_count(const attrib_model_stats *s)
{
    return s->keys.count;
}

const uint32_t *attrib__stats_key(const attrib_model_stats *s, size_t i, size_t *n)
{
    *n = s->len[i];
    return (const uint32_t *)(const void *)s->keys.keys[i];
}

const attrib__stat *attrib__stats_value(const attrib_model_stats *s, size_t i)
{
    return &s->val[i];
}

const char *const *attrib__stats_names(const attrib_model_stats *s, size_t *n)
{
    *n = s->n_names;
    return s->names;
}

void attrib__stats_free(attrib_model_stats *s)
{
    if (s == NULL)
        return;
    attrib_strmap_free(&s->keys);
    free(s->len);
    free(s->val);
    memset(s, 0, sizeof(*s));
}

bool attrib_model_reducible(const attrib_model_ops *ops)
{
    return ops != NULL && (ops->flags & ATTRIB_MODEL_NEEDS_PATHS) && ops->stats_channels != NULL &&
           ops->stats_export != NULL && ops->stats_import != NULL;
}

/* ---- channel names: gathered, sorted, unique ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names as one blob of NUL-terminated strings (*out malloc'd). */
static int names_blob(const char *const *names, size_t n, char **out, size_t *len)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(names[i]) + 1;
    char *b = malloc(total + 1);
    if (b == NULL)
        return ATTRIB_ENOMEM;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(names[i]) + 1;
        memcpy(b + at, names[i], l);
        at += l;
    }
    *out = b;
    *len = total;
    return ATTRIB_OK;
}

/* Split the gathered blob into sorted unique names (*out points into blob). */
static int names_split(const char *blob, size_t len, const char ***out, size_t *n_out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += blob[i] == '\0';
    const char **v = malloc((n + 1) * sizeof(*v));
    if (v == NULL)
        return ATTRIB_ENOMEM;
    size_t k = 0;
    for (size_t at = 0; at < len; at += strlen(blob + at) + 1)
        v[k++] = blob + at;
    qsort(v, k, sizeof(*v), cmp_str);
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        if (m == 0 || strcmp(v[m - 1], v[i]) != 0)
            v[m++] = v[i];
    *out = v;
    *n_out = m;
    return ATTRIB_OK;
}

/* global[i]: the rank of the model's name i in the sorted unique list. */
static int names_map(const char *const *mine, size_t n, const char *const *all, size_t n_all,
                     uint32_t **out)
{
    uint32_t *g = malloc((n + 1) * sizeof(*g));
    if (g == NULL)
        return ATTRIB_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *const *at = bsearch(&mine[i], all, n_all, sizeof(*all), cmp_str);
        assert(at != NULL); /* every worker's names are in the union */
        g[i] = (uint32_t)(at - all);
    }
    *out = g;
    return ATTRIB_OK;
}

/* ---- keys: records [n, w0 .. w(n-1)] of 32-bit words ---- */

static int cmp_key(const uint32_t *x, const uint32_t *y)
{
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    for (uint32_t i = 1; i <= x[0]; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

static int cmp_keyp(const void *a, const void *b)
{
    return cmp_key(*(const uint32_t *const *)a, *(const uint32_t *const *)b);
}

static int keys_blob(const attrib_model_stats *s, uint32_t **out, size_t *bytes)
{
    size_t words = 0, n = attrib__stats_count(s);
    for (size_t i = 0; i < n; i++)
        words += 1 + (size_t)s->len[i];
    uint32_t *b = malloc((words + 1) * sizeof(*b));
    if (b == NULL)
        return ATTRIB_ENOMEM;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        const uint32_t *k = attrib__stats_key(s, i, &len);
        b[at++] = (uint32_t)len;
        memcpy(b + at, k, len * sizeof(*k));
        at += len;
    }
    *out = b;
    *bytes = words * sizeof(*b);
    return ATTRIB_OK;
}

/* The gathered records, sorted and unique (*out points into blob). */
static int keys_split(const uint32_t *blob, size_t words, const uint32_t ***out, size_t *n_out)
{
    size_t n = 0;
    for (size_t at = 0; at < words; at += 1 + (size_t)blob[at])
        n++;
    const uint32_t **v = malloc((n + 1) * sizeof(*v));
    if (v == NULL)
        return ATTRIB_ENOMEM;
    size_t k = 0;
    for (size_t at = 0; at < words; at += 1 + (size_t)blob[at])
        v[k++] = blob + at;
    qsort(v, k, sizeof(*v), cmp_keyp);
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        if (m == 0 || cmp_key(v[m - 1], v[i]) != 0)
            v[m++] = v[i];
    *out = v;
    *n_out = m;
    return ATTRIB_OK;
}

static void to_lanes(const attrib__stat *v, uint64_t *lane)
{
    unsigned __int128 acc = (unsigned __int128)v->sum.acc;
    lane[0] += v->count[0];
    lane[1] += v->count[1];
    for (int i = 0; i < 4; i++)
        lane[2 + i] += (uint64_t)(acc >> (32 * i)) & 0xffffffffu;
    lane[6] += v->sum.overflow;
}

static attrib__stat from_lanes(const uint64_t *lane)
{
    unsigned __int128 acc = 0;
    for (int i = 0; i < 4; i++)
        acc += (unsigned __int128)lane[2 + i] << (32 * i);
    attrib__stat v = {{lane[0], lane[1]}, {(__int128)acc, lane[6] != 0}};
    return v;
}

/* The largest failure flag over the workers; an error when the call failed. */
static int check(attrib_ctx *ctx, const attrib_reducer *r, int mine, int *all)
{
    int rc = r->max_all(mine, all, r->payload);
    if (rc != ATTRIB_OK)
        return attrib__error(ctx, rc, "the job's workers could not agree (reducing statistics)");
    return ATTRIB_OK;
}

int attrib_model_reduce(attrib_ctx *ctx, attrib_model *m, const attrib_reducer *r)
{
    attrib__enter(ctx);
    const attrib_model_ops *ops = attrib_model_ops_of(m);
    assert(attrib_model_reducible(ops) && r != NULL);
    void *state = attrib__model_state(m);
    char *mine_names = NULL, *all_names = NULL;
    const char **names = NULL;
    uint32_t *global = NULL, *mine_keys = NULL, *all_keys = NULL;
    const uint32_t **keys = NULL;
    uint64_t *lanes = NULL;
    attrib_model_stats local = {0}, sum = {0};
    size_t n_mine = 0, n_all = 0, n_names = 0, n_keys = 0, bytes = 0, n_lanes = 0, n_my = 0;
    const char *const *my = NULL;
    int fail = 0, any = 0;
    const char *what = NULL; /* this worker's failure */
    int rc = check(ctx, r, 0, &any);
    if (rc != ATTRIB_OK)
        goto done;
    if (any) {
        rc = attrib__error(ctx, ATTRIB_ERROR,
                           "another worker of the job failed before the model's statistics "
                           "were reduced (nothing was written)");
        goto done;
    }
    /* 1. channel names → global ids */
    if (ops->stats_channels(state, &my, &n_my) != ATTRIB_OK ||
        names_blob(my, n_my, &mine_names, &n_mine) != ATTRIB_OK) {
        fail = 1;
        what = "listing the model's channels";
        n_mine = 0;
    }
    rc = r->gather_all(mine_names, n_mine, (void **)&all_names, &n_all, r->payload);
    if (rc != ATTRIB_OK) {
        rc = attrib__error(ctx, rc, "gathering the job's channel names failed");
        goto done;
    }
    if (!fail && (names_split(all_names, n_all, &names, &n_names) != ATTRIB_OK ||
                  names_map(my, n_my, names, n_names, &global) != ATTRIB_OK)) {
        fail = 1;
        what = "agreeing on channel ids";
    }
    /* 2. this worker's statistics under global ids → the job's key space */
    if (!fail && (ops->stats_export(state, global, &local) != ATTRIB_OK ||
                  keys_blob(&local, &mine_keys, &bytes) != ATTRIB_OK)) {
        fail = 1;
        what = "exporting the model's statistics";
    }
    if ((rc = check(ctx, r, fail, &any)) != ATTRIB_OK)
        goto done;
    if (any)
        goto failed;
    rc = r->gather_all(mine_keys, bytes, (void **)&all_keys, &n_all, r->payload);
    if (rc != ATTRIB_OK) {
        rc = attrib__error(ctx, rc, "gathering the job's statistics keys failed");
        goto done;
    }
    if (keys_split(all_keys, n_all / sizeof(*all_keys), &keys, &n_keys) != ATTRIB_OK ||
        n_keys > (SIZE_MAX - 1) / LANES / sizeof(*lanes) ||
        (lanes = calloc(n_keys * LANES + 1, sizeof(*lanes))) == NULL) {
        fail = 1;
        what = "building the job's statistics";
    }
    n_lanes = fail ? 0 : n_keys * LANES;
    /* 3. the values over that space, summed */
    for (size_t i = 0; !fail && i < attrib__stats_count(&local); i++) {
        size_t len = 0;
        const uint32_t *k = attrib__stats_key(&local, i, &len);
        uint32_t rec[1 + 64], *probe = rec;
        if (len + 1 > sizeof(rec) / sizeof(rec[0]) &&
            (probe = malloc((len + 1) * sizeof(*probe))) == NULL) {
            fail = 1;
            what = "building the job's statistics";
            break;
        }
        probe[0] = (uint32_t)len;
        memcpy(probe + 1, k, len * sizeof(*k));
        const uint32_t **at = bsearch(&probe, keys, n_keys, sizeof(*keys), cmp_keyp);
        assert(at != NULL); /* every worker's keys are in the union */
        to_lanes(attrib__stats_value(&local, i), lanes + (size_t)(at - keys) * LANES);
        if (probe != rec)
            free(probe);
    }
    if ((rc = check(ctx, r, fail, &any)) != ATTRIB_OK)
        goto done;
    if (any)
        goto failed;
    rc = r->sum_all(lanes, n_lanes, r->payload);
    if (rc != ATTRIB_OK) {
        rc = attrib__error(ctx, rc, "summing the job's statistics failed");
        goto done;
    }
    /* 4. the model takes the sums */
    sum.names = names;
    sum.n_names = n_names;
    for (size_t i = 0; i < n_keys; i++) {
        attrib__stat v = from_lanes(lanes + i * LANES);
        if (attrib__stats_add(&sum, keys[i] + 1, keys[i][0], &v) != ATTRIB_OK) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory importing the statistics");
            goto done;
        }
    }
    rc = ops->stats_import(state, &sum);
    if (rc != ATTRIB_OK)
        rc = attrib__error(ctx, rc, "model %s could not take the job's statistics", ops->name);
    goto done;
failed:
    if (fail)
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory %s", what);
    else
        rc = attrib__error(ctx, ATTRIB_ERROR,
                           "another worker of the job failed reducing the model's statistics "
                           "(nothing was written)");
done:
    attrib__stats_free(&local);
    attrib__stats_free(&sum);
    free(lanes);
    free(keys);
    free(all_keys);
    free(mine_keys);
    free(global);
    free(names);
    free(all_names);
    free(mine_names);
    return attrib__leave(ctx, rc);
}
