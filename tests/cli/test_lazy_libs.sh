# The attrib binary loads libpq, libcurl and libmicrohttpd when first called
# (src/cli/lazy.c): their ~30 dependencies cost ~14 ms of every start, and a
# SQLite run calls none of them. A library that cannot be loaded is named,
# and only what needs it fails.
. "$TOP/tests/cli/lib.sh"

lazy='lib(pq|curl|microhttpd)\.so'
ldd "$ATTRIB" >ldd.txt || fail "ldd $ATTRIB"
if grep -E "$lazy" ldd.txt; then
    fail "linked to be loaded at start"
fi

golden_db g.db
LD_DEBUG=libs "$ATTRIB" --db g.db run -q --model linear --out g.csv 2>ld.txt ||
    fail "a SQLite run failed"
if grep -E "calling init: .*$lazy" ld.txt; then
    fail "a SQLite run loaded a library it does not call"
fi
# --version names their versions, so it loads them.
"$ATTRIB" --version >v.txt || fail "--version"
for l in libpq libcurl libmicrohttpd; do
    grep -Eq "^$l [0-9]" v.txt || fail "--version: no $l version"
done

# A libpq that cannot be loaded (an empty file under its soname first in the
# search path): a PostgreSQL target fails naming it; SQLite is untouched.
so=$(readelf -d "$(pkg-config --variable=libdir libpq)/libpq.so" |
    sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ -n "$so" ] || fail "no soname for libpq"
mkdir -p fake
: >"fake/$so"
expect_exit 1 env LD_LIBRARY_PATH="$T/fake" "$ATTRIB" --db "postgresql://nobody@127.0.0.1:1/none" \
    run -q --out pg.csv
expect_err "attrib: cannot load $so, which PostgreSQL targets need: .*install the package"
expect_exit 0 env LD_LIBRARY_PATH="$T/fake" "$ATTRIB" --db g.db run -q --model linear --out g2.csv
cmp -s g.csv g2.csv || fail "a SQLite run changed without libpq"
