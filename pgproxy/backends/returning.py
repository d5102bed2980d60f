"""Runs `UPDATE … RETURNING` on MySQL/MariaDB from the plan dialects/returning.py made.

In the statement's transaction (steps.atomic): select the key of each matching
row FOR UPDATE, and the new key where the SET changes it; update those rows by
key; read the RETURNING list back by key, in the order the rows were found. The
key is the primary key, or a unique key of NOT NULL columns, read with SHOW
KEYS; one the SET leaves alone is preferred.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dialects.returning import UpdatePlan
from pgproxy import errors
from pgproxy.backends.base import Connection
from pgproxy.backends.steps import StepsCursor, atomic, run_sql

_CHUNK = 500  # keys per statement

def _quote(name: str) -> str:
    """A quoted name as pymysql takes SQL text (it %-formats every statement)."""
    return "`" + name.replace("`", "``").replace("%", "%%") + "`"


def _key(conn: Connection, plan: UpdatePlan) -> list[str]:
    """The columns of the key to find the rows by: untouched by the SET if one is."""
    table = _quote(plan.table) if plan.schema is None else (
        f"{_quote(plan.table)} FROM {_quote(plan.schema)}")
    keys: dict[str, list[tuple[str, str]]] = {}
    # SHOW KEYS: Non_unique, Key_name, Seq_in_index, Column_name, …, Null ('' or 'YES').
    for row in run_sql(conn, f"SHOW KEYS FROM {table}"):
        if not int(row[1]):
            keys.setdefault(row[2], []).append((row[4], row[9]))
    ordered = sorted(keys.items(), key=lambda k: k[0] != "PRIMARY")
    usable = [[c for c, _ in cols] for _, cols in ordered
              if all(c is not None and not n for c, n in cols)]
    if not usable:
        raise errors.FeatureNotSupported(
            f'UPDATE … RETURNING on table "{plan.table}" needs a primary key or a unique key'
            " of NOT NULL columns on this backend (it finds the updated rows by key)")
    assigned = {column.lower() for column, _, _ in plan.assignments}
    return next((k for k in usable if not assigned & {c.lower() for c in k}), usable[0])


def _match(qualifier: str, key: Sequence[str], n: int) -> str:
    """`key IN (…)` for n keys, each value a placeholder."""
    if len(key) == 1:
        return f"{qualifier}.{_quote(key[0])} IN ({', '.join(['%s'] * n)})"
    row = "(" + ", ".join(["%s"] * len(key)) + ")"
    columns = ", ".join(f"{qualifier}.{_quote(c)}" for c in key)
    return f"({columns}) IN ({', '.join([row] * n)})"


def update_returning(
    conn: Connection, plan: UpdatePlan, values: Sequence[Any] = ()
) -> StepsCursor:
    """All of it or none: a transaction of its own, or a savepoint inside the client's."""
    return atomic(conn, lambda: _update_returning(conn, plan, values))


def _update_returning(conn: Connection, plan: UpdatePlan, values: Sequence[Any]) -> StepsCursor:
    # The values in plan order: each assignment's, the WHERE's, the RETURNING list's.
    at = 0
    assigned: dict[str, tuple[str, Sequence[Any], bool]] = {}
    setting = []
    for column, piece, volatile in plan.assignments:
        assigned[column.lower()] = (piece.sql, values[at : at + piece.nvalues], volatile)
        setting.append(f"{_quote(column)} = {piece.sql}")
        at += piece.nvalues
    set_values = values[:at]
    where_sql, where_values = "TRUE", ()
    if plan.where is not None:
        where_sql, where_values = plan.where.sql, values[at : at + plan.where.nvalues]
        at += plan.where.nvalues
    returning_values = values[at : at + plan.returning.nvalues]

    key = _key(conn, plan)
    q = plan.qualifier
    changed = [c for c in key if c.lower() in assigned]
    if any(assigned[c.lower()][2] for c in changed):
        raise errors.FeatureNotSupported(
            f'UPDATE … RETURNING that sets key column "{changed[0]}" of table "{plan.table}"'
            " from a volatile function is not supported on this backend")
    # 1. The matching rows' keys (and new keys), locked until the statement's end.
    columns = [f"{q}.{_quote(c)}" for c in key]
    new_values: list[Any] = []
    for c in changed:
        sql, bound, _ = assigned[c.lower()]
        columns.append(sql)
        new_values.extend(bound)
    found = run_sql(
        conn, f"SELECT {', '.join(columns)} FROM {plan.target} WHERE {where_sql} FOR UPDATE",
        (*new_values, *where_values))
    width = len(key)
    old_keys = [tuple(r[:width]) for r in found]
    new_keys = old_keys
    if changed:
        positions = [key.index(c) for c in changed]
        new_keys = []
        for r in found:
            k = list(r[:width])
            for j, p in enumerate(positions):
                k[p] = r[width + j]
            new_keys.append(tuple(k))
    # 2. Those rows updated, by key (assignments as the statement wrote them).
    for start in range(0, len(old_keys), _CHUNK):
        chunk = old_keys[start : start + _CHUNK]
        run_sql(
            conn,
            f"UPDATE {plan.target} SET {', '.join(setting)} WHERE {_match(q, key, len(chunk))}",
            (*set_values, *(v for k in chunk for v in k)))
    # 3. The RETURNING list read back by the (new) keys, in the order the rows were found.
    order = {k: i for i, k in enumerate(new_keys)}
    listed = plan.returning.sql
    rows: list[tuple[Any, ...]] = []
    result_columns = None
    for start in range(0, len(new_keys), _CHUNK):
        chunk = new_keys[start : start + _CHUNK]
        cursor = conn.execute(
            f"SELECT {listed}, {', '.join(f'{q}.{_quote(c)}' for c in key)}"
            f" FROM {plan.target} WHERE {_match(q, key, len(chunk))}",
            (*returning_values, *(v for k in chunk for v in k)))
        try:
            result_columns = list(cursor.columns or [])[:-width]
            while batch := cursor.fetch(500):
                rows.extend(batch)
        finally:
            cursor.close()
    if result_columns is None:  # no row matched: the columns still describe the result
        cursor = conn.execute(f"SELECT {listed} FROM {plan.target} WHERE FALSE",
                              tuple(returning_values))
        try:
            result_columns = list(cursor.columns or [])
            cursor.fetch(1)
        finally:
            cursor.close()
    rows.sort(key=lambda r: order.get(tuple(r[-width:]), len(order)))
    return StepsCursor(len(old_keys), result_columns, [tuple(r[:-width]) for r in rows])


ROUTINES = {"update_returning": update_returning}
