#!/bin/sh
# One journey of N sessions (default 100,000; one user, channels changing at
# every session, one conversion at the end) through the path models, side by
# side with the IHC engine (bench/models_run.sh): the counterfactual model's
# n counterfactual paths must cost O(n), not O(n^2) (issue 18 defect 19).
#
#   sh bench/long_journey.sh path/to/attrib [N]
set -eu
ATTRIB=$1
N=${2:-100000}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/attrib-long.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
"$ATTRIB" -q --db "$TMP/long.db" init
python3 - "$TMP/long.db" "$N" <<'PY'
import sqlite3, sys
db, n = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(db)
chans = ["Search", "Social", "Email", "Display", "Referral"]
rows = []
for k in range(n):
    s = k * 20  # 20 s apart, all within the lookback window
    day, sod = divmod(s, 86400)
    rows.append(("s%d" % k, "u1", "2024-01-%02d" % (1 + day), "%02d:%02d:%02d" %
                 (sod // 3600, sod // 60 % 60, sod % 60), chans[(k * 7 + k // 3) % 5], 1, 1, 0))
con.executemany("INSERT INTO session_sources VALUES (?,?,?,?,?,?,?,?)", rows)
end = n * 20 + 60
day, sod = divmod(end, 86400)
con.execute("INSERT INTO conversions VALUES ('c1','u1',?,?,100.0)",
            ("2024-01-%02d" % (1 + day), "%02d:%02d:%02d" % (sod // 3600, sod // 60 % 60, sod % 60)))
con.commit()
PY
sh "$(dirname "$0")/models_run.sh" "$ATTRIB" "$TMP/long.db" ihc linear markov counterfactual
