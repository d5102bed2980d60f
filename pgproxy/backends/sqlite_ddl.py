"""Runs steps on SQLite atomically, and SQLite's table rebuild for ALTER TABLE.

The rebuild is the procedure SQLite's documentation gives
(https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table
Schema Changes"): with foreign keys off (possible only outside a transaction
block), in one transaction: create the new table, copy the rows, drop the
old table, rename the new one, recreate the indexes and triggers, run
foreign_key_check, commit. Inside a transaction block foreign keys cannot be
turned off, so a table other tables reference is refused there (dropping it
would fire their ON DELETE actions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlglot import exp

import dialects
from dialects import sqlite_ddl as pure
from dialects.generation import dialect_for
from pgproxy import errors
from pgproxy.backends import enums, sqlite_sequences
from pgproxy.backends.steps import StepsCursor, each, run_sql

_SAVEPOINT = "pgproxy_ddl"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def run(conn: Any, steps: Sequence[dialects.Step], values: Sequence[Any] = ()) -> StepsCursor:
    """All steps in one savepoint: they commit or roll back together."""
    rebuilds = any(s.routine in ("alter_table", "add_identity", "rename_constraint")
                   for s in steps)
    fk_off = rebuilds and not conn.in_transaction and _foreign_keys(conn)
    if fk_off:
        run_sql(conn, "PRAGMA foreign_keys = OFF")  # only takes effect outside a transaction
    try:
        run_sql(conn, f"SAVEPOINT {_SAVEPOINT}")
        try:
            result = each(conn, steps, ROUTINES, values)
            if fk_off:
                _foreign_key_check(conn)
            # Outside a transaction block this commits, and deferred checks run here.
            run_sql(conn, f"RELEASE {_SAVEPOINT}")
        except BaseException:
            run_sql(conn, f"ROLLBACK TO {_SAVEPOINT}")
            run_sql(conn, f"RELEASE {_SAVEPOINT}")
            raise
    finally:
        if fk_off:
            run_sql(conn, "PRAGMA foreign_keys = ON")
    return result


def _foreign_keys(conn: Any) -> bool:
    return bool(run_sql(conn, "PRAGMA foreign_keys")[0][0])


def _foreign_key_check(conn: Any, table: str | None = None) -> None:
    bad = run_sql(conn, f"PRAGMA foreign_key_check({_q(table)})" if table else
                  "PRAGMA foreign_key_check")
    if bad:
        table, _, parent, _ = bad[0]
        raise errors.from_sqlstate(
            "23503",
            f'insert or update on table "{table}" violates foreign key constraint '
            f'(a row references a missing key of "{parent}")',
        )


def _table_sql(conn: Any, table: str) -> str | None:
    rows = run_sql(conn, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                   (table,))
    return rows[0][0] if rows else None


def _referencing(conn: Any, table: str) -> list[tuple[str, str]]:
    """(child table, its ON DELETE action) for each foreign key of another table to `table`
    (also with foreign keys off: they are still declared)."""
    found = []
    for (name,) in run_sql(conn, "SELECT name FROM sqlite_master WHERE type = 'table'"):
        if name == table:
            continue
        for fk in run_sql(conn, f"PRAGMA foreign_key_list({_q(name)})"):
            if fk[2] == table:
                found.append((name, str(fk[6]).upper()))
    return found


def rename_constraint(conn: Any, table: str, old: str, new: str, if_exists: bool) -> None:
    """ALTER TABLE … RENAME CONSTRAINT: the name lives in the CREATE TABLE, so a rebuild."""
    alter = exp.Alter(this=exp.to_table(table), kind="TABLE", actions=[],
                      exists=if_exists)
    alter_table(conn, alter, (old, new))


def drop_tables(conn: Any, names: tuple[str, ...], if_exists: bool, cascade: bool) -> None:
    """DROP TABLE as PostgreSQL does it: a table another one references is refused (2BP01),
    or with CASCADE those references go and their rows stay. SQLite's own DROP would
    delete as far as the references can tell, firing their ON DELETE actions."""
    present = []
    for name in names:
        kind = run_sql(conn, "SELECT type FROM sqlite_temp_master WHERE name = ?1 AND type IN "
                             "('table', 'view') UNION ALL SELECT type FROM sqlite_master "
                             "WHERE name = ?1 AND type IN ('table', 'view')", (name,))
        if not kind:
            if if_exists:
                continue
            raise errors.UndefinedTable(f'table "{name}" does not exist')
        if kind[0][0] != "table":
            raise errors.from_sqlstate("42809", f'"{name}" is not a table')
        present.append(name)
    for name in present:  # PostgreSQL's rule, whether SQLite enforces foreign keys or not
        for child in sorted({child for child, _ in _referencing(conn, name)}):
            if child in present:
                continue
            if not cascade:
                raise errors.from_sqlstate(
                    "2BP01", f'cannot drop table "{name}" because other objects depend on it:'
                    f' a foreign key of table "{child}" references it (use DROP ... CASCADE '
                    "to drop the reference too)")
            alter_table(conn, exp.Alter(this=exp.to_table(child), kind="TABLE", actions=[]),
                        unreference=name)
    deferred = run_sql(conn, "PRAGMA defer_foreign_keys")[0][0]
    # Tables dropped together may reference each other, in any order.
    run_sql(conn, "PRAGMA defer_foreign_keys = ON")
    for name in present:
        run_sql(conn, f"DROP TABLE {_q(name)}")
    run_sql(conn, f"PRAGMA defer_foreign_keys = {int(deferred)}")
    sqlite_sequences.drop_owned_sequences(conn, tuple(present))


def alter_table(conn: Any, alter: Any, rename: tuple[str, str] | None = None,
                unreference: str | None = None) -> None:
    """ALTER TABLE by rebuilding the table (see the module's docstring)."""
    table = alter.this.name
    create_sql = _table_sql(conn, table)
    if create_sql is None:
        if alter.args.get("exists"):
            return
        raise errors.UndefinedTable(f'relation "{table}" does not exist')
    # run() turned foreign keys off when it could (outside a transaction block). Inside one,
    # dropping the old table deletes its rows as far as other tables' foreign keys can tell:
    # their checks wait (defer_foreign_keys) until the rows are back, but an ON DELETE
    # action would fire at once, so such a table is refused.
    referencing = _referencing(conn, table) if _foreign_keys(conn) else []
    if any(action != "NO ACTION" for _, action in referencing):
        raise errors.FeatureNotSupported(
            f'sqlite: this ALTER TABLE rebuilds "{table}", which other tables reference with '
            "ON DELETE actions; run it outside a transaction block"
        )
    declared = {row[1]: row[2] for row in run_sql(conn, f"PRAGMA table_xinfo({_q(table)})")}
    alter = enums.with_labels(conn, alter)
    try:
        plan = pure.rebuild(table, create_sql, declared, alter, dialect_for("sqlite"), rename,
                            unreference)
    except dialects.TranslationError as exc:
        raise errors.from_sqlstate(exc.sqlstate, exc.message) from None
    indexes = run_sql(conn, "SELECT sql FROM sqlite_master WHERE type = 'index' AND "
                      "tbl_name = ? AND sql IS NOT NULL", (table,))
    triggers = run_sql(conn, "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND "
                       "tbl_name = ?", (table,))
    autoinc = run_sql(conn, "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")
    seq = run_sql(conn, "SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)) if (
        autoinc
    ) else []
    for name, options in plan.sequences:
        run_sql(conn, dialects.sequences.CREATE_TABLE)
        definition = dialects.sequences.resolve(options)
        sqlite_sequences.create_sequence(conn, name, False, tuple(definition.items()))
    if referencing:
        _swap_held(conn, table, plan, [child for child, _ in referencing])
    else:
        _swap(conn, table, plan)
    for (sql,) in indexes:
        rewritten = pure.index_sql(sql, plan.renamed, plan.dropped)
        if rewritten is not None:
            run_sql(conn, rewritten)
    for (sql,) in triggers:
        run_sql(conn, sql)
    if seq:
        run_sql(conn, "UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (seq[0][0], table))
    if plan.dropped and run_sql(conn, "SELECT 1 FROM sqlite_master WHERE name = ?",
                                (dialects.sequences.TABLE,)):
        for column in plan.dropped:
            owned = run_sql(conn, f"SELECT name FROM {dialects.sequences.TABLE} WHERE "
                            "owned_table = ? AND owned_column = ?", (table, column))
            sqlite_sequences.drop_sequences(conn, tuple(n for (n,) in owned), True)
    if plan.check_foreign_keys and _foreign_keys(conn):
        _foreign_key_check(conn)
    for old, new in plan.renamed.items():
        sqlite_sequences.rename_owned(conn, table, table, old, new)
    if plan.rename_to:
        run_sql(conn, f"ALTER TABLE {_q(table)} RENAME TO {_q(plan.rename_to)}")
        sqlite_sequences.rename_owned(conn, table, plan.rename_to, "", "")


def _copy_sql(plan: pure.Rebuild, into: str, source: str) -> str:
    return (f"INSERT INTO {into} ({', '.join(plan.copy_columns)}) "
            f"SELECT {', '.join(plan.copy_values)} FROM {source}")


def _swap(conn: Any, table: str, plan: pure.Rebuild) -> None:
    """SQLite's documented order: new table, copy, drop the old one, rename the new one."""
    new = table + pure.NEW_SUFFIX
    run_sql(conn, plan.create_sql)
    if plan.copy_columns:
        run_sql(conn, _copy_sql(plan, _q(new), _q(table)))
    run_sql(conn, f"DROP TABLE {_q(table)}")
    legacy = run_sql(conn, "PRAGMA legacy_alter_table")[0][0]
    # The new table takes the old one's name; views and other tables' references keep it.
    run_sql(conn, "PRAGMA legacy_alter_table = ON")
    try:
        run_sql(conn, f"ALTER TABLE {_q(new)} RENAME TO {_q(table)}")
    finally:
        run_sql(conn, f"PRAGMA legacy_alter_table = {int(legacy)}")


def _swap_held(conn: Any, table: str, plan: pure.Rebuild, children: list[str]) -> None:
    """With foreign keys on: the rows wait in a temporary table while the table is dropped
    and made anew under its own name, so other tables' references find their rows again."""
    hold = _q(table + "__pgproxy_hold")
    deferred = run_sql(conn, "PRAGMA defer_foreign_keys")[0][0]
    run_sql(conn, "PRAGMA defer_foreign_keys = ON")
    run_sql(conn, f"CREATE TEMP TABLE {hold} AS SELECT * FROM {_q(table)}")
    run_sql(conn, f"DROP TABLE {_q(table)}")
    new = _q(table + pure.NEW_SUFFIX)
    run_sql(conn, plan.create_sql.replace(new, _q(table), 1))
    if plan.copy_columns:
        run_sql(conn, _copy_sql(plan, _q(table), f"temp.{hold}"))
    run_sql(conn, f"DROP TABLE temp.{hold}")
    for child in children:
        _foreign_key_check(conn, child)
    # Turning it off forgets the deferred violations: the check above found none.
    run_sql(conn, f"PRAGMA defer_foreign_keys = {int(deferred)}")


def rename_index(conn: Any, name: str, new: str, if_exists: bool) -> None:
    """SQLite has no ALTER INDEX: the index is made again, under its new name."""
    rows = run_sql(conn, "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                   (name,))
    if not rows:
        if if_exists:
            return
        raise errors.UndefinedTable(f'relation "{name}" does not exist')
    if rows[0][0] is None:  # the index behind a PRIMARY KEY or UNIQUE constraint
        raise errors.FeatureNotSupported(
            f'sqlite: index "{name}" belongs to a constraint; SQLite cannot rename it'
        )
    if run_sql(conn, "SELECT 1 FROM sqlite_master WHERE name = ?", (new,)):
        raise errors.DuplicateTable(f'relation "{new}" already exists')
    run_sql(conn, f"DROP INDEX {_q(name)}")
    run_sql(conn, pure.renamed_index(rows[0][0], new))


_IDENTITY_TYPES = {"SMALLINT": "smallint", "INT2": "smallint", "INT": "integer",
                   "INTEGER": "integer", "INT4": "integer"}


def add_identity(conn: Any, table: str, column: str, name: str,
                 options: tuple[tuple[str, Any], ...]) -> None:
    """pg_dump's ADD GENERATED … AS IDENTITY: a sequence of the column's type, owned by it,
    and the column's default becomes its nextval()."""
    declared = {row[1]: row[2] for row in run_sql(conn, f"PRAGMA table_xinfo({_q(table)})")}
    if column not in declared:
        raise errors.UndefinedColumn(f'column "{column}" of relation "{table}" does not exist')
    given = dict(options)
    given.setdefault("data_type", _IDENTITY_TYPES.get((declared[column] or "").upper(),
                                                      "bigint"))
    try:
        definition = dialects.sequences.resolve(given)
    except dialects.TranslationError as exc:
        raise errors.from_sqlstate(exc.sqlstate, exc.message) from None
    sqlite_sequences.create_sequence(conn, name, False, tuple(definition.items()))
    call = exp.Anonymous(this="nextval", expressions=[exp.Literal.string(name)])
    alter = exp.Alter(this=exp.to_table(table), kind="TABLE", actions=[
        exp.AlterColumn(this=exp.to_identifier(column), default=call),
    ])
    alter_table(conn, alter)


def truncate(conn: Any, tables: tuple[str, ...], restart: bool, cascade: bool) -> None:
    """TRUNCATE as PostgreSQL does it: tables that reference a truncated one are truncated
    with it (CASCADE) or the statement is refused, so no foreign key is left dangling."""
    names = list(tables)
    if _foreign_keys(conn):
        for name in names:  # grows with CASCADE
            for child, _ in _referencing(conn, name):
                if child in names:
                    continue
                if not cascade:
                    raise errors.FeatureNotSupported(
                        f'cannot truncate a table referenced in a foreign key constraint: '
                        f'"{child}" references "{name}" (truncate it at the same time, or use '
                        "TRUNCATE ... CASCADE)"
                    )
                names.append(child)
    deferred = run_sql(conn, "PRAGMA defer_foreign_keys")[0][0]
    # The tables may reference each other: checked once they are all empty, not per row.
    run_sql(conn, "PRAGMA defer_foreign_keys = ON")
    for name in names:
        run_sql(conn, f"DELETE FROM {_q(name)}")
    if restart:
        sqlite_sequences.restart_owned_sequences(conn, tuple(names))
    run_sql(conn, f"PRAGMA defer_foreign_keys = {int(deferred)}")


def relax_enum_checks(conn: Any, name: str, old: list[str], new: list[str]) -> None:
    """After ALTER TYPE … ADD / RENAME VALUE: each column of the enum gets a CHECK of the
    new labels, in place, by SQLite's documented writable_schema procedure (ALTER TABLE,
    section 7): the rows already there satisfy it (a rename updates them in between)."""
    from dialects.enums import check_sql

    columns: dict[str, list[str]] = {}
    for table, column in enums.columns_of(conn, name):
        columns.setdefault(table, []).append(column)
    version = run_sql(conn, "PRAGMA schema_version")[0][0]
    changed = False
    for table, names in columns.items():
        create_sql = _table_sql(conn, table) or ""
        sql = create_sql
        for column in names:
            sql = sql.replace(check_sql(column, old), check_sql(column, new))
        if sql != create_sql:
            run_sql(conn, "PRAGMA writable_schema = ON")
            try:
                run_sql(conn, "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND"
                              " name = ?", (sql, table))
            finally:
                run_sql(conn, "PRAGMA writable_schema = OFF")
            changed = True
    if changed:
        run_sql(conn, f"PRAGMA schema_version = {int(version) + 1}")


ROUTINES = {
    "alter_table": alter_table,
    "truncate": truncate,
    "rename_index": rename_index,
    "rename_constraint": rename_constraint,
    "drop_tables": drop_tables,
    "rename_owned": sqlite_sequences.rename_owned,
    "add_identity": add_identity,
    "create_sequence": sqlite_sequences.create_sequence,
    "alter_sequence": sqlite_sequences.alter_sequence,
    "drop_sequences": sqlite_sequences.drop_sequences,
    "drop_owned_sequences": sqlite_sequences.drop_owned_sequences,
    **enums.ROUTINES,
}
