/*
 * attrib calibrate: fit the IHC engine's parameters to recorded API calls.
 *
 * 1. Phase weights: closed-form least squares of the API's ihc on its own
 *    phase values (journeys with a non-empty holder phase), scaled to sum 1.
 * 2. Membership tables on knots (hours) at anchors and quantiles of the
 *    observed hours: least squares of the observed ratios I_k/I_start over the gap and C_k/C_last
 * over the time to the conversion, with a small second-difference penalty so knots without data
 * follow their neighbours.
 * 3. Coordinate descent (per-parameter step that grows on success and
 *    shrinks on failure) on the squared error of ihc, initializer, holder
 *    and closer over all sessions, over every membership knot, every
 *    channel weight and every free cell of the holder grid.
 * 4. Channel weights rescaled per phase to a geometric mean of 1.
 * All of it is deterministic: knots from sorted data, fixed parameter
 * order, no randomness.
 */
#include "attrib/ihc_fit.h"

#include "lib/core/ctx.h"
#include "lib/ihc/fitdata.h"
#include "lib/ihc/engine.h"
#include "lib/model/linsolve.h"
#include "util/buf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Knots (hours) of the fitted tables: anchors plus the quantiles of the
 * hours observed in the training data, so knots are dense where data is.
 * The initializer is 0 up to 49.9 h (no credit seen below 50 h) and 1 from
 * 368 h (docs/ihc-api.md §8.4; beyond the data's reach, so it restarts
 * nothing here); the closer is 1 at 0 h and 0 from 336 h (our choice). */
#define N_QI 60  /* quantile knots of the initializer */
#define N_QC 110 /* quantile knots of the closer */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Knots = lo_anchors, quantiles of xs (sorted; those in (lo, hi)), hi anchor. */
static size_t make_knots(double *out, const double *anchors, size_t n_anchors, double hi,
                         double *xs, size_t n_xs, size_t n_q)
{
    size_t n = 0;
    for (size_t k = 0; k < n_anchors; k++)
        out[n++] = anchors[k];
    double lo = anchors[n_anchors - 1];
    qsort(xs, n_xs, sizeof(*xs), cmp_double);
    size_t first = 0, last = n_xs;
    while (first < n_xs && xs[first] <= lo + 0.01)
        first++;
    while (last > first && xs[last - 1] >= hi - 0.01)
        last--;
    size_t m = last - first;
    for (size_t q = 1; q <= n_q && m > 0; q++) {
        size_t idx = first + (q * m) / (n_q + 1);
        double x = xs[idx < last ? idx : last - 1];
        if (x > out[n - 1] + 0.01 && x < hi - 0.01)
            out[n++] = x;
    }
    out[n++] = hi;
    return n;
}

typedef struct {
    const attrib_ihc_dataset *ds;
    size_t *jobs; /* training journeys with 2+ sessions */
    size_t n_jobs;
    attrib_ihc_params *p;
    attrib_ihc_chan *chans;
    attrib_credit *pred;
    double lambda_g; /* holder grid smoothness */
    double lambda_w; /* channel weights toward 1 */
} fit_state;

/* Second differences of the holder grid along both axes, and channel
 * weights' distance from 1: keeps cells and channels with little data
 * from chasing noise. */
static double penalty(const fit_state *fs)
{
    const attrib_ihc_params *p = fs->p;
    size_t n = p->g_n;
    double sg = 0.0, sw = 0.0;
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < n; b++) {
            double v = p->g[a * n + b];
            if (a > 0 && a + 1 < n) {
                double d = p->g[(a - 1) * n + b] - 2.0 * v + p->g[(a + 1) * n + b];
                sg += d * d;
            }
            if (b > 0 && b + 1 < n) {
                double d = p->g[a * n + b - 1] - 2.0 * v + p->g[a * n + b + 1];
                sg += d * d;
            }
        }
    for (size_t c = 0; c < fs->ds->chan_view.count; c++)
        for (int q = 0; q < 3; q++)
            sw += (fs->chans[c].w[q] - 1.0) * (fs->chans[c].w[q] - 1.0);
    return fs->lambda_g * sg * (double)(n - 1) * (double)(n - 1) + fs->lambda_w * sw;
}

static double objective(const fit_state *fs)
{
    double sum = 0.0;
    const attrib_ihc_dataset *ds = fs->ds;
    for (size_t i = 0; i < fs->n_jobs; i++) {
        size_t j = fs->jobs[i], f = ds->first[j];
        const attrib_journey *jr = &ds->journeys[j];
        attrib__ihc_compute(fs->p, fs->chans, ds->chan_view.count, NULL, false, jr->sessions, jr->n,
                            fs->pred + f);
        for (size_t k = 0; k < jr->n; k++) {
            const attrib_credit *m = &fs->pred[f + k], *a = &ds->target[f + k];
            double e0 = m->ihc - a->ihc, e1 = m->initializer - a->initializer,
                   e2 = m->holder - a->holder, e3 = m->closer - a->closer;
            sum += 2.0 * e0 * e0 + e1 * e1 + e2 * e2 + e3 * e3;
        }
    }
    return sum + penalty(fs);
}

/* Solve a x = b in place of b (a is n×n row-major) with the shared dense LU
 * of linsolve.c; false when the matrix is singular or memory runs out. */
static bool solve(double *a, double *b, size_t n)
{
    attrib__lu f = {0};
    double *x = malloc(n * sizeof(*x));
    bool ok =
        x != NULL && attrib__lu_factor(&f, a, n) == 0 && attrib__lu_solve(&f, a, b, x, NULL) == 0;
    if (ok)
        memcpy(b, x, n * sizeof(*x));
    attrib__lu_free(&f);
    free(x);
    return ok;
}

/* Accumulates least squares of a piecewise-linear table on fixed knots;
 * knot 0 and the last knot are fixed at y0 and y1. */
typedef struct {
    size_t n;
    const double *x;
    double y_first, y_last;
    double ata[ATTRIB_IHC_MAX_KNOTS * ATTRIB_IHC_MAX_KNOTS], atb[ATTRIB_IHC_MAX_KNOTS];
} table_ls;

static void table_ls_add(table_ls *t, double x, double r, double w)
{
    double basis[ATTRIB_IHC_MAX_KNOTS] = {0};
    if (x <= t->x[0])
        basis[0] = 1.0;
    else if (x >= t->x[t->n - 1])
        basis[t->n - 1] = 1.0;
    else
        for (size_t k = 0; k + 1 < t->n; k++)
            if (x >= t->x[k] && x <= t->x[k + 1]) {
                double f = (x - t->x[k]) / (t->x[k + 1] - t->x[k]);
                basis[k] = 1.0 - f;
                basis[k + 1] = f;
                break;
            }
    for (size_t a = 0; a < t->n; a++) {
        if (basis[a] == 0.0)
            continue;
        t->atb[a] += w * basis[a] * r;
        for (size_t b = 0; b < t->n; b++)
            t->ata[a * t->n + b] += w * basis[a] * basis[b];
    }
}

/* Solve with a second-difference penalty lambda and the fixed ends. */
static void table_ls_solve(table_ls *t, double lambda, attrib_ihc_table *out, bool cap_below_1)
{
    size_t n = t->n;
    for (size_t k = 1; k + 1 < n; k++) { /* rows of the slope difference at knot k */
        double d[ATTRIB_IHC_MAX_KNOTS] = {0};
        double h0 = t->x[k] - t->x[k - 1], h1 = t->x[k + 1] - t->x[k];
        double s = (h0 + h1) / 2.0;
        d[k - 1] = s / h0;
        d[k] = -s / h0 - s / h1;
        d[k + 1] = s / h1;
        for (size_t a = k - 1; a <= k + 1; a++)
            for (size_t b = k - 1; b <= k + 1; b++)
                t->ata[a * n + b] += lambda * d[a] * d[b];
    }
    /* Fix the ends: replace their rows by identity. */
    size_t fixed[2] = {0, n - 1};
    double val[2] = {t->y_first, t->y_last};
    for (int e = 0; e < 2; e++) {
        size_t f = fixed[e];
        for (size_t a = 0; a < n; a++) {
            if (a == f)
                continue;
            t->atb[a] -= t->ata[a * n + f] * val[e];
            t->ata[a * n + f] = 0.0;
        }
        for (size_t b = 0; b < n; b++)
            t->ata[f * n + b] = b == f ? 1.0 : 0.0;
        t->atb[f] = val[e];
    }
    if (!solve(t->ata, t->atb, n))
        for (size_t k = 0; k < n; k++)
            t->atb[k] = t->y_first + (t->y_last - t->y_first) * (double)k / (double)(n - 1);
    out->n = n;
    for (size_t k = 0; k < n; k++) {
        double y = t->atb[k];
        y = y < 0.0 ? 0.0 : y > 1.0 ? 1.0 : y;
        if (cap_below_1 && k + 1 < n && y > 0.999999)
            y = 0.999999;
        out->x[k] = t->x[k];
        out->y[k] = y;
    }
}

static void fit_phase_weights(const fit_state *fs, double w[3])
{
    double a[9] = {0}, b[3] = {0};
    const attrib_ihc_dataset *ds = fs->ds;
    for (size_t i = 0; i < fs->n_jobs; i++) {
        size_t j = fs->jobs[i], f = ds->first[j];
        const attrib_journey *jr = &ds->journeys[j];
        bool holder = false;
        for (size_t k = 0; k < jr->n; k++)
            holder |= ds->target[f + k].holder > 0.0;
        if (!holder)
            continue;
        for (size_t k = 0; k < jr->n; k++) {
            const attrib_credit *t = &ds->target[f + k];
            double x[3] = {t->initializer, t->holder, t->closer};
            for (int r = 0; r < 3; r++) {
                b[r] += x[r] * t->ihc;
                for (int c = 0; c < 3; c++)
                    a[r * 3 + c] += x[r] * x[c];
            }
        }
    }
    if (!solve(a, b, 3) || !(b[0] > 0 && b[1] > 0 && b[2] > 0)) {
        w[0] = w[1] = w[2] = 1.0 / 3.0;
        return;
    }
    double s = b[0] + b[1] + b[2];
    for (int r = 0; r < 3; r++)
        w[r] = round(b[r] / s * 1e4) / 1e4;
}

static bool init_tables(const fit_state *fs, attrib_ihc_params *p)
{
    static table_ls ti, tc; /* large; calibrate is not re-entrant per thread anyway */
    memset(&ti, 0, sizeof(ti));
    memset(&tc, 0, sizeof(tc));
    static double ki[ATTRIB_IHC_MAX_KNOTS], kc[ATTRIB_IHC_MAX_KNOTS];
    const attrib_ihc_dataset *ds0 = fs->ds;
    double *xi = calloc(ds0->n_sessions + 1, sizeof(double));
    double *xc = calloc(ds0->n_sessions + 1, sizeof(double));
    size_t ni = 0, nc = 0;
    if (xi == NULL || xc == NULL) {
        free(xi);
        free(xc);
        return false;
    }
    for (size_t i = 0; i < fs->n_jobs; i++) {
        const attrib_journey *jr = &ds0->journeys[fs->jobs[i]];
        for (size_t k = 0; k < jr->n; k++) {
            if (k > 0)
                xi[ni++] = (double)(jr->sessions[k].ts - jr->sessions[k - 1].ts) / 3600.0;
            if (k + 1 < jr->n && jr->sessions[k].closer)
                xc[nc++] = (double)(jr->sessions[jr->n - 1].ts - jr->sessions[k].ts) / 3600.0;
        }
    }
    static const double anchors_i[] = {0.0, 49.9}, anchors_c[] = {0.0, 0.0999, 0.1};
    ti.n = make_knots(ki, anchors_i, 2, 368.0, xi, ni, N_QI);
    tc.n = make_knots(kc, anchors_c, 3, 336.0, xc, nc, N_QC);
    free(xi);
    free(xc);
    ti.x = ki;
    ti.y_first = 0.0;
    ti.y_last = 1.0;
    tc.x = kc;
    tc.y_first = 1.0;
    tc.y_last = 0.0;
    const attrib_ihc_dataset *ds = fs->ds;
    for (size_t i = 0; i < fs->n_jobs; i++) {
        size_t j = fs->jobs[i], f = ds->first[j];
        const attrib_journey *jr = &ds->journeys[j];
        const attrib_session *s = jr->sessions;
        const attrib_credit *t = ds->target + f;
        if (t[0].initializer > 0.0)
            for (size_t k = 1; k < jr->n; k++)
                table_ls_add(&ti, (double)(s[k].ts - s[k - 1].ts) / 3600.0,
                             t[k].initializer / t[0].initializer, 1.0);
        double cl = t[jr->n - 1].closer;
        if (cl > 0.0)
            for (size_t k = 0; k + 1 < jr->n; k++)
                if (s[k].closer)
                    table_ls_add(&tc, (double)(s[jr->n - 1].ts - s[k].ts) / 3600.0,
                                 t[k].closer / cl, 1.0);
    }
    table_ls_solve(&ti, 1.0, &p->m_i, true);
    table_ls_solve(&tc, 1.0, &p->m_c, false);
    return true;
}

/* Resample the holder grid to n knots per axis (bilinear from the old). */
static void resample_grid(attrib_ihc_params *p, size_t n)
{
    static double g[ATTRIB_IHC_MAX_GRID * ATTRIB_IHC_MAX_GRID];
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < n; b++)
            g[a * n + b] = attrib__ihc_holder_eval(p, (double)a / (double)(n - 1),
                                                   (double)b / (double)(n - 1));
    memcpy(p->g, g, n * n * sizeof(double));
    p->g_n = n;
}

typedef struct {
    double *v;
    double lo, hi;
    double step;
} coord;

int attrib_ihc_calibrate(attrib_ctx *ctx, const attrib_ihc_dataset *ds,
                         const attrib_ihc_calibrate_options *opts, const char *out_path,
                         attrib_ihc_eval_summary *fit, char **log_text)
{
    attrib__enter(ctx);
    int rc = ATTRIB_OK;
    attrib_ihc_calibrate_options defaults = ATTRIB_IHC_CALIBRATE_OPTIONS_INIT;
    fit_state fs = {.ds = ds, .lambda_g = 1e-2, .lambda_w = 1e-4};
    coord *coords = NULL;
    attrib_buf lb = ATTRIB_BUF_INIT(0);
    if (opts == NULL)
        opts = &defaults;
    unsigned pct = opts->holdout_percent != 0 ? opts->holdout_percent : ATTRIB_IHC_HOLDOUT_PERCENT;
    unsigned sweeps = opts->sweeps != 0 ? opts->sweeps : ATTRIB_IHC_SWEEPS;
    size_t nch = ds->chan_view.count;

    fs.jobs = calloc(ds->n_journeys + 1, sizeof(*fs.jobs));
    fs.chans = calloc(nch + 1, sizeof(*fs.chans));
    fs.pred = calloc(ds->n_sessions + 1, sizeof(*fs.pred));
    coords = calloc(2 * ATTRIB_IHC_MAX_KNOTS + 3 * nch + ATTRIB_IHC_MAX_GRID * ATTRIB_IHC_MAX_GRID,
                    sizeof(*coords));
    if (fs.jobs == NULL || fs.chans == NULL || fs.pred == NULL || coords == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < ds->n_journeys; j++) {
        if (ds->journeys[j].n < 2)
            continue;
        bool held = attrib_ihc_held_out(ds->journeys[j].conv_id, pct);
        if (opts->split == ATTRIB_IHC_SPLIT_ALL ||
            (opts->split == ATTRIB_IHC_SPLIT_TRAIN && !held) ||
            (opts->split == ATTRIB_IHC_SPLIT_HOLDOUT && held))
            fs.jobs[fs.n_jobs++] = j;
    }
    if (fs.n_jobs == 0) {
        rc = attrib__error(ctx, ATTRIB_EDATA, "no journey of 2+ sessions to calibrate on");
        goto done;
    }
    if (opts->start_model != NULL)
        rc = attrib__ihc_params_load(ctx, opts->start_model, &fs.p);
    else
        rc = attrib__ihc_params_builtin(ctx, "base", &fs.p);
    if (rc != ATTRIB_OK)
        goto done;
    free(fs.p->name);
    fs.p->name = strdup(opts->name != NULL ? opts->name : "calibrated");
    if (fs.p->name == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t c = 0; c < nch; c++) {
        const attrib_ihc_channel *w = attrib__ihc_params_channel(fs.p, ds->chan_view.names[c]);
        for (int q = 0; q < 3; q++)
            fs.chans[c].w[q] = w != NULL ? w->w[q] : 1.0;
    }
    if (opts->start_model == NULL) {
        fit_phase_weights(&fs, fs.p->phase_w);
        resample_grid(fs.p, 21);
        if (!init_tables(&fs, fs.p)) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
    }
    /* The coordinates, in a fixed order. */
    size_t nc = 0;
    for (size_t k = 1; k + 1 < fs.p->m_i.n; k++)
        coords[nc++] = (coord){&fs.p->m_i.y[k], 0.0, 0.999999, 0.01};
    for (size_t k = 1; k + 1 < fs.p->m_c.n; k++)
        coords[nc++] = (coord){&fs.p->m_c.y[k], 0.0, 1.0, 0.01};
    for (size_t c = 0; c < nch; c++)
        for (int q = 0; q < 3; q++)
            coords[nc++] = (coord){&fs.chans[c].w[q], 0.05, 5.0, 0.02};
    size_t gn = fs.p->g_n;
    for (size_t a = 0; a + 1 < gn; a++)
        for (size_t b = 0; b + 1 < gn; b++)
            if (a + b > 0)
                coords[nc++] = (coord){&fs.p->g[a * gn + b], 0.0, 2.0, 0.01};
    double f = objective(&fs);
    int lrc =
        attrib_buf_printf(&lb,
                          "calibrate: %zu journeys of 2+ sessions, %zu parameters\n"
                          "phase weights %.6f %.6f %.6f (least squares)\n"
                          "sweep   0: sse %.8f\n",
                          fs.n_jobs, nc, fs.p->phase_w[0], fs.p->phase_w[1], fs.p->phase_w[2], f);
    for (unsigned sw = 1; sw <= sweeps; sw++) {
        if (attrib__cancelled(ctx)) {
            rc = ATTRIB_ECANCEL;
            goto done;
        }
        for (size_t i = 0; i < nc; i++) {
            coord *c = &coords[i];
            if (c->step < 1e-7)
                continue;
            double v0 = *c->v;
            bool moved = false;
            for (int dir = 1; dir >= -1 && !moved; dir -= 2) {
                double v = v0 + dir * c->step;
                v = v < c->lo ? c->lo : v > c->hi ? c->hi : v;
                if (v == v0)
                    continue;
                *c->v = v;
                double f1 = objective(&fs);
                if (f1 < f) {
                    f = f1;
                    moved = true;
                } else {
                    *c->v = v0;
                }
            }
            c->step *= moved ? 1.6 : 0.5;
        }
        if (sw % 10 == 0 || sw == sweeps)
            lrc |= attrib_buf_printf(&lb, "sweep %3u: sse %.8f\n", sw, f);
        attrib__progress(ctx, "calibrating", sw, sweeps);
    }
    /* Only ratios of channel weights within a journey matter; scale each
     * phase so the session-weighted geometric mean of the channels is 1,
     * which makes "an unknown channel weighs 1" mean "an average channel".
     * Predictions for the channels in the file do not change. */
    for (int q = 0; q < 3; q++) {
        double lsum = 0.0, cnt = 0.0;
        for (size_t i = 0; i < fs.n_jobs; i++) {
            const attrib_journey *jr = &ds->journeys[fs.jobs[i]];
            for (size_t k = 0; k < jr->n; k++) {
                lsum += log(fs.chans[jr->sessions[k].channel].w[q]);
                cnt += 1.0;
            }
        }
        double scale = cnt > 0.0 ? exp(-lsum / cnt) : 1.0;
        for (size_t c = 0; c < nch; c++)
            fs.chans[c].w[q] *= scale;
    }
    /* Channel weights into the file: every channel of the data. */
    for (size_t c = 0; c < nch; c++) {
        rc = attrib__ihc_params_set_channel(ctx, fs.p, ds->chan_view.names[c], fs.chans[c].w);
        if (rc != ATTRIB_OK)
            goto done;
    }
    rc = attrib__ihc_params_save(ctx, fs.p, out_path);
    if (rc != ATTRIB_OK)
        goto done;
    if (fit != NULL) {
        attrib_ihc_eval_options eo = ATTRIB_IHC_EVAL_OPTIONS_INIT;
        attrib_model_options mo = ATTRIB_MODEL_OPTIONS_INIT;
        eo.split = opts->split;
        eo.holdout_percent = pct;
        mo.model_file = out_path;
        rc = attrib_ihc_eval(ctx, ds, &mo, &eo, fit, NULL);
        if (rc != ATTRIB_OK)
            goto done;
    }
    if (log_text != NULL) {
        if (lrc != 0 || attrib_buf_failed(&lb) || (*log_text = attrib_buf_take(&lb)) == NULL) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
    }
done:
    attrib_buf_free(&lb);
    attrib__ihc_params_free(fs.p);
    free(coords);
    free(fs.pred);
    free(fs.chans);
    free(fs.jobs);
    return attrib__leave(ctx, rc);
}
