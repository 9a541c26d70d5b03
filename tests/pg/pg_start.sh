#!/bin/sh
# Start a throwaway PostgreSQL cluster for the store tests and the benchmark.
#
#   tests/pg/pg_start.sh DIR [PORT]
#
# Creates DIR (a fresh temp directory is fine), runs Debian's initdb and
# pg_ctl there as an unprivileged user (as root: the system user
# `attribtest`, created if missing), listening on 127.0.0.1:PORT (default
# 55432; the next free one of the ten after it) and on a unix socket in
# DIR. Roles: `attrib` (superuser, trust auth) owning database `attrib`, and
# `attrib_pw` with password `attrib-secret-pw` (scram-sha-256), for the
# wrong-password test. Writes DIR/env with
#   ATTRIB_PG_URI=postgresql://attrib@127.0.0.1:PORT/attrib
#   ATTRIB_PG_PW_URI=postgresql://attrib_pw@127.0.0.1:PORT/attrib
#   ATTRIB_PG_DIR=DIR  ATTRIB_PG_BIN=...  ATTRIB_PG_PORT=PORT  ATTRIB_PG_USER=...
# (source it), and prints the same lines. Exits non-zero, with the reason on
# stderr, when no cluster can be started. Stop it with tests/pg/pg_stop.sh DIR.
# max_prepared_transactions is 16 (two-phase commit of attrib-mpi jobs), or
# $ATTRIB_PG_MAX_PREPARED (0: a server without prepared transactions).
set -eu
dir=${1:?usage: pg_start.sh DIR [PORT]}
port=${2:-${ATTRIB_PG_PORT:-55432}}

bin=""
for v in 17 16 15 14 13; do
    if [ -x "/usr/lib/postgresql/$v/bin/initdb" ]; then bin=/usr/lib/postgresql/$v/bin; break; fi
done
[ -n "$bin" ] || { echo "pg_start: no PostgreSQL server binaries (apt-get install postgresql)" >&2; exit 1; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [ "$(id -u)" -eq 0 ]; then
    user=attribtest
    if ! id "$user" >/dev/null 2>&1; then
        useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$user" >&2 || {
            echo "pg_start: cannot create the system user $user" >&2; exit 1; }
    fi
    chown "$user" "$dir"
    chmod 700 "$dir"
    as() { runuser -u "$user" -- "$@"; }
else
    user=$(id -un)
    as() { "$@"; }
fi

data="$dir/data"
pwfile="$dir/pw"
echo "attrib-secret-pw" >"$pwfile"
[ "$(id -u)" -eq 0 ] && chown "$user" "$pwfile"
as "$bin/initdb" -D "$data" -U attrib --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
    echo "pg_start: initdb failed:" >&2; tail -n 20 "$dir/initdb.log" >&2; exit 1; }
# The password user first: its lines win over the trust lines below.
hba="$data/pg_hba.conf"
{
    echo "local all attrib_pw scram-sha-256"
    echo "host all attrib_pw 127.0.0.1/32 scram-sha-256"
    echo "local all all trust"
    echo "host all all 127.0.0.1/32 trust"
} >"$hba"
cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 4GB
shared_buffers = 256MB
work_mem = 64MB
maintenance_work_mem = 512MB
logging_collector = off
password_encryption = 'scram-sha-256'
max_prepared_transactions = ${ATTRIB_PG_MAX_PREPARED:-16}
CONF

started=0
try=0
while [ $try -lt 10 ]; do
    if as "$bin/pg_ctl" -D "$data" -o "-p $port" -l "$dir/server.log" -w -t 30 start >/dev/null 2>&1; then
        started=1; break
    fi
    try=$((try + 1)); port=$((port + 1))
done
[ $started -eq 1 ] || { echo "pg_start: the server did not start:" >&2; tail -n 20 "$dir/server.log" >&2; exit 1; }

psql="$bin/psql"
as "$psql" -h "$dir" -p "$port" -U attrib -d postgres -v ON_ERROR_STOP=1 -q \
    -c "CREATE DATABASE attrib" \
    -c "CREATE ROLE attrib_pw LOGIN PASSWORD 'attrib-secret-pw'" \
    -c "GRANT ALL ON DATABASE attrib TO attrib_pw" >&2 || {
    echo "pg_start: cannot create the test database" >&2; exit 1; }

cat >"$dir/env" <<ENV
ATTRIB_PG_URI=postgresql://attrib@127.0.0.1:$port/attrib
ATTRIB_PG_PW_URI=postgresql://attrib_pw@127.0.0.1:$port/attrib
ATTRIB_PG_DIR=$dir
ATTRIB_PG_BIN=$bin
ATTRIB_PG_PORT=$port
ATTRIB_PG_USER=$user
export ATTRIB_PG_URI ATTRIB_PG_PW_URI ATTRIB_PG_DIR ATTRIB_PG_BIN ATTRIB_PG_PORT ATTRIB_PG_USER
ENV
cat "$dir/env"
