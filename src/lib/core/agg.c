/* The exact (channel, day) sums table: see agg.h. */
#include "lib/core/agg.h"

#include <assert.h>
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

int attrib__agg_merge(attrib__agg *a, const attrib__agg *from, const uint32_t *channel_map)
{
    for (size_t i = 0; i < from->cap; i++) {
        const attrib__agg_cell *f = &from->cells[i];
        if (!f->used)
            continue;
        uint32_t ch = channel_map != NULL ? channel_map[f->key >> 32] : (uint32_t)(f->key >> 32);
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

/* Grown at 70% full: 8192 slots (384 KB) hold the 4.8k keys of 16 channels
 * over 299 days. */
static int cost_grow(attrib__cost_agg *a)
{
    size_t cap = a->cap != 0 ? a->cap * 2 : 1024;
    attrib__cost_cell *cells = calloc(cap, sizeof(*cells));
    if (cells == NULL)
        return ATTRIB_ENOMEM;
    for (size_t i = 0; i < a->cap; i++) {
        if (a->cells[i].sessions == 0)
            continue;
        size_t j = mix(a->cells[i].key) & (cap - 1);
        while (cells[j].sessions != 0)
            j = (j + 1) & (cap - 1);
        cells[j] = a->cells[i];
    }
    free(a->cells);
    a->cells = cells;
    a->cap = cap;
    return ATTRIB_OK;
}

/* The cell of (channel, day), taken when new (sessions 0 marks a free cell:
 * the caller counts its session). NULL when out of memory. */
static attrib__cost_cell *cost_cell(attrib__cost_agg *a, uint32_t channel, int32_t day)
{
    uint64_t key = (uint64_t)channel << 32 | (uint32_t)day;
    if ((a->count + 1) * 10 > a->cap * 7 && cost_grow(a) != ATTRIB_OK)
        return NULL;
    size_t i = mix(key) & (a->cap - 1);
    while (a->cells[i].sessions != 0 && a->cells[i].key != key)
        i = (i + 1) & (a->cap - 1);
    attrib__cost_cell *c = &a->cells[i];
    if (c->sessions == 0) {
        c->key = key;
        a->count++;
    }
    return c;
}

int attrib__cost_agg_add(attrib__cost_agg *a, uint32_t channel, int32_t day, double cost)
{
    attrib__cost_cell *c = cost_cell(a, channel, day);
    if (c == NULL)
        return ATTRIB_ENOMEM;
    c->sessions++;
    attrib_xsum_add(&c->cost, cost);
    return ATTRIB_OK;
}

int attrib__cost_agg_add_cost(attrib__cost_agg *a, uint32_t channel, int32_t day, double cost)
{
    attrib__cost_cell *c = cost_cell(a, channel, day);
    if (c == NULL)
        return ATTRIB_ENOMEM;
    assert(c->sessions > 0); /* its session came first, in this slice */
    attrib_xsum_add(&c->cost, cost);
    return ATTRIB_OK;
}

int attrib__agg_merge_costs(attrib__agg *a, const attrib__cost_agg *from,
                            const uint32_t *channel_map)
{
    for (size_t i = 0; i < from->cap; i++) {
        const attrib__cost_cell *f = &from->cells[i];
        if (f->sessions == 0)
            continue;
        attrib__agg_cell *c = attrib__agg_cell_of(a, channel_map[f->key >> 32],
                                                  (int32_t)(uint32_t)(f->key & 0xffffffffu));
        if (c == NULL)
            return ATTRIB_ENOMEM;
        c->sessions += f->sessions;
        attrib_xsum_merge(&c->cost, &f->cost);
    }
    return ATTRIB_OK;
}

void attrib__cost_agg_free(attrib__cost_agg *a)
{
    free(a->cells);
    a->cells = NULL;
    a->cap = a->count = 0;
}
