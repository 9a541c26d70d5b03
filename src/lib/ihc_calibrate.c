/* placeholder replaced below */
#include "attrib/ihc_fit.h"
#include "ctx.h"
int attrib_ihc_calibrate(attrib_ctx *ctx, const attrib_ihc_dataset *ds,
                         const attrib_ihc_calibrate_options *opts, const char *out_path,
                         attrib_ihc_eval_summary *fit, char **log)
{
    (void)ds;
    (void)opts;
    (void)out_path;
    (void)fit;
    (void)log;
    return attrib__error(ctx, ATTRIB_ERROR, "not yet");
}
