"""The sans-I/O protocol codec, tested with byte literals."""

import struct

import pytest

from pgproxy import errors
from pgproxy.wire import messages as m
from tests.fix_wire import mutated


def frame(mtype: bytes, body: bytes) -> bytes:
    return mtype + struct.pack("!i", len(body) + 4) + body


def test_startup_packet_parses_parameters():
    body = struct.pack("!i", m.PROTOCOL_3_0) + b"user\0alice\0database\0app/feature-x\0\0"
    reader = m.FrameReader()
    reader.feed(struct.pack("!i", len(body) + 4) + body)
    mtype, got = reader.next()
    assert mtype == b""
    startup = m.parse_startup(got)
    assert startup.code == m.PROTOCOL_3_0
    assert startup.params == {"user": "alice", "database": "app/feature-x"}


def test_ssl_and_cancel_requests():
    assert m.parse_startup(struct.pack("!i", m.SSL_REQUEST)).code == m.SSL_REQUEST
    cancel = m.parse_startup(struct.pack("!iii", m.CANCEL_REQUEST, 10001, 42))
    assert (cancel.cancel_pid, cancel.cancel_secret) == (10001, 42)


def test_reader_waits_for_whole_messages_split_anywhere():
    data = frame(b"Q", b"select 1\0") + frame(b"S", b"")
    reader = m.FrameReader()
    reader.startup = False
    got = []
    for i in range(len(data)):
        reader.feed(data[i : i + 1])
        while (msg := reader.next()) is not None:
            got.append(msg)
    assert got == [(b"Q", b"select 1\0"), (b"S", b"")]


@pytest.mark.parametrize("length", [-5, 0, 3, (1 << 30) + 1])
def test_absurd_length_prefix_is_a_protocol_violation(length):
    reader = m.FrameReader()
    reader.startup = False
    reader.feed(b"Q" + struct.pack("!i", length))
    with pytest.raises(errors.ProtocolViolation) as info:
        reader.next()
    assert info.value.sqlstate == "08P01"


def test_startup_length_bounds():
    reader = m.FrameReader()
    reader.feed(struct.pack("!i", 1 << 20))
    with pytest.raises(errors.ProtocolViolation):
        reader.next()


def test_parse_bind_execute_describe_close():
    p = m.parse_parse(b"s1\0select $1::int\0" + struct.pack("!hi", 1, 23))
    assert (p.name, p.query, p.param_types) == ("s1", "select $1::int", [23])
    body = (
        b"portal\0s1\0"
        + struct.pack("!hh", 1, 1)  # one param format: binary
        + struct.pack("!h", 2)
        + struct.pack("!i", 4)
        + b"\0\0\0\x07"
        + struct.pack("!i", -1)
        + struct.pack("!hh", 1, 0)
    )
    b = m.parse_bind(body)
    assert b.portal == "portal" and b.statement == "s1"
    assert b.param_formats == [1] and b.params == [b"\0\0\0\x07", None]
    assert b.result_formats == [0]
    assert m.parse_execute(b"portal\0" + struct.pack("!i", 10)) == ("portal", 10)
    assert m.parse_describe_or_close(b"Ss1\0") == (b"S", "s1")
    with pytest.raises(errors.ProtocolViolation):
        m.parse_describe_or_close(b"Xs1\0")


def test_unnamed_forms_read_in_place_as_the_named_ones():
    # Most messages name the unnamed statement and portal: read without a cursor object.
    assert m.parse_parse(b"\0select 1\0" + struct.pack("!h", 0)) == m.Parse("", "select 1", [])
    p = m.parse_parse(b"\0select $1, $2\0" + struct.pack("!hii", 2, 20, -1))
    assert p.param_types == [20, -1]
    b = m.parse_bind(b"\0\0" + struct.pack("!hhh", 0, 0, 1) + struct.pack("!h", 1))
    assert (b.portal, b.statement, b.params, b.result_formats) == ("", "", [], [1])
    assert m.parse_execute(b"\0" + struct.pack("!i", 0)) == ("", 0)
    assert m.parse_describe_or_close(b"P\0") == (b"P", "")
    assert m.parse_describe_or_close(b"S\0") == (b"S", "")
    assert m.command_complete("SELECT 1") is m.command_complete("SELECT 1")


@pytest.mark.parametrize(
    ("parse", "body"),
    [
        pytest.param(m.parse_parse, b"\0select 1", id="parse-unterminated-query"),
        pytest.param(m.parse_parse, b"\0select 1\0\0", id="parse-no-type-count"),
        pytest.param(m.parse_parse, b"s", id="parse-unterminated-name"),
        pytest.param(m.parse_execute, b"\0\0\0", id="execute-short"),
        pytest.param(m.parse_describe_or_close, b"X\0", id="describe-bad-kind"),
        pytest.param(m.parse_describe_or_close, b"P", id="describe-unterminated"),
    ],
)
def test_malformed_unnamed_forms_are_protocol_violations(parse, body):
    with pytest.raises(errors.ProtocolViolation):
        parse(body)


def test_truncated_bind_is_a_protocol_violation():
    with pytest.raises(errors.ProtocolViolation):
        m.parse_bind(b"p\0s\0" + struct.pack("!hh", 1, 0) + struct.pack("!h", 1) + b"\0\0\0\x10ab")


def test_format_code_expansion():
    assert m.formats_for([], 3) == [0, 0, 0]
    assert m.formats_for([1], 2) == [1, 1]
    assert m.formats_for([0, 1], 2) == [0, 1]
    with pytest.raises(errors.ProtocolViolation):
        m.formats_for([0, 1], 3)


def test_backend_messages_bytes():
    assert m.AUTH_OK == b"R\0\0\0\x08\0\0\0\0"
    assert m.READY_IDLE == b"Z\0\0\0\x05I"
    assert m.command_complete("SELECT 1") == b"C\0\0\0\x0dSELECT 1\0"
    assert m.parameter_status("a", "b") == b"S\0\0\0\x08a\0b\0"
    assert m.backend_key_data(1, 2) == b"K\0\0\0\x0c\0\0\0\x01\0\0\0\x02"
    assert m.data_row([b"1", None]) == b"D\0\0\0\x0f\0\x02\0\0\0\x011\xff\xff\xff\xff"
    assert m.parameter_description([23]) == b"t\0\0\0\x0a\0\x01\0\0\0\x17"
    rd = m.row_description([("id", 0, 0, 23, 4, -1)], [0])
    assert rd == b"T\0\0\0\x1b\0\x01id\0" + struct.pack("!iHihih", 0, 0, 23, 4, -1, 0)


def test_error_response_fields_in_order():
    err = errors.UndefinedTable('relation "nope" does not exist')
    out = m.error_response(err.fields())
    assert out.startswith(b"E")
    assert b"SERROR\0VERROR\0C42P01\0Mrelation \"nope\" does not exist\0\0" in out


# ---------------------------------------------------------------- hostile input (issue 8)


def _reader() -> m.FrameReader:
    reader = m.FrameReader()
    reader.startup = False
    return reader


def test_a_large_message_is_assembled_in_its_own_buffer_as_bytes_arrive():
    body = bytes(range(256)) * ((m.LARGE_BODY // 256) + 3)
    data = frame(b"Q", body) + frame(b"S", b"")
    reader = _reader()
    got = []
    for i in range(0, len(data), 65536):
        reader.feed(data[i : i + 65536])
        while (msg := reader.next()) is not None:
            got.append(msg)
        # Only what follows the large message counts as pending input.
        assert reader.pending() < 65536 + 5
    assert [t for t, _ in got] == [b"Q", b"S"]
    assert bytes(got[0][1]) == body


def test_a_length_claim_allocates_nothing_before_its_bytes_arrive():
    reader = _reader()
    reader.feed(b"Q" + struct.pack("!i", m.MAX_MESSAGE) + b"x" * 100)
    assert reader.next() is None
    assert reader.pending() == 0  # the 100 bytes moved into the message's own buffer


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"S" + struct.pack("!i", m.MAX_SMALL + 1), id="sync-over-10000"),
        pytest.param(b"p" + struct.pack("!i", m.MAX_AUTH + 1), id="password-over-64k"),
        pytest.param(b"Q" + struct.pack("!i", m.MAX_MESSAGE + 1), id="query-over-1GB"),
        pytest.param(b"Z" + struct.pack("!i", 4), id="backend-type"),
    ],
)
def test_a_length_past_the_type_limit_is_refused_from_the_header(head):
    reader = _reader()
    reader.feed(head)
    with pytest.raises(errors.ProtocolViolation):
        reader.next()


def test_invalid_utf8_in_message_strings_is_22021():
    with pytest.raises(errors.CharacterNotInRepertoire) as info:
        m.parse_query(b"select '\xc3\x28'\0")
    assert info.value.message == 'invalid byte sequence for encoding "UTF8": 0xc3 0x28'
    with pytest.raises(errors.CharacterNotInRepertoire):
        m.parse_parse(b"\xff\0select 1\0\0\0")
    with pytest.raises(errors.CharacterNotInRepertoire):
        m.parse_bind(b"\xe2\x82\0\0" + struct.pack("!hhh", 0, 0, 0))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\0select $1\0" + struct.pack("!H", 65535), id="parse-65535-types-none-sent"),
    ],
)
def test_parse_counts_are_checked_against_the_bytes_left(body):
    with pytest.raises(errors.ProtocolViolation):
        m.parse_parse(body)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\0\0" + struct.pack("!HH", 0, 65535), id="65535-values-none-sent"),
        pytest.param(b"\0\0" + struct.pack("!H", 65535), id="65535-formats-none-sent"),
        pytest.param(b"\0\0" + struct.pack("!HHi", 0, 1, 1 << 30), id="value-longer-than-body"),
        pytest.param(b"\0\0" + struct.pack("!HHiH", 0, 1, -2, 0), id="negative-length"),
        pytest.param(b"\0\0" + struct.pack("!HHH", 0, 0, 0) + b"extra", id="trailing-bytes"),
    ],
)
def test_bind_counts_and_lengths_are_checked_before_use(body):
    with pytest.raises(errors.ProtocolViolation):
        m.parse_bind(body)


def test_bind_format_codes_other_than_0_and_1_are_22023():
    body = b"\0\0" + struct.pack("!HhHH", 1, 2, 0, 0)
    with pytest.raises(errors.InvalidParameterValue):
        m.parse_bind(body)


def test_bind_reads_a_large_bytearray_body_into_bytes_values():
    value = b"v" * 100
    body = bytearray(b"\0\0" + struct.pack("!HHi", 0, 1, len(value)) + value + b"\0\0")
    assert m.parse_bind(body).params == [value]
    assert type(m.parse_bind(body).params[0]) is bytes


def test_parameter_description_counts_up_to_65535():
    msg = m.parameter_description([25] * 40000)
    assert struct.unpack_from("!H", msg, 5) == (40000,)


def test_startup_values_in_another_encoding_are_kept_leniently():
    body = struct.pack("!i", m.PROTOCOL_3_0) + b"user\0alice\0application_name\0caf\xe9\0\0"
    assert m.parse_startup(body).params["application_name"] == "caf\ufffd"


def test_the_compiled_bind_reader_reads_as_python_does():
    """pgproxy/wire/_frames.c's parse_bind gives the Bind messages._parse_bind gives, or
    its very error, on well-formed Binds and on 100,000 of them changed
    (tests.fix_wire.mutated)."""
    pytest.importorskip(
        "pgproxy.wire._frames", reason="built by pip install when a C compiler is at hand")
    assert m.parse_bind is not m._parse_bind

    def outcome(parse, body):
        try:
            return parse(body)
        except errors.PgError as exc:
            return type(exc), str(exc)

    bodies = [
        b"\0_pg3_0\0" + struct.pack("!HhH", 1, 1, 1) + struct.pack("!ii", 4, 12345)
        + struct.pack("!Hh", 1, 1),
        b"p\0s\0" + struct.pack("!HhhH", 2, 0, 1, 3) + struct.pack("!i", 2) + b"ab"
        + struct.pack("!i", -1) + struct.pack("!i", 0) + struct.pack("!Hhh", 2, 0, 1),
        "pörtal\0stmt\0".encode() + struct.pack("!HH", 0, 1) + struct.pack("!i", 3) + b"xyz"
        + struct.pack("!H", 0),
        b"\0\0" + struct.pack("!HHH", 0, 0, 0),
    ]
    cases = mutated(bodies, 100_000)
    for body in cases:
        assert outcome(m.parse_bind, body) == outcome(m._parse_bind, body), body
