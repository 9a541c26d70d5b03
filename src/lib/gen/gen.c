/*
 * Synthetic dataset generator (SPEC §8), written as a small event
 * simulation so that rows come out in time order, as a real tracking table
 * fills up: users arrive day by day (a weekly rhythm, an hourly profile),
 * each with a planned number of sessions (heavy tail) and its own random
 * stream; a heap holds every active user keyed by the time of its next
 * session; popping the heap emits sessions in time order, users interleaved.
 * Memory is bounded by the users active at the same time (arrivals per day x
 * mean journey duration: ~1e5 users, a few MB, at 100M sessions over two
 * years), never by the size of the dataset.
 *
 * Ids are 64 lowercase hex digits, 256 random bits each (session,
 * conversion and user ids alike), as a real shop's tables hold them: rows
 * come out in time order, their ids in no order at all. At most `cap`
 * sessions are emitted (25% over the request).
 *
 * The span starts with a warm-up (users who arrived before start_date; their
 * earlier sessions are not emitted) so the first days look like the others.
 *
 * Determinism: only integer PRNG output and IEEE +, -, *, / are used (the
 * build does not contract to FMA under -std=c11), plus exp/log written here
 * in those operations, so a seed gives identical rows on any machine.
 */
#include "attrib/gen.h"

#include "lib/core/ctx.h"
#include "util/rng.h"
#include "util/ts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GEN_MAX_USER 400   /* most sessions planned for one user */
#define GEN_TAIL_ALPHA 1.7 /* P(sessions >= k) = k^-alpha */
#define GEN_DAYS_MAX 36500 /* span bound accepted from the caller */
#define GEN_WARMUP_DAYS 60 /* users arrive from up to this many days before the span */
#define GEN_CALIBRATION_USERS 100000
#define GEN_LN2 0.6931471805599453
#define GEN_SQRT3 1.7320508075688772

/* One marketing channel: share of first and of later sessions (weights),
 * median cost per session (0 = free), and the odds of a missing cost row, of
 * a NULL cost and of an impression-driven session. */
typedef struct {
    const char *name;
    uint32_t w_first, w_later;
    double cpc, p_no_row, p_null, p_impression;
} channel;

/* The 13 channels of the real IHC data plus three more paid ones. */
static const channel CHANNELS[] = {
    {"Direct Traffic", 10, 22, 0.0, 0.40, 0.02, 0.0},
    {"Organic Traffic", 12, 7, 0.0, 0.40, 0.02, 0.0},
    {"Performance Max", 16, 14, 0.45, 0.03, 0.01, 0.04},
    {"Paid Search Brand", 6, 12, 0.35, 0.03, 0.01, 0.0},
    {"Paid Search Non Brand", 8, 3, 1.10, 0.03, 0.01, 0.0},
    {"FB & IG Ads", 12, 5, 0.60, 0.03, 0.01, 0.08},
    {"Newsletter & Email", 4, 18, 0.02, 0.10, 0.02, 0.0},
    {"Affiliate & Partnerships", 5, 3, 1.50, 0.05, 0.02, 0.0},
    {"Referral", 4, 3, 0.0, 0.40, 0.02, 0.0},
    {"Social Organic", 2, 1, 0.0, 0.40, 0.02, 0.0},
    {"Microsoft Ads", 2, 1, 0.55, 0.03, 0.01, 0.0},
    {"TikTok Ads", 3, 1, 0.40, 0.03, 0.01, 0.10},
    {"Untracked Conversions", 1, 2, 0.0, 0.60, 0.02, 0.0},
    {"Display & Programmatic", 6, 2, 0.25, 0.03, 0.01, 0.35},
    {"YouTube Ads", 3, 1, 0.30, 0.03, 0.01, 0.25},
    {"Pinterest Ads", 2, 1, 0.45, 0.03, 0.01, 0.05},
};
#define N_CHANNELS (sizeof(CHANNELS) / sizeof(CHANNELS[0]))

/* Sessions per hour of day (UTC), from the real IHC data. */
static const uint32_t HOUR_WEIGHT[24] = {167, 74,  45,  27,  12,  17,  34,  92,
                                         172, 264, 256, 217, 160, 194, 194, 182,
                                         162, 168, 184, 173, 216, 231, 257, 211};

/* Relative traffic by weekday, Sunday first (mean 1). */
static const double WEEKDAY[7] = {0.92, 1.06, 1.05, 1.03, 1.0, 0.97, 0.97};

/* An active user: what it will do, and its own random stream (so the rows of
 * one user do not depend on who else is active). */
typedef struct {
    attrib_rng rng;
    char id[65];
    uint32_t n, i;        /* planned sessions; index of the next one */
    int32_t conv1, conv2; /* converting session indices, -1 = none */
    uint32_t channel;     /* channel of the previous session */
    bool seen;            /* has emitted a session */
} user;

typedef struct {
    int64_t t;  /* time of the user's next session */
    uint32_t u; /* index into users[]; also breaks ties deterministically */
} heap_entry;

typedef struct {
    attrib_rng rng;   /* arrivals and user seeds */
    uint64_t slot;    /* sequence number of the next emitted session */
    uint64_t cap;     /* most sessions emitted (ids must not overflow) */
    int64_t t0, t1;   /* the span: [t0, t1) in seconds */
    double per_day;   /* mean user arrivals per day */
    double arrivals;  /* fractional arrivals carried to the next day */
    user *users;      /* slab of active users */
    uint32_t *free_u; /* free slab slots */
    uint32_t n_users, cap_users, n_free;
    heap_entry *heap;
    size_t n_heap, cap_heap;
    uint64_t cum_first[N_CHANNELS], cum_later[N_CHANNELS], cum_hour[24];
    double tail[GEN_MAX_USER + 2]; /* tail[k] = P(sessions >= k) */
    double p_conv[GEN_MAX_USER + 1];
    int32_t cached_day; /* day held in date[] */
    char date[11], cdate[11], time[9], ctime[9];
    char sid[65], cid[65];
} gen_state;

/* exp and log from +, -, *, / only (see the file comment); accurate to about
 * 1e-15 relative, which is plenty for synthetic data. */
static double det_exp(double x)
{
    if (x > 700)
        x = 700;
    if (x < -700)
        x = -700;
    double k = floor(x / GEN_LN2 + 0.5);
    double r = x - k * GEN_LN2, sum = 1; /* |r| <= ln2/2: 14 terms reach 1e-16 */
    for (int i = 14; i >= 1; i--)
        sum = 1 + sum * r / i;
    return ldexp(sum, (int)k);
}

static double det_log(double x)
{
    int e;
    double m = frexp(x, &e); /* x = m * 2^e, m in [0.5, 1) */
    if (m < 0.7071067811865476) {
        m *= 2;
        e--;
    }
    double f = (m - 1) / (m + 1), s = f * f, term = f, sum = 0;
    for (int i = 1; i <= 27; i += 2) {
        sum += term / i;
        term *= s;
    }
    return e * GEN_LN2 + 2 * sum;
}

/* Uniform in (0, 1]: safe to take the log of. */
static double unit_open(attrib_rng *r)
{
    return (double)((attrib_rng_next(r) >> 11) + 1) * 0x1.0p-53;
}

/* Approximately standard normal: Irwin-Hall sum of n uniforms, n = 4 (one
 * random word, bounded at +-3.5) or 12 (bounded at +-6). */
static double normal4(attrib_rng *r)
{
    uint64_t w = attrib_rng_next(r);
    double s = (double)((w & 0xffff) + ((w >> 16) & 0xffff) + ((w >> 32) & 0xffff) + (w >> 48));
    return (s / 65536.0 - 2.0) * GEN_SQRT3;
}

static double normal12(attrib_rng *r)
{
    double s = 0;
    for (int i = 0; i < 12; i++)
        s += attrib_rng_unit(r);
    return s - 6.0;
}

static double round_cents(double x)
{
    return (double)(int64_t)(x * 100.0 + 0.5) / 100.0;
}

/* Index drawn from cumulative weights scaled to 2^64 - 1. */
static uint32_t pick(attrib_rng *r, const uint64_t *cum, uint32_t n)
{
    uint64_t w = attrib_rng_next(r);
    uint32_t i = 0;
    while (i + 1 < n && w >= cum[i])
        i++;
    return i;
}

static void cumulate(uint64_t *cum, const uint32_t *w, size_t n)
{
    uint64_t total = 0, acc = 0;
    for (size_t i = 0; i < n; i++)
        total += w[i];
    for (size_t i = 0; i < n; i++) {
        acc += w[i];
        cum[i] =
            acc == total ? UINT64_MAX : (uint64_t)((unsigned __int128)acc * UINT64_MAX / total);
    }
}

static void hex64(char *out, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) {
        out[i] = digits[v & 15];
        v >>= 4;
    }
}

/* A random 64-hex id. */
static void make_id(attrib_rng *r, char out[65])
{
    for (int i = 0; i < 4; i++)
        hex64(out + 16 * i, attrib_rng_next(r));
    out[64] = '\0';
}

static void format_time(char out[9], int64_t t)
{
    int64_t s = t - (int64_t)attrib_ts_day(t) * ATTRIB_SECS_PER_DAY;
    int h = (int)(s / 3600), m = (int)(s / 60 % 60), sec = (int)(s % 60);
    out[0] = (char)('0' + h / 10);
    out[1] = (char)('0' + h % 10);
    out[2] = ':';
    out[3] = (char)('0' + m / 10);
    out[4] = (char)('0' + m % 10);
    out[5] = ':';
    out[6] = (char)('0' + sec / 10);
    out[7] = (char)('0' + sec % 10);
    out[8] = '\0';
}

/* A second of the day, following the real hourly profile. */
static int64_t time_of_day(const gen_state *g, attrib_rng *r)
{
    uint32_t h = pick(r, g->cum_hour, 24);
    return (int64_t)h * 3600 + (int64_t)attrib_rng_below(r, 3600);
}

/* Time of the next session: a click in the same visit, a return later that
 * day, or a return days later (log-normal, heavy tail) at a time of day from
 * the hourly profile. Always >= t + 2 s. */
static int64_t next_time(const gen_state *g, attrib_rng *r, int64_t t)
{
    double u = attrib_rng_unit(r);
    int64_t next;
    if (u < 0.36) {
        next = t + 15 + (int64_t)(-240.0 * det_log(unit_open(r)));
    } else if (u < 0.58) {
        next = t + 600 + (int64_t)(-10800.0 * det_log(unit_open(r)));
    } else {
        double d = det_exp(0.5 + 1.0 * normal4(r));
        int64_t days = 1 + (d > 120 ? 120 : (int64_t)d);
        next = ((int64_t)attrib_ts_day(t) + days) * ATTRIB_SECS_PER_DAY + time_of_day(g, r);
    }
    return next < t + 2 ? t + 2 : next;
}

/* Heavy-tailed session count: P(n >= k) = k^-alpha, capped. */
static uint32_t user_sessions(const gen_state *g, attrib_rng *r)
{
    double u = unit_open(r);
    uint32_t lo = 1, hi = GEN_MAX_USER; /* largest k with tail[k] >= u */
    while (lo < hi) {
        uint32_t mid = (lo + hi + 1) / 2;
        if (g->tail[mid] >= u)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* ---- the heap of active users, keyed by (next session time, slab index) ---- */

static bool before(const heap_entry *a, const heap_entry *b)
{
    return a->t < b->t || (a->t == b->t && a->u < b->u);
}

static int heap_push(attrib_ctx *ctx, gen_state *g, int64_t t, uint32_t u)
{
    if (g->n_heap == g->cap_heap) {
        size_t cap = g->cap_heap ? g->cap_heap * 2 : 4096;
        heap_entry *h = realloc(g->heap, cap * sizeof(*h));
        if (h == NULL)
            return attrib__error(ctx, ATTRIB_ENOMEM, "gen: out of memory (%zu active users)",
                                 g->n_heap);
        g->heap = h;
        g->cap_heap = cap;
    }
    heap_entry e = {t, u};
    size_t i = g->n_heap++;
    while (i > 0 && before(&e, &g->heap[(i - 1) / 2])) {
        g->heap[i] = g->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    g->heap[i] = e;
    return 0;
}

static heap_entry heap_pop(gen_state *g)
{
    heap_entry top = g->heap[0], last = g->heap[--g->n_heap];
    size_t i = 0, n = g->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(&g->heap[c + 1], &g->heap[c]))
            c++;
        if (!before(&g->heap[c], &last))
            break;
        g->heap[i] = g->heap[c];
        i = c;
    }
    if (n > 0)
        g->heap[i] = last;
    return top;
}

/* A slab slot for a new user. */
static int user_alloc(attrib_ctx *ctx, gen_state *g, uint32_t *out)
{
    if (g->n_free > 0) {
        *out = g->free_u[--g->n_free];
        return 0;
    }
    if (g->n_users == g->cap_users) {
        uint32_t cap = g->cap_users ? g->cap_users * 2 : 4096;
        user *u = cap > g->cap_users ? realloc(g->users, (size_t)cap * sizeof(*u)) : NULL;
        uint32_t *f = u != NULL ? realloc(g->free_u, (size_t)cap * sizeof(*f)) : NULL;
        if (u != NULL)
            g->users = u;
        if (f == NULL)
            return attrib__error(ctx, ATTRIB_ENOMEM, "gen: out of memory (%u active users)",
                                 g->n_users);
        g->free_u = f;
        g->cap_users = cap;
    }
    *out = g->n_users++;
    return 0;
}

/* A user arriving on `day`: its plan, and its first session in the heap. */
static int arrive(attrib_ctx *ctx, gen_state *g, int64_t day)
{
    uint32_t ui = 0;
    int rc = user_alloc(ctx, g, &ui);
    if (rc != 0)
        return rc;
    user *u = &g->users[ui];
    attrib_rng_seed(&u->rng, attrib_rng_next(&g->rng));
    for (int i = 0; i < 4; i++)
        hex64(u->id + 16 * i, attrib_rng_next(&u->rng));
    u->id[64] = '\0';
    u->n = user_sessions(g, &u->rng);
    u->i = 0;
    u->channel = 0;
    u->seen = false;
    /* Converting sessions: often the last one; a second conversion, when
     * there is one, comes with later sessions. */
    u->conv1 = u->conv2 = -1;
    if (attrib_rng_chance(&u->rng, g->p_conv[u->n])) {
        u->conv1 = attrib_rng_chance(&u->rng, 0.55) ? (int32_t)u->n - 1
                                                    : (int32_t)attrib_rng_below(&u->rng, u->n);
        if (u->conv1 < (int32_t)u->n - 1 && attrib_rng_chance(&u->rng, 0.45))
            u->conv2 =
                u->conv1 + 1 +
                (int32_t)attrib_rng_below(&u->rng, (uint64_t)(u->n - 1 - (uint32_t)u->conv1));
    }
    return heap_push(ctx, g, day * ATTRIB_SECS_PER_DAY + time_of_day(g, &u->rng), ui);
}

static int emit_conversion(gen_state *g, user *u, const attrib_gen_sink *sink, void *payload,
                           int64_t t_session, int64_t t_next, attrib_gen_stats *st)
{
    attrib_rng *r = &u->rng;
    int64_t delay = 20 + (int64_t)(-240.0 * det_log(unit_open(r)));
    int64_t max_delay = t_next != INT64_MIN ? t_next - t_session - 1 : 1800;
    if (delay > max_delay)
        delay = max_delay;
    if (delay < 1)
        delay = 1;
    double revenue = round_cents(det_exp(3.85 + 0.85 * normal12(r)));
    if (revenue < 0.5)
        revenue = 0.5;
    make_id(r, g->cid);
    int64_t tc = t_session + delay;
    if (tc >= g->t1) /* after the end of the data: not recorded yet */
        return 0;
    attrib_date_format(attrib_ts_day(tc), g->cdate);
    format_time(g->ctime, tc);
    attrib_gen_conversion row = {g->cid, u->id, g->cdate, g->ctime, revenue};
    st->conversions++;
    return sink->conversion != NULL ? sink->conversion(&row, payload) : 0;
}

static int emit_cost(gen_state *g, user *u, const attrib_gen_sink *sink, void *payload,
                     const channel *c, attrib_gen_stats *st)
{
    double x = attrib_rng_unit(&u->rng), spread = normal4(&u->rng);
    if (x < c->p_no_row)
        return 0;
    attrib_gen_cost row = {g->sid, 0.0, x < c->p_no_row + c->p_null};
    if (!row.cost_is_null && c->cpc > 0) {
        row.cost = round_cents(c->cpc * det_exp(0.5 * spread));
        if (row.cost < 0.01)
            row.cost = 0.01;
    }
    st->costs++;
    return sink->cost != NULL ? sink->cost(&row, payload) : 0;
}

/* The next session of user ui at time t: draw it, emit it when it lies in
 * the span (with its cost row and conversion), and schedule the user's next
 * session or retire the user. */
static int step_user(attrib_ctx *ctx, gen_state *g, uint32_t ui, int64_t t,
                     const attrib_gen_sink *sink, void *payload, attrib_gen_stats *st)
{
    int rc = 0;
    user *u = &g->users[ui];
    attrib_rng *r = &u->rng;
    uint32_t i = u->i++;
    if (i == 0)
        u->channel = pick(r, g->cum_first, N_CHANNELS);
    else if (!attrib_rng_chance(r, 0.4))
        u->channel = pick(r, g->cum_later, N_CHANNELS);
    const channel *c = &CHANNELS[u->channel];
    bool converting = (int32_t)i == u->conv1 || (int32_t)i == u->conv2;
    double pos = u->n > 1 ? (double)i / (double)(u->n - 1) : 0.0;
    double p_hold = converting ? 0.98 : 0.78 + 0.18 * pos;
    double p_close = converting ? 0.97 : 0.40 + 0.30 * pos;
    int holder = attrib_rng_chance(r, p_hold), closer = attrib_rng_chance(r, p_close);
    int impression = c->p_impression > 0 && attrib_rng_chance(r, c->p_impression);
    int64_t t_next = i + 1 < u->n ? next_time(g, r, t) : INT64_MIN;
    if (t >= g->t0 && g->slot < g->cap) {
        int32_t day = attrib_ts_day(t);
        if (day != g->cached_day) {
            attrib_date_format(day, g->date);
            g->cached_day = day;
        }
        format_time(g->time, t);
        make_id(r, g->sid);
        attrib_gen_session row = {g->sid,  u->id,  g->date, g->time,
                                  c->name, holder, closer,  impression};
        rc = sink->session != NULL ? sink->session(&row, payload) : 0;
        if (rc != 0)
            goto done;
        st->sessions++;
        if (!u->seen) {
            u->seen = true;
            st->users++;
        }
        rc = emit_cost(g, u, sink, payload, c, st);
        if (rc == 0 && converting)
            rc = emit_conversion(g, u, sink, payload, t, t_next, st);
        g->slot++;
        if (rc != 0)
            goto done;
    }
    if (t_next != INT64_MIN && t_next < g->t1)
        rc = heap_push(ctx, g, t_next, ui);
    else
        g->free_u[g->n_free++] = ui;
done:
    return rc;
}

/* Expected sessions inside a span of `days` days per user arriving uniformly
 * over [-warmup, days): estimated once by simulating sample users on a
 * fixed stream (users arriving late or long ago keep only part of their
 * sessions, which depends on the span, not on the size). Same timeline code
 * as the real users; the result is the same for every seed. */
static double sessions_per_arrival(const gen_state *g, uint32_t days, uint32_t warmup)
{
    attrib_rng r;
    attrib_rng_seed(&r, 0x5eed5eed5eed5eedULL);
    int64_t end = (int64_t)days * ATTRIB_SECS_PER_DAY;
    uint64_t in_span = 0;
    for (uint32_t k = 0; k < GEN_CALIBRATION_USERS; k++) {
        int64_t day = (int64_t)attrib_rng_below(&r, days + warmup) - warmup;
        int64_t t = day * ATTRIB_SECS_PER_DAY + time_of_day(g, &r);
        uint32_t n = user_sessions(g, &r);
        for (uint32_t i = 0; i < n && t < end; i++) {
            in_span += t >= 0;
            t = next_time(g, &r, t);
        }
    }
    return in_span > 0 ? (double)in_span / GEN_CALIBRATION_USERS : 1.0;
}

static void init_tables(gen_state *g)
{
    cumulate(g->cum_hour, HOUR_WEIGHT, 24);
    uint32_t wf[N_CHANNELS], wl[N_CHANNELS];
    for (size_t i = 0; i < N_CHANNELS; i++) {
        wf[i] = CHANNELS[i].w_first;
        wl[i] = CHANNELS[i].w_later;
    }
    cumulate(g->cum_first, wf, N_CHANNELS);
    cumulate(g->cum_later, wl, N_CHANNELS);
    g->tail[0] = 1.0;
    for (uint32_t k = 1; k <= GEN_MAX_USER; k++)
        g->tail[k] = det_exp(-GEN_TAIL_ALPHA * det_log((double)k));
    g->tail[GEN_MAX_USER + 1] = 0.0;
    /* Longer journeys convert more often; about 3% of users overall. */
    for (uint32_t k = 0; k <= GEN_MAX_USER; k++) {
        double p = 0.025 * det_exp(0.35 * det_log(k < 1 ? 1.0 : k > 10 ? 10.0 : (double)k));
        g->p_conv[k] = p > 0.6 ? 0.6 : p;
    }
}

int attrib_gen_run(attrib_ctx *ctx, const attrib_gen_options *opts, const attrib_gen_sink *sink,
                   void *payload, attrib_gen_stats *stats)
{
    attrib__enter(ctx);
    int rc = 0;
    gen_state *g = NULL;
    attrib_gen_stats st = {0, 0, 0, 0, 0};
    attrib_gen_options o = ATTRIB_GEN_OPTIONS_INIT;
    if (opts != NULL)
        o = *opts;
    const char *start = o.start_date != NULL ? o.start_date : ATTRIB_GEN_START_DATE;
    int32_t day0;
    if (sink == NULL) {
        rc = attrib__error(ctx, ATTRIB_EINVAL, "gen: no sink");
        goto done;
    }
    if (o.sessions == 0 || o.sessions > (UINT64_MAX >> 8)) {
        rc = attrib__error(ctx, ATTRIB_EINVAL, "gen: session count must be 1..%llu",
                           (unsigned long long)(UINT64_MAX >> 8));
        goto done;
    }
    if (attrib_date_parse(start, strlen(start), &day0) != 0) {
        rc = attrib__error(ctx, ATTRIB_EINVAL, "gen: start date '%s' is not YYYY-MM-DD", start);
        goto done;
    }
    if (o.days == 0) { /* about 30 days per million sessions, 7 days to 2 years */
        uint64_t d = o.sessions / 33334;
        o.days = d < 7 ? 7 : d > 730 ? 730 : (uint32_t)d;
    }
    /* The warm-up is as long as the span, 14..60 days: enough returning
     * users on the first days without simulating much more than the span. */
    uint32_t warmup = o.days < 14 ? 14 : o.days > GEN_WARMUP_DAYS ? GEN_WARMUP_DAYS : o.days;
    if (o.days > GEN_DAYS_MAX || day0 + (int64_t)o.days > attrib_days_from_civil(9999, 12, 31) ||
        day0 - (int64_t)warmup < attrib_days_from_civil(1, 1, 1)) {
        rc = attrib__error(ctx, ATTRIB_EINVAL, "gen: %u days from %s is out of range", o.days,
                           start);
        goto done;
    }
    st.days = o.days;
    g = calloc(1, sizeof(*g));
    if (g == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "gen: out of memory");
        goto done;
    }
    attrib_rng_seed(&g->rng, o.seed);
    init_tables(g);
    /* Arrivals so that the expected number of sessions in the span is the
     * requested one; at most 25% more are emitted. */
    g->per_day =
        (double)o.sessions / sessions_per_arrival(g, o.days, warmup) / (double)(o.days + warmup);
    g->cap = o.sessions + o.sessions / 4 + 1024;
    g->t0 = (int64_t)day0 * ATTRIB_SECS_PER_DAY;
    g->t1 = g->t0 + (int64_t)o.days * ATTRIB_SECS_PER_DAY;
    g->cached_day = INT32_MIN;

    struct timespec last = {0, 0}, now;
    clock_gettime(CLOCK_MONOTONIC, &last);
    uint64_t next_check = 1u << 16;
    for (int64_t day = day0 - (int64_t)warmup; day < day0 + (int64_t)o.days; day++) {
        g->arrivals += g->per_day * WEEKDAY[((day % 7) + 11) % 7]; /* 1970-01-01: Thursday */
        for (; g->arrivals >= 1.0 && rc == 0; g->arrivals -= 1.0)
            rc = arrive(ctx, g, day);
        int64_t day_end = (day + 1) * ATTRIB_SECS_PER_DAY;
        while (rc == 0 && g->n_heap > 0 && g->heap[0].t < day_end) {
            heap_entry e = heap_pop(g);
            if (g->n_heap > 0) /* likely the next one: hide its cache miss */
                __builtin_prefetch(&g->users[g->heap[0].u]);
            rc = step_user(ctx, g, e.u, e.t, sink, payload, &st);
            if (rc == 0 && st.sessions >= next_check) {
                next_check = st.sessions + (1u << 16);
                if (attrib__cancelled(ctx)) {
                    rc = ATTRIB_ECANCEL;
                    goto done;
                }
                clock_gettime(CLOCK_MONOTONIC, &now);
                if ((now.tv_sec - last.tv_sec) * 1000000000L + (now.tv_nsec - last.tv_nsec) >=
                    250000000L) {
                    attrib__progress(ctx, "generating sessions", st.sessions, o.sessions);
                    last = now;
                }
            }
        }
        if (rc != 0) {
            if (attrib_errcode(ctx) == ATTRIB_OK)
                attrib__error(ctx, rc, "gen: the sink stopped at session %llu",
                              (unsigned long long)st.sessions);
            goto done;
        }
    }
    attrib__progress(ctx, "generating sessions", st.sessions, st.sessions);
done:
    if (g != NULL) {
        free(g->heap);
        free(g->users);
        free(g->free_u);
    }
    free(g);
    if (stats != NULL)
        *stats = st;
    return attrib__leave(ctx, rc);
}
