#!/bin/sh
# Install the Debian packages attrib needs to build and test, if missing.
# Idempotent and quiet when everything is there. Used by `make demo`,
# `make test` and .ci/run.
set -eu
need="gcc make pkg-config libsqlite3-dev libcurl4-openssl-dev libjansson-dev libpq-dev \
libmicrohttpd-dev libcmocka-dev postgresql sqlite3 ca-certificates jq curl man-db zsh"
# tests: the HTML report in a real browser, the DAG's parser, progress on a pty (script);
# the MPI build (make MPI=1) and its tests
need="$need chromium fonts-dejavu-core python3 bsdutils libopenmpi-dev openmpi-bin iproute2"
[ -n "${ATTRIB_DEPS_EXTRA:-}" ] && need="$need $ATTRIB_DEPS_EXTRA"
missing=""
for p in $need; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "attrib: installing missing packages:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "attrib: run as root (or install:$missing)" >&2; exit 1
    fi
else
    SUDO=""
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
