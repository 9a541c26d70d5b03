# --help and --version: every command listed in `attrib --help` has its own
# help, exits 0, shows its usage line and a description for every option.
. "$TOP/tests/cli/lib.sh"

expect_exit 0 "$ATTRIB" --version
grep -Eq '^attrib [0-9]+\.[0-9]+' "$T/out" || fail "--version output"
# the commit built from (git describe, or "unknown" outside a git checkout)
# and the linked libraries' run-time versions, which match the installed
# development packages here (one Debian release)
c=$(sed -n 's/^commit //p' "$T/out")
if [ "$(git -C "$TOP" rev-parse --show-toplevel 2>/dev/null)" = "$TOP" ]; then
    case $c in "$(git -C "$TOP" describe --always --abbrev=12)"*) ;; *) fail "--version commit '$c'" ;; esac
else
    eq "$c" unknown "--version commit outside git"
fi
for lib in SQLite:sqlite3 libpq:libpq libcurl:libcurl jansson:jansson libmicrohttpd:libmicrohttpd; do
    v=$(sed -n "s/^${lib%%:*} //p" "$T/out")
    eq "$v" "$(pkg-config --modversion "${lib#*:}")" "--version: ${lib%%:*}"
done
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
    # Defaults are generated from the option table as a final "(default: X)";
    # none is written by hand into a description.
    if sed -E 's/ \(default: [^()]*\)$//' "$T/out" | grep -E '^  +(-[a-z], )?--' |
        grep -Ei '\(default|default:|; default'; then
        fail "$c --help: a default written into a description"
    fi
    # A shown default that is a plain value parses as that option's value.
    grep -E '^  +(-[a-z], )?--[a-z-]+ [^ ]+ .*\(default: [^ $()]+\)$' "$T/out" |
        sed -E 's/^ +(-[a-z], )?(--[a-z-]+) .*\(default: ([^()]*)\)$/\2 \3/' >defaults.txt
    while read -r o v; do
        "$ATTRIB" "$c" "$o" "$v" --help >/dev/null 2>"$T/err" ||
            fail "$c: the default of $o ($v) is not a valid value"
    done <defaults.txt
done

# Options with a default show it (values from the table or the library INITs).
shows_default() { # COMMAND OPTION DEFAULT
    "$ATTRIB" "$1" --help >"$T/out" 2>"$T/err" || fail "$1 --help"
    grep -Eq -- "^  +(-[a-z], )?$2 .*\(default: $3\)\$" "$T/out" ||
        fail "$1 --help: $2 does not show its default $3"
}
shows_default export --out channel_reporting.csv
shows_default run --out channel_reporting.csv
shows_default journeys --format ihc-json
shows_default journeys --out -
shows_default attribute --engine local
shows_default attribute --max-journeys-per-request 100
shows_default attribute --max-sessions-per-request 3000
shows_default attribute --oversize keep-latest
shows_default attribute --concurrency 4
shows_default attribute --api-timeout 120
shows_default attribute --max-attempts 6
shows_default attribute --position-first 0.4
shows_default attribute --half-life 7
shows_default markov --order 1
shows_default markov --markov-states window
shows_default markov --markov-credit global
shows_default attribute --fit-paths cut
shows_default compare --fit-range all
shows_default serve --listen 127.0.0.1:8080
shows_default serve --max-sessions-per-request 3000
shows_default gen --sessions 100000
shows_default gen --seed 1
shows_default gen --start-date 2023-01-01
shows_default eval --split all
shows_default eval --worst 10
shows_default eval --holdout-percent 30
shows_default calibrate --split all
shows_default calibrate --sweeps 40
shows_default compare --models ihc,last,linear,markov,shapley
shows_default init --log-format text
shows_default init --db '\$ATTRIB_DB, else challenge.db'
echo ok
