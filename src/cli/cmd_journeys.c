/* attrib journeys: stream the selected journeys to stdout or --out. */
#include "commands.h"
#include "msgs.h"

#include "attrib/file.h"
#include "attrib/store.h"

#include <stdio.h>
#include <string.h>

int cmd_journeys(cli_config *cfg)
{
    attrib_journeys_format fmt;
    if (strcmp(cfg->format, "ihc-json") == 0)
        fmt = ATTRIB_JOURNEYS_IHC_JSON;
    else if (strcmp(cfg->format, "jsonl") == 0)
        fmt = ATTRIB_JOURNEYS_JSONL;
    else if (strcmp(cfg->format, "csv") == 0)
        fmt = ATTRIB_JOURNEYS_CSV;
    else
        return cli_error_usage("--format must be ihc-json, jsonl or csv, not '%s'", cfg->format);
    attrib_run_options opts;
    int rc = cli_run_options(cfg, &opts);
    if (rc != CLI_EXIT_OK)
        return rc;
    attrib_ctx *ctx = NULL;
    attrib_store *st = NULL;
    attrib_summary sum = {0};
    attrib_file *f = NULL;
    rc = cli_ctx(cfg, &ctx);
    if (rc == CLI_EXIT_OK)
        rc = cli_check_out(ctx, "--out", cfg->out);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(ctx, cfg, ATTRIB_STORE_READONLY, &st);
    if (rc != CLI_EXIT_OK)
        goto done;
    /* Written whole or not at all: the old file stays until the commit. */
    fflush(stdout);
    int lrc = attrib_file_open(ctx, cfg->out, &f);
    if (lrc == ATTRIB_OK)
        lrc = attrib_journeys_write(ctx, st, &opts, fmt, attrib_file_write_fn, f, &sum);
    if (lrc == ATTRIB_OK) {
        attrib_file *cf = f;
        f = NULL;
        lrc = attrib_file_commit(cf);
    }
    if (lrc != ATTRIB_OK)
        rc = cli_fail(ctx, lrc);
    if (rc == CLI_EXIT_OK)
        cli_infof("attrib journeys: %llu journeys (%llu sessions), %llu conversions without a "
                  "session",
                  (unsigned long long)sum.conversions_attributed,
                  (unsigned long long)sum.journey_sessions,
                  (unsigned long long)sum.n_unattributable);
done:
    attrib_file_abort(f);
    attrib_summary_free(&sum);
    attrib_store_close(st);
    attrib_ctx_free(ctx);
    return rc;
}
