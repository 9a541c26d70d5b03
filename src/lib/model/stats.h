/*
 * A model's path statistics as exact entries, for reducing them across the
 * workers of a job (attrib_model_reduce, stats.c; docs/scale-out.md).
 *
 * An entry is a key of 32-bit words (a tag and channel ids, laid out by the
 * model) and a value of two integer counts and one exact sum (util/xsum.h):
 * integers, so the sum over workers is exact and does not depend on their
 * order. Adding a key twice adds the values.
 */
#ifndef ATTRIB_LIB_MODEL_STATS_H
#define ATTRIB_LIB_MODEL_STATS_H

#include "attrib/model.h"
#include "util/strmap.h"
#include "util/xsum.h"

typedef struct {
    uint64_t count[2];
    attrib_xsum sum;
} attrib__stat;

#define ATTRIB__STAT_INIT                                                                          \
    {                                                                                              \
        {0, 0}, ATTRIB_XSUM_INIT                                                                   \
    }

struct attrib_model_stats {
    attrib_strmap keys; /* key words as bytes → entry index */
    uint32_t *len;      /* words per key */
    attrib__stat *val;  /* per entry */
    size_t cap;
    const char *const *names; /* import: the names of the channel ids (borrowed) */
    size_t n_names;
};

/* Add v under key[0..n). Returns ATTRIB_OK or ATTRIB_ENOMEM. */
int attrib__stats_add(attrib_model_stats *s, const uint32_t *key, size_t n, const attrib__stat *v);

size_t attrib__stats_count(const attrib_model_stats *s);

/* Entry i: its key (*n words) and value. Borrowed until the next add. */
const uint32_t *attrib__stats_key(const attrib_model_stats *s, size_t i, size_t *n);
const attrib__stat *attrib__stats_value(const attrib_model_stats *s, size_t i);

/* The channel names the ids of an imported set index. */
const char *const *attrib__stats_names(const attrib_model_stats *s, size_t *n);

void attrib__stats_free(attrib_model_stats *s);

#endif
