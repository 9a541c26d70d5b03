/*
 * Packing journeys into API requests: a two-constraint bin packing (at most
 * max_items journeys and max_weight sessions per request), whole journeys
 * only. Pure: no I/O, no context. Internal to the library (the API client
 * and its benchmark and tests).
 */
#ifndef ATTRIB_LIB_API_PACK_H
#define ATTRIB_LIB_API_PACK_H

#include <stddef.h>

typedef struct {
    size_t *order;     /* item indices, bin after bin */
    size_t *bin_start; /* n_bins + 1 offsets into order */
    size_t n_bins;
    size_t lower_bound; /* max(ceil(n/max_items), ceil(sum/max_weight)) */
} attrib_pack;

/*
 * Pack items with weights w[0..n) (each 1..max_weight) into bins holding at
 * most max_items items and max_weight total weight. The result is within
 * both caps by construction and uses at most as many bins as first-fit
 * decreasing; on typical journey-length mixes it reaches the lower bound or
 * comes within a percent of it (it tries a balanced fill at the lower bound
 * and a few counts above it, and keeps the best of that and FFD).
 * Returns 0, -1 when out of memory, -2 for an item of weight 0 or above
 * max_weight or a cap of 0. *out is filled; free with attrib__pack_free.
 */
int attrib__pack(const size_t *w, size_t n, size_t max_items, size_t max_weight, attrib_pack *out);

void attrib__pack_free(attrib_pack *p);

#endif
