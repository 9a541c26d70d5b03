/*
 * The PostgreSQL backend of the store (libpq). Same tables, same semantics
 * and the same values as the SQLite backend (store_sqlite.c is the
 * reference), done the way PostgreSQL wants it:
 * - every value is a bound parameter (selections as text[] arrays), never
 *   spliced into SQL; exec/query take the shared spelling (?N, store.h);
 * - reads stream in single-row mode: memory does not grow with the table;
 * - bulk writes go through COPY FROM STDIN (text format, escaped);
 * - dates compare with COLLATE "C", i.e. bytewise like SQLite, whatever the
 *   database's collation, and the date indexes are built in that collation;
 * - floats are double precision and travel exactly (shortest round-trip
 *   text with extra_float_digits=3, "%.17g" on the way in);
 * - the schema is chosen by the URI query parameter schema=NAME (attrib's,
 *   removed before libpq sees the URI) or libpq's own options=-csearch_path=..;
 * - a lost connection (server restart, network) is reported as such, with
 *   the target shown without its password; the caller's transaction makes
 *   sure nothing is half-written.
 */
#include "lib/store/costidx.h"
#include "lib/store/store.h"

#include "util/buf.h"
#include "util/ts.h"

#include <assert.h>
#include <errno.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Type OIDs (pg_type.dat; stable across versions). */
#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

#define COPY_CHUNK 65536
#define MAX_PARAMS 6

typedef struct {
    PGconn *conn;
    attrib_ctx *ctx;
    const char *disp;  /* printable target (owned by the store) */
    char *rebuild_acj; /* CREATE INDEX to run before the commit (pg_delete_attribution) */
} pg_store;

/* Bound parameters of one statement. */
typedef struct {
    const char *v[MAX_PARAMS];
    int n;
    attrib_buf arr[2]; /* text[] literals of users / dates */
} params;

static bool pg_accepts(const char *target)
{
    return strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0;
}

/* ---- errors ---- */

/* One line of a libpq message: newlines and the "ERROR:  " prefix folded. */
static void one_line(const char *msg, char *out, size_t size)
{
    size_t o = 0;
    bool space = false;
    for (const char *p = msg != NULL ? msg : ""; *p != '\0' && o + 1 < size; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t' || *p == ' ') {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < size) {
            out[o++] = ' ';
        }
        space = false;
        out[o++] = *p;
    }
    out[o] = '\0';
}

static bool conn_lost(pg_store *s, const PGresult *res)
{
    if (PQstatus(s->conn) == CONNECTION_BAD)
        return true;
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    /* 08: connection exception; 57P01..03: admin shutdown, crash shutdown, cannot connect now. */
    return state != NULL && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0);
}

/* Record the failure of `what` (res may be NULL). */
static int pg_fail(pg_store *s, const PGresult *res, const char *what)
{
    char msg[600];
    const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    one_line(primary != NULL ? primary : PQerrorMessage(s->conn), msg, sizeof(msg));
    if (conn_lost(s, res))
        return attrib__error(s->ctx, ATTRIB_EDB,
                             "connection to %s lost during %s (%s); nothing was written, rerun "
                             "the step",
                             s->disp, what, msg);
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *detail = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *context = res != NULL ? PQresultErrorField(res, PG_DIAG_CONTEXT) : NULL;
    char det[300] = "", ctxt[200] = "";
    if (detail != NULL)
        one_line(detail, det, sizeof(det));
    if (context != NULL && strncmp(context, "COPY ", 5) == 0) /* names the row and column */
        one_line(context, ctxt, sizeof(ctxt));
    int code = ATTRIB_EDB;
    if (state != NULL && strcmp(state, "42P01") == 0)
        code = ATTRIB_ENOTFOUND; /* undefined_table */
    else if (state != NULL && strncmp(state, "28", 2) == 0)
        code = ATTRIB_EAUTH;
    else if (state != NULL && strcmp(state, "53200") == 0)
        code = ATTRIB_ENOMEM;
    return attrib__error(s->ctx, code, "%s: %s: %s%s%s%s%s%s", s->disp, what, msg,
                         det[0] != '\0' ? " " : "", det, ctxt[0] != '\0' ? " (" : "", ctxt,
                         ctxt[0] != '\0' ? ")" : "");
}

static int oom(pg_store *s)
{
    return attrib__error(s->ctx, ATTRIB_ENOMEM, "%s: out of memory", s->disp);
}

/* ---- statements ---- */

static bool result_ok(const PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* Run one statement (or a script without parameters); no rows expected. */
static int exec_params(pg_store *s, const char *sql, const params *p, const char *what)
{
    PGresult *res = p != NULL && p->n > 0
                        ? PQexecParams(s->conn, sql, p->n, NULL, p->v, NULL, NULL, 0)
                        : PQexec(s->conn, sql);
    int rc = ATTRIB_OK;
    if (res == NULL || !result_ok(res))
        rc = pg_fail(s, res, what);
    PQclear(res);
    return rc;
}

static int exec(pg_store *s, const char *sql, const char *what)
{
    return exec_params(s, sql, NULL, what);
}

static void params_free(params *p)
{
    attrib_buf_free(&p->arr[0]);
    attrib_buf_free(&p->arr[1]);
}

/* A text[] literal of keys: {"a","b\"c"}. */
static int array_literal(attrib_buf *b, const char *const *keys, size_t n)
{
    int e = attrib_buf_addc(b, '{');
    for (size_t i = 0; i < n && e == 0; i++) {
        if (i > 0)
            e |= attrib_buf_addc(b, ',');
        e |= attrib_buf_addc(b, '"');
        for (const char *k = keys[i]; *k != '\0' && e == 0; k++) {
            if (*k == '"' || *k == '\\')
                e |= attrib_buf_addc(b, '\\');
            e |= attrib_buf_addc(b, *k);
        }
        e |= attrib_buf_addc(b, '"');
    }
    e |= attrib_buf_addc(b, '}');
    return e;
}

/* Bind a parameter; returns its number ($n). */
static int bind(params *p, const char *v)
{
    p->v[p->n] = v;
    return ++p->n;
}

/*
 * Append " AND ..." for a selection: the range on date_col (bytewise, like
 * SQLite), users and dates as bound arrays.
 */
static int where_clause(pg_store *s, attrib_buf *sql, params *p, const attrib_scan *sel,
                        const char *date_col, const char *user_col)
{
    int e = attrib_buf_adds(sql, " WHERE true");
    if (sel != NULL && date_col != NULL) {
        if (sel->start_date != NULL)
            e |= attrib_buf_printf(sql, " AND %s COLLATE \"C\" >= $%d", date_col,
                                   bind(p, sel->start_date));
        if (sel->end_date != NULL)
            e |= attrib_buf_printf(sql, " AND %s COLLATE \"C\" <= $%d", date_col,
                                   bind(p, sel->end_date));
        if (sel->dates != NULL) {
            e |= array_literal(&p->arr[1], sel->dates, sel->n_dates);
            e |= attrib_buf_printf(sql, " AND %s COLLATE \"C\" = ANY($%d::text[])", date_col,
                                   bind(p, attrib_buf_cstr(&p->arr[1])));
        }
    }
    if (sel != NULL && user_col != NULL && sel->users != NULL) {
        e |= array_literal(&p->arr[0], sel->users, sel->n_users);
        e |= attrib_buf_printf(sql, " AND %s = ANY($%d::text[])", user_col,
                               bind(p, attrib_buf_cstr(&p->arr[0])));
    }
    return e != 0 || attrib_buf_failed(sql) ? oom(s) : ATTRIB_OK;
}

/* A value of type `type` (NUL-terminated text of len bytes, or NULL) as the
 * SQLite backend would give it; `name` is the column's, for messages. */
static int value_of(pg_store *s, const char *text, size_t len, Oid type, const char *name,
                    attrib_value *v)
{
    memset(v, 0, sizeof(*v));
    if (text == NULL) {
        v->type = ATTRIB_V_NULL;
        return ATTRIB_OK;
    }
    char *end = NULL;
    switch (type) {
    case OID_BOOL:
        v->type = ATTRIB_V_INT;
        v->i = text[0] == 't';
        return ATTRIB_OK;
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
        v->type = ATTRIB_V_INT;
        errno = 0;
        v->i = strtoll(text, &end, 10);
        break;
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC:
        v->type = ATTRIB_V_REAL;
        errno = 0;
        v->r = strtod(text, &end); /* "NaN", "Infinity", "-Infinity" included */
        if (errno == ERANGE)
            errno = 0; /* numeric beyond double: inf/0 like SQLite's conversion */
        break;
    default:
        v->type = ATTRIB_V_TEXT;
        v->s = text;
        v->len = len;
        return ATTRIB_OK;
    }
    if (end == text || *end != '\0' || errno != 0)
        return attrib__error(s->ctx, ATTRIB_EDB, "%s: unreadable number '%.40s' in column %s",
                             s->disp, text, name);
    return ATTRIB_OK;
}

/* One column of a result row as the SQLite backend would give it. */
static int column_value(pg_store *s, const PGresult *res, int col, attrib_value *v)
{
    return value_of(s, PQgetisnull(res, 0, col) ? NULL : PQgetvalue(res, 0, col),
                    (size_t)PQgetlength(res, 0, col), PQftype(res, col), PQfname(res, col), v);
}

/* Stop a running query and swallow what is left of it. In a transaction
 * block the query is not cancelled, only read to its end: a cancel that
 * reaches the server before the query ends aborts the transaction, and the
 * caller that stopped reading (a rerun's comparison of the stored rows, which
 * stops at the first row that differs) goes on writing in it. */
static void abandon(pg_store *s, bool in_block)
{
    PGcancel *c = in_block ? NULL : PQgetCancel(s->conn);
    if (c != NULL) {
        char err[256];
        PQcancel(c, err, sizeof(err));
        PQfreeCancel(c);
    }
    PGresult *res;
    while ((res = PQgetResult(s->conn)) != NULL)
        PQclear(res);
}

/* Run a query with n text parameters and stream its rows (ncols values each) to fn, one
 * row in memory at a time. */
static int run_query_v(pg_store *s, const char *sql, const char *const *v, int n, int ncols,
                       attrib_row_fn fn, void *payload, const char *what)
{
    attrib_value vals[16];
    int rc = ATTRIB_OK;
    bool in_block = PQtransactionStatus(s->conn) == PQTRANS_INTRANS;
    if (!PQsendQueryParams(s->conn, sql, n, NULL, v, NULL, NULL, 0))
        return pg_fail(s, NULL, what);
    if (!PQsetSingleRowMode(s->conn)) {
        abandon(s, in_block);
        return pg_fail(s, NULL, what);
    }
    PGresult *res;
    while ((res = PQgetResult(s->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_SINGLE_TUPLE && rc == ATTRIB_OK) {
            if (PQnfields(res) < ncols) {
                rc = attrib__error(s->ctx, ATTRIB_EDB, "%s: %s: %d columns, expected %d", s->disp,
                                   what, PQnfields(res), ncols);
            } else {
                for (int i = 0; i < ncols && rc == ATTRIB_OK; i++)
                    rc = column_value(s, res, i, &vals[i]);
                if (rc == ATTRIB_OK)
                    rc = fn(vals, payload);
            }
            if (rc != ATTRIB_OK) {
                PQclear(res);
                abandon(s, in_block);
                return rc;
            }
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && rc == ATTRIB_OK) {
            rc = pg_fail(s, res, what);
        }
        PQclear(res);
    }
    if (rc == ATTRIB_OK && PQstatus(s->conn) == CONNECTION_BAD)
        rc = pg_fail(s, NULL, what);
    return rc;
}

static int run_query(pg_store *s, const char *sql, const params *p, int ncols, attrib_row_fn fn,
                     void *payload, const char *what)
{
    return run_query_v(s, sql, p != NULL ? p->v : NULL, p != NULL ? p->n : 0, ncols, fn, payload,
                       what);
}

/* Undo COPY's text escaping of the field f[0..n) in place; its length. */
static size_t unescape(char *f, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = f[i];
        if (c == '\\' && i + 1 < n) {
            c = f[++i];
            switch (c) {
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'v':
                c = '\v';
                break;
            default:
                break; /* \\ and anything else: the character itself */
            }
        }
        f[o++] = c;
    }
    return o;
}

/* Stop a COPY TO STDOUT midway: cancel it (outside a transaction block, as
 * abandon) and swallow what is left. */
static void copy_out_abandon(pg_store *s, bool in_block)
{
    PGcancel *c = in_block ? NULL : PQgetCancel(s->conn);
    if (c != NULL) {
        char err[256];
        PQcancel(c, err, sizeof(err));
        PQfreeCancel(c);
    }
    char *row;
    int n;
    while ((n = PQgetCopyData(s->conn, &row, 0)) >= 0)
        PQfreemem(row);
    PGresult *res;
    while ((res = PQgetResult(s->conn)) != NULL)
        PQclear(res);
}

/*
 * A query without parameters read through COPY (query) TO STDOUT: a buffer per
 * row with no per-value bookkeeping (for a full scan about twice as fast as
 * single-row mode, docs/pipeline.md). Rows are handed over COPY_BATCH at a
 * time, their values pointing into libpq's row buffers until the batch is
 * done, so a caller can overlap work across rows (the cost lookups prefetch).
 * When every column is of a type whose binary form is read here exactly as
 * its text (bool, int2/4/8, float8, text, varchar, char, name), the binary
 * format is asked for: less work on both sides (no number formatting and
 * parsing, no escapes); any other type reads the text format.
 */
#define COPY_BATCH 32
#define COPY_MAX_COLS 16
#define OID_NAME 19
#define OID_TEXT 25
#define OID_BPCHAR 1042
#define OID_VARCHAR 1043

/* rows: n rows of `stride` values (the query's columns first; the rest the
 * callback's to fill). */
typedef int (*copy_batch_fn)(attrib_value *rows, int n, void *payload);

typedef struct {
    pg_store *s;
    const char *what;
    int ncols, stride;
    bool binary, header; /* binary: its header read */
    Oid types[COPY_MAX_COLS];
    char names[COPY_MAX_COLS][64];
    attrib_value *vals;     /* cap_rows rows of stride values */
    char *held[COPY_BATCH]; /* libpq's buffers behind the batch's rows */
    int n_held, n_rows, cap_rows;
} copy_reader;

static bool binary_type(Oid t)
{
    switch (t) {
    case OID_BOOL:
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_FLOAT8:
    case OID_NAME:
    case OID_TEXT:
    case OID_BPCHAR:
    case OID_VARCHAR:
        return true;
    default:
        return false; /* float4: its text is shortest for a float, read as a double */
    }
}

static int copy_short(copy_reader *r)
{
    return attrib__error(r->s->ctx, ATTRIB_EDB, "%s: %s: a row of fewer than %d columns",
                         r->s->disp, r->what, r->ncols);
}

/* One text-format row (tabs between fields, \N for NULL) into v. */
static int parse_text_row(copy_reader *r, char *row, int n, attrib_value *v)
{
    char *p = row, *end = row + n;
    if (end > p && end[-1] == '\n')
        *--end = '\0';
    for (int i = 0; i < r->ncols; i++) {
        char *f = p;
        while (p < end && *p != '\t')
            p++;
        if (p == end && i + 1 < r->ncols)
            return copy_short(r);
        *p++ = '\0';
        size_t len = (size_t)(p - 1 - f);
        bool null = len == 2 && f[0] == '\\' && f[1] == 'N';
        if (!null && memchr(f, '\\', len) != NULL) {
            len = unescape(f, len);
            f[len] = '\0';
        }
        int rc = value_of(r->s, null ? NULL : f, len, r->types[i], r->names[i], &v[i]);
        if (rc != ATTRIB_OK)
            return rc;
    }
    return ATTRIB_OK;
}

static uint64_t be_uint(const unsigned char *p, int bytes)
{
    uint64_t x = 0;
    for (int i = 0; i < bytes; i++)
        x = x << 8 | p[i];
    return x;
}

/* One binary field of type t (len bytes at p, len -1 for NULL) into v; its
 * text values end with the NUL the caller writes behind them. */
static int binary_value(copy_reader *r, int col, const unsigned char *p, int32_t len,
                        attrib_value *v)
{
    memset(v, 0, sizeof(*v));
    if (len < 0) {
        v->type = ATTRIB_V_NULL;
        return ATTRIB_OK;
    }
    int want = 0;
    switch (r->types[col]) {
    case OID_BOOL:
        want = 1;
        v->type = ATTRIB_V_INT;
        v->i = len == 1 && p[0] != 0;
        break;
    case OID_INT2:
        want = 2;
        v->type = ATTRIB_V_INT;
        v->i = len == 2 ? (int16_t)be_uint(p, 2) : 0;
        break;
    case OID_INT4:
        want = 4;
        v->type = ATTRIB_V_INT;
        v->i = len == 4 ? (int32_t)be_uint(p, 4) : 0;
        break;
    case OID_INT8:
        want = 8;
        v->type = ATTRIB_V_INT;
        v->i = len == 8 ? (int64_t)be_uint(p, 8) : 0;
        break;
    case OID_FLOAT8:
        want = 8;
        v->type = ATTRIB_V_REAL;
        if (len == 8) {
            uint64_t bits = be_uint(p, 8);
            memcpy(&v->r, &bits, sizeof(v->r));
            if (isnan(v->r))
                v->r = NAN; /* as strtod reads the text "NaN" */
        }
        break;
    default:
        v->type = ATTRIB_V_TEXT;
        v->s = (const char *)p;
        v->len = (size_t)len;
        return ATTRIB_OK;
    }
    if (len != want)
        return attrib__error(r->s->ctx, ATTRIB_EDB, "%s: %s: a value of %d bytes in column %s",
                             r->s->disp, r->what, (int)len, r->names[col]);
    return ATTRIB_OK;
}

/* Room for one more row in the batch; its values. NULL when out of memory. */
static attrib_value *copy_row(copy_reader *r)
{
    if (r->n_rows == r->cap_rows) {
        int cap = r->cap_rows * 2;
        attrib_value *v = realloc(r->vals, (size_t)cap * (size_t)r->stride * sizeof(*v));
        if (v == NULL)
            return NULL;
        r->vals = v;
        r->cap_rows = cap;
    }
    return r->vals + (size_t)r->n_rows * (size_t)r->stride;
}

/*
 * The rows of one binary COPY message (the first one starts with the file
 * header; then tuples: a 16-bit field count, each field a 32-bit length and
 * its bytes; a count of -1 ends the data). Each text value gets a NUL behind
 * it, written over the header of what follows once that header is read (libpq
 * ends each message with one). *done: the trailer was seen.
 */
static int parse_binary(copy_reader *r, unsigned char *p, int n, bool *done)
{
    static const unsigned char sig[11] = "PGCOPY\n\377\r\n";
    unsigned char *end = p + n;
    if (!r->header) {
        if (n < 19 || memcmp(p, sig, 11) != 0 || be_uint(p + 15, 4) > (uint64_t)(n - 19))
            return attrib__error(r->s->ctx, ATTRIB_EDB, "%s: %s: not a binary COPY header",
                                 r->s->disp, r->what);
        p += 19 + be_uint(p + 15, 4);
        r->header = true;
    }
    if (p == end)
        return ATTRIB_OK;
    if (end - p < 2)
        return copy_short(r);
    int count = (int16_t)be_uint(p, 2);
    p += 2;
    for (;;) {
        if (count == -1) {
            *done = true;
            return p == end ? ATTRIB_OK
                            : attrib__error(r->s->ctx, ATTRIB_EDB,
                                            "%s: %s: data after the end of the COPY", r->s->disp,
                                            r->what);
        }
        if (count < r->ncols)
            return copy_short(r);
        attrib_value *v = copy_row(r);
        if (v == NULL)
            return oom(r->s);
        unsigned char *nul[COPY_MAX_COLS];
        int n_nul = 0;
        for (int i = 0; i < count; i++) {
            if (end - p < 4)
                return copy_short(r);
            int32_t len = (int32_t)be_uint(p, 4);
            p += 4;
            if (len > end - p)
                return copy_short(r);
            if (i < r->ncols) {
                int rc = binary_value(r, i, p, len, &v[i]);
                if (rc != ATTRIB_OK)
                    return rc;
                if (len >= 0 && v[i].type == ATTRIB_V_TEXT)
                    nul[n_nul++] = p + len;
            }
            p += len > 0 ? len : 0;
        }
        r->n_rows++;
        bool last = p == end;
        if (!last) { /* another tuple, or the trailer, in the same message */
            if (end - p < 2)
                return copy_short(r);
            count = (int16_t)be_uint(p, 2);
            p += 2;
        }
        for (int k = 0; k < n_nul; k++)
            *nul[k] = '\0';
        if (last)
            return ATTRIB_OK;
    }
}

static void copy_release(copy_reader *r)
{
    for (int i = 0; i < r->n_held; i++)
        PQfreemem(r->held[i]);
    r->n_held = r->n_rows = 0;
}

static int run_copy_batches(pg_store *s, const char *sql, int ncols, int stride, copy_batch_fn fn,
                            void *payload, const char *what)
{
    copy_reader *r = calloc(1, sizeof(*r));
    attrib_buf copy = ATTRIB_BUF_INIT(0);
    PGresult *res = NULL;
    int rc = ATTRIB_OK;
    bool in_block = PQtransactionStatus(s->conn) == PQTRANS_INTRANS;
    assert(ncols <= stride && stride <= 16);
    if (r == NULL)
        return oom(s);
    *r = (copy_reader){.s = s, .what = what, .ncols = ncols, .stride = stride, .binary = true};
    r->cap_rows = COPY_BATCH;
    r->vals = malloc((size_t)COPY_BATCH * (size_t)stride * sizeof(*r->vals));
    if (r->vals == NULL) {
        free(r);
        return oom(s);
    }
    /* The columns' types, from a description of the query (nothing runs). */
    res = PQprepare(s->conn, "", sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = pg_fail(s, res, what);
        goto done;
    }
    PQclear(res);
    res = PQdescribePrepared(s->conn, "");
    if (PQresultStatus(res) != PGRES_COMMAND_OK || PQnfields(res) < ncols) {
        rc = PQresultStatus(res) != PGRES_COMMAND_OK
                 ? pg_fail(s, res, what)
                 : attrib__error(s->ctx, ATTRIB_EDB, "%s: %s: %d columns, expected %d", s->disp,
                                 what, PQnfields(res), ncols);
        goto done;
    }
    for (int i = 0; i < ncols; i++) {
        r->types[i] = PQftype(res, i);
        r->binary = r->binary && binary_type(r->types[i]);
        snprintf(r->names[i], sizeof(r->names[i]), "%s", PQfname(res, i));
    }
    PQclear(res);
    res = NULL;
    if (attrib_buf_printf(&copy, "COPY (%s) TO STDOUT%s", sql,
                          r->binary ? " (FORMAT binary)" : "") != 0) {
        rc = oom(s);
        goto done;
    }
    res = PQexec(s->conn, attrib_buf_cstr(&copy));
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        rc = pg_fail(s, res, what);
        goto done;
    }
    PQclear(res);
    res = NULL;
    bool more = true, trailer = false;
    while (more && rc == ATTRIB_OK) {
        /* Up to COPY_BATCH rows, then the callback. */
        while (rc == ATTRIB_OK) {
            char *row = NULL;
            int n = PQgetCopyData(s->conn, &row, 0);
            if (n < 0) {
                more = false;
                break;
            }
            r->held[r->n_held++] = row;
            if (!r->binary) {
                attrib_value *v = copy_row(r);
                rc = v == NULL ? oom(s) : parse_text_row(r, row, n, v);
                r->n_rows += rc == ATTRIB_OK;
            } else if (trailer) {
                rc = attrib__error(s->ctx, ATTRIB_EDB, "%s: %s: data after the end of the COPY",
                                   s->disp, what);
            } else {
                rc = parse_binary(r, (unsigned char *)row, n, &trailer);
            }
            if (r->n_held == COPY_BATCH)
                break; /* every buffer held: deliver what they hold */
        }
        if (rc == ATTRIB_OK && r->n_rows > 0)
            rc = fn(r->vals, r->n_rows, payload);
        copy_release(r);
    }
    if (rc != ATTRIB_OK) {
        copy_out_abandon(s, in_block);
        goto done;
    }
    while ((res = PQgetResult(s->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == ATTRIB_OK)
            rc = pg_fail(s, res, what);
        PQclear(res);
    }
    if (rc == ATTRIB_OK && r->binary && !trailer)
        rc = attrib__error(s->ctx, ATTRIB_EDB, "%s: %s: the COPY ended without its trailer",
                           s->disp, what);
    if (rc == ATTRIB_OK && PQstatus(s->conn) == CONNECTION_BAD)
        rc = pg_fail(s, NULL, what);
done:
    copy_release(r);
    PQclear(res);
    attrib_buf_free(&copy);
    free(r->vals);
    free(r);
    return rc;
}

/* run_copy_out's rows one at a time to the caller's fn. */
typedef struct {
    attrib_row_fn fn;
    void *payload;
    int stride;
} copy_rows;

static int copy_each(attrib_value *rows, int n, void *payload)
{
    copy_rows *c = payload;
    int rc = ATTRIB_OK;
    for (int i = 0; i < n && rc == ATTRIB_OK; i++)
        rc = c->fn(rows + (size_t)i * (size_t)c->stride, c->payload);
    return rc;
}

/* Stream the rows of a query without parameters (ncols values each, typed as
 * the query's columns) to fn through COPY. */
static int run_copy_out(pg_store *s, const char *sql, int ncols, attrib_row_fn fn, void *payload,
                        const char *what)
{
    copy_rows c = {fn, payload, ncols};
    return run_copy_batches(s, sql, ncols, ncols, copy_each, &c, what);
}

/* ---- COPY ---- */

typedef struct {
    pg_store *s;
    attrib_buf buf;
    const char *what;
    bool open;
} copier;

static int copy_begin(copier *c, pg_store *s, const char *sql, const char *what)
{
    memset(c, 0, sizeof(*c));
    c->s = s;
    c->what = what;
    PGresult *res = PQexec(s->conn, sql);
    int rc = ATTRIB_OK;
    if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN)
        rc = pg_fail(s, res, what);
    else
        c->open = true;
    PQclear(res);
    return rc;
}

static int copy_flush(copier *c)
{
    if (c->buf.len == 0)
        return ATTRIB_OK;
    if (PQputCopyData(c->s->conn, c->buf.data, (int)c->buf.len) != 1)
        return pg_fail(c->s, NULL, c->what);
    attrib_buf_reset(&c->buf);
    return ATTRIB_OK;
}

/* End the COPY: with rc != OK it is aborted (the caller's transaction then fails). */
static int copy_end(copier *c, int rc)
{
    if (c->open) {
        if (rc == ATTRIB_OK)
            rc = copy_flush(c);
        int end = PQputCopyEnd(c->s->conn, rc == ATTRIB_OK ? NULL : "attrib: aborted");
        PGresult *res;
        bool failed = false;
        while ((res = PQgetResult(c->s->conn)) != NULL) {
            if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == ATTRIB_OK && !failed) {
                rc = pg_fail(c->s, res, c->what);
                failed = true;
            }
            PQclear(res);
        }
        if (rc == ATTRIB_OK && end != 1)
            rc = pg_fail(c->s, NULL, c->what);
    }
    attrib_buf_free(&c->buf);
    return rc;
}

static int put_text(attrib_buf *b, const char *s, size_t len)
{
    int e = 0;
    size_t run = 0; /* bytes copied as they are */
    for (size_t i = 0; i < len && e == 0; i++) {
        char esc = 0;
        switch (s[i]) {
        case '\\':
            esc = '\\';
            break;
        case '\n':
            esc = 'n';
            break;
        case '\r':
            esc = 'r';
            break;
        case '\t':
            esc = 't';
            break;
        default:
            continue;
        }
        e |= attrib_buf_add(b, s + run, i - run);
        e |= attrib_buf_addc(b, '\\');
        e |= attrib_buf_addc(b, esc);
        run = i + 1;
    }
    e |= attrib_buf_add(b, s + run, len - run);
    return e;
}

static int put_double(attrib_buf *b, double d)
{
    if (isnan(d))
        return attrib_buf_adds(b, "NaN");
    if (isinf(d))
        return attrib_buf_adds(b, d > 0 ? "Infinity" : "-Infinity");
    return attrib_buf_printf(b, "%.17g", d);
}

/* Encode one value for a column of the given kind. A value PostgreSQL's typed
 * column would silently convert (text in a number column, 1.5 in an integer
 * column) is refused: SQLite keeps such values as they are, and attrib rejects
 * or reads them differently, so converting would change results. */
static int put_value(copier *c, const attrib_value *v, attrib_col_kind kind, const char *table,
                     const char *column, const attrib_value *id)
{
    attrib_buf *b = &c->buf;
    int e = 0;
    bool bad = false;
    switch (v->type) {
    case ATTRIB_V_NULL:
        e = attrib_buf_adds(b, "\\N");
        break;
    case ATTRIB_V_INT:
        e = attrib_buf_printf(b, "%lld", (long long)v->i);
        break;
    case ATTRIB_V_REAL:
        if (kind == ATTRIB_COL_TEXT) {
            bad = true; /* only an untyped SQLite column holds a float where text belongs */
        } else if (kind == ATTRIB_COL_INT) {
            if (v->r != floor(v->r) || fabs(v->r) > 9.2e18)
                bad = true;
            else
                e = attrib_buf_printf(b, "%lld", (long long)v->r);
        } else {
            e = put_double(b, v->r);
        }
        break;
    case ATTRIB_V_TEXT:
        if (kind != ATTRIB_COL_TEXT || memchr(v->s, '\0', v->len) != NULL)
            bad = true;
        else
            e = put_text(b, v->s, v->len);
        break;
    }
    if (bad) {
        char repr[96], idr[96];
        return attrib__error(c->s->ctx, ATTRIB_EDATA,
                             "%s row %s: column %s: value %s cannot be stored in %s's %s column "
                             "without changing it; fix the row",
                             table, attrib__value_repr(id, idr, sizeof(idr)), column,
                             attrib__value_repr(v, repr, sizeof(repr)), c->s->disp,
                             kind == ATTRIB_COL_INT    ? "integer"
                             : kind == ATTRIB_COL_TEXT ? "text"
                                                       : "double precision");
    }
    return e != 0 ? oom(c->s) : ATTRIB_OK;
}

/* COPY n_rows rows of t's columns into `into` (t's table, or a temp table like it). */
static int copy_values(pg_store *s, const attrib_table *t, const char *into,
                       const attrib_value *rows, size_t n_rows)
{
    char what[96];
    snprintf(what, sizeof(what), "writing %s", t->name);
    int ncols = t->ncols;
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    int e = attrib_buf_printf(&sql, "COPY %s (", into);
    for (int i = 0; i < ncols; i++)
        e |= attrib_buf_printf(&sql, "%s%s", i > 0 ? ", " : "", t->cols[i]);
    e |= attrib_buf_adds(&sql, ") FROM STDIN");
    if (e != 0) {
        attrib_buf_free(&sql);
        return oom(s);
    }
    copier c;
    int rc = copy_begin(&c, s, attrib_buf_cstr(&sql), what);
    attrib_buf_free(&sql);
    for (size_t r = 0; r < n_rows && rc == ATTRIB_OK; r++) {
        const attrib_value *row = rows + r * (size_t)ncols;
        for (int i = 0; i < ncols && rc == ATTRIB_OK; i++) {
            if (i > 0 && attrib_buf_addc(&c.buf, '\t') != 0)
                rc = oom(s);
            if (rc == ATTRIB_OK)
                rc = put_value(&c, &row[i], t->kinds[i], t->name, t->cols[i], &row[0]);
        }
        if (rc == ATTRIB_OK && attrib_buf_addc(&c.buf, '\n') != 0)
            rc = oom(s);
        if (rc == ATTRIB_OK && c.buf.len >= COPY_CHUNK)
            rc = copy_flush(&c);
    }
    return copy_end(&c, rc);
}

/* ---- open / close ---- */

static void on_notice(void *arg, const char *message)
{
    pg_store *s = arg;
    char line[400];
    one_line(message, line, sizeof(line));
    ATTRIB_LOG(s->ctx, ATTRIB_LOG_DEBUG, "%s: %s", s->disp, line);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

/* Decode %XX in a URI component. */
static char *uri_decode(const char *p, size_t n)
{
    char *out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi = i + 2 < n && p[i] == '%' ? hexval(p[i + 1]) : -1;
        int lo = hi >= 0 ? hexval(p[i + 2]) : -1;
        if (hi >= 0 && lo >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = p[i];
        }
    }
    out[o] = '\0';
    return out;
}

/*
 * Split the target into the URI for libpq (without attrib's schema=NAME), the
 * schema, and the display form (no password in the user info, no password=
 * parameter).
 */
static int parse_target(const char *target, char **conninfo, char **schema, char **display)
{
    size_t n = strlen(target);
    attrib_buf ci = ATTRIB_BUF_INIT(0), disp = ATTRIB_BUF_INIT(0);
    *conninfo = *schema = *display = NULL;
    const char *q = strchr(target, '?');
    size_t base_len = q != NULL ? (size_t)(q - target) : n;
    int e = attrib_buf_add(&ci, target, base_len);
    /* Display: drop ":password" of the user info. */
    const char *auth = strstr(target, "://");
    auth = auth != NULL ? auth + 3 : target;
    const char *slash = memchr(auth, '/', (size_t)(target + base_len - auth));
    const char *host_end = slash != NULL ? slash : target + base_len;
    const char *at = NULL;
    for (const char *p = auth; p < host_end; p++)
        if (*p == '@')
            at = p;
    if (at != NULL) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        e |= attrib_buf_add(&disp, target, (size_t)((colon != NULL ? colon : at) - target));
        e |= attrib_buf_add(&disp, at, (size_t)(target + base_len - at));
    } else {
        e |= attrib_buf_add(&disp, target, base_len);
    }
    char sep_ci = '?', sep_disp = '?';
    for (const char *p = q != NULL ? q + 1 : NULL; p != NULL && *p != '\0';) {
        const char *amp = strchr(p, '&');
        size_t len = amp != NULL ? (size_t)(amp - p) : strlen(p);
        if (len >= 7 && strncmp(p, "schema=", 7) == 0) {
            free(*schema);
            *schema = uri_decode(p + 7, len - 7);
            if (*schema == NULL)
                e = -1;
            e |= attrib_buf_addc(&disp, sep_disp);
            e |= attrib_buf_add(&disp, p, len);
            sep_disp = '&';
        } else if (len > 0) {
            e |= attrib_buf_addc(&ci, sep_ci);
            e |= attrib_buf_add(&ci, p, len);
            sep_ci = '&';
            if (!(len >= 9 && strncmp(p, "password=", 9) == 0)) {
                e |= attrib_buf_addc(&disp, sep_disp);
                e |= attrib_buf_add(&disp, p, len);
                sep_disp = '&';
            }
        }
        p = amp != NULL ? amp + 1 : NULL;
    }
    if (e != 0 || attrib_buf_failed(&ci) || attrib_buf_failed(&disp)) {
        attrib_buf_free(&ci);
        attrib_buf_free(&disp);
        free(*schema);
        *schema = NULL;
        return ATTRIB_ENOMEM;
    }
    *conninfo = attrib_buf_take(&ci);
    *display = attrib_buf_take(&disp);
    if (*conninfo == NULL || *display == NULL) {
        free(*conninfo);
        free(*display);
        free(*schema);
        *conninfo = *schema = *display = NULL;
        return ATTRIB_ENOMEM;
    }
    return ATTRIB_OK;
}

static int connect_error(attrib_ctx *ctx, PGconn *conn, const char *disp)
{
    char msg[600];
    one_line(conn != NULL ? PQerrorMessage(conn) : "out of memory", msg, sizeof(msg));
    int code = ATTRIB_EDB;
    const char *hint = "check that the server runs and the URI (host, port, database)";
    if (conn != NULL && (PQconnectionNeedsPassword(conn) || strstr(msg, "password") != NULL ||
                         strstr(msg, "authentication") != NULL)) {
        code = ATTRIB_EAUTH;
        hint = "check the user and password (URI, PGPASSWORD or ~/.pgpass)";
    } else if (strstr(msg, "does not exist") != NULL) {
        code = ATTRIB_ENOTFOUND;
        hint = "create the database first (createdb), or fix the URI";
    }
    return attrib__error(ctx, code, "cannot connect to %s: %s; %s", disp, msg, hint);
}

static int pg_open(attrib_ctx *ctx, const char *target, unsigned flags, unsigned busy_ms,
                   void **out, char **display)
{
    char *conninfo = NULL, *schema = NULL, *disp = NULL;
    pg_store *s = NULL;
    params p = {0};
    int rc = parse_target(target, &conninfo, &schema, &disp);
    if (rc != ATTRIB_OK) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory opening a PostgreSQL target");
        goto done;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory opening %s", disp);
        goto done;
    }
    s->ctx = ctx;
    s->disp = disp;
    /* The URI's own settings win over these defaults (later keywords override). */
    const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *const vals[] = {"10", "attrib", conninfo, NULL};
    s->conn = PQconnectdbParams(keys, vals, 1);
    if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK) {
        rc = connect_error(ctx, s->conn, disp);
        goto done;
    }
    PQsetNoticeProcessor(s->conn, on_notice, s);
    rc = exec(s,
              "SET extra_float_digits = 3; SET client_encoding = 'UTF8'; "
              "SET client_min_messages = warning",
              "setting up the session");
    if (rc == ATTRIB_OK && (flags & ATTRIB_STORE_READONLY))
        rc = exec(s, "SET default_transaction_read_only = on", "setting up the session");
    if (rc == ATTRIB_OK) { /* PostgreSQL waits for a lock forever by default */
        char sql[64];
        snprintf(sql, sizeof(sql), "SET lock_timeout = %u", busy_ms);
        rc = exec(s, sql, "setting up the session");
    }
    if (rc != ATTRIB_OK)
        goto done;
    if (schema != NULL) {
        if (schema[0] == '\0') {
            rc = attrib__error(ctx, ATTRIB_EINVAL, "%s: schema= needs a name", disp);
            goto done;
        }
        char *ident = PQescapeIdentifier(s->conn, schema, strlen(schema));
        if (ident == NULL) {
            rc = pg_fail(s, NULL, "quoting the schema name");
            goto done;
        }
        if (flags & ATTRIB_STORE_CREATE) {
            attrib_buf sql = ATTRIB_BUF_INIT(0);
            if (attrib_buf_printf(&sql, "CREATE SCHEMA IF NOT EXISTS %s", ident) != 0)
                rc = oom(s);
            else
                rc = exec(s, attrib_buf_cstr(&sql), "creating the schema");
            attrib_buf_free(&sql);
        }
        bind(&p, schema);
        bind(&p, ident);
        bool found = false;
        if (rc == ATTRIB_OK) {
            PGresult *res = PQexecParams(s->conn,
                                         "SELECT set_config('search_path', $2, false) FROM "
                                         "pg_namespace WHERE nspname = $1",
                                         2, NULL, p.v, NULL, NULL, 0);
            if (res == NULL || !result_ok(res))
                rc = pg_fail(s, res, "selecting the schema");
            else
                found = PQntuples(res) == 1;
            PQclear(res);
        }
        PQfreemem(ident);
        if (rc == ATTRIB_OK && !found)
            rc = attrib__error(ctx, ATTRIB_ENOTFOUND,
                               "%s: schema \"%s\" does not exist; create it with `attrib init` "
                               "(or `attrib gen` / `attrib copy`) on this target",
                               disp, schema);
        if (rc != ATTRIB_OK)
            goto done;
    }
    *display = disp;
    disp = NULL;
    *out = s;
    s = NULL;
done:
    if (s != NULL) {
        PQfinish(s->conn);
        free(s);
    }
    free(conninfo);
    free(schema);
    free(disp);
    return rc;
}

static void pg_close(void *impl)
{
    pg_store *s = impl;
    if (s == NULL)
        return;
    PQfinish(s->conn);
    free(s->rebuild_acj);
    free(s);
}

static int pg_begin(void *impl)
{
    return exec(impl, "BEGIN", "starting a transaction");
}

/* What a transaction does before it ends: the index dropped by the full
 * replace, built in one pass. */
static int pre_commit(pg_store *s)
{
    int rc = ATTRIB_OK;
    if (s->rebuild_acj != NULL) {
        rc = exec(s, s->rebuild_acj, "indexing attribution_customer_journey");
        free(s->rebuild_acj);
        s->rebuild_acj = NULL;
    }
    return rc;
}

static int pg_commit(void *impl)
{
    pg_store *s = impl;
    int rc = pre_commit(s);
    if (rc != ATTRIB_OK)
        return rc;
    PGresult *res = PQexec(s->conn, "COMMIT");
    if (res == NULL || !result_ok(res))
        rc = pg_fail(s, res, "committing");
    else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) /* an aborted transaction says ROLLBACK */
        rc = attrib__error(s->ctx, ATTRIB_EDB,
                           "%s: the transaction was rolled back; nothing "
                           "was written, rerun the step",
                           s->disp);
    PQclear(res);
    return rc;
}

static int pg_rollback(void *impl)
{
    pg_store *s = impl;
    free(s->rebuild_acj); /* the rollback brings the index back */
    s->rebuild_acj = NULL;
    if (PQstatus(s->conn) != CONNECTION_OK || PQtransactionStatus(s->conn) == PQTRANS_IDLE)
        return ATTRIB_OK;
    return exec(s, "ROLLBACK", "rolling back");
}

/* ---- two-phase commit ---- */

/* `head` 'gid' (the id quoted by libpq); with `expect`, the command's status
 * must be it (an aborted transaction's PREPARE says ROLLBACK). */
static int gid_command(pg_store *s, const char *head, const char *gid, const char *expect,
                       const char *what)
{
    char *lit = PQescapeLiteral(s->conn, gid, strlen(gid));
    if (lit == NULL)
        return pg_fail(s, NULL, what);
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    int rc = attrib_buf_printf(&sql, "%s %s", head, lit) != 0 ? oom(s) : ATTRIB_OK;
    PQfreemem(lit);
    if (rc == ATTRIB_OK) {
        PGresult *res = PQexec(s->conn, attrib_buf_cstr(&sql));
        if (res == NULL || !result_ok(res))
            rc = pg_fail(s, res, what);
        else if (expect != NULL && strcmp(PQcmdStatus(res), expect) != 0)
            rc = attrib__error(s->ctx, ATTRIB_EDB,
                               "%s: %s: the transaction was rolled back; nothing was written, "
                               "rerun the step",
                               s->disp, what);
        PQclear(res);
    }
    attrib_buf_free(&sql);
    return rc;
}

static int pg_prepare(void *impl, const char *gid)
{
    pg_store *s = impl;
    int rc = pre_commit(s);
    if (rc == ATTRIB_OK)
        rc = gid_command(s, "PREPARE TRANSACTION", gid, "PREPARE TRANSACTION",
                         "preparing the transaction (two-phase commit)");
    return rc;
}

static int pg_commit_prepared(void *impl, const char *gid)
{
    return gid_command(impl, "COMMIT PREPARED", gid, NULL, "committing a prepared transaction");
}

static int pg_rollback_prepared(void *impl, const char *gid)
{
    return gid_command(impl, "ROLLBACK PREPARED", gid, NULL, "rolling back a prepared transaction");
}

/* The conversions' ids as one bound text[] (no temp table: a transaction
 * that used one cannot be prepared). */
static int pg_delete_attribution_convs(void *impl, const char *const *conv_ids, size_t n)
{
    pg_store *s = impl;
    params p = {0};
    int rc = array_literal(&p.arr[0], conv_ids, n) != 0 ? oom(s) : ATTRIB_OK;
    if (rc == ATTRIB_OK) {
        bind(&p, attrib_buf_cstr(&p.arr[0]));
        rc = exec_params(s,
                         "DELETE FROM attribution_customer_journey WHERE conv_id = ANY($1::text[])",
                         &p, "deleting attribution rows");
    }
    if (rc == ATTRIB_OK)
        rc = exec_params(s, "DELETE FROM attrib_journey_phases WHERE conv_id = ANY($1::text[])", &p,
                         "deleting phase rows");
    params_free(&p);
    return rc;
}

static bool word_char(char c)
{
    return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * Scripts are SQLite-flavoured schema files (the official
 * challenge_db_create.sql, attrib gen's input tables). SQLite's REAL is an
 * 8-byte double, PostgreSQL's real only 4 bytes: the type name `real` (a
 * whole word outside quotes and comments) becomes double precision, so the
 * values keep every bit, as on SQLite.
 */
static int run_script(pg_store *s, const char *sql, bool one)
{
    attrib_buf b = ATTRIB_BUF_INIT(0);
    int e = 0;
    const char *p = sql;
    while (*p != '\0' && e == 0) {
        if (*p == '\'' || *p == '"') {
            const char *q = strchr(p + 1, *p);
            size_t len = q != NULL ? (size_t)(q - p) + 1 : strlen(p);
            e |= attrib_buf_add(&b, p, len);
            p += len;
        } else if (p[0] == '-' && p[1] == '-') {
            const char *nl = strchr(p, '\n');
            size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
            e |= attrib_buf_add(&b, p, len);
            p += len;
        } else if (word_char(*p)) {
            const char *w = p;
            while (word_char(*p))
                p++;
            if (p - w == 4 && strncasecmp(w, "real", 4) == 0)
                e |= attrib_buf_adds(&b, "double precision");
            else
                e |= attrib_buf_add(&b, w, (size_t)(p - w));
        } else {
            e |= attrib_buf_addc(&b, *p++);
        }
    }
    /* PQexecParams (the extended protocol) runs one command at most: a second
     * one that store/schema.c did not see fails instead of running. */
    int rc = ATTRIB_OK;
    if (e != 0) {
        rc = oom(s);
    } else if (!one) {
        rc = exec(s, attrib_buf_cstr(&b), "running the schema script");
    } else {
        PGresult *res = PQexecParams(s->conn, attrib_buf_cstr(&b), 0, NULL, NULL, NULL, NULL, 0);
        if (res == NULL || !result_ok(res))
            rc = pg_fail(s, res, "running the schema statement");
        PQclear(res);
    }
    attrib_buf_free(&b);
    return rc;
}

static int pg_exec_script(void *impl, const char *sql)
{
    return run_script(impl, sql, false);
}

static int pg_exec_schema(void *impl, const char *sql)
{
    return run_script(impl, sql, true);
}

/* The built-in schema: the tables of challenge_db_create.sql with
 * PostgreSQL's types (double precision for SQLite's real), attrib's own
 * tables, and the indexes incremental runs need (dates in the "C"
 * collation, as the queries compare them). */
static const char builtin_schema[] =
    "CREATE TABLE IF NOT EXISTS conversions (conv_id text NOT NULL, user_id text NOT NULL,"
    " conv_date text NOT NULL, conv_time text NOT NULL, revenue double precision NOT NULL,"
    " PRIMARY KEY(conv_id));"
    "CREATE TABLE IF NOT EXISTS session_costs (session_id text NOT NULL, cost double precision,"
    " PRIMARY KEY(session_id));"
    "CREATE TABLE IF NOT EXISTS session_sources (session_id text NOT NULL, user_id text NOT NULL,"
    " event_date text NOT NULL, event_time text NOT NULL, channel_name text NOT NULL,"
    " holder_engagement integer NOT NULL, closer_engagement integer NOT NULL,"
    " impression_interaction integer NOT NULL, PRIMARY KEY(session_id));"
    "CREATE TABLE IF NOT EXISTS attribution_customer_journey (conv_id text NOT NULL,"
    " session_id text NOT NULL, ihc double precision NOT NULL, PRIMARY KEY(conv_id,session_id));"
    "CREATE TABLE IF NOT EXISTS channel_reporting (channel_name text NOT NULL, date text NOT NULL,"
    " cost double precision NOT NULL, ihc double precision NOT NULL,"
    " ihc_revenue double precision NOT NULL, PRIMARY KEY(channel_name,date));"
    "CREATE TABLE IF NOT EXISTS attrib_journey_phases (conv_id text NOT NULL,"
    " session_id text NOT NULL, initializer double precision NOT NULL,"
    " holder double precision NOT NULL, closer double precision NOT NULL,"
    " PRIMARY KEY(conv_id,session_id));"
    "CREATE TABLE IF NOT EXISTS attrib_dirty_dates (date text PRIMARY KEY);"
    "CREATE TABLE IF NOT EXISTS attrib_meta (key text PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE IF NOT EXISTS attrib_report_sums (channel_name text NOT NULL,"
    " date text NOT NULL, ihc_hi bigint NOT NULL, ihc_lo bigint NOT NULL,"
    " rev_hi bigint NOT NULL, rev_lo bigint NOT NULL, PRIMARY KEY(channel_name,date));"
    "CREATE TABLE IF NOT EXISTS attrib_dirty_keys (channel_name text NOT NULL,"
    " date text NOT NULL, PRIMARY KEY(channel_name,date));"
    "CREATE INDEX IF NOT EXISTS attrib_acj_session ON attribution_customer_journey(session_id);"
    "CREATE INDEX IF NOT EXISTS attrib_channel_reporting_date ON channel_reporting"
    " (date COLLATE \"C\");";

/* The indexes on the input tables that only ranged runs use (store.h). */
static const char input_index_schema[] =
    "CREATE INDEX IF NOT EXISTS attrib_session_sources_user ON session_sources(user_id);"
    "CREATE INDEX IF NOT EXISTS attrib_session_sources_date ON session_sources"
    " (event_date COLLATE \"C\");"
    "CREATE INDEX IF NOT EXISTS attrib_conversions_date ON conversions(conv_date COLLATE \"C\");"
    "CREATE INDEX IF NOT EXISTS attrib_conversions_user ON conversions(user_id);";

static int pg_init_schema(void *impl, bool input_indexes)
{
    int rc = exec(impl, builtin_schema, "creating tables and indexes");
    if (rc == ATTRIB_OK && input_indexes)
        rc = exec(impl, input_index_schema, "indexing the input tables");
    return rc;
}

static int pg_has_input_indexes(void *impl, bool *out)
{
    pg_store *s = impl;
    int rc = ATTRIB_OK;
    PGresult *res = PQexec(s->conn, "SELECT to_regclass('attrib_session_sources_user') IS NOT NULL"
                                    " AND to_regclass('attrib_session_sources_date') IS NOT NULL"
                                    " AND to_regclass('attrib_conversions_date') IS NOT NULL"
                                    " AND to_regclass('attrib_conversions_user') IS NOT NULL");
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        rc = pg_fail(s, res, "listing indexes");
    else
        *out = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return rc;
}

static int pg_tables_exist(void *impl, const char *const *names, size_t n, bool *present)
{
    pg_store *s = impl;
    int rc = ATTRIB_OK;
    for (size_t i = 0; i < n && rc == ATTRIB_OK; i++) {
        const char *v[1] = {names[i]};
        PGresult *res = PQexecParams(s->conn, "SELECT to_regclass(quote_ident($1)) IS NOT NULL", 1,
                                     NULL, v, NULL, NULL, 0);
        if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
            rc = pg_fail(s, res, "listing tables");
        else
            present[i] = PQgetvalue(res, 0, 0)[0] == 't';
        PQclear(res);
    }
    return rc;
}

static int pg_is_unique(void *impl, const char *table, const char *column, bool *out)
{
    pg_store *s = impl;
    const char *v[2] = {table, column};
    PGresult *res = PQexecParams(
        s->conn,
        "SELECT count(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND"
        " a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass(quote_ident($1)) AND"
        " i.indisunique AND i.indnatts = 1 AND a.attname = $2",
        2, NULL, v, NULL, NULL, 0);
    int rc = ATTRIB_OK;
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        rc = pg_fail(s, res, "listing indexes");
    else
        *out = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
    PQclear(res);
    return rc;
}

/* A scan: head + where clause (+ tail), streamed. */
static int scan(pg_store *s, const char *head, const attrib_scan *sel, const char *date_col,
                const char *user_col, const char *tail, int ncols, attrib_row_fn fn, void *payload,
                const char *what)
{
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    params p = {0};
    int rc = attrib_buf_adds(&sql, head) != 0 ? oom(s) : ATTRIB_OK;
    if (rc == ATTRIB_OK)
        rc = where_clause(s, &sql, &p, sel, date_col, user_col);
    if (rc == ATTRIB_OK && tail != NULL && attrib_buf_adds(&sql, tail) != 0)
        rc = oom(s);
    /* Without parameters through COPY: no per-row result objects. */
    if (rc == ATTRIB_OK && p.n == 0)
        rc = run_copy_out(s, attrib_buf_cstr(&sql), ncols, fn, payload, what);
    else if (rc == ATTRIB_OK)
        rc = run_query(s, attrib_buf_cstr(&sql), &p, ncols, fn, payload, what);
    attrib_buf_free(&sql);
    params_free(&p);
    return rc;
}

static int pg_scan_conversions(void *impl, const attrib_scan *sel, attrib_row_fn fn, void *payload)
{
    return scan(impl,
                "SELECT conv_id, user_id, conv_date, conv_time, revenue, NULL::bigint "
                "FROM conversions",
                sel, "conv_date", "user_id", NULL, ATTRIB_CV_NCOLS, fn, payload,
                "reading conversions");
}

#define SESSIONS_COLS                                                                              \
    "SELECT s.session_id, s.user_id, s.event_date, s.event_time, s.channel_name, "                 \
    "s.holder_engagement, s.closer_engagement, s.impression_interaction, "
#define SESSIONS_SELECT                                                                            \
    SESSIONS_COLS "c.cost, (c.session_id IS NOT NULL)::int, NULL::bigint FROM session_sources s "  \
                  "LEFT JOIN session_costs c ON c.session_id = s.session_id"

/* The full scan joined here: session_costs into a cost index, then the sessions. */
typedef struct {
    attrib__costidx *costs;
    attrib__costidx_writer *w;
    bool odd;         /* an id or a cost the index does not keep */
    attrib_row_fn fn; /* the caller's */
    void *payload;
} pg_join;

static int pg_cost_rows(attrib_value *rows, int n, void *payload)
{
    pg_join *j = payload;
    for (int r = 0; r < n; r++) {
        const attrib_value *cols = rows + (size_t)r * 2;
        /* After an odd row the server joins instead; the rest of the COPY is
         * read and dropped (cancelling it would abort the caller's transaction). */
        if (j->odd || cols[0].type != ATTRIB_V_TEXT || cols[1].type == ATTRIB_V_TEXT) {
            j->odd = true;
            continue;
        }
        int rc = attrib__costidx_add(j->w, cols[0].s, cols[0].len, &cols[1]);
        if (rc != ATTRIB_OK)
            return rc;
    }
    return ATTRIB_OK;
}

/* A batch of sessions (the table's 8 columns, ATTRIB_SS_NCOLS apart): each
 * one's cost slot prefetched first, then looked up, so the cache misses of
 * the batch overlap (docs/pipeline.md, "Joining costs"). */
static int pg_session_rows(attrib_value *rows, int n, void *payload)
{
    pg_join *j = payload;
    attrib__costidx_key key[COPY_BATCH];
    int rc = ATTRIB_OK;
    assert(n <= COPY_BATCH);
    for (int r = 0; r < n; r++) {
        const attrib_value *id = &rows[(size_t)r * ATTRIB_SS_NCOLS + ATTRIB_SS_SESSION_ID];
        if (id->type == ATTRIB_V_TEXT) {
            key[r] = attrib__costidx_key_of(id->s, id->len);
            attrib__costidx_prefetch(j->costs, &key[r]);
        }
    }
    for (int r = 0; r < n && rc == ATTRIB_OK; r++) {
        attrib_value *v = rows + (size_t)r * ATTRIB_SS_NCOLS;
        /* Only text ids are in the index: any other finds nothing, as the join would. */
        int found = ATTRIB__COST_NONE;
        v[ATTRIB_SS_COST] = (attrib_value){.type = ATTRIB_V_NULL};
        if (v[ATTRIB_SS_SESSION_ID].type == ATTRIB_V_TEXT)
            found = attrib__costidx_find(j->costs, &key[r], &v[ATTRIB_SS_COST]);
        assert(found != ATTRIB__COST_MANY); /* such an index is not used */
        v[ATTRIB_SS_HAS_COST] =
            (attrib_value){.type = ATTRIB_V_INT, .i = found == ATTRIB__COST_ONE};
        v[ATTRIB_SS_ROWID] = (attrib_value){.type = ATTRIB_V_NULL};
        rc = j->fn(v, j->payload);
    }
    return rc;
}

static int count_row(const attrib_value *cols, void *payload)
{
    double *rows = payload;
    double tuples = cols[0].type == ATTRIB_V_REAL ? cols[0].r : -1;
    double pages = cols[1].type == ATTRIB_V_INT ? (double)cols[1].i : 0;
    double now = cols[2].type == ATTRIB_V_INT ? (double)cols[2].i : 0;
    /* As the planner estimates: the density of the last statistics times the
     * pages the table has now; without statistics, ~100 bytes a cost row. */
    *rows = tuples >= 0 && pages > 0 ? tuples / pages * now : now * 8192 / 100;
    return ATTRIB_OK;
}

/*
 * The full session scan: COPY session_costs into a cost index (costidx.h),
 * then COPY session_sources, each session's cost looked up here. The server
 * only scans the two tables (its LEFT JOIN hashes in work_mem and spills to
 * disk beyond it: 2.3x the COPY floor at 2M sessions, bench/README.md). When
 * the index cannot answer exactly (ids that are not text, costs that are
 * text, a fingerprint shared by two cost rows), the server joins. The index
 * is sized from the table's size, as the planner estimates its rows, so it
 * does not grow (rehash) on the way.
 */
static int pg_full_sessions(pg_store *s, attrib_row_fn fn, void *payload)
{
    pg_join j = {.fn = fn, .payload = payload};
    double expect = 0;
    int rc = run_query(s,
                       "SELECT c.reltuples::float8, c.relpages::int8, "
                       "(pg_relation_size(c.oid) / current_setting('block_size')::int)::int8 "
                       "FROM pg_class c WHERE c.oid = to_regclass('session_costs')",
                       NULL, 3, count_row, &expect, "sizing the cost index");
    if (rc != ATTRIB_OK)
        return rc;
    /* A wrong estimate only costs growth or memory: bounded both ways. */
    expect = expect < 65536 ? 65536 : expect > 1e9 ? 1e9 : expect;
    j.costs = attrib__costidx_new((uint64_t)expect);
    j.w = j.costs != NULL ? attrib__costidx_writer_new(j.costs) : NULL;
    if (j.w == NULL) {
        rc = oom(s);
        goto done;
    }
    rc = run_copy_batches(s, "SELECT session_id, cost FROM session_costs", 2, 2, pg_cost_rows, &j,
                          "reading session_costs");
    if (rc == ATTRIB_OK) {
        rc = attrib__costidx_flush(j.w) != ATTRIB_OK ? oom(s) : ATTRIB_OK;
        j.odd = j.odd || attrib__costidx_shared(j.costs) > 0;
    } else if (rc == ATTRIB_ENOMEM) {
        rc = oom(s);
    }
    if (rc != ATTRIB_OK)
        goto done;
    if (j.odd)
        rc = run_copy_out(s, SESSIONS_SELECT, ATTRIB_SS_NCOLS, fn, payload,
                          "reading session_sources");
    else
        rc = run_copy_batches(s,
                              "SELECT session_id, user_id, event_date, event_time, channel_name, "
                              "holder_engagement, closer_engagement, impression_interaction "
                              "FROM session_sources",
                              ATTRIB_SS_COST, ATTRIB_SS_NCOLS, pg_session_rows, &j,
                              "reading session_sources");
done:
    attrib__costidx_writer_free(j.w);
    attrib__costidx_free(j.costs);
    return rc;
}

static int pg_scan_sessions(void *impl, const attrib_scan *sel, attrib_row_fn fn, void *payload)
{
    if (sel == NULL)
        return pg_full_sessions(impl, fn, payload);
    return scan(impl,
                sel->no_costs ? SESSIONS_COLS "NULL, 0, NULL::bigint FROM session_sources s"
                              : SESSIONS_SELECT,
                sel, "s.event_date", "s.user_id", NULL, ATTRIB_SS_NCOLS, fn, payload,
                "reading session_sources");
}

static int pg_scan_attribution(void *impl, const attrib_scan *sel, attrib_row_fn fn, void *payload)
{
    return scan(impl,
                "SELECT a.conv_id, a.session_id, a.ihc, s.channel_name, s.event_date, c.revenue "
                "FROM attribution_customer_journey a "
                "JOIN session_sources s ON s.session_id = a.session_id "
                "JOIN conversions c ON c.conv_id = a.conv_id",
                sel, "s.event_date", NULL, NULL, ATTRIB_AR_NCOLS, fn, payload,
                "reading attribution_customer_journey");
}

static int pg_scan_attribution_dates(void *impl, const attrib_scan *sel, attrib_row_fn fn,
                                     void *payload)
{
    return scan(impl,
                "SELECT DISTINCT s.event_date FROM attribution_customer_journey a "
                "JOIN session_sources s ON s.session_id = a.session_id "
                "WHERE a.conv_id IN (SELECT conv_id FROM conversions",
                sel, "conv_date", NULL, ")", 1, fn, payload,
                "reading the dates of attributed sessions");
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

static int pg_session_day_span(void *impl, int32_t *first, int32_t *last)
{
    int32_t days[2] = {0, 0};
    int rc = run_query(impl,
                       "SELECT min(event_date COLLATE \"C\"), max(event_date COLLATE \"C\") "
                       "FROM session_sources",
                       NULL, 2, span_row, days, "reading the date span of session_sources");
    *first = days[0];
    *last = days[1];
    return rc;
}

static int index_def_row(const attrib_value *cols, void *payload)
{
    char **def = payload;
    free(*def);
    *def = cols[0].type == ATTRIB_V_TEXT ? strdup(cols[0].s) : NULL;
    return cols[0].type != ATTRIB_V_TEXT || *def != NULL ? ATTRIB_OK : ATTRIB_ENOMEM;
}

/*
 * Empty the attribution tables for a full replace. The rows then come in
 * conversion order: the primary key (conv_id, session_id) grows at its right
 * edge, but attrib's own index on session_id would take every row at a random
 * place (a 2M-session run: 0.6 of its 0.75 s of writing). So that index,
 * when it is the one `init` made (valid, default tablespace, a table the
 * user owns), is dropped here and built again from the rows, sorted in one
 * pass, just before the commit (pg_commit); it all happens in the
 * transaction, which a rollback or a kill undoes with the rest. TRUNCATE has
 * already locked the table against every reader until the commit.
 */
static int replace_all_attribution(pg_store *s)
{
    int rc = exec(s, "TRUNCATE attribution_customer_journey, attrib_journey_phases",
                  "deleting attribution rows");
    if (rc != ATTRIB_OK || s->rebuild_acj != NULL)
        return rc;
    char *def = NULL;
    rc = run_query(s,
                   "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
                   "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
                   "WHERE i.indexrelid = to_regclass('attrib_acj_session') "
                   "AND i.indrelid = to_regclass('attribution_customer_journey') "
                   "AND i.indisvalid AND NOT i.indisunique AND c.reltablespace = 0 "
                   "AND pg_has_role(t.relowner, 'USAGE')",
                   NULL, 1, index_def_row, &def, "looking up the session index");
    if (rc == ATTRIB_ENOMEM)
        rc = oom(s);
    if (rc == ATTRIB_OK && def != NULL)
        rc = exec(s, "DROP INDEX attrib_acj_session", "deleting attribution rows");
    if (rc == ATTRIB_OK) {
        s->rebuild_acj = def;
        def = NULL;
    }
    free(def);
    return rc;
}

static int pg_delete_attribution(void *impl, const attrib_scan *sel)
{
    pg_store *s = impl;
    bool ranged = sel != NULL && (sel->start_date != NULL || sel->end_date != NULL);
    if (!ranged) /* TRUNCATE is transactional in PostgreSQL and leaves no dead rows behind */
        return replace_all_attribution(s);
    attrib_buf conv = ATTRIB_BUF_INIT(0), sql = ATTRIB_BUF_INIT(0);
    params p = {0};
    int rc = attrib_buf_adds(&conv, "SELECT conv_id FROM conversions") != 0 ? oom(s) : ATTRIB_OK;
    if (rc == ATTRIB_OK)
        rc = where_clause(s, &conv, &p, sel, "conv_date", NULL);
    static const char *const steps[][2] = {
        {"DELETE FROM attribution_customer_journey WHERE conv_id IN (%s)",
         "deleting attribution rows"},
        {"DELETE FROM attrib_journey_phases WHERE conv_id IN (%s)", "deleting phase rows"},
    };
    for (size_t i = 0; i < 2 && rc == ATTRIB_OK; i++) {
        attrib_buf_reset(&sql);
        if (attrib_buf_printf(&sql, steps[i][0], attrib_buf_cstr(&conv)) != 0)
            rc = oom(s);
        else
            rc = exec_params(s, attrib_buf_cstr(&sql), &p, steps[i][1]);
    }
    attrib_buf_free(&conv);
    attrib_buf_free(&sql);
    params_free(&p);
    return rc;
}

static int pg_insert_attribution(void *impl, const attrib_attr_row *rows, size_t n,
                                 bool with_phases)
{
    pg_store *s = impl;
    copier c;
    int rc =
        copy_begin(&c, s, "COPY attribution_customer_journey (conv_id, session_id, ihc) FROM STDIN",
                   "writing attribution_customer_journey");
    for (size_t i = 0; i < n && rc == ATTRIB_OK; i++) {
        int e = put_text(&c.buf, rows[i].conv_id, strlen(rows[i].conv_id));
        e |= attrib_buf_addc(&c.buf, '\t');
        e |= put_text(&c.buf, rows[i].session_id, strlen(rows[i].session_id));
        e |= attrib_buf_addc(&c.buf, '\t');
        e |= put_double(&c.buf, rows[i].ihc);
        e |= attrib_buf_addc(&c.buf, '\n');
        rc = e != 0 ? oom(s) : c.buf.len >= COPY_CHUNK ? copy_flush(&c) : ATTRIB_OK;
    }
    rc = copy_end(&c, rc);
    if (rc != ATTRIB_OK || !with_phases)
        return rc;
    rc = copy_begin(&c, s,
                    "COPY attrib_journey_phases (conv_id, session_id, initializer, holder, closer) "
                    "FROM STDIN",
                    "writing phase values");
    for (size_t i = 0; i < n && rc == ATTRIB_OK; i++) {
        int e = put_text(&c.buf, rows[i].conv_id, strlen(rows[i].conv_id));
        e |= attrib_buf_addc(&c.buf, '\t');
        e |= put_text(&c.buf, rows[i].session_id, strlen(rows[i].session_id));
        e |= attrib_buf_addc(&c.buf, '\t');
        e |= put_double(&c.buf, rows[i].initializer);
        e |= attrib_buf_addc(&c.buf, '\t');
        e |= put_double(&c.buf, rows[i].holder);
        e |= attrib_buf_addc(&c.buf, '\t');
        e |= put_double(&c.buf, rows[i].closer);
        e |= attrib_buf_addc(&c.buf, '\n');
        rc = e != 0 ? oom(s) : c.buf.len >= COPY_CHUNK ? copy_flush(&c) : ATTRIB_OK;
    }
    return copy_end(&c, rc);
}

static int pg_scan_attribution_conv(void *impl, const attrib_scan *sel, attrib_row_fn fn,
                                    void *payload)
{
    attrib_scan range = {0};
    if (sel != NULL) {
        range.start_date = sel->start_date;
        range.end_date = sel->end_date;
    }
    return scan(impl,
                "SELECT a.conv_id, a.session_id, a.ihc, s.channel_name, s.event_date, c.revenue "
                "FROM conversions c "
                "JOIN attribution_customer_journey a ON a.conv_id = c.conv_id "
                "JOIN session_sources s ON s.session_id = a.session_id",
                &range, "c.conv_date", NULL, NULL, ATTRIB_AR_NCOLS, fn, payload,
                "reading the attribution rows of the selected conversions");
}

/* ---- generic statements ---- */

/* The shared SQL spelling (store.h) in PostgreSQL's: ?N outside literals becomes $N. */
static int pg_sql(const char *sql, attrib_buf *out)
{
    int e = 0;
    for (const char *p = sql; *p != '\0' && e == 0; p++) {
        if (*p == '\'') {
            const char *q = strchr(p + 1, '\'');
            size_t len = q != NULL ? (size_t)(q - p) + 1 : strlen(p);
            e |= attrib_buf_add(out, p, len);
            p += len - 1;
        } else {
            e |= attrib_buf_addc(out, *p == '?' && p[1] >= '0' && p[1] <= '9' ? '$' : *p);
        }
    }
    return e;
}

/* Values as libpq's text parameters; numbers are written into num. */
static int pg_params(pg_store *s, const attrib_value *vals, int n, const char **v, char (*num)[32],
                     const char *what)
{
    if (n < 0 || n > ATTRIB__MAX_PARAMS)
        return attrib__error(s->ctx, ATTRIB_EINVAL, "%s: %s: %d parameters", s->disp, what, n);
    for (int i = 0; i < n; i++) {
        const attrib_value *x = &vals[i];
        v[i] = num[i];
        switch (x->type) {
        case ATTRIB_V_NULL:
            v[i] = NULL;
            break;
        case ATTRIB_V_INT:
            snprintf(num[i], 32, "%lld", (long long)x->i);
            break;
        case ATTRIB_V_REAL:
            if (isnan(x->r))
                snprintf(num[i], 32, "NaN");
            else if (isinf(x->r))
                snprintf(num[i], 32, "%s", x->r > 0 ? "Infinity" : "-Infinity");
            else
                snprintf(num[i], 32, "%.17g", x->r);
            break;
        case ATTRIB_V_TEXT:
            v[i] = x->s;
            break;
        }
    }
    return ATTRIB_OK;
}

static int pg_exec(void *impl, const char *sql, const attrib_value *vals, int n, const char *what)
{
    pg_store *s = impl;
    attrib_buf q = ATTRIB_BUF_INIT(0);
    const char *v[ATTRIB__MAX_PARAMS];
    char num[ATTRIB__MAX_PARAMS][32];
    int rc = pg_params(s, vals, n, v, num, what);
    if (rc == ATTRIB_OK && pg_sql(sql, &q) != 0)
        rc = oom(s);
    if (rc == ATTRIB_OK) {
        PGresult *res = PQexecParams(s->conn, attrib_buf_cstr(&q), n, NULL, v, NULL, NULL, 0);
        if (res == NULL || !result_ok(res))
            rc = pg_fail(s, res, what);
        PQclear(res);
    }
    attrib_buf_free(&q);
    return rc;
}

static int pg_query(void *impl, const char *sql, const attrib_value *vals, int n, int ncols,
                    attrib_row_fn fn, void *payload, const char *what)
{
    pg_store *s = impl;
    attrib_buf q = ATTRIB_BUF_INIT(0);
    const char *v[ATTRIB__MAX_PARAMS];
    char num[ATTRIB__MAX_PARAMS][32];
    int rc = ATTRIB_OK;
    if (ncols < 1 || ncols > 16)
        rc = attrib__error(s->ctx, ATTRIB_EINVAL, "%s: %s: %d columns", s->disp, what, ncols);
    if (rc == ATTRIB_OK)
        rc = pg_params(s, vals, n, v, num, what);
    if (rc == ATTRIB_OK && pg_sql(sql, &q) != 0)
        rc = oom(s);
    if (rc == ATTRIB_OK)
        rc = run_query_v(s, attrib_buf_cstr(&q), v, n, ncols, fn, payload, what);
    attrib_buf_free(&q);
    return rc;
}

static int pg_insert(void *impl, const attrib_table *t, attrib_conflict on_conflict,
                     const attrib_value *rows, size_t n_rows)
{
    pg_store *s = impl;
    if (n_rows == 0)
        return ATTRIB_OK;
    if (on_conflict == ATTRIB_CONFLICT_FAIL)
        return copy_values(s, t, t->name, rows, n_rows);
    /* COPY cannot resolve conflicts: the rows go through a temp table of the
     * same columns, then one INSERT ... SELECT with the shared conflict clause. */
    char tmp[96], what[96];
    snprintf(tmp, sizeof(tmp), "attrib_in_%s", t->name);
    snprintf(what, sizeof(what), "writing %s", t->name);
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    int rc = ATTRIB_OK;
    if (attrib_buf_printf(&sql, "CREATE TEMP TABLE IF NOT EXISTS %s (LIKE %s); TRUNCATE %s", tmp,
                          t->name, tmp) != 0) {
        rc = oom(s);
        goto done;
    }
    rc = exec(s, attrib_buf_cstr(&sql), what);
    if (rc == ATTRIB_OK)
        rc = copy_values(s, t, tmp, rows, n_rows);
    if (rc != ATTRIB_OK)
        goto done;
    attrib_buf_reset(&sql);
    if (attrib__insert_sql(&sql, t, on_conflict, tmp) != 0) {
        rc = oom(s);
        goto done;
    }
    rc = exec(s, attrib_buf_cstr(&sql), what);
done:
    attrib_buf_free(&sql);
    return rc;
}

const attrib_store_ops attrib_store_pg = {
    .name = "postgresql",
    .bytewise = " COLLATE \"C\"",
    .accepts = pg_accepts,
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .exec_script = pg_exec_script,
    .exec_schema = pg_exec_schema,
    .init_schema = pg_init_schema,
    .has_input_indexes = pg_has_input_indexes,
    .tables_exist = pg_tables_exist,
    .is_unique = pg_is_unique,
    .exec = pg_exec,
    .query = pg_query,
    .insert = pg_insert,
    .scan_conversions = pg_scan_conversions,
    .scan_sessions = pg_scan_sessions,
    .scan_attribution = pg_scan_attribution,
    .scan_attribution_dates = pg_scan_attribution_dates,
    .session_day_span = pg_session_day_span,
    .scan_attribution_conv = pg_scan_attribution_conv,
    .delete_attribution = pg_delete_attribution,
    .insert_attribution = pg_insert_attribution,
    .delete_attribution_convs = pg_delete_attribution_convs,
    .prepare = pg_prepare,
    .commit_prepared = pg_commit_prepared,
    .rollback_prepared = pg_rollback_prepared,
};
