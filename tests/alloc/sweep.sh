#!/bin/sh
# Allocation-failure sweep: for each scenario, run tests/alloc/alloc_fail.c
# with allocation N failing, for N = FIRST, FIRST+STEP, ... until a run
# completes without reaching N. Every run must exit 0 (no crash, no ASan or
# UBSan report, no leak under LeakSanitizer) and any failed call must have
# said why (the driver aborts otherwise).
#
#   sh tests/alloc/sweep.sh BUILD [STEP] [SCENARIO...]
#   BUILD holds an ASan+UBSan libattrib.a (make asan: build/asan).
#   STEP 1 (default) fails every allocation in turn; CI uses a larger one.
set -eu
B=$1
STEP=${2:-1}
shift 2 2>/dev/null || shift $#
[ $# -gt 0 ] || set -- json models serve pipeline
TOP=$(pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/attrib-alloc.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
# shellcheck disable=SC2046,SC2086
cc -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Isrc -DTOP=\"$TOP\" $(pkg-config --cflags jansson) \
    $SAN tests/alloc/alloc_fail.c "$B/libattrib.a" \
    -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup \
    $(pkg-config --libs sqlite3 libcurl jansson libpq libmicrohttpd) -lpthread -lm -o "$T/alloc_fail"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=97
export UBSAN_OPTIONS=halt_on_error=1:exitcode=98
total_runs=0
for sc in "$@"; do
    n=0
    "$T/alloc_fail" "$sc" "$T" >"$T/out" 2>&1 || { cat "$T/out"; echo "FAIL $sc without injection"; exit 1; }
    count=$(sed -n 's/^allocations \([0-9]*\) .*/\1/p' "$T/out")
    runs=0
    n=1
    while :; do
        if ! ATTRIB_ALLOC_FAIL=$n "$T/alloc_fail" "$sc" "$T" >"$T/out" 2>&1; then
            tail -40 "$T/out"
            echo "FAIL $sc: allocation $n failing"
            exit 1
        fi
        runs=$((runs + 1))
        grep -q 'injected 1' "$T/out" || break
        n=$((n + STEP))
    done
    total_runs=$((total_runs + runs))
    echo "$sc: $count allocations, $runs runs (step $STEP), no crash, no leak"
done
echo "alloc sweep: $total_runs runs passed"
