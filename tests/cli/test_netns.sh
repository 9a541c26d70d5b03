# Two hosts as two network namespaces (docs/scale-out.md): host A and host B
# each run their own PostgreSQL; a veth pair joins them (10.R.0.1 - 10.R.0.2,
# no route out: traffic stays inside the test's namespaces). Host A holds the
# input hash-partitioned by user_id in 4 parts (attrib partition), remainders
# 1 and 3 of both tables moved to host B as postgres_fdw foreign tables.
# `mpirun -np 2` and `-np 4` of attrib-mpi (ranks in host A's namespace) give
# the CSV of a single run byte for byte, and host B served its partitions
# over the veth (its log shows connections from 10.R.0.1); the job commits in
# two phases over the foreign partitions too (-v says so). Namespaces and
# servers are removed on every exit path.
#
# Needs root (ip netns): without it the test FAILS, it does not skip (.ci/run
# runs as root). Like test_mpi it belongs to the plain build (OpenMPI's runtime
# is not sanitizer-clean) and needs build/attrib-mpi and mpirun.
. "$TOP/tests/cli/lib.sh"

mpi_prelude "the two-host test"

R=$((($$ % 200) + 20))
NA="attribA$$"
NB="attribB$$"
IPA="10.$R.0.1"
IPB="10.$R.0.2"
DA=""
DB=""
cleanup() {
    [ -n "$DA" ] && sh "$TOP/tests/pg/pg_stop.sh" "$DA"
    [ -n "$DB" ] && sh "$TOP/tests/pg/pg_stop.sh" "$DB"
    ip netns del "$NA" 2>/dev/null
    ip netns del "$NB" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

ip netns add "$NA" 2>err || fail "cannot create a network namespace (ip netns add needs root / CAP_SYS_ADMIN): $(cat err)"
ip netns add "$NB" 2>err || fail "cannot create a second network namespace: $(cat err)"
ip link add "va$$" type veth peer name "vb$$" 2>err || fail "cannot create a veth pair: $(cat err)"
ip link set "va$$" netns "$NA" || fail "cannot move a veth end"
ip link set "vb$$" netns "$NB" || fail "cannot move a veth end"
ip -n "$NA" addr add "$IPA/24" dev "va$$" || fail "address of host A"
ip -n "$NB" addr add "$IPB/24" dev "vb$$" || fail "address of host B"
for n in "$NA" "$NB"; do
    ip -n "$n" link set lo up || fail "lo up in $n"
done
ip -n "$NA" link set "va$$" up || fail "veth up in host A"
ip -n "$NB" link set "vb$$" up || fail "veth up in host B"

# host NS DIR: a PostgreSQL cluster started inside namespace NS (prints nothing).
host() {
    ip netns exec "$1" sh "$TOP/tests/pg/pg_start.sh" "$2" 55487 >"$T/start_$1.log" 2>&1 ||
        fail "cannot start PostgreSQL in $1: $(cat "$T/start_$1.log")"
}
DA=$(mktemp -d "${TMPDIR:-/tmp}/attrib-pgA.XXXXXX")
DB=$(mktemp -d "${TMPDIR:-/tmp}/attrib-pgB.XXXXXX")
host "$NA" "$DA"
host "$NB" "$DB"
# Host B also listens on its veth address, for host A only, and logs connections.
cat >>"$DB/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1,$IPB'
log_connections = on
CONF
echo "host all all $IPA/32 trust" >>"$DB/data/pg_hba.conf"
ip netns exec "$NB" sh "$TOP/tests/pg/pg_ctl.sh" "$DB" restart -m fast -w >"$T/restart.log" 2>&1 ||
    fail "cannot restart host B's server: $(cat "$T/restart.log")"
. "$DB/env"
PORTB=$ATTRIB_PG_PORT
. "$DA/env"
PSQL="$ATTRIB_PG_BIN/psql"
inA() { ip netns exec "$NA" "$@"; }
inB() { ip netns exec "$NB" "$@"; }
pga() { inA "$PSQL" "$ATTRIB_PG_URI" -qAt -v ON_ERROR_STOP=1 "$@"; }
pgb() { inB "$PSQL" "postgresql://attrib@127.0.0.1:$PORTB/attrib" -qAt -v ON_ERROR_STOP=1 "$@"; }

expect_exit 0 "$ATTRIB" --db in.db gen -q --sessions 3000 --seed 41 --days 25
ONE="$ATTRIB_PG_URI?schema=one"
expect_exit 0 inA "$ATTRIB" copy -q --from in.db --to "$ONE"
expect_exit 0 inA "$ATTRIB" copy -q --from in.db --to "$ATTRIB_PG_URI"
expect_exit 0 inA "$ATTRIB" --db "$ATTRIB_PG_URI" partition -q --parts 4

# docs/scale-out.md's recipe: remainders 1 and 3 of both tables to host B.
pga -c "CREATE EXTENSION postgres_fdw" \
    -c "CREATE SERVER host_b FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '$IPB', port '$PORTB', dbname 'attrib')" \
    -c "CREATE USER MAPPING FOR CURRENT_USER SERVER host_b OPTIONS (user 'attrib')" >/dev/null ||
    fail "setting up the foreign server on host A"
for t in session_sources conversions; do
    # host B's table: the partition's own definition (columns and key) from host A
    cols=$(pga -c "SELECT string_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' NOT NULL' ELSE '' END, ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = '${t}_p1'::regclass AND attnum > 0 AND NOT attisdropped")
    key=$(pga -c "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = '${t}_p1'::regclass AND contype = 'p'")
    for r in 1 3; do
        pgb -c "CREATE TABLE ${t}_p$r ($cols, $key)" >/dev/null || fail "creating ${t}_p$r on host B"
        pga -c "BEGIN" \
            -c "ALTER TABLE $t DETACH PARTITION ${t}_p$r" \
            -c "CREATE FOREIGN TABLE ${t}_p${r}_b PARTITION OF $t FOR VALUES WITH (MODULUS 4, REMAINDER $r) SERVER host_b OPTIONS (table_name '${t}_p$r')" \
            -c "INSERT INTO ${t}_p${r}_b SELECT * FROM ${t}_p$r" \
            -c "DROP TABLE ${t}_p$r" -c "COMMIT" >/dev/null || fail "moving ${t}_p$r to host B"
    done
done
nb=$(pgb -c "SELECT (SELECT count(*) FROM session_sources_p1) + (SELECT count(*) FROM session_sources_p3)")
na=$(pga -c "SELECT (SELECT count(*) FROM session_sources_p0) + (SELECT count(*) FROM session_sources_p2)")
[ "$nb" -gt 0 ] && [ "$na" -gt 0 ] || fail "sessions on host A: $na, on host B: $nb"
eq "$((na + nb))" "$(pga -c "SELECT count(*) FROM one.session_sources")" "sessions on both hosts"

mpi() { inA timeout 300 mpirun --allow-run-as-root --oversubscribe --mca btl self,vader -np "$@"; }
for m in linear markov; do
    expect_exit 0 inA "$ATTRIB" --db "$ONE" run -q --model "$m" --out single.csv
    for np in 2 4; do
        before=$(grep -c "connection received: host=$IPA" "$DB/server.log")
        expect_exit 0 mpi $np "$M" --db "$ATTRIB_PG_URI" run -v --model "$m" --out job.csv
        cmp -s single.csv job.csv || { diff single.csv job.csv | head; fail "$m: -np $np over two hosts: CSV differs"; }
        # No write transaction reads a foreign partition: they can be prepared.
        expect_err "commit: two-phase"
        after=$(grep -c "connection received: host=$IPA" "$DB/server.log")
        [ "$after" -gt "$before" ] || fail "$m: -np $np: host B saw no connection from host A"
    done
done
echo "ok"
