/* Repeated session ids of a full scan, by hash (ids.h). */
#include "lib/journey/ids.h"

#include "lib/core/ctx.h"
#include "util/strmap.h"

#include <stdlib.h>
#include <string.h>

int attrib__ids_add(attrib__ids *ids, const attrib_value *id)
{
    if (id->type != ATTRIB_V_TEXT) {
        ids->odd = true;
        return ATTRIB_OK;
    }
    if (ids->n == ids->cap) {
        size_t cap = ids->cap > 0 ? ids->cap * 2 : 65536;
        uint64_t *h = realloc(ids->hash, cap * sizeof(*h));
        if (h == NULL)
            return ATTRIB_ENOMEM;
        ids->hash = h;
        ids->cap = cap;
    }
    ids->hash[ids->n++] = attrib_hash(id->s, id->len);
    return ATTRIB_OK;
}

void attrib__ids_free(attrib__ids *ids)
{
    free(ids->hash);
    *ids = (attrib__ids){0};
}

#define DIGIT_BITS 11 /* 2048 buckets: the counts and the write heads stay in L1 */
#define DIGITS (1u << DIGIT_BITS)

/* LSD radix sort of a[0..n) by 11-bit digits (six passes); b is scratch of
 * n. Returns the array holding the result. */
static uint64_t *radix_sort(uint64_t *a, uint64_t *b, size_t n, size_t *count)
{
    for (unsigned shift = 0; shift < 64; shift += DIGIT_BITS) {
        memset(count, 0, DIGITS * sizeof(*count));
        for (size_t i = 0; i < n; i++)
            count[(a[i] >> shift) & (DIGITS - 1)]++;
        size_t at = 0;
        for (size_t d = 0; d < DIGITS; d++) {
            size_t c = count[d];
            count[d] = at;
            at += c;
        }
        for (size_t i = 0; i < n; i++)
            b[count[(a[i] >> shift) & (DIGITS - 1)]++] = a[i];
        uint64_t *t = a;
        a = b;
        b = t;
    }
    return a;
}

int attrib__ids_maybe_repeated(attrib_ctx *ctx, attrib__ids *sets, unsigned n, bool *maybe)
{
    size_t total = 0;
    uint64_t *a = NULL, *b = NULL;
    size_t *count = NULL;
    int rc = ATTRIB_OK;
    *maybe = false;
    for (unsigned i = 0; i < n; i++) {
        *maybe = *maybe || sets[i].odd;
        total += sets[i].n;
    }
    if (*maybe || total < 2)
        goto done;
    a = malloc(total * sizeof(*a));
    if (a == NULL)
        goto oom;
    size_t at = 0;
    for (unsigned i = 0; i < n; i++) {
        if (sets[i].n > 0)
            memcpy(a + at, sets[i].hash, sets[i].n * sizeof(*a));
        at += sets[i].n;
        attrib__ids_free(&sets[i]); /* the copy is all that is needed now */
    }
    b = malloc(total * sizeof(*b));
    count = malloc(DIGITS * sizeof(*count));
    if (b == NULL || count == NULL)
        goto oom;
    const uint64_t *sorted = radix_sort(a, b, total, count);
    for (size_t i = 1; i < total && !*maybe; i++)
        *maybe = sorted[i] == sorted[i - 1];
    goto done;
oom:
    rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory checking that session ids are unique");
done:
    for (unsigned i = 0; i < n; i++)
        attrib__ids_free(&sets[i]);
    free(a);
    free(b);
    free(count);
    return rc;
}
