/* Unit tests of the synthetic data generator (src/lib/gen.c): determinism,
 * id shape and order, valid dates and flags, and the realism the spec asks
 * for (conversion rate, double converters, missing cost rows, journeys). */
#include "testutil.h"

#include "attrib/gen.h"
#include "util/ts.h"

#include <stdbool.h>

/* Everything a run produced that the tests look at. */
typedef struct {
    uint64_t hash; /* FNV-1a over every field of every row, in order */
    uint64_t sessions, conversions, costs, null_costs, users;
    uint64_t converters, twice, user_convs;
    uint64_t no_cost_row, pending_cost; /* sessions without a cost row */
    uint64_t bad;                       /* rows breaking an invariant (see checks) */
    char last_sid[65], last_cid[65], user[65];
    int64_t user_first_ts, user_last_ts; /* session times of the current user */
    int64_t last_conv_ts;                /* of the current user, INT64_MIN if none */
    int32_t day_min, day_max;            /* allowed event dates */
    uint64_t user_len;
    uint64_t long_users; /* users with >= 10 sessions */
    /* closer_engagement of first and last sessions of users with >= 3 sessions */
    uint64_t first_n, first_closer, last_n, last_closer, prev_closer;
    uint64_t fail_after; /* make the session sink fail after this many (0 = never) */
} run;

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

static void end_user(run *r)
{
    if (r->user_len == 0)
        return;
    r->users++;
    if (r->user_convs > 0)
        r->converters++;
    if (r->user_convs > 1)
        r->twice++;
    if (r->user_len >= 10)
        r->long_users++;
    if (r->user_len >= 3) {
        r->last_n++;
        r->last_closer += r->prev_closer;
    }
    r->user_len = r->user_convs = 0;
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
    if (!is_hex64(s->session_id) || !is_hex64(s->user_id) ||
        strcmp(s->session_id, r->last_sid) <= 0 || s->channel_name[0] == '\0')
        r->bad++;
    r->no_cost_row += r->pending_cost;
    r->pending_cost = 1;
    memcpy(r->last_sid, s->session_id, 65);
    int64_t ts = ts_of(r, s->event_date, s->event_time);
    if (strcmp(s->user_id, r->user) != 0) {
        end_user(r);
        memcpy(r->user, s->user_id, 65);
        r->user_first_ts = ts;
        r->last_conv_ts = INT64_MIN;
    } else if (ts <= r->user_last_ts || ts <= r->last_conv_ts) {
        r->bad++; /* a user's sessions are in time order, after its conversions */
    }
    r->user_last_ts = ts;
    r->user_len++;
    if (r->user_len == 1) {
        r->first_n++;
        r->first_closer += (uint64_t)s->closer_engagement;
    }
    r->prev_closer = (uint64_t)s->closer_engagement;
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
    if (!is_hex64(c->conv_id) || strcmp(c->conv_id, r->last_cid) <= 0)
        r->bad++;
    memcpy(r->last_cid, c->conv_id, 65);
    /* The converting user's sessions were just emitted; one is strictly
     * earlier than the conversion. */
    int64_t ts = ts_of(r, c->conv_date, c->conv_time);
    if (strcmp(c->user_id, r->user) != 0 || r->user_len == 0 || ts <= r->user_last_ts)
        r->bad++;
    if (!(c->revenue > 0) || c->revenue > 1e6)
        r->bad++;
    r->last_conv_ts = ts;
    r->user_convs++;
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
    r->last_conv_ts = INT64_MIN;
    assert_int_equal(attrib_date_parse(start ? start : "2023-01-01", 10, &r->day_min), 0);
    r->day_max = r->day_min + (int32_t)(days ? days : 7) - 1;
    int rc = attrib_gen_run(ctx, &o, &SINK, r, st);
    if (rc != 0)
        assert_true(attrib_errmsg(ctx)[0] != '\0');
    end_user(r);
    r->no_cost_row += r->pending_cost;
    attrib_ctx_free(ctx);
    return rc;
}

static void test_determinism(void **state)
{
    (void)state;
    run *a = calloc(3, sizeof(run));
    assert_non_null(a);
    attrib_gen_stats st;
    assert_int_equal(gen(&a[0], 20000, 7, NULL, 0, &st), 0);
    assert_int_equal(gen(&a[1], 20000, 7, NULL, 0, &st), 0);
    assert_int_equal(gen(&a[2], 20000, 8, NULL, 0, &st), 0);
    assert_true(a[0].hash == a[1].hash);
    assert_true(a[0].hash != a[2].hash);
    assert_int_equal(a[0].bad, 0);
    assert_int_equal(a[2].bad, 0);
    free(a);
}

/* Ids, dates, flags, order and the conversion invariants on a mid-size run
 * over a short span (many journeys squeezed into it). */
static void test_rows_valid(void **state)
{
    (void)state;
    run *r = calloc(1, sizeof(run));
    assert_non_null(r);
    attrib_gen_stats st;
    assert_int_equal(gen(r, 300000, 42, "2024-02-27", 5, &st), 0);
    assert_int_equal(r->bad, 0);
    /* Exactly the requested size, and stats agree with the rows seen. */
    assert_int_equal(st.sessions, 300000);
    assert_int_equal(r->sessions, st.sessions);
    assert_int_equal(r->conversions, st.conversions);
    assert_int_equal(r->costs, st.costs);
    assert_int_equal(r->users, st.users);
    assert_int_equal(r->sessions, r->costs + r->no_cost_row);
    free(r);
}

static void test_realism(void **state)
{
    (void)state;
    run *r = calloc(1, sizeof(run));
    assert_non_null(r);
    attrib_gen_stats st;
    assert_int_equal(gen(r, 400000, 3, "2023-09-01", 30, &st), 0);
    assert_int_equal(r->bad, 0);
    double conv_rate = (double)r->converters / (double)r->users;
    if (conv_rate < 0.02 || conv_rate > 0.04)
        fail_msg("converting users %.4f, expected 2-4%%", conv_rate);
    assert_true(r->twice > r->converters / 50);     /* some convert twice ... */
    assert_true(r->twice < r->converters / 4);      /* ... but not most */
    assert_true(r->no_cost_row > r->sessions / 20); /* some sessions have no cost row */
    assert_true(r->null_costs > 0);
    /* Heavy tail: most users have one session, some have many. */
    assert_true(r->users > r->sessions / 3);
    assert_true(r->long_users > r->users / 1000);
    /* Closer engagement grows along the journey. */
    double first = (double)r->first_closer / (double)r->first_n;
    double last = (double)r->last_closer / (double)r->last_n;
    if (!(last > first + 0.1))
        fail_msg("closer engagement first %.3f, last %.3f", first, last);
    free(r);
}

static void test_small_sizes(void **state)
{
    (void)state;
    for (uint64_t n = 1; n <= 300; n += 37) {
        run *r = calloc(1, sizeof(run));
        assert_non_null(r);
        attrib_gen_stats st;
        assert_int_equal(gen(r, n, n, "2023-01-01", 1, &st), 0);
        assert_int_equal(r->bad, 0);
        assert_int_equal(r->sessions, n);
        free(r);
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
    free(r);
}

static void test_bad_options(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), 0);
    run r;
    memset(&r, 0, sizeof(r));
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
    attrib_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism), cmocka_unit_test(test_rows_valid),
        cmocka_unit_test(test_realism),     cmocka_unit_test(test_small_sizes),
        cmocka_unit_test(test_sink_stops),  cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
