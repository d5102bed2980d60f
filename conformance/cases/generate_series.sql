-- generate_series in FROM and in the select list: integers, steps, timestamps
SELECT * FROM generate_series(1, 4);

SELECT generate_series(1, 3) AS n;

SELECT x FROM generate_series(6, 1, -2) AS x;

SELECT count(*) AS c FROM generate_series(1, 3000);

SELECT g, g * 2 AS twice FROM generate_series(1, 3) AS g ORDER BY g DESC;

SELECT * FROM generate_series(TIMESTAMP '2024-02-27 00:00:00', TIMESTAMP '2024-03-01 00:00:00', INTERVAL '1 day');

SELECT * FROM generate_series(5, 1);
