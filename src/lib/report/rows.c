/* channel_reporting rows and report sums rows from an aggregation: see rows.h. */
#include "lib/report/rows.h"

#include "util/ts.h"

#include <stdlib.h>
#include <string.h>

static int cmp_row(const void *x, const void *y)
{
    const attrib_report_row *a = x, *b = y;
    int c = strcmp(a->channel, b->channel);
    return c != 0 ? c : strcmp(a->date, b->date);
}

int attrib__agg_rows(attrib_ctx *ctx, const attrib__agg *a, attrib_report_row **rows, size_t *n,
                     char **date_store)
{
    attrib_report_row *r = calloc(a->count > 0 ? a->count : 1, sizeof(*r));
    char *dates = calloc(a->count > 0 ? a->count : 1, 11);
    size_t k = 0;
    int rc = ATTRIB_OK;
    if (r == NULL || dates == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory building the report");
        goto done;
    }
    for (size_t i = 0; i < a->cap; i++) {
        const attrib__agg_cell *c = &a->cells[i];
        if (!c->used || c->sessions == 0)
            continue;
        uint32_t ch = (uint32_t)(c->key >> 32);
        int32_t day = (int32_t)(uint32_t)(c->key & 0xffffffffu);
        char *d = dates + 11 * k;
        attrib_date_format(day, d);
        if (c->cost.overflow || c->ihc.overflow || c->revenue.overflow) {
            rc = attrib__error(ctx, ATTRIB_EDATA,
                               "channel_reporting row (%s, %s): a cost or revenue is beyond "
                               "1e15; check session_costs and conversions.revenue",
                               a->channels->keys[ch], d);
            goto done;
        }
        r[k] = (attrib_report_row){.channel = a->channels->keys[ch],
                                   .date = d,
                                   .cost = attrib_xsum_value(&c->cost),
                                   .ihc = attrib_xsum_value(&c->ihc),
                                   .ihc_revenue = attrib_xsum_value(&c->revenue)};
        k++;
    }
    if (k > 1)
        qsort(r, k, sizeof(*r), cmp_row);
    *rows = r;
    *date_store = dates;
    *n = k;
    r = NULL;
    dates = NULL;
done:
    free(r);
    free(dates);
    return rc;
}

int attrib__agg_sums_rows(attrib_ctx *ctx, const attrib__agg *a, bool only_marked,
                          attrib_sums_row **rows, size_t *n, char **date_store)
{
    attrib_sums_row *r = calloc(a->count > 0 ? a->count : 1, sizeof(*r));
    char *dates = calloc(a->count > 0 ? a->count : 1, 11);
    if (r == NULL || dates == NULL) {
        free(r);
        free(dates);
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory building the report sums");
    }
    size_t k = 0;
    for (size_t i = 0; i < a->cap; i++) {
        const attrib__agg_cell *c = &a->cells[i];
        if (!c->used || (only_marked && !c->mark))
            continue;
        char *d = dates + 11 * k;
        attrib_date_format(attrib__agg_day(c), d);
        r[k] = (attrib_sums_row){.channel = a->channels->keys[attrib__agg_channel(c)], .date = d};
        attrib__acc_split(c->ihc.acc, &r[k].ihc_hi, &r[k].ihc_lo);
        attrib__acc_split(c->revenue.acc, &r[k].rev_hi, &r[k].rev_lo);
        k++;
    }
    *rows = r;
    *date_store = dates;
    *n = k;
    return ATTRIB_OK;
}
