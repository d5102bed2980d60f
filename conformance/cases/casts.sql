-- casts with CAST() and ::, between text, numbers, booleans and dates
SELECT CAST('42' AS INTEGER) AS i, '7'::int + 1 AS j, CAST(-12 AS BIGINT) AS b;

SELECT CAST(3.7 AS INTEGER) AS r, CAST(-2.5 AS INTEGER) AS rn;

SELECT CAST(12 AS TEXT) AS t, 12::varchar AS v, CAST(1.5 AS TEXT) AS d;

-- known[sqlite]: NUMERIC(p,s) on SQLite keeps the value as a double, not rounded to the scale (DIFFERENCES.md: NUMERIC)
SELECT CAST('3.14159' AS NUMERIC(6,2)) AS n;

-- known[sqlite]: NUMERIC on SQLite is a double: 2::numeric / 3 is 0.6666666666666666 (float8), PostgreSQL 0.66666666666666666667 (DIFFERENCES.md: NUMERIC)
-- known[mysql]: numeric division carries MySQL's scale (div_precision_increment), not PostgreSQL's (DIFFERENCES.md: avg and numeric division)
SELECT 2::numeric / 3 AS third;

SELECT CAST('2.5' AS DOUBLE PRECISION) AS f, 1::float8 / 4 AS q;

SELECT 'true'::boolean AS t, 'f'::boolean AS f, 'yes'::boolean AS y, CAST(0 AS BOOLEAN) AS z;

SELECT CAST('2024-03-01' AS DATE) AS d, '2024-03-01 12:30:00'::timestamp AS ts;

SELECT CAST(true AS TEXT) AS bt, CAST(1 > 2 AS TEXT) AS bf;

SELECT 1 = 1 AS eq, 1 < 0 AS lt, NULL::boolean AS nb;

-- expect: error 22P02
-- known[sqlite,mysql]: casts of malformed text are lenient on SQLite and MySQL ('abc' becomes 0) where PostgreSQL raises 22P02 (DIFFERENCES.md: casts)
SELECT CAST('abc' AS INTEGER);
