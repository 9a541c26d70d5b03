# The full scan joins session_costs band by band when both tables are stored
# in event order (src/lib/store/sqlite_band.c): cost rows outside their
# session's band are delivered late, and a table in any other order takes
# the hash join. Each case checks the report's costs against SQL's own LEFT
# JOIN sums, and against the same rows with session_costs shuffled (the hash
# join), on one and on two threads (150k sessions: two parts).
. "$TOP/tests/cli/lib.sh"

expect_exit 0 "$ATTRIB" --db t.db gen -q --sessions 150000 --seed 21 --days 10 \
    --start-date 2024-05-01

report() { q "$1" "SELECT * FROM channel_reporting ORDER BY 1, 2"; }

# variant NAME SQL: a copy of t.db whose session_costs SQL rewrote (the rows
# kept in c, reinserted in rowid order of c).
variant() {
    cp t.db "$1.db"
    sqlite3 -batch "$1.db" "CREATE TEMP TABLE c AS SELECT * FROM session_costs WHERE 0;
        $2
        DELETE FROM session_costs; INSERT INTO session_costs SELECT * FROM temp.c ORDER BY rowid;" ||
        fail "$1: rewrite session_costs"
}

# shuffled NAME: NAME.db with session_costs in random order (the hash join).
shuffled() {
    cp "$1.db" "$1-h.db"
    sqlite3 -batch "$1-h.db" "CREATE TEMP TABLE c AS SELECT * FROM session_costs ORDER BY random();
        DELETE FROM session_costs; INSERT INTO session_costs SELECT * FROM temp.c;" ||
        fail "$1: shuffle"
}

check() { # NAME WHAT
    shuffled "$1"
    for threads in 1 2; do
        for db in "$1.db" "$1-h.db"; do
            expect_exit 0 "$ATTRIB" --db "$db" run -q --threads "$threads" --out "$db.csv"
            eq "$(costs_report "$db")" "$(costs_sql "$db")" "$2 ($db, $threads threads): costs"
        done
        eq "$(report "$1.db")" "$(report "$1-h.db")" "$2 ($threads threads): the hash join's report"
        cmp -s "$1.db.csv" "$1-h.db.csv" || fail "$2 ($threads threads): the CSV differs"
    done
}

check t "event order"
eq "$(report t.db)" "$(report t-h.db)" "event order: the report"

# Cost rows shuffled within blocks of 40 rows: most in their band, those at a
# band's edges in the next or the one before (delivered late).
variant block "INSERT INTO temp.c SELECT * FROM session_costs ORDER BY rowid / 40, random();"
check block "blocks of 40"
eq "$(report block.db)" "$(report t.db)" "blocks of 40: the report of the event order"

# Cost rows in order from day to day, sorted by id within a day (a daily
# load): the sample of near sessions sees it, the hash join.
variant daily "INSERT INTO temp.c SELECT c.* FROM session_costs c JOIN session_sources s
    USING (session_id) ORDER BY s.event_date, c.session_id;"
check daily "a daily load sorted by id"

# Cost rows of one day moved to the end, others deleted, NULL and integer
# costs, a cost row of no session.
variant far "
    INSERT INTO temp.c SELECT c.* FROM session_costs c JOIN session_sources s USING (session_id)
        WHERE s.event_date <> '2024-05-04' ORDER BY c.rowid;
    INSERT INTO temp.c SELECT c.* FROM session_costs c JOIN session_sources s USING (session_id)
        WHERE s.event_date = '2024-05-04' ORDER BY c.rowid;
    DELETE FROM temp.c WHERE session_id IN (SELECT session_id FROM session_sources
        WHERE event_date = '2024-05-07' ORDER BY session_id LIMIT 500);
    UPDATE temp.c SET cost = NULL WHERE rowid % 97 = 0;
    UPDATE temp.c SET cost = 2 WHERE rowid % 89 = 0;
    INSERT INTO temp.c VALUES ('no such session', 1e9);"
check far "a day's cost rows at the end"

# Cost rows in the reverse order of the sessions: not rising, the hash join.
variant desc "INSERT INTO temp.c SELECT * FROM session_costs ORDER BY rowid DESC;"
check desc "reverse order"
eq "$(report desc.db)" "$(report t.db)" "reverse order: the report of the event order"

# A cost the run refuses, on a row delivered late (at the end) and on a row
# in its band: the same error and, skipping bad rows, the same report as the
# hash join (the session is skipped, not kept without its cost).
for bad in "'abc'" 1e16; do
    for at in end band; do
        name=bad-$at
        if [ "$at" = end ]; then
            variant "$name" "INSERT INTO temp.c SELECT * FROM session_costs WHERE rowid <> 70000
                ORDER BY rowid; INSERT INTO temp.c SELECT session_id, $bad FROM session_costs
                WHERE rowid = 70000;"
        else
            variant "$name" "INSERT INTO temp.c SELECT * FROM session_costs ORDER BY rowid;
                UPDATE temp.c SET cost = $bad WHERE rowid = 70000;"
        fi
        shuffled "$name"
        "$ATTRIB" --db "$name.db" run -q --out b.csv >/dev/null 2>b.err
        rc_band=$?
        "$ATTRIB" --db "$name-h.db" run -q --out h.csv >/dev/null 2>h.err
        rc_hash=$?
        [ "$rc_band" -ne 0 ] || fail "$bad at $at: the run did not refuse the cost"
        eq "$rc_band" "$rc_hash" "$bad at $at: exit status"
        grep -q "session_costs" b.err || fail "$bad at $at: the message names no session_costs row"
        eq "$(sed 's/row [0-9]*//' b.err)" "$(sed 's/row [0-9]*//' h.err)" "$bad at $at: the message"
        expect_exit 0 "$ATTRIB" --db "$name.db" run -q --skip-bad-rows --out b.csv
        expect_exit 0 "$ATTRIB" --db "$name-h.db" run -q --skip-bad-rows --out h.csv
        eq "$(report "$name.db")" "$(report "$name-h.db")" "$bad at $at, skipped: the report"
        cmp -s b.csv h.csv || fail "$bad at $at, skipped: the CSV differs"
    done
done
exit 0
