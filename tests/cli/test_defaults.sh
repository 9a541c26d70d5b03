# Option defaults and the "set" state: a value given on the command line or
# in the config file is honoured even when it equals another option's default
# (the old sentinel bugs), an unset option takes the default --help shows,
# and precedence is defaults < config file < command line.
. "$TOP/tests/cli/lib.sh"
G="$TOP/tests/data/ihc"
golden_db g.db

# compare --out FILE writes FILE whatever its name, including the name that
# is export's default.
expect_exit 0 "$ATTRIB" --db g.db compare --models last,linear --out channel_reporting.csv
[ -s channel_reporting.csv ] || fail "compare --out channel_reporting.csv wrote nothing"
head -n 1 channel_reporting.csv | grep -q ',' || fail "compare --out: not a CSV table"
# ... and without --out it writes no file.
rm -f channel_reporting.csv
expect_exit 0 "$ATTRIB" --db g.db compare --models last
[ ! -e channel_reporting.csv ] || fail "compare wrote a file without --out"
# compare --format ihc-json is journeys' default, not "unset": refused.
expect_exit 2 "$ATTRIB" --db g.db compare --models last --out t.md --format ihc-json
expect_err 'format'
# A config file value is "set" too, even when it equals a default.
printf 'out = channel_reporting.csv\nmodels = last\n' >c.conf
expect_exit 0 "$ATTRIB" --db g.db compare --config c.conf
[ -s channel_reporting.csv ] || fail "compare: out from the config file ignored"
rm -f channel_reporting.csv

# journeys --out channel_reporting.csv writes that file, not standard output.
expect_exit 0 "$ATTRIB" --db g.db journeys --format jsonl --out channel_reporting.csv
[ -s channel_reporting.csv ] || fail "journeys --out channel_reporting.csv wrote nothing"
[ ! -s "$T/out" ] || fail "journeys --out channel_reporting.csv wrote to stdout"
expect_exit 0 "$ATTRIB" --db g.db journeys --format jsonl
eq "$(wc -l <"$T/out")" "$(wc -l <channel_reporting.csv)" "journeys to stdout by default"
rm -f channel_reporting.csv

# calibrate --out channel_reporting.csv is a model file name like any other.
expect_exit 0 "$ATTRIB" calibrate --requests "$G/golden_requests.json" \
    --responses "$G/golden_responses.json" --split all --sweeps 1 --out channel_reporting.csv
grep -q '"format": "attrib-ihc-model/1"' channel_reporting.csv || fail "calibrate --out ignored"
# 0 is not "use the default": --sweeps 0 and --holdout-percent 0 are refused
# (the library would read them as 40 and 30).
expect_exit 2 "$ATTRIB" calibrate --requests "$G/golden_requests.json" \
    --responses "$G/golden_responses.json" --sweeps 0 --out m.json
expect_err 'sweeps'
expect_exit 2 "$ATTRIB" eval --requests "$G/golden_requests.json" \
    --responses "$G/golden_responses.json" --holdout-percent 0 --split holdout
expect_err 'holdout-percent'

# eval --worst 0 lists no journeys (it listed the default 10).
expect_exit 0 "$ATTRIB" eval --requests "$G/golden_requests.json" \
    --responses "$G/golden_responses.json" --worst 0
eq "$(sed -n '/^worst journeys/{n;p;}' "$T/out")" "" "eval --worst 0"
expect_exit 0 "$ATTRIB" eval --requests "$G/golden_requests.json" \
    --responses "$G/golden_responses.json"
[ -n "$(sed -n '/^worst journeys/{n;p;}' "$T/out")" ] || fail "eval lists no worst journeys"

# --order 0 is outside 1..8 (it meant the default 1).
expect_exit 2 "$ATTRIB" --db g.db markov --order 0
expect_err 'order'
expect_exit 0 "$ATTRIB" --db g.db markov
grep -q '^order 1,' "$T/out" || fail "markov: default order is not 1"

# Precedence: defaults < $ATTRIB_DB < config file < command line.
expect_exit 0 env ATTRIB_DB=g.db "$ATTRIB" export
[ -s channel_reporting.csv ] || fail "export: default --out"
printf 'db = nope.db\nout = from-config.csv\n' >p.conf
expect_exit 0 env ATTRIB_DB=nope2.db "$ATTRIB" --config p.conf --db g.db export
[ -s from-config.csv ] || fail "export: --out from the config file"
expect_exit 0 env ATTRIB_DB=nope2.db "$ATTRIB" --config p.conf --db g.db export --out cli.csv
[ -s cli.csv ] || fail "export: the command line beats the config file"
[ ! -e nope.db ] && [ ! -e nope2.db ] || fail "a lower-precedence --db was opened"
exit 0
