/*
 * Exact report sums kept in the database (attrib_report_sums, docs/pipeline.md):
 * a ranged attribute step turns the rows it replaces into exact per-(channel,
 * date) deltas, so a ranged report can serve the history its journeys touch
 * from the sums instead of re-reading whole dates.
 */
#include "lib/report/sums.h"
#include "lib/report/store.h"

#include "util/ts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* See report_sums.h. */
int attrib__credit_terms(attrib_ctx *ctx, const attrib_value *cols, double *ihc, double *revenue,
                         int32_t *day, const attrib_value **channel)
{
    char row[160];
    const attrib_value *cid = &cols[ATTRIB_AR_CONV_ID], *sid = &cols[ATTRIB_AR_SESSION_ID];
    snprintf(row, sizeof(row), "(conv_id '%.60s', session_id '%.60s')",
             cid->type == ATTRIB_V_TEXT ? cid->s : "?", sid->type == ATTRIB_V_TEXT ? sid->s : "?");
    int rc =
        attrib__number(ctx, &cols[ATTRIB_AR_IHC], ihc, "attribution_customer_journey", "ihc", row);
    if (rc == ATTRIB_OK)
        rc = attrib__number(ctx, &cols[ATTRIB_AR_REVENUE], revenue, "conversions", "revenue", row);
    if (rc != ATTRIB_OK)
        return rc;
    const attrib_value *d = &cols[ATTRIB_AR_EVENT_DATE], *c = &cols[ATTRIB_AR_CHANNEL];
    if (d->type != ATTRIB_V_TEXT || attrib_date_parse(d->s, d->len, day) != 0 ||
        c->type != ATTRIB_V_TEXT)
        return 0;
    *channel = c;
    return 1;
}

static int subtract_old(const attrib_value *cols, void *payload)
{
    attrib__sums_delta *sd = payload;
    double ihc = 0, revenue = 0;
    int32_t day = 0;
    const attrib_value *channel = NULL;
    int t = attrib__credit_terms(sd->ctx, cols, &ihc, &revenue, &day, &channel);
    if (t < 0)
        attrib_clearerr(sd->ctx); /* not counted by the report that built the sums either */
    if (t <= 0)
        return ATTRIB_OK;
    int64_t ch = attrib_strmap_intern(&sd->channels, channel->s, channel->len, NULL);
    attrib__agg_cell *c = ch < 0 ? NULL : attrib__agg_cell_of(&sd->delta, (uint32_t)ch, day);
    if (c == NULL)
        return attrib__error(sd->ctx, ATTRIB_ENOMEM, "out of memory");
    /* The grid rounding is symmetric, so −x removes exactly what x added. */
    attrib_xsum_add(&c->ihc, -ihc);
    attrib_xsum_add(&c->revenue, -(ihc * revenue));
    return ATTRIB_OK;
}

static int add_new(attrib__sums_delta *sd, const attrib__dataset *ds, const attrib_session *s,
                   double ihc, double revenue)
{
    int64_t ch = sd->ds_channel[s->channel];
    if (ch < 0) {
        const char *name = ds->channels.keys[s->channel];
        ch = attrib_strmap_intern(&sd->channels, name, strlen(name), NULL);
        if (ch < 0)
            return ATTRIB_ENOMEM;
        sd->ds_channel[s->channel] = ch;
    }
    attrib__agg_cell *c = attrib__agg_cell_of(&sd->delta, (uint32_t)ch, attrib_ts_day(s->ts));
    if (c == NULL)
        return ATTRIB_ENOMEM;
    attrib_xsum_add(&c->ihc, ihc);
    attrib_xsum_add(&c->revenue, ihc * revenue);
    return ATTRIB_OK;
}

/* Stored sums of the changed keys: added to their delta (new = stored + delta). */
static int add_stored(const attrib_value *cols, void *payload)
{
    attrib__sums_delta *sd = payload;
    const attrib_value *ch = &cols[ATTRIB_RS_CHANNEL], *d = &cols[ATTRIB_RS_DATE];
    int32_t day;
    if (ch->type != ATTRIB_V_TEXT || d->type != ATTRIB_V_TEXT ||
        attrib_date_parse(d->s, d->len, &day) != 0)
        return ATTRIB_OK;
    for (int i = ATTRIB_RS_IHC_HI; i <= ATTRIB_RS_REV_LO; i++)
        if (cols[i].type != ATTRIB_V_INT)
            return attrib__error(sd->ctx, ATTRIB_EDB,
                                 "attrib_report_sums (%s, %s): not an integer; run a full "
                                 "`attrib report` to rebuild it",
                                 ch->s, d->s);
    int64_t k = attrib_strmap_find(&sd->channels, ch->s, ch->len);
    attrib__agg_cell *c = k < 0 ? NULL : attrib__agg_find(&sd->delta, (uint32_t)k, day);
    if (c == NULL || !c->mark)
        return ATTRIB_OK;
    c->ihc.acc += attrib__acc_join(cols[ATTRIB_RS_IHC_HI].i, cols[ATTRIB_RS_IHC_LO].i);
    c->revenue.acc += attrib__acc_join(cols[ATTRIB_RS_REV_HI].i, cols[ATTRIB_RS_REV_LO].i);
    return ATTRIB_OK;
}

/* Dates (as text, in `dates`) of the marked cells. */
static int marked_dates(const attrib__agg *a, attrib_strmap *dates)
{
    for (size_t i = 0; i < a->cap; i++) {
        const attrib__agg_cell *c = &a->cells[i];
        if (!c->used || !c->mark)
            continue;
        char d[11];
        attrib_date_format(attrib__agg_day(c), d);
        if (attrib_strmap_intern(dates, d, 10, NULL) < 0)
            return ATTRIB_ENOMEM;
    }
    return ATTRIB_OK;
}

/* See report_sums.h. */
int attrib__sums_delta_apply(attrib_ctx *ctx, attrib_store *st, attrib__sums_delta *sd)
{
    attrib_strmap dates = ATTRIB_STRMAP_INIT;
    attrib_sums_row *rows = NULL;
    char *date_store = NULL;
    size_t n = 0;
    int rc = ATTRIB_OK;
    for (size_t i = 0; i < sd->delta.cap; i++) {
        attrib__agg_cell *c = &sd->delta.cells[i];
        c->mark = c->used && (c->ihc.acc != 0 || c->revenue.acc != 0);
    }
    if (marked_dates(&sd->delta, &dates) != ATTRIB_OK) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    if (dates.count == 0)
        goto done; /* the same credit as before: nothing changed */
    attrib_scan sel = {.dates = dates.keys, .n_dates = dates.count};
    rc = attrib__report_scan_sums(st, &sel, add_stored, sd);
    if (rc == ATTRIB_OK)
        rc = attrib__agg_sums_rows(ctx, &sd->delta, true, &rows, &n, &date_store);
    if (rc == ATTRIB_OK) {
        attrib_scan none = {0};
        rc = attrib__report_replace_sums(st, &none, rows, n, true);
    }
done:
    free(rows);
    free(date_store);
    attrib_strmap_free(&dates);
    return rc;
}

/* See sums.h. */
int attrib__sums_delta_terms(attrib_ctx *ctx, attrib_store *st, const attrib__dataset *ds,
                             const size_t *offset, const attrib_credit *credits,
                             const unsigned char *api_state, const attrib_scan *old,
                             attrib__sums_delta *sd)
{
    size_t nch = ds->channels.count;
    sd->ds_channel = malloc((nch > 0 ? nch : 1) * sizeof(*sd->ds_channel));
    if (sd->ds_channel == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    for (size_t i = 0; i < nch; i++)
        sd->ds_channel[i] = -1;
    int rc =
        old != NULL ? st->ops->scan_attribution_conv(st->impl, old, subtract_old, sd) : ATTRIB_OK;
    for (size_t j = 0; j < ds->n_journeys && rc == ATTRIB_OK; j++) {
        const attrib_journey *jr = &ds->journeys[j];
        if (api_state != NULL && api_state[j] != ATTRIB__CREDIT_DONE)
            continue;
        for (size_t k = 0; k < jr->n && rc == ATTRIB_OK; k++)
            if (add_new(sd, ds, &jr->sessions[k], credits[offset[j] + k].ihc, jr->revenue) !=
                ATTRIB_OK)
                rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    }
    return rc;
}

/* See sums.h. */
bool attrib__sums_delta_overflow(const attrib__sums_delta *sd)
{
    for (size_t i = 0; i < sd->delta.cap; i++) {
        const attrib__agg_cell *c = &sd->delta.cells[i];
        if (c->used && (c->ihc.overflow || c->revenue.overflow))
            return true;
    }
    return false;
}

/* See sums.h. */
int attrib__sums_delta_compute(attrib_ctx *ctx, attrib_store *st, const attrib__dataset *ds,
                               const size_t *offset, const attrib_credit *credits,
                               const unsigned char *api_state, const attrib_scan *sel,
                               attrib__sums_delta *sd, bool *keep)
{
    int rc = attrib__sums_delta_terms(ctx, st, ds, offset, credits, api_state, sel, sd);
    if (rc != ATTRIB_OK || !attrib__sums_delta_overflow(sd))
        return rc;
    *keep = false;
    return attrib__report_invalidate_sums(st);
}

void attrib__sums_delta_free(attrib__sums_delta *sd)
{
    free(sd->ds_channel);
    attrib__agg_free(&sd->delta);
    attrib_strmap_free(&sd->channels);
}

static attrib_sum128 to_sum128(const attrib_xsum *x)
{
    int64_t hi, lo;
    attrib__acc_split(x->acc, &hi, &lo);
    return (attrib_sum128){.hi = hi, .lo = (uint64_t)lo};
}

/* See sums.h. */
int attrib__agg_to_part(attrib_ctx *ctx, const attrib__agg *a, attrib_report_part *out,
                        attrib_report_cell **cells)
{
    attrib_report_cell *c = calloc(a->count > 0 ? a->count : 1, sizeof(*c));
    if (c == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < a->cap; i++) {
        const attrib__agg_cell *f = &a->cells[i];
        if (!f->used)
            continue;
        c[k++] = (attrib_report_cell){
            .channel = attrib__agg_channel(f),
            .day = attrib__agg_day(f),
            .sessions = f->sessions,
            .overflow = f->cost.overflow || f->ihc.overflow || f->revenue.overflow,
            .cost = to_sum128(&f->cost),
            .ihc = to_sum128(&f->ihc),
            .revenue = to_sum128(&f->revenue),
        };
    }
    *out = (attrib_report_part){.channels = (const char *const *)a->channels->keys,
                                .n_channels = a->channels->count,
                                .cells = c,
                                .n_cells = k};
    *cells = c;
    return ATTRIB_OK;
}

static void add_sum128(attrib_xsum *x, attrib_sum128 v, bool overflow)
{
    /* Two's complement: the sum wraps as the single run's accumulator does. */
    x->acc = (__int128)((unsigned __int128)x->acc +
                        (unsigned __int128)attrib__acc_join(v.hi, (int64_t)v.lo));
    x->overflow = x->overflow || overflow;
}

/* See sums.h. */
int attrib__agg_add_part(attrib_ctx *ctx, attrib__agg *a, const attrib_report_part *p)
{
    int64_t *map = malloc((p->n_channels > 0 ? p->n_channels : 1) * sizeof(*map));
    int rc = ATTRIB_OK;
    if (map == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    for (size_t i = 0; i < p->n_channels && rc == ATTRIB_OK; i++) {
        map[i] = attrib_strmap_intern(a->channels, p->channels[i], strlen(p->channels[i]), NULL);
        if (map[i] < 0)
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < p->n_cells && rc == ATTRIB_OK; i++) {
        const attrib_report_cell *f = &p->cells[i];
        if (f->channel >= p->n_channels) {
            rc = attrib__error(ctx, ATTRIB_EINVAL, "report part: cell %zu names channel %u of %zu",
                               i, (unsigned)f->channel, p->n_channels);
            break;
        }
        attrib__agg_cell *c = attrib__agg_cell_of(a, (uint32_t)map[f->channel], f->day);
        if (c == NULL) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            break;
        }
        c->sessions += f->sessions;
        add_sum128(&c->cost, f->cost, f->overflow != 0);
        add_sum128(&c->ihc, f->ihc, f->overflow != 0);
        add_sum128(&c->revenue, f->revenue, f->overflow != 0);
    }
    free(map);
    return rc;
}
