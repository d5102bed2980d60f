"""The byte formats between libdolt and Python, without the library."""

from __future__ import annotations

import datetime as dt
import struct
from decimal import Decimal

from pgproxy import pgtypes
from pgproxy.backends import dolt


def batch(rows: list[tuple[bytes | None, ...]]) -> bytes:
    lens, data = [], b""
    for row in rows:
        for v in row:
            lens.append(-1 if v is None else len(v))
            data += v or b""
    return struct.pack(f"<{len(lens)}i", *lens) + data


def convs(*type_names: str):
    return [dolt.column_converter(dolt.column_type(t)[2]) for t in type_names]


def test_decode_batch_with_and_without_nulls():
    c = convs("int", "varchar(10)", "decimal(5,2)", "blob", "tinyint(1)")
    full = [(b"1", "h\u00e9".encode(), b"1.50", b"\x00\xff", b"1"),
            (b"-2", b"", b"0.00", b"", b"0")]
    assert dolt.decode_batch(batch(full), 2, c) == [
        (1, "h\u00e9", Decimal("1.50"), b"\x00\xff", True),
        (-2, "", Decimal("0.00"), b"", False),
    ]
    holes = [(None, b"a", None, b"x", None), (b"3", None, b"2.25", None, b"1")]
    assert dolt.decode_batch(batch(holes), 2, c) == [
        (None, "a", None, b"x", None),
        (3, None, Decimal("2.25"), None, True),
    ]


def test_temporal_and_odd_values():
    c = convs("date", "datetime(6)", "timestamp", "time(6)", "double")
    rows = [(b"2025-01-02", b"2025-01-02 03:04:05.123456", b"2025-06-07 08:09:10",
             b"12:30:00", b"NaN"),
            (b"0000-00-00", b"2025-01-02 03:04:05", b"2025-06-07 08:09:10.5",
             b"838:59:59", b"1e+300")]
    got = dolt.decode_batch(batch(rows), 2, c)
    assert got[0][:4] == (dt.date(2025, 1, 2), dt.datetime(2025, 1, 2, 3, 4, 5, 123456),
                          dt.datetime(2025, 6, 7, 8, 9, 10, tzinfo=dt.UTC), dt.time(12, 30))
    assert got[0][4] != got[0][4]  # NaN
    # values PostgreSQL's types cannot hold stay text rather than failing the row
    assert got[1][0] == "0000-00-00" and got[1][3] == "838:59:59"
    assert got[1][4] == 1e300


def test_type_map():
    assert dolt.column_type("bigint unsigned")[0] == pgtypes.NUMERIC
    assert dolt.column_type("int unsigned")[0] == pgtypes.INT8
    assert dolt.column_type("tinyint")[0] == pgtypes.INT2
    assert dolt.column_type("decimal(10,2)")[:2] == (pgtypes.NUMERIC, ((10 << 16) | 2) + 4)
    assert dolt.column_type("varchar(20)")[:2] == (pgtypes.VARCHAR, 24)
    assert dolt.column_type("json")[0] == pgtypes.JSON
    assert dolt.column_type("longblob")[0] == pgtypes.BYTEA
    assert dolt.column_type("enum('a','b')")[0] == pgtypes.TEXT
    assert dolt.column_type("bit(1)")[0] == pgtypes.BOOL
    oid, _, conv = dolt.column_type("bit(12)")
    assert oid == pgtypes.BYTEA and conv(b"258") == b"\x01\x02"


def test_encode_params():
    buf = dolt.encode_params([None, True, 2**63 + 1, 1.5, "x\u00e9", b"\x00",
                              Decimal("1.10"), dt.datetime(2025, 1, 2, 3, 4, 5),
                              dt.timedelta(hours=30, seconds=1)])
    assert buf[0] == 0
    assert buf[1:10] == struct.pack("<Bq", 1, 1)
    assert buf[10:19] == struct.pack("<BQ", 5, 2**63 + 1)
    assert buf[19:28] == struct.pack("<Bd", 2, 1.5)
    rest = buf[28:]
    texts = []
    while rest:
        tag, n = struct.unpack_from("<Bi", rest)
        texts.append((tag, rest[5:5 + n]))
        rest = rest[5 + n:]
    assert texts == [(3, "x\u00e9".encode()), (4, b"\x00"), (3, b"1.10"),
                     (3, b"2025-01-02 03:04:05"), (3, b"30:00:01")]


def test_error_map_classifies_unknown_errors():
    assert dolt.map_error(1146, "table not found: t").sqlstate == "42P01"
    assert dolt.map_error(1105, "syntax error at position 6 near 'SELEC'").sqlstate == "42601"
    assert dolt.map_error(1105, 'column "x" could not be found in any table').sqlstate == "42703"
    assert dolt.map_error(1105, "branch not found: nope").sqlstate == "42704"
    assert dolt.map_error(dolt.ERR_LOCKED, "locked").sqlstate == "55P03"
