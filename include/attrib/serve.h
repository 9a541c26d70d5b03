/*
 * attrib — `attrib serve`: the IHC API answered by a local model.
 *
 * POST /v1/compute_ihc?conv_type_id=ID with the API's request body gets the
 * API's response body (docs/ihc-api.md §4: rows rounded to 4 decimals, each
 * journey's values still summing to what they summed to before rounding).
 * Requests are validated like the API: caps on journeys and sessions
 * (400), field types (a bad journey is reported in partialFailureErrors with
 * statusCode 206, the others computed), a missing or wrong x-api-key (403),
 * bodies above a size bound (413), an empty request (400). Requests are
 * served concurrently by a thread pool (libmicrohttpd, one epoll set per
 * thread); idle and slow clients are bounded by a connection limit, a
 * per-address limit and an idle timeout (docs/reliability.md).
 */
#ifndef ATTRIB_SERVE_H
#define ATTRIB_SERVE_H

#include "attrib/error.h"
#include "attrib/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *bind_addr;                  /* IPv4 or IPv6 address to listen on ("127.0.0.1") */
    uint16_t port;                          /* 0 = an ephemeral port (see attrib_serve_port) */
    const char *model;                      /* model name ("ihc"); see attrib_model_find */
    const attrib_model_options *model_opts; /* NULL = defaults; copied, but what its
                                               pointers point to must outlive the server. A
                                               request's redistribution_parameter replaces
                                               model_opts->redistribution for that request. */
    const char *api_key;                    /* required unless no_auth; compared in constant time */
    bool no_auth;             /* accept requests without a key: loopback addresses only */
    size_t max_journeys;      /* per request (100) */
    size_t max_sessions;      /* per request (3000) */
    size_t max_body_bytes;    /* larger bodies get 413 (16 MiB); an announced
                                 Content-Length above it gets 413 before any body is read */
    unsigned threads;         /* worker threads (4) */
    unsigned max_connections; /* open connections at once (4096); capped to what the process's
                                 open-file limit (RLIMIT_NOFILE) leaves, see
                                 attrib_serve_max_connections. Beyond it new connections
                                 wait in the listen backlog. */
    unsigned max_connections_per_ip; /* per client address; 0 = automatic: no per-address
                                        limit on a loopback address (every client there is
                                        127.0.0.1), 256 otherwise */
    unsigned idle_timeout;           /* seconds a connection may stay silent, headers or
                                        body unfinished or idle between requests, before it
                                        is closed (10) */
} attrib_serve_options;

#define ATTRIB_SERVE_OPTIONS_INIT                                                                  \
    {                                                                                              \
        .bind_addr = "127.0.0.1", .port = 0, .model = NULL, .model_opts = NULL, .api_key = NULL,   \
        .no_auth = false, .max_journeys = 100, .max_sessions = 3000,                               \
        .max_body_bytes = (size_t)16 << 20, .threads = 4, .max_connections = 4096,                 \
        .max_connections_per_ip = 0, .idle_timeout = 10                                            \
    }

/* Figures since start (read at any time). */
typedef struct {
    uint64_t requests; /* HTTP requests answered */
    uint64_t journeys; /* journeys computed */
    uint64_t sessions; /* sessions computed */
    uint64_t rejected; /* 4xx answers */
} attrib_serve_stats;

typedef struct attrib_server attrib_server;

/*
 * Create the model and start listening; returns once the socket is bound.
 * ATTRIB_EINVAL for a bad address, unknown model, missing key, or no_auth on
 * a non-loopback address (127.x.x.x, ::1); ATTRIB_EIO when the port cannot be bound.
 * *out owned by the caller; attrib_serve_free stops the server after the
 * requests in progress are answered.
 */
int attrib_serve_new(attrib_ctx *ctx, const attrib_serve_options *opts, attrib_server **out);

/* The port actually bound (useful with port 0). */
uint16_t attrib_serve_port(const attrib_server *s);

/* The connection limits in force: max_connections after the cap by the
 * open-file limit, and the per-address limit (0 = none). */
void attrib_serve_limits(const attrib_server *s, unsigned *max_connections,
                         unsigned *max_connections_per_ip);

void attrib_serve_get_stats(const attrib_server *s, attrib_serve_stats *out);

/* Stop accepting, finish requests in progress, free everything. NULL is a no-op. */
void attrib_serve_free(attrib_server *s);

#ifdef __cplusplus
}
#endif
#endif
