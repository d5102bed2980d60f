-- arrays: constructors, literals, ANY / ALL, unnest, array functions (JSON arrays on SQLite and MariaDB)
SELECT ARRAY[1, 2, 3] AS a, ARRAY['x', 'y z', NULL] AS b;

SELECT '{1,2,NULL}'::int[] AS i, '{"a,b",c}'::text[] AS t, '{1.50,-2}'::numeric[] AS n;

SELECT 2 = ANY(ARRAY[1, 2]) AS hit, 5 = ANY('{1,2}'::int[]) AS miss, 3 <> ALL(ARRAY[1, 2]) AS none_equal;

SELECT unnest(ARRAY[10, 20, 30]) AS v;

SELECT x FROM unnest('{c,a,b}'::text[]) AS t(x) ORDER BY x;

SELECT array_length(ARRAY[1, 2, 3], 1) AS len, array_length('{}'::int[], 1) AS empty_len, cardinality(ARRAY[4, 5]) AS card;

SELECT array_remove(ARRAY[1, 2, 1, 3], 1) AS removed;

SELECT array_agg(x ORDER BY x) AS agg FROM unnest(ARRAY[3, 1, 2]) AS t(x);

DROP TABLE IF EXISTS cf_arrays;

CREATE TABLE cf_arrays (id INTEGER PRIMARY KEY, name TEXT);

INSERT INTO cf_arrays VALUES (1, 'ada'), (2, 'grace'), (3, 'edsger');

SELECT name FROM cf_arrays WHERE id = ANY(ARRAY[1, 3]) ORDER BY id;

SELECT name FROM cf_arrays WHERE name <> ALL('{ada,grace}'::text[]) ORDER BY id;

SELECT name FROM cf_arrays WHERE id = ANY('{2,3}') ORDER BY id;

SELECT ARRAY[1, 2] = '{1,2}'::int[] AS same, ARRAY[1, 2] <> ARRAY[2, 1] AS differ;

SELECT '{{1,2},{3,4}}'::int[][] AS matrix, '[0:1]={a,b}'::text[] AS bounded;

-- known[sqlite,mysql]: array_agg of a column the statement does not type comes back as its JSON text (DIFFERENCES.md: Arrays)
SELECT array_agg(name ORDER BY id) AS names FROM cf_arrays;

DROP TABLE cf_arrays;
