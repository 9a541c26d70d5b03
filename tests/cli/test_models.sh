# The classic Markov example (Anderl et al. style, as in S. Bryl's
# ChannelAttribution walk-through): paths C1 > C2 > C3 (conversion),
# C1 (null), C2 > C3 (null).
#   start→C1 2/3, start→C2 1/3; C1→C2 1/2, C1→null 1/2; C2→C3 1; C3→conv 1/2.
#   P(conv) = (2/3·1/2 + 1/3)·1/2 = 1/3.
#   without C1: 1/3·1/2 = 1/6 → RE 0.5; without C2 or C3: 0 → RE 1.
#   shares 0.5/2.5 = 0.2, 0.4, 0.4.
# Shapley: only the full set {C1,C2,C3} converts (rate 1), every other set
# has rate 0 → each channel's marginal value is 1 only when it joins last:
# 1/3 each. Counterfactual: pi(C1>C2>C3) = 1, every path without one step
# has pi 0 → 1/3 each.
. "$TOP/tests/cli/lib.sh"

DB=$T/m.db
"$ATTRIB" --db "$DB" init -q >/dev/null 2>&1 || fail init
q "$DB" "INSERT INTO session_sources VALUES
 ('a1','u1','2023-01-01','10:00:00','C1',0,0,0),
 ('a2','u1','2023-01-02','10:00:00','C2',0,0,0),
 ('a3','u1','2023-01-03','10:00:00','C3',0,0,0),
 ('b1','u2','2023-01-01','11:00:00','C1',0,0,0),
 ('c1','u3','2023-01-02','11:00:00','C2',0,0,0),
 ('c2','u3','2023-01-03','11:00:00','C3',0,0,0);
INSERT INTO conversions VALUES ('k1','u1','2023-01-04','10:00:00',90.0);
INSERT INTO session_costs VALUES ('a1',10),('a2',20),('a3',30),('b1',10),('c1',20),('c2',30);"

credit() { # model [options...] → "a1 a2 a3" credits rounded to 12 digits
    m=$1
    shift
    expect_exit 0 "$ATTRIB" --db "$DB" attribute --model "$m" "$@" -q
    q "$DB" "SELECT group_concat(printf('%.12f', ihc), ' ') FROM
             (SELECT ihc FROM attribution_customer_journey WHERE conv_id='k1' ORDER BY session_id)"
}

eq "$(credit markov)" "0.200000000000 0.400000000000 0.400000000000" "markov order 1"
eq "$(credit markov --order 2)" "0.200000000000 0.400000000000 0.400000000000" "markov order 2"
eq "$(credit shapley)" "0.333333333333 0.333333333333 0.333333333333" "shapley"
eq "$(credit counterfactual)" "0.333333333333 0.333333333333 0.333333333333" "counterfactual"
eq "$(credit first)" "1.000000000000 0.000000000000 0.000000000000" "first"
eq "$(credit last)" "0.000000000000 0.000000000000 1.000000000000" "last"
eq "$(credit position)" "0.400000000000 0.200000000000 0.400000000000" "position"
eq "$(credit position --position-first 0.5 --position-last 0.3)" \
    "0.500000000000 0.200000000000 0.300000000000" "position 50/30"
# time-decay: 3, 2 and 1 days before the conversion, half-life 1 day:
# 1/8, 1/4, 1/2 over 7/8 → 1/7, 2/7, 4/7
eq "$(credit time-decay --half-life 1)" "0.142857142857 0.285714285714 0.571428571429" "time-decay"
eq "$(credit last-non-direct --direct-channels C3,C2)" \
    "1.000000000000 0.000000000000 0.000000000000" "last-non-direct"

# attrib markov: removal effects and the transition matrix
expect_exit 0 "$ATTRIB" --db "$DB" markov --print-transitions
grep -Eq '^C1 +0\.50000000000000000 +0\.20000000000000001' "$T/out" || fail "markov C1: $(cat "$T/out")"
grep -Eq '^C2 +1\.00000000000000000 +0\.40000000000000002' "$T/out" || fail "markov C2"
grep -q "P(conversion) from (start): 0.33333333333333" "$T/out" || fail "markov P(conversion)"
grep -q "$(printf '(start)\tC1\t2\t0.66666666666666663')" "$T/out" || fail "transition start→C1"
grep -q "$(printf 'C3\t(conversion)\t1\t0.5')" "$T/out" || fail "transition C3→conversion"
# standard totals (share x 1 conversion, x 90 revenue) beside the per-session totals
grep -Eq '^C2 +1\.0+ +0\.40+2 +0\.400000 +36\.000000 +0\.400000 +36\.000000$' "$T/out" ||
    fail "markov C2 totals: $(cat "$T/out")"
grep -q '^order 1, window states, conversions, 3 paths, 1 conversions' "$T/out" || fail "markov header"

# attrib compare: text on stdout, CSV and markdown files
expect_exit 0 "$ATTRIB" --db "$DB" compare --models markov,last --out "$T/c.csv" -q
grep -Eq '^C2 +markov +0\.40 +36\.00 +40\.0% +40\.00 +0\.90' "$T/out" || fail "compare text: $(cat "$T/out")"
eq "$(sed -n 1p "$T/c.csv")" "channel,model,conversions,revenue,share,cost,roas" "csv header"
eq "$(grep '^C3,last,' "$T/c.csv")" "C3,last,1,90,1,60,1.5" "csv C3 last"
eq "$(grep '^C1,markov,' "$T/c.csv")" "C1,markov,0.2,18,0.2,20,0.9" "csv C1 markov"
eq "$(grep '^C1,markov-standard,' "$T/c.csv")" "C1,markov-standard,0.2,18,0.2,20,0.9" "csv C1 standard"
expect_exit 0 "$ATTRIB" --db "$DB" compare --models linear --out "$T/c.md" -q
eq "$(sed -n 3p "$T/c.md")" "| C1 | linear | 0.33 | 30.00 | 33.3% | 20.00 | 1.50 |" "markdown row"

# Same bits with 1 and 4 threads, and from run to run (more than 1024
# journeys, so the pipeline really splits the work).
G=$T/g.db
expect_exit 0 "$ATTRIB" --db "$G" gen --sessions 100000 --seed 3 -q
for m in markov shapley counterfactual time-decay; do
    expect_exit 0 "$ATTRIB" --db "$G" attribute --model "$m" --threads 1 -q
    q "$G" "SELECT conv_id, session_id, quote(ihc) FROM attribution_customer_journey ORDER BY 1, 2" >"$T/t1"
    expect_exit 0 "$ATTRIB" --db "$G" attribute --model "$m" --threads 4 -q
    q "$G" "SELECT conv_id, session_id, quote(ihc) FROM attribution_customer_journey ORDER BY 1, 2" >"$T/t4"
    cmp -s "$T/t1" "$T/t4" || fail "$m: 1 and 4 threads differ"
    [ "$(wc -l <"$T/t1")" -gt 1024 ] || fail "$m: too few rows to test threads"
done
expect_exit 0 "$ATTRIB" --db "$G" compare --models markov,shapley --out "$T/a.csv" -q
expect_exit 0 "$ATTRIB" --db "$G" compare --models markov,shapley --out "$T/b.csv" -q
cmp -s "$T/a.csv" "$T/b.csv" || fail "compare differs from run to run"
# global credit (the default): the markov column equals markov-standard per channel
# (1e-9 relative); journey credit does not.
std_vs() { # csv → largest |markov - markov-standard| / total conversions
    awk -F, 'NR > 1 && $2 == "markov" { m[$1] = $3; t += $3 }
             NR > 1 && $2 == "markov-standard" { s[$1] = $3 }
             END { d = 0; for (c in m) { x = m[c] - s[c]; if (x < 0) x = -x; if (x > d) d = x }
                   printf "%.3g\n", d / t }' "$1"
}
awk -v d="$(std_vs "$T/a.csv")" 'BEGIN { exit !(d < 1e-9) }' || fail "global: $(std_vs "$T/a.csv")"
expect_exit 0 "$ATTRIB" --db "$G" compare --models markov --markov-credit journey --out "$T/j.csv" -q
awk -v d="$(std_vs "$T/j.csv")" 'BEGIN { exit !(d > 1e-4) }' || fail "journey: $(std_vs "$T/j.csv")"
# fit data: cut paths (default) differ from the journeys as attributed; a selected range
# fits on fewer paths
# (the chain: the transitions; the per-session totals follow the attributed journeys)
expect_exit 0 "$ATTRIB" --db "$G" markov --print-transitions
cp "$T/out" "$T/cut"
sed -n '/^from/,$p' "$T/cut" >"$T/cut.tr"
expect_exit 0 "$ATTRIB" --db "$G" markov --print-transitions --fit-paths journeys
sed -n '/^from/,$p' "$T/out" | cmp -s "$T/cut.tr" - && fail "--fit-paths journeys changes nothing"
expect_exit 0 "$ATTRIB" --db "$G" markov --print-transitions --fit-paths journeys --reset-after-conversion
sed -n '/^from/,$p' "$T/out" | cmp -s "$T/cut.tr" - ||
    fail "--fit-paths journeys --reset-after-conversion differs from cut"
all=$(sed -n '1s/.*conversions, \([0-9]*\) paths.*/\1/p' "$T/cut")
expect_exit 0 "$ATTRIB" --db "$G" markov --start-date 2023-01-02 --end-date 2023-01-02 --fit-range selected
sel=$(sed -n '1s/.*conversions, \([0-9]*\) paths.*/\1/p' "$T/out")
[ "$sel" -gt 0 ] && [ "$sel" -lt "$all" ] || fail "--fit-range selected: $sel of $all paths"

# usage errors
expect_exit 2 "$ATTRIB" --db "$DB" compare --models markov,nope
expect_err "unknown model 'nope'"
expect_exit 2 "$ATTRIB" --db "$DB" attribute --model markov --order 9
expect_exit 2 "$ATTRIB" --db "$DB" markov --markov-states windows
expect_err "--markov-states takes window or collapsed, not 'windows'"
expect_exit 2 "$ATTRIB" --db "$DB" markov --markov-credit total
expect_exit 2 "$ATTRIB" --db "$DB" compare --fit-paths all
expect_exit 2 "$ATTRIB" --db "$DB" compare --fit-range some
expect_exit 2 "$ATTRIB" --db "$DB" attribute --model time-decay --half-life abc
expect_exit 2 "$ATTRIB" --db "$DB" attribute --model position --position-first 0.8
exit 0
