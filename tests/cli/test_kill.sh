# A run killed with SIGKILL at any moment never leaves the tables of two runs
# side by side (issue 16): after every kill, channel_reporting is the
# aggregation of attribution_customer_journey (recomputed here in SQL), the
# SQLite file passes PRAGMA integrity_check, no temp file is left, and the
# rerun's CSV is byte-identical to the CSV of the same run never killed. On
# SQLite and PostgreSQL, with runs that change --lookback-days and the date
# range between trials, and the separate steps: a killed attribute leaves
# nothing, a killed report leaves the dirty marks the next report settles.
#
# The delays are random (the seed is printed; ATTRIB_KILL_SEED repeats a
# sequence), aimed at each phase in turn (read, attribute, write, report) by
# the phase times an uninterrupted run of the same options reported in its
# --summary-json. PostgreSQL server as in test_pg.sh ($ATTRIB_PG_URI, else a
# throwaway cluster; without one the PostgreSQL half says SKIPPED, and fails
# under CI=true).
. "$TOP/tests/cli/lib.sh"

own=""
S="kill$$_$(date +%s)"
S0=$S
PSQL=psql
[ -n "${ATTRIB_PG_BIN:-}" ] && PSQL="$ATTRIB_PG_BIN/psql"
cleanup() {
    if [ -n "${ATTRIB_PG_URI:-}" ]; then
        "$PSQL" "$ATTRIB_PG_URI" -qAt -c "DROP SCHEMA IF EXISTS \"$S0\" CASCADE" \
            -c "DROP SCHEMA IF EXISTS \"${S0}_ref\" CASCADE" >/dev/null 2>&1
    fi
    [ -n "$own" ] && sh "$TOP/tests/pg/pg_stop.sh" "$own"
    rm -rf "$T"
}
trap cleanup EXIT

seed=${ATTRIB_KILL_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "kill delays: ATTRIB_KILL_SEED=$seed"
start=$(date +%s)
stamp() { echo "$1 ($(($(date +%s) - start)) s)"; }
draws=0
# draw: X is the next uniform number in [0, 1) of the seeded sequence (not
# in a subshell, so the count moves on).
draw() {
    draws=$((draws + 1))
    X=$(awk -v s="$seed" -v n="$draws" 'BEGIN { srand(s); for (i = 1; i < n; i++) rand(); printf "%.6f", rand() }')
}
# num FILE KEY: a number of a --summary-json file.
num() {
    sed -n "s/^ *\"$2\": *\([-0-9.eE+]*\),*$/\1/p" "$1"
}

# The data: 8 days from a date no constant of the code knows; a run on the
# SQLite store takes about a second (the read phase most of it). A sanitizer
# build runs slower: a third of the sessions make phases as long.
GEN="--start-date 2024-02-25 --days 8 --seed 16"
BIG=120000
SMALL=40000
if [ -n "${CFLAGS_SAN:-}" ]; then
    BIG=40000
    SMALL=15000
fi
# The runs of the trials, in order, each from the state the one before left
# (the date range and --lookback-days change between them, and one repeats),
# each with the phase its kill aims at.
set -- \
    "report --start-date 2024-02-27 --end-date 2024-02-28 --lookback-days 3" \
    "attribute --lookback-days 2" \
    "write --start-date 2024-02-29 --end-date 2024-03-02 --lookback-days 5" \
    "read --start-date 2024-02-29 --end-date 2024-03-02 --lookback-days 5" \
    "report --start-date 2024-02-26 --end-date 2024-03-01"
# The separate steps' range and options (the last trial).
RANGE="--start-date 2024-02-28 --end-date 2024-03-01"
STEPS="$RANGE --lookback-days 1"

# consistent DBARG: no channel_reporting row differs from the stored credit
# aggregated per (channel, session date), and no such aggregate lacks its row.
# The report sums each cell exactly and rounds once; SQL's sum() adds doubles
# in some order, which is off by at most (n - 1) * 2^-53 * sum|x| for n terms
# (any order); the bound used, (n + 1) * 2^-52 * sum|x|, also covers the
# report's own rounding. A report of other credit (the old lookback) is off
# by far more.
CHECK="WITH g AS (SELECT s.channel_name AS ch, s.event_date AS d, count(*) AS n,
  sum(a.ihc) AS ihc, sum(abs(a.ihc)) AS ihc_abs,
  sum(a.ihc * c.revenue) AS rev, sum(abs(a.ihc * c.revenue)) AS rev_abs
  FROM attribution_customer_journey a JOIN session_sources s ON s.session_id = a.session_id
  JOIN conversions c ON c.conv_id = a.conv_id GROUP BY s.channel_name, s.event_date)
SELECT count(*) FROM (
  SELECT r.channel_name FROM channel_reporting r LEFT JOIN g ON g.ch = r.channel_name AND g.d = r.date
  WHERE abs(r.ihc - coalesce(g.ihc, 0)) > (coalesce(g.n, 0) + 1) * 2.3e-16 * coalesce(g.ihc_abs, 0)
     OR abs(r.ihc_revenue - coalesce(g.rev, 0)) > (coalesce(g.n, 0) + 1) * 2.3e-16 * coalesce(g.rev_abs, 0)
  UNION ALL
  SELECT g.ch FROM g LEFT JOIN channel_reporting r ON r.channel_name = g.ch AND r.date = g.d
  WHERE r.channel_name IS NULL) x"
sql() { # DBARG SQL
    case "$1" in
    postgresql:*) "$PSQL" "${1%%\?*}" -qAt -v ON_ERROR_STOP=1 -c "SET search_path TO \"$S\"" -c "$2" ;;
    *) sqlite3 -batch "$1" "$2" ;;
    esac
}
consistent() { # DBARG WHAT
    bad=$(sql "$1" "$CHECK") || fail "$2: the consistency query failed"
    eq "$bad" 0 "$2: channel_reporting rows that are not the sum of the stored credit"
}
intact() { # DBARG WHAT: integrity, and no temp file beside the CSV
    case "$1" in
    postgresql:*) ;;
    *) eq "$(sqlite3 -batch "$1" 'PRAGMA integrity_check')" ok "$2: integrity_check" ;;
    esac
    for f in out.csv.tmp.*; do
        [ -e "$f" ] && fail "$2: temp file $f left"
    done
}

# pick JSON PHASE: (after draw) a delay in seconds inside PHASE of the run that wrote JSON
# (its read, model, write and report step times; no report time: the fused
# run writes the report with the rows, so 'report' aims at that write), or
# inside a report step alone as long as that run's ('report-step').
pick() {
    r=$(num "$1" read_seconds); m=$(num "$1" model_seconds)
    w=$(num "$1" write_seconds); t=$(num "$1" seconds)
    awk -v r="$r" -v m="$m" -v w="$w" -v t="$t" -v p="$2" -v x="$X" 'BEGIN {
        a = 0; b = r
        if (p == "attribute") { a = r; b = r + m }
        if (p == "write") { a = r + m; b = r + m + w }
        if (p == "report") { a = r + m + w; b = t; if (b - a < 0.01) { a = r + m; b = r + m + w } }
        if (p == "report-step") { a = 0; b = t - r - m - w }
        printf "%.3f", 0.005 + a + x * (b - a) }'
}

# killed WHAT DELAY CMD...: start CMD, SIGKILL it after DELAY seconds.
killed() {
    what=$1; delay=$2; shift 2
    "$@" >/dev/null 2>"$T/err" &
    pid=$!
    sleep "$delay"
    kill -KILL "$pid" 2>/dev/null
    { wait "$pid"; } 2>/dev/null # no "Killed" from the shell
    rc=$?
    if [ "$rc" -eq 137 ]; then
        echo "  $what: killed after ${delay}s"
    else
        [ "$rc" -eq 0 ] || fail "$what: exit $rc before the kill"
        echo "  $what: finished before the kill at ${delay}s"
    fi
}

# trials DBARG REFDIR: the runs of $@ killed, checked and rerun; the reruns'
# CSVs against REFDIR/N.csv, delays from REFDIR/N.json.
trials() {
    db=$1; ref=$2; shift 2
    n=0
    for o in "$@"; do
        n=$((n + 1))
        ph=${o%% *}
        o=${o#* }
        draw
        # shellcheck disable=SC2086 # the options are words
        killed "run $n ($o), aimed at $ph" "$(pick "$ref/$n.json" $ph)" \
            "$ATTRIB" --db "$db" run -q $o --out out.csv
        consistent "$db" "after killing run $n ($o)"
        intact "$db" "after killing run $n ($o)"
        # shellcheck disable=SC2086
        expect_exit 0 "$ATTRIB" --db "$db" run -q $o --out out.csv
        cmp -s out.csv "$ref/$n.csv" || fail "run $n ($o): the rerun's CSV differs from an uninterrupted run's"
        consistent "$db" "after run $n"
    done
    # The separate steps: a killed attribute leaves nothing (the report of the
    # last run still matches); a committed one leaves dirty keys, which a
    # killed report keeps and the next report settles.
    draw
    ph='read'
    [ "$(awk -v x="$X" 'BEGIN { print x < 0.5 }')" = 1 ] && ph='write'
    draw
    # shellcheck disable=SC2086
    killed "attribute ($STEPS), aimed at $ph" "$(pick "$ref/steps.json" $ph)" \
        "$ATTRIB" --db "$db" attribute -q $STEPS
    sql "$db" "SELECT count(*) FROM attrib_dirty_keys" >dk || fail "reading attrib_dirty_keys"
    if [ "$(cat dk)" = 0 ]; then
        consistent "$db" "after killing attribute"
        # shellcheck disable=SC2086
        expect_exit 0 "$ATTRIB" --db "$db" attribute -q $STEPS
    fi
    dk=$(sql "$db" "SELECT count(*) FROM attrib_dirty_keys")
    [ "$dk" -gt 0 ] || fail "a ranged attribute with valid report sums left no dirty keys"
    [ "$(sql "$db" "$CHECK")" -gt 0 ] || fail "the check does not see a report older than the credit"
    draw
    # shellcheck disable=SC2086
    killed "report ($RANGE)" "$(pick "$ref/steps.json" report-step)" \
        "$ATTRIB" --db "$db" report -q $RANGE
    intact "$db" "after killing report"
    dk2=$(sql "$db" "SELECT count(*) FROM attrib_dirty_keys")
    if [ "$dk2" != 0 ]; then
        eq "$dk2" "$dk" "dirty keys after a killed report"
        # shellcheck disable=SC2086
        expect_exit 0 "$ATTRIB" --db "$db" report -q $RANGE
    fi
    eq "$(sql "$db" "SELECT count(*) FROM attrib_dirty_keys")" 0 "dirty keys after the report"
    consistent "$db" "after the report"
    # shellcheck disable=SC2086
    expect_exit 0 "$ATTRIB" --db "$db" export -q $RANGE --out out.csv
    cmp -s out.csv "$ref/steps.csv" || fail "steps: the CSV differs from an uninterrupted run's"
}

# reference DBARG DIR: the runs of $@ (then a run of $STEPS) never killed, on
# DBARG, a copy of the trials' store in the state they start from: their CSVs
# and summaries in DIR.
reference() {
    mkdir -p "$2"
    rdb=$1; dir=$2; shift 2
    n=0
    for o in "$@"; do
        n=$((n + 1))
        o=${o#* }
        # shellcheck disable=SC2086
        expect_exit 0 "$ATTRIB" --db "$rdb" run -q $o --out "$dir/$n.csv" --summary-json "$dir/$n.json"
    done
    # shellcheck disable=SC2086
    expect_exit 0 "$ATTRIB" --db "$rdb" run -q $STEPS --out "$dir/steps.csv" --summary-json "$dir/steps.json"
}

# ---- SQLite: a database where a run takes about a second ----
stamp "SQLite"
# shellcheck disable=SC2086
expect_exit 0 "$ATTRIB" --db big.db gen -q --sessions $BIG $GEN
expect_exit 0 "$ATTRIB" --db big.db run -q --out out.csv
cp big.db ref.db || fail "copy big.db"
reference ref.db refs "$@"
rm -f ref.db
stamp "SQLite trials"
trials big.db refs "$@"

# ---- PostgreSQL: fewer sessions (each statement is a round trip) ----
if [ -z "${ATTRIB_PG_URI:-}" ]; then
    own=$(mktemp -d "${TMPDIR:-/tmp}/attrib-pg.XXXXXX")
    if ! sh "$TOP/tests/pg/pg_start.sh" "$own" "${ATTRIB_PG_PORT3:-55484}" >"$T/pgstart.log" 2>&1; then
        rm -rf "$own"
        own=""
    else
        . "$own/env"
    fi
fi
if [ -z "${ATTRIB_PG_URI:-}" ] || ! "$PSQL" "$ATTRIB_PG_URI" -qAt -c "SELECT 1" >/dev/null 2>&1; then
    [ "${CI:-}" = true ] && fail "no PostgreSQL server; under CI the PostgreSQL tests must run"
    echo "SKIPPED: no PostgreSQL server; the PostgreSQL kill trials did NOT run"
    exit 0
fi
stamp "PostgreSQL"
PG="$ATTRIB_PG_URI?schema=$S"
PR="$ATTRIB_PG_URI?schema=${S}_ref"
# shellcheck disable=SC2086
expect_exit 0 "$ATTRIB" --db small.db gen -q --sessions $SMALL $GEN
for u in "$PG" "$PR"; do
    expect_exit 0 "$ATTRIB" copy -q --from small.db --to "$u"
    expect_exit 0 "$ATTRIB" --db "$u" run -q --out out.csv
done
reference "$PR" pgrefs "$@"
"$PSQL" "$ATTRIB_PG_URI" -qAt -c "DROP SCHEMA \"${S}_ref\" CASCADE" >/dev/null 2>&1 ||
    fail "dropping the reference schema"
stamp "PostgreSQL trials"
trials "$PG" pgrefs "$@"
stamp "done"
