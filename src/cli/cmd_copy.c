/* attrib copy: move the input tables from one store into another. */
#include "commands.h"
#include "msgs.h"

#include "attrib/copy.h"
#include "attrib/store.h"

#include <time.h>

int cmd_copy(cli_config *cfg)
{
    attrib_ctx *ctx = NULL;
    attrib_store *from = NULL, *to = NULL;
    attrib_copy_stats stats;
    if (cfg->copy_from == NULL || cfg->copy_to == NULL)
        return cli_error_usage("copy needs --from TARGET and --to TARGET");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = cli_ctx(cfg, &ctx);
    if (rc != CLI_EXIT_OK)
        goto done;
    int lrc = attrib_store_open(ctx, cfg->copy_from, ATTRIB_STORE_READONLY, &from);
    if (lrc == ATTRIB_OK)
        lrc = attrib_store_open(ctx, cfg->copy_to, ATTRIB_STORE_CREATE, &to);
    if (lrc == ATTRIB_OK)
        lrc = attrib_copy(ctx, from, to, cfg->force ? ATTRIB_COPY_FORCE : 0, &stats);
    cli_progress_done();
    if (lrc != ATTRIB_OK) {
        rc = cli_fail(ctx, lrc);
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cli_infof("attrib copy: %llu sessions, %llu conversions, %llu cost rows from %s into %s in "
              "%.2f s",
              (unsigned long long)stats.sessions, (unsigned long long)stats.conversions,
              (unsigned long long)stats.costs, attrib_store_display(from), attrib_store_display(to),
              (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
done:
    attrib_store_close(to);
    attrib_store_close(from);
    attrib_ctx_free(ctx);
    return rc;
}
