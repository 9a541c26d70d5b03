# attrib partition (docs/scale-out.md) on PostgreSQL: SQLite and bad --parts
# are refused; session_sources and conversions become P hash partitions by
# user_id with every row, keys and indexes; a second run changes nothing, a
# different count is refused; a failure (a view depends on conversions) and a
# SIGKILL (while waiting for a lock on conversions, after session_sources was
# done) change nothing. Shards of a partitioned database read only their
# partitions (sessions_read adds up to the table) and, with `attrib report`,
# give the single run's CSV byte for byte, also with half the partitions moved
# to postgres_fdw foreign tables (a loopback foreign server: the recipe of
# docs/scale-out.md; test_netns.sh puts them on another host).
#
# PostgreSQL: $ATTRIB_PG_URI when set, else a throwaway cluster (SKIPPED
# without one; a failure under CI=true).
. "$TOP/tests/cli/lib.sh"

own=""
S="part$$_$(date +%s)"
PSQL=psql
pg() { "$PSQL" "$ATTRIB_PG_URI" -qAt -v ON_ERROR_STOP=1 "$@"; }
cleanup() {
    if [ -n "${ATTRIB_PG_URI:-}" ]; then
        pg -c "SET client_min_messages = warning" -c "DO \$\$DECLARE r record; BEGIN
  FOR r IN SELECT nspname FROM pg_namespace WHERE starts_with(nspname, '$S') LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
  END LOOP; END\$\$" -c "DROP SERVER IF EXISTS ${S}_b CASCADE" >/dev/null 2>&1
    fi
    [ -n "$own" ] && sh "$TOP/tests/pg/pg_stop.sh" "$own"
    rm -rf "$T"
}
trap cleanup EXIT

expect_exit 0 "$ATTRIB" --db in.db gen -q --sessions 3000 --seed 31 --days 40
# SQLite has no partitions: refused with the way to shard it instead.
expect_exit 2 "$ATTRIB" --db in.db partition --parts 4
expect_err "needs PostgreSQL.*--shard K/N"
expect_exit 2 "$ATTRIB" --db in.db partition
expect_err "needs --parts"

pg_server "${ATTRIB_PG_PORT:-55480}" "the PostgreSQL part of test_partition"
[ -n "${ATTRIB_PG_BIN:-}" ] && PSQL="$ATTRIB_PG_BIN/psql"
pgs() { pg -c "SET search_path TO \"$1\"" -c "$2"; }
ONE="$ATTRIB_PG_URI?schema=${S}_one"
P="$ATTRIB_PG_URI?schema=${S}_p"
expect_exit 0 "$ATTRIB" copy -q --from in.db --to "$ONE"
expect_exit 0 "$ATTRIB" copy -q --from in.db --to "$P"
rows() { pgs "$1" "SELECT (SELECT count(*) FROM session_sources) || ' ' || (SELECT count(*) FROM conversions)"; }
before=$(rows "${S}_p")
sums() { pgs "$1" "SELECT md5(string_agg(s::text, ',' ORDER BY s.session_id)) FROM session_sources s"; }
sum_before=$(sums "${S}_p")

expect_exit 2 "$ATTRIB" --db "$P" partition --parts 1
expect_err "must be 2 to 1024"
expect_exit 2 "$ATTRIB" --db "$P" partition --parts 1025

# A failure inside the transaction: a view on conversions stops its DROP after
# session_sources was partitioned; nothing stays changed.
pgs "${S}_p" "CREATE VIEW v_conv AS SELECT conv_id FROM conversions"
expect_exit 1 "$ATTRIB" --db "$P" partition --parts 4
expect_err "partitioning conversions.*depend"
eq "$(pgs "${S}_p" "SELECT string_agg(relkind::text, '' ORDER BY relname) FROM pg_class WHERE relnamespace = '${S}_p'::regnamespace AND relname IN ('session_sources', 'conversions')")" "rr" "tables after a failed partition"
pgs "${S}_p" "DROP VIEW v_conv"

# Killed (SIGKILL) while it waits for a lock on conversions, session_sources done.
(echo "SET search_path TO \"${S}_p\"; BEGIN; LOCK TABLE conversions IN ACCESS SHARE MODE; SELECT pg_sleep(5); COMMIT;") |
    "$PSQL" "$ATTRIB_PG_URI" -qAt >/dev/null 2>&1 &
locker=$!
sleep 0.5
"$ATTRIB" --db "$P" --busy-timeout 20000 partition --parts 4 >out 2>err &
job=$!
waited=0
until [ "$(pg -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'DO \$attrib\$%'")" -ge 1 ]; do
    sleep 0.1
    waited=$((waited + 1))
    [ $waited -lt 80 ] || fail "partition never waited on the lock"
done
[ "$(pgs "${S}_p" "SELECT count(*) FROM pg_locks WHERE relation = 'session_sources'::regclass AND mode = 'AccessExclusiveLock' AND granted")" -ge 1 ] ||
    fail "partition waited before session_sources was done"
kill -9 $job
wait $job 2>/dev/null
wait $locker
eq "$(pgs "${S}_p" "SELECT string_agg(relkind::text, '' ORDER BY relname) FROM pg_class WHERE relnamespace = '${S}_p'::regnamespace AND relname IN ('session_sources', 'conversions')")" "rr" "tables after a killed partition"
eq "$(pgs "${S}_p" "SELECT count(*) FROM pg_class WHERE relnamespace = '${S}_p'::regnamespace AND relname LIKE 'attrib_part_new%'")" "0" "leftovers of a killed partition"

# The real thing, then idempotence and a different count.
expect_exit 0 "$ATTRIB" --db "$P" partition --parts 4
expect_err "into 4 hash partitions"
eq "$(rows "${S}_p")" "$before" "row counts after partition"
eq "$(sums "${S}_p")" "$sum_before" "session rows after partition"
eq "$(pgs "${S}_p" "SELECT pg_get_partkeydef('session_sources'::regclass) || ' ' || pg_get_partkeydef('conversions'::regclass)")" "HASH (user_id) HASH (user_id)" "partition keys"
eq "$(pgs "${S}_p" "SELECT count(*) FROM pg_inherits WHERE inhparent IN ('session_sources'::regclass, 'conversions'::regclass)")" "8" "partitions"
# Each partition keeps the primary key; the parent its indexes.
eq "$(pgs "${S}_p" "SELECT count(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid WHERE x.indisprimary AND c.relname ~ '^(session_sources|conversions)_p[0-3]\$' AND c.relnamespace = '${S}_p'::regnamespace")" "8" "primary keys of the partitions"
pgs "${S}_p" "SELECT indexname FROM pg_indexes WHERE schemaname = '${S}_p' AND tablename = 'session_sources' ORDER BY 1" >idx
grep -qx attrib_session_sources_user idx || fail "the user_id index is gone: $(cat idx)"
grep -qx attrib_session_sources_date idx || fail "the date index is gone: $(cat idx)"
expect_exit 0 "$ATTRIB" --db "$P" partition --parts 4
expect_err "already in 4 hash partitions.*nothing changed"
expect_exit 2 "$ATTRIB" --db "$P" partition --parts 8
expect_err "already hash-partitioned by user_id in 4 parts, not 8"

# Shards read only their partitions and give the single run's bytes.
for m in linear markov; do
    expect_exit 0 "$ATTRIB" --db "$ONE" run -q --model "$m" --out single.csv
    total=0
    for k in 0 1 2; do
        expect_exit 0 "$ATTRIB" --db "$P" attribute -q --model "$m" --shard $k/3 --summary-json s$k.json
        n=$(sed -n 's/.*"sessions_read": \([0-9]*\).*/\1/p' s$k.json)
        total=$((total + n))
    done
    expect_exit 0 "$ATTRIB" --db "$P" report -q
    expect_exit 0 "$ATTRIB" --db "$P" export -q --out sharded.csv
    cmp -s single.csv sharded.csv || { diff single.csv sharded.csv | head; fail "$m: shards of a partitioned database differ"; }
    all=$(pgs "${S}_p" "SELECT count(*) FROM session_sources")
    case $m in
    linear) eq "$total" "$all" "sessions read by 3 shards of 4 partitions" ;;
    markov) eq "$total" "$((3 * all))" "sessions read by 3 shards of a model of every path" ;;
    esac
done

# Half the partitions on another server (here the same one through a loopback
# postgres_fdw server and a schema of its own; docs/scale-out.md's recipe).
B="${S}_b"
pg -c "CREATE EXTENSION IF NOT EXISTS postgres_fdw" \
    -c "CREATE SERVER $B FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '$(pg -c 'SHOW port')', dbname '$(pg -c 'SELECT current_database()')')" \
    -c "CREATE USER MAPPING FOR CURRENT_USER SERVER $B OPTIONS (user '$(pg -c 'SELECT current_user')')" \
    -c "CREATE SCHEMA $B" >/dev/null || fail "setting up the foreign server"
for t in session_sources conversions; do
    for r in 1 3; do
        pg -c "CREATE TABLE $B.${t}_p$r (LIKE ${S}_p.${t}_p$r INCLUDING ALL)" \
            -c "BEGIN" \
            -c "ALTER TABLE ${S}_p.$t DETACH PARTITION ${S}_p.${t}_p$r" \
            -c "CREATE FOREIGN TABLE ${S}_p.${t}_p${r}_b PARTITION OF ${S}_p.$t FOR VALUES WITH (MODULUS 4, REMAINDER $r) SERVER $B OPTIONS (schema_name '$B', table_name '${t}_p$r')" \
            -c "INSERT INTO ${S}_p.${t}_p${r}_b SELECT * FROM ${S}_p.${t}_p$r" \
            -c "DROP TABLE ${S}_p.${t}_p$r" -c "COMMIT" >/dev/null || fail "moving ${t}_p$r"
    done
done
eq "$(rows "${S}_p")" "$before" "row counts with foreign partitions"
eq "$(pgs "${S}_p" "SELECT count(*) FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid WHERE c.relkind = 'f'")" "4" "foreign partitions"
expect_exit 0 "$ATTRIB" --db "$ONE" run -q --model linear --out single.csv
for k in 0 1; do
    expect_exit 0 "$ATTRIB" --db "$P" attribute -q --model linear --shard $k/2
done
expect_exit 0 "$ATTRIB" --db "$P" report -q
expect_exit 0 "$ATTRIB" --db "$P" export -q --out sharded.csv
cmp -s single.csv sharded.csv || { diff single.csv sharded.csv | head; fail "shards over foreign partitions differ"; }
# A plain run reads the foreign partitions as well.
expect_exit 0 "$ATTRIB" --db "$P" run -q --model linear --out plain.csv
cmp -s single.csv plain.csv || fail "a single run over foreign partitions differs"
echo "ok"
