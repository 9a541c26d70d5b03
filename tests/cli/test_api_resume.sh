# attribute --engine ihc-api against attrib serve: every conversion attributed
# once; a run killed with kill -9 midway, started again, sends only the
# journeys without a stored result; the key is nowhere in the database or
# the output.
. "$TOP/tests/cli/lib.sh"
command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3"; exit 0; }

KEY=resume-key-31415926
printf '%s\n' "$KEY" >key
chmod 600 key
expect_exit 0 "$ATTRIB" gen --db x.db --sessions 20000

start_serve() { # name
    "$ATTRIB" serve --model linear --api-key-file key --port 0 --max-sessions-per-request 200 \
        >"$1.out" 2>"$1.err" &
    spid=$!
    for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        grep -q listening "$1.out" 2>/dev/null && break
        sleep 0.1
    done
    url=$(sed -n 's/^listening on //p' "$1.out")
    [ -n "$url" ] || fail "serve did not start: $(cat "$1.err")"
}
stop_serve() { # name -> journeys it computed in $served
    kill -TERM "$spid"
    wait "$spid" || fail "serve exit code"
    served=$(sed -n 's/.*requests (\([0-9]*\) journeys.*/\1/p' "$1.err")
}
api() {
    IHC_API_KEY=$KEY "$ATTRIB" attribute --db x.db --model linear --engine ihc-api \
        --conv-type-id resume_test --api-url "$url" --max-sessions-per-request 200 "$@"
}

# 1. killed midway: 10 journeys a request, 8 requests a second
start_serve s1
(IHC_API_KEY=$KEY exec "$ATTRIB" attribute --db x.db --model linear --engine ihc-api \
    --conv-type-id resume_test --api-url "$url" --max-sessions-per-request 200 \
    --max-journeys-per-request 10 --max-requests-per-second 8 --concurrency 1 \
    >run1.out 2>run1.err) &
apid=$! # the attrib process itself (exec), so kill -9 hits it
# kill it once some batches are stored (polling: slow builds load data slower)
for i in $(seq 1 150); do
    n=$(sqlite3 x.db "SELECT count(DISTINCT conv_id) FROM attrib_api_results" 2>/dev/null)
    [ "${n:-0}" -ge 20 ] && break
    sleep 0.1
done
kill -9 "$apid"
wait "$apid" 2>/dev/null
stop_serve s1
total=$(sqlite3 x.db "SELECT count(*) FROM conversions")
cached=$(sqlite3 x.db "SELECT count(DISTINCT conv_id) FROM attrib_api_results")
[ "$cached" -gt 0 ] && [ "$cached" -lt "$total" ] || fail "kill point: $cached of $total cached"
[ "$(sqlite3 x.db 'SELECT count(*) FROM attribution_customer_journey')" = 0 ] ||
    fail "a killed run wrote attribution rows"

# 2. the rerun sends exactly the conversions without a stored result
start_serve s2
expect_exit 0 api
stop_serve s2
unattributable=$(sed -n 's/.* attributed, \([0-9]*\) without.*/\1/p' "$T/err")
[ "$served" = $((total - cached - unattributable)) ] ||
    fail "rerun computed $served journeys; expected $total - $cached - $unattributable"
grep -q "$cached conversions have a stored result" "$T/err" || fail "cache line: $(cat "$T/err")"
[ "$(sqlite3 x.db 'SELECT count(DISTINCT conv_id) FROM attribution_customer_journey')" = \
  "$((total - unattributable))" ] || fail "not every conversion has rows"
# at most the batch in flight at the kill is not 'ok'
[ "$(sqlite3 x.db "SELECT count(*) FROM attrib_api_batches WHERE status <> 'ok'")" -le 1 ] ||
    fail "manifest: $(sqlite3 x.db "SELECT status, error FROM attrib_api_batches WHERE status <> 'ok'"; cat run1.err)"
# sums: ihc per conversion is 1
bad=$(sqlite3 x.db "SELECT count(*) FROM (SELECT conv_id, sum(ihc) s FROM
    attribution_customer_journey GROUP BY conv_id HAVING abs(s - 1) > 1e-6)")
[ "$bad" = 0 ] || fail "$bad conversions do not sum to 1"

# 3. a third run sends nothing; --force sends everything again
start_serve s3
expect_exit 0 api
stop_serve s3
[ "$served" = 0 ] || fail "third run computed $served journeys"

# 4. --force with requests the server refuses (its cap is 200 sessions, ours 3000):
#    exit 4, every failure listed and recorded, earlier results kept
start_serve s4
IHC_API_KEY=$KEY "$ATTRIB" attribute --db x.db --model linear --engine ihc-api \
    --conv-type-id resume_test --api-url "$url" --max-sessions-per-request 3000 --force \
    >"$T/out" 2>"$T/err"
[ $? = 4 ] || fail "a refused --force run should exit 4"
stop_serve s4
nfail=$(sqlite3 x.db "SELECT count(*) FROM attrib_api_failures WHERE reason LIKE 'HTTP 400%'")
[ "$nfail" -gt 0 ] || fail "no failures recorded"
[ "$(grep -c 'failed: HTTP 400' "$T/err")" = "$nfail" ] || fail "failures not listed on stderr"
grep -q "conversions failed at the API; all others were stored" "$T/err" || fail "no failure summary"
[ "$(sqlite3 x.db 'SELECT count(DISTINCT conv_id) FROM attribution_customer_journey')" = \
  "$((total - unattributable))" ] || fail "a failed --force run lost earlier results"

# 5. the key is nowhere
grep -q "$KEY" x.db run1.out run1.err s1.err s2.err s3.err s4.err "$T/err" "$T/out" &&
    fail "the key leaked"
exit 0
