# Progress on a terminal: every long step (read, attribute, write, report,
# export, HTML report) shows a progress line on stderr when stderr is a
# terminal (a pseudo-terminal from script(1)), and nothing of it when stderr
# is a file or with -q.
. "$TOP/tests/cli/lib.sh"

command -v script >/dev/null 2>&1 || fail "no script(1) (util-linux / bsdutils)"
expect_exit 0 "$ATTRIB" --db d.db gen -q -n 20000 --seed 99 --start-date 2022-06-01 --days 9

# On a pseudo-terminal: stderr only (stdout to a file), the pty's bytes to tty.out.
on_tty() {
    script -qec "$* 2>&1 >/dev/null" /dev/null >tty.out 2>&1 </dev/null ||
        fail "under script: $*"
}
on_tty "'$ATTRIB' --db d.db run --phases --start-date 2022-06-03 --end-date 2022-06-07 -o r.csv --html r.html"
esc=$(printf '\033')
grep -q "$esc\[K" tty.out || fail "no progress line (ESC [K) on a terminal"
for what in "reading conversions" "reading sessions" "attributing" "writing attribution" \
    "reporting" "writing the CSV report" "HTML report: reading channel_reporting" \
    "HTML report: writing"; do
    grep -q "$what" tty.out || fail "no progress for '$what' on a terminal"
done
grep -q "attributing: [0-9]* / [0-9]*" tty.out || fail "attributing shows no count"
# The summary is still there, on a line of its own after the progress is cleared.
grep -q "attrib run: wrote r.csv" tty.out || fail "no summary on a terminal"

# -q: no progress even on a terminal.
on_tty "'$ATTRIB' --db d.db run -q --start-date 2022-06-03 --end-date 2022-06-07 -o r.csv"
grep -q "$esc\[K" tty.out && fail "progress shown with -q"

# stderr to a file: no progress, no control characters.
expect_exit 0 "$ATTRIB" --db d.db run --phases --start-date 2022-06-03 --end-date 2022-06-07 \
    -o r.csv --html r.html
grep -q "attrib run: wrote r.csv" "$T/err" || fail "no summary when stderr is a file"
grep -q "$esc" "$T/err" && fail "escape sequences when stderr is a file"
grep -q "$(printf '\r')" "$T/err" && fail "carriage returns when stderr is a file"
grep -Eq "reading conversions|attributing" "$T/err" && fail "progress when stderr is a file"
echo ok
