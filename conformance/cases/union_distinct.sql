-- UNION removes duplicates, UNION ALL keeps them; DISTINCT
DROP TABLE IF EXISTS cf_un_a;

DROP TABLE IF EXISTS cf_un_b;

CREATE TABLE cf_un_a (v INTEGER, s TEXT);

CREATE TABLE cf_un_b (v INTEGER, s TEXT);

INSERT INTO cf_un_a VALUES (1, 'x'), (2, 'y'), (2, 'y'), (NULL, NULL);

INSERT INTO cf_un_b VALUES (2, 'y'), (3, 'z'), (NULL, NULL);

SELECT v FROM cf_un_a UNION SELECT v FROM cf_un_b ORDER BY v;

SELECT v FROM cf_un_a UNION ALL SELECT v FROM cf_un_b ORDER BY v;

-- unordered
SELECT v, s FROM cf_un_a UNION SELECT v, s FROM cf_un_b;

SELECT DISTINCT v, s FROM cf_un_a ORDER BY v;

SELECT count(*) AS c FROM (SELECT DISTINCT s FROM cf_un_a) d;

SELECT 1 AS one UNION ALL SELECT 2 ORDER BY one DESC;

DROP TABLE cf_un_a;

DROP TABLE cf_un_b;
