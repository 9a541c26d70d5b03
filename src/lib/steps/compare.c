/*
 * attrib compare: run several models over one load of the data and tabulate
 * credit, revenue, share and ROAS per channel (see include/attrib/compare.h),
 * plus the CSV, markdown and text writers.
 */
#include "attrib/compare.h"

#include "attrib/markov.h"
#include "lib/core/ctx.h"
#include "lib/journey/dataset.h"
#include "lib/model/run.h"
#include "lib/store/rows.h"
#include "util/buf.h"
#include "util/numfmt.h"
#include "util/ts.h"
#include "util/xsum.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int32_t from, to; /* selected dates (days), inclusive */
    attrib_xsum *cost;
    size_t cap;
} cost_state;

/* Σ cost per channel over the selected days, from the load's (channel, day) sums. */
static int channel_costs(attrib_ctx *ctx, const attrib__dataset *ds, cost_state *cs)
{
    size_t n = ds->channels.count;
    cs->cost = calloc(n > 0 ? n : 1, sizeof(*cs->cost));
    if (cs->cost == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    cs->cap = n;
    for (size_t i = 0; i < ds->costs.cap; i++) {
        const attrib__agg_cell *c = &ds->costs.cells[i];
        int32_t day = (int32_t)(uint32_t)(c->key & 0xffffffffu);
        if (c->used && day >= cs->from && day <= cs->to)
            attrib_xsum_merge(&cs->cost[c->key >> 32], &c->cost);
    }
    return ATTRIB_OK;
}

/* create → [observe all paths → finish] → bind */
static int fit(attrib_ctx *ctx, const attrib__dataset *ds, const attrib_run_options *opts,
               const attrib_model_ops *ops, attrib_model **out)
{
    attrib_model *m = NULL;
    int rc = attrib_model_new(ctx, ops, &opts->model_opts, &m);
    if (rc == ATTRIB_OK)
        rc = attrib__dataset_fit(ctx, ds, opts, m);
    if (rc != ATTRIB_OK) {
        attrib_model_free(m);
        return rc;
    }
    *out = m;
    return ATTRIB_OK;
}

static int load(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts, bool paths,
                cost_state *cs, attrib__dataset *ds)
{
    int rc = attrib_store_check(st, true);
    if (rc != ATTRIB_OK)
        return rc;
    cs->from = INT32_MIN;
    cs->to = INT32_MAX;
    if (opts->start_date != NULL &&
        attrib_date_parse(opts->start_date, strlen(opts->start_date), &cs->from) != 0)
        return attrib__error(ctx, ATTRIB_EINVAL, "start date '%s' is not a date YYYY-MM-DD",
                             opts->start_date);
    if (opts->end_date != NULL &&
        attrib_date_parse(opts->end_date, strlen(opts->end_date), &cs->to) != 0)
        return attrib__error(ctx, ATTRIB_EINVAL, "end date '%s' is not a date YYYY-MM-DD",
                             opts->end_date);
    ds->all_paths = paths;
    ds->want_costs = true;
    rc = attrib__dataset_load(ctx, st, opts, true, ds);
    return rc == ATTRIB_OK ? channel_costs(ctx, ds, cs) : rc;
}

int attrib_model_fit(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                     attrib_model **out)
{
    attrib__enter(ctx);
    const attrib_model_ops *ops = opts->model;
    if (ops == NULL && (ops = attrib_model_find("ihc")) == NULL)
        ops = attrib_model_list()[0];
    attrib__dataset ds = {0};
    cost_state cs = {0};
    int rc = load(ctx, st, opts, (ops->flags & ATTRIB_MODEL_NEEDS_PATHS) != 0, &cs, &ds);
    if (rc == ATTRIB_OK)
        rc = fit(ctx, &ds, opts, ops, out);
    free(cs.cost);
    attrib__dataset_free(&ds);
    return attrib__leave(ctx, rc);
}

void attrib_compare_free(attrib_compare_table *t)
{
    if (t == NULL)
        return;
    if (t->channels != NULL)
        for (size_t i = 0; i < t->n_channels; i++)
            free((char *)t->channels[i]);
    free(t->channels);
    free(t->models);
    free(t->cost);
    free(t->cells);
    free(t->total_conversions);
    free(t->total_revenue);
    free(t);
}

typedef struct {
    const char *const *names;
    uint32_t i;
} name_ix;

static int cmp_name_ix(const void *a, const void *b)
{
    return strcmp(((const name_ix *)a)->names[((const name_ix *)a)->i],
                  ((const name_ix *)b)->names[((const name_ix *)b)->i]);
}

/* Journeys per run of the model: bounds the credit buffer (compare keeps only sums). */
#define CHUNK 65536

/* Attribute every journey with m (lib/model/run.c: checked, on opts' threads); add credit into
 * acc[(channel row) * 2 + {0,1}] in journey order. */
static int tabulate(attrib_ctx *ctx, const attrib__dataset *ds, const attrib_model *m,
                    const attrib_run_options *opts, const uint32_t *row_of, attrib_xsum *acc)
{
    size_t cap = 0;
    attrib_credit *c = NULL;
    size_t *offset = malloc(CHUNK * sizeof(*offset));
    int rc = offset != NULL ? ATTRIB_OK : attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    attrib__model_run_opts ro = ATTRIB__MODEL_RUN_OPTS_INIT;
    ro.threads = attrib__threads(opts);
    ro.rounded = opts->model_opts.api_rounding;
    for (size_t from = 0; from < ds->n_journeys && rc == ATTRIB_OK; from += CHUNK) {
        const attrib_journey *js = &ds->journeys[from];
        size_t n = ds->n_journeys - from < CHUNK ? ds->n_journeys - from : CHUNK;
        size_t total = 0;
        for (size_t j = 0; j < n; j++) {
            offset[j] = total;
            total += js[j].n;
        }
        if (total > cap) {
            attrib_credit *nc = realloc(c, total * sizeof(*nc));
            if (nc == NULL) {
                rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
                break;
            }
            c = nc;
            cap = total;
        }
        rc = attrib__model_run(ctx, m, js, n, offset, c, &ro);
        for (size_t j = 0; j < n && rc == ATTRIB_OK; j++)
            for (size_t k = 0; k < js[j].n; k++) {
                const attrib_credit *ck = &c[offset[j] + k];
                uint32_t r = row_of[js[j].sessions[k].channel];
                attrib_xsum_add(&acc[r * 2], ck->ihc);
                attrib_xsum_add(&acc[r * 2 + 1], ck->ihc * js[j].revenue);
            }
    }
    free(offset);
    free(c);
    return rc;
}

int attrib_compare_run(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                       const attrib_model_ops *const *models, size_t n, attrib_compare_table **out)
{
    attrib__enter(ctx);
    if (n == 0)
        return attrib__error(ctx, ATTRIB_EINVAL, "no models to compare");
    attrib__dataset ds = {0};
    cost_state cs = {0};
    attrib_model *m = NULL;
    attrib_xsum *acc = NULL;
    name_ix *order = NULL;
    uint32_t *row_of = NULL;
    attrib_compare_table *t = NULL;
    bool paths = false;
    size_t ncol = n; /* every markov model gets a "markov-standard" column after it */
    for (size_t i = 0; i < n; i++) {
        paths = paths || (models[i]->flags & ATTRIB_MODEL_NEEDS_PATHS);
        ncol += strcmp(models[i]->name, "markov") == 0;
    }
    int rc = load(ctx, st, opts, paths, &cs, &ds);
    if (rc != ATTRIB_OK)
        goto done;
    attrib_channels ch = attrib__dataset_channels(&ds);
    size_t nc = ch.count;
    t = calloc(1, sizeof(*t));
    order = malloc((nc + 1) * sizeof(*order));
    row_of = malloc((nc + 1) * sizeof(*row_of));
    acc = malloc((nc * 2 + 1) * sizeof(*acc));
    if (t == NULL || order == NULL || row_of == NULL || acc == NULL)
        goto oom;
    t->n_models = ncol;
    t->n_channels = nc;
    t->models = calloc(ncol, sizeof(*t->models));
    t->channels = calloc(nc + 1, sizeof(*t->channels));
    t->cost = calloc(nc + 1, sizeof(*t->cost));
    t->cells = calloc(nc * ncol + 1, sizeof(*t->cells));
    t->total_conversions = calloc(ncol, sizeof(*t->total_conversions));
    t->total_revenue = calloc(ncol, sizeof(*t->total_revenue));
    if (t->models == NULL || t->channels == NULL || t->cost == NULL || t->cells == NULL ||
        t->total_conversions == NULL || t->total_revenue == NULL)
        goto oom;
    for (uint32_t i = 0; i < nc; i++)
        order[i] = (name_ix){ch.names, i};
    qsort(order, nc, sizeof(*order), cmp_name_ix);
    for (uint32_t r = 0; r < nc; r++) {
        row_of[order[r].i] = r;
        if ((t->channels[r] = strdup(ch.names[order[r].i])) == NULL)
            goto oom;
        t->cost[r] = order[r].i < cs.cap ? attrib_xsum_value(&cs.cost[order[r].i]) : 0;
    }
    for (size_t i = 0, col = 0; i < n; i++, col++) {
        t->models[col] = models[i]->name;
        for (size_t r = 0; r < nc * 2; r++)
            acc[r] = (attrib_xsum)ATTRIB_XSUM_INIT;
        attrib__progress(ctx, models[i]->name, i, n);
        rc = fit(ctx, &ds, opts, models[i], &m);
        if (rc == ATTRIB_OK)
            rc = tabulate(ctx, &ds, m, opts, row_of, acc);
        if (rc != ATTRIB_OK)
            goto done;
        attrib_xsum tc = ATTRIB_XSUM_INIT, tr = ATTRIB_XSUM_INIT;
        for (size_t r = 0; r < nc; r++) {
            attrib_xsum_merge(&tc, &acc[r * 2]);
            attrib_xsum_merge(&tr, &acc[r * 2 + 1]);
        }
        t->total_conversions[col] = attrib_xsum_value(&tc);
        t->total_revenue[col] = attrib_xsum_value(&tr);
        for (size_t r = 0; r < nc; r++) {
            attrib_compare_cell *cell = &t->cells[r * ncol + col];
            cell->conversions = attrib_xsum_value(&acc[r * 2]);
            cell->revenue = attrib_xsum_value(&acc[r * 2 + 1]);
        }
        const attrib_markov_info *mi = attrib_markov_info_of(m);
        if (mi != NULL) {
            /* The standard totals of the selected journeys: removal-effect shares (of
             * conversions, of revenue) × their conversions and revenue. */
            col++;
            t->models[col] = "markov-standard";
            t->total_conversions[col] = t->total_conversions[col - 1];
            t->total_revenue[col] = t->total_revenue[col - 1];
            for (size_t r = 0; r < nc; r++) {
                attrib_compare_cell *cell = &t->cells[r * ncol + col];
                size_t k = 0; /* both lists are sorted by strcmp */
                while (k < mi->n_channels && strcmp(mi->channels[k], t->channels[r]) != 0)
                    k++;
                bool known = k < mi->n_channels;
                cell->conversions =
                    known ? mi->share_conversions[k] * t->total_conversions[col] : 0;
                cell->revenue = known ? mi->share_revenue[k] * t->total_revenue[col] : 0;
            }
        }
        attrib_model_free(m);
        m = NULL;
    }
    for (size_t col = 0; col < ncol; col++)
        for (size_t r = 0; r < nc; r++) {
            attrib_compare_cell *cell = &t->cells[r * ncol + col];
            cell->share =
                t->total_conversions[col] > 0 ? cell->conversions / t->total_conversions[col] : 0;
            cell->roas = t->cost[r] > 0 ? cell->revenue / t->cost[r] : NAN;
        }
    *out = t;
    t = NULL;
    goto done;
oom:
    rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory comparing models");
done:
    attrib_model_free(m);
    attrib_compare_free(t);
    free(acc);
    free(order);
    free(row_of);
    free(cs.cost);
    attrib__dataset_free(&ds);
    return attrib__leave(ctx, rc);
}

/* ---- writers ---- */

static int flush(attrib_buf *b, attrib_write_fn write, void *payload, bool final)
{
    if (attrib_buf_failed(b))
        return ATTRIB_ENOMEM;
    if (b->len < 65536 && !final)
        return ATTRIB_OK;
    int rc = b->len > 0 ? write(b->data, b->len, payload) : ATTRIB_OK;
    attrib_buf_reset(b);
    return rc;
}

static int num(attrib_buf *b, double x)
{
    char s[ATTRIB_NUMFMT_MAX];
    size_t n = attrib_numfmt(x, s);
    return attrib_buf_add(b, s, n);
}

/* CSV field with quotes when needed (RFC 4180). */
static int csv_field(attrib_buf *b, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL)
        return attrib_buf_adds(b, s);
    int rc = attrib_buf_addc(b, '"');
    for (const char *p = s; *p != '\0' && rc == 0; p++)
        rc = *p == '"' ? attrib_buf_adds(b, "\"\"") : attrib_buf_addc(b, *p);
    return rc == 0 ? attrib_buf_addc(b, '"') : rc;
}

static int write_csv(const attrib_compare_table *t, attrib_write_fn write, void *payload)
{
    attrib_buf b = ATTRIB_BUF_INIT(0);
    int rc = 0;
    (void)!attrib_buf_adds(&b, "channel,model,conversions,revenue,share,cost,roas\n");
    for (size_t r = 0; r < t->n_channels && rc == 0; r++)
        for (size_t m = 0; m < t->n_models && rc == 0; m++) {
            const attrib_compare_cell *c = &t->cells[r * t->n_models + m];
            (void)!csv_field(&b, t->channels[r]);
            (void)!attrib_buf_addc(&b, ',');
            (void)!csv_field(&b, t->models[m]);
            (void)!attrib_buf_addc(&b, ',');
            (void)!num(&b, c->conversions);
            (void)!attrib_buf_addc(&b, ',');
            (void)!num(&b, c->revenue);
            (void)!attrib_buf_addc(&b, ',');
            (void)!num(&b, c->share);
            (void)!attrib_buf_addc(&b, ',');
            (void)!num(&b, t->cost[r]);
            (void)!attrib_buf_addc(&b, ',');
            if (!isnan(c->roas))
                (void)!num(&b, c->roas);
            (void)!attrib_buf_addc(&b, '\n');
            rc = flush(&b, write, payload, false);
        }
    if (rc == 0)
        rc = flush(&b, write, payload, true);
    attrib_buf_free(&b);
    return rc;
}

/* Markdown cell text: '|' escaped. */
static int md_text(attrib_buf *b, const char *s)
{
    int rc = 0;
    for (const char *p = s; *p != '\0' && rc == 0; p++)
        rc = *p == '|' ? attrib_buf_adds(b, "\\|") : attrib_buf_addc(b, *p);
    return rc;
}

static int write_markdown(const attrib_compare_table *t, attrib_write_fn write, void *payload)
{
    attrib_buf b = ATTRIB_BUF_INIT(0);
    int rc = 0;
    (void)!attrib_buf_adds(&b, "| channel | model | conversions | revenue | share | cost | ROAS |\n"
                               "|---|---|---:|---:|---:|---:|---:|\n");
    for (size_t r = 0; r < t->n_channels && rc == 0; r++)
        for (size_t m = 0; m < t->n_models && rc == 0; m++) {
            const attrib_compare_cell *c = &t->cells[r * t->n_models + m];
            (void)!attrib_buf_adds(&b, "| ");
            (void)!md_text(&b, t->channels[r]);
            (void)!attrib_buf_adds(&b, " | ");
            (void)!md_text(&b, t->models[m]);
            (void)!attrib_buf_printf(&b, " | %.2f | %.2f | %.1f%% | %.2f | ", c->conversions,
                                     c->revenue, 100 * c->share, t->cost[r]);
            if (!isnan(c->roas))
                (void)!attrib_buf_printf(&b, "%.2f", c->roas);
            (void)!attrib_buf_adds(&b, " |\n");
            rc = flush(&b, write, payload, false);
        }
    if (rc == 0)
        rc = flush(&b, write, payload, true);
    attrib_buf_free(&b);
    return rc;
}

static int write_text(const attrib_compare_table *t, attrib_write_fn write, void *payload)
{
    attrib_buf b = ATTRIB_BUF_INIT(0);
    int rc = 0;
    int cw = 7, mw = 5;
    for (size_t r = 0; r < t->n_channels; r++)
        cw = (int)strlen(t->channels[r]) > cw ? (int)strlen(t->channels[r]) : cw;
    for (size_t m = 0; m < t->n_models; m++)
        mw = (int)strlen(t->models[m]) > mw ? (int)strlen(t->models[m]) : mw;
    (void)!attrib_buf_printf(&b, "%-*s  %-*s  %12s  %14s  %6s  %14s  %8s\n", cw, "channel", mw,
                             "model", "conversions", "revenue", "share", "cost", "ROAS");
    for (size_t r = 0; r < t->n_channels && rc == 0; r++) {
        for (size_t m = 0; m < t->n_models && rc == 0; m++) {
            const attrib_compare_cell *c = &t->cells[r * t->n_models + m];
            (void)!attrib_buf_printf(&b, "%-*s  %-*s  %12.2f  %14.2f  %5.1f%%  ", cw,
                                     m == 0 ? t->channels[r] : "", mw, t->models[m], c->conversions,
                                     c->revenue, 100 * c->share);
            if (m == 0)
                (void)!attrib_buf_printf(&b, "%14.2f  ", t->cost[r]);
            else
                (void)!attrib_buf_printf(&b, "%14s  ", "");
            if (isnan(c->roas))
                (void)!attrib_buf_printf(&b, "%8s\n", "-");
            else
                (void)!attrib_buf_printf(&b, "%8.2f\n", c->roas);
            rc = flush(&b, write, payload, false);
        }
    }
    for (size_t m = 0; m < t->n_models && rc == 0; m++)
        (void)!attrib_buf_printf(&b, "%-*s  %-*s  %12.2f  %14.2f\n", cw, m == 0 ? "total" : "", mw,
                                 t->models[m], t->total_conversions[m], t->total_revenue[m]);
    if (rc == 0)
        rc = flush(&b, write, payload, true);
    attrib_buf_free(&b);
    return rc;
}

static const attrib_compare_writer writers[] = {
    {"csv", write_csv},
    {"markdown", write_markdown},
    {"text", write_text},
};

const attrib_compare_writer *attrib_compare_writer_find(const char *name)
{
    for (size_t i = 0; i < sizeof(writers) / sizeof(writers[0]); i++)
        if (strcmp(writers[i].name, name) == 0)
            return &writers[i];
    return NULL;
}
