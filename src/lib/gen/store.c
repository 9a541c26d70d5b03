/*
 * Writing a generated dataset into a store: a generator sink that batches
 * rows into the backend's bulk inserts, inside one transaction (a failure or
 * a cancel leaves the database as it was).
 *
 * Loading order matters for speed: the input tables are created bare (or
 * attrib's indexes on them dropped), the rows go in (sorted ids append to
 * the primary-key B-trees), and only then does the built-in schema add the
 * output tables and attrib's indexes, which the database builds by sorting
 * instead of by random inserts.
 */
#include "attrib/gen.h"

#include "lib/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 1024

/* attrib's indexes on the input tables (as both backends' built-in schema
 * names them): dropped before the load when `attrib init` or an earlier gen
 * made them, since init_schema rebuilds them after it in the same
 * transaction. Random inserts into them made a load into an initialised
 * database about three times slower than into a new one. */
static const char drop_input_indexes[] = "DROP INDEX IF EXISTS attrib_session_sources_user;"
                                         "DROP INDEX IF EXISTS attrib_session_sources_date;"
                                         "DROP INDEX IF EXISTS attrib_conversions_date;"
                                         "DROP INDEX IF EXISTS attrib_conversions_user;";

/* Tables emptied by ATTRIB_GEN_FORCE: the inputs, and the outputs derived
 * from them (stale once the inputs are replaced). */
static const char *const force_tables[] = {
    "session_sources",    "conversions",
    "session_costs",      "attribution_customer_journey",
    "channel_reporting",  "attrib_journey_phases",
    "attrib_dirty_dates", "attrib_dirty_keys",
    "attrib_report_sums", "attrib_meta",
};
#define N_FORCE (sizeof(force_tables) / sizeof(force_tables[0]))

/* Copies of the rows of one batch (the generator lends its strings). */
typedef struct {
    char session_id[65], user_id[65], date[11], time[9], channel[64];
} session_text;

typedef struct {
    char conv_id[65], user_id[65], date[11], time[9];
} conversion_text;

typedef struct {
    attrib_store *st;
    attrib_value sv[BATCH * 8], cv[BATCH * 5], kv[BATCH * 2];
    session_text stext[BATCH];
    conversion_text ctext[BATCH];
    char ktext[BATCH][65];
    size_t ns, nc, nk;
} loader;

static attrib_value text(const char *dst)
{
    attrib_value v = {ATTRIB_V_TEXT, 0, 0.0, dst, strlen(dst)};
    return v;
}

static attrib_value integer(int64_t i)
{
    attrib_value v = {ATTRIB_V_INT, i, 0.0, NULL, 0};
    return v;
}

static attrib_value real(double r)
{
    attrib_value v = {ATTRIB_V_REAL, 0, r, NULL, 0};
    return v;
}

/* Copy src (NUL-terminated) into a fixed field, truncating what cannot fit. */
static const char *copy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return dst;
}

static int flush_sessions(loader *l)
{
    int rc = l->ns > 0 ? l->st->ops->insert(l->st->impl, &attrib__table_sessions,
                                            ATTRIB_CONFLICT_FAIL, l->sv, l->ns)
                       : 0;
    l->ns = 0;
    return rc;
}

static int flush_conversions(loader *l)
{
    int rc = l->nc > 0 ? l->st->ops->insert(l->st->impl, &attrib__table_conversions,
                                            ATTRIB_CONFLICT_FAIL, l->cv, l->nc)
                       : 0;
    l->nc = 0;
    return rc;
}

static int flush_costs(loader *l)
{
    int rc = l->nk > 0 ? l->st->ops->insert(l->st->impl, &attrib__table_costs, ATTRIB_CONFLICT_FAIL,
                                            l->kv, l->nk)
                       : 0;
    l->nk = 0;
    return rc;
}

static int on_session(const attrib_gen_session *s, void *payload)
{
    loader *l = payload;
    session_text *t = &l->stext[l->ns];
    attrib_value *v = &l->sv[l->ns * 8];
    v[0] = text(copy(t->session_id, sizeof(t->session_id), s->session_id));
    v[1] = text(copy(t->user_id, sizeof(t->user_id), s->user_id));
    v[2] = text(copy(t->date, sizeof(t->date), s->event_date));
    v[3] = text(copy(t->time, sizeof(t->time), s->event_time));
    v[4] = text(copy(t->channel, sizeof(t->channel), s->channel_name));
    v[5] = integer(s->holder_engagement);
    v[6] = integer(s->closer_engagement);
    v[7] = integer(s->impression_interaction);
    return ++l->ns == BATCH ? flush_sessions(l) : 0;
}

static int on_conversion(const attrib_gen_conversion *c, void *payload)
{
    loader *l = payload;
    conversion_text *t = &l->ctext[l->nc];
    attrib_value *v = &l->cv[l->nc * 5];
    v[0] = text(copy(t->conv_id, sizeof(t->conv_id), c->conv_id));
    v[1] = text(copy(t->user_id, sizeof(t->user_id), c->user_id));
    v[2] = text(copy(t->date, sizeof(t->date), c->conv_date));
    v[3] = text(copy(t->time, sizeof(t->time), c->conv_time));
    v[4] = real(c->revenue);
    return ++l->nc == BATCH ? flush_conversions(l) : 0;
}

static int on_cost(const attrib_gen_cost *c, void *payload)
{
    loader *l = payload;
    attrib_value *v = &l->kv[l->nk * 2];
    v[0] = text(copy(l->ktext[l->nk], sizeof(l->ktext[0]), c->session_id));
    if (c->cost_is_null) {
        attrib_value null = {ATTRIB_V_NULL, 0, 0.0, NULL, 0};
        v[1] = null;
    } else {
        v[1] = real(c->cost);
    }
    return ++l->nk == BATCH ? flush_costs(l) : 0;
}

/* Empty the tables of force_tables that exist. */
static int clear_tables(attrib_store *st)
{
    bool present[N_FORCE] = {false};
    int rc = st->ops->tables_exist(st->impl, force_tables, N_FORCE, present);
    for (size_t i = 0; i < N_FORCE && rc == ATTRIB_OK; i++) {
        if (!present[i])
            continue;
        char sql[96];
        snprintf(sql, sizeof(sql), "DELETE FROM %s", force_tables[i]);
        rc = st->ops->exec(st->impl, sql, NULL, 0, force_tables[i]);
    }
    return rc;
}

int attrib_gen_store(attrib_ctx *ctx, attrib_store *st, const attrib_gen_options *opts,
                     unsigned flags, attrib_gen_stats *stats)
{
    attrib__enter(ctx);
    int rc = ATTRIB_OK;
    bool has_data = false;
    loader *l = calloc(1, sizeof(*l));
    if (stats != NULL)
        memset(stats, 0, sizeof(*stats));
    if (l == NULL) {
        rc = attrib__error(ctx, ATTRIB_ENOMEM, "gen: out of memory");
        goto done;
    }
    l->st = st;
    rc = attrib__store_begin(st);
    if (rc != ATTRIB_OK)
        goto done;
    rc = attrib_store_has_input(st, &has_data);
    if (rc != ATTRIB_OK)
        goto done;
    if (has_data && !(flags & ATTRIB_GEN_FORCE)) {
        rc = attrib__error(
            ctx, ATTRIB_EINVAL,
            "%s already holds input data (session_sources, conversions or "
            "session_costs); nothing was written. Use another database, or "
            "pass ATTRIB_GEN_FORCE to replace its input data (the attribution and report "
            "tables are emptied too)",
            attrib_store_display(st));
        goto done;
    }
    rc = st->ops->exec_script(st->impl, attrib__schema_inputs);
    if (rc == ATTRIB_OK)
        rc = st->ops->exec_script(st->impl, drop_input_indexes);
    if (rc == ATTRIB_OK && has_data)
        rc = clear_tables(st);
    if (rc != ATTRIB_OK)
        goto done;
    attrib_gen_sink sink = {on_session, on_conversion, on_cost};
    rc = attrib_gen_run(ctx, opts, &sink, l, stats);
    if (rc == ATTRIB_OK)
        rc = flush_sessions(l);
    if (rc == ATTRIB_OK)
        rc = flush_conversions(l);
    if (rc == ATTRIB_OK)
        rc = flush_costs(l);
    if (rc != ATTRIB_OK)
        goto done;
    attrib__progress(ctx, "creating indexes", 0, 0);
    rc = st->ops->init_schema(st->impl);
    if (rc == ATTRIB_OK)
        rc = attrib__store_commit(st);
done:
    if (rc != ATTRIB_OK)
        attrib__store_rollback(st);
    free(l);
    return attrib__leave(ctx, rc);
}
