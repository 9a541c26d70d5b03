/*
 * The IHC computation for one journey (docs/model.md), shared by the "ihc"
 * model, eval and calibrate. Pure function of the journey and the parameters.
 */
#ifndef ATTRIB_LIB_IHC_ENGINE_H
#define ATTRIB_LIB_IHC_ENGINE_H

#include "attrib/journey.h"
#include "attrib/model.h"
#include "lib/ihc/params.h"

#include <stdbool.h>
#include <stdint.h>

/* What the engine keeps per channel index, resolved once (bind). */
typedef struct {
    double w[3];   /* initializer, holder, closer weight (1 when unknown) */
    uint8_t donor; /* bit p set: gives its phase-p credit away (redistribution) */
} attrib_ihc_chan;

/*
 * Credit for s[0..n) into out[0..n). chans[ch] for ch < n_chans, weight 1 and
 * no donor beyond. rd NULL = no redistribution. Never fails, never allocates.
 */
void attrib__ihc_compute(const attrib_ihc_params *p, const attrib_ihc_chan *chans, size_t n_chans,
                         const attrib_redistribution *rd, bool api_rounding,
                         const attrib_session *s, size_t n, attrib_credit *out);

/*
 * Redistribution (docs/model.md) of the phase values in out[from..n) in
 * place; out[].ihc is used as scratch and must be recomputed afterwards.
 */
void attrib__ihc_redistribute(const attrib_ihc_chan *chans, size_t n_chans,
                              const attrib_redistribution *rd, const attrib_session *s, size_t from,
                              size_t n, attrib_credit *out);

/* Round to 4 decimals like the API (half away from zero). */
double attrib__ihc_round4(double x);

#endif
