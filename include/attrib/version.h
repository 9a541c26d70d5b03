/*
 * attrib — versions: of the library, of the commit it was built from, and of
 * the libraries it is linked with (as found at run time, which is what
 * matters when the shared libraries are upgraded under a built binary).
 */
#ifndef ATTRIB_VERSION_H
#define ATTRIB_VERSION_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of these headers. The Makefile reads ATTRIB_VERSION_STRING for
 * the shared library's file name and attrib.pc; the soname carries MAJOR. */
#define ATTRIB_VERSION_MAJOR 0
#define ATTRIB_VERSION_MINOR 1
#define ATTRIB_VERSION_PATCH 0
#define ATTRIB_VERSION_STRING "0.1.0"

/* The library's version ("0.1.0"); compare with ATTRIB_VERSION_STRING to see
 * that headers and library agree. */
const char *attrib_version(void);

/* The git commit the library was built from (`git describe --always
 * --dirty`), or "unknown" when it was built outside a git checkout. */
const char *attrib_commit(void);

typedef struct {
    const char *name; /* "SQLite", "libpq", "libcurl", "jansson", "libmicrohttpd" */
    char version[32]; /* as the library reports it at run time, e.g. "3.40.1" */
} attrib_dependency;

/* The libraries attrib is linked with and their run-time versions: fills
 * out[0 .. min(cap, n)) and returns n, the number there are (5). */
size_t attrib_dependencies(attrib_dependency *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
