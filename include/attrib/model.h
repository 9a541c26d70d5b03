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
 *                                              (only with ATTRIB_MODEL_NEEDS_PATHS;
 *            in a job of several workers each observes its share of the paths and
 *            attrib_model_reduce adds up their statistics before finish)
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
#include <stdint.h>

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

/* A model's path statistics as exact integer entries under keys of channel ids
 * (lib/model/stats.h), for reducing them across the workers of a job. */
typedef struct attrib_model_stats attrib_model_stats;

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
    /* Optional (NEEDS_PATHS), all three or none: the statistics of the paths observed
     * so far, for an exact reduction across workers (attrib_model_reduce).
     * stats_channels: the names of the model's channel ids (borrowed, until the next call).
     * stats_export: every statistic into `out`, its channel ids mapped through global[]
     * (the model's id i is global[i]), keys canonical under that mapping.
     * stats_import: replace the statistics (before finish) by `in`, whose channel ids
     * index the names attrib__stats_names(in) gives. */
    int (*stats_channels)(const void *state, const char *const **names, size_t *n);
    int (*stats_export)(const void *state, const uint32_t *global, attrib_model_stats *out);
    int (*stats_import)(void *state, const attrib_model_stats *in);
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

/*
 * The collectives of a job's workers (an MPI job: src/mpi through the CLI), with
 * which the statistics of a model that learns from every path are reduced, so
 * that each worker reads only its own users' paths. Every worker of the job
 * makes the same calls in the same order; a failing call fails the same way on
 * every worker (or ends the job). Each returns ATTRIB_OK or a negative code.
 */
typedef struct {
    /* The largest of every worker's `mine` into *out. */
    int (*max_all)(int mine, int *out, void *payload);
    /* Every worker's mine[0..n) bytes concatenated in worker order into *all
     * (malloc'd, caller frees; n_all bytes). */
    int (*gather_all)(const void *mine, size_t n, void **all, size_t *n_all, void *payload);
    /* v[0..n) summed over every worker (mod 2^64), in place on every worker. */
    int (*sum_all)(uint64_t *v, size_t n, void *payload);
    void *payload;
} attrib_reducer;

/* The model learns from every path and can reduce its statistics (the three
 * stats ops): attrib_attribute with a reducer then reads only its shard's paths. */
bool attrib_model_reducible(const attrib_model_ops *ops);

/*
 * After observe (and observe_journey) of this worker's paths, before finish:
 * replace m's statistics by the exact sum of every worker's, so that finish
 * fits what one process observing every path would. A collective: every
 * worker calls it; a worker that failed before calls r->max_all(1, ...) once
 * instead (the first collective here), and every worker then fails.
 */
int attrib_model_reduce(attrib_ctx *ctx, attrib_model *m, const attrib_reducer *r);

#ifdef __cplusplus
}
#endif
#endif
