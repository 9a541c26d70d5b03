/* Unit tests of src/util: timestamps, number formatting, CSV quoting, the
 * bounded buffer, the string map and order-independent sums. */
#include "testutil.h"

#include "util/arena.h"
#include "util/buf.h"
#include "util/csv.h"
#include "util/fsum.h"
#include "util/numfmt.h"
#include "util/strmap.h"
#include "util/ts.h"
#include "util/utf8.h"
#include "util/xsum.h"

#include <math.h>

/* Strings unaligned, other allocations aligned, whatever came before; blocks
 * past the first megabytes are mappings of their own (huge pages asked), an
 * oversized request a block of its own; adopted blocks stay valid and are
 * freed with their new arena. Every byte is checked after all the writes. */
static void test_arena(void **state)
{
    (void)state;
    attrib_arena a = ATTRIB_ARENA_INIT, b = ATTRIB_ARENA_INIT;
    enum { N = 400000 };
    char **s = calloc(N, sizeof(*s));
    assert_non_null(s);
    char id[80];
    for (size_t i = 0; i < N; i++) {
        int len = snprintf(id, sizeof(id), "%064zx", i * 2654435761u);
        attrib_arena *to = i % 3 == 0 ? &b : &a;
        s[i] = attrib_arena_strndup(to, id, (size_t)len - (i % 7));
        assert_non_null(s[i]);
        if (i % 1000 == 1) {
            uint64_t *w = attrib_arena_alloc(to, 3 * sizeof(*w));
            assert_non_null(w);
            assert_int_equal((uintptr_t)w % _Alignof(max_align_t), 0);
            w[0] = w[1] = w[2] = i;
        }
    }
    /* Consecutive strings are packed: no alignment between them. */
    assert_ptr_equal(s[5], s[4] + strlen(s[4]) + 1);
    char *big = attrib_arena_alloc(&a, (size_t)40 << 20); /* more than any block */
    assert_non_null(big);
    memset(big, 'x', (size_t)40 << 20);
    char *after = attrib_arena_strndup(&a, "after", 5);
    assert_string_equal(after, "after");
    assert_true(a.total > ((size_t)60 << 20));
    size_t total = a.total + b.total;
    attrib_arena_adopt(&a, &b);
    assert_null(b.head);
    assert_int_equal(a.total, total);
    for (size_t i = 0; i < N; i++) {
        int len = snprintf(id, sizeof(id), "%064zx", i * 2654435761u);
        id[len - (int)(i % 7)] = '\0';
        assert_string_equal(s[i], id);
    }
    assert_int_equal(big[0], 'x');
    assert_int_equal(big[((size_t)40 << 20) - 1], 'x');
    assert_null(attrib_arena_alloc(&a, SIZE_MAX - 8)); /* sizes that would wrap */
    assert_null(attrib_arena_strndup(&a, "x", SIZE_MAX - 1));
    char *more = attrib_arena_strndup(&a, "more", 4); /* a's head keeps filling */
    assert_string_equal(more, "more");
    attrib_arena_free(&a);
    assert_null(a.head);
    assert_int_equal(a.total, 0);
    attrib_arena_free(&b); /* empty: nothing to do */
    free(s);
}

static void test_date_parse(void **state)
{
    (void)state;
    int32_t d;
    assert_int_equal(attrib_date_parse("1970-01-01", 10, &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(attrib_date_parse("2023-09-01", 10, &d), 0);
    assert_int_equal(d, 19601); /* 2023-09-01 is day 19601 */
    assert_int_equal(attrib_date_parse("2024-02-29", 10, &d), 0);
    assert_int_equal(attrib_date_parse("2000-02-29", 10, &d), 0);
    /* Rejected: not a calendar date, wrong shape, trailing bytes. */
    const char *bad[] = {"2023-02-29", "1900-02-29", "2023-13-01", "2023-00-10",
                         "2023-04-31", "2023-9-01",  "2023/09/01", "2023-09-01 ",
                         "20230901",   "0000-01-01", "2023-09-0a", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(attrib_date_parse(bad[i], strlen(bad[i]), &d), -1);
    char out[11];
    attrib_date_format(19601, out);
    assert_string_equal(out, "2023-09-01");
    attrib_date_format(-1, out);
    assert_string_equal(out, "1969-12-31");
    /* Round trip over four centuries. */
    for (int32_t day = -200000; day < 200000; day += 37) {
        attrib_date_format(day, out);
        assert_int_equal(attrib_date_parse(out, 10, &d), 0);
        assert_int_equal(d, day);
    }
}

static void test_time_parse(void **state)
{
    (void)state;
    int32_t t;
    assert_int_equal(attrib_time_parse("00:00:00", 8, &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(attrib_time_parse("23:59:59", 8, &t), 0);
    assert_int_equal(t, 86399);
    const char *bad[] = {"24:00:00",   "12:60:00", "12:00:60", "1:00:00", "12:00",
                         "12:00:00.5", "12-00-00", "aa:bb:cc", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(attrib_time_parse(bad[i], strlen(bad[i]), &t), -1);
    int64_t ts;
    assert_int_equal(attrib_datetime_parse("2023-09-01 13:01:28", 19, &ts), 0);
    assert_int_equal(ts, 19601LL * 86400 + 13 * 3600 + 60 + 28);
    char out[20];
    attrib_datetime_format(ts, out);
    assert_string_equal(out, "2023-09-01 13:01:28");
    assert_int_equal(attrib_ts_day(-1), -1);
}

static void test_numfmt(void **state)
{
    (void)state;
    char out[ATTRIB_NUMFMT_MAX];
    struct {
        double x;
        const char *s;
    } cases[] = {{0.0, "0"},
                 {-0.0, "0"},
                 {1.0, "1"},
                 {0.1, "0.1"},
                 {0.1 + 0.2, "0.30000000000000004"},
                 {123.45, "123.45"},
                 {1e21, "1e+21"},
                 {1.0 / 3, "0.3333333333333333"},
                 {-2.5, "-2.5"},
                 {5e-324, "5e-324"},
                 {10.0, "10"},
                 {30.0, "30"},
                 {1.5e-7, "1.5e-07"},
                 {0.0001, "0.0001"},
                 {1e15, "1000000000000000"},
                 {1e16, "1e+16"},
                 {123456789012345680.0, "1.2345678901234568e+17"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        attrib_numfmt(cases[i].x, out);
        assert_string_equal(out, cases[i].s);
    }
    /* Every formatted value reads back to the same double. */
    double x = 1.0;
    for (int i = 0; i < 2000; i++) {
        x = x * 1.37 + 0.011;
        if (x > 1e12)
            x /= 1e15;
        attrib_numfmt(x, out);
        assert_true(strtod(out, NULL) == x);
    }
    double v;
    assert_int_equal(attrib_numparse("12.5", 4, &v), 0);
    assert_true(v == 12.5);
    assert_int_equal(attrib_numparse("inf", 3, &v), -1);
    assert_int_equal(attrib_numparse("0x10", 4, &v), -1);
    assert_int_equal(attrib_numparse("1 ", 2, &v), -1);
}

static void test_csv(void **state)
{
    (void)state;
    attrib_buf b = ATTRIB_BUF_INIT(0);
    struct {
        const char *in, *out;
    } cases[] = {{"plain", "plain"},
                 {"a,b", "\"a,b\""},
                 {"say \"hi\"", "\"say \"\"hi\"\"\""},
                 {"line\nbreak", "\"line\nbreak\""},
                 {" pad", "\" pad\""},
                 {"", ""}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        attrib_buf_reset(&b);
        assert_int_equal(attrib_csv_field(&b, cases[i].in, strlen(cases[i].in)), 0);
        assert_string_equal(attrib_buf_cstr(&b), cases[i].out);
    }
    attrib_buf_free(&b);
}

/* Formula neutralisation: text cells only, the usual leading characters. */
static void test_csv_text(void **state)
{
    (void)state;
    attrib_buf b = ATTRIB_BUF_INIT(0);
    struct {
        const char *in, *neutral, *raw;
    } cases[] = {{"=1+1", "'=1+1", "=1+1"},
                 {"+1", "'+1", "+1"},
                 {"-2", "'-2", "-2"},
                 {"@SUM(A1)", "'@SUM(A1)", "@SUM(A1)"},
                 {"\tx", "'\tx", "\tx"},
                 {"\rx", "\"'\rx\"", "\"\rx\""},
                 {"=a,b", "\"'=a,b\"", "\"=a,b\""},
                 {"a=b", "a=b", "a=b"},
                 {"", "", ""}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        attrib_buf_reset(&b);
        assert_int_equal(attrib_csv_text(&b, cases[i].in, strlen(cases[i].in), true), 0);
        assert_string_equal(attrib_buf_cstr(&b), cases[i].neutral);
        attrib_buf_reset(&b);
        assert_int_equal(attrib_csv_text(&b, cases[i].in, strlen(cases[i].in), false), 0);
        assert_string_equal(attrib_buf_cstr(&b), cases[i].raw);
    }
    attrib_buf_free(&b);
}

static void test_utf8(void **state)
{
    (void)state;
    struct {
        const char *s;
        size_t len;
        bool ok;
    } cases[] = {
        {"plain", 5, true},         {"caf\xc3\xa9", 5, true},
        {"\xe2\x98\x95", 3, true},  {"\xf0\x9f\x98\x80", 4, true},
        {"A\0B", 3, false},         {"\x80", 1, false},
        {"\xc3", 1, false},         {"\xc0\xaf", 2, false}, /* overlong */
        {"\xed\xa0\x80", 3, false}, /* surrogate */ {"\xf4\x90\x80\x80", 4, false},
        {"\xe2\x98", 2, false},     {"", 0, true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(attrib_utf8_valid(cases[i].s, cases[i].len), cases[i].ok);
    /* Long text is checked eight bytes at a time: a NUL, a stray continuation
     * byte, a DEL (valid) or a 2-byte character at every offset of 20 bytes. */
    char t[20];
    for (size_t at = 0; at < sizeof(t); at++) {
        memset(t, 'a', sizeof(t));
        t[at] = '\0';
        assert_false(attrib_utf8_valid(t, sizeof(t)));
        t[at] = (char)0x80;
        assert_false(attrib_utf8_valid(t, sizeof(t)));
        t[at] = 0x7f;
        assert_true(attrib_utf8_valid(t, sizeof(t)));
        if (at + 1 < sizeof(t)) {
            t[at] = (char)0xc3;
            t[at + 1] = (char)0xa9;
            assert_true(attrib_utf8_valid(t, sizeof(t)));
            assert_false(attrib_utf8_valid(t, at + 1)); /* cut in the middle */
        }
    }
}

static void test_buf_limit(void **state)
{
    (void)state;
    attrib_buf b = ATTRIB_BUF_INIT(10);
    assert_int_equal(attrib_buf_adds(&b, "12345"), 0);
    assert_int_equal(attrib_buf_printf(&b, "%d", 12345), 0);
    assert_int_equal(attrib_buf_addc(&b, 'x'), -1); /* 11th byte */
    assert_true(attrib_buf_failed(&b));
    assert_int_equal(attrib_buf_adds(&b, ""), -1); /* sticky */
    assert_null(attrib_buf_take(&b));
    attrib_buf c = ATTRIB_BUF_INIT(0);
    assert_int_equal(attrib_buf_printf(&c, "%s-%d", "a", 7), 0);
    char *s = attrib_buf_take(&c);
    assert_string_equal(s, "a-7");
    free(s);
}

static void test_strmap(void **state)
{
    (void)state;
    attrib_strmap m = ATTRIB_STRMAP_INIT;
    char key[32];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof(key), "k%d", i);
        int added = 0;
        assert_int_equal(attrib_strmap_intern(&m, key, (size_t)n, &added), i);
        assert_int_equal(added, 1);
    }
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(attrib_strmap_find(&m, key, (size_t)n), i);
        assert_string_equal(m.keys[i], key);
        /* Keys of any length are aligned: the models read arrays back in place. */
        assert_int_equal((uintptr_t)m.keys[i] % _Alignof(max_align_t), 0);
    }
    assert_int_equal(attrib_strmap_find(&m, "absent", 6), -1);
    attrib_strmap_free(&m);
}

static void test_xsum(void **state)
{
    (void)state;
    /* The same terms in two orders give bit-identical sums. */
    double terms[1000];
    double x = 0.123;
    for (int i = 0; i < 1000; i++) {
        x = fmod(x * 997.13 + 0.7, 1000.0);
        terms[i] = i % 3 == 0 ? x / 1e6 : x;
    }
    attrib_xsum fwd = ATTRIB_XSUM_INIT, rev = ATTRIB_XSUM_INIT;
    double naive = 0;
    for (int i = 0; i < 1000; i++) {
        attrib_xsum_add(&fwd, terms[i]);
        attrib_xsum_add(&rev, terms[999 - i]);
        naive += terms[i];
    }
    assert_true(attrib_xsum_value(&fwd) == attrib_xsum_value(&rev));
    assert_near(attrib_xsum_value(&fwd), naive, 1e-9);
    attrib_xsum s = ATTRIB_XSUM_INIT;
    attrib_xsum_add(&s, 0.5);
    attrib_xsum_add(&s, -0.25);
    assert_true(attrib_xsum_value(&s) == 0.25);
    attrib_xsum_add(&s, 1e300);
    assert_true(s.overflow);
}

static double fsum_of(const double *x, size_t n)
{
    attrib_fsum s = ATTRIB_FSUM_INIT;
    for (size_t i = 0; i < n; i++)
        attrib_fsum_add(&s, x[i]);
    return attrib_fsum_value(&s);
}

/* Correct rounding of the exact sum (the values Python's math.fsum gives). */
static void test_fsum(void **state)
{
    (void)state;
    const double cancel[] = {1e100, 1.0, -1e100};
    assert_true(fsum_of(cancel, 3) == 1.0);
    double tenth[10];
    for (int i = 0; i < 10; i++)
        tenth[i] = 0.1;
    assert_true(fsum_of(tenth, 10) == 1.0); /* a naive loop gives 0.9999999999999999 */
    const double up[] = {1.0, 1e-16, 1e-16};
    assert_true(fsum_of(up, 3) == 1.0000000000000002);
    /* 1 + 2^-53 is a tie (to even: 1); the 2^-80 below it breaks the tie upwards */
    const double tie[] = {1.0, ldexp(1, -53), ldexp(1, -80)};
    assert_true(fsum_of(tie, 3) == 1.0 + ldexp(1, -52));
    const double none[] = {0.0};
    assert_true(fsum_of(none, 0) == 0.0);
    /* order-independent: the same terms forwards and backwards, the same bits */
    double t[500], r[500];
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 500; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        t[i] = ldexp((double)(x >> 11), -53) * pow(10.0, (double)(x % 9)) * (x & 1 ? -1 : 1);
        r[499 - i] = t[i];
    }
    assert_true(fsum_of(t, 500) == fsum_of(r, 500));
    const double inf[] = {1.0, INFINITY};
    assert_true(isnan(fsum_of(inf, 2)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_parse), cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_numfmt),     cmocka_unit_test(test_csv),
        cmocka_unit_test(test_csv_text),   cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_buf_limit),  cmocka_unit_test(test_strmap),
        cmocka_unit_test(test_xsum),       cmocka_unit_test(test_fsum),
        cmocka_unit_test(test_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
