/*
 * Benchmark of the local IHC engine alone: journeys per second on one core
 * through the model interface (attrib_model_attribute), on generated journeys
 * whose lengths follow the real IHC data (about 57% one session, 22% two,
 * 14% three or four, 5% five to eight, 2% longer), 13 channels.
 *
 *   build/bench/engine_bench [JOURNEYS]       (default 2000000)
 */
#include "attrib/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t journey_len(void)
{
    uint64_t r = rnd() % 100;
    if (r < 57)
        return 1;
    if (r < 79)
        return 2;
    if (r < 93)
        return 3 + rnd() % 2;
    if (r < 98)
        return 5 + rnd() % 4;
    return 9 + rnd() % 24;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *const names[] = {"Direct Traffic",
                                    "Performance Max",
                                    "Newsletter & Email",
                                    "Paid Search Brand",
                                    "Organic Traffic",
                                    "FB & IG Ads",
                                    "Affiliate & Partnerships",
                                    "Referral",
                                    "Paid Search Non Brand",
                                    "Untracked Conversions",
                                    "Social Organic",
                                    "Microsoft Ads",
                                    "TikTok Ads"};

static int run(const char *label, const char *builtin, bool rounding,
               const attrib_redistribution *rd, const attrib_journey *js, size_t nj,
               size_t n_sessions, attrib_credit *out)
{
    attrib_ctx *ctx = NULL;
    attrib_model *m = NULL;
    attrib_model_options mo = ATTRIB_MODEL_OPTIONS_INIT;
    attrib_channels chans = {names, sizeof(names) / sizeof(names[0])};
    mo.builtin = builtin;
    mo.api_rounding = rounding;
    mo.redistribution = rd;
    if (attrib_ctx_new(&ctx) != ATTRIB_OK ||
        attrib_model_new(ctx, attrib_model_find("ihc"), &mo, &m) != ATTRIB_OK ||
        attrib_model_bind(m, ctx, &chans) != ATTRIB_OK) {
        fprintf(stderr, "engine_bench: %s\n", ctx != NULL ? attrib_errmsg(ctx) : "no memory");
        return 1;
    }
    double best = 1e30, check = 0.0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        size_t off = 0;
        for (size_t j = 0; j < nj; j++) {
            attrib_model_attribute(m, &js[j], out + off);
            off += js[j].n;
        }
        double dt = now() - t0;
        if (dt < best)
            best = dt;
        check = 0.0;
        for (size_t k = 0; k < n_sessions; k++)
            check += out[k].ihc;
    }
    printf("%-34s %12.0f journeys/s %12.0f sessions/s  (sum ihc %.3f of %zu)\n", label,
           (double)nj / best, (double)n_sessions / best, check, nj);
    attrib_model_free(m);
    attrib_ctx_free(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    size_t nj = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000;
    attrib_journey *js = calloc(nj, sizeof(*js));
    size_t cap = nj * 3 + 64, n = 0;
    attrib_session *ss = calloc(cap, sizeof(*ss));
    if (js == NULL || ss == NULL)
        return 1;
    for (size_t j = 0; j < nj; j++) {
        size_t len = journey_len();
        if (n + len > cap) {
            nj = j;
            break;
        }
        int64_t t = 1693000000 + (int64_t)(rnd() % 864000);
        for (size_t k = 0; k < len; k++) {
            uint64_t g = rnd() % 3;
            t += k == 0 ? 0 : (int64_t)(rnd() % (g == 0 ? 1800 : g == 1 ? 30 * 3600 : 200 * 3600));
            ss[n + k] = (attrib_session){.id = "s",
                                         .ts = t,
                                         .channel = (uint32_t)(rnd() % 13),
                                         .holder = (uint8_t)(rnd() % 4 != 0),
                                         .closer = (uint8_t)(rnd() % 2)};
        }
        js[j] = (attrib_journey){.conv_id = "c", .sessions = ss + n, .n = len};
        n += len;
    }
    attrib_credit *out = calloc(n + 1, sizeof(*out));
    if (out == NULL)
        return 1;
    printf("engine_bench: %zu journeys, %zu sessions (%.2f per journey), one core\n", nj, n,
           (double)n / (double)nj);
    static const char *const direct[] = {"Direct Traffic"};
    attrib_redistribution rd = {{ATTRIB_REDIST_EARLIER, 0.0, direct, 1},
                                {ATTRIB_REDIST_ANY, 0.0, direct, 1},
                                {ATTRIB_REDIST_LATER, 0.1, direct, 1}};
    int rc = run("ihc default", "default", false, NULL, js, nj, n, out);
    rc |= run("ihc default, API rounding", "default", true, NULL, js, nj, n, out);
    rc |= run("ihc default, redistribution", "default", false, &rd, js, nj, n, out);
    rc |= run("ihc base", "base", false, NULL, js, nj, n, out);
    free(out);
    free(ss);
    free(js);
    return rc;
}
