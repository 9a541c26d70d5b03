/*
 * attrib — the IHC API's JSON wire format (docs/ihc-api.md §2–§5).
 *
 * One codec for everyone who speaks it: the API client (writes requests,
 * reads responses), `attrib serve` (reads requests, writes responses) and
 * `attrib eval`/`calibrate` (read recorded requests and responses).
 * Parsers are strict and report the offending item and byte offset.
 */
#ifndef ATTRIB_IHC_JSON_H
#define ATTRIB_IHC_JSON_H

#include "attrib/error.h"
#include "attrib/journey.h"
#include "attrib/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One entry of partialFailureErrors, as far as it could be read. */
typedef struct {
    const char *conversion_id; /* NULL when the entry does not name one */
    const char *message;       /* the entry as compact JSON when it has no message */
} attrib_ihc_failure;

/*
 * Journeys decoded from one request body ({"customer_journeys": [...]}, or a
 * bare list as the old API took). Sessions are grouped by conversion_id in
 * order of first appearance and sorted by timestamp within a journey,
 * same-second sessions in the request's order (as the API keeps them); `conversion` flags as sent
 * are kept in sent_conversion (the engine ignores them: the last session is the conversion).
 * Timestamps with an offset ("... +0400") are converted to UTC. Fields other than the eight of the
 * API are ignored. Owns all its memory.
 */
typedef struct {
    attrib_journey *journeys; /* n_journeys, conv_id set, user_id NULL, revenue 0,
                                 ts = timestamp of the last session */
    size_t n_journeys;
    attrib_channels channels;              /* channel_label by index */
    size_t n_sessions;                     /* sessions of the journeys (failed ones excluded) */
    const uint8_t *const *sent_conversion; /* [journey][session]: `conversion` as sent,
                                              in the sorted session order */
    bool has_redistribution;               /* the body carried redistribution_parameter */
    attrib_redistribution redistribution;  /* valid when has_redistribution */
    attrib_ihc_failure *failures;          /* ATTRIB_IHC_PARSE_PARTIAL: journeys rejected */
    size_t n_failures;
    size_t n_items;  /* session objects in the body, failed journeys included */
    void *internal_; /* arena and maps; do not touch */
} attrib_ihc_request;

/*
 * Parse flags. PARTIAL: an error confined to one journey (a bad field in a
 * session object that names its conversion_id, a duplicate session_id in a
 * journey) rejects that journey only: it is listed in failures[] (message
 * names the item and field) and left out of journeys[]. Errors of the body
 * as a whole (not JSON, wrong top-level shape, an item without a string
 * conversion_id, a bad redistribution_parameter) still fail the parse.
 */
#define ATTRIB_IHC_PARSE_PARTIAL 0x1u

/*
 * Parse a request body. On failure returns ATTRIB_EPARSE (malformed JSON,
 * wrong type, missing field, bad timestamp; the message names the item index
 * and field, and the byte offset for syntax errors) or ATTRIB_ENOMEM, and
 * *out is NULL. *out is owned by the caller (attrib_ihc_request_free).
 */
int attrib_ihc_request_parse(attrib_ctx *ctx, const char *body, size_t len,
                             attrib_ihc_request **out);
/* Same with ATTRIB_IHC_PARSE_* flags. */
int attrib_ihc_request_parse_ex(attrib_ctx *ctx, const char *body, size_t len, unsigned flags,
                                attrib_ihc_request **out);
void attrib_ihc_request_free(attrib_ihc_request *req);

/*
 * A redistribution_parameter object on its own (docs/ihc-api.md §3), as a
 * config file carries it. Phases that are absent get ATTRIB_REDIST_NONE.
 */
typedef struct {
    attrib_redistribution redistribution;
    void *internal_;
} attrib_ihc_redist;

/* Parse `{"initializer": {...}, "holder": {...}, "closer": {...}}`.
 * ATTRIB_EPARSE with the phase and field named. *out owned by the caller. */
int attrib_ihc_redist_parse(attrib_ctx *ctx, const char *body, size_t len, attrib_ihc_redist **out);
void attrib_ihc_redist_free(attrib_ihc_redist *r);

/* One row of a response: the credit of one session in one journey. */
typedef struct {
    const char *conversion_id;
    const char *session_id;
    attrib_credit credit;
} attrib_ihc_row;

typedef struct {
    int status_code;     /* body statusCode */
    const char *message; /* top-level "message" or "error" string, NULL if none */
    attrib_ihc_row *rows;
    size_t n_rows;
    attrib_ihc_failure *failures;
    size_t n_failures;
    void *internal_;
} attrib_ihc_response;

/* Parse a response body; ATTRIB_EPARSE with a located message on failure. */
int attrib_ihc_response_parse(attrib_ctx *ctx, const char *body, size_t len,
                              attrib_ihc_response **out);
void attrib_ihc_response_free(attrib_ihc_response *resp);

/*
 * Writers. Each stores a malloc'd NUL-terminated body in *out (owned by the
 * caller, free()) and its length in *out_len, and returns ATTRIB_OK,
 * ATTRIB_EDATA (a string that is not valid UTF-8, a non-finite credit) or
 * ATTRIB_ENOMEM; on failure *out is NULL.
 */

/*
 * Request body for journeys[0..n) exactly as the API takes it:
 *   {"customer_journeys":[{"conversion_id":"..","session_id":"..",
 *     "timestamp":"%Y-%m-%d %H:%M:%S","channel_label":"..",
 *     "holder_engagement":0,"closer_engagement":0,"conversion":0,
 *     "impression_interaction":0},...]
 *    [,"redistribution_parameter":{...}]}
 * (key order of the real requests; ids as strings, flags as ints, UTC
 * timestamps, conversion = 1 on the last session of each journey only).
 * Sessions are written in the journey's order, which must be (ts, id).
 * redistribution may be NULL; phases with direction NONE are left out, and
 * the object is omitted when all three are NONE.
 */
int attrib_ihc_request_write(attrib_ctx *ctx, const attrib_journey *const *journeys, size_t n,
                             const attrib_channels *channels,
                             const attrib_redistribution *redistribution, char **out,
                             size_t *out_len);

/* Bytes attrib_ihc_request_write adds for one journey (for packing by body
 * size); an upper bound, exact for ASCII strings without escapes. */
size_t attrib_ihc_request_journey_size(const attrib_journey *j, const attrib_channels *channels);

/*
 * Response body in the API's format (docs/ihc-api.md §4):
 *   {"statusCode":200,"value":[{"conversion_id":"..","session_id":"..",
 *     "initializer":1.0,"holder":0.149,"closer":0.499,"ihc":0.5388},...],
 *    "partialFailureErrors":[{"conversion_id":"..","statusCode":406,
 *     "message":".."},...]}
 * Credits are rounded to 4 decimals (correctly rounded decimal, like
 * Python's round(x, 4)) and printed as Python prints floats (1.0, 0.0,
 * 0.149). Failure entries with a NULL conversion_id omit that key.
 */
int attrib_ihc_response_write(attrib_ctx *ctx, int status_code, const attrib_ihc_row *rows,
                              size_t n_rows, const attrib_ihc_failure *failures, size_t n_failures,
                              char **out, size_t *out_len);

/* An error body {"statusCode":code,"message":".."} (400 and the like). */
int attrib_ihc_error_write(attrib_ctx *ctx, int status_code, const char *message, char **out,
                           size_t *out_len);

/* x rounded to 4 decimals and formatted like Python's repr(round(x, 4)),
 * NUL-terminated into out; returns the length. x must be finite. */
size_t attrib_ihc_fmt4(double x, char out[32]);

#ifdef __cplusplus
}
#endif
#endif
