/*
 * The SQLite backend of the store (the embedded default): the connection,
 * transactions and statements. Reads stream through prepared statements;
 * selections by user or date go through small temp tables so the planner
 * uses the indexes `init` created; writes reuse one prepared INSERT per table
 * inside the caller's transaction. The concurrent full session scan is
 * sqlite_scan.c's.
 */
#include "lib/store/sqlite.h"

#include "lib/store/readahead.h"

#include "util/buf.h"
#include "util/ts.h"

#include <assert.h>
#include <libgen.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *attrib__sq_errmsg(sqlite3 *db, const char *path, unsigned busy_ms, char *buf,
                              size_t size)
{
    int ec = sqlite3_extended_errcode(db);
    if ((ec & 0xff) == SQLITE_BUSY || (ec & 0xff) == SQLITE_LOCKED) {
        snprintf(buf, size,
                 "another process holds a lock on the database (%s); waited %.1f s for it "
                 "(busy_timeout); retry when it is done, or wait longer with a larger "
                 "busy_timeout",
                 sqlite3_errmsg(db), busy_ms / 1000.0);
        return buf;
    }
    if ((ec & 0xff) == SQLITE_READONLY && path != NULL && strncmp(path, "file:", 5) != 0 &&
        access(path, W_OK) == 0) {
        /* The file is writable: it is the directory SQLite cannot write its
         * journal into (path-journal beside the database). */
        char *copy = strdup(path);
        const char *dir = copy != NULL ? dirname(copy) : ".";
        if (access(dir, W_OK) != 0) {
            snprintf(buf, size,
                     "directory %s is not writable: SQLite writes its journal %s-journal "
                     "there while it changes the database; make the directory writable or "
                     "move the database",
                     dir, path);
            free(copy);
            return buf;
        }
        free(copy);
    }
    snprintf(buf, size, "%s", sqlite3_errmsg(db));
    return buf;
}

int attrib__sq_fail(sq_store *s, const char *what)
{
    int code = ATTRIB_EDB;
    int ec = sqlite3_errcode(s->db);
    if (ec == SQLITE_NOMEM)
        code = ATTRIB_ENOMEM;
    char msg[512];
    return attrib__error(s->ctx, code, "%s: %s: %s", s->path, what,
                         attrib__sq_errmsg(s->db, s->path, s->busy_ms, msg, sizeof(msg)));
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
        char msg[512];
        int code = attrib__error(s->ctx, ATTRIB_EDB, "%s: %s", s->path,
                                 attrib__sq_errmsg(s->db, s->path, s->busy_ms, msg, sizeof(msg)));
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

static int sq_open(attrib_ctx *ctx, const char *target, unsigned flags, unsigned busy_ms,
                   void **out, char **display)
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
                           "database %s does not exist; check the path, or create it "
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
    if (sqlite3_open_v2(target, &s->db, oflags, attrib__sqlite_readahead_vfs()) != SQLITE_OK) {
        rc = attrib__error(ctx, ATTRIB_EDB, "cannot open database %s: %s", target,
                           s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory");
        goto done;
    }
    sqlite3_extended_result_codes(s->db, 0);
    s->busy_ms = busy_ms > INT_MAX ? INT_MAX : busy_ms;
    sqlite3_busy_timeout(s->db, (int)s->busy_ms);
    /* Debian builds SQLite with SECURE_DELETE: every freed page is zeroed and
     * journaled, which made deleting 361k attribution rows cost 0.77 s instead
     * of 0.09 s. FAST still zeroes deleted content on pages written anyway.
     * Temporary data stays in files (the default): building an index on 100M
     * sessions sorts gigabytes, which must not all sit in memory. Sorts may
     * use a second thread. */
    rc = exec(s, "PRAGMA secure_delete=FAST; PRAGMA threads=2;");
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

/*
 * The authorizer of schema statements: table and index creation, reading
 * the columns they cover, and the bookkeeping SQLite does for it in its
 * schema table; nothing else (no DELETE, DROP, ATTACH, PRAGMA, INSERT into a
 * user table, SELECT, transaction statements...).
 */
static int schema_authorizer(void *payload, int action, const char *a, const char *b,
                             const char *db, const char *trigger)
{
    (void)payload, (void)b, (void)db, (void)trigger;
    switch (action) {
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_FUNCTION: /* in a column default or an index expression */
    case SQLITE_READ:     /* the columns a new index or key covers */
    case SQLITE_REINDEX:  /* filling the new index */
        return SQLITE_OK;
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
        return a != NULL && (strcmp(a, "sqlite_master") == 0 || strcmp(a, "sqlite_schema") == 0 ||
                             strcmp(a, "sqlite_temp_master") == 0)
                   ? SQLITE_OK
                   : SQLITE_DENY;
    default:
        return SQLITE_DENY;
    }
}

static int sq_exec_script(void *impl, const char *sql)
{
    return exec(impl, sql);
}

/* One schema statement (store/schema.c checked it), under the authorizer;
 * a second statement in the text is refused, not run. */
static int sq_exec_schema(void *impl, const char *sql)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int rc = ATTRIB_OK;
    sqlite3_set_authorizer(s->db, schema_authorizer, NULL);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, &tail) != SQLITE_OK) {
        rc = attrib__sq_fail(s, "schema statement");
        goto done;
    }
    sqlite3_stmt *rest = NULL;
    if (tail != NULL && *tail != '\0' &&
        (sqlite3_prepare_v2(s->db, tail, -1, &rest, NULL) != SQLITE_OK || rest != NULL)) {
        sqlite3_finalize(rest);
        rc = attrib__error(s->ctx, ATTRIB_EPARSE, "%s: one statement expected", s->path);
        goto done;
    }
    int step = st != NULL ? sqlite3_step(st) : SQLITE_DONE;
    if (step != SQLITE_DONE && step != SQLITE_ROW)
        rc = attrib__sq_fail(s, "schema statement");
done:
    sqlite3_finalize(st);
    sqlite3_set_authorizer(s->db, NULL, NULL);
    return rc;
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
    " date text NOT NULL, PRIMARY KEY(channel_name,date));";

/* The attribution rows by session, for a range's report (sq_scan_attribution):
 * with the input indexes, never by `run` (on a full table it is a sort). */
static const char acj_index_schema[] =
    "CREATE INDEX IF NOT EXISTS attrib_acj_session ON attribution_customer_journey(session_id);";

/* The indexes on the input tables that only ranged runs use (store.h). */
static const char input_index_schema[] =
    "CREATE INDEX IF NOT EXISTS attrib_session_sources_user ON session_sources(user_id);"
    "CREATE INDEX IF NOT EXISTS attrib_session_sources_date ON session_sources(event_date);"
    "CREATE INDEX IF NOT EXISTS attrib_conversions_date ON conversions(conv_date);"
    "CREATE INDEX IF NOT EXISTS attrib_conversions_user ON conversions(user_id);";

static int sq_init_schema(void *impl, bool input_indexes)
{
    sq_store *s = impl;
    int rc = exec(s, attrib__schema_inputs);
    if (rc == ATTRIB_OK)
        rc = exec(s, output_schema);
    if (rc == ATTRIB_OK)
        rc = exec(s, attrib_schema);
    if (rc == ATTRIB_OK && input_indexes)
        rc = exec(s, input_index_schema);
    if (rc == ATTRIB_OK && input_indexes)
        rc = exec(s, acj_index_schema);
    if (rc == ATTRIB_OK) {
        s->sessions_rowid = has_rowid(s, "session_sources");
        s->conversions_rowid = has_rowid(s, "conversions");
        s->costs_rowid = has_rowid(s, "session_costs");
    }
    return rc;
}

static int sq_has_input_indexes(void *impl, bool *out)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    int rc = ATTRIB_OK;
    *out = false;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN "
                           "('attrib_session_sources_user', 'attrib_session_sources_date', "
                           "'attrib_conversions_date', 'attrib_conversions_user')",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = attrib__sq_fail(s, "listing indexes");
        goto done;
    }
    *out = sqlite3_column_int(st, 0) == 4;
done:
    sqlite3_finalize(st);
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
        rc = attrib__sq_fail(s, "listing tables");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, names[i], -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step != SQLITE_ROW && step != SQLITE_DONE) {
            rc = attrib__sq_fail(s, "listing tables");
            goto done;
        }
        present[i] = step == SQLITE_ROW;
    }
done:
    sqlite3_finalize(st);
    return rc;
}

static int sq_is_unique(void *impl, const char *table, const char *column, bool *out)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    int rc = ATTRIB_OK;
    *out = false;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT 1 FROM pragma_index_list(?1) AS l WHERE l.\"unique\" AND"
                           " (SELECT count(*) FROM pragma_index_info(l.name)) = 1 AND"
                           " (SELECT name FROM pragma_index_info(l.name)) = ?2 COLLATE NOCASE",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = attrib__sq_fail(s, "listing indexes");
        goto done;
    }
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = attrib__sq_fail(s, "listing indexes");
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
        rc = attrib__sq_fail(s, "preparing a selection");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = attrib__sq_fail(s, "filling a selection");
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

/* One value as the store delivers it. */
static void sq_value(sqlite3_value *x, attrib_value *v)
{
    switch (sqlite3_value_type(x)) {
    case SQLITE_INTEGER:
        v->type = ATTRIB_V_INT;
        v->i = sqlite3_value_int64(x);
        break;
    case SQLITE_FLOAT:
        v->type = ATTRIB_V_REAL;
        v->r = sqlite3_value_double(x);
        break;
    case SQLITE_NULL:
        v->type = ATTRIB_V_NULL;
        break;
    default: /* TEXT, or a BLOB read as text */
        v->type = ATTRIB_V_TEXT;
        v->s = (const char *)sqlite3_value_text(x);
        v->len = (size_t)sqlite3_value_bytes(x);
        if (v->s == NULL) {
            v->s = "";
            v->len = 0;
        }
        break;
    }
}

/*
 * One sqlite3_column_value and then sqlite3_value_* on it, where
 * sqlite3_column_type, _text and _bytes would each take and leave the
 * connection's mutex slot and check for a failed malloc: those calls were 22%
 * of a 100M-session scan's samples, and a read of the floor's columns this
 * way takes 17% less time (5.2 -> 4.3 s at 10M). The value is "unprotected"
 * (SQLite's word: read without the connection's mutex held), which the
 * sqlite3_value_* accessors accept on connections without a mutex, and every
 * connection of this store is opened with SQLITE_OPEN_NOMUTEX.
 */
void attrib__sq_column_value(sqlite3_stmt *st, int i, attrib_value *v)
{
    sq_value(sqlite3_column_value(st, i), v);
}

/* Run a query and hand each row's ncols values to fn. */
static int run_query(sq_store *s, const char *sql, const attrib_scan *sel, int ncols,
                     attrib_row_fn fn, void *payload, const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc = ATTRIB_OK;
    attrib_value vals[16];
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = attrib__sq_fail(s, what);
        goto done;
    }
    bind_range(st, sel);
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = attrib__sq_fail(s, what);
            goto done;
        }
        memset(vals, 0, sizeof(vals));
        for (int i = 0; i < ncols; i++)
            attrib__sq_column_value(st, i, &vals[i]);
        rc = fn(vals, payload);
        if (rc != ATTRIB_OK)
            goto done;
    }
done:
    sqlite3_finalize(st);
    return rc;
}

/* `select` restricted by a selection (where_clause), each row's ncols values to fn. */
static int scan_select(sq_store *s, const char *select, const attrib_scan *sel,
                       const char *date_col, const char *user_col, int ncols, attrib_row_fn fn,
                       void *payload, const char *what)
{
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    int rc = ATTRIB_OK;
    if (attrib_buf_adds(&sql, select) != 0) {
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    rc = where_clause(s, &sql, sel, date_col, user_col);
    if (rc == ATTRIB_OK)
        rc = run_query(s, attrib_buf_cstr(&sql), sel, ncols, fn, payload, what);
done:
    attrib_buf_free(&sql);
    return rc;
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

static int sq_scan_sessions(void *impl, const attrib_scan *sel, attrib_row_fn fn, void *payload)
{
    sq_store *s = impl;
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    int rc = ATTRIB_OK;
    sqlite3_stmt *st = NULL;
    bool window = false;
    if (sel == NULL) {
        attrib_ctx *ctxs[1] = {s->ctx};
        void *payloads[1] = {payload};
        return attrib__sq_scan_sessions_late(s, 1, ctxs, fn, payloads, false);
    }
    rc = sel->no_costs ? ATTRIB_OK : attrib__sq_window_ok(s, &window);
    if (rc != ATTRIB_OK)
        goto done;
    /* With windows (sqlite_window.c) the costs are joined by their rowids, else by SQL. */
    if (attrib_buf_printf(&sql, "SELECT " SQ_SESSION_COLS ", %s%s FROM session_sources s%s",
                          window          ? ""
                          : sel->no_costs ? "NULL, 0, "
                                          : "c.cost, c.session_id IS NOT NULL, ",
                          s->sessions_rowid ? "s.rowid" : "NULL",
                          window || sel->no_costs
                              ? ""
                              : " LEFT JOIN session_costs c ON c.session_id = s.session_id") != 0) {
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    rc = where_clause(s, &sql, sel, "s.event_date", "s.user_id");
    if (rc != ATTRIB_OK)
        goto done;
    if (!window) {
        rc = run_query(s, attrib_buf_cstr(&sql), sel, ATTRIB_SS_NCOLS, fn, payload,
                       "reading session_sources");
        goto done;
    }
    if (sqlite3_prepare_v2(s->db, attrib_buf_cstr(&sql), -1, &st, NULL) != SQLITE_OK) {
        rc = attrib__sq_fail(s, "reading session_sources");
        goto done;
    }
    bind_range(st, sel);
    rc = attrib__sq_scan_sessions_window(s, st, fn, payload);
done:
    sqlite3_finalize(st);
    attrib_buf_free(&sql);
    return rc;
}

/*
 * A selection's sessions probe the attribution rows by session_id: the index
 * for that is built here, by the first such probe after a full re-attribution
 * dropped it (sq_delete_attribution), in one sorted pass.
 */
static int sq_scan_attribution(void *impl, const attrib_scan *sel, attrib_row_fn fn, void *payload)
{
    sq_store *s = impl;
    int rc = sel == NULL ? ATTRIB_OK : exec(s, acj_index_schema);
    if (rc == ATTRIB_OK)
        rc = scan_select(s,
                         "SELECT a.conv_id, a.session_id, a.ihc, s.channel_name, s.event_date, "
                         "c.revenue FROM attribution_customer_journey a JOIN session_sources s ON "
                         "s.session_id = a.session_id JOIN conversions c ON c.conv_id = "
                         "a.conv_id",
                         sel, "s.event_date", NULL, ATTRIB_AR_NCOLS, fn, payload,
                         "reading attribution_customer_journey");
    return rc;
}

/* Attribution rows of conversions dated on or after start (all when NULL), up to
 * `limit`: how many there are, at most limit. */
static int count_credit_after(sq_store *s, const char *start, uint64_t limit, uint64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = ATTRIB_OK;
    const char *sql = start != NULL
                          ? "SELECT count(*) FROM (SELECT 1 FROM conversions c CROSS JOIN "
                            "attribution_customer_journey a ON a.conv_id = c.conv_id WHERE "
                            "c.conv_date >= ?1 LIMIT ?2)"
                          : "SELECT count(*) FROM (SELECT 1 FROM attribution_customer_journey "
                            "LIMIT ?2)";
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = attrib__sq_fail(s, "counting attribution rows");
        goto done;
    }
    if (start != NULL)
        sqlite3_bind_text(st, 1, start, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = attrib__sq_fail(s, "counting attribution rows");
        goto done;
    }
    *out = (uint64_t)sqlite3_column_int64(st, 0);
done:
    sqlite3_finalize(st);
    return rc;
}

static int sq_scan_credit_after(void *impl, const attrib_scan *range, uint64_t budget, bool *taken,
                                attrib_row_fn fn, void *payload)
{
    sq_store *s = impl;
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    uint64_t n = 0;
    assert(range->users == NULL && range->dates == NULL);
    *taken = false;
    int rc =
        count_credit_after(s, range->start_date, budget < UINT64_MAX ? budget + 1 : budget, &n);
    if (rc != ATTRIB_OK || n > budget)
        goto done;
    /* CROSS JOIN fixes the order: conversions, their rows, then their sessions. */
    if (attrib_buf_adds(&sql, "SELECT a.conv_id, a.session_id, a.ihc, s.channel_name, "
                              "s.event_date, c.revenue FROM conversions c CROSS JOIN "
                              "attribution_customer_journey a ON a.conv_id = c.conv_id CROSS "
                              "JOIN session_sources s ON s.session_id = a.session_id") != 0) {
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    rc = where_clause(s, &sql, range, "s.event_date", NULL);
    if (rc == ATTRIB_OK && range->start_date != NULL &&
        attrib_buf_adds(&sql, " AND c.conv_date >= ?1") != 0)
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
    if (rc == ATTRIB_OK)
        rc = run_query(s, attrib_buf_cstr(&sql), range, ATTRIB_AR_NCOLS, fn, payload,
                       "reading attribution_customer_journey");
    *taken = rc == ATTRIB_OK;
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

/* Run one statement with the range bound. */
static int exec_range(sq_store *s, const char *sql, const attrib_scan *sel, const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc = ATTRIB_OK;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = attrib__sq_fail(s, what);
        goto done;
    }
    bind_range(st, sel);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = attrib__sq_fail(s, what);
done:
    sqlite3_finalize(st);
    return rc;
}

static int sq_delete_attribution(void *impl, const attrib_scan *sel)
{
    sq_store *s = impl;
    bool ranged = sel != NULL && (sel->start_date != NULL || sel->end_date != NULL);
    int rc = ATTRIB_OK;
    attrib_buf conv = ATTRIB_BUF_INIT(0);
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    if (!ranged) {
        /* The session_id index goes: inserted row by row, in conv_id order, it
         * costs a random leaf per row, and built again at the commit it cost
         * 0.3-0.5 s of a 10M run. Only a range's report probes it, and only a
         * range far from the end of the data (sq_scan_credit_after):
         * sq_scan_attribution builds it then. */
        rc = exec(s, "DROP INDEX IF EXISTS attrib_acj_session; "
                     "DELETE FROM attribution_customer_journey;");
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
    static const char *const steps[][2] = {
        {"DELETE FROM attribution_customer_journey WHERE conv_id IN (%s)",
         "deleting attribution rows"},
        {"DELETE FROM attrib_journey_phases WHERE conv_id IN (%s)", "deleting phase rows"},
    };
    for (size_t i = 0; i < 2 && rc == ATTRIB_OK; i++) {
        attrib_buf_reset(&sql);
        if (attrib_buf_printf(&sql, steps[i][0], attrib_buf_cstr(&conv)) != 0)
            rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
        else
            rc = exec_range(s, attrib_buf_cstr(&sql), sel, steps[i][1]);
    }
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
        return attrib__sq_fail(s, "preparing attribution insert");
    if (with_phases && s->ins_phase == NULL &&
        sqlite3_prepare_v2(s->db,
                           "INSERT INTO attrib_journey_phases (conv_id, session_id, initializer, "
                           "holder, closer) VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &s->ins_phase, NULL) != SQLITE_OK)
        return attrib__sq_fail(s, "preparing phase insert");
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
            return attrib__sq_fail(s, "writing phase values");
    }
    return ATTRIB_OK;
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

/* Prepare sql and bind n values; *out is NULL on failure. */
static int prepare_bound(sq_store *s, const char *sql, const attrib_value *params, int n,
                         const char *what, sqlite3_stmt **out)
{
    *out = NULL;
    sqlite3_stmt *st = NULL;
    int rc = ATTRIB_OK;
    if (n < 0 || n > ATTRIB__MAX_PARAMS) {
        rc = attrib__error(s->ctx, ATTRIB_EINVAL, "%s: %s: %d parameters", s->path, what, n);
        goto done;
    }
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = attrib__sq_fail(s, what);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        if (bind_value(st, i + 1, &params[i]) != SQLITE_OK) {
            rc = attrib__sq_fail(s, what);
            goto done;
        }
    }
    *out = st;
    st = NULL;
done:
    sqlite3_finalize(st);
    return rc;
}

static int sq_exec(void *impl, const char *sql, const attrib_value *params, int n, const char *what)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    int rc = prepare_bound(s, sql, params, n, what, &st);
    if (rc == ATTRIB_OK && sqlite3_step(st) != SQLITE_DONE)
        rc = attrib__sq_fail(s, what);
    sqlite3_finalize(st);
    return rc;
}

int attrib__sq_query(void *impl, const char *sql, const attrib_value *params, int n, int ncols,
                     attrib_row_fn fn, void *payload, const char *what)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    attrib_value vals[16];
    int rc = ATTRIB_OK;
    if (ncols < 1 || ncols > 16) {
        rc = attrib__error(s->ctx, ATTRIB_EINVAL, "%s: %s: %d columns", s->path, what, ncols);
        goto done;
    }
    rc = prepare_bound(s, sql, params, n, what, &st);
    while (rc == ATTRIB_OK) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = attrib__sq_fail(s, what);
            break;
        }
        memset(vals, 0, sizeof(vals));
        for (int i = 0; i < ncols; i++)
            attrib__sq_column_value(st, i, &vals[i]);
        rc = fn(vals, payload);
    }
done:
    sqlite3_finalize(st);
    return rc;
}

static int sq_insert(void *impl, const attrib_table *t, attrib_conflict on_conflict,
                     const attrib_value *rows, size_t n_rows)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    char what[96];
    snprintf(what, sizeof(what), "writing %s", t->name);
    int rc = ATTRIB_OK;
    if (n_rows == 0)
        goto done;
    if (attrib__insert_sql(&sql, t, on_conflict, NULL) != 0) {
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    if (sqlite3_prepare_v2(s->db, attrib_buf_cstr(&sql), -1, &st, NULL) != SQLITE_OK) {
        rc = attrib__sq_fail(s, what);
        goto done;
    }
    for (size_t r = 0; r < n_rows; r++) {
        sqlite3_reset(st);
        for (int c = 0; c < t->ncols; c++)
            bind_value(st, c + 1, &rows[r * (size_t)t->ncols + (size_t)c]);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = attrib__sq_fail(s, what);
            goto done;
        }
    }
done:
    sqlite3_finalize(st);
    attrib_buf_free(&sql);
    return rc;
}

const attrib_store_ops attrib_store_sqlite = {
    .name = "sqlite",
    .bytewise = "",
    .accepts = sq_accepts,
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .exec_script = sq_exec_script,
    .exec_schema = sq_exec_schema,
    .init_schema = sq_init_schema,
    .has_input_indexes = sq_has_input_indexes,
    .tables_exist = sq_tables_exist,
    .is_unique = sq_is_unique,
    .exec = sq_exec,
    .query = attrib__sq_query,
    .insert = sq_insert,
    .scan_conversions = sq_scan_conversions,
    .scan_sessions = sq_scan_sessions,
    .scan_sessions_parts = attrib__sq_scan_sessions_parts,
    .scan_attribution = sq_scan_attribution,
    .scan_credit_after = sq_scan_credit_after,
    .scan_attribution_dates = sq_scan_attribution_dates,
    .session_day_span = sq_session_day_span,
    .scan_attribution_conv = sq_scan_attribution_conv,
    .delete_attribution = sq_delete_attribution,
    .insert_attribution = sq_insert_attribution,
};
