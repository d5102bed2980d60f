-- ALTER TABLE as migrations write it, DROP/TRUNCATE of several tables, index options, enum types
DROP TABLE IF EXISTS cf_alt_child, cf_alt_parent;
DROP TYPE IF EXISTS cf_alt_mood;

CREATE TYPE cf_alt_mood AS ENUM ('sad', 'ok');

CREATE TABLE cf_alt_parent (id int NOT NULL, name varchar(20), m cf_alt_mood DEFAULT 'ok') WITH (fillfactor = 90);

CREATE UNLOGGED TABLE cf_alt_child (id int, parent_id int, qty int CHECK (qty >= 0) DEFAULT 0, note text DEFAULT 'n' CHECK (note <> ''));

INSERT INTO cf_alt_parent (id, name) VALUES (1, 'one'), (2, 'two');

INSERT INTO cf_alt_child (id, parent_id) VALUES (1, 1), (2, 2);

ALTER TABLE ONLY cf_alt_parent ADD CONSTRAINT cf_alt_parent_pkey PRIMARY KEY (id);

ALTER TABLE cf_alt_child ADD PRIMARY KEY (id), ADD CONSTRAINT cf_alt_child_fk FOREIGN KEY (parent_id) REFERENCES cf_alt_parent ON DELETE CASCADE;

ALTER TABLE cf_alt_child ALTER COLUMN qty TYPE bigint USING qty::bigint, ALTER COLUMN parent_id SET NOT NULL;

ALTER TABLE cf_alt_child ALTER COLUMN note SET DEFAULT 'x', ALTER COLUMN qty DROP DEFAULT;

ALTER TABLE cf_alt_child RENAME COLUMN note TO remark;

ALTER TABLE IF EXISTS cf_alt_missing ADD COLUMN z int;

CREATE INDEX CONCURRENTLY IF NOT EXISTS cf_alt_child_remark ON cf_alt_child USING btree (remark varchar_pattern_ops);

INSERT INTO cf_alt_child (id, parent_id, qty) VALUES (3, 1, 4);

SELECT id, parent_id, qty, remark FROM cf_alt_child ORDER BY id;

-- expect: error 23502
INSERT INTO cf_alt_child (id, qty) VALUES (4, 1);

-- expect: error 23503
INSERT INTO cf_alt_child (id, parent_id, qty) VALUES (5, 99, 1);

-- expect: error 23514
INSERT INTO cf_alt_child (id, parent_id, qty) VALUES (6, 1, -1);

-- expect: error 23505
INSERT INTO cf_alt_parent (id, name) VALUES (1, 'again');

DELETE FROM cf_alt_parent WHERE id = 2;

SELECT count(*) FROM cf_alt_child;

SELECT name, m FROM cf_alt_parent ORDER BY id;

VACUUM ANALYZE cf_alt_child;

TRUNCATE cf_alt_child, cf_alt_parent RESTART IDENTITY;

SELECT count(*) FROM cf_alt_parent;

DROP INDEX IF EXISTS cf_alt_child_remark, cf_alt_nothing;

DROP TABLE cf_alt_child, cf_alt_parent CASCADE;

DROP TYPE cf_alt_mood;
