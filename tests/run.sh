#!/bin/sh
# Test driver: every unit test binary, then every CLI test script, with one
# summary line at the end ("N ran: N passed, N failed, N skipped").
# Usage: run.sh BUILD [unit|cli]
# A test that could not run all of itself (no PostgreSQL server, ...) prints a
# line starting with "SKIPPED:" (cmocka's skip() prints "[  SKIPPED ]"): it
# counts as skipped, and a skip fails the run unless ATTRIB_TEST_ALLOW_SKIP=1
# (`make test-quick`): "make test runs every test" stays true.
# VALGRIND=1 runs the unit tests under valgrind (errors fail the test).
# ATTRIB_TESTS="test_a test_b.sh" runs only those: unit test binaries by
# name, CLI test scripts by file name.
set -u
B=${1:-build}
what=${2:-all}
ATTRIB=$(cd "$(dirname "$B/attrib")" && pwd)/attrib
ATTRIB_BUILD=$B # the build directory, as make's B= (tests/cli/test_install.sh)
export ATTRIB ATTRIB_BUILD
TOP=$(pwd)
export TOP
CFLAGS_SAN=""
case "$B" in
*asan*) CFLAGS_SAN="-fsanitize=address,undefined -fno-omit-frame-pointer" ;;
*tsan*)
    CFLAGS_SAN="-fsanitize=thread -fno-omit-frame-pointer"
    # A report fails the test (the CLI tests check exit codes); a proven false
    # positive in a system library goes to tests/tsan.supp with its reason.
    TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$TOP/tests/tsan.supp ${TSAN_OPTIONS:-}"
    export TSAN_OPTIONS
    # Requests run several times slower: API client tests stretch their
    # timeouts as under valgrind, so the fault plan means the same thing.
    ATTRIB_TEST_SLOW=1
    export ATTRIB_TEST_SLOW
    ;;
esac
export CFLAGS_SAN
selected() { # name: true when ATTRIB_TESTS is unset or lists it
    [ -z "${ATTRIB_TESTS:-}" ] && return 0
    case " $ATTRIB_TESTS " in *" $1 "*) return 0 ;; esac
    return 1
}
pass=0; fail=0; skip=0; failed=""; skipped=""
log_dir="$B/test-logs"; mkdir -p "$log_dir"
run_one() { # name cmd...
    name=$1; shift
    if "$@" >"$log_dir/$name.log" 2>&1; then
        # A test that could not run says so loudly (e.g. no PostgreSQL server).
        if grep -Eq '^(SKIPPED:|\[  SKIPPED \])' "$log_dir/$name.log"; then
            skip=$((skip + 1)); skipped="$skipped $name"; echo "SKIP $name (log: $log_dir/$name.log)"
            grep -Eh '^(SKIPPED:|\[  SKIPPED \])' "$log_dir/$name.log" | sort -u | head -n 4 | sed 's/^/    /'
        else
            pass=$((pass + 1)); echo "PASS $name"
        fi
    else
        fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name (log: $log_dir/$name.log)"
        tail -n 30 "$log_dir/$name.log" | sed 's/^/    /'
    fi
}
if [ "$what" != cli ]; then
    for t in "$B"/tests/test_*; do
        [ -x "$t" ] || continue
        n=$(basename "$t")
        selected "$n" || continue
        if [ "${VALGRIND:-0}" = 1 ]; then
            run_one "$n" env ATTRIB_TEST_SLOW=1 valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "$t"
        else
            run_one "$n" "$t"
        fi
    done
fi
if [ "$what" != unit ]; then
    for t in tests/cli/test_*.sh; do
        [ -f "$t" ] || continue
        selected "$(basename "$t")" || continue
        run_one "$(basename "$t")" sh "$t" # with .sh: test_gen and test_models are unit tests too
    done
fi
echo
echo "$((pass + fail + skip)) ran: $pass passed, $fail failed, $skip skipped"
rc=0
[ "$fail" -eq 0 ] || { echo "failed:$failed"; rc=1; }
if [ "$skip" -gt 0 ]; then
    echo "skipped:$skipped"
    if [ "${ATTRIB_TEST_ALLOW_SKIP:-0}" != 1 ]; then
        echo "a skipped test fails this run (make test starts PostgreSQL itself; make test-quick allows skips)"
        rc=1
    fi
fi
exit $rc
