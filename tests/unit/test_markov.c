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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_removal_vs_brute_force),
        cmocka_unit_test(test_lu_refined),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
