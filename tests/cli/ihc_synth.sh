# Synthetic IHC API calls for calibrate tests (issue 13), no real data needed.
# Sourced by tests; needs jq, curl, awk and $ATTRIB.
#
# synth_truth SCALE OUT: the shipped default model with its initializer and
#   closer hours multiplied by SCALE and its channel weights given to six
#   channels with names of their own (Alpha..Zeta), so no constant of the
#   first account (time scale, channel list) is left for calibrate to rely on.
# synth_journeys SEED N RAMP_END OUT.requests.json: N journeys (25 % one
#   session, 40 % two, 35 % three to eight), gaps between minutes and ~3x the
#   ramp end (about 40 % of the multi-session journeys restart), 2 % same-second
#   sessions, six channels; bodies of 100 journeys, as a JSON list.
# synth_answer TRUTH REQ OUT: the responses of `attrib serve --model-file
#   TRUTH` to every body of REQ, as a JSON list aligned with it.

synth_truth() {
    jq --argjson s "$1" '
      .name = "synthetic truth" |
      .initializer_membership.hours |= map(. * $s) |
      .closer_membership.hours |= map(. * $s) |
      .channel_weights = {
        "Alpha": .channel_weights["Direct Traffic"],
        "Beta": .channel_weights["Referral"],
        "Gamma": .channel_weights["Social Organic"],
        "Delta": .channel_weights["Paid Search Brand"],
        "Epsilon": [0.93, 1.04, 1.09],
        "Zeta": .channel_weights["Organic Traffic"] }' \
        "$TOP/models/default.json" >"$2"
}

synth_journeys() {
    awk -v seed="$1" -v n="$2" -v ramp="$3" '
    # Park-Miller: exact in doubles, the same stream in every awk
    function rnd() { state = (state * 16807) % 2147483647; return state / 2147483647 }
    function two(x) { return (x < 10 ? "0" : "") x }
    # seconds since 1970 (UTC) as "%Y-%m-%d %H:%M:%S" (civil_from_days)
    function fmt(t,   d, s, z, era, doe, yoe, y, doy, mp, dd, mm) {
        d = int(t / 86400); s = t - d * 86400
        z = d + 719468; era = int(z / 146097); doe = z - era * 146097
        yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
        y = yoe + era * 400; doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
        mp = int((5 * doy + 2) / 153); dd = doy - int((153 * mp + 2) / 5) + 1
        mm = mp < 10 ? mp + 3 : mp - 9; if (mm <= 2) y++
        return y "-" two(mm) "-" two(dd) " " two(int(s / 3600)) ":" two(int(s % 3600 / 60)) ":" two(s % 60)
    }
    BEGIN {
        state = seed; split("Alpha Beta Gamma Delta Epsilon Zeta", ch, " ")
        printf "["
        for (j = 0; j < n; j++) {
            if (j % 100 == 0) printf "%s{\"customer_journeys\":[", (j > 0 ? "]}," : "")
            u = rnd(); len = u < 0.25 ? 1 : u < 0.65 ? 2 : 3 + int(rnd() * 6)
            t = 1672531200 + int(rnd() * 86400 * 300)
            for (k = 0; k < len; k++) {
                if (k > 0) {
                    u = rnd()
                    if (u < 0.02) gap = 0
                    else if (u < 0.6) gap = 60 * exp(rnd() * log(360))    # 1 min .. 6 h
                    else gap = rnd() * 3 * ramp * 3600                     # 0 .. 3x the ramp end
                    t += int(gap)
                }
                printf "%s{\"conversion_id\":\"c%05d\",\"session_id\":\"s%05d_%d\",\"timestamp\":\"%s\",\"channel_label\":\"%s\",\"holder_engagement\":%d,\"closer_engagement\":%d,\"conversion\":%d,\"impression_interaction\":0}", \
                    (j % 100 == 0 && k == 0) ? "" : ",", j, j, (k * 7 + 3) % 10, fmt(t), ch[1 + int(rnd() * 6)], \
                    (rnd() < 0.6), (rnd() < 0.35), (k == len - 1)
            }
        }
        printf "]}]\n"
    }' >"$4"
}

synth_answer() {
    "$ATTRIB" serve --model-file "$1" --no-auth --port 0 >synth_serve.out 2>synth_serve.err &
    synth_pid=$!
    i=0
    while [ $i -lt 300 ] && ! grep -q listening synth_serve.out 2>/dev/null &&
        kill -0 "$synth_pid" 2>/dev/null; do
        sleep 0.1
        i=$((i + 1))
    done
    synth_url=$(sed -n 's/^listening on //p' synth_serve.out)
    [ -n "$synth_url" ] || { kill "$synth_pid"; fail "serve did not start: $(cat synth_serve.err)"; }
    nb=$(jq length "$2")
    b=0
    printf '[' >"$3"
    while [ $b -lt "$nb" ]; do
        jq -c ".[$b]" "$2" >synth_body.json
        [ $b -gt 0 ] && printf ',' >>"$3"
        code=$(curl -s -o synth_resp.json -w '%{http_code}' -H 'Content-Type: application/json' \
            --data-binary @synth_body.json "$synth_url?conv_type_id=synthetic")
        [ "$code" = 200 ] || { kill "$synth_pid"; fail "serve answered HTTP $code: $(head -c 300 synth_resp.json)"; }
        cat synth_resp.json >>"$3"
        b=$((b + 1))
    done
    printf ']\n' >>"$3"
    kill -TERM "$synth_pid"
    wait "$synth_pid" || fail "serve exited $?: $(cat synth_serve.err)"
}
