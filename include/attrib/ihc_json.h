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

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Journeys decoded from one request body ({"customer_journeys": [...]}, or a
 * bare list as the old API took). Sessions are grouped by conversion_id in
 * order of first appearance and sorted by (timestamp, session_id) within a
 * journey; `conversion` flags as sent are kept in sent_conversion (the engine
 * ignores them: the last session is the conversion). Owns all its memory.
 */
typedef struct {
    attrib_journey *journeys; /* n_journeys, conv_id set, user_id NULL, revenue 0 */
    size_t n_journeys;
    attrib_channels channels; /* channel_label by index */
    size_t n_sessions;
    bool has_redistribution;              /* the body carried redistribution_parameter */
    attrib_redistribution redistribution; /* valid when has_redistribution */
    void *internal_;                      /* arena and maps; do not touch */
} attrib_ihc_request;

/*
 * Parse a request body. On failure returns ATTRIB_EPARSE (malformed JSON,
 * wrong type, missing field, bad timestamp; the message names the item index
 * and field) and *out is NULL. *out is owned by the caller.
 */
int attrib_ihc_request_parse(attrib_ctx *ctx, const char *body, size_t len,
                             attrib_ihc_request **out);
void attrib_ihc_request_free(attrib_ihc_request *req);

/* One row of a response: the credit of one session in one journey. */
typedef struct {
    const char *conversion_id;
    const char *session_id;
    attrib_credit credit;
} attrib_ihc_row;

/* One entry of partialFailureErrors, as far as it could be read. */
typedef struct {
    const char *conversion_id; /* NULL when the entry does not name one */
    const char *message;       /* the entry as compact JSON when it has no message */
} attrib_ihc_failure;

typedef struct {
    int status_code; /* body statusCode */
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

#ifdef __cplusplus
}
#endif
#endif
