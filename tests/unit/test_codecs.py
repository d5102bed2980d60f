"""pgproxy.types: byte literals checked against PostgreSQL 15, and psycopg as a reference.

The text literals below are what a real PostgreSQL 15 prints (DateStyle ISO,
IntervalStyle postgres, TimeZone UTC). psycopg's own dumpers and loaders are
a second, independent implementation of every binary format and of parsing
PostgreSQL's text output, so values are cross-checked with it in bulk.
"""

from __future__ import annotations

import math
import random
import struct
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from psycopg.adapt import PyFormat, Transformer
from psycopg.pq import Format

from pgproxy import errors
from pgproxy import pgtypes as t
from pgproxy.types import (
    BINARY,
    TEXT,
    Style,
    decode,
    encode,
    encoder,
    normalize_formats,
    oid_of,
    row_encoder,
)

UTC = UTC
RND = random.Random(20240101)


def pg_load(data: bytes | None, oid: int, fmt: int) -> Any:
    """What psycopg, a real client, reads from these wire bytes."""
    if data is None:
        return None
    tx = Transformer()
    return tx.get_loader(oid, Format(fmt)).load(data)


def pg_dump(value: Any, fmt: int) -> tuple[bytes, int]:
    """What psycopg sends for a parameter, and the OID it declares."""
    tx = Transformer()
    d = tx.get_dumper(value, PyFormat.BINARY if fmt else PyFormat.TEXT)
    return bytes(d.dump(value)), d.oid


# ---------------------------------------------------- text output, as PostgreSQL prints it

TEXT_CASES = [
    (t.BOOL, True, b"t"),
    (t.BOOL, False, b"f"),
    (t.BOOL, 1, b"t"),
    (t.BOOL, 0, b"f"),
    (t.BOOL, "true", b"t"),
    (t.BOOL, "0", b"f"),
    (t.INT2, -32768, b"-32768"),
    (t.INT4, 2147483647, b"2147483647"),
    (t.INT8, -9223372036854775808, b"-9223372036854775808"),
    (t.INT8, "42", b"42"),
    (t.INT8, Decimal("7"), b"7"),
    (t.OID, 4294967295, b"4294967295"),
    (t.FLOAT8, 0.0, b"0"),
    (t.FLOAT8, -0.0, b"-0"),
    (t.FLOAT8, 1.0, b"1"),
    (t.FLOAT8, 0.1, b"0.1"),
    (t.FLOAT8, 1 / 3, b"0.3333333333333333"),
    (t.FLOAT8, 1e15, b"1e+15"),
    (t.FLOAT8, 123456789012345.0, b"123456789012345"),
    (t.FLOAT8, 1234567890123456.0, b"1.234567890123456e+15"),
    (t.FLOAT8, 1e16, b"1e+16"),
    (t.FLOAT8, 1e-4, b"0.0001"),
    (t.FLOAT8, 1e-5, b"1e-05"),
    (t.FLOAT8, 1.5e300, b"1.5e+300"),
    (t.FLOAT8, 5e-324, b"5e-324"),
    (t.FLOAT8, math.inf, b"Infinity"),
    (t.FLOAT8, -math.inf, b"-Infinity"),
    (t.FLOAT8, math.nan, b"NaN"),
    (t.FLOAT8, 3, b"3"),
    (t.FLOAT4, 0.1, b"0.1"),
    (t.FLOAT4, 1e6, b"1e+06"),
    (t.FLOAT4, 123456.0, b"123456"),
    (t.FLOAT4, 1234567.0, b"1.234567e+06"),
    (t.FLOAT4, 1e-5, b"1e-05"),
    (t.FLOAT4, 74851376.0, b"7.4851376e+07"),  # a shortest candidate at a midpoint is refused
    (t.NUMERIC, Decimal("-0"), b"0"),
    (t.NUMERIC, Decimal("-0.00"), b"0.00"),
    (t.NUMERIC, Decimal("1e-7"), b"0.0000001"),
    (t.NUMERIC, Decimal("1E+3"), b"1000"),
    (t.NUMERIC, Decimal("-1.50"), b"-1.50"),
    (t.NUMERIC, Decimal("NaN"), b"NaN"),
    (t.NUMERIC, Decimal("-Infinity"), b"-Infinity"),
    (t.NUMERIC, 12, b"12"),
    (t.NUMERIC, 0.1, b"0.1"),
    (t.TEXT, "héllo", "héllo".encode()),
    (t.TEXT, 5, b"5"),
    (t.VARCHAR, b"raw", b"raw"),
    (t.NAME, "pg_class", b"pg_class"),
    (t.BPCHAR, "ab  ", b"ab  "),
    (t.CHAR, "r", b"r"),
    (t.BYTEA, b"", b"\\x"),
    (t.BYTEA, b"\x00\xffA", b"\\x00ff41"),
    (t.BYTEA, "\\x00ff", b"\\x00ff"),
    (t.BYTEA, "abc", b"\\x616263"),
    (t.UUID, uuid.UUID(int=0x1234), b"00000000-0000-0000-0000-000000001234"),
    (t.UUID, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    (t.JSON, '{"a":1}', b'{"a":1}'),
    (t.JSONB, {"a": 1, "b": [1, 2], "c": "é"}, '{"a": 1, "b": [1, 2], "c": "é"}'.encode()),
    (t.DATE, date(2024, 2, 29), b"2024-02-29"),
    (t.DATE, date(1, 1, 1), b"0001-01-01"),
    (t.DATE, datetime(2024, 2, 29, 10), b"2024-02-29"),
    (t.DATE, "infinity", b"infinity"),
    (t.TIME, time(1, 2, 3), b"01:02:03"),
    (t.TIME, time(1, 2, 3, 450000), b"01:02:03.45"),
    (t.TIME, timedelta(hours=13, seconds=5), b"13:00:05"),
    (t.TIMETZ, time(10, 0, 0, 500000, tzinfo=timezone(timedelta(hours=5, minutes=30, seconds=15))),
     b"10:00:00.5+05:30:15"),
    (t.TIMETZ, time(10, 0), b"10:00:00+00"),
    (t.TIMESTAMP, datetime(2024, 1, 1, 10), b"2024-01-01 10:00:00"),
    (t.TIMESTAMP, datetime(2024, 1, 1, 10, 0, 0, 120), b"2024-01-01 10:00:00.00012"),
    (t.TIMESTAMP, datetime(999, 5, 6, 7, 8, 9), b"0999-05-06 07:08:09"),
    (t.TIMESTAMP, "2024-01-01 10:00:00", b"2024-01-01 10:00:00"),
    (t.TIMESTAMP, "2024-01-01T10:00:00.500", b"2024-01-01 10:00:00.5"),
    (t.TIMESTAMP, date(2024, 1, 1), b"2024-01-01 00:00:00"),
    (t.TIMESTAMP, "infinity", b"infinity"),
    (t.TIMESTAMPTZ, datetime(2024, 1, 1, 10), b"2024-01-01 10:00:00+00"),
    (t.TIMESTAMPTZ, datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=5, minutes=30))),
     b"2024-05-01 06:30:00+00"),
    (t.TIMESTAMPTZ, "2024-01-01 10:00:00", b"2024-01-01 10:00:00+00"),
    (t.TIMESTAMPTZ, "2024-01-01 10:00:00-02:00", b"2024-01-01 12:00:00+00"),
    (t.TIMESTAMPTZ, "-infinity", b"-infinity"),
    (t.INTERVAL, timedelta(0), b"00:00:00"),
    (t.INTERVAL, timedelta(hours=-1), b"-01:00:00"),
    (t.INTERVAL, timedelta(hours=-25), b"-1 days -01:00:00"),
    (t.INTERVAL, timedelta(days=1, hours=2, minutes=3, seconds=4), b"1 day 02:03:04"),
    (t.INTERVAL, timedelta(days=-1), b"-1 days"),
    (t.INTERVAL, timedelta(days=3, microseconds=780000), b"3 days 00:00:00.78"),
    (t.INTERVAL, "3 mons", b"3 mons"),
    (t.INT4_ARRAY, [1, None, 3], b"{1,NULL,3}"),
    (t.INT4_ARRAY, [[1, 2], [3, 4]], b"{{1,2},{3,4}}"),
    (t.INT4_ARRAY, [], b"{}"),
    (t.INT4_ARRAY, "{1,2}", b"{1,2}"),
    (t.INT4_ARRAY, "[1, 2]", b"{1,2}"),
    (t.TEXT_ARRAY, ["a", None, "", " x", "a\\b", "NULL", "{}", 'x"y', "é", "a,b"],
     '{a,NULL,""," x","a\\\\b","NULL","{}","x\\"y",é,"a,b"}'.encode()),
    (t.NAME_ARRAY, ["a b"], b'{"a b"}'),
    (t.BOOL_ARRAY, [True, False, None], b"{t,f,NULL}"),
    (t.FLOAT8_ARRAY, [1.5, math.nan, -0.0], b"{1.5,NaN,-0}"),
    (t.BYTEA_ARRAY, [b"\x01", b""], b'{"\\\\x01","\\\\x"}'),
    (t.TIMESTAMP_ARRAY, [datetime(2024, 1, 1, 10)], b'{"2024-01-01 10:00:00"}'),
    (t.NUMERIC_ARRAY, [Decimal("1.50"), Decimal("NaN")], b"{1.50,NaN}"),
    (t.OID_ARRAY, [16, 23], b"{16,23}"),
    (t.INT2VECTOR, [1, 2, 3], b"1 2 3"),
    (t.OIDVECTOR, [], b""),
    (0, 5, b"5"),
    (0, True, b"true"),
    (0, "x", b"x"),
    (999999, datetime(2024, 1, 1), b"2024-01-01 00:00:00"),
]


@pytest.mark.parametrize(("oid", "value", "wire"), TEXT_CASES)
def test_text_output_is_postgresqls(oid: int, value: Any, wire: bytes) -> None:
    assert encode(value, oid, TEXT) == wire


# ---------------------------------------------------------------- binary output, byte for byte

BINARY_CASES = [
    (t.BOOL, True, b"\x01"),
    (t.INT2, -2, b"\xff\xfe"),
    (t.INT4, 1, b"\x00\x00\x00\x01"),
    (t.INT8, "5", b"\x00\x00\x00\x00\x00\x00\x00\x05"),
    (t.OID, 4294967295, b"\xff\xff\xff\xff"),
    (t.FLOAT8, 1.5, b"\x3f\xf8\x00\x00\x00\x00\x00\x00"),
    (t.FLOAT4, 1.5, b"\x3f\xc0\x00\x00"),
    # ndigits, weight, sign, dscale, base-10000 digits
    (t.NUMERIC, Decimal("-1.500"), b"\x00\x02\x00\x00\x40\x00\x00\x03\x00\x01\x13\x88"),
    (t.NUMERIC, Decimal("0.00"), b"\x00\x00\x00\x00\x00\x00\x00\x02"),
    (t.NUMERIC, Decimal("10000"), b"\x00\x01\x00\x01\x00\x00\x00\x00\x00\x01"),
    (t.NUMERIC, Decimal("0.00001"), b"\x00\x01\xff\xfe\x00\x00\x00\x05\x03\xe8"),
    (t.NUMERIC, Decimal("NaN"), b"\x00\x00\x00\x00\xc0\x00\x00\x00"),
    (t.TEXT, "é", b"\xc3\xa9"),
    (t.BYTEA, b"\x00\x01", b"\x00\x01"),
    (t.DATE, date(2000, 1, 2), b"\x00\x00\x00\x01"),
    (t.DATE, "1999-12-31", b"\xff\xff\xff\xff"),
    (t.DATE, "infinity", b"\x7f\xff\xff\xff"),
    (t.TIME, time(0, 0, 1), b"\x00\x00\x00\x00\x00\x0f\x42\x40"),
    (t.TIMETZ, time(0, 0, 1, tzinfo=timezone(timedelta(hours=1))),
     b"\x00\x00\x00\x00\x00\x0f\x42\x40\xff\xff\xf1\xf0"),
    (t.TIMESTAMP, datetime(2000, 1, 1, 0, 0, 1), b"\x00\x00\x00\x00\x00\x0f\x42\x40"),
    (t.TIMESTAMP, "2000-01-01 00:00:01", b"\x00\x00\x00\x00\x00\x0f\x42\x40"),
    (t.TIMESTAMP, "-infinity", b"\x80\x00\x00\x00\x00\x00\x00\x00"),
    (t.TIMESTAMPTZ, datetime(2000, 1, 1, 1, 0, 1, tzinfo=timezone(timedelta(hours=1))),
     b"\x00\x00\x00\x00\x00\x0f\x42\x40"),
    (t.TIMESTAMPTZ, "2000-01-01 00:00:01", b"\x00\x00\x00\x00\x00\x0f\x42\x40"),
    # microseconds, days, months
    (t.INTERVAL, timedelta(hours=-25),
     b"\xff\xff\xff\xff\x29\x6c\x5c\x00\xff\xff\xff\xff\x00\x00\x00\x00"),
    (t.INTERVAL, "1 year 2 mons 3 days 00:00:01",
     b"\x00\x00\x00\x00\x00\x0f\x42\x40\x00\x00\x00\x03\x00\x00\x00\x0e"),
    (t.UUID, "00000000-0000-0000-0000-000000001234", b"\x00" * 14 + b"\x12\x34"),
    (t.JSON, {"a": 1}, b'{"a": 1}'),
    (t.JSONB, '{"a":1}', b'\x01{"a":1}'),
    # ndim, has-null, element oid, (size, lower bound) per dimension, then (length, data)
    (t.INT4_ARRAY, [1, None],
     b"\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x17\x00\x00\x00\x02\x00\x00\x00\x01"
     b"\x00\x00\x00\x04\x00\x00\x00\x01\xff\xff\xff\xff"),
    (t.INT4_ARRAY, [], b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x17"),
    (t.TEXT_ARRAY, "{a}",
     b"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x19\x00\x00\x00\x01\x00\x00\x00\x01"
     b"\x00\x00\x00\x01a"),
    (t.INT2VECTOR, [7],
     b"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x15\x00\x00\x00\x01\x00\x00\x00\x00"
     b"\x00\x00\x00\x02\x00\x07"),
]


@pytest.mark.parametrize(("oid", "value", "wire"), BINARY_CASES)
def test_binary_output(oid: int, value: Any, wire: bytes) -> None:
    assert encode(value, oid, BINARY) == wire


def test_session_time_zone() -> None:
    tz = Style(timezone(timedelta(hours=-3)))
    aware = datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert encode(aware, t.TIMESTAMPTZ, TEXT, tz) == b"2024-01-01 09:00:00-03"
    # A naive timestamptz from a backend is UTC, printed in the session zone.
    naive = datetime(2024, 1, 1, 12)
    assert encode(naive, t.TIMESTAMPTZ, TEXT, tz) == b"2024-01-01 09:00:00-03"
    assert encode("2024-01-01 12:00:00", t.TIMESTAMPTZ, TEXT, tz) == b"2024-01-01 09:00:00-03"
    assert encode(naive, t.TIMESTAMPTZ, BINARY, tz) == encode(aware, t.TIMESTAMPTZ, BINARY)
    rows = row_encoder([t.TIMESTAMPTZ], [], style=tz)([(aware,)])
    assert rows.endswith(b"2024-01-01 09:00:00-03")


# ---------------------------------------------------------------- cross-checks against psycopg

FLOATS = [0.0, -0.0, 1.0, 0.1, 1e15, 1e16, 1234567890123456.0, 1e-5, 5e-324, 1.7976931348623157e308,
          math.inf, -math.inf, 1 / 3]
FLOATS += [struct.unpack("d", struct.pack("Q", RND.getrandbits(64)))[0] for _ in range(300)]
FLOATS += [10.0**e * RND.random() for e in range(-20, 25)]
FLOATS = [f for f in FLOATS if not math.isnan(f)]
NUMERICS = [
    Decimal(x)
    for x in ["0", "0.00", "1", "-1.50", "1e-7", "1E+3", "12345.6789", "0.0001",
              "123456789012345678901234567890.123456789", "10000", "9999.9999",
              "-0.000000001", "1e20", "NaN", "Infinity", "-Infinity"]
]
NUMERICS += [
    Decimal(RND.randint(-(10**20), 10**20)).scaleb(-RND.randint(0, 25)) for _ in range(200)
]
STAMPS = [datetime(2024, 1, 1, 10), datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999),
          datetime(1999, 12, 31, 23, 59, 59, 1)]
STAMPS += [
    datetime(2000, 1, 1) + timedelta(microseconds=RND.randint(-6 * 10**16, 2 * 10**17))
    for _ in range(100)
]
DELTAS = [timedelta(0), timedelta(hours=-1), timedelta(days=-1, seconds=1),
          timedelta(microseconds=-1), timedelta(days=999999, hours=3)]
DELTAS += [timedelta(microseconds=RND.randint(-(10**13), 10**13)) for _ in range(100)]
UUIDS = [uuid.UUID(int=RND.getrandbits(128)) for _ in range(20)]
TEXTS = ["", "a", "héllo wörld", "x\ty", "🐘" * 10, "NULL", '"quoted"']

# (oid, values): every type the codecs know, with values psycopg can represent.
ROUND_TRIP = [
    (t.BOOL, [True, False]),
    (t.INT2, [0, -32768, 32767]),
    (t.INT4, [0, -(2**31), 2**31 - 1]),
    (t.INT8, [0, -(2**63), 2**63 - 1, 12345]),
    (t.OID, [0, 2**32 - 1]),
    (t.FLOAT8, FLOATS),
    (t.FLOAT4, [struct.unpack("f", struct.pack("f", RND.uniform(-1e6, 1e6)))[0] for _ in range(100)]
     + [0.1, 1e-5, 3.0, -0.0]),
    (t.NUMERIC, NUMERICS),
    (t.TEXT, TEXTS),
    (t.VARCHAR, TEXTS),
    (t.NAME, ["pg_class", "a b"]),
    (t.BPCHAR, ["abc  "]),
    (t.BYTEA, [b"", b"\x00\xff", bytes(range(256))]),
    (t.DATE, [d.date() for d in STAMPS]),
    (t.TIME, [d.time() for d in STAMPS]),
    (t.TIMETZ, [time(10, 1, 2, 3, tzinfo=timezone(timedelta(hours=h))) for h in (-12, 0, 5)]),
    (t.TIMESTAMP, STAMPS),
    (t.TIMESTAMPTZ, [d.replace(tzinfo=UTC) for d in STAMPS[4:]]),
    (t.INTERVAL, DELTAS),
    (t.UUID, UUIDS),
    (t.JSONB, [{"a": [1, 2.5, None, True], "b": {"c": "é"}}, [], 3, '"a str is JSON text"']),
    (t.JSON, [{"a": [1, 2.5, None, True]}]),
    (t.INT2_ARRAY, [[1, 2, None], []]),
    (t.INT4_ARRAY, [[[1, 2], [3, 4]], [None]]),
    (t.INT8_ARRAY, [[2**40, -1]]),
    (t.TEXT_ARRAY, [TEXTS, [["a", "b"], ["c", None]]]),
    (t.VARCHAR_ARRAY, [TEXTS]),
    (t.NAME_ARRAY, [["a", "b c"]]),
    (t.FLOAT8_ARRAY, [FLOATS[:50]]),
    (t.BOOL_ARRAY, [[True, None, False]]),
    (t.OID_ARRAY, [[16, 4294967295]]),
    (t.NUMERIC_ARRAY, [NUMERICS[:20]]),
    (t.DATE_ARRAY, [[date(2024, 1, 1), None]]),
    (t.TIMESTAMP_ARRAY, [STAMPS[:10]]),
    (t.TIMESTAMPTZ_ARRAY, [[STAMPS[5].replace(tzinfo=UTC)]]),
    (t.UUID_ARRAY, [UUIDS[:3]]),
    (t.BYTEA_ARRAY, [[b"\x00", b"", None]]),
    (t.INTERVAL_ARRAY, [DELTAS[:10]]),
]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (a == b and math.copysign(1, a) == math.copysign(1, b)) or (a != a and b != b)
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return str(a) == str(b) or (a.is_nan() and b.is_nan()) or a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _expected(oid: int, v: Any) -> Any:
    """The value psycopg should read back: PostgreSQL's, where the type loses something."""
    if oid == t.FLOAT4 and isinstance(v, float):
        return _f4(v)
    if oid == t.NUMERIC and isinstance(v, Decimal) and v.is_zero():
        return abs(v)
    return v


def _f4(v: Any) -> Any:
    # float4's text is its shortest decimal, which reads back as a double
    # only once rounded to single precision again.
    return struct.unpack("f", struct.pack("f", v))[0] if isinstance(v, float) else v


@pytest.mark.parametrize(("oid", "values"), ROUND_TRIP, ids=[str(o) for o, _ in ROUND_TRIP])
@pytest.mark.parametrize("fmt", [TEXT, BINARY], ids=["text", "binary"])
def test_psycopg_reads_what_we_send(oid: int, values: list[Any], fmt: int) -> None:
    for v in values:
        got = pg_load(encode(v, oid, fmt), oid, fmt)
        if oid == t.FLOAT4:
            got = _f4(got)
        if oid in (t.JSON, t.JSONB) and isinstance(v, str):
            v = pg_load(v.encode(), oid, TEXT)
        assert _same(got, _expected(oid, v)), (oid, v, encode(v, oid, fmt), got)


@pytest.mark.parametrize(("oid", "values"), ROUND_TRIP, ids=[str(o) for o, _ in ROUND_TRIP])
@pytest.mark.parametrize("fmt", [TEXT, BINARY], ids=["text", "binary"])
def test_our_decoder_reads_what_we_send(oid: int, values: list[Any], fmt: int) -> None:
    for v in values:
        got = decode(encode(v, oid, fmt), oid, fmt)
        if oid == t.FLOAT4:
            got = _f4(got)
        want = _expected(oid, v)
        if oid in (t.JSON, t.JSONB):
            want = pg_load(encode(v, oid, TEXT), oid, TEXT)
            got = pg_load(got.encode(), oid, TEXT)
        assert _same(got, want), (oid, v, got)


@pytest.mark.parametrize("fmt", [TEXT, BINARY], ids=["text", "binary"])
def test_binary_matches_psycopg_dumpers(fmt: int) -> None:
    """Where psycopg dumps a value as a type, our bytes for that type are the same."""
    values: list[Any] = [True, False, *FLOATS, *NUMERICS[:-3], *TEXTS, b"\x00\x01", *STAMPS,
                         *[d.replace(tzinfo=UTC) for d in STAMPS[4:]], *[d.date() for d in STAMPS],
                         *[d.time() for d in STAMPS], *UUIDS]
    for v in values:
        data, oid = pg_dump(v, fmt)
        if fmt == TEXT and oid in (t.FLOAT8, t.NUMERIC, t.TIMESTAMP, t.TIMESTAMPTZ, t.DATE, t.TIME,
                                   t.BYTEA, t.UUID):
            # psycopg's text forms are valid input but not PostgreSQL's output style
            # (bytea: without a connection it escapes for standard_conforming_strings=off).
            continue
        assert encode(v, oid, fmt) == data, (v, oid)


# ---------------------------------------------------------------- decoding what clients send


@pytest.mark.parametrize(("oid", "values"), ROUND_TRIP, ids=[str(o) for o, _ in ROUND_TRIP])
@pytest.mark.parametrize("fmt", [TEXT, BINARY], ids=["text", "binary"])
def test_decode_psycopg_parameters(oid: int, values: list[Any], fmt: int) -> None:
    for v in values:
        if isinstance(v, list | dict) or oid in (t.JSON, t.JSONB, t.OID, t.NAME, t.BPCHAR,
                                                  t.FLOAT4, t.TIMETZ) or (
                oid == t.BYTEA and fmt == TEXT):
            continue  # psycopg picks another type for these Python values
        data, dumped_oid = pg_dump(v, fmt)
        if dumped_oid == 0:
            dumped_oid = oid  # psycopg leaves text-format strings and dates untyped
        if dumped_oid != oid and oid not in (t.INT2, t.INT4, t.INT8, t.VARCHAR):
            continue
        got = decode(data, dumped_oid, fmt)
        if oid == t.INTERVAL and isinstance(v, timedelta) and fmt == TEXT:
            assert got == v, (data, got)
            continue
        assert _same(got, v), (oid, v, data, got)


DECODE_TEXT = [
    (t.BOOL, b"yes", True),
    (t.BOOL, b"off", False),
    (t.INT4, b" 42 ", 42),
    (t.NUMERIC, b"1e3", Decimal("1e3")),
    (t.FLOAT8, b"-Infinity", -math.inf),
    (t.BYTEA, b"\\x0001ff", b"\x00\x01\xff"),
    (t.BYTEA, b"a\\\\b\\001", b"a\\b\x01"),
    (t.DATE, b"infinity", "infinity"),  # bound as PostgreSQL's text, not squeezed into date.max
    (t.TIMESTAMP, b"2024-01-01 10:00:00.5", datetime(2024, 1, 1, 10, 0, 0, 500000)),
    (t.TIMESTAMPTZ, b"2024-01-01 10:00:00+02", datetime(2024, 1, 1, 8, tzinfo=UTC)),
    (t.TIMESTAMPTZ, b"2024-01-01 10:00:00 +05:30", datetime(2024, 1, 1, 4, 30, tzinfo=UTC)),
    (t.TIMESTAMPTZ, b"2024-01-01 10:00:00", datetime(2024, 1, 1, 10, tzinfo=UTC)),
    (t.TIME, b"10:00", time(10)),
    (t.INTERVAL, b"1 day 02:03:04", timedelta(days=1, hours=2, minutes=3, seconds=4)),
    (t.INTERVAL, b"-1 days +23:00:00", timedelta(hours=-1)),
    (t.INTERVAL, b"@ 1 day 2 hours ago", timedelta(days=-1, hours=-2)),
    (t.INTERVAL, b"P1DT2H3M4.5S", timedelta(days=1, hours=2, minutes=3, seconds=4.5)),
    (t.INTERVAL, b"1.5 days", timedelta(days=1, hours=12)),
    (t.INTERVAL, b"3600", timedelta(hours=1)),
    (t.INTERVAL, b"1 year 2 mons", timedelta(days=365 + 60)),
    (t.INTERVAL, b"1 day 2.000003 seconds", timedelta(days=1, seconds=2, microseconds=3)),
    (t.UUID, b"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
     uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
    (t.INT4_ARRAY, b"[0:1]={1,2}", [1, 2]),
    (t.TEXT_ARRAY, b'{a, "b c" ,NULL,"NULL",\\"}', ["a", "b c", None, "NULL", '"']),
    (t.INT2VECTOR, b"1 2 3", [1, 2, 3]),
    (0, b"anything", "anything"),
    (t.JSONB, b'{"a": 1}', '{"a": 1}'),
]


@pytest.mark.parametrize(("oid", "wire", "value"), DECODE_TEXT)
def test_decode_text(oid: int, wire: bytes, value: Any) -> None:
    assert decode(wire, oid, TEXT) == value


def test_decode_unknown_binary_keeps_bytes() -> None:
    assert decode(b"\x00\x01", 0, BINARY) == b"\x00\x01"
    assert decode(memoryview(b"ab"), 424242, BINARY) == b"ab"
    assert decode(None, t.INT4, BINARY) is None


@pytest.mark.parametrize(
    ("oid", "fmt", "wire", "error"),
    [
        (t.INT4, TEXT, b"abc", errors.InvalidTextRepresentation),
        (t.INT2, TEXT, b"40000", errors.NumericValueOutOfRange),
        (t.INT4, BINARY, b"\x00\x01", errors.InvalidBinaryRepresentation),
        (t.BOOL, TEXT, b"maybe", errors.InvalidTextRepresentation),
        (t.DATE, TEXT, b"2024-13-01", errors.DatetimeFieldOverflow),
        (t.DATE, TEXT, b"2024-1x-01", errors.InvalidDatetimeFormat),
        (t.INTERVAL, TEXT, b"1 fortnight", errors.InvalidDatetimeFormat),
        (t.NUMERIC, BINARY, b"\x00\x01\x00\x00\x00\x00\x00\x00\x27\x10",
         errors.InvalidBinaryRepresentation),
        (t.JSONB, BINARY, b'\x02{}', errors.InvalidBinaryRepresentation),
        (t.INT4_ARRAY, TEXT, b"{1,2", errors.InvalidTextRepresentation),
        (t.INT4_ARRAY, BINARY, b"\x00\x00\x00\x01", errors.InvalidBinaryRepresentation),
        (t.TEXT, TEXT, b"\xff", errors.CharacterNotInRepertoire),
    ],
)
def test_decode_errors_carry_sqlstate(oid: int, fmt: int, wire: bytes, error: type) -> None:
    with pytest.raises(error):
        decode(wire, oid, fmt)


@pytest.mark.parametrize(
    ("oid", "fmt", "value", "error"),
    [
        (t.INT2, BINARY, 40000, errors.NumericValueOutOfRange),
        (t.INT8, TEXT, "12abc", errors.InvalidTextRepresentation),
        (t.FLOAT4, BINARY, 1e300, errors.NumericValueOutOfRange),
        (t.UUID, TEXT, "not-a-uuid", errors.InvalidTextRepresentation),
        (t.DATE, BINARY, "someday", errors.InvalidDatetimeFormat),
        (t.BOOL, TEXT, "maybe", errors.InvalidTextRepresentation),
    ],
)
def test_encode_errors_carry_sqlstate(oid: int, fmt: int, value: Any, error: type) -> None:
    with pytest.raises(error):
        encode(value, oid, fmt)


# ---------------------------------------------------------------- the batch DataRow encoder


def data_row(cells: list[bytes | None]) -> bytes:
    """A DataRow built the slow, obvious way, for comparison."""
    body = struct.pack("!h", len(cells))
    for c in cells:
        body += struct.pack("!i", -1) if c is None else struct.pack("!i", len(c)) + c
    return b"D" + struct.pack("!i", len(body) + 4) + body


def test_data_row_literal() -> None:
    enc = row_encoder([t.INT8, t.TEXT, t.FLOAT8, t.TIMESTAMP], [TEXT])
    assert enc([(1, "ab", None, "2024-01-01 10:00:00")]) == (
        b"D\x00\x00\x00\x2c\x00\x04"
        b"\x00\x00\x00\x011"
        b"\x00\x00\x00\x02ab"
        b"\xff\xff\xff\xff"
        b"\x00\x00\x00\x132024-01-01 10:00:00"
    )
    assert enc([]) == b""
    binary = row_encoder([t.INT4, t.BOOL], [BINARY])
    assert binary([(7, True)]) == (
        b"D\x00\x00\x00\x13\x00\x02\x00\x00\x00\x04\x00\x00\x00\x07\x00\x00\x00\x01\x01")


COLUMN_VALUES: dict[int, list[Any]] = {
    t.INT8: [0, -5, 2**62, -(2**63), "17", True, Decimal("3"), 2.0],
    t.INT4: [1, -(2**31), "9"],
    t.INT2: [3, -3],
    t.OID: [16, 4294967295],
    t.TEXT: ["x", "", "é" * 3000, 12, b"raw", 1.5],
    t.VARCHAR: ["v"],
    t.FLOAT8: [1.5, 1e15, math.inf, 3, "2.5", -0.0, Decimal("1.25"), 10.0, 1e-05, 0.1 + 0.2,
               -123456789012345.0, 999999999999999.9, math.nan],
    t.FLOAT4: [0.1, 7],
    t.NUMERIC: [Decimal("1.50"), 7, "3.25"],
    t.BOOL: [True, False, 1, 0, "t"],
    t.TIMESTAMP: ["2024-01-01 10:00:00", datetime(2024, 1, 1, 1, 2, 3, 4), "2024-01-01T10:00:00",
                  datetime(2024, 1, 1), datetime(999, 3, 4, 5, 6, 7, 120000),
                  datetime(2024, 5, 6, 7, 8, 9, 10, tzinfo=UTC)],
    t.TIMESTAMPTZ: ["2024-01-01 10:00:00", datetime(2024, 1, 1, tzinfo=UTC)],
    t.DATE: [date(2024, 1, 1), "2024-02-02", date(999, 1, 2), datetime(2024, 1, 1, 5)],
    t.TIME: [time(1, 2)],
    t.INTERVAL: [timedelta(seconds=5)],
    t.BYTEA: [b"\x00" * 5000, b""],
    t.UUID: [UUIDS[0]],
    t.JSONB: [{"a": 1}, "[]"],
    t.JSON: ['{"a": 1}'],
    t.TEXT_ARRAY: [["a", None]],
    t.INT8_ARRAY: [[1, 2]],
    0: ["unknown", 5],
}


@pytest.mark.parametrize("fmt", [TEXT, BINARY], ids=["text", "binary"])
def test_row_encoder_matches_value_encoders(fmt: int) -> None:
    rng = random.Random(7)
    oids = list(COLUMN_VALUES)
    for _ in range(60):
        cols = [rng.choice(oids) for _ in range(rng.randint(1, 8))]
        fmts = [rng.choice([TEXT, BINARY]) for _ in cols] if fmt == BINARY else [TEXT]
        per_col = normalize_formats(fmts, len(cols))
        rows = [
            tuple(None if rng.random() < 0.2 else rng.choice(COLUMN_VALUES[o]) for o in cols)
            for _ in range(rng.randint(0, 40))
        ]
        want = b"".join(
            data_row([encode(v, o, f) for v, o, f in zip(r, cols, per_col, strict=True)])
            for r in rows)
        assert row_encoder(cols, fmts)(rows) == want, (cols, fmts, rows)


def test_row_encoder_big_row_and_bind_format_rules() -> None:
    big = "x" * 100_000
    enc = row_encoder([t.TEXT, t.INT8], [])
    assert enc([(big, 1)]) == data_row([big.encode(), b"1"])
    assert enc([[big, 1]]) == data_row([big.encode(), b"1"])  # rows may be lists
    assert normalize_formats([], 2) == [TEXT, TEXT]
    assert normalize_formats([BINARY], 3) == [BINARY] * 3
    with pytest.raises(errors.ProtocolViolation):
        normalize_formats([TEXT, BINARY], 3)
    with pytest.raises(errors.InvalidParameterValue):  # 22023, as PostgreSQL's printtup
        row_encoder([t.INT4], [2])


def test_row_encoder_errors() -> None:
    with pytest.raises(errors.NumericValueOutOfRange):
        row_encoder([t.INT4], [BINARY])([(2**40,)])
    with pytest.raises(errors.InvalidTextRepresentation):
        row_encoder([t.INT8], [BINARY])([("nope",)])


def test_encoders_are_chosen_once() -> None:
    assert encoder(t.INT8, TEXT) is encoder(t.INT8, TEXT)
    assert encoder(424242, TEXT)(5) == b"5"


@pytest.mark.parametrize(
    ("value", "oid"),
    [(True, t.BOOL), (1, t.INT8), (1.0, t.FLOAT8), (Decimal(1), t.NUMERIC), ("x", t.TEXT),
     (b"x", t.BYTEA), (date(2024, 1, 1), t.DATE), (datetime(2024, 1, 1), t.TIMESTAMP),
     (datetime(2024, 1, 1, tzinfo=UTC), t.TIMESTAMPTZ), (timedelta(1), t.INTERVAL),
     (UUIDS[0], t.UUID), ({}, t.JSONB), ([1, 2], t.INT8_ARRAY), (["a"], t.TEXT_ARRAY),
     (object(), t.TEXT)],
)
def test_oid_of(value: Any, oid: int) -> None:
    assert oid_of(value) == oid


@pytest.mark.parametrize(
    ("oid", "text", "out"),
    [
        (t.INET, "127.0.0.1/32", "127.0.0.1"),
        (t.INET, "127.0.0.1/24", "127.0.0.1/24"),
        (t.INET, "::ffff:102:300", "::ffff:1.2.3.0"),
        (t.INET, "2001:db8::/128", "2001:db8::"),
        (t.CIDR, "127.0.0.0/24", "127.0.0.0/24"),
        (t.CIDR, "10.1", "10.1.0.0/16"),
        (t.BIT, "101", "101"),
        (t.VARBIT, "", ""),
    ],
)
def test_network_and_bit_values_as_postgresql_prints_them(oid: int, text: str, out: str) -> None:
    value = decode(text.encode(), oid, TEXT)
    assert encode(value, oid, TEXT) == out.encode()
    wire = encode(value, oid, BINARY)
    assert decode(wire, oid, BINARY) == out
    if oid in (t.INET, t.CIDR):  # psycopg, an independent implementation, reads ours
        text_loader = Transformer().get_loader(oid, Format.TEXT)
        binary_loader = Transformer().get_loader(oid, Format.BINARY)
        assert binary_loader.load(wire) == text_loader.load(out.encode())


@pytest.mark.parametrize(
    ("oid", "wire"),
    [
        (t.INET, b"\x09\x20\x00\x04\x7f\x00\x00\x01"),  # no such address family
        (t.INET, b"\x02\x21\x00\x04\x7f\x00\x00\x01"),  # 33 bits of IPv4
        (t.CIDR, b"\x02\x18\x01\x04\x7f\x00\x00\x01"),  # bits right of the mask
        (t.INET, b"\x02"),
        (t.BIT, b"\x00\x00\x00\x09\x01"),  # 9 bits in one byte
        (t.VARBIT, b"\xff\xff\xff\xff"),
    ],
)
def test_hostile_network_and_bit_binary_is_refused(oid: int, wire: bytes) -> None:
    with pytest.raises(errors.PgError) as info:
        decode(wire, oid, BINARY)
    assert info.value.sqlstate in ("22P03", "22P02")
