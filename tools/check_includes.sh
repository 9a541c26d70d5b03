#!/bin/sh
# Include direction (docs/architecture.md): a library folder includes only
# folders at or below its own rank; util includes no library header; the
# library never includes the CLI; the CLI includes only public headers and
# util; public headers include only public headers.
#
#   tools/check_includes.sh [ROOT]     (default: the current directory)
#
# Prints each wrong-way include as FILE:LINE: #include ...: why, and exits 1
# when there is one. Used by `make lint`; tests/cli/test_lint.sh tests it.
set -u
root=${1:-.}
ranks="util core store journey model ihc report api gen steps"
rank_of() {
    i=0
    for r in $ranks; do
        [ "$r" = "$1" ] && { echo $i; return; }
        i=$((i + 1))
    done
    echo 99
}
cd "$root" || exit 2
bad=$(find include src -name '*.[ch]' 2>/dev/null | sort | xargs grep -nE '^#include "' /dev/null |
while IFS= read -r line; do
    file=${line%%:*}
    target=$(printf '%s\n' "$line" | sed -E 's/.*#include "([^"]*)".*/\1/')
    case "$file" in
    include/*)
        case "$target" in attrib/*) ;; *) echo "$line: a public header includes only public headers" ;; esac ;;
    src/cli/*)
        case "$target" in lib/*) echo "$line: the CLI includes public headers and util only" ;; esac ;;
    src/util/*)
        case "$target" in
        lib/* | cli/* | cli.h | msgs.h | commands.h) echo "$line: util includes no library or CLI header" ;;
        esac ;;
    src/lib/*)
        case "$target" in
        cli/* | cli.h | msgs.h | commands.h) echo "$line: the library never includes the CLI" ;;
        lib/*)
            from=$(printf '%s\n' "$file" | cut -d/ -f3)
            to=$(printf '%s\n' "$target" | cut -d/ -f2)
            if [ "$(rank_of "$to")" -gt "$(rank_of "$from")" ]; then
                echo "$line: $from may not include $to (order: $ranks)"
            fi ;;
        esac ;;
    esac
done)
[ -z "$bad" ] && exit 0
printf '%s\n' "$bad" >&2
exit 1
