# A full scan split over threads (one SQLite connection per slice) gives the
# same tables and bytes as one thread: with costs merged in id order, with
# tables stored in random order (join path, out-of-order lookups), with a
# model that keeps every path (channel renumbering of the slices), and the
# same first bad row when several slices hold bad rows.
. "$TOP/tests/cli/lib.sh"

# ~300k sessions: enough rowids for four slices of the minimum size.
expect_exit 0 "$ATTRIB" --db p.db gen -q --sessions 300000 --seed 7 --days 20
n=$(q p.db "SELECT count(*) FROM session_sources")
[ "$n" -gt 262144 ] || fail "gen made $n sessions, fewer than four slices need"

outputs() { # DB THREADS [run options...]: run, print tables and CSV
    db=$1 th=$2
    shift 2
    expect_exit 0 "$ATTRIB" --db "$db" run -q --threads "$th" --out "out-$th.csv" "$@"
    dump_outputs "$db"
    cat "out-$th.csv"
}

for model in ihc markov; do
    ref=$(outputs p.db 1 --model $model)
    for th in 2 4; do
        eq "$(outputs p.db $th --model $model)" "$ref" "$model with $th threads vs 1"
    done
done
ref=$(outputs p.db 1)
# Phase rows of the local engine only with --phases (then one per row).
eq "$(q p.db "SELECT count(*) FROM attrib_journey_phases")" 0 "phase rows without --phases"
expect_exit 0 "$ATTRIB" --db p.db attribute -q --phases
eq "$(q p.db "SELECT count(*) FROM attrib_journey_phases")" \
    "$(q p.db "SELECT count(*) FROM attribution_customer_journey")" "phase rows with --phases"
eq "$(q p.db "SELECT count(*) FROM attrib_journey_phases p JOIN attribution_customer_journey a
    USING (conv_id, session_id) WHERE p.initializer + p.holder + p.closer > 0")" \
    "$(q p.db "SELECT count(*) FROM attribution_customer_journey")" "phase rows match"
# A full re-attribution drops the session index of the attribution rows and
# leaves it to the first ranged report that probes it (test_first_run.sh).
eq "$(q p.db "SELECT count(*) FROM sqlite_schema WHERE name = 'attrib_acj_session'")" 0 \
    "attrib_acj_session after a full run"

# The same rows stored in random order: costs not in id order (no merge), and
# sessions out of id order in every slice.
rm -f r.db
expect_exit 0 "$ATTRIB" --db r.db init -q
sqlite3 -batch r.db "ATTACH 'p.db' AS p;
INSERT INTO session_sources SELECT * FROM p.session_sources ORDER BY random();
INSERT INTO conversions SELECT * FROM p.conversions ORDER BY random();
INSERT INTO session_costs SELECT * FROM p.session_costs ORDER BY random();" || fail "shuffle"
for th in 1 2; do
    eq "$(outputs r.db $th)" "$ref" "shuffled tables with $th threads vs sorted with 1"
done
# Every cost row counted once, sessions without one count 0: the report's
# costs are SQL's own join sums.
eq "$(costs_report r.db)" "$(costs_sql r.db)" "report costs are the join's sums"
# A cost row of no session is ignored; a session_costs without a key holding
# one id twice is joined as SQL joins it (the session counted once per row).
rm -f d.db
expect_exit 0 "$ATTRIB" --db d.db init -q
sqlite3 -batch d.db "DROP TABLE session_costs; CREATE TABLE session_costs (session_id text, cost real);
ATTACH 'r.db' AS r;
INSERT INTO session_sources SELECT * FROM r.session_sources;
INSERT INTO conversions SELECT * FROM r.conversions;
INSERT INTO session_costs SELECT * FROM r.session_costs;
INSERT INTO session_costs VALUES ('no such session', 1e9);
INSERT INTO session_costs SELECT c.session_id, 0.5 FROM session_costs c JOIN session_sources s
    USING (session_id) WHERE s.user_id NOT IN (SELECT user_id FROM conversions) LIMIT 1;" ||
    fail "costs without a key"
for th in 1 2; do
    expect_exit 0 "$ATTRIB" --db d.db run -q --threads "$th" --out "d-$th.csv"
    eq "$(costs_report d.db)" "$(costs_sql d.db)" "duplicate and orphan cost rows, $th threads"
done
cmp -s d-1.csv d-2.csv || fail "duplicate cost rows: 2 threads differ from 1"

# Costs in id order but for one row moved to the end: the order breaks only
# where the last slice verifies it, after rows went out; the scan must start
# again as joins (and one thread's check must see it too).
rm -f e.db
cp p.db e.db
x=$(q e.db "SELECT min(session_id) FROM session_costs")
sqlite3 -batch e.db "CREATE TEMP TABLE m AS SELECT * FROM session_costs WHERE session_id = '$x';
DELETE FROM session_costs WHERE session_id = '$x';
INSERT INTO session_costs SELECT * FROM temp.m;" || fail "move a cost row"
eq "$(q e.db "SELECT session_id FROM session_costs ORDER BY rowid DESC LIMIT 1")" "$x" "moved row"
for th in 2 1; do
    eq "$(outputs e.db $th)" "$ref" "one cost row out of order, $th threads"
done

# Sessions in descending id order, costs sorted, and no cost row for the
# first session of the second slice: each slice's merge must look up every
# session below its first id (the cost cursor starts above them).
rm -f m.db
expect_exit 0 "$ATTRIB" --db m.db init -q
sqlite3 -batch m.db "ATTACH 'p.db' AS p;
INSERT INTO session_sources SELECT * FROM p.session_sources ORDER BY session_id DESC;
INSERT INTO conversions SELECT * FROM p.conversions;
INSERT INTO session_costs SELECT * FROM p.session_costs ORDER BY session_id;" || fail "copy"
b=$((1 + n / 2))
sqlite3 -batch m.db "DELETE FROM session_costs WHERE session_id =
    (SELECT session_id FROM session_sources WHERE rowid = $b)" || fail "delete"
ref_m=$(outputs m.db 1)
eq "$(outputs m.db 2)" "$ref_m" "descending sessions, sorted costs, 2 threads vs 1"
eq "$(q m.db "SELECT count(*) FROM session_costs c JOIN session_sources s USING (session_id)
    WHERE s.rowid = $b")" 0 "cost row of the second slice's first session"

# Bad rows in two slices: the first in scan order is reported, whatever the
# thread count; with --skip-bad-rows both are counted.
hi=$(q p.db "SELECT max(rowid) FROM session_sources")
late=$((hi - 100))
early=$((hi * 3 / 5))
sqlite3 -batch p.db "UPDATE session_sources SET event_time = '25:00:00' WHERE rowid IN ($early, $late)" ||
    fail "update"
bad=$(q p.db "SELECT session_id FROM session_sources WHERE rowid = $early")
for th in 1 2 4; do
    expect_exit 3 "$ATTRIB" --db p.db run --threads "$th" --out bad.csv
    expect_err "$bad"
    grep -v '^attrib: [0-9.]* s' "$T/err" >"msg-$th"
    [ "$th" = 1 ] || cmp -s msg-1 "msg-$th" || fail "error with $th threads differs: $(cat "msg-$th")"
    expect_exit 0 "$ATTRIB" --db p.db run --threads "$th" --skip-bad-rows --out bad.csv \
        --summary-json "sum-$th.json"
    grep -Eq '"bad_rows_skipped": *2' "sum-$th.json" || fail "skipped rows with $th threads: $(cat "sum-$th.json")"
done
[ ! -e bad.csv ] || [ -s bad.csv ] || fail "empty CSV left behind"
echo "ok"
