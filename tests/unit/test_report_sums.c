/*
 * Unit tests of the exact report sums (docs/pipeline.md, "report"): the
 * 128-bit accumulators survive the split into two int64 columns, terms
 * subtract exactly, and the store ops that keep attrib_report_sums, dirty
 * keys and the validity marker behave as store.h says, on SQLite and (with
 * $ATTRIB_PG_URI, e.g. from tests/pg/pg_start.sh) on PostgreSQL.
 */
#include "testutil.h"

#include "lib/report/rows.h"
#include "lib/report/store.h"
#include "lib/store/store.h"

#include <unistd.h>

static void test_acc_split_join(void **state)
{
    (void)state;
    const __int128 one = 1;
    const __int128 vals[] = {0,
                             1,
                             -1,
                             (__int128)INT64_MAX,
                             (__int128)INT64_MIN,
                             (__int128)UINT64_MAX,
                             -(__int128)UINT64_MAX - 1,
                             (one << 100) + 12345,
                             -(one << 110) - 987654321,
                             (__int128)(((unsigned __int128)1 << 127) - 1),
                             -(__int128)(((unsigned __int128)1 << 127) - 1) - 1};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        int64_t hi = 0, lo = 0;
        attrib__acc_split(vals[i], &hi, &lo);
        assert_true(attrib__acc_join(hi, lo) == vals[i]);
    }
    /* The halves are the two's complement bits: -1 is (-1, -1). */
    int64_t hi = 0, lo = 0;
    attrib__acc_split(-1, &hi, &lo);
    assert_int_equal(hi, -1);
    assert_int_equal(lo, -1);
}

/* Adding terms then subtracting some of them leaves exactly the sum of the rest. */
static void test_terms_subtract_exactly(void **state)
{
    (void)state;
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    attrib_xsum all = ATTRIB_XSUM_INIT, rest = ATTRIB_XSUM_INIT;
    for (int i = 0; i < 10000; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        double ihc = (double)(seed >> 11) / 9007199254740992.0;
        double revenue = (double)(seed % 100000) / 7.0;
        attrib_xsum_add(&all, ihc * revenue);
        if (i % 3 == 0)
            attrib_xsum_add(&all, -(ihc * revenue)); /* added and removed */
        else
            attrib_xsum_add(&rest, ihc * revenue);
    }
    assert_true(all.acc == rest.acc);
    assert_memory_equal(&(double){attrib_xsum_value(&all)}, &(double){attrib_xsum_value(&rest)},
                        sizeof(double));
}

typedef struct {
    char line[32][96];
    size_t n;
} lines;

static int on_line(const attrib_value *cols, void *payload, int ncols)
{
    lines *l = payload;
    if (l->n == 32)
        return ATTRIB_ERROR;
    char *p = l->line[l->n];
    size_t left = sizeof(l->line[0]);
    for (int i = 0; i < ncols; i++) {
        int w = cols[i].type == ATTRIB_V_TEXT  ? snprintf(p, left, "%s|", cols[i].s)
                : cols[i].type == ATTRIB_V_INT ? snprintf(p, left, "%lld|", (long long)cols[i].i)
                                               : snprintf(p, left, "?|");
        p += w;
        left -= (size_t)w;
    }
    l->n++;
    return ATTRIB_OK;
}

static int on_sums(const attrib_value *cols, void *payload)
{
    return on_line(cols, payload, ATTRIB_RS_NCOLS);
}

static int on_key(const attrib_value *cols, void *payload)
{
    return on_line(cols, payload, ATTRIB_DK_NCOLS);
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The rows of a scan, sorted, as one string "a|b|\n...". */
static const char *dump(attrib_store *st, const attrib_scan *sel, bool keys)
{
    static char out[32 * 96];
    lines l = {.n = 0};
    int rc = keys ? attrib__report_scan_dirty_keys(st, on_key, &l)
                  : attrib__report_scan_sums(st, sel, on_sums, &l);
    assert_int_equal(rc, ATTRIB_OK);
    qsort(l.line, l.n, sizeof(l.line[0]), cmp_line);
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < l.n; i++)
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s\n", l.line[i]);
    return out;
}

static bool valid(attrib_store *st)
{
    bool v = true;
    assert_int_equal(attrib__report_sums_valid(st, &v), ATTRIB_OK);
    return v;
}

/* The sums ops on one store, freshly initialised. */
static void check_ops(attrib_store *st)
{
    assert_false(valid(st));
    const attrib_sums_row rows[] = {
        {"Paid Search", "2023-01-01", 1, -2, 3, -4},
        {"Paid Search", "2023-01-02", 0, 5, 0, 6},
        {"O'Brien \"x\"", "2023-01-02", INT64_MIN, INT64_MAX, -1, 0},
    };
    assert_int_equal(attrib__store_begin(st), ATTRIB_OK);
    assert_int_equal(attrib__report_replace_sums(st, NULL, rows, 3, false), ATTRIB_OK);
    assert_int_equal(attrib__store_commit(st), ATTRIB_OK);
    assert_true(valid(st));
    assert_string_equal(dump(st, NULL, false),
                        "O'Brien \"x\"|2023-01-02|-9223372036854775808|9223372036854775807|-1|0|\n"
                        "Paid Search|2023-01-01|1|-2|3|-4|\n"
                        "Paid Search|2023-01-02|0|5|0|6|\n");
    /* By date. */
    const char *d2[] = {"2023-01-02"};
    attrib_scan by_date = {.dates = d2, .n_dates = 1};
    attrib_scan by_range = {.start_date = "2023-01-01", .end_date = "2023-01-01"};
    assert_string_equal(dump(st, &by_range, false), "Paid Search|2023-01-01|1|-2|3|-4|\n");
    /* Upsert with dirty keys, nothing deleted. */
    const attrib_sums_row up[] = {{"Paid Search", "2023-01-02", 7, 7, 7, 7},
                                  {"Direct", "2023-01-03", 1, 1, 1, 1}};
    attrib_scan none = {0};
    assert_int_equal(attrib__store_begin(st), ATTRIB_OK);
    assert_int_equal(attrib__report_replace_sums(st, &none, up, 2, true), ATTRIB_OK);
    assert_int_equal(attrib__store_commit(st), ATTRIB_OK);
    assert_string_equal(dump(st, &by_date, false),
                        "O'Brien \"x\"|2023-01-02|-9223372036854775808|9223372036854775807|-1|0|\n"
                        "Paid Search|2023-01-02|7|7|7|7|\n");
    assert_string_equal(dump(st, NULL, true), "Direct|2023-01-03|\nPaid Search|2023-01-02|\n");
    assert_true(valid(st));
    /* Replace the range's rows: the other rows of 2023-01-01 go. */
    const attrib_sums_row r1[] = {{"Email", "2023-01-01", 2, 2, 2, 2}};
    assert_int_equal(attrib__store_begin(st), ATTRIB_OK);
    assert_int_equal(attrib__report_replace_sums(st, &by_range, r1, 1, false), ATTRIB_OK);
    assert_int_equal(attrib__store_commit(st), ATTRIB_OK);
    assert_string_equal(dump(st, &by_range, false), "Email|2023-01-01|2|2|2|2|\n");
    /* A report of 2023-01-02 forgets that date's dirty keys only. */
    assert_int_equal(attrib__store_begin(st), ATTRIB_OK);
    assert_int_equal(attrib__report_replace(st, &by_date, NULL, 0), ATTRIB_OK);
    assert_int_equal(attrib__store_commit(st), ATTRIB_OK);
    assert_string_equal(dump(st, NULL, true), "Direct|2023-01-03|\n");
    /* Invalidation: no sums, no dirty keys, everything dirty. */
    assert_int_equal(attrib__store_begin(st), ATTRIB_OK);
    assert_int_equal(attrib__report_invalidate_sums(st), ATTRIB_OK);
    assert_int_equal(attrib__store_commit(st), ATTRIB_OK);
    assert_false(valid(st));
    assert_string_equal(dump(st, NULL, false), "");
    assert_string_equal(dump(st, NULL, true), "");
    /* A full report makes them valid again and forgets every dirty date. */
    assert_int_equal(attrib__store_begin(st), ATTRIB_OK);
    assert_int_equal(attrib__report_replace_sums(st, &none, up, 2, true), ATTRIB_OK);
    assert_int_equal(attrib__report_replace(st, NULL, NULL, 0), ATTRIB_OK);
    assert_int_equal(attrib__report_replace_sums(st, NULL, rows, 1, false), ATTRIB_OK);
    assert_int_equal(attrib__store_commit(st), ATTRIB_OK);
    assert_true(valid(st));
    assert_string_equal(dump(st, NULL, false), "Paid Search|2023-01-01|1|-2|3|-4|\n");
    assert_string_equal(dump(st, NULL, true), "");
}

static void test_sqlite_ops(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    char path[] = "/tmp/attrib-sums-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    attrib_store *st = NULL;
    assert_int_equal(attrib_store_open(ctx, path, ATTRIB_STORE_CREATE, &st), ATTRIB_OK);
    assert_int_equal(attrib_store_init(st, NULL), ATTRIB_OK);
    check_ops(st);
    attrib_store_close(st);
    unlink(path);
    attrib_ctx_free(ctx);
}

static void test_pg_ops(void **state)
{
    (void)state;
    const char *uri = getenv("ATTRIB_PG_URI");
    if (uri == NULL || uri[0] == '\0') {
        const char *ci = getenv("CI");
        if (ci != NULL && strcmp(ci, "true") == 0)
            fail_msg("no PostgreSQL server (ATTRIB_PG_URI unset); under CI these tests must run");
        print_message(
            "SKIPPED: no PostgreSQL server (set ATTRIB_PG_URI, see tests/pg/pg_start.sh)\n");
        skip();
    }
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    char target[512];
    snprintf(target, sizeof(target), "%s?schema=ut%ld_sums", uri, (long)getpid());
    attrib_store *st = NULL;
    if (attrib_store_open(ctx, target, ATTRIB_STORE_CREATE, &st) != ATTRIB_OK)
        fail_msg("open %s: %s", target, attrib_errmsg(ctx));
    assert_int_equal(attrib_store_init(st, NULL), ATTRIB_OK);
    check_ops(st);
    char sql[96];
    snprintf(sql, sizeof(sql), "DROP SCHEMA ut%ld_sums CASCADE", (long)getpid());
    assert_int_equal(st->ops->exec_script(st->impl, sql), ATTRIB_OK);
    attrib_store_close(st);
    attrib_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acc_split_join),
        cmocka_unit_test(test_terms_subtract_exactly),
        cmocka_unit_test(test_sqlite_ops),
        cmocka_unit_test(test_pg_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
