/*
 * Order-independent sums. Report totals must be byte-identical whatever order
 * rows arrive in (threads, stores, incremental runs), and floating-point
 * addition is not associative. Each term is rounded once to a fixed-point
 * grid of 2^-60 and summed as a 128-bit integer, which is exact and
 * associative; the total is converted back with one correct rounding.
 * Terms must satisfy |x| < 2^50 (1.1e15); out-of-range terms set a sticky
 * flag. The absolute error of a sum of n terms is at most n * 2^-61.
 */
#ifndef ATTRIB_UTIL_XSUM_H
#define ATTRIB_UTIL_XSUM_H

#include <math.h>
#include <stdbool.h>

typedef struct {
    __int128 acc;  /* the sum in units of 2^-60 */
    bool overflow; /* a term was out of range; the sum is then meaningless */
} attrib_xsum;

#define ATTRIB_XSUM_INIT                                                                           \
    {                                                                                              \
        0, false                                                                                   \
    }
#define ATTRIB_XSUM_BITS 60
#define ATTRIB_XSUM_LIMIT 1125899906842624.0 /* 2^50 */

static inline void attrib_xsum_add(attrib_xsum *s, double x)
{
    if (!(fabs(x) < ATTRIB_XSUM_LIMIT)) {
        s->overflow = true;
        return;
    }
    double ip = trunc(x); /* exact, and x - ip is exact too */
    s->acc += ((__int128)(long long)ip * ((__int128)1 << ATTRIB_XSUM_BITS)) +
              (__int128)llround(ldexp(x - ip, ATTRIB_XSUM_BITS));
}

static inline void attrib_xsum_merge(attrib_xsum *s, const attrib_xsum *o)
{
    s->acc += o->acc;
    s->overflow = s->overflow || o->overflow;
}

static inline double attrib_xsum_value(const attrib_xsum *s)
{
    return ldexp((double)s->acc, -ATTRIB_XSUM_BITS);
}

#endif
