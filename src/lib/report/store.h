/*
 * The report's tables in the store: channel_reporting, and the bookkeeping
 * that lets a ranged report touch only what changed (docs/pipeline.md,
 * "report"): the exact sums per (channel, date) in attrib_report_sums, their
 * validity marker in attrib_meta, the dates (attrib_dirty_dates) and keys
 * (attrib_dirty_keys) replaced since their last report. Written once over the
 * store's bound exec/query/insert, for every backend.
 *
 * Every function runs in the caller's transaction, if any; rows passed in are
 * borrowed for the call; strings handed to a row callback are borrowed for
 * that call.
 */
#ifndef ATTRIB_LIB_REPORT_STORE_H
#define ATTRIB_LIB_REPORT_STORE_H

#include "lib/store/store.h"

/* Columns of a channel_reporting row (attrib__report_scan). */
enum {
    ATTRIB_CR_CHANNEL,
    ATTRIB_CR_DATE,
    ATTRIB_CR_COST,
    ATTRIB_CR_IHC,
    ATTRIB_CR_IHC_REVENUE,
    ATTRIB_CR_NCOLS
};

/* Columns of an attrib_report_sums row (attrib__report_scan_sums). */
enum {
    ATTRIB_RS_CHANNEL,
    ATTRIB_RS_DATE,
    ATTRIB_RS_IHC_HI, /* Σ ihc as an __int128 of 2^-60 units (util/xsum.h): high half */
    ATTRIB_RS_IHC_LO, /* low half, as a signed int64 of the same bits */
    ATTRIB_RS_REV_HI, /* Σ ihc × revenue, the same way */
    ATTRIB_RS_REV_LO,
    ATTRIB_RS_NCOLS
};

/* Columns of a dirty key (attrib__report_scan_dirty_keys). */
enum { ATTRIB_DK_CHANNEL, ATTRIB_DK_DATE, ATTRIB_DK_NCOLS };

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

/* channel_reporting rows (ATTRIB_CR_ columns) with date in the range and in
 * sel->dates (all when sel is NULL), unordered. */
int attrib__report_scan(attrib_store *st, const attrib_scan *sel, attrib_row_fn fn, void *payload);

/* Replace channel_reporting rows: delete rows whose date is in the range or in
 * sel->dates (all rows when sel is NULL), insert rows, and forget those dirty
 * dates (and the "everything" mark '*') and the dirty keys of those dates. */
int attrib__report_replace(attrib_store *st, const attrib_scan *sel, const attrib_report_row *rows,
                           size_t n);

/* Before the attribution rows of the conversions in sel's range are deleted:
 * with a range and invalid sums, remember the dates of their sessions as
 * dirty (with valid sums the caller maintains the sums and dirty keys
 * instead); without a range, invalidate the sums (everything is replaced). */
int attrib__report_note_replaced(attrib_store *st, const attrib_scan *sel);

/* Dates remembered by attrib__report_note_replaced and not yet reported
 * (one column), then forgotten by attrib__report_replace. */
int attrib__report_scan_dirty_dates(attrib_store *st, attrib_row_fn fn, void *payload);

/* Whether the sums mirror the attribution rows (*out): true once a full report
 * wrote them all, until attrib__report_invalidate_sums or a full attribute. */
int attrib__report_sums_valid(attrib_store *st, bool *out);

/* Whether a conversion is dated after `date` (*any; false when date is NULL). */
int attrib__report_conversion_after(attrib_store *st, const char *date, bool *any);

/* attrib_report_sums rows (ATTRIB_RS_ columns) with date in the range and in
 * sel->dates (all when sel is NULL), unordered. */
int attrib__report_scan_sums(attrib_store *st, const attrib_scan *sel, attrib_row_fn fn,
                             void *payload);

/* sel NULL: replace every row by `rows`, forget every dirty key, mark the sums valid.
 * Otherwise delete the rows whose date is in the range or in sel->dates (none when
 * neither is set), then insert or replace `rows`; with `dirty`, also remember the
 * keys of `rows` as dirty (changed since the last report of their date). */
int attrib__report_replace_sums(attrib_store *st, const attrib_scan *sel,
                                const attrib_sums_row *rows, size_t n, bool dirty);

/* Dirty keys (ATTRIB_DK_ columns), unordered. */
int attrib__report_scan_dirty_keys(attrib_store *st, attrib_row_fn fn, void *payload);

/* The sums no longer mirror the attribution rows: delete them and the dirty keys,
 * mark them invalid and remember '*' as a dirty date (the next ranged report
 * recomputes everything). */
int attrib__report_invalidate_sums(attrib_store *st);

#endif
