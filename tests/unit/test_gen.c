/* Unit tests of the synthetic data generator (src/lib/gen/gen.c): determinism,
 * id shape and order, valid dates and flags, and the realism the spec asks
 * for (conversion rate, double converters, missing cost rows, journeys). */
#include "testutil.h"

#include "attrib/gen.h"
#include "util/strmap.h"
#include "util/ts.h"

#include <stdbool.h>

/* What the tests track per user. */
typedef struct {
    int64_t last_ts;      /* latest session */
    int64_t last_conv_ts; /* latest conversion, INT64_MIN if none */
    uint32_t n, convs;
    int first_closer, last_closer;
} user_state;

/* Everything a run produced that the tests look at. */
typedef struct {
    uint64_t hash; /* FNV-1a over every field of every row, in order */
    uint64_t sessions, conversions, costs, null_costs;
    uint64_t no_cost_row, pending_cost; /* sessions without a cost row */
    uint64_t bad;                       /* rows breaking an invariant (see checks) */
    char last_sid[65], last_cid[65];
    int64_t last_ts;          /* of the last session (all users) */
    int64_t last_user;        /* its user's index */
    int32_t day_min, day_max; /* allowed dates */
    attrib_strmap ids;        /* user_id -> index into users */
    attrib_strmap seen;       /* session and conversion ids: each exactly once */
    user_state *users;
    size_t cap_users;
    uint64_t fail_after; /* make the session sink fail after this many (0 = never) */
} run;

/* Totals over the users of a run. */
typedef struct {
    uint64_t users, converters, twice, long_users;
    uint64_t first_n, first_closer, last_n, last_closer; /* users with >= 3 sessions */
} user_totals;

static user_totals totals(const run *r)
{
    user_totals t;
    memset(&t, 0, sizeof(t));
    for (size_t i = 0; i < r->ids.count; i++) {
        const user_state *u = &r->users[i];
        t.users++;
        t.converters += u->convs > 0;
        t.twice += u->convs > 1;
        t.long_users += u->n >= 10;
        if (u->n >= 3) {
            t.first_n++;
            t.first_closer += (uint64_t)u->first_closer;
            t.last_n++;
            t.last_closer += (uint64_t)u->last_closer;
        }
    }
    return t;
}

static void mix(run *r, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        r->hash ^= b[i];
        r->hash *= 0x100000001b3ULL;
    }
}

static void mix_str(run *r, const char *s)
{
    mix(r, s, strlen(s) + 1);
}

static bool is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static int64_t ts_of(run *r, const char *date, const char *time)
{
    int32_t d, t;
    if (attrib_date_parse(date, strlen(date), &d) != 0 ||
        attrib_time_parse(time, strlen(time), &t) != 0) {
        r->bad++;
        return 0;
    }
    if (d < r->day_min || d > r->day_max)
        r->bad++;
    return (int64_t)d * 86400 + t;
}

static int on_session(const attrib_gen_session *s, void *payload)
{
    run *r = payload;
    if (r->fail_after != 0 && r->sessions == r->fail_after)
        return ATTRIB_EDB;
    mix_str(r, s->session_id);
    mix_str(r, s->user_id);
    mix_str(r, s->event_date);
    mix_str(r, s->event_time);
    mix_str(r, s->channel_name);
    int flags[3] = {s->holder_engagement, s->closer_engagement, s->impression_interaction};
    mix(r, flags, sizeof(flags));
    for (int i = 0; i < 3; i++)
        if (flags[i] != 0 && flags[i] != 1)
            r->bad++;
    /* Ids are random 64-hex, as real tables have them: unique, in no order. */
    int fresh = 0;
    if (attrib_strmap_intern(&r->seen, s->session_id, strlen(s->session_id), &fresh) < 0 || !fresh)
        r->bad++;
    if (!is_hex64(s->session_id) || !is_hex64(s->user_id) || s->channel_name[0] == '\0')
        r->bad++;
    r->no_cost_row += r->pending_cost;
    r->pending_cost = 1;
    memcpy(r->last_sid, s->session_id, 65);
    int64_t ts = ts_of(r, s->event_date, s->event_time);
    if (ts < r->last_ts) /* rows come in time order, as a tracking table fills */
        r->bad++;
    r->last_ts = ts;
    int added = 0;
    int64_t ui = attrib_strmap_intern(&r->ids, s->user_id, 64, &added);
    assert_true(ui >= 0);
    if ((size_t)ui >= r->cap_users) {
        r->cap_users = r->cap_users ? r->cap_users * 2 : 1024;
        r->users = realloc(r->users, r->cap_users * sizeof(*r->users));
        assert_non_null(r->users);
    }
    user_state *u = &r->users[ui];
    if (added) {
        memset(u, 0, sizeof(*u));
        u->last_conv_ts = INT64_MIN;
        u->first_closer = s->closer_engagement;
    } else if (ts <= u->last_ts || ts <= u->last_conv_ts) {
        r->bad++; /* a user's sessions are distinct in time, after its conversions */
    }
    u->last_ts = ts;
    u->last_closer = s->closer_engagement;
    u->n++;
    r->last_user = ui;
    r->sessions++;
    return 0;
}

static int on_conversion(const attrib_gen_conversion *c, void *payload)
{
    run *r = payload;
    mix_str(r, c->conv_id);
    mix_str(r, c->user_id);
    mix_str(r, c->conv_date);
    mix_str(r, c->conv_time);
    mix(r, &c->revenue, sizeof(c->revenue));
    int fresh = 0;
    if (!is_hex64(c->conv_id) ||
        attrib_strmap_intern(&r->seen, c->conv_id, strlen(c->conv_id), &fresh) < 0 || !fresh)
        r->bad++;
    memcpy(r->last_cid, c->conv_id, 65);
    /* A conversion comes right after its converting session, of the same
     * user, strictly earlier. */
    int64_t ts = ts_of(r, c->conv_date, c->conv_time);
    int64_t ui = attrib_strmap_find(&r->ids, c->user_id, strlen(c->user_id));
    if (ui < 0 || ui != r->last_user || ts <= r->users[ui].last_ts)
        r->bad++;
    if (!(c->revenue > 0) || c->revenue > 1e6)
        r->bad++;
    if (ui >= 0) {
        r->users[ui].last_conv_ts = ts;
        r->users[ui].convs++;
    }
    r->conversions++;
    return 0;
}

static int on_cost(const attrib_gen_cost *c, void *payload)
{
    run *r = payload;
    mix_str(r, c->session_id);
    mix(r, &c->cost, sizeof(c->cost));
    mix(r, &c->cost_is_null, sizeof(c->cost_is_null));
    /* A cost row follows its session directly: same id, at most one. */
    if (strcmp(c->session_id, r->last_sid) != 0 || r->pending_cost != 1)
        r->bad++;
    if (!c->cost_is_null && !(c->cost >= 0 && c->cost < 1000))
        r->bad++;
    r->pending_cost = 0;
    r->null_costs += c->cost_is_null;
    r->costs++;
    return 0;
}

static const attrib_gen_sink SINK = {on_session, on_conversion, on_cost};

/* Generate into r; returns the attrib_gen_run code. */
static int gen(run *r, uint64_t sessions, uint64_t seed, const char *start, uint32_t days,
               attrib_gen_stats *st)
{
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    attrib_gen_options o = ATTRIB_GEN_OPTIONS_INIT;
    o.sessions = sessions;
    o.seed = seed;
    o.start_date = start;
    o.days = days;
    r->hash = 0xcbf29ce484222325ULL;
    r->last_ts = INT64_MIN;
    r->last_user = -1;
    attrib_strmap m = ATTRIB_STRMAP_INIT;
    r->ids = m;
    assert_int_equal(attrib_date_parse(start ? start : "2023-01-01", 10, &r->day_min), 0);
    r->day_max = r->day_min + (int32_t)(days ? days : 7) - 1;
    int rc = attrib_gen_run(ctx, &o, &SINK, r, st);
    if (rc != 0)
        assert_true(attrib_errmsg(ctx)[0] != '\0');
    else
        assert_int_equal(st->days, days ? days : 7);
    r->no_cost_row += r->pending_cost;
    attrib_ctx_free(ctx);
    return rc;
}

static void run_free(run *r)
{
    attrib_strmap_free(&r->ids);
    attrib_strmap_free(&r->seen);
    free(r->users);
    free(r);
}

/* |got - want| <= tol * want */
static void assert_near_count(uint64_t got, uint64_t want, double tol)
{
    double d = (double)got - (double)want;
    if (d < 0)
        d = -d;
    if (d > tol * (double)want)
        fail_msg("%llu sessions, expected %llu +- %.0f%%", (unsigned long long)got,
                 (unsigned long long)want, tol * 100);
}

static void test_determinism(void **state)
{
    (void)state;
    run *a = calloc(1, sizeof(run)), *b = calloc(1, sizeof(run)), *c = calloc(1, sizeof(run));
    assert_true(a != NULL && b != NULL && c != NULL);
    attrib_gen_stats st;
    assert_int_equal(gen(a, 20000, 7, NULL, 0, &st), 0);
    assert_int_equal(gen(b, 20000, 7, NULL, 0, &st), 0);
    assert_int_equal(gen(c, 20000, 8, NULL, 0, &st), 0);
    assert_true(a->hash == b->hash);
    assert_true(a->hash != c->hash);
    assert_int_equal(a->bad, 0);
    assert_int_equal(c->bad, 0);
    run_free(a);
    run_free(b);
    run_free(c);
}

/* Ids, dates, flags, order and the conversion invariants on a mid-size run
 * over a short span, starting on a leap day. */
static void test_rows_valid(void **state)
{
    (void)state;
    run *r = calloc(1, sizeof(run));
    assert_non_null(r);
    attrib_gen_stats st;
    assert_int_equal(gen(r, 100000, 42, "2024-02-27", 5, &st), 0);
    assert_int_equal(r->bad, 0);
    assert_near_count(st.sessions, 100000, 0.03);
    /* Stats agree with the rows seen. */
    assert_int_equal(r->sessions, st.sessions);
    assert_int_equal(r->conversions, st.conversions);
    assert_int_equal(r->costs, st.costs);
    assert_int_equal(r->ids.count, st.users);
    assert_int_equal(r->sessions, r->costs + r->no_cost_row);
    run_free(r);
}

static void test_realism(void **state)
{
    (void)state;
    run *r = calloc(1, sizeof(run));
    assert_non_null(r);
    attrib_gen_stats st;
    assert_int_equal(gen(r, 200000, 3, "2023-09-01", 30, &st), 0);
    assert_int_equal(r->bad, 0);
    assert_near_count(st.sessions, 200000, 0.03);
    user_totals t = totals(r);
    double conv_rate = (double)t.converters / (double)t.users;
    if (conv_rate < 0.02 || conv_rate > 0.04)
        fail_msg("converting users %.4f, expected 2-4%%", conv_rate);
    assert_true(t.twice > t.converters / 50);       /* some convert twice ... */
    assert_true(t.twice < t.converters / 4);        /* ... but not most */
    assert_true(r->no_cost_row > r->sessions / 20); /* some sessions have no cost row */
    assert_true(r->null_costs > 0);
    /* Heavy tail: most users have one session, some have many. */
    assert_true(t.users > r->sessions / 3);
    assert_true(t.long_users > t.users / 1000);
    /* Closer engagement grows along the journey. */
    double first = (double)t.first_closer / (double)t.first_n;
    double last = (double)t.last_closer / (double)t.last_n;
    if (!(last > first + 0.1))
        fail_msg("closer engagement first %.3f, last %.3f", first, last);
    run_free(r);
}

/* Days are evenly filled (no ramp-up at the start, no gap at the end): each
 * day of a 20-day span holds 5% of the sessions, within a weekly rhythm. */
static int on_session_day(const attrib_gen_session *s, void *payload)
{
    uint64_t *per_day = payload;
    int32_t d;
    if (attrib_date_parse(s->event_date, 10, &d) != 0 || d < 19358 || d >= 19358 + 20)
        return ATTRIB_EDATA; /* 19358 = 2023-01-01 */
    per_day[d - 19358]++;
    return 0;
}

static void test_days_even(void **state)
{
    (void)state;
    uint64_t per_day[20] = {0};
    attrib_gen_sink sink = {on_session_day, NULL, NULL};
    attrib_gen_options o = ATTRIB_GEN_OPTIONS_INIT;
    o.sessions = 200000;
    o.days = 20;
    attrib_gen_stats st;
    assert_int_equal(attrib_gen_run(NULL, &o, &sink, per_day, &st), 0);
    for (int d = 0; d < 20; d++) {
        double share = (double)per_day[d] / (double)st.sessions;
        if (share < 0.05 * 0.85 || share > 0.05 * 1.15)
            fail_msg("day %d holds %.4f of the sessions, expected 0.05 +- 15%%", d, share);
    }
}

static void test_small_sizes(void **state)
{
    (void)state;
    for (uint64_t n = 1; n <= 400; n += 57) {
        run *r = calloc(1, sizeof(run));
        assert_non_null(r);
        attrib_gen_stats st;
        assert_int_equal(gen(r, n, n, "2023-01-01", 1, &st), 0);
        assert_int_equal(r->bad, 0);
        assert_int_equal(r->sessions, st.sessions);
        assert_true(st.sessions <= n + n / 4 + 1024); /* the id capacity */
        if (n >= 100) /* a few hundred rows: still roughly the size asked */
            assert_near_count(st.sessions, n, 0.35);
        run_free(r);
    }
}

static void test_sink_stops(void **state)
{
    (void)state;
    run *r = calloc(1, sizeof(run));
    assert_non_null(r);
    r->fail_after = 1000;
    attrib_gen_stats st;
    assert_int_equal(gen(r, 5000, 1, NULL, 0, &st), ATTRIB_EDB);
    assert_int_equal(r->sessions, 1000);
    assert_int_equal(st.sessions, 1000);
    run_free(r);
}

static void test_bad_options(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    run r;
    memset(&r, 0, sizeof(r));
    attrib_strmap m = ATTRIB_STRMAP_INIT;
    r.ids = m;
    attrib_gen_options o = ATTRIB_GEN_OPTIONS_INIT;
    o.sessions = 0;
    assert_int_equal(attrib_gen_run(ctx, &o, &SINK, &r, NULL), ATTRIB_EINVAL);
    attrib_clearerr(ctx);
    o.sessions = 10;
    o.start_date = "2023-02-30";
    assert_int_equal(attrib_gen_run(ctx, &o, &SINK, &r, NULL), ATTRIB_EINVAL);
    assert_non_null(strstr(attrib_errmsg(ctx), "2023-02-30"));
    attrib_clearerr(ctx);
    o.start_date = "9999-12-01";
    o.days = 60;
    assert_int_equal(attrib_gen_run(ctx, &o, &SINK, &r, NULL), ATTRIB_EINVAL);
    assert_int_equal(r.sessions, 0);
    attrib_strmap_free(&r.ids);
    attrib_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism), cmocka_unit_test(test_rows_valid),
        cmocka_unit_test(test_realism),     cmocka_unit_test(test_small_sizes),
        cmocka_unit_test(test_days_even),   cmocka_unit_test(test_sink_stops),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
