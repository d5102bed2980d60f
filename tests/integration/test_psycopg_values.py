"""Values and column descriptions psycopg sees through the proxy, against the real PostgreSQL:
numeric text and scale, NaN and infinities as parameters, integers past int8, type modifiers
of cast result columns, inet/cidr/bit, timetz and interval comparisons, date + a column,
COPY TO in the client's encoding, and garbage that must be a syntax error."""

from __future__ import annotations

import datetime as dt
import ipaddress
from decimal import Decimal

import psycopg
import pytest
from psycopg import errors as pgerrors
from psycopg import sql as pgsql

pytestmark = pytest.mark.integration

NUMERICS = ["0.00001", "1.0", "NaN", "1e1000", "1.0e-1000", "0E-7", "-1.00000000000000",
            "100.123456790000000000000000", "9999999999999999999999999999.9", "1.10"]


@pytest.fixture(scope="module")
def pg(postgresql_url):
    with psycopg.connect(postgresql_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def conn(proxy):
    with psycopg.connect(proxy.dsn(), autocommit=True) as conn:
        yield conn


def _rows(conn, sql, params=(), binary=False):
    return conn.cursor(binary=binary).execute(sql, params).fetchall()


@pytest.fixture
def sqlite_conn(proxy_sqlite):
    # MariaDB's numeric text is its DECIMAL(65,30)'s, and it has no bpchar (DIFFERENCES.md)
    with psycopg.connect(proxy_sqlite.dsn(), autocommit=True) as conn:
        yield conn


@pytest.mark.parametrize("binary", [False, True])
def test_numeric_parameters_and_their_text(sqlite_conn, pg, binary):
    conn = sqlite_conn
    for text in NUMERICS:
        sql = "select %b::text, %s::decimal::text, %s::numeric(40,3)::text"
        if text in ("1e1000", "1.0e-1000", "NaN"):
            sql = "select %b::text, %s::decimal::text"
        params = [Decimal(text), text, text][: sql.count("%")]
        assert _rows(conn, sql, params, binary) == _rows(pg, sql, params, binary), text


def test_numeric_typmod_overflow_and_bad_text_are_postgresql_errors(sqlite_conn):
    conn = sqlite_conn
    with pytest.raises(pgerrors.NumericValueOutOfRange):
        conn.execute("select %s::numeric(3,1)::text", ["12345"])
    with pytest.raises(pgerrors.InvalidTextRepresentation):
        conn.execute("select %s::numeric::text", ["x"])
    assert conn.execute("select %s::numeric(2,-3)::text", ["12345"]).fetchone() == ("12000",)


@pytest.mark.parametrize("fmt", ["s", "t", "b"])
def test_float_nan_and_infinities_compare_equal(conn, pg, fmt):
    for value, spelled in [(float("nan"), "NaN"), (float("inf"), "Infinity"),
                           (float("-inf"), "-Infinity"), (1.0, "1")]:
        sql = f"select %{fmt} = '{spelled}'::float8, %{fmt} = %s::float8"
        params = [value, value, spelled]
        assert _rows(conn, sql, params) == _rows(pg, sql, params), spelled
    sql = "select array[%s::float8], array[%s::float4]"
    assert str(_rows(conn, sql, ["nan", "-inf"])) == str(_rows(pg, sql, ["nan", "-inf"]))


def test_integers_past_int8_are_numeric(conn, pg):
    sql = ("select -9223372036854775809, - -9223372036854775809, -9223372036854775808,"
           " 12345678901234567890123, pg_typeof(-9223372036854775808),"
           " pg_typeof(9223372036854775808)")
    assert _rows(conn, sql) == _rows(pg, sql)
    for fmt in "stb":
        sql = (f"select %{fmt}::text, pg_typeof(%{fmt}), '-9223372036854775809'::numeric::text,"
               f" %{fmt}::numeric::text")
        assert _rows(conn, sql, [-(2**63) - 1] * 3) == _rows(pg, sql, [-(2**63) - 1] * 3)


TYPES = ["text", "varchar(42)", "varchar(1)[]", "bpchar(42)", "numeric", "numeric(10,0)",
         "numeric(10,3)[]", "int4", "time(2)", "timetz(0)", "timetz(6)", "timestamp(6)",
         "timestamptz(2)", "interval(2)", "date", "bit", "bit(42)", "varbit",
         "varbit(83886080)", "bit(3)[]", "inet", "cidr[]"]
# Modifiers MariaDB's DECIMAL cannot take (negative scale, scale above precision, over 65)
SQLITE_TYPES = ["numeric(2,-3)", "numeric(3,5)", "numeric(1000,1000)", "numeric(1,-1000)"]


def _described(c, types, binary):
    cur = c.cursor(binary=binary)
    cur.execute("select " + ", ".join(f"null::{t} as c{i}" for i, t in enumerate(types)))
    return [(d.type_display, d.precision, d.scale, d.display_size, d.internal_size)
            for d in cur.description]


@pytest.mark.parametrize("binary", [False, True])
def test_cast_columns_carry_postgresql_type_modifiers(conn, pg, binary):
    assert _described(conn, TYPES, binary) == _described(pg, TYPES, binary)


@pytest.mark.parametrize("binary", [False, True])
def test_numeric_modifiers_past_mariadbs(sqlite_conn, pg, binary):
    assert _described(sqlite_conn, SQLITE_TYPES, binary) == _described(pg, SQLITE_TYPES, binary)


@pytest.mark.parametrize("binary", [False, True])
def test_bit_strings(sqlite_conn, pg, binary):
    sql = "select '101'::bit(3), '1'::varbit, '1100110011'::varbit(20), %s::bit(9), %s::varbit"
    params = ["110011001", ""]
    assert _rows(sqlite_conn, sql, params, binary) == _rows(pg, sql, params, binary)
    with pytest.raises(pgerrors.InvalidTextRepresentation):
        sqlite_conn.execute("select %s::varbit", ["12"])


@pytest.mark.parametrize("fmt", ["s", "t", "b"])
def test_timetz_parameters_equal_timetz_constants(conn, pg, fmt):
    for c in (conn, pg):
        c.execute("set timezone to '-02:00'")
    for hours, spelled in [(2.5, "+02:30"), (-2, "-02:00"), (0, "Z"), (-10, "-10:00")]:
        value = dt.time(10, 20, 30, 40, tzinfo=dt.timezone(dt.timedelta(hours=hours)))
        sql = f"select '10:20:30.000040{spelled}'::timetz = %{fmt}"
        assert _rows(conn, sql, [value]) == _rows(pg, sql, [value]) == [(True,)]


@pytest.mark.parametrize("fmt", ["s", "t", "b"])
def test_interval_constants_compare_as_spans(sqlite_conn, pg, fmt):
    for value in [dt.timedelta(seconds=-1), dt.timedelta(microseconds=-1), dt.timedelta(days=1)]:
        sql = (f"select '-1 s'::interval = %{fmt}, '-0.000001 s'::interval = %{fmt},"
               f" '24 hours'::interval = %{fmt}, '1 hour'::interval < %{fmt}")
        assert _rows(sqlite_conn, sql, [value] * 4) == _rows(pg, sql, [value] * 4)


@pytest.mark.parametrize("fmt", ["s", "t", "b"])
def test_inet_and_cidr_parameters_compare_and_come_back_typed(conn, pg, fmt):
    for value, text, kind in [
        (ipaddress.ip_address("192.168.0.1"), "192.168.0.1", "inet"),
        (ipaddress.ip_address("2001:db8::"), "2001:db8::", "inet"),
        (ipaddress.ip_interface("127.0.0.1/24"), "127.0.0.1/24", "inet"),
        (ipaddress.ip_interface("::ffff:102:300/128"), "::ffff:102:300/128", "inet"),
        (ipaddress.ip_network("127.0.0.0/24"), "127.0.0.0/24", "cidr"),
        (ipaddress.ip_network("::ffff:102:300/128"), "::ffff:102:300/128", "cidr"),
    ]:
        sql = f"select %{fmt} = %s::{kind}, %{fmt}, %s::{kind}, %{fmt} = array[null, %s]::{kind}[]"
        params = [value, text, value, text, [None, value], text]
        for binary in (False, True):
            assert _rows(conn, sql, params, binary) == _rows(pg, sql, params, binary), text
    with pytest.raises(pgerrors.InvalidTextRepresentation):
        conn.execute("select %s::cidr", ["127.0.0.1/24"])


def test_date_plus_an_integer_column_or_parameter(conn, pg):
    sql = "select i, %s::date + i, i + '2021-01-31'::date from generate_series(1, 2) as i"
    assert _rows(conn, sql, ["2021-01-01"]) == _rows(pg, sql, ["2021-01-01"])
    for fmt in "stb":
        sql = f"select '2021-01-01'::date + %{fmt}, %s::date + %{fmt}"
        assert _rows(conn, sql, [3, "2021-01-31", 1]) == _rows(pg, sql, [3, "2021-01-31", 1])


@pytest.mark.parametrize("sql", ["wat?", "select a ? from t", "select 1 #>", "?#>"])
def test_an_operator_without_its_operand_is_a_syntax_error(conn, sql):
    with pytest.raises(pgerrors.SyntaxError):
        conn.execute(sql)
    assert conn.execute("select 1").fetchone() == (1,)


@pytest.mark.parametrize("binary", [False, True])
def test_copy_to_writes_the_client_encoding(conn, binary):
    fmt = pgsql.SQL("binary" if binary else "text")
    stmt = pgsql.SQL("copy (select chr({})) to stdout (format {})").format(8364, fmt)
    conn.execute("set client_encoding to latin9")
    with conn.cursor(binary=binary).copy(stmt) as copy:
        copy.set_types(["text"])
        assert copy.read_row() == ("\u20ac",)
        assert copy.read_row() is None
    conn.execute("set client_encoding to latin1")  # no euro sign: 22P05, a DataError
    with pytest.raises(psycopg.DataError), conn.cursor(binary=binary).copy(stmt) as copy:
        copy.set_types(["text"])
        copy.read_row()
    assert conn.execute("select 1").fetchone() == (1,)


@pytest.mark.parametrize("fmt", ["s", "t"])
def test_an_untyped_any_argument_is_indeterminate_as_in_postgresql(conn, pg, fmt):
    for sql, params in [(f"select concat(%{fmt}, %{fmt})", ["foo", "bar"]),
                        (f"select pg_typeof(%{fmt}), 1", ["foo"]),
                        (f"select format('%%s', %{fmt})", ["foo"])]:
        for c in (conn, pg):
            with pytest.raises(pgerrors.IndeterminateDatatype):
                c.execute(sql, params)
            assert c.execute("select 1").fetchone() == (1,)
    sql = f"select concat(%{fmt}::text, %{fmt}::text)"
    assert _rows(conn, sql, ["foo", "bar"]) == _rows(pg, sql, ["foo", "bar"])


def test_values_columns_take_their_rows_types(conn, pg):
    values = "values (40010::int, 40020::int, 'hello'::text), (40040, NULL, 'world')"
    described = [[d.type_code for d in c.execute(values).description] for c in (conn, pg)]
    assert described[0] == described[1]
    copied = []
    for c in (conn, pg):
        with c.cursor().copy(f"copy ({values}) to stdout (format binary)") as copy:
            copied.append(b"".join(bytes(block) for block in copy))
    assert copied[0] == copied[1]


def test_columns_of_types_mariadb_lacks_keep_their_type(conn, pg):
    """inet, cidr, interval and timetz columns: MariaDB holds them as text, marked."""
    row = [ipaddress.ip_interface("10.1.2.3/8"), ipaddress.ip_network("10.0.0.0/8"),
           dt.timedelta(days=1, seconds=5), dt.time(10, 20, tzinfo=dt.UTC)]
    got = []
    for c in (conn, pg):
        c.execute("drop table if exists kept_types")
        c.execute("create table kept_types (a inet, b cidr, c interval, d timetz, e interval day)")
        c.execute("insert into kept_types (a, b, c, d) values (%s, %s, %s, %s)", row)
        cur = c.execute("select a, b, c, d, e from kept_types")
        got.append(([d.type_code for d in cur.description], cur.fetchall()))
        c.execute("drop table kept_types")
    assert got[0] == got[1]
