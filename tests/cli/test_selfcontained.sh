# The project stands alone: no file of the repository reads or points at
# files outside it (the sibling folder `shared` of the development machine,
# absolute paths of that machine). Test data lives in tests/data.
. "$TOP/tests/cli/lib.sh"

cd "$TOP" || fail "cd $TOP"
# the patterns are spelled in two halves so that this file does not match itself
outside='\.\./'"shared|/work"'/(shared|main|wt-)'
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    hits=$(git grep -nIE "$outside" -- . ':!tests/data/ihc-real/*.json' ':!tests/data/ihc-real/*/*.json')
else # a tarball: every file but the build output
    hits=$(grep -rnIE --exclude-dir=build --exclude-dir=.git --exclude='*.json' "$outside" .)
fi
[ -z "$hits" ] || fail "files outside the repository are referenced:
$hits"

# every test fixture a test names exists in the repository
for f in $(grep -ohE 'tests/data/[A-Za-z0-9_./-]+' tests/unit/*.c tests/cli/*.sh | sed 's/[.]$//' | sort -u); do
    [ -e "$f" ] || fail "a test names $f, which is not in the repository"
done
[ -f tests/data/README.md ] || fail "tests/data/README.md (where the data comes from) is missing"
for d in tests/data/*; do
    n=$(basename "$d")
    [ "$n" = README.md ] && continue
    grep -q "\`$n" tests/data/README.md || fail "tests/data/README.md does not describe $n"
done
echo ok
