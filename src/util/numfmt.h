/*
 * Numbers for files and tables: the shortest decimal form that reads back
 * to the same double (like repr() in Python or %.17g trimmed), locale-free.
 * Non-finite values are not numbers for us: callers must not pass them.
 */
#ifndef ATTRIB_UTIL_NUMFMT_H
#define ATTRIB_UTIL_NUMFMT_H

#include <stddef.h>

#define ATTRIB_NUMFMT_MAX 32

/* Write the shortest round-trip form of x into out; returns its length.
 * Integral values print without a decimal point ("3"), -0 prints as "0". */
size_t attrib_numfmt(double x, char out[ATTRIB_NUMFMT_MAX]);

/* Strict decimal parse of exactly `len` bytes (no spaces, no hex, no inf or
 * nan). Returns 0 or -1. */
int attrib_numparse(const char *s, size_t len, double *out);

#endif
