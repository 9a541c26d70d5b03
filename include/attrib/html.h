/*
 * attrib — the HTML report: one self-contained page (inline CSS and SVG
 * charts, no script, nothing fetched) that opens offline in any browser and
 * prints on A4. For the selected range: headline figures, spend against
 * attributed revenue, ROAS and CPO per channel, daily spend and revenue per
 * channel and the ROAS trend, IHC phase shares (when phase values are
 * stored), a model comparison (optional), and the journeys (lengths, time to
 * conversion, top paths). Each chart has its numbers in a table below it,
 * each number rounded for reading with its exact value (as in the CSV) in a
 * data-v attribute.
 */
#ifndef ATTRIB_HTML_H
#define ATTRIB_HTML_H

#include "attrib/model.h"
#include "attrib/pipeline.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *title;                      /* NULL = "Attribution report" */
    const attrib_model_ops *const *compare; /* models compared side by side; n_compare 0 = none */
    size_t n_compare;
    size_t top_paths; /* paths listed (0 = none) */
} attrib_html_options;

#define ATTRIB_HTML_OPTIONS_INIT                                                                   \
    {                                                                                              \
        .title = NULL, .compare = NULL, .n_compare = 0, .top_paths = 20                            \
    }

/*
 * Write the HTML report of the range in opts (channel_reporting as the CSV
 * export reads it; the journeys of the conversions in the range, cut with
 * opts' journey options; the stored phase values) to `path` atomically, as
 * attrib_export_csv does. Reads the input tables once (and once more per
 * comparison). html NULL = defaults. Errors as attrib_export_csv, plus those
 * of loading journeys (ATTRIB_EDATA for a bad row without skip_bad_rows) and
 * of attrib_compare_run.
 */
int attrib_export_html(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                       const attrib_html_options *html, const char *path, attrib_summary *sum);

#ifdef __cplusplus
}
#endif
#endif
