/*
 * The report's tables in the store (report/store.h), written once for every
 * backend over the store's bound statements. The SQL is fixed text with ?N
 * parameters; a selection's dates go through a temp table of keys
 * (attrib_report_dates) so that the same text serves SQLite and PostgreSQL;
 * the one dialect difference left, bytewise comparison of dates, is the
 * backend's `bytewise` suffix.
 */
#include "lib/report/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A statement being built: its text and the values it binds. */
typedef struct {
    attrib_buf sql;
    attrib_value params[2];
    int n;
} stmt;

#define STMT_INIT                                                                                  \
    {                                                                                              \
        .sql = ATTRIB_BUF_INIT(0), .n = 0                                                          \
    }

static int oom(attrib_store *st)
{
    return attrib__error(st->ctx, ATTRIB_ENOMEM, "out of memory");
}

static int run(attrib_store *st, const char *sql, const char *what)
{
    return st->ops->exec(st->impl, sql, NULL, 0, what);
}

/* The selection's dates into the temp table attrib_report_dates(k). */
static int fill_dates(attrib_store *st, const char *const *dates, size_t n)
{
    static const char *const cols[] = {"k"};
    static const attrib_col_kind kinds[] = {ATTRIB_COL_TEXT};
    static const attrib_table keys = {"attrib_report_dates", cols, kinds, 1, 1};
    attrib_value *vals = calloc(n > 0 ? n : 1, sizeof(*vals));
    int rc = ATTRIB_OK;
    if (vals == NULL) {
        rc = oom(st);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        vals[i] = attrib__text(dates[i]);
    rc = run(st, "CREATE TEMP TABLE IF NOT EXISTS attrib_report_dates (k text PRIMARY KEY)",
             "selecting report dates");
    if (rc == ATTRIB_OK)
        rc = run(st, "DELETE FROM attrib_report_dates", "selecting report dates");
    if (rc == ATTRIB_OK)
        rc = st->ops->insert(st->impl, &keys, ATTRIB_CONFLICT_IGNORE, vals, n);
done:
    free(vals);
    return rc;
}

/* Append " <op> col >= ?N" / " <op> col <= ?N" for the range, binding its ends. */
static int put_range(attrib_store *st, stmt *s, const attrib_scan *sel, const char *col)
{
    return attrib__sql_range(st, &s->sql, s->params, &s->n, sel, col);
}

/* " WHERE 1=1 AND (date in the range) AND (date among sel->dates)". */
static int where_date(attrib_store *st, stmt *s, const attrib_scan *sel)
{
    int e = attrib_buf_adds(&s->sql, " WHERE 1=1");
    if (sel != NULL)
        e |= put_range(st, s, sel, "date");
    if (sel != NULL && sel->dates != NULL) {
        int rc = fill_dates(st, sel->dates, sel->n_dates);
        if (rc != ATTRIB_OK)
            return rc;
        e |= attrib_buf_printf(&s->sql, " AND date%s IN (SELECT k FROM attrib_report_dates)",
                               st->ops->bytewise);
    }
    return e != 0 ? oom(st) : ATTRIB_OK;
}

/* " OR (date in the range) OR (date among sel->dates)": rows of the range or
 * of the dates (empty when sel selects neither; *any says which). */
static int or_date(attrib_store *st, attrib_buf *cond, stmt *s, const attrib_scan *sel, bool *any)
{
    int e = 0;
    *any = false;
    if (sel->start_date != NULL || sel->end_date != NULL) {
        /* the range's text goes to s->sql first, then moves to cond */
        attrib_buf_reset(&s->sql);
        e |= attrib_buf_adds(cond, " OR (1=1");
        e |= put_range(st, s, sel, "date");
        e |= attrib_buf_add(cond, s->sql.data, s->sql.len);
        e |= attrib_buf_addc(cond, ')');
        attrib_buf_reset(&s->sql);
        *any = true;
    }
    if (sel->dates != NULL) {
        int rc = fill_dates(st, sel->dates, sel->n_dates);
        if (rc != ATTRIB_OK)
            return rc;
        e |= attrib_buf_printf(cond, " OR date%s IN (SELECT k FROM attrib_report_dates)",
                               st->ops->bytewise);
        *any = true;
    }
    return e != 0 ? oom(st) : ATTRIB_OK;
}

/* SELECT head + where_date(sel), each row's ncols values to fn. */
static int scan_dated(attrib_store *st, const char *head, const attrib_scan *sel, int ncols,
                      attrib_row_fn fn, void *payload, const char *what)
{
    stmt s = STMT_INIT;
    int rc = attrib_buf_adds(&s.sql, head) != 0 ? oom(st) : ATTRIB_OK;
    if (rc == ATTRIB_OK)
        rc = where_date(st, &s, sel);
    if (rc == ATTRIB_OK)
        rc = st->ops->query(st->impl, attrib_buf_cstr(&s.sql), s.params, s.n, ncols, fn, payload,
                            what);
    attrib_buf_free(&s.sql);
    return rc;
}

/* Each of the statements "<stmts[i]> <cond>" with the same bound values. */
static int delete_where(attrib_store *st, const char *const (*stmts)[2], size_t n,
                        const attrib_scan *sel)
{
    attrib_buf cond = ATTRIB_BUF_INIT(0);
    stmt s = STMT_INIT;
    bool any = false;
    int rc = or_date(st, &cond, &s, sel, &any);
    for (size_t i = 0; i < n && rc == ATTRIB_OK; i++) {
        attrib_buf_reset(&s.sql);
        if (attrib_buf_adds(&s.sql, stmts[i][0]) != 0 ||
            attrib_buf_add(&s.sql, cond.data, cond.len) != 0)
            rc = oom(st);
        else
            rc = st->ops->exec(st->impl, attrib_buf_cstr(&s.sql), s.params, s.n, stmts[i][1]);
    }
    attrib_buf_free(&cond);
    attrib_buf_free(&s.sql);
    return rc;
}

int attrib__report_scan(attrib_store *st, const attrib_scan *sel, attrib_row_fn fn, void *payload)
{
    return scan_dated(st,
                      "SELECT channel_name, date, cost, ihc, ihc_revenue FROM channel_reporting",
                      sel, ATTRIB_CR_NCOLS, fn, payload, "reading channel_reporting");
}

int attrib__report_replace(attrib_store *st, const attrib_scan *sel, const attrib_report_row *rows,
                           size_t n)
{
    static const char *const cols[] = {"channel_name", "date", "cost", "ihc", "ihc_revenue"};
    static const attrib_col_kind kinds[] = {ATTRIB_COL_TEXT, ATTRIB_COL_TEXT, ATTRIB_COL_REAL,
                                            ATTRIB_COL_REAL, ATTRIB_COL_REAL};
    static const attrib_table report = {"channel_reporting", cols, kinds, 5, 2};
    /* The replaced rows, and the dirty marks those dates settle. */
    static const char *const stmts[][2] = {
        {"DELETE FROM channel_reporting WHERE 1=0", "deleting channel_reporting rows"},
        {"DELETE FROM attrib_dirty_dates WHERE date = '*'", "clearing attrib_dirty_dates"},
        {"DELETE FROM attrib_dirty_keys WHERE 1=0", "clearing attrib_dirty_keys"},
    };
    static const char *const all[][2] = {
        {"DELETE FROM channel_reporting", "deleting channel_reporting rows"},
        {"DELETE FROM attrib_dirty_dates", "clearing attrib_dirty_dates"},
        {"DELETE FROM attrib_dirty_keys", "clearing attrib_dirty_keys"},
    };
    attrib_value *vals = NULL;
    int rc = ATTRIB_OK;
    if (sel == NULL) {
        for (size_t i = 0; i < 3 && rc == ATTRIB_OK; i++)
            rc = run(st, all[i][0], all[i][1]);
    } else {
        rc = delete_where(st, stmts, 3, sel);
    }
    if (rc != ATTRIB_OK || n == 0)
        goto done;
    vals = malloc(n * 5 * sizeof(*vals));
    if (vals == NULL) {
        rc = oom(st);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        attrib_value *v = &vals[i * 5];
        v[0] = attrib__text(rows[i].channel);
        v[1] = attrib__text(rows[i].date);
        v[2] = attrib__real(rows[i].cost);
        v[3] = attrib__real(rows[i].ihc);
        v[4] = attrib__real(rows[i].ihc_revenue);
    }
    rc = st->ops->insert(st->impl, &report, ATTRIB_CONFLICT_FAIL, vals, n);
done:
    free(vals);
    return rc;
}

int attrib__report_note_replaced(attrib_store *st, const attrib_scan *sel)
{
    bool ranged = sel != NULL && (sel->start_date != NULL || sel->end_date != NULL);
    if (!ranged)
        return attrib__report_invalidate_sums(st);
    stmt s = STMT_INIT;
    int e = attrib_buf_adds(&s.sql, "INSERT INTO attrib_dirty_dates (date) SELECT DISTINCT "
                                    "s.event_date FROM attribution_customer_journey a JOIN "
                                    "session_sources s ON s.session_id = a.session_id WHERE "
                                    "a.conv_id IN (SELECT conv_id FROM conversions WHERE 1=1");
    e |= put_range(st, &s, sel, "conv_date");
    e |= attrib_buf_adds(&s.sql, ") AND s.event_date IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                                 "attrib_meta WHERE key = 'report_sums' AND value = 'valid') "
                                 "ON CONFLICT (date) DO NOTHING");
    int rc = e != 0 ? oom(st)
                    : st->ops->exec(st->impl, attrib_buf_cstr(&s.sql), s.params, s.n,
                                    "remembering replaced dates");
    attrib_buf_free(&s.sql);
    return rc;
}

int attrib__report_scan_dirty_dates(attrib_store *st, attrib_row_fn fn, void *payload)
{
    return st->ops->query(st->impl, "SELECT date FROM attrib_dirty_dates", NULL, 0, 1, fn, payload,
                          "reading attrib_dirty_dates");
}

static int valid_row(const attrib_value *cols, void *payload)
{
    bool *out = payload;
    *out = cols[0].type == ATTRIB_V_TEXT && strcmp(cols[0].s, "valid") == 0;
    return ATTRIB_OK;
}

int attrib__report_sums_valid(attrib_store *st, bool *out)
{
    *out = false;
    return st->ops->query(st->impl, "SELECT value FROM attrib_meta WHERE key = 'report_sums'", NULL,
                          0, 1, valid_row, out, "reading attrib_meta");
}

/* attrib_meta's report_sums marker. */
static int set_valid(attrib_store *st, bool valid)
{
    attrib_value v = attrib__text(valid ? "valid" : "invalid");
    return st->ops->exec(st->impl,
                         "INSERT INTO attrib_meta (key, value) VALUES ('report_sums', ?1) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                         &v, 1, "writing attrib_meta");
}

static int any_row(const attrib_value *cols, void *payload)
{
    (void)cols;
    *(bool *)payload = true;
    return ATTRIB_OK;
}

int attrib__report_conversion_after(attrib_store *st, const char *date, bool *any)
{
    *any = false;
    if (date == NULL)
        return ATTRIB_OK;
    stmt s = STMT_INIT;
    s.params[s.n++] = attrib__text(date);
    int rc = attrib_buf_printf(&s.sql, "SELECT 1 FROM conversions WHERE conv_date%s > ?1 LIMIT 1",
                               st->ops->bytewise) != 0
                 ? oom(st)
                 : st->ops->query(st->impl, attrib_buf_cstr(&s.sql), s.params, s.n, 1, any_row, any,
                                  "reading conversions");
    attrib_buf_free(&s.sql);
    return rc;
}

int attrib__report_scan_sums(attrib_store *st, const attrib_scan *sel, attrib_row_fn fn,
                             void *payload)
{
    return scan_dated(st,
                      "SELECT channel_name, date, ihc_hi, ihc_lo, rev_hi, rev_lo FROM "
                      "attrib_report_sums",
                      sel, ATTRIB_RS_NCOLS, fn, payload, "reading attrib_report_sums");
}

int attrib__report_replace_sums(attrib_store *st, const attrib_scan *sel,
                                const attrib_sums_row *rows, size_t n, bool dirty)
{
    static const char *const cols[] = {"channel_name", "date",   "ihc_hi",
                                       "ihc_lo",       "rev_hi", "rev_lo"};
    static const attrib_col_kind kinds[] = {ATTRIB_COL_TEXT, ATTRIB_COL_TEXT, ATTRIB_COL_INT,
                                            ATTRIB_COL_INT,  ATTRIB_COL_INT,  ATTRIB_COL_INT};
    static const attrib_table sums = {"attrib_report_sums", cols, kinds, 6, 2};
    static const attrib_table keys = {"attrib_dirty_keys", cols, kinds, 2, 2};
    static const char *const stmts[][2] = {
        {"DELETE FROM attrib_report_sums WHERE 1=0", "deleting attrib_report_sums rows"},
    };
    attrib_value *vals = NULL, *kvals = NULL;
    int rc = ATTRIB_OK;
    if (sel == NULL) {
        rc = run(st, "DELETE FROM attrib_report_sums", "replacing attrib_report_sums");
        if (rc == ATTRIB_OK)
            rc = run(st, "DELETE FROM attrib_dirty_keys", "clearing attrib_dirty_keys");
        if (rc == ATTRIB_OK)
            rc = set_valid(st, true);
    } else if (sel->start_date != NULL || sel->end_date != NULL || sel->dates != NULL) {
        rc = delete_where(st, stmts, 1, sel);
    }
    if (rc != ATTRIB_OK || n == 0)
        goto done;
    vals = malloc(n * 6 * sizeof(*vals));
    kvals = dirty ? malloc(n * 2 * sizeof(*kvals)) : NULL;
    if (vals == NULL || (dirty && kvals == NULL)) {
        rc = oom(st);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        attrib_value *v = &vals[i * 6];
        v[0] = attrib__text(rows[i].channel);
        v[1] = attrib__text(rows[i].date);
        v[2] = attrib__int(rows[i].ihc_hi);
        v[3] = attrib__int(rows[i].ihc_lo);
        v[4] = attrib__int(rows[i].rev_hi);
        v[5] = attrib__int(rows[i].rev_lo);
        if (dirty) {
            kvals[i * 2] = v[0];
            kvals[i * 2 + 1] = v[1];
        }
    }
    /* Into an emptied table no key can conflict: a plain insert (on PostgreSQL a
     * COPY, with no temp table, so a two-phase commit can prepare it). */
    rc = st->ops->insert(st->impl, &sums,
                         sel == NULL ? ATTRIB_CONFLICT_FAIL : ATTRIB_CONFLICT_REPLACE, vals, n);
    if (rc == ATTRIB_OK && dirty)
        rc = st->ops->insert(st->impl, &keys, ATTRIB_CONFLICT_IGNORE, kvals, n);
done:
    free(vals);
    free(kvals);
    return rc;
}

int attrib__report_scan_dirty_keys(attrib_store *st, attrib_row_fn fn, void *payload)
{
    return st->ops->query(st->impl, "SELECT channel_name, date FROM attrib_dirty_keys", NULL, 0,
                          ATTRIB_DK_NCOLS, fn, payload, "reading attrib_dirty_keys");
}

int attrib__report_invalidate_sums(attrib_store *st)
{
    int rc = run(st, "DELETE FROM attrib_report_sums", "invalidating attrib_report_sums");
    if (rc == ATTRIB_OK)
        rc = run(st, "DELETE FROM attrib_dirty_keys", "invalidating attrib_report_sums");
    if (rc == ATTRIB_OK)
        rc = set_valid(st, false);
    if (rc == ATTRIB_OK)
        rc = run(st,
                 "INSERT INTO attrib_dirty_dates (date) VALUES ('*') ON CONFLICT (date) DO "
                 "NOTHING",
                 "invalidating attrib_report_sums");
    return rc;
}
