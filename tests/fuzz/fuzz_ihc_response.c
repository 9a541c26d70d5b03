/* Fuzz target: the IHC response parser (bodies the API client receives). */
#include "attrib/ihc_json.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    attrib_ctx *ctx = NULL;
    if (attrib_ctx_new(&ctx) != ATTRIB_OK)
        return 0;
    attrib_ihc_response *resp = NULL;
    if (attrib_ihc_response_parse(ctx, (const char *)data, size, &resp) == ATTRIB_OK) {
        for (size_t i = 0; i < resp->n_rows; i++)
            if (resp->rows[i].conversion_id == NULL || resp->rows[i].session_id == NULL)
                __builtin_trap();
    }
    attrib_ihc_response_free(resp);
    attrib_ctx_free(ctx);
    return 0;
}
