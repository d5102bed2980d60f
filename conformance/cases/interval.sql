-- intervals as values: PostgreSQL's output spelling, comparisons of equal spellings
SELECT '1 day 2 hours 3 minutes 4 seconds'::interval AS i;

SELECT '-999999999 days'::interval AS low, '1 sec'::interval AS sec, INTERVAL '1' DAY AS day;

SELECT '-999999999 days'::interval = '-999999999 days'::interval AS same;

SELECT '90 minutes'::interval AS m, '-1 hour'::interval AS neg, '1 year 2 mons'::interval AS ym;

SELECT TIMESTAMP '2024-01-01 10:00:00' + INTERVAL '90 minutes' AS later;

-- bug[mysql]: intervals compare as their text on MariaDB ('1 day' <> '24 hours')
SELECT '1 day'::interval = '24 hours'::interval AS a, interval '1 month' > '29 days'::interval AS b,
       '-1 days +23:59:59'::interval = '-1 s'::interval AS c, '2 hours'::interval < '1 day'::interval AS d;
