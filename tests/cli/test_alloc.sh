# Allocation-failure injection (tests/alloc/sweep.sh) on a subset: every
# 97th/37th/181st allocation failing in the json, models and pipeline
# scenarios, every one in serve's start. Needs the ASan+UBSan build (its
# LeakSanitizer finds what a failure path leaks): runs under `make asan`,
# skipped otherwise. The full sweep (step 1) and its figures:
# docs/reliability.md.
. "$TOP/tests/cli/lib.sh"
case "${CFLAGS_SAN:-}" in
*address*) ;;
*)
    echo "SKIP: needs the ASan build (make asan)"
    exit 0
    ;;
esac
B=$(dirname "$ATTRIB")
cd "$TOP" || fail "cd"
sh tests/alloc/sweep.sh "$B" 97 json >"$T/a1" 2>&1 || fail "json: $(tail -20 "$T/a1")"
sh tests/alloc/sweep.sh "$B" 37 models >"$T/a2" 2>&1 || fail "models: $(tail -20 "$T/a2")"
sh tests/alloc/sweep.sh "$B" 1 serve >"$T/a3" 2>&1 || fail "serve: $(tail -20 "$T/a3")"
sh tests/alloc/sweep.sh "$B" 181 pipeline >"$T/a4" 2>&1 || fail "pipeline: $(tail -20 "$T/a4")"
cat "$T/a1" "$T/a2" "$T/a3" "$T/a4" | grep -v '^alloc sweep'
exit 0
