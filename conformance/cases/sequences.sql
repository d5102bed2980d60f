-- Sequences: CREATE/ALTER/DROP SEQUENCE with PostgreSQL's options, nextval/currval/setval, serial defaults
DROP TABLE IF EXISTS cf_seq_items;
DROP SEQUENCE IF EXISTS cf_seq_a, cf_seq_b;

CREATE SEQUENCE cf_seq_a START 10 INCREMENT 5;

SELECT nextval('cf_seq_a'), nextval('cf_seq_a');

SELECT currval('cf_seq_a');

SELECT setval('cf_seq_a', 100);

SELECT nextval('cf_seq_a');

-- known[mysql]: MariaDB's SETVAL does not go below the current value inside a larger statement (DIFFERENCES.md: Sequences on MariaDB)
SELECT setval('cf_seq_a', 7, false), nextval('cf_seq_a');

SELECT setval('cf_seq_a', 8, false);

SELECT nextval('cf_seq_a'), currval('cf_seq_a'), lastval();

ALTER SEQUENCE cf_seq_a RESTART WITH 3 INCREMENT BY 1;

SELECT nextval('cf_seq_a');

CREATE SEQUENCE cf_seq_b MAXVALUE 2;

-- expect: error 55000
SELECT currval('cf_seq_b');

SELECT nextval('cf_seq_b'), nextval('cf_seq_b');

-- expect: error 2200H
SELECT nextval('cf_seq_b');

-- expect: error 42P01
SELECT nextval('cf_seq_missing');

CREATE TABLE cf_seq_items (id integer NOT NULL DEFAULT nextval('cf_seq_a'::regclass), v text);

INSERT INTO cf_seq_items (v) VALUES ('x'), ('y');

INSERT INTO cf_seq_items VALUES (nextval('cf_seq_a'), 'z');

SELECT id, v FROM cf_seq_items ORDER BY id;

DROP TABLE cf_seq_items;

DROP SEQUENCE cf_seq_a, cf_seq_b;

-- expect: error 42P01
DROP SEQUENCE cf_seq_a;
