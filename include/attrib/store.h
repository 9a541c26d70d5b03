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

/*
 * Two-phase commit of a job of several workers, each with its own store
 * (docs/scale-out.md "Exactly once"; PostgreSQL only). The coordinator
 * registers the job (attrib_store_job_begin: a session-level advisory lock
 * for the job's life and a row in attrib_2pc_jobs); every worker ends its
 * write transaction with PREPARE TRANSACTION 'attrib-<job>-<worker>'
 * (attrib_run_options.prepare_gid); when all prepared, the coordinator makes
 * the commit decision durable (attrib_store_job_decide: a row in
 * attrib_2pc_decisions) before any worker commits its prepared transaction;
 * at the end it commits (or, without a decision, rolls back) whatever a
 * worker left prepared and forgets the job (attrib_store_job_end). Prepared
 * transactions of a job whose coordinator is gone are resolved by
 * attrib_store_recover: committed when the job decided so, else rolled back.
 */

/* A job id: 1..ATTRIB_JOB_ID_MAX characters of [0-9a-z]. */
#define ATTRIB_JOB_ID_MAX 32

/* What recovery did. */
typedef struct {
    uint64_t committed;   /* prepared transactions committed (their job had decided to) */
    uint64_t rolled_back; /* prepared transactions rolled back (their job had not decided) */
    uint64_t jobs;        /* dead jobs resolved and forgotten */
    uint64_t running;     /* jobs still running (their coordinator holds the lock): untouched */
} attrib_store_recovery;

/*
 * How many transactions the store can hold prepared (PostgreSQL's
 * max_prepared_transactions); 0, with *why saying why (a static string),
 * when two-phase commit is not available: SQLite, or the setting is 0. (A
 * worker's write transaction must not touch temp tables or postgres_fdw
 * foreign tables, which PREPARE refuses: the attribute step's does not.)
 */
int attrib_store_twophase(attrib_store *st, uint32_t *slots, const char **why);

/* The coordinator: register the job `id` and hold its lock until
 * attrib_store_job_end or until the store is closed. ATTRIB_EINVAL for an
 * id that is not [0-9a-z]{1,32} or already registered. */
int attrib_store_job_begin(attrib_store *st, const char *id);

/* The coordinator, every worker prepared: the commit decision, durable
 * (committed) when this returns ATTRIB_OK. */
int attrib_store_job_decide(attrib_store *st, const char *id);

/* The coordinator, every worker done: commit (decided) or roll back
 * (undecided) the job's transactions still prepared, counted in *out, then
 * forget the job and release its lock. On failure the job stays registered
 * for recovery. */
int attrib_store_job_end(attrib_store *st, const char *id, attrib_store_recovery *out);

/*
 * Resolve the prepared transactions of dead jobs registered in this store's
 * schema: every job whose lock nobody holds (its coordinator is gone) has
 * its transactions committed when it decided so, else rolled back, and is
 * forgotten; a running job is counted and left alone. Every step that
 * writes (init, attribute, report, run) does this first, since a leftover
 * prepared transaction holds its row locks. A no-op on SQLite.
 */
int attrib_store_recover(attrib_store *st, attrib_store_recovery *out);

/* What recovery resolved through this store so far (the steps' and
 * attrib_store_recover's; running: at the last look). */
void attrib_store_recovered(const attrib_store *st, attrib_store_recovery *out);

#ifdef __cplusplus
}
#endif
#endif
