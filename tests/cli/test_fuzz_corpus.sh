# Replays every fuzz corpus (tests/fuzz/corpus/<target>) through its target,
# built with the ordinary compiler and a plain driver: inputs that once
# crashed or found new paths stay regression tests.
. "$TOP/tests/cli/lib.sh"
cd "$TOP" || fail "cd"
B=$(dirname "$ATTRIB")
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c | sed 's/^fuzz_//')
    [ -d "tests/fuzz/corpus/$name" ] || continue
    extra=""
    if grep -q FUZZ_NEEDS_CLI "$src"; then
        extra=$(ls src/cli/*.c | grep -v -e '/main\.c$' -e '/lazy\.c$') # (lazy.c: the binary's only)
    fi
    # shellcheck disable=SC2046,SC2086
    cc -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Isrc $(pkg-config --cflags jansson) \
        $CFLAGS_SAN "$src" $extra tests/fuzz/driver.c "$B/libattrib.a" \
        $(pkg-config --libs sqlite3 libcurl jansson libpq libmicrohttpd) -lpthread -lm \
        -o "$T/$name" || fail "build $name"
    (cd "$T" && "./$name" "$TOP/tests/fuzz/corpus/$name") >"$T/out" 2>"$T/err" ||
        fail "replay $name"
done
echo ok
