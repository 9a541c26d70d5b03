"""Airflow DAG: attrib's daily attribution, one task per step.

Each run covers its data interval's day ({{ ds }}): conversions of that day
are attributed (replacing their rows), the report rows they touch are
recomputed, and the day's CSV and HTML report are exported. Steps are
idempotent, so a retry or a re-run of a day gives the same tables and files.
Each task pushes its summary JSON (one line) as its XCom return value.

Set the paths in `params` (or per run in the trigger's conf). The database can
be a SQLite path or a postgresql:// URI (put the password in ~/.pgpass, not
here).

Tested without Airflow: tests/cli/test_contrib.sh parses this file with
Python's ast, extracts each task's command and the dependencies, renders the
templates, runs the commands in dependency order over a demo database and
compares the result with `attrib run` (see contrib/README.md).
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

# The summary JSON of a step, as one line on stdout: BashOperator pushes the
# last line of stdout as the task's XCom.
XCOM = " && python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "

with DAG(
    dag_id="attrib_daily",
    description="attrib: attribute, report and export one day",
    start_date=datetime(2024, 1, 1),
    schedule="15 2 * * *",
    catchup=True,
    max_active_runs=1,  # days run in order: a day's journeys reach back into earlier days
    default_args={
        "retries": 3,
        "retry_delay": timedelta(minutes=10),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(hours=2),
    },
    params={
        "attrib": "attrib",
        "db": "/var/lib/attrib/attrib.db",
        "out": "/var/lib/attrib/reports",
    },
    tags=["attribution"],
) as dag:
    init = BashOperator(
        task_id="init",
        bash_command="mkdir -p {{ params.out }}"
        " && {{ params.attrib }} --db {{ params.db }} init -q",
    )
    attribute = BashOperator(
        task_id="attribute",
        bash_command="{{ params.attrib }} --db {{ params.db }} attribute -q --phases"
        " --start-date {{ ds }} --end-date {{ ds }}"
        " --summary-json {{ params.out }}/attribute-{{ ds }}.json"
        + XCOM + "{{ params.out }}/attribute-{{ ds }}.json",
        do_xcom_push=True,
    )
    report = BashOperator(
        task_id="report",
        bash_command="{{ params.attrib }} --db {{ params.db }} report -q"
        " --start-date {{ ds }} --end-date {{ ds }}"
        " --summary-json {{ params.out }}/report-{{ ds }}.json"
        + XCOM + "{{ params.out }}/report-{{ ds }}.json",
        do_xcom_push=True,
    )
    export = BashOperator(
        task_id="export",
        bash_command="{{ params.attrib }} --db {{ params.db }} export -q"
        " --start-date {{ ds }} --end-date {{ ds }}"
        " --out {{ params.out }}/channel_reporting-{{ ds }}.csv"
        " --html {{ params.out }}/report-{{ ds }}.html"
        " --summary-json {{ params.out }}/export-{{ ds }}.json"
        + XCOM + "{{ params.out }}/export-{{ ds }}.json",
        do_xcom_push=True,
    )

    init >> attribute >> report >> export
