"""Split a query over several routes: one part per table for its backend, the rest for DuckDB.

Pure sqlglot over the parsed PostgreSQL tree; no I/O. A table belongs to a route
when its qualifier names one: `route.schema.table` or `route.table`. A statement
is planned here only when it names a route other than the session's own (so
`own.table` alone keeps meaning schema `own` of the session's backend, as before);
inside such a statement every qualifier that is a configured route name is that
route, and other qualifiers are schemas of the session's own backend.

Each table becomes a part, `SELECT <the columns the query uses> FROM <table>
WHERE <the conjuncts that touch only it>`, run on its route; the query itself,
its tables replaced by the parts' results, runs in DuckDB. The equalities that
join two parts are noted (links) for a semi-join (pgproxy/federation/stage.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from pgproxy import errors
from pgproxy.federation.colocate import Group, colocate

log = logging.getLogger("pgproxy.federation")
PREFIX = "__pgproxy_fed"  # the parts' table names inside DuckDB


@dataclass(slots=True)
class Source:
    """One table the query names, and where it lives."""

    route: str
    table: exp.Table  # as its own backend sees it: the route qualifier dropped
    name: str  # as the client wrote it, for messages

    @property
    def bare(self) -> str:
        return self.table.sql(dialect="postgres")


@dataclass(slots=True)
class Part:
    """What one backend runs for one table: PostgreSQL text, parsed by the dialect layer."""

    source: Source
    key: str  # its table's name in DuckDB
    sql: str
    columns: list[str]  # the part's result columns, in order
    pushed: int = 0  # conjuncts pushed down
    where: list[exp.Expr] = field(default_factory=list)  # those conjuncts
    prefix: str = ""  # the statement's hint comment
    sources: list[Source] = field(default_factory=list)  # several: tables joined there
    # Per result column: (the source's index in the query, its column there).
    column_sources: list[tuple[int, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        """Its tables as the client wrote them, for messages."""
        return ", ".join(s.name for s in self.sources) if self.sources else self.source.name

    def keyed_sql(self, column: str, type_name: str, param: int) -> str:
        """This part's SQL also keeping only rows whose `column` is in the array bound as
        $param, of `type_name` elements (a semi-join's keys: one parameter, whatever
        their number; the dialects bind it as JSON where the backend has no arrays)."""
        array = exp.cast(
            exp.Parameter(this=exp.Literal.number(param)), f"{type_name}[]", dialect="postgres"
        )
        keys = exp.EQ(this=exp.column(column), expression=exp.Any(this=exp.paren(array)))
        return self.prefix + _part_sql(self.source, self.columns, [*self.where, keys])


@dataclass(frozen=True, slots=True)
class Link:
    """`a.x = b.y` joining two parts: b needs only the rows whose y is one of a's x."""

    source: str  # a part's key
    column: str
    target: str
    target_column: str


@dataclass(slots=True)
class Split:
    parts: list[Part]
    sql: str  # DuckDB's query over the parts
    params: list[int]  # client parameter (0-based) for DuckDB's $1, $2, …
    # Per result column: (part key, column) where it is a part's column as is, else None.
    origins: list[tuple[str, str] | None]
    names: list[str] = field(default_factory=list)  # result column names as PostgreSQL's
    links: list[Link] = field(default_factory=list)  # both ways round


def qualifiers(tables: Collection[str], routes: Collection[str]) -> frozenset[str]:
    """The route names among the qualifiers of a statement's table names (dialects'
    tables_read / tables_written: lower-cased, qualified as written)."""
    return frozenset(
        first for first, dot, _ in (t.partition(".") for t in tables) if dot and first in routes
    )


def routed(named: frozenset[str], own: str) -> bool:
    """Whether the route names a statement's tables are qualified by (`qualifiers`) name
    a route other than the session's own."""
    return len(named) > 1 or (bool(named) and own not in named)


def sources(tree: exp.Expr, routes: Collection[str], own: str) -> list[Source]:
    """Every table of the query, in tree order, with its route."""
    return [s for _, s in _tables(tree, routes, own)]


def _tables(
    tree: exp.Expr, routes: Collection[str], own: str
) -> Iterator[tuple[exp.Table, Source]]:
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    for node in list(tree.find_all(exp.Table)):
        if not isinstance(node.this, exp.Identifier):
            continue  # a table function: nothing to fetch
        catalog, db = node.catalog, node.db
        table = node.copy()
        table.set("alias", None)
        if catalog and catalog.lower() in routes:
            route = catalog.lower()
            table.set("catalog", None)
            if db.lower() in routes:
                # Its part would name another route in turn.
                raise errors.FeatureNotSupported(
                    f'schema "{db}" of route "{route}" has a route\'s name: a query across '
                    "routes cannot read it"
                )
        elif db and not catalog and db.lower() in routes:
            route = db.lower()
            table.set("db", None)
        elif not db and node.name.lower() in ctes:
            continue
        else:
            route = own
        yield node, Source(route, table, ".".join(p.name for p in node.parts))


def split(
    tree: exp.Expr,
    routes: Collection[str],
    own: str,
    columns: Sequence[Sequence[str]],
    prefix: str = "",
    types: Sequence[Sequence[str]] = (),
) -> Split:
    """The parts and DuckDB's query; `columns`: each source's column names, in order, and
    `types` their SQL type names (DuckDB's query then computes as PostgreSQL types them:
    int / int divides as integers); `prefix`: what each part's text starts with (the
    statement's hint comment)."""
    tree = tree.copy()
    found = list(_tables(tree, routes, own))
    schema: dict[str, dict[str, str]] = {}
    keys: dict[str, Source] = {}
    for i, ((node, source), names) in enumerate(zip(found, columns, strict=True)):
        key = f"{PREFIX}{i}"
        keys[key] = source
        typed = types[i] if i < len(types) else ()
        schema[key] = {n: typed[j] if j < len(typed) else "text" for j, n in enumerate(names)}
        alias = node.alias or node.name
        node.replace(
            exp.Table(
                this=exp.to_identifier(key), alias=exp.TableAlias(this=exp.to_identifier(alias))
            )
        )
    try:
        tree = qualify(
            tree,
            schema=schema,
            dialect="postgres",
            quote_identifiers=False,
            identify=False,
            validate_qualify_columns=True,
        )
    except OptimizeError as exc:
        raise _unresolved(exc, schema) from None
    pushed: dict[str, list[exp.Expr]] = {k: [] for k in keys}
    links: list[Link] = []
    for scope in traverse_scope(tree):
        if isinstance(scope.expression, exp.Select):
            _push(scope, keys, pushed, links)
    # Tables of one route joined by conditions of their own: one part, joined there.
    routes_of = {k: s.route for k, s in keys.items()}
    groups: list[Group] = []
    for scope in traverse_scope(tree):
        if isinstance(scope.expression, exp.Select):
            groups += colocate(scope, routes_of)
    grouped = {key: g for g in groups for key, _ in g.members}
    if groups:  # the joins changed: what joins the parts now (and what a moved ON gives)
        links = []
        for scope in traverse_scope(tree):
            if isinstance(scope.expression, exp.Select):
                _push(scope, keys, pushed, links)
    index = {k: i for i, k in enumerate(keys)}
    for g in groups:
        schema[g.members[0][0]] = {
            f"{alias}__{n}": schema[key][n] for key, alias in g.members for n in schema[key]
        }
    # What the query still reads of each table once its filters went down with it.
    scopes = traverse_scope(tree)
    needed: dict[str, set[str]] = {k: set() for k in keys}
    for scope in scopes:
        for column in scope.columns:
            key = _owner(scope, column.table)
            if key in needed:
                needed[key].add(column.name)
    parts = []
    for key, source in keys.items():
        group = grouped.get(key)
        if group is None:
            names = [n for n in columns[index[key]] if n in needed[key]]
            sql = prefix + _part_sql(source, names, pushed[key])
            parts.append(
                Part(
                    source,
                    key,
                    sql,
                    names,
                    len(pushed[key]),
                    pushed[key],
                    prefix,
                    [source],
                    [(index[key], n) for n in names],
                )
            )
        elif key == group.members[0][0]:
            parts.append(_group_part(group, keys, columns, index, needed[key], pushed, prefix))
    params: list[int] = []
    for param in tree.find_all(exp.Parameter, exp.Placeholder):
        index = _param_index(param)
        if index is None:
            continue
        if index not in params:
            params.append(index)
        param.replace(exp.Parameter(this=exp.Literal.number(params.index(index) + 1)))
    outer = _outer_scope(scopes, tree)
    origins: list[tuple[str, str] | None] = []
    names: list[str] = []
    for projection in tree.selects:
        inner = projection.unalias()
        key = _owner(outer, inner.table) if isinstance(inner, exp.Column) and outer else None
        origins.append((key, inner.name) if key in keys else None)
        names.append(_pg_name(projection))
    try:
        tree = annotate_types(tree, schema=schema, dialect="postgres")
    except (OptimizeError, ValueError, KeyError):  # untyped: DuckDB types it itself
        log.debug("no types for %s", tree.sql(dialect="postgres"), exc_info=True)
    return Split(parts, tree.sql(dialect="duckdb"), params, origins, names, links)


def _group_part(
    group: Group,
    keys: dict[str, Source],
    columns: Sequence[Sequence[str]],
    index: dict[str, int],
    needed: set[str],
    pushed: dict[str, list[exp.Expr]],
    prefix: str,
) -> Part:
    """One part for tables of one route: their join, filters and columns in their backend."""
    names, origins, projection = [], [], []
    for key, alias in group.members:
        for column in columns[index[key]]:
            name = f"{alias}__{column}"
            if name in needed:
                names.append(name)
                origins.append((index[key], column))
                projection.append(
                    exp.alias_(exp.column(column, table=alias, quoted=True), name, quoted=True)
                )
    anchor, alias = group.members[0]
    query = exp.select(*(projection or [exp.alias_(exp.Literal.number(1), "one")]))
    query = query.from_(keys[anchor].table.copy().as_(alias))
    for key, alias in group.members[1:]:
        query = query.join(keys[key].table.copy().as_(alias), join_type="cross")
    where = [c for key, _ in group.members for c in pushed[key]] + group.conjuncts
    for conjunct in where:
        query = query.where(conjunct.copy(), copy=False)
    sources = [keys[key] for key, _ in group.members]
    return Part(
        keys[anchor],
        anchor,
        prefix + query.sql(dialect="postgres"),
        names,
        len(where),
        [],
        prefix,
        sources,
        origins,
    )


def _unresolved(exc: OptimizeError, schema: dict[str, dict[str, str]]) -> errors.PgError:
    """qualify's complaint as PostgreSQL's: an ambiguous column is 42702, a missing 42703."""
    match = re.search(r"Column '([^']+)' could not be resolved", str(exc))
    if match is not None:
        name = match[1]
        if sum(name in columns for columns in schema.values()) > 1:
            return errors.from_sqlstate("42702", f'column reference "{name}" is ambiguous')
        return errors.from_sqlstate("42703", f'column "{name}" does not exist')
    return errors.from_sqlstate("42703", f"cannot plan a query across routes: {exc}")


def _owner(scope: Scope | None, alias: str) -> str | None:
    """The DuckDB table (a part's key) `alias` stands for, seen from `scope` outwards."""
    while scope is not None:
        if alias in scope.selected_sources:
            source = scope.selected_sources[alias][1]
            if isinstance(source, exp.Table) and source.name.startswith(PREFIX):
                return source.name
            return None
        scope = scope.parent
    return None


def _push(
    scope: Scope,
    keys: dict[str, Source],
    pushed: dict[str, list[exp.Expr]],
    links: list[Link],
) -> None:
    """Move the conjuncts that touch one part's table only into that part, and note the
    equalities that join two parts (`links`) for a semi-join.

    WHERE: not for a table an outer join may null-extend (its filter would keep the
    rows the join makes). A join's ON: only those of the joined table itself, for an
    inner or left join (they filter what it joins, nothing else). A link: `a.x = b.y`
    of an inner join or the WHERE, neither table null-extended."""
    select = scope.expression
    joins = select.args.get("joins") or []
    first = select.args.get("from_")
    seen = [first.this.alias_or_name] if first is not None else []
    nullable: set[str] = set()
    inner_on: list[exp.Expr] = []
    for join in joins:
        alias = join.this.alias_or_name
        side = (join.side or "").upper()
        if side in ("RIGHT", "FULL"):
            nullable.update(seen)
        if side in ("LEFT", "FULL"):
            nullable.add(alias)
        seen.append(alias)
        on = join.args.get("on")
        kind = (join.kind or "").upper()
        if on is None or side not in ("", "LEFT") or kind not in ("", "INNER", "OUTER"):
            continue
        for conjunct in _conjuncts(on):
            if _single(scope, conjunct) == alias and (key := _owner(scope, alias)):
                pushed[key].append(conjunct.copy())
                conjunct.replace(exp.true())
            elif not side:
                inner_on.append(conjunct)
    where = select.args.get("where")
    for conjunct in _conjuncts(where.this) if where is not None else ():
        alias = _single(scope, conjunct)
        if alias is not None and alias not in nullable and (key := _owner(scope, alias)):
            pushed[key].append(conjunct.copy())
            conjunct.replace(exp.true())
        else:
            inner_on.append(conjunct)
    for conjunct in inner_on:
        if not (
            isinstance(conjunct, exp.EQ)
            and isinstance(conjunct.left, exp.Column)
            and isinstance(conjunct.right, exp.Column)
        ):
            continue
        left, right = conjunct.left, conjunct.right
        if left.table == right.table or {left.table, right.table} & nullable:
            continue
        a, b = _owner(scope, left.table), _owner(scope, right.table)
        if (
            a
            and b
            and left.table in scope.selected_sources
            and right.table in scope.selected_sources
        ):
            links.append(Link(a, left.name, b, right.name))
            links.append(Link(b, right.name, a, left.name))


def _conjuncts(node: exp.Expr) -> Iterator[exp.Expr]:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        yield from _conjuncts(node.left)
        yield from _conjuncts(node.right)
    else:
        yield node


def _single(scope: Scope, conjunct: exp.Expr) -> str | None:
    """The one table alias a pushable conjunct reads, else None."""
    if conjunct.find(exp.Select, exp.AggFunc, exp.Window, exp.Subquery):
        return None
    aliases = {c.table for c in conjunct.find_all(exp.Column)}
    if len(aliases) != 1:
        return None
    alias = aliases.pop()
    return alias if alias in scope.selected_sources else None


def _part_sql(source: Source, names: list[str], where: list[exp.Expr]) -> str:
    alias = "t"
    projection = [exp.column(n, table=alias, quoted=True) for n in names] or [
        exp.alias_(exp.Literal.number(1), "one")
    ]
    query = exp.select(*projection).from_(source.table.copy().as_(alias))
    for conjunct in where:
        conjunct = conjunct.copy()
        for column in conjunct.find_all(exp.Column):
            column.set("table", exp.to_identifier(alias))
        query = query.where(conjunct, copy=False)
    return query.sql(dialect="postgres")


def _param_index(node: exp.Expr) -> int | None:
    text = node.name if isinstance(node, exp.Parameter) else node.this
    return int(text) - 1 if isinstance(text, str) and text.isdigit() else None


def _outer_scope(scopes: list[Scope], tree: exp.Expr) -> Scope | None:
    for scope in scopes:
        if scope.expression is tree:
            return scope
    select = tree.selects[0].parent_select if tree.selects else None
    return next((s for s in scopes if s.expression is select), None)


def _pg_name(projection: exp.Expr) -> str:
    """The result column's name as PostgreSQL gives it."""
    if isinstance(projection, exp.Alias):
        alias = projection.alias
        if not (alias.startswith("_col_") and alias[5:].isdigit()):
            return alias
        projection = projection.this
    while isinstance(projection, exp.Cast):
        projection = projection.this
    if isinstance(projection, exp.Column):
        return projection.name
    if isinstance(projection, exp.Case):
        return "case"
    if isinstance(projection, exp.Window):
        projection = projection.this
    if isinstance(projection, exp.Func):
        # As PostgreSQL spells the call (sqlglot's own names differ: TimestampTrunc).
        name = projection.sql(dialect="postgres").partition("(")[0].strip()
        return name.lower() if name.isidentifier() else "?column?"
    return "?column?"
