/* Open-addressing string map with linear probing; see strmap.h. The hash is
 * FNV-1a folded with a 64-bit finaliser (good enough for ids, no seed
 * needed since nothing here faces an adversary that can pick keys cheaply). */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

uint64_t attrib_hash(const void *p, size_t len)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < len; i++)
        h = (h ^ s[i]) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

int64_t attrib_strmap_find(const attrib_strmap *m, const char *key, size_t len)
{
    return attrib_strmap_find_hashed(m, key, len, attrib_hash(key, len));
}

int64_t attrib_strmap_find_hashed(const attrib_strmap *m, const char *key, size_t len, uint64_t h)
{
    if (m->cap == 0)
        return -1;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        const attrib_strmap_slot *s = &m->slots[i];
        if (s->key == NULL)
            return -1;
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
            return s->index;
    }
}

static int grow(attrib_strmap *m)
{
    size_t cap = m->cap != 0 ? m->cap * 2 : 64;
    attrib_strmap_slot *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        attrib_strmap_slot *s = &m->slots[i];
        if (s->key == NULL)
            continue;
        size_t j = s->hash & (cap - 1);
        while (slots[j].key != NULL)
            j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int64_t attrib_strmap_intern(attrib_strmap *m, const char *key, size_t len, int *added)
{
    if (added != NULL)
        *added = 0;
    if (len > UINT32_MAX || m->count >= UINT32_MAX)
        return -1;
    if ((m->count + 1) * 4 > m->cap * 3 && grow(m) != 0)
        return -1;
    uint64_t h = attrib_hash(key, len);
    size_t i = h & (m->cap - 1);
    for (;; i = (i + 1) & (m->cap - 1)) {
        attrib_strmap_slot *s = &m->slots[i];
        if (s->key == NULL)
            break;
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
            return s->index;
    }
    if (m->count == m->keys_cap) {
        size_t kc = m->keys_cap != 0 ? m->keys_cap * 2 : 64;
        const char **keys = realloc(m->keys, kc * sizeof(*keys));
        if (keys == NULL)
            return -1;
        m->keys = keys;
        m->keys_cap = kc;
    }
    /* Aligned for any type: some keys are arrays read back in place (model/chan.c). */
    char *copy = len < SIZE_MAX ? attrib_arena_alloc(&m->arena, len + 1) : NULL;
    if (copy == NULL)
        return -1;
    memcpy(copy, key, len);
    copy[len] = '\0';
    attrib_strmap_slot *s = &m->slots[i];
    s->hash = h;
    s->key = copy;
    s->len = (uint32_t)len;
    s->index = (uint32_t)m->count;
    m->keys[m->count] = copy;
    m->count++;
    if (added != NULL)
        *added = 1;
    return s->index;
}

void attrib_strmap_free(attrib_strmap *m)
{
    free(m->slots);
    free(m->keys);
    attrib_arena_free(&m->arena);
    memset(m, 0, sizeof(*m));
}
