#!/bin/sh
# `make bench`: attrib run on generated SQLite datasets against the read floor
# (SPEC §9). Usage: sh bench/run.sh [path/to/attrib]
#
# For each size (2M and 10M sessions; 100M too with BENCH_100M=1) and each
# layout (time, sorted, shuffled: `attrib gen --layout`, the same rows in
# another order):
#   1. generate the dataset once into a cache outside the repository
#      ($ATTRIB_BENCH_DIR, default: bench-data next to the repository), keyed by
#      size, layout, seed and a checksum of the generator, so later runs reuse it;
#   2. on a private copy of it (below 50M), run `attrib run` once untimed
#      (warms the page cache, writes the outputs);
#   3. BENCH_REPS times (default 3), alternating so that both see the same
#      machine: the floor (bench/floor reads the needed columns of the three
#      input tables once through the same SQLite build), then `attrib run`
#      timed (wall, CPU = user + sys, peak RSS): a rerun, whose rows are stored
#      already and not rewritten (docs/pipeline.md, attribute 5), then a
#      one-day incremental run (the last day of the data), then, after the
#      stored attribution rows were deleted (sqlite3), a full run that writes
#      every row again ("rewrite"); then, on a copy of the dataset holding only
#      the input tables (attrib's tables and indexes dropped, compacted once,
#      dropped again after each first run: a shop's own database before its
#      first run), the floor and a first run ("first": it creates attrib's
#      tables and writes every row);
# then print the medians and the load average seen, and append a row to
# bench/results.md. Each ratio is the median over the reps of that rep's
# wall / floor, the floor being the mean of the floor read right before and
# the one right after (the run and the rewrite share the rep's pair): this
# VM's speed drifts by half within a minute, which a ratio of separate
# medians turned into noise. The CSV of every layout must be the same bytes:
# the script stops when it is not.
#
# Environment: BENCH_SIZES="N ..." overrides the sizes, BENCH_LAYOUTS="..."
# the layouts, BENCH_100M=1 adds 100M (about 50 GB of disk), BENCH_REPS,
# BENCH_SEED (default 1), ATTRIB_BENCH_DIR. From 50M on the input tables'
# keys are unique indexes built after the load (bench/lib.sh, KEYLESS_INPUTS).
set -eu

ATTRIB=${1:-build/attrib}
TOP=$(cd "$(dirname "$0")/.." && pwd)
case $ATTRIB in /*) ;; *) ATTRIB=$(pwd)/$ATTRIB ;; esac
B=$(dirname "$ATTRIB")
FLOOR=$B/bench/floor
DATA=${ATTRIB_BENCH_DIR:-$(dirname "$TOP")/bench-data}
SEED=${BENCH_SEED:-1}
SIZES=${BENCH_SIZES:-"2000000 10000000"}
LAYOUTS=${BENCH_LAYOUTS:-"time sorted shuffled"}
REPS=${BENCH_REPS:-3}
if [ "${BENCH_100M:-0}" = 1 ]; then SIZES="$SIZES 100000000"; fi
RESULTS=$TOP/bench/results.md
START=2023-01-01

for f in "$ATTRIB" "$FLOOR"; do
    [ -x "$f" ] || { echo "bench: $f is missing; run 'make bench'" >&2; exit 1; }
done
mkdir -p "$DATA"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/attrib-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

# The rows depend on the generator only (the store sink just writes them;
# `attrib run` adds any index a newer schema wants).
. "$TOP/bench/lib.sh" # load, median, json_num, span_days, GENSUM
COMMIT=$(cd "$TOP" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$COMMIT" != unknown ] && [ -n "$(cd "$TOP" && git status --porcelain -- src include 2>/dev/null)" ]; then
    COMMIT="$COMMIT+dirty"
fi
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
MEM=$(awk '/^MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)
MACHINE="${CPU:-$(uname -m)}, $(nproc 2>/dev/null || echo '?') cores, ${MEM:-? GB}"
NOW=$(date -u +%Y-%m-%dT%H:%MZ)

# timed OUT CMD...: run CMD, write "wall user sys maxrss_kb" to OUT.
if [ -x /usr/bin/time ]; then
    timed() {
        out=$1; shift
        /usr/bin/time -f '%e %U %S %M' -o "$out" "$@"
    }
else
    timed() {
        out=$1; shift
        t0=$(date +%s.%N)
        "$@"
        t1=$(date +%s.%N)
        echo "$t0 $t1" | awk '{ printf "%.2f 0 0 0\n", $2 - $1 }' >"$out"
    }
fi

HEADER="| date | machine | commit | sessions | layout | gen | run wall | run CPU | peak RSS MB | sessions/s | conversions/s | read | attribute | write | floor wall | floor CPU | wall / floor | CPU / floor | 1-day run wall | 1-day / run | rewrite run wall | rewrite write | rewrite / floor | first run wall | first floor | first / floor | load |"
if [ ! -f "$RESULTS" ]; then
    {
        echo "# Benchmark results"
        echo
        echo "Appended by \`make bench\` (bench/run.sh). Times in seconds; CPU = user + sys."
    } >"$RESULTS"
fi
if ! grep -qF "$HEADER" "$RESULTS"; then
    {
        echo
        echo "Medians of BENCH_REPS runs, run and floor alternating; layout: the row order"
        echo "of \`attrib gen --layout\`; load: the 1-minute load average before and after."
        echo "Read / attribute / write: the run's own split (--summary-json: read_seconds,"
        echo "model_seconds, write_seconds); sessions/s and conversions/s over the run's wall time."
        echo "Run: a rerun (the attribution rows are stored already and not rewritten);"
        echo "rewrite: a full run after the stored attribution rows were deleted, which"
        echo "writes every row (its wall time, its write_seconds, its wall / floor);"
        echo "first: a run on a copy holding only the input tables (attrib's tables and"
        echo "indexes dropped, VACUUM INTO), against the floor read of that copy."
        echo
        echo "$HEADER"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    } >>"$RESULTS"
fi


echo "bench: data in $DATA, results appended to bench/results.md"
for n in $SIZES; do
    days=$(span_days "$n")
    last_day=$(date -u -d "$START + $((days - 1)) days" +%Y-%m-%d)
    rm -f "$TMP/first.csv"
    for layout in $LAYOUTS; do
        db=$DATA/gen-$n-$layout-s$SEED-$GENSUM.db
        [ "$n" -lt 50000000 ] || db=$DATA/gen-$n-$layout-s$SEED-$GENSUM-keys-after.db
        gen_s=cached
        if [ ! -f "$db" ]; then
            echo "bench: generating $n sessions ($layout) into $db ..."
            rm -f "$db.tmp" "$db.tmp-journal"
            [ "$n" -lt 50000000 ] || sqlite3 -batch "$db.tmp" "$KEYLESS_INPUTS"
            timed "$TMP/gen" sh -c '"$1" -q --db "$2" gen --sessions "$3" --seed "$4" \
                --start-date "$5" --days "$6" --layout "$7" &&
                { [ "$3" -lt 50000000 ] || sqlite3 -batch "$2" "$8" >/dev/null; }' sh "$ATTRIB" "$db.tmp" \
                "$n" "$SEED" "$START" "$days" "$layout" "$UNIQUE_KEYS"
            mv "$db.tmp" "$db"
            gen_s=$(cut -d' ' -f1 "$TMP/gen")
        fi
        # Runs write their outputs into the database: work on a private copy so
        # that benchmarks of several checkouts sharing the cache do not meet
        # (in place from 50M on, to spare the disk).
        work=$db
        if [ "$n" -lt 50000000 ]; then
            work=$TMP/work.db
            cp "$db" "$work"
        fi
        "$ATTRIB" -q --db "$work" run --out "$TMP/warm.csv"
        if [ -f "$TMP/first.csv" ]; then
            cmp -s "$TMP/first.csv" "$TMP/warm.csv" ||
                { echo "bench: the $layout CSV differs from the first layout's" >&2; exit 1; }
        else
            cp "$TMP/warm.csv" "$TMP/first.csv"
        fi
        # The same input rows as a shop's own database: no attrib table or index.
        # (Compacted once; after each first run its tables are dropped again, so
        # no rep copies gigabytes that would push the work copy out of the cache.)
        # (Not from 50M on: that copy would need the disk of a second dataset.)
        rm -f "$TMP/inputs.tmp" "$TMP/fresh.db"
        if [ "$n" -lt 50000000 ]; then
            cp "$db" "$TMP/inputs.tmp"
            sqlite3 -batch "$TMP/inputs.tmp" "$INPUTS_ONLY"
            sqlite3 -batch "$TMP/inputs.tmp" "VACUUM INTO '$TMP/fresh.db'"
            rm -f "$TMP/inputs.tmp"
        fi
        sync
        load0=$(load)
        : >"$TMP/runs"
        : >"$TMP/floors"
        : >"$TMP/days"
        : >"$TMP/splits"
        : >"$TMP/rewrites"
        : >"$TMP/firsts"
        : >"$TMP/ratios"
        : >"$TMP/fratios"
        i=0
        while [ "$i" -lt "$REPS" ]; do
            floor_read "$work" >>"$TMP/floors"
            timed "$TMP/run" "$ATTRIB" -q --db "$work" run --out "$TMP/run.csv" \
                --summary-json "$TMP/run.json"
            read -r w u sy rss <"$TMP/run"
            echo "$w $(awk -v u="$u" -v s="$sy" 'BEGIN { print u + s }') $rss" >>"$TMP/runs"
            echo "$(json_num "$TMP/run.json" read_seconds) $(json_num "$TMP/run.json" model_seconds) $(json_num "$TMP/run.json" write_seconds)" >>"$TMP/splits"
            timed "$TMP/day" "$ATTRIB" -q --db "$work" run --start-date "$last_day" \
                --end-date "$last_day" --out "$TMP/day.csv"
            cut -d' ' -f1 "$TMP/day" >>"$TMP/days"
            sqlite3 -batch "$work" "DELETE FROM attribution_customer_journey"
            sync # the deleted pages written back before the timed run, not during it
            timed "$TMP/rw" "$ATTRIB" -q --db "$work" run --out "$TMP/rw.csv" \
                --summary-json "$TMP/rw.json"
            cmp -s "$TMP/rw.csv" "$TMP/run.csv" ||
                { echo "bench: the rewrite run's CSV differs from the rerun's" >&2; exit 1; }
            echo "$(cut -d' ' -f1 "$TMP/rw") $(json_num "$TMP/rw.json" write_seconds)" >>"$TMP/rewrites"
            # The floor again: the run and the rewrite against the mean of the floors
            # read before and after them (this VM's speed drifts between reads).
            fl1=$(tail -n 1 "$TMP/floors" | cut -d' ' -f1)
            fl2=$(floor_read "$work" | cut -d' ' -f1)
            ratios=$(awk -v a="$fl1" -v b="$fl2" -v r="$w" -v x="$(cut -d' ' -f1 "$TMP/rw")" \
                'BEGIN { m = (a + b) / 2; printf "%.3f %.3f", r / m, x / m }')
            echo "$ratios" >>"$TMP/ratios"
            first="not measured"
            if [ -f "$TMP/fresh.db" ]; then
                fw1=$(floor_read "$TMP/fresh.db" | cut -d' ' -f1)
                timed "$TMP/first" "$ATTRIB" -q --db "$TMP/fresh.db" run --out "$TMP/first.run.csv"
                cmp -s "$TMP/first.run.csv" "$TMP/run.csv" ||
                    { echo "bench: the first run's CSV differs from the rerun's" >&2; exit 1; }
                fw2=$(floor_read "$TMP/fresh.db" | cut -d' ' -f1)
                echo "$(cut -d' ' -f1 "$TMP/first") $fw1" >>"$TMP/firsts"
                awk -v a="$fw1" -v b="$fw2" -v f="$(cut -d' ' -f1 "$TMP/first")" \
                    'BEGIN { printf "%.3f\n", f / ((a + b) / 2) }' >>"$TMP/fratios"
                sqlite3 -batch "$TMP/fresh.db" "$INPUTS_ONLY"
                sync
                first="$(cut -d' ' -f1 "$TMP/first") s (its floors $fw1, $fw2 s:"
                first="$first $(tail -n 1 "$TMP/fratios")x)"
            fi
            echo "  rep $((i + 1)): floors $fl1, $fl2 s, run $w s ($(echo "$ratios" | cut -d' ' -f1)x)," \
                "day $(tail -n 1 "$TMP/days") s, rewrite $(cut -d' ' -f1 "$TMP/rw") s" \
                "($(echo "$ratios" | cut -d' ' -f2)x), first $first"
            i=$((i + 1))
        done
        load1=$(load)
        [ "$work" = "$db" ] || rm -f "$work"
        rm -f "$TMP/fresh.db"
        r_run=$(median "$TMP/ratios" 1)
        r_rw=$(median "$TMP/ratios" 2)
        r_first=$(median "$TMP/fratios" 1)
        first_wall=$(median "$TMP/firsts" 1)
        first_floor=$(median "$TMP/firsts" 2)
        run_wall=$(median "$TMP/runs" 1)
        run_cpu=$(median "$TMP/runs" 2)
        run_rss=$(median "$TMP/runs" 3)
        floor_wall=$(median "$TMP/floors" 1)
        floor_cpu=$(median "$TMP/floors" 2)
        day_wall=$(median "$TMP/days" 1)
        rw_wall=$(median "$TMP/rewrites" 1)
        rw_write=$(median "$TMP/rewrites" 2)
        t_read=$(median "$TMP/splits" 1)
        t_model=$(median "$TMP/splits" 2)
        t_write=$(median "$TMP/splits" 3)
        sess=$(json_num "$TMP/run.json" sessions_read)
        convs=$(json_num "$TMP/run.json" conversions_selected)
        awk -v n="$n" -v lay="$layout" -v rw="$run_wall" -v cpu="$run_cpu" -v rss="$run_rss" \
            -v fw="$floor_wall" -v fc="$floor_cpu" -v dw="$day_wall" -v d="$last_day" -v g="$gen_s" \
            -v sess="$sess" -v convs="$convs" -v tr="$t_read" -v tm="$t_model" -v tw="$t_write" \
            -v reps="$REPS" -v l0="$load0" -v l1="$load1" -v xw="$rw_wall" -v xwr="$rw_write" \
            -v date="$NOW" -v mach="$MACHINE" -v commit="$COMMIT" -v results="$RESULTS" \
            -v ff="$first_wall" -v ffl="$first_floor" -v rr="$r_run" -v rx="$r_rw" \
            -v rf="$r_first" 'BEGIN {
            printf "| %s | %s | %s | %d | %s | %s | %.2f | %.2f | %.0f | %.0f | %.0f | %.2f | %.3f (%.2f%%) | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f%% | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %s-%s |\n",
                date, mach, commit, n, lay, g, rw, cpu, rss / 1024, sess / rw, convs / rw, tr, tm,
                100 * tm / rw, tw, fw, fc, rr, (fc > 0 ? cpu / fc : 0), dw,
                100 * dw / rw, xw, xwr, rx, ff, ffl, rf, l0, l1 >>results
            printf "%d sessions, %s layout (%s; medians of %d, load %s-%s): run %.2f s wall, %.2f s CPU, %.0f MB peak RSS, %.0f sessions/s, %.0f conversions/s\n",
                n, lay, (g == "cached" ? "dataset cached" : "generated in " g " s"), reps, l0, l1,
                rw, cpu, rss / 1024, sess / rw, convs / rw
            printf "  split: read %.2f s, attribution %.3f s (%.2f%% of the run), write %.2f s\n",
                tr, tm, 100 * tm / rw, tw
            printf "  floor %.2f s wall, %.2f s CPU; run/floor %.2fx wall (median of the reps), %.2fx CPU\n",
                fw, fc, rr, (fc > 0 ? cpu / fc : 0)
            printf "  one day (%s): %.2f s = %.1f%% of a full run\n", d, dw, (rw > 0 ? 100 * dw / rw : 0)
            printf "  rewrite (every attribution row written again): %.2f s wall, write %.2f s, %.2fx the floor\n",
                xw, xwr, rx
            if (ffl > 0)
                printf "  first run (a database holding only the input tables): %.2f s wall, floor %.2f s, %.2fx\n",
                    ff, ffl, rf
            else
                print "  first run: not measured at this size (its copy would need the disk of a second dataset)"
        }'
    done
done
