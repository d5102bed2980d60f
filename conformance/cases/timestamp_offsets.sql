-- Timestamp literals with a UTC offset: the instant in a timestamptz column, the offset ignored in a timestamp column
DROP TABLE IF EXISTS cf_tso;

CREATE TABLE cf_tso (id integer PRIMARY KEY, at timestamptz, wall timestamp);

INSERT INTO cf_tso VALUES (1, '2024-06-01 12:00+02', '2024-06-01 12:00+02'), (2, '2024-06-01 12:00:00.5-05:30', '2024-06-01 12:00:00-08'), (3, '2024-06-01 10:00Z', '2024-06-01 10:00 UTC');

SELECT id, at, wall FROM cf_tso ORDER BY id;

SELECT id FROM cf_tso WHERE at = '2024-06-01 14:00+04' ORDER BY id;

SELECT id FROM cf_tso WHERE wall = '2024-06-01 12:00+09' ORDER BY id;

UPDATE cf_tso SET at = '2024-06-02 00:30+01', wall = '2024-06-02 00:30+01' WHERE id = 3;

SELECT id, at, wall FROM cf_tso WHERE at < '2024-06-01 23:45:00+00' ORDER BY id;

DROP TABLE cf_tso;
