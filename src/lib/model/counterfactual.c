/*
 * counterfactual: Google's Fractribution.
 *
 * A path is the journey's channel sequence with consecutive repeats
 * collapsed (A, A, B → A > B). Its conversion probability is
 * pi(p) = conversions / (conversions + non-conversions) over all paths with
 * that sequence (converting and non-converting, as for markov; 0 for a
 * sequence never seen). Position i's credit is max(pi(p) - pi(p without
 * position i), 0), where removing a position collapses again (A > B > A
 * without B is A); the credits are normalised, and all zero gives all credit
 * to the last position. A position's credit is shared equally by the
 * sessions of its run. attribute() only reads the counts (thread-safe).
 *
 * Linear time: the n counterfactual paths of a journey are not built one by
 * one (n lookups of n ids: 10 s for one journey of 100,000 alternating
 * sessions). Each is a prefix of the path joined to a suffix, so its
 * polynomial hash (mod 2^61-1) comes from prefix and suffix hashes in O(1);
 * finish() indexes every seen path by (hash, length), and only a hit is
 * compared id by id (a hit is a path of the data, so the comparisons are
 * bounded by the data's size).
 */
#include "lib/core/ctx.h"
#include "lib/model/chan.h"
#include "lib/model/models.h"
#include "lib/model/stats.h"

#include <stdlib.h>
#include <string.h>

/* Seen paths by (hash, length): open addressing, slot = key index + 1. */
typedef struct {
    uint64_t *hash;
    uint32_t *slot;
    size_t mask;
} cf_index;

typedef struct {
    attrib__chanmap cm;
    cf_index idx;
    attrib__keycount local; /* sequences under local ids */
    attrib__keycount seqs;  /* after finish: under canonical ids */
    uint32_t *buf;
    size_t buf_cap;
    uint32_t *map; /* after bind: table index → canonical id */
    size_t n_table;
} cf_state;

static void cf_free(void *p)
{
    cf_state *s = p;
    if (s == NULL)
        return;
    attrib__chan_free(&s->cm);
    attrib__keycount_free(&s->local);
    attrib__keycount_free(&s->seqs);
    free(s->idx.hash);
    free(s->idx.slot);
    free(s->buf);
    free(s->map);
    free(s);
}

static int cf_create(attrib_ctx *ctx, const attrib_model_options *opts, void **out)
{
    (void)opts;
    cf_state *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    *out = s;
    return ATTRIB_OK;
}

static int cf_observe(void *state, const attrib_path *p, const attrib_channels *channels)
{
    cf_state *s = state;
    if (p->n == 0)
        return ATTRIB_OK;
    if (p->n > s->buf_cap) {
        uint32_t *b = realloc(s->buf, p->n * sizeof(*b));
        if (b == NULL)
            return ATTRIB_ENOMEM;
        s->buf = b;
        s->buf_cap = p->n;
    }
    size_t n = 0;
    for (size_t k = 0; k < p->n; k++) {
        uint32_t c = attrib__chan_local(&s->cm, channels, p->sessions[k].channel);
        if (c == ATTRIB_CHAN_NONE)
            return ATTRIB_ENOMEM;
        if (n == 0 || s->buf[n - 1] != c)
            s->buf[n++] = c;
    }
    return attrib__keycount_add(&s->local, s->buf, n, p->converted);
}

/* Polynomial hash mod the Mersenne prime 2^61-1 of ids (+1, so no id is 0). */
#define HMOD ((UINT64_C(1) << 61) - 1)
#define HBASE (UINT64_C(0x1f3d5b79a2c4e687) % HMOD)

static uint64_t hmul(uint64_t a, uint64_t b)
{
    unsigned __int128 p = (unsigned __int128)a * b;
    uint64_t r = (uint64_t)(p & HMOD) + (uint64_t)(p >> 61);
    return r >= HMOD ? r - HMOD : r;
}

static uint64_t hadd(uint64_t a, uint64_t b)
{
    uint64_t r = a + b;
    return r >= HMOD ? r - HMOD : r;
}

static uint64_t hash_ids(const uint32_t *ids, size_t n)
{
    uint64_t h = 0;
    for (size_t k = 0; k < n; k++)
        h = hadd(hmul(h, HBASE), (uint64_t)ids[k] + 1);
    return h;
}

/* The slot of (h, len): a key's index + 1, or the empty slot (0) to fill. */
static size_t index_probe(const cf_index *x, const attrib__keycount *kc, uint64_t h, size_t len,
                          size_t from)
{
    size_t at = from & x->mask;
    while (x->slot[at] != 0 && (x->hash[at] != h || kc->len[x->slot[at] - 1] != len))
        at = (at + 1) & x->mask;
    return at;
}

static int index_build(cf_state *s)
{
    const attrib__keycount *kc = &s->seqs;
    size_t cap = 16;
    while (cap < 2 * kc->keys.count + 2)
        cap *= 2;
    s->idx.hash = calloc(cap, sizeof(*s->idx.hash));
    s->idx.slot = calloc(cap, sizeof(*s->idx.slot));
    if (s->idx.hash == NULL || s->idx.slot == NULL || kc->keys.count >= UINT32_MAX)
        return ATTRIB_ENOMEM;
    s->idx.mask = cap - 1;
    for (size_t i = 0; i < kc->keys.count; i++) {
        uint64_t h = hash_ids((const uint32_t *)(const void *)kc->keys.keys[i], kc->len[i]);
        size_t at = (size_t)h & s->idx.mask;
        while (s->idx.slot[at] != 0) /* keys are distinct: every key gets its own slot */
            at = (at + 1) & s->idx.mask;
        s->idx.hash[at] = h;
        s->idx.slot[at] = (uint32_t)(i + 1);
    }
    return ATTRIB_OK;
}

static int cf_finish(void *state, attrib_ctx *ctx)
{
    cf_state *s = state;
    if (attrib__chan_finish(&s->cm) != ATTRIB_OK ||
        attrib__keycount_canon(&s->local, s->cm.canon, false, &s->seqs) != ATTRIB_OK ||
        index_build(s) != ATTRIB_OK)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    attrib__keycount_free(&s->local);
    return ATTRIB_OK;
}

/*
 * Rate of seq[0..cut) followed by seq[from..n) (m ids), whose hash is h.
 * Probes every slot with that hash and length and compares the ids: equal
 * hashes of different paths are told apart.
 */
static double rate_of_join(const cf_state *s, const uint32_t *seq, size_t n, size_t cut,
                           size_t from, uint64_t h)
{
    const attrib__keycount *kc = &s->seqs;
    size_t m = cut + (n - from);
    size_t at = (size_t)h & s->idx.mask;
    for (;;) {
        at = index_probe(&s->idx, kc, h, m, at);
        uint32_t slot = s->idx.slot[at];
        if (slot == 0)
            return 0; /* never seen */
        const uint32_t *key = (const uint32_t *)(const void *)kc->keys.keys[slot - 1];
        if (memcmp(key, seq, cut * sizeof(*seq)) == 0 &&
            memcmp(key + cut, seq + from, (n - from) * sizeof(*seq)) == 0)
            return kc->total[slot - 1] == 0
                       ? 0
                       : (double)kc->conv[slot - 1] / (double)kc->total[slot - 1];
        at = (at + 1) & s->idx.mask;
    }
}

static int cf_bind(void *state, attrib_ctx *ctx, const attrib_channels *channels)
{
    cf_state *s = state;
    uint32_t *map = NULL;
    if (attrib__chan_bind(&s->cm, channels, &map) != ATTRIB_OK)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    free(s->map);
    s->map = map;
    s->n_table = channels->count;
    return ATTRIB_OK;
}

static int cf_attribute(const void *state, const attrib_journey *j, attrib_credit *out)
{
    const cf_state *s = state;
    uint32_t stack[2 * 64] = {0};
    double stack_cc[64];
    uint64_t stack_h[3 * 65];
    uint32_t *seq = stack, *run = NULL;
    double *cc = stack_cc;
    uint64_t *pre = stack_h, *suf = NULL, *pw = NULL;
    int rc = ATTRIB_OK;
    if (j->n > 64) {
        seq = malloc(2 * j->n * sizeof(*seq));
        cc = malloc(j->n * sizeof(*cc));
        pre = malloc(3 * (j->n + 1) * sizeof(*pre));
        if (seq == NULL || cc == NULL || pre == NULL) {
            rc = ATTRIB_ENOMEM;
            goto done;
        }
    }
    run = seq + j->n; /* run[i]: sessions in position i */
    size_t n = 0;
    for (size_t k = 0; k < j->n; k++) {
        uint32_t ch = j->sessions[k].channel;
        if (ch >= s->n_table) {
            rc = ATTRIB_EINVAL;
            goto done;
        }
        uint32_t c = s->map[ch];
        if (n > 0 && seq[n - 1] == c) {
            run[n - 1]++;
            continue;
        }
        seq[n] = c;
        run[n++] = 1;
    }
    /* pre[i]: hash of seq[0..i); suf[i]: of seq[i..n); pw[k]: base^k */
    suf = pre + (n + 1);
    pw = suf + (n + 1);
    pre[0] = 0;
    pw[0] = 1;
    for (size_t i = 0; i < n; i++) {
        pre[i + 1] = hadd(hmul(pre[i], HBASE), (uint64_t)seq[i] + 1);
        pw[i + 1] = hmul(pw[i], HBASE);
    }
    suf[n] = 0;
    for (size_t i = n; i-- > 0;)
        suf[i] = hadd(hmul((uint64_t)seq[i] + 1, pw[n - 1 - i]), suf[i + 1]);
    double pi = rate_of_join(s, seq, n, n, n, pre[n]), sum = 0;
    for (size_t i = 0; i < n; i++) {
        /* without position i: seq[0..i) + seq[from..n), where the neighbours
         * of i merge when they are the same channel */
        size_t from = i + 1;
        if (i > 0 && i + 1 < n && seq[i - 1] == seq[i + 1])
            from = i + 2;
        size_t m = i + (n - from);
        double without = 0;
        if (m > 0)
            without = rate_of_join(s, seq, n, i, from, hadd(hmul(pre[i], pw[n - from]), suf[from]));
        double d = pi - without;
        cc[i] = d > 0 ? d : 0;
        sum += cc[i];
    }
    if (!(sum > 0)) {
        for (size_t i = 0; i < n; i++)
            cc[i] = 0;
        cc[n - 1] = sum = 1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t r = 0; r < run[i]; r++)
            out[k++] = (attrib_credit){.ihc = cc[i] / sum / (double)run[i]};
done:
    if (seq != stack)
        free(seq);
    if (cc != stack_cc)
        free(cc);
    if (pre != stack_h)
        free(pre);
    return rc;
}

/* ---- statistics across workers (lib/model/stats.h): the counts of each
 * sequence of channel ids ---- */

static int cf_stats_channels(const void *state, const char *const **names, size_t *n)
{
    const cf_state *s = state;
    *names = s->cm.names.keys;
    *n = s->cm.names.count;
    return ATTRIB_OK;
}

static int cf_stats_export(const void *state, const uint32_t *global, attrib_model_stats *out)
{
    const cf_state *s = state;
    return attrib__keycount_export(&s->local, global, false, out);
}

static int cf_stats_import(void *state, const attrib_model_stats *in)
{
    cf_state *s = state;
    return attrib__keycount_import(&s->cm, &s->local, in);
}

const attrib_model_ops attrib_model_counterfactual = {
    .name = "counterfactual",
    .summary = "Fractribution: credit by the drop in conversion probability without a step",
    .flags = ATTRIB_MODEL_NEEDS_PATHS,
    .create = cf_create,
    .observe = cf_observe,
    .finish = cf_finish,
    .bind = cf_bind,
    .attribute = cf_attribute,
    .free = cf_free,
    .stats_channels = cf_stats_channels,
    .stats_export = cf_stats_export,
    .stats_import = cf_stats_import,
};
