"""MySQL / MariaDB routines for DDL that needs the schema: TRUNCATE of related tables,
DROP INDEX (MySQL needs the index's table), ALTER COLUMN TYPE / NOT NULL (MODIFY COLUMN
restates the whole column) and DROP CONSTRAINT (the statement depends on its kind).

Identifiers come from the statement's text or the server's own information_schema and
are quoted; values are bound. MySQL commits DDL on its own, so none of this is atomic.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlglot import exp

import dialects
from dialects import mysql_ddl as pure
from dialects.generation import dialect_for
from pgproxy import errors
from pgproxy.backends import enums, returning, sequence_calls
from pgproxy.backends.steps import StepsCursor, each, literal, run_sql


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def truncate(conn: Any, tables: tuple[str, ...], cascade: bool) -> None:
    """PostgreSQL truncates tables that reference each other together; InnoDB refuses to
    truncate a referenced table at all, so checks are off while every referencing table is
    in the list (or CASCADE adds them)."""
    names = list(tables)
    placeholders = ", ".join("%s" for _ in names)
    referencing = run_sql(
        conn,
        "SELECT DISTINCT table_name, referenced_table_name FROM "
        "information_schema.referential_constraints WHERE constraint_schema = DATABASE() "
        f"AND referenced_table_name IN ({placeholders})",
        names,
    )
    for child, parent in referencing:
        if child not in names:
            if not cascade:
                raise errors.FeatureNotSupported(
                    f'cannot truncate a table referenced in a foreign key constraint: "{child}" '
                    f'references "{parent}" (truncate it too, or use CASCADE)'
                )
            names.append(child)
    run_sql(conn, "SET @pgproxy_fk = @@foreign_key_checks")
    run_sql(conn, "SET foreign_key_checks = 0")
    try:
        for name in names:
            run_sql(conn, literal(conn, f"TRUNCATE TABLE {_q(name)}"))
    finally:
        run_sql(conn, "SET foreign_key_checks = @pgproxy_fk")


def drop_tables(conn: Any, names: tuple[str, ...], if_exists: bool, cascade: bool) -> None:
    """DROP TABLE as PostgreSQL does it: tables that reference each other go together; a
    table another one references is refused (2BP01), or with CASCADE unlinked first."""
    placeholders = ", ".join("%s" for _ in names)
    for child, constraint, parent in run_sql(
        conn,
        "SELECT DISTINCT TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_NAME FROM "
        "information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() "
        f"AND REFERENCED_TABLE_NAME IN ({placeholders})",
        names,
    ):
        if child in names:
            continue
        if not cascade:
            raise errors.from_sqlstate(
                "2BP01", f'cannot drop table "{parent}" because other objects depend on it: '
                f'a foreign key of table "{child}" references it (use DROP ... CASCADE to '
                "drop the reference too)")
        run_sql(conn, literal(conn, f"ALTER TABLE {_q(child)} DROP FOREIGN KEY "
                                    f"{_q(constraint)}"))
    exists = "IF EXISTS " if if_exists else ""
    run_sql(conn, "SET @pgproxy_fk = @@foreign_key_checks")
    run_sql(conn, "SET foreign_key_checks = 0")
    try:
        run_sql(conn, literal(conn, f"DROP TABLE {exists}{', '.join(_q(n) for n in names)}"))
    finally:
        run_sql(conn, "SET foreign_key_checks = @pgproxy_fk")


def drop_index(conn: Any, names: tuple[str, ...], if_exists: bool) -> None:
    for name in names:
        rows = run_sql(
            conn,
            "SELECT DISTINCT table_name FROM information_schema.statistics "
            "WHERE table_schema = DATABASE() AND index_name = %s",
            (name,),
        )
        if not rows:
            if if_exists:
                continue
            raise errors.UndefinedObject(f'index "{name}" does not exist')
        run_sql(conn, literal(conn, f"DROP INDEX {_q(name)} ON {_q(rows[0][0])}"))


def rename_index(conn: Any, name: str, new: str, if_exists: bool) -> None:
    rows = run_sql(
        conn,
        "SELECT DISTINCT table_name FROM information_schema.statistics "
        "WHERE table_schema = DATABASE() AND index_name = %s",
        (name,),
    )
    if not rows:
        if if_exists:
            return
        raise errors.UndefinedTable(f'relation "{name}" does not exist')
    run_sql(conn, literal(conn, f"ALTER TABLE {_q(rows[0][0])} RENAME INDEX {_q(name)} "
                                f"TO {_q(new)}"))


def _column(conn: Any, table: str, column: str) -> tuple[str, bool, str | None, str]:
    rows = run_sql(
        conn,
        "SELECT column_type, is_nullable, column_default, extra FROM information_schema.columns "
        "WHERE table_schema = DATABASE() AND table_name = %s AND column_name = %s",
        (table, column),
    )
    if not rows:
        raise errors.UndefinedColumn(f'column "{column}" of relation "{table}" does not exist')
    column_type, nullable, default, extra = rows[0]
    return column_type, nullable == "YES", default, extra or ""


def _modify(conn: Any, table: str, action: exp.AlterColumn, dialect: Any) -> str:
    name = action.this.name
    column_type, nullable, default, extra = _column(conn, table, name)
    dtype = action.args.get("dtype")
    if dtype is not None:
        column = exp.ColumnDef(this=exp.to_identifier(name), kind=dtype.copy())
        create = exp.Create(this=exp.Schema(this=exp.to_table("x"), expressions=[column]),
                            kind="TABLE")
        for rewrite in dialect.PREPROCESS:
            create = rewrite(create)
        column_type = dialect.generator().generate(create.this.expressions[0].args["kind"])
    allow_null = action.args.get("allow_null")
    if allow_null is not None:
        nullable = bool(allow_null)
    parts = [f"MODIFY COLUMN {_q(name)} {column_type}", "NULL" if nullable else "NOT NULL"]
    if default is not None and default.upper() != "NULL":
        parts.append(f"DEFAULT {default}")  # information_schema gives it as an expression
    if "auto_increment" in extra.lower():
        parts.append("AUTO_INCREMENT")
    parts.extend(f"CHECK ({clause})" for clause in _column_checks(conn, table, name))
    return " ".join(parts)


def _column_checks(conn: Any, table: str, column: str) -> list[str]:
    """A column's own CHECK (MariaDB names it after the column): MODIFY COLUMN drops it
    unless restated."""
    try:
        rows = run_sql(
            conn,
            "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE "
            "CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = %s AND CONSTRAINT_NAME = %s "
            "AND LEVEL = 'Column'",
            (table, column),
        )
    except errors.PgError:
        return []  # MySQL has no column-level CHECKs to lose (nor this LEVEL column)
    return [str(r[0]) for r in rows]


def _drop_constraint(conn: Any, table: str, name: str, if_exists: bool) -> str | None:
    rows = run_sql(
        conn,
        "SELECT constraint_type, constraint_name FROM information_schema.table_constraints "
        "WHERE table_schema = DATABASE() AND table_name = %s AND constraint_name IN (%s, %s)",
        (table, name, "PRIMARY" if name == f"{table}_pkey" else name),
    )
    if not rows:
        if if_exists:
            return None
        raise errors.UndefinedObject(
            f'constraint "{name}" of relation "{table}" does not exist'
        )
    kind, real = rows[0]
    if kind == "PRIMARY KEY":
        return "DROP PRIMARY KEY"
    if kind == "FOREIGN KEY":
        return f"DROP FOREIGN KEY {_q(real)}"
    if kind == "UNIQUE":
        return f"DROP INDEX {_q(real)}"
    return f"DROP CONSTRAINT {_q(real)}"


def fill_references(conn: Any, tree: exp.Expr) -> None:
    """REFERENCES t gets t's primary key columns (from the statement itself when t is the
    table it creates)."""
    for reference in pure.bare_references(tree):
        parent = reference.this.name
        columns = _own_primary_key(tree, parent) or [r[0] for r in run_sql(
            conn,
            "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = "
            "DATABASE() AND TABLE_NAME = %s AND CONSTRAINT_NAME = 'PRIMARY' "
            "ORDER BY ORDINAL_POSITION",
            (parent,),
        )]
        if not columns:
            raise errors.from_sqlstate(
                "42830", f'there is no primary key for referenced table "{parent}"'
            )
        reference.set("this", exp.Schema(this=reference.this,
                                         expressions=[exp.to_identifier(c) for c in columns]))


def _own_primary_key(tree: exp.Expr, table: str) -> list[str]:
    if not (isinstance(tree, exp.Create) and isinstance(tree.this, exp.Schema)
            and tree.this.this.name == table):
        return []
    for node in tree.this.expressions:
        if isinstance(node, exp.PrimaryKey):
            return [c.name for c in node.expressions]
        if isinstance(node, exp.ColumnDef) and node.find(exp.PrimaryKeyColumnConstraint):
            return [node.name]
    return []


def alter_table(conn: Any, alter: exp.Alter) -> None:
    """One ALTER TABLE whose MODIFY and DROP clauses come from the current schema."""
    alter = enums.with_labels(conn, alter)
    fill_references(conn, alter)
    table = alter.this.name
    if not run_sql(conn, "SELECT 1 FROM information_schema.tables WHERE table_schema = "
                   "DATABASE() AND table_name = %s", (table,)):
        if alter.args.get("exists"):
            return
        raise errors.UndefinedTable(f'relation "{table}" does not exist')
    dialect = dialect_for(conn.backend.dialect)
    clauses = []
    for action in alter.args.get("actions") or []:
        if isinstance(action, exp.AlterColumn) and (
            action.args.get("dtype") is not None or action.args.get("allow_null") is not None
        ):
            clauses.append(_modify(conn, table, action, dialect))
        elif isinstance(action, exp.Drop) and action.kind == "CONSTRAINT":
            for target in action.args.get("tables") or []:
                clause = _drop_constraint(conn, table, target.name,
                                          bool(action.args.get("exists")))
                if clause:
                    clauses.append(clause)
        else:
            bare = alter.copy()
            bare.set("exists", False)
            clauses.append(pure.action_sql(dialect, bare.this, action))
    if clauses:
        run_sql(conn, literal(conn, f"ALTER TABLE {_q(table)} " + ", ".join(clauses)))


def modify_enum_columns(conn: Any, name: str, labels: list[str]) -> None:
    """After ALTER TYPE … ADD VALUE: each ENUM column of the type (its comment names it)
    restated with the labels in their order (MySQL sorts an ENUM by its labels' order)."""
    from dialects.enums import TYPE_MARK

    mark = TYPE_MARK + name
    kind = exp.DataType(this=exp.DType.ENUM, expressions=[exp.Literal.string(v) for v in labels])
    dialect = dialect_for(conn.backend.dialect)
    comment = exp.Literal.string(mark).sql(dialect="mysql")
    for table, column in run_sql(
        conn, "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE "
              "TABLE_SCHEMA = DATABASE() AND COLUMN_COMMENT = %s", (mark,)):
        action = exp.AlterColumn(this=exp.to_identifier(column), dtype=kind.copy())
        clause = _modify(conn, table, action, dialect)
        run_sql(conn, literal(conn, f"ALTER TABLE {_q(table)} {clause} COMMENT {comment}"))


ROUTINES = {
    "truncate": truncate,
    "drop_tables": drop_tables,
    "drop_index": drop_index,
    "rename_index": rename_index,
    "alter_table": alter_table,
    **enums.ROUTINES,
    "create_table": functools.partial(enums.create_table, references=fill_references),
}


def run(conn: Any, steps: Sequence[dialects.Step], values: Sequence[Any] = ()) -> StepsCursor:
    """The steps one after another: MySQL commits each DDL statement on its own (a routine
    that writes rows, UPDATE … RETURNING, runs all or none by itself)."""
    return each(conn, steps, {**ROUTINES, **returning.ROUTINES, **sequence_calls.ROUTINES}, values)
