#!/bin/sh
# attrib's daily run for cron or a systemd timer: attribute, report and
# export one day (yesterday in UTC by default, or the date given as $1), as
# the Airflow DAG does. Idempotent: re-running a day gives the same tables
# and files. Configure with the environment (or /etc/default/attrib, read
# when present):
#   ATTRIB      the binary                    (default: attrib)
#   ATTRIB_DB   SQLite path or postgresql:// URI (required)
#   ATTRIB_OUT  directory of the reports      (default: /var/lib/attrib/reports)
set -eu
[ -r /etc/default/attrib ] && . /etc/default/attrib
: "${ATTRIB_DB:?set ATTRIB_DB (a SQLite path or a postgresql:// URI)}"
ATTRIB=${ATTRIB:-attrib}
OUT=${ATTRIB_OUT:-/var/lib/attrib/reports}
day=${1:-$(date -u -d yesterday +%F)}
mkdir -p "$OUT"
"$ATTRIB" --db "$ATTRIB_DB" init -q
"$ATTRIB" --db "$ATTRIB_DB" attribute -q --phases --start-date "$day" --end-date "$day" \
    --summary-json "$OUT/attribute-$day.json"
"$ATTRIB" --db "$ATTRIB_DB" report -q --start-date "$day" --end-date "$day" \
    --summary-json "$OUT/report-$day.json"
"$ATTRIB" --db "$ATTRIB_DB" export -q --start-date "$day" --end-date "$day" \
    --out "$OUT/channel_reporting-$day.csv" --html "$OUT/report-$day.html" \
    --summary-json "$OUT/export-$day.json"
