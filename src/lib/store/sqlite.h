/*
 * Internals of the SQLite backend shared by its files: sqlite.c
 * (connection, transactions, statements), sqlite_scan.c and sqlite_band.c
 * (the concurrent full session scan) and sqlite_window.c (a selection's
 * sessions).
 */
#ifndef ATTRIB_LIB_STORE_SQLITE_H
#define ATTRIB_LIB_STORE_SQLITE_H

#include "lib/store/store.h"

#include <sqlite3.h>

typedef struct {
    sqlite3 *db;
    attrib_ctx *ctx;
    const char *path;       /* display name */
    bool sessions_rowid;    /* session_sources has a rowid */
    bool conversions_rowid; /* conversions has a rowid */
    bool costs_rowid;       /* session_costs has a rowid */
    bool band_off;          /* the band join met what it cannot join: not again */
    sqlite3_stmt *ins_attr;
    sqlite3_stmt *ins_phase;
    unsigned busy_ms; /* how long a statement waits for another process's lock */
} sq_store;

/* The columns of session_sources every session read selects, in the order of
 * ATTRIB_SS_* (store.h) up to the cost: the scans append the cost columns of
 * their join and the rowid. */
#define SQ_SESSION_COLS                                                                            \
    "s.session_id, s.user_id, s.event_date, s.event_time, s.channel_name, "                        \
    "s.holder_engagement, s.closer_engagement, s.impression_interaction"

/* The cost rows of one session id (?1), as the LEFT JOIN would join them. */
#define SQ_COST_LOOKUP "SELECT cost FROM session_costs WHERE session_id = ?1"

/*
 * The message for a failed SQLite call on db (path as shown): SQLite's own
 * text, or, for a lock held past the busy timeout or a database that cannot
 * be written because of its directory, what is wrong and what to do. Written
 * to buf (size bytes); returns buf.
 */
const char *attrib__sq_errmsg(sqlite3 *db, const char *path, unsigned busy_ms, char *buf,
                              size_t size);

/* Fail with what went wrong on s's connection, while doing `what`: the
 * context's error (ATTRIB_ENOMEM or ATTRIB_EDB), returned. */
int attrib__sq_fail(sq_store *s, const char *what);

/* One column of the current row of st as the store delivers it (text borrowed
 * until the next step). Only on connections opened with SQLITE_OPEN_NOMUTEX
 * (sqlite.c says why). */
void attrib__sq_column_value(sqlite3_stmt *st, int i, attrib_value *v);

/* The backend's query op (store.h). */
int attrib__sq_query(void *impl, const char *sql, const attrib_value *params, int n, int ncols,
                     attrib_row_fn fn, void *payload, const char *what);

/* The backend's scan_sessions_parts op (store.h), in sqlite_scan.c. */
int attrib__sq_scan_sessions_parts(void *impl, unsigned parts, attrib_ctx *const *ctxs,
                                   attrib_row_fn fn, void *const *payloads);

/* scan_sessions_parts, and scan_sessions(NULL) with late_ok false: rows
 * without late cost rows (store.h), for receivers that do not take them. */
int attrib__sq_scan_sessions_late(sq_store *s, unsigned parts, attrib_ctx *const *ctxs,
                                  attrib_row_fn fn, void *const *payloads, bool late_ok);

/* Whether session_costs.session_id is unique and compared as bytes (a rowid
 * table with a unique index of that one column, BINARY collation): then a
 * selection's costs can be joined by rowid windows (sqlite_window.c). */
int attrib__sq_window_ok(sq_store *s, bool *out);

/* Deliver the sessions of ss (its 8 session_sources columns, then the rowid
 * or NULL; bound, not stepped) with their costs joined by rowid windows:
 * only when attrib__sq_window_ok; rows as scan_sessions delivers them. */
int attrib__sq_scan_sessions_window(sq_store *s, sqlite3_stmt *ss, attrib_row_fn fn, void *payload);

#endif
