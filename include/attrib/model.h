/*
 * attrib — attribution models behind one interface.
 *
 * A model turns a journey into per-session credit. Every model is a named
 * const table of operations (attrib_model_ops) listed in one registry, so the
 * command line looks `--model NAME` up in a table; the local IHC engine is one
 * of them ("ihc", the default).
 *
 * Life cycle, driven by the pipeline (src/lib/steps/attribute.c):
 *   create → [observe × every path, observe_journey × every fitted journey → finish]
 *                                              (only with ATTRIB_MODEL_NEEDS_PATHS)
 *          → bind(channels) → attribute × every journey → free.
 * attribute() must be safe to call from several threads at once after bind():
 * it may only read the state.
 */
#ifndef ATTRIB_MODEL_H
#define ATTRIB_MODEL_H

#include "attrib/error.h"
#include "attrib/journey.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* redistribution_parameter of the IHC API (docs/ihc-api.md §3), per phase. */
typedef enum {
    ATTRIB_REDIST_NONE = 0,
    ATTRIB_REDIST_EARLIER = 1, /* "earlier_sessions_only" */
    ATTRIB_REDIST_LATER = 2,   /* "later_sessions_only" */
    ATTRIB_REDIST_ANY = 3,     /* "any_session" */
} attrib_redist_direction;

typedef struct {
    attrib_redist_direction direction; /* NONE = phase not redistributed */
    double receive_threshold;          /* in [0,1] */
    const char *const *labels;         /* channel labels that give their credit away */
    size_t n_labels;
} attrib_redist_phase;

typedef struct {
    attrib_redist_phase initializer, holder, closer;
} attrib_redistribution;

/* markov: what a state is (docs/models.md "States"). */
typedef enum {
    ATTRIB_MARKOV_STATES_WINDOW = 0,    /* the last k raw touches (ChannelAttribution) */
    ATTRIB_MARKOV_STATES_COLLAPSED = 1, /* repeats collapsed first, shorter states at the start */
} attrib_markov_states;

/* markov: how a conversion's credit is shared by its sessions. */
typedef enum {
    ATTRIB_MARKOV_CREDIT_GLOBAL = 0,  /* channel weights fitted so that the channel totals over
                                         the fitted journeys are the standard totals */
    ATTRIB_MARKOV_CREDIT_JOURNEY = 1, /* in proportion to the channels' removal-effect shares */
} attrib_markov_credit;

/* Options of every model; each model reads the fields it knows. */
typedef struct {
    const char *model_file;                      /* IHC parameters (JSON); NULL = builtin */
    const char *builtin;                         /* IHC builtin parameters: "default" or "base" */
    bool api_rounding;                           /* IHC: round to 4 decimals like the API */
    const attrib_redistribution *redistribution; /* IHC; NULL = none */
    const char *const *direct_channels;          /* last-non-direct; NULL = {"Direct Traffic"} */
    size_t n_direct_channels;
    double position_first;              /* position: share of the first session (0.4) */
    double position_last;               /* position: share of the last session (0.4) */
    double half_life_days;              /* time-decay (7) */
    int markov_order;                   /* markov (1) */
    bool markov_value;                  /* markov: weight paths by revenue */
    attrib_markov_states markov_states; /* markov (window) */
    attrib_markov_credit markov_credit; /* markov (global) */
} attrib_model_options;

#define ATTRIB_MODEL_OPTIONS_INIT                                                                  \
    {                                                                                              \
        .model_file = NULL, .builtin = NULL, .api_rounding = false, .redistribution = NULL,        \
        .direct_channels = NULL, .n_direct_channels = 0, .position_first = 0.4,                    \
        .position_last = 0.4, .half_life_days = 7.0, .markov_order = 1, .markov_value = false,     \
        .markov_states = ATTRIB_MARKOV_STATES_WINDOW, .markov_credit = ATTRIB_MARKOV_CREDIT_GLOBAL \
    }

/* The model needs statistics over all paths (converting and not) first. */
#define ATTRIB_MODEL_NEEDS_PATHS 0x1u

/* A path for the statistics pass: a user's sessions, converted or not. */
typedef struct {
    const attrib_session *sessions; /* ordered by (ts, id) */
    size_t n;
    bool converted; /* ends in a conversion */
    double value;   /* revenue when converted, else 0 */
} attrib_path;

typedef struct attrib_model_ops {
    const char *name;    /* --model NAME */
    const char *summary; /* one line for --help */
    unsigned flags;      /* ATTRIB_MODEL_* */
    /* Allocate the state from the options. */
    int (*create)(attrib_ctx *ctx, const attrib_model_options *opts, void **out);
    /* Statistics pass (NEEDS_PATHS only); channels are those of the paths. */
    int (*observe)(void *state, const attrib_path *path, const attrib_channels *channels);
    /* Optional (NEEDS_PATHS): the journey of every conversion the fit covers, exactly as
     * attribute() will see it (converted, value = revenue), before finish. For models that
     * calibrate their per-session rule on the journeys (markov --markov-credit global). */
    int (*observe_journey)(void *state, const attrib_path *journey,
                           const attrib_channels *channels);
    int (*finish)(void *state, attrib_ctx *ctx);
    /* Resolve channel names to whatever the model keeps per channel. Called
     * again whenever the channel table grew. */
    int (*bind)(void *state, attrib_ctx *ctx, const attrib_channels *channels);
    /* Credit for the j->n sessions into out[0..n). Read-only on state. */
    int (*attribute)(const void *state, const attrib_journey *j, attrib_credit *out);
    void (*free)(void *state);
} attrib_model_ops;

/* Look a model up by name; NULL when unknown. */
const attrib_model_ops *attrib_model_find(const char *name);

/* All models, NULL-terminated, in the order --help lists them. */
const attrib_model_ops *const *attrib_model_list(void);

/* A model instance: its ops and state. */
typedef struct attrib_model attrib_model;

/* Create an instance of `ops`; *out owned by the caller (attrib_model_free). */
int attrib_model_new(attrib_ctx *ctx, const attrib_model_ops *ops, const attrib_model_options *opts,
                     attrib_model **out);
int attrib_model_observe(attrib_model *m, const attrib_path *path, const attrib_channels *channels);
int attrib_model_observe_journey(attrib_model *m, const attrib_path *journey,
                                 const attrib_channels *channels);
int attrib_model_finish(attrib_model *m, attrib_ctx *ctx);
int attrib_model_bind(attrib_model *m, attrib_ctx *ctx, const attrib_channels *channels);
/* Thread-safe after bind. Returns ATTRIB_OK or a negative code. */
int attrib_model_attribute(const attrib_model *m, const attrib_journey *j, attrib_credit *out);
const attrib_model_ops *attrib_model_ops_of(const attrib_model *m);
void attrib_model_free(attrib_model *m);

#ifdef __cplusplus
}
#endif
#endif
