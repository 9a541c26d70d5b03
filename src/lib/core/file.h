/*
 * Internal side of the atomic file writer (include/attrib/file.h): the same
 * functions for library modules, which are inside a public call already and
 * so must not start a new one (attrib__enter would clear their context).
 */
#ifndef ATTRIB_LIB_CORE_FILE_H
#define ATTRIB_LIB_CORE_FILE_H

#include "attrib/file.h"

int attrib__file_check(attrib_ctx *ctx, const char *path);
int attrib__file_open(attrib_ctx *ctx, const char *path, attrib_file **out);
int attrib__file_write(attrib_file *f, const void *data, size_t len);
int attrib__file_commit(attrib_file *f);
int attrib__file_save(attrib_ctx *ctx, const char *path, const void *data, size_t len);

#endif
