-- errors carry PostgreSQL's SQLSTATE and leave the session usable
DROP TABLE IF EXISTS cf_err;

CREATE TABLE cf_err (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email VARCHAR(50) UNIQUE);

INSERT INTO cf_err VALUES (1, 'a', 'a@example.com');

-- expect: error 42P01
SELECT * FROM cf_err_no_such_table;

-- expect: error 42703
SELECT no_such_column FROM cf_err;

-- expect: error 23505
INSERT INTO cf_err VALUES (1, 'dup', 'other@example.com');

-- expect: error 23505
INSERT INTO cf_err VALUES (2, 'dup email', 'a@example.com');

-- expect: error 23502
INSERT INTO cf_err (id, name) VALUES (3, NULL);

-- expect: error 23502
INSERT INTO cf_err (id) VALUES (4);

-- expect: error 22012
-- known[sqlite,mysql]: division by zero is NULL on SQLite and MySQL (DIFFERENCES.md: Division of integer columns)
SELECT 1 / 0;

-- expect: error 22012
-- known[sqlite,mysql]: division by zero is NULL on SQLite and MySQL (DIFFERENCES.md: Division of integer columns)
SELECT id / 0 FROM cf_err;

-- expect: error 42601
SELEC 1;

-- expect: error 42601
SELECT FROM WHERE;

-- expect: error 42P07
CREATE TABLE cf_err (id INTEGER);

-- expect: error 42P01
DROP TABLE cf_err_no_such_table;

SELECT id, name, email FROM cf_err ORDER BY id;

DROP TABLE cf_err;
