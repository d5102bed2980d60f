-- ranges and multiranges: canonical forms, constructors, functions, operators, columns (canonical text on SQLite and MariaDB)
SELECT '[1,5]'::int4range AS closed, '(1,5)'::int4range AS open, '(1,2)'::int4range AS gone, 'empty'::int8range AS e, '(,)'::numrange AS everything;

SELECT '[2000-01-01,2000-01-31]'::daterange AS d, '(-1.5,2.25]'::numrange AS n, '["2000-01-01 10:00","2000-01-02 00:00")'::tsrange AS ts;

SELECT '[2000-01-01 10:00+02,)'::tstzrange AS since;

SELECT '{[1,3), [3,5], (7,9), empty}'::int4multirange AS merged, '{}'::datemultirange AS none;

SELECT int4range(1, 5) AS default_bounds, int4range(1, 5, '[]') AS closed, numrange(NULL, 2.5, '(]') AS upto, daterange('2000-01-01', '2000-02-01', '()') AS d;

SELECT int8multirange(int8range(1, 3), int8range(2, 6)) AS m;

SELECT '[1,5]'::int4range = '[1,6)'::int4range AS same, 'empty'::int4range = '(3,4)'::int4range AS both_empty;

SELECT ARRAY['empty'::int4range, '[1,2]'::int4range] AS a;

SELECT '{"[1,2]",empty}'::int4range[] AS a, '{"[1,2]",empty}'::int4range[] = ARRAY['[1,3)'::int4range, 'empty'::int4range] AS same, '{"{[1,2], [2,5)}"}'::int4multirange[] AS m;

SELECT lower('[1,5]'::int4range) AS lo, upper('[1,5]'::int4range) AS up, lower('(,5)'::int4range) AS no_lo, upper('empty'::int4range) AS empty_up;

SELECT lower('[2000-01-01,2000-02-01)'::daterange) AS lo, upper('[1.5,2.25]'::numrange) AS up;

SELECT isempty('empty'::int4range) AS e, lower_inc('[1,5]'::int4range) AS li, upper_inc('[1,5]'::int4range) AS ui, lower_inf('(,5]'::int4range) AS linf, upper_inf('(,5]'::int4range) AS uinf;

SELECT '[1,5)'::int4range @> 4 AS has4, '[1,5)'::int4range @> 5 AS has5, 3 <@ '[1,5)'::int4range AS in3;

SELECT '[1,10)'::int4range @> '[2,3)'::int4range AS contains, '[2,3)'::int4range <@ '[1,2)'::int4range AS within, '[1,5)'::int4range && '[5,6)'::int4range AS touching, '[1,5]'::numrange && '[5,6)'::numrange AS overlapping;

SELECT '[2000-01-01,2000-02-01)'::daterange @> '2000-01-31'::date AS jan31, '[2000-01-01,2000-02-01)'::daterange @> '2000-02-01'::date AS feb1;

-- expect: error 22000
SELECT int4range(5, 1);

-- expect: error 22P02
SELECT '[1,2'::int4range;

-- expect: error 42601
SELECT int4range(1, 2, 'xx');

DROP TABLE IF EXISTS cf_ranges;

CREATE TABLE cf_ranges (id INTEGER PRIMARY KEY, r int4range, d datemultirange, n numrange[]);

INSERT INTO cf_ranges VALUES (1, '[1,5]'::int4range, '{[2000-01-01,2000-01-10), [2000-01-05,2000-01-20)}'::datemultirange, ARRAY['(1,2]'::numrange]);

INSERT INTO cf_ranges VALUES (2, int4range(3, 4, '()'), '{}'::datemultirange, ARRAY['empty'::numrange, '(,)'::numrange]);

SELECT id, r, d, n FROM cf_ranges ORDER BY id;

SELECT id FROM cf_ranges WHERE r = '[1,6)'::int4range;

SELECT id, isempty(r) AS e, lower_inc(r) AS li FROM cf_ranges ORDER BY id;

SELECT id FROM cf_ranges WHERE r::int4range @> 2 ORDER BY id;

-- expect[mysql]: error 0A000
SELECT id, int4range(id, id + 2, '(]') AS r, int4multirange(int4range(id, 5), int4range(3, 9)) AS m FROM cf_ranges ORDER BY id;

DROP TABLE cf_ranges;
