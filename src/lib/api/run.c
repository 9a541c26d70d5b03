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
 * cache and overwrites it. The tables and their SQL are api/cache.c's.
 */
#include "lib/api/run.h"

#include "lib/api/cache.h"
#include "util/buf.h"
#include "util/strmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    attrib_ctx *ctx;
    attrib_store *st;
    const char *conv_type;
    const attrib_journey *js;
    const size_t *offset;
    attrib_credit *credits;
    unsigned char *state;        /* per journey: ATTRIB__API_* */
    attrib_strmap convs;         /* conv_id -> journey */
    attrib__api_result *results; /* result rows of the batch being settled */
    size_t n_results, cap_results;
    attrib__api_failure *failures; /* its failures; strings owned (malloc'ed) */
    size_t n_failures, cap_failures;
} run_state;

static int64_t journey_of(run_state *rs, const char *conv_id)
{
    return attrib_strmap_find(&rs->convs, conv_id, strlen(conv_id));
}

/* Room for `more` elements of `size` bytes in *arr (capacity *cap); nonzero on OOM. */
static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap > 0 ? *cap : 64;
    while (n < need)
        n *= 2;
    void *p = realloc(*arr, n * size);
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = n;
    return 0;
}

static void forget_batch(run_state *rs)
{
    for (size_t i = 0; i < rs->n_failures; i++) {
        free((char *)rs->failures[i].conv_id);
        free((char *)rs->failures[i].reason);
    }
    rs->n_failures = 0;
    rs->n_results = 0;
}

static int on_batch_start(const attrib_api_batch *b, void *payload)
{
    run_state *rs = payload;
    attrib_buf convs = ATTRIB_BUF_INIT(0);
    int r = attrib_buf_adds(&convs, ""); /* an empty batch still has a string */
    for (size_t i = 0; i < b->n_conv; i++)
        r |= attrib_buf_printf(&convs, "%s%s", i > 0 ? " " : "", b->conv_ids[i]);
    attrib__api_batch_row row = {.conv_type = rs->conv_type,
                                 .request_hash = b->request_hash,
                                 .conversions = attrib_buf_cstr(&convs),
                                 .n_sessions = b->n_sessions,
                                 .attempt = b->attempt};
    int rc = r != 0 ? attrib__error(rs->ctx, ATTRIB_ENOMEM, "out of memory")
                    : attrib__api_cache_sending(rs->st, &row);
    attrib_buf_free(&convs);
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
    if (grow((void **)&rs->results, &rs->cap_results, rs->n_results + j->n, sizeof(*rs->results)) !=
        0)
        return attrib__error(rs->ctx, ATTRIB_ENOMEM, "out of memory");
    /* the strings of the run's own journey: they outlive the batch */
    for (size_t k = 0; k < j->n; k++)
        rs->results[rs->n_results++] = (attrib__api_result){
            .conv_id = full->conv_id,
            .session_id = full->sessions[skip + k].id,
            .ihc = cr[k].ihc,
            .initializer = cr[k].initializer,
            .holder = cr[k].holder,
            .closer = cr[k].closer,
        };
    return ATTRIB_OK;
}

static int on_failure(const char *conv_id, const char *reason, void *payload)
{
    run_state *rs = payload;
    int64_t ji = journey_of(rs, conv_id);
    if (ji >= 0)
        rs->state[ji] = ATTRIB__CREDIT_FAILED;
    /* every failure is followed by its batch's end, which writes these rows */
    if (grow((void **)&rs->failures, &rs->cap_failures, rs->n_failures + 1,
             sizeof(*rs->failures)) != 0)
        return attrib__error(rs->ctx, ATTRIB_ENOMEM, "out of memory");
    char *c = strdup(conv_id), *why = strdup(reason);
    if (c == NULL || why == NULL) {
        free(c);
        free(why);
        return attrib__error(rs->ctx, ATTRIB_ENOMEM, "out of memory");
    }
    rs->failures[rs->n_failures++] = (attrib__api_failure){c, why};
    return ATTRIB_OK;
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

/* One transaction per settled batch: its results, its manifest row, its failures. */
static int on_batch_end(const attrib_api_batch *b, attrib_api_batch_status status,
                        const char *error, void *payload)
{
    run_state *rs = payload;
    attrib__api_batch_row row = {
        .conv_type = rs->conv_type, .request_hash = b->request_hash, .attempt = b->attempt};
    int rc = attrib__api_cache_settled(rs->st, &row, status_name(status), error, rs->results,
                                       rs->n_results, rs->failures, rs->n_failures);
    forget_batch(rs);
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
    attrib_buf k = ATTRIB_BUF_INIT(0);
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
    load_state ls = {rs, &keys, have};
    rc = attrib__api_cache_scan(rs->st, rs->conv_type, on_cached, &ls);
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
                    .convs = ATTRIB_STRMAP_INIT};
    if (rs.conv_type == NULL) {
        rc = attrib__error(ctx, ATTRIB_EINVAL,
                           "the IHC API engine needs a conversion type id (conv_type_id)");
        goto done;
    }
    rc = attrib_api_client_new(ctx, opts->api, &client); /* validates the options first */
    if (rc != ATTRIB_OK)
        goto done;
    rc = attrib__api_cache_init(st);
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
    forget_batch(&rs);
    free(rs.results);
    free(rs.failures);
    free(todo);
    free(was_cached);
    return rc;
}
