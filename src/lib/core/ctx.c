/*
 * The library context: the last error with its message, the log and
 * progress sinks and the cancel flag. Nothing here prints.
 */
#include "lib/core/ctx.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Indexed by -code: one description per attrib_code. */
static const char *const descriptions[] = {
    [-ATTRIB_OK] = "success",
    [-ATTRIB_ERROR] = "failure",
    [-ATTRIB_ENOMEM] = "out of memory",
    [-ATTRIB_EINVAL] = "invalid argument",
    [-ATTRIB_ENOTFOUND] = "not found",
    [-ATTRIB_EDATA] = "input data rejected",
    [-ATTRIB_EDB] = "database error",
    [-ATTRIB_EIO] = "I/O error",
    [-ATTRIB_EHTTP] = "HTTP error",
    [-ATTRIB_EPARSE] = "parse error",
    [-ATTRIB_EPARTIAL] = "partial failure",
    [-ATTRIB_EAUTH] = "authentication failed",
    [-ATTRIB_ECANCEL] = "cancelled",
};
_Static_assert(sizeof(descriptions) / sizeof(descriptions[0]) == 1 - ATTRIB__CODE_LAST,
               "attrib_strerror: one description per attrib_code");

const char *attrib_strerror(int code)
{
    if (code > ATTRIB_OK || code < ATTRIB__CODE_LAST)
        return "unknown error";
    const char *d = descriptions[-code];
    assert(d != NULL); /* a gap in the table: a code without a description */
    return d;
}

int attrib_ctx_new(attrib_ctx **out)
{
    attrib_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return ATTRIB_ENOMEM;
    ctx->log_level = ATTRIB_LOG_INFO;
    *out = ctx;
    return ATTRIB_OK;
}

void attrib_ctx_free(attrib_ctx *ctx)
{
    free(ctx);
}

const char *attrib_errmsg(const attrib_ctx *ctx)
{
    return ctx != NULL ? ctx->msg : "";
}

int attrib_errcode(const attrib_ctx *ctx)
{
    return ctx != NULL ? ctx->code : ATTRIB_OK;
}

void attrib_clearerr(attrib_ctx *ctx)
{
    if (ctx == NULL)
        return;
    ctx->code = ATTRIB_OK;
    ctx->msg[0] = '\0';
}

void attrib__enter(attrib_ctx *ctx)
{
    attrib_clearerr(ctx);
}

int attrib__leave(attrib_ctx *ctx, int rc)
{
    assert(rc <= ATTRIB_OK && rc >= ATTRIB__CODE_LAST); /* a public call returns an attrib_code */
    if (ctx == NULL)
        return rc;
    if (rc == ATTRIB_OK) {
        attrib_clearerr(ctx); /* an inner failure that was handled is no failure of the call */
        return rc;
    }
    if (ctx->code == ATTRIB_OK)
        return attrib__error(ctx, rc, "%s", attrib_strerror(rc));
    /* The returned code is what the caller acts on; the message stays the
     * deepest explanation recorded on the way up. */
    ctx->code = rc;
    return rc;
}

void attrib_ctx_set_log(attrib_ctx *ctx, attrib_log_level max_level, attrib_log_fn fn,
                        void *payload)
{
    ctx->log_level = max_level;
    ctx->log_fn = fn;
    ctx->log_payload = payload;
}

void attrib_ctx_set_progress(attrib_ctx *ctx, attrib_progress_fn fn, void *payload)
{
    ctx->progress_fn = fn;
    ctx->progress_payload = payload;
}

void attrib_ctx_cancel(attrib_ctx *ctx)
{
    if (ctx != NULL)
        atomic_store_explicit(&ctx->cancel, 1, memory_order_relaxed);
}

static int verror(attrib_ctx *ctx, bool replace, int code, const char *fmt, va_list ap)
{
    if (ctx == NULL)
        return code;
    if (ctx->code != ATTRIB_OK && !replace)
        return code;
    ctx->code = code;
    vsnprintf(ctx->msg, sizeof(ctx->msg), fmt, ap);
    /* One line: fold any newline that slipped in from a driver message. */
    for (char *p = ctx->msg; *p != '\0'; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    size_t n = strlen(ctx->msg);
    while (n > 0 && ctx->msg[n - 1] == ' ')
        ctx->msg[--n] = '\0';
    return code;
}

int attrib__error(attrib_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = verror(ctx, false, code, fmt, ap);
    va_end(ap);
    return rc;
}

int attrib__error_replace(attrib_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = verror(ctx, true, code, fmt, ap);
    va_end(ap);
    return rc;
}

void attrib__error_prefix(attrib_ctx *ctx, const char *fmt, ...)
{
    if (ctx == NULL || ctx->code == ATTRIB_OK)
        return;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    char old[sizeof(ctx->msg)];
    memcpy(old, ctx->msg, sizeof(old));
    /* Truncation is fine: the message stays one bounded line. */
    size_t n = strlen(prefix);
    if (n > sizeof(ctx->msg) - 3)
        n = sizeof(ctx->msg) - 3;
    memcpy(ctx->msg, prefix, n);
    memcpy(ctx->msg + n, ": ", 2);
    size_t rest = sizeof(ctx->msg) - n - 3;
    size_t oldlen = strnlen(old, sizeof(old));
    if (oldlen > rest)
        oldlen = rest;
    memcpy(ctx->msg + n + 2, old, oldlen);
    ctx->msg[n + 2 + oldlen] = '\0';
}

void attrib__log(attrib_ctx *ctx, attrib_log_level level, const char *fmt, ...)
{
    if (ctx == NULL || ctx->log_fn == NULL || level > ctx->log_level)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    ctx->log_fn(level, line, ctx->log_payload);
}

void attrib__progress(attrib_ctx *ctx, const char *what, uint64_t done, uint64_t total)
{
    if (ctx != NULL && ctx->progress_fn != NULL)
        ctx->progress_fn(what, done, total, ctx->progress_payload);
}

bool attrib__cancelled(attrib_ctx *ctx)
{
    if (ctx == NULL || !atomic_load_explicit(&ctx->cancel, memory_order_relaxed))
        return false;
    attrib__error(ctx, ATTRIB_ECANCEL, "interrupted; nothing of this step was written");
    return true;
}
