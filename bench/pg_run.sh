#!/bin/sh
# `make bench-pg`: attrib run on PostgreSQL against its COPY floor.
# Usage: sh bench/pg_run.sh [path/to/attrib]
#
# For each size (BENCH_SIZES, default 2M and 10M sessions) in the time layout
# (BENCH_LAYOUTS to change): the SQLite dataset of bench/run.sh (generated into
# the same cache when missing) is loaded with `attrib copy` into a schema of
# its own, then BENCH_REPS times (default 3), alternating: the floor (psql
# COPY ... TO STDOUT of the needed columns of the three input tables to
# /dev/null), then `attrib run` timed (wall, CPU, peak RSS of the client).
# Medians, their ratio and the load average go to stdout and bench/results.md.
# The CSV must equal the SQLite store's byte for byte.
#
# PostgreSQL: $ATTRIB_PG_URI when set, else a throwaway cluster started with
# tests/pg/pg_start.sh on $ATTRIB_PG_PORT (default 55500), stopped at the end.
set -eu
ATTRIB=${1:-build/attrib}
TOP=$(cd "$(dirname "$0")/.." && pwd)
case $ATTRIB in /*) ;; *) ATTRIB=$(pwd)/$ATTRIB ;; esac
[ -x "$ATTRIB" ] || { echo "bench: $ATTRIB is missing; run 'make'" >&2; exit 1; }
command -v psql >/dev/null || { echo "bench: psql is missing" >&2; exit 1; }
DATA=${ATTRIB_BENCH_DIR:-$(dirname "$TOP")/bench-data}
SEED=${BENCH_SEED:-1}
SIZES=${BENCH_SIZES:-"2000000 10000000"}
LAYOUTS=${BENCH_LAYOUTS:-time}
REPS=${BENCH_REPS:-3}
RESULTS=$TOP/bench/results.md
START=2023-01-01
TMP=$(mktemp -d "${TMPDIR:-/tmp}/attrib-pgbench.XXXXXX")
own=""
cleanup() {
    [ -n "$own" ] && sh "$TOP/tests/pg/pg_stop.sh" "$own"
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
if [ -z "${ATTRIB_PG_URI:-}" ]; then
    own=$(mktemp -d "${TMPDIR:-/tmp}/attrib-pg.XXXXXX")
    sh "$TOP/tests/pg/pg_start.sh" "$own" "${ATTRIB_PG_PORT:-55500}" >/dev/null
    . "$own/env"
fi
mkdir -p "$DATA"
GENSUM=$(cat "$TOP/src/lib/gen/gen.c" "$TOP/src/lib/gen/store.c" | cksum | cut -d' ' -f1)
COMMIT=$(cd "$TOP" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
NOW=$(date -u +%Y-%m-%dT%H:%MZ)
span_days() {
    awk -v n="$1" 'BEGIN { d = int(n / 33334); if (d < 7) d = 7; if (d > 730) d = 730; print d }'
}
median() {
    awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2];
        else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
load() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?'; }
HEADER="| date | commit | store | sessions | layout | run wall | run CPU (client) | peak RSS MB | read | COPY floor wall | wall / floor | load |"
if ! grep -qF "$HEADER" "$RESULTS"; then
    {
        echo
        echo "PostgreSQL (\`make bench-pg\`, bench/pg_run.sh): medians of BENCH_REPS runs, run and"
        echo "the COPY floor (psql COPY of the needed columns of the three tables to /dev/null)"
        echo "alternating; CPU is the client's (the server's is not counted)."
        echo
        echo "$HEADER"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    } >>"$RESULTS"
fi
for n in $SIZES; do
    days=$(span_days "$n")
    for layout in $LAYOUTS; do
        db=$DATA/gen-$n-$layout-s$SEED-$GENSUM.db
        if [ ! -f "$db" ]; then
            echo "bench: generating $n sessions ($layout) into $db ..."
            "$ATTRIB" -q --db "$db.tmp" gen --sessions "$n" --seed "$SEED" --start-date "$START" \
                --days "$days" --layout "$layout"
            mv "$db.tmp" "$db"
        fi
        S="bench_${n}_$layout"
        URI="$ATTRIB_PG_URI?schema=$S"
        psql -q "$ATTRIB_PG_URI" -c "DROP SCHEMA IF EXISTS $S CASCADE" >/dev/null 2>&1
        "$ATTRIB" -q copy --from "$db" --to "$URI"
        cp "$db" "$TMP/s.db"
        "$ATTRIB" -q --db "$TMP/s.db" run --out "$TMP/sqlite.csv"
        rm -f "$TMP/s.db"
        "$ATTRIB" -q --db "$URI" run --out "$TMP/warm.csv"
        cmp -s "$TMP/warm.csv" "$TMP/sqlite.csv" ||
            { echo "bench: PostgreSQL's CSV differs from SQLite's" >&2; exit 1; }
        load0=$(load)
        : >"$TMP/runs"
        : >"$TMP/floors"
        i=0
        while [ "$i" -lt "$REPS" ]; do
            t0=$(date +%s.%N)
            psql -q "$ATTRIB_PG_URI" >/dev/null <<SQL
SET search_path TO $S;
\copy (SELECT session_id, user_id, event_date, event_time, channel_name, holder_engagement, closer_engagement, impression_interaction FROM session_sources) TO '/dev/null'
\copy (SELECT conv_id, user_id, conv_date, conv_time, revenue FROM conversions) TO '/dev/null'
\copy (SELECT session_id, cost FROM session_costs) TO '/dev/null'
SQL
            t1=$(date +%s.%N)
            echo "$t0 $t1" | awk '{ printf "%.3f\n", $2 - $1 }' >>"$TMP/floors"
            /usr/bin/time -f '%e %U %S %M' -o "$TMP/run" "$ATTRIB" -q --db "$URI" run \
                --out "$TMP/run.csv" --summary-json "$TMP/run.json"
            read -r w u sy rss <"$TMP/run"
            rd=$(sed -n 's/^ *"read_seconds": *\([0-9.eE+-]*\),*$/\1/p' "$TMP/run.json" | head -n 1)
            echo "$w $(awk -v u="$u" -v s="$sy" 'BEGIN { print u + s }') $rss $rd" >>"$TMP/runs"
            i=$((i + 1))
        done
        load1=$(load)
        psql -q "$ATTRIB_PG_URI" -c "DROP SCHEMA $S CASCADE" >/dev/null 2>&1
        awk -v n="$n" -v lay="$layout" -v rw="$(median "$TMP/runs" 1)" -v cpu="$(median "$TMP/runs" 2)" \
            -v rss="$(median "$TMP/runs" 3)" -v rd="$(median "$TMP/runs" 4)" \
            -v fw="$(median "$TMP/floors" 1)" -v reps="$REPS" -v l0="$load0" -v l1="$load1" \
            -v date="$NOW" -v commit="$COMMIT" -v results="$RESULTS" 'BEGIN {
            printf "| %s | %s | postgresql | %d | %s | %.2f | %.2f | %.0f | %.2f | %.2f | %.2f | %s-%s |\n",
                date, commit, n, lay, rw, cpu, rss / 1024, rd, fw, (fw > 0 ? rw / fw : 0), l0, l1 >>results
            printf "PostgreSQL, %d sessions, %s layout (medians of %d, load %s-%s): run %.2f s wall (read %.2f s), %.2f s client CPU, %.0f MB peak RSS; COPY floor %.2f s; run/floor %.2fx\n",
                n, lay, reps, l0, l1, rw, rd, cpu, rss / 1024, fw, (fw > 0 ? rw / fw : 0)
        }'
    done
done
