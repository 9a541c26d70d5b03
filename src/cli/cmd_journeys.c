/* attrib journeys: stream the selected journeys to stdout or --out. */
#include "commands.h"
#include "msgs.h"

#include "attrib/store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int write_out(const char *data, size_t len, void *payload)
{
    FILE *f = payload;
    return fwrite(data, 1, len, f) == len ? ATTRIB_OK : ATTRIB_EIO;
}

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
    bool to_stdout = strcmp(cfg->out, "-") == 0;
    attrib_ctx *ctx = NULL;
    attrib_store *st = NULL;
    attrib_summary sum = {0};
    FILE *f = NULL;
    rc = cli_ctx(cfg, &ctx);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(ctx, cfg, ATTRIB_STORE_READONLY, &st);
    if (rc != CLI_EXIT_OK)
        goto done;
    f = to_stdout ? stdout : fopen(cfg->out, "w");
    if (f == NULL) {
        rc = cli_errorf(CLI_EXIT_RUNTIME, "cannot write %s: %s", cfg->out, strerror(errno));
        goto done;
    }
    int lrc = attrib_journeys_write(ctx, st, &opts, fmt, write_out, f, &sum);
    if (lrc == ATTRIB_EIO)
        rc = cli_errorf(CLI_EXIT_RUNTIME, "cannot write %s",
                        to_stdout ? "standard output" : cfg->out);
    else if (lrc != ATTRIB_OK)
        rc = cli_fail(ctx, lrc);
    if (!to_stdout && fclose(f) != 0 && rc == CLI_EXIT_OK)
        rc = cli_errorf(CLI_EXIT_RUNTIME, "cannot write %s: %s", cfg->out, strerror(errno));
    if (rc == CLI_EXIT_OK)
        cli_infof("attrib journeys: %llu journeys (%llu sessions), %llu conversions without a "
                  "session",
                  (unsigned long long)sum.conversions_attributed,
                  (unsigned long long)sum.journey_sessions,
                  (unsigned long long)sum.n_unattributable);
done:
    attrib_summary_free(&sum);
    attrib_store_close(st);
    attrib_ctx_free(ctx);
    return rc;
}
