/*
 * attrib_export_html (include/attrib/html.h): gather what the page shows
 * (report rows, phase values, journey statistics, an optional model
 * comparison), render it (report/html.c) and write it atomically.
 */
#include "attrib/compare.h"
#include "attrib/html.h"

#include "lib/journey/dataset.h"
#include "lib/core/file.h"
#include "lib/report/html.h"
#include "lib/steps/steps.h"
#include "util/ts.h"

#include <stdlib.h>
#include <string.h>

#define MAX_COMPARE 32

/* The models to compare, with last-click added when missing (the page shows where it
 * misleads). */
static int compare_models(attrib_ctx *ctx, const attrib_html_options *h,
                          const attrib_model_ops **list, size_t *n)
{
    bool has_last = false;
    if (h->n_compare > MAX_COMPARE)
        return attrib__error(ctx, ATTRIB_EINVAL, "at most %d models to compare", MAX_COMPARE);
    for (size_t i = 0; i < h->n_compare; i++) {
        list[i] = h->compare[i];
        has_last |= strcmp(list[i]->name, "last") == 0;
    }
    *n = h->n_compare;
    const attrib_model_ops *last = attrib_model_find("last");
    if (*n > 0 && !has_last && last != NULL)
        list[(*n)++] = last;
    return ATTRIB_OK;
}

int attrib_export_html(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                       const attrib_html_options *html, const char *path, attrib_summary *sum)
{
    attrib__enter(ctx);
    attrib_html_options ho = ATTRIB_HTML_OPTIONS_INIT;
    if (html != NULL)
        ho = *html;
    attrib__html_data d = {0};
    attrib__dataset ds = {0};
    attrib_compare_table *cmp = NULL;
    attrib_buf out = ATTRIB_BUF_INIT(0);
    const attrib_model_ops *models[MAX_COMPARE + 1];
    size_t n_models = 0;
    int rc = attrib__file_check(ctx, path); /* before the work, not after it */
    if (rc == ATTRIB_OK)
        rc = attrib__check_run_options(ctx, opts);
    if (rc == ATTRIB_OK)
        rc = compare_models(ctx, &ho, models, &n_models);
    if (rc == ATTRIB_OK)
        rc = attrib_store_check(st, true);
    if (rc != ATTRIB_OK)
        goto done;
    attrib__progress(ctx, "HTML report: reading channel_reporting", 0, 0);
    rc = attrib__html_load_report(ctx, st, opts, &d);
    if (rc == ATTRIB_OK) {
        attrib__progress(ctx, "HTML report: reading phase values", 0, 0);
        rc = attrib__html_load_phases(ctx, st, opts, &d);
    }
    if (rc == ATTRIB_OK)
        rc = attrib__dataset_load(ctx, st, opts, false, &ds);
    if (rc == ATTRIB_OK)
        rc = attrib__html_journeys(ctx, &ds, ho.top_paths, &d);
    if (rc == ATTRIB_OK)
        rc = attrib__dataset_summarize(ctx, &ds, sum);
    attrib__dataset_free(&ds);
    if (rc == ATTRIB_OK && n_models > 0)
        rc = attrib_compare_run(ctx, st, opts, models, n_models, &cmp);
    if (rc != ATTRIB_OK)
        goto done;
    d.title = ho.title != NULL ? ho.title : "Attribution report";
    d.source = attrib_store_display(st);
    d.start_date = opts->start_date;
    d.end_date = opts->end_date;
    d.compare = cmp;
    attrib__progress(ctx, "HTML report: writing", 0, 0);
    if (attrib__html_render(&d, &out) != 0) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory rendering the HTML report");
        goto done;
    }
    rc = attrib__file_save(ctx, path, attrib_buf_cstr(&out), out.len);
done:
    attrib_buf_free(&out);
    attrib_compare_free(cmp);
    attrib__html_data_free(&d);
    attrib__dataset_free(&ds);
    return attrib__leave(ctx, rc);
}
