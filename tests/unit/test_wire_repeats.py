"""What a request read whole at the wire is (pgproxy/wire/repeats.py): the requests the
cache's hits and the inline reads may answer there, and the ones they must leave alone."""

from __future__ import annotations

import struct

import pytest

from pgproxy.wire import repeats
from tests.fix_wire import SYNC, frame, mutated, parse


def bind(statement: bytes = b"s", portal: bytes = b"") -> bytes:
    body = portal + b"\0" + statement + b"\0" + struct.pack("!HH", 0, 1)
    return frame(b"B", body + struct.pack("!i", 1) + b"7" + struct.pack("!H", 0))


def describe(portal: bytes = b"") -> bytes:
    return frame(b"D", b"P" + portal + b"\0")


def execute(max_rows: int = 0) -> bytes:
    return frame(b"E", b"\0" + struct.pack("!i", max_rows))


def test_a_bind_run_to_its_end_on_the_unnamed_portal():
    for described in (True, False):
        data = bind() + (describe() if described else b"") + execute() + SYNC
        at, end, name_end, describe_ = repeats.recognise(data)
        assert (at, describe_) == (0, described)
        assert data[at + 6 : name_end] == b"s" and data[end:end + 1] in (b"D", b"E")


def test_the_unnamed_statements_parse_before_its_bind():
    head = parse("SELECT 1")
    data = head + bind(b"") + execute() + SYNC
    at, end, name_end, described = repeats.recognise(data)
    assert at == len(head) and data[at:at + 1] == b"B" and name_end == at + 6
    assert data[end:] == execute() + SYNC
    assert not described


def test_a_query_is_one_whole_message():
    query = frame(b"Q", b"SELECT 1\0")
    assert repeats.recognise(query) is repeats.QUERY
    assert repeats.recognise(query + query) is None  # two: the full path takes them in turn
    assert repeats.recognise(query[:-1]) is None


def test_what_the_full_path_must_answer():
    tail = execute() + SYNC
    refused = [
        bind(portal=b"p") + tail,  # a named portal
        bind() + execute(10) + SYNC,  # a row limit
        bind() + execute() + frame(b"H"),  # a Flush, no Sync
        bind() + tail + bind() + tail,  # two requests in one read
        parse("SELECT 1", name=b"n") + bind(b"n") + tail,  # a named statement's Parse
        parse("SELECT 1") + execute() + SYNC,  # a Parse with no Bind after it
        frame(b"S"),
        bind() + tail + b"x" * repeats.MAX_REQUEST,  # too large to be a point read
    ]
    assert [repeats.recognise(data) for data in refused] == [None] * len(refused)
    assert repeats.recognise(bytearray(bind() + tail)) is None  # an assembled buffer


def test_the_first_bytes_of_a_message_are_not_a_request():
    """A read that ends inside a message's header (TCP may cut anywhere) is no request:
    a lone b"Q" is not an empty Query, and a Parse's first five bytes raise nothing."""
    for data in (b"Q", b"Q\0\0\0", parse("SELECT 1")[:5], b"B\0"):
        assert repeats.recognise(data) is None
        assert repeats._recognise(data) is None


def test_the_compiled_reader_reads_as_python_does():
    """pgproxy/wire/_frames.c answers what repeats._recognise answers, on the requests
    above and on 200,000 of them changed (tests.fix_wire.mutated)."""
    compiled = pytest.importorskip(
        "pgproxy.wire._frames", reason="built by pip install when a C compiler is at hand")
    tail = execute() + SYNC
    requests = [
        bind() + describe() + tail, bind() + tail, parse("SELECT 1") + bind(b"") + tail,
        parse("SELECT 1") + bind(b"") + describe() + tail, frame(b"Q", b"SELECT 1\0"),
        bind(portal=b"p") + tail, bind() + execute(10) + SYNC,
    ]
    texts = mutated(requests, 200_000)
    for data in texts:
        assert compiled.recognise(data) == repeats._recognise(data), data
    assert compiled.QUERY is repeats.QUERY
