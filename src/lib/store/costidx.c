/* The cost index of the session scans: see costidx.h. */
#include "lib/store/costidx.h"

#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PARTS_LOG2 6
#define PARTS (1u << PARTS_LOG2)
#define BATCH 64 /* rows a writer buffers per partition */

/* Low 4 bits of h2: the value's type, the MANY flag and the CLAIMED flag. */
#define T_NULL 0u
#define T_INT 1u
#define T_REAL 2u
#define T_MASK 3u
#define F_MANY 4u
#define F_CLAIMED 8u
#define H2_MASK (~(uint64_t)15)

typedef struct {
    uint64_t h1; /* 0: an empty slot */
    uint64_t h2; /* second hash, its low 4 bits the type and flags */
    union {
        double r;
        int64_t i;
    } v;
} cost_entry;

typedef struct {
    pthread_mutex_t lock;
    cost_entry *slot; /* in the index's block until the partition grows */
    bool owned;       /* slot is an allocation of its own */
    uint64_t cap, count, shared;
} cost_part;

struct attrib__costidx {
    cost_entry *block; /* the first tables of all partitions, in one mapping */
    void *map;         /* the mapping (block rounded to huge pages within it) */
    size_t map_bytes;
    cost_part part[PARTS];
};

struct attrib__costidx_writer {
    attrib__costidx *ix;
    unsigned n[PARTS];
    cost_entry buf[PARTS][BATCH];
};

static inline uint64_t fold(uint64_t a, uint64_t b)
{
    unsigned __int128 p = (unsigned __int128)a * b;
    return (uint64_t)p ^ (uint64_t)(p >> 64);
}

/* Two 64-bit hashes of the id from different seeds and constants. */
static void hash2(const char *id, size_t len, uint64_t *h1, uint64_t *h2)
{
    const unsigned char *s = (const unsigned char *)id;
    uint64_t a = 0x243f6a8885a308d3ULL ^ len, b = 0x13198a2e03707344ULL ^ (len * 0x9e37ULL);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        a = fold(a ^ w, 0xa0761d6478bd642fULL);
        b = fold(b ^ w ^ 0xe7037ed1a0b428dbULL, 0x8ebc6af09c88c6e3ULL);
    }
    uint64_t t = 0;
    for (size_t k = 0; i + k < len; k++)
        t |= (uint64_t)s[i + k] << (8 * k);
    a = fold(a ^ t ^ 0x589965cc75374cc3ULL, 0x1d8e4e27c47d124fULL);
    b = fold(b ^ t, 0xa4093822299f31d0ULL | 1);
    a = fold(a, 0xff51afd7ed558ccdULL);
    b = fold(b, 0xc4ceb9fe1a85ec53ULL);
    *h1 = a != 0 ? a : 1;
    *h2 = b & H2_MASK;
}

static inline unsigned part_of(uint64_t h1)
{
    return (unsigned)(h1 >> (64 - PARTS_LOG2));
}

/* The first slot probed for h1 in a partition of cap slots (the bits of h1
 * below those that chose the partition, scaled to cap). */
static inline uint64_t home(uint64_t h1, uint64_t cap)
{
    return (uint64_t)(((unsigned __int128)(h1 << PARTS_LOG2) * cap) >> 64);
}

attrib__costidx *attrib__costidx_new(uint64_t expect)
{
    attrib__costidx *ix = calloc(1, sizeof(*ix));
    if (ix == NULL)
        return NULL;
    /* Each partition starts at a load of 4/5 for `expect` rows (grown at 0.88):
     * 30 bytes a row where 3/5 took 40 (2M shuffled: no CPU measurably lost,
     * peak RSS 100 -> 83 MB); a lookup mostly reads one or two cache lines.
     * Lookups land anywhere in the table: one block in huge pages where the
     * system offers them spares most of the TLB misses. */
    uint64_t cap = expect / PARTS * 5 / 4 + 16;
    size_t bytes = (size_t)(cap * PARTS * sizeof(cost_entry)), huge = (size_t)2 << 20;
    /* An anonymous mapping is zero (empty slots) without a pass over it: its
     * pages are cleared where the writers first touch them, on their cores,
     * not all at once here (0.1 s of a 2M run on one core). */
    ix->map_bytes = bytes + huge;
    ix->map = mmap(NULL, ix->map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ix->map == MAP_FAILED) {
        free(ix);
        return NULL;
    }
    uintptr_t at = ((uintptr_t)ix->map + huge - 1) & ~(uintptr_t)(huge - 1);
    madvise((void *)at, bytes, MADV_HUGEPAGE); /* advice: without it, small pages */
    ix->block = (cost_entry *)at;
    for (unsigned p = 0; p < PARTS; p++) {
        pthread_mutex_init(&ix->part[p].lock, NULL);
        ix->part[p].cap = cap;
        ix->part[p].slot = ix->block + (size_t)p * cap;
    }
    return ix;
}

void attrib__costidx_free(attrib__costidx *ix)
{
    if (ix == NULL)
        return;
    for (unsigned p = 0; p < PARTS; p++) {
        pthread_mutex_destroy(&ix->part[p].lock);
        if (ix->part[p].owned)
            free(ix->part[p].slot);
    }
    munmap(ix->map, ix->map_bytes);
    free(ix);
}

/* The slot of h1/h2 in a partition (linear probing from the slot the bits of
 * h1 below the partition's pick): its entry, or the empty slot where it goes. */
static cost_entry *probe(cost_entry *slot, uint64_t cap, uint64_t h1, uint64_t h2)
{
    uint64_t i = home(h1, cap);
    for (;;) {
        cost_entry *e = &slot[i];
        if (e->h1 == 0 || (e->h1 == h1 && (e->h2 & H2_MASK) == h2))
            return e;
        if (++i == cap)
            i = 0;
    }
}

static int part_grow(cost_part *p)
{
    uint64_t cap = p->cap + p->cap / 2;
    cost_entry *slot = calloc(cap, sizeof(*slot));
    if (slot == NULL)
        return ATTRIB_ENOMEM;
    for (uint64_t i = 0; i < p->cap; i++) {
        if (p->slot[i].h1 != 0)
            *probe(slot, cap, p->slot[i].h1, p->slot[i].h2 & H2_MASK) = p->slot[i];
    }
    if (p->owned)
        free(p->slot);
    p->slot = slot;
    p->owned = true;
    p->cap = cap;
    return ATTRIB_OK;
}

static int part_put(cost_part *p, const cost_entry *rows, unsigned n)
{
    int rc = ATTRIB_OK;
    pthread_mutex_lock(&p->lock);
    for (unsigned k = 0; k < n; k++)
        __builtin_prefetch(&p->slot[home(rows[k].h1, p->cap)], 1);
    for (unsigned k = 0; k < n && rc == ATTRIB_OK; k++) {
        if ((p->count + 1) * 100 > p->cap * 88 && (rc = part_grow(p)) != ATTRIB_OK)
            break;
        cost_entry *e = probe(p->slot, p->cap, rows[k].h1, rows[k].h2 & H2_MASK);
        if (e->h1 == 0) {
            *e = rows[k];
            p->count++;
        } else {
            p->shared += (e->h2 & F_MANY) == 0;
            e->h2 |= F_MANY; /* the same fingerprint twice: the table decides */
            e->h2 &= ~(uint64_t)F_CLAIMED;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

attrib__costidx_writer *attrib__costidx_writer_new(attrib__costidx *ix)
{
    attrib__costidx_writer *w = malloc(sizeof(*w));
    if (w == NULL)
        return NULL;
    w->ix = ix;
    memset(w->n, 0, sizeof(w->n));
    return w;
}

void attrib__costidx_writer_free(attrib__costidx_writer *w)
{
    free(w);
}

int attrib__costidx_add(attrib__costidx_writer *w, const char *id, size_t len,
                        const attrib_value *cost)
{
    cost_entry e;
    hash2(id, len, &e.h1, &e.h2);
    switch (cost->type) {
    case ATTRIB_V_INT:
        e.h2 |= T_INT;
        e.v.i = cost->i;
        break;
    case ATTRIB_V_REAL:
        e.h2 |= T_REAL;
        e.v.r = cost->r;
        break;
    default:
        assert(cost->type == ATTRIB_V_NULL);
        e.h2 |= T_NULL;
        e.v.i = 0;
        break;
    }
    unsigned p = part_of(e.h1);
    w->buf[p][w->n[p]++] = e;
    if (w->n[p] < BATCH)
        return ATTRIB_OK;
    w->n[p] = 0;
    return part_put(&w->ix->part[p], w->buf[p], BATCH);
}

int attrib__costidx_flush(attrib__costidx_writer *w)
{
    int rc = ATTRIB_OK;
    for (unsigned p = 0; p < PARTS && rc == ATTRIB_OK; p++) {
        if (w->n[p] > 0)
            rc = part_put(&w->ix->part[p], w->buf[p], w->n[p]);
        w->n[p] = 0;
    }
    return rc;
}

attrib__costidx_key attrib__costidx_key_of(const char *id, size_t len)
{
    attrib__costidx_key k;
    hash2(id, len, &k.h1, &k.h2);
    return k;
}

void attrib__costidx_prefetch(const attrib__costidx *ix, const attrib__costidx_key *k)
{
    const cost_part *p = &ix->part[part_of(k->h1)];
    __builtin_prefetch(&p->slot[home(k->h1, p->cap)]);
}

/* What entry e (probed for a key) says of it, its cost in *cost with ONE. */
static int entry_cost(const cost_entry *e, attrib_value *cost)
{
    if (e->h1 == 0)
        return ATTRIB__COST_NONE;
    if (e->h2 & F_MANY)
        return ATTRIB__COST_MANY;
    switch (e->h2 & T_MASK) {
    case T_INT:
        *cost = (attrib_value){.type = ATTRIB_V_INT, .i = e->v.i};
        break;
    case T_REAL:
        *cost = (attrib_value){.type = ATTRIB_V_REAL, .r = e->v.r};
        break;
    default:
        *cost = (attrib_value){.type = ATTRIB_V_NULL};
        break;
    }
    return ATTRIB__COST_ONE;
}

int attrib__costidx_find(const attrib__costidx *ix, const attrib__costidx_key *k,
                         attrib_value *cost)
{
    const cost_part *p = &ix->part[part_of(k->h1)];
    return entry_cost(probe(p->slot, p->cap, k->h1, k->h2), cost);
}

uint64_t attrib__costidx_shared(const attrib__costidx *ix)
{
    uint64_t n = 0;
    for (unsigned p = 0; p < PARTS; p++)
        n += ix->part[p].shared;
    return n;
}

uint64_t attrib__costidx_count(const attrib__costidx *ix)
{
    uint64_t n = 0;
    for (unsigned p = 0; p < PARTS; p++)
        n += ix->part[p].count;
    return n;
}

uint64_t attrib__costidx_bytes(const attrib__costidx *ix)
{
    uint64_t n = 0;
    for (unsigned p = 0; p < PARTS; p++)
        n += ix->part[p].cap * sizeof(cost_entry);
    return n;
}

int attrib__costidx_claim(attrib__costidx *ix, const attrib__costidx_key *k, attrib_value *cost)
{
    cost_part *p = &ix->part[part_of(k->h1)];
    cost_entry *e = probe(p->slot, p->cap, k->h1, k->h2);
    int found = entry_cost(e, cost);
    if (found == ATTRIB__COST_ONE)
        e->h2 |= F_CLAIMED;
    return found;
}

int attrib__costidx_drain(attrib__costidx *ix, attrib__costidx_writer *to)
{
    int rc = ATTRIB_OK;
    for (unsigned p = 0; p < PARTS; p++) {
        cost_part *cp = &ix->part[p];
        for (uint64_t i = 0; i < cp->cap && rc == ATTRIB_OK; i++) {
            const cost_entry *e = &cp->slot[i];
            if (e->h1 == 0 || (e->h2 & F_CLAIMED) != 0)
                continue;
            unsigned q = part_of(e->h1);
            to->buf[q][to->n[q]++] = *e;
            if (to->n[q] == BATCH) {
                to->n[q] = 0;
                rc = part_put(&to->ix->part[q], to->buf[q], BATCH);
            }
        }
        memset(cp->slot, 0, (size_t)cp->cap * sizeof(*cp->slot));
        cp->count = 0;
        cp->shared = 0;
    }
    return rc;
}
