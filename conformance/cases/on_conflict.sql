-- INSERT ... ON CONFLICT DO NOTHING / DO UPDATE SET ... EXCLUDED
DROP TABLE IF EXISTS cf_upsert;

CREATE TABLE cf_upsert (k TEXT PRIMARY KEY, v INTEGER NOT NULL, hits INTEGER NOT NULL DEFAULT 1);

INSERT INTO cf_upsert (k, v) VALUES ('a', 1), ('b', 2);

INSERT INTO cf_upsert (k, v) VALUES ('a', 100) ON CONFLICT DO NOTHING;

INSERT INTO cf_upsert (k, v) VALUES ('a', 100), ('c', 3) ON CONFLICT (k) DO NOTHING;

SELECT k, v, hits FROM cf_upsert ORDER BY k;

INSERT INTO cf_upsert (k, v) VALUES ('b', 20) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v, hits = cf_upsert.hits + 1;

INSERT INTO cf_upsert (k, v) VALUES ('d', 4) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v;

SELECT k, v, hits FROM cf_upsert ORDER BY k;

DROP TABLE cf_upsert;
