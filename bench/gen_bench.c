/*
 * Benchmark of the synthetic data generator alone (no storage): sessions per
 * second on one core, and a profile of what it produced (users, conversion
 * rate, double converters, cost rows, channel mix, journey lengths) so the
 * realism can be checked at a glance.
 *
 *   build/bench/gen_bench [SESSIONS [SEED]]      (default 10000000, seed 1)
 */
#include "attrib/gen.h"
#include "util/strmap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CH 64
#define LEN_BUCKETS 8

/* Per user: sessions and conversions so far. */
typedef struct {
    uint32_t sessions, convs;
} user_count;

typedef struct {
    uint64_t bytes;                  /* keeps the compiler from skipping work */
    uint64_t null_costs, free_costs; /* cost rows with NULL, with 0 */
    double cost_sum, revenue_sum;
    attrib_strmap ids; /* user_id -> index into users (profile only, not timed) */
    user_count *users;
    size_t cap_users;
    int64_t last_user;
    int profiling;                  /* 0 in the timed run */
    uint64_t len_hist[LEN_BUCKETS]; /* sessions per user: 1,2,3-4,5-8,...,>64 */
    const char *ch_name[MAX_CH];
    uint64_t ch_count[MAX_CH];
    uint64_t holder, closer, impression;
    uint64_t journey_hist[LEN_BUCKETS]; /* sessions before a conversion, same buckets */
    uint64_t journey_sessions;
} profile;

static int bucket(uint64_t n)
{
    int b = 0;
    for (; n > 1 && b < LEN_BUCKETS - 1; n = (n + 1) / 2)
        b++;
    return b;
}

static int on_session(const attrib_gen_session *s, void *payload)
{
    profile *p = payload;
    p->bytes += (uint64_t)(s->session_id[63] + s->event_time[7] + s->event_date[9]);
    if (p->profiling) {
        int64_t ui = attrib_strmap_intern(&p->ids, s->user_id, 64, NULL);
        if (ui < 0)
            return ATTRIB_ENOMEM;
        if ((size_t)ui >= p->cap_users) {
            size_t cap = p->cap_users ? p->cap_users * 2 : 4096;
            user_count *u = realloc(p->users, cap * sizeof(*u));
            if (u == NULL)
                return ATTRIB_ENOMEM;
            memset(u + p->cap_users, 0, (cap - p->cap_users) * sizeof(*u));
            p->users = u;
            p->cap_users = cap;
        }
        p->users[ui].sessions++;
        p->last_user = ui;
    }
    for (int i = 0; i < MAX_CH; i++) {
        if (p->ch_name[i] == NULL)
            p->ch_name[i] = s->channel_name;
        if (p->ch_name[i] == s->channel_name) {
            p->ch_count[i]++;
            break;
        }
    }
    p->holder += (uint64_t)s->holder_engagement;
    p->closer += (uint64_t)s->closer_engagement;
    p->impression += (uint64_t)s->impression_interaction;
    return 0;
}

static int on_conversion(const attrib_gen_conversion *c, void *payload)
{
    profile *p = payload;
    p->bytes += (uint64_t)c->conv_id[63];
    p->revenue_sum += c->revenue;
    if (p->profiling && p->last_user >= 0) { /* its converting session came just before */
        user_count *u = &p->users[p->last_user];
        u->convs++;
        p->journey_hist[bucket(u->sessions)]++;
        p->journey_sessions += u->sessions;
    }
    return 0;
}

static int on_cost(const attrib_gen_cost *c, void *payload)
{
    profile *p = payload;
    p->bytes += (uint64_t)c->session_id[63];
    if (c->cost_is_null)
        p->null_costs++;
    else if (c->cost == 0)
        p->free_costs++;
    else
        p->cost_sum += c->cost;
    return 0;
}

static double now_s(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    attrib_gen_options o = ATTRIB_GEN_OPTIONS_INIT;
    o.sessions = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
    o.seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    attrib_ctx *ctx = NULL;
    if (attrib_ctx_new(&ctx) != 0)
        return 1;
    profile *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return 1;
    attrib_gen_sink sink = {on_session, on_conversion, on_cost};
    attrib_gen_stats st;
    /* Timed: the generator alone. Then again, untimed, to profile the rows. */
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    int rc = attrib_gen_run(ctx, &o, &sink, p, &st);
    double wall = now_s(CLOCK_MONOTONIC) - w0, cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (rc == 0) {
        printf("gen: %" PRIu64 " sessions in %.3f s wall, %.3f s CPU: %.2f M sessions/s (CPU)\n",
               st.sessions, wall, cpu, (double)st.sessions / cpu / 1e6);
        fflush(stdout);
        memset(p, 0, sizeof(*p));
        attrib_strmap m = ATTRIB_STRMAP_INIT;
        p->ids = m;
        p->profiling = 1;
        p->last_user = -1;
        rc = attrib_gen_run(ctx, &o, &sink, p, &st);
    }
    if (rc != 0) {
        fprintf(stderr, "gen_bench: %s\n", attrib_errmsg(ctx));
        return 1;
    }
    uint64_t converters = 0, twice = 0;
    for (size_t i = 0; i < p->ids.count; i++) {
        converters += p->users[i].convs > 0;
        twice += p->users[i].convs > 1;
        p->len_hist[bucket(p->users[i].sessions)]++;
    }
    uint64_t convs = st.conversions ? st.conversions : 1;
    printf("users %" PRIu64 " (%.2f sessions/user), conversions %" PRIu64
           ", converting users %.2f%%, of which twice %.1f%%\n",
           st.users, (double)st.sessions / (double)st.users, st.conversions,
           100.0 * (double)converters / (double)st.users,
           100.0 * (double)twice / (double)(converters ? converters : 1));
    printf("cost rows %.1f%% of sessions (NULL %" PRIu64 ", zero %" PRIu64
           "), cost/session %.3f EUR, revenue/conversion %.2f EUR\n",
           100.0 * (double)st.costs / (double)st.sessions, p->null_costs, p->free_costs,
           p->cost_sum / (double)st.sessions, p->revenue_sum / (double)convs);
    printf("flags: holder %.1f%%, closer %.1f%%, impression %.1f%%\n",
           100.0 * (double)p->holder / (double)st.sessions,
           100.0 * (double)p->closer / (double)st.sessions,
           100.0 * (double)p->impression / (double)st.sessions);
    printf("sessions/user (1, 2, 3-4, 5-8, 9-16, 17-32, 33-64, >64):");
    for (int b = 0; b < LEN_BUCKETS; b++)
        printf(" %.2f%%", 100.0 * (double)p->len_hist[b] / (double)st.users);
    printf("\njourney length (sessions of the user up to a conversion, same buckets, mean %.2f):",
           (double)p->journey_sessions / (double)convs);
    for (int b = 0; b < LEN_BUCKETS; b++)
        printf(" %.2f%%", 100.0 * (double)p->journey_hist[b] / (double)convs);
    printf("\nchannels:");
    for (int i = 0; i < MAX_CH && p->ch_name[i] != NULL; i++)
        printf(" %s %.1f%%;", p->ch_name[i], 100.0 * (double)p->ch_count[i] / (double)st.sessions);
    printf("\n(checksum %" PRIu64 ")\n", p->bytes);
    attrib_strmap_free(&p->ids);
    free(p->users);
    free(p);
    attrib_ctx_free(ctx);
    return 0;
}
