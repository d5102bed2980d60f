"""PostgreSQL sequences on SQLite: the proxy's `pgproxy_sequences` table and the SQL functions
nextval, currval, setval, lastval and pg_get_serial_sequence on each connection.

nextval updates the sequence's row from inside the statement that calls it,
so the new value and the row it numbers commit or roll back together (SQLite
has one writer at a time, so no two sessions get the same value). currval
and lastval are the connection's, which is the session's.
"""

from __future__ import annotations

import functools
from typing import Any

import apsw

from dialects import TranslationError
from dialects import sequences as seqdefs
from pgproxy import errors
from pgproxy.backends.steps import run_sql

_COLUMNS = ", ".join(seqdefs.COLUMNS)


class SessionValues:
    """What currval() and lastval() answer: this connection's last nextval per sequence."""

    __slots__ = ("last", "probing", "values")

    def __init__(self) -> None:
        self.values: dict[str, int] = {}
        self.last: str | None = None
        # True while the backend runs a statement only to type its columns (Describe):
        # the functions then answer an integer and change nothing.
        self.probing = False


def install(conn: apsw.Connection) -> SessionValues:
    """Register the sequence functions on one apsw connection."""
    state = SessionValues()

    def nextval(name: Any) -> int:
        if state.probing:
            return 0
        return _nextval(conn, state, _name(name))

    def currval(name: Any) -> int:
        if state.probing:
            return 0
        key = _name(name)
        _row(conn, key)
        if key not in state.values:
            raise errors.ObjectNotInPrerequisiteState(
                f'currval of sequence "{key}" is not yet defined in this session'
            )
        return state.values[key]

    def lastval() -> int:
        if state.probing:
            return 0
        if state.last is None:
            raise errors.ObjectNotInPrerequisiteState("lastval is not yet defined in this session")
        return state.values[state.last]

    def setval(name: Any, value: int, is_called: Any = True) -> int:
        if state.probing:
            return 0
        key = _name(name)
        row = _row(conn, key)
        if not row["min_value"] <= value <= row["max_value"]:
            raise errors.NumericValueOutOfRange(
                f'setval: value {value} is out of bounds for sequence "{key}" '
                f"({row['min_value']}..{row['max_value']})"
            )
        called = bool(is_called) and is_called not in ("f", "false", "0")
        _write(conn, key, value, called)
        if called:
            state.values[key] = value
        return value

    def serial_sequence(table: Any, column: Any) -> str | None:
        if not _exists(conn):
            return None
        rows = conn.execute(
            f"SELECT name FROM {seqdefs.TABLE} WHERE owned_table = ? AND owned_column = ?",
            (_name(table), str(column)),
        ).fetchall()
        return f"public.{rows[0][0]}" if rows else None

    conn.create_scalar_function("nextval", nextval, 1, deterministic=False)
    conn.create_scalar_function("currval", currval, 1, deterministic=False)
    conn.create_scalar_function("lastval", lastval, 0, deterministic=False)
    conn.create_scalar_function("setval", setval, 2, deterministic=False)
    conn.create_scalar_function("setval", setval, 3, deterministic=False)
    conn.create_scalar_function("pg_get_serial_sequence", serial_sequence, 2,
                                deterministic=False)
    return state


@functools.lru_cache(maxsize=1024)
def _name(value: Any) -> str:
    try:
        return seqdefs.name_of(str(value))
    except TranslationError as exc:
        raise errors.from_sqlstate(exc.sqlstate, exc.message) from None


def _exists(conn: apsw.Connection) -> bool:
    return bool(conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (seqdefs.TABLE,)
    ).fetchall())


_ROW = f"SELECT {_COLUMNS} FROM {seqdefs.TABLE} WHERE name = ?"


def _row(conn: apsw.Connection, name: str) -> dict[str, Any]:
    try:
        rows = conn.execute(_ROW, (name,)).fetchall()
    except apsw.SQLError as exc:
        if "no such table" not in str(exc):
            raise
        rows = []  # no sequence was ever made in this database
    if not rows:
        raise errors.UndefinedTable(f'relation "{name}" does not exist')
    return dict(zip(seqdefs.COLUMNS, rows[0], strict=True))


def _write(conn: apsw.Connection, name: str, value: int, called: bool) -> None:
    conn.execute(
        f"UPDATE {seqdefs.TABLE} SET last_value = ?, is_called = ? WHERE name = ?",
        (value, int(called), name),
    )


# One statement on the common path: the next value within bounds (or cycled), or no row.
_ADVANCE = (
    f"UPDATE {seqdefs.TABLE} SET is_called = 1, last_value = CASE"
    " WHEN NOT is_called THEN last_value"
    " WHEN last_value + increment BETWEEN min_value AND max_value THEN last_value + increment"
    " WHEN increment > 0 THEN min_value ELSE max_value END"
    " WHERE name = ? AND (NOT is_called OR cycle"
    " OR last_value + increment BETWEEN min_value AND max_value) RETURNING last_value"
)


def _nextval(conn: apsw.Connection, state: SessionValues, name: str) -> int:
    try:
        rows = conn.execute(_ADVANCE, (name,)).fetchall()
    except apsw.SQLError as exc:
        if "no such table" not in str(exc):
            raise
        rows = []
    if not rows:
        row = _row(conn, name)  # raises 42P01 for a missing sequence
        which = "maximum" if row["increment"] > 0 else "minimum"
        bound = row["max_value"] if row["increment"] > 0 else row["min_value"]
        raise errors.from_sqlstate(
            "2200H", f'nextval: reached {which} value of sequence "{name}" ({bound})'
        )
    value = rows[0][0]
    state.values[name] = value
    state.last = name
    return value


# --- routines for CREATE / ALTER / DROP SEQUENCE (run by sqlite_ddl.run) ----------------------


def create_sequence(conn: Any, name: str, if_not_exists: bool,
                    definition: tuple[tuple[str, Any], ...]) -> None:
    found = run_sql(conn, f"SELECT 1 FROM {seqdefs.TABLE} WHERE name = ?", (name,))
    if found or run_sql(conn, "SELECT 1 FROM sqlite_master WHERE name = ?", (name,)):
        if if_not_exists:
            return
        raise errors.DuplicateTable(f'relation "{name}" already exists')
    values = {"name": name, **dict(definition)}
    values["cycle"] = int(values["cycle"])
    values["is_called"] = int(values["is_called"])
    marks = ", ".join("?" for _ in seqdefs.COLUMNS)
    run_sql(conn, f"INSERT INTO {seqdefs.TABLE} ({_COLUMNS}) VALUES ({marks})",
            [values[c] for c in seqdefs.COLUMNS])
    _create_view(conn, name)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _create_view(conn: Any, name: str) -> None:
    """A sequence is a relation one can SELECT from (pg_dump reads last_value, is_called),
    and its name is taken for tables: a view over its row gives both."""
    literal = "'" + name.replace("'", "''") + "'"
    run_sql(conn, f"CREATE VIEW {_quote(name)} AS SELECT last_value, 0 AS log_cnt, is_called "
                  f"FROM {seqdefs.TABLE} WHERE name = {literal}")


def _drop_view(conn: Any, name: str) -> None:
    run_sql(conn, f"DROP VIEW IF EXISTS {_quote(name)}")


def _stored(conn: Any, name: str) -> dict[str, Any] | None:
    if not run_sql(conn, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                   (seqdefs.TABLE,)):
        return None
    rows = run_sql(conn, f"SELECT {_COLUMNS} FROM {seqdefs.TABLE} WHERE name = ?", (name,))
    return dict(zip(seqdefs.COLUMNS, rows[0], strict=True)) if rows else None


def alter_sequence(conn: Any, name: str, if_exists: bool,
                   options: tuple[tuple[str, Any], ...], rename: str | None) -> None:
    current = _stored(conn, name)
    if current is None:
        if if_exists:
            return
        raise errors.UndefinedTable(f'relation "{name}" does not exist')
    if rename:
        if run_sql(conn, "SELECT 1 FROM sqlite_master WHERE name = ?", (rename,)):
            raise errors.DuplicateTable(f'relation "{rename}" already exists')
        run_sql(conn, f"UPDATE {seqdefs.TABLE} SET name = ? WHERE name = ?", (rename, name))
        _drop_view(conn, name)
        _create_view(conn, rename)
        return
    definition = seqdefs.resolve(dict(options), current)
    sets = ", ".join(f"{c} = ?" for c in seqdefs.COLUMNS[1:])
    values = [int(definition[c]) if isinstance(definition[c], bool) else definition[c]
              for c in seqdefs.COLUMNS[1:]]
    run_sql(conn, f"UPDATE {seqdefs.TABLE} SET {sets} WHERE name = ?", [*values, name])


def drop_sequences(conn: Any, names: tuple[str, ...], if_exists: bool) -> None:
    for name in names:
        if _stored(conn, name) is None:
            if if_exists:
                continue
            raise errors.UndefinedTable(f'sequence "{name}" does not exist')
        run_sql(conn, f"DELETE FROM {seqdefs.TABLE} WHERE name = ?", (name,))
        _drop_view(conn, name)


def drop_owned_sequences(conn: Any, tables: tuple[str, ...]) -> None:
    """DROP TABLE drops the sequences its serial and identity columns own, and its comments."""
    for table in tables:
        if run_sql(conn, "SELECT 1 FROM sqlite_master WHERE name = ?", (table,)):
            continue  # DROP TABLE IF EXISTS of a view's name, or nothing was dropped
        if run_sql(conn, "SELECT 1 FROM sqlite_master WHERE name = ?", (seqdefs.TABLE,)):
            owned = run_sql(conn, f"SELECT name FROM {seqdefs.TABLE} WHERE owned_table = ?",
                            (table,))
            run_sql(conn, f"DELETE FROM {seqdefs.TABLE} WHERE owned_table = ?", (table,))
            for (name,) in owned:
                _drop_view(conn, name)
        if run_sql(conn, "SELECT 1 FROM sqlite_master WHERE name = 'pgproxy_comments'"):
            run_sql(conn, "DELETE FROM pgproxy_comments WHERE object = ? AND kind IN "
                          "('table', 'column')", (table,))


def restart_owned_sequences(conn: Any, tables: tuple[str, ...]) -> None:
    """TRUNCATE … RESTART IDENTITY: the owned sequences start over."""
    if not run_sql(conn, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                   (seqdefs.TABLE,)):
        return
    for table in tables:
        run_sql(conn, f"UPDATE {seqdefs.TABLE} SET last_value = start_value, is_called = 0 "
                "WHERE owned_table = ?", (table,))


def rename_owned(conn: Any, table: str, new_table: str, column: str, new_column: str) -> None:
    """ALTER TABLE … RENAME TO / RENAME COLUMN: owned sequences and comments follow."""
    for name, owner_table, owner_column in ((seqdefs.TABLE, "owned_table", "owned_column"),
                                            ("pgproxy_comments", "object", "sub")):
        if not run_sql(conn, "SELECT 1 FROM sqlite_master WHERE name = ?", (name,)):
            continue
        if column:
            run_sql(conn, f"UPDATE {name} SET {owner_column} = ? WHERE {owner_table} = ? AND "
                          f"{owner_column} = ?", (new_column, table, column))
        else:
            run_sql(conn, f"UPDATE {name} SET {owner_table} = ? WHERE {owner_table} = ?",
                    (new_table, table))
