/* The model ops tables, one per model_<name>.c; listed in model.c. */
#ifndef ATTRIB_LIB_MODELS_H
#define ATTRIB_LIB_MODELS_H

#include "attrib/model.h"

extern const attrib_model_ops attrib_model_ihc;
extern const attrib_model_ops attrib_model_linear;

#endif
