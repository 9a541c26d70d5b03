/*
 * Store dispatch: pick the backend whose accepts() takes the target, wrap
 * transactions, and the checks every command shares (tables present).
 */
#include "lib/store/store.h"

#include "util/buf.h"
#include "util/utf8.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char attrib__schema_inputs[] =
    "CREATE TABLE IF NOT EXISTS conversions (conv_id text NOT NULL, user_id text NOT NULL,"
    " conv_date text NOT NULL, conv_time text NOT NULL, revenue real NOT NULL,"
    " PRIMARY KEY(conv_id));"
    "CREATE TABLE IF NOT EXISTS session_costs (session_id text NOT NULL, cost real,"
    " PRIMARY KEY(session_id));"
    "CREATE TABLE IF NOT EXISTS session_sources (session_id text NOT NULL, user_id text NOT NULL,"
    " event_date text NOT NULL, event_time text NOT NULL, channel_name text NOT NULL,"
    " holder_engagement INTEGER NOT NULL, closer_engagement INTEGER NOT NULL,"
    " impression_interaction INTEGER NOT NULL, PRIMARY KEY(session_id));";

static const char *const session_cols[] = {
    "session_id",   "user_id",           "event_date",        "event_time",
    "channel_name", "holder_engagement", "closer_engagement", "impression_interaction"};
static const attrib_col_kind session_kinds[] = {ATTRIB_COL_TEXT, ATTRIB_COL_TEXT, ATTRIB_COL_TEXT,
                                                ATTRIB_COL_TEXT, ATTRIB_COL_TEXT, ATTRIB_COL_INT,
                                                ATTRIB_COL_INT,  ATTRIB_COL_INT};
const attrib_table attrib__table_sessions = {"session_sources", session_cols, session_kinds, 8, 1};

static const char *const conversion_cols[] = {"conv_id", "user_id", "conv_date", "conv_time",
                                              "revenue"};
static const attrib_col_kind conversion_kinds[] = {
    ATTRIB_COL_TEXT, ATTRIB_COL_TEXT, ATTRIB_COL_TEXT, ATTRIB_COL_TEXT, ATTRIB_COL_REAL};
const attrib_table attrib__table_conversions = {"conversions", conversion_cols, conversion_kinds, 5,
                                                1};

static const char *const cost_cols[] = {"session_id", "cost"};
static const attrib_col_kind cost_kinds[] = {ATTRIB_COL_TEXT, ATTRIB_COL_REAL};
const attrib_table attrib__table_costs = {"session_costs", cost_cols, cost_kinds, 2, 1};

int attrib__insert_sql(attrib_buf *sql, const attrib_table *t, attrib_conflict on_conflict,
                       const char *from)
{
    int e = attrib_buf_printf(sql, "INSERT INTO %s (", t->name);
    for (int i = 0; i < t->ncols; i++)
        e |= attrib_buf_printf(sql, "%s%s", i > 0 ? ", " : "", t->cols[i]);
    if (from == NULL) {
        e |= attrib_buf_adds(sql, ") VALUES (");
        for (int i = 0; i < t->ncols; i++)
            e |= attrib_buf_printf(sql, "%s?%d", i > 0 ? ", " : "", i + 1);
        e |= attrib_buf_addc(sql, ')');
    } else {
        e |= attrib_buf_adds(sql, ") SELECT ");
        for (int i = 0; i < t->ncols; i++)
            e |= attrib_buf_printf(sql, "%s%s", i > 0 ? ", " : "", t->cols[i]);
        e |= attrib_buf_printf(sql, " FROM %s", from);
    }
    if (on_conflict == ATTRIB_CONFLICT_FAIL)
        return e;
    e |= attrib_buf_adds(sql, " ON CONFLICT (");
    for (int i = 0; i < t->nkey; i++)
        e |= attrib_buf_printf(sql, "%s%s", i > 0 ? ", " : "", t->cols[i]);
    if (on_conflict == ATTRIB_CONFLICT_IGNORE || t->nkey >= t->ncols)
        return e | attrib_buf_adds(sql, ") DO NOTHING");
    e |= attrib_buf_adds(sql, ") DO UPDATE SET ");
    for (int i = t->nkey; i < t->ncols; i++)
        e |= attrib_buf_printf(sql, "%s%s = excluded.%s", i > t->nkey ? ", " : "", t->cols[i],
                               t->cols[i]);
    return e;
}

static const attrib_store_ops *const backends[] = {
    &attrib_store_pg,     /* postgresql:// and postgres:// URIs */
    &attrib_store_sqlite, /* last: takes any path */
    NULL,
};

int attrib_store_open(attrib_ctx *ctx, const char *target, unsigned flags, attrib_store **out)
{
    return attrib_store_open_with(ctx, target, flags, NULL, out);
}

int attrib_store_open_with(attrib_ctx *ctx, const char *target, unsigned flags,
                           const attrib_store_options *opts, attrib_store **out)
{
    static const attrib_store_options defaults = ATTRIB_STORE_OPTIONS_INIT;
    if (opts == NULL)
        opts = &defaults;
    attrib__enter(ctx);
    *out = NULL;
    if (target == NULL || target[0] == '\0')
        return attrib__error(
            ctx, ATTRIB_EINVAL,
            "empty database target (expected a SQLite path or a postgresql:// URI)");
    const attrib_store_ops *ops = NULL;
    for (size_t i = 0; backends[i] != NULL && ops == NULL; i++)
        if (backends[i]->accepts(target))
            ops = backends[i];
    if (ops == NULL)
        return attrib__error(ctx, ATTRIB_EINVAL,
                             "database target '%.200s' is not supported (use a SQLite path or a "
                             "postgresql:// URI)",
                             target);
    attrib_store *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory opening the store");
    /* a backend table entry without the calls every store needs */
    assert(ops->open != NULL && ops->close != NULL && ops->begin != NULL && ops->commit != NULL &&
           ops->rollback != NULL && ops->tables_exist != NULL);
    st->ops = ops;
    st->ctx = ctx;
    int rc = ops->open(ctx, target, flags, opts->busy_timeout_ms, &st->impl, &st->display);
    if (rc != ATTRIB_OK) {
        free(st->display);
        free(st);
        return attrib__leave(ctx, rc);
    }
    *out = st;
    return attrib__leave(ctx, ATTRIB_OK);
}

void attrib_store_close(attrib_store *st)
{
    if (st == NULL)
        return;
    if (st->in_tx)
        st->ops->rollback(st->impl);
    st->ops->close(st->impl);
    free(st->display);
    free(st);
}

const char *attrib_store_display(const attrib_store *st)
{
    return st->display != NULL ? st->display : "";
}

const char *attrib_store_kind(const attrib_store *st)
{
    return st->ops->name;
}

int attrib__store_begin(attrib_store *st)
{
    /* No nesting: e.g. the API result cache commits its batches before the
     * run's transaction begins, never inside it (steps/attribute.c). */
    assert(!st->in_tx);
    int rc = st->ops->begin(st->impl);
    if (rc == ATTRIB_OK)
        st->in_tx = true;
    return rc;
}

int attrib__store_commit(attrib_store *st)
{
    int rc = st->ops->commit(st->impl);
    if (rc == ATTRIB_OK)
        st->in_tx = false;
    return rc;
}

void attrib__store_rollback(attrib_store *st)
{
    if (st->in_tx)
        st->ops->rollback(st->impl);
    st->in_tx = false;
}

/* Skip what precedes the first line that starts with a CREATE statement (the
 * official schema file starts with a Python coding line and a docstring, whose
 * words may include "Created"). */
static const char *skip_preamble(const char *sql)
{
    const char *line = sql;
    while (*line != '\0') {
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "CREATE", 6) == 0 && (p[6] == ' ' || p[6] == '\t' || p[6] == '\n'))
            return p;
        const char *nl = strchr(line, '\n');
        if (nl == NULL)
            break;
        line = nl + 1;
    }
    return NULL;
}

static int store_init(attrib_store *st, const char *schema_sql, bool input_indexes)
{
    int rc = attrib__store_recover(st); /* a dead job's prepared rows hold their tables' locks */
    if (rc == ATTRIB_OK)
        rc = attrib__store_begin(st);
    if (rc != ATTRIB_OK)
        goto done;
    if (schema_sql != NULL) {
        const char *body = skip_preamble(schema_sql);
        if (body == NULL) {
            rc = attrib__error(st->ctx, ATTRIB_EPARSE,
                               "schema file has no CREATE statement; expected SQL like "
                               "challenge_db_create.sql");
            goto done;
        }
        unsigned line = 1;
        for (const char *c = schema_sql; c < body; c++)
            line += *c == '\n';
        rc = attrib__schema_run(st, body, line);
        if (rc != ATTRIB_OK)
            goto done;
    }
    rc = st->ops->init_schema(st->impl, input_indexes);
    if (rc != ATTRIB_OK)
        goto done;
    rc = attrib__store_commit(st);
done:
    if (rc != ATTRIB_OK)
        attrib__store_rollback(st);
    return rc;
}

int attrib_store_init(attrib_store *st, const char *schema_sql)
{
    attrib__enter(st->ctx);
    return attrib__leave(st->ctx, store_init(st, schema_sql, true));
}

int attrib_store_init_outputs(attrib_store *st)
{
    attrib__enter(st->ctx);
    return attrib__leave(st->ctx, store_init(st, NULL, false));
}

int attrib__store_index_inputs(attrib_store *st)
{
    bool have = false;
    int rc = st->ops->has_input_indexes(st->impl, &have);
    if (rc != ATTRIB_OK || have)
        return rc;
    attrib__progress(st->ctx, "indexing the input tables for ranged runs (once)", 0, 0);
    rc = store_init(st, NULL, true);
    /* Failed because another process built them at the same time (two
     * PostgreSQL sessions creating one index name): they are there now. */
    if (rc != ATTRIB_OK && rc != ATTRIB_ENOMEM && rc != ATTRIB_ECANCEL &&
        st->ops->has_input_indexes(st->impl, &have) == ATTRIB_OK && have) {
        attrib_clearerr(st->ctx);
        rc = ATTRIB_OK;
    }
    if (rc != ATTRIB_OK)
        attrib__error_prefix(st->ctx, "building the indexes a ranged run needs");
    return rc;
}

int attrib__sql_range(const attrib_store *st, attrib_buf *sql, attrib_value *params, int *n,
                      const attrib_scan *range, const char *col)
{
    int e = 0;
    if (range->start_date != NULL) {
        params[(*n)++] = attrib__text(range->start_date);
        e |= attrib_buf_printf(sql, " AND %s%s >= ?%d", col, st->ops->bytewise, *n);
    }
    if (range->end_date != NULL) {
        params[(*n)++] = attrib__text(range->end_date);
        e |= attrib_buf_printf(sql, " AND %s%s <= ?%d", col, st->ops->bytewise, *n);
    }
    return e;
}

int attrib_store_check(attrib_store *st, bool need_outputs)
{
    attrib__enter(st->ctx);
    static const char *const names[] = {"session_sources", "conversions", "session_costs",
                                        "attribution_customer_journey", "channel_reporting"};
    bool present[5] = {false};
    _Static_assert(sizeof(names) / sizeof(names[0]) == sizeof(present) / sizeof(present[0]),
                   "one presence flag per table");
    size_t n = need_outputs ? 5 : 3;
    int rc = st->ops->tables_exist(st->impl, names, n, present);
    if (rc != ATTRIB_OK)
        return attrib__leave(st->ctx, rc);
    attrib_buf missing = ATTRIB_BUF_INIT(512);
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        if (present[i])
            continue;
        if (attrib_buf_printf(&missing, "%s%s", count > 0 ? ", " : "", names[i]) != 0)
            break;
        count++;
    }
    if (count > 0) {
        bool inputs_missing = !present[0] || !present[1] || !present[2];
        rc =
            attrib__error(st->ctx, ATTRIB_ENOTFOUND, "%s: missing table%s %s; %s",
                          attrib_store_display(st), count > 1 ? "s" : "", attrib_buf_cstr(&missing),
                          inputs_missing ? "load the input tables (or run `attrib gen`) and "
                                           "run `attrib init`"
                                         : "run `attrib init` first");
    }
    attrib_buf_free(&missing);
    return attrib__leave(st->ctx, rc);
}

static int any_row(const attrib_value *cols, void *payload)
{
    (void)cols;
    *(bool *)payload = true;
    return ATTRIB_OK;
}

int attrib_store_has_input(attrib_store *st, bool *out)
{
    attrib__enter(st->ctx);
    static const char *const names[] = {"session_sources", "conversions", "session_costs"};
    bool present[3] = {false};
    *out = false;
    int rc = st->ops->tables_exist(st->impl, names, 3, present);
    for (size_t i = 0; i < 3 && rc == ATTRIB_OK && !*out; i++) {
        if (!present[i])
            continue;
        {
            char sql[96];
            snprintf(sql, sizeof(sql), "SELECT 1 FROM %s LIMIT 1", names[i]);
            rc = st->ops->query(st->impl, sql, NULL, 0, 1, any_row, out, names[i]);
        }
    }
    return attrib__leave(st->ctx, rc);
}

const char *attrib__value_repr(const attrib_value *v, char *buf, size_t size)
{
    switch (v->type) {
    case ATTRIB_V_NULL:
        snprintf(buf, size, "NULL");
        break;
    case ATTRIB_V_INT:
        snprintf(buf, size, "%lld", (long long)v->i);
        break;
    case ATTRIB_V_REAL:
        snprintf(buf, size, "%.17g", v->r);
        break;
    case ATTRIB_V_TEXT: {
        /* Shown as is when it is clean text; else NUL, control and non-UTF-8
         * bytes as \xNN, so the message itself stays one valid line. */
        bool plain = attrib_utf8_valid(v->s, v->len);
        for (size_t i = 0; plain && i < v->len; i++)
            plain = (unsigned char)v->s[i] >= 0x20 && v->s[i] != 0x7f;
        if (plain) {
            snprintf(buf, size, "'%.*s'%s", (int)(v->len > 60 ? 60 : v->len), v->s,
                     v->len > 60 ? "..." : "");
            break;
        }
        size_t k = 0;
        if (size < 8)
            break;
        buf[k++] = '\'';
        for (size_t i = 0; i < v->len && k + 8 < size; i++) {
            unsigned char c = (unsigned char)v->s[i];
            if (c >= 0x20 && c < 0x7f)
                buf[k++] = (char)c;
            else
                k += (size_t)snprintf(buf + k, size - k, "\\x%02x", c);
        }
        buf[k++] = '\'';
        buf[k] = '\0';
        break;
    }
    }
    return buf;
}
