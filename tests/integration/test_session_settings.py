"""Session settings through the proxy, compared with a real PostgreSQL, value by value.

Each test runs the same statements with psycopg on PostgreSQL and through the
proxy (SQLite, then MariaDB) and compares what the client receives: the raw
text (or binary) bytes of date/time values under each TimeZone, DateStyle and
IntervalStyle, SHOW and current_setting answers, ParameterStatus reports,
SQLSTATEs, and text in non-UTF8 client encodings.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors as pgerrors

pytestmark = pytest.mark.integration

UTC = dt.UTC

# Instants either side of Europe/Rome's DST changes, a pre-1900 LMT one, a fraction.
INSTANTS = [
    dt.datetime(2024, 1, 15, 11, 30, tzinfo=UTC),
    dt.datetime(2024, 7, 15, 11, 30, tzinfo=UTC),
    dt.datetime(2024, 3, 31, 0, 59, 59, tzinfo=UTC),
    dt.datetime(2024, 3, 31, 1, 0, 0, tzinfo=UTC),
    dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC),
    dt.datetime(2024, 10, 27, 1, 30, tzinfo=UTC),
    dt.datetime(1850, 6, 1, 12, 0, 0, 250000, tzinfo=UTC),
    dt.datetime(2000, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
]

TIMEZONES = ["Europe/Rome", "europe/rome", "+02:00", "UTC+2", "<+03>-3", "-05", "2.5",
             "America/Sao_Paulo", "Asia/Kolkata", "GMT", "UTC", "EST5EDT", "CET-1CEST"]
DATESTYLES = ["ISO, MDY", "ISO, DMY", "SQL, DMY", "SQL, MDY", "Postgres, DMY",
              "Postgres, MDY", "Postgres, YMD", "German", "SQL", "euro", "us", "ymd"]


@pytest.fixture(scope="module")
def reference(postgresql_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(postgresql_url, autocommit=True) as c:
        yield c


@pytest.fixture
def pair(proxy, postgresql_url) -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:
    """(PostgreSQL, proxy) connections, both fresh, both autocommit."""
    with (psycopg.connect(postgresql_url, autocommit=True) as pg,
          psycopg.connect(proxy.dsn(), autocommit=True) as px):
        yield pg, px


@pytest.fixture
def table(pair) -> Iterator[str]:
    """A table of date/time values, the same rows on both sides (inserted as parameters)."""
    name = f"cf_settings_{uuid.uuid4().hex[:8]}"
    for conn in pair:
        conn.execute(
            f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, tz TIMESTAMPTZ, ts TIMESTAMP, d DATE)"
        )
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {name} (id, tz, ts, d) VALUES (%s, %s, %s, %s)",
                [(i, v, v.replace(tzinfo=None), v.date()) for i, v in enumerate(INSTANTS)],
            )
    yield name
    for conn in pair:
        conn.execute(f"DROP TABLE IF EXISTS {name}")


def raw(conn: psycopg.Connection, sql: str, params: object = None, binary: bool = False
        ) -> list[tuple[bytes | None, ...]]:
    """The rows exactly as the wire carried them: text (or binary) bytes, no loader."""
    cur = conn.cursor(binary=binary)
    cur.execute(sql, params)
    res = cur.pgresult
    assert res is not None
    return [tuple(res.get_value(r, c) for c in range(res.nfields)) for r in range(res.ntuples)]


def both(pair, sql: str, params: object = None, binary: bool = False) -> None:
    pg, px = pair
    assert raw(px, sql, params, binary) == raw(pg, sql, params, binary), sql


def same_error(pair, sql: str, params: object = None) -> str:
    states = []
    for conn in pair:
        with pytest.raises(pgerrors.Error) as info:
            conn.execute(sql, params)
        states.append(info.value.sqlstate)
    assert states[0] == states[1], sql
    return states[0]


# ---------------------------------------------------------------- TimeZone


@pytest.mark.parametrize("zone", TIMEZONES)
def test_timezone_forms_print_timestamptz_as_postgresql(pair, table, zone):
    """Offsets in SQL's sign, POSIX specs in POSIX's ('UTC+2' is west), names caselessly."""
    for conn in pair:
        conn.execute("SELECT set_config('TimeZone', %s, false)", [zone])
    pg, px = pair
    assert px.info.parameter_status("TimeZone") == pg.info.parameter_status("TimeZone")
    both(pair, "SHOW TimeZone")
    both(pair, f"SELECT id, tz::timestamptz FROM {table} ORDER BY id")
    both(pair, f"SELECT id, tz::timestamptz FROM {table} ORDER BY id", binary=True)


def test_set_time_zone_statement_forms(pair, table):
    for stmt in ["SET TIME ZONE INTERVAL '-08:00' HOUR TO MINUTE", "SET TIME ZONE -7",
                 "SET TIME ZONE 'UTC+2'", "SET timezone TO '<+03>-3'", "SET TIME ZONE LOCAL",
                 "SET TIME ZONE 'Europe/Rome'", "SET timezone TO DEFAULT"]:
        for conn in pair:
            conn.execute(stmt)
        if "DEFAULT" in stmt or "LOCAL" in stmt:
            # The default is the server's own zone: PostgreSQL's here is its host's.
            continue
        both(pair, "SHOW TimeZone")
        both(pair, f"SELECT tz::timestamptz FROM {table} ORDER BY id")


def test_invalid_timezone_is_22023_and_session_stays(pair):
    for bad in ["Mars/Olympus_Mons", "Z", "INTERVAL '1 day'"]:
        assert same_error(pair, "SELECT set_config('TimeZone', %s, false)", [bad]) == "22023"
    both(pair, "SELECT 1")


def test_naive_timestamptz_parameter_is_read_in_the_session_zone(pair, table):
    for conn in pair:
        conn.execute("SET TimeZone = 'Europe/Rome'")
        conn.execute(f"UPDATE {table} SET tz = %s::timestamptz WHERE id = 0",
                     ["2024-07-01 12:00:00"])
    both(pair, f"SELECT tz::timestamptz FROM {table} WHERE id = 0")


# ---------------------------------------------------------------- DateStyle


@pytest.mark.parametrize("style", DATESTYLES)
def test_datestyles_print_as_postgresql(pair, table, style):
    for conn in pair:
        conn.execute("SET TimeZone = 'Europe/Rome'")
        conn.execute(f"SET DateStyle = {style}")
    pg, px = pair
    assert px.info.parameter_status("DateStyle") == pg.info.parameter_status("DateStyle")
    both(pair, "SHOW DateStyle")
    both(pair, f"SELECT id, d, ts, tz::timestamptz FROM {table} ORDER BY id")


def test_datestyle_keeps_what_is_not_given_and_refuses_conflicts(pair):
    for stmt in ["SET DateStyle = 'SQL, DMY'", "SET DateStyle = ISO", "SET DateStyle = 'YMD'",
                 "SET DateStyle = German", "SET DateStyle = DEFAULT"]:
        for conn in pair:
            conn.execute(stmt)
        both(pair, "SHOW DateStyle")
    assert same_error(pair, "SET DateStyle = 'ISO, German'") == "22023"
    assert same_error(pair, "SET DateStyle = 'Mayan'") == "22023"


@pytest.mark.parametrize(("style", "text"), [
    ("ISO, DMY", "01/02/2024"), ("ISO, MDY", "01/02/2024"), ("ISO, YMD", "2024/02/01"),
    ("SQL, DMY", "1.2.2024"), ("ISO, MDY", "Feb 1 2024"), ("ISO, DMY", "1 February 2024"),
])
def test_datestyle_order_reads_ambiguous_parameters(pair, table, style, text):
    for conn in pair:
        conn.execute(f"SET DateStyle = '{style}'")
        conn.execute(f"UPDATE {table} SET d = %s::date, ts = %s::timestamp WHERE id = 1",
                     [text, text + " 10:20:30"])
        conn.execute("SET DateStyle = ISO")
    both(pair, f"SELECT d, ts FROM {table} WHERE id = 1")


# ---------------------------------------------------------------- IntervalStyle


@pytest.mark.parametrize("style", ["postgres", "postgres_verbose", "sql_standard", "iso_8601"])
def test_interval_styles(pair, proxy, style):
    for conn in pair:
        conn.execute(f"SET IntervalStyle = {style}")
    both(pair, "SHOW IntervalStyle")
    values = [dt.timedelta(days=3, hours=4, minutes=5, seconds=6, microseconds=500000),
              dt.timedelta(hours=-1), dt.timedelta(days=-3), dt.timedelta(0),
              dt.timedelta(seconds=-1.5), dt.timedelta(seconds=1)]
    for v in values:
        both(pair, "SELECT %s::interval", [v])
    # Text in, in any of the input forms.
    for text in ["1 day 02:03:04", "P1DT2H", "-3 days"]:
        both(pair, "SELECT %s::interval", [text])


# ---------------------------------------------------------------- beyond Python's calendar


@pytest.fixture
def wide_table(pair, proxy) -> Iterator[str]:
    if "mysql" in proxy.backend_url:
        pytest.skip("MariaDB's DATE and DATETIME stop at 9999 and start at 1000 "
                    "(dialects/DIFFERENCES.md: dates beyond the backend's range)")
    name = f"cf_wide_{uuid.uuid4().hex[:8]}"
    for conn in pair:
        conn.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, d DATE, ts TIMESTAMP, "
                     "tz TIMESTAMPTZ)")
    yield name
    for conn in pair:
        conn.execute(f"DROP TABLE IF EXISTS {name}")


WIDE = [
    ("0044-03-15 BC", "0044-03-15 12:00:00 BC", "0044-03-15 12:00:00+00 BC"),
    ("10000-01-01", "12000-06-30 23:59:59.5", "12000-07-01 00:00:00+00"),
    ("infinity", "infinity", "infinity"),
    ("-infinity", "-infinity", "-infinity"),
    ("4713-11-24 BC", "4713-11-24 00:00:00 BC", "4713-11-24 00:00:00+00 BC"),
    ("5874897-12-31", "294276-12-31 23:59:59.999999", "294276-12-31 23:59:59+00"),
]


@pytest.mark.parametrize("style", ["ISO, MDY", "SQL, DMY", "Postgres, MDY", "German"])
def test_dates_beyond_python_in_text_and_binary(pair, wide_table, style):
    for conn in pair:
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {wide_table} VALUES (%s, %s::date, %s::timestamp, %s::timestamptz)",
                [(i, *row) for i, row in enumerate(WIDE)],
            )
        conn.execute(f"SET DateStyle = '{style}'")
        conn.execute("SET TimeZone = 'Europe/Rome'")
    sql = f"SELECT d, ts, tz FROM {wide_table} ORDER BY id"
    both(pair, sql)
    both(pair, sql, binary=True)


def test_dates_beyond_python_as_binary_parameters(pair, wide_table, reference):
    """Values that only exist as binary: read from PostgreSQL, sent back as binary params."""
    rows = raw(reference, "SELECT %s::date, %s::timestamp, %s::timestamptz",
               ["10000-01-01", "0044-03-15 12:00:00 BC", "infinity"], binary=True)
    values = rows[0]
    for conn in pair:
        res = conn.pgconn.exec_params(
            f"INSERT INTO {wide_table} (id, d, ts, tz) VALUES (1, $1, $2, $3)".encode(),
            list(values), [1082, 1114, 1184], [1, 1, 1],
        )
        assert res.status == psycopg.pq.ExecStatus.COMMAND_OK, res.error_message
    both(pair, f"SELECT d, ts, tz FROM {wide_table}")


def test_out_of_range_is_22008(pair):
    assert same_error(pair, "SELECT %s::date", ["5874898-01-01"]) == "22008"
    assert same_error(pair, "SELECT %s::date", ["2024-02-30"]) == "22008"


# ---------------------------------------------------------------- current_setting / set_config


def test_current_setting_and_set_config_with_parameters(pair):
    both(pair, "SELECT current_setting(%s), current_setting(%s)", ["DateStyle", "IntervalStyle"])
    both(pair, "SELECT set_config(%s, %s, false)", ["DateStyle", "SQL, DMY"])
    both(pair, "SHOW DateStyle")
    both(pair, "SELECT current_setting(%s, %s)", ["no_such_setting", True])
    both(pair, "SELECT current_setting('no.such_thing', true)")
    assert same_error(pair, "SELECT current_setting(%s)", ["no_such_setting"]) == "42704"
    assert same_error(pair, "SELECT set_config(%s, %s, false)", [None, "x"]) == "22004"
    # is_local outside a transaction block: the value lasts for the statement only.
    both(pair, "SELECT set_config('DateStyle', %s, true)", ["German"])
    both(pair, "SHOW DateStyle")


def test_set_config_local_inside_a_transaction(pair):
    for conn in pair:
        conn.autocommit = False
    for conn in pair:
        conn.execute("SELECT set_config(%s, %s, %s)", ["IntervalStyle", "iso_8601", True])
    both(pair, "SHOW IntervalStyle")
    for conn in pair:
        conn.commit()
    both(pair, "SHOW IntervalStyle")
    for conn in pair:
        conn.execute("SET LOCAL TimeZone = 'Asia/Tokyo'")
    both(pair, "SHOW TimeZone")
    for conn in pair:
        conn.rollback()
        conn.autocommit = True
    for conn in pair:
        conn.execute("SET LOCAL TimeZone = 'Asia/Tokyo'")  # no transaction: no effect
    both(pair, "SELECT current_setting('TimeZone') = 'Asia/Tokyo'")


# ---------------------------------------------------------------- settings drivers read

READ_BY_DRIVERS = [
    "escape_string_warning", "max_prepared_transactions", "standard_conforming_strings",
    "integer_datetimes", "server_encoding", "in_hot_standby", "default_transaction_isolation",
    "transaction_isolation", "application_name", "idle_in_transaction_session_timeout",
    "statement_timeout", "lock_timeout", "client_encoding", "IntervalStyle",
    "default_transaction_read_only", "transaction_read_only", "extra_float_digits",
    "max_identifier_length", "bytea_output", "client_min_messages", "idle_session_timeout",
    "default_transaction_deferrable", "array_nulls", "backslash_quote",
]


@pytest.mark.parametrize("name", READ_BY_DRIVERS)
def test_settings_drivers_read_answer_postgresql_defaults(pair, name):
    both(pair, f"SHOW {name}")
    both(pair, "SELECT current_setting(%s)", [name])


def test_unknown_setting_is_42704(pair):
    assert same_error(pair, "SHOW no_such_setting") == "42704"
    assert same_error(pair, "SET no_such_setting = 1") == "42704"


def test_timeouts_show_in_postgresql_units(pair):
    for value in ["5s", "1500", "2min", "0", "90s", "3600000"]:
        for conn in pair:
            conn.execute(f"SET statement_timeout = '{value}'")
        both(pair, "SHOW statement_timeout")
    for conn in pair:
        conn.execute("SET statement_timeout = 0")


# ---------------------------------------------------------------- client_encoding


@pytest.fixture
def text_table(pair) -> Iterator[str]:
    name = f"cf_enc_{uuid.uuid4().hex[:8]}"
    for conn in pair:
        conn.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, v TEXT)")
        conn.execute(f"INSERT INTO {name} VALUES (1, 'café'), (2, '€uro'), (3, '日本')")
    yield name
    for conn in pair:
        conn.execute(f"DROP TABLE IF EXISTS {name}")


@pytest.mark.parametrize(("encoding", "word"), [
    ("LATIN1", "välue"), ("LATIN9", "välue"), ("WIN1252", "välue"), ("EUC_JP", "値"),
    ("SJIS", "値"), ("SQL_ASCII", "value"), ("UTF8", "välue"),
])
def test_client_encoding_converts_at_the_wire(
    pair, proxy, postgresql_url, text_table, encoding, word
):
    """Rows, column names and parameters in the client's encoding; 22P05 where it lacks one."""
    with (psycopg.connect(postgresql_url, autocommit=True, client_encoding=encoding) as pg,
          psycopg.connect(proxy.dsn(), autocommit=True, client_encoding=encoding) as px):
        conns = (pg, px)
        assert px.info.parameter_status("client_encoding") == encoding
        for row in (1, 2, 3):
            results = []
            for conn in conns:
                try:
                    sql = f'SELECT v AS "{word}" FROM {text_table} WHERE id = %s'
                    results.append(raw(conn, sql, [row]))
                    results.append(conn.execute(sql, [row]).description[0].name)
                except pgerrors.Error as exc:
                    results.append(exc.sqlstate)
            assert results[: len(results) // 2] == results[len(results) // 2:]
        # Query text and parameters arrive in the client's encoding too.
        for conn in conns:
            conn.execute(f"INSERT INTO {text_table} VALUES (%s, %s)", [10, word])
        both(conns, f"SELECT v FROM {text_table} WHERE id = 10")


def test_client_encoding_set_mid_session(pair, text_table):
    for conn in pair:
        conn.execute("SET client_encoding TO 'latin1'")
    px = pair[1]
    assert px.info.parameter_status("client_encoding") == "LATIN1"
    both(pair, f"SELECT v FROM {text_table} WHERE id = 1")
    assert same_error(pair, f"SELECT v FROM {text_table} ORDER BY id") == "22P05"
    assert same_error(pair, "SET client_encoding TO 'klingon'") == "22023"
    both(pair, "SHOW client_encoding")


# ---------------------------------------------------------------- literals the proxy reads


@pytest.mark.parametrize("zone", ["Europe/Rome", "+02:00", "UTC+2", "-05", "UTC"])
@pytest.mark.parametrize("style", ["ISO, MDY", "SQL, DMY", "Postgres, YMD"])
def test_date_time_literals_read_in_the_session(pair, table, zone, style):
    """A literal without an offset is in the session's zone; ambiguous ones follow DateStyle."""
    for conn in pair:
        conn.execute("SELECT set_config('TimeZone', %s, false)", [zone])
        conn.execute(f"SET DateStyle = '{style}'")
    both(pair, "SELECT '2024-07-01 12:00'::timestamptz, '2024-01-15 08:00:00'::timestamptz, "
               "'2024-07-01 12:00+05:30'::timestamptz")
    if "YMD" in style:
        assert same_error(pair, "SELECT '03/04/2024'::date") == "22008"
        both(pair, "SELECT '24/03/04'::date, '03/04/24'::date, DATE 'Mar 4, 2024'")
    else:
        both(pair, "SELECT '03/04/2024'::date, TIMESTAMP '03/04/24 10:00', DATE 'Mar 4, 2024'")
    both(pair, "SELECT 'infinity'::date, '-infinity'::timestamptz, 'epoch'::timestamp, "
               "'0044-03-15 BC'::date, '10000-01-01'::date")
    both(pair, f"SELECT id FROM {table} WHERE tz >= '2024-07-15 13:30'::timestamptz "
               "ORDER BY id")
    both(pair, "SELECT '24:00'::time, '12:00'::timetz, '12:00+05:30'::timetz")


# ---------------------------------------------------------------- asyncpg: binary everywhere


def test_asyncpg_infinity_and_session_zone(proxy, postgresql_url, wide_table):
    """asyncpg binds date.max/min as infinity and reads every date/time value in binary."""
    import asyncio

    import asyncpg

    async def run(dsn: str, **kw: object) -> list[tuple[object, ...]]:
        conn = await asyncpg.connect(dsn, server_settings={"TimeZone": "Europe/Rome",
                                                            "DateStyle": "SQL, DMY"}, **kw)
        try:
            await conn.execute(f"DELETE FROM {wide_table}")
            await conn.executemany(
                f"INSERT INTO {wide_table} (id, d, ts, tz) VALUES ($1, $2, $3, $4)",
                [(1, dt.date.max, dt.datetime.max, dt.datetime.min.replace(tzinfo=UTC)),
                 (2, dt.date(2024, 7, 1), dt.datetime(2024, 7, 1, 12),
                  dt.datetime(2024, 7, 1, 12, tzinfo=UTC))],
            )
            rows = await conn.fetch(f"SELECT id, d, ts, tz FROM {wide_table} ORDER BY id")
            zone = await conn.fetchval("SELECT current_setting('TimeZone')")
            return [tuple(r) for r in rows] + [(zone,)]
        finally:
            await conn.close()

    want = asyncio.run(run(postgresql_url))
    got = asyncio.run(run(f"postgresql://{proxy.user}@{proxy.host}:{proxy.port}/app"))
    assert got == want


# ---------------------------------------------------------------- transaction characteristics


@pytest.mark.parametrize("begin", [
    "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE", "BEGIN READ ONLY",
    "START TRANSACTION ISOLATION LEVEL REPEATABLE READ", "BEGIN",
])
def test_transaction_settings_follow_begin_and_defaults(pair, begin):
    names = ["transaction_isolation", "transaction_read_only", "transaction_deferrable"]
    show = "SELECT " + ", ".join(f"current_setting('{n}')" for n in names)
    for conn in pair:
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL "
                     "REPEATABLE READ")
        conn.execute(begin)
    both(pair, show)
    for conn in pair:
        conn.execute("ROLLBACK")
    both(pair, show)
    both(pair, "SHOW default_transaction_isolation")


def test_postgresql_backend_reads_literals_by_the_session(proxy_postgresql, postgresql_url):
    """Pass-through: the backend gets the session's TimeZone and DateStyle order."""
    with (psycopg.connect(postgresql_url, autocommit=True) as pg,
          psycopg.connect(proxy_postgresql.dsn(), autocommit=True) as px):
        for conn in (pg, px):
            conn.execute("SET TimeZone = 'Europe/Rome'")
            conn.execute("SET DateStyle = 'SQL, DMY'")
        sql = "SELECT '2024-07-01 12:00'::timestamptz, '03/04/2024'::date"
        assert raw(px, sql) == raw(pg, sql)
        for conn in (pg, px):
            conn.execute("BEGIN")
            conn.execute("SET TimeZone = 'Asia/Tokyo'")
            conn.execute("ROLLBACK")
        assert raw(px, sql) == raw(pg, sql)


def test_rolled_back_set_is_undone(pair):
    for conn in pair:
        conn.execute("BEGIN")
        conn.execute("SET DateStyle = 'German'")
        conn.execute("SET LOCAL IntervalStyle = 'iso_8601'")
        conn.execute("ROLLBACK")
    both(pair, "SELECT current_setting('DateStyle'), current_setting('IntervalStyle')")
    for conn in pair:
        conn.execute("BEGIN")
        conn.execute("SET DateStyle = 'German'")
        conn.execute("SET LOCAL IntervalStyle = 'iso_8601'")
        conn.execute("COMMIT")
    both(pair, "SELECT current_setting('DateStyle'), current_setting('IntervalStyle')")
    pg, px = pair
    assert px.info.parameter_status("DateStyle") == pg.info.parameter_status("DateStyle")


def test_postgresql_backend_rollback_of_a_failed_transaction(proxy_postgresql):
    with psycopg.connect(proxy_postgresql.dsn(), autocommit=True) as px:
        px.execute("BEGIN")
        px.execute("SET TimeZone = 'Asia/Tokyo'")
        with pytest.raises(pgerrors.DivisionByZero):
            px.execute("SELECT 1 / 0")
        px.execute("ROLLBACK")
        assert px.execute("SHOW TimeZone").fetchone() == ("UTC",)
        assert px.execute("SELECT current_setting('TimeZone')").fetchone() == ("UTC",)
