-- Session settings: DateStyle/TimeZone/IntervalStyle values, SHOW and current_setting, date output and input order.
DROP TABLE IF EXISTS cf_settings_dt;

CREATE TABLE cf_settings_dt (id INTEGER PRIMARY KEY, d DATE, ts TIMESTAMP);

INSERT INTO cf_settings_dt VALUES (1, '2024-02-29', '2024-02-29 13:45:00'), (2, '1999-12-31', '1999-12-31 23:59:59.5');

SET DateStyle = 'SQL, DMY';

SHOW DateStyle;

-- known[postgresql]: pass-through runs current_setting() on the backend, which keeps DateStyle ISO for its own driver (DIFFERENCES.md: Session settings and dates)
SELECT current_setting('DateStyle');

SELECT id, d, ts FROM cf_settings_dt ORDER BY id;

SELECT '03/04/2024'::date AS d, TIMESTAMP '03/04/24 10:00' AS ts;

SET DateStyle = Postgres;

SHOW DateStyle;

SELECT id, d, ts FROM cf_settings_dt ORDER BY id;

SET DateStyle = 'German';

SELECT id, d, ts FROM cf_settings_dt ORDER BY id;

SET DateStyle = 'ymd';

SHOW DateStyle;

SELECT '24/03/04'::date AS d;

-- expect: error 22023
SET DateStyle = 'ISO, German';

-- expect: error 22008
SELECT '03/04/2024'::date;

SET DateStyle = DEFAULT;

SHOW DateStyle;

SET TimeZone = 'UTC+2';

SHOW TimeZone;

SET TIME ZONE '<+03>-3';

SELECT current_setting('TimeZone');

SET TIME ZONE INTERVAL '+05:30' HOUR TO MINUTE;

SHOW TimeZone;

SET TIME ZONE -5;

SHOW TimeZone;

SET TimeZone = 'europe/rome';

SHOW TimeZone;

-- expect: error 22023
SET TimeZone = 'Mars/Olympus_Mons';

SET IntervalStyle = iso_8601;

SHOW IntervalStyle;

-- expect: error 22023
SET IntervalStyle = 'klingon';

SET statement_timeout = '90s';

SHOW statement_timeout;

SET statement_timeout = 0;

SELECT current_setting('escape_string_warning') AS a, current_setting('max_prepared_transactions') AS b, current_setting('integer_datetimes') AS c, current_setting('server_encoding') AS e;

SHOW default_transaction_isolation;

SHOW idle_in_transaction_session_timeout;

SELECT current_setting('no_such_setting', true) IS NULL AS missing;

-- expect: error 42704
SHOW no_such_setting;

-- expect: error 42704
SELECT current_setting('no_such_setting');

DROP TABLE cf_settings_dt;
