"""Codec decoders under hostile client bytes: a SQLSTATE for all, nothing sized by a claim."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgproxy import errors
from pgproxy import pgtypes as t
from pgproxy.types import BINARY, CODECS, TEXT, decode

TEXT_TYPES = [
    t.INT2,
    t.INT4,
    t.INT8,
    t.NUMERIC,
    t.FLOAT8,
    t.DATE,
    t.TIME,
    t.TIMETZ,
    t.TIMESTAMP,
    t.TIMESTAMPTZ,
    t.INTERVAL,
    t.UUID,
    t.BOOL,
    t.INT4_ARRAY,
    t.NUMERIC_ARRAY,
    t.TEXT,
    t.JSON,
    t.OID,
]


@pytest.mark.parametrize("oid", TEXT_TYPES)
def test_invalid_utf8_is_22021_for_every_type(oid):
    with pytest.raises(errors.CharacterNotInRepertoire) as info:
        decode(b"1\xc3\x28", oid, TEXT)
    assert info.value.message == 'invalid byte sequence for encoding "UTF8": 0xc3 0x28'


def test_nul_in_text_is_22021():
    with pytest.raises(errors.CharacterNotInRepertoire) as info:
        decode(b"a\0b", t.TEXT, TEXT)
    assert info.value.message.endswith(": 0x00")


def _array(ndim: int, dims: list[int], flags: int = 0, items: bytes = b"") -> bytes:
    head = struct.pack("!iii", ndim, flags, t.INT4)
    return head + b"".join(struct.pack("!ii", d, 1) for d in dims) + items


def test_binary_array_with_a_zero_dimension_is_empty():
    assert decode(_array(2, [0, 3]), t.INT4_ARRAY, BINARY) == []
    assert decode(_array(2, [3, 0]), t.INT4_ARRAY, BINARY) == []


@pytest.mark.parametrize(
    ("value", "error"),
    [
        pytest.param(_array(7, [1] * 7), errors.ProgramLimitExceeded, id="seven-dims"),
        pytest.param(_array(-1, []), errors.InvalidBinaryRepresentation, id="negative-ndim"),
        pytest.param(_array(1, [-1]), errors.ProgramLimitExceeded, id="negative-dim"),
        pytest.param(_array(2, [2**20, 2**20]), errors.ProgramLimitExceeded, id="2^40-items"),
        pytest.param(_array(1, [2**26]), errors.InvalidBinaryRepresentation, id="items-missing"),
        pytest.param(_array(1, [1], flags=7), errors.InvalidBinaryRepresentation, id="flags"),
        pytest.param(
            _array(1, [1], items=struct.pack("!i", -5)),
            errors.InvalidBinaryRepresentation,
            id="negative-item-length",
        ),
        pytest.param(
            _array(1, [1], items=struct.pack("!i", 2) + b"\0\0"),
            errors.InvalidBinaryRepresentation,
            id="item-of-wrong-size",
        ),
        pytest.param(_array(3, [2]), errors.InvalidBinaryRepresentation, id="dims-missing"),
    ],
)
def test_binary_array_claims_are_checked_before_anything_is_sized(value, error):
    with pytest.raises(error):
        decode(value, t.INT4_ARRAY, BINARY)


def test_array_literals_ragged_or_too_deep():
    with pytest.raises(errors.InvalidTextRepresentation) as info:
        decode(b"{{1},{2,3}}", t.NUMERIC_ARRAY, TEXT)
    assert info.value.detail.startswith("Multidimensional arrays must have sub-arrays")
    with pytest.raises(errors.InvalidTextRepresentation):
        decode(b"{{1},2}", t.INT4_ARRAY, TEXT)
    with pytest.raises(errors.ProgramLimitExceeded) as deep:
        decode(b"{" * 1001 + b"1" + b"}" * 1001, t.INT4_ARRAY, TEXT)
    assert deep.value.message == "number of array dimensions (7) exceeds the maximum allowed (6)"
    assert decode(b"{" * 6 + b"1" + b"}" * 6, t.INT4_ARRAY, TEXT) == [[[[[[1]]]]]]


@pytest.mark.parametrize(
    ("value", "fmt"),
    [
        (b"99999999999 years", TEXT),
        (b"2147483648 days", TEXT),
        (b"9" * 200 + b" hours", TEXT),
        (b"P99999999999Y", TEXT),
        (struct.pack("!qii", 0, 2**31 - 1, 0), BINARY),
        (struct.pack("!qii", 0, 0, 2**31 - 1), BINARY),
    ],
)
def test_interval_out_of_range_is_22015(value, fmt):
    with pytest.raises(errors.PgError) as info:
        decode(value, t.INTERVAL, fmt)
    assert info.value.sqlstate == "22015"


@pytest.mark.parametrize(
    "value", [b"1e1001", b"1e-1001", b"1e99999999999", b"0." + b"0" * 16383 + b"1"]
)
def test_numeric_beyond_postgresql_limits_is_22003(value):
    with pytest.raises(errors.NumericValueOutOfRange):
        decode(value, t.NUMERIC, TEXT)


def test_over_long_datetime_text_is_refused_without_parsing():
    for oid in (t.DATE, t.TIME, t.TIMESTAMP, t.TIMESTAMPTZ, t.INTERVAL):
        with pytest.raises(errors.InvalidDatetimeFormat):
            decode(b"1" + b" " * 100_000 + b"1", oid, TEXT)


def test_timetz_binary_offset_beyond_16_hours_is_22P03():
    with pytest.raises(errors.InvalidBinaryRepresentation):
        decode(struct.pack("!qi", 0, 16 * 3600), t.TIMETZ, BINARY)


@settings(max_examples=3000, derandomize=True, database=None, deadline=None)
@given(
    oid=st.sampled_from(sorted(CODECS)),
    fmt=st.sampled_from([TEXT, BINARY]),
    data=st.one_of(
        st.binary(max_size=64),
        st.text(max_size=40).map(str.encode),
        st.lists(
            st.sampled_from(
                [
                    b"{",
                    b"}",
                    b",",
                    b"1",
                    b'"',
                    b"\\",
                    b"NULL",
                    b" ",
                    b"e",
                    b"9" * 20,
                    b"-",
                    b":",
                    b"P",
                    b"Y",
                    b"year",
                    b".",
                    b"\xff",
                ]
            ),
            max_size=30,
        ).map(b"".join),
    ),
)
def test_every_decoder_returns_or_raises_a_sqlstate(oid, fmt, data):
    try:
        decode(data, oid, fmt)
    except errors.PgError as exc:
        assert exc.sqlstate != "XX000"


def test_binary_numeric_scale_past_16383_is_22P03():
    with pytest.raises(errors.InvalidBinaryRepresentation):
        decode(struct.pack("!hhHH", 0, 0, 0, 16384), t.NUMERIC, BINARY)
