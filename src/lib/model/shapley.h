/*
 * The exact Shapley value of a small game, shared by the shapley model and
 * its tests (efficiency and symmetry axioms).
 */
#ifndef ATTRIB_LIB_MODEL_SHAPLEY_H
#define ATTRIB_LIB_MODEL_SHAPLEY_H

#include <stddef.h>

/* Players a journey may have for the exact value (2^m coalitions each). */
#define ATTRIB_SHAPLEY_MAX 16

/*
 * Shapley values of m players (m in 1..ATTRIB_SHAPLEY_MAX) of the game whose
 * worth of coalition `mask` (bit i = player i) is v[mask], for all 2^m masks:
 * phi_i = sum over S not containing i of |S|!(m-|S|-1)!/m! (v[S+i] - v[S]),
 * summed in ascending mask order (deterministic). phi has m entries.
 */
void attrib__shapley_exact(const double *v, size_t m, double *phi);

#endif
