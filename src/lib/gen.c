/*
 * Synthetic dataset generator (SPEC §8). Users are generated and emitted one
 * at a time, so memory is bounded by the longest journey (GEN_MAX_USER
 * sessions), whatever the size.
 *
 * Ids are 64 lowercase hex digits. The first 16 digits of a session id are
 * slot * stride + random offset, where slot is the session's sequence number
 * and stride = 2^64 / sessions: ids are random-looking yet strictly ascending
 * in generation order, so sinks insert them sequentially. A conversion takes
 * its prefix from the slot of its converting session (a fresh offset) and a
 * user from the slot of its first session, which keeps conversion ids
 * ascending too and makes every id unique. The other 48 digits are random.
 *
 * Determinism: only integer PRNG output and IEEE +, -, *, / are used (the
 * build does not contract to FMA under -std=c11), plus exp/log written here
 * in those operations, so a seed gives identical rows on any machine.
 */
#include "attrib/gen.h"

#include "lib/ctx.h"
#include "util/rng.h"
#include "util/ts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GEN_MAX_USER 400   /* longest journey of one user */
#define GEN_TAIL_ALPHA 1.7 /* P(sessions >= k) = k^-alpha */
#define GEN_DAYS_MAX 36500 /* span bound accepted from the caller */
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

typedef struct {
    attrib_rng rng;
    uint64_t stride; /* 2^64 / sessions: width of one id slot */
    uint64_t slot;   /* sequence number of the next session */
    int64_t span_t0; /* first second of the span */
    uint32_t days;   /* span length in days */
    uint64_t cum_first[N_CHANNELS], cum_later[N_CHANNELS], cum_hour[24];
    double tail[GEN_MAX_USER + 2]; /* tail[k] = P(sessions >= k) */
    double p_conv[GEN_MAX_USER + 1];
    int64_t t[GEN_MAX_USER]; /* the current user's session times */
    int32_t cached_day;      /* day held in date[] */
    char date[11], cdate[11], time[9], ctime[9];
    char sid[65], uid[65], cid[65];
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
    double r = x - k * GEN_LN2, term = 1, sum = 1;
    for (int i = 1; i <= 18; i++) {
        term = term * r / i;
        sum += term;
    }
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
static double unit_open(gen_state *g)
{
    return (double)((attrib_rng_next(&g->rng) >> 11) + 1) * 0x1.0p-53;
}

/* Approximately standard normal: Irwin-Hall sum of n uniforms, n = 4 (one
 * random word, bounded at +-3.5) or 12 (bounded at +-6). */
static double normal4(gen_state *g)
{
    uint64_t r = attrib_rng_next(&g->rng);
    double s = (double)((r & 0xffff) + ((r >> 16) & 0xffff) + ((r >> 32) & 0xffff) + (r >> 48));
    return (s / 65536.0 - 2.0) * GEN_SQRT3;
}

static double normal12(gen_state *g)
{
    double s = 0;
    for (int i = 0; i < 12; i++)
        s += attrib_rng_unit(&g->rng);
    return s - 6.0;
}

static double round_cents(double x)
{
    return (double)(int64_t)(x * 100.0 + 0.5) / 100.0;
}

/* Index drawn from cumulative weights scaled to 2^64 - 1. */
static size_t pick(gen_state *g, const uint64_t *cum, size_t n)
{
    uint64_t r = attrib_rng_next(&g->rng);
    size_t i = 0;
    while (i + 1 < n && r >= cum[i])
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

/* A 64-hex id whose first 16 digits lie in the given slot. */
static void make_id(gen_state *g, char out[65], uint64_t slot)
{
    hex64(out, slot * g->stride + attrib_rng_below(&g->rng, g->stride));
    for (int i = 1; i < 4; i++)
        hex64(out + 16 * i, attrib_rng_next(&g->rng));
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
static int64_t time_of_day(gen_state *g)
{
    size_t h = pick(g, g->cum_hour, 24);
    return (int64_t)h * 3600 + (int64_t)attrib_rng_below(&g->rng, 3600);
}

/* Seconds from one session to the next: a click in the same visit, a return
 * later that day, or a return days later (log-normal, heavy tail) at a time
 * of day from the hourly profile. Always >= 2 s. */
static int64_t next_time(gen_state *g, int64_t t)
{
    double u = attrib_rng_unit(&g->rng);
    int64_t next;
    if (u < 0.36) {
        next = t + 15 + (int64_t)(-240.0 * det_log(unit_open(g)));
    } else if (u < 0.58) {
        next = t + 600 + (int64_t)(-10800.0 * det_log(unit_open(g)));
    } else {
        double d = det_exp(0.5 + 1.0 * normal4(g));
        int64_t days = 1 + (d > 120 ? 120 : (int64_t)d);
        next = ((int64_t)attrib_ts_day(t) + days) * ATTRIB_SECS_PER_DAY + time_of_day(g);
    }
    return next < t + 2 ? t + 2 : next;
}

/* Heavy-tailed session count: P(n >= k) = k^-alpha, capped. */
static uint32_t user_sessions(gen_state *g)
{
    double u = unit_open(g);
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

/* Times of the current user's n sessions, absolute, inside the span with
 * room for a conversion after the last one (at most 1800 s later). */
static void place_user(gen_state *g, uint32_t n)
{
    int64_t *t = g->t;
    t[0] = time_of_day(g);
    for (uint32_t i = 1; i < n; i++)
        t[i] = next_time(g, t[i - 1]);
    int64_t span = (int64_t)g->days * ATTRIB_SECS_PER_DAY;
    int64_t days_used = attrib_ts_day(t[n - 1] + 1800) + 1;
    int64_t shift;
    if (days_used <= (int64_t)g->days) {
        shift = (int64_t)attrib_rng_below(&g->rng, (uint64_t)(g->days - days_used + 1)) *
                ATTRIB_SECS_PER_DAY;
    } else { /* too long for the span: squeeze it into a random part of it,
              * keeping gaps >= 2 s (the time-of-day profile is lost) */
        int64_t avail = span - 1801 - 2 * (int64_t)n, first = t[0];
        int64_t len = t[n - 1] - first;
        int64_t fit = avail / 2 + (int64_t)attrib_rng_below(&g->rng, (uint64_t)(avail / 2) + 1);
        for (uint32_t i = 0; i < n; i++) {
            int64_t v = len > 0 ? (t[i] - first) * fit / len : 0;
            t[i] = i > 0 && v < t[i - 1] + 2 ? t[i - 1] + 2 : v;
        }
        shift = (int64_t)attrib_rng_below(&g->rng, (uint64_t)(avail - fit) + 1);
    }
    for (uint32_t i = 0; i < n; i++)
        t[i] += g->span_t0 + shift;
}

static int emit_conversion(gen_state *g, const attrib_gen_sink *sink, void *payload, uint64_t slot,
                           int64_t t_session, int64_t t_next)
{
    int64_t delay = 20 + (int64_t)(-240.0 * det_log(unit_open(g)));
    int64_t max_delay = t_next != INT64_MIN ? t_next - t_session - 1 : 1800;
    if (delay > max_delay)
        delay = max_delay;
    if (delay < 1)
        delay = 1;
    int64_t tc = t_session + delay;
    attrib_date_format(attrib_ts_day(tc), g->cdate);
    format_time(g->ctime, tc);
    make_id(g, g->cid, slot);
    double revenue = round_cents(det_exp(3.85 + 0.85 * normal12(g)));
    if (revenue < 0.5)
        revenue = 0.5;
    attrib_gen_conversion row = {g->cid, g->uid, g->cdate, g->ctime, revenue};
    return sink->conversion != NULL ? sink->conversion(&row, payload) : 0;
}

static int emit_cost(gen_state *g, const attrib_gen_sink *sink, void *payload, const channel *c,
                     attrib_gen_stats *st)
{
    /* Draw the same numbers whatever the sink, so rows do not depend on it. */
    double u = attrib_rng_unit(&g->rng), spread = normal4(g);
    if (u < c->p_no_row)
        return 0;
    attrib_gen_cost row = {g->sid, 0.0, u < c->p_no_row + c->p_null};
    if (!row.cost_is_null && c->cpc > 0) {
        row.cost = round_cents(c->cpc * det_exp(0.5 * spread));
        if (row.cost < 0.01)
            row.cost = 0.01;
    }
    st->costs++;
    return sink->cost != NULL ? sink->cost(&row, payload) : 0;
}

/* Generate one user of n sessions: sessions, costs and conversions in order. */
static int gen_user(gen_state *g, uint32_t n, const attrib_gen_sink *sink, void *payload,
                    attrib_gen_stats *st)
{
    int rc = 0;
    place_user(g, n);
    uint64_t first_slot = g->slot;
    make_id(g, g->uid, first_slot);
    /* Converting sessions: often the last one; a second conversion, when
     * there is one, comes with later sessions. */
    int64_t conv1 = -1, conv2 = -1;
    if (attrib_rng_chance(&g->rng, g->p_conv[n])) {
        conv1 = attrib_rng_chance(&g->rng, 0.55) ? (int64_t)n - 1
                                                 : (int64_t)attrib_rng_below(&g->rng, n);
        if (conv1 < (int64_t)n - 1 && attrib_rng_chance(&g->rng, 0.45))
            conv2 = conv1 + 1 + (int64_t)attrib_rng_below(&g->rng, (uint64_t)(n - 1 - conv1));
    }
    size_t ch = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i == 0)
            ch = pick(g, g->cum_first, N_CHANNELS);
        else if (!attrib_rng_chance(&g->rng, 0.4))
            ch = pick(g, g->cum_later, N_CHANNELS);
        const channel *c = &CHANNELS[ch];
        bool converting = (int64_t)i == conv1 || (int64_t)i == conv2;
        double r = n > 1 ? (double)i / (double)(n - 1) : 0.0;
        double p_hold = converting ? 0.98 : 0.78 + 0.18 * r;
        double p_close = converting ? 0.97 : 0.40 + 0.30 * r;
        int32_t day = attrib_ts_day(g->t[i]);
        if (day != g->cached_day) {
            attrib_date_format(day, g->date);
            g->cached_day = day;
        }
        format_time(g->time, g->t[i]);
        make_id(g, g->sid, g->slot);
        attrib_gen_session row = {g->sid,
                                  g->uid,
                                  g->date,
                                  g->time,
                                  c->name,
                                  attrib_rng_chance(&g->rng, p_hold),
                                  attrib_rng_chance(&g->rng, p_close),
                                  c->p_impression > 0 &&
                                      attrib_rng_chance(&g->rng, c->p_impression)};
        rc = sink->session != NULL ? sink->session(&row, payload) : 0;
        if (rc != 0)
            goto done;
        st->sessions++;
        rc = emit_cost(g, sink, payload, c, st);
        if (rc != 0)
            goto done;
        if (converting) {
            int64_t t_next = i + 1 < n ? g->t[i + 1] : INT64_MIN;
            rc = emit_conversion(g, sink, payload, g->slot, g->t[i], t_next);
            if (rc != 0)
                goto done;
            st->conversions++;
        }
        g->slot++;
    }
    st->users++;
done:
    return rc;
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
    int rc = 0;
    gen_state *g = NULL;
    attrib_gen_stats st = {0, 0, 0, 0, 0};
    attrib_gen_options o = ATTRIB_GEN_OPTIONS_INIT;
    if (opts != NULL)
        o = *opts;
    const char *start = o.start_date != NULL ? o.start_date : "2023-01-01";
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
    if (o.days > GEN_DAYS_MAX || day0 + (int64_t)o.days > attrib_days_from_civil(9999, 12, 31)) {
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
    g->stride = UINT64_MAX / o.sessions;
    g->span_t0 = (int64_t)day0 * ATTRIB_SECS_PER_DAY;
    g->days = o.days;
    g->cached_day = INT32_MIN;
    init_tables(g);

    struct timespec last = {0, 0}, now;
    clock_gettime(CLOCK_MONOTONIC, &last);
    uint64_t next_check = 1u << 16;
    while (st.sessions < o.sessions) {
        uint64_t left = o.sessions - st.sessions;
        uint32_t n = user_sessions(g);
        if (n > left)
            n = (uint32_t)left;
        rc = gen_user(g, n, sink, payload, &st);
        if (rc != 0) {
            if (attrib_errcode(ctx) == ATTRIB_OK)
                attrib__error(ctx, rc, "gen: the sink stopped at session %llu",
                              (unsigned long long)st.sessions);
            goto done;
        }
        if (st.sessions >= next_check) {
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
    attrib__progress(ctx, "generating sessions", st.sessions, o.sessions);
done:
    free(g);
    if (stats != NULL)
        *stats = st;
    return rc;
}
