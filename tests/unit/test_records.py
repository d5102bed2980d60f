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


def test_composite_text_parameter_is_checked() -> None:
    codec = rec.typed_codec(99999, [23, 25])
    assert codec.text_decode(b'(1,"a b")') == '(1,"a b")'
    assert codec.text_decode(b"(,)") == "(,)"
    with pytest.raises(errors.InvalidTextRepresentation, match="malformed record"):
        codec.text_decode(b"(1)")
    with pytest.raises(errors.InvalidTextRepresentation, match="integer"):
        codec.text_decode(b"(x,y)")
    binary = codec.binary_encode('(7,"a b")')
    assert binary == (
        struct.pack("!i", 2)
        + struct.pack("!Ii", 23, 4)
        + struct.pack("!i", 7)
        + struct.pack("!Ii", 25, 3)
        + b"a b"
    )
    assert codec.binary_decode(binary) == '(7,"a b")'


def test_field_of_a_composite_parameter() -> None:
    (statement,) = parse('SELECT ($1).bar, ($1)."Q"')
    generated = generate(statement, SQLITE)
    assert generated.params == ("field:0:bar", "field:0:Q")
    assert generated.sql == 'SELECT ? AS "bar", ? AS "Q"'
    rec.FIELDS[99998] = (("foo", "bar", "Q"), (25, 20, 701))
    assert rec.field_value(99998, "(x,42,)", "bar") == 42
    assert rec.field_value(99998, "(x,42,)", "Q") is None
    with pytest.raises(errors.UndefinedColumn):
        rec.field_value(99998, "(x,42,)", "nope")
