# A ranged run joins the costs of its sessions by rowid windows of
# session_costs (src/lib/store/sqlite_window.c) where that table has a unique
# id: exact whatever the order of the cost rows. Each case checks the report
# costs of a ranged run against SQL's own LEFT JOIN sums, and the report of
# the whole run against a full run's (the hashed join).
. "$TOP/tests/cli/lib.sh"

expect_exit 0 "$ATTRIB" --db w.db gen -q --sessions 60000 --seed 11 --days 12 --start-date 2024-03-01
# Sessions of the last days without cost rows, with NULL and integer costs;
# cost rows of a day moved far from the others (new rowids at the end); a
# cost row of no session.
sqlite3 -batch w.db "
DELETE FROM session_costs WHERE session_id IN (SELECT session_id FROM session_sources
    WHERE event_date >= '2024-03-10' ORDER BY session_id LIMIT 300);
UPDATE session_costs SET cost = NULL WHERE session_id IN (SELECT session_id FROM session_sources
    WHERE event_date = '2024-03-11' ORDER BY session_id LIMIT 40 OFFSET 500);
UPDATE session_costs SET cost = 3 WHERE session_id IN (SELECT session_id FROM session_sources
    WHERE event_date = '2024-03-11' ORDER BY session_id LIMIT 40 OFFSET 700);
CREATE TEMP TABLE m AS SELECT c.* FROM session_costs c JOIN session_sources s USING (session_id)
    WHERE s.event_date = '2024-03-11' ORDER BY s.session_id LIMIT 200 OFFSET 900;
DELETE FROM session_costs WHERE session_id IN (SELECT session_id FROM temp.m);
INSERT INTO session_costs SELECT * FROM temp.m;
INSERT INTO session_costs VALUES ('no such session', 1e9);" || fail "reshape costs"

report() { q "$1" "SELECT * FROM channel_reporting ORDER BY 1, 2"; }

check_db() { # DB WHAT: full run, then ranged runs, each against SQL and the full report
    db=$1 what=$2
    expect_exit 0 "$ATTRIB" --db "$db" run -q --out full.csv
    eq "$(costs_report "$db")" "$(costs_sql "$db")" "$what: full run costs"
    full=$(report "$db")
    for range in "2024-03-11 2024-03-11" "2024-03-09 2024-03-12" "2024-03-01 2024-03-02"; do
        set -- $range
        expect_exit 0 "$ATTRIB" --db "$db" run -q --start-date "$1" --end-date "$2" --out day.csv
        eq "$(costs_report "$db" "WHERE date BETWEEN '$1' AND '$2'")" \
            "$(costs_sql "$db" "WHERE s.event_date BETWEEN '$1' AND '$2'")" "$what: costs of $1..$2"
        eq "$(report "$db")" "$full" "$what: report after the run of $1..$2"
    done
}

check_db w.db "time order"

# The same rows shuffled: windows are wide, every session looked up.
expect_exit 0 "$ATTRIB" --db s.db init -q
sqlite3 -batch s.db "ATTACH 'w.db' AS w;
INSERT INTO session_sources SELECT * FROM w.session_sources ORDER BY random();
INSERT INTO conversions SELECT * FROM w.conversions ORDER BY random();
INSERT INTO session_costs SELECT * FROM w.session_costs ORDER BY random();" || fail "shuffle"
check_db s.db "shuffled"
eq "$(report s.db)" "$(report w.db)" "shuffled report equals the time-ordered one"

# No unique id in session_costs (a duplicated id counts twice, as SQL joins
# it): the ranged scan joins in SQL, with the same sums.
expect_exit 0 "$ATTRIB" --db k.db init -q
sqlite3 -batch k.db "DROP TABLE session_costs; CREATE TABLE session_costs (session_id text, cost real);
ATTACH 'w.db' AS w;
INSERT INTO session_sources SELECT * FROM w.session_sources;
INSERT INTO conversions SELECT * FROM w.conversions;
INSERT INTO session_costs SELECT * FROM w.session_costs;
INSERT INTO session_costs SELECT c.session_id, 0.25 FROM session_costs c JOIN session_sources s
    USING (session_id) WHERE s.event_date = '2024-03-11' LIMIT 3;" || fail "keyless costs"
check_db k.db "keyless session_costs"

# Keys as unique indexes built after a load into tables without inline keys
# (bench/run.sh makes its 100M dataset so): the windows hold, the same report.
sqlite3 -batch u.db "ATTACH 'w.db' AS w;
CREATE TABLE session_sources AS SELECT * FROM w.session_sources ORDER BY rowid;
CREATE TABLE conversions AS SELECT * FROM w.conversions ORDER BY rowid;
CREATE TABLE session_costs AS SELECT * FROM w.session_costs ORDER BY rowid;
CREATE UNIQUE INDEX session_sources_key ON session_sources (session_id);
CREATE UNIQUE INDEX conversions_key ON conversions (conv_id);
CREATE UNIQUE INDEX session_costs_key ON session_costs (session_id);" || fail "keys after"
check_db u.db "keys built after the load"
eq "$(report u.db)" "$(report w.db)" "keys after: the report equals the inline keys' one"

# WAL mode: another connection could see a later state than the scan's, so
# the ids are looked up on the scan's own connection only; the same report.
cp w.db wal.db
[ "$(q wal.db "PRAGMA journal_mode = WAL")" = wal ] || fail "WAL mode"
check_db wal.db "WAL mode"
eq "$(report wal.db)" "$(report w.db)" "WAL mode: the report equals the rollback journal's"
