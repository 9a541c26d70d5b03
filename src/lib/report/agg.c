/* Aggregation of channel_reporting: see report.h. */
#include "lib/report/agg.h"

#include "util/ts.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

attrib__agg_cell *attrib__agg_find(const attrib__agg *a, uint32_t channel, int32_t day)
{
    if (a->cap == 0)
        return NULL;
    uint64_t key = (uint64_t)channel << 32 | (uint32_t)day;
    size_t i = mix(key) & (a->cap - 1);
    while (a->cells[i].used) {
        if (a->cells[i].key == key)
            return &a->cells[i];
        i = (i + 1) & (a->cap - 1);
    }
    return NULL;
}

attrib__agg_cell *attrib__agg_cell_of(attrib__agg *a, uint32_t channel, int32_t day)
{
    uint64_t key = (uint64_t)channel << 32 | (uint32_t)day;
    if ((a->count + 1) * 2 > a->cap) {
        size_t cap = a->cap != 0 ? a->cap * 2 : 1024;
        attrib__agg_cell *cells = calloc(cap, sizeof(*cells));
        if (cells == NULL)
            return NULL;
        for (size_t i = 0; i < a->cap; i++) {
            if (!a->cells[i].used)
                continue;
            size_t j = mix(a->cells[i].key) & (cap - 1);
            while (cells[j].used)
                j = (j + 1) & (cap - 1);
            cells[j] = a->cells[i];
        }
        free(a->cells);
        a->cells = cells;
        a->cap = cap;
    }
    size_t i = mix(key) & (a->cap - 1);
    while (a->cells[i].used && a->cells[i].key != key)
        i = (i + 1) & (a->cap - 1);
    if (!a->cells[i].used) {
        a->cells[i] = (attrib__agg_cell){.key = key, .used = true};
        a->count++;
    }
    return &a->cells[i];
}

int attrib__agg_cost(attrib__agg *a, uint32_t channel, int32_t day, double cost)
{
    attrib__agg_cell *c = attrib__agg_cell_of(a, channel, day);
    if (c == NULL)
        return ATTRIB_ENOMEM;
    c->sessions++;
    attrib_xsum_add(&c->cost, cost);
    return ATTRIB_OK;
}

int attrib__agg_credit(attrib__agg *a, uint32_t channel, int32_t day, double ihc, double revenue)
{
    attrib__agg_cell *c = attrib__agg_cell_of(a, channel, day);
    if (c == NULL)
        return ATTRIB_ENOMEM;
    attrib_xsum_add(&c->ihc, ihc);
    attrib_xsum_add(&c->revenue, ihc * revenue);
    return ATTRIB_OK;
}

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

int attrib__agg_merge(attrib__agg *a, const attrib__agg *from, const uint32_t *channel_map)
{
    for (size_t i = 0; i < from->cap; i++) {
        const attrib__agg_cell *f = &from->cells[i];
        if (!f->used)
            continue;
        uint32_t ch = channel_map[f->key >> 32];
        attrib__agg_cell *c = attrib__agg_cell_of(a, ch, (int32_t)(uint32_t)(f->key & 0xffffffffu));
        if (c == NULL)
            return ATTRIB_ENOMEM;
        c->sessions += f->sessions;
        attrib_xsum_merge(&c->cost, &f->cost);
        attrib_xsum_merge(&c->ihc, &f->ihc);
        attrib_xsum_merge(&c->revenue, &f->revenue);
    }
    return ATTRIB_OK;
}

void attrib__agg_free(attrib__agg *a)
{
    free(a->cells);
    a->cells = NULL;
    a->cap = a->count = 0;
}
