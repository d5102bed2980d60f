"""Catalog queries from PostgreSQL to the catalog engine's SQLite, through sqlglot.

The engine's SQLite attaches databases named pg_catalog and
information_schema, so qualified relation names stay as written. What
SQLite lacks is rewritten here into calls of the functions the engine
registers (pg_regex, pg_reg, pg_elem, pg_array_has …): regex operators,
reg* casts, arrays, ANY/ALL, unnest, set-returning generate_series,
COLLATE, session functions, and $n parameters.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres

from pgproxy import errors
from pgproxy.catalog.builtins import CATALOG_RELATIONS
from pgproxy.catalog.relations import INFORMATION_SCHEMA, PG_CATALOG, PG_VIEWS, columns_of

_REG_TYPES = {"regclass", "regtype", "regproc", "regprocedure", "regnamespace", "regrole",
              "regoper", "regoperator", "regcollation", "regconfig", "regdictionary"}
_INT_TYPES = {"oid", "int", "int2", "int4", "int8", "integer", "smallint", "bigint", "xid",
              "cid", "regproc"}
_TEXT_TYPES = {"text", "name", "varchar", "char", "bpchar", '"char"', "character varying",
               "character", "cstring"}
_OPERATORS = {"~": ("c", False), "!~": ("c", True), "~*": ("i", False), "!~*": ("i", True)}
# Session functions sqlglot parses into classes of its own (current_database() is
# exp.CurrentDatabase, version() exp.CurrentVersion …): the engine's functions answer them.
_SESSION_FUNCS = {
    exp.CurrentUser: "pg_current_user",
    exp.SessionUser: "pg_current_user",
    exp.CurrentRole: "pg_current_user",
    exp.CurrentSchema: "pg_current_schema",
    exp.CurrentCatalog: "pg_current_database",
    exp.CurrentDatabase: "pg_current_database",
    exp.CurrentVersion: "pg_version",
}
# Functions SQLite has under another name, or none of.
_RENAMES = {"current_database": "pg_current_database", "current_schema": "pg_current_schema",
            "session_user": "pg_current_user", "current_user": "pg_current_user",
            "user": "pg_current_user", "version": "pg_version", "left": "pg_left",
            "right": "pg_right", "json_build_object": "json_object",
            "jsonb_build_object": "json_object", "json_agg": "json_group_array",
            "jsonb_agg": "json_group_array"}


class _Postgres(Postgres):
    """PostgreSQL as written: subscripts keep PostgreSQL's own (1-based) index.

    sqlglot's postgres reader shifts an index to 0-based only when it can type it as an
    integer (`a[1]`, not `a[pos.n]`), so a subscript's meaning would hang on the shape of
    its index. Unshifted, every `a[i]` is `pg_elem(a, i)` with PostgreSQL's i.
    """

    INDEX_OFFSET = 0


def _type_name(to: exp.DataType) -> str:
    kind = to.args.get("kind")
    if to.this == exp.DType.USERDEFINED and kind is not None:
        name = kind.name if isinstance(kind, exp.Dot) else kind.sql("postgres")
        return name.strip('"').lower()
    if to.is_type(exp.DType.ARRAY) or to.args.get("nested"):
        return "array"
    return to.sql("postgres").lower().split("(")[0].strip()


def _fn(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _in_projection(node: exp.Expr) -> bool:
    """A value a client will read (not one compared in a WHERE or a join)."""
    parent = node.parent
    while isinstance(parent, exp.Alias | exp.Paren | exp.Cast):
        node, parent = parent, parent.parent
    return isinstance(parent, exp.Select) and node.arg_key == "expressions"


def _reg_inner(inner: exp.Expr) -> tuple[exp.Expr, exp.Expr] | None:
    """(kind, value) when `inner` is itself a reg* cast: 'x'::regclass::oid."""
    if isinstance(inner, exp.Cast):
        name = _type_name(inner.to)
        if name in _REG_TYPES:
            return exp.Literal.string(name), inner.this
    if isinstance(inner, exp.Anonymous) and inner.name in ("pg_reg", "pg_reg_name"):
        return inner.expressions[0], inner.expressions[1]
    return None


def _cast(node: exp.Cast) -> exp.Expr:
    name = _type_name(node.to)
    inner = node.this
    if name in _REG_TYPES:
        kind = exp.Literal.string(name)
        if _in_projection(node):
            return _fn("pg_reg_name", kind, inner)
        return _fn("pg_reg", kind, inner)
    reg = _reg_inner(inner)
    if name in _INT_TYPES:
        if reg is not None:
            return _fn("pg_reg", *reg)
        return exp.cast(inner, exp.DType.BIGINT)
    if name in _TEXT_TYPES:
        if reg is not None:
            return _fn("pg_reg_name", *reg)
        return exp.cast(inner, exp.DType.TEXT)
    if name in ("bool", "boolean"):
        return _fn("pg_bool", inner)
    if name in ("float4", "float8", "real", "double precision", "numeric"):
        return exp.cast(inner, exp.DType.DOUBLE)
    # Arrays, intervals, timestamps …: SQLite keeps the value as it is.
    return inner


def _array_items(node: exp.Expr) -> list[exp.Expr] | None:
    """The elements of ARRAY[...] (possibly inside parentheses or a cast), else None."""
    while isinstance(node, exp.Paren | exp.Cast):
        node = node.this
    if isinstance(node, exp.Array) and not any(isinstance(e, exp.Query) for e in node.expressions):
        return list(node.expressions)
    return None


def _any_all(node: exp.Binary) -> exp.Expr | None:
    right = node.expression
    if isinstance(right, exp.Anonymous) and right.name.lower() in ("all", "any", "some") \
            and len(right.expressions) == 1:
        # `x <> ALL ('{a,b}'::text[])`: sqlglot reads ALL (expr) as a function call.
        cls = exp.All if right.name.lower() == "all" else exp.Any
        right = cls(this=right.expressions[0])
    if not isinstance(right, exp.Any | exp.All):
        return None
    target = right.this
    items = _array_items(target)
    positive = isinstance(right, exp.Any)
    if (isinstance(node, exp.EQ) and positive) or (isinstance(node, exp.NEQ) and not positive):
        if items is not None:
            out: exp.Expr = exp.In(this=node.this, expressions=items)
        else:
            out = _fn("pg_array_has", target, node.this)
        return out if isinstance(node, exp.EQ) else exp.Not(this=out)
    if isinstance(node, exp.NEQ) and positive and items is None:
        return _fn("pg_array_any_ne", target, node.this)
    return None


def _array_subquery(node: exp.Array) -> exp.Expr:
    query = node.expressions[0]
    query = query.copy()
    first = query.selects[0]
    query.selects[0].replace(exp.alias_(first.unalias() if isinstance(first, exp.Alias)
                                        else first, "_v"))
    outer = exp.select(_fn("pg_array_agg", exp.column("_v"))).from_(query.subquery("_a"))
    return exp.Subquery(this=outer)


def _function_name(func: exp.Expr) -> str:
    if isinstance(func, exp.Anonymous):
        return func.name.lower()
    if isinstance(func, exp.Explode | exp.Unnest):
        return "unnest"
    if isinstance(func, exp.GenerateSeries | exp.ExplodingGenerateSeries):
        return "generate_series"
    return func.sql_name().lower() if isinstance(func, exp.Func) else ""


def _table_source(func: exp.Expr, alias: exp.TableAlias | None,
                  ordinality: exp.Expr | None) -> exp.Expr | None:
    """unnest(...) / generate_series(...) / pg_get_keywords() in FROM, as a subquery."""
    fname = _function_name(func)
    if fname in ("json_each", "json_tree"):
        return None  # SQLite's own table-valued functions (from earlier rewrites)
    if fname == "unnest":
        arg = func.expressions[0] if isinstance(func, exp.Unnest) else (
            func.this if isinstance(func, exp.Explode) else func.expressions[0])
        source = _fn("pg_array_json", arg)
    elif fname == "generate_series":
        if isinstance(func, exp.Anonymous):
            args = list(func.expressions)
        else:
            args = [func.args["start"], func.args["end"]] + (
                [func.args["step"]] if func.args.get("step") else [])
        source = _fn("pg_series_json", *args)
    elif fname == "_pg_expandarray":
        # information_schema._pg_expandarray(a): rows (x, n), n counting from 1 for any array.
        cols = list(alias.columns) if alias is not None and alias.columns else []
        x, n = (cols[0].name if cols else "x"), (cols[1].name if len(cols) > 1 else "n")
        inner = exp.select(
            exp.alias_(exp.column("value"), x),
            exp.alias_(exp.Add(this=exp.column("key"), expression=exp.Literal.number(1)), n),
        ).from_(exp.Table(this=_fn("json_each", _fn("pg_array_json", func.expressions[0]))))
        named = alias is not None and alias.this is not None and alias.this.name
        return exp.Subquery(this=inner, alias=exp.TableAlias(
            this=alias.this if named else exp.to_identifier(fname)))
    elif fname == "generate_subscripts" and isinstance(func, exp.Anonymous):
        # generate_subscripts(a, 1): a's subscripts, from its lower bound (0 for a vector).
        arr = func.expressions[0]
        named = alias is not None and alias.this is not None and alias.this.name
        cols = list(alias.columns) if alias is not None and alias.columns else []
        first = cols[0].name if cols else (alias.this.name if named else fname)
        inner = exp.select(exp.alias_(exp.Add(
            this=exp.column("key"), expression=_fn("array_lower", arr.copy(),
                                                   exp.Literal.number(1))), first)
        ).from_(exp.Table(this=_fn("json_each", _fn("pg_array_json", arr))))
        return exp.Subquery(this=inner, alias=exp.TableAlias(
            this=alias.this if named else exp.to_identifier(fname)))
    elif fname == "pg_options_to_table" and isinstance(func, exp.Anonymous):
        # pg_options_to_table('{a=1,b}'): rows (option_name, option_value).
        cols = [c.name for c in alias.columns] if alias is not None and alias.columns else []
        names = (cols + ["option_name", "option_value"][len(cols):])[:2]
        inner = exp.select(*(
            exp.alias_(_fn("json_extract", exp.column("value"), exp.Literal.string(f"$[{i}]")),
                       name) for i, name in enumerate(names)
        )).from_(exp.Table(this=_fn("json_each", _fn("pg_options_json", func.expressions[0]))))
        named = alias is not None and alias.this is not None and alias.this.name
        return exp.Subquery(this=inner, alias=exp.TableAlias(
            this=alias.this if named else exp.to_identifier(fname)))
    elif fname == "pg_get_keywords":
        # The engine holds the keyword list as a relation typed like the function's columns.
        named = alias is not None and alias.this is not None and alias.this.name
        return exp.Table(this=exp.to_identifier("pg_get_keywords"),
                         db=exp.to_identifier("pg_catalog"),
                         alias=alias if named else exp.TableAlias(
                             this=exp.to_identifier("pg_get_keywords")))
    else:
        source = None  # any other function in FROM: its one value as one row
    cols = list(alias.columns) if alias is not None and alias.columns else []
    named = alias is not None and alias.this is not None and alias.this.name
    name = alias.this if named else exp.to_identifier(fname)
    first = cols[0].name if cols else (alias.this.name if named else fname)
    value: exp.Expr = exp.column("value") if source is not None else func
    projections = [exp.alias_(value, first)]
    if ordinality is not None or len(cols) > 1:
        ord_name = cols[1].name if len(cols) > 1 else (
            ordinality.name if isinstance(ordinality, exp.Identifier) else "ordinality")
        position = exp.Add(this=exp.column("key"), expression=exp.Literal.number(1)) \
            if source is not None else exp.Literal.number(1)
        projections.append(exp.alias_(position, ord_name))
    inner = exp.select(*projections)
    if source is not None:
        inner = inner.from_(exp.Table(this=_fn("json_each", source)))
    return exp.Subquery(this=inner, alias=exp.TableAlias(this=name))


def _correlated_source(func: exp.Expr, alias: exp.TableAlias | None,
                       ordinality: exp.Expr | None, at: exp.Expr) -> exp.Expr | None:
    """unnest(t.col) / generate_series(…, t.col) in FROM reading another FROM item's columns.

    A subquery in SQLite's FROM cannot see its sibling tables, so the function becomes a
    bare `json_each(...) AS alias` (a table-valued function may read them) and the query's
    references to its columns are renamed: the value to `alias.value`, the ordinality to
    `alias.key + 1`.
    """
    fname = _function_name(func)
    if fname not in ("unnest", "generate_series") or not any(
            isinstance(c, exp.Column) for c in func.find_all(exp.Column)):
        return None
    if fname == "unnest":
        args = list(func.expressions) if isinstance(func, exp.Unnest | exp.Anonymous) else [
            func.this]
        if len(args) != 1:
            return None
        source = _fn("pg_array_json", args[0])
    elif isinstance(func, exp.Anonymous):
        source = _fn("pg_series_json", *func.expressions)
    else:
        source = _fn("pg_series_json", func.args["start"], func.args["end"],
                     *([func.args["step"]] if func.args.get("step") else []))
    cols = [c.name for c in alias.columns] if alias is not None and alias.columns else []
    named = alias is not None and alias.this is not None and alias.this.name
    name = alias.this.name if named else fname
    first = cols[0] if cols else name
    ord_name = cols[1] if len(cols) > 1 else (
        ordinality.name if isinstance(ordinality, exp.Identifier) else "ordinality")
    select = at.find_ancestor(exp.Select)
    if select is not None:
        for column in list(select.find_all(exp.Column)):
            if column.table not in (name, ""):
                continue  # another FROM item's column
            if column.name == first:
                new: exp.Expr = exp.column("value", name)
            elif column.name == ord_name and (ordinality is not None or len(cols) > 1):
                new = exp.paren(exp.Add(this=exp.column("key", name),
                                        expression=exp.Literal.number(1)))
            else:
                continue
            if isinstance(column.parent, exp.Select) and column.arg_key == "expressions":
                new = exp.alias_(new, column.name, quoted=True)  # keep PostgreSQL's name
            column.replace(new)
    return exp.Table(this=_fn("json_each", source),
                     alias=exp.TableAlias(this=exp.to_identifier(name)))


def _rewrite(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func | exp.Anonymous):
        if node.this.name.lower() == "pg_catalog" and isinstance(node.this, exp.Identifier):
            return node.expression
    if isinstance(node, exp.Dot) and isinstance(node.this, exp.Paren) \
            and isinstance(node.expression, exp.Identifier):
        # (composite).field: composites are JSON objects here (see _expand_set_returning).
        return _fn("json_extract", node.this.this,
                   exp.Literal.string(f"$.{node.expression.name}"))
    if isinstance(node, exp.Operator):
        op = node.args["operator"].split(".")[-1].strip()
        if op in _OPERATORS:
            flags, negate = _OPERATORS[op]
            out: exp.Expr = _fn("pg_regex", node.this, node.expression,
                                exp.Literal.string(flags))
            return exp.Not(this=out) if negate else out
        binary = {"=": exp.EQ, "<>": exp.NEQ, "!=": exp.NEQ, "<": exp.LT, ">": exp.GT,
                  "<=": exp.LTE, ">=": exp.GTE, "~~": exp.Like, "~~*": exp.ILike}.get(op)
        if binary is not None:
            return _rewrite(binary(this=node.this, expression=node.expression))
        if op == "!~~":
            return exp.Not(this=_rewrite(exp.Like(this=node.this, expression=node.expression)))
        raise errors.FeatureNotSupported(f"operator {op} is not supported in catalog queries")
    if isinstance(node, exp.Like | exp.ILike) and not isinstance(node.parent, exp.Escape):
        # PostgreSQL's LIKE escapes with a backslash unless told otherwise; SQLite's has no
        # escape character at all (psql's completion sends LIKE 'tc\_%').
        return exp.Escape(this=node, expression=exp.Literal.string("\\"))
    if isinstance(node, exp.RegexpLike):
        return _fn("pg_regex", node.this, node.expression, exp.Literal.string("c"))
    if isinstance(node, exp.RegexpILike):
        return _fn("pg_regex", node.this, node.expression, exp.Literal.string("i"))
    if isinstance(node, exp.Collate):
        return node.this
    if isinstance(node, exp.Cast):
        return _cast(node)
    if isinstance(node, exp.EQ | exp.NEQ):
        replaced = _any_all(node)
        if replaced is not None:
            return replaced
    if isinstance(node, exp.Array):
        if node.expressions and isinstance(node.expressions[0], exp.Query):
            return _array_subquery(node)
        return _fn("pg_array", *node.expressions)
    if isinstance(node, exp.Bracket):
        if len(node.expressions) == 1 and not isinstance(node.expressions[0], exp.Slice):
            return _fn("pg_elem", node.this, node.expressions[0])
    if isinstance(node, exp.Lateral) and isinstance(node.this, exp.Func):
        replaced = _correlated_source(node.this, node.args.get("alias"),
                                      node.this.args.get("offset"), node)
        if replaced is None:
            raise errors.FeatureNotSupported(
                f"LATERAL {_function_name(node.this)}(...) is not supported in catalog queries")
        return replaced
    if isinstance(node, exp.Unnest) and node.expressions:
        replaced = _correlated_source(node, node.args.get("alias"), node.args.get("offset"),
                                      node) or _table_source(
            node, node.args.get("alias"), node.args.get("offset"))
        if replaced is not None:
            return replaced
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Func):
        replaced = _correlated_source(node.this, node.args.get("alias"),
                                      node.args.get("offset"), node) or _table_source(
            node.this, node.args.get("alias"), node.args.get("offset"))
        if replaced is not None:
            return replaced
    if isinstance(node, exp.ByteString):
        return exp.Literal.string(node.name)  # E'...': sqlglot has already read the escapes
    if isinstance(node, exp.Explode):
        return _fn("pg_array_json", node.this)  # unnest() in a select list: rarely read
    if isinstance(node, exp.ArrayAgg):
        return _fn("pg_array_agg", node.this)
    if isinstance(node, exp.CurrentSchemas):
        return _fn("current_schemas", node.this)
    for cls, name in _SESSION_FUNCS.items():
        if isinstance(node, cls):
            return _fn(name)
    if isinstance(node, exp.Anonymous):
        renamed = _RENAMES.get(node.name.lower())
        if renamed is not None:
            return _fn(renamed, *node.expressions)
    if isinstance(node, exp.Column) and not node.table and node.name.lower() in (
        "current_user", "session_user", "user", "current_catalog", "current_schema",
        "current_role",
    ) and not node.this.quoted:
        return _fn("pg_current_database" if node.name.lower() == "current_catalog"
                   else "pg_current_schema" if node.name.lower() == "current_schema"
                   else "pg_current_user")
    if isinstance(node, exp.Parameter | exp.Placeholder):
        number = node.this.name if isinstance(node.this, exp.Expr) else str(node.this or "")
        if number.isdigit():
            return exp.var(f"?{number}")
    if isinstance(node, exp.Table) and node.args.get("catalog") is not None:
        node.set("catalog", None)  # `app.pg_catalog.pg_class`: the database is implied
    return node


_ADDED_TYPE = re.compile(r"\bOPERATOR\s*\(\s*pg_catalog\s*\.\s*([=<>!~*]+)\s*\)", re.I)
# sqlglot cannot read `$1::oid[]` (asyncpg's type introspection): an oid is an integer
_OID_ARRAY = re.compile(r"::\s*oid\s*\[\s*\]", re.I)


def parse(sql: str) -> exp.Expr:
    try:
        tree = sqlglot.parse_one(sql, read=_Postgres)
    except sqlglot.errors.ParseError:
        # Older sqlglot builds stumble on OPERATOR(pg_catalog.~); the bare operator means the same.
        sql = _OID_ARRAY.sub("::bigint[]", _ADDED_TYPE.sub(r"\1", sql))
        tree = sqlglot.parse_one(sql, read=_Postgres)
    return _unqualify(tree)


def _unqualify(tree: exp.Expr) -> exp.Expr:
    """`pg_catalog.f(…)` read as `f(…)`: sqlglot types a bare call (array_agg is ArrayAgg)
    but leaves a qualified one Anonymous."""
    for dot in list(tree.find_all(exp.Dot)):
        call = dot.expression
        if isinstance(call, exp.Anonymous) and isinstance(dot.this, exp.Identifier) \
                and dot.this.name.lower() == "pg_catalog":
            bare = sqlglot.parse_one(call.sql(dialect=_Postgres), read=_Postgres)
            if dot is tree:
                return bare
            dot.replace(bare)
    return tree


_CAST_NAMES = {"int": "int4", "integer": "int4", "smallint": "int2", "bigint": "int8",
               "boolean": "bool", "real": "float4", "double precision": "float8",
               "character varying": "varchar", "character": "bpchar", "char": "bpchar"}


def _figure_colname(node: exp.Expr) -> str | None:
    """PostgreSQL's name for an unnamed output column (FigureColname); None: ?column?."""
    if isinstance(node, exp.Column):
        return node.name
    if isinstance(node, exp.Paren | exp.Bracket):
        return _figure_colname(node.this)
    if isinstance(node, exp.Dot):
        if isinstance(node.expression, exp.Identifier):
            return node.expression.name  # (composite).field
        return _figure_colname(node.expression)  # pg_catalog.f(...)
    if isinstance(node, exp.Cast):
        name = _figure_colname(node.this)
        if name is None:
            name = _type_name(node.to)
            name = _CAST_NAMES.get(name, name.split(".")[-1])
        return name
    if isinstance(node, exp.Subquery):
        query = node.this
        while isinstance(query, exp.SetOperation):
            query = query.this
        if isinstance(query, exp.Select) and query.expressions:
            first = query.expressions[0]
            return first.alias if isinstance(first, exp.Alias) else _figure_colname(first)
        return None
    if isinstance(node, exp.Case):
        return "case"
    if isinstance(node, exp.Array):
        return "array"
    if isinstance(node, exp.Exists):
        return "exists"
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.Func) and not isinstance(node, exp.Binary | exp.Predicate):
        name = node.sql("postgres").split("(")[0].strip().lower()
        return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else None
    return None


def _name_columns(tree: exp.Expr) -> None:
    """An unnamed output column gets PostgreSQL's name, not SQLite's text of the expression."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return
    for e in list(select.expressions):
        if isinstance(e, exp.Alias | exp.Star | exp.Column):
            continue  # SQLite names a column reference (and a star's columns) as PostgreSQL does
        e.replace(exp.alias_(e.copy(), _figure_colname(e) or "?column?", quoted=True))


_RELATION_COLUMNS = {
    name: {c for c, _ in columns_of(spec)}
    for name, spec in [*PG_CATALOG.items(), *INFORMATION_SCHEMA.items(),
                       *((n, spec) for n, (spec, _) in PG_VIEWS.items())]
}
_ROWID_NAMES = frozenset({"oid", "rowid", "_rowid_"})


def _scope_sources(select: exp.Select) -> dict[str, set[str] | None]:
    """A SELECT's FROM items: alias -> the relation's columns (None: not a known relation)."""
    out: dict[str, set[str] | None] = {}
    for item in select.find_all(exp.Table, exp.Subquery, exp.Unnest, exp.Lateral):
        # This SELECT's own FROM: not a nested query's, nor in its WHERE/HAVING/ORDER BY.
        if item.find_ancestor(exp.Where, exp.Having, exp.Order, exp.Select) is not select:
            continue
        if isinstance(item, exp.Table) and isinstance(item.this, exp.Identifier):
            out[item.alias_or_name] = _RELATION_COLUMNS.get(item.name)
        elif item.alias_or_name or isinstance(item, exp.Subquery):
            out[item.alias_or_name] = None
    return out


def _check_rowid_names(tree: exp.Expr) -> None:
    """`oid` / `rowid` of a relation that has no such column: 42703, as PostgreSQL says.

    SQLite would answer them with its own rowid (`select oid,* from pg_inherits`); a
    reference is let through whenever some FROM item in scope may have the column.
    """
    for column in tree.find_all(exp.Column):
        if not isinstance(column.this, exp.Identifier):
            continue  # t.*
        name = column.name if column.this.quoted else column.name.lower()
        if name not in _ROWID_NAMES:
            continue
        scopes = []
        select = column.find_ancestor(exp.Select)
        while select is not None:
            scopes.append(_scope_sources(select))
            select = select.find_ancestor(exp.Select)
        if column.table:
            found = [s[column.table] for s in scopes if column.table in s]
            candidates = found[:1]
        else:
            candidates = [cols for s in scopes for cols in s.values()]
        if not candidates or any(cols is None or name in cols for cols in candidates):
            continue
        raise errors.UndefinedColumn(f'column "{name}" does not exist')


def to_sqlite(tree: exp.Expr, sequences: frozenset[str] = frozenset()) -> str:
    """The catalog query as the engine's SQLite runs it; each of `sequences` read as a
    relation becomes its one row (last_value, log_cnt, is_called) from pg_sequences."""
    tree = tree.copy()
    for table in list(tree.find_all(exp.Table)):
        if table.name in sequences and table.db in ("", "public") and isinstance(
                table.this, exp.Identifier):
            table.replace(_sequence_row(table.name, table.alias_or_name))
    _check_rowid_names(tree)
    _name_columns(tree)
    aliases = {t.alias_or_name: t.name for t in tree.find_all(exp.Table)}
    for column in list(tree.find_all(exp.Column)):
        if column.name == "tableoid" and not column.this.quoted:
            # A system column: the relation's own OID in pg_class.
            relation = aliases.get(column.table, column.table)
            if not column.table:  # the one catalog relation in FROM
                relation = next((name for name in aliases.values()
                                 if name in CATALOG_RELATIONS), relation)
            value: exp.Expr = exp.Literal.number(CATALOG_RELATIONS.get(relation, 0))
            if isinstance(column.parent, exp.Select) and column.arg_key == "expressions":
                value = exp.alias_(value, "tableoid", quoted=True)  # named as PostgreSQL names it
            column.replace(value)
    for select in list(tree.find_all(exp.Select)):
        _expand_set_returning(select)
    return _walk(tree).sql(dialect="sqlite")


def _sequence_row(name: str, alias: str) -> exp.Subquery:
    """A sequence's relation: last_value (its start until nextval), log_cnt, is_called."""
    row = sqlglot.parse_one(
        "SELECT COALESCE(last_value, start_value) AS last_value, 0 AS log_cnt,"
        " last_value IS NOT NULL AS is_called FROM pg_catalog.pg_sequences"
        " WHERE schemaname = 'public'", read="sqlite")
    row = row.where(exp.EQ(this=exp.column("sequencename"), expression=exp.Literal.string(name)))
    return exp.Subquery(this=row, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _expand_set_returning(select: exp.Select) -> None:
    """unnest(a) / generate_subscripts(a, 1) / _pg_expandarray(a) in a select list.

    PostgreSQL runs set-returning functions of one select list in lockstep;
    here each distinct array becomes a json_each joined to the FROM, and the
    calls read its value and key. `information_schema._pg_expandarray(a)` is a
    composite (x, n): `(…).x` / `(…).n` become the element and its 1-based
    position, the bare call a JSON object that `(alias).x` reads (pgjdbc's
    getPrimaryKeys and getIndexInfo).
    """
    found = [
        n for e in select.expressions
        for n in e.find_all(exp.Explode, exp.Anonymous)
        if (isinstance(n, exp.Explode)
            or n.name.lower() in ("generate_subscripts", "_pg_expandarray"))
        and n.find_ancestor(exp.Select) is select
    ]
    arrays: dict[str, str] = {}
    for node in found:
        array = node.this if isinstance(node, exp.Explode) else node.expressions[0]
        key = array.sql("postgres")
        alias = arrays.get(key)
        if alias is None:
            alias = arrays[key] = f"_srf{len(arrays)}"
            # A second array walks in step with the first: same position, same row.
            on = exp.EQ(this=exp.column("key", alias), expression=exp.column("key", "_srf0")) \
                if alias != "_srf0" else None
            select.join(exp.Table(this=_fn("json_each", _fn("pg_array_json", array.copy())),
                                  alias=exp.TableAlias(this=exp.to_identifier(alias))),
                        on=on, copy=False)
        if isinstance(node, exp.Explode):
            node.replace(exp.column("value", alias))
        elif node.name.lower() == "_pg_expandarray":
            _expandarray(node, alias)
        else:
            node.replace(exp.Add(this=_fn("array_lower", array.copy(), exp.Literal.number(1)),
                                 expression=exp.column("key", alias)))


def _expandarray(node: exp.Anonymous, alias: str) -> None:
    """One _pg_expandarray(a) call of a select list, reading json_each `alias`."""
    fields = {
        "x": exp.column("value", alias),
        "n": exp.Add(this=exp.column("key", alias), expression=exp.Literal.number(1)),
    }
    call: exp.Expr = node
    if isinstance(call.parent, exp.Dot) and call.arg_key == "expression":
        call = call.parent  # information_schema._pg_expandarray(...)
    access = call.parent.parent if isinstance(call.parent, exp.Paren) else None
    if isinstance(access, exp.Dot) and isinstance(access.expression, exp.Identifier):
        field = fields.get(access.expression.name.lower())
        if field is None:
            raise errors.UndefinedColumn(
                f'column "{access.expression.name}" not found in data type record')
        access.replace(field)
        return
    call.replace(_fn("json_object", exp.Literal.string("x"), fields["x"],
                     exp.Literal.string("n"), fields["n"]))


def _walk(node: exp.Expr) -> exp.Expr:
    """Children first, then the node: a replacement is built from rewritten parts."""
    if isinstance(node, exp.Table | exp.Lateral) and isinstance(node.this, exp.Func):
        # A function in FROM: rewrite its arguments, not the function itself.
        for arg in list(node.this.iter_expressions()):
            new = _walk(arg)
            if new is not arg:
                arg.replace(new)
        return _rewrite(node)
    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expr):
            new = _walk(value)
            if new is not value:
                node.set(key, new)
        elif isinstance(value, list):
            items = [_walk(v) if isinstance(v, exp.Expr) else v for v in value]
            if any(a is not b for a, b in zip(items, value, strict=True)):
                node.set(key, items)
    return _rewrite(node)
