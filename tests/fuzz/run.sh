#!/bin/sh
# `make fuzz`: build each tests/fuzz/fuzz_*.c as a libFuzzer target (clang,
# ASan+UBSan) and run it for FUZZ_SECONDS (default 60) on its corpus in
# tests/fuzz/corpus/<name>; new interesting inputs are added to the corpus.
# The corpora are replayed by the ordinary suite (tests/cli/test_fuzz_corpus.sh).
set -eu
SECONDS_EACH=${FUZZ_SECONDS:-60}
B=build/fuzz
mkdir -p "$B"
command -v clang >/dev/null || { echo "fuzz: clang is needed (apt-get install clang)" >&2; exit 1; }
make --no-print-directory B=build/fuzz-lib CC=clang SAN=1 OPT=-O1 build/fuzz-lib/libattrib.a
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c | sed 's/^fuzz_//')
    clang -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Isrc $(pkg-config --cflags jansson) \
        -fsanitize=fuzzer,address,undefined "$src" build/fuzz-lib/libattrib.a \
        $(pkg-config --libs sqlite3 libcurl jansson libpq libmicrohttpd) -lpthread -lm -o "$B/$name"
    mkdir -p "tests/fuzz/corpus/$name"
    echo "== fuzz $name for ${SECONDS_EACH}s"
    "$B/$name" -max_total_time="$SECONDS_EACH" -max_len=65536 "tests/fuzz/corpus/$name"
done
