"""The column each untyped `$n` is bound to, so the proxy can type it as PostgreSQL would.

PostgreSQL infers an uncast parameter's type from its context: the target
column of an INSERT or UPDATE, the other side of a comparison. Drivers such as
asyncpg encode values by the types ParameterDescription reports, so a `$1`
reported as text refuses an int. This module finds, for each `$n` of unknown
type, the (table, column) it meets; the proxy looks the column's type up in
the backend's schema. Pure: no I/O, no schema.

A binding is `(index, table, column)`: the 0-based parameter index, the table's
bare name lower-cased ('' when the column could belong to several tables in
scope), and the column's name lower-cased, or `#<position>` (1-based) for an
INSERT without a column list. `LIMIT $n` / `OFFSET $n` need no schema: they
are int8, set straight into the parameter types. A parameter meets a column
through a comparison, IN, BETWEEN, an assignment, arithmetic (`qty + $1` is
qty's type, as PostgreSQL resolves an unknown operand to the other one's type),
containment (`j @> $1`) or COALESCE / NULLIF / GREATEST / LEAST; when the other
side is an expression whose type the text fixes (`$1 + 1`, `x::jsonb @> $1`),
that type is set straight away, and so are the arguments of functions with one
signature (`lower($1)` is text).
"""

from __future__ import annotations

from sqlglot import exp

from dialects.typeoids import expr_oid

INT8 = 20
TEXT = 25

Binding = tuple[int, str, str]

# Binary operators whose unknown operand PostgreSQL types as the other operand.
_COMPARISONS: tuple[type[exp.Expr], ...] = (
    exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE, exp.Like, exp.ILike, exp.NullSafeEQ,
    exp.NullSafeNEQ, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.IntDiv,
    exp.ArrayContainsAll, exp.ArrayContainedBy, exp.JSONBContains, exp.ArrayOverlaps,
)
# Functions whose arguments share one type: a parameter takes its siblings' type.
_SAME_TYPED: tuple[type[exp.Expr], ...] = (exp.Coalesce, exp.Nullif, exp.Greatest, exp.Least)
# Functions with one signature whose parameters are text (`lower($1)`, `$1 || x`, `j ? $1`).
_TEXT_ARGS: tuple[type[exp.Expr], ...] = (
    exp.Lower, exp.Upper, exp.Length, exp.Trim, exp.Initcap, exp.DPipe, exp.Concat,
    exp.JSONBContainsTopKey, exp.RegexpLike, exp.RegexpILike, exp.StartsWith, exp.MD5,
)
_SCOPES: tuple[type[exp.Expr], ...] = (exp.Select, exp.Update, exp.Delete, exp.Insert)
_UNKNOWN = object()  # a source that is not a plain table (subquery, CTE, function)


def bind(
    expression: exp.Expr, param_types: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[Binding, ...]]:
    """(param_types with LIMIT/OFFSET filled in, bindings of the still-unknown params)."""
    if not param_types or all(param_types):
        return param_types, ()
    types = list(param_types)
    found: dict[int, tuple[str, str]] = {}
    ctes = {cte.alias_or_name.lower() for cte in expression.find_all(exp.CTE)}
    scopes: dict[int, dict[str, object]] = {}

    def unknown(index: int | None) -> bool:
        return index is not None and types[index] == 0 and index not in found

    for node in expression.find_all(exp.Parameter):
        index = _index(node, len(types))
        if not unknown(index):
            continue
        assert index is not None
        parent = node.parent
        while isinstance(parent, exp.Paren):
            parent = parent.parent
        if isinstance(parent, (exp.Limit, exp.Offset, exp.Fetch)):
            types[index] = INT8
            continue
        column = _bound_column(node, parent)
        if column is None:
            typed = _context_oid(node, parent)
            if typed:
                types[index] = typed
            continue
        if isinstance(column, tuple):  # an INSERT target: (table, column) already
            found[index] = column
            continue
        where = _resolve(column, scopes, ctes)
        if where is not None:
            found[index] = where
    bindings = tuple(
        (i, *found[i]) for i in sorted(found) if types[i] == 0
    )
    return tuple(types), bindings


def _index(node: exp.Parameter, n: int) -> int | None:
    value = node.this
    if isinstance(value, exp.Literal) and not value.is_string and value.this.isdigit():
        number = int(value.this)
        if 1 <= number <= n:
            return number - 1
    return None


def _unparen(node: exp.Expr | None) -> exp.Expr | None:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _bound_column(
    param: exp.Expr, parent: exp.Expr | None
) -> exp.Column | tuple[str, str] | None:
    """The column `param` is compared with or assigned to, or an INSERT target."""
    child: exp.Expr = param
    while isinstance(child.parent, exp.Paren):
        child = child.parent
    if isinstance(parent, _COMPARISONS):
        other = parent.expression if parent.this is child else parent.this
        other = _unparen(other)
        return other if isinstance(other, exp.Column) and not other.is_star else None
    if isinstance(parent, exp.In) and child is not parent.this:
        other = _unparen(parent.this)
        return other if isinstance(other, exp.Column) else None
    if isinstance(parent, exp.Between) and child is not parent.this:
        other = _unparen(parent.this)
        return other if isinstance(other, exp.Column) else None
    if isinstance(parent, _SAME_TYPED):
        for other in _others(child, parent):
            other = _unparen(other)
            if isinstance(other, exp.Column) and not other.is_star:
                return other
        return None
    if isinstance(parent, exp.Tuple):
        return _tuple_target(child, parent)
    if isinstance(parent, exp.Select):  # INSERT INTO t (a, b) SELECT $1, $2
        insert = parent.parent
        if isinstance(insert, exp.Insert) and parent.arg_key == "expression" and (
            child.arg_key == "expressions"
        ):
            return _insert_target(insert, parent.expressions.index(child))
    if isinstance(parent, exp.Alias) and isinstance(parent.parent, exp.Select):
        return _bound_column(parent, parent.parent)
    return None


def _others(child: exp.Expr, parent: exp.Expr) -> list[exp.Expr]:
    """The operands that fix a parameter's type: the other side, or the sibling arguments."""
    if isinstance(parent, _COMPARISONS):
        return [parent.expression if parent.this is child else parent.this]
    if isinstance(parent, (exp.In, exp.Between)) and child is not parent.this:
        return [parent.this]
    if isinstance(parent, _SAME_TYPED):
        return [e for e in (parent.this, *parent.expressions, parent.args.get("expression"))
                if isinstance(e, exp.Expr) and e is not child]
    return []


def _context_oid(param: exp.Expr, parent: exp.Expr | None) -> int:
    """The type an expression beside the parameter (not a column) gives it; 0 when none."""
    child: exp.Expr = param
    while isinstance(child.parent, exp.Paren):
        child = child.parent
    if parent is None:
        return 0
    if isinstance(parent, exp.JSONBContainsTopKey):  # j ? $1: the key is text, j is not
        return TEXT if child is parent.expression else 0
    if isinstance(parent, exp.RegexpLike | exp.RegexpILike | exp.StartsWith):
        return TEXT  # both the string and the pattern
    if isinstance(parent, _TEXT_ARGS) and not isinstance(parent, exp.DPipe | exp.Concat):
        return TEXT if child is parent.this else 0
    if isinstance(parent, exp.DPipe | exp.Concat):
        others = [e for e in parent.flatten() if e is not child] if isinstance(
            parent, exp.DPipe) else [e for e in parent.expressions if e is not child]
        # `$1 || 'x'` is text, but `$1 || arr` is an array: only text siblings decide
        return TEXT if any(expr_oid(o) in (0, TEXT, 1043) for o in others) and not any(
            expr_oid(o) not in (0, TEXT, 1043) for o in others) else 0
    for other in _others(child, parent):
        oid = expr_oid(_unparen(other))
        if oid:
            return oid
    return 0


def _tuple_target(child: exp.Expr, row: exp.Tuple) -> exp.Column | tuple[str, str] | None:
    position = next(i for i, e in enumerate(row.expressions) if e is child)
    holder = row.parent
    if isinstance(holder, exp.Values) and isinstance(holder.parent, exp.Insert):
        return _insert_target(holder.parent, position)
    if isinstance(holder, exp.EQ) and holder.expression is row:
        # UPDATE t SET (a, b) = ($1, $2)
        targets = holder.this
        if isinstance(targets, exp.Tuple) and position < len(targets.expressions):
            target = targets.expressions[position]
            return target if isinstance(target, exp.Column) else None
    return None


def _insert_target(insert: exp.Insert, position: int) -> tuple[str, str] | None:
    target = insert.this
    names: list[str] | None = None
    if isinstance(target, exp.Schema):
        names = [e.name.lower() for e in target.expressions]
        target = target.this
    if not isinstance(target, exp.Table) or not target.name:
        return None
    if names is None:
        return target.name.lower(), f"#{position + 1}"
    return (target.name.lower(), names[position]) if position < len(names) else None


def _resolve(
    column: exp.Column, scopes: dict[int, dict[str, object]], ctes: set[str]
) -> tuple[str, str] | None:
    """The column's table in the scope it appears in (outer scopes for a correlated name)."""
    name = column.name.lower()
    qualifier = column.table.lower() if column.table else ""
    scope = column.parent
    first = True
    while scope is not None:
        if isinstance(scope, _SCOPES):
            sources = scopes.get(id(scope))
            if sources is None:
                sources = scopes[id(scope)] = _sources(scope, ctes)
            if isinstance(scope, exp.Update) and first and _is_set_target(column, scope):
                target = scope.this
                return (target.name.lower(), name) if isinstance(target, exp.Table) else None
            if qualifier:
                source = sources.get(qualifier)
                if source is not None:
                    return (source, name) if isinstance(source, str) else None
            else:
                tables = set(sources.values())
                if not tables:
                    pass  # no FROM here (a scalar subquery's SELECT): look outward
                elif len(tables) == 1 and _UNKNOWN not in tables:
                    table = tables.pop()
                    assert isinstance(table, str)
                    return table, name
                else:
                    return ("", name) if _UNKNOWN not in tables else None
            first = False
        scope = scope.parent
    return None


def _is_set_target(column: exp.Column, update: exp.Update) -> bool:
    """The column is the left side of one of the UPDATE's SET assignments."""
    node: exp.Expr = column
    if isinstance(node.parent, exp.Tuple):
        node = node.parent
    assign = node.parent
    return (
        isinstance(assign, exp.EQ) and assign.this is node and assign.parent is update
        and assign.arg_key == "expressions"
    )


def _sources(scope: exp.Expr, ctes: set[str]) -> dict[str, object]:
    """Alias (or bare table name) -> table name, or _UNKNOWN for derived sources."""
    out: dict[str, object] = {}
    nodes: list[exp.Expr] = []
    if isinstance(scope, (exp.Update, exp.Delete)):
        nodes.append(scope.this)
    if isinstance(scope, exp.Insert):
        target = scope.this
        nodes.append(target.this if isinstance(target, exp.Schema) else target)
    for key in ("from", "from_", "using"):
        holder = scope.args.get(key)
        if isinstance(holder, exp.From):
            nodes.append(holder.this)
        elif isinstance(holder, list):
            nodes.extend(holder)
        elif isinstance(holder, exp.Expr):
            nodes.append(holder)
    for join in scope.args.get("joins") or []:
        nodes.append(join.this)
    for node in nodes:
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            bare = node.name.lower()
            alias = node.alias.lower() if node.alias else bare
            is_cte = len(node.parts) == 1 and bare in ctes
            out[alias] = _UNKNOWN if is_cte else bare
        elif isinstance(node, exp.Expr):
            alias = node.alias.lower() if node.alias else f"?{len(out)}"
            out[alias] = _UNKNOWN
    return out


def result_columns(expression: exp.Expr | None) -> tuple[Binding, ...]:
    """(position, table, column) of each result column that is a table's column, its
    min() / max(), or its `->` / `#>` (json stays json, jsonb jsonb): typed by the schema
    where the backend cannot (SQLite's aggregates have no declared type; MariaDB sends
    json as text)."""
    wrappers = (exp.Min, exp.Max, exp.JSONExtract, exp.JSONBExtract)
    return _projected(expression, wrappers, bare=True)


def summed_columns(expression: exp.Expr | None) -> tuple[Binding, ...]:
    """(position, table, column) of each result column that is sum(<a table's column>)."""
    return _projected(expression, (exp.Sum,), bare=False)


def zoned_columns(expression: exp.Expr | None) -> tuple[Binding, ...]:
    """(position, table, column) of each result column that is <a table's column> AT TIME
    ZONE …: a timestamptz column gives a timestamp, a timestamp column a timestamptz."""
    return _projected(expression, (exp.AtTimeZone,), bare=False)


def _star_table(select: exp.Select) -> str | None:
    """`SELECT * FROM t` (COPY describes a table so): the table whose columns it shows, in
    order; the binding (0, t, "*") stands for all of them."""
    from_ = select.args.get("from_") or select.args.get("from")
    if (
        len(select.expressions) == 1
        and isinstance(select.expressions[0], exp.Star)
        and isinstance(from_, exp.From)
        and isinstance(from_.this, exp.Table)
        and isinstance(from_.this.this, exp.Identifier)
        and not select.args.get("joins")
    ):
        return from_.this.name.lower()
    return None


def _projected(
    expression: exp.Expr | None, wrappers: tuple[type[exp.Expr], ...], bare: bool
) -> tuple[Binding, ...]:
    projections = expression.expressions if isinstance(expression, exp.Select) else None
    if isinstance(expression, (exp.Insert, exp.Update, exp.Delete)):
        returning = expression.args.get("returning")
        projections = returning.expressions if returning is not None else None
    if not projections:
        return ()
    out: list[Binding] = []
    scopes: dict[int, dict[str, object]] = {}
    ctes = {cte.alias_or_name.lower() for cte in expression.find_all(exp.CTE)}
    star = _star_table(expression) if bare and isinstance(expression, exp.Select) else None
    if star is not None:
        return ((0, star, "*"),)
    for position, node in enumerate(projections):
        if isinstance(node, exp.Star) or (isinstance(node, exp.Column) and node.is_star):
            break  # the positions after a * are the table's to say
        node = _unparen(node.this if isinstance(node, exp.Alias) else node)
        if isinstance(node, wrappers) and not node.args.get("expressions"):  # not max(a, b)
            node = _unparen(node.this)
        elif not bare:
            continue
        if not isinstance(node, exp.Column) or node.is_star:
            continue
        where = _resolve(node, scopes, ctes)
        if where is not None:
            out.append((position, *where))
    return tuple(out)
