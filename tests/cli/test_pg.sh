# PostgreSQL as a store, against a real server: the same datasets in SQLite
# and PostgreSQL (moved with `attrib copy`, and back) give byte-identical
# CSVs for run / attribute / report / export, with and without a date range;
# names with quotes and SQL in them are just names; an unreachable server, a
# wrong password, a missing table and a server restart in the middle of a
# step fail with exit 1, a clear message without the password, nothing
# half-written, and a rerun completes.
#
# Server: $ATTRIB_PG_URI (and $ATTRIB_PG_DIR from tests/pg/pg_start.sh for
# the password and restart cases) when set, else a throwaway cluster this
# script starts and stops. Without any server it says SKIPPED loudly and
# passes, except under CI=true, where it fails.
. "$TOP/tests/cli/lib.sh"

own=""
cleanup() {
    [ -n "$own" ] && sh "$TOP/tests/pg/pg_stop.sh" "$own"
    rm -rf "$T"
}
trap cleanup EXIT

skip() {
    if [ "${CI:-}" = true ]; then
        fail "no PostgreSQL server ($1); under CI the PostgreSQL tests must run"
    fi
    echo "##################################################################"
    echo "SKIPPED: no PostgreSQL server ($1)"
    echo "         the PostgreSQL store tests did NOT run"
    echo "##################################################################"
    exit 0
}

if [ -z "${ATTRIB_PG_URI:-}" ]; then
    own=$(mktemp -d "${TMPDIR:-/tmp}/attrib-pg.XXXXXX")
    if ! sh "$TOP/tests/pg/pg_start.sh" "$own" "${ATTRIB_PG_PORT:-55480}" >"$T/pgstart.log" 2>&1; then
        cat "$T/pgstart.log"
        rm -rf "$own"
        own=""
        skip "ATTRIB_PG_URI is not set and tests/pg/pg_start.sh could not start one"
    fi
    . "$own/env"
fi
PSQL=psql
[ -n "${ATTRIB_PG_BIN:-}" ] && PSQL="$ATTRIB_PG_BIN/psql"
command -v "$PSQL" >/dev/null 2>&1 || skip "no psql client"
"$PSQL" "$ATTRIB_PG_URI" -qAt -c "SELECT 1" >/dev/null 2>&1 || skip "cannot reach $ATTRIB_PG_URI"

# Every run of this script works in its own schemas.
S="t$$_$(date +%s)"
pg() { "$PSQL" "$ATTRIB_PG_URI" -qAt -v ON_ERROR_STOP=1 "$@"; }
pgs() { # SCHEMA SQL: a statement in a schema (its name quoted as an identifier)
    ident=$(printf '%s' "$1" | sed 's/"/""/g')
    "$PSQL" "$ATTRIB_PG_URI" -qAt -v ON_ERROR_STOP=1 -c "SET search_path TO \"$ident\"" -c "$2"
}
uri() { # SCHEMA -> target
    echo "$ATTRIB_PG_URI?schema=$1"
}
drop_schemas() { # every schema of this run, whatever its name
    pg -c "SET client_min_messages = warning" -c "DO \$\$DECLARE r record; BEGIN
  FOR r IN SELECT nspname FROM pg_namespace WHERE starts_with(nspname, '$S') LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
  END LOOP; END\$\$" >/dev/null 2>&1
}
cleanup() {
    drop_schemas
    [ -n "$own" ] && sh "$TOP/tests/pg/pg_stop.sh" "$own"
    rm -rf "$T"
}
# Output tables in a canonical form; floats as their exact bits (float8send).
pg_dump_outputs() {
    pgs "$1" "SELECT conv_id, session_id, encode(float8send(ihc), 'hex') FROM attribution_customer_journey ORDER BY 1, 2;
SELECT channel_name, date, encode(float8send(cost), 'hex'), encode(float8send(ihc), 'hex'), encode(float8send(ihc_revenue), 'hex') FROM channel_reporting ORDER BY 1, 2;"
}

# same_outputs DB URI WHAT [RANGE...]: every step on both stores, CSVs byte-identical.
same_outputs() {
    db=$1; pu=$2; what=$3; shift 3
    for model in $("$ATTRIB" models | awk '{print $1}'); do
        expect_exit 0 "$ATTRIB" --db "$db" run -q --model $model "$@" --out s.csv
        expect_exit 0 "$ATTRIB" --db "$pu" run -q --model $model "$@" --out p.csv
        cmp -s s.csv p.csv || { diff s.csv p.csv | head; fail "$what: run --model $model $*: CSV differs"; }
        expect_exit 0 "$ATTRIB" --db "$db" attribute -q --model $model --lookback-days 3 "$@"
        expect_exit 0 "$ATTRIB" --db "$pu" attribute -q --model $model --lookback-days 3 "$@"
        expect_exit 0 "$ATTRIB" --db "$db" report -q "$@"
        expect_exit 0 "$ATTRIB" --db "$pu" report -q "$@"
        expect_exit 0 "$ATTRIB" --db "$db" export -q "$@" --out s.csv
        expect_exit 0 "$ATTRIB" --db "$pu" export -q "$@" --out p.csv
        cmp -s s.csv p.csv || { diff s.csv p.csv | head; fail "$what: steps --model $model $*: CSV differs"; }
        # The whole report too (other dates were touched by earlier steps).
        expect_exit 0 "$ATTRIB" --db "$db" export -q --out s.csv
        expect_exit 0 "$ATTRIB" --db "$pu" export -q --out p.csv
        cmp -s s.csv p.csv || fail "$what: full export after steps --model $model $*: CSV differs"
    done
}

# ---- 1. the golden edge cases, SQLite -> PostgreSQL -> SQLite ----
golden_db g.db
G=$(uri "${S}_golden")
expect_exit 0 "$ATTRIB" copy --from g.db --to "$G"
expect_err "10 sessions, 5 conversions, 7 cost rows from g.db into"
expect_exit 0 "$ATTRIB" copy --from "$G" --to back.db
expect_exit 2 "$ATTRIB" copy --from g.db --to "$G"
expect_err "already holds input data"
expect_exit 0 "$ATTRIB" copy --from g.db --to "$G" --force
for t in session_sources conversions session_costs; do
    eq "$(q back.db "SELECT count(*) FROM $t")" "$(q g.db "SELECT count(*) FROM $t")" "rows of $t after the round trip"
done
eq "$(q back.db "SELECT quote(session_id), quote(cost) FROM session_costs ORDER BY 1")" \
   "$(q g.db "SELECT quote(session_id), quote(cost) FROM session_costs ORDER BY 1")" "session_costs after the round trip"
same_outputs g.db "$G" golden
same_outputs g.db "$G" golden --start-date 2023-09-02 --end-date 2023-09-06
# The copy back, into a fresh schema (both stores then share their history).
G3=$(uri "${S}_golden3")
expect_exit 0 "$ATTRIB" copy --from back.db --to "$G3"
same_outputs back.db "$G3" "golden (back)" --start-date 2023-09-05

# ---- 2. injection: names are data, whatever they contain ----
golden_db inj.db
q inj.db "UPDATE session_sources SET channel_name = '''; DROP TABLE session_sources; --' WHERE channel_name = 'Paid Search';
UPDATE session_sources SET channel_name = 'O''Brien \"quoted\" \\ back' || char(9) || 'tab' WHERE channel_name = 'Affiliate';
UPDATE session_sources SET user_id = 'u1''); DROP TABLE conversions; --' WHERE user_id = 'u1';
UPDATE conversions SET user_id = 'u1''); DROP TABLE conversions; --' WHERE user_id = 'u1';"
# The schema name is data too (percent-encoded in the URI).
I="$ATTRIB_PG_URI?schema=${S}_inj%22%3B%20DROP%20TABLE%20x%3B%20--"
expect_exit 0 "$ATTRIB" copy --from inj.db --to "$I"
same_outputs inj.db "$I" injection --start-date 2023-09-01
eq "$(pgs "${S}_inj\"; DROP TABLE x; --" "SELECT count(*) FROM session_sources WHERE channel_name = '''; DROP TABLE session_sources; --'")" \
   "$(q inj.db "SELECT count(*) FROM session_sources WHERE channel_name = '''; DROP TABLE session_sources; --'")" \
   "injected channel stored as a name"
grep -q "DROP TABLE session_sources" s.csv || fail "the channel named like SQL is in the CSV"

# ---- 3. a generated dataset, both directions ----
expect_exit 0 "$ATTRIB" --db gen.db gen -q -n 30000 --seed 7
P=$(uri "${S}_gen")
expect_exit 0 "$ATTRIB" copy --from gen.db --to "$P"
same_outputs gen.db "$P" generated
same_outputs gen.db "$P" generated --start-date 2023-01-03 --end-date 2023-01-04
# gen writes to PostgreSQL directly, the same rows as into SQLite.
P2=$(uri "${S}_gen2")
expect_exit 0 "$ATTRIB" --db "$P2" gen -q -n 30000 --seed 7
expect_exit 0 "$ATTRIB" --db "$P2" run -q --out p2.csv
expect_exit 0 "$ATTRIB" --db gen.db run -q --out s2.csv
cmp -s s2.csv p2.csv || fail "gen into PostgreSQL: CSV differs from gen into SQLite"
expect_exit 0 "$ATTRIB" --db "$P" run -q --out p.csv
pg_dump_outputs "${S}_gen2" >gen2.dump
pg_dump_outputs "${S}_gen" >gen.dump
[ -s gen.dump ] || fail "no output rows in PostgreSQL"
cmp -s gen.dump gen2.dump || { diff gen.dump gen2.dump | head; fail "gen into PostgreSQL vs copy into PostgreSQL: output tables (exact bits) differ"; }

# ---- 4. failures ----
port_free=1
expect_exit 1 "$ATTRIB" --db "postgresql://attrib:hunter2secret@127.0.0.1:$port_free/attrib" run -q
expect_err "cannot connect to postgresql://attrib@127.0.0.1:$port_free/attrib"
grep -q hunter2secret "$T/err" && fail "the password is in the message"

if [ -n "${ATTRIB_PG_PW_URI:-}" ]; then
    bad=$(echo "$ATTRIB_PG_PW_URI" | sed 's|://\([^@]*\)@|://\1:wrong-pw-42@|')
    expect_exit 1 "$ATTRIB" --db "$bad" run -q
    expect_err "password authentication failed"
    grep -q "wrong-pw-42" "$T/err" && fail "the wrong password is in the message"
    good=$(echo "$ATTRIB_PG_PW_URI" | sed 's|://\([^@]*\)@|://\1:attrib-secret-pw@|')
    expect_exit 1 "$ATTRIB" --db "$good?schema=${S}_none" run -q
    expect_err 'schema "'"${S}_none"'" does not exist'
    grep -q "attrib-secret-pw" "$T/err" && fail "the password is in the message"
else
    echo "NOTE: no ATTRIB_PG_PW_URI: the wrong-password case was not run"
fi

M=$(uri "${S}_missing")
expect_exit 0 "$ATTRIB" copy --from g.db --to "$M"
pgs "${S}_missing" "DROP TABLE session_costs" >/dev/null
expect_exit 1 "$ATTRIB" --db "$M" run -q
expect_err "missing table session_costs"

# ---- 5. a server restart in the middle of a step ----
if [ -n "${ATTRIB_PG_DIR:-}" ] && [ -f "$ATTRIB_PG_DIR/env" ]; then
    R=$(uri "${S}_restart")
    last_model=$("$ATTRIB" models | awk 'END {print $1}')
    expect_exit 0 "$ATTRIB" copy --from gen.db --to "$R"
    expect_exit 0 "$ATTRIB" --db "$R" run -q --model linear --out before.csv
    before=$(pg_dump_outputs "${S}_restart")
    # Hold a row of channel_reporting: `run` truncates and rewrites the attribution
    # table, then waits on that row when it replaces the report: mid-step, written.
    "$PSQL" "$ATTRIB_PG_URI" -qAt -c "SET search_path TO \"${S}_restart\"" \
        -c "BEGIN" -c "SELECT 1 FROM channel_reporting LIMIT 1 FOR UPDATE" \
        -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
    holder=$!
    "$ATTRIB" --db "$R" run -q --model "$last_model" --lookback-days 2 --out after.csv >"$T/run.out" 2>"$T/run.err" &
    runner=$!
    waited=0
    while [ "$(pg -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'attrib' AND wait_event_type = 'Lock' AND backend_xid IS NOT NULL")" != 1 ]; do
        sleep 0.2
        waited=$((waited + 1))
        [ $waited -lt 300 ] || { kill $runner $holder; fail "attrib run never reached the report write"; }
    done
    sh "$TOP/tests/pg/pg_ctl.sh" "$ATTRIB_PG_DIR" restart -m fast -w -t 60 >/dev/null 2>&1 || fail "pg_ctl restart"
    wait $runner
    rc=$?
    wait $holder
    cp "$T/run.err" "$T/err"
    eq "$rc" 1 "exit status of the interrupted run"
    expect_err "connection to $ATTRIB_PG_URI\\?schema=${S}_restart lost during"
    expect_err "nothing was written, rerun the step"
    pg_dump_outputs "${S}_restart" >after.dump
    [ "$(cat after.dump)" = "$before" ] || { echo "$before" | diff - after.dump | head; fail "tables changed by the interrupted run"; }
    [ -f after.csv ] && fail "the interrupted run wrote a CSV"
    expect_exit 0 "$ATTRIB" --db "$R" run -q --model "$last_model" --lookback-days 2 --out after.csv
    expect_exit 0 "$ATTRIB" --db gen.db run -q --model "$last_model" --lookback-days 2 --out s.csv
    cmp -s after.csv s.csv || fail "rerun after the restart: CSV differs from SQLite's"
else
    echo "NOTE: no ATTRIB_PG_DIR (server not started by tests/pg/pg_start.sh): restart case not run"
fi
echo "PostgreSQL store tests passed against $ATTRIB_PG_URI"
