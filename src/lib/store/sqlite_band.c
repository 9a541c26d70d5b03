/*
 * The band join of the full session scan: session_sources and session_costs
 * stored in event order (as a shop's tables fill), read together band by band.
 *
 * The hash join (sqlite_scan.c) looks every session up at random in one cost
 * index of all of session_costs: ~30 bytes a cost row, so at 100M sessions
 * each lookup is a cache and TLB miss into 2.5 GB. But where both tables were
 * filled as the events came, the cost rows of a rowid slice of sessions lie
 * in a slice of session_costs. The band join cuts each part's sessions into
 * bands of rowids, finds where the band's cost rows end (the cost row of the
 * first session after the band that has one, by the unique index), reads
 * those cost rows into a small index of the part's own (a few MB: in cache)
 * and then the band's sessions, each looked up there.
 *
 * Exact whatever the order turns out to be: the bands' cost slices cover
 * session_costs once; a session found in its band claims its entry; one not
 * found is delivered without a cost and remembered (fingerprint, rowid); the
 * entries no session claimed go to one leftover index. At the end every
 * remembered session is looked up there and, when found, read again by its
 * rowid and delivered as a late cost row (store.h): its cost, not a second
 * session. session_sources' ids are unique (the run checks them), and so are
 * session_costs' (a unique index compared as bytes, the plan's condition), so
 * a cost row belongs to one session at most. In tables stored in event order
 * the leftover holds only the few rows that straddle a band's edge; a sample
 * of sessions taken first (64 spread over the table, 32 pairs a sixteenth of
 * a band apart) must show cost rows rising with the sessions' rowids, or the
 * scan takes the hash join (a shuffled table would send every cost row to
 * the leftover: the hash join's memory and more).
 */
#include "lib/store/sqlite_scan.h"

#include <assert.h>
#include <stdlib.h>

#define BAND_SAMPLES 64 /* sessions spread over the table, */
#define BAND_NEAR 32    /* and pairs of sessions near each other, sampled */
#define BAND_SEEK "64"  /* sessions searched from an edge for one with a cost row */
#define BAND_MIN 256    /* sessions of a band at least, */
#define BAND_MAX 262144 /* at most: ~6 MB of band index at 0.85 cost rows a session */
#define BAND_PER_TABLE 64

/* The rowid of the cost row of the first session at or after rowid r that has
 * one (of the next 64), in *c; *found false when none of them has one. */
static int seek_cost(sqlite3_stmt *seek, int64_t r, int64_t *c, bool *found)
{
    sqlite3_bind_int64(seek, 1, r);
    int step = sqlite3_step(seek);
    *found = step == SQLITE_ROW;
    if (*found)
        *c = sqlite3_column_int64(seek, 0);
    sqlite3_reset(seek);
    return step == SQLITE_ROW || step == SQLITE_DONE ? ATTRIB_OK : ATTRIB_EDB;
}

static int prepare_seek(sqlite3 *db, sqlite3_stmt **seek)
{
    /* session_costs on the left: the comparison takes its column's collation,
     * BINARY (the plan's condition), and the unique index answers it. */
    return sqlite3_prepare_v2(db,
                              "SELECT c.rowid FROM (SELECT rowid AS r, session_id "
                              "FROM session_sources WHERE rowid >= ?1 ORDER BY rowid "
                              "LIMIT " BAND_SEEK ") AS s JOIN session_costs AS c "
                              "ON c.session_id = s.session_id ORDER BY s.r LIMIT 1",
                              -1, seek, NULL) == SQLITE_OK
               ? ATTRIB_OK
               : ATTRIB_EDB;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Sessions a band of this scan holds. */
static int64_t band_rows(const sq_parts *all)
{
    int64_t span = all->part[all->n - 1].hi - all->part[0].lo + 1;
    return clamp64(span / BAND_PER_TABLE, BAND_MIN, BAND_MAX);
}

int attrib__sq_band_plan(sq_parts *all, int64_t clo, int64_t chi, bool *band)
{
    sq_store *s = all->s;
    sq_part *first = &all->part[0];
    sqlite3_stmt *seek = NULL;
    bool unique = false;
    int rc = ATTRIB_OK;
    *band = false;
    int64_t lo = first->lo, hi = all->part[all->n - 1].hi;
    if (!s->sessions_rowid || !s->costs_rowid || hi < lo || chi < clo)
        return ATTRIB_OK;
    rc = attrib__sq_window_ok(s, &unique);
    if (rc != ATTRIB_OK || !unique)
        return rc;
    /* On the first part's connection: in the parts' snapshot. */
    if (prepare_seek(first->db, &seek) != ATTRIB_OK) {
        rc = attrib__sq_part_fail(first, "sampling session_costs");
        goto done;
    }
    unsigned pairs = 0, rising = 0;
    int64_t prev = 0;
    bool have_prev = false;
    for (unsigned k = 0; k < BAND_SAMPLES; k++) {
        int64_t r = lo + (int64_t)((unsigned __int128)(uint64_t)(hi - lo) * k / (BAND_SAMPLES - 1));
        int64_t c = 0;
        bool found = false;
        if (seek_cost(seek, r, &c, &found) != ATTRIB_OK) {
            rc = attrib__sq_part_fail(first, "sampling session_costs");
            goto done;
        }
        if (!found)
            continue;
        if (have_prev) {
            pairs++;
            rising += c >= prev;
        }
        prev = c;
        have_prev = true;
    }
    /* Near: pairs of sessions a sixteenth of a band apart, so that cost rows
     * in order from day to day but not within a day (a daily load sorted by
     * id) do not pass for a band join's: they would straddle every edge. */
    int64_t step = band_rows(all) / 16 + 1;
    for (unsigned k = 0; k < BAND_NEAR && hi - lo > step; k++) {
        int64_t r = lo + (int64_t)((unsigned __int128)(uint64_t)(hi - lo - step) * (2 * k + 1) /
                                   (2 * BAND_NEAR));
        int64_t c[2];
        bool found[2] = {false, false};
        for (int e = 0; e < 2; e++) {
            if (seek_cost(seek, r + e * step, &c[e], &found[e]) != ATTRIB_OK) {
                rc = attrib__sq_part_fail(first, "sampling session_costs");
                goto done;
            }
        }
        if (found[0] && found[1] && c[0] != c[1]) {
            pairs++;
            rising += c[1] > c[0];
        }
    }
    /* Shuffled rows rise in half the pairs; rows in event order in all. */
    if (pairs < 4 || rising * 10 < pairs * 9)
        goto done;
    /* Each part's slice of session_costs: from the cost row of its first
     * session that has one, to the next part's start. */
    first->clo = clo;
    for (unsigned i = 1; i < all->n; i++) {
        int64_t c = all->part[i - 1].clo;
        bool found = false;
        if (seek_cost(seek, all->part[i].lo, &c, &found) != ATTRIB_OK) {
            rc = attrib__sq_part_fail(first, "sampling session_costs");
            goto done;
        }
        all->part[i].clo = clamp64(found ? c : all->part[i - 1].clo, all->part[i - 1].clo, chi + 1);
    }
    for (unsigned i = 0; i < all->n; i++)
        all->part[i].chi = i + 1 < all->n ? all->part[i + 1].clo - 1 : chi;
    *band = true;
done:
    sqlite3_finalize(seek);
    return rc;
}

typedef struct {
    sq_part *p;
    attrib__costidx *ix;          /* this band's cost rows */
    attrib__costidx_writer *bw;   /* ix's writer */
    attrib__costidx_writer *left; /* the leftover index's writer */
    sqlite3_stmt *ss, *cs, *seek, *look;
    sess_batch *b;
} band_scan;

static int band_oom(band_scan *w)
{
    return attrib__error(w->p->ctx, ATTRIB_ENOMEM, "out of memory joining session_costs");
}

/* Read the cost rows [a, b] into the band's index (attrib__sq_index_costs'
 * results: PART_STOPPED when another part stopped or a row holds what the
 * index does not keep, and the scan then starts again). */
static int band_costs(band_scan *w, int64_t a, int64_t b)
{
    sqlite3_bind_int64(w->cs, 1, a);
    sqlite3_bind_int64(w->cs, 2, b);
    int rc = attrib__sq_index_costs(w->p, w->cs, w->bw);
    if (rc == ATTRIB_OK && attrib__costidx_flush(w->bw) != ATTRIB_OK)
        rc = band_oom(w);
    sqlite3_reset(w->cs);
    return rc;
}

static int remember(sq_part *p, const attrib__costidx_key *key, const attrib_value *rowid)
{
    sq_miss_chunk *c = p->miss_tail;
    if (c == NULL || c->n == SQ_MISS_CHUNK) {
        c = attrib_arena_alloc(&p->miss_arena, sizeof(*c));
        if (c == NULL)
            return ATTRIB_ENOMEM;
        c->next = NULL;
        c->n = 0;
        if (p->miss_tail != NULL)
            p->miss_tail->next = c;
        else
            p->miss = c;
        p->miss_tail = c;
    }
    assert(rowid->type == ATTRIB_V_INT);
    c->m[c->n++] = (sq_miss){.key = *key, .rowid = rowid->i};
    return ATTRIB_OK;
}

/* Deliver the batch's sessions with the costs their band holds. */
static int band_flush(band_scan *w)
{
    sq_part *p = w->p;
    sess_batch *b = w->b;
    int rc = ATTRIB_OK;
    attrib__sq_batch_texts(b);
    for (unsigned r = 0; r < b->n && rc == ATTRIB_OK; r++) {
        attrib_value *v = b->v[r];
        int found = attrib__costidx_claim(w->ix, &b->key[r], &v[ATTRIB_SS_COST]);
        if (found == ATTRIB__COST_MANY) {
            sqlite3_bind_text(w->look, 1, v[0].s, (int)v[0].len, SQLITE_STATIC);
            rc = attrib__sq_deliver_looked_up(p, w->look, v, 1);
            continue;
        }
        if (found == ATTRIB__COST_NONE &&
            remember(p, &b->key[r], &v[ATTRIB_SS_ROWID]) != ATTRIB_OK) {
            rc = band_oom(w);
            break;
        }
        v[ATTRIB_SS_HAS_COST].i = found == ATTRIB__COST_ONE;
        rc = p->all->fn(v, p->payload);
    }
    b->n = 0;
    b->len = 0;
    return rc;
}

/* Deliver the sessions [a, b] joined to the band's index. */
static int band_sessions(band_scan *w, int64_t a, int64_t b)
{
    sq_part *p = w->p;
    int rc = ATTRIB_OK;
    uint64_t k = 0;
    sqlite3_bind_int64(w->ss, 1, a);
    sqlite3_bind_int64(w->ss, 2, b);
    for (;;) {
        bool row = false;
        rc = attrib__sq_part_next(p, w->ss, &k, &row);
        if (rc != ATTRIB_OK || !row)
            break;
        if (sqlite3_column_type(w->ss, 0) == SQLITE_TEXT) {
            if (attrib__sq_batch_add(w->b, w->ix, w->ss) != ATTRIB_OK) {
                rc = band_oom(w);
                break;
            }
            if (w->b->n == LOOK_BATCH && (rc = band_flush(w)) != ATTRIB_OK)
                break;
            continue;
        }
        /* An id that is not text: the rows before it, then it, looked up in the table. */
        attrib_value v[ATTRIB_SS_NCOLS];
        if ((rc = band_flush(w)) != ATTRIB_OK)
            break;
        attrib__sq_session_value(w->ss, v);
        sqlite3_bind_value(w->look, 1, sqlite3_column_value(w->ss, 0));
        if ((rc = attrib__sq_deliver_looked_up(p, w->look, v, 1)) != ATTRIB_OK)
            break;
    }
    if (rc == ATTRIB_OK)
        rc = band_flush(w);
    sqlite3_reset(w->ss);
    return rc;
}

/* This part's bands, one after the other. */
static int band_part_run(band_scan *w)
{
    sq_part *p = w->p;
    const sq_parts *all = p->all;
    int64_t width = band_rows(all);
    int64_t cs = p->clo;
    int rc = ATTRIB_OK;
    for (int64_t a = p->lo; a <= p->hi && rc == ATTRIB_OK;) {
        int64_t b = p->hi - a < width ? p->hi : a + width - 1;
        int64_t ce = p->chi, c = 0;
        bool found = false;
        if (b < p->hi) {
            if (seek_cost(w->seek, b + 1, &c, &found) != ATTRIB_OK)
                return attrib__sq_part_fail(p, "reading session_costs");
            /* Up to the next band's first cost row; none found: nothing. */
            ce = clamp64(found ? c - 1 : cs - 1, cs - 1, p->chi);
        }
        if (ce >= cs)
            rc = band_costs(w, cs, ce);
        if (rc == ATTRIB_OK)
            rc = band_sessions(w, a, b);
        if (rc == ATTRIB_OK && attrib__costidx_drain(w->ix, w->left) != ATTRIB_OK)
            rc = band_oom(w);
        cs = ce + 1;
        a = b + 1;
    }
    if (rc == ATTRIB_OK && attrib__costidx_flush(w->left) != ATTRIB_OK)
        rc = band_oom(w);
    return rc;
}

static void *band_part(void *arg)
{
    band_scan w = {.p = arg};
    sq_part *p = w.p;
    const sq_parts *all = p->all;
    int64_t width = band_rows(all);
    int64_t sessions = all->part[all->n - 1].hi - all->part[0].lo + 1;
    int64_t costs = all->part[all->n - 1].chi - all->part[0].clo + 1;
    /* Sized for a band's share of the cost rows (it grows if a band holds more). */
    uint64_t expect =
        (uint64_t)((unsigned __int128)(uint64_t)width * (uint64_t)costs / (uint64_t)sessions) +
        1024;
    w.b = calloc(1, sizeof(*w.b));
    w.ix = attrib__costidx_new(expect);
    w.bw = w.ix != NULL ? attrib__costidx_writer_new(w.ix) : NULL;
    w.left = attrib__costidx_writer_new(all->costs);
    if (w.b == NULL || w.bw == NULL || w.left == NULL) {
        p->rc = band_oom(&w);
        goto done;
    }
    if (sqlite3_prepare_v2(p->db, SQ_SESSION_SLICE, -1, &w.ss, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(p->db,
                           "SELECT session_id, cost FROM session_costs "
                           "WHERE rowid BETWEEN ?1 AND ?2",
                           -1, &w.cs, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(p->db, SQ_COST_LOOKUP, -1, &w.look, NULL) != SQLITE_OK ||
        prepare_seek(p->db, &w.seek) != ATTRIB_OK) {
        p->rc = attrib__sq_part_fail(p, "reading session_sources");
        goto done;
    }
    p->rc = band_part_run(&w);
done:
    if (w.b != NULL)
        free(w.b->text);
    free(w.b);
    attrib__costidx_writer_free(w.bw);
    attrib__costidx_free(w.ix);
    attrib__costidx_writer_free(w.left);
    sqlite3_finalize(w.ss);
    sqlite3_finalize(w.cs);
    sqlite3_finalize(w.seek);
    sqlite3_finalize(w.look);
    if (p->rc < 0)
        attrib__sq_part_failed(p);
    return NULL;
}

/* The late cost row of one remembered session, if the leftover holds its cost. */
static int late_one(sq_part *p, sqlite3_stmt *row, sqlite3_stmt *look, const sq_miss *miss,
                    uint64_t *k)
{
    attrib_value v[ATTRIB_SS_NCOLS], cost;
    int rc = ATTRIB_OK;
    if ((++*k & 1023) == 0 && attrib__sq_part_stopped(p))
        return PART_STOPPED;
    int found = attrib__costidx_find(p->all->costs, &miss->key, &cost);
    if (found == ATTRIB__COST_NONE)
        return ATTRIB_OK;
    sqlite3_bind_int64(row, 1, miss->rowid);
    sqlite3_bind_int64(row, 2, miss->rowid);
    if (sqlite3_step(row) != SQLITE_ROW) {
        /* The row was read in this snapshot: gone now is an error. */
        rc = attrib__sq_part_fail(p, "reading session_sources again");
    } else {
        attrib__sq_session_value(row, v);
        if (found == ATTRIB__COST_MANY) {
            sqlite3_bind_value(look, 1, sqlite3_column_value(row, 0));
            rc = attrib__sq_deliver_looked_up(p, look, v, ATTRIB__SS_LATE);
        } else {
            v[ATTRIB_SS_COST] = cost;
            rc = attrib__sq_deliver_late(p, v);
        }
    }
    sqlite3_reset(row);
    return rc;
}

/* Deliver the late cost rows of this part's remembered sessions. */
static int late_part_run(sq_part *p, sqlite3_stmt *row, sqlite3_stmt *look)
{
    int rc = ATTRIB_OK;
    uint64_t k = 0;
    for (const sq_miss_chunk *c = p->miss; c != NULL && rc == ATTRIB_OK; c = c->next) {
        for (unsigned m = 0; m < c->n && rc == ATTRIB_OK; m++)
            rc = late_one(p, row, look, &c->m[m], &k);
    }
    return rc;
}

static void *late_part(void *arg)
{
    sq_part *p = arg;
    sqlite3_stmt *row = NULL, *look = NULL;
    /* One session: the slice of its rowid alone. */
    if (sqlite3_prepare_v2(p->db, SQ_SESSION_SLICE, -1, &row, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(p->db, SQ_COST_LOOKUP, -1, &look, NULL) != SQLITE_OK)
        p->rc = attrib__sq_part_fail(p, "reading session_sources");
    else
        p->rc = late_part_run(p, row, look);
    sqlite3_finalize(row);
    sqlite3_finalize(look);
    if (p->rc < 0)
        attrib__sq_part_failed(p);
    return NULL;
}

/* The scan's result after a round of parts: ATTRIB_OK, the first part's
 * error, or ATTRIB__RESTART. */
static int parts_result(sq_parts *all)
{
    for (unsigned i = 0; i < all->n; i++) {
        if (all->part[i].rc < 0)
            return all->part[i].rc;
    }
    return atomic_load(&all->odd_costs) ? ATTRIB__RESTART : ATTRIB_OK;
}

int attrib__sq_band_scan(sq_parts *all)
{
    assert(all->costs == NULL);
    /* The leftover: small when the tables are in event order (it grows). */
    all->costs = attrib__costidx_new(65536);
    if (all->costs == NULL)
        return attrib__error(all->part[0].ctx, ATTRIB_ENOMEM,
                             "out of memory joining session_costs");
    attrib__sq_run_parts(all, band_part);
    int rc = parts_result(all);
    if (rc == ATTRIB_OK && attrib__costidx_count(all->costs) > 0) {
        attrib__sq_run_parts(all, late_part);
        rc = parts_result(all);
    }
    return rc;
}
