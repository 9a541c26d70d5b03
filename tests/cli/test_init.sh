# attrib init: the official schema file (Python coding line and docstring
# first) is accepted as it is; the built-in schema has the same tables and
# columns; init is idempotent and creates the indexes attrib needs.
. "$TOP/tests/cli/lib.sh"

schema="$TOP/tests/data/challenge_db_create.sql"
head -1 "$schema" | grep -q 'coding' || fail "fixture lost its Python header"

expect_exit 0 "$ATTRIB" --db official.db init --schema-file "$schema"
expect_exit 0 "$ATTRIB" --db official.db init --schema-file "$schema"   # again: idempotent
expect_exit 0 "$ATTRIB" --db builtin.db init
expect_exit 0 "$ATTRIB" --db builtin.db init
cols() { # the user-visible tables and their columns, in order
    for t in session_sources conversions session_costs attribution_customer_journey channel_reporting; do
        printf '%s:' "$t"
        q "$1" "SELECT group_concat(name || ' ' || lower(type) || ' ' || \"notnull\" || ' ' || pk, ',') FROM pragma_table_info('$t')"
    done
}
eq "$(cols builtin.db)" "$(cols official.db)" "built-in schema vs challenge_db_create.sql"
for i in attrib_session_sources_user attrib_session_sources_date attrib_conversions_date attrib_acj_session; do
    eq "$(q official.db "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = '$i'")" "1" "index $i"
done

# A schema file that is not SQL: a clear error, nothing half-made.
printf 'CREATE TABLE broken (\n' >bad.sql
expect_exit 1 "$ATTRIB" --db bad.db init --schema-file bad.sql
expect_err 'schema file'
eq "$(q bad.db "SELECT count(*) FROM sqlite_schema")" "0" "tables after a failed init"
expect_exit 1 "$ATTRIB" --db x.db init --schema-file no-such-file.sql
expect_err 'no-such-file.sql'
echo ok
