/*
 * The report's charts as SVG text (see svg.h). Geometry in a fixed viewBox
 * (the page scales it to its width); numbers printed with %.1f in the C
 * locale the library never changes. Scales start at zero (or below, for a
 * negative value) and end at a "nice" number: 1, 2, 2.5 or 5 times a power
 * of ten.
 */
#include "lib/report/svg.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define W 720.0      /* viewBox width */
#define FONT 12.0    /* tick and label font size */
#define TITLE_H 24.0 /* room for the title line */

/* Okabe–Ito: distinguishable with the common colour-vision deficiencies. */
static const char *const palette[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                      "#56B4E9", "#D55E00", "#999999", "#000000"};

const char *attrib__svg_color(size_t i)
{
    return palette[i % (sizeof(palette) / sizeof(palette[0]))];
}

__attribute__((format(printf, 2, 3))) static void put(attrib_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)!attrib_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void attrib__html_text(attrib_buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&':
            put(b, "&amp;");
            break;
        case '<':
            put(b, "&lt;");
            break;
        case '>':
            put(b, "&gt;");
            break;
        case '"':
            put(b, "&quot;");
            break;
        case '\'':
            put(b, "&#39;");
            break;
        default:
            (void)!attrib_buf_addc(b, *s);
        }
    }
}

/* A label cut to `max` characters (by bytes, not inside a UTF-8 sequence). */
static void short_text(attrib_buf *b, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max) {
        attrib__html_text(b, s);
        return;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    char cut[128];
    if (max >= sizeof(cut))
        max = sizeof(cut) - 1;
    memcpy(cut, s, max);
    cut[max] = '\0';
    attrib__html_text(b, cut);
    put(b, "…");
}

/* The smallest nice number >= x (x > 0). */
static double nice_ceil(double x)
{
    double p = pow(10.0, floor(log10(x)));
    static const double steps[] = {1.0, 2.0, 2.5, 5.0, 10.0};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if (steps[i] * p >= x * (1.0 - 1e-12))
            return steps[i] * p;
    return 10.0 * p;
}

typedef struct {
    double lo, hi, step; /* domain and tick step */
} scale;

/* A domain covering [min(0, lo), max(0, hi)] with about 5 ticks. */
static scale make_scale(double lo, double hi)
{
    if (!(lo < 0.0))
        lo = 0.0;
    if (!(hi > 0.0))
        hi = 0.0;
    if (hi - lo <= 0.0)
        hi = lo + 1.0;
    scale s;
    s.step = nice_ceil((hi - lo) / 5.0);
    s.lo = floor(lo / s.step) * s.step;
    s.hi = ceil(hi / s.step) * s.step;
    return s;
}

static void tick_text(attrib_buf *b, double v, attrib__svg_unit unit)
{
    char t[48];
    double a = fabs(v);
    if (unit == ATTRIB__SVG_PERCENT)
        snprintf(t, sizeof(t), "%.4g%%", v * 100.0);
    else if (unit == ATTRIB__SVG_AMOUNT && a >= 1e9)
        snprintf(t, sizeof(t), "%.4gG", v / 1e9);
    else if (unit == ATTRIB__SVG_AMOUNT && a >= 1e6)
        snprintf(t, sizeof(t), "%.4gM", v / 1e6);
    else if (unit == ATTRIB__SVG_AMOUNT && a >= 1e3)
        snprintf(t, sizeof(t), "%.4gk", v / 1e3);
    else
        snprintf(t, sizeof(t), "%.4g", v);
    put(b, "%s", t);
}

static void open_svg(attrib_buf *b, const attrib__svg_chart *c, double h)
{
    put(b,
        "<svg class=\"chart\" viewBox=\"0 0 %.0f %.1f\" role=\"img\" "
        "xmlns=\"http://www.w3.org/2000/svg\" font-size=\"%.0f\"><title>",
        W, h, FONT);
    attrib__html_text(b, c->title);
    put(b, "</title><text class=\"ctitle\" x=\"0\" y=\"16\">");
    attrib__html_text(b, c->title);
    put(b, "</text>");
}

/* Legend on one line at y; returns nothing, draws n_series swatches. */
static void legend(attrib_buf *b, const attrib__svg_chart *c, double x, double y)
{
    if (c->n_series < 2 || c->series == NULL)
        return;
    for (size_t s = 0; s < c->n_series; s++) {
        put(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>", x, y - 9,
            attrib__svg_color(s));
        put(b, "<text x=\"%.1f\" y=\"%.1f\">", x + 14, y);
        attrib__html_text(b, c->series[s]);
        put(b, "</text>");
        x += 24.0 + 7.0 * (double)strlen(c->series[s]);
    }
}

static void ref_label(attrib_buf *b, const attrib__svg_chart *c, double x, double y,
                      const char *anchor)
{
    put(b, "<text class=\"ref\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", x, y, anchor);
    attrib__html_text(b, c->ref_label != NULL ? c->ref_label : "");
    put(b, "</text>");
}

void attrib__svg_hbars(attrib_buf *b, const attrib__svg_chart *c)
{
    const double left = 170.0, right = W - 20.0, bar = 12.0, gap = 8.0;
    double lo = 0.0, hi = 0.0;
    for (size_t i = 0; i < c->n_cats * c->n_series; i++)
        if (!isnan(c->v[i])) {
            lo = fmin(lo, c->v[i]);
            hi = fmax(hi, c->v[i]);
        }
    if (!isnan(c->ref))
        hi = fmax(hi, c->ref * 1.1);
    scale s = make_scale(lo, hi);
    double row = (double)c->n_series * bar + gap;
    double top = TITLE_H + (c->n_series > 1 ? 20.0 : 6.0);
    double plot_h = row * (double)(c->n_cats > 0 ? c->n_cats : 1);
    double h = top + plot_h + 44.0;
    open_svg(b, c, h);
    legend(b, c, left, TITLE_H + 12.0);
#define X(v) (left + ((v)-s.lo) / (s.hi - s.lo) * (right - left))
    for (double t = s.lo; t <= s.hi + s.step / 2; t += s.step) {
        put(b, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", X(t), X(t),
            top, top + plot_h);
        put(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", X(t), top + plot_h + 14);
        tick_text(b, t, c->unit);
        put(b, "</text>");
    }
    for (size_t i = 0; i < c->n_cats; i++) {
        double y = top + row * (double)i + gap / 2;
        put(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", left - 6,
            y + (double)c->n_series * bar / 2 + 4);
        short_text(b, c->cats[i], 24);
        put(b, "</text>");
        for (size_t k = 0; k < c->n_series; k++) {
            double v = c->v[i * c->n_series + k];
            if (isnan(v))
                continue;
            double x0 = X(fmin(v, 0.0)), x1 = X(fmax(v, 0.0));
            put(b,
                "<rect class=\"mark\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "fill=\"%s\"><title>",
                x0, y + bar * (double)k, fmax(x1 - x0, 0.5), bar - 1, attrib__svg_color(k));
            attrib__html_text(b, c->cats[i]);
            if (c->series != NULL) {
                put(b, ", ");
                attrib__html_text(b, c->series[k]);
            }
            put(b, ": ");
            tick_text(b, v, c->unit == ATTRIB__SVG_PERCENT ? c->unit : ATTRIB__SVG_RATIO);
            put(b, "</title></rect>");
        }
    }
    put(b, "<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", X(0.0), X(0.0),
        top, top + plot_h);
    if (!isnan(c->ref)) {
        put(b, "<line class=\"refline\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>",
            X(c->ref), X(c->ref), top - 4, top + plot_h);
        ref_label(b, c, X(c->ref) + 4, top + 6, "start");
    }
#undef X
    put(b, "<text class=\"alabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
        (left + right) / 2, h - 8);
    attrib__html_text(b, c->x_label);
    put(b, "</text><text class=\"alabel\" x=\"0\" y=\"%.1f\">", h - 8);
    attrib__html_text(b, c->y_label);
    put(b, "</text></svg>\n");
}

/* x ticks: about 6 date labels over n points. */
static void date_ticks(attrib_buf *b, const attrib__svg_chart *c, double left, double right,
                       double y, double font)
{
    size_t n = c->n_cats;
    size_t every = n > 6 ? (n + 5) / 6 : 1;
    for (size_t i = 0; i < n; i += every) {
        double x = n > 1 ? left + (right - left) * (double)i / (double)(n - 1) : left;
        put(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"%.0f\">", x, y,
            font);
        attrib__html_text(b, c->cats[i]);
        put(b, "</text>");
    }
}

/* One polyline per run of values without NaN (a lone point becomes a dot). */
static void polyline(attrib_buf *b, const double *v, size_t n, double left, double right,
                     double top, double bottom, scale s, const char *color, double width)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && isnan(v[i]))
            i++;
        size_t j = i;
        while (j < n && !isnan(v[j]))
            j++;
        if (j == i)
            break;
#define PX(k) (n > 1 ? left + (right - left) * (double)(k) / (double)(n - 1) : (left + right) / 2)
#define PY(x) (bottom - ((x)-s.lo) / (s.hi - s.lo) * (bottom - top))
        if (j - i == 1) {
            put(b, "<circle class=\"mark\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\"/>", PX(i),
                PY(v[i]), width + 0.5, color);
        } else {
            put(b,
                "<polyline class=\"mark\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" "
                "points=\"",
                color, width);
            for (size_t k = i; k < j; k++)
                put(b, "%s%.1f,%.1f", k > i ? " " : "", PX(k), PY(v[k]));
            put(b, "\"/>");
        }
#undef PX
#undef PY
        i = j;
    }
}

static void value_ticks(attrib_buf *b, scale s, attrib__svg_unit unit, double left, double right,
                        double top, double bottom)
{
    for (double t = s.lo; t <= s.hi + s.step / 2; t += s.step) {
        double y = bottom - (t - s.lo) / (s.hi - s.lo) * (bottom - top);
        put(b, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", left,
            right, y, y);
        put(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", left - 4, y + 4);
        tick_text(b, t, unit);
        put(b, "</text>");
    }
}

static void axis_labels(attrib_buf *b, const attrib__svg_chart *c, double left, double right,
                        double top, double bottom, double h)
{
    put(b, "<text class=\"alabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
        (left + right) / 2, h - 6);
    attrib__html_text(b, c->x_label);
    put(b,
        "</text><text class=\"alabel\" transform=\"translate(12 %.1f) rotate(-90)\" "
        "text-anchor=\"middle\">",
        (top + bottom) / 2);
    attrib__html_text(b, c->y_label);
    put(b, "</text>");
}

void attrib__svg_lines(attrib_buf *b, const attrib__svg_chart *c)
{
    const double left = 70.0, right = W - 20.0, h = 300.0;
    double top = TITLE_H + 20.0, bottom = h - 44.0;
    double lo = 0.0, hi = 0.0;
    for (size_t i = 0; i < c->n_cats * c->n_series; i++)
        if (!isnan(c->v[i])) {
            lo = fmin(lo, c->v[i]);
            hi = fmax(hi, c->v[i]);
        }
    if (!isnan(c->ref))
        hi = fmax(hi, c->ref * 1.1);
    scale s = make_scale(lo, hi);
    open_svg(b, c, h);
    legend(b, c, left, TITLE_H + 8.0);
    value_ticks(b, s, c->unit, left, right, top, bottom);
    date_ticks(b, c, left, right, bottom + 16, FONT);
    if (!isnan(c->ref)) {
        double y = bottom - (c->ref - s.lo) / (s.hi - s.lo) * (bottom - top);
        put(b, "<line class=\"refline\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", left,
            right, y, y);
        ref_label(b, c, right, y - 4, "end");
    }
    for (size_t k = 0; k < c->n_series; k++)
        polyline(b, c->v + k * c->n_cats, c->n_cats, left, right, top, bottom, s,
                 attrib__svg_color(k), 1.8);
    axis_labels(b, c, left, right, top, bottom, h);
    put(b, "</svg>\n");
}

void attrib__svg_multiples(attrib_buf *b, const attrib__svg_chart *c)
{
    const size_t cols = 3;
    const double pw = W / (double)cols, ph = 130.0, pl = 44.0, pr = 10.0, pt = 22.0, pb = 24.0;
    size_t rows = (c->n_panels + cols - 1) / cols;
    double top0 = TITLE_H + 22.0;
    double h = top0 + ph * (double)(rows > 0 ? rows : 1) + 28.0;
    open_svg(b, c, h);
    legend(b, c, 0, TITLE_H + 10.0);
    for (size_t p = 0; p < c->n_panels; p++) {
        double x0 = pw * (double)(p % cols), y0 = top0 + ph * (double)(p / cols);
        double left = x0 + pl, right = x0 + pw - pr, top = y0 + pt, bottom = y0 + ph - pb;
        const double *v = c->v + p * c->n_series * c->n_cats;
        double lo = 0.0, hi = 0.0;
        for (size_t i = 0; i < c->n_series * c->n_cats; i++)
            if (!isnan(v[i])) {
                lo = fmin(lo, v[i]);
                hi = fmax(hi, v[i]);
            }
        scale s = make_scale(lo, hi);
        s.step = s.hi - s.lo; /* two ticks: the floor and the top */
        put(b, "<g class=\"panel\"><text class=\"ptitle\" x=\"%.1f\" y=\"%.1f\">", left, y0 + 14);
        short_text(b, c->panels[p], 30);
        put(b, "</text>");
        for (int t = 0; t < 2; t++) {
            double val = t == 0 ? s.lo : s.hi, y = t == 0 ? bottom : top;
            put(b, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", left,
                right, y, y);
            put(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\">", left - 3,
                y + 4);
            tick_text(b, val, c->unit);
            put(b, "</text>");
        }
        if (c->n_cats > 0) {
            put(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">", left, bottom + 13);
            attrib__html_text(b, c->cats[0]);
            put(b, "</text><text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">",
                right, bottom + 13);
            attrib__html_text(b, c->cats[c->n_cats - 1]);
            put(b, "</text>");
        }
        for (size_t k = 0; k < c->n_series; k++)
            polyline(b, v + k * c->n_cats, c->n_cats, left, right, top, bottom, s,
                     attrib__svg_color(k), 1.2);
        put(b, "</g>");
    }
    put(b, "<text class=\"alabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", W / 2, h - 6);
    attrib__html_text(b, c->x_label);
    put(b, " · ");
    attrib__html_text(b, c->y_label);
    put(b, "</text></svg>\n");
}

void attrib__svg_vbars(attrib_buf *b, const attrib__svg_chart *c)
{
    const double left = 70.0, right = W - 20.0, h = 280.0;
    double top = TITLE_H + 12.0, bottom = h - 52.0;
    double hi = 0.0;
    for (size_t i = 0; i < c->n_cats; i++)
        if (!isnan(c->v[i]))
            hi = fmax(hi, c->v[i]);
    scale s = make_scale(0.0, hi);
    open_svg(b, c, h);
    value_ticks(b, s, c->unit, left, right, top, bottom);
    double slot = (right - left) / (double)(c->n_cats > 0 ? c->n_cats : 1);
    double font = slot < 26.0 ? 9.0 : FONT;
    for (size_t i = 0; i < c->n_cats; i++) {
        double x = left + slot * (double)i;
        double v = isnan(c->v[i]) ? 0.0 : c->v[i];
        double y = bottom - (v - s.lo) / (s.hi - s.lo) * (bottom - top);
        put(b,
            "<rect class=\"mark\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"%s\"><title>",
            x + slot * 0.1, y, slot * 0.8, fmax(bottom - y, 0.5), attrib__svg_color(0));
        attrib__html_text(b, c->cats[i]);
        put(b, ": ");
        tick_text(b, v, ATTRIB__SVG_RATIO);
        put(b, "</title></rect>");
        put(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"%.0f\">",
            x + slot / 2, bottom + 14, font);
        attrib__html_text(b, c->cats[i]);
        put(b, "</text>");
    }
    put(b, "<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", left, right,
        bottom, bottom);
    axis_labels(b, c, left, right, top, bottom, h);
    put(b, "</svg>\n");
}
