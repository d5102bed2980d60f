-- BEGIN / COMMIT / ROLLBACK, an error aborting the transaction, savepoints
DROP TABLE IF EXISTS cf_tx;

CREATE TABLE cf_tx (id INTEGER PRIMARY KEY, v TEXT);

BEGIN;

INSERT INTO cf_tx VALUES (1, 'kept');

COMMIT;

BEGIN;

INSERT INTO cf_tx VALUES (2, 'rolled back');

UPDATE cf_tx SET v = 'changed' WHERE id = 1;

SELECT id, v FROM cf_tx ORDER BY id;

ROLLBACK;

SELECT id, v FROM cf_tx ORDER BY id;

BEGIN;

-- expect: error 23505
INSERT INTO cf_tx VALUES (1, 'duplicate');

-- expect: error 25P02
SELECT id FROM cf_tx;

ROLLBACK;

START TRANSACTION;

INSERT INTO cf_tx VALUES (3, 'three');

SAVEPOINT sp1;

INSERT INTO cf_tx VALUES (4, 'four');

ROLLBACK TO SAVEPOINT sp1;

RELEASE SAVEPOINT sp1;

COMMIT;

SELECT id, v FROM cf_tx ORDER BY id;

DROP TABLE cf_tx;
