/* attrib calibrate: fit an IHC model file to recorded API calls. */
#include "commands.h"
#include "msgs.h"

#include "attrib/ihc_fit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_ihc_dataset(const cli_config *cfg, attrib_ctx *ctx, attrib_ihc_dataset **out);
int cli_ihc_split(const cli_config *cfg, attrib_ihc_split *split, unsigned *holdout_percent);

static void print_summary(const char *what, const attrib_ihc_eval_summary *s)
{
    printf("%-9s %5zu journeys (2+ sessions): ihc MAE %.6f max %.4f within 0.001 %.2f%% "
           "within 0.01 %.2f%% | MAE I %.6f H %.6f C %.6f\n",
           what, s->journeys, s->mae[0], s->max[0], 100.0 * s->within_001[0],
           100.0 * s->within_01[0], s->mae[1], s->mae[2], s->mae[3]);
}

int cmd_calibrate(cli_config *cfg)
{
    attrib_ctx *ctx = NULL;
    attrib_ihc_dataset *ds = NULL;
    char *log = NULL;
    attrib_ihc_calibrate_options co = ATTRIB_IHC_CALIBRATE_OPTIONS_INIT;
    int rc = cli_ihc_split(cfg, &co.split, &co.holdout_percent);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (!CLI_IS_SET(cfg, out))
        return cli_error_usage("--out FILE (the model file to write) is required");
    if (CLI_IS_SET(cfg, sweeps)) {
        /* the library reads 0 as "the default count", so 0 cannot be passed on */
        if (cfg->sweeps < 1 || cfg->sweeps > 1000000)
            return cli_error_usage("--sweeps must be 1..1000000");
        co.sweeps = (unsigned)cfg->sweeps;
    }
    co.start_model = cfg->start_model;
    rc = cli_ctx(cfg, &ctx);
    if (rc == CLI_EXIT_OK)
        rc = cli_check_out(ctx, "--out", cfg->out);
    if (rc == CLI_EXIT_OK)
        rc = cli_ihc_dataset(cfg, ctx, &ds);
    if (rc != CLI_EXIT_OK)
        goto done;
    attrib_ihc_eval_summary fit;
    int lrc = attrib_ihc_calibrate(ctx, ds, &co, cfg->out, &fit, &log);
    if (lrc != ATTRIB_OK) {
        rc = cli_fail(ctx, lrc);
        goto done;
    }
    fputs(log, stdout);
    print_summary("fit", &fit);
    if (co.split == ATTRIB_IHC_SPLIT_TRAIN) {
        attrib_ihc_eval_options eo = ATTRIB_IHC_EVAL_OPTIONS_INIT;
        attrib_model_options mo = ATTRIB_MODEL_OPTIONS_INIT;
        attrib_ihc_eval_summary held;
        eo.split = ATTRIB_IHC_SPLIT_HOLDOUT;
        eo.holdout_percent = co.holdout_percent;
        mo.model_file = cfg->out;
        lrc = attrib_ihc_eval(ctx, ds, &mo, &eo, &held, NULL);
        if (lrc != ATTRIB_OK) {
            rc = cli_fail(ctx, lrc);
            goto done;
        }
        print_summary("held-out", &held);
    }
    printf("wrote %s\n", cfg->out);
done:
    free(log);
    attrib_ihc_dataset_free(ds);
    attrib_ctx_free(ctx);
    return rc;
}
