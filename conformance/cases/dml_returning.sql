-- INSERT / UPDATE / DELETE with RETURNING and their command tags
DROP TABLE IF EXISTS cf_ret;

CREATE TABLE cf_ret (id SERIAL PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL DEFAULT 0);

INSERT INTO cf_ret (name, qty) VALUES ('a', 1), ('b', 2), ('c', 3);

INSERT INTO cf_ret (name) VALUES ('d');

INSERT INTO cf_ret (name, qty) VALUES ('e', 5) RETURNING id, name, qty;

UPDATE cf_ret SET qty = qty + 10 WHERE name IN ('a', 'b');

UPDATE cf_ret SET qty = qty * 2 WHERE name = 'a' RETURNING id, qty;

-- unordered
UPDATE cf_ret SET id = id + 100, qty = qty - 1 WHERE name IN ('b', 'd') RETURNING id, name, qty;

UPDATE cf_ret SET qty = 0 WHERE id < 0;

DELETE FROM cf_ret WHERE name = 'e' RETURNING id, name, qty;

DELETE FROM cf_ret WHERE name = 'c';

SELECT id, name, qty FROM cf_ret WHERE name <> 'a' ORDER BY id;

DELETE FROM cf_ret;

DROP TABLE cf_ret;
