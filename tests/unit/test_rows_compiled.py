"""The compiled DataRow encoder (pgproxy/types/_rows.c) against the generated Python one:
the same bytes for every kind and format, the same errors, and the batches it leaves
to Python (rows not in a list or tuple, rows of another shape) still encoded."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from pgproxy import errors, pgtypes
from pgproxy.types import rows as rows_module
from pgproxy.types.rows import row_encoder

pytestmark = pytest.mark.skipif(
    rows_module._compiled is None,
    reason="the C encoder was not built by this install (no compiler or Python headers)")

COLUMNS = [pgtypes.INT2, pgtypes.INT4, pgtypes.INT8, pgtypes.TEXT, pgtypes.VARCHAR,
           pgtypes.FLOAT8, pgtypes.TIMESTAMP, pgtypes.DATE, pgtypes.BOOL, pgtypes.NUMERIC,
           pgtypes.JSON, pgtypes.BYTEA, pgtypes.FLOAT4, pgtypes.OID]


class Stamp(datetime):
    """A datetime subclass (a driver's own type): never a fast path's."""


class Day(date):
    """A date subclass."""


def _values(oid: int, rng: random.Random) -> list[object]:
    """Values a backend hands over for a column of `oid`: its usual Python type at the
    edges of the fast paths, and the other types the encoders convert."""
    common: list[object] = [None, "12", True, False]
    if oid in (pgtypes.INT2, pgtypes.INT4, pgtypes.INT8, pgtypes.OID):
        edges = [0, -1, 1, 32767, -32768, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63), 2**64,
                 rng.randint(-(10**6), 10**6), 7.0, Decimal("12")]
        return [*common, *edges]
    if oid in (pgtypes.FLOAT8, pgtypes.FLOAT4):
        edges = [0.0, -0.0, 1.0, 0.1, 1e15 - 1, -1e15 + 1, 1e15, 1e-7, 123.456e10, math.inf,
                 -math.inf, math.nan, rng.uniform(-1e9, 1e9), 5, Decimal("1.5")]
        return [*common, *edges]
    if oid == pgtypes.TIMESTAMP:
        texts = ["2024-01-02 03:04:05", "2024-01-02 03:04:05.5", "2024-01-02 03:04:05.123456",
                 "2024-01-02 03:04:05.120", "2024-01-02 03:04:05.", "2024-01-02T03:04:05",
                 "2024-01-02 03:04:05.\u0663", "2024-01-02 03:04:05.1234567",
                 "2024-01-02 03:04:05.12", "2024-01-02 03:04:05.1234", "2024-01-02 03:04:05.12345",
                 "2023-02-29 00:00:00", "2024-02-29 00:00:00", "1900-02-29 00:00:00",
                 "2000-02-29 12:00:00", "0000-01-01 00:00:00", "0001-01-01 00:00:00",
                 "9999-12-31 23:59:59.999999", "1999-12-31 23:59:59.999999",
                 "1970-01-01 00:00:00", "1969-12-31 23:59:59.5", "2024-13-01 00:00:00",
                 "2024-01-32 00:00:00", "2024-01-01 24:00:00", "2024-01-01 23:60:00",
                 "2024-01-01 23:59:60", "2024-1-01 00:00:00", "2024-01-01 00:00:0x",
                 "+024-01-01 00:00:00", "2024-01-01 00:00:00 BC", "infinity"]
        objects = [datetime(2024, 1, 2, 3, 4, 5), datetime(2024, 1, 2, 3, 4, 5, 120),
                   datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), datetime(1, 1, 1),
                   datetime(9999, 12, 31, 23, 59, 59, 999999), datetime(1969, 7, 20, 20, 17),
                   datetime(1999, 12, 31, 23, 59, 59, 500000), datetime(2024, 3, 31, fold=1),
                   datetime(2024, 6, 1, 12, tzinfo=timezone(timedelta(hours=-7))),
                   Stamp(2024, 1, 2, 3, 4, 5), date(2024, 1, 2)]
        return [*common, *texts, *objects]
    if oid == pgtypes.DATE:
        return [None, date(2024, 1, 2), date(1, 1, 1), date(9999, 12, 31), date(2000, 2, 29),
                "2024-01-02", datetime(2024, 1, 2), Day(2024, 1, 2)]
    if oid == pgtypes.BOOL:
        return [None, True, False, 1, 0, "t"]
    if oid == pgtypes.NUMERIC:
        return [None, Decimal("1.50"), 3, 2.5, "7"]
    if oid == pgtypes.BYTEA:
        return [None, b"\x00\xff", bytearray(b"ab"), memoryview(b"cd")]
    return [*common, "", "héllo", "ascii", "\u2603" * 3, "x" * 5000]  # the text kinds


def _both(oids: list[int], fmt: int, batch: object) -> tuple[object, object]:
    """What the compiled and the generated encoder make of `batch` (bytes, or the
    exception's type and message)."""
    compiled = row_encoder(oids, [fmt])
    original = rows_module._compiled
    rows_module._compiled = None
    try:
        python = row_encoder(oids, [fmt])
    finally:
        rows_module._compiled = original

    def run(encode: object) -> object:
        try:
            return encode(batch)  # type: ignore[operator]
        except Exception as exc:  # the same error, from either
            return type(exc), str(exc)
    return run(compiled), run(python)


@pytest.mark.parametrize("fmt", [0, 1])
@pytest.mark.parametrize("oid", COLUMNS)
def test_each_value_of_each_type_the_same_bytes(oid: int, fmt: int) -> None:
    rng = random.Random(oid * 2 + fmt)
    for value in _values(oid, rng):
        compiled, python = _both([oid], fmt, [(value,)])
        assert compiled == python, (oid, fmt, value)


@pytest.mark.parametrize("fmt", [0, 1])
def test_rows_of_every_type_the_same_bytes(fmt: int) -> None:
    rng = random.Random(fmt)
    for _ in range(50):
        oids = rng.sample(COLUMNS, rng.randint(1, len(COLUMNS)))
        batch = []
        for _ in range(rng.randint(0, 40)):
            row = [rng.choice(_values(oid, rng)) for oid in oids]
            batch.append(tuple(row) if rng.random() < 0.8 else row)
        compiled, python = _both(oids, fmt, batch)
        assert compiled == python, (oids, batch)


def test_errors_are_the_python_encoders() -> None:
    """A lone surrogate, an int2 out of range in binary, a value no codec takes."""
    for oids, fmt, batch in (
        ([pgtypes.TEXT], 0, [("a\udc80b",)]),
        ([pgtypes.INT2], 1, [(40000,)]),
        ([pgtypes.INT4], 1, [(2**40,)]),
        ([pgtypes.INT8], 1, [(2**70,)]),
        ([pgtypes.INT4], 0, [(object(),)]),
    ):
        compiled, python = _both(oids, fmt, batch)
        assert compiled == python and not isinstance(compiled, bytes), (oids, batch)
    with pytest.raises(errors.NumericValueOutOfRange):
        row_encoder([pgtypes.INT2], [1])([(40000,)])


def test_batches_it_leaves_to_python() -> None:
    """Rows from a generator, a row of another length, a tuple subclass (a driver's row
    type): the compiled encoder declines them (None) and the generated encoder answers
    (bytes, or its ValueError), as it would alone."""
    class Row(tuple):  # a driver's row type
        __slots__ = ()

    oids = [pgtypes.INT4, pgtypes.TEXT]
    codes, slow = b"is", (str, str)  # (never called: each of these is declined first)
    for batch in ([(1, "a"), (2,)], [Row((1, "a"))], [(1, "a", 3)], [[1]]):
        assert rows_module._compiled(batch, codes, slow) is None
        compiled, python = _both(oids, 0, batch)
        assert compiled == python, batch
    assert rows_module._compiled((r for r in [(1, "a")]), codes, slow) is None
    compiled = row_encoder(oids, [0])(r for r in [(1, "a"), (2, "b")])
    assert compiled == _both(oids, 0, [(1, "a"), (2, "b")])[1]
    assert row_encoder(oids, [0])(((1, "a"),)) == row_encoder(oids, [0])([(1, "a")])
    assert row_encoder(oids, [0])([]) == b""
