/*
 * The ihc-api engine's result cache in the store: attrib_api_batches (one row
 * per request: conversions, request hash, attempts, status, error),
 * attrib_api_results (credit per conversion and session) and
 * attrib_api_failures (reason per failed conversion), keyed by conv_type_id.
 * Every value is bound, whatever it holds; the same functions serve every
 * backend. Rows and strings passed in are borrowed for the call.
 */
#ifndef ATTRIB_LIB_API_CACHE_H
#define ATTRIB_LIB_API_CACHE_H

#include "lib/store/store.h"

/* One stored API result: the credit of a session of a conversion. */
typedef struct {
    const char *conv_id;
    const char *session_id;
    double ihc, initializer, holder, closer;
} attrib__api_result;

/* One failed conversion and why. */
typedef struct {
    const char *conv_id;
    const char *reason;
} attrib__api_failure;

/* A batch as the manifest records it. */
typedef struct {
    const char *conv_type;    /* conv_type_id */
    const char *request_hash; /* of the request body */
    const char *conversions;  /* the batch's conversion ids, space-separated */
    size_t n_sessions;
    int attempt;
} attrib__api_batch_row;

/* Create the cache tables when missing (a schema script, no values). */
int attrib__api_cache_init(attrib_store *st);

/* Record a batch as being sent (insert, or update attempts and status of an earlier
 * send of the same request). Autocommits unless the caller holds a transaction. */
int attrib__api_cache_sending(attrib_store *st, const attrib__api_batch_row *b);

/*
 * A settled batch, in one transaction of its own: its results (replacing earlier
 * ones of the same keys, with b->request_hash), its manifest row's status, error
 * (NULL: none) and attempts, and its failures (replacing earlier reasons). Must be
 * called outside a transaction; on failure nothing of it is written.
 */
int attrib__api_cache_settled(attrib_store *st, const attrib__api_batch_row *b, const char *status,
                              const char *error, const attrib__api_result *results,
                              size_t n_results, const attrib__api_failure *failures,
                              size_t n_failures);

/* Stored results of conv_type: conv_id, session_id, ihc, initializer, holder, closer
 * (6 columns) to fn, unordered. */
int attrib__api_cache_scan(attrib_store *st, const char *conv_type, attrib_row_fn fn,
                           void *payload);

#endif
