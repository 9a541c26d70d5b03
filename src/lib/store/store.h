/*
 * The store's backend interface: a const table of operations per database
 * (STYLE.md §17), chosen by the target string. Backends move rows; all
 * validation, journey logic and arithmetic live above them, so SQLite and
 * PostgreSQL give the same bytes.
 *
 * Values cross the interface as attrib_value, typed as the database holds
 * them (SQLite is dynamically typed: a flag may arrive as TEXT, and the
 * layer above rejects it with the row named).
 */
#ifndef ATTRIB_LIB_STORE_H
#define ATTRIB_LIB_STORE_H

#include "attrib/store.h"
#include "lib/core/ctx.h"
#include "util/buf.h"

#include <string.h>

typedef enum {
    ATTRIB_V_NULL = 0,
    ATTRIB_V_INT,
    ATTRIB_V_REAL,
    ATTRIB_V_TEXT,
} attrib_vtype;

typedef struct {
    attrib_vtype type;
    int64_t i;     /* ATTRIB_V_INT */
    double r;      /* ATTRIB_V_REAL */
    const char *s; /* ATTRIB_V_TEXT: borrowed for the callback, NUL-terminated */
    size_t len;    /* ATTRIB_V_TEXT */
} attrib_value;

/* Columns of a session row as scan_sessions delivers them. */
enum {
    ATTRIB_SS_SESSION_ID,
    ATTRIB_SS_USER_ID,
    ATTRIB_SS_EVENT_DATE,
    ATTRIB_SS_EVENT_TIME,
    ATTRIB_SS_CHANNEL,
    ATTRIB_SS_HOLDER,
    ATTRIB_SS_CLOSER,
    ATTRIB_SS_IMPRESSION,
    ATTRIB_SS_COST,     /* session_costs.cost; NULL when NULL or no cost row */
    ATTRIB_SS_HAS_COST, /* INT 1 when a cost row exists (for messages) */
    ATTRIB_SS_ROWID,    /* row locator for messages (rowid, ctid ordinal): INT or NULL */
    ATTRIB_SS_NCOLS
};

/* Columns of a conversion row. */
enum {
    ATTRIB_CV_CONV_ID,
    ATTRIB_CV_USER_ID,
    ATTRIB_CV_CONV_DATE,
    ATTRIB_CV_CONV_TIME,
    ATTRIB_CV_REVENUE,
    ATTRIB_CV_ROWID,
    ATTRIB_CV_NCOLS
};

/* Columns of an attribution row joined for the report. */
enum {
    ATTRIB_AR_CONV_ID,
    ATTRIB_AR_SESSION_ID,
    ATTRIB_AR_IHC,
    ATTRIB_AR_CHANNEL,    /* session_sources.channel_name */
    ATTRIB_AR_EVENT_DATE, /* session_sources.event_date */
    ATTRIB_AR_REVENUE,    /* conversions.revenue */
    ATTRIB_AR_NCOLS
};

/* ATTRIB_SS_HAS_COST of a late cost row (scan_sessions_parts). */
#define ATTRIB__SS_LATE 2

/* scan_sessions_parts: start again (not an error; see there). */
#define ATTRIB__RESTART 2

/* Row callback: return 0 to go on, a negative code to stop the scan (the
 * scan then returns that code). */
typedef int (*attrib_row_fn)(const attrib_value *cols, void *payload);

/*
 * A selection. All members optional (NULL/0 = no restriction); when several
 * are set, a row must satisfy all.
 */
typedef struct {
    const char *start_date;   /* conversions: conv_date >= ; sessions/report: date >= */
    const char *end_date;     /* inclusive */
    const char *const *users; /* only rows of these user_ids */
    size_t n_users;
    const char *const *dates; /* sessions, attribution, report: only these dates */
    size_t n_dates;
    /* scan_sessions: the costs are not wanted, session_costs is not read: every
     * row's ATTRIB_SS_COST is NULL and its ATTRIB_SS_HAS_COST 0. */
    bool no_costs;
} attrib_scan;

/* One output row of attribution. */
typedef struct {
    const char *conv_id;
    const char *session_id;
    double ihc, initializer, holder, closer;
} attrib_attr_row;

/* Declared type of a column (PostgreSQL refuses a value its typed column would change). */
typedef enum { ATTRIB_COL_TEXT, ATTRIB_COL_INT, ATTRIB_COL_REAL } attrib_col_kind;

/* A table as insert() writes it; names are identifiers from fixed code, never values. */
typedef struct {
    const char *name;
    const char *const *cols;
    const attrib_col_kind *kinds;
    int ncols;
    int nkey; /* the first nkey columns are the primary key (what a conflict is about) */
} attrib_table;

/* What insert() does with a row whose key exists. */
typedef enum {
    ATTRIB_CONFLICT_FAIL = 0, /* the statement fails (plain INSERT) */
    ATTRIB_CONFLICT_REPLACE,  /* the row's other columns are overwritten */
    ATTRIB_CONFLICT_IGNORE,   /* the stored row stays */
} attrib_conflict;

/* Bound values: text must be NUL-terminated at s[len] (attrib__text does it). */
static inline attrib_value attrib__text(const char *s)
{
    return (attrib_value){.type = ATTRIB_V_TEXT, .s = s, .len = s != NULL ? strlen(s) : 0};
}
static inline attrib_value attrib__int(int64_t i)
{
    return (attrib_value){.type = ATTRIB_V_INT, .i = i};
}
static inline attrib_value attrib__real(double r)
{
    return (attrib_value){.type = ATTRIB_V_REAL, .r = r};
}
static inline attrib_value attrib__text_or_null(const char *s)
{
    return s != NULL ? attrib__text(s) : (attrib_value){.type = ATTRIB_V_NULL};
}

#define ATTRIB__MAX_PARAMS 16

/*
 * A backend: data access with bound values, and the few reads and writes that
 * must be backend-specific for speed. What the rows mean (the report's
 * bookkeeping, the API result cache) lives above, in report/store.c and
 * api/cache.c, written once over exec/query/insert.
 *
 * SQL given to exec and query is written once for both databases: parameters
 * are ?1, ?2, ... (the PostgreSQL backend renumbers them as $1, $2, ...), the
 * upsert is INSERT ... ON CONFLICT (...) DO UPDATE/NOTHING (both have it), and
 * a text column compared by byte order is followed by `bytewise`. Values are
 * always bound, never spliced into the text.
 */
typedef struct attrib_store_ops {
    const char *name; /* "sqlite", "postgresql" */
    /* Appended to a text column so that comparisons are bytewise (SQLite: "",
     * PostgreSQL: COLLATE "C", as the date indexes are built). */
    const char *bytewise;
    /* Does this backend serve the target? */
    bool (*accepts)(const char *target);
    /* Open; *display receives a malloc'ed printable target (no password). */
    /* busy_ms: how long a statement waits for another process's lock. */
    int (*open)(attrib_ctx *ctx, const char *target, unsigned flags, unsigned busy_ms, void **out,
                char **display);
    void (*close)(void *impl);
    int (*begin)(void *impl);
    int (*commit)(void *impl);
    int (*rollback)(void *impl);
    /* Execute a script of attrib's own statements without values
     * (PostgreSQL reads SQLite's type `real` as double precision). */
    int (*exec_script)(void *impl, const char *sql);
    /* Execute one statement of a user's schema file, already checked by
     * schema.c to be CREATE TABLE or CREATE INDEX; the backend refuses
     * anything else on its own too (SQLite: an authorizer; PostgreSQL: one
     * command per call). `real` as in exec_script. */
    int (*exec_schema)(void *impl, const char *sql);
    /* The built-in schema: output tables, attrib tables and their keys;
     * with input_indexes also the indexes only ranged runs use: attrib's on
     * the input tables (by user_id and by date: building them sorts the whole
     * input, several times the read of a full run) and the attribution rows'
     * by session (SQLite: built again by the first range that probes it after
     * a full re-attribution dropped it). */
    int (*init_schema)(void *impl, bool input_indexes);
    /* Whether all of attrib's indexes on the input tables exist. */
    int (*has_input_indexes)(void *impl, bool *out);
    /* Which of the named tables exist: sets present[i]. */
    int (*tables_exist)(void *impl, const char *const *names, size_t n, bool *present);
    /* Whether a primary key or unique index of table is on column alone (so
     * no two rows can share a value of it). */
    int (*is_unique)(void *impl, const char *table, const char *column, bool *out);

    /* One statement with n (<= ATTRIB__MAX_PARAMS) bound values; `what` names it in errors. */
    int (*exec)(void *impl, const char *sql, const attrib_value *params, int n, const char *what);
    /* One SELECT with bound values: each row's ncols (<= 16) values to fn, streamed. */
    int (*query)(void *impl, const char *sql, const attrib_value *params, int n, int ncols,
                 attrib_row_fn fn, void *payload, const char *what);
    /* Write n_rows rows of t->ncols values (row-major) into t, in the fastest way the
     * backend has (SQLite: one prepared INSERT; PostgreSQL: COPY, through a temp table
     * when on_conflict is not FAIL). A value the typed column would change is refused
     * with ATTRIB_EDATA and the row named by its first value. */
    int (*insert)(void *impl, const attrib_table *t, attrib_conflict on_conflict,
                  const attrib_value *rows, size_t n_rows);

    /* ---- fast paths: the journey reads and the attribution writes ---- */
    int (*scan_conversions)(void *impl, const attrib_scan *sel, attrib_row_fn fn, void *payload);
    /* Sessions with their cost joined (one row per session, cost NULL when none). */
    int (*scan_sessions)(void *impl, const attrib_scan *sel, attrib_row_fn fn, void *payload);
    /* The full scan of scan_sessions(NULL) split in up to `parts` slices read concurrently,
     * on threads of the backend's own: slice i goes to fn with payloads[i], and fn must be
     * safe to run for different slices at once (slice 0 runs on the calling thread, so
     * progress may be reported from it). The slices in order are the rows in the
     * order of scan_sessions(NULL). A slice's errors go to ctxs[i], errors of no slice to
     * ctxs[0]; the result is the error of the first failing slice (later slices may stop
     * early, earlier ones run to their end), or ATTRIB__RESTART: a fast path turned out
     * not to hold after rows were delivered; the caller discards everything the slices
     * received and calls again (the backend then takes the slow path).
     * After its own rows a slice may receive late cost rows: a session the slice
     * received earlier without a cost (ATTRIB_SS_HAS_COST 0), again with every column
     * and the cost its join found since, ATTRIB_SS_HAS_COST being ATTRIB__SS_LATE; the
     * receiver adds that cost and nothing else (the row is not a new session).
     * Optional (NULL: one slice, scan_sessions). */
    int (*scan_sessions_parts)(void *impl, unsigned parts, attrib_ctx *const *ctxs,
                               attrib_row_fn fn, void *const *payloads);
    /* Attribution rows joined to their session and conversion; sel->dates and the date
     * range filter on the session's event_date, sel->users is not used. */
    int (*scan_attribution)(void *impl, const attrib_scan *sel, attrib_row_fn fn, void *payload);
    /* The rows scan_attribution(range) gives, read the other way round: through the
     * conversions dated on or after the range's start (conv_date index, primary keys),
     * keeping the rows whose session's event_date is in the range. The same rows
     * whenever no journey holds a session dated after its conversion, which journeys
     * never do (docs/pipeline.md, "report"). Cheaper when few attribution rows follow
     * the start (a range at the end of the data): if more than `budget` would be read,
     * nothing is delivered and *taken stays false. range: start_date and end_date only.
     * Optional (NULL: scan_attribution). */
    int (*scan_credit_after)(void *impl, const attrib_scan *range, uint64_t budget, bool *taken,
                             attrib_row_fn fn, void *payload);
    /* Distinct event_date of the sessions of the attribution rows of the conversions
     * whose conv_date is in the range (all when no range): the report's dates. */
    int (*scan_attribution_dates)(void *impl, const attrib_scan *sel, attrib_row_fn fn,
                                  void *payload);
    /* Smallest and largest session_sources.event_date as days (0/0 when empty);
     * optional (NULL): lets the report choose a full scan over many index probes. */
    int (*session_day_span)(void *impl, int32_t *first, int32_t *last);
    /* Attribution rows (ATTRIB_AR_ columns) of the conversions whose conv_date is in the
     * range (all when none); sel->dates and sel->users are not used. Through the
     * conv_date index and the primary keys: cost follows the selected journeys only. */
    int (*scan_attribution_conv)(void *impl, const attrib_scan *sel, attrib_row_fn fn,
                                 void *payload);
    /* Delete the attribution and phase rows of the conversions whose conv_date is in
     * the range (all rows when there is none). The report's bookkeeping of what was
     * replaced is attrib__report_note_replaced's, called before. */
    int (*delete_attribution)(void *impl, const attrib_scan *sel);
    /* Append attribution rows (and phase values when with_phases). */
    int (*insert_attribution)(void *impl, const attrib_attr_row *rows, size_t n, bool with_phases);
    /* Delete the attribution and phase rows of these conversions (a shard's), without a
     * temp table. Optional (NULL: the caller goes through a temp table of ids). */
    int (*delete_attribution_convs)(void *impl, const char *const *conv_ids, size_t n);

    /* ---- two-phase commit (twophase.c); NULL on a backend without it (SQLite) ---- */
    /* End the open transaction with PREPARE TRANSACTION gid: its writes stay, locked and
     * invisible, until commit_prepared or rollback_prepared of the gid from any session
     * of the database, whatever happens to this one. A failure rolls it back. */
    int (*prepare)(void *impl, const char *gid);
    int (*commit_prepared)(void *impl, const char *gid);
    int (*rollback_prepared)(void *impl, const char *gid);
} attrib_store_ops;

struct attrib_store {
    const attrib_store_ops *ops;
    void *impl;
    char *display;
    attrib_ctx *ctx;
    bool in_tx;
    char job[ATTRIB_JOB_ID_MAX + 1]; /* the job this store coordinates (attrib_store_job_begin) */
    attrib_store_recovery recovered; /* what recovery resolved through this store so far */
};

extern const attrib_store_ops attrib_store_sqlite;

/* The input tables, as insert() writes them (columns as scan_sessions, scan_conversions
 * and session_costs deliver them, without the computed ones). */
extern const attrib_table attrib__table_sessions;
extern const attrib_table attrib__table_conversions;
extern const attrib_table attrib__table_costs;

/* The one spelling of an insert, for both backends: "INSERT INTO t (cols) ", then
 * "VALUES (?1, ...)" when from is NULL, else "SELECT cols FROM <from>", then the
 * conflict clause (ON CONFLICT, which SQLite and PostgreSQL share). Nonzero on out
 * of memory. */
int attrib__insert_sql(attrib_buf *sql, const attrib_table *t, attrib_conflict on_conflict,
                       const char *from);

/* The input tables of SPEC §1 exactly as challenge_db_create.sql has them
 * (SQLite-flavoured DDL; the PostgreSQL backend reads `real` as double
 * precision), without attrib's indexes. Shared by init, gen and copy. */
extern const char attrib__schema_inputs[];
extern const attrib_store_ops attrib_store_pg;

/* Run a schema file's statements (schema.c): only CREATE TABLE and CREATE
 * [UNIQUE] INDEX, one exec_schema call each; anything else is refused
 * (ATTRIB_EPARSE naming its line, counted from first_line) before it runs. */
int attrib__schema_run(attrib_store *st, const char *sql, unsigned first_line);

/* Build attrib's indexes on the input tables when any is missing, in a
 * transaction of its own (the first ranged run on a database that a full
 * `run` initialised; `attrib init` builds them up front). */
int attrib__store_index_inputs(attrib_store *st);

/* Append " AND <col> >= ?N" and " AND <col> <= ?N" for the ends of range that
 * are set, compared bytewise (ops->bytewise), binding each end at params[*n]
 * (room for two) and counting it in *n. Nonzero when out of memory. */
int attrib__sql_range(const attrib_store *st, attrib_buf *sql, attrib_value *params, int *n,
                      const attrib_scan *range, const char *col);

/* Transactions through the store, tracked so close() can roll back; they do
 * not nest (begin asserts that none is open). */
int attrib__store_begin(attrib_store *st);
int attrib__store_commit(attrib_store *st);
void attrib__store_rollback(attrib_store *st);

/* Two-phase commit (twophase.c): end the open transaction with PREPARE
 * TRANSACTION gid (on failure it is rolled back); commit or roll back a
 * prepared one. The backend must have them (ops->prepare non-NULL). */
int attrib__store_prepare(attrib_store *st, const char *gid);
int attrib__store_commit_prepared(attrib_store *st, const char *gid);
int attrib__store_rollback_prepared(attrib_store *st, const char *gid);

/* Resolve the prepared transactions of dead jobs (attrib_store_recover),
 * adding to st->recovered; a no-op without two-phase commit. Outside a
 * transaction. Every writing step calls it first. */
int attrib__store_recover(attrib_store *st);

/* Text of a value for messages ("NULL", the number, or the quoted text cut
 * to 60 bytes). */
const char *attrib__value_repr(const attrib_value *v, char *buf, size_t size);

#endif
