-- upper / lower / length / substring / trim / replace and friends
SELECT upper('abc') AS u, lower('AbC') AS l, length('hello') AS n, length('') AS z;

-- known[sqlite]: SQLite's lower/upper fold ASCII letters only (DIFFERENCES.md: SQLite LOWER/UPPER)
SELECT lower('ÄbC') AS l, upper('naïve') AS u;

SELECT substring('abcdef' FROM 2 FOR 3) AS a, substring('abcdef', 3) AS b, substr('abcdef', 2, 2) AS c;

SELECT trim('  x  ') AS t, ltrim('  x  ') AS l, rtrim('  x  ') AS r, trim(BOTH 'x' FROM 'xxaxx') AS tx;

SELECT replace('a-b-c', '-', '+') AS r, position('c' IN 'abcd') AS p;

SELECT left('abcdef', 2) AS lf, right('abcdef', 2) AS rt;

SELECT upper(NULL) AS un, length(NULL) AS ln, replace('abc', 'x', 'y') AS same;

DROP TABLE IF EXISTS cf_str;

CREATE TABLE cf_str (id INTEGER PRIMARY KEY, s VARCHAR(40));

INSERT INTO cf_str VALUES (1, ' Mixed Case '), (2, 'naïve'), (3, NULL);

-- known[sqlite]: SQLite's lower/upper fold ASCII letters only (DIFFERENCES.md: SQLite LOWER/UPPER)
SELECT id, upper(s) AS u, lower(s) AS l, length(s) AS n, trim(s) AS t FROM cf_str ORDER BY id;

SELECT id FROM cf_str WHERE lower(trim(s)) = 'mixed case';

DROP TABLE cf_str;
