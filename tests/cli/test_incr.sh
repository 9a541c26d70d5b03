# The exact incremental report (docs/pipeline.md, "report"): after a full run
# the report sums in attrib_report_sums are valid, ranged attribute steps keep
# them exact by deltas, and a ranged report serves the keys outside its range
# from them. Oracle throughout: a copy of the database given a full report
# must hold the same channel_reporting (exact bits) and the same non-zero sums.
. "$TOP/tests/cli/lib.sh"

sums() {
    q "$1" "SELECT channel_name, date, ihc_hi, ihc_lo, rev_hi, rev_lo FROM attrib_report_sums
WHERE ihc_hi <> 0 OR ihc_lo <> 0 OR rev_hi <> 0 OR rev_lo <> 0 ORDER BY 1, 2"
}

# same_as_full DB WHAT: DB's outputs and sums equal a full report's.
same_as_full() {
    rm -f oracle.db
    cp "$1" oracle.db
    expect_exit 0 "$ATTRIB" --db oracle.db report -q
    eq "$(dump_outputs "$1")" "$(dump_outputs oracle.db)" "$2: tables vs a full report"
    eq "$(sums "$1")" "$(sums oracle.db)" "$2: report sums vs a full report"
}

meta() { q "$1" "SELECT value FROM attrib_meta WHERE key = 'report_sums'"; }

# Sessions read by the last command, from its summary line.
sessions_read() {
    sed -n 's/^ *\([0-9][0-9]*\) sessions read.*/\1/p' "$T/err" "$T/out" | head -n 1
}

# 30 days of generated data: journeys cross many days.
expect_exit 0 "$ATTRIB" --db g.db gen -q -n 30000 --seed 11 --days 30
expect_exit 0 "$ATTRIB" --db g.db run -q --model linear --out full.csv
eq "$(meta g.db)" "valid" "sums after a full run"
[ "$(q g.db "SELECT count(*) FROM attrib_report_sums")" -gt 0 ] || fail "no sums written by the full run"
same_as_full g.db "full run"

# 1. One-day runs that change the credit of the history: another model and a
#    shorter lookback; each must equal a full recompute.
expect_exit 0 "$ATTRIB" --db g.db run -q --model first --start-date 2023-01-20 --end-date 2023-01-20 --out d.csv
same_as_full g.db "one-day run, first"
eq "$(q g.db "SELECT count(*) FROM attrib_dirty_keys")" "0" "dirty keys after the ranged report"
eq "$(q g.db "SELECT count(*) FROM attrib_dirty_dates")" "0" "dirty dates with valid sums"
# A rerun of the day leaves the rows of the other dates as they are (none
# deleted and written again: a trigger of the test logs the dates written);
# another model changes the credit of earlier days, whose rows are replaced.
q g.db "CREATE TABLE written (date text);
CREATE TRIGGER log_written AFTER INSERT ON channel_reporting
BEGIN INSERT INTO written VALUES (new.date); END"
others() { q g.db "SELECT count(*) FROM written WHERE date <> '2023-01-20'"; }
expect_exit 0 "$ATTRIB" --db g.db run -q --model first --start-date 2023-01-20 --end-date 2023-01-20 --out d.csv
eq "$(others)" "0" "rows of other dates written by a rerun of the day"
[ "$(q g.db "SELECT count(*) FROM written")" -gt 0 ] || fail "the day's own rows were not written"
same_as_full g.db "rerun of the day"
expect_exit 0 "$ATTRIB" --db g.db run -q --model linear --start-date 2023-01-20 --end-date 2023-01-20 --out d.csv
[ "$(others)" -gt 0 ] || fail "earlier days' rows kept although their credit changed"
same_as_full g.db "the day again, linear"
q g.db "DROP TRIGGER log_written; DROP TABLE written"
expect_exit 0 "$ATTRIB" --db g.db run -q --model linear --lookback-days 3 --start-date 2023-01-25 --end-date 2023-01-27 --out d.csv
same_as_full g.db "three-day run, lookback 3"

# 2. Separate steps: a ranged attribute leaves dirty keys (only keys whose sums
#    changed), a report of ANOTHER range serves them from the sums, and reads
#    only the sessions of its own dates.
expect_exit 0 "$ATTRIB" --db g.db attribute -q --model last --start-date 2023-01-15 --end-date 2023-01-16
[ "$(q g.db "SELECT count(*) FROM attrib_dirty_keys")" -gt 0 ] || fail "no dirty keys after a ranged attribute"
eq "$(q g.db "SELECT count(*) FROM attrib_dirty_keys WHERE date > '2023-01-16'")" "0" \
   "dirty keys after the conversions' dates"
expect_exit 0 "$ATTRIB" --db g.db report --start-date 2023-01-29 --end-date 2023-01-29
eq "$(sessions_read)" "$(q g.db "SELECT count(*) FROM session_sources WHERE event_date = '2023-01-29'")" \
   "sessions read by a one-day report with valid sums (its own date only)"
eq "$(q g.db "SELECT count(*) FROM attrib_dirty_keys")" "0" "dirty keys after the other range's report"
same_as_full g.db "attribute one range, report another"
# Re-attributing with the same arguments changes no sum: no dirty key.
expect_exit 0 "$ATTRIB" --db g.db attribute -q --model last --start-date 2023-01-15 --end-date 2023-01-16
eq "$(q g.db "SELECT count(*) FROM attrib_dirty_keys")" "0" "dirty keys after an identical re-attribution"

# 3. A key outside the range whose channel_reporting row is missing: its date
#    is recomputed from scratch.
k=$(q g.db "SELECT s.channel_name || '|' || s.event_date FROM conversions c
JOIN attribution_customer_journey a ON a.conv_id = c.conv_id
JOIN session_sources s ON s.session_id = a.session_id
WHERE c.conv_date = '2023-01-22' AND s.event_date < '2023-01-22' LIMIT 1")
[ -n "$k" ] || fail "no journey of 2023-01-22 reaches an earlier day"
ch=${k%|*}
d=${k#*|}
q g.db "DELETE FROM channel_reporting WHERE channel_name = '$ch' AND date = '$d'"
expect_exit 0 "$ATTRIB" --db g.db run -q --model linear --start-date 2023-01-22 --end-date 2023-01-22 --out d.csv
eq "$(q g.db "SELECT count(*) FROM channel_reporting WHERE channel_name = '$ch' AND date = '$d'")" "1" \
   "missing row of a journey's key restored"
same_as_full g.db "missing row recomputed"

# 4. A full attribute invalidates the sums (and marks every date dirty): a
#    ranged attribute then remembers whole dates, not keys, and the next
#    report, ranged or not, recomputes everything and makes the sums valid.
expect_exit 0 "$ATTRIB" --db g.db attribute -q --model linear
eq "$(meta g.db)" "invalid" "sums after a full attribute"
eq "$(q g.db "SELECT count(*) FROM attrib_report_sums")" "0" "sums rows after a full attribute"
expect_exit 0 "$ATTRIB" --db g.db attribute -q --model first --start-date 2023-01-10 --end-date 2023-01-10
[ "$(q g.db "SELECT count(*) FROM attrib_dirty_dates WHERE date <> '*'")" -gt 0 ] || fail "no dirty dates with invalid sums"
eq "$(q g.db "SELECT count(*) FROM attrib_dirty_keys")" "0" "dirty keys with invalid sums"
expect_exit 0 "$ATTRIB" --db g.db report -q --start-date 2023-01-10 --end-date 2023-01-10
eq "$(meta g.db)" "valid" "sums after the ranged report that recomputed everything"
eq "$(q g.db "SELECT count(*) FROM attrib_dirty_dates")" "0" "dirty dates after that report"
same_as_full g.db "ranged report after a full attribute"
expect_exit 0 "$ATTRIB" --db g.db run -q --model linear --start-date 2023-01-10 --end-date 2023-01-10 --out d.csv
same_as_full g.db "one-day run after that"

# 5. The incremental state gives what steps from scratch give: the same
#    sequence of attributions, one full report at the end.
expect_exit 0 "$ATTRIB" --db s.db gen -q -n 30000 --seed 11 --days 30
expect_exit 0 "$ATTRIB" --db s.db run -q --model linear --out s.csv
for r in "2023-01-05 2023-01-05 first" "2023-01-18 2023-01-21 last" "2023-01-30 2023-01-30 linear"; do
    set -- $r
    expect_exit 0 "$ATTRIB" --db s.db run -q --model "$3" --start-date "$1" --end-date "$2" --out s.csv
done
expect_exit 0 "$ATTRIB" --db s.db export -q --out inc.csv
rm -f oracle.db
cp s.db oracle.db
expect_exit 0 "$ATTRIB" --db oracle.db report -q
expect_exit 0 "$ATTRIB" --db oracle.db export -q --out oracle.csv
cmp -s inc.csv oracle.csv || { diff inc.csv oracle.csv | head; fail "CSV after incremental runs differs from a full report's"; }

# 6. gen --force empties the sums and their marker with the outputs; without a
#    full report since, ranged runs keep to whole dates and write no sums.
expect_exit 0 "$ATTRIB" --db s.db gen -q -n 5000 --seed 2 --days 7 --force
eq "$(q s.db "SELECT count(*) FROM attrib_report_sums")" "0" "sums after gen --force"
eq "$(meta s.db)" "" "sums marker after gen --force"
expect_exit 0 "$ATTRIB" --db s.db run -q --model linear --start-date 2023-01-05 --end-date 2023-01-05 --out s.csv
eq "$(q s.db "SELECT count(*) FROM attrib_report_sums")" "0" "sums after a ranged run without a full one"
expect_exit 0 "$ATTRIB" --db s.db attribute -q --model first --start-date 2023-01-05 --end-date 2023-01-05
[ "$(q s.db "SELECT count(*) FROM attrib_dirty_dates")" -gt 0 ] || fail "no dirty dates without valid sums"
echo ok
