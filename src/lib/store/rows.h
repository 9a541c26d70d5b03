/*
 * Validation of input rows as the store delivers them: every check and every
 * message about bad input data lives here, so all backends and commands
 * reject the same rows with the same words. A message names the table, the
 * row (its id, or rowid when the id itself is bad), the column and the value.
 */
#ifndef ATTRIB_LIB_ROWS_H
#define ATTRIB_LIB_ROWS_H

#include "lib/store/store.h"

/* A validated session row; strings borrowed from the store row. */
typedef struct {
    const char *session_id, *user_id, *channel;
    size_t session_id_len, user_id_len, channel_len;
    int64_t ts;
    int32_t day;
    uint8_t holder, closer, impression;
    double cost; /* 0 when NULL or no cost row */
} attrib_session_row;

typedef struct {
    const char *conv_id, *user_id;
    size_t conv_id_len, user_id_len;
    int64_t ts;
    int32_t day;
    double revenue;
} attrib_conversion_row;

/*
 * Validate one row. Returns ATTRIB_OK, or ATTRIB_EDATA with the message set
 * in ctx (the caller decides whether to skip the row). Integer ids are
 * accepted and rendered in `scratch` (64 bytes per id).
 */
int attrib__session_row(attrib_ctx *ctx, const attrib_value *cols, attrib_session_row *out,
                        char scratch[2][32]);
int attrib__conversion_row(attrib_ctx *ctx, const attrib_value *cols, attrib_conversion_row *out,
                           char scratch[2][32]);

/*
 * Input ids must be unique: session_sources.session_id (a session of two
 * rows would count its cost twice) and conversions.conv_id. A table whose
 * primary key or a unique index is the id needs no look; otherwise one
 * GROUP BY query finds the first duplicate, named with its user ids.
 * ATTRIB_EDATA. Duplicates are never skipped (which row is right?).
 * A table in `defer` whose id has no such index is left to the caller (its
 * bit set in *deferred), who sees every id of it in its own scan
 * (journey/ids.h) and calls attrib__rows_check_unique_of only when two ids
 * may be equal: a GROUP BY sorts the whole table, several times the read of
 * a full run.
 */
#define ATTRIB__IDS_SESSIONS 1u    /* session_sources.session_id */
#define ATTRIB__IDS_CONVERSIONS 2u /* conversions.conv_id */
int attrib__rows_check_unique(attrib_ctx *ctx, attrib_store *st, unsigned defer,
                              unsigned *deferred);
/* The exact check of one table (ATTRIB__IDS_SESSIONS or ATTRIB__IDS_CONVERSIONS). */
int attrib__rows_check_unique_of(attrib_ctx *ctx, attrib_store *st, unsigned table);

/* An amount (a cost, a revenue): an INT or REAL below 1.1e15 in magnitude,
 * set in *out; -1 for anything else. */
int attrib__amount_value(const attrib_value *v, double *out);

/* A number column of attrib's own tables (ihc, revenue, report values). */
int attrib__number(attrib_ctx *ctx, const attrib_value *v, double *out, const char *table,
                   const char *column, const char *row);

#endif
