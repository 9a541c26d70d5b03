/*
 * Versions (include/attrib/version.h). The commit comes from commit.h, which
 * the Makefile writes into the build directory (only when it changes, so a
 * new commit recompiles this file alone).
 */
#include "attrib/version.h"

#include "commit.h"

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <sqlite3.h>
#include <stdio.h>

#ifndef ATTRIB_COMMIT
#define ATTRIB_COMMIT "unknown"
#endif

const char *attrib_version(void)
{
    return ATTRIB_VERSION_STRING;
}

const char *attrib_commit(void)
{
    return ATTRIB_COMMIT[0] != '\0' ? ATTRIB_COMMIT : "unknown";
}

static void put(attrib_dependency *out, size_t cap, size_t i, const char *name, const char *v)
{
    if (i >= cap)
        return;
    out[i].name = name;
    snprintf(out[i].version, sizeof(out[i].version), "%s", v != NULL ? v : "unknown");
}

size_t attrib_dependencies(attrib_dependency *out, size_t cap)
{
    size_t n = 0;
    char pq[32];
    /* PQlibVersion: major * 10000 + minor since PostgreSQL 10 */
    int v = PQlibVersion();
    if (v >= 100000)
        snprintf(pq, sizeof(pq), "%d.%d", v / 10000, v % 10000);
    else
        snprintf(pq, sizeof(pq), "%d.%d.%d", v / 10000, v / 100 % 100, v % 100);
    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    put(out, cap, n++, "SQLite", sqlite3_libversion());
    put(out, cap, n++, "libpq", pq);
    put(out, cap, n++, "libcurl", cv != NULL ? cv->version : NULL);
    put(out, cap, n++, "jansson", jansson_version_str());
    put(out, cap, n++, "libmicrohttpd", MHD_get_version());
    return n;
}
