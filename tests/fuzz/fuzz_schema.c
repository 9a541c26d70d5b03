/* Fuzz target: a schema file as `attrib init --schema-file` hands it to the
 * store (attrib_store_init on an in-memory SQLite database): whatever the
 * text, init succeeds or fails with a message, and after a success the
 * tables attrib needs are there. Run from a scratch directory: the text is
 * arbitrary SQL. */
#include "attrib/store.h"
#include "lib/core/ctx.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    attrib_ctx *ctx = NULL;
    attrib_store *st = NULL;
    char *sql = malloc(size + 1);
    if (sql == NULL || attrib_ctx_new(&ctx) != 0) {
        free(sql);
        return 0;
    }
    memcpy(sql, data, size);
    sql[size] = '\0';
    if (attrib_store_open(ctx, ":memory:", ATTRIB_STORE_CREATE, &st) == ATTRIB_OK) {
        int rc = attrib_store_init(st, sql);
        if (rc != ATTRIB_OK && attrib_errmsg(ctx)[0] == '\0')
            __builtin_trap();
    }
    attrib_store_close(st);
    attrib_ctx_free(ctx);
    free(sql);
    return 0;
}
