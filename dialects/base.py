"""What every backend dialect shares: the dispatch-table mechanism, placeholders, common rewrites.

sqlglotc compiles each Generator into a native class that Python cannot
subclass, so a backend here is a Dialect subclass whose TRANSFORMS table is
spread from the stock generator's full dispatch (`{**stock(MySQLGenerator),
exp.X: rule}`) and installed on each generator instance it makes. Rules keep
sqlglot's signature, `(generator, expression) -> str`, and whole-statement
rewrites are plain `Expr -> Expr` functions listed in PREPROCESS; the same
code runs on the pure-Python build.
"""

from __future__ import annotations

import typing as t

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel

from dialects.api import TranslationError

Rule = t.Callable[[t.Any, exp.Expr], str]
Rewrite = t.Callable[[exp.Expr], exp.Expr]

# A driver placeholder is emitted as MARK + key + MARK and swapped for the
# driver's style after generation, so placeholders are numbered in the order
# they appear in the final text whatever order the generator visited them.
MARK = "\x00"
_STOCK: dict[type, dict[type[exp.Expr], Rule]] = {}


def stock(generator_class: type) -> dict[type[exp.Expr], Rule]:
    """The stock generator's complete dispatch table (TRANSFORMS plus its *_sql methods)."""
    table = _STOCK.get(generator_class)
    if table is None:
        table = dict(generator_class()._dispatch)
        _STOCK[generator_class] = table
    return table


def parameter_sql(self: t.Any, expression: exp.Parameter) -> str:
    value = expression.this
    if isinstance(value, exp.Literal) and not value.is_string:
        return f"{MARK}{value.this}{MARK}"
    if isinstance(value, exp.Var) and value.name.startswith("session:"):
        return f"{MARK}{value.name}{MARK}"
    raise TranslationError(f"unsupported parameter {expression.sql('postgres')}", "0A000")


Spelling = t.Callable[[t.Any, list[exp.Expr]], str]


def anonymous_sql(spellings: dict[str, Spelling], stock_rule: Rule) -> Rule:
    """The rule for function calls sqlglot does not know: by lower-cased name, the
    backend's spelling, else the stock rule (the call as written)."""

    def rule(self: t.Any, expression: exp.Anonymous) -> str:
        name = expression.this
        spell = spellings.get(name.lower()) if isinstance(name, str) else None
        if spell is None:
            return stock_rule(self, expression)
        return spell(self, expression.expressions)

    return rule


def unsupported(message: str) -> t.NoReturn:
    raise TranslationError(message, "0A000")


class PgProxyBackend(Dialect):
    """Base for pgproxy's backend dialects, listed after the stock dialect in the bases.

    The stock dialect comes first so that sqlglot's metaclass takes its Tokenizer,
    Parser and Generator classes; `generator` below still overrides Dialect's.
    Class names start with PgProxy because sqlglot registers every Dialect
    subclass by its lower-cased name: a class called SQLite would replace
    sqlglot's own "sqlite" for every other user in the process.
    """

    BACKEND = "backend"
    TRANSFORMS: t.ClassVar[dict[type[exp.Expr], Rule]] = {}
    PREPROCESS: t.ClassVar[tuple[Rewrite, ...]] = ()
    # Statements whose RETURNING the server runs itself, when the Target says it can.
    RETURNING: t.ClassVar[tuple[type[exp.Expr], ...]] = ()
    # generate_series() runs natively: no recursive CTE for it (dialects/series.py).
    NATIVE_SERIES: t.ClassVar[bool] = False

    def generator(self, **opts: t.Any) -> t.Any:
        opts.setdefault("comments", False)
        opts.setdefault("unsupported_level", ErrorLevel.RAISE)
        gen = super().generator(**opts)
        gen._dispatch = type(self).TRANSFORMS
        return gen


# --- rewrites shared by the SQL backends ------------------------------------------------------


def e_strings(expression: exp.Expr) -> exp.Expr:
    """E'...' is text in PostgreSQL; sqlglot reads it as a byte string."""
    for node in list(expression.find_all(exp.ByteString)):
        if isinstance(node.this, str):
            node.replace(exp.Literal.string(node.this))
    return expression


def drop_public_schema(expression: exp.Expr) -> exp.Expr:
    """`public.t` is `t`: the backends have no schema called public."""
    for table in expression.find_all(exp.Table):
        db = table.args.get("db")
        if db is not None and db.name.lower() == "public" and not table.args.get("catalog"):
            table.set("db", None)
    for column in expression.find_all(exp.Column):
        db = column.args.get("db")
        if db is not None and db.name.lower() == "public" and not column.args.get("catalog"):
            column.set("db", None)
    return expression


def plain_index_columns(expression: exp.Expr) -> exp.Expr:
    """Index and ON CONFLICT columns carry no NULL ordering: keep sqlglot from emulating one."""
    scopes: list[exp.Expr] = []
    if isinstance(expression, exp.Create) and expression.kind == "INDEX":
        scopes.append(expression)
    if isinstance(expression, exp.Insert) and expression.args.get("conflict"):
        scopes.append(expression.args["conflict"])
    for scope in scopes:
        for ordered in list(scope.find_all(exp.Ordered)):
            desc = bool(ordered.args.get("desc"))
            if desc:
                ordered.set("nulls_first", False)
            else:
                ordered.replace(ordered.this)
    return expression


COMMON: tuple[Rewrite, ...] = (e_strings, drop_public_schema, plain_index_columns)


_TRUE = ("t", "true", "y", "yes", "on", "1")
_FALSE = ("f", "false", "n", "no", "off", "0")


def bool_cast_sql(self: t.Any, value: exp.Expr) -> str:
    """PostgreSQL's text-to-boolean cast ('t', 'yes', 'on' ...) as 1/0 for backends without one."""
    if isinstance(value, exp.Literal) and value.is_string:
        text = value.this.strip().lower()
        if text in _TRUE:
            return "1"
        if text in _FALSE:
            return "0"
        raise TranslationError(f'invalid input syntax for type boolean: "{value.this}"', "22P02")
    if isinstance(value, exp.Boolean):
        return "1" if value.this else "0"
    sql = self.sql(value)
    truthy = ", ".join(f"'{v}'" for v in _TRUE)
    return f"(CASE WHEN {sql} IS NULL THEN NULL WHEN LOWER({sql}) IN ({truthy}) THEN 1 ELSE 0 END)"


def bool_text_sql(self: t.Any, value: exp.Expr) -> str:
    """A boolean cast to text: 'true' / 'false' as PostgreSQL spells them, not 1 / 0."""
    sql = self.sql(value)
    return f"(CASE WHEN {sql} THEN 'true' WHEN NOT {sql} THEN 'false' END)"


def aggregate_filter(expression: exp.Expr) -> exp.Expr:
    """agg(x) FILTER (WHERE c) -> agg(CASE WHEN c THEN x END); count(*) counts CASE ... THEN 1.

    Aggregates skip NULLs, so feeding them NULL where the filter is false is the
    same as not feeding them the row.
    """
    for node in list(expression.find_all(exp.Filter)):
        agg, where = node.this, node.expression
        if not isinstance(agg, exp.AggFunc) or not isinstance(where, exp.Where):
            continue
        cond = where.this
        agg = agg.copy()
        target = agg.this
        if isinstance(target, exp.Distinct):
            items = target.expressions
            if len(items) != 1:
                unsupported("FILTER on an aggregate of several DISTINCT values")
            items[0].replace(_when(cond, items[0].copy()))
        elif isinstance(target, exp.Star) or target is None:
            agg.set("this", _when(cond, exp.Literal.number(1)))
        else:
            target.replace(_when(cond, target.copy()))
        node.replace(agg)
    return expression


def _when(cond: exp.Expr, value: exp.Expr) -> exp.Case:
    return exp.Case(ifs=[exp.If(this=cond.copy(), true=value)])


def fix_column_defs(
    expression: exp.Expr, fix: t.Callable[[exp.ColumnDef, set[str]], None]
) -> exp.Expr:
    """`fix(column, keys)` on each column definition of a CREATE TABLE or ALTER TABLE;
    keys: the (lower-cased) names of the columns a table-level PRIMARY KEY or UNIQUE covers."""
    if isinstance(expression, exp.Create) and isinstance(expression.this, exp.Schema):
        keys: set[str] = set()
        for node in expression.this.expressions:
            if isinstance(node, (exp.PrimaryKey, exp.UniqueColumnConstraint)):
                keys.update(c.name.lower() for c in node.find_all(exp.Column, exp.Identifier))
    elif isinstance(expression, exp.Alter):
        keys = set()
    else:
        return expression
    for column in list(expression.find_all(exp.ColumnDef)):
        fix(column, keys)
    return expression
