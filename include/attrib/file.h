/*
 * attrib — the one way attrib writes a file (reports, journeys, model files,
 * summaries). A regular file (or a path that does not exist yet) is written
 * to a temp file in the same directory, flushed to disk and renamed over the
 * path at commit, so a reader sees the old file or the new one, never a
 * part, and a failure (full disk, cancel) leaves the old file as it was. A
 * symbolic link to a regular file keeps the link and replaces its target.
 * Character devices (/dev/null, a terminal), FIFOs and "-" (standard output)
 * are written through as they are: they are never replaced. Any other type
 * (directory, socket, block device) is refused. Every message names the path
 * and the reason (errno text).
 */
#ifndef ATTRIB_FILE_H
#define ATTRIB_FILE_H

#include "attrib/error.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct attrib_file attrib_file;

/*
 * Check, before any work, that path could be opened by attrib_file_open:
 * not empty, of an accepted type, its directory exists. Nothing is created.
 * Errors: ATTRIB_EINVAL (empty path, refused type), ATTRIB_ENOTFOUND (the
 * directory does not exist).
 */
int attrib_file_check(attrib_ctx *ctx, const char *path);

/*
 * Open path for writing as described above. *out is owned by the caller and
 * ends with attrib_file_commit or attrib_file_abort (exactly one of them).
 * The context must outlive the file. Errors: as attrib_file_check, ATTRIB_EIO
 * (cannot create the temp file), ATTRIB_ENOMEM.
 */
int attrib_file_open(attrib_ctx *ctx, const char *path, attrib_file **out);

/* Append len bytes. ATTRIB_EIO with errno's text on failure. */
int attrib_file_write(attrib_file *f, const void *data, size_t len);

/*
 * An attrib_write_fn over a file (payload is the attrib_file *): for the
 * library's streaming writers, which already hold the context, so it records
 * its failure there without starting a new call.
 */
int attrib_file_write_fn(const char *data, size_t len, void *payload);

/*
 * Flush, sync and rename into place (regular files); close the device, FIFO
 * or leave standard output open after flushing. Frees f whatever happens; on
 * failure the old file is untouched and the temp file removed. ATTRIB_EIO.
 */
int attrib_file_commit(attrib_file *f);

/* Drop what was written (the old file stays); frees f. NULL is a no-op. */
void attrib_file_abort(attrib_file *f);

/* Open, write data and commit in one call. */
int attrib_file_save(attrib_ctx *ctx, const char *path, const void *data, size_t len);

/* The path as given to attrib_file_open ("standard output" for "-"). Borrowed. */
const char *attrib_file_name(const attrib_file *f);

#ifdef __cplusplus
}
#endif
#endif
