# Every file attrib writes goes through one writer (include/attrib/file.h):
# regular files are replaced atomically (the old file survives any failure,
# with errno's text in the message); character devices, FIFOs and - are
# written through, never replaced; other types are refused; a bad output path
# is refused before any work (exit 2). Issue 18, defects 1, 3, 16 and 18.
. "$TOP/tests/cli/lib.sh"

golden_db g.db
expect_exit 0 "$ATTRIB" --db g.db run -q --model linear --out ok.csv

# FIFOs are written through (a temp + rename would replace the FIFO).
mkfifo out.fifo || fail "mkfifo"
cat out.fifo >fifo.csv &
reader=$!
expect_exit 0 "$ATTRIB" --db g.db export --out out.fifo
[ -p out.fifo ] || { kill $reader; fail "export --out FIFO replaced the FIFO"; }
wait $reader
cmp -s fifo.csv ok.csv || fail "the CSV read from the FIFO differs"

# Character devices: clones of /dev/null and /dev/full (root can mknod; the
# real devices are never touched by the tests).
if mknod null.dev c 1 3 2>/dev/null && mknod full.dev c 1 7 2>/dev/null; then
    expect_exit 0 "$ATTRIB" --db g.db run -q --model linear --out null.dev
    [ -c null.dev ] || fail "run --out on a character device replaced it"
    expect_exit 1 "$ATTRIB" --db g.db export --out full.dev
    [ -c full.dev ] || fail "export --out on /dev/full replaced it"
    expect_err 'cannot write full.dev: No space left on device'
    expect_exit 0 "$ATTRIB" --db g.db journeys --out null.dev
    [ -c null.dev ] || fail "journeys --out on a character device replaced it"
    expect_exit 1 "$ATTRIB" --db g.db journeys --out full.dev
    expect_err 'full.dev: No space left on device'
    [ -c full.dev ] || fail "journeys --out replaced /dev/full"
else
    echo "note: no mknod (not root): character device cases skipped"
fi

# "-" is standard output.
expect_exit 0 "$ATTRIB" --db g.db export --out -
cmp -s "$T/out" ok.csv || fail "export --out - differs from the file"

# A symbolic link to a regular file stays a link; its target is replaced.
cp ok.csv target.csv && echo old >target.csv && ln -s target.csv link.csv
expect_exit 0 "$ATTRIB" --db g.db export --out link.csv
[ -L link.csv ] || fail "the link was replaced by a file"
cmp -s target.csv ok.csv || fail "the link's target was not written"

# Other types are refused before any work, exit 2: a directory, a socket-less
# case is not portable to make in sh, so a directory and an empty path.
mkdir adir
expect_exit 2 "$ATTRIB" --db g.db run --out adir
expect_err '--out: cannot write adir: it is a directory'
expect_exit 2 "$ATTRIB" --db g.db journeys --out adir
expect_err 'it is a directory'

# run --out '' (exit 2) and a missing directory (exit 1) fail before the pipeline runs (the
# tables are not touched: the attribution of a fresh database stays empty).
golden_db fresh.db
expect_exit 2 "$ATTRIB" --db fresh.db run --out ''
expect_err '--out: empty output path'
eq "$(q fresh.db "SELECT count(*) FROM attribution_customer_journey")" "0" "rows after run --out ''"
expect_exit 1 "$ATTRIB" --db fresh.db run --out no/such/dir/x.csv
expect_err 'directory no/such/dir'
eq "$(q fresh.db "SELECT count(*) FROM attribution_customer_journey")" "0" "rows after a bad --out dir"
expect_exit 2 "$ATTRIB" --db fresh.db run --summary-json ''
expect_err '--summary-json: empty output path'
expect_exit 2 "$ATTRIB" --db fresh.db compare --models linear,last --out adir
expect_err 'it is a directory'

# A write that fails half-way (the file size limit stands for a full disk:
# write(2) fails with EFBIG) leaves the old file whole, and says why.
sqlite3 -batch g.db "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
INSERT INTO session_sources SELECT 'x' || i, 'u1', '2023-09-01', '10:00:00', 'Display ' || i, 0, 0, 0 FROM n;" ||
    fail "setup: more sessions"
printf 'the old journeys\n' >j.json
cp j.json j0.json
(trap '' XFSZ; ulimit -f 8; exec "$ATTRIB" --db g.db journeys --format jsonl --out j.json) >out 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] || fail "journeys past the size limit: exit $rc"
expect_err 'cannot write j.json: File too large'
cmp -s j.json j0.json || fail "journeys --out lost the old file on a failed write"
ls | grep -q 'j.json.tmp' && fail "temp file left behind"
expect_exit 0 "$ATTRIB" --db g.db journeys --format jsonl --out j.json
[ "$(wc -l <j.json)" -gt 400 ] || fail "journeys --out wrote too little"

# The same for the CSV of export (it only reads the database).
cp g.db g2.db
expect_exit 0 "$ATTRIB" --db g2.db run -q --model linear --out ok2.csv
head -c 20000 /dev/zero | tr '\0' 'x' >big.csv
cp big.csv big0.csv
(trap '' XFSZ; ulimit -f 2; exec "$ATTRIB" --db g2.db export --out big.csv) >out 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] || fail "export past the size limit: exit $rc"
expect_err 'cannot write big.csv: File too large'
cmp -s big.csv big0.csv || fail "export replaced the CSV with a part"

# run says the tables were committed when only its CSV write failed (defect 18).
if [ -c full.dev ]; then
    expect_exit 1 "$ATTRIB" --db g.db run --model linear --out full.dev
    expect_err 'tables are committed, but the CSV was not written'
    expect_err 'No space left on device'
    [ "$(q g.db "SELECT count(*) FROM attribution_customer_journey WHERE session_id LIKE 'x%'")" -gt 0 ] ||
        fail "the committed attribution rows are missing"
fi

# CSV formula injection (defect 8): by default a text cell that a spreadsheet
# would run as a formula gets a leading '; --csv-raw keeps it as it is;
# numbers (negative ones too) are never touched.
golden_db f.db
q f.db "UPDATE session_sources SET channel_name = '=HYPERLINK(\"http://x\")' WHERE session_id = 's1';
UPDATE session_sources SET channel_name = '@SUM(A1)' WHERE session_id = 's2';
UPDATE session_sources SET channel_name = '-2+3' WHERE session_id = 's4'"
expect_exit 0 "$ATTRIB" --db f.db run -q --model linear --out f.csv
grep -q "^\"'=HYPERLINK(\"\"http://x\"\")\"," f.csv || fail "=HYPERLINK not neutralised: $(cat f.csv)"
grep -q "^'@SUM(A1)," f.csv || fail "@SUM not neutralised"
grep -q "^'-2+3," f.csv || fail "-2+3 not neutralised"
grep -q '^Paid Search,' f.csv || fail "a plain name was changed"
expect_exit 0 "$ATTRIB" --db f.db export --csv-raw --out raw.csv
grep -q '^"=HYPERLINK(""http://x"")",' raw.csv || fail "--csv-raw changed the name"
expect_exit 0 "$ATTRIB" --db f.db journeys --format csv --out j.csv
grep -q ",'@SUM(A1)," j.csv || fail "journeys CSV not neutralised"
expect_exit 0 "$ATTRIB" --db f.db journeys --format csv --csv-raw --out j.csv
grep -q ",@SUM(A1)," j.csv || fail "journeys --csv-raw changed the name"
echo ok
