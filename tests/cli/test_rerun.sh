# A run (full, or of a range) that would store exactly the attribution rows already stored
# rewrites nothing (src/lib/steps/unchanged.c); any difference, of a row, a
# value, a stale or missing row or phase rows, makes it rewrite them all, and
# the tables are then what a run on a fresh database writes.
. "$TOP/tests/cli/lib.sh"

acj() { q "$1" "SELECT conv_id, session_id, quote(ihc) FROM attribution_customer_journey ORDER BY 1, 2"; }
json() { sed -n "s/^  \"$1\": \([0-9]*\),*$/\1/p" "$2"; }

expect_exit 0 "$ATTRIB" --db g.db gen -q --sessions 30000 --seed 11 --days 20
cp g.db fresh.db
expect_exit 0 "$ATTRIB" --db g.db run -q --model linear --out a.csv --summary-json a.json
ref=$(acj g.db)
rows=$(json journey_sessions a.json)
[ "$rows" -gt 500 ] || fail "setup: only '$rows' journey sessions"
eq "$(json attribution_rows a.json)" "$rows" "rows written by the first run"
eq "$(json attribution_unchanged a.json)" 0 "rows unchanged in the first run"

# Every write to the table is counted by triggers.
q g.db "CREATE TABLE writes (n INTEGER);
CREATE TRIGGER w_del AFTER DELETE ON attribution_customer_journey BEGIN INSERT INTO writes VALUES (1); END;
CREATE TRIGGER w_ins AFTER INSERT ON attribution_customer_journey BEGIN INSERT INTO writes VALUES (1); END;" ||
    fail "setup: triggers"

# The rerun writes nothing and says so; CSV and table as before.
expect_exit 0 "$ATTRIB" --db g.db run --model linear --out b.csv --summary-json b.json
expect_err "$rows attribution rows unchanged \(not rewritten\)"
eq "$(json attribution_rows b.json)" 0 "rows written by the rerun"
eq "$(json attribution_unchanged b.json)" "$rows" "rows unchanged in the rerun"
eq "$(q g.db "SELECT count(*) FROM writes")" 0 "row writes of the rerun"
cmp -s a.csv b.csv || fail "the rerun's CSV differs"
eq "$(acj g.db)" "$ref" "rows after the rerun"

# The same rows stored in another order (a dump and restore, a table rebuilt
# by another tool): unchanged still. Here the first half comes in the order
# the run wrote it, the rest backwards, so the comparison in write order
# hands over to the lookup by key midway.
half=$((rows / 2))
last=$(q g.db "SELECT conv_id || session_id FROM attribution_customer_journey ORDER BY rowid DESC LIMIT 1")
q g.db "CREATE TABLE acj_copy AS SELECT * FROM attribution_customer_journey
    ORDER BY rowid > $half, CASE WHEN rowid <= $half THEN rowid ELSE -rowid END;
DELETE FROM attribution_customer_journey;
INSERT INTO attribution_customer_journey SELECT * FROM acj_copy ORDER BY rowid; DROP TABLE acj_copy;
DELETE FROM writes" || fail "setup: reordering the rows"
eq "$(q g.db "SELECT conv_id || session_id FROM attribution_customer_journey WHERE rowid = $((half + 1))")" \
    "$last" "setup: the last row written, now in the middle"
expect_exit 0 "$ATTRIB" --db g.db run -q --model linear --out r.csv --summary-json r.json
eq "$(json attribution_unchanged r.json)" "$rows" "rows unchanged, stored in another order"
eq "$(q g.db "SELECT count(*) FROM writes")" 0 "row writes of the rerun of reordered rows"
eq "$(acj g.db)" "$ref" "reordered rows after the rerun"

# Each difference makes the run rewrite every row, back to the reference.
rewrites() { # WHAT SQL-that-makes-the-difference
    q g.db "$2" || fail "setup: $1"
    q g.db "DELETE FROM writes"
    expect_exit 0 "$ATTRIB" --db g.db run -q --model linear --out c.csv --summary-json c.json
    eq "$(json attribution_rows c.json)" "$rows" "$1: rows written"
    eq "$(json attribution_unchanged c.json)" 0 "$1: rows unchanged"
    [ "$(q g.db "SELECT count(*) FROM writes")" -ge "$rows" ] || fail "$1: the rows were not rewritten"
    eq "$(acj g.db)" "$ref" "$1: rows after the run"
    cmp -s a.csv c.csv || fail "$1: the CSV differs"
}
rewrites "one ihc off by a few ulps" \
    "UPDATE attribution_customer_journey SET ihc = ihc * (1 + 4.5e-16) WHERE rowid = (SELECT max(rowid) FROM attribution_customer_journey)"
rewrites "one row missing" \
    "DELETE FROM attribution_customer_journey WHERE rowid = (SELECT min(rowid) FROM attribution_customer_journey)"
rewrites "a stale row of no conversion" \
    "INSERT INTO attribution_customer_journey VALUES ('no-such-conversion', 'no-such-session', 1.0)"
rewrites "an ihc that is text" \
    "UPDATE attribution_customer_journey SET ihc = 'not a number' WHERE rowid = (SELECT min(rowid) FROM attribution_customer_journey)"
rewrites "a row moved to another session" \
    "UPDATE attribution_customer_journey SET session_id = session_id || 'x' WHERE rowid = (SELECT min(rowid) FROM attribution_customer_journey)"
rewrites "phase rows (a rewrite deletes them)" \
    "INSERT INTO attrib_journey_phases SELECT conv_id, session_id, 0, 0, 0 FROM attribution_customer_journey LIMIT 1"
eq "$(q g.db "SELECT count(*) FROM attrib_journey_phases")" 0 "phase rows after the rewrite"

# Changed input: another model's credits are written, then the rerun of the
# first model writes them back.
expect_exit 0 "$ATTRIB" --db g.db run -q --model first --out d.csv --summary-json d.json
eq "$(json attribution_rows d.json)" "$rows" "rows written by another model"
[ "$(acj g.db)" != "$ref" ] || fail "setup: the first-touch rows equal the linear ones"
expect_exit 0 "$ATTRIB" --db g.db run -q --model linear --out e.csv --summary-json e.json
eq "$(json attribution_rows e.json)" "$rows" "rows written back"
eq "$(acj g.db)" "$ref" "rows written back"

# A new session in a converting user's journey changes the rows.
q g.db "INSERT INTO session_sources SELECT 'new-' || s.session_id, s.user_id, s.event_date, s.event_time,
    s.channel_name, s.holder_engagement, s.closer_engagement, s.impression_interaction
    FROM session_sources s JOIN attribution_customer_journey a ON a.session_id = s.session_id LIMIT 1" ||
    fail "setup: a new session"
expect_exit 0 "$ATTRIB" --db g.db run -q --model linear --out f.csv --summary-json f.json
eq "$(json attribution_rows f.json)" "$((rows + 1))" "rows written after a new session"
# ... to what a run writes on the same inputs without stored rows.
cp g.db fresh.db
q fresh.db "DELETE FROM attribution_customer_journey" || fail "setup: emptying the copy"
expect_exit 0 "$ATTRIB" --db fresh.db run -q --model linear --out fresh.csv --summary-json fresh.json
eq "$(json attribution_unchanged fresh.json)" 0 "rows unchanged on the emptied copy"
eq "$(acj g.db)" "$(acj fresh.db)" "rows after a new session"
cmp -s f.csv fresh.csv || fail "the CSV after a new session differs from the emptied copy's"

# A range run again (a retried day) rewrites nothing of it either: the stored
# rows of the range's conversions are compared, those of other days are not.
cr() { q "$1" "SELECT channel_name, date, quote(cost), quote(ihc), quote(ihc_revenue) FROM channel_reporting ORDER BY 1, 2"; }
ref=$(acj g.db)
cr_ref=$(cr g.db)
day=$(q g.db "SELECT max(conv_date) FROM conversions")
in_day="conv_id IN (SELECT conv_id FROM conversions WHERE conv_date = '$day')"
n_day=$(q g.db "SELECT count(*) FROM attribution_customer_journey WHERE $in_day")
[ "$n_day" -gt 10 ] || fail "setup: only '$n_day' rows of the last day"
q g.db "DELETE FROM writes"
expect_exit 0 "$ATTRIB" --db g.db run -q --model linear --start-date "$day" --end-date "$day" \
    --out r.csv --summary-json r.json
eq "$(json attribution_rows r.json)" 0 "rows written by the day's rerun"
eq "$(json attribution_unchanged r.json)" "$n_day" "rows unchanged in the day's rerun"
eq "$(q g.db "SELECT count(*) FROM writes")" 0 "row writes of the day's rerun"
eq "$(cr g.db)" "$cr_ref" "report after the day's rerun"
cp r.csv day.csv
# A changed row of another day is not the range's business.
q g.db "UPDATE attribution_customer_journey SET ihc = ihc * 2 WHERE rowid = (SELECT min(rowid)
    FROM attribution_customer_journey WHERE NOT $in_day)" || fail "setup: a row of another day"
expect_exit 0 "$ATTRIB" --db g.db run -q --model linear --start-date "$day" --end-date "$day" \
    --out r.csv --summary-json r.json
eq "$(json attribution_unchanged r.json)" "$n_day" "rows unchanged beside another day's change"
expect_exit 0 "$ATTRIB" --db g.db run -q --model linear --out r.csv # back to the reference
eq "$(acj g.db)" "$ref" "rows after the full run"
# A difference among the range's rows rewrites the range, back to the reference.
day_rewrites() { # WHAT SQL
    q g.db "$2" || fail "setup: $1"
    q g.db "DELETE FROM writes"
    expect_exit 0 "$ATTRIB" --db g.db run -q --model linear --start-date "$day" --end-date "$day" \
        --out r.csv --summary-json r.json
    eq "$(json attribution_rows r.json)" "$n_day" "$1: rows written"
    eq "$(json attribution_unchanged r.json)" 0 "$1: rows unchanged"
    [ "$(q g.db "SELECT count(*) FROM writes")" -ge "$n_day" ] || fail "$1: the rows were not rewritten"
    eq "$(acj g.db)" "$ref" "$1: rows after the run"
    eq "$(cr g.db)" "$cr_ref" "$1: report after the run"
    cmp -s r.csv day.csv || fail "$1: the CSV differs"
}
day_rewrites "a day's ihc off by a few ulps" \
    "UPDATE attribution_customer_journey SET ihc = ihc * (1 + 4.5e-16) WHERE rowid = (SELECT max(rowid)
    FROM attribution_customer_journey WHERE $in_day)"
day_rewrites "a stale row of a conversion of the day" \
    "INSERT INTO attribution_customer_journey SELECT conv_id, 'no-such-session', 1.0
    FROM conversions WHERE conv_date = '$day' LIMIT 1"
