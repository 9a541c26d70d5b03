/*
 * attrib calibrate: fit the IHC engine's parameters to recorded API calls
 * (docs/model.md §4).
 *
 * 1. Read the time scale from the answers: a journey whose leading sessions
 *    are all zero restarted at its first non-zero session; its gap there is
 *    a restarting gap, the later gaps are kept gaps. The initializer ramp
 *    ends (value 1) between the largest kept gap and the smallest restarting
 *    gap; without restarts its end is extrapolated and reported as an
 *    assumption. Its zero anchor is the largest kept gap answered with no
 *    initializer below the first one answered with some.
 * 2. Phase weights: closed-form least squares of the API's ihc on its own
 *    phase values (journeys with a non-empty holder phase), scaled to sum 1.
 * 3. Membership tables on knots at the anchors and quantiles of the hours of
 *    sessions that were not cut: least squares of the observed ratios
 *    I_k/I_start over the gap and C_k/C_last over the time to the conversion,
 *    with a small second-difference penalty so knots without data follow
 *    their neighbours.
 * 4. Coordinate descent (per-parameter step that grows on success and
 *    shrinks on failure) on a robust (pseudo-Huber) loss of the ihc,
 *    initializer, holder and closer errors, over every free membership knot,
 *    every channel weight and every free cell of the holder grid. Each move
 *    recomputes only the journeys the parameter touches.
 * 5. Channel weights rescaled per phase to a geometric mean of 1.
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

#define N_QI 90       /* quantile knots of the initializer */
#define N_QC 64       /* quantile knots of the closer */
#define N_LOGC 60     /* log-spaced knots of the closer */
#define HUBER 0.005   /* pseudo-Huber scale of the loss: quadratic below, linear above */
#define OFF_WARN 0.01 /* fitted journeys still off by more than this are reported */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Knots = anchors (increasing), up to n_q quantiles of xs (sorted here) in
 * (last anchor, hi), then hi; knots at least min_sep apart. */
static size_t make_knots(double *out, const double *anchors, size_t n_anchors, double hi,
                         double *xs, size_t n_xs, size_t n_q)
{
    size_t n = 0;
    for (size_t k = 0; k < n_anchors; k++)
        out[n++] = anchors[k];
    double lo = anchors[n_anchors - 1], min_sep = 1e-3 * (hi - anchors[0]);
    if (min_sep < 1e-4)
        min_sep = 1e-4;
    qsort(xs, n_xs, sizeof(*xs), cmp_double);
    size_t first = 0, last = n_xs;
    while (first < n_xs && xs[first] <= lo + min_sep)
        first++;
    while (last > first && xs[last - 1] >= hi - min_sep)
        last--;
    size_t m = last - first;
    for (size_t q = 1; q <= n_q && m > 0; q++) {
        size_t idx = first + (q * m) / (n_q + 1);
        double x = xs[idx < last ? idx : last - 1];
        if (x > out[n - 1] + min_sep && x < hi - min_sep)
            out[n++] = x;
    }
    if (hi > out[n - 1])
        out[n++] = hi;
    return n;
}

enum { C_KNOT_I, C_KNOT_C, C_WEIGHT, C_CELL };

typedef struct {
    double *v;
    double lo, hi;
    double step;
    int kind;
    size_t idx;   /* knot, channel or grid cell */
    size_t *jobs; /* the fit journeys this parameter touches (positions in fs->jobs) */
    size_t n_jobs, cap_jobs;
} coord;

typedef struct {
    const attrib_ihc_dataset *ds;
    size_t *jobs; /* training journeys with 2+ sessions and an answer to fit */
    size_t n_jobs;
    size_t *cut; /* per job: first session the API kept (leading all-zero sessions were cut) */
    attrib_ihc_params *p;
    attrib_ihc_chan *chans;
    attrib_credit *pred;
    double *loss, *loss_new; /* per job */
    double lambda_g;         /* holder grid smoothness */
    double lambda_w;         /* channel weights toward 1 */
} fit_state;

static double rho(double e)
{
    double r = e / HUBER;
    return HUBER * HUBER * (sqrt(1.0 + r * r) - 1.0);
}

static double hours(const attrib_session *s, size_t a, size_t b)
{
    return (double)(s[b].ts - s[a].ts) / 3600.0;
}

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

/* Robust loss of fit journey i under the current parameters (predictions
 * into fs->pred). */
static double job_loss(const fit_state *fs, size_t i)
{
    const attrib_ihc_dataset *ds = fs->ds;
    size_t j = fs->jobs[i], f = ds->first[j];
    const attrib_journey *jr = &ds->journeys[j];
    attrib__ihc_compute(fs->p, fs->chans, ds->chan_view.count, NULL, false, jr->sessions, jr->n,
                        fs->pred + f);
    double sum = 0.0;
    for (size_t k = 0; k < jr->n; k++) {
        const attrib_credit *m = &fs->pred[f + k], *a = &ds->target[f + k];
        sum += 2.0 * rho(m->ihc - a->ihc) + rho(m->initializer - a->initializer) +
               rho(m->holder - a->holder) + rho(m->closer - a->closer);
    }
    return sum;
}

static double objective(const fit_state *fs)
{
    double sum = 0.0;
    for (size_t i = 0; i < fs->n_jobs; i++)
        sum += fs->loss[i] = job_loss(fs, i);
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
 * knot 0 is fixed at y_first, the last at y_last when fix_last. */
typedef struct {
    size_t n;
    const double *x;
    double y_first, y_last;
    bool fix_last;
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
    for (size_t k = 0; k < n; k++) /* a knot without data or neighbours: keep it solvable */
        t->ata[k * n + k] += 1e-9;
    /* Fix the ends: replace their rows by identity. */
    size_t fixed[2] = {0, n - 1};
    double val[2] = {t->y_first, t->y_last};
    for (int e = 0; e < (t->fix_last && n > 1 ? 2 : 1); e++) {
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
            t->atb[k] =
                t->y_first + (t->y_last - t->y_first) * (double)k / (double)(n > 1 ? n - 1 : 1);
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

/* What the answers say about the time scale (step 1 of the file comment). */
typedef struct {
    size_t n_restart;   /* fit journeys whose answer cut leading sessions */
    size_t n_one;       /* ... of which one session survived */
    size_t n_kept;      /* gaps of surviving sessions */
    double max_kept;    /* largest gap between surviving sessions (h) */
    double min_restart; /* smallest gap at a restart (h) */
    size_t n_conflict;  /* labelled gaps on the wrong side of the chosen end */
    double zero;        /* zero anchor (h): no initializer up to here */
    double end;         /* ramp end (h): value 1, restarts from here */
    bool end_assumed;   /* no restart seen: end extrapolated */
} time_scale;

typedef struct {
    double x;
    int restart;
} labelled_gap;

static int cmp_labelled(const void *a, const void *b)
{
    const labelled_gap *x = a, *y = b;
    if (x->x != y->x)
        return x->x < y->x ? -1 : 1;
    return x->restart - y->restart;
}

/* The restart threshold that misclassifies the fewest labelled gaps
 * (kept gaps below, restarting gaps at or above); the midpoint of the
 * best gap-free interval. */
static double best_end(labelled_gap *g, size_t n, size_t *conflicts)
{
    qsort(g, n, sizeof(*g), cmp_labelled);
    size_t restarts = 0;
    for (size_t k = 0; k < n; k++)
        restarts += g[k].restart != 0;
    /* threshold between g[k-1] and g[k]: errors = restarts below + kept at/above */
    size_t below_r = 0, above_k = n - restarts, best = (size_t)-1, best_k = 0;
    for (size_t k = 0; k <= n; k++) {
        size_t e = below_r + above_k;
        if ((k == 0 || k == n || g[k - 1].x < g[k].x) && e < best) {
            best = e;
            best_k = k;
        }
        if (k < n) {
            if (g[k].restart)
                below_r++;
            else
                above_k--;
        }
    }
    *conflicts = best;
    if (best_k == 0)
        return g[0].x;
    if (best_k == n)
        return g[n - 1].x * 1.01;
    return (g[best_k - 1].x + g[best_k].x) / 2.0;
}

static int learn_time_scale(fit_state *fs, time_scale *ts)
{
    const attrib_ihc_dataset *ds = fs->ds;
    labelled_gap *g = calloc(ds->n_sessions + 1, sizeof(*g));
    if (g == NULL)
        return -1;
    size_t ng = 0;
    double min_pos = INFINITY; /* smallest kept gap with some initializer */
    memset(ts, 0, sizeof(*ts));
    ts->min_restart = INFINITY;
    for (size_t i = 0; i < fs->n_jobs; i++) {
        size_t j = fs->jobs[i], s = fs->cut[i];
        const attrib_journey *jr = &ds->journeys[j];
        const attrib_credit *t = ds->target + ds->first[j];
        if (s > 0) {
            double x = hours(jr->sessions, s - 1, s);
            g[ng++] = (labelled_gap){x, 1};
            ts->n_restart++;
            ts->n_one += s == jr->n - 1;
            if (x < ts->min_restart)
                ts->min_restart = x;
        }
        for (size_t k = s + 1; k < jr->n; k++) {
            double x = hours(jr->sessions, k - 1, k);
            g[ng++] = (labelled_gap){x, 0};
            ts->n_kept++;
            if (x > ts->max_kept)
                ts->max_kept = x;
            if (t[k].initializer > 0.0 && x < min_pos)
                min_pos = x;
        }
    }
    for (size_t i = 0; i < fs->n_jobs; i++) {
        size_t j = fs->jobs[i];
        const attrib_journey *jr = &ds->journeys[j];
        const attrib_credit *t = ds->target + ds->first[j];
        for (size_t k = fs->cut[i] + 1; k < jr->n; k++) {
            double x = hours(jr->sessions, k - 1, k);
            if (t[k].initializer == 0.0 && x < min_pos && x > ts->zero)
                ts->zero = x;
        }
    }
    if (ts->n_restart > 0)
        ts->end = best_end(g, ng, &ts->n_conflict);
    else
        ts->end_assumed = true; /* set after the starting fit */
    free(g);
    return 0;
}

static bool init_tables(fit_state *fs, attrib_ihc_params *p, time_scale *ts)
{
    static table_ls ti, tc; /* large; calibrate is not re-entrant per thread anyway */
    memset(&ti, 0, sizeof(ti));
    memset(&tc, 0, sizeof(tc));
    static double ki[ATTRIB_IHC_MAX_KNOTS], kc[ATTRIB_IHC_MAX_KNOTS];
    const attrib_ihc_dataset *ds = fs->ds;
    double *xi = calloc(ds->n_sessions + 1, sizeof(double));
    double *xc = calloc(ds->n_sessions + 1, sizeof(double));
    size_t ni = 0, nc = 0;
    double max_c = 0.0;
    if (xi == NULL || xc == NULL) {
        free(xi);
        free(xc);
        return false;
    }
    /* Knots from the sessions that were not cut. */
    for (size_t i = 0; i < fs->n_jobs; i++) {
        const attrib_journey *jr = &ds->journeys[fs->jobs[i]];
        for (size_t k = fs->cut[i]; k < jr->n; k++) {
            if (k > fs->cut[i])
                xi[ni++] = hours(jr->sessions, k - 1, k);
            if (k + 1 < jr->n && jr->sessions[k].closer) {
                xc[nc] = hours(jr->sessions, k, jr->n - 1);
                if (xc[nc] > max_c)
                    max_c = xc[nc];
                nc++;
            }
        }
    }
    double hi_i = ts->end_assumed ? ts->max_kept : ts->end;
    double anchors_i[2] = {0.0, ts->zero};
    size_t n_anchor_i = ts->zero > 0.0 && ts->zero < hi_i ? 2 : 1;
    if (hi_i <= 0.0)
        hi_i = 1.0;
    ti.n = make_knots(ki, anchors_i, n_anchor_i, hi_i, xi, ni, N_QI);
    /* Closer: 1 at 0 h; the level where the data starts is free (a step
     * between 0 h and the first observed time shows there), then quantiles. */
    qsort(xc, nc, sizeof(*xc), cmp_double);
    double first_c = 0.0;
    for (size_t k = 0; k < nc && first_c <= 0.0; k++)
        first_c = xc[k];
    double anchors_c[2] = {0.0, first_c};
    tc.n = make_knots(kc, anchors_c, first_c > 0.0 && first_c < max_c ? 2 : 1,
                      max_c > 0.0 ? max_c : 1.0, xc, nc, N_QC);
    /* Closer tables drop steeply where data may be thin (short times):
     * add log-spaced knots between the first and the last time. */
    if (first_c > 0.0 && max_c > first_c) {
        double ratio = pow(max_c / first_c, 1.0 / (N_LOGC + 1));
        for (size_t q = 1; q <= N_LOGC && tc.n < ATTRIB_IHC_MAX_KNOTS; q++)
            kc[tc.n++] = first_c * pow(ratio, (double)q);
        qsort(kc, tc.n, sizeof(*kc), cmp_double);
        size_t m = 1;
        for (size_t k = 1; k < tc.n; k++)
            if (kc[k] > kc[m - 1] * (1.0 + 1e-3) + 1e-6 || k + 1 == tc.n) {
                if (k + 1 == tc.n && !(kc[k] > kc[m - 1] * (1.0 + 1e-3) + 1e-6))
                    m--; /* keep the last knot, drop its close neighbour */
                kc[m++] = kc[k];
            }
        tc.n = m;
    }
    free(xi);
    free(xc);
    ti.x = ki;
    ti.y_first = 0.0;
    ti.y_last = 1.0;
    ti.fix_last = !ts->end_assumed;
    tc.x = kc;
    tc.y_first = 1.0;
    tc.fix_last = false;
    for (size_t i = 0; i < fs->n_jobs; i++) {
        size_t j = fs->jobs[i], f = ds->first[j], s0 = fs->cut[i];
        const attrib_journey *jr = &ds->journeys[j];
        const attrib_session *s = jr->sessions;
        const attrib_credit *t = ds->target + f;
        if (t[s0].initializer > 0.0)
            for (size_t k = s0 + 1; k < jr->n; k++)
                table_ls_add(&ti, hours(s, k - 1, k), t[k].initializer / t[s0].initializer, 1.0);
        double cl = t[jr->n - 1].closer;
        if (cl > 0.0)
            for (size_t k = s0; k + 1 < jr->n; k++)
                if (s[k].closer)
                    table_ls_add(&tc, hours(s, k, jr->n - 1), t[k].closer / cl, 1.0);
    }
    /* Knot 1 at the zero anchor is fixed at 0 like knot 0: give it a
     * strong pull (a penalty row) rather than an identity row. */
    if (n_anchor_i == 2)
        ti.ata[1 * ti.n + 1] += 1e6;
    table_ls_solve(&ti, 1.0, &p->m_i, true);
    table_ls_solve(&tc, 1.0, &p->m_c, false);
    if (n_anchor_i == 2)
        p->m_i.y[1] = 0.0;
    if (ts->end_assumed) {
        /* No restart seen: extend the ramp on the straight line from the
         * zero anchor through the last fitted knot (CHOICE, reported). */
        size_t n = p->m_i.n;
        double last = p->m_i.y[n - 1], x = p->m_i.x[n - 1];
        double end = last > 0.01 ? ts->zero + (x - ts->zero) / last : 2.0 * x;
        if (end < 1.01 * x)
            end = 1.01 * x;
        if (end > 100.0 * x)
            end = 100.0 * x;
        if (last > 0.999999)
            p->m_i.y[n - 1] = 0.999999;
        if (n < ATTRIB_IHC_MAX_KNOTS) {
            p->m_i.x[n] = end;
            p->m_i.y[n] = 1.0;
            p->m_i.n = n + 1;
        } else {
            p->m_i.x[n - 1] = end;
            p->m_i.y[n - 1] = 1.0;
        }
        ts->end = end;
    }
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

static int coord_add_job(coord *c, size_t i)
{
    if (c->n_jobs > 0 && c->jobs[c->n_jobs - 1] == i)
        return 0;
    if (c->n_jobs == c->cap_jobs) {
        size_t cap = c->cap_jobs * 2 + 16;
        size_t *g = realloc(c->jobs, cap * sizeof(*g));
        if (g == NULL)
            return -1;
        c->jobs = g;
        c->cap_jobs = cap;
    }
    c->jobs[c->n_jobs++] = i;
    return 0;
}

/* Whether x lies where knot k of t has weight (open interval). */
static bool in_support(const attrib_ihc_table *t, size_t k, double x)
{
    double lo = k > 0 ? t->x[k - 1] : -INFINITY, hi = k + 1 < t->n ? t->x[k + 1] : INFINITY;
    return x > lo && x < hi;
}

/* The fit journeys each parameter touches: knots through the hours in
 * their support, channel weights through their sessions, grid cells
 * through the holder inputs (Ĩ, C̃) of holder-eligible survivors under the
 * current tables (rebuilt each sweep). */
static int build_touch(const fit_state *fs, coord *coords, size_t nc, bool cells_only)
{
    const attrib_ihc_dataset *ds = fs->ds;
    const attrib_ihc_params *p = fs->p;
    size_t gn = p->g_n;
    double span = (double)(gn - 1);
    double mi[512], mc[512];
    for (size_t c = 0; c < nc; c++)
        if (!cells_only || coords[c].kind == C_CELL)
            coords[c].n_jobs = 0;
    for (size_t i = 0; i < fs->n_jobs; i++) {
        const attrib_journey *jr = &ds->journeys[fs->jobs[i]];
        const attrib_session *s = jr->sessions;
        size_t n = jr->n;
        /* The holder inputs as the engine computes them (journeys longer
         * than the scratch touch every cell). */
        size_t start = 0;
        double ui = 0.0, uc = 0.0;
        bool big = n > 512;
        for (size_t k = 0; k < n && !big; k++) {
            mi[k] = k == 0 ? 1.0 : attrib__ihc_table_eval(&p->m_i, hours(s, k - 1, k));
            if (mi[k] >= 1.0)
                start = k;
            mc[k] = s[k].closer || k == n - 1 ? attrib__ihc_table_eval(&p->m_c, hours(s, k, n - 1))
                                              : 0.0;
            ui += mi[k];
            uc += mc[k];
        }
        for (size_t c = 0; c < nc; c++) {
            coord *co = &coords[c];
            bool t = false;
            switch (co->kind) {
            case C_KNOT_I:
                if (cells_only)
                    continue;
                for (size_t k = 1; k < n && !t; k++)
                    t = in_support(&p->m_i, co->idx, hours(s, k - 1, k));
                break;
            case C_KNOT_C:
                if (cells_only)
                    continue;
                for (size_t k = 0; k < n && !t; k++)
                    t = (s[k].closer || k == n - 1) &&
                        in_support(&p->m_c, co->idx, hours(s, k, n - 1));
                break;
            case C_WEIGHT:
                if (cells_only)
                    continue;
                for (size_t k = 0; k < n && !t; k++)
                    t = s[k].channel == co->idx;
                break;
            default: {
                double a = (double)(co->idx / gn), b = (double)(co->idx % gn);
                if (big) {
                    t = true;
                    break;
                }
                if (start == n - 1 || ui <= 0.0 || uc <= 0.0)
                    break;
                for (size_t k = start; k < n && !t; k++) {
                    if (!s[k].holder)
                        continue;
                    double u = mi[k] / ui * span, v = mc[k] / uc * span;
                    t = fabs(u - a) < 1.0 + 1e-9 && fabs(v - b) < 1.0 + 1e-9;
                }
            }
            }
            if (t && coord_add_job(co, i) != 0)
                return -1;
        }
    }
    return 0;
}

/* Move coordinate c by delta if that lowers the objective *f; only the
 * journeys it touches are recomputed. */
static bool try_move(fit_state *fs, coord *c, double v, double *f)
{
    double v0 = *c->v, old = 0.0, now = 0.0;
    double pen0 = c->kind == C_WEIGHT || c->kind == C_CELL ? penalty(fs) : 0.0;
    *c->v = v;
    for (size_t q = 0; q < c->n_jobs; q++) {
        size_t i = c->jobs[q];
        old += fs->loss[i];
        now += fs->loss_new[i] = job_loss(fs, i);
    }
    double pen1 = c->kind == C_WEIGHT || c->kind == C_CELL ? penalty(fs) : 0.0;
    double f1 = *f - old + now - pen0 + pen1;
    if (f1 < *f) {
        *f = f1;
        for (size_t q = 0; q < c->n_jobs; q++)
            fs->loss[c->jobs[q]] = fs->loss_new[c->jobs[q]];
        return true;
    }
    *c->v = v0;
    return false;
}

static int log_table(attrib_buf *b, const char *what, const attrib_ihc_table *t)
{
    int rc = attrib_buf_printf(b, "%s (%zu knots, hours:value)", what, t->n);
    for (size_t k = 0; k < t->n; k++)
        rc |= attrib_buf_printf(b, "%s%.4g:%.4f", k % 8 == 0 ? "\n   " : "  ", t->x[k], t->y[k]);
    return rc | attrib_buf_printf(b, "\n");
}

int attrib_ihc_calibrate(attrib_ctx *ctx, const attrib_ihc_dataset *ds,
                         const attrib_ihc_calibrate_options *opts, const char *out_path,
                         attrib_ihc_eval_summary *fit, char **log_text)
{
    attrib__enter(ctx);
    int rc = ATTRIB_OK;
    attrib_ihc_calibrate_options defaults = ATTRIB_IHC_CALIBRATE_OPTIONS_INIT;
    fit_state fs = {.ds = ds, .lambda_g = 1e-2, .lambda_w = 1e-4};
    coord *coords = NULL;
    size_t nc = 0;
    attrib_buf lb = ATTRIB_BUF_INIT(0), wb = ATTRIB_BUF_INIT(0);
    int lrc = 0;
    if (opts == NULL)
        opts = &defaults;
    unsigned pct = opts->holdout_percent != 0 ? opts->holdout_percent : ATTRIB_IHC_HOLDOUT_PERCENT;
    unsigned sweeps = opts->sweeps != 0 ? opts->sweeps : ATTRIB_IHC_SWEEPS;
    size_t nch = ds->chan_view.count;
    size_t max_coords =
        2 * ATTRIB_IHC_MAX_KNOTS + 3 * nch + ATTRIB_IHC_MAX_GRID * ATTRIB_IHC_MAX_GRID;

    fs.jobs = calloc(ds->n_journeys + 1, sizeof(*fs.jobs));
    fs.cut = calloc(ds->n_journeys + 1, sizeof(*fs.cut));
    fs.loss = calloc(ds->n_journeys + 1, sizeof(*fs.loss));
    fs.loss_new = calloc(ds->n_journeys + 1, sizeof(*fs.loss_new));
    fs.chans = calloc(nch + 1, sizeof(*fs.chans));
    fs.pred = calloc(ds->n_sessions + 1, sizeof(*fs.pred));
    coords = calloc(max_coords, sizeof(*coords));
    if (fs.jobs == NULL || fs.cut == NULL || fs.loss == NULL || fs.loss_new == NULL ||
        fs.chans == NULL || fs.pred == NULL || coords == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    size_t n_sel = 0, n_held = 0, n_single = 0, n_noinit = 0;
    for (size_t j = 0; j < ds->n_journeys; j++) {
        bool held = attrib_ihc_held_out(ds->journeys[j].conv_id, pct);
        bool use = opts->split == ATTRIB_IHC_SPLIT_ALL ||
                   (opts->split == ATTRIB_IHC_SPLIT_TRAIN && !held) ||
                   (opts->split == ATTRIB_IHC_SPLIT_HOLDOUT && held);
        if (!use) {
            n_held++;
            continue;
        }
        n_sel++;
        const attrib_journey *jr = &ds->journeys[j];
        if (jr->n < 2) {
            n_single++;
            continue;
        }
        /* The API's start: the first session with an initializer; all
         * before it were cut by a restart. */
        const attrib_credit *t = ds->target + ds->first[j];
        size_t s = 0;
        while (s < jr->n && !(t[s].initializer > 0.0))
            s++;
        if (s == jr->n) {
            n_noinit++;
            continue;
        }
        fs.cut[fs.n_jobs] = s;
        fs.jobs[fs.n_jobs++] = j;
    }
    if (fs.n_jobs == 0) {
        rc = attrib__error(ctx, ATTRIB_EDATA,
                           "no journey of 2+ sessions to calibrate on (%zu journeys selected, "
                           "%zu held out by the split)",
                           n_sel, n_held);
        goto done;
    }
    /* Starting point: the holder function and channel weights of
     * --start-model, else the shipped default's holder function (the API's
     * function, the same for every conversion type, docs/ihc-api.md §8.5)
     * with channel weights 1. Membership tables and phase weights always
     * come from this data. */
    if (opts->start_model != NULL)
        rc = attrib__ihc_params_load(ctx, opts->start_model, &fs.p);
    else
        rc = attrib__ihc_params_builtin(ctx, "default", &fs.p);
    if (rc != ATTRIB_OK)
        goto done;
    free(fs.p->name);
    fs.p->name = strdup(opts->name != NULL ? opts->name : "calibrated");
    if (fs.p->name == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t c = 0; c < nch; c++) {
        const attrib_ihc_channel *w = opts->start_model != NULL
                                          ? attrib__ihc_params_channel(fs.p, ds->chan_view.names[c])
                                          : NULL;
        for (int q = 0; q < 3; q++)
            fs.chans[c].w[q] = w != NULL ? w->w[q] : 1.0;
    }
    if (opts->start_model == NULL)
        for (size_t c = 0; c < fs.p->n_channels; c++)
            for (int q = 0; q < 3; q++)
                fs.p->channels[c].w[q] = 1.0;
    if (fs.p->g_n != 21)
        resample_grid(fs.p, 21);
    fit_phase_weights(&fs, fs.p->phase_w);
    time_scale ts;
    if (learn_time_scale(&fs, &ts) != 0 || !init_tables(&fs, fs.p, &ts)) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }

    /* The coordinates, in a fixed order: free knots (not the ends, not the
     * zero anchor), channel weights, holder cells (not G(0,0), not the
     * boundary-law edges). */
    size_t ki_lo = ts.zero > 0.0 && fs.p->m_i.n > 2 && fs.p->m_i.x[1] == ts.zero ? 2 : 1;
    for (size_t k = ki_lo; k + 1 < fs.p->m_i.n; k++)
        coords[nc++] = (coord){.v = &fs.p->m_i.y[k],
                               .lo = 0.0,
                               .hi = 0.999999,
                               .step = 0.01,
                               .kind = C_KNOT_I,
                               .idx = k};
    for (size_t k = 1; k < fs.p->m_c.n; k++)
        coords[nc++] = (coord){
            .v = &fs.p->m_c.y[k], .lo = 0.0, .hi = 1.0, .step = 0.01, .kind = C_KNOT_C, .idx = k};
    for (size_t c = 0; c < nch; c++)
        for (int q = 0; q < 3; q++)
            coords[nc++] = (coord){.v = &fs.chans[c].w[q],
                                   .lo = 0.05,
                                   .hi = 5.0,
                                   .step = 0.02,
                                   .kind = C_WEIGHT,
                                   .idx = c};
    size_t gn = fs.p->g_n;
    for (size_t a = 0; a + 1 < gn; a++)
        for (size_t b = 0; b + 1 < gn; b++)
            if (a + b > 0)
                coords[nc++] = (coord){.v = &fs.p->g[a * gn + b],
                                       .lo = 0.0,
                                       .hi = 2.0,
                                       .step = 0.005,
                                       .kind = C_CELL,
                                       .idx = a * gn + b};
    if (build_touch(&fs, coords, nc, false) != 0) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    double f = objective(&fs);
    lrc |= attrib_buf_printf(
        &lb,
        "calibrate: %zu journeys read, %zu used (split), %zu held out; fitted %zu journeys of "
        "2+ sessions (%zu of one session need no fit",
        ds->n_journeys, n_sel, n_held, fs.n_jobs, n_single);
    if (n_noinit > 0)
        lrc |= attrib_buf_printf(&lb, "; %zu skipped: their answer has no initializer", n_noinit);
    lrc |= attrib_buf_printf(&lb, ")\n");
    if (ts.n_restart > 0)
        lrc |= attrib_buf_printf(
            &lb,
            "restarts: %zu of %zu journeys (%zu with one survivor); largest kept gap %.4f h, "
            "smallest restarting gap %.4f h\n"
            "initializer: 0 up to %.4f h (zero anchor), ramp end %.4f h (value 1: a gap this long "
            "restarts the journey)\n",
            ts.n_restart, fs.n_jobs, ts.n_one, ts.max_kept, ts.min_restart, ts.zero, ts.end);
    else
        lrc |= attrib_buf_printf(
            &lb,
            "restarts: none seen; largest gap %.4f h\n"
            "initializer: 0 up to %.4f h (zero anchor), ramp end %.4f h ASSUMED: no restart in "
            "the data, the ramp is extended on a straight line beyond the largest gap\n",
            ts.max_kept, ts.zero, ts.end);
    if (ts.n_conflict > 0)
        lrc |= attrib_buf_printf(&wb,
                                 "warning: %zu gaps are on the wrong side of the ramp end: "
                                 "restarts after gaps shorter than gaps that did not restart; no "
                                 "single restart threshold produces these answers\n",
                                 ts.n_conflict);
    if (n_noinit > 0)
        lrc |= attrib_buf_printf(&wb,
                                 "warning: %zu journeys were answered without any initializer "
                                 "credit, which the model cannot produce; left out of the fit\n",
                                 n_noinit);
    lrc |= attrib_buf_printf(&lb, "phase weights %.6f %.6f %.6f (least squares)\n%zu parameters\n",
                             fs.p->phase_w[0], fs.p->phase_w[1], fs.p->phase_w[2], nc);
    lrc |= attrib_buf_printf(&lb, "sweep   0: loss %.8f\n", f);
    for (unsigned sw = 1; sw <= sweeps; sw++) {
        if (attrib__cancelled(ctx)) {
            rc = ATTRIB_ECANCEL;
            goto done;
        }
        bool cells_built = false;
        for (size_t i = 0; i < nc; i++) {
            coord *c = &coords[i];
            if (c->kind == C_CELL && !cells_built) { /* holder inputs under the current tables */
                if (build_touch(&fs, coords, nc, true) != 0) {
                    rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
                    goto done;
                }
                cells_built = true;
            }
            if (c->step < 1e-7 || c->n_jobs == 0)
                continue;
            double v0 = *c->v;
            bool moved = false;
            for (int dir = 1; dir >= -1 && !moved; dir -= 2) {
                double v = v0 + dir * c->step;
                v = v < c->lo ? c->lo : v > c->hi ? c->hi : v;
                if (v != v0)
                    moved = try_move(&fs, c, v, &f);
            }
            c->step *= moved ? 1.6 : 0.5;
        }
        if (sw % 10 == 0 || sw == sweeps) {
            f = objective(&fs); /* no drift from the incremental sums */
            lrc |= attrib_buf_printf(&lb, "sweep %3u: loss %.8f\n", sw, f);
        }
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
    /* What the fitted model still cannot produce. */
    size_t n_off = 0, worst = 0;
    double worst_e = 0.0;
    for (size_t i = 0; i < fs.n_jobs; i++) {
        size_t j = fs.jobs[i], fi = ds->first[j];
        const attrib_journey *jr = &ds->journeys[j];
        attrib__ihc_compute(fs.p, fs.chans, nch, NULL, true, jr->sessions, jr->n, fs.pred + fi);
        double e = 0.0;
        for (size_t k = 0; k < jr->n; k++)
            e = fmax(e, fabs(fs.pred[fi + k].ihc - ds->target[fi + k].ihc));
        if (e > OFF_WARN)
            n_off++;
        if (e > worst_e) {
            worst_e = e;
            worst = j;
        }
    }
    if (n_off > 0)
        lrc |= attrib_buf_printf(&wb,
                                 "warning: %zu of %zu fitted journeys are still off by more than "
                                 "%.2f in ihc (worst: conversion %.40s, %.4f): the answers show "
                                 "behaviour the model cannot produce\n",
                                 n_off, fs.n_jobs, OFF_WARN, ds->journeys[worst].conv_id, worst_e);
    lrc |= log_table(&lb, "initializer membership", &fs.p->m_i);
    lrc |= log_table(&lb, "closer membership", &fs.p->m_c);
    if (wb.len > 0)
        lrc |= attrib_buf_add(&lb, wb.data, wb.len);
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
    attrib_buf_free(&wb);
    attrib__ihc_params_free(fs.p);
    for (size_t c = 0; c < nc; c++)
        free(coords[c].jobs);
    free(coords);
    free(fs.pred);
    free(fs.chans);
    free(fs.loss_new);
    free(fs.loss);
    free(fs.cut);
    free(fs.jobs);
    return attrib__leave(ctx, rc);
}
