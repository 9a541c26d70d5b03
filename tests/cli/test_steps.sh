# Each step on its own gives what `run` gives, with and without a range, and
# re-running any step with the same arguments changes nothing (same tables,
# byte-identical CSV).
. "$TOP/tests/cli/lib.sh"

for range in "" "--start-date 2023-09-02 --end-date 2023-09-06"; do
    golden_db run.db
    golden_db steps.db
    # shellcheck disable=SC2086
    expect_exit 0 "$ATTRIB" --db run.db run -q --model linear $range --out run.csv
    # shellcheck disable=SC2086
    expect_exit 0 "$ATTRIB" --db steps.db attribute -q --model linear $range
    # shellcheck disable=SC2086
    expect_exit 0 "$ATTRIB" --db steps.db report -q $range
    # shellcheck disable=SC2086
    expect_exit 0 "$ATTRIB" --db steps.db export -q $range --out steps.csv
    eq "$(dump_outputs steps.db)" "$(dump_outputs run.db)" "separate steps vs run [$range]"
    cmp -s steps.csv run.csv || fail "CSV of separate steps differs from run [$range]"

    # Idempotent: every step again, same arguments.
    d1=$(dump_outputs run.db)
    cp run.csv run1.csv
    # shellcheck disable=SC2086
    expect_exit 0 "$ATTRIB" --db run.db run -q --model linear $range --out run.csv
    # shellcheck disable=SC2086
    expect_exit 0 "$ATTRIB" --db run.db attribute -q --model linear $range
    # shellcheck disable=SC2086
    expect_exit 0 "$ATTRIB" --db run.db report -q $range
    # shellcheck disable=SC2086
    expect_exit 0 "$ATTRIB" --db run.db export -q $range --out run.csv
    eq "$(dump_outputs run.db)" "$d1" "tables after re-running every step [$range]"
    cmp -s run.csv run1.csv || fail "CSV not byte-identical on re-run [$range]"
done

# With valid report sums (after a full run) a ranged run's report step takes
# the rows its attribute step stored from memory, where the report command
# reads them back: the same tables, for changed rows (another model) and
# unchanged ones (the same model again). The last day of 30: no conversion
# after it, so the day's credit comes from those rows too.
expect_exit 0 "$ATTRIB" --db hand.db gen -q -n 20000 --seed 3 --days 30
expect_exit 0 "$ATTRIB" --db hand.db run -q --model linear --out hand.csv
for model in first first linear; do
    cp hand.db back.db
    expect_exit 0 "$ATTRIB" --db hand.db run -q --model $model --start-date 2023-01-30 \
        --end-date 2023-01-30 --out hand.csv
    expect_exit 0 "$ATTRIB" --db back.db attribute -q --model $model --start-date 2023-01-30 \
        --end-date 2023-01-30
    expect_exit 0 "$ATTRIB" --db back.db report -q --start-date 2023-01-30 --end-date 2023-01-30
    eq "$(dump_outputs hand.db)" "$(dump_outputs back.db)" "ranged run vs attribute + report ($model)"
done

# The separate report after a separate attribute with a range must also pick
# up the dates of rows that attribute replaced: attribute everything, then
# re-attribute 09-02..09-05 with a lookback that drops c2's older sessions.
golden_db dd.db
expect_exit 0 "$ATTRIB" --db dd.db run -q --model linear --out dd.csv
expect_exit 0 "$ATTRIB" --db dd.db attribute -q --model linear --lookback-days 2 --start-date 2023-09-02 --end-date 2023-09-05
expect_exit 0 "$ATTRIB" --db dd.db report -q --start-date 2023-09-02 --end-date 2023-09-05
# c2 (09-05 08:00) with 2 days: s3 only. Paid Search 09-01 keeps c1's s1 = 1
# and loses c2's third; Direct 09-02 (s2) loses c2's third -> 0.
eq "$(q dd.db "SELECT printf('%.6f', ihc) FROM channel_reporting WHERE channel_name = 'Paid Search' AND date = '2023-09-01'")" \
   "1.000000" "Paid Search 09-01 after re-attribution"
eq "$(q dd.db "SELECT printf('%.6f', ihc) FROM channel_reporting WHERE channel_name = 'Direct Traffic' AND date = '2023-09-02'")" \
   "0.000000" "Direct Traffic 09-02 after re-attribution"
# The same state computed from scratch agrees with the incremental one.
golden_db fresh.db
expect_exit 0 "$ATTRIB" --db fresh.db attribute -q --model linear --end-date 2023-09-01
expect_exit 0 "$ATTRIB" --db fresh.db attribute -q --model linear --start-date 2023-09-02 --end-date 2023-09-05 --lookback-days 2
expect_exit 0 "$ATTRIB" --db fresh.db attribute -q --model linear --start-date 2023-09-06
expect_exit 0 "$ATTRIB" --db fresh.db report -q
eq "$(dump_outputs dd.db)" "$(dump_outputs fresh.db)" "incremental report vs full report"
# The storage order of the input does not matter: session_costs rewritten in
# reverse id order (so the sorted-merge read cannot be used and the join is)
# and session_sources in reverse too give the same tables and CSV.
golden_db a.db
golden_db b.db
q b.db "CREATE TABLE c2 AS SELECT * FROM session_costs ORDER BY session_id DESC;
DELETE FROM session_costs; INSERT INTO session_costs SELECT * FROM c2; DROP TABLE c2;
CREATE TABLE s2 AS SELECT * FROM session_sources ORDER BY session_id DESC;
DELETE FROM session_sources; INSERT INTO session_sources SELECT * FROM s2; DROP TABLE s2;"
expect_exit 0 "$ATTRIB" --db a.db run -q --model linear --out a.csv
expect_exit 0 "$ATTRIB" --db b.db run -q --model linear --out b.csv
eq "$(dump_outputs b.db)" "$(dump_outputs a.db)" "tables do not depend on storage order"
cmp -s a.csv b.csv || fail "CSV depends on storage order"

# The report gets the permissions a plain fopen would: a new file the
# umask's, a replaced file its own; no temp file is left behind.
(umask 027 && exec "$ATTRIB" --db a.db export -q --out perm.csv) || fail "export under umask 027"
eq "$(stat -c %a perm.csv)" "640" "new report under umask 027"
chmod 604 perm.csv
expect_exit 0 "$ATTRIB" --db a.db export -q --out perm.csv
eq "$(stat -c %a perm.csv)" "604" "replaced report keeps its mode"
eq "$(ls | grep -c '\.tmp\.')" "0" "temp files left"
echo ok
