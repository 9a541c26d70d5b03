/*
 * attrib — inspecting the Markov model: its states, transition matrix and
 * removal effects (what `attrib markov --print-transitions` shows).
 *
 * The model "markov" (markov.c) is the absorbing Markov chain of Anderl et
 * al. over channel states: a path A, A, B becomes (start) → A → B →
 * (conversion) or (null). With order k and `window` states (the default,
 * ChannelAttribution's) a state is a window of k consecutive raw touches
 * (the whole path when it is shorter), a window equal to the one before it is
 * not a new step; with `collapsed` states repeats collapse first and a state
 * is the last k channels, shorter at the start of a path. The removal effect
 * of channel c is 1 − P(conversion without c) / P(conversion), where "without
 * c" sends every transition into a state containing c to (null). The standard
 * totals are RE_c / Σ RE × conversions (and, with the removal effects on
 * revenue, × revenue); docs/models.md says how per-session credit relates.
 * Everything is sorted (channels by name, states by their channel tuples), so
 * the same paths give the same bits whatever order they arrive in.
 */
#ifndef ATTRIB_MARKOV_H
#define ATTRIB_MARKOV_H

#include "attrib/model.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint32_t from, to;  /* indices into attrib_markov_info.states */
    uint64_t count;     /* steps observed from `from` to `to` */
    double probability; /* count / all steps out of `from` */
} attrib_markov_transition;

typedef struct {
    int order;  /* states are the last `order` channels */
    bool value; /* removal effects on revenue (--markov-value) */
    attrib_markov_states states_mode;
    attrib_markov_credit credit;
    size_t n_states;           /* states[0] = "(start)"; the last two are absorbing */
    const char *const *states; /* "(start)", "A", "A > B", ..., "(conversion)", "(null)" */
    size_t n_transitions;
    const attrib_markov_transition *transitions; /* sorted by (from, to) */
    size_t n_channels;
    const char *const *channels; /* sorted by name (strcmp) */
    const double *removal;       /* removal effect per channel, in [0, 1] (value: on revenue) */
    const double *share;         /* removal / Σ removal (all 0 when Σ = 0) */
    double p_conversion;         /* P(conversion) from (start); with value: revenue per path */
    uint64_t paths;              /* paths observed */
    uint64_t conversions;        /* converting paths observed */
    double revenue;              /* their revenue */
    /* Both kinds of removal effect, whatever `value` says, and the standard totals
     * (ChannelAttribution's total_conversions and total_conversion_value):
     * standard_conversions[c] = share_conversions[c] × conversions,
     * standard_revenue[c] = share_revenue[c] × revenue. */
    const double *removal_conversions, *share_conversions, *standard_conversions;
    const double *removal_revenue, *share_revenue, *standard_revenue;
    /* Per-session credit over the journeys of the fitted conversions (observe_journey):
     * a session of channel c weighs weight[c], a journey's credit is shared in proportion
     * (equally when all weigh 0). journey: weight = share; global: weights fitted so that
     * attributed_conversions (with value: attributed_revenue) equal the targets
     * share × journeys (× journey_revenue) whenever any split of each journey can. */
    uint64_t journeys;
    double journey_revenue;
    const double *weight;
    const double *attributed_conversions; /* Σ credit of the channel's sessions */
    const double *attributed_revenue;     /* Σ credit × revenue */
    double calibration_gap; /* global: max over channels |attributed − target| / Σ target */
    unsigned calibration_iterations;
    const char *method; /* "lu" (order 1: one inverse) or "gauss-seidel" (order k) */
    double residual;    /* largest max-norm residual |(I−Q)x − r| of the solves */
} attrib_markov_info;

/*
 * The fitted chain of a "markov" model instance after finish(). Borrowed:
 * valid until attrib_model_free(m). NULL when m is not a markov model or has
 * not been finished.
 */
const attrib_markov_info *attrib_markov_info_of(const attrib_model *m);

#ifdef __cplusplus
}
#endif
#endif
