/* attrib partition: the input tables into hash partitions by user_id (partition.h). */
#include "attrib/partition.h"

#include "lib/store/partition.h"

#include <string.h>

static int partition_one(attrib_ctx *ctx, attrib_store *st, const char *table, unsigned parts,
                         uint64_t *rows, attrib_partition_stats *stats)
{
    attrib__part_info in;
    int rc = attrib__part_info_of(st, table, &in);
    if (rc != ATTRIB_OK)
        return rc;
    switch (in.state) {
    case ATTRIB__PART_MISSING:
        return attrib__error(ctx, ATTRIB_ENOTFOUND,
                             "%s: no table %s; load the input first (attrib gen, attrib copy)",
                             attrib_store_display(st), table);
    case ATTRIB__PART_OTHER:
        return attrib__error(ctx, ATTRIB_EINVAL,
                             "%s: %s is %s; attrib partition only turns a plain table into hash "
                             "partitions by user_id, and nothing was changed",
                             attrib_store_display(st), table, in.detail);
    case ATTRIB__PART_HASHED:
        if (in.parts != parts)
            return attrib__error(
                ctx, ATTRIB_EINVAL,
                "%s: %s is already hash-partitioned by user_id in %u parts, not %u; attrib "
                "partition does not repartition (copy the input into a new database with "
                "attrib copy and partition that), and nothing was changed",
                attrib_store_display(st), table, in.parts, parts);
        stats->already++;
        return ATTRIB_OK;
    case ATTRIB__PART_PLAIN:
        break;
    }
    attrib__progress(ctx, "partitioning", 0, 0);
    rc = attrib__part_table(st, table, parts, rows);
    if (rc == ATTRIB_OK)
        stats->done++;
    return rc;
}

int attrib_partition(attrib_ctx *ctx, attrib_store *st, unsigned parts,
                     attrib_partition_stats *stats)
{
    attrib__enter(ctx);
    attrib_partition_stats local;
    if (stats == NULL)
        stats = &local;
    memset(stats, 0, sizeof(*stats));
    if (strcmp(st->ops->name, "postgresql") != 0)
        return attrib__leave(
            ctx, attrib__error(ctx, ATTRIB_EINVAL,
                               "partitioning needs a PostgreSQL store: %s is SQLite, which "
                               "has no table partitions; shards on SQLite read every row and "
                               "keep their users' (docs/scale-out.md)",
                               attrib_store_display(st)));
    if (parts < ATTRIB_PARTITION_MIN || parts > ATTRIB_PARTITION_MAX)
        return attrib__leave(ctx, attrib__error(ctx, ATTRIB_EINVAL,
                                                "%u partitions: the count must be %d to %d", parts,
                                                ATTRIB_PARTITION_MIN, ATTRIB_PARTITION_MAX));
    int rc = attrib__store_begin(st);
    uint64_t *rows[2] = {&stats->sessions, &stats->conversions};
    for (int t = 0; t < ATTRIB__PART_TABLES && rc == ATTRIB_OK; t++)
        rc = partition_one(ctx, st, attrib__part_tables[t], parts, rows[t], stats);
    if (rc == ATTRIB_OK && attrib__cancelled(ctx))
        rc = ATTRIB_ECANCEL;
    if (rc == ATTRIB_OK)
        rc = attrib__store_commit(st);
    if (rc != ATTRIB_OK) {
        attrib__store_rollback(st);
        stats->done = 0;
        stats->sessions = stats->conversions = 0;
    }
    /* The moved rows' visibility map, so that the duplicate-id check before each
     * run reads only the partitions' key indexes. Outside the transaction (VACUUM
     * cannot run in one); the partitioning stands if it fails. */
    if (rc == ATTRIB_OK && stats->done > 0 &&
        st->ops->exec(st->impl, "VACUUM session_sources, conversions", NULL, 0,
                      "vacuuming the partitions") != ATTRIB_OK) {
        ATTRIB_LOG(ctx, ATTRIB_LOG_WARN, "%s (the tables are partitioned)", attrib_errmsg(ctx));
        attrib_clearerr(ctx);
    }
    return attrib__leave(ctx, rc);
}
