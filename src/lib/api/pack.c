/*
 * Two-constraint bin packing for API requests (see api_pack.h).
 *
 * Why two strategies: first-fit decreasing (FFD) is near-optimal when only
 * the session cap binds, but with a journey cap as well it fills the first
 * bins with the big journeys (hitting the session cap with few journeys) and
 * the last bins with the small ones (hitting the journey cap with few
 * sessions): on a 1/2/3-session mix with caps 100/200 it needs 17% more
 * requests than the bound. A balanced fill into a fixed number k of bins
 * (worst-fit decreasing: each journey, largest first, goes to the bin with
 * the fewest sessions) spreads every size evenly over the bins, so both caps
 * fill together; it can fail where FFD succeeds on tight session packings.
 * We run FFD, then search the smallest k in [lower bound, FFD) for which the
 * balanced fill succeeds, and keep whichever uses fewer bins.
 * FFD uses a max segment tree over bins (O(n log n)); the balanced fill a
 * min-heap (O(n log k) per k, O(log n) values of k).
 */
#include "lib/api/pack.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

/* Merge sort by decreasing weight (stable, re-entrant, no globals). */
static void sort_desc(size_t *idx, size_t *tmp, size_t n, const size_t *w)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_desc(idx, tmp, h, w);
    sort_desc(idx + h, tmp, n - h, w);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = w[idx[j]] > w[idx[i]] ? idx[j++] : idx[i++];
    while (i < h)
        tmp[k++] = idx[i++];
    while (j < n)
        tmp[k++] = idx[j++];
    for (k = 0; k < n; k++)
        idx[k] = tmp[k];
}

/* FFD with a segment tree of remaining capacity (-1 = bin at its item cap). */
static size_t ffd(const size_t *w, const size_t *idx, size_t n, size_t max_items, size_t max_weight,
                  size_t *bin_of, long *tree, size_t *count)
{
    size_t leaves = 1;
    while (leaves < n)
        leaves <<= 1;
    for (size_t i = 0; i < 2 * leaves; i++)
        tree[i] = (long)max_weight;
    for (size_t i = 0; i < leaves; i++)
        count[i] = 0;
    size_t used = 0;
    for (size_t t = 0; t < n; t++) {
        long need = (long)w[idx[t]];
        size_t node = 1;
        while (node < leaves)
            node = tree[2 * node] >= need ? 2 * node : 2 * node + 1;
        size_t b = node - leaves;
        bin_of[idx[t]] = b;
        if (b + 1 > used)
            used = b + 1;
        count[b]++;
        tree[node] = count[b] >= max_items ? -1 : tree[node] - need;
        for (node >>= 1; node >= 1; node >>= 1)
            tree[node] = tree[2 * node] > tree[2 * node + 1] ? tree[2 * node] : tree[2 * node + 1];
    }
    return used;
}

typedef struct {
    size_t load;
    size_t items;
    size_t bin;
} heap_ent;

static int ent_less(const heap_ent *a, const heap_ent *b)
{
    if (a->load != b->load)
        return a->load < b->load;
    if (a->items != b->items)
        return a->items < b->items;
    return a->bin < b->bin;
}

static void sift_down(heap_ent *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && ent_less(&h[l], &h[m]))
            m = l;
        if (r < n && ent_less(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        heap_ent t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Balanced fill into exactly k bins; 1 when everything fit. */
static int balanced(const size_t *w, const size_t *idx, size_t n, size_t max_items,
                    size_t max_weight, size_t k, size_t *bin_of, heap_ent *heap)
{
    size_t hn = k;
    for (size_t b = 0; b < k; b++)
        heap[b] = (heap_ent){0, 0, b};
    for (size_t t = 0; t < n; t++) {
        if (hn == 0)
            return 0;
        size_t need = w[idx[t]];
        if (heap[0].load + need > max_weight)
            return 0;
        bin_of[idx[t]] = heap[0].bin;
        heap[0].load += need;
        heap[0].items++;
        if (heap[0].items >= max_items)
            heap[0] = heap[--hn];
        sift_down(heap, hn, 0);
    }
    return 1;
}

void attrib__pack_free(attrib_pack *p)
{
    if (p == NULL)
        return;
    free(p->order);
    free(p->bin_start);
    p->order = NULL;
    p->bin_start = NULL;
    p->n_bins = 0;
}

int attrib__pack(const size_t *w, size_t n, size_t max_items, size_t max_weight, attrib_pack *out)
{
    int rc = 0;
    size_t *idx = NULL, *tmp = NULL, *best = NULL, *trial = NULL, *cnt = NULL;
    long *tree = NULL;
    heap_ent *heap = NULL;

    *out = (attrib_pack){NULL, NULL, 0, 0};
    if (max_items == 0 || max_weight == 0 || max_weight > (size_t)LONG_MAX / 2)
        return -2;
    size_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] == 0 || w[i] > max_weight)
            return -2;
        sum += w[i];
    }
    size_t lb_items = (n + max_items - 1) / max_items;
    size_t lb_weight = sum / max_weight + (sum % max_weight != 0);
    out->lower_bound = lb_items > lb_weight ? lb_items : lb_weight;
    size_t leaves = 1;
    while (leaves < n)
        leaves <<= 1;
    size_t m = n ? n : 1;
    idx = malloc(m * sizeof(*idx));
    tmp = malloc(m * sizeof(*tmp));
    best = malloc(m * sizeof(*best));
    trial = malloc(m * sizeof(*trial));
    cnt = calloc(leaves + 1, sizeof(*cnt));
    tree = malloc(2 * leaves * sizeof(*tree));
    heap = malloc(m * sizeof(*heap));
    out->order = malloc(m * sizeof(*out->order));
    if (idx == NULL || tmp == NULL || best == NULL || trial == NULL || cnt == NULL ||
        tree == NULL || heap == NULL || out->order == NULL) {
        rc = -1;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    sort_desc(idx, tmp, n, w);

    size_t bins = n ? ffd(w, idx, n, max_items, max_weight, best, tree, cnt) : 0;
    /* Smallest k in [lb, bins) where the balanced fill succeeds. */
    size_t lo = out->lower_bound, hi = bins;
    while (lo < hi) {
        size_t k = lo + (hi - lo) / 2;
        if (balanced(w, idx, n, max_items, max_weight, k, trial, heap)) {
            size_t *t = best;
            best = trial;
            trial = t;
            bins = k;
            hi = k;
        } else
            lo = k + 1;
    }

    /* Counting sort of items by bin; drop empty bins. */
    out->bin_start = calloc(bins + 2, sizeof(*out->bin_start));
    if (out->bin_start == NULL) {
        rc = -1;
        goto done;
    }
    for (size_t i = 0; i < bins + 1; i++)
        cnt[i] = 0;
    for (size_t i = 0; i < n; i++)
        cnt[best[i]]++;
    size_t nb = 0, at = 0;
    for (size_t b = 0; b < bins; b++) {
        if (cnt[b] == 0) {
            cnt[b] = SIZE_MAX;
            continue;
        }
        out->bin_start[nb++] = at;
        size_t c = cnt[b];
        cnt[b] = at;
        at += c;
    }
    out->bin_start[nb] = at;
    out->n_bins = nb;
    for (size_t i = 0; i < n; i++) /* items in index order within a bin */
        out->order[cnt[best[i]]++] = i;
done:
    free(idx);
    free(tmp);
    free(best);
    free(trial);
    free(cnt);
    free(tree);
    free(heap);
    if (rc != 0)
        attrib__pack_free(out);
    return rc;
}
