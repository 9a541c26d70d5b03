#!/usr/bin/env python3
"""Check attrib's HTML report in a real browser (headless Chromium).

Renders the page with --dump-dom (the DOM as the browser built it) and
--screenshot (a PNG kept as an artefact), with the browser's console sent to
its log: any console message fails (the page has no script, and its
Content-Security-Policy turns any attempt to fetch or run something into a
console error). Then, on the browser's DOM:
  - every chart (svg.chart) has marks (bars, lines or dots);
  - every number shown is its data-v value rounded for reading;
  - the daily table equals the CSV row by row, the channel table, the
    headline and the daily totals equal correctly rounded sums (math.fsum)
    of the CSV's values;
  - with --db (SQLite): the phase shares equal the stored phase values, and
    the journey lengths, times to conversion and top paths equal those of
    `attrib journeys --format csv` (--journeys) and the conversions table;
  - with --compare: the model comparison equals `attrib compare`'s CSV.
Usage: check_html.py PAGE --csv CSV --png OUT.png [--db DB --journeys CSV]
       [--compare CSV] [--expect-console]   (the last: a self-test page)
Exit 0 when every check passes; the first failure is printed.
"""
import argparse
import csv
import math
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from html.parser import HTMLParser

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                  "--enable-logging=stderr", "--v=0"]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def chromium(page, extra, timeout=120):
    exe = os.environ.get("CHROMIUM", "chromium")
    prof = tempfile.mkdtemp(prefix="attrib-chromium.")
    try:
        p = subprocess.run([exe] + CHROMIUM_FLAGS + ["--user-data-dir=" + prof] + extra +
                           ["file://" + os.path.abspath(page)],
                           capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(prof, ignore_errors=True)
    console = [l for l in p.stderr.splitlines() if ":CONSOLE" in l]
    return p, console


class Dom(HTMLParser):
    """Tables (rows of cells with text and data-v), charts and their marks, ids."""

    def __init__(self):
        super().__init__()
        self.tables = {}
        self.charts = []  # [id of the figure, marks]
        self.ids = {}     # id -> (data-v, text) for elements with data-v
        self.refs = []    # src/href values
        self._table = None
        self._row = None
        self._cell = None
        self._figure = None
        self._svg = None
        self._idv = None
        self._depth_svg = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("src", "href", "xlink:href"):
            if k in a:
                self.refs.append(a[k])
        if tag == "figure":
            self._figure = a.get("id", "?")
        if tag == "svg" and "chart" in a.get("class", ""):
            self._svg = [self._figure, 0]
            self.charts.append(self._svg)
        if self._svg is not None and "mark" in a.get("class", "").split():
            self._svg[1] += 1
        if tag == "table":
            self._table = a.get("id", "?")
            self.tables[self._table] = []
        if tag == "tr" and self._table is not None:
            self._row = []
            self.tables[self._table].append(self._row)
        if tag in ("td", "th") and self._row is not None:
            self._cell = {"v": a.get("data-v"), "text": ""}
            self._row.append(self._cell)
        if "data-v" in a and "id" in a:
            self._idv = [a["data-v"], ""]
            self.ids[a["id"]] = self._idv

    def handle_endtag(self, tag):
        if tag == "svg":
            self._svg = None
        if tag == "figure":
            self._figure = None
        if tag == "table":
            self._table = None
        if tag == "tr":
            self._row = None
        if tag in ("td", "th"):
            self._cell = None
        if tag == "div":
            self._idv = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        if self._idv is not None:
            self._idv[1] += data


def readable(v, shown):
    """What the page must show for exact value v (a string, '' = none)."""
    if v == "":
        return "–"
    x = float(v)
    if shown.endswith("%"):
        return format(x * 100.0, ",.2f") + " %"
    if "." not in shown and re.fullmatch(r"-?\d+", v):
        return format(int(v), ",")
    return format(x, ",.2f")


def num(s):
    return None if s == "" else float(s)


def same(got, want, what):
    if got != want:
        fail("%s: page %r, expected %r" % (what, got, want))


def body_rows(dom, tid):
    if tid not in dom.tables:
        fail("no table #%s" % tid)
    return [r for r in dom.tables[tid] if r and all("text" in c for c in r) and
            any(c["v"] is not None for c in r)]


def vals(row):
    return [num(c["v"]) if c["v"] is not None else c["text"] for c in row]


def ratio(a, b):
    return None if b == 0 else a / b


def check_report(dom, rows):
    # The daily table is the CSV, row by row.
    daily = [vals(r) for r in body_rows(dom, "table-daily")]
    want = [[r[0], r[1]] + [num(x) for x in (r[2], r[3], r[4], r[5], r[6])] for r in rows]
    same(len(daily), len(want), "daily table rows")
    for g, w in zip(daily, want):
        same(g, w, "daily row %s %s" % (w[0], w[1]))
    # Per channel: fsum of the CSV's values.
    per = defaultdict(lambda: ([], [], []))
    for r in rows:
        for k in range(3):
            per[r[0]][k].append(float(r[2 + k]))
    chan = [vals(r) for r in body_rows(dom, "table-channels")]
    names = sorted(per, key=lambda s: s.encode())
    same([c[0] for c in chan[:-1]], names, "channel table channels")
    for c in chan[:-1]:
        cost, ihc, rev = (math.fsum(x) for x in per[c[0]])
        same(c[1:], [cost, ihc, rev, ratio(rev, cost), ratio(cost, ihc)], "channel " + c[0])
    cost = math.fsum(float(r[2]) for r in rows)
    ihc = math.fsum(float(r[3]) for r in rows)
    rev = math.fsum(float(r[4]) for r in rows)
    same(chan[-1][1:], [cost, ihc, rev, ratio(rev, cost), ratio(cost, ihc)], "all channels")
    for k, w in (("kpi-spend", cost), ("kpi-revenue", rev), ("kpi-conversions", ihc),
                 ("kpi-roas", ratio(rev, cost)), ("kpi-cpo", ratio(cost, ihc))):
        same(num(dom.ids[k][0]), w, k)
    # Daily totals over channels.
    byd = defaultdict(lambda: ([], []))
    for r in rows:
        byd[r[1]][0].append(float(r[2]))
        byd[r[1]][1].append(float(r[4]))
    trend = [vals(r) for r in body_rows(dom, "table-roas-trend")]
    same([t[0] for t in trend], sorted(byd), "trend dates")
    for t in trend:
        c, v = math.fsum(byd[t[0]][0]), math.fsum(byd[t[0]][1])
        same(t[1:], [c, v, ratio(v, c)], "trend " + t[0])


def check_phases(dom, db, start, end):
    con = sqlite3.connect(db)
    q = ("SELECT s.channel_name, p.initializer, p.holder, p.closer FROM attrib_journey_phases p"
         " JOIN attribution_customer_journey a ON a.conv_id = p.conv_id AND"
         " a.session_id = p.session_id JOIN session_sources s ON s.session_id = p.session_id"
         " WHERE (?1 IS NULL OR s.event_date >= ?1) AND (?2 IS NULL OR s.event_date <= ?2)")
    per = defaultdict(lambda: ([], [], []))
    for ch, *ph in con.execute(q, (start, end)):
        for k in range(3):
            per[ch][k].append(ph[k])
    con.close()
    if not per:
        if "table-phases" in dom.tables:
            fail("phase table without stored phase values")
        return 0
    tot = [math.fsum(x for p in per.values() for x in p[k]) for k in range(3)]
    got = [vals(r) for r in body_rows(dom, "table-phases")]
    same([g[0] for g in got], sorted(per, key=lambda s: s.encode()), "phase channels")
    for g in got:
        same(g[1:], [ratio(math.fsum(per[g[0]][k]), tot[k]) for k in range(3)], "phases " + g[0])
    return len(got)


def ts(d, t):
    import datetime
    return datetime.datetime.fromisoformat(d + "T" + t).replace(
        tzinfo=datetime.timezone.utc).timestamp()


TTC = [3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 60 * 86400,
       90 * 86400]


def check_journeys(dom, db, journeys_csv, top):
    js = defaultdict(list)
    with open(journeys_csv, newline="") as f:
        r = csv.reader(f)
        head = next(r)
        ci, ti, chi = head.index("conversion_id") if "conversion_id" in head else 0, 2, 3
        for row in r:
            js[row[ci]].append((row[ti], row[chi]))
    con = sqlite3.connect(db)
    conv = {c: (d, t, rev) for c, d, t, rev in
            con.execute("SELECT conv_id, conv_date, conv_time, revenue FROM conversions")}
    con.close()
    lengths = Counter(min(len(s), 20) for s in js.values())
    got = [vals(r) for r in body_rows(dom, "table-lengths")]
    same([int(g[1]) for g in got], [lengths.get(k, 0) for k in range(1, 21)], "journey lengths")
    ttc = Counter()
    paths = Counter()
    prev = defaultdict(list)
    for cid, s in js.items():
        d, t, rev = conv[cid]
        first = ts(*s[0][0].split(" ")) if " " in s[0][0] else ts(*s[0][0].split("T"))
        dt = ts(d, t) - first
        ttc[sum(1 for b in TTC if dt >= b)] += 1
        runs = []
        for _, ch in s:
            if runs and runs[-1][0] == ch:
                runs[-1][1] += 1
            else:
                runs.append([ch, 1])
        p = " › ".join(c + (" ×%d" % n if n > 1 else "") for c, n in runs)
        paths[p] += 1
        prev[p].append(rev)
    got = [vals(r) for r in body_rows(dom, "table-ttc")]
    same([int(g[1]) for g in got], [ttc.get(k, 0) for k in range(10)], "time to conversion")
    ranked = sorted(paths.items(), key=lambda kv: (-kv[1], kv[0].encode()))[:top]
    got = [vals(r) for r in body_rows(dom, "table-paths")]
    same([(g[1], int(g[2]), g[4]) for g in got],
         [(p, n, math.fsum(prev[p])) for p, n in ranked], "top paths")
    return len(js)


def check_compare(dom, path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    models = list(dict.fromkeys(r["model"] for r in rows))
    share = {(r["channel"], r["model"]): float(r["share"]) for r in rows}
    chans = list(dict.fromkeys(r["channel"] for r in rows))
    got = [vals(r) for r in body_rows(dom, "table-compare")]
    same([g[0] for g in got], chans, "compare channels")
    for g in got:
        same(g[1:], [share[(g[0], m)] for m in models], "compare " + g[0])
    if "last" in models and len(models) > 1:
        ref = next(m for m in models if m != "last")
        want = sorted(((c, share[(c, "last")] - share[(c, ref)]) for c in chans),
                      key=lambda cd: -abs(cd[1]))
        got = [vals(r) for r in body_rows(dom, "table-misleads")]
        same([(g[0], g[3]) for g in got if True],
             sorted(want, key=lambda cd: (-abs(cd[1]), chans.index(cd[0]))), "misleads")
    return len(got)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("page")
    ap.add_argument("--csv")
    ap.add_argument("--png", required=True)
    ap.add_argument("--db")
    ap.add_argument("--journeys")
    ap.add_argument("--compare")
    ap.add_argument("--start")
    ap.add_argument("--end")
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--expect-console", action="store_true")
    a = ap.parse_args()

    p, console = chromium(a.page, ["--dump-dom"])
    if a.expect_console:  # self-test: the console check must see a broken page
        if not console:
            fail("a page that writes to the console was not caught")
        print("ok: console messages are caught (%d)" % len(console))
        return
    if p.returncode != 0 or "</html>" not in p.stdout:
        fail("chromium --dump-dom failed (%d): %s" % (p.returncode, p.stderr[-500:]))
    if console:
        fail("console messages: " + " | ".join(console))
    dom = Dom()
    dom.feed(p.stdout)
    raw = open(a.page, encoding="utf-8").read()
    if re.search(r"(src|href)\s*=\s*[\"']?(https?:|//)", raw, re.I) or dom.refs:
        fail("the page refers to something outside itself: %r" % dom.refs[:3])
    if "<script" in raw.lower():
        fail("the page has a script")

    if not dom.charts:
        fail("no chart")
    for fig, marks in dom.charts:
        if marks == 0:
            fail("chart %s has no marks" % fig)
    cells = 0
    for tid, rows in dom.tables.items():
        for r in rows:
            for c in r:
                if c["v"] is not None:
                    same(c["text"], readable(c["v"], c["text"]), "shown value in #%s" % tid)
                    cells += 1
    for k, (v, t) in dom.ids.items():
        same(t, readable(v, t), "shown value of #" + k)

    with open(a.csv, newline="") as f:
        rows = list(csv.reader(f))[1:]
    check_report(dom, rows)
    extra = ""
    if a.db:
        extra += ", %d phase rows" % check_phases(dom, a.db, a.start, a.end)
    if a.db and a.journeys:
        extra += ", %d journeys" % check_journeys(dom, a.db, a.journeys, a.top)
    if a.compare:
        extra += ", %d compared channels" % check_compare(dom, a.compare)

    p, console = chromium(a.page, ["--window-size=1000,1400", "--screenshot=" + a.png])
    if console:
        fail("console messages: " + " | ".join(console))
    if not os.path.exists(a.png) or os.path.getsize(a.png) < 10000:
        fail("no screenshot " + a.png)
    with open(a.png, "rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            fail("the screenshot is not a PNG")
    print("ok: %d charts with marks, %d numbers, %d CSV rows%s; screenshot %s" %
          (len(dom.charts), cells, len(rows), extra, a.png))


if __name__ == "__main__":
    main()
