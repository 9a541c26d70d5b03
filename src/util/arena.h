/*
 * A bump allocator for data that lives as long as one run: journeys, session
 * ids, channel names. Allocations are never freed one by one; the arena is
 * freed whole. Not thread-safe: one arena per thread.
 */
#ifndef ATTRIB_UTIL_ARENA_H
#define ATTRIB_UTIL_ARENA_H

#include <stddef.h>

typedef struct attrib_arena_block attrib_arena_block;

typedef struct {
    attrib_arena_block *head; /* current block, chained to older ones */
    size_t used;              /* bytes used in head */
    size_t total;             /* bytes allocated in all blocks */
} attrib_arena;

#define ATTRIB_ARENA_INIT                                                                          \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* n bytes aligned for any type, or NULL when out of memory. */
void *attrib_arena_alloc(attrib_arena *a, size_t n);

/* A NUL-terminated copy of s[0..len) (not aligned), or NULL. */
char *attrib_arena_strndup(attrib_arena *a, const char *s, size_t len);

/* Move every allocation of `from` into a (they stay valid, now freed with a);
 * `from` is left empty. */
void attrib_arena_adopt(attrib_arena *a, attrib_arena *from);

void attrib_arena_free(attrib_arena *a);

#endif
