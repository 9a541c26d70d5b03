/* Hash partitions of the input tables by user_id: see partition.h. */
#include "lib/store/partition.h"

#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const attrib__part_tables[ATTRIB__PART_TABLES] = {"session_sources", "conversions"};

/* The modulus and remainder of a hash partition `k` (a pg_class row), from its bound
 * "FOR VALUES WITH (modulus M, remainder R)". */
#define MODULUS_OF(k)                                                                              \
    "substring(pg_get_expr(" k ".relpartbound, " k ".oid) from 'modulus (\\d+)')::bigint"
#define REMAINDER_OF(k)                                                                            \
    "substring(pg_get_expr(" k ".relpartbound, " k ".oid) from 'remainder (\\d+)')::bigint"

static bool is_pg(const attrib_store *st)
{
    return st->ops == &attrib_store_pg;
}

/* ---- how a table stands ---- */

typedef struct {
    attrib__part_info *info;
    bool found;
} info_state;

static int on_info(const attrib_value *cols, void *payload)
{
    info_state *is = payload;
    attrib__part_info *in = is->info;
    is->found = true;
    const char *kind = cols[0].type == ATTRIB_V_TEXT ? cols[0].s : "?";
    const char *key = cols[1].type == ATTRIB_V_TEXT ? cols[1].s : "";
    int64_t n = cols[2].type == ATTRIB_V_INT ? cols[2].i : 0;
    int64_t moduli = cols[3].type == ATTRIB_V_INT ? cols[3].i : 0;
    int64_t modulus = cols[4].type == ATTRIB_V_INT ? cols[4].i : 0;
    if (strcmp(kind, "r") == 0) {
        in->state = ATTRIB__PART_PLAIN;
    } else if (strcmp(kind, "p") == 0 && strcmp(key, "HASH (user_id)") == 0 && moduli == 1 &&
               n == modulus && n > 0 && n <= UINT32_MAX) {
        in->state = ATTRIB__PART_HASHED;
        in->parts = (uint32_t)n;
    } else {
        in->state = ATTRIB__PART_OTHER;
        if (strcmp(kind, "p") == 0)
            snprintf(in->detail, sizeof(in->detail), "a table partitioned by %.80s in %lld parts",
                     key, (long long)n);
        else
            snprintf(in->detail, sizeof(in->detail), "%s",
                     strcmp(kind, "v") == 0   ? "a view"
                     : strcmp(kind, "f") == 0 ? "a foreign table"
                     : strcmp(kind, "m") == 0 ? "a materialized view"
                                              : "not a table");
    }
    return ATTRIB_OK;
}

int attrib__part_info_of(attrib_store *st, const char *table, attrib__part_info *out)
{
    memset(out, 0, sizeof(*out));
    if (!is_pg(st))
        return attrib__error(st->ctx, ATTRIB_EINVAL, "%s: not a PostgreSQL store", st->display);
    info_state is = {out, false};
    attrib_value name = attrib__text(table);
    int rc = st->ops->query(
        st->impl,
        "SELECT c.relkind::text, coalesce(pg_get_partkeydef(c.oid), ''), count(k.oid),"
        " count(DISTINCT " MODULUS_OF("k") "), min(" MODULUS_OF(
            "k") ")"
                 " FROM pg_class c LEFT JOIN pg_inherits i ON i.inhparent = c.oid"
                 " LEFT JOIN pg_class k ON k.oid = i.inhrelid"
                 " WHERE c.oid = to_regclass(quote_ident(?1)) GROUP BY c.oid, c.relkind",
        &name, 1, 5, on_info, &is, "looking at the table");
    if (rc == ATTRIB_OK && !is.found)
        out->state = ATTRIB__PART_MISSING;
    return rc;
}

/* ---- the partition command's work ---- */

/*
 * One table, in the caller's transaction. The table's name and the count come
 * as transaction-local settings (bound values, never spliced into the text);
 * identifiers are quoted by the server (format %I, regclass).
 */
static const char part_sql[] =
    "DO $attrib$\n"
    "DECLARE\n"
    "  name text := current_setting('attrib.part_table');\n"
    "  parts int := current_setting('attrib.part_parts')::int;\n"
    "  t regclass := to_regclass(quote_ident(name));\n"
    "  nsp text; pk text; defs text[]; d text; i int;\n"
    "BEGIN\n"
    "  EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', t);\n"
    "  SELECT quote_ident(n.nspname) INTO nsp FROM pg_class c\n"
    "    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = t;\n"
    "  SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord) INTO pk\n"
    "    FROM pg_index x, unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord), pg_attribute a\n"
    "    WHERE x.indrelid = t AND x.indisprimary AND a.attrelid = t AND a.attnum = k.attnum;\n"
    "  SELECT coalesce(array_agg(regexp_replace(pg_get_indexdef(x.indexrelid),\n"
    "      '^CREATE UNIQUE INDEX', 'CREATE INDEX') ORDER BY x.indexrelid), '{}') INTO defs\n"
    "    FROM pg_index x WHERE x.indrelid = t AND NOT x.indisprimary;\n"
    "  EXECUTE format('CREATE TABLE %s.attrib_part_new (LIKE %s INCLUDING DEFAULTS'\n"
    "    ' INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)'\n"
    "    ' PARTITION BY HASH (user_id)', nsp, t);\n"
    "  FOR i IN 0 .. parts - 1 LOOP\n"
    "    EXECUTE format('CREATE TABLE %s.%I PARTITION OF %s.attrib_part_new'\n"
    "      ' FOR VALUES WITH (MODULUS %s, REMAINDER %s)', nsp, 'attrib_part_new_p' || i, nsp,\n"
    "      parts, i);\n"
    "  END LOOP;\n"
    "  EXECUTE format('INSERT INTO %s.attrib_part_new SELECT * FROM %s', nsp, t);\n"
    "  EXECUTE format('DROP TABLE %s', t);\n"
    "  EXECUTE format('ALTER TABLE %s.attrib_part_new RENAME TO %I', nsp, name);\n"
    "  FOR i IN 0 .. parts - 1 LOOP\n"
    "    EXECUTE format('ALTER TABLE %s.%I RENAME TO %I', nsp, 'attrib_part_new_p' || i,\n"
    "      name || '_p' || i);\n"
    "    IF pk IS NOT NULL THEN\n"
    "      EXECUTE format('ALTER TABLE %s.%I ADD PRIMARY KEY (%s)', nsp, name || '_p' || i, pk);\n"
    "    END IF;\n"
    "  END LOOP;\n"
    "  FOREACH d IN ARRAY defs LOOP\n"
    "    EXECUTE d;\n"
    "  END LOOP;\n"
    "  EXECUTE format('ANALYZE %s.%I', nsp, name);\n"
    "END\n"
    "$attrib$";

static int on_count(const attrib_value *cols, void *payload)
{
    uint64_t *n = payload;
    *n = cols[0].type == ATTRIB_V_INT && cols[0].i > 0 ? (uint64_t)cols[0].i : 0;
    return ATTRIB_OK;
}

int attrib__part_table(attrib_store *st, const char *table, uint32_t parts, uint64_t *rows)
{
    char what[96], count_sql[64];
    char n[16];
    snprintf(what, sizeof(what), "partitioning %s", table);
    snprintf(n, sizeof(n), "%u", parts);
    attrib_value v[2] = {attrib__text(table), attrib__text(n)};
    *rows = 0;
    if (!is_pg(st))
        return attrib__error(st->ctx, ATTRIB_EINVAL, "%s: not a PostgreSQL store", st->display);
    int rc = st->ops->exec(st->impl,
                           "SELECT set_config('attrib.part_table', ?1, true),"
                           " set_config('attrib.part_parts', ?2, true)",
                           v, 2, what);
    if (rc == ATTRIB_OK)
        rc = st->ops->exec(st->impl, part_sql, NULL, 0, what);
    /* table is one of attrib__part_tables: a fixed identifier */
    snprintf(count_sql, sizeof(count_sql), "SELECT count(*) FROM %s", table);
    if (rc == ATTRIB_OK)
        rc = st->ops->query(st->impl, count_sql, NULL, 0, 1, on_count, rows, what);
    return rc;
}

/* ---- a shard's partitions ---- */

#define MAX_PARTS 65536

typedef struct {
    attrib_ctx *ctx;
    uint32_t index, count;
    /* per table: partitions seen, their modulus, the user_id type; the shard's union */
    uint32_t n[ATTRIB__PART_TABLES];
    int64_t modulus;
    bool mixed; /* moduli differ, or a partition is not a hash partition */
    char type[ATTRIB__PART_TABLES][64];
    attrib_buf view[ATTRIB__PART_TABLES];
    attrib_buf any[ATTRIB__PART_TABLES]; /* some partition: the empty view's source */
    attrib_buf costs;                    /* session_costs, qualified */
} scope_state;

static int on_part(const attrib_value *cols, void *payload)
{
    scope_state *ss = payload;
    int t = cols[0].type == ATTRIB_V_INT && cols[0].i >= 0 && cols[0].i < ATTRIB__PART_TABLES
                ? (int)cols[0].i
                : -1;
    if (t < 0 || cols[1].type != ATTRIB_V_TEXT) {
        ss->mixed = true;
        return ATTRIB_OK;
    }
    if (cols[4].type == ATTRIB_V_TEXT)
        snprintf(ss->type[t], sizeof(ss->type[t]), "%s", cols[4].s);
    if (cols[2].type != ATTRIB_V_INT || cols[3].type != ATTRIB_V_INT || cols[2].i <= 0 ||
        cols[2].i > MAX_PARTS || (ss->modulus != 0 && ss->modulus != cols[2].i)) {
        ss->mixed = true;
        return ATTRIB_OK;
    }
    ss->modulus = cols[2].i;
    ss->n[t]++;
    int e = 0;
    if (ss->any[t].len == 0)
        e |= attrib_buf_adds(&ss->any[t], cols[1].s);
    if ((uint64_t)cols[3].i % ss->count == ss->index) {
        e |= attrib_buf_adds(&ss->view[t], ss->view[t].len > 0 ? " UNION ALL " : "");
        e |= attrib_buf_printf(&ss->view[t], "SELECT * FROM %s", cols[1].s);
    }
    return e != 0 ? attrib__error(ss->ctx, ATTRIB_ENOMEM, "out of memory") : ATTRIB_OK;
}

static int on_costs(const attrib_value *cols, void *payload)
{
    scope_state *ss = payload;
    if (cols[0].type == ATTRIB_V_TEXT && attrib_buf_adds(&ss->costs, cols[0].s) != 0)
        return attrib__error(ss->ctx, ATTRIB_ENOMEM, "out of memory");
    return ATTRIB_OK;
}

static int on_bool(const attrib_value *cols, void *payload)
{
    bool *b = payload;
    *b = cols[0].type == ATTRIB_V_INT && cols[0].i != 0;
    return ATTRIB_OK;
}

int attrib__shard_unscope(attrib_store *st)
{
    return st->ops->exec(st->impl,
                         "DROP VIEW IF EXISTS pg_temp.session_costs, pg_temp.session_sources,"
                         " pg_temp.conversions",
                         NULL, 0, "dropping the shard's views");
}

int attrib__shard_scope(attrib_store *st, uint32_t index, uint32_t count, bool *scoped)
{
    scope_state ss = {.ctx = st->ctx, .index = index, .count = count};
    attrib_buf sql = ATTRIB_BUF_INIT(0);
    bool made = false, first = false;
    int rc = ATTRIB_OK;
    *scoped = false;
    if (!is_pg(st) || count == 0)
        return ATTRIB_OK;
    /* the buffers start zeroed, as ATTRIB_BUF_INIT(0) */
    /* Every partition of the two tables when they are hash-partitioned by user_id
     * (0: session_sources, 1: conversions), qualified and quoted by the server. */
    rc = st->ops->query(
        st->impl,
        "SELECT t.i, quote_ident(n.nspname) || '.' || quote_ident(k.relname),"
        " " MODULUS_OF("k") ", " REMAINDER_OF(
            "k") ","
                 " (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
                 "  WHERE a.attrelid = i.inhparent AND a.attname = 'user_id' AND NOT "
                 "a.attisdropped)"
                 " FROM (VALUES (0, 'session_sources'), (1, 'conversions')) AS t(i, name)"
                 " JOIN pg_inherits i ON i.inhparent = to_regclass(quote_ident(t.name))"
                 " JOIN pg_class k ON k.oid = i.inhrelid JOIN pg_namespace n ON n.oid = "
                 "k.relnamespace"
                 " WHERE pg_get_partkeydef(i.inhparent) = 'HASH (user_id)' ORDER BY 1, 4",
        NULL, 0, 5, on_part, &ss, "listing the partitions of session_sources and conversions");
    if (rc == ATTRIB_OK)
        rc = st->ops->query(st->impl,
                            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)"
                            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                            " WHERE c.oid = to_regclass('session_costs')",
                            NULL, 0, 1, on_costs, &ss, "looking for session_costs");
    if (rc != ATTRIB_OK)
        goto done;
    /* Every user in exactly one partition of each table, the same in both: one
     * modulus, every remainder present, user_id of one type (so one hash). */
    if (ss.mixed || ss.modulus == 0 || ss.n[0] != ss.modulus || ss.n[1] != ss.modulus ||
        strcmp(ss.type[0], ss.type[1]) != 0) {
        ATTRIB_LOG(st->ctx, ATTRIB_LOG_DEBUG,
                   "shard %u/%u: the input tables are not hash-partitioned alike by user_id; "
                   "every row is read and filtered by attrib_shard_of",
                   index, count);
        goto done;
    }
    made = true;
    for (int t = 0; t < ATTRIB__PART_TABLES && rc == ATTRIB_OK; t++) {
        attrib_buf_reset(&sql);
        int e = attrib_buf_printf(&sql, "CREATE TEMP VIEW %s AS ", attrib__part_tables[t]);
        if (ss.view[t].len > 0) /* a shard beyond the partitions owns none */
            e |= attrib_buf_adds(&sql, attrib_buf_cstr(&ss.view[t]));
        else
            e |= attrib_buf_printf(&sql, "SELECT * FROM %s WHERE false",
                                   attrib_buf_cstr(&ss.any[t]));
        rc = e != 0 ? attrib__error(st->ctx, ATTRIB_ENOMEM, "out of memory")
                    : st->ops->exec(st->impl, attrib_buf_cstr(&sql), NULL, 0,
                                    "creating the shard's views");
    }
    if (rc == ATTRIB_OK && ss.costs.len > 0) {
        attrib_buf_reset(&sql);
        if (attrib_buf_printf(&sql,
                              "CREATE TEMP VIEW session_costs AS SELECT c.* FROM %s c JOIN "
                              "pg_temp.session_sources s ON s.session_id = c.session_id",
                              attrib_buf_cstr(&ss.costs)) != 0)
            rc = attrib__error(st->ctx, ATTRIB_ENOMEM, "out of memory");
        else
            rc = st->ops->exec(st->impl, attrib_buf_cstr(&sql), NULL, 0,
                               "creating the shard's views");
    }
    /* The views must be what the names mean (pg_temp first on the search_path). */
    if (rc == ATTRIB_OK)
        rc =
            st->ops->query(st->impl,
                           "SELECT (to_regclass('session_sources') ="
                           " to_regclass('pg_temp.session_sources') AND"
                           " to_regclass('conversions') = to_regclass('pg_temp.conversions'))::int",
                           NULL, 0, 1, on_bool, &first, "checking the shard's views");
    if (rc == ATTRIB_OK && !first)
        ATTRIB_LOG(st->ctx, ATTRIB_LOG_DEBUG,
                   "shard %u/%u: the search_path puts pg_temp after the tables; every row is "
                   "read and filtered by attrib_shard_of",
                   index, count);
done:
    if (made && (rc != ATTRIB_OK || !first)) {
        int drc = attrib__shard_unscope(st);
        if (rc == ATTRIB_OK)
            rc = drc;
    }
    if (rc == ATTRIB_OK)
        *scoped = made && first;
    for (int t = 0; t < ATTRIB__PART_TABLES; t++) {
        attrib_buf_free(&ss.view[t]);
        attrib_buf_free(&ss.any[t]);
    }
    attrib_buf_free(&ss.costs);
    attrib_buf_free(&sql);
    return rc;
}
