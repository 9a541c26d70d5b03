/*
 * UTF-8 validation for text attrib passes on (ids, channel names): valid
 * UTF-8 without NUL bytes, shortest forms only, no surrogates, nothing above
 * U+10FFFF. ASCII, the common case, costs one compare per byte.
 */
#ifndef ATTRIB_UTIL_UTF8_H
#define ATTRIB_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Whether s[0..len) is valid UTF-8 holding no NUL byte. */
bool attrib_utf8_valid(const char *s, size_t len);

#endif
