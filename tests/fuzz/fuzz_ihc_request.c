/* Fuzz target: the IHC request parser (bodies that `attrib serve` accepts
 * from the network and `attrib eval` reads from files). */
#include "attrib/ihc_json.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    attrib_ctx *ctx = NULL;
    if (attrib_ctx_new(&ctx) != ATTRIB_OK)
        return 0;
    attrib_ihc_request *req = NULL;
    if (attrib_ihc_request_parse(ctx, (const char *)data, size, &req) == ATTRIB_OK) {
        /* Whatever parses must be internally consistent. */
        size_t n = 0;
        for (size_t j = 0; j < req->n_journeys; j++) {
            const attrib_journey *jr = &req->journeys[j];
            for (size_t k = 0; k < jr->n; k++) {
                if (jr->sessions[k].channel >= req->channels.count)
                    __builtin_trap();
                if (k > 0 && jr->sessions[k].ts < jr->sessions[k - 1].ts)
                    __builtin_trap();
            }
            n += jr->n;
        }
        if (n != req->n_sessions)
            __builtin_trap();
    }
    attrib_ihc_request_free(req);
    attrib_ctx_free(ctx);
    return 0;
}
