"""What drops the object a CREATE made, for a backend that commits DDL by itself.

MySQL and MariaDB commit a CREATE TABLE (VIEW, INDEX) at once, inside a client's
transaction block too. The proxy keeps the block open (a new transaction begins
at once) and remembers, per statement, how to drop what it made, so that a
ROLLBACK of the block removes it as PostgreSQL's would. The SQL is built from
the statement's own names, quoted by the backend's generator; nothing here is a
client's value.
"""

from __future__ import annotations

from sqlglot import exp

from dialects.api import Statement, Target
from dialects.generation import dialect_for

_DROPPED = frozenset({"TABLE", "VIEW", "INDEX"})


def undo_create(statement: Statement, target: Target) -> str:
    """`DROP … IF EXISTS` of what `statement` creates; '' when it creates nothing to drop
    (IF NOT EXISTS may have found it there, OR REPLACE replaced something, a temporary
    table is no DDL to MySQL)."""
    tree = statement.expression
    if not isinstance(tree, exp.Create) or tree.args.get("exists") or tree.args.get("replace"):
        return ""
    kind = str(tree.args.get("kind") or "").upper()
    properties = tree.args.get("properties")
    if kind not in _DROPPED or (properties is not None and any(
            isinstance(p, exp.TemporaryProperty) for p in properties.expressions)):
        return ""
    generate = dialect_for(target.dialect).generator().generate
    made = tree.this
    if kind == "INDEX":
        name, table = made.this, made.args.get("table")
        if not isinstance(name, exp.Identifier) or not isinstance(table, exp.Table):
            return ""  # an index PostgreSQL names itself: the proxy does not know the name
        return f"DROP INDEX IF EXISTS {generate(name.copy())} ON {generate(_unqualified(table))}"
    if isinstance(made, exp.Schema):  # CREATE TABLE t (columns)
        made = made.this
    if not isinstance(made, exp.Table):
        return ""
    return f"DROP {kind} IF EXISTS {generate(_unqualified(made))}"


def _unqualified(table: exp.Table) -> exp.Table:
    """The table as the backend names it: `public` is the connected database there."""
    table = table.copy()
    if table.args.get("db") is not None and table.db.lower() == "public":
        table.set("db", None)
    return table
