/* Bump allocator: see arena.h. Blocks grow to 1 MiB; bigger requests get a
 * block of their own. */
#include "arena.h"

#include <assert.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct attrib_arena_block {
    attrib_arena_block *prev;
    size_t size;
    alignas(max_align_t) unsigned char data[];
};

#define BLOCK_SIZE ((size_t)1 << 20)

void *attrib_arena_alloc(attrib_arena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
    if (n > SIZE_MAX - align)
        return NULL;
    n = (n + align - 1) & ~(align - 1);
    if (a->head == NULL || a->head->size - a->used < n) {
        size_t size = n > BLOCK_SIZE ? n : BLOCK_SIZE;
        attrib_arena_block *b = malloc(sizeof(*b) + size);
        if (b == NULL)
            return NULL;
        b->size = size;
        if (a->head != NULL && n > BLOCK_SIZE) {
            /* Oversized: link behind the current block, keep filling head. */
            b->prev = a->head->prev;
            a->head->prev = b;
            a->total += size;
            return b->data;
        }
        b->prev = a->head;
        a->head = b;
        a->used = 0;
        a->total += size;
    }
    void *p = a->head->data + a->used;
    a->used += n;
    return p;
}

char *attrib_arena_strndup(attrib_arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *p = attrib_arena_alloc(a, len + 1);
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
        free(b);
        b = prev;
    }
    a->head = NULL;
    a->used = 0;
    a->total = 0;
}
