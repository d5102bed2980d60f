-- pg_typeof() and regtype: the proxy knows the type of literals, casts and arrays
SELECT pg_typeof(1) AS i, pg_typeof(1.5) AS n, pg_typeof('a'::text) AS t, pg_typeof(true) AS b;

SELECT pg_typeof(ARRAY[1]) AS ia, pg_typeof('{}'::text[]) AS ta, pg_typeof(now()) AS ts;

SELECT pg_typeof(1)::oid AS o, 'int4'::regtype AS r, 'integer[]'::regtype::oid AS ro;

SELECT pg_typeof(1::int8) = 'bigint'::regtype AS same;

-- expect: error 42704
SELECT 'nosuchtype'::regtype;
