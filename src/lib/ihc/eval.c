/*
 * attrib eval: run the "ihc" model on recorded requests and measure it
 * against the recorded responses — per phase, by journey length, worst
 * journeys and per-channel totals.
 */
#include "attrib/ihc_fit.h"

#include "lib/core/ctx.h"
#include "lib/ihc/fitdata.h"
#include "lib/model/models.h"
#include "lib/model/run.h"
#include "util/buf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_BUCKETS 5
static const char *const bucket_name[N_BUCKETS + 1] = {"1", "2", "3-4", "5-8", "9+", "all 2+"};
static const char *const qty_name[4] = {"ihc", "initializer", "holder", "closer"};

static int bucket_of(size_t n)
{
    return n <= 1 ? 0 : n == 2 ? 1 : n <= 4 ? 2 : n <= 8 ? 3 : 4;
}

typedef struct {
    size_t sessions, journeys;
    double sum[4], max[4];
    size_t in001[4], in01[4];
} stats;

typedef struct {
    size_t j;
    double err;
} worst_item;

static int cmp_worst(const void *a, const void *b)
{
    const worst_item *x = a, *y = b;
    if (x->err != y->err)
        return x->err < y->err ? 1 : -1;
    return x->j < y->j ? -1 : x->j > y->j;
}

static double qty(const attrib_credit *c, int q)
{
    return q == 0 ? c->ihc : q == 1 ? c->initializer : q == 2 ? c->holder : c->closer;
}

static bool selected(const attrib_ihc_dataset *ds, size_t j, attrib_ihc_split split, unsigned pct)
{
    if (split == ATTRIB_IHC_SPLIT_ALL)
        return true;
    bool held = attrib_ihc_held_out(ds->journeys[j].conv_id, pct);
    return split == ATTRIB_IHC_SPLIT_HOLDOUT ? held : !held;
}

static int report_text(attrib_buf *b, const attrib_ihc_dataset *ds, const stats *st,
                       const attrib_credit *pred, const worst_item *worst, size_t n_worst,
                       const double *chan_model, const double *chan_api)
{
    int rc = 0;
    for (int q = 0; q < 4; q++) {
        rc |= attrib_buf_printf(b, "%s\n  %-7s %8s %9s %10s %10s %9s %9s\n", qty_name[q], "length",
                                "journeys", "sessions", "MAE", "max", "<=0.001", "<=0.01");
        for (int k = 0; k <= N_BUCKETS; k++) {
            const stats *s = &st[k];
            if (s->sessions == 0)
                continue;
            double ns = (double)s->sessions;
            rc |= attrib_buf_printf(b, "  %-7s %8zu %9zu %10.6f %10.6f %8.2f%% %8.2f%%\n",
                                    bucket_name[k], s->journeys, s->sessions, s->sum[q] / ns,
                                    s->max[q], 100.0 * (double)s->in001[q] / ns,
                                    100.0 * (double)s->in01[q] / ns);
        }
    }
    rc |= attrib_buf_printf(b, "\nworst journeys (max |ihc error|)\n");
    for (size_t w = 0; w < n_worst; w++) {
        const attrib_journey *j = &ds->journeys[worst[w].j];
        size_t f = ds->first[worst[w].j];
        rc |= attrib_buf_printf(b, "  %.16s  %zu sessions  max error %.4f\n", j->conv_id, j->n,
                                worst[w].err);
        for (size_t k = 0; k < j->n; k++) {
            const attrib_session *s = &j->sessions[k];
            const attrib_credit *m = &pred[f + k], *a = &ds->target[f + k];
            double gap = k > 0 ? (double)(s->ts - j->sessions[k - 1].ts) / 3600.0 : 0.0;
            double to_end = (double)(j->sessions[j->n - 1].ts - s->ts) / 3600.0;
            rc |= attrib_buf_printf(
                b,
                "    %-24.24s h%u c%u gap %7.2fh to-end %7.2fh  I %.4f/%.4f  H %.4f/%.4f  "
                "C %.4f/%.4f  ihc %.4f/%.4f\n",
                ds->chan_view.names[s->channel], s->holder, s->closer, gap, to_end, m->initializer,
                a->initializer, m->holder, a->holder, m->closer, a->closer, m->ihc, a->ihc);
        }
    }
    rc |= attrib_buf_printf(b, "\nper channel (sum of ihc; model / API)\n");
    for (size_t c = 0; c < ds->chan_view.count; c++)
        rc |= attrib_buf_printf(b, "  %-28s %10.4f %10.4f %+9.4f\n", ds->chan_view.names[c],
                                chan_model[c], chan_api[c], chan_model[c] - chan_api[c]);
    return rc;
}

int attrib_ihc_eval(attrib_ctx *ctx, const attrib_ihc_dataset *ds,
                    const attrib_model_options *model_opts, const attrib_ihc_eval_options *opts,
                    attrib_ihc_eval_summary *summary, char **report)
{
    attrib__enter(ctx);
    int rc = ATTRIB_OK;
    attrib_model *m = NULL;
    attrib_credit *pred = NULL;
    unsigned char *want = NULL; /* want[j]: journey j is in the split */
    worst_item *worst = NULL;
    double *chan_model = NULL, *chan_api = NULL;
    attrib_buf b = ATTRIB_BUF_INIT(0);
    attrib_ihc_eval_options defaults = ATTRIB_IHC_EVAL_OPTIONS_INIT;
    if (opts == NULL)
        opts = &defaults;
    unsigned pct = opts->holdout_percent != 0 ? opts->holdout_percent : ATTRIB_IHC_HOLDOUT_PERCENT;
    attrib_model_options mo = *model_opts;
    mo.api_rounding = true;
    stats st[N_BUCKETS + 1];
    memset(st, 0, sizeof(st));

    rc = attrib_model_new(ctx, &attrib_model_ihc, &mo, &m);
    if (rc == ATTRIB_OK)
        rc = attrib_model_bind(m, ctx, &ds->chan_view);
    if (rc != ATTRIB_OK)
        goto done;
    pred = calloc(ds->n_sessions + 1, sizeof(*pred));
    want = calloc(ds->n_journeys + 1, 1);
    worst = calloc(ds->n_journeys + 1, sizeof(*worst));
    chan_model = calloc(ds->chan_view.count + 1, sizeof(double));
    chan_api = calloc(ds->chan_view.count + 1, sizeof(double));
    if (pred == NULL || want == NULL || worst == NULL || chan_model == NULL || chan_api == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < ds->n_journeys; j++)
        want[j] = selected(ds, j, opts->split, pct);
    attrib__model_run_opts ro = ATTRIB__MODEL_RUN_OPTS_INIT;
    ro.want = want;
    ro.rounded = mo.api_rounding;
    rc = attrib__model_run(ctx, m, ds->journeys, ds->n_journeys, ds->first, pred, &ro);
    if (rc != ATTRIB_OK)
        goto done;
    size_t n_worst = 0;
    for (size_t j = 0; j < ds->n_journeys; j++) {
        if (!want[j])
            continue;
        const attrib_journey *jr = &ds->journeys[j];
        size_t f = ds->first[j];
        int bk = bucket_of(jr->n);
        double jmax = 0.0;
        for (int pass = 0; pass < 2; pass++) {
            stats *s = pass == 0 ? &st[bk] : &st[N_BUCKETS];
            if (pass == 1 && jr->n < 2)
                break;
            s->journeys++;
            for (size_t k = 0; k < jr->n; k++) {
                s->sessions++;
                for (int q = 0; q < 4; q++) {
                    double e = fabs(qty(&pred[f + k], q) - qty(&ds->target[f + k], q));
                    s->sum[q] += e;
                    if (e > s->max[q])
                        s->max[q] = e;
                    s->in001[q] += e <= 0.001 + 1e-12;
                    s->in01[q] += e <= 0.01 + 1e-12;
                    if (q == 0 && e > jmax)
                        jmax = e;
                }
            }
        }
        for (size_t k = 0; k < jr->n; k++) {
            chan_model[jr->sessions[k].channel] += pred[f + k].ihc;
            chan_api[jr->sessions[k].channel] += ds->target[f + k].ihc;
        }
        if (jr->n >= 2)
            worst[n_worst++] = (worst_item){j, jmax};
    }
    qsort(worst, n_worst, sizeof(*worst), cmp_worst);
    if (n_worst > opts->worst)
        n_worst = opts->worst;
    if (summary != NULL) {
        const stats *s = &st[N_BUCKETS];
        memset(summary, 0, sizeof(*summary));
        summary->journeys = s->journeys;
        summary->sessions = s->sessions;
        for (int q = 0; q < 4 && s->sessions > 0; q++) {
            summary->mae[q] = s->sum[q] / (double)s->sessions;
            summary->max[q] = s->max[q];
            summary->within_001[q] = (double)s->in001[q] / (double)s->sessions;
            summary->within_01[q] = (double)s->in01[q] / (double)s->sessions;
        }
    }
    if (report != NULL) {
        if (report_text(&b, ds, st, pred, worst, n_worst, chan_model, chan_api) != 0 ||
            attrib_buf_failed(&b)) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
        *report = attrib_buf_take(&b);
        if (*report == NULL) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
    }
done:
    attrib_buf_free(&b);
    free(chan_model);
    free(chan_api);
    free(worst);
    free(want);
    free(pred);
    attrib_model_free(m);
    return attrib__leave(ctx, rc);
}
