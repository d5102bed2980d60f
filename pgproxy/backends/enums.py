"""Enum types on SQLite and MySQL/MariaDB: their labels in `pgproxy_enums`, and CREATE TABLE
with columns of them (dialects/enums.py says what each backend makes of such a column)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp

from dialects import enums
from dialects.generation import dialect_for
from pgproxy import errors
from pgproxy.backends import composites
from pgproxy.backends.steps import literal, run_sql


def _mark(conn: Any) -> str:
    return "?" if conn.backend.paramstyle == "qmark" else "%s"


def labels(conn: Any, names: set[str]) -> dict[str, list[str]]:
    """The labels of those of `names` that are enum types, in their order."""
    if not names or not composites.table_exists(conn, enums.TABLE):
        return {}
    m = _mark(conn)
    found: dict[str, list[str]] = {}
    for name, label in run_sql(
        conn, f"SELECT type_name, label FROM {enums.TABLE} WHERE type_name IN "
              f"({', '.join(m for _ in names)}) ORDER BY type_name, sort_order", sorted(names)):
        found.setdefault(name, []).append(label)
    return found


def create_enum(conn: Any, name: str, values: tuple[str, ...]) -> None:
    m = _mark(conn)
    if not composites.table_exists(conn, enums.TABLE):
        run_sql(conn, enums.create_table_sql(conn.backend.dialect))
    if run_sql(conn, f"SELECT 1 FROM {enums.TABLE} WHERE type_name = {m}", (name,)) or (
        name in composites.composite_names(conn)
    ):
        raise errors.DuplicateObject(f'type "{name}" already exists')
    for order, label in enumerate(values, 1):
        run_sql(conn, f"INSERT INTO {enums.TABLE} (type_name, label, sort_order) "
                      f"VALUES ({m}, {m}, {m})", (name, label, float(order)))


def drop_types(conn: Any, names: tuple[str, ...], if_exists: bool,
               cascade: bool = False) -> None:
    """DROP TYPE of enums and composite types (pgproxy/backends/composites.py): refused while
    a table's column has the type (2BP01), or with CASCADE the columns go too."""
    present = labels(conn, set(names))
    m = _mark(conn)
    for name in names:
        used = columns_of(conn, name)
        if used and not cascade:
            raise errors.DependentObjectsStillExist(
                f"cannot drop type {name} because other objects depend on it",
                detail="\n".join(f"column {c} of table {t} depends on type {name}"
                                  for t, c in used),
                hint="Use DROP ... CASCADE to drop the dependent objects too.")
        for table, column in used:
            _drop_column(conn, table, column)
        if name in present:
            run_sql(conn, f"DELETE FROM {enums.TABLE} WHERE type_name = {m}", (name,))
        elif not composites.drop_composite(conn, name) and not if_exists:
            raise errors.UndefinedObject(f'type "{name}" does not exist')


def _drop_column(conn: Any, table: str, column: str) -> None:
    alter = exp.Alter(this=exp.Table(this=exp.to_identifier(table, quoted=True)), kind="TABLE",
                      actions=[exp.Drop(kind="COLUMN", tables=[
                          exp.Column(this=exp.to_identifier(column, quoted=True))])])
    if conn.backend.dialect == "sqlite":
        from pgproxy.backends.sqlite_ddl import alter_table
    else:
        from pgproxy.backends.mysql_ddl import alter_table
    alter_table(conn, alter)


def _sort_orders(conn: Any, name: str) -> dict[str, float]:
    m = _mark(conn)
    rows = run_sql(conn, f"SELECT label, sort_order FROM {enums.TABLE} WHERE type_name = {m}"
                         " ORDER BY sort_order", (name,)) if composites.table_exists(
        conn, enums.TABLE) else []
    if not rows:
        raise errors.UndefinedObject(f'type "{name}" does not exist')
    return {r[0]: float(r[1]) for r in rows}


def _relabel_columns(conn: Any, name: str, old: list[str], new: list[str]) -> None:
    """The backend's columns of the type admit `new` instead of `old` (a CHECK on SQLite,
    an ENUM on MySQL)."""
    if conn.backend.dialect == "sqlite":
        from pgproxy.backends.sqlite_ddl import relax_enum_checks

        relax_enum_checks(conn, name, old, new)
    else:
        from pgproxy.backends.mysql_ddl import modify_enum_columns

        modify_enum_columns(conn, name, new)


def rename_enum_value(conn: Any, name: str, old: str, new: str) -> None:
    """ALTER TYPE … RENAME VALUE: the label, and the rows of the type's columns holding it
    (their CHECK or ENUM first admits both, then only the new set)."""
    order = _sort_orders(conn, name)
    if old not in order:
        raise errors.InvalidParameterValue(f'"{old}" is not an existing enum label')
    if new in order:
        raise errors.DuplicateObject(f'enum label "{new}" already exists')
    m = _mark(conn)
    run_sql(conn, f"UPDATE {enums.TABLE} SET label = {m} WHERE type_name = {m} AND label = {m}",
            (new, name, old))
    before = list(order)
    after = [new if label == old else label for label in before]
    both = [*before, new]
    _relabel_columns(conn, name, before, both)
    for table, column in columns_of(conn, name):
        q = '"' if conn.backend.dialect == "sqlite" else "`"
        run_sql(conn, f"UPDATE {q}{table}{q} SET {q}{column}{q} = {m} WHERE {q}{column}{q} = {m}",
                (new, old))
    _relabel_columns(conn, name, both, after)


def columns_of(conn: Any, name: str) -> list[tuple[str, str]]:
    """(table, column) of each backend column of the enum type `name`."""
    if conn.backend.dialect != "sqlite":
        return [(r[0], r[1]) for r in run_sql(
            conn, "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE "
                  "TABLE_SCHEMA = DATABASE() AND COLUMN_COMMENT = %s", (enums.TYPE_MARK + name,))]
    out = []
    for (table,) in run_sql(conn, "SELECT name FROM sqlite_master WHERE type = 'table'"):
        quoted = '"' + table.replace('"', '""') + '"'
        for row in run_sql(conn, f"PRAGMA table_xinfo({quoted})"):
            declared = row[2] or ""
            if declared == f'"{name}"' or declared.lower() == name:
                out.append((table, row[1]))
    return out


def add_enum_value(conn: Any, name: str, label: str, if_not_exists: bool, where: str,
                   neighbour: str) -> None:
    """ALTER TYPE … ADD VALUE: a label between its neighbours' sort orders, and the
    backend's columns of the type (a CHECK on SQLite, an ENUM on MySQL) take it too."""
    m = _mark(conn)
    order = _sort_orders(conn, name)
    if label in order:
        if if_not_exists:
            return
        raise errors.DuplicateObject(f'enum label "{label}" already exists')
    if where and neighbour not in order:
        raise errors.InvalidParameterValue(f'"{neighbour}" is not an existing enum label')
    sorts = sorted(order.values())
    if not where:
        position = sorts[-1] + 1
    else:
        at = sorts.index(order[neighbour])
        other = at - 1 if where == "BEFORE" else at + 1
        if 0 <= other < len(sorts):
            position = (sorts[at] + sorts[other]) / 2
        else:
            position = sorts[at] + (-1 if where == "BEFORE" else 1)
    run_sql(conn, f"INSERT INTO {enums.TABLE} (type_name, label, sort_order) VALUES ({m}, {m},"
                  f" {m})", (name, label, position))
    new = [lab for lab, _ in sorted({**order, label: position}.items(), key=lambda kv: kv[1])]
    _relabel_columns(conn, name, list(order), new)


def with_labels(conn: Any, tree: exp.Expr) -> exp.Expr:
    """A copy of the statement with its enum-typed columns made what the backend checks."""
    tree = tree.copy()
    names = enums.candidates(tree)
    enums.apply(tree, labels(conn, names), conn.backend.dialect,
                frozenset(names & composites.composite_names(conn)) if names else frozenset())
    return tree


def create_table(
    conn: Any, tree: exp.Create, references: Callable[[Any, exp.Create], None] | None = None
) -> None:
    """CREATE TABLE with its enum columns made checkable; `references` completes its
    REFERENCES clauses where the backend needs them spelled (mysql_ddl.fill_references)."""
    tree = with_labels(conn, tree)
    if references is not None:
        references(conn, tree)
    run_sql(conn, literal(conn, dialect_for(conn.backend.dialect).generator().generate(tree)))


ROUTINES = {
    "create_enum": create_enum,
    "drop_types": drop_types,
    "add_enum_value": add_enum_value,
    "rename_enum_value": rename_enum_value,
    **composites.ROUTINES,
    "create_table": create_table,
}
