-- date and timestamp arithmetic on literals (no now())
-- bug[sqlite,mysql]: date + integer is not translated: SQLite adds to the leading number of the text (2025, 2023), MySQL to the date as a number (20240229, 20240300); PostgreSQL gives dates 2024-02-29
SELECT DATE '2024-02-28' + 1 AS next_day, DATE '2024-03-01' - 1 AS prev_day;

-- bug[sqlite,mysql]: date - date is not translated to a day count: SQLite gives 0, MySQL 200 (numeric subtraction); PostgreSQL 60
SELECT DATE '2024-03-01' - DATE '2024-01-01' AS days;

-- bug[sqlite]: INTERVAL literals reach SQLite unchanged (syntax error 42601); datetime(x, '+1 day') would do
-- known[mysql]: date + interval is a timestamp in PostgreSQL, a DATE in MySQL (DIFFERENCES.md: result types)
SELECT DATE '2024-01-31' + INTERVAL '1 day' AS plus_day;

-- bug[sqlite]: INTERVAL literals reach SQLite unchanged (syntax error 42601)
SELECT TIMESTAMP '2024-01-01 10:00:00' + INTERVAL '90 minutes' AS later;

-- bug[sqlite]: INTERVAL literals reach SQLite unchanged (syntax error 42601)
SELECT TIMESTAMP '2024-01-01 00:00:00' - INTERVAL '1 second' AS earlier;

-- bug[sqlite]: extract(field FROM x) reaches SQLite unchanged (syntax error 42601); strftime would do
-- known[mysql]: extract() is numeric in PostgreSQL 14+, an integer in MySQL (DIFFERENCES.md: result types)
SELECT extract(year FROM DATE '2024-05-17') AS y, extract(month FROM DATE '2024-05-17') AS m, extract(day FROM DATE '2024-05-17') AS d;

-- bug[sqlite]: date_trunc becomes TIMESTAMP_TRUNC, which SQLite lacks (42883)
-- bug[mysql]: date_trunc comes back as text '2024-05-01 00:00:00', not a timestamp
SELECT date_trunc('month', TIMESTAMP '2024-05-17 13:14:15') AS month_start;

SELECT DATE '2024-05-17' < DATE '2024-06-01' AS before, DATE '2024-05-17' = '2024-05-17' AS same;

DROP TABLE IF EXISTS cf_dates;

CREATE TABLE cf_dates (id INTEGER PRIMARY KEY, d DATE, ts TIMESTAMP);

INSERT INTO cf_dates VALUES (1, '2024-01-15', '2024-01-15 08:00:00'), (2, '2023-12-01', '2023-12-01 23:30:00'), (3, '2024-02-29', NULL);

SELECT id, d, ts FROM cf_dates ORDER BY id;

SELECT id, d FROM cf_dates WHERE d >= DATE '2024-01-01' ORDER BY d;

SELECT id FROM cf_dates WHERE ts < TIMESTAMP '2024-01-01 00:00:00' ORDER BY id;

-- bug[sqlite]: min/max over DATE and TIMESTAMP columns lose the declared type and reach the client as text
SELECT min(d) AS first, max(d) AS last, max(ts) AS latest FROM cf_dates;

DROP TABLE cf_dates;
