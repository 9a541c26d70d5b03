/*
 * The HTML report (`attrib export --html`): what goes into the page
 * (attrib__html_data), the page itself (html.c: one self-contained file with
 * inline CSS and inline SVG charts from svg.c, no script, nothing fetched),
 * and how the data is read (html_data.c: the only file of the report that
 * talks to the store, and the journey statistics).
 *
 * Every number shown is rounded for reading (2 decimals, thousands
 * separators) and carries its exact value in a data-v attribute, in the
 * CSV's shortest round-trip form; sums are correctly rounded (util/fsum.h),
 * so they equal math.fsum of the CSV's values.
 */
#ifndef ATTRIB_LIB_REPORT_HTML_H
#define ATTRIB_LIB_REPORT_HTML_H

#include "attrib/compare.h"
#include "attrib/html.h"
#include "lib/journey/dataset.h"
#include "util/buf.h"

#include <stdint.h>

/* Journey lengths 1 .. MAX-1 each, and MAX or more. */
#define ATTRIB__HTML_MAX_LEN 20
/* Time from the first session to the conversion, in buckets (html.c names them). */
#define ATTRIB__HTML_TTC 10

/* One channel_reporting row (as a CSV line). */
typedef struct {
    char *channel;
    char date[11];
    double cost, ihc, revenue;
} attrib__html_day;

/* Σ phase values of one channel's sessions in the range. */
typedef struct {
    char *channel;
    double initializer, holder, closer;
} attrib__html_phase;

/* A path (channel sequence, repeats in a row shown once with ×n) and its journeys. */
typedef struct {
    char *path;
    uint64_t journeys;
    double revenue; /* Σ revenue of those conversions */
} attrib__html_path;

typedef struct {
    const char *title;      /* page title */
    const char *source;     /* the store as it may be shown */
    const char *start_date; /* range; NULL = open */
    const char *end_date;
    attrib__html_day *days; /* sorted by channel then date (byte order), as the CSV */
    size_t n_days;
    attrib__html_phase *phases; /* sorted by channel; none when no phase rows are stored */
    size_t n_phases;
    double phase_total[3]; /* Σ initializer, holder, closer over every channel's sessions */
    uint64_t conversions_selected; /* conversions with conv_date in the range */
    uint64_t n_journeys;           /* of which with a journey */
    uint64_t n_unattributable;     /* of which without any session before them */
    double unattributable_revenue;
    uint64_t bad_rows;                          /* input rows skipped (skip_bad_rows) */
    uint64_t lengths[ATTRIB__HTML_MAX_LEN + 1]; /* [k]: journeys of k sessions; [MAX]: MAX+ */
    uint64_t ttc[ATTRIB__HTML_TTC];             /* journeys per time-to-conversion bucket */
    attrib__html_path *paths;                   /* the top paths, most journeys first */
    size_t n_paths;
    uint64_t n_distinct_paths;
    const attrib_compare_table *compare; /* NULL = no comparison (borrowed) */
} attrib__html_data;

/* The page into out. 0, or -1 when out of memory (out's failure flag). */
int attrib__html_render(const attrib__html_data *d, attrib_buf *out);

/* Free what the data owns (not compare). NULL members are fine. */
void attrib__html_data_free(attrib__html_data *d);

/* ---- html_data.c ---- */

/* channel_reporting rows of the range, sorted as the CSV. */
int attrib__html_load_report(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                             attrib__html_data *d);

/* Σ phase values per channel over the stored attribution rows whose session date
 * is in the range (attrib_journey_phases joined to their current attribution
 * row and session). */
int attrib__html_load_phases(attrib_ctx *ctx, attrib_store *st, const attrib_run_options *opts,
                             attrib__html_data *d);

/* Counts, lengths, time to conversion and the `top` most frequent paths of the
 * loaded dataset's journeys. */
int attrib__html_journeys(attrib_ctx *ctx, const attrib__dataset *ds, size_t top,
                          attrib__html_data *d);

#endif
