# Replays every fuzz corpus (tests/fuzz/corpus/<target>) through its target,
# built with the ordinary compiler and a plain driver: inputs that once
# crashed or found new paths stay regression tests.
. "$TOP/tests/cli/lib.sh"
cd "$TOP" || fail "cd"
B=$(dirname "$ATTRIB")
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c | sed 's/^fuzz_//')
    [ -d "tests/fuzz/corpus/$name" ] || continue
    # shellcheck disable=SC2046
    cc -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Isrc $(pkg-config --cflags jansson) \
        $CFLAGS_SAN "$src" tests/fuzz/driver.c "$B/libattrib.a" \
        $(pkg-config --libs sqlite3 libcurl jansson libpq libmicrohttpd) -lpthread -lm \
        -o "$T/$name" || fail "build $name"
    "$T/$name" "tests/fuzz/corpus/$name" >"$T/out" 2>"$T/err" || fail "replay $name"
done
echo ok
