/* Unit tests of the dataset loader on the golden database (tests/data/golden.sql):
 * the journeys it cuts and every path it hands to models that learn from all
 * paths (converting and not). */
#include "testutil.h"

#include "lib/journey/dataset.h"
#include "lib/journey/ids.h"
#include "util/buf.h"

#include <unistd.h>

static attrib_store *golden_store(attrib_ctx *ctx, char *path)
{
    attrib_store *st = NULL;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(attrib_store_open(ctx, path, ATTRIB_STORE_CREATE, &st), ATTRIB_OK);
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

typedef struct {
    attrib_buf text;
    const attrib_channels *ch;
} collect;

/* "+s1,s2|" for a converting path, "-Paid Search|" (channels: no ids) otherwise. */
static int on_path(const attrib_path *p, void *payload)
{
    collect *c = payload;
    int rc = attrib_buf_addc(&c->text, p->converted ? '+' : '-');
    for (size_t k = 0; k < p->n; k++)
        rc |= attrib_buf_printf(&c->text, "%s%s", k > 0 ? "," : "",
                                p->sessions[k].id != NULL ? p->sessions[k].id
                                                          : c->ch->names[p->sessions[k].channel]);
    rc |= attrib_buf_addc(&c->text, '|');
    return rc == 0 ? ATTRIB_OK : ATTRIB_ENOMEM;
}

static void test_paths(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    char path[] = "/tmp/attrib-dataset-XXXXXX";
    attrib_store *st = golden_store(ctx, path);
    attrib_run_options o = ATTRIB_RUN_OPTIONS_INIT;
    /* A range: journeys only for c2 and c4, but paths from everything. */
    o.start_date = "2023-09-05";
    o.end_date = "2023-09-06";
    attrib__dataset ds = {0};
    ds.all_paths = true;
    assert_int_equal(attrib__dataset_load(ctx, st, &o, false, &ds), ATTRIB_OK);
    assert_int_equal(ds.n_journeys, 2);
    assert_string_equal(ds.journeys[0].conv_id, "c2");
    assert_string_equal(ds.journeys[1].conv_id, "c4");
    attrib_channels ch = attrib__dataset_channels(&ds);
    collect c = {ATTRIB_BUF_INIT(0), &ch};
    assert_int_equal(attrib__dataset_paths(&ds, &o, on_path, &c), ATTRIB_OK);
    /* Converting, in conv_id order, cut at the user's previous conversion (fit
     * paths "cut": every session in one path of its user): c1 [s1], c2 [s2 s3]
     * (s1 was c1's), c4 [s5 s6a s6b], c5 [s9 s8] (c3 has no session before it).
     * Then the tails: u2's s4 comes after c3; u4 (s7) never converts. u1, u3,
     * u5 have nothing after their last conversion. */
    const char *got = attrib_buf_cstr(&c.text);
    const char *conv = "+s1|+s2,s3|+s5,s6a,s6b|+s9,s8|";
    assert_true(strncmp(got, conv, strlen(conv)) == 0);
    const char *tails = got + strlen(conv);
    assert_true(strcmp(tails, "-s4|-Paid Search|") == 0 || strcmp(tails, "-Paid Search|-s4|") == 0);
    /* The journeys as attributed (the old fit data, --fit-paths journeys): c2
     * repeats c1's s1 without --reset-after-conversion. */
    attrib_buf_reset(&c.text);
    assert_int_equal(attrib__dataset_journeys(&ds, &o, on_path, &c), ATTRIB_OK);
    assert_string_equal(attrib_buf_cstr(&c.text), "+s1|+s1,s2,s3|+s5,s6a,s6b|+s9,s8|");
    attrib_run_options oj = o;
    oj.fit_paths = ATTRIB_FIT_PATHS_JOURNEYS;
    attrib_buf_reset(&c.text);
    assert_int_equal(attrib__dataset_paths(&ds, &oj, on_path, &c), ATTRIB_OK);
    got = attrib_buf_cstr(&c.text);
    assert_true(strncmp(got, "+s1|+s1,s2,s3|+s5,s6a,s6b|+s9,s8|-", 34) == 0);
    /* --fit-range selected: only c2 and c4, and no tail (s4 ends on 09-01, s7 on 09-03). */
    attrib_run_options os = o;
    os.fit_range = ATTRIB_FIT_RANGE_SELECTED;
    attrib_buf_reset(&c.text);
    assert_int_equal(attrib__dataset_paths(&ds, &os, on_path, &c), ATTRIB_OK);
    assert_string_equal(attrib_buf_cstr(&c.text), "+s2,s3|+s5,s6a,s6b|");
    attrib_buf_reset(&c.text);
    assert_int_equal(attrib__dataset_journeys(&ds, &os, on_path, &c), ATTRIB_OK);
    assert_string_equal(attrib_buf_cstr(&c.text), "+s1,s2,s3|+s5,s6a,s6b|");
    attrib_buf_free(&c.text);
    attrib__dataset_free(&ds);
    /* Selected days 09-01..09-03: c1 converts; the tails s4 (09-01) and s7 (09-03) count. */
    os.start_date = "2023-09-01";
    os.end_date = "2023-09-03";
    attrib__dataset ds2 = {0};
    ds2.all_paths = true;
    assert_int_equal(attrib__dataset_load(ctx, st, &os, false, &ds2), ATTRIB_OK);
    ch = attrib__dataset_channels(&ds2);
    collect c2 = {ATTRIB_BUF_INIT(0), &ch};
    assert_int_equal(attrib__dataset_paths(&ds2, &os, on_path, &c2), ATTRIB_OK);
    got = attrib_buf_cstr(&c2.text);
    assert_true(strcmp(got, "+s1|-s4|-Paid Search|") == 0 ||
                strcmp(got, "+s1|-Paid Search|-s4|") == 0);
    attrib_buf_free(&c2.text);
    attrib__dataset_free(&ds2);
    attrib_store_close(st);
    unlink(path);
    attrib_ctx_free(ctx);
}

/* Fill three sets with n distinct text ids split unevenly (id i is "id-<i>"). */
/* Journeys come in conv_id byte order (the order rows are written in), also
 * where ids share their first 8 bytes, where one is a prefix of another and
 * where a byte is above 0x7f; and every session of a converting user is kept,
 * the users of other sessions held and settled in turn (more sessions than
 * the loader holds at once, and fewer after them). */
static void test_journey_order(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    char path[] = "/tmp/attrib-dataset-XXXXXX";
    attrib_store *st = golden_store(ctx, path);
    static const char *const ids[] = {
        "order-abc-2",  "order-ab", "order-a\xc3\xa9", "Order-b", "order-abc-1",
        "order-abc-10", "order-a",  "order-b",         "o",       "order-abd",
    };
    enum { N_IDS = sizeof(ids) / sizeof(ids[0]) };
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    for (int i = 0; i < N_IDS; i++) {
        /* A converting user with two sessions before, and a stranger's between. */
        assert_int_equal(
            attrib_buf_printf(&sql,
                              "INSERT INTO session_sources VALUES ('ord-s%d', 'ord-u%d', "
                              "'2023-10-01', '10:00:00', 'Paid Search', 1, 0, 0), ('ord-x%d', "
                              "'stranger%d', '2023-10-01', '10:30:00', 'Affiliate', 0, 0, 0), "
                              "('ord-t%d', 'ord-u%d', '2023-10-01', '11:00:00', 'Email', 0, 1, "
                              "0);\nINSERT INTO conversions VALUES ('%s', 'ord-u%d', '2023-10-02', "
                              "'09:00:00', 5.0);\n",
                              i, i, i, i, i, i, ids[i], i),
            0);
    }
    assert_int_equal(st->ops->exec_script(st->impl, attrib_buf_cstr(&sql)), ATTRIB_OK);
    attrib_run_options o = ATTRIB_RUN_OPTIONS_INIT;
    o.start_date = "2023-10-02";
    attrib__dataset ds = {0};
    assert_int_equal(attrib__dataset_load(ctx, st, &o, false, &ds), ATTRIB_OK);
    assert_int_equal(ds.n_journeys, N_IDS);
    for (size_t j = 1; j < ds.n_journeys; j++)
        assert_true(strcmp(ds.journeys[j - 1].conv_id, ds.journeys[j].conv_id) < 0);
    for (size_t j = 0; j < ds.n_journeys; j++) {
        assert_int_equal(ds.journeys[j].n, 2);
        assert_true(strncmp(ds.journeys[j].sessions[0].id, "ord-s", 5) == 0);
        assert_true(strncmp(ds.journeys[j].sessions[1].id, "ord-t", 5) == 0);
    }
    assert_string_equal(ds.journeys[0].conv_id, "Order-b");
    assert_string_equal(ds.journeys[1].conv_id, "o");
    assert_string_equal(ds.journeys[2].conv_id, "order-a");
    assert_string_equal(ds.journeys[N_IDS - 1].conv_id, "order-b");
    attrib__dataset_free(&ds);
    attrib_buf_free(&sql);
    attrib_store_close(st);
    unlink(path);
    attrib_ctx_free(ctx);
}

static void fill_ids(attrib__ids sets[3], size_t n)
{
    char id[32];
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(id, sizeof(id), "id-%zu", i * 7919 % n);
        attrib_value v = {.type = ATTRIB_V_TEXT, .s = id, .len = (size_t)len};
        assert_int_equal(attrib__ids_add(&sets[i % 5 == 0 ? 0 : i % 2 ? 1 : 2], &v), ATTRIB_OK);
    }
}

/* journey/ids.h: distinct ids are told apart; one repeated id, across sets or
 * within one, at any place of the sort, is seen; an id that is not text
 * sends to the exact check. n is large enough for every radix digit. */
static void test_ids(void **state)
{
    (void)state;
    attrib_ctx *ctx = NULL;
    assert_int_equal(attrib_ctx_new(&ctx), ATTRIB_OK);
    const size_t n = 300007; /* prime: i * 7919 % n is a permutation */
    bool maybe = true;
    attrib__ids sets[3] = {{0}};
    fill_ids(sets, n);
    assert_int_equal(sets[0].n + sets[1].n + sets[2].n, n);
    assert_int_equal(attrib__ids_maybe_repeated(ctx, sets, 3, &maybe), ATTRIB_OK);
    assert_false(maybe);
    assert_null(sets[0].hash); /* freed */
    const char *again[] = {"id-0", "id-300006", "id-150000"};
    for (size_t k = 0; k < 3; k++) {
        for (size_t into = 0; into < 3; into++) {
            fill_ids(sets, n);
            attrib_value v = {.type = ATTRIB_V_TEXT, .s = again[k], .len = strlen(again[k])};
            assert_int_equal(attrib__ids_add(&sets[into], &v), ATTRIB_OK);
            maybe = false;
            assert_int_equal(attrib__ids_maybe_repeated(ctx, sets, 3, &maybe), ATTRIB_OK);
            assert_true(maybe);
        }
    }
    fill_ids(sets, 10);
    attrib_value num = {.type = ATTRIB_V_INT, .i = 42};
    assert_int_equal(attrib__ids_add(&sets[2], &num), ATTRIB_OK);
    maybe = false;
    assert_int_equal(attrib__ids_maybe_repeated(ctx, sets, 3, &maybe), ATTRIB_OK);
    assert_true(maybe);
    attrib_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_journey_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
