# The API result cache takes any conversion id as a value: quotes, a
# backslash, $1, the word real, '@' (the old code's hash placeholder) and
# "--" round-trip through attribute --engine ihc-api against attrib serve on
# SQLite and PostgreSQL: every result is stored under the id it was sent
# with, so a second run finds them all and sends nothing. PostgreSQL as in
# test_api_pg.sh ($ATTRIB_PG_URI, else a throwaway cluster; without one the
# PostgreSQL half says SKIPPED, and fails under CI=true).
. "$TOP/tests/cli/lib.sh"
command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3"; exit 0; }

own=""
spid=""
cleanup() {
    [ -n "$spid" ] && kill -TERM "$spid" 2>/dev/null
    if [ -n "${S:-}" ] && [ -n "${ATTRIB_PG_URI:-}" ]; then
        "${ATTRIB_PG_BIN:+$ATTRIB_PG_BIN/}psql" "$ATTRIB_PG_URI" -qAt \
            -c "DROP SCHEMA IF EXISTS \"$S\" CASCADE" >/dev/null 2>&1
    fi
    [ -n "$own" ] && sh "$TOP/tests/pg/pg_stop.sh" "$own"
    rm -rf "$T"
}
trap cleanup EXIT

# every conversion id gets this suffix (SQL literal: quotes doubled)
SUFFIX_SQL=" o''k\\ real \$1 ''@'' -- x"
SUFFIX=" o'k\\ real \$1 '@' -- x"

expect_exit 0 "$ATTRIB" gen --db x.db --sessions 3000
q x.db "UPDATE conversions SET conv_id = conv_id || '$SUFFIX_SQL'"
eq "$(q x.db "SELECT count(*) FROM conversions WHERE conv_id NOT LIKE '%' || '$SUFFIX_SQL'")" 0 \
    "suffix set"

"$ATTRIB" serve --model linear --no-auth --port 0 --max-sessions-per-request 200 >s.out 2>s.err &
spid=$!
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    grep -q listening s.out 2>/dev/null && break
    sleep 0.1
done
url=$(sed -n 's/^listening on //p' s.out)
[ -n "$url" ] || fail "serve did not start"
api() { # DB
    IHC_API_KEY=quote-test-key "$ATTRIB" attribute --db "$1" --model linear --engine ihc-api \
        --conv-type-id "q'uote\\ real \$1" --api-url "$url" --max-sessions-per-request 200 \
        --max-journeys-per-request 7
}

# SQLite: the cache holds exactly the ids of the conversions, and a rerun sends nothing
expect_exit 0 api x.db
grep -q " 0 conversions have a stored result" "$T/err" || fail "first run: $(cat "$T/err")"
n=$(q x.db "SELECT count(DISTINCT conv_id) FROM attrib_api_results")
[ "$n" -gt 0 ] || fail "no results stored"
eq "$(q x.db "SELECT count(*) FROM attrib_api_results WHERE conv_id NOT IN
    (SELECT conv_id FROM conversions)")" 0 "results under an id that is not a conversion"
eq "$(q x.db "SELECT count(*) FROM attrib_api_batches WHERE status <> 'ok'")" 0 "batches not ok"
eq "$(q x.db "SELECT count(*) FROM attrib_api_batches WHERE conversions NOT LIKE
    '%' || '$SUFFIX_SQL' || '%'")" 0 "manifest conversions"
eq "$(q x.db "SELECT DISTINCT conv_type_id FROM attrib_api_results")" "q'uote\\ real \$1" \
    "conv_type_id"
expect_exit 0 api x.db
grep -q " 0 to send" "$T/err" || fail "SQLite rerun sent again: $(cat "$T/err")"
eq "$(q x.db "SELECT count(DISTINCT conv_id) FROM attribution_customer_journey")" "$n" \
    "attributed conversions"
expect_exit 0 "$ATTRIB" export --db x.db -o sqlite.csv

# PostgreSQL: the same, through the same ids
pg_server "${ATTRIB_PG_PORT3:-55492}" "the PostgreSQL half of the quoting test"
S="quote$$_$(date +%s)"
PG="$ATTRIB_PG_URI?schema=$S"
psqlq() {
    "${ATTRIB_PG_BIN:+$ATTRIB_PG_BIN/}psql" "$ATTRIB_PG_URI" -qAt \
        -c "SET search_path TO \"$S\"" -c "$1"
}
q x.db "DROP TABLE attrib_api_results; DROP TABLE attrib_api_batches; DROP TABLE attrib_api_failures"
expect_exit 0 "$ATTRIB" copy --from x.db --to "$PG"
expect_exit 0 api "$PG"
grep -q " 0 conversions have a stored result" "$T/err" || fail "PostgreSQL first run: $(cat "$T/err")"
eq "$(psqlq "SELECT count(DISTINCT conv_id) FROM attrib_api_results")" "$n" "PostgreSQL results"
eq "$(psqlq "SELECT count(*) FROM attrib_api_results WHERE conv_id NOT IN
    (SELECT conv_id FROM conversions)")" 0 "PostgreSQL results under a wrong id"
expect_exit 0 api "$PG"
grep -q " 0 to send" "$T/err" || fail "PostgreSQL rerun sent again: $(cat "$T/err")"
expect_exit 0 "$ATTRIB" export --db "$PG" -o pg.csv
cmp -s sqlite.csv pg.csv || fail "SQLite and PostgreSQL attribution differ"
exit 0
