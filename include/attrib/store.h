/*
 * attrib — where the data lives. A store is a database reached through a
 * target string: a SQLite path ("challenge.db", "file:x.db") or a
 * PostgreSQL URI ("postgresql://user@host/db"). Nothing above the store
 * knows which database it talks to: every backend implements the same
 * table of operations (src/lib/store.h) with the same semantics.
 */
#ifndef ATTRIB_STORE_H
#define ATTRIB_STORE_H

#include "attrib/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct attrib_store attrib_store;

/* Open flags. */
#define ATTRIB_STORE_CREATE                                                                        \
    0x1u /* create a missing SQLite file (init, gen); without it a                                 \
            missing file is ATTRIB_ENOTFOUND and nothing is created */
#define ATTRIB_STORE_READONLY 0x2u

/*
 * Open the store named by `target`. *out is owned by the caller
 * (attrib_store_close). Errors: ATTRIB_ENOTFOUND (no such database),
 * ATTRIB_EAUTH, ATTRIB_EDB; the message names the target without password.
 */
int attrib_store_open(attrib_ctx *ctx, const char *target, unsigned flags, attrib_store **out);

typedef struct {
    /* How long a statement waits for a lock another process holds before it
     * fails (SQLite's busy timeout, PostgreSQL's lock_timeout; on PostgreSQL
     * 0 waits forever). A failure after the wait says another process holds
     * the lock and how long attrib waited. */
    unsigned busy_timeout_ms;
} attrib_store_options;

#define ATTRIB_STORE_OPTIONS_INIT                                                                  \
    {                                                                                              \
        .busy_timeout_ms = 10000                                                                   \
    }

/* attrib_store_open with options (NULL = ATTRIB_STORE_OPTIONS_INIT). */
int attrib_store_open_with(attrib_ctx *ctx, const char *target, unsigned flags,
                           const attrib_store_options *opts, attrib_store **out);

/* Close; rolls back an open transaction. NULL is a harmless no-op. */
void attrib_store_close(attrib_store *st);

/* The target as it may be shown (password removed). Borrowed, lives as long as st. */
const char *attrib_store_display(const attrib_store *st);

/* Backend name: "sqlite" or "postgresql". */
const char *attrib_store_kind(const attrib_store *st);

/*
 * Create the output tables, attrib's own tables and the indexes attrib needs
 * (idempotent). With schema_sql (e.g. the official challenge_db_create.sql,
 * Python header included: everything before the first CREATE is skipped),
 * that schema is executed first. One transaction.
 */
int attrib_store_init(attrib_store *st, const char *schema_sql);

/*
 * What a full run needs of attrib_store_init: the output tables, attrib's
 * own tables and their indexes, but not attrib's indexes on the input tables
 * (by user_id and by date), which only ranged runs use and which cost a sort
 * of the whole input to build: the first ranged step builds them, once.
 */
int attrib_store_init_outputs(attrib_store *st);

/*
 * Check that the input tables and the output tables exist; on failure the
 * message names the missing tables and says to run `attrib init`.
 * ATTRIB_ENOTFOUND when tables are missing.
 */
int attrib_store_check(attrib_store *st, bool need_outputs);

/* Whether the input tables hold any row (for gen's overwrite guard). */
int attrib_store_has_input(attrib_store *st, bool *out);

#ifdef __cplusplus
}
#endif
#endif
