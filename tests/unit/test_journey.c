/* Unit tests of the journey window (SPEC §3): strict "before", --same-time,
 * inclusive lookback, reset after an earlier conversion, and their mixes. */
#include "testutil.h"

#include "lib/journey/dataset.h"

/* Sessions at these times (seconds), sorted as the loader sorts them. */
static const attrib_session S[] = {
    {.id = "a", .ts = 100}, {.id = "b", .ts = 200},         {.id = "c", .ts = 200},
    {.id = "d", .ts = 300}, {.id = "e", .ts = 86400 + 300},
};
#define NS (sizeof(S) / sizeof(S[0]))

static void window(const attrib_run_options *o, int64_t conv, int64_t prev, size_t lo, size_t hi)
{
    size_t l = 99, h = 99;
    attrib__journey_window(S, NS, conv, prev, o, &l, &h);
    if (l != lo || h != hi)
        fail_msg("conv %lld prev %lld: window [%zu,%zu), expected [%zu,%zu)", (long long)conv,
                 (long long)prev, l, h, lo, hi);
}

static void test_strictly_before(void **state)
{
    (void)state;
    attrib_run_options o = ATTRIB_RUN_OPTIONS_INIT;
    window(&o, 50, INT64_MIN, 0, 0);  /* nothing before: unattributable */
    window(&o, 100, INT64_MIN, 0, 0); /* a session at the conversion second is not before */
    window(&o, 101, INT64_MIN, 0, 1); /* a */
    window(&o, 200, INT64_MIN, 0, 1); /* b and c tie with the conversion: out */
    window(&o, 201, INT64_MIN, 0, 3); /* a b c */
    window(&o, 1000000, INT64_MIN, 0, 5);
    o.same_time = true;
    window(&o, 100, INT64_MIN, 0, 1); /* a at the conversion second: in */
    window(&o, 200, INT64_MIN, 0, 3); /* b and c: in */
    window(&o, 99, INT64_MIN, 0, 0);
}

static void test_lookback(void **state)
{
    (void)state;
    attrib_run_options o = ATTRIB_RUN_OPTIONS_INIT;
    o.lookback_days = 1;
    /* conversion at 86400 + 300: d (at 300) is exactly 24 h before: in
     * (e, at the conversion second, is not before it). */
    window(&o, 86400 + 300, INT64_MIN, 3, 4);
    /* one second later d is out. */
    window(&o, 86400 + 301, INT64_MIN, 4, 5);
    /* lookback past every session: empty journey. */
    window(&o, 10 * 86400, INT64_MIN, 5, 5);
}

static void test_reset(void **state)
{
    (void)state;
    attrib_run_options o = ATTRIB_RUN_OPTIONS_INIT;
    o.reset_after_conversion = true;
    /* previous conversion at 200: b and c (at 200) were not before it, so they
     * start the next journey; a is cut. */
    window(&o, 1000, 200, 1, 4);
    /* with same_time, b and c belonged to the previous one. */
    o.same_time = true;
    window(&o, 1000, 200, 3, 4);
    /* two conversions at the same second: the later (by id) one is empty. */
    o.same_time = false;
    window(&o, 300, 300, 3, 3);
    /* no previous conversion: no cut. */
    window(&o, 1000, INT64_MIN, 0, 4);
    /* reset and lookback: the later bound wins. */
    o.lookback_days = 1;
    window(&o, 86400 + 100, 250, 3, 4); /* reset (>= 250) beats lookback (>= 100) */
    window(&o, 86400 + 350, 150, 4, 5); /* lookback (>= 350) beats reset (>= 150) */
    /* without reset the previous conversion does not matter */
    o.reset_after_conversion = false;
    o.lookback_days = 0;
    window(&o, 1000, 200, 0, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strictly_before),
        cmocka_unit_test(test_lookback),
        cmocka_unit_test(test_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
