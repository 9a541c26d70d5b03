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
#include "lib/report/sums.h"
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

/*
 * Report parts (a job's reduction, attrib_report_part): aggregates of the
 * same terms split over "workers", each with its own channel numbering, added
 * as parts give the cells of one aggregate of every term, bit for bit, with
 * negative terms (a ranged job's deltas) and low halves that carry.
 */
static void test_parts_add_exactly(void **state)
{
    (void)state;
    static const char *const names[] = {"Email", "Search", "Social", "Display"};
    enum { WORKERS = 3 };
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    attrib_strmap ch_one = ATTRIB_STRMAP_INIT, ch_w[WORKERS], ch_job = ATTRIB_STRMAP_INIT;
    attrib__agg one = {.channels = &ch_one}, w[WORKERS], job = {.channels = &ch_job};
    for (int k = 0; k < WORKERS; k++) {
        ch_w[k] = (attrib_strmap)ATTRIB_STRMAP_INIT;
        w[k] = (attrib__agg){.channels = &ch_w[k]};
    }
    uint64_t seed = 0x2545f4914f6cdd1dULL;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        const char *name = names[(seed >> 20) % 4];
        int32_t day = 19000 + (int32_t)((seed >> 30) % 9);
        /* costs up to 1e6 and credits of either sign: low halves wrap often */
        double cost = (double)(seed >> 40) / 16.0, ihc = (double)(int32_t)(seed >> 8) / 3e5;
        int k = (int)((seed >> 50) % WORKERS);
        int64_t c1 = attrib_strmap_intern(&ch_one, name, strlen(name), NULL);
        /* each worker meets the channels in its own order */
        int64_t ck = attrib_strmap_intern(&ch_w[k], name, strlen(name), NULL);
        assert_true(c1 >= 0 && ck >= 0);
        assert_int_equal(attrib__agg_cost(&one, (uint32_t)c1, day, cost), ATTRIB_OK);
        assert_int_equal(attrib__agg_credit(&one, (uint32_t)c1, day, ihc, 77.5), ATTRIB_OK);
        assert_int_equal(attrib__agg_cost(&w[k], (uint32_t)ck, day, cost), ATTRIB_OK);
        assert_int_equal(attrib__agg_credit(&w[k], (uint32_t)ck, day, ihc, 77.5), ATTRIB_OK);
    }
    for (int k = 0; k < WORKERS; k++) {
        attrib_report_part part;
        attrib_report_cell *cells = NULL;
        assert_int_equal(attrib__agg_to_part(ctx, &w[k], &part, &cells), ATTRIB_OK);
        assert_int_equal(part.n_cells, w[k].count);
        assert_int_equal(attrib__agg_add_part(ctx, &job, &part), ATTRIB_OK);
        free(cells);
    }
    assert_int_equal(job.count, one.count);
    for (size_t i = 0; i < one.cap; i++) {
        const attrib__agg_cell *c = &one.cells[i];
        if (!c->used)
            continue;
        const char *name = ch_one.keys[attrib__agg_channel(c)];
        int64_t j = attrib_strmap_find(&ch_job, name, strlen(name));
        assert_true(j >= 0);
        const attrib__agg_cell *d = attrib__agg_find(&job, (uint32_t)j, attrib__agg_day(c));
        assert_non_null(d);
        assert_int_equal(d->sessions, c->sessions);
        assert_true(d->cost.acc == c->cost.acc);
        assert_true(d->ihc.acc == c->ihc.acc);
        assert_true(d->revenue.acc == c->revenue.acc);
        assert_false(d->cost.overflow || d->ihc.overflow || d->revenue.overflow);
    }
    /* A cell naming a channel the part does not have is refused. */
    const char *const one_name[] = {"Email"};
    attrib_report_cell bad = {.channel = 1, .day = 19000, .sessions = 1};
    attrib_report_part p = {.channels = one_name, .n_channels = 1, .cells = &bad, .n_cells = 1};
    assert_int_equal(attrib__agg_add_part(ctx, &job, &p), ATTRIB_EINVAL);
    /* An overflow flag reaches every sum of its cell. */
    bad.channel = 0;
    bad.overflow = 1;
    assert_int_equal(attrib__agg_add_part(ctx, &job, &p), ATTRIB_OK);
    int64_t e = attrib_strmap_find(&ch_job, "Email", 5);
    const attrib__agg_cell *d = attrib__agg_find(&job, (uint32_t)e, 19000);
    assert_true(d != NULL && d->cost.overflow && d->ihc.overflow && d->revenue.overflow);
    for (int k = 0; k < WORKERS; k++) {
        attrib__agg_free(&w[k]);
        attrib_strmap_free(&ch_w[k]);
    }
    attrib__agg_free(&one);
    attrib__agg_free(&job);
    attrib_strmap_free(&ch_one);
    attrib_strmap_free(&ch_job);
    attrib_ctx_free(ctx);
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
        cmocka_unit_test(test_parts_add_exactly),
        cmocka_unit_test(test_sqlite_ops),
        cmocka_unit_test(test_pg_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
