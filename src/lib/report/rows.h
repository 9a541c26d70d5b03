/*
 * channel_reporting aggregation (SPEC §5) turned into store rows: the report
 * rows of an aggregation (core/agg.h), sorted, and the rows of the exact
 * report sums kept in attrib_report_sums.
 */
#ifndef ATTRIB_LIB_REPORT_ROWS_H
#define ATTRIB_LIB_REPORT_ROWS_H

#include "lib/core/agg.h"
#include "lib/report/store.h"

/*
 * attrib_report_sums rows of the cells (all of them, or only the marked ones
 * when only_marked), unordered. Channel strings are borrowed from
 * a->channels; free *rows and *date_store with free().
 */
int attrib__agg_sums_rows(attrib_ctx *ctx, const attrib__agg *a, bool only_marked,
                          attrib_sums_row **rows, size_t *n, char **date_store);

/*
 * The report rows of every cell with at least one session, sorted by
 * (channel, date). *rows and the strings in it are owned by *arena-like
 * `names` storage: free *rows and *dates with free(). Fails with
 * ATTRIB_EDATA when a sum went out of range.
 */
int attrib__agg_rows(attrib_ctx *ctx, const attrib__agg *a, attrib_report_row **rows, size_t *n,
                     char **date_store);

#endif
