/* Fuzz target: the IHC model-parameter file (src/lib/ihc/params.c). A file
 * that parses must serialise, parse back and serialise to the same text; one
 * that does not must say why. */
#include "lib/core/ctx.h"
#include "lib/ihc/params.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    attrib_ctx *ctx = NULL;
    attrib_ihc_params *p = NULL, *q = NULL;
    char *a = NULL, *b = NULL;
    if (attrib_ctx_new(&ctx) != 0)
        return 0;
    if (attrib__ihc_params_parse(ctx, (const char *)data, size, "fuzz", &p) != ATTRIB_OK) {
        if (attrib_errmsg(ctx)[0] == '\0')
            __builtin_trap();
        goto done;
    }
    if (attrib__ihc_params_to_json(ctx, p, &a) != ATTRIB_OK)
        goto done; /* out of memory only */
    if (attrib__ihc_params_parse(ctx, a, strlen(a), "again", &q) != ATTRIB_OK)
        __builtin_trap(); /* what we write we read */
    if (attrib__ihc_params_to_json(ctx, q, &b) == ATTRIB_OK && strcmp(a, b) != 0)
        __builtin_trap();
done:
    free(a);
    free(b);
    attrib__ihc_params_free(p);
    attrib__ihc_params_free(q);
    attrib_ctx_free(ctx);
    return 0;
}
