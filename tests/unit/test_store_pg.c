/*
 * Unit tests of the PostgreSQL store against a real server ($ATTRIB_PG_URI,
 * e.g. from tests/pg/pg_start.sh; .ci/run starts one): the same datasets in
 * SQLite and PostgreSQL give bit-identical attribution and report tables;
 * floats travel exactly; selections with quotes are data; the display form
 * of a target never shows its password. Without a server every test is
 * skipped with a loud message, except under CI=true, where they fail.
 */
#include "testutil.h"

#include "attrib/copy.h"
#include "attrib/gen.h"
#include "attrib/pipeline.h"
#include "lib/api/cache.h"
#include "lib/report/store.h"
#include "lib/store/store.h"
#include "util/buf.h"

#include <math.h>
#include <unistd.h>

static char pg_base[512];

/* The server's URI, or skip (fail under CI). */
static const char *server(void)
{
    const char *uri = getenv("ATTRIB_PG_URI");
    if (uri != NULL && uri[0] != '\0')
        return uri;
    const char *ci = getenv("CI");
    if (ci != NULL && strcmp(ci, "true") == 0)
        fail_msg("no PostgreSQL server (ATTRIB_PG_URI unset); under CI these tests must run");
    print_message("SKIPPED: no PostgreSQL server (set ATTRIB_PG_URI, see tests/pg/pg_start.sh)\n");
    skip();
    return NULL;
}

/* A store on a fresh schema of the server; the schema is dropped by drop_pg. */
static attrib_store *open_pg(attrib_ctx *ctx, const char *name)
{
    const char *uri = server();
    snprintf(pg_base, sizeof(pg_base), "%s?schema=ut%ld_%s", uri, (long)getpid(), name);
    attrib_store *st = NULL;
    int rc = attrib_store_open(ctx, pg_base, ATTRIB_STORE_CREATE, &st);
    if (rc != ATTRIB_OK)
        fail_msg("open %s: %s", pg_base, attrib_errmsg(ctx));
    return st;
}

static void drop_pg(attrib_store *st, const char *name)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "DROP SCHEMA ut%ld_%s CASCADE", (long)getpid(), name);
    assert_int_equal(st->ops->exec_script(st->impl, sql), ATTRIB_OK);
    attrib_store_close(st);
}

static attrib_store *sqlite_store(attrib_ctx *ctx, char *path)
{
    attrib_store *st = NULL;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(attrib_store_open(ctx, path, ATTRIB_STORE_CREATE, &st), ATTRIB_OK);
    return st;
}

static attrib_store *golden_sqlite(attrib_ctx *ctx, char *path)
{
    attrib_store *st = sqlite_store(ctx, path);
    assert_int_equal(attrib_store_init(st, NULL), ATTRIB_OK);
    FILE *f = fopen(TOP "/tests/data/golden.sql", "r");
    assert_non_null(f);
    static char sql[1 << 16];
    size_t n = fread(sql, 1, sizeof(sql) - 1, f);
    fclose(f);
    sql[n] = '\0';
    assert_int_equal(st->ops->exec_script(st->impl, sql), ATTRIB_OK);
    return st;
}

/* Rows of a scan as text lines, floats as their bits, sorted: a canonical dump. */
typedef struct {
    char **lines;
    size_t n, cap;
    int ncols;
} dump;

static int on_dump(const attrib_value *cols, void *payload)
{
    dump *d = payload;
    attrib_buf b = ATTRIB_BUF_INIT(0);
    int e = 0;
    for (int i = 0; i < d->ncols; i++) {
        const attrib_value *v = &cols[i];
        uint64_t bits;
        switch (v->type) {
        case ATTRIB_V_NULL:
            e |= attrib_buf_adds(&b, "NULL|");
            break;
        case ATTRIB_V_INT:
            e |= attrib_buf_printf(&b, "i%lld|", (long long)v->i);
            break;
        case ATTRIB_V_REAL:
            memcpy(&bits, &v->r, sizeof(bits));
            e |= attrib_buf_printf(&b, "r%016llx|", (unsigned long long)bits);
            break;
        case ATTRIB_V_TEXT:
            e |= attrib_buf_adds(&b, "t");
            e |= attrib_buf_add(&b, v->s, v->len);
            e |= attrib_buf_adds(&b, "|");
            break;
        }
    }
    assert_int_equal(e, 0);
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 256;
        d->lines = realloc(d->lines, d->cap * sizeof(*d->lines));
        assert_non_null(d->lines);
    }
    d->lines[d->n++] = attrib_buf_take(&b);
    return ATTRIB_OK;
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void dump_free(dump *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->lines[i]);
    free(d->lines);
    memset(d, 0, sizeof(*d));
}

static void dump_outputs(attrib_store *st, dump *attr, dump *report)
{
    attr->ncols = ATTRIB_AR_NCOLS;
    report->ncols = ATTRIB_CR_NCOLS;
    assert_int_equal(st->ops->scan_attribution(st->impl, NULL, on_dump, attr), ATTRIB_OK);
    assert_int_equal(attrib__report_scan(st, NULL, on_dump, report), ATTRIB_OK);
    qsort(attr->lines, attr->n, sizeof(char *), cmp_line);
    qsort(report->lines, report->n, sizeof(char *), cmp_line);
}

static void assert_same_dump(const dump *a, const dump *b, const char *what)
{
    if (a->n != b->n)
        fail_msg("%s: %zu rows in SQLite, %zu in PostgreSQL", what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->lines[i], b->lines[i]) != 0)
            fail_msg("%s: row %zu differs:\n  SQLite     %s\n  PostgreSQL %s", what, i, a->lines[i],
                     b->lines[i]);
}

/* Run the pipeline on both stores with each option set and compare the tables bit by bit. */
static void compare_stores(attrib_ctx *ctx, attrib_store *sq, attrib_store *pg, const char *start,
                           const char *end)
{
    attrib_run_options o = ATTRIB_RUN_OPTIONS_INIT;
    o.start_date = start;
    o.end_date = end;
    for (int lookback = 0; lookback <= 2; lookback += 2) {
        o.lookback_days = (uint32_t)lookback;
        attrib_summary s1 = {0}, s2 = {0};
        int rc = attrib_run(ctx, sq, &o, NULL, &s1);
        if (rc != ATTRIB_OK)
            fail_msg("run on SQLite: %s", attrib_errmsg(ctx));
        rc = attrib_run(ctx, pg, &o, NULL, &s2);
        if (rc != ATTRIB_OK)
            fail_msg("run on PostgreSQL: %s", attrib_errmsg(ctx));
        assert_int_equal(s1.attribution_rows, s2.attribution_rows);
        assert_int_equal(s1.report_rows, s2.report_rows);
        assert_int_equal(s1.sessions_read, s2.sessions_read);
        attrib_summary_free(&s1);
        attrib_summary_free(&s2);
        dump a1 = {0}, r1 = {0}, a2 = {0}, r2 = {0};
        dump_outputs(sq, &a1, &r1);
        dump_outputs(pg, &a2, &r2);
        assert_true(a1.n > 0);
        assert_same_dump(&a1, &a2, "attribution_customer_journey");
        assert_same_dump(&r1, &r2, "channel_reporting");
        dump_free(&a1);
        dump_free(&r1);
        dump_free(&a2);
        dump_free(&r2);
    }
}

static void test_golden_same_tables(void **state)
{
    (void)state;
    server();
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    char path[] = "/tmp/attrib-ut-pg-XXXXXX";
    attrib_store *sq = golden_sqlite(ctx, path);
    attrib_store *pg = open_pg(ctx, "golden");
    attrib_copy_stats cs;
    int rc = attrib_copy(ctx, sq, pg, ATTRIB_COPY_FORCE, &cs);
    if (rc != ATTRIB_OK)
        fail_msg("copy: %s", attrib_errmsg(ctx));
    assert_int_equal(cs.sessions, 10);
    assert_int_equal(cs.conversions, 5);
    assert_int_equal(cs.costs, 7);
    compare_stores(ctx, sq, pg, NULL, NULL);
    compare_stores(ctx, sq, pg, "2023-09-02", "2023-09-06");
    compare_stores(ctx, sq, pg, "2023-09-05", NULL);
    drop_pg(pg, "golden");
    attrib_store_close(sq);
    unlink(path);
    attrib_ctx_free(ctx);
}

static void test_generated_same_tables(void **state)
{
    (void)state;
    server();
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    char path[] = "/tmp/attrib-ut-pg-XXXXXX";
    attrib_store *sq = sqlite_store(ctx, path);
    attrib_gen_options go = ATTRIB_GEN_OPTIONS_INIT;
    go.sessions = 8000;
    go.seed = 3;
    go.days = 10;
    assert_int_equal(attrib_gen_store(ctx, sq, &go, 0, NULL), ATTRIB_OK);
    attrib_store *pg = open_pg(ctx, "gen");
    /* gen straight into PostgreSQL gives the rows copy gives. */
    assert_int_equal(attrib_gen_store(ctx, pg, &go, 0, NULL), ATTRIB_OK);
    dump g1 = {.ncols = ATTRIB_SS_COST + 1}, g2 = {.ncols = ATTRIB_SS_COST + 1};
    assert_int_equal(sq->ops->scan_sessions(sq->impl, NULL, on_dump, &g1), ATTRIB_OK);
    assert_int_equal(pg->ops->scan_sessions(pg->impl, NULL, on_dump, &g2), ATTRIB_OK);
    qsort(g1.lines, g1.n, sizeof(char *), cmp_line);
    qsort(g2.lines, g2.n, sizeof(char *), cmp_line);
    assert_true(g1.n > 7000); /* gen's size is approximate */
    assert_same_dump(&g1, &g2, "session_sources + cost after gen");
    size_t generated = g1.n;
    dump_free(&g1);
    dump_free(&g2);
    attrib_copy_stats cs;
    assert_int_equal(attrib_copy(ctx, sq, pg, 0, &cs), ATTRIB_EINVAL); /* not empty */
    assert_int_equal(attrib_copy(ctx, sq, pg, ATTRIB_COPY_FORCE, &cs), ATTRIB_OK);
    assert_int_equal(cs.sessions, generated);
    compare_stores(ctx, sq, pg, NULL, NULL);
    compare_stores(ctx, sq, pg, "2023-01-04", "2023-01-06");
    drop_pg(pg, "gen");
    attrib_store_close(sq);
    unlink(path);
    attrib_ctx_free(ctx);
}

static attrib_value text(const char *s)
{
    attrib_value v = {ATTRIB_V_TEXT, 0, 0, s, strlen(s)};
    return v;
}

static attrib_value real(double r)
{
    attrib_value v = {ATTRIB_V_REAL, 0, r, NULL, 0};
    return v;
}

typedef struct {
    double revenue[16];
    char ids[16][64];
    size_t n;
} conv_rows;

static int on_conv(const attrib_value *cols, void *payload)
{
    conv_rows *c = payload;
    assert_true(c->n < 16);
    assert_int_equal(cols[ATTRIB_CV_REVENUE].type, ATTRIB_V_REAL);
    c->revenue[c->n] = cols[ATTRIB_CV_REVENUE].r;
    snprintf(c->ids[c->n], sizeof(c->ids[0]), "%s", cols[ATTRIB_CV_CONV_ID].s);
    c->n++;
    return ATTRIB_OK;
}

/* Doubles keep every bit; text with quotes, backslashes, tabs and newlines
 * round-trips through COPY; user selections with quotes are data. */
static void test_values_and_selections(void **state)
{
    (void)state;
    server();
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    attrib_store *pg = open_pg(ctx, "values");
    assert_int_equal(attrib_store_init(pg, NULL), ATTRIB_OK);
    static const double nums[] = {0.1,
                                  1.0 / 3,
                                  5e-324,
                                  2.2250738585072014e-308,
                                  1.7976931348623157e308,
                                  -0.0,
                                  123456789.123456789,
                                  47.11};
    static const char *const users[] = {"plain",     "o'brien", "a\"b\\c",
                                        "tab\there", "nl\nx",   "'); DROP TABLE conversions; --",
                                        "x",         "y"};
    attrib_value rows[8 * 5];
    char ids[8][16];
    for (int i = 0; i < 8; i++) {
        snprintf(ids[i], sizeof(ids[i]), "c%d", i);
        rows[i * 5 + 0] = text(ids[i]);
        rows[i * 5 + 1] = text(users[i]);
        rows[i * 5 + 2] = text("2023-01-01");
        rows[i * 5 + 3] = text("12:00:00");
        rows[i * 5 + 4] = real(nums[i]);
    }
    assert_int_equal(attrib__store_begin(pg), ATTRIB_OK);
    assert_int_equal(
        pg->ops->insert(pg->impl, &attrib__table_conversions, ATTRIB_CONFLICT_FAIL, rows, 8),
        ATTRIB_OK);
    assert_int_equal(attrib__store_commit(pg), ATTRIB_OK);
    conv_rows got = {0};
    assert_int_equal(pg->ops->scan_conversions(pg->impl, NULL, on_conv, &got), ATTRIB_OK);
    assert_int_equal(got.n, 8);
    for (size_t k = 0; k < got.n; k++) {
        int i = got.ids[k][1] - '0';
        assert_memory_equal(&got.revenue[k], &nums[i], sizeof(double));
    }
    /* Select the users with quotes and SQL in them: exactly those rows. */
    const char *sel_users[] = {users[1], users[2], users[3], users[4], users[5]};
    attrib_scan sel = {.users = sel_users, .n_users = 5};
    memset(&got, 0, sizeof(got));
    assert_int_equal(pg->ops->scan_conversions(pg->impl, &sel, on_conv, &got), ATTRIB_OK);
    assert_int_equal(got.n, 5);
    bool present[1];
    const char *const t[] = {"conversions"};
    assert_int_equal(pg->ops->tables_exist(pg->impl, t, 1, present), ATTRIB_OK);
    assert_true(present[0]);
    /* A date range with quotes in it is a value, not SQL. */
    attrib_scan bad = {.start_date = "2023-01-01' OR '1'='1", .end_date = "2023-01-01"};
    memset(&got, 0, sizeof(got));
    assert_int_equal(pg->ops->scan_conversions(pg->impl, &bad, on_conv, &got), ATTRIB_OK);
    assert_int_equal(got.n, 0);
    /* A value the typed column would change is refused, and nothing is written. */
    attrib_value flag_text[8] = {text("s1"),       text("u"),       text("2023-01-01"),
                                 text("10:00:00"), text("Channel"), text("1"),
                                 real(0),          real(1.5)};
    assert_int_equal(attrib__store_begin(pg), ATTRIB_OK);
    assert_int_equal(
        pg->ops->insert(pg->impl, &attrib__table_sessions, ATTRIB_CONFLICT_FAIL, flag_text, 1),
        ATTRIB_EDATA);
    assert_non_null(strstr(attrib_errmsg(ctx), "holder_engagement"));
    attrib__store_rollback(pg);
    attrib_clearerr(ctx);
    drop_pg(pg, "values");
    attrib_ctx_free(ctx);
}

/* The password never shows: not in the display form, not in a connect failure. */
static void test_no_password_shown(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    attrib_store *st = NULL;
    int rc =
        attrib_store_open(ctx, "postgresql://me:s3cr3t-pw@127.0.0.1:1/db?sslmode=disable", 0, &st);
    assert_int_equal(rc, ATTRIB_EDB);
    assert_null(strstr(attrib_errmsg(ctx), "s3cr3t-pw"));
    assert_non_null(strstr(attrib_errmsg(ctx), "postgresql://me@127.0.0.1:1/db?sslmode=disable"));
    attrib_clearerr(ctx);
    rc = attrib_store_open(ctx, "postgres://me@127.0.0.1:1/db?password=s3cr3t-pw&schema=x", 0, &st);
    assert_int_equal(rc, ATTRIB_EDB);
    assert_null(strstr(attrib_errmsg(ctx), "s3cr3t-pw"));
    assert_non_null(strstr(attrib_errmsg(ctx), "postgres://me@127.0.0.1:1/db?schema=x"));
    attrib_ctx_free(ctx);
}

/* Text columns of a row, joined by '|'. */
static int on_texts(const attrib_value *cols, void *payload)
{
    char *out = payload;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(cols[i].type, ATTRIB_V_TEXT);
        strncat(out, cols[i].s, 255 - strlen(out));
        strncat(out, "|", 255 - strlen(out));
    }
    return ATTRIB_OK;
}

/* The API cache binds every value: quotes, backslash, $1, real, '@' and -- in an
 * id, a session id or an error reason come back as they went in. */
static void cache_values(attrib_store *st)
{
    static const char odd[] = "o'k\\ real $1 '@' -- x";
    static const char why[] = "HTTP 400: \"bad\" o'k\\ real $1; DROP TABLE conversions; --";
    assert_int_equal(attrib__api_cache_init(st), ATTRIB_OK);
    attrib__api_batch_row b = {
        .conv_type = odd, .request_hash = "h'1", .conversions = odd, .n_sessions = 1, .attempt = 1};
    assert_int_equal(attrib__api_cache_sending(st, &b), ATTRIB_OK);
    const attrib__api_result r = {odd, odd, 0.25, 0.5, 0.125, 0.125};
    const attrib__api_failure f = {odd, why};
    assert_int_equal(attrib__api_cache_settled(st, &b, "partial", why, &r, 1, &f, 1), ATTRIB_OK);
    char got[256] = "";
    assert_int_equal(attrib__api_cache_scan(st, odd, on_texts, got), ATTRIB_OK);
    char want[256];
    snprintf(want, sizeof(want), "%s|%s|", odd, odd);
    assert_string_equal(got, want);
    got[0] = '\0';
    const attrib_value key = attrib__text(odd);
    assert_int_equal(st->ops->query(st->impl,
                                    "SELECT conv_id, reason FROM attrib_api_failures WHERE "
                                    "conv_type_id = ?1",
                                    &key, 1, 2, on_texts, got, "reading failures"),
                     ATTRIB_OK);
    snprintf(want, sizeof(want), "%s|%s|", odd, why);
    assert_string_equal(got, want);
    got[0] = '\0';
    const attrib_value hash = attrib__text("h'1");
    assert_int_equal(st->ops->query(st->impl,
                                    "SELECT status, error FROM attrib_api_batches WHERE "
                                    "request_hash = ?1",
                                    &hash, 1, 2, on_texts, got, "reading batches"),
                     ATTRIB_OK);
    snprintf(want, sizeof(want), "partial|%s|", why);
    assert_string_equal(got, want);
}

static void test_api_cache_values(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    char path[] = "/tmp/attrib-cache-XXXXXX";
    attrib_store *sq = sqlite_store(ctx, path);
    cache_values(sq);
    attrib_store_close(sq);
    unlink(path);
    attrib_ctx_free(ctx);
    ctx = NULL;
    server(); /* skips here without a server, nothing held */
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    attrib_store *pg = open_pg(ctx, "cache");
    cache_values(pg);
    drop_pg(pg, "cache");
    attrib_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_password_shown),  cmocka_unit_test(test_values_and_selections),
        cmocka_unit_test(test_golden_same_tables), cmocka_unit_test(test_generated_same_tables),
        cmocka_unit_test(test_api_cache_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
