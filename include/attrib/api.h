/*
 * attrib — client of the IHC Attribution API (docs/ihc-api.md §1–§7, SPEC §4.1).
 *
 * The client turns journeys into as few requests as the caps allow (whole
 * journeys only, each journey sent once), sends them concurrently on one
 * libcurl multi handle, retries what a web service may fail transiently,
 * checks every response, and reports through callbacks. It knows nothing of
 * the database: the pipeline maps the callbacks to its manifest table and
 * attribution rows, and decides (for resume) which journeys to pass in.
 *
 * All callbacks run on the thread that called attrib_api_client_run, one at
 * a time. The API key is sent in the x-api-key header only and never appears
 * in messages, logs or audit files.
 */
#ifndef ATTRIB_API_H
#define ATTRIB_API_H

#include "attrib/error.h"
#include "attrib/journey.h"
#include "attrib/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ATTRIB_API_DEFAULT_URL "https://api.ihc-attribution.com/v1/compute_ihc"

/* What to do with a journey longer than the session cap. */
typedef enum {
    ATTRIB_API_OVERSIZE_KEEP_LATEST = 0, /* send the latest max_sessions sessions (reported) */
    ATTRIB_API_OVERSIZE_SKIP = 1,        /* do not send it (reported through on_skip) */
    ATTRIB_API_OVERSIZE_FAIL = 2,        /* refuse the run before sending anything */
} attrib_api_oversize;

typedef struct {
    const char *api_url;      /* endpoint; NULL = ATTRIB_API_DEFAULT_URL */
    const char *conv_type_id; /* required; URL-encoded into ?conv_type_id= */
    const char *api_key;      /* required; sent as x-api-key, never logged */
    size_t max_journeys;      /* per request (100) */
    size_t max_sessions;      /* per request (3000; 200 on free accounts) */
    attrib_api_oversize oversize;
    int concurrency;         /* requests in flight (4) */
    double max_rps;          /* request starts per second; 0 = no limit */
    long connect_timeout_ms; /* (10000) */
    long timeout_ms;         /* whole request (120000) */
    int max_attempts;        /* per batch, first try included (6) */
    double backoff_base_s;   /* first retry delay scale (1.0) */
    double backoff_max_s;    /* cap of one delay before jitter (60) */
    double deadline_s;       /* whole run; 0 = none (0) */
    const char *audit_dir;   /* keep every request/response body here; NULL = off */
    const attrib_redistribution *redistribution; /* sent with every request; NULL = none */
    uint64_t seed;                               /* jitter PRNG seed; 0 = from the clock */
    const char *ca_file;                         /* CA bundle for TLS; NULL = system default */
    const char *ca_path;                         /* CA directory; NULL = system default */
    size_t max_response_bytes;                   /* a larger body is an error (64 MiB) */
    double max_retry_after_s; /* a longer Retry-After (a spent monthly quota, say) fails the
                                 batch instead of waiting (300); 0 = no limit */
} attrib_api_options;

#define ATTRIB_API_OPTIONS_INIT                                                                    \
    {                                                                                              \
        .api_url = NULL, .conv_type_id = NULL, .api_key = NULL, .max_journeys = 100,               \
        .max_sessions = 3000, .oversize = ATTRIB_API_OVERSIZE_KEEP_LATEST, .concurrency = 4,       \
        .max_rps = 0.0, .connect_timeout_ms = 10000, .timeout_ms = 120000, .max_attempts = 6,      \
        .backoff_base_s = 1.0, .backoff_max_s = 60.0, .deadline_s = 0.0, .audit_dir = NULL,        \
        .redistribution = NULL, .seed = 0, .ca_file = NULL, .ca_path = NULL,                       \
        .max_response_bytes = (size_t)64 << 20, .max_retry_after_s = 300.0                         \
    }

/* One attempt at one batch. */
typedef struct {
    size_t index;                /* batch number in this run, from 0 */
    const char *const *conv_ids; /* the batch's conversions, in request order */
    size_t n_conv;
    size_t n_sessions;        /* sessions in the body */
    const char *request_hash; /* 16 hex digits, a hash of the body */
    int attempt;              /* 1 for the first try */
} attrib_api_batch;

/* Final status of a batch (on_batch_end). */
typedef enum {
    ATTRIB_API_BATCH_OK = 0,      /* every conversion got a checked result */
    ATTRIB_API_BATCH_PARTIAL = 1, /* some conversions failed, the others were reported */
    ATTRIB_API_BATCH_FAILED = 2,  /* no conversion of the batch got a result */
    ATTRIB_API_BATCH_RETRY = 3,   /* this attempt failed, the batch will be retried */
    ATTRIB_API_BATCH_NOT_SENT = 4 /* never sent (deadline, auth failure, cancel) */
} attrib_api_batch_status;

/*
 * Callbacks; each may be NULL. A non-zero return stops the run (it then
 * fails with that code if negative, else ATTRIB_ERROR).
 *  on_batch_start  before every attempt, prior to sending.
 *  on_result       a conversion's checked credits: j is the journey as sent
 *                  (for a trimmed journey, j->sessions points at the kept
 *                  tail of the caller's array and j->n is the kept count);
 *                  credits[k] belongs to j->sessions[k] and carries ihc,
 *                  initializer, holder and closer as the API returned them.
 *  on_failure      a conversion that will not get a result in this run,
 *                  with the reason (HTTP status, body message, check that
 *                  failed); the run then ends with ATTRIB_EPARTIAL.
 *  on_skip         a journey not sent by policy (oversize skip).
 *  on_oversize     a journey trimmed to its latest `kept` of `total` sessions.
 *  on_batch_end    after every attempt: status and a one-line error (NULL
 *                  when OK).
 */
typedef struct {
    int (*on_batch_start)(const attrib_api_batch *b, void *payload);
    int (*on_result)(const attrib_journey *j, const attrib_credit *credits, void *payload);
    int (*on_failure)(const char *conv_id, const char *reason, void *payload);
    int (*on_skip)(const char *conv_id, const char *reason, void *payload);
    int (*on_oversize)(const char *conv_id, size_t total, size_t kept, void *payload);
    int (*on_batch_end)(const attrib_api_batch *b, attrib_api_batch_status status,
                        const char *error, void *payload);
} attrib_api_callbacks;

/* Figures of the last run. */
typedef struct {
    size_t journeys;     /* passed in with at least one session */
    size_t sessions;     /* sessions sent (after trimming) */
    size_t batches;      /* requests planned */
    size_t lower_bound;  /* max(ceil(J/maxJ), ceil(S/maxS)) */
    size_t requests;     /* HTTP requests made, retries included */
    size_t retries;      /* of which retries */
    size_t succeeded;    /* conversions reported through on_result */
    size_t failed;       /* conversions reported through on_failure */
    size_t skipped;      /* on_skip */
    size_t trimmed;      /* on_oversize */
    double mean_fill;    /* mean sessions per batch / max_sessions */
    double encode_cpu_s; /* CPU time spent writing request bodies */
    double decode_cpu_s; /* CPU time spent parsing and checking responses */
} attrib_api_stats;

typedef struct attrib_api_client attrib_api_client;

/*
 * Create a client. Options are copied (strings included). Fails with
 * ATTRIB_EINVAL for a missing conv_type_id or key, a cap or concurrency
 * below 1, a URL that is not http(s). *out owned by the caller.
 */
int attrib_api_client_new(attrib_ctx *ctx, const attrib_api_options *opts, attrib_api_client **out);
void attrib_api_client_free(attrib_api_client *c);

/*
 * Attribute journeys[0..n) (journeys with n == 0 are ignored) through the
 * API. Channel names by index in `channels`. Blocks until every journey has
 * a result or a failure, the deadline passes or ctx is cancelled.
 * Returns ATTRIB_OK when every journey got a result (or was skipped by
 * policy), ATTRIB_EPARTIAL when some failed (all others were reported),
 * ATTRIB_EAUTH when the key was rejected (remaining batches not sent and
 * reported as failures), ATTRIB_EDATA for an oversize journey under the
 * fail policy (nothing sent), ATTRIB_ECANCEL, or the code a callback
 * returned. The message in ctx never contains the key.
 */
int attrib_api_client_run(attrib_api_client *c, const attrib_journey *journeys, size_t n,
                          const attrib_channels *channels, const attrib_api_callbacks *cb,
                          void *payload);

/* Figures of the last run; borrowed, valid until the next run or free. */
const attrib_api_stats *attrib_api_client_stats(const attrib_api_client *c);

#ifdef __cplusplus
}
#endif
#endif
