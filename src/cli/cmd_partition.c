/* attrib partition: the input tables into hash partitions by user_id. */
#include "commands.h"
#include "msgs.h"

#include "attrib/partition.h"
#include "attrib/store.h"

#include <string.h>
#include <time.h>

int cmd_partition(cli_config *cfg)
{
    attrib_ctx *ctx = NULL;
    attrib_store *st = NULL;
    attrib_partition_stats stats;
    if (!CLI_IS_SET(cfg, parts))
        return cli_error_usage("partition needs --parts P (%d..%d)", ATTRIB_PARTITION_MIN,
                               ATTRIB_PARTITION_MAX);
    if (cfg->parts < ATTRIB_PARTITION_MIN || cfg->parts > ATTRIB_PARTITION_MAX)
        return cli_error_usage("--parts %llu: the count must be %d to %d",
                               (unsigned long long)cfg->parts, ATTRIB_PARTITION_MIN,
                               ATTRIB_PARTITION_MAX);
    if (strncmp(cfg->db, "postgresql://", 13) != 0 && strncmp(cfg->db, "postgres://", 11) != 0)
        return cli_error_usage("attrib partition needs PostgreSQL (--db postgresql://...): %s is a "
                               "SQLite database, which has no table partitions; on SQLite, "
                               "--shard K/N reads every row and keeps its users' "
                               "(docs/scale-out.md)",
                               cfg->db);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = cli_ctx(cfg, &ctx);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(ctx, cfg, 0, &st);
    if (rc != CLI_EXIT_OK)
        goto done;
    int lrc = attrib_partition(ctx, st, (unsigned)cfg->parts, &stats);
    cli_progress_done();
    if (lrc != ATTRIB_OK) {
        rc = cli_fail(ctx, lrc);
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (stats.done == 0)
        cli_infof("attrib partition: session_sources and conversions were already in %llu hash "
                  "partitions by user_id; nothing changed",
                  (unsigned long long)cfg->parts);
    else
        cli_infof("attrib partition: %llu sessions and %llu conversions into %llu hash "
                  "partitions by user_id each in %s in %.2f s",
                  (unsigned long long)stats.sessions, (unsigned long long)stats.conversions,
                  (unsigned long long)cfg->parts, attrib_store_display(st), secs);
done:
    attrib_store_close(st);
    attrib_ctx_free(ctx);
    return rc;
}
