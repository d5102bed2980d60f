-- bytea end to end: hex and escape input, bytes that are not UTF-8, byte functions
SELECT '\xdeadbeef'::bytea AS hex, 'a\000b'::bytea AS escaped;

SELECT get_byte('\x0102ff'::bytea, 2) AS b2, set_byte('\x0102'::bytea, 0, 255) AS changed;

DROP TABLE IF EXISTS cf_bytea;

CREATE TABLE cf_bytea (id INTEGER PRIMARY KEY, data BYTEA);

INSERT INTO cf_bytea VALUES (1, '\xff00fe'::bytea), (2, '\x80'::bytea), (3, NULL);

SELECT id, data FROM cf_bytea ORDER BY id;

SELECT id FROM cf_bytea WHERE data = '\x80'::bytea;

INSERT INTO cf_bytea VALUES (4, '\x0a0b');

-- known[mysql]: an untyped string literal stored into a BYTEA column keeps its text (DIFFERENCES.md: bytea literals)
SELECT data FROM cf_bytea WHERE id = 4;

DROP TABLE cf_bytea;
