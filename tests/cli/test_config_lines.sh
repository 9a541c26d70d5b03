# Config file lines are read whole (issue 18, defect 17): a long line is one
# line, not two, and an error names a line that exists.
. "$TOP/tests/cli/lib.sh"

golden_db g.db
# A comment line of 5,000 bytes, then an option: both read as the lines they are.
long=$(head -c 5000 /dev/zero | tr '\0' 'x')
printf '# %s\nmodel = first\n' "$long" >long.conf
expect_exit 0 "$ATTRIB" --db g.db run -q --config long.conf --out r.csv
eq "$(q g.db "SELECT group_concat(session_id || ':' || ihc, ' ') FROM (SELECT * FROM attribution_customer_journey WHERE conv_id = 'c1' ORDER BY session_id)")" \
    "s1:1.0" "model = first from the config, after the long line"
# A bad line after it: the error names line 2, the bad one, and says why.
printf '# %s\nno equals sign here\nmodel = linear\n' "$long" >bad.conf
expect_exit 2 "$ATTRIB" --db g.db run --config bad.conf --out r.csv
expect_err "bad.conf:2: expected 'key = value'"
# A single line past the bound: refused, naming line 1 and its length.
printf 'direct-channels = %s\n' "$(head -c 70000 /dev/zero | tr '\0' 'y')" >huge.conf
expect_exit 2 "$ATTRIB" --db g.db run --config huge.conf --out r.csv
expect_err 'huge.conf:1: line is 70019 bytes long, more than 65536'
# A NUL byte in a line is refused, not cut there.
printf 'model = linear\000ignored\n' >nul.conf
expect_exit 2 "$ATTRIB" --db g.db run --config nul.conf --out r.csv
expect_err 'nul.conf:1: line holds a NUL byte'
echo ok
