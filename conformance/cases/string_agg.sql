-- string_agg with a separator and ORDER BY inside the aggregate
DROP TABLE IF EXISTS cf_sagg;

CREATE TABLE cf_sagg (id INTEGER PRIMARY KEY, grp TEXT, name TEXT);

INSERT INTO cf_sagg VALUES (1, 'x', 'b'), (2, 'x', 'a'), (3, 'y', 'c'), (4, 'x', NULL), (5, 'z', NULL);

SELECT grp, string_agg(name, ',' ORDER BY name) AS names FROM cf_sagg GROUP BY grp ORDER BY grp;

SELECT string_agg(name, ' | ' ORDER BY id DESC) AS all_names FROM cf_sagg;

DROP TABLE cf_sagg;
