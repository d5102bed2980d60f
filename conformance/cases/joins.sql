-- INNER and LEFT joins, with aggregates over the join
DROP TABLE IF EXISTS cf_j_orders;

DROP TABLE IF EXISTS cf_j_customers;

CREATE TABLE cf_j_customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);

CREATE TABLE cf_j_orders (id INTEGER PRIMARY KEY, customer_id INTEGER, amount INTEGER);

INSERT INTO cf_j_customers VALUES (1, 'ann'), (2, 'bob'), (3, 'cy');

INSERT INTO cf_j_orders VALUES (10, 1, 100), (11, 1, 50), (12, 2, 70), (13, NULL, 5);

SELECT c.name, o.id, o.amount FROM cf_j_customers c JOIN cf_j_orders o ON o.customer_id = c.id ORDER BY o.id;

SELECT c.name, o.id FROM cf_j_customers c LEFT JOIN cf_j_orders o ON o.customer_id = c.id ORDER BY c.id, o.id;

SELECT c.name, count(o.id) AS orders, max(o.amount) AS biggest FROM cf_j_customers c LEFT JOIN cf_j_orders o ON o.customer_id = c.id GROUP BY c.name ORDER BY c.name;

SELECT c.name, count(o.id) AS orders, coalesce(sum(o.amount), 0) AS total FROM cf_j_customers c LEFT JOIN cf_j_orders o ON o.customer_id = c.id GROUP BY c.name ORDER BY c.name;

SELECT o.id, c.name FROM cf_j_orders o LEFT JOIN cf_j_customers c ON c.id = o.customer_id WHERE c.id IS NULL ORDER BY o.id;

SELECT a.name AS a, b.name AS b FROM cf_j_customers a JOIN cf_j_customers b ON a.id < b.id ORDER BY a.id, b.id;

DROP TABLE cf_j_orders;

DROP TABLE cf_j_customers;
