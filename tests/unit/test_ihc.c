/*
 * The local IHC engine: golden journeys from real API responses
 * (tests/data/ihc, taken from tests/data/ihc-real/ihc_new), the engine's rules
 * (one session, restart truncation, empty holder, channel weights), the
 * redistribution example of docs/ihc-api.md §3, invariants on generated
 * journeys, model-file errors, and calibrate → eval on generated API calls.
 */
#include "testutil.h"

#include "attrib/ihc_fit.h"
#include "attrib/ihc_json.h"
#include "attrib/model.h"
#include "lib/ihc/fitdata.h"
#include "lib/ihc/engine.h"
#include "lib/ihc/params.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#define GOLDEN_REQ TOP "/tests/data/ihc/golden_requests.json"
#define GOLDEN_RESP TOP "/tests/data/ihc/golden_responses.json"

static attrib_ctx *new_ctx(void)
{
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    return ctx;
}

/* ---- golden journeys ---- */

static void test_golden_default(void **state)
{
    (void)state;
    attrib_ctx *ctx = new_ctx();
    attrib_ihc_dataset *ds = NULL;
    assert_int_equal(attrib_ihc_dataset_load_pairs(ctx, GOLDEN_REQ, GOLDEN_RESP, &ds), ATTRIB_OK);
    assert_int_equal(attrib_ihc_dataset_skipped(ds), 0);
    assert_int_equal(attrib_ihc_dataset_journeys(ds), 16); /* 14 + 2 one-session fragments */
    attrib_model_options mo = ATTRIB_MODEL_OPTIONS_INIT;
    attrib_ihc_eval_summary s;
    char *report = NULL;
    assert_int_equal(attrib_ihc_eval(ctx, ds, &mo, NULL, &s, &report), ATTRIB_OK);
    assert_non_null(strstr(report, "worst journeys"));
    assert_non_null(strstr(report, "Direct Traffic"));
    /* The shipped model against the API on these journeys (docs/model.md). */
    assert_int_equal(s.journeys, 14);
    assert_true(s.max[0] <= 0.005);
    assert_true(s.mae[0] <= 0.0005);
    for (int q = 1; q < 4; q++) {
        assert_true(s.mae[q] <= 0.001);
        assert_true(s.max[q] <= 0.01);
    }
    assert_true(s.within_01[0] == 1.0);
    /* The untrained model is far off: the defaults carry real information. */
    attrib_ihc_eval_summary b;
    mo.builtin = "base";
    assert_int_equal(attrib_ihc_eval(ctx, ds, &mo, NULL, &b, NULL), ATTRIB_OK);
    assert_true(b.mae[0] > 10 * s.mae[0]);
    free(report);
    /* Per journey: the empty holder phase, a same-time pair whose closer split
     * is the channel weight ratio (Direct Traffic 0.499 vs 0.501), one-session
     * fragments. */
    attrib_model *m = NULL;
    mo.builtin = NULL;
    mo.api_rounding = true;
    assert_int_equal(attrib_model_new(ctx, attrib_model_find("ihc"), &mo, &m), ATTRIB_OK);
    assert_int_equal(attrib_model_bind(m, ctx, &ds->chan_view), ATTRIB_OK);
    int seen = 0;
    for (size_t j = 0; j < ds->n_journeys; j++) {
        const attrib_journey *jr = &ds->journeys[j];
        const attrib_credit *t = ds->target + ds->first[j];
        attrib_credit out[64];
        assert_true(jr->n <= 64);
        assert_int_equal(attrib_model_attribute(m, jr, out), ATTRIB_OK);
        if (strncmp(jr->conv_id, "f8eef962", 8) == 0) {
            for (size_t k = 0; k < jr->n; k++)
                assert_true(out[k].holder == 0.0 && t[k].holder == 0.0);
            seen |= 1;
        }
        if (strncmp(jr->conv_id, "d95d4544", 8) == 0) {
            assert_near(out[0].closer, t[0].closer, 0.0015);
            assert_true(out[0].closer < 0.5 && t[0].closer < 0.5);
            seen |= 2;
        }
        if (jr->n == 1) {
            assert_true(out[0].ihc == 1.0 && t[0].ihc == 1.0 && t[0].holder == 0.0);
            seen |= 4;
        }
        if (jr->n >= 14)
            seen |= 8;
    }
    assert_int_equal(seen, 15);
    attrib_model_free(m);
    attrib_ihc_dataset_free(ds);
    attrib_ctx_free(ctx);
}

/* ---- rules on hand-made journeys ---- */

static attrib_ihc_params *builtin(const char *name)
{
    attrib_ctx *ctx = new_ctx();
    attrib_ihc_params *p = NULL;
    assert_int_equal(attrib__ihc_params_builtin(ctx, name, &p), ATTRIB_OK);
    attrib_ctx_free(ctx);
    return p;
}

static attrib_session sess(int64_t ts, uint32_t ch, int h, int c)
{
    attrib_session s = {.id = "s", .ts = ts, .channel = ch};
    s.holder = (uint8_t)h;
    s.closer = (uint8_t)c;
    return s;
}

static void test_one_session(void **state)
{
    (void)state;
    attrib_ihc_params *p = builtin("default");
    attrib_session s[1] = {sess(1000, 0, 1, 0)};
    attrib_credit out[1];
    attrib__ihc_compute(p, NULL, 0, NULL, false, s, 1, out);
    assert_true(out[0].ihc == 1.0 && out[0].initializer == 1.0 && out[0].holder == 0.0 &&
                out[0].closer == 1.0);
    attrib__ihc_params_free(p);
}

static void test_restart_truncation(void **state)
{
    (void)state;
    attrib_ihc_params *p = builtin("default"); /* initializer reaches 1 at 368 h */
    const int64_t H = 3600;
    attrib_session s[4] = {sess(0, 0, 1, 1), sess(2 * H, 1, 1, 1), sess(2 * H + 400 * H, 0, 1, 1),
                           sess(2 * H + 401 * H, 1, 1, 1)};
    attrib_credit out[4];
    attrib__ihc_compute(p, NULL, 0, NULL, false, s, 4, out);
    for (int k = 0; k < 2; k++)
        assert_true(out[k].ihc == 0.0 && out[k].initializer == 0.0 && out[k].holder == 0.0 &&
                    out[k].closer == 0.0);
    assert_near(out[2].initializer + out[3].initializer, 1.0, 1e-12);
    assert_near(out[2].ihc + out[3].ihc, 1.0, 1e-12);
    assert_true(out[2].initializer > 0.99); /* session 3 follows after 1 h */
    /* Only the last session survives: I = C = 1, H = its holder flag. */
    s[3].ts = s[2].ts + 500 * H;
    s[3].holder = 1;
    attrib__ihc_compute(p, NULL, 0, NULL, false, s, 4, out);
    assert_true(out[2].ihc == 0.0 && out[3].initializer == 1.0 && out[3].closer == 1.0);
    assert_true(out[3].holder == 1.0 && out[3].ihc == 1.0);
    s[3].holder = 0;
    attrib__ihc_compute(p, NULL, 0, NULL, false, s, 4, out);
    assert_true(out[3].holder == 0.0);
    assert_near(out[3].ihc, 1.0, 1e-12);
    attrib__ihc_params_free(p);
}

/*
 * The holder rule after a restart (docs/ihc-api.md §8.3 rule 4, issue 13):
 * the holder function reads I and C normalised over the whole journey, cut
 * sessions included. One channel, gaps 3.44 h / 139.91 h / 1.01 h / 3.90 h,
 * only the last session closer-eligible; memberships 1, 0.02, 1, 0, 0.034
 * (sum 2.054), so the survivors' Ĩ = 0.487 / 0 / 0.0164 and C̃ = 0 / 0 / 1,
 * and the API answers H = 0.3656 / 0.5092 / 0.1252 (survivors only over the
 * survivors gave 0.1883 / 0.6536 / 0.1581).
 */
static void test_holder_after_restart(void **state)
{
    (void)state;
    attrib_ihc_params *p = builtin("base"); /* the doc's g-curve and boundary law */
    /* m_I: a ramp through (3.44 h, 0.02) and (3.90 h, 0.034), 0 below, 1 at its end. */
    double slope = 0.014 / 0.46, x0 = 3.44 - 0.02 / slope;
    p->m_i.n = 3;
    p->m_i.x[0] = 0.0, p->m_i.y[0] = 0.0;
    p->m_i.x[1] = x0, p->m_i.y[1] = 0.0;
    p->m_i.x[2] = x0 + 1.0 / slope, p->m_i.y[2] = 1.0;
    assert_true(p->m_i.x[2] < 139.91);
    static const int64_t gap[4] = {12384, 503676, 3636, 14040}; /* seconds */
    attrib_session s[5];
    int64_t t = 1700000000;
    for (int k = 0; k < 5; k++) {
        t += k > 0 ? gap[k - 1] : 0;
        s[k] = sess(t, 0, 1, k == 4);
    }
    attrib_credit out[5];
    attrib__ihc_compute(p, NULL, 0, NULL, false, s, 5, out);
    for (int k = 0; k < 2; k++)
        assert_true(out[k].ihc == 0.0 && out[k].initializer == 0.0 && out[k].holder == 0.0 &&
                    out[k].closer == 0.0);
    /* Exactly the rule, with this model's G... */
    double sum = 1.0 + 0.02 + 1.0 + 0.0 + 0.034;
    double g[3] = {attrib__ihc_holder_eval(p, 1.0 / sum, 0.0), attrib__ihc_holder_eval(p, 0.0, 0.0),
                   attrib__ihc_holder_eval(p, 0.034 / sum, 1.0)};
    double gs = g[0] + g[1] + g[2];
    for (int k = 0; k < 3; k++)
        assert_near(out[2 + k].holder, g[k] / gs, 1e-9);
    /* ...and the API's numbers to its 4 decimals (the base G is the doc's curve). */
    assert_near(out[2].holder, 0.3656, 6e-4);
    assert_near(out[3].holder, 0.5092, 6e-4);
    assert_near(out[4].holder, 0.1252, 6e-4);
    assert_near(g[2], 0.246, 1e-3); /* boundary law (2 - 0.0164 - 1) / 4 */
    /* The surviving phases themselves are normalized over the survivors. */
    assert_near(out[2].initializer + out[3].initializer + out[4].initializer, 1.0, 1e-12);
    assert_near(out[4].closer, 1.0, 1e-12);
    attrib__ihc_params_free(p);
}

static void test_empty_holder_and_weights(void **state)
{
    (void)state;
    attrib_ihc_params *p = builtin("default");
    const int64_t H = 3600;
    attrib_session s[3] = {sess(0, 0, 0, 1), sess(100 * H, 1, 0, 0), sess(101 * H, 0, 0, 1)};
    attrib_credit out[3];
    attrib__ihc_compute(p, NULL, 0, NULL, false, s, 3, out);
    double wi = p->phase_w[0], wc = p->phase_w[2];
    for (int k = 0; k < 3; k++) {
        assert_true(out[k].holder == 0.0);
        /* The holder weight leaves the denominator (docs/ihc-api.md §8.2). */
        assert_near(out[k].ihc, (wi * out[k].initializer + wc * out[k].closer) / (wi + wc), 1e-12);
    }
    assert_true(out[1].closer == 0.0); /* closer_engagement 0 and not last */
    /* A channel weight scales that channel's raw values before normalising. */
    attrib_ihc_chan ch[2] = {{{1, 1, 2}, 0}, {{1, 1, 1}, 0}};
    attrib_credit w[3];
    attrib__ihc_compute(p, ch, 2, NULL, false, s, 3, w);
    assert_near(w[0].closer, out[0].closer, 1e-12); /* both closers are channel 0: cancels */
    ch[0].w[0] = 2.0;                               /* initializer weight of channel 0 */
    attrib__ihc_compute(p, ch, 2, NULL, false, s, 3, w);
    double r0 = out[0].initializer * 2, r1 = out[1].initializer;
    assert_near(w[0].initializer, r0 / (r0 + r1 + 2 * out[2].initializer), 1e-12);
    attrib__ihc_params_free(p);
}

/* ---- redistribution, docs/ihc-api.md §3 (journey b5455601a5) ---- */

static void test_redistribution_example(void **state)
{
    (void)state;
    /* channels: 0 Shopping - Non Brand, 1 SEO, 2 Direct */
    attrib_ihc_chan ch[3] = {{{1, 1, 1}, 0}, {{1, 1, 1}, 0}, {{1, 1, 1}, 0x7}};
    attrib_session s[4] = {sess(0, 0, 0, 0), sess(1, 1, 1, 0), sess(2, 0, 1, 1), sess(3, 2, 1, 1)};
    attrib_credit c[4] = {
        {0, 1.0, 0, 0}, {0, 0, 0.4322, 0}, {0, 0, 0.3807, 0.2776}, {0, 0, 0.1871, 0.7224}};
    static const char *const labels[] = {"Direct"};
    attrib_redistribution rd = {{ATTRIB_REDIST_ANY, 0.0, labels, 1},
                                {ATTRIB_REDIST_ANY, 0.01, labels, 1},
                                {ATTRIB_REDIST_ANY, 0.01, labels, 1}};
    attrib__ihc_redistribute(ch, 3, &rd, s, 0, 4, c);
    static const double want_h[4] = {0, 0.5317, 0.4683, 0}, want_c[4] = {0, 0, 1, 0};
    static const double want_ihc[4] = {0.331, 0.201, 0.468, 0.0};
    for (int k = 0; k < 4; k++) {
        assert_near(c[k].holder, want_h[k], 5e-5);
        assert_near(c[k].closer, want_c[k], 5e-5);
        double ihc = 0.331 * c[k].initializer + 0.378 * c[k].holder + 0.291 * c[k].closer;
        assert_near(ihc, want_ihc[k], 5e-4);
    }
    assert_near(c[0].initializer, 1.0, 0);
    /* Directions: earlier_sessions_only gives nothing to later sessions. */
    attrib_credit d[4] = {{0, 0, 0.2, 0}, {0, 0, 0.3, 0}, {0, 0, 0.1, 0}, {0, 0, 0.4, 0}};
    attrib_redistribution early = {{ATTRIB_REDIST_NONE, 0, NULL, 0},
                                   {ATTRIB_REDIST_EARLIER, 0.0, labels, 1},
                                   {ATTRIB_REDIST_NONE, 0, NULL, 0}};
    attrib_ihc_chan ch2[3] = {{{1, 1, 1}, 0}, {{1, 1, 1}, 0}, {{1, 1, 1}, 0x2}};
    s[1].channel = 2; /* session 1 is a donor; only session 0 is before it */
    attrib__ihc_redistribute(ch2, 3, &early, s, 0, 4, d);
    /* Session 1's 0.3 all goes to session 0; session 3's 0.4 to sessions 0 and
     * 2 in proportion to their values before redistribution (0.2 : 0.1). */
    assert_near(d[0].holder, 0.2 + 0.3 + 0.4 * 2.0 / 3.0, 1e-12);
    assert_near(d[2].holder, 0.1 + 0.4 / 3.0, 1e-12);
    assert_true(d[1].holder == 0.0 && d[3].holder == 0.0);
    /* A donor without eligible receivers keeps its value (our choice). */
    attrib_credit e[2] = {{0, 0, 0.0, 0}, {0, 0, 1.0, 0}};
    attrib_session s2[2] = {sess(0, 0, 0, 0), sess(1, 2, 1, 1)};
    attrib__ihc_redistribute(ch2, 3, &early, s2, 0, 2, e);
    assert_near(e[1].holder, 1.0, 0);
}

/* ---- invariants on generated journeys ---- */

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void check_invariants(const char *builtin_name, const attrib_redistribution *rd)
{
    attrib_ctx *ctx = new_ctx();
    attrib_model_options mo = ATTRIB_MODEL_OPTIONS_INIT;
    mo.builtin = builtin_name;
    mo.redistribution = rd;
    attrib_model *m = NULL;
    assert_int_equal(attrib_model_new(ctx, attrib_model_find("ihc"), &mo, &m), ATTRIB_OK);
    static const char *const names[] = {"Direct Traffic", "Newsletter & Email", "Performance Max",
                                        "Never Seen"};
    attrib_channels chans = {names, 4};
    assert_int_equal(attrib_model_bind(m, ctx, &chans), ATTRIB_OK);
    attrib_session s[40];
    attrib_credit out[40];
    for (int it = 0; it < 20000; it++) {
        size_t n = 1 + rnd() % (it % 10 == 0 ? 40 : 6);
        int64_t t = 1700000000;
        for (size_t k = 0; k < n; k++) {
            uint64_t r = rnd();
            int64_t gap = r % 4 == 0 ? 0 : (int64_t)(rnd() % (r % 3 == 0 ? 600 * 3600 : 7200));
            t += k > 0 ? gap : 0;
            s[k] = sess(t, (uint32_t)(rnd() % 4), (int)(rnd() % 2), (int)(rnd() % 2));
        }
        attrib_journey j = {.conv_id = "c", .sessions = s, .n = n};
        assert_int_equal(attrib_model_attribute(m, &j, out), ATTRIB_OK);
        double si = 0, sh = 0, sc = 0, sum = 0;
        for (size_t k = 0; k < n; k++) {
            const attrib_credit *c = &out[k];
            assert_true(c->ihc >= 0 && c->ihc <= 1 + 1e-12);
            assert_true(c->initializer >= 0 && c->initializer <= 1 + 1e-12);
            assert_true(c->holder >= 0 && c->holder <= 1 + 1e-12);
            assert_true(c->closer >= 0 && c->closer <= 1 + 1e-12);
            sum += c->ihc;
            si += c->initializer;
            sh += c->holder;
            sc += c->closer;
        }
        assert_near(sum, 1.0, 1e-9);
        assert_near(si, 1.0, 1e-9);
        assert_near(sc, 1.0, 1e-9);
        assert_true(fabs(sh - 1.0) <= 1e-9 || sh == 0.0);
        if (n == 1)
            assert_true(out[0].ihc == 1.0 && out[0].initializer == 1.0 && out[0].holder == 0.0 &&
                        out[0].closer == 1.0);
    }
    attrib_model_free(m);
    attrib_ctx_free(ctx);
}

static void test_invariants(void **state)
{
    (void)state;
    static const char *const labels[] = {"Direct Traffic"};
    attrib_redistribution rd = {{ATTRIB_REDIST_EARLIER, 0.0, labels, 1},
                                {ATTRIB_REDIST_ANY, 0.01, labels, 1},
                                {ATTRIB_REDIST_LATER, 0.1, labels, 1}};
    check_invariants("default", NULL);
    check_invariants("base", NULL);
    check_invariants("default", &rd);
}

/* ---- model files ---- */

static void test_model_file_errors(void **state)
{
    (void)state;
    attrib_ctx *ctx = new_ctx();
    attrib_ihc_params *p = NULL;
    const char *bad = "{\"format\":\"attrib-ihc-model/1\",\"phase_weights\":{\"initializer\":0.3,"
                      "\"holder\":-1,\"closer\":0.3}}";
    assert_int_equal(attrib__ihc_params_parse(ctx, bad, strlen(bad), "m.json", &p), ATTRIB_EPARSE);
    assert_null(p);
    assert_non_null(strstr(attrib_errmsg(ctx), "m.json"));
    assert_non_null(strstr(attrib_errmsg(ctx), "phase_weights.holder"));
    assert_non_null(strstr(attrib_errmsg(ctx), "-1"));
    attrib_ctx_free(ctx);
    ctx = new_ctx();
    assert_int_equal(attrib__ihc_params_load(ctx, "/nonexistent/m.json", &p), ATTRIB_ENOTFOUND);
    assert_non_null(strstr(attrib_errmsg(ctx), "/nonexistent/m.json"));
    attrib_ctx_free(ctx);
    ctx = new_ctx();
    assert_int_equal(attrib__ihc_params_builtin(ctx, "nope", &p), ATTRIB_EINVAL);
    attrib_ctx_free(ctx);
    /* Round trip: serialize the default and parse it back. */
    ctx = new_ctx();
    attrib_ihc_params *d = NULL, *e = NULL;
    char *text = NULL;
    assert_int_equal(attrib__ihc_params_builtin(ctx, "default", &d), ATTRIB_OK);
    assert_int_equal(attrib__ihc_params_to_json(ctx, d, &text), ATTRIB_OK);
    assert_int_equal(attrib__ihc_params_parse(ctx, text, strlen(text), "rt", &e), ATTRIB_OK);
    assert_int_equal(e->n_channels, d->n_channels);
    assert_int_equal(e->m_c.n, d->m_c.n);
    assert_true(memcmp(e->g, d->g, d->g_n * d->g_n * sizeof(double)) == 0);
    assert_true(memcmp(e->m_i.y, d->m_i.y, d->m_i.n * sizeof(double)) == 0);
    free(text);
    attrib__ihc_params_free(d);
    attrib__ihc_params_free(e);
    attrib_ctx_free(ctx);
}

/* ---- calibrate → eval on generated API calls (audit-directory layout) ---- */

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_calibrate_round_trip(void **state)
{
    (void)state;
    attrib_ctx *ctx = new_ctx();
    char dir[] = "/tmp/attrib_test_ihc_XXXXXX";
    assert_non_null(mkdtemp(dir));
    /* "Truth": the shipped default with distinct channel weights. */
    attrib_ihc_params *truth = builtin("default");
    static const char *const names[] = {"Direct Traffic", "Newsletter & Email", "Performance Max",
                                        "Referral"};
    attrib_channels chans = {names, 4};
    attrib_ihc_chan tw[4];
    for (int c = 0; c < 4; c++) {
        const attrib_ihc_channel *w = attrib__ihc_params_channel(truth, names[c]);
        for (int q = 0; q < 3; q++)
            tw[c].w[q] = w != NULL ? w->w[q] : 1.0;
        tw[c].donor = 0;
    }
    enum { NJ = 900, PER_REQ = 100 };
    static attrib_session s[NJ][8];
    static attrib_journey j[NJ];
    static char ids[NJ][8][24], cids[NJ][24];
    rng_state = 12345;
    for (int r = 0; r < NJ / PER_REQ; r++) {
        const attrib_journey *jp[PER_REQ];
        attrib_ihc_row rows[PER_REQ * 8];
        size_t nr = 0;
        for (int q = 0; q < PER_REQ; q++) {
            int i = r * PER_REQ + q;
            size_t n = 2 + rnd() % 5;
            int64_t t = 1693000000 + (int64_t)(rnd() % 86400);
            snprintf(cids[i], sizeof(cids[i]), "conv%05d", i);
            for (size_t k = 0; k < n; k++) {
                uint64_t g = rnd() % 3;
                t += k == 0 ? 0
                            : (int64_t)(rnd() % (g == 0   ? 1800
                                                 : g == 1 ? 30 * 3600
                                                          : 200 * 3600));
                snprintf(ids[i][k], sizeof(ids[i][k]), "s%05d_%zu", i, k);
                s[i][k] = sess(t, (uint32_t)(rnd() % 4), (int)(rnd() % 4 != 0), (int)(rnd() % 2));
                s[i][k].id = ids[i][k];
            }
            j[i] = (attrib_journey){.conv_id = cids[i], .sessions = s[i], .n = n};
            jp[q] = &j[i];
            attrib_credit out[8];
            attrib__ihc_compute(truth, tw, 4, NULL, true, s[i], n, out);
            for (size_t k = 0; k < n; k++)
                rows[nr++] = (attrib_ihc_row){cids[i], ids[i][k], out[k]};
        }
        char *body = NULL, path[128];
        size_t len = 0;
        assert_int_equal(attrib_ihc_request_write(ctx, jp, PER_REQ, &chans, NULL, &body, &len),
                         ATTRIB_OK);
        snprintf(path, sizeof(path), "%s/%06d.request.json", dir, r);
        write_file(path, body, len);
        free(body);
        assert_int_equal(attrib_ihc_response_write(ctx, 200, rows, nr, NULL, 0, &body, &len),
                         ATTRIB_OK);
        snprintf(path, sizeof(path), "%s/%06d.response.json", dir, r);
        write_file(path, body, len);
        free(body);
    }
    /* Failed attempts as the API client keeps them: an error body, and a
     * request whose response never came. */
    const char *one_req = "{\"customer_journeys\":[{\"conversion_id\":\"x\",\"session_id\":\"y\","
                          "\"timestamp\":\"2023-09-01 10:00:00\",\"channel_label\":\"Referral\","
                          "\"holder_engagement\":0,\"closer_engagement\":0,\"conversion\":1}]}";
    char path[160];
    snprintf(path, sizeof(path), "%s/000099.request.json", dir);
    write_file(path, one_req, strlen(one_req));
    snprintf(path, sizeof(path), "%s/000099.response.json", dir);
    write_file(path, "{\"message\":\"Too Many Requests\"}", 31);
    snprintf(path, sizeof(path), "%s/000098.request.json", dir);
    write_file(path, one_req, strlen(one_req));
    attrib_ihc_dataset *ds = NULL;
    if (attrib_ihc_dataset_load_audit(ctx, dir, &ds) != ATTRIB_OK)
        fail_msg("%s", attrib_errmsg(ctx));
    assert_int_equal(attrib_ihc_dataset_journeys(ds), NJ);
    assert_int_equal(attrib_ihc_dataset_skipped_calls(ds), 2);
    snprintf(path, sizeof(path), "%s/000099.request.json", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/000099.response.json", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/000098.request.json", dir);
    unlink(path);
    char model[160];
    snprintf(model, sizeof(model), "%s/model.json", dir);
    attrib_ihc_calibrate_options co = ATTRIB_IHC_CALIBRATE_OPTIONS_INIT;
    co.split = ATTRIB_IHC_SPLIT_TRAIN;
    co.sweeps = 15;
    attrib_ihc_eval_summary fit, held, base;
    assert_int_equal(attrib_ihc_calibrate(ctx, ds, &co, model, &fit, NULL), ATTRIB_OK);
    attrib_ihc_eval_options eo = ATTRIB_IHC_EVAL_OPTIONS_INIT;
    eo.split = ATTRIB_IHC_SPLIT_HOLDOUT;
    attrib_model_options mo = ATTRIB_MODEL_OPTIONS_INIT;
    mo.model_file = model;
    assert_int_equal(attrib_ihc_eval(ctx, ds, &mo, &eo, &held, NULL), ATTRIB_OK);
    mo.model_file = NULL;
    mo.builtin = "base";
    assert_int_equal(attrib_ihc_eval(ctx, ds, &mo, &eo, &base, NULL), ATTRIB_OK);
    assert_true(held.journeys > 150 && held.journeys < 400);
    assert_true(held.mae[0] < 0.002);
    assert_true(held.mae[0] < base.mae[0] / 10);
    assert_true(fit.mae[0] < 0.002);
    /* Deterministic: a second run writes the same file. */
    char model2[160];
    snprintf(model2, sizeof(model2), "%s/model2.json", dir);
    assert_int_equal(attrib_ihc_calibrate(ctx, ds, &co, model2, NULL, NULL), ATTRIB_OK);
    attrib_ihc_params *a = NULL, *b = NULL;
    char *ta = NULL, *tb = NULL;
    assert_int_equal(attrib__ihc_params_load(ctx, model, &a), ATTRIB_OK);
    assert_int_equal(attrib__ihc_params_load(ctx, model2, &b), ATTRIB_OK);
    assert_int_equal(attrib__ihc_params_to_json(ctx, a, &ta), ATTRIB_OK);
    assert_int_equal(attrib__ihc_params_to_json(ctx, b, &tb), ATTRIB_OK);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    attrib__ihc_params_free(a);
    attrib__ihc_params_free(b);
    for (int r = 0; r < NJ / PER_REQ; r++) {
        snprintf(path, sizeof(path), "%s/%06d.request.json", dir, r);
        unlink(path);
        snprintf(path, sizeof(path), "%s/%06d.response.json", dir, r);
        unlink(path);
    }
    unlink(model);
    unlink(model2);
    rmdir(dir);
    attrib_ihc_dataset_free(ds);
    attrib__ihc_params_free(truth);
    attrib_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_default),
        cmocka_unit_test(test_one_session),
        cmocka_unit_test(test_restart_truncation),
        cmocka_unit_test(test_holder_after_restart),
        cmocka_unit_test(test_empty_holder_and_weights),
        cmocka_unit_test(test_redistribution_example),
        cmocka_unit_test(test_invariants),
        cmocka_unit_test(test_model_file_errors),
        cmocka_unit_test(test_calibrate_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
