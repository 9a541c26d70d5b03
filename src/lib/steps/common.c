/*
 * What the step files share: the clock, the range test, the run options'
 * checks and the summary's helpers (steps.h).
 */
#include "lib/steps/steps.h"

#include "util/strmap.h"
#include "util/ts.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

double attrib__now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

bool attrib__is_ranged(const attrib_run_options *o)
{
    return o->start_date != NULL || o->end_date != NULL;
}

void attrib_summary_free(attrib_summary *s)
{
    if (s == NULL)
        return;
    for (uint64_t i = 0; i < s->n_unattributable; i++)
        free(s->unattributable[i].conv_id);
    free(s->unattributable);
    s->unattributable = NULL;
    s->n_unattributable = 0;
}

int attrib__check_run_options(attrib_ctx *ctx, const attrib_run_options *o)
{
    int32_t a = 0, b = 0;
    if (o->start_date != NULL && attrib_date_parse(o->start_date, strlen(o->start_date), &a) != 0)
        return attrib__error(ctx, ATTRIB_EINVAL, "start date '%s' is not a date YYYY-MM-DD",
                             o->start_date);
    if (o->end_date != NULL && attrib_date_parse(o->end_date, strlen(o->end_date), &b) != 0)
        return attrib__error(ctx, ATTRIB_EINVAL, "end date '%s' is not a date YYYY-MM-DD",
                             o->end_date);
    if (o->start_date != NULL && o->end_date != NULL && a > b)
        return attrib__error(ctx, ATTRIB_EINVAL, "start date %s is after end date %s",
                             o->start_date, o->end_date);
    return ATTRIB_OK;
}

/* Distinct dates among report rows (for the summary). */
uint64_t attrib__count_dates(const attrib_report_row *rows, size_t n)
{
    attrib_strmap seen = ATTRIB_STRMAP_INIT;
    for (size_t i = 0; i < n; i++)
        if (attrib_strmap_intern(&seen, rows[i].date, strlen(rows[i].date), NULL) < 0)
            break;
    uint64_t count = seen.count;
    attrib_strmap_free(&seen);
    return count;
}
