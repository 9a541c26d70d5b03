/*
 * A string → index hash map with open addressing, used to intern channel
 * names and to find a user's slot by user_id. Keys are copied into an arena
 * the map owns, aligned for any type (a key may be an array read back in
 * place); each distinct key gets the next index 0, 1, 2, ...
 */
#ifndef ATTRIB_UTIL_STRMAP_H
#define ATTRIB_UTIL_STRMAP_H

#include "arena.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t hash;
    const char *key; /* NULL = empty slot */
    uint32_t len;
    uint32_t index;
} attrib_strmap_slot;

typedef struct {
    attrib_strmap_slot *slots;
    size_t cap;        /* power of two */
    size_t count;      /* distinct keys */
    const char **keys; /* keys[index] */
    size_t keys_cap;
    attrib_arena arena;
} attrib_strmap;

#define ATTRIB_STRMAP_INIT                                                                         \
    {                                                                                              \
        NULL, 0, 0, NULL, 0, ATTRIB_ARENA_INIT                                                     \
    }

uint64_t attrib_hash(const void *p, size_t len);

/* Index of key, or -1 when absent. */
int64_t attrib_strmap_find(const attrib_strmap *m, const char *key, size_t len);

/* The same with hash = attrib_hash(key, len) already computed. */
int64_t attrib_strmap_find_hashed(const attrib_strmap *m, const char *key, size_t len,
                                  uint64_t hash);

/* Ask for the slot where a key of this hash is looked up first (a cache
 * miss in a big map), ahead of attrib_strmap_find_hashed. */
static inline void attrib_strmap_prefetch(const attrib_strmap *m, uint64_t hash)
{
    if (m->cap != 0)
        __builtin_prefetch(&m->slots[hash & (m->cap - 1)]);
}

/* Index of key, inserting it if new (*added set accordingly, may be NULL).
 * Returns -1 when out of memory or past UINT32_MAX keys. */
int64_t attrib_strmap_intern(attrib_strmap *m, const char *key, size_t len, int *added);

void attrib_strmap_free(attrib_strmap *m);

#endif
