/*
 * The ihc-api engine's result cache (api/cache.h), over the store's bound
 * statements: fixed SQL text with ?N parameters, rows through the store's
 * insert with ON CONFLICT replace. No value is ever part of the SQL text.
 */
#include "lib/api/cache.h"

#include <stdlib.h>

static const char cache_schema[] =
    "CREATE TABLE IF NOT EXISTS attrib_api_results (conv_type_id text NOT NULL,"
    " conv_id text NOT NULL, session_id text NOT NULL, ihc double precision NOT NULL,"
    " initializer double precision NOT NULL, holder double precision NOT NULL,"
    " closer double precision NOT NULL, request_hash text NOT NULL,"
    " PRIMARY KEY(conv_type_id, conv_id, session_id));"
    "CREATE TABLE IF NOT EXISTS attrib_api_batches (conv_type_id text NOT NULL,"
    " request_hash text NOT NULL, conversions text NOT NULL, n_sessions integer NOT NULL,"
    " attempts integer NOT NULL, status text NOT NULL, error text,"
    " PRIMARY KEY(conv_type_id, request_hash));"
    "CREATE TABLE IF NOT EXISTS attrib_api_failures (conv_type_id text NOT NULL,"
    " conv_id text NOT NULL, reason text NOT NULL, PRIMARY KEY(conv_type_id, conv_id));";

static const char *const result_cols[] = {"conv_type_id", "conv_id", "session_id", "ihc",
                                          "initializer",  "holder",  "closer",     "request_hash"};
static const attrib_col_kind result_kinds[] = {ATTRIB_COL_TEXT, ATTRIB_COL_TEXT, ATTRIB_COL_TEXT,
                                               ATTRIB_COL_REAL, ATTRIB_COL_REAL, ATTRIB_COL_REAL,
                                               ATTRIB_COL_REAL, ATTRIB_COL_TEXT};
static const attrib_table results_table = {"attrib_api_results", result_cols, result_kinds, 8, 3};

static const char *const failure_cols[] = {"conv_type_id", "conv_id", "reason"};
static const attrib_col_kind failure_kinds[] = {ATTRIB_COL_TEXT, ATTRIB_COL_TEXT, ATTRIB_COL_TEXT};
static const attrib_table failures_table = {"attrib_api_failures", failure_cols, failure_kinds, 3,
                                            2};

int attrib__api_cache_init(attrib_store *st)
{
    return st->ops->exec_script(st->impl, cache_schema);
}

int attrib__api_cache_sending(attrib_store *st, const attrib__api_batch_row *b)
{
    const attrib_value v[] = {attrib__text(b->conv_type), attrib__text(b->request_hash),
                              attrib__text(b->conversions), attrib__int((int64_t)b->n_sessions),
                              attrib__int(b->attempt)};
    return st->ops->exec(st->impl,
                         "INSERT INTO attrib_api_batches (conv_type_id, request_hash, conversions, "
                         "n_sessions, attempts, status, error) VALUES (?1, ?2, ?3, ?4, ?5, "
                         "'sending', NULL) ON CONFLICT (conv_type_id, request_hash) DO UPDATE "
                         "SET attempts = excluded.attempts, status = 'sending'",
                         v, 5, "recording an API batch");
}

/* The rows of one settled batch, inside the caller's transaction. */
static int write_settled(attrib_store *st, const attrib__api_batch_row *b, const char *status,
                         const char *error, const attrib__api_result *results, size_t n_results,
                         const attrib__api_failure *failures, size_t n_failures)
{
    attrib_value *vals = NULL;
    int rc = ATTRIB_OK;
    size_t n_vals = n_results * 8 > n_failures * 3 ? n_results * 8 : n_failures * 3;
    vals = malloc((n_vals > 0 ? n_vals : 1) * sizeof(*vals));
    if (vals == NULL) {
        rc = attrib__error(st->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_results; i++) {
        const attrib__api_result *r = &results[i];
        attrib_value *v = &vals[i * 8];
        v[0] = attrib__text(b->conv_type);
        v[1] = attrib__text(r->conv_id);
        v[2] = attrib__text(r->session_id);
        v[3] = attrib__real(r->ihc);
        v[4] = attrib__real(r->initializer);
        v[5] = attrib__real(r->holder);
        v[6] = attrib__real(r->closer);
        v[7] = attrib__text(b->request_hash);
    }
    rc = st->ops->insert(st->impl, &results_table, ATTRIB_CONFLICT_REPLACE, vals, n_results);
    if (rc != ATTRIB_OK)
        goto done;
    const attrib_value u[] = {attrib__text(status), attrib__text_or_null(error),
                              attrib__int(b->attempt), attrib__text(b->conv_type),
                              attrib__text(b->request_hash)};
    rc = st->ops->exec(st->impl,
                       "UPDATE attrib_api_batches SET status = ?1, error = ?2, attempts = ?3 "
                       "WHERE conv_type_id = ?4 AND request_hash = ?5",
                       u, 5, "recording an API batch");
    if (rc != ATTRIB_OK)
        goto done;
    for (size_t i = 0; i < n_failures; i++) {
        attrib_value *v = &vals[i * 3];
        v[0] = attrib__text(b->conv_type);
        v[1] = attrib__text(failures[i].conv_id);
        v[2] = attrib__text(failures[i].reason);
    }
    rc = st->ops->insert(st->impl, &failures_table, ATTRIB_CONFLICT_REPLACE, vals, n_failures);
done:
    free(vals);
    return rc;
}

int attrib__api_cache_settled(attrib_store *st, const attrib__api_batch_row *b, const char *status,
                              const char *error, const attrib__api_result *results,
                              size_t n_results, const attrib__api_failure *failures,
                              size_t n_failures)
{
    int rc = attrib__store_begin(st);
    if (rc == ATTRIB_OK)
        rc = write_settled(st, b, status, error, results, n_results, failures, n_failures);
    if (rc == ATTRIB_OK)
        rc = attrib__store_commit(st);
    if (rc != ATTRIB_OK)
        attrib__store_rollback(st);
    return rc;
}

int attrib__api_cache_scan(attrib_store *st, const char *conv_type, attrib_row_fn fn, void *payload)
{
    const attrib_value v = attrib__text(conv_type);
    return st->ops->query(st->impl,
                          "SELECT conv_id, session_id, ihc, initializer, holder, closer FROM "
                          "attrib_api_results WHERE conv_type_id = ?1",
                          &v, 1, 6, fn, payload, "reading the API result cache");
}
