# A first `attrib run` on a database that holds only the input tables (as a
# shop loads them, e.g. with the official schema) builds no index on the input
# tables: a full run does not use them, and building them sorts the whole input
# (several times the run's own read). The first ranged step (run, attribute or
# report with a date range) builds them, once, in a transaction of its own,
# and gives what a database initialised up front by `attrib init` gives.
# The attribution rows' session index is no input index but is left out the
# same way: a full run does not build it (and a full re-attribution drops it);
# a ranged report whose sessions probe it builds it (docs/pipeline.md, "report").
. "$TOP/tests/cli/lib.sh"

idx() {
    q "$1" "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN
('attrib_session_sources_user', 'attrib_session_sources_date',
 'attrib_conversions_date', 'attrib_conversions_user')"
}

# Inputs only: attrib gen's database without attrib's tables and indexes.
expect_exit 0 "$ATTRIB" --db g.db gen -q -n 20000 --seed 5 --days 100
sqlite3 -batch g.db "DROP INDEX attrib_session_sources_user; DROP INDEX attrib_session_sources_date;
DROP INDEX attrib_conversions_date; DROP INDEX attrib_conversions_user;
DROP TABLE attribution_customer_journey; DROP TABLE channel_reporting;
DROP TABLE attrib_journey_phases; DROP TABLE attrib_dirty_dates; DROP TABLE attrib_meta;
DROP TABLE attrib_report_sums; DROP TABLE attrib_dirty_keys;" || fail "dropping attrib's objects"
eq "$(q g.db "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'attrib%' OR name IN
('attribution_customer_journey', 'channel_reporting')")" "0" "attrib objects before the first run"
day=$(q g.db "SELECT max(conv_date) FROM conversions")
cp g.db up.db

# The oracle: initialised up front, then the same runs.
expect_exit 0 "$ATTRIB" --db up.db init -q
eq "$(idx up.db)" "4" "indexes after init"
expect_exit 0 "$ATTRIB" --db up.db run -q --out up-full.csv
expect_exit 0 "$ATTRIB" --db up.db run -q --start-date "$day" --end-date "$day" --out up-day.csv

expect_exit 0 "$ATTRIB" --db g.db run -q --out full.csv
eq "$(idx g.db)" "0" "input indexes after a full run"
acj_index() {
    q "$1" "SELECT count(*) FROM sqlite_schema WHERE name = 'attrib_acj_session'"
}
eq "$(acj_index g.db)" "0" "the attribution rows' session index after a full run"
cmp -s full.csv up-full.csv || fail "the first full run's CSV differs from an initialised database's"
cp g.db rep.db
expect_exit 0 "$ATTRIB" --db g.db run -v --start-date "$day" --end-date "$day" --out day.csv
eq "$(idx g.db)" "4" "input indexes after a ranged run"
cmp -s day.csv up-day.csv || fail "the ranged run's CSV differs from an initialised database's"
eq "$(dump_outputs g.db)" "$(dump_outputs up.db)" "tables after the ranged run"

# The ranged report step alone builds them too; a ranged run finding them
# builds nothing (the same objects, untouched).
expect_exit 0 "$ATTRIB" --db rep.db report -q --start-date "$day" --end-date "$day"
eq "$(idx rep.db)" "4" "input indexes after a ranged report"
before=$(q g.db "SELECT name, rootpage FROM sqlite_schema ORDER BY name")
expect_exit 0 "$ATTRIB" --db g.db run -q --start-date "$day" --end-date "$day" --out day2.csv
eq "$(q g.db "SELECT name, rootpage FROM sqlite_schema ORDER BY name")" "$before" "schema after a second ranged run"
cmp -s day2.csv day.csv || fail "the second ranged run's CSV differs"

# Built with the input indexes; a full re-attribution drops it again, and the
# last day's credit comes through its conversions: still no index after it.
eq "$(acj_index g.db)" "1" "the session index after the first ranged run"
sqlite3 -batch g.db "DELETE FROM attribution_customer_journey" || fail "emptying the attribution rows"
expect_exit 0 "$ATTRIB" --db g.db run -q --out full2.csv
cmp -s full2.csv full.csv || fail "the rewriting full run's CSV differs"
eq "$(acj_index g.db)" "0" "the session index after a rewriting full run"
expect_exit 0 "$ATTRIB" --db g.db run -q --start-date "$day" --end-date "$day" --out day3.csv
cmp -s day3.csv day.csv || fail "the third ranged run's CSV differs"
eq "$(acj_index g.db)" "0" "the session index after a ranged run of the last day"
# The first day is followed by more attribution rows than it has sessions: its
# sessions probe the index, which the report builds; its rows are a full
# report's, bit for bit.
first=$(q g.db "SELECT min(event_date) FROM session_sources")
cp g.db whole.db
expect_exit 0 "$ATTRIB" --db whole.db report -q
[ "$(q g.db "SELECT count(*) FROM attribution_customer_journey a JOIN conversions c USING (conv_id)
    WHERE c.conv_date >= '$first'")" -gt "$(q g.db "SELECT count(*) FROM session_sources
    WHERE event_date = '$first'")" ] || fail "setup: the first day has more sessions than rows follow it"
expect_exit 0 "$ATTRIB" --db g.db report -q --start-date "$first" --end-date "$first"
eq "$(acj_index g.db)" "1" "the session index after a ranged report of the first day"
eq "$(dump_outputs g.db)" "$(dump_outputs whole.db)" "tables after the first day's report"
echo ok
