-- COALESCE, NULLIF, CASE (searched and simple)
DROP TABLE IF EXISTS cf_case;

CREATE TABLE cf_case (id INTEGER PRIMARY KEY, v INTEGER, label TEXT);

INSERT INTO cf_case VALUES (1, 5, 'five'), (2, NULL, NULL), (3, 0, 'zero'), (4, -3, '');

SELECT id, coalesce(v, -1) AS v, coalesce(label, 'none') AS label FROM cf_case ORDER BY id;

SELECT id, nullif(v, 0) AS nz, nullif(label, '') AS nl FROM cf_case ORDER BY id;

SELECT id, CASE WHEN v > 0 THEN 'pos' WHEN v < 0 THEN 'neg' WHEN v = 0 THEN 'zero' ELSE 'unknown' END AS sign FROM cf_case ORDER BY id;

SELECT id, CASE v WHEN 5 THEN 'five' WHEN 0 THEN 'zero' END AS word FROM cf_case ORDER BY id;

SELECT coalesce(NULL, NULL, 3) AS c, nullif(1, 1) AS n, CASE WHEN 1 = 1 THEN 'yes' END AS y;

DROP TABLE cf_case;
