-- A small hand-built database of the edge cases of SPEC §3 and §5. The
-- expected journeys and report rows are worked out in tests/cli/test_golden.sh.
INSERT INTO session_sources VALUES
 ('s1', 'u1', '2023-09-01', '10:00:00', 'Paid Search', 1, 0, 0),
 ('s2', 'u1', '2023-09-02', '09:00:00', 'Direct Traffic', 0, 1, 0),
 ('s3', 'u1', '2023-09-03', '12:00:00', 'Paid Search', 1, 1, 0),
 ('s4', 'u2', '2023-09-01', '00:00:01', 'Social, Paid "Ads"', 0, 0, 0),
 ('s5', 'u3', '2023-08-20', '08:00:00', 'Newsletter', 1, 0, 0),
 ('s6b', 'u3', '2023-09-06', '07:00:00', 'Paid Search', 0, 1, 0),
 ('s6a', 'u3', '2023-09-06', '07:00:00', 'Paid Search', 1, 1, 0),
 ('s7', 'u4', '2023-09-03', '13:00:00', 'Paid Search', 0, 0, 0);
INSERT INTO conversions VALUES
 ('c1', 'u1', '2023-09-02', '09:00:00', 100.0),
 ('c2', 'u1', '2023-09-05', '08:00:00', 50.0),
 ('c3', 'u2', '2023-09-01', '00:00:00', 30.0),
 ('c4', 'u3', '2023-09-06', '23:00:00', 20.0);
INSERT INTO session_costs VALUES
 ('s1', 1.5), ('s2', NULL), ('s4', 2.0), ('s5', 0.25), ('s6a', 1), ('s6b', 3), ('s7', 10);
-- u5: the lookback boundary (s8 is exactly 24 h before c5, s9 one second more).
INSERT INTO session_sources VALUES
 ('s8', 'u5', '2023-09-10', '12:00:00', 'Affiliate', 1, 1, 0),
 ('s9', 'u5', '2023-09-10', '11:59:59', 'Affiliate', 0, 0, 0);
INSERT INTO conversions VALUES ('c5', 'u5', '2023-09-11', '12:00:00', 10.0);
