# build/attrib-mpi (make MPI=1; docs/scale-out.md) on PostgreSQL: mpirun gives
# the CSV of a single `attrib run` byte for byte on a database hash-partitioned
# by user_id (attrib partition; each rank reads its partitions): every model at
# -np 2, linear and markov at -np 1 and 4 too, shapley and counterfactual at 4;
# and on a plain database (counterfactual at 2, markov at 4). Models that learn
# from every path read only their rank's share too (their statistics are
# reduced): the ranks' sessions_read add up to the table. channel_reporting and
# attrib_report_sums (reduced over the ranks, not reread) are the single run's
# too, a session with a cost and no conversion counts, and a later single
# `attrib report` rebuilds the same tables. With a date range too (the job's
# delta of the sums: the report after it recomputes only what a single run's
# does, and a later single ranged run stays incremental). A bad row fails only
# the shard that owns it, and that lone failing rank makes every rank roll back
# (the commit vote; before the model's statistics or the report's reduction),
# and so does a rank killed with SIGKILL inside its transaction; the rerun
# gives the single run's bytes.
#
# Runs when build/attrib-mpi is beside $ATTRIB and mpirun exists (SKIPPED
# otherwise; under CI=true a plain build without attrib-mpi fails: .ci/run
# builds with MPI=1). PostgreSQL: $ATTRIB_PG_URI or a throwaway cluster.
. "$TOP/tests/cli/lib.sh"

mpi_prelude "the MPI tests"
mpi() { timeout 300 mpirun --allow-run-as-root --oversubscribe -np "$@"; }

own=""
S="mpi$$_$(date +%s)"
PSQL=psql
pg() { "$PSQL" "$ATTRIB_PG_URI" -qAt -v ON_ERROR_STOP=1 "$@"; }
cleanup() {
    if [ -n "${ATTRIB_PG_URI:-}" ]; then
        pg_forget_jobs "$PSQL" "$ATTRIB_PG_URI" "${S}_job" "${S}_plain"
        pg -c "SET client_min_messages = warning" -c "DO \$\$DECLARE r record; BEGIN
  FOR r IN SELECT nspname FROM pg_namespace WHERE starts_with(nspname, '$S') LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
  END LOOP; END\$\$" >/dev/null 2>&1
    fi
    [ -n "$own" ] && sh "$TOP/tests/pg/pg_stop.sh" "$own"
    rm -rf "$T"
}
trap cleanup EXIT
pg_server "${ATTRIB_PG_PORT:-55480}" "the MPI tests"
[ -n "${ATTRIB_PG_BIN:-}" ] && PSQL="$ATTRIB_PG_BIN/psql"
pgs() { pg -c "SET search_path TO \"$1\"" -c "$2"; }
acj() { pgs "$1" "SELECT conv_id, session_id, encode(float8send(ihc), 'hex') FROM attribution_customer_journey ORDER BY 1, 2"; }
# The report's tables as stored, every bit of every number.
tabs() {
    pgs "$1" "SELECT channel_name, date, encode(float8send(cost), 'hex'), encode(float8send(ihc), 'hex'),
  encode(float8send(ihc_revenue), 'hex') FROM channel_reporting ORDER BY 1, 2"
    pgs "$1" "SELECT * FROM attrib_report_sums ORDER BY 1, 2"
    pgs "$1" "SELECT * FROM attrib_meta WHERE key = 'report_sums'"
    pgs "$1" "SELECT * FROM attrib_dirty_keys ORDER BY 1, 2"
    pgs "$1" "SELECT * FROM attrib_dirty_dates ORDER BY 1"
}
same_tabs() { # what
    tabs "${S}_one" >one.tab
    tabs "${S}_job" >job.tab
    [ -s one.tab ] || fail "$1: no report tables"
    cmp -s one.tab job.tab || { diff one.tab job.tab | head; fail "$1: the report's tables differ"; }
}

expect_exit 0 "$ATTRIB" --db in.db gen -q --sessions 3000 --seed 23
ONE="$ATTRIB_PG_URI?schema=${S}_one"
JOB="$ATTRIB_PG_URI?schema=${S}_job"
expect_exit 0 "$ATTRIB" copy -q --from in.db --to "$ONE"
expect_exit 0 "$ATTRIB" copy -q --from in.db --to "$JOB"
# A session with a cost, of a user who never converts, on a channel of its own:
# its cost is in the report of every run.
cost_only() {
    pgs "$1" "INSERT INTO session_sources SELECT 'attrib-cost-only', 'attrib-cost-only-user', event_date, event_time, 'CostOnly', holder_engagement, closer_engagement, impression_interaction FROM session_sources ORDER BY session_id LIMIT 1"
    pgs "$1" "INSERT INTO session_costs VALUES ('attrib-cost-only', 123.25)"
}
cost_only "${S}_one"
cost_only "${S}_job"

# The job's database is hash-partitioned by user_id (attrib partition): a rank
# reads only its partitions (6 of them: uneven at -np 4). Every model at -np 2;
# -np 1 and 4 a model of each kind (journeys only; every path), to stay fast.
expect_exit 0 "$ATTRIB" --db "$JOB" partition -q --parts 6
for m in $("$ATTRIB" models | awk '{print $1}'); do
    expect_exit 0 "$ATTRIB" --db "$ONE" run -q --model "$m" --out single.csv
    case $m in linear | markov) nps="1 2 4" ;; shapley | counterfactual) nps="2 4" ;; *) nps=2 ;; esac
    for np in $nps; do
        expect_exit 0 mpi $np "$M" --db "$JOB" run -q --model "$m" --out job.csv
        cmp -s single.csv job.csv || { diff single.csv job.csv | head; fail "$m: -np $np: CSV differs"; }
        same_tabs "$m: -np $np"
    done
done
# An unpartitioned database: ranks filter by attrib_shard_of.
PLAIN="$ATTRIB_PG_URI?schema=${S}_plain"
expect_exit 0 "$ATTRIB" copy -q --from in.db --to "$PLAIN"
cost_only "${S}_plain"
expect_exit 0 mpi 2 "$M" --db "$PLAIN" run -q --model "$m" --out job.csv
cmp -s single.csv job.csv || fail "$m: -np 2 on an unpartitioned database: CSV differs"
grep -q '^CostOnly,.*123.25' job.csv || fail "the cost of a session without a conversion is not in the CSV"
# The stored sums are right: a single report over the job's rows rebuilds the same tables.
expect_exit 0 "$ATTRIB" --db "$JOB" report -q
same_tabs "a single report after the job"
# With a date range: the job reduces its delta of the sums; the report after the
# commit recomputes what a single run's does (its dates, from the sums), and a
# later single ranged run on the job's database is as incremental as on the other.
d1=$(pgs "${S}_one" "SELECT (min(conv_date)::date + 2)::text FROM conversions")
d2=$(pgs "${S}_one" "SELECT (min(conv_date)::date + 3)::text FROM conversions")
d3=$(pgs "${S}_one" "SELECT (min(conv_date)::date + 4)::text FROM conversions")
for np in 2 4; do
    for m in linear markov; do
        expect_exit 0 "$ATTRIB" --db "$ONE" run -q --model "$m" --start-date "$d1" --end-date "$d2" \
            --out single.csv --summary-json one.json
        expect_exit 0 mpi $np "$M" --db "$JOB" run -q --model "$m" --start-date "$d1" --end-date "$d2" \
            --out job.csv --summary-json job.json
        cmp -s single.csv job.csv || { diff single.csv job.csv | head; fail "$m: -np $np with a range: CSV differs"; }
        same_tabs "$m: -np $np with a range"
        eq "$(grep report_dates job.json)" "$(grep report_dates one.json)" "$m: -np $np: dates the ranged report recomputed"
    done
done
expect_exit 0 "$ATTRIB" --db "$ONE" run -q --model first --start-date "$d3" --end-date "$d3" --out single.csv --summary-json one.json
expect_exit 0 "$ATTRIB" --db "$JOB" run -q --model first --start-date "$d3" --end-date "$d3" --out job.csv --summary-json job.json
cmp -s single.csv job.csv || fail "a single ranged run after the jobs: CSV differs"
same_tabs "a single ranged run after the jobs"
eq "$(grep report_dates job.json)" "$(grep report_dates one.json)" "a single ranged run after the jobs: dates recomputed"
all_dates=$(pgs "${S}_job" "SELECT count(DISTINCT date) FROM channel_reporting")
[ "$(sed -n 's/.*"report_dates": \([0-9]*\).*/\1/p' job.json)" -lt "$all_dates" ] ||
    fail "a single ranged run after the jobs recomputed every date (the sums were not kept)"
expect_exit 0 "$ATTRIB" --db "$ONE" run -q --model markov --out single.csv
expect_exit 0 mpi 4 "$M" --db "$PLAIN" run -q --model markov --out job.csv
cmp -s single.csv job.csv || fail "markov: -np 4 on an unpartitioned database: CSV differs"

# A model of every path reads only its rank's partitions: the ranks' sessions add
# up to the table, and no rank reads it all.
expect_exit 0 mpi 4 "$M" --db "$JOB" run -v --model markov --out job.csv
cmp -s single.csv job.csv || fail "markov: -np 4 with -v: CSV differs"
sed -n 's/^attrib: rank [0-9]*: .*sessions read \([0-9]*\).*$/\1/p' "$T/err" >reads
eq "$(wc -l <reads | tr -d ' ')" 4 "ranks that listed their sessions read"
eq "$(awk '{ s += $1 } END { print s }' reads)" "$(pgs "${S}_job" "SELECT count(*) FROM session_sources")" "sessions read by the 4 ranks"
eq "$(awk -v n="$(pgs "${S}_job" "SELECT count(*) FROM session_sources")" '$1 >= n' reads | wc -l | tr -d ' ')" 0 "ranks that read every session"
acj "${S}_job" >old.acj

# SQLite with more than one rank is refused (one writer), before anything runs.
expect_exit 2 mpi 2 "$M" --db in.db run -q --out x.csv
expect_err "needs PostgreSQL"

# One rank fails (a session of its shard has a bad time): nobody commits.
# (Duplicated ids would not do: they are checked over the whole table, so
# every shard refuses them.)
bad_sid=$(pgs "${S}_job" "SELECT min(s.session_id) FROM session_sources s JOIN conversions c ON c.user_id = s.user_id")
good_time=$(pgs "${S}_job" "SELECT event_time FROM session_sources WHERE session_id = '$bad_sid'")
break_row() { pgs "${S}_job" "UPDATE session_sources SET event_time = '25:99:99' WHERE session_id = '$bad_sid'"; }
mend_row() { pgs "${S}_job" "UPDATE session_sources SET event_time = '$good_time' WHERE session_id = '$bad_sid'"; }
break_row
# On the partitioned database the row belongs to one shard: that shard alone
# fails (the other reads only its own partitions); a model of every path reads
# every row, so there both fail.
ok=0
"$ATTRIB" --db "$JOB" attribute -q --model linear --shard 0/2 >/dev/null 2>&1 && ok=$((ok + 1))
"$ATTRIB" --db "$JOB" attribute -q --model linear --shard 1/2 >/dev/null 2>&1 && ok=$((ok + 1))
eq "$ok" 1 "shards of 2 that succeed with one bad row (linear)"
ok=0
"$ATTRIB" --db "$JOB" attribute -q --model markov --shard 0/2 >/dev/null 2>&1 && ok=$((ok + 1))
"$ATTRIB" --db "$JOB" attribute -q --model markov --shard 1/2 >/dev/null 2>&1 && ok=$((ok + 1))
eq "$ok" 0 "shards of 2 that succeed with one bad row (markov)"
# Those single shards changed rows: put the job's state back, then the MPI job.
expect_exit 0 "$ATTRIB" --db "$ONE" run -q --model counterfactual --out single.csv
mend_row
expect_exit 0 mpi 2 "$M" --db "$JOB" run -q --model counterfactual --out job.csv
acj "${S}_job" >old.acj
break_row
mpi 2 "$M" --db "$JOB" attribute -q --model linear >out 2>err && fail "the job with a failing rank succeeded"
expect_err "25:99:99"
# One rank failed on the row; the other one succeeded and rolled back at the vote.
eq "$(grep -c '25:99:99' err)" 1 "ranks that saw the bad row"
expect_err "another worker of the job failed"
acj "${S}_job" >now.acj
cmp -s now.acj old.acj || fail "a rank failed, yet rows changed"
# The same with a model of every path: the rank that owns the row fails before the
# statistics are reduced; the others stop at the reduction, nobody commits.
mpi 4 "$M" --db "$JOB" attribute -q --model markov >out 2>err && fail "the markov job with a failing rank succeeded"
eq "$(grep -c '25:99:99' err)" 1 "ranks that saw the bad row (markov)"
eq "$(grep -c 'before the model.s statistics were reduced' err)" 3 "ranks stopped at the reduction"
acj "${S}_job" >now.acj
cmp -s now.acj old.acj || fail "a rank failed (markov), yet rows changed"
# The same in a run: the failing rank never reaches the report's reduction,
# the others give it up, and nothing of the report changes either.
tabs "${S}_job" >old.tab
mpi 2 "$M" --db "$JOB" run -q --model linear --out failed.csv >out 2>err && fail "the run with a failing rank succeeded"
eq "$(grep -c '25:99:99' err)" 1 "ranks of the run that saw the bad row"
expect_err "report's sums were not reduced"
acj "${S}_job" >now.acj
cmp -s now.acj old.acj || fail "a rank of a run failed, yet rows changed"
tabs "${S}_job" >now.tab
cmp -s now.tab old.tab || fail "a rank of a run failed, yet the report's tables changed"
[ ! -e failed.csv ] || fail "a rank of a run failed, yet the CSV was written"
mend_row

# A session id shared by two users (in partitions of different shards): no
# shard's own partitions show it, shard 0 checks the whole table, and the job
# fails as a single run does, with nothing written.
dup_sid=$(pgs "${S}_job" "SELECT min(session_id) FROM session_sources_p1")
pgs "${S}_job" "INSERT INTO session_sources SELECT session_id, 'attrib-dup-user-x', event_date, event_time, channel_name, holder_engagement, closer_engagement, impression_interaction FROM session_sources WHERE session_id = '$dup_sid'"
[ "$(pgs "${S}_job" "SELECT count(DISTINCT tableoid) FROM session_sources WHERE session_id = '$dup_sid'")" = 2 ] ||
    pgs "${S}_job" "UPDATE session_sources SET user_id = 'attrib-dup-user-y' WHERE user_id = 'attrib-dup-user-x'"
eq "$(pgs "${S}_job" "SELECT count(DISTINCT tableoid) FROM session_sources WHERE session_id = '$dup_sid'")" 2 "partitions of the duplicated id"
mpi 2 "$M" --db "$JOB" attribute -q --model linear >out 2>err && fail "the job with a duplicated session id succeeded"
expect_err "appears 2 times"
acj "${S}_job" >now.acj
cmp -s now.acj old.acj || fail "a duplicated id, yet rows changed"
pgs "${S}_job" "DELETE FROM session_sources WHERE user_id LIKE 'attrib-dup-user-%'"

# A rank of a run killed (SIGKILL) while its transaction waits on a lock held
# elsewhere: no attribution row, no report row, no sum changed.
tabs "${S}_job" >old.tab
(echo "SET search_path TO \"${S}_job\"; BEGIN; LOCK TABLE attrib_journey_phases IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT;") |
    "$PSQL" "$ATTRIB_PG_URI" -qAt >/dev/null 2>&1 &
locker=$!
sleep 0.5
mpi 2 "$M" --db "$JOB" run -q --model linear --out killed.csv >out 2>err &
job=$!
waited=0
until [ "$(pg -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM attrib_journey_phases%'")" -ge 1 ]; do
    sleep 0.1
    waited=$((waited + 1))
    [ $waited -lt 50 ] || fail "no rank waited on the lock"
done
victim=$(pg -c "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM attrib_journey_phases%' LIMIT 1")
# The rank is the client of that backend: find it by its connection's port.
port=$(pg -c "SELECT client_port FROM pg_stat_activity WHERE pid = $victim")
rank=$(ss -Htnp "sport = :$port" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
[ -n "$rank" ] || fail "cannot find the rank of backend $victim (port $port)"
kill -9 "$rank"
wait $job && fail "the job with a killed rank succeeded"
wait $locker
acj "${S}_job" >now.acj
cmp -s now.acj old.acj || fail "a rank was killed, yet rows changed"
tabs "${S}_job" >now.tab
cmp -s now.tab old.tab || fail "a rank was killed, yet the report's tables changed"
[ ! -e killed.csv ] || fail "a rank was killed, yet the CSV was written"
expect_exit 0 mpi 2 "$M" --db "$JOB" run -q --model counterfactual --out job.csv
cmp -s single.csv job.csv || fail "the rerun after the kill differs from the single run"
echo "ok"
