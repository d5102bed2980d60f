"""PostgreSQL (Doltgres-style) to Dolt's MySQL dialect: MySQL's rules plus time travel and branches.

Dolt reads `t AS OF 'ref'` and `t AS OF TIMESTAMP('...')` (a bare date string
would be taken as a branch name), and a branch as the revision database
`` `mydb/feature-x`.t ``. Doltgres's function style for version control,
`SELECT dolt_commit('-Am', 'msg')`, becomes the stored procedure
`CALL DOLT_COMMIT('-Am', 'msg')`. Dolt's default collation is already
case-sensitive, so tables get no collation clause.
"""

from __future__ import annotations

import typing as t

from sqlglot import exp

from dialects.mysql import PREPROCESS_MYSQL, PgProxyMySQL

# Dolt's version-control stored procedures (https://docs.dolthub.com/sql-reference/version-control).
PROCEDURES = frozenset(
    {
        "dolt_add", "dolt_backup", "dolt_branch", "dolt_checkout", "dolt_cherry_pick",
        "dolt_clean", "dolt_clone", "dolt_commit", "dolt_conflicts_resolve", "dolt_fetch",
        "dolt_gc", "dolt_merge", "dolt_pull", "dolt_purge_dropped_databases", "dolt_push",
        "dolt_rebase", "dolt_remote", "dolt_reset", "dolt_revert", "dolt_stash", "dolt_tag",
        "dolt_undrop", "dolt_verify_constraints",
    }
)


def _version_sql(self: t.Any, expression: exp.Version) -> str:
    value = self.sql(expression, "expression")
    if expression.name.upper() == "TIMESTAMP":
        return f"AS OF TIMESTAMP({value})"
    return f"AS OF {value}"


def procedure_call(expression: exp.Expr) -> exp.Expr:
    """`SELECT dolt_commit(...)` alone, with no FROM, is a call of Dolt's procedure."""
    if not isinstance(expression, exp.Select) or expression.args.get("from_") or len(
        expression.expressions
    ) != 1:
        return expression
    call = expression.expressions[0]
    if isinstance(call, exp.Alias):
        call = call.this
    if isinstance(call, exp.Anonymous) and call.name.lower() in PROCEDURES:
        return exp.Command(
            this="CALL",
            expression=exp.Anonymous(this=call.name.upper(), expressions=call.expressions),
        )
    return expression


def _command_sql(self: t.Any, expression: exp.Command) -> str:
    rest = expression.expression
    return f"{expression.this} {self.sql(rest) if isinstance(rest, exp.Expr) else rest}"


class PgProxyDolt(PgProxyMySQL):
    BACKEND = "dolt"
    PREPROCESS = (*PREPROCESS_MYSQL, procedure_call)
    TRANSFORMS = {
        **PgProxyMySQL.TRANSFORMS,
        exp.Version: _version_sql,
        exp.Command: _command_sql,
    }
