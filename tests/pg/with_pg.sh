#!/bin/sh
# Run a command with a PostgreSQL server for the tests:
#
#   tests/pg/with_pg.sh CMD [ARGS...]
#
# With $ATTRIB_PG_URI set (your own server, or a cluster of
# tests/pg/pg_start.sh whose env you sourced), runs CMD as it is. Otherwise
# starts a throwaway cluster with tests/pg/pg_start.sh in a fresh temp
# directory (port $ATTRIB_PG_PORT, else 55432 or one of the ten after it),
# exports its ATTRIB_PG_* variables to CMD, and stops and removes it when CMD
# ends, fails or is interrupted. Exits with CMD's status; 1 with the reason
# when no cluster can be started (a test run without PostgreSQL is not a full
# run: `make test-quick` runs without it, skipping those tests). A signal to
# this script alone stops the cluster once CMD has returned; Ctrl-C stops both.
set -u
if [ -n "${ATTRIB_PG_URI:-}" ]; then
    exec "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/attrib-pg.XXXXXX") || exit 1
cleanup() { sh "$here/pg_stop.sh" "$dir"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
if ! sh "$here/pg_start.sh" "$dir" >"$dir.start.log" 2>&1; then
    echo "with_pg: cannot start a PostgreSQL test cluster:" >&2
    cat "$dir.start.log" >&2
    rm -f "$dir.start.log"
    echo "with_pg: install postgresql (make deps) or set ATTRIB_PG_URI; make test-quick runs without it" >&2
    exit 1
fi
rm -f "$dir.start.log"
. "$dir/env"
echo "PostgreSQL test cluster: $ATTRIB_PG_URI (stopped at the end)"
"$@"
