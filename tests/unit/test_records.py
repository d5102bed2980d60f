"""Row values: the record text form the backends build (dialects/records.py), run on a real
SQLite, and the record codec's text and binary forms (pgproxy/types/records.py)."""

from __future__ import annotations

import sqlite3
import struct

import pytest

from dialects import Target, generate, parse
from pgproxy import errors
from pgproxy.types import BINARY, TEXT, decode, encode
from pgproxy.types import records as rec

SQLITE = Target("sqlite", "qmark", "sqlite")


@pytest.mark.parametrize(
    "sql, want",
    [
        ("SELECT ROW(1, 'a b', NULL, TRUE, '', 'x\"y\\z')", '(1,"a b",,t,"","x""y\\\\z")'),
        ("SELECT (1, 'a') AS r", "(1,a)"),
        ("SELECT ROW()", "()"),
        ("SELECT ROW('(', ')', ',', 'tab\tx')", '("(",")",",","tab\tx")'),
    ],
)
def test_record_text_built_by_sqlite(sql: str, want: str) -> None:
    (statement,) = parse(sql)
    generated = generate(statement, SQLITE)
    assert generated.column_types == (2249,)
    assert sqlite3.connect(":memory:").execute(generated.sql).fetchone() == (want,)


def test_a_compared_row_stays_a_row() -> None:
    (statement,) = parse("SELECT 1 WHERE ROW(1, 2) = (1, 2)")
    sql = generate(statement, SQLITE).sql
    assert sql.endswith(" WHERE (1, 2) = (1, 2)")
    assert sqlite3.connect(":memory:").execute(sql).fetchone() == (1,)


@pytest.mark.parametrize(
    "text, fields",
    [
        ('(1,"a b",,t,"","x""y\\\\z")', ["1", "a b", None, "t", "", 'x"y\\z']),
        ("()", []),
        ("(,)", [None, None]),
        (" (a\\,b) ", ["a,b"]),
    ],
)
def test_parse_record_text(text: str, fields: list) -> None:
    assert rec.parse(text) == fields


def test_record_binary_has_text_fields() -> None:
    data = encode('(1,,"a b")', 2249, BINARY)
    assert data == (
        struct.pack("!i", 3)
        + struct.pack("!Ii", 25, 1)
        + b"1"
        + struct.pack("!Ii", 25, -1)
        + struct.pack("!Ii", 25, 3)
        + b"a b"
    )
    assert decode(data, 2249, BINARY) == '(1,,"a b")'
    assert encode(("x y", None), 2249, TEXT) == b'("x y",)'


def test_malformed_record() -> None:
    with pytest.raises(errors.InvalidTextRepresentation):
        rec.parse("(1,2")
    with pytest.raises(errors.InvalidBinaryRepresentation):
        decode(b"\x00\x00\x00\x02", 2249, BINARY)
