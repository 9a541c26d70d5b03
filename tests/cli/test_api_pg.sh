# --engine ihc-api on a PostgreSQL store: the API result cache lives in the
# same database, so a second run sends nothing and the rows are the same as
# on SQLite. Server as in test_pg.sh ($ATTRIB_PG_URI, else a throwaway
# cluster; without one it says SKIPPED, and fails under CI=true).
. "$TOP/tests/cli/lib.sh"

own=""
spid=""
cleanup() {
    [ -n "$spid" ] && kill -TERM "$spid" 2>/dev/null
    if [ -n "${S:-}" ] && [ -n "${ATTRIB_PG_URI:-}" ]; then # drop this run's schema
        "${ATTRIB_PG_BIN:+$ATTRIB_PG_BIN/}psql" "$ATTRIB_PG_URI" -qAt \
            -c "DROP SCHEMA IF EXISTS \"$S\" CASCADE" >/dev/null 2>&1
    fi
    [ -n "$own" ] && sh "$TOP/tests/pg/pg_stop.sh" "$own"
    rm -rf "$T"
}
trap cleanup EXIT
pg_server "${ATTRIB_PG_PORT2:-55482}" "the ihc-api PostgreSQL test"
S="api$$_$(date +%s)"
PG="$ATTRIB_PG_URI?schema=$S"

expect_exit 0 "$ATTRIB" gen --db x.db --sessions 20000
expect_exit 0 "$ATTRIB" copy --from x.db --to "$PG"
"$ATTRIB" serve --model linear --no-auth --port 0 --max-sessions-per-request 200 >s.out 2>s.err &
spid=$!
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    grep -q listening s.out 2>/dev/null && break
    sleep 0.1
done
url=$(sed -n 's/^listening on //p' s.out)
[ -n "$url" ] || fail "serve did not start"
api() { # DB
    IHC_API_KEY=pg-test-key "$ATTRIB" attribute --db "$1" --model linear --engine ihc-api \
        --conv-type-id pg_test --api-url "$url" --max-sessions-per-request 200
}
expect_exit 0 api "$PG"
grep -q "0 conversions have a stored result" "$T/err" || fail "first run: $(cat "$T/err")"
expect_exit 0 api "$PG"
grep -q " 0 to send" "$T/err" || fail "second run sent again: $(cat "$T/err")"
expect_exit 0 api x.db
expect_exit 0 "$ATTRIB" export --db x.db -o sqlite.csv
expect_exit 0 "$ATTRIB" report --db "$PG"
expect_exit 0 "$ATTRIB" export --db "$PG" -o pg.csv
expect_exit 0 "$ATTRIB" report --db x.db
expect_exit 0 "$ATTRIB" export --db x.db -o sqlite.csv
cmp -s sqlite.csv pg.csv || fail "SQLite and PostgreSQL reports differ"
exit 0
