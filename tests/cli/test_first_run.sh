# A first `attrib run` on a database that holds only the input tables (as a
# shop loads them, e.g. with the official schema) builds no index on the input
# tables: a full run does not use them, and building them sorts the whole input
# (several times the run's own read). The first ranged step (run, attribute or
# report with a date range) builds them, once, in a transaction of its own,
# and gives what a database initialised up front by `attrib init` gives.
. "$TOP/tests/cli/lib.sh"

idx() {
    q "$1" "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN
('attrib_session_sources_user', 'attrib_session_sources_date',
 'attrib_conversions_date', 'attrib_conversions_user')"
}

# Inputs only: attrib gen's database without attrib's tables and indexes.
expect_exit 0 "$ATTRIB" --db g.db gen -q -n 20000 --seed 5 --days 20
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
eq "$(q g.db "SELECT count(*) FROM sqlite_schema WHERE name = 'attrib_acj_session'")" "1" \
    "the attribution rows' session index after a full run"
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
echo ok
