/*
 * Small deterministic pseudo-random numbers: xoshiro256** seeded through
 * splitmix64 (Blackman & Vigna). Integer-only, so a seed gives the same
 * stream on every machine and compiler; never libc rand(). Not for secrets.
 */
#ifndef ATTRIB_UTIL_RNG_H
#define ATTRIB_UTIL_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} attrib_rng;

/* One splitmix64 step: advances *state and returns a well-mixed value. */
static inline uint64_t attrib_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Seed a generator; any seed (0 included) gives a valid, distinct stream. */
static inline void attrib_rng_seed(attrib_rng *r, uint64_t seed)
{
    uint64_t st = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = attrib_splitmix64(&st);
}

static inline uint64_t attrib_rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Next 64 uniformly distributed bits. */
static inline uint64_t attrib_rng_next(attrib_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = attrib_rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = attrib_rng_rotl(s[3], 45);
    return result;
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double attrib_rng_unit(attrib_rng *r)
{
    return (double)(attrib_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n) for n >= 1 (Lemire's multiply-shift; the bias is
 * below n / 2^64, irrelevant for synthetic data). */
static inline uint64_t attrib_rng_below(attrib_rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)attrib_rng_next(r) * n) >> 64);
}

/* True with probability p (p outside [0, 1] saturates). */
static inline int attrib_rng_chance(attrib_rng *r, double p)
{
    return attrib_rng_unit(r) < p;
}

#endif
