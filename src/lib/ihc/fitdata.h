/* Internal layout of attrib_ihc_dataset (ihc_dataset.c), shared with eval
 * and calibrate. */
#ifndef ATTRIB_LIB_IHC_DATASET_H
#define ATTRIB_LIB_IHC_DATASET_H

#include "attrib/ihc_fit.h"
#include "attrib/journey.h"
#include "util/arena.h"
#include "util/strmap.h"

struct attrib_ihc_dataset {
    attrib_session *sessions; /* all journeys' sessions, journey after journey */
    attrib_credit *target;    /* the API's answer per session */
    size_t n_sessions, cap_sessions;
    attrib_journey *journeys; /* sessions point into `sessions` once loading is done */
    size_t *first;            /* first session index per journey */
    size_t n_journeys, cap_journeys;
    size_t skipped;         /* journeys without a complete answer */
    size_t skipped_calls;   /* audit pairs without a usable response */
    attrib_strmap channels; /* channel label → index */
    attrib_channels chan_view;
    attrib_arena arena; /* ids */
};

#endif
