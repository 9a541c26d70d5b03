/*
 * attrib run: init, attribute, report and export in one go. Without a range
 * the attribute step fuses the report in (one scan, one transaction).
 */
#include "attrib/pipeline.h"

#include "lib/steps/steps.h"

int attrib_run(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts, const char *path,
               attrib_summary *sum)
{
    attrib__enter(ctx);
    int rc = attrib__check_run_options(ctx, opts);
    if (rc != ATTRIB_OK)
        return attrib__leave(ctx, rc);
    rc = attrib_store_check(st, false);
    if (rc == ATTRIB_OK)
        rc = attrib_store_init(st, NULL);
    if (rc != ATTRIB_OK)
        return attrib__leave(ctx, rc);
    if (attrib__is_ranged(opts)) {
        rc = attrib__attribute_step(ctx, st, opts, false, sum);
        if (rc == ATTRIB_OK)
            rc = attrib_report(ctx, st, opts, sum);
    } else {
        rc = attrib__attribute_step(ctx, st, opts, true, sum);
    }
    if (rc == ATTRIB_OK && path != NULL)
        rc = attrib_export_csv(ctx, st, opts, path, sum);
    return attrib__leave(ctx, rc);
}
