-- LIKE is case-sensitive, ILIKE is not; '=' on text is case-sensitive
DROP TABLE IF EXISTS cf_like;

CREATE TABLE cf_like (id INTEGER PRIMARY KEY, name VARCHAR(50));

INSERT INTO cf_like VALUES (1, 'Apple'), (2, 'apple'), (3, 'APPLESAUCE'), (4, 'pineapple'), (5, 'a_b'), (6, 'axb');

SELECT id FROM cf_like WHERE name LIKE 'app%' ORDER BY id;

SELECT id FROM cf_like WHERE name LIKE 'A%' ORDER BY id;

SELECT id FROM cf_like WHERE name ILIKE 'app%' ORDER BY id;

SELECT id FROM cf_like WHERE name ILIKE '%APPLE' ORDER BY id;

SELECT id FROM cf_like WHERE name NOT LIKE '%pp%' ORDER BY id;

SELECT id FROM cf_like WHERE name NOT ILIKE '%pp%' ORDER BY id;

SELECT id FROM cf_like WHERE name LIKE 'a\_b' ORDER BY id;

SELECT id FROM cf_like WHERE name LIKE 'a_b' ORDER BY id;

SELECT id FROM cf_like WHERE name = 'apple' ORDER BY id;

-- known[mysql]: comparisons of two literals use MariaDB's connection collation, which ignores case (DIFFERENCES.md: Text comparison on existing MySQL tables)
SELECT 'abc' LIKE 'ABC' AS l, 'abc' ILIKE 'ABC' AS il, 'abc' = 'ABC' AS eq;

DROP TABLE cf_like;
