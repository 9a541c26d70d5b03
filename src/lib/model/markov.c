/*
 * markov: the absorbing Markov chain of Anderl et al. over channel states,
 * with exact removal effects (see include/attrib/markov.h for the model).
 *
 * observe() counts transitions between states (integer counts, and revenue
 * per conversion step as an order-independent xsum), so the statistics do
 * not depend on the order of the paths. finish() renumbers channels by name
 * and states by their channel tuples, builds the matrix in that order and
 * solves it single-threaded:
 *   order 1 (at most LU_MAX transient states): one inverse N = (I − Q)^-1 by
 *     LU with partial pivoting and two refinement steps; with b = N r,
 *     RE_c = N_sc b_c / (N_cc b_s).
 *   otherwise: for each channel one Gauss-Seidel solve of the chain with the
 *     states containing the channel removed, to an absolute change below
 *     1e-15 of the reward scale; RE_c = 1 − x_s(without c) / x_s.
 * A journey's credit goes to its sessions in proportion to their channel's
 * share of the removal effects (equal split when they are all 0).
 */
#include "attrib/markov.h"

#include "lib/core/ctx.h"
#include "lib/model/linsolve.h"
#include "lib/model/chan.h"
#include "lib/model/models.h"
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

typedef struct {
    uint64_t key; /* from << 32 | to, 0 = empty (from=START,to=START never occurs) */
    uint64_t count;
} tslot;

typedef struct {
    int order;
    bool value;
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
    bool finished;
    /* after finish */
    attrib_markov_info info;
    char **state_names;
    attrib_markov_transition *transitions;
    double *removal, *share;
    /* after bind */
    double *weight; /* per channel table index */
    size_t n_table;
} markov_state;

static void markov_free(void *p)
{
    markov_state *s = p;
    if (s == NULL)
        return;
    attrib__chan_free(&s->cm);
    attrib_strmap_free(&s->states);
    free(s->tuple_len);
    free(s->conv_value);
    free(s->trans);
    free(s->seq);
    if (s->state_names != NULL)
        for (size_t i = 0; i < s->info.n_states; i++)
            free(s->state_names[i]);
    free(s->state_names);
    free(s->transitions);
    free(s->removal);
    free(s->share);
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

static int count_step(markov_state *s, uint32_t from, uint32_t to)
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
    s->trans[h].count++;
    return ATTRIB_OK;
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

static int markov_observe(void *state, const attrib_path *p, const attrib_channels *channels)
{
    markov_state *s = state;
    if (p->n == 0)
        return ATTRIB_OK;
    if (p->n > s->seq_cap) {
        uint32_t *q = realloc(s->seq, p->n * sizeof(*q));
        if (q == NULL)
            return ATTRIB_ENOMEM;
        s->seq = q;
        s->seq_cap = p->n;
    }
    size_t n = 0;
    for (size_t k = 0; k < p->n; k++) {
        uint32_t c = attrib__chan_local(&s->cm, channels, p->sessions[k].channel);
        if (c == ATTRIB_CHAN_NONE)
            return ATTRIB_ENOMEM;
        if (n == 0 || s->seq[n - 1] != c)
            s->seq[n++] = c;
    }
    uint32_t prev = S_START;
    for (size_t i = 0; i < n; i++) {
        size_t from = i + 1 >= (size_t)s->order ? i + 1 - (size_t)s->order : 0;
        int64_t st = state_of(s, s->seq + from, i + 1 - from);
        if (st < 0 || count_step(s, prev, (uint32_t)st) != ATTRIB_OK)
            return ATTRIB_ENOMEM;
        prev = (uint32_t)st;
    }
    if (count_step(s, prev, p->converted ? S_CONV : S_NULL) != ATTRIB_OK)
        return ATTRIB_ENOMEM;
    if (p->converted) {
        if (s->value && !isfinite(p->value))
            return ATTRIB_EDATA;
        attrib_xsum_add(&s->conv_value[prev], p->value);
        s->conversions++;
    }
    s->paths++;
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
    double *r;               /* one-step reward (probability or revenue) */
    unsigned char *contains; /* [c * t + i]: state i contains channel c */
    uint32_t *last;          /* last channel of state i (start: NONE) */
} chain;

static void chain_free(chain *c)
{
    free(c->row);
    free(c->col);
    free(c->val);
    free(c->r);
    free(c->contains);
    free(c->last);
}

/* Removal effects by one inverse (order 1). */
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
    if (a == NULL || n == NULL || e == NULL || x == NULL || b == NULL) {
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
    if (rc != ATTRIB_OK) {
        rc = attrib__error(ctx, rc, "out of memory solving the Markov chain");
        goto done;
    }
    worst = res > worst ? res : worst;
    s->info.residual = worst;
    s->info.p_conversion = b[0];
    for (size_t i = 1; i < t; i++) {
        uint32_t ch = c->last[i];
        double re = b[0] > 0 ? n[0 * t + i] * b[i] / (n[i * t + i] * b[0]) : 0;
        s->removal[ch] = re < 0 ? 0 : re > 1 ? 1 : re;
    }
done:
    attrib__lu_free(&f);
    free(a);
    free(n);
    free(e);
    free(x);
    free(b);
    return rc;
}

/* Removal effects by re-solving without each channel (order k). */
static int solve_removal(markov_state *s, const chain *c, attrib_ctx *ctx)
{
    size_t t = c->t, nc = s->cm.n;
    int rc = ATTRIB_OK;
    unsigned char *keep = malloc(t + 1);
    double *x = malloc((t + 1) * sizeof(*x));
    if (keep == NULL || x == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory solving the Markov chain");
        goto done;
    }
    double scale = 0, res = 0;
    for (size_t i = 0; i < t; i++)
        scale = c->r[i] > scale ? c->r[i] : scale;
    double tol = 1e-15 * (scale > 0 ? scale : 1);
    attrib__csr q = {.n = t, .row = c->row, .col = c->col, .val = c->val};
    memset(keep, 1, t);
    rc = attrib__gauss_seidel(&q, c->r, keep, tol, GS_MAX_SWEEPS, x, &res);
    double p = x[0];
    s->info.residual = res;
    s->info.p_conversion = p;
    for (size_t ch = 0; ch < nc && rc == ATTRIB_OK; ch++) {
        for (size_t i = 0; i < t; i++)
            keep[i] = !c->contains[ch * t + i];
        rc = attrib__gauss_seidel(&q, c->r, keep, tol, GS_MAX_SWEEPS, x, &res);
        s->info.residual = res > s->info.residual ? res : s->info.residual;
        double re = p > 0 ? 1 - x[0] / p : 0;
        s->removal[ch] = re < 0 ? 0 : re > 1 ? 1 : re;
    }
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
    c->row = calloc(c->t + 2, sizeof(*c->row));
    c->col = malloc((s->trans_count + 1) * sizeof(*c->col));
    c->val = malloc((s->trans_count + 1) * sizeof(*c->val));
    if (c->r == NULL || c->row == NULL || c->col == NULL || c->val == NULL)
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
        if (s->value) /* expected revenue of the next step */
            c->r[from] = attrib_xsum_value(&s->conv_value[local]) / (double)total;
    }
    size_t e = 0;
    for (size_t i = 0; i < nt; i++) {
        const attrib_markov_transition *tr = &s->transitions[i];
        if (tr->to == m + 1 && !s->value)
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

static int markov_finish(void *state, attrib_ctx *ctx)
{
    markov_state *s = state;
    int rc = ATTRIB_OK;
    size_t m = s->states.count, ns = m + 3;
    uint32_t *order = NULL, *canon = NULL;
    chain c = {0};
    if (attrib__chan_finish(&s->cm) != ATTRIB_OK)
        goto oom;
    size_t nc = s->cm.n;
    order = malloc((m + 1) * sizeof(*order));
    canon = malloc((ns + 1) * sizeof(*canon));
    s->state_names = calloc(ns, sizeof(*s->state_names));
    s->transitions = malloc((s->trans_count + 1) * sizeof(*s->transitions));
    s->removal = calloc(nc + 1, sizeof(*s->removal));
    s->share = calloc(nc + 1, sizeof(*s->share));
    if (order == NULL || canon == NULL || s->state_names == NULL || s->transitions == NULL ||
        s->removal == NULL || s->share == NULL)
        goto oom;
    s->info.n_states = ns;
    if (canon_states(s, order, canon, &c) != ATTRIB_OK ||
        build_chain(s, order, canon, &c) != ATTRIB_OK)
        goto oom;
    s->info.order = s->order;
    s->info.value = s->value;
    s->info.states = (const char *const *)s->state_names;
    s->info.transitions = s->transitions;
    s->info.n_channels = nc;
    s->info.channels = s->cm.sorted;
    s->info.removal = s->removal;
    s->info.share = s->share;
    s->info.paths = s->paths;
    s->info.conversions = s->conversions;
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
    double sum = 0;
    for (size_t ch = 0; ch < nc; ch++)
        sum += s->removal[ch];
    for (size_t ch = 0; ch < nc; ch++)
        s->share[ch] = sum > 0 ? s->removal[ch] / sum : 0;
    s->finished = true;
    goto done;
oom:
    rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory building the Markov chain");
done:
    chain_free(&c);
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
        w[i] = map[i] == ATTRIB_CHAN_NONE || s->share == NULL ? 0 : s->share[map[i]];
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
    .finish = markov_finish,
    .bind = markov_bind,
    .attribute = markov_attribute,
    .free = markov_free,
};
