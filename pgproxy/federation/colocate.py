"""Tables of one route joined in one SELECT: one part that joins them in their own backend.

Pure sqlglot over the qualified tree (pgproxy/federation/plan.py). Only where it
cannot change the answer: a SELECT whose joins are all inner (or cross), tables
of one route tied together by conditions that read only them. Those conditions go
down with the part; the other tables' joins stay for DuckDB, which sees the group
as one table whose columns are named `<alias>__<column>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.optimizer.scope import Scope


@dataclass(slots=True)
class Group:
    """Parts of one route that become one: the first (the anchor) stands for them all."""

    members: list[tuple[str, str]]  # (part key, alias), the anchor first
    conjuncts: list[exp.Expr] = field(default_factory=list)  # what joins them, as written
    columns: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (alias, col)


def colocate(scope: Scope, routes: dict[str, str]) -> list[Group]:
    """Group the tables of `scope`'s SELECT by route and rewrite the SELECT in place so
    each group is its anchor's table; `routes`: part key -> route."""
    select = scope.expression
    joins = select.args.get("joins") or []
    if not isinstance(select, exp.Select) or any(
        j.side
        or j.method
        or j.args.get("using")
        or (j.kind or "").upper() not in ("", "INNER", "CROSS")
        for j in joins
    ):
        return []  # an outer join: which rows survive depends on where each condition is
    aliases = {
        alias: source.name
        for alias, (_, source) in scope.selected_sources.items()
        if isinstance(source, exp.Table) and source.name in routes
    }
    conjuncts = [c for j in joins if j.args.get("on") is not None for c in _and(j.args["on"])]
    where = select.args.get("where")
    conjuncts += list(_and(where.this)) if where is not None else []
    groups = []
    for route in sorted({routes[k] for k in aliases.values()}):
        same = {a for a, k in aliases.items() if routes[k] == route}
        for component in _components(same, conjuncts):
            if len(component) > 1 and not _shadowed(select, scope, component):
                groups.append(_rewrite(select, scope, component, aliases, conjuncts))
    return groups


def _and(node: exp.Expr) -> list[exp.Expr]:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return [*_and(node.left), *_and(node.right)]
    return [node]


def _reads(conjunct: exp.Expr) -> set[str] | None:
    """The aliases a condition reads, or None if it cannot go to a backend as it is."""
    if conjunct.find(exp.Select, exp.AggFunc, exp.Window, exp.Subquery):
        return None
    return {c.table for c in conjunct.find_all(exp.Column)}


def _components(same: set[str], conjuncts: list[exp.Expr]) -> list[set[str]]:
    """The aliases of `same` tied together by conditions that read only them."""
    parent = {a: a for a in same}

    def root(a: str) -> str:
        while parent[a] != a:
            a = parent[a]
        return a

    for conjunct in conjuncts:
        reads = _reads(conjunct)
        if reads and len(reads) > 1 and reads <= same:
            first, *rest = sorted(reads)
            for other in rest:
                parent[root(other)] = root(first)
    out: dict[str, set[str]] = {}
    for alias in same:
        out.setdefault(root(alias), set()).add(alias)
    return list(out.values())


def _shadowed(select: exp.Select, scope: Scope, component: set[str]) -> bool:
    """A subquery naming a table of its own like one of the group (its columns would be
    rewritten too)."""
    direct = {id(node) for node, _ in scope.selected_sources.values()}
    for node in select.find_all(exp.Table, exp.Subquery):
        if id(node) not in direct and node.alias_or_name in component:
            return True
    return False


def _rewrite(
    select: exp.Select,
    scope: Scope,
    component: set[str],
    aliases: dict[str, str],
    conjuncts: list[exp.Expr],
) -> Group:
    order = [select.args["from_"].this, *(j.this for j in select.args.get("joins") or [])]
    members = [
        (aliases[n.alias_or_name], n.alias_or_name) for n in order if n.alias_or_name in component
    ]
    anchor = members[0][1]
    group = Group(members)
    for conjunct in conjuncts:
        reads = _reads(conjunct)
        if reads and reads <= component:
            group.conjuncts.append(conjunct.copy())
            conjunct.replace(exp.true())
    moved: list[exp.Expr] = []
    for join in list(select.args.get("joins") or []):
        alias = join.this.alias_or_name
        if alias in component and alias != anchor:
            on = join.args.get("on")
            if on is not None:
                moved.extend(c.copy() for c in _and(on))  # inner: the same in WHERE
            join.pop()
    if moved:
        select.where(exp.and_(*moved), copy=False)
    for column in list(select.find_all(exp.Column)):
        if column.table in component:
            name = f"{column.table}__{column.name}"
            group.columns[name] = (column.table, column.name)
            column.set("table", exp.to_identifier(anchor))
            column.set("this", exp.to_identifier(name))
    return group
