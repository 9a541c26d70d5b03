/*
 * Correctly rounded sums of doubles (Shewchuk's exact partials, the
 * algorithm of Python's math.fsum): the result is the exact sum rounded once,
 * so it does not depend on the order of the terms and equals what any other
 * correctly rounded summation of the same numbers gives. The HTML report sums
 * CSV values with it, so a reader (or a test) summing the CSV with fsum gets
 * the same bits. Terms must be finite.
 */
#ifndef ATTRIB_UTIL_FSUM_H
#define ATTRIB_UTIL_FSUM_H

#include <stdbool.h>

/* Non-overlapping partials of doubles: at most ~40 (2098 bits / 53). */
#define ATTRIB_FSUM_PARTIALS 64

typedef struct {
    double p[ATTRIB_FSUM_PARTIALS]; /* increasing magnitude, non-overlapping */
    int n;
    bool overflow; /* a non-finite term or partial; the value is then NaN */
} attrib_fsum;

#define ATTRIB_FSUM_INIT                                                                           \
    {                                                                                              \
        {0}, 0, false                                                                              \
    }

void attrib_fsum_add(attrib_fsum *s, double x);

/* The exact sum rounded to nearest (ties to even); NaN after an overflow. */
double attrib_fsum_value(const attrib_fsum *s);

#endif
