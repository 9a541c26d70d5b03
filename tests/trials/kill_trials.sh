#!/bin/sh
# Kill trials (issue 18; figures in docs/reliability.md). Not part of the CI
# suite: each trial takes seconds to minutes.
#
#   sh tests/trials/kill_trials.sh api ATTRIB [KILLS]
#     `attribute --engine ihc-api` against a local `serve`, killed with
#     kill -9 at KILLS (default 10) random points, each time started again;
#     then once to the end. Checks: every conversion attributed once, the
#     attribution rows byte-identical to an uninterrupted run, and the
#     journeys serve computed over all runs = those needed + those resent
#     (a batch answered but not committed when the kill came; printed).
#   sh tests/trials/kill_trials.sh pg ATTRIB PG_DIR [KILLS]
#     `run` on PostgreSQL (the cluster of tests/pg/pg_start.sh PG_DIR, env
#     sourced) with the server stopped (pg_ctl stop -m immediate) at KILLS
#     random points mid-run, restarted, and the run repeated: the CSV and the
#     output tables must be byte-identical to an uninterrupted run.
set -u
what=$1
ATTRIB=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
T=$(mktemp -d "${TMPDIR:-/tmp}/attrib-trials.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
cd "$T" || exit 1
fail() { echo "FAIL: $*" >&2; exit 1; }
rand_ms() { od -An -N2 -tu2 /dev/urandom | awk -v lo="$1" -v hi="$2" '{ print lo + $1 % (hi - lo) }'; }

if [ "$what" = api ]; then
    KILLS=${3:-10}
    KEY=trial-key-2718
    printf '%s\n' "$KEY" >key
    chmod 600 key
    "$ATTRIB" -q gen --db ref.db --sessions 100000 || fail gen
    cp ref.db x.db
    "$ATTRIB" serve --model linear --api-key-file key --port 0 --max-sessions-per-request 200 \
        >serve.out 2>serve.err &
    spid=$!
    sleep 0.5
    url=$(sed -n 's/^listening on //p' serve.out)
    [ -n "$url" ] || fail "serve did not start"
    api() { # DB [extra]
        db=$1
        shift
        IHC_API_KEY=$KEY "$ATTRIB" -q attribute --db "$db" --model linear --engine ihc-api \
            --conv-type-id trial --api-url "$url" --max-sessions-per-request 200 \
            --max-journeys-per-request 10 --concurrency 2 --max-requests-per-second 40 "$@"
    }
    api ref.db || fail "reference run"
    dump() { sqlite3 "$1" "SELECT conv_id, session_id, hex(CAST(ihc AS BLOB)), ihc FROM attribution_customer_journey ORDER BY 1, 2" | md5sum; }
    ref=$(dump ref.db)
    kill -TERM "$spid"
    wait "$spid"
    needed=$(sed -n 's/.*requests (\([0-9]*\) journeys.*/\1/p' serve.err)
    "$ATTRIB" serve --model linear --api-key-file key --port 0 \
        --max-sessions-per-request 200 >serve.out 2>serve.err &
    spid=$!
    sleep 0.5
    url=$(sed -n 's/^listening on //p' serve.out)
    i=0
    while [ "$i" -lt "$KILLS" ]; do
        i=$((i + 1))
        (api x.db >/dev/null 2>&1) &
        apid=$!
        ms=$(rand_ms 300 2500)
        sleep "$(awk -v m="$ms" 'BEGIN { print m / 1000 }')"
        pkill -9 -P "$apid" 2>/dev/null
        kill -9 "$apid" 2>/dev/null
        wait "$apid" 2>/dev/null
        echo "kill $i after ${ms} ms: $(sqlite3 x.db 'SELECT count(DISTINCT conv_id) FROM attrib_api_results') conversions stored"
    done
    api x.db || fail "final run"
    kill -TERM "$spid"
    wait "$spid"
    served=$(sed -n 's/.*requests (\([0-9]*\) journeys.*/\1/p' serve.err)
    [ "$(dump x.db)" = "$ref" ] || fail "attribution rows differ from the uninterrupted run"
    echo "api: $KILLS kills; journeys needed $needed, computed over all runs $served, resent $((served - needed)); rows identical to the uninterrupted run"
    exit 0
fi

if [ "$what" = pg ]; then
    PGD=$3
    KILLS=${4:-5}
    . "$PGD/env"
    PGCTL="$ATTRIB_PG_BIN/pg_ctl"
    asuser() { if [ "$(id -u)" -eq 0 ]; then runuser -u "$ATTRIB_PG_USER" -- "$@"; else "$@"; fi; }
    U="$ATTRIB_PG_URI?schema=trial"
    "$ATTRIB" -q --db "$U" init >/dev/null 2>&1
    "$ATTRIB" -q --db "$U" gen --sessions 60000 --force || fail "gen"
    "$ATTRIB" -q --db "$U" run --model markov --out ref.csv || fail "reference run"
    dumpq() { "$ATTRIB_PG_BIN/psql" "$ATTRIB_PG_URI" -qAt -c "SET search_path = trial" -c "SELECT conv_id, session_id, encode(float8send(ihc), 'hex') FROM attribution_customer_journey ORDER BY 1, 2" -c "SELECT * FROM channel_reporting ORDER BY 1, 2" | md5sum; }
    ref=$(dumpq)
    i=0
    while [ "$i" -lt "$KILLS" ]; do
        i=$((i + 1))
        "$ATTRIB" -q --db "$U" run --model markov --out out.csv >run.out 2>run.err &
        rpid=$!
        ms=$(rand_ms 150 1500)
        sleep "$(awk -v m="$ms" 'BEGIN { print m / 1000 }')"
        asuser "$PGCTL" -D "$ATTRIB_PG_DIR/data" stop -m immediate >/dev/null 2>&1
        wait "$rpid"
        rc=$?
        asuser "$PGCTL" -D "$ATTRIB_PG_DIR/data" -o "-p $ATTRIB_PG_PORT" \
            -l "$ATTRIB_PG_DIR/server.log" -w -t 30 start >/dev/null 2>&1 ||
            fail "restart"
        echo "stop $i after ${ms} ms: run exit $rc: $(tail -1 run.err)"
        "$ATTRIB" -q --db "$U" run --model markov --out out.csv || fail "rerun after stop $i"
        cmp -s out.csv ref.csv || fail "CSV differs after stop $i"
        [ "$(dumpq)" = "$ref" ] || fail "tables differ after stop $i"
    done
    echo "pg: $KILLS immediate stops mid-run; every rerun byte-identical (CSV and tables)"
    exit 0
fi
fail "usage: kill_trials.sh api|pg ATTRIB ..."
