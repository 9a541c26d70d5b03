/*
 * Unit tests of the one "run a model over journeys" loop (src/lib/model/run.c)
 * and of its callers: deliberately broken model ops tables (credit summing
 * to 0.9, a NaN, a negative value, a failing attribute()) must be rejected
 * with the conversion named, by the loop on 1 and 4 threads, by the attribute
 * step and by attrib compare; a good model passes with the same bits on any
 * thread count; `want` leaves other journeys alone; cancel stops the run.
 */
#include "testutil.h"

#include "attrib/compare.h"
#include "attrib/pipeline.h"
#include "lib/model/run.h"
#include "lib/store/store.h"

#include <math.h>
#include <unistd.h>

/* ---- broken models: break only the conversions listed in g_break ---- */

static const char *g_break[2]; /* conv_ids to break; NULL = none */

static bool broken_here(const attrib_journey *j)
{
    for (size_t i = 0; i < 2; i++)
        if (g_break[i] != NULL && strcmp(g_break[i], j->conv_id) == 0)
            return true;
    return false;
}

static void even(const attrib_journey *j, attrib_credit *out, double total)
{
    for (size_t k = 0; k < j->n; k++)
        out[k] = (attrib_credit){.ihc = total / (double)j->n};
}

/* Σ = 0.9 on the broken conversions: every value in [0, 1], only the sum is wrong. */
static int short_attribute(const void *state, const attrib_journey *j, attrib_credit *out)
{
    (void)state;
    even(j, out, broken_here(j) ? 0.9 : 1.0);
    return ATTRIB_OK;
}

/* NaN in the last session of the broken conversions. */
static int nan_attribute(const void *state, const attrib_journey *j, attrib_credit *out)
{
    (void)state;
    even(j, out, 1.0);
    if (broken_here(j))
        out[j->n - 1].ihc = NAN;
    return ATTRIB_OK;
}

/* -0.5 and 1.5 on the broken conversions (of two sessions or more): Σ = 1, range wrong. */
static int range_attribute(const void *state, const attrib_journey *j, attrib_credit *out)
{
    (void)state;
    even(j, out, 1.0);
    if (broken_here(j) && j->n >= 2) {
        out[0].ihc = -0.5;
        out[1].ihc = 1.5;
        for (size_t k = 2; k < j->n; k++)
            out[k].ihc = 0;
    }
    return ATTRIB_OK;
}

static int failing_attribute(const void *state, const attrib_journey *j, attrib_credit *out)
{
    (void)state;
    even(j, out, 1.0);
    return broken_here(j) ? ATTRIB_EDATA : ATTRIB_OK;
}

static const attrib_model_ops SHORT = {.name = "short", .attribute = short_attribute};
static const attrib_model_ops NANS = {.name = "nans", .attribute = nan_attribute};
static const attrib_model_ops RANGE = {.name = "range", .attribute = range_attribute};
static const attrib_model_ops FAILING = {.name = "failing", .attribute = failing_attribute};

/* ---- journeys: NJ conversions "c0".."c<NJ-1>" of 1 to 4 sessions ---- */

#define NJ 5000
#define MAXS 4

static attrib_session g_sessions[NJ * MAXS];
static attrib_journey g_journeys[NJ];
static size_t g_offset[NJ];
static char g_ids[NJ][8];
static size_t g_total;

static void make_journeys(void)
{
    size_t at = 0;
    for (size_t j = 0; j < NJ; j++) {
        size_t n = 1 + j % MAXS;
        snprintf(g_ids[j], sizeof(g_ids[j]), "c%zu", j);
        for (size_t k = 0; k < n; k++)
            g_sessions[at + k] = (attrib_session){
                .id = "s", .ts = 1000000 + (int64_t)k * 3600, .channel = (uint32_t)(k % 3)};
        g_journeys[j] = (attrib_journey){.conv_id = g_ids[j],
                                         .ts = 1000000 + (int64_t)n * 3600,
                                         .revenue = 10,
                                         .sessions = &g_sessions[at],
                                         .n = n};
        g_offset[j] = at;
        at += n;
    }
    g_total = at;
}

static const char *const NAMES[] = {"A", "B", "C"};
static const attrib_channels CH = {NAMES, 3};

static attrib_model *bound(attrib_ctx *ctx, const attrib_model_ops *ops)
{
    attrib_model *m = NULL;
    assert_int_equal(attrib_model_new(ctx, ops, NULL, &m), ATTRIB_OK);
    assert_int_equal(attrib_model_bind(m, ctx, &CH), ATTRIB_OK);
    return m;
}

/* Run ops over the journeys on `threads`; the return code, the message in msg. */
static int run(const attrib_model_ops *ops, unsigned threads, char *msg, size_t cap)
{
    static attrib_credit out[NJ * MAXS];
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    attrib_model *m = bound(ctx, ops);
    attrib__model_run_opts o = ATTRIB__MODEL_RUN_OPTS_INIT;
    o.threads = threads;
    int rc = attrib__model_run(ctx, m, g_journeys, NJ, g_offset, out, &o);
    snprintf(msg, cap, "%s", attrib_errmsg(ctx));
    attrib_model_free(m);
    attrib_ctx_free(ctx);
    return rc;
}

static void expect_named(const char *msg, const char *needle)
{
    if (strstr(msg, needle) == NULL)
        fail_msg("message '%s' lacks '%s'", msg, needle);
}

static void test_broken_rejected(void **state)
{
    (void)state;
    make_journeys();
    char msg[1024];
    unsigned threads[] = {1, 4};
    for (size_t t = 0; t < 2; t++) {
        /* c4321 is in the last range on 4 threads, c1234 in the first: the
         * first is named whatever the thread count. */
        g_break[0] = "c4321";
        g_break[1] = "c1234";
        assert_int_equal(run(&SHORT, threads[t], msg, sizeof(msg)), ATTRIB_ERROR);
        expect_named(
            msg, "model short gave conversion 'c1234' (3 sessions) credit summing to 0.9, not 1 "
                 "(within 1e-09)");
        assert_int_equal(run(&NANS, threads[t], msg, sizeof(msg)), ATTRIB_ERROR);
        expect_named(msg, "session 3 of 3 ('s') of conversion 'c1234' credit nan");
        assert_int_equal(run(&RANGE, threads[t], msg, sizeof(msg)), ATTRIB_ERROR);
        expect_named(msg, "session 1 of 3 ('s') of conversion 'c1234' credit -0.5");
        assert_int_equal(run(&FAILING, threads[t], msg, sizeof(msg)), ATTRIB_EDATA);
        expect_named(msg, "model failing failed on conversion 'c1234'");
        /* Nothing broken: the same tables pass. */
        g_break[0] = g_break[1] = NULL;
        assert_int_equal(run(&SHORT, threads[t], msg, sizeof(msg)), ATTRIB_OK);
        assert_int_equal(run(&NANS, threads[t], msg, sizeof(msg)), ATTRIB_OK);
    }
}

/* Registered models pass the check, with the same bits on 1 and 4 threads. */
static void test_good_models_threads(void **state)
{
    (void)state;
    make_journeys();
    static attrib_credit a[NJ * MAXS], b[NJ * MAXS];
    const char *names[] = {"ihc", "linear", "position", "time-decay"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        attrib_ctx *ctx = NULL;
        assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
        const attrib_model_ops *ops = attrib_model_find(names[i]);
        assert_non_null(ops);
        attrib_model *m = bound(ctx, ops);
        attrib__model_run_opts o = ATTRIB__MODEL_RUN_OPTS_INIT;
        memset(a, 0, sizeof(a));
        memset(b, 0, sizeof(b));
        o.threads = 1;
        assert_int_equal(attrib__model_run(ctx, m, g_journeys, NJ, g_offset, a, &o), ATTRIB_OK);
        o.threads = 4;
        assert_int_equal(attrib__model_run(ctx, m, g_journeys, NJ, g_offset, b, &o), ATTRIB_OK);
        if (memcmp(a, b, g_total * sizeof(*a)) != 0)
            fail_msg("%s: 4 threads gave other bits than 1", names[i]);
        attrib_model_free(m);
        attrib_ctx_free(ctx);
    }
}

/* want: only the selected journeys are attributed (and checked). */
static void test_want(void **state)
{
    (void)state;
    make_journeys();
    static attrib_credit out[NJ * MAXS];
    static unsigned char want[NJ];
    for (size_t j = 0; j < NJ; j++)
        want[j] = j % 2 == 0;
    g_break[0] = "c1"; /* not selected: its bad credit is never computed */
    g_break[1] = NULL;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    attrib_model *m = bound(ctx, &SHORT);
    for (size_t k = 0; k < g_total; k++)
        out[k].ihc = -7;
    attrib__model_run_opts o = ATTRIB__MODEL_RUN_OPTS_INIT;
    o.threads = 2;
    o.want = want;
    assert_int_equal(attrib__model_run(ctx, m, g_journeys, NJ, g_offset, out, &o), ATTRIB_OK);
    for (size_t j = 0; j < NJ; j++)
        assert_true(out[g_offset[j]].ihc == (want[j] ? 1.0 / (double)g_journeys[j].n : -7));
    g_break[0] = "c2"; /* selected */
    assert_int_equal(attrib__model_run(ctx, m, g_journeys, NJ, g_offset, out, &o), ATTRIB_ERROR);
    expect_named(attrib_errmsg(ctx), "'c2'");
    g_break[0] = NULL;
    attrib_model_free(m);
    attrib_ctx_free(ctx);
}

/* The sum tolerance: 1e-9, or half a 4th decimal per session when rounded. */
static void test_tolerance(void **state)
{
    (void)state;
    attrib_session s[2] = {{.id = "a"}, {.id = "b"}};
    attrib_journey j = {.conv_id = "c", .sessions = s, .n = 2};
    attrib_credit c[2] = {{.ihc = 0.5}, {.ihc = 0.5 - 5e-10}};
    double sum = 0;
    size_t bad = 0;
    assert_true(attrib__model_credit_ok(&j, c, false, &sum, &bad));
    c[1].ihc = 0.5 - 2e-9;
    assert_false(attrib__model_credit_ok(&j, c, false, &sum, &bad));
    assert_int_equal(bad, 2); /* only the sum */
    assert_near(sum, 1 - 2e-9, 1e-15);
    c[1].ihc = 0.4999; /* 4 decimals: Σ off by 1e-4 <= 2 × 0.5e-4 */
    assert_false(attrib__model_credit_ok(&j, c, false, &sum, &bad));
    assert_true(attrib__model_credit_ok(&j, c, true, &sum, &bad));
    c[1].ihc = 0.4998;
    assert_false(attrib__model_credit_ok(&j, c, true, &sum, &bad));
    c[0].ihc = INFINITY;
    assert_false(attrib__model_credit_ok(&j, c, true, &sum, &bad));
    assert_int_equal(bad, 0);
}

static void test_cancel(void **state)
{
    (void)state;
    make_journeys();
    static attrib_credit out[NJ * MAXS];
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    attrib_model *m = bound(ctx, attrib_model_find("linear"));
    attrib_ctx_cancel(ctx);
    attrib__model_run_opts o = ATTRIB__MODEL_RUN_OPTS_INIT;
    o.threads = 4;
    assert_int_equal(attrib__model_run(ctx, m, g_journeys, NJ, g_offset, out, &o), ATTRIB_ECANCEL);
    attrib_model_free(m);
    attrib_ctx_free(ctx);
}

/* ---- the callers on the golden database (tests/data/golden.sql) ---- */

static attrib_store *golden_store(attrib_ctx *ctx, char *path)
{
    attrib_store *st = NULL;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(attrib_store_open(ctx, path, ATTRIB_STORE_CREATE, &st), ATTRIB_OK);
    assert_int_equal(attrib_store_init(st, NULL), ATTRIB_OK);
    FILE *f = fopen(TOP "/tests/data/golden.sql", "r");
    assert_non_null(f);
    static char sql[1 << 16];
    size_t n = fread(sql, 1, sizeof(sql) - 1, f);
    fclose(f);
    sql[n] = '\0';
    assert_int_equal(st->ops->exec_script(st->impl, sql), ATTRIB_OK);
    return st;
}

/* attrib compare and the attribute step reject the broken tables, naming c4. */
static void test_callers_reject(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    char path[] = "/tmp/attrib-model-run-XXXXXX";
    attrib_store *st = golden_store(ctx, path);
    attrib_run_options o = ATTRIB_RUN_OPTIONS_INIT;
    const attrib_model_ops *broken[] = {&SHORT, &NANS};
    const char *want[] = {"model short gave conversion 'c4' (3 sessions) credit summing to 0.9",
                          "model nans gave session 3 of 3 ('s6b') of conversion 'c4' credit nan"};
    g_break[0] = "c4";
    g_break[1] = NULL;
    for (size_t i = 0; i < 2; i++) {
        const attrib_model_ops *models[] = {attrib_model_find("linear"), broken[i]};
        attrib_compare_table *t = NULL;
        attrib_clearerr(ctx);
        assert_int_equal(attrib_compare_run(ctx, st, &o, models, 2, &t), ATTRIB_ERROR);
        assert_null(t);
        expect_named(attrib_errmsg(ctx), want[i]);
        attrib_summary sum = {0};
        o.model = broken[i];
        assert_int_equal(attrib_attribute(ctx, st, &o, &sum), ATTRIB_ERROR);
        expect_named(attrib_errmsg(ctx), want[i]);
        attrib_summary_free(&sum);
        o.model = NULL;
    }
    /* Not broken: both pass. */
    g_break[0] = NULL;
    const attrib_model_ops *models[] = {&SHORT};
    attrib_compare_table *t = NULL;
    assert_int_equal(attrib_compare_run(ctx, st, &o, models, 1, &t), ATTRIB_OK);
    attrib_compare_free(t);
    attrib_store_close(st);
    unlink(path);
    attrib_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broken_rejected),
        cmocka_unit_test(test_good_models_threads),
        cmocka_unit_test(test_want),
        cmocka_unit_test(test_tolerance),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_callers_reject),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
