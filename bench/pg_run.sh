#!/bin/sh
# `make bench-pg`: attrib run on PostgreSQL against its COPY floor.
# Usage: sh bench/pg_run.sh [path/to/attrib]
#
# For each size (BENCH_SIZES, default 2M and 10M sessions) in the time layout
# (BENCH_LAYOUTS to change) the SQLite dataset of bench/run.sh (generated into
# the same cache when missing) is loaded into a schema of its own in each way
# of BENCH_PG_LOADS (default both):
#   copy    `attrib copy` (COPY FROM, rows in the SQLite table's order);
#   insert  plain INSERTs in event-time order into the tables `attrib init`
#           makes (primary keys and indexes in place while the rows arrive):
#           INSERT ... SELECT ... ORDER BY the session's date and time from
#           the copy schema, as an application writing rows as they happen.
# Either way the tables are then vacuumed and analyzed (what autovacuum does
# soon after such a load: its workers would otherwise run during the timed
# runs, and their CPU would count as the server's).
# Then the CSV is checked against SQLite's byte for byte, and BENCH_REPS times
# (default 3), alternating: the floor (psql COPY ... TO STDOUT of the needed
# columns of the three input tables to /dev/null), then `attrib run` timed
# (wall; CPU of the client; CPU of the server's backends, when the cluster is
# one of tests/pg/pg_start.sh: the postmaster's reaped children; peak RSS of the client; the run's
# read / write split from --summary-json). Medians, run/floor and the load
# average go to stdout and bench/results.md.
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
LOADS=${BENCH_PG_LOADS:-"copy insert"}
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
. "$TOP/bench/lib.sh" # load, median, span_days, GENSUM
COMMIT=$(cd "$TOP" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
NOW=$(date -u +%Y-%m-%dT%H:%MZ)
# Server CPU: the CPU time of the postmaster's reaped children (the backends
# of the runs), known for a cluster of tests/pg/pg_start.sh ($ATTRIB_PG_DIR).
PM=""
if [ -n "${ATTRIB_PG_DIR:-}" ] && [ -r "$ATTRIB_PG_DIR/data/postmaster.pid" ]; then
    PM=$(head -n 1 "$ATTRIB_PG_DIR/data/postmaster.pid")
    [ -r "/proc/$PM/stat" ] || PM=""
fi
TCK=$(getconf CLK_TCK)
server_ticks() {
    if [ -n "$PM" ]; then awk '{ print $16 + $17 }' "/proc/$PM/stat"; else echo 0; fi
}
HEADER="| date | commit | store | sessions | layout | load via | run wall | run CPU (client) | run CPU (server) | peak RSS MB | read | write | COPY floor wall | floor CPU (server) | wall / floor | rewrite run wall | rewrite write | rewrite / floor | load |"
if ! grep -qF "$HEADER" "$RESULTS"; then
    {
        echo
        echo "PostgreSQL (\`make bench-pg\`, bench/pg_run.sh): medians of BENCH_REPS runs, run and"
        echo "the COPY floor (psql COPY of the needed columns of the three tables to /dev/null)"
        echo "alternating; load via: \`attrib copy\`, or plain INSERTs in event-time order."
        echo "Server CPU: the backends' (a cluster of tests/pg/pg_start.sh; ? otherwise)."
        echo
        echo "Run: a rerun (the attribution rows are stored already and not rewritten);"
        echo "rewrite: a full run after TRUNCATE of the attribution rows (every row written)."
        echo
        echo "$HEADER"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
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
        C="bench_${n}_${layout}_copy"
        psql -q "$ATTRIB_PG_URI" -c "DROP SCHEMA IF EXISTS $C CASCADE" >/dev/null 2>&1
        echo "bench: loading $n sessions ($layout) with attrib copy ..."
        "$ATTRIB" -q copy --from "$db" --to "$ATTRIB_PG_URI?schema=$C"
        cp "$db" "$TMP/s.db"
        "$ATTRIB" -q --db "$TMP/s.db" run --out "$TMP/sqlite.csv"
        rm -f "$TMP/s.db"
        for via in $LOADS; do
            S=$C
            if [ "$via" = insert ]; then
                S="bench_${n}_${layout}_insert"
                echo "bench: loading $n sessions ($layout) with INSERTs in time order ..."
                psql -q "$ATTRIB_PG_URI" -c "DROP SCHEMA IF EXISTS $S CASCADE" >/dev/null 2>&1
                "$ATTRIB" -q --db "$ATTRIB_PG_URI?schema=$S" init
                psql -q -v ON_ERROR_STOP=1 "$ATTRIB_PG_URI" >/dev/null <<SQL
SET search_path TO $S;
INSERT INTO session_sources SELECT * FROM $C.session_sources
    ORDER BY event_date COLLATE "C", event_time COLLATE "C";
INSERT INTO session_costs SELECT c.* FROM $C.session_costs c
    LEFT JOIN $C.session_sources s ON s.session_id = c.session_id
    ORDER BY s.event_date COLLATE "C", s.event_time COLLATE "C";
INSERT INTO conversions SELECT * FROM $C.conversions
    ORDER BY conv_date COLLATE "C", conv_time COLLATE "C";
SQL
            fi
            psql -q -v ON_ERROR_STOP=1 "$ATTRIB_PG_URI" -c "SET search_path TO $S" \
                -c "VACUUM ANALYZE session_sources, session_costs, conversions" >/dev/null
            URI="$ATTRIB_PG_URI?schema=$S"
            "$ATTRIB" -q --db "$URI" run --out "$TMP/warm.csv"
            cmp -s "$TMP/warm.csv" "$TMP/sqlite.csv" ||
                { echo "bench: PostgreSQL's CSV ($via) differs from SQLite's" >&2; exit 1; }
            load0=$(load)
            : >"$TMP/runs"
            : >"$TMP/floors"
            : >"$TMP/rewrites"
            i=0
            while [ "$i" -lt "$REPS" ]; do
                k0=$(server_ticks)
                t0=$(date +%s.%N)
                psql -q "$ATTRIB_PG_URI" >/dev/null <<SQL
SET search_path TO $S;
\\copy (SELECT session_id, user_id, event_date, event_time, channel_name, holder_engagement, closer_engagement, impression_interaction FROM session_sources) TO '/dev/null'
\\copy (SELECT conv_id, user_id, conv_date, conv_time, revenue FROM conversions) TO '/dev/null'
\\copy (SELECT session_id, cost FROM session_costs) TO '/dev/null'
SQL
                t1=$(date +%s.%N)
                sleep 0.3 # the postmaster reaps the backend
                k1=$(server_ticks)
                echo "$t0 $t1 $((k1 - k0))" | awk -v t="$TCK" '{ printf "%.3f %.3f\n", $2 - $1, $3 / t }' >>"$TMP/floors"
                k0=$(server_ticks)
                /usr/bin/time -f '%e %U %S %M' -o "$TMP/run" "$ATTRIB" -q --db "$URI" run \
                    --out "$TMP/run.csv" --summary-json "$TMP/run.json"
                sleep 0.3
                k1=$(server_ticks)
                read -r w u sy rss <"$TMP/run"
                rd=$(sed -n 's/^ *"read_seconds": *\([0-9.eE+-]*\),*$/\1/p' "$TMP/run.json" | head -n 1)
                wr=$(sed -n 's/^ *"write_seconds": *\([0-9.eE+-]*\),*$/\1/p' "$TMP/run.json" | head -n 1)
                echo "$w $(awk -v u="$u" -v s="$sy" 'BEGIN { print u + s }') $rss $rd $wr $(awk -v k=$((k1 - k0)) -v t="$TCK" 'BEGIN { printf "%.3f", k / t }')" >>"$TMP/runs"
                psql -q -v ON_ERROR_STOP=1 "$ATTRIB_PG_URI" -c "SET search_path TO $S" \
                    -c "TRUNCATE attribution_customer_journey" >/dev/null
                /usr/bin/time -f '%e %U %S %M' -o "$TMP/rw" "$ATTRIB" -q --db "$URI" run \
                    --out "$TMP/rw.csv" --summary-json "$TMP/rw.json"
                cmp -s "$TMP/rw.csv" "$TMP/run.csv" ||
                    { echo "bench: the rewrite run's CSV differs from the rerun's" >&2; exit 1; }
                echo "$(cut -d' ' -f1 "$TMP/rw") $(sed -n 's/^ *"write_seconds": *\([0-9.eE+-]*\),*$/\1/p' "$TMP/rw.json" | head -n 1)" >>"$TMP/rewrites"
                i=$((i + 1))
            done
            load1=$(load)
            [ "$via" = insert ] && psql -q "$ATTRIB_PG_URI" -c "DROP SCHEMA $S CASCADE" >/dev/null 2>&1
            srv="?"
            fsrv="?"
            if [ -n "$PM" ]; then
                srv=$(median "$TMP/runs" 6)
                fsrv=$(median "$TMP/floors" 2)
            fi
            awk -v n="$n" -v lay="$layout" -v via="$via" -v rw="$(median "$TMP/runs" 1)" \
                -v cpu="$(median "$TMP/runs" 2)" -v srv="$srv" -v rss="$(median "$TMP/runs" 3)" \
                -v rd="$(median "$TMP/runs" 4)" -v wr="$(median "$TMP/runs" 5)" \
                -v fw="$(median "$TMP/floors" 1)" -v fsrv="$fsrv" -v reps="$REPS" -v l0="$load0" \
                -v xw="$(median "$TMP/rewrites" 1)" -v xwr="$(median "$TMP/rewrites" 2)" \
                -v l1="$load1" -v date="$NOW" -v commit="$COMMIT" -v results="$RESULTS" 'BEGIN {
                printf "| %s | %s | postgresql | %d | %s | %s | %.2f | %.2f | %s | %.0f | %.2f | %.2f | %.2f | %s | %.2f | %.2f | %.2f | %.2f | %s-%s |\n",
                    date, commit, n, lay, via, rw, cpu, srv, rss / 1024, rd, wr, fw, fsrv,
                    (fw > 0 ? rw / fw : 0), xw, xwr, (fw > 0 ? xw / fw : 0), l0, l1 >>results
                printf "PostgreSQL, %d sessions, %s layout, loaded by %s (medians of %d, load %s-%s): run %.2f s wall (read %.2f s, write %.2f s), CPU %.2f s client, %s s server, %.0f MB peak RSS; COPY floor %.2f s (server CPU %s s); run/floor %.2fx\n",
                    n, lay, via, reps, l0, l1, rw, rd, wr, cpu, srv, rss / 1024, fw, fsrv, (fw > 0 ? rw / fw : 0)
                printf "  rewrite (every attribution row written again): %.2f s wall, write %.2f s, %.2fx the floor\n",
                    xw, xwr, (fw > 0 ? xw / fw : 0)
            }'
        done
        psql -q "$ATTRIB_PG_URI" -c "DROP SCHEMA $C CASCADE" >/dev/null 2>&1
    done
done
