-- abs / round / ceil / floor on integers, numerics and floats
SELECT abs(-5) AS a, abs(3) AS b;

-- known[sqlite]: round() of a double rounds half away from zero on SQLite (3), to even in PostgreSQL (2) (DIFFERENCES.md: NUMERIC)
SELECT round(2.5::float8) AS rf;

-- known[sqlite]: decimal literals are doubles on SQLite (DIFFERENCES.md: NUMERIC)
SELECT abs(-2.50) AS c;

-- known[sqlite]: decimal literals are doubles on SQLite, so round() of one is float8 (DIFFERENCES.md: NUMERIC)
SELECT round(2.5) AS r1, round(-2.5) AS r2, round(3.14159, 2) AS r3;

-- known[sqlite]: SQLite's round() ignores a negative number of digits (1235 where PostgreSQL gives 1200) (DIFFERENCES.md: NUMERIC)
SELECT round(1234.5, -2) AS r4;

-- known[sqlite]: decimal literals are doubles on SQLite (DIFFERENCES.md: NUMERIC)
-- known[mysql]: ceil/floor of numeric are numeric in PostgreSQL, integers in MySQL; sqrt(numeric) is numeric in PostgreSQL, a double in MySQL (DIFFERENCES.md: result types)
SELECT ceil(1.2) AS c, floor(-1.2) AS f, sqrt(16.0) AS s;

SELECT 2 ^ 10 AS p, 2 + 3 * 4 AS prec, (2 + 3) * 4 AS paren, -(-3) AS neg, 10 - 2 - 3 AS left_assoc;

-- known[sqlite]: decimal literals are doubles on SQLite: 0.1 + 0.2 is 0.30000000000000004 (DIFFERENCES.md: NUMERIC)
SELECT 1.5 + 1 AS n, 0.1 + 0.2 AS exact;

SELECT greatest(1, 5, 3) AS g, least(4, 2, 8) AS l;

DROP TABLE IF EXISTS cf_math;

CREATE TABLE cf_math (id INTEGER PRIMARY KEY, n INTEGER, x NUMERIC(10,3));

INSERT INTO cf_math VALUES (1, -7, 1.2345), (2, 3, -0.5), (3, NULL, NULL);

SELECT id, abs(n) AS an FROM cf_math ORDER BY id;

-- known[sqlite]: NUMERIC on SQLite is a double: 1.2345 is not rounded to 1.235 on insert, and arithmetic over it is float8 (DIFFERENCES.md: NUMERIC)
SELECT id, round(x, 1) AS rx, x * 2 AS x2 FROM cf_math ORDER BY id;

DROP TABLE cf_math;
