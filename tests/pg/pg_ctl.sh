#!/bin/sh
# Run pg_ctl (or another server binary) on a cluster of tests/pg/pg_start.sh
# as its owner: tests/pg/pg_ctl.sh DIR ARGS... e.g. `restart -m fast`.
set -u
dir=${1:?usage: pg_ctl.sh DIR ARGS...}
shift
. "$dir/env"
if [ "$(id -u)" -eq 0 ] && [ "$ATTRIB_PG_USER" != root ]; then
    exec runuser -u "$ATTRIB_PG_USER" -- "$ATTRIB_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" "$@"
fi
exec "$ATTRIB_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" "$@"
