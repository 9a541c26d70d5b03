/*
 * Shared helpers of the models: canonical channel ids and a deterministic
 * exp2.
 *
 * Models that learn from all paths must not depend on the order in which
 * paths arrive, nor on the channel table's order (it follows the store's
 * scan). They intern channel names as they see them (local ids, arrival
 * order), and at finish renumber them by name (canonical ids, strcmp order),
 * so that everything iterated afterwards is sorted.
 */
#ifndef ATTRIB_LIB_MODEL_CHAN_H
#define ATTRIB_LIB_MODEL_CHAN_H

#include "attrib/journey.h"
#include "attrib/model.h"
#include "util/strmap.h"

#include <stdbool.h>
#include <stdint.h>

#define ATTRIB_CHAN_NONE UINT32_MAX

typedef struct {
    attrib_strmap names;      /* channel name → local id (arrival order) */
    const char *const *table; /* channel table the cache below was built for */
    size_t table_count;
    uint32_t *cache;     /* table index → local id */
    uint32_t *canon;     /* after finish: local id → canonical id (rank by name) */
    const char **sorted; /* after finish: canonical id → name (borrowed from names) */
    size_t n;            /* channels after finish */
} attrib__chanmap;

/* Local id of channel index `ch` of table `t`; ATTRIB_CHAN_NONE when out of
 * memory. Refreshes the cache when the table changed. */
uint32_t attrib__chan_local(attrib__chanmap *m, const attrib_channels *t, uint32_t ch);

/* Sort the names seen and fill canon/sorted. Returns 0 or ATTRIB_ENOMEM. */
int attrib__chan_finish(attrib__chanmap *m);

/* Canonical id of every index of table `t` (ATTRIB_CHAN_NONE for names not
 * seen) into a new array *out (caller frees). Returns 0 or ATTRIB_ENOMEM. */
int attrib__chan_bind(const attrib__chanmap *m, const attrib_channels *t, uint32_t **out);

void attrib__chan_free(attrib__chanmap *m);

/* Forget every name, then intern names[0..n) in order (local id i = names[i]),
 * for statistics imported under those ids. Returns 0 or ATTRIB_ENOMEM. */
int attrib__chan_reset(attrib__chanmap *m, const char *const *names, size_t n);

/*
 * Conversion counts per channel key (a sequence or a set of channel ids):
 * observe() adds under local ids, finish rewrites every key to canonical
 * ids (optionally sorted, for sets) and merges keys that became equal.
 * Counts are integers, so the result does not depend on arrival order.
 */
typedef struct {
    attrib_strmap keys; /* uint32 ids as bytes → index */
    uint64_t *conv;     /* conversions per index */
    uint64_t *total;    /* paths per index */
    uint32_t *len;      /* ids in the key per index */
    size_t cap;
} attrib__keycount;

/* Count one path under key ids[0..n). Returns 0 or ATTRIB_ENOMEM. */
int attrib__keycount_add(attrib__keycount *kc, const uint32_t *ids, size_t n, bool converted);

/* Rewrite the keys to canonical ids via canon[] (sorting each key when
 * `sort`), into *out (fresh). Returns 0 or ATTRIB_ENOMEM. */
int attrib__keycount_canon(const attrib__keycount *kc, const uint32_t *canon, bool sort,
                           attrib__keycount *out);

/* Conversion rate of key ids[0..n): conv / total, 0 when never seen.
 * Read-only: safe from several threads. */
double attrib__keycount_rate(const attrib__keycount *kc, const uint32_t *ids, size_t n);

void attrib__keycount_free(attrib__keycount *kc);

/* Every key's counts into out (conversions, paths), its ids mapped through
 * global[] (sorted after, when `sort`). Returns 0 or ATTRIB_ENOMEM. */
int attrib__keycount_export(const attrib__keycount *kc, const uint32_t *global, bool sort,
                            attrib_model_stats *out);

/* Replace m's names and kc's keys and counts by those of `in` (a model's
 * stats_import). Returns 0 or ATTRIB_ENOMEM. */
int attrib__keycount_import(attrib__chanmap *m, attrib__keycount *kc, const attrib_model_stats *in);

/* 2^x from +, -, *, / and ldexp only, so the result is the same bits on every
 * machine (libm's exp2 may differ by an ulp between versions); relative error
 * below 1e-15. x must be finite; below -1074 the result is 0. */
double attrib__exp2(double x);

#endif
