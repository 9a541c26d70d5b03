/* Fuzz target: the validators of every input row (src/lib/store/rows.c).
 * The input is decoded into the columns a store delivers: per column one
 * type byte (NULL, INT, REAL, TEXT), then 8 bytes of INT or REAL, or a length
 * byte and that many bytes of TEXT (NUL bytes included, as a store may hand
 * them over). A valid row must carry what the columns said; a rejected one a
 * message. */
#include "lib/core/ctx.h"
#include "lib/store/rows.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCOLS (ATTRIB_SS_NCOLS > ATTRIB_CV_NCOLS ? ATTRIB_SS_NCOLS : ATTRIB_CV_NCOLS)

static size_t decode(const uint8_t *data, size_t size, attrib_value *cols, char text[][257])
{
    size_t at = 0;
    for (size_t c = 0; c < NCOLS; c++) {
        memset(&cols[c], 0, sizeof(cols[c]));
        if (at >= size)
            continue;
        unsigned type = data[at++] % 4;
        cols[c].type = (attrib_vtype)type;
        if (type == ATTRIB_V_INT || type == ATTRIB_V_REAL) {
            uint8_t raw[8] = {0};
            size_t n = size - at < 8 ? size - at : 8;
            memcpy(raw, data + at, n);
            at += n;
            if (type == ATTRIB_V_INT)
                memcpy(&cols[c].i, raw, 8);
            else
                memcpy(&cols[c].r, raw, 8);
        } else if (type == ATTRIB_V_TEXT) {
            size_t len = at < size ? data[at++] : 0;
            if (len > size - at)
                len = size - at;
            memcpy(text[c], data + at, len);
            text[c][len] = '\0';
            at += len;
            cols[c].s = text[c];
            cols[c].len = len;
        }
    }
    return at;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char text[NCOLS][257];
    attrib_value cols[NCOLS];
    attrib_ctx *ctx = NULL;
    if (attrib_ctx_new(&ctx) != 0)
        return 0;
    size_t used = decode(data, size, cols, text);
    char scratch[2][32];
    attrib_session_row s;
    int rc = attrib__session_row(ctx, cols, &s, scratch);
    if (rc == ATTRIB_OK) {
        if (s.holder > 1 || s.closer > 1 || s.impression > 1 || s.cost != s.cost ||
            s.channel_len != cols[ATTRIB_SS_CHANNEL].len)
            __builtin_trap();
    } else if (attrib_errmsg(ctx)[0] == '\0') {
        __builtin_trap(); /* a rejected row is named */
    }
    decode(data + used, size - used, cols, text);
    attrib_conversion_row cv;
    rc = attrib__conversion_row(ctx, cols, &cv, scratch);
    if (rc == ATTRIB_OK) {
        int64_t sod = cv.ts - (int64_t)cv.day * 86400; /* the day's second (floor) */
        if (cv.revenue != cv.revenue || sod < 0 || sod >= 86400)
            __builtin_trap();
    } else if (attrib_errmsg(ctx)[0] == '\0') {
        __builtin_trap();
    }
    double v;
    if (attrib__number(ctx, &cols[0], &v, "t", "c", "r") == ATTRIB_OK && v != v)
        __builtin_trap();
    attrib_ctx_free(ctx);
    return 0;
}
