/* attrib recover: resolve what dead MPI jobs left prepared (two-phase commit). */
#include "commands.h"
#include "msgs.h"

#include "attrib/store.h"

#include <string.h>

int cmd_recover(cli_config *cfg)
{
    attrib_ctx *ctx = NULL;
    attrib_store *st = NULL;
    attrib_store_recovery r;
    int rc = cli_ctx(cfg, &ctx);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(ctx, cfg, 0, &st);
    if (rc != CLI_EXIT_OK)
        goto done;
    int lrc = attrib_store_recover(st, &r);
    if (lrc != ATTRIB_OK) {
        rc = cli_fail(ctx, lrc);
        goto done;
    }
    if (strcmp(attrib_store_kind(st), "postgresql") != 0)
        cli_infof("attrib recover: %s is SQLite, which has no prepared transactions: nothing to "
                  "do",
                  attrib_store_display(st));
    else
        cli_infof("attrib recover: %s: resolved %llu dead job(s): committed %llu and rolled back "
                  "%llu prepared transactions they left; %llu running job(s) left alone",
                  attrib_store_display(st), (unsigned long long)r.jobs,
                  (unsigned long long)r.committed, (unsigned long long)r.rolled_back,
                  (unsigned long long)r.running);
done:
    attrib_store_close(st);
    attrib_ctx_free(ctx);
    return rc;
}
