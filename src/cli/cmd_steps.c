/*
 * attrib attribute | report | export | run: the pipeline steps. They share
 * one shape (options → store → step → summary), so they share this file.
 */
#include "commands.h"
#include "msgs.h"

#include "attrib/html.h"
#include "attrib/store.h"

#include <string.h>

typedef enum { STEP_ATTRIBUTE, STEP_REPORT, STEP_EXPORT, STEP_RUN } step_kind;

static const char *const step_names[] = {"attribute", "report", "export", "run"};
_Static_assert(sizeof(step_names) / sizeof(step_names[0]) == STEP_RUN + 1, "one name per step");

#define MAX_HTML_MODELS 32

/* --html (export, run): the HTML report, after the step. Exit code. */
static int html_report(cli_config *cfg, attrib_ctx *ctx, attrib_store *st,
                       const attrib_run_options *opts, const attrib_model_ops *const *models,
                       size_t n_models, attrib_summary *sum)
{
    attrib_html_options ho = ATTRIB_HTML_OPTIONS_INIT;
    ho.compare = models;
    ho.n_compare = n_models;
    int lrc = attrib_export_html(ctx, st, opts, &ho, cfg->html, sum);
    if (lrc != ATTRIB_OK)
        return cli_fail(ctx, lrc);
    cli_progress_done();
    cli_infof("attrib: wrote the HTML report %s", cfg->html);
    return CLI_EXIT_OK;
}

static int step(cli_config *cfg, step_kind kind)
{
    attrib_ctx *ctx = NULL;
    attrib_store *st = NULL;
    attrib_summary sum = {0}, hsum = {0};
    attrib_run_options opts;
    const attrib_model_ops *models[MAX_HTML_MODELS];
    size_t n_models = 0;
    bool html = CLI_IS_SET(cfg, html);
    if (CLI_IS_SET(cfg, compare_models) && !html)
        return cli_error_usage("--compare-models goes with --html FILE");
    int rc = CLI_IS_SET(cfg, compare_models)
                 ? cli_parse_models("--compare-models", cfg->compare_models, models,
                                    MAX_HTML_MODELS, &n_models)
                 : CLI_EXIT_OK;
    if (rc == CLI_EXIT_OK)
        rc = cli_run_options(cfg, &opts);
    if (rc != CLI_EXIT_OK)
        return rc;
    /* export --html writes only the page unless --out asks for the CSV too */
    bool csv = kind == STEP_RUN || (kind == STEP_EXPORT && (!html || CLI_IS_SET(cfg, out)));
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
    /* Outputs are checked before any work: a bad path costs nothing. */
    if (rc == CLI_EXIT_OK && (kind == STEP_EXPORT || kind == STEP_RUN))
        rc = cli_check_out(ctx, "--out", cfg->out);
    if (rc == CLI_EXIT_OK && cfg->summary_json != NULL)
        rc = cli_check_out(ctx, "--summary-json", cfg->summary_json);
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
        if (csv)
            lrc = attrib_export_csv(ctx, st, &opts, cfg->out, &sum);
        break;
    case STEP_RUN:
        lrc = attrib_run(ctx, st, &opts, cfg->out, &sum);
        break;
    }
    rc = lrc == ATTRIB_OK ? CLI_EXIT_OK : cli_fail(ctx, lrc);
    if (rc == CLI_EXIT_OK && csv)
        cli_infof("attrib %s: wrote %s", step_names[kind], cfg->out);
    /* export reports the page's counts; run keeps its own (the page's read is a second one) */
    if (rc == CLI_EXIT_OK && html)
        rc = html_report(cfg, ctx, st, &opts, models, n_models, kind == STEP_EXPORT ? &sum : &hsum);
    if (rc == CLI_EXIT_OK || rc == CLI_EXIT_PARTIAL)
        rc = cli_summary(cfg, step_names[kind], &sum, rc);
done:
    cli_api_free(&api);
    attrib_summary_free(&sum);
    attrib_summary_free(&hsum);
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
