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

/* Columns of a channel_reporting row. */
enum {
    ATTRIB_CR_CHANNEL,
    ATTRIB_CR_DATE,
    ATTRIB_CR_COST,
    ATTRIB_CR_IHC,
    ATTRIB_CR_IHC_REVENUE,
    ATTRIB_CR_NCOLS
};

/* Columns of an attrib_report_sums row. */
enum {
    ATTRIB_RS_CHANNEL,
    ATTRIB_RS_DATE,
    ATTRIB_RS_IHC_HI, /* Σ ihc as an __int128 of 2^-60 units (util/xsum.h): high half */
    ATTRIB_RS_IHC_LO, /* low half, as a signed int64 of the same bits */
    ATTRIB_RS_REV_HI, /* Σ ihc × revenue, the same way */
    ATTRIB_RS_REV_LO,
    ATTRIB_RS_NCOLS
};

/* Columns of a dirty key (scan_dirty_keys). */
enum { ATTRIB_DK_CHANNEL, ATTRIB_DK_DATE, ATTRIB_DK_NCOLS };

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
} attrib_scan;

/* One output row of attribution. */
typedef struct {
    const char *conv_id;
    const char *session_id;
    double ihc, initializer, holder, closer;
} attrib_attr_row;

/* One output row of channel_reporting. */
typedef struct {
    const char *channel;
    const char *date;
    double cost, ihc, ihc_revenue;
} attrib_report_row;

/* One row of attrib_report_sums: the exact report sums of a (channel, date). */
typedef struct {
    const char *channel;
    const char *date;
    int64_t ihc_hi, ihc_lo, rev_hi, rev_lo;
} attrib_sums_row;

typedef struct attrib_store_ops {
    const char *name; /* "sqlite", "postgresql" */
    /* Does this backend serve the target? */
    bool (*accepts)(const char *target);
    /* Open; *display receives a malloc'ed printable target (no password). */
    int (*open)(attrib_ctx *ctx, const char *target, unsigned flags, void **out, char **display);
    void (*close)(void *impl);
    int (*begin)(void *impl);
    int (*commit)(void *impl);
    int (*rollback)(void *impl);
    /* Execute a script of statements (schema files). */
    int (*exec_script)(void *impl, const char *sql);
    /* The built-in schema: output tables, attrib tables, indexes. */
    int (*init_schema)(void *impl);
    /* Which of the named tables exist: sets present[i]. */
    int (*tables_exist)(void *impl, const char *const *names, size_t n, bool *present);
    int (*has_rows)(void *impl, const char *table, bool *out);

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
     * Optional (NULL: one slice, scan_sessions). */
    int (*scan_sessions_parts)(void *impl, unsigned parts, attrib_ctx *const *ctxs,
                               attrib_row_fn fn, void *const *payloads);
    /* Attribution rows joined to their session and conversion; sel->dates and the date
     * range filter on the session's event_date, sel->users is not used. */
    int (*scan_attribution)(void *impl, const attrib_scan *sel, attrib_row_fn fn, void *payload);
    /* Distinct event_date of the sessions of the attribution rows of the conversions
     * whose conv_date is in the range (all when no range): the report's dates. */
    int (*scan_attribution_dates)(void *impl, const attrib_scan *sel, attrib_row_fn fn,
                                  void *payload);
    /* Smallest and largest session_sources.event_date as days (0/0 when empty);
     * optional (NULL): lets the report choose a full scan over many index probes. */
    int (*session_day_span)(void *impl, int32_t *first, int32_t *last);
    /* channel_reporting rows with date in the range (unordered). */
    int (*scan_report)(void *impl, const attrib_scan *sel, attrib_row_fn fn, void *payload);

    /* Attribution rows (ATTRIB_AR_ columns) of the conversions whose conv_date is in the
     * range (all when none); sel->dates and sel->users are not used. Through the
     * conv_date index and the primary keys: cost follows the selected journeys only. */
    int (*scan_attribution_conv)(void *impl, const attrib_scan *sel, attrib_row_fn fn,
                                 void *payload);

    /* Remember the dates of the sessions of the attribution rows about to be replaced for
     * the conversions in the range (all when none), then delete those rows. With a range
     * and valid report sums the dates are not remembered (the caller maintains the sums
     * and dirty keys instead); without one the sums are invalidated as by
     * invalidate_report_sums. */
    int (*delete_attribution)(void *impl, const attrib_scan *sel, bool with_phases);
    /* Append attribution rows (and phase values when with_phases). */
    int (*insert_attribution)(void *impl, const attrib_attr_row *rows, size_t n, bool with_phases);
    /* Dates remembered by delete_attribution and not yet reported (then forgotten
     * by replace_report). */
    int (*scan_dirty_dates)(void *impl, attrib_row_fn fn, void *payload);
    /* Replace channel_reporting rows: delete rows whose date is in the range or in
     * sel->dates (all rows when sel is NULL), insert rows, and forget those dirty
     * dates (and the "everything" mark '*') and the dirty keys of those dates. */
    int (*replace_report)(void *impl, const attrib_scan *sel, const attrib_report_row *rows,
                          size_t n);

    /* Exact report sums (attrib_report_sums), kept so that a ranged report need not
     * re-read the history its journeys touch. Valid (*out true) once a full report
     * wrote them all, until invalidate_report_sums or a full attribute. */
    int (*report_sums_valid)(void *impl, bool *out);
    /* attrib_report_sums rows (ATTRIB_RS_ columns) with date in the range or in
     * sel->dates (all when sel is NULL), unordered. */
    int (*scan_report_sums)(void *impl, const attrib_scan *sel, attrib_row_fn fn, void *payload);
    /* sel NULL: replace every row by `rows`, forget every dirty key, mark the sums valid.
     * Otherwise delete the rows whose date is in the range or in sel->dates (none when
     * neither is set), then insert or replace `rows`; with `dirty`, also remember the
     * keys of `rows` as dirty (changed since the last report of their date). */
    int (*replace_report_sums)(void *impl, const attrib_scan *sel, const attrib_sums_row *rows,
                               size_t n, bool dirty);
    /* Dirty keys (ATTRIB_DK_ columns), unordered. */
    int (*scan_dirty_keys)(void *impl, attrib_row_fn fn, void *payload);
    /* The sums no longer mirror the attribution rows: delete them and the dirty keys,
     * mark them invalid and remember '*' in attrib_dirty_dates (the next ranged report
     * recomputes everything). */
    int (*invalidate_report_sums)(void *impl);

    /* A SELECT of attrib's own tables (the API result cache): `ncols` columns per row
     * to fn. The SQL uses only what SQLite and PostgreSQL share. */
    int (*query)(void *impl, const char *sql, int ncols, attrib_row_fn fn, void *payload);

    /* Bulk input writes (gen, copy): one call per row kind, any number of rows. */
    int (*insert_sessions)(void *impl, const attrib_value *rows, size_t n_rows);
    int (*insert_conversions)(void *impl, const attrib_value *rows, size_t n_rows);
    int (*insert_costs)(void *impl, const attrib_value *rows, size_t n_rows);

    /* session_costs as it is (attrib copy): session_id, cost; every row, also those
     * without a session, values as stored (cost NULL when NULL). Unordered. */
    int (*scan_costs)(void *impl, attrib_row_fn fn, void *payload);
} attrib_store_ops;

struct attrib_store {
    const attrib_store_ops *ops;
    void *impl;
    char *display;
    attrib_ctx *ctx;
    bool in_tx;
};

extern const attrib_store_ops attrib_store_sqlite;

/* The input tables of SPEC §1 exactly as challenge_db_create.sql has them
 * (SQLite-flavoured DDL; the PostgreSQL backend reads `real` as double
 * precision), without attrib's indexes. Shared by init, gen and copy. */
extern const char attrib__schema_inputs[];
extern const attrib_store_ops attrib_store_pg;

/* Transactions through the store, tracked so close() can roll back. */
int attrib__store_begin(attrib_store *st);
int attrib__store_commit(attrib_store *st);
void attrib__store_rollback(attrib_store *st);

/* Text of a value for messages ("NULL", the number, or the quoted text cut
 * to 60 bytes). */
const char *attrib__value_repr(const attrib_value *v, char *buf, size_t size);

#endif
