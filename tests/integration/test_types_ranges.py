"""Ranges and multiranges through the proxy as PostgreSQL gives them: parameters in text
and binary (psycopg sends a typed range binary, an int range as text of unknown type),
constructors of parameters, arrays, columns, COPY in and out.

Every case runs on a real PostgreSQL and through a real proxy process on SQLite and on
MariaDB, with psycopg in text and in binary result format; the values psycopg decodes,
the column type OIDs and the SQLSTATE of an error must match PostgreSQL's.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg.types.multirange import DateMultirange, Int4Multirange, Multirange
from psycopg.types.range import DateRange, Int4Range, NumericRange, Range, TimestamptzRange

pytestmark = pytest.mark.integration

UTC = dt.UTC
CASES: list[tuple[str, tuple[Any, ...]]] = [
    ("select %s::int4range, %s::daterange",
     (Range(1, 5, "[]"), DateRange(None, dt.date(2000, 1, 1)))),
    ("select 'empty'::int4range = %s, '[1,5]'::int4range = %s",
     (Range(empty=True), Int4Range(1, 6))),
    ("select '[1,5]' = %s, '{}' = %s", (Int4Range(1, 5, "[]"), Int4Multirange())),
    ("select int4range(%s::int4, %s::int4, %s)", (10, 20, "[]")),
    ("select numrange(%s::numeric, %s::numeric, %s) = %s",
     (Decimal("-1.5"), Decimal("2.25"), "(]",
      NumericRange(Decimal("-1.5"), Decimal("2.25"), "(]"))),
    ("select tstzrange(%s::timestamptz, %s::timestamptz, %s)",
     (dt.datetime(2000, 1, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=2))), None, "()")),
    ("select int4multirange(%s::int4range, %s::int4range), %s::datemultirange",
     (Range(1, 3), Range(2, 5), DateMultirange([DateRange(dt.date(2000, 1, 1), None)]))),
    ("select array['empty'::int4range, '(,)'::int4range] = %s",
     ([Range(empty=True), Range(bounds="()")],)),
    ("select %s::tstzrange[]", ([TimestamptzRange(dt.datetime(2000, 1, 1, tzinfo=UTC), None)],)),
    ("select lower(%s::int4range), upper(%s::daterange), %s::int4range @> %s::int4",
     (Int4Range(3, 7), DateRange(dt.date(2000, 1, 1), dt.date(2000, 2, 1)), Int4Range(3, 7), 7)),
    ("select isempty(%s::int4range), lower_inf(%s::int4range)",
     (Int4Range(empty=True), Range(None, 3))),
    ("select %s::int4range && %s::int4range", (Int4Range(1, 5), Int4Range(4, 9))),
    ("select int4range(%s::int4, %s::int4)", (5, 1)),
    ("select %s::int4range", ("[1,2",)),
]


def _outcome(dsn: str, sql: str, params: tuple[Any, ...], binary: bool) -> Any:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.cursor(binary=binary)
        try:
            cur.execute(sql, params or None)
        except psycopg.Error as exc:
            return ("error", exc.sqlstate)
        types = [d.type_code for d in cur.description]
        return types, [tuple((type(v).__name__, v) for v in row) for row in cur.fetchall()]


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
@pytest.mark.parametrize("backend", ["sqlite", "mysql"])
@pytest.mark.parametrize("sql, params", CASES, ids=[c[0][:60] for c in CASES])
def test_values_match_postgresql(sql, params, backend, binary, postgresql_url, request):
    proxy = request.getfixturevalue(f"proxy_{backend}")
    assert _outcome(proxy.dsn(), sql, params, binary) == _outcome(
        postgresql_url, sql, params, binary
    )


def _columns_and_copy(dsn: str) -> list[Any]:
    rows = [
        (1, Int4Range(1, 5, "[]"), DateMultirange([DateRange(dt.date(2000, 1, 1), None)]),
         [TimestamptzRange(dt.datetime(2000, 1, 1, tzinfo=UTC), None)]),
        (2, Range(empty=True), Multirange(), []),
    ]
    out: list[Any] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("drop table if exists tr_ranges")
        conn.execute(
            "create table tr_ranges (id int primary key, r int4range, m datemultirange,"
            " a tstzrange[])"
        )
        conn.execute("insert into tr_ranges values (%s, %s, %s, %s)", rows[0])
        with conn.cursor().copy("copy tr_ranges from stdin (format binary)") as copy:
            copy.set_types(["int4", "int4range", "datemultirange", "tstzrange[]"])
            copy.write_row(rows[1])
        with conn.cursor().copy("copy tr_ranges (id, r) from stdin") as copy:
            copy.write_row((3, Int4Range(7, 9, "(]")))
        for binary in (False, True):
            out.append(conn.cursor(binary=binary).execute(
                "select id, r, m, a from tr_ranges order by id").fetchall())
        out.append(conn.execute(
            "select id from tr_ranges where r = %s order by id", (Int4Range(8, 10),)).fetchall())
        with conn.cursor().copy("copy tr_ranges (id, r, m) to stdout") as copy:
            out.append(b"".join(bytes(b) for b in copy))
        with conn.cursor().copy("copy tr_ranges (id, r, m) to stdout (format binary)") as copy:
            copy.set_types(["int4", "int4range", "datemultirange"])
            out.append(list(copy.rows()))
        conn.execute("drop table tr_ranges")
    return out


@pytest.mark.parametrize("backend", ["sqlite", "mysql"])
def test_columns_and_copy(backend, postgresql_url, request):
    proxy = request.getfixturevalue(f"proxy_{backend}")
    assert _columns_and_copy(proxy.dsn()) == _columns_and_copy(postgresql_url)
