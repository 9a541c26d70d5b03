/* Bump allocator: see arena.h. The first blocks are 1 MiB from malloc; once
 * an arena holds LARGE_AFTER bytes its new blocks are LARGE_SIZE mappings
 * that ask for huge pages. Bigger requests get a block of their own. */
#include "arena.h"

#include <assert.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct attrib_arena_block {
    attrib_arena_block *prev;
    size_t size; /* bytes of data */
    bool mapped; /* a mapping of its own (munmap), else malloc'd */
    alignas(max_align_t) unsigned char data[];
};

#define BLOCK_SIZE ((size_t)1 << 20)
/* A run keeps the ids of every journey's sessions in arenas. A page's first
 * touch is what memory costs most on a VM: on the benchmark VM a fault of a
 * 4 KiB page took 10.7 us (2.8 s a GiB), 2 MiB pages 0.3-2 s a GiB. */
#define LARGE_AFTER ((size_t)8 << 20)
#define LARGE_SIZE ((size_t)16 << 20)

static attrib_arena_block *block_new(size_t size, bool large)
{
    attrib_arena_block *b = NULL;
    size_t bytes = sizeof(*b) + size;
    if (large) {
        void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m != MAP_FAILED) {
            madvise(m, bytes, MADV_HUGEPAGE); /* advice: without it, small pages */
            b = m;
            b->mapped = true;
        }
    }
    if (b == NULL) {
        b = malloc(bytes);
        if (b == NULL)
            return NULL;
        b->mapped = false;
    }
    b->size = size;
    b->prev = NULL;
    return b;
}

static void block_free(attrib_arena_block *b)
{
    if (b->mapped)
        munmap(b, sizeof(*b) + b->size);
    else
        free(b);
}

/* n bytes at a multiple of align (a power of two, at most max_align_t's). */
static void *bump(attrib_arena *a, size_t n, size_t align)
{
    assert(align > 0 && (align & (align - 1)) == 0 && align <= alignof(max_align_t));
    if (n > SIZE_MAX / 2)
        return NULL; /* no block that size; and at + n, header + n cannot wrap */
    size_t at = (a->used + align - 1) & ~(align - 1);
    if (a->head == NULL || at > a->head->size || a->head->size - at < n) {
        bool large = a->total >= LARGE_AFTER;
        size_t base = large ? LARGE_SIZE : BLOCK_SIZE;
        attrib_arena_block *b = block_new(n > base ? n : base, large);
        if (b == NULL)
            return NULL;
        a->total += b->size;
        if (a->head != NULL && n > base) {
            /* Oversized: link behind the current block, keep filling head. */
            b->prev = a->head->prev;
            a->head->prev = b;
            return b->data;
        }
        b->prev = a->head;
        a->head = b;
        at = 0;
    }
    void *p = a->head->data + at;
    a->used = at + n;
    return p;
}

void *attrib_arena_alloc(attrib_arena *a, size_t n)
{
    return bump(a, n, alignof(max_align_t));
}

char *attrib_arena_strndup(attrib_arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *p = bump(a, len + 1, 1); /* text needs no alignment: 65 bytes an id, not 80 */
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void attrib_arena_adopt(attrib_arena *a, attrib_arena *from)
{
    assert(a != from);
    assert(a->head == NULL ? a->used == 0 : a->used <= a->head->size);
    if (from->head == NULL)
        return;
    if (a->head == NULL) {
        *a = *from;
    } else {
        /* from's blocks go behind a's current block, which keeps filling. */
        attrib_arena_block *tail = from->head;
        while (tail->prev != NULL)
            tail = tail->prev;
        tail->prev = a->head->prev;
        a->head->prev = from->head;
        a->total += from->total;
    }
    from->head = NULL;
    from->used = 0;
    from->total = 0;
}

void attrib_arena_free(attrib_arena *a)
{
    attrib_arena_block *b = a->head;
    while (b != NULL) {
        attrib_arena_block *prev = b->prev;
        block_free(b);
        b = prev;
    }
    a->head = NULL;
    a->used = 0;
    a->total = 0;
}
