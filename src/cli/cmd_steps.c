/*
 * attrib attribute | report | export | run: the pipeline steps. They share
 * one shape (options → store → step → summary), so they share this file.
 */
#include "commands.h"
#include "msgs.h"

#include "attrib/store.h"

#include <string.h>

typedef enum { STEP_ATTRIBUTE, STEP_REPORT, STEP_EXPORT, STEP_RUN } step_kind;

static const char *const step_names[] = {"attribute", "report", "export", "run"};
_Static_assert(sizeof(step_names) / sizeof(step_names[0]) == STEP_RUN + 1, "one name per step");

static int step(cli_config *cfg, step_kind kind)
{
    attrib_ctx *ctx = NULL;
    attrib_store *st = NULL;
    attrib_summary sum = {0};
    attrib_run_options opts;
    int rc = cli_run_options(cfg, &opts);
    if (rc != CLI_EXIT_OK)
        return rc;
    cli_api api = {0};
    /* Only attribute and run have --engine (and so a value for it). */
    bool engine_step = kind == STEP_ATTRIBUTE || kind == STEP_RUN;
    if (engine_step && strcmp(cfg->engine, "ihc-api") == 0) {
        rc = cli_api_setup(cfg, &api);
        if (rc != CLI_EXIT_OK)
            return rc;
        opts.api = &api.opts;
        opts.api_force = cfg->force;
    } else if (engine_step && strcmp(cfg->engine, "local") != 0)
        return cli_error_usage("--engine takes local or ihc-api, not '%s'", cfg->engine);
    rc = cli_ctx(cfg, &ctx);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(ctx, cfg, 0, &st);
    if (rc != CLI_EXIT_OK)
        goto done;
    int lrc = ATTRIB_OK;
    switch (kind) {
    case STEP_ATTRIBUTE:
        lrc = attrib_attribute(ctx, st, &opts, &sum);
        break;
    case STEP_REPORT:
        lrc = attrib_report(ctx, st, &opts, &sum);
        break;
    case STEP_EXPORT:
        lrc = attrib_export_csv(ctx, st, &opts, cfg->out, &sum);
        break;
    case STEP_RUN:
        lrc = attrib_run(ctx, st, &opts, cfg->out, &sum);
        break;
    }
    rc = lrc == ATTRIB_OK ? CLI_EXIT_OK : cli_fail(ctx, lrc);
    if (rc == CLI_EXIT_OK && (kind == STEP_EXPORT || (kind == STEP_RUN && opts.shard_count == 0)))
        cli_infof("attrib %s: wrote %s", step_names[kind], cfg->out);
    else if (rc == CLI_EXIT_OK && opts.shard_count > 0)
        cli_infof("attrib %s: shard %u/%u attributed; after the last shard run `attrib report` "
                  "and `attrib export`",
                  step_names[kind], opts.shard_index, opts.shard_count);
    if (rc == CLI_EXIT_OK || rc == CLI_EXIT_PARTIAL)
        rc = cli_summary(cfg, step_names[kind], &sum, rc);
done:
    cli_api_free(&api);
    attrib_summary_free(&sum);
    attrib_store_close(st);
    attrib_ctx_free(ctx);
    return rc;
}

int cmd_attribute(cli_config *cfg)
{
    return step(cfg, STEP_ATTRIBUTE);
}

int cmd_report(cli_config *cfg)
{
    return step(cfg, STEP_REPORT);
}

int cmd_export(cli_config *cfg)
{
    return step(cfg, STEP_EXPORT);
}

int cmd_run(cli_config *cfg)
{
    return step(cfg, STEP_RUN);
}
