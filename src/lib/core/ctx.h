/*
 * Internal side of the context: setting errors, logging, progress and the
 * cancel flag. Used by every library module; never by the CLI.
 */
#ifndef ATTRIB_LIB_CTX_H
#define ATTRIB_LIB_CTX_H

#include "attrib/error.h"

#include <stdatomic.h>
#include <stdbool.h>

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "attrib_ctx_cancel needs a lock-free atomic_int");

struct attrib_ctx {
    int code;                   /* last failure, ATTRIB_OK if none */
    char msg[1024];             /* its message */
    attrib_log_fn log_fn;       /* optional log sink */
    void *log_payload;          /* passed to log_fn */
    attrib_log_level log_level; /* highest level passed on */
    attrib_progress_fn progress_fn;
    void *progress_payload;
    /* set by attrib_ctx_cancel, from a signal handler on any thread, and read
     * by the scan's slice threads: a lock-free atomic is safe for both, where
     * a volatile sig_atomic_t is a data race between threads */
    atomic_int cancel;
};

/*
 * The error contract of every public entry point that works on a context
 * (directly or through a handle that holds one): it opens with
 * attrib__enter(ctx), so the failure reported afterwards is this call's and
 * never an older one, and leaves through `return attrib__leave(ctx, rc)`, so
 * attrib_errcode equals the returned code: ATTRIB_OK (and an empty message)
 * on success; on failure the returned code with the deepest message recorded
 * during the call, or attrib_strerror(rc) when nothing was recorded.
 */
void attrib__enter(attrib_ctx *ctx);
int attrib__leave(attrib_ctx *ctx, int rc);

/*
 * Record a failure and return `code`, so a call site reads
 * `return attrib__error(ctx, ATTRIB_EDATA, "...")`. A failure already
 * recorded in this call is kept (the deeper error wins); clear it first to
 * replace it.
 */
int attrib__error(attrib_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like attrib__error but overwrites any recorded failure. */
int attrib__error_replace(attrib_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the recorded message with "<prefix>: " (adds context on the way up). */
void attrib__error_prefix(attrib_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void attrib__log(attrib_ctx *ctx, attrib_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Level check first, so arguments are not formatted for nothing. */
#define ATTRIB_LOG(ctx, level, ...)                                                                \
    do {                                                                                           \
        if ((ctx) != NULL && (ctx)->log_fn != NULL && (level) <= (ctx)->log_level)                 \
            attrib__log((ctx), (level), __VA_ARGS__);                                              \
    } while (0)

/* Report progress; cheap when no callback is set. */
void attrib__progress(attrib_ctx *ctx, const char *what, uint64_t done, uint64_t total);

/* True when cancellation was requested; records ATTRIB_ECANCEL then. */
bool attrib__cancelled(attrib_ctx *ctx);

#endif
