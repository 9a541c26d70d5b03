# Two-phase commit of attrib-mpi jobs on PostgreSQL (docs/scale-out.md
# "Exactly once"). (a) A job at -np 2 and 4 commits through PREPARE
# TRANSACTION (-v says so) and gives the single run's CSV byte for byte,
# leaving no prepared transaction and no job bookkeeping; a job with a date
# range takes the vote (-v says why); shard 0 deletes the rows of a vanished
# conversion. A job is parked at its decision (the test
# holds attrib_2pc_decisions locked), every rank prepared: (d) `attrib
# recover` leaves the running job alone, and once the lock goes the job
# commits; (b) a rank SIGKILLed there (before the decision) fails the job with
# no row changed, and the next run rolls the dead job's prepared transactions
# back and gives the single run's bytes; (c) every rank killed, then the
# decision recorded by hand (as if rank 0 died just after it): the next
# writing step (`attrib report`) commits them, and the tables are the single
# run's. (e) A server with max_prepared_transactions = 0 works through the vote.
#
# Runs when build/attrib-mpi is beside $ATTRIB and mpirun exists (SKIPPED
# otherwise; under CI=true a plain build without attrib-mpi fails). PostgreSQL:
# $ATTRIB_PG_URI (with max_prepared_transactions > 0, as tests/pg/pg_start.sh
# sets it) or a throwaway cluster; (e) starts one of its own.
. "$TOP/tests/cli/lib.sh"

mpi_prelude "the two-phase commit tests"
mpi() { timeout 120 mpirun --allow-run-as-root --oversubscribe -np "$@"; }

own=""
zero=""
locker=""
job=""
S="tpc$$_$(date +%s)"
PSQL=psql
pg() { "$PSQL" "$ATTRIB_PG_URI" -qAt -v ON_ERROR_STOP=1 "$@"; }
cleanup() {
    exec 3>&-
    [ -n "$locker" ] && kill "$locker" 2>/dev/null
    [ -n "$job" ] && for p in $(ranks "$job"); do kill -9 "$p" 2>/dev/null; done
    if [ -n "${ATTRIB_PG_URI:-}" ]; then
        pg_forget_jobs "$PSQL" "$ATTRIB_PG_URI" "${S}_job"
        pg -c "SET client_min_messages = warning" -c "DO \$\$DECLARE r record; BEGIN
  FOR r IN SELECT nspname FROM pg_namespace WHERE starts_with(nspname, '$S') LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
  END LOOP; END\$\$" >/dev/null 2>&1
    fi
    [ -n "$own" ] && sh "$TOP/tests/pg/pg_stop.sh" "$own"
    [ -n "$zero" ] && sh "$TOP/tests/pg/pg_stop.sh" "$zero"
    rm -rf "$T"
}
trap cleanup EXIT
pg_server "${ATTRIB_PG_PORT:-55470}" "the two-phase commit tests"
[ -n "${ATTRIB_PG_BIN:-}" ] && PSQL="$ATTRIB_PG_BIN/psql"
[ "$(pg -c "SHOW max_prepared_transactions")" -ge 4 ] ||
    fail "the test server's max_prepared_transactions is below 4 (tests/pg/pg_start.sh sets 16)"
pgs() { pg -c "SET search_path TO \"$1\"" -c "$2"; }
acj() { pgs "$1" "SELECT conv_id, session_id, encode(float8send(ihc), 'hex') FROM attribution_customer_journey ORDER BY 1, 2"; }
tabs() {
    pgs "$1" "SELECT channel_name, date, encode(float8send(cost), 'hex'), encode(float8send(ihc), 'hex'),
  encode(float8send(ihc_revenue), 'hex') FROM channel_reporting ORDER BY 1, 2"
    pgs "$1" "SELECT * FROM attrib_report_sums ORDER BY 1, 2"
}
prepared() { pg -c "SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'attrib-%' AND database = current_database()"; }
bookkeeping() { pgs "${S}_job" "SELECT (SELECT count(*) FROM attrib_2pc_jobs) + (SELECT count(*) FROM attrib_2pc_decisions)"; }

expect_exit 0 "$ATTRIB" --db in.db gen -q --sessions 3000 --seed 41
ONE="$ATTRIB_PG_URI?schema=${S}_one"
JOB="$ATTRIB_PG_URI?schema=${S}_job"
expect_exit 0 "$ATTRIB" copy -q --from in.db --to "$ONE"
expect_exit 0 "$ATTRIB" copy -q --from in.db --to "$JOB"
expect_exit 0 "$ATTRIB" --db "$JOB" partition -q --parts 4
expect_exit 0 "$ATTRIB" --db "$ONE" run -q --model linear --out single.csv
acj "${S}_one" >single.acj
tabs "${S}_one" >single.tab

# (a) Two phases, the single run's bytes, nothing left behind.
for np in 2 4; do
    expect_exit 0 mpi $np "$M" --db "$JOB" run -v --model linear --out job.csv
    cmp -s single.csv job.csv || { diff single.csv job.csv | head; fail "-np $np: CSV differs"; }
    expect_err "commit: two-phase \(PREPARE TRANSACTION 'attrib-[0-9a-f]{16}-<rank>'"
    eq "$(prepared)" 0 "-np $np: prepared transactions left"
    eq "$(bookkeeping)" 0 "-np $np: rows left in attrib_2pc_jobs and attrib_2pc_decisions"
done
# Rows of a conversion that no longer exists: shard 0 finds them before its
# transaction (which then reads no input table) and deletes them in it.
gone=$(pgs "${S}_job" "SELECT min(conv_id) FROM attribution_customer_journey")
pgs "${S}_job" "DELETE FROM conversions WHERE conv_id = '$gone'"
expect_exit 0 mpi 2 "$M" --db "$JOB" run -v --model linear --out job.csv
expect_err "commit: two-phase"
eq "$(pgs "${S}_job" "SELECT count(*) FROM attribution_customer_journey WHERE conv_id = '$gone'")" 0 "rows of a deleted conversion after a job"
pgs "${S}_job" "INSERT INTO conversions SELECT * FROM \"${S}_one\".conversions WHERE conv_id = '$gone'"
d1=$(pgs "${S}_one" "SELECT (min(conv_date)::date + 2)::text FROM conversions")
expect_exit 0 mpi 2 "$M" --db "$JOB" run -v --model linear --start-date "$d1" --end-date "$d1" --out ranged.csv
expect_err "commit: a vote just before each rank's COMMIT, not two-phase: a job with a date range"

# A job parked at its decision: the test holds attrib_2pc_decisions (rank 0's
# INSERT of the decision waits) until every rank has prepared.
park() { # NP MODEL
    rm -f lockfifo locker.out
    mkfifo lockfifo
    "$PSQL" "$ATTRIB_PG_URI" -qAt -v ON_ERROR_STOP=1 <lockfifo >locker.out 2>&1 &
    locker=$!
    exec 3>lockfifo
    echo "SET search_path TO \"${S}_job\"; BEGIN; LOCK TABLE attrib_2pc_decisions IN EXCLUSIVE MODE; SELECT 'locked';" >&3
    n=0
    until grep -q locked locker.out; do
        sleep 0.1
        n=$((n + 1))
        [ $n -lt 100 ] || fail "the test could not lock attrib_2pc_decisions: $(cat locker.out)"
    done
    mpi "$1" "$M" --db "$JOB" --busy-timeout 100000 run --model "$2" --out parked.csv >parked.out 2>parked.err &
    job=$!
    n=0
    until [ "$(prepared)" -eq "$1" ] && [ -n "$(decider)" ]; do
        sleep 0.1
        n=$((n + 1))
        [ $n -lt 600 ] || { cat parked.err; fail "the job did not park at its decision"; }
    done
    jobid=$(pg -c "SELECT DISTINCT split_part(gid, '-', 2) FROM pg_prepared_xacts WHERE gid LIKE 'attrib-%'")
}
# The backend of rank 0 waiting to insert the decision.
decider() { pg -c "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO attrib_2pc_decisions%'"; }
unlock() { # SQL before the end of the test's transaction
    echo "$1" >&3
    exec 3>&-
    wait "$locker"
    locker=""
}
# The job's ranks (attrib-mpi processes under it); rank 0 is the client of the decider.
ranks() {
    d=$1
    for c in $(pgrep -P "$d"); do
        [ "$(cat "/proc/$c/comm" 2>/dev/null)" = attrib-mpi ] && echo "$c"
        ranks "$c"
    done
}
rank0() {
    port=$(pg -c "SELECT client_port FROM pg_stat_activity WHERE pid = $(decider)")
    ss -Htnp "sport = :$port" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1
}
# A killed job's rank 0 leaves its backend waiting for the lock: end it, as a
# dead client's connection ends, so that it records no decision afterwards.
end_decider() {
    pid=$(decider)
    [ -n "$pid" ] && pg -c "SELECT pg_terminate_backend($pid)" >/dev/null
    n=0
    while [ -n "$(decider)" ]; do
        sleep 0.1
        n=$((n + 1))
        [ $n -lt 100 ] || fail "rank 0's backend did not end"
    done
}

# (d) Every rank prepared, the job running: recovery leaves it alone; released,
# the job commits.
park 2 linear
expect_exit 0 "$ATTRIB" --db "$JOB" recover
expect_err "resolved 0 dead job\(s\): committed 0 and rolled back 0 prepared transactions they left; 1 running job\(s\) left alone"
eq "$(prepared)" 2 "prepared transactions of the running job after a recovery"
unlock "COMMIT;"
wait $job || { cat parked.err; fail "the parked job failed once released"; }
cmp -s single.csv parked.csv || fail "the parked job's CSV differs from the single run's"
eq "$(prepared)" 0 "prepared transactions left by the released job"

# (b) Start from other rows (model first), then kill a rank other than rank 0
# after every rank prepared, before the decision.
expect_exit 0 mpi 2 "$M" --db "$JOB" run -q --model first --out first.csv
acj "${S}_job" >old.acj
tabs "${S}_job" >old.tab
park 2 linear
r0=$(rank0)
[ -n "$r0" ] || fail "cannot find rank 0"
victim=$(ranks "$job" | grep -vx "$r0" | head -1)
[ -n "$victim" ] || fail "cannot find a rank other than rank 0"
kill -9 "$victim"
wait $job && fail "the job with a killed rank succeeded"
end_decider
unlock "ROLLBACK;"
eq "$(prepared)" 2 "prepared transactions of the killed job"
acj "${S}_job" >now.acj
cmp -s now.acj old.acj || fail "a rank was killed before the decision, yet rows changed"
tabs "${S}_job" >now.tab
cmp -s now.tab old.tab || fail "a rank was killed before the decision, yet the report changed"
[ ! -e parked.csv ] || rm parked.csv
# The next run resolves the dead job (no decision: rolled back), then runs.
expect_exit 0 mpi 2 "$M" --db "$JOB" run --model linear --out job.csv
expect_err "resolved 1 dead job\(s\): committed 0 and rolled back 2 prepared transactions"
eq "$(prepared)" 0 "prepared transactions after the next run"
eq "$(bookkeeping)" 0 "job bookkeeping after the next run"
cmp -s single.csv job.csv || fail "the run after the kill differs from the single run"

# (c) Every rank killed after preparing, the decision recorded (by the test, as
# if rank 0 died right after it): in doubt, to be committed.
expect_exit 0 mpi 2 "$M" --db "$JOB" run -q --model first --out first.csv
acj "${S}_job" >old.acj
park 2 linear
r0=$(rank0)
[ -n "$r0" ] || fail "cannot find rank 0"
kill -9 "$r0"
wait $job && fail "the job with a killed rank 0 succeeded"
end_decider
unlock "INSERT INTO attrib_2pc_decisions (job) VALUES ('$jobid'); COMMIT;"
eq "$(prepared)" 2 "prepared transactions of the decided job"
acj "${S}_job" >now.acj
cmp -s now.acj old.acj || fail "nothing is committed yet, yet rows changed"
expect_exit 0 "$ATTRIB" --db "$JOB" report
expect_err "resolved 1 dead job\(s\): committed 2 and rolled back 0 prepared transactions"
eq "$(prepared)" 0 "prepared transactions after the report"
eq "$(bookkeeping)" 0 "job bookkeeping after the report"
acj "${S}_job" >now.acj
cmp -s now.acj single.acj || fail "the in-doubt job's rows, committed by recovery, differ from the single run's"
tabs "${S}_job" >now.tab
cmp -s now.tab single.tab || fail "the report after recovery differs from the single run's"
expect_exit 0 "$ATTRIB" --db "$JOB" export -q --out job.csv
cmp -s single.csv job.csv || fail "the export after recovery differs from the single run"

# (e) A server without prepared transactions: the vote, the same bytes.
zero=$(mktemp -d "${TMPDIR:-/tmp}/attrib-pg0.XXXXXX")
ATTRIB_PG_MAX_PREPARED=0 sh "$TOP/tests/pg/pg_start.sh" "$zero" 55476 >zero.log 2>&1 ||
    fail "cannot start a server with max_prepared_transactions = 0: $(cat zero.log)"
Z=$(sed -n 's/^ATTRIB_PG_URI=//p' "$zero/env")
expect_exit 0 "$ATTRIB" copy -q --from in.db --to "$Z"
expect_exit 0 mpi 2 "$M" --db "$Z" run -v --model linear --out zero.csv
expect_err "not two-phase: the server's max_prepared_transactions is 0"
cmp -s single.csv zero.csv || fail "-np 2 through the vote: CSV differs"
echo "ok"
