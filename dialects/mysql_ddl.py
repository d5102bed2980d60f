"""PostgreSQL DDL that MySQL and MariaDB have no single statement for, as steps.

TRUNCATE of tables that reference each other, ALTER COLUMN … TYPE / SET NOT
NULL (MODIFY COLUMN needs the column's whole current definition) and DROP
CONSTRAINT (the statement depends on the constraint's kind) need the schema,
so they become routines of pgproxy/backends/mysql_ddl.py. MySQL's DDL commits
on its own: none of this is transactional (see DIFFERENCES.md).
"""

from __future__ import annotations

import typing as t

from sqlglot import exp

from dialects import composites, enums
from dialects.api import Step
from dialects.sqlite_ddl import truncate_cascades

if t.TYPE_CHECKING:
    from dialects.base import PgProxyBackend


def plan(tree: exp.Expr, dialect: PgProxyBackend) -> tuple[Step, ...] | None:
    if (steps := composites.plan(tree, dialect.BACKEND)) is not None:
        return steps
    if isinstance(tree, exp.Create) and tree.kind == "TYPE":
        return enums.create_type(tree, dialect.BACKEND)
    if isinstance(tree, exp.Create) and tree.kind == "TABLE" and (
        enums.candidates(tree) or bare_references(tree)
    ):
        return (Step(routine="create_table", args=(tree,)),)
    if isinstance(tree, exp.Drop) and tree.kind == "TABLE":
        # PostgreSQL drops tables that reference each other together, in any order, and
        # refuses (or with CASCADE, unlinks) a table other tables reference.
        names = tuple(n.name for n in tree.args.get("tables") or [tree.this])
        return (Step(routine="drop_tables", args=(names, bool(tree.args.get("exists")),
                                                  bool(tree.args.get("cascade")))),)
    if isinstance(tree, exp.TruncateTable):
        names = tuple(n.name for n in tree.expressions)
        return (Step(routine="truncate", args=(names, truncate_cascades(tree))),)
    if isinstance(tree, exp.Alter) and tree.kind == "TABLE":
        _foreign_key_options(tree)
        tree.set("only", False)  # no inheritance here: ONLY changes nothing
        actions = tree.args.get("actions") or []
        if not actions:
            return (Step(sql="DO 0"),)  # everything in it was a storage option
        if any(_needs_schema(a) for a in actions) or tree.args.get("exists") or (
            bare_references(tree) or enums.candidates(tree)
        ):
            return (Step(routine="alter_table", args=(tree,)),)
    return None


def bare_references(tree: exp.Expr) -> list[exp.Reference]:
    """REFERENCES t without a column list: PostgreSQL means t's primary key, MySQL refuses."""
    return [r for r in tree.find_all(exp.Reference) if isinstance(r.this, exp.Table)]


def _needs_schema(action: exp.Expr) -> bool:
    if isinstance(action, exp.AlterColumn):
        return action.args.get("dtype") is not None or action.args.get("allow_null") is not None
    return isinstance(action, exp.Drop) and action.kind == "CONSTRAINT"


def _foreign_key_options(tree: exp.Alter) -> None:
    """DEFERRABLE and NOT VALID have no MySQL spelling: checks stay immediate, rows checked."""
    tree.set("not_valid", False)
    for reference in tree.find_all(exp.Reference):
        options = [o for o in reference.args.get("options") or []
                   if "DEFERRABLE" not in str(o).upper() and "INITIALLY" not in str(o).upper()]
        reference.set("options", options)


def action_sql(dialect: PgProxyBackend, table: exp.Expr, action: exp.Expr) -> str:
    """One ALTER TABLE action as MySQL writes it (the text after `ALTER TABLE t `)."""
    one = exp.Alter(this=table.copy(), kind="TABLE", actions=[action.copy()])
    sql = dialect.generator().generate(one)
    prefix = dialect.generator().generate(exp.Alter(this=table.copy(), kind="TABLE", actions=[]))
    return sql[len(prefix):].strip()
