/* Exact partials summation: see fsum.h (after CPython's math_fsum). */
#include "fsum.h"

#include <math.h>

void attrib_fsum_add(attrib_fsum *s, double x)
{
    if (!isfinite(x)) {
        s->overflow = true;
        return;
    }
    int i = 0;
    for (int j = 0; j < s->n; j++) {
        double y = s->p[j];
        if (fabs(x) < fabs(y)) {
            double t = x;
            x = y;
            y = t;
        }
        double hi = x + y;
        double lo = y - (hi - x);
        if (lo != 0.0)
            s->p[i++] = lo;
        x = hi;
    }
    if (!isfinite(x) || i >= ATTRIB_FSUM_PARTIALS) {
        s->overflow = true;
        return;
    }
    s->p[i] = x;
    s->n = i + 1;
}

double attrib_fsum_value(const attrib_fsum *s)
{
    if (s->overflow)
        return NAN;
    int n = s->n;
    double hi = 0.0, lo = 0.0;
    if (n == 0)
        return 0.0;
    hi = s->p[--n];
    /* Add from the top until the sum is inexact. */
    while (n > 0) {
        double x = hi;
        double y = s->p[--n];
        hi = x + y;
        double yr = hi - x;
        lo = y - yr;
        if (lo != 0.0)
            break;
    }
    /* Round half-even correctly when the rest pushes a tie one way. */
    if (n > 0 && ((lo < 0.0 && s->p[n - 1] < 0.0) || (lo > 0.0 && s->p[n - 1] > 0.0))) {
        double y = lo * 2.0;
        double x = hi + y;
        double yr = x - hi;
        if (y == yr)
            hi = x;
    }
    return hi;
}
