"""Object definitions as PostgreSQL prints them: view queries and default expressions.

A backend keeps a view's query in its own SQL (MariaDB's backquotes, its
database-qualified names); pg_get_viewdef answers PostgreSQL's. And as
PostgreSQL's ruleutils does, a relation outside the session's search_path is
written schema-qualified (pg_dump empties search_path, so its output names
`public.books`, and restores whatever search_path the restoring session has).
"""

from __future__ import annotations

import functools
import logging
import re

import sqlglot
from sqlglot import exp

from dialects.engines import stock
from pgproxy.catalog.builtins import quote_ident

log = logging.getLogger("pgproxy.catalog")

_LITERAL_CAST = re.compile(r"CAST\(('(?:[^']|'')*') AS ([A-Za-z_][\w ]*(?:\([\d, ]+\))?)\)")
_NEXTVAL_TEXT = re.compile(r"\bnextval\('((?:[^']|'')+)'\)", re.I)
_REGCLASS_LITERAL = re.compile(r"'((?:[^']|'')*)'::regclass")


def _pg(tree: exp.Expr, pretty: bool = False) -> str:
    """PostgreSQL's SQL as its deparser writes it: function names in lower case, names
    quoted only where they need it (MariaDB quotes every one)."""
    for ident in tree.find_all(exp.Identifier):
        if ident.quoted and quote_ident(ident.name) == ident.name:
            ident.set("quoted", False)
    text = tree.sql(dialect="postgres", pretty=pretty, normalize_functions="lower")
    return _LITERAL_CAST.sub(r"\1::\2", text)  # a constant's cast as 'x'::type


def view_sql(query: str, dialect: str) -> str:
    """A view's query (or SQLite's whole CREATE VIEW) from the backend's SQL to
    PostgreSQL's, ending in ';'.

    The backend's database qualifier goes (its tables are public's here); a view's
    column list (CREATE VIEW v (a, b) AS …) names the query's columns; a query sqlglot
    cannot read is kept as the backend wrote it.
    """
    text = query.strip().rstrip(";")
    try:
        tree = sqlglot.parse_one(text, read=stock(dialect))
    except sqlglot.errors.SqlglotError as exc:
        log.debug("view query kept as written (%s): %s", exc, text)
        if re.match(r"\s*CREATE\b", text, re.I):
            found = re.search(r"\bAS\b\s*(.*)$", text, re.S | re.I)
            text = found.group(1) if found else text
        return f" {text};"
    if isinstance(tree, exp.Create):
        columns = tree.this.expressions if isinstance(tree.this, exp.Schema) else []
        tree = tree.expression
        first = tree
        while isinstance(first, exp.SetOperation):
            first = first.this
        if columns and isinstance(first, exp.Select):
            first.set("expressions", [
                exp.alias_(e.unalias() if isinstance(e, exp.Alias) else e, c.name,
                           quoted=c.quoted)
                for e, c in zip(first.expressions, columns, strict=False)])
    for node in tree.find_all(exp.Table, exp.Column):
        node.set("catalog", None)
        node.set("db", None)
    return f" {_pg(tree, pretty=True)};"


# SQLite's clock readings, as PostgreSQL writes the same default.
_SQLITE_CLOCK = {"datetime('now')": "CURRENT_TIMESTAMP", "date('now')": "CURRENT_DATE",
                 "time('now')": "CURRENT_TIME"}


def default_sql(expression: str, dialect: str) -> str:
    """A column default's expression from the backend's SQL to PostgreSQL's."""
    text = expression.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    clock = _SQLITE_CLOCK.get(re.sub(r"\s+", "", text).lower()) if dialect == "sqlite" else None
    if clock is not None:
        return clock
    try:
        text = _pg(sqlglot.parse_one(text, read=stock(dialect)))
    except sqlglot.errors.SqlglotError as exc:
        log.debug("default kept as written (%s): %s", exc, text)
    # nextval's argument is a regclass: PostgreSQL reads the literal as one, and prints it so.
    return _NEXTVAL_TEXT.sub(r"nextval('\1'::regclass)", text)


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def sqlite_generated(create_sql: str) -> dict[str, str]:
    """Each generated column of SQLite's CREATE TABLE text: name -> its expression in
    PostgreSQL's SQL."""
    try:
        tree = sqlglot.parse_one(create_sql, read="sqlite")
    except sqlglot.errors.SqlglotError:
        return {}
    out = {}
    for computed in tree.find_all(exp.ComputedColumnConstraint):
        column = computed.find_ancestor(exp.ColumnDef)
        if column is not None:
            expression = computed.this
            out[column.name] = _pg(expression.this if isinstance(expression, exp.Paren)
                                   else expression)
    return out


def index_predicate(create_sql: str) -> str | None:
    """A partial index's WHERE, from SQLite's CREATE INDEX text, in PostgreSQL's SQL."""
    try:
        where = sqlglot.parse_one(create_sql, read="sqlite").find(exp.Where)
    except sqlglot.errors.SqlglotError:
        return None
    return _pg(where.this) if where is not None else None


def index_expressions(create_sql: str) -> list[str | None]:
    """Each key of SQLite's CREATE INDEX: None for a column, else the expression in
    PostgreSQL's SQL; [] when the text cannot be read."""
    try:
        params = sqlglot.parse_one(create_sql, read="sqlite").find(exp.IndexParameters)
    except sqlglot.errors.SqlglotError:
        return []
    out: list[str | None] = []
    keys = params.args.get("columns") if params is not None else None
    for key in keys or []:
        node = key.this if isinstance(key, exp.Ordered) else key
        out.append(None if isinstance(node, exp.Column) else _pg(node))
    return out


def relations_read(definition: str) -> set[str]:
    """The relations a view's (PostgreSQL) query names, CTEs aside."""
    try:
        tree = sqlglot.parse_one(definition.strip().rstrip(";"), read="postgres")
    except sqlglot.errors.SqlglotError:
        return set()
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name not in ctes}


@functools.lru_cache(maxsize=256)
def qualified_view(definition: str, qualify: frozenset[str]) -> str:
    """`definition` with each relation named in `qualify` written as public.<name>."""
    if not qualify:
        return definition
    try:
        tree = sqlglot.parse_one(definition.strip().rstrip(";"), read="postgres")
    except sqlglot.errors.SqlglotError:
        return definition
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if not table.args.get("db") and table.name in qualify and table.name not in ctes:
            table.set("db", exp.to_identifier("public"))
    return f" {_pg(tree, pretty=True)};"


def qualified_expr(expression: str, public_visible: bool) -> str:
    """A default's text with its 'name'::regclass constants qualified when public is not
    on search_path (`nextval('public.t_id_seq'::regclass)`, as PostgreSQL prints it)."""
    if public_visible or "::regclass" not in expression:
        return expression

    def qualify(match: re.Match[str]) -> str:
        name = match.group(1)
        if "." in name.replace('""', ""):
            return match.group(0)
        return f"'public.{name}'::regclass"

    return _REGCLASS_LITERAL.sub(qualify, expression)
