/*
 * markov: the absorbing Markov chain of Anderl et al. over channel states,
 * with exact removal effects (see include/attrib/markov.h for the model).
 *
 * observe() counts transitions between states (integer counts, and revenue
 * per conversion step as an order-independent xsum), so the statistics do
 * not depend on the order of the paths. finish() renumbers channels by name
 * and states by their channel tuples, builds the matrix in that order and
 * solves it single-threaded, for both rewards (conversion probability and
 * revenue):
 *   order 1 (at most LU_MAX transient states): one inverse N = (I − Q)^-1 by
 *     LU with partial pivoting and two refinement steps; with b = N r,
 *     RE_c = N_sc b_c / (N_cc b_s).
 *   otherwise: for each channel one Gauss-Seidel solve of the chain with the
 *     states containing the channel removed, to an absolute change below
 *     1e-15 of the reward scale; RE_c = 1 − x_s(without c) / x_s.
 * A journey's credit goes to its sessions in proportion to their channel's
 * weight (equal split when they are all 0): its removal-effect share
 * (`journey`), or weights fitted on the journeys of the fitted conversions so
 * that the channel totals equal the standard totals (`global`, calibrate()).
 * observe_journey() keeps those journeys as counted channel multisets.
 */
#include "attrib/markov.h"

#include "lib/core/ctx.h"
#include "lib/model/linsolve.h"
#include "lib/model/chan.h"
#include "lib/model/models.h"
#include "lib/model/stats.h"
#include "util/xsum.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LU_MAX 512 /* transient states for the one-inverse method */
#define GS_MAX_SWEEPS 200000
#define MAX_ORDER 8
#define S_START 0u /* local state ids: 0, 1, 2 special, 3 + tuple index */
#define S_CONV 1u
#define S_NULL 2u
#define CAL_MAX_ITER 20000 /* calibration sweeps (global credit) */
#define CAL_TOL 1e-13      /* calibration stops at max |T_c − S_c| / Σ S below this */

typedef struct {
    uint64_t key; /* from << 32 | to, 0 = empty (from=START,to=START never occurs) */
    uint64_t count;
} tslot;

typedef struct {
    int order;
    bool value;
    attrib_markov_states mode;
    attrib_markov_credit credit;
    attrib__chanmap cm;
    attrib_strmap states;    /* tuple of local channel ids (bytes) → tuple index */
    uint8_t *tuple_len;      /* per tuple index */
    attrib_xsum *conv_value; /* per local state id: revenue of conversions from it */
    size_t cap_states;
    tslot *trans; /* open addressing */
    size_t trans_cap, trans_count;
    uint32_t *seq; /* scratch: collapsed path */
    size_t seq_cap;
    uint64_t paths, conversions;
    attrib_xsum revenue;
    /* journeys of the fitted conversions: channel multisets (pairs of local id, count,
     * sorted by id, as bytes) → index, with their number and revenue */
    attrib_strmap groups;
    uint64_t *gcount;
    uint32_t *glen; /* pairs per group */
    attrib_xsum *grev;
    size_t gcap;
    uint32_t *gkey;
    size_t gkey_cap;
    uint64_t journeys;
    attrib_xsum journey_rev;
    bool finished;
    /* after finish; removal/share point into the arrays of the chosen reward */
    attrib_markov_info info;
    char **state_names;
    attrib_markov_transition *transitions;
    const double *removal, *share;
    double *per_channel; /* 9 arrays of n channels, below */
    double *re_conv, *sh_conv, *std_conv, *re_rev, *sh_rev, *std_rev, *w, *attr_conv, *attr_rev;
    /* after bind */
    double *weight; /* per channel table index */
    size_t n_table;
} markov_state;

/* Forget the statistics observed so far (freed, zeroed). */
static void markov_reset_stats(markov_state *s)
{
    attrib_strmap_free(&s->states);
    free(s->tuple_len);
    free(s->conv_value);
    free(s->trans);
    attrib_strmap_free(&s->groups);
    free(s->gcount);
    free(s->glen);
    free(s->grev);
    s->tuple_len = NULL;
    s->conv_value = NULL;
    s->trans = NULL;
    s->gcount = NULL;
    s->glen = NULL;
    s->grev = NULL;
    s->cap_states = s->trans_cap = s->trans_count = s->gcap = 0;
    s->paths = s->conversions = s->journeys = 0;
    s->revenue = (attrib_xsum)ATTRIB_XSUM_INIT;
    s->journey_rev = (attrib_xsum)ATTRIB_XSUM_INIT;
}

static void markov_free(void *p)
{
    markov_state *s = p;
    if (s == NULL)
        return;
    attrib__chan_free(&s->cm);
    markov_reset_stats(s);
    free(s->seq);
    if (s->state_names != NULL)
        for (size_t i = 0; i < s->info.n_states; i++)
            free(s->state_names[i]);
    free(s->state_names);
    free(s->transitions);
    free(s->per_channel);
    free(s->gkey);
    free(s->weight);
    free(s);
}

static int markov_create(attrib_ctx *ctx, const attrib_model_options *opts, void **out)
{
    if (opts->markov_order < 1 || opts->markov_order > MAX_ORDER)
        return attrib__error(ctx, ATTRIB_EINVAL, "markov order %d is not in 1..%d",
                             opts->markov_order, MAX_ORDER);
    markov_state *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    s->order = opts->markov_order;
    s->value = opts->markov_value;
    s->mode = opts->markov_states;
    s->credit = opts->markov_credit;
    s->revenue = (attrib_xsum)ATTRIB_XSUM_INIT;
    s->journey_rev = (attrib_xsum)ATTRIB_XSUM_INIT;
    *out = s;
    return ATTRIB_OK;
}

/* ---- statistics ---- */

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

static int trans_grow(markov_state *s)
{
    size_t cap = s->trans_cap == 0 ? 1024 : s->trans_cap * 2;
    tslot *t = calloc(cap, sizeof(*t));
    if (t == NULL)
        return ATTRIB_ENOMEM;
    for (size_t i = 0; i < s->trans_cap; i++) {
        if (s->trans[i].key == 0)
            continue;
        size_t h = mix(s->trans[i].key) & (cap - 1);
        while (t[h].key != 0)
            h = (h + 1) & (cap - 1);
        t[h] = s->trans[i];
    }
    free(s->trans);
    s->trans = t;
    s->trans_cap = cap;
    return ATTRIB_OK;
}

/* Add c to the count of the step from → to (local state ids). */
static int count_add(markov_state *s, uint32_t from, uint32_t to, uint64_t c)
{
    if (2 * (s->trans_count + 1) > s->trans_cap && trans_grow(s) != ATTRIB_OK)
        return ATTRIB_ENOMEM;
    uint64_t key = (uint64_t)from << 32 | to;
    size_t h = mix(key) & (s->trans_cap - 1);
    while (s->trans[h].key != 0 && s->trans[h].key != key)
        h = (h + 1) & (s->trans_cap - 1);
    if (s->trans[h].key == 0) {
        s->trans[h].key = key;
        s->trans_count++;
    }
    s->trans[h].count += c;
    return ATTRIB_OK;
}

static int count_step(markov_state *s, uint32_t from, uint32_t to)
{
    return count_add(s, from, to, 1);
}

/* Local state id of the tuple seq[0..len). */
static int64_t state_of(markov_state *s, const uint32_t *seq, size_t len)
{
    int added = 0;
    int64_t t = attrib_strmap_intern(&s->states, (const char *)seq, len * sizeof(*seq), &added);
    if (t < 0)
        return -1;
    size_t need = (size_t)t + 4;
    if (need > s->cap_states) {
        size_t cap = s->cap_states == 0 ? 64 : s->cap_states * 2;
        while (cap < need)
            cap *= 2;
        uint8_t *tl = realloc(s->tuple_len, cap * sizeof(*tl));
        if (tl == NULL)
            return -1;
        s->tuple_len = tl;
        attrib_xsum *cv = realloc(s->conv_value, cap * sizeof(*cv));
        if (cv == NULL)
            return -1;
        s->conv_value = cv;
        for (size_t i = s->cap_states; i < cap; i++)
            s->conv_value[i] = (attrib_xsum)ATTRIB_XSUM_INIT;
        s->cap_states = cap;
    }
    if (added)
        s->tuple_len[t] = (uint8_t)len;
    return t + 3;
}

/* The path's channels as local ids into s->seq[0..*n): raw, or with
 * consecutive repeats collapsed. */
static int local_seq(markov_state *s, const attrib_path *p, const attrib_channels *channels,
                     bool collapse, size_t *n)
{
    if (p->n > s->seq_cap) {
        uint32_t *q = realloc(s->seq, p->n * sizeof(*q));
        if (q == NULL)
            return ATTRIB_ENOMEM;
        s->seq = q;
        s->seq_cap = p->n;
    }
    size_t m = 0;
    for (size_t k = 0; k < p->n; k++) {
        uint32_t c = attrib__chan_local(&s->cm, channels, p->sessions[k].channel);
        if (c == ATTRIB_CHAN_NONE)
            return ATTRIB_ENOMEM;
        if (!collapse || m == 0 || s->seq[m - 1] != c)
            s->seq[m++] = c;
    }
    *n = m;
    return ATTRIB_OK;
}

static int markov_observe(void *state, const attrib_path *p, const attrib_channels *channels)
{
    markov_state *s = state;
    if (p->n == 0)
        return ATTRIB_OK;
    if (p->converted && s->value && !isfinite(p->value))
        return ATTRIB_EDATA;
    size_t n = 0, k = (size_t)s->order;
    bool window = s->mode == ATTRIB_MARKOV_STATES_WINDOW;
    if (local_seq(s, p, channels, !window, &n) != ATTRIB_OK)
        return ATTRIB_ENOMEM;
    uint32_t prev = S_START;
    if (window) {
        /* Windows of k raw touches (the whole path when shorter); a window equal to
         * the previous one is no new step (ChannelAttribution's encoding). */
        size_t windows = n <= k ? 1 : n - k + 1, len = n <= k ? n : k;
        for (size_t i = 0; i < windows; i++) {
            int64_t st = state_of(s, s->seq + i, len);
            if (st < 0)
                return ATTRIB_ENOMEM;
            if ((uint32_t)st != prev && count_step(s, prev, (uint32_t)st) != ATTRIB_OK)
                return ATTRIB_ENOMEM;
            prev = (uint32_t)st;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            size_t from = i + 1 >= k ? i + 1 - k : 0;
            int64_t st = state_of(s, s->seq + from, i + 1 - from);
            if (st < 0 || count_step(s, prev, (uint32_t)st) != ATTRIB_OK)
                return ATTRIB_ENOMEM;
            prev = (uint32_t)st;
        }
    }
    if (count_step(s, prev, p->converted ? S_CONV : S_NULL) != ATTRIB_OK)
        return ATTRIB_ENOMEM;
    if (p->converted) {
        if (isfinite(p->value)) {
            attrib_xsum_add(&s->conv_value[prev], p->value);
            attrib_xsum_add(&s->revenue, p->value);
        }
        s->conversions++;
    }
    s->paths++;
    return ATTRIB_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Sort ids[0..n) and write (id, count) pairs into key; returns the pairs. */
static size_t multiset(uint32_t *ids, size_t n, uint32_t *key)
{
    qsort(ids, n, sizeof(*ids), cmp_u32);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && key[2 * (m - 1)] == ids[i]) {
            key[2 * (m - 1) + 1]++;
        } else {
            key[2 * m] = ids[i];
            key[2 * m + 1] = 1;
            m++;
        }
    }
    return m;
}

/* The index of the journey group with the pairs key[0..2m) (new: count 0), or
 * -1 when out of memory. */
static int64_t group_of(markov_state *s, const uint32_t *key, size_t m)
{
    int added = 0;
    int64_t g = attrib_strmap_intern(&s->groups, (const char *)key, 2 * m * sizeof(*key), &added);
    if (g < 0)
        return -1;
    if ((size_t)g >= s->gcap) {
        size_t cap = s->gcap == 0 ? 256 : s->gcap * 2;
        uint64_t *c = realloc(s->gcount, cap * sizeof(*c));
        if (c == NULL)
            return -1;
        s->gcount = c;
        attrib_xsum *r = realloc(s->grev, cap * sizeof(*r));
        if (r == NULL)
            return -1;
        s->grev = r;
        uint32_t *l = realloc(s->glen, cap * sizeof(*l));
        if (l == NULL)
            return -1;
        s->glen = l;
        s->gcap = cap;
    }
    if (added) {
        s->glen[g] = (uint32_t)m;
        s->gcount[g] = 0;
        s->grev[g] = (attrib_xsum)ATTRIB_XSUM_INIT;
    }
    return g;
}

static int markov_observe_journey(void *state, const attrib_path *p,
                                  const attrib_channels *channels)
{
    markov_state *s = state;
    size_t n = 0;
    if (p->n == 0)
        return ATTRIB_OK;
    if (local_seq(s, p, channels, false, &n) != ATTRIB_OK)
        return ATTRIB_ENOMEM;
    if (2 * n > s->gkey_cap) {
        uint32_t *k = realloc(s->gkey, 2 * n * sizeof(*k));
        if (k == NULL)
            return ATTRIB_ENOMEM;
        s->gkey = k;
        s->gkey_cap = 2 * n;
    }
    size_t m = multiset(s->seq, n, s->gkey);
    int64_t g = group_of(s, s->gkey, m);
    if (g < 0)
        return ATTRIB_ENOMEM;
    s->gcount[g]++;
    double v = isfinite(p->value) ? p->value : 0;
    attrib_xsum_add(&s->grev[g], v);
    attrib_xsum_add(&s->journey_rev, v);
    s->journeys++;
    return ATTRIB_OK;
}

/* ---- statistics across workers (lib/model/stats.h) ----
 * Keys, in channel ids:  [K_TOTALS]            paths, conversions; revenue
 *                        [K_JOURNEYS]          journeys; their revenue
 *                        [K_STEP, from_len, from.., to_kind, to_len, to..] count
 *                              (from_len 0: the start; to_kind: T_TUPLE, T_CONV, T_NULL)
 *                        [K_STATE, len, tuple..] revenue of conversions from it
 *                        [K_GROUP, (id, count)..] journeys and their revenue */
enum { K_TOTALS, K_JOURNEYS, K_STEP, K_STATE, K_GROUP };
enum { T_TUPLE, T_CONV, T_NULL };

static int markov_stats_channels(const void *state, const char *const **names, size_t *n)
{
    const markov_state *s = state;
    *names = s->cm.names.keys;
    *n = s->cm.names.count;
    return ATTRIB_OK;
}

/* The tuple of local state id `st` (>= 3) mapped through global into key at `at`:
 * its length, then its ids. Returns the words written. */
static size_t put_tuple(const markov_state *s, uint32_t st, const uint32_t *global, uint32_t *key)
{
    size_t t = st - 3, len = s->tuple_len[t];
    const uint32_t *ids = (const uint32_t *)(const void *)s->states.keys[t];
    key[0] = (uint32_t)len;
    for (size_t i = 0; i < len; i++)
        key[1 + i] = global[ids[i]];
    return 1 + len;
}

static int markov_stats_export(const void *state, const uint32_t *global, attrib_model_stats *out)
{
    const markov_state *s = state;
    uint32_t *key = NULL;
    size_t cap = 2 * (size_t)MAX_ORDER + 8;
    for (size_t g = 0; g < s->groups.count; g++)
        cap = 2 * (size_t)s->glen[g] + 1 > cap ? 2 * (size_t)s->glen[g] + 1 : cap;
    if ((key = malloc(cap * sizeof(*key))) == NULL)
        return ATTRIB_ENOMEM;
    int rc = ATTRIB_OK;
    attrib__stat v = {{s->paths, s->conversions}, s->revenue};
    key[0] = K_TOTALS;
    rc = attrib__stats_add(out, key, 1, &v);
    v = (attrib__stat){{s->journeys, 0}, s->journey_rev};
    key[0] = K_JOURNEYS;
    if (rc == ATTRIB_OK)
        rc = attrib__stats_add(out, key, 1, &v);
    for (size_t i = 0; rc == ATTRIB_OK && i < s->trans_cap; i++) {
        if (s->trans[i].key == 0)
            continue;
        uint32_t from = (uint32_t)(s->trans[i].key >> 32), to = (uint32_t)s->trans[i].key;
        size_t n = 0;
        key[n++] = K_STEP;
        if (from == S_START)
            key[n++] = 0;
        else
            n += put_tuple(s, from, global, key + n);
        key[n++] = to == S_CONV ? T_CONV : to == S_NULL ? T_NULL : T_TUPLE;
        if (to == S_CONV || to == S_NULL)
            key[n++] = 0;
        else
            n += put_tuple(s, to, global, key + n);
        v = (attrib__stat){{s->trans[i].count, 0}, ATTRIB_XSUM_INIT};
        rc = attrib__stats_add(out, key, n, &v);
    }
    for (size_t t = 0; rc == ATTRIB_OK && t < s->states.count; t++) {
        key[0] = K_STATE;
        size_t n = 1 + put_tuple(s, (uint32_t)t + 3, global, key + 1);
        v = (attrib__stat){{0, 0}, s->conv_value[t + 3]};
        rc = attrib__stats_add(out, key, n, &v);
    }
    for (size_t g = 0; rc == ATTRIB_OK && g < s->groups.count; g++) {
        const uint32_t *pairs = (const uint32_t *)(const void *)s->groups.keys[g];
        size_t m = s->glen[g];
        key[0] = K_GROUP;
        for (size_t i = 0; i < m; i++) {
            key[1 + 2 * i] = global[pairs[2 * i]];
            key[2 + 2 * i] = pairs[2 * i + 1];
        }
        qsort(key + 1, m, 2 * sizeof(*key), cmp_u32); /* pairs by global id */
        v = (attrib__stat){{s->gcount[g], 0}, s->grev[g]};
        rc = attrib__stats_add(out, key, 1 + 2 * m, &v);
    }
    free(key);
    return rc;
}

/* Local state id of the tuple key[1..1+key[0]) (key[0] = 0: the start), or -1. */
static int64_t take_tuple(markov_state *s, const uint32_t *key, size_t n, size_t *used)
{
    if (n < 1 || key[0] > n - 1 || key[0] > (uint32_t)s->order)
        return -1;
    *used = 1 + key[0];
    return key[0] == 0 ? (int64_t)S_START : state_of(s, key + 1, key[0]);
}

static int markov_stats_import(void *state, const attrib_model_stats *in)
{
    markov_state *s = state;
    size_t n_names = 0;
    const char *const *names = attrib__stats_names(in, &n_names);
    markov_reset_stats(s);
    if (attrib__chan_reset(&s->cm, names, n_names) != ATTRIB_OK)
        return ATTRIB_ENOMEM;
    for (size_t i = 0; i < attrib__stats_count(in); i++) {
        size_t n = 0, a = 0, b = 0;
        const uint32_t *key = attrib__stats_key(in, i, &n);
        const attrib__stat *v = attrib__stats_value(in, i);
        if (n == 0)
            return ATTRIB_EINVAL;
        int64_t from, to, g;
        switch (key[0]) {
        case K_TOTALS:
            s->paths += v->count[0];
            s->conversions += v->count[1];
            attrib_xsum_merge(&s->revenue, &v->sum);
            break;
        case K_JOURNEYS:
            s->journeys += v->count[0];
            attrib_xsum_merge(&s->journey_rev, &v->sum);
            break;
        case K_STEP:
            from = take_tuple(s, key + 1, n - 1, &a);
            if (from < 0 || 1 + a >= n)
                return ATTRIB_EINVAL;
            if (key[1 + a] == T_TUPLE)
                to = take_tuple(s, key + 2 + a, n - 2 - a, &b);
            else
                to = key[1 + a] == T_CONV   ? (int64_t)S_CONV
                     : key[1 + a] == T_NULL ? (int64_t)S_NULL
                                            : -1;
            if (to < 0 || count_add(s, (uint32_t)from, (uint32_t)to, v->count[0]) != ATTRIB_OK)
                return ATTRIB_ENOMEM;
            break;
        case K_STATE:
            from = take_tuple(s, key + 1, n - 1, &a);
            if (from < 3)
                return ATTRIB_EINVAL;
            attrib_xsum_merge(&s->conv_value[from], &v->sum);
            break;
        case K_GROUP:
            if ((n - 1) % 2 != 0 || (g = group_of(s, key + 1, (n - 1) / 2)) < 0)
                return ATTRIB_ENOMEM;
            s->gcount[g] += v->count[0];
            attrib_xsum_merge(&s->grev[g], &v->sum);
            break;
        default:
            return ATTRIB_EINVAL;
        }
    }
    return ATTRIB_OK;
}

/* ---- finish: canonical order ---- */

typedef struct {
    const markov_state *s;
    uint32_t *tuple; /* canonical channel ids, order entries per tuple index */
} sort_ctx;

static int cmp_tuple_r(const void *a, const void *b, void *payload)
{
    const sort_ctx *c = payload;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    size_t k = (size_t)c->s->order;
    size_t lx = c->s->tuple_len[x], ly = c->s->tuple_len[y];
    const uint32_t *tx = c->tuple + x * k, *ty = c->tuple + y * k;
    for (size_t i = 0; i < lx && i < ly; i++)
        if (tx[i] != ty[i])
            return tx[i] < ty[i] ? -1 : 1;
    return lx < ly ? -1 : lx > ly ? 1 : 0;
}

static int cmp_trans(const void *a, const void *b)
{
    const attrib_markov_transition *x = a, *y = b;
    if (x->from != y->from)
        return x->from < y->from ? -1 : 1;
    return x->to < y->to ? -1 : x->to > y->to ? 1 : 0;
}

/* Name of a tuple state: channel names joined by " > ". */
static char *tuple_name(const markov_state *s, const uint32_t *t, size_t len)
{
    size_t total = 1;
    for (size_t i = 0; i < len; i++)
        total += strlen(s->cm.sorted[t[i]]) + 3;
    char *out = malloc(total);
    if (out == NULL)
        return NULL;
    size_t at = 0;
    for (size_t i = 0; i < len; i++) {
        if (i > 0) {
            memcpy(out + at, " > ", 3);
            at += 3;
        }
        size_t l = strlen(s->cm.sorted[t[i]]);
        memcpy(out + at, s->cm.sorted[t[i]], l);
        at += l;
    }
    out[at] = '\0';
    return out;
}

typedef struct {
    size_t t;    /* transient states: 0 .. t-1 (start + tuples) */
    size_t *row; /* CSR of Q over transient states */
    uint32_t *col;
    double *val;
    double *r;               /* one-step reward: probability of converting next */
    double *rv;              /* one-step reward: expected revenue of the next step */
    unsigned char *contains; /* [c * t + i]: state i contains channel c */
    uint32_t *last;          /* last channel of state i (start: NONE) */
} chain;

static void chain_free(chain *c)
{
    free(c->row);
    free(c->col);
    free(c->val);
    free(c->r);
    free(c->rv);
    free(c->contains);
    free(c->last);
}

static double clamp01(double x)
{
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

/* Removal effects by one inverse (order 1), for both rewards. */
static int solve_inverse(markov_state *s, const chain *c, attrib_ctx *ctx)
{
    size_t t = c->t;
    int rc = ATTRIB_OK;
    attrib__lu f = {0};
    double *a = calloc(t * t + 1, sizeof(*a));
    double *n = malloc((t * t + 1) * sizeof(*n));
    double *e = calloc(t + 1, sizeof(*e));
    double *x = malloc((t + 1) * sizeof(*x));
    double *b = malloc((t + 1) * sizeof(*b));
    double *bv = malloc((t + 1) * sizeof(*bv));
    if (a == NULL || n == NULL || e == NULL || x == NULL || b == NULL || bv == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory solving the Markov chain");
        goto done;
    }
    for (size_t i = 0; i < t; i++) {
        a[i * t + i] = 1;
        for (size_t k = c->row[i]; k < c->row[i + 1]; k++)
            a[i * t + c->col[k]] -= c->val[k];
    }
    rc = attrib__lu_factor(&f, a, t);
    if (rc != ATTRIB_OK) {
        rc = attrib__error(ctx, rc, "the Markov chain's I - Q is singular");
        goto done;
    }
    double worst = 0, res = 0;
    for (size_t j = 0; j < t && rc == ATTRIB_OK; j++) {
        e[j] = 1;
        rc = attrib__lu_solve(&f, a, e, x, &res);
        e[j] = 0;
        worst = res > worst ? res : worst;
        for (size_t i = 0; i < t; i++)
            n[i * t + j] = x[i];
    }
    if (rc == ATTRIB_OK)
        rc = attrib__lu_solve(&f, a, c->r, b, &res);
    worst = res > worst ? res : worst;
    if (rc == ATTRIB_OK)
        rc = attrib__lu_solve(&f, a, c->rv, bv, &res);
    if (rc != ATTRIB_OK) {
        rc = attrib__error(ctx, rc, "out of memory solving the Markov chain");
        goto done;
    }
    worst = res > worst ? res : worst;
    s->info.residual = worst;
    s->info.p_conversion = s->value ? bv[0] : b[0];
    for (size_t i = 1; i < t; i++) {
        uint32_t ch = c->last[i];
        double nn = n[0 * t + i] / n[i * t + i];
        s->re_conv[ch] = b[0] > 0 ? clamp01(nn * b[i] / b[0]) : 0;
        s->re_rev[ch] = bv[0] > 0 ? clamp01(nn * bv[i] / bv[0]) : 0;
    }
done:
    attrib__lu_free(&f);
    free(a);
    free(n);
    free(e);
    free(x);
    free(b);
    free(bv);
    return rc;
}

/* Removal effects by re-solving without each channel (order k), for the reward r into re[]. */
static int solve_removal_one(markov_state *s, const chain *c, const double *r, double *re,
                             unsigned char *keep, double *x, double *p_out)
{
    size_t t = c->t, nc = s->cm.n;
    double scale = 0, res = 0;
    for (size_t i = 0; i < t; i++)
        scale = r[i] > scale ? r[i] : scale;
    double tol = 1e-15 * (scale > 0 ? scale : 1);
    attrib__csr q = {.n = t, .row = c->row, .col = c->col, .val = c->val};
    memset(keep, 1, t);
    int rc = attrib__gauss_seidel(&q, r, keep, tol, GS_MAX_SWEEPS, x, &res);
    double p = x[0];
    s->info.residual = res > s->info.residual ? res : s->info.residual;
    *p_out = p;
    for (size_t ch = 0; ch < nc && rc == ATTRIB_OK; ch++) {
        for (size_t i = 0; i < t; i++)
            keep[i] = !c->contains[ch * t + i];
        rc = attrib__gauss_seidel(&q, r, keep, tol, GS_MAX_SWEEPS, x, &res);
        s->info.residual = res > s->info.residual ? res : s->info.residual;
        re[ch] = p > 0 ? clamp01(1 - x[0] / p) : 0;
    }
    return rc;
}

static int solve_removal(markov_state *s, const chain *c, attrib_ctx *ctx)
{
    int rc = ATTRIB_OK;
    unsigned char *keep = malloc(c->t + 1);
    double *x = malloc((c->t + 1) * sizeof(*x));
    double p = 0, pv = 0;
    if (keep == NULL || x == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory solving the Markov chain");
        goto done;
    }
    s->info.residual = 0;
    rc = solve_removal_one(s, c, c->r, s->re_conv, keep, x, &p);
    if (rc == ATTRIB_OK)
        rc = solve_removal_one(s, c, c->rv, s->re_rev, keep, x, &pv);
    s->info.p_conversion = s->value ? pv : p;
    if (rc != ATTRIB_OK)
        rc =
            attrib__error(ctx, rc, "the Markov chain did not converge in %d sweeps", GS_MAX_SWEEPS);
done:
    free(keep);
    free(x);
    return rc;
}

/* Sort the tuple states by their canonical channel tuples: order[r] = local
 * tuple index of canonical state r + 1, canon[local id] = canonical id. Also
 * the state names and, per transient state, its last channel and which
 * channels it contains. */
static int canon_states(markov_state *s, uint32_t *order, uint32_t *canon, chain *c)
{
    size_t k = (size_t)s->order, m = s->states.count, nc = s->cm.n;
    int rc = ATTRIB_OK;
    uint32_t *tuple = malloc((m * k + 1) * sizeof(*tuple));
    c->t = m + 1;
    c->last = malloc((c->t + 1) * sizeof(*c->last));
    c->contains = calloc(nc * c->t + 1, 1);
    if (tuple == NULL || c->last == NULL || c->contains == NULL) {
        rc = ATTRIB_ENOMEM;
        goto done;
    }
    for (size_t j = 0; j < m; j++) {
        uint32_t raw[MAX_ORDER];
        memcpy(raw, s->states.keys[j], s->tuple_len[j] * sizeof(uint32_t));
        for (size_t i = 0; i < s->tuple_len[j]; i++)
            tuple[j * k + i] = s->cm.canon[raw[i]];
        order[j] = (uint32_t)j;
    }
    sort_ctx sc = {s, tuple};
    qsort_r(order, m, sizeof(*order), cmp_tuple_r, &sc);
    /* canonical: 0 start, 1..m tuples, m+1 conversion, m+2 null */
    canon[S_START] = 0;
    canon[S_CONV] = (uint32_t)m + 1;
    canon[S_NULL] = (uint32_t)m + 2;
    if ((s->state_names[0] = strdup("(start)")) == NULL ||
        (s->state_names[m + 1] = strdup("(conversion)")) == NULL ||
        (s->state_names[m + 2] = strdup("(null)")) == NULL) {
        rc = ATTRIB_ENOMEM;
        goto done;
    }
    c->last[0] = ATTRIB_CHAN_NONE;
    for (size_t r = 0; r < m; r++) {
        uint32_t j = order[r];
        canon[j + 3] = (uint32_t)r + 1;
        const uint32_t *tj = tuple + (size_t)j * k;
        size_t len = s->tuple_len[j];
        if ((s->state_names[r + 1] = tuple_name(s, tj, len)) == NULL) {
            rc = ATTRIB_ENOMEM;
            goto done;
        }
        c->last[r + 1] = tj[len - 1];
        for (size_t i = 0; i < len; i++)
            c->contains[(size_t)tj[i] * c->t + r + 1] = 1;
    }
done:
    free(tuple);
    return rc;
}

/* The transitions in canonical (from, to) order with their probabilities,
 * the one-step rewards r and the transient block Q in compressed rows. */
static int build_chain(markov_state *s, const uint32_t *order, const uint32_t *canon, chain *c)
{
    size_t m = s->states.count, nt = 0;
    c->r = calloc(c->t + 1, sizeof(*c->r));
    c->rv = calloc(c->t + 1, sizeof(*c->rv));
    c->row = calloc(c->t + 2, sizeof(*c->row));
    c->col = malloc((s->trans_count + 1) * sizeof(*c->col));
    c->val = malloc((s->trans_count + 1) * sizeof(*c->val));
    if (c->r == NULL || c->rv == NULL || c->row == NULL || c->col == NULL || c->val == NULL)
        return ATTRIB_ENOMEM;
    for (size_t i = 0; i < s->trans_cap; i++) {
        if (s->trans[i].key == 0)
            continue;
        uint32_t from = (uint32_t)(s->trans[i].key >> 32), to = (uint32_t)s->trans[i].key;
        s->transitions[nt++] = (attrib_markov_transition){
            .from = canon[from], .to = canon[to], .count = s->trans[i].count};
    }
    qsort(s->transitions, nt, sizeof(*s->transitions), cmp_trans);
    for (size_t a = 0, b; a < nt; a = b) {
        uint64_t total = 0;
        for (b = a; b < nt && s->transitions[b].from == s->transitions[a].from; b++)
            total += s->transitions[b].count;
        for (size_t e = a; e < b; e++)
            s->transitions[e].probability = (double)s->transitions[e].count / (double)total;
        uint32_t from = s->transitions[a].from;
        size_t local = from == 0 ? S_START : (size_t)order[from - 1] + 3;
        c->rv[from] = attrib_xsum_value(&s->conv_value[local]) / (double)total;
    }
    size_t e = 0;
    for (size_t i = 0; i < nt; i++) {
        const attrib_markov_transition *tr = &s->transitions[i];
        if (tr->to == m + 1)
            c->r[tr->from] = tr->probability;
        if (tr->to <= m) {
            c->col[e] = tr->to;
            c->val[e] = tr->probability;
            e++;
            c->row[tr->from + 1] = e;
        }
    }
    for (size_t i = 1; i <= c->t; i++) /* rows without transient steps */
        if (c->row[i] < c->row[i - 1])
            c->row[i] = c->row[i - 1];
    s->info.n_transitions = nt;
    return ATTRIB_OK;
}

/* The journeys of the fitted conversions in canonical form: group g has the
 * pairs ch[off[g] .. off[g+1]) with multiplicities mult[], sorted by
 * canonical channel id; groups sorted by those pairs. */
typedef struct {
    size_t n;
    size_t *off;
    uint32_t *ch, *mult;
    double *count, *rev;
} jgroups;

static void jgroups_free(jgroups *g)
{
    free(g->off);
    free(g->ch);
    free(g->mult);
    free(g->count);
    free(g->rev);
}

typedef struct {
    const uint32_t *key; /* canonical pairs */
    size_t pairs;
    size_t g; /* local group index */
} gsort;

static int cmp_gsort(const void *a, const void *b)
{
    const gsort *x = a, *y = b;
    for (size_t i = 0; i < 2 * x->pairs && i < 2 * y->pairs; i++)
        if (x->key[i] != y->key[i])
            return x->key[i] < y->key[i] ? -1 : 1;
    return x->pairs < y->pairs ? -1 : x->pairs > y->pairs;
}

static int cmp_pair(const void *a, const void *b)
{
    return cmp_u32(a, b); /* the id is the first of the pair */
}

static int canon_groups(const markov_state *s, jgroups *out)
{
    size_t ng = s->groups.count, total = 0;
    for (size_t g = 0; g < ng; g++)
        total += s->glen[g];
    uint32_t *keys = malloc((2 * total + 1) * sizeof(*keys));
    gsort *order = malloc((ng + 1) * sizeof(*order));
    out->n = ng;
    out->off = malloc((ng + 1) * sizeof(*out->off));
    out->ch = malloc((total + 1) * sizeof(*out->ch));
    out->mult = malloc((total + 1) * sizeof(*out->mult));
    out->count = malloc((ng + 1) * sizeof(*out->count));
    out->rev = malloc((ng + 1) * sizeof(*out->rev));
    int rc = ATTRIB_OK;
    if (keys == NULL || order == NULL || out->off == NULL || out->ch == NULL || out->mult == NULL ||
        out->count == NULL || out->rev == NULL) {
        rc = ATTRIB_ENOMEM;
        goto done;
    }
    size_t at = 0;
    for (size_t g = 0; g < ng; g++) {
        size_t pairs = s->glen[g];
        uint32_t *k = keys + 2 * at;
        memcpy(k, s->groups.keys[g], pairs * 2 * sizeof(uint32_t));
        for (size_t i = 0; i < pairs; i++)
            k[2 * i] = s->cm.canon[k[2 * i]];
        qsort(k, pairs, 2 * sizeof(uint32_t), cmp_pair);
        order[g] = (gsort){k, pairs, g};
        at += pairs;
    }
    qsort(order, ng, sizeof(*order), cmp_gsort);
    at = 0;
    for (size_t r = 0; r < ng; r++) {
        out->off[r] = at;
        for (size_t i = 0; i < order[r].pairs; i++, at++) {
            out->ch[at] = order[r].key[2 * i];
            out->mult[at] = order[r].key[2 * i + 1];
        }
        out->count[r] = (double)s->gcount[order[r].g];
        out->rev[r] = attrib_xsum_value(&s->grev[order[r].g]);
    }
    out->off[ng] = at;
done:
    free(keys);
    free(order);
    return rc;
}

/* Σ per-session credit per channel over the groups with channel weights w
 * (a journey's credit in proportion to its sessions' weights, equal when all
 * are 0), counted (conv) and times revenue (rev). */
static void allocate(const jgroups *g, const double *w, size_t nc, double *conv, double *rev)
{
    memset(conv, 0, nc * sizeof(*conv));
    memset(rev, 0, nc * sizeof(*rev));
    for (size_t r = 0; r < g->n; r++) {
        double d = 0, n = 0;
        for (size_t i = g->off[r]; i < g->off[r + 1]; i++) {
            d += g->mult[i] * w[g->ch[i]];
            n += g->mult[i];
        }
        for (size_t i = g->off[r]; i < g->off[r + 1]; i++) {
            double f = d > 0 ? g->mult[i] * w[g->ch[i]] / d : g->mult[i] / n;
            conv[g->ch[i]] += g->count[r] * f;
            rev[g->ch[i]] += g->rev[r] * f;
        }
    }
}

/*
 * Global credit: channel weights b with which the per-session rule gives every
 * channel its standard total over the journeys (T_c(b) = S_c = share_c × W).
 * T_c(b) = Σ_g w_g m_gc b_c / Σ_i m_gi b_i is the expected "wins" of a Luce
 * choice model, so the fixed point is found by Zermelo's (MM) iteration
 * b_c ← b_c S_c / T_c, which increases the likelihood at every step and
 * converges whenever some split of every journey reaches the totals. When
 * none does (a channel's standard total needs conversions it never touched),
 * it stops at CAL_MAX_ITER with the remaining gap reported.
 */
static void calibrate(markov_state *s, const jgroups *g)
{
    size_t nc = s->cm.n;
    const double *share = s->value ? s->sh_rev : s->sh_conv;
    double total = s->value ? attrib_xsum_value(&s->journey_rev) : (double)s->journeys;
    double *t = s->value ? s->attr_rev : s->attr_conv;
    double ssum = 0;
    for (size_t c = 0; c < nc; c++) {
        s->w[c] = share[c];
        ssum += share[c];
    }
    s->info.calibration_gap = 0;
    s->info.calibration_iterations = 0;
    if (!(ssum > 0) || !(total > 0))
        return;
    double checkpoint = INFINITY;
    for (unsigned it = 0;; it++) {
        allocate(g, s->w, nc, s->attr_conv, s->attr_rev);
        double gap = 0;
        for (size_t c = 0; c < nc; c++) {
            double d = fabs(t[c] - share[c] * total) / total;
            gap = d > gap ? d : gap;
        }
        s->info.calibration_gap = gap;
        s->info.calibration_iterations = it;
        if (gap <= CAL_TOL || it == CAL_MAX_ITER)
            return;
        /* Unreachable totals: the gap stops shrinking; stop when 1000 sweeps did not halve it. */
        if (it % 1000 == 0) {
            if (gap > 0.5 * checkpoint)
                return;
            checkpoint = gap;
        }
        double bsum = 0;
        for (size_t c = 0; c < nc; c++) {
            if (t[c] > 0)
                s->w[c] *= share[c] * total / t[c];
            bsum += s->w[c];
        }
        for (size_t c = 0; c < nc && bsum > 0; c++)
            s->w[c] /= bsum;
    }
}

static int markov_finish(void *state, attrib_ctx *ctx)
{
    markov_state *s = state;
    int rc = ATTRIB_OK;
    size_t m = s->states.count, ns = m + 3;
    uint32_t *order = NULL, *canon = NULL;
    chain c = {0};
    jgroups g = {0};
    if (attrib__chan_finish(&s->cm) != ATTRIB_OK)
        goto oom;
    size_t nc = s->cm.n;
    order = malloc((m + 1) * sizeof(*order));
    canon = malloc((ns + 1) * sizeof(*canon));
    s->state_names = calloc(ns, sizeof(*s->state_names));
    s->transitions = malloc((s->trans_count + 1) * sizeof(*s->transitions));
    s->per_channel = calloc(9 * nc + 1, sizeof(*s->per_channel));
    if (order == NULL || canon == NULL || s->state_names == NULL || s->transitions == NULL ||
        s->per_channel == NULL)
        goto oom;
    double **arrays[] = {&s->re_conv, &s->sh_conv, &s->std_conv,  &s->re_rev,  &s->sh_rev,
                         &s->std_rev, &s->w,       &s->attr_conv, &s->attr_rev};
    for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++)
        *arrays[i] = s->per_channel + i * nc;
    s->info.n_states = ns;
    if (canon_states(s, order, canon, &c) != ATTRIB_OK ||
        build_chain(s, order, canon, &c) != ATTRIB_OK || canon_groups(s, &g) != ATTRIB_OK)
        goto oom;
    if (m == 0) {
        s->info.method = "none";
    } else if (s->order == 1 && c.t <= LU_MAX) {
        s->info.method = "lu";
        rc = solve_inverse(s, &c, ctx);
    } else {
        s->info.method = "gauss-seidel";
        rc = solve_removal(s, &c, ctx);
    }
    if (rc != ATTRIB_OK)
        goto done;
    double sum = 0, sumv = 0, conv = (double)s->conversions;
    double rev = attrib_xsum_value(&s->revenue);
    for (size_t ch = 0; ch < nc; ch++) {
        sum += s->re_conv[ch];
        sumv += s->re_rev[ch];
    }
    for (size_t ch = 0; ch < nc; ch++) {
        s->sh_conv[ch] = sum > 0 ? s->re_conv[ch] / sum : 0;
        s->sh_rev[ch] = sumv > 0 ? s->re_rev[ch] / sumv : 0;
        s->std_conv[ch] = s->sh_conv[ch] * conv;
        s->std_rev[ch] = s->sh_rev[ch] * rev;
    }
    s->removal = s->value ? s->re_rev : s->re_conv;
    s->share = s->value ? s->sh_rev : s->sh_conv;
    if (s->credit == ATTRIB_MARKOV_CREDIT_GLOBAL) {
        calibrate(s, &g);
    } else {
        memcpy(s->w, s->share, nc * sizeof(*s->w));
        s->info.calibration_gap = 0;
        s->info.calibration_iterations = 0;
    }
    allocate(&g, s->w, nc, s->attr_conv, s->attr_rev);
    s->info = (attrib_markov_info){
        .order = s->order,
        .value = s->value,
        .states_mode = s->mode,
        .credit = s->credit,
        .n_states = ns,
        .states = (const char *const *)s->state_names,
        .n_transitions = s->info.n_transitions,
        .transitions = s->transitions,
        .n_channels = nc,
        .channels = s->cm.sorted,
        .removal = s->removal,
        .share = s->share,
        .p_conversion = s->info.p_conversion,
        .paths = s->paths,
        .conversions = s->conversions,
        .revenue = rev,
        .removal_conversions = s->re_conv,
        .share_conversions = s->sh_conv,
        .standard_conversions = s->std_conv,
        .removal_revenue = s->re_rev,
        .share_revenue = s->sh_rev,
        .standard_revenue = s->std_rev,
        .journeys = s->journeys,
        .journey_revenue = attrib_xsum_value(&s->journey_rev),
        .weight = s->w,
        .attributed_conversions = s->attr_conv,
        .attributed_revenue = s->attr_rev,
        .calibration_gap = s->info.calibration_gap,
        .calibration_iterations = s->info.calibration_iterations,
        .method = s->info.method,
        .residual = s->info.residual,
    };
    s->finished = true;
    goto done;
oom:
    rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory building the Markov chain");
done:
    chain_free(&c);
    jgroups_free(&g);
    free(order);
    free(canon);
    return rc;
}

static int markov_bind(void *state, attrib_ctx *ctx, const attrib_channels *channels)
{
    markov_state *s = state;
    uint32_t *map = NULL;
    if (attrib__chan_bind(&s->cm, channels, &map) != ATTRIB_OK)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    double *w = malloc((channels->count + 1) * sizeof(*w));
    if (w == NULL) {
        free(map);
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < channels->count; i++)
        w[i] = map[i] == ATTRIB_CHAN_NONE || s->w == NULL ? 0 : s->w[map[i]];
    free(map);
    free(s->weight);
    s->weight = w;
    s->n_table = channels->count;
    return ATTRIB_OK;
}

static int markov_attribute(const void *state, const attrib_journey *j, attrib_credit *out)
{
    const markov_state *s = state;
    double sum = 0;
    for (size_t k = 0; k < j->n; k++) {
        uint32_t ch = j->sessions[k].channel;
        if (ch >= s->n_table)
            return ATTRIB_EINVAL;
        out[k] = (attrib_credit){.ihc = s->weight[ch]};
        sum += s->weight[ch];
    }
    for (size_t k = 0; k < j->n; k++)
        out[k].ihc = sum > 0 ? out[k].ihc / sum : 1.0 / (double)j->n;
    return ATTRIB_OK;
}

const attrib_markov_info *attrib_markov_info_of(const attrib_model *m)
{
    if (m == NULL || attrib_model_ops_of(m) != &attrib_model_markov)
        return NULL;
    const markov_state *s = attrib__model_state(m);
    return s->finished ? &s->info : NULL;
}

const attrib_model_ops attrib_model_markov = {
    .name = "markov",
    .summary = "absorbing Markov chain (order k), credit by exact removal effects",
    .flags = ATTRIB_MODEL_NEEDS_PATHS,
    .create = markov_create,
    .observe = markov_observe,
    .observe_journey = markov_observe_journey,
    .finish = markov_finish,
    .bind = markov_bind,
    .attribute = markov_attribute,
    .free = markov_free,
    .stats_channels = markov_stats_channels,
    .stats_export = markov_stats_export,
    .stats_import = markov_stats_import,
};
