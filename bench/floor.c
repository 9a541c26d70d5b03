/*
 * The read floor of the benchmarks: the time to read, once, the columns of
 * the three input tables that attribution needs, through the same SQLite
 * build attrib links. No pipeline can be faster than this on the same data;
 * bench/run.sh reports `attrib run` as a multiple of it.
 *
 *   build/bench/floor DB      prints one line: rows, bytes, wall and CPU seconds
 */
#include "lib/store/readahead.h"

#include <sqlite3.h>

#include <stdint.h>
#include <stdio.h>
#include <time.h>

static double now_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Step through a query, touching every column of every row; adds to *rows
 * and *bytes. Returns 0 or -1 (message printed). */
static int scan(sqlite3 *db, const char *sql, uint64_t *rows, uint64_t *bytes)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        goto done;
    int ncol = sqlite3_column_count(st), step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < ncol; c++) {
            /* One column_value, then value_* on it: the cheapest way through
             * the API, as attrib reads (attrib__sq_column_value, sqlite.c). */
            sqlite3_value *v = sqlite3_column_value(st, c);
            if (sqlite3_value_type(v) == SQLITE_TEXT) {
                const unsigned char *t = sqlite3_value_text(v);
                *bytes += (uint64_t)sqlite3_value_bytes(v) + (t != NULL ? t[0] != 0 : 0);
            } else {
                *bytes += (uint64_t)(sqlite3_value_double(v) != 0) + 8;
            }
        }
        (*rows)++;
    }
    if (step == SQLITE_DONE)
        rc = 0;
done:
    if (rc != 0)
        fprintf(stderr, "floor: %s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: floor DB\n");
        return 2;
    }
    sqlite3 *db = NULL;
    /* Opened as attrib's scan opens its readers (src/lib/store/sqlite.c): no
     * mutex, the readahead VFS (src/lib/store/readahead.h, which matters once
     * the database outgrows memory), the default page cache (a big one costs
     * more in malloc than it saves on one-pass scans). */
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                        attrib__sqlite_readahead_vfs()) != SQLITE_OK) {
        fprintf(stderr, "floor: cannot open %s: %s\n", argv[1], sqlite3_errmsg(db));
        sqlite3_close(db);
        return 1;
    }
    static const char *const queries[] = {
        "SELECT session_id, user_id, event_date, event_time, channel_name, holder_engagement, "
        "closer_engagement, impression_interaction FROM session_sources",
        "SELECT conv_id, user_id, conv_date, conv_time, revenue FROM conversions",
        "SELECT session_id, cost FROM session_costs",
    };
    uint64_t rows = 0, bytes = 0;
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    int rc = 0;
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]) && rc == 0; i++)
        rc = scan(db, queries[i], &rows, &bytes);
    double wall = now_s(CLOCK_MONOTONIC) - w0, cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    sqlite3_close(db);
    if (rc != 0)
        return 1;
    printf("floor: %llu rows, %llu bytes, %.3f s wall, %.3f s CPU\n", (unsigned long long)rows,
           (unsigned long long)bytes, wall, cpu);
    return 0;
}
