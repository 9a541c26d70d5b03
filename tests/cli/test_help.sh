# --help and --version: every command listed in `attrib --help` has its own
# help, exits 0, shows its usage line and a description for every option.
. "$TOP/tests/cli/lib.sh"

expect_exit 0 "$ATTRIB" --version
grep -Eq '^attrib [0-9]+\.[0-9]+' "$T/out" || fail "--version output"
expect_exit 0 "$ATTRIB" --help
cp "$T/out" overview.txt
expect_exit 2 "$ATTRIB"
cmds=$(sed -n '/^Commands:/,/^$/p' overview.txt | awk 'NF > 1 && $1 != "Commands:" { print $1 }')
[ -n "$cmds" ] || fail "no commands listed"
for c in init gen journeys attribute report export run serve; do
    echo "$cmds" | grep -qx "$c" || fail "command $c missing from --help"
done
for c in $cmds; do
    expect_exit 0 "$ATTRIB" "$c" --help
    grep -q "^usage: attrib \[global options\] $c" "$T/out" || fail "$c --help: no usage line"
    # Every option line (two spaces, then -x, or --name) carries a description.
    if grep -E '^  +(-[a-z], )?--[a-z-]+( [^ ]+)?$' "$T/out"; then
        fail "$c --help: an option without a description"
    fi
    # Every option the help names is accepted by the parser (not "unknown option").
    for o in $(grep -oE '^  +(-[a-zA-Z], )?--[a-z-]+' "$T/out" | grep -oE -- '--[a-z-]+'); do
        case $o in --help|--version) continue ;; esac
        "$ATTRIB" "$c" "$o" --help >/dev/null 2>"$T/err" ||
            ! grep -q "unknown option" "$T/err" || fail "$c: $o is in the help but not parsed"
    done
done
echo ok
