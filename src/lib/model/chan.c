/* Canonical channel ids for the models that learn from paths, and a
 * deterministic exp2 (see model_chan.h). */
#include "lib/model/chan.h"

#include "attrib/error.h"
#include "lib/model/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint32_t attrib__chan_local(attrib__chanmap *m, const attrib_channels *t, uint32_t ch)
{
    if (m->table != t->names || m->table_count != t->count) {
        uint32_t *c = realloc(m->cache, (t->count + 1) * sizeof(*c));
        if (c == NULL)
            return ATTRIB_CHAN_NONE;
        m->cache = c;
        for (size_t i = 0; i < t->count; i++)
            c[i] = ATTRIB_CHAN_NONE;
        m->table = t->names;
        m->table_count = t->count;
    }
    if (ch >= t->count)
        return ATTRIB_CHAN_NONE;
    if (m->cache[ch] == ATTRIB_CHAN_NONE) {
        const char *name = t->names[ch];
        int64_t id = attrib_strmap_intern(&m->names, name, strlen(name), NULL);
        if (id < 0)
            return ATTRIB_CHAN_NONE;
        m->cache[ch] = (uint32_t)id;
    }
    return m->cache[ch];
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int attrib__chan_finish(attrib__chanmap *m)
{
    size_t n = m->names.count;
    free(m->canon);
    free(m->sorted);
    m->canon = malloc((n + 1) * sizeof(*m->canon));
    m->sorted = malloc((n + 1) * sizeof(*m->sorted));
    if (m->canon == NULL || m->sorted == NULL)
        return ATTRIB_ENOMEM;
    for (size_t i = 0; i < n; i++)
        m->sorted[i] = m->names.keys[i];
    qsort(m->sorted, n, sizeof(*m->sorted), cmp_name);
    for (size_t i = 0; i < n; i++) {
        const char *s = m->sorted[i];
        int64_t local = attrib_strmap_find(&m->names, s, strlen(s));
        m->canon[local] = (uint32_t)i;
    }
    m->n = n;
    return ATTRIB_OK;
}

int attrib__chan_bind(const attrib__chanmap *m, const attrib_channels *t, uint32_t **out)
{
    uint32_t *map = malloc((t->count + 1) * sizeof(*map));
    if (map == NULL)
        return ATTRIB_ENOMEM;
    for (size_t i = 0; i < t->count; i++) {
        int64_t local = attrib_strmap_find(&m->names, t->names[i], strlen(t->names[i]));
        map[i] = local < 0 || m->canon == NULL ? ATTRIB_CHAN_NONE : m->canon[local];
    }
    *out = map;
    return ATTRIB_OK;
}

void attrib__chan_free(attrib__chanmap *m)
{
    attrib_strmap_free(&m->names);
    free(m->cache);
    free(m->canon);
    free(m->sorted);
    memset(m, 0, sizeof(*m));
}

int attrib__chan_reset(attrib__chanmap *m, const char *const *names, size_t n)
{
    attrib__chan_free(m);
    for (size_t i = 0; i < n; i++)
        if (attrib_strmap_intern(&m->names, names[i], strlen(names[i]), NULL) != (int64_t)i)
            return ATTRIB_ENOMEM; /* names are distinct: each gets the next id */
    return ATTRIB_OK;
}

double attrib__exp2(double x)
{
    if (x < -1100)
        return 0;
    double k = floor(x);
    double f = (x - k) * 0.69314718055994530942; /* in [0, ln 2) */
    /* Taylor series of e^f: 22 terms leave a remainder below 1e-20. */
    double term = 1, sum = 1;
    for (int i = 1; i <= 22; i++) {
        term = term * f / i;
        sum += term;
    }
    return ldexp(sum, (int)k);
}

int attrib__keycount_add(attrib__keycount *kc, const uint32_t *ids, size_t n, bool converted)
{
    int added = 0;
    int64_t i = attrib_strmap_intern(&kc->keys, (const char *)ids, n * sizeof(*ids), &added);
    if (i < 0)
        return ATTRIB_ENOMEM;
    if ((size_t)i >= kc->cap) {
        size_t cap = kc->cap == 0 ? 256 : kc->cap * 2;
        uint64_t *c = realloc(kc->conv, cap * sizeof(*c));
        if (c == NULL)
            return ATTRIB_ENOMEM;
        kc->conv = c;
        uint64_t *t = realloc(kc->total, cap * sizeof(*t));
        if (t == NULL)
            return ATTRIB_ENOMEM;
        kc->total = t;
        uint32_t *l = realloc(kc->len, cap * sizeof(*l));
        if (l == NULL)
            return ATTRIB_ENOMEM;
        kc->len = l;
        memset(kc->conv + kc->cap, 0, (cap - kc->cap) * sizeof(*c));
        memset(kc->total + kc->cap, 0, (cap - kc->cap) * sizeof(*t));
        kc->cap = cap;
    }
    if (added)
        kc->len[i] = (uint32_t)n;
    kc->conv[i] += converted ? 1 : 0;
    kc->total[i] += 1;
    return ATTRIB_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* Key i of kc, its ids mapped through map[] (then sorted when `sort`), into *buf
 * (grown as needed; *cap its room). Returns 0 or ATTRIB_ENOMEM. */
static int mapped_key(const attrib__keycount *kc, size_t i, const uint32_t *map, bool sort,
                      uint32_t **buf, size_t *cap)
{
    const uint32_t *key = (const uint32_t *)(const void *)kc->keys.keys[i];
    size_t n = kc->len[i];
    if (n + 1 > *cap) {
        uint32_t *b = realloc(*buf, (n + 1) * sizeof(*b));
        if (b == NULL)
            return ATTRIB_ENOMEM;
        *buf = b;
        *cap = n + 1;
    }
    for (size_t k = 0; k < n; k++)
        (*buf)[k] = map[key[k]];
    if (sort)
        qsort(*buf, n, sizeof(**buf), cmp_u32);
    return ATTRIB_OK;
}

int attrib__keycount_canon(const attrib__keycount *kc, const uint32_t *canon, bool sort,
                           attrib__keycount *out)
{
    int rc = ATTRIB_OK;
    uint32_t *buf = NULL;
    size_t buf_cap = 0;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < kc->keys.count && rc == ATTRIB_OK; i++) {
        size_t n = kc->len[i];
        if (mapped_key(kc, i, canon, sort, &buf, &buf_cap) != ATTRIB_OK ||
            attrib__keycount_add(out, buf, n, false) != ATTRIB_OK) {
            rc = ATTRIB_ENOMEM;
            break;
        }
        int64_t j = attrib_strmap_find(&out->keys, (const char *)buf, n * sizeof(*buf));
        out->total[j] += kc->total[i] - 1; /* add() counted one path */
        out->conv[j] += kc->conv[i];
    }
    free(buf);
    if (rc != ATTRIB_OK)
        attrib__keycount_free(out);
    return rc;
}

double attrib__keycount_rate(const attrib__keycount *kc, const uint32_t *ids, size_t n)
{
    int64_t i = attrib_strmap_find(&kc->keys, (const char *)ids, n * sizeof(*ids));
    if (i < 0 || kc->total[i] == 0)
        return 0;
    return (double)kc->conv[i] / (double)kc->total[i];
}

void attrib__keycount_free(attrib__keycount *kc)
{
    attrib_strmap_free(&kc->keys);
    free(kc->conv);
    free(kc->total);
    free(kc->len);
    memset(kc, 0, sizeof(*kc));
}

int attrib__keycount_export(const attrib__keycount *kc, const uint32_t *global, bool sort,
                            attrib_model_stats *out)
{
    int rc = ATTRIB_OK;
    uint32_t *buf = NULL;
    size_t buf_cap = 0;
    for (size_t i = 0; i < kc->keys.count && rc == ATTRIB_OK; i++) {
        attrib__stat v = {{kc->conv[i], kc->total[i]}, ATTRIB_XSUM_INIT};
        rc = mapped_key(kc, i, global, sort, &buf, &buf_cap);
        if (rc == ATTRIB_OK)
            rc = attrib__stats_add(out, buf, kc->len[i], &v);
    }
    free(buf);
    return rc;
}

int attrib__keycount_import(attrib__chanmap *m, attrib__keycount *kc, const attrib_model_stats *in)
{
    size_t n_names = 0;
    const char *const *names = attrib__stats_names(in, &n_names);
    if (attrib__chan_reset(m, names, n_names) != ATTRIB_OK)
        return ATTRIB_ENOMEM;
    attrib__keycount_free(kc);
    for (size_t i = 0; i < attrib__stats_count(in); i++) {
        size_t n = 0;
        const uint32_t *key = attrib__stats_key(in, i, &n);
        const attrib__stat *v = attrib__stats_value(in, i);
        if (attrib__keycount_add(kc, key, n, false) != ATTRIB_OK)
            return ATTRIB_ENOMEM;
        int64_t j = attrib_strmap_find(&kc->keys, (const char *)key, n * sizeof(*key));
        kc->conv[j] += v->count[0];
        kc->total[j] += v->count[1] - 1; /* add() counted one path */
    }
    return ATTRIB_OK;
}
