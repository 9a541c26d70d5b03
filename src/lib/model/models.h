/* The model ops tables, one per model_<name>.c; listed in model.c. */
#ifndef ATTRIB_LIB_MODELS_H
#define ATTRIB_LIB_MODELS_H

#include "attrib/model.h"

extern const attrib_model_ops attrib_model_ihc;
extern const attrib_model_ops attrib_model_linear;
extern const attrib_model_ops attrib_model_first;
extern const attrib_model_ops attrib_model_last;
extern const attrib_model_ops attrib_model_last_non_direct;
extern const attrib_model_ops attrib_model_position;
extern const attrib_model_ops attrib_model_time_decay;
extern const attrib_model_ops attrib_model_markov;
extern const attrib_model_ops attrib_model_shapley;
extern const attrib_model_ops attrib_model_shapley_simplified;
extern const attrib_model_ops attrib_model_counterfactual;

/* The state of an instance (for inspection APIs such as attrib_markov_info_of). */
void *attrib__model_state(const attrib_model *m);

#endif
