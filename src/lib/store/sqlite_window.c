/*
 * Selected sessions (a date range, dates or users) with their costs joined:
 * scan_sessions of the SQLite backend with a selection (contract in store.h).
 *
 * A selection is a small share of session_sources, so hashing all of
 * session_costs (the full scan's join, sqlite_scan.c) would read far more
 * than it needs. Looking each session up in the id index of session_costs
 * costs a random page read per session once ids are random: a day of 10M
 * sessions is 34k reads, 0.3 s. But a table filled as events come holds the
 * cost rows of a day together. So the selected sessions are read in chunks;
 * for each chunk a sample of its ids is looked up in the index, and when the
 * sampled cost rows lie in a narrow rowid window, that window is read in
 * order into an exact map (whole ids compared) and only the sessions it does
 * not hold are looked up one by one, in id order: consecutive lookups then
 * share the upper pages of the index (a day at 10M sessions: 5.5k sessions
 * without a cost row, 19.6k page reads looked up in date order). Rows in any
 * other order give wide windows: then every session is looked up. Those
 * lookups go on on a second thread (the prober, below) while the next chunk
 * is read.
 *
 * Exact because the caller only comes here when session_costs.session_id is
 * unique and compared as bytes (a unique index, BINARY collation; see
 * attrib__sq_window_ok): a session whose id the window holds as text has its
 * only cost row there; every other session is looked up by its own value.
 * Sessions are delivered in the order the selection reads them.
 */
#include "lib/store/sqlite.h"

#include "lib/store/readahead.h"

#include "util/strmap.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_ROWS 4096 /* sessions read before their costs are joined */
#define SAMPLE 16       /* ids of a chunk looked up to place its window */
#define WINDOW_FACTOR 4 /* a window holds at most this many rows per session */
#define PROBE_TAKE 32   /* ids a looker-up takes at a time */
/* The prober's page cache: the upper levels of the id index (at 10M cost
 * rows the root and its 64 children), which every lookup reads again; the
 * leaves are read once each, and more of them kept would only cost fresh
 * memory (one-day run at 10M: 2,940 -> 2,630 page faults, 0.127 -> 0.121 s). */
#define PROBER_CACHE "PRAGMA cache_size = 200; "

/* A value kept in a chunk: 16 bytes where an attrib_value takes 40 (a chunk
 * is fresh memory, and first touches cost more than the copies). */
typedef struct {
    attrib_vtype type;
    uint32_t len; /* ATTRIB_V_TEXT */
    union {
        int64_t i;
        double r;
        size_t off; /* ATTRIB_V_TEXT: where it starts in the chunk's text */
    } u;
} win_val;

/* A session row copied out of its statement. */
typedef struct {
    win_val v[ATTRIB_SS_COST]; /* the session's columns */
    win_val cost;              /* ATTRIB_V_NULL until a cost row is found */
    win_val rowid;
    sqlite3_value *id; /* an id that is not text, as stored; else NULL */
    bool has_cost;     /* a cost row was found */
    bool joined;       /* its cost found (or its absence known) before delivery */
} win_row;

/* A text id to look up, and the row it is of. */
typedef struct {
    const char *s;
    size_t len;
    size_t k;
} win_key;

/* Rows read, and the ids of those whose costs are still to look up. */
typedef struct {
    win_row *row; /* CHUNK_ROWS of them */
    size_t n;
    char *text;
    size_t len, cap;
    win_key *keys; /* CHUNK_ROWS of them */
    size_t n_keys;
    atomic_size_t next_key; /* the first not taken by a looker-up yet */
} win_chunk;

/*
 * The prober: while the scan reads a chunk, a thread looks up the ids of the
 * chunk before on a read-only connection of its own, and the scan takes
 * what is left of them when it is done reading (one chunk at a time: the
 * thread is joined before the next starts). Its read transaction starts
 * while the scan's statement holds the store's, so both see one state.
 */
typedef struct {
    sqlite3 *db;
    sqlite3_stmt *look;
    pthread_t tid;
    bool running;
    win_chunk *job;
    int step;      /* SQLITE_OK, or the result of the failing step */
    char msg[256]; /* then its message */
} win_prober;

typedef struct {
    sq_store *s;
    attrib_row_fn fn;
    void *payload;
    sqlite3_stmt *look;  /* the cost rows of one id */
    sqlite3_stmt *where; /* the rowid of the cost row of one id */
    sqlite3_stmt *range; /* the cost rows of a rowid window */
    win_chunk chunk[2];  /* one being read, one being looked up */
    /* The window read last: rowids [lo, hi], its text ids and their costs. */
    int64_t lo, hi;
    attrib_strmap ids;
    win_val *cost;
    size_t cost_cap;
    win_prober pr;
    bool pr_tried; /* opening the prober was tried */
} win_scan;

static int win_oom(win_scan *w)
{
    return attrib__error(w->s->ctx, ATTRIB_ENOMEM, "out of memory reading session_sources");
}

/* A column value that is not text as a chunk keeps it. */
static win_val val_of(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        return (win_val){.type = ATTRIB_V_INT, .u.i = sqlite3_column_int64(st, i)};
    case SQLITE_FLOAT:
        return (win_val){.type = ATTRIB_V_REAL, .u.r = sqlite3_column_double(st, i)};
    default:
        return (win_val){.type = ATTRIB_V_NULL};
    }
}

/* The value a chunk keeps as the callback takes it. */
static attrib_value value_of(const win_chunk *c, const win_val *v)
{
    switch (v->type) {
    case ATTRIB_V_INT:
        return (attrib_value){.type = ATTRIB_V_INT, .i = v->u.i};
    case ATTRIB_V_REAL:
        return (attrib_value){.type = ATTRIB_V_REAL, .r = v->u.r};
    case ATTRIB_V_TEXT:
        return (attrib_value){.type = ATTRIB_V_TEXT, .s = c->text + v->u.off, .len = v->len};
    default:
        return (attrib_value){.type = ATTRIB_V_NULL};
    }
}

/* Row r as scan_sessions delivers it. */
static void row_values(const win_chunk *c, const win_row *r, attrib_value *out)
{
    for (int i = 0; i < ATTRIB_SS_COST; i++)
        out[i] = value_of(c, &r->v[i]);
    out[ATTRIB_SS_COST] = value_of(c, &r->cost);
    out[ATTRIB_SS_HAS_COST] = (attrib_value){.type = ATTRIB_V_INT, .i = r->has_cost};
    out[ATTRIB_SS_ROWID] = value_of(c, &r->rowid);
}

/* The text id of row r (r->id == NULL). */
static const char *row_id(const win_chunk *c, const win_row *r)
{
    return c->text + r->v[ATTRIB_SS_SESSION_ID].u.off;
}

/* Copy the current row of ss into chunk c. */
static int chunk_add(win_scan *w, win_chunk *c, sqlite3_stmt *ss)
{
    win_row *r = &c->row[c->n];
    r->id = NULL;
    for (int i = 0; i < ATTRIB_SS_COST; i++) {
        attrib_value v;
        attrib__sq_column_value(ss, i, &v);
        if (v.type != ATTRIB_V_TEXT) {
            r->v[i] = val_of(ss, i);
            continue;
        }
        assert(v.len <= UINT32_MAX); /* SQLite's values stay below 2 GB */
        if (c->len + v.len + 1 > c->cap) {
            size_t cap = (c->len + v.len + 1) * 2 + 65536;
            char *t = realloc(c->text, cap);
            if (t == NULL)
                return win_oom(w);
            c->text = t;
            c->cap = cap;
        }
        memcpy(c->text + c->len, v.s, v.len);
        c->text[c->len + v.len] = '\0';
        r->v[i] = (win_val){.type = ATTRIB_V_TEXT, .len = (uint32_t)v.len, .u.off = c->len};
        c->len += v.len + 1;
    }
    if (sqlite3_column_type(ss, 0) != SQLITE_TEXT) {
        r->id = sqlite3_value_dup(sqlite3_column_value(ss, 0));
        if (r->id == NULL)
            return win_oom(w);
    }
    r->rowid = val_of(ss, 8); /* the 9th column: rowid */
    r->cost = (win_val){.type = ATTRIB_V_NULL};
    r->has_cost = false;
    c->n++;
    return ATTRIB_OK;
}

/* Empty chunk c for the next rows. */
static void chunk_clear(win_chunk *c)
{
    for (size_t k = 0; k < c->n; k++)
        sqlite3_value_free(c->row[k].id);
    c->n = 0;
    c->len = 0;
    c->n_keys = 0;
}

/* Where the sampled ids of chunk c have their cost rows: *lo > *hi when
 * none of them has one. */
static int chunk_sample(win_scan *w, const win_chunk *c, int64_t *lo, int64_t *hi)
{
    *lo = INT64_MAX;
    *hi = INT64_MIN;
    for (size_t k = 0; k < SAMPLE && k < c->n; k++) {
        const win_row *r = &c->row[k * c->n / (c->n < SAMPLE ? c->n : SAMPLE)];
        if (r->id != NULL)
            continue;
        sqlite3_bind_text(w->where, 1, row_id(c, r), (int)r->v[0].len, SQLITE_STATIC);
        int step = sqlite3_step(w->where);
        if (step == SQLITE_ROW) {
            int64_t at = sqlite3_column_int64(w->where, 0);
            *lo = at < *lo ? at : *lo;
            *hi = at > *hi ? at : *hi;
        }
        sqlite3_reset(w->where);
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            return attrib__sq_fail(w->s, "reading session_costs");
    }
    return ATTRIB_OK;
}

/* Read the cost rows of rowids [lo, hi] into the window map. */
static int window_load(win_scan *w, int64_t lo, int64_t hi)
{
    int rc = ATTRIB_OK, step;
    attrib_strmap_free(&w->ids);
    w->ids = (attrib_strmap)ATTRIB_STRMAP_INIT;
    w->lo = 1;
    w->hi = 0; /* empty until it is read whole */
    sqlite3_bind_int64(w->range, 1, lo);
    sqlite3_bind_int64(w->range, 2, hi);
    while ((step = sqlite3_step(w->range)) == SQLITE_ROW) {
        /* Ids not text and costs that are text stay in the table: looked up. */
        if (sqlite3_column_type(w->range, 0) != SQLITE_TEXT ||
            sqlite3_column_type(w->range, 1) == SQLITE_TEXT ||
            sqlite3_column_type(w->range, 1) == SQLITE_BLOB)
            continue;
        const char *id = (const char *)sqlite3_column_text(w->range, 0);
        int64_t at =
            attrib_strmap_intern(&w->ids, id, (size_t)sqlite3_column_bytes(w->range, 0), NULL);
        if (at < 0) {
            rc = win_oom(w);
            goto done;
        }
        if ((size_t)at >= w->cost_cap) {
            size_t cap = w->cost_cap > 0 ? w->cost_cap * 2 : 4096;
            win_val *c = realloc(w->cost, cap * sizeof(*c));
            if (c == NULL) {
                rc = win_oom(w);
                goto done;
            }
            w->cost = c;
            w->cost_cap = cap;
        }
        w->cost[at] = val_of(w->range, 1);
    }
    if (step != SQLITE_DONE) {
        rc = attrib__sq_fail(w->s, "reading session_costs");
        goto done;
    }
    w->lo = lo;
    w->hi = hi;
done:
    sqlite3_reset(w->range);
    return rc;
}

/* Deliver row r of chunk c with the cost rows of its id looked up in session_costs. */
static int deliver_looked_up(win_scan *w, const win_chunk *c, const win_row *r)
{
    int rc = ATTRIB_OK, step;
    bool any = false;
    attrib_value v[ATTRIB_SS_NCOLS];
    row_values(c, r, v);
    if (r->id != NULL)
        sqlite3_bind_value(w->look, 1, r->id);
    else
        sqlite3_bind_text(w->look, 1, row_id(c, r), (int)r->v[0].len, SQLITE_STATIC);
    while ((step = sqlite3_step(w->look)) == SQLITE_ROW) {
        attrib__sq_column_value(w->look, 0, &v[ATTRIB_SS_COST]);
        v[ATTRIB_SS_HAS_COST].i = 1;
        any = true;
        rc = w->fn(v, w->payload);
        if (rc != ATTRIB_OK)
            break;
    }
    if (rc == ATTRIB_OK && step != SQLITE_DONE)
        rc = attrib__sq_fail(w->s, "reading session_costs");
    else if (rc == ATTRIB_OK && !any)
        rc = w->fn(v, w->payload);
    sqlite3_reset(w->look);
    sqlite3_clear_bindings(w->look);
    return rc;
}

/* Bytewise, as the BINARY collation of the index orders them. */
static int key_cmp(const void *a, const void *b)
{
    const win_key *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* Place chunk c's window, join what it holds, and list the text ids still to
 * look up, in id order: consecutive lookups then share the index's upper pages. */
static int chunk_join(win_scan *w, win_chunk *c)
{
    int64_t lo = 0, hi = -1;
    int rc = chunk_sample(w, c, &lo, &hi);
    if (rc == ATTRIB_OK && lo <= hi && (lo < w->lo || hi > w->hi)) {
        /* Widened by the share the sample may have missed on either side. */
        uint64_t width = (uint64_t)hi - (uint64_t)lo, pad = width / SAMPLE + 1;
        if (width + 2 * pad <= (uint64_t)WINDOW_FACTOR * c->n) {
            lo = lo > INT64_MIN + (int64_t)pad ? lo - (int64_t)pad : INT64_MIN;
            hi = hi < INT64_MAX - (int64_t)pad ? hi + (int64_t)pad : INT64_MAX;
            rc = window_load(w, lo, hi);
        }
    }
    if (rc != ATTRIB_OK)
        return rc;
    c->n_keys = 0;
    for (size_t k = 0; k < c->n; k++) {
        win_row *r = &c->row[k];
        int64_t at = r->id == NULL && w->ids.count > 0
                         ? attrib_strmap_find(&w->ids, row_id(c, r), r->v[0].len)
                         : -1;
        r->joined = at >= 0;
        if (r->joined) {
            r->cost = w->cost[at];
            r->has_cost = true;
        } else if (r->id == NULL) {
            c->keys[c->n_keys++] = (win_key){.s = row_id(c, r), .len = r->v[0].len, .k = k};
        }
    }
    qsort(c->keys, c->n_keys, sizeof(*c->keys), key_cmp);
    return ATTRIB_OK;
}

/*
 * Look up one listed id and keep what is found in its row: one cost row that
 * is not text, or none. Anything else (a text cost, whose text dies with the
 * statement) is left to deliver_looked_up. SQLite calls only (the prober's
 * thread runs it): SQLITE_OK, or the failing step's result.
 */
static int probe_one(sqlite3_stmt *look, win_row *r, const win_key *key)
{
    sqlite3_bind_text(look, 1, key->s, (int)key->len, SQLITE_STATIC);
    int step = sqlite3_step(look);
    if (step == SQLITE_ROW && sqlite3_column_type(look, 0) != SQLITE_TEXT &&
        sqlite3_column_type(look, 0) != SQLITE_BLOB) {
        r->cost = val_of(look, 0);
        r->has_cost = true;
        step = sqlite3_step(look); /* the unique index leaves no second row */
        r->joined = step == SQLITE_DONE;
        if (!r->joined) {
            r->cost = (win_val){.type = ATTRIB_V_NULL};
            r->has_cost = false;
        }
    } else if (step == SQLITE_DONE) {
        r->joined = true; /* no cost row */
    }
    sqlite3_reset(look);
    return step == SQLITE_ROW || step == SQLITE_DONE ? SQLITE_OK : step;
}

/* Look up chunk c's listed ids with `look`, PROBE_TAKE at a time while any
 * are left: the prober and the scan share them. SQLITE_OK, or the failing
 * step's result with its message in msg. */
static int probe_keys(sqlite3_stmt *look, win_chunk *c, char *msg, size_t cap)
{
    for (;;) {
        size_t i = atomic_fetch_add(&c->next_key, PROBE_TAKE);
        if (i >= c->n_keys)
            return SQLITE_OK;
        size_t end = c->n_keys - i < PROBE_TAKE ? c->n_keys : i + PROBE_TAKE;
        for (; i < end; i++) {
            int step = probe_one(look, &c->row[c->keys[i].k], &c->keys[i]);
            if (step != SQLITE_OK) {
                snprintf(msg, cap, "%s", sqlite3_errmsg(sqlite3_db_handle(look)));
                atomic_store(&c->next_key, c->n_keys); /* the other one stops too */
                return step;
            }
        }
    }
}

static void *prober_run(void *arg)
{
    win_prober *p = arg;
    p->step = probe_keys(p->look, p->job, p->msg, sizeof(p->msg));
    return NULL;
}

/* Open the prober, when the store is a file not in WAL mode (where another
 * connection may see a later state) and a read can start without waiting.
 * Without it the scan looks the ids up alone. */
static void prober_open(win_scan *w)
{
    win_prober *p = &w->pr;
    const char *file = sqlite3_db_filename(w->s->db, "main");
    sqlite3_stmt *mode = NULL;
    bool wal = true;
    w->pr_tried = true;
    if (file == NULL || file[0] == '\0')
        return;
    if (sqlite3_prepare_v2(w->s->db, "PRAGMA main.journal_mode", -1, &mode, NULL) == SQLITE_OK &&
        sqlite3_step(mode) == SQLITE_ROW)
        wal = sqlite3_stricmp((const char *)sqlite3_column_text(mode, 0), "wal") == 0;
    sqlite3_finalize(mode);
    if (wal)
        return;
    if (sqlite3_open_v2(file, &p->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                        attrib__sqlite_readahead_vfs()) != SQLITE_OK ||
        sqlite3_exec(p->db, PROBER_CACHE "BEGIN; SELECT count(*) FROM sqlite_schema;", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(p->db, SQ_COST_LOOKUP, -1, &p->look, NULL) != SQLITE_OK) {
        sqlite3_finalize(p->look);
        sqlite3_close(p->db);
        *p = (win_prober){0};
    }
}

/* Start looking up chunk c's listed ids: on the prober, from the first full
 * chunk on (a selection of one chunk is not worth a connection). */
static void probe_start(win_scan *w, win_chunk *c, bool full)
{
    win_prober *p = &w->pr;
    atomic_store(&c->next_key, 0);
    if (full && !w->pr_tried)
        prober_open(w);
    if (p->db == NULL || c->n_keys <= PROBE_TAKE)
        return;
    assert(!p->running);
    p->job = c;
    p->step = SQLITE_OK;
    p->running = pthread_create(&p->tid, NULL, prober_run, p) == 0;
}

/* Look up what is left of chunk c's ids, wait for the prober: a failure of
 * either is the scan's. */
static int probe_finish(win_scan *w, win_chunk *c)
{
    win_prober *p = &w->pr;
    char msg[256];
    int step = probe_keys(w->look, c, msg, sizeof(msg));
    if (p->running) {
        assert(p->job == c);
        pthread_join(p->tid, NULL);
        p->running = false;
        if (step == SQLITE_OK && p->step != SQLITE_OK) {
            step = p->step;
            memcpy(msg, p->msg, sizeof(msg));
        }
    }
    if (step == SQLITE_OK)
        return ATTRIB_OK;
    return attrib__error(w->s->ctx, step == SQLITE_NOMEM ? ATTRIB_ENOMEM : ATTRIB_EDB,
                         "%s: reading session_costs: %s", w->s->path, msg);
}

/* Deliver chunk c's rows in order, and empty it. */
static int chunk_deliver(win_scan *w, win_chunk *c)
{
    int rc = ATTRIB_OK;
    for (size_t k = 0; k < c->n && rc == ATTRIB_OK; k++) {
        const win_row *r = &c->row[k];
        if (r->joined) {
            attrib_value v[ATTRIB_SS_NCOLS];
            row_values(c, r, v);
            rc = w->fn(v, w->payload);
        } else
            rc = deliver_looked_up(w, c, r);
    }
    chunk_clear(c);
    return rc;
}

int attrib__sq_scan_sessions_window(sq_store *s, sqlite3_stmt *ss, attrib_row_fn fn, void *payload)
{
    win_scan w = {.s = s, .fn = fn, .payload = payload, .lo = 1, .hi = 0};
    int rc = ATTRIB_OK, step;
    w.ids = (attrib_strmap)ATTRIB_STRMAP_INIT;
    for (int i = 0; i < 2; i++) {
        w.chunk[i].row = malloc(CHUNK_ROWS * sizeof(*w.chunk[i].row));
        w.chunk[i].keys = malloc(CHUNK_ROWS * sizeof(*w.chunk[i].keys));
        if (w.chunk[i].row == NULL || w.chunk[i].keys == NULL) {
            rc = win_oom(&w);
            goto done;
        }
    }
    if (sqlite3_prepare_v2(s->db, SQ_COST_LOOKUP, -1, &w.look, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "SELECT rowid FROM session_costs WHERE session_id = ?1", -1,
                           &w.where, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "SELECT session_id, cost FROM session_costs "
                           "WHERE rowid BETWEEN ?1 AND ?2",
                           -1, &w.range, NULL) != SQLITE_OK) {
        rc = attrib__sq_fail(s, "reading session_costs");
        goto done;
    }
    /* A full chunk is joined, then looked up while the next is read, then
     * delivered: the rows keep the order the selection reads them in. */
    win_chunk *cur = &w.chunk[0], *behind = NULL;
    while ((step = sqlite3_step(ss)) == SQLITE_ROW) {
        rc = chunk_add(&w, cur, ss);
        if (rc == ATTRIB_OK && cur->n == CHUNK_ROWS) {
            rc = chunk_join(&w, cur);
            if (rc == ATTRIB_OK && behind != NULL)
                rc = probe_finish(&w, behind);
            if (rc == ATTRIB_OK)
                probe_start(&w, cur, true);
            if (rc == ATTRIB_OK && behind != NULL)
                rc = chunk_deliver(&w, behind);
            behind = cur;
            cur = cur == &w.chunk[0] ? &w.chunk[1] : &w.chunk[0];
        }
        if (rc != ATTRIB_OK)
            goto done;
    }
    if (step != SQLITE_DONE) {
        rc = attrib__sq_fail(s, "reading session_sources");
        goto done;
    }
    rc = chunk_join(&w, cur);
    if (rc == ATTRIB_OK && behind != NULL)
        rc = probe_finish(&w, behind);
    if (rc == ATTRIB_OK) {
        probe_start(&w, cur, false);
        if (behind != NULL)
            rc = chunk_deliver(&w, behind);
    }
    if (rc == ATTRIB_OK)
        rc = probe_finish(&w, cur);
    if (rc == ATTRIB_OK)
        rc = chunk_deliver(&w, cur);
done:
    if (w.pr.running) {
        pthread_join(w.pr.tid, NULL);
        w.pr.running = false;
    }
    sqlite3_finalize(w.pr.look);
    sqlite3_close(w.pr.db);
    for (int i = 0; i < 2; i++) {
        chunk_clear(&w.chunk[i]);
        free(w.chunk[i].row);
        free(w.chunk[i].keys);
        free(w.chunk[i].text);
    }
    free(w.cost);
    attrib_strmap_free(&w.ids);
    sqlite3_finalize(w.look);
    sqlite3_finalize(w.where);
    sqlite3_finalize(w.range);
    return rc;
}

int attrib__sq_window_ok(sq_store *s, bool *out)
{
    const char *coll = NULL;
    int rc = ATTRIB_OK;
    *out = false;
    if (!s->costs_rowid)
        return ATTRIB_OK;
    /* The column's own collation is the join's (it is the left operand). */
    if (sqlite3_table_column_metadata(s->db, "main", "session_costs", "session_id", NULL, &coll,
                                      NULL, NULL, NULL) != SQLITE_OK)
        return ATTRIB_OK; /* no such column: the LEFT JOIN says what is wrong */
    if (coll == NULL || sqlite3_stricmp(coll, "BINARY") != 0)
        return ATTRIB_OK;
    sqlite3_stmt *st = NULL;
    /* A unique index of the one key column session_id, compared as bytes. */
    if (sqlite3_prepare_v2(
            s->db,
            "SELECT 1 FROM pragma_index_list('session_costs') AS l WHERE l.\"unique\""
            " AND (SELECT count(*) FROM pragma_index_xinfo(l.name) WHERE key) = 1"
            " AND (SELECT count(*) FROM pragma_index_xinfo(l.name) AS x WHERE x.key"
            " AND x.name = 'session_id' COLLATE NOCASE"
            " AND x.coll = 'BINARY' COLLATE NOCASE) = 1",
            -1, &st, NULL) != SQLITE_OK) {
        rc = attrib__sq_fail(s, "listing indexes");
        goto done;
    }
    int step = sqlite3_step(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = attrib__sq_fail(s, "listing indexes");
    }
    *out = step == SQLITE_ROW;
done:
    sqlite3_finalize(st);
    return rc;
}
