/* The bounded growable buffer: see buf.h. */
#include "buf.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void attrib_buf_init(attrib_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->failed = false;
}

int attrib_buf_reserve(attrib_buf *b, size_t n)
{
    if (b->failed)
        return -1;
    size_t max = b->max != 0 ? b->max : SIZE_MAX / 2;
    if (n > max || b->len > max - n) {
        b->failed = true;
        return -1;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap != 0 ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 4 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = true;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int attrib_buf_add(attrib_buf *b, const void *p, size_t n)
{
    if (attrib_buf_reserve(b, n) != 0)
        return -1;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int attrib_buf_adds(attrib_buf *b, const char *s)
{
    return attrib_buf_add(b, s, strlen(s));
}

int attrib_buf_addc(attrib_buf *b, char c)
{
    return attrib_buf_add(b, &c, 1);
}

int attrib_buf_vprintf(attrib_buf *b, const char *fmt, va_list ap)
{
    if (b->failed)
        return -1;
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0 || attrib_buf_reserve(b, (size_t)n) != 0) {
        b->failed = true;
        return -1;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int attrib_buf_printf(attrib_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = attrib_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void attrib_buf_reset(attrib_buf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->data != NULL)
        b->data[0] = '\0';
}

char *attrib_buf_take(attrib_buf *b)
{
    /* the content is always NUL-terminated inside the allocation */
    assert(b->data == NULL ? b->len == 0 : b->len < b->cap && b->data[b->len] == '\0');
    char *p = NULL;
    if (!b->failed) {
        if (b->data == NULL)
            p = calloc(1, 1);
        else
            p = b->data;
        b->data = NULL;
    }
    attrib_buf_free(b);
    return p;
}

const char *attrib_buf_cstr(const attrib_buf *b)
{
    return b->data != NULL ? b->data : "";
}

void attrib_buf_free(attrib_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = false;
}
