/*
 * Schema files (`attrib init --schema-file`): the script is split into
 * statements here, and only CREATE TABLE and CREATE [UNIQUE] INDEX (with IF
 * NOT EXISTS or not, TEMP allowed) reach the store, one statement per call.
 * Anything else (DROP, DELETE, INSERT, ATTACH, PRAGMA, a transaction
 * statement, CREATE TABLE ... AS SELECT, a trigger or view) is refused
 * before a statement runs, naming the statement. The backends add their own
 * guard behind this one, in case the split disagrees with their parser:
 * SQLite an authorizer that allows only table and index creation, and
 * PostgreSQL sends each statement with the extended protocol, which refuses
 * a string of two commands.
 */
#include "lib/store/store.h"

#include "util/buf.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Skip blanks and comments; returns where the next token starts. */
static const char *skip_space(const char *p, const char *end)
{
    while (p < end) {
        if (isspace((unsigned char)*p)) {
            p++;
        } else if (p + 1 < end && p[0] == '-' && p[1] == '-') {
            while (p < end && *p != '\n')
                p++;
        } else if (p + 1 < end && p[0] == '/' && p[1] == '*') {
            const char *q = p + 2;
            while (q + 1 < end && !(q[0] == '*' && q[1] == '/'))
                q++;
            p = q + 1 < end ? q + 2 : end;
        } else {
            break;
        }
    }
    return p;
}

/* The word at p (letters, digits, _), its length in *n. */
static const char *word(const char *p, const char *end, size_t *n)
{
    const char *w = p;
    while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
        p++;
    *n = (size_t)(p - w);
    return w;
}

static bool is_word(const char *w, size_t n, const char *kw)
{
    return n == strlen(kw) && strncasecmp(w, kw, n) == 0;
}

/*
 * Whether the statement [p, end) is an allowed CREATE. A top-level AS (at
 * paren depth 0, outside quotes) marks CREATE TABLE ... AS SELECT, which
 * runs a query: refused.
 */
static bool allowed(const char *p, const char *end)
{
    size_t n;
    const char *w = word(p = skip_space(p, end), end, &n);
    if (!is_word(w, n, "CREATE"))
        return false;
    w = word(p = skip_space(w + n, end), end, &n);
    if (is_word(w, n, "TEMP") || is_word(w, n, "TEMPORARY"))
        w = word(p = skip_space(w + n, end), end, &n);
    bool table = is_word(w, n, "TABLE");
    if (is_word(w, n, "UNIQUE"))
        w = word(p = skip_space(w + n, end), end, &n);
    if (!table && !is_word(w, n, "INDEX"))
        return false;
    int depth = 0;
    for (p = w + n; p < end;) {
        p = skip_space(p, end);
        if (p >= end)
            break;
        char c = *p;
        if (c == '\'' || c == '"' || c == '`' || c == '[') {
            char close = c == '[' ? ']' : c;
            const char *q = memchr(p + 1, close, (size_t)(end - p - 1));
            p = q != NULL ? q + 1 : end;
        } else if (c == '(' || c == ')') {
            depth += c == '(' ? 1 : -1;
            p++;
        } else if (isalnum((unsigned char)c) || c == '_') {
            w = word(p, end, &n);
            if (table && depth == 0 && is_word(w, n, "AS"))
                return false;
            p = w + n;
        } else {
            p++;
        }
    }
    return true;
}

/* One statement's start for a message: its first 60 bytes on one line. */
static void excerpt(const char *p, const char *end, char out[64])
{
    size_t k = 0;
    for (; p < end && k < 60; p++)
        out[k++] = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
    out[k] = '\0';
}

int attrib__schema_run(attrib_store *st, const char *sql, unsigned first_line)
{
    int rc = ATTRIB_OK;
    attrib_buf stmt = ATTRIB_BUF_INIT(0);
    const char *p = sql, *end = sql + strlen(sql);
    unsigned line = first_line, stmt_line = first_line;
    while (p < end && rc == ATTRIB_OK) {
        /* [s, q) is one statement, up to a ';' outside quotes and comments. */
        const char *s = skip_space(p, end);
        for (const char *c = p; c < s; c++)
            line += *c == '\n';
        stmt_line = line;
        const char *q = s;
        while (q < end && *q != ';') {
            if (*q == '\'' || *q == '"' || *q == '`' || *q == '[') {
                char close = *q == '[' ? ']' : *q;
                const char *e = memchr(q + 1, close, (size_t)(end - q - 1));
                const char *stop = e != NULL ? e + 1 : end;
                for (const char *c = q; c < stop; c++)
                    line += *c == '\n';
                q = stop;
            } else if ((q[0] == '-' && q + 1 < end && q[1] == '-') ||
                       (q[0] == '/' && q + 1 < end && q[1] == '*')) {
                const char *stop = skip_space(q, end);
                for (const char *c = q; c < stop; c++)
                    line += *c == '\n';
                q = stop;
            } else {
                line += *q == '\n';
                q++;
            }
        }
        if (q > s) {
            if (!allowed(s, q)) {
                char ex[64];
                excerpt(s, q, ex);
                rc = attrib__error(st->ctx, ATTRIB_EPARSE,
                                   "schema file line %u: only CREATE TABLE and CREATE INDEX "
                                   "statements are run, not '%s'; nothing was changed",
                                   stmt_line, ex);
                break;
            }
            attrib_buf_reset(&stmt);
            if (attrib_buf_add(&stmt, s, (size_t)(q - s)) != 0) {
                rc = attrib__error(st->ctx, ATTRIB_ENOMEM, "out of memory");
                break;
            }
            rc = st->ops->exec_schema(st->impl, attrib_buf_cstr(&stmt));
            if (rc != ATTRIB_OK)
                attrib__error_prefix(st->ctx, "schema file line %u", stmt_line);
        }
        p = q < end ? q + 1 : end;
    }
    attrib_buf_free(&stmt);
    return rc;
}
