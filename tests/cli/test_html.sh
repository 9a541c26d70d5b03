# The HTML report (export --html, run --html) in a real browser: headless
# Chromium renders it (tests/browser/check_html.py) with no console message,
# every chart drawn, every number equal to the CSV / the stored phases /
# `attrib journeys` / `attrib compare`; screenshots kept under build/browser/.
# Also: no CSV unless asked, atomic replacement, byte-identical reruns, and the
# checker itself fails on a wrong number and on a console error.
# Without chromium (tools/deps.sh installs it) this test is skipped, except
# under CI=true, where it fails.
. "$TOP/tests/cli/lib.sh"

if ! command -v "${CHROMIUM:-chromium}" >/dev/null 2>&1 || ! command -v python3 >/dev/null; then
    [ "${CI:-}" = true ] && fail "no chromium or python3 under CI: run tools/deps.sh"
    echo "SKIPPED: no chromium or python3 (tools/deps.sh installs them)"
    exit 0
fi
CHECK="python3 $TOP/tests/browser/check_html.py"
ART=${ATTRIB_ARTEFACTS:-$TOP/build/browser}
mkdir -p "$ART" || fail "mkdir $ART"

# Data with constants of its own: another seed, start date and span.
expect_exit 0 "$ATTRIB" --db d.db gen -q -n 30000 --seed 4242 --start-date 2024-03-10 --days 19
expect_exit 0 "$ATTRIB" --db d.db run -q --phases --out run.csv --html run.html \
    --compare-models ihc,linear
expect_exit 0 "$ATTRIB" --db d.db compare -q --models ihc,linear,last --out cmp.csv
expect_exit 0 "$ATTRIB" --db d.db journeys -q --format csv --out j.csv
$CHECK run.html --csv run.csv --db d.db --journeys j.csv --compare cmp.csv \
    --png "$ART/report-full.png" || fail "browser check of run --html"

# A range, export only: the page is the CSV of the range.
R="--start-date 2024-03-15 --end-date 2024-03-22"
# shellcheck disable=SC2086
expect_exit 0 "$ATTRIB" --db d.db export -q $R --out r.csv --html r.html
# shellcheck disable=SC2086
expect_exit 0 "$ATTRIB" --db d.db journeys -q $R --format csv --out rj.csv
$CHECK r.html --csv r.csv --db d.db --journeys rj.csv --start 2024-03-15 --end 2024-03-22 \
    --png "$ART/report-range.png" || fail "browser check of export --html with a range"
grep -q 'id="chart-compare"' r.html && fail "a comparison without --compare-models"

# export --html alone writes no CSV; the same run twice gives the same bytes.
# shellcheck disable=SC2086
expect_exit 0 "$ATTRIB" --db d.db export -q $R --html r2.html
[ -e channel_reporting.csv ] && fail "export --html wrote the CSV without --out"
cmp -s r.html r2.html || fail "the same export gives different pages"

# PostgreSQL gives the same page (but for the store's name), when a server is there.
if [ -n "${ATTRIB_PG_URI:-}" ]; then
    expect_exit 0 "$ATTRIB" copy -q --from d.db --to "$ATTRIB_PG_URI" --force
    expect_exit 0 "$ATTRIB" --db "$ATTRIB_PG_URI" run -q --phases --out pg-all.csv
    cmp -s pg-all.csv run.csv || fail "PostgreSQL and SQLite runs differ"
    # shellcheck disable=SC2086
    expect_exit 0 "$ATTRIB" --db "$ATTRIB_PG_URI" export -q $R --out pg.csv --html pg.html
    # shellcheck disable=SC2086
    expect_exit 0 "$ATTRIB" --db d.db export -q $R --out sq.csv --html sq.html
    cmp -s pg.csv sq.csv || fail "PostgreSQL and SQLite CSVs differ"
    sed 's/Data: [^<]* · dates/Data: · dates/' pg.html >pg.norm
    sed 's/Data: [^<]* · dates/Data: · dates/' sq.html >sq.norm
    cmp -s pg.norm sq.norm || fail "PostgreSQL and SQLite pages differ"
    grep -q 'id="table-phases"' pg.html || fail "no phases from PostgreSQL"
fi

# Without phase values the page says how to get them.
expect_exit 0 "$ATTRIB" --db d.db attribute -q
expect_exit 0 "$ATTRIB" --db d.db export -q --html nophase.html
grep -q 'id="no-phases"' nophase.html || fail "no note when no phase values are stored"

# Failures leave the old page: a bad date, a directory that does not exist.
cp r.html keep.html
expect_exit 2 "$ATTRIB" --db d.db export -q --start-date 2024-13-01 --html r.html
cmp -s r.html keep.html || fail "a failed export changed the page"
expect_exit 1 "$ATTRIB" --db d.db export -q --html nodir/r.html
expect_err "nodir/r.html"
[ -e nodir ] && fail "a failed export created something"
ls r.html.tmp.* >/dev/null 2>&1 && fail "a temp file was left behind"
expect_exit 2 "$ATTRIB" --db d.db export -q --compare-models ihc
expect_err "--compare-models goes with --html"
expect_exit 2 "$ATTRIB" --db d.db export -q --html x.html --compare-models nosuch
expect_err "unknown model 'nosuch'"

# The checker fails on a page whose number differs from the CSV ...
# (the spend of the first daily row: "<td>DATE</td><td class="n" data-v=...")
sed -E '0,/(<td>2024-03-[0-9]{2}<\/td><td class="n" data-v=")[^"]*">[^<]*</s//\112345.5">12,345.50</' \
    r.html >wrong.html
cmp -s r.html wrong.html && fail "the mutation did nothing"
$CHECK wrong.html --csv r.csv --png wrong.png >check.out 2>&1 && fail "a wrong number passed"
grep -q "FAIL: daily row" check.out || fail "the wrong number was not found in the daily table"
# ... and on a page that writes to the console.
printf '<!DOCTYPE html><html><body><script>console.error("x")</script></body></html>\n' >con.html
$CHECK con.html --png con.png --expect-console >/dev/null || fail "console errors are not caught"
echo "ok"
