-- numeric and float values as result columns: scale kept, NaN and infinities, division by zero
SELECT '1.10'::numeric AS n, '0E-7'::numeric AS z, '-1.00000000000000'::numeric AS m;

SELECT 'NaN'::float8 AS nan, '-Infinity'::float8 AS minf, -'Infinity'::float8 AS neg, 'NaN'::numeric AS nnan;

-- expect: error 22012
-- known[mysql]: division by zero is NULL on MariaDB (DIFFERENCES.md: Division by zero)
SELECT 1 / 0;

SELECT '1.10'::numeric::text AS a, '0.00001'::numeric::text AS b, '1e30'::numeric::text AS c,
       '1.0'::numeric(10,3)::text AS d, 'NaN'::numeric::text AS e, '2.5'::numeric(2,0)::text AS f;

-- expect: error 22003
-- bug[mysql]: MariaDB clamps a value too big for numeric(p,s) to its largest
SELECT '12345'::numeric(3,1)::text;

-- expect: error 22P02
-- bug[mysql]: MariaDB reads text that is not a number as 0
SELECT 'x'::numeric::text;

SELECT 'NaN'::float8 = 'nan'::float8 AS a, '-inf'::float8 = '-Infinity'::float8 AS b,
       'Infinity'::float8 <> 'NaN'::float8 AS c;

SELECT -9223372036854775809 AS a, - -9223372036854775809 AS b, -9223372036854775808 AS c,
       12345678901234567890123 AS d, pg_typeof(-9223372036854775808) AS t,
       pg_typeof(9223372036854775808) AS u;
