/* Input row validation: see rows.h. */
#include "lib/store/rows.h"

#include "util/ts.h"

#include <math.h>
#include <stdio.h>

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

/* Text (or integer rendered as text) id; NULL and empty are rejected. */
static int id_value(const attrib_value *v, const char **s, size_t *len, char *scratch)
{
    if (v->type == ATTRIB_V_TEXT && v->len > 0) {
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
        return bad(ctx, t, row, "session_id", idv, "a session id");
    if (id_value(&c[ATTRIB_SS_USER_ID], &out->user_id, &out->user_id_len, scratch[1]) != 0)
        return bad(ctx, t, row, "user_id", &c[ATTRIB_SS_USER_ID], "a user id");
    const attrib_value *d = &c[ATTRIB_SS_EVENT_DATE], *tm = &c[ATTRIB_SS_EVENT_TIME];
    int32_t day = 0, sod = 0;
    if (d->type != ATTRIB_V_TEXT || attrib_date_parse(d->s, d->len, &day) != 0)
        return bad(ctx, t, row, "event_date", d, "a date YYYY-MM-DD");
    if (tm->type != ATTRIB_V_TEXT || attrib_time_parse(tm->s, tm->len, &sod) != 0)
        return bad(ctx, t, row, "event_time", tm, "a time HH:MM:SS");
    out->day = day;
    out->ts = (int64_t)day * ATTRIB_SECS_PER_DAY + sod;
    const attrib_value *ch = &c[ATTRIB_SS_CHANNEL];
    if (ch->type != ATTRIB_V_TEXT)
        return bad(ctx, t, row, "channel_name", ch, "a channel name");
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
    if (cost->type != ATTRIB_V_NULL && finite_value(cost, &out->cost) != 0)
        return bad(ctx, "session_costs", row, "cost", cost, "a number or NULL");
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
        return bad(ctx, t, row, "conv_id", idv, "a conversion id");
    if (id_value(&c[ATTRIB_CV_USER_ID], &out->user_id, &out->user_id_len, scratch[1]) != 0)
        return bad(ctx, t, row, "user_id", &c[ATTRIB_CV_USER_ID], "a user id");
    const attrib_value *d = &c[ATTRIB_CV_CONV_DATE], *tm = &c[ATTRIB_CV_CONV_TIME];
    int32_t day = 0, sod = 0;
    if (d->type != ATTRIB_V_TEXT || attrib_date_parse(d->s, d->len, &day) != 0)
        return bad(ctx, t, row, "conv_date", d, "a date YYYY-MM-DD");
    if (tm->type != ATTRIB_V_TEXT || attrib_time_parse(tm->s, tm->len, &sod) != 0)
        return bad(ctx, t, row, "conv_time", tm, "a time HH:MM:SS");
    out->day = day;
    out->ts = (int64_t)day * ATTRIB_SECS_PER_DAY + sod;
    if (finite_value(&c[ATTRIB_CV_REVENUE], &out->revenue) != 0)
        return bad(ctx, t, row, "revenue", &c[ATTRIB_CV_REVENUE], "a number");
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
