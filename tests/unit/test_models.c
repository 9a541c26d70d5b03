/*
 * Unit tests of the attribution models: hand-worked journeys for every model
 * (the expected numbers are worked out in the comments), the invariants
 * (credit >= 0, sums to 1 per journey), the Shapley axioms, independence
 * from the order of paths and of the channel table, identical bits when
 * several threads attribute at once, and the statistics of workers that each
 * saw a share of the paths reduced into the one model's bits.
 */
#include "testutil.h"

#include "attrib/markov.h"
#include "attrib/model.h"
#include "lib/model/shapley.h"

#include <math.h>
#include <pthread.h>

/* Channel table: index = letter. */
static const char *const NAMES[] = {"A", "B", "C", "Direct Traffic", "E"};
static const attrib_channels CH = {NAMES, 5};
enum { A = 0, B = 1, C = 2, D = 3, E = 4 };

#define DAY 86400
#define MAXS 16

/* A journey of channels chs[0..n), one hour apart, converting an hour after. */
typedef struct {
    attrib_session s[MAXS];
    attrib_journey j;
} jr;

static void mk(jr *out, const int *chs, size_t n)
{
    memset(out, 0, sizeof(*out));
    for (size_t k = 0; k < n; k++)
        out->s[k] = (attrib_session){
            .id = "s", .ts = 1000000 + (int64_t)k * 3600, .channel = (uint32_t)chs[k]};
    out->j = (attrib_journey){.conv_id = "c",
                              .ts = 1000000 + (int64_t)n * 3600,
                              .revenue = 10,
                              .sessions = out->s,
                              .n = n};
}

/* A path of channels for observe(). */
static attrib_path path(jr *tmp, const int *chs, size_t n, bool conv, double value)
{
    mk(tmp, chs, n);
    return (attrib_path){.sessions = tmp->s, .n = n, .converted = conv, .value = value};
}

static attrib_model *make(const char *name, const attrib_model_options *o)
{
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    const attrib_model_ops *ops = attrib_model_find(name);
    if (ops == NULL)
        fail_msg("model %s not registered", name);
    attrib_model *m = NULL;
    int rc = attrib_model_new(ctx, ops, o, &m);
    if (rc != ATTRIB_OK)
        fail_msg("%s: %s", name, attrib_errmsg(ctx));
    attrib_ctx_free(ctx);
    return m;
}

static void ready(attrib_model *m, const attrib_channels *ch)
{
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    if (attrib_model_ops_of(m)->flags & ATTRIB_MODEL_NEEDS_PATHS)
        assert_int_equal(attrib_model_finish(m, ctx), ATTRIB_OK);
    assert_int_equal(attrib_model_bind(m, ctx, ch), ATTRIB_OK);
    attrib_ctx_free(ctx);
}

/* Attribute channels chs and compare with want[] to 1e-12. */
static void expect(const attrib_model *m, const int *chs, size_t n, const double *want)
{
    jr t;
    mk(&t, chs, n);
    attrib_credit out[MAXS];
    assert_int_equal(attrib_model_attribute(m, &t.j, out), ATTRIB_OK);
    for (size_t k = 0; k < n; k++)
        if (fabs(out[k].ihc - want[k]) > 1e-12)
            fail_msg("%s session %zu: %.17g, expected %.17g", attrib_model_ops_of(m)->name, k,
                     out[k].ihc, want[k]);
}

#define CHS(...) ((const int[]){__VA_ARGS__})
#define W(...) ((const double[]){__VA_ARGS__})
#define N(...) (sizeof((const int[]){__VA_ARGS__}) / sizeof(int))
#define EXPECT(m, want, ...) expect(m, CHS(__VA_ARGS__), N(__VA_ARGS__), want)

static attrib_model *simple(const char *name)
{
    attrib_model *m = make(name, NULL);
    ready(m, &CH);
    return m;
}

static void test_first_last_linear(void **state)
{
    (void)state;
    attrib_model *f = simple("first"), *l = simple("last"), *lin = simple("linear");
    EXPECT(f, W(1, 0, 0, 0), A, B, C, A);
    EXPECT(l, W(0, 0, 0, 1), A, B, C, A);
    EXPECT(lin, W(0.25, 0.25, 0.25, 0.25), A, B, C, A);
    EXPECT(f, W(1), C);
    EXPECT(l, W(1), C);
    attrib_model_free(f);
    attrib_model_free(l);
    attrib_model_free(lin);
}

static void test_last_non_direct(void **state)
{
    (void)state;
    attrib_model *m = simple("last-non-direct");
    EXPECT(m, W(0, 1, 0, 0), A, B, D, D); /* B is the last non-direct */
    EXPECT(m, W(0, 0, 1), D, D, D);       /* all direct: the last */
    EXPECT(m, W(0, 0, 1), D, A, C);
    attrib_model_free(m);
    /* custom direct list: A and Direct Traffic */
    const char *const direct[] = {"A", "Direct Traffic"};
    attrib_model_options o = ATTRIB_MODEL_OPTIONS_INIT;
    o.direct_channels = direct;
    o.n_direct_channels = 2;
    m = make("last-non-direct", &o);
    ready(m, &CH);
    EXPECT(m, W(1, 0, 0), B, A, D);
    attrib_model_free(m);
}

static void test_position(void **state)
{
    (void)state;
    attrib_model *m = simple("position");
    EXPECT(m, W(1), A);
    EXPECT(m, W(0.5, 0.5), A, B);
    EXPECT(m, W(0.4, 0.2, 0.4), A, B, C);
    /* 20% over 3 middle sessions: 0.2 / 3 each */
    EXPECT(m, W(0.4, 0.2 / 3, 0.2 / 3, 0.2 / 3, 0.4), A, B, C, D, E);
    attrib_model_free(m);
    /* 30/50: two sessions still split 50/50;
     * four: 0.3, (1 - 0.8) / 2 = 0.1, 0.1, 0.5 */
    attrib_model_options o = ATTRIB_MODEL_OPTIONS_INIT;
    o.position_first = 0.3;
    o.position_last = 0.5;
    m = make("position", &o);
    ready(m, &CH);
    EXPECT(m, W(0.5, 0.5), A, B);
    EXPECT(m, W(0.3, 0.1, 0.1, 0.5), A, B, C, D);
    attrib_model_free(m);
    /* invalid weights are refused */
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    o.position_first = 0.7;
    attrib_model *bad = NULL;
    assert_int_equal(attrib_model_new(ctx, attrib_model_find("position"), &o, &bad), ATTRIB_EINVAL);
    attrib_ctx_free(ctx);
}

static void test_time_decay(void **state)
{
    (void)state;
    attrib_model *m = simple("time-decay");
    /* sessions 14 days, 7 days and 0 days before the conversion: weights
     * 2^-2, 2^-1, 2^0 = 0.25, 0.5, 1, sum 1.75 → 1/7, 2/7, 4/7 */
    jr t;
    mk(&t, CHS(A, B, C), 3);
    t.s[0].ts = 0;
    t.s[1].ts = 7 * DAY;
    t.s[2].ts = 14 * DAY;
    t.j.ts = 14 * DAY + 60;
    attrib_credit out[3];
    assert_int_equal(attrib_model_attribute(m, &t.j, out), ATTRIB_OK);
    assert_near(out[0].ihc, 1.0 / 7, 1e-14);
    assert_near(out[1].ihc, 2.0 / 7, 1e-14);
    assert_near(out[2].ihc, 4.0 / 7, 1e-14);
    attrib_model_free(m);
    /* half-life 14 days: 2^-1, 2^-0.5, 1 → 0.5, 0.70710678, 1 over 2.20710678 */
    attrib_model_options o = ATTRIB_MODEL_OPTIONS_INIT;
    o.half_life_days = 14;
    m = make("time-decay", &o);
    ready(m, &CH);
    assert_int_equal(attrib_model_attribute(m, &t.j, out), ATTRIB_OK);
    double s = 0.5 + sqrt(0.5) + 1;
    assert_near(out[0].ihc, 0.5 / s, 1e-14);
    assert_near(out[1].ihc, sqrt(0.5) / s, 1e-14);
    assert_near(out[2].ihc, 1 / s, 1e-14);
    attrib_model_free(m);
}

/* Feed paths: {channels, n, converted, value}. */
typedef struct {
    int ch[MAXS];
    size_t n;
    bool conv;
    double value;
    unsigned times;
} spec;

static void feed(attrib_model *m, const spec *p, size_t np, const attrib_channels *ch)
{
    for (size_t i = 0; i < np; i++)
        for (unsigned t = 0; t < (p[i].times ? p[i].times : 1); t++) {
            jr tmp;
            attrib_path ap = path(&tmp, p[i].ch, p[i].n, p[i].conv, p[i].value);
            assert_int_equal(attrib_model_observe(m, &ap, ch), ATTRIB_OK);
        }
}

static void test_markov_hand(void **state)
{
    (void)state;
    /* Paths: A>B conv (100), A null, B conv (50), A conv (30).
     * start→A 3, start→B 1; A→B 1, A→null 1, A→conv 1; B→conv 2.
     * P(conv) = 3/4 (1/3 + 1/3 * 1) + 1/4 = 3/4.
     * without A: 1/4 → RE_A = 1 - (1/4)/(3/4) = 2/3.
     * without B: 3/4 * 1/3 = 1/4 → RE_B = 2/3. Shares 1/2, 1/2. */
    const spec P[] = {{{A, B}, 2, true, 100, 1},
                      {{A}, 1, false, 0, 1},
                      {{B, B}, 2, true, 50, 1}, /* repeats collapse: B */
                      {{A}, 1, true, 30, 1}};
    attrib_model *m = make("markov", NULL);
    feed(m, P, 4, &CH);
    ready(m, &CH);
    const attrib_markov_info *info = attrib_markov_info_of(m);
    assert_non_null(info);
    assert_string_equal(info->method, "lu");
    assert_int_equal(info->n_states, 5);
    assert_string_equal(info->states[0], "(start)");
    assert_string_equal(info->states[1], "A");
    assert_string_equal(info->states[2], "B");
    assert_string_equal(info->states[3], "(conversion)");
    assert_string_equal(info->states[4], "(null)");
    assert_int_equal(info->n_transitions, 6);
    assert_int_equal(info->transitions[0].from, 0);
    assert_int_equal(info->transitions[0].to, 1);
    assert_int_equal(info->transitions[0].count, 3);
    assert_near(info->transitions[0].probability, 0.75, 0);
    assert_near(info->p_conversion, 0.75, 1e-15);
    assert_near(info->removal[0], 2.0 / 3, 1e-15);
    assert_near(info->removal[1], 2.0 / 3, 1e-15);
    EXPECT(m, W(0.5, 0.5), A, B);
    EXPECT(m, W(1.0 / 3, 1.0 / 3, 1.0 / 3), A, A, B);
    attrib_model_free(m);

    /* --markov-value: reward = revenue per step out of a state.
     * r_A = 30 / 3 = 10, r_B = 150 / 2 = 75.
     * V = 3/4 (10 + 1/3 * 75) + 1/4 * 75 = 45 (= 180 revenue / 4 paths).
     * without A: 1/4 * 75 = 18.75 → RE_A = 1 - 18.75/45 = 7/12.
     * without B: 3/4 * 10 = 7.5 → RE_B = 1 - 7.5/45 = 5/6.
     * shares 7/17, 10/17. */
    attrib_model_options o = ATTRIB_MODEL_OPTIONS_INIT;
    o.markov_value = true;
    m = make("markov", &o);
    feed(m, P, 4, &CH);
    ready(m, &CH);
    info = attrib_markov_info_of(m);
    assert_near(info->p_conversion, 45, 1e-12);
    assert_near(info->removal[0], 7.0 / 12, 1e-14);
    assert_near(info->removal[1], 5.0 / 6, 1e-14);
    EXPECT(m, W(7.0 / 17, 10.0 / 17), A, B);
    attrib_model_free(m);

    /* Order 2 on the same paths: states (A), (A>B), (B); P = 3/4 as before.
     * without A (states (A), (A>B)): start→B→conv only: 1/4 → RE 2/3.
     * without B (states (A>B), (B)): A→conv: 3/4 * 1/3 = 1/4 → RE 2/3. */
    o = (attrib_model_options)ATTRIB_MODEL_OPTIONS_INIT;
    o.markov_order = 2;
    m = make("markov", &o);
    feed(m, P, 4, &CH);
    ready(m, &CH);
    info = attrib_markov_info_of(m);
    assert_string_equal(info->method, "gauss-seidel");
    assert_int_equal(info->n_states, 6);
    assert_string_equal(info->states[2], "A > B");
    assert_near(info->p_conversion, 0.75, 1e-14);
    assert_near(info->removal[0], 2.0 / 3, 1e-14);
    assert_near(info->removal[1], 2.0 / 3, 1e-14);
    attrib_model_free(m);
}

static void test_shapley_hand(void **state)
{
    (void)state;
    /* Sets: {A} 1 of 2 converts (rate 1/2), {B} 1 of 4 (1/4), {A,B} 3 of 4 (3/4).
     * Journey {A,B}: phi_A = 1/2 (v(A) - 0) + 1/2 (v(AB) - v(B)) = 1/4 + 1/4 = 1/2;
     * phi_B = 1/2 (1/4) + 1/2 (3/4 - 1/2) = 1/4; sum 3/4 = v(AB).
     * Credit A 2/3, B 1/3; with B twice each B session gets 1/6. */
    const spec P[] = {{{A}, 1, true, 1, 1},       {{A}, 1, false, 0, 1},
                      {{B}, 1, true, 1, 1},       {{B}, 1, false, 0, 3},
                      {{A, B}, 2, true, 1, 2},    {{B, A, A}, 3, true, 1, 1},
                      {{A, B, A}, 3, false, 0, 1}};
    attrib_model *m = make("shapley", NULL);
    feed(m, P, sizeof(P) / sizeof(P[0]), &CH);
    ready(m, &CH);
    EXPECT(m, W(2.0 / 3, 1.0 / 3), A, B);
    EXPECT(m, W(2.0 / 3, 1.0 / 6, 1.0 / 6), A, B, B);
    EXPECT(m, W(1), A);
    attrib_model_free(m);

    /* Negative value: {A} 4 of 5 (0.8), {B} 1 of 10 (0.1), {A,B} 1 of 5 (0.2).
     * phi_A = 1/2 0.8 + 1/2 (0.2 - 0.1) = 0.45; phi_B = 1/2 0.1 + 1/2 (0.2 - 0.8) = -0.25
     * → positive part: A gets everything. */
    const spec Q[] = {{{A}, 1, true, 1, 4},  {{A}, 1, false, 0, 1},   {{B}, 1, true, 1, 1},
                      {{B}, 1, false, 0, 9}, {{A, B}, 2, true, 1, 1}, {{A, B}, 2, false, 0, 4}};
    m = make("shapley", NULL);
    feed(m, Q, sizeof(Q) / sizeof(Q[0]), &CH);
    ready(m, &CH);
    EXPECT(m, W(1, 0), A, B);
    attrib_model_free(m);

    /* simplified: 3 distinct channels get 1/3 each; B's third over 2 sessions */
    m = simple("shapley-simplified");
    EXPECT(m, W(1.0 / 3, 1.0 / 6, 1.0 / 6, 1.0 / 3), A, B, B, C);
    EXPECT(m, W(0.25, 0.5, 0.25), A, B, A); /* 2 channels: A 1/2 over two sessions */
    attrib_model_free(m);
}

static void test_shapley_axioms(void **state)
{
    (void)state;
    unsigned seed = 12345;
    double v[1 << 10], phi[10], phi2[10];
    for (size_t m = 1; m <= 10; m++) {
        for (unsigned mask = 0; mask < (1u << m); mask++)
            v[mask] = mask == 0 ? 0 : (double)(rand_r(&seed) % 1000) / 1000.0;
        attrib__shapley_exact(v, m, phi);
        /* efficiency: sum phi = v(N) - v(empty) */
        double s = 0;
        for (size_t i = 0; i < m; i++)
            s += phi[i];
        assert_near(s, v[(1u << m) - 1], 1e-12);
        if (m < 2)
            continue;
        /* symmetry: make players 0 and 1 interchangeable (v(S+0) = v(S+1)) */
        for (unsigned mask = 0; mask < (1u << m); mask++)
            if ((mask & 3u) == 2u)
                v[mask] = v[(mask & ~3u) | 1u];
        attrib__shapley_exact(v, m, phi2);
        assert_near(phi2[0], phi2[1], 1e-12);
        /* null player: player m-1 adds nothing */
        unsigned top = 1u << (m - 1);
        for (unsigned mask = 0; mask < top; mask++)
            v[mask | top] = v[mask];
        attrib__shapley_exact(v, m, phi2);
        assert_near(phi2[m - 1], 0, 1e-12);
    }
}

static void test_counterfactual_hand(void **state)
{
    (void)state;
    /* pi(A>B) = 3/4, pi(A) = 1/4, pi(B) = 1/2.
     * Journey A>B: without A → B: 3/4 - 1/2 = 1/4; without B → A: 3/4 - 1/4 = 1/2.
     * Normalised: A 1/3, B 2/3; A, A, B: A's 1/3 over two sessions. */
    const spec P[] = {{{A, B}, 2, true, 1, 3}, {{A, B}, 2, false, 0, 1}, {{A}, 1, true, 1, 1},
                      {{A}, 1, false, 0, 3},   {{B}, 1, true, 1, 1},     {{B}, 1, false, 0, 1}};
    attrib_model *m = make("counterfactual", NULL);
    feed(m, P, sizeof(P) / sizeof(P[0]), &CH);
    ready(m, &CH);
    EXPECT(m, W(1.0 / 3, 2.0 / 3), A, B);
    EXPECT(m, W(1.0 / 6, 1.0 / 6, 2.0 / 3), A, A, B);
    /* A > B > A (never seen: pi 0) → every difference <= 0 → all to the last */
    EXPECT(m, W(0, 0, 1), A, B, A);
    attrib_model_free(m);
    /* pi(A>B) = 1/4 below pi(A) = pi(B) = 1/2: all zero → last */
    const spec Q[] = {{{A, B}, 2, true, 1, 1}, {{A, B}, 2, false, 0, 3}, {{A}, 1, true, 1, 1},
                      {{A}, 1, false, 0, 1},   {{B}, 1, true, 1, 1},     {{B}, 1, false, 0, 1}};
    m = make("counterfactual", NULL);
    feed(m, Q, sizeof(Q) / sizeof(Q[0]), &CH);
    ready(m, &CH);
    EXPECT(m, W(0, 1), A, B);
    /* A > B > A without B collapses to A: pi(ABA) - pi(A); ABA unseen → 0 */
    attrib_model_free(m);
}

/* ---- counterfactual on long journeys (linear-time lookups) ---- */

#define CF_MAX 320
#define CF_SEEN 1200

typedef struct {
    int ch[CF_MAX];
    size_t n;
    unsigned conv, total;
} cf_seen;

static cf_seen g_seen[CF_SEEN];
static size_t g_nseen;

/* Collapse repeats of chs[0..n) into out; returns the length. */
static size_t collapse(const int *chs, size_t n, int *out)
{
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        if (m == 0 || out[m - 1] != chs[k])
            out[m++] = chs[k];
    return m;
}

static void feed_seen(attrib_model *m, const int *chs, size_t n, unsigned conv, unsigned total)
{
    static attrib_session ss[CF_MAX];
    cf_seen *e = &g_seen[g_nseen++];
    assert_true(g_nseen <= CF_SEEN);
    e->n = collapse(chs, n, e->ch);
    e->conv = conv;
    e->total = total;
    for (size_t k = 0; k < n; k++)
        ss[k] = (attrib_session){.id = "s", .ts = (int64_t)k, .channel = (uint32_t)chs[k]};
    for (unsigned t = 0; t < total; t++) {
        attrib_path p = {.sessions = ss, .n = n, .converted = t < conv, .value = 1};
        assert_int_equal(attrib_model_observe(m, &p, &CH), ATTRIB_OK);
    }
}

/* The definition, one counterfactual path at a time, over g_seen. */
static double naive_rate(const int *seq, size_t n)
{
    unsigned conv = 0, total = 0;
    for (size_t i = 0; i < g_nseen; i++)
        if (g_seen[i].n == n && memcmp(g_seen[i].ch, seq, n * sizeof(*seq)) == 0) {
            conv += g_seen[i].conv;
            total += g_seen[i].total;
        }
    return total == 0 ? 0 : (double)conv / total;
}

static void naive_cf(const int *chs, size_t len, double *want)
{
    int seq[CF_MAX], without[CF_MAX];
    size_t run[CF_MAX] = {0};
    size_t n = 0;
    for (size_t k = 0; k < len; k++) {
        if (n == 0 || seq[n - 1] != chs[k])
            seq[n++] = chs[k];
        run[n - 1]++;
    }
    double pi = naive_rate(seq, n), cc[CF_MAX], sum = 0;
    for (size_t i = 0; i < n; i++) {
        size_t m = 0;
        for (size_t k = 0; k < n; k++)
            if (k != i && (m == 0 || without[m - 1] != seq[k]))
                without[m++] = seq[k];
        double d = pi - (m > 0 ? naive_rate(without, m) : 0);
        cc[i] = d > 0 ? d : 0;
        sum += cc[i];
    }
    if (!(sum > 0)) {
        for (size_t i = 0; i < n; i++)
            cc[i] = 0;
        cc[n - 1] = sum = 1;
    }
    for (size_t i = 0, k = 0; i < n; i++)
        for (size_t r = 0; r < run[i]; r++)
            want[k++] = cc[i] / sum / (double)run[i];
}

/* Journeys of up to 300 sessions whose counterfactual paths were mostly seen
 * (with merges where both neighbours of a removed position are one channel),
 * against the definition computed path by path. */
static void test_counterfactual_long(void **state)
{
    (void)state;
    unsigned seed = 4242;
    enum { NB = 3 };
    int base[NB][CF_MAX];
    size_t blen[NB];
    attrib_model *m = make("counterfactual", NULL);
    g_nseen = 0;
    for (int b = 0; b < NB; b++) {
        blen[b] = 100 + (size_t)(rand_r(&seed) % 200);
        for (size_t k = 0; k < blen[b]; k++)
            base[b][k] = (int)(rand_r(&seed) % (b == 0 ? 2 : 4)); /* b 0: A, B only: merges */
        feed_seen(m, base[b], blen[b], 1 + rand_r(&seed) % 5, 10);
        int seq[CF_MAX], without[CF_MAX];
        size_t n = collapse(base[b], blen[b], seq);
        for (size_t i = 0; i < n; i++) {
            if (rand_r(&seed) % 4 == 0)
                continue; /* some never seen */
            size_t w = 0;
            for (size_t k = 0; k < n; k++)
                if (k != i && (w == 0 || without[w - 1] != seq[k]))
                    without[w++] = seq[k];
            if (w > 0)
                feed_seen(m, without, w, rand_r(&seed) % 4, 4);
        }
    }
    ready(m, &CH);
    static attrib_session ss[CF_MAX];
    attrib_credit out[CF_MAX];
    double want[CF_MAX];
    for (int b = 0; b < NB; b++) {
        for (size_t k = 0; k < blen[b]; k++)
            ss[k] = (attrib_session){.id = "s", .ts = (int64_t)k, .channel = (uint32_t)base[b][k]};
        attrib_journey j = {.conv_id = "c", .ts = (int64_t)blen[b], .sessions = ss, .n = blen[b]};
        assert_int_equal(attrib_model_attribute(m, &j, out), ATTRIB_OK);
        naive_cf(base[b], blen[b], want);
        for (size_t k = 0; k < blen[b]; k++)
            if (fabs(out[k].ihc - want[k]) > 1e-12)
                fail_msg("path %d session %zu: %.17g, expected %.17g", b, k, out[k].ihc, want[k]);
    }
    attrib_model_free(m);
}

/* ---- invariants, order independence, threads ---- */

#define NP 400
static spec g_paths[NP];

static void random_paths(unsigned seed)
{
    for (size_t i = 0; i < NP; i++) {
        spec *p = &g_paths[i];
        p->n = 1 + (size_t)(rand_r(&seed) % 7);
        for (size_t k = 0; k < p->n; k++)
            p->ch[k] = (int)(rand_r(&seed) % 5);
        p->conv = rand_r(&seed) % 3 == 0 || p->ch[p->n - 1] == A;
        p->value = p->conv ? (double)(rand_r(&seed) % 20000) / 100.0 : 0;
        p->times = 1;
    }
}

static const char *const ALL[] = {
    "first",  "last",    "last-non-direct",    "linear",        "position", "time-decay",
    "markov", "shapley", "shapley-simplified", "counterfactual"};
#define NALL (sizeof(ALL) / sizeof(ALL[0]))

/* Credits of every converting path, with paths fed in `perm` order under a
 * channel table permuted by `tperm` (table index i holds NAMES[tperm[i]]). */
static void run_all(const char *name, const attrib_model_options *o, const size_t *perm,
                    const int *tperm, double *out)
{
    const char *names[5];
    int inv[5];
    for (int i = 0; i < 5; i++) {
        names[i] = NAMES[tperm[i]];
        inv[tperm[i]] = i;
    }
    attrib_channels ch = {names, 5};
    static spec mapped[NP];
    for (size_t i = 0; i < NP; i++) {
        mapped[i] = g_paths[perm[i]];
        for (size_t k = 0; k < mapped[i].n; k++)
            mapped[i].ch[k] = inv[mapped[i].ch[k]];
    }
    attrib_model *m = make(name, o);
    if (attrib_model_ops_of(m)->flags & ATTRIB_MODEL_NEEDS_PATHS)
        feed(m, mapped, NP, &ch);
    ready(m, &ch);
    size_t at = 0;
    for (size_t i = 0; i < NP; i++) {
        const spec *p = &g_paths[i];
        if (!p->conv)
            continue;
        jr t;
        int local[MAXS];
        for (size_t k = 0; k < p->n; k++)
            local[k] = inv[p->ch[k]];
        mk(&t, local, p->n);
        attrib_credit c[MAXS];
        assert_int_equal(attrib_model_attribute(m, &t.j, c), ATTRIB_OK);
        double sum = 0;
        for (size_t k = 0; k < p->n; k++) {
            if (!(c[k].ihc >= 0 && c[k].ihc <= 1))
                fail_msg("%s: credit %.17g out of [0,1]", name, c[k].ihc);
            sum += c[k].ihc;
            out[at++] = c[k].ihc;
        }
        assert_near(sum, 1, 1e-12);
    }
    attrib_model_free(m);
}

static void test_invariants_and_order(void **state)
{
    (void)state;
    random_paths(7);
    size_t id[NP], rev[NP];
    for (size_t i = 0; i < NP; i++) {
        id[i] = i;
        rev[i] = NP - 1 - i;
    }
    const int tid[5] = {0, 1, 2, 3, 4}, trev[5] = {4, 2, 0, 3, 1};
    static double a[NP * MAXS], b[NP * MAXS];
    for (size_t mi = 0; mi < NALL; mi++) {
        for (int variant = 0; variant < 3; variant++) {
            attrib_model_options o = ATTRIB_MODEL_OPTIONS_INIT;
            if (variant == 1)
                o.markov_order = 3;
            if (variant == 2)
                o.markov_value = true;
            run_all(ALL[mi], &o, id, tid, a);
            run_all(ALL[mi], &o, rev, trev, b);
            if (memcmp(a, b, sizeof(a)) != 0)
                fail_msg("%s (variant %d): credit depends on input order", ALL[mi], variant);
        }
    }
}

typedef struct {
    const attrib_model *m;
    double *out;
    int rc;
} thr;

static void *attribute_all(void *arg)
{
    thr *t = arg;
    size_t at = 0;
    for (size_t i = 0; i < NP; i++) {
        const spec *p = &g_paths[i];
        if (!p->conv)
            continue;
        jr j;
        mk(&j, p->ch, p->n);
        attrib_credit c[MAXS];
        if (attrib_model_attribute(t->m, &j.j, c) != ATTRIB_OK)
            t->rc = -1;
        for (size_t k = 0; k < p->n; k++)
            t->out[at++] = c[k].ihc;
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    random_paths(99);
    static double out[5][NP * MAXS];
    for (size_t mi = 0; mi < NALL; mi++) {
        attrib_model *m = make(ALL[mi], NULL);
        if (attrib_model_ops_of(m)->flags & ATTRIB_MODEL_NEEDS_PATHS)
            feed(m, g_paths, NP, &CH);
        ready(m, &CH);
        memset(out, 0, sizeof(out));
        thr t[5];
        pthread_t tid[4];
        t[0] = (thr){m, out[0], 0};
        attribute_all(&t[0]); /* one thread */
        for (int i = 1; i < 5; i++) {
            t[i] = (thr){m, out[i], 0};
            assert_int_equal(pthread_create(&tid[i - 1], NULL, attribute_all, &t[i]), 0);
        }
        for (int i = 1; i < 5; i++)
            pthread_join(tid[i - 1], NULL);
        for (int i = 0; i < 5; i++) {
            assert_int_equal(t[i].rc, 0);
            if (memcmp(out[0], out[i], sizeof(out[0])) != 0)
                fail_msg("%s: thread %d gave other bits", ALL[mi], i);
        }
        attrib_model_free(m);
    }
}

/* ---- statistics reduced across workers (attrib_model_reduce) ---- */

#define NW 3

/* The collectives of NW worker threads in one process, by barriers. */
typedef struct {
    pthread_barrier_t bar;
    int flag[NW];
    const void *data[NW];
    size_t len[NW];
    uint64_t *vec[NW];
} group;

typedef struct {
    group *g;
    int rank;
    const char *model;
    const attrib_model_options *o;
    bool fail;        /* fail before the reduction: vote no at its first collective */
    const int *tperm; /* this worker's channel table order */
    double *out;      /* credits of every converting path (NULL: none) */
    int rc;
} worker;

static int w_max(int mine, int *out, void *payload)
{
    worker *w = payload;
    w->g->flag[w->rank] = mine;
    pthread_barrier_wait(&w->g->bar);
    *out = 0;
    for (int r = 0; r < NW; r++)
        *out = w->g->flag[r] > *out ? w->g->flag[r] : *out;
    pthread_barrier_wait(&w->g->bar);
    return ATTRIB_OK;
}

static int w_gather(const void *mine, size_t n, void **all, size_t *n_all, void *payload)
{
    worker *w = payload;
    w->g->data[w->rank] = mine;
    w->g->len[w->rank] = n;
    pthread_barrier_wait(&w->g->bar);
    size_t total = 0;
    for (int r = 0; r < NW; r++)
        total += w->g->len[r];
    char *b = malloc(total + 1);
    assert_non_null(b);
    for (int r = 0, at = 0; r < NW; at += (int)w->g->len[r], r++)
        if (w->g->len[r] > 0)
            memcpy(b + at, w->g->data[r], w->g->len[r]);
    pthread_barrier_wait(&w->g->bar);
    *all = b;
    *n_all = total;
    return ATTRIB_OK;
}

static int w_sum(uint64_t *v, size_t n, void *payload)
{
    worker *w = payload;
    uint64_t *t = calloc(n + 1, sizeof(*t));
    assert_non_null(t);
    w->g->vec[w->rank] = v;
    pthread_barrier_wait(&w->g->bar);
    for (int r = 0; r < NW; r++)
        for (size_t k = 0; k < n; k++)
            t[k] += w->g->vec[r][k];
    pthread_barrier_wait(&w->g->bar);
    memcpy(v, t, n * sizeof(*t));
    free(t);
    return ATTRIB_OK;
}

/* Worker w: the paths i with i % NW == w (converting ones also as journeys), under
 * its own channel table; reduce; then the credit of every converting path. */
static void *reduce_worker(void *arg)
{
    worker *w = arg;
    const char *names[5];
    int inv[5];
    for (int i = 0; i < 5; i++) {
        names[i] = NAMES[w->tperm[i]];
        inv[w->tperm[i]] = i;
    }
    attrib_channels ch = {names, 5};
    attrib_reducer red = {w_max, w_gather, w_sum, w};
    attrib_ctx *ctx = NULL;
    attrib_model *m = NULL;
    w->rc = attrib_ctx_new(&ctx);
    if (w->rc == ATTRIB_OK)
        w->rc = attrib_model_new(ctx, attrib_model_find(w->model), w->o, &m);
    for (size_t i = (size_t)w->rank; w->rc == ATTRIB_OK && i < NP; i += NW) {
        spec p = g_paths[i];
        for (size_t k = 0; k < p.n; k++)
            p.ch[k] = inv[p.ch[k]];
        jr t;
        attrib_path ap = path(&t, p.ch, p.n, p.conv, p.value);
        w->rc = attrib_model_observe(m, &ap, &ch);
        if (w->rc == ATTRIB_OK && p.conv)
            w->rc = attrib_model_observe_journey(m, &ap, &ch);
    }
    if (w->fail) {
        int any = 0;
        (void)red.max_all(1, &any, w);
        w->rc = ATTRIB_ERROR;
    } else if (w->rc == ATTRIB_OK) {
        w->rc = attrib_model_reduce(ctx, m, &red);
    }
    if (w->rc == ATTRIB_OK)
        w->rc = attrib_model_finish(m, ctx);
    if (w->rc == ATTRIB_OK)
        w->rc = attrib_model_bind(m, ctx, &ch);
    for (size_t i = 0, at = 0; w->rc == ATTRIB_OK && w->out != NULL && i < NP; i++) {
        const spec *p = &g_paths[i];
        if (!p->conv)
            continue;
        int local[MAXS];
        for (size_t k = 0; k < p->n; k++)
            local[k] = inv[p->ch[k]];
        jr t;
        mk(&t, local, p->n);
        attrib_credit c[MAXS];
        w->rc = attrib_model_attribute(m, &t.j, c);
        for (size_t k = 0; k < p->n; k++)
            w->out[at++] = c[k].ihc;
    }
    attrib_model_free(m);
    attrib_ctx_free(ctx);
    return NULL;
}

/* NW workers, each with a third of the paths and its own channel order, reduce
 * their statistics: every worker's credits are the bits of one model fed every
 * path (with the journeys of the converting ones). A worker that fails before
 * the reduction stops every worker, without a hang. */
static void test_reduce(void **state)
{
    (void)state;
    random_paths(31);
    static const int tperm[NW][5] = {{0, 1, 2, 3, 4}, {4, 2, 0, 3, 1}, {3, 4, 1, 0, 2}};
    static double want[NP * MAXS], got[NW][NP * MAXS];
    const char *const models[] = {"markov", "markov",  "markov",
                                  "markov", "shapley", "counterfactual"};
    for (size_t mi = 0; mi < sizeof(models) / sizeof(models[0]); mi++) {
        attrib_model_options o = ATTRIB_MODEL_OPTIONS_INIT;
        o.markov_order = mi == 1 ? 3 : 1;
        o.markov_value = mi == 2;
        o.markov_states = mi == 3 ? ATTRIB_MARKOV_STATES_COLLAPSED : ATTRIB_MARKOV_STATES_WINDOW;
        const attrib_model_ops *ops = attrib_model_find(models[mi]);
        assert_true(attrib_model_reducible(ops));
        /* the reference: one model, every path */
        attrib_model *m = make(models[mi], &o);
        for (size_t i = 0; i < NP; i++) {
            jr t;
            attrib_path ap =
                path(&t, g_paths[i].ch, g_paths[i].n, g_paths[i].conv, g_paths[i].value);
            assert_int_equal(attrib_model_observe(m, &ap, &CH), ATTRIB_OK);
            if (g_paths[i].conv)
                assert_int_equal(attrib_model_observe_journey(m, &ap, &CH), ATTRIB_OK);
        }
        ready(m, &CH);
        size_t at = 0;
        for (size_t i = 0; i < NP; i++) {
            if (!g_paths[i].conv)
                continue;
            jr t;
            mk(&t, g_paths[i].ch, g_paths[i].n);
            attrib_credit c[MAXS];
            assert_int_equal(attrib_model_attribute(m, &t.j, c), ATTRIB_OK);
            for (size_t k = 0; k < g_paths[i].n; k++)
                want[at++] = c[k].ihc;
        }
        attrib_model_free(m);
        for (int failing = -1; failing < (mi == 0 ? NW : 0); failing++) {
            group g;
            memset(&g, 0, sizeof(g));
            assert_int_equal(pthread_barrier_init(&g.bar, NULL, NW), 0);
            worker w[NW];
            pthread_t tid[NW];
            memset(got, 0, sizeof(got));
            for (int r = 0; r < NW; r++) {
                w[r] = (worker){&g, r, models[mi], &o, r == failing, tperm[r], got[r], 0};
                assert_int_equal(pthread_create(&tid[r], NULL, reduce_worker, &w[r]), 0);
            }
            for (int r = 0; r < NW; r++)
                pthread_join(tid[r], NULL);
            pthread_barrier_destroy(&g.bar);
            for (int r = 0; r < NW; r++) {
                if (failing >= 0) {
                    if (w[r].rc == ATTRIB_OK)
                        fail_msg("%s: worker %d succeeded though worker %d failed", models[mi], r,
                                 failing);
                    continue;
                }
                if (w[r].rc != ATTRIB_OK)
                    fail_msg("%s (%zu): worker %d failed (%d)", models[mi], mi, r, w[r].rc);
                if (memcmp(got[r], want, at * sizeof(*want)) != 0)
                    fail_msg("%s (%zu): worker %d's credits differ from one model's", models[mi],
                             mi, r);
            }
        }
    }
}

static void test_registry(void **state)
{
    (void)state;
    for (size_t i = 0; i < NALL; i++)
        assert_non_null(attrib_model_find(ALL[i]));
    assert_null(attrib_model_find("nope"));
    attrib_model *m = simple("linear");
    assert_null(attrib_markov_info_of(m)); /* not a markov model */
    attrib_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_last_linear),
        cmocka_unit_test(test_last_non_direct),
        cmocka_unit_test(test_position),
        cmocka_unit_test(test_time_decay),
        cmocka_unit_test(test_markov_hand),
        cmocka_unit_test(test_shapley_hand),
        cmocka_unit_test(test_shapley_axioms),
        cmocka_unit_test(test_counterfactual_hand),
        cmocka_unit_test(test_counterfactual_long),
        cmocka_unit_test(test_invariants_and_order),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_reduce),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
