-- || concatenation, with NULL giving NULL; concat() skipping NULL
DROP TABLE IF EXISTS cf_cat;

CREATE TABLE cf_cat (id INTEGER PRIMARY KEY, first TEXT, last TEXT);

INSERT INTO cf_cat VALUES (1, 'Ada', 'Lovelace'), (2, 'Alan', NULL), (3, NULL, NULL);

SELECT id, first || ' ' || last AS full_name FROM cf_cat ORDER BY id;

SELECT id, coalesce(first, '?') || '-' || coalesce(last, '?') AS tag FROM cf_cat ORDER BY id;

SELECT 'a' || 'b' || 'c' AS abc, 'x' || NULL AS xnull;

SELECT 'n=' || 42 AS n;

SELECT concat('a', NULL, 'b') AS c;

DROP TABLE cf_cat;
