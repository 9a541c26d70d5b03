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
#include "lib/journey/dataset.h"
#include "lib/journey/ids.h"

#include "lib/store/partition.h"

#include "util/shard.h"
#include "util/ts.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Above this many users a full scan beats one index probe per user. */
#define USER_PROBE_LIMIT 200000
#define MAX_SLICES 8

typedef struct {
    attrib_ctx *ctx;
    attrib__dataset *ds;
    const attrib_run_options *opts;
    bool selected;  /* conversions of this scan are in the selection */
    bool check_ids; /* keep every conversion id read (ids.h) */
    attrib__ids ids;
} load_state;

/*
 * A session whose user is being looked up: the kept part of its row, its ids
 * copied (the row's values live only until the callback returns).
 */
#define HOLD 8 /* sessions held; the users filter is tested half way through */
typedef struct {
    attrib__other row;  /* the compact row (user: attrib_hash of the user id) */
    bool tested, maybe; /* the filter tested; it let the user through */
    size_t user_len, id_len;
    char *buf; /* the user id, then the session id */
    size_t cap;
} held_row;

/*
 * What one slice of the session scan keeps. Slices may run on threads at
 * once: each has its own error context, arena, channel table and arrays, and
 * only reads the dataset (its users); they are merged in scan order after.
 */
typedef struct {
    attrib_ctx ctx;   /* this slice's errors */
    attrib_ctx *main; /* the caller's: cancel flag; progress from slice 0 */
    const attrib__dataset *ds;
    const attrib_run_options *opts;
    unsigned index;
    atomic_uint_fast64_t *seen; /* rows seen by all slices, for progress */
    attrib_arena arena;         /* ids of kept sessions */
    attrib_strmap channels;     /* this slice's channel indices */
    attrib_session *sessions;
    uint32_t *session_user;
    size_t n_sessions, cap_sessions, cap_users;
    attrib__other *other;
    size_t n_other, cap_other;
    attrib__cost_agg costs; /* by this slice's channel indices */
    attrib__ids ids;        /* every session id read, when the dataset checks them */
    uint64_t read, bad;
    /* The last rows, whose users are being looked up (on_session): a ring,
     * the oldest at held[first]. */
    held_row held[HOLD];
    unsigned first, n_held;
} slice_state;

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
    if (ls->check_ids && attrib__ids_add(&ls->ids, &cols[ATTRIB_CV_CONV_ID]) != ATTRIB_OK)
        return attrib__error(ls->ctx, ATTRIB_ENOMEM, "out of memory reading conversions");
    int rc = attrib__conversion_row(ls->ctx, cols, &r, scratch);
    if (rc != ATTRIB_OK) {
        if (!ls->opts->skip_bad_rows)
            return rc;
        attrib_clearerr(ls->ctx);
        ds->bad_conversions++;
        return ATTRIB_OK;
    }
    /* --shard K/N: only this shard's users' conversions are selected; models
     * that learn from every path still read (and fit on) all of them, unless
     * their statistics are reduced across the job (local_paths). */
    bool mine = ls->opts->shard_count == 0 || ds->scoped ||
                attrib_shard_index(r.user_id, r.user_id_len, ls->opts->shard_count) ==
                    ls->opts->shard_index;
    if (!mine && (!ds->all_paths || ds->local_paths))
        return ATTRIB_OK;
    int64_t user;
    if (ds->all_paths) {
        user = attrib_strmap_intern(&ds->users, r.user_id, r.user_id_len, NULL);
    } else if (ls->selected) {
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
    bool selected =
        mine && (ds->all_paths ? in_range(&cols[ATTRIB_CV_CONV_DATE], ls->opts) : ls->selected);
    ds->convs[ds->n_convs++] = (attrib__conv){.conv_id = id,
                                              .user = (uint32_t)user,
                                              .selected = selected,
                                              .ts = r.ts,
                                              .revenue = r.revenue};
    return ATTRIB_OK;
}

/* The word of a user hash in the users filter, and the three bits it sets
 * there (a blocked Bloom filter: one cache line read per test). */
static size_t filter_word(const attrib__dataset *ds, uint64_t h)
{
    return (size_t)((h >> 29) & ds->user_filter_mask);
}

static uint64_t filter_bits(uint64_t h)
{
    return (uint64_t)1 << (h & 63) | (uint64_t)1 << ((h >> 6) & 63) |
           (uint64_t)1 << ((h >> 12) & 63);
}

static int build_user_filter(attrib_ctx *ctx, attrib__dataset *ds)
{
    uint64_t bits = 4096;
    while (bits < (uint64_t)ds->users.count * 8 && bits < ((uint64_t)1 << 34))
        bits *= 2;
    ds->user_filter = calloc((size_t)(bits / 64), sizeof(*ds->user_filter));
    if (ds->user_filter == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    ds->user_filter_mask = bits / 64 - 1;
    for (size_t u = 0; u < ds->users.count; u++) {
        const char *k = ds->users.keys[u];
        uint64_t h = attrib_hash(k, strlen(k));
        ds->user_filter[filter_word(ds, h)] |= filter_bits(h);
    }
    return ATTRIB_OK;
}

/* A session of a user who never converts (all_paths): a compact row. */
static int keep_other(slice_state *sl, const held_row *e)
{
    if (grow((void **)&sl->other, &sl->cap_other, sl->n_other + 1, sizeof(*sl->other)) != 0)
        return attrib__error(&sl->ctx, ATTRIB_ENOMEM, "out of memory keeping paths");
    sl->other[sl->n_other++] = e->row;
    return ATTRIB_OK;
}

/* Test the users filter for e (its word asked for when e came) and, when it
 * lets the user through, ask for the user's slot in the map. */
static void test_held(const attrib__dataset *ds, held_row *e)
{
    uint64_t h = e->row.user, bits = filter_bits(h);
    e->tested = true;
    e->maybe = (ds->user_filter[filter_word(ds, h)] & bits) == bits;
    if (e->maybe)
        attrib_strmap_prefetch(&ds->users, h);
}

/* Hold r's session as the newest of the ring (which has room). */
static int hold(slice_state *sl, const attrib_session_row *r, uint32_t channel, uint64_t h)
{
    assert(sl->n_held < HOLD);
    held_row *e = &sl->held[(sl->first + sl->n_held) % HOLD];
    size_t need = r->user_id_len + r->session_id_len;
    if (need > e->cap) {
        size_t cap = need * 2 + 64;
        char *b = realloc(e->buf, cap);
        if (b == NULL)
            return attrib__error(&sl->ctx, ATTRIB_ENOMEM, "out of memory reading sessions");
        e->buf = b;
        e->cap = cap;
    }
    memcpy(e->buf, r->user_id, r->user_id_len);
    memcpy(e->buf + r->user_id_len, r->session_id, r->session_id_len);
    e->row = (attrib__other){.user = h,
                             .ts = r->ts,
                             .channel = channel,
                             .holder = r->holder,
                             .closer = r->closer,
                             .impression = r->impression};
    e->tested = false;
    e->user_len = r->user_id_len;
    e->id_len = r->session_id_len;
    sl->n_held++;
    if (sl->n_held > HOLD / 2)
        test_held(sl->ds, &sl->held[(sl->first + sl->n_held - 1 - HOLD / 2) % HOLD]);
    return ATTRIB_OK;
}

/* Settle the oldest held session: a journey session of its user, a path of a
 * user who never converts (all_paths), or nothing. */
static int settle_held(slice_state *sl)
{
    assert(sl->n_held > 0);
    held_row *e = &sl->held[sl->first];
    sl->first = (sl->first + 1) % HOLD;
    sl->n_held--;
    const attrib__dataset *ds = sl->ds;
    const char *user_id = e->buf, *session_id = e->buf + e->user_len;
    if (!e->tested)
        test_held(ds, e);
    int64_t user =
        e->maybe ? attrib_strmap_find_hashed(&ds->users, user_id, e->user_len, e->row.user) : -1;
    if (user < 0 && ds->all_paths && ds->local_paths && !ds->scoped &&
        attrib_shard_index(user_id, e->user_len, sl->opts->shard_count) != sl->opts->shard_index)
        return ATTRIB_OK; /* another shard's user: its path is reduced in, not read */
    if (user < 0)
        return ds->all_paths ? keep_other(sl, e) : ATTRIB_OK;
    if (grow((void **)&sl->sessions, &sl->cap_sessions, sl->n_sessions + 1,
             sizeof(*sl->sessions)) != 0 ||
        grow((void **)&sl->session_user, &sl->cap_users, sl->n_sessions + 1,
             sizeof(*sl->session_user)) != 0)
        return attrib__error(&sl->ctx, ATTRIB_ENOMEM, "out of memory keeping sessions");
    char *id = attrib_arena_strndup(&sl->arena, session_id, e->id_len);
    if (id == NULL)
        return attrib__error(&sl->ctx, ATTRIB_ENOMEM, "out of memory keeping sessions");
    sl->sessions[sl->n_sessions] = (attrib_session){.id = id,
                                                    .ts = e->row.ts,
                                                    .channel = e->row.channel,
                                                    .holder = e->row.holder,
                                                    .closer = e->row.closer,
                                                    .impression = e->row.impression};
    sl->session_user[sl->n_sessions] = (uint32_t)user;
    sl->n_sessions++;
    return ATTRIB_OK;
}

/* Whether this slice sums the costs of r's session: a shard sums its own
 * users' only (models of every path read the others' too), so the shards'
 * sums add up to the table's. */
static bool own_costs(const slice_state *sl, const attrib_session_row *r)
{
    const attrib_run_options *o = sl->opts;
    return sl->ds->want_costs &&
           (o->shard_count == 0 || sl->ds->scoped ||
            attrib_shard_index(r->user_id, r->user_id_len, o->shard_count) == o->shard_index);
}

/* A late cost row (store.h): the cost of a session this slice took without one. */
static int on_late_cost(slice_state *sl, const attrib_value *cols)
{
    attrib_session_row r;
    char scratch[2][32];
    if (attrib__session_row(&sl->ctx, cols, &r, scratch) != ATTRIB_OK) {
        /* Skipped as a bad row when it came (it stops the scan otherwise). */
        attrib_clearerr(&sl->ctx);
        return ATTRIB_OK;
    }
    if (!own_costs(sl, &r))
        return ATTRIB_OK;
    int64_t ch = attrib_strmap_intern(&sl->channels, r.channel, r.channel_len, NULL);
    if (ch < 0 || attrib__cost_agg_add_cost(&sl->costs, (uint32_t)ch, r.day, r.cost) != ATTRIB_OK)
        return attrib__error(&sl->ctx, ATTRIB_ENOMEM, "out of memory summing costs");
    return ATTRIB_OK;
}

static int on_session(const attrib_value *cols, void *payload)
{
    slice_state *sl = payload;
    const attrib__dataset *ds = sl->ds;
    attrib_session_row r;
    char scratch[2][32];
    if (cols[ATTRIB_SS_HAS_COST].i == ATTRIB__SS_LATE)
        return on_late_cost(sl, cols);
    if ((++sl->read & 0xffff) == 0) {
        uint64_t seen = atomic_fetch_add(sl->seen, 0x10000) + 0x10000;
        if (sl->main != NULL && atomic_load_explicit(&sl->main->cancel, memory_order_relaxed))
            return attrib__error(&sl->ctx, ATTRIB_ECANCEL,
                                 "interrupted; nothing of this step was written");
        if (sl->index == 0)
            attrib__progress(sl->main, "reading sessions", seen, 0);
    }
    if (ds->check_ids && attrib__ids_add(&sl->ids, &cols[ATTRIB_SS_SESSION_ID]) != ATTRIB_OK)
        return attrib__error(&sl->ctx, ATTRIB_ENOMEM, "out of memory reading sessions");
    int rc = attrib__session_row(&sl->ctx, cols, &r, scratch);
    if (rc != ATTRIB_OK) {
        if (!sl->opts->skip_bad_rows)
            return rc;
        attrib_clearerr(&sl->ctx);
        sl->bad++;
        return ATTRIB_OK;
    }
    int64_t ch = attrib_strmap_intern(&sl->channels, r.channel, r.channel_len, NULL);
    if (ch < 0)
        return attrib__error(&sl->ctx, ATTRIB_ENOMEM, "out of memory reading sessions");
    if (own_costs(sl, &r) &&
        attrib__cost_agg_add(&sl->costs, (uint32_t)ch, r.day, r.cost) != ATTRIB_OK)
        return attrib__error(&sl->ctx, ATTRIB_ENOMEM, "out of memory summing costs");
    /* Whose session this is waits HOLD rows: the users filter's word is asked
     * for now and tested HOLD / 2 rows on, when the user's slot in the map is
     * asked for if the filter lets it through; both misses overlap the rows
     * in between. Rows come in bursts (the store delivers a batch of rows
     * read ahead at once), so one row ahead was not enough. At 100M sessions
     * the filter (2 MB, 1.5M users) and the map are out of cache behind the
     * pages the scan streams through: the filter's load was 93% of
     * on_session's samples (9.6 s of CPU), the map's probe 1.9 s. */
    uint64_t h = attrib_hash(r.user_id, r.user_id_len);
    __builtin_prefetch(&ds->user_filter[filter_word(ds, h)]);
    if (sl->n_held == HOLD && (rc = settle_held(sl)) != ATTRIB_OK)
        return rc;
    return hold(sl, &r, (uint32_t)ch, h);
}

/* Append n elements of `size` at *from to the array *to (count *n_to, capacity
 * *cap); when *to is empty it takes *from over instead of copying. */
static int append(void **to, size_t *n_to, size_t *cap, void **from, size_t n, size_t *from_cap,
                  size_t size)
{
    if (*n_to == 0) {
        free(*to);
        *to = *from;
        *cap = *from_cap;
        *from = NULL;
        *from_cap = 0;
        *n_to = n;
        return 0;
    }
    if (grow(to, cap, *n_to + n, size) != 0)
        return -1;
    if (n > 0) /* an empty slice has no buffer: memcpy from NULL is undefined */
        memcpy((char *)*to + *n_to * size, *from, n * size);
    *n_to += n;
    return 0;
}

/* Move one slice into the dataset, renumbering its channels into the
 * dataset's table (in slice order, so indices follow the scan order). */
static int merge_slice(attrib_ctx *ctx, attrib__dataset *ds, slice_state *sl)
{
    int rc = ATTRIB_OK;
    uint32_t *map = malloc((sl->channels.count + 1) * sizeof(*map));
    bool identity = true;
    if (map == NULL)
        goto oom;
    for (size_t c = 0; c < sl->channels.count; c++) {
        const char *name = sl->channels.keys[c];
        int64_t g = attrib_strmap_intern(&ds->channels, name, strlen(name), NULL);
        if (g < 0)
            goto oom;
        map[c] = (uint32_t)g;
        identity = identity && map[c] == c;
    }
    if (!identity) {
        for (size_t i = 0; i < sl->n_sessions; i++)
            sl->sessions[i].channel = map[sl->sessions[i].channel];
        for (size_t i = 0; i < sl->n_other; i++)
            sl->other[i].channel = map[sl->other[i].channel];
    }
    size_t n = ds->n_sessions;
    if (append((void **)&ds->sessions, &n, &ds->cap_sessions, (void **)&sl->sessions,
               sl->n_sessions, &sl->cap_sessions, sizeof(*ds->sessions)) != 0 ||
        append((void **)&ds->session_user, &ds->n_sessions, &ds->cap_users,
               (void **)&sl->session_user, sl->n_sessions, &sl->cap_users,
               sizeof(*ds->session_user)) != 0 ||
        append((void **)&ds->other, &ds->n_other, &ds->cap_other, (void **)&sl->other, sl->n_other,
               &sl->cap_other, sizeof(*ds->other)) != 0)
        goto oom;
    if (ds->want_costs && attrib__agg_merge_costs(&ds->costs, &sl->costs, map) != ATTRIB_OK)
        goto oom;
    attrib_arena_adopt(&ds->arena, &sl->arena);
    ds->sessions_read += sl->read;
    ds->bad_sessions += sl->bad;
    goto done;
oom:
    rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory merging the session scan");
done:
    free(map);
    return rc;
}

static void slice_free(slice_state *sl)
{
    attrib_arena_free(&sl->arena);
    attrib_strmap_free(&sl->channels);
    free(sl->sessions);
    free(sl->session_user);
    free(sl->other);
    attrib__cost_agg_free(&sl->costs);
    attrib__ids_free(&sl->ids);
    for (unsigned i = 0; i < HOLD; i++)
        free(sl->held[i].buf);
}

unsigned attrib__threads(const attrib_run_options *opts)
{
    unsigned t = opts->threads;
    if (t == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        t = n > 0 ? (unsigned)n : 1;
    }
    return t > MAX_SLICES ? MAX_SLICES : t;
}

/*
 * Stream the sessions (of the selected users when `users` is set) into the
 * dataset: one slice, or several read at once when the scan is full and the
 * store can split it. On failure the first failing slice's message (the
 * first bad row in scan order) is the one reported.
 */
static int scan_sessions(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                         const attrib_scan *users, attrib__dataset *ds)
{
    slice_state *sl = NULL;
    attrib_ctx *ctxs[MAX_SLICES];
    void *payloads[MAX_SLICES];
    atomic_uint_fast64_t seen;
    atomic_init(&seen, 0);
    unsigned n = users == NULL && st->ops->scan_sessions_parts != NULL ? attrib__threads(opts) : 1;
    int rc = ATTRIB_OK;
    if (n < 1)
        n = 1;
    sl = calloc(n, sizeof(*sl));
    if (sl == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    for (int attempt = 0;; attempt++) {
        for (unsigned i = 0; i < n; i++) {
            slice_free(&sl[i]);
            sl[i] = (slice_state){.main = ctx, .ds = ds, .opts = opts, .index = i, .seen = &seen};
            ctxs[i] = &sl[i].ctx;
            payloads[i] = &sl[i];
        }
        atomic_store(&seen, 0);
        if (users == NULL && st->ops->scan_sessions_parts != NULL)
            rc = st->ops->scan_sessions_parts(st->impl, n, ctxs, on_session, payloads);
        else
            rc = st->ops->scan_sessions(st->impl, users, on_session, &sl[0]);
        /* A fast path of the store did not hold: everything again (once). */
        if (rc != ATTRIB__RESTART || attempt > 0)
            break;
    }
    if (rc == ATTRIB__RESTART)
        rc = attrib__error(ctx, ATTRIB_ERROR, "the session scan asked twice to start again");
    for (unsigned i = 0; i < n && rc == ATTRIB_OK; i++) {
        while (sl[i].n_held > 0 && rc == ATTRIB_OK)
            rc = settle_held(&sl[i]); /* each slice's last rows */
    }
    if (rc != ATTRIB_OK) {
        /* The store's own errors are in ctx (one slice) or ctxs[0]. */
        for (unsigned i = 0; i < n; i++) {
            if (sl[i].ctx.code != ATTRIB_OK) {
                rc = attrib__error_replace(ctx, sl[i].ctx.code, "%s", sl[i].ctx.msg);
                break;
            }
        }
        goto done;
    }
    if (ds->check_ids) {
        /* Every session id went by: a sort of their hashes instead of the table's. */
        attrib__ids sets[MAX_SLICES];
        bool maybe = false;
        for (unsigned i = 0; i < n; i++) {
            sets[i] = sl[i].ids;
            sl[i].ids = (attrib__ids){0};
        }
        rc = attrib__ids_maybe_repeated(ctx, sets, n, &maybe);
        if (rc == ATTRIB_OK && maybe)
            rc = attrib__rows_check_unique_of(ctx, st, ATTRIB__IDS_SESSIONS);
    }
    for (unsigned i = 0; i < n && rc == ATTRIB_OK; i++)
        rc = merge_slice(ctx, ds, &sl[i]);
done:
    for (unsigned i = 0; i < n; i++)
        slice_free(&sl[i]);
    free(sl);
    return rc;
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

/* A journey in the sort by conv_id: the id's first 8 bytes as a big-endian
 * number (zeros past its end) order as strcmp orders the ids, the rest is
 * compared only on a tie. */
typedef struct {
    uint64_t prefix;
    const char *conv_id;
    size_t i;
} journey_key;

static int cmp_journey_key(const void *a, const void *b)
{
    const journey_key *x = a, *y = b;
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    return strcmp(x->conv_id, y->conv_id);
}

/* Sort the journeys by conv_id (byte order). Sorting them with strcmp
 * through their pointers took a cache miss per comparison: 1 s of a 100M
 * session run, on one core; the keys are compared in place. */
static int sort_journeys(attrib_ctx *ctx, attrib__dataset *ds)
{
    size_t n = ds->n_journeys;
    journey_key *keys = malloc(n * sizeof(*keys));
    attrib_journey *sorted = malloc(n * sizeof(*sorted));
    int rc = ATTRIB_OK;
    if (keys == NULL || sorted == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory sorting journeys");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const char *id = ds->journeys[i].conv_id;
        uint64_t prefix = 0;
        bool end = false;
        for (int k = 0; k < 8; k++) {
            end = end || id[k] == '\0';
            prefix = prefix << 8 | (end ? 0u : (unsigned char)id[k]);
        }
        keys[i] = (journey_key){.prefix = prefix, .conv_id = id, .i = i};
    }
    qsort(keys, n, sizeof(*keys), cmp_journey_key);
    for (size_t i = 0; i < n; i++)
        sorted[i] = ds->journeys[keys[i].i];
    memcpy(ds->journeys, sorted, n * sizeof(*sorted));
done:
    free(keys);
    free(sorted);
    return rc;
}

static int cmp_unattr(const void *a, const void *b)
{
    return strcmp(((const attrib_unattributable *)a)->conv_id,
                  ((const attrib_unattributable *)b)->conv_id);
}

static bool other_before(const attrib__other *x, const attrib__other *y)
{
    if (x->ts != y->ts)
        return x->ts < y->ts;
    if (x->channel != y->channel)
        return x->channel < y->channel;
    if (x->holder != y->holder)
        return x->holder < y->holder;
    if (x->closer != y->closer)
        return x->closer < y->closer;
    return x->impression < y->impression;
}

/* Group the compact rows by user hash: a stable LSD radix sort on the hash
 * (4 passes of 16 bits), then an insertion sort by time within each user,
 * which is linear when rows arrived in time order as tables usually are. */
static int group_other(attrib_ctx *ctx, attrib__dataset *ds)
{
    size_t n = ds->n_other;
    if (n < 2)
        return ATTRIB_OK;
    attrib__other *tmp = malloc(n * sizeof(*tmp));
    size_t *count = malloc(65536 * sizeof(*count));
    int rc = ATTRIB_OK;
    if (tmp == NULL || count == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory grouping paths");
        goto done;
    }
    attrib__other *src = ds->other, *dst = tmp;
    for (int shift = 0; shift < 64; shift += 16) {
        memset(count, 0, 65536 * sizeof(*count));
        for (size_t i = 0; i < n; i++)
            count[(src[i].user >> shift) & 0xffff]++;
        size_t sum = 0;
        for (size_t d = 0; d < 65536; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i].user >> shift) & 0xffff]++] = src[i];
        attrib__other *t = src;
        src = dst;
        dst = t;
    }
    /* Four passes: the sorted rows are back in ds->other. */
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && src[b].user == src[a].user)
            b++;
        for (size_t i = a + 1; i < b; i++) {
            attrib__other x = src[i];
            size_t j = i;
            while (j > a && other_before(&x, &src[j - 1])) {
                src[j] = src[j - 1];
                j--;
            }
            src[j] = x;
        }
        a = b;
    }
done:
    free(count);
    free(tmp);
    return rc;
}

/* Counting sort of sessions[0..n) by user (staging user[]), then qsort within a
 * user with cmp. On success *sessions is the grouped array and *start[u] the
 * first session of user u; *user is freed. */
static int group_by_user(attrib_ctx *ctx, attrib_session **sessions, uint32_t **user, size_t n,
                         size_t nu, size_t **start, int (*cmp)(const void *, const void *))
{
    int rc = ATTRIB_OK;
    attrib_session *sorted = NULL;
    size_t *cursor = NULL;
    *start = calloc(nu + 1, sizeof(**start));
    cursor = malloc((nu + 1) * sizeof(*cursor));
    if (*start == NULL || cursor == NULL ||
        (n > 0 && (sorted = malloc(n * sizeof(*sorted))) == NULL)) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory grouping sessions");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        (*start)[(*user)[i] + 1]++;
    for (size_t u = 0; u < nu; u++)
        (*start)[u + 1] += (*start)[u];
    memcpy(cursor, *start, (nu + 1) * sizeof(*cursor));
    for (size_t i = 0; i < n; i++)
        sorted[cursor[(*user)[i]]++] = (*sessions)[i];
    free(*sessions);
    *sessions = sorted;
    sorted = NULL;
    free(*user);
    *user = NULL;
    for (size_t u = 0; u < nu; u++) {
        size_t a = (*start)[u], b = (*start)[u + 1];
        if (b - a > 1)
            qsort(*sessions + a, b - a, sizeof(**sessions), cmp);
    }
done:
    free(cursor);
    free(sorted);
    return rc;
}

/* Group the kept sessions per user, sorted by (ts, id); ids must be unique. */
static int group_sessions(attrib_ctx *ctx, attrib__dataset *ds)
{
    int rc = group_by_user(ctx, &ds->sessions, &ds->session_user, ds->n_sessions, ds->users.count,
                           &ds->user_start, cmp_session);
    for (size_t k = 1; rc == ATTRIB_OK && k < ds->n_sessions; k++) {
        if (strcmp(ds->sessions[k].id, ds->sessions[k - 1].id) == 0)
            rc = attrib__error(ctx, ATTRIB_EDATA,
                               "session_sources row session_id '%s': the session appears "
                               "twice; session_id must be unique",
                               ds->sessions[k].id);
    }
    if (rc == ATTRIB_OK && ds->all_paths)
        rc = group_other(ctx, ds);
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
    if (ds->n_journeys > 1) {
        int rc = sort_journeys(ctx, ds);
        if (rc != ATTRIB_OK)
            return rc;
    }
    if (ds->n_unattributable > 1)
        qsort(ds->unattributable, ds->n_unattributable, sizeof(*ds->unattributable), cmp_unattr);
    return ATTRIB_OK;
}

int attrib__dataset_load(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                         bool all_sessions, attrib__dataset *ds)
{
    load_state ls = {.ctx = ctx, .ds = ds, .opts = opts, .selected = true};
    attrib_scan sel = {.start_date = opts->start_date, .end_date = opts->end_date};
    bool ranged = opts->start_date != NULL || opts->end_date != NULL;
    ds->costs.channels = &ds->channels;
    if (ds->all_paths)
        all_sessions = true; /* every conversion and session is a path */
    /* Duplicate ids first: a session of two rows would count its cost twice. */
    /* A shard of a model that needs only its own users' journeys (or whose path
     * statistics the job reduces: local_paths) reads only its partitions when the
     * tables are hash-partitioned (store/partition.h). Ids
     * unique over the whole table is then shard 0's check (a job fails when any
     * shard does); every other shard checks its own partitions, which is what it
     * reads (the views are in place), or the whole table when there are none. */
    bool scope = opts->shard_count > 0 && (!ds->all_paths || ds->local_paths);
    int rc = ATTRIB_OK;
    /* Tables whose every row passes the scans below: they check the ids themselves. */
    unsigned defer = 0, deferred = 0;
    if (!scope && (!ranged || all_sessions))
        defer = ATTRIB__IDS_SESSIONS | (!ranged || ds->all_paths ? ATTRIB__IDS_CONVERSIONS : 0);
    if (!scope || opts->shard_index == 0)
        rc = attrib__rows_check_unique(ctx, st, defer, &deferred);
    if (rc == ATTRIB_OK && scope)
        rc = attrib__shard_scope(st, opts->shard_index, opts->shard_count, &ds->scoped);
    if (rc == ATTRIB_OK && scope && opts->shard_index != 0)
        rc = attrib__rows_check_unique(ctx, st, 0, &deferred);
    ds->check_ids = (deferred & ATTRIB__IDS_SESSIONS) != 0;
    ls.check_ids = (deferred & ATTRIB__IDS_CONVERSIONS) != 0;
    if (rc != ATTRIB_OK)
        goto done;
    attrib__progress(ctx, "reading conversions", 0, 0);
    rc = st->ops->scan_conversions(st->impl, ds->all_paths ? NULL : &sel, on_conversion, &ls);
    if (ls.check_ids) {
        bool maybe = false;
        if (rc == ATTRIB_OK)
            rc = attrib__ids_maybe_repeated(ctx, &ls.ids, 1, &maybe);
        if (rc == ATTRIB_OK && maybe)
            rc = attrib__rows_check_unique_of(ctx, st, ATTRIB__IDS_CONVERSIONS);
        ls.check_ids = false; /* (the user's other conversions below are read again) */
    }
    if (rc != ATTRIB_OK)
        goto done;
    size_t nu = ds->users.count;
    bool probe = ranged && !all_sessions && nu <= USER_PROBE_LIMIT;
    attrib_scan us = {.users = ds->users.keys, .n_users = nu, .no_costs = !ds->want_costs};
    /* The user's earlier conversions outside the range end journeys too. */
    if (ranged && !ds->all_paths && opts->reset_after_conversion && nu > 0) {
        ls.selected = false;
        rc = st->ops->scan_conversions(st->impl, probe ? &us : NULL, on_conversion, &ls);
        if (rc != ATTRIB_OK)
            goto done;
    }
    if (nu > 0 || ds->want_costs) {
        rc = build_user_filter(ctx, ds);
        attrib__progress(ctx, "reading sessions", 0, 0);
        if (rc == ATTRIB_OK)
            rc = scan_sessions(ctx, st, opts, probe ? &us : NULL, ds);
        if (rc != ATTRIB_OK)
            goto done;
    } else if (ds->check_ids) {
        rc = attrib__rows_check_unique_of(ctx, st, ATTRIB__IDS_SESSIONS); /* no scan after all */
        if (rc != ATTRIB_OK)
            goto done;
    }
    rc = group_sessions(ctx, ds);
    if (rc == ATTRIB_OK)
        rc = cut_journeys(ctx, opts, ds);
done:
    attrib__ids_free(&ls.ids);
    if (ds->scoped) {
        int drc = attrib__shard_unscope(st);
        if (rc == ATTRIB_OK)
            rc = drc;
    }
    return rc;
}

static int cmp_conv_id(const void *a, const void *b)
{
    const attrib__conv *const *x = a, *const *y = b;
    return strcmp((*x)->conv_id, (*y)->conv_id);
}

/* The selected days [from, to] of opts (open ends: INT32_MIN / INT32_MAX). */
static void selected_days(const attrib_run_options *opts, int32_t *from, int32_t *to)
{
    *from = INT32_MIN;
    *to = INT32_MAX;
    /* the CLI and the steps validate the dates; an invalid one leaves that end open */
    if (opts->start_date != NULL &&
        attrib_date_parse(opts->start_date, strlen(opts->start_date), from) != 0)
        *from = INT32_MIN;
    if (opts->end_date != NULL &&
        attrib_date_parse(opts->end_date, strlen(opts->end_date), to) != 0)
        *to = INT32_MAX;
}

/* The non-converting tail s[from..n), cut to the lookback of its last session;
 * with fit_range selected only when that session is on a selected day. */
static int tail_path(const attrib_session *s, size_t from, size_t n, const attrib_run_options *opts,
                     attrib__path_fn fn, void *payload)
{
    if (from >= n)
        return ATTRIB_OK;
    if (opts->fit_range == ATTRIB_FIT_RANGE_SELECTED) {
        int32_t lo, hi, day = attrib_ts_day(s[n - 1].ts);
        selected_days(opts, &lo, &hi);
        if (day < lo || day > hi)
            return ATTRIB_OK;
    }
    if (opts->lookback_days > 0) {
        int64_t lo = s[n - 1].ts - (int64_t)opts->lookback_days * ATTRIB_SECS_PER_DAY;
        while (from < n && s[from].ts < lo)
            from++;
    }
    attrib_path p = {.sessions = s + from, .n = n - from, .converted = false, .value = 0};
    return fn(&p, payload);
}

/* The converting path of every conversion the fit covers, in conv_id order:
 * its journey (as_journeys, or fit_paths JOURNEYS) or its journey cut at the
 * user's previous conversion (fit_paths CUT). */
static int conversion_paths(const attrib__dataset *ds, const attrib_run_options *opts,
                            bool as_journeys, attrib__path_fn fn, void *payload)
{
    int rc = ATTRIB_OK;
    const attrib__conv **order = malloc((ds->n_convs + 1) * sizeof(*order));
    if (order == NULL)
        return ATTRIB_ENOMEM;
    attrib_run_options o = *opts;
    if (!as_journeys && opts->fit_paths == ATTRIB_FIT_PATHS_CUT)
        o.reset_after_conversion = true;
    for (size_t i = 0; i < ds->n_convs; i++)
        order[i] = &ds->convs[i];
    qsort(order, ds->n_convs, sizeof(*order), cmp_conv_id);
    /* convs are sorted by (user, ts, conv_id): the previous one of the same user
     * is the one just before in that array. */
    for (size_t i = 0; i < ds->n_convs && rc == ATTRIB_OK; i++) {
        const attrib__conv *c = order[i];
        if (opts->fit_range == ATTRIB_FIT_RANGE_SELECTED && !c->selected)
            continue;
        size_t at = (size_t)(c - ds->convs);
        int64_t prev =
            at > 0 && ds->convs[at - 1].user == c->user ? ds->convs[at - 1].ts : INT64_MIN;
        const attrib_session *s = ds->sessions + ds->user_start[c->user];
        size_t n = ds->user_start[c->user + 1] - ds->user_start[c->user];
        size_t lo, hi;
        attrib__journey_window(s, n, c->ts, prev, &o, &lo, &hi);
        if (hi == lo)
            continue;
        attrib_path p = {.sessions = s + lo, .n = hi - lo, .converted = true, .value = c->revenue};
        rc = fn(&p, payload);
    }
    free(order);
    return rc;
}

int attrib__dataset_journeys(const attrib__dataset *ds, const attrib_run_options *opts,
                             attrib__path_fn fn, void *payload)
{
    return conversion_paths(ds, opts, true, fn, payload);
}

int attrib__dataset_paths(const attrib__dataset *ds, const attrib_run_options *opts,
                          attrib__path_fn fn, void *payload)
{
    int rc = conversion_paths(ds, opts, false, fn, payload);
    /* Tails after each converting user's last conversion. */
    size_t nu = ds->users.count;
    size_t *last = NULL;
    if (rc == ATTRIB_OK && (last = calloc(nu + 1, sizeof(*last))) == NULL)
        rc = ATTRIB_ENOMEM;
    for (size_t i = 0; rc == ATTRIB_OK && i < ds->n_convs; i++) {
        const attrib__conv *c = &ds->convs[i];
        last[c->user] = i + 1; /* 1 + index of the user's last conversion */
    }
    for (size_t u = 0; rc == ATTRIB_OK && u < nu; u++) {
        const attrib_session *s = ds->sessions + ds->user_start[u];
        size_t n = ds->user_start[u + 1] - ds->user_start[u];
        size_t from = 0;
        if (last[u] > 0) {
            int64_t t = ds->convs[last[u] - 1].ts;
            attrib_run_options o = *opts;
            o.lookback_days = 0;
            o.reset_after_conversion = false;
            size_t lo;
            attrib__journey_window(s, n, t, INT64_MIN, &o, &lo, &from); /* sessions before */
        }
        rc = tail_path(s, from, n, opts, fn, payload);
    }
    /* Users who never convert: one path each, rebuilt as sessions without ids. */
    attrib_session *buf = NULL;
    size_t cap = 0;
    for (size_t a = 0; rc == ATTRIB_OK && a < ds->n_other;) {
        size_t b = a + 1;
        while (b < ds->n_other && ds->other[b].user == ds->other[a].user)
            b++;
        if (b - a > cap) {
            cap = b - a;
            attrib_session *p = realloc(buf, cap * sizeof(*buf));
            if (p == NULL) {
                rc = ATTRIB_ENOMEM;
                break;
            }
            buf = p;
        }
        for (size_t i = a; i < b; i++) {
            const attrib__other *o = &ds->other[i];
            buf[i - a] = (attrib_session){.id = NULL,
                                          .ts = o->ts,
                                          .channel = o->channel,
                                          .holder = o->holder,
                                          .closer = o->closer,
                                          .impression = o->impression};
        }
        rc = tail_path(buf, 0, b - a, opts, fn, payload);
        a = b;
    }
    free(buf);
    free(last);
    return rc;
}

typedef struct {
    attrib_model *model;
    const attrib_channels *channels;
} observe_state;

static int observe_path(const attrib_path *path, void *payload)
{
    observe_state *os = payload;
    return attrib_model_observe(os->model, path, os->channels);
}

static int observe_journey(const attrib_path *path, void *payload)
{
    observe_state *os = payload;
    return attrib_model_observe_journey(os->model, path, os->channels);
}

int attrib__dataset_fit(attrib_ctx *ctx, const attrib__dataset *ds, const attrib_run_options *opts,
                        attrib_model *model)
{
    attrib_channels ch = attrib__dataset_channels(ds);
    const attrib_model_ops *ops = attrib_model_ops_of(model);
    int rc = ATTRIB_OK;
    if (ops->flags & ATTRIB_MODEL_NEEDS_PATHS) {
        observe_state os = {model, &ch};
        rc = attrib__dataset_paths(ds, opts, observe_path, &os);
        if (rc == ATTRIB_OK && ops->observe_journey != NULL)
            rc = attrib__dataset_journeys(ds, opts, observe_journey, &os);
        if (rc == ATTRIB_ENOMEM)
            rc = attrib__error(ctx, rc, "out of memory collecting paths");
        else if (rc != ATTRIB_OK)
            rc = attrib__error(ctx, rc, "model %s rejected a path", ops->name);
        if (ds->local_paths && rc == ATTRIB_OK) {
            rc = attrib_model_reduce(ctx, model, opts->reducer);
        } else if (ds->local_paths) {
            int any = 0; /* the reduction's first collective, voting no */
            (void)opts->reducer->max_all(1, &any, opts->reducer->payload);
        }
        if (rc == ATTRIB_OK)
            rc = attrib_model_finish(model, ctx);
    }
    if (rc == ATTRIB_OK)
        rc = attrib_model_bind(model, ctx, &ch);
    return rc;
}

int attrib__dataset_summarize(attrib_ctx *ctx, const attrib__dataset *ds, attrib_summary *sum)
{
    for (size_t i = 0; i < ds->n_convs; i++)
        sum->conversions_selected += ds->convs[i].selected;
    sum->conversions_attributed += ds->n_journeys;
    sum->sessions_read += ds->sessions_read;
    for (size_t j = 0; j < ds->n_journeys; j++)
        sum->journey_sessions += ds->journeys[j].n;
    sum->bad_rows_skipped += ds->bad_sessions + ds->bad_conversions;
    if (ds->n_unattributable == 0)
        return ATTRIB_OK;
    attrib_unattributable *u =
        realloc(sum->unattributable,
                (sum->n_unattributable + ds->n_unattributable) * sizeof(*sum->unattributable));
    if (u == NULL)
        return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
    sum->unattributable = u;
    for (size_t i = 0; i < ds->n_unattributable; i++) {
        char *id = strdup(ds->unattributable[i].conv_id);
        if (id == NULL)
            return attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        u[sum->n_unattributable++] = (attrib_unattributable){id, ds->unattributable[i].revenue};
        sum->unattributable_revenue += ds->unattributable[i].revenue;
    }
    return ATTRIB_OK;
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
    attrib__agg_free(&ds->costs);
    free(ds->user_filter);
    free(ds->convs);
    free(ds->sessions);
    free(ds->session_user);
    free(ds->user_start);
    free(ds->journeys);
    free(ds->unattributable);
    free(ds->other);
    memset(ds, 0, sizeof(*ds));
}
