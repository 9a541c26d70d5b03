/*
 * Report files are written whole or not at all: a temp file beside the
 * target, renamed over it (csv.c). Shared by the CSV and the HTML report.
 */
#ifndef ATTRIB_LIB_REPORT_FILE_H
#define ATTRIB_LIB_REPORT_FILE_H

#include "lib/core/ctx.h"

#include <stddef.h>

/* Write data to path through a temp file in the same directory and a rename:
 * a reader sees the old file or the new one; on failure path is untouched
 * and the temp file removed. ATTRIB_EIO names the path. */
int attrib__write_atomic(attrib_ctx *ctx, const char *path, const char *data, size_t len);

#endif
