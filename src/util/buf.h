/*
 * attrib_buf — the one growable byte buffer for all string building (SQL,
 * JSON bodies, HTTP responses, CSV rows). It has a hard maximum size, so one
 * oversized input cannot use up memory, and a sticky failure flag: append as
 * much as you like, check attrib_buf_failed() once at the end.
 */
#ifndef ATTRIB_UTIL_BUF_H
#define ATTRIB_UTIL_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *data;  /* NUL-terminated when len > 0 or after any append */
    size_t len;  /* bytes used, without the NUL */
    size_t cap;  /* bytes allocated */
    size_t max;  /* hard limit on len (0 = SIZE_MAX/2) */
    bool failed; /* sticky: an append hit max or malloc failed */
} attrib_buf;

#define ATTRIB_BUF_INIT(maxlen)                                                                    \
    {                                                                                              \
        NULL, 0, 0, (maxlen), false                                                                \
    }

void attrib_buf_init(attrib_buf *b, size_t max);

/* Appends: return 0 or -1 (and set failed). */
__attribute__((warn_unused_result)) int attrib_buf_add(attrib_buf *b, const void *p, size_t n);
__attribute__((warn_unused_result)) int attrib_buf_adds(attrib_buf *b, const char *s);
__attribute__((warn_unused_result)) int attrib_buf_addc(attrib_buf *b, char c);
__attribute__((warn_unused_result, format(printf, 2, 3))) int
attrib_buf_printf(attrib_buf *b, const char *fmt, ...);
__attribute__((warn_unused_result)) int attrib_buf_vprintf(attrib_buf *b, const char *fmt,
                                                           va_list ap);

/* Make room for n more bytes; returns 0 or -1. */
__attribute__((warn_unused_result)) int attrib_buf_reserve(attrib_buf *b, size_t n);

static inline bool attrib_buf_failed(const attrib_buf *b)
{
    return b->failed;
}

/* Keep the allocation, forget the content (clears the failure flag). */
void attrib_buf_reset(attrib_buf *b);

/* Hand the content over: the caller owns the returned string (free()).
 * Returns NULL if the buffer failed; the buffer is empty afterwards. */
char *attrib_buf_take(attrib_buf *b);

/* The content as a string, borrowed ("" when empty). */
const char *attrib_buf_cstr(const attrib_buf *b);

void attrib_buf_free(attrib_buf *b);

#endif
