/*
 * The IHC API client against `attrib serve` on loopback (no auth), with
 * realistic journey lengths (mostly 1-3 sessions, a heavy tail): requests
 * per second, sessions per second, mean fill of the session cap, requests
 * planned against the lower bound, and the CPU time of JSON encoding and
 * decoding per session on the client side. Runs the free-tier caps
 * (100 journeys / 200 sessions) and the documented caps (100 / 3000).
 *
 *   make bench-api [BENCH_API_CONVERSIONS=100000]
 */
#include "attrib/api.h"
#include "attrib/serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rs = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static size_t g_results;

static int on_result(const attrib_journey *j, const attrib_credit *c, void *p)
{
    (void)j;
    (void)c;
    (void)p;
    g_results++;
    return 0;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 100000;
    if (n == 0)
        n = 100000;
    static const char *names[] = {"SEO",         "Direct Traffic",  "Newsletter & Email",
                                  "SEA - Brand", "SEA - Non Brand", "FB & IG Ads",
                                  "Referral",    "Affiliate"};
    attrib_channels ch = {names, 8};
    attrib_journey *js = calloc(n, sizeof(*js));
    size_t *len = calloc(n, sizeof(*len)), total = 0;
    for (size_t i = 0; i < n; i++) { /* 58/21/14/5% for 1/2/3-4/5-8 like the real data */
        len[i] = 1;
        while (len[i] < 60 && rnd() % 100 < 42)
            len[i]++;
        total += len[i];
    }
    attrib_session *ss = calloc(total, sizeof(*ss));
    char *ids = malloc((n + total) * 24);
    if (js == NULL || len == NULL || ss == NULL || ids == NULL)
        return 1;
    char *id = ids;
    for (size_t i = 0, at = 0; i < n; i++) {
        snprintf(id, 24, "%016llx", (unsigned long long)rnd());
        js[i] = (attrib_journey){.conv_id = id, .sessions = &ss[at], .n = len[i]};
        id += 24;
        for (size_t k = 0; k < len[i]; k++) {
            snprintf(id, 24, "%016llx", (unsigned long long)rnd());
            ss[at + k] = (attrib_session){.id = id,
                                          .ts = 1693526400 + (int64_t)(i * 60 + k * 3600),
                                          .channel = (uint32_t)(rnd() % 8),
                                          .holder = (uint8_t)(rnd() & 1),
                                          .closer = (uint8_t)(rnd() & 1)};
            id += 24;
        }
        at += len[i];
    }
    attrib_ctx *ctx = NULL;
    attrib_server *srv = NULL;
    if (attrib_ctx_new(&ctx) != 0)
        return 1;
    attrib_serve_options so = ATTRIB_SERVE_OPTIONS_INIT;
    so.model = attrib_model_find("ihc") != NULL ? "ihc" : "linear";
    so.no_auth = true;
    so.threads = 2;
    so.max_sessions = 3000;
    if (attrib_serve_new(ctx, &so, &srv) != 0) {
        fprintf(stderr, "api_bench: %s\n", attrib_errmsg(ctx));
        return 1;
    }
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/compute_ihc",
             (unsigned)attrib_serve_port(srv));
    printf("api_bench: %zu conversions, %zu sessions (%.2f per journey), serve model %s, "
           "loopback, concurrency 4\n",
           n, total, (double)total / (double)n, so.model);
    printf("%-10s %8s %8s %8s %10s %12s %9s %12s %12s\n", "caps", "requests", "bound", "wall s",
           "req/s", "sessions/s", "fill", "enc ns/sess", "dec ns/sess");
    static const size_t caps[2] = {200, 3000};
    int rc = 0;
    for (int c = 0; c < 2 && rc == 0; c++) {
        attrib_api_options o = ATTRIB_API_OPTIONS_INIT;
        o.api_url = url;
        o.conv_type_id = "bench";
        o.api_key = "unused-on-no-auth";
        o.max_sessions = caps[c];
        o.seed = 1;
        attrib_api_client *cl = NULL;
        attrib_api_callbacks cb = {0};
        cb.on_result = on_result;
        g_results = 0;
        if (attrib_api_client_new(ctx, &o, &cl) != 0) {
            fprintf(stderr, "api_bench: %s\n", attrib_errmsg(ctx));
            return 1;
        }
        double t0 = mono(), c0 = cpu();
        rc = attrib_api_client_run(cl, js, n, &ch, &cb, NULL);
        double wall = mono() - t0, cpus = cpu() - c0;
        const attrib_api_stats *st = attrib_api_client_stats(cl);
        if (rc != 0 || g_results != n)
            fprintf(stderr, "api_bench: run failed (%d, %zu results): %s\n", rc, g_results,
                    attrib_errmsg(ctx));
        char label[16];
        snprintf(label, sizeof(label), "100/%zu", caps[c]);
        printf("%-10s %8zu %8zu %8.2f %10.0f %12.0f %8.1f%% %12.0f %12.0f\n", label, st->requests,
               st->lower_bound, wall, (double)st->requests / wall, (double)st->sessions / wall,
               100.0 * st->mean_fill, 1e9 * st->encode_cpu_s / (double)st->sessions,
               1e9 * st->decode_cpu_s / (double)st->sessions);
        printf(
            "           (process CPU %.2f s incl. the server; requests over the bound: %+.1f%%)\n",
            cpus, 100.0 * ((double)st->requests / (double)st->lower_bound - 1));
        attrib_api_client_free(cl);
    }
    attrib_serve_free(srv);
    attrib_ctx_free(ctx);
    free(js);
    free(len);
    free(ss);
    free(ids);
    return rc == 0 ? 0 : 1;
}
