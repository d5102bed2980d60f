"""RETURNING where the backend lacks it: `UPDATE … RETURNING` as a plan of steps (MariaDB),
and a write's RETURNING list as a SELECT of its table, to describe its columns unrun.

The backend runs it as: read the keys of the matching rows (locking them),
update those rows by key, read the RETURNING list back by key (the new key
when the SET changes it). Which key to use needs the schema, so the plan holds
the statement's pieces in the backend's SQL and pgproxy/backends/returning.py
puts them together at run time; every value stays a bound placeholder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from dialects.api import Generated, Statement, Step, TranslationError

# Functions whose value differs per call: a key set by one cannot be computed ahead.
_VOLATILE = frozenset({"random", "rand", "uuid", "gen_random_uuid", "uuid_generate_v4",
                       "nextval", "clock_timestamp", "timeofday", "sys_guid", "uuid_short"})


@dataclass(frozen=True, slots=True)
class Piece:
    """Backend SQL for part of the statement and how many bound values it takes."""

    sql: str
    nvalues: int


@dataclass(frozen=True, slots=True)
class UpdatePlan:
    """What the run-time routine needs; its values come in this order: each
    assignment's, the WHERE's, the RETURNING list's."""

    table: str  # the table's bare name, for the key lookup
    schema: str | None  # its database when the statement names one
    target: str  # the table as the backend spells it, alias included
    qualifier: str  # the alias or table name that qualifies its columns
    assignments: tuple[tuple[str, Piece, bool], ...]  # column, expression, volatile
    where: Piece | None
    returning: Piece


def update_plan(tree: exp.Update, sql: Callable[[exp.Expr], Generated]) -> Step:
    """The step that runs `tree` (after the dialect's rewrites) with its RETURNING."""
    table = tree.this
    if tree.args.get("from_") or tree.args.get("joins") or not isinstance(table, exp.Table):
        raise TranslationError(
            "UPDATE … FROM … RETURNING is not supported on this backend; "
            "run the UPDATE, then SELECT the rows", "0A000")
    if tree.args.get("with_"):
        raise TranslationError(
            "WITH … UPDATE … RETURNING is not supported on this backend; "
            "run the UPDATE, then SELECT the rows", "0A000")
    params: list[int | str] = []

    def piece(node: exp.Expr) -> Piece:
        generated = sql(node)
        params.extend(generated.params)
        return Piece(generated.sql, len(generated.params))

    pairs: list[tuple[exp.Expr, exp.Expr]] = []
    for eq in tree.expressions:  # SET (a, b) = (1, 2) is SET a = 1, b = 2
        left, right = eq.this, eq.expression
        if isinstance(left, exp.Tuple) and isinstance(right, exp.Tuple) and len(
            left.expressions) == len(right.expressions):
            pairs.extend(zip(left.expressions, right.expressions, strict=True))
        else:
            pairs.append((left, right))
    if not all(isinstance(column, exp.Column) for column, _ in pairs):
        raise TranslationError(
            "UPDATE … SET (a, b) = (SELECT …) RETURNING is not supported on this backend",
            "0A000")
    assignments = tuple((column.name, piece(value), _volatile(value))
                        for column, value in pairs)
    where = tree.args.get("where")
    condition = piece(exp.Paren(this=where.this)) if where is not None else None
    items = [piece(item) for item in tree.args["returning"].expressions]
    listed = Piece(", ".join(i.sql for i in items), sum(i.nvalues for i in items))
    qualifier = exp.to_identifier(table.alias_or_name, quoted=True)
    plan = UpdatePlan(
        table=table.name,
        schema=table.db or None,
        target=sql(table).sql,
        qualifier=sql(qualifier).sql,
        assignments=assignments,
        where=condition,
        returning=listed,
    )
    # Describe: the RETURNING list over the table gives the result's columns.
    describe = f"SELECT {listed.sql} FROM {sql(table).sql} WHERE FALSE"
    return Step(sql=describe, routine="update_returning", args=(plan,), params=tuple(params),
                result=True)


def _volatile(node: exp.Expr) -> bool:
    for call in node.find_all(exp.Func):
        name = (call.name if isinstance(call, exp.Anonymous) else call.sql_name()).lower()
        if name in _VOLATILE or isinstance(call, exp.Rand):
            return True
    return False


def returning_select(stmt: Statement) -> str | None:
    """`SELECT <RETURNING list> FROM <target> WHERE false` in PostgreSQL's dialect, or None.

    Some backends plan a write without reporting the columns its RETURNING
    yields (MariaDB's COM_STMT_PREPARE gives none); the same expressions over
    the same table, selected, have the same names and types and change nothing.
    """
    tree = stmt.expression
    if not isinstance(tree, exp.Insert | exp.Update | exp.Delete):
        return None
    returning = tree.args.get("returning")
    target = tree.this
    if isinstance(target, exp.Schema):  # INSERT INTO t (a, b)
        target = target.this
    if returning is None or not isinstance(target, exp.Table):
        return None
    select = exp.select(*(e.copy() for e in returning.expressions)).from_(target.copy())
    # UPDATE … FROM and DELETE … USING: the other tables the list may name.
    others = [tree.args.get(key) for key in ("from", "from_", "using")]
    for other in others:
        for table in _tables(other):
            select = select.join(table.copy(), join_type="cross")
    return select.where(exp.false()).sql(dialect="postgres")


def _tables(node: object) -> list[exp.Expression]:
    if isinstance(node, list):
        return [t for t in node if isinstance(t, exp.Expression)]
    if isinstance(node, exp.From):
        return [node.this, *node.expressions]
    return [node] if isinstance(node, exp.Expression) else []
