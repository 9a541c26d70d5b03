/*
 * Shortest round-trip formatting by search: try 1..17 significant digits
 * with %.*g and keep the first that strtod reads back exactly. At most 17
 * snprintf/strtod pairs; output uses '.' whatever the locale, because the
 * library never calls setlocale and the C locale is the default.
 */
#include "numfmt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t attrib_numfmt(double x, char out[ATTRIB_NUMFMT_MAX])
{
    if (x == 0) {
        out[0] = '0';
        out[1] = '\0';
        return 1;
    }
    /* Fewest significant digits that read back exactly. */
    int prec = 1;
    char sci[ATTRIB_NUMFMT_MAX];
    for (; prec <= 17; prec++) {
        snprintf(sci, sizeof(sci), "%.*e", prec - 1, x);
        if (strtod(sci, NULL) == x)
            break;
    }
    const char *e = strchr(sci, 'e');
    int exp = e != NULL ? (int)strtol(e + 1, NULL, 10) : 0;
    int n;
    /* Positional notation where it is short (as Python's repr does). */
    if (exp >= -4 && exp < 16) {
        int decimals = prec - 1 - exp;
        n = snprintf(out, ATTRIB_NUMFMT_MAX, "%.*f", decimals > 0 ? decimals : 0, x);
    } else {
        n = snprintf(out, ATTRIB_NUMFMT_MAX, "%s", sci);
    }
    return (size_t)n;
}

int attrib_numparse(const char *s, size_t len, double *out)
{
    char tmp[64];
    if (len == 0 || len >= sizeof(tmp))
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
            return -1;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    errno = 0;
    char *end = NULL;
    double v = strtod(tmp, &end);
    if (end != tmp + len || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}
