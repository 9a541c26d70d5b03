/*
 * The concurrent full scan of session_sources with session_costs joined
 * (scan_sessions_parts of the SQLite backend; contract in store.h).
 *
 * SQLite decodes records on one core per connection, so a full scan is split
 * into rowid slices of session_sources, each read on a read-only connection
 * of its own by a thread of its own; every connection opens its read
 * transaction before any part starts, so all parts see one snapshot.
 *
 * Costs are joined by a merge when session_costs, in rowid order, has
 * strictly ascending text ids (attrib gen and most sorted bulk loads): each
 * part first checks a slice of it (or, once the order is known, verifies it
 * while merging), then reads its sessions in rowid order against a cost
 * cursor started at its first session's id. Sessions out of id order are
 * looked up by index. When the order turns out broken after rows were
 * delivered, the scan returns ATTRIB__RESTART and remembers it
 * (costs_unsorted): the caller discards the rows and calls again, and the
 * parts then read their slices through a LEFT JOIN on the cost index.
 * Without rowids or a database file there is one part on the store's own
 * connection.
 */
#include "lib/store/sqlite.h"

#include "lib/store/readahead.h"

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SQLite's BINARY collation: memcmp, then the shorter first. */
static int binary_cmp(const unsigned char *a, int na, const unsigned char *b, int nb)
{
    int c = memcmp(a, b, (size_t)(na < nb ? na : nb));
    return c != 0 ? c : na - nb;
}

#define PART_MIN_ROWS 65536 /* fewer rowids per part: fewer parts */
#define PART_MAX 8
#define PART_STOPPED 1   /* a part gave up: an earlier part failed, or the order broke */
#define COST_BROKEN 1000 /* cost_step: session_costs is not in id order after all */

/* A copy of a text id (len -1: none). */
typedef struct {
    unsigned char *p;
    int len;
    size_t cap;
} sq_key;

static int key_set(sq_key *k, const unsigned char *p, int len)
{
    if ((size_t)len + 1 > k->cap) {
        size_t cap = (size_t)len + 64;
        unsigned char *q = realloc(k->p, cap);
        if (q == NULL)
            return -1;
        k->p = q;
        k->cap = cap;
    }
    memcpy(k->p, p, (size_t)len);
    k->len = len;
    return 0;
}

typedef struct sq_parts sq_parts;

typedef struct {
    sq_parts *all;
    unsigned index;
    sqlite3 *db;     /* this part's connection (the store's own when alone) */
    attrib_ctx *ctx; /* this part's errors */
    void *payload;
    int64_t lo, hi;       /* session_sources rowids, inclusive */
    int64_t clo, chi;     /* session_costs rowids this part checks, inclusive */
    sq_key cfirst, clast; /* first and last id of that slice */
    bool sorted;          /* the slice ascends strictly */
    sq_key start;         /* id of the part's first session; ids below it are looked up */
    int64_t crow, cstop;  /* its cost cursor starts at rowid crow, verifies below cstop */
    sq_key bfirst, blast; /* verify: first id seen, last id below cstop */
    int rc;
} sq_part;

struct sq_parts {
    sq_store *s;
    unsigned n;
    bool merge;         /* join costs by a merge */
    bool verify;        /* ... checking the cost order while merging (no check pass) */
    atomic_bool broken; /* verify found session_costs out of id order */
    attrib_row_fn fn;
    atomic_uint failed;   /* lowest failing part; UINT_MAX when none */
    atomic_bool unsorted; /* a check found session_costs out of id order */
    sq_part part[PART_MAX];
};

static int part_fail(sq_part *p, const char *what)
{
    int code = sqlite3_errcode(p->db) == SQLITE_NOMEM ? ATTRIB_ENOMEM : ATTRIB_EDB;
    return attrib__error(p->ctx, code, "%s: %s: %s", p->all->s->path, what, sqlite3_errmsg(p->db));
}

static bool part_stopped(sq_part *p)
{
    return atomic_load(&p->all->failed) < p->index || atomic_load(&p->all->broken);
}

static void part_failed(sq_part *p)
{
    unsigned cur = atomic_load(&p->all->failed);
    while (p->index < cur && !atomic_compare_exchange_weak(&p->all->failed, &cur, p->index))
        ;
}

/* Check that this part's slice of session_costs has strictly ascending text ids. */
static void *check_part(void *arg)
{
    sq_part *p = arg;
    sqlite3_stmt *st = NULL;
    int step = SQLITE_DONE;
    uint64_t k = 0;
    p->rc = ATTRIB_OK;
    p->sorted = true;
    p->cfirst.len = p->clast.len = -1;
    if (sqlite3_prepare_v2(p->db,
                           "SELECT session_id FROM session_costs WHERE rowid BETWEEN ?1 AND ?2 "
                           "ORDER BY rowid",
                           -1, &st, NULL) != SQLITE_OK) {
        p->rc = part_fail(p, "reading session_costs");
        goto done;
    }
    sqlite3_bind_int64(st, 1, p->clo);
    sqlite3_bind_int64(st, 2, p->chi);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *id = sqlite3_column_text(st, 0);
        int len = sqlite3_column_bytes(st, 0);
        if ((++k & 1023) == 0 && atomic_load(&p->all->unsorted))
            break; /* the answer is known */
        if (sqlite3_column_type(st, 0) != SQLITE_TEXT || id == NULL ||
            (p->clast.len >= 0 && binary_cmp(p->clast.p, p->clast.len, id, len) >= 0)) {
            p->sorted = false;
            atomic_store(&p->all->unsorted, true);
            break;
        }
        if ((p->cfirst.len < 0 && key_set(&p->cfirst, id, len) != 0) ||
            key_set(&p->clast, id, len) != 0) {
            p->rc = attrib__error(p->ctx, ATTRIB_ENOMEM, "out of memory");
            goto done;
        }
    }
    if (p->sorted && step != SQLITE_DONE && step != SQLITE_ROW)
        p->rc = part_fail(p, "reading session_costs");
done:
    sqlite3_finalize(st);
    if (p->rc != ATTRIB_OK)
        part_failed(p);
    return NULL;
}

/* This part's sessions through a LEFT JOIN on the cost index. */
static int join_part(sq_part *p)
{
    sq_store *s = p->all->s;
    sqlite3_stmt *st = NULL;
    attrib_value v[ATTRIB_SS_NCOLS];
    int rc = ATTRIB_OK;
    uint64_t k = 0;
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT s.session_id, s.user_id, s.event_date, s.event_time, s.channel_name, "
             "s.holder_engagement, s.closer_engagement, s.impression_interaction, c.cost, "
             "c.session_id IS NOT NULL, %s FROM session_sources s LEFT JOIN session_costs c "
             "ON c.session_id = s.session_id%s",
             s->sessions_rowid ? "s.rowid" : "NULL",
             s->sessions_rowid ? " WHERE s.rowid BETWEEN ?1 AND ?2 ORDER BY s.rowid" : "");
    if (sqlite3_prepare_v2(p->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = part_fail(p, "reading session_sources");
        goto done;
    }
    if (s->sessions_rowid) {
        sqlite3_bind_int64(st, 1, p->lo);
        sqlite3_bind_int64(st, 2, p->hi);
    }
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = part_fail(p, "reading session_sources");
            goto done;
        }
        if ((++k & 1023) == 0 && part_stopped(p)) {
            rc = PART_STOPPED;
            goto done;
        }
        memset(v, 0, sizeof(v));
        for (int i = 0; i < ATTRIB_SS_NCOLS; i++)
            attrib__sq_column_value(st, i, &v[i]);
        rc = p->all->fn(v, p->payload);
        if (rc != ATTRIB_OK)
            goto done;
    }
done:
    sqlite3_finalize(st);
    return rc;
}

/* The rowid of the first cost row whose id is >= the id of this part's first
 * session, in p->crow (INT64_MIN for the first part or a bad id, INT64_MAX when
 * none), and that id in p->start. */
static int merge_start(sq_part *p)
{
    sqlite3_stmt *st = NULL;
    int rc = ATTRIB_OK;
    sq_key *start = &p->start;
    int64_t *crow = &p->crow;
    *crow = INT64_MIN;
    if (p->index == 0)
        return ATTRIB_OK;
    if (sqlite3_prepare_v2(p->db,
                           "SELECT session_id FROM session_sources WHERE rowid >= ?1 "
                           "ORDER BY rowid LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = part_fail(p, "reading session_sources");
        goto done;
    }
    sqlite3_bind_int64(st, 1, p->lo);
    int step = sqlite3_step(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = part_fail(p, "reading session_sources");
        goto done;
    }
    if (step == SQLITE_DONE || sqlite3_column_type(st, 0) != SQLITE_TEXT)
        goto done; /* no row, or a bad id: the cursor starts at the first cost */
    if (key_set(start, sqlite3_column_text(st, 0), sqlite3_column_bytes(st, 0)) != 0) {
        rc = attrib__error(p->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(p->db,
                           "SELECT rowid FROM session_costs WHERE session_id >= ?1 "
                           "ORDER BY session_id LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = part_fail(p, "reading session_costs");
        goto done;
    }
    sqlite3_bind_text(st, 1, (const char *)start->p, start->len, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *crow = sqlite3_column_int64(st, 0);
    else if (step == SQLITE_DONE)
        *crow = INT64_MAX;
    else
        rc = part_fail(p, "reading session_costs");
done:
    sqlite3_finalize(st);
    return rc;
}

/*
 * Step the cost cursor. With verify, check that ids ascend strictly: a row out
 * of order marks the order broken (every part then stops, and the scan starts
 * again as joins) and gives COST_BROKEN. `last` is the previous id.
 */
static int cost_step(sq_part *p, sqlite3_stmt *cs, sq_key *last)
{
    int step = sqlite3_step(cs);
    if (step != SQLITE_ROW || !p->all->verify)
        return step;
    const unsigned char *id = sqlite3_column_text(cs, 0);
    int len = sqlite3_column_bytes(cs, 0);
    if (sqlite3_column_type(cs, 0) != SQLITE_TEXT || id == NULL ||
        (last->len >= 0 && binary_cmp(last->p, last->len, id, len) >= 0)) {
        atomic_store(&p->all->broken, true);
        return COST_BROKEN;
    }
    if (key_set(last, id, len) != 0 || (p->bfirst.len < 0 && key_set(&p->bfirst, id, len) != 0) ||
        (sqlite3_column_int64(cs, 2) < p->cstop && key_set(&p->blast, id, len) != 0)) {
        attrib__error(p->ctx, ATTRIB_ENOMEM, "out of memory"); /* kept over part_fail's */
        return SQLITE_NOMEM;
    }
    return step;
}

/* This part's sessions merged with session_costs in rowid (= id) order. */
static int merge_part(sq_part *p)
{
    sq_store *s = p->all->s;
    sqlite3_stmt *ss = NULL, *cs = NULL, *look = NULL;
    sq_key passed = {NULL, -1, 0}; /* the largest cost id passed so far */
    sq_key last = {NULL, -1, 0};   /* the cursor's previous id (verify) */
    const sq_key *start = &p->start;
    int rc = ATTRIB_OK;
    uint64_t k = 0;
    attrib_value v[ATTRIB_SS_NCOLS];
    char sql[320];
    snprintf(sql, sizeof(sql),
             "SELECT session_id, user_id, event_date, event_time, channel_name, "
             "holder_engagement, closer_engagement, impression_interaction, %s "
             "FROM session_sources%s",
             s->sessions_rowid ? "rowid" : "NULL",
             s->sessions_rowid ? " WHERE rowid BETWEEN ?1 AND ?2 ORDER BY rowid" : "");
    if (sqlite3_prepare_v2(p->db, sql, -1, &ss, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(p->db,
                           "SELECT session_id, cost, rowid FROM session_costs WHERE rowid >= ?1 "
                           "ORDER BY rowid",
                           -1, &cs, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(p->db, "SELECT cost FROM session_costs WHERE session_id = ?1", -1, &look,
                           NULL) != SQLITE_OK) {
        rc = part_fail(p, "reading session_sources");
        goto done;
    }
    if (s->sessions_rowid) {
        sqlite3_bind_int64(ss, 1, p->lo);
        sqlite3_bind_int64(ss, 2, p->hi);
    }
    sqlite3_bind_int64(cs, 1, p->crow);
    int cstep = cost_step(p, cs, &last);
    for (;;) {
        int step = sqlite3_step(ss);
        if (step == SQLITE_DONE)
            break;
        if (cstep == COST_BROKEN) {
            rc = PART_STOPPED;
            goto done;
        }
        if (step != SQLITE_ROW || (cstep != SQLITE_ROW && cstep != SQLITE_DONE)) {
            rc = part_fail(p, "reading session_sources");
            goto done;
        }
        if ((++k & 1023) == 0 && part_stopped(p)) {
            rc = PART_STOPPED;
            goto done;
        }
        memset(v, 0, sizeof(v));
        for (int i = 0; i < 8; i++)
            attrib__sq_column_value(ss, i, &v[i]);
        attrib__sq_column_value(ss, 8, &v[ATTRIB_SS_ROWID]);
        v[ATTRIB_SS_COST].type = ATTRIB_V_NULL;
        v[ATTRIB_SS_HAS_COST] = (attrib_value){.type = ATTRIB_V_INT, .i = 0};
        const attrib_value *id = &v[ATTRIB_SS_SESSION_ID];
        const unsigned char *x = (const unsigned char *)id->s;
        int xl = (int)id->len;
        bool lookup = id->type != ATTRIB_V_TEXT ||
                      (start->len >= 0 && binary_cmp(x, xl, start->p, start->len) < 0) ||
                      (passed.len >= 0 && binary_cmp(x, xl, passed.p, passed.len) <= 0);
        if (lookup) {
            /* Out of id order: the merge has passed it (or starts after it). */
            sqlite3_reset(look);
            sqlite3_bind_value(look, 1, sqlite3_column_value(ss, 0));
            int l = sqlite3_step(look);
            if (l == SQLITE_ROW) {
                attrib__sq_column_value(look, 0, &v[ATTRIB_SS_COST]);
                v[ATTRIB_SS_HAS_COST].i = 1;
            } else if (l != SQLITE_DONE) {
                rc = part_fail(p, "reading session_costs");
                goto done;
            }
        } else {
            while (cstep == SQLITE_ROW) {
                const unsigned char *c = sqlite3_column_text(cs, 0);
                int cl = sqlite3_column_bytes(cs, 0);
                int cmp = binary_cmp(c, cl, x, xl);
                if (cmp > 0)
                    break;
                if (key_set(&passed, c, cl) != 0) {
                    rc = attrib__error(p->ctx, ATTRIB_ENOMEM, "out of memory");
                    goto done;
                }
                if (cmp == 0) {
                    /* The value read stays valid until the next step. */
                    attrib__sq_column_value(cs, 1, &v[ATTRIB_SS_COST]);
                    v[ATTRIB_SS_HAS_COST].i = 1;
                    break;
                }
                cstep = cost_step(p, cs, &last);
            }
        }
        rc = p->all->fn(v, p->payload);
        if (rc != ATTRIB_OK)
            goto done;
        if (!lookup && v[ATTRIB_SS_HAS_COST].i == 1)
            cstep = cost_step(p, cs, &last); /* consumed the matching cost row */
    }
    /* Verify the rest of this part's share of session_costs. */
    while (p->all->verify && cstep == SQLITE_ROW && sqlite3_column_int64(cs, 2) < p->cstop)
        cstep = cost_step(p, cs, &last);
    if (cstep == COST_BROKEN)
        rc = PART_STOPPED;
    else if (cstep != SQLITE_ROW && cstep != SQLITE_DONE)
        rc = part_fail(p, "reading session_costs");
done:
    free(passed.p);
    free(last.p);
    sqlite3_finalize(ss);
    sqlite3_finalize(cs);
    sqlite3_finalize(look);
    return rc;
}

static void *scan_part(void *arg)
{
    sq_part *p = arg;
    p->rc = p->all->merge ? merge_part(p) : join_part(p);
    if (p->rc < 0)
        part_failed(p);
    return NULL;
}

/* Run fn on every part, parts 1.. on threads (inline when a thread cannot start). */
static void run_parts(sq_parts *all, void *(*fn)(void *))
{
    pthread_t tid[PART_MAX];
    bool started[PART_MAX] = {false};
    for (unsigned i = 1; i < all->n; i++)
        started[i] = pthread_create(&tid[i], NULL, fn, &all->part[i]) == 0;
    fn(&all->part[0]);
    for (unsigned i = 1; i < all->n; i++) {
        if (started[i])
            pthread_join(tid[i], NULL);
        else
            fn(&all->part[i]);
    }
}

static int rowid_span_row(const attrib_value *cols, void *payload)
{
    int64_t *span = payload;
    if (cols[0].type == ATTRIB_V_INT && cols[1].type == ATTRIB_V_INT) {
        span[0] = cols[0].i;
        span[1] = cols[1].i;
    }
    return ATTRIB_OK;
}

/* Smallest and largest rowid of a table (0, -1 when empty). */
static int rowid_span(sq_store *s, const char *table, int64_t *lo, int64_t *hi)
{
    char sql[128];
    int64_t span[2] = {0, -1};
    /* Two subqueries: each is one b-tree descent, where min and max in one
     * SELECT make SQLite scan the whole table. */
    snprintf(sql, sizeof(sql), "SELECT (SELECT min(rowid) FROM %s), (SELECT max(rowid) FROM %s)",
             table, table);
    int rc = attrib__sq_query(s, sql, NULL, 0, 2, rowid_span_row, span, "reading the rowids");
    *lo = span[0];
    *hi = span[1];
    return rc;
}

/* The i-th of n slices of [lo, hi]: sets *a, *b (empty when *a > *b). */
static void slice(int64_t lo, int64_t hi, unsigned i, unsigned n, int64_t *a, int64_t *b)
{
    uint64_t width = hi >= lo ? (uint64_t)hi - (uint64_t)lo + 1 : 0;
    *a = (int64_t)((uint64_t)lo + (uint64_t)((unsigned __int128)width * i / n));
    *b = i + 1 == n
             ? hi
             : (int64_t)((uint64_t)lo + (uint64_t)((unsigned __int128)width * (i + 1) / n)) - 1;
}

/* Open a part's read-only connection and start its read transaction. */
static int part_open(sq_part *p, const char *file)
{
    sq_store *s = p->all->s;
    if (sqlite3_open_v2(file, &p->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                        attrib__sqlite_readahead_vfs()) != SQLITE_OK) {
        int rc = attrib__error(p->ctx, ATTRIB_EDB, "%s: opening a reader: %s", s->path,
                               p->db != NULL ? sqlite3_errmsg(p->db) : "out of memory");
        sqlite3_close(p->db);
        p->db = NULL;
        return rc;
    }
    sqlite3_busy_timeout(p->db, 10000);
    if (sqlite3_exec(p->db, "BEGIN; SELECT count(*) FROM sqlite_schema;", NULL, NULL, NULL) !=
        SQLITE_OK)
        return part_fail(p, "starting a read");
    return ATTRIB_OK;
}

int attrib__sq_scan_sessions_parts(void *impl, unsigned parts, attrib_ctx *const *ctxs,
                                   attrib_row_fn fn, void *const *payloads)
{
    assert(parts >= 1 && ctxs != NULL && ctxs[0] != NULL && payloads != NULL);
    sq_store *s = impl;
    attrib_ctx *saved = s->ctx;
    sq_parts *all = calloc(1, sizeof(*all));
    int64_t lo = 0, hi = -1, clo = 0, chi = -1;
    int rc = ATTRIB_OK;
    s->ctx = ctxs[0]; /* errors not tied to a part go to the first */
    if (all == NULL) {
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    all->s = s;
    all->fn = fn;
    atomic_init(&all->failed, UINT_MAX);
    atomic_init(&all->unsorted, false);
    atomic_init(&all->broken, false);
    if (s->sessions_rowid)
        rc = rowid_span(s, "session_sources", &lo, &hi);
    if (rc == ATTRIB_OK && s->costs_rowid)
        rc = rowid_span(s, "session_costs", &clo, &chi);
    if (rc != ATTRIB_OK)
        goto done;
    const char *file = sqlite3_db_filename(s->db, "main");
    unsigned n = parts < 1 ? 1 : parts > PART_MAX ? PART_MAX : parts;
    if (!s->sessions_rowid || file == NULL || file[0] == '\0')
        n = 1; /* no slices by rowid, or a memory database no second connection sees */
    while (n > 1 && (hi < lo || ((uint64_t)hi - (uint64_t)lo) / n < PART_MIN_ROWS))
        n--;
    all->n = n;
    for (unsigned i = 0; i < n && rc == ATTRIB_OK; i++) {
        sq_part *p = &all->part[i];
        *p = (sq_part){.all = all, .index = i, .ctx = ctxs[i], .payload = payloads[i]};
        p->cfirst.len = p->clast.len = p->start.len = p->bfirst.len = p->blast.len = -1;
        slice(lo, hi, i, n, &p->lo, &p->hi);
        slice(clo, chi, i, n, &p->clo, &p->chi);
        if (n == 1)
            p->db = s->db;
        else
            rc = part_open(p, file);
    }
    if (rc != ATTRIB_OK)
        goto done;
    if (s->costs_rowid) {
        /* Where each part's cost cursor starts, and the share it verifies. */
        bool ascending = true;
        for (unsigned i = 0; i < n && rc == ATTRIB_OK; i++) {
            rc = merge_start(&all->part[i]);
            ascending = ascending && (i == 0 || all->part[i].crow >= all->part[i - 1].crow);
        }
        if (rc != ATTRIB_OK)
            goto done;
        for (unsigned i = 0; i < n; i++)
            all->part[i].cstop = i + 1 < n ? all->part[i + 1].crow : INT64_MAX;
        if (n > 1 && ascending && !s->costs_unsorted) {
            /* Merge at once and verify the order on the way: no pass of its own. */
            all->merge = all->verify = true;
        } else {
            run_parts(all, check_part);
            all->merge = !atomic_load(&all->unsorted);
            const sq_key *prev = NULL;
            for (unsigned i = 0; i < n; i++) {
                const sq_part *p = &all->part[i];
                if (p->rc != ATTRIB_OK) {
                    rc = p->rc;
                    goto done;
                }
                all->merge = all->merge && p->sorted;
                if (p->cfirst.len < 0)
                    continue;
                if (prev != NULL && binary_cmp(prev->p, prev->len, p->cfirst.p, p->cfirst.len) >= 0)
                    all->merge = false;
                prev = &p->clast;
            }
        }
    }
    run_parts(all, scan_part);
    if (all->verify) {
        /* Each part verified its share; the shares must join in order too. */
        bool broken = atomic_load(&all->broken);
        for (unsigned i = 0; !broken && i + 1 < n; i++) {
            const sq_key *a = &all->part[i].blast, *b = &all->part[i + 1].bfirst;
            broken = a->len >= 0 && b->len >= 0 && binary_cmp(a->p, a->len, b->p, b->len) >= 0;
        }
        if (broken) {
            /* Rows went out with costs a merge cannot vouch for: again, as joins. */
            s->costs_unsorted = true;
            rc = ATTRIB__RESTART;
            goto done;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        if (all->part[i].rc < 0) {
            rc = all->part[i].rc;
            break;
        }
    }
done:
    if (all != NULL) {
        for (unsigned i = 0; i < all->n; i++) {
            sq_part *p = &all->part[i];
            if (p->db != NULL && p->db != s->db)
                sqlite3_close(p->db); /* ends the read transaction */
            free(p->cfirst.p);
            free(p->clast.p);
            free(p->start.p);
            free(p->bfirst.p);
            free(p->blast.p);
        }
        free(all);
    }
    s->ctx = saved;
    return rc;
}
