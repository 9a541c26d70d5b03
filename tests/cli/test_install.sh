# make install into a DESTDIR: the binary runs; libattrib is there static and
# shared (versioned soname) with its headers and an attrib.pc that is right
# for the real PREFIX; a tiny C program builds against it with
# `pkg-config --cflags --libs attrib` (PKG_CONFIG_SYSROOT_DIR maps the PREFIX
# paths into the DESTDIR) and runs, linked shared and static; `man -l`
# renders attrib(1), which documents every command and option --help shows;
# the bash and zsh completions complete commands, options and values;
# make uninstall removes every file.
. "$TOP/tests/cli/lib.sh"

D=$T/dest
P=/usr/local
B=${ATTRIB_BUILD:-$(dirname "$ATTRIB")}
make -C "$TOP" -s B="$B" PREFIX=$P DESTDIR="$D" install >make.log 2>&1 ||
    fail "make install: $(tail -n 20 make.log)"

for f in bin/attrib lib/libattrib.a include/attrib/error.h include/attrib/version.h \
    lib/pkgconfig/attrib.pc share/man/man1/attrib.1 \
    share/bash-completion/completions/attrib share/zsh/site-functions/_attrib; do
    [ -f "$D$P/$f" ] || fail "not installed: $P/$f"
done
ver=$(sed -n 's/^#define ATTRIB_VERSION_STRING "\(.*\)"$/\1/p' "$TOP/include/attrib/version.h")
major=${ver%%.*}
[ -f "$D$P/lib/libattrib.so.$ver" ] || fail "no libattrib.so.$ver"
[ "$(readlink "$D$P/lib/libattrib.so.$major")" = "libattrib.so.$ver" ] || fail "libattrib.so.$major link"
[ "$(readlink "$D$P/lib/libattrib.so")" = "libattrib.so.$major" ] || fail "libattrib.so link"
readelf -d "$D$P/lib/libattrib.so.$ver" | grep -q "SONAME.*\[libattrib.so.$major\]" ||
    fail "soname is not libattrib.so.$major"
# only the API is exported, not the library's internal attrib__ functions
nm -D --defined-only "$D$P/lib/libattrib.so.$ver" | awk '{print $3}' | grep -v '^attrib_' |
    grep -v '^$' >exports.txt
[ -s exports.txt ] && fail "exported beyond attrib_*: $(head -5 exports.txt)"
nm -D --defined-only "$D$P/lib/libattrib.so.$ver" | grep -q ' attrib__' && fail "attrib__ exported"

expect_exit 0 "$D$P/bin/attrib" --version
grep -qx "attrib $ver" "$T/out" || fail "installed --version: $(cat "$T/out")"

# the .pc file names the real prefix; the sysroot maps it into DESTDIR
PKG_CONFIG_PATH=$D$P/lib/pkgconfig
PKG_CONFIG_SYSROOT_DIR=$D
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
eq "$(pkg-config --modversion attrib)" "$ver" "pkg-config --modversion"
eq "$(pkg-config --variable=libdir attrib)" "$D$P/lib" "libdir seen through the sysroot"
grep -qx "prefix=$P" "$D$P/lib/pkgconfig/attrib.pc" || fail "attrib.pc prefix is not $P"
grep -q "$D" "$D$P/lib/pkgconfig/attrib.pc" && fail "attrib.pc names the DESTDIR"
flags=$(pkg-config --cflags --libs attrib) || fail "pkg-config --cflags --libs attrib"
case " $flags " in *" -I$D$P/include "*) ;; *) fail "cflags: $flags" ;; esac
case " $flags " in *" -lattrib "*) ;; *) fail "libs: $flags" ;; esac

cat >prog.c <<'C'
#include <attrib/error.h>
#include <attrib/model.h>
#include <attrib/version.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    if (strcmp(attrib_version(), ATTRIB_VERSION_STRING) != 0)
        return 2;
    attrib_ctx *ctx = NULL;
    if (attrib_ctx_new(&ctx) != ATTRIB_OK)
        return 3;
    size_t models = 0;
    for (const attrib_model_ops *const *m = attrib_model_list(); *m != NULL; m++)
        models++;
    attrib_dependency deps[8];
    size_t n = attrib_dependencies(deps, 8);
    printf("version %s models %zu deps %zu first %s\n", attrib_version(), models, n,
           n > 0 ? deps[0].name : "-");
    attrib_ctx_free(ctx);
    return models > 0 && n == 5 ? 0 : 4;
}
C
# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror $CFLAGS_SAN prog.c -o prog $(pkg-config --cflags --libs attrib) \
    >cc.log 2>&1 || fail "build against the shared library: $(cat cc.log)"
readelf -d prog | grep -q "NEEDED.*\[libattrib.so.$major\]" || fail "prog does not need libattrib.so.$major"
LD_LIBRARY_PATH=$D$P/lib ./prog >prog.out 2>&1 || fail "prog (shared) failed: $(cat prog.out)"
grep -Eq "^version $ver models [0-9]+ deps 5 first SQLite$" prog.out || fail "prog: $(cat prog.out)"
# the static library, with its private requirements as shared libraries
# (Debian ships no static libpq dependencies, so not `pkg-config --static`)
# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror $CFLAGS_SAN prog.c -o prog_static $(pkg-config --cflags attrib) \
    $(pkg-config --libs attrib $(pkg-config --print-requires-private attrib) |
        sed 's/-lattrib\b/-l:libattrib.a/') -lpthread -lm \
    >cc.log 2>&1 || fail "build against the static library: $(cat cc.log)"
readelf -d prog_static | grep -q "libattrib" && fail "prog_static needs the shared library"
./prog_static >prog.out 2>&1 || fail "prog (static) failed: $(cat prog.out)"
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# attrib(1): renders, and documents every command and option of --help
LC_ALL=C MANWIDTH=200 man -l "$D$P/share/man/man1/attrib.1" >man.txt 2>man.err ||
    fail "man -l: $(cat man.err)"
[ -s man.err ] && fail "man -l warnings: $(cat man.err)"
grep -q "^ATTRIB(1)" man.txt || fail "no ATTRIB(1) header"
"$ATTRIB" --help >overview.txt
cmds=$(sed -n '/^Commands:/,/^$/p' overview.txt | awk 'NF > 1 && $1 != "Commands:" { print $1 }')
for c in $cmds; do
    grep -q "^   attrib $c\$" man.txt || fail "man page: no section for $c"
    # the command's section of the page, up to the next command
    awk -v c="   attrib $c" '$0 == c {on = 1; next} /^   attrib [a-z]+$/ {on = 0} on' man.txt >sec.txt
    "$ATTRIB" "$c" --help >help.txt
    sed -n '/^Options:/,/^Global options:/p' help.txt | grep -oE '^  +(-[a-z], )?--[a-z-]+' |
        grep -oE -- '--[a-z-]+' | while read -r o; do
        grep -q -- "$o" sec.txt || { echo "$c $o" >>missing.txt; }
    done
done
[ -f missing.txt ] && fail "options missing from the man page: $(cat missing.txt)"
grep -q -- "--listen HOST:PORT" man.txt || fail "man page: serve --listen"
grep -q -- "--db TARGET" man.txt || fail "man page: global options"

# bash completion: commands, a command's options, option values
cat >comp.bash <<'SH'
. "$1"
t() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _attrib; echo "${COMPREPLY[*]}"; }
t attrib se
t attrib --db x.db serve --li
t attrib attribute --engine ""
t attrib journeys --format ""
t attrib compare --format ""
t attrib run --model las
SH
bash comp.bash "$D$P/share/bash-completion/completions/attrib" >comp.out 2>comp.err ||
    fail "bash completion: $(cat comp.err)"
[ -s comp.err ] && fail "bash completion stderr: $(cat comp.err)"
eq "$(sed -n 1p comp.out)" "serve" "complete 'attrib se'"
eq "$(sed -n 2p comp.out)" "--listen" "complete 'serve --li'"
eq "$(sed -n 3p comp.out)" "local ihc-api" "complete '--engine'"
eq "$(sed -n 4p comp.out)" "ihc-json jsonl csv" "complete 'journeys --format'"
eq "$(sed -n 5p comp.out)" "csv markdown" "complete 'compare --format'"
eq "$(sed -n 6p comp.out)" "last last-non-direct" "complete '--model las'"

# zsh completion: valid zsh, and its _arguments specs name the options (the
# completion system's functions are replaced by ones that print their specs)
if command -v zsh >/dev/null 2>&1; then
    z=$D$P/share/zsh/site-functions/_attrib
    zsh -n "$z" || fail "zsh -n _attrib"
    zsh -fc '_arguments() { print -rl -- "$@"; state=args; }; _describe() { :; }
        words=(serve --li); CURRENT=2; . "$1"' zsh "$z" >zsh.out 2>zsh.err ||
        fail "zsh completion: $(cat zsh.err)"
    grep -q '^--listen\[address' zsh.out || fail "zsh: no serve --listen spec"
    grep -q '^--db\[' zsh.out || fail "zsh: no global --db spec"
    grep -q '^--max-sessions-per-request\[' zsh.out || fail "zsh: no serve cap spec"
else
    fail "zsh is not installed (make deps installs it)"
fi

make -C "$TOP" -s B="$B" PREFIX=$P DESTDIR="$D" uninstall >make.log 2>&1 ||
    fail "make uninstall: $(tail -n 20 make.log)"
left=$(find "$D" ! -type d)
[ -z "$left" ] || fail "left after uninstall: $left"
echo ok
