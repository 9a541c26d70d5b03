/*
 * The Markov model's removal effects against brute force: on random chains
 * (random paths over 2..8 channels, orders 1, 2 and 3), re-solve the chain
 * with every state containing channel c removed, by plain Gaussian
 * elimination written here (independent of linsolve.c), and compare
 * 1 - P(without c) / P with the model's removal effects to 1e-9. Order 1 uses
 * the one-inverse identity RE_c = N_sc b_c / (N_cc b_s), orders 2 and 3 the
 * Gauss-Seidel path, so both methods are checked. Also: P(conversion) of the
 * fitted chain equals conversions / paths (flow conservation), and the
 * linsolve LU with refinement solves random systems.
 */
#include "testutil.h"

#include "attrib/markov.h"
#include "attrib/model.h"
#include "lib/model/linsolve.h"

#include <math.h>

static const char *const NAMES[] = {"ch0", "ch1", "ch2", "ch3", "ch4", "ch5", "ch6", "ch7"};

/* Does state name s ("a > b > c") contain channel name c? */
static bool has(const char *s, const char *c)
{
    size_t l = strlen(c);
    for (const char *p = s;;) {
        const char *end = strstr(p, " > ");
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        if (n == l && memcmp(p, c, l) == 0)
            return true;
        if (end == NULL)
            return false;
        p = end + 3;
    }
}

/* Solve a x = b (n×n, row-major, destroyed) by Gaussian elimination with
 * partial pivoting. */
static void gauss(double *a, double *b, size_t n, double *x)
{
    for (size_t k = 0; k < n; k++) {
        size_t p = k;
        for (size_t i = k + 1; i < n; i++)
            if (fabs(a[i * n + k]) > fabs(a[p * n + k]))
                p = i;
        for (size_t j = 0; j < n; j++) {
            double t = a[k * n + j];
            a[k * n + j] = a[p * n + j];
            a[p * n + j] = t;
        }
        double t = b[k];
        b[k] = b[p];
        b[p] = t;
        for (size_t i = k + 1; i < n; i++) {
            double m = a[i * n + k] / a[k * n + k];
            for (size_t j = k; j < n; j++)
                a[i * n + j] -= m * a[k * n + j];
            b[i] -= m * b[k];
        }
    }
    for (size_t i = n; i-- > 0;) {
        double s = b[i];
        for (size_t j = i + 1; j < n; j++)
            s -= a[i * n + j] * x[j];
        x[i] = s / a[i * n + i];
    }
}

/* P(conversion) from (start) with the transient states where drop[i] is set
 * sent to (null). */
static double absorb(const attrib_markov_info *info, const bool *drop)
{
    size_t t = info->n_states - 2; /* transient: 0 .. t-1 */
    double *a = calloc(t * t, sizeof(*a)), *r = calloc(t, sizeof(*r)), *x = calloc(t, sizeof(*x));
    for (size_t i = 0; i < t; i++)
        a[i * t + i] = 1;
    for (size_t e = 0; e < info->n_transitions; e++) {
        const attrib_markov_transition *tr = &info->transitions[e];
        if (drop[tr->from])
            continue;
        if (tr->to == t)
            r[tr->from] += tr->probability;
        else if (tr->to < t && !drop[tr->to])
            a[tr->from * t + tr->to] -= tr->probability;
    }
    gauss(a, r, t, x);
    double p = x[0];
    free(a);
    free(r);
    free(x);
    return p;
}

static void check_chain(unsigned seed, size_t nch, int order)
{
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    attrib_model_options o = ATTRIB_MODEL_OPTIONS_INIT;
    o.markov_order = order;
    attrib_model *m = NULL;
    assert_int_equal(attrib_model_new(ctx, attrib_model_find("markov"), &o, &m), ATTRIB_OK);
    attrib_channels ch = {NAMES, nch};
    /* each channel has its own conversion propensity, so removal effects differ */
    double prop[8];
    for (size_t c = 0; c < nch; c++)
        prop[c] = (double)(rand_r(&seed) % 100) / 100.0;
    uint64_t conversions = 0, paths = 300 + rand_r(&seed) % 500;
    for (uint64_t i = 0; i < paths; i++) {
        attrib_session s[10];
        size_t n = 1 + (size_t)(rand_r(&seed) % 10);
        double score = 0;
        for (size_t k = 0; k < n; k++) {
            s[k] = (attrib_session){.ts = (int64_t)k, .channel = rand_r(&seed) % (unsigned)nch};
            score += prop[s[k].channel];
        }
        bool conv = (double)(rand_r(&seed) % 1000) / 1000.0 < score / (double)n;
        conversions += conv;
        attrib_path p = {.sessions = s, .n = n, .converted = conv, .value = conv ? 1 : 0};
        assert_int_equal(attrib_model_observe(m, &p, &ch), ATTRIB_OK);
    }
    assert_int_equal(attrib_model_finish(m, ctx), ATTRIB_OK);
    const attrib_markov_info *info = attrib_markov_info_of(m);
    assert_non_null(info);
    assert_string_equal(info->method, order == 1 ? "lu" : "gauss-seidel");
    assert_int_equal(info->paths, paths);
    assert_near(info->p_conversion, (double)conversions / (double)paths, 1e-12);
    assert_true(info->residual < 1e-12);
    bool *drop = calloc(info->n_states, sizeof(*drop));
    double p = absorb(info, drop);
    assert_near(p, info->p_conversion, 1e-12);
    double sum = 0;
    for (size_t c = 0; c < info->n_channels; c++) {
        for (size_t i = 1; i + 2 < info->n_states; i++)
            drop[i] = has(info->states[i], info->channels[c]);
        double re = 1 - absorb(info, drop) / p;
        if (fabs(re - info->removal[c]) > 1e-9)
            fail_msg("seed %u order %d channel %s: removal %.17g, brute force %.17g", seed, order,
                     info->channels[c], info->removal[c], re);
        sum += info->removal[c];
    }
    for (size_t c = 0; c < info->n_channels; c++)
        assert_near(info->share[c], info->removal[c] / sum, 1e-15);
    free(drop);
    attrib_model_free(m);
    attrib_ctx_free(ctx);
}

static void test_removal_vs_brute_force(void **state)
{
    (void)state;
    for (unsigned seed = 1; seed <= 40; seed++)
        for (int order = 1; order <= 3; order++)
            check_chain(seed * 7919u, 2 + seed % 7, order);
}

static void test_lu_refined(void **state)
{
    (void)state;
    unsigned seed = 4242;
    for (size_t n = 1; n <= 40; n += 3) {
        double *a = malloc(n * n * sizeof(*a)), *x = malloc(n * sizeof(*x)),
               *b = calloc(n, sizeof(*b)), *y = malloc(n * sizeof(*y));
        for (size_t i = 0; i < n * n; i++)
            a[i] = (double)(rand_r(&seed) % 2001) / 1000.0 - 1;
        for (size_t i = 0; i < n; i++)
            x[i] = (double)(rand_r(&seed) % 2001) / 1000.0 - 1;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                b[i] += a[i * n + j] * x[j];
        attrib__lu f;
        assert_int_equal(attrib__lu_factor(&f, a, n), ATTRIB_OK);
        double res = 1;
        assert_int_equal(attrib__lu_solve(&f, a, b, y, &res), ATTRIB_OK);
        assert_true(res < 1e-13);
        for (size_t i = 0; i < n; i++)
            assert_near(y[i], x[i], 1e-9);
        attrib__lu_free(&f);
        free(a);
        free(x);
        free(b);
        free(y);
    }
    /* singular: refused */
    double s[4] = {1, 2, 2, 4};
    attrib__lu f;
    assert_int_equal(attrib__lu_factor(&f, s, 2), ATTRIB_EDATA);
}

/* ---- states: hand-worked chains of both kinds ---- */

static attrib_model *fit_paths(const int *const *paths, const size_t *len, const bool *conv,
                               const double *value, size_t n, attrib_model_options *o)
{
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    attrib_model *m = NULL;
    assert_int_equal(attrib_model_new(ctx, attrib_model_find("markov"), o, &m), ATTRIB_OK);
    attrib_channels ch = {NAMES, 8};
    for (size_t i = 0; i < n; i++) {
        attrib_session s[16];
        for (size_t k = 0; k < len[i]; k++)
            s[k] = (attrib_session){.ts = (int64_t)k, .channel = (uint32_t)paths[i][k]};
        attrib_path p = {.sessions = s, .n = len[i], .converted = conv[i], .value = value[i]};
        assert_int_equal(attrib_model_observe(m, &p, &ch), ATTRIB_OK);
        if (conv[i])
            assert_int_equal(attrib_model_observe_journey(m, &p, &ch), ATTRIB_OK);
    }
    assert_int_equal(attrib_model_finish(m, ctx), ATTRIB_OK);
    assert_int_equal(attrib_model_bind(m, ctx, &ch), ATTRIB_OK);
    attrib_ctx_free(ctx);
    return m;
}

/* Count of the transition from → to (state names), 0 when absent. */
static uint64_t count_of(const attrib_markov_info *in, const char *from, const char *to)
{
    for (size_t e = 0; e < in->n_transitions; e++)
        if (strcmp(in->states[in->transitions[e].from], from) == 0 &&
            strcmp(in->states[in->transitions[e].to], to) == 0)
            return in->transitions[e].count;
    return 0;
}

/*
 * Order 2 on four paths over A = ch0, B = ch1:
 *   P1  A A B    → conversion, revenue 30
 *   P2  A B      → null
 *   P3  B        → conversion, revenue 10
 *   P4  B B B A  → null
 * window (ChannelAttribution): states are windows of 2 raw touches, a path
 * shorter than 2 is one state, a window equal to the previous one is no step:
 *   P1 AA → AB → conv; P2 AB → null; P3 B → conv; P4 BB → BA → null (BB → BB dropped).
 *   start → AA, AB, B, BB: 1/4 each; AA → AB 1; AB → conv 1/2, null 1/2;
 *   B → conv 1; BB → BA 1; BA → null 1.
 *   P(conv) = 1/4·1/2 + 1/4·1/2 + 1/4 = 1/2 (= 2 conversions / 4 paths).
 *   Without A (AA, AB, BA → null): 1/4, RE_A = 1/2. Without B: 0, RE_B = 1.
 *   Shares 1/3, 2/3; standard conversions (× 2): 2/3, 4/3.
 *   Revenue: reward AB 30/2 = 15, B 10/1 = 10; E = 1/4·15 + 1/4·15 + 1/4·10 = 10
 *   (= 40 / 4); without A 1/4·10 = 2.5, RE_A = 0.75; without B 0, RE_B = 1;
 *   shares 3/7, 4/7; standard revenue (× 40): 120/7, 160/7.
 * collapsed: repeats collapse first (A B, A B, B, B A), states are the last 2
 * channels with shorter ones at the start:
 *   start → A 2/4, B 2/4; A → A>B 1; A>B → conv 1/2, null 1/2; B → conv 1/2, B>A 1/2;
 *   B>A → null. P(conv) = 1/2·1/2 + 1/2·1/2 = 1/2; without A 1/4, RE_A = 1/2;
 *   without B 0, RE_B = 1.
 */
static void test_states_hand(void **state)
{
    (void)state;
    static const int p1[] = {0, 0, 1}, p2[] = {0, 1}, p3[] = {1}, p4[] = {1, 1, 1, 0};
    const int *const paths[] = {p1, p2, p3, p4};
    const size_t len[] = {3, 2, 1, 4};
    const bool conv[] = {true, false, true, false};
    const double value[] = {30, 0, 10, 0};
    attrib_model_options o = ATTRIB_MODEL_OPTIONS_INIT;
    o.markov_order = 2;
    assert_int_equal(o.markov_states, ATTRIB_MARKOV_STATES_WINDOW); /* the default */
    attrib_model *m = fit_paths(paths, len, conv, value, 4, &o);
    const attrib_markov_info *in = attrib_markov_info_of(m);
    assert_int_equal(in->n_states, 8); /* start, AA, AB, BA, BB, B, conv, null */
    assert_int_equal(in->n_transitions, 10);
    assert_int_equal(count_of(in, "(start)", "ch0 > ch0"), 1);
    assert_int_equal(count_of(in, "(start)", "ch1"), 1);
    assert_int_equal(count_of(in, "ch0 > ch0", "ch0 > ch1"), 1);
    assert_int_equal(count_of(in, "ch1 > ch1", "ch1 > ch0"), 1);
    assert_int_equal(count_of(in, "ch1 > ch1", "ch1 > ch1"), 0);
    assert_int_equal(count_of(in, "ch0 > ch1", "(conversion)"), 1);
    assert_near(in->p_conversion, 0.5, 1e-15);
    assert_near(in->removal[0], 0.5, 1e-14);
    assert_near(in->removal[1], 1, 1e-14);
    assert_near(in->standard_conversions[0], 2.0 / 3, 1e-14);
    assert_near(in->standard_conversions[1], 4.0 / 3, 1e-14);
    assert_near(in->removal_revenue[0], 0.75, 1e-14);
    assert_near(in->standard_revenue[0], 120.0 / 7, 1e-12);
    assert_near(in->standard_revenue[1], 160.0 / 7, 1e-12);
    assert_near(in->revenue, 40, 0);
    attrib_model_free(m);

    o.markov_states = ATTRIB_MARKOV_STATES_COLLAPSED;
    m = fit_paths(paths, len, conv, value, 4, &o);
    in = attrib_markov_info_of(m);
    assert_int_equal(in->n_states, 7); /* start, A, A>B, B, B>A, conv, null */
    assert_int_equal(count_of(in, "(start)", "ch0"), 2);
    assert_int_equal(count_of(in, "ch0", "ch0 > ch1"), 2);
    assert_int_equal(count_of(in, "ch1", "(conversion)"), 1);
    assert_int_equal(count_of(in, "ch1", "ch1 > ch0"), 1);
    assert_int_equal(count_of(in, "(start)", "ch0 > ch0"), 0);
    assert_near(in->p_conversion, 0.5, 1e-15);
    assert_near(in->removal[0], 0.5, 1e-14);
    assert_near(in->removal[1], 1, 1e-14);
    attrib_model_free(m);
}

/* ---- standard totals against an independent dense reference ---- */

#define RMAX 4096 /* reference states */

typedef struct {
    int ch[3];
    size_t len;
} rstate;

/* Index of window w[0..len) in st (added when new); 0 is (start). */
static size_t rstate_of(rstate *st, size_t *n, const int *w, size_t len)
{
    for (size_t i = 1; i < *n; i++)
        if (st[i].len == len && memcmp(st[i].ch, w, len * sizeof(*w)) == 0)
            return i;
    assert_true(*n < RMAX);
    st[*n].len = len;
    memcpy(st[*n].ch, w, len * sizeof(*w));
    return (*n)++;
}

/* P(reward) from (start) with the states containing channel `drop` (-1: none)
 * sent to (null), by dense Gaussian elimination. */
static double rsolve(const rstate *st, size_t n, const double *cnt, const double *out,
                     const double *reward, int drop)
{
    double *a = calloc(n * n, sizeof(*a)), *b = calloc(n, sizeof(*b)), *x = calloc(n, sizeof(*x));
    for (size_t i = 0; i < n; i++) {
        bool gone = false;
        for (size_t k = 0; k < st[i].len; k++)
            gone = gone || st[i].ch[k] == drop;
        a[i * n + i] = 1;
        if (gone || out[i] == 0)
            continue;
        b[i] = reward[i] / out[i];
        for (size_t j = 0; j < n; j++) {
            bool jgone = false;
            for (size_t k = 0; k < st[j].len; k++)
                jgone = jgone || st[j].ch[k] == drop;
            if (!jgone)
                a[i * n + j] -= cnt[i * RMAX + j] / out[i];
        }
    }
    gauss(a, b, n, x);
    double p = x[0];
    free(a);
    free(b);
    free(x);
    return p;
}

/* Random paths with runs of repeated touches over nch channels; the model's
 * standard totals at `order` (window states) against the reference. */
static void check_standard(unsigned seed, int nch, int order)
{
    enum { NP = 400 };
    static int paths[NP][12];
    size_t len[NP] = {0};
    bool conv[NP] = {false};
    double value[NP] = {0};
    double prop[8];
    for (int c = 0; c < nch; c++)
        prop[c] = (double)(rand_r(&seed) % 100) / 100.0;
    size_t np = 150 + rand_r(&seed) % (NP - 150);
    for (size_t i = 0; i < np; i++) {
        len[i] = 1 + (size_t)(rand_r(&seed) % 12);
        double score = 0;
        for (size_t k = 0; k < len[i]; k++) {
            /* a repeat of the previous touch one time in three */
            paths[i][k] = k > 0 && rand_r(&seed) % 3 == 0 ? paths[i][k - 1]
                                                          : (int)(rand_r(&seed) % (unsigned)nch);
            score += prop[paths[i][k]];
        }
        conv[i] = (double)(rand_r(&seed) % 1000) / 1000.0 < score / (double)len[i];
        value[i] = conv[i] ? (double)(1 + rand_r(&seed) % 20000) / 100.0 : 0;
    }
    const int *pp[NP] = {NULL};
    for (size_t i = 0; i < np; i++)
        pp[i] = paths[i];
    attrib_model_options o = ATTRIB_MODEL_OPTIONS_INIT;
    o.markov_order = order;
    attrib_model *m = fit_paths(pp, len, conv, value, np, &o);
    const attrib_markov_info *in = attrib_markov_info_of(m);

    /* the reference: ChannelAttribution's encoding, written out plainly */
    static rstate st[RMAX];
    static double cnt[RMAX * RMAX];
    double *out = calloc(RMAX, sizeof(*out)), *rc = calloc(RMAX, sizeof(*rc)),
           *rv = calloc(RMAX, sizeof(*rv));
    memset(cnt, 0, sizeof(cnt));
    size_t ns = 1;
    double conversions = 0, revenue = 0;
    for (size_t i = 0; i < np; i++) {
        size_t k = (size_t)order, prev = 0;
        size_t windows = len[i] <= k ? 1 : len[i] - k + 1, wl = len[i] <= k ? len[i] : k;
        for (size_t w = 0; w < windows; w++) {
            size_t s = rstate_of(st, &ns, paths[i] + w, wl);
            if (s != prev) {
                cnt[prev * RMAX + s]++;
                out[prev]++;
            }
            prev = s;
        }
        out[prev]++;
        if (conv[i]) {
            rc[prev]++;
            rv[prev] += value[i];
            conversions++;
            revenue += value[i];
        }
    }
    st[0].len = 0;
    double p = rsolve(st, ns, cnt, out, rc, -1), pv = rsolve(st, ns, cnt, out, rv, -1);
    double re[8], rev_re[8], sum = 0, sumv = 0;
    for (int c = 0; c < nch; c++) {
        re[c] = 1 - rsolve(st, ns, cnt, out, rc, c) / p;
        rev_re[c] = 1 - rsolve(st, ns, cnt, out, rv, c) / pv;
        sum += re[c];
        sumv += rev_re[c];
    }
    assert_int_equal(in->n_states, ns + 2);
    for (int c = 0; c < nch; c++) {
        /* channels are sorted by name: ch0 < ch1 < ... */
        double sc = re[c] / sum * conversions, sv = rev_re[c] / sumv * revenue;
        if (fabs(in->standard_conversions[c] - sc) > 1e-9 * conversions ||
            fabs(in->standard_revenue[c] - sv) > 1e-9 * revenue)
            fail_msg("seed %u order %d %s: standard %.17g / %.17g, reference %.17g / %.17g", seed,
                     order, NAMES[c], in->standard_conversions[c], in->standard_revenue[c], sc, sv);
    }
    free(out);
    free(rc);
    free(rv);
    attrib_model_free(m);
}

static void test_standard_vs_reference(void **state)
{
    (void)state;
    for (unsigned seed = 1; seed <= 6; seed++)
        for (int order = 1; order <= 3; order++)
            check_standard(seed * 104729u, 2 + (int)(seed % 4), order);
}

/* Global credit: over the journeys (here the converting paths, 2..8 touches
 * so that some split reaches the targets), Σ credit per channel equals the
 * standard totals and every journey's credit sums to 1; journey credit does
 * not reach them. */
static void test_global_credit(void **state)
{
    (void)state;
    enum { NP = 600 };
    static int paths[NP][8];
    size_t len[NP] = {0};
    bool conv[NP] = {false};
    double value[NP] = {0};
    const int *pp[NP] = {NULL};
    unsigned seed = 99991;
    double prop[5] = {0.9, 0.5, 0.3, 0.1, 0.05};
    for (size_t i = 0; i < NP; i++) {
        len[i] = 2 + (size_t)(rand_r(&seed) % 7);
        double score = 0;
        for (size_t k = 0; k < len[i]; k++) {
            paths[i][k] = (int)(rand_r(&seed) % 5);
            score += prop[paths[i][k]];
        }
        conv[i] = (double)(rand_r(&seed) % 1000) / 1000.0 < score / (double)len[i];
        value[i] = conv[i] ? (double)(1 + rand_r(&seed) % 1000) : 0;
        pp[i] = paths[i];
    }
    for (int value_mode = 0; value_mode <= 1; value_mode++) {
        double dev[2] = {0, 0};
        for (int credit = 0; credit <= 1; credit++) {
            attrib_model_options o = ATTRIB_MODEL_OPTIONS_INIT;
            o.markov_order = 2;
            o.markov_value = value_mode;
            o.markov_credit = (attrib_markov_credit)credit;
            attrib_model *m = fit_paths(pp, len, conv, value, NP, &o);
            const attrib_markov_info *in = attrib_markov_info_of(m);
            double tot[5] = {0}, tot_rev[5] = {0};
            for (size_t i = 0; i < NP; i++) {
                if (!conv[i])
                    continue;
                attrib_session s[8];
                attrib_credit c[8];
                for (size_t k = 0; k < len[i]; k++)
                    s[k] = (attrib_session){.ts = (int64_t)k, .channel = (uint32_t)paths[i][k]};
                attrib_journey j = {.sessions = s, .n = len[i], .revenue = value[i]};
                assert_int_equal(attrib_model_attribute(m, &j, c), ATTRIB_OK);
                double sum = 0;
                for (size_t k = 0; k < len[i]; k++) {
                    sum += c[k].ihc;
                    tot[paths[i][k]] += c[k].ihc;
                    tot_rev[paths[i][k]] += c[k].ihc * value[i];
                }
                assert_near(sum, 1, 1e-12);
            }
            for (int ch = 0; ch < 5; ch++) {
                double want = value_mode ? in->standard_revenue[ch] : in->standard_conversions[ch];
                double got = value_mode ? tot_rev[ch] : tot[ch];
                double scale = value_mode ? in->revenue : (double)in->conversions;
                /* the model's own account of its per-session totals is right */
                assert_near(in->attributed_conversions[ch], tot[ch], 1e-9 * (double)in->journeys);
                assert_near(in->attributed_revenue[ch], tot_rev[ch], 1e-9 * in->journey_revenue);
                double d = fabs(got - want) / scale;
                dev[credit] = d > dev[credit] ? d : dev[credit];
            }
            if (credit == ATTRIB_MARKOV_CREDIT_GLOBAL)
                assert_true(in->calibration_gap <= 1e-12);
            attrib_model_free(m);
        }
        assert_true(dev[ATTRIB_MARKOV_CREDIT_GLOBAL] < 1e-9);
        assert_true(dev[ATTRIB_MARKOV_CREDIT_JOURNEY] > 1e-4);
    }
}

/* docs/models.md's worked example: paths A (conv), A (conv), A B (conv), B (null).
 * RE_A = 5/6, RE_B = 1/3, shares 5/7, 2/7; standard totals A 15/7, B 6/7.
 * journey credit: A B splits 5/7, 2/7 → A 19/7, B 2/7. global: A alone keeps 2,
 * so A B splits 1/7, 6/7 → A 15/7, B 6/7. */
static void test_worked_example(void **state)
{
    (void)state;
    static const int a[] = {0}, ab[] = {0, 1}, b[] = {1};
    const int *const paths[] = {a, a, ab, b};
    const size_t len[] = {1, 1, 2, 1};
    const bool conv[] = {true, true, true, false};
    const double value[] = {1, 1, 1, 0};
    const double want_ab[2][2] = {{1.0 / 7, 6.0 / 7}, {5.0 / 7, 2.0 / 7}}; /* global, journey */
    const double want_a[2] = {15.0 / 7, 19.0 / 7};
    for (int credit = 0; credit <= 1; credit++) {
        attrib_model_options o = ATTRIB_MODEL_OPTIONS_INIT;
        o.markov_credit = (attrib_markov_credit)credit;
        attrib_model *m = fit_paths(paths, len, conv, value, 4, &o);
        const attrib_markov_info *in = attrib_markov_info_of(m);
        assert_near(in->removal[0], 5.0 / 6, 1e-14);
        assert_near(in->removal[1], 1.0 / 3, 1e-14);
        assert_near(in->standard_conversions[0], 15.0 / 7, 1e-13);
        assert_near(in->standard_conversions[1], 6.0 / 7, 1e-13);
        attrib_session s[2] = {{.ts = 0, .channel = 0}, {.ts = 1, .channel = 1}};
        attrib_journey j = {.sessions = s, .n = 2, .revenue = 1};
        attrib_credit c[2];
        assert_int_equal(attrib_model_attribute(m, &j, c), ATTRIB_OK);
        assert_near(c[0].ihc, want_ab[credit][0], 1e-12);
        assert_near(c[1].ihc, want_ab[credit][1], 1e-12);
        assert_near(in->attributed_conversions[0], want_a[credit], 1e-12);
        attrib_model_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_states_hand),
        cmocka_unit_test(test_standard_vs_reference),
        cmocka_unit_test(test_global_credit),
        cmocka_unit_test(test_worked_example),
        cmocka_unit_test(test_removal_vs_brute_force),
        cmocka_unit_test(test_lu_refined),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
