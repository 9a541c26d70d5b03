# attrib gen: creates a usable database, same seed gives the same rows,
# refuses to overwrite input data without --force, rejects bad options, and
# the generated data runs through the pipeline with every conversion
# attributed (the generator puts a session before every conversion).
. "$TOP/tests/cli/lib.sh"

dump_inputs() {
    sqlite3 -batch "$1" "SELECT * FROM session_sources ORDER BY session_id;
SELECT conv_id, user_id, conv_date, conv_time, quote(revenue) FROM conversions ORDER BY conv_id;
SELECT session_id, quote(cost) FROM session_costs ORDER BY session_id;"
}

expect_exit 0 "$ATTRIB" --db a.db gen --sessions 3000 --seed 5 --start-date 2024-03-01 --days 10
expect_err "wrote [0-9]+ sessions"
n=$(q a.db "SELECT count(*) FROM session_sources")
[ "$n" -ge 2700 ] && [ "$n" -le 3300 ] || fail "about 3000 sessions asked, $n written"
expect_err "wrote $n sessions"
eq "$(q a.db "SELECT min(event_date) >= '2024-03-01' AND max(event_date) <= '2024-03-10' FROM session_sources")" \
    1 "dates within --start-date and --days"
eq "$(q a.db "SELECT count(*) FROM session_sources WHERE length(session_id) <> 64 OR session_id GLOB '*[^0-9a-f]*'")" \
    0 "64-hex session ids"
eq "$(q a.db "SELECT count(*) > 0 FROM session_costs WHERE cost IS NULL")" 1 "some NULL costs"
eq "$(q a.db "SELECT count(*) > 0 FROM session_sources s WHERE NOT EXISTS (SELECT 1 FROM session_costs c WHERE c.session_id = s.session_id)")" \
    1 "some sessions without a cost row"
eq "$(q a.db "SELECT count(DISTINCT channel_name) >= 12 FROM session_sources")" 1 "channels"
# The tables and indexes of `init` are there too.
eq "$(q a.db "SELECT count(*) FROM sqlite_schema WHERE name IN ('attribution_customer_journey', 'channel_reporting', 'attrib_session_sources_user')")" \
    3 "output tables and indexes"

# Same seed and options: the same rows; another seed: other rows.
expect_exit 0 "$ATTRIB" --db b.db gen -q --sessions 3000 --seed 5 --start-date 2024-03-01 --days 10
eq "$(dump_inputs b.db | cksum)" "$(dump_inputs a.db | cksum)" "same seed, same rows"
expect_exit 0 "$ATTRIB" --db c.db gen -q --sessions 3000 --seed 6 --start-date 2024-03-01 --days 10
[ "$(dump_inputs c.db | cksum)" != "$(dump_inputs a.db | cksum)" ] || fail "another seed gave the same rows"

# --layout: the same rows in another order (time: event order; sorted: id
# order; shuffled: neither), and byte-identical CSVs from `run`.
# next_lower DB EXPR: rows whose EXPR is below the previous row's (by rowid).
next_lower() {
    q "$1" "SELECT count(*) FROM session_sources a JOIN session_sources b ON b.rowid = a.rowid + 1
        WHERE $2"
}
for layout in sorted shuffled; do
    expect_exit 0 "$ATTRIB" --db "l-$layout.db" gen -q --sessions 3000 --seed 5 \
        --start-date 2024-03-01 --days 10 --layout "$layout"
    eq "$(dump_inputs "l-$layout.db" | cksum)" "$(dump_inputs b.db | cksum)" "$layout: same rows"
done
eq "$(next_lower b.db "b.event_date || b.event_time < a.event_date || a.event_time")" 0 \
    "time layout in event order"
[ "$(next_lower b.db "b.session_id < a.session_id")" -gt 100 ] || fail "time layout in id order"
eq "$(next_lower l-sorted.db "b.session_id < a.session_id")" 0 "sorted layout in id order"
eq "$(q l-sorted.db "SELECT count(*) FROM session_costs a JOIN session_costs b ON b.rowid = a.rowid + 1
    WHERE b.session_id < a.session_id")" 0 "sorted layout: costs in id order"
[ "$(next_lower l-shuffled.db "b.session_id < a.session_id")" -gt 100 ] || fail "shuffled in id order"
[ "$(next_lower l-shuffled.db "b.event_date || b.event_time < a.event_date || a.event_time")" -gt 100 ] ||
    fail "shuffled in time order"
expect_exit 0 "$ATTRIB" --db l-shuffled2.db gen -q --sessions 3000 --seed 5 \
    --start-date 2024-03-01 --days 10 --layout shuffled
eq "$(q l-shuffled2.db "SELECT group_concat(session_id) FROM session_sources")" \
    "$(q l-shuffled.db "SELECT group_concat(session_id) FROM session_sources")" "shuffled: same order for a seed"
cp b.db l-time.db
for layout in time sorted shuffled; do
    expect_exit 0 "$ATTRIB" --db "l-$layout.db" run -q --out "l-$layout.csv"
done
cmp -s l-time.csv l-sorted.csv || fail "CSV of the sorted layout differs from the time layout's"
cmp -s l-time.csv l-shuffled.csv || fail "CSV of the shuffled layout differs from the time layout's"
expect_exit 2 "$ATTRIB" --db l-bad.db gen -q --sessions 100 --layout random
expect_err "--layout must be time, sorted or shuffled, not 'random'"

# Existing input data: refused (usage error), nothing changed; --force replaces it.
before=$(dump_inputs a.db | cksum)
expect_exit 2 "$ATTRIB" --db a.db gen --sessions 100 --seed 9
expect_err "already holds input data.*--force"
eq "$(dump_inputs a.db | cksum)" "$before" "refused gen changed nothing"
expect_exit 0 "$ATTRIB" --db a.db run -q --out a.csv
expect_exit 0 "$ATTRIB" --db a.db gen -q --sessions 100 --seed 9 --force
n=$(q a.db "SELECT count(*) FROM session_sources")
[ "$n" -ge 50 ] && [ "$n" -le 150 ] || fail "about 100 sessions asked after --force, $n there"
eq "$(q a.db "SELECT count(*) FROM attribution_customer_journey")" 0 "stale attribution emptied by --force"

# Bad options are usage errors and create nothing.
expect_exit 2 "$ATTRIB" --db d.db gen --sessions 0
expect_exit 2 "$ATTRIB" --db d.db gen --start-date 2023-02-30
expect_err "2023-02-30"
[ ! -f d.db ] || fail "a rejected gen created d.db"

# Through the pipeline: every conversion is attributed, credit sums to 1.
expect_exit 0 "$ATTRIB" --db a.db run --out a.csv
expect_err " 0 without any session"
eq "$(q a.db "SELECT count(*) FROM (SELECT conv_id, abs(sum(ihc) - 1) > 1e-9 AS off FROM attribution_customer_journey GROUP BY conv_id) WHERE off")" \
    0 "credit sums to 1 per conversion"
eq "$(q a.db "SELECT count(DISTINCT conv_id) = (SELECT count(*) FROM conversions) FROM attribution_customer_journey")" \
    1 "every conversion attributed"

# Into a database `attrib init` prepared (indexes already there): accepted,
# and attrib's indexes are there afterwards.
expect_exit 0 "$ATTRIB" --db e.db init -q
expect_exit 0 "$ATTRIB" --db e.db gen -q --sessions 3000 --seed 5 --start-date 2024-03-01 --days 10
eq "$(dump_inputs e.db | cksum)" "$(dump_inputs b.db | cksum)" "gen after init: the same rows"
eq "$(q e.db "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name LIKE 'attrib_%'")" \
    "$(q b.db "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name LIKE 'attrib_%'")" \
    "attrib's indexes after gen into an initialised database"
