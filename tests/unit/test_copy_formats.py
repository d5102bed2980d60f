"""COPY statements (dialects/copy.py) and COPY data formats (pgproxy/copy/reader, writer)."""

from __future__ import annotations

import struct

import pytest

import dialects
from dialects.copy import CopyOptions
from pgproxy import errors, pgtypes
from pgproxy.copy.reader import reader_for, unescape
from pgproxy.copy.writer import writer_for

T = pgtypes
COLS = ["a", "b", "c"]
OIDS = [T.INT4, T.TEXT, T.FLOAT8]


def spec(sql: str):
    return dialects.parse(sql)[0].copy


# ---------------------------------------------------------------- statements


@pytest.mark.parametrize(
    ("sql", "expect"),
    [
        ("COPY t FROM STDIN", dict(is_from=True, table=("t",), format="text")),
        ('COPY public."T" (a, "B") FROM stdin', dict(table=("public", "T"), columns=("a", "B"))),
        ("COPY t FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER ';', NULL 'x')",
         dict(format="csv", header=True, delimiter=";", null="x")),
        ("COPY t FROM STDIN CSV HEADER QUOTE AS '''' FORCE NOT NULL a, b",
         dict(format="csv", header=True, quote="'", escape="'", force_not_null=("a", "b"))),
        ("COPY t TO STDOUT CSV FORCE QUOTE *", dict(is_from=False, force_quote=("*",))),
        ("COPY t TO STDOUT (FORMAT csv, FORCE_QUOTE (a))", dict(force_quote=("a",))),
        ("COPY t FROM STDIN BINARY", dict(format="binary")),
        ("COPY BINARY t TO STDOUT", dict(format="binary")),
        ("COPY t FROM STDIN USING DELIMITERS '|' WITH NULL AS ''", dict(delimiter="|", null="")),
        ("COPY t FROM STDIN (FORMAT csv, FREEZE, ENCODING 'LATIN1')",
         dict(freeze=True, encoding="latin-1")),
        ("COPY (SELECT a FROM t WHERE (a > 1)) TO STDOUT",
         dict(query="SELECT a FROM t WHERE (a > 1)", table=())),
        ("COPY t FROM STDIN (HEADER match, FORMAT csv)", dict(header=True, header_match=True)),
        ("copy pgbench_accounts from stdin with (freeze on)", dict(freeze=True)),
    ],
)
def test_copy_statements(sql, expect):
    s = spec(sql)
    for key, value in expect.items():
        assert getattr(s if hasattr(s, key) else s.options, key) == value, key


def test_copy_from_is_a_write_and_copy_to_a_read():
    into = dialects.parse("COPY public.t FROM STDIN")[0]
    assert into.kind is dialects.Kind.INSERT and into.tables_written == {"public.t", "t"}
    out = dialects.parse("COPY (SELECT * FROM x JOIN y ON true) TO STDOUT")[0]
    assert out.kind is dialects.Kind.OTHER and {"x", "y"} <= out.tables_read
    assert into.tag == out.tag == "COPY"


@pytest.mark.parametrize(
    ("sql", "sqlstate"),
    [
        ("COPY t FROM '/etc/passwd'", "42501"),
        ("COPY t TO '/tmp/x'", "42501"),
        ("COPY t FROM PROGRAM 'id'", "42501"),
        ("COPY t FROM STDIN (FORMAT xml)", "22023"),
        ("COPY t FROM STDIN (FORMAT csv, FORMAT text)", "42601"),
        ("COPY t FROM STDIN (DELIMITER 'ab')", "0A000"),
        ("COPY t FROM STDIN (DELIMITER 'a')", "22023"),
        ("COPY t FROM STDIN (QUOTE 'x')", "0A000"),
        ("COPY t TO STDOUT (FORMAT csv, FORCE_NOT_NULL (a))", "0A000"),
        ("COPY t FROM STDIN (FORMAT csv, FORCE_QUOTE (a))", "0A000"),
        ("COPY t FROM STDIN (FORMAT binary, DELIMITER ',')", "42601"),
        ("COPY t FROM STDIN (FORMAT csv, NULL ',')", "0A000"),
        ("COPY t FROM STDIN (bogus)", "42601"),
        ("COPY (SELECT 1) FROM STDIN", "42601"),
        ("COPY t FROM STDOUT", "42601"),
        ("COPY t FROM STDIN (ENCODING 'klingon')", "22023"),
    ],
)
def test_copy_statements_refused(sql, sqlstate):
    with pytest.raises(dialects.TranslationError) as caught:
        dialects.parse(sql)
    assert caught.value.sqlstate == sqlstate


# ---------------------------------------------------------------- reading


TEXT_OPTIONS = CopyOptions()


def read(data: bytes | list[bytes], options: CopyOptions = TEXT_OPTIONS, oids=OIDS, cols=COLS):
    reader = reader_for(options, "t", cols, oids)
    rows = []
    for piece in [data] if isinstance(data, bytes) else data:
        rows += reader.feed(piece)
    return rows + reader.finish()


def test_text_escapes_nulls_and_pieces_split_anywhere():
    data = b"1\thello\t1.5\n2\t\\N\t-2\n3\ta\\tb\\\\c\\nd\\x41\\101\t3e2\n4\t\\\\N\t4\n5\t\t5"
    expect = [(1, "hello", 1.5), (2, None, -2.0), (3, "a\tb\\c\ndAA", 300.0), (4, "\\N", 4.0),
              (5, "", 5.0)]
    assert read(data) == expect
    assert read([data[i : i + 3] for i in range(0, len(data), 3)]) == expect


def test_text_backslash_newline_crlf_end_marker_and_escaped_delimiter():
    assert read(b"1\ta\\\nb\t1\n") == [(1, "a\nb", 1.0)]
    assert read(b"1\ta\\\tb\t1\n") == [(1, "a\tb", 1.0)]
    assert read(b"1\ta\t1\r\n2\tb\t2\r\n") == [(1, "a", 1.0), (2, "b", 2.0)]
    assert read(b"1\ta\t1\n\\.\nignored\n") == [(1, "a", 1.0)]
    assert unescape(b"\\b\\f\\v\\q") == b"\b\f\vq"


def test_csv_quotes_nulls_and_multiline_records():
    opts = CopyOptions(format="csv", delimiter=",", null="")
    data = b'1,"say ""hi""",1\n2,,2\n3,"",3\n4,"two\nlines, yes",4\n5,"a,b"c,5\n'
    expect = [(1, 'say "hi"', 1.0), (2, None, 2.0), (3, "", 3.0), (4, "two\nlines, yes", 4.0),
              (5, "a,bc", 5.0)]
    assert read(data, opts) == expect
    assert read([data[i : i + 4] for i in range(0, len(data), 4)], opts) == expect


def test_csv_header_escape_and_force_options():
    opts = CopyOptions(format="csv", delimiter=",", null="NULL", header=True, escape="\\",
                       force_not_null=("b",), force_null=("c",))
    data = b'a,b,c\n1,NULL,"NULL"\n2,"x\\"y",1\n'
    assert read(data, opts, [T.INT4, T.TEXT, T.TEXT]) == [(1, "NULL", None), (2, 'x"y', "1")]


@pytest.mark.parametrize(
    ("data", "options", "sqlstate", "message", "context"),
    [
        (b"1\ta\t1\n2\tb\n", CopyOptions(), "22P04", 'missing data for column "c"',
         'COPY t, line 2: "2\tb"'),
        (b"1\ta\t1\tx\n", CopyOptions(), "22P04", "extra data after last expected column",
         'COPY t, line 1: "1\ta\t1\tx"'),
        (b"1\ta\t1\nzz\tb\t2\n", CopyOptions(), "22P02",
         'invalid input syntax for type integer: "zz"', 'COPY t, line 2, column a: "zz"'),
        (b"99999999999\ta\t1\n", CopyOptions(), "22003",
         'value "99999999999" is out of range for type integer',
         'COPY t, line 1, column a: "99999999999"'),
        (b"1\t\xff\t1\n", CopyOptions(), "22P02", None, None),
        (b"1\ta\r\t1\n", CopyOptions(), "22P04", "literal carriage return found in data",
         "COPY t, line 1"),
        (b'1,"open\n', CopyOptions(format="csv", delimiter=",", null=""), "22P04",
         "unterminated CSV quoted field", 'COPY t, line 2: "1,"open\n"'),
    ],
)
def test_bad_input_errors(data, options, sqlstate, message, context):
    with pytest.raises(errors.PgError) as caught:
        read(data, options)
    err = caught.value
    assert err.sqlstate[:2] == sqlstate[:2]
    if message is not None:
        assert (err.sqlstate, err.message, err.context) == (sqlstate, message, context)


def binary(*rows: tuple[bytes | None, ...], trailer: bool = True) -> bytes:
    out = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
    for row in rows:
        out += struct.pack("!h", len(row))
        for v in row:
            out += struct.pack("!i", -1) if v is None else struct.pack("!i", len(v)) + v
    return out + (struct.pack("!h", -1) if trailer else b"")


def test_binary_rows_in_any_pieces():
    data = binary(
        (struct.pack("!i", 7), b"abc", struct.pack("!d", 2.5)), (b"\0\0\0\x08", None, None)
    )
    opts = CopyOptions(format="binary")
    expect = [(7, "abc", 2.5), (8, None, None)]
    assert read(data, opts) == expect
    assert read([data[i : i + 5] for i in range(0, len(data), 5)], opts) == expect


def test_binary_errors():
    opts = CopyOptions(format="binary")
    with pytest.raises(errors.BadCopyFileFormat, match="signature"):
        read(b"PGCOPX\n\xff\r\n\x00" + bytes(8), opts)
    with pytest.raises(errors.BadCopyFileFormat, match="row field count is 1, expected 3"):
        read(binary((b"\0\0\0\x01",)), opts)
    with pytest.raises(errors.InvalidBinaryRepresentation) as caught:
        read(binary((b"\0\0\x01", b"a", None)), opts)
    assert caught.value.context == "COPY t, line 1, column a"
    with pytest.raises(errors.BadCopyFileFormat, match="unexpected EOF"):
        read(binary((b"\0\0\0\x01", b"a", None), trailer=False)[:-3], opts)


# ---------------------------------------------------------------- writing


def frames(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        assert data[pos : pos + 1] == b"d"
        (n,) = struct.unpack_from("!i", data, pos + 1)
        out.append(data[pos + 5 : pos + 1 + n])
        pos += 1 + n
    return out


ROWS = [(1, "a\tb\\c\nd", 1.5), (2, None, None), (3, "", -0.25), (4, 'q"u,o', 1e20)]


def test_text_writer_escapes_one_row_per_message():
    w = writer_for(CopyOptions(), COLS, OIDS)
    assert w.start() == b""
    assert frames(w.rows(ROWS)) == [
        b"1\ta\\tb\\\\c\\nd\t1.5\n", b"2\t\\N\t\\N\n", b"3\t\t-0.25\n", b'4\tq"u,o\t1e+20\n',
    ]


def test_csv_writer_quotes_where_needed_and_forced():
    w = writer_for(CopyOptions(format="csv", delimiter=",", null="", header=True,
                               force_quote=("c",)), COLS, OIDS)
    assert frames(w.start()) == [b"a,b,c\n"]
    assert frames(w.rows(ROWS)) == [
        b'1,"a\tb\\c\nd","1.5"\n', b"2,,\n", b'3,"","-0.25"\n', b'4,"q""u,o","1e+20"\n',
    ]


def test_binary_writer_header_with_first_row_and_trailer():
    w = writer_for(CopyOptions(format="binary"), COLS, OIDS)
    first, *rest = frames(w.rows(ROWS[:2]))
    assert first.startswith(b"PGCOPY\n\xff\r\n\x00" + bytes(8) + b"\0\x03\0\0\0\x04\0\0\0\x01")
    assert rest == [b"\0\x03\0\0\0\x04\0\0\0\x02" + b"\xff\xff\xff\xff" * 2]
    assert frames(w.end()) == [b"\xff\xff"]
    # what it writes, the reader reads back
    again = writer_for(CopyOptions(format="binary"), COLS, OIDS)
    data = b"".join(frames(again.rows(ROWS))) + b"".join(frames(again.end()))
    assert read(data, CopyOptions(format="binary")) == ROWS


def test_binary_integers_and_floats_of_any_width():
    """psycopg dumps a small int as int2 without set_types; SQLite's rowid column is int8."""
    opts = CopyOptions(format="binary")
    data = binary((b"\0\x07", b"x", struct.pack("!f", 0.5)), (struct.pack("!q", 9), None, None))
    assert read(data, opts) == [(7, "x", 0.5), (9, None, None)]
    with pytest.raises(errors.PgError):
        read(binary((struct.pack("!q", 1 << 40), None, None)), opts)


def test_header_match_and_encoding():
    match = CopyOptions(format="csv", delimiter=",", null="", header=True, header_match=True)
    assert read(b"a,b,c\n1,x,2\n", match) == [(1, "x", 2.0)]
    with pytest.raises(errors.BadCopyFileFormat) as caught:
        read(b"a,B,c\n1,x,2\n", match)
    assert caught.value.message == (
        'column name mismatch in header line field 2: got "B", expected "b"'
    )
    latin1 = CopyOptions(encoding="latin-1")
    assert read(b"1\tcaf\xe9\t1\n", latin1) == [(1, "café", 1.0)]


def test_crlf_input_may_end_without_a_newline():
    assert read(b"1\ta\t1\r\n2\tb\t2") == [(1, "a", 1.0), (2, "b", 2.0)]
    with pytest.raises(errors.BadCopyFileFormat, match="literal newline"):
        read(b"1\ta\t1\r\n2\tb\t2\n3\tc\t3\r\n")


def test_writer_encoding():
    w = writer_for(CopyOptions(encoding="latin-1"), COLS, OIDS)
    assert frames(w.rows([(1, "café", 1.0)])) == [b"1\tcaf\xe9\t1\n"]
    with pytest.raises(errors.PgError) as caught:
        w.rows([(2, "✓", 2.0)])
    assert caught.value.sqlstate == "22P05"


@pytest.mark.parametrize(
    ("escape", "record", "fields"),
    [
        ('"', b'a,"b,c","d""e",,""', [(b"a", False), (b"b,c", True), (b'd"e', True),
                                      (b"", False), (b"", True)]),
        ('"', b'x"y"z,"multi\nline"', [(b"xyz", True), (b"multi\nline", True)]),
        ("\\", b'"a\\"b","c\\\\d","e\\xf",g\\h', [(b'a"b', True), (b"c\\d", True),
                                                  (b"e\\xf", True), (b"g\\h", False)]),
        ('"', b'"open,1', None),
        ("\\", b'"a\\"', None),
    ],
)
def test_csv_split_rules(escape, record, fields):
    reader = reader_for(CopyOptions(format="csv", delimiter=",", null="", escape=escape),
                        "t", COLS, OIDS)
    assert reader._split(record) == fields
