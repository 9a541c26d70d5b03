/* attrib init: create tables and indexes. */
#include "commands.h"
#include "msgs.h"

#include "attrib/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_file(const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return cli_errorf(CLI_EXIT_RUNTIME, "cannot read schema file %s: %s", path,
                          strerror(errno));
    char *data = NULL;
    size_t len = 0, cap = 0;
    int rc = CLI_EXIT_OK;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap != 0 ? cap * 2 : 8192;
            char *p = cap <= (1u << 26) ? realloc(data, cap) : NULL;
            if (p == NULL) {
                rc = cli_errorf(CLI_EXIT_RUNTIME, "schema file %s is too large", path);
                break;
            }
            data = p;
        }
        size_t n = fread(data + len, 1, 4096, f);
        len += n;
        if (n < 4096)
            break;
    }
    if (rc == CLI_EXIT_OK && ferror(f))
        rc = cli_errorf(CLI_EXIT_RUNTIME, "cannot read schema file %s", path);
    fclose(f);
    if (rc != CLI_EXIT_OK) {
        free(data);
        return rc;
    }
    data[len] = '\0';
    *out = data;
    return CLI_EXIT_OK;
}

int cmd_init(cli_config *cfg)
{
    attrib_ctx *ctx = NULL;
    attrib_store *st = NULL;
    char *schema = NULL;
    int rc = cli_ctx(cfg, &ctx);
    if (rc == CLI_EXIT_OK && cfg->schema_file != NULL)
        rc = read_file(cfg->schema_file, &schema);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(ctx, cfg, ATTRIB_STORE_CREATE, &st);
    if (rc != CLI_EXIT_OK)
        goto done;
    int lrc = attrib_store_init(st, schema);
    if (lrc != ATTRIB_OK) {
        rc = cli_fail(ctx, lrc);
        goto done;
    }
    cli_say_recovered(cfg, st, false);
    cli_infof("attrib init: %s ready (tables and indexes in place)", attrib_store_display(st));
done:
    free(schema);
    attrib_store_close(st);
    attrib_ctx_free(ctx);
    return rc;
}
