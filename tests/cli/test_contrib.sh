# The orchestration examples reproduce `attrib run`. Airflow is not installed:
# the DAG (contrib/airflow/attrib_dag.py) is parsed with Python's ast
# (tests/contrib/dag_commands.py: task commands, dependencies, templates),
# and its commands run in dependency order for every day of a demo database,
# as a backfill would; the cron/systemd script (contrib/cron/attrib-daily.sh)
# runs over the same days. Both end with the tables `attrib run` writes, the
# last day's CSV equals `attrib export` of that day, and each task's XCom
# (its last stdout line) is its summary JSON.
. "$TOP/tests/cli/lib.sh"

command -v python3 >/dev/null 2>&1 || fail "no python3 (tools/deps.sh installs it)"
DAG="$TOP/contrib/airflow/attrib_dag.py"
expect_exit 0 "$ATTRIB" --db base.db gen -q -n 12000 --seed 5150 --start-date 2023-11-20 --days 6
cp base.db dag.db && cp base.db cron.db && cp base.db run.db
expect_exit 0 "$ATTRIB" --db run.db run -q --phases --out run.csv

days=$(q base.db "SELECT event_date FROM session_sources UNION SELECT conv_date FROM conversions
    ORDER BY 1")
[ "$(echo "$days" | wc -l)" -ge 6 ] || fail "too few days in the demo data"
for day in $days; do
    python3 "$TOP/tests/contrib/dag_commands.py" "$DAG" "$day" attrib="$ATTRIB" db=dag.db \
        out="$T/dag-out" >cmds.tsv || fail "cannot extract the DAG's commands"
    eq "$(cut -f1 cmds.tsv | tr '\n' ' ')" "init attribute report export " "task order of the DAG"
    n=0
    tab=$(printf '\t')
    while IFS="$tab" read -r task cmd; do
        n=$((n + 1))
        sh -c "$cmd" >"xcom-$day-$task.out" 2>task.err ||
            { cat task.err; fail "DAG task $task on $day: $cmd"; }
        [ -s task.err ] && { cat task.err; fail "DAG task $task on $day wrote to stderr"; }
    done <cmds.tsv
    eq "$n" 4 "commands run on $day"
    ATTRIB="$ATTRIB" ATTRIB_DB=cron.db ATTRIB_OUT="$T/cron-out" \
        sh "$TOP/contrib/cron/attrib-daily.sh" "$day" 2>cron.err || fail "cron script on $day"
    [ -s cron.err ] && { cat cron.err; fail "cron script on $day wrote to stderr"; }
done
last=$(echo "$days" | tail -n 1)
# Each step's XCom (the last line of its stdout) is its summary JSON.
python3 - $days <<'PY' || fail "an XCom is not the task's summary JSON"
import json, sys
for day in sys.argv[1:]:
    for task in ("attribute", "report", "export"):
        last = open("xcom-%s-%s.out" % (day, task)).read().splitlines()[-1]
        d = json.loads(last)
        assert d["command"] == task and d["start_date"] == day and d["exit_status"] == 0, d
PY
[ -s "$T/dag-out/report-$last.html" ] || fail "the DAG wrote no HTML report"

want=$(dump_outputs run.db)
eq "$(dump_outputs dag.db)" "$want" "the DAG's backfill vs attrib run"
eq "$(dump_outputs cron.db)" "$want" "the cron script's days vs attrib run"
expect_exit 0 "$ATTRIB" --db run.db export -q --start-date "$last" --end-date "$last" --out last.csv
cmp -s last.csv "$T/dag-out/channel_reporting-$last.csv" || fail "the DAG's last CSV differs"
cmp -s last.csv "$T/cron-out/channel_reporting-$last.csv" || fail "the cron script's last CSV differs"

# The extractor refuses what it cannot render, and a cycle.
sed 's/{{ ds }}/{{ ds_nodash }}/' "$DAG" >bad_dag.py
python3 "$TOP/tests/contrib/dag_commands.py" bad_dag.py 2024-01-01 >/dev/null 2>&1 &&
    fail "a template it cannot render passed"
sed 's/init >> attribute >> report >> export/init >> attribute >> report >> export >> init/' \
    "$DAG" >cyc_dag.py
python3 "$TOP/tests/contrib/dag_commands.py" cyc_dag.py 2024-01-01 >/dev/null 2>&1 &&
    fail "a cycle passed"
echo ok
