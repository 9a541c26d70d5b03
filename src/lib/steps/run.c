/*
 * attrib run: init, attribute, report and export in one go. The attribution
 * rows, phase rows, report sums and channel_reporting are written in one
 * transaction (without a range the report is fused into the attribute step's
 * scan; with one the report step runs inside the attribute step's
 * transaction), then the CSV is exported from what was committed.
 */
#include "attrib/pipeline.h"

#include "lib/core/file.h"
#include "lib/steps/steps.h"

int attrib_run(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts, const char *path,
               attrib_summary *sum)
{
    attrib__enter(ctx);
    int rc = attrib__check_run_options(ctx, opts);
    /* A path that cannot be written fails now, not after the whole run. */
    if (rc == ATTRIB_OK && path != NULL)
        rc = attrib__file_check(ctx, path);
    if (rc != ATTRIB_OK)
        return attrib__leave(ctx, rc);
    rc = attrib_store_check(st, false);
    if (rc == ATTRIB_OK)
        rc = attrib_store_init_outputs(st);
    if (rc != ATTRIB_OK)
        return attrib__leave(ctx, rc);
    if (opts->shard_count > 0) {
        /* A shard attributes its users; the report and export come after the last
         * shard (`attrib report`, `attrib export`: docs/scale-out.md). */
        return attrib__leave(ctx, attrib__attribute_step(ctx, st, opts, ATTRIB__REPORT_NONE, sum));
    }
    rc = attrib__attribute_step(
        ctx, st, opts, attrib__is_ranged(opts) ? ATTRIB__REPORT_AFTER : ATTRIB__REPORT_FUSED, sum);
    if (rc == ATTRIB_OK && path != NULL) {
        rc = attrib_export_csv(ctx, st, opts, path, sum);
        /* The tables are committed by now: say so, so nobody reruns it all. */
        if (rc != ATTRIB_OK && rc != ATTRIB_ENOMEM)
            attrib__error_prefix(ctx, "the attribution and report tables are committed, but the "
                                      "CSV was not written (fix this and rerun the export step)");
    }
    return attrib__leave(ctx, rc);
}
