/*
 * Unit tests of the readahead VFS's scan readahead (src/lib/store/readahead.c):
 * a full scan of a table written over pages of the free list, whose leaves lie
 * anywhere in the file, has its leaves requested from the kernel; the same for
 * a covering index scan; lookups request nothing. What was requested is read
 * through the VFS's stats file control; that the kernel then reads it early
 * is the benchmark's business (bench/README.md).
 */
#include "testutil.h"

#include "lib/store/readahead.h"

#include <sqlite3.h>
#include <unistd.h>

#define ROWS 40000

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;
    const char *vfs = attrib__sqlite_readahead_vfs();
    assert_non_null(vfs);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
                     SQLITE_OK);
    return db;
}

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
}

static int64_t count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static attrib__ra_stats stats(sqlite3 *db)
{
    attrib__ra_stats s = {0};
    assert_int_equal(sqlite3_file_control(db, "main", ATTRIB__FCNTL_RA_STATS, &s), SQLITE_OK);
    return s;
}

/* Rows stepped through by `sql`, every column touched. */
static int64_t scan(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n = 0;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(st); c++)
            (void)sqlite3_column_bytes(st, c);
        n++;
    }
    sqlite3_finalize(st);
    return n;
}

/* A database whose table t (the shape of attribution_customer_journey) took
 * its pages from the free list a deleted table left. */
static void make_db(const char *path)
{
    sqlite3 *db = open_db(path);
    sqlite3_stmt *st = NULL;
    exec(db, "PRAGMA page_size = 4096; PRAGMA journal_mode = OFF;"
             "CREATE TABLE filler (x text);"
             "CREATE TABLE t (a text NOT NULL, b text NOT NULL, c real NOT NULL,"
             " PRIMARY KEY (a, b));"
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)"
             " INSERT INTO filler SELECT printf('%0200d', i) FROM n;"
             "DELETE FROM filler; BEGIN");
    assert_int_equal(sqlite3_prepare_v2(
                         db,
                         "INSERT INTO t VALUES (printf('%064x', ?1), printf('%064x', ?1 * 7), ?1)",
                         -1, &st, NULL),
                     SQLITE_OK);
    for (int i = 0; i < ROWS; i++) {
        sqlite3_bind_int64(st, 1, (int64_t)((uint64_t)i * 2654435761u % 1000003u));
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    exec(db, "COMMIT");
    sqlite3_close(db);
}

static void test_scan_readahead(void **state)
{
    (void)state;
    char path[] = "/tmp/attrib-readahead-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    make_db(path);

    sqlite3 *db = open_db(path);
    int64_t leaves =
        count(db, "SELECT count(*) FROM dbstat WHERE name = 't' AND pagetype = 'leaf'");
    int64_t index_leaves = count(
        db,
        "SELECT count(*) FROM dbstat WHERE name = 'sqlite_autoindex_t_1' AND pagetype = 'leaf'");
    int64_t pages = count(db, "PRAGMA page_count");
    sqlite3_close(db);
    assert_true(leaves > 300 && index_leaves > 300);

    /* a full scan: (nearly) every leaf requested, in many calls (they are
     * scattered), and never more pages than the file has */
    db = open_db(path);
    assert_int_equal(scan(db, "SELECT a, b, c FROM t"), ROWS);
    attrib__ra_stats s = stats(db);
    sqlite3_close(db);
    if (s.pages * 10 < (uint64_t)leaves * 9 || s.pages > (uint64_t)pages)
        fail_msg("table scan requested %llu pages of %lld leaves (%lld pages)",
                 (unsigned long long)s.pages, (long long)leaves, (long long)pages);
    assert_true(s.calls > 10);

    /* a covering index scan reads the index's leaves: the same */
    db = open_db(path);
    assert_int_equal(scan(db, "SELECT a, b FROM t INDEXED BY sqlite_autoindex_t_1 ORDER BY a, b"),
                     ROWS);
    s = stats(db);
    sqlite3_close(db);
    if (s.pages * 10 < (uint64_t)index_leaves * 9 || s.pages > (uint64_t)pages)
        fail_msg("index scan requested %llu pages of %lld leaves", (unsigned long long)s.pages,
                 (long long)index_leaves);

    /* lookups, here a row in every few leaves from the last one back: none */
    db = open_db(path);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT c FROM t WHERE rowid = ?", -1, &st, NULL),
                     SQLITE_OK);
    for (int64_t r = ROWS; r > 0; r -= 5 * ROWS / leaves + 1) {
        sqlite3_bind_int64(st, 1, r);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        sqlite3_reset(st);
    }
    for (int64_t r = 1; r <= ROWS; r += 7 * ROWS / leaves + 1) { /* forward, sparse */
        sqlite3_bind_int64(st, 1, r);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    s = stats(db);
    sqlite3_close(db);
    assert_int_equal(s.pages, 0);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_readahead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
