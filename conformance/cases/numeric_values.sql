-- numeric and float values as result columns: scale kept, NaN and infinities, division by zero
SELECT '1.10'::numeric AS n, '0E-7'::numeric AS z, '-1.00000000000000'::numeric AS m;

SELECT 'NaN'::float8 AS nan, '-Infinity'::float8 AS minf, -'Infinity'::float8 AS neg, 'NaN'::numeric AS nnan;

-- expect: error 22012
-- known[mysql]: division by zero is NULL on MariaDB (DIFFERENCES.md: Division by zero)
SELECT 1 / 0;
