/*
 * Charts as inline SVG for the HTML report (html.c): horizontal bars per
 * category, lines over dates, small multiples of lines, and vertical bars.
 * Every chart has a <title>, axis labels and ticks; bars and lines carry
 * class "mark" (the browser test counts them). Values are doubles; NaN means
 * "no value" (no bar, a gap in a line). Text is escaped here. The appends
 * use the buffer's sticky failure flag: check attrib_buf_failed once.
 */
#ifndef ATTRIB_LIB_REPORT_SVG_H
#define ATTRIB_LIB_REPORT_SVG_H

#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>

/* How tick labels read. */
typedef enum {
    ATTRIB__SVG_AMOUNT,  /* 1.2k, 3.4M */
    ATTRIB__SVG_PERCENT, /* values are shares: 0.25 -> 25% */
    ATTRIB__SVG_RATIO,   /* 1.5 */
} attrib__svg_unit;

typedef struct {
    const char *title;   /* shown above the chart and as its <title> */
    const char *x_label; /* axis labels with units */
    const char *y_label;
    attrib__svg_unit unit;     /* of the value axis */
    size_t n_cats;             /* categories (bars: rows; lines: x points) */
    const char *const *cats;   /* their labels */
    size_t n_series;           /* bars per category, or lines */
    const char *const *series; /* legend names (NULL when n_series == 1) */
    const double *v;           /* see each chart */
    double ref;                /* a reference line (NaN = none) */
    const char *ref_label;     /* its label */
    size_t n_panels;           /* small multiples only */
    const char *const *panels; /* panel titles */
} attrib__svg_chart;

/* Horizontal bars: v[cat * n_series + s]. */
void attrib__svg_hbars(attrib_buf *b, const attrib__svg_chart *c);

/* Lines over the categories (dates) on x: v[s * n_cats + i]. */
void attrib__svg_lines(attrib_buf *b, const attrib__svg_chart *c);

/* Small multiples of lines, one panel per entry of panels, each on its own
 * scale: v[(panel * n_series + s) * n_cats + i]. */
void attrib__svg_multiples(attrib_buf *b, const attrib__svg_chart *c);

/* Vertical bars (a histogram): v[cat], one series. */
void attrib__svg_vbars(attrib_buf *b, const attrib__svg_chart *c);

/* Text escaped for HTML and SVG (& < > " '). */
void attrib__html_text(attrib_buf *b, const char *s);

/* The palette colour of series i. */
const char *attrib__svg_color(size_t i);

#endif
