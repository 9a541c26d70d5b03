/*
 * Whether an attribute step would store exactly the attribution rows already
 * stored (all of them, or those of a range's conversions): a rerun on
 * unchanged input, the daily case of a scheduled pipeline, or a retried or
 * repeated day. Then the step rewrites nothing (steps.h); rewriting the same rows
 * cost a delete, an insert and an index build of every row, journaled twice
 * (SQLite's rollback journal) or logged (PostgreSQL's WAL): 0.37 s of a 2M
 * session run, 4.7 s of a 10M one on PostgreSQL.
 *
 * The comparison is exact: every stored row (conv_id, session_id, ihc) must
 * be one of the new rows, each new row must be stored once, and the ihc the
 * same double bit for bit. The rows a step wrote come back in the order it
 * wrote them (journey by journey: the table's rowid order on SQLite, its heap
 * order after a TRUNCATE on PostgreSQL), so each stored row is first compared
 * with the next new row in that order, touching no memory at random. From the
 * first row out of order on, the new rows are found by a hash of their two ids
 * (a table built then, of all of them) and compared by their strings, so
 * nothing rests on a hash alone. At 100M sessions the hash table alone took
 * 3.8 s of a rerun (a cache and TLB miss per probe and per string).
 * Anything else (another type in a column, a duplicate, a stale row, phase
 * rows that a rewrite would delete) means "changed": the step rewrites as
 * before.
 */
#include "lib/steps/steps.h"

#include "util/buf.h"
#include "util/strmap.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define UNCHANGED_STOP 3 /* a row differs: stop reading (private to this file) */
#define AHEAD 16 /* rows fetched into cache ahead: session ids AHEAD on, sessions 2 AHEAD on */

typedef struct {
    uint64_t hash;
    uint32_t j, k; /* journey, session within it; j == UINT32_MAX: empty */
} row_slot;

typedef struct {
    size_t j, k; /* journey, session within it */
} row_pos;

typedef struct {
    attrib_ctx *ctx;
    const attrib__dataset *ds;
    const size_t *offset;
    const attrib_credit *credits;
    const unsigned char *api_state; /* NULL: every journey has rows */
    size_t n;                       /* new rows */
    row_pos at;                     /* the next new row in write order */
    row_pos near, far;              /* the next rows to fetch the id, the session of */
    row_slot *slots;                /* NULL until a stored row comes out of order */
    size_t mask;
    unsigned char *seen; /* one byte per new row: stored once already */
    size_t matched;
} row_set;

static uint64_t key_hash(const char *conv, size_t clen, const char *sess, size_t slen)
{
    return attrib_hash(conv, clen) * 0x9e3779b97f4a7c15ull ^ attrib_hash(sess, slen);
}

/* The slot of (conv, sess): its row, or the empty slot where it would go. */
static row_slot *find(const row_set *rs, uint64_t h, const char *conv, size_t clen,
                      const char *sess, size_t slen)
{
    for (size_t i = h & rs->mask;; i = (i + 1) & rs->mask) {
        row_slot *s = &rs->slots[i];
        if (s->j == UINT32_MAX)
            return s;
        if (s->hash != h)
            continue;
        const attrib_journey *jr = &rs->ds->journeys[s->j];
        const char *id = jr->sessions[s->k].id;
        if (strlen(jr->conv_id) == clen && memcmp(jr->conv_id, conv, clen) == 0 &&
            strlen(id) == slen && memcmp(id, sess, slen) == 0)
            return s;
    }
}

/* Whether the NUL-terminated `a` is the `len` bytes at `b`. */
static bool same_text(const char *a, const char *b, size_t len)
{
    return strlen(a) == len && memcmp(a, b, len) == 0;
}

/* The first journey from `j` on with rows (an API failure has none). */
static size_t next_journey(const row_set *rs, size_t j)
{
    while (j < rs->ds->n_journeys &&
           (rs->ds->journeys[j].n == 0 ||
            (rs->api_state != NULL && rs->api_state[j] != ATTRIB__CREDIT_DONE)))
        j++;
    return j;
}

/* The new row after `p` in write order. */
static void step(const row_set *rs, row_pos *p)
{
    if (p->j < rs->ds->n_journeys && ++p->k == rs->ds->journeys[p->j].n) {
        p->k = 0;
        p->j = next_journey(rs, p->j + 1);
    }
}

/* Ask for what the rows ahead will read: their sessions, session ids and
 * conversion ids lie in memory in the order they were read, a cache miss each. */
static void fetch_ahead(row_set *rs, bool near)
{
    const attrib_journey *js = rs->ds->journeys;
    if (rs->far.j < rs->ds->n_journeys) {
        __builtin_prefetch(&js[rs->far.j].sessions[rs->far.k]);
        if (rs->far.k == 0)
            __builtin_prefetch(js[rs->far.j].conv_id);
        step(rs, &rs->far);
    }
    if (near && rs->near.j < rs->ds->n_journeys) {
        __builtin_prefetch(js[rs->near.j].sessions[rs->near.k].id);
        step(rs, &rs->near);
    }
}

/* Whether the stored row is the next new row in write order (then it is
 * counted and the order moves on). */
static bool in_order(row_set *rs, const attrib_value *cols)
{
    if (rs->at.j >= rs->ds->n_journeys)
        return false;
    const attrib_journey *jr = &rs->ds->journeys[rs->at.j];
    size_t r = rs->offset[rs->at.j] + rs->at.k;
    double ihc = rs->credits[r].ihc;
    if (!same_text(jr->conv_id, cols[0].s, cols[0].len) ||
        !same_text(jr->sessions[rs->at.k].id, cols[1].s, cols[1].len) ||
        memcmp(&ihc, &cols[2].r, sizeof(ihc)) != 0)
        return false;
    rs->seen[r] = 1;
    rs->matched++;
    fetch_ahead(rs, true);
    step(rs, &rs->at);
    return true;
}

/* The hash table of every new row (rows matched in order stay marked in
 * `seen`). UNCHANGED_STOP when a key is there twice: a rewrite decides. */
static int build_slots(row_set *rs)
{
    size_t cap = 16;
    while (cap < 2 * rs->n)
        cap *= 2;
    rs->mask = cap - 1;
    rs->slots = malloc(cap * sizeof(*rs->slots));
    if (rs->slots == NULL)
        return attrib__error(rs->ctx, ATTRIB_ENOMEM, "out of memory comparing attribution rows");
    for (size_t i = 0; i < cap; i++)
        rs->slots[i].j = UINT32_MAX;
    for (size_t j = next_journey(rs, 0); j < rs->ds->n_journeys; j = next_journey(rs, j + 1)) {
        const attrib_journey *jr = &rs->ds->journeys[j];
        size_t clen = strlen(jr->conv_id);
        for (size_t k = 0; k < jr->n; k++) {
            const char *id = jr->sessions[k].id;
            size_t slen = strlen(id);
            uint64_t h = key_hash(jr->conv_id, clen, id, slen);
            row_slot *s = find(rs, h, jr->conv_id, clen, id, slen);
            if (s->j != UINT32_MAX)
                return UNCHANGED_STOP; /* a key twice among the new rows */
            *s = (row_slot){.hash = h, .j = (uint32_t)j, .k = (uint32_t)k};
        }
    }
    return ATTRIB_OK;
}

static int on_stored(const attrib_value *cols, void *payload)
{
    row_set *rs = payload;
    if (cols[0].type != ATTRIB_V_TEXT || cols[1].type != ATTRIB_V_TEXT ||
        cols[2].type != ATTRIB_V_REAL)
        return UNCHANGED_STOP;
    if (rs->slots == NULL) {
        if (in_order(rs, cols))
            return ATTRIB_OK;
        int rc = build_slots(rs);
        if (rc != ATTRIB_OK)
            return rc;
    }
    uint64_t h = key_hash(cols[0].s, cols[0].len, cols[1].s, cols[1].len);
    const row_slot *s = find(rs, h, cols[0].s, cols[0].len, cols[1].s, cols[1].len);
    if (s->j == UINT32_MAX)
        return UNCHANGED_STOP; /* not a new row */
    size_t r = rs->offset[s->j] + s->k;
    double ihc = rs->credits[r].ihc;
    if (rs->seen[r] || memcmp(&ihc, &cols[2].r, sizeof(ihc)) != 0)
        return UNCHANGED_STOP;
    rs->seen[r] = 1;
    rs->matched++;
    return ATTRIB_OK;
}

static int on_count(const attrib_value *cols, void *payload)
{
    *(int64_t *)payload = cols[0].type == ATTRIB_V_INT ? cols[0].i : -1;
    return ATTRIB_OK;
}

/* The stored rows of the range's conversions (all rows without a range): the
 * rows a rewrite would delete, whatever their session. */
static int scan_stored(attrib_store *st, const attrib_scan *range, row_set *rs)
{
    if (range == NULL)
        return st->ops->query(st->impl,
                              "SELECT conv_id, session_id, ihc FROM attribution_customer_journey",
                              NULL, 0, 3, on_stored, rs, "reading attribution_customer_journey");
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    attrib_value params[2];
    int n = 0, e = attrib_buf_adds(&sql, "SELECT a.conv_id, a.session_id, a.ihc FROM conversions "
                                         "c JOIN attribution_customer_journey a ON a.conv_id = "
                                         "c.conv_id WHERE 1=1");
    e |= attrib__sql_range(st, &sql, params, &n, range, "c.conv_date");
    int rc = e != 0 ? attrib__error(st->ctx, ATTRIB_ENOMEM, "out of memory")
                    : st->ops->query(st->impl, attrib_buf_cstr(&sql), params, n, 3, on_stored, rs,
                                     "reading attribution_customer_journey");
    attrib_buf_free(&sql);
    return rc;
}

int attrib__attribution_unchanged(attrib_ctx *ctx, attrib_store *st, const attrib__dataset *ds,
                                  const size_t *offset, const attrib_credit *credits,
                                  const unsigned char *api_state, const attrib_scan *range,
                                  bool *same, uint64_t *rows)
{
    assert(ds != NULL && offset != NULL && credits != NULL && same != NULL && rows != NULL);
    assert(range == NULL || (range->users == NULL && range->dates == NULL));
    row_set rs = {
        .ctx = ctx, .ds = ds, .offset = offset, .credits = credits, .api_state = api_state};
    int64_t phases = -1;
    size_t n = 0;
    int rc = ATTRIB_OK;
    *same = false;
    for (size_t j = next_journey(&rs, 0); j < ds->n_journeys; j = next_journey(&rs, j + 1))
        n += ds->journeys[j].n;
    *rows = n;
    if (ds->n_journeys >= UINT32_MAX)
        goto done; /* beyond the slots' indexes: rewrite */
    /* A rewrite would delete phase rows: only without any is nothing to do. */
    rc = st->ops->query(st->impl,
                        "SELECT count(*) FROM (SELECT 1 FROM attrib_journey_phases LIMIT 1) p",
                        NULL, 0, 1, on_count, &phases, "reading attrib_journey_phases");
    if (rc != ATTRIB_OK || phases != 0)
        goto done;
    rs.n = n;
    rs.at.j = next_journey(&rs, 0);
    rs.near = rs.far = rs.at;
    for (int i = 0; i < 2 * AHEAD; i++)
        fetch_ahead(&rs, i >= AHEAD);
    rs.seen = calloc(offset[ds->n_journeys] + 1, 1);
    if (rs.seen == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory comparing attribution rows");
        goto done;
    }
    rc = scan_stored(st, range, &rs);
    if (rc == UNCHANGED_STOP)
        rc = ATTRIB_OK; /* a stored row that is not a new one */
    else if (rc == ATTRIB_OK)
        *same = rs.matched == n;
done:
    free(rs.slots);
    free(rs.seen);
    return rc;
}
