# Bad input: a one-line message naming table, row, column and value; exit 3
# (data), 2 (usage) or 1 (runtime); nothing written.
. "$TOP/tests/cli/lib.sh"

# A database path that does not exist: exit 1 and no file created.
expect_exit 1 "$ATTRIB" --db missing.db run
expect_err 'missing.db does not exist'
[ ! -e missing.db ] || fail "a missing database was created"
expect_exit 1 "$ATTRIB" --db missing.db report
[ ! -e missing.db ] || fail "a missing database was created by report"

# Missing tables: named, pointing at attrib init.
sqlite3 empty.db "CREATE TABLE session_sources (x)" || fail "setup"
expect_exit 1 "$ATTRIB" --db empty.db run
expect_err 'missing tables conversions, session_costs'
expect_err 'attrib init'
expect_exit 1 "$ATTRIB" --db empty.db export
expect_err 'attribution_customer_journey'

# Usage errors: exit 2.
golden_db g.db
expect_exit 2 "$ATTRIB" --db g.db run --start-date 2023-09-07 --end-date 2023-09-01
expect_err 'after'
expect_exit 2 "$ATTRIB" --db g.db run --start-date 2023-9-1
expect_err "--start-date '2023-9-1' is not a date"
expect_exit 2 "$ATTRIB" --db g.db run --end-date 2023-02-30
expect_exit 2 "$ATTRIB" --db g.db run --no-such-option
expect_err "unknown option '--no-such-option'"
expect_exit 2 "$ATTRIB" --db g.db frobnicate
expect_exit 2 "$ATTRIB" --db g.db run --lookback-days many
expect_exit 2 "$ATTRIB" --db g.db run --model no-such-model
expect_exit 2 "$ATTRIB" --db g.db journeys --format xml

# Bad rows: exit 3, the row named, and nothing written.
expect_exit 0 "$ATTRIB" --db g.db run -q --model linear --out good.csv
before=$(dump_outputs g.db)
cp good.csv good0.csv
check_bad() { # SQL PATTERN
    cp g.db b.db
    q b.db "$1" || fail "setup: $1"
    expect_exit 3 "$ATTRIB" --db b.db run --model linear --out good.csv
    expect_err "$2"
    eq "$(dump_outputs b.db)" "$before" "tables after a rejected run ($1)"
    cmp -s good.csv good0.csv || fail "CSV changed by a rejected run"
    [ "$(wc -l <"$T/err")" -le 2 ] || fail "message is not one line"
}
check_bad "UPDATE session_sources SET event_date = '2023-13-01' WHERE session_id = 's3'" \
    "session_sources row session_id 's3': column event_date: value '2023-13-01' is not a date YYYY-MM-DD"
check_bad "UPDATE session_sources SET event_time = '25:00:00' WHERE session_id = 's1'" \
    "session_sources row session_id 's1': column event_time: value '25:00:00' is not a time"
check_bad "UPDATE session_sources SET holder_engagement = 2 WHERE session_id = 's2'" \
    "session_sources row session_id 's2': column holder_engagement: value 2 is not 0 or 1"
check_bad "UPDATE session_sources SET closer_engagement = 'yes' WHERE session_id = 's2'" \
    "column closer_engagement: value 'yes' is not 0 or 1"
check_bad "UPDATE conversions SET conv_date = '2023-09-31' WHERE conv_id = 'c2'" \
    "conversions row conv_id 'c2': column conv_date: value '2023-09-31'"
check_bad "UPDATE conversions SET revenue = 'lots' WHERE conv_id = 'c4'" \
    "column revenue: value 'lots' is not a number"
check_bad "UPDATE session_costs SET cost = 'free' WHERE session_id = 's1'" \
    "session_costs row session_id 's1': column cost: value 'free' is not a number"

# NULL ids are possible in tables made without NOT NULL (SQLite even allows a
# NULL text primary key): the row is named by its rowid.
sqlite3 lax.db "CREATE TABLE session_sources (session_id text PRIMARY KEY, user_id text,
  event_date text, event_time text, channel_name text, holder_engagement int,
  closer_engagement int, impression_interaction int);
CREATE TABLE conversions (conv_id text PRIMARY KEY, user_id text, conv_date text,
  conv_time text, revenue real);
CREATE TABLE session_costs (session_id text PRIMARY KEY, cost real);" || fail "setup lax.db"
expect_exit 0 "$ATTRIB" --db lax.db init -q
sqlite3 lax.db <"$TOP/tests/data/golden.sql" || fail "load lax.db"
q lax.db "INSERT INTO session_sources VALUES (NULL, 'u1', '2023-09-01', '10:00:00', 'X', 0, 0, 0)"
expect_exit 3 "$ATTRIB" --db lax.db run --model linear --out lax.csv
expect_err "session_sources row rowid 11: column session_id: value NULL"
[ ! -e lax.csv ] || fail "CSV written by a rejected run"
q lax.db "DELETE FROM session_sources WHERE session_id IS NULL; UPDATE conversions SET user_id = NULL WHERE conv_id = 'c4'"
expect_exit 3 "$ATTRIB" --db lax.db run --model linear --out lax.csv
expect_err "conversions row conv_id 'c4': column user_id: value NULL is not a user id"
# The library names the option skip_bad_rows; the CLI shows its flag.
expect_err "or rerun with --skip-bad-rows to skip it"
eq "$(q lax.db "SELECT count(*) FROM attribution_customer_journey")" "0" "nothing written"

# --skip-bad-rows: the bad row is skipped and counted, the rest is stored.
cp g.db sk.db
q sk.db "UPDATE session_sources SET holder_engagement = 7 WHERE session_id = 's7'"
expect_exit 0 "$ATTRIB" --db sk.db run --model linear --skip-bad-rows --out sk.csv --summary-json sk.json
expect_err '1 bad input rows were skipped'
grep -q '"bad_rows_skipped": 1' sk.json || fail "skipped row counted in the summary"
# s7 (cost 10) is gone from Paid Search 09-03, which keeps s3 (no cost).
eq "$(q sk.db "SELECT cost FROM channel_reporting WHERE channel_name = 'Paid Search' AND date = '2023-09-03'")" \
   "0.0" "cost without the skipped row"

# An unwritable output path: exit 1, the previous CSV intact, no temp files.
mkdir ro && cp good0.csv ro/r.csv && chmod 555 ro
if [ "$(id -u)" -ne 0 ]; then
    expect_exit 1 "$ATTRIB" --db g.db export --out ro/r.csv
    cmp -s ro/r.csv good0.csv || fail "previous CSV changed"
fi
expect_exit 1 "$ATTRIB" --db g.db export --out no-such-dir/r.csv
expect_err 'no-such-dir/r.csv'
# A directory in the way: refused before any work (exit 2, issue 18).
mkdir isdir
expect_exit 2 "$ATTRIB" --db g.db export --out isdir
[ -z "$(ls isdir)" ] || fail "temp file left behind"
[ -z "$(ls | grep '\.tmp\.')" ] || fail "temp file left behind"
chmod 755 ro
echo ok
