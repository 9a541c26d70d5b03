/*
 * attrib — customer journeys: the value types every engine consumes.
 *
 * A journey is the ordered list of sessions of one user that lead to one
 * conversion (SPEC §3). Sessions are stored once per user, sorted by
 * (timestamp, session_id); a journey is a contiguous slice of that array, so
 * journeys of a user who converts twice share their sessions in memory.
 * All strings are borrowed from the journey set that produced them.
 */
#ifndef ATTRIB_JOURNEY_H
#define ATTRIB_JOURNEY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *id;     /* session_id */
    int64_t ts;         /* UTC seconds since 1970-01-01 (event_date + event_time) */
    uint32_t channel;   /* index into attrib_channels.names */
    uint8_t holder;     /* holder_engagement, 0 or 1 */
    uint8_t closer;     /* closer_engagement, 0 or 1 */
    uint8_t impression; /* impression_interaction, 0 or 1 */
    uint8_t pad_;       /* keeps the struct at 24 bytes */
} attrib_session;

typedef struct {
    const char *conv_id;            /* conversions.conv_id */
    const char *user_id;            /* conversions.user_id (NULL for API input) */
    int64_t ts;                     /* conversion timestamp, UTC seconds */
    double revenue;                 /* conversions.revenue, euro */
    const attrib_session *sessions; /* n sessions ordered by (ts, id); the last one is
                                       the conversion session (conversion = 1) */
    size_t n;                       /* 0 for an unattributable conversion */
} attrib_journey;

/* Channel names by index; borrowed from whoever built the journeys. */
typedef struct {
    const char *const *names;
    size_t count;
} attrib_channels;

/* Credit of one session in one journey. For models without phases the
 * phase fields are 0. */
typedef struct {
    double ihc;         /* share of the conversion, in [0,1]; sums to 1 per journey */
    double initializer; /* IHC phase values (each sums to 1 or is all 0) */
    double holder;
    double closer;
} attrib_credit;

#ifdef __cplusplus
}
#endif
#endif
