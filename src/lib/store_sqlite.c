/*
 * The SQLite backend of the store (the embedded default). Reads stream
 * through prepared statements; selections by user or date go through small
 * temp tables so the planner uses the indexes `init` created; writes reuse
 * one prepared INSERT per table inside the caller's transaction.
 */
#include "store.h"

#include "util/buf.h"
#include "util/ts.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    sqlite3 *db;
    attrib_ctx *ctx;
    const char *path;       /* display name */
    bool sessions_rowid;    /* session_sources has a rowid */
    bool conversions_rowid; /* conversions has a rowid */
    bool costs_rowid;       /* session_costs has a rowid */
    sqlite3_stmt *ins_attr;
    sqlite3_stmt *ins_phase;
} sq_store;

static int sq_fail(sq_store *s, const char *what)
{
    int code = ATTRIB_EDB;
    int ec = sqlite3_errcode(s->db);
    if (ec == SQLITE_NOMEM)
        code = ATTRIB_ENOMEM;
    return attrib__error(s->ctx, code, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

static bool sq_accepts(const char *target)
{
    return strncmp(target, "postgresql://", 13) != 0 && strncmp(target, "postgres://", 11) != 0;
}

static int exec(sq_store *s, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        int code = attrib__error(s->ctx, ATTRIB_EDB, "%s: %s", s->path,
                                 err != NULL ? err : sqlite3_errstr(rc));
        sqlite3_free(err);
        return code;
    }
    return ATTRIB_OK;
}

static bool has_rowid(sq_store *s, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT rowid FROM \"%s\" LIMIT 0", table);
    sqlite3_stmt *st = NULL;
    bool ok = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK;
    sqlite3_finalize(st);
    return ok;
}

static int sq_open(attrib_ctx *ctx, const char *target, unsigned flags, void **out, char **display)
{
    int rc = ATTRIB_OK;
    sq_store *s = calloc(1, sizeof(*s));
    char *disp = strdup(target);
    if (s == NULL || disp == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory opening %s", target);
        goto done;
    }
    s->ctx = ctx;
    s->path = disp;
    struct stat sb;
    bool is_uri = strncmp(target, "file:", 5) == 0;
    if (!is_uri && !(flags & ATTRIB_STORE_CREATE) && stat(target, &sb) != 0) {
        rc = attrib__error(ctx, ATTRIB_ENOTFOUND,
                           "database %s does not exist; check --db (or ATTRIB_DB), or create it "
                           "with `attrib init` / `attrib gen`",
                           target);
        goto done;
    }
    /* One connection, one thread at a time: no per-call mutex. */
    int oflags = SQLITE_OPEN_NOMUTEX |
                 ((flags & ATTRIB_STORE_READONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
    if (flags & ATTRIB_STORE_CREATE)
        oflags |= SQLITE_OPEN_CREATE;
    if (is_uri)
        oflags |= SQLITE_OPEN_URI;
    if (sqlite3_open_v2(target, &s->db, oflags, NULL) != SQLITE_OK) {
        rc = attrib__error(ctx, ATTRIB_EDB, "cannot open database %s: %s", target,
                           s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory");
        goto done;
    }
    sqlite3_extended_result_codes(s->db, 0);
    sqlite3_busy_timeout(s->db, 10000);
    rc = exec(s, "PRAGMA temp_store=MEMORY;");
    if (rc != ATTRIB_OK)
        goto done;
    /* A file that is not a database fails here, with a clear message. */
    rc = exec(s, "SELECT count(*) FROM sqlite_schema");
    if (rc != ATTRIB_OK)
        goto done;
    s->sessions_rowid = has_rowid(s, "session_sources");
    s->conversions_rowid = has_rowid(s, "conversions");
    s->costs_rowid = has_rowid(s, "session_costs");
    *display = disp;
    disp = NULL;
    *out = s;
    s = NULL;
done:
    if (s != NULL) {
        sqlite3_close(s->db);
        free(s);
    }
    free(disp);
    return rc;
}

static void sq_close(void *impl)
{
    sq_store *s = impl;
    if (s == NULL)
        return;
    sqlite3_finalize(s->ins_attr);
    sqlite3_finalize(s->ins_phase);
    sqlite3_close(s->db);
    free(s);
}

static int sq_begin(void *impl)
{
    return exec(impl, "BEGIN IMMEDIATE");
}

static int sq_commit(void *impl)
{
    return exec(impl, "COMMIT");
}

static int sq_rollback(void *impl)
{
    sq_store *s = impl;
    if (sqlite3_get_autocommit(s->db))
        return ATTRIB_OK;
    return exec(s, "ROLLBACK");
}

static int sq_exec_script(void *impl, const char *sql)
{
    return exec(impl, sql);
}

/* Same tables and columns as challenge_db_create.sql; attrib's own tables
 * and the indexes that make incremental runs touch only what they need. */
static const char output_schema[] =
    "CREATE TABLE IF NOT EXISTS attribution_customer_journey (conv_id text NOT NULL,"
    " session_id text NOT NULL, ihc real NOT NULL, PRIMARY KEY(conv_id,session_id));"
    "CREATE TABLE IF NOT EXISTS channel_reporting (channel_name text NOT NULL, date text NOT NULL,"
    " cost real NOT NULL, ihc real NOT NULL, ihc_revenue real NOT NULL,"
    " PRIMARY KEY(channel_name,date));";

static const char attrib_schema[] =
    "CREATE TABLE IF NOT EXISTS attrib_journey_phases (conv_id text NOT NULL,"
    " session_id text NOT NULL, initializer real NOT NULL, holder real NOT NULL,"
    " closer real NOT NULL, PRIMARY KEY(conv_id,session_id));"
    "CREATE TABLE IF NOT EXISTS attrib_dirty_dates (date text PRIMARY KEY);"
    "CREATE TABLE IF NOT EXISTS attrib_meta (key text PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE IF NOT EXISTS attrib_report_sums (channel_name text NOT NULL,"
    " date text NOT NULL, ihc_hi integer NOT NULL, ihc_lo integer NOT NULL,"
    " rev_hi integer NOT NULL, rev_lo integer NOT NULL, PRIMARY KEY(channel_name,date));"
    "CREATE TABLE IF NOT EXISTS attrib_dirty_keys (channel_name text NOT NULL,"
    " date text NOT NULL, PRIMARY KEY(channel_name,date));"
    "CREATE INDEX IF NOT EXISTS attrib_session_sources_user ON session_sources(user_id);"
    "CREATE INDEX IF NOT EXISTS attrib_session_sources_date ON session_sources(event_date);"
    "CREATE INDEX IF NOT EXISTS attrib_conversions_date ON conversions(conv_date);"
    "CREATE INDEX IF NOT EXISTS attrib_conversions_user ON conversions(user_id);"
    "CREATE INDEX IF NOT EXISTS attrib_acj_session ON attribution_customer_journey(session_id);";

static int sq_init_schema(void *impl)
{
    sq_store *s = impl;
    int rc = exec(s, attrib__schema_inputs);
    if (rc == ATTRIB_OK)
        rc = exec(s, output_schema);
    if (rc == ATTRIB_OK)
        rc = exec(s, attrib_schema);
    if (rc == ATTRIB_OK) {
        s->sessions_rowid = has_rowid(s, "session_sources");
        s->conversions_rowid = has_rowid(s, "conversions");
        s->costs_rowid = has_rowid(s, "session_costs");
    }
    return rc;
}

static int sq_tables_exist(void *impl, const char *const *names, size_t n, bool *present)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    int rc = ATTRIB_OK;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT 1 FROM sqlite_schema WHERE type IN ('table','view') AND "
                           "name = ?1 COLLATE NOCASE",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = sq_fail(s, "listing tables");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, names[i], -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step != SQLITE_ROW && step != SQLITE_DONE) {
            rc = sq_fail(s, "listing tables");
            goto done;
        }
        present[i] = step == SQLITE_ROW;
    }
done:
    sqlite3_finalize(st);
    return rc;
}

static int sq_has_rows(void *impl, const char *table, bool *out)
{
    sq_store *s = impl;
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT 1 FROM \"%s\" LIMIT 1", table);
    sqlite3_stmt *st = NULL;
    int rc = ATTRIB_OK;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = sq_fail(s, table);
        goto done;
    }
    int step = sqlite3_step(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = sq_fail(s, table);
        goto done;
    }
    *out = step == SQLITE_ROW;
done:
    sqlite3_finalize(st);
    return rc;
}

/* Fill temp.attrib_sel_users / temp.attrib_sel_dates from a selection. */
static int fill_temp(sq_store *s, const char *table, const char *const *keys, size_t n)
{
    char sql[160];
    snprintf(sql, sizeof(sql),
             "CREATE TEMP TABLE IF NOT EXISTS %s (k TEXT PRIMARY KEY) WITHOUT ROWID; "
             "DELETE FROM temp.%s;",
             table, table);
    int rc = exec(s, sql);
    if (rc != ATTRIB_OK)
        return rc;
    snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO temp.%s (k) VALUES (?1)", table);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = sq_fail(s, "preparing a selection");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = sq_fail(s, "filling a selection");
            goto done;
        }
    }
done:
    sqlite3_finalize(st);
    return rc;
}

/* Append " AND <col> ..." clauses for a selection; binds ?1/?2 for the range. */
static int where_clause(sq_store *s, attrib_buf *sql, const attrib_scan *sel, const char *date_col,
                        const char *user_col)
{
    int rc = attrib_buf_adds(sql, " WHERE 1");
    if (sel == NULL)
        return rc == 0 ? ATTRIB_OK : ATTRIB_ENOMEM;
    if (sel->start_date != NULL && date_col != NULL)
        rc |= attrib_buf_printf(sql, " AND %s >= ?1", date_col);
    if (sel->end_date != NULL && date_col != NULL)
        rc |= attrib_buf_printf(sql, " AND %s <= ?2", date_col);
    if (sel->users != NULL && user_col != NULL) {
        int frc = fill_temp(s, "attrib_sel_users", sel->users, sel->n_users);
        if (frc != ATTRIB_OK)
            return frc;
        rc |= attrib_buf_printf(sql, " AND %s IN (SELECT k FROM temp.attrib_sel_users)", user_col);
    }
    if (sel->dates != NULL && date_col != NULL) {
        int frc = fill_temp(s, "attrib_sel_dates", sel->dates, sel->n_dates);
        if (frc != ATTRIB_OK)
            return frc;
        rc |= attrib_buf_printf(sql, " AND %s IN (SELECT k FROM temp.attrib_sel_dates)", date_col);
    }
    return rc == 0 ? ATTRIB_OK : attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
}

static void bind_range(sqlite3_stmt *st, const attrib_scan *sel)
{
    if (sel == NULL)
        return;
    if (sel->start_date != NULL)
        sqlite3_bind_text(st, 1, sel->start_date, -1, SQLITE_STATIC);
    if (sel->end_date != NULL)
        sqlite3_bind_text(st, 2, sel->end_date, -1, SQLITE_STATIC);
}

static void column_value(sqlite3_stmt *st, int i, attrib_value *v)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        v->type = ATTRIB_V_INT;
        v->i = sqlite3_column_int64(st, i);
        break;
    case SQLITE_FLOAT:
        v->type = ATTRIB_V_REAL;
        v->r = sqlite3_column_double(st, i);
        break;
    case SQLITE_NULL:
        v->type = ATTRIB_V_NULL;
        break;
    default: /* TEXT, or a BLOB read as text */
        v->type = ATTRIB_V_TEXT;
        v->s = (const char *)sqlite3_column_text(st, i);
        v->len = (size_t)sqlite3_column_bytes(st, i);
        if (v->s == NULL) {
            v->s = "";
            v->len = 0;
        }
        break;
    }
}

/* Run a query and hand each row's ncols values to fn. */
static int run_query(sq_store *s, const char *sql, const attrib_scan *sel, int ncols,
                     attrib_row_fn fn, void *payload, const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc = ATTRIB_OK;
    attrib_value vals[16];
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = sq_fail(s, what);
        goto done;
    }
    bind_range(st, sel);
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = sq_fail(s, what);
            goto done;
        }
        memset(vals, 0, sizeof(vals));
        for (int i = 0; i < ncols; i++)
            column_value(st, i, &vals[i]);
        rc = fn(vals, payload);
        if (rc != ATTRIB_OK)
            goto done;
    }
done:
    sqlite3_finalize(st);
    return rc;
}

static int sq_query(void *impl, const char *sql, int ncols, attrib_row_fn fn, void *payload)
{
    if (ncols < 1 || ncols > 16)
        return attrib__error(((sq_store *)impl)->ctx, ATTRIB_EINVAL, "query: %d columns", ncols);
    return run_query(impl, sql, NULL, ncols, fn, payload, "reading the API result cache");
}

static int sq_scan_conversions(void *impl, const attrib_scan *sel, attrib_row_fn fn, void *payload)
{
    sq_store *s = impl;
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    int rc = ATTRIB_OK;
    if (attrib_buf_printf(&sql,
                          "SELECT conv_id, user_id, conv_date, conv_time, revenue, %s "
                          "FROM conversions",
                          s->conversions_rowid ? "rowid" : "NULL") != 0) {
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    rc = where_clause(s, &sql, sel, "conv_date", "user_id");
    if (rc == ATTRIB_OK)
        rc = run_query(s, attrib_buf_cstr(&sql), sel, ATTRIB_CV_NCOLS, fn, payload,
                       "reading conversions");
done:
    attrib_buf_free(&sql);
    return rc;
}

/* SQLite's BINARY collation: memcmp, then the shorter first. */
static int binary_cmp(const unsigned char *a, int na, const unsigned char *b, int nb)
{
    int c = memcmp(a, b, (size_t)(na < nb ? na : nb));
    return c != 0 ? c : na - nb;
}

/*
 * Whether session_costs, read in rowid order, has strictly ascending text
 * session_ids. Stops at the first row out of order, so data inserted in random
 * order answers at once; data inserted in id order (attrib gen, most bulk
 * loads of sorted exports) costs one read of the narrow cost table.
 */
static int costs_sorted(sq_store *s, bool *out)
{
    sqlite3_stmt *st = NULL;
    unsigned char *prev = NULL;
    int prev_len = 0, rc = ATTRIB_OK;
    *out = false;
    /* ORDER BY rowid: without it the planner may read the narrower id index. */
    if (sqlite3_prepare_v2(s->db, "SELECT session_id FROM session_costs ORDER BY rowid", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = sq_fail(s, "reading session_costs");
        goto done;
    }
    bool sorted = true;
    int step;
    while (sorted && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *id = sqlite3_column_text(st, 0);
        int len = sqlite3_column_bytes(st, 0);
        if (sqlite3_column_type(st, 0) != SQLITE_TEXT || id == NULL) {
            sorted = false;
            break;
        }
        if (prev != NULL && binary_cmp(prev, prev_len, id, len) >= 0) {
            sorted = false;
            break;
        }
        unsigned char *p = realloc(prev, (size_t)len + 1);
        if (p == NULL) {
            rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
        prev = p;
        memcpy(prev, id, (size_t)len);
        prev_len = len;
    }
    if (sorted && step != SQLITE_DONE) {
        rc = sq_fail(s, "reading session_costs");
        goto done;
    }
    *out = sorted;
done:
    free(prev);
    sqlite3_finalize(st);
    return rc;
}

/*
 * All sessions with their cost, by a merge of the two tables in rowid order
 * (valid because costs_sorted() said session_costs is in id order). Sessions
 * that come out of id order are looked up by index instead, so
 * session_sources itself may be in any order.
 */
static int scan_sessions_merge(sq_store *s, attrib_row_fn fn, void *payload)
{
    sqlite3_stmt *ss = NULL, *cs = NULL, *look = NULL;
    unsigned char *passed = NULL; /* the largest cost id passed so far */
    int passed_len = -1, rc = ATTRIB_OK;
    attrib_value v[ATTRIB_SS_NCOLS];
    char sql[320];
    snprintf(sql, sizeof(sql),
             "SELECT session_id, user_id, event_date, event_time, channel_name, "
             "holder_engagement, closer_engagement, impression_interaction, %s "
             "FROM session_sources%s",
             s->sessions_rowid ? "rowid" : "NULL", s->sessions_rowid ? " ORDER BY rowid" : "");
    if (sqlite3_prepare_v2(s->db, sql, -1, &ss, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "SELECT session_id, cost FROM session_costs ORDER BY rowid", -1,
                           &cs, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "SELECT cost FROM session_costs WHERE session_id = ?1", -1, &look,
                           NULL) != SQLITE_OK) {
        rc = sq_fail(s, "reading session_sources");
        goto done;
    }
    int cstep = sqlite3_step(cs);
    for (;;) {
        int step = sqlite3_step(ss);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW || (cstep != SQLITE_ROW && cstep != SQLITE_DONE)) {
            rc = sq_fail(s, "reading session_sources");
            goto done;
        }
        memset(v, 0, sizeof(v));
        for (int i = 0; i < 8; i++)
            column_value(ss, i, &v[i]);
        column_value(ss, 8, &v[ATTRIB_SS_ROWID]);
        v[ATTRIB_SS_COST].type = ATTRIB_V_NULL;
        v[ATTRIB_SS_HAS_COST] = (attrib_value){.type = ATTRIB_V_INT, .i = 0};
        const attrib_value *id = &v[ATTRIB_SS_SESSION_ID];
        const unsigned char *x = (const unsigned char *)id->s;
        int xl = (int)id->len;
        bool lookup = id->type != ATTRIB_V_TEXT ||
                      (passed_len >= 0 && binary_cmp(x, xl, passed, passed_len) <= 0);
        if (lookup) {
            /* Out of id order: the merge has passed it; ask the index. */
            sqlite3_reset(look);
            sqlite3_bind_value(look, 1, sqlite3_column_value(ss, 0));
            int l = sqlite3_step(look);
            if (l == SQLITE_ROW) {
                column_value(look, 0, &v[ATTRIB_SS_COST]);
                v[ATTRIB_SS_HAS_COST].i = 1;
            } else if (l != SQLITE_DONE) {
                rc = sq_fail(s, "reading session_costs");
                goto done;
            }
        } else {
            while (cstep == SQLITE_ROW) {
                const unsigned char *c = sqlite3_column_text(cs, 0);
                int cl = sqlite3_column_bytes(cs, 0);
                int cmp = binary_cmp(c, cl, x, xl);
                if (cmp > 0)
                    break;
                unsigned char *p = realloc(passed, (size_t)cl + 1);
                if (p == NULL) {
                    rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
                    goto done;
                }
                passed = p;
                memcpy(passed, c, (size_t)cl);
                passed_len = cl;
                if (cmp == 0) {
                    column_value(cs, 1, &v[ATTRIB_SS_COST]);
                    v[ATTRIB_SS_HAS_COST].i = 1;
                }
                /* The value read above stays valid until the next step. */
                if (cmp == 0)
                    break;
                cstep = sqlite3_step(cs);
            }
        }
        rc = fn(v, payload);
        if (rc != ATTRIB_OK)
            goto done;
        if (!lookup && v[ATTRIB_SS_HAS_COST].i == 1)
            cstep = sqlite3_step(cs); /* consumed the matching cost row */
    }
done:
    free(passed);
    sqlite3_finalize(ss);
    sqlite3_finalize(cs);
    sqlite3_finalize(look);
    return rc;
}

static int sq_scan_sessions(void *impl, const attrib_scan *sel, attrib_row_fn fn, void *payload)
{
    sq_store *s = impl;
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    int rc = ATTRIB_OK;
    if (sel == NULL && s->costs_rowid) {
        bool sorted = false;
        rc = costs_sorted(s, &sorted);
        if (rc != ATTRIB_OK || sorted) {
            if (rc == ATTRIB_OK)
                rc = scan_sessions_merge(s, fn, payload);
            goto done;
        }
    }
    if (attrib_buf_printf(&sql,
                          "SELECT s.session_id, s.user_id, s.event_date, s.event_time, "
                          "s.channel_name, s.holder_engagement, s.closer_engagement, "
                          "s.impression_interaction, c.cost, c.session_id IS NOT NULL, %s "
                          "FROM session_sources s LEFT JOIN session_costs c "
                          "ON c.session_id = s.session_id",
                          s->sessions_rowid ? "s.rowid" : "NULL") != 0) {
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    rc = where_clause(s, &sql, sel, "s.event_date", "s.user_id");
    if (rc == ATTRIB_OK)
        rc = run_query(s, attrib_buf_cstr(&sql), sel, ATTRIB_SS_NCOLS, fn, payload,
                       "reading session_sources");
done:
    attrib_buf_free(&sql);
    return rc;
}

static int sq_scan_attribution(void *impl, const attrib_scan *sel, attrib_row_fn fn, void *payload)
{
    sq_store *s = impl;
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    int rc = ATTRIB_OK;
    if (attrib_buf_adds(&sql, "SELECT a.conv_id, a.session_id, a.ihc, s.channel_name, "
                              "s.event_date, c.revenue FROM attribution_customer_journey a "
                              "JOIN session_sources s ON s.session_id = a.session_id "
                              "JOIN conversions c ON c.conv_id = a.conv_id") != 0) {
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    rc = where_clause(s, &sql, sel, "s.event_date", NULL);
    if (rc == ATTRIB_OK)
        rc = run_query(s, attrib_buf_cstr(&sql), sel, ATTRIB_AR_NCOLS, fn, payload,
                       "reading attribution_customer_journey");
done:
    attrib_buf_free(&sql);
    return rc;
}

static int sq_scan_attribution_dates(void *impl, const attrib_scan *sel, attrib_row_fn fn,
                                     void *payload)
{
    sq_store *s = impl;
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    int rc = ATTRIB_OK;
    int brc = attrib_buf_adds(&sql, "SELECT DISTINCT s.event_date FROM "
                                    "attribution_customer_journey a JOIN session_sources s ON "
                                    "s.session_id = a.session_id WHERE a.conv_id IN (SELECT "
                                    "conv_id FROM conversions");
    if (brc != 0) {
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    rc = where_clause(s, &sql, sel, "conv_date", NULL);
    if (rc == ATTRIB_OK && attrib_buf_adds(&sql, ")") != 0)
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
    if (rc == ATTRIB_OK)
        rc = run_query(s, attrib_buf_cstr(&sql), sel, 1, fn, payload,
                       "reading the dates of attributed sessions");
done:
    attrib_buf_free(&sql);
    return rc;
}

static int span_row(const attrib_value *cols, void *payload)
{
    int32_t *days = payload;
    for (int i = 0; i < 2; i++)
        if (cols[i].type == ATTRIB_V_TEXT &&
            attrib_date_parse(cols[i].s, cols[i].len, &days[i]) != 0)
            days[i] = 0;
    return ATTRIB_OK;
}

static int sq_session_day_span(void *impl, int32_t *first, int32_t *last)
{
    int32_t days[2] = {0, 0};
    /* Two subqueries: SQLite answers a lone min() or max() from the event_date index, but
     * both in one SELECT scan the whole index (1.2 s at 10M sessions). */
    int rc = run_query(impl,
                       "SELECT (SELECT min(event_date) FROM session_sources), "
                       "(SELECT max(event_date) FROM session_sources)",
                       NULL, 2, span_row, days, "reading the date span of session_sources");
    *first = days[0];
    *last = days[1];
    return rc;
}

static int sq_scan_report(void *impl, const attrib_scan *sel, attrib_row_fn fn, void *payload)
{
    sq_store *s = impl;
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    int rc = ATTRIB_OK;
    if (attrib_buf_adds(&sql, "SELECT channel_name, date, cost, ihc, ihc_revenue FROM "
                              "channel_reporting") != 0) {
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    rc = where_clause(s, &sql, sel, "date", NULL);
    if (rc == ATTRIB_OK)
        rc = run_query(s, attrib_buf_cstr(&sql), sel, ATTRIB_CR_NCOLS, fn, payload,
                       "reading channel_reporting");
done:
    attrib_buf_free(&sql);
    return rc;
}

/* Run one statement with the range bound. */
static int exec_range(sq_store *s, const char *sql, const attrib_scan *sel, const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc = ATTRIB_OK;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = sq_fail(s, what);
        goto done;
    }
    bind_range(st, sel);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = sq_fail(s, what);
done:
    sqlite3_finalize(st);
    return rc;
}

/* See invalidate_report_sums in store.h. */
static const char invalidate_sql[] =
    "DELETE FROM attrib_report_sums; DELETE FROM attrib_dirty_keys;"
    "INSERT OR REPLACE INTO attrib_meta(key, value) VALUES ('report_sums', 'invalid');"
    "INSERT OR IGNORE INTO attrib_dirty_dates(date) VALUES ('*');";

static int sq_invalidate_report_sums(void *impl)
{
    return exec(impl, invalidate_sql);
}

static int sq_delete_attribution(void *impl, const attrib_scan *sel, bool with_phases)
{
    sq_store *s = impl;
    bool ranged = sel != NULL && (sel->start_date != NULL || sel->end_date != NULL);
    int rc = ATTRIB_OK;
    attrib_buf conv = ATTRIB_BUF_INIT(0);
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    if (!ranged) {
        /* Everything is replaced: the next report must recompute every date. */
        rc = exec(s, "DELETE FROM attribution_customer_journey;");
        if (rc == ATTRIB_OK)
            rc = exec(s, invalidate_sql);
        if (rc == ATTRIB_OK)
            rc = exec(s, "DELETE FROM attrib_journey_phases");
        goto done;
    }
    if (attrib_buf_adds(&conv, "SELECT conv_id FROM conversions") != 0) {
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    rc = where_clause(s, &conv, sel, "conv_date", NULL);
    if (rc != ATTRIB_OK)
        goto done;
    if (attrib_buf_printf(&sql,
                          "INSERT OR IGNORE INTO attrib_dirty_dates(date) SELECT DISTINCT "
                          "s.event_date FROM attribution_customer_journey a JOIN "
                          "session_sources s ON s.session_id = a.session_id WHERE a.conv_id "
                          "IN (%s) AND s.event_date IS NOT NULL AND NOT EXISTS (SELECT 1 "
                          "FROM attrib_meta WHERE key = 'report_sums' AND value = 'valid')",
                          attrib_buf_cstr(&conv)) != 0) {
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    rc = exec_range(s, attrib_buf_cstr(&sql), sel, "remembering replaced dates");
    if (rc != ATTRIB_OK)
        goto done;
    attrib_buf_reset(&sql);
    if (attrib_buf_printf(&sql, "DELETE FROM attribution_customer_journey WHERE conv_id IN (%s)",
                          attrib_buf_cstr(&conv)) != 0) {
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    rc = exec_range(s, attrib_buf_cstr(&sql), sel, "deleting attribution rows");
    if (rc != ATTRIB_OK)
        goto done;
    (void)with_phases; /* phases of replaced conversions always go with them */
    attrib_buf_reset(&sql);
    if (attrib_buf_printf(&sql, "DELETE FROM attrib_journey_phases WHERE conv_id IN (%s)",
                          attrib_buf_cstr(&conv)) != 0) {
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    rc = exec_range(s, attrib_buf_cstr(&sql), sel, "deleting phase rows");
done:
    attrib_buf_free(&conv);
    attrib_buf_free(&sql);
    return rc;
}

static int sq_insert_attribution(void *impl, const attrib_attr_row *rows, size_t n,
                                 bool with_phases)
{
    sq_store *s = impl;
    if (s->ins_attr == NULL &&
        sqlite3_prepare_v2(s->db,
                           "INSERT INTO attribution_customer_journey (conv_id, session_id, ihc) "
                           "VALUES (?1, ?2, ?3)",
                           -1, &s->ins_attr, NULL) != SQLITE_OK)
        return sq_fail(s, "preparing attribution insert");
    if (with_phases && s->ins_phase == NULL &&
        sqlite3_prepare_v2(s->db,
                           "INSERT INTO attrib_journey_phases (conv_id, session_id, initializer, "
                           "holder, closer) VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &s->ins_phase, NULL) != SQLITE_OK)
        return sq_fail(s, "preparing phase insert");
    for (size_t i = 0; i < n; i++) {
        const attrib_attr_row *r = &rows[i];
        sqlite3_stmt *st = s->ins_attr;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, r->conv_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, r->session_id, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 3, r->ihc);
        if (sqlite3_step(st) != SQLITE_DONE)
            return attrib__error(s->ctx, ATTRIB_EDB,
                                 "%s: writing attribution row (conv_id '%s', session_id '%s'): %s",
                                 s->path, r->conv_id, r->session_id, sqlite3_errmsg(s->db));
        if (!with_phases)
            continue;
        st = s->ins_phase;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, r->conv_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, r->session_id, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 3, r->initializer);
        sqlite3_bind_double(st, 4, r->holder);
        sqlite3_bind_double(st, 5, r->closer);
        if (sqlite3_step(st) != SQLITE_DONE)
            return sq_fail(s, "writing phase values");
    }
    return ATTRIB_OK;
}

static int sq_scan_dirty_dates(void *impl, attrib_row_fn fn, void *payload)
{
    return run_query(impl, "SELECT date FROM attrib_dirty_dates", NULL, 1, fn, payload,
                     "reading attrib_dirty_dates");
}

/* " OR (date in the range) OR date IN (temp dates)" for a report replacement. */
static int report_cond(sq_store *s, attrib_buf *sql, const attrib_scan *sel)
{
    int rc = 0;
    if (sel->start_date != NULL || sel->end_date != NULL)
        rc |=
            attrib_buf_printf(sql, " OR (%s AND %s)", sel->start_date != NULL ? "date >= ?1" : "1",
                              sel->end_date != NULL ? "date <= ?2" : "1");
    if (sel->dates != NULL) {
        int frc = fill_temp(s, "attrib_sel_dates", sel->dates, sel->n_dates);
        if (frc != ATTRIB_OK)
            return frc;
        rc |= attrib_buf_adds(sql, " OR date IN (SELECT k FROM temp.attrib_sel_dates)");
    }
    return rc == 0 ? ATTRIB_OK : attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
}

static int sq_replace_report(void *impl, const attrib_scan *sel, const attrib_report_row *rows,
                             size_t n)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    attrib_buf cond = ATTRIB_BUF_INIT(0);
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    int rc = ATTRIB_OK;
    if (sel == NULL) {
        rc = exec(s, "DELETE FROM channel_reporting; DELETE FROM attrib_dirty_dates;"
                     "DELETE FROM attrib_dirty_keys;");
    } else {
        rc = report_cond(s, &cond, sel);
        if (rc != ATTRIB_OK)
            goto done;
        if (attrib_buf_printf(&sql, "DELETE FROM channel_reporting WHERE 0%s",
                              attrib_buf_cstr(&cond)) != 0) {
            rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
        rc = exec_range(s, attrib_buf_cstr(&sql), sel, "deleting channel_reporting rows");
        if (rc != ATTRIB_OK)
            goto done;
        attrib_buf_reset(&sql);
        if (attrib_buf_printf(&sql, "DELETE FROM attrib_dirty_dates WHERE date = '*'%s",
                              attrib_buf_cstr(&cond)) != 0) {
            rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
        rc = exec_range(s, attrib_buf_cstr(&sql), sel, "clearing attrib_dirty_dates");
        if (rc != ATTRIB_OK)
            goto done;
        attrib_buf_reset(&sql);
        if (attrib_buf_printf(&sql, "DELETE FROM attrib_dirty_keys WHERE 0%s",
                              attrib_buf_cstr(&cond)) != 0) {
            rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
        rc = exec_range(s, attrib_buf_cstr(&sql), sel, "clearing attrib_dirty_keys");
    }
    if (rc != ATTRIB_OK)
        goto done;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO channel_reporting (channel_name, date, cost, ihc, "
                           "ihc_revenue) VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = sq_fail(s, "preparing report insert");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, rows[i].channel, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, rows[i].date, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 3, rows[i].cost);
        sqlite3_bind_double(st, 4, rows[i].ihc);
        sqlite3_bind_double(st, 5, rows[i].ihc_revenue);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = sq_fail(s, "writing channel_reporting");
            goto done;
        }
    }
done:
    sqlite3_finalize(st);
    attrib_buf_free(&cond);
    attrib_buf_free(&sql);
    return rc;
}

static int sq_scan_attribution_conv(void *impl, const attrib_scan *sel, attrib_row_fn fn,
                                    void *payload)
{
    sq_store *s = impl;
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    int rc = ATTRIB_OK;
    /* CROSS JOIN fixes the order: conversions by the conv_date index, then the
     * attribution primary key, then the session primary key. */
    if (attrib_buf_adds(&sql, "SELECT a.conv_id, a.session_id, a.ihc, s.channel_name, "
                              "s.event_date, c.revenue FROM conversions c "
                              "CROSS JOIN attribution_customer_journey a ON a.conv_id = c.conv_id "
                              "CROSS JOIN session_sources s ON s.session_id = a.session_id") != 0) {
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    attrib_scan range = {0};
    if (sel != NULL) {
        range.start_date = sel->start_date;
        range.end_date = sel->end_date;
    }
    rc = where_clause(s, &sql, &range, "c.conv_date", NULL);
    if (rc == ATTRIB_OK)
        rc = run_query(s, attrib_buf_cstr(&sql), &range, ATTRIB_AR_NCOLS, fn, payload,
                       "reading the attribution rows of the selected conversions");
done:
    attrib_buf_free(&sql);
    return rc;
}

static int valid_row(const attrib_value *cols, void *payload)
{
    bool *out = payload;
    *out = cols[0].type == ATTRIB_V_TEXT && strcmp(cols[0].s, "valid") == 0;
    return ATTRIB_OK;
}

static int sq_report_sums_valid(void *impl, bool *out)
{
    *out = false;
    return run_query(impl, "SELECT value FROM attrib_meta WHERE key = 'report_sums'", NULL, 1,
                     valid_row, out, "reading attrib_meta");
}

static int sq_scan_report_sums(void *impl, const attrib_scan *sel, attrib_row_fn fn, void *payload)
{
    sq_store *s = impl;
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    int rc = ATTRIB_OK;
    if (attrib_buf_adds(&sql, "SELECT channel_name, date, ihc_hi, ihc_lo, rev_hi, rev_lo FROM "
                              "attrib_report_sums") != 0) {
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    rc = where_clause(s, &sql, sel, "date", NULL);
    if (rc == ATTRIB_OK)
        rc = run_query(s, attrib_buf_cstr(&sql), sel, ATTRIB_RS_NCOLS, fn, payload,
                       "reading attrib_report_sums");
done:
    attrib_buf_free(&sql);
    return rc;
}

static int sq_replace_report_sums(void *impl, const attrib_scan *sel, const attrib_sums_row *rows,
                                  size_t n, bool dirty)
{
    sq_store *s = impl;
    sqlite3_stmt *put = NULL, *mark = NULL;
    attrib_buf cond = ATTRIB_BUF_INIT(0);
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    int rc = ATTRIB_OK;
    if (sel == NULL) {
        rc = exec(s, "DELETE FROM attrib_report_sums; DELETE FROM attrib_dirty_keys;"
                     "INSERT OR REPLACE INTO attrib_meta(key, value) VALUES ('report_sums', "
                     "'valid');");
    } else {
        rc = report_cond(s, &cond, sel);
        if (rc == ATTRIB_OK && cond.len > 0) {
            if (attrib_buf_printf(&sql, "DELETE FROM attrib_report_sums WHERE 0%s",
                                  attrib_buf_cstr(&cond)) != 0)
                rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
            else
                rc = exec_range(s, attrib_buf_cstr(&sql), sel, "deleting attrib_report_sums rows");
        }
    }
    if (rc != ATTRIB_OK)
        goto done;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO attrib_report_sums (channel_name, date, "
                           "ihc_hi, ihc_lo, rev_hi, rev_lo) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &put, NULL) != SQLITE_OK ||
        (dirty && sqlite3_prepare_v2(s->db,
                                     "INSERT OR IGNORE INTO attrib_dirty_keys (channel_name, "
                                     "date) VALUES (?1, ?2)",
                                     -1, &mark, NULL) != SQLITE_OK)) {
        rc = sq_fail(s, "preparing attrib_report_sums writes");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const attrib_sums_row *r = &rows[i];
        sqlite3_reset(put);
        sqlite3_bind_text(put, 1, r->channel, -1, SQLITE_STATIC);
        sqlite3_bind_text(put, 2, r->date, -1, SQLITE_STATIC);
        sqlite3_bind_int64(put, 3, r->ihc_hi);
        sqlite3_bind_int64(put, 4, r->ihc_lo);
        sqlite3_bind_int64(put, 5, r->rev_hi);
        sqlite3_bind_int64(put, 6, r->rev_lo);
        if (sqlite3_step(put) != SQLITE_DONE) {
            rc = sq_fail(s, "writing attrib_report_sums");
            goto done;
        }
        if (mark == NULL)
            continue;
        sqlite3_reset(mark);
        sqlite3_bind_text(mark, 1, r->channel, -1, SQLITE_STATIC);
        sqlite3_bind_text(mark, 2, r->date, -1, SQLITE_STATIC);
        if (sqlite3_step(mark) != SQLITE_DONE) {
            rc = sq_fail(s, "writing attrib_dirty_keys");
            goto done;
        }
    }
done:
    sqlite3_finalize(put);
    sqlite3_finalize(mark);
    attrib_buf_free(&cond);
    attrib_buf_free(&sql);
    return rc;
}

static int sq_scan_dirty_keys(void *impl, attrib_row_fn fn, void *payload)
{
    return run_query(impl, "SELECT channel_name, date FROM attrib_dirty_keys", NULL,
                     ATTRIB_DK_NCOLS, fn, payload, "reading attrib_dirty_keys");
}

static int bind_value(sqlite3_stmt *st, int i, const attrib_value *v)
{
    switch (v->type) {
    case ATTRIB_V_INT:
        return sqlite3_bind_int64(st, i, v->i);
    case ATTRIB_V_REAL:
        return sqlite3_bind_double(st, i, v->r);
    case ATTRIB_V_TEXT:
        return sqlite3_bind_text(st, i, v->s, (int)v->len, SQLITE_STATIC);
    default:
        return sqlite3_bind_null(st, i);
    }
}

static int insert_rows(sq_store *s, const char *sql, int ncols, const attrib_value *rows,
                       size_t n_rows, const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc = ATTRIB_OK;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = sq_fail(s, what);
        goto done;
    }
    for (size_t r = 0; r < n_rows; r++) {
        sqlite3_reset(st);
        for (int c = 0; c < ncols; c++)
            bind_value(st, c + 1, &rows[r * (size_t)ncols + (size_t)c]);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = sq_fail(s, what);
            goto done;
        }
    }
done:
    sqlite3_finalize(st);
    return rc;
}

static int sq_insert_sessions(void *impl, const attrib_value *rows, size_t n_rows)
{
    return insert_rows(impl,
                       "INSERT INTO session_sources (session_id, user_id, event_date, "
                       "event_time, channel_name, holder_engagement, closer_engagement, "
                       "impression_interaction) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
                       8, rows, n_rows, "writing session_sources");
}

static int sq_insert_conversions(void *impl, const attrib_value *rows, size_t n_rows)
{
    return insert_rows(impl,
                       "INSERT INTO conversions (conv_id, user_id, conv_date, conv_time, "
                       "revenue) VALUES (?1,?2,?3,?4,?5)",
                       5, rows, n_rows, "writing conversions");
}

static int sq_insert_costs(void *impl, const attrib_value *rows, size_t n_rows)
{
    return insert_rows(impl, "INSERT INTO session_costs (session_id, cost) VALUES (?1,?2)", 2, rows,
                       n_rows, "writing session_costs");
}

static int sq_scan_costs(void *impl, attrib_row_fn fn, void *payload)
{
    return run_query(impl, "SELECT session_id, cost FROM session_costs", NULL, 2, fn, payload,
                     "reading session_costs");
}

const attrib_store_ops attrib_store_sqlite = {
    .name = "sqlite",
    .accepts = sq_accepts,
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .exec_script = sq_exec_script,
    .init_schema = sq_init_schema,
    .tables_exist = sq_tables_exist,
    .has_rows = sq_has_rows,
    .scan_conversions = sq_scan_conversions,
    .scan_sessions = sq_scan_sessions,
    .scan_attribution = sq_scan_attribution,
    .scan_attribution_dates = sq_scan_attribution_dates,
    .session_day_span = sq_session_day_span,
    .scan_report = sq_scan_report,
    .delete_attribution = sq_delete_attribution,
    .insert_attribution = sq_insert_attribution,
    .scan_dirty_dates = sq_scan_dirty_dates,
    .replace_report = sq_replace_report,
    .scan_attribution_conv = sq_scan_attribution_conv,
    .report_sums_valid = sq_report_sums_valid,
    .scan_report_sums = sq_scan_report_sums,
    .replace_report_sums = sq_replace_report_sums,
    .scan_dirty_keys = sq_scan_dirty_keys,
    .invalidate_report_sums = sq_invalidate_report_sums,
    .query = sq_query,
    .insert_sessions = sq_insert_sessions,
    .insert_conversions = sq_insert_conversions,
    .insert_costs = sq_insert_costs,
    .scan_costs = sq_scan_costs,
};
