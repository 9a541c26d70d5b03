/*
 * Loading the dataset of a run and cutting journeys (SPEC §3).
 *
 * Conversions are read first; their users form the set of users whose
 * sessions are kept. Sessions are then streamed once: every row is
 * validated (and shown to the optional visitor, which is how the report's
 * cost pass shares the scan), rows of other users are dropped at once.
 * Kept sessions are grouped per user by a counting sort and sorted by
 * (timestamp, session_id); a journey is then a contiguous window of its
 * user's sessions, found by binary search.
 */
#include "dataset.h"

#include "util/ts.h"

#include <stdlib.h>
#include <string.h>

/* Above this many users a full scan beats one index probe per user. */
#define USER_PROBE_LIMIT 200000

typedef struct {
    attrib_ctx *ctx;
    attrib__dataset *ds;
    const attrib_run_options *opts;
    bool selected; /* conversions of this scan are in the selection */
    attrib__session_fn visit;
    void *payload;
} load_state;

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap != 0 ? *cap : 1024;
    while (c < need) {
        if (c > SIZE_MAX / 2 / size)
            return -1;
        c *= 2;
    }
    void *q = realloc(*p, c * size);
    if (q == NULL)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* The store's range test on conv_date (text comparison, as SQL does it). */
static bool in_range(const attrib_value *date, const attrib_run_options *opts)
{
    if (date->type != ATTRIB_V_TEXT)
        return false;
    if (opts->start_date != NULL && strcmp(date->s, opts->start_date) < 0)
        return false;
    if (opts->end_date != NULL && strcmp(date->s, opts->end_date) > 0)
        return false;
    return true;
}

static int on_conversion(const attrib_value *cols, void *payload)
{
    load_state *ls = payload;
    attrib__dataset *ds = ls->ds;
    attrib_conversion_row r;
    char scratch[2][32];
    int rc = attrib__conversion_row(ls->ctx, cols, &r, scratch);
    if (rc != ATTRIB_OK) {
        if (!ls->opts->skip_bad_rows)
            return rc;
        attrib_clearerr(ls->ctx);
        ds->bad_conversions++;
        return ATTRIB_OK;
    }
    int64_t user;
    if (ls->selected) {
        user = attrib_strmap_intern(&ds->users, r.user_id, r.user_id_len, NULL);
    } else {
        user = attrib_strmap_find(&ds->users, r.user_id, r.user_id_len);
        if (user < 0)
            return ATTRIB_OK; /* not a user of the selection */
        /* Rows in the range came with the selected scan already. */
        if (in_range(&cols[ATTRIB_CV_CONV_DATE], ls->opts))
            return ATTRIB_OK;
    }
    if (user < 0 ||
        grow((void **)&ds->convs, &ds->cap_convs, ds->n_convs + 1, sizeof(*ds->convs)) != 0)
        return attrib__error(ls->ctx, ATTRIB_ENOMEM, "out of memory reading conversions");
    char *id = attrib_arena_strndup(&ds->arena, r.conv_id, r.conv_id_len);
    if (id == NULL)
        return attrib__error(ls->ctx, ATTRIB_ENOMEM, "out of memory reading conversions");
    ds->convs[ds->n_convs++] = (attrib__conv){.conv_id = id,
                                              .user = (uint32_t)user,
                                              .selected = ls->selected,
                                              .ts = r.ts,
                                              .revenue = r.revenue};
    return ATTRIB_OK;
}

static int on_session(const attrib_value *cols, void *payload)
{
    load_state *ls = payload;
    attrib__dataset *ds = ls->ds;
    attrib_session_row r;
    char scratch[2][32];
    ds->sessions_read++;
    if ((ds->sessions_read & 0xffff) == 0) {
        if (attrib__cancelled(ls->ctx))
            return ATTRIB_ECANCEL;
        attrib__progress(ls->ctx, "reading sessions", ds->sessions_read, 0);
    }
    int rc = attrib__session_row(ls->ctx, cols, &r, scratch);
    if (rc != ATTRIB_OK) {
        if (!ls->opts->skip_bad_rows)
            return rc;
        attrib_clearerr(ls->ctx);
        ds->bad_sessions++;
        return ATTRIB_OK;
    }
    int64_t ch = attrib_strmap_intern(&ds->channels, r.channel, r.channel_len, NULL);
    if (ch < 0)
        return attrib__error(ls->ctx, ATTRIB_ENOMEM, "out of memory reading sessions");
    if (ls->visit != NULL) {
        rc = ls->visit(&r, (uint32_t)ch, ls->payload);
        if (rc != ATTRIB_OK)
            return rc;
    }
    int64_t user = attrib_strmap_find(&ds->users, r.user_id, r.user_id_len);
    if (user < 0)
        return ATTRIB_OK;
    size_t cap = ds->cap_sessions;
    if (grow((void **)&ds->sessions, &cap, ds->n_sessions + 1, sizeof(*ds->sessions)) != 0 ||
        grow((void **)&ds->session_user, &ds->cap_sessions, ds->n_sessions + 1,
             sizeof(*ds->session_user)) != 0)
        return attrib__error(ls->ctx, ATTRIB_ENOMEM, "out of memory keeping sessions");
    char *id = attrib_arena_strndup(&ds->arena, r.session_id, r.session_id_len);
    if (id == NULL)
        return attrib__error(ls->ctx, ATTRIB_ENOMEM, "out of memory keeping sessions");
    ds->sessions[ds->n_sessions] = (attrib_session){.id = id,
                                                    .ts = r.ts,
                                                    .channel = (uint32_t)ch,
                                                    .holder = r.holder,
                                                    .closer = r.closer,
                                                    .impression = r.impression};
    ds->session_user[ds->n_sessions] = (uint32_t)user;
    ds->n_sessions++;
    return ATTRIB_OK;
}

static int cmp_session(const void *a, const void *b)
{
    const attrib_session *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int cmp_conv_user(const void *a, const void *b)
{
    const attrib__conv *x = a, *y = b;
    if (x->user != y->user)
        return x->user < y->user ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return strcmp(x->conv_id, y->conv_id);
}

static int cmp_journey(const void *a, const void *b)
{
    return strcmp(((const attrib_journey *)a)->conv_id, ((const attrib_journey *)b)->conv_id);
}

static int cmp_unattr(const void *a, const void *b)
{
    return strcmp(((const attrib_unattributable *)a)->conv_id,
                  ((const attrib_unattributable *)b)->conv_id);
}

/* Counting sort of the kept sessions by user, then (ts, id) within a user. */
static int group_sessions(attrib_ctx *ctx, attrib__dataset *ds)
{
    size_t nu = ds->users.count;
    int rc = ATTRIB_OK;
    attrib_session *sorted = NULL;
    ds->user_start = calloc(nu + 1, sizeof(*ds->user_start));
    if (ds->user_start == NULL ||
        (ds->n_sessions > 0 && (sorted = malloc(ds->n_sessions * sizeof(*sorted))) == NULL)) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory grouping sessions");
        goto done;
    }
    for (size_t i = 0; i < ds->n_sessions; i++)
        ds->user_start[ds->session_user[i] + 1]++;
    for (size_t u = 0; u < nu; u++)
        ds->user_start[u + 1] += ds->user_start[u];
    /* Scatter with a cursor per user. */
    size_t *cursor = malloc((nu + 1) * sizeof(*cursor));
    if (cursor == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory grouping sessions");
        goto done;
    }
    memcpy(cursor, ds->user_start, (nu + 1) * sizeof(*cursor));
    for (size_t i = 0; i < ds->n_sessions; i++)
        sorted[cursor[ds->session_user[i]]++] = ds->sessions[i];
    free(cursor);
    free(ds->sessions);
    ds->sessions = sorted;
    sorted = NULL;
    free(ds->session_user);
    ds->session_user = NULL;
    for (size_t u = 0; u < nu; u++) {
        size_t a = ds->user_start[u], b = ds->user_start[u + 1];
        if (b - a > 1)
            qsort(ds->sessions + a, b - a, sizeof(*ds->sessions), cmp_session);
        for (size_t k = a + 1; k < b; k++) {
            if (strcmp(ds->sessions[k].id, ds->sessions[k - 1].id) == 0) {
                rc = attrib__error(ctx, ATTRIB_EDATA,
                                   "session_sources row session_id '%s': the session appears "
                                   "twice; session_id must be unique",
                                   ds->sessions[k].id);
                goto done;
            }
        }
    }
done:
    free(sorted);
    return rc;
}

/* First index in s[0..n) whose ts is >= t (strict=false) or > t (strict=true). */
static size_t lower(const attrib_session *s, size_t n, int64_t t, bool strict)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        bool before = strict ? s[mid].ts <= t : s[mid].ts < t;
        if (before)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void attrib__journey_window(const attrib_session *s, size_t n, int64_t conv_ts, int64_t prev_ts,
                            const attrib_run_options *opts, size_t *lo, size_t *hi)
{
    /* Sessions strictly before the conversion, or at its second with same_time. */
    size_t h = lower(s, n, conv_ts, opts->same_time);
    size_t l = 0;
    if (opts->lookback_days > 0) {
        int64_t from = conv_ts - (int64_t)opts->lookback_days * ATTRIB_SECS_PER_DAY;
        l = lower(s, n, from, false); /* inclusive: exactly N*24h before belongs */
    }
    if (opts->reset_after_conversion && prev_ts != INT64_MIN) {
        /* Sessions that belonged to the previous conversion's time window end there:
         * with same_time a session at prev_ts was the previous one's. */
        size_t r = lower(s, n, prev_ts, opts->same_time);
        if (r > l)
            l = r;
    }
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
}

static int cut_journeys(attrib_ctx *ctx, const attrib_run_options *opts, attrib__dataset *ds)
{
    if (ds->n_convs > 1)
        qsort(ds->convs, ds->n_convs, sizeof(*ds->convs), cmp_conv_user);
    size_t n_sel = 0;
    for (size_t i = 0; i < ds->n_convs; i++)
        n_sel += ds->convs[i].selected;
    ds->journeys = calloc(n_sel > 0 ? n_sel : 1, sizeof(*ds->journeys));
    ds->unattributable = calloc(n_sel > 0 ? n_sel : 1, sizeof(*ds->unattributable));
    if (ds->journeys == NULL || ds->unattributable == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory building journeys");
    for (size_t i = 0; i < ds->n_convs; i++) {
        const attrib__conv *c = &ds->convs[i];
        if (!c->selected)
            continue;
        int64_t prev = INT64_MIN;
        if (i > 0 && ds->convs[i - 1].user == c->user)
            prev = ds->convs[i - 1].ts;
        const attrib_session *s = ds->sessions + ds->user_start[c->user];
        size_t n = ds->user_start[c->user + 1] - ds->user_start[c->user];
        size_t lo, hi;
        attrib__journey_window(s, n, c->ts, prev, opts, &lo, &hi);
        if (hi == lo) {
            attrib_unattributable *u = &ds->unattributable[ds->n_unattributable++];
            u->conv_id = (char *)c->conv_id; /* arena-owned; copied for the summary */
            u->revenue = c->revenue;
            continue;
        }
        ds->journeys[ds->n_journeys++] = (attrib_journey){
            .conv_id = c->conv_id,
            .user_id = ds->users.keys[c->user],
            .ts = c->ts,
            .revenue = c->revenue,
            .sessions = s + lo,
            .n = hi - lo,
        };
    }
    if (ds->n_journeys > 1)
        qsort(ds->journeys, ds->n_journeys, sizeof(*ds->journeys), cmp_journey);
    if (ds->n_unattributable > 1)
        qsort(ds->unattributable, ds->n_unattributable, sizeof(*ds->unattributable), cmp_unattr);
    return ATTRIB_OK;
}

int attrib__dataset_load(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                         bool all_sessions, attrib__session_fn visit, void *payload,
                         attrib__dataset *ds)
{
    load_state ls = {ctx, ds, opts, true, NULL, NULL};
    attrib_scan sel = {.start_date = opts->start_date, .end_date = opts->end_date};
    bool ranged = opts->start_date != NULL || opts->end_date != NULL;
    int rc = st->ops->scan_conversions(st->impl, &sel, on_conversion, &ls);
    if (rc != ATTRIB_OK)
        goto done;
    size_t nu = ds->users.count;
    bool probe = ranged && !all_sessions && nu <= USER_PROBE_LIMIT;
    /* The user's earlier conversions outside the range end journeys too. */
    if (ranged && opts->reset_after_conversion && nu > 0) {
        attrib_scan us = {.users = ds->users.keys, .n_users = nu};
        ls.selected = false;
        rc = st->ops->scan_conversions(st->impl, probe ? &us : NULL, on_conversion, &ls);
        if (rc != ATTRIB_OK)
            goto done;
    }
    ls.visit = visit;
    ls.payload = payload;
    if (nu > 0 || visit != NULL) {
        attrib_scan us = {.users = ds->users.keys, .n_users = nu};
        rc = st->ops->scan_sessions(st->impl, probe ? &us : NULL, on_session, &ls);
        if (rc != ATTRIB_OK)
            goto done;
    }
    rc = group_sessions(ctx, ds);
    if (rc == ATTRIB_OK)
        rc = cut_journeys(ctx, opts, ds);
done:
    return rc;
}

attrib_channels attrib__dataset_channels(const attrib__dataset *ds)
{
    return (attrib_channels){.names = ds->channels.keys, .count = ds->channels.count};
}

void attrib__dataset_free(attrib__dataset *ds)
{
    if (ds == NULL)
        return;
    attrib_arena_free(&ds->arena);
    attrib_strmap_free(&ds->channels);
    attrib_strmap_free(&ds->users);
    free(ds->convs);
    free(ds->sessions);
    free(ds->session_user);
    free(ds->user_start);
    free(ds->journeys);
    free(ds->unattributable);
    memset(ds, 0, sizeof(*ds));
}
