# Hostile input rows (issue 18): embedded NUL, invalid UTF-8, absurd amounts
# and duplicate ids are named at their input row with exit 3 and nothing
# written; --skip-bad-rows skips bad values (NUL, UTF-8, range) but never
# duplicates (which of two rows is right cannot be known).
. "$TOP/tests/cli/lib.sh"

golden_db g.db
expect_exit 0 "$ATTRIB" --db g.db run -q --model linear --out good.csv
before=$(dump_outputs g.db)
cp good.csv good0.csv
rejected() { # DB PATTERN: exit 3 naming the row, tables and CSV untouched
    expect_exit 3 "$ATTRIB" --db "$1" run --model linear --out good.csv
    expect_err "$2"
    eq "$(dump_outputs "$1")" "$before" "tables after a rejected run"
    cmp -s good.csv good0.csv || fail "CSV changed by a rejected run"
    [ "$(wc -l <"$T/err")" -le 2 ] || fail "message is not one line"
}

# Defect 7: a channel 'A\0B' must not become 'A' (and merge with channel A).
cp g.db nul.db
q nul.db "UPDATE session_sources SET channel_name = CAST(X'50616964005365617263' AS TEXT) WHERE session_id = 's3'"
rejected nul.db "session_sources row session_id 's3': column channel_name: value 'Paid\\\\x00Searc' is not a channel name"
cp g.db nulid.db
q nulid.db "UPDATE conversions SET conv_id = CAST(X'630078' AS TEXT) WHERE conv_id = 'c2'"
rejected nulid.db "conversions row .*column conv_id: value 'c\\\\x00x' is not a conversion id"
# Skipped with --skip-bad-rows: the row is left out, counted, and the run goes on.
expect_exit 0 "$ATTRIB" --db nul.db run --model linear --skip-bad-rows --out skip.csv
expect_err '1 bad input rows were skipped'
grep -q 'Paid' skip.csv || fail "the other Paid Search rows are gone"
[ "$(q nul.db "SELECT count(*) FROM attribution_customer_journey WHERE session_id = 's3'")" = 0 ] ||
    fail "the NUL row was attributed"

# Defect 13: invalid UTF-8 in a channel name: exit 3 naming the row, bytes shown escaped.
cp g.db utf.db
q utf.db "UPDATE session_sources SET channel_name = CAST(X'4361666580' AS TEXT) WHERE session_id = 's1'"
rejected utf.db "session_sources row session_id 's1': column channel_name: value 'Cafe\\\\x80' is not a channel name \\(UTF-8"
# Valid UTF-8 is kept as it is, in the CSV and in JSON.
cp g.db utf8ok.db
q utf8ok.db "UPDATE session_sources SET channel_name = 'Café ☕' WHERE session_id = 's1'"
expect_exit 0 "$ATTRIB" --db utf8ok.db run -q --model linear --out utf.csv
grep -q 'Café ☕' utf.csv || fail "a UTF-8 channel name was changed"
expect_exit 0 "$ATTRIB" --db utf8ok.db journeys --format jsonl --out j.jsonl
python3 -c "import json,sys; [json.loads(l) for l in open('j.jsonl', encoding='utf-8')]" ||
    fail "journeys JSON is not valid UTF-8 JSON"

# Defect 9: 1e308 is named at its input row, not at a channel_reporting row.
cp g.db big.db
q big.db "UPDATE conversions SET revenue = 1e308 WHERE conv_id = 'c1'"
rejected big.db "conversions row conv_id 'c1': column revenue: value 1e\\+308 is not a number below 1.1e15"
cp g.db bigc.db
q bigc.db "UPDATE session_costs SET cost = -2e15 WHERE session_id = 's4'"
rejected bigc.db "session_costs row session_id 's4': column cost: value -2(e\\+15|000000000000000) is not a number below 1.1e15"
# A ranged run reads the costs of its own dates only: a bad cost on an earlier
# session of a journey in the range (s5, 2023-08-20, of c4) does not stop it,
# and the journey keeps the session; a full run names the row.
cp g.db oldc.db
q oldc.db "UPDATE session_costs SET cost = 'abc' WHERE session_id = 's5'"
expect_exit 0 "$ATTRIB" --db oldc.db run -q --model linear --start-date 2023-09-06 \
    --end-date 2023-09-06 --out oldc.csv
[ "$(q oldc.db "SELECT count(*) FROM attribution_customer_journey WHERE conv_id = 'c4'")" = 3 ] ||
    fail "the ranged run lost a session of c4's journey"
eq "$(cat oldc.csv)" "$(head -n 1 good.csv; grep ',2023-09-06,' good.csv)" "ranged CSV with a bad old cost"
expect_exit 3 "$ATTRIB" --db oldc.db run --model linear --out oldc.csv
expect_err "session_costs row session_id 's5': column cost: value 'abc' is not a number"
expect_exit 0 "$ATTRIB" --db big.db run --model linear --skip-bad-rows --out big.csv
expect_err '1 bad input rows were skipped'
[ "$(q big.db "SELECT count(*) FROM attribution_customer_journey WHERE conv_id = 'c1'")" = 0 ] ||
    fail "the 1e308 conversion was attributed"

# Defects 4 and 5: duplicate ids in tables made without their primary keys.
sqlite3 lax.db "CREATE TABLE session_sources (session_id text, user_id text, event_date text,
  event_time text, channel_name text, holder_engagement int, closer_engagement int,
  impression_interaction int);
CREATE TABLE conversions (conv_id text, user_id text, conv_date text, conv_time text, revenue real);
CREATE TABLE session_costs (session_id text PRIMARY KEY, cost real);" || fail "setup lax.db"
expect_exit 0 "$ATTRIB" --db lax.db init -q
sqlite3 lax.db <"$TOP/tests/data/golden.sql" || fail "load lax.db"
expect_exit 0 "$ATTRIB" --db lax.db run -q --model linear --out good.csv
before=$(dump_outputs lax.db)
cp good.csv good0.csv
cp lax.db dup.db
q dup.db "INSERT INTO session_sources VALUES ('s1', 'u9', '2023-09-01', '10:00:00', 'Paid Search', 1, 0, 0)"
rejected dup.db "session_sources row session_id 's1': the session appears 2 times, with user_id 'u1' and 'u9'; session_id must be unique"
expect_exit 3 "$ATTRIB" --db dup.db run --model linear --skip-bad-rows --out good.csv
expect_err 'does not skip duplicates'
# A full run finds them by the hashes of the ids its scan reads (journey/ids.h),
# a ranged run or a shard by the table's GROUP BY: the same message.
expect_exit 3 "$ATTRIB" --db dup.db run --model linear --start-date 2023-09-02 --out good.csv
expect_err "session_sources row session_id 's1': the session appears 2 times"
expect_exit 3 "$ATTRIB" --db dup.db attribute --model linear --shard 1/2
expect_err "session_sources row session_id 's1': the session appears 2 times"
# A duplicate among the sessions of users with no conversion, far from the others.
cp lax.db dup2.db
q dup2.db "INSERT INTO session_sources VALUES ('x1', 'u77', '2023-08-01', '10:00:00', 'Direct', 0, 0, 0);
INSERT INTO session_sources VALUES ('x1', 'u78', '2023-08-05', '11:00:00', 'Direct', 0, 0, 0)"
rejected dup2.db "session_sources row session_id 'x1': the session appears 2 times, with user_id 'u77' and 'u78'"
cp lax.db dupc.db
q dupc.db "INSERT INTO conversions VALUES ('c1', 'u1', '2023-09-02', '09:00:00', 100.0)"
rejected dupc.db "conversions row conv_id 'c1': the conversion appears 2 times \\(user_id 'u1'\\); conv_id must be unique"
expect_exit 3 "$ATTRIB" --db dupc.db run --model linear --end-date 2023-09-30 --out good.csv
expect_err "conversions row conv_id 'c1': the conversion appears 2 times"
expect_exit 3 "$ATTRIB" --db dupc.db journeys --out j.json
expect_err "conversions row conv_id 'c1'"
echo ok
