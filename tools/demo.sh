#!/bin/sh
# `make demo`: the main job on a generated dataset, no network needed.
# Usage: sh tools/demo.sh [path/to/attrib]
#   1. attrib gen: ~100k realistic sessions into demo/demo.db (recreated);
#   2. attrib run: init + attribute (local IHC engine) + report + export;
#   3. show where the CSV report is and its first lines.
set -eu

ATTRIB=${1:-build/attrib}
DIR=${DEMO_DIR:-demo}
SESSIONS=${DEMO_SESSIONS:-100000}
DB=$DIR/demo.db
CSV=$DIR/channel_reporting.csv

[ -x "$ATTRIB" ] || { echo "demo: $ATTRIB is missing; run 'make demo'" >&2; exit 1; }
mkdir -p "$DIR"
rm -f "$DB" "$DB-journal" "$DB-wal" "$DB-shm" "$CSV"

echo "== attrib gen: $SESSIONS synthetic sessions into $DB"
"$ATTRIB" --db "$DB" gen --sessions "$SESSIONS" --seed 1
echo
echo "== attrib run --engine local"
"$ATTRIB" --db "$DB" run --engine local --out "$CSV"
echo
echo "== the channel report: $CSV ($(($(wc -l <"$CSV") - 1)) rows); first lines:"
head -n 8 "$CSV"
echo
echo "Tables attribution_customer_journey and channel_reporting are in $DB."
