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

# A schema file runs CREATE TABLE and CREATE INDEX only (issue 18, defect 2):
# anything else is refused before a statement runs, existing rows stay, and
# no file is created. Each hostile statement is tried after a valid CREATE.
golden_db rows.db
before=$(q rows.db "SELECT count(*) FROM conversions; SELECT count(*) FROM session_sources")
for stmt in "DROP TABLE conversions" "DELETE FROM session_sources" \
    "ATTACH DATABASE 'p.db' AS p" "INSERT INTO conversions VALUES ('z','u','2023-01-01','00:00:00',1)" \
    "UPDATE conversions SET revenue = 0" "PRAGMA writable_schema = 1" "VACUUM INTO 'copy.db'" \
    "COMMIT" "CREATE TABLE y AS SELECT * FROM conversions" \
    "CREATE TRIGGER t AFTER INSERT ON conversions BEGIN DELETE FROM session_sources; END" \
    "CREATE VIEW v AS SELECT 1" "/* a comment */ DELETE FROM conversions"; do
    printf '%s\nCREATE TABLE IF NOT EXISTS x(a);\n%s;\nCREATE TABLE IF NOT EXISTS z(a);\n' "-- hostile" "$stmt" >hostile.sql
    expect_exit 1 "$ATTRIB" --db rows.db init --schema-file hostile.sql
    expect_err 'schema file line 3: only CREATE TABLE and CREATE INDEX statements are run'
    eq "$(q rows.db "SELECT count(*) FROM conversions; SELECT count(*) FROM session_sources")" "$before" "rows after: $stmt"
    eq "$(q rows.db "SELECT count(*) FROM sqlite_schema WHERE name IN ('x', 'y', 'z', 'v', 't')")" "0" "objects after: $stmt"
    [ ! -e p.db ] && [ ! -e copy.db ] || fail "a file was created by: $stmt"
done
# The audit's file, whole.
printf "CREATE TABLE IF NOT EXISTS x(a); DROP TABLE conversions; DELETE FROM session_sources; ATTACH DATABASE 'p.db' AS p; CREATE TABLE p.t(a);\n" >audit.sql
expect_exit 1 "$ATTRIB" --db rows.db init --schema-file audit.sql
eq "$(q rows.db "SELECT count(*) FROM conversions; SELECT count(*) FROM session_sources")" "$before" "rows after audit.sql"
[ ! -e p.db ] || fail "audit.sql created p.db"
# A statement hidden after a quote in one "statement" is still one SQLite
# statement too many: the backend's own guard refuses it.
printf "CREATE TABLE IF NOT EXISTS x(a DEFAULT 'x');DROP TABLE conversions;\n" >quoted.sql
expect_exit 1 "$ATTRIB" --db rows.db init --schema-file quoted.sql
eq "$(q rows.db "SELECT count(*) FROM conversions")" "5" "conversions after quoted.sql"
# What is allowed: tables and indexes, with comments and quoted names.
printf -- "-- mine\nCREATE TABLE IF NOT EXISTS \"my;table\" (a text DEFAULT 'a;b');\nCREATE UNIQUE INDEX IF NOT EXISTS mine ON \"my;table\"(a);\nCREATE INDEX IF NOT EXISTS conv_rev ON conversions(revenue);\n" >ok.sql
expect_exit 0 "$ATTRIB" --db rows.db init --schema-file ok.sql
eq "$(q rows.db "SELECT count(*) FROM sqlite_schema WHERE name IN ('my;table', 'mine', 'conv_rev')")" "3" "allowed objects"
eq "$(q rows.db "SELECT count(*) FROM conversions; SELECT count(*) FROM session_sources")" "$before" "rows after ok.sql"
echo ok
