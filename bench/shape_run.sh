#!/bin/sh
# `make bench-shape`: the pipeline against the read floor on tables that
# attrib gen did not write in any of its layouts. From the 2M `time` dataset
# of `make bench` (generated if missing) it builds, with sqlite3 alone, a
# database of another shape: ids of 36 and 30 characters instead of 64,
# user ids with a prefix, channel names of its own, a cost row for about 80%
# of the sessions only, every table in the random order of SQLite's random()
# (not the generator's seeded shuffle), through a database `attrib init` made.
# Then BENCH_REPS times (default 5), alternating: the floor, a rerun, and a
# rewrite (the stored attribution rows deleted first); medians and ratios to
# stdout and a row of results.md.
#
# Usage: sh bench/shape_run.sh [path/to/attrib]; ATTRIB_BENCH_DIR as make bench.
set -eu

ATTRIB=${1:-build/attrib}
TOP=$(cd "$(dirname "$0")/.." && pwd)
case $ATTRIB in /*) ;; *) ATTRIB=$(pwd)/$ATTRIB ;; esac
FLOOR=$(dirname "$ATTRIB")/bench/floor
DATA=${ATTRIB_BENCH_DIR:-$(dirname "$TOP")/bench-data}
REPS=${BENCH_REPS:-5}
RESULTS=$TOP/bench/results.md
for f in "$ATTRIB" "$FLOOR"; do
    [ -x "$f" ] || { echo "bench: $f is missing; run 'make bench-shape'" >&2; exit 1; }
done
command -v sqlite3 >/dev/null || { echo "bench: sqlite3 is missing" >&2; exit 1; }

. "$TOP/bench/lib.sh" # load, median, GENSUM
src=$DATA/gen-2000000-time-s1-$GENSUM.db
if [ ! -f "$src" ]; then
    BENCH_SIZES=2000000 BENCH_LAYOUTS=time BENCH_REPS=1 sh "$TOP/bench/run.sh" "$ATTRIB"
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/attrib-shape.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
db=$TMP/shape.db
"$ATTRIB" -q --db "$db" init
sqlite3 -batch "$db" <<SQL
ATTACH '$src' AS g;
PRAGMA cache_size = -1000000;
BEGIN;
INSERT INTO session_sources SELECT substr(session_id, 1, 36), 'u-' || substr(user_id, 1, 20),
    event_date, event_time, upper(channel_name) || ' Paid', holder_engagement, closer_engagement,
    impression_interaction FROM g.session_sources ORDER BY random();
INSERT INTO conversions SELECT substr(conv_id, 1, 30), 'u-' || substr(user_id, 1, 20), conv_date,
    conv_time, revenue FROM g.conversions ORDER BY random();
INSERT INTO session_costs SELECT substr(session_id, 1, 36), cost FROM g.session_costs
    WHERE abs(random()) % 10 < 8 ORDER BY random();
COMMIT;
SQL
"$ATTRIB" -q --db "$db" run --out "$TMP/warm.csv"
load0=$(load)
: >"$TMP/f"
: >"$TMP/r"
: >"$TMP/w"
i=0
while [ "$i" -lt "$REPS" ]; do
    /usr/bin/time -f '%e' -a -o "$TMP/f" "$FLOOR" "$db" >/dev/null
    /usr/bin/time -f '%e' -a -o "$TMP/r" "$ATTRIB" -q --db "$db" run --out "$TMP/run.csv"
    sqlite3 -batch "$db" "DELETE FROM attribution_customer_journey"
    /usr/bin/time -f '%e' -a -o "$TMP/w" "$ATTRIB" -q --db "$db" run --out "$TMP/rw.csv"
    cmp -s "$TMP/run.csv" "$TMP/rw.csv" || { echo "bench: the rewrite's CSV differs" >&2; exit 1; }
    i=$((i + 1))
done
fw=$(median "$TMP/f" 1)
rw=$(median "$TMP/r" 1)
ww=$(median "$TMP/w" 1)
COMMIT=$(cd "$TOP" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
HEADER="| date | commit | shape | sessions | floor wall | rerun wall | rerun / floor | rewrite wall | rewrite / floor | load |"
if ! grep -qF "$HEADER" "$RESULTS"; then
    {
        echo
        echo "Other shapes (\`make bench-shape\`, bench/shape_run.sh): the 2M time dataset rewritten"
        echo "by sqlite3 with 36/30-character ids, prefixed user ids, renamed channels, costs for"
        echo "~80% of the sessions, every table in random() order; medians of BENCH_REPS."
        echo
        echo "$HEADER"
        echo "|---|---|---|---|---|---|---|---|---|---|"
    } >>"$RESULTS"
fi
n=$(sqlite3 -batch "$db" "SELECT count(*) FROM session_sources")
awk -v n="$n" -v fw="$fw" -v rw="$rw" -v ww="$ww" -v l0="$load0" -v l1="$(load)" \
    -v date="$(date -u +%Y-%m-%dT%H:%MZ)" -v commit="$COMMIT" -v results="$RESULTS" 'BEGIN {
    printf "| %s | %s | short ids, random() order | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %s-%s |\n",
        date, commit, n, fw, rw, rw / fw, ww, ww / fw, l0, l1 >>results
    printf "other shape, %d sessions (load %s-%s): floor %.2f s, rerun %.2f s (%.2fx), rewrite %.2f s (%.2fx)\n",
        n, l0, l1, fw, rw, rw / fw, ww, ww / fw
}'
