#!/bin/sh
# tools/check_includes.sh (part of `make lint`): the tree passes, and each
# kind of wrong-way include in a scratch tree is rejected with its reason.
. "$(dirname "$0")/lib.sh"

check="$TOP/tools/check_includes.sh"
expect_exit 0 sh "$check" "$TOP"

# tree FILE INCLUDE: a scratch tree holding one file with one include.
tree() {
    rm -rf "$T/tree"
    mkdir -p "$T/tree/$(dirname "$1")"
    printf '#include "%s"\n' "$2" >"$T/tree/$1"
}

tree src/lib/store/x.c lib/journey/dataset.h
expect_exit 1 sh "$check" "$T/tree"
expect_err 'src/lib/store/x.c:1:.*store may not include journey'
tree src/lib/journey/x.h lib/report/rows.h
expect_exit 1 sh "$check" "$T/tree"
expect_err 'journey may not include report'
tree src/lib/report/x.c cli.h
expect_exit 1 sh "$check" "$T/tree"
expect_err 'the library never includes the CLI'
tree src/util/x.c lib/core/ctx.h
expect_exit 1 sh "$check" "$T/tree"
expect_err 'util includes no library'
tree src/cli/x.c lib/store/store.h
expect_exit 1 sh "$check" "$T/tree"
expect_err 'the CLI includes public headers and util only'
tree include/attrib/x.h util/buf.h
expect_exit 1 sh "$check" "$T/tree"
expect_err 'a public header includes only public headers'

# Allowed directions pass: downward, same folder, util, public headers.
tree src/lib/steps/x.c lib/store/store.h
expect_exit 0 sh "$check" "$T/tree"
tree src/lib/store/x.c lib/store/rows.h
expect_exit 0 sh "$check" "$T/tree"
tree src/lib/core/x.c util/buf.h
expect_exit 0 sh "$check" "$T/tree"
echo "ok"
