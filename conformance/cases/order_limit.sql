-- WHERE, ORDER BY with NULLs (last ascending, first descending), LIMIT / OFFSET
DROP TABLE IF EXISTS cf_ord;

CREATE TABLE cf_ord (id INTEGER PRIMARY KEY, score INTEGER, name TEXT);

INSERT INTO cf_ord VALUES (1, 30, 'c'), (2, NULL, 'a'), (3, 10, NULL), (4, 20, 'b'), (5, NULL, 'e'), (6, 10, 'd');

SELECT id, score FROM cf_ord ORDER BY score, id;

SELECT id, score FROM cf_ord ORDER BY score DESC, id;

SELECT id, score FROM cf_ord ORDER BY score NULLS FIRST, id;

SELECT id, score FROM cf_ord ORDER BY score DESC NULLS LAST, id DESC;

SELECT name FROM cf_ord ORDER BY name;

SELECT id FROM cf_ord WHERE score >= 10 AND score < 30 ORDER BY id;

SELECT id FROM cf_ord WHERE score IS NULL OR name = 'c' ORDER BY id;

SELECT id FROM cf_ord WHERE id BETWEEN 2 AND 4 ORDER BY id DESC;

SELECT id FROM cf_ord ORDER BY id LIMIT 2;

SELECT id FROM cf_ord ORDER BY id LIMIT 2 OFFSET 3;

SELECT id FROM cf_ord ORDER BY id OFFSET 4;

SELECT id FROM cf_ord ORDER BY id LIMIT ALL;

SELECT id FROM cf_ord ORDER BY id FETCH FIRST 3 ROWS ONLY;

SELECT id FROM cf_ord ORDER BY id LIMIT 0;

DROP TABLE cf_ord;
