"""What a statement run again does not decide again, on a real SQLite backend (no sockets):
its parameter decoders, translation, RowDescription and row encoder, and its text's parse."""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path
from typing import Any

import pytest

from pgproxy import errors, pgtypes
from pgproxy.backends import from_url
from pgproxy.backends.base import Column
from pgproxy.proxy import Proxy
from pgproxy.results import RowsResult
from pgproxy.router import Router
from pgproxy.session import Session
from pgproxy.types import ISO, Style
from pgproxy.wire import messages as m
from pgproxy.wire.batches import encoder_for
from pgproxy.wire.described import row_description, shape


@pytest.fixture
def session(tmp_path: Path) -> Any:
    proxy = Proxy(Router({"default": from_url(f"sqlite:///{tmp_path / 'app.db'}")}))
    session = Session(proxy, {"user": "alice", "database": "app"},
                      proxy.router.resolve("app"), 1, "test")
    yield session
    asyncio.run(session.close("done"))
    proxy.close()


async def _rows(session: Session, prepared: Any, params: list[Any]) -> list[tuple[Any, ...]]:
    result = await session.execute(prepared, params, ())
    rows: list[tuple[Any, ...]] = []
    try:
        while not result.done:
            rows += (await result.fetch(0)).rows
    finally:
        await result.close()
    return rows


async def _run(session: Session, sql: str) -> None:
    for prepared in await session.split(sql):
        await _rows(session, prepared, [])


def test_a_parse_of_a_text_seen_before_inherits_what_the_last_one_learnt(session):
    async def main() -> None:
        await _run(session, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        await _run(session, "INSERT INTO t VALUES (1, 'one'), (2, 'two')")
        sql = "SELECT name FROM t WHERE id = $1"
        first = await session.prepare(sql, [pgtypes.INT8])
        params = session.decode_params(first, [b"1"], [0])
        assert await _rows(session, first, params) == [("one",)]
        assert first.translated is not None and first.decoders is not None
        again = await session.prepare(sql, [pgtypes.INT8])
        assert again is not first
        assert again.translated is first.translated and again.decoders is first.decoders
        assert await _rows(session, again, session.decode_params(again, [b"2"], [0])) == [
            ("two",)]
        # Other declared types: other decoders, the same translation.
        other = await session.prepare(sql, [pgtypes.TEXT])
        assert other.decoders is None and other.translated is first.translated

    asyncio.run(main())


def test_decoders_follow_the_formats_and_the_datestyle_they_are_bound_with(session):
    async def main() -> None:
        prepared = await session.prepare("SELECT $1::date", [pgtypes.DATE])
        assert session.decode_params(prepared, [b"01/02/2024"], [0]) == [
            datetime.date(2024, 1, 2)]
        kept = prepared.decoders
        binary = (datetime.date(2024, 5, 6) - datetime.date(2000, 1, 1)).days
        assert session.decode_params(prepared, [binary.to_bytes(4, "big")], [1]) == [
            datetime.date(2024, 5, 6)]
        assert prepared.decoders is not kept
        await _run(session, "SET DateStyle = 'ISO, DMY'")
        assert session.decode_params(prepared, [b"01/02/2024"], [0]) == [
            datetime.date(2024, 2, 1)]
        assert session.decode_params(prepared, [None], [0]) == [None]
        with pytest.raises(ValueError):
            session.decode_params(prepared, [b"2024-01-01", b"2024-01-02"], [0])

    asyncio.run(main())


def test_a_new_target_translates_the_statement_anew(session):
    async def main() -> None:
        await _run(session, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
        prepared = await session.prepare("SELECT id FROM t WHERE id = $1", [pgtypes.INT8])
        await _rows(session, prepared, [1])
        target, stmt, generated = prepared.translated
        assert target is session.target() and stmt is prepared.statement
        await _run(session, "SET application_name = 'other'")  # any SET: a new Target object
        await _rows(session, prepared, [1])
        assert prepared.translated[0] is session.target() is not target
        assert prepared.translated[2].sql == generated.sql

    asyncio.run(main())


def test_an_error_inside_a_transaction_block_aborts_it(session):
    async def main() -> None:
        await _run(session, "BEGIN")
        with pytest.raises(errors.PgError):
            await _run(session, "FETCH 1 FROM nowhere")
        assert session.transaction_status == b"E"
        await _run(session, "ROLLBACK")
        assert session.transaction_status == b"I"

    asyncio.run(main())


def test_an_exact_text_is_scanned_once_per_dialect_and_declared_count(session):
    pipeline = session._pipeline
    target = session.target()
    sql = "SELECT name FROM t WHERE id = 7"
    shaped = pipeline.parse_shaped(sql, target, 0, True)
    assert shaped[1] == (7,)
    assert pipeline.parse_shaped(sql, target, 0, True) is shaped
    assert pipeline.parse_shaped(sql, target, 1, False) is not shaped


def _result(columns: list[Column], style: Any = ISO) -> RowsResult:
    return RowsResult("SELECT", columns, [(1, "a")], style=style)


def test_the_wire_keeps_a_statements_row_description_and_encoder_while_they_hold():
    class Statement:
        frontend = None

    prepared = Statement()
    columns = [Column("id", pgtypes.INT8, 8), Column("name", pgtypes.TEXT)]
    description, encode = shape(prepared, _result(columns), [1])
    assert description == row_description(columns, [1, 1])
    assert encode([(1, "a")]) == encoder_for(columns, [1])([(1, "a")])
    memo = prepared.frontend
    # Equal columns (new objects), the same formats and Style: the memo answers.
    same = [Column("id", pgtypes.INT8, 8), Column("name", pgtypes.TEXT)]
    assert shape(prepared, _result(same), [1]) == (description, encode)
    assert prepared.frontend is memo
    # Other formats, other columns, another Style: built anew.
    text, _ = shape(prepared, _result(columns), [])
    assert text == row_description(columns, [0, 0]) != description
    renamed = [Column("id", pgtypes.INT8, 8), Column("label", pgtypes.TEXT)]
    assert b"label" in shape(prepared, _result(renamed), [])[0]
    styled = Style(dates="SQL", order="DMY")
    shape(prepared, _result(renamed, styled), [])
    assert prepared.frontend[2] is styled
    assert m.command_complete("SELECT 2") == b"C\0\0\0\x0dSELECT 2\0"
