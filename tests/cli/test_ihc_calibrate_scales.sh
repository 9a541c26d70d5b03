# attrib calibrate learns an IHC account it has never seen (issue 13): the
# "API" is `attrib serve --model-file TRUTH`, TRUTH the shipped tables with
# their time axis scaled by 1/6.75 and by 1.6 and channels of their own
# (tests/cli/ihc_synth.sh). Calibrate on 1,500 journeys, evaluate on 800 others.
. "$TOP/tests/cli/lib.sh"
. "$TOP/tests/cli/ihc_synth.sh"

# le A B: A <= B as numbers
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

for S in 0.148148148 1.6; do
    end=$(awk -v s="$S" 'BEGIN { print 368 * s }')
    synth_truth "$S" truth.json
    synth_journeys 4242 2300 "$end" all.req.json
    jq -c '.[0:15]' all.req.json >train.req.json
    jq -c '.[15:23]' all.req.json >test.req.json
    synth_answer truth.json train.req.json train.resp.json
    synth_answer truth.json test.req.json test.resp.json

    # the file is split already: calibrate fits all of it and says so
    expect_exit 0 "$ATTRIB" calibrate --requests train.req.json --responses train.resp.json \
        --out m.json
    cp out calibrate.out
    grep -q '1500 journeys read, 1500 used (split), 0 held out; fitted 11[0-9][0-9] journeys' out ||
        fail "scale $S: fitted/held-out counts: $(head -1 out)"
    restarts=$(sed -n 's/^restarts: \([0-9]*\) of \([0-9]*\) journeys.*/\1 \2/p' out)
    [ -n "$restarts" ] || fail "scale $S: no restart line: $(head -3 out)"
    set -- $restarts
    le 0.35 "$(awk -v a="$1" -v b="$2" 'BEGIN { print a / b }')" ||
        fail "scale $S: only $1 of $2 journeys restart"
    learned=$(sed -n 's/.*ramp end \([0-9.]*\) h (value 1.*/\1/p' out)
    [ -n "$learned" ] || fail "scale $S: no ramp end printed"
    le "$(awk -v a="$learned" -v b="$end" 'BEGIN { d = a / b - 1; print d < 0 ? -d : d }')" 0.01 ||
        fail "scale $S: ramp end $learned h, truth $end h"

    expect_exit 0 "$ATTRIB" eval --requests test.req.json --responses test.resp.json \
        --model-file m.json
    line=$(grep '^summary (2+ sessions' out)
    mae=$(echo "$line" | sed -n 's/.*ihc MAE \([0-9.]*\) max \([0-9.]*\);.*/\1/p')
    max=$(echo "$line" | sed -n 's/.*ihc MAE \([0-9.]*\) max \([0-9.]*\);.*/\2/p')
    echo "scale $S: ramp end $learned h (truth $end h), restarts $1 of $2; held out: $line"
    le "$mae" 0.0005 || fail "scale $S: held-out ihc MAE $mae > 0.0005"
    le "$max" 0.005 || fail "scale $S: held-out ihc max $max > 0.005"

    # one-survivor journeys (only the last session kept) are exact
    synth_answer m.json test.req.json model.resp.json
    one_ids=$(jq -c '[[.[] | .value[]] | group_by(.conversion_id)[]
        | select(length > 1 and ([.[] | select(.ihc > 0)] | length) == 1)
        | .[0].conversion_id]' test.resp.json)
    n_one=$(echo "$one_ids" | jq length)
    [ "$n_one" -gt 50 ] || fail "scale $S: only $n_one one-survivor journeys"
    rows() {
        jq -c --argjson ids "$one_ids" '[.[] | .value[]
            | select(.conversion_id as $c | $ids | index($c))] | sort_by(.conversion_id, .session_id)' "$1"
    }
    [ "$(rows test.resp.json)" = "$(rows model.resp.json)" ] ||
        { rows test.resp.json | jq -c ".[]" >a.txt; rows model.resp.json | jq -c ".[]" >b.txt; diff a.txt b.txt | head; fail "scale $S: one-survivor journeys differ from the truth"; }
done
exit 0
