/*
 * The report step: work out which dates changed, aggregate them
 * (core/agg.h, report/rows.c), replace those rows, all in one transaction
 * (its own, or a ranged run's: steps.h), which also clears the dirty marks
 * it settles: a report killed before its commit leaves them for the next. With
 * valid report sums (attrib_report_sums, kept exact by ranged attribute
 * steps: report/sums.c) a ranged report recomputes only its own dates and
 * serves the other keys it must refresh from the sums.
 */
#include "attrib/pipeline.h"

#include "lib/steps/steps.h"

#include "lib/api/run.h"
#include "lib/journey/dataset.h"
#include "lib/model/run.h"
#include "lib/report/rows.h"
#include "lib/report/sums.h"
#include "lib/report/store.h"
#include "lib/store/rows.h"
#include "util/ts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- report ---- */

static bool date_in_range(const char *d, const attrib_run_options *o)
{
    return (o->start_date == NULL || strcmp(d, o->start_date) >= 0) &&
           (o->end_date == NULL || strcmp(d, o->end_date) <= 0);
}

typedef struct {
    attrib_ctx *ctx;
    const attrib_run_options *opts;
    attrib__agg agg;
    attrib_strmap channels;
    attrib_strmap dates; /* affected dates outside the range */
    bool all;            /* a full recompute was requested ('*') */
    bool filter;         /* full scan: keep only the range and `dates` */
    uint64_t sessions, bad;
} report_state;

/* Above this share of all days, one full scan beats index probes per date. */
#define REPORT_SCAN_SHARE 0.25

static bool affected(const report_state *rs, const char *d, size_t len)
{
    return !rs->filter || date_in_range(d, rs->opts) || attrib_strmap_find(&rs->dates, d, len) >= 0;
}

static int on_date(const attrib_value *cols, void *payload)
{
    report_state *rs = payload;
    const attrib_value *v = &cols[0];
    if (v->type != ATTRIB_V_TEXT)
        return ATTRIB_OK; /* a bad session date: that session is rejected by the scan */
    if (strcmp(v->s, "*") == 0) {
        rs->all = true;
        return ATTRIB_OK;
    }
    if (date_in_range(v->s, rs->opts))
        return ATTRIB_OK;
    int32_t day;
    if (attrib_date_parse(v->s, v->len, &day) != 0)
        return ATTRIB_OK;
    if (attrib_strmap_intern(&rs->dates, v->s, v->len, NULL) < 0)
        return attrib__error(rs->ctx, ATTRIB_ENOMEM, "out of memory");
    return ATTRIB_OK;
}

static int report_session(const attrib_value *cols, void *payload)
{
    report_state *rs = payload;
    attrib_session_row r;
    char scratch[2][32];
    if ((++rs->sessions & 0xffff) == 0)
        attrib__progress(rs->ctx, "reporting: reading sessions", rs->sessions, 0);
    const attrib_value *d = &cols[ATTRIB_SS_EVENT_DATE];
    if (d->type == ATTRIB_V_TEXT && !affected(rs, d->s, d->len))
        return ATTRIB_OK;
    int rc = attrib__session_row(rs->ctx, cols, &r, scratch);
    if (rc != ATTRIB_OK) {
        if (!rs->opts->skip_bad_rows)
            return rc;
        attrib_clearerr(rs->ctx);
        rs->bad++;
        return ATTRIB_OK;
    }
    int64_t ch = attrib_strmap_intern(&rs->channels, r.channel, r.channel_len, NULL);
    if (ch < 0 || attrib__agg_cost(&rs->agg, (uint32_t)ch, r.day, r.cost) != ATTRIB_OK)
        return attrib__error(rs->ctx, ATTRIB_ENOMEM, "out of memory aggregating the report");
    return ATTRIB_OK;
}

/* A credit row into agg (the report's own, or the range's credit read early). */
static int credit_into(report_state *rs, attrib__agg *agg, const attrib_value *cols)
{
    double ihc = 0, revenue = 0;
    int32_t day = 0;
    const attrib_value *c = NULL;
    int t = attrib__credit_terms(rs->ctx, cols, &ihc, &revenue, &day, &c);
    if (t < 0) {
        if (!rs->opts->skip_bad_rows)
            return t;
        attrib_clearerr(rs->ctx);
        rs->bad++;
        return ATTRIB_OK;
    }
    if (t == 0)
        return ATTRIB_OK; /* the session row itself is bad: rejected or skipped by the cost pass */
    const attrib_value *d = &cols[ATTRIB_AR_EVENT_DATE];
    if (!affected(rs, d->s, d->len))
        return ATTRIB_OK;
    int64_t ch = attrib_strmap_intern(&rs->channels, c->s, c->len, NULL);
    if (ch < 0 || attrib__agg_credit(agg, (uint32_t)ch, day, ihc, revenue) != ATTRIB_OK)
        return attrib__error(rs->ctx, ATTRIB_ENOMEM, "out of memory aggregating the report");
    return ATTRIB_OK;
}

static int report_credit(const attrib_value *cols, void *payload)
{
    report_state *rs = payload;
    return credit_into(rs, &rs->agg, cols);
}

/*
 * The ranged report with valid sums (docs/pipeline.md): the keys outside the
 * range whose sums an attribute step changed (dirty keys) or that hold the
 * selected journeys' sessions take ihc and ihc × revenue from
 * attrib_report_sums and cost from their existing channel_reporting row; a
 * date where such a row is missing is recomputed from scratch.
 */
typedef struct {
    report_state *rs;
    attrib__agg keys;     /* the keys (cells used as a set) */
    attrib__agg cur;      /* existing rows (has_report) and stored sums (mark) of their dates */
    attrib_strmap kdates; /* the keys' dates */
    attrib_strmap rdates; /* the dates whose rows are replaced: not the keys' dates
                           * whose every row would be written as it is stored */
    /* No conversion dated after the range: the rows read for the keys are all the
     * range's credit there is (a journey holds sessions before its conversion
     * only), so the credit of the range's sessions is taken from them here. */
    bool fold;
    attrib__agg folded;
} incr_state;

/* A key (a dirty one's mark set: its date is replaced, which clears the mark). */
static int add_key(incr_state *in, const attrib_value *ch, const attrib_value *d, bool dirty)
{
    int32_t day;
    if (ch->type != ATTRIB_V_TEXT || d->type != ATTRIB_V_TEXT ||
        attrib_date_parse(d->s, d->len, &day) != 0 || date_in_range(d->s, in->rs->opts))
        return ATTRIB_OK;
    int64_t k = attrib_strmap_intern(&in->rs->channels, ch->s, ch->len, NULL);
    attrib__agg_cell *c = k < 0 ? NULL : attrib__agg_cell_of(&in->keys, (uint32_t)k, day);
    if (c == NULL)
        return attrib__error(in->rs->ctx, ATTRIB_ENOMEM, "out of memory");
    c->mark = c->mark || dirty;
    return ATTRIB_OK;
}

static int on_dirty_key(const attrib_value *cols, void *payload)
{
    return add_key(payload, &cols[ATTRIB_DK_CHANNEL], &cols[ATTRIB_DK_DATE], true);
}

static int on_journey_row(const attrib_value *cols, void *payload)
{
    incr_state *in = payload;
    const attrib_value *d = &cols[ATTRIB_AR_EVENT_DATE];
    int rc = add_key(in, &cols[ATTRIB_AR_CHANNEL], d, false);
    if (rc == ATTRIB_OK && in->fold && d->type == ATTRIB_V_TEXT &&
        date_in_range(d->s, in->rs->opts))
        rc = credit_into(in->rs, &in->folded, cols);
    return rc;
}

/* A date to recompute from scratch. */
static int add_day(report_state *rs, attrib_strmap *dates, int32_t day)
{
    char d[11];
    attrib_date_format(day, d);
    if (attrib_strmap_intern(dates, d, 10, NULL) < 0)
        return attrib__error(rs->ctx, ATTRIB_ENOMEM, "out of memory");
    return ATTRIB_OK;
}

static int scratch_day(report_state *rs, int32_t day)
{
    return add_day(rs, &rs->dates, day);
}

/* The cell in `cur` of a row's (channel, date); NULL (and *day untouched) when unusable. */
static attrib__agg_cell *cur_cell(incr_state *in, const attrib_value *ch, const attrib_value *d,
                                  int32_t *day, int *rc)
{
    *rc = ATTRIB_OK;
    if (ch->type != ATTRIB_V_TEXT || d->type != ATTRIB_V_TEXT ||
        attrib_date_parse(d->s, d->len, day) != 0)
        return NULL;
    int64_t k = attrib_strmap_intern(&in->rs->channels, ch->s, ch->len, NULL);
    attrib__agg_cell *c = k < 0 ? NULL : attrib__agg_cell_of(&in->cur, (uint32_t)k, *day);
    if (c == NULL)
        *rc = attrib__error(in->rs->ctx, ATTRIB_ENOMEM, "out of memory");
    return c;
}

static int on_report_row(const attrib_value *cols, void *payload)
{
    incr_state *in = payload;
    int32_t day = 0;
    int rc;
    attrib__agg_cell *c = cur_cell(in, &cols[ATTRIB_CR_CHANNEL], &cols[ATTRIB_CR_DATE], &day, &rc);
    if (c == NULL)
        return rc;
    const attrib_value *v = &cols[ATTRIB_CR_COST];
    if (v->type == ATTRIB_V_REAL)
        c->report_cost = v->r;
    else if (v->type == ATTRIB_V_INT)
        c->report_cost = (double)v->i;
    else
        return scratch_day(in->rs, day); /* not a cost we wrote: recompute the date */
    c->has_report = true;
    c->report_real = v->type == ATTRIB_V_REAL && cols[ATTRIB_CR_IHC].type == ATTRIB_V_REAL &&
                     cols[ATTRIB_CR_IHC_REVENUE].type == ATTRIB_V_REAL;
    c->report_ihc = cols[ATTRIB_CR_IHC].r;
    c->report_revenue = cols[ATTRIB_CR_IHC_REVENUE].r;
    return ATTRIB_OK;
}

static int on_sums_row(const attrib_value *cols, void *payload)
{
    incr_state *in = payload;
    int32_t day = 0;
    int rc;
    attrib__agg_cell *c = cur_cell(in, &cols[ATTRIB_RS_CHANNEL], &cols[ATTRIB_RS_DATE], &day, &rc);
    if (c == NULL)
        return rc;
    for (int i = ATTRIB_RS_IHC_HI; i <= ATTRIB_RS_REV_LO; i++)
        if (cols[i].type != ATTRIB_V_INT)
            return scratch_day(in->rs, day);
    c->ihc.acc = attrib__acc_join(cols[ATTRIB_RS_IHC_HI].i, cols[ATTRIB_RS_IHC_LO].i);
    c->revenue.acc = attrib__acc_join(cols[ATTRIB_RS_REV_HI].i, cols[ATTRIB_RS_REV_LO].i);
    c->mark = true;
    return ATTRIB_OK;
}

/* Find the keys, read what is stored for their dates, choose the scratch dates. */
static int incr_plan(attrib_store *st, const attrib_scan *range,
                     const attrib__stored_credit *stored, incr_state *in)
{
    report_state *rs = in->rs;
    int rc = attrib__report_scan_dirty_keys(st, on_dirty_key, in);
    if (rc == ATTRIB_OK && stored != NULL)
        rc = attrib__stored_credit_scan(stored, on_journey_row, in);
    else if (rc == ATTRIB_OK)
        rc = st->ops->scan_attribution_conv(st->impl, range, on_journey_row, in);
    for (size_t i = 0; i < in->keys.cap && rc == ATTRIB_OK; i++) {
        const attrib__agg_cell *c = &in->keys.cells[i];
        if (c->used)
            rc = add_day(rs, &in->kdates, attrib__agg_day(c));
    }
    if (rc != ATTRIB_OK || in->kdates.count == 0)
        return rc;
    attrib_scan sel = {.dates = in->kdates.keys, .n_dates = in->kdates.count};
    rc = attrib__report_scan(st, &sel, on_report_row, in);
    if (rc == ATTRIB_OK)
        rc = attrib__report_scan_sums(st, &sel, on_sums_row, in);
    /* A key of a journey, or stored credit, without its row: recompute that date. */
    for (size_t i = 0; i < in->keys.cap && rc == ATTRIB_OK; i++) {
        const attrib__agg_cell *k = &in->keys.cells[i];
        if (!k->used)
            continue;
        const attrib__agg_cell *c =
            attrib__agg_find(&in->cur, attrib__agg_channel(k), attrib__agg_day(k));
        if (c == NULL || !c->has_report)
            rc = scratch_day(rs, attrib__agg_day(k));
    }
    for (size_t i = 0; i < in->cur.cap && rc == ATTRIB_OK; i++) {
        const attrib__agg_cell *c = &in->cur.cells[i];
        if (c->used && c->mark && !c->has_report && (c->ihc.acc != 0 || c->revenue.acc != 0))
            rc = scratch_day(rs, attrib__agg_day(c));
    }
    return rc;
}

static bool same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

/*
 * The dates whose rows are replaced: the recomputed ones, those of dirty
 * keys, and the keys' dates where a row would change. The rows of the others
 * would be written as they are stored (cost as it is, ihc and ihc × revenue
 * from the sums, which a rerun of the same range leaves as they were).
 */
static int replaced_dates(incr_state *in)
{
    report_state *rs = in->rs;
    int rc = ATTRIB_OK;
    for (size_t i = 0; i < rs->dates.count && rc == ATTRIB_OK; i++)
        if (attrib_strmap_intern(&in->rdates, rs->dates.keys[i], 10, NULL) < 0)
            rc = attrib__error(rs->ctx, ATTRIB_ENOMEM, "out of memory");
    for (size_t i = 0; i < in->keys.cap && rc == ATTRIB_OK; i++) {
        const attrib__agg_cell *c = &in->keys.cells[i];
        if (c->used && c->mark)
            rc = add_day(rs, &in->rdates, attrib__agg_day(c));
    }
    for (size_t i = 0; i < in->cur.cap && rc == ATTRIB_OK; i++) {
        const attrib__agg_cell *c = &in->cur.cells[i];
        if (c->used && c->has_report &&
            !(c->report_real && same_double(c->report_ihc, attrib_xsum_value(&c->ihc)) &&
              same_double(c->report_revenue, attrib_xsum_value(&c->revenue))))
            rc = add_day(rs, &in->rdates, attrib__agg_day(c));
    }
    return rc;
}

/* Rows of the replaced keys' dates not recomputed: stored cost, ihc and ihc ×
 * revenue from the sums. */
static int incr_rows(attrib_ctx *ctx, const incr_state *in, attrib_report_row **rows, size_t *n,
                     char **date_store)
{
    const attrib__agg *a = &in->cur;
    attrib_report_row *r = calloc(a->count > 0 ? a->count : 1, sizeof(*r));
    char *dates = calloc(a->count > 0 ? a->count : 1, 11);
    if (r == NULL || dates == NULL) {
        free(r);
        free(dates);
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory building the report");
    }
    size_t k = 0;
    for (size_t i = 0; i < a->cap; i++) {
        const attrib__agg_cell *c = &a->cells[i];
        if (!c->used || !c->has_report)
            continue;
        char *d = dates + 11 * k;
        attrib_date_format(attrib__agg_day(c), d);
        if (attrib_strmap_find(&in->rs->dates, d, 10) >= 0 ||
            attrib_strmap_find(&in->rdates, d, 10) < 0)
            continue; /* recomputed, or kept as it is */
        r[k++] = (attrib_report_row){.channel = in->rs->channels.keys[attrib__agg_channel(c)],
                                     .date = d,
                                     .cost = c->report_cost,
                                     .ihc = attrib_xsum_value(&c->ihc),
                                     .ihc_revenue = attrib_xsum_value(&c->revenue)};
    }
    *rows = r;
    *n = k;
    *date_store = dates;
    return ATTRIB_OK;
}

/*
 * The credit of the range's sessions: taken from the journeys' rows when
 * incr_plan kept it (in->fold), read through the conversions on and after the
 * range when that reads fewer rows than its sessions would probe
 * (scan_credit_after), else probed by its sessions.
 */
static int range_credit(attrib_store *st, report_state *rs, const incr_state *in,
                        const attrib_scan *range, uint64_t range_sessions)
{
    if (in->fold)
        return attrib__agg_merge(&rs->agg, &in->folded, NULL) != ATTRIB_OK
                   ? attrib__error(rs->ctx, ATTRIB_ENOMEM, "out of memory aggregating the report")
                   : ATTRIB_OK;
    bool taken = false;
    int rc = ATTRIB_OK;
    if (st->ops->scan_credit_after != NULL)
        rc = st->ops->scan_credit_after(st->impl, range, range_sessions, &taken, report_credit, rs);
    if (rc == ATTRIB_OK && !taken)
        rc = st->ops->scan_attribution(st->impl, range, report_credit, rs);
    return rc;
}

/* Rows a then rows b in one new array (the strings stay where they are). */
static int concat_rows(attrib_ctx *ctx, attrib_report_row **a, size_t *na,
                       const attrib_report_row *b, size_t nb)
{
    if (nb == 0)
        return ATTRIB_OK;
    attrib_report_row *r = realloc(*a, (*na + nb) * sizeof(*r));
    if (r == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory building the report");
    memcpy(r + *na, b, nb * sizeof(*r));
    *a = r;
    *na += nb;
    return ATTRIB_OK;
}

int attrib__report_step(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                        bool own_tx, const attrib__stored_credit *stored, attrib_summary *sum)
{
    double t0 = attrib__now_seconds();
    report_state rs = {.ctx = ctx, .opts = opts};
    rs.agg.channels = &rs.channels;
    incr_state in = {.rs = &rs};
    in.keys.channels = in.cur.channels = in.folded.channels = &rs.channels;
    attrib_report_row *rows = NULL, *irows = NULL;
    attrib_sums_row *srows = NULL;
    char *dates = NULL, *idates = NULL, *sdates = NULL;
    size_t n_rows = 0, n_irows = 0, n_srows = 0;
    bool valid = false;
    int rc = attrib__check_run_options(ctx, opts);
    if (rc == ATTRIB_OK)
        rc = attrib_store_check(st, true);
    /* (Inside a ranged run's transaction the attribute step built them.) */
    if (rc == ATTRIB_OK && own_tx && attrib__is_ranged(opts))
        rc = attrib__store_index_inputs(st);
    /* What is read and what is written from it: one snapshot, one commit. */
    if (rc == ATTRIB_OK && own_tx)
        rc = attrib__store_begin(st);
    if (rc == ATTRIB_OK)
        rc = attrib__report_sums_valid(st, &valid);
    if (rc != ATTRIB_OK)
        goto done;
    bool full = !attrib__is_ranged(opts);
    attrib_scan range = {.start_date = opts->start_date, .end_date = opts->end_date};
    if (!full) {
        rc = attrib__report_scan_dirty_dates(st, on_date, &rs);
        bool after = true;
        if (rc == ATTRIB_OK && valid && !rs.all)
            rc = attrib__report_conversion_after(st, opts->end_date, &after);
        in.fold = !after;
        if (rc == ATTRIB_OK)
            rc = valid ? incr_plan(st, &range, stored, &in)
                       : st->ops->scan_attribution_dates(st->impl, &range, on_date, &rs);
        /* Every recomputed date is replaced too. */
        for (size_t i = 0; valid && i < rs.dates.count && rc == ATTRIB_OK; i++)
            if (attrib_strmap_intern(&in.kdates, rs.dates.keys[i], 10, NULL) < 0)
                rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        if (rc != ATTRIB_OK)
            goto done;
        full = rs.all;
    }
    if (!full && st->ops->session_day_span != NULL) {
        /* Many affected days: one scan filtered here is cheaper than probes. */
        int32_t first = 0, last = 0, a = 0, b = 0;
        rc = st->ops->session_day_span(st->impl, &first, &last);
        if (rc != ATTRIB_OK)
            goto done;
        if (opts->start_date == NULL || attrib_date_parse(opts->start_date, 10, &a) != 0 ||
            a < first)
            a = first;
        if (opts->end_date == NULL || attrib_date_parse(opts->end_date, 10, &b) != 0 || b > last)
            b = last;
        double days = (double)(b >= a ? b - a + 1 : 0) + (double)rs.dates.count;
        rs.filter = last >= first && days > REPORT_SCAN_SHARE * (double)(last - first + 1);
    }
    attrib__progress(ctx, "reporting", 0, 0);
    /* Cost pass, then credit pass: over everything (scan_all), or over the
     * range and then the extra dates. */
    attrib_scan extra = {.dates = rs.dates.keys, .n_dates = rs.dates.count};
    bool scan_all = full || rs.filter, more = !scan_all && extra.n_dates > 0;
    rc = st->ops->scan_sessions(st->impl, scan_all ? NULL : &range, report_session, &rs);
    uint64_t range_sessions = rs.sessions;
    if (rc == ATTRIB_OK && more)
        rc = st->ops->scan_sessions(st->impl, &extra, report_session, &rs);
    if (rc == ATTRIB_OK)
        rc = scan_all ? st->ops->scan_attribution(st->impl, NULL, report_credit, &rs)
                      : range_credit(st, &rs, &in, &range, range_sessions);
    if (rc == ATTRIB_OK && more)
        rc = st->ops->scan_attribution(st->impl, &extra, report_credit, &rs);
    if (rc != ATTRIB_OK)
        goto done;
    rc = attrib__agg_rows(ctx, &rs.agg, &rows, &n_rows, &dates);
    /* The sums of every recomputed key (with valid sums, or a full report that makes them so). */
    bool write_sums = full || valid;
    if (rc == ATTRIB_OK && write_sums)
        rc = attrib__agg_sums_rows(ctx, &rs.agg, false, &srows, &n_srows, &sdates);
    if (rc == ATTRIB_OK && !full && valid) {
        rc = replaced_dates(&in);
        if (rc == ATTRIB_OK)
            rc = incr_rows(ctx, &in, &irows, &n_irows, &idates);
        if (rc == ATTRIB_OK)
            rc = concat_rows(ctx, &rows, &n_rows, irows, n_irows);
    }
    if (rc != ATTRIB_OK)
        goto done;
    attrib_scan repl = range;
    const attrib_strmap *rdates = !full && valid ? &in.rdates : &rs.dates;
    repl.dates = rdates->keys;
    repl.n_dates = rdates->count;
    rc = attrib__report_replace(st, full ? NULL : &repl, rows, n_rows);
    if (rc == ATTRIB_OK && write_sums) {
        attrib_scan sums_sel = range;
        sums_sel.dates = rs.dates.keys;
        sums_sel.n_dates = rs.dates.count;
        rc = attrib__report_replace_sums(st, full ? NULL : &sums_sel, srows, n_srows, false);
    }
    if (rc == ATTRIB_OK && own_tx)
        rc = attrib__store_commit(st);
    if (rc != ATTRIB_OK)
        goto done;
    sum->report_rows += n_rows;
    sum->report_dates += attrib__count_dates(rows, n_rows);
    sum->sessions_read += rs.sessions;
    sum->bad_rows_skipped += rs.bad;
done:
    if (rc != ATTRIB_OK && own_tx)
        attrib__store_rollback(st);
    free(rows);
    free(dates);
    free(irows);
    free(idates);
    free(srows);
    free(sdates);
    attrib__agg_free(&rs.agg);
    attrib__agg_free(&in.keys);
    attrib__agg_free(&in.cur);
    attrib__agg_free(&in.folded);
    attrib_strmap_free(&in.kdates);
    attrib_strmap_free(&in.rdates);
    attrib_strmap_free(&rs.channels);
    attrib_strmap_free(&rs.dates);
    sum->seconds += attrib__now_seconds() - t0;
    return rc;
}

int attrib_report(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                  attrib_summary *sum)
{
    attrib__enter(ctx);
    int rc = attrib__store_recover(st); /* a dead job's prepared rows would block the report */
    if (rc == ATTRIB_OK)
        rc = attrib__report_step(ctx, st, opts, true, NULL, sum);
    return attrib__leave(ctx, rc);
}
