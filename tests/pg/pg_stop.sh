#!/bin/sh
# Stop a cluster started by tests/pg/pg_start.sh DIR and remove DIR.
#   tests/pg/pg_stop.sh DIR
set -u
dir=${1:?usage: pg_stop.sh DIR}
[ -f "$dir/env" ] || { rm -rf "$dir"; exit 0; }
. "$dir/env"
if [ "$(id -u)" -eq 0 ] && [ "$ATTRIB_PG_USER" != root ]; then
    runuser -u "$ATTRIB_PG_USER" -- "$ATTRIB_PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
else
    "$ATTRIB_PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
fi
rm -rf "$dir"
