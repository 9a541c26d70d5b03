# attrib serve: answers a real request body in the API's format, checks the
# key, rejects over-cap requests, and stops cleanly on SIGTERM; --listen
# takes HOST:PORT and [IPv6]:PORT (--bind/--port replace its parts), and
# --no-auth is refused off loopback, IPv6 included.
. "$TOP/tests/cli/lib.sh"

KEY=serve-test-key-42
printf '%s\n' "$KEY" >key
chmod 644 key
expect_exit 2 "$ATTRIB" serve --model linear --api-key-file key --port 0
expect_err "may be read by others"
chmod 600 key
expect_exit 2 "$ATTRIB" serve --model linear --no-auth --bind 0.0.0.0 --port 0
expect_err "loopback"
expect_exit 2 "$ATTRIB" serve --model linear --no-auth --listen 0.0.0.0:0
expect_err "loopback"
expect_exit 2 "$ATTRIB" serve --model linear --no-auth --listen '[::]:0'
expect_err "loopback"
for bad in 127.0.0.1 127.0.0.1: :8080 '::1:8080' '[::1]8080' 127.0.0.1:65536 127.0.0.1:8o; do
    expect_exit 2 "$ATTRIB" serve --model linear --no-auth --listen "$bad"
    expect_err "--listen '"
done
expect_exit 2 "$ATTRIB" serve --model linear --no-auth --listen localhost:0
expect_err "not a numeric IPv4 address: localhost"

# --listen on IPv6 loopback answers (when the machine has ::1)
if grep -Eq '^0{31}1 ' /proc/net/if_inet6 2>/dev/null; then
    "$ATTRIB" serve --model linear --no-auth --listen '[::1]:0' >s6.out 2>s6.err &
    p6=$!
    for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        grep -q listening s6.out 2>/dev/null && break
        sleep 0.1
    done
    u6=$(sed -n 's/^listening on //p' s6.out)
    case $u6 in "http://[::1]:"*) ;; *) kill "$p6"; fail "IPv6 url: '$u6' $(cat s6.err)" ;; esac
    printf '%s' '{"customer_journeys":[{"conversion_id":"c","session_id":"s","timestamp":"2023-09-01 10:00:00","channel_label":"A","holder_engagement":0,"closer_engagement":0,"conversion":1,"impression_interaction":0}]}' >one.json
    code=$(curl -g -s -o r6 -w '%{http_code}' --data-binary @one.json "$u6?conv_type_id=x")
    kill -TERM "$p6"
    wait "$p6" || fail "serve on [::1] exited $?"
    [ "$code" = 200 ] || fail "IPv6 request gave $code: $(cat r6)"
    [ "$(jq '.value | length' r6)" = 1 ] || fail "IPv6 answer: $(cat r6)"
fi

"$ATTRIB" serve --model linear --api-key-file key --listen 127.0.0.1:0 --max-sessions-per-request 200 \
    >serve.out 2>serve.err &
pid=$!
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    grep -q listening serve.out 2>/dev/null && break
    sleep 0.1
done
url=$(sed -n 's/^listening on //p' serve.out)
[ -n "$url" ] || { kill "$pid"; fail "serve did not start: $(cat serve.err)"; }

# the first real request of ihc_new (83 sessions)
REAL=${ATTRIB_IHC_REAL:-$TOP/tests/data/ihc-real}
jq -c '.[0]' "$REAL/ihc_new/requests.json" >body.json || fail "cannot read the real request"
code=$(curl -s -o resp.json -w '%{http_code}' -H "x-api-key: $KEY" \
    -H 'Content-Type: application/json' --data-binary @body.json "$url?conv_type_id=ihc_new")
[ "$code" = 200 ] || fail "HTTP $code: $(cat resp.json)"
[ "$(jq -r 'keys_unsorted | join(",")' resp.json)" = "statusCode,value,partialFailureErrors" ] ||
    fail "top-level keys: $(head -c 200 resp.json)"
[ "$(jq '.value | length' resp.json)" = 83 ] || fail "not one row per session"
[ "$(jq -r '.value[0] | keys_unsorted | join(",")' resp.json)" = \
    "conversion_id,session_id,initializer,holder,closer,ihc" ] || fail "row keys"
# pairs equal to those sent, ihc sums to 1 per conversion, 4 decimals at most
[ "$(jq -c '[.customer_journeys[] | [.conversion_id, .session_id]] | sort' body.json)" = \
  "$(jq -c '[.value[] | [.conversion_id, .session_id]] | sort' resp.json)" ] || fail "pairs differ"
jq -e '[.value | group_by(.conversion_id)[] | (map(.ihc) | add) - 1 | fabs < 1e-9] | all' \
    resp.json >/dev/null || fail "ihc does not sum to 1"
grep -Eq '[0-9]\.[0-9]{5}' resp.json && fail "more than 4 decimals"

# no key, wrong key: 403; over the session cap: 400; wrong path: 404
code=$(curl -s -o r2 -w '%{http_code}' --data-binary @body.json "$url?conv_type_id=x")
[ "$code" = 403 ] || fail "no key gave $code"
code=$(curl -s -o r2 -w '%{http_code}' -H 'x-api-key: nope' --data-binary @body.json \
    "$url?conv_type_id=x")
[ "$code" = 403 ] || fail "wrong key gave $code"
jq -c '{customer_journeys: ([.[0:4][] | .customer_journeys[]])}' \
    "$REAL/ihc_new/requests.json" >big.json
code=$(curl -s -o r3 -w '%{http_code}' -H "x-api-key: $KEY" --data-binary @big.json \
    "$url?conv_type_id=x")
[ "$code" = 400 ] || fail "over-cap request gave $code"
grep -q "limits are" r3 || fail "over-cap message: $(cat r3)"

kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" = 0 ] || fail "serve exited $rc after SIGTERM: $(cat serve.err)"
grep -q "stopped by SIGTERM after 4 requests" serve.err || fail "stop line: $(cat serve.err)"
grep -q "$KEY" serve.out serve.err && fail "the key was printed"

# Hostile clients (issue 18): 2,000 idle connections held from one address
# while valid requests come (the idle timeout is longer than the test, so the
# connection limit alone must make room); an announced 99,999,999,999-byte
# body gets 413 at once; an empty request and a NUL in a conversion id 400.
"$ATTRIB" serve --model linear --api-key-file key --port 0 --idle-timeout 60 \
    >serve2.out 2>serve2.err &
pid=$!
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    grep -q listening serve2.out 2>/dev/null && break
    sleep 0.1
done
port=$(sed -n 's|^listening on http://[^:]*:\([0-9]*\)/.*|\1|p' serve2.out)
[ -n "$port" ] || { kill "$pid"; fail "serve did not start: $(cat serve2.err)"; }
grep -q "at most 4096 connections, no per-address limit; silent ones closed after 60 s" \
    serve2.err || fail "limits line: $(cat serve2.err)"
python3 "$TOP/tests/cli/serve_abuse.py" idle "$port" "$KEY" 2000 >idle.out 2>&1 ||
    { kill "$pid"; fail "valid requests not answered with 2000 idle connections: $(cat idle.out)"; }
python3 "$TOP/tests/cli/serve_abuse.py" bigbody "$port" "$KEY" >big.out 2>&1 ||
    { kill "$pid"; fail "huge Content-Length: $(cat big.out)"; }
python3 "$TOP/tests/cli/serve_abuse.py" raw "$port" "$KEY" '[]' >empty.out 2>&1
grep -q '^400 .*no customer journeys' empty.out || { kill "$pid"; fail "[]: $(cat empty.out)"; }
python3 "$TOP/tests/cli/serve_abuse.py" raw "$port" "$KEY" \
    '[{"conversion_id":"c\\u0000x","session_id":"s","timestamp":"2023-09-01 10:00:00","channel_label":"S","holder_engagement":1,"closer_engagement":1,"conversion":0}]' \
    >nul.out 2>&1
grep -q '^400 .*contains a NUL' nul.out || { kill "$pid"; fail "NUL id: $(cat nul.out)"; }
kill -TERM "$pid"
wait "$pid" || fail "serve exited $? after SIGTERM: $(cat serve2.err)"
expect_exit 2 "$ATTRIB" serve --model linear --api-key-file key --port 0 --idle-timeout 0
expect_err "idle-timeout"
exit 0
