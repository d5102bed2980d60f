-- DDL with SERIAL, TEXT, VARCHAR(n), NUMERIC(p,s), BOOLEAN, TIMESTAMP, DATE; values come back typed
DROP TABLE IF EXISTS cf_ddl_items;

CREATE TABLE cf_ddl_items (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    code VARCHAR(10),
    price NUMERIC(10,2),
    active BOOLEAN DEFAULT true,
    created TIMESTAMP,
    due DATE
);

INSERT INTO cf_ddl_items (name, code, price, active, created, due) VALUES
    ('apple', 'A1', 1.5, true, '2024-01-02 03:04:05', '2024-02-29'),
    ('pear', 'P-22', 20, false, '2023-12-31 23:59:59.25', '2023-01-01'),
    ('plum', NULL, NULL, NULL, NULL, NULL);

INSERT INTO cf_ddl_items (name) VALUES ('fig');

SELECT id, name, code, price, active, created, due FROM cf_ddl_items ORDER BY id;

SELECT name FROM cf_ddl_items WHERE active ORDER BY name;

SELECT name, active IS NULL AS unknown FROM cf_ddl_items WHERE NOT active OR active IS NULL ORDER BY name;

SELECT count(*) FROM cf_ddl_items WHERE price > 1.49;

-- expect: error 22001
-- known[sqlite]: SQLite does not enforce VARCHAR(n) lengths (DIFFERENCES.md: VARCHAR(n))
INSERT INTO cf_ddl_items (name, code) VALUES ('too long', 'ABCDEFGHIJKLMNOP');

DROP TABLE cf_ddl_items;
