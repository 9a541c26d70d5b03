/* attrib eval: measure the local IHC engine against recorded API calls. */
#include "commands.h"
#include "msgs.h"

#include "attrib/ihc_fit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Shared with cmd_calibrate.c: read the dataset named by the options. */
int cli_ihc_dataset(const cli_config *cfg, attrib_ctx *ctx, attrib_ihc_dataset **out);
int cli_ihc_split(const cli_config *cfg, attrib_ihc_split *split, unsigned *holdout_percent);

/* --split and --holdout-percent when set; *split and *holdout_percent keep
 * the library's defaults otherwise. Exit code. */
int cli_ihc_split(const cli_config *cfg, attrib_ihc_split *split, unsigned *holdout_percent)
{
    if (CLI_IS_SET(cfg, holdout_percent)) {
        /* the library reads 0 as "the default share", so 0 cannot be passed on */
        if (cfg->holdout_percent < 1 || cfg->holdout_percent > 100)
            return cli_error_usage("--holdout-percent must be 1..100");
        *holdout_percent = (unsigned)cfg->holdout_percent;
    }
    if (!CLI_IS_SET(cfg, split))
        return CLI_EXIT_OK;
    const char *s = cfg->split;
    attrib_ihc_split *out = split;
    if (strcmp(s, "all") == 0)
        *out = ATTRIB_IHC_SPLIT_ALL;
    else if (strcmp(s, "train") == 0)
        *out = ATTRIB_IHC_SPLIT_TRAIN;
    else if (strcmp(s, "holdout") == 0)
        *out = ATTRIB_IHC_SPLIT_HOLDOUT;
    else
        return cli_error_usage("--split must be all, train or holdout, not '%s'", s);
    return CLI_EXIT_OK;
}

int cli_ihc_dataset(const cli_config *cfg, attrib_ctx *ctx, attrib_ihc_dataset **out)
{
    int lrc;
    if (cfg->audit_dir != NULL && (cfg->requests != NULL || cfg->responses != NULL))
        return cli_error_usage("give either --audit-dir or --requests and --responses");
    if (cfg->audit_dir != NULL)
        lrc = attrib_ihc_dataset_load_audit(ctx, cfg->audit_dir, out);
    else if (cfg->requests != NULL && cfg->responses != NULL)
        lrc = attrib_ihc_dataset_load_pairs(ctx, cfg->requests, cfg->responses, out);
    else
        return cli_error_usage("--requests and --responses (or --audit-dir) are required");
    if (lrc != ATTRIB_OK)
        return cli_fail(ctx, lrc);
    return CLI_EXIT_OK;
}

int cmd_eval(cli_config *cfg)
{
    attrib_ctx *ctx = NULL;
    attrib_ihc_dataset *ds = NULL;
    char *report = NULL;
    attrib_ihc_eval_options eo = ATTRIB_IHC_EVAL_OPTIONS_INIT;
    attrib_model_options mo = ATTRIB_MODEL_OPTIONS_INIT;
    int rc = cli_ihc_split(cfg, &eo.split, &eo.holdout_percent);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (CLI_IS_SET(cfg, worst))
        eo.worst = (size_t)cfg->worst;
    if (cfg->model_file != NULL &&
        (strcmp(cfg->model_file, "default") == 0 || strcmp(cfg->model_file, "base") == 0))
        mo.builtin = cfg->model_file;
    else
        mo.model_file = cfg->model_file;
    rc = cli_ctx(cfg, &ctx);
    if (rc == CLI_EXIT_OK)
        rc = cli_ihc_dataset(cfg, ctx, &ds);
    if (rc != CLI_EXIT_OK)
        goto done;
    attrib_ihc_eval_summary sum;
    int lrc = attrib_ihc_eval(ctx, ds, &mo, &eo, &sum, &report);
    if (lrc != ATTRIB_OK) {
        rc = cli_fail(ctx, lrc);
        goto done;
    }
    static const char *const split_name[] = {"all", "train", "holdout"};
    _Static_assert(sizeof(split_name) / sizeof(split_name[0]) == ATTRIB_IHC_SPLIT_HOLDOUT + 1,
                   "one name per attrib_ihc_split");
    printf("attrib eval: model %s, %s conversions, %zu journeys read (%zu skipped, %zu failed "
           "calls skipped)\n\n%s",
           cfg->model_file != NULL ? cfg->model_file : "default", split_name[eo.split],
           attrib_ihc_dataset_journeys(ds), attrib_ihc_dataset_skipped(ds),
           attrib_ihc_dataset_skipped_calls(ds), report);
    printf("\nsummary (2+ sessions, %zu journeys): ihc MAE %.6f max %.4f; initializer MAE %.6f; "
           "holder MAE %.6f; closer MAE %.6f; ihc within 0.001 %.2f%%, within 0.01 %.2f%%\n",
           sum.journeys, sum.mae[0], sum.max[0], sum.mae[1], sum.mae[2], sum.mae[3],
           100.0 * sum.within_001[0], 100.0 * sum.within_01[0]);
done:
    free(report);
    attrib_ihc_dataset_free(ds);
    attrib_ctx_free(ctx);
    return rc;
}
