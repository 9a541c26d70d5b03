/*
 * attrib copy: stream the input tables of one store into another through
 * the backend ops (scan on the source, bulk insert on the target, indexes
 * after the load, all in one transaction on the target), in
 * batches whose strings are copied into one pool per batch, so memory stays
 * flat whatever the size of the tables.
 */
#include "attrib/copy.h"

#include "lib/store/store.h"
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

#define BATCH 2048
#define MAX_COLS 8

typedef struct {
    attrib_ctx *ctx;
    attrib_store *to;
    const attrib_table *table; /* where the rows go */
    int ncols;
    const char *what;
    attrib_value vals[BATCH * MAX_COLS];
    size_t off[BATCH * MAX_COLS]; /* TEXT: offset of the bytes in pool */
    attrib_buf pool;
    size_t n;
    uint64_t total;
} batch;

/* Tables emptied by --force: the inputs and everything derived from them. */
static const char *const clear_tables[] = {
    "session_sources",    "conversions",
    "session_costs",      "attribution_customer_journey",
    "channel_reporting",  "attrib_journey_phases",
    "attrib_dirty_dates", "attrib_dirty_keys",
    "attrib_report_sums", "attrib_meta",
};
#define N_CLEAR (sizeof(clear_tables) / sizeof(clear_tables[0]))

static int flush(batch *b)
{
    if (b->n == 0)
        return ATTRIB_OK;
    for (size_t i = 0; i < b->n * (size_t)b->ncols; i++)
        if (b->vals[i].type == ATTRIB_V_TEXT)
            b->vals[i].s = b->pool.data + b->off[i];
    int rc = b->to->ops->insert(b->to->impl, b->table, ATTRIB_CONFLICT_FAIL, b->vals, b->n);
    if (rc != ATTRIB_OK && attrib_errmsg(b->ctx)[0] == '\0')
        rc = attrib__error(b->ctx, rc, "%s: %s", attrib_store_display(b->to), b->what);
    b->total += b->n;
    b->n = 0;
    attrib_buf_reset(&b->pool);
    attrib__progress(b->ctx, b->what, b->total, 0);
    if (rc == ATTRIB_OK && attrib__cancelled(b->ctx))
        rc = ATTRIB_ECANCEL;
    return rc;
}

static int on_row(const attrib_value *cols, void *payload)
{
    batch *b = payload;
    size_t base = b->n * (size_t)b->ncols;
    for (int c = 0; c < b->ncols; c++) {
        attrib_value v = cols[c];
        if (v.type == ATTRIB_V_TEXT) {
            b->off[base + (size_t)c] = b->pool.len;
            if (attrib_buf_add(&b->pool, v.s, v.len) != 0 || attrib_buf_addc(&b->pool, '\0') != 0)
                return attrib__error(b->ctx, ATTRIB_ENOMEM, "out of memory copying rows");
            v.s = NULL;
        }
        b->vals[base + (size_t)c] = v;
    }
    return ++b->n == BATCH ? flush(b) : ATTRIB_OK;
}

/* Empty the tables of clear_tables that exist in the target. */
static int clear_target(attrib_store *to)
{
    bool present[N_CLEAR] = {false};
    int rc = to->ops->tables_exist(to->impl, clear_tables, N_CLEAR, present);
    for (size_t i = 0; i < N_CLEAR && rc == ATTRIB_OK; i++) {
        if (!present[i])
            continue;
        attrib_buf sql = ATTRIB_BUF_INIT(0);
        if (attrib_buf_printf(&sql, "DELETE FROM %s", clear_tables[i]) != 0)
            rc = attrib__error(to->ctx, ATTRIB_ENOMEM, "out of memory");
        else
            rc = to->ops->exec(to->impl, attrib_buf_cstr(&sql), NULL, 0, clear_tables[i]);
        attrib_buf_free(&sql);
    }
    return rc;
}

typedef int (*scan_all_fn)(attrib_store *st, attrib_row_fn fn, void *payload);

static int scan_sessions(attrib_store *st, attrib_row_fn fn, void *payload)
{
    return st->ops->scan_sessions(st->impl, NULL, fn, payload);
}

static int scan_conversions(attrib_store *st, attrib_row_fn fn, void *payload)
{
    return st->ops->scan_conversions(st->impl, NULL, fn, payload);
}

static int scan_costs(attrib_store *st, attrib_row_fn fn, void *payload)
{
    /* every row, also those without a session, values as stored */
    return st->ops->query(st->impl, "SELECT session_id, cost FROM session_costs", NULL, 0, 2, fn,
                          payload, "reading session_costs");
}

int attrib_copy(attrib_ctx *ctx, attrib_store *from, attrib_store *to, unsigned flags,
                attrib_copy_stats *stats)
{
    attrib__enter(ctx);
    batch *b = calloc(1, sizeof(*b));
    bool has_data = false;
    int rc = ATTRIB_OK;
    if (stats != NULL)
        memset(stats, 0, sizeof(*stats));
    if (b == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "out of memory");
        goto done;
    }
    if (strcmp(from->ops->name, to->ops->name) == 0 &&
        strcmp(attrib_store_display(from), attrib_store_display(to)) == 0) {
        rc = attrib__error(ctx, ATTRIB_EINVAL,
                           "copy: the source and the target are the same database (%s)",
                           attrib_store_display(to));
        goto done;
    }
    rc = attrib_store_check(from, false);
    if (rc != ATTRIB_OK)
        goto done;
    rc = attrib__store_begin(to);
    if (rc == ATTRIB_OK)
        rc = attrib_store_has_input(to, &has_data);
    if (rc != ATTRIB_OK)
        goto done;
    if (has_data && !(flags & ATTRIB_COPY_FORCE)) {
        rc = attrib__error(
            ctx, ATTRIB_EINVAL,
            "%s already holds input data (session_sources, conversions or "
            "session_costs); nothing was written. Copy into an empty database, "
            "or pass ATTRIB_COPY_FORCE to replace its rows (the attribution and report "
            "tables are emptied too)",
            attrib_store_display(to));
        goto done;
    }
    /* Input tables without attrib's indexes: init_schema builds those after the
     * load, by sorting rather than by one random insert per row. */
    rc = to->ops->exec_script(to->impl, attrib__schema_inputs);
    if (rc == ATTRIB_OK && has_data)
        rc = clear_target(to);
    if (rc != ATTRIB_OK)
        goto done;
    b->ctx = ctx;
    b->to = to;
    static const struct {
        scan_all_fn scan;
        int ncols;
        const char *what;
    } tables[3] = {
        {scan_sessions, 8, "copying session_sources"},
        {scan_conversions, 5, "copying conversions"},
        {scan_costs, 2, "copying session_costs"},
    };
    const attrib_table *targets[3] = {&attrib__table_sessions, &attrib__table_conversions,
                                      &attrib__table_costs};
    uint64_t counts[3] = {0, 0, 0};
    for (int t = 0; t < 3 && rc == ATTRIB_OK; t++) {
        b->table = targets[t];
        b->ncols = tables[t].ncols;
        b->what = tables[t].what;
        b->n = 0;
        b->total = 0;
        rc = tables[t].scan(from, on_row, b);
        if (rc == ATTRIB_OK)
            rc = flush(b);
        counts[t] = b->total;
    }
    if (rc == ATTRIB_OK) {
        attrib__progress(ctx, "creating indexes", 0, 0);
        rc = to->ops->init_schema(to->impl, true);
    }
    if (rc == ATTRIB_OK && attrib__cancelled(ctx))
        rc = ATTRIB_ECANCEL;
    if (rc == ATTRIB_OK)
        rc = attrib__store_commit(to);
    if (rc == ATTRIB_OK && stats != NULL) {
        stats->sessions = counts[0];
        stats->conversions = counts[1];
        stats->costs = counts[2];
    }
done:
    if (rc != ATTRIB_OK)
        attrib__store_rollback(to);
    if (b != NULL)
        attrib_buf_free(&b->pool);
    free(b);
    return attrib__leave(ctx, rc);
}
