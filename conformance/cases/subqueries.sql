-- subqueries: IN, NOT IN, EXISTS, scalar in SELECT and WHERE, derived table
DROP TABLE IF EXISTS cf_sq_emp;

DROP TABLE IF EXISTS cf_sq_dept;

CREATE TABLE cf_sq_dept (id INTEGER PRIMARY KEY, name TEXT);

CREATE TABLE cf_sq_emp (id INTEGER PRIMARY KEY, dept_id INTEGER, salary INTEGER);

INSERT INTO cf_sq_dept VALUES (1, 'eng'), (2, 'ops'), (3, 'empty');

INSERT INTO cf_sq_emp VALUES (1, 1, 100), (2, 1, 200), (3, 2, 150);

SELECT name FROM cf_sq_dept WHERE id IN (SELECT dept_id FROM cf_sq_emp) ORDER BY name;

SELECT name FROM cf_sq_dept WHERE id NOT IN (SELECT dept_id FROM cf_sq_emp) ORDER BY name;

SELECT d.name FROM cf_sq_dept d WHERE EXISTS (SELECT 1 FROM cf_sq_emp e WHERE e.dept_id = d.id AND e.salary > 150) ORDER BY d.name;

SELECT d.name FROM cf_sq_dept d WHERE NOT EXISTS (SELECT 1 FROM cf_sq_emp e WHERE e.dept_id = d.id) ORDER BY d.name;

SELECT d.name, (SELECT max(salary) FROM cf_sq_emp e WHERE e.dept_id = d.id) AS top FROM cf_sq_dept d ORDER BY d.id;

SELECT id FROM cf_sq_emp WHERE salary > (SELECT min(salary) FROM cf_sq_emp) ORDER BY id;

SELECT t.dept_id, t.top FROM (SELECT dept_id, max(salary) AS top FROM cf_sq_emp GROUP BY dept_id) t ORDER BY t.dept_id;

SELECT t.dept_id, t.total FROM (SELECT dept_id, sum(salary) AS total FROM cf_sq_emp GROUP BY dept_id) t ORDER BY t.dept_id;

DROP TABLE cf_sq_emp;

DROP TABLE cf_sq_dept;
