/*
 * The ihc-api engine of the attribute step (api_run.c): API credit for the
 * pipeline's journeys, with a per-batch committed result cache so a rerun
 * sends only what has no stored result.
 */
#ifndef ATTRIB_LIB_API_RUN_H
#define ATTRIB_LIB_API_RUN_H

#include "attrib/api.h"
#include "attrib/pipeline.h"
#include "lib/journey/dataset.h"
#include "lib/store/store.h"

/*
 * Fill credits[offset[j] .. offset[j] + js[j].n) for every journey with an
 * API result (from this run or stored before) and set state[j]; sessions trimmed by
 * --oversize keep-latest get 0. Must be called outside a transaction: each
 * settled batch commits its own. Returns ATTRIB_OK, ATTRIB_EPARTIAL (some
 * failed; the others are filled), ATTRIB_EAUTH, or an error.
 */
int attrib__api_attribute(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                          const attrib_journey *js, size_t n, const attrib_channels *channels,
                          const size_t *offset, attrib_credit *credits, unsigned char *state,
                          attrib_summary *sum);

#endif
