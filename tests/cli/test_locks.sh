# Store messages a user can act on (issue 18, defects 11 and 12): a lock held
# by another process past the busy timeout says so, how long attrib waited
# and how to wait longer; a database in a read-only directory names the
# directory and the journal instead of "attempt to write a readonly database".
. "$TOP/tests/cli/lib.sh"

golden_db g.db
# Another process holds the write lock for 3 s; attrib waits 0.2 s.
python3 -c "
import sqlite3, time, sys
c = sqlite3.connect('g.db', isolation_level=None)
c.execute('BEGIN EXCLUSIVE')
open('locked', 'w').close()
time.sleep(3)
" &
holder=$!
i=0
while [ ! -e locked ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -e locked ] || fail "the lock holder did not start"
expect_exit 1 "$ATTRIB" --db g.db --busy-timeout 200 run --model linear --out r.csv
expect_err 'another process holds a lock on the database'
expect_err 'waited 0.2 s'
expect_err 'wait longer with a larger --busy-timeout'
# Waiting longer than the holder: the run goes through.
expect_exit 0 "$ATTRIB" --db g.db --busy-timeout 20000 run -q --model linear --out r.csv
wait $holder
expect_exit 2 "$ATTRIB" --db g.db --busy-timeout soon run
expect_err "busy-timeout"

# A read-only directory with a writable database file: needs a user the
# directory's permissions apply to (root ignores them).
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
    mkdir ro && cp g.db ro/g.db && chmod 666 ro/g.db && chmod 555 ro && chmod 755 "$T"
    expect_exit 1 setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$ATTRIB" --db ro/g.db run --model linear --out -
    expect_err 'directory ro is not writable: SQLite writes its journal ro/g.db-journal there'
    chmod 755 ro
else
    echo "note: not root or no setpriv: read-only directory case skipped"
fi
echo ok
