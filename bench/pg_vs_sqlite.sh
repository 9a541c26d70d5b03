#!/bin/sh
# SQLite vs PostgreSQL on this machine: the same generated dataset in both
# stores, the same commands, wall times side by side (and a check that the
# CSVs are byte-identical).
#
#   sh bench/pg_vs_sqlite.sh [path/to/attrib] [SESSIONS]     (default 10000000)
#
# PostgreSQL: $ATTRIB_PG_URI when set, else a throwaway cluster started with
# tests/pg/pg_start.sh (fsync off, as a benchmark box would run it; see
# docs/postgresql.md) and stopped at the end. Steps, each timed per store:
#   gen      attrib gen -n SESSIONS (one transaction, indexes after the load)
#   copy     attrib copy SQLite -> a second PostgreSQL schema (PostgreSQL only)
#   run      attrib run, no range (read all, attribute, report, export)
#   run-1d   attrib run for the last day of the data (incremental)
#   report   attrib report, no range
#   export   attrib export
# Times in seconds. Data lives in a temp dir removed at the end.
set -eu
ATTRIB=${1:-build/attrib}
N=${2:-10000000}
TOP=$(cd "$(dirname "$0")/.." && pwd)
case $ATTRIB in /*) ;; *) ATTRIB=$(pwd)/$ATTRIB ;; esac
[ -x "$ATTRIB" ] || { echo "bench: $ATTRIB is missing; run 'make'" >&2; exit 1; }
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
S="bench$$"
URI="$ATTRIB_PG_URI?schema=$S"
URI2="$ATTRIB_PG_URI?schema=${S}_copy"
DB="$TMP/bench.db"
cd "$TMP"

now() { date +%s.%N; }
# t NAME CMD...: run, print and remember the wall time
t() {
    name=$1; shift
    a=$(now)
    "$@" -q >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; echo "bench: $name failed" >&2; exit 1; }
    b=$(now)
    echo "$b $a" | awk '{printf "%.2f", $1 - $2}'
}

days=$(( N / 1000000 * 30 )); [ $days -lt 7 ] && days=7; [ $days -gt 730 ] && days=730
last=$(date -u -d "2023-01-01 + $((days - 1)) days" +%Y-%m-%d)
echo "attrib SQLite vs PostgreSQL: $N sessions over $days days, $(nproc) cores, $(uname -m)"
echo "PostgreSQL: $(psql "$ATTRIB_PG_URI" -qAt -c 'SHOW server_version' 2>/dev/null || echo '?') at $ATTRIB_PG_URI (schema $S)"
printf '%-8s %10s %12s\n' step sqlite postgresql
sg=$(t gen "$ATTRIB" --db "$DB" gen -n "$N" --days $days)
pg=$(t gen "$ATTRIB" --db "$URI" gen -n "$N" --days $days)
printf '%-8s %10s %12s\n' gen "$sg" "$pg"
pc=$(t copy "$ATTRIB" copy --from "$DB" --to "$URI2")
printf '%-8s %10s %12s\n' copy "-" "$pc"
sr=$(t run "$ATTRIB" --db "$DB" run --out s.csv)
pr=$(t run "$ATTRIB" --db "$URI" run --out p.csv)
printf '%-8s %10s %12s\n' run "$sr" "$pr"
cmp -s s.csv p.csv || { echo "bench: the CSVs differ" >&2; exit 1; }
s1=$(t run-1d "$ATTRIB" --db "$DB" run --start-date "$last" --end-date "$last" --out s1.csv)
p1=$(t run-1d "$ATTRIB" --db "$URI" run --start-date "$last" --end-date "$last" --out p1.csv)
printf '%-8s %10s %12s\n' run-1d "$s1" "$p1"
cmp -s s1.csv p1.csv || { echo "bench: the one-day CSVs differ" >&2; exit 1; }
sp=$(t report "$ATTRIB" --db "$DB" report)
pp=$(t report "$ATTRIB" --db "$URI" report)
printf '%-8s %10s %12s\n' report "$sp" "$pp"
se=$(t export "$ATTRIB" --db "$DB" export --out s.csv)
pe=$(t export "$ATTRIB" --db "$URI" export --out p.csv)
printf '%-8s %10s %12s\n' export "$se" "$pe"
cmp -s s.csv p.csv || { echo "bench: the exported CSVs differ" >&2; exit 1; }
echo "CSVs byte-identical: yes ($(wc -l <s.csv) lines)"
psql "$ATTRIB_PG_URI" -qAt -c "SET client_min_messages = warning" \
    -c "DROP SCHEMA \"$S\" CASCADE" -c "DROP SCHEMA \"${S}_copy\" CASCADE" >/dev/null 2>&1 || true

