/* Input row validation: see rows.h. */
#include "lib/store/rows.h"

#include "util/ts.h"
#include "util/utf8.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const skip_hint = "fix the row, or rerun with skip_bad_rows to skip it";

/* The row's name for messages: its id when usable, else its rowid. */
static const char *row_name(const attrib_value *id, const attrib_value *rowid, const char *idcol,
                            char *buf, size_t size)
{
    if (id->type == ATTRIB_V_TEXT)
        snprintf(buf, size, "%s '%.*s'", idcol, (int)(id->len > 80 ? 80 : id->len), id->s);
    else if (id->type == ATTRIB_V_INT)
        snprintf(buf, size, "%s %lld", idcol, (long long)id->i);
    else if (rowid->type == ATTRIB_V_INT)
        snprintf(buf, size, "rowid %lld", (long long)rowid->i);
    else
        snprintf(buf, size, "(row without rowid)");
    return buf;
}

/* Where a row is: enough to name it, formatted only when it is rejected. */
typedef struct {
    const attrib_value *id;    /* the row's id column */
    const attrib_value *rowid; /* its locator */
    const char *idcol;         /* the id column's name */
} row_ref;

static int bad(attrib_ctx *ctx, const char *table, const row_ref *ref, const char *column,
               const attrib_value *v, const char *expect)
{
    char repr[96];
    char row[128];
    row_name(ref->id, ref->rowid, ref->idcol, row, sizeof(row));
    return attrib__error(ctx, ATTRIB_EDATA, "%s row %s: column %s: value %s is not %s; %s", table,
                         row, column, attrib__value_repr(v, repr, sizeof(repr)), expect, skip_hint);
}

/* Text attrib can carry everywhere: no NUL byte (C strings would cut it
 * there, merging "A\0B" with "A") and valid UTF-8 (JSON output must be
 * valid UTF-8). */
static bool clean_text(const char *s, size_t len)
{
    return attrib_utf8_valid(s, len);
}

/* Text (or integer rendered as text) id; NULL, empty, NUL bytes and
 * invalid UTF-8 are rejected. */
static int id_value(const attrib_value *v, const char **s, size_t *len, char *scratch)
{
    if (v->type == ATTRIB_V_TEXT && v->len > 0 && clean_text(v->s, v->len)) {
        *s = v->s;
        *len = v->len;
        return 0;
    }
    if (v->type == ATTRIB_V_INT) {
        int n = snprintf(scratch, 32, "%lld", (long long)v->i);
        *s = scratch;
        *len = (size_t)n;
        return 0;
    }
    return -1;
}

static int flag_value(const attrib_value *v, uint8_t *out)
{
    if (v->type == ATTRIB_V_INT && (v->i == 0 || v->i == 1)) {
        *out = (uint8_t)v->i;
        return 0;
    }
    if (v->type == ATTRIB_V_REAL && (v->r == 0.0 || v->r == 1.0)) {
        *out = (uint8_t)v->r;
        return 0;
    }
    return -1;
}

/*
 * Input amounts (revenue, cost) within the range the exact sums hold
 * (|x| < 2^50, about 1.1e15, util/xsum.h), so an absurd value is named at
 * its input row, where skip_bad_rows can skip it, not at a report row.
 */
#define AMOUNT_LIMIT 1125899906842624.0

int attrib__amount_value(const attrib_value *v, double *out)
{
    double x;
    if (v->type == ATTRIB_V_INT)
        x = (double)v->i;
    else if (v->type == ATTRIB_V_REAL)
        x = v->r;
    else
        return -1;
    if (!(fabs(x) < AMOUNT_LIMIT))
        return -1;
    *out = x;
    return 0;
}

static int finite_value(const attrib_value *v, double *out)
{
    if (v->type == ATTRIB_V_INT) {
        *out = (double)v->i;
        return 0;
    }
    if (v->type == ATTRIB_V_REAL && isfinite(v->r)) {
        *out = v->r;
        return 0;
    }
    return -1;
}

int attrib__session_row(attrib_ctx *ctx, const attrib_value *c, attrib_session_row *out,
                        char scratch[2][32])
{
    static const char *t = "session_sources";
    const attrib_value *idv = &c[ATTRIB_SS_SESSION_ID];
    const row_ref ref = {idv, &c[ATTRIB_SS_ROWID], "session_id"};
    const row_ref *row = &ref;
    if (id_value(idv, &out->session_id, &out->session_id_len, scratch[0]) != 0)
        return bad(ctx, t, row, "session_id", idv, "a session id (UTF-8 text without NUL)");
    if (id_value(&c[ATTRIB_SS_USER_ID], &out->user_id, &out->user_id_len, scratch[1]) != 0)
        return bad(ctx, t, row, "user_id", &c[ATTRIB_SS_USER_ID],
                   "a user id (UTF-8 text without NUL)");
    const attrib_value *d = &c[ATTRIB_SS_EVENT_DATE], *tm = &c[ATTRIB_SS_EVENT_TIME];
    int32_t day = 0, sod = 0;
    if (d->type != ATTRIB_V_TEXT || attrib_date_parse(d->s, d->len, &day) != 0)
        return bad(ctx, t, row, "event_date", d, "a date YYYY-MM-DD");
    if (tm->type != ATTRIB_V_TEXT || attrib_time_parse(tm->s, tm->len, &sod) != 0)
        return bad(ctx, t, row, "event_time", tm, "a time HH:MM:SS");
    out->day = day;
    out->ts = (int64_t)day * ATTRIB_SECS_PER_DAY + sod;
    const attrib_value *ch = &c[ATTRIB_SS_CHANNEL];
    if (ch->type != ATTRIB_V_TEXT || !clean_text(ch->s, ch->len))
        return bad(ctx, t, row, "channel_name", ch, "a channel name (UTF-8 text without NUL)");
    out->channel = ch->s;
    out->channel_len = ch->len;
    if (flag_value(&c[ATTRIB_SS_HOLDER], &out->holder) != 0)
        return bad(ctx, t, row, "holder_engagement", &c[ATTRIB_SS_HOLDER], "0 or 1");
    if (flag_value(&c[ATTRIB_SS_CLOSER], &out->closer) != 0)
        return bad(ctx, t, row, "closer_engagement", &c[ATTRIB_SS_CLOSER], "0 or 1");
    if (flag_value(&c[ATTRIB_SS_IMPRESSION], &out->impression) != 0)
        return bad(ctx, t, row, "impression_interaction", &c[ATTRIB_SS_IMPRESSION], "0 or 1");
    const attrib_value *cost = &c[ATTRIB_SS_COST];
    out->cost = 0;
    if (cost->type != ATTRIB_V_NULL && attrib__amount_value(cost, &out->cost) != 0)
        return bad(ctx, "session_costs", row, "cost", cost,
                   "a number below 1.1e15 in magnitude, or NULL");
    return ATTRIB_OK;
}

int attrib__conversion_row(attrib_ctx *ctx, const attrib_value *c, attrib_conversion_row *out,
                           char scratch[2][32])
{
    static const char *t = "conversions";
    const attrib_value *idv = &c[ATTRIB_CV_CONV_ID];
    const row_ref ref = {idv, &c[ATTRIB_CV_ROWID], "conv_id"};
    const row_ref *row = &ref;
    if (id_value(idv, &out->conv_id, &out->conv_id_len, scratch[0]) != 0)
        return bad(ctx, t, row, "conv_id", idv, "a conversion id (UTF-8 text without NUL)");
    if (id_value(&c[ATTRIB_CV_USER_ID], &out->user_id, &out->user_id_len, scratch[1]) != 0)
        return bad(ctx, t, row, "user_id", &c[ATTRIB_CV_USER_ID],
                   "a user id (UTF-8 text without NUL)");
    const attrib_value *d = &c[ATTRIB_CV_CONV_DATE], *tm = &c[ATTRIB_CV_CONV_TIME];
    int32_t day = 0, sod = 0;
    if (d->type != ATTRIB_V_TEXT || attrib_date_parse(d->s, d->len, &day) != 0)
        return bad(ctx, t, row, "conv_date", d, "a date YYYY-MM-DD");
    if (tm->type != ATTRIB_V_TEXT || attrib_time_parse(tm->s, tm->len, &sod) != 0)
        return bad(ctx, t, row, "conv_time", tm, "a time HH:MM:SS");
    out->day = day;
    out->ts = (int64_t)day * ATTRIB_SECS_PER_DAY + sod;
    if (attrib__amount_value(&c[ATTRIB_CV_REVENUE], &out->revenue) != 0)
        return bad(ctx, t, row, "revenue", &c[ATTRIB_CV_REVENUE],
                   "a number below 1.1e15 in magnitude");
    return ATTRIB_OK;
}

int attrib__number(attrib_ctx *ctx, const attrib_value *v, double *out, const char *table,
                   const char *column, const char *row)
{
    if (finite_value(v, out) == 0)
        return ATTRIB_OK;
    char repr[96];
    return attrib__error(ctx, ATTRIB_EDATA, "%s row %s: column %s: value %s is not a number", table,
                         row, column, attrib__value_repr(v, repr, sizeof(repr)));
}

typedef struct {
    attrib_ctx *ctx;
    const char *table, *idcol, *what;
    int rc;
} dup_state;

static int on_duplicate(const attrib_value *c, void *payload)
{
    dup_state *d = payload;
    char id[96], u1[96], u2[96];
    attrib__value_repr(&c[0], id, sizeof(id));
    attrib__value_repr(&c[1], u1, sizeof(u1));
    attrib__value_repr(&c[2], u2, sizeof(u2));
    long long n = c[3].type == ATTRIB_V_INT ? (long long)c[3].i : 2;
    if (strcmp(u1, u2) == 0)
        d->rc = attrib__error(d->ctx, ATTRIB_EDATA,
                              "%s row %s %s: the %s appears %lld times (user_id %s); %s must be "
                              "unique: remove the extra rows (skip_bad_rows does not skip "
                              "duplicates)",
                              d->table, d->idcol, id, d->what, n, u1, d->idcol);
    else
        d->rc = attrib__error(d->ctx, ATTRIB_EDATA,
                              "%s row %s %s: the %s appears %lld times, with user_id %s and %s; "
                              "%s must be unique: remove the extra rows (skip_bad_rows does not "
                              "skip duplicates)",
                              d->table, d->idcol, id, d->what, n, u1, u2, d->idcol);
    return d->rc;
}

/* The first duplicated id of a count-only pass, copied (text or integer). */
typedef struct {
    bool found, oom;
    attrib_value id;
    char *text; /* malloc'ed copy of a text id */
} dup_id;

static int on_dup_id(const attrib_value *c, void *payload)
{
    dup_id *d = payload;
    d->found = true;
    d->id = c[0];
    if (c[0].type == ATTRIB_V_TEXT) {
        d->text = malloc(c[0].len + 1);
        if (d->text == NULL) {
            d->oom = true;
            return ATTRIB_ENOMEM;
        }
        memcpy(d->text, c[0].s, c[0].len);
        d->text[c[0].len] = '\0';
        d->id.s = d->text;
    }
    return ATTRIB_OK;
}

/* The two keys: session_sources.session_id (ATTRIB__IDS_SESSIONS = 1 << 0),
 * conversions.conv_id (ATTRIB__IDS_CONVERSIONS = 1 << 1). */
static const struct {
    const char *table, *idcol, *what, *find, *sql;
} keys[] = {
    {"session_sources", "session_id", "session",
     "SELECT session_id FROM session_sources GROUP BY session_id HAVING count(*) > 1 LIMIT 1",
     "SELECT session_id, min(user_id), max(user_id), count(*) FROM session_sources"
     " WHERE session_id = ?1 GROUP BY session_id"},
    {"conversions", "conv_id", "conversion",
     "SELECT conv_id FROM conversions GROUP BY conv_id HAVING count(*) > 1 LIMIT 1",
     "SELECT conv_id, min(user_id), max(user_id), count(*) FROM conversions"
     " WHERE conv_id = ?1 GROUP BY conv_id"},
};

/* A count-only pass first (on a partitioned table the server reads only the
 * partitions' primary key indexes, in order), then the users of the id found. */
static int find_duplicate(attrib_ctx *ctx, attrib_store *st, size_t k)
{
    dup_id id = {0};
    int rc = st->ops->query(st->impl, keys[k].find, NULL, 0, 1, on_dup_id, &id,
                            "looking for duplicate ids");
    if (id.oom)
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    dup_state d = {ctx, keys[k].table, keys[k].idcol, keys[k].what, ATTRIB_OK};
    if (rc == ATTRIB_OK && id.found)
        rc = st->ops->query(st->impl, keys[k].sql, &id.id, 1, 4, on_duplicate, &d,
                            "looking for duplicate ids");
    free(id.text);
    return d.rc != ATTRIB_OK ? d.rc : rc;
}

int attrib__rows_check_unique(attrib_ctx *ctx, attrib_store *st, unsigned defer, unsigned *deferred)
{
    *deferred = 0;
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        unsigned bit = 1u << k;
        bool unique = false;
        int rc = st->ops->is_unique(st->impl, keys[k].table, keys[k].idcol, &unique);
        if (rc == ATTRIB_OK && !unique && (defer & bit))
            *deferred |= bit;
        else if (rc == ATTRIB_OK && !unique)
            rc = find_duplicate(ctx, st, k);
        if (rc != ATTRIB_OK)
            return rc;
    }
    return ATTRIB_OK;
}

int attrib__rows_check_unique_of(attrib_ctx *ctx, attrib_store *st, unsigned table)
{
    assert(table == ATTRIB__IDS_SESSIONS || table == ATTRIB__IDS_CONVERSIONS);
    return find_duplicate(ctx, st, table == ATTRIB__IDS_SESSIONS ? 0 : 1);
}
