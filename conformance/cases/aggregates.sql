-- GROUP BY / HAVING with count, sum, avg (numeric for integers), min, max
DROP TABLE IF EXISTS cf_agg;

CREATE TABLE cf_agg (id INTEGER PRIMARY KEY, grp TEXT, n INTEGER, price NUMERIC(8,2));

INSERT INTO cf_agg VALUES (1, 'a', 1, 1.10), (2, 'a', 2, 2.20), (3, 'b', 10, NULL), (4, 'b', NULL, 4.00), (5, 'c', 7, 0.50), (6, 'a', 4, 3.30);

SELECT count(*) AS c, count(n) AS cn, sum(n) AS s, min(n) AS lo, max(n) AS hi FROM cf_agg;

SELECT grp, count(*), min(n), max(n) FROM cf_agg GROUP BY grp ORDER BY grp;

SELECT grp, sum(n) FROM cf_agg GROUP BY grp ORDER BY grp;

-- known[sqlite]: NUMERIC on SQLite is a double, so an aggregate or arithmetic over it loses the scale and comes back as float8 (DIFFERENCES.md: NUMERIC)
SELECT grp, min(price), max(price) FROM cf_agg GROUP BY grp ORDER BY grp;

-- known[sqlite,mysql]: avg() of integers is numeric with PostgreSQL's scale (16 digits here); SQLite returns a double, MySQL a DECIMAL with 4 more digits (DIFFERENCES.md: avg and numeric division)
SELECT grp, avg(n) AS avg_n FROM cf_agg GROUP BY grp ORDER BY grp;

-- known[sqlite]: NUMERIC on SQLite is a double, so an aggregate or arithmetic over it loses the scale and comes back as float8 (DIFFERENCES.md: NUMERIC)
-- known[mysql]: avg() of NUMERIC(8,2) has scale 16 in PostgreSQL, 6 in MySQL (DIFFERENCES.md: avg and numeric division)
SELECT avg(price) AS avg_price, sum(price) AS total FROM cf_agg;

SELECT grp, count(*) AS c FROM cf_agg GROUP BY grp HAVING count(*) > 1 ORDER BY grp;

SELECT grp, sum(n) AS s FROM cf_agg GROUP BY grp HAVING sum(n) >= 7 ORDER BY s DESC, grp;

SELECT count(DISTINCT grp) AS groups FROM cf_agg;

SELECT count(*) AS c, max(n) AS m FROM cf_agg WHERE id > 100;

SELECT sum(n) AS s FROM cf_agg WHERE id > 100;

DROP TABLE cf_agg;
