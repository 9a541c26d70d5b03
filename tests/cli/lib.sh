# Helpers for the CLI tests: $ATTRIB is the binary, $TOP the repository root.
# Each test script sources this, works in a private temp dir, and exits
# non-zero on the first failed expectation (with the reason on stdout).
set -u
: "${ATTRIB:?run through tests/run.sh}"
: "${TOP:?run through tests/run.sh}"
T=$(mktemp -d "${TMPDIR:-/tmp}/attrib-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

fail() {
    echo "FAIL: $*"
    [ -f "$T/err" ] && { echo "--- stderr of the last command:"; cat "$T/err"; }
    exit 1
}

# expect_exit CODE CMD... : run CMD, stdout to $T/out, stderr to $T/err.
expect_exit() {
    want=$1
    shift
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    [ "$got" -eq "$want" ] || fail "expected exit $want, got $got: $*"
}

# expect_err PATTERN: the last stderr matches the extended regex.
expect_err() {
    grep -Eq -- "$1" "$T/err" || fail "stderr does not match /$1/"
}

q() { sqlite3 -batch "$1" "$2"; }

# eq ACTUAL EXPECTED WHAT
eq() {
    [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# costs_sql DB [WHERE on s.event_date]: SQL's own LEFT JOIN sums of the
# costs by channel and date, to hold the report's costs against.
costs_sql() {
    q "$1" "SELECT s.channel_name, s.event_date, printf('%.4f', sum(coalesce(c.cost, 0)))
        FROM session_sources s LEFT JOIN session_costs c USING (session_id) ${2:-}
        GROUP BY 1, 2 ORDER BY 1, 2"
}
# costs_report DB [WHERE on date]: the report's costs by channel and date.
costs_report() {
    q "$1" "SELECT channel_name, date, printf('%.4f', cost) FROM channel_reporting ${2:-}
        ORDER BY 1, 2"
}

# A fresh database with the built-in schema and the golden rows.
golden_db() {
    rm -f "$1"
    "$ATTRIB" --db "$1" init -q >/dev/null 2>&1 || fail "init $1"
    sqlite3 -batch "$1" <"$TOP/tests/data/golden.sql" || fail "load golden.sql"
}

# Output tables in a canonical text form, for comparisons.
dump_outputs() {
    sqlite3 -batch "$1" "SELECT conv_id, session_id, quote(ihc) FROM attribution_customer_journey ORDER BY 1, 2;
SELECT channel_name, date, quote(cost), quote(ihc), quote(ihc_revenue) FROM channel_reporting ORDER BY 1, 2;"
}

# pg_forget_jobs PSQL URI SCHEMA...: roll back what attrib-mpi jobs registered
# in those schemas left prepared (a failed test's parked or killed job), so
# that dropping the schemas does not wait on their locks. Best effort.
pg_forget_jobs() {
    psql_bin=$1
    uri=$2
    shift 2
    for sch in "$@"; do
        printf '%s\n' "SELECT format('ROLLBACK PREPARED %L', x.gid) FROM pg_prepared_xacts x JOIN \"$sch\".attrib_2pc_jobs j ON starts_with(x.gid, 'attrib-' || j.job || '-') WHERE x.database = current_database() \\gexec" |
            "$psql_bin" "$uri" -qAt >/dev/null 2>&1
    done
}

# mpi_prelude WHAT: set $M (attrib-mpi beside $ATTRIB) or exit. The MPI tests
# belong to the plain build (OpenMPI's runtime is not sanitizer-clean; test_shard
# covers the shards under ASan and TSan); without attrib-mpi or mpirun they skip,
# except in CI's plain build, which .ci/run makes with MPI=1.
mpi_prelude() {
    M=$(dirname "$ATTRIB")/attrib-mpi
    case "$(basename "$(dirname "$ATTRIB")")" in
    asan | tsan)
        echo "the MPI tests run in the plain build only"
        exit 0
        ;;
    esac
    if [ -x "$M" ] && command -v mpirun >/dev/null 2>&1; then
        return 0
    fi
    why="no $M (make MPI=1) or no mpirun (apt-get install openmpi-bin)"
    if [ "${CI:-}" = true ] && [ "$(basename "$(dirname "$ATTRIB")")" = build ]; then
        fail "$why; under CI the MPI tests must run (.ci/run builds with MPI=1)"
    fi
    echo "SKIPPED: $why: $1 did NOT run"
    exit 0
}

# pg_server PORT WHAT: $ATTRIB_PG_URI, or a throwaway cluster on PORT started
# here (its directory in $own: the caller's cleanup stops it); without either
# WHAT is skipped, except under CI, where the PostgreSQL tests must run.
pg_server() {
    [ -n "${ATTRIB_PG_URI:-}" ] && return 0
    own=$(mktemp -d "${TMPDIR:-/tmp}/attrib-pg.XXXXXX")
    if ! sh "$TOP/tests/pg/pg_start.sh" "$own" "$1" >"$T/pgstart.log" 2>&1; then
        rm -rf "$own"
        own=""
        [ "${CI:-}" = true ] && fail "no PostgreSQL server; under CI the PostgreSQL tests must run"
        echo "SKIPPED: no PostgreSQL server: $2 did NOT run"
        exit 0
    fi
    . "$own/env"
}
