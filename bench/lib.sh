# Helpers shared by the benchmark scripts (sourced; $TOP is the repository).

# load: the 1-minute load average.
load() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?'; }

# median FILE COLUMN: the median of a column of numbers (0 when none).
median() {
    awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2];
        else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# json_num FILE KEY: a number field of a --summary-json file.
json_num() {
    sed -n "s/^ *\"$2\": *\([0-9.eE+-]*\),*$/\1/p" "$1" | head -n 1
}

# span_days N: the span attrib gen chooses by default (~30 days per million, 7..730).
span_days() {
    awk -v n="$1" 'BEGIN { d = int(n / 33334); if (d < 7) d = 7; if (d > 730) d = 730; print d }'
}

# The checksum of the generator's sources that names a cached dataset.
GENSUM=$(cat "$TOP/src/lib/gen/gen.c" "$TOP/src/lib/gen/store.c" | cksum | cut -d' ' -f1)

# SQL that leaves only the input tables (and their primary keys) of a database
# attrib gen or a run made: a shop's own database before its first run.
INPUTS_ONLY="DROP INDEX IF EXISTS attrib_session_sources_user;
DROP INDEX IF EXISTS attrib_session_sources_date; DROP INDEX IF EXISTS attrib_conversions_date;
DROP INDEX IF EXISTS attrib_conversions_user; DROP TABLE IF EXISTS attribution_customer_journey;
DROP TABLE IF EXISTS channel_reporting; DROP TABLE IF EXISTS attrib_journey_phases;
DROP TABLE IF EXISTS attrib_dirty_dates; DROP TABLE IF EXISTS attrib_meta;
DROP TABLE IF EXISTS attrib_report_sums; DROP TABLE IF EXISTS attrib_dirty_keys;"

# From 50M sessions on, the input tables are created without their inline
# primary keys and given unique indexes on their ids after the load (as an
# ETL job that adds its keys last would): the same rows in the same order,
# the same lookups, but the keys are built by sorting. Random 64-hex ids
# inserted one by one into inline primary keys need the keys' ~20 GB in
# memory at 100M; without it the generation slowed to 0.07 GB/min.
KEYLESS_INPUTS="CREATE TABLE conversions (conv_id text NOT NULL, user_id text NOT NULL,
 conv_date text NOT NULL, conv_time text NOT NULL, revenue real NOT NULL);
CREATE TABLE session_costs (session_id text NOT NULL, cost real);
CREATE TABLE session_sources (session_id text NOT NULL, user_id text NOT NULL,
 event_date text NOT NULL, event_time text NOT NULL, channel_name text NOT NULL,
 holder_engagement INTEGER NOT NULL, closer_engagement INTEGER NOT NULL,
 impression_interaction INTEGER NOT NULL);"
UNIQUE_KEYS="PRAGMA threads = 2; PRAGMA cache_size = -1048576;
CREATE UNIQUE INDEX session_sources_key ON session_sources (session_id);
CREATE UNIQUE INDEX session_costs_key ON session_costs (session_id);
CREATE UNIQUE INDEX conversions_key ON conversions (conv_id);"

# floor_read DB: "wall cpu" seconds of one read floor of DB ($FLOOR, bench/floor).
floor_read() {
    "$FLOOR" "$1" | awk '{ for (i = 1; i < NF; i++) {
        if ($(i + 1) == "s" && $(i + 2) == "wall,") w = $i
        if ($(i + 1) == "s" && $(i + 2) == "CPU") c = $i }
        print w, c }'
}
