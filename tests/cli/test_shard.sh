# --shard K/N (docs/scale-out.md): on SQLite and PostgreSQL, for every model,
# N = 1, 2, 3 shards run one after another (and two at once on PostgreSQL),
# then `attrib report --merge` and `attrib export`, give the CSV and the attribution
# rows of a single `attrib run` byte for byte, starting from stale rows of
# another model. A shard killed with SIGKILL leaves its conversions' rows as
# they were (old or new, never a mix), and its rerun gives the same bytes.
#
# PostgreSQL: $ATTRIB_PG_URI when set, else a throwaway cluster; without a
# server the PostgreSQL half says SKIPPED (a failure under CI=true).
. "$TOP/tests/cli/lib.sh"

own=""
S="shard$$_$(date +%s)"
PSQL=psql
pg() { "$PSQL" "$ATTRIB_PG_URI" -qAt -v ON_ERROR_STOP=1 "$@"; }
cleanup() {
    if [ -n "${ATTRIB_PG_URI:-}" ]; then
        pg -c "SET client_min_messages = warning" -c "DO \$\$DECLARE r record; BEGIN
  FOR r IN SELECT nspname FROM pg_namespace WHERE starts_with(nspname, '$S') LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
  END LOOP; END\$\$" >/dev/null 2>&1
    fi
    [ -n "$own" ] && sh "$TOP/tests/pg/pg_stop.sh" "$own"
    rm -rf "$T"
}
trap cleanup EXIT

# Input with a time scale and channel list of its own (gen's), and a user whose
# id is empty-ish and one with a quote: hashing takes the bytes as stored.
expect_exit 0 "$ATTRIB" --db in.db gen -q --sessions 4000 --seed 17
models=$("$ATTRIB" models | awk '{print $1}')

# The attribution rows in a canonical form (SQLite or PostgreSQL).
acj() {
    case $1 in
    postgresql://*) "$PSQL" "${1%%\?*}" -qAt -v ON_ERROR_STOP=1 \
        -c "SET search_path TO \"${1##*schema=}\"" \
        -c "SELECT conv_id, session_id, encode(float8send(ihc), 'hex') FROM attribution_customer_journey ORDER BY 1, 2" ;;
    *) q "$1" "SELECT conv_id, session_id, hex(ihc) FROM attribution_customer_journey ORDER BY 1, 2" ;;
    esac
}

# fresh NAME STORE -> prints a target holding the input and stale rows of `first`.
fresh() {
    case $2 in
    sqlite) rm -f "$1.db"; cp in.db "$1.db"; tgt="$1.db" ;;
    pg) tgt="$ATTRIB_PG_URI?schema=${S}_$1"
        "$ATTRIB" copy -q --from in.db --to "$tgt" --force >/dev/null 2>&1 || fail "copy to $tgt" ;;
    esac
    "$ATTRIB" --db "$tgt" run -q --model first --out stale.csv >/dev/null 2>&1 || fail "stale run on $tgt"
    echo "$tgt"
}

# check STORE: every model, single run vs N = 1, 2, 3 shards. One target holds
# the shards' results: each model's shards replace the previous model's rows.
check() {
    store=$1
    one=$(fresh one "$store")
    tgt=$(fresh sh "$store")
    for m in $models; do
        expect_exit 0 "$ATTRIB" --db "$one" run -q --model "$m" --out single.csv
        acj "$one" >single.acj
        for n in 1 2 3; do
            k=0
            while [ $k -lt $n ]; do
                # run for the first shard (init + attribute), attribute for the others
                verb=attribute
                [ $k -eq 0 ] && verb=run
                expect_exit 0 "$ATTRIB" --db "$tgt" $verb -q --model "$m" --shard $k/$n
                k=$((k + 1))
            done
            expect_exit 0 "$ATTRIB" --db "$tgt" report -q --merge
            expect_exit 0 "$ATTRIB" --db "$tgt" export -q --out merged.csv
            cmp -s single.csv merged.csv || { diff single.csv merged.csv | head; fail "$store $m: $n shards: CSV differs"; }
            acj "$tgt" >merged.acj
            cmp -s single.acj merged.acj || fail "$store $m: $n shards: attribution rows differ"
        done
    done
    # --merge rebuilds the whole report from the stored rows, whatever the stored
    # sums and report rows say; it takes no date range.
    if [ "$store" = sqlite ]; then
        q "$tgt" "UPDATE channel_reporting SET ihc = ihc + 1"
        q "$tgt" "UPDATE attrib_report_sums SET ihc_lo = ihc_lo + 12345"
        expect_exit 0 "$ATTRIB" --db "$tgt" report -q --merge
        expect_exit 0 "$ATTRIB" --db "$tgt" export -q --out merged.csv
        cmp -s single.csv merged.csv || fail "$store: report --merge over tampered report tables: CSV differs"
    fi
    expect_exit 2 "$ATTRIB" --db "$tgt" report --merge --start-date 2000-01-01
    expect_err "drop --start-date/--end-date"
    # A shard's summary counts its own conversions only; the shards together all of them.
    total=0
    for k in 0 1 2; do
        expect_exit 0 "$ATTRIB" --db "$tgt" attribute --model linear --shard $k/3 --summary-json s$k.json
        c=$(sed -n 's/.*"conversions_selected": *\([0-9]*\).*/\1/p' s$k.json)
        [ -n "$c" ] && [ "$c" -gt 0 ] || fail "$store: shard $k/3 selected '$c' conversions"
        total=$((total + c))
    done
    expect_exit 0 "$ATTRIB" --db "$tgt" attribute --model linear --summary-json all.json
    eq "$total" "$(sed -n 's/.*"conversions_selected": *\([0-9]*\).*/\1/p' all.json)" "$store: shards' conversions"
}

# kill_check STORE: SIGKILL a shard at growing delays; its rows are old or new, never a mix.
kill_check() {
    tgt=$(fresh kill "$1")
    acj "$tgt" >old.acj
    # The rows a complete shard writes (in another copy).
    ref=$(fresh ref "$1")
    expect_exit 0 "$ATTRIB" --db "$ref" attribute -q --model linear --shard 1/2
    acj "$ref" >new.acj
    cmp -s old.acj new.acj && fail "$1: the shard changes nothing; the kill test would prove nothing"
    for d in 0.02 0.05 0.1 0.2 0.3; do
        "$ATTRIB" --db "$tgt" attribute -q --model linear --shard 1/2 --threads 1 >/dev/null 2>&1 &
        pid=$!
        sleep $d
        kill -9 $pid 2>/dev/null
        wait $pid 2>/dev/null
        acj "$tgt" >now.acj
        cmp -s now.acj old.acj || cmp -s now.acj new.acj ||
            fail "$1: a shard killed after ${d}s left a mix of old and new rows"
    done
    expect_exit 0 "$ATTRIB" --db "$tgt" attribute -q --model linear --shard 1/2
    acj "$tgt" >now.acj
    cmp -s now.acj new.acj || fail "$1: the rerun after the kill differs"
}

# ---- SQLite ----
check sqlite
kill_check sqlite
expect_exit 2 "$ATTRIB" --db in.db attribute --shard 3/3
expect_err "--shard '3/3' is not K/N"
expect_exit 2 "$ATTRIB" --db in.db attribute --shard 1
expect_err "--shard '1' is not K/N"

# ---- PostgreSQL ----
pg_server "${ATTRIB_PG_PORT:-55480}" "the PostgreSQL half of test_shard"
[ -n "${ATTRIB_PG_BIN:-}" ] && PSQL="$ATTRIB_PG_BIN/psql"
check pg
kill_check pg

# Two shards at once on PostgreSQL, for every model.
one=$(fresh cone pg)
tgt=$(fresh conc pg)
for m in $models; do
    expect_exit 0 "$ATTRIB" --db "$one" run -q --model "$m" --out single.csv
    "$ATTRIB" --db "$tgt" attribute -q --model "$m" --shard 0/2 >c0.log 2>&1 &
    p0=$!
    "$ATTRIB" --db "$tgt" attribute -q --model "$m" --shard 1/2 >c1.log 2>&1 &
    p1=$!
    wait $p0 || { cat c0.log; fail "pg $m: concurrent shard 0/2 failed"; }
    wait $p1 || { cat c1.log; fail "pg $m: concurrent shard 1/2 failed"; }
    expect_exit 0 "$ATTRIB" --db "$tgt" report -q --merge
    expect_exit 0 "$ATTRIB" --db "$tgt" export -q --out merged.csv
    cmp -s single.csv merged.csv || { diff single.csv merged.csv | head; fail "pg $m: concurrent shards: CSV differs"; }
done

# A shard stopped while its transaction waits (a lock held elsewhere, after it
# deleted its rows) and killed leaves every row as it was.
tgt=$(fresh lock pg)
acj "$tgt" >old.acj
sch="${S}_lock"
(
    echo "SET search_path TO \"$sch\"; BEGIN; LOCK TABLE attrib_journey_phases IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;"
) | "$PSQL" "$ATTRIB_PG_URI" -qAt >/dev/null 2>&1 &
locker=$!
sleep 0.5
# (Shard 1: shard 0 reads the phase table before its transaction too, for the
# rows of vanished conversions, and would wait there.)
"$ATTRIB" --db "$tgt" attribute -q --model linear --shard 1/2 >/dev/null 2>&1 &
pid=$!
waited=0
until pg -c "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM attrib_journey_phases%'" | grep -q 1; do
    sleep 0.1
    waited=$((waited + 1))
    [ $waited -lt 30 ] || fail "the shard never waited on the lock"
done
kill -9 $pid
wait $pid 2>/dev/null
wait $locker
acj "$tgt" >now.acj
cmp -s now.acj old.acj || fail "pg: a shard killed inside its transaction changed rows"
expect_exit 0 "$ATTRIB" --db "$tgt" attribute -q --model linear --shard 0/2
expect_exit 0 "$ATTRIB" --db "$tgt" attribute -q --model linear --shard 1/2
expect_exit 0 "$ATTRIB" --db "$tgt" report -q --merge
expect_exit 0 "$ATTRIB" --db "$tgt" export -q --out merged.csv
expect_exit 0 "$ATTRIB" --db "$one" run -q --model linear --out single.csv
cmp -s single.csv merged.csv || fail "pg: the rerun after the kill differs from a single run"
echo "ok"
