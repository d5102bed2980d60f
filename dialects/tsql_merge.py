"""INSERT … ON CONFLICT as SQL Server's MERGE, which inserts or updates in one statement.

`INSERT INTO t (id, a) VALUES … ON CONFLICT (id) DO UPDATE SET a = excluded.a`
becomes `MERGE INTO t WITH (HOLDLOCK) USING (VALUES …) AS excluded (id, a) ON
t.id = excluded.id WHEN MATCHED THEN UPDATE SET a = excluded.a WHEN NOT MATCHED
THEN INSERT (id, a) VALUES (excluded.id, excluded.a);`. HOLDLOCK keeps the
lookup and the write one atomic step, as ON CONFLICT is. The source is named
`excluded`, PostgreSQL's own name for the proposed row, so the client's SET
and WHERE read as written. RETURNING (already OUTPUT INSERTED.…) gives the
inserted and the updated rows, as PostgreSQL's does.
"""

from __future__ import annotations

import typing as t

from sqlglot import exp

from dialects.base import unsupported

_SOURCE = "excluded"


def on_conflict_sql(self: t.Any, insert: exp.Insert) -> str:
    conflict = insert.args["conflict"]
    schema = insert.this
    if not isinstance(schema, exp.Schema) or not schema.expressions:
        unsupported("tsql: ON CONFLICT needs the INSERT's column list on SQL Server (MERGE)")
    if conflict.args.get("constraint") is not None:
        unsupported("tsql: ON CONFLICT ON CONSTRAINT: name the key's columns instead")
    keys = [k.this if isinstance(k, exp.Ordered) else k
            for k in conflict.args.get("conflict_keys") or []]
    if not keys:
        unsupported("tsql: ON CONFLICT needs its key columns on SQL Server (MERGE)")
    table = schema.this
    alias = table.args.get("alias")
    target_name = alias.name if alias is not None else table.name
    target = exp.to_identifier(target_name)
    columns = [exp.to_identifier(c.name) for c in schema.expressions]

    def own(node: exp.Expr) -> exp.Expr:
        """A bare column in SET or WHERE is the existing row's, as in PostgreSQL."""
        if isinstance(node, exp.Column) and not node.table:
            return exp.column(node.this.copy(), table=target.copy())
        return node

    source_sql = f"({self.sql(insert.expression)})"
    bare = table.copy()
    bare.set("alias", None)
    as_alias = f" AS {self.sql(alias.this)}" if alias is not None else ""
    column_list = ", ".join(self.sql(c) for c in columns)
    on = " AND ".join(
        f"{self.sql(target)}.{self.sql(k)} = {_SOURCE}.{self.sql(k)}" for k in keys)
    parts = [
        f"MERGE INTO {self.sql(bare)} WITH (HOLDLOCK){as_alias}",
        f"USING {source_sql} AS {_SOURCE} ({column_list})",
        f"ON {on}",
    ]
    action = conflict.text("action").upper()
    if action == "DO UPDATE":
        sets = ", ".join(
            f"{self.sql(s.this)} = {self.sql(s.expression.transform(own))}"
            if isinstance(s, exp.EQ) else self.sql(s)
            for s in conflict.expressions
        )
        where = conflict.args.get("where")
        condition = f" AND {self.sql(where.this.transform(own))}" if where is not None else ""
        parts.append(f"WHEN MATCHED{condition} THEN UPDATE SET {sets}")
    values = ", ".join(f"{_SOURCE}.{self.sql(c)}" for c in columns)
    parts.append(f"WHEN NOT MATCHED THEN INSERT ({column_list}) VALUES ({values})")
    returning = insert.args.get("returning")
    if returning is not None:
        parts.append(self.sql(returning).strip())
    return " ".join(parts) + ";"
