/* Fuzz target: the strict date, time and number parsers that validate every
 * input row, with their round-trip properties. */
#include "util/numfmt.h"
#include "util/ts.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    int32_t d, t;
    int64_t ts;
    char out[20];
    if (attrib_date_parse(s, size, &d) == 0) {
        attrib_date_format(d, out);
        if (size != 10 || memcmp(out, s, 10) != 0)
            __builtin_trap(); /* a parsed date formats back to itself */
    }
    if (attrib_time_parse(s, size, &t) == 0 && (t < 0 || t >= 86400))
        __builtin_trap();
    if (attrib_datetime_parse(s, size, &ts) == 0) {
        attrib_datetime_format(ts, out);
        if (memcmp(out, s, 19) != 0)
            __builtin_trap();
    }
    double v;
    if (attrib_numparse(s, size, &v) == 0) {
        char num[ATTRIB_NUMFMT_MAX];
        attrib_numfmt(v, num);
        if (strtod(num, NULL) != v)
            __builtin_trap(); /* shortest form reads back exactly */
    }
    return 0;
}
