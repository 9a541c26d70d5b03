/*
 * attrib — error codes and the library context.
 *
 * Every fallible library function returns an int: 0 on success, one of the
 * negative ATTRIB_E* codes on failure. The outcome of the last call lives in
 * the context (attrib_errcode, attrib_errmsg), never in a global, so the
 * library is re-entrant: one context per thread of work.
 *
 * The contract, for every function here that works on a context (directly,
 * or through a handle opened on it such as attrib_store or
 * attrib_api_client): the call starts from a clean state, so what
 * attrib_errcode and attrib_errmsg report afterwards is about that call
 * only, never an older one. After a failure attrib_errcode equals the code
 * the call returned and attrib_errmsg holds the deepest explanation (the
 * first one recorded: outer layers add context, they never replace it).
 * After a success attrib_errcode is ATTRIB_OK and attrib_errmsg is "".
 *
 * The library never prints or exits. Diagnostics reach the caller through the
 * message, an optional log callback and an optional progress callback.
 */
#ifndef ATTRIB_ERROR_H
#define ATTRIB_ERROR_H

#include <stdarg.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Append-only: the CLI maps these to exit codes. */
typedef enum {
    ATTRIB_OK = 0,
    ATTRIB_ERROR = -1,     /* anything not listed below */
    ATTRIB_ENOMEM = -2,    /* out of memory or a size overflow */
    ATTRIB_EINVAL = -3,    /* invalid argument or option value (usage) */
    ATTRIB_ENOTFOUND = -4, /* a file, table or object does not exist */
    ATTRIB_EDATA = -5,     /* input data rejected (bad row) */
    ATTRIB_EDB = -6,       /* database failure */
    ATTRIB_EIO = -7,       /* file or socket I/O failure */
    ATTRIB_EHTTP = -8,     /* HTTP failure or unexpected HTTP status */
    ATTRIB_EPARSE = -9,    /* malformed JSON, config or model file */
    ATTRIB_EPARTIAL = -10, /* some items failed, all others were stored */
    ATTRIB_EAUTH = -11,    /* rejected credentials (401/403, bad password) */
    ATTRIB_ECANCEL = -12,  /* interrupted by the caller (signal) */
    /* Appending a code: give it a description in attrib_strerror (a
     * _Static_assert there checks the table) and move this mark to it. */
    ATTRIB__CODE_LAST = ATTRIB_ECANCEL
} attrib_code;

/* Static description of a code; never NULL. */
const char *attrib_strerror(int code);

/* Log levels for the optional log callback. */
typedef enum {
    ATTRIB_LOG_ERROR = 0,
    ATTRIB_LOG_WARN = 1,
    ATTRIB_LOG_INFO = 2,
    ATTRIB_LOG_DEBUG = 3,
} attrib_log_level;

typedef void (*attrib_log_fn)(attrib_log_level level, const char *msg, void *payload);

/*
 * Progress of long work: `what` names the phase ("reading sessions"),
 * `done`/`total` count items (total 0 = unknown). Called at most a few times
 * a second by the library.
 */
typedef void (*attrib_progress_fn)(const char *what, uint64_t done, uint64_t total, void *payload);

typedef struct attrib_ctx attrib_ctx;

/* Create a context. *out is owned by the caller; free it with attrib_ctx_free. */
int attrib_ctx_new(attrib_ctx **out);

/* Free a context; NULL is a harmless no-op. */
void attrib_ctx_free(attrib_ctx *ctx);

/*
 * Message of the failure of the last call on ctx, one line without a
 * trailing newline; "" when that call succeeded (or none was made).
 * Borrowed: valid until the next library call on ctx.
 */
const char *attrib_errmsg(const attrib_ctx *ctx);

/* Code the last call on ctx returned: ATTRIB_OK when it succeeded. */
int attrib_errcode(const attrib_ctx *ctx);

/* Forget the last failure (every call on ctx does this first). */
void attrib_clearerr(attrib_ctx *ctx);

/* Route log lines at or below `max_level` to fn (NULL to silence). */
void attrib_ctx_set_log(attrib_ctx *ctx, attrib_log_level max_level, attrib_log_fn fn,
                        void *payload);

/* Receive progress reports (NULL to stop). */
void attrib_ctx_set_progress(attrib_ctx *ctx, attrib_progress_fn fn, void *payload);

/*
 * Ask long-running work on ctx to stop at the next safe point (async-signal
 * safe: it only stores a flag). The work then fails with ATTRIB_ECANCEL and
 * rolls back.
 */
void attrib_ctx_cancel(attrib_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif
