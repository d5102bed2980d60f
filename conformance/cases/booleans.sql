-- booleans: columns, predicates and literals come back as bool
DROP TABLE IF EXISTS cf_bool;

CREATE TABLE cf_bool (id INTEGER PRIMARY KEY, flag BOOLEAN NOT NULL, opt BOOLEAN);

INSERT INTO cf_bool VALUES (1, true, NULL), (2, false, true), (3, TRUE, false);

SELECT id, flag, opt FROM cf_bool ORDER BY id;

SELECT id, flag AND opt AS a, flag OR opt AS o, NOT flag AS n FROM cf_bool ORDER BY id;

SELECT id FROM cf_bool WHERE flag = true ORDER BY id;

SELECT id FROM cf_bool WHERE opt IS NOT TRUE ORDER BY id;

SELECT id, opt IS NULL AS missing, id > 1 AS big FROM cf_bool ORDER BY id;

SELECT count(*) FILTER (WHERE flag) AS trues FROM cf_bool;

SELECT bool_and(flag) AS all_true, bool_or(flag) AS any_true FROM cf_bool;

UPDATE cf_bool SET flag = NOT flag WHERE id = 2;

SELECT id, flag FROM cf_bool ORDER BY id;

SELECT true AS t, false AS f, NULL::boolean AS u;

DROP TABLE cf_bool;
