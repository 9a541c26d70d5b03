/*
 * The HTML page of the report (html.h): sections in a fixed order, each a
 * chart (svg.c) followed by the table of its numbers. No script, no external
 * resource: a Content-Security-Policy forbids both, so a browser would show
 * any slip as a console error (the browser test checks there is none).
 */
#include "lib/report/html.h"

#include "lib/report/svg.h"
#include "util/fsum.h"
#include "util/numfmt.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ttc_names[ATTRIB__HTML_TTC] = {
    "< 1 hour",  "1–6 hours",  "6–24 hours", "1–3 days",   "3–7 days",
    "7–14 days", "14–30 days", "30–60 days", "60–90 days", "90 days +"};

static const char css[] =
    "@page{size:A4;margin:14mm}"
    "body{font-family:'DejaVu Sans','Helvetica Neue',Arial,sans-serif;color:#222;"
    "max-width:980px;margin:0 auto;padding:16px;line-height:1.4}"
    "h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.25em;margin:28px 0 6px;"
    "border-bottom:2px solid #0072B2;padding-bottom:2px;break-after:avoid}"
    ".meta{color:#555;margin:0 0 12px}"
    ".kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:8px}"
    ".kpi{border:1px solid #ccd;border-radius:6px;padding:8px}"
    ".kpi .l{font-size:.8em;color:#555}.kpi .v{font-size:1.3em;font-weight:bold}"
    "figure{margin:12px 0;break-inside:avoid}figcaption{font-size:.85em;color:#555}"
    "svg.chart{width:100%;height:auto;display:block}"
    "svg text{fill:#222}svg .ctitle{font-weight:bold;font-size:14px}"
    "svg .alabel{fill:#444;font-style:italic}svg .ptitle{font-weight:bold}"
    "svg .grid{stroke:#e4e4e4}svg .axis{stroke:#444}"
    "svg .refline{stroke:#c00;stroke-dasharray:5 3;stroke-width:1.5}svg .ref{fill:#c00}"
    "table{border-collapse:collapse;font-size:.85em;margin:6px 0 12px}"
    "th,td{border-bottom:1px solid #ddd;padding:2px 8px;text-align:left}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
    "tr{break-inside:avoid}thead{display:table-header-group}"
    "details summary{cursor:pointer;color:#0072B2}"
    ".note{font-size:.85em;color:#555}"
    "@media print{body{max-width:none;padding:0}.kpis{grid-template-columns:repeat(4,1fr)}}";

__attribute__((format(printf, 2, 3))) static void put(attrib_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)!attrib_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

#define text attrib__html_text

/* How a number reads. */
typedef enum {
    AMOUNT, /* 1,234.57 */
    SHARE,  /* 12.35 % (the value is a fraction) */
    COUNT,  /* 1,234 (an integer) */
} kind;

/* x with 2 decimals (or none) and thousands separators, as Python's ',.2f'. */
static void readable(attrib_buf *b, double x, int decimals)
{
    char s[64];
    snprintf(s, sizeof(s), "%.*f", decimals, x);
    const char *p = s;
    if (*p == '-')
        (void)!attrib_buf_addc(b, *p++);
    size_t digits = strcspn(p, ".");
    for (size_t i = 0; i < digits; i++) {
        if (i > 0 && (digits - i) % 3 == 0)
            (void)!attrib_buf_addc(b, ',');
        (void)!attrib_buf_addc(b, p[i]);
    }
    put(b, "%s", p + digits);
}

static void exact(attrib_buf *b, double x)
{
    char s[ATTRIB_NUMFMT_MAX];
    size_t n = attrib_numfmt(x, s);
    (void)!attrib_buf_add(b, s, n);
}

/* The visible form of x (NaN: a dash). */
static void shown(attrib_buf *b, double x, kind k)
{
    if (isnan(x))
        put(b, "–");
    else if (k == SHARE) {
        readable(b, x * 100.0, 2);
        put(b, " %%");
    } else
        readable(b, x, k == COUNT ? 0 : 2);
}

/* A table cell: data-v holds the exact value ("" for none, as the CSV). */
static void cell(attrib_buf *b, double x, kind k)
{
    put(b, "<td class=\"n\" data-v=\"");
    if (!isnan(x))
        exact(b, x);
    put(b, "\">");
    shown(b, x, k);
    put(b, "</td>");
}

static void count_cell(attrib_buf *b, uint64_t n)
{
    put(b, "<td class=\"n\" data-v=\"%llu\">", (unsigned long long)n);
    readable(b, (double)n, 0);
    put(b, "</td>");
}

static void text_cell(attrib_buf *b, const char *s)
{
    put(b, "<td>");
    text(b, s);
    put(b, "</td>");
}

/* <table id=...><thead>...</thead><tbody>: heads separated by '|', numeric ones start with '#'. */
static void table_open(attrib_buf *b, const char *id, const char *caption, const char *heads)
{
    put(b, "<table id=\"%s\"><caption class=\"note\">", id);
    text(b, caption);
    put(b, "</caption><thead><tr>");
    for (const char *h = heads; *h != '\0';) {
        size_t n = strcspn(h, "|");
        bool num = *h == '#';
        put(b, "<th%s>%.*s</th>", num ? " class=\"n\"" : "", (int)(n - (num ? 1 : 0)),
            h + (num ? 1 : 0));
        h += n + (h[n] == '|');
    }
    put(b, "</tr></thead><tbody>\n");
}

static void table_close(attrib_buf *b)
{
    put(b, "</tbody></table>\n");
}

static double ratio(double a, double b)
{
    return b != 0.0 ? a / b : NAN;
}

/* ---- derived numbers ---- */

typedef struct {
    const char *channel;
    double cost, ihc, revenue;
} chan_total;

typedef struct {
    chan_total *ch; /* sorted by channel */
    size_t n_ch;
    const char **dates; /* distinct dates, sorted */
    size_t n_dates;
    double cost, ihc, revenue; /* over everything */
} totals;

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static size_t date_index(const totals *t, const char *d)
{
    const char **p = bsearch(&d, t->dates, t->n_dates, sizeof(*t->dates), cmp_str);
    return (size_t)(p - t->dates);
}

static int make_totals(const attrib__html_data *d, totals *t)
{
    memset(t, 0, sizeof(*t));
    t->ch = calloc(d->n_days + 1, sizeof(*t->ch));
    t->dates = calloc(d->n_days + 1, sizeof(*t->dates));
    if (t->ch == NULL || t->dates == NULL)
        return -1;
    attrib_fsum all[3] = {ATTRIB_FSUM_INIT, ATTRIB_FSUM_INIT, ATTRIB_FSUM_INIT};
    for (size_t i = 0; i < d->n_days;) {
        attrib_fsum s[3] = {ATTRIB_FSUM_INIT, ATTRIB_FSUM_INIT, ATTRIB_FSUM_INIT};
        size_t j = i;
        for (; j < d->n_days && strcmp(d->days[j].channel, d->days[i].channel) == 0; j++) {
            const attrib__html_day *r = &d->days[j];
            double v[3] = {r->cost, r->ihc, r->revenue};
            for (int k = 0; k < 3; k++) {
                attrib_fsum_add(&s[k], v[k]);
                attrib_fsum_add(&all[k], v[k]);
            }
            t->dates[t->n_dates++] = r->date;
        }
        t->ch[t->n_ch++] = (chan_total){.channel = d->days[i].channel,
                                        .cost = attrib_fsum_value(&s[0]),
                                        .ihc = attrib_fsum_value(&s[1]),
                                        .revenue = attrib_fsum_value(&s[2])};
        i = j;
    }
    t->cost = attrib_fsum_value(&all[0]);
    t->ihc = attrib_fsum_value(&all[1]);
    t->revenue = attrib_fsum_value(&all[2]);
    if (t->n_dates > 1)
        qsort(t->dates, t->n_dates, sizeof(*t->dates), cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < t->n_dates; i++)
        if (u == 0 || strcmp(t->dates[u - 1], t->dates[i]) != 0)
            t->dates[u++] = t->dates[i];
    t->n_dates = u;
    return 0;
}

static void free_totals(totals *t)
{
    free(t->ch);
    free(t->dates);
}

/* ---- sections ---- */

static void kpi(attrib_buf *b, const char *id, const char *label, double x, kind k)
{
    put(b, "<div class=\"kpi\"><div class=\"l\">%s</div><div class=\"v\" id=\"%s\" data-v=\"",
        label, id);
    if (!isnan(x))
        exact(b, x);
    put(b, "\">");
    shown(b, x, k);
    put(b, "</div></div>");
}

static void headline(attrib_buf *b, const attrib__html_data *d, const totals *t)
{
    put(b, "<section id=\"headline\"><h2>Headline</h2><div class=\"kpis\">");
    kpi(b, "kpi-spend", "Spend", t->cost, AMOUNT);
    kpi(b, "kpi-revenue", "Attributed revenue", t->revenue, AMOUNT);
    kpi(b, "kpi-roas", "ROAS (revenue / spend)", ratio(t->revenue, t->cost), AMOUNT);
    kpi(b, "kpi-cpo", "CPO (spend / conversion)", ratio(t->cost, t->ihc), AMOUNT);
    kpi(b, "kpi-conversions", "Attributed conversions", t->ihc, AMOUNT);
    kpi(b, "kpi-unattributable", "Unattributable conversions", (double)d->n_unattributable, COUNT);
    kpi(b, "kpi-unattributable-revenue", "Unattributable revenue", d->unattributable_revenue,
        AMOUNT);
    kpi(b, "kpi-bad-rows", "Bad rows skipped", (double)d->bad_rows, COUNT);
    put(b,
        "</div><p class=\"note\">Spend, revenue and conversions are the sums of the CSV export "
        "of the same range (channel_reporting by session date). %llu conversions have their "
        "conversion date in the range: %llu with a journey, %llu without any session before "
        "them (unattributable: no channel gets their revenue).</p></section>\n",
        (unsigned long long)d->conversions_selected, (unsigned long long)d->n_journeys,
        (unsigned long long)d->n_unattributable);
}

static void channels(attrib_buf *b, const totals *t)
{
    size_t n = t->n_ch;
    const char **cats = calloc(n + 1, sizeof(*cats));
    double *v = calloc(2 * n + 1, sizeof(*v));
    if (cats == NULL || v == NULL) {
        b->failed = true;
        goto done;
    }
    put(b, "<section id=\"channels\"><h2>Channels</h2>");
    for (size_t i = 0; i < n; i++) {
        cats[i] = t->ch[i].channel;
        v[2 * i] = t->ch[i].cost;
        v[2 * i + 1] = t->ch[i].revenue;
    }
    static const char *const sr[] = {"spend", "attributed revenue"};
    attrib__svg_chart c = {.title = "Spend and attributed revenue per channel",
                           .x_label = "amount (currency of the data)",
                           .y_label = "",
                           .unit = ATTRIB__SVG_AMOUNT,
                           .n_cats = n,
                           .cats = cats,
                           .n_series = 2,
                           .series = sr,
                           .v = v,
                           .ref = NAN};
    put(b, "<figure id=\"chart-spend-revenue\">");
    attrib__svg_hbars(b, &c);
    put(b, "</figure><figure id=\"chart-roas\">");
    for (size_t i = 0; i < n; i++)
        v[i] = ratio(t->ch[i].revenue, t->ch[i].cost);
    c.title = "ROAS per channel";
    c.x_label = "ROAS = attributed revenue / spend (1 = break-even)";
    c.unit = ATTRIB__SVG_RATIO;
    c.n_series = 1;
    c.series = NULL;
    c.ref = 1.0;
    c.ref_label = "break-even";
    attrib__svg_hbars(b, &c);
    put(b, "</figure><figure id=\"chart-cpo\">");
    for (size_t i = 0; i < n; i++)
        v[i] = ratio(t->ch[i].cost, t->ch[i].ihc);
    c.title = "CPO per channel";
    c.x_label = "CPO = spend / attributed conversion (currency of the data)";
    c.unit = ATTRIB__SVG_AMOUNT;
    c.ref = NAN;
    attrib__svg_hbars(b, &c);
    put(b, "</figure>");
    table_open(b, "table-channels", "Per channel over the range (sums of the CSV rows)",
               "channel|#spend|#attributed conversions|#attributed revenue|#ROAS|#CPO");
    for (size_t i = 0; i < n; i++) {
        const chan_total *r = &t->ch[i];
        put(b, "<tr>");
        text_cell(b, r->channel);
        cell(b, r->cost, AMOUNT);
        cell(b, r->ihc, AMOUNT);
        cell(b, r->revenue, AMOUNT);
        cell(b, ratio(r->revenue, r->cost), AMOUNT);
        cell(b, ratio(r->cost, r->ihc), AMOUNT);
        put(b, "</tr>\n");
    }
    put(b, "<tr><th>all channels</th>");
    cell(b, t->cost, AMOUNT);
    cell(b, t->ihc, AMOUNT);
    cell(b, t->revenue, AMOUNT);
    cell(b, ratio(t->revenue, t->cost), AMOUNT);
    cell(b, ratio(t->cost, t->ihc), AMOUNT);
    put(b, "</tr>\n");
    table_close(b);
    put(b, "</section>\n");
done:
    free(cats);
    free(v);
}

static void over_time(attrib_buf *b, const attrib__html_data *d, const totals *t)
{
    size_t nd = t->n_dates, nc = t->n_ch;
    double *v = calloc(2 * nc * nd + 1, sizeof(*v));
    double *tr = calloc(nd + 1, sizeof(*tr));
    attrib_fsum *sums = calloc(2 * nd + 1, sizeof(*sums));
    const char **panels = calloc(nc + 1, sizeof(*panels));
    if (v == NULL || tr == NULL || sums == NULL || panels == NULL) {
        b->failed = true;
        goto done;
    }
    /* Rows are sorted by channel, so channel i's rows follow channel i-1's. */
    size_t ci = 0;
    for (size_t i = 0; i < d->n_days; i++) {
        const attrib__html_day *r = &d->days[i];
        if (i > 0 && strcmp(r->channel, d->days[i - 1].channel) != 0)
            ci++;
        size_t k = date_index(t, r->date);
        v[(ci * 2) * nd + k] = r->cost;
        v[(ci * 2 + 1) * nd + k] = r->revenue;
        attrib_fsum_add(&sums[2 * k], r->cost);
        attrib_fsum_add(&sums[2 * k + 1], r->revenue);
    }
    for (size_t i = 0; i < nc; i++)
        panels[i] = t->ch[i].channel;
    static const char *const sr[] = {"spend", "attributed revenue"};
    put(b, "<section id=\"time\"><h2>Over time</h2><figure id=\"chart-daily\">");
    attrib__svg_chart c = {.title = "Daily spend and attributed revenue per channel",
                           .x_label = "session date",
                           .y_label = "amount per day (each channel on its own scale)",
                           .unit = ATTRIB__SVG_AMOUNT,
                           .n_cats = nd,
                           .cats = t->dates,
                           .n_series = 2,
                           .series = sr,
                           .v = v,
                           .ref = NAN,
                           .n_panels = nc,
                           .panels = panels};
    attrib__svg_multiples(b, &c);
    put(b, "</figure><details><summary>Daily numbers per channel (%zu rows, as the CSV)</summary>",
        d->n_days);
    table_open(b, "table-daily", "One row per channel and date: the CSV export's rows",
               "channel|date|#spend|#attributed conversions|#attributed revenue|#CPO|#ROAS");
    for (size_t i = 0; i < d->n_days; i++) {
        const attrib__html_day *r = &d->days[i];
        put(b, "<tr>");
        text_cell(b, r->channel);
        put(b, "<td>%s</td>", r->date);
        cell(b, r->cost, AMOUNT);
        cell(b, r->ihc, AMOUNT);
        cell(b, r->revenue, AMOUNT);
        cell(b, ratio(r->cost, r->ihc), AMOUNT);
        cell(b, ratio(r->revenue, r->cost), AMOUNT);
        put(b, "</tr>\n");
    }
    table_close(b);
    put(b, "</details><figure id=\"chart-roas-trend\">");
    for (size_t k = 0; k < nd; k++)
        tr[k] = ratio(attrib_fsum_value(&sums[2 * k + 1]), attrib_fsum_value(&sums[2 * k]));
    attrib__svg_chart rc = {.title = "ROAS trend, all channels",
                            .x_label = "session date",
                            .y_label = "ROAS (revenue / spend)",
                            .unit = ATTRIB__SVG_RATIO,
                            .n_cats = nd,
                            .cats = t->dates,
                            .n_series = 1,
                            .v = tr,
                            .ref = 1.0,
                            .ref_label = "break-even"};
    attrib__svg_lines(b, &rc);
    put(b, "</figure><details><summary>Daily totals (%zu dates)</summary>", nd);
    table_open(b, "table-roas-trend", "All channels per date",
               "date|#spend|#attributed revenue|#ROAS");
    for (size_t k = 0; k < nd; k++) {
        put(b, "<tr><td>%s</td>", t->dates[k]);
        cell(b, attrib_fsum_value(&sums[2 * k]), AMOUNT);
        cell(b, attrib_fsum_value(&sums[2 * k + 1]), AMOUNT);
        cell(b, tr[k], AMOUNT);
        put(b, "</tr>\n");
    }
    table_close(b);
    put(b, "</details></section>\n");
done:
    free(v);
    free(tr);
    free(sums);
    free(panels);
}

static void phases(attrib_buf *b, const attrib__html_data *d)
{
    put(b, "<section id=\"phases\"><h2>IHC phases</h2>");
    if (d->n_phases == 0) {
        put(b, "<p class=\"note\" id=\"no-phases\">No phase values are stored for this range: "
               "attribute with the local IHC engine storing its phases, or with the IHC API, "
               "to see which channels open, keep and close journeys.</p></section>\n");
        return;
    }
    size_t n = d->n_phases;
    const char **cats = calloc(n + 1, sizeof(*cats));
    double *v = calloc(3 * n + 1, sizeof(*v));
    if (cats == NULL || v == NULL) {
        b->failed = true;
        goto done;
    }
    const double *all = d->phase_total;
    for (size_t i = 0; i < n; i++) {
        cats[i] = d->phases[i].channel;
        v[3 * i] = ratio(d->phases[i].initializer, all[0]);
        v[3 * i + 1] = ratio(d->phases[i].holder, all[1]);
        v[3 * i + 2] = ratio(d->phases[i].closer, all[2]);
    }
    static const char *const sr[] = {"initializer", "holder", "closer"};
    attrib__svg_chart c = {.title = "Who opens, keeps and closes journeys",
                           .x_label = "share of all phase credit (%)",
                           .y_label = "",
                           .unit = ATTRIB__SVG_PERCENT,
                           .n_cats = n,
                           .cats = cats,
                           .n_series = 3,
                           .series = sr,
                           .v = v,
                           .ref = NAN};
    put(b, "<figure id=\"chart-phases\">");
    attrib__svg_hbars(b, &c);
    put(b, "<figcaption>A channel's share of each phase: its Σ initializer (holder, closer) "
           "over all channels' Σ, for the sessions in the range.</figcaption></figure>");
    table_open(b, "table-phases", "Share of each phase per channel",
               "channel|#initializer|#holder|#closer");
    for (size_t i = 0; i < n; i++) {
        put(b, "<tr>");
        text_cell(b, cats[i]);
        for (int k = 0; k < 3; k++)
            cell(b, v[3 * i + (size_t)k], SHARE);
        put(b, "</tr>\n");
    }
    table_close(b);
    put(b, "</section>\n");
done:
    free(cats);
    free(v);
}

typedef struct {
    size_t channel;
    double diff;
} mislead;

static int cmp_mislead(const void *x, const void *y)
{
    const mislead *a = x, *c = y;
    double fa = fabs(a->diff), fc = fabs(c->diff);
    if (fa != fc)
        return fa < fc ? 1 : -1;
    return a->channel < c->channel ? -1 : a->channel > c->channel;
}

static void misleads(attrib_buf *b, const attrib_compare_table *t)
{
    size_t last = t->n_models, ref = t->n_models;
    for (size_t m = 0; m < t->n_models; m++) {
        if (strcmp(t->models[m], "last") == 0)
            last = m;
        else if (ref == t->n_models)
            ref = m;
    }
    if (last == t->n_models || ref == t->n_models) {
        put(b, "<p class=\"note\">Compare last with another model to see where last-click "
               "misleads.</p>");
        return;
    }
    mislead *ml = calloc(t->n_channels + 1, sizeof(*ml));
    if (ml == NULL) {
        b->failed = true;
        return;
    }
    for (size_t r = 0; r < t->n_channels; r++)
        ml[r] = (mislead){r, t->cells[r * t->n_models + last].share -
                                 t->cells[r * t->n_models + ref].share};
    qsort(ml, t->n_channels, sizeof(*ml), cmp_mislead);
    put(b, "<h3>Where last-click misleads</h3><p class=\"note\">Channels ordered by how far "
           "their last-click share is from their ");
    text(b, t->models[ref]);
    put(b, " share (positive: last-click over-credits the channel).</p>");
    table_open(b, "table-misleads", "last-click share minus the reference model's share",
               "channel|#last-click share|#reference share|#difference");
    for (size_t i = 0; i < t->n_channels; i++) {
        size_t r = ml[i].channel;
        put(b, "<tr>");
        text_cell(b, t->channels[r]);
        cell(b, t->cells[r * t->n_models + last].share, SHARE);
        cell(b, t->cells[r * t->n_models + ref].share, SHARE);
        cell(b, ml[i].diff, SHARE);
        put(b, "</tr>\n");
    }
    table_close(b);
    free(ml);
}

static void compare(attrib_buf *b, const attrib_compare_table *t)
{
    size_t n = t->n_channels, m = t->n_models;
    double *v = calloc(n * m + 1, sizeof(*v));
    if (v == NULL) {
        b->failed = true;
        return;
    }
    for (size_t i = 0; i < n * m; i++)
        v[i] = t->cells[i].share;
    attrib__svg_chart c = {.title = "Each channel's share of conversions per model",
                           .x_label = "share of attributed conversions (%)",
                           .y_label = "",
                           .unit = ATTRIB__SVG_PERCENT,
                           .n_cats = n,
                           .cats = t->channels,
                           .n_series = m,
                           .series = t->models,
                           .v = v,
                           .ref = NAN};
    put(b, "<section id=\"compare\"><h2>Model comparison</h2><figure id=\"chart-compare\">");
    attrib__svg_hbars(b, &c);
    put(b, "<figcaption>The same journeys attributed by each model (as `attrib compare` "
           "prints them).</figcaption></figure>");
    attrib_buf h = ATTRIB_BUF_INIT(0);
    (void)!attrib_buf_adds(&h, "channel");
    for (size_t k = 0; k < m; k++) {
        (void)!attrib_buf_adds(&h, "|#");
        attrib__html_text(&h, t->models[k]);
    }
    if (attrib_buf_failed(&h))
        b->failed = true;
    table_open(b, "table-compare", "Share of attributed conversions per channel and model",
               attrib_buf_cstr(&h));
    attrib_buf_free(&h);
    for (size_t r = 0; r < n; r++) {
        put(b, "<tr>");
        text_cell(b, t->channels[r]);
        for (size_t k = 0; k < m; k++)
            cell(b, t->cells[r * m + k].share, SHARE);
        put(b, "</tr>\n");
    }
    table_close(b);
    misleads(b, t);
    put(b, "</section>\n");
    free(v);
}

static void histogram(attrib_buf *b, const char *id, const char *title, const char *x_label,
                      const char *const *cats, const uint64_t *counts, size_t n, uint64_t total)
{
    double *v = calloc(n + 1, sizeof(*v));
    if (v == NULL) {
        b->failed = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = (double)counts[i];
    attrib__svg_chart c = {.title = title,
                           .x_label = x_label,
                           .y_label = "journeys",
                           .unit = ATTRIB__SVG_AMOUNT,
                           .n_cats = n,
                           .cats = cats,
                           .n_series = 1,
                           .v = v,
                           .ref = NAN};
    put(b, "<figure id=\"chart-%s\">", id);
    attrib__svg_vbars(b, &c);
    put(b, "</figure>");
    char tid[64];
    snprintf(tid, sizeof(tid), "table-%s", id);
    attrib_buf h = ATTRIB_BUF_INIT(0);
    (void)!attrib_buf_printf(&h, "%s|#journeys|#share of journeys", x_label);
    table_open(b, tid, title, attrib_buf_cstr(&h));
    attrib_buf_free(&h);
    for (size_t i = 0; i < n; i++) {
        put(b, "<tr>");
        text_cell(b, cats[i]);
        count_cell(b, counts[i]);
        cell(b, ratio((double)counts[i], (double)total), SHARE);
        put(b, "</tr>\n");
    }
    table_close(b);
    free(v);
}

static void journeys(attrib_buf *b, const attrib__html_data *d)
{
    put(b,
        "<section id=\"journeys\"><h2>Journeys</h2><p class=\"note\">%llu journeys of the "
        "conversions in the range, %llu distinct paths.</p>",
        (unsigned long long)d->n_journeys, (unsigned long long)d->n_distinct_paths);
    char names[ATTRIB__HTML_MAX_LEN][8];
    const char *cats[ATTRIB__HTML_MAX_LEN];
    for (int k = 1; k <= ATTRIB__HTML_MAX_LEN; k++) {
        snprintf(names[k - 1], sizeof(names[0]), k < ATTRIB__HTML_MAX_LEN ? "%d" : "%d+", k);
        cats[k - 1] = names[k - 1];
    }
    histogram(b, "lengths", "Journey length", "sessions in the journey", cats, d->lengths + 1,
              ATTRIB__HTML_MAX_LEN, d->n_journeys);
    histogram(b, "ttc", "Time from the first session to the conversion", "time to conversion",
              ttc_names, d->ttc, ATTRIB__HTML_TTC, d->n_journeys);
    size_t n = d->n_paths;
    const char **pc = calloc(n + 1, sizeof(*pc));
    double *v = calloc(n + 1, sizeof(*v));
    if (pc == NULL || v == NULL) {
        b->failed = true;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        pc[i] = d->paths[i].path;
        v[i] = (double)d->paths[i].journeys;
    }
    if (n > 0) {
        attrib__svg_chart c = {.title = "Most frequent paths",
                               .x_label = "journeys",
                               .y_label = "",
                               .unit = ATTRIB__SVG_AMOUNT,
                               .n_cats = n,
                               .cats = pc,
                               .n_series = 1,
                               .v = v,
                               .ref = NAN};
        put(b, "<figure id=\"chart-paths\">");
        attrib__svg_hbars(b, &c);
        put(b, "<figcaption>A channel repeated in a row is shown once with ×n.</figcaption>"
               "</figure>");
    }
    table_open(b, "table-paths", "Top paths", "#rank|path|#journeys|#share of journeys|#revenue");
    for (size_t i = 0; i < n; i++) {
        put(b, "<tr><td class=\"n\">%zu</td>", i + 1);
        text_cell(b, d->paths[i].path);
        count_cell(b, d->paths[i].journeys);
        cell(b, ratio((double)d->paths[i].journeys, (double)d->n_journeys), SHARE);
        cell(b, d->paths[i].revenue, AMOUNT);
        put(b, "</tr>\n");
    }
    table_close(b);
    put(b, "</section>\n");
done:
    free(pc);
    free(v);
}

int attrib__html_render(const attrib__html_data *d, attrib_buf *b)
{
    totals t;
    if (make_totals(d, &t) != 0) {
        free_totals(&t);
        b->failed = true;
        return -1;
    }
    put(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
           "style-src 'unsafe-inline'\">"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
           "<meta name=\"generator\" content=\"attrib\"><title>");
    text(b, d->title);
    put(b, "</title><style>%s</style></head><body>\n<h1>", css);
    text(b, d->title);
    put(b, "</h1><p class=\"meta\">Data: ");
    text(b, d->source);
    put(b, " · dates ");
    text(b, d->start_date != NULL ? d->start_date : "(first)");
    put(b, " to ");
    text(b, d->end_date != NULL ? d->end_date : "(last)");
    put(b, " · %zu channels, %zu dates</p>\n", t.n_ch, t.n_dates);
    headline(b, d, &t);
    channels(b, &t);
    over_time(b, d, &t);
    phases(b, d);
    if (d->compare != NULL)
        compare(b, d->compare);
    journeys(b, d);
    put(b, "<p class=\"note\">Numbers are rounded to 2 decimals for reading; each cell's "
           "data-v attribute holds the exact value (as in the CSV). Written by attrib.</p>"
           "</body></html>\n");
    free_totals(&t);
    return attrib_buf_failed(b) ? -1 : 0;
}

void attrib__html_data_free(attrib__html_data *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n_days; i++)
        free(d->days[i].channel);
    free(d->days);
    for (size_t i = 0; i < d->n_phases; i++)
        free(d->phases[i].channel);
    free(d->phases);
    for (size_t i = 0; i < d->n_paths; i++)
        free(d->paths[i].path);
    free(d->paths);
    d->days = NULL;
    d->phases = NULL;
    d->paths = NULL;
    d->n_days = d->n_phases = d->n_paths = 0;
}
