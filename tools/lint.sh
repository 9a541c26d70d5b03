#!/bin/sh
# Project checks that a compiler does not make: formatting, banned calls,
# and "only the CLI diagnostics module touches stderr".
set -u
rc=0
files=$(git ls-files '*.c' '*.h')
if command -v clang-format >/dev/null 2>&1; then
    if ! clang-format --dry-run --Werror $files 2>/dev/null; then
        echo "lint: clang-format differs; run 'make format'" >&2; rc=1
    fi
fi
banned='\b(atoi|atol|atoll|strcpy|strcat|sprintf|vsprintf|gets|strtok)[[:space:]]*\('
if git grep -nE "$banned" -- 'src/*.c' 'src/*.h' ; then
    echo "lint: banned function (STYLE.md §15)" >&2; rc=1
fi
if git grep -nE '\bsscanf[[:space:]]*\(' -- 'src/*.c'; then
    echo "lint: sscanf is banned for numbers; use the strict parsers in src/util" >&2; rc=1
fi
if git grep -nE '\b(printf|fprintf|puts|perror|exit|abort)[[:space:]]*\(' -- 'src/lib/*.c' 'src/util/*.c' \
    | grep -v 'snprintf\|vsnprintf'; then
    echo "lint: the library never prints or exits (STYLE.md §8)" >&2; rc=1
fi
if git grep -nE '(\(|, *)stderr *[,)]|STDERR_FILENO|\bperror *\(' -- 'src/cli/*.c' | grep -v '^src/cli/msgs\.c:'; then
    echo "lint: only src/cli/msgs.c writes to stderr (STYLE.md §9)" >&2; rc=1
fi
# Library messages name options by concept or options-struct field: the
# library is used from C too; the CLI maps fields to flags (src/cli/msgs.c).
if git grep -nE '"[^"]*--[a-z][^"]*"' -- 'src/lib/*.c'; then
    echo "lint: a library message names a CLI flag; name the option's field" >&2; rc=1
fi
if ! sh tools/check_includes.sh .; then
    echo "lint: wrong-way include (docs/architecture.md, 'Include direction')" >&2; rc=1
fi
exit $rc
