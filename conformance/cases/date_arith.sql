-- date and timestamp arithmetic on literals (no now())
SELECT DATE '2024-02-28' + 1 AS next_day, DATE '2024-03-01' - 1 AS prev_day;

SELECT DATE '2024-03-01' - DATE '2024-01-01' AS days;

SELECT DATE '2024-01-31' + INTERVAL '1 day' AS plus_day;

SELECT TIMESTAMP '2024-01-01 10:00:00' + INTERVAL '90 minutes' AS later;

SELECT TIMESTAMP '2024-01-01 00:00:00' - INTERVAL '1 second' AS earlier;

SELECT extract(year FROM DATE '2024-05-17') AS y, extract(month FROM DATE '2024-05-17') AS m, extract(day FROM DATE '2024-05-17') AS d;

SELECT date_trunc('month', TIMESTAMP '2024-05-17 13:14:15') AS month_start;

SELECT DATE '2024-05-17' < DATE '2024-06-01' AS before, DATE '2024-05-17' = '2024-05-17' AS same;

DROP TABLE IF EXISTS cf_dates;

CREATE TABLE cf_dates (id INTEGER PRIMARY KEY, d DATE, ts TIMESTAMP);

INSERT INTO cf_dates VALUES (1, '2024-01-15', '2024-01-15 08:00:00'), (2, '2023-12-01', '2023-12-01 23:30:00'), (3, '2024-02-29', NULL);

SELECT id, d, ts FROM cf_dates ORDER BY id;

SELECT id, d FROM cf_dates WHERE d >= DATE '2024-01-01' ORDER BY d;

SELECT id FROM cf_dates WHERE ts < TIMESTAMP '2024-01-01 00:00:00' ORDER BY id;

-- known[sqlite]: min/max over DATE and TIMESTAMP columns reach the client as text: SQLite reports no declared type for an aggregate (DIFFERENCES.md: Timestamps)
SELECT min(d) AS first, max(d) AS last, max(ts) AS latest FROM cf_dates;

DROP TABLE cf_dates;

-- date + a column the statement does not type (here an integer)
SELECT i, '2021-01-01'::date + i AS d, i + '2021-01-31'::date AS e FROM generate_series(1, 2) AS i;
