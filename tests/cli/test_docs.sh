# Documentation that is tested (docs/doc-tests.md): every shell command of
# README.md, docs/*.md and bench/README.md works as written.
#  ```sh        blocks run, one shell per block, in a sandbox with a demo
#               database (challenge.db, also the default target) and the
#               repository's files; each command must exit 0. `attrib`
#               commands that need the network or run until stopped (serve,
#               --engine ihc-api, --api-url, a postgresql:// target) are
#               checked with --help appended instead: every option must parse.
#               `make T...` checks that each target T exists.
#  ```sh check  blocks are checked only: attrib commands with --help, make
#               targets exist, other commands parse (sh -n).
#  other blocks (```text, ```console, ```json, ...) are not commands.
# Inline `attrib ...` spans (synopses such as `attrib init [--schema-file F]`)
# must name a real command and only options that command accepts.
. "$TOP/tests/cli/lib.sh"

cd "$TOP" || fail "cd $TOP"
docs="README.md bench/README.md $(ls docs/*.md)"

# ---- the sandbox: attrib on PATH, the repository's files, a demo database
S=$T/sandbox
mkdir -p "$S/bin"
ln -s "$ATTRIB" "$S/bin/attrib"
for f in "$TOP"/*; do
    case $(basename "$f") in build | demo) continue ;; esac
    ln -s "$f" "$S/$(basename "$f")"
done
cp "$TOP/tests/data/challenge_db_create.sql" "$S/"
"$ATTRIB" --db "$S/challenge.db" gen --sessions 20000 --seed 7 --start-date 2023-08-25 --days 20 \
    -q >"$T/gen.log" 2>&1 || fail "demo database: $(cat "$T/gen.log")"

# ---- extraction: FILE<US>LINE<US>MODE<US>BLOCK<US>COMMAND records, MODE run,
# check or inline; continuation lines joined, comments and blank lines dropped
US=$(printf '\037')
awk -v us="$US" '
function strip_comment(s,    i, c, q, out) {
    q = ""; out = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (q == "" && c == "#" && (i == 1 || substr(s, i - 1, 1) ~ /[ \t]/)) break
        if (q == "" && (c == "\"" || c == "\x27")) q = c
        else if (q != "" && c == q) q = ""
        out = out c
    }
    sub(/[ \t]+$/, "", out)
    return out
}
FNR == 1 { inb = 0; cont = "" }
/^```/ {
    if (inb) { inb = 0; next }
    inb = 1; blk++
    info = substr($0, 4); gsub(/^[ \t]+|[ \t]+$/, "", info)
    mode = info == "sh" ? "run" : (info == "sh check" ? "check" : "")
    next
}
inb && mode != "" {
    line = $0
    if (cont == "") start = FNR
    if (line ~ /\\$/) { cont = cont substr(line, 1, length(line) - 1) " "; next }
    cmd = strip_comment(cont line); cont = ""
    gsub(/^[ \t]+/, "", cmd)
    if (cmd != "") print FILENAME us start us mode us blk us cmd
    next
}
!inb {
    s = $0
    while (match(s, /`attrib [^`]*`/)) {
        print FILENAME us FNR us "inline" us 0 us substr(s, RSTART + 1, RLENGTH - 2)
        s = substr(s, RSTART + RLENGTH)
    }
}
' $docs >"$T/cmds" || fail "extraction"
[ "$(grep -c "${US}run$US" "$T/cmds")" -ge 2 ] || fail "fewer than 2 runnable commands found"

# ---- helpers for the generated block scripts
has_target() { # the Makefile has a rule for $1
    make -C "$TOP" -pq .doc-test-no-such-target 2>/dev/null | grep -q "^$1:"
}
needs_network() { # an attrib command that needs the network or does not end
    case " $1 " in
    *" serve "* | *" --engine ihc-api "* | *" --engine=ihc-api "* | *" --api-url"* | *postgresql://*)
        return 0 ;;
    esac
    return 1
}
help_of() { # CMD: its --help, cached
    [ -f "$T/help.$1" ] || "$ATTRIB" "$1" --help >"$T/help.$1" 2>/dev/null || return 1
    cat "$T/help.$1"
}

failures=0
report() { # WHERE WHAT
    echo "FAIL $1: $2"
    failures=$((failures + 1))
}

# ---- inline spans: command and option names
grep "${US}inline$US" "$T/cmds" | while IFS="$US" read -r file line mode blk cmd; do
    set -f
    # shellcheck disable=SC2086
    set -- $cmd
    set +f
    shift # attrib
    c=""
    while [ $# -gt 0 ]; do
        case $1 in
        --db | --config | --log-format) shift ;;
        -*) ;;
        *) c=$1; break ;;
        esac
        shift
    done
    case $c in "" | [A-Z]*) continue ;; esac # `attrib --version`, `attrib COMMAND --help`
    if ! help_of "$c" >/dev/null; then
        echo "FAIL $file:$line: \`$cmd\`: no command '$c'"
        continue
    fi
    for o in $(printf '%s\n' "$cmd" | grep -oE -- '--[a-z][a-z-]*'); do
        case $o in --help | --version) continue ;; esac
        help_of "$c" | grep -Eq -- "^ +(-[a-zA-Z], )?$o( |\$)" ||
            echo "FAIL $file:$line: \`$cmd\`: '$c' has no option $o"
    done
done >"$T/inline.out"
if [ -s "$T/inline.out" ]; then
    cat "$T/inline.out"
    failures=$((failures + $(wc -l <"$T/inline.out")))
fi

# ---- blocks: one script each, run in the sandbox
n_run=0 n_check=0
for b in $(awk -F"$US" '$3 != "inline" { print $1 "#" $4 }' "$T/cmds" | sort -u); do
    bf=${b%#*}
    bn=${b#*#}
    script=$T/block.sh
    : >"$script"
    awk -F"$US" -v f="$bf" -v n="$bn" '$1 == f && $4 == n && $3 != "inline"' "$T/cmds" >"$T/block.cmds"
    while IFS="$US" read -r file line mode blk cmd; do
        first=${cmd%% *}
        where="$file:$line"
        if [ "$first" = make ]; then
            for t in ${cmd#make}; do
                case $t in -* | *=*) continue ;; esac
                has_target "$t" || report "$where" "\`$cmd\`: no make target '$t'"
            done
            n_check=$((n_check + 1))
            continue
        fi
        if [ "$first" = attrib ] && { [ "$mode" = check ] || needs_network "$cmd"; }; then
            printf 'doc_at %s parse\n%s --help >"$DOC_LOG" 2>&1\ndoc_rc $?\n' "'$where'" "$cmd" >>"$script"
            n_check=$((n_check + 1))
        elif [ "$mode" = check ]; then
            printf '%s\n' "$cmd" | sh -n 2>"$T/shn" || report "$where" "\`$cmd\` does not parse: $(cat "$T/shn")"
            n_check=$((n_check + 1))
        else
            printf 'doc_at %s run\n%s >"$DOC_LOG" 2>&1\ndoc_rc $?\n' "'$where'" "$cmd" >>"$script"
            n_run=$((n_run + 1))
        fi
        printf '%s\n' "$cmd" >"$T/cmd.$(printf '%s' "$where" | tr '/:' '__')"
    done <"$T/block.cmds"
    [ -s "$script" ] || continue
    (
        cd "$S" || exit 1
        PATH=$S/bin:$PATH
        unset ATTRIB_DB IHC_API_KEY
        DOC_LOG=$T/doc.log
        doc_at() { DOC_WHERE=$1; DOC_HOW=$2; }
        doc_rc() {
            [ "$1" -eq 0 ] && return 0
            echo "FAIL $DOC_WHERE: exit $1 ($DOC_HOW): $(cat "$T/cmd.$(printf '%s' "$DOC_WHERE" | tr '/:' '__')")"
            tail -n 5 "$DOC_LOG" | sed 's/^/    /'
            echo x >>"$T/block.failed"
        }
        . "$script"
    )
done
[ -f "$T/block.failed" ] && failures=$((failures + $(wc -l <"$T/block.failed")))

echo "documentation: $n_run commands run, $n_check checked, $(grep -c "${US}inline$US" "$T/cmds") inline spans"
[ "$failures" -eq 0 ] || fail "$failures documented commands do not work as written"
[ -s "$S/report.csv" ] || fail "the README's run command wrote no report.csv"
echo ok
