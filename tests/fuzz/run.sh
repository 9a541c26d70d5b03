#!/bin/sh
# `make fuzz`: build each tests/fuzz/fuzz_*.c as a libFuzzer target (clang,
# ASan+UBSan) and run it for FUZZ_SECONDS (default 60) on its corpus in
# tests/fuzz/corpus/<name>; new interesting inputs are added to the corpus.
# FUZZ_TARGETS="config rows" picks targets; FUZZ_ARGS adds libFuzzer options
# (e.g. -jobs=1). A target whose source says FUZZ_NEEDS_CLI is linked with the
# CLI's sources (all but main.c). Targets run in a scratch directory (the
# schema target executes arbitrary SQL). The corpora are replayed by the
# ordinary suite (tests/cli/test_fuzz_corpus.sh); minimise a grown corpus with
# -merge=1 into a fresh directory before committing it.
set -eu
SECONDS_EACH=${FUZZ_SECONDS:-60}
TOP=$(pwd)
B=$TOP/build/fuzz
mkdir -p "$B"
command -v clang >/dev/null || { echo "fuzz: clang is needed (apt-get install clang)" >&2; exit 1; }
# the library is instrumented too (fuzzer-no-link): libFuzzer follows its coverage
L=build/fuzz-cov-lib
make --no-print-directory B=$L CC=clang SAN=1 OPT=-O1 CFLAGS=-fsanitize=fuzzer-no-link \
    $L/libattrib.a
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c | sed 's/^fuzz_//')
    if [ -n "${FUZZ_TARGETS:-}" ]; then
        case " $FUZZ_TARGETS " in *" $name "*) ;; *) continue ;; esac
    fi
    extra=""
    if grep -q FUZZ_NEEDS_CLI "$src"; then
        extra=$(ls src/cli/*.c | grep -v -e '/main\.c$' -e '/lazy\.c$') # (lazy.c: the binary's only)
    fi
    # shellcheck disable=SC2046,SC2086
    clang -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Isrc $(pkg-config --cflags jansson) \
        -fsanitize=fuzzer,address,undefined "$src" $extra $L/libattrib.a \
        $(pkg-config --libs sqlite3 libcurl jansson libpq libmicrohttpd) -lpthread -lm -o "$B/$name"
    mkdir -p "tests/fuzz/corpus/$name"
    scratch=$(mktemp -d)
    echo "== fuzz $name for ${SECONDS_EACH}s"
    # shellcheck disable=SC2086
    (cd "$scratch" && "$B/$name" -max_total_time="$SECONDS_EACH" -max_len=65536 ${FUZZ_ARGS:-} \
        "$TOP/tests/fuzz/corpus/$name")
    rm -rf "$scratch"
done
