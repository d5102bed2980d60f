-- WITH queries, plain, chained and recursive
DROP TABLE IF EXISTS cf_cte;

CREATE TABLE cf_cte (id INTEGER PRIMARY KEY, parent INTEGER, name TEXT);

INSERT INTO cf_cte VALUES (1, NULL, 'root'), (2, 1, 'child'), (3, 2, 'grandchild'), (4, 1, 'sibling');

WITH top AS (SELECT id, name FROM cf_cte WHERE parent IS NULL) SELECT name FROM top;

WITH a AS (SELECT id FROM cf_cte WHERE id > 1), b AS (SELECT id FROM a WHERE id < 4) SELECT id FROM b ORDER BY id;

WITH RECURSIVE tree (id, depth) AS (SELECT id, 0 FROM cf_cte WHERE parent IS NULL UNION ALL SELECT c.id, t.depth + 1 FROM cf_cte c JOIN tree t ON c.parent = t.id) SELECT id, depth FROM tree ORDER BY id;

WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT sum(i) AS s FROM n;

DROP TABLE cf_cte;
