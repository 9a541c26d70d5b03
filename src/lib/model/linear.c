/* linear: equal credit to every session of the journey. */
#include "lib/model/models.h"

static int linear_attribute(const void *state, const attrib_journey *j, attrib_credit *out)
{
    (void)state;
    for (size_t k = 0; k < j->n; k++)
        out[k] = (attrib_credit){.ihc = 1.0 / (double)j->n};
    return ATTRIB_OK;
}

const attrib_model_ops attrib_model_linear = {
    .name = "linear",
    .summary = "equal credit to every session",
    .attribute = linear_attribute,
};
