/*
 * The shard of a user (docs/scale-out.md): FNV-1a 64 of the user_id's bytes
 * as stored (offset basis 14695981039346656037, prime 1099511628211), modulo
 * the shard count. Fixed here, independent of the hash tables' attrib_hash,
 * so every machine, store and version puts a user in the same shard.
 */
#ifndef ATTRIB_UTIL_SHARD_H
#define ATTRIB_UTIL_SHARD_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t attrib_shard_hash(const char *p, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* The shard (0..n-1) of a user_id; n must be at least 1. */
static inline uint32_t attrib_shard_index(const char *p, size_t len, uint32_t n)
{
    return (uint32_t)(attrib_shard_hash(p, len) % n);
}

#endif
