"""Runs a MariaDB statement with sequence calls as PostgreSQL answers them
(plan: dialects/sequence_calls.py).

A sequence named by a parameter is looked up in information_schema through a
bound query and put in as a quoted name; currval of a sequence this session
has not advanced and lastval before any nextval raise 55000 before the
statement runs; a `SELECT setval(…)` below the current value, which MariaDB
ignores, rewrites the sequence's row (non-transactional, as PostgreSQL's setval).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dialects
from dialects.sequence_calls import SequenceCalls
from dialects.sequences import BOUND_NAME, LASTVAL, name_of
from pgproxy import errors
from pgproxy.backends.base import Connection
from pgproxy.backends.steps import StepsCursor, run_sql

_FIND = ("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
         " AND TABLE_TYPE = 'SEQUENCE' AND BINARY TABLE_NAME = %s")
_ROW = ("next_not_cached_value, minimum_value, maximum_value, start_value, increment,"
        " cache_size, cycle_option, cycle_count")


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _in_sql(quoted: str) -> str:
    """A quoted name as pymysql takes SQL text: it %-formats every statement."""
    return quoted.replace("%", "%%")


def _bare(quoted: str) -> str:
    return quoted[1:-1].replace("``", "`")


def _resolve(conn: Connection, value: Any) -> str:
    """A client's sequence name, checked against the catalog: its quoted name."""
    if value is None:
        raise errors.NullValueNotAllowed("the sequence name is NULL")
    try:
        name = name_of(str(value)).split(".")[-1]
    except dialects.TranslationError as exc:
        raise errors.from_sqlstate(exc.sqlstate, exc.message) from None
    rows = run_sql(conn, _FIND, (name,))
    if not rows:
        raise errors.UndefinedTable(f'relation "{value}" does not exist')
    return _quote(rows[0][0])


def sequence_calls(
    conn: Connection, plan: SequenceCalls, values: Sequence[Any] = ()
) -> StepsCursor:
    names = {f"`{BOUND_NAME}{i}`": _resolve(conn, v)
             for i, v in zip(plan.bound, values, strict=False)}
    sql = plan.sql
    for sentinel, quoted in names.items():
        sql = sql.replace(sentinel, _in_sql(quoted))
    for name in plan.currval:
        quoted = names.get(name, name)
        if run_sql(conn, f"SELECT LASTVAL({_in_sql(quoted)})")[0][0] is None:
            raise errors.ObjectNotInPrerequisiteState(
                f'currval of sequence "{_bare(quoted)}" is not yet defined in this session')
    if plan.lastval and run_sql(conn, f"SELECT {LASTVAL}")[0][0] is None:
        raise errors.ObjectNotInPrerequisiteState("lastval is not yet defined in this session")
    cursor = conn.execute(sql, values[len(plan.bound):])
    try:
        columns = cursor.columns
        rows: list[tuple[Any, ...]] = []
        if columns is not None:
            while batch := cursor.fetch(500):
                rows.extend(batch)
        rowcount = cursor.rowcount
    finally:
        cursor.close()
    if plan.setval is None:
        return StepsCursor(rowcount, columns, rows)
    quoted, called_given = plan.setval
    quoted = names.get(quoted, quoted)
    done, value = rows[0][0], rows[0][1]
    called = bool(rows[0][2]) if called_given else True
    if done is None and value is not None:
        _setval(conn, quoted, int(value), called)
    return StepsCursor(rowcount, list(columns or [])[:1], [(value,)])


def _setval(conn: Connection, quoted: str, value: int, called: bool) -> None:
    """setval below the current value: the sequence's row rewritten (MariaDB's own way)."""
    name = _in_sql(quoted)
    low, high, step = run_sql(
        conn, f"SELECT minimum_value, maximum_value, increment FROM {name}")[0]
    if not low <= value <= high:
        raise errors.NumericValueOutOfRange(
            f'setval: value {value} is out of bounds for sequence "{_bare(quoted)}"'
            f" ({low}..{high})")
    run_sql(conn, f"INSERT INTO {name} ({_ROW}) SELECT %s, {_ROW.split(', ', 1)[1]}"
                  f" FROM {name}", (value + step if called else value,))


ROUTINES = {"sequence_calls": sequence_calls}
