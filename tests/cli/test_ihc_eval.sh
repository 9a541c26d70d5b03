# attrib eval / calibrate on the golden IHC pairs (tests/data/ihc).
. "$TOP/tests/cli/lib.sh"
G="$TOP/tests/data/ihc"

expect_exit 0 "$ATTRIB" eval --requests "$G/golden_requests.json" --responses "$G/golden_responses.json"
grep -q '^summary (2+ sessions, 14 journeys)' "$T/out" || fail "no eval summary"
grep -q 'worst journeys' "$T/out" || fail "no worst journeys"
grep -q 'Direct Traffic' "$T/out" || fail "no per-channel totals"

expect_exit 0 "$ATTRIB" eval --requests "$G/golden_requests.json" --responses "$G/golden_responses.json" --model-file base
grep -q 'model base' "$T/out" || fail "base model not named"

# calibrate on everything, then eval with the written file
expect_exit 0 "$ATTRIB" calibrate --requests "$G/golden_requests.json" --responses "$G/golden_responses.json" \
    --split all --sweeps 3 --out "$T/m.json"
[ -s "$T/m.json" ] || fail "no model file written"
grep -q '"format": "attrib-ihc-model/1"' "$T/m.json" || fail "model file format"
expect_exit 0 "$ATTRIB" eval --requests "$G/golden_requests.json" --responses "$G/golden_responses.json" --model-file "$T/m.json"

# usage errors
expect_exit 2 "$ATTRIB" calibrate --requests "$G/golden_requests.json" --responses "$G/golden_responses.json"
expect_err 'out'
expect_exit 2 "$ATTRIB" eval --requests "$G/golden_requests.json"
expect_exit 2 "$ATTRIB" eval --requests "$G/golden_requests.json" --responses "$G/golden_responses.json" --split nope
# a broken model file names the file and the key
printf '{"format":"attrib-ihc-model/1","phase_weights":{"initializer":1,"holder":1}}' >"$T/bad.json"
"$ATTRIB" eval --requests "$G/golden_requests.json" --responses "$G/golden_responses.json" \
    --model-file "$T/bad.json" >"$T/out" 2>"$T/err" && fail "bad model file accepted"
expect_err 'bad.json'
expect_err 'phase_weights.closer'
exit 0
