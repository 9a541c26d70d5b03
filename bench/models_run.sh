#!/bin/sh
# The whole `attrib attribute --model M` step per model, as a ratio to the
# IHC engine's step (issue P6: at most 1.5x). Works on a copy of DB, because
# attribute writes attribution_customer_journey.
#
#   sh bench/models_run.sh path/to/attrib DB [MODEL-SPEC ...]
#   MODEL-SPEC is a model name plus options in one word with '+' for spaces,
#   e.g. markov+--order+3. Default: ihc first-class models and markov order 3.
set -eu
ATTRIB=$1
DB=$2
shift 2
if [ $# -eq 0 ]; then
    set -- ihc first last last-non-direct linear position time-decay markov markov+--order+3 \
        shapley shapley-simplified counterfactual
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/attrib-models.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
cp "$DB" "$TMP/work.db"
"$ATTRIB" -q --db "$TMP/work.db" attribute --model ihc >/dev/null # warm the page cache
base=""
printf '%-22s %9s %9s %9s %10s %11s\n' model wall_s cpu_s rss_mb wall/ihc cpu/ihc
for spec in "$@"; do
    args=$(echo "$spec" | tr '+' ' ')
    # shellcheck disable=SC2086
    /usr/bin/time -f '%e %U %S %M' -o "$TMP/t" "$ATTRIB" -q --db "$TMP/work.db" attribute \
        --model $args
    read -r wall user sys rss <"$TMP/t"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
    if [ -z "$base" ]; then
        base="$wall $cpu"
    fi
    echo "$spec $wall $cpu $rss $base" | awk '{
        printf "%-22s %9.2f %9.2f %9.0f %10.2f %11.2f\n", $1, $2, $3, $4 / 1024,
            ($5 > 0 ? $2 / $5 : 0), ($6 > 0 ? $3 / $6 : 0) }'
done
