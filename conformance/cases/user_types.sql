-- Enums, composite types, records and schemas: values, labels, text forms, DDL errors
DROP TABLE IF EXISTS cf_ut_t;
DROP TYPE IF EXISTS cf_ut_pair;
DROP TYPE IF EXISTS cf_ut_mood;
DROP SCHEMA IF EXISTS cf_ut_s CASCADE;

CREATE TYPE cf_ut_mood AS ENUM ('sad', 'ok', 'happy');

CREATE TYPE cf_ut_pair AS (a int4, b text);

CREATE SCHEMA cf_ut_s;

-- expect: error 42P06
CREATE SCHEMA cf_ut_s;

CREATE SCHEMA IF NOT EXISTS cf_ut_s;

CREATE TYPE cf_ut_s.cf_ut_pair AS (flag boolean);

CREATE TABLE cf_ut_t (id int PRIMARY KEY, m cf_ut_mood, p cf_ut_pair);

INSERT INTO cf_ut_t VALUES (1, 'happy', '(1,"x y")'), (2, 'sad', NULL);

SELECT id, m, p FROM cf_ut_t ORDER BY id;

SELECT 'ok'::cf_ut_mood, '{sad,ok}'::cf_ut_mood[];

SELECT ROW(1, 'a b', NULL, TRUE, ''), (2, 'c') AS pair, ROW();

SELECT ROW(42, 'x y')::cf_ut_pair, ARRAY[ROW(1, 'a')::cf_ut_pair];

SELECT 1 WHERE ROW(1, 2) = (1, 2);

-- unordered
SELECT enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = 'cf_ut_mood';

SELECT a.attname, a.atttypid::regtype::text FROM pg_attribute a JOIN pg_type t ON t.typrelid = a.attrelid WHERE t.typname = 'cf_ut_pair' AND t.typnamespace = 'public'::regnamespace AND a.attnum > 0 ORDER BY a.attnum;

SELECT nspname FROM pg_namespace WHERE nspname = 'cf_ut_s';

ALTER TYPE cf_ut_mood ADD VALUE 'meh' BEFORE 'ok';

-- expect: error 42710
ALTER TYPE cf_ut_mood ADD VALUE 'meh';

ALTER TYPE cf_ut_mood RENAME VALUE 'sad' TO 'blue';

SELECT enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = 'cf_ut_mood' ORDER BY enumsortorder;

SELECT id, m FROM cf_ut_t ORDER BY id;

-- expect: error 42704
SELECT 'x'::cf_ut_no_such_type;

-- expect: error 2BP01
DROP TYPE cf_ut_mood;

-- expect: error 2BP01
DROP SCHEMA cf_ut_s;

DROP TABLE cf_ut_t;

DROP TYPE cf_ut_mood;

DROP TYPE cf_ut_pair;

DROP SCHEMA cf_ut_s CASCADE;
