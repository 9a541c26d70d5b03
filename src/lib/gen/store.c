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
 *
 * Layouts other than time order go through temporary staging tables with a
 * sort key (the id's first 64 bits for `sorted`, a seeded hash of the id for
 * `shuffled`, ties broken by the id) and are copied into the input tables by
 * one INSERT ... SELECT ... ORDER BY: the database sorts them (on disk when
 * large), so memory stays bounded at any size and the rows are the same.
 */
#include "attrib/gen.h"

#include "lib/store/store.h"
#include "util/strmap.h"

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

/* The staging tables of the sorted and shuffled layouts: the input columns
 * and a sort key k. */
static const char *const stage_session_cols[] = {"session_id",
                                                 "user_id",
                                                 "event_date",
                                                 "event_time",
                                                 "channel_name",
                                                 "holder_engagement",
                                                 "closer_engagement",
                                                 "impression_interaction",
                                                 "k"};
static const attrib_col_kind stage_session_kinds[] = {
    ATTRIB_COL_TEXT, ATTRIB_COL_TEXT, ATTRIB_COL_TEXT, ATTRIB_COL_TEXT, ATTRIB_COL_TEXT,
    ATTRIB_COL_INT,  ATTRIB_COL_INT,  ATTRIB_COL_INT,  ATTRIB_COL_INT};
static const attrib_table stage_sessions = {"attrib_gen_stage_s", stage_session_cols,
                                            stage_session_kinds, 9, 0};
static const char *const stage_conversion_cols[] = {"conv_id",   "user_id", "conv_date",
                                                    "conv_time", "revenue", "k"};
static const attrib_col_kind stage_conversion_kinds[] = {ATTRIB_COL_TEXT, ATTRIB_COL_TEXT,
                                                         ATTRIB_COL_TEXT, ATTRIB_COL_TEXT,
                                                         ATTRIB_COL_REAL, ATTRIB_COL_INT};
static const attrib_table stage_conversions = {"attrib_gen_stage_c", stage_conversion_cols,
                                               stage_conversion_kinds, 6, 0};
static const char *const stage_cost_cols[] = {"session_id", "cost", "k"};
static const attrib_col_kind stage_cost_kinds[] = {ATTRIB_COL_TEXT, ATTRIB_COL_REAL,
                                                   ATTRIB_COL_INT};
static const attrib_table stage_costs = {"attrib_gen_stage_k", stage_cost_cols, stage_cost_kinds, 3,
                                         0};

static const char stage_create[] =
    "CREATE TEMP TABLE attrib_gen_stage_s (session_id text, user_id text, event_date text,"
    " event_time text, channel_name text, holder_engagement integer, closer_engagement integer,"
    " impression_interaction integer, k bigint);"
    "CREATE TEMP TABLE attrib_gen_stage_c (conv_id text, user_id text, conv_date text,"
    " conv_time text, revenue real, k bigint);"
    "CREATE TEMP TABLE attrib_gen_stage_k (session_id text, cost real, k bigint);";

static const char stage_copy[] =
    "INSERT INTO session_sources (session_id, user_id, event_date, event_time, channel_name,"
    " holder_engagement, closer_engagement, impression_interaction)"
    " SELECT session_id, user_id, event_date, event_time, channel_name, holder_engagement,"
    " closer_engagement, impression_interaction FROM attrib_gen_stage_s ORDER BY k, session_id;"
    "INSERT INTO conversions (conv_id, user_id, conv_date, conv_time, revenue)"
    " SELECT conv_id, user_id, conv_date, conv_time, revenue FROM attrib_gen_stage_c"
    " ORDER BY k, conv_id;"
    "INSERT INTO session_costs (session_id, cost)"
    " SELECT session_id, cost FROM attrib_gen_stage_k ORDER BY k, session_id;"
    "DROP TABLE attrib_gen_stage_s; DROP TABLE attrib_gen_stage_c; DROP TABLE attrib_gen_stage_k;";

typedef struct {
    attrib_store *st;
    attrib_gen_layout layout;
    uint64_t seed;
    attrib_value sv[BATCH * 9], cv[BATCH * 6], kv[BATCH * 3];
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
    const attrib_table *t =
        l->layout == ATTRIB_GEN_LAYOUT_TIME ? &attrib__table_sessions : &stage_sessions;
    int rc = l->ns > 0 ? l->st->ops->insert(l->st->impl, t, ATTRIB_CONFLICT_FAIL, l->sv, l->ns) : 0;
    l->ns = 0;
    return rc;
}

static int flush_conversions(loader *l)
{
    const attrib_table *t =
        l->layout == ATTRIB_GEN_LAYOUT_TIME ? &attrib__table_conversions : &stage_conversions;
    int rc = l->nc > 0 ? l->st->ops->insert(l->st->impl, t, ATTRIB_CONFLICT_FAIL, l->cv, l->nc) : 0;
    l->nc = 0;
    return rc;
}

static int flush_costs(loader *l)
{
    const attrib_table *t =
        l->layout == ATTRIB_GEN_LAYOUT_TIME ? &attrib__table_costs : &stage_costs;
    int rc = l->nk > 0 ? l->st->ops->insert(l->st->impl, t, ATTRIB_CONFLICT_FAIL, l->kv, l->nk) : 0;
    l->nk = 0;
    return rc;
}

/* The sort key of an id in the staging tables: its first 64 bits as a signed
 * integer in the same order (sorted), or a hash of it and the seed (shuffled). */
static int64_t sort_key(const loader *l, const char *id)
{
    uint64_t k = 0;
    if (l->layout == ATTRIB_GEN_LAYOUT_SHUFFLED) {
        k = attrib_hash(id, strlen(id)) ^ (l->seed * 0x9e3779b97f4a7c15ULL);
        k ^= k >> 31;
        k *= 0xbf58476d1ce4e5b9ULL;
        k ^= k >> 29;
    } else {
        for (int i = 0; i < 16 && id[i] != '\0'; i++) {
            char c = id[i];
            k = k << 4 | (uint64_t)(c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
        }
    }
    return (int64_t)(k ^ ((uint64_t)1 << 63));
}

static int on_session(const attrib_gen_session *s, void *payload)
{
    loader *l = payload;
    session_text *t = &l->stext[l->ns];
    size_t w = l->layout == ATTRIB_GEN_LAYOUT_TIME ? 8 : 9;
    attrib_value *v = &l->sv[l->ns * w];
    v[0] = text(copy(t->session_id, sizeof(t->session_id), s->session_id));
    v[1] = text(copy(t->user_id, sizeof(t->user_id), s->user_id));
    v[2] = text(copy(t->date, sizeof(t->date), s->event_date));
    v[3] = text(copy(t->time, sizeof(t->time), s->event_time));
    v[4] = text(copy(t->channel, sizeof(t->channel), s->channel_name));
    v[5] = integer(s->holder_engagement);
    v[6] = integer(s->closer_engagement);
    v[7] = integer(s->impression_interaction);
    if (w == 9)
        v[8] = integer(sort_key(l, s->session_id));
    return ++l->ns == BATCH ? flush_sessions(l) : 0;
}

static int on_conversion(const attrib_gen_conversion *c, void *payload)
{
    loader *l = payload;
    conversion_text *t = &l->ctext[l->nc];
    size_t w = l->layout == ATTRIB_GEN_LAYOUT_TIME ? 5 : 6;
    attrib_value *v = &l->cv[l->nc * w];
    v[0] = text(copy(t->conv_id, sizeof(t->conv_id), c->conv_id));
    v[1] = text(copy(t->user_id, sizeof(t->user_id), c->user_id));
    v[2] = text(copy(t->date, sizeof(t->date), c->conv_date));
    v[3] = text(copy(t->time, sizeof(t->time), c->conv_time));
    v[4] = real(c->revenue);
    if (w == 6)
        v[5] = integer(sort_key(l, c->conv_id));
    return ++l->nc == BATCH ? flush_conversions(l) : 0;
}

static int on_cost(const attrib_gen_cost *c, void *payload)
{
    loader *l = payload;
    size_t w = l->layout == ATTRIB_GEN_LAYOUT_TIME ? 2 : 3;
    attrib_value *v = &l->kv[l->nk * w];
    v[0] = text(copy(l->ktext[l->nk], sizeof(l->ktext[0]), c->session_id));
    if (c->cost_is_null) {
        attrib_value null = {ATTRIB_V_NULL, 0, 0.0, NULL, 0};
        v[1] = null;
    } else {
        v[1] = real(c->cost);
    }
    if (w == 3)
        v[2] = integer(sort_key(l, c->session_id));
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
    l->layout = opts != NULL ? opts->layout : ATTRIB_GEN_LAYOUT_TIME;
    l->seed = opts != NULL ? opts->seed : 1;
    if (l->layout != ATTRIB_GEN_LAYOUT_TIME && l->layout != ATTRIB_GEN_LAYOUT_SORTED &&
        l->layout != ATTRIB_GEN_LAYOUT_SHUFFLED) {
        rc = attrib__error(ctx, ATTRIB_EINVAL, "gen: unknown layout %d", (int)l->layout);
        goto done;
    }
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
    /* Ids in random order insert into the primary-key B-trees at random: a page
     * cache that holds them saves most of the reads and writes (SQLite's
     * default is 2 MB; pages are allocated only as used). */
    if (strcmp(st->ops->name, "sqlite") == 0)
        rc = st->ops->exec_script(st->impl, "PRAGMA cache_size = -1048576");
    if (rc == ATTRIB_OK)
        rc = st->ops->exec_script(st->impl, attrib__schema_inputs);
    if (rc == ATTRIB_OK)
        rc = st->ops->exec_script(st->impl, drop_input_indexes);
    if (rc == ATTRIB_OK && has_data)
        rc = clear_tables(st);
    if (rc == ATTRIB_OK && l->layout != ATTRIB_GEN_LAYOUT_TIME)
        rc = st->ops->exec_script(st->impl, stage_create);
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
    if (rc == ATTRIB_OK && l->layout != ATTRIB_GEN_LAYOUT_TIME) {
        attrib__progress(ctx, "ordering rows", 0, 0);
        rc = st->ops->exec_script(st->impl, stage_copy);
    }
    if (rc != ATTRIB_OK)
        goto done;
    attrib__progress(ctx, "creating indexes", 0, 0);
    rc = st->ops->init_schema(st->impl, true);
    if (rc == ATTRIB_OK)
        rc = attrib__store_commit(st);
done:
    if (rc != ATTRIB_OK)
        attrib__store_rollback(st);
    if (st != NULL && strcmp(st->ops->name, "sqlite") == 0)
        st->ops->exec_script(st->impl, "PRAGMA cache_size = -2000"); /* the default again */
    free(l);
    return attrib__leave(ctx, rc);
}
