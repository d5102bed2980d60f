-- integer division truncates toward zero; modulo keeps the dividend's sign
SELECT 7 / 2 AS a, -7 / 2 AS b, 7 / -2 AS c, 1 / 3 AS d;

SELECT 7 % 3 AS a, -7 % 3 AS b, 7 % -3 AS c, mod(10, 4) AS d;

-- known[sqlite]: decimal literals are doubles on SQLite (DIFFERENCES.md: NUMERIC)
-- known[mysql]: numeric division carries MySQL's scale (div_precision_increment), not PostgreSQL's (DIFFERENCES.md: avg and numeric division)
SELECT 7.0 / 2 AS a;

SELECT CAST(7 AS INTEGER) / CAST(2 AS INTEGER) AS q;

SELECT div(17, 5) AS d;

DROP TABLE IF EXISTS cf_div;

CREATE TABLE cf_div (a INTEGER, b INTEGER);

INSERT INTO cf_div VALUES (7, 2), (-9, 4), (10, 5);

SELECT a, b, a % b AS m FROM cf_div ORDER BY a;

-- known[mysql]: division of two integer columns is decimal on MySQL (DIFFERENCES.md: "Division of integer columns")
SELECT a, b, a / b AS q FROM cf_div ORDER BY a;

DROP TABLE cf_div;
