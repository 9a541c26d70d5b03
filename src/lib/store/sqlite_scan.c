/*
 * The concurrent full scan of session_sources with session_costs joined
 * (scan_sessions_parts of the SQLite backend; contract in store.h).
 *
 * SQLite decodes records on one core per connection, so a full scan is split
 * into rowid slices, each read on a read-only connection of its own by a
 * thread of its own; every connection opens its read transaction before any
 * part starts, so all parts see one snapshot.
 *
 * Tables stored in event order are joined band by band (sqlite_band.c),
 * when a sample shows that order and the receiver takes late cost rows.
 * Otherwise costs are joined by hash, whatever order the tables are stored
 * in: the parts first read their rowid slices of session_costs into one cost
 * index (costidx.h: 24 bytes a row, no ids kept), then their slices of
 * session_sources, each session looked up there. Sessions whose id is not
 * text, or whose fingerprint several cost rows share, are looked up in the
 * table itself, one row delivered per cost row as a LEFT JOIN does. When
 * session_costs holds an id that is not text or a cost that is text (what
 * the index does not keep), the parts read their slices through a LEFT JOIN
 * on the cost index instead. Why these joins: docs/pipeline.md, "Joining
 * costs". Without rowids or a database file there is one part on the store's
 * own connection.
 */
#include "lib/store/sqlite_scan.h"

#include "lib/store/readahead.h"
#include "lib/store/rows.h"

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int attrib__sq_part_fail(sq_part *p, const char *what)
{
    int code = sqlite3_errcode(p->db) == SQLITE_NOMEM ? ATTRIB_ENOMEM : ATTRIB_EDB;
    const sq_store *s = p->all->s;
    char msg[512];
    return attrib__error(p->ctx, code, "%s: %s: %s", s->path, what,
                         attrib__sq_errmsg(p->db, s->path, s->busy_ms, msg, sizeof(msg)));
}

bool attrib__sq_part_stopped(sq_part *p)
{
    return atomic_load(&p->all->failed) < p->index || atomic_load(&p->all->odd_costs);
}

int attrib__sq_part_next(sq_part *p, sqlite3_stmt *st, uint64_t *k, bool *row)
{
    int step = sqlite3_step(st);
    *row = step == SQLITE_ROW;
    if (step == SQLITE_DONE)
        return ATTRIB_OK;
    if (step != SQLITE_ROW)
        return attrib__sq_part_fail(p, "reading session_sources");
    if ((++*k & 1023) == 0 && attrib__sq_part_stopped(p))
        return PART_STOPPED;
    return ATTRIB_OK;
}

void attrib__sq_part_failed(sq_part *p)
{
    unsigned cur = atomic_load(&p->all->failed);
    while (p->index < cur && !atomic_compare_exchange_weak(&p->all->failed, &cur, p->index))
        ;
}

int attrib__sq_index_costs(sq_part *p, sqlite3_stmt *st, attrib__costidx_writer *w)
{
    uint64_t k = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if ((++k & 1023) == 0 && attrib__sq_part_stopped(p))
            return PART_STOPPED;
        attrib_value cost;
        attrib__sq_column_value(st, 1, &cost);
        sqlite3_value *id = sqlite3_column_value(st, 0); /* NOMUTEX: sqlite.c */
        if (sqlite3_value_type(id) != SQLITE_TEXT || cost.type == ATTRIB_V_TEXT) {
            atomic_store(&p->all->odd_costs, true);
            return PART_STOPPED;
        }
        const char *text = (const char *)sqlite3_value_text(id);
        if (text == NULL ||
            attrib__costidx_add(w, text, (size_t)sqlite3_value_bytes(id), &cost) != ATTRIB_OK)
            return attrib__error(p->ctx, ATTRIB_ENOMEM, "out of memory indexing session_costs");
    }
    return step == SQLITE_DONE ? ATTRIB_OK : attrib__sq_part_fail(p, "reading session_costs");
}

/* Read this part's slice of session_costs into the cost index. */
static void *cost_part(void *arg)
{
    sq_part *p = arg;
    sq_store *s = p->all->s;
    sqlite3_stmt *st = NULL;
    attrib__costidx_writer *w = NULL;
    p->rc = ATTRIB_OK;
    if (!p->read_costs)
        return NULL;
    w = attrib__costidx_writer_new(p->all->costs);
    if (w == NULL) {
        p->rc = attrib__error(p->ctx, ATTRIB_ENOMEM, "out of memory indexing session_costs");
        goto done;
    }
    if (sqlite3_prepare_v2(p->db,
                           s->costs_rowid ? "SELECT session_id, cost FROM session_costs "
                                            "WHERE rowid BETWEEN ?1 AND ?2"
                                          : "SELECT session_id, cost FROM session_costs",
                           -1, &st, NULL) != SQLITE_OK) {
        p->rc = attrib__sq_part_fail(p, "reading session_costs");
        goto done;
    }
    if (s->costs_rowid) {
        sqlite3_bind_int64(st, 1, p->clo);
        sqlite3_bind_int64(st, 2, p->chi);
    }
    p->rc = attrib__sq_index_costs(p, st, w);
    if (p->rc == ATTRIB_OK && attrib__costidx_flush(w) != ATTRIB_OK)
        p->rc = attrib__error(p->ctx, ATTRIB_ENOMEM, "out of memory indexing session_costs");
    if (p->rc == PART_STOPPED)
        p->rc = ATTRIB_OK; /* the scan sees why: a failed part, or odd_costs */
done:
    sqlite3_finalize(st);
    attrib__costidx_writer_free(w);
    if (p->rc != ATTRIB_OK)
        attrib__sq_part_failed(p);
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
             "SELECT " SQ_SESSION_COLS ", c.cost, c.session_id IS NOT NULL, %s "
             "FROM session_sources s LEFT JOIN session_costs c "
             "ON c.session_id = s.session_id%s",
             s->sessions_rowid ? "s.rowid" : "NULL",
             s->sessions_rowid ? " WHERE s.rowid BETWEEN ?1 AND ?2 ORDER BY s.rowid" : "");
    if (sqlite3_prepare_v2(p->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = attrib__sq_part_fail(p, "reading session_sources");
        goto done;
    }
    if (s->sessions_rowid) {
        sqlite3_bind_int64(st, 1, p->lo);
        sqlite3_bind_int64(st, 2, p->hi);
    }
    for (;;) {
        bool row = false;
        rc = attrib__sq_part_next(p, st, &k, &row);
        if (rc != ATTRIB_OK)
            goto done;
        if (!row)
            break;
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

int attrib__sq_deliver_looked_up(sq_part *p, sqlite3_stmt *look, attrib_value *v, int64_t has_cost)
{
    int rc = ATTRIB_OK, l;
    bool any = false;
    while ((l = sqlite3_step(look)) == SQLITE_ROW) {
        attrib__sq_column_value(look, 0, &v[ATTRIB_SS_COST]);
        v[ATTRIB_SS_HAS_COST].i = has_cost;
        any = true;
        rc =
            has_cost == ATTRIB__SS_LATE ? attrib__sq_deliver_late(p, v) : p->all->fn(v, p->payload);
        if (rc != ATTRIB_OK)
            break;
    }
    if (rc == ATTRIB_OK && l != SQLITE_DONE)
        rc = attrib__sq_part_fail(p, "reading session_costs");
    else if (rc == ATTRIB_OK && !any && has_cost != ATTRIB__SS_LATE)
        rc = p->all->fn(v, p->payload);
    sqlite3_reset(look);
    sqlite3_clear_bindings(look);
    return rc;
}

int attrib__sq_deliver_late(sq_part *p, attrib_value *v)
{
    double x;
    const attrib_value *cost = &v[ATTRIB_SS_COST];
    if (cost->type != ATTRIB_V_NULL && attrib__amount_value(cost, &x) != 0) {
        /* A cost the receiver refuses, of a session it took without one (and
         * kept, when it skips bad rows): the scan again, joined otherwise. */
        atomic_store(&p->all->odd_costs, true);
        return PART_STOPPED;
    }
    v[ATTRIB_SS_HAS_COST].i = ATTRIB__SS_LATE;
    return p->all->fn(v, p->payload);
}

/* The decoding of the next rows overlaps the miss of each prefetch. (Issued
 * 32 at once at flush the prefetches took 11% of the session scan's samples
 * on 2M shuffled, here ~9%: the miss still shows on the prefetch itself.) */
int attrib__sq_batch_add(sess_batch *b, const attrib__costidx *costs, sqlite3_stmt *ss)
{
    attrib_value *v = b->v[b->n];
    for (int i = 0; i < 8; i++) {
        attrib__sq_column_value(ss, i, &v[i]);
        if (i == 0) {
            b->key[b->n] = attrib__costidx_key_of(v[0].s, v[0].len);
            attrib__costidx_prefetch(costs, &b->key[b->n]);
        }
        if (v[i].type != ATTRIB_V_TEXT)
            continue;
        if (b->len + v[i].len + 1 > b->cap) {
            size_t cap = (b->len + v[i].len + 1) * 2 + 4096;
            char *t = realloc(b->text, cap);
            if (t == NULL)
                return ATTRIB_ENOMEM;
            b->text = t;
            b->cap = cap;
        }
        memcpy(b->text + b->len, v[i].s, v[i].len);
        b->text[b->len + v[i].len] = '\0';
        b->off[b->n][i] = b->len;
        b->len += v[i].len + 1;
    }
    attrib__sq_column_value(ss, 8, &v[ATTRIB_SS_ROWID]);
    v[ATTRIB_SS_COST] = (attrib_value){.type = ATTRIB_V_NULL};
    v[ATTRIB_SS_HAS_COST] = (attrib_value){.type = ATTRIB_V_INT, .i = 0};
    b->n++;
    return ATTRIB_OK;
}

void attrib__sq_batch_texts(sess_batch *b)
{
    for (unsigned r = 0; r < b->n; r++) {
        attrib_value *v = b->v[r];
        for (int i = 0; i < 8; i++) {
            if (v[i].type == ATTRIB_V_TEXT)
                v[i].s = b->text + b->off[r][i];
        }
    }
}

void attrib__sq_session_value(sqlite3_stmt *ss, attrib_value *v)
{
    for (int i = 0; i < 8; i++)
        attrib__sq_column_value(ss, i, &v[i]);
    attrib__sq_column_value(ss, 8, &v[ATTRIB_SS_ROWID]);
    v[ATTRIB_SS_COST] = (attrib_value){.type = ATTRIB_V_NULL};
    v[ATTRIB_SS_HAS_COST] = (attrib_value){.type = ATTRIB_V_INT, .i = 0};
}

/* Look up the costs of the batch's sessions and deliver them, in order. */
static int batch_flush(sq_part *p, sess_batch *b, sqlite3_stmt *look)
{
    const attrib__costidx *costs = p->all->costs;
    int rc = ATTRIB_OK;
    attrib__sq_batch_texts(b);
    for (unsigned r = 0; r < b->n && rc == ATTRIB_OK; r++) {
        attrib_value *v = b->v[r];
        int found = attrib__costidx_find(costs, &b->key[r], &v[ATTRIB_SS_COST]);
        if (found == ATTRIB__COST_MANY) {
            sqlite3_bind_text(look, 1, v[0].s, (int)v[0].len, SQLITE_STATIC);
            rc = attrib__sq_deliver_looked_up(p, look, v, 1);
        } else {
            v[ATTRIB_SS_HAS_COST].i = found == ATTRIB__COST_ONE;
            rc = p->all->fn(v, p->payload);
        }
    }
    b->n = 0;
    b->len = 0;
    return rc;
}

/* This part's sessions, each cost found in the cost index. */
static int hash_part(sq_part *p)
{
    sq_store *s = p->all->s;
    sqlite3_stmt *ss = NULL, *look = NULL;
    sess_batch *b = calloc(1, sizeof(*b));
    int rc = ATTRIB_OK;
    uint64_t k = 0;
    char sql[320];
    if (b == NULL) {
        rc = attrib__error(p->ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    snprintf(sql, sizeof(sql),
             "SELECT session_id, user_id, event_date, event_time, channel_name, "
             "holder_engagement, closer_engagement, impression_interaction, %s "
             "FROM session_sources%s",
             s->sessions_rowid ? "rowid" : "NULL",
             s->sessions_rowid ? " WHERE rowid BETWEEN ?1 AND ?2" : "");
    if (sqlite3_prepare_v2(p->db, sql, -1, &ss, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(p->db, SQ_COST_LOOKUP, -1, &look, NULL) != SQLITE_OK) {
        rc = attrib__sq_part_fail(p, "reading session_sources");
        goto done;
    }
    if (s->sessions_rowid) {
        sqlite3_bind_int64(ss, 1, p->lo);
        sqlite3_bind_int64(ss, 2, p->hi);
    }
    for (;;) {
        bool row = false;
        rc = attrib__sq_part_next(p, ss, &k, &row);
        if (rc != ATTRIB_OK)
            goto done;
        if (!row)
            break;
        if (sqlite3_column_type(ss, 0) == SQLITE_TEXT) {
            if (attrib__sq_batch_add(b, p->all->costs, ss) != ATTRIB_OK) {
                rc = attrib__error(p->ctx, ATTRIB_ENOMEM, "out of memory");
                goto done;
            }
            if (b->n == LOOK_BATCH && (rc = batch_flush(p, b, look)) != ATTRIB_OK)
                goto done;
            continue;
        }
        /* An id that is not text: the rows before it, then it, looked up in the table. */
        attrib_value v[ATTRIB_SS_NCOLS];
        if ((rc = batch_flush(p, b, look)) != ATTRIB_OK)
            goto done;
        attrib__sq_session_value(ss, v);
        sqlite3_bind_value(look, 1, sqlite3_column_value(ss, 0));
        if ((rc = attrib__sq_deliver_looked_up(p, look, v, 1)) != ATTRIB_OK)
            goto done;
    }
    rc = batch_flush(p, b, look);
done:
    if (b != NULL)
        free(b->text);
    free(b);
    sqlite3_finalize(ss);
    sqlite3_finalize(look);
    return rc;
}

static void *scan_part(void *arg)
{
    sq_part *p = arg;
    p->rc = p->all->costs != NULL ? hash_part(p) : join_part(p);
    if (p->rc < 0)
        attrib__sq_part_failed(p);
    return NULL;
}

void attrib__sq_run_parts(sq_parts *all, void *(*fn)(void *))
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
    sqlite3_busy_timeout(p->db, (int)s->busy_ms);
    if (sqlite3_exec(p->db, "BEGIN; SELECT count(*) FROM sqlite_schema;", NULL, NULL, NULL) !=
        SQLITE_OK)
        return attrib__sq_part_fail(p, "starting a read");
    return ATTRIB_OK;
}

int attrib__sq_scan_sessions_late(sq_store *s, unsigned parts, attrib_ctx *const *ctxs,
                                  attrib_row_fn fn, void *const *payloads, bool late_ok)
{
    assert(parts >= 1 && ctxs != NULL && ctxs[0] != NULL && payloads != NULL);
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
    all->late_ok = late_ok;
    atomic_init(&all->failed, UINT_MAX);
    atomic_init(&all->odd_costs, false);
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
        slice(lo, hi, i, n, &p->lo, &p->hi);
        slice(clo, chi, i, n, &p->clo, &p->chi);
        p->read_costs = s->costs_rowid || i == 0; /* without rowids, the first reads all */
        if (n == 1)
            p->db = s->db;
        else
            rc = part_open(p, file);
    }
    if (rc != ATTRIB_OK)
        goto done;
    /* Tables stored in event order: the band join (sqlite_band.c). */
    bool band = false;
    if (late_ok && !s->band_off)
        rc = attrib__sq_band_plan(all, clo, chi, &band);
    if (rc == ATTRIB_OK && band) {
        rc = attrib__sq_band_scan(all);
        if (rc == ATTRIB__RESTART)
            s->band_off = true; /* the next attempt takes the hash join */
        goto done;
    }
    if (rc != ATTRIB_OK)
        goto done;
    /* The cost index, sized by the rowid span (an upper bound of the rows). */
    all->costs =
        attrib__costidx_new(s->costs_rowid && chi >= clo ? (uint64_t)(chi - clo) + 1 : 65536);
    if (all->costs == NULL) {
        rc = attrib__error(s->ctx, ATTRIB_ENOMEM, "out of memory indexing session_costs");
        goto done;
    }
    attrib__sq_run_parts(all, cost_part);
    for (unsigned i = 0; i < n; i++) {
        if (all->part[i].rc != ATTRIB_OK) {
            rc = all->part[i].rc;
            goto done;
        }
    }
    if (atomic_load(&all->odd_costs)) {
        /* Ids or costs the index does not keep: the table's own join. */
        attrib__costidx_free(all->costs);
        all->costs = NULL;
        atomic_store(&all->odd_costs, false);
    }
    attrib__sq_run_parts(all, scan_part);
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
            attrib_arena_free(&p->miss_arena);
        }
        attrib__costidx_free(all->costs);
        free(all);
    }
    s->ctx = saved;
    return rc;
}

int attrib__sq_scan_sessions_parts(void *impl, unsigned parts, attrib_ctx *const *ctxs,
                                   attrib_row_fn fn, void *const *payloads)
{
    return attrib__sq_scan_sessions_late(impl, parts, ctxs, fn, payloads, true);
}
