#!/bin/sh
# The MPI job over a hash-partitioned PostgreSQL (docs/scale-out.md, issue 17).
# Usage: sh bench/mpi_run.sh [path/to/attrib]   (attrib-mpi beside it)
#
# BENCH_SIZE sessions (default 10M; the time layout of bench/run.sh's cache,
# generated when missing) are copied into two schemas, one then partitioned
# with `attrib partition --parts BENCH_PARTS` (default 8). Then, one after the
# other: a single `attrib run` on the plain schema (the reference CSV and
# time), and `mpirun -np N attrib-mpi run -v` on the partitioned one for N in
# BENCH_RANKS (default 1 2 4), each timed with /usr/bin/time (wall, CPU of
# mpirun and its ranks; the PostgreSQL server's CPU is not in it) and its CSV
# compared byte for byte with the single run's. Every rank's read, attribute
# and write seconds and the cost of its reductions (the commit vote's wait and
# the summary's MPI_Allreduce after it; the report's: its wait for the slowest
# rank, then the reduction of the sums) come from attrib-mpi -v; rank 0's
# report + export after the commit is its summary's seconds minus its own steps
# (a build from before a reduction has no fields for it: "-").
# Model: BENCH_MODEL (default linear: a model that needs only its users' paths);
# a list ("markov shapley") runs each in turn on the same load.
# BENCH_BEFORE: the directory of another build's attrib-mpi (say main's): each
# rank count then runs that binary and this one side by side (before, after),
# on the same data, each CSV compared with the single run's.
#
# BENCH_SCHEMA=NAME reuses schemas NAME_plain and NAME_part loaded and
# partitioned before (the same dataset; kept at the end), so two binaries can
# be compared without loading 10M twice; BENCH_LABEL names the binary in
# bench/results.md (default: the commit).
#
# PostgreSQL: $ATTRIB_PG_URI when set, else a throwaway cluster (tests/pg/
# pg_start.sh on $ATTRIB_PG_PORT, default 55489), stopped at the end.
# Appends a table to bench/results.md.
set -eu
ATTRIB=${1:-build/attrib}
TOP=$(cd "$(dirname "$0")/.." && pwd)
case $ATTRIB in /*) ;; *) ATTRIB=$(pwd)/$ATTRIB ;; esac
M=$(dirname "$ATTRIB")/attrib-mpi
[ -x "$ATTRIB" ] || { echo "bench: $ATTRIB is missing; run 'make'" >&2; exit 1; }
[ -x "$M" ] || { echo "bench: $M is missing; run 'make MPI=1'" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "bench: mpirun is missing (openmpi-bin)" >&2; exit 1; }
DATA=${ATTRIB_BENCH_DIR:-$(dirname "$TOP")/bench-data}
SIZE=${BENCH_SIZE:-10000000}
PARTS=${BENCH_PARTS:-8}
RANKS=${BENCH_RANKS:-"1 2 4"}
MODELS=${BENCH_MODEL:-linear}
BEFORE=${BENCH_BEFORE:-}
[ -z "$BEFORE" ] || [ -x "$BEFORE/attrib-mpi" ] || { echo "bench: $BEFORE/attrib-mpi is missing" >&2; exit 1; }
SEED=1
START=2023-01-01
RESULTS=$TOP/bench/results.md
TMP=$(mktemp -d "${TMPDIR:-/tmp}/attrib-mpibench.XXXXXX")
own=""
S=${BENCH_SCHEMA:-mpibench_$$}
cleanup() {
    if [ -n "${ATTRIB_PG_URI:-}" ] && [ -z "${BENCH_SCHEMA:-}" ]; then
        psql -q "$ATTRIB_PG_URI" -c "SET client_min_messages = warning" \
            -c "DROP SCHEMA IF EXISTS ${S}_plain CASCADE" \
            -c "DROP SCHEMA IF EXISTS ${S}_part CASCADE" >/dev/null 2>&1 || true
    fi
    [ -n "$own" ] && sh "$TOP/tests/pg/pg_stop.sh" "$own"
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
if [ -z "${ATTRIB_PG_URI:-}" ]; then
    own=$(mktemp -d "${TMPDIR:-/tmp}/attrib-pg.XXXXXX")
    sh "$TOP/tests/pg/pg_start.sh" "$own" "${ATTRIB_PG_PORT:-55489}" >/dev/null
    . "$own/env"
fi
mkdir -p "$DATA"
. "$TOP/bench/lib.sh" # load, span_days, GENSUM
COMMIT=${BENCH_LABEL:-commit $(cd "$TOP" && git rev-parse --short HEAD 2>/dev/null || echo unknown)}
NOW=$(date -u +%Y-%m-%dT%H:%MZ)
days=$(span_days "$SIZE")
db=$DATA/gen-$SIZE-time-s$SEED-$GENSUM.db
if [ ! -f "$db" ]; then
    echo "bench: generating $SIZE sessions into $db ..."
    "$ATTRIB" -q --db "$db.tmp" gen --sessions "$SIZE" --seed "$SEED" --start-date "$START" \
        --days "$days" --layout time
    mv "$db.tmp" "$db"
fi
PLAIN="$ATTRIB_PG_URI?schema=${S}_plain"
PART="$ATTRIB_PG_URI?schema=${S}_part"
if [ -n "${BENCH_SCHEMA:-}" ]; then
    echo "bench: reusing schemas ${S}_plain and ${S}_part"
    echo "loaded before" >"$TMP/part"
else
    echo "bench: loading $SIZE sessions into PostgreSQL (two schemas) ..."
    "$ATTRIB" -q copy --from "$db" --to "$PLAIN"
    "$ATTRIB" -q copy --from "$db" --to "$PART"
    /usr/bin/time -f '%e s' -o "$TMP/part" "$ATTRIB" -q --db "$PART" partition --parts "$PARTS"
    psql -q "$ATTRIB_PG_URI" -c "ANALYZE ${S}_plain.session_sources" -c "ANALYZE ${S}_plain.conversions" \
        -c "ANALYZE ${S}_plain.session_costs" -c "ANALYZE ${S}_part.session_costs" >/dev/null
fi

load0=$(load)
num() { sed -n "s/.*\"$2\": \\([-0-9.e]*\\).*/\\1/p" "$1" | head -1; }
: >"$TMP/rows"
for MODEL in $MODELS; do
/usr/bin/time -f '%e %U %S' -o "$TMP/single" "$ATTRIB" -q --db "$PLAIN" run --model "$MODEL" \
    --out "$TMP/single.csv" --summary-json "$TMP/single.json"
read -r sw su ss <"$TMP/single"
printf "%s: single run (plain tables): %.2f s wall, %.2f s CPU; read %.2f, attribute %.3f, write %.2f s\n" \
    "$MODEL" "$sw" "$(echo "$su $ss" | awk '{print $1 + $2}')" "$(num "$TMP/single.json" read_seconds)" \
    "$(num "$TMP/single.json" model_seconds)" "$(num "$TMP/single.json" write_seconds)"
printf "| %s | single | plain tables | %.2f | %.2f | %.2f | %.3f | %.2f | | | | | | | | (inside) |\n" "$MODEL" "$sw" \
    "$(echo "$su $ss" | awk '{print $1 + $2}')" "$(num "$TMP/single.json" read_seconds)" \
    "$(num "$TMP/single.json" model_seconds)" "$(num "$TMP/single.json" write_seconds)" >>"$TMP/rows"
for np in $RANKS; do
    for which in ${BEFORE:+before} after; do
    bin=$M
    [ "$which" = before ] && bin=$BEFORE/attrib-mpi
    /usr/bin/time -f '%e %U %S' -o "$TMP/job" \
        mpirun --allow-run-as-root --oversubscribe -np "$np" "$bin" --db "$PART" run -v \
        --model "$MODEL" --out "$TMP/job.csv" --summary-json "$TMP/job.json" 2>"$TMP/job.err" ||
        { cat "$TMP/job.err" >&2; exit 1; }
    cmp -s "$TMP/single.csv" "$TMP/job.csv" || { echo "bench: $MODEL -np $np ($which): the CSV differs from the single run's" >&2; exit 1; }
    read -r jw ju js <"$TMP/job"
    # "attrib: rank R: read X s, attribute Y s, write Z s, vote V s, reductions W s[,
    #  statistics wait A s, statistics reduction B s, sessions read N, report wait C s,
    #  report reduction D s]" (the fields after W: builds with the reductions)
    grep '^attrib: rank ' "$TMP/job.err" | sed 's/[,:]//g' >"$TMP/ranks"
    echo "$MODEL, $which:"
    awk '{ print "  rank " $3 ": read " $5 " s, attribute " $8 " s, write " $11 " s, vote " $14 " s, reductions " $17 " s, statistics wait " ($21 == "" ? "-" : $21) " s, reduction " ($25 == "" ? "-" : $25) " s, sessions " ($29 == "" ? "-" : $29) ", report wait " ($32 == "" ? "-" : $32) " s, report reduction " ($36 == "" ? "-" : $36) " s" }' "$TMP/ranks"
    # rank 0's own steps and waits; what is left of its summary's seconds came after the commit
    r0=$(awk '$3 == 0 { print $5 + $8 + $11 + $14 + $32 + $36 }' "$TMP/ranks")
    rep=$(awk -v t="$(num "$TMP/job.json" seconds)" -v r="$r0" 'BEGIN { printf "%.2f", t - r }')
    awk -v np="$np" -v jw="$jw" -v cpu="$(echo "$ju $js" | awk '{print $1 + $2}')" -v rep="$rep" \
        -v model="$MODEL" -v which="$which" '
        function mm(a, b) { return sprintf("%.2f-%.2f", a, b) }
        NR == 1 { rmin = rmax = $5; amin = amax = $8; wmin = wmax = $11; vmax = $14; dmax = $17
                  smin = smax = $29; swmax = $21; srmax = $25; pw = $32; pr = $36 }
        { if ($5 < rmin) rmin = $5; if ($5 > rmax) rmax = $5
          if ($8 < amin) amin = $8; if ($8 > amax) amax = $8
          if ($11 < wmin) wmin = $11; if ($11 > wmax) wmax = $11
          if ($14 > vmax) vmax = $14; if ($17 > dmax) dmax = $17
          if ($29 < smin) smin = $29; if ($29 > smax) smax = $29
          if ($21 > swmax) swmax = $21; if ($25 > srmax) srmax = $25
          if ($32 > pw) pw = $32; if ($36 > pr) pr = $36 }
        END { st = swmax == "" ? "- | -" : sprintf("%.3f | %.6f", swmax, srmax)
              ss = smin == "" ? "-" : smin "-" smax
              pt = pw == "" ? "- | -" : sprintf("%.3f | %.6f", pw, pr)
              printf "%d ranks (%s): %.2f s wall, %.2f s CPU (ranks); per rank read %s, attribute %.3f-%.3f, write %s s; vote wait <= %.3f s, reductions <= %.6f s; statistics wait | reduction <= %s s; sessions read per rank %s; report wait | reduction <= %s s; rank 0 report + export after the commit %s s\n", np, which, jw, cpu, mm(rmin, rmax), amin, amax, mm(wmin, wmax), vmax, dmax, st, ss, pt, rep
              printf "| %s | %d %s | %s | %.2f | %.2f | %s | %.3f-%.3f | %s | %.3f | %.6f | %s | %s | %s | %s |\n", model, np, (np == 1 ? "rank" : "ranks"), which, jw, cpu, mm(rmin, rmax), amin, amax, mm(wmin, wmax), vmax, dmax, st, ss, pt, rep >> "'"$TMP/rows"'" }' "$TMP/ranks"
    done
done
done
load1=$(load)

if ! grep -q '^## MPI over a partitioned PostgreSQL' "$RESULTS" 2>/dev/null; then
    {
        echo
        echo "## MPI over a partitioned PostgreSQL (bench/mpi_run.sh, issue 17)"
        echo
        echo "attrib-mpi run on the time-layout dataset hash-partitioned by user_id; one"
        echo "machine (ranks, mpirun and the PostgreSQL server share its cores). Wall and CPU:"
        echo "/usr/bin/time of mpirun (CPU of the ranks, not of the server). Per rank, min-max"
        echo "over ranks of read / attribute / write seconds (attrib-mpi -v); vote: the"
        echo "longest wait in the commit vote (the slowest rank's lag + one MPI_Allreduce);"
        echo "reductions: the longest MPI_Allreduce pair after it; report + export: rank 0's"
        echo "after everyone committed. Every CSV equals the single run's byte for byte."
    } >>"$RESULTS"
fi
{
    echo
    echo "$NOW, $COMMIT${BEFORE:+ (before: $BEFORE/attrib-mpi)}, $SIZE sessions, $PARTS partitions, models $MODELS, load $load0-$load1;"
    echo "partition: $(cat "$TMP/part"). Statistics wait / reduction: the longest wait at the"
    echo "reduction of the model's statistics (the slowest rank's read) and the longest reduction"
    echo "after it; sessions: session rows read per rank (min-max); report wait / reduction: the"
    echo "longest wait for the slowest rank before the report's reduction and its longest"
    echo "exchange (- : the build has no such reduction); report + export: rank 0's after the commit."
    echo
    echo "| model | ranks | build | wall s | CPU s | read s | attribute s | write s | vote wait s | reductions s | statistics wait s | statistics reduction s | sessions read per rank | report wait s | report reduction s | report + export s |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    cat "$TMP/rows"
} >>"$RESULTS"
echo "bench: appended to $RESULTS"
