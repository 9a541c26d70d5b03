/*
 * attrib — synthetic datasets (SPEC §8): realistic, deterministic by seed,
 * bounded memory at any size. The generator only produces rows; where they
 * go (SQLite, PostgreSQL, a test's arrays) is the sink's business.
 */
#ifndef ATTRIB_GEN_H
#define ATTRIB_GEN_H

#include "attrib/error.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint64_t sessions;      /* approximate number of sessions to generate */
    uint64_t seed;          /* same seed, same rows, on any machine */
    const char *start_date; /* first day, YYYY-MM-DD (NULL = "2023-01-01") */
    uint32_t days;          /* span in days (0 = chosen from the size) */
} attrib_gen_options;

#define ATTRIB_GEN_OPTIONS_INIT                                                                    \
    {                                                                                              \
        100000, 1, NULL, 0                                                                         \
    }

/* Rows as the input tables hold them; strings borrowed for the call only. */
typedef struct {
    const char *session_id, *user_id, *event_date, *event_time, *channel_name;
    int holder_engagement, closer_engagement, impression_interaction;
} attrib_gen_session;

typedef struct {
    const char *conv_id, *user_id, *conv_date, *conv_time;
    double revenue;
} attrib_gen_conversion;

typedef struct {
    const char *session_id;
    double cost;
    bool cost_is_null; /* a cost row whose cost is NULL */
} attrib_gen_cost;

/* Where rows go. Each callback returns 0 or a negative code to stop.
 * Sessions and costs arrive in ascending session_id order and conversions in
 * ascending conv_id order (sorted ids insert fast into B-trees). */
typedef struct {
    int (*session)(const attrib_gen_session *row, void *payload);
    int (*conversion)(const attrib_gen_conversion *row, void *payload);
    int (*cost)(const attrib_gen_cost *row, void *payload);
} attrib_gen_sink;

/* Totals of a generation run. */
typedef struct {
    uint64_t sessions, conversions, costs, users;
} attrib_gen_stats;

/* Generate; stats may be NULL. Progress is reported through ctx. */
int attrib_gen_run(attrib_ctx *ctx, const attrib_gen_options *opts, const attrib_gen_sink *sink,
                   void *payload, attrib_gen_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
