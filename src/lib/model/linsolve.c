/* Dense LU with refinement and sparse Gauss-Seidel (see linsolve.h). */
#include "lib/model/linsolve.h"

#include "attrib/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int attrib__lu_factor(attrib__lu *f, const double *a, size_t n)
{
    memset(f, 0, sizeof(*f));
    if (n > 0 && n > SIZE_MAX / sizeof(double) / n)
        return ATTRIB_ENOMEM;
    double *lu = malloc((n * n + 1) * sizeof(*lu));
    size_t *perm = malloc((n + 1) * sizeof(*perm));
    if (lu == NULL || perm == NULL) {
        free(lu);
        free(perm);
        return ATTRIB_ENOMEM;
    }
    memcpy(lu, a, n * n * sizeof(*lu));
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t k = 0; k < n; k++) {
        size_t p = k;
        double best = fabs(lu[k * n + k]);
        for (size_t i = k + 1; i < n; i++)
            if (fabs(lu[i * n + k]) > best) {
                best = fabs(lu[i * n + k]);
                p = i;
            }
        if (best == 0) {
            free(lu);
            free(perm);
            return ATTRIB_EDATA;
        }
        if (p != k) {
            for (size_t j = 0; j < n; j++) {
                double t = lu[k * n + j];
                lu[k * n + j] = lu[p * n + j];
                lu[p * n + j] = t;
            }
            size_t t = perm[k];
            perm[k] = perm[p];
            perm[p] = t;
        }
        double piv = lu[k * n + k];
        for (size_t i = k + 1; i < n; i++) {
            double m = lu[i * n + k] / piv;
            lu[i * n + k] = m;
            if (m == 0)
                continue;
            for (size_t j = k + 1; j < n; j++)
                lu[i * n + j] -= m * lu[k * n + j];
        }
    }
    f->n = n;
    f->lu = lu;
    f->perm = perm;
    return ATTRIB_OK;
}

/* x = (LU)^-1 P b */
static void lu_apply(const attrib__lu *f, const double *b, double *x)
{
    size_t n = f->n;
    const double *lu = f->lu;
    for (size_t i = 0; i < n; i++) {
        double s = b[f->perm[i]];
        for (size_t j = 0; j < i; j++)
            s -= lu[i * n + j] * x[j];
        x[i] = s;
    }
    for (size_t i = n; i-- > 0;) {
        double s = x[i];
        for (size_t j = i + 1; j < n; j++)
            s -= lu[i * n + j] * x[j];
        x[i] = s / lu[i * n + i];
    }
}

static double residual_into(const double *a, const double *b, const double *x, size_t n,
                            double *res)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double s = b[i];
        for (size_t j = 0; j < n; j++)
            s -= a[i * n + j] * x[j];
        res[i] = s;
        if (fabs(s) > worst)
            worst = fabs(s);
    }
    return worst;
}

int attrib__lu_solve(const attrib__lu *f, const double *a, const double *b, double *x,
                     double *residual)
{
    size_t n = f->n;
    double *res = malloc((2 * n + 1) * sizeof(*res));
    if (res == NULL)
        return ATTRIB_ENOMEM;
    double *dx = res + n;
    lu_apply(f, b, x);
    double worst = residual_into(a, b, x, n, res);
    for (int step = 0; step < 2 && worst > 0; step++) {
        lu_apply(f, res, dx);
        for (size_t i = 0; i < n; i++)
            x[i] += dx[i];
        worst = residual_into(a, b, x, n, res);
    }
    if (residual != NULL)
        *residual = worst;
    free(res);
    return ATTRIB_OK;
}

void attrib__lu_free(attrib__lu *f)
{
    if (f == NULL)
        return;
    free(f->lu);
    free(f->perm);
    memset(f, 0, sizeof(*f));
}

int attrib__gauss_seidel(const attrib__csr *q, const double *r, const unsigned char *keep,
                         double tol, size_t max_sweeps, double *x, double *residual)
{
    size_t n = q->n;
    for (size_t i = 0; i < n; i++)
        x[i] = 0;
    size_t sweep = 0;
    double change = 1;
    while (change > tol) {
        if (sweep++ >= max_sweeps)
            return ATTRIB_ERROR;
        change = 0;
        for (size_t i = 0; i < n; i++) {
            if (!keep[i])
                continue;
            double s = r[i], diag = 0;
            for (size_t e = q->row[i]; e < q->row[i + 1]; e++) {
                uint32_t j = q->col[e];
                if (j == i)
                    diag = q->val[e];
                else if (keep[j])
                    s += q->val[e] * x[j];
            }
            double v = s / (1 - diag);
            if (fabs(v - x[i]) > change)
                change = fabs(v - x[i]);
            x[i] = v;
        }
    }
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        if (!keep[i])
            continue;
        double s = r[i];
        for (size_t e = q->row[i]; e < q->row[i + 1]; e++)
            if (keep[q->col[e]])
                s += q->val[e] * x[q->col[e]];
        if (fabs(s - x[i]) > worst)
            worst = fabs(s - x[i]);
    }
    *residual = worst;
    return ATTRIB_OK;
}
