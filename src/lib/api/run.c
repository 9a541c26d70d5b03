/*
 * The ihc-api engine inside the attribute step: the API client's callbacks
 * mapped to the store, so every API result is paid for once.
 *
 * Each settled batch is committed on its own, in one transaction, to attrib's
 * cache tables: attrib_api_results (credit per conversion and session, by
 * conv_type_id), attrib_api_batches (the manifest: conversions, request
 * hash, attempts, status, error) and attrib_api_failures (reason per failed
 * conversion). A run killed at any point (kill -9 included) loses at most
 * the batches in flight; the next run reads the cache, sends only the
 * journeys that have no stored result, and writes attribution rows for all
 * of them in the pipeline's usual single transaction. --force ignores the
 * cache and overwrites it.
 */
#include "lib/api/run.h"

#include "util/buf.h"
#include "util/strmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

typedef struct {
    size_t j;    /* journey index */
    size_t skip; /* sessions of the journey not sent (trimmed) */
} pending_result;

typedef struct {
    attrib_ctx *ctx;
    attrib_store *st;
    const char *conv_type;
    const attrib_journey *js;
    const size_t *offset;
    attrib_credit *credits;
    unsigned char *state; /* per journey: ATTRIB__API_* */
    attrib_strmap convs;  /* conv_id -> journey */
    attrib_buf sql;       /* result rows of the batch being settled */
    attrib_buf fail_sql;  /* failure rows of the batch being settled */
    size_t n_rows;        /* result rows in sql */
    int rc;
} run_state;

/* Append s as an SQL string literal. */
static int put_lit(attrib_buf *b, const char *s)
{
    int r = attrib_buf_addc(b, '\'');
    for (const char *p = s; *p != '\0' && r == 0; p++)
        r = *p == '\'' ? attrib_buf_adds(b, "''") : attrib_buf_addc(b, *p);
    return r != 0 ? r : attrib_buf_addc(b, '\'');
}

static int put_num(attrib_buf *b, double x)
{
    return attrib_buf_printf(b, "%.17g", x);
}

static int64_t journey_of(run_state *rs, const char *conv_id)
{
    return attrib_strmap_find(&rs->convs, conv_id, strlen(conv_id));
}

static int on_batch_start(const attrib_api_batch *b, void *payload)
{
    run_state *rs = payload;
    attrib_buf q = ATTRIB_BUF_INIT(0);
    int r = attrib_buf_adds(&q, "INSERT INTO attrib_api_batches (conv_type_id, request_hash, "
                                "conversions, n_sessions, attempts, status, error) VALUES (");
    r |= put_lit(&q, rs->conv_type);
    r |= attrib_buf_addc(&q, ',');
    r |= put_lit(&q, b->request_hash);
    r |= attrib_buf_adds(&q, ",'");
    for (size_t i = 0; i < b->n_conv; i++) {
        for (const char *p = b->conv_ids[i]; *p != '\0'; p++)
            r |= *p == '\'' ? attrib_buf_adds(&q, "''") : attrib_buf_addc(&q, *p);
        if (i + 1 < b->n_conv)
            r |= attrib_buf_addc(&q, ' ');
    }
    r |= attrib_buf_printf(&q,
                           "',%zu,%d,'sending',NULL) ON CONFLICT (conv_type_id, request_hash) DO "
                           "UPDATE SET attempts = excluded.attempts, status = 'sending';",
                           b->n_sessions, b->attempt);
    int rc = r != 0 ? attrib__error(rs->ctx, ATTRIB_ENOMEM, "out of memory")
                    : rs->st->ops->exec_script(rs->st->impl, attrib_buf_cstr(&q));
    attrib_buf_free(&q);
    return rc;
}

static int on_result(const attrib_journey *j, const attrib_credit *cr, void *payload)
{
    run_state *rs = payload;
    int64_t ji = journey_of(rs, j->conv_id);
    if (ji < 0)
        return attrib__error(rs->ctx, ATTRIB_ERROR, "API result for unknown conversion %s",
                             j->conv_id);
    const attrib_journey *full = &rs->js[ji];
    size_t skip = full->n - j->n; /* trimmed head: no credit */
    attrib_credit *out = &rs->credits[rs->offset[ji]];
    for (size_t k = 0; k < full->n; k++)
        out[k] = k < skip ? (attrib_credit){0, 0, 0, 0} : cr[k - skip];
    rs->state[ji] = ATTRIB__CREDIT_DONE;
    int r = 0;
    for (size_t k = 0; k < j->n && r == 0; k++) {
        r |= attrib_buf_adds(&rs->sql, rs->n_rows == 0 ? "INSERT INTO attrib_api_results "
                                                         "(conv_type_id, conv_id, session_id, "
                                                         "ihc, initializer, holder, closer, "
                                                         "request_hash) VALUES ("
                                                       : ",(");
        r |= put_lit(&rs->sql, rs->conv_type);
        r |= attrib_buf_addc(&rs->sql, ',');
        r |= put_lit(&rs->sql, j->conv_id);
        r |= attrib_buf_addc(&rs->sql, ',');
        r |= put_lit(&rs->sql, j->sessions[k].id);
        const double v[4] = {cr[k].ihc, cr[k].initializer, cr[k].holder, cr[k].closer};
        for (int f = 0; f < 4; f++) {
            r |= attrib_buf_addc(&rs->sql, ',');
            r |= put_num(&rs->sql, v[f]);
        }
        r |= attrib_buf_adds(&rs->sql, ",'@')"); /* hash filled at batch end */
        rs->n_rows++;
    }
    return r != 0 ? attrib__error(rs->ctx, ATTRIB_ENOMEM, "out of memory") : ATTRIB_OK;
}

static int on_failure(const char *conv_id, const char *reason, void *payload)
{
    run_state *rs = payload;
    int64_t ji = journey_of(rs, conv_id);
    if (ji >= 0)
        rs->state[ji] = ATTRIB__CREDIT_FAILED;
    /* every failure is followed by its batch's end, which writes these rows */
    attrib_buf *q = &rs->fail_sql;
    int r = attrib_buf_adds(q, "INSERT INTO attrib_api_failures (conv_type_id, conv_id, reason) "
                               "VALUES (");
    r |= put_lit(q, rs->conv_type);
    r |= attrib_buf_addc(q, ',');
    r |= put_lit(q, conv_id);
    r |= attrib_buf_addc(q, ',');
    r |= put_lit(q, reason);
    r |= attrib_buf_adds(q, ") ON CONFLICT (conv_type_id, conv_id) DO UPDATE SET reason = "
                            "excluded.reason;");
    return r != 0 ? attrib__error(rs->ctx, ATTRIB_ENOMEM, "out of memory") : ATTRIB_OK;
}

static int on_skip(const char *conv_id, const char *reason, void *payload)
{
    run_state *rs = payload;
    (void)reason;
    int64_t ji = journey_of(rs, conv_id);
    if (ji >= 0)
        rs->state[ji] = ATTRIB__CREDIT_SKIPPED;
    return ATTRIB_OK;
}

static const char *status_name(attrib_api_batch_status s)
{
    static const char *const names[] = {"ok", "partial", "failed", "retry", "not_sent"};
    _Static_assert(sizeof(names) / sizeof(names[0]) == ATTRIB_API_BATCH_NOT_SENT + 1,
                   "one name per attrib_api_batch_status");
    return (unsigned)s <= ATTRIB_API_BATCH_NOT_SENT ? names[s] : "unknown";
}

/* One transaction per settled batch: its results and its manifest row. */
static int on_batch_end(const attrib_api_batch *b, attrib_api_batch_status status,
                        const char *error, void *payload)
{
    run_state *rs = payload;
    attrib_buf q = ATTRIB_BUF_INIT(0);
    int r = 0;
    if (rs->n_rows > 0) {
        /* the request hash of every row of this batch */
        const char *s = attrib_buf_cstr(&rs->sql);
        for (const char *p = s; *p != '\0'; p++) {
            if (p[0] == '\'' && p[1] == '@' && p[2] == '\'') {
                r |= put_lit(&q, b->request_hash);
                p += 2;
            } else
                r |= attrib_buf_addc(&q, *p);
        }
        r |= attrib_buf_adds(&q, " ON CONFLICT (conv_type_id, conv_id, session_id) DO UPDATE SET "
                                 "ihc = excluded.ihc, initializer = excluded.initializer, holder "
                                 "= excluded.holder, closer = excluded.closer, request_hash = "
                                 "excluded.request_hash;");
    }
    r |= attrib_buf_adds(&q, "UPDATE attrib_api_batches SET status = ");
    r |= put_lit(&q, status_name(status));
    r |= attrib_buf_adds(&q, ", error = ");
    if (error != NULL)
        r |= put_lit(&q, error);
    else
        r |= attrib_buf_adds(&q, "NULL");
    r |= attrib_buf_printf(&q, ", attempts = %d WHERE conv_type_id = ", b->attempt);
    r |= put_lit(&q, rs->conv_type);
    r |= attrib_buf_adds(&q, " AND request_hash = ");
    r |= put_lit(&q, b->request_hash);
    r |= attrib_buf_addc(&q, ';');
    if (rs->fail_sql.len > 0)
        r |= attrib_buf_add(&q, rs->fail_sql.data, rs->fail_sql.len);
    attrib_buf_reset(&rs->fail_sql);
    attrib_buf_reset(&rs->sql);
    rs->n_rows = 0;
    int rc = ATTRIB_OK;
    if (r != 0)
        rc = attrib__error(rs->ctx, ATTRIB_ENOMEM, "out of memory");
    if (rc == ATTRIB_OK)
        rc = attrib__store_begin(rs->st);
    if (rc == ATTRIB_OK)
        rc = rs->st->ops->exec_script(rs->st->impl, attrib_buf_cstr(&q));
    if (rc == ATTRIB_OK)
        rc = attrib__store_commit(rs->st);
    if (rc != ATTRIB_OK)
        attrib__store_rollback(rs->st);
    attrib_buf_free(&q);
    return rc;
}

/* Cache rows: conv_id, session_id, ihc, initializer, holder, closer. */
typedef struct {
    run_state *rs;
    attrib_strmap *keys; /* "conv\0session" -> flat credit index */
    unsigned char *have;
} load_state;

static int on_cached(const attrib_value *c, void *payload)
{
    load_state *ls = payload;
    for (int i = 0; i < 2; i++)
        if (c[i].type != ATTRIB_V_TEXT)
            return ATTRIB_OK;
    attrib_buf k = ATTRIB_BUF_INIT(0);
    int r = attrib_buf_add(&k, c[0].s, c[0].len);
    r |= attrib_buf_addc(&k, '\0');
    r |= attrib_buf_add(&k, c[1].s, c[1].len);
    int64_t at = r == 0 ? attrib_strmap_find(ls->keys, k.data, k.len) : -1;
    attrib_buf_free(&k);
    if (r != 0)
        return attrib__error(ls->rs->ctx, ATTRIB_ENOMEM, "out of memory");
    if (at < 0)
        return ATTRIB_OK; /* a conversion outside the selection, or an old journey shape */
    double v[4];
    for (int i = 0; i < 4; i++) {
        const attrib_value *x = &c[2 + i];
        v[i] = x->type == ATTRIB_V_REAL ? x->r : x->type == ATTRIB_V_INT ? (double)x->i : -1;
    }
    ls->rs->credits[at] = (attrib_credit){v[0], v[1], v[2], v[3]};
    ls->have[at] = 1;
    return ATTRIB_OK;
}

/* Mark journeys whose sent sessions all have cached credit as done. */
static int load_cache(run_state *rs, size_t n, size_t total, size_t max_sessions)
{
    int rc = ATTRIB_OK;
    attrib_strmap keys = ATTRIB_STRMAP_INIT;
    unsigned char *have = calloc(total ? total : 1, 1);
    attrib_buf k = ATTRIB_BUF_INIT(0), q = ATTRIB_BUF_INIT(0);
    if (have == NULL) {
        rc = attrib__error(rs->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < n; j++) {
        const attrib_journey *jr = &rs->js[j];
        for (size_t s = 0; s < jr->n; s++) {
            attrib_buf_reset(&k);
            int r = attrib_buf_adds(&k, jr->conv_id) | attrib_buf_addc(&k, '\0') |
                    attrib_buf_adds(&k, jr->sessions[s].id);
            int64_t idx = r == 0 ? attrib_strmap_intern(&keys, k.data, k.len, NULL) : -1;
            if (idx < 0 || (size_t)idx != rs->offset[j] + s) {
                /* duplicate keys cannot happen: a session appears once per journey */
                rc = attrib__error(rs->ctx, ATTRIB_ENOMEM, "out of memory");
                goto done;
            }
        }
    }
    if (attrib_buf_adds(&q, "SELECT conv_id, session_id, ihc, initializer, holder, closer FROM "
                            "attrib_api_results WHERE conv_type_id = ") != 0 ||
        put_lit(&q, rs->conv_type) != 0) {
        rc = attrib__error(rs->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    load_state ls = {rs, &keys, have};
    rc = rs->st->ops->query(rs->st->impl, attrib_buf_cstr(&q), 6, on_cached, &ls);
    if (rc != ATTRIB_OK)
        goto done;
    for (size_t j = 0; j < n; j++) {
        const attrib_journey *jr = &rs->js[j];
        size_t skip = jr->n > max_sessions ? jr->n - max_sessions : 0;
        bool all = jr->n > 0;
        for (size_t s = skip; s < jr->n && all; s++)
            all = have[rs->offset[j] + s] != 0;
        if (!all)
            continue;
        for (size_t s = 0; s < skip; s++)
            rs->credits[rs->offset[j] + s] = (attrib_credit){0, 0, 0, 0};
        rs->state[j] = ATTRIB__CREDIT_DONE;
    }
done:
    attrib_buf_free(&k);
    attrib_buf_free(&q);
    attrib_strmap_free(&keys);
    free(have);
    return rc;
}

int attrib__api_attribute(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                          const attrib_journey *js, size_t n, const attrib_channels *channels,
                          const size_t *offset, attrib_credit *credits, unsigned char *state,
                          attrib_summary *sum)
{
    int rc = ATTRIB_OK;
    attrib_api_client *client = NULL;
    attrib_journey *todo = NULL;
    unsigned char *was_cached = NULL;
    run_state rs = {.ctx = ctx,
                    .st = st,
                    .conv_type = opts->api->conv_type_id,
                    .js = js,
                    .offset = offset,
                    .credits = credits,
                    .state = state,
                    .convs = ATTRIB_STRMAP_INIT,
                    .sql = ATTRIB_BUF_INIT(0),
                    .fail_sql = ATTRIB_BUF_INIT(0)};
    if (rs.conv_type == NULL || st->ops->query == NULL) {
        rc = attrib__error(ctx, ATTRIB_EINVAL,
                           rs.conv_type == NULL
                               ? "the IHC API engine needs a conversion type id (conv_type_id)"
                               : "this database backend cannot cache API results");
        goto done;
    }
    rc = attrib_api_client_new(ctx, opts->api, &client); /* validates the options first */
    if (rc != ATTRIB_OK)
        goto done;
    rc = st->ops->exec_script(st->impl, cache_schema);
    if (rc != ATTRIB_OK)
        goto done;
    for (size_t j = 0; j < n; j++) {
        state[j] = ATTRIB__CREDIT_TODO;
        if (attrib_strmap_intern(&rs.convs, js[j].conv_id, strlen(js[j].conv_id), NULL) < 0) {
            rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
    }
    /* with --force the stored results are still read: a conversion whose new
     * request fails keeps its earlier result rather than losing its rows */
    rc = load_cache(&rs, n, offset[n], opts->api->max_sessions);
    if (rc != ATTRIB_OK)
        goto done;
    todo = malloc((n ? n : 1) * sizeof(*todo));
    was_cached = calloc(n ? n : 1, 1);
    if (todo == NULL || was_cached == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    size_t n_todo = 0, cached = 0;
    for (size_t j = 0; j < n; j++) {
        was_cached[j] = state[j] == ATTRIB__CREDIT_DONE;
        cached += was_cached[j];
        if (!was_cached[j] || opts->api_force) {
            state[j] = ATTRIB__CREDIT_TODO;
            todo[n_todo++] = js[j];
        }
    }
    ATTRIB_LOG(ctx, ATTRIB_LOG_INFO,
               "IHC API: %zu conversions have a stored result, %zu to send (conv type %s)", cached,
               n_todo, rs.conv_type);
    static const attrib_api_callbacks cb = {on_batch_start, on_result, on_failure,
                                            on_skip,        NULL,      on_batch_end};
    rc = attrib_api_client_run(client, todo, n_todo, channels, &cb, &rs);
    const attrib_api_stats *stats = attrib_api_client_stats(client);
    sum->api_requests += stats->requests;
    sum->api_retries += stats->retries;
    sum->conversions_failed += stats->failed;
    for (size_t j = 0; j < n; j++) {
        if (state[j] == ATTRIB__CREDIT_TODO && rc == ATTRIB_OK)
            state[j] = ATTRIB__CREDIT_FAILED; /* not reported at all: failed for this run */
        if (state[j] == ATTRIB__CREDIT_FAILED && was_cached[j])
            state[j] = ATTRIB__CREDIT_DONE; /* --force: the earlier result stays */
    }
done:
    attrib_api_client_free(client);
    attrib_strmap_free(&rs.convs);
    attrib_buf_free(&rs.sql);
    attrib_buf_free(&rs.fail_sql);
    free(todo);
    free(was_cached);
    return rc;
}
