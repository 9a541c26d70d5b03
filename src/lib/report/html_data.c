/*
 * What the HTML report shows, read from the store and the journeys
 * (html.h). The store is reached only here: channel_reporting through the
 * report scan the CSV export uses, the phase values through one SELECT with
 * the range bound.
 */
#include "lib/report/html.h"

#include "lib/report/store.h"
#include "lib/store/rows.h"
#include "util/fsum.h"
#include "util/strmap.h"
#include "util/ts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    attrib_ctx *ctx;
    const attrib_run_options *opts;
    attrib__html_data *d;
    size_t cap;
    attrib_strmap channels; /* phases: channel → index into sums */
    attrib_fsum *sums;      /* phases: [channel * 3 + phase] */
    attrib_fsum total[3];   /* phases: over all channels (of the values, not of the sums) */
    size_t cap_sums;
} load_state;

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap != 0 ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (q == NULL)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int on_report_row(const attrib_value *cols, void *payload)
{
    load_state *ls = payload;
    const attrib_value *ch = &cols[ATTRIB_CR_CHANNEL], *dt = &cols[ATTRIB_CR_DATE];
    char row[128];
    snprintf(row, sizeof(row), "(channel_name '%.40s', date '%.12s')",
             ch->type == ATTRIB_V_TEXT ? ch->s : "?", dt->type == ATTRIB_V_TEXT ? dt->s : "?");
    int32_t day;
    if (ch->type != ATTRIB_V_TEXT || dt->type != ATTRIB_V_TEXT ||
        attrib_date_parse(dt->s, dt->len, &day) != 0)
        return attrib__error(ls->ctx, ATTRIB_EDATA,
                             "channel_reporting row %s: bad channel_name or date; rerun "
                             "`attrib report` to rebuild the table",
                             row);
    attrib__html_day r = {0};
    int rc =
        attrib__number(ls->ctx, &cols[ATTRIB_CR_COST], &r.cost, "channel_reporting", "cost", row);
    if (rc == ATTRIB_OK)
        rc = attrib__number(ls->ctx, &cols[ATTRIB_CR_IHC], &r.ihc, "channel_reporting", "ihc", row);
    if (rc == ATTRIB_OK)
        rc = attrib__number(ls->ctx, &cols[ATTRIB_CR_IHC_REVENUE], &r.revenue, "channel_reporting",
                            "ihc_revenue", row);
    if (rc != ATTRIB_OK)
        return rc;
    attrib__html_data *d = ls->d;
    if (grow((void **)&d->days, &ls->cap, d->n_days + 1, sizeof(*d->days)) != 0 ||
        (r.channel = strndup(ch->s, ch->len)) == NULL)
        return attrib__error(ls->ctx, ATTRIB_ENOMEM, "out of memory reading the report");
    memcpy(r.date, dt->s, 10);
    d->days[d->n_days++] = r;
    return ATTRIB_OK;
}

static int cmp_day(const void *x, const void *y)
{
    const attrib__html_day *a = x, *b = y;
    int c = strcmp(a->channel, b->channel);
    return c != 0 ? c : strcmp(a->date, b->date);
}

int attrib__html_load_report(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                             attrib__html_data *d)
{
    load_state ls = {.ctx = ctx, .opts = opts, .d = d};
    attrib_scan sel = {.start_date = opts->start_date, .end_date = opts->end_date};
    int rc = attrib__report_scan(st, &sel, on_report_row, &ls);
    if (rc == ATTRIB_OK && d->n_days > 1)
        qsort(d->days, d->n_days, sizeof(*d->days), cmp_day);
    return rc;
}

/* ---- phases ---- */

enum { PH_CHANNEL, PH_DATE, PH_INIT, PH_HOLDER, PH_CLOSER, PH_NCOLS };

/* The phase values of the current attribution rows, with their session's channel and date
 * (the range follows, on the session's date). */
static const char phases_sql[] =
    "SELECT s.channel_name, s.event_date, p.initializer, p.holder, p.closer"
    " FROM attrib_journey_phases p"
    " JOIN attribution_customer_journey a ON a.conv_id = p.conv_id AND a.session_id = p.session_id"
    " JOIN session_sources s ON s.session_id = p.session_id WHERE 1=1";

static int on_phase_row(const attrib_value *cols, void *payload)
{
    load_state *ls = payload;
    const attrib_value *ch = &cols[PH_CHANNEL], *dt = &cols[PH_DATE];
    if (ch->type != ATTRIB_V_TEXT || dt->type != ATTRIB_V_TEXT)
        return ATTRIB_OK; /* a bad session row: the journeys' read rejects or skips it */
    char row[128];
    snprintf(row, sizeof(row), "(channel_name '%.40s', date '%.12s')", ch->s, dt->s);
    double v[3];
    static const char *const names[] = {"initializer", "holder", "closer"};
    for (int k = 0; k < 3; k++) {
        int rc = attrib__number(ls->ctx, &cols[PH_INIT + k], &v[k], "attrib_journey_phases",
                                names[k], row);
        if (rc != ATTRIB_OK)
            return rc;
    }
    int added = 0;
    int64_t i = attrib_strmap_intern(&ls->channels, ch->s, ch->len, &added);
    if (i < 0 || grow((void **)&ls->sums, &ls->cap_sums, 3 * ((size_t)i + 1), sizeof(*ls->sums)))
        return attrib__error(ls->ctx, ATTRIB_ENOMEM, "out of memory reading phase values");
    if (added) /* its sums start at 0 */
        for (int k = 0; k < 3; k++)
            ls->sums[3 * (size_t)i + (size_t)k] = (attrib_fsum)ATTRIB_FSUM_INIT;
    for (int k = 0; k < 3; k++) {
        attrib_fsum_add(&ls->sums[3 * (size_t)i + (size_t)k], v[k]);
        attrib_fsum_add(&ls->total[k], v[k]);
    }
    return ATTRIB_OK;
}

static int cmp_phase(const void *x, const void *y)
{
    return strcmp(((const attrib__html_phase *)x)->channel,
                  ((const attrib__html_phase *)y)->channel);
}

int attrib__html_load_phases(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                             attrib__html_data *d)
{
    load_state ls = {.ctx = ctx, .opts = opts, .d = d};
    for (int k = 0; k < 3; k++)
        ls.total[k] = (attrib_fsum)ATTRIB_FSUM_INIT;
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    attrib_value params[2];
    int n = 0, e = attrib_buf_adds(&sql, phases_sql);
    if (opts->start_date != NULL) {
        params[n++] = attrib__text(opts->start_date);
        e |= attrib_buf_printf(&sql, " AND s.event_date%s >= ?%d", st->ops->bytewise, n);
    }
    if (opts->end_date != NULL) {
        params[n++] = attrib__text(opts->end_date);
        e |= attrib_buf_printf(&sql, " AND s.event_date%s <= ?%d", st->ops->bytewise, n);
    }
    int rc = e != 0 ? attrib__error(ctx, ATTRIB_ENOMEM, "out of memory")
                    : st->ops->query(st->impl, attrib_buf_cstr(&sql), params, n, PH_NCOLS,
                                     on_phase_row, &ls, "reading attrib_journey_phases");
    attrib_buf_free(&sql);
    size_t nc = ls.channels.count;
    if (rc == ATTRIB_OK && nc > 0 && (d->phases = calloc(nc, sizeof(*d->phases))) == NULL)
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory reading phase values");
    for (size_t i = 0; rc == ATTRIB_OK && i < nc; i++) {
        attrib__html_phase *p = &d->phases[d->n_phases];
        if ((p->channel = strdup(ls.channels.keys[i])) == NULL) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory reading phase values");
            break;
        }
        p->initializer = attrib_fsum_value(&ls.sums[3 * i]);
        p->holder = attrib_fsum_value(&ls.sums[3 * i + 1]);
        p->closer = attrib_fsum_value(&ls.sums[3 * i + 2]);
        d->n_phases++;
    }
    for (int k = 0; k < 3; k++)
        d->phase_total[k] = attrib_fsum_value(&ls.total[k]);
    if (rc == ATTRIB_OK && d->n_phases > 1)
        qsort(d->phases, d->n_phases, sizeof(*d->phases), cmp_phase);
    free(ls.sums);
    attrib_strmap_free(&ls.channels);
    return rc;
}

/* ---- journeys ---- */

/* Upper bounds (seconds, exclusive) of the time-to-conversion buckets but the last. */
static const int64_t ttc_bounds[ATTRIB__HTML_TTC - 1] = {
    3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 60 * 86400, 90 * 86400};

/* A journey's channels, a run of one channel as "name ×n", joined by " › ". */
static int path_of(const attrib_journey *j, const attrib_channels *ch, attrib_buf *b)
{
    attrib_buf_reset(b);
    int rc = 0;
    for (size_t k = 0; k < j->n;) {
        size_t run = 1;
        while (k + run < j->n && j->sessions[k + run].channel == j->sessions[k].channel)
            run++;
        if (k > 0)
            rc |= attrib_buf_adds(b, " › ");
        rc |= attrib_buf_adds(b, ch->names[j->sessions[k].channel]);
        if (run > 1)
            rc |= attrib_buf_printf(b, " ×%zu", run);
        k += run;
    }
    return rc;
}

typedef struct {
    uint64_t count;
    const char *key;
    uint32_t index;
} path_rank;

static int cmp_rank(const void *x, const void *y)
{
    const path_rank *a = x, *b = y;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return strcmp(a->key, b->key);
}

int attrib__html_journeys(attrib_ctx *ctx, const attrib__dataset *ds, size_t top,
                          attrib__html_data *d)
{
    attrib_channels ch = attrib__dataset_channels(ds);
    attrib_strmap paths = ATTRIB_STRMAP_INIT;
    attrib_buf b = ATTRIB_BUF_INIT(0);
    uint64_t *count = NULL;
    size_t cap = 0;
    path_rank *rank = NULL;
    int32_t *slot = NULL; /* path index → position in d->paths, or -1 */
    attrib_fsum *rev = NULL;
    int rc = ATTRIB_OK;
    attrib_fsum unrev = ATTRIB_FSUM_INIT;
    for (size_t i = 0; i < ds->n_unattributable; i++)
        attrib_fsum_add(&unrev, ds->unattributable[i].revenue);
    d->n_unattributable = ds->n_unattributable;
    d->unattributable_revenue = attrib_fsum_value(&unrev);
    d->n_journeys = ds->n_journeys;
    d->conversions_selected = ds->n_journeys + ds->n_unattributable;
    d->bad_rows = ds->bad_sessions + ds->bad_conversions;
    for (size_t j = 0; j < ds->n_journeys && rc == ATTRIB_OK; j++) {
        const attrib_journey *jr = &ds->journeys[j];
        d->lengths[jr->n < ATTRIB__HTML_MAX_LEN ? jr->n : ATTRIB__HTML_MAX_LEN]++;
        int64_t dt = jr->n > 0 ? jr->ts - jr->sessions[0].ts : 0;
        size_t t = 0;
        while (t < ATTRIB__HTML_TTC - 1 && dt >= ttc_bounds[t])
            t++;
        d->ttc[t]++;
        int64_t p = -1;
        int added = 0;
        if (path_of(jr, &ch, &b) == 0)
            p = attrib_strmap_intern(&paths, attrib_buf_cstr(&b), b.len, &added);
        if (p < 0 || grow((void **)&count, &cap, paths.count, sizeof(*count)) != 0) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory counting paths");
            break;
        }
        count[p] = added ? 1 : count[p] + 1;
    }
    size_t np = paths.count;
    d->n_distinct_paths = np;
    if (rc != ATTRIB_OK || np == 0 || top == 0)
        goto done;
    rank = malloc(np * sizeof(*rank));
    slot = malloc(np * sizeof(*slot));
    if (rank == NULL || slot == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory ranking paths");
        goto done;
    }
    for (size_t i = 0; i < np; i++) {
        rank[i] = (path_rank){.count = count[i], .key = paths.keys[i], .index = (uint32_t)i};
        slot[i] = -1;
    }
    qsort(rank, np, sizeof(*rank), cmp_rank);
    size_t n = top < np ? top : np;
    d->paths = calloc(n, sizeof(*d->paths));
    rev = calloc(n, sizeof(*rev));
    if (d->paths == NULL || rev == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory ranking paths");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        d->paths[i].journeys = rank[i].count;
        if ((d->paths[i].path = strdup(rank[i].key)) == NULL) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory ranking paths");
            goto done;
        }
        d->n_paths++;
        slot[rank[i].index] = (int32_t)i;
    }
    /* Revenue of the top paths only: a correctly rounded sum per path. */
    for (size_t j = 0; j < ds->n_journeys; j++) {
        const attrib_journey *jr = &ds->journeys[j];
        if (path_of(jr, &ch, &b) != 0) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory counting paths");
            goto done;
        }
        int64_t p = attrib_strmap_find(&paths, attrib_buf_cstr(&b), b.len);
        if (p >= 0 && slot[p] >= 0)
            attrib_fsum_add(&rev[slot[p]], jr->revenue);
    }
    for (size_t i = 0; i < n; i++)
        d->paths[i].revenue = attrib_fsum_value(&rev[i]);
done:
    free(rev);
    free(slot);
    free(rank);
    free(count);
    attrib_buf_free(&b);
    attrib_strmap_free(&paths);
    return rc;
}
