# Golden test: the hand-built database of tests/data/golden.sql through
# `attrib run --model linear` (equal credit, so every number can be worked out
# by hand), then the journey options, each checked against the expectations
# worked out in the comments.
. "$TOP/tests/cli/lib.sh"

golden_db g.db
expect_exit 0 "$ATTRIB" --db g.db run --model linear --out r.csv --summary-json s.json

# Journeys (SPEC §3), ordered by (timestamp, session_id), strictly before:
#   c1 (u1, 09-02 09:00:00): s1            (s2 is at the same second: excluded)
#   c2 (u1, 09-05 08:00:00): s1, s2, s3    (shares s1 with c1)
#   c3 (u2, 09-01 00:00:00): none          (s4 is one second later) -> unattributable, 30
#   c4 (u3, 09-06 23:00:00): s5, s6a, s6b  (s6a and s6b tie on time: by id)
#   c5 (u5, 09-11 12:00:00): s9, s8
# linear: 1/n each.
eq "$(q g.db "SELECT conv_id || ':' || session_id || '=' || printf('%.6f', ihc) FROM attribution_customer_journey ORDER BY conv_id, session_id" | tr '\n' ' ')" \
   "c1:s1=1.000000 c2:s1=0.333333 c2:s2=0.333333 c2:s3=0.333333 c4:s5=0.333333 c4:s6a=0.333333 c4:s6b=0.333333 c5:s8=0.500000 c5:s9=0.500000 " \
   "attribution rows"
grep -q '"conversions_unattributable": 1' s.json || fail "summary: unattributable count"
grep -q '"conv_id": "c3"' s.json || fail "summary lists c3"
grep -q '"unattributable_revenue": 30' s.json || fail "summary: unattributable revenue"
expect_err 'c3'

# Report (SPEC §5): one row per (channel, date) with sessions; cost once per
# session, NULL or missing cost = 0; ihc and ihc x revenue summed:
#   Affiliate   09-10: s8 + s9, no cost rows -> cost 0; ihc 1/2 + 1/2 = 1; rev 10
#   Direct      09-02: s2 (NULL cost) -> 0; ihc 1/3; rev 50/3
#   Newsletter  08-20: s5 0.25; ihc 1/3; rev 20/3; CPO 0.75; ROAS 80/3
#   Paid Search 09-01: s1 1.5; ihc 1 + 1/3; rev 100 + 50/3
#   Paid Search 09-03: s3 (no cost row) + s7 (not in a journey) 10; ihc 1/3
#   Paid Search 09-06: s6a 1 + s6b 3 = 4; ihc 2/3; rev 40/3
#   Social...   09-01: s4 2; ihc 0 -> CPO empty; ROAS 0
# Numbers are the shortest text that reads back to the double: 1/3 is
# 0.3333333333333333 and 0.3333333333333333 x 50 is 16.666666666666664.
cat >expected.csv <<'CSV'
channel_name,date,cost,ihc,ihc_revenue,CPO,ROAS
Affiliate,2023-09-10,0,1,10,0,
Direct Traffic,2023-09-02,0,0.3333333333333333,16.666666666666664,0,
Newsletter,2023-08-20,0.25,0.3333333333333333,6.666666666666666,0.75,26.666666666666664
Paid Search,2023-09-01,1.5,1.3333333333333333,116.66666666666666,1.125,77.77777777777777
Paid Search,2023-09-03,10,0.3333333333333333,16.666666666666664,30,1.6666666666666665
Paid Search,2023-09-06,4,0.6666666666666666,13.333333333333332,6,3.333333333333333
"Social, Paid ""Ads""",2023-09-01,2,0,0,,0
CSV
tr -d '\r' <r.csv >r.lf
cmp -s r.lf expected.csv || { diff r.lf expected.csv; fail "CSV differs from the worked example"; }
# RFC 4180 line ends.
[ "$(head -c 48 r.csv | od -c | grep -c '\\r')" -ge 1 ] || fail "CSV lines end in CRLF"

# --same-time: c1 now includes s2 (at its second): s1, s2 -> 1/2 each.
golden_db st.db
expect_exit 0 "$ATTRIB" --db st.db attribute --model linear --same-time -q
eq "$(q st.db "SELECT group_concat(session_id || '=' || ihc, ' ') FROM (SELECT * FROM attribution_customer_journey WHERE conv_id = 'c1' ORDER BY session_id)")" \
   "s1=0.5 s2=0.5" "--same-time journey of c1"

# --lookback-days 1: c5 at 09-11 12:00:00 keeps s8 (exactly 24 h before,
# inclusive) and drops s9 (one second earlier); c2 (09-05 08:00) keeps
# nothing after 09-04 08:00 -> unattributable.
golden_db lb.db
expect_exit 0 "$ATTRIB" --db lb.db attribute --model linear --lookback-days 1 --summary-json lb.json -q
eq "$(q lb.db "SELECT group_concat(session_id || '=' || ihc, ' ') FROM attribution_customer_journey WHERE conv_id = 'c5'")" \
   "s8=1.0" "--lookback-days 1 journey of c5"
eq "$(q lb.db "SELECT count(*) FROM attribution_customer_journey WHERE conv_id = 'c2'")" "0" "c2 outside the lookback"
grep -q '"conversions_unattributable": 2' lb.json || fail "c2 and c3 unattributable with lookback 1"

# --reset-after-conversion: c1 (09-02 09:00:00) ends c2's journey: c2 keeps
# sessions from that second on: s2 (exactly at c1's time, not c1's since the
# journey of c1 is strictly before it) and s3.
golden_db rs.db
expect_exit 0 "$ATTRIB" --db rs.db attribute --model linear --reset-after-conversion -q
eq "$(q rs.db "SELECT group_concat(session_id || '=' || ihc, ' ') FROM (SELECT * FROM attribution_customer_journey WHERE conv_id = 'c2' ORDER BY session_id)")" \
   "s2=0.5 s3=0.5" "--reset-after-conversion journey of c2"
# ... and with --same-time s2 belongs to c1, so c2 keeps s3 only.
golden_db rs2.db
expect_exit 0 "$ATTRIB" --db rs2.db attribute --model linear --reset-after-conversion --same-time -q
eq "$(q rs2.db "SELECT group_concat(session_id || '=' || ihc, ' ') FROM attribution_customer_journey WHERE conv_id = 'c2'")" \
   "s3=1.0" "--reset-after-conversion --same-time journey of c2"

# A range selects conversions, never sessions: 09-05..09-06 selects c2 and c4;
# c4's journey keeps s5 from 08-20. Report rows recomputed: the range's dates
# and the dates of those journeys' sessions (08-20, 09-01, 09-02, 09-03, 09-06)
# — every channel on those dates, so Social 09-01 too; Affiliate 09-10 is not.
golden_db rg.db
expect_exit 0 "$ATTRIB" --db rg.db run --model linear --start-date 2023-09-05 --end-date 2023-09-06 --out rg.csv -q
eq "$(q rg.db "SELECT group_concat(DISTINCT conv_id) FROM attribution_customer_journey")" "c2,c4" "range selects c2 and c4"
eq "$(q rg.db "SELECT group_concat(channel_name || '@' || date, ' ') FROM (SELECT * FROM channel_reporting ORDER BY 1, 2)")" \
   "Direct Traffic@2023-09-02 Newsletter@2023-08-20 Paid Search@2023-09-01 Paid Search@2023-09-03 Paid Search@2023-09-06 Social, Paid \"Ads\"@2023-09-01" \
   "report rows of a range"
# Paid Search 09-01 has only c2's third of s1 so far (c1 is outside the range).
eq "$(q rg.db "SELECT printf('%.6f', ihc) FROM channel_reporting WHERE channel_name = 'Paid Search' AND date = '2023-09-01'")" \
   "0.333333" "ihc of Paid Search 09-01 in a range"
# Export covers the range's dates only.
eq "$(tr -d '\r' <rg.csv | tail -n +2 | cut -d, -f1,2 | tr '\n' ' ')" "Paid Search,2023-09-06 " "export of a range"

# A range touching few days (09-10 and 09-11 of the 23 days of data) reads them
# through the date index instead of a full scan; same rules: c5's journey is on
# 09-10, so Affiliate 09-10 is the only row.
golden_db few.db
expect_exit 0 "$ATTRIB" --db few.db run --model linear --start-date 2023-09-11 --out few.csv -q
eq "$(q few.db "SELECT channel_name || '@' || date || ':' || cost || ',' || ihc || ',' || ihc_revenue FROM channel_reporting")" \
   "Affiliate@2023-09-10:0.0,1.0,10.0" "report of a range touching few days"

# A second, overlapping range replaces only its own conversions' rows: after a
# full run, re-attributing 09-01..09-02 with --same-time changes c1 (and c3,
# still unattributable) but leaves c2, c4 and c5 as they were.
golden_db ov.db
expect_exit 0 "$ATTRIB" --db ov.db run --model linear -q --out ov.csv
before=$(q ov.db "SELECT conv_id, session_id, ihc FROM attribution_customer_journey WHERE conv_id <> 'c1' ORDER BY 1, 2")
expect_exit 0 "$ATTRIB" --db ov.db run --model linear -q --same-time --start-date 2023-09-01 --end-date 2023-09-02 --out ov2.csv
after=$(q ov.db "SELECT conv_id, session_id, ihc FROM attribution_customer_journey WHERE conv_id <> 'c1' ORDER BY 1, 2")
eq "$after" "$before" "rows of conversions outside the second range"
eq "$(q ov.db "SELECT group_concat(session_id || '=' || ihc, ' ') FROM (SELECT * FROM attribution_customer_journey WHERE conv_id = 'c1' ORDER BY session_id)")" \
   "s1=0.5 s2=0.5" "c1 replaced by the second range"
# The report followed: Direct 09-02 now has s2's half of c1 plus its third of c2.
eq "$(q ov.db "SELECT printf('%.6f', ihc) FROM channel_reporting WHERE channel_name = 'Direct Traffic' AND date = '2023-09-02'")" \
   "0.833333" "Direct Traffic 09-02 after the second range"
echo ok
